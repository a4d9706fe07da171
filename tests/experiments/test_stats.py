"""Paired statistics of accuracy differences, latency overhead and energy saving.

Expected values come from published worked examples (cited per test), hand calculation,
brute-force enumeration of the trinomial distribution of ``(b, c)``, a numerical maximum
of the likelihood, or the delta method; never from the functions under test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq, minimize_scalar
from scipy.special import gammaln
from scipy.stats import binomtest, norm

from experiments.stats import (
    OverheadInterval,
    PairedCounts,
    bootstrap_overhead_pct,
    check_budgets,
    images_for_noninferiority,
    images_to_detect_loss,
    loss_interval,
    mcnemar,
    noninferiority_test,
    paired_resolution_statement,
    saving_band_pct,
    split_images,
    tango_statistic,
)
from pe_models.errors import ConfigError


def _pairs(both: int, only_reference: int, only_other: int, neither: int) -> tuple[np.ndarray, np.ndarray]:
    reference = [True] * both + [True] * only_reference + [False] * only_other + [False] * neither
    other = [True] * both + [False] * only_reference + [True] * only_other + [False] * neither
    return np.array(reference), np.array(other)


def _trinomial(n: int, p12: float, p21: float, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """P(b lost, c gained) on n images (cells with b + c > n get 0)."""
    rest = n - b - c
    with np.errstate(divide="ignore", invalid="ignore"):
        log = gammaln(n + 1) - gammaln(b + 1) - gammaln(c + 1) - gammaln(rest + 1)
        log = log + np.where(b > 0, b * np.log(p12) if p12 > 0 else -np.inf, 0.0)
        log = log + np.where(c > 0, c * np.log(p21) if p21 > 0 else -np.inf, 0.0)
        log = log + np.where(rest > 0, rest * np.log1p(-(p12 + p21)) if p12 + p21 < 1 else -np.inf, 0.0)
    return np.where(rest >= 0, np.exp(log), 0.0)


# Published intervals, counts (both right, lost, gained, both wrong); losses as fractions.
# Values as tabulated in each paper (cross-checked against the test suite of the R
# package ratesci, tests/testthat/test3.R, and of contingencytables, test-ch8.R).
TANGO_EXAMPLES = [
    # Tango (1998) Stat Med 17:891, worked example: 44 pairs, b = 0, c = 1, 90 % interval
    ((43, 0, 1, 0), 0.90, (-0.096, 0.037), 3),
    # Agresti and Min (2005) Stat Med 24:729, Table: 86 pairs
    ((53, 16, 8, 9), 0.95, (-0.020, 0.207), 3),
    # Fagerland, Lydersen and Laake (2014) Stat Med 33:2850, Bentur et al. (2009) data
    ((1, 1, 7, 12), 0.95, (-0.517, -0.026), 3),
    # Chang et al. (2024) J Appl Stat 51:139, worked example
    ((7, 25, 2, 68), 0.95, (0.139, 0.321), 3),
]
NEWCOMBE_EXAMPLES = [
    # Newcombe (1998) Stat Med 17:2635, illustrative example (50 pairs), method 10
    ((20, 12, 2, 16), 0.95, (0.0562, 0.3292), 4),
    # Fagerland, Lydersen and Laake (2014), Bentur et al. (2009) data, Newcombe's method 10
    ((1, 1, 7, 12), 0.95, (-0.507, -0.026), 3),
    # Fagerland, Lydersen and Laake (2017) Statistical Analysis of Contingency Tables,
    # ch. 8, Cavo et al. (2012) data, Newcombe square-and-add
    ((59, 6, 16, 80), 0.95, (-0.1186, -0.0046), 4),
    # Chang et al. (2024), worked example, Newcombe's method 10
    ((7, 25, 2, 68), 0.95, (0.133, 0.318), 3),
]


@pytest.mark.parametrize(("cells", "confidence", "expected", "digits"), TANGO_EXAMPLES)
def test_tango_interval_equals_published_examples(cells, confidence, expected, digits):
    interval = loss_interval(PairedCounts(*cells), confidence=confidence, method="tango")
    assert (round(interval.low_pct / 100, digits), round(interval.high_pct / 100, digits)) == expected


@pytest.mark.parametrize(("cells", "confidence", "expected", "digits"), NEWCOMBE_EXAMPLES)
def test_newcombe_method_10_equals_published_examples(cells, confidence, expected, digits):
    interval = loss_interval(PairedCounts(*cells), confidence=confidence, method="newcombe")
    assert (round(interval.low_pct / 100, digits), round(interval.high_pct / 100, digits)) == expected


def _brute_statistic(b: int, c: int, n: int, d: float) -> float:
    """Tango's statistic with pi_21 maximising the likelihood numerically under pi_12 = pi_21 + d."""
    low, high = max(0.0, -d), (1.0 - d) / 2.0

    def negative_log_likelihood(p21: float) -> float:
        p12, rest = p21 + d, 1.0 - 2.0 * p21 - d
        total = 0.0
        for count, p in ((b, p12), (c, p21), (n - b - c, rest)):
            if count:
                total += count * math.log(max(p, 1e-300))
        return -total

    p21 = minimize_scalar(negative_log_likelihood, bounds=(low, high), method="bounded", options={"xatol": 1e-14}).x
    return (b - c - n * d) / math.sqrt(n * (2.0 * p21 + d * (1.0 - d)))


@pytest.mark.parametrize(("b", "c", "n"), [(0, 1, 300), (3, 0, 120), (7, 2, 50), (12, 30, 400), (1, 1, 1000)])
def test_tango_interval_equals_brute_force_inversion_of_the_likelihood(b, c, n):
    z = norm.ppf(0.975)
    estimate = (b - c) / n
    low = brentq(lambda d: _brute_statistic(b, c, n, d) - z, -0.999, estimate, xtol=1e-12)
    high = brentq(lambda d: _brute_statistic(b, c, n, d) + z, estimate, 0.999, xtol=1e-12)
    interval = loss_interval(PairedCounts(n - b - c, b, c, 0))
    assert interval.low_pct / 100 == pytest.approx(low, abs=1e-7)
    assert interval.high_pct / 100 == pytest.approx(high, abs=1e-7)


def test_tango_statistic_at_no_difference_is_mcnemars():
    # Restricted estimate at d = 0 is (b + c) / 2N: Z = (b - c) / sqrt(b + c) = (9 - 4) / sqrt(13)
    assert tango_statistic(PairedCounts(80, 9, 4, 7), 0.0) == pytest.approx(5 / math.sqrt(13), rel=1e-12)


def test_one_gained_image_of_300_spans_about_minus_1_9_to_0_9_points():
    # The example: a plan that gains 1 of 300 images; the percentile bootstrap gave
    # [-1, 0] points. Tango's interval: the brute-force inversion above, to 0.01 points.
    interval = loss_interval(PairedCounts(299, 0, 1, 0))
    assert (round(interval.low_pct, 2), round(interval.high_pct, 2)) == (-1.86, 0.94)


def test_no_discordant_image_gives_the_exact_rule_of_three_bound():
    # Clopper-Pearson with 0 of N: upper limit 1 - (alpha/2)^(1/N); at 90 % two-sided (5 % a side)
    # 1 - 0.05^(1/300) = 0.9936 %, close to 3/N = 1 %.
    interval = loss_interval(PairedCounts(300, 0, 0, 0), confidence=0.90, method="exact")
    assert interval.high_pct == pytest.approx(100 * (1 - 0.05 ** (1 / 300)), rel=1e-9)
    assert interval.low_pct == pytest.approx(-100 * (1 - 0.05 ** (1 / 300)), rel=1e-9)
    assert interval.high_pct == pytest.approx(100 * 3 / 300, abs=0.01)


def test_exact_interval_covers_the_loss_at_least_nominally_for_every_parameter():
    # Exhaustive: every (b, c) on 25 images, weighted by its trinomial probability.
    n = 25
    b, c = (grid.ravel() for grid in np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij"))
    inside = b + c <= n
    b, c = b[inside], c[inside]
    limits = np.array(
        [
            (lambda i: (i.low_pct / 100, i.high_pct / 100))(
                loss_interval(PairedCounts(n - x - y, x, y, 0), method="exact")
            )
            for x, y in zip(b.tolist(), c.tolist(), strict=True)
        ]
    )
    worst = 1.0
    for p12 in (0.0, 0.01, 0.05, 0.2, 0.45):
        for p21 in (0.0, 0.02, 0.1, 0.3):
            loss = p12 - p21
            covered = (limits[:, 0] <= loss + 1e-12) & (loss - 1e-12 <= limits[:, 1])
            worst = min(worst, float(_trinomial(n, p12, p21, b, c)[covered].sum()))
    assert worst >= 0.95


@pytest.mark.parametrize(("b", "c", "n", "margin_pct"), [(0, 0, 300, 1.0), (1, 0, 300, 2.0), (4, 9, 500, 0.5)])
def test_noninferiority_p_value_is_the_normal_tail_of_the_score_at_the_margin(b, c, n, margin_pct):
    counts = PairedCounts(n - b - c, b, c, 0)
    test = noninferiority_test(counts, margin_pct=margin_pct)
    assert test.z == pytest.approx(_brute_statistic(b, c, n, margin_pct / 100), abs=1e-7)
    assert test.p_value == pytest.approx(norm.cdf(test.z), rel=1e-12)


def test_no_changed_image_shows_non_inferiority_from_381_images_on():
    # b = c = 0: Z(m) = -sqrt(N m / (1 - m)) (restricted estimate 0); Z < -1.96 needs
    # N > 1.96^2 (1 - m) / m = 380.3 at m = 1 point.
    assert not noninferiority_test(PairedCounts(380, 0, 0, 0), margin_pct=1.0).meets_budget
    assert noninferiority_test(PairedCounts(381, 0, 0, 0), margin_pct=1.0).meets_budget
    assert images_for_noninferiority(1.0, 0.0, 0.0) == 381


def test_a_three_point_upper_bound_does_not_meet_a_one_point_budget():
    # 3 lost, 0 gained of 100 images: Tango's upper 95 % limit is above 3 points.
    test = noninferiority_test(PairedCounts(97, 3, 0, 0), margin_pct=1.0)
    assert test.upper_pct > 3.0
    assert not test.meets_budget


def test_noninferiority_decision_equals_the_interval_lying_below_the_margin():
    for b in range(0, 12):
        for c in range(0, 12, 3):
            counts = PairedCounts(400 - b - c, b, c, 0)
            test = noninferiority_test(counts, margin_pct=1.5, alpha=0.025)
            interval = loss_interval(counts, confidence=0.95)
            assert test.upper_pct == pytest.approx(interval.high_pct, abs=1e-9)
            assert test.meets_budget == (interval.high_pct < 1.5)


def test_noninferiority_with_a_zero_budget_needs_a_significant_gain():
    # H0: loss >= 0. At d = 0 the score test is McNemar's one-sided z = (b - c) / sqrt(b + c).
    assert not noninferiority_test(PairedCounts(300, 0, 0, 0), margin_pct=0.0).meets_budget
    gained = noninferiority_test(PairedCounts(280, 2, 18, 0), margin_pct=0.0)
    assert gained.p_value == pytest.approx(norm.cdf(-16 / math.sqrt(20)), rel=1e-12)
    assert gained.meets_budget


def _size_at_the_margin(n: int, margin: float, alpha: float, p21: float) -> float:
    """Probability that the score test rejects H0 when the loss equals the margin (exact)."""
    top = n
    b, c = (grid.ravel() for grid in np.meshgrid(np.arange(top + 1), np.arange(top + 1), indexing="ij"))
    inside = b + c <= n
    b, c = b[inside], c[inside]
    pmf = _trinomial(n, p21 + margin, p21, b, c)
    keep = pmf > 1e-15
    rejects = [
        norm.cdf(tango_statistic(PairedCounts(n - x - y, x, y, 0), margin)) < alpha
        for x, y in zip(b[keep].tolist(), c[keep].tolist(), strict=True)
    ]
    return float(pmf[keep][np.array(rejects)].sum())


@pytest.mark.parametrize("p21", [0.0, 0.002, 0.01, 0.05])
def test_noninferiority_size_at_the_margin_is_at_most_alpha(p21):
    # Exact enumeration of (b, c) on 300 images with the true loss at the 1-point budget.
    size = _size_at_the_margin(300, 0.01, 0.025, p21)
    assert size <= 0.025 + 0.002


@pytest.mark.slow
@pytest.mark.parametrize(
    ("images", "lost", "gained"),
    [(500, 0.04, 0.02), (300, 0.015, 0.005), (1000, 0.01, 0.005), (400, 0.01, 0.0)],
)
def test_noninferiority_type_one_error_by_simulation_is_within_a_band(images, lost, gained):
    # 200,000 simulated confirmations with the true loss exactly at the budget: the
    # rejection rate (type-I error) stays within [0.010, 0.031] at alpha = 0.025 (the
    # binomial standard error of the rate is 0.00035; the score test is conservative
    # when few images change class, exact enumeration above; with none gained the rate is
    # 0.99^400 = 0.018, the chance that no image is lost).
    rng = np.random.default_rng(np.random.SeedSequence([25, images]))
    tables = rng.multinomial(images, [lost, gained, 1.0 - lost - gained], size=200_000)
    margin_pct = 100.0 * (lost - gained)
    pairs, counts = np.unique(tables[:, :2], axis=0, return_counts=True)
    rejected = sum(
        int(count)
        for (b, c), count in zip(pairs.tolist(), counts.tolist(), strict=True)
        if noninferiority_test(PairedCounts(images - b - c, b, c, 0), margin_pct=margin_pct).meets_budget
    )
    assert 0.010 <= rejected / len(tables) <= 0.031


def test_connor_worked_example_needs_23_pairs():
    # pi_12 = 0.05, pi_21 = 0.45 (loss -40 points, discordance 0.5), two-sided 5 %, 80 % power:
    # ((1.95996 sqrt(0.5) + 0.84162 sqrt(0.5 - 0.16)) / 0.4)^2 = 22.4 -> 23
    assert images_to_detect_loss(-40.0, 0.5) == 23


def test_connor_sample_size_gives_the_stated_power_by_enumeration():
    # Loss 2 points at 10 % discordance; the two-sided McNemar z-test (b - c) / sqrt(b + c)
    # at the computed N rejects with probability about 0.8 (exact trinomial sum).
    n = images_to_detect_loss(2.0, 0.10)
    b, c = (grid.ravel() for grid in np.meshgrid(np.arange(400), np.arange(400), indexing="ij"))
    pmf = _trinomial(n, 0.06, 0.04, b, c)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(b + c > 0, (b - c) / np.sqrt(b + c), 0.0)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-9)
    assert float(pmf[np.abs(z) > norm.ppf(0.975)].sum()) == pytest.approx(0.8, abs=0.02)


@pytest.mark.parametrize(("margin_pct", "discordance"), [(1.0, 0.01), (5.0, 0.10)])
def test_nam_sample_size_gives_the_stated_power_by_enumeration(margin_pct, discordance):
    n = images_for_noninferiority(margin_pct, 0.0, discordance)
    half = discordance / 2
    top = int(n * half + 12 * math.sqrt(n * half)) + 5
    b, c = (grid.ravel() for grid in np.meshgrid(np.arange(top), np.arange(top), indexing="ij"))
    pmf = _trinomial(n, half, half, b, c)
    keep = pmf > 1e-13
    rejects = np.array(
        [
            tango_statistic(PairedCounts(n - x - y, x, y, 0), margin_pct / 100) < -norm.ppf(0.975)
            for x, y in zip(b[keep].tolist(), c[keep].tolist(), strict=True)
        ]
    )
    # The normal approximation is close, not exact: 0.829 at (1 point, 1 %), 0.813 at (5, 10 %).
    assert pmf[keep].sum() == pytest.approx(1.0, abs=1e-9)
    assert float(pmf[keep][rejects].sum()) == pytest.approx(0.8, abs=0.04)


def test_paired_design_needs_far_fewer_images_than_the_unpaired_formula():
    # Resolving the paper's 0.29 points: unpaired (72 % top-1) about 92,000 images; paired,
    # with 1 % of the images changing class, Connor's formula:
    # ((1.95996 sqrt(0.01) + 0.84162 sqrt(0.01 - 0.0029^2)) / 0.0029)^2 = 9,331
    unpaired = (1.959964 / 0.0029) ** 2 * 0.72 * 0.28
    assert unpaired == pytest.approx(92090, rel=1e-3)
    assert images_to_detect_loss(0.29, 0.01) == 9331


def test_resolution_statement_names_method_test_and_images_needed():
    text = paired_resolution_statement(PairedCounts(299, 0, 1, 0), margin_pct=1.0)
    assert text.startswith("1 of 300 images changed class (0 lost, 1 gained): loss -0.333 points, ")
    assert "95 % Tango score interval [-1.86, 0.935]" in text
    assert "below the 1-point budget (non-inferiority p = 0.022, Tango score test" in text
    assert text.endswith("needs about 679 images to be shown below the budget with 80 % power (Nam 1997).")
    unchanged = paired_resolution_statement(PairedCounts(300, 0, 0, 0), margin_pct=1.0)
    assert "no image of 300 changed class (exact one-sided 97.5 % bound 1.22 points)" in unchanged
    assert unchanged.endswith("a plan that changes no image is shown below the budget from 381 images on.")


def test_bootstrap_overhead_matches_the_delta_method_interval_of_a_ratio(rng):
    # Ratio estimator R = sum(x) / sum(y): se = sqrt(sum((x - R y)^2) / (n (n - 1))) / mean(y)
    n = 1500
    base = rng.gamma(5.0, 1000.0, size=n)
    extra = base * rng.exponential(0.05, size=n)
    ratio = extra.sum() / base.sum()
    se = math.sqrt(np.sum((extra - ratio * base) ** 2) / (n * (n - 1))) / base.mean()
    result = bootstrap_overhead_pct(extra, base, resamples=3000, seed=5)
    assert result.overhead_pct == pytest.approx(100 * ratio, rel=1e-12)
    assert result.low_pct == pytest.approx(100 * (ratio - 1.96 * se), abs=100 * 0.15 * se)
    assert result.high_pct == pytest.approx(100 * (ratio + 1.96 * se), abs=100 * 0.15 * se)


def test_bootstrap_overhead_collapses_when_every_image_has_the_same_overhead():
    base = np.array([100.0, 200.0, 400.0, 800.0])
    result = bootstrap_overhead_pct(0.25 * base, base, resamples=500)
    assert (result.low_pct, result.overhead_pct, result.high_pct) == pytest.approx((25.0, 25.0, 25.0), rel=1e-12)


def test_saving_band_with_equal_relative_bands_is_a_point():
    # Dynamic energy 5 (4..6) against 10 (8..12): the same constant scales both; saving 50 %.
    band = saving_band_pct({"dynamic": (4.0, 5.0, 6.0)}, {"dynamic": (8.0, 10.0, 12.0)})
    assert (band.low_pct, band.nominal_pct, band.high_pct) == pytest.approx((50.0, 50.0, 50.0), rel=1e-12)


def test_saving_band_by_hand_with_a_shared_leakage_component():
    # Dynamic 3 against 6 (exact), leakage L in [1, 4] (nominal 2) in both:
    # saving 1 - (3 + L) / (6 + L): L = 4 -> 30 %, L = 2 -> 37.5 %, L = 1 -> 42.86 %.
    band = saving_band_pct(
        {"dynamic": (3.0, 3.0, 3.0), "leakage": (1.0, 2.0, 4.0)},
        {"dynamic": (6.0, 6.0, 6.0), "leakage": (1.0, 2.0, 4.0)},
    )
    assert (band.low_pct, band.nominal_pct, band.high_pct) == pytest.approx((30.0, 37.5, 300 / 7), rel=1e-12)


def test_saving_band_contains_every_sampled_combination_of_component_values(rng):
    names = ["mac", "flops", "leakage", "razor"]
    plan = {n: tuple(sorted(rng.uniform(1, 10, 3))) for n in names}
    reference = {n: tuple(sorted(rng.uniform(5, 20, 3))) for n in names}
    band = saving_band_pct(plan, reference)
    t = rng.uniform(-1, 1, size=(20000, len(names)))

    def energy(table, column, k):
        low, nominal, high = table[names[k]]
        return np.where(column < 0, nominal + column * (nominal - low), nominal + column * (high - nominal))

    plan_total = sum(energy(plan, t[:, k], k) for k in range(len(names)))
    reference_total = sum(energy(reference, t[:, k], k) for k in range(len(names)))
    sampled = 100 * (1 - plan_total / reference_total)
    assert band.low_pct <= sampled.min() and sampled.max() <= band.high_pct
    assert sampled.min() - band.low_pct < 0.05 * (band.high_pct - band.low_pct)


def test_bad_statistics_input_is_refused_with_one_line():
    with pytest.raises(ConfigError, match=r"^paired counts: expected four integers >= 0, got \(1, -1, 0, 0\)$"):
        PairedCounts(1, -1, 0, 0)
    with pytest.raises(ConfigError, match=r"^margin_pct: -1 is out of range; allowed: \[0, 100\]$"):
        noninferiority_test(PairedCounts(10, 0, 0, 0), margin_pct=-1)
    with pytest.raises(ConfigError, match=r"^method: 'wald' is not known; allowed: tango, newcombe, exact$"):
        loss_interval(PairedCounts(10, 0, 0, 0), method="wald")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^overhead: expected two equally long non-empty cycle arrays, got 3 and 2$"):
        bootstrap_overhead_pct(np.ones(3), np.ones(2))
    with pytest.raises(ConfigError, match=r"^loss_pct: 20 points cannot exceed the discordance 10 % in size$"):
        images_to_detect_loss(20, 0.1)


def test_mcnemar_exact_p_by_hand():
    # b = 5, c = 0: p = 2 * (1/2)^5 = 0.0625
    result = mcnemar(*_pairs(90, 5, 0, 5))
    assert (result.b, result.c) == (5, 0)
    assert result.p_value == pytest.approx(0.0625, abs=1e-15)
    # b = 3, c = 1: P(X <= 1) = (1 + 4) / 16, p = 10 / 16
    assert mcnemar(*_pairs(10, 3, 1, 0)).p_value == pytest.approx(0.625, abs=1e-15)
    assert mcnemar(*_pairs(10, 0, 0, 3)).p_value == 1.0


@pytest.mark.parametrize(("b", "c"), [(7, 2), (20, 31), (1, 12), (40, 40)])
def test_mcnemar_equals_scipy_binomial_test(b, c):
    expected = binomtest(b, b + c, 0.5, alternative="two-sided").pvalue
    assert mcnemar(*_pairs(100, b, c, 10)).p_value == pytest.approx(expected, rel=1e-12)


def test_paired_counts_from_hit_arrays():
    counts = PairedCounts.from_hits(*_pairs(90, 5, 2, 3))
    assert (counts.both_right, counts.lost, counts.gained, counts.both_wrong) == (90, 5, 2, 3)
    assert counts.loss_pct == pytest.approx(3.0)


def test_unequal_outcome_arrays_are_refused():
    with pytest.raises(
        ConfigError, match=r"^paired outcomes: expected two equally long non-empty arrays, got 3 and 2$"
    ):
        mcnemar(np.ones(3, bool), np.ones(2, bool))


def test_split_gives_disjoint_sets_of_the_asked_sizes_not_in_file_order():
    selection, test = split_images(500, selection=100, test=400, seed=3)
    assert (len(selection), len(test)) == (100, 400)
    assert not set(selection.tolist()) & set(test.tolist())
    assert set(selection.tolist()) | set(test.tolist()) == set(range(500))
    assert selection.tolist() != list(range(100))


def test_split_asking_for_more_images_than_available_is_refused():
    with pytest.raises(
        ConfigError,
        match=r"^selection_images, test_images: 100 \+ 401 images asked for, 500 available; allowed: at most 500 "
        r"together$",
    ):
        split_images(500, selection=100, test=401, seed=0)


def test_budget_verdict_names_every_budget_missed():
    overhead = OverheadInterval(overhead_pct=4.0, low_pct=3.0, high_pct=5.5, confidence=0.95, units=20)
    shown = noninferiority_test(PairedCounts(400, 0, 0, 0), margin_pct=1.0)
    not_shown = noninferiority_test(PairedCounts(97, 3, 0, 0), margin_pct=1.0)
    assert check_budgets(accuracy=shown, overhead=overhead, max_latency_overhead_pct=6.0).meets
    verdict = check_budgets(
        accuracy=not_shown, overhead=overhead, max_latency_overhead_pct=5.0, razor_flops=10, max_razor_flops=8
    )
    assert verdict.failed == ("accuracy", "latency", "razor_flops")
    # An error-free plan (static timing) has a loss of exactly 0: within a budget of 0.
    error_free = OverheadInterval(overhead_pct=0.0, low_pct=0.0, high_pct=0.0, confidence=0.95, units=20)
    assert check_budgets(accuracy=None, overhead=error_free, max_latency_overhead_pct=0.0).meets
