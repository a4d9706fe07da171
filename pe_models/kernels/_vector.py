"""Explicit vector code (LLVM IR) of the closed form: groups of :data:`LANE_GROUP` uint32 lanes.

Two intrinsics: :func:`_lane_group_u32` (a group of a row's PEs at one step, for
:mod:`._lanes`) and :func:`_stream_group_u32` (:data:`WRONG_GROUP` consecutive MACs of one
PE, for :mod:`._screened`). Both take the :class:`~._closed_form.ClosedForm` record.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from ._closed_form import LANE_GROUP, WRONG_GROUP

__all__: list[str] = []


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

    def field(self, index, name, to=types.uint32):
        """Field `name` of the record (a :class:`ClosedForm`) passed as argument `index`, as a scalar."""
        record_type = self.types[index]
        position = record_type.fields.index(name)
        value = self.builder.extract_value(self.args[index], position)
        return self.context.cast(self.builder, value, record_type.types[position], to)

    def shift_splats(self, index):
        """The shifts of the :class:`ClosedForm` passed as argument `index` (its 6-tuple
        ``shifts``), as splats: (the five run shifts, all_stale)."""
        record_type = self.types[index]
        position = record_type.fields.index("shifts")
        shifts = self.builder.extract_value(self.args[index], position)
        shift_types = record_type.types[position]
        splats = [
            self.splat(
                self.context.cast(self.builder, self.builder.extract_value(shifts, k), shift_types[k], types.uint32)
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
def _lane_group_u32(typingctx, a0, a1, a2, weights, psum_in, psum_out, words, fill, t, previous, base, form):
    """:func:`_lane_macs_u32` for the :data:`LANE_GROUP` lanes ``base ..`` (all < ``len(weights)``; step t > 0)
    as one vector of uint32 lanes: latches ``psum_out[t, base:base + LANE_GROUP]``, appends the wrong
    lanes' flip words to ``words[fill:]`` (room for :data:`LANE_GROUP` needed) and returns how many.
    `form` is the :class:`ClosedForm`.

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
        late = code.field(11, "late")
        keep_v, late_v, mask_v = (
            code.splat(code.field(11, "keep")),
            code.splat(late),
            code.splat(code.field(11, "mask")),
        )
        no_late = builder.icmp_unsigned("==", late, ir.Constant(code.word, 0))
        new_b = code.late_product(p0, p1, keep_v, late_v, mask_v, no_late)
        old_b = code.late_product(p1, p2, keep_v, late_v, mask_v, no_late)
        new_a = code.load(4, [t_index, base_index], code.word)
        old_a = code.load(4, [previous_index, base_index], code.word)
        run_shifts, all_stale = code.shift_splats(11)
        latched, flip = code.latch(
            code.carries(new_a, new_b),
            code.carries(old_a, old_b)[2],
            code.splat(code.field(11, "steps")),
            run_shifts,
            all_stale,
            mask_v,
        )
        code.store(5, [t_index, base_index], latched)
        return code.append_nonzero(6, code.scalar(7, types.intp), flip)

    return types.intp(a0, a1, a2, weights, psum_in, psum_out, words, fill, t, previous, base, form), codegen


@intrinsic
def _stream_group_u32(typingctx, stream, psum_in, psum_out, words, fill, base, w, form):
    """MACs ``base .. base + WRONG_GROUP - 1`` (``2 <= base``, ``base + WRONG_GROUP <= len(stream)``) of
    :func:`_closed_form_run_u32` as explicit vectors of :data:`LANE_GROUP` MACs: latches their sums into
    `psum_out`, appends their non-zero flip words to ``words[fill:]`` (room for :data:`WRONG_GROUP`
    needed) and returns how many it appended (the group's wrong MACs). `form` is the
    :class:`ClosedForm`.

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
        keep_s, late_s, mask_s = code.field(7, "keep"), code.field(7, "late"), code.field(7, "mask")
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
        steps_v = code.splat(code.field(7, "steps"))
        run_shifts, all_stale = code.shift_splats(7)
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

    return types.intp(stream, psum_in, psum_out, words, fill, base, w, form), codegen
