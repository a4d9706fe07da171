"""Standard-cell libraries: which logic cells a PE is built from and their delays.

Two libraries, each with per-cell-type delays in ps at the technology's nominal VDD:

``2in``
    2-input cells only (XOR2, AND2, OR2, NAND2). A full adder is
    ``p = a ^ b, s = p ^ ci, g = a & b, t = p & ci, co = g | t``.
``compound``
    the 2-input cells plus compound cells; a full adder is one ``XOR3`` (sum) and one
    ``MAJ3`` (carry), and the Kogge-Stone prefix operator uses ``AO21`` (``a & b | c``).

The default delays are ours, chosen for a ~28 nm-class bulk library at 0.9 V: a
fan-out-of-4 inverter delay of roughly 12-15 ps (Ho, Mai and Horowitz, "The future of
wires", Proc. IEEE 2001: FO4 ~ 0.36-0.5 ps per nm of drawn gate length) and the usual
logical-effort ratios (Sutherland, Sproull and Harris, *Logical Effort*, 1999): NAND2
~0.7 FO4, AND2/OR2 (NAND/NOR + inverter) ~1.1 FO4, XOR2 ~1.7 FO4, MAJ3 ~1.6 FO4,
XOR3 ~2.4 FO4, AO21 ~1.4 FO4, BUF (two inverters of ~0.5 FO4 each) ~1 FO4, flip-flop
setup ~2 FO4 and hold ~0.7 FO4. Every delay can be overridden
(``--cell-delays xor2=30,and2=20``).

Pins and edges: every input of a cell is a named pin (:data:`CELL_PINS`, in the order of
the cell function's arguments) and every timing arc is one input pin to the output for
one output edge (:data:`EDGES`). A :class:`DelaySource` gives the delay of every arc at
one supply voltage, for a given output load and input slew; :class:`ReasonedDelays` is
the one-delay-per-cell-type source of the two libraries above (every pin and edge of a
cell type the same, no load or slew dependence), scaled by a technology's delay scale;
:class:`LibraryDelays` reads a characterised library (NLDM tables over VDD, load and
slew, :mod:`pe_models.liberty`) at one VDD.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from pe_models.errors import ConfigError

__all__ = [
    "CELL_FUNCTIONS",
    "CELL_LIBRARIES",
    "CELL_PINS",
    "CELL_TYPES",
    "EDGES",
    "EDGE_FALL",
    "EDGE_RISE",
    "MAX_PINS",
    "CellLibrary",
    "CharacterisedLibrary",
    "DelaySource",
    "LibraryDelays",
    "ReasonedDelays",
    "ScaledDelays",
    "get_cell_library",
    "parse_cell_delays",
]

CELL_FUNCTIONS: Mapping[str, int] = MappingProxyType(
    {"xor2": 2, "and2": 2, "or2": 2, "nand2": 2, "xor3": 3, "maj3": 3, "ao21": 3, "buf": 1}
)
"""Cell type -> number of inputs. ``ao21(a, b, c) = (a & b) | c``; ``buf(a) = a`` (two
inverters: the hold-fix delay cell of :mod:`pe_models.razor`)."""

CELL_TYPES: tuple[str, ...] = tuple(CELL_FUNCTIONS)

CELL_PINS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {cell: ("a", "b", "c")[:arity] for cell, arity in CELL_FUNCTIONS.items()}
)
"""Cell type -> input pin names in the order of the cell function's arguments (``ao21``:
``a``, ``b`` are the AND inputs, ``c`` the OR input). A netlist cell's k-th input net
drives pin ``CELL_PINS[kind][k]``; a Liberty library's pins map by the same position
(``A``, ``B``, ``C`` in the characterised library)."""

MAX_PINS = 3
"""Most input pins of any cell type (the pin axis of per-instance delay arrays)."""

EDGE_FALL = 0
EDGE_RISE = 1
EDGES: tuple[str, str] = ("fall", "rise")
"""Output edges by index: the index is the output value after the transition."""

_TWO_INPUT = ("xor2", "and2", "or2", "nand2")
_LIBRARY_CELLS = {"2in": (*_TWO_INPUT, "buf"), "compound": CELL_TYPES}


@dataclass(frozen=True, kw_only=True)
class CellLibrary:
    """A named set of cell types with their delays at nominal VDD.

    Parameters
    ----------
    name : str
        ``"2in"`` or ``"compound"`` (decides how full adders are built).
    delays_ps : mapping of str to float
        Propagation delay in ps at nominal VDD of every cell type the library has.
    t_setup_ps : float
        Setup time of the output flip-flops in ps at nominal VDD; a bit is sampled at
        ``T_clk - t_setup``.
    t_hold_ps : float
        Hold time of the output flip-flops and of a Razor shadow latch in ps at nominal VDD
        (the hold constraint of :mod:`pe_models.razor`).
    """

    name: str
    delays_ps: Mapping[str, float]
    t_setup_ps: float = 25.0
    t_hold_ps: float = 10.0
    cell_types: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        if self.name not in ("2in", "compound"):
            raise ConfigError(f"cells: unknown cell library {self.name!r}; allowed: 2in, compound")
        required = _LIBRARY_CELLS[self.name]
        delays = dict(self.delays_ps)
        for cell in delays:
            if cell not in required:
                raise ConfigError(
                    f"cell_delays_ps: unknown cell {cell!r} for library {self.name!r}; allowed: {', '.join(required)}"
                )
        for cell in required:
            if cell not in delays:
                raise ConfigError(f"cell_delays_ps: missing delay for cell {cell!r}")
            _check_delay(f"cell_delays_ps: {cell}", delays[cell])
        _check_delay("t_setup_ps", self.t_setup_ps, allow_zero=True)
        _check_delay("t_hold_ps", self.t_hold_ps, allow_zero=True)
        object.__setattr__(self, "delays_ps", MappingProxyType({c: float(delays[c]) for c in required}))
        object.__setattr__(self, "t_setup_ps", float(self.t_setup_ps))
        object.__setattr__(self, "t_hold_ps", float(self.t_hold_ps))
        object.__setattr__(self, "cell_types", required)

    def delay_ps(self, cell: str) -> float:
        """Delay of `cell` in ps at nominal VDD."""
        return self.delays_ps[cell]

    def with_delays(self, overrides: Mapping[str, float]) -> CellLibrary:
        """The same library with some cell delays replaced (ps at nominal VDD)."""
        return replace(self, delays_ps={**self.delays_ps, **overrides})

    def __hash__(self) -> int:
        return hash((self.name, tuple(self.delays_ps.items()), self.t_setup_ps, self.t_hold_ps))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CellLibrary):
            return NotImplemented
        return (self.name, dict(self.delays_ps), self.t_setup_ps, self.t_hold_ps) == (
            other.name,
            dict(other.delays_ps),
            other.t_setup_ps,
            other.t_hold_ps,
        )


def _check_delay(label: str, value: object, *, allow_zero: bool = False) -> None:
    bound = ">= 0" if allow_zero else "> 0"
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{label}: expected a number of ps {bound}, got {value!r}") from None
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        raise ConfigError(f"{label}: expected a number of ps {bound}, got {value!r}")


_DEFAULT_DELAYS_PS = {
    "xor2": 22.0,
    "and2": 15.0,
    "or2": 16.0,
    "nand2": 9.0,
    "xor3": 30.0,
    "maj3": 20.0,
    "ao21": 18.0,
    "buf": 14.0,
}

CELL_LIBRARIES: Mapping[str, CellLibrary] = MappingProxyType(
    {
        "2in": CellLibrary(name="2in", delays_ps={c: _DEFAULT_DELAYS_PS[c] for c in _LIBRARY_CELLS["2in"]}),
        "compound": CellLibrary(name="compound", delays_ps=dict(_DEFAULT_DELAYS_PS)),
    }
)


def get_cell_library(name: str, *, cell_delays: str | None = None) -> CellLibrary:
    """The named library, with delays overridden by a ``xor2=30,and2=20`` string.

    Raises
    ------
    ConfigError
        Unknown library or cell name, or a delay that is not a positive number.
    """
    if not isinstance(name, str) or name not in CELL_LIBRARIES:
        raise ConfigError(f"cells: unknown cell library {name!r}; allowed: 2in, compound")
    library = CELL_LIBRARIES[name]
    if cell_delays:
        library = library.with_delays(parse_cell_delays(cell_delays, allowed=library.cell_types))
    return library


def parse_cell_delays(text: str, *, allowed: tuple[str, ...] = CELL_TYPES) -> dict[str, float]:
    """Parse ``"xor2=30,and2=20"`` into ``{"xor2": 30.0, "and2": 20.0}`` (ps).

    Raises
    ------
    ConfigError
        A malformed item, an unknown cell name or a delay that is not > 0.
    """
    delays: dict[str, float] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, value = item.partition("=")
        name = name.strip().lower()
        if not sep:
            raise ConfigError(f"cell_delays_ps: expected CELL=PS, got {item!r}")
        if name not in allowed:
            raise ConfigError(f"cell_delays_ps: unknown cell {name!r}; allowed: {', '.join(allowed)}")
        if name in delays:
            raise ConfigError(f"cell_delays_ps: {name} is given twice; give each cell once")
        _check_delay(f"cell_delays_ps: {name}", value.strip())
        delays[name] = float(value)
    return delays


@runtime_checkable
class DelaySource(Protocol):
    """Timing of every cell arc at one supply voltage: what the per-instance delay model reads.

    Arcs are named by cell type (:data:`CELL_TYPES`), input pin (:data:`CELL_PINS`) and
    output edge (``"rise"`` or ``"fall"``, :data:`EDGES`). Loads are in fF, slews
    (transition times) and delays in ps, all at the supply voltage the source is bound to.
    ``load_ff`` and ``slew_ps`` may be float64 arrays (broadcast together; the per-instance
    model asks for every instance of one cell type, pin and edge at a topological level
    at once): the result then has their shape, or is a scalar where it does not depend on
    them. Sources are hashable (per-instance delays are cached per PE and source).
    """

    def __hash__(self) -> int: ...

    @property
    def name(self) -> str:
        """What the delays come from, for reports (for example ``"compound x1.37"``)."""
        ...

    def delay_ps(self, cell: str, pin: str, edge: str, load_ff: Any, slew_ps: Any) -> Any:
        """Propagation delay of one arc driving `load_ff` with input slew `slew_ps`, ps (> 0)."""
        ...

    def transition_ps(self, cell: str, pin: str, edge: str, load_ff: Any, slew_ps: Any) -> Any:
        """Output transition time of one arc, ps (>= 0)."""
        ...

    def pin_capacitance_ff(self, cell: str, pin: str) -> float:
        """Input capacitance of one pin, fF (>= 0)."""
        ...

    @property
    def wire_capacitance_ff(self) -> float:
        """Wire capacitance added to a net's load per fan-out pin, fF (>= 0)."""
        ...

    @property
    def flop_d_capacitance_ff(self) -> float:
        """Input capacitance of a flip-flop's D pin (the load of a stage output), fF."""
        ...

    @property
    def setup_ps(self) -> float:
        """Setup time of the flip-flops, ps (>= 0)."""
        ...

    def clk_to_q_ps(self, edge: str, load_ff: Any) -> Any:
        """Clock-to-Q delay of a flip-flop whose Q drives `load_ff`, ps (>= 0): when a stage input switches."""
        ...

    def q_transition_ps(self, edge: str, load_ff: Any) -> Any:
        """Transition time of a flip-flop's Q driving `load_ff`, ps (>= 0): the slew of a stage input."""
        ...


@dataclass(frozen=True)
class ReasonedDelays:
    """One delay per cell type, the same for every pin and edge, scaled by a delay scale.

    The delay source of the reasoned libraries (:data:`CELL_LIBRARIES`): delays do not
    depend on the load or the input slew; pin capacitances, transitions and clock-to-Q
    are 0, and the setup time scales with the cell delays.

    Parameters
    ----------
    library : CellLibrary
        Delays at the technology's nominal VDD.
    scale : float
        Delay relative to nominal VDD (``Technology.delay_scale(vdd_v)``), > 0.
    """

    library: CellLibrary
    scale: float = 1.0

    @property
    def name(self) -> str:
        return f"{self.library.name} x{self.scale:g}"

    def delay_ps(self, cell: str, pin: str, edge: str, load_ff: Any, slew_ps: Any) -> float:
        return self.library.delays_ps[cell] * self.scale

    def transition_ps(self, cell: str, pin: str, edge: str, load_ff: Any, slew_ps: Any) -> float:
        return 0.0

    def pin_capacitance_ff(self, cell: str, pin: str) -> float:
        return 0.0

    @property
    def wire_capacitance_ff(self) -> float:
        return 0.0

    @property
    def flop_d_capacitance_ff(self) -> float:
        return 0.0

    @property
    def setup_ps(self) -> float:
        return self.library.t_setup_ps * self.scale

    def clk_to_q_ps(self, edge: str, load_ff: Any) -> float:
        return 0.0

    def q_transition_ps(self, edge: str, load_ff: Any) -> float:
        return 0.0


FLIP_FLOP = "dff"
"""The flip-flop of a characterised library (pins ``D``, ``CK``; its clock-to-Q arc is ``CK``)."""


@runtime_checkable
class CharacterisedLibrary(Protocol):
    """What :class:`LibraryDelays` reads from a characterised cell library (``pe_models.liberty.CellLibraryData``).

    Cells are named by function, pins by the library (``pins(cell)`` in the order of the
    function's arguments, the order of :data:`CELL_PINS`), edges ``"rise"``/``"fall"`` of the
    output; ps, fF, V.
    """

    name: str

    def __hash__(self) -> int: ...

    def pins(self, cell: str) -> tuple[str, ...]: ...

    def delay_ps(self, cell: str, pin: str, edge: str, vdd_v: float, load_ff: Any, slew_ps: Any) -> Any: ...

    def transition_ps(self, cell: str, pin: str, edge: str, vdd_v: float, load_ff: Any, slew_ps: Any) -> Any: ...

    def pin_capacitance_ff(self, cell: str, pin: str, vdd_v: float) -> float: ...

    def setup_ps(self, vdd_v: float, edge: str = "rise") -> float: ...

    def clk_to_q_ps(
        self, edge: str, vdd_v: float, load_ff: float | None = None, slew_ps: float | None = None
    ) -> float: ...

    def reference_slew_ps(self, vdd_v: float) -> float: ...


@dataclass(frozen=True)
class LibraryDelays:
    """A characterised library at one supply voltage, as a :class:`DelaySource`.

    Netlist pin k of a cell is the library's ``pins(cell)[k]``. The flip-flop: setup the
    larger of a rising and a falling D; clock-to-Q and the Q transition are the ``CK``
    arc at the Q net's load with the clock at the library's reference slew. No wire
    capacitance.

    Parameters
    ----------
    library : CharacterisedLibrary
    vdd_v : float
        Supply in V, within the library's corners.
    """

    library: CharacterisedLibrary
    vdd_v: float

    @property
    def name(self) -> str:
        return f"{self.library.name} at {self.vdd_v:g} V"

    def _pin(self, cell: str, pin: str) -> str:
        return self.library.pins(cell)[CELL_PINS[cell].index(pin)]

    def delay_ps(self, cell: str, pin: str, edge: str, load_ff: Any, slew_ps: Any) -> Any:
        return self.library.delay_ps(cell, self._pin(cell, pin), edge, self.vdd_v, load_ff, slew_ps)

    def transition_ps(self, cell: str, pin: str, edge: str, load_ff: Any, slew_ps: Any) -> Any:
        return self.library.transition_ps(cell, self._pin(cell, pin), edge, self.vdd_v, load_ff, slew_ps)

    def pin_capacitance_ff(self, cell: str, pin: str) -> float:
        return float(self.library.pin_capacitance_ff(cell, self._pin(cell, pin), self.vdd_v))

    @property
    def wire_capacitance_ff(self) -> float:
        return 0.0

    @property
    def flop_d_capacitance_ff(self) -> float:
        return float(self.library.pin_capacitance_ff(FLIP_FLOP, "D", self.vdd_v))

    @property
    def setup_ps(self) -> float:
        return max(float(self.library.setup_ps(self.vdd_v, edge)) for edge in EDGES)

    @cached_property
    def clock_slew_ps(self) -> float:
        """Slew of the flip-flops' clock: the library's reference slew at this VDD."""
        return float(self.library.reference_slew_ps(self.vdd_v))

    def clk_to_q_ps(self, edge: str, load_ff: Any) -> Any:
        return self.library.clk_to_q_ps(edge, self.vdd_v, load_ff, self.clock_slew_ps)

    def q_transition_ps(self, edge: str, load_ff: Any) -> Any:
        return self.library.transition_ps(FLIP_FLOP, "CK", edge, self.vdd_v, load_ff, self.clock_slew_ps)


@dataclass(frozen=True)
class ScaledDelays:
    """Another source with every delay, setup and clock-to-Q times a factor (loads and slews as they are).

    What a delay scale means for a characterised library: its timing at nominal VDD,
    stretched (``stage_timing(..., delay_scale=)`` without a supply voltage).
    """

    source: DelaySource
    factor: float

    @property
    def name(self) -> str:
        return f"{self.source.name} x{self.factor:g}"

    def delay_ps(self, cell: str, pin: str, edge: str, load_ff: Any, slew_ps: Any) -> Any:
        return self.source.delay_ps(cell, pin, edge, load_ff, slew_ps) * self.factor

    def transition_ps(self, cell: str, pin: str, edge: str, load_ff: Any, slew_ps: Any) -> Any:
        return self.source.transition_ps(cell, pin, edge, load_ff, slew_ps)

    def pin_capacitance_ff(self, cell: str, pin: str) -> float:
        return self.source.pin_capacitance_ff(cell, pin)

    @property
    def wire_capacitance_ff(self) -> float:
        return self.source.wire_capacitance_ff

    @property
    def flop_d_capacitance_ff(self) -> float:
        return self.source.flop_d_capacitance_ff

    @property
    def setup_ps(self) -> float:
        return self.source.setup_ps * self.factor

    def clk_to_q_ps(self, edge: str, load_ff: Any) -> Any:
        return self.source.clk_to_q_ps(edge, load_ff) * self.factor

    def q_transition_ps(self, edge: str, load_ff: Any) -> Any:
        return self.source.q_transition_ps(edge, load_ff)
