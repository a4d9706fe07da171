"""The numba kernels are bit-exact with the numpy reference arithmetic of workloads.quant."""

from __future__ import annotations

import numpy as np

from workloads import _kernels
from workloads.engine import ADD_LEFT_SHIFT
from workloads.quant import multiply_by_quantized_multiplier, quantize_multiplier, wrap_to_width


def test_requantize_kernel_matches_numpy_reference():
    rng = np.random.default_rng(np.random.SeedSequence(50))
    accumulator = np.concatenate(
        [rng.integers(-(2**33), 2**33, size=(400, 6)), np.full((1, 6), 2**31 - 1), np.full((1, 6), -(2**31))]
    )
    bias = rng.integers(-(2**20), 2**20, size=6)
    multiplier, shift = quantize_multiplier(np.array([1e-4, 3e-3, 0.02, 0.4, 1.7, 5e-6]))
    low, high = np.array([-128, -128, 0, 0, -5, -128]), np.array([127, 127, 127, 40, 5, 0])
    got = _kernels.requantize(accumulator, bias, multiplier.astype(np.int64), shift.astype(np.int64), low, high)
    reference = multiply_by_quantized_multiplier(wrap_to_width(accumulator + bias, 32), multiplier, shift)
    assert np.array_equal(got, np.clip(reference, low, high).astype(np.int8))


def test_add_kernel_matches_numpy_reference():
    rng = np.random.default_rng(np.random.SeedSequence(51))
    a, b = rng.integers(-128, 128, size=(2, 5000)).astype(np.int8)
    multipliers, shifts = quantize_multiplier(np.array([0.5, 0.31, 0.8e-6]))
    got = _kernels.requantize_add(
        a, b, multipliers.astype(np.int64), shifts.astype(np.int64), ADD_LEFT_SHIFT, -128, 127
    )
    scaled = [
        multiply_by_quantized_multiplier(x.astype(np.int64) << ADD_LEFT_SHIFT, m, s)
        for x, m, s in zip((a, b), multipliers[:2], shifts[:2], strict=True)
    ]
    reference = multiply_by_quantized_multiplier(scaled[0] + scaled[1], multipliers[2], shifts[2])
    assert np.array_equal(got, np.clip(reference, -128, 127).astype(np.int8))
