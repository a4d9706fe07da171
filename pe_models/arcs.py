"""Per-instance, per-pin, per-edge cell delays of a netlist at one supply voltage.

Every cell instance ``c`` of a netlist gets one integer delay in femtoseconds per input
pin ``k`` and output edge ``e`` (0 = fall, 1 = rise: the output value after the edge),
``d[c, k, e]``, computed once, statically, from a :class:`pe_models.cells.DelaySource`:

* **load** of an instance: the input capacitances of the pins its output net drives, plus
  a flip-flop D pin for each output bus bit the net drives (a stage output), plus the
  source's wire capacitance per fan-out pin;
* **slew** of a net, per edge: the transition time of its driver for that output edge
  at its load, the largest over the driver's pins (each pin's arc read at the slew of
  the input edges that can cause that output edge in some state of the cell's other
  pins, tied ones included, as OpenSTA does); a stage input's slew is the flip-flop's
  Q transition at the net's load; constant nets have slew 0;
* **launch** of every stage input bit, per edge: the clock-to-Q delay of the flip-flop
  that drives it, at its net's load (0 for a source without flip-flop data): the input
  switches that long after the clock edge;
* **causes** of an instance (:func:`instance_causes`): which input edges of pin k can
  switch the output with edge e, from the cell's truth table with the pins tied to
  ``CONST0``/``CONST1`` held at their values (rise for a positive-unate pin, both for
  an XOR, only the falling one for the inverting ``xor3(0, x, 1)``);
* **delay** ``d[c, k, e]``: for an arc one input edge causes,
  ``source.delay_ps(kind, pin k, edge e, load, slew)`` at that input edge's slew. A
  non-unate arc (both input edges cause e) has one delay for both in the gate level, the
  one that gives the static arrival of per-input-edge timing through this pin:
  ``max_i(A_i + D_i) - max_i A_i`` with ``A_i`` the latest static arrival of the
  input's edge i and ``D_i`` the delay at that edge's own slew (between ``D_rise`` and
  ``D_fall``; exact at factor 1 and under any variation factor, which scales both). The
  input edge that arrives last gets at least its own delay, the other at most its own
  (at most ``|D_rise - D_fall|`` less): the static arrival is still the latest any
  gate-level event through this pin can reach, but an early edge's event can be that
  much earlier than its own arc would place it (a gate-level approximation of the same
  kind as one delay per pin for every state of the other pins).

Rounding: ``max(1, rint(delay_ps * 1000 * factor))`` once, after every scaling
(``factor`` is a process-variation factor, 1 without variation), so every level adds the
same integers; launch times ``rint(clk_to_q_ps * 1000 * factor)`` (0 allowed). Pins
beyond a cell's arity are padded with 0 and never read. The source is called once per
topological level, cell type, pin and edge, with the loads and slews of every such
instance as arrays.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
from collections.abc import Collection, Mapping, Sequence
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
    "as_launch_fs",
    "cell_levels",
    "earliest_arrival_fs",
    "input_nets",
    "instance_arcs",
    "instance_causes",
    "latest_arrival_fs",
    "latest_arrival_lanes_fs",
    "rounded_fs",
    "uniform_delays_fs",
]


@functools.cache
def _tied_causes(kind: str, tied: tuple[int, ...]) -> np.ndarray:
    """:func:`instance_causes` of a cell type whose pin k is tied to ``tied[k]`` (0, 1; -1: switches)."""
    arity = CELL_FUNCTIONS[kind]
    causes = np.zeros((arity, 2, 2), dtype=bool)
    free = [k for k in range(arity) if tied[k] < 0]
    for k in free:
        others = [j for j in free if j != k]
        for values in itertools.product((0, 1), repeat=len(others)):
            pins = list(tied)
            for j, value in zip(others, values, strict=True):
                pins[j] = value
            pins[k] = 0
            low = cell_output(kind, pins)
            pins[k] = 1
            high = cell_output(kind, pins)
            if low != high:
                causes[k, high, 1] = True
                causes[k, low, 0] = True
    causes.flags.writeable = False
    return causes


def arc_causes(kind: str) -> np.ndarray:
    """Which input edges of each pin can cause each output edge of a cell type.

    Returns
    -------
    ndarray, bool, shape (arity, 2, 2)
        ``[k, e, i]``: some assignment of the other pins makes input edge ``i`` of pin ``k``
        (0 = fall, 1 = rise) switch the output with edge ``e`` (read-only).
    """
    return _tied_causes(kind, (-1,) * CELL_FUNCTIONS[kind])


def instance_causes(kind: str, inputs: Sequence[int]) -> np.ndarray:
    """:func:`arc_causes` of one instance whose input nets are `inputs`: tied inputs held at their constant.

    A pin tied to ``CONST0``/``CONST1`` never switches and causes nothing; the other pins
    are enumerated with the tied ones at their values, so ``xor3(0, x, 1)`` (an inverter)
    lets a rising ``x`` cause only a falling output. Sound for the gate level, whose
    constants never switch.

    Returns
    -------
    ndarray, bool, shape (arity, 2, 2)
        ``[k, e, i]`` as in :func:`arc_causes` (read-only).
    """
    return _tied_causes(kind, tuple(net if net <= CONST1 else -1 for net in inputs))


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
    launch_exact_fs : ndarray, float64, shape (n_inputs, 2)
        Per stage input bit (the buses of ``netlist.inputs`` in order, bit 0 first) and
        edge of the bit (0 = falls, 1 = rises): the clock-to-Q delay of its flip-flop
        before rounding, fs (all 0: every input switches at the clock edge).
    """

    exact_fs: np.ndarray
    load_ff: np.ndarray
    slew_ps: np.ndarray
    launch_exact_fs: np.ndarray

    def rounded_fs(self, factor: float = 1.0) -> np.ndarray:
        """Integer delays ``max(1, rint(exact_fs * factor))``, int64 of shape (n_cells, MAX_PINS, 2)."""
        return rounded_fs(self.exact_fs, factor)

    def launch_fs(self, factor: float = 1.0) -> np.ndarray:
        """Integer launch times ``rint(launch_exact_fs * factor)``, int64 of shape (n_inputs, 2)."""
        return np.rint(self.launch_exact_fs * factor).astype(np.int64)


class StageArcs:
    """The arcs and launch times of every timed stage of one PE, by stage name; compared and hashed by content.

    Parameters
    ----------
    stages : mapping of str to InstanceArcs
    """

    def __init__(self, stages: Mapping[str, InstanceArcs]) -> None:
        self._exact = {name: arcs.exact_fs for name, arcs in stages.items()}
        self._arcs = dict(stages)
        self._fs = {name: arcs.rounded_fs() for name, arcs in stages.items()}
        self._launch_exact = {name: arcs.launch_exact_fs for name, arcs in stages.items()}
        self._launch = {name: arcs.launch_fs() for name, arcs in stages.items()}
        for array in (*self._exact.values(), *self._fs.values(), *self._launch_exact.values(), *self._launch.values()):
            array.flags.writeable = False
        digest = hashlib.sha256()
        for name in sorted(self._exact):
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(self._exact[name]).tobytes())
            digest.update(np.ascontiguousarray(self._launch_exact[name]).tobytes())
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

    def launch_fs(self, stage: str) -> np.ndarray:
        """Launch time of every input bit of one stage per edge, int64 of shape (n_inputs, 2) (read-only)."""
        return self._launch[stage]

    def launch_exact_fs(self, stage: str) -> np.ndarray:
        """:meth:`launch_fs` before rounding, float64 (read-only)."""
        return self._launch_exact[stage]

    @property
    def has_launch(self) -> bool:
        """Some stage input switches after the clock edge (a library with clock-to-Q data)."""
        return any(bool(exact.any()) for exact in self._launch_exact.values())

    @property
    def clk_to_q_fs(self) -> int:
        """The latest launch time of any stage input, fs."""
        return max((int(launch.max(initial=0)) for launch in self._launch.values()), default=0)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StageArcs):
            return NotImplemented
        return self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __repr__(self) -> str:
        return f"StageArcs({', '.join(self._arcs)})"


def rounded_fs(exact_fs: np.ndarray, factor: float = 1.0) -> np.ndarray:
    """``max(1, rint(exact_fs * factor))`` as int64: the one rounding every level shares."""
    return np.maximum(1, np.rint(np.asarray(exact_fs, dtype=np.float64) * factor)).astype(np.int64)


def _net_loads_ff(netlist: Netlist, source: DelaySource) -> np.ndarray:
    loads = np.zeros(netlist.n_nets)
    wire = float(source.wire_capacitance_ff)
    flop = float(source.flop_d_capacitance_ff)
    capacitance = {
        (kind, k): float(source.pin_capacitance_ff(kind, pin))
        for kind in {cell.kind for cell in netlist.cells}
        for k, pin in enumerate(CELL_PINS[kind])
    }
    for net, fanout in enumerate(netlist.fanout()):
        for cell, pin in fanout:
            loads[net] += capacitance[(netlist.cells[cell].kind, pin)] + wire
    for net, count in enumerate(netlist.output_pin_counts()):
        loads[net] += count * (flop + wire)
    return loads


def _delay_fs(source: DelaySource, kind: str, pin: str, edge: str, load: np.ndarray, slew_ps: np.ndarray) -> np.ndarray:
    delay = np.asarray(source.delay_ps(kind, pin, edge, load, slew_ps), dtype=np.float64)
    return np.broadcast_to(delay, load.shape) * 1000


def _effective_delay_fs(arrival_fs: np.ndarray, by_edge_fs: list[np.ndarray], slowest_fs: np.ndarray) -> np.ndarray:
    """The one delay of a non-unate arc that adds to its pin's latest input edge what each edge's own arc gives.

    ``max_i(arrival[:, i] + by_edge[i]) - max_i arrival[:, i]`` over the input edges that
    switch (both cause the output edge): per-input-edge static timing through this pin in
    one number, between the two edges' own delays; `slowest_fs` (the delay at the larger
    slew) where neither edge switches.
    """
    latest = arrival_fs.max(axis=1)
    through = np.maximum(arrival_fs[:, 0] + by_edge_fs[0], arrival_fs[:, 1] + by_edge_fs[1])
    switching = np.isfinite(latest)
    return np.where(switching, through - np.where(switching, latest, 0.0), slowest_fs)


def input_nets(netlist: Netlist) -> list[int]:
    """The stage input nets in launch order: the buses of ``netlist.inputs`` in order, bit 0 first."""
    return [net for nets in netlist.inputs.values() for net in nets]


def cell_levels(netlist: Netlist) -> list[int]:
    """Topological level of every cell: 1 + the largest level of the cells driving its inputs."""
    net_level = [0] * netlist.n_nets
    levels = []
    for cell in netlist.cells:
        level = 1 + max(net_level[net] for net in cell.inputs)
        net_level[cell.output] = level
        levels.append(level)
    return levels


def instance_arcs(netlist: Netlist, source: DelaySource) -> InstanceArcs:
    """Every instance's arcs, loads, slews and input launch times from a delay source (module docstring).

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
    inputs = np.array(input_nets(netlist), dtype=np.int64)
    launch = np.zeros((inputs.size, 2))
    for e, edge in enumerate(EDGES):
        slew[inputs, e] = np.asarray(source.q_transition_ps(edge, net_load[inputs]), dtype=np.float64)
        launch[:, e] = np.asarray(source.clk_to_q_ps(edge, net_load[inputs]), dtype=np.float64) * 1000
    arrival = np.full((netlist.n_nets, 2), -np.inf)
    arrival[inputs] = launch
    n = len(netlist.cells)
    exact = np.zeros((n, MAX_PINS, 2))
    groups: dict[tuple[int, str, tuple[int, ...]], list[int]] = {}
    for c, level in enumerate(cell_levels(netlist)):
        cell = netlist.cells[c]
        tied = tuple(net if net <= CONST1 else -1 for net in cell.inputs)
        groups.setdefault((level, cell.kind, tied), []).append(c)
    for (_, kind, tied), members in sorted(groups.items()):
        cells = np.array(members, dtype=np.int64)
        nets = np.array([netlist.cells[c].inputs for c in members], dtype=np.int64)
        outputs = np.array([netlist.cells[c].output for c in members], dtype=np.int64)
        load = net_load[outputs]
        any_state = arc_causes(kind)
        switching = _tied_causes(kind, tied)
        out_slew = np.zeros((cells.size, 2))
        out_arrival = np.full((cells.size, 2), -np.inf)
        for k, pin in enumerate(CELL_PINS[kind]):
            for e, edge in enumerate(EDGES):
                slew_any = np.max([slew[nets[:, k], i] for i in (0, 1) if any_state[k, e, i]], axis=0)
                transition = np.asarray(source.transition_ps(kind, pin, edge, load, slew_any), dtype=np.float64)
                out_slew[:, e] = np.maximum(out_slew[:, e], transition)
                edges = [i for i in (0, 1) if switching[k, e, i]] or [i for i in (0, 1) if any_state[k, e, i]]
                slew_in = np.max([slew[nets[:, k], i] for i in edges], axis=0)
                delay = _delay_fs(source, kind, pin, edge, load, slew_in)
                if len(edges) == 2:
                    delay = _effective_delay_fs(
                        arrival[nets[:, k]],
                        [_delay_fs(source, kind, pin, edge, load, slew[nets[:, k], i]) for i in (0, 1)],
                        delay,
                    )
                exact[cells, k, e] = delay
                if switching[k, e].any():
                    latest = np.max([arrival[nets[:, k], i] for i in edges], axis=0) + delay
                    out_arrival[:, e] = np.maximum(out_arrival[:, e], latest)
        slew[outputs] = out_slew
        arrival[outputs] = out_arrival
    return InstanceArcs(
        exact_fs=exact,
        load_ff=net_load[[cell.output for cell in netlist.cells]] if n else np.zeros(0),
        slew_ps=slew,
        launch_exact_fs=launch,
    )


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


def as_launch_fs(netlist: Netlist, launch_fs: np.ndarray | None) -> np.ndarray:
    """Launch times of every stage input bit per edge, validated: int64 of shape (n_inputs, 2), >= 0.

    Raises
    ------
    ConfigError
        A wrong shape, a non-integer array or a negative time.
    """
    n = len(input_nets(netlist))
    if launch_fs is None:
        return np.zeros((n, 2), dtype=np.int64)
    launch = np.asarray(launch_fs)
    if launch.shape != (n, 2):
        raise ConfigError(f"launch_fs: expected an array of shape ({n}, 2), got {launch.shape}")
    if launch.dtype.kind not in "iu":
        raise ConfigError(f"launch_fs: expected integer fs, got dtype {launch.dtype}")
    if n and int(launch.min()) < 0:
        raise ConfigError(f"launch_fs: expected integer fs >= 0, got {int(launch.min())}")
    return launch.astype(np.int64)


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


def latest_arrival_fs(
    netlist: Netlist,
    arcs_fs: np.ndarray,
    launch_fs: np.ndarray | None = None,
    *,
    start_fs: np.ndarray | None = None,
    cut: Collection[int] = (),
) -> np.ndarray:
    """Latest possible transition of every net per edge (static timing), fs.

    A transition of pin k's net with an edge that can cause output edge e (see
    :func:`arc_causes`) reaches the output ``d[c, k, e]`` later; the latest of these bounds
    every transition of the output with edge e under the event semantics of
    :mod:`pe_models.gate`. Stage input bit i switches with edge e at ``launch_fs[i, e]``
    (default 0: at the clock edge); constants never switch (-1).

    Parameters
    ----------
    start_fs : ndarray, int64, shape (n_nets, 2), optional
        The arrivals of the stage inputs per net and edge (-1: that edge never switches),
        instead of `launch_fs` on every input (e.g. only some inputs switching).
    cut : collection of int
        Nets whose transitions are not propagated into the cells they drive.

    Returns
    -------
    ndarray, int64, shape (n_nets, 2)
        -1 where a net never switches with that edge.
    """
    if start_fs is None:
        arrival = np.full((netlist.n_nets, 2), -1, dtype=np.int64)
        arrival[input_nets(netlist)] = 0 if launch_fs is None else launch_fs
    else:
        arrival = np.array(start_fs, dtype=np.int64)
    for c, cell in enumerate(netlist.cells):
        causes = instance_causes(cell.kind, cell.inputs)
        for e in (0, 1):
            best = -1
            for k, net in enumerate(cell.inputs):
                if net in cut:
                    continue
                for i in (0, 1):
                    if causes[k, e, i] and arrival[net, i] >= 0:
                        best = max(best, int(arrival[net, i] + arcs_fs[c, k, e]))
            arrival[cell.output, e] = best
    return arrival


def earliest_arrival_fs(netlist: Netlist, arcs_fs: np.ndarray, launch_fs: np.ndarray | None = None) -> np.ndarray:
    """Earliest possible transition of every net (a lower bound over both edges), fs; -1: never.

    A cell can switch ``min_k d[c, k, e]`` after any of its non-constant inputs changes
    (the delay is the smallest over the pins that changed, whatever their edge); stage
    input bit i switches at ``min(launch_fs[i])`` at the earliest (default 0).
    """
    earliest = np.full(netlist.n_nets, -1, dtype=np.int64)
    earliest[input_nets(netlist)] = 0 if launch_fs is None else np.asarray(launch_fs).min(axis=1)
    for c, cell in enumerate(netlist.cells):
        best = -1
        for k, net in enumerate(cell.inputs):
            if net > CONST1 and earliest[net] >= 0:
                candidate = int(earliest[net] + arcs_fs[c, k].min())
                best = candidate if best < 0 else min(best, candidate)
        earliest[cell.output] = best
    return earliest


def latest_arrival_lanes_fs(
    netlist: Netlist,
    exact_fs: np.ndarray,
    factors: np.ndarray,
    output: str,
    launch_exact_fs: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`latest_arrival_fs` of each bit of `output` for many variation factors at once.

    Parameters
    ----------
    netlist : Netlist
    exact_fs : ndarray, float64, shape (n_cells, MAX_PINS, 2)
        Exact arcs; lane i uses ``max(1, rint(exact_fs * factors[i]))``.
    factors : ndarray, float64, shape (n,)
    output : str
    launch_exact_fs : ndarray, float64, shape (n_inputs, 2), optional
        Exact launch times; lane i uses ``rint(launch_exact_fs * factors[i])`` (default 0).

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
    for i, net in enumerate(input_nets(netlist)):
        if launch_exact_fs is None or not launch_exact_fs[i].any():
            arrival[net] = [zero, zero]
        else:
            arrival[net] = [np.rint(launch_exact_fs[i, e] * factors).astype(np.int64) for e in (0, 1)]
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
        causes = instance_causes(cell.kind, cell.inputs)
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
