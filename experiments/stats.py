"""Statistics of accuracy differences between two configurations on the same images.

Two runs of a classifier on the same N images give paired outcomes (hit or miss per
image). Only the discordant images carry information about the difference: ``b`` images
the reference gets right and the other configuration wrong, ``c`` the reverse. The
accuracy loss is ``(b - c) / N``.

* :func:`mcnemar`: the exact (binomial) McNemar test of ``b = c`` (McNemar 1947; the
  exact conditional form, Fay 2010, *R Journal* 2(1)), two-sided.
* :func:`bootstrap_difference_ci`: percentile bootstrap interval of the loss, resampling
  images (pairs) with replacement (Efron and Tibshirani 1993, ch. 13). With no
  discordant image the bootstrap interval collapses to 0; the interval then reported is
  the exact one-sided bound of the rule of three (Hanley and Lippman-Hand 1983):
  ``3 / N`` at 95 %.
* :func:`resolution_pct`: the half-width of the 95 % (Wilson 1927) interval of one
  accuracy ``p`` measured on N images, about ``1.96 sqrt(p (1 - p) / N)``: at p = 72 %
  (MobileNetV2's ImageNet top-1) 1000 images resolve about +-2.8 points, not 0.29.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pe_models.errors import ConfigError

__all__ = [
    "McNemarResult",
    "bootstrap_difference_ci",
    "images_to_resolve",
    "mcnemar",
    "resolution_pct",
    "resolution_statement",
]

Z_95 = 1.959963984540054


@dataclass(frozen=True)
class McNemarResult:
    """Exact McNemar test.

    Attributes
    ----------
    b : int
        Images right in the reference, wrong in the other configuration.
    c : int
        Images wrong in the reference, right in the other configuration.
    p_value : float
        Two-sided exact p-value of ``b = c`` (1.0 when ``b + c = 0``).
    """

    b: int
    c: int
    p_value: float


def _paired(reference: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    first = np.asarray(reference, dtype=bool).ravel()
    second = np.asarray(other, dtype=bool).ravel()
    if first.shape != second.shape or first.size == 0:
        raise ConfigError(
            f"paired outcomes: expected two equally long non-empty arrays, got {first.size} and {second.size}"
        )
    return first, second


def mcnemar(reference: np.ndarray, other: np.ndarray) -> McNemarResult:
    """Exact two-sided McNemar test on paired hit/miss outcomes.

    Parameters
    ----------
    reference, other : ndarray of bool, shape (N,)
        Per image: whether each configuration classified it correctly.

    Returns
    -------
    McNemarResult
        ``p = min(1, 2 P(X <= min(b, c)))`` with ``X ~ Binomial(b + c, 1/2)``.
    """
    first, second = _paired(reference, other)
    b = int(np.sum(first & ~second))
    c = int(np.sum(~first & second))
    n = b + c
    if n == 0:
        return McNemarResult(b=b, c=c, p_value=1.0)
    low = min(b, c)
    tail = sum(math.comb(n, i) for i in range(low + 1)) / 2.0**n
    return McNemarResult(b=b, c=c, p_value=min(1.0, 2.0 * tail))


def bootstrap_difference_ci(
    reference: np.ndarray,
    other: np.ndarray,
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``accuracy(reference) - accuracy(other)`` (a fraction).

    Parameters
    ----------
    reference, other : ndarray of bool, shape (N,)
        Paired per-image outcomes.
    confidence : float
        Two-sided coverage, in (0, 1).
    resamples : int
        Bootstrap resamples of the N images.
    seed : int
        Seed of the resampling (``numpy.random.SeedSequence``).

    Returns
    -------
    (low, high) : tuple of float
        Fractions (multiply by 100 for points). With no discordant pair: ``(0, 3/N)``
        (rule of three, one-sided 95 %).
    """
    first, second = _paired(reference, other)
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence: {confidence!r} is out of range; allowed: (0, 1)")
    difference = first.astype(np.int8) - second.astype(np.int8)
    n = difference.size
    if not difference.any():
        return 0.0, min(1.0, 3.0 / n)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=resamples)
    means = counts @ difference.astype(np.float64) / n
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return float(low), float(high)


def resolution_pct(accuracy_pct: float, images: int) -> float:
    """Half-width in points of the 95 % Wilson score interval of an accuracy measured on `images` images.

    ``z sqrt(p (1 - p) / N + z^2 / (4 N^2)) / (1 + z^2 / N)``: the normal interval's
    ``z sqrt(p (1 - p) / N)`` for large N, and still honest at 0 % or 100 % on few images.
    """
    p = min(max(accuracy_pct / 100.0, 0.0), 1.0)
    z2 = Z_95**2
    return 100.0 * Z_95 * math.sqrt(p * (1.0 - p) / images + z2 / (4.0 * images**2)) / (1.0 + z2 / images)


def images_to_resolve(accuracy_pct: float, difference_pct: float) -> int:
    """Images needed for the 95 % half-width of one accuracy to shrink to `difference_pct` points."""
    p = min(max(accuracy_pct / 100.0, 0.0), 1.0)
    if difference_pct <= 0:
        return 0
    return math.ceil((Z_95 / (difference_pct / 100.0)) ** 2 * p * (1.0 - p))


def resolution_statement(accuracy_pct: float, images: int, difference_pct: float) -> str:
    """One sentence saying whether `images` images can resolve a difference of `difference_pct` points."""
    half = resolution_pct(accuracy_pct, images)
    if difference_pct == 0:
        return f"{images} images resolve about +-{half:.2g} points at {accuracy_pct:.3g} % accuracy."
    if abs(difference_pct) >= half:
        return (
            f"{images} images resolve about +-{half:.2g} points at {accuracy_pct:.3g} % accuracy, "
            f"enough for a difference of {abs(difference_pct):.3g} points."
        )
    needed = images_to_resolve(accuracy_pct, abs(difference_pct)) if difference_pct else None
    tail = f" (about {needed:,} images would)" if needed else ""
    return (
        f"{images} images resolve about +-{half:.2g} points at {accuracy_pct:.3g} % accuracy: "
        f"a difference of {abs(difference_pct):.3g} points cannot be resolved{tail}."
    )
