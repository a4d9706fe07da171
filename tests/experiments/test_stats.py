"""Paired statistics of accuracy differences, against hand calculations and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binomtest

from experiments.stats import bootstrap_difference_ci, images_to_resolve, mcnemar, resolution_pct, resolution_statement
from pe_models.errors import ConfigError


def _pairs(both: int, only_reference: int, only_other: int, neither: int) -> tuple[np.ndarray, np.ndarray]:
    reference = [True] * both + [True] * only_reference + [False] * only_other + [False] * neither
    other = [True] * both + [False] * only_reference + [True] * only_other + [False] * neither
    return np.array(reference), np.array(other)


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


def test_bootstrap_without_discordant_images_gives_the_rule_of_three():
    reference, other = _pairs(180, 0, 0, 20)
    assert bootstrap_difference_ci(reference, other) == (0.0, 3.0 / 200)


def test_bootstrap_interval_matches_the_normal_paired_interval():
    # 1000 images, b = 60, c = 20: difference 4 points; normal paired sd
    # sqrt(((b + c)/N - d^2) / N)
    reference, other = _pairs(850, 60, 20, 70)
    n, d = 1000, 0.04
    sd = math.sqrt((80 / n - d**2) / n)
    low, high = bootstrap_difference_ci(reference, other, resamples=4000, seed=3)
    assert low == pytest.approx(d - 1.96 * sd, abs=0.004)
    assert high == pytest.approx(d + 1.96 * sd, abs=0.004)


def test_resolution_of_1000_images_at_72_percent_is_about_2_8_points():
    assert resolution_pct(72.0, 1000) == pytest.approx(2.78, abs=0.01)
    # 1.96^2 * 0.72 * 0.28 / 0.0029^2 = 92,090 images to resolve 0.29 points
    assert images_to_resolve(72.0, 0.29) == pytest.approx(92090, rel=1e-3)
    assert "cannot be resolved" in resolution_statement(72.0, 1000, 0.29)
    assert "enough" in resolution_statement(72.0, 1000, 5.0)
    # Wilson at p = 1, N = 4: 1.96 sqrt(1.96^2 / 64) / (1 + 1.96^2 / 4) = 0.245
    assert resolution_pct(100.0, 4) == pytest.approx(24.5, abs=0.1)


def test_unequal_outcome_arrays_are_refused():
    with pytest.raises(
        ConfigError, match=r"^paired outcomes: expected two equally long non-empty arrays, got 3 and 2$"
    ):
        mcnemar(np.ones(3, bool), np.ones(2, bool))
