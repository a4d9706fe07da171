"""Protection plan files: the TOML schema, round trip and one-line errors."""

from __future__ import annotations

import pytest

from experiments.plans import load_plan, plan_toml
from pe_models.errors import ConfigError
from sim.protection import ProtectionPlan

EXAMPLE = """
model = "tinymnv2"
vdd_v = 0.55
recovery = "local"
penalty_cycles = 2
razor_window_ps = 150.0
default = "31,5"
[layers]
"features.1.conv" = "31:22"
"classifier" = "none"
"""


def test_example_plan_is_read_field_by_field(tmp_path):
    path = tmp_path / "plan.toml"
    path.write_text(EXAMPLE)
    plan = load_plan(path)
    assert plan == ProtectionPlan(
        layers={"features.1.conv": 0xFFC00000, "classifier": 0},
        default_mask=(1 << 31) | (1 << 5),
        recovery="local",
        penalty_cycles=2,
        razor_window_ps=150.0,
        model="tinymnv2",
        vdd_v=0.55,
    )
    assert plan.mask_for("features.2.conv") == 0x80000020
    assert plan.mask_for("classifier") == 0


def test_defaults_and_round_trip(tmp_path):
    path = tmp_path / "plan.toml"
    path.write_text('[layers]\n"a" = "3:0"\n')
    plan = load_plan(path)
    assert (plan.recovery, plan.penalty_cycles, plan.razor_window_ps, plan.default_mask) == ("global", None, None, 0)
    path.write_text(plan_toml(load_plan(_write(tmp_path, EXAMPLE))))
    assert load_plan(path) == load_plan(_write(tmp_path, EXAMPLE))


def _write(tmp_path, text):
    path = tmp_path / "other.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("penalty_cycles = -1\n", "penalty_cycles: expected a non-negative integer number of cycles, got -1"),
        ('recovery = "stall"\n', "recovery: expected one of global, column, local, drop, got 'stall'"),
        ('[layers]\n"conv" = "40:30"\n', "layers.conv: bit 40 is out of range; allowed: 0..31"),
        ('default = "32"\n', "default: bit 32 is out of range; allowed: 0..31"),
        ("razor_window_ps = -2.0\n", "razor_window_ps: expected a non-negative number of ps, got -2"),
        (
            "protect = 3\n",
            "unknown key 'protect'; allowed: model, vdd_v, recovery, penalty_cycles, razor_window_ps, default, layers, "
            "product_default, product_layers",
        ),
        ('[layers]\n"conv" = 31\n', 'layers.conv: expected bits as "HIGH:LOW", "31,5" or "none", got 31'),
    ],
)
def test_bad_plans_are_one_line_errors_naming_file_and_field(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_plan(path)
    assert str(error.value) == f"{path}: {message}"


def test_invalid_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"^.*missing.toml: not a readable protection plan \(TOML\)$"):
        load_plan(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match=r"^.*other.toml: invalid TOML: .*$"):
        load_plan(_write(tmp_path, "recovery = \n"))
