"""Quantisation arithmetic against hand calculations, closed forms and gemmlowp's C semantics."""

from __future__ import annotations

import numpy as np
import pytest

from pe_models.errors import ConfigError
from workloads.quant import (
    HistogramObserver,
    entropy_threshold,
    multiply_by_quantized_multiplier,
    quantize_activations,
    quantize_multiplier,
    quantize_weights_per_channel,
    round_half_away,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
    wrap_to_width,
)


def _c_div(numerator: int, denominator: int) -> int:
    """C/C++ integer division (truncates toward zero)."""
    quotient = abs(numerator) // abs(denominator)
    return quotient if (numerator >= 0) == (denominator > 0) else -quotient


def _gemmlowp_multiply(x: int, multiplier: int, shift: int) -> int:
    """TFLite MultiplyByQuantizedMultiplier transcribed from the C++ with Python ints."""
    left, right = max(shift, 0), max(-shift, 0)
    a = x * (1 << left)
    a = min(max(a, -(2**31)), 2**31 - 1)
    product = a * multiplier
    nudge = (1 << 30) if product >= 0 else 1 - (1 << 30)
    high = _c_div(product + nudge, 1 << 31)
    if a == multiplier == -(2**31):
        high = 2**31 - 1
    mask = (1 << right) - 1
    remainder = high & mask
    threshold = (mask >> 1) + (1 if high < 0 else 0)
    return (high >> right) + (1 if remainder > threshold else 0)


def test_round_half_away_rounds_ties_away_from_zero():
    values = np.array([0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49, -0.51])
    assert round_half_away(values).tolist() == [1, -1, 2, -2, 3, -3, 0, -1]


def test_wrap_to_width_behaves_like_a_twos_complement_register():
    values = np.array([2**31, -(2**31) - 1, 5, -5, 2**32 + 7])
    assert wrap_to_width(values, 32).tolist() == [-(2**31), 2**31 - 1, 5, -5, 7]
    assert wrap_to_width(np.array([200, -129, 127]), 8).tolist() == [-56, 127, 127]


def test_weight_quantisation_round_trip_is_within_half_a_step():
    rng = np.random.default_rng(np.random.SeedSequence(1))
    weights = rng.normal(size=(8, 3, 3, 3)) * rng.uniform(0.01, 10, size=(8, 1, 1, 1))
    codes, scales = quantize_weights_per_channel(weights)
    error = np.abs(weights - codes * scales[:, None, None, None])
    assert np.all(error <= scales[:, None, None, None] / 2 + 1e-12)
    assert np.abs(codes).reshape(8, -1).max(axis=1).tolist() == [127] * 8


def test_weight_quantisation_of_a_hand_example():
    codes, scales = quantize_weights_per_channel(np.array([[0.5, -1.27, 0.005], [0, 0, 0]]))
    assert scales.tolist() == [0.01, 1.0]
    assert codes.tolist() == [[50, -127, 1], [0, 0, 0]]


def test_activation_quantisation_saturates_at_int8_limits():
    codes = quantize_activations(np.array([-2.0, -1.285, 0.025, 1.0, 5.0]), 0.01)
    assert codes.tolist() == [-128, -128, 3, 100, 127]


@pytest.mark.parametrize(
    ("real", "expected"),
    [
        (0.5, (2**30, 0)),  # 0.5 = 0.5 * 2**0
        (1.0, (2**30, 1)),  # 1.0 = 0.5 * 2**1
        (0.1, (1717986918, -3)),  # 0.1 = 0.8 * 2**-3; 0.8 * 2**31 = 1717986918.4
        (0.75, (1610612736, 0)),  # 0.75 * 2**31
        (1 - 2**-40, (2**30, 1)),  # mantissa rounds up to 2**31, carried into the exponent
        (0.0, (0, 0)),
        (2**-40, (0, 0)),  # below 2**-32: TFLite sets it to zero
    ],
)
def test_quantize_multiplier_matches_hand_values(real, expected):
    multiplier, shift = quantize_multiplier(np.array([real]))
    assert (int(multiplier[0]), int(shift[0])) == expected


def test_doubling_high_mul_rounds_ties_upward_and_saturates():
    a = np.array([3, -3, -1, 1, -(2**31)])
    b = np.array([2**30, 2**30, 2**30, 2**30, -(2**31)])
    # a * b / 2**31 = 1.5, -1.5, -0.5, 0.5, overflow
    assert saturating_rounding_doubling_high_mul(a, b).tolist() == [2, -1, 0, 1, 2**31 - 1]


def test_rounding_divide_by_pot_rounds_ties_away_from_zero():
    values = np.array([3, -3, 5, -5, 6, -6, 7])
    # /2: 1.5, -1.5, 2.5, -2.5 ; /4: 1.5, -1.5, 1.75
    exponents = np.array([1, 1, 1, 1, 2, 2, 2])
    assert rounding_divide_by_pot(values, exponents).tolist() == [2, -2, 3, -3, 2, -2, 2]


def test_fixed_point_multiply_matches_transcribed_reference():
    rng = np.random.default_rng(np.random.SeedSequence(2))
    values = np.concatenate([rng.integers(-(2**31), 2**31, size=300), [0, 1, -1, 2**31 - 1, -(2**31)]])
    reals = np.concatenate([10.0 ** rng.uniform(-6, 0.5, size=40), [0.5, 1.0, 2.0]])
    multipliers, shifts = quantize_multiplier(reals)
    for multiplier, shift in zip(multipliers, shifts, strict=True):
        got = multiply_by_quantized_multiplier(values, multiplier, shift)
        expected = [_gemmlowp_multiply(int(v), int(multiplier), int(shift)) for v in values]
        assert got.tolist() == expected


def test_fixed_point_multiply_is_within_half_a_step_plus_its_own_rounding():
    rng = np.random.default_rng(np.random.SeedSequence(3))
    values = rng.integers(-(2**24), 2**24, size=2000)
    reals = 10.0 ** rng.uniform(-6, -1, size=2000)
    multipliers, shifts = quantize_multiplier(reals)
    got = multiply_by_quantized_multiplier(values, multipliers, shifts)
    exact = values * reals
    # error sources: the final rounding (0.5), the high-mul rounding before the right
    # shift (0.5 * 2**shift), the multiplier's own rounding (|x| * 2**(shift - 32))
    slack = 0.5 * 2.0**shifts + np.abs(values) * 2.0 ** (shifts - 32.0) + 1e-9
    assert np.all(np.abs(got - exact) <= 0.5 + slack)
    clear = np.abs(np.abs(exact - np.floor(exact)) - 0.5) > slack
    assert clear.mean() > 0.9
    assert np.array_equal(got[clear], round_half_away(exact[clear]))


def test_percentile_threshold_of_a_uniform_distribution():
    observer = HistogramObserver(bins=1024)
    observer.observe(np.linspace(-10, 10, 200001))
    # |x| uniform on [0, 10]: the 99th percentile is 9.9 (to one bin of 10/1024)
    assert observer.threshold("percentile", percentile=99.0) == pytest.approx(9.9, abs=0.02)


def _raw_quantisation_mse(samples: np.ndarray, threshold: float) -> float:
    scale = threshold / 127
    codes = np.clip(round_half_away(samples / scale), -127, 127)
    return float(np.mean((samples - codes * scale) ** 2))


def test_mse_threshold_minimises_the_error_of_the_raw_samples():
    rng = np.random.default_rng(np.random.SeedSequence(4))
    samples = rng.laplace(size=50000)
    observer = HistogramObserver()
    observer.observe(samples)
    chosen = observer.threshold("mse")
    grid = np.linspace(0.2, np.abs(samples).max(), 400)
    best = min(_raw_quantisation_mse(samples, t) for t in grid)
    assert chosen < np.abs(samples).max()
    assert _raw_quantisation_mse(samples, chosen) <= 1.02 * best


def test_histogram_range_doubling_keeps_counts():
    observer = HistogramObserver(bins=8)
    observer.observe(np.array([0.1, 0.2, 0.0]))
    observer.observe(np.array([3.0]))
    assert observer.counts.sum() == 3
    assert observer.zeros == 1
    assert observer.upper >= 3.0


def test_histogram_does_not_depend_on_how_values_are_batched():
    rng = np.random.default_rng(np.random.SeedSequence(5))
    values = rng.laplace(size=30000) * 3
    whole = HistogramObserver()
    whole.observe(values)
    batched = HistogramObserver()
    for part in np.array_split(np.sort(np.abs(values)), 7):  # growing maxima: range doubles
        batched.observe(part)
    assert whole.upper == batched.upper == 2.0 ** np.ceil(np.log2(np.abs(values).max()))
    assert np.array_equal(whole.counts, batched.counts)
    assert whole.threshold("mse") == batched.threshold("mse")


def test_unknown_calibration_method_is_rejected():
    with pytest.raises(ConfigError, match=r"^calibration: 'max' is unknown; allowed: mse, percentile, entropy$"):
        HistogramObserver().threshold("max")


def _entropy_reference(counts: np.ndarray, upper: float, levels: int) -> float:
    """NVIDIA pytorch-quantization's ``_compute_amax_entropy`` loop, transcribed (stride 1)."""
    from collections import Counter

    bins = counts.astype(np.float64)
    edges = np.linspace(0, upper, len(bins) + 1)
    divergences, arguments = [], []
    for i in range(levels, len(bins) + 1):
        space = np.linspace(0, i, num=levels + 1)
        digitized = np.digitize(range(i), space) - 1
        digitized[bins[:i] == 0] = -1
        density = np.zeros(levels)
        for index, group in enumerate(digitized):
            if group != -1:
                density[group] += bins[index]
        for group, members in Counter(digitized).items():
            if group != -1:
                density[group] /= members
        expanded = np.zeros(i)
        for index, group in enumerate(digitized):
            if group != -1:
                expanded[index] = density[group]
        reference = bins[:i].copy()
        reference[-1] += bins[i:].sum()
        p, q = reference / reference.sum(), expanded / expanded.sum()
        present = p > 0
        divergence = np.inf if np.any(q[present] == 0) else float(np.sum(p[present] * np.log(p[present] / q[present])))
        divergences.append(divergence)
        arguments.append(i)
    last = len(divergences) - 1 - int(np.argmin(np.array(divergences)[::-1]))
    return float(edges[arguments[last]])


@pytest.mark.parametrize("shape", ["laplace", "gaps"])
def test_entropy_threshold_matches_the_tensorrt_algorithm(shape):
    rng = np.random.default_rng(np.random.SeedSequence(6))
    samples = np.abs(rng.laplace(size=20000))
    if shape == "gaps":
        samples = samples[(samples < 1) | (samples > 2)]
    counts, _ = np.histogram(samples, bins=400, range=(0, 16))
    assert entropy_threshold(counts, 16.0, levels=128) == pytest.approx(_entropy_reference(counts, 16.0, 128))


def test_entropy_threshold_of_a_flat_histogram_keeps_every_bin():
    # clipping piles counts into the last kept bin, which 128 levels cannot represent;
    # keeping all 300 bins of a flat histogram gives Q = P exactly (divergence 0)
    counts = np.full(300, 7)
    assert entropy_threshold(counts, 3.0, levels=128) == pytest.approx(3.0)
