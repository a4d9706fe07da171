"""numba kernels of the chain level (bit-parallel carry-chain timing per MAC).

Operands are unsigned bit patterns in int64 (masked to the adder width); times are
integer femtoseconds. The per-MAC functions (``*_one``) are jitted so the array
simulator can call them from its own kernels.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__: list[str] = []


@intrinsic
def _shl_u32(typingctx, word, shift):
    """``word << shift`` as a 32-bit shift, uint32 (numba widens integer shifts to 64 bits, which keeps
    the vectoriser from using 32-bit lanes); ``0 <= shift < 32``."""

    def codegen(context, builder, signature, args):
        value = context.cast(builder, args[0], signature.args[0], types.uint32)
        amount = context.cast(builder, args[1], signature.args[1], types.uint32)
        return builder.shl(value, amount)

    return types.uint32(word, shift), codegen


@intrinsic
def _mul_u32(typingctx, left, right):
    """The low 32 bits of ``int32(left) * int32(right)``, uint32 (a 32-bit multiply: numba widens
    integer products to 64 bits)."""

    def codegen(context, builder, signature, args):
        a = context.cast(builder, args[0], signature.args[0], types.int32)
        b = context.cast(builder, args[1], signature.args[1], types.int32)
        return builder.mul(a, b)

    return types.uint32(left, right), codegen


@intrinsic
def _trailing_zeros_u32(typingctx, word):
    """Trailing zero bits of a uint32 word (``llvm.cttz``; 32 for 0)."""

    def codegen(context, builder, signature, args):
        value = context.cast(builder, args[0], signature.args[0], types.uint32)
        function_type = ir.FunctionType(ir.IntType(32), [ir.IntType(32), ir.IntType(1)])
        function = builder.module.declare_intrinsic("llvm.cttz", [ir.IntType(32)], function_type)
        return builder.call(function, [value, ir.Constant(ir.IntType(1), 0)])

    return types.uint32(word), codegen


LANE_GROUP = 8
"""Lanes per closed-form group of a screened :func:`compound_stationary_lanes` step (one 256-bit vector of
uint32 lanes; a divisor of :data:`WRONG_GROUP`)."""


class _VectorCode:
    """Explicit vector code of :data:`LANE_GROUP` uint32 lanes in an intrinsic's ``codegen``: argument `index`
    of the intrinsic as a scalar, a splat, or a vector loaded from or stored to an array (one vector
    for a C-contiguous array, lane by lane for any other)."""

    def __init__(self, context, builder, signature, args):
        self.context = context
        self.builder = builder
        self.types = signature.args
        self.args = args
        self.word = ir.IntType(32)
        self.vector = ir.VectorType(self.word, LANE_GROUP)

    def scalar(self, index, to=types.uint32):
        return self.context.cast(self.builder, self.args[index], self.types[index], to)

    def shift_splats(self, index):
        """The shifts of :func:`stale_run_shifts` passed as argument `index` (a 6-tuple), as splats:
        (the five run shifts, all_stale)."""
        splats = [
            self.splat(
                self.context.cast(
                    self.builder, self.builder.extract_value(self.args[index], k), self.types[index][k], types.uint32
                )
            )
            for k in range(6)
        ]
        return splats[:5], splats[5]

    def splat(self, value):
        undefined = ir.Constant(self.vector, ir.Undefined)
        first = self.builder.insert_element(undefined, value, ir.Constant(self.word, 0))
        return self.builder.shuffle_vector(first, undefined, ir.Constant(self.vector, None))

    def pointer(self, index, indices):
        array_type = self.types[index]
        array = self.context.make_array(array_type)(self.context, self.builder, self.args[index])
        return cgutils.get_item_pointer2(
            self.context,
            self.builder,
            data=array.data,
            shape=cgutils.unpack_tuple(self.builder, array.shape),
            strides=cgutils.unpack_tuple(self.builder, array.strides),
            layout=array_type.layout,
            inds=indices,
            wraparound=False,
            boundscheck=False,
        )

    def _lane_indices(self, indices, lane):
        return [*indices[:-1], self.builder.add(indices[-1], ir.Constant(indices[-1].type, lane))]

    def contiguous(self, index):
        return self.types[index].layout == "C"

    def load(self, index, indices, element):
        """Lanes ``indices[-1] ..`` of array `index` (elements of LLVM type `element`)."""
        builder = self.builder
        if self.contiguous(index):
            address = self.pointer(index, indices)
            return builder.load(builder.bitcast(address, ir.PointerType(ir.VectorType(element, LANE_GROUP))), align=1)
        value = ir.Constant(ir.VectorType(element, LANE_GROUP), ir.Undefined)
        for lane in range(LANE_GROUP):
            item = builder.load(self.pointer(index, self._lane_indices(indices, lane)))
            value = builder.insert_element(value, item, ir.Constant(self.word, lane))
        return value

    def store(self, index, indices, value):
        builder = self.builder
        if self.contiguous(index):
            address = self.pointer(index, indices)
            builder.store(value, builder.bitcast(address, ir.PointerType(value.type)), align=1)
            return
        for lane in range(LANE_GROUP):
            item = builder.extract_element(value, ir.Constant(self.word, lane))
            builder.store(item, self.pointer(index, self._lane_indices(indices, lane)))

    def late_product(self, now, before, keep, late, mask, no_late):
        """:func:`_late_product_u32` of vectors or of uint32 scalars (`no_late`: the i1 ``late == 0``)."""
        builder = self.builder
        sixteen = ir.Constant(self.word, 16)
        if isinstance(now.type, ir.VectorType):
            sixteen = self.splat(sixteen)
        merged = builder.or_(builder.and_(now, keep), builder.and_(before, late))
        extended = builder.ashr(builder.shl(merged, sixteen), sixteen)
        return builder.and_(builder.select(no_late, now, extended), mask)

    def carries(self, a, b):
        """The settled sum of `a` and `b` (vectors or scalars), their propagate bits and their carry-ins:
        (total, propagate, carries)."""
        builder = self.builder
        total = builder.add(a, b)
        propagate = builder.xor(a, b)
        return total, propagate, builder.xor(total, propagate)

    def latch(self, settled, old_carries, steps, shifts, all_stale, mask):
        """:func:`_compound_sum_u32` of vectors from :meth:`carries` of the MAC (`settled`) and the carries of
        the MAC before it: (latched, flip)."""
        builder = self.builder
        total, propagate, carries = settled
        run = builder.or_(builder.shl(propagate, self.splat(ir.Constant(self.word, 1))), all_stale)
        for shift in shifts:
            run = builder.and_(run, builder.shl(run, shift))
        flip = builder.and_(builder.and_(builder.xor(carries, builder.shl(old_carries, steps)), run), mask)
        return builder.and_(builder.xor(total, flip), mask), flip

    def append_nonzero(self, index, fill, value):
        """Store the non-zero lanes of `value` in order to array `index` (1-D) from element `fill` (intp) on;
        returns how many (intp). A C-contiguous array takes one compressing store
        (``llvm.masked.compressstore``), any other a store per lane that only a non-zero
        lane's count moves past."""
        builder = self.builder
        intp = fill.type
        nonzero = builder.icmp_unsigned("!=", value, ir.Constant(self.vector, None))
        if self.contiguous(index):
            address = self.pointer(index, [fill])
            bools = ir.VectorType(ir.IntType(1), LANE_GROUP)
            compress = cgutils.get_or_insert_function(
                builder.module,
                ir.FunctionType(ir.VoidType(), [self.vector, address.type, bools]),
                f"llvm.masked.compressstore.v{LANE_GROUP}i32",
            )
            builder.call(compress, [value, address, nonzero])
            bits = ir.IntType(LANE_GROUP)
            popcount = builder.module.declare_intrinsic("llvm.ctpop", [bits], ir.FunctionType(bits, [bits]))
            return builder.zext(builder.call(popcount, [builder.bitcast(nonzero, bits)]), intp)
        count = ir.Constant(intp, 0)
        for lane in range(LANE_GROUP):
            item = builder.extract_element(value, ir.Constant(self.word, lane))
            builder.store(item, self.pointer(index, [builder.add(fill, count)]))
            count = builder.add(
                count, builder.zext(builder.extract_element(nonzero, ir.Constant(self.word, lane)), intp)
            )
        return count


@intrinsic
def _lane_group_u32(
    typingctx,
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
    keep,
    late,
    steps,
    shifts,
    mask,
):
    """:func:`_lane_macs_u32` for the :data:`LANE_GROUP` lanes ``base ..`` (all < ``len(weights)``; step t > 0)
    as one vector of uint32 lanes: latches ``psum_out[t, base:base + LANE_GROUP]``, appends the wrong
    lanes' flip words to ``words[fill:]`` (room for :data:`LANE_GROUP` needed) and returns how many.

    The vectoriser left this group to a loop of its own (run-time alias checks and a trip
    count test per group); written as explicit vector operations it is straight-line code
    (C-contiguous arrays load and store one vector; others lane by lane). Appending the flip
    words here, with a compressing store, replaced a mask of wrong lanes per group that a
    trailing-zero scan after the row turned into flip words by recomputing each wrong MAC
    (0.83-0.87x the time of the row-by-row folds of MobileNetV2 at 0.5 V).
    """

    def codegen(context, builder, signature, args):
        code = _VectorCode(context, builder, signature, args)
        t_index = code.scalar(8, types.intp)
        previous_index = code.scalar(9, types.intp)
        base_index = code.scalar(10, types.intp)
        w = builder.sext(code.load(3, [base_index], ir.IntType(8)), code.vector)
        p0 = builder.mul(code.splat(code.scalar(0)), w)
        p1 = builder.mul(code.splat(code.scalar(1)), w)
        p2 = builder.mul(code.splat(code.scalar(2)), w)
        keep_v, late_v, mask_v = code.splat(code.scalar(11)), code.splat(code.scalar(12)), code.splat(code.scalar(15))
        no_late = builder.icmp_unsigned("==", code.scalar(12), ir.Constant(code.word, 0))
        new_b = code.late_product(p0, p1, keep_v, late_v, mask_v, no_late)
        old_b = code.late_product(p1, p2, keep_v, late_v, mask_v, no_late)
        new_a = code.load(4, [t_index, base_index], code.word)
        old_a = code.load(4, [previous_index, base_index], code.word)
        run_shifts, all_stale = code.shift_splats(14)
        latched, flip = code.latch(
            code.carries(new_a, new_b),
            code.carries(old_a, old_b)[2],
            code.splat(code.scalar(13)),
            run_shifts,
            all_stale,
            mask_v,
        )
        code.store(5, [t_index, base_index], latched)
        return code.append_nonzero(6, code.scalar(7, types.intp), flip)

    return (
        types.intp(
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
            keep,
            late,
            steps,
            shifts,
            mask,
        ),
        codegen,
    )


@intrinsic
def _stream_group_u32(typingctx, stream, psum_in, psum_out, words, fill, base, w, keep, late, steps, shifts, mask):
    """MACs ``base .. base + WRONG_GROUP - 1`` (``2 <= base``, ``base + WRONG_GROUP <= len(stream)``) of
    :func:`_closed_form_run_u32` as explicit vectors of :data:`LANE_GROUP` MACs: latches their sums into
    `psum_out`, appends their non-zero flip words to ``words[fill:]`` (room for :data:`WRONG_GROUP`
    needed) and returns how many it appended (the group's wrong MACs).

    Each vector takes the previous MAC's carries and product from the vector before it (one
    shuffle); the group's first MAC recomputes those of MAC ``base - 1`` from its operands.
    Written out, the group has no run-time alias check and no branch: the vectorised loop
    it replaces re-tested the arrays' overlap on every group, and the scan of the wrong
    MACs it fed mispredicted on 15-48 % of the groups (MobileNetV2 at 0.5 V).
    """

    def codegen(context, builder, signature, args):
        code = _VectorCode(context, builder, signature, args)
        word = code.word
        start = code.scalar(5, types.intp)
        weight = code.scalar(6, types.int32)
        keep_s, late_s, mask_s = code.scalar(7), code.scalar(8), code.scalar(11)
        no_late = builder.icmp_unsigned("==", late_s, ir.Constant(word, 0))
        intp = start.type

        def scalar_product(offset):
            item = builder.load(code.pointer(0, [builder.sub(start, ir.Constant(intp, offset))]))
            return builder.mul(builder.sext(item, word), weight)

        last_product = scalar_product(1)
        old_a = builder.load(code.pointer(1, [builder.sub(start, ir.Constant(intp, 1))]))
        old_b = code.late_product(last_product, scalar_product(2), keep_s, late_s, mask_s, no_late)
        old_carries = code.carries(old_a, old_b)[2]
        last_lane = ir.Constant(word, LANE_GROUP - 1)
        products = builder.insert_element(ir.Constant(code.vector, ir.Undefined), last_product, last_lane)
        carries = builder.insert_element(ir.Constant(code.vector, ir.Undefined), old_carries, last_lane)
        previous_lanes = ir.Constant(code.vector, [LANE_GROUP - 1 + lane for lane in range(LANE_GROUP)])
        w_v, keep_v, late_v, mask_v = code.splat(weight), code.splat(keep_s), code.splat(late_s), code.splat(mask_s)
        steps_v = code.splat(code.scalar(9))
        run_shifts, all_stale = code.shift_splats(10)
        fill = code.scalar(4, types.intp)
        appended = ir.Constant(intp, 0)
        for vector in range(WRONG_GROUP // LANE_GROUP):
            offset = builder.add(start, ir.Constant(intp, vector * LANE_GROUP))
            now = builder.mul(builder.sext(code.load(0, [offset], ir.IntType(8)), code.vector), w_v)
            earlier = builder.shuffle_vector(products, now, previous_lanes)
            new_b = code.late_product(now, earlier, keep_v, late_v, mask_v, no_late)
            new_a = code.load(1, [offset], word)
            settled = code.carries(new_a, new_b)
            old_carries = builder.shuffle_vector(carries, settled[2], previous_lanes)
            latched, flip = code.latch(settled, old_carries, steps_v, run_shifts, all_stale, mask_v)
            carries = settled[2]
            code.store(2, [offset], latched)
            appended = builder.add(appended, code.append_nonzero(3, builder.add(fill, appended), flip))
            products = now
        return appended

    return (
        types.intp(stream, psum_in, psum_out, words, fill, base, w, keep, late, steps, shifts, mask),
        codegen,
    )


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
    """Lane-parallel compound ripple-carry adder; delays are per lane or broadcast (length 1)."""
    for i in range(old_a.shape[0]):
        latched[i], correct[i], settle[i] = rca_compound_one(
            old_a[i] & mask,
            old_b[i] & mask,
            new_a[i] & mask,
            new_b[i] & mask,
            mask,
            t_sample,
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
            old_a[i] & mask, old_b[i] & mask, a, b, mask, t_sample, _lane(d_carry, i), _lane(d_sum, i)
        )
        correct[i] = (a + b) & mask


@njit(cache=True)
def rca_2in_lanes(old_a, old_b, new_a, new_b, mask, t_sample, d_xor, d_and, d_or, latched, correct):
    """Lane-parallel 2-input-cell ripple-carry adder."""
    for i in range(old_a.shape[0]):
        latched[i], correct[i] = rca_2in_one(
            old_a[i] & mask,
            old_b[i] & mask,
            new_a[i] & mask,
            new_b[i] & mask,
            mask,
            t_sample,
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
PARAM_COUNT = PARAM_SHADOW_STEPS + 1


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
    mask = params[PARAM_MASK]
    t_sample = params[PARAM_T_SAMPLE]
    old_product = (prev_a * prev_b) & 0xFFFF
    new_product = (a * b) & 0xFFFF
    product = product_stage(old_product, new_product, params)
    extended_old = ((prev_product ^ 0x8000) - 0x8000) & mask
    extended_new = ((product ^ 0x8000) - 0x8000) & mask
    old_c = prev_partial & mask
    new_c = partial & mask
    if params[PARAM_CELLS] == 0:
        latched = rca_compound_latched_steps(old_c, extended_old, new_c, extended_new, mask, params[PARAM_CARRY_STEPS])
    else:
        latched, _ = rca_2in_one(
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
    return latched, (new_c + extended_new) & mask, product


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
def _stale_carries_32(propagate, steps, mask):
    """Carry-in bits i whose `steps` bits i-steps..i-1 all propagate, uint32 words, 0 <= steps < 32.

    The doubling of :func:`_run_mask` without its early exit, so that a loop over MACs
    with one `steps` has no branch.
    """
    run = np.uint32(0xFFFFFFFF)
    offset = np.uint32(0)
    block = np.uint32(propagate << np.uint32(1)) & mask
    span = np.uint32(1)
    for level in range(5):
        take = np.uint32(0) - np.uint32((steps >> np.uint32(level)) & np.uint32(1))
        run &= np.uint32(block << offset) | ~take
        offset += span & take
        block &= np.uint32(block << span)
        span += span
    return run & mask


@njit(cache=True, inline="always")
def _stale_carries_64(propagate, steps, mask):
    """:func:`_stale_carries_32` for int64 words, 0 <= steps < 63."""
    run = np.int64(-1)
    offset = np.int64(0)
    block = (propagate << 1) & mask
    span = np.int64(1)
    for level in range(6):
        take = -((steps >> level) & 1)
        run &= (block << offset) | ~take
        offset += span & take
        block &= block << span
        span += span
    return run & mask


@njit(cache=True, inline="always")
def _extend_product(product):
    """16-bit product pattern -> signed value (the accumulator's sign extension)."""
    return ((product & 0xFFFF) ^ 0x8000) - 0x8000


@njit(cache=True)
def _stationary_stream_32(
    now, before, earlier, weight, partial, old_partial, keep, late, steps, mask, latched, settled
):
    """Vector loop of :func:`compound_stationary_stream`: every MAC, accumulators of at most 32 bits,
    0 <= steps < 32.

    Element t is the MAC with operand ``now[t]`` after ``before[t]`` and ``earlier[t]``
    (the two before it) and partial sum ``partial[t]`` after ``old_partial[t]``.
    """
    w = np.int32(weight)
    m = np.uint32(mask)
    k = np.uint32(steps)
    any_flip = np.uint32(0)
    for t in range(now.shape[0]):
        p0 = np.int32(now[t]) * w
        p1 = np.int32(before[t]) * w
        p2 = np.int32(earlier[t]) * w
        new_b = np.uint32(_extend_product((p0 & keep) | (p1 & late))) & m
        old_b = np.uint32(_extend_product((p1 & keep) | (p2 & late))) & m
        new_a = np.uint32(partial[t]) & m
        old_a = np.uint32(old_partial[t]) & m
        total = np.uint32(new_a + new_b)
        carries = total ^ new_a ^ new_b
        old_carries = np.uint32(old_a + old_b) ^ old_a ^ old_b
        flip = np.uint32(carries ^ np.uint32(old_carries << k)) & _stale_carries_32(new_a ^ new_b, k, m)
        settled[t] = total & m
        latched[t] = (total ^ flip) & m
        any_flip |= flip
    return np.int64(any_flip)


@njit(cache=True)
def _stationary_stream_64(
    now, before, earlier, weight, partial, old_partial, keep, late, steps, mask, latched, settled
):
    """:func:`_stationary_stream_32` for any width up to 62 bits, 0 <= steps < width."""
    w = np.int64(weight)
    any_flip = np.int64(0)
    for t in range(now.shape[0]):
        p0 = np.int64(now[t]) * w
        p1 = np.int64(before[t]) * w
        p2 = np.int64(earlier[t]) * w
        new_b = _extend_product((p0 & keep) | (p1 & late)) & mask
        old_b = _extend_product((p1 & keep) | (p2 & late)) & mask
        new_a = np.int64(partial[t]) & mask
        old_a = np.int64(old_partial[t]) & mask
        total = new_a + new_b
        carries = total ^ new_a ^ new_b
        old_carries = (old_a + old_b) ^ old_a ^ old_b
        flip = (carries ^ (old_carries << steps)) & _stale_carries_64(new_a ^ new_b, steps, mask)
        settled[t] = total & mask
        latched[t] = (total ^ flip) & mask
        any_flip |= flip
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
    return (carries ^ (old_carries << steps)) & _stale_carries_64(new_a ^ new_b, steps, mask)


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
    before = np.zeros(2, dtype=stream.dtype)
    before[1] = stream[0]
    earlier = np.zeros(2, dtype=stream.dtype)
    old_partial = np.zeros(2, dtype=partial.dtype)
    old_partial[1] = partial[0]
    head = min(n, 2)
    if width <= 32:
        any_flip = _stationary_stream_32(
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
        )
        if n > 2:
            any_flip |= _stationary_stream_32(
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
            )
        return any_flip
    any_flip = _stationary_stream_64(
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
    )
    if n > 2:
        any_flip |= _stationary_stream_64(
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
        )
    return any_flip


SCREEN_CHUNK = 128
"""MACs per screening chunk of :func:`compound_stationary_screened`."""


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
def _stale_run_u32(propagate, s0, s1, s2, s3, s4, all_stale):
    """Carry-in bits i whose bits i-k..i-1 all propagate (k carry delays, shifts of :func:`stale_run_shifts`).

    Bit i of ``propagate << 1`` is propagate bit i-1; ANDing it with itself shifted by
    s <= (run length so far) extends the run to length + s, so five uniform shifts reach
    any k <= 32 with no branch (a shift of 0 leaves it unchanged).
    """
    run = np.uint32(_shl_u32(propagate, 1) | all_stale)
    run = np.uint32(run & _shl_u32(run, s0))
    run = np.uint32(run & _shl_u32(run, s1))
    run = np.uint32(run & _shl_u32(run, s2))
    run = np.uint32(run & _shl_u32(run, s3))
    return np.uint32(run & _shl_u32(run, s4))


@njit(cache=True, inline="always")
def _late_product_u32(p0, p1, keep, late, mask):
    """Product register of a MAC whose `late` bits still hold the previous product, sign-extended, uint32.

    Without late bits it is the product itself (an int8 x int8 product fits 16 signed bits);
    taking that branch keeps vector loops 32-bit, where the 16-bit sign extension would
    widen them to 64 bits. In the loop copies with ``late`` a constant 0 the test folds away.
    """
    if late == 0:
        return np.uint32(np.uint32(p0) & mask)
    return np.uint32(np.uint32(_extend_product((p0 & keep) | (p1 & late))) & mask)


@njit(cache=True, inline="always")
def _compound_sum_u32(new_a, old_a, new_b, old_b, steps, s0, s1, s2, s3, s4, all_stale, mask):
    """One compound-cell MAC in closed form, uint32 words: (latched, flip).

    ``new_a, old_a``: incoming partial sums of this MAC and the one before it; ``new_b,
    old_b``: their product registers (the closed form of :func:`compound_stationary_stream`).
    """
    total = np.uint32(new_a + new_b)
    carries = np.uint32(total ^ new_a ^ new_b)
    old_carries = np.uint32(np.uint32(old_a + old_b) ^ old_a ^ old_b)
    stale = _stale_run_u32(new_a ^ new_b, s0, s1, s2, s3, s4, all_stale)
    flip = np.uint32(np.uint32(carries ^ _shl_u32(old_carries, steps)) & stale & mask)
    return np.uint32(total ^ flip) & mask, flip


WRONG_GROUP = 32
"""MACs per group of the closed-form loops: each group's loop builds a 32-bit mask of its wrong MACs,
whose flip words are then appended by a trailing-zero scan (no per-MAC branch or copy)."""

SCREEN_OFF = 0
SCREEN_LAZY = 1
SCREEN_EAGER = 2
"""Screening modes of :func:`compound_stationary_lanes`."""


@njit(cache=True, inline="always")
def _stream_mac_u32(stream, psum_in, psum_out, t, previous, w, keep, late, steps, s0, s1, s2, s3, s4, all_stale, mask):
    """MAC t of :func:`_closed_form_run_u32` (after the MAC whose carries are `previous`): latches its
    sum into ``psum_out[t]``; returns (flip, carries)."""
    one = np.uint64(1)
    new_a = psum_in[t]
    new_b = _late_product_u32(_mul_u32(stream[t], w), _mul_u32(stream[t - one], w), keep, late, mask)
    total = np.uint32(new_a + new_b)
    propagate = np.uint32(new_a ^ new_b)
    carries = np.uint32(total ^ propagate)
    stale = _stale_run_u32(propagate, s0, s1, s2, s3, s4, all_stale)
    flip = np.uint32(np.uint32(carries ^ _shl_u32(previous, steps)) & stale & mask)
    psum_out[t] = np.uint32(total ^ flip) & mask
    return flip, carries


@njit(cache=True, inline="always")
def _closed_form_run_u32(
    stream, psum_in, psum_out, words, fill, bit_counts, w, keep, late, steps, shifts, mask, start, stop
):
    """:func:`_compound_sum_u32` over MACs ``2 <= start <= t < stop``: latches their sums into `psum_out` and
    appends the wrong ones' flip words to ``words[fill:]`` (a full buffer is counted into `bit_counts`
    and emptied first). Returns (new fill, wrong MACs).

    Groups of :data:`WRONG_GROUP` MACs go through :func:`_stream_group_u32`; the last,
    partial group through :func:`_stream_mac_u32`, carrying each MAC's carries to the next.
    """
    s0, s1, s2, s3, s4, all_stale = shifts
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
        appended = _stream_group_u32(stream, psum_in, psum_out, words, fill, base, w, keep, late, steps, shifts, mask)
        fill += appended
        count += appended
        base += group
    if base < end:
        old_a = psum_in[base - one]
        old_b = _late_product_u32(_mul_u32(stream[base - one], w), _mul_u32(stream[base - two], w), keep, late, mask)
        previous = np.uint32(np.uint32(old_a + old_b) ^ old_a ^ old_b)
        for t in range(base, end):
            flip, previous = _stream_mac_u32(
                stream, psum_in, psum_out, t, previous, w, keep, late, steps, s0, s1, s2, s3, s4, all_stale, mask
            )
            if flip != 0:
                if fill == WRONG_WORDS:
                    count_word_bits(words, fill, bit_counts)
                    fill = 0
                words[fill] = flip
                fill += 1
                count += 1
    return fill, count


@njit(cache=True, inline="always")
def _settle_run_u32(stream, psum_in, psum_out, w, keep, late, core, mask, start, stop):
    """Settled sums of MACs ``1 <= start <= t < stop`` into `psum_out`; returns a non-zero word when one
    of them propagates on every `core` bit (core < 2**31), the necessary condition for a stale carry."""
    suspect = np.uint32(0)
    one = np.uint64(1)
    for t in range(np.uint64(start), np.uint64(stop)):
        new_b = _late_product_u32(_mul_u32(stream[t], w), _mul_u32(stream[t - one], w), keep, late, mask)
        new_a = psum_in[t]
        psum_out[t] = np.uint32(new_a + new_b) & mask
        missing = np.uint32(np.uint32(~(new_a ^ new_b)) & core)
        suspect = np.uint32(suspect | (np.uint32(missing - np.uint32(1)) & np.uint32(0x80000000)))
    return suspect


@njit(cache=True, inline="always")
def tally_bits(planes, bits):
    """Add 1 to the count of every set bit of `bits` in bit-sliced counters: ``planes[level]`` holds bit
    `level` of every bit position's count (amortised O(1) word operations; see :func:`add_tallies`)."""
    carry = np.int64(bits)
    level = 0
    while carry != 0:
        overflow = planes[level] & carry
        planes[level] ^= carry
        carry = overflow
        level += 1


@njit(cache=True)
def add_tallies(planes, width, counts):
    """Add the bit-sliced counters `planes` (:func:`tally_bits`) to ``counts[bit]``, bit < width."""
    for level in range(planes.shape[0]):
        word = planes[level]
        if word != 0:
            for bit in range(width):
                counts[bit] += ((word >> bit) & 1) << level


WRONG_WORDS = 1024
"""Capacity of the buffer in which the uint32 kernels gather wrong MACs' flip words to count their
bits in bulk (:func:`count_word_bits`)."""


@njit(cache=True)
def count_word_bits(words, fill, bit_counts):
    """Add the set bits of ``words[:fill]`` (uint32) to ``bit_counts[bit]``, bit < ``len(bit_counts)``.

    Byte-wide counters: pass j adds ``(word >> j) & 0x01010101`` over up to 255 words, so
    byte i of its sum counts bit ``8 i + j`` (a vectorised sum; no per-word branch).
    """
    byte_ones = np.uint64(0x01010101)
    start = 0
    while start < fill:
        stop = min(fill, start + 255)
        for j in range(8):
            shift = np.uint64(j)
            sums = np.uint64(0)
            for i in range(start, stop):
                sums += (np.uint64(words[i]) >> shift) & byte_ones
            for byte in range(4):
                if 8 * byte + j < bit_counts.shape[0]:
                    bit_counts[8 * byte + j] += np.int64((sums >> np.uint64(8 * byte)) & np.uint64(0xFF))
        start = stop


@njit(cache=True, inline="always")
def _screened_chunks(stream, psum_in, psum_out, words, fill, bit_counts, w, keep, late, steps, shifts, mask, core):
    n = stream.shape[0]
    count = 0
    flagged = 0
    for start in range(2, n, SCREEN_CHUNK):
        stop = min(n, start + SCREEN_CHUNK)
        if not _settle_run_u32(stream, psum_in, psum_out, w, keep, late, core, mask, start, stop):
            continue
        flagged += 1
        fill, wrong = _closed_form_run_u32(
            stream, psum_in, psum_out, words, fill, bit_counts, w, keep, late, steps, shifts, mask, start, stop
        )
        count += wrong
    return count, flagged, fill


@njit(cache=True, inline="always")
def _dense_stream(stream, psum_in, psum_out, words, fill, bit_counts, w, keep, late, steps, shifts, mask):
    n = stream.shape[0]
    count = 0
    if n > 2:
        fill, count = _closed_form_run_u32(
            stream, psum_in, psum_out, words, fill, bit_counts, w, keep, late, steps, shifts, mask, 2, n
        )
    return count, -1, fill


@njit(cache=True, inline="always")
def _chunks(stream, psum_in, psum_out, words, fill, bit_counts, w, keep, late, steps, shifts, mask, core, screened):
    if screened:
        return _screened_chunks(
            stream, psum_in, psum_out, words, fill, bit_counts, w, keep, late, steps, shifts, mask, core
        )
    return _dense_stream(stream, psum_in, psum_out, words, fill, bit_counts, w, keep, late, steps, shifts, mask)


@njit(cache=True)
def _stream_chunks(
    stream, psum_in, psum_out, words, fill, bit_counts, w, keep, late, steps, shifts, mask, core, screened
):
    """MACs 2.. of :func:`compound_stationary_screened`: (wrong MACs, chunks evaluated in closed form
    or -1 unscreened, words now in the buffer). The common case (no late product bit, a 32-bit
    accumulator, at least 16 carry delays, where the first four doubling shifts are 1, 2, 4
    and 8) gets its own copy of the loops with those values constant, which the compiler
    folds into immediate operands; one copy per case would cost more compile time than it
    saves."""
    one_word = np.uint32(0xFFFFFFFF)
    every_bit = np.int32(0xFFFF)
    if late == 0 and mask == one_word and steps >= 16:
        doubling = (np.uint32(1), np.uint32(2), np.uint32(4), np.uint32(8), shifts[4], np.uint32(0))
        return _chunks(
            stream,
            psum_in,
            psum_out,
            words,
            fill,
            bit_counts,
            w,
            every_bit,
            np.int32(0),
            steps,
            doubling,
            one_word,
            core,
            screened,
        )
    return _chunks(
        stream, psum_in, psum_out, words, fill, bit_counts, w, keep, late, steps, shifts, mask, core, screened
    )


@njit(cache=True, inline="always")
def compound_stationary_screened(
    stream, weight, psum_in, psum_out, late_product, steps, width, screen, words, bit_counts
):
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
    late_product : int
        Product bits arriving after the sampling instant (they keep their old value).
    steps : int
        Carry delays that fit before the sampling instant, >= 0.
    width : int
        Accumulator width in bits, <= 32.
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
    mask = np.uint32((np.int64(1) << width) - 1)
    w = np.int32(weight)
    late = np.int32(late_product & 0xFFFF)
    keep = np.int32(np.int32(0xFFFF) & ~late)
    if n == 0:
        return 0, 0
    if steps >= width:
        psum_out[0] = (
            np.uint32(psum_in[0] + _late_product_u32(_mul_u32(stream[0], w), np.uint32(0), keep, late, mask)) & mask
        )
        _settle_run_u32(stream, psum_in, psum_out, w, keep, late, np.uint32(0), mask, 1, n)
        return 0, 0
    shifts = stale_run_shifts(steps)
    s0, s1, s2, s3, s4, all_stale = shifts
    k = np.uint32(steps)
    fill = 0
    for t in range(min(n, 2)):
        p1 = _mul_u32(stream[t - 1], w) if t == 1 else np.uint32(0)
        old_a = psum_in[t - 1] if t == 1 else np.uint32(0)
        latched, flip = _compound_sum_u32(
            psum_in[t],
            old_a,
            _late_product_u32(_mul_u32(stream[t], w), p1, keep, late, mask),
            _late_product_u32(p1, np.uint32(0), keep, late, mask),
            k,
            s0,
            s1,
            s2,
            s3,
            s4,
            all_stale,
            mask,
        )
        psum_out[t] = latched
        words[fill] = flip
        fill += np.int64(flip != 0)
    count = fill
    screened = screen and 2 * steps >= width
    core = np.uint32(0)
    if screened:
        core = np.uint32(((np.int64(1) << steps) - 1) & ~((np.int64(1) << (width - 1 - steps)) - 1))
    wrong, flagged, fill = _stream_chunks(
        stream, psum_in, psum_out, words, fill, bit_counts, w, keep, late, k, shifts, mask, core, screened
    )
    count_word_bits(words, fill, bit_counts)
    return count + wrong, flagged


@njit(cache=True, inline="always")
def _settle_lanes_u32(a0, a1, weights, psum_in, psum_out, t, keep, late, core, mask):
    """Settled sums of step t of n PEs sharing the stream operand `a0` (after `a1`), one lane per PE;
    returns a non-zero word when a lane propagates on every `core` bit. Rows of the 2-D arrays
    are indexed, not sliced (a slice is a reference-counted view)."""
    suspect = np.uint32(0)
    for lane in range(np.uint64(weights.shape[0])):
        w = np.int32(weights[lane])
        new_b = _late_product_u32(_mul_u32(a0, w), _mul_u32(a1, w), keep, late, mask)
        new_a = psum_in[t, lane]
        psum_out[t, lane] = np.uint32(new_a + new_b) & mask
        missing = np.uint32(np.uint32(~(new_a ^ new_b)) & core)
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
    keep,
    late,
    steps,
    s0,
    s1,
    s2,
    s3,
    s4,
    all_stale,
    mask,
):
    """The MAC of PE `lane` at step t of :func:`_closed_form_lanes_u32`: latches ``psum_out[t, lane]``,
    returns its flip."""
    w = np.int32(weights[lane])
    p1 = _mul_u32(a1, w)
    latched, flip = _compound_sum_u32(
        psum_in[t, lane],
        np.uint32(psum_in[previous, lane] & before),
        _late_product_u32(_mul_u32(a0, w), p1, keep, late, mask),
        _late_product_u32(p1, _mul_u32(a2, w), keep, late, mask),
        steps,
        s0,
        s1,
        s2,
        s3,
        s4,
        all_stale,
        mask,
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
    keep,
    late,
    steps,
    s0,
    s1,
    s2,
    s3,
    s4,
    all_stale,
    mask,
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
            keep,
            late,
            steps,
            s0,
            s1,
            s2,
            s3,
            s4,
            all_stale,
            mask,
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
    keep,
    late,
    steps,
    s0,
    s1,
    s2,
    s3,
    s4,
    all_stale,
    mask,
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
                    keep,
                    late,
                    steps,
                    s0,
                    s1,
                    s2,
                    s3,
                    s4,
                    all_stale,
                    mask,
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
                keep,
                late,
                steps,
                s0,
                s1,
                s2,
                s3,
                s4,
                all_stale,
                mask,
            )
        masks[index] = wrong
        any_wrong = np.uint32(any_wrong | wrong)
        index += 1
        base += group
    return any_wrong


@njit(cache=True, inline="always")
def _gather_lanes(stream, weights, psum_in, psum_out, masks, keep, late, mask, words, fill, bit_counts):
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
                product = _late_product_u32(_mul_u32(a0, w), _mul_u32(a1, w), keep, late, mask)
                words[fill] = np.uint32(psum_out[t, lane] ^ np.uint32(np.uint32(psum_in[t, lane] + product) & mask))
                fill += 1
                count += 1
                wrong = np.uint32(wrong & np.uint32(wrong - np.uint32(1)))
    return fill, count


@njit(cache=True)
def lane_flags(lanes):
    """The `flags` scratch of :func:`compound_stationary_lanes` for `lanes` PEs: uint32, one word per
    :data:`WRONG_GROUP` lanes (uninitialised)."""
    return np.empty((lanes + WRONG_GROUP - 1) // WRONG_GROUP, dtype=np.uint32)


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
    keep,
    late,
    steps,
    shifts,
    mask,
    core,
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
    s0, s1, s2, s3, s4, all_stale = shifts
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
        if a0 == 0 and a1 == 0 and (late == 0 or a2 == 0):
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
                    keep,
                    late,
                    steps,
                    s0,
                    s1,
                    s2,
                    s3,
                    s4,
                    all_stale,
                    mask,
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
                    new_b = _late_product_u32(_mul_u32(a0, w), _mul_u32(a1, w), keep, late, mask)
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
                    new_b = _late_product_u32(_mul_u32(a0, w), _mul_u32(a1, w), keep, late, mask)
                    new_a = psum_in[t, lane]
                    psum_out[t, lane] = np.uint32(new_a + new_b) & mask
                    missing = np.uint32(np.uint32(~(new_a ^ new_b)) & core)
                    found = np.uint32(found | _shl_u32(np.uint32(missing == 0), j))
                flags[full_blocks] = found
                suspect = np.uint32(suspect | found)
        else:
            for lane in range(lanes):
                w = np.int32(weights[lane])
                new_b = _late_product_u32(_mul_u32(a0, w), _mul_u32(a1, w), keep, late, mask)
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
                        keep,
                        late,
                        steps,
                        shifts,
                        mask,
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
                        keep,
                        late,
                        steps,
                        s0,
                        s1,
                        s2,
                        s3,
                        s4,
                        all_stale,
                        mask,
                    )
                    masks[t * groups + block] = np.uint32(masks[t * groups + block] | _shl_u32(wrong, within))
                    any_wrong = np.uint32(any_wrong | wrong)
    if any_wrong:
        fill, gathered = _gather_lanes(
            stream, weights, psum_in, psum_out, masks, keep, late, mask, words, fill, bit_counts
        )
        count += gathered
    count_word_bits(words, fill, bit_counts)
    return count, flagged


@njit(cache=True)
def _lanes_stream(
    stream,
    weights,
    psum_in,
    psum_out,
    first,
    masks,
    words,
    bit_counts,
    keep,
    late,
    steps,
    shifts,
    mask,
    core,
    screen,
    flags,
):
    """:func:`compound_stationary_lanes` after its set-up, with the common constants folded (as
    :func:`_stream_chunks`)."""
    one_word = np.uint32(0xFFFFFFFF)
    every_bit = np.int32(0xFFFF)
    if late == 0 and mask == one_word and steps >= 16:
        doubling = (np.uint32(1), np.uint32(2), np.uint32(4), np.uint32(8), shifts[4], np.uint32(0))
        return _lanes_steps(
            stream,
            weights,
            psum_in,
            psum_out,
            first,
            masks,
            words,
            bit_counts,
            every_bit,
            np.int32(0),
            steps,
            doubling,
            one_word,
            core,
            screen,
            flags,
        )
    return _lanes_steps(
        stream,
        weights,
        psum_in,
        psum_out,
        first,
        masks,
        words,
        bit_counts,
        keep,
        late,
        steps,
        shifts,
        mask,
        core,
        screen,
        flags,
    )


@njit(cache=True)
def compound_stationary_lanes(
    stream, weights, psum_in, psum_out, late_product, steps, width, screen, first, masks, words, bit_counts, flags
):
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
    late_product, steps, width
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
    masks : uint32 array, shape (>= T * (n // WRONG_GROUP + 1),)
        Scratch.
    words : uint32 array, shape (>= WRONG_WORDS,)
        Scratch.
    bit_counts : int64 array, shape (>= width,)
        Receives (adds) the wrong bits per bit position.
    flags : uint32 array, shape (>= (n + WRONG_GROUP - 1) // WRONG_GROUP,)
        Scratch (:func:`lane_flags`).

    Returns
    -------
    count : int
        MACs that latched a wrong value.
    flagged : int
        Groups of :data:`LANE_GROUP` lanes evaluated in closed form on screened steps (0
        without screening).
    """
    mask = np.uint32((np.int64(1) << width) - 1)
    late = np.int32(late_product & 0xFFFF)
    keep = np.int32(np.int32(0xFFFF) & ~late)
    if steps >= width:
        for t in range(first, stream.shape[0]):
            _settle_lanes_u32(
                np.int32(stream[t]),
                np.int32(stream[t - 1]) if t >= 1 else np.int32(0),
                weights,
                psum_in,
                psum_out,
                t,
                keep,
                late,
                np.uint32(0),
                mask,
            )
        return 0, 0
    screened = screen if 2 * steps >= width else SCREEN_OFF
    core = np.uint32(0)
    if screened != SCREEN_OFF:
        core = np.uint32(((np.int64(1) << steps) - 1) & ~((np.int64(1) << (width - 1 - steps)) - 1))
    return _lanes_stream(
        stream,
        weights,
        psum_in,
        psum_out,
        first,
        masks,
        words,
        bit_counts,
        keep,
        late,
        np.uint32(steps),
        stale_run_shifts(steps),
        mask,
        core,
        screened,
        flags,
    )


GATE_MAX_EVENTS = 512

CELL_CODES = {"xor2": 0, "and2": 1, "or2": 2, "nand2": 3, "xor3": 4, "maj3": 5, "ao21": 6}


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
def _lane_events(
    lane,
    cell_kind,
    cell_inputs,
    cell_output,
    delays,
    input_nets,
    input_bus,
    input_bit,
    old_buses,
    new_buses,
    times,
    values,
    counts,
    initial,
    pointer,
    state,
):
    """One lane's transport-delay events: every net's settled-before value (``initial``) and its
    transitions (``times``, ``values``, ``counts``) after the inputs switch at t = 0, cells in
    topological order with integer delays ``delays[c]`` fs. False if a net exceeded
    ``GATE_MAX_EVENTS`` transitions."""
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
def gate_lanes(
    cell_kind,
    cell_inputs,
    cell_output,
    cell_delay,
    lane_factors,
    n_nets,
    input_nets,
    input_bus,
    input_bit,
    old_buses,
    new_buses,
    output_nets,
    t_sample,
    t_shadow,
    latched,
    shadow,
    correct,
    bit_settle,
):
    """Exact event-driven transport-delay simulation of one clock cycle per lane (numba).

    The same algorithm as :func:`pe_models.gate.simulate_gate`: in topological order,
    each net's transitions are computed from its inputs' transitions; simultaneous
    input changes are evaluated together. Cell c of lane i has the delay
    ``max(1, rint(cell_delay[c] * lane_factors[i]))`` fs (``lane_factors`` of length 1
    applies to every lane). Returns False if a net exceeded ``GATE_MAX_EVENTS``
    transitions (the caller then falls back to the Python level). ``shadow`` receives
    the outputs sampled at ``t_shadow`` (a Razor shadow latch) the same way.
    """
    times = np.empty((n_nets, GATE_MAX_EVENTS), dtype=np.int64)
    values = np.empty((n_nets, GATE_MAX_EVENTS), dtype=np.int8)
    counts = np.zeros(n_nets, dtype=np.int64)
    initial = np.zeros(n_nets, dtype=np.int8)
    pointer = np.zeros(3, dtype=np.int64)
    state = np.zeros(3, dtype=np.int8)
    n_cells = cell_kind.shape[0]
    delays = np.empty(n_cells, dtype=np.int64)
    for lane in range(old_buses.shape[1]):
        factor = lane_factors[lane] if lane_factors.shape[0] > 1 else lane_factors[0]
        for c in range(n_cells):
            delays[c] = max(1, np.int64(np.rint(cell_delay[c] * factor)))
        if not _lane_events(
            lane,
            cell_kind,
            cell_inputs,
            cell_output,
            delays,
            input_nets,
            input_bus,
            input_bit,
            old_buses,
            new_buses,
            times,
            values,
            counts,
            initial,
            pointer,
            state,
        ):
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
            bit_settle[lane, i] = last
        latched[lane] = latched_word
        shadow[lane] = shadow_word
        correct[lane] = correct_word
    return True


@njit(cache=True, inline="always")
def registered_mac_shadow(prev_a, prev_b, prev_product, prev_partial, a, b, partial, params):
    """The accumulator pattern at ``t_sample + window`` (the Razor shadow latch) of one MAC.

    Same arguments as :func:`registered_mac`; the adder stage is sampled a second time at
    ``params[PARAM_T_SHADOW]`` with the same exact machinery (the carry vector after
    ``params[PARAM_SHADOW_STEPS]`` carry delays, or the 2-input-cell lattice walk).
    """
    mask = params[PARAM_MASK]
    product = product_stage((prev_a * prev_b) & 0xFFFF, (a * b) & 0xFFFF, params)
    extended_old = ((prev_product ^ 0x8000) - 0x8000) & mask
    extended_new = ((product ^ 0x8000) - 0x8000) & mask
    old_c = prev_partial & mask
    new_c = partial & mask
    if params[PARAM_CELLS] == 0:
        return rca_compound_latched_steps(old_c, extended_old, new_c, extended_new, mask, params[PARAM_SHADOW_STEPS])
    shadow, _ = rca_2in_one(
        old_c,
        extended_old,
        new_c,
        extended_new,
        mask,
        params[PARAM_T_SHADOW],
        params[PARAM_D0],
        params[PARAM_D1],
        params[PARAM_D2],
    )
    return shadow


@njit(cache=True)
def net_toggle_lanes(
    cell_kind,
    cell_inputs,
    cell_output,
    cell_delay,
    n_nets,
    input_nets,
    input_bus,
    input_bit,
    old_buses,
    new_buses,
    toggles,
):
    """Transitions of every net in one clock cycle per lane, glitches included (numba).

    The event-driven transport-delay algorithm of :func:`gate_lanes` with integer cell
    delays ``cell_delay[c]`` fs; writes ``toggles[lane, net]``. Returns False if a net
    exceeded ``GATE_MAX_EVENTS`` transitions (the caller then uses the Python level).
    """
    times = np.empty((n_nets, GATE_MAX_EVENTS), dtype=np.int64)
    values = np.empty((n_nets, GATE_MAX_EVENTS), dtype=np.int8)
    counts = np.zeros(n_nets, dtype=np.int64)
    initial = np.zeros(n_nets, dtype=np.int8)
    pointer = np.zeros(3, dtype=np.int64)
    state = np.zeros(3, dtype=np.int8)
    for lane in range(old_buses.shape[1]):
        if not _lane_events(
            lane,
            cell_kind,
            cell_inputs,
            cell_output,
            cell_delay,
            input_nets,
            input_bus,
            input_bit,
            old_buses,
            new_buses,
            times,
            values,
            counts,
            initial,
            pointer,
            state,
        ):
            return False
        for net in range(n_nets):
            toggles[lane, net] = counts[net]
    return True
