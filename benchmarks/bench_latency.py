"""Speed and memory of the closed-form latency model (``vscale latency``).

Prints a table:

- compute time for all 27 layers of SCALE-Sim's MobileNet (``mobilenet.csv``) on a
  256x256 array, per dataflow, median of several in-process runs (topology parsing and
  the per-layer reports, as ``vscale latency`` does them); target < 1 s, SCALE-Sim v2
  needs about 110 s for the same counts on this machine;
- wall time of the whole ``vscale latency`` process (interpreter start, imports, files);
- peak resident memory of a process computing 256x256 layers with M = 12544, walking
  every fold and evaluating the stall model, against the size an M x N x K array would
  need;
- the whole ``vscale latency`` process on ResNet-50 (54 layers) on a 32x32 array with a
  DRAM bandwidth of 16 words per cycle and 64/64/32 KiB buffers (the memory model on every
  layer): median wall time and CPU time (user + system) of several processes, and their
  peak resident memory; targets < 2 s and < 300 MB.

Run: ``python benchmarks/bench_latency.py [--repeats N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
REFERENCE = REPOSITORY / "tests" / "data" / "scalesim"
MOBILENET = REFERENCE / "topologies" / "mobilenet.csv"

_RSS_PROBE = """
import resource, sys
from sim.config import ArrayConfig
from sim.cycles import gemm_report
from sim.layers import GemmProblem
from sim.mapping import map_gemm
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
m, n, k = (int(value) for value in sys.argv[1:4])
total = 0
for dataflow in ("ws", "os", "is"):
    config = ArrayConfig(rows=256, cols=256, dataflow=dataflow, dram_bandwidth_words_per_cycle=16)
    problem = GemmProblem(m=m, n=n, k=k)
    report = gemm_report("probe", problem, config)
    total += sum(fold.macs for fold in map_gemm(problem, config).iter_folds())
    assert total > 0 and report.total_cycles > 0
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(before, after)
"""


def _time_in_process(dataflow: str, repeats: int) -> tuple[float, int]:
    from sim.config import ArrayConfig
    from sim.cycles import summarize, topology_report
    from workloads.topologies import load_topology

    config = ArrayConfig(rows=256, cols=256, dataflow=dataflow)
    times = []
    total = 0
    for _ in range(repeats):
        start = time.perf_counter()
        topology = load_topology(MOBILENET, scalesim_compat=True)
        reports = topology_report(topology.layers, config, scalesim_compat=True)
        total = summarize(reports, config).total_cycles
        times.append(time.perf_counter() - start)
        assert len(reports) == 27
    return statistics.median(times), total


def _time_cli(repeats: int) -> float:
    times = []
    with tempfile.TemporaryDirectory() as out:
        command = [
            sys.executable,
            "-m",
            "experiments",
            "latency",
            "--topology",
            str(MOBILENET),
            "--array",
            "256x256",
            "--dataflow",
            "ws",
            "--scalesim-compat",
            "--format",
            "csv",
            "--out",
            out,
        ]
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, cwd=REPOSITORY)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


RESNET_COMMAND = (
    "latency",
    "--topology",
    "resnet50",
    "--array",
    "32x32",
    "--bandwidth",
    "16",
    "--sram-kib",
    "64,64,32",
    "--format",
    "csv",
)


def _time_resnet_cli(repeats: int) -> tuple[float, float, float]:
    """Median wall and CPU seconds of `vscale latency` on ResNet-50, and the largest peak RSS (MiB)."""
    walls, cpus, peaks = [], [], []
    with tempfile.TemporaryDirectory() as out:
        for _ in range(repeats):
            command = [sys.executable, "-m", "experiments", *RESNET_COMMAND, "--out", out]
            start = time.perf_counter()
            process = subprocess.Popen(command, cwd=REPOSITORY, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            _, status, usage = os.wait4(process.pid, 0)
            walls.append(time.perf_counter() - start)
            if status != 0:
                raise RuntimeError(f"vscale latency failed: {process.stderr.read().decode() if process.stderr else ''}")
            cpus.append(usage.ru_utime + usage.ru_stime)
            peaks.append(usage.ru_maxrss / 1024)
    return statistics.median(walls), statistics.median(cpus), max(peaks)


def _peak_rss_kib(m: int, n: int, k: int) -> tuple[int, int]:
    result = subprocess.run(
        [sys.executable, "-c", _RSS_PROBE, str(m), str(n), str(k)],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPOSITORY,
    )
    before, after = (int(value) for value in result.stdout.split())
    return before, after


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21, help="in-process runs per dataflow (default: 21)")
    parser.add_argument("--cli-repeats", type=int, default=5, help="vscale processes timed (default: 5)")
    args = parser.parse_args()
    if not MOBILENET.is_file():
        print(f"SCALE-Sim MobileNet topology not found at {MOBILENET}", file=sys.stderr)
        return 1

    rows: list[tuple[str, str, str]] = []
    for dataflow in ("ws", "os", "is"):
        seconds, total = _time_in_process(dataflow, args.repeats)
        label = f"MobileNet 27 layers, 256x256 {dataflow}, in process"
        rows.append((label, f"{seconds * 1e3:.3f} ms", f"{total} cycles"))
    rows.append(("vscale latency process, ws, incl. start-up", f"{_time_cli(args.cli_repeats):.3f} s", "wall time"))
    wall, cpu, peak = _time_resnet_cli(args.cli_repeats)
    rows.append(("vscale latency ResNet-50, 32x32, 16 words/cycle, 64/64/32 KiB", f"{wall:.3f} s", "wall time"))
    rows.append(("  same, CPU time (user + system)", f"{cpu:.3f} s", "target < 2 s"))
    rows.append(("  same, peak RSS", f"{peak:.1f} MiB", "target < 300 MB"))
    for m, n, k in ((12544, 32, 27), (12544, 1024, 4608)):
        before, after = _peak_rss_kib(m, n, k)
        rows.append(
            (
                f"peak RSS, 256x256, M={m} N={n} K={k}, ws+os+is",
                f"{after / 1024:.1f} MiB",
                f"+{(after - before) / 1024:.1f} MiB over imports; M*N*K bytes: {m * n * k / 2**20:,.0f} MiB",
            )
        )
    widths = [max(len(row[i]) for row in [("what", "median", "result"), *rows]) for i in range(3)]
    for row in [("what", "median", "result"), tuple("-" * w for w in widths), *rows]:
        print(f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
