"""``vscale scalesim``: SCALE-Sim's arguments, files, report headers and folder layout.

Expected values come from SCALE-Sim itself: the CALC-mode reference results in
``tests/data/scalesim/results/`` and the USER-mode runs in ``tests/data/scalesim/user/``
(SCALE-Sim 2.0.2 from PyPI; see the README there).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from experiments.cli import main
from experiments.configs import read_scalesim_cfg
from experiments.scalesim_reports import BANDWIDTH_HEADER, COMPUTE_HEADER, DETAILED_HEADER
from sim.cycles import layer_report
from workloads.topologies import load_topology

DATA = Path(__file__).resolve().parents[1] / "data" / "scalesim"
MOBILENET = DATA / "topologies" / "mobilenet.csv"
PERCENT_TOLERANCE = 6e-5


def _scalesim_rows(path: Path) -> list[list[str]]:
    """Rows of a SCALE-Sim report (``", "`` separators, trailing comma), header dropped."""
    lines = path.read_text().splitlines()
    return [[cell.strip() for cell in line.rstrip(",").split(",")] for line in lines[1:]]


def _run(tmp_path: Path, *args: str) -> int:
    return main(["scalesim", *args, "-p", str(tmp_path / "logs"), "--format", "csv"])


def test_calc_mode_reports_have_scalesim_headers_layout_and_cycles(tmp_path, capsys):
    assert _run(tmp_path, "-c", str(DATA / "configs" / "a32x32_os_calc.cfg"), "-t", str(MOBILENET)) == 0
    folder = tmp_path / "logs" / "a32x32_os_calc"
    assert sorted(p.name for p in folder.iterdir()) == [
        "BANDWIDTH_REPORT.csv",
        "COMPUTE_REPORT.csv",
        "DETAILED_ACCESS_REPORT.csv",
        "ENERGY_REPORT.csv",
        "MEMORY_REPORT.csv",
        "config.json",
    ]
    assert (folder / "COMPUTE_REPORT.csv").read_text().splitlines()[0] == COMPUTE_HEADER
    assert (folder / "BANDWIDTH_REPORT.csv").read_text().splitlines()[0] == BANDWIDTH_HEADER
    assert (folder / "DETAILED_ACCESS_REPORT.csv").read_text().splitlines()[0] == DETAILED_HEADER
    with (DATA / "results" / "mobilenet__a32x32_os_calc.csv").open(newline="") as handle:
        reference = list(csv.DictReader(handle))
    rows = _scalesim_rows(folder / "COMPUTE_REPORT.csv")
    assert [int(row[0]) for row in rows] == list(range(len(reference)))
    for row, ref in zip(rows, reference, strict=True):
        assert (int(row[1]), int(row[2])) == (int(ref["total_cycles"]), 0)
        assert float(row[3]) == pytest.approx(float(ref["overall_util_pct"]), abs=PERCENT_TOLERANCE)
        assert float(row[4]) == pytest.approx(float(ref["mapping_eff_pct"]), abs=PERCENT_TOLERANCE)
        assert float(row[5]) == pytest.approx(float(ref["compute_util_pct"]), abs=PERCENT_TOLERANCE)
    assert len(_scalesim_rows(folder / "BANDWIDTH_REPORT.csv")[0]) == 7
    assert len(_scalesim_rows(folder / "DETAILED_ACCESS_REPORT.csv")[0]) == 19
    with (folder / "ENERGY_REPORT.csv").open(newline="") as handle:
        energy = list(csv.DictReader(handle))
    layers = [row for row in energy if row["layer_name"] != "total"]
    # the energy report counts the cycles the array is occupied, one more than SCALE-Sim's
    # index of the last cycle
    assert [int(row["cycles"]) for row in layers] == [int(ref["total_cycles"]) + 1 for ref in reference]
    assert all(float(row["total_pj"]) > 0 for row in energy)


def _folds(config: Path) -> list[int]:
    array = read_scalesim_cfg(config)
    topology = load_topology(MOBILENET, scalesim_compat=True)
    return [layer_report(layer, array, scalesim_compat=True).folds for layer in topology.layers]


@pytest.mark.parametrize("name", ["u256_ws_bw10", "u256_os_bw10", "u256_is_bw10"])
def test_user_mode_compute_cycles_and_sram_counts_equal_scalesim(tmp_path, name):
    # SCALE-Sim's USER mode: Total Cycles = compute + its own stall count. Our compute cycles
    # must equal its Total - Stall, and the array's SRAM accesses (its demand matrices) must
    # be the same. Stalls differ by design (docs/migrating_from_scalesim.md).
    run = DATA / "user" / "results" / name
    config = DATA / "user" / "configs" / f"{name}.cfg"
    assert _run(tmp_path, "-c", str(config), "-t", str(MOBILENET), "--no-energy") == 0
    ours = tmp_path / "logs" / name
    # SCALE-Sim's os compute adds R + C = 512 to its ofmap write count once per fold
    # (systolic_compute_os.create_ofmap_demand_mat: ofmap_writes += shape[0] + shape[1]).
    extra = [512 * folds for folds in _folds(config)] if "_os_" in name else [0] * 27
    with (ours / "MEMORY_REPORT.csv").open(newline="") as handle:
        memory = list(csv.DictReader(handle))
    theirs_compute = _scalesim_rows(run / "COMPUTE_REPORT.csv")
    theirs_detail = _scalesim_rows(run / "DETAILED_ACCESS_REPORT.csv")
    ours_detail = _scalesim_rows(ours / "DETAILED_ACCESS_REPORT.csv")
    assert len(memory) == len(theirs_compute) == 27
    for row, compute, theirs, detail, bug in zip(
        memory, theirs_compute, theirs_detail, ours_detail, extra, strict=True
    ):
        assert int(row["compute_cycles"]) == int(compute[1]) - int(compute[2])
        # SRAM IFMAP Reads, SRAM Filter Reads, SRAM OFMAP Writes
        assert [int(detail[i]) for i in (3, 6)] == [int(theirs[i]) for i in (3, 6)]
        assert int(detail[9]) == int(theirs[9]) - bug
        assert int(row["total_cycles"]) == int(row["compute_cycles"]) + int(row["stall_cycles"])
        # the SCALE-Sim-format files carry vscale's counts: DRAM IFMAP/Filter Reads, OFMAP Writes
        assert [int(detail[i]) for i in (12, 15, 18)] == [
            int(row[name]) for name in ("ifmap_dram_reads", "filter_dram_reads", "ofmap_dram_writes")
        ]
        starts_stops = [int(detail[i]) for i in (1, 2, 10, 11, 16, 17)]
        assert all(start <= stop for start, stop in zip(starts_stops[::2], starts_stops[1::2], strict=True))
    bandwidth = _scalesim_rows(ours / "BANDWIDTH_REPORT.csv")
    compute = _scalesim_rows(ours / "COMPUTE_REPORT.csv")
    for bw, total, detail in zip(bandwidth, compute, ours_detail, strict=True):
        # Avg SRAM BW = the array's accesses / Total Cycles, as SCALE-Sim computes it
        assert float(bw[1]) * int(total[1]) == pytest.approx(int(detail[3]))
        assert float(bw[3]) * int(total[1]) == pytest.approx(int(detail[9]))


def test_gemm_input(tmp_path):
    topology = DATA / "topologies" / "transformer_partial_mnk.csv"
    config = DATA / "configs" / "a32x32_ws_calc.cfg"
    assert _run(tmp_path, "-c", str(config), "-t", str(topology), "-i", "gemm", "--no-energy") == 0
    rows = _scalesim_rows(tmp_path / "logs" / "a32x32_ws_calc" / "COMPUTE_REPORT.csv")
    assert len(rows) == 6


CFG = """[general]
run_name = r

[architecture_presets]
ArrayHeight:    8
ArrayWidth:     8
IfmapSramSzkB:    64
FilterSramSzkB:   64
OfmapSramSzkB:    64
Dataflow : ws
Bandwidth : 10

[run_presets]
InterfaceBandwidth: USER
"""
TOPOLOGY = (
    "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
    "Conv1, 9, 9, 3, 3, 2, 4, 1,\n"
)


@pytest.mark.parametrize(
    ("cfg", "topology", "args", "message"),
    [
        (CFG.replace("[general]\nrun_name = r\n", ""), TOPOLOGY, (), r"a\.cfg: \[general\]: missing section; "),
        (CFG.replace("[run_presets]\nInterfaceBandwidth: USER\n", ""), TOPOLOGY, (), r"a\.cfg: \[run_presets\]: "),
        (CFG.replace("OfmapSramSzkB:    64", "OfmapSramSzkB:    0"), TOPOLOGY, (), r"a\.cfg:9: OfmapSramSzkB: "),
        (CFG.replace("IfmapSramSzkB:    64", "IfmapSramSzkB:    -8"), TOPOLOGY, (), r"a\.cfg:7: IfmapSramSzkB: "),
        (CFG.replace("Dataflow : ws", "Dataflow : rs"), TOPOLOGY, (), r"a\.cfg:10: Dataflow: expected one of ws, "),
        (CFG, TOPOLOGY.replace("9, 9, 3, 3", "9, 9, 11, 3"), (), r"t\.csv:2: Filter Height: expected at most "),
        (CFG, TOPOLOGY, ("-i", "gemm"), r"-i: t\.csv is a SCALE-Sim conv topology, not gemm; give -i conv$"),
    ],
)
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, capsys, cfg, topology, args, message):
    (tmp_path / "a.cfg").write_text(cfg)
    (tmp_path / "t.csv").write_text(topology)
    status = _run(tmp_path, "-c", str(tmp_path / "a.cfg"), "-t", str(tmp_path / "t.csv"), *args)
    err = capsys.readouterr().err
    assert status == 2
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("vscale: error: ")
    assert re.search(message, err), err
    assert not (tmp_path / "logs").exists()
