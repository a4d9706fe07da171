"""Two's-complement words and exact int8 products: the arithmetic every level compares against."""

from __future__ import annotations

import numpy as np

__all__ = ["bit_frequencies", "exact_gemm", "float_dtype_for_depth", "to_signed"]

_MAX_INT8_PRODUCT = 128 * 128


def to_signed(values: np.ndarray, width: int) -> np.ndarray:
    """Wrap integers (or `width`-bit patterns) to a `width`-bit two's-complement register.

    Parameters
    ----------
    values : ndarray of int
        Exact integers or unsigned bit patterns, any shape.
    width : int
        Register width in bits, 2..64.

    Returns
    -------
    ndarray of int64
        ``values`` modulo ``2**width``, mapped to ``[-2**(width-1), 2**(width-1))``.
    """
    values = np.asarray(values, dtype=np.int64)
    if width >= 64:
        return values
    half = np.int64(1) << np.int64(width - 1)
    mask = (np.int64(1) << np.int64(width)) - np.int64(1)
    return ((values + half) & mask) - half


def float_dtype_for_depth(depth: int) -> type[np.floating]:
    """The narrowest float type in which a depth-`depth` int8 dot product is exact.

    Every partial sum of ``depth`` int8 x int8 products is an integer of magnitude at
    most ``depth * 128 * 128``; float32 represents every integer up to ``2**24``
    exactly and float64 up to ``2**53``, whatever order BLAS adds in.

    Parameters
    ----------
    depth : int
        The reduction length K.

    Returns
    -------
    numpy.float32 or numpy.float64
    """
    bound = depth * _MAX_INT8_PRODUCT
    if bound <= 2**24:
        return np.float32
    if bound <= 2**53:
        return np.float64
    raise ValueError(f"reduction length {depth} is too long for an exact float GEMM")


def exact_gemm(activations: np.ndarray, weights: np.ndarray, width: int) -> np.ndarray:
    """The exact integer product ``activations @ weights`` wrapped to a `width`-bit accumulator.

    BLAS in the narrowest exact float type (:func:`float_dtype_for_depth`); (M, K) @ (K, N)
    or batched (G, M, K) @ (G, K, N) int8 operands. No wrap is applied when no partial
    sum can overflow.

    Returns
    -------
    ndarray of int64
    """
    depth = activations.shape[-1]
    dtype = float_dtype_for_depth(depth)
    product = np.matmul(activations.astype(dtype), weights.astype(dtype)).astype(np.int64)
    if depth * _MAX_INT8_PRODUCT < 2 ** (width - 1):
        return product
    return to_signed(product, width)


def bit_frequencies(words: np.ndarray, width: int) -> np.ndarray:
    """Fraction of `words` with bit i set, for i < `width`.

    Parameters
    ----------
    words : ndarray of int
        Bit patterns (flip masks, products ...), any shape.
    width : int

    Returns
    -------
    ndarray, float64, shape (width,)
    """
    words = np.asarray(words, dtype=np.int64).ravel()
    if words.size == 0:
        return np.zeros(width)
    return np.array([np.count_nonzero((words >> bit) & 1) for bit in range(width)]) / words.size
