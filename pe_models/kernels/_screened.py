"""One stationary-operand PE's stream in uint32 words, screened chunk by chunk (the column-by-column
folds of the ``fast`` engine)."""

from __future__ import annotations

import numpy as np
from numba import njit

from ._closed_form import (
    WRONG_GROUP,
    _compound_sum_u32,
    _late_product_u32,
    _stale_run_u32,
    closed_form,
    common_case,
    common_form,
    settle_form,
)
from ._intrinsics import _mul_u32, _shl_u32
from ._tallies import WRONG_WORDS, count_word_bits
from ._vector import _stream_group_u32

__all__: list[str] = []

SCREEN_CHUNK = 128
"""MACs per screening chunk of :func:`compound_stationary_screened`."""


@njit(cache=True, inline="always")
def _stream_mac_u32(stream, psum_in, psum_out, t, previous, w, form):
    """MAC t of :func:`_closed_form_run_u32` (after the MAC whose carries are `previous`): latches its
    sum into ``psum_out[t]``; returns (flip, carries)."""
    one = np.uint64(1)
    new_a = psum_in[t]
    new_b = _late_product_u32(_mul_u32(stream[t], w), _mul_u32(stream[t - one], w), form)
    total = np.uint32(new_a + new_b)
    propagate = np.uint32(new_a ^ new_b)
    carries = np.uint32(total ^ propagate)
    stale = _stale_run_u32(propagate, form.shifts)
    flip = np.uint32(np.uint32(carries ^ _shl_u32(previous, form.steps)) & stale & form.mask)
    psum_out[t] = np.uint32(total ^ flip) & form.mask
    return flip, carries


@njit(cache=True, inline="always")
def _closed_form_run_u32(stream, psum_in, psum_out, words, fill, bit_counts, w, form, start, stop):
    """:func:`_compound_sum_u32` over MACs ``2 <= start <= t < stop``: latches their sums into `psum_out` and
    appends the wrong ones' flip words to ``words[fill:]`` (a full buffer is counted into `bit_counts`
    and emptied first). Returns (new fill, wrong MACs).

    Groups of :data:`WRONG_GROUP` MACs go through :func:`_stream_group_u32`; the last,
    partial group through :func:`_stream_mac_u32`, carrying each MAC's carries to the next.
    """
    one = np.uint64(1)
    two = np.uint64(2)
    end = np.uint64(stop)
    group = np.uint64(WRONG_GROUP)
    count = 0
    base = np.uint64(start)
    while base + group <= end:
        if fill > WRONG_WORDS - WRONG_GROUP:
            count_word_bits(words, fill, bit_counts)
            fill = 0
        appended = _stream_group_u32(stream, psum_in, psum_out, words, fill, base, w, form)
        fill += appended
        count += appended
        base += group
    if base < end:
        old_a = psum_in[base - one]
        old_b = _late_product_u32(_mul_u32(stream[base - one], w), _mul_u32(stream[base - two], w), form)
        previous = np.uint32(np.uint32(old_a + old_b) ^ old_a ^ old_b)
        for t in range(base, end):
            flip, previous = _stream_mac_u32(stream, psum_in, psum_out, t, previous, w, form)
            if flip != 0:
                if fill == WRONG_WORDS:
                    count_word_bits(words, fill, bit_counts)
                    fill = 0
                words[fill] = flip
                fill += 1
                count += 1
    return fill, count


@njit(cache=True, inline="always")
def _settle_run_u32(stream, psum_in, psum_out, w, form, start, stop):
    """Settled sums of MACs ``1 <= start <= t < stop`` into `psum_out`; returns a non-zero word when one
    of them propagates on every ``form.core`` bit (core < 2**31), the necessary condition for a
    stale carry."""
    suspect = np.uint32(0)
    one = np.uint64(1)
    core = form.core
    for t in range(np.uint64(start), np.uint64(stop)):
        new_b = _late_product_u32(_mul_u32(stream[t], w), _mul_u32(stream[t - one], w), form)
        new_a = psum_in[t]
        psum_out[t] = np.uint32(new_a + new_b) & form.mask
        missing = np.uint32(np.uint32(~(new_a ^ new_b)) & core)
        suspect = np.uint32(suspect | (np.uint32(missing - np.uint32(1)) & np.uint32(0x80000000)))
    return suspect


@njit(cache=True, inline="always")
def _screened_chunks(stream, psum_in, psum_out, words, fill, bit_counts, w, form):
    n = stream.shape[0]
    count = 0
    flagged = 0
    for start in range(2, n, SCREEN_CHUNK):
        stop = min(n, start + SCREEN_CHUNK)
        if not _settle_run_u32(stream, psum_in, psum_out, w, form, start, stop):
            continue
        flagged += 1
        fill, wrong = _closed_form_run_u32(stream, psum_in, psum_out, words, fill, bit_counts, w, form, start, stop)
        count += wrong
    return count, flagged, fill


@njit(cache=True, inline="always")
def _dense_stream(stream, psum_in, psum_out, words, fill, bit_counts, w, form):
    n = stream.shape[0]
    count = 0
    if n > 2:
        fill, count = _closed_form_run_u32(stream, psum_in, psum_out, words, fill, bit_counts, w, form, 2, n)
    return count, -1, fill


@njit(cache=True, inline="always")
def _chunks(stream, psum_in, psum_out, words, fill, bit_counts, w, form, screened):
    if screened:
        return _screened_chunks(stream, psum_in, psum_out, words, fill, bit_counts, w, form)
    return _dense_stream(stream, psum_in, psum_out, words, fill, bit_counts, w, form)


@njit(cache=True)
def _stream_chunks(stream, psum_in, psum_out, words, fill, bit_counts, w, form, screened):
    """MACs 2.. of :func:`compound_stationary_screened`: (wrong MACs, chunks evaluated in closed form
    or -1 unscreened, words now in the buffer). The common case (:func:`common_case`) gets its
    own copy of the loops with its values constant (:func:`common_form`)."""
    if common_case(form):
        return _chunks(stream, psum_in, psum_out, words, fill, bit_counts, w, common_form(form), screened)
    return _chunks(stream, psum_in, psum_out, words, fill, bit_counts, w, form, screened)


@njit(cache=True, inline="always")
def compound_stationary_screened(stream, weight, psum_in, psum_out, timing, screen, words, bit_counts):
    """:func:`compound_stationary_stream` in uint32 words, screened chunk by chunk: latched sums, wrong bits.

    The same MACs bit for bit (MAC 0 after a settled all-zero state), for accumulators of
    at most 32 bits and ``steps >= 0``. A stale carry needs a run of `steps` propagating
    bits; when ``2 * steps >= width`` every such run covers the *core* bits
    ``width-1-steps .. steps-1``: with `screen`, each chunk of :data:`SCREEN_CHUNK` MACs is
    settled in one vectorised pass that also tests the core, and only chunks with a MAC
    propagating on the whole core are evaluated in closed form (another vectorised pass).
    Without `screen`, or with ``2 * steps < width``, the whole stream is evaluated in closed
    form in one pass (cheaper when nearly every chunk has a suspect; the result is the
    same). The closed form runs in explicit vectors (:func:`_stream_group_u32`), which
    append the wrong MACs' flip words to `words` with a compressing store; their bits are
    counted in bulk.

    Parameters
    ----------
    stream : int8 array, shape (n,)
        Operand entering the PE at each step.
    weight : int
        The PE's stationary int8 operand.
    psum_in : uint32 array, shape (n,)
        Incoming partial sums (unsigned patterns below ``2**width``).
    psum_out : uint32 array, shape (n,)
        Receives the latched sums.
    timing : CompoundTiming
        The PE's late product bits, carry delays (>= 0) and accumulator width (<= 32).
    screen : bool
        Screen the chunks.
    words : uint32 array, shape (>= WRONG_WORDS,)
        Scratch.
    bit_counts : int64 array, shape (>= width,)
        Receives (adds) the wrong bits, per bit position, of the MACs that latched a wrong
        value.

    Returns
    -------
    count : int
        MACs that latched a wrong value.
    flagged : int
        Screened chunks evaluated in closed form (-1: the chunks were not screened).
    """
    n = stream.shape[0]
    w = np.int32(weight)
    if n == 0:
        return 0, 0
    steps, width = timing.steps, timing.width
    if steps >= width:
        settled = settle_form(timing)
        psum_out[0] = (
            np.uint32(psum_in[0] + _late_product_u32(_mul_u32(stream[0], w), np.uint32(0), settled)) & settled.mask
        )
        _settle_run_u32(stream, psum_in, psum_out, w, settled, 1, n)
        return 0, 0
    screened = screen and 2 * steps >= width
    form = closed_form(timing, screened)
    fill = np.int64(0)
    for t in range(min(n, 2)):
        p1 = _mul_u32(stream[t - 1], w) if t == 1 else np.uint32(0)
        old_a = psum_in[t - 1] if t == 1 else np.uint32(0)
        latched, flip = _compound_sum_u32(
            psum_in[t],
            old_a,
            _late_product_u32(_mul_u32(stream[t], w), p1, form),
            _late_product_u32(p1, np.uint32(0), form),
            form,
        )
        psum_out[t] = latched
        words[fill] = flip
        fill += np.int64(flip != 0)
    count = fill
    wrong, flagged, fill = _stream_chunks(stream, psum_in, psum_out, words, fill, bit_counts, w, form, screened)
    count_word_bits(words, fill, bit_counts)
    return count + wrong, flagged
