"""The logic cells vscale's PE netlists are built from: pins, Boolean function, Liberty function.

One entry per cell *function* (``inv``, ``nand2``, ``xor3``, ``dff``, ...). The pins are in
the order :mod:`pe_models.netlist` gives a cell's inputs (``Cell.inputs[k]`` is pin
``pins[k]``), so a per-pin delay table maps onto netlist instances without a name lookup.
The transistor-level subcircuit of every cell is
``pe_models/technology_data/cells/<function>.sp`` (ports: the input pins in this order,
the output, ``vdd``, ``vss``).

The Razor flip-flop (:data:`RAZOR_FLOP`, ports :data:`RAZOR_FLOP_PORTS`) is characterised
and shipped with the cells but is not a netlist cell function: it has two outputs (Q and
the error flag E) and only the energy model reads it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

__all__ = [
    "CELL_SPECS",
    "COMBINATIONAL_CELLS",
    "FLIP_FLOP",
    "RAZOR_FLOP",
    "RAZOR_FLOP_PORTS",
    "SUBCIRCUIT_DIR",
    "CellSpec",
    "sensitising_states",
    "subcircuit_path",
]

SUBCIRCUIT_DIR: Path = Path(__file__).resolve().parent / "technology_data" / "cells"
"""Directory of the shipped cell subcircuits (one ``<function>.sp`` each)."""

FLIP_FLOP = "dff"

RAZOR_FLOP = "razor_dff"
"""The Razor flip-flop: main flop (the ``dff``), shadow latch, XOR comparator, restore multiplexer."""

RAZOR_FLOP_PORTS: tuple[str, ...] = ("D", "CK", "R", "Q", "E")
"""Signal ports of the Razor flip-flop's subcircuit in order (then ``vdd``, ``vss``): data,
clock, restore (1: the main flop takes the shadow latch's value), output, error (Q ^ shadow)."""


@dataclass(frozen=True, kw_only=True)
class CellSpec:
    """One cell function.

    Attributes
    ----------
    name : str
        Function name (``nand2``); also the subcircuit name.
    pins : tuple of str
        Input pins in netlist order (``("A", "B")``; flip-flop ``("D", "CK")``).
    output : str
        Output pin (``Y``; flip-flop ``Q``).
    liberty_function : str
        The output's Boolean function in Liberty syntax (``"!(A & B)"``; flip-flop
        ``"IQ"`` with ``ff (IQ, IQN) { next_state : "D"; clocked_on : "CK"; }``).
    """

    name: str
    pins: tuple[str, ...]
    output: str
    liberty_function: str
    logic: Callable[..., int]

    def evaluate(self, *bits: int) -> int:
        """Output bit for input bits in pin order (combinational cells only)."""
        return int(self.logic(*bits)) & 1


def _spec(name: str, pins: str, function: str, logic: Callable[..., int]) -> CellSpec:
    return CellSpec(name=name, pins=tuple(pins), output="Y", liberty_function=function, logic=logic)


_COMBINATIONAL = (
    _spec("inv", "A", "!A", lambda a: 1 - a),
    _spec("buf", "A", "A", lambda a: a),
    _spec("nand2", "AB", "!(A & B)", lambda a, b: 1 - (a & b)),
    _spec("nor2", "AB", "!(A | B)", lambda a, b: 1 - (a | b)),
    _spec("and2", "AB", "(A & B)", lambda a, b: a & b),
    _spec("or2", "AB", "(A | B)", lambda a, b: a | b),
    _spec("xor2", "AB", "(A ^ B)", lambda a, b: a ^ b),
    _spec("xor3", "ABC", "(A ^ B ^ C)", lambda a, b, c: a ^ b ^ c),
    _spec("maj3", "ABC", "((A & B) | (A & C) | (B & C))", lambda a, b, c: (a & b) | (a & c) | (b & c)),
    _spec("ao21", "ABC", "((A & B) | C)", lambda a, b, c: (a & b) | c),
)

CELL_SPECS: Mapping[str, CellSpec] = MappingProxyType(
    {
        **{spec.name: spec for spec in _COMBINATIONAL},
        FLIP_FLOP: CellSpec(name=FLIP_FLOP, pins=("D", "CK"), output="Q", liberty_function="IQ", logic=lambda d, ck: d),
    }
)
"""Every cell function vscale knows, by name."""

COMBINATIONAL_CELLS: tuple[str, ...] = tuple(spec.name for spec in _COMBINATIONAL)


def sensitising_states(cell: str, pin: str) -> tuple[dict[str, int], ...]:
    """Assignments of the other inputs under which toggling `pin` toggles the output.

    Returns
    -------
    tuple of dict
        One ``{other_pin: bit}`` per sensitising state, in binary counting order of the
        other pins (first pin most significant).
    """
    spec = CELL_SPECS[cell]
    others = [p for p in spec.pins if p != pin]
    states = []
    for bits in itertools.product((0, 1), repeat=len(others)):
        assignment = dict(zip(others, bits, strict=True))
        low = spec.evaluate(*[assignment.get(p, 0) for p in spec.pins])
        high = spec.evaluate(*[assignment.get(p, 1) if p != pin else 1 for p in spec.pins])
        if low != high:
            states.append(assignment)
    return tuple(states)


def subcircuit_path(cell: str) -> Path:
    """Path of the shipped SPICE subcircuit of `cell`."""
    return SUBCIRCUIT_DIR / f"{cell}.sp"
