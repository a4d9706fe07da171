"""``vscale energy``: files, breakdown sums, cycles against the closed form, bad input."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from experiments.cli import main
from sim.energy import COMPONENTS

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _rows(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_one_gemm_writes_every_file_and_the_breakdown_sums(tmp_path, capsys):
    out = tmp_path / "out"
    arguments = ["energy", "--gemm", "128,64,96", "--array", "32x32", "--vdd", "0.9,0.5", "--format", "csv"]
    assert main([*arguments, "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    for name in ("energy.csv", "summary.json", "config.json", "energy.png", "energy_layers_0.9V.png"):
        assert (out / name).exists()
    assert (out / "energy.png").read_bytes()[:8] == PNG_MAGIC
    rows = _rows(out / "energy.csv")
    assert stdout.splitlines()[0] == ",".join(rows[0])
    assert [c for c in rows[0] if c.endswith("_pj")][: len(COMPONENTS)] == list(COMPONENTS)
    for row in rows:
        parts = sum(float(row[c]) for c in COMPONENTS)
        assert float(row["total_pj"]) == pytest.approx(parts, rel=1e-9)
        assert float(row["total_low_pj"]) <= float(row["total_pj"]) <= float(row["total_high_pj"])
        # ws on 32x32: K = 96 on rows (3 folds), N = 64 on columns (2 folds), T = M = 128;
        # 6 folds x (2 R + C + T - 2 = 222) = 1332 busy cycles (SCALE-Sim reports the last
        # cycle's index, 1331), at 700 MHz.
        assert int(row["cycles"]) == 1332
        assert float(row["latency_us"]) == pytest.approx(1332 / 700.0)
        assert int(row["macs"]) == 128 * 64 * 96
    nominal = [r for r in rows if r["vdd_v"] == "0.9"]
    low = [r for r in rows if r["vdd_v"] == "0.5"]
    assert all(float(r["saving_pct"]) == 0.0 for r in nominal)
    assert 0.0 < float(low[-1]["saving_pct"]) < 100.0
    assert float(low[-1]["razor_overhead_pj"]) == 0.0
    assert float(low[-1]["correction_pj"]) == 0.0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["peak_tmac_per_s"] == pytest.approx(32 * 32 * 700e6 / 1e12)


def test_topology_rows_per_layer_and_total(tmp_path, capsys):
    topology = tmp_path / "net.csv"
    topology.write_text(
        "name,kind,ifmap_h,ifmap_w,filter_h,filter_w,channels,num_filters,stride,padding,groups,m,n,k\n"
        "conv,conv,6,5,3,3,2,4,1,1,1\n"
        "fc,gemm,,,,,,,,,,5,3,8\n"
    )
    out = tmp_path / "out"
    assert (
        main(
            [
                "energy",
                "--topology",
                str(topology),
                "--array",
                "8x8",
                "--vdd",
                "0.7",
                "--format",
                "json",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    printed = json.loads(capsys.readouterr().out)
    rows = _rows(out / "energy.csv")
    (whole,) = _rows(out / "energy_per_vdd.csv")
    assert [(r["layer_id"], r["layer_name"]) for r in rows] == [("0", "conv"), ("1", "fc"), ("-1", "total")]
    assert list(printed["rows"][0]) == list(rows[0])
    assert [row["vdd_v"] for row in printed["per_vdd"]] == [0.7]
    assert printed["totals"]["critical_path_ps"] > 0
    for column in (*COMPONENTS, "total_pj", "macs", "cycles"):
        assert float(whole[column]) == pytest.approx(float(rows[0][column]) + float(rows[1][column]))
        assert float(rows[2][column]) == pytest.approx(float(whole[column]))


INTERFACE_COLUMNS = (
    "energy_per_inference_pj",
    "core_pj",
    "system_saving_pct",
    "core_saving_pct",
    "register_clock_pj",
    "utilisation_pct",
    "batch",
    "dvfs_f_clk_mhz",
    "dvfs_energy_per_inference_pj",
    "dvfs_latency_us",
)


def test_csv_on_stdout_ends_every_vdd_with_its_total_row(tmp_path, capsys):
    """Issue 24's interface: the CSV printed by ``--format csv`` holds a ``total`` row per VDD
    with the per-inference columns, equal to the sum of that VDD's layer rows."""
    out = tmp_path / "out"
    arguments = ["energy", "--gemm", "32,16,24", "--array", "8x8", "--vdd", "0.9,0.5", "--format", "csv"]
    assert main([*arguments, "--out", str(out)]) == 0
    printed = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    totals = {row["vdd_v"]: row for row in printed if row["layer_name"] == "total"}
    assert sorted(totals) == ["0.5", "0.9"]
    for vdd, total in totals.items():
        layers = [row for row in printed if row["vdd_v"] == vdd and row["layer_name"] != "total"]
        assert all(total[column] != "" for column in INTERFACE_COLUMNS)
        assert float(total["energy_per_inference_pj"]) == pytest.approx(
            sum(float(row["energy_per_inference_pj"]) for row in layers)
        )
    assert float(totals["0.9"]["system_saving_pct"]) == 0.0
    assert float(totals["0.5"]["core_saving_pct"]) > 0.0


def test_protected_bits_cost_detection_overhead(tmp_path):
    out = tmp_path / "out"
    arguments = ["energy", "--gemm", "64,32,32", "--array", "16x16", "--vdd", "0.9", "--protect", "31:24"]
    assert main([*arguments, "--hold-buffers-per-bit", "3", "--format", "csv", "--out", str(out)]) == 0
    rows = _rows(out / "energy.csv")
    assert float(rows[0]["razor_overhead_pj"]) > 0.0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--gemm", "1,2"], "--gemm: expected M,N,K with positive integers, e.g. 64,32,27, got '1,2'"),
        (
            ["--gemm", "4,4,4", "--vdd", "0.2", "--technology", "generic-28nm"],
            "--vdd: 0.2 V is at or below the threshold voltage 0.35 V of technology 'generic-28nm'; "
            "allowed: 0.35 < --vdd <= 1.35",
        ),
        (["--gemm", "4,4,4", "--protect", "40:35"], "--protect: bit 40 is out of range; allowed: 0..31"),
        (
            # the formula preset reaches 1.35 V; the energy's cell library stops at its top corner
            ["--gemm", "4,4,4", "--vdd", "1.2", "--technology", "ptm-32nm-hp"],
            "--vdd: 1.2 V is outside the characterised corners of cell library 'ptm-32nm-hp'; "
            "allowed: 0.4 <= --vdd <= 1",
        ),
        (
            # the default, the library itself, stops at its top corner (ptm-32nm-hp_1p00v.lib)
            ["--gemm", "4,4,4", "--vdd", "1.2"],
            "--vdd: 1.2 V is above the maximum supply 1.0 V of technology 'ptm-32nm-hp-cells'; "
            "allowed: 0.4 <= --vdd <= 1.0",
        ),
        (["--gemm", "4,4,4", "--activity-samples", "3"], "--activity-samples: expected an integer >= 64, got 3"),
        (
            ["--gemm", "4,4,4", "--batch", "0"],
            "--batch: expected an integer >= 1 (images sharing a weight fold), got 0",
        ),
        (
            ["--gemm", "4,4,4", "--memory-vdd", "2.0"],
            "--memory-vdd: 2.0 V is above the maximum supply 1.0 V of technology 'ptm-32nm-hp-cells'; "
            "allowed: 0.4 <= --memory-vdd <= 1.0",
        ),
        (
            ["--gemm", "4,4,4", "--power-gating", "--no-clock-gating"],
            "--power-gating: a power-gated PE is also clock-gated; allowed: power gating with clock gating, or neither",
        ),
        (
            # 48 B x 12544 x 32 outputs + 12544 x 27 + 27 x 32 operands + 3 x 224 x 224 float64 inputs = 19.8 MiB
            ["--topology", "mobilenetv2", "--max-memory", "1M"],
            "--topology: layer 'features.0' (M,N,K 12544,32,27) needs about 19.8 MiB of memory; "
            "the limit is 1 MiB (--max-memory)",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, capsys, arguments, message):
    out = tmp_path / "out"
    assert main(["energy", *arguments, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"vscale: error: {message}\n"
    assert captured.out == ""
    assert not out.exists()


def test_unknown_dram_type_is_one_line_naming_the_choices(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["energy", "--gemm", "4,4,4", "--dram", "gddr5", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err == ("vscale: error: --dram: unknown DRAM type 'gddr5'; allowed: lpddr4, ddr3, hbm2\n")
    assert not out.exists()


def test_simulate_charges_the_recovery_cycles_the_simulator_counted(tmp_path):
    out = tmp_path / "out"
    arguments = ["energy", "--gemm", "32,16,24", "--array", "8x8", "--vdd", "0.9,0.5", "--protect", "31:0"]
    # A 150 ps window (10 hold buffers a bit): with the default, largest window (762 ps, 53
    # buffers) every bit late at 0.5 V is still late at the shadow latch, so none is detected.
    arguments += ["--razor-window-ps", "150"]
    assert main([*arguments, "--simulate", "--format", "csv", "--out", str(out)]) == 0
    rows = {row["vdd_v"]: row for row in _rows(out / "energy_per_vdd.csv")}
    # ws on 8x8: K = 24 on rows (3 folds), N = 16 on columns (2 folds), T = M = 32;
    # 6 folds x (2 R + C + T - 2 = 54) = 324 busy cycles, plus the recovery cycles.
    assert int(rows["0.9"]["cycles"]) == 324
    assert int(rows["0.9"]["detections"]) == 0
    assert float(rows["0.9"]["correction_pj"]) == 0.0
    low = rows["0.5"]
    assert int(low["detections"]) > 0
    assert int(low["correction_cycles"]) > 0
    assert int(low["cycles"]) == 324 + int(low["correction_cycles"])
    assert float(low["correction_pj"]) > 0.0
    assert float(low["razor_overhead_pj"]) > 0.0


def test_required_leakage_share_closed_form():
    from experiments.studies.energy import required_leakage_share

    # 1 - 0.6 = 0.4 = (1 - L) 0.5 + L 0.1  ->  L = 0.25
    assert required_leakage_share(60.0, 0.5, 0.1) == pytest.approx(0.25)
    assert required_leakage_share(50.0, 0.5, 0.25) == pytest.approx(0.0)
    assert np.isnan(required_leakage_share(99.0, 0.5, 0.25))


@pytest.mark.slow
def test_model_rows_are_its_gemm_layers_for_one_image(tmp_path):
    from experiments.studies.prepared import prepare_model
    from workloads.engine import CalibrationConfig

    out = tmp_path / "out"
    assert (
        main(
            ["energy", "--model", "tinymnv2", "--array", "32x32", "--vdd", "0.9", "--format", "csv", "--out", str(out)]
        )
        == 0
    )
    rows = [row for row in _rows(out / "energy.csv") if row["layer_name"] != "total"]
    shapes = prepare_model("tinymnv2", images=1, labels=None, seed=0, calibration=CalibrationConfig()).model.gemm_layers
    assert [r["layer_name"] for r in rows] == [s.name for s in shapes]
    assert [int(r["macs"]) for r in rows] == [s.macs_per_image for s in shapes]
    assert all(float(r["mac_dynamic_pj"]) > 0.0 for r in rows)


@pytest.mark.parametrize(
    ("command", "arguments", "message"),
    [
        (
            ["accuracy", "--images", "2"],
            ["--batch", "0"],
            "--batch: expected an integer >= 1 (images sharing a weight fold), got 0",
        ),
        (
            ["optimize", "--images", "2"],
            ["--memory-vdd", "3"],
            "--memory-vdd: 3.0 V is above the maximum supply 1.0 V of technology 'ptm-32nm-hp-cells'; "
            "allowed: 0.4 <= --memory-vdd <= 1.0",
        ),
        (
            ["run", "--images", "2"],
            ["--power-gating", "--no-clock-gating"],
            "--power-gating: a power-gated PE is also clock-gated; allowed: power gating with clock gating, or neither",
        ),
    ],
)
def test_every_energy_command_refuses_bad_energy_options_in_one_line(tmp_path, capsys, command, arguments, message):
    out = tmp_path / "out"
    assert main([*command, *arguments, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"vscale: error: {message}\n"
    assert not out.exists()


def test_summary_gives_the_plan_s_area_from_the_cell_library():
    """Bits 31:30 protected with 3 hold-fix buffers each: 2 x (Razor extra + 3 buffers), the
    Razor extra the characterised Razor flip-flop's area (its table entry) minus the DFF's, a
    buffer the library's BUF; the PE its cells and 64 flops."""
    import vscale
    from pe_models.liberty import shipped_cell_library
    from pe_models.pe import PEConfig

    library = shipped_cell_library("ptm-32nm-hp")
    area = library.area_um2
    assert library.razor_flop is not None
    razor = library.razor_flop.area_um2 - area("dff")
    protection = 2 * (razor + 3 * area("buf"))
    pe = sum(area(cell.kind) for netlist in PEConfig().stages.values() for cell in netlist.cells) + 64 * area("dff")
    result = vscale.energy(gemm="8,8,8", array="4x4", vdd_v=[0.9], protect="31:30", hold_buffers_per_bit=3)
    totals = result.totals
    assert totals["pe_area_um2"] == pytest.approx(pe, rel=1e-12)
    assert totals["protection_area_um2"] == pytest.approx(protection, rel=1e-12)
    assert totals["protection_area_overhead_pct"] == pytest.approx(100 * protection / pe, rel=1e-12)
