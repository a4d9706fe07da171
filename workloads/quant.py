"""Int8 quantisation arithmetic: symmetric scales, calibration, fixed-point requantisation.

Conventions (zero points are always 0, i.e. symmetric quantisation):

* weights: per output channel, ``q = round(w / s)`` clipped to [-127, 127] with
  ``s = max|w| / 127`` (TFLite's int8 scheme, see the TFLite "8-bit quantization
  specification": weights symmetric in [-127, 127], activations in [-128, 127]);
* activations: per tensor, ``q = round(x / s)`` clipped to [-128, 127], with ``s``
  from a calibrated clipping threshold ``t`` (``s = t / 127``), never from the bare
  maximum: percentile of |x| or the threshold minimising the quantisation mean
  squared error (Wu et al. 2020, "Integer quantization for deep learning inference:
  principles and empirical evaluation", arXiv:2004.09602, section 4.2);
* requantisation of an int32 accumulator by a real multiplier ``M`` uses TFLite's
  fixed-point form ``M = q * 2**(shift - 31)`` with ``q`` an int32 in [2**30, 2**31)
  (``QuantizeMultiplier`` in tensorflow/lite/kernels/internal/quantization_util.cc)
  and ``MultiplyByQuantizedMultiplier`` = gemmlowp's
  ``SaturatingRoundingDoublingHighMul`` followed by ``RoundingDivideByPOT``
  (gemmlowp/fixedpoint/fixedpoint.h).

Rounding: real numbers are rounded half away from zero (``std::round``, as TFLite's
``TfLiteRound``); inside the fixed-point multiply, ``SaturatingRoundingDoublingHighMul``
rounds ties toward +infinity (its nudge, then C's truncating division) and
``RoundingDivideByPOT`` rounds ties away from zero, exactly as gemmlowp does.
"""

from __future__ import annotations

import numpy as np

from pe_models.errors import ConfigError
from pe_models.integers import to_signed as wrap_to_width

__all__ = [
    "ACTIVATION_QMAX",
    "ACTIVATION_QMIN",
    "CALIBRATION_METHODS",
    "INT32_MAX",
    "INT32_MIN",
    "WEIGHT_QMAX",
    "HistogramObserver",
    "dequantize",
    "entropy_threshold",
    "multiply_by_quantized_multiplier",
    "quantize_activations",
    "quantize_multiplier",
    "quantize_weights_per_channel",
    "round_half_away",
    "rounding_divide_by_pot",
    "saturating_rounding_doubling_high_mul",
    "wrap_to_width",
]

WEIGHT_QMAX = 127
ACTIVATION_QMIN = -128
ACTIVATION_QMAX = 127
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
CALIBRATION_METHODS = ("mse", "percentile", "entropy")


def round_half_away(values: np.ndarray) -> np.ndarray:
    """Round to the nearest integer, ties away from zero (C's ``round``).

    Parameters
    ----------
    values : ndarray of float
        Any shape.

    Returns
    -------
    ndarray of float
        Same shape, integral values.
    """
    values = np.asarray(values, dtype=np.float64)
    return np.sign(values) * np.floor(np.abs(values) + 0.5)


def quantize_weights_per_channel(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-output-channel int8 quantisation of a weight tensor.

    Parameters
    ----------
    weights : ndarray of float, shape (C_out, ...)
        Output channel on axis 0.

    Returns
    -------
    quantized : ndarray of int8, same shape
        ``round_half_away(w / scale)`` clipped to [-127, 127].
    scales : ndarray of float64, shape (C_out,)
        ``max|w| / 127`` per channel; 1.0 for an all-zero channel.
    """
    weights = np.asarray(weights, dtype=np.float64)
    flat = weights.reshape(weights.shape[0], -1)
    peak = np.abs(flat).max(axis=1) if flat.shape[1] else np.zeros(flat.shape[0])
    scales = np.where(peak > 0, peak / WEIGHT_QMAX, 1.0)
    quantized = round_half_away(flat / scales[:, None])
    quantized = np.clip(quantized, -WEIGHT_QMAX, WEIGHT_QMAX).astype(np.int8)
    return quantized.reshape(weights.shape), scales


def quantize_activations(values: np.ndarray, scale: float) -> np.ndarray:
    """Quantise a float tensor with a per-tensor scale to int8 (zero point 0).

    Parameters
    ----------
    values : ndarray of float
        Any shape.
    scale : float
        Real value of one integer step; > 0.

    Returns
    -------
    ndarray of int8
        ``round_half_away(values / scale)`` clipped to [-128, 127].
    """
    quantized = round_half_away(np.asarray(values, dtype=np.float64) / scale)
    return np.clip(quantized, ACTIVATION_QMIN, ACTIVATION_QMAX).astype(np.int8)


def dequantize(values: np.ndarray, scale: float | np.ndarray) -> np.ndarray:
    """Real values of integer codes: ``values * scale`` as float64."""
    return np.asarray(values, dtype=np.float64) * scale


def quantize_multiplier(real_multiplier: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fixed-point form of positive real multipliers (TFLite ``QuantizeMultiplier``).

    Parameters
    ----------
    real_multiplier : ndarray of float, any shape
        Values >= 0.

    Returns
    -------
    multiplier : ndarray of int32
        ``q`` in [2**30, 2**31) (0 for a zero or negligible multiplier).
    shift : ndarray of int32
        Exponent such that ``real ~= q * 2**(shift - 31)``; positive means a left shift.
    """
    real = np.asarray(real_multiplier, dtype=np.float64)
    if np.any(real < 0) or not np.all(np.isfinite(real)):
        raise ValueError("requantisation multipliers must be finite and >= 0")
    mantissa, exponent = np.frexp(real)
    fixed = round_half_away(mantissa * 2.0**31).astype(np.int64)
    carry = fixed == 2**31
    fixed = np.where(carry, fixed // 2, fixed)
    exponent = np.where(carry, exponent + 1, exponent)
    negligible = (real == 0) | (exponent < -31)
    fixed = np.where(negligible, 0, fixed)
    exponent = np.where(negligible, 0, exponent)
    return fixed.astype(np.int32), exponent.astype(np.int32)


def saturating_rounding_doubling_high_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """gemmlowp ``SaturatingRoundingDoublingHighMul`` on int32 values held in int64.

    Returns ``a * b / 2**31`` rounded to nearest with ties toward +infinity: gemmlowp
    adds a nudge (``+2**30`` for a non-negative product, ``1 - 2**30`` otherwise) and
    divides by ``2**31`` truncating toward zero; the single overflow case
    ``a == b == -2**31`` saturates to ``2**31 - 1``.
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    product = a * b
    nudged = product + np.where(product >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    high = np.sign(nudged) * (np.abs(nudged) >> np.int64(31))
    overflow = (a == b) & (a == INT32_MIN)
    return np.where(overflow, np.int64(INT32_MAX), high)


def rounding_divide_by_pot(values: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """gemmlowp ``RoundingDivideByPOT``: ``values / 2**exponent``, ties away from zero."""
    values = np.asarray(values, dtype=np.int64)
    exponent = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << exponent) - np.int64(1)
    remainder = values & mask
    threshold = (mask >> np.int64(1)) + (values < 0).astype(np.int64)
    return (values >> exponent) + (remainder > threshold).astype(np.int64)


def multiply_by_quantized_multiplier(values: np.ndarray, multiplier: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """TFLite ``MultiplyByQuantizedMultiplier``: ``round(values * q * 2**(shift - 31))``.

    Parameters
    ----------
    values : ndarray of int64
        int32 accumulators (any shape).
    multiplier, shift : ndarray of int32
        From :func:`quantize_multiplier`; broadcast against ``values`` (per output
        channel on the last axis, or scalars).

    Returns
    -------
    ndarray of int64
        The requantised values (not yet clamped to int8).
    """
    values = np.asarray(values, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    shifted = np.clip(values << left, INT32_MIN, INT32_MAX)
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier), right)


class HistogramObserver:
    """Collect the distribution of |x| of one tensor over calibration batches.

    A fixed number of equal-width bins covers ``[0, range)`` with the range a power of
    two; when a batch exceeds the range, the range doubles and adjacent bin pairs merge.
    The final histogram is therefore the one of all values at once with the range the
    smallest power of two above their maximum, whatever the batching and order of the
    calibration images. Exact zeros (most post-ReLU values) are counted apart: they
    quantise without error.

    Parameters
    ----------
    bins : int
        Number of bins, a power of two (default 2048).
    """

    def __init__(self, bins: int = 2048) -> None:
        if bins < 2 or bins & (bins - 1):
            raise ValueError("bins must be a power of two >= 2")
        self.bins = bins
        self.counts = np.zeros(bins, dtype=np.int64)
        self.upper = 0.0
        self.zeros = 0
        self.peak = 0.0

    def observe(self, values: np.ndarray) -> None:
        """Add a batch of values (any shape, float)."""
        magnitudes = np.abs(np.asarray(values, dtype=np.float64)).ravel()
        nonzero = magnitudes[magnitudes > 0]
        self.zeros += magnitudes.size - nonzero.size
        if nonzero.size == 0:
            return
        peak = float(nonzero.max())
        self.peak = max(self.peak, peak)
        if self.upper == 0.0:
            self.upper = float(2.0 ** np.ceil(np.log2(peak)))
        while peak >= self.upper:
            self.counts = self.counts.reshape(-1, 2).sum(axis=1)
            self.counts = np.concatenate([self.counts, np.zeros(self.bins // 2, np.int64)])
            self.upper *= 2
        index = np.minimum((nonzero / self.upper * self.bins).astype(np.int64), self.bins - 1)
        self.counts += np.bincount(index, minlength=self.bins)

    def threshold(self, method: str = "mse", *, percentile: float = 99.99, levels: int = ACTIVATION_QMAX) -> float:
        """The clipping threshold ``t`` (scale = t / levels) by `method`.

        Parameters
        ----------
        method : {"mse", "percentile", "entropy"}
            ``percentile``: the upper edge of the bin holding the `percentile`-th
            percentile of |x| (zeros included). ``mse``: the bin edge minimising the
            expected squared quantisation error of the observed distribution (values
            taken at bin centres), searched over all edges. ``entropy``: the bin edge
            minimising the Kullback-Leibler divergence between the clipped
            distribution and its ``levels + 1``-level quantisation (TensorRT's
            calibration, :func:`entropy_threshold`).
        percentile : float
            In (0, 100], used by ``percentile``.
        levels : int
            Positive codes above zero: 127 for signed int8 codes, 255 for unsigned
            (zero point -128) codes of a non-negative tensor.

        Returns
        -------
        float
            Threshold > 0 (1.0 for a tensor that was always zero).
        """
        if method not in CALIBRATION_METHODS:
            raise ConfigError(f"calibration: {method!r} is unknown; allowed: {', '.join(CALIBRATION_METHODS)}")
        if not 0 < percentile <= 100:
            raise ConfigError(f"percentile: {percentile} must be in (0, 100]")
        total = int(self.counts.sum())
        if total == 0:
            return 1.0
        width = self.upper / self.bins
        edges = width * np.arange(1, self.bins + 1)
        if method == "percentile":
            cumulative = np.cumsum(self.counts) + self.zeros
            target = percentile / 100 * (total + self.zeros)
            index = int(np.searchsorted(cumulative, target - 1e-9 * target))
            return float(min(edges[min(index, self.bins - 1)], self.peak))
        if method == "entropy":
            return entropy_threshold(self.counts, self.upper, levels=levels + 1)
        centres = width * (np.arange(self.bins) + 0.5)
        used = np.flatnonzero(self.counts)
        centres, counts = centres[used], self.counts[used].astype(np.float64)
        candidates = edges[edges <= self.peak + width]
        best, best_error = float(candidates[-1]), np.inf
        for chunk in np.array_split(candidates, max(1, len(candidates) // 256)):
            scale = chunk[:, None] / levels
            codes = np.minimum(np.floor(centres[None, :] / scale + 0.5), levels)
            error = ((centres[None, :] - codes * scale) ** 2 * counts[None, :]).sum(axis=1)
            index = int(np.argmin(error))
            if error[index] < best_error:
                best, best_error = float(chunk[index]), float(error[index])
        return best


def entropy_threshold(counts: np.ndarray, upper: float, *, levels: int = 128) -> float:
    """Clipping threshold minimising the KL divergence of the quantised distribution.

    TensorRT's entropy calibration (Migacz, "8-bit Inference with TensorRT", GTC 2017;
    Wu et al. 2020, section 4.2; the algorithm of NVIDIA's ``pytorch-quantization``
    ``_compute_amax_entropy``): for every candidate number of bins ``i`` (from
    `levels` to all), the reference distribution ``P`` is the first ``i`` bins with
    every count above them added to bin ``i - 1`` (clipping); ``Q`` merges the first
    ``i`` bins (without the clipped counts) into `levels` groups, bin ``b`` into group
    ``floor(b * levels / i)``, and spreads each group's count evenly over its non-empty
    bins. The threshold is the upper edge of bin ``i - 1`` for the ``i`` minimising
    ``KL(P || Q)`` (the largest such ``i`` on a tie); a ``Q`` that is empty where ``P``
    is not (infinite divergence) is never chosen.

    Parameters
    ----------
    counts : ndarray of int, shape (bins,)
        Histogram of |x| over ``[0, upper)`` in equal bins (exact zeros left out: they
        quantise without error whatever the threshold).
    upper : float
        Upper edge of the last bin, > 0.
    levels : int
        Quantisation levels of |x| (128 for int8 codes 0..127).

    Returns
    -------
    float
        The threshold (``upper`` when the histogram is empty).
    """
    counts = np.asarray(counts, dtype=np.float64)
    bins = counts.size
    total = counts.sum()
    if total == 0 or bins <= levels:
        return float(upper)
    width = upper / bins
    beyond = total - np.cumsum(counts)
    nonempty = counts > 0
    best_bins, best_divergence = bins, np.inf
    for used in range(levels, bins + 1):
        reference = counts[:used].copy()
        reference[-1] += beyond[used - 1]
        group = np.arange(used) * levels // used
        group_sums = np.bincount(group, weights=counts[:used], minlength=levels)
        group_filled = np.bincount(group, weights=nonempty[:used], minlength=levels)
        spread = np.where(nonempty[:used], group_sums[group] / np.maximum(group_filled[group], 1), 0.0)
        present = reference > 0
        if np.any(spread[present] == 0):
            continue
        p = reference[present] / reference.sum()
        q = spread[present] / spread.sum()
        divergence = float(np.sum(p * np.log(p / q)))
        if divergence <= best_divergence:
            best_bins, best_divergence = used, divergence
    return float(best_bins * width)
