"""Event-driven transport-delay simulation of a gate netlist, one clock cycle per lane (the gate level's kernel)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

__all__: list[str] = []


GATE_MAX_EVENTS = 512

CELL_CODES = {"xor2": 0, "and2": 1, "or2": 2, "nand2": 3, "xor3": 4, "maj3": 5, "ao21": 6}


class GateNetlist(NamedTuple):
    """A netlist as arrays for the event kernels (cells in topological order).

    Attributes
    ----------
    cell_kind : int8 array, shape (cells,)
        :data:`CELL_CODES` of each cell.
    cell_inputs : int64 array, shape (cells, 3)
        Input nets of each cell (unused slots 0).
    cell_output : int64 array, shape (cells,)
        Output net of each cell.
    input_nets, input_bus, input_bit : int64 array, shape (input bits,)
        Every primary-input net, the bus (row of the ``*_buses`` arrays) and bit it takes.
    n_nets : int
        Nets (net 0 is constant 0, net 1 constant 1).
    """

    cell_kind: np.ndarray
    cell_inputs: np.ndarray
    cell_output: np.ndarray
    input_nets: np.ndarray
    input_bus: np.ndarray
    input_bit: np.ndarray
    n_nets: int


class GateSamples(NamedTuple):
    """What :func:`gate_lanes` writes per lane.

    Attributes
    ----------
    latched, shadow, correct : int64 array, shape (lanes,)
        The output bus sampled at ``t_sample``, at ``t_shadow`` (a Razor shadow latch), and
        settled.
    bit_settle : int64 array, shape (lanes, output bits)
        Last transition time (fs) of each output bit.
    """

    latched: np.ndarray
    shadow: np.ndarray
    correct: np.ndarray
    bit_settle: np.ndarray


class _EventBuffers(NamedTuple):
    times: np.ndarray
    values: np.ndarray
    counts: np.ndarray
    initial: np.ndarray
    pointer: np.ndarray
    state: np.ndarray


@njit(cache=True)
def _event_buffers(n_nets):
    return _EventBuffers(
        np.empty((n_nets, GATE_MAX_EVENTS), dtype=np.int64),
        np.empty((n_nets, GATE_MAX_EVENTS), dtype=np.int8),
        np.zeros(n_nets, dtype=np.int64),
        np.zeros(n_nets, dtype=np.int8),
        np.zeros(3, dtype=np.int64),
        np.zeros(3, dtype=np.int8),
    )


@njit(cache=True, inline="always")
def _cell_value(kind, x, y, z):
    if kind == 0:
        return x ^ y
    if kind == 1:
        return x & y
    if kind == 2:
        return x | y
    if kind == 3:
        return 1 - (x & y)
    if kind == 4:
        return x ^ y ^ z
    if kind == 5:
        return (x & y) | (x & z) | (y & z)
    return (x & y) | z


@njit(cache=True, inline="always")
def _lane_events(lane, netlist, delays, old_buses, new_buses, buffers):
    """One lane's transport-delay events: every net's settled-before value (``buffers.initial``) and
    its transitions (``buffers.times``, ``values``, ``counts``) after the inputs switch at t = 0,
    cells in topological order with integer delays ``delays[c]`` fs. False if a net exceeded
    ``GATE_MAX_EVENTS`` transitions."""
    cell_kind, cell_inputs, cell_output = netlist.cell_kind, netlist.cell_inputs, netlist.cell_output
    input_nets, input_bus, input_bit = netlist.input_nets, netlist.input_bus, netlist.input_bit
    times, values, counts, initial, pointer, state = buffers
    counts[:] = 0
    initial[:] = 0
    initial[1] = 1
    for i in range(input_nets.shape[0]):
        net = input_nets[i]
        before = (old_buses[input_bus[i], lane] >> input_bit[i]) & 1
        after = (new_buses[input_bus[i], lane] >> input_bit[i]) & 1
        initial[net] = before
        if after != before:
            times[net, 0] = 0
            values[net, 0] = after
            counts[net] = 1
    for c in range(cell_kind.shape[0]):
        kind = cell_kind[c]
        arity = 2 if kind < 4 else 3
        for k in range(3):
            pointer[k] = 0
            state[k] = 0
        for k in range(arity):
            state[k] = initial[cell_inputs[c, k]]
        current = _cell_value(kind, state[0], state[1], state[2])
        out = cell_output[c]
        initial[out] = current
        delay = delays[c]
        while True:
            t = np.int64(-1)
            for k in range(arity):
                net = cell_inputs[c, k]
                if pointer[k] < counts[net]:
                    candidate = times[net, pointer[k]]
                    if t < 0 or candidate < t:
                        t = candidate
            if t < 0:
                break
            for k in range(arity):
                net = cell_inputs[c, k]
                while pointer[k] < counts[net] and times[net, pointer[k]] == t:
                    state[k] = values[net, pointer[k]]
                    pointer[k] += 1
            value = _cell_value(kind, state[0], state[1], state[2])
            if value != current:
                if counts[out] >= GATE_MAX_EVENTS:
                    return False
                times[out, counts[out]] = t + delay
                values[out, counts[out]] = value
                counts[out] += 1
                current = value
    return True


@njit(cache=True)
def gate_lanes(netlist, cell_delay, lane_factors, old_buses, new_buses, output_nets, t_sample, t_shadow, samples):
    """Exact event-driven transport-delay simulation of one clock cycle per lane (numba).

    The same algorithm as :func:`pe_models.gate.simulate_gate`: in topological order,
    each net's transitions are computed from its inputs' transitions; simultaneous
    input changes are evaluated together. Cell c of lane i has the delay
    ``max(1, rint(cell_delay[c] * lane_factors[i]))`` fs (``lane_factors`` of length 1
    applies to every lane).

    Parameters
    ----------
    netlist : GateNetlist
    cell_delay : float64 array, shape (cells,)
        Nominal delay of each cell (fs).
    lane_factors : float64 array, shape (lanes,) or (1,)
        Delay factor of each lane.
    old_buses, new_buses : int64 array, shape (buses, lanes)
        Input bus values before and after the clock edge.
    output_nets : int64 array, shape (output bits,)
        The sampled bus, bit 0 first.
    t_sample, t_shadow : int
        Sampling instants (fs) of the main and the shadow latch.
    samples : GateSamples
        Receives the samples of every lane.

    Returns
    -------
    bool
        False if a net exceeded ``GATE_MAX_EVENTS`` transitions (the caller then falls back
        to the Python level).
    """
    buffers = _event_buffers(netlist.n_nets)
    times, values, counts, initial, _, _ = buffers
    n_cells = netlist.cell_kind.shape[0]
    delays = np.empty(n_cells, dtype=np.int64)
    for lane in range(old_buses.shape[1]):
        factor = lane_factors[lane] if lane_factors.shape[0] > 1 else lane_factors[0]
        for c in range(n_cells):
            delays[c] = max(1, np.int64(np.rint(cell_delay[c] * factor)))
        if not _lane_events(lane, netlist, delays, old_buses, new_buses, buffers):
            return False
        latched_word = 0
        shadow_word = 0
        correct_word = 0
        for i in range(output_nets.shape[0]):
            net = output_nets[i]
            value = initial[net]
            late_value = value
            final = value
            last = 0
            for e in range(counts[net]):
                if times[net, e] <= t_sample:
                    value = values[net, e]
                if times[net, e] <= t_shadow:
                    late_value = values[net, e]
                final = values[net, e]
                last = times[net, e]
            latched_word |= np.int64(value) << i
            shadow_word |= np.int64(late_value) << i
            correct_word |= np.int64(final) << i
            samples.bit_settle[lane, i] = last
        samples.latched[lane] = latched_word
        samples.shadow[lane] = shadow_word
        samples.correct[lane] = correct_word
    return True


@njit(cache=True)
def net_toggle_lanes(netlist, cell_delay, old_buses, new_buses, toggles):
    """Transitions of every net in one clock cycle per lane, glitches included (numba).

    The event-driven transport-delay algorithm of :func:`gate_lanes` with integer cell
    delays ``cell_delay[c]`` fs (int64, shape (cells,)); writes ``toggles[lane, net]`` (int64,
    shape (lanes, nets)). Returns False if a net exceeded ``GATE_MAX_EVENTS`` transitions (the
    caller then uses the Python level).
    """
    buffers = _event_buffers(netlist.n_nets)
    counts = buffers.counts
    for lane in range(old_buses.shape[1]):
        if not _lane_events(lane, netlist, cell_delay, old_buses, new_buses, buffers):
            return False
        for net in range(netlist.n_nets):
            toggles[lane, net] = counts[net]
    return True
