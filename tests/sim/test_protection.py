"""Protection and ProtectionPlan: bit-mask parsing, validation messages, width and layer checks."""

from __future__ import annotations

import numpy as np
import pytest

from pe_models.errors import ConfigError
from sim.engine import fold_correction_cycles
from sim.grid import FoldResult
from sim.protection import Protection, ProtectionPlan, format_bit_mask, parse_bit_mask


def test_range_31_20_is_the_twelve_top_bits_of_a_32_bit_accumulator():
    # bits 20..31: 2^32 - 2^20 = 0xFFF00000
    assert parse_bit_mask("31:20", width=32) == 0xFFF00000


def test_range_may_be_written_low_to_high():
    assert parse_bit_mask("20:31", width=32) == parse_bit_mask("31:20", width=32)


def test_single_bits_and_ranges_combine():
    # bit 0 (1) + bit 5 (32) + bits 8..9 (256 + 512) = 801
    assert parse_bit_mask("0,5,9:8", width=32) == 801


@pytest.mark.parametrize("text", ["none", "", "  NONE "])
def test_none_protects_nothing(text):
    assert parse_bit_mask(text, width=32) == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("31-20", "protect: expected bit numbers or HIGH:LOW ranges, e.g. 31:20, got '31-20'"),
        ("a", "protect: expected bit numbers or HIGH:LOW ranges, e.g. 31:20, got 'a'"),
        ("31:", "protect: expected bit numbers or HIGH:LOW ranges, e.g. 31:20, got '31:'"),
        ("32:20", "protect: bit 32 is out of range; allowed: 0..31"),
    ],
)
def test_bad_bit_specifications_are_one_line_errors(text, message):
    with pytest.raises(ConfigError) as error:
        parse_bit_mask(text, width=32)
    assert str(error.value) == message


@pytest.mark.parametrize(("mask", "text"), [(0, "none"), (0xFFF00000, "31:20"), (801, "9:8,5,0")])
def test_format_bit_mask_writes_ranges_high_to_low(mask, text):
    assert format_bit_mask(mask) == text


def test_from_spec_builds_a_validated_protection():
    protection = Protection.from_spec("31:30", penalty_cycles=3, recovery="column", razor_window_ps=150, width=32)
    assert protection == Protection(
        protected_mask=0xC0000000, penalty_cycles=3, recovery="column", razor_window_ps=150.0
    )
    assert protection.protected_bits == (30, 31)


def test_global_recovery_stalls_the_whole_array_per_detection_cycle():
    # a fold with detections in 5 distinct cycles, at most 4 in one column, 3 on one path:
    # global recovery at 1 cycle each costs 5 cycles (column would cost 4, local 3)
    fold = FoldResult(
        tile=np.zeros((2, 4), np.int64),
        busy_cycles=10,
        macs=16,
        erroneous_macs=6,
        detections=6,
        detection_cycles=5,
        column_detection_cycles=np.array([2, 4]),
        flip_counts=np.zeros(32, np.int64),
        residual_flip_counts=np.zeros(32, np.int64),
        replay_depth=3,
    )
    assert fold_correction_cycles(fold, Protection(protected_mask=0xFFF00000, penalty_cycles=1)) == 5
    assert fold_correction_cycles(fold, Protection(protected_mask=0xFFF00000, penalty_cycles=2)) == 10
    assert Protection().protected_bits == ()
    with pytest.raises(ValueError, match="resolve the stall cycles first"):
        fold_correction_cycles(fold, Protection(protected_mask=0xFFF00000))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"penalty_cycles": -1}, "Protection.penalty_cycles: expected a non-negative integer number of cycles, got -1"),
        (
            {"penalty_cycles": 1.5},
            "Protection.penalty_cycles: expected a non-negative integer number of cycles, got 1.5",
        ),
        (
            {"penalty_cycles": True},
            "Protection.penalty_cycles: expected a non-negative integer number of cycles, got True",
        ),
        (
            {"recovery": "stall"},
            "Protection.recovery: expected one of global, column, local, drop, got 'stall'",
        ),
        (
            {"razor_window_ps": -3.0},
            "Protection.razor_window_ps: expected a non-negative number of ps (at most the clock period), got -3.0",
        ),
        ({"protected_mask": -1}, "Protection.protected_mask: expected an integer bit mask in 0..2^64-1, got -1"),
        (
            {"protected_mask": "31:20"},
            "Protection.protected_mask: expected an integer bit mask in 0..2^64-1, got '31:20'",
        ),
    ],
)
def test_bad_fields_name_the_field_and_the_allowed_values(fields, message):
    with pytest.raises(ConfigError) as error:
        Protection(**fields)
    assert str(error.value) == message


def test_check_width_rejects_bits_above_the_accumulator():
    with pytest.raises(ConfigError) as error:
        Protection(protected_mask=1 << 40).check_width(32)
    assert str(error.value) == "Protection.protected_mask: bit 40 is outside the 32-bit accumulator; allowed: 0..31"


def test_check_width_accepts_the_top_bit():
    Protection(protected_mask=1 << 31).check_width(32)


def test_to_dict_records_bits_as_ranges():
    assert Protection.from_spec("31:20", width=32).to_dict() == {
        "protected_bits": "31:20",
        "protected_mask": 0xFFF00000,
        "penalty_cycles": None,
        "recovery": "global",
        "razor_window_ps": None,
    }


def test_plan_gives_each_layer_its_bits_and_the_default_to_the_others():
    plan = ProtectionPlan(
        layers={"conv1": 0xFFC00000}, default_mask=0x80000020, recovery="local", penalty_cycles=2, razor_window_ps=90.0
    )
    assert plan.protection_for("conv1") == Protection(
        protected_mask=0xFFC00000,
        penalty_cycles=2,
        recovery="local",
        razor_window_ps=90.0,
        hardware_mask=0xFFC00020,
    )
    assert plan.protection_for("fc").protected_mask == 0x80000020
    assert plan.to_dict()["layers"] == {"conv1": "31:22"}
    assert plan.to_dict()["default"] == "31,5"


def test_plan_rejects_unknown_layers_other_models_and_wide_bits():
    plan = ProtectionPlan(layers={"conv9": 1}, model="tinymnv2")
    with pytest.raises(ConfigError) as error:
        plan.check_layers(["conv1", "fc"], model="tinymnv2")
    assert str(error.value) == "plan: layer 'conv9' is not a layer of model 'tinymnv2'; allowed: conv1, fc"
    with pytest.raises(ConfigError) as error:
        plan.check_layers(["conv9"], model="lenet")
    assert str(error.value) == "plan.model: the plan is for model 'tinymnv2', not 'lenet'; allowed: 'lenet'"
    with pytest.raises(ConfigError) as error:
        ProtectionPlan(layers={"conv1": 1 << 40}).check_width(32)
    assert str(error.value) == "plan: bit 40 of layer 'conv1' is outside the 32-bit accumulator; allowed: 0..31"
    with pytest.raises(ConfigError) as error:
        ProtectionPlan(penalty_cycles=-1)
    assert str(error.value) == "ProtectionPlan.penalty_cycles: expected a non-negative integer number of cycles, got -1"
