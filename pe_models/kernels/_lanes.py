"""A row of stationary-operand PEs sharing one stream operand, one uint32 lane per PE (the row-by-row
folds of the ``fast`` engine)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from ._closed_form import (
    LANE_GROUP,
    WRONG_GROUP,
    _compound_sum_u32,
    _late_product_u32,
    closed_form,
    common_case,
    common_form,
    settle_form,
)
from ._intrinsics import _mul_u32, _shl_u32, _trailing_zeros_u32
from ._tallies import WRONG_WORDS, count_word_bits
from ._vector import _lane_group_u32

__all__: list[str] = []

SCREEN_OFF = 0
SCREEN_LAZY = 1
SCREEN_EAGER = 2
"""Screening modes of :func:`compound_stationary_lanes`."""


class LaneScratch(NamedTuple):
    """Work space of :func:`compound_stationary_lanes` (:func:`lane_scratch`; contents need no
    initialisation).

    Attributes
    ----------
    masks : uint32 array, shape (>= T * ceil(n / WRONG_GROUP),)
        Wrong-lane masks of a stream's steps.
    words : uint32 array, shape (>= WRONG_WORDS,)
        Flip words of wrong MACs, counted in bulk.
    flags : uint32 array, shape (>= ceil(n / WRONG_GROUP),)
        Suspect lanes of a step (:func:`lane_flags`).
    """

    masks: np.ndarray
    words: np.ndarray
    flags: np.ndarray


@njit(cache=True, inline="always")
def _settle_lanes_u32(a0, a1, weights, psum_in, psum_out, t, form):
    """Settled sums of step t of n PEs sharing the stream operand `a0` (after `a1`), one lane per PE;
    returns a non-zero word when a lane propagates on every ``form.core`` bit. Rows of the 2-D arrays
    are indexed, not sliced (a slice is a reference-counted view)."""
    suspect = np.uint32(0)
    for lane in range(np.uint64(weights.shape[0])):
        w = np.int32(weights[lane])
        new_b = _late_product_u32(_mul_u32(a0, w), _mul_u32(a1, w), form)
        new_a = psum_in[t, lane]
        psum_out[t, lane] = np.uint32(new_a + new_b) & form.mask
        missing = np.uint32(np.uint32(~(new_a ^ new_b)) & form.core)
        suspect = np.uint32(suspect | (np.uint32(missing - np.uint32(1)) & np.uint32(0x80000000)))
    return suspect


@njit(cache=True, inline="always")
def _lane_mac_u32(
    a0,
    a1,
    a2,
    weights,
    psum_in,
    psum_out,
    t,
    lane,
    previous,
    before,
    form,
):
    """The MAC of PE `lane` at step t of :func:`_closed_form_lanes_u32`: latches ``psum_out[t, lane]``,
    returns its flip."""
    w = np.int32(weights[lane])
    p1 = _mul_u32(a1, w)
    latched, flip = _compound_sum_u32(
        psum_in[t, lane],
        np.uint32(psum_in[previous, lane] & before),
        _late_product_u32(_mul_u32(a0, w), p1, form),
        _late_product_u32(p1, _mul_u32(a2, w), form),
        form,
    )
    psum_out[t, lane] = latched
    return flip


@njit(cache=True, inline="always")
def _lane_macs_u32(
    a0,
    a1,
    a2,
    weights,
    psum_in,
    psum_out,
    t,
    first_lane,
    count,
    previous,
    before,
    form,
):
    """:func:`_lane_mac_u32` for lanes ``first_lane .. first_lane + count - 1`` (count <= 32): bit j of the
    returned mask marks lane ``first_lane + j`` wrong."""
    wrong = np.uint32(0)
    for j in range(count):
        flip = _lane_mac_u32(
            a0,
            a1,
            a2,
            weights,
            psum_in,
            psum_out,
            t,
            first_lane + j,
            previous,
            before,
            form,
        )
        wrong = np.uint32(wrong | _shl_u32(np.uint32(flip != 0), j))
    return wrong


@njit(cache=True, inline="always")
def _closed_form_lanes_u32(
    a0,
    a1,
    a2,
    weights,
    psum_in,
    psum_out,
    t,
    before,
    masks,
    offset,
    form,
):
    """Step t of n PEs in closed form, one lane per PE, in groups of :data:`WRONG_GROUP` lanes (bit j of
    ``masks[offset + g]`` marks lane ``WRONG_GROUP g + j`` wrong); returns the OR of the masks.

    The previous step's incoming sums are ``psum_in[t - 1]`` ANDed with `before` (0 at step
    0, after the all-zero state; all ones otherwise). The full-group loop is written out with
    its constant trip count and the tail goes through :func:`_lane_macs_u32`: the helper for
    both (the group size as its trip count) ran 3-4x slower, measured on MobileNetV2's
    row-by-row folds.
    """
    previous = max(t, 1) - 1
    lanes = np.uint64(weights.shape[0])
    group = np.uint64(WRONG_GROUP)
    any_wrong = np.uint32(0)
    base = np.uint64(0)
    index = offset
    while base < lanes:
        wrong = np.uint32(0)
        if base + group <= lanes:
            for j in range(group):
                flip = _lane_mac_u32(
                    a0,
                    a1,
                    a2,
                    weights,
                    psum_in,
                    psum_out,
                    t,
                    base + j,
                    previous,
                    before,
                    form,
                )
                wrong = np.uint32(wrong | _shl_u32(np.uint32(flip != 0), j))
        else:
            wrong = _lane_macs_u32(
                a0,
                a1,
                a2,
                weights,
                psum_in,
                psum_out,
                t,
                base,
                lanes - base,
                previous,
                before,
                form,
            )
        masks[index] = wrong
        any_wrong = np.uint32(any_wrong | wrong)
        index += 1
        base += group
    return any_wrong


@njit(cache=True, inline="always")
def _gather_lanes(stream, weights, psum_in, psum_out, masks, form, words, fill, bit_counts):
    """Append the flip words of the lanes marked in a row of :func:`_closed_form_lanes_u32` steps' masks
    (step t's at ``masks[t * groups:]``) to ``words[fill:]``, each the latched sum XOR the settled
    one (a full buffer is counted into `bit_counts` and emptied first), after the row (the
    vector loops run without the scalar scan between them): (new fill, wrong MACs)."""
    count = 0
    groups = (weights.shape[0] + WRONG_GROUP - 1) // WRONG_GROUP
    for t in range(stream.shape[0]):
        a0 = np.int32(stream[t])
        a1 = np.int32(stream[t - 1]) if t >= 1 else np.int32(0)
        for index in range(groups):
            wrong = masks[t * groups + index]
            if wrong == 0:
                continue
            if fill > WRONG_WORDS - WRONG_GROUP:
                count_word_bits(words, fill, bit_counts)
                fill = 0
            while wrong != 0:
                lane = WRONG_GROUP * index + _trailing_zeros_u32(wrong)
                w = np.int32(weights[lane])
                product = _late_product_u32(_mul_u32(a0, w), _mul_u32(a1, w), form)
                words[fill] = np.uint32(
                    psum_out[t, lane] ^ np.uint32(np.uint32(psum_in[t, lane] + product) & form.mask)
                )
                fill += 1
                count += 1
                wrong = np.uint32(wrong & np.uint32(wrong - np.uint32(1)))
    return fill, count


@njit(cache=True)
def lane_flags(lanes):
    """The `flags` scratch of :class:`LaneScratch` for `lanes` PEs: uint32, one word per
    :data:`WRONG_GROUP` lanes (uninitialised)."""
    return np.empty((lanes + WRONG_GROUP - 1) // WRONG_GROUP, dtype=np.uint32)


@njit(cache=True)
def lane_scratch(steps, lanes):
    """A :class:`LaneScratch` for streams of up to `steps` steps over `lanes` PEs (uninitialised)."""
    return LaneScratch(
        np.empty(steps * ((lanes + WRONG_GROUP - 1) // WRONG_GROUP), dtype=np.uint32),
        np.empty(WRONG_WORDS, dtype=np.uint32),
        lane_flags(lanes),
    )


@njit(cache=True, inline="always")
def _lanes_steps(
    stream,
    weights,
    psum_in,
    psum_out,
    first,
    masks,
    words,
    bit_counts,
    form,
    screen,
    flags,
):
    """Steps ``first..`` of :func:`compound_stationary_lanes` after its set-up: (wrong MACs, flagged groups).

    A step whose stream operand and the one before it are 0 (and the one before those, with
    late product bits) adds 0 to every lane after adding 0, so no carry changes: its latched
    sums are copied from the incoming ones (MobileNetV2's ReLU activations make this 27 %
    of the row-by-row steps). Other screened steps (``t > 0``, `screen` not
    :data:`SCREEN_OFF`) settle every lane in one vectorised pass that also tests whether a
    lane propagates on every `core` bit (a suspect). On a step with a suspect, a 32-bit
    word per :data:`WRONG_GROUP` lanes in `flags` marks the suspects (built by the settle
    pass with :data:`SCREEN_EAGER`, else by a second pass from the settled sums), and a
    trailing-zero scan of it evaluates only the groups of :data:`LANE_GROUP` lanes holding
    one in closed form, rewriting their latched sums: one vector each
    (:func:`_lane_group_u32`, which appends its wrong lanes' flip words to `words`), or
    :func:`_lane_macs_u32` for a last, partial group (its wrong lanes marked in `masks`,
    as are the unscreened steps', and gathered after the row by :func:`_gather_lanes`).
    Unscreened steps are evaluated in closed form on every lane. The settle and flag loops
    are written out here: :func:`_settle_lanes_u32` called per step made numba
    reference-count its array arguments per step (0.6x). The settle pass is written twice,
    with and without the suspect words: one loop with them under ``if eager`` ran 5-15 %
    slower in the lazy mode. The loops building the suspect words have a copy for the full
    blocks of :data:`WRONG_GROUP` lanes (a constant trip count) and one for the last, partial
    block: one loop over every block with ``min(WRONG_GROUP, lanes - base)`` iterations ran
    15-18 % slower at 0.5 V (measured on MobileNetV2's row-by-row folds).
    """
    mask, core = form.mask, form.core
    eager = screen == SCREEN_EAGER
    lanes = np.uint64(weights.shape[0])
    groups = (weights.shape[0] + WRONG_GROUP - 1) // WRONG_GROUP
    chunk = np.uint64(WRONG_GROUP)
    full_blocks = lanes // chunk
    tail_lanes = lanes - full_blocks * chunk
    for index in range(first * groups):
        masks[index] = 0
    flagged = 0
    count = 0
    fill = 0
    any_wrong = np.uint32(0)
    for t in range(first, stream.shape[0]):
        a0 = np.int32(stream[t])
        a1 = np.int32(stream[t - 1]) if t >= 1 else np.int32(0)
        a2 = np.int32(stream[t - 2]) if t >= 2 else np.int32(0)
        before = np.uint32(0) if t == 0 else np.uint32(0xFFFFFFFF)
        previous = max(t, 1) - 1
        for index in range(t * groups, (t + 1) * groups):
            masks[index] = 0
        if a0 == 0 and a1 == 0 and (form.late == 0 or a2 == 0):
            for lane in range(lanes):
                psum_out[t, lane] = psum_in[t, lane]
            continue
        if t == 0 or screen == SCREEN_OFF:
            any_wrong = np.uint32(
                any_wrong
                | _closed_form_lanes_u32(
                    a0,
                    a1,
                    a2,
                    weights,
                    psum_in,
                    psum_out,
                    t,
                    before,
                    masks,
                    t * groups,
                    form,
                )
            )
            continue
        suspect = np.uint32(0)
        if eager:
            for block in range(full_blocks):
                base = block * chunk
                found = np.uint32(0)
                for j in range(chunk):
                    lane = base + j
                    w = np.int32(weights[lane])
                    new_b = _late_product_u32(_mul_u32(a0, w), _mul_u32(a1, w), form)
                    new_a = psum_in[t, lane]
                    psum_out[t, lane] = np.uint32(new_a + new_b) & mask
                    missing = np.uint32(np.uint32(~(new_a ^ new_b)) & core)
                    found = np.uint32(found | _shl_u32(np.uint32(missing == 0), j))
                flags[block] = found
                suspect = np.uint32(suspect | found)
            if tail_lanes:
                base = full_blocks * chunk
                found = np.uint32(0)
                for j in range(tail_lanes):
                    lane = base + j
                    w = np.int32(weights[lane])
                    new_b = _late_product_u32(_mul_u32(a0, w), _mul_u32(a1, w), form)
                    new_a = psum_in[t, lane]
                    psum_out[t, lane] = np.uint32(new_a + new_b) & mask
                    missing = np.uint32(np.uint32(~(new_a ^ new_b)) & core)
                    found = np.uint32(found | _shl_u32(np.uint32(missing == 0), j))
                flags[full_blocks] = found
                suspect = np.uint32(suspect | found)
        else:
            for lane in range(lanes):
                w = np.int32(weights[lane])
                new_b = _late_product_u32(_mul_u32(a0, w), _mul_u32(a1, w), form)
                new_a = psum_in[t, lane]
                psum_out[t, lane] = np.uint32(new_a + new_b) & mask
                missing = np.uint32(np.uint32(~(new_a ^ new_b)) & core)
                suspect = np.uint32(suspect | (np.uint32(missing - np.uint32(1)) & np.uint32(0x80000000)))
        if suspect == 0:
            continue
        if not eager:
            for block in range(full_blocks):
                base = block * chunk
                found = np.uint32(0)
                for j in range(chunk):
                    lane = base + j
                    new_a = psum_in[t, lane]
                    propagate = np.uint32(new_a ^ np.uint32(np.uint32(psum_out[t, lane] - new_a) & mask))
                    found = np.uint32(found | _shl_u32(np.uint32(np.uint32(~propagate & core) == 0), j))
                flags[block] = found
                suspect = np.uint32(suspect | found)
            if tail_lanes:
                base = full_blocks * chunk
                found = np.uint32(0)
                for j in range(tail_lanes):
                    lane = base + j
                    new_a = psum_in[t, lane]
                    propagate = np.uint32(new_a ^ np.uint32(np.uint32(psum_out[t, lane] - new_a) & mask))
                    found = np.uint32(found | _shl_u32(np.uint32(np.uint32(~propagate & core) == 0), j))
                flags[full_blocks] = found
                suspect = np.uint32(suspect | found)
        for block in range(groups):
            found = flags[block]
            while found != 0:
                within = np.uint32(_trailing_zeros_u32(found) & np.uint32(WRONG_GROUP - LANE_GROUP))
                found = np.uint32(found & ~_shl_u32(np.uint32(0xFF), within))
                flagged += 1
                base = np.uint64(block) * chunk + np.uint64(within)
                if base + np.uint64(LANE_GROUP) <= lanes:
                    if fill > WRONG_WORDS - LANE_GROUP:
                        count_word_bits(words, fill, bit_counts)
                        fill = 0
                    appended = _lane_group_u32(
                        a0,
                        a1,
                        a2,
                        weights,
                        psum_in,
                        psum_out,
                        words,
                        fill,
                        t,
                        previous,
                        base,
                        form,
                    )
                    fill += appended
                    count += appended
                else:
                    wrong = _lane_macs_u32(
                        a0,
                        a1,
                        a2,
                        weights,
                        psum_in,
                        psum_out,
                        t,
                        base,
                        lanes - base,
                        previous,
                        before,
                        form,
                    )
                    masks[t * groups + block] = np.uint32(masks[t * groups + block] | _shl_u32(wrong, within))
                    any_wrong = np.uint32(any_wrong | wrong)
    if any_wrong:
        fill, gathered = _gather_lanes(stream, weights, psum_in, psum_out, masks, form, words, fill, bit_counts)
        count += gathered
    count_word_bits(words, fill, bit_counts)
    return count, flagged


@njit(cache=True)
def _lanes_stream(stream, weights, psum_in, psum_out, first, masks, words, bit_counts, form, screen, flags):
    """:func:`compound_stationary_lanes` after its set-up, with the common case's constants folded (as
    :func:`pe_models.kernels._screened._stream_chunks`)."""
    if common_case(form):
        return _lanes_steps(
            stream, weights, psum_in, psum_out, first, masks, words, bit_counts, common_form(form), screen, flags
        )
    return _lanes_steps(stream, weights, psum_in, psum_out, first, masks, words, bit_counts, form, screen, flags)


@njit(cache=True)
def compound_stationary_lanes(stream, weights, psum_in, psum_out, timing, screen, first, scratch, bit_counts):
    """A row of compound-cell PEs sharing one stream operand, one lane per PE: the MACs of
    :func:`compound_stationary_screened` for every PE, vectorised across the PEs.

    For short streams, or blocks of a long one (where the per-stream set-up of
    :func:`compound_stationary_screened` would dominate): screened, with ``2 * steps >=
    width``, each step settles every lane in one vectorised pass that also finds the lanes
    propagating on every core bit, and evaluates in closed form only the groups of
    :data:`LANE_GROUP` lanes holding such a lane; otherwise every step is evaluated in
    closed form. Bit for bit the same MACs.

    Parameters
    ----------
    stream : int8 array, shape (T,)
        Operand entering the row at each step.
    weights : int8 array, shape (n,)
        The PEs' stationary operands.
    psum_in : uint32 array, shape (T, n)
        Incoming partial sums, ``psum_in[t, lane]`` (unsigned patterns below ``2**width``).
    psum_out : uint32 array, shape (T, n)
        Receives the latched sums of steps ``first..``.
    timing : CompoundTiming
        As :func:`compound_stationary_screened` (one parameter row for every PE).
    screen : int
        :data:`SCREEN_OFF` (every step in closed form), :data:`SCREEN_LAZY` (a step with a
        suspect flags its lanes in a second pass: cheaper when few steps have one) or
        :data:`SCREEN_EAGER` (the settle pass flags every lane: cheaper when most do).
    first : int
        ``min(s, 2)`` for a block of a longer stream that starts at step ``s`` of it and is
        passed from step ``s - first`` on (``first <= T``): the steps before ``first`` were
        latched by an earlier call, and step ``first`` sees its previous MAC's operands,
        ``stream[first - 1]``, ``stream[first - 2]`` (a late product bit's old value; read
        only when ``first == 2``) and ``psum_in[first - 1]``; step 0 follows the all-zero
        state. 0 for a whole stream.
    scratch : LaneScratch
        Work space (:func:`lane_scratch`) for at least T steps of n lanes.
    bit_counts : int64 array, shape (>= width,)
        Receives (adds) the wrong bits per bit position.

    Returns
    -------
    count : int
        MACs that latched a wrong value.
    flagged : int
        Groups of :data:`LANE_GROUP` lanes evaluated in closed form on screened steps (0
        without screening).
    """
    steps, width = timing.steps, timing.width
    if steps >= width:
        settled = settle_form(timing)
        for t in range(first, stream.shape[0]):
            _settle_lanes_u32(
                np.int32(stream[t]),
                np.int32(stream[t - 1]) if t >= 1 else np.int32(0),
                weights,
                psum_in,
                psum_out,
                t,
                settled,
            )
        return 0, 0
    screened = screen if 2 * steps >= width else SCREEN_OFF
    return _lanes_stream(
        stream,
        weights,
        psum_in,
        psum_out,
        first,
        scratch.masks,
        scratch.words,
        bit_counts,
        closed_form(timing, screened != SCREEN_OFF),
        screened,
        scratch.flags,
    )
