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
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from pe_models.errors import ConfigError

__all__ = [
    "CELL_FUNCTIONS",
    "CELL_LIBRARIES",
    "CELL_TYPES",
    "CellLibrary",
    "get_cell_library",
    "parse_cell_delays",
]

CELL_FUNCTIONS: Mapping[str, int] = MappingProxyType(
    {"xor2": 2, "and2": 2, "or2": 2, "nand2": 2, "xor3": 3, "maj3": 3, "ao21": 3, "buf": 1}
)
"""Cell type -> number of inputs. ``ao21(a, b, c) = (a & b) | c``; ``buf(a) = a`` (two
inverters: the hold-fix delay cell of :mod:`pe_models.razor`)."""

CELL_TYPES: tuple[str, ...] = tuple(CELL_FUNCTIONS)

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
    if name not in CELL_LIBRARIES:
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
        _check_delay(f"cell_delays_ps: {name}", value.strip())
        delays[name] = float(value)
    return delays
