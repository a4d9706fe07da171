"""Scalar chain recurrences: the ripple-carry adders one MAC at a time, and the registered PE's MAC.

Operands are unsigned bit patterns in int64 (masked to the adder width); times are
integer femtoseconds. The per-MAC functions (``*_one``, :func:`registered_mac`) are jitted
so the array engines can call them from their own kernels; the ``*_lanes`` functions run
one MAC per lane for :mod:`pe_models.chain`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._gate_events import encoded_stage_samples

__all__: list[str] = []


_STEP_LIMIT = 256


@njit(cache=True, inline="always")
def rca_compound_one(old_a, old_b, new_a, new_b, mask, t_sample, d_carry, d_sum):
    """Compound-cell ripple-carry adder: (latched, correct, settle_fs) of one MAC.

    Carry vector after k carry delays: ``C_k = G | (P & C_{k-1})`` shifted into the next
    bit, from the previous cycle's settled carries; sum latched at ``t_sample`` is
    ``A ^ B ^ C_k`` with ``k = floor((t_sample - d_sum) / d_carry)``.
    """
    carry_in = ((old_a + old_b) ^ old_a ^ old_b) & mask
    generate = new_a & new_b
    propagate = new_a ^ new_b
    correct = (new_a + new_b) & mask
    steps = compound_carry_steps(t_sample, d_carry, d_sum)
    latched = correct
    if steps < 0:
        latched = (old_a + old_b) & mask
    last_change = 0
    j = 0
    while True:
        if j == steps:
            latched = propagate ^ carry_in
        following = ((generate | (propagate & carry_in)) << 1) & mask
        if following == carry_in:
            break
        j += 1
        carry_in = following
        last_change = j
    if last_change > 0:
        settle = d_sum + last_change * d_carry
    elif propagate != ((old_a ^ old_b) & mask):
        settle = d_sum
    else:
        settle = 0
    return latched, correct, settle


@njit(cache=True, inline="always")
def _run_mask(propagate, steps):
    """Bits j whose `steps` bits j-steps+1..j all propagate (shifted-in bits do not), 0 < steps < 64.

    Built by doubling (runs of 1, 2, 4, ... bits); the only branch depends on `steps`
    alone, so loops over MACs with one `steps` still vectorise.
    """
    run = np.int64(-1)
    offset = np.int64(0)
    block = propagate
    span = np.int64(1)
    for level in range(6):
        if steps >> level == 0:
            break
        take = -((steps >> level) & 1)
        run &= (block << offset) | ~take
        offset += span & take
        block &= block << span
        span += span
    return run


@njit(cache=True, inline="always")
def carry_outs(a, b, mask):
    """Settled carry-out vector of ``a + b`` (bit j = carry out of bit j)."""
    return (((a + b) ^ a ^ b) >> 1) & mask


@njit(cache=True, inline="always")
def compound_carry_steps(t_sample, d_carry, d_sum):
    """Carry delays that fit before the sampling instant after the sum delay (-1: none)."""
    if t_sample < d_sum:
        return -1
    return (t_sample - d_sum) // d_carry


@njit(cache=True, inline="always")
def carries_after(start, final, propagate, steps, mask):
    """Carry-out vector after `steps` carry delays from `start`, with settled inputs (closed form).

    A carry out of bit j is final unless bits j-steps+1..j all propagate, in which case
    it still shows the starting carry out of bit j-steps.
    """
    if steps <= 0:
        return start
    if steps >= 63:
        return final
    run = _run_mask(propagate, steps) & mask
    return ((final & ~run) | ((start << steps) & run)) & mask


@njit(cache=True, inline="always")
def rca_compound_latched(old_a, old_b, new_a, new_b, mask, t_sample, d_carry, d_sum):
    """Compound ripple-carry adder: latched value of one MAC in O(log k) word operations."""
    return rca_compound_latched_steps(old_a, old_b, new_a, new_b, mask, compound_carry_steps(t_sample, d_carry, d_sum))


@njit(cache=True, inline="always")
def rca_compound_latched_steps(old_a, old_b, new_a, new_b, mask, steps):
    """Compound ripple-carry adder, latched value after `steps` carry delays (-1: old sum)."""
    if steps < 0:
        return (old_a + old_b) & mask
    propagate = (new_a ^ new_b) & mask
    carry_out = carries_after(carry_outs(old_a, old_b, mask), carry_outs(new_a, new_b, mask), propagate, steps, mask)
    return propagate ^ ((carry_out << 1) & mask)


@njit(cache=True, inline="always")
def rca_2in_one(old_a, old_b, new_a, new_b, mask, t_sample, d_xor, d_and, d_or):
    """2-input-cell ripple-carry adder: (latched, correct) of one MAC, exact.

    Full adder ``p = a ^ b, s = p ^ ci, g = a & b, t = p & ci, co = g | t``: the carry
    vector at time x is ``G(x - d_or) | P(x - d_or - d_and) & CI(x - d_or - d_and)``,
    evaluated backwards from the sampling instant on one lattice of step
    ``d_and + d_or`` down to the settled previous carries.
    """
    p_old = (old_a ^ old_b) & mask
    g_old = old_a & old_b
    co_old = carry_outs(old_a, old_b, mask)
    p_new = (new_a ^ new_b) & mask
    g_new = new_a & new_b
    co_new = carry_outs(new_a, new_b, mask)
    correct = (new_a + new_b) & mask
    step = d_and + d_or
    x0 = t_sample - d_xor
    carry_out = co_old
    if x0 >= step:
        count = (x0 - step) // step + 1
        m = count - 1
        while m >= 0:
            x = x0 - m * step
            inner = x - step
            if x - d_or >= d_and and inner >= d_xor:
                carry_out = carries_after(carry_out, co_new, p_new, m + 1, mask)
                break
            g = g_new if x - d_or >= d_and else g_old
            p = p_new if inner >= d_xor else p_old
            carry_out = g | (p & ((carry_out << 1) & mask))
            m -= 1
    p_sample = p_new if x0 >= d_xor else p_old
    return p_sample ^ ((carry_out << 1) & mask), correct


@njit(cache=True)
def _co_on_lattice(
    start, step, until, base_time_value, p_old, p_new, g_old, g_new, mask, d_xor, d_and, d_or, times, values, count
):
    """Append the carry-out vector at times ``start + m * step`` (m >= 0) until it is stable
    and the time has passed `until`."""
    previous = base_time_value
    m = 0
    while m < _STEP_LIMIT:
        x = start + m * step
        g = g_new if x - d_or >= d_and else g_old
        inner = x - step
        p = p_new if inner >= d_xor else p_old
        value = g | (p & ((previous << 1) & mask))
        times[count] = x
        values[count] = value
        count += 1
        settled_inputs = x - d_or >= d_and and inner >= d_xor
        if settled_inputs and value == previous and x >= until:
            break
        previous = value
        m += 1
    return count


@njit(cache=True)
def rca_2in_bit_settle(old_a, old_b, new_a, new_b, mask, width, d_xor, d_and, d_or, out):
    """Last transition time (fs) of every sum bit of the 2-input-cell ripple-carry adder.

    The carry-out vector changes only on two lattices of step ``d_and + d_or``: one
    started by the generate cells (at ``d_and + d_or``), one by the propagate cells (at
    ``d_xor + d_and + d_or``). Both are walked to their fixed point, merged in time, and
    the sum ``P(t - d_xor) ^ CI(t - d_xor)`` is evaluated at every candidate time.
    """
    p_old = (old_a ^ old_b) & mask
    g_old = old_a & old_b
    co_old = carry_outs(old_a, old_b, mask)
    p_new = (new_a ^ new_b) & mask
    g_new = new_a & new_b
    step = d_and + d_or
    times = np.empty(2 * _STEP_LIMIT, dtype=np.int64)
    values = np.empty(2 * _STEP_LIMIT, dtype=np.int64)
    until = 0
    for _ in range(2):
        count = _co_on_lattice(
            step, step, until, co_old, p_old, p_new, g_old, g_new, mask, d_xor, d_and, d_or, times, values, 0
        )
        first = count
        base = co_old
        for i in range(first):
            if times[i] <= d_xor:
                base = values[i]
        count = _co_on_lattice(
            d_xor + step, step, until, base, p_old, p_new, g_old, g_new, mask, d_xor, d_and, d_or, times, values, count
        )
        until = max(times[first - 1], times[count - 1])
    order = np.argsort(times[:count], kind="mergesort")
    candidates = np.empty(count + 1, dtype=np.int64)
    candidates[0] = 2 * d_xor
    for i in range(count):
        candidates[i + 1] = times[order[i]] + d_xor
    candidates.sort()
    for bit in range(width):
        out[bit] = 0
    previous_sum = p_old ^ ((co_old << 1) & mask)
    for c in range(count + 1):
        t = candidates[c]
        x = t - d_xor
        carry_out = co_old
        best = -1
        for i in range(count):
            if times[i] <= x and times[i] > best:
                best = times[i]
                carry_out = values[i]
        p = p_new if x >= d_xor else p_old
        total = p ^ ((carry_out << 1) & mask)
        changed = total ^ previous_sum
        if changed != 0:
            for bit in range(width):
                if (changed >> bit) & 1:
                    out[bit] = t
        previous_sum = total


@njit(cache=True)
def rca_compound_bit_settle(old_a, old_b, new_a, new_b, mask, width, d_carry, d_sum, out):
    """Last transition time (fs) of every sum bit of the compound-cell ripple-carry adder."""
    carry_in = ((old_a + old_b) ^ old_a ^ old_b) & mask
    generate = new_a & new_b
    propagate = new_a ^ new_b
    first = propagate ^ ((old_a ^ old_b) & mask)
    for bit in range(width):
        out[bit] = d_sum if (first >> bit) & 1 else 0
    j = 0
    while True:
        following = ((generate | (propagate & carry_in)) << 1) & mask
        if following == carry_in:
            break
        j += 1
        changed = following ^ carry_in
        for bit in range(width):
            if (changed >> bit) & 1:
                out[bit] = d_sum + j * d_carry
        carry_in = following


@njit(cache=True)
def _lane(values, i):
    return values[i] if values.shape[0] > 1 else values[0]


@njit(cache=True)
def rca_compound_lanes(old_a, old_b, new_a, new_b, mask, t_sample, d_carry, d_sum, latched, correct, settle):
    """Lane-parallel compound ripple-carry adder; sampling instants and delays are per lane or
    broadcast (arrays of length 1)."""
    for i in range(old_a.shape[0]):
        latched[i], correct[i], settle[i] = rca_compound_one(
            old_a[i] & mask,
            old_b[i] & mask,
            new_a[i] & mask,
            new_b[i] & mask,
            mask,
            _lane(t_sample, i),
            _lane(d_carry, i),
            _lane(d_sum, i),
        )


@njit(cache=True)
def rca_compound_latched_lanes(old_a, old_b, new_a, new_b, mask, t_sample, d_carry, d_sum, latched, correct):
    """Lane-parallel compound ripple-carry adder, latched and correct values only."""
    for i in range(old_a.shape[0]):
        a = new_a[i] & mask
        b = new_b[i] & mask
        latched[i] = rca_compound_latched(
            old_a[i] & mask, old_b[i] & mask, a, b, mask, _lane(t_sample, i), _lane(d_carry, i), _lane(d_sum, i)
        )
        correct[i] = (a + b) & mask


@njit(cache=True)
def rca_2in_lanes(old_a, old_b, new_a, new_b, mask, t_sample, d_xor, d_and, d_or, latched, correct):
    """Lane-parallel 2-input-cell ripple-carry adder (sampling instants per lane or broadcast)."""
    for i in range(old_a.shape[0]):
        latched[i], correct[i] = rca_2in_one(
            old_a[i] & mask,
            old_b[i] & mask,
            new_a[i] & mask,
            new_b[i] & mask,
            mask,
            _lane(t_sample, i),
            _lane(d_xor, i),
            _lane(d_and, i),
            _lane(d_or, i),
        )


@njit(cache=True)
def rca_bit_settle_lanes(old_a, old_b, new_a, new_b, mask, width, compound, d0, d1, d2, out):
    """Per-bit settle times for every lane; ``compound`` selects (d_carry, d_sum) or (d_xor, d_and, d_or)."""
    for i in range(old_a.shape[0]):
        if compound:
            rca_compound_bit_settle(
                old_a[i] & mask,
                old_b[i] & mask,
                new_a[i] & mask,
                new_b[i] & mask,
                mask,
                width,
                _lane(d0, i),
                _lane(d1, i),
                out[i],
            )
        else:
            rca_2in_bit_settle(
                old_a[i] & mask,
                old_b[i] & mask,
                new_a[i] & mask,
                new_b[i] & mask,
                mask,
                width,
                _lane(d0, i),
                _lane(d1, i),
                _lane(d2, i),
                out[i],
            )


@njit(cache=True)
def plain_mac_loop(a, b, c, out):
    """Reference: a plain int8 multiply-accumulate loop (for benchmarks)."""
    for i in range(a.shape[0]):
        out[i] = c[i] + np.int32(a[i]) * np.int32(b[i])


PARAM_CELLS = 0
PARAM_MASK = 1
PARAM_T_SAMPLE = 2
PARAM_D0 = 3
PARAM_D1 = 4
PARAM_D2 = 5
PARAM_ARRIVAL = 6
PARAM_LATE_PRODUCT = PARAM_ARRIVAL + 16
PARAM_CARRY_STEPS = PARAM_LATE_PRODUCT + 1
PARAM_T_SHADOW = PARAM_CARRY_STEPS + 1
PARAM_SHADOW_STEPS = PARAM_T_SHADOW + 1
PARAM_BUFFER_MASK = PARAM_SHADOW_STEPS + 1
PARAM_T_BUFFERED = PARAM_BUFFER_MASK + 1
PARAM_BUFFER_STEPS = PARAM_T_BUFFERED + 1
PARAM_T_SHADOW_BUFFERED = PARAM_BUFFER_STEPS + 1
PARAM_SHADOW_BUFFER_STEPS = PARAM_T_SHADOW_BUFFERED + 1
PARAM_COUNT = PARAM_SHADOW_BUFFER_STEPS + 1
"""Hold buffers (:mod:`pe_models.razor`): the accumulator bits of ``PARAM_BUFFER_MASK`` pass
through a chain of buffers of total delay D before their flip-flop, so they are the adder's
sum sampled at ``PARAM_T_BUFFERED = t_sample - D`` (``PARAM_BUFFER_STEPS`` carry delays) and,
for the shadow latch, at ``PARAM_T_SHADOW_BUFFERED = t_shadow - D`` (closed-form rows only:
an exact row's encoded stage holds the buffers as cells)."""
PARAM_STAGE = PARAM_COUNT
"""Rows with ``PARAM_CELLS == CELLS_EXACT`` continue with the adder stage encoded for
:func:`encoded_stage_samples` from here."""

CELLS_COMPOUND = 0
CELLS_2IN = 1
CELLS_EXACT = 2
CELLS_EDGE = 3
"""``PARAM_CELLS``: the compound or 2-input closed form of the ripple-carry adder, the exact
event kernel on the encoded adder stage (arcs that differ by pin, edge or instance), or the
per-edge model of a characterised library (:func:`edge_sample`)."""

EDGE_SLOTS = 8
"""Distinct carry-step counts a per-edge table holds per product-sign scenario."""
EDGE_SCENARIO_WORDS = 5 * EDGE_SLOTS + 3
"""Words of one scenario of a per-edge table: ``EDGE_SLOTS`` slots ``(k, m00, m01, m10, m11)`` (the sum
bits i whose carry is traced back k steps when the new carry into i is v and bit i propagates
iff p, in mask ``m{v}{p}``), then the stale mask (sign-extended bits whose sum cell reads the old
sign), the late-chain mask (of those, the bits whose carry chain also sees the old sign) and the
fallback mask (bits whose sum cell's operands all arrive late: they latch the old sum)."""
EDGE_TABLE_WORDS = 3 * EDGE_SCENARIO_WORDS
"""Words of one per-edge table: the scenarios product sign unchanged, rising, falling. A
``CELLS_EDGE`` row holds two from ``PARAM_STAGE`` (main sample, shadow sample); its
``PARAM_CARRY_STEPS`` and ``PARAM_SHADOW_STEPS`` are their offsets in the row."""


@njit(cache=True, inline="always")
def product_stage(old_product, new_product, params):
    """Registered multiplier stage: bit j of the product register switches at its static arrival.

    Bits whose arrival is later than the sampling instant (``params[PARAM_LATE_PRODUCT]``)
    keep their old value.
    """
    late = params[PARAM_LATE_PRODUCT]
    return (new_product & ~late) | (old_product & late)


@njit(cache=True, inline="always")
def registered_mac(prev_a, prev_b, prev_product, prev_partial, a, b, partial, params):
    """One MAC of a registered PE with a ripple-carry accumulator.

    Parameters
    ----------
    prev_a, prev_b : int
        Operands of this PE's previous MAC (int8).
    prev_product : int
        Product register value of the previous MAC (16-bit pattern, as latched).
    prev_partial : int
        Incoming partial sum of the previous MAC (signed).
    a, b, partial : int
        This MAC's operands and incoming partial sum.
    params : int64 array, shape (PARAM_COUNT,)
        From :func:`pe_models.chain.mac_parameters`.

    Returns
    -------
    sum_latched, sum_settled : int
        Unsigned accumulator patterns: latched at the sampling instant, and settled from
        the latched product (their XOR is the stage's flip mask).
    product_latched : int
        16-bit product register pattern latched by the multiplier stage.
    """
    product = product_stage((prev_a * prev_b) & 0xFFFF, (a * b) & 0xFFFF, params)
    latched, settled = _accumulator_sample(
        prev_product, prev_partial, product, partial, params, params[PARAM_T_SAMPLE], params[PARAM_CARRY_STEPS]
    )
    buffered = params[PARAM_BUFFER_MASK]
    if buffered != 0:
        early, _ = _accumulator_sample(
            prev_product, prev_partial, product, partial, params, params[PARAM_T_BUFFERED], params[PARAM_BUFFER_STEPS]
        )
        latched = (latched & ~buffered) | (early & buffered)
    return latched, settled, product


@njit(cache=True)
def _accumulator_sample(prev_product, prev_partial, product, partial, params, t_sample, steps):
    """The accumulator stage of :func:`registered_mac` sampled at `t_sample` (compound cells: after `steps`
    carry delays, the carry delays that fit before it): (sampled, settled) unsigned patterns."""
    mask = params[PARAM_MASK]
    extended_old = ((prev_product ^ 0x8000) - 0x8000) & mask
    extended_new = ((product ^ 0x8000) - 0x8000) & mask
    old_c = prev_partial & mask
    new_c = partial & mask
    if params[PARAM_CELLS] == CELLS_COMPOUND:
        sampled = rca_compound_latched_steps(old_c, extended_old, new_c, extended_new, mask, steps)
    elif params[PARAM_CELLS] == CELLS_EDGE:
        sampled = edge_sample(
            old_c, extended_old, new_c, extended_new, (prev_product >> 15) & 1, (product >> 15) & 1, mask, params, steps
        )
    elif params[PARAM_CELLS] == CELLS_EXACT:
        sampled, _ = _exact_adder(prev_product, product, old_c, new_c, params, t_sample, t_sample)
    else:
        sampled, _ = rca_2in_one(
            old_c,
            extended_old,
            new_c,
            extended_new,
            mask,
            t_sample,
            params[PARAM_D0],
            params[PARAM_D1],
            params[PARAM_D2],
        )
    return sampled, (new_c + extended_new) & mask


@njit(cache=True)
def _exact_adder(old_product, new_product, old_c, new_c, params, t_sample, t_shadow):
    """The registered adder stage of one MAC through the exact event kernel (``CELLS_EXACT`` rows)."""
    old_buses = np.empty((2, 1), dtype=np.int64)
    new_buses = np.empty((2, 1), dtype=np.int64)
    old_buses[0, 0] = old_product & 0xFFFF
    old_buses[1, 0] = old_c
    new_buses[0, 0] = new_product & 0xFFFF
    new_buses[1, 0] = new_c
    return encoded_stage_samples(old_buses, new_buses, params, PARAM_STAGE, t_sample, t_shadow)


@njit(cache=True)
def registered_mac_stream(a, b, c, params, latched_out):
    """Consecutive MACs of one registered PE: ``a[t] * b[t] + c[t]`` after MAC t - 1.

    Parameters
    ----------
    a, b : int8 array, shape (n,)
    c : int32 or int64 array, shape (n,)
        Incoming partial sums.
    params : int64 array, shape (PARAM_COUNT,)
    latched_out : int64 array, shape (n,)
        Receives the latched accumulator patterns (unsigned); MAC 0 starts from a settled
        all-zero state.
    """
    mask = params[PARAM_MASK]
    prev_a = 0
    prev_b = 0
    prev_product = 0
    prev_partial = 0
    for t in range(a.shape[0]):
        x = np.int64(a[t])
        y = np.int64(b[t])
        partial = np.int64(c[t])
        latched, _, product = registered_mac(prev_a, prev_b, prev_product, prev_partial, x, y, partial, params)
        latched_out[t] = latched & mask
        prev_a = x
        prev_b = y
        prev_product = product
        prev_partial = partial


@njit(cache=True)
def compound_mac_stream(a, b, c, late_product, steps, mask, latched_out):
    """Fast path of :func:`registered_mac_stream` for compound cells, no per-PE variation.

    Each MAC depends only on the operands of itself and the two MACs before it (the
    product register latched by the multiplier stage is a function of consecutive
    exact products), so the loop carries no state and vectorises.
    """
    for t in range(a.shape[0]):
        p0 = np.int64(a[t]) * np.int64(b[t]) & 0xFFFF
        p1 = (np.int64(a[t - 1]) * np.int64(b[t - 1]) & 0xFFFF) if t >= 1 else np.int64(0)
        p2 = (np.int64(a[t - 2]) * np.int64(b[t - 2]) & 0xFFFF) if t >= 2 else np.int64(0)
        product = (p0 & ~late_product) | (p1 & late_product)
        previous_product = (p1 & ~late_product) | (p2 & late_product) if t >= 1 else np.int64(0)
        new_b = ((product ^ 0x8000) - 0x8000) & mask
        old_b = ((previous_product ^ 0x8000) - 0x8000) & mask
        new_a = np.int64(c[t]) & mask
        old_a = (np.int64(c[t - 1]) & mask) if t >= 1 else np.int64(0)
        latched_out[t] = rca_compound_latched_steps(old_a, old_b, new_a, new_b, mask, steps)


@njit(cache=True, inline="always")
def registered_mac_shadow(prev_a, prev_b, prev_product, prev_partial, a, b, partial, params):
    """The accumulator pattern at ``t_sample + window`` (the Razor shadow latch) of one MAC.

    Same arguments as :func:`registered_mac`; the adder stage is sampled a second time at
    ``params[PARAM_T_SHADOW]`` with the same exact machinery (the carry vector after
    ``params[PARAM_SHADOW_STEPS]`` carry delays, the 2-input-cell lattice walk, or the exact event
    kernel for ``CELLS_EXACT`` rows).
    """
    product = product_stage((prev_a * prev_b) & 0xFFFF, (a * b) & 0xFFFF, params)
    shadow, _ = _accumulator_sample(
        prev_product, prev_partial, product, partial, params, params[PARAM_T_SHADOW], params[PARAM_SHADOW_STEPS]
    )
    buffered = params[PARAM_BUFFER_MASK]
    if buffered != 0:
        early, _ = _accumulator_sample(
            prev_product,
            prev_partial,
            product,
            partial,
            params,
            params[PARAM_T_SHADOW_BUFFERED],
            params[PARAM_SHADOW_BUFFER_STEPS],
        )
        shadow = (shadow & ~buffered) | (early & buffered)
    return shadow


@njit(cache=True, inline="always")
def _extend_product(product):
    """16-bit product pattern -> signed value (the accumulator's sign extension)."""
    return ((product & 0xFFFF) ^ 0x8000) - 0x8000


@njit(cache=True, inline="always")
def _edge_carries(old_carry_out, a, b, mask, params, base):
    """Carry-in vector (bit i: the carry into sum bit i) latched under one scenario of a per-edge table.

    The carry into bit i is traced back ``k`` steps, k from the table for the new carry into i
    (``v``) and bit i's propagate (``p``): it still shows the old carry out of bit ``i-1-k`` when
    bits ``i-k .. i-1`` all propagate (:func:`carries_after`), else the new carry. Bits in no
    slot (the trace reaches the tied carry-in) latch the new carry.
    """
    carry_in = ((a + b) ^ a ^ b) & mask
    propagate = (a ^ b) & mask
    new_carry_out = carry_outs(a, b, mask)
    latched = np.int64(0)
    selected = np.int64(0)
    for slot in range(EDGE_SLOTS):
        word = base + 5 * slot
        chosen = (
            (params[word + 1] & ~carry_in & ~propagate)
            | (params[word + 2] & ~carry_in & propagate)
            | (params[word + 3] & carry_in & ~propagate)
            | (params[word + 4] & carry_in & propagate)
        )
        if chosen == 0:
            continue
        after = (carries_after(old_carry_out, new_carry_out, propagate, params[word], mask) << 1) & mask
        latched |= after & chosen
        selected |= chosen
    return latched | (carry_in & ~selected)


@njit(cache=True, inline="always")
def edge_sample(old_a, old_b, new_a, new_b, old_sign, new_sign, mask, params, base):
    """The ripple-carry adder's sum sampled under the per-edge model of a characterised library.

    ``old_b, new_b``: sign-extended product registers; ``old_sign, new_sign``: their sign bits
    (the product register's bit 15, which launches late and feeds the sign-extended bits);
    `base`: the offset of the table in `params` (:data:`EDGE_TABLE_WORDS`). The table's scenario
    is the sign's change (none, rising, falling). Sum bit i latches ``a_i ^ b_i ^ carry_i``
    with the carry of :func:`_edge_carries`; a stale sign-extended bit's sum cell reads the old
    sign, and where the chain sees it late too, the carry targets the sum with the old sign
    extension, traced with the unchanged-sign table; fallback bits latch the old sum.
    """
    scenario = 0 if old_sign == new_sign else (1 if new_sign else 2)
    table = base + scenario * EDGE_SCENARIO_WORDS
    stale = params[table + 5 * EDGE_SLOTS]
    late = params[table + 5 * EDGE_SLOTS + 1]
    fallback = params[table + 5 * EDGE_SLOTS + 2]
    old_carry_out = carry_outs(old_a, old_b, mask)
    carries = _edge_carries(old_carry_out, new_a, new_b, mask, params, table)
    seen = new_b
    if stale != 0:
        old_extension = new_b ^ (mask & ~np.int64(0x7FFF))
        if late != 0:
            alternative = _edge_carries(old_carry_out, new_a, old_extension, mask, params, base)
            carries = (carries & ~late) | (alternative & late)
        seen = (new_b & ~stale) | (old_extension & stale)
    latched = (new_a ^ seen ^ carries) & mask
    if fallback != 0:
        latched = (latched & ~fallback) | ((old_a + old_b) & mask & fallback)
    return latched
