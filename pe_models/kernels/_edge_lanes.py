"""The per-edge model (:func:`pe_models.kernels._chain.edge_sample`) on uint32 lanes: a row of stationary-operand
PEs sharing one stream operand (a lane per PE), or one PE's stream (a lane per step).

One MAC of the per-edge model latches ``settled ^ flip``: the carry into sum bit i is traced
back ``k(s, i, v, p)`` steps (scenario s: the product sign unchanged, rising or falling; v: the
new carry into i; p: bit i propagates) and still shows the old carry into bit ``i - k`` when
bits ``i-k .. i-1`` all propagate (the run ``R_k`` of the compound closed form,
:func:`pe_models.kernels._closed_form._stale_run_u32`). With ``CI`` the new carries, ``CI_old`` the
previous MAC's and ``S_k(lane)`` the bits whose (s, v, p) select k in that lane,

    carries = CI ^ OR_k (S_k & R_k & (CI ^ (CI_old << k)))

one pass over the lanes per distinct k of the table (k outermost, so every pass is a
vectorisable loop over the lanes). ``S_k`` takes each lane's scenario by blending the three
scenarios' masks with lane masks (no branch); a pass whose lanes all take the same masks skips
the blend, and one whose masks are empty is skipped. The stale sign bits, the late chain (the
same trace with the old sign extension, scenario-unchanged table) and the fallback bits are
blended per lane the same way.
Bit for bit :func:`edge_sample` (tested against the scalar route).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from ._chain import EDGE_SCENARIO_WORDS, EDGE_SLOTS, PARAM_LATE_PRODUCT, PARAM_MASK
from ._closed_form import _stale_run_u32, stale_run_shifts
from ._intrinsics import _mul_u32, _shl_u32

__all__: list[str] = []

_FLUSH_STEPS = 255
"""Lane steps a byte-wide bit counter of :class:`EdgeScratch` can take before it must be flushed."""


class EdgeForm(NamedTuple):
    """One per-edge table (:data:`pe_models.kernels.EDGE_TABLE_WORDS`) as the lane kernels take it
    (:func:`edge_form`).

    Attributes
    ----------
    steps : int64 array, shape (K,)
        The distinct carry-step counts k (< width) of the table's slots with a non-empty mask, in
        any scenario.
    shifts : uint32 array, shape (K, 6)
        :func:`pe_models.kernels._closed_form.stale_run_shifts` of each k.
    masks : uint32 array, shape (K, 3, 4)
        Per k, scenario (unchanged, rising, falling) and ``2 v + p``: the sum bits traced back k
        steps (0 where the scenario has no slot for k).
    tails : uint32 array, shape (3, 3)
        Per scenario: the stale, late-chain and fallback masks (the late chain only where the
        scenario has stale bits, as :func:`edge_sample` takes it).
    keep, late : int
        Product bits taken from this MAC's product and (late) from the previous one's (16-bit).
    mask : int
        Accumulator mask ``2**width - 1``.
    extension : int
        The sign-extended bits ``mask & ~0x7FFF`` (an old sign flips them).
    """

    steps: np.ndarray
    shifts: np.ndarray
    masks: np.ndarray
    tails: np.ndarray
    keep: int
    late: int
    mask: int
    extension: int


class EdgeScratch(NamedTuple):
    """Work space of the lane kernels for up to n lanes (:func:`edge_scratch`; no initialisation needed).

    Attributes
    ----------
    words : uint32 array, shape (13, n)
        Per lane: new and old product registers, new carries, old carries, propagate, two lane
        masks that select the lane's scenario (:func:`_edge_lanes`), flip of the main chain, the
        late chain's carries and propagate, and (one PE's stream) the incoming sums, the
        previous MAC's and the latched sums.
    flips : uint32 array, shape (2, n)
        The late chain's flip, and each lane's latched sum XOR its settled sum.
    counters : uint32 array, shape (8, n)
        Byte-wide bit counters: byte b of ``counters[j, lane]`` counts bit ``8 b + j`` of the
        lane's flips since the last flush.
    zeros : uint32 array, shape (n,)
        All zero: the incoming sums before a stream's first MAC.
    """

    words: np.ndarray
    flips: np.ndarray
    counters: np.ndarray
    zeros: np.ndarray


@intrinsic
def _sign_word_u32(typingctx, word):
    """All ones when bit 15 of `word` is set, else 0 (uint32; the product register's sign as a lane mask)."""

    def codegen(context, builder, signature, args):
        value = context.cast(builder, args[0], signature.args[0], types.uint32)
        return builder.ashr(builder.shl(value, ir.Constant(ir.IntType(32), 16)), ir.Constant(ir.IntType(32), 31))

    return types.uint32(word), codegen


@intrinsic
def _shr_u32(typingctx, word, shift):
    """``word >> shift`` as a 32-bit logical shift, uint32, ``0 <= shift < 32``."""

    def codegen(context, builder, signature, args):
        value = context.cast(builder, args[0], signature.args[0], types.uint32)
        amount = context.cast(builder, args[1], signature.args[1], types.uint32)
        return builder.lshr(value, amount)

    return types.uint32(word, shift), codegen


_NEW_P, _OLD_P, _NEW_CI, _OLD_CI, _PROPAGATE, _FIRST, _SECOND, _FLIP, _LATE_CI, _LATE_P, _IN, _BEFORE, _OUT = range(13)


def edge_form(params: np.ndarray, base: int, width: int) -> EdgeForm:
    """The :class:`EdgeForm` of the per-edge table at `base` in a ``CELLS_EDGE`` parameter row.

    Parameters
    ----------
    params : int64 array, shape (PARAM_COUNT + 2 EDGE_TABLE_WORDS,)
        One row of :func:`pe_models.chain.mac_parameters` with ``PARAM_CELLS == CELLS_EDGE``.
    base : int
        Offset of the table: ``params[PARAM_CARRY_STEPS]`` (main sample) or
        ``params[PARAM_SHADOW_STEPS]`` (shadow sample).
    width : int
        Accumulator width in bits, <= 32.

    Returns
    -------
    EdgeForm
    """
    row = np.asarray(params, dtype=np.int64)
    by_steps: dict[int, np.ndarray] = {}
    for scenario in range(3):
        table = base + scenario * EDGE_SCENARIO_WORDS
        for slot in range(EDGE_SLOTS):
            word = table + 5 * slot
            k = int(row[word])
            slot_masks = row[word + 1 : word + 5]
            if k >= width or not slot_masks.any():
                continue
            by_steps.setdefault(k, np.zeros((3, 4), dtype=np.uint32))[scenario] = slot_masks.astype(np.uint32)
    steps = np.array(sorted(by_steps), dtype=np.int64)
    masks = np.array([by_steps[int(k)] for k in steps], dtype=np.uint32).reshape(steps.size, 3, 4)
    shifts = np.array([[int(s) for s in stale_run_shifts(np.int64(k))] for k in steps], dtype=np.uint32)
    tails = np.array(
        [row[base + s * EDGE_SCENARIO_WORDS + 5 * EDGE_SLOTS : base + (s + 1) * EDGE_SCENARIO_WORDS] for s in range(3)],
        dtype=np.int64,
    ).astype(np.uint32)
    tails[tails[:, 0] == 0, 1] = 0
    late = int(row[PARAM_LATE_PRODUCT]) & 0xFFFF
    mask = int(row[PARAM_MASK]) & ((1 << width) - 1)
    return EdgeForm(
        steps=steps,
        shifts=shifts.reshape(steps.size, 6),
        masks=masks,
        tails=tails,
        keep=0xFFFF & ~late,
        late=late,
        mask=mask,
        extension=mask & ~0x7FFF,
    )


@njit(cache=True)
def edge_scratch(lanes):
    """An :class:`EdgeScratch` for up to `lanes` lanes (counters zeroed, as a flush leaves them)."""
    return EdgeScratch(
        np.empty((13, lanes), dtype=np.uint32),
        np.empty((2, lanes), dtype=np.uint32),
        np.zeros((8, lanes), dtype=np.uint32),
        np.zeros(lanes, dtype=np.uint32),
    )


@njit(cache=True, inline="always")
def _extend_u32(product, mask):
    """A 16-bit product register pattern sign-extended to the accumulator (uint32)."""
    return np.uint32(np.uint32(np.uint32(product ^ np.uint32(0x8000)) - np.uint32(0x8000)) & mask)


@njit(cache=True, inline="always")
def _select(carry, propagate, m00, m01, m10, m11):
    """Bitwise: ``m{v}{p}`` at each bit, v the bit of `carry`, p of `propagate`."""
    high = np.uint32((m11 & propagate) | (m10 & ~propagate))
    low = np.uint32((m01 & propagate) | (m00 & ~propagate))
    return np.uint32((high & carry) | (low & ~carry))


@njit(cache=True, inline="always")
def _masks(form, index, scenario):
    """The four masks ``m{v}{p}`` of carry-step count ``form.steps[index]`` in `scenario`, uint32."""
    m = form.masks
    return (
        np.uint32(m[index, scenario, 0]),
        np.uint32(m[index, scenario, 1]),
        np.uint32(m[index, scenario, 2]),
        np.uint32(m[index, scenario, 3]),
    )


@njit(cache=True, inline="always")
def _xor4(left, right):
    return (
        np.uint32(left[0] ^ right[0]),
        np.uint32(left[1] ^ right[1]),
        np.uint32(left[2] ^ right[2]),
        np.uint32(left[3] ^ right[3]),
    )


@njit(cache=True, inline="always")
def _any4(words):
    return (words[0] | words[1] | words[2] | words[3]) != 0


@njit(cache=True, inline="always")
def _flip_pass(words, out, lanes, form, index, carries_row, propagate_row, scenarios):
    """OR into `out` the flip of carry-step count ``form.steps[index]``: ``S_k & R_k & (CI ^ (CI_old << k))``
    per lane, CI and the propagate bits from rows `carries_row` and `propagate_row` of `words`.

    `scenarios` ``(c0, c1, c2)``: a lane marked in row ``_FIRST`` takes scenario c1's masks, one
    marked in ``_SECOND`` c2's, any other c0's, as ``base ^ (d1 & first) ^ (d2 & second)``. A
    pass whose masks are the same in every lane runs without the blend (and is skipped when they
    are empty), one with a single differing class blends one row: separate loops (a loop testing
    the case inside did not vectorise).
    """
    k = np.uint32(form.steps[index])
    sh = form.shifts[index]
    shifts = (
        np.uint32(sh[0]),
        np.uint32(sh[1]),
        np.uint32(sh[2]),
        np.uint32(sh[3]),
        np.uint32(sh[4]),
        np.uint32(sh[5]),
    )
    base = _masks(form, index, scenarios[0])
    d1 = _xor4(base, _masks(form, index, scenarios[1]))
    d2 = _xor4(base, _masks(form, index, scenarios[2]))
    b00, b01, b10, b11 = base
    new_ci = words[carries_row]
    old_ci = words[_OLD_CI]
    propagate = words[propagate_row]
    if not _any4(d1) and not _any4(d2):
        if not _any4(base):
            return
        for lane in range(lanes):
            p = propagate[lane]
            carry = new_ci[lane]
            stale = np.uint32(_stale_run_u32(p, shifts) & np.uint32(carry ^ _shl_u32(old_ci[lane], k)))
            out[lane] = np.uint32(out[lane] | np.uint32(stale & _select(carry, p, b00, b01, b10, b11)))
        return
    if not _any4(d1) or not _any4(d2):
        marks = words[_SECOND] if _any4(d2) else words[_FIRST]
        e00, e01, e10, e11 = d2 if _any4(d2) else d1
        for lane in range(lanes):
            p = propagate[lane]
            carry = new_ci[lane]
            stale = np.uint32(_stale_run_u32(p, shifts) & np.uint32(carry ^ _shl_u32(old_ci[lane], k)))
            s = marks[lane]
            chosen = _select(
                carry,
                p,
                np.uint32(b00 ^ (e00 & s)),
                np.uint32(b01 ^ (e01 & s)),
                np.uint32(b10 ^ (e10 & s)),
                np.uint32(b11 ^ (e11 & s)),
            )
            out[lane] = np.uint32(out[lane] | np.uint32(stale & chosen))
        return
    f00, f01, f10, f11 = d1
    g00, g01, g10, g11 = d2
    first = words[_FIRST]
    second = words[_SECOND]
    for lane in range(lanes):
        p = propagate[lane]
        carry = new_ci[lane]
        stale = np.uint32(_stale_run_u32(p, shifts) & np.uint32(carry ^ _shl_u32(old_ci[lane], k)))
        r = first[lane]
        f = second[lane]
        chosen = _select(
            carry,
            p,
            np.uint32(b00 ^ (f00 & r) ^ (g00 & f)),
            np.uint32(b01 ^ (f01 & r) ^ (g01 & f)),
            np.uint32(b10 ^ (f10 & r) ^ (g10 & f)),
            np.uint32(b11 ^ (f11 & r) ^ (g11 & f)),
        )
        out[lane] = np.uint32(out[lane] | np.uint32(stale & chosen))


@njit(cache=True)
def _edge_lanes(new_a, old_a, lanes, form, scratch, latched, passes, scenarios):
    """The per-edge model's latched sums of `lanes` MACs from their incoming sums (`new_a`, the
    previous MAC's `old_a`) and product registers (``scratch.words[_NEW_P]``, ``[_OLD_P]``, 16-bit
    patterns): ``latched[lane]``, and each flip (latched XOR settled) in ``scratch.flips[1]``.

    Each lane's scenario: c1 of ``scenarios = (c0, c1, c2)`` where row ``_FIRST`` of the words
    marks it (all ones), c2 where ``_SECOND`` does, else c0; the carry-step passes take their
    masks from `passes` in the same way (a triple that differs from `scenarios` only where a
    lane's flip cannot depend on its masks).
    """
    words = scratch.words
    mask = np.uint32(form.mask)
    extension = np.uint32(form.extension)
    new_p = words[_NEW_P]
    old_p = words[_OLD_P]
    new_ci = words[_NEW_CI]
    old_ci = words[_OLD_CI]
    propagate = words[_PROPAGATE]
    flip = words[_FLIP]
    for lane in range(lanes):
        na = new_a[lane]
        oa = old_a[lane]
        nb = _extend_u32(new_p[lane], mask)
        ob = _extend_u32(old_p[lane], mask)
        new_ci[lane] = np.uint32(np.uint32(na + nb) ^ na ^ nb)
        old_ci[lane] = np.uint32(np.uint32(oa + ob) ^ oa ^ ob)
        propagate[lane] = np.uint32(na ^ nb)
        flip[lane] = 0
    count = form.steps.shape[0]
    for index in range(count):
        _flip_pass(words, flip, lanes, form, index, _NEW_CI, _PROPAGATE, passes)
    tails = form.tails
    with_late = (tails[scenarios[0], 1] | tails[scenarios[1], 1] | tails[scenarios[2], 1]) != 0
    if with_late:
        late_ci = words[_LATE_CI]
        late_p = words[_LATE_P]
        late_flip = scratch.flips[0]
        for lane in range(lanes):
            na = new_a[lane]
            nb = np.uint32(_extend_u32(new_p[lane], mask) ^ extension)
            late_ci[lane] = np.uint32(np.uint32(na + nb) ^ na ^ nb)
            late_p[lane] = np.uint32(na ^ nb)
            late_flip[lane] = 0
        for index in range(count):
            _flip_pass(words, late_flip, lanes, form, index, _LATE_CI, _LATE_P, (0, 0, 0))
    _finish(new_a, old_a, lanes, form, scratch, latched, scenarios, with_late)


@njit(cache=True, inline="always")
def _tail(tails, scenarios, which):
    """Tail word `which` (stale, late, fallback) of the three scenarios, as (c0's, c0's ^ c1's, c0's ^ c2's)."""
    base = np.uint32(tails[scenarios[0], which])
    return (
        base,
        np.uint32(base ^ np.uint32(tails[scenarios[1], which])),
        np.uint32(base ^ np.uint32(tails[scenarios[2], which])),
    )


@njit(cache=True, inline="always")
def _finish(new_a, old_a, lanes, form, scratch, latched, scenarios, with_late):
    """Latched sums and flips of :func:`_edge_lanes` from its passes' words."""
    words = scratch.words
    mask = np.uint32(form.mask)
    extension = np.uint32(form.extension)
    stale0, stale1, stale2 = _tail(form.tails, scenarios, 0)
    late0, late1, late2 = _tail(form.tails, scenarios, 1)
    fall0, fall1, fall2 = _tail(form.tails, scenarios, 2)
    new_p = words[_NEW_P]
    old_p = words[_OLD_P]
    new_ci = words[_NEW_CI]
    first = words[_FIRST]
    second = words[_SECOND]
    flip = words[_FLIP]
    late_ci = words[_LATE_CI]
    late_flip = scratch.flips[0]
    flips = scratch.flips[1]
    for lane in range(lanes):
        na = new_a[lane]
        nb = _extend_u32(new_p[lane], mask)
        r = first[lane]
        f = second[lane]
        stale = np.uint32(stale0 ^ (stale1 & r) ^ (stale2 & f))
        fallback = np.uint32(fall0 ^ (fall1 & r) ^ (fall2 & f))
        carries = np.uint32(new_ci[lane] ^ flip[lane])
        if with_late:
            late = np.uint32(late0 ^ (late1 & r) ^ (late2 & f))
            alternative = np.uint32(late_ci[lane] ^ late_flip[lane])
            carries = np.uint32((carries & ~late) | (alternative & late))
        value = np.uint32(np.uint32(na ^ nb ^ (extension & stale) ^ carries) & mask)
        oa = old_a[lane]
        old_sum = np.uint32(oa + _extend_u32(old_p[lane], mask))
        value = np.uint32((value & ~fallback) | (old_sum & fallback & mask))
        latched[lane] = value
        flips[lane] = np.uint32(value ^ np.uint32(np.uint32(na + nb) & mask))


@njit(cache=True, inline="always")
def _scenario(new_sign, old_sign):
    """The per-edge table's scenario of a product sign change: 0 unchanged, 1 rising, 2 falling."""
    if new_sign == old_sign:
        return 0
    return 1 if new_sign else 2


@njit(cache=True, inline="always")
def _count_flips(scratch, lanes):
    """Add each lane's flip (``scratch.flips[1]``) to its byte-wide bit counters; returns the wrong MACs."""
    flips = scratch.flips[1]
    counters = scratch.counters
    ones = np.uint32(0x01010101)
    wrong = 0
    for lane in range(lanes):
        wrong += 1 if flips[lane] != 0 else 0
    for j in range(8):
        row = counters[j]
        shift = np.uint32(j)
        for lane in range(lanes):
            row[lane] = np.uint32(row[lane] + np.uint32(_shr_u32(flips[lane], shift) & ones))
    return wrong


@njit(cache=True)
def flush_counters(scratch, bit_counts):
    """Add the byte-wide bit counters of `scratch` to ``bit_counts[bit]`` (bit < ``len(bit_counts)``) and
    zero them."""
    counters = scratch.counters
    for j in range(8):
        for byte in range(4):
            bit = 8 * byte + j
            total = 0
            for lane in range(counters.shape[1]):
                total += (np.int64(counters[j, lane]) >> (8 * byte)) & 0xFF
            if bit < bit_counts.shape[0]:
                bit_counts[bit] += total
        for lane in range(counters.shape[1]):
            counters[j, lane] = 0


@njit(cache=True)
def edge_stationary_lanes(stream, weights, psum_in, psum_out, form, first, scratch, bit_counts):
    """A row of PEs on the per-edge model sharing one stream operand, one uint32 lane per PE.

    Bit for bit the MACs of consecutive ``registered_mac`` calls of every PE on a ``CELLS_EDGE``
    row without hold buffers, vectorised across the PEs. A step whose stream operand and the
    one before it are 0 (and the one before those, with late product bits) adds 0 after
    adding 0: without stale or fallback bits in the unchanged-sign scenario (as in every table
    :func:`pe_models.chain.edge_table` builds) its latched sums are the incoming ones. A step's
    product signs, hence its lanes' scenarios, depend only on the stream operands and the sign
    of each PE's weight: the lanes of positive and of negative weights each share one scenario
    (zero weights: unchanged), which selects the masks of the carry-step passes
    (:func:`_flip_pass`: no blend on a step where both classes share the scenario).

    Parameters
    ----------
    stream : int8 array, shape (T,)
        Operand entering the row at each step.
    weights : int8 array, shape (n,)
        The PEs' stationary operands.
    psum_in : uint32 array, shape (T, n)
        Incoming partial sums (unsigned patterns below ``2**width``).
    psum_out : uint32 array, shape (T, n)
        Receives the latched sums of steps ``first..``.
    form : EdgeForm
        The main sample's table (:func:`edge_form`).
    first : int
        As :func:`pe_models.kernels.compound_stationary_lanes`: ``min(s, 2)`` for a block that
        starts at step s of a longer stream, passed from step ``s - first``; 0 for a whole stream.
    scratch : EdgeScratch
        For at least n lanes; its bit counters are flushed into `bit_counts` every 255 steps and
        on return.
    bit_counts : int64 array, shape (>= width,)
        Receives (adds) the wrong bits per bit position.

    Returns
    -------
    int
        MACs that latched a wrong value.
    """
    lanes = weights.shape[0]
    words = scratch.words
    new_p = words[_NEW_P]
    old_p = words[_OLD_P]
    keep = np.uint32(form.keep)
    late = np.uint32(form.late)
    copy_zero = form.tails[0, 0] == 0 and form.tails[0, 2] == 0
    sign_late = (form.late >> 15) & 1
    positive = words[_FIRST]
    negative = words[_SECOND]
    for lane in range(lanes):
        w = weights[lane]
        positive[lane] = np.uint32(0xFFFFFFFF) if w > 0 else np.uint32(0)
        negative[lane] = np.uint32(0xFFFFFFFF) if w < 0 else np.uint32(0)
    wrong = 0
    pending = 0
    for t in range(first, stream.shape[0]):
        a0 = np.int32(stream[t])
        a1 = np.int32(stream[t - 1]) if t >= 1 else np.int32(0)
        a2 = np.int32(stream[t - 2]) if t >= 2 else np.int32(0)
        if copy_zero and a0 == 0 and a1 == 0 and (late == 0 or a2 == 0):
            for lane in range(lanes):
                psum_out[t, lane] = psum_in[t, lane]
            continue
        sign_new = a1 if sign_late else a0
        sign_old = a2 if sign_late else a1
        up = _scenario(sign_new < 0, sign_old < 0)
        down = _scenario(sign_new > 0, sign_old > 0)
        for lane in range(lanes):
            w = np.int32(weights[lane])
            p0 = _mul_u32(a0, w)
            p1 = _mul_u32(a1, w)
            p2 = _mul_u32(a2, w)
            new_p[lane] = np.uint32(np.uint32(p0 & keep) | np.uint32(p1 & late))
            old_p[lane] = np.uint32(np.uint32(p1 & keep) | np.uint32(p2 & late))
        _edge_lanes(
            psum_in[t],
            psum_in[t - 1] if t >= 1 else scratch.zeros,
            lanes,
            form,
            scratch,
            psum_out[t],
            (up, up, down),
            (0, up, down),
        )
        wrong += _count_flips(scratch, lanes)
        pending += 1
        if pending == _FLUSH_STEPS:
            flush_counters(scratch, bit_counts)
            pending = 0
    flush_counters(scratch, bit_counts)
    return wrong


@njit(cache=True)
def edge_stationary_stream(stream, weight, psum_in, form, scratch, latched, settled):
    """One PE's consecutive MACs on the per-edge model, one uint32 lane per step.

    Bit for bit consecutive ``registered_mac`` calls on a ``CELLS_EDGE`` row without hold
    buffers (MAC 0 after the all-zero state).

    Parameters
    ----------
    stream : int8 array, shape (T,)
        The streamed operand.
    weight : int
        The PE's stationary operand (int8 value).
    psum_in : int64 array, shape (T,)
        Incoming partial sums (unsigned patterns below ``2**width``).
    form : EdgeForm
        A table of the row (:func:`edge_form`; the main or the shadow sample's).
    scratch : EdgeScratch
        For at least T lanes.
    latched, settled : int64 array, shape (T,)
        Receive the latched and the settled sums (unsigned patterns).

    Returns
    -------
    int
        Non-zero when a MAC latched a wrong value.
    """
    steps = stream.shape[0]
    words = scratch.words
    new_p = words[_NEW_P]
    old_p = words[_OLD_P]
    keep = np.uint32(form.keep)
    late = np.uint32(form.late)
    mask = np.uint32(form.mask)
    w = np.int32(weight)
    incoming = words[_IN]
    before = words[_BEFORE]
    out = words[_OUT]
    rising = words[_FIRST]
    falling = words[_SECOND]
    previous = np.uint32(0)
    earlier = np.uint32(0)
    for t in range(steps):
        product = _mul_u32(np.int32(stream[t]), w)
        register = np.uint32(np.uint32(product & keep) | np.uint32(previous & late))
        new_p[t] = register
        old_p[t] = earlier
        new_sign = _sign_word_u32(register)
        old_sign = _sign_word_u32(earlier)
        rising[t] = np.uint32(new_sign & ~old_sign)
        falling[t] = np.uint32(old_sign & ~new_sign)
        earlier = register
        previous = product
        incoming[t] = np.uint32(psum_in[t])
        before[t] = np.uint32(psum_in[t - 1]) if t >= 1 else np.uint32(0)
    _edge_lanes(incoming, before, steps, form, scratch, out, (0, 1, 2), (0, 1, 2))
    flips = scratch.flips[1]
    any_flip = np.uint32(0)
    for t in range(steps):
        latched[t] = out[t]
        settled[t] = np.uint32(np.uint32(incoming[t] + _extend_u32(new_p[t], mask)) & mask)
        any_flip = np.uint32(any_flip | flips[t])
    return any_flip
