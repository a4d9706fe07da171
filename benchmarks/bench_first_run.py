"""The first ``vscale run`` after installing: numba's kernels compiled, against the 90 s goal.

Run: ``python benchmarks/bench_first_run.py [--runs 1] [-- extra vscale run options]``.

Each cold run is a fresh ``vscale run --out TMP`` process with an empty ``NUMBA_CACHE_DIR``
and an empty ``VSCALE_CACHE_DIR`` (what a fresh install has: nothing compiled, no toggle
model kept); the warm run right after it reuses both, as every later run does (the
reference, measured in the same session). Python's bytecode is written as on a normal
install (``PYTHONDONTWRITEBYTECODE`` is unset for the runs). The table gives wall seconds
and the CPU seconds of the process and everything it started (workers, the kernel
warm-up), medians over ``--runs``; the difference of the two rows is what compiling
costs. On a shared machine the wall time grows with the load: compare the cold row with
the warm row beside it, and the CPU seconds between sessions.
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


def _one(arguments: list[str], caches: Path, cold: bool) -> tuple[float, float]:
    numba_cache, vscale_cache = caches / "numba", caches / "vscale"
    if cold:
        for folder in (numba_cache, vscale_cache):
            subprocess.run(["rm", "-rf", str(folder)], check=True)
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    environment.update(NUMBA_CACHE_DIR=str(numba_cache), VSCALE_CACHE_DIR=str(vscale_cache))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "experiments", "run", "--out", os.path.join(folder, "out"), *arguments]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("extra", nargs="*", help="options passed to vscale run")
    args = parser.parse_args()
    subprocess.run(
        [sys.executable, "-c", "import experiments.cli, experiments.studies.run"],
        check=True,
        env={key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"},
    )
    samples: dict[str, list[tuple[float, float]]] = {"first run (nothing compiled)": [], "next run (reference)": []}
    with tempfile.TemporaryDirectory() as name:
        caches = Path(name)
        for _ in range(args.runs):
            samples["first run (nothing compiled)"].append(_one(args.extra, caches, cold=True))
            samples["next run (reference)"].append(_one(args.extra, caches, cold=False))
    print(f"{'':30s} {'wall s':>8s} {'CPU s':>8s}")
    walls = {}
    for label, values in samples.items():
        walls[label] = statistics.median(value[0] for value in values)
        print(f"{label:30s} {walls[label]:8.1f} {statistics.median(value[1] for value in values):8.1f}")
    first = walls["first run (nothing compiled)"]
    print(f"compiling adds {first - walls['next run (reference)']:.1f} s of wall time")
    print(f"goal: first run at most 90 s: {'met' if first <= 90 else 'not met'} (median of {args.runs})")


if __name__ == "__main__":
    main()
