"""Start-up of the ``vscale`` command: ``--version`` and ``--help`` against ``import numpy``, same session.

Run: ``python benchmarks/bench_startup.py [--runs 15]``. Each sample is a fresh process,
timed from ``fork`` to exit: the installed ``vscale`` script (or ``python -m experiments``
when it is not on ``PATH``) with ``--version``, ``--help`` and ``latency --help`` (one
command's modules), and the references ``python -c "import numpy"`` and ``python -c pass``
(the interpreter alone). Python's bytecode is written as on a normal install
(``PYTHONDONTWRITEBYTECODE`` is unset for the runs, and one untimed round writes it). The
samples of all five are interleaved so that load on a shared machine hits them alike; the
table gives the median and the minimum wall time of each, the median CPU seconds (user +
system), the ratio of the medians to ``import numpy``, the median above the bare
interpreter (``- pass``: what vscale itself adds) and the goal (``--version`` and
``--help`` under 0.3 s).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

GOAL_S = 0.3


def _vscale() -> list[str]:
    """The command a user types: the script next to this interpreter, else on PATH, else ``-m``."""
    beside = os.path.join(os.path.dirname(sys.executable), "vscale")
    if os.access(beside, os.X_OK):
        return [beside]
    found = shutil.which("vscale")
    return [found] if found else [sys.executable, "-m", "experiments"]


ENVIRONMENT = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def _seconds(command: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENVIRONMENT)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    vscale = _vscale()
    commands = {
        "vscale --version": [*vscale, "--version"],
        "vscale --help": [*vscale, "--help"],
        "vscale latency --help": [*vscale, "latency", "--help"],
        'python -c "import numpy"': [sys.executable, "-c", "import numpy"],
        "python -c pass": [sys.executable, "-c", "pass"],
    }
    for command in commands.values():
        _seconds(command)
    samples: dict[str, list[tuple[float, float]]] = {label: [] for label in commands}
    for _ in range(args.runs):
        for label, command in commands.items():
            samples[label].append(_seconds(command))
    walls = {label: [wall for wall, _ in values] for label, values in samples.items()}
    numpy = statistics.median(walls['python -c "import numpy"'])
    bare = statistics.median(walls["python -c pass"])
    print(f"{' '.join(vscale)}; {args.runs} runs each, interleaved; load average {os.getloadavg()[0]:.1f}")
    print(f"{'':26s} {'median s':>9s} {'min s':>7s} {'CPU s':>7s} {'/ numpy':>8s} {'- pass s':>9s}  goal")
    for label, values in walls.items():
        median = statistics.median(values)
        cpu = statistics.median(cpu for _, cpu in samples[label])
        goal = ""
        if label in ("vscale --version", "vscale --help"):
            goal = f"< {GOAL_S} s: " + ("met" if median < GOAL_S else "not met")
        figures = f"{median:9.3f} {min(values):7.3f} {cpu:7.3f} {median / numpy:8.2f} {median - bare:9.3f}"
        print(f"{label:26s} {figures}  {goal}")


if __name__ == "__main__":
    main()
