"""The validators, the resource guard and the staging of output folders."""

from __future__ import annotations

import argparse
import os
import stat
from pathlib import Path

import pytest

from experiments import validation
from experiments.cli import main
from pe_models.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1000", 1000),
        ("512M", 512 * 2**20),
        ("2g", 2 * 2**30),
        ("1.5GiB", 3 * 2**29),
        ("800MB", 800 * 10**6),
        ("4 KiB", 4096),
        ("1T", 2**40),
    ],
)
def test_sizes_use_binary_units_unless_written_kb_mb_gb(text, size):
    assert validation.parse_size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "5X", "-1G", "G", "1e400"])
def test_bad_sizes_are_refused(text):
    with pytest.raises(ConfigError, match=r"^max_memory: "):
        validation.parse_size(text)


@pytest.mark.parametrize(
    ("size", "text"), [(0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (3 * 2**30, "3 GiB"), (2**50, "1 PiB")]
)
def test_bytes_are_shown_in_binary_units(size, text):
    assert validation.format_bytes(size) == text


def test_the_default_limit_is_half_of_memavailable():
    with open("/proc/meminfo") as handle:
        available = next(int(line.split()[1]) * 1024 for line in handle if line.startswith("MemAvailable:"))
    assert abs(validation.default_memory_limit() - available / 2) < 0.05 * available


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, "seed: expected an integer in 0..2**63-1, got -1"),
        (2**63, "seed: expected an integer in 0..2**63-1, got 9223372036854775808"),
        (1.5, "seed: expected an integer in 0..2**63-1, got 1.5"),
        (True, "seed: expected an integer in 0..2**63-1, got True"),
    ],
)
def test_seeds_outside_0_to_2_63_are_refused(value, message):
    with pytest.raises(ConfigError) as caught:
        validation.seed(value)
    assert str(caught.value) == message


def test_seed_bounds_are_accepted():
    assert (validation.seed(0), validation.seed(2**63 - 1)) == (0, 2**63 - 1)


@pytest.mark.parametrize(
    ("requested", "work", "cores", "started"), [(1000, 2, 64, 2), (8, 100, 2, 2), (3, 100, 64, 3), (1, 9, 64, 1)]
)
def test_workers_are_capped_by_the_work_and_the_cores(monkeypatch, requested, work, cores, started):
    monkeypatch.setattr(validation, "usable_cores", lambda: cores)
    assert validation.workers(requested, work=work) == started


def test_the_jobs_option_is_capped_by_the_cores(monkeypatch):
    monkeypatch.setattr(validation, "usable_cores", lambda: 3)
    args = argparse.Namespace(command="accuracy", jobs=1000, vdd_v="0.9,0.7", seed=0)
    validation.check_arguments(args)
    assert args.jobs == 3


@pytest.mark.parametrize(
    ("text", "technology", "values"),
    [
        ("0.9:0.5:0.2", None, [0.9, 0.7, 0.5]),
        ("0.5:0.9:0.2", None, [0.5, 0.7, 0.9]),
        ("0.8,0.6", "generic-28nm", [0.8, 0.6]),
    ],
)
def test_vdd_ranges(text, technology, values):
    assert validation.vdd_range(text, technology=technology) == values


def test_a_vdd_range_reaching_the_threshold_names_the_technology():
    with pytest.raises(ConfigError) as caught:
        validation.vdd_range("0.9:0.3:0.1", technology="generic-28nm")
    assert str(caught.value) == (
        "vdd_v: 0.3 V is at or below the threshold voltage 0.35 V of technology 'generic-28nm'; "
        "allowed: 0.35 < vdd_v <= 1.35"
    )


def test_a_huge_vdd_range_is_refused_before_it_is_built():
    with pytest.raises(ConfigError) as caught:
        validation.vdd_range("0.9:0.5:0.000000001")
    assert str(caught.value) == "vdd_v: '0.9:0.5:0.000000001' gives 400000001 voltages; allowed: at most 10000"


def test_check_memory_names_the_option_the_estimate_and_the_limit():
    with validation.use_memory_limit(2**30), pytest.raises(ConfigError) as caught:
        validation.check_memory(5 * 2**40, field="--samples", request="10000000000000")
    assert (
        str(caught.value) == "--samples: 10000000000000 needs about 5 TiB of memory; the limit is 1 GiB (--max-memory)"
    )


@pytest.mark.parametrize(
    ("folder", "message"),
    [
        ("", "out: '' is not a folder; allowed: a folder path such as vscale-out/probs"),
        ("  ", "out: '  ' is not a folder; allowed: a folder path such as vscale-out/probs"),
        ("/sys/vscale", "out: /sys/vscale is on a virtual filesystem (sysfs); choose a folder on a disk"),
        ("/proc/vscale/out", "out: /proc/vscale/out is on a virtual filesystem (proc); choose a folder on a disk"),
    ],
)
def test_folders_that_cannot_hold_results_are_refused(folder, message):
    with pytest.raises(ConfigError) as caught:
        validation.output_folder(folder)
    assert str(caught.value) == message


def test_an_existing_file_is_not_an_output_folder(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError) as caught:
        validation.output_folder(tmp_path / "file")
    assert str(caught.value) == f"out: {tmp_path / 'file'} exists and is not a directory"


def test_a_folder_the_user_cannot_enter_or_write_is_refused(tmp_path, monkeypatch):
    target = tmp_path / "locked" / "out"
    (tmp_path / "locked").mkdir()
    monkeypatch.setattr(os, "access", lambda path, mode: not mode & os.X_OK)
    with pytest.raises(ConfigError) as caught:
        validation.output_folder(target)
    assert str(caught.value) == f"out: {target}: cannot enter {tmp_path / 'locked'} (permission denied)"
    monkeypatch.setattr(os, "access", lambda path, mode: not mode & os.W_OK)
    with pytest.raises(ConfigError) as caught:
        validation.output_folder(target)
    assert str(caught.value) == f"out: {target}: cannot write in {tmp_path / 'locked'} (permission denied)"


def test_a_read_only_filesystem_is_refused(tmp_path, monkeypatch):
    real = os.statvfs(tmp_path)

    class ReadOnly:
        f_flag = real.f_flag | os.ST_RDONLY

    monkeypatch.setattr(os, "statvfs", lambda path: ReadOnly())
    with pytest.raises(ConfigError) as caught:
        validation.output_folder(tmp_path / "out")
    assert str(caught.value) == f"out: {tmp_path / 'out'}: {tmp_path} is on a read-only filesystem"


def _latency(out: Path, *extra: str) -> int:
    return main(["latency", "--topology", "mobilenetv2", "--array", "32x32", *extra, "--out", str(out)])


def test_files_appear_only_when_the_command_succeeds(tmp_path, capsys):
    out = tmp_path / "deep" / "out"
    assert _latency(out) == 0
    assert sorted(p.name for p in out.iterdir()) == ["compute_report.csv", "config.json", "summary.json"]
    assert [p.name for p in (tmp_path / "deep").iterdir()] == ["out"]


def test_a_failing_command_leaves_an_existing_folder_as_it_was(tmp_path, capsys):
    out = tmp_path / "out"
    assert _latency(out) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert _latency(out, "--bandwidth", "0") == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_command_raising_midway_leaves_no_partial_set(tmp_path, capsys, monkeypatch):
    """The handler writes two files, then fails: neither reaches --out, the staging folder goes."""
    from experiments.output import write_json as real

    calls = []

    def failing_write_json(path, data):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device", str(path))
        return real(path, data)

    monkeypatch.setattr("experiments.commands.latency.write_json", failing_write_json)
    monkeypatch.setattr("experiments.commands._results.write_json", failing_write_json)
    out = tmp_path / "out"
    status = _latency(out)
    assert len(calls) >= 2
    assert status == 1
    assert capsys.readouterr().err.endswith(": No space left on device\n")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("umask", "file_mode", "folder_mode"), [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)])
def test_output_files_honour_the_umask(tmp_path, capsys, umask, file_mode, folder_mode):
    previous = os.umask(umask)
    try:
        assert _latency(tmp_path / "out") == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == folder_mode
    assert {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "out").iterdir()} == {file_mode}


def test_long_requests_get_a_note_and_are_not_refused():
    args = argparse.Namespace(command="simulate", gemm="5000,5000,100000", vdd_v=0.9)
    notes: list[str] = []
    with validation.use_memory_limit(2**40):
        validation.guard(args, notes=notes.append)
    # 2.5e12 MACs at 1e8 MAC/s = 25000 s = 6.94 h.
    assert notes == ["gemm: 5000,5000,100000 (2.5e+12 MACs) will take at least 6.94 h; Ctrl-C stops it"]


def test_short_requests_get_no_note():
    args = argparse.Namespace(command="probs", level="chain", samples=200_000, vdd_v="0.9:0.5:0.05")
    notes: list[str] = []
    validation.guard(args, notes=notes.append)
    assert notes == []


def test_staging_goes_inside_an_existing_out_when_its_parent_is_not_writable(tmp_path, capsys, monkeypatch):
    import tempfile

    out = tmp_path / "out"
    out.mkdir()
    (out / "earlier.csv").write_text("kept\n")
    real = tempfile.mkdtemp
    parents = []

    def mkdtemp(prefix=None, suffix=None, dir=None):
        parents.append(Path(dir))
        if Path(dir) == tmp_path:
            raise PermissionError(13, "Permission denied")
        return real(prefix=prefix, suffix=suffix, dir=dir)

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    assert _latency(out) == 0
    assert parents == [tmp_path, out]
    assert sorted(p.name for p in out.iterdir()) == ["compute_report.csv", "config.json", "earlier.csv", "summary.json"]


def test_sigterm_while_the_files_are_written_leaves_out_as_it_was(tmp_path, capsys, monkeypatch):
    """The signal arrives after the first file of the set is written: exit 143, no file reaches --out."""
    import signal

    from experiments.output import write_json as real

    def write_json_then_signal(path, data):
        written = real(path, data)
        os.kill(os.getpid(), signal.SIGTERM)
        return written

    monkeypatch.setattr("experiments.commands.latency.write_json", write_json_then_signal)
    out = tmp_path / "out"
    out.mkdir()
    (out / "earlier.csv").write_text("kept\n")
    assert _latency(out) == 143
    assert capsys.readouterr().err == "vscale: interrupted\n"
    assert sorted(p.name for p in out.iterdir()) == ["earlier.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
