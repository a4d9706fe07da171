"""32-bit word operations as LLVM intrinsics for the uint32 kernels.

numba widens every integer shift and product to 64 bits, which keeps the vectoriser on
64-bit lanes; these emit the 32-bit instructions themselves.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
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
