"""Property tests of the input parsers: vector CSV, voltage ranges, cell delays."""

import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.commands.pe import VECTOR_COLUMNS, read_vectors
from experiments.pe_options import parse_vdd_range
from pe_models.cells import CELL_TYPES, parse_cell_delays
from pe_models.errors import ConfigError

int8 = st.integers(-128, 127)
int32 = st.integers(-(2**31), 2**31 - 1)
vector = st.tuples(int8, int8, int32, int8, int8, int32)


def _write(text: str) -> Path:
    handle = tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False)
    handle.write(text)
    handle.close()
    return Path(handle.name)


@settings(max_examples=100, deadline=None)
@given(st.lists(vector, min_size=1, max_size=20), st.permutations(VECTOR_COLUMNS))
def test_valid_vectors_round_trip_in_any_column_order(rows, order):
    text = (
        ",".join(order)
        + "\n"
        + "".join(",".join(str(row[VECTOR_COLUMNS.index(column)]) for column in order) + "\n" for row in rows)
    )
    parsed = read_vectors(_write(text), width=32)
    for i, column in enumerate(VECTOR_COLUMNS):
        assert parsed[column].tolist() == [row[i] for row in rows]


@settings(max_examples=100, deadline=None)
@given(st.lists(vector, min_size=1, max_size=10), st.data())
def test_an_out_of_range_operand_is_reported_with_its_line_and_column(rows, data):
    line = data.draw(st.integers(0, len(rows) - 1))
    column = data.draw(st.sampled_from(("prev_a", "prev_b", "a", "b")))
    bad = data.draw(st.one_of(st.integers(128, 10**6), st.integers(-(10**6), -129)))
    values = [list(row) for row in rows]
    values[line][VECTOR_COLUMNS.index(column)] = bad
    text = ",".join(VECTOR_COLUMNS) + "\n" + "".join(",".join(map(str, row)) + "\n" for row in values)
    path = _write(text)
    expected = f"{path}:{line + 2}: {column}: expected an integer in -128..127, got {bad}"
    with pytest.raises(ConfigError, match=f"^{re.escape(expected)}$"):
        read_vectors(path, width=32)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="abcxyz.-+ e", min_size=1, max_size=6).filter(lambda s: not s.strip().lstrip("+-").isdigit()))
def test_a_non_integer_field_is_reported(text):
    path = _write(",".join(VECTOR_COLUMNS) + f"\n1,2,3,4,5,{text}\n")
    with pytest.raises(ConfigError, match=r"^.*:2: c: expected an integer in -2147483648\.\.2147483647, got '.*'$"):
        read_vectors(path, width=32)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 40), st.integers(1, 20))
def test_voltage_range_is_inclusive_and_evenly_spaced(count, step_mv):
    start_mv = 1200
    stop_mv = start_mv - (count - 1) * step_mv
    values = parse_vdd_range(f"{start_mv / 1000}:{stop_mv / 1000}:{step_mv / 1000}")
    assert len(values) == count
    assert values[0] == pytest.approx(start_mv / 1000)
    assert values[-1] == pytest.approx(stop_mv / 1000)
    assert np.allclose(np.diff(values), -step_mv / 1000)


@given(st.text(max_size=12).filter(lambda s: not re.fullmatch(r"[\d.,:eE+\- ]*", s)))
def test_garbage_voltage_ranges_are_rejected(text):
    with pytest.raises(ConfigError, match=r"^--vdd: "):
        parse_vdd_range(text)


@given(st.dictionaries(st.sampled_from(CELL_TYPES), st.floats(0.001, 1e4), min_size=1))
def test_cell_delays_round_trip(delays):
    text = ",".join(f"{cell}={value!r}" for cell, value in delays.items())
    assert parse_cell_delays(text) == delays


@given(st.sampled_from(CELL_TYPES), st.floats(max_value=0.0, allow_nan=False))
def test_non_positive_cell_delays_are_rejected(cell, value):
    with pytest.raises(ConfigError, match=rf"^cell_delays_ps: {cell}: expected a number of ps > 0, got "):
        parse_cell_delays(f"{cell}={value!r}")
