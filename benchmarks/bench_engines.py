"""Speed and memory of the array engines (``sim.engine``).

Prints a table, medians of several in-process runs (the first call, which loads or
compiles the numba kernels, is not timed):

- ``fast`` engine with timing errors: MACs per second on one core for one full 256x256
  tile at 0.5 V / 700 MHz (compound ripple-carry PE, ReLU-like activations and
  Gaussian weights as ``vscale simulate``), per dataflow; also at 0.9 V, with per-PE
  process variation, and with 2-input cells. Target >= 5e7 MAC/s;
- ``detailed`` engine: PE-cycles per second (R x C x busy cycles stepped) on a 16x16
  array, and the MACs per second that gives;
- peak resident memory of a process running a 256x256 ws layer with M = 12544 through
  the fast engine, against the size an M x N x K array would need.

Run: ``python benchmarks/bench_engines.py [--repeats N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parents[1]

_RSS_PROBE = """
import resource, sys
import numpy as np
from pe_models.operands import dnn_activations, dnn_weights
from pe_models.pe import OperatingPoint, PEConfig, stage_timing
from sim.config import ArrayConfig
from sim.engine import simulate_gemm
m, n, k = (int(value) for value in sys.argv[1:4])
vdd = float(sys.argv[4])
pe = PEConfig()
timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd, f_clk_mhz=700.0))
array = ArrayConfig(rows=256, cols=256, dataflow="ws")
simulate_gemm(np.ones((1, 1), np.int8), np.ones((1, 1), np.int8), array=array, pe=pe, timing=timing)
rng = np.random.default_rng(0)
a, b = dnn_activations(rng, (m, k)), dnn_weights(rng, (k, n))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result = simulate_gemm(a, b, array=array, pe=pe, timing=timing)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(before, after, result.macs, result.erroneous_macs)
"""


def _operands(rng: np.random.Generator, m: int, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    from pe_models.operands import dnn_activations, dnn_weights

    return dnn_activations(rng, (m, k)), dnn_weights(rng, (k, n))


def _fast_mac_rate(
    dataflow: str, vdd: float, stream: int, repeats: int, *, cells: str = "compound", sigma_pe: float = 0.0
) -> tuple[float, float, float]:
    """(median MAC/s, fraction of erroneous MACs, first-call seconds) of one 256x256 tile.

    The first, untimed call compiles or loads the kernels and builds the MAC parameter
    rows (one per PE with variation, cached for the timed runs of the same die).
    """
    from pe_models.pe import OperatingPoint, PEConfig, stage_timing
    from pe_models.variation import ProcessVariation
    from sim.config import ArrayConfig
    from sim.engine import simulate_gemm

    pe = PEConfig(cells=cells)
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd, f_clk_mhz=700.0))
    array = ArrayConfig(rows=256, cols=256, dataflow=dataflow)
    m, n, k = {"ws": (stream, 256, 256), "os": (256, 256, stream), "is": (256, stream, 256)}[dataflow]
    a, b = _operands(np.random.default_rng(1), m, n, k)
    variation = ProcessVariation(sigma_pe=sigma_pe) if sigma_pe else None
    start = time.perf_counter()
    simulate_gemm(a[:2, :2], b[:2, :2], array=array, pe=pe, timing=timing, variation=variation)
    setup = time.perf_counter() - start
    rates = []
    fraction = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        result = simulate_gemm(a, b, array=array, pe=pe, timing=timing, variation=variation)
        rates.append(result.macs / (time.perf_counter() - start))
        fraction = result.erroneous_macs / result.macs
    return statistics.median(rates), fraction, setup


def _detailed_rate(repeats: int) -> tuple[float, float]:
    """(median PE-cycles/s, MAC/s) of the detailed engine on a 16x16 ws array, 0.5 V."""
    from pe_models.pe import OperatingPoint, PEConfig, stage_timing
    from sim.config import ArrayConfig
    from sim.engine import simulate_gemm

    pe = PEConfig()
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=0.5, f_clk_mhz=700.0))
    array = ArrayConfig(rows=16, cols=16, dataflow="ws")
    a, b = _operands(np.random.default_rng(2), 64, 16, 16)
    simulate_gemm(a[:2], b, array=array, pe=pe, timing=timing, engine="detailed")
    rates = []
    macs = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = simulate_gemm(a, b, array=array, pe=pe, timing=timing, engine="detailed")
        seconds = time.perf_counter() - start
        rates.append(16 * 16 * (result.compute_cycles + 1) / seconds)
        macs.append(result.macs / seconds)
    return statistics.median(rates), statistics.median(macs)


def _peak_rss_kib(m: int, n: int, k: int, vdd: float) -> tuple[int, int, int, int]:
    result = subprocess.run(
        [sys.executable, "-c", _RSS_PROBE, str(m), str(n), str(k), str(vdd)],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPOSITORY,
        env={**os.environ, "NUMBA_NUM_THREADS": "1"},
    )
    before, after, macs, erroneous = (int(value) for value in result.stdout.split())
    return before, after, macs, erroneous


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per measurement (default: 5)")
    parser.add_argument(
        "--stream",
        type=int,
        default=2048,
        help="streamed operands per 256x256 tile (ws: M, os: K, is: N) (default: 2048)",
    )
    parser.add_argument("--rss-m", type=int, default=12544, help="M of the memory probe (default: 12544)")
    args = parser.parse_args()

    rows: list[tuple[str, str, str]] = []
    cases = [
        ("ws", 0.5, {}),
        ("os", 0.5, {}),
        ("is", 0.5, {}),
        ("ws", 0.9, {}),
        ("ws", 0.5, {"sigma_pe": 0.05}),
        ("ws", 0.5, {"cells": "2in"}),
    ]
    for dataflow, vdd, options in cases:
        rate, fraction, setup = _fast_mac_rate(dataflow, vdd, args.stream, args.repeats, **options)
        extra = ", ".join(f"{key}={value}" for key, value in options.items())
        label = f"fast, 256x256 tile, {dataflow}, {vdd} V" + (f", {extra}" if extra else "")
        note = f"{100 * fraction:.2f} % of MACs latched a wrong sum"
        if "sigma_pe" in options:
            note += f"; one-off per-PE parameter rows: {setup:.1f} s"
        rows.append((label, f"{rate:.3g} MAC/s", note))
    pe_cycles, macs = _detailed_rate(args.repeats)
    rows.append(("detailed, 16x16 ws, 0.5 V, M=64 K=16 N=16", f"{pe_cycles:.3g} PE-cycles/s", f"{macs:.3g} MAC/s"))
    before, after, probe_macs, erroneous = _peak_rss_kib(args.rss_m, 256, 256, 0.5)
    rows.append(
        (
            f"peak RSS, fast, 256x256 ws, M={args.rss_m} N=256 K=256, 0.5 V",
            f"{after / 1024:.1f} MiB",
            f"+{(after - before) / 1024:.1f} MiB for the run ({probe_macs:.3g} MACs, {erroneous:.3g} wrong); "
            f"M*N*K bytes: {args.rss_m * 256 * 256 / 2**20:,.0f} MiB",
        )
    )
    header = ("what", "median", "notes")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print(f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
