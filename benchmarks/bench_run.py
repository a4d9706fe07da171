"""``vscale run`` on the bundled default, whole process: wall and CPU seconds against the 90 s goal.

Run: ``python benchmarks/bench_run.py [--runs 3] [-- extra vscale run options]``. Each run
starts a fresh ``vscale run --out TMP`` process and records its wall time and the CPU
seconds of the process and its workers (``resource.getrusage(RUSAGE_CHILDREN)``). The
reference row is ``vscale run --skip-step2`` (step 1 only) measured in the same session.
On a shared machine the CPU seconds divided by the cores the run uses (2 by default,
``--jobs``) estimate the wall time on an otherwise idle 2-core machine; the printed table
gives the medians of ``--runs`` runs.
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


def _one(arguments: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "experiments", "run", "--out", os.path.join(folder, "out"), *arguments]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("extra", nargs="*", help="options passed to vscale run")
    args = parser.parse_args()
    rows = []
    for label, arguments in (("step 1 only (--skip-step2)", ["--skip-step2"]), ("vscale run (3 steps)", [])):
        samples = [_one([*arguments, *args.extra]) for _ in range(args.runs)]
        wall = statistics.median(s[0] for s in samples)
        cpu = statistics.median(s[1] for s in samples)
        rows.append((label, wall, cpu, cpu / 2))
    print(f"{'':28s} {'wall s':>8s} {'CPU s':>8s} {'CPU/2 s':>8s}  goal")
    for label, wall, cpu, per_core in rows:
        goal = "<= 90 s on 2 cores" if label.startswith("vscale run") else ""
        met = "" if not goal else ("met (CPU/2)" if per_core <= 90 else "not met")
        print(f"{label:28s} {wall:8.1f} {cpu:8.1f} {per_core:8.1f}  {goal} {met}")


if __name__ == "__main__":
    main()
