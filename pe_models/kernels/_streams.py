"""The MACs of one stationary-operand PE with compound cells, in int64 words (any accumulator width).

:func:`compound_stationary_stream` is the chain level's closed form for a PE whose second
operand stays put (a weight- or input-stationary array): the engines' path when a MAC's
shadow sample or event record is needed. The uint32 kernels of :mod:`._screened` and
:mod:`._lanes` are its faster form for accumulators of at most 32 bits.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._chain import _extend_product

__all__: list[str] = []


@njit(cache=True, inline="always")
def _stale_carries(propagate, steps, mask, word):
    """Carry-in bits i whose `steps` bits i-steps..i-1 all propagate, in words of type `word`: ``np.uint32``
    (0 <= steps < 32) or ``np.int64`` (0 <= steps < 63).

    The doubling of :func:`pe_models.kernels._chain._run_mask` without its early exit, so
    that a loop over MACs with one `steps` has no branch.
    """
    levels = 5 if np.iinfo(word).bits == 32 else 6
    run = word(-1)
    offset = word(0)
    block = word(propagate << word(1)) & mask
    span = word(1)
    for level in range(levels):
        take = word(0) - word((steps >> word(level)) & word(1))
        run &= word(block << offset) | ~take
        offset += span & take
        block &= word(block << span)
        span += span
    return run & mask


@njit(cache=True)
def _stationary_stream(
    now, before, earlier, weight, partial, old_partial, keep, late, steps, mask, latched, settled, word
):
    """Vector loop of :func:`compound_stationary_stream`: every MAC, in words of type `word` (``np.uint32``:
    accumulators of at most 32 bits, ``np.int64``: up to 62), 0 <= steps < width.

    Element t is the MAC with operand ``now[t]`` after ``before[t]`` and ``earlier[t]``
    (the two before it) and partial sum ``partial[t]`` after ``old_partial[t]``. Returns the
    OR of the flip masks (int64). numba widens integer operations to 64 bits; the casts to
    `word` let the vectoriser keep 32-bit lanes with uint32 words (and cost nothing with
    int64 words). An int8 x int8 product fits int32.
    """
    w = np.int32(weight)
    m = word(mask)
    k = word(steps)
    any_flip = word(0)
    for t in range(now.shape[0]):
        p0 = np.int32(now[t]) * w
        p1 = np.int32(before[t]) * w
        p2 = np.int32(earlier[t]) * w
        new_b = word(_extend_product((p0 & keep) | (p1 & late))) & m
        old_b = word(_extend_product((p1 & keep) | (p2 & late))) & m
        new_a = word(partial[t]) & m
        old_a = word(old_partial[t]) & m
        total = word(new_a + new_b)
        carries = total ^ new_a ^ new_b
        old_carries = word(old_a + old_b) ^ old_a ^ old_b
        flip = word(carries ^ word(old_carries << k)) & _stale_carries(new_a ^ new_b, k, m, word)
        settled[t] = total & m
        latched[t] = (total ^ flip) & m
        any_flip |= flip
    return np.int64(any_flip)


@njit(cache=True, inline="always")
def _stationary_passes(stream, weight, partial, keep, late, steps, mask, latched_out, settled_out, word):
    """:func:`_stationary_stream` over a whole stream: MACs 0 and 1 after the all-zero state, then the rest
    (each MAC's two previous operands and partial sum are the stream shifted by one and two)."""
    n = stream.shape[0]
    before = np.zeros(2, dtype=stream.dtype)
    before[1] = stream[0]
    earlier = np.zeros(2, dtype=stream.dtype)
    old_partial = np.zeros(2, dtype=partial.dtype)
    old_partial[1] = partial[0]
    head = min(n, 2)
    any_flip = _stationary_stream(
        stream[:head],
        before[:head],
        earlier[:head],
        weight,
        partial[:head],
        old_partial[:head],
        keep,
        late,
        steps,
        mask,
        latched_out[:head],
        settled_out[:head],
        word,
    )
    if n > 2:
        any_flip |= _stationary_stream(
            stream[2:],
            stream[1:-1],
            stream[:-2],
            weight,
            partial[2:],
            partial[1:-1],
            keep,
            late,
            steps,
            mask,
            latched_out[2:],
            settled_out[2:],
            word,
        )
    return any_flip


@njit(cache=True)
def _settle_and_screen_32(now, before, weight, partial, keep, late, mask, core, latched, settled, suspects):
    """Settled sums of a stationary-operand PE, and which MACs may latch a stale carry.

    ``suspects[t] = 1`` when the propagate bits of MAC t cover `core` (a necessary
    condition for a stale carry, see :func:`compound_stationary_stream`). Returns their
    number. Accumulators of at most 32 bits.
    """
    w = np.int32(weight)
    m = np.uint32(mask)
    c = np.uint32(core)
    count = 0
    for t in range(now.shape[0]):
        new_b = np.uint32(_extend_product(((np.int32(now[t]) * w) & keep) | ((np.int32(before[t]) * w) & late))) & m
        new_a = np.uint32(partial[t]) & m
        total = np.uint32(new_a + new_b) & m
        settled[t] = total
        latched[t] = total
        suspect = np.uint8(((new_a ^ new_b) & c) == c)
        suspects[t] = suspect
        count += suspect
    return count


@njit(cache=True)
def _settled_stream(stream, weight, partial, keep, late, mask, latched, settled):
    """Settled sums of a stationary-operand PE's MACs (no carry can be stale)."""
    w = np.int64(weight)
    previous = np.int64(0)
    for t in range(stream.shape[0]):
        current = np.int64(stream[t]) * w
        total = (np.int64(partial[t]) + (_extend_product((current & keep) | (previous & late)) & mask)) & mask
        previous = current
        settled[t] = total
        latched[t] = total


@njit(cache=True)
def _stale_carry_mac(stream, weight, partial, keep, late, steps, mask, t):
    """Flip mask of MAC t of a stationary-operand PE (the closed form of :func:`compound_stationary_stream`)."""
    w = np.int64(weight)
    p0 = np.int64(stream[t]) * w
    p1 = np.int64(stream[t - 1]) * w if t >= 1 else np.int64(0)
    p2 = np.int64(stream[t - 2]) * w if t >= 2 else np.int64(0)
    new_b = _extend_product((p0 & keep) | (p1 & late)) & mask
    old_b = _extend_product((p1 & keep) | (p2 & late)) & mask if t >= 1 else np.int64(0)
    new_a = np.int64(partial[t]) & mask
    old_a = np.int64(partial[t - 1]) & mask if t >= 1 else np.int64(0)
    carries = (new_a + new_b) ^ new_a ^ new_b
    old_carries = (old_a + old_b) ^ old_a ^ old_b
    return (carries ^ (old_carries << steps)) & _stale_carries(new_a ^ new_b, steps, mask, np.int64)


@njit(cache=True)
def compound_stationary_stream(stream, weight, partial, late_product, steps, mask, latched_out, settled_out, scratch):
    """Consecutive MACs of one stationary-operand PE with compound cells: latched and settled sums.

    The MACs of :func:`compound_mac_stream` with ``b = weight`` throughout, bit for bit.
    In carry-in form the compound ripple-carry adder latches ``settled ^ flip`` with
    ``flip = (CI_new ^ (CI_old << k)) & R_k``: the carry into bit i after k carry delays
    is stale exactly when bits ``i-k .. i-1`` of the new operands all propagate (``R_k``),
    and then it still shows the previous inputs' carry into bit ``i - k`` (the closed form
    of :func:`carries_after`). So a MAC whose propagate bits hold no run of k bits
    latches its settled sum, and so does every later sample of it (a shadow latch).

    When ``2k >= width`` every such run covers bits ``width-1-k .. k-1`` (the *core*):
    one vectorised pass computes the settled sums and screens the MACs against the core,
    and only the (typically few) suspects are evaluated in full. Otherwise, or when more
    than 1/8 of the MACs are suspects, one vectorised pass evaluates every MAC in full.

    Parameters
    ----------
    stream : int8 array, shape (n,)
        Operand entering the PE at each step.
    weight : int
        The PE's stationary int8 operand.
    partial : int64 array, shape (n,)
        Incoming partial sums (masked to the accumulator here).
    late_product : int
        Product bits arriving after the sampling instant (they keep their old value).
    steps : int
        Carry delays that fit before the sampling instant (-1: none, the old sum latches).
    mask : int
        Accumulator mask ``2**width - 1``, width <= 62.
    latched_out, settled_out : int64 array, shape (n,)
        Receive the latched and the settled sums (unsigned patterns). MAC 0 follows a
        settled all-zero state.
    scratch : uint8 array, shape (>= n,)
        Work space.

    Returns
    -------
    int
        OR of the flip masks ``latched ^ settled`` (0: every MAC latched its settled sum).
    """
    n = stream.shape[0]
    late = np.int64(late_product) & 0xFFFF
    keep = np.int64(0xFFFF) & ~late
    width = np.int64(0)
    while width < 63 and (mask >> width) & 1:
        width += 1
    if n == 0:
        return np.int64(0)
    if steps >= width:
        _settled_stream(stream, weight, partial, keep, late, mask, latched_out, settled_out)
        return np.int64(0)
    if steps < 0:
        _settled_stream(stream, weight, partial, keep, late, mask, latched_out, settled_out)
        any_flip = np.int64(0)
        previous = np.int64(0)
        for t in range(n):
            latched_out[t] = previous
            previous = settled_out[t]
            any_flip |= latched_out[t] ^ settled_out[t]
        return any_flip
    if width <= 32 and 2 * steps >= width:
        core = ((np.int64(1) << steps) - 1) & ~((np.int64(1) << (width - 1 - steps)) - 1)
        before = np.empty(1, dtype=stream.dtype)
        before[0] = 0
        count = _settle_and_screen_32(
            stream[:1], before, weight, partial[:1], keep, late, mask, core, latched_out[:1], settled_out[:1], scratch
        )
        if n > 1:
            count += _settle_and_screen_32(
                stream[1:],
                stream[:-1],
                weight,
                partial[1:],
                keep,
                late,
                mask,
                core,
                latched_out[1:],
                settled_out[1:],
                scratch[1:],
            )
        if 8 * count <= n:
            any_flip = np.int64(0)
            if count == 0:
                return any_flip
            for t in range(n):
                if scratch[t]:
                    flip = _stale_carry_mac(stream, weight, partial, keep, late, steps, mask, t)
                    latched_out[t] = settled_out[t] ^ flip
                    any_flip |= flip
            return any_flip
    if width <= 32:
        return _stationary_passes(stream, weight, partial, keep, late, steps, mask, latched_out, settled_out, np.uint32)
    return _stationary_passes(stream, weight, partial, keep, late, steps, mask, latched_out, settled_out, np.int64)
