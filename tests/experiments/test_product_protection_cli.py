"""``--protect-product``: the product register's Razor through ``vscale simulate`` and ``accuracy``,
plan files with product bits, the energy charge and bad input.

The simulate case is the hand calculation of ``tests/sim/test_product_razor.py``: the
reasoned library at a delay scale of 3.5 and 700 MHz puts product bit 15 about 21 ps after
the sampling instant; b = 3 times 5, -5, 7, -7, 0, 2 changes the sign bit in four MACs.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest

from experiments.cli import main
from experiments.plans import load_plan, parse_plan, plan_toml
from pe_models.errors import ConfigError
from sim.protection import Protection, ProtectionPlan

T_CLK_PS = f"{1e6 / 700:.10f}"


def _row(path):
    with path.open(newline="") as handle:
        return next(csv.DictReader(handle))


@pytest.fixture
def sign_stream(tmp_path):
    path = tmp_path / "ops.npz"
    np.savez(
        path,
        activations=np.array([[5], [-5], [7], [-7], [0], [2]], dtype=np.int8),
        weights=np.array([[3]], dtype=np.int8),
    )
    return path


def _simulate(sign_stream, out, window_ps):
    argv = ["simulate", "--operand-file", str(sign_stream), "--array", "1x1", "--t-clk-ps", T_CLK_PS]
    argv += ["--delay-scale", "3.5", "--technology", "ptm-32nm-hp", "--protect-product", "15"]
    argv += ["--razor-window-ps", str(window_ps), "--penalty", "1", "--out", str(out)]
    return main(argv)


def test_simulate_reports_the_product_detections_of_the_hand_calculation(tmp_path, sign_stream):
    assert _simulate(sign_stream, tmp_path / "in", 40) == 0
    row = _row(tmp_path / "in" / "simulate.csv")
    assert (row["product_detections"], row["detections"], row["silent_product_errors"]) == ("4", "4", "0")
    assert (row["correction_cycles"], row["wrong_outputs"]) == ("4", "0")
    assert _simulate(sign_stream, tmp_path / "out", 10) == 0
    row = _row(tmp_path / "out" / "simulate.csv")
    assert (row["product_detections"], row["silent_product_errors"], row["wrong_outputs"]) == ("0", "4", "4")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--protect-product", "16:13"], "vscale: error: --protect-product: bit 16 is out of range; allowed: 0..15"),
        (
            ["--protect-product", "x"],
            "vscale: error: --protect-product: expected bit numbers or HIGH:LOW ranges, e.g. 31:20, got 'x'",
        ),
        (
            ["--protect-product", "15:13", "--razor-window-ps", "1400", "--technology", "ptm-32nm-hp"],
            "vscale: error: --razor-window-ps: 1400 ps is outside the feasible range 0..1063 ps of protected bits "
            "none and product bits 15:13 at 700 MHz (hold after buffering, longest path with the buffers at nominal "
            "VDD); allowed: 0..1063 ps",
        ),
    ],
)
@pytest.mark.parametrize("command", ["simulate", "accuracy"])
def test_bad_product_bits_are_one_line_exit_2_nothing_written(tmp_path, capsys, command, argv, message):
    out = tmp_path / "out"
    base = ["simulate", "--gemm", "8,4,4"] if command == "simulate" else ["accuracy", "--injection", "bitlevel"]
    status = main([*base, "--vdd", "0.55", *argv, "--out", str(out)])
    assert status == 2
    assert capsys.readouterr().err.strip() == message
    assert not out.exists()


@pytest.mark.slow
def test_accuracy_reports_product_detections(tmp_path):
    """At 0.55 V product bit 13 arrives inside a 48 ps window, bits 14 and 15 after it."""
    out = tmp_path / "out"
    argv = ["accuracy", "--injection", "bitlevel", "--images", "1", "--vdd", "0.55", "--array", "16x16"]
    argv += ["--technology", "ptm-32nm-hp", "--protect-product", "15:13", "--razor-window-ps", "48"]
    assert main([*argv, "--format", "csv", "--out", str(out)]) == 0
    row = _row(out / "accuracy.csv")
    assert int(row["product_detections"]) > 0 and int(row["silent_product_errors"]) > 0
    assert int(row["detections"]) == int(row["product_detections"])
    assert float(row["razor_overhead_pj"]) > 0


def test_plan_file_gives_layers_product_bits_and_reads_back(tmp_path):
    plan = parse_plan(
        {"default": "31:8", "product_default": "15", "layers": {"a": "31:20"}, "product_layers": {"a": "15:13"}}
    )
    assert (plan.product_mask_for("a"), plan.product_mask_for("b"), plan.hardware_product_mask) == (
        0xE000,
        0x8000,
        0xE000,
    )
    path = tmp_path / "plan.toml"
    path.write_text(plan_toml(plan))
    assert load_plan(path) == plan


def test_plan_file_product_bit_out_of_range():
    with pytest.raises(ConfigError, match=r"^plan: product_layers\.a: bit 16 is out of range; allowed: 0\.\.15$"):
        parse_plan({"product_layers": {"a": "16"}})


def test_energy_counts_the_product_razor_flops():
    """Three product bits and 24 accumulator bits are 27 Razor flip-flops per PE."""
    assert Protection(protected_mask=0xFFFFFF00, product_mask=0xE000).razor_flops == 27
    assert ProtectionPlan(default_mask=0xFF, default_product_mask=0x1).protection_for("x").razor_flops == 9
