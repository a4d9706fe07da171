"""The operand-vector CSV of ``vscale pe eval``, ``pe verilog`` and ``pe spice``: one MAC transition per row."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from pe_models.errors import ConfigError
from workloads.topologies import read_text_file

__all__ = ["VECTOR_COLUMNS", "read_vectors"]

VECTOR_COLUMNS = ("prev_a", "prev_b", "prev_c", "a", "b", "c")
"""Columns of a vector file: the previous MAC's operands and partial sum, then this MAC's."""


def _csv_rows(handle: io.StringIO, path: Path) -> Iterator[list[str]]:
    """Rows of a CSV text; a malformed line is a one-line ConfigError naming it."""
    reader = csv.reader(handle)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise ConfigError(f"{path}:{reader.line_num}: not a CSV line ({error})") from None
        yield row


def read_vectors(path: Path, *, width: int) -> dict[str, np.ndarray]:
    """Parse a vector CSV into int64 arrays, with one-line errors naming file, line and column."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such vector file")
    limits = {name: (-128, 127) for name in ("prev_a", "prev_b", "a", "b")}
    limits["prev_c"] = limits["c"] = (-(1 << (width - 1)), (1 << (width - 1)) - 1)
    with io.StringIO(read_text_file(path, "vector"), newline="") as handle:
        reader = _csv_rows(handle, path)
        header = next(reader, None)
        if header is None:
            raise ConfigError(f"{path}: empty file; expected a header {','.join(VECTOR_COLUMNS)}")
        header = [h.strip() for h in header]
        for column in VECTOR_COLUMNS:
            if column not in header:
                raise ConfigError(f"{path}:1: missing column {column!r}; required: {','.join(VECTOR_COLUMNS)}")
        index = {column: header.index(column) for column in VECTOR_COLUMNS}
        values: dict[str, list[int]] = {column: [] for column in VECTOR_COLUMNS}
        for line, row in enumerate(reader, start=2):
            if not row or all(not cell.strip() for cell in row):
                continue
            filled = max(number for number, cell in enumerate(row, start=1) if cell.strip())
            if filled > len(header):
                raise ConfigError(
                    f"{path}:{line}: expected at most {len(header)} values per row ({','.join(header)}), got {filled}"
                )
            for column in VECTOR_COLUMNS:
                low, high = limits[column]
                text = row[index[column]].strip() if index[column] < len(row) else ""
                try:
                    value = int(text)
                except ValueError:
                    raise ConfigError(
                        f"{path}:{line}: {column}: expected an integer in {low}..{high}, got {text!r}"
                    ) from None
                if not low <= value <= high:
                    raise ConfigError(f"{path}:{line}: {column}: expected an integer in {low}..{high}, got {value}")
                values[column].append(value)
    if not values["a"]:
        raise ConfigError(f"{path}: no vectors after the header")
    return {column: np.array(v, dtype=np.int64) for column, v in values.items()}
