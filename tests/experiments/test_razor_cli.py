"""`vscale pe eval --razor-window-ps`: the shadow and mask columns against a hand calculation."""

import csv
import json

import pytest

from experiments.cli import main

HAND_VECTORS = "prev_a,prev_b,prev_c,a,b,c\n1,5,7,1,-3,7\n"
# The hand calculations sum the formula preset's reasoned delays (MAJ3 20 ps, XOR3 30 ps, BUF
# 14 ps, setup 25 ps, hold 10 ps); the default, the characterised library, has per-pin,
# per-edge arcs and clock-to-Q.
FORMULA = ["--technology", "ptm-32nm-hp"]


def _vectors(tmp_path):
    path = tmp_path / "vectors.csv"
    path.write_text(HAND_VECTORS)
    return path


@pytest.mark.parametrize("level", ["gate", "chain"])
@pytest.mark.parametrize(
    ("extra", "latched", "detected"),
    [([], 0xFF000004, "0xff000000"), (["--protect", "31:28"], 0xF0000004, "0xf0000000")],
)
def test_pe_eval_shadow_and_masks_of_the_hand_computed_late_carry(tmp_path, capsys, level, extra, latched, detected):
    """5 + 7 -> -3 + 7, compound cells, a 1500 ps clock (design clock 666.7 MHz), delays x 2.

    Window 300 ps: ceil((300 + 10 - 30) / 14) = 20 buffers (280 ps nominal) on each protected
    bit. Bit i >= 4 falls from 1 to 0 once, at 30 + (i - 3) * 20 ps nominal. t_s = 1500 - 2 x 25
    = 1450 ps: a buffered bit shows the sum at 1450 / 2 - 280 = 445 ps nominal (bits 24..31
    still 1), an unbuffered one at 725 ps (all fallen); the shadow at (1450 + 300) / 2 - 280 =
    595 ps nominal sees every bit fallen. So the buffered bits 24..31 are detected and
    corrected, nothing is silent; bit 31 settles at 2 x (590 + 280) = 1740 ps.
    """
    out = tmp_path / "out"
    args = ["pe", "eval", str(_vectors(tmp_path)), "--level", level, "--t-clk-ps", "1500", "--delay-scale", "2"]
    code = main([*args, *FORMULA, "--razor-window-ps", "300", *extra, "--out", str(out)])
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == (
        "prev_a,prev_b,prev_c,a,b,c,latched,correct,flip_mask,settle_ps,"
        "shadow,detected_mask,silent_mask,miscorrected_mask"
    )
    flips = f"0x{latched ^ 4:08x}"
    assert lines[1] == f"1,5,7,1,-3,7,{latched - 2**32},4,{flips},1740.0,4,{detected},0x00000000,0x00000000"


def test_window_as_a_percentage_of_the_clock_period(tmp_path, capsys):
    """20 % of a 1500 ps clock is 300 ps: the same shadow as --razor-window-ps 300."""
    vectors = _vectors(tmp_path)
    base = ["pe", "eval", str(vectors), "--t-clk-ps", "1500", "--delay-scale", "2"]
    assert main([*base, "--razor-window-ps", "20%", "--out", str(tmp_path / "a")]) == 0
    percent = capsys.readouterr().out
    assert main([*base, "--razor-window-ps", "300", "--out", str(tmp_path / "b")]) == 0
    assert capsys.readouterr().out == percent


def test_t_setup_moves_the_sampling_instant(tmp_path, capsys):
    """--t-setup-ps 0 with a 300 ps clock samples at 300 ps, as the library's 25 ps with 325 ps."""
    vectors = _vectors(tmp_path)
    args = ["pe", "eval", str(vectors), "--t-clk-ps", "300", "--t-setup-ps", "0", *FORMULA]
    assert main([*args, "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[1].endswith(f"{0xFFFE0004 - 2**32},4,0xfffe0000,590.0")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--razor-window-ps", "400"],
            "vscale: error: --razor-window-ps: 400 ps is longer than the clock period 325 ps; allowed: 0..325 ps",
        ),
        (["--razor-window-ps", "-5"], "vscale: error: --razor-window-ps: -5 ps is negative; allowed: 0..325 ps"),
        (
            ["--razor-window-ps", "abc"],
            "vscale: error: --razor-window-ps: expected ps or a percentage of the clock period "
            "(e.g. 150 or 25%), got 'abc'",
        ),
        (
            ["--razor-window-ps", "100", "--protect", "40"],
            "vscale: error: --protect: bit 40 is out of range; allowed: 0..31",
        ),
        (["--protect", "3"], "vscale: error: --protect: the mask columns need a Razor window; add --razor-window-ps"),
        (
            ["--t-setup-ps", "400"],
            "vscale: error: --t-setup-ps: expected a setup time in [0, 325) ps "
            "(shorter than the clock period), got 400.0",
        ),
        (
            ["--razor-window-ps", "100", *FORMULA],
            "vscale: error: --protect: no feasible Razor window for protected bits 31:0 at 3076.92 MHz: bit 31's "
            "longest path, 650 ps without hold buffers, misses T_clk - t_setup = 300 ps at nominal VDD; allowed: "
            "a slower clock or fewer protected bits",
        ),
    ],
)
def test_bad_razor_options_are_one_line_errors_and_write_nothing(tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    assert main(["pe", "eval", str(_vectors(tmp_path)), "--t-clk-ps", "325", *extra, "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == message
    assert not out.exists()


PLAN_WITH_UNKNOWN_LAYER = 'model = "tinymnv2"\nrecovery = "local"\n[layers]\n"nope" = "31:20"\n'


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--razor-window-ps", "3000"],
            "vscale: error: --razor-window-ps: 3000 ps is longer than the clock period 1428.57 ps; "
            "allowed: 0..1428.57 ps",
        ),
        (["--penalty", "-1"], "vscale: error: --penalty: expected a non-negative integer, got -1"),
        (["--protect", "32:30"], "vscale: error: --protect: bit 32 is out of range; allowed: 0..31"),
    ],
)
def test_accuracy_bad_razor_options_are_one_line_errors(tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    args = ["accuracy", "--model", "tinymnv2", "--injection", "bitlevel", "--vdd", "0.5", "--images", "4"]
    assert main([*args, *extra, "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == message
    assert not out.exists()


def test_accuracy_plan_naming_an_unknown_layer_is_one_line_error(tmp_path, capsys):
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN_WITH_UNKNOWN_LAYER)
    out = tmp_path / "out"
    args = ["accuracy", "--model", "tinymnv2", "--injection", "bitlevel", "--vdd", "0.5", "--images", "4"]
    assert main([*args, "--plan", str(plan), "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("vscale: error: --plan: layer 'nope' is not a layer of model 'tinymnv2'; allowed: ")
    assert "features.1.conv.1" in error and "\n" not in error
    assert not out.exists()


def test_pe_eval_reports_hold_buffers_of_the_protected_bits(tmp_path, capsys):
    """Window 100 ps + hold 10 ps against one XOR3 (30 ps): ceil(80 / 14) = 6 BUF cells per protected bit."""
    out = tmp_path / "out"
    args = ["pe", "eval", str(_vectors(tmp_path)), "--t-clk-ps", "1500", "--razor-window-ps", "100", *FORMULA]
    assert main([*args, "--protect", "31:30,0", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["hold_buffers_per_protected_bit"] == {"0": 6, "30": 6, "31": 6}


def test_pe_eval_window_outside_the_feasible_range_is_a_one_line_error(tmp_path, capsys):
    """1500 ps clock: bit 31's slack 1475 - 650 = 825 ps takes 58 buffers, window 30 + 812 - 10 = 832 ps."""
    out = tmp_path / "out"
    args = ["pe", "eval", str(_vectors(tmp_path)), "--t-clk-ps", "1500", "--razor-window-ps", "900", *FORMULA]
    assert main([*args, "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == (
        "vscale: error: --razor-window-ps: 900 ps is outside the feasible range 0..832 ps of protected bits 31:0 at "
        "666.667 MHz (hold after buffering, longest path with the buffers at nominal VDD); allowed: 0..832 ps"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("technology", "bench_name"),
    [
        # reasoned: 40 + 10 ps hold against one XOR3 (30 ps) takes ceil(20 / 14) = 2 BUFs: a hold-fixed netlist
        ("ptm-32nm-hp", "tb_acc_rca32_compound_hold.v"),
        # the library's shortest adder paths (clock-to-Q, then a cell) already cover 40 ps + hold: no buffers
        ("ptm-32nm-hp-cells", "tb_acc_rca32_compound.v"),
    ],
)
def test_pe_verilog_testbench_samples_the_shadow_instant(tmp_path, capsys, technology, bench_name):
    out = tmp_path / "bundle"
    args = ["pe", "verilog", "--t-clk-ps", "1500", "--razor-window-ps", "40", "--technology", technology]
    assert main([*args, "--out", str(out)]) == 0
    bench = (out / bench_name).read_text()
    assert "localparam real T_WINDOW = 40.000;" in bench
    assert '$strobe("H %0d %h", v, sum);' in bench


SIMULATE = ["simulate", "--topology", "mobilenetv2", "--layers", "0:2", "--vdd", "0.5", "--array", "8x8"]


def _simulate_rows(out):
    with (out / "simulate.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_simulate_plan_with_one_default_equals_protect(tmp_path, capsys):
    """A plan whose default is 31:22 for every layer runs exactly as --protect 31:22."""
    plan = tmp_path / "plan.toml"
    plan.write_text('recovery = "local"\npenalty_cycles = 2\nrazor_window_ps = 150.0\ndefault = "31:22"\n')
    common = [*SIMULATE, "--technology", "generic-28nm", "--format", "csv"]
    assert main([*common, "--plan", str(plan), "--out", str(tmp_path / "plan")]) == 0
    flags = ["--protect", "31:22", "--recovery", "local", "--penalty", "2", "--razor-window-ps", "150"]
    assert main([*common, *flags, "--out", str(tmp_path / "flags")]) == 0
    by_plan, by_flags = _simulate_rows(tmp_path / "plan"), _simulate_rows(tmp_path / "flags")
    assert by_plan == by_flags
    assert sum(int(row["detections"]) for row in by_plan) > 0
    for name in ("miscorrections", "silent_protected_errors", "unprotected_errors", "recovery_cycles"):
        assert name in by_plan[0]
    assert all(row["recovery_cycles"] == row["correction_cycles"] for row in by_plan)


def test_simulate_plan_protecting_only_one_layer(tmp_path, capsys):
    plan = tmp_path / "plan.toml"
    plan.write_text('razor_window_ps = 150.0\n[layers]\n"features.0" = "31:0"\n')
    out = tmp_path / "out"
    assert main([*SIMULATE, "--technology", "generic-28nm", "--plan", str(plan), "--out", str(out)]) == 0
    first, second = _simulate_rows(out)
    assert int(first["detections"]) > 0
    assert int(second["detections"]) == 0 and int(second["erroneous_macs"]) > 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[layers]\n"conv9" = "31:22"\n',
            "vscale: error: --plan: layer 'conv9' is not a layer of the model; allowed: ",
        ),
        ("penalty_cycles = -2\n", "vscale: error: {plan}: penalty_cycles: expected a non-negative integer number of "),
        ('[layers]\n"features.0" = "33"\n', "vscale: error: {plan}: layers.features.0: bit 33 is out of range; "),
    ],
)
def test_simulate_bad_plans_are_one_line_errors_and_write_nothing(tmp_path, capsys, text, message):
    plan = tmp_path / "plan.toml"
    plan.write_text(text)
    out = tmp_path / "out"
    assert main([*SIMULATE, "--plan", str(plan), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(message.format(plan=plan)) and error.count("\n") == 1
    assert not out.exists()
