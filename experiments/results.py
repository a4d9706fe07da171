"""Typed study results: frozen rows, totals kept apart, one rendering for stdout, CSV and JSON.

Every study returns a subclass of :class:`StudyResult` whose ``rows`` are instances of
one frozen dataclass (its ``row_type``). The columns are that dataclass's fields, in
order, named in snake_case with the unit as suffix (``energy_pj``, ``latency_us``), and
are the same on stdout (:meth:`StudyResult.table`), in CSV (:meth:`StudyResult.to_csv`)
and in JSON (:meth:`StudyResult.to_json`). Numbers are rounded for display only
(:func:`display_value`, 12 significant digits): the result object keeps full precision.

A row field declared with ``field(metadata=NOT_A_COLUMN)`` (an array kept for a plot, say)
stays on the row object but is not rendered; one declared with
``field(metadata=columns_of(names))`` holds an object whose attributes `names` are rendered
as columns in its place (the memory accesses of a layer, :data:`sim.memory.ACCESS_COLUMNS`,
are one :class:`sim.memory.MemoryReport` field of every per-layer row).

Example
-------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True, kw_only=True)
... class PointRow:
...     vdd_v: float
...     error_pct: float
>>> @dataclass(frozen=True, kw_only=True)
... class PointResult(StudyResult[PointRow, dict]):
...     row_type = PointRow
>>> result = PointResult(config={}, rows=(PointRow(vdd_v=0.9, error_pct=46.800000000000004),))
>>> print(result.to_csv(), end="")
vdd_v,error_pct
0.9,46.8
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Generic, TypeVar

from .output import Table, atomic_path

__all__ = [
    "NOT_A_COLUMN",
    "StudyResult",
    "column_value",
    "columns_of",
    "display_value",
    "plain",
    "row_columns",
    "saving_pct",
]

NOT_A_COLUMN: Mapping[str, bool] = MappingProxyType({"column": False})
"""``field(metadata=NOT_A_COLUMN)``: a row attribute that is not rendered as a column."""


def columns_of(names: Sequence[str]) -> Mapping[str, Any]:
    """``field(metadata=columns_of(names))``: a row attribute whose attributes `names` are
    rendered as columns in its place (e.g. a ``MemoryReport`` and ``ACCESS_COLUMNS``)."""
    return MappingProxyType({"columns": tuple(names)})


RowT = TypeVar("RowT")
ConfigT = TypeVar("ConfigT")

_DISPLAY_DIGITS = 12


def display_value(value: Any) -> Any:
    """`value` as shown in a table, CSV or JSON: plain Python, floats to 12 significant digits.

    ``46.800000000000004`` becomes ``46.8``; integers, strings, booleans and None pass
    through; NaN and infinities stay floats (JSON writes them as ``NaN``/``Infinity``).
    """
    value = plain(value)
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.{_DISPLAY_DIGITS}g}")
    return value


def saving_pct(value: float, reference: float) -> float:
    """``100 (1 - value / reference)``: the saving of `value` against `reference` in percent.

    Rounded to 1e-9 points (a value equal to its reference up to rounding saves 0, not
    ``-2.22e-14``); 0 when the reference is 0.
    """
    if not reference:
        return 0.0
    return round(100.0 * (1.0 - value / reference), 9) + 0.0


def plain(value: Any) -> Any:
    """`value` converted to JSON-ready Python: dataclasses and mappings to dicts, sequences
    and arrays to lists, numpy scalars to Python numbers, paths to strings, enums to values.
    Floats keep full precision (see :func:`display_value` for rounding)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if hasattr(value, "as_dict"):
            return plain(value.as_dict())
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, str | bytes):
        return value if isinstance(value, str) else value.decode()
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Sequence | set | frozenset):
        return [plain(v) for v in value]
    return value


def _display(value: Any) -> Any:
    value = plain(value)
    if isinstance(value, dict):
        return {k: _display(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_display(v) for v in value]
    return display_value(value)


def _column_sources(row_type: type) -> dict[str, tuple[str, str | None]]:
    """Column -> (row field, attribute of the field's value or None), in column order."""
    found = _SOURCES.get(row_type)
    if found is None:
        found = _SOURCES[row_type] = _sources(row_type)
    return found


_SOURCES: dict[type, dict[str, tuple[str, str | None]]] = {}


def _sources(row_type: type) -> dict[str, tuple[str, str | None]]:
    sources: dict[str, tuple[str, str | None]] = {}
    for item in dataclasses.fields(row_type):
        if not item.metadata.get("column", True):
            continue
        for name in item.metadata.get("columns", ()):
            sources[name] = (item.name, name)
        if "columns" not in item.metadata:
            sources[item.name] = (item.name, None)
    return sources


def row_columns(row_type: type) -> tuple[str, ...]:
    """The rendered columns of a row dataclass: its fields in order, minus :data:`NOT_A_COLUMN`,
    with every :func:`columns_of` field replaced by its columns."""
    return tuple(_column_sources(row_type))


def column_value(row: Any, column: str) -> Any:
    """The value of `column` (:func:`row_columns`) in `row`."""
    name, attribute = _column_sources(type(row))[column]
    value = getattr(row, name)
    return value if attribute is None else getattr(value, attribute)


@dataclass(frozen=True, kw_only=True)
class StudyResult(Generic[RowT, ConfigT]):
    """The frozen result of a study.

    Attributes
    ----------
    config : frozen dataclass
        The configuration that produced the result.
    rows : tuple of row dataclasses
        One entry per table row, all of type :attr:`row_type`.
    totals : mapping of str to number
        Whole-study figures (sums, overall percentages); kept apart from the rows in JSON.
    row_type : type, class attribute
        The frozen dataclass of the rows; its fields are the columns.
    """

    row_type: ClassVar[type]

    config: ConfigT
    rows: tuple[RowT, ...]
    totals: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rows", tuple(self.rows))
        object.__setattr__(self, "totals", dict(self.totals))
        for row in self.rows:
            if not isinstance(row, self.row_type):
                raise TypeError(f"{type(self).__name__}.rows: expected {self.row_type.__name__}, got {type(row)!r}")

    @property
    def columns(self) -> tuple[str, ...]:
        """Column names, identical on stdout, in CSV and in JSON."""
        return row_columns(self.row_type)

    def records(self) -> list[dict[str, Any]]:
        """The rows as dictionaries of display values (column -> value)."""
        columns = self.columns
        return [{c: display_value(column_value(row, c)) for c in columns} for row in self.rows]

    def table(self, *, columns: Sequence[str] | None = None, float_format: str = "{:.4g}") -> Table:
        """The rows as an :class:`experiments.output.Table`: all columns, or the named subset."""
        if columns is None:
            columns = self.columns
        else:
            unknown = [c for c in columns if c not in self.columns]
            if unknown:
                raise ValueError(f"columns: {', '.join(unknown)} not among {', '.join(self.columns)}")
        return Table(
            columns=columns,
            rows=([display_value(column_value(row, c)) for c in columns] for row in self.rows),
            float_format=float_format,
        )

    def totals_table(self, *, float_format: str = "{:.4g}") -> Table:
        """The totals as a two-column table (``quantity``, ``value``)."""
        return Table(
            columns=("quantity", "value"),
            rows=([key, display_value(value)] for key, value in self.totals.items()),
            float_format=float_format,
        )

    def to_csv(self, path: str | os.PathLike[str] | None = None) -> str:
        """The rows as CSV text (header line, then one line per row).

        With `path`, the text is also written there atomically (nothing is left at `path`
        if writing fails). Totals are not in the CSV; see :meth:`to_json`.
        """
        text = self.table().to_csv()
        if path is not None:
            with atomic_path(path) as tmp:
                tmp.write_text(text)
        return text

    def as_dict(self) -> dict[str, Any]:
        """``{"config": ..., "totals": ..., "rows": [...]}`` with display values."""
        return {"config": _display(self.config), "totals": _display(self.totals), "rows": self.records()}

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        """:meth:`as_dict` as indented JSON text; with `path`, also written there atomically."""
        text = json.dumps(self.as_dict(), indent=1) + "\n"
        if path is not None:
            with atomic_path(Path(path)) as tmp:
                tmp.write_text(text)
        return text
