"""numba kernels of the fast grid engine: one call runs one fold of the array.

Every MAC goes through :func:`pe_models.kernels.registered_mac` with the PE's previous
state, exactly as the detailed engine's PE objects do (see :mod:`sim.grid` for the
timeline and the fold-boundary convention). Accumulator values are unsigned bit patterns
masked to the accumulator width. Protected bits are Razor flip-flops: a MAC whose value at
``t_sample`` differs on a protected bit from its shadow value at ``t_sample + window``
(:func:`pe_models.kernels.registered_mac_shadow`) is detected (:func:`_razor`).

Protected product register bits: the parameter rows the engine passes already hold the
product register as recovered (``PARAM_LATE_PRODUCT`` without the bits a shadow latch
catches, :func:`sim.engine.product_razor_rows`), so every value kernel computes the MAC as
replayed with the shadow value; the fold kernels detect a MAC from its operands and the
row's ``product_masks`` (a caught product bit that changes) and count the silent ones (a
protected product bit later than the window that changes), and recover it with the
accumulator's detections (once when both detect).

A fold kernel takes its parameters as two records, :class:`FoldSetup` (what the fold is)
and :class:`FoldTallies` (what it counts into).

numba's on-disk cache does not notice changes to functions it inlined from other
modules, so a stale cached kernel could keep an old ``registered_mac``. On import this
module compares :data:`pe_models.kernels.SOURCE_DIGEST` with the one recorded beside its
own cache files and deletes them when it differs.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
from numba import njit

from pe_models.kernels import (
    LANE_GROUP,
    PARAM_BUFFER_MASK,
    PARAM_BUFFER_STEPS,
    PARAM_CARRY_STEPS,
    PARAM_CELLS,
    PARAM_LATE_PRODUCT,
    PARAM_SHADOW_BUFFER_STEPS,
    PARAM_SHADOW_STEPS,
    SCREEN_CHUNK,
    SCREEN_EAGER,
    SCREEN_LAZY,
    SCREEN_OFF,
    SOURCE_DIGEST,
    WRONG_GROUP,
    WRONG_WORDS,
    CompoundTiming,
    LaneScratch,
    add_tallies,
    compound_stationary_lanes,
    compound_stationary_screened,
    compound_stationary_stream,
    count_word_bits,
    drop_stale_cache,
    edge_scratch,
    edge_stationary_lanes,
    edge_stationary_stream,
    lane_flags,
    product_stage,
    registered_mac,
    registered_mac_shadow,
    tally_bits,
)

__all__: list[str] = []

drop_stale_cache(
    Path(__file__).with_name("__pycache__"), "_kernels.pe_models.sha256", "_kernels.*.nb[ic]", SOURCE_DIGEST
)


class FoldSetup(NamedTuple):
    """What one fold of :func:`stationary_fold` or :func:`output_stationary_fold` runs.

    Attributes
    ----------
    params : int64 array, shape (1 or R * C, PARAM_COUNT)
        Parameter rows of :func:`pe_models.chain.mac_parameters` (one for every PE, or per PE).
    array_cols : int
        C, for the per-PE parameter row ``r * C + c``.
    offset : int
        Fold-local cycle of PE (0, 0)'s first MAC (ws and is: R; unused by os).
    protected_mask, mask, width : int
        Protected bits, accumulator mask and width.
    recovery : int
        :data:`RECOVERY_CODES` of the policy.
    record : bool
        Write events (cycle, row, col, flip mask, detected) into ``FoldTallies.events``.
    product_masks : int64 array, shape (1 or R * C, 2)
        Per parameter row, the protected product bits a shadow latch catches (static arrival
        after the sampling instant, at most the window after it) and the protected product
        bits it misses (later); zeros without product protection.
    """

    params: np.ndarray
    array_cols: int
    offset: int
    protected_mask: int
    mask: int
    width: int
    recovery: int
    record: bool
    product_masks: np.ndarray


class FoldTallies(NamedTuple):
    """What one fold counts into (arrays the caller allocates).

    Attributes
    ----------
    flip_counts, residual_counts : int64 array, shape (width,)
        Incremented per wrong bit latched, and per wrong bit passed on.
    cycle_flags : uint8 array, shape (busy_cycles,)
        Set to 1 for every fold-local cycle with a detection (zero on entry).
    column_counts : int64 array, shape (cols_used,)
        Receives the number of distinct cycles with a detection, per column.
    column_flags : uint8 array, shape (busy_cycles,)
        Scratch, zero on entry and on return.
    depth : int32 array, shape (rows_used, T) with ``local``, else any
        Scratch of the local policy, zero on entry.
    events : int64 array, shape (capacity, 5)
    counts : int64 array, shape (COUNTER_COUNT,)
        Zero on entry; receives the counters (``EVENTS`` may exceed the capacity, then
        only the first rows were written; ``LOCAL_DEPTH``: the most replays on one
        monotone path of MACs).
    """

    flip_counts: np.ndarray
    residual_counts: np.ndarray
    cycle_flags: np.ndarray
    column_counts: np.ndarray
    column_flags: np.ndarray
    depth: np.ndarray
    events: np.ndarray
    counts: np.ndarray


RECOVERY_CODES = {"global": 0, "column": 1, "local": 2, "drop": 3}
"""Recovery policy -> the code the kernels take."""
LOCAL = 2
DROP = 3

ERRONEOUS = 0
DETECTIONS = 1
MISCORRECTIONS = 2
SILENT = 3
UNPROTECTED = 4
EVENTS = 5
LOCAL_DEPTH = 6
PRODUCT_DETECTIONS = 7
PRODUCT_SILENT = 8
COUNTER_COUNT = 9
"""Indices of the ``counts`` array the fold kernels fill (``DETECTIONS``: MACs recovered, with a
detection in either register; ``PRODUCT_DETECTIONS``: MACs whose product register detected;
``PRODUCT_SILENT``: MACs with a protected product bit wrong and not detected)."""


@njit(cache=True, inline="always")
def _product_razor(product, previous, caught, missed, counts):
    """Product register Razor of one MAC from its exact product and the previous MAC's: whether a
    protected product bit is caught (it changes and arrives inside the window), counted with the
    MACs whose changing protected product bits arrive after the window (silent)."""
    change = (product ^ previous) & 0xFFFF
    if change & missed:
        counts[PRODUCT_SILENT] += 1
    if change & caught:
        counts[PRODUCT_DETECTIONS] += 1
        return True
    return False


@njit(cache=True, inline="always")
def _razor(latched, settled, shadow, partial, protected_mask, mask, drop, counts, planes, product_hit):
    """Razor detection and correction of one MAC; returns (value passed on, detected).

    ``detected`` bits differ between the main sample and the shadow sample on a protected
    bit; `product_hit`: the product register detected (the values are already the replayed
    MAC's). A detected MAC passes on its shadow value on the protected bits (``drop``: the
    incoming partial sum, the MAC's contribution skipped). Counts: erroneous MACs (a
    wrong bit at ``t_sample``), detections, mis-corrections (a corrected bit whose shadow
    is not the settled value), silent protected errors (a wrong protected bit not
    detected), unprotected errors (a wrong unprotected bit); per bit (``planes`` 0 and 1,
    see :func:`pe_models.kernels.tally_bits`), wrong bits latched and wrong bits in the value passed on
    (dropped MACs excluded).
    """
    flips = (latched ^ settled) & mask
    detected_bits = (latched ^ shadow) & protected_mask
    value = latched
    dropped = False
    hit = detected_bits != 0 or product_hit
    if hit:
        counts[DETECTIONS] += 1
        if drop:
            value = partial & mask
            dropped = True
        else:
            value = latched ^ detected_bits
            if (shadow ^ settled) & detected_bits:
                counts[MISCORRECTIONS] += 1
    if flips != 0:
        counts[ERRONEOUS] += 1
        if flips & protected_mask & ~detected_bits:
            counts[SILENT] += 1
        if flips & ~protected_mask:
            counts[UNPROTECTED] += 1
        tally_bits(planes[0], flips)
    if not dropped:
        tally_bits(planes[1], (value ^ settled) & mask)
    return value, hit


@njit(cache=True, inline="always")
def _book(flips, detected, cycle, r, c, record, cycle_flags, column_flags, events, counts):
    """Detection cycles and the event record of one MAC; returns 1 for a new detection cycle of the column."""
    new_column_cycle = 0
    if detected:
        cycle_flags[cycle] = 1
        if column_flags[cycle] == 0:
            column_flags[cycle] = 1
            new_column_cycle = 1
    if record and (flips != 0 or detected):
        n = counts[EVENTS]
        if n < events.shape[0]:
            events[n, 0] = cycle
            events[n, 1] = r
            events[n, 2] = c
            events[n, 3] = flips
            events[n, 4] = 1 if detected else 0
        counts[EVENTS] = n + 1
    return new_column_cycle


@njit(cache=True, inline="always")
def _replay_depth(depth, r, detected, steps):
    """Local recovery: replays on the longest monotone path ending at each MAC of PE row r.

    ``depth[r, t]`` holds the value of the PE to the left (the previous column) on entry
    and of this PE on return: ``max(above, left, previous step) + detected[t]``.
    """
    own = depth[r]
    above = depth[r - 1] if r > 0 else depth[r]
    previous = np.int32(0)
    for t in range(steps):
        value = max(max(own[t], above[t]), previous) + detected[t]
        own[t] = value
        previous = value


@njit(cache=True)
def stationary_fold(row_stream, stationary, setup, out, tallies):
    """One fold of a weight- or input-stationary array.

    Column by column, row by row: PE (r, c) sees the partial sums its upper neighbour
    passed down for every stream step, so its T MACs form one stream. With compound
    cells the latched and settled values of a stream come from the vectorised
    :func:`pe_models.kernels.compound_stationary_stream` (tested equal to consecutive
    ``registered_mac`` calls); otherwise every MAC calls ``registered_mac``. The shadow value is computed for the
    MACs that can differ from their main sample: with compound cells those latched wrong
    (a carry vector that has settled at ``t_sample`` stays settled), with 2-input cells
    every MAC (a correct bit can still glitch later). Hold-buffered bits
    (``PARAM_BUFFER_MASK``) latch the stream's sums after ``PARAM_BUFFER_STEPS`` carry delays
    (a second pass, merged by the mask); a MAC then needs its shadow unless that earlier
    sample is settled on every bit. With compound cells and protected bits, when more than
    1/8 of a stream's MACs need their shadow, the stream's shadows come from the same
    vectorised kernel at the shadow instants (one or two passes; the buffered bits' pass is the
    main one's when both fit the same carry delays). Without protected bits
    and without an event record the wrong MACs of a stream are only counted (erroneous,
    unprotected, their bits latched and passed on): their flip masks are compacted, then
    counted bit by bit.

    Parameters
    ----------
    row_stream : int8 array, shape (rows_used, T)
        Operand entering row r at stream step t.
    stationary : int8 array, shape (rows_used, cols_used)
        Operand held by PE (r, c).
    setup : FoldSetup
    out : int64 array, shape (cols_used, T)
        Receives the partial sums leaving each column (unsigned patterns).
    tallies : FoldTallies
    """
    params, array_cols, offset, protected_mask, mask, width, recovery, record, product_masks = setup
    flip_counts, residual_counts, cycle_flags, column_counts, column_flags, depth, events, counts = tallies
    rows_used = row_stream.shape[0]
    steps = row_stream.shape[1]
    cols_used = stationary.shape[1]
    product_hits = np.zeros(steps, dtype=np.uint8)
    per_pe = params.shape[0] > 1
    compound = params[0, PARAM_CELLS] == 0
    drop = recovery == DROP
    local = recovery == LOCAL
    depth_active = False
    planes = np.zeros((2, 64), dtype=np.int64)
    psum_in = np.zeros(steps, dtype=np.int64)
    psum_out = np.zeros(steps, dtype=np.int64)
    scratch = np.empty(steps, dtype=np.uint8)
    settled = np.empty(steps, dtype=np.int64)
    early = np.empty(steps, dtype=np.int64)
    unsettled = np.zeros(steps, dtype=np.uint8)
    shadows = np.empty(steps, dtype=np.int64)
    shadows_early = np.empty(steps, dtype=np.int64)
    resettled = np.empty(steps, dtype=np.int64)
    detected = np.zeros(steps, dtype=np.int32)
    wrong = np.empty(steps, dtype=np.int64)
    for c in range(cols_used):
        psum_in[:] = 0
        column_detections = 0
        for r in range(rows_used):
            row = params[r * array_cols + c] if per_pe else params[0]
            b = np.int64(stationary[r, c])
            stream = row_stream[r]
            any_flip = np.int64(0)
            product_row = product_masks[r * array_cols + c] if per_pe else product_masks[0]
            caught, missed = product_row[0], product_row[1]
            any_product = False
            if caught != 0 or missed != 0:
                previous = np.int64(0)
                for t in range(steps):
                    product = (np.int64(stream[t]) * b) & 0xFFFF
                    hit = _product_razor(product, previous, caught, missed, counts)
                    product_hits[t] = 1 if hit else 0
                    any_product = any_product or hit
                    previous = product
            buffered = row[PARAM_BUFFER_MASK]
            if compound:
                any_flip = compound_stationary_stream(
                    stream,
                    b,
                    psum_in,
                    row[PARAM_LATE_PRODUCT],
                    row[PARAM_CARRY_STEPS],
                    mask,
                    psum_out,
                    settled,
                    scratch,
                )
                check_all = row[PARAM_CARRY_STEPS] < 0
                if buffered != 0:
                    early_flip = compound_stationary_stream(
                        stream,
                        b,
                        psum_in,
                        row[PARAM_LATE_PRODUCT],
                        row[PARAM_BUFFER_STEPS],
                        mask,
                        early,
                        settled,
                        scratch,
                    )
                    any_flip |= early_flip
                    for t in range(steps):
                        unsettled[t] = early[t] != settled[t]
                        psum_out[t] = (psum_out[t] & ~buffered) | (early[t] & buffered)
                    check_all = check_all or row[PARAM_BUFFER_STEPS] < 0
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
                    any_flip |= latched ^ settled_value
                check_all = True
            row_detected = False
            if any_flip != 0 and protected_mask == 0 and not record and not any_product:
                n_wrong = 0
                for t in range(steps):
                    flips = (psum_out[t] ^ settled[t]) & mask
                    wrong[n_wrong] = flips
                    n_wrong += 1 if flips != 0 else 0
                counts[ERRONEOUS] += n_wrong
                counts[UNPROTECTED] += n_wrong
                for bit in range(width):
                    total = 0
                    for i in range(n_wrong):
                        total += (wrong[i] >> bit) & 1
                    flip_counts[bit] += total
                    residual_counts[bit] += total
            elif any_flip != 0 or (check_all and protected_mask != 0) or any_product:
                base = offset + r + c
                every = check_all and protected_mask != 0
                vector_shadows = False
                if compound and protected_mask != 0:
                    needed = steps
                    if not every:
                        needed = 0
                        for t in range(steps):
                            if (psum_out[t] ^ settled[t]) & mask or (buffered != 0 and unsettled[t]):
                                needed += 1
                    vector_shadows = 8 * needed > steps
                if vector_shadows:
                    compound_stationary_stream(
                        stream,
                        b,
                        psum_in,
                        row[PARAM_LATE_PRODUCT],
                        row[PARAM_SHADOW_STEPS],
                        mask,
                        shadows,
                        resettled,
                        scratch,
                    )
                    if buffered != 0:
                        buffered_shadows = early
                        if row[PARAM_SHADOW_BUFFER_STEPS] != row[PARAM_BUFFER_STEPS]:
                            compound_stationary_stream(
                                stream,
                                b,
                                psum_in,
                                row[PARAM_LATE_PRODUCT],
                                row[PARAM_SHADOW_BUFFER_STEPS],
                                mask,
                                shadows_early,
                                resettled,
                                scratch,
                            )
                            buffered_shadows = shadows_early
                        for t in range(steps):
                            shadows[t] = (shadows[t] & ~buffered) | (buffered_shadows[t] & buffered)
                for t in range(steps):
                    flips = (psum_out[t] ^ settled[t]) & mask
                    hit_product = any_product and product_hits[t] != 0
                    if flips == 0 and not every and not (buffered != 0 and unsettled[t]) and not hit_product:
                        continue
                    shadow = psum_out[t]
                    if vector_shadows:
                        shadow = shadows[t]
                    elif protected_mask != 0:
                        prev_a = np.int64(0)
                        prev_b = np.int64(0)
                        prev_product = np.int64(0)
                        prev_partial = np.int64(0)
                        if t > 0:
                            prev_a = np.int64(stream[t - 1])
                            prev_b = b
                            before = (np.int64(stream[t - 2]) * b) & 0xFFFF if t > 1 else np.int64(0)
                            prev_product = product_stage(before, (prev_a * b) & 0xFFFF, row)
                            prev_partial = psum_in[t - 1]
                        shadow = registered_mac_shadow(
                            prev_a, prev_b, prev_product, prev_partial, np.int64(stream[t]), b, psum_in[t], row
                        )
                    value, hit = _razor(
                        psum_out[t],
                        settled[t],
                        shadow,
                        psum_in[t],
                        protected_mask,
                        mask,
                        drop,
                        counts,
                        planes,
                        hit_product,
                    )
                    psum_out[t] = value
                    if hit:
                        detected[t] = 1
                        row_detected = True
                    column_detections += _book(
                        flips, hit, base + t, r, c, record, cycle_flags, column_flags, events, counts
                    )
            if local:
                if row_detected:
                    depth_active = True
                if depth_active:
                    _replay_depth(depth, r, detected, steps)
            if row_detected:
                detected[:] = 0
            psum_in, psum_out = psum_out, psum_in
        column_counts[c] = column_detections
        if column_detections:
            column_flags[:] = 0
        for t in range(steps):
            out[c, t] = psum_in[t]
    if local and depth_active:
        counts[LOCAL_DEPTH] = depth[rows_used - 1, steps - 1]
    add_tallies(planes[0], width, flip_counts)
    add_tallies(planes[1], width, residual_counts)


_BYTE_COUNT_STREAMS = 255
"""Streams whose wrong bits the byte-wide counters of :func:`edge_stationary_fold` take before a flush."""


@njit(cache=True)
def _razor_lanes(latched, settled, shadows, partial, hits, protected_mask, mask, drop, words, detected, counts):
    """:func:`_razor` of one PE's stream of MACs, a lane per step (branch-free loops).

    ``latched[t]`` receives the value MAC t passes on, ``words[0, t]`` and ``words[1, t]`` (uint32)
    its wrong bits latched and passed on (0 for a dropped MAC), ``detected[t]`` 1 when it is
    recovered (a protected bit differs from its shadow, or ``hits[t]``: its product register
    detected); the counters are added to `counts`. Returns the number of recovered MACs.
    """
    steps = latched.shape[0]
    unprotected_mask = mask & ~protected_mask
    erroneous = 0
    detections = 0
    miscorrections = 0
    silent = 0
    unprotected = 0
    if drop:
        for t in range(steps):
            value = latched[t]
            correct = settled[t]
            flips = (value ^ correct) & mask
            caught = (value ^ shadows[t]) & protected_mask
            hit = caught != 0 or hits[t] != 0
            select = -np.int64(1 if hit else 0)
            latched[t] = (value & ~select) | (partial[t] & mask & select)
            words[0, t] = np.uint32(flips)
            words[1, t] = np.uint32(flips & ~select)
            detected[t] = 1 if hit else 0
            detections += 1 if hit else 0
            erroneous += 1 if flips != 0 else 0
            silent += 1 if flips & protected_mask & ~caught else 0
            unprotected += 1 if flips & unprotected_mask else 0
    else:
        for t in range(steps):
            value = latched[t]
            correct = settled[t]
            flips = (value ^ correct) & mask
            caught = (value ^ shadows[t]) & protected_mask
            hit = caught != 0 or hits[t] != 0
            passed = value ^ caught
            latched[t] = passed
            words[0, t] = np.uint32(flips)
            words[1, t] = np.uint32((passed ^ correct) & mask)
            detected[t] = 1 if hit else 0
            detections += 1 if hit else 0
            miscorrections += 1 if (shadows[t] ^ correct) & caught else 0
            erroneous += 1 if flips != 0 else 0
            silent += 1 if flips & protected_mask & ~caught else 0
            unprotected += 1 if flips & unprotected_mask else 0
    counts[ERRONEOUS] += erroneous
    counts[DETECTIONS] += detections
    counts[MISCORRECTIONS] += miscorrections
    counts[SILENT] += silent
    counts[UNPROTECTED] += unprotected
    return detections


@njit(cache=True)
def _count_bytes(counters, words, steps):
    """Add bit ``8 b + j`` of ``words[k, t]`` to byte b of ``counters[k, j, t]`` (k = 0, 1)."""
    ones = np.uint32(0x01010101)
    for k in range(2):
        source = words[k]
        for j in range(8):
            row = counters[k, j]
            shift = np.uint32(j)
            for t in range(steps):
                row[t] = np.uint32(row[t] + np.uint32((source[t] >> shift) & ones))


@njit(cache=True)
def _flush_bytes(counters, flip_counts, residual_counts):
    """Add the byte-wide counters of :func:`_count_bytes` to the per-bit counts and zero them."""
    width = flip_counts.shape[0]
    for k in range(2):
        target = flip_counts if k == 0 else residual_counts
        for j in range(8):
            row = counters[k, j]
            for byte in range(4):
                bit = 8 * byte + j
                total = 0
                for t in range(row.shape[0]):
                    total += (np.int64(row[t]) >> (8 * byte)) & 0xFF
                if bit < width:
                    target[bit] += total
            row[:] = 0


@njit(cache=True)
def edge_stationary_fold(row_stream, stationary, setup, main, shadow, out, tallies):
    """One fold of a weight- or input-stationary array of PEs on the per-edge model sharing one
    ``CELLS_EDGE`` parameter row without hold buffers, accumulators of at most 32 bits: the values
    and counters of :func:`stationary_fold` for that case, bit for bit, with any protection, recovery
    and event record.

    Column by column, row by row as :func:`stationary_fold`: each PE's stream of T MACs takes its
    latched and settled sums from :func:`pe_models.kernels.edge_stationary_stream` with the main
    sample's table and, with protected bits, its shadow samples from the same kernel with the shadow
    sample's table (a lane per step). Razor detection and correction then run over the stream's
    lanes too (:func:`_razor_lanes`; wrong bits in byte-wide counters per lane, detection cycles
    as flags); with an event record only the MACs that latched a wrong value, differ from their
    shadow on a protected bit or have a product register detection go through the per-MAC
    :func:`_razor` and :func:`_book` (for any other MAC both are no-ops).

    Parameters
    ----------
    row_stream, stationary, setup, out, tallies
        As :func:`stationary_fold` (``setup.params`` and ``setup.product_masks`` of one row).
    main, shadow : EdgeForm
        :func:`pe_models.kernels.edge_form` of the row's main-sample and shadow-sample tables
        (``shadow`` is not read without protected bits).
    """
    _, _, offset, protected_mask, mask, width, recovery, record, product_masks = setup
    flip_counts, residual_counts, cycle_flags, column_counts, column_flags, depth, events, counts = tallies
    rows_used = row_stream.shape[0]
    steps = row_stream.shape[1]
    cols_used = stationary.shape[1]
    caught, missed = product_masks[0, 0], product_masks[0, 1]
    with_product = caught != 0 or missed != 0
    drop = recovery == DROP
    local = recovery == LOCAL
    depth_active = False
    planes = np.zeros((2, 64), dtype=np.int64)
    scratch = edge_scratch(steps)
    psum_in = np.zeros(steps, dtype=np.int64)
    psum_out = np.zeros(steps, dtype=np.int64)
    settled = np.empty(steps, dtype=np.int64)
    shadows = np.empty(steps, dtype=np.int64)
    resettled = np.empty(steps, dtype=np.int64)
    product_hits = np.zeros(steps, dtype=np.uint8)
    detected = np.zeros(steps, dtype=np.int32)
    wrong = np.empty(steps, dtype=np.int64)
    words = np.empty((2, steps), dtype=np.uint32)
    counters = np.zeros((2, 8, steps), dtype=np.uint32)
    pending = 0
    for c in range(cols_used):
        psum_in[:] = 0
        column_detections = 0
        for r in range(rows_used):
            stream = row_stream[r]
            weight = stationary[r, c]
            any_product = False
            if with_product:
                b = np.int64(weight)
                previous = np.int64(0)
                for t in range(steps):
                    product = (np.int64(stream[t]) * b) & 0xFFFF
                    hit = _product_razor(product, previous, caught, missed, counts)
                    product_hits[t] = 1 if hit else 0
                    any_product = any_product or hit
                    previous = product
            any_flip = edge_stationary_stream(stream, weight, psum_in, main, scratch, psum_out, settled)
            if protected_mask != 0:
                edge_stationary_stream(stream, weight, psum_in, shadow, scratch, shadows, resettled)
            else:
                for t in range(steps):
                    shadows[t] = psum_out[t]
            row_detected = False
            base = offset + r + c
            if protected_mask == 0 and not record and not any_product:
                if any_flip != 0:
                    n_wrong = 0
                    for t in range(steps):
                        flips = (psum_out[t] ^ settled[t]) & mask
                        wrong[n_wrong] = flips
                        n_wrong += 1 if flips != 0 else 0
                    counts[ERRONEOUS] += n_wrong
                    counts[UNPROTECTED] += n_wrong
                    for bit in range(width):
                        total = 0
                        for i in range(n_wrong):
                            total += (wrong[i] >> bit) & 1
                        flip_counts[bit] += total
                        residual_counts[bit] += total
            elif not record:
                hits = _razor_lanes(
                    psum_out,
                    settled,
                    shadows,
                    psum_in,
                    product_hits,
                    protected_mask,
                    mask,
                    drop,
                    words,
                    detected,
                    counts,
                )
                _count_bytes(counters, words, steps)
                pending += 1
                if pending == _BYTE_COUNT_STREAMS:
                    _flush_bytes(counters, flip_counts, residual_counts)
                    pending = 0
                if hits:
                    row_detected = True
                    for t in range(steps):
                        flag = np.uint8(detected[t])
                        cycle_flags[base + t] |= flag
                        column_flags[base + t] |= flag
            elif any_flip != 0 or protected_mask != 0 or any_product:
                for t in range(steps):
                    latched = psum_out[t]
                    flips = (latched ^ settled[t]) & mask
                    hit_product = any_product and product_hits[t] != 0
                    if flips == 0 and (latched ^ shadows[t]) & protected_mask == 0 and not hit_product:
                        continue
                    value, hit = _razor(
                        latched,
                        settled[t],
                        shadows[t],
                        psum_in[t],
                        protected_mask,
                        mask,
                        drop,
                        counts,
                        planes,
                        hit_product,
                    )
                    psum_out[t] = value
                    if hit:
                        detected[t] = 1
                        row_detected = True
                    column_detections += _book(
                        flips, hit, base + t, r, c, record, cycle_flags, column_flags, events, counts
                    )
            if local:
                if row_detected:
                    depth_active = True
                if depth_active:
                    _replay_depth(depth, r, detected, steps)
            if row_detected:
                detected[:] = 0
            psum_in, psum_out = psum_out, psum_in
        if not record:
            first = offset + c
            for cycle in range(first, min(column_flags.shape[0], first + rows_used - 1 + steps)):
                column_detections += column_flags[cycle]
                column_flags[cycle] = 0
        column_counts[c] = column_detections
        if column_detections:
            column_flags[:] = 0
        for t in range(steps):
            out[c, t] = psum_in[t]
    if local and depth_active:
        counts[LOCAL_DEPTH] = depth[rows_used - 1, steps - 1]
    _flush_bytes(counters, flip_counts, residual_counts)
    add_tallies(planes[0], width, flip_counts)
    add_tallies(planes[1], width, residual_counts)


_UNSCREENED_STREAMS = 15
"""Streams (rows) run without screening after one in which many chunks (lane groups) had a suspect (then one
is screened again)."""
_EAGER_FLAGS = 0.02
"""Fraction of flagged lane groups in a row above which the next row flags its lanes in the settle pass
(:data:`pe_models.kernels.SCREEN_EAGER`)."""
_ROW_BREAK_EVEN = 0.6
_COLUMN_BREAK_EVEN = 0.75
"""Fractions of flagged lane groups (of a row) or chunks (of a column stream) above which screening costs
more than evaluating every MAC in closed form (measured on MobileNetV2's folds at 0.5 V)."""
_ROW_COLUMNS = 16
_ROW_STEPS = 1024
"""Folds of at least ``_ROW_COLUMNS`` columns and at most ``_ROW_STEPS`` stream steps run row by row, the
columns in the vector lanes (:func:`pe_models.kernels.compound_stationary_lanes`); other folds run
column by column, the steps in the vector lanes (measured on MobileNetV2's layers at 0.5 V)."""
_ROW_BLOCK_ELEMENTS = 262144
_ROW_MIN_BLOCK = 64
"""Row-by-row folds run in blocks of ``max(_ROW_MIN_BLOCK, _ROW_BLOCK_ELEMENTS // columns)`` steps (two
uint32 partial-sum blocks of at most 1 MiB each for up to 4096 columns; an array of at most 256 columns
splits only streams longer than 1024 steps)."""


@njit(cache=True)
def screened_stationary_fold(row_stream, stationary, timing, outputs, time_major, words, bit_counts):
    """One fold of a weight- or input-stationary array of compound-cell PEs sharing one parameter
    row, without protection or event record, accumulators of at most 32 bits, ``steps >= 0``.

    The values and counters of :func:`stationary_fold` for that case, bit for bit, from
    :func:`pe_models.kernels.compound_stationary_screened` (uint32 partial sums,
    chunks without a possible stale carry settled in one vectorised pass). Arguments as
    :func:`stationary_fold`, except that the parameter row is `timing` (a
    :class:`pe_models.kernels.CompoundTiming`), the fold's outputs are added (wrapped to
    ``timing.width`` bits) into ``outputs`` (int64, ``[t, c]`` when `time_major`, else ``[c, t]``)
    instead of written to a tile, the wrong bits per position are added to ``bit_counts``
    (int64, shape (>= width,)), ``words`` (uint32, shape (WRONG_WORDS,)) is scratch, and the
    number of MACs that latched a wrong value is returned. Row 0 adds its products to zero
    partial sums after zero partial sums: no carry, new or old, hence no stale one, so its
    MACs are only settled.
    """
    columns = stationary.shape[1]
    if columns >= _ROW_COLUMNS and row_stream.shape[1] <= _ROW_STEPS:
        return _screened_rows(row_stream, stationary, timing, outputs, time_major, words, bit_counts)
    return _screened_columns(row_stream, stationary, timing, outputs, time_major, words, bit_counts)


@njit(cache=True)
def screened_stationary_groups(streams, stationaries, weight_stationary, rows, cols, timing, outputs, bit_counts):
    """Every fold of a grouped ws or is GEMM through :func:`screened_stationary_fold`, in mapping order
    (group, column fold, row fold), each fold's outputs added into `outputs`.

    Parameters
    ----------
    streams : int8 array, shape (G, K, T)
        The streamed operand per group and row: ``A[g].T`` (T = M) in ws, ``B[g]`` (T = N) in is.
    stationaries : int8 array, shape (G, K, S)
        The stationary operand: ``B[g]`` (S = N) in ws, ``A[g].T`` (S = M) in is.
    weight_stationary : bool
        ws (a fold's outputs go to ``outputs[g, t, n]``, t = m) or is (to ``outputs[g, m, t]``,
        t = n).
    rows, cols : int
        Array shape.
    timing : CompoundTiming
        As :func:`screened_stationary_fold`.
    outputs : int64 array, shape (G, M, N)
        Output buffer (signed `width`-bit values); the tiles are added into it.
    bit_counts : int64 array, shape (>= width,)
        Receives (adds) the wrong bits latched per bit position, summed over the folds (they are
        also the wrong bits passed on: nothing is corrected).

    Returns
    -------
    int
        MACs that latched a wrong value (all unprotected).

    Each fold's stationary block is copied contiguous (a strided block would keep the lanes
    kernel from loading the PEs' operands as one vector).
    """
    groups, depth = streams.shape[0], streams.shape[1]
    spatial = stationaries.shape[2]
    words = np.empty(WRONG_WORDS, dtype=np.uint32)
    wrong = 0
    for g in range(groups):
        for col_start in range(0, spatial, cols):
            col_stop = min(spatial, col_start + cols)
            for row_start in range(0, depth, rows):
                row_stop = min(depth, row_start + rows)
                wrong += screened_stationary_fold(
                    streams[g, row_start:row_stop],
                    np.ascontiguousarray(stationaries[g, row_start:row_stop, col_start:col_stop]),
                    timing,
                    outputs[g, :, col_start:col_stop] if weight_stationary else outputs[g, col_start:col_stop, :],
                    weight_stationary,
                    words,
                    bit_counts,
                )
    return wrong


@njit(cache=True, inline="always")
def _unscreened_after(unscreened, flagged, screened_groups, break_even):
    """Streams (or rows) still to run unscreened after one that had `unscreened` left and, when it was
    screened, `flagged` of its `screened_groups` groups with a suspect: counts down, or starts
    :data:`_UNSCREENED_STREAMS` after a stream with at least the fraction `break_even` flagged
    (where evaluating every MAC in closed form costs as much as screening)."""
    if unscreened > 0:
        return unscreened - 1
    return _UNSCREENED_STREAMS if flagged >= break_even * screened_groups else 0


@njit(cache=True, inline="always")
def _row_zero(timing):
    """`timing` for row 0 of a fold, whose MACs all settle (see :func:`screened_stationary_fold`)."""
    return CompoundTiming(timing.late_product, timing.width, timing.width)


@njit(cache=True)
def _screened_rows(row_stream, stationary, timing, outputs, time_major, words, bit_counts):
    """:func:`screened_stationary_fold` row by row, the columns in the vector lanes, in blocks of steps.

    A block of ``max(_ROW_MIN_BLOCK, _ROW_BLOCK_ELEMENTS // cols)`` steps runs through every row before the
    next block (its partial sums stay in cache). Each row's block starts two steps early
    (``first`` of :func:`pe_models.kernels.compound_stationary_lanes`): the step before
    the block holds the row's incoming and latched sums saved from the previous block, the
    one before it only supplies a stream operand (a late product bit's old value).
    """
    rows_used = row_stream.shape[0]
    steps_t = row_stream.shape[1]
    cols_used = stationary.shape[1]
    width = timing.width
    first_row = _row_zero(timing)
    block = max(_ROW_MIN_BLOCK, _ROW_BLOCK_ELEMENTS // cols_used)
    span = min(steps_t, block) + 2
    psum_a = np.empty((span, cols_used), dtype=np.uint32)
    psum_b = np.empty((span, cols_used), dtype=np.uint32)
    saved = np.empty((rows_used, cols_used), dtype=np.uint32)
    scratch = LaneScratch(
        np.empty(span * ((cols_used + WRONG_GROUP - 1) // WRONG_GROUP), dtype=np.uint32),
        words,
        lane_flags(cols_used),
    )
    eights = (cols_used + LANE_GROUP - 1) // LANE_GROUP
    wrong = 0
    unscreened = 0
    eager = False
    for start in range(0, steps_t, block):
        stop = min(steps_t, start + block)
        lead = min(start, 2)
        length = stop - start + lead
        groups = (length - max(lead, 1)) * eights
        psum_in = psum_a[:length]
        psum_out = psum_b[:length]
        psum_in[:] = 0
        for r in range(rows_used):
            if lead:
                for c in range(cols_used):  # element by element: a row assignment compiles a shape check
                    psum_out[lead - 1, c] = saved[r, c]
            mode = SCREEN_OFF if unscreened else (SCREEN_EAGER if eager else SCREEN_LAZY)
            count, flagged = compound_stationary_lanes(
                row_stream[r, start - lead : stop],
                stationary[r],
                psum_in,
                psum_out,
                timing if r > 0 else first_row,
                mode,
                lead,
                scratch,
                bit_counts,
            )
            for c in range(cols_used):
                saved[r, c] = psum_out[length - 1, c]
            wrong += count
            if r > 0 and mode != SCREEN_OFF:
                eager = flagged >= _EAGER_FLAGS * groups
            unscreened = _unscreened_after(unscreened, flagged, groups, _ROW_BREAK_EVEN)
            psum_in, psum_out = psum_out, psum_in
        if time_major:
            add_tile(outputs[start:stop], psum_in[lead:], False, width)
        else:
            add_tile(outputs[:, start:stop], psum_in[lead:], True, width)
    return wrong


@njit(cache=True)
def _screened_columns(row_stream, stationary, timing, outputs, time_major, words, bit_counts):
    """:func:`screened_stationary_fold` column by column, the stream steps in the vector lanes."""
    rows_used = row_stream.shape[0]
    steps_t = row_stream.shape[1]
    cols_used = stationary.shape[1]
    first_row = _row_zero(timing)
    psum_in = np.empty(steps_t, dtype=np.uint32)
    psum_out = np.empty(steps_t, dtype=np.uint32)
    out = np.empty((cols_used, steps_t), dtype=np.uint32)
    wrong = 0
    chunks = max(1, (steps_t - 2 + SCREEN_CHUNK - 1) // SCREEN_CHUNK)
    unscreened = 0
    for c in range(cols_used):
        psum_in[:] = 0
        for r in range(rows_used):
            count, flagged = compound_stationary_screened(
                row_stream[r],
                stationary[r, c],
                psum_in,
                psum_out,
                timing if r > 0 else first_row,
                unscreened == 0,
                words,
                bit_counts,
            )
            wrong += count
            unscreened = _unscreened_after(unscreened, flagged, chunks, _COLUMN_BREAK_EVEN)
            psum_in, psum_out = psum_out, psum_in
        for t in range(steps_t):
            out[c, t] = psum_in[t]
    add_tile(outputs, out, time_major, timing.width)
    return wrong


@njit(cache=True)
def edge_stationary_groups(streams, stationaries, weight_stationary, rows, cols, form, width, outputs, bit_counts):
    """Every fold of a grouped ws or is GEMM of PEs on the per-edge model sharing one ``CELLS_EDGE``
    parameter row, without protection, hold buffers or event record, accumulators of at most 32
    bits: the values and counters of :func:`stationary_fold` for that case, bit for bit, from
    :func:`pe_models.kernels.edge_stationary_lanes` (row by row, the columns in the lanes) or, for
    folds of fewer than ``_ROW_COLUMNS`` columns, :func:`pe_models.kernels.edge_stationary_stream`
    (column by column, the steps in the lanes).

    Arguments as :func:`screened_stationary_groups`, with `form` the row's main-sample
    :class:`pe_models.kernels.EdgeForm` and `width` the accumulator width in place of the
    compound timing.

    Returns
    -------
    int
        MACs that latched a wrong value (all unprotected).
    """
    groups, depth = streams.shape[0], streams.shape[1]
    spatial = stationaries.shape[2]
    words = np.empty(WRONG_WORDS, dtype=np.uint32)
    wrong = 0
    for g in range(groups):
        for col_start in range(0, spatial, cols):
            col_stop = min(spatial, col_start + cols)
            for row_start in range(0, depth, rows):
                row_stop = min(depth, row_start + rows)
                block = np.ascontiguousarray(stationaries[g, row_start:row_stop, col_start:col_stop])
                target = outputs[g, :, col_start:col_stop] if weight_stationary else outputs[g, col_start:col_stop, :]
                stream = streams[g, row_start:row_stop]
                if col_stop - col_start >= _ROW_COLUMNS:
                    wrong += _edge_rows(stream, block, form, width, target, weight_stationary, bit_counts)
                else:
                    wrong += _edge_columns(stream, block, form, width, target, weight_stationary, words, bit_counts)
    return wrong


@njit(cache=True)
def _edge_rows(row_stream, stationary, form, width, outputs, time_major, bit_counts):
    """One fold of :func:`edge_stationary_groups` row by row, the columns in the vector lanes, in blocks of
    steps as :func:`_screened_rows` (each row's block starts two steps early)."""
    rows_used = row_stream.shape[0]
    steps_t = row_stream.shape[1]
    cols_used = stationary.shape[1]
    block = max(_ROW_MIN_BLOCK, _ROW_BLOCK_ELEMENTS // cols_used)
    span = min(steps_t, block) + 2
    psum_a = np.empty((span, cols_used), dtype=np.uint32)
    psum_b = np.empty((span, cols_used), dtype=np.uint32)
    saved = np.empty((rows_used, cols_used), dtype=np.uint32)
    scratch = edge_scratch(cols_used)
    wrong = 0
    for start in range(0, steps_t, block):
        stop = min(steps_t, start + block)
        lead = min(start, 2)
        length = stop - start + lead
        psum_in = psum_a[:length]
        psum_out = psum_b[:length]
        psum_in[:] = 0
        for r in range(rows_used):
            if lead:
                for c in range(cols_used):
                    psum_out[lead - 1, c] = saved[r, c]
            wrong += edge_stationary_lanes(
                row_stream[r, start - lead : stop], stationary[r], psum_in, psum_out, form, lead, scratch, bit_counts
            )
            for c in range(cols_used):
                saved[r, c] = psum_out[length - 1, c]
            psum_in, psum_out = psum_out, psum_in
        if time_major:
            add_tile(outputs[start:stop], psum_in[lead:], False, width)
        else:
            add_tile(outputs[:, start:stop], psum_in[lead:], True, width)
    return wrong


@njit(cache=True)
def _edge_columns(row_stream, stationary, form, width, outputs, time_major, words, bit_counts):
    """One fold of :func:`edge_stationary_groups` column by column, the stream steps in the vector lanes."""
    rows_used = row_stream.shape[0]
    steps_t = row_stream.shape[1]
    cols_used = stationary.shape[1]
    scratch = edge_scratch(steps_t)
    psum_in = np.empty(steps_t, dtype=np.int64)
    psum_out = np.empty(steps_t, dtype=np.int64)
    settled = np.empty(steps_t, dtype=np.int64)
    out = np.empty((cols_used, steps_t), dtype=np.int64)
    wrong = 0
    fill = 0
    for c in range(cols_used):
        psum_in[:] = 0
        for r in range(rows_used):
            if edge_stationary_stream(row_stream[r], stationary[r, c], psum_in, form, scratch, psum_out, settled):
                for t in range(steps_t):
                    flip = np.uint32(psum_out[t] ^ settled[t])
                    if flip != 0:
                        if fill == WRONG_WORDS:
                            count_word_bits(words, fill, bit_counts)
                            fill = 0
                        words[fill] = flip
                        fill += 1
                        wrong += 1
            psum_in, psum_out = psum_out, psum_in
        for t in range(steps_t):
            out[c, t] = psum_in[t]
    count_word_bits(words, fill, bit_counts)
    add_tile(outputs, out, time_major, width)
    return wrong


@njit(cache=True)
def output_stationary_fold(row_stream, col_stream, setup, out, tallies):
    """One fold of an output-stationary array.

    PE (r, c) accumulates ``row_stream[r, t] * col_stream[c, t]`` over t in cycle
    ``t + r + c``; its accumulator register (from 0) is the adder's partial-sum input.
    Arguments as :func:`stationary_fold`, with ``col_stream`` (cols_used, T) and ``out``
    (rows_used, cols_used); ``setup.offset`` is not used.
    """
    params, array_cols, _, protected_mask, mask, width, recovery, record, product_masks = setup
    flip_counts, residual_counts, cycle_flags, column_counts, column_flags, depth, events, counts = tallies
    rows_used = row_stream.shape[0]
    steps = row_stream.shape[1]
    cols_used = col_stream.shape[0]
    per_pe = params.shape[0] > 1
    compound = params[0, PARAM_CELLS] == 0
    drop = recovery == DROP
    local = recovery == LOCAL
    depth_active = False
    planes = np.zeros((2, 64), dtype=np.int64)
    detected = np.zeros(steps, dtype=np.int32)
    for c in range(cols_used):
        column_detections = 0
        for r in range(rows_used):
            row = params[r * array_cols + c] if per_pe else params[0]
            check_all = protected_mask != 0 and (
                not compound or row[PARAM_CARRY_STEPS] < 0 or row[PARAM_BUFFER_MASK] != 0
            )
            product_row = product_masks[r * array_cols + c] if per_pe else product_masks[0]
            caught, missed = product_row[0], product_row[1]
            accumulator = np.int64(0)
            prev_a = np.int64(0)
            prev_b = np.int64(0)
            prev_product = np.int64(0)
            prev_partial = np.int64(0)
            base = r + c
            row_detected = False
            for t in range(steps):
                a = np.int64(row_stream[r, t])
                b = np.int64(col_stream[c, t])
                partial = accumulator
                latched, settled, product = registered_mac(
                    prev_a, prev_b, prev_product, prev_partial, a, b, partial, row
                )
                flips = (latched ^ settled) & mask
                hit_product = False
                if caught != 0 or missed != 0:
                    hit_product = _product_razor((a * b) & 0xFFFF, (prev_a * prev_b) & 0xFFFF, caught, missed, counts)
                if flips == 0 and not check_all and not hit_product:
                    accumulator = latched & mask
                else:
                    shadow = latched & mask
                    if protected_mask != 0:
                        shadow = registered_mac_shadow(prev_a, prev_b, prev_product, prev_partial, a, b, partial, row)
                    value, hit = _razor(
                        latched & mask,
                        settled & mask,
                        shadow,
                        partial,
                        protected_mask,
                        mask,
                        drop,
                        counts,
                        planes,
                        hit_product,
                    )
                    accumulator = value
                    if hit:
                        detected[t] = 1
                        row_detected = True
                    column_detections += _book(
                        flips, hit, base + t, r, c, record, cycle_flags, column_flags, events, counts
                    )
                prev_a = a
                prev_b = b
                prev_product = product
                prev_partial = partial
            out[r, c] = accumulator
            if local:
                if row_detected:
                    depth_active = True
                if depth_active:
                    _replay_depth(depth, r, detected, steps)
            if row_detected:
                detected[:] = 0
        column_counts[c] = column_detections
        if column_detections:
            column_flags[:] = 0
    if local and depth_active:
        counts[LOCAL_DEPTH] = depth[rows_used - 1, steps - 1]
    add_tallies(planes[0], width, flip_counts)
    add_tallies(planes[1], width, residual_counts)


@njit(cache=True)
def add_tile(outputs, tile, transposed, width):
    """``outputs += tile`` (or ``tile.T``), wrapped to a `width`-bit two's-complement accumulator.

    Parameters
    ----------
    outputs : int64 array, shape (rows, cols)
        Signed values (a view of the output buffer, any strides).
    tile : int64 or uint32 array, shape (rows, cols), or (cols, rows) when `transposed`
        Unsigned patterns.
    transposed : bool
    width : int
        Accumulator width, <= 62.
    """
    rows, cols = outputs.shape
    half = np.int64(1) << (width - 1)
    mask = (np.int64(1) << width) - 1
    if not transposed:
        for row in range(rows):
            target = outputs[row]
            source = tile[row]
            for col in range(np.uint64(cols)):
                target[col] = ((target[col] + np.int64(source[col]) + half) & mask) - half
        return
    block = 64
    for start in range(0, rows, block):
        stop = np.uint64(min(rows, start + block))
        for col in range(cols):
            source = tile[col]
            for row in range(np.uint64(start), stop):
                outputs[row, col] = ((outputs[row, col] + np.int64(source[row]) + half) & mask) - half


@njit(cache=True)
def stationary_groups(streams, stationaries, weight_stationary, rows, setup, outputs, tallies, totals, per_fold, forms):
    """Every fold of a grouped ws or is GEMM through :func:`stationary_fold`, in mapping order (group,
    column fold, row fold), each fold's tile added into `outputs`: the folds of
    :func:`sim.engine.simulate_grouped_gemm` without a Python call per fold.

    Parameters
    ----------
    streams, stationaries, weight_stationary, rows, outputs
        As :func:`screened_stationary_groups` (``setup.array_cols`` is the array's column count).
    setup : FoldSetup
        As :func:`stationary_fold`, without an event record.
    tallies : FoldTallies
        Scratch of one fold, except ``flip_counts`` and ``residual_counts`` (int64, shape
        (width,)), which receive (add) every fold's wrong bits. ``cycle_flags`` and
        ``column_flags`` of the busy cycles of one fold, ``column_counts`` of shape (C,),
        ``depth`` of shape (R, T) with the local policy, all zero on entry.
    totals : int64 array, shape (COUNTER_COUNT,)
        Receives (adds) the counters of every fold (``LOCAL_DEPTH`` and ``EVENTS`` excepted).
    per_fold : int64 array, shape (folds, 3)
        Receives, per fold: the distinct cycles with a detection, the most such cycles of one
        column, and the replay depth (``LOCAL_DEPTH``).
    forms : (EdgeForm, EdgeForm) or None
        The main- and shadow-sample tables of a ``CELLS_EDGE`` row: every fold through
        :func:`edge_stationary_fold` instead (None: :func:`stationary_fold`; compiled apart).
    """
    groups, depth_k = streams.shape[0], streams.shape[1]
    spatial = stationaries.shape[2]
    steps = streams.shape[2]
    cols = setup.array_cols
    width = setup.width
    local = setup.recovery == LOCAL
    cycle_flags, column_counts, depth, counts = (
        tallies.cycle_flags,
        tallies.column_counts,
        tallies.depth,
        tallies.counts,
    )
    index = 0
    for g in range(groups):
        for col_start in range(0, spatial, cols):
            col_stop = min(spatial, col_start + cols)
            cols_used = col_stop - col_start
            for row_start in range(0, depth_k, rows):
                row_stop = min(depth_k, row_start + rows)
                counts[:] = 0
                tile = np.empty((cols_used, steps), dtype=np.int64)
                row_stream = np.ascontiguousarray(streams[g, row_start:row_stop])
                stationary = np.ascontiguousarray(stationaries[g, row_start:row_stop, col_start:col_stop])
                if forms is None:
                    stationary_fold(row_stream, stationary, setup, tile, tallies)
                else:
                    edge_stationary_fold(row_stream, stationary, setup, forms[0], forms[1], tile, tallies)
                if weight_stationary:
                    add_tile(outputs[g, :, col_start:col_stop], tile, True, width)
                else:
                    add_tile(outputs[g, col_start:col_stop, :], tile, False, width)
                for i in range(COUNTER_COUNT):
                    if i != LOCAL_DEPTH and i != EVENTS:
                        totals[i] += counts[i]
                detection_cycles = 0
                most = 0
                if counts[DETECTIONS] != 0:
                    for cycle in range(cycle_flags.shape[0]):
                        detection_cycles += cycle_flags[cycle]
                        cycle_flags[cycle] = 0
                    for c in range(cols_used):
                        most = max(most, column_counts[c])
                    if local:
                        depth[:] = 0
                per_fold[index, 0] = detection_cycles
                per_fold[index, 1] = most
                per_fold[index, 2] = counts[LOCAL_DEPTH]
                index += 1
