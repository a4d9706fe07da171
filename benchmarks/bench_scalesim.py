"""``vscale scalesim`` on ResNet-50, 32x32 array, DRAM bandwidth 10 words per cycle: whole process.

Run: ``python benchmarks/bench_scalesim.py [--runs 5]``.

The SCALE-Sim drop-in on SCALE-Sim's own ``Resnet50_mlperf.csv`` (54 layers) with its
``a32x32_ws_calc.cfg`` switched to ``InterfaceBandwidth: USER`` (``Bandwidth: 10``), all
reports written (compute, bandwidth, detailed access, memory and the energy report). Each
run is a fresh process; the table gives the median wall and CPU seconds (user + system of
the process) of ``--runs`` runs, after one run that fills the caches a first run after
installing fills once (Python's bytecode, vscale's toggle models). Measured in the same
session, as references: the interpreter importing numpy, and the same command with
``--no-energy`` (the latency reports alone). Goal: under 2 s for the whole process.

On a shared machine the wall time grows with the load; the CPU seconds and the ratio to
the numpy import measured beside it are the figures to compare between sessions.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
SCALESIM = REPOSITORY / "tests" / "data" / "scalesim"
TOPOLOGY = SCALESIM / "topologies" / "Resnet50_mlperf.csv"


def _config(folder: Path) -> Path:
    text = (SCALESIM / "configs" / "a32x32_ws_calc.cfg").read_text()
    path = folder / "a32x32_ws_user.cfg"
    path.write_text(text.replace("InterfaceBandwidth: CALC", "InterfaceBandwidth: USER"))
    return path


def _one(command: list[str], environment: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=REPOSITORY, env=environment)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        config = _config(folder)
        scalesim = [sys.executable, "-m", "experiments", "scalesim", "-c", str(config), "-t", str(TOPOLOGY)]
        commands = {
            "python -c 'import numpy' (reference)": [sys.executable, "-c", "import numpy"],
            "vscale scalesim --no-energy (reference)": [*scalesim, "-p", str(folder / "latency"), "--no-energy"],
            "vscale scalesim (all reports)": [*scalesim, "-p", str(folder / "all")],
        }
        for command in commands.values():
            _one(command, environment)
        samples: dict[str, list[tuple[float, float]]] = {label: [] for label in commands}
        for _ in range(args.runs):
            for label, command in commands.items():
                samples[label].append(_one(command, environment))
    print(f"{'':42s} {'wall s':>7s} {'CPU s':>7s} {'wall / numpy':>13s}")
    numpy_wall = statistics.median(wall for wall, _ in samples["python -c 'import numpy' (reference)"])
    for label, values in samples.items():
        wall = statistics.median(value[0] for value in values)
        cpu = statistics.median(value[1] for value in values)
        print(f"{label:42s} {wall:7.2f} {cpu:7.2f} {wall / numpy_wall:13.1f}")
    wall, cpu = (statistics.median(value[i] for value in samples["vscale scalesim (all reports)"]) for i in (0, 1))
    verdict = "met" if wall < 2.0 else ("met in CPU seconds (wall inflated by the load)" if cpu < 2.0 else "not met")
    print(f"goal: whole process under 2 s: {verdict} (median of {args.runs} runs)")


if __name__ == "__main__":
    main()
