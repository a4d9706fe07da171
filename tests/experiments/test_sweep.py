"""Sweeps: spec validation, the store (atomic points, resume, kill -9), and executors giving identical bits."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from experiments.cli import main
from experiments.studies import STUDIES
from experiments.sweep import SweepSpec, load_sweep_spec, run_sweep
from pe_models.errors import ConfigError
from tests.packages import require

from . import sweep_probe

REPOSITORY = Path(__file__).resolve().parents[2]
PROBE = "sweep_probe"
REGISTER_PROBE = (
    "import sys; from tests.experiments import sweep_probe; from experiments.studies import STUDIES; "
    "STUDIES[sweep_probe.STUDY.name] = sweep_probe.STUDY; from experiments.cli import main; "
)


@pytest.fixture(autouse=True)
def probe_study():
    """The probe study is registered for each test of this module only."""
    STUDIES[PROBE] = sweep_probe.STUDY
    yield
    STUDIES.pop(PROBE, None)


def _expected_value(x: int, seed: int) -> float:
    """What the probe study computes, written out independently of the sweep machinery."""
    return float(np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(x,))).random())


def _write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def _journal(store: Path) -> list[tuple[str, str]]:
    return [tuple(line.split()) for line in (store / "journal.log").read_text().splitlines()]


def test_grid_is_the_cartesian_product_with_fixed_parameters():
    spec = SweepSpec(study=PROBE, fixed={"seed": 3}, grid={"x": [1, 2], "sleep_s": [0.0, 0.001]})
    assert spec.parameter_sets() == [
        {"seed": 3, "x": 1, "sleep_s": 0.0},
        {"seed": 3, "x": 1, "sleep_s": 0.001},
        {"seed": 3, "x": 2, "sleep_s": 0.0},
        {"seed": 3, "x": 2, "sleep_s": 0.001},
    ]


def test_irregular_points_are_added_and_duplicates_dropped():
    spec = SweepSpec(study=PROBE, grid={"x": [1, 2]}, points=[{"x": 2}, {"x": 7, "seed": 1}])
    assert spec.parameter_sets() == [{"x": 1}, {"x": 2}, {"x": 7, "seed": 1}]


def test_serial_sweep_stores_one_file_per_point_and_a_tidy_csv(tmp_path):
    store = tmp_path / "store"
    result = run_sweep(SweepSpec(study=PROBE, fixed={"seed": 5}, grid={"x": [0, 1, 2]}), store=store, executor="serial")
    assert (result.computed, result.skipped, result.failed) == (3, 0, ())
    assert len(list((store / "points").glob("*.json"))) == 3
    with (store / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(int(r["x"]), float(r["value"])) for r in rows] == [
        (x, pytest.approx(_expected_value(x, 5))) for x in range(3)
    ]


def test_scalar_grid_value_of_a_list_field_becomes_a_one_element_list(tmp_path):
    result = run_sweep(SweepSpec(study=PROBE, grid={"x": [1], "vdd": [0.9, 0.5]}), store=tmp_path, executor="serial")
    assert [row["vdd_count"] for row in result.rows] == [1, 1]


def test_option_names_and_field_names_are_both_accepted_but_not_together():
    assert SweepSpec(study=PROBE, grid={"x": [1], "vdd_v": [0.9]}).parameter_sets() == [{"x": 1, "vdd_v": 0.9}]
    with pytest.raises(ConfigError, match=r"^sweep: grid\.vdd_v: the same field as vdd; give it once$"):
        SweepSpec(study=PROBE, grid={"vdd": [0.9], "vdd_v": [0.8]})


def test_rerun_skips_finished_points(tmp_path):
    spec = SweepSpec(study=PROBE, grid={"x": [0, 1]})
    run_sweep(spec, store=tmp_path, executor="serial")
    again = run_sweep(SweepSpec(study=PROBE, grid={"x": [0, 1, 2]}), store=tmp_path, executor="serial")
    assert (again.computed, again.skipped) == (1, 2)
    assert sorted(event for event, _ in _journal(tmp_path)).count("done") == 3


def _edited(change):
    """A point file's text with `change` applied to its parsed document (an edit by hand)."""

    def edit(text: str) -> str:
        document = json.loads(text)
        change(document["result"])
        return json.dumps(document, indent=1)

    return edit


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],
        lambda text: "\xff\xfe",
        lambda text: "[]",
        lambda text: '{"key": "x"}',
        _edited(lambda result: result.update(rows="x")),
        _edited(lambda result: result.update(totals=[1])),
        _edited(lambda result: result["rows"][0].update(value=0.5)),
    ],
    ids=["truncated", "not text", "a list", "no result", "rows a string", "totals a list", "a value changed"],
)
def test_a_damaged_point_file_is_recomputed(tmp_path, damage):
    spec = SweepSpec(study=PROBE, fixed={"seed": 5}, grid={"x": [0, 1, 2]})
    first = run_sweep(spec, store=tmp_path, executor="serial")
    victim = sorted((tmp_path / "points").glob("*.json"))[1]
    victim.write_bytes(damage(victim.read_text()).encode("latin-1"))
    again = run_sweep(spec, store=tmp_path, executor="serial")
    assert (again.computed, again.skipped) == (1, 2)
    assert again.rows == first.rows


def test_a_failing_point_is_recorded_and_the_sweep_goes_on(tmp_path):
    spec = SweepSpec(study=PROBE, grid={"x": [0, 1], "fail": [False, True]})
    result = run_sweep(spec, store=tmp_path, executor="serial")
    assert result.computed == 4 and len(result.rows) == 2
    assert [message for _, message in result.failed] == [
        "probe point x=0 failed on purpose",
        "probe point x=1 failed on purpose",
    ]
    assert len(list((tmp_path / "failed").glob("*.json"))) == 2


def test_point_key_changes_with_the_vscale_version(tmp_path):
    from experiments.sweep import point_key

    config = sweep_probe.ProbeConfig(x=1)
    assert point_key(PROBE, config, version="1.0") != point_key(PROBE, config, version="1.1")
    assert point_key(PROBE, config, version="1.0") == point_key(PROBE, sweep_probe.ProbeConfig(x=1), version="1.0")


def test_processes_give_the_same_bits_as_serial(tmp_path):
    spec = SweepSpec(study=PROBE, fixed={"seed": 11}, grid={"x": list(range(6))})
    serial = run_sweep(spec, store=tmp_path / "serial", executor="serial")
    pooled = run_sweep(spec, store=tmp_path / "pool", executor="processes:2")
    assert pooled.rows == serial.rows
    for path in (tmp_path / "serial" / "points").glob("*.json"):
        other = json.loads((tmp_path / "pool" / "points" / path.name).read_text())
        assert other["result"] == json.loads(path.read_text())["result"]


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_bits_as_serial(tmp_path, monkeypatch):
    require("distributed")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPOSITORY), os.environ.get("PYTHONPATH", "")]))
    spec = SweepSpec(study=PROBE, fixed={"seed": 2}, grid={"x": list(range(4))})
    serial = run_sweep(spec, store=tmp_path / "serial", executor="serial")
    dask = run_sweep(spec, store=tmp_path / "dask", executor="dask")
    assert dask.rows == serial.rows


@pytest.mark.slow
def test_dask_retries_a_point_whose_worker_was_killed(tmp_path, monkeypatch):
    distributed = require("distributed")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPOSITORY), os.environ.get("PYTHONPATH", "")]))
    spec = SweepSpec(study=PROBE, fixed={"seed": 4, "sleep_s": 1.5}, grid={"x": [0, 1, 2, 3]})
    expected = [_expected_value(x, 4) for x in range(4)]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        killed = []

        def kill_one_worker(point, payload):
            if not killed:
                worker = next(iter(cluster.workers.values()))
                os.kill(worker.process.process.pid, signal.SIGKILL)
                killed.append(worker)

        result = run_sweep(spec, store=tmp_path, executor=f"dask:{cluster.scheduler_address}", on_point=kill_one_worker)
    assert killed
    assert [row["value"] for row in result.rows] == pytest.approx(expected)
    assert not result.failed


def test_kill_9_then_rerun_loses_no_point_and_recomputes_none(tmp_path):
    store = tmp_path / "store"
    spec_file = _write(
        tmp_path / "sweep.toml",
        """
        study = "sweep_probe"
        [fixed]
        sleep_s = 0.3
        [grid]
        x = [0, 1, 2, 3, 4, 5, 6, 7]
        """,
    )
    script = (
        REGISTER_PROBE
        + f"sys.exit(main(['sweep', {str(spec_file)!r}, '--out', {str(store)!r}, '--executor', 'serial']))"
    )
    process = subprocess.Popen([sys.executable, "-c", script], cwd=REPOSITORY, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (store / "points").is_dir() and len(list((store / "points").glob("*.json"))) >= 3:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished_before = {p.name for p in (store / "points").glob("*.json")}
    assert 3 <= len(finished_before) < 8
    rerun = subprocess.run([sys.executable, "-c", script], cwd=REPOSITORY, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    done = [key for event, key in _journal(store) if event == "done"]
    assert len(done) == len(set(done)) == 8
    assert {p.name for p in (store / "points").glob("*.json")} >= finished_before
    assert not list(store.rglob(".*.tmp"))
    with (store / "results.csv").open() as handle:
        assert sorted(int(row["x"]) for row in csv.DictReader(handle)) == list(range(8))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('study = "nope"\n[grid]\nx = [1]\n', r"^{file}: study: expected one of .*sweep_probe.*, got 'nope'$"),
        ("[grid]\nx = [1]\n", r"^{file}: study: missing; expected one of .*$"),
        ('study = "sweep_probe"\ngird = 1\n', r"^{file}: unknown key 'gird'; allowed: study, fixed, grid, points$"),
        (
            'study = "sweep_probe"\n[grid]\nxx = [1]\n',
            r"^{file}: grid\.xx: not a field of ProbeConfig; did you mean x\?$",
        ),
        ('study = "sweep_probe"\n[grid]\nx = []\n', r"^{file}: grid\.x: empty list; give at least one value$"),
        ('study = "sweep_probe"\n[grid]\nx = 3\n', r"^{file}: grid\.x: expected a list of values, got 3$"),
        ('study = "sweep_probe"\n', r"^{file}: the sweep has no points; give a \[grid\] table or \[\[points\]\]$"),
        (
            'study = "sweep_probe"\n[fixed]\nx = 1\n[grid]\nx = [2]\n',
            r"^{file}: grid\.x: also in \[fixed\]; give it in one table only$",
        ),
        ('study = "sweep_probe"\n[grid]\nx = ["a"]\n', r"^{file}: point 1 \(x='a'\): x: expected an integer, got 'a'$"),
        ("study = \n", r"^{file}: not valid TOML: .*$"),
    ],
)
def test_bad_sweep_files_are_one_line_errors_and_write_nothing(tmp_path, capsys, text, message):
    spec_file = tmp_path / "sweep.toml"
    spec_file.write_text(text)
    out = tmp_path / "out"
    assert main(["sweep", str(spec_file), "--out", str(out), "--executor", "serial"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert re.match(message.format(file=re.escape(str(spec_file))), error.removeprefix("vscale: error: "))
    assert not out.exists()


def test_binary_sweep_file_is_one_line_error(tmp_path):
    spec_file = tmp_path / "sweep.toml"
    spec_file.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match=r"not a UTF-8 text file; expected a TOML sweep description$"):
        load_sweep_spec(spec_file)


def test_store_of_another_format_is_refused(tmp_path):
    (tmp_path / "sweep.json").write_text(json.dumps({"format": 99, "vscale_version": "9.9"}))
    with pytest.raises(ConfigError, match=r"is a sweep store of format 99 \(vscale 9\.9\); this vscale reads format 1"):
        run_sweep(SweepSpec(study=PROBE, grid={"x": [1]}), store=tmp_path, executor="serial")


def test_non_empty_folder_that_is_not_a_store_is_refused(tmp_path):
    (tmp_path / "thesis.tex").write_text("precious")
    with pytest.raises(ConfigError, match=r"is neither empty nor a sweep store \(no sweep\.json\)$"):
        run_sweep(SweepSpec(study=PROBE, grid={"x": [1]}), store=tmp_path, executor="serial")


@pytest.mark.parametrize(
    ("executor", "message"),
    [
        ("threads", r"^executor: expected serial, processes\[:N\] or dask\[:ADDRESS\], got 'threads'$"),
        ("processes:0", r"^executor: processes:N needs a positive number of workers, got '0'$"),
        ("serial:2", r"^executor: serial takes no argument, got 'serial:2'$"),
    ],
)
def test_bad_executor_is_refused(tmp_path, executor, message):
    with pytest.raises(ConfigError, match=message):
        run_sweep(SweepSpec(study=PROBE, grid={"x": [1]}), store=tmp_path / "s", executor=executor)
    assert not (tmp_path / "s").exists()


@pytest.mark.slow
def test_unreachable_scheduler_is_one_line_error_and_writes_nothing(tmp_path):
    require("distributed")
    with pytest.raises(ConfigError, match=r"^executor: cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9: "):
        run_sweep(SweepSpec(study=PROBE, grid={"x": [1]}), store=tmp_path / "s", executor="dask:tcp://127.0.0.1:9")
    assert not (tmp_path / "s").exists()


def _descendants(pid: int) -> set[int]:
    children: set[int] = set()
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            child = int(status.parent.name)
            children |= {child} | _descendants(child)
    return children


@pytest.mark.slow
def test_ctrl_c_stops_the_workers_and_keeps_finished_points(tmp_path):
    store = tmp_path / "store"
    spec_file = _write(
        tmp_path / "sweep.toml",
        """
        study = "sweep_probe"
        [fixed]
        sleep_s = 0.5
        [grid]
        x = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
        """,
    )
    script = (
        REGISTER_PROBE
        + f"sys.exit(main(['sweep', {str(spec_file)!r}, '--out', {str(store)!r}, '--executor', 'processes:2']))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    process = subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPOSITORY, env=env, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if (store / "points").is_dir() and len(list((store / "points").glob("*.json"))) >= 2:
            break
        time.sleep(0.05)
    workers = _descendants(process.pid)
    assert workers
    process.send_signal(signal.SIGINT)
    try:
        _, stderr = process.communicate(timeout=60)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in workers):
            time.sleep(0.1)
        left_running = {pid for pid in workers if Path(f"/proc/{pid}").exists()}
    finally:
        for pid in [process.pid, *workers]:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    assert process.returncode == 130
    assert stderr.strip().splitlines()[-1] == "vscale: interrupted", stderr
    assert not left_running
    finished = list((store / "points").glob("*.json"))
    assert 2 <= len(finished) < 12
    assert all(json.loads(path.read_text())["status"] == "ok" for path in finished)


REAL_GRIDS = {
    "accuracy": SweepSpec(
        study="accuracy",
        fixed={"model": "tinymnv2", "injection": "bitlevel", "images": 10, "array": "32x32"},
        grid={"vdd": [0.9, 0.5], "protect": ["none", "31:22"]},
    ),
    "simulate": SweepSpec(
        study="simulate", fixed={"layer": "40,24,48", "array": "16x16"}, grid={"vdd": [0.9, 0.5], "seed": [1, 2]}
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("study", sorted(REAL_GRIDS))
def test_serial_processes_and_dask_give_identical_results_on_a_real_study(tmp_path, study):
    require("distributed")
    spec = REAL_GRIDS[study]
    results = {
        executor: run_sweep(spec, store=tmp_path / executor.replace(":", "-"), executor=executor)
        for executor in ("serial", "processes:2", "dask")
    }
    stores = {executor: tmp_path / executor.replace(":", "-") for executor in results}
    assert results["processes:2"].rows == results["serial"].rows == results["dask"].rows
    for path in (stores["serial"] / "points").glob("*.json"):
        expected = json.loads(path.read_text())["result"]
        for executor in ("processes:2", "dask"):
            assert json.loads((stores[executor] / "points" / path.name).read_text())["result"] == expected
    assert len(results["serial"].rows) == 4
