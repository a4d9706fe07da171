"""numba kernels of the fast grid engine: one call runs one fold of the array.

Every MAC goes through :func:`pe_models._kernels.registered_mac` with the PE's previous
state, exactly as the detailed engine's PE objects do (see :mod:`sim.grid` for the
timeline and the fold-boundary convention). Accumulator values are unsigned bit patterns
masked to the accumulator width.

numba's on-disk cache does not notice changes to functions it inlined from other
modules, so a stale cached kernel could keep an old ``registered_mac``. On import this
module compares a hash of ``pe_models/_kernels.py`` with the one recorded beside its own
cache files and deletes them when it differs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from numba import njit

import pe_models.mac_kernels as _pe_kernels

__all__: list[str] = []


def _drop_stale_cache() -> None:
    """Delete this module's numba cache files when ``pe_models/_kernels.py`` has changed."""
    cache_dir = Path(__file__).with_name("__pycache__")
    try:
        digest = hashlib.sha256(_pe_kernels.KERNEL_SOURCE.read_bytes()).hexdigest()
        stamp = cache_dir / "_kernels.pe_models.sha256"
        if stamp.is_file() and stamp.read_text().strip() == digest:
            return
        if cache_dir.is_dir():
            for path in cache_dir.glob("_kernels.*.nb[ic]"):
                path.unlink(missing_ok=True)
        cache_dir.mkdir(exist_ok=True)
        stamp.write_text(digest + "\n")
    except OSError:
        return


_drop_stale_cache()

registered_mac = _pe_kernels.registered_mac
compound_mac_stream = _pe_kernels.compound_mac_stream
product_stage = _pe_kernels.product_stage
PARAM_CELLS = _pe_kernels.PARAM_CELLS
PARAM_LATE_PRODUCT = _pe_kernels.PARAM_LATE_PRODUCT
PARAM_CARRY_STEPS = _pe_kernels.PARAM_CARRY_STEPS


@njit(cache=True, inline="always")
def _record_flips(flips, detected, width, flip_counts, residual_counts):
    for bit in range(width):
        if (flips >> bit) & 1:
            flip_counts[bit] += 1
            if not detected:
                residual_counts[bit] += 1


@njit(cache=True, inline="always")
def _handle_error(
    flips,
    detected,
    cycle,
    r,
    c,
    width,
    record,
    flip_counts,
    residual_counts,
    cycle_flags,
    column_flags,
    events,
    n_events,
):
    """Book-keeping of one MAC with a non-zero flip mask; returns (new column detection, n_events)."""
    _record_flips(flips, detected, width, flip_counts, residual_counts)
    new_column_cycle = 0
    if detected:
        cycle_flags[cycle] = 1
        if column_flags[cycle] == 0:
            column_flags[cycle] = 1
            new_column_cycle = 1
    if record:
        if n_events < events.shape[0]:
            events[n_events, 0] = cycle
            events[n_events, 1] = r
            events[n_events, 2] = c
            events[n_events, 3] = flips
            events[n_events, 4] = 1 if detected else 0
        n_events += 1
    return new_column_cycle, n_events


@njit(cache=True)
def stationary_fold(
    row_stream,
    stationary,
    params,
    array_cols,
    offset,
    protected_mask,
    mask,
    width,
    record,
    out,
    flip_counts,
    residual_counts,
    cycle_flags,
    column_counts,
    column_flags,
    events,
):
    """One fold of a weight- or input-stationary array.

    Column by column, row by row: PE (r, c) sees the partial sums its upper neighbour
    passed down for every stream step, so its T MACs form one stream. With compound
    cells the latched values of a stream come from the vectorised
    :func:`pe_models._kernels.compound_mac_stream` (tested equal to consecutive
    ``registered_mac`` calls) and the settled values from the same product stage;
    otherwise every MAC calls ``registered_mac``.

    Parameters
    ----------
    row_stream : int8 array, shape (rows_used, T)
        Operand entering row r at stream step t.
    stationary : int8 array, shape (rows_used, cols_used)
        Operand held by PE (r, c).
    params : int64 array, shape (1 or R * C, PARAM_COUNT)
    array_cols : int
        C, for the per-PE parameter row ``r * C + c``.
    offset : int
        Fold-local cycle of PE (0, 0)'s first MAC (R).
    protected_mask, mask, width : int
        Protected bits, accumulator mask and width.
    record : bool
        Write error events (cycle, row, col, flip mask, detected) into `events`.
    out : int64 array, shape (cols_used, T)
        Receives the partial sums leaving each column (unsigned patterns).
    flip_counts, residual_counts : int64 array, shape (width,)
        Incremented per wrong bit (all MACs; undetected MACs only).
    cycle_flags : uint8 array, shape (busy_cycles,)
        Set to 1 for every fold-local cycle with a detection (zero on entry).
    column_counts : int64 array, shape (cols_used,)
        Receives the number of distinct cycles with a detection, per column.
    column_flags : uint8 array, shape (busy_cycles,)
        Scratch, zero on entry and on return.
    events : int64 array, shape (capacity, 5)

    Returns
    -------
    (erroneous, detections, n_events) : int
        ``n_events`` may exceed the capacity; then only the first rows were written.
    """
    rows_used = row_stream.shape[0]
    steps = row_stream.shape[1]
    cols_used = stationary.shape[1]
    per_pe = params.shape[0] > 1
    compound = params[0, PARAM_CELLS] == 0
    psum_in = np.zeros(steps, dtype=np.int64)
    psum_out = np.zeros(steps, dtype=np.int64)
    operand = np.empty(steps, dtype=np.int8)
    flips = np.empty(steps, dtype=np.int64)
    settled = np.empty(steps, dtype=np.int64)
    erroneous = 0
    detections = 0
    n_events = 0
    for c in range(cols_used):
        psum_in[:] = 0
        column_detections = 0
        for r in range(rows_used):
            row = params[r * array_cols + c] if per_pe else params[0]
            b = np.int64(stationary[r, c])
            stream = row_stream[r]
            any_flip = np.int64(0)
            if compound:
                operand[:] = stationary[r, c]
                compound_mac_stream(
                    stream, operand, psum_in, row[PARAM_LATE_PRODUCT], row[PARAM_CARRY_STEPS], mask, psum_out
                )
                previous = np.int64(0)
                for t in range(steps):
                    current = (np.int64(stream[t]) * b) & 0xFFFF
                    product = product_stage(previous, current, row)
                    previous = current
                    settled[t] = (psum_in[t] + (((product ^ 0x8000) - 0x8000) & mask)) & mask
                    flips[t] = (psum_out[t] ^ settled[t]) & mask
                    any_flip |= flips[t]
            else:
                prev_a = np.int64(0)
                prev_b = np.int64(0)
                prev_product = np.int64(0)
                prev_partial = np.int64(0)
                for t in range(steps):
                    a = np.int64(stream[t])
                    partial = psum_in[t]
                    latched, settled_value, product = registered_mac(
                        prev_a, prev_b, prev_product, prev_partial, a, b, partial, row
                    )
                    prev_a = a
                    prev_b = b
                    prev_product = product
                    prev_partial = partial
                    psum_out[t] = latched & mask
                    settled[t] = settled_value & mask
                    flips[t] = (latched ^ settled_value) & mask
                    any_flip |= flips[t]
            if any_flip != 0:
                base = offset + r + c
                for t in range(steps):
                    if flips[t] == 0:
                        continue
                    erroneous += 1
                    detected = (flips[t] & protected_mask) != 0
                    if detected:
                        detections += 1
                        psum_out[t] = settled[t]
                    new_cycle, n_events = _handle_error(
                        flips[t],
                        detected,
                        base + t,
                        r,
                        c,
                        width,
                        record,
                        flip_counts,
                        residual_counts,
                        cycle_flags,
                        column_flags,
                        events,
                        n_events,
                    )
                    column_detections += new_cycle
            psum_in, psum_out = psum_out, psum_in
        column_counts[c] = column_detections
        if column_detections:
            column_flags[:] = 0
        for t in range(steps):
            out[c, t] = psum_in[t]
    return erroneous, detections, n_events


@njit(cache=True)
def output_stationary_fold(
    row_stream,
    col_stream,
    params,
    array_cols,
    protected_mask,
    mask,
    width,
    record,
    out,
    flip_counts,
    residual_counts,
    cycle_flags,
    column_counts,
    column_flags,
    events,
):
    """One fold of an output-stationary array.

    PE (r, c) accumulates ``row_stream[r, t] * col_stream[c, t]`` over t in cycle
    ``t + r + c``; its accumulator register (from 0) is the adder's partial-sum input.
    Arguments and return value as :func:`stationary_fold`, with ``col_stream`` (cols_used, T)
    and ``out`` (rows_used, cols_used).
    """
    rows_used = row_stream.shape[0]
    steps = row_stream.shape[1]
    cols_used = col_stream.shape[0]
    per_pe = params.shape[0] > 1
    erroneous = 0
    detections = 0
    n_events = 0
    for c in range(cols_used):
        column_detections = 0
        for r in range(rows_used):
            row = params[r * array_cols + c] if per_pe else params[0]
            accumulator = np.int64(0)
            prev_a = np.int64(0)
            prev_b = np.int64(0)
            prev_product = np.int64(0)
            prev_partial = np.int64(0)
            base = r + c
            for t in range(steps):
                a = np.int64(row_stream[r, t])
                b = np.int64(col_stream[c, t])
                partial = accumulator
                latched, settled, product = registered_mac(
                    prev_a, prev_b, prev_product, prev_partial, a, b, partial, row
                )
                prev_a = a
                prev_b = b
                prev_product = product
                prev_partial = partial
                flips = (latched ^ settled) & mask
                if flips == 0:
                    accumulator = latched & mask
                    continue
                erroneous += 1
                detected = (flips & protected_mask) != 0
                if detected:
                    detections += 1
                    accumulator = settled & mask
                else:
                    accumulator = latched & mask
                new_cycle, n_events = _handle_error(
                    flips,
                    detected,
                    base + t,
                    r,
                    c,
                    width,
                    record,
                    flip_counts,
                    residual_counts,
                    cycle_flags,
                    column_flags,
                    events,
                    n_events,
                )
                column_detections += new_cycle
            out[r, c] = accumulator
        column_counts[c] = column_detections
        if column_detections:
            column_flags[:] = 0
    return erroneous, detections, n_events
