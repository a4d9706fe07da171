"""Liberty (.lib) files: write one per voltage corner, read several back into a cell library.

Writer: :func:`write_liberty` renders one corner of a
:class:`~pe_models.liberty.CellLibraryData` as a Liberty library (NLDM ``cell_rise``,
``cell_fall``, ``rise_transition``, ``fall_transition``; ``internal_power`` with
``rise_power``/``fall_power``; ``cell_leakage_power`` and per-state ``leakage_power``;
pin ``capacitance``; the flip-flop's ``ff`` group, ``rising_edge`` clock-to-Q arcs and
``setup_rising``/``hold_rising`` checks). Units are declared: ps, V, uA, nW, fF, kOhm;
internal energies are in fJ (capacitance unit x voltage unit squared).

Reader: :func:`read_liberty_corners` parses Liberty files with a strict reader (every
error names the file, the line and the field), maps each library cell onto a cell
function of :mod:`pe_models.cell_catalogue` by the truth table of its output's
``function`` attribute (any pin names and order; the smallest-area cell of a function
wins), and builds one :class:`~pe_models.liberty.CellLibraryData` whose corners are the
files' ``nom_voltage``. We use our own reader rather than a package from the registry
because the semantic checks (units, thresholds, monotone tables, missing arcs) must
point at a line, which the parsers we looked at do not keep.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

import numpy as np

from pe_models.cell_catalogue import CELL_SPECS, FLIP_FLOP, RAZOR_FLOP
from pe_models.errors import ConfigError
from pe_models.liberty import (
    EDGES,
    SHIPPED_LIBRARIES,
    CellData,
    CellLibraryData,
    NldmTable,
    ScaledCellLibrary,
    arc_sense,
    load_cell_library,
    reasoned_cell_library,
    shipped_cell_library,
)

__all__ = [
    "LibertyGroup",
    "corner_file_name",
    "parse_liberty",
    "read_liberty_corners",
    "resolve_cell_library",
    "write_liberty",
]


# -- writer -----------------------------------------------------------------------------


def corner_file_name(name: str, vdd_v: float) -> str:
    """``ptm-32nm-hp_0p90v.lib`` for `name` at 0.9 V."""
    return f"{name}_{vdd_v:.2f}".replace(".", "p") + "v.lib"


def _identifier(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def _numbers(values: Sequence[float] | np.ndarray | range) -> str:
    return ", ".join(f"{float(v):.6g}" for v in values)


def _table(lines: list[str], indent: str, kind: str, template: str, table: NldmTable, values: np.ndarray) -> None:
    lines.append(f"{indent}{kind} ({template}) {{")
    lines.append(f'{indent}  index_1 ("{_numbers(table.slew_ps)}") ;')
    lines.append(f'{indent}  index_2 ("{_numbers(table.load_ff)}") ;')
    rows = ", \\\n".join(f'{indent}    "{_numbers(row)}"' for row in values)
    lines.append(f"{indent}  values ( \\\n{rows} \\\n{indent}  ) ;")
    lines.append(f"{indent}}}")


def _scalar(lines: list[str], indent: str, kind: str, value: float) -> None:
    lines.append(f'{indent}{kind} (scalar) {{ values ("{float(value):.6g}") ; }}')


def _liberty_when(pins: Sequence[str], state: str) -> str:
    return " & ".join(pin if bit == "1" else f"!{pin}" for pin, bit in zip(pins, state, strict=True))


def write_liberty(library: CellLibraryData, corner: int) -> str:
    """Liberty text of corner `corner` (index into ``library.vdd_v``)."""
    vdd = float(library.vdd_v[corner])
    lib_name = _identifier(f"{library.name}_{vdd:.2f}v")
    shapes: dict[tuple[int, int], None] = {}
    for data in _written_cells(library).values():
        for tables in data.arcs.values():
            for per_corner in tables.values():
                table = per_corner[corner]
                shapes.setdefault((table.slew_ps.size, table.load_ff.size), None)
    lines = [
        f"/* {library.describe()} */",
        f"/* regenerate: {library.command} */" if library.command else "/* written by vscale */",
        f"library ({lib_name}) {{",
        "  delay_model : table_lookup ;",
        "  technology (cmos) ;",
        '  time_unit : "1ps" ;',
        '  voltage_unit : "1V" ;',
        '  current_unit : "1uA" ;',
        '  leakage_power_unit : "1nW" ;',
        "  capacitive_load_unit (1, ff) ;",
        '  pulling_resistance_unit : "1kohm" ;',
        f"  nom_voltage : {vdd:.6g} ;",
        f"  nom_temperature : {library.temperature_c:.6g} ;",
        "  nom_process : 1 ;",
        f"  operating_conditions (typical_{lib_name}) {{",
        "    process : 1 ;",
        f"    voltage : {vdd:.6g} ;",
        f"    temperature : {library.temperature_c:.6g} ;",
        "  }",
        f"  default_operating_conditions : typical_{lib_name} ;",
        "  input_threshold_pct_rise : 50 ;",
        "  input_threshold_pct_fall : 50 ;",
        "  output_threshold_pct_rise : 50 ;",
        "  output_threshold_pct_fall : 50 ;",
        "  slew_lower_threshold_pct_rise : 10 ;",
        "  slew_upper_threshold_pct_rise : 90 ;",
        "  slew_lower_threshold_pct_fall : 10 ;",
        "  slew_upper_threshold_pct_fall : 90 ;",
        "  slew_derate_from_library : 1 ;",
        "  default_cell_leakage_power : 0 ;",
        "  default_fanout_load : 1 ;",
        "  default_inout_pin_cap : 1 ;",
        "  default_input_pin_cap : 1 ;",
        "  default_output_pin_cap : 0 ;",
        f"  default_max_transition : {_max_transition(library, corner):.6g} ;",
    ]
    for n_slew, n_load in shapes:
        lines += [
            f"  lu_table_template (delay_{n_slew}x{n_load}) {{",
            "    variable_1 : input_net_transition ;",
            "    variable_2 : total_output_net_capacitance ;",
            f'    index_1 ("{_numbers(range(1, n_slew + 1))}") ;',
            f'    index_2 ("{_numbers(range(1, n_load + 1))}") ;',
            "  }",
            f"  power_lut_template (energy_{n_slew}x{n_load}) {{",
            "    variable_1 : input_transition_time ;",
            "    variable_2 : total_output_net_capacitance ;",
            f'    index_1 ("{_numbers(range(1, n_slew + 1))}") ;',
            f'    index_2 ("{_numbers(range(1, n_load + 1))}") ;',
            "  }",
        ]
    for name, data in _written_cells(library).items():
        lines += _cell_lines(library, name, data, corner, vdd)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _written_cells(library: CellLibraryData) -> dict[str, CellData]:
    """The library's cells, then the Razor flip-flop (cell ``razor_dff``) when it has one."""
    cells = dict(library.cells_data)
    if library.razor_flop is not None:
        cells[RAZOR_FLOP] = library.razor_flop
    return cells


def _max_transition(library: CellLibraryData, corner: int) -> float:
    largest = 0.0
    for data in _written_cells(library).values():
        for tables in data.arcs.values():
            largest = max(largest, float(np.max(tables["transition_ps"][corner].values)))
    return largest


def _cell_lines(library: CellLibraryData, name: str, data: CellData, corner: int, vdd: float) -> list[str]:
    lines = [f"  cell ({name}) {{", f"    area : {data.area_um2:.6g} ;"]
    lines.append(f"    cell_leakage_power : {float(data.leakage_nw[corner]):.6g} ;")
    for state, values in data.leakage_states_nw.items():
        lines.append(
            f'    leakage_power () {{ when : "{_liberty_when(data.pins, state)}" ; '
            f"value : {float(values[corner]):.6g} ; }}"
        )
    flop = name in (FLIP_FLOP, RAZOR_FLOP)
    if flop:
        lines += [
            "    ff (IQ, IQN) {",
            f'      next_state : "{data.pins[0]}" ;',
            f'      clocked_on : "{data.pins[1]}" ;',
            "    }",
        ]
    max_load = max(float(t["delay_ps"][corner].load_ff[-1]) for t in data.arcs.values())
    for pin in data.pins:
        cap = float(data.capacitance_ff[pin][corner])
        lines += [f"    pin ({pin}) {{", "      direction : input ;", f"      capacitance : {cap:.6g} ;"]
        if flop and pin == data.pins[1]:
            lines.append("      clock : true ;")
            lines.append("      internal_power () {")
            for edge in EDGES:
                _scalar(lines, "        ", f"{edge}_power", float(data.pin_energy_fj[(pin, edge)][corner]))
            lines.append("      }")
        if flop and pin == data.pins[0]:
            for kind, constraint in (("setup_rising", data.setup_ps), ("hold_rising", data.hold_ps)):
                if not constraint:
                    continue
                lines += [
                    "      timing () {",
                    f'        related_pin : "{data.pins[1]}" ;',
                    f"        timing_type : {kind} ;",
                ]
                for edge in EDGES:
                    _scalar(lines, "        ", f"{edge}_constraint", float(constraint[edge][corner]))
                lines.append("      }")
            lines.append("      internal_power () {")
            for edge in EDGES:
                _scalar(lines, "        ", f"{edge}_power", float(data.pin_energy_fj[(pin, edge)][corner]))
            lines.append("      }")
        lines.append("    }")
    if name == RAZOR_FLOP:
        lines += _razor_extra_pins(library, corner)
    function = "IQ" if flop else data.function
    lines += [
        f"    pin ({data.output}) {{",
        "      direction : output ;",
        f'      function : "{function}" ;',
        f"      max_capacitance : {max_load:.6g} ;",
    ]
    related = sorted({pin for pin, _ in data.arcs}, key=data.pins.index)
    for pin in related:
        delay_tables = data.arcs[(pin, "rise")]["delay_ps"][corner]
        shape = f"{delay_tables.slew_ps.size}x{delay_tables.load_ff.size}"
        lines += ["      timing () {", f'        related_pin : "{pin}" ;']
        if flop:
            lines += ["        timing_type : rising_edge ;", "        timing_sense : non_unate ;"]
        else:
            lines += ["        timing_type : combinational ;", f"        timing_sense : {arc_sense(name, pin)} ;"]
        for edge, delay_kind, transition_kind in (
            ("rise", "cell_rise", "rise_transition"),
            ("fall", "cell_fall", "fall_transition"),
        ):
            tables = data.arcs[(pin, edge)]
            _table(
                lines,
                "        ",
                delay_kind,
                f"delay_{shape}",
                tables["delay_ps"][corner],
                tables["delay_ps"][corner].values,
            )
            _table(
                lines,
                "        ",
                transition_kind,
                f"delay_{shape}",
                tables["transition_ps"][corner],
                tables["transition_ps"][corner].values,
            )
        lines.append("      }")
        lines += ["      internal_power () {", f'        related_pin : "{pin}" ;']
        for edge in EDGES:
            table = data.arcs[(pin, edge)]["energy_fj"][corner]
            values = table.values - (table.load_ff[None, :] * vdd**2 if edge == "rise" else 0.0)
            _table(
                lines, "        ", f"{edge}_power", f"energy_{table.slew_ps.size}x{table.load_ff.size}", table, values
            )
        lines.append("      }")
    lines += ["    }", "  }"]
    return lines


def _razor_extra_pins(library: CellLibraryData, corner: int) -> list[str]:
    """The Razor flip-flop's restore input R and error output E (not characterised: R held at 0).

    R drives one NAND2 input and one inverter of the restore multiplexer: its capacitance is
    the library's NAND2 (mean of its pins) plus inverter input capacitance at the corner.
    E (Q xor the shadow latch) has no Boolean function of the pins and no timing arc.
    """
    nand2 = library.cells_data["nand2"].capacitance_ff
    restore = float(np.mean([values[corner] for values in nand2.values()]))
    restore += float(library.cells_data["inv"].capacitance_ff["A"][corner])
    return [
        "    pin (R) {",
        "      direction : input ;",
        f"      capacitance : {restore:.6g} ;",
        "    }",
        "    pin (E) {",
        "      direction : output ;",
        "    }",
    ]


# -- strict reader ----------------------------------------------------------------------


@dataclass
class LibertyAttribute:
    """``name : value ;`` (simple) or ``name (v1, v2, ...) ;`` (complex), with its line."""

    name: str
    values: list[str]
    line: int
    complex: bool


@dataclass
class LibertyGroup:
    """``name (args) { ... }`` with its attributes and subgroups, in file order."""

    name: str
    args: list[str]
    line: int
    attributes: list[LibertyAttribute] = field(default_factory=list)
    groups: list[LibertyGroup] = field(default_factory=list)

    def attribute(self, name: str) -> LibertyAttribute | None:
        for attribute in self.attributes:
            if attribute.name == name:
                return attribute
        return None

    def text(self, name: str) -> str | None:
        """The first value of attribute `name`, or None."""
        attribute = self.attribute(name)
        return attribute.values[0] if attribute is not None and attribute.values else None

    def subgroups(self, name: str) -> list[LibertyGroup]:
        return [group for group in self.groups if group.name == name]


_TOKEN = re.compile(
    r'"(?:[^"\\\n]|\\.)*"'  # quoted string (may hold escaped newlines)
    r"|[(){}:;,]"
    r"|[^\s(){}:;,\"]+",
    re.DOTALL,
)


def _tokens(text: str, path: str) -> Iterator[tuple[str, int]]:
    """(token, line) pairs; comments removed, backslash-newline continuations joined."""
    position = 0
    line = 1
    length = len(text)
    while position < length:
        char = text[position]
        if char == "\n":
            line += 1
            position += 1
            continue
        if char in " \t\r\f\v":
            position += 1
            continue
        if char == "\\" and text.startswith("\n", position + 1):
            line += 1
            position += 2
            continue
        if char == "\\" and text.startswith("\r\n", position + 1):
            line += 1
            position += 3
            continue
        if text.startswith("/*", position):
            end = text.find("*/", position + 2)
            if end < 0:
                raise ConfigError(f"{path}: line {line}: comment: /* is never closed")
            line += text.count("\n", position, end)
            position = end + 2
            continue
        if text.startswith("//", position):
            end = text.find("\n", position)
            position = length if end < 0 else end
            continue
        match = _TOKEN.match(text, position)
        if (
            match is None
            or (char == '"' and not match.group(0).endswith('"'))
            or (char == '"' and len(match.group(0)) < 2)
        ):
            raise ConfigError(f"{path}: line {line}: syntax: unterminated string")
        token = match.group(0)
        yield token, line
        line += token.count("\n")
        position = match.end()


def parse_liberty(text: str, path: str = "<liberty>") -> LibertyGroup:
    """Parse Liberty text into its top-level group (``library``).

    Raises
    ------
    ConfigError
        ``PATH: line N: syntax: ...`` on any syntax error.
    """
    tokens = list(_tokens(text, path))
    position = 0

    def peek() -> tuple[str, int]:
        return tokens[position] if position < len(tokens) else ("<end of file>", tokens[-1][1] if tokens else 1)

    def take(expected: str | None = None, what: str = "") -> tuple[str, int]:
        nonlocal position
        token, line = peek()
        if expected is not None and token != expected:
            raise ConfigError(f"{path}: line {line}: syntax: expected {expected!r}{what}, found {token!r}")
        if position >= len(tokens):
            raise ConfigError(f"{path}: line {line}: syntax: unexpected end of file{what}")
        position += 1
        return token, line

    def value_list(closing: str) -> list[str]:
        values: list[str] = []
        while True:
            token, line = peek()
            if token == closing:
                take()
                return values
            if token in "(){};:" and len(token) == 1:
                raise ConfigError(f"{path}: line {line}: syntax: unexpected {token!r} in a value list")
            values.append(_unquote(take()[0]))
            token, line = peek()
            if token == ",":
                take()
            elif token != closing:
                # Liberty allows values separated by white space only in some writers.
                continue

    def statements(group: LibertyGroup) -> None:
        while True:
            token, line = peek()
            if token == "}":
                take()
                return
            if token == "<end of file>":
                raise ConfigError(
                    f"{path}: line {line}: syntax: group {group.name} opened on line {group.line} is never closed"
                )
            name, line = take()
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_.]*$", name):
                raise ConfigError(f"{path}: line {line}: syntax: expected an attribute or group name, found {name!r}")
            token, _ = peek()
            if token == ":":
                take()
                parts = []
                while peek()[0] not in (";", "}", "<end of file>") and peek()[1] == line:
                    parts.append(_unquote(take()[0]))
                if not parts:
                    raise ConfigError(f"{path}: line {line}: {name}: missing value")
                if peek()[0] == ";":
                    take()
                group.attributes.append(LibertyAttribute(name, [" ".join(parts)], line, False))
            elif token == "(":
                take()
                args = value_list(")")
                token, _ = peek()
                if token == "{":
                    take()
                    child = LibertyGroup(name, args, line)
                    statements(child)
                    group.groups.append(child)
                else:
                    if token == ";":
                        take()
                    group.attributes.append(LibertyAttribute(name, args, line, True))
            else:
                raise ConfigError(f"{path}: line {line}: syntax: expected ':' or '(' after {name!r}, found {token!r}")

    root = LibertyGroup("<file>", [], 1)
    if not tokens:
        raise ConfigError(f"{path}: line 1: syntax: empty file")
    name, line = take()
    if name != "library":
        raise ConfigError(f"{path}: line {line}: syntax: expected 'library', found {name!r}")
    take("(", " after library")
    args = value_list(")")
    take("{", " to open the library group")
    library = LibertyGroup("library", args, line)
    statements(library)
    if position < len(tokens):
        token, line = peek()
        raise ConfigError(f"{path}: line {line}: syntax: unexpected {token!r} after the library group")
    root.groups.append(library)
    return library


def _unquote(token: str) -> str:
    if token.startswith('"') and token.endswith('"'):
        return re.sub(r"\\\r?\n", "", token[1:-1])
    return token


# -- Boolean functions ------------------------------------------------------------------


_Expression = tuple  # ("var", name) | ("const", bit) | ("not", e) | ("and" | "or" | "xor", e, e)


def _evaluate(node: _Expression, environment: dict[str, int]) -> int:
    kind = node[0]
    if kind == "var":
        return environment[node[1]]
    if kind == "const":
        return int(node[1])
    if kind == "not":
        return 1 - _evaluate(node[1], environment)
    left, right = _evaluate(node[1], environment), _evaluate(node[2], environment)
    if kind == "and":
        return left & right
    if kind == "or":
        return left | right
    return left ^ right


def _function(text: str, pins: Sequence[str], where: str) -> Callable[[dict[str, int]], int]:
    """Evaluate a Liberty Boolean expression; precedence ' and ! > ^ > & (and juxtaposition) > | +."""
    tokens = re.findall(r"[A-Za-z_][A-Za-z0-9_\[\].]*|[01]|[!'^&*|+()]", text)
    if "".join(tokens) != re.sub(r"\s+", "", text):
        raise ConfigError(f"{where}: function: cannot parse {text!r}")
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        position += 1
        return tokens[position - 1]

    def primary() -> _Expression:
        token = peek()
        if token is None:
            raise ConfigError(f"{where}: function: {text!r} ends early")
        take()
        node: _Expression
        if token == "!":
            node = ("not", primary())
        elif token == "(":
            node = disjunction()
            if peek() != ")":
                raise ConfigError(f"{where}: function: missing ')' in {text!r}")
            take()
        elif token in ("0", "1"):
            node = ("const", int(token))
        elif re.match(r"^[A-Za-z_]", token):
            if token not in pins:
                raise ConfigError(f"{where}: function: {token!r} is not an input pin ({', '.join(pins)})")
            node = ("var", token)
        else:
            raise ConfigError(f"{where}: function: unexpected {token!r} in {text!r}")
        while peek() == "'":
            take()
            node = ("not", node)
        return node

    def exclusive() -> _Expression:
        node = primary()
        while peek() == "^":
            take()
            node = ("xor", node, primary())
        return node

    def conjunction() -> _Expression:
        node = exclusive()
        while peek() in ("&", "*") or (peek() is not None and peek() not in (")", "|", "+", "'", "^")):
            if peek() in ("&", "*"):
                take()
            node = ("and", node, exclusive())
        return node

    def disjunction() -> _Expression:
        node = conjunction()
        while peek() in ("|", "+"):
            take()
            node = ("or", node, conjunction())
        return node

    tree = disjunction()
    if peek() is not None:
        raise ConfigError(f"{where}: function: unexpected {peek()!r} in {text!r}")

    def evaluate(environment: dict[str, int]) -> int:
        return _evaluate(tree, environment)

    return evaluate


def _match_function(
    inputs: Sequence[str], evaluate: Callable[[dict[str, int]], int]
) -> tuple[str, tuple[str, ...]] | None:
    """(catalogue cell, library pins in catalogue pin order) whose truth table `evaluate` has."""
    for spec in CELL_SPECS.values():
        if spec.name == FLIP_FLOP or len(spec.pins) != len(inputs):
            continue
        for order in itertools.permutations(inputs):
            if all(
                evaluate(dict(zip(order, bits, strict=True))) == spec.evaluate(*bits)
                for bits in itertools.product((0, 1), repeat=len(inputs))
            ):
                return spec.name, tuple(order)
    return None


# -- semantic reader --------------------------------------------------------------------

_TIME_UNITS = {"1ps": 1.0, "10ps": 10.0, "100ps": 100.0, "1ns": 1000.0, "1fs": 1e-3}
_LEAKAGE_UNITS = {"1pw": 1e-3, "1nw": 1.0, "1uw": 1e3, "1mw": 1e6, "1w": 1e9}
_VOLTAGE_UNITS = {"1v": 1.0, "1mv": 1e-3}
_CAP_UNITS = {"ff": 1.0, "pf": 1e3}


@dataclass
class _Units:
    time_ps: float
    cap_ff: float
    voltage_v: float
    leakage_nw: float
    transition_scale: float


@dataclass
class _Corner:
    path: str
    vdd_v: float
    temperature_c: float
    cells: dict[str, CellData]
    sources: dict[str, str]


def _number(path: str, attribute: LibertyAttribute | None, what: str, group: LibertyGroup) -> float:
    if attribute is None:
        raise ConfigError(f"{path}: line {group.line}: {what}: missing")
    try:
        value = float(attribute.values[0])
    except (ValueError, IndexError):
        raise ConfigError(
            f"{path}: line {attribute.line}: {what}: expected a number, got {attribute.values!r}"
        ) from None
    if not math.isfinite(value):
        raise ConfigError(f"{path}: line {attribute.line}: {what}: expected a finite number, got {value}")
    return value


def _units(path: str, library: LibertyGroup) -> _Units:
    def simple(name: str, table: dict[str, float], default: str | None) -> float:
        attribute = library.attribute(name)
        if attribute is None:
            if default is None:
                raise ConfigError(f"{path}: line {library.line}: {name}: missing (the unit must be declared)")
            return table[default]
        text = attribute.values[0].replace(" ", "").lower()
        if text not in table:
            raise ConfigError(
                f"{path}: line {attribute.line}: {name}: unknown unit {attribute.values[0]!r}; allowed: "
                + ", ".join(table)
            )
        return table[text]

    time_ps = simple("time_unit", {k.lower(): v for k, v in _TIME_UNITS.items()}, None)
    voltage = simple("voltage_unit", _VOLTAGE_UNITS, "1v")
    leakage = simple("leakage_power_unit", _LEAKAGE_UNITS, None)
    cap_attribute = library.attribute("capacitive_load_unit")
    if cap_attribute is None or not cap_attribute.complex or len(cap_attribute.values) != 2:
        line = cap_attribute.line if cap_attribute else library.line
        raise ConfigError(f"{path}: line {line}: capacitive_load_unit: missing or not (number, ff|pf)")
    try:
        scale = float(cap_attribute.values[0])
    except ValueError:
        raise ConfigError(
            f"{path}: line {cap_attribute.line}: capacitive_load_unit: {cap_attribute.values[0]!r} is not a number"
        ) from None
    unit = cap_attribute.values[1].lower()
    if unit not in _CAP_UNITS:
        raise ConfigError(
            f"{path}: line {cap_attribute.line}: capacitive_load_unit: unknown unit "
            f"{cap_attribute.values[1]!r}; allowed: ff, pf"
        )
    for name in (
        "input_threshold_pct_rise",
        "input_threshold_pct_fall",
        "output_threshold_pct_rise",
        "output_threshold_pct_fall",
    ):
        attribute = library.attribute(name)
        if attribute is not None and _number(path, attribute, name, library) != 50.0:
            raise ConfigError(
                f"{path}: line {attribute.line}: {name}: {attribute.values[0]}; allowed: 50 (delays are 50 %-50 %)"
            )
    derate = library.attribute("slew_derate_from_library")
    if derate is not None and _number(path, derate, "slew_derate_from_library", library) != 1.0:
        raise ConfigError(f"{path}: line {derate.line}: slew_derate_from_library: {derate.values[0]}; allowed: 1")
    spans = []
    for edge in EDGES:
        lower = library.attribute(f"slew_lower_threshold_pct_{edge}")
        upper = library.attribute(f"slew_upper_threshold_pct_{edge}")
        low = _number(path, lower, lower.name, library) if lower else 20.0
        high = _number(path, upper, upper.name, library) if upper else 80.0
        if not 0.0 <= low < high <= 100.0:
            raise ConfigError(
                f"{path}: line {library.line}: slew thresholds {low:g}/{high:g} % are not 0 <= lower < upper <= 100"
            )
        spans.append(high - low)
    if spans[0] != spans[1]:
        raise ConfigError(
            f"{path}: line {library.line}: slew thresholds: rising and falling spans differ "
            f"({spans[0]:g} and {spans[1]:g} %)"
        )
    return _Units(
        time_ps=time_ps,
        cap_ff=scale * _CAP_UNITS[unit],
        voltage_v=voltage,
        leakage_nw=leakage,
        transition_scale=80.0 / spans[0],
    )


def _axis(path: str, attribute: LibertyAttribute, what: str) -> np.ndarray:
    try:
        values = np.array([float(v) for text in attribute.values for v in text.replace(",", " ").split()])
    except ValueError:
        raise ConfigError(f"{path}: line {attribute.line}: {what}: not a list of numbers") from None
    if values.size == 0 or np.any(~np.isfinite(values)) or np.any(np.diff(values) <= 0):
        raise ConfigError(f"{path}: line {attribute.line}: {what}: expected increasing finite numbers")
    return values


@dataclass
class _Template:
    variables: tuple[str, ...]
    indices: tuple[np.ndarray, ...]


_SLEW_VARIABLES = ("input_net_transition", "input_transition_time", "related_pin_transition")
_LOAD_VARIABLES = ("total_output_net_capacitance",)


def _templates(path: str, library: LibertyGroup) -> dict[str, _Template]:
    templates = {"scalar": _Template((), ())}
    for kind in ("lu_table_template", "power_lut_template"):
        for group in library.subgroups(kind):
            name = group.args[0] if group.args else ""
            variables = []
            indices = []
            for k in (1, 2, 3):
                variable = group.attribute(f"variable_{k}")
                if variable is None:
                    break
                variables.append(variable.values[0])
                index = group.attribute(f"index_{k}")
                indices.append(_axis(path, index, f"{kind} {name} index_{k}") if index else np.array([]))
            templates[name] = _Template(tuple(variables), tuple(indices))
    return templates


def _nldm(
    path: str,
    group: LibertyGroup,
    templates: dict[str, _Template],
    units: _Units,
    value_scale: float,
    what: str,
    slew_scale: float,
) -> NldmTable:
    """A table group (``cell_rise (template) { index_1 ...; values (...); }``) as (slew ps, load fF) -> values."""
    template_name = group.args[0] if group.args else "scalar"
    if template_name not in templates:
        raise ConfigError(f"{path}: line {group.line}: {what}: unknown template {template_name!r}")
    template = templates[template_name]
    indices = list(template.indices)
    for k in range(len(template.variables)):
        override = group.attribute(f"index_{k + 1}")
        if override is not None:
            indices[k] = _axis(path, override, f"{what} index_{k + 1}")
    values_attribute = group.attribute("values")
    if values_attribute is None:
        raise ConfigError(f"{path}: line {group.line}: {what}: values: missing")
    try:
        rows = [[float(v) for v in row.replace(",", " ").split()] for row in values_attribute.values]
    except ValueError:
        raise ConfigError(f"{path}: line {values_attribute.line}: {what}: values: not numbers") from None
    slews = np.array([0.0])
    loads = np.array([0.0])
    shape = [len(index) for index in indices]
    matrix = np.array([v for row in rows for v in row], dtype=np.float64)
    if matrix.size != int(np.prod(shape)) or any(s == 0 for s in shape):
        raise ConfigError(
            f"{path}: line {values_attribute.line}: {what}: values: {matrix.size} numbers for a "
            f"{'x'.join(map(str, shape)) or '1'} table"
        )
    if np.any(~np.isfinite(matrix)):
        raise ConfigError(f"{path}: line {values_attribute.line}: {what}: values: not finite")
    matrix = matrix.reshape(shape) if shape else matrix.reshape(())
    order = []
    for variable in template.variables:
        if variable in _SLEW_VARIABLES:
            order.append("slew")
        elif variable in _LOAD_VARIABLES:
            order.append("load")
        else:
            raise ConfigError(
                f"{path}: line {group.line}: {what}: template variable {variable!r} is not supported; "
                f"allowed: {', '.join(_SLEW_VARIABLES + _LOAD_VARIABLES)}"
            )
    if "slew" in order:
        slews = indices[order.index("slew")] * units.time_ps * slew_scale
    if "load" in order:
        loads = indices[order.index("load")] * units.cap_ff
    if order == ["load", "slew"]:
        matrix = matrix.T
    matrix = matrix.reshape(slews.size, loads.size) * value_scale
    return NldmTable(slews, loads, matrix)


def _check_monotone(path: str, line: int, what: str, table: NldmTable) -> None:
    if table.load_ff.size > 1 and np.any(np.diff(table.values, axis=1) < 0):
        row = int(np.argwhere(np.diff(table.values, axis=1) < 0)[0][0])
        raise ConfigError(
            f"{path}: line {line}: {what}: values decrease with load in row {row + 1} (a delay or transition "
            f"table must not)"
        )


def _read_corner(path: str) -> _Corner:
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"technology: {path}: no such file")
    return _read_corner_cached(path, file.stat().st_mtime_ns)


@lru_cache(maxsize=32)
def _read_corner_cached(path: str, _mtime_ns: int) -> _Corner:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"technology: {path}: no such file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"technology: {path}: not a UTF-8 text file") from None
    except OSError as error:
        raise ConfigError(f"technology: {path}: cannot be read ({error.strerror})") from None
    library = parse_liberty(text, path)
    units = _units(path, library)
    vdd_attribute = library.attribute("nom_voltage")
    vdd = _number(path, vdd_attribute, "nom_voltage", library) * units.voltage_v
    temperature = _number(path, library.attribute("nom_temperature"), "nom_temperature", library)
    templates = _templates(path, library)
    time_to_ps = units.time_ps
    energy_to_fj = units.cap_ff * units.voltage_v**2
    candidates: dict[str, tuple[float, CellData, str]] = {}
    for cell_group in library.subgroups("cell"):
        cell_name = cell_group.args[0] if cell_group.args else "?"
        mapped = _map_cell(path, cell_group, cell_name)
        if mapped is None:
            continue
        function, pin_map, output = mapped
        where = f"{path}: cell {cell_name}"
        area_attribute = cell_group.attribute("area")
        area = _number(path, area_attribute, f"cell {cell_name} area", cell_group) if area_attribute else 0.0
        data = _cell_data(
            path,
            cell_group,
            cell_name,
            function,
            pin_map,
            output,
            templates,
            units,
            time_to_ps,
            energy_to_fj,
            vdd,
            area,
        )
        del where
        previous = candidates.get(function)
        if previous is None or area < previous[0]:
            candidates[function] = (area, data, cell_name)
    return _Corner(
        path=path,
        vdd_v=vdd,
        temperature_c=temperature,
        cells={function: data for function, (_, data, _) in candidates.items()},
        sources={function: name for function, (_, _, name) in candidates.items()},
    )


def _map_cell(path: str, cell: LibertyGroup, cell_name: str) -> tuple[str, tuple[str, ...], str] | None:
    pins = [pin for pin in cell.subgroups("pin")]
    for bus in cell.subgroups("bus"):
        pins += bus.subgroups("pin")
    inputs = [p.args[0] for p in pins if p.attribute("direction") and p.attribute("direction").values[0] == "input"]  # type: ignore[union-attr]
    outputs = [p for p in pins if p.attribute("direction") and p.attribute("direction").values[0] == "output"]  # type: ignore[union-attr]
    if len(outputs) != 1:
        return None
    output = outputs[0]
    function_attribute = output.attribute("function")
    if function_attribute is None:
        return None
    ff = cell.subgroups("ff")
    if ff:
        next_state = ff[0].attribute("next_state")
        clocked_on = ff[0].attribute("clocked_on")
        variable = ff[0].args[0] if ff[0].args else ""
        if (
            next_state is None
            or clocked_on is None
            or len(inputs) != 2
            or function_attribute.values[0].strip() != variable
            or next_state.values[0].strip() not in inputs
            or clocked_on.values[0].strip() not in inputs
            or next_state.values[0].strip() == clocked_on.values[0].strip()
        ):
            return None
        return FLIP_FLOP, (next_state.values[0].strip(), clocked_on.values[0].strip()), output.args[0]
    if cell.subgroups("latch") or cell.subgroups("statetable"):
        return None
    where = f"{path}: line {function_attribute.line}: cell {cell_name} pin {output.args[0]}"
    evaluate = _function(function_attribute.values[0], inputs, where)
    match = _match_function(inputs, evaluate)
    if match is None:
        return None
    return match[0], match[1], output.args[0]


def _cell_data(
    path: str,
    cell: LibertyGroup,
    cell_name: str,
    function: str,
    pin_map: tuple[str, ...],
    output_name: str,
    templates: dict[str, _Template],
    units: _Units,
    time_to_ps: float,
    energy_to_fj: float,
    vdd: float,
    area: float,
) -> CellData:
    spec = CELL_SPECS[function]
    library_pin = dict(zip(spec.pins, pin_map, strict=True))
    pins = {p.args[0]: p for p in cell.subgroups("pin")}
    output = pins[output_name]
    capacitance = {}
    for pin in spec.pins:
        group = pins.get(library_pin[pin])
        attribute = group.attribute("capacitance") if group else None
        if attribute is None and group is not None:
            rise = group.attribute("rise_capacitance")
            fall = group.attribute("fall_capacitance")
            if rise is not None and fall is not None:
                value = 0.5 * (
                    _number(path, rise, "rise_capacitance", group) + _number(path, fall, "fall_capacitance", group)
                )
                capacitance[pin] = np.array([value * units.cap_ff])
                continue
        if group is None or attribute is None:
            raise ConfigError(
                f"{path}: line {(group or cell).line}: cell {cell_name} pin {library_pin[pin]}: capacitance: missing"
            )
        capacitance[pin] = np.array([_number(path, attribute, "capacitance", group) * units.cap_ff])
    leakage_attribute = cell.attribute("cell_leakage_power")
    states: dict[str, np.ndarray] = {}
    flop = function == FLIP_FLOP
    for group in cell.subgroups("leakage_power") if not flop else []:
        when = group.attribute("when")
        value_attribute = group.attribute("value")
        if when is None or value_attribute is None:
            continue
        names = [*pin_map, output_name]
        where = f"{path}: line {when.line}: cell {cell_name} leakage_power when"
        condition = _function(when.values[0], names, where)
        for bits in itertools.product((0, 1), repeat=len(pin_map)):
            environment = dict(zip(pin_map, bits, strict=True))
            environment[output_name] = spec.evaluate(*bits)
            if condition(environment):
                states["".join(map(str, bits))] = np.array(
                    [_number(path, value_attribute, "leakage_power value", group) * units.leakage_nw]
                )
    group_values = [
        _number(path, group.attribute("value"), "leakage_power value", group) * units.leakage_nw
        for group in cell.subgroups("leakage_power")
        if group.attribute("value") is not None
    ]
    if leakage_attribute is not None:
        leakage = _number(path, leakage_attribute, "cell_leakage_power", cell) * units.leakage_nw
    elif states:
        leakage = float(np.mean([v[0] for v in states.values()]))
    elif group_values:
        leakage = float(np.mean(group_values))
    else:
        raise ConfigError(f"{path}: line {cell.line}: cell {cell_name}: cell_leakage_power: missing")
    arcs_pins = (spec.pins[1],) if flop else spec.pins
    arcs: dict[tuple[str, str], dict[str, tuple[NldmTable, ...]]] = {}
    timing_groups = output.subgroups("timing")
    power_groups = output.subgroups("internal_power")
    for pin in arcs_pins:
        name = library_pin[pin]
        timings = [g for g in timing_groups if name in (g.text("related_pin") or "").split()]
        powers = [g for g in power_groups if name in (g.text("related_pin") or "").split()]
        where = f"cell {cell_name} pin {output_name} related_pin {name}"
        if not timings:
            raise ConfigError(f"{path}: line {output.line}: {where}: timing: missing")
        for edge, delay_kind, transition_kind in (
            ("rise", "cell_rise", "rise_transition"),
            ("fall", "cell_fall", "fall_transition"),
        ):
            quantities: dict[str, list[NldmTable]] = {"delay_ps": [], "transition_ps": [], "energy_fj": []}
            for timing in timings:
                for kind, quantity, scale, slew_scale in (
                    (delay_kind, "delay_ps", time_to_ps, units.transition_scale),
                    (transition_kind, "transition_ps", time_to_ps * units.transition_scale, units.transition_scale),
                ):
                    groups = timing.subgroups(kind)
                    if not groups:
                        continue
                    table = _nldm(path, groups[0], templates, units, scale, f"{where} {kind}", slew_scale)
                    values_line = groups[0].attribute("values").line  # type: ignore[union-attr]
                    _check_monotone(path, values_line, f"{where} {kind}", table)
                    quantities[quantity].append(table)
            for power in powers:
                groups = power.subgroups(f"{edge}_power")
                if groups:
                    table = _nldm(
                        path, groups[0], templates, units, energy_to_fj, f"{where} {edge}_power", units.transition_scale
                    )
                    if edge == "rise":
                        table = NldmTable(table.slew_ps, table.load_ff, table.values + table.load_ff[None, :] * vdd**2)
                    quantities["energy_fj"].append(table)
            for quantity, kind in (
                ("delay_ps", delay_kind),
                ("transition_ps", transition_kind),
                ("energy_fj", f"{edge}_power"),
            ):
                if not quantities[quantity]:
                    line = (powers[0] if quantity == "energy_fj" and powers else timings[0]).line
                    raise ConfigError(f"{path}: line {line}: {where}: {kind}: missing")
            arcs[(pin, edge)] = {quantity: (_worst(tables),) for quantity, tables in quantities.items()}
    setup: dict[str, np.ndarray] = {}
    hold: dict[str, np.ndarray] = {}
    pin_energy: dict[tuple[str, str], np.ndarray] = {}
    if flop:
        d_group = pins[library_pin["D"]]
        for kind, target in (("setup_rising", setup), ("hold_rising", hold)):
            checks = [g for g in d_group.subgroups("timing") if g.text("timing_type") == kind]
            if not checks:
                raise ConfigError(
                    f"{path}: line {d_group.line}: cell {cell_name} pin {library_pin['D']}: timing {kind}: missing"
                )
            for edge in EDGES:
                groups = checks[0].subgroups(f"{edge}_constraint")
                if not groups:
                    raise ConfigError(
                        f"{path}: line {checks[0].line}: cell {cell_name} {kind}: {edge}_constraint: missing"
                    )
                target[edge] = np.array([_constraint(path, groups[0], templates, units)])
        for pin in ("CK", "D"):
            group = pins[library_pin[pin]]
            for power in group.subgroups("internal_power"):
                for edge in EDGES:
                    for table_group in power.subgroups(f"{edge}_power"):
                        table = _nldm(
                            path,
                            table_group,
                            templates,
                            units,
                            energy_to_fj,
                            f"cell {cell_name} pin {pin} {edge}_power",
                            units.transition_scale,
                        )
                        pin_energy[(pin, edge)] = np.array([float(np.mean(table.values))])
    return CellData(
        name=function,
        pins=spec.pins,
        output=spec.output,
        function=spec.liberty_function,
        area_um2=area,
        arcs=MappingProxyType({k: MappingProxyType(v) for k, v in arcs.items()}),
        capacitance_ff=MappingProxyType(capacitance),
        leakage_nw=np.array([leakage]),
        leakage_states_nw=MappingProxyType(states),
        setup_ps=MappingProxyType(setup),
        hold_ps=MappingProxyType(hold),
        pin_energy_fj=MappingProxyType(pin_energy),
    )


def _constraint(path: str, group: LibertyGroup, templates: dict[str, _Template], units: _Units) -> float:
    """A setup/hold constraint table reduced to its value at the smallest transitions (ps)."""
    template_name = group.args[0] if group.args else "scalar"
    values = group.attribute("values")
    if values is None:
        raise ConfigError(f"{path}: line {group.line}: {group.name}: values: missing")
    try:
        numbers = [float(v) for row in values.values for v in row.replace(",", " ").split()]
    except ValueError:
        raise ConfigError(f"{path}: line {values.line}: {group.name}: values: not numbers") from None
    if not numbers or template_name not in templates:
        raise ConfigError(f"{path}: line {group.line}: {group.name}: empty table or unknown template {template_name!r}")
    return numbers[0] * units.time_ps


def _worst(tables: Sequence[NldmTable]) -> NldmTable:
    """Several conditional arcs of one pin and edge: the largest value at each point of the first's axes."""
    first = tables[0]
    if len(tables) == 1:
        return first
    slew, load = np.meshgrid(first.slew_ps, first.load_ff, indexing="ij")
    values = np.max(np.stack([t.at(slew, load) for t in tables]), axis=0)
    return NldmTable(first.slew_ps, first.load_ff, values)


def _merge(first: _Corner, second: _Corner) -> _Corner:
    """Two files of one corner (libraries split by cell family): the union, smallest area per function."""
    if abs(first.temperature_c - second.temperature_c) > 1e-9:
        raise ConfigError(
            f"technology: {second.path}: nom_temperature: {second.temperature_c:g} C differs from "
            f"{first.path} ({first.temperature_c:g} C) at the same nom_voltage"
        )
    cells = dict(first.cells)
    sources = dict(first.sources)
    for function, data in second.cells.items():
        if function not in cells or data.area_um2 < cells[function].area_um2:
            cells[function] = data
            sources[function] = second.sources[function]
    return _Corner(
        path=f"{first.path}+{second.path}",
        vdd_v=first.vdd_v,
        temperature_c=first.temperature_c,
        cells=cells,
        sources=sources,
    )


def read_liberty_corners(paths: Sequence[str | Path], *, name: str | None = None) -> CellLibraryData:
    """One cell library from Liberty files at several voltage corners.

    Parameters
    ----------
    paths : sequence of path
        Liberty libraries; the corner of each is its ``nom_voltage``. Several files of
        one corner (a library split by cell family) are merged, the smallest-area cell
        of each function kept.
    name : str, optional
        Library name (default: the first file's stem).

    Raises
    ------
    ConfigError
        A syntax or semantic error (file, line, field), files at different
        temperatures, or a cell function missing from some corner.
    """
    if not paths:
        raise ConfigError("technology: no Liberty files given")
    files = sorted((_read_corner(str(path)) for path in paths), key=lambda corner: corner.vdd_v)
    corners: list[_Corner] = []
    for corner in files:
        if corners and abs(corners[-1].vdd_v - corner.vdd_v) < 1e-9:
            corners[-1] = _merge(corners[-1], corner)
        else:
            corners.append(corner)
    temperatures = {corner.temperature_c for corner in corners}
    if len(temperatures) > 1:
        raise ConfigError(
            f"technology: {corners[-1].path}: nom_temperature: {corners[-1].temperature_c:g} C differs from "
            f"{corners[0].path} ({corners[0].temperature_c:g} C); all corners must be at one temperature"
        )
    functions = [f for f in CELL_SPECS if any(f in corner.cells for corner in corners)]
    cells = {}
    for function in functions:
        for corner in corners:
            if function not in corner.cells:
                raise ConfigError(
                    f"technology: {corner.path}: has no {function} cell "
                    f"(function {CELL_SPECS[function].liberty_function}), which another corner has"
                )
        per_corner = [corner.cells[function] for corner in corners]
        first = per_corner[0]
        arcs = {
            key: MappingProxyType(
                {quantity: tuple(data.arcs[key][quantity][0] for data in per_corner) for quantity in first.arcs[key]}
            )
            for key in first.arcs
        }
        cells[function] = CellData(
            name=function,
            pins=first.pins,
            output=first.output,
            function=first.function,
            area_um2=first.area_um2,
            arcs=MappingProxyType(arcs),
            capacitance_ff=MappingProxyType(
                {p: np.concatenate([d.capacitance_ff[p] for d in per_corner]) for p in first.pins}
            ),
            leakage_nw=np.concatenate([d.leakage_nw for d in per_corner]),
            leakage_states_nw=MappingProxyType(
                {
                    s: np.concatenate([d.leakage_states_nw[s] for d in per_corner])
                    for s in first.leakage_states_nw
                    if all(s in d.leakage_states_nw for d in per_corner)
                }
            ),
            setup_ps=MappingProxyType({e: np.concatenate([d.setup_ps[e] for d in per_corner]) for e in first.setup_ps}),
            hold_ps=MappingProxyType({e: np.concatenate([d.hold_ps[e] for d in per_corner]) for e in first.hold_ps}),
            pin_energy_fj=MappingProxyType(
                {
                    k: np.concatenate([d.pin_energy_fj[k] for d in per_corner])
                    for k in first.pin_energy_fj
                    if all(k in d.pin_energy_fj for d in per_corner)
                }
            ),
        )
    names = ", ".join(Path(str(path)).name for path in paths)
    return CellLibraryData(
        name=name or Path(str(paths[0])).stem,
        vdd_v=[corner.vdd_v for corner in corners],
        cells=cells,
        temperature_c=corners[0].temperature_c,
        source=f"Liberty files {names}",
    )


def resolve_cell_library(technology: object) -> CellLibraryData | ScaledCellLibrary:
    """The cell library of a ``--technology`` value.

    Parameters
    ----------
    technology : str, path, CellLibraryData or ScaledCellLibrary
        A preset name (its characterised library where one is shipped, else the scaled
        library of its reasoned delays), a ``FILE.cells.json`` compact table, or Liberty
        files (``a.lib,b.lib,...`` or a sequence of paths), one or more per corner.

    Raises
    ------
    ConfigError
        Unknown name, a file that does not load (file, line, field).
    """
    from pe_models.technology import TECHNOLOGIES

    if isinstance(technology, CellLibraryData | ScaledCellLibrary):
        return technology
    characterised = getattr(technology, "cell_library", None)
    if isinstance(characterised, CellLibraryData):
        return characterised
    if isinstance(technology, list | tuple):
        return read_liberty_corners([str(p) for p in technology])
    text = str(technology)
    if text in SHIPPED_LIBRARIES:
        return shipped_cell_library(text)
    if text in TECHNOLOGIES:
        characterised = getattr(TECHNOLOGIES[text], "cell_library", None)
        return characterised if isinstance(characterised, CellLibraryData) else reasoned_cell_library(text)
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if parts and all(part.lower().endswith(".lib") for part in parts):
        return read_liberty_corners(parts)
    if len(parts) == 1 and parts[0].lower().endswith(".json"):
        return load_cell_library(parts[0])
    allowed = ", ".join(sorted(TECHNOLOGIES))
    raise ConfigError(
        f"technology: {text!r} is not a cell library; allowed: {allowed}, FILE.cells.json, A.lib,B.lib,..."
    )
