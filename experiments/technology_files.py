"""Users' technology files: a preset TOML (a fit of their own) or a table of measured points.

``--technology`` (and every study's ``technology`` field) takes a preset name, a
``FILE.toml``, a ``FILE.csv`` or Liberty files at several voltage corners (``a.lib,b.lib,...``,
:func:`pe_models.technology.liberty_technology`):

- TOML, parametric: a ``[technology]`` table with the fields of
  :class:`pe_models.technology.Technology` (what ``vscale tech characterize`` writes);
- TOML, tabulated: a ``[technology]`` table with ``name``, ``vdd_v = [...]`` and
  ``delay_scale = [...]`` (optionally ``switching_energy_scale`` and
  ``leakage_power_scale``);
- CSV: columns ``vdd_v,delay_scale`` (optionally ``switching_energy_scale``,
  ``leakage_power_scale``), one row per measured supply with one value per column, e.g.
  the voltage corners of a Liberty library; exactly one row with ``delay_scale`` 1.0 (the
  nominal supply). A row short of values is refused (naming a last row without line
  break as cut short); CSV has no row count, so rows lost at a line break go unnoticed
  while two rows and the nominal one remain.

Tables are interpolated monotonically (PCHIP in log space,
:class:`pe_models.technology.TabulatedTechnology`). Every error is one line naming the
file, the line where there is one, and the field.
"""

from __future__ import annotations

import csv
import itertools
import math
import tomllib
from functools import lru_cache
from pathlib import Path

from pe_models.errors import ConfigError
from pe_models.technology import (
    TECHNOLOGIES,
    TabulatedTechnology,
    Technology,
    TechnologyModel,
    liberty_paths,
    resolve_technology,
)

__all__ = ["TABLE_COLUMNS", "load_technology", "read_technology_csv", "read_technology_toml", "resolve_user_technology"]

TABLE_COLUMNS: tuple[str, ...] = ("vdd_v", "delay_scale", "switching_energy_scale", "leakage_power_scale")
_REQUIRED_FIELDS: tuple[str, ...] = (
    "name",
    "vdd_nominal_v",
    "vth_v",
    "delay_model",
    "alpha",
    "slope_factor_n",
    "dibl_eta",
    "vdd_max_v",
)
_OPTIONAL_FIELDS: tuple[str, ...] = (
    "description",
    "temperature_k",
    "switching_energy_exponent",
    "source",
    "fit_error_pct",
    "vdd_min_v",
)


def resolve_user_technology(technology: object) -> TechnologyModel | str:
    """A preset name unchanged, a technology object unchanged, a ``.toml``/``.csv`` path loaded.

    Raises
    ------
    ConfigError
        An unknown name, or a file that does not load (see :func:`load_technology`).
    """
    if isinstance(technology, Technology | TabulatedTechnology):
        return technology
    if isinstance(technology, str) and technology in TECHNOLOGIES:
        return technology
    if liberty_paths(technology) is not None:
        return resolve_technology(str(technology))
    if isinstance(technology, str | Path) and Path(technology).suffix.lower() in (".toml", ".csv"):
        return load_technology(technology)
    allowed = ", ".join(sorted(TECHNOLOGIES))
    raise ConfigError(
        f"technology: {str(technology)!r} is not a known technology; "
        f"allowed: {allowed}, FILE.toml, FILE.csv, A.lib,B.lib,..."
    )


def load_technology(path: str | Path) -> TechnologyModel:
    """Read a technology file (``.toml`` or ``.csv``); cached per path and modification time."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"technology: {file}: no such file")
    return _load(str(file), file.stat().st_mtime_ns)


@lru_cache(maxsize=32)
def _load(path: str, _mtime_ns: int) -> TechnologyModel:
    file = Path(path)
    if file.suffix.lower() == ".csv":
        return read_technology_csv(file)
    return read_technology_toml(file)


def _number(path: Path, field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{path}: technology.{field}: expected a finite number, got {value!r}")
    return float(value)


def read_technology_toml(path: str | Path) -> TechnologyModel:
    """A parametric or tabulated technology from the ``[technology]`` table of a TOML file."""
    file = Path(path)
    try:
        document = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{file}: not valid TOML: {error}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{file}: not a UTF-8 text file") from None
    except OSError as error:
        raise ConfigError(f"{file}: cannot be read: {error}") from None
    table = document.get("technology")
    if not isinstance(table, dict):
        raise ConfigError(f"{file}: technology: missing [technology] table")
    if "vdd_v" in table or "delay_scale" in table:
        return _tabulated_from_toml(file, table)
    missing = [name for name in _REQUIRED_FIELDS if name not in table]
    if missing:
        raise ConfigError(f"{file}: technology.{missing[0]}: missing; required: {', '.join(_REQUIRED_FIELDS)}")
    unknown = sorted(set(table) - set(_REQUIRED_FIELDS) - set(_OPTIONAL_FIELDS))
    if unknown:
        raise ConfigError(
            f"{file}: technology.{unknown[0]}: unknown field; allowed: {', '.join(_REQUIRED_FIELDS + _OPTIONAL_FIELDS)}"
        )
    fields = dict(table)
    fields.setdefault("description", f"from {file.name}")
    fields.setdefault("source", file.name)
    for name in ("name", "description", "source", "delay_model"):
        if not isinstance(fields[name], str):
            raise ConfigError(f"{file}: technology.{name}: expected a string, got {fields[name]!r}")
    for name, value in fields.items():
        if name not in ("name", "description", "source", "delay_model"):
            fields[name] = _number(file, name, value)
    try:
        return Technology(**fields)
    except ConfigError as error:
        raise ConfigError(f"{file}: technology.{error}") from None


def _tabulated_from_toml(file: Path, table: dict) -> TabulatedTechnology:
    allowed = ("name", "description", "source", *TABLE_COLUMNS)
    for name in ("vdd_v", "delay_scale"):
        if name not in table:
            raise ConfigError(f"{file}: technology.{name}: missing; a table needs vdd_v and delay_scale arrays")
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise ConfigError(f"{file}: technology.{unknown[0]}: unknown field; allowed: {', '.join(allowed)}")
    columns = {}
    for name in TABLE_COLUMNS:
        if name in table:
            values = table[name]
            if not isinstance(values, list):
                raise ConfigError(f"{file}: technology.{name}: expected an array of numbers, got {values!r}")
            columns[name] = [_number(file, f"{name}[{i}]", v) for i, v in enumerate(values)]
    points = len(columns["vdd_v"])
    for name, values in columns.items():
        if len(values) != points:
            raise ConfigError(
                f"{file}: technology.{name}: {len(values)} values; allowed: one per vdd_v point ({points})"
            )
    order = sorted(range(len(columns["vdd_v"])), key=lambda i: columns["vdd_v"][i])
    try:
        return TabulatedTechnology(
            name=str(table.get("name", file.name)),
            description=str(table.get("description", f"table from {file.name}")),
            source=str(table.get("source", file.name)),
            table_vdd_v=tuple(columns["vdd_v"][i] for i in order),
            table_delay_scale=tuple(columns["delay_scale"][i] for i in order),
            **{
                f"table_{name}": tuple(columns[name][i] for i in order)
                for name in ("switching_energy_scale", "leakage_power_scale")
                if name in columns
            },
        )
    except ConfigError as error:
        raise ConfigError(f"{file}: technology.{error}") from None


def read_technology_csv(path: str | Path) -> TabulatedTechnology:
    """A tabulated technology from a CSV of measured points (see the module docstring).

    Raises
    ------
    ConfigError
        Missing header or column, a value that is not a positive number, a repeated
        supply, a delay that does not fall as the supply rises (or an energy ratio that
        does not rise), no row with ``delay_scale`` 1.0; the message names file, line and
        column.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{file}: not a UTF-8 text file") from None
    except OSError as error:
        raise ConfigError(f"{file}: cannot be read: {error}") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None:
        raise ConfigError(f"{file}: empty file; expected a header vdd_v,delay_scale")
    header = [name.strip() for name in header]
    for name in ("vdd_v", "delay_scale"):
        if name not in header:
            raise ConfigError(f"{file}:1: missing column {name!r}; required: vdd_v,delay_scale")
    unknown = [name for name in header if name not in TABLE_COLUMNS]
    if unknown:
        raise ConfigError(f"{file}:1: unknown column {unknown[0]!r}; allowed: {','.join(TABLE_COLUMNS)}")
    columns = [name for name in TABLE_COLUMNS if name in header]
    rows: list[tuple[int, dict[str, float]]] = []
    last_line = len(text.splitlines())
    for line, cells in enumerate(reader, start=2):
        if not cells or all(not cell.strip() for cell in cells):
            continue
        if len(cells) < len(header):
            missing = ",".join(header[len(cells) :])
            ended = line == last_line and not text.endswith(("\n", "\r"))
            raise ConfigError(
                f"{file}:{line}: {len(cells)} of the {len(header)} values, no {missing}"
                + ("; the file ends inside this row: it was cut short" if ended else "")
                + f"; allowed: one value per column ({','.join(header)})"
            )
        if len(cells) > len(header):
            raise ConfigError(
                f"{file}:{line}: {len(cells)} values for the {len(header)} columns; "
                f"allowed: one value per column ({','.join(header)})"
            )
        values = {}
        for name in columns:
            index = header.index(name)
            cell = cells[index].strip()
            try:
                value = float(cell)
            except ValueError:
                value = math.nan
            if not math.isfinite(value) or value <= 0:
                raise ConfigError(f"{file}:{line}: {name}: expected a positive number, got {cell!r}")
            values[name] = value
        rows.append((line, values))
    if len(rows) < 2:
        raise ConfigError(f"{file}: {len(rows)} data rows; a table needs at least 2 supplies")
    rows.sort(key=lambda item: item[1]["vdd_v"])
    for (line_low, low), (line, high) in itertools.pairwise(rows):
        if high["vdd_v"] == low["vdd_v"]:
            raise ConfigError(f"{file}:{line}: vdd_v: {high['vdd_v']:g} V repeats line {line_low}")
        if high["delay_scale"] >= low["delay_scale"]:
            raise ConfigError(
                f"{file}:{line}: delay_scale: {high['delay_scale']:g} at {high['vdd_v']:g} V is not below "
                f"{low['delay_scale']:g} at {low['vdd_v']:g} V (line {line_low}); allowed: delay falls as vdd_v rises"
            )
        for name in ("switching_energy_scale", "leakage_power_scale"):
            if name in high and high[name] <= low[name]:
                raise ConfigError(
                    f"{file}:{line}: {name}: {high[name]:g} at {high['vdd_v']:g} V is not above "
                    f"{low[name]:g} at {low['vdd_v']:g} V (line {line_low}); allowed: rises with vdd_v"
                )
    if not any(values["delay_scale"] == 1.0 for _, values in rows):
        raise ConfigError(f"{file}: delay_scale: no row has 1.0; allowed: exactly 1.0 at the nominal supply")
    try:
        return TabulatedTechnology(
            name=file.name,
            description=f"measured points from {file.name}, PCHIP-interpolated in log space",
            source=file.name,
            **{f"table_{name}": tuple(values[name] for _, values in rows) for name in columns},
        )
    except ConfigError as error:
        raise ConfigError(f"{file}: {error}") from None
