"""Sweep overhead and parallel speed-up, measured side by side in one run.

1. Per-point overhead: sweeps of 10 and 10 + N points whose own work is nil (the test probe
   study), serial executor; the overhead per point is the difference of their wall times,
   less the points' own time, divided by N (so the one-off start-up -- importing pyarrow for
   results.parquet, say -- is not counted per point); goal 50 ms. It includes hashing,
   building and validating each config, the atomic point file, the journal line and the
   point's row in results.csv.
2. Speed-up: 8 CPU-bound points (each keeps one core busy for --spin seconds), serial
   against processes:2, in the same run; goal >= 1.8x on 2 cores.

Usage: python benchmarks/bench_sweep.py [--points 100] [--spin 3.0] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from experiments.studies import STUDIES  # noqa: E402
from experiments.sweep import SweepSpec, run_sweep  # noqa: E402
from tests.experiments import sweep_probe  # noqa: E402

STUDIES[sweep_probe.STUDY.name] = sweep_probe.STUDY


def _sweep_cost(points: int) -> float:
    """Wall time of a serial sweep of `points` probe points, less the points' own time, s."""
    with tempfile.TemporaryDirectory() as folder:
        spec = SweepSpec(study="sweep_probe", grid={"x": list(range(points))})
        start = time.perf_counter()
        run_sweep(spec, store=folder, executor="serial")
        wall = time.perf_counter() - start
        own = sum(json.loads(p.read_text())["seconds"] for p in (Path(folder) / "points").glob("*.json"))
    return wall - own


def overhead_ms(points: int) -> float:
    return 1000 * (_sweep_cost(10 + points) - _sweep_cost(10)) / points


def sweep_seconds(executor: str, spin_s: float) -> float:
    with tempfile.TemporaryDirectory() as folder:
        spec = SweepSpec(study="sweep_probe", fixed={"spin_s": spin_s}, grid={"x": list(range(8))})
        start = time.perf_counter()
        run_sweep(spec, store=folder, executor=executor)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--spin", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    overheads = [overhead_ms(args.points) for _ in range(args.runs)]
    serial, pooled = [], []
    for _ in range(args.runs):
        serial.append(sweep_seconds("serial", args.spin))
        pooled.append(sweep_seconds("processes:2", args.spin))
    ratios = [s / p for s, p in zip(serial, pooled, strict=True)]
    print(f"median of {args.runs} runs")
    print(f"{'figure':<44}{'measured':>12}{'goal':>12}")
    print(f"{'per-point overhead, serial (ms)':<44}{statistics.median(overheads):>12.1f}{'<= 50':>12}")
    print(f"{'8 x ' + str(args.spin) + ' s CPU points, serial (s)':<44}{statistics.median(serial):>12.2f}{'':>12}")
    print(f"{'same, processes:2 (s)':<44}{statistics.median(pooled):>12.2f}{'':>12}")
    print(f"{'speed-up processes:2 / serial':<44}{statistics.median(ratios):>12.2f}{'>= 1.8':>12}")


if __name__ == "__main__":
    main()
