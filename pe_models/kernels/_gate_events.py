"""Event-driven simulation of a gate netlist with per-pin, per-edge delays, one clock cycle per lane.

The gate level's kernel (:func:`pe_models.gate.simulate_gate_fast`) and the net toggle counts of
the energy model.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

__all__: list[str] = []


GATE_MAX_EVENTS = 512

CELL_CODES = {"xor2": 0, "and2": 1, "or2": 2, "nand2": 3, "xor3": 4, "maj3": 5, "ao21": 6, "buf": 7}


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
    if kind == 7:
        return x
    return (x & y) | z


@njit(cache=True, inline="always")
def _lane_events(lane, netlist, delays, launch, old_buses, new_buses, buffers):
    """One lane's events: every net's settled-before value (``buffers.initial``) and its transitions
    (``buffers.times``, ``values``, ``counts``) after the clock edge at t = 0 (input bit i switches to
    v at ``launch[i, v]``), cells in topological order with integer arcs ``delays[c, k, e]`` fs (pin k,
    output edge e = the new value).

    The event rule of :mod:`pe_models.gate`: same-instant input changes are evaluated once; a new
    value different from the projected one is scheduled after the smallest arc of the pins that
    changed, deleting the output's pending transitions at or after it. False if a net exceeded
    the buffers' capacity (``GATE_MAX_EVENTS`` transitions for :func:`gate_lanes`)."""
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
            times[net, 0] = launch[i, after]
            values[net, 0] = after
            counts[net] = 1
    for c in range(cell_kind.shape[0]):
        kind = cell_kind[c]
        arity = 1 if kind == 7 else (2 if kind < 4 else 3)
        for k in range(3):
            pointer[k] = 0
            state[k] = 0
        for k in range(arity):
            state[k] = initial[cell_inputs[c, k]]
        out = cell_output[c]
        initial[out] = _cell_value(kind, state[0], state[1], state[2])
        projected = initial[out]
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
            changed = 0
            for k in range(arity):
                net = cell_inputs[c, k]
                if pointer[k] < counts[net] and times[net, pointer[k]] == t:
                    state[k] = values[net, pointer[k]]
                    pointer[k] += 1
                    changed |= 1 << k
            value = _cell_value(kind, state[0], state[1], state[2])
            if value == projected:
                continue
            delay = np.int64(-1)
            for k in range(arity):
                if (changed >> k) & 1:
                    arc = delays[c, k, value]
                    if delay < 0 or arc < delay:
                        delay = arc
            at = t + delay
            n = counts[out]
            while n > 0 and times[out, n - 1] >= at:
                n -= 1
            last = values[out, n - 1] if n > 0 else initial[out]
            if last != value:
                if n >= times.shape[1]:
                    return False
                times[out, n] = at
                values[out, n] = value
                n += 1
            counts[out] = n
            projected = value
    return True


@njit(cache=True)
def gate_lanes(
    netlist, cell_delay, input_launch, lane_factors, old_buses, new_buses, output_nets, t_sample, t_shadow, samples
):
    """Exact event-driven transport-delay simulation of one clock cycle per lane (numba).

    The same algorithm as :func:`pe_models.gate.simulate_gate`: in topological order,
    each net's transitions are computed from its inputs' transitions under the event rule
    of per-pin, per-edge delays. Arc (c, k, e) of lane i has the delay
    ``max(1, rint(cell_delay[c, k, e] * lane_factors[i]))`` fs (``lane_factors`` of length 1
    applies to every lane).

    Parameters
    ----------
    netlist : GateNetlist
    cell_delay : float64 array, shape (cells, 3, 2)
        Exact delay of each arc (cell, input pin, output edge: 0 fall, 1 rise), fs.
    input_launch : float64 array, shape (input bits, 2)
        Exact time after the clock edge at which each input bit falls (column 0) or rises,
        fs; lane i uses ``rint(input_launch * lane_factors[i])``.
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
    n_inputs = input_launch.shape[0]
    delays = np.empty((n_cells, 3, 2), dtype=np.int64)
    launch = np.empty((n_inputs, 2), dtype=np.int64)
    for lane in range(old_buses.shape[1]):
        if lane == 0 or lane_factors.shape[0] > 1:
            factor = lane_factors[lane] if lane_factors.shape[0] > 1 else lane_factors[0]
            for c in range(n_cells):
                for k in range(3):
                    for e in range(2):
                        delays[c, k, e] = max(1, np.int64(np.rint(cell_delay[c, k, e] * factor)))
            for i in range(n_inputs):
                for e in range(2):
                    launch[i, e] = np.int64(np.rint(input_launch[i, e] * factor))
        if not _lane_events(lane, netlist, delays, launch, old_buses, new_buses, buffers):
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

    The event-driven algorithm of :func:`gate_lanes` with integer delays ``cell_delay[c]`` fs
    (int64, shape (cells,): one per cell, on every pin and edge); writes ``toggles[lane, net]``
    (int64, shape (lanes, nets)). Returns False if a net exceeded ``GATE_MAX_EVENTS``
    transitions (the caller then uses the Python level).
    """
    buffers = _event_buffers(netlist.n_nets)
    counts = buffers.counts
    n_cells = netlist.cell_kind.shape[0]
    arcs = np.empty((n_cells, 3, 2), dtype=np.int64)
    for c in range(n_cells):
        arcs[c, :, :] = cell_delay[c]
    launch = np.zeros((netlist.input_nets.shape[0], 2), dtype=np.int64)
    for lane in range(old_buses.shape[1]):
        if not _lane_events(lane, netlist, arcs, launch, old_buses, new_buses, buffers):
            return False
        for net in range(netlist.n_nets):
            toggles[lane, net] = counts[net]
    return True


STAGE_HEADER = 5
"""Header words of an encoded stage (:func:`encoded_stage_samples`)."""


@njit(cache=True)
def encoded_stage_samples(old_buses, new_buses, words, start, t_sample, t_shadow):
    """Exact event simulation of one clock cycle of a netlist encoded in an int64 row.

    The array engines' route for stages without a closed form: the registered adder stage
    of a library whose arcs differ by pin, edge or instance (see
    :func:`pe_models.chain.closed_form_delays`) travels inside the MAC parameter row.

    Parameters
    ----------
    old_buses, new_buses : int64 array, shape (buses, 1)
        Input bus values before and after the clock edge.
    words : int64 array, shape (m,)
        From `start`: ``n_cells, n_nets, n_inputs, n_outputs, capacity`` (:data:`STAGE_HEADER`
        words), then the cell kinds (n_cells), input nets (3 n_cells, unused slots 0), output
        nets (n_cells), arcs in fs (6 n_cells, ``[c, k, e]`` row-major), the input nets, their
        buses and bits (n_inputs each), the inputs' launch times in fs (2 n_inputs, ``[i, e]``
        row-major) and the sampled output nets (n_outputs, bit 0 first).
        ``capacity`` transitions per net must be enough for the stage (2 width + 4 bounds
        a ripple-carry adder's nets).
    start : int
    t_sample, t_shadow : int
        Sampling instants, fs.

    Returns
    -------
    latched, shadow : int
        Unsigned output patterns at the two instants.
    """
    n_cells = words[start]
    n_nets = words[start + 1]
    n_inputs = words[start + 2]
    n_outputs = words[start + 3]
    capacity = words[start + 4]
    at = start + STAGE_HEADER
    kinds = words[at : at + n_cells]
    at += n_cells
    cell_inputs = words[at : at + 3 * n_cells].reshape((n_cells, 3))
    at += 3 * n_cells
    cell_output = words[at : at + n_cells]
    at += n_cells
    arcs = words[at : at + 6 * n_cells].reshape((n_cells, 3, 2))
    at += 6 * n_cells
    input_nets = words[at : at + n_inputs]
    input_bus = words[at + n_inputs : at + 2 * n_inputs]
    input_bit = words[at + 2 * n_inputs : at + 3 * n_inputs]
    at += 3 * n_inputs
    launch = words[at : at + 2 * n_inputs].reshape((n_inputs, 2))
    at += 2 * n_inputs
    output_nets = words[at : at + n_outputs]
    netlist = GateNetlist(kinds, cell_inputs, cell_output, input_nets, input_bus, input_bit, n_nets)
    buffers = _EventBuffers(
        np.empty((n_nets, capacity), dtype=np.int64),
        np.empty((n_nets, capacity), dtype=np.int8),
        np.zeros(n_nets, dtype=np.int64),
        np.zeros(n_nets, dtype=np.int8),
        np.zeros(3, dtype=np.int64),
        np.zeros(3, dtype=np.int8),
    )
    if not _lane_events(0, netlist, arcs, launch, old_buses, new_buses, buffers):
        raise ValueError("encoded stage: a net switched more often than its capacity")
    times, values, counts, initial, _, _ = buffers
    latched = 0
    shadow = 0
    for i in range(n_outputs):
        net = output_nets[i]
        value = initial[net]
        late_value = value
        for e in range(counts[net]):
            if times[net, e] <= t_sample:
                value = values[net, e]
            if times[net, e] <= t_shadow:
                late_value = values[net, e]
        latched |= np.int64(value) << i
        shadow |= np.int64(late_value) << i
    return latched, shadow
