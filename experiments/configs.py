"""Reading array configurations: SCALE-Sim ``.cfg`` files and vscale TOML files.

SCALE-Sim ``.cfg`` (an INI file read by ``scale_config.read_conf_file``)::

    [architecture_presets]
    ArrayHeight:    32
    ArrayWidth:     32
    IfmapSramSzkB:  64
    FilterSramSzkB: 64
    OfmapSramSzkB:  64
    Dataflow : ws
    Bandwidth : 10
    [run_presets]
    InterfaceBandwidth: CALC

Keys are case-insensitive and ``:`` or ``=`` separates key and value, as in Python's
``configparser``. ``InterfaceBandwidth: USER`` uses the first value of ``Bandwidth`` (words
per cycle, as SCALE-Sim does with ``bws[0]``); ``CALC`` (SCALE-Sim computes the bandwidth
that avoids stalls; also the default when the key is absent) means unlimited bandwidth.
Offsets, ``MemoryBanks`` and ``[general]`` are ignored. :func:`read_scalesim_run` (the
``vscale scalesim`` drop-in) reads the same file as strictly as SCALE-Sim: ``[general]
run_name`` and ``[run_presets] InterfaceBandwidth`` are required too.

vscale TOML: a ``[array]`` table whose keys are the fields of :class:`sim.config.ArrayConfig`
(``rows``, ``cols``, ``dataflow``, ``f_clk_mhz``, ``accumulator_bits``, ``ifmap_sram_kib``,
``filter_sram_kib``, ``ofmap_sram_kib``, ``dram_bandwidth_words_per_cycle`` -- omitted
means unlimited -- and ``word_bytes``). Other top-level tables are left to other readers.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

from pe_models.errors import ConfigError
from sim.config import DATAFLOWS, ArrayConfig, ArrayConfigError
from workloads.topologies import read_text_file

__all__ = [
    "ARRAY_TOML_KEYS",
    "ScaleSimRun",
    "load_array_config",
    "parse_array_shape",
    "parse_array_toml",
    "parse_bandwidth",
    "parse_scalesim_cfg",
    "parse_scalesim_run",
    "parse_sram_kib",
    "read_array_toml",
    "read_scalesim_cfg",
    "read_scalesim_run",
    "resolve_array_config",
    "with_sram_kib",
]

ARRAY_TOML_KEYS: tuple[str, ...] = tuple(field.name for field in dataclasses.fields(ArrayConfig))
"""Keys allowed in the ``[array]`` table of a TOML configuration."""

_ARCH = "architecture_presets"
_RUN = "run_presets"
_CFG_KEYS = {
    "rows": "ArrayHeight",
    "cols": "ArrayWidth",
    "ifmap_sram_kib": "IfmapSramSzkB",
    "filter_sram_kib": "FilterSramSzkB",
    "ofmap_sram_kib": "OfmapSramSzkB",
    "dataflow": "Dataflow",
    "dram_bandwidth_words_per_cycle": "Bandwidth",
}


def _ini_entries(text: str, label: str) -> dict[tuple[str, str], tuple[int, str]]:
    """``{(section, lower-case key): (line number, value)}`` of an INI text."""
    entries: dict[tuple[str, str], tuple[int, str]] = {}
    sections: dict[str, int] = {}
    section: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            if not line.endswith("]") or len(line) < 3:
                raise ConfigError(f"{label}:{number}: expected a section header '[name]', got {line!r}")
            section = line[1:-1].strip()
            if section in sections:
                raise ConfigError(
                    f"{label}:{number}: [{section}] given twice (first on line {sections[section]}); give it once"
                )
            sections[section] = number
            continue
        positions = [position for position in (line.find(":"), line.find("=")) if position > 0]
        if not positions:
            raise ConfigError(f"{label}:{number}: expected 'Key: value' or 'Key = value', got {line!r}")
        if section is None:
            raise ConfigError(f"{label}:{number}: key outside a section; expected a '[section]' first")
        split = min(positions)
        key = line[:split].strip().lower()
        if (section, key) in entries:
            first = entries[(section, key)][0]
            raise ConfigError(
                f"{label}:{number}: {line[:split].strip()} given twice in [{section}] (first on line {first}); "
                "give it once"
            )
        entries[(section, key)] = (number, line[split + 1 :].strip())
    return entries


def parse_scalesim_cfg(text: str, *, label: str) -> ArrayConfig:
    """An `ArrayConfig` from the text of a SCALE-Sim ``.cfg`` file.

    Raises
    ------
    ConfigError
        One line naming `label`, the line and the key.
    """
    entries = _ini_entries(text, label)

    def entry(section: str, key: str) -> tuple[int, str] | None:
        return entries.get((section, key.lower()))

    def required(key: str) -> tuple[int, str]:
        found = entry(_ARCH, key)
        if found is None:
            raise ConfigError(f"{label}: [{_ARCH}] {key}: missing")
        return found

    def positive(key: str) -> int:
        number, text_value = required(key)
        try:
            value = int(text_value)
        except ValueError:
            value = 0
        if value <= 0:
            raise ConfigError(f"{label}:{number}: {key}: expected a positive integer, got {text_value!r}")
        return value

    values: dict[str, Any] = {
        field: positive(key)
        for field, key in _CFG_KEYS.items()
        if field not in ("dataflow", "dram_bandwidth_words_per_cycle")
    }
    number, dataflow = required("Dataflow")
    if dataflow not in DATAFLOWS:
        raise ConfigError(f"{label}:{number}: Dataflow: expected one of {', '.join(DATAFLOWS)}, got {dataflow!r}")
    values["dataflow"] = dataflow
    mode_entry = entry(_RUN, "InterfaceBandwidth")
    mode = "CALC" if mode_entry is None else mode_entry[1]
    if mode not in ("USER", "CALC"):
        line = "" if mode_entry is None else f":{mode_entry[0]}"
        raise ConfigError(f"{label}{line}: InterfaceBandwidth: expected USER or CALC, got {mode!r}")
    values["dram_bandwidth_words_per_cycle"] = None
    if mode == "USER":
        number, text_value = required("Bandwidth")
        first = text_value.split(",")[0].strip()
        try:
            bandwidth = int(first)
        except ValueError:
            bandwidth = 0
        if bandwidth <= 0:
            raise ConfigError(
                f"{label}:{number}: Bandwidth: expected a positive integer number of words "
                f"per cycle, got {text_value!r}"
            )
        values["dram_bandwidth_words_per_cycle"] = bandwidth
    try:
        return ArrayConfig(**values)
    except ArrayConfigError as error:
        key = _CFG_KEYS.get(error.field, error.field)
        raise ConfigError(f"{label}: {key}: {error.detail}") from None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ScaleSimRun:
    """What a SCALE-Sim ``.cfg`` file asks for, read as strictly as SCALE-Sim reads it.

    Attributes
    ----------
    run_name : str
        ``[general] run_name``: SCALE-Sim writes its reports to ``<log dir>/<run_name>/``.
    array : ArrayConfig
        Array, buffers, dataflow; ``dram_bandwidth_words_per_cycle`` is the first
        ``Bandwidth`` value in ``USER`` mode and ``None`` in ``CALC`` mode.
    bandwidth_mode : str
        ``"USER"`` or ``"CALC"``.
    """

    run_name: str
    array: ArrayConfig
    bandwidth_mode: str


_REQUIRED_SECTIONS = {
    "general": "run_name",
    _ARCH: "ArrayHeight, ArrayWidth, IfmapSramSzkB, FilterSramSzkB, OfmapSramSzkB, Dataflow",
    _RUN: "InterfaceBandwidth",
}


def parse_scalesim_run(text: str, *, label: str) -> ScaleSimRun:
    """A :class:`ScaleSimRun` from the text of a SCALE-Sim ``.cfg`` file.

    Unlike :func:`parse_scalesim_cfg` (used by ``--config``) the three sections SCALE-Sim
    reads are required, with ``run_name`` and ``InterfaceBandwidth``.

    Raises
    ------
    ConfigError
        One line naming `label`, the line (where there is one), the section or key.
    """
    entries = _ini_entries(text, label)
    sections = {section for section, _ in entries}
    for section, keys in _REQUIRED_SECTIONS.items():
        if section not in sections:
            raise ConfigError(f"{label}: [{section}]: missing section; SCALE-Sim needs it with {keys}")
    found = entries.get(("general", "run_name"))
    if found is None:
        raise ConfigError(f"{label}: [general] run_name: missing")
    number, run_name = found
    if not run_name or run_name in (".", "..") or "/" in run_name or "\\" in run_name:
        raise ConfigError(f"{label}:{number}: run_name: expected a folder name without '/', got {run_name!r}")
    if (_RUN, "interfacebandwidth") not in entries:
        raise ConfigError(f"{label}: [{_RUN}] InterfaceBandwidth: missing; expected USER or CALC")
    array = parse_scalesim_cfg(text, label=label)
    mode = "CALC" if array.dram_bandwidth_words_per_cycle is None else "USER"
    return ScaleSimRun(run_name=run_name, array=array, bandwidth_mode=mode)


def read_scalesim_run(path: str | Path) -> ScaleSimRun:
    """Read a SCALE-Sim ``.cfg`` file strictly (see :func:`parse_scalesim_run`)."""
    path = Path(path)
    return parse_scalesim_run(read_text_file(path, "SCALE-Sim config"), label=path.name)


def read_scalesim_cfg(path: str | Path) -> ArrayConfig:
    """Read a SCALE-Sim ``.cfg`` file (see the module docstring)."""
    path = Path(path)
    return parse_scalesim_cfg(read_text_file(path, "SCALE-Sim config"), label=path.name)


def parse_array_toml(text: str, *, label: str) -> ArrayConfig:
    """An `ArrayConfig` from the text of a TOML file with an ``[array]`` table.

    Raises
    ------
    ConfigError
        One line naming `label` and the key (TOML syntax errors also give the line).
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{label}: invalid TOML: {error}") from None
    table = document.get("array")
    if not isinstance(table, dict):
        raise ConfigError(f"{label}: missing [array] table; allowed keys: {', '.join(ARRAY_TOML_KEYS)}")
    for key in table:
        if key not in ARRAY_TOML_KEYS:
            raise ConfigError(f"{label}: array.{key}: unknown key; allowed: {', '.join(ARRAY_TOML_KEYS)}")
    for key in ("rows", "cols"):
        if key not in table:
            raise ConfigError(f"{label}: array.{key}: missing")
    try:
        return ArrayConfig(**table)
    except ArrayConfigError as error:
        raise ConfigError(f"{label}: array.{error.field}: {error.detail}") from None


def read_array_toml(path: str | Path) -> ArrayConfig:
    """Read a vscale TOML array configuration (see the module docstring)."""
    path = Path(path)
    return parse_array_toml(read_text_file(path, "TOML config"), label=path.name)


def load_array_config(path: str | Path) -> ArrayConfig:
    """Read a ``.cfg`` (SCALE-Sim) or ``.toml`` (vscale) array configuration.

    Raises
    ------
    ConfigError
        For another suffix, or a missing or malformed file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".cfg":
        return read_scalesim_cfg(path)
    if suffix == ".toml":
        return read_array_toml(path)
    raise ConfigError(f"config_file: expected a .cfg (SCALE-Sim) or .toml (vscale) file, got {str(path)!r}")


def parse_array_shape(text: str, *, option: str = "array") -> tuple[int, int]:
    """An array shape ``"RxC"`` (``x`` or ``X``) as ``(R, C)``.

    Raises
    ------
    ConfigError
        ``<option>: expected ROWSxCOLS with positive integers, e.g. 256x256, got '...'``.
    """
    parts = text.strip().lower().split("x")
    try:
        rows, cols = (int(part) for part in parts)
    except ValueError:
        rows = cols = 0
    if len(parts) != 2 or rows <= 0 or cols <= 0:
        raise ConfigError(f"{option}: expected ROWSxCOLS with positive integers, e.g. 256x256, got {text!r}")
    return rows, cols


def parse_bandwidth(text: str, *, option: str = "bandwidth") -> float | None:
    """A bandwidth option in words per cycle: a positive number, or ``unlimited``."""
    if text.strip().lower() == "unlimited":
        return None
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0.0 or value == float("inf"):
        raise ConfigError(f"{option}: expected a positive number of words per cycle or 'unlimited', got {text!r}")
    return int(value) if value.is_integer() else value


def parse_sram_kib(value: object, *, option: str = "sram_kib") -> tuple[int, int, int]:
    """SRAM buffer sizes in KiB: one size for all three buffers or ``IFMAP,FILTER,OFMAP``.

    Accepts ``"64"``, ``"64,64,32"``, an int, or a sequence of three ints.

    Raises
    ------
    ConfigError
        ``<option>: expected a positive integer number of KiB or three (IFMAP,FILTER,OFMAP), got ...``.
    """
    items: list[object]
    if isinstance(value, str):
        items = [item.strip() for item in value.split(",")]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        items = [value]
    sizes: list[int] = []
    for item in items:
        number = 0
        if isinstance(item, int) and not isinstance(item, bool):
            number = item
        elif isinstance(item, str) and item.strip().isdigit():
            number = int(item)
        sizes.append(number)
    if len(sizes) not in (1, 3) or any(size <= 0 for size in sizes):
        raise ConfigError(
            f"{option}: expected a positive integer number of KiB or three (IFMAP,FILTER,OFMAP), got {value!r}"
        )
    if len(sizes) == 1:
        return sizes[0], sizes[0], sizes[0]
    return sizes[0], sizes[1], sizes[2]


def with_sram_kib(config: ArrayConfig, sizes: tuple[int, int, int] | None) -> ArrayConfig:
    """`config` with its three buffer sizes replaced (unchanged for ``None``)."""
    if sizes is None:
        return config
    return dataclasses.replace(config, ifmap_sram_kib=sizes[0], filter_sram_kib=sizes[1], ofmap_sram_kib=sizes[2])


def resolve_array_config(
    *,
    config_file: str | Path | None = None,
    array: str | None = None,
    dataflow: str | None = None,
    bandwidth: str | None = None,
) -> ArrayConfig:
    """The array configuration of a command: defaults, then the config file, then options.

    Parameters
    ----------
    config_file : path or None
        A ``.cfg`` or ``.toml`` file (:func:`load_array_config`); without it the
        `ArrayConfig` defaults apply with a 256 x 256 array.
    array, dataflow, bandwidth : str or None
        Command-line values (``RxC``, ``ws|os|is``, words per cycle or ``unlimited``);
        ``None`` keeps the value from the file or the default.
    """
    if config_file is not None:
        config = load_array_config(config_file)
    else:
        config = ArrayConfig(rows=256, cols=256)
    changes: dict[str, Any] = {}
    if array is not None:
        changes["rows"], changes["cols"] = parse_array_shape(array)
    if dataflow is not None:
        if dataflow not in DATAFLOWS:
            raise ConfigError(f"dataflow: expected one of {', '.join(DATAFLOWS)}, got {dataflow!r}")
        changes["dataflow"] = dataflow
    if bandwidth is not None:
        changes["dram_bandwidth_words_per_cycle"] = parse_bandwidth(bandwidth)
    return dataclasses.replace(config, **changes)
