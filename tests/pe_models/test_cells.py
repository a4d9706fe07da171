import pytest

from pe_models.cells import get_cell_library, parse_cell_delays
from pe_models.errors import ConfigError


def test_parse_cell_delays_reads_picoseconds():
    assert parse_cell_delays("xor2=30, and2=20.5") == {"xor2": 30.0, "and2": 20.5}


def test_override_changes_only_named_cells():
    library = get_cell_library("2in", cell_delays="xor2=30")
    assert library.delay_ps("xor2") == 30.0
    assert library.delay_ps("and2") == get_cell_library("2in").delay_ps("and2")


def test_unknown_cell_name_is_rejected():
    with pytest.raises(
        ConfigError, match=r"^cell_delays_ps: unknown cell 'xor9'; allowed: xor2, and2, or2, nand2, buf$"
    ):
        get_cell_library("2in", cell_delays="xor9=3")


def test_negative_delay_is_rejected():
    with pytest.raises(ConfigError, match=r"^cell_delays_ps: xor2: expected a number of ps > 0, got '-5'$"):
        parse_cell_delays("xor2=-5")


def test_non_numeric_delay_is_rejected():
    with pytest.raises(ConfigError, match=r"^cell_delays_ps: maj3: expected a number of ps > 0, got 'fast'$"):
        parse_cell_delays("maj3=fast")


def test_item_without_value_is_rejected():
    with pytest.raises(ConfigError, match=r"^cell_delays_ps: expected CELL=PS, got 'xor2'$"):
        parse_cell_delays("xor2")


def test_unknown_library_is_rejected():
    with pytest.raises(ConfigError, match=r"^cells: unknown cell library 'nand'; allowed: 2in, compound$"):
        get_cell_library("nand")
