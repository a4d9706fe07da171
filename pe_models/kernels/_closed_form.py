"""The compound-cell MAC in closed form on uint32 words: the primitives and constants the screened
stream and lane kernels share.

A compound ripple-carry adder latches ``settled ^ flip`` with ``flip = (CI_new ^ (CI_old << k))
& R_k``: the carry into bit i after k carry delays is stale exactly when bits ``i-k .. i-1`` of
the new operands all propagate (``R_k``), and then it still shows the previous inputs' carry
into bit ``i - k`` (see :func:`pe_models.kernels._streams.compound_stationary_stream`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from ._chain import _extend_product
from ._intrinsics import _shl_u32

__all__: list[str] = []

LANE_GROUP = 8
"""Lanes per closed-form group of a screened :func:`compound_stationary_lanes` step (one 256-bit vector of
uint32 lanes; a divisor of :data:`WRONG_GROUP`)."""

WRONG_GROUP = 32
"""MACs per group of the closed-form loops: each group's loop builds a 32-bit mask of its wrong MACs,
whose flip words are then appended by a trailing-zero scan (no per-MAC branch or copy)."""


class CompoundTiming(NamedTuple):
    """One compound-cell PE's parameter row as the uint32 stationary kernels take it.

    Attributes
    ----------
    late_product : int
        Product bits arriving after the sampling instant (they keep their old value):
        ``params[PARAM_LATE_PRODUCT]`` of :func:`pe_models.chain.mac_parameters`.
    steps : int
        Carry delays that fit before the sampling instant, >= 0 (``params[PARAM_CARRY_STEPS]``);
        ``steps >= width``: every MAC latches its settled sum.
    width : int
        Accumulator width in bits, <= 32.
    """

    late_product: int
    steps: int
    width: int


class ClosedForm(NamedTuple):
    """The constants of the closed form for one :class:`CompoundTiming` (:func:`closed_form`).

    Attributes
    ----------
    keep, late : int32
        Product bits taken from this MAC's product and (late) from the previous one's.
    steps : uint32
        Carry delays that fit before the sampling instant, < width.
    shifts : tuple of 6 uint32
        :func:`stale_run_shifts` of `steps`.
    mask : uint32
        Accumulator mask ``2**width - 1``.
    core : uint32
        Bits ``width-1-steps .. steps-1`` every run of `steps` propagating bits covers when
        ``2 * steps >= width`` (the screen's test), else 0.
    """

    keep: np.int32
    late: np.int32
    steps: np.uint32
    shifts: tuple
    mask: np.uint32
    core: np.uint32


@njit(cache=True, inline="always")
def _run_shift(length, steps):
    """Shift that extends a run of `length` bits towards `steps` bits (0 once there)."""
    return np.uint32(min(length, steps - length) if steps > length else 0)


@njit(cache=True, inline="always")
def stale_run_shifts(steps):
    """Shift amounts of :func:`_stale_run_u32` for `steps` carry delays, 0 <= steps <= 32: five shifts,
    then a word of all ones when ``steps == 0`` (every carry is stale) or 0."""
    s0 = _run_shift(1, steps)
    s1 = _run_shift(1 + s0, steps)
    s2 = _run_shift(1 + s0 + s1, steps)
    s3 = _run_shift(1 + s0 + s1 + s2, steps)
    s4 = _run_shift(1 + s0 + s1 + s2 + s3, steps)
    return s0, s1, s2, s3, s4, np.uint32(0xFFFFFFFF) if steps == 0 else np.uint32(0)


@njit(cache=True, inline="always")
def accumulator_mask(width):
    """``2**width - 1`` as a uint32 word, width <= 32."""
    return np.uint32((np.int64(1) << width) - 1)


@njit(cache=True, inline="always")
def closed_form(timing, screened):
    """The :class:`ClosedForm` of a :class:`CompoundTiming` with ``0 <= steps < width``; `screened`:
    compute the core (only meaningful with ``2 * steps >= width``)."""
    late = np.int32(timing.late_product & 0xFFFF)
    core = np.uint32(0)
    if screened:
        steps, width = timing.steps, timing.width
        core = np.uint32(((np.int64(1) << steps) - 1) & ~((np.int64(1) << (width - 1 - steps)) - 1))
    return ClosedForm(
        np.int32(np.int32(0xFFFF) & ~late),
        late,
        np.uint32(timing.steps),
        stale_run_shifts(timing.steps),
        accumulator_mask(timing.width),
        core,
    )


@njit(cache=True, inline="always")
def settle_form(timing):
    """The :class:`ClosedForm` of a :class:`CompoundTiming` whose MACs all settle (``steps >= width``):
    only `keep`, `late` and `mask` are used."""
    late = np.int32(timing.late_product & 0xFFFF)
    zero = np.uint32(0)
    return ClosedForm(
        np.int32(np.int32(0xFFFF) & ~late),
        late,
        zero,
        (zero, zero, zero, zero, zero, zero),
        accumulator_mask(timing.width),
        zero,
    )


@njit(cache=True, inline="always")
def common_case(form):
    """True for the common case that the kernels compile a copy of their loops for (:func:`common_form`)."""
    return form.late == 0 and form.mask == np.uint32(0xFFFFFFFF) and form.steps >= 16


@njit(cache=True, inline="always")
def common_form(form):
    """`form` with the values of the common case as constants: no late product bit, a 32-bit accumulator,
    and (at least 16 carry delays) the first four doubling shifts 1, 2, 4 and 8. Built where the
    copy of the loops is, the compiler folds them into immediate operands; one copy per case
    would cost more compile time than it saves."""
    doubling = (np.uint32(1), np.uint32(2), np.uint32(4), np.uint32(8), form.shifts[4], np.uint32(0))
    return ClosedForm(np.int32(0xFFFF), np.int32(0), form.steps, doubling, np.uint32(0xFFFFFFFF), form.core)


@njit(cache=True, inline="always")
def _stale_run_u32(propagate, shifts):
    """Carry-in bits i whose bits i-k..i-1 all propagate (k carry delays, `shifts` of :func:`stale_run_shifts`).

    Bit i of ``propagate << 1`` is propagate bit i-1; ANDing it with itself shifted by
    s <= (run length so far) extends the run to length + s, so five uniform shifts reach
    any k <= 32 with no branch (a shift of 0 leaves it unchanged).
    """
    s0, s1, s2, s3, s4, all_stale = shifts
    run = np.uint32(_shl_u32(propagate, 1) | all_stale)
    run = np.uint32(run & _shl_u32(run, s0))
    run = np.uint32(run & _shl_u32(run, s1))
    run = np.uint32(run & _shl_u32(run, s2))
    run = np.uint32(run & _shl_u32(run, s3))
    return np.uint32(run & _shl_u32(run, s4))


@njit(cache=True, inline="always")
def _late_product_u32(p0, p1, form):
    """Product register of a MAC whose late bits (``form.late``) still hold the previous product `p1`,
    sign-extended, uint32.

    Without late bits it is the product itself (an int8 x int8 product fits 16 signed bits);
    taking that branch keeps vector loops 32-bit, where the 16-bit sign extension would
    widen them to 64 bits. In the loop copies with ``late`` a constant 0 the test folds away.
    """
    if form.late == 0:
        return np.uint32(np.uint32(p0) & form.mask)
    return np.uint32(np.uint32(_extend_product((p0 & form.keep) | (p1 & form.late))) & form.mask)


@njit(cache=True, inline="always")
def _compound_sum_u32(new_a, old_a, new_b, old_b, form):
    """One compound-cell MAC in closed form, uint32 words: (latched, flip).

    ``new_a, old_a``: incoming partial sums of this MAC and the one before it; ``new_b,
    old_b``: their product registers.
    """
    mask = form.mask
    total = np.uint32(new_a + new_b)
    carries = np.uint32(total ^ new_a ^ new_b)
    old_carries = np.uint32(np.uint32(old_a + old_b) ^ old_a ^ old_b)
    stale = _stale_run_u32(new_a ^ new_b, form.shifts)
    flip = np.uint32(np.uint32(carries ^ _shl_u32(old_carries, form.steps)) & stale & mask)
    return np.uint32(total ^ flip) & mask, flip
