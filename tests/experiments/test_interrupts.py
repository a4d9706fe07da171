"""Ctrl-C and SIGTERM in a real `vscale` process: one line, exit 130/143, no worker left, --out untouched.

Each test starts ``python -m experiments`` in its own session, waits until the command is
running (its staging folder exists beside --out, and with --jobs its workers exist), sends
the signal, then checks the exit status, stderr, the processes (scanned in /proc, no
psutil) and the --out folder, which held a file from an earlier run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.packages import require

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")]

LONG_ACCURACY = ["accuracy", "--injection", "bitlevel", "--vdd", "0.9:0.5:0.05", "--images", "1000"]


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def _running(pid: int) -> bool:
    """Alive and not a zombie (a zombie has exited; it only waits to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2 :].split()[0] != b"Z"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _start(tmp_path: Path, argv: list[str], stdout=subprocess.DEVNULL) -> tuple[subprocess.Popen, Path, dict]:
    out = tmp_path / "out"
    out.mkdir()
    (out / "earlier.csv").write_text("from an earlier run\n")
    before = _snapshot(out)
    env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "experiments", *argv, "--out", str(out)],
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    return process, out, before


def _wait_until(condition, process: subprocess.Popen, timeout_s: float = 240.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"vscale ended early: {process.returncode} {process.stderr.read().decode()}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("vscale did not reach the expected state")
        time.sleep(0.1)


def _staging_exists(out: Path) -> bool:
    return any(p.name.endswith(".vscale-staging") for p in out.parent.iterdir())


def _finish(process: subprocess.Popen) -> tuple[int, str]:
    try:
        _, stderr = process.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    return process.returncode, stderr.decode()


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_without_workers_prints_one_line_and_leaves_out_untouched(tmp_path, signum, status):
    process, out, before = _start(tmp_path, LONG_ACCURACY)
    _wait_until(lambda: _staging_exists(out), process)
    time.sleep(2.0)
    os.kill(process.pid, signum)
    assert _finish(process) == (status, "vscale: interrupted\n")
    assert _snapshot(out) == before
    assert not _staging_exists(out)


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_with_workers_stops_every_worker(tmp_path, signum, status):
    process, out, before = _start(tmp_path, [*LONG_ACCURACY, "--jobs", "2"])
    _wait_until(lambda: len([pid for pid in _children(process.pid) if _running(pid)]) >= 2, process)
    workers = _children(process.pid)
    time.sleep(1.0)
    os.kill(process.pid, signum)
    assert _finish(process) == (status, "vscale: interrupted\n")
    time.sleep(0.5)
    assert [pid for pid in workers if _running(pid)] == []
    assert _snapshot(out) == before
    assert not _staging_exists(out)


def test_ctrl_c_to_the_whole_process_group_gives_no_worker_traceback(tmp_path):
    """A terminal's Ctrl-C signals every process of the foreground group, workers included."""
    process, out, before = _start(tmp_path, [*LONG_ACCURACY, "--jobs", "2"])
    _wait_until(lambda: len([pid for pid in _children(process.pid) if _running(pid)]) >= 2, process)
    workers = _children(process.pid)
    time.sleep(1.0)
    os.killpg(process.pid, signal.SIGINT)
    assert _finish(process) == (130, "vscale: interrupted\n")
    time.sleep(0.5)
    assert [pid for pid in workers if _running(pid)] == []
    assert _snapshot(out) == before


def test_a_signal_during_run_leaves_no_file_of_any_step(tmp_path):
    """`run` computes steps 1 to 3 and then writes them: interrupted, none of them appears."""
    process, out, before = _start(tmp_path, ["run", "--vdd", "0.9:0.5:0.05", "--images", "200"])
    _wait_until(lambda: _staging_exists(out), process)
    time.sleep(5.0)
    os.kill(process.pid, signal.SIGTERM)
    assert _finish(process) == (143, "vscale: interrupted\n")
    assert _snapshot(out) == before
    assert not _staging_exists(out)


def test_ctrl_c_to_a_dask_sweep_prints_one_line(tmp_path):
    """The terminal's Ctrl-C reaches the Dask workers too: their cancelled tasks log nothing."""
    require("distributed")
    spec = tmp_path / "spec.toml"
    spec.write_text('study = "probs"\n[fixed]\nlevel = "chain"\nsamples = 2000000\n[grid]\nseed = [1, 2, 3, 4]\n')
    store = tmp_path / "store"
    process = subprocess.Popen(
        [sys.executable, "-m", "experiments", "sweep", str(spec), "--executor", "dask", "--out", str(store)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "NUMBA_NUM_THREADS": "1"},
        start_new_session=True,
    )
    _wait_until(lambda: (store / "journal.log").exists(), process)
    time.sleep(5.0)
    os.killpg(process.pid, signal.SIGINT)
    assert _finish(process) == (130, "vscale: interrupted\n")
