"""Tensor operators shared by the float and the int8 paths (NHWC layout).

Tensors are ``(N, H, W, C)`` between layers. A convolution becomes a GEMM by im2col:
row ``(n, y, x)`` of the activation matrix holds the receptive field of output pixel
``(y, x)`` of image ``n`` in ``(ky, kx, c)`` order; the weight matrix holds one
column per output channel in the same order.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import _kernels

__all__ = [
    "avg_pool",
    "conv_output_size",
    "conv_weight_matrix",
    "float_conv2d",
    "im2col",
    "im2col_groups",
    "integer_average",
    "max_pool",
    "pad_nhwc",
]


def conv_output_size(size: int, kernel: int, stride: int, pad_before: int, pad_after: int) -> int:
    """Output length of a convolution or pooling window along one axis."""
    return (size + pad_before + pad_after - kernel) // stride + 1


def pad_nhwc(x: np.ndarray, padding: tuple[int, int, int, int], value=0) -> np.ndarray:
    """Pad the spatial axes of an NHWC tensor by ``(top, left, bottom, right)``."""
    top, left, bottom, right = padding
    if not any(padding):
        return x
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


def _windows(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int]) -> np.ndarray:
    """View (N, Ho, Wo, C, kh, kw) of the kernel windows of a padded NHWC tensor."""
    view = sliding_window_view(x, kernel, axis=(1, 2))
    return view[:, :: stride[0], :: stride[1]]


def im2col(
    x: np.ndarray,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int, int, int],
    *,
    channels: slice | None = None,
    pad_value=0,
) -> tuple[np.ndarray, tuple[int, int, int]]:
    """Activation matrix of a convolution.

    Parameters
    ----------
    x : ndarray, shape (N, H, W, C)
        Input tensor (any dtype).
    kernel, stride : (int, int)
        Window size and step, (rows, columns).
    padding : (top, left, bottom, right)
        Zero padding (``pad_value``) added around each image.
    channels : slice, optional
        Input channels of one group; all channels by default.

    Returns
    -------
    columns : ndarray, shape (N * Ho * Wo, kh * kw * C_group)
        Contiguous, same dtype as `x`.
    out_shape : (N, Ho, Wo)
    """
    if channels is not None:
        x = x[..., channels]
    c = x.shape[3]
    kh, kw = kernel
    if kernel == (1, 1) and not any(padding):
        picked = x[:, :: stride[0], :: stride[1]]
        return np.ascontiguousarray(picked).reshape(-1, c), picked.shape[:3]
    windows = _windows(pad_nhwc(x, padding, pad_value), kernel, stride)
    out_shape = windows.shape[:3]
    columns = windows.transpose(0, 1, 2, 4, 5, 3).reshape(-1, kh * kw * c)
    return np.ascontiguousarray(columns), out_shape


def im2col_groups(
    x: np.ndarray,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int, int, int],
    groups: int,
) -> tuple[np.ndarray, tuple[int, int, int]]:
    """Activation matrices of a grouped convolution, one per group, padding once.

    Parameters
    ----------
    x : ndarray, shape (N, H, W, C)
    kernel, stride, padding : as :func:`im2col`
    groups : int
        Number of groups; divides C.

    Returns
    -------
    columns : ndarray, shape (groups, N * Ho * Wo, kh * kw * C / groups)
        ``columns[g]`` is group g's activation matrix, same dtype as `x`. With more than
        one group it is a transposed view of a ``(groups, K, M)`` array (each group's
        K x M operand contiguous, the layout a stationary array streams).
    out_shape : (N, Ho, Wo)
    """
    if groups == 1:
        columns, out_shape = im2col(x, kernel, stride, padding)
        return columns[None], out_shape
    channel_major = np.ascontiguousarray(pad_nhwc(x, padding).transpose(3, 0, 1, 2))
    n, height, width, channels = x.shape
    per_group = channels // groups
    out_h = conv_output_size(height, kernel[0], stride[0], padding[0], padding[2])
    out_w = conv_output_size(width, kernel[1], stride[1], padding[1], padding[3])
    k_major = np.empty((groups, kernel[0] * kernel[1] * per_group, n * out_h * out_w), dtype=x.dtype)
    _kernels.im2col_k_major(channel_major, kernel[0], kernel[1], stride[0], stride[1], k_major)
    return k_major.transpose(0, 2, 1), (n, out_h, out_w)


def conv_weight_matrix(weight: np.ndarray) -> np.ndarray:
    """Weights ``(C_out, C_in_group, kh, kw)`` as the GEMM matrix ``(kh * kw * C_in_group, C_out)``."""
    c_out = weight.shape[0]
    return np.ascontiguousarray(weight.transpose(2, 3, 1, 0).reshape(-1, c_out))


def float_conv2d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None,
    stride: tuple[int, int],
    padding: tuple[int, int, int, int],
    groups: int,
) -> np.ndarray:
    """Float convolution of an NHWC tensor.

    Parameters
    ----------
    x : ndarray of float, shape (N, H, W, C_in)
    weight : ndarray of float, shape (C_out, C_in / groups, kh, kw)
    bias : ndarray of float, shape (C_out,), or None
    stride : (int, int)
    padding : (top, left, bottom, right)
    groups : int

    Returns
    -------
    ndarray of float, shape (N, Ho, Wo, C_out)
    """
    c_out, c_in_group, kh, kw = weight.shape
    out_group = c_out // groups
    if groups > 1 and c_in_group == 1 and out_group == 1:
        padded = pad_nhwc(x, padding)
        n, height, width, _ = x.shape
        out_h = conv_output_size(height, kh, stride[0], padding[0], padding[2])
        out_w = conv_output_size(width, kw, stride[1], padding[1], padding[3])
        taps = weight[:, 0].astype(x.dtype)
        out = np.zeros((n, out_h, out_w, c_out), dtype=x.dtype)
        for ky in range(kh):
            for kx in range(kw):
                rows = padded[:, ky : ky + stride[0] * (out_h - 1) + 1 : stride[0]]
                out += rows[:, :, kx : kx + stride[1] * (out_w - 1) + 1 : stride[1]] * taps[:, ky, kx]
    else:
        outputs = []
        for group in range(groups):
            columns, shape = im2col(
                x,
                (kh, kw),
                stride,
                padding,
                channels=slice(group * c_in_group, (group + 1) * c_in_group),
            )
            matrix = conv_weight_matrix(weight[group * out_group : (group + 1) * out_group])
            outputs.append((columns @ matrix.astype(x.dtype)).reshape(*shape, out_group))
        out = outputs[0] if groups == 1 else np.concatenate(outputs, axis=-1)
    if bias is not None:
        out = out + bias.astype(out.dtype)
    return out


def max_pool(
    x: np.ndarray,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int, int, int],
) -> np.ndarray:
    """Max pooling of an NHWC tensor; padding never wins (it is the dtype's minimum)."""
    low = np.iinfo(x.dtype).min if np.issubdtype(x.dtype, np.integer) else -np.inf
    windows = _windows(pad_nhwc(x, padding, low), kernel, stride)
    return windows.max(axis=(4, 5))


def _window_counts(shape: tuple[int, int], kernel, stride, padding, count_include_pad: bool) -> np.ndarray:
    ones = np.ones((1, *shape, 1), dtype=np.int64)
    if count_include_pad:
        ones = pad_nhwc(ones, padding, 1)
        return _windows(ones, kernel, stride).sum(axis=(4, 5))[0, :, :, 0]
    return _windows(pad_nhwc(ones, padding, 0), kernel, stride).sum(axis=(4, 5))[0, :, :, 0]


def avg_pool(
    x: np.ndarray,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int, int, int],
    *,
    count_include_pad: bool,
) -> np.ndarray:
    """Average pooling of an NHWC tensor.

    Float input: the real mean. Integer input: window sums divided with
    :func:`integer_average` (round half away from zero), as TFLite's int8
    ``AveragePool``; the output keeps the input's scale.
    """
    counts = _window_counts(x.shape[1:3], kernel, stride, padding, count_include_pad)
    if np.issubdtype(x.dtype, np.integer):
        sums = _windows(pad_nhwc(x.astype(np.int64), padding), kernel, stride).sum(axis=(4, 5))
        return integer_average(sums, counts[None, :, :, None]).astype(x.dtype)
    sums = _windows(pad_nhwc(x, padding), kernel, stride).sum(axis=(4, 5))
    return sums / counts[None, :, :, None]


def integer_average(sums: np.ndarray, counts: np.ndarray | int) -> np.ndarray:
    """``sums / counts`` rounded half away from zero, in integers (TFLite int8 pooling).

    Implements ``sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count`` with
    C's truncating division.
    """
    sums = np.asarray(sums, dtype=np.int64)
    counts = np.asarray(counts, dtype=np.int64)
    nudged = np.where(sums > 0, sums + counts // 2, sums - counts // 2)
    return np.sign(nudged) * (np.abs(nudged) // counts)
