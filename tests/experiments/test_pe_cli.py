"""The PE commands: pe eval, probs, slack, run (outputs, formats and bad input)."""

import csv
import io
import json

import pytest

from experiments.cli import main

HAND_VECTORS = "prev_a,prev_b,prev_c,a,b,c\n1,5,7,1,-3,7\n"
# The hand-computed late carry is summed on the formula preset's reasoned delays (MAJ3 20 ps,
# XOR3 30 ps, setup 25 ps); the default, the characterised library, has per-pin, per-edge arcs.
FORMULA = ["--technology", "ptm-32nm-hp"]


def _vectors(tmp_path, text=HAND_VECTORS):
    path = tmp_path / "vectors.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize("level", ["gate", "chain"])
def test_pe_eval_reports_the_hand_computed_late_carry(tmp_path, capsys, level):
    """5 + 7 -> -3 + 7 sampled at 325 - 25 = 300 ps: bits 17..31 still wrong (see test_timing_levels)."""
    code = main(
        [
            "pe",
            "eval",
            str(_vectors(tmp_path)),
            "--level",
            level,
            "--t-clk-ps",
            "325",
            *FORMULA,
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "prev_a,prev_b,prev_c,a,b,c,latched,correct,flip_mask,settle_ps"
    assert lines[1] == f"1,5,7,1,-3,7,{0xFFFE0004 - 2**32},4,0xfffe0000,590.0"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "prev_a,prev_b,prev_c,a,b\n1,2,3,4,5\n",
            r"vectors.csv:1: missing column 'c'; required: prev_a,prev_b,prev_c,a,b,c",
        ),
        ("prev_a,prev_b,prev_c,a,b,c\n1,2,3,x,5,6\n", r"vectors.csv:2: a: expected an integer in -128..127, got 'x'"),
        ("prev_a,prev_b,prev_c,a,b,c\n1,2,3,4,128,6\n", r"vectors.csv:2: b: expected an integer in -128..127, got 128"),
        ("prev_a,prev_b,prev_c,a,b,c\n", r"vectors.csv: no vectors after the header"),
        (
            "prev_a,prev_b,prev_c,a,b,c\n1,2,3,4,5,6,7\n",
            r"vectors.csv:2: expected at most 6 values per row (prev_a,prev_b,prev_c,a,b,c), got 7",
        ),
    ],
)
def test_pe_eval_rejects_malformed_vectors(tmp_path, capsys, text, message):
    out = tmp_path / "out"
    code = main(["pe", "eval", str(_vectors(tmp_path, text)), "--t-clk-ps", "1000", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.strip().endswith(message)
    assert captured.err.count("\n") == 1
    assert captured.out == ""
    assert not out.exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--t-clk-ps", "0"], r"vscale: error: --t-clk-ps: expected a number of ps in (0, 1e+09], got 0.0"),
        (["--t-clk-ps", "-5"], r"vscale: error: --t-clk-ps: expected a number of ps in (0, 1e+09], got -5.0"),
        (
            ["--t-clk-ps", "100", "--cell-delays", "xor3=-1"],
            r"vscale: error: --cell-delays: xor3: expected a number of ps > 0, got '-1'",
        ),
        (
            ["--t-clk-ps", "100", "--cell-delays", "foo=1"],
            r"vscale: error: --cell-delays: unknown cell 'foo'; allowed: xor2, and2, or2, nand2, xor3, maj3, ao21, buf",
        ),
        (
            ["--vdd", "0.2", "--technology", "generic-28nm"],
            r"vscale: error: --vdd: 0.2 V is at or below the threshold voltage 0.35 V of technology "
            r"'generic-28nm'; allowed: 0.35 < --vdd <= 1.35",
        ),
    ],
)
def test_pe_eval_rejects_bad_timing(tmp_path, capsys, arguments, message):
    code = main(["pe", "eval", str(_vectors(tmp_path)), *arguments])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err == message + "\n"
    assert captured.out == ""


def test_probs_writes_long_csv_heatmap_and_config(tmp_path, capsys):
    out = tmp_path / "probs"
    assert main(["probs", "--vdd", "0.9:0.5:0.2", "--format", "csv", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "vdd_v,bit,p_err"
    assert len(lines) == 1 + 3 * 32
    assert {p.name for p in out.iterdir()} == {
        "probs.csv",
        "probs_product.csv",
        "probs_summary.csv",
        "probs_heatmap.png",
        "config.json",
    }
    assert json.loads((out / "config.json").read_text())["vdd_v"] == [0.9, 0.7, 0.5]


def test_probs_rejects_a_malformed_voltage_range(tmp_path, capsys):
    out = tmp_path / "probs"
    assert main(["probs", "--vdd", "0.9:0.5", "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        "vscale: error: --vdd: '0.9:0.5' is not START:STOP:STEP or a comma-separated list of volts "
        "(e.g. 0.9:0.5:0.05)\n"
    )
    assert not out.exists()


def test_probs_rejects_an_unreadable_trace(tmp_path, capsys):
    trace = tmp_path / "trace.npz"
    trace.write_bytes(b"not a zip")
    assert main(["probs", "--operands", str(trace), "--out", str(tmp_path / "o")]) == 2
    expected = f"vscale: error: {trace}: not a readable .npz trace; expected integer arrays a, b, c\n"
    assert capsys.readouterr().err == expected


def test_slack_writes_histograms(tmp_path, capsys):
    out = tmp_path / "slack"
    assert main(["slack", "--vdd", "0.5", "--format", "json", "--out", str(out)]) == 0
    records = json.loads(capsys.readouterr().out)["rows"]
    assert [r["bit"] for r in records] == list(range(32))
    assert {"slack_mac.csv", "slack_bits.csv", "slack_bits_hist.csv", "slack.png", "config.json"} <= {
        p.name for p in out.iterdir()
    }


def test_run_step1_prints_one_row_per_voltage(tmp_path, capsys):
    assert main(["run", "--skip-step2", "--out", str(tmp_path / "run")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("step 1: per-bit error probability of the 32-bit accumulator vs VDD")
    assert lines[1].split()[:2] == ["vdd_v", "delay_scale"]
    assert [line.split()[0] for line in lines[3:12]] == [
        "0.9",
        "0.85",
        "0.8",
        "0.75",
        "0.7",
        "0.65",
        "0.6",
        "0.55",
        "0.5",
    ]


@pytest.mark.slow
def test_run_step2_protects_the_failing_bits_and_keeps_nominal_accuracy(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["run", "--vdd", "0.9,0.5", "--images", "30", "--technology", "generic-28nm", "--format", "json"]
    # a 150 ps window: the default, largest one's hold buffers leave every error at 0.5 V undetected
    argv += ["--razor-window-ps", "150"]
    assert main([*argv, "--out", str(out)]) == 0
    rows = [r for r in csv.DictReader((out / "accuracy.csv").open()) if r["label"].startswith("step 2")]
    assert [(r["vdd_v"], r["protected_bits"]) for r in rows] == [
        ("0.9", "none"),
        ("0.5", "none"),
        ("0.9", "31:22 (17/17 layers)"),
        ("0.5", "31:22 (17/17 layers)"),
    ]
    assert rows[0]["top1_pct"] == rows[2]["top1_pct"]
    assert float(rows[3]["latency_overhead_pct"]) > 0
    assert (out / "accuracy.png").exists()
    assert json.loads((out / "config.json").read_text())["protect"] == "auto"


def test_run_rejects_a_bad_image_count(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "--images", "0", "--out", str(out)]) == 2
    assert capsys.readouterr().err == "vscale: error: --images: expected a positive integer, got 0\n"
    assert not out.exists()


def test_pe_verilog_writes_every_stage_of_the_registered_pe(tmp_path, capsys):
    out = tmp_path / "verilog"
    assert main(["pe", "verilog", "--vdd", "0.6", "--out", str(out)]) == 0
    printed = set(capsys.readouterr().out.split())
    names = {p.name for p in out.iterdir()}
    assert {
        "cells.v",
        "mul_compound.v",
        "tb_mul_compound.v",
        "acc_rca32_compound.v",
        "tb_acc_rca32_compound.v",
        "run_icarus.sh",
        "config.json",
    } <= names
    assert {str(out / name) for name in names} == printed


def test_slack_rejects_a_single_bin(tmp_path, capsys):
    out = tmp_path / "slack"
    assert main(["slack", "--vdd", "0.5", "--bins", "1", "--out", str(out)]) == 2
    assert capsys.readouterr().err == "vscale: error: --bins: expected an integer >= 2, got 1\n"
    assert not out.exists()


@pytest.mark.parametrize("technology", ["ptm-32nm-hp", "ptm-32nm-hp-cells"])
def test_slack_of_a_mac_equals_the_sampling_instant_minus_its_gate_level_settle_time(tmp_path, capsys, technology):
    """Per-bit minimum slack in slack_bits.csv against the gate level on the same operand stream
    (per-pin, per-edge arcs and clock-to-Q launch on the library)."""
    import numpy as np

    from pe_models.gate import simulate_gate
    from pe_models.operands import synthetic_stream
    from pe_models.pe import OperatingPoint, PEConfig, stage_timing

    out = tmp_path / "slack"
    assert (
        main(
            [
                *("slack", "--vdd", "0.55", "--operands", "dnn", "--seed", "4", "--technology", technology),
                *("--format", "csv", "--out", str(out)),
            ]
        )
        == 0
    )
    rows = list(csv.DictReader((out / "slack_bits.csv").open()))
    pe = PEConfig(technology=technology)
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=0.55, f_clk_mhz=700.0))
    stream = synthetic_stream("dnn", lanes=16, steps=4096, seed=np.random.SeedSequence(4), depth=256)
    pairs = stream.consecutive_pairs()
    sample = slice(0, 3000)
    gate = simulate_gate(
        pe.stages["adder"],
        {"product": pairs["prev_a"][sample] * pairs["prev_b"][sample], "c": pairs["prev_c"][sample]},
        {"product": pairs["a"][sample] * pairs["b"][sample], "c": pairs["c"][sample]},
        delays_fs=timing.arcs_fs("adder"),
        t_sample_fs=timing.t_sample_fs,
        launch_fs=timing.launch_fs("adder"),
    )
    for bit in (0, 16, 31):
        settles = gate.bit_settle_fs[:, bit]
        gate_min = (timing.t_sample_fs - settles[settles > 0].max()) / 1000
        assert float(rows[bit]["min_slack_ps"]) <= gate_min + 1e-9


def test_pe_eval_energy_of_one_product_bit_rising_is_its_two_nets_by_hand(tmp_path, capsys):
    """Adder stage, product 0 -> 1, partial sum 0: product bit 0 switches (the flop's Q, an XOR3
    and a MAJ3 input pin) and sum bit 0 (the XOR3's output, a flop's D pin); the carry stays 0.
    Each from ptm-32nm-hp's characterised library at 0.9 V, read here directly: a cell's own
    energy per output transition is its arcs' mean switching energy at the FO4 load less
    that load's 0.5 C V^2, the flop's Q transition its clock-to-Q arcs' mean less the quiet
    rising clock edge, a pin 0.5 C V^2 at the pins' mean capacitance; plus the adder cells'
    library leakage over the 700 MHz period."""
    from pe_models.liberty import shipped_cell_library
    from pe_models.pe import PEConfig

    vectors = tmp_path / "v.csv"
    vectors.write_text("prev_a,prev_b,prev_c,a,b,c\n0,0,0,1,1,0\n0,0,0,0,0,0\n")
    argv = ["pe", "eval", str(vectors), "--vdd", "0.9", "--level", "gate", "--energy", "--out", str(tmp_path / "o")]
    assert main(argv) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    library, vdd = shipped_cell_library("ptm-32nm-hp"), 0.9
    load, slew = library.reference_load_ff, library.reference_slew_ps(vdd)

    def own(cell: str) -> float:
        arcs = [
            library.switching_energy_fj(cell, pin, edge, vdd, load, slew)
            for pin in library.arc_pins(cell)
            for edge in ("rise", "fall")
        ]
        return sum(arcs) / len(arcs) - 0.5 * load * vdd**2

    def pin(cell: str) -> float:
        pins = library.pins(cell)
        return 0.5 * vdd**2 * sum(library.pin_capacitance_ff(cell, p, vdd) for p in pins) / len(pins)

    q = own("dff") - library.clock_pin_energy_fj("rise", vdd)
    d = 0.5 * vdd**2 * library.pin_capacitance_ff("dff", "D", vdd)
    assert float(rows[0]["switching_fj"]) == pytest.approx(q + pin("xor3") + pin("maj3") + own("xor3") + d, rel=1e-9)
    assert float(rows[1]["switching_fj"]) == 0.0
    kinds = [cell.kind for cell in PEConfig().stages["adder"].cells]
    leakage_fj = sum(library.leakage_nw(kind, vdd) for kind in kinds) * 1e-9 * (1e6 / 700.0) * 1e3
    assert float(rows[1]["energy_fj"]) == float(rows[1]["leakage_fj"])
    assert float(rows[1]["leakage_fj"]) == pytest.approx(leakage_fj, rel=1e-3)
    assert float(rows[0]["energy_fj"]) == pytest.approx(float(rows[0]["switching_fj"]) + float(rows[0]["leakage_fj"]))


def test_pe_eval_energy_needs_a_supply(tmp_path, capsys):
    vectors = tmp_path / "v.csv"
    vectors.write_text("prev_a,prev_b,prev_c,a,b,c\n0,0,0,1,1,0\n")
    argv = ["pe", "eval", str(vectors), "--t-clk-ps", "1400", "--energy", "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        "vscale: error: --energy: the energy scales with the supply; allowed: with --vdd (not --t-clk-ps)\n"
    )
    assert not (tmp_path / "o").exists()
