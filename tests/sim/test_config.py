"""ArrayConfig: defaults, validation messages, derived quantities."""

from __future__ import annotations

import dataclasses
import math

import pytest

from pe_models.errors import ConfigError
from sim.config import DATAFLOWS, ArrayConfig


def test_defaults_are_a_ws_int8_array_at_700_mhz_with_unlimited_bandwidth():
    config = ArrayConfig(rows=256, cols=256)
    assert (config.dataflow, config.f_clk_mhz, config.accumulator_bits, config.word_bytes) == ("ws", 700.0, 32, 1)
    assert (config.ifmap_sram_kib, config.filter_sram_kib, config.ofmap_sram_kib) == (6144, 6144, 2048)
    assert config.dram_bandwidth_words_per_cycle is None


def test_any_positive_shape_is_allowed():
    config = ArrayConfig(rows=3, cols=5, dataflow="is")
    assert (config.mac_units, config.shape) == (15, "3x5")


def test_fields_are_keyword_only():
    with pytest.raises(TypeError):
        ArrayConfig(4, 4)  # type: ignore[misc]


def test_config_is_frozen():
    config = ArrayConfig(rows=4, cols=4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.rows = 8  # type: ignore[misc]


def test_clock_period_and_time_follow_the_frequency():
    config = ArrayConfig(rows=4, cols=4, f_clk_mhz=500)
    assert config.clock_period_ps == 2000.0  # 1 / 500 MHz = 2 ns
    assert config.cycles_to_us(1500) == 3.0  # 1500 cycles of 2 ns


def test_to_dict_round_trips():
    config = ArrayConfig(rows=7, cols=9, dataflow="os", dram_bandwidth_words_per_cycle=2.5)
    assert ArrayConfig(**config.to_dict()) == config


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("rows", 0, r"^ArrayConfig\.rows: expected a positive integer, got 0$"),
        ("rows", True, r"^ArrayConfig\.rows: expected a positive integer, got True$"),
        ("cols", -3, r"^ArrayConfig\.cols: expected a positive integer, got -3$"),
        ("cols", 2.0, r"^ArrayConfig\.cols: expected a positive integer, got 2\.0$"),
        ("dataflow", "rs", r"^ArrayConfig\.dataflow: expected one of ws, os, is, got 'rs'$"),
        ("f_clk_mhz", 0, r"^ArrayConfig\.f_clk_mhz: expected a positive finite number of MHz, got 0$"),
        ("f_clk_mhz", math.inf, r"^ArrayConfig\.f_clk_mhz: expected a positive finite number of MHz, got inf$"),
        (
            "accumulator_bits",
            65,
            r"^ArrayConfig\.accumulator_bits: expected an integer number of bits in 2\.\.64, got 65$",
        ),
        ("ifmap_sram_kib", 0, r"^ArrayConfig\.ifmap_sram_kib: expected a positive integer, got 0$"),
        ("filter_sram_kib", "64", r"^ArrayConfig\.filter_sram_kib: expected a positive integer, got '64'$"),
        ("ofmap_sram_kib", -1, r"^ArrayConfig\.ofmap_sram_kib: expected a positive integer, got -1$"),
        (
            "dram_bandwidth_words_per_cycle",
            0,
            r"^ArrayConfig\.dram_bandwidth_words_per_cycle: expected a positive finite number of "
            r"words per cycle \(or None for unlimited\), got 0$",
        ),
        ("word_bytes", 0, r"^ArrayConfig\.word_bytes: expected an integer in 1\.\.8, got 0$"),
    ],
)
def test_invalid_field_is_rejected_with_one_line_naming_field_and_allowed_values(field, value, message):
    with pytest.raises(ConfigError, match=message):
        ArrayConfig(**{"rows": 4, "cols": 4, field: value})


def test_dataflows_are_scalesims_three():
    assert DATAFLOWS == ("ws", "os", "is")
