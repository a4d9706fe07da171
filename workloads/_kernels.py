"""numba kernels of the int8 engine (bit-exact with the numpy reference in :mod:`workloads.quant`)."""

from __future__ import annotations

import numba
import numpy as np

from pe_models.numba_cache import tolerate_damaged_cache

__all__ = ["im2col_k_major", "requantize", "requantize_add", "requantize_into"]

tolerate_damaged_cache()

_INT32_MIN = np.int64(-(2**31))
_INT32_MAX = np.int64(2**31 - 1)


@numba.njit(cache=True, inline="always")
def _wrap32(value: np.int64) -> np.int64:
    return ((value + 2**31) & 0xFFFFFFFF) - 2**31


@numba.njit(cache=True, inline="always")
def _multiply(value: np.int64, multiplier: np.int64, shift: np.int64) -> np.int64:
    if shift > 0:
        value = value << shift
        value = min(max(value, _INT32_MIN), _INT32_MAX)
    if value == _INT32_MIN and multiplier == _INT32_MIN:
        high = np.int64(_INT32_MAX)
    else:
        product = value * multiplier
        nudged = product + (1 << 30) if product >= 0 else product + 1 - (1 << 30)
        high = nudged >> 31 if nudged >= 0 else -((-nudged) >> 31)
    right = -shift if shift < 0 else 0
    mask = (np.int64(1) << right) - 1
    remainder = high & mask
    threshold = (mask >> 1) + (1 if high < 0 else 0)
    return (high >> right) + (1 if remainder > threshold else 0)


@numba.njit(cache=True)
def requantize(accumulator, bias, multiplier, shift, qmin, qmax):  # pragma: no cover - jitted
    """int64 (M, N) accumulators + int32 bias, wrapped at 32 bits, requantised, clamped -> int8.

    ``bias``, ``multiplier``, ``shift``, ``qmin`` and ``qmax`` hold one value per column.
    """
    out = np.empty(accumulator.shape, dtype=np.int8)
    requantize_into(accumulator, bias, multiplier, shift, qmin, qmax, out)
    return out


@numba.njit(cache=True)
def requantize_into(accumulator, bias, multiplier, shift, qmin, qmax, out):  # pragma: no cover - jitted
    """:func:`requantize` writing into `out` (M, N) of any integer type wide enough for [qmin, qmax]."""
    rows, cols = accumulator.shape
    for row in range(rows):
        for col in range(cols):
            value = _wrap32(accumulator[row, col] + bias[col])
            value = _multiply(value, multiplier[col], shift[col])
            out[row, col] = min(max(value, qmin[col]), qmax[col])


@numba.njit(cache=True)
def requantize_add(a, b, multipliers, shifts, left_shift, qmin, qmax):  # pragma: no cover
    """TFLite int8 Add of two equally shaped flat int8 arrays -> int8 (see engine)."""
    out = np.empty(a.size, dtype=np.int8)
    for index in range(a.size):
        scaled_a = _multiply(np.int64(a[index]) << left_shift, multipliers[0], shifts[0])
        scaled_b = _multiply(np.int64(b[index]) << left_shift, multipliers[1], shifts[1])
        value = _multiply(scaled_a + scaled_b, multipliers[2], shifts[2])
        out[index] = min(max(value, qmin), qmax)
    return out


@numba.njit(cache=True)
def im2col_k_major(channel_major, kernel_h, kernel_w, stride_h, stride_w, out):  # pragma: no cover - jitted
    """Grouped im2col, K-major: ``out[g, (ky, kx, c), (n, y, x)]`` for group g's channels c.

    ``channel_major`` (C, N, Hp, Wp): the padded input, channel-major and C-contiguous;
    ``out`` (G, kh * kw * C / G, N * Ho * Wo), same dtype. (Unsigned inner indices: numba
    skips the negative-index test and the copy loops vectorise.)
    """
    channels, n, height, width = channel_major.shape
    groups = out.shape[0]
    per_group = channels // groups
    out_h = (height - kernel_h) // stride_h + 1
    out_w = np.uint64((width - kernel_w) // stride_w + 1)
    step = np.uint64(stride_w)
    for g in range(groups):
        for ky in range(kernel_h):
            for kx in range(kernel_w):
                first = np.uint64(kx)
                for c in range(per_group):
                    target = out[g, (ky * kernel_w + kx) * per_group + c]
                    planes = channel_major[g * per_group + c]
                    base = np.uint64(0)
                    for image in range(n):
                        for y in range(out_h):
                            source = planes[image, y * stride_h + ky]
                            for x in range(out_w):
                                target[base + x] = source[first + x * step]
                            base += out_w
