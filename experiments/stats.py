"""Statistics of a configuration measured against a reference on the same images.

Two runs of a classifier on the same N images give paired outcomes (hit or miss per
image). :class:`PairedCounts` holds the 2x2 table: ``lost`` (``b``) images the reference
gets right and the other configuration wrong, ``gained`` (``c``) the reverse, and the
concordant ones. The accuracy loss is ``(b - c) / N``; only the discordant images carry
information about it. Every public figure is in percentage points (``_pct``), the unit
of the budgets it is compared with.

Accuracy loss:

* :func:`loss_interval`: two-sided interval of the loss. ``"tango"``: the score interval
  of Tango (1998, *Stat Med* 17:891-908), the set of losses its score test does not
  reject (depends on ``b``, ``c``, ``N`` only). ``"newcombe"``: Newcombe's method 10
  (1998, *Stat Med* 17:2635-2650), Wilson score limits of the two accuracies combined
  with the continuity-corrected phi correlation. ``"exact"``: Clopper-Pearson limits of
  the discordant cells (``-U(c) <= loss <= U(b)``, since ``-pi_21 <= loss <= pi_12``),
  exact (coverage at least nominal for every parameter) and conservative when both
  cells are occupied; with ``b = 0`` its one-sided 95 % bound is ``1 - 0.05^(1/N)``,
  about ``3/N`` (rule of three, Hanley and Lippman-Hand 1983, *JAMA* 249:1743).
* :func:`noninferiority_test`: Tango's score test of ``H0: loss >= margin`` against
  ``H1: loss < margin`` (the same statistic as Nam 1997, *Biometrics* 53:1422-1430; Liu
  et al. 2002, *Stat Med* 21:231-245), its p-value and the matching one-sided bound:
  ``p < alpha`` exactly when the upper end of Tango's two-sided ``1 - 2 alpha`` interval
  is below the margin (with ``alpha = 0.025``: the 95 % interval's upper end).
* :func:`mcnemar`: the exact two-sided McNemar test of ``b = c`` (a test for a
  difference, not for non-inferiority).

Images needed (paired designs, the information is in the discordant images):

* :func:`images_to_detect_loss`: Connor (1987, *Biometrics* 43:207-211), images for a
  two-sided McNemar-type test to detect a loss ``x`` at discordance ``psi``:
  ``n = (z_{a/2} sqrt(psi) + z_b sqrt(psi - x^2))^2 / x^2``.
* :func:`images_for_noninferiority`: Nam (1997), images for the score test to show a loss
  below the margin ``m`` when the true loss is ``x``:
  ``n = (z_a sqrt(w0) + z_b sqrt(psi - x^2))^2 / (m - x)^2``, ``w0 = 2 pi~_21 + m (1 - m)``
  with ``pi~_21`` the limit of the restricted estimate under ``H0``.
* :func:`paired_resolution_statement`: one sentence with the interval, the test and the
  images a decision would need.

Latency and energy:

* :func:`bootstrap_overhead_pct`: percentile bootstrap interval of a latency overhead
  ``sum(extra) / sum(base)`` resampling independent units (images) with replacement
  (Efron and Tibshirani 1993, *An Introduction to the Bootstrap*, ch. 13).
* :func:`saving_band_pct`: the range of an energy saving ``1 - E_plan / E_reference``
  over the energy model's bands, each component's corner shared by the plan and the
  reference (the same constant enters both).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.optimize import brentq
from scipy.stats import beta, norm

from pe_models.errors import ConfigError

__all__ = [
    "INTERVAL_METHODS",
    "BudgetVerdict",
    "LossInterval",
    "McNemarResult",
    "NonInferiority",
    "OverheadInterval",
    "PairedCounts",
    "SavingBand",
    "bootstrap_overhead_pct",
    "check_budgets",
    "clopper_pearson_interval",
    "images_for_noninferiority",
    "images_to_detect_loss",
    "loss_interval",
    "mcnemar",
    "noninferiority_test",
    "paired_resolution_statement",
    "saving_band_pct",
    "split_images",
    "tango_statistic",
    "wilson_interval",
]

INTERVAL_METHODS: tuple[str, ...] = ("tango", "newcombe", "exact")
IntervalMethod = Literal["tango", "newcombe", "exact"]
_METHOD_NAMES = {
    "tango": "Tango score",
    "newcombe": "Newcombe hybrid score (method 10)",
    "exact": "exact (Clopper-Pearson on the discordant images)",
}


def _check_confidence(confidence: float) -> None:
    if not (isinstance(confidence, int | float) and 0.0 < confidence < 1.0):
        raise ConfigError(f"confidence: {confidence!r} is out of range; allowed: (0, 1)")


def _check_alpha(alpha: float) -> None:
    if not (isinstance(alpha, int | float) and 0.0 < alpha < 0.5):
        raise ConfigError(f"alpha: {alpha!r} is out of range; allowed: (0, 0.5)")


def _check_power(power: float) -> None:
    if not (isinstance(power, int | float) and 0.0 < power < 1.0):
        raise ConfigError(f"power: {power!r} is out of range; allowed: (0, 1)")


@dataclass(frozen=True)
class PairedCounts:
    """The paired 2x2 table of a reference and another configuration on the same images.

    Attributes
    ----------
    both_right : int
        Images both classify correctly (``a``).
    lost : int
        Images the reference classifies correctly and the other configuration does not
        (``b``).
    gained : int
        Images the other configuration classifies correctly and the reference does not
        (``c``).
    both_wrong : int
        Images neither classifies correctly (``d``).
    """

    both_right: int
    lost: int
    gained: int
    both_wrong: int

    def __post_init__(self) -> None:
        cells = (self.both_right, self.lost, self.gained, self.both_wrong)
        if not all(isinstance(x, int | np.integer) and not isinstance(x, bool) and x >= 0 for x in cells):
            raise ConfigError(f"paired counts: expected four integers >= 0, got {cells}")
        if sum(cells) == 0:
            raise ConfigError("paired counts: expected at least one image, got 0")

    @classmethod
    def from_hits(cls, reference: np.ndarray, other: np.ndarray) -> PairedCounts:
        """The table of two per-image hit arrays.

        Parameters
        ----------
        reference, other : ndarray of bool, shape (N,)
            Per image: whether each configuration classified it correctly.
        """
        first, second = _paired(reference, other)
        return cls(
            both_right=int(np.sum(first & second)),
            lost=int(np.sum(first & ~second)),
            gained=int(np.sum(~first & second)),
            both_wrong=int(np.sum(~first & ~second)),
        )

    @property
    def images(self) -> int:
        """N, the number of images."""
        return int(self.both_right + self.lost + self.gained + self.both_wrong)

    @property
    def discordant(self) -> int:
        """``b + c``, the images whose outcome changed."""
        return int(self.lost + self.gained)

    @property
    def loss_pct(self) -> float:
        """Accuracy loss ``100 (b - c) / N`` in points (negative: the other configuration gains)."""
        return 100.0 * (self.lost - self.gained) / self.images

    @property
    def discordance(self) -> float:
        """Fraction of images whose outcome changed, ``(b + c) / N``."""
        return self.discordant / self.images


@dataclass(frozen=True)
class LossInterval:
    """A two-sided interval of the accuracy loss (points).

    Attributes
    ----------
    method : str
        ``"tango"``, ``"newcombe"`` or ``"exact"``.
    confidence : float
        Two-sided coverage, e.g. 0.95.
    loss_pct, low_pct, high_pct : float
        Point estimate and limits in percentage points.
    """

    method: str
    confidence: float
    loss_pct: float
    low_pct: float
    high_pct: float

    @property
    def name(self) -> str:
        """The method's name for reports, e.g. ``"Tango score"``."""
        return _METHOD_NAMES[self.method]


@dataclass(frozen=True)
class NonInferiority:
    """Score test of ``H0: loss >= margin`` against ``H1: loss < margin`` (Tango 1998).

    Attributes
    ----------
    margin_pct : float
        The accuracy-loss budget in points.
    alpha : float
        One-sided significance level.
    z : float
        Tango's score statistic at the margin (negative when the loss is below it).
    p_value : float
        One-sided p-value ``Phi(z)``.
    upper_pct : float
        One-sided ``1 - alpha`` upper bound of the loss in points (the upper end of
        Tango's two-sided ``1 - 2 alpha`` interval).
    """

    margin_pct: float
    alpha: float
    z: float
    p_value: float
    upper_pct: float

    @property
    def meets_budget(self) -> bool:
        """Whether the measurement shows the loss below the budget: ``p_value < alpha``."""
        return bool(self.p_value < self.alpha)


def _paired(reference: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    first = np.asarray(reference, dtype=bool).ravel()
    second = np.asarray(other, dtype=bool).ravel()
    if first.shape != second.shape or first.size == 0:
        raise ConfigError(
            f"paired outcomes: expected two equally long non-empty arrays, got {first.size} and {second.size}"
        )
    return first, second


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson (1927) score interval of a proportion.

    Parameters
    ----------
    successes, trials : int
        ``0 <= successes <= trials``, ``trials >= 1``.
    confidence : float
        Two-sided coverage in (0, 1).

    Returns
    -------
    (low, high) : tuple of float
        Fractions.
    """
    _check_confidence(confidence)
    z = float(norm.ppf(0.5 + confidence / 2.0))
    p = successes / trials
    denominator = trials + z * z
    centre = (successes + z * z / 2.0) / denominator
    half = z * math.sqrt(trials * p * (1.0 - p) + z * z / 4.0) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def clopper_pearson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Clopper and Pearson (1934) exact interval of a proportion (equal tails of ``(1 - confidence) / 2``).

    Returns
    -------
    (low, high) : tuple of float
        Fractions; ``low = 0`` when ``successes = 0`` and ``high = 1`` when ``successes = trials``.
    """
    _check_confidence(confidence)
    tail = (1.0 - confidence) / 2.0
    low = 0.0 if successes == 0 else float(beta.ppf(tail, successes, trials - successes + 1))
    high = 1.0 if successes == trials else float(beta.ppf(1.0 - tail, successes + 1, trials - successes))
    return low, high


def _restricted_p21(lost: float, gained: float, images: float, loss: float) -> float:
    """Maximum-likelihood ``pi_21`` under ``pi_12 - pi_21 = loss`` (Tango 1998, eq. 4): the root
    of ``2N p^2 + (-b - c + (2N - b + c) loss) p - c loss (1 - loss) = 0`` that is a probability."""
    a = 2.0 * images
    b = -lost - gained + (2.0 * images - lost + gained) * loss
    c = -gained * loss * (1.0 - loss)
    root = math.sqrt(max(b * b - 4.0 * a * c, 0.0))
    if b > 0.0:
        return -2.0 * c / (b + root) if b + root > 0.0 else 0.0
    return (root - b) / (2.0 * a)


def tango_statistic(counts: PairedCounts, loss: float) -> float:
    """Tango's (1998) score statistic for ``H0: loss = `loss```.

    ``Z = (b - c - N d) / sqrt(N (2 p~_21 + d (1 - d)))`` with ``p~_21`` the restricted
    maximum-likelihood estimate of the probability of a gained image. At ``d = 0`` it is
    McNemar's ``(b - c) / sqrt(b + c)``.

    Parameters
    ----------
    counts : PairedCounts
    loss : float
        Hypothesised loss ``d`` as a fraction in [-1, 1].

    Returns
    -------
    float
        Large and positive when the observed loss exceeds `loss`; ``+-inf`` when the
        variance vanishes with a non-zero numerator, 0 when both vanish.
    """
    if not -1.0 <= loss <= 1.0:
        raise ConfigError(f"loss: {loss!r} is out of range; allowed: [-1, 1]")
    b, c, n = float(counts.lost), float(counts.gained), float(counts.images)
    numerator = b - c - n * loss
    variance = n * (2.0 * _restricted_p21(b, c, n, loss) + loss * (1.0 - loss))
    if variance <= 0.0:
        return 0.0 if numerator == 0.0 else math.copysign(math.inf, numerator)
    return numerator / math.sqrt(variance)


def _tango_limits(counts: PairedCounts, z: float) -> tuple[float, float]:
    """Losses (fractions) where Tango's statistic crosses ``+z`` (low) and ``-z`` (high)."""
    estimate = (counts.lost - counts.gained) / counts.images
    edge = 1.0 - 1e-13

    def low_equation(d: float) -> float:
        return tango_statistic(counts, d) - z

    def high_equation(d: float) -> float:
        return tango_statistic(counts, d) + z

    low = -1.0 if low_equation(-edge) <= 0.0 else float(brentq(low_equation, -edge, estimate, xtol=1e-13))
    high = 1.0 if high_equation(edge) >= 0.0 else float(brentq(high_equation, estimate, edge, xtol=1e-13))
    return low, high


def _newcombe_limits(counts: PairedCounts, confidence: float) -> tuple[float, float]:
    """Newcombe (1998) method 10: Wilson limits of both accuracies combined with the phi correlation,
    continuity-corrected as in the paper (``ad - bc`` reduced by ``N/2`` when above it, 0 when between)."""
    a, b, c, d = counts.both_right, counts.lost, counts.gained, counts.both_wrong
    n = counts.images
    first, second = (a + b) / n, (a + c) / n
    low1, high1 = wilson_interval(a + b, n, confidence)
    low2, high2 = wilson_interval(a + c, n, confidence)
    cross = a * d - b * c
    corrected = cross - n / 2.0 if cross > n / 2.0 else (cross if cross < 0 else 0.0)
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    phi = corrected / math.sqrt(margins) if margins > 0 else 0.0
    below = math.sqrt(max((first - low1) ** 2 - 2 * phi * (first - low1) * (high2 - second) + (high2 - second) ** 2, 0))
    above = math.sqrt(max((high1 - first) ** 2 - 2 * phi * (high1 - first) * (second - low2) + (second - low2) ** 2, 0))
    estimate = first - second
    return max(-1.0, estimate - below), min(1.0, estimate + above)


def _exact_limits(counts: PairedCounts, confidence: float) -> tuple[float, float]:
    """``-U(c) <= loss <= U(b)`` with ``U`` the Clopper-Pearson upper limit at ``(1 - confidence) / 2``."""
    n = counts.images
    return -clopper_pearson_interval(counts.gained, n, confidence)[1], clopper_pearson_interval(
        counts.lost, n, confidence
    )[1]


def loss_interval(counts: PairedCounts, *, confidence: float = 0.95, method: IntervalMethod = "tango") -> LossInterval:
    """Two-sided interval of the accuracy loss ``(b - c) / N`` on paired images.

    Parameters
    ----------
    counts : PairedCounts
    confidence : float
        Two-sided coverage in (0, 1).
    method : {"tango", "newcombe", "exact"}
        See the module docstring.

    Returns
    -------
    LossInterval
        In percentage points.
    """
    _check_confidence(confidence)
    if method == "tango":
        low, high = _tango_limits(counts, float(norm.ppf(0.5 + confidence / 2.0)))
    elif method == "newcombe":
        low, high = _newcombe_limits(counts, confidence)
    elif method == "exact":
        low, high = _exact_limits(counts, confidence)
    else:
        raise ConfigError(f"method: {method!r} is not known; allowed: {', '.join(INTERVAL_METHODS)}")
    return LossInterval(
        method=method, confidence=confidence, loss_pct=counts.loss_pct, low_pct=100.0 * low, high_pct=100.0 * high
    )


def noninferiority_test(counts: PairedCounts, *, margin_pct: float, alpha: float = 0.025) -> NonInferiority:
    """Score test that the accuracy loss is below a budget (non-inferiority, Tango 1998).

    Parameters
    ----------
    counts : PairedCounts
    margin_pct : float
        Accuracy-loss budget in percentage points, in [0, 100].
    alpha : float
        One-sided significance level in (0, 0.5); 0.025 makes the decision the same as
        "the two-sided 95 % Tango interval lies below the budget".

    Returns
    -------
    NonInferiority
        ``p_value = Phi(Z(margin))``; ``meets_budget`` when ``p_value < alpha``.
    """
    if not (isinstance(margin_pct, int | float) and 0.0 <= margin_pct <= 100.0):
        raise ConfigError(f"margin_pct: {margin_pct!r} is out of range; allowed: [0, 100]")
    _check_alpha(alpha)
    z = tango_statistic(counts, margin_pct / 100.0)
    upper = _tango_limits(counts, float(norm.ppf(1.0 - alpha)))[1]
    return NonInferiority(
        margin_pct=float(margin_pct), alpha=float(alpha), z=z, p_value=float(norm.cdf(z)), upper_pct=100.0 * upper
    )


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


def mcnemar(reference: np.ndarray, other: np.ndarray) -> McNemarResult:
    """Exact two-sided McNemar test on paired hit/miss outcomes (McNemar 1947; the exact
    conditional form, Fay 2010, *R Journal* 2(1)).

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


def _check_design(loss_pct: float, discordance: float) -> tuple[float, float]:
    if not (isinstance(discordance, int | float) and 0.0 <= discordance <= 1.0):
        raise ConfigError(f"discordance: {discordance!r} is out of range; allowed: [0, 1]")
    loss = loss_pct / 100.0
    if abs(loss) > discordance:
        raise ConfigError(
            f"loss_pct: {loss_pct!r} points cannot exceed the discordance {100.0 * discordance:g} % in size"
        )
    return loss, float(discordance)


def images_to_detect_loss(loss_pct: float, discordance: float, *, alpha: float = 0.05, power: float = 0.8) -> int:
    """Images for a two-sided paired test of no difference to detect a loss (Connor 1987).

    Parameters
    ----------
    loss_pct : float
        The loss to detect, points (non-zero, at most the discordance in size).
    discordance : float
        Expected fraction of images whose outcome changes, ``pi_12 + pi_21`` in (0, 1].
    alpha : float
        Two-sided significance level.
    power : float
        Probability of detecting the loss.

    Returns
    -------
    int
        ``ceil((z_{1-a/2} sqrt(psi) + z_power sqrt(psi - x^2))^2 / x^2)``.
    """
    loss, psi = _check_design(loss_pct, discordance)
    if psi == 0.0:
        raise ConfigError("discordance: 0 leaves no image to detect a loss with; allowed: (0, 1]")
    if not (isinstance(alpha, int | float) and 0.0 < alpha < 1.0):
        raise ConfigError(f"alpha: {alpha!r} is out of range; allowed: (0, 1)")
    _check_power(power)
    if loss == 0.0:
        raise ConfigError("loss_pct: a loss of 0 points cannot be detected; allowed: non-zero")
    z_alpha, z_power = float(norm.ppf(1.0 - alpha / 2.0)), float(norm.ppf(power))
    return math.ceil((z_alpha * math.sqrt(psi) + z_power * math.sqrt(psi - loss * loss)) ** 2 / (loss * loss))


def images_for_noninferiority(
    margin_pct: float, loss_pct: float, discordance: float, *, alpha: float = 0.025, power: float = 0.8
) -> int:
    """Images for the score test to show the loss below `margin_pct` when it is `loss_pct` (Nam 1997).

    Parameters
    ----------
    margin_pct : float
        Accuracy-loss budget in points, in (0, 100).
    loss_pct : float
        True loss in points, below the margin and at most the discordance in size.
    discordance : float
        Expected fraction of images whose outcome changes, in (0, 1].
    alpha : float
        One-sided significance level of the test.
    power : float
        Probability that the test shows non-inferiority.

    Returns
    -------
    int
        ``ceil((z_{1-a} sqrt(w0) + z_power sqrt(psi - x^2))^2 / (m - x)^2)`` with
        ``w0 = 2 pi~_21 + m (1 - m)``, ``pi~_21`` the restricted estimate of
        :func:`tango_statistic` evaluated at the expected cell probabilities.
    """
    loss, psi = _check_design(loss_pct, discordance)
    _check_alpha(alpha)
    _check_power(power)
    margin = margin_pct / 100.0
    if not (0.0 < margin < 1.0 and loss < margin):
        raise ConfigError(f"margin_pct: {margin_pct!r} must be in (0, 100) and above the true loss {loss_pct!r} points")
    p12, p21 = (psi + loss) / 2.0, (psi - loss) / 2.0
    w0 = 2.0 * _restricted_p21(p12, p21, 1.0, margin) + margin * (1.0 - margin)
    w1 = psi - loss * loss
    z_alpha, z_power = float(norm.ppf(1.0 - alpha)), float(norm.ppf(power))
    return math.ceil((z_alpha * math.sqrt(w0) + z_power * math.sqrt(w1)) ** 2 / (margin - loss) ** 2)


def paired_resolution_statement(
    counts: PairedCounts, *, margin_pct: float, alpha: float = 0.025, power: float = 0.8
) -> str:
    """One sentence: the loss with its Tango interval, the non-inferiority test against
    `margin_pct`, and the images the test would need for a plan with no net loss that
    changes as many images as this one (:func:`images_for_noninferiority` at the measured
    discordance; with no image changed, ``z^2 (1 - m) / m``).
    """
    interval = loss_interval(counts, confidence=1.0 - 2.0 * alpha)
    test = noninferiority_test(counts, margin_pct=margin_pct, alpha=alpha)
    n = counts.images
    if counts.discordant:
        changed = f"{counts.discordant} of {n} images changed class ({counts.lost} lost, {counts.gained} gained)"
    else:
        exact = 100.0 * (1.0 - alpha ** (1.0 / n))
        changed = f"no image of {n} changed class (exact one-sided {100 * (1 - alpha):g} % bound {exact:.3g} points)"
    verdict = "below" if test.meets_budget else "not shown below"
    text = (
        f"{changed}: loss {counts.loss_pct:.3g} points, {100 * interval.confidence:g} % {interval.name} interval "
        f"[{interval.low_pct:.3g}, {interval.high_pct:.3g}]; {verdict} the {margin_pct:g}-point budget "
        f"(non-inferiority p = {test.p_value:.2g}, Tango score test, one-sided alpha {alpha:g})"
    )
    if margin_pct <= 0.0 or margin_pct >= 100.0:
        return text + "."
    needed = images_for_noninferiority(margin_pct, 0.0, counts.discordance, alpha=alpha, power=power)
    if not counts.discordant:
        return text + f"; a plan that changes no image is shown below the budget from {needed:,} images on."
    return (
        text + f"; a plan with no net loss that changes {100.0 * counts.discordance:.2g} % of the images needs about "
        f"{needed:,} images to be shown below the budget with {100 * power:g} % power (Nam 1997)."
    )


@dataclass(frozen=True)
class OverheadInterval:
    """Latency overhead with its bootstrap interval (percent of the base cycles).

    Attributes
    ----------
    overhead_pct, low_pct, high_pct : float
        ``100 sum(extra) / sum(base)`` and its percentile interval.
    confidence : float
    units : int
        Independent units resampled (images).
    """

    overhead_pct: float
    low_pct: float
    high_pct: float
    confidence: float
    units: int


def bootstrap_overhead_pct(
    extra_cycles: np.ndarray,
    base_cycles: np.ndarray,
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> OverheadInterval:
    """Percentile bootstrap interval of a latency overhead over independent units.

    Parameters
    ----------
    extra_cycles : ndarray of float, shape (N,)
        Recovery (stall, replay) cycles of each unit (image).
    base_cycles : ndarray of float, shape (N,)
        Cycles of each unit without recovery; their sum must be positive.
    confidence : float
        Two-sided coverage in (0, 1).
    resamples : int
        Bootstrap resamples of the N units (>= 100).
    seed : int
        Seed of the resampling (``numpy.random.SeedSequence``).

    Returns
    -------
    OverheadInterval
        ``100 sum(extra) / sum(base)`` and the ``(1 -+ confidence) / 2`` quantiles of the
        same ratio over resamples of the units with replacement.
    """
    extra = np.asarray(extra_cycles, dtype=np.float64).ravel()
    base = np.asarray(base_cycles, dtype=np.float64).ravel()
    if extra.shape != base.shape or extra.size == 0:
        raise ConfigError(
            f"overhead: expected two equally long non-empty cycle arrays, got {extra.size} and {base.size}"
        )
    if not (np.all(np.isfinite(extra)) and np.all(np.isfinite(base)) and (extra >= 0).all() and (base >= 0).all()):
        raise ConfigError("overhead: cycle counts must be finite and >= 0")
    if base.sum() <= 0:
        raise ConfigError("overhead: the base cycles sum to 0; allowed: a positive sum")
    _check_confidence(confidence)
    if not (isinstance(resamples, int) and resamples >= 100):
        raise ConfigError(f"resamples: {resamples!r} is out of range; allowed: an integer >= 100")
    n = extra.size
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(np.float64)
    resampled_base = weights @ base
    ratios = np.divide(weights @ extra, resampled_base, out=np.zeros(resamples), where=resampled_base > 0)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(ratios, [tail, 1.0 - tail])
    return OverheadInterval(
        overhead_pct=100.0 * float(extra.sum() / base.sum()),
        low_pct=100.0 * float(low),
        high_pct=100.0 * float(high),
        confidence=float(confidence),
        units=n,
    )


@dataclass(frozen=True)
class SavingBand:
    """Energy saving ``100 (1 - E_plan / E_reference)`` at the nominal constants and its range (percent)."""

    low_pct: float
    nominal_pct: float
    high_pct: float


def _corners(value: Any) -> tuple[float, float, float]:
    if hasattr(value, "nominal"):
        corners = (float(value.low), float(value.nominal), float(value.high))
    else:
        corners = tuple(float(x) for x in value)  # type: ignore[assignment]
    if (
        len(corners) != 3
        or not all(math.isfinite(x) and x >= 0 for x in corners)
        or not corners[0] <= corners[1] <= corners[2]
    ):
        raise ConfigError(f"energy band: expected 0 <= low <= nominal <= high, got {corners}")
    return corners


def saving_band_pct(plan: Mapping[str, Any], reference: Mapping[str, Any]) -> SavingBand:
    """Range of the energy saving of a plan over the energy model's bands.

    Parameters
    ----------
    plan, reference : mapping of str to band
        Energy per inference by component (same keys), each a
        :class:`pe_models.energy.Band` or a ``(low, nominal, high)`` triple, any one unit.

    Returns
    -------
    SavingBand
        The saving with every constant nominal, and its minimum and maximum when each
        component moves anywhere within its band, the same way (the same corner, linearly
        between corners) in the plan and the reference. The saving is a ratio of sums, so
        within each orthant of corners its extremes lie on vertices: all ``3^K``
        combinations of low, nominal and high over the K components whose bands are
        not points are evaluated.
    """
    if set(plan) != set(reference) or not plan:
        raise ConfigError(
            f"energy components: the plan has {sorted(plan)} and the reference {sorted(reference)}; "
            "expected the same non-empty set"
        )
    names = sorted(plan)
    table = np.array([[_corners(plan[name]), _corners(reference[name])] for name in names])  # (K, 2, 3)
    nominal = table[:, :, 1].sum(axis=0)
    if nominal[1] <= 0:
        raise ConfigError("energy components: the reference energy is 0; allowed: a positive total")
    varying = [k for k in range(len(names)) if np.ptp(table[k], axis=1).any()]
    fixed = table[[k for k in range(len(names)) if k not in varying], :, 1].sum(axis=0)
    choices = np.array(list(itertools.product(range(3), repeat=len(varying))), dtype=np.intp).reshape(-1, len(varying))
    totals = fixed + sum(
        (table[k][:, choices[:, j]].T for j, k in enumerate(varying)), start=np.zeros((len(choices), 2))
    )
    savings = 100.0 * (1.0 - totals[:, 0] / totals[:, 1])
    return SavingBand(
        low_pct=float(savings.min()),
        nominal_pct=float(100.0 * (1.0 - nominal[0] / nominal[1])),
        high_pct=float(savings.max()),
    )


def split_images(total: int, *, selection: int, test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint sets of image indices: one to select a plan on, one to report it on.

    Parameters
    ----------
    total : int
        Images available (indices ``0 .. total - 1``).
    selection, test : int
        Sizes of the two sets (>= 1 each, ``selection + test <= total``).
    seed : int
        Seed of the random permutation (``numpy.random.SeedSequence``), so neither set
        follows the order of the files (often by class).

    Returns
    -------
    (selection_indices, test_indices) : tuple of ndarray of int64
        Sorted, disjoint.
    """
    for name, value in (("selection_images", selection), ("test_images", test)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{name}: {value!r} is out of range; allowed: integers >= 1")
    if selection + test > total:
        raise ConfigError(
            f"selection_images, test_images: {selection} + {test} images asked for, {total} available; "
            f"allowed: at most {total} together"
        )
    order = np.random.default_rng(np.random.SeedSequence(seed)).permutation(total)
    return np.sort(order[:selection]).astype(np.int64), np.sort(order[selection : selection + test]).astype(np.int64)


@dataclass(frozen=True)
class BudgetVerdict:
    """Which budgets a measured plan met.

    Attributes
    ----------
    accuracy : bool
        The non-inferiority test showed the loss below the accuracy budget (or the plan is
        error-free by static timing: its loss is 0 by construction).
    latency : bool
        The upper end of the latency overhead's interval is within the latency budget.
    razor_flops : bool
        The plan's Razor flip-flops are within their budget (always, without one).
    """

    accuracy: bool
    latency: bool
    razor_flops: bool

    @property
    def failed(self) -> tuple[str, ...]:
        """Names of the budgets not met, in the order accuracy, latency, razor_flops."""
        return tuple(name for name in ("accuracy", "latency", "razor_flops") if not getattr(self, name))

    @property
    def meets(self) -> bool:
        """Every budget met."""
        return not self.failed


def check_budgets(
    *,
    accuracy: NonInferiority | None,
    overhead: OverheadInterval,
    max_latency_overhead_pct: float,
    razor_flops: int = 0,
    max_razor_flops: int | None = None,
) -> BudgetVerdict:
    """Compare a measurement with the budgets, percentage points with percentage points.

    Parameters
    ----------
    accuracy : NonInferiority or None
        The test against the accuracy budget; None when the plan is error-free by static
        timing (no MAC can be wrong: the loss is exactly 0, within any budget >= 0).
    overhead : OverheadInterval
        Measured latency overhead with its interval (percent).
    max_latency_overhead_pct : float
        Latency budget in percent.
    razor_flops, max_razor_flops : int, int or None
        Razor flip-flops of the plan and their budget (None: no budget).
    """
    return BudgetVerdict(
        accuracy=True if accuracy is None else accuracy.meets_budget,
        latency=bool(overhead.high_pct <= max_latency_overhead_pct),
        razor_flops=max_razor_flops is None or razor_flops <= max_razor_flops,
    )
