"""Per-instance, per-pin, per-edge cell delays of a netlist at one supply voltage.

Every cell instance ``c`` of a netlist gets one integer delay in femtoseconds per input
pin ``k`` and output edge ``e`` (0 = fall, 1 = rise: the output value after the edge),
``d[c, k, e]``, computed once, statically, from a :class:`pe_models.cells.DelaySource`:

* **load** of an instance: the input capacitances of the pins its output net drives, plus
  a flip-flop D pin for each output bus bit the net drives (a stage output), plus the
  source's wire capacitance per fan-out pin;
* **slew** of a net, per edge: the transition time of its driver for that output edge
  at its load, the largest over the driver's pins (each pin's arc read at the slew of
  the input edges that can cause that output edge); a stage input's slew is the
  flip-flop's Q transition at the net's load; constant nets have slew 0;
* **clock-to-Q** of the stage: the latest of the input flip-flops' clock-to-Q delays,
  each at its net's load and for either edge;
* **delay** ``d[c, k, e] = source.delay_ps(kind, pin k, edge e, load, slew)`` where the
  slew is the largest slew of the input edges of pin k that can cause output edge e
  (from the cell's truth table: rise for a positive-unate pin, both for an XOR).

Rounding: ``max(1, rint(delay_ps * 1000 * factor))`` once, after every scaling
(``factor`` is a process-variation factor, 1 without variation), so every level adds the
same integers. Pins beyond a cell's arity are padded with 0 and never read.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pe_models.cells import CELL_FUNCTIONS, CELL_PINS, EDGES, MAX_PINS, DelaySource
from pe_models.errors import ConfigError
from pe_models.netlist import CONST1, Netlist, cell_output

__all__ = [
    "InstanceArcs",
    "StageArcs",
    "arc_causes",
    "as_arcs_fs",
    "earliest_arrival_fs",
    "instance_arcs",
    "latest_arrival_fs",
    "latest_arrival_lanes_fs",
    "rounded_fs",
    "uniform_delays_fs",
]


@functools.cache
def arc_causes(kind: str) -> np.ndarray:
    """Which input edges of each pin can cause each output edge of a cell type.

    Returns
    -------
    ndarray, bool, shape (arity, 2, 2)
        ``[k, e, i]``: some assignment of the other pins makes input edge ``i`` of pin ``k``
        (0 = fall, 1 = rise) switch the output with edge ``e``.
    """
    arity = CELL_FUNCTIONS[kind]
    causes = np.zeros((arity, 2, 2), dtype=bool)
    for k in range(arity):
        for others in itertools.product((0, 1), repeat=arity - 1):
            low = cell_output(kind, [*others[:k], 0, *others[k:]])
            high = cell_output(kind, [*others[:k], 1, *others[k:]])
            if low != high:
                causes[k, high, 1] = True
                causes[k, low, 0] = True
    return causes


@dataclass(frozen=True, eq=False)
class InstanceArcs:
    """Static delay data of every cell instance of one netlist at one supply voltage.

    Attributes
    ----------
    exact_fs : ndarray, float64, shape (n_cells, MAX_PINS, 2)
        Delay of every arc before rounding, fs (what variation factors scale).
    load_ff : ndarray, float64, shape (n_cells,)
        Capacitance each instance drives, fF.
    slew_ps : ndarray, float64, shape (n_nets, 2)
        Transition time of every net per edge (0 = fall, 1 = rise), ps.
    clk_to_q_ps : float
        Latest clock-to-Q delay of the flip-flops driving the stage inputs (each at its
        net's load, either edge), ps; 0 for a source without one.
    """

    exact_fs: np.ndarray
    load_ff: np.ndarray
    slew_ps: np.ndarray
    clk_to_q_ps: float = 0.0

    def rounded_fs(self, factor: float = 1.0) -> np.ndarray:
        """Integer delays ``max(1, rint(exact_fs * factor))``, int64 of shape (n_cells, MAX_PINS, 2)."""
        return rounded_fs(self.exact_fs, factor)


class StageArcs:
    """The arcs of every timed stage of one PE, by stage name; compared and hashed by content.

    Parameters
    ----------
    stages : mapping of str to InstanceArcs
    """

    def __init__(self, stages: Mapping[str, InstanceArcs]) -> None:
        self._exact = {name: arcs.exact_fs for name, arcs in stages.items()}
        self._arcs = dict(stages)
        self._fs = {name: arcs.rounded_fs() for name, arcs in stages.items()}
        for array in (*self._exact.values(), *self._fs.values()):
            array.flags.writeable = False
        digest = hashlib.sha256()
        for name in sorted(self._exact):
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(self._exact[name]).tobytes())
            digest.update(np.float64(self._arcs[name].clk_to_q_ps).tobytes())
        self._key = digest.digest()

    @property
    def stages(self) -> tuple[str, ...]:
        return tuple(self._arcs)

    def __getitem__(self, stage: str) -> InstanceArcs:
        return self._arcs[stage]

    def fs(self, stage: str) -> np.ndarray:
        """Integer arcs of one stage, int64 of shape (n_cells, MAX_PINS, 2) (read-only)."""
        return self._fs[stage]

    def exact_fs(self, stage: str) -> np.ndarray:
        """Exact arcs of one stage before rounding, float64 of shape (n_cells, MAX_PINS, 2) (read-only)."""
        return self._exact[stage]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StageArcs):
            return NotImplemented
        return self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __repr__(self) -> str:
        return f"StageArcs({', '.join(self._arcs)})"

    @property
    def clk_to_q_ps(self) -> float:
        """The latest clock-to-Q delay over every stage's input flip-flops, ps."""
        return max((arcs.clk_to_q_ps for arcs in self._arcs.values()), default=0.0)


def rounded_fs(exact_fs: np.ndarray, factor: float = 1.0) -> np.ndarray:
    """``max(1, rint(exact_fs * factor))`` as int64: the one rounding every level shares."""
    return np.maximum(1, np.rint(np.asarray(exact_fs, dtype=np.float64) * factor)).astype(np.int64)


def _net_loads_ff(netlist: Netlist, source: DelaySource) -> np.ndarray:
    loads = np.zeros(netlist.n_nets)
    wire = float(source.wire_capacitance_ff)
    flop = float(source.flop_d_capacitance_ff)
    for net, fanout in enumerate(netlist.fanout()):
        for cell, pin in fanout:
            kind = netlist.cells[cell].kind
            loads[net] += float(source.pin_capacitance_ff(kind, CELL_PINS[kind][pin])) + wire
    for net, count in enumerate(netlist.output_pin_counts()):
        loads[net] += count * (flop + wire)
    return loads


def instance_arcs(netlist: Netlist, source: DelaySource) -> InstanceArcs:
    """Every instance's arcs, loads and slews from a delay source (see the module docstring).

    Parameters
    ----------
    netlist : Netlist
    source : DelaySource
        Cell timing at the supply voltage of interest.

    Returns
    -------
    InstanceArcs
    """
    net_load = _net_loads_ff(netlist, source)
    slew = np.zeros((netlist.n_nets, 2))
    clk_to_q = 0.0
    for nets in netlist.inputs.values():
        for net in nets:
            for e, edge in enumerate(EDGES):
                slew[net, e] = float(source.q_transition_ps(edge, float(net_load[net])))
                clk_to_q = max(clk_to_q, float(source.clk_to_q_ps(edge, float(net_load[net]))))
    n = len(netlist.cells)
    exact = np.zeros((n, MAX_PINS, 2))
    loads = np.zeros(n)
    for c, cell in enumerate(netlist.cells):
        load = float(net_load[cell.output])
        loads[c] = load
        causes = arc_causes(cell.kind)
        for k, (pin, net) in enumerate(zip(cell.pins, cell.inputs, strict=True)):
            for e, edge in enumerate(EDGES):
                slew_in = float(max(slew[net, i] for i in (0, 1) if causes[k, e, i]))
                exact[c, k, e] = float(source.delay_ps(cell.kind, pin, edge, load, slew_in)) * 1000
                slew[cell.output, e] = max(
                    slew[cell.output, e], float(source.transition_ps(cell.kind, pin, edge, load, slew_in))
                )
    return InstanceArcs(exact_fs=exact, load_ff=loads, slew_ps=slew, clk_to_q_ps=clk_to_q)


def as_arcs_fs(netlist: Netlist, delays_fs: Mapping[str, int] | Sequence[int] | np.ndarray) -> np.ndarray:
    """Integer arcs ``d[c, k, e]`` from any of the accepted delay forms, validated.

    Parameters
    ----------
    netlist : Netlist
    delays_fs : mapping, sequence or ndarray
        One integer fs per cell type (a mapping), one per cell of ``netlist.cells`` (a
        sequence), or per instance, pin and edge (an array of shape (n_cells, MAX_PINS, 2)).

    Returns
    -------
    ndarray, int64, shape (n_cells, MAX_PINS, 2)

    Raises
    ------
    ConfigError
        A missing cell type, a wrong count or shape, or a delay that is not an integer > 0.
    """
    n = len(netlist.cells)
    if isinstance(delays_fs, Mapping):
        missing = sorted({cell.kind for cell in netlist.cells} - set(delays_fs))
        if missing:
            raise ConfigError(f"delays_fs: missing delay for cell type {missing[0]!r}")
        per_cell = [delays_fs[cell.kind] for cell in netlist.cells]
    elif isinstance(delays_fs, np.ndarray) and delays_fs.ndim == 3:
        if delays_fs.shape != (n, MAX_PINS, 2):
            raise ConfigError(f"delays_fs: expected an array of shape ({n}, {MAX_PINS}, 2), got {delays_fs.shape}")
        if delays_fs.dtype.kind not in "iu":
            raise ConfigError(f"delays_fs: expected integer fs, got dtype {delays_fs.dtype}")
        arcs = delays_fs.astype(np.int64)
        for c, cell in enumerate(netlist.cells):
            low = int(arcs[c, : len(cell.inputs)].min())
            if low <= 0:
                raise ConfigError(f"delays_fs: expected an integer number of fs > 0, got {low} (cell {c})")
        return arcs
    else:
        per_cell = list(delays_fs)
        if len(per_cell) != n:
            raise ConfigError(f"delays_fs: expected one delay per cell ({n}), got {len(per_cell)}")
    values = np.empty(n, dtype=np.int64)
    for c, value in enumerate(per_cell):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ConfigError(f"delays_fs: expected an integer number of fs, got {value!r}")
        if value <= 0:
            raise ConfigError(f"delays_fs: expected an integer number of fs > 0, got {int(value)}")
        values[c] = value
    return np.broadcast_to(values[:, None, None], (n, MAX_PINS, 2)).copy()


def uniform_delays_fs(netlist: Netlist, arcs: np.ndarray, kinds: Sequence[str]) -> dict[str, float] | None:
    """One delay per cell type when every pin and edge of every instance of `kinds` agrees.

    This is the condition of the closed forms of :mod:`pe_models.chain`: they assume one
    delay per cell type.

    Parameters
    ----------
    netlist : Netlist
    arcs : ndarray, shape (n_cells, MAX_PINS, 2)
        Integer or exact (float) arcs.
    kinds : sequence of str
        Cell types to check.

    Returns
    -------
    dict of str to the array's scalar type, or None
        The common delay of each type of `kinds` present in the netlist; None if any pin,
        edge or instance of one of them differs.
    """
    common: dict[str, float] = {}
    for c, cell in enumerate(netlist.cells):
        if cell.kind not in kinds:
            continue
        values = arcs[c, : len(cell.inputs)]
        first = values.flat[0]
        if (values != first).any() or common.setdefault(cell.kind, first) != first:
            return None
    return common


def latest_arrival_fs(netlist: Netlist, arcs_fs: np.ndarray, *, start_fs: int = 0) -> np.ndarray:
    """Latest possible transition of every net per edge (static timing), fs.

    A transition of pin k's net with an edge that can cause output edge e (see
    :func:`arc_causes`) reaches the output ``d[c, k, e]`` later; the latest of these bounds
    every transition of the output with edge e under the event semantics of
    :mod:`pe_models.gate`. Stage inputs switch at `start_fs`; constants never (-1).

    Returns
    -------
    ndarray, int64, shape (n_nets, 2)
        -1 where a net never switches with that edge.
    """
    arrival = np.full((netlist.n_nets, 2), -1, dtype=np.int64)
    for nets in netlist.inputs.values():
        arrival[nets] = start_fs
    for c, cell in enumerate(netlist.cells):
        causes = arc_causes(cell.kind)
        for e in (0, 1):
            best = -1
            for k, net in enumerate(cell.inputs):
                for i in (0, 1):
                    if causes[k, e, i] and arrival[net, i] >= 0:
                        best = max(best, int(arrival[net, i] + arcs_fs[c, k, e]))
            arrival[cell.output, e] = best
    return arrival


def earliest_arrival_fs(netlist: Netlist, arcs_fs: np.ndarray, *, start_fs: int = 0) -> np.ndarray:
    """Earliest possible transition of every net (a lower bound over both edges), fs; -1: never.

    A cell can switch ``min_k d[c, k, e]`` after any of its non-constant inputs changes
    (the delay is the smallest over the pins that changed, whatever their edge).
    """
    earliest = np.full(netlist.n_nets, -1, dtype=np.int64)
    for nets in netlist.inputs.values():
        earliest[nets] = start_fs
    for c, cell in enumerate(netlist.cells):
        best = -1
        for k, net in enumerate(cell.inputs):
            if net > CONST1 and earliest[net] >= 0:
                candidate = int(earliest[net] + arcs_fs[c, k].min())
                best = candidate if best < 0 else min(best, candidate)
        earliest[cell.output] = best
    return earliest


def latest_arrival_lanes_fs(netlist: Netlist, exact_fs: np.ndarray, factors: np.ndarray, output: str) -> np.ndarray:
    """:func:`latest_arrival_fs` of each bit of `output` for many variation factors at once.

    Parameters
    ----------
    netlist : Netlist
    exact_fs : ndarray, float64, shape (n_cells, MAX_PINS, 2)
        Exact arcs; lane i uses ``max(1, rint(exact_fs * factors[i]))``.
    factors : ndarray, float64, shape (n,)
    output : str

    Returns
    -------
    ndarray, int64, shape (n, width)
        Latest transition of each bit (either edge), fs; -1 for constant bits.
    """
    factors = np.asarray(factors, dtype=np.float64).ravel()
    lanes = factors.shape[0]
    never = np.full(lanes, -1, dtype=np.int64)
    arrival: list[list[np.ndarray]] = [[never, never] for _ in range(netlist.n_nets)]
    zero = np.zeros(lanes, dtype=np.int64)
    for nets in netlist.inputs.values():
        for net in nets:
            arrival[net] = [zero, zero]
    for c, cell in enumerate(netlist.cells):
        arcs = exact_fs[c, : len(cell.inputs)]
        same_edges = all(arrival[net][0] is arrival[net][1] for net in cell.inputs)
        if same_edges and (arcs == arcs.flat[0]).all():
            sources = [arrival[net][0] for net in cell.inputs if arrival[net][0] is not never]
            if sources:
                delay = np.maximum(1, np.rint(arcs.flat[0] * factors)).astype(np.int64)
                latest = np.maximum.reduce(sources) + delay
                arrival[cell.output] = [latest, latest]
            continue
        causes = arc_causes(cell.kind)
        edges = []
        for e in (0, 1):
            best = never
            for k, net in enumerate(cell.inputs):
                delay = np.maximum(1, np.rint(exact_fs[c, k, e] * factors)).astype(np.int64)
                for i in (0, 1):
                    source = arrival[net][i]
                    if causes[k, e, i] and source is not never:
                        best = np.maximum(best, source + delay)
            edges.append(best)
        arrival[cell.output] = edges
    return np.stack([np.maximum(*arrival[net]) for net in netlist.outputs[output]], axis=1)
