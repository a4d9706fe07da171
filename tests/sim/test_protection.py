"""Protection: bit-mask parsing, validation messages, width check."""

from __future__ import annotations

import pytest

from pe_models.errors import ConfigError
from sim.protection import Protection, format_bit_mask, parse_bit_mask


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
        ("31-20", "--protect: expected bit numbers or HIGH:LOW ranges, e.g. 31:20, got '31-20'"),
        ("a", "--protect: expected bit numbers or HIGH:LOW ranges, e.g. 31:20, got 'a'"),
        ("31:", "--protect: expected bit numbers or HIGH:LOW ranges, e.g. 31:20, got '31:'"),
        ("32:20", "--protect: bit 32 is out of range; allowed: 0..31"),
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
    protection = Protection.from_spec("31:30", penalty_cycles=3, stall_scope="column", width=32)
    assert protection == Protection(protected_mask=0xC0000000, penalty_cycles=3, stall_scope="column")
    assert protection.protected_bits == (30, 31)


def test_defaults_are_no_bits_one_cycle_global():
    assert Protection() == Protection(protected_mask=0, penalty_cycles=1, stall_scope="global")


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
        ({"stall_scope": "local"}, "Protection.stall_scope: expected one of global, column, got 'local'"),
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
        "penalty_cycles": 1,
        "stall_scope": "global",
    }
