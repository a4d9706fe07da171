"""``--out`` is complete or untouched: a full disk while publishing, unwritable cache folders."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.cli import main


def _latency(out: Path, *extra: str, array: str = "32x32") -> int:
    return main(["latency", "--topology", "mobilenetv2", "--array", array, *extra, "--out", str(out)])


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_a_disk_full_while_publishing_puts_back_every_file_it_replaced(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    assert _latency(out) == 0
    (out / "notes.txt").write_text("mine")
    before = _snapshot(out)
    real = os.replace
    moved: list[str] = []

    def filling(source, target):
        if ".vscale-staging" in str(source):
            moved.append(str(target))
            if len(moved) == 2:
                raise OSError(errno.ENOSPC, "No space left on device", str(target))
        return real(source, target)

    monkeypatch.setattr(os, "replace", filling)
    capsys.readouterr()
    assert _latency(out, array="64x64") == 1
    assert capsys.readouterr().err.endswith(": No space left on device\n")
    assert len(moved) == 2
    assert _snapshot(out) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]
    assert sorted(path.name for path in out.iterdir()) == sorted(Path(name).name for name in before)


def test_a_disk_full_while_publishing_a_new_folder_leaves_no_folder(tmp_path, capsys, monkeypatch):
    out = tmp_path / "new" / "out"
    real_rename, real_replace = os.rename, os.replace

    def no_rename(source, target):
        if ".vscale-staging" in str(source):
            raise OSError(errno.EXDEV, "Invalid cross-device link", str(target))
        return real_rename(source, target)

    def full(source, target):
        if ".vscale-staging" in str(source):
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        return real_replace(source, target)

    monkeypatch.setattr(os, "rename", no_rename)
    monkeypatch.setattr(os, "replace", full)
    assert _latency(out) == 1
    assert capsys.readouterr().err.endswith(": No space left on device\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("variable", ["NUMBA_CACHE_DIR", "MPLCONFIGDIR"])
def test_an_unwritable_cache_folder_leaves_out_complete(tmp_path, variable):
    """numba's kernel cache and matplotlib's font cache where no folder can be made (under a
    file): the command still writes every file and exits 0."""
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    out = tmp_path / "out"
    env = {**os.environ, variable: str(blocker / "cache")}
    argv = ["simulate", "--gemm", "8,8,8", "--array", "4x4", "--vdd", "0.6", "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "experiments", *argv], capture_output=True, text=True, env=env, timeout=900
    )
    assert done.returncode == 0, done.stderr
    assert sorted(path.name for path in out.iterdir()) == [
        "config.json",
        "flips.csv",
        "flips.png",
        "simulate.csv",
        "summary.json",
    ]
