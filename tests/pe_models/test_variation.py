import math

import numpy as np
import pytest

from pe_models.errors import ConfigError
from pe_models.variation import ProcessVariation


def mean_tolerance(sigma: float, n: int) -> float:
    return 5.0 * sigma / math.sqrt(n)


def std_tolerance(sigma: float, n: int) -> float:
    return 5.0 * sigma / math.sqrt(2.0 * (n - 1))


def test_zero_sigmas_give_exact_ones():
    variation = ProcessVariation()
    pe_factors = variation.pe_delay_factors(shape=(4, 5), seed=3)
    cell_factors = variation.cell_delay_factors(n_cells=7, pe_index=2, seed=3)
    assert pe_factors.shape == (4, 5)
    assert pe_factors.dtype == np.float64
    assert cell_factors.shape == (7,)
    assert cell_factors.dtype == np.float64
    assert (pe_factors == 1.0).all()
    assert (cell_factors == 1.0).all()


def test_same_seed_gives_same_factors():
    variation = ProcessVariation(sigma_die=0.05, sigma_pe=0.03, sigma_cell=0.02)
    np.testing.assert_array_equal(
        variation.pe_delay_factors(shape=(8, 8), seed=11),
        variation.pe_delay_factors(shape=(8, 8), seed=11),
    )
    np.testing.assert_array_equal(
        variation.cell_delay_factors(n_cells=40, pe_index=5, seed=11),
        variation.cell_delay_factors(n_cells=40, pe_index=5, seed=11),
    )


def test_integer_seed_and_its_seed_sequence_are_the_same_seed():
    variation = ProcessVariation(sigma_die=0.05, sigma_pe=0.03, sigma_cell=0.02)
    np.testing.assert_array_equal(
        variation.pe_delay_factors(shape=(3, 3), seed=42),
        variation.pe_delay_factors(shape=(3, 3), seed=np.random.SeedSequence(42)),
    )
    np.testing.assert_array_equal(
        variation.cell_delay_factors(n_cells=9, pe_index=4, seed=42),
        variation.cell_delay_factors(n_cells=9, pe_index=4, seed=np.random.SeedSequence(42)),
    )


def test_different_seeds_give_different_factors():
    variation = ProcessVariation(sigma_die=0.05, sigma_pe=0.03, sigma_cell=0.02)
    first = variation.pe_delay_factors(shape=(8, 8), seed=1)
    second = variation.pe_delay_factors(shape=(8, 8), seed=2)
    assert not np.array_equal(first, second)
    assert not np.array_equal(
        variation.cell_delay_factors(n_cells=16, pe_index=0, seed=1),
        variation.cell_delay_factors(n_cells=16, pe_index=0, seed=2),
    )


def test_spawned_children_of_one_seed_sequence_give_different_factors():
    variation = ProcessVariation(sigma_pe=0.05)
    first_child, second_child = np.random.SeedSequence(5).spawn(2)
    assert not np.array_equal(
        variation.pe_delay_factors(shape=(16,), seed=first_child),
        variation.pe_delay_factors(shape=(16,), seed=second_child),
    )


def test_per_pe_factors_have_mean_one_and_std_sigma_pe():
    sigma = 0.05
    shape = (500, 400)
    n = 500 * 400
    factors = ProcessVariation(sigma_pe=sigma).pe_delay_factors(shape=shape, seed=7)
    assert abs(factors.mean() - 1.0) <= mean_tolerance(sigma, n)
    assert abs(factors.std(ddof=1) - sigma) <= std_tolerance(sigma, n)


def test_die_factor_is_shared_by_all_pes_of_one_array():
    factors = ProcessVariation(sigma_die=0.05).pe_delay_factors(shape=(6, 7), seed=9)
    assert factors[0, 0] != 1.0
    assert (factors == factors[0, 0]).all()


def test_die_factors_over_many_dies_have_mean_one_and_std_sigma_die():
    sigma = 0.05
    n_dies = 4000
    variation = ProcessVariation(sigma_die=sigma)
    factors = np.array([variation.pe_delay_factors(shape=(1,), seed=seed)[0] for seed in range(n_dies)])
    assert abs(factors.mean() - 1.0) <= mean_tolerance(sigma, n_dies)
    assert abs(factors.std(ddof=1) - sigma) <= std_tolerance(sigma, n_dies)


def test_die_and_pe_variation_multiply():
    sigma_die = 0.06
    sigma_pe = 0.08
    n_dies = 4000
    # Var[(1 + d)(1 + p)] = (1 + s_d^2)(1 + s_p^2) - 1 for independent zero-mean d, p.
    expected_std = math.sqrt((1 + sigma_die**2) * (1 + sigma_pe**2) - 1)
    variation = ProcessVariation(sigma_die=sigma_die, sigma_pe=sigma_pe)
    factors = np.array([variation.pe_delay_factors(shape=(1,), seed=seed)[0] for seed in range(n_dies)])
    assert abs(factors.mean() - 1.0) <= mean_tolerance(expected_std, n_dies)
    assert abs(factors.std(ddof=1) - expected_std) <= std_tolerance(expected_std, n_dies)


def test_cell_factors_have_mean_one_and_std_sigma_cell():
    sigma = 0.04
    n_cells = 200_000
    factors = ProcessVariation(sigma_cell=sigma).cell_delay_factors(n_cells=n_cells, pe_index=123, seed=8)
    assert abs(factors.mean() - 1.0) <= mean_tolerance(sigma, n_cells)
    assert abs(factors.std(ddof=1) - sigma) <= std_tolerance(sigma, n_cells)


def test_cell_factors_do_not_depend_on_the_order_pes_are_asked_for():
    variation = ProcessVariation(sigma_cell=0.03)
    forward = {p: variation.cell_delay_factors(n_cells=10, pe_index=p, seed=4) for p in range(6)}
    backward = {p: variation.cell_delay_factors(n_cells=10, pe_index=p, seed=4) for p in reversed(range(6))}
    for p in range(6):
        np.testing.assert_array_equal(forward[p], backward[p])


def test_cell_factors_differ_between_pes():
    variation = ProcessVariation(sigma_cell=0.03)
    assert not np.array_equal(
        variation.cell_delay_factors(n_cells=10, pe_index=0, seed=4),
        variation.cell_delay_factors(n_cells=10, pe_index=1, seed=4),
    )


def test_die_pe_and_cell_streams_are_distinct():
    sigma = 0.1
    seed = 21
    die_deviate = ProcessVariation(sigma_die=sigma).pe_delay_factors(shape=(1,), seed=seed) - 1
    pe_deviate = ProcessVariation(sigma_pe=sigma).pe_delay_factors(shape=(1,), seed=seed) - 1
    cell_deviate = ProcessVariation(sigma_cell=sigma).cell_delay_factors(n_cells=1, pe_index=0, seed=seed) - 1
    assert len({float(die_deviate[0]), float(pe_deviate[0]), float(cell_deviate[0])}) == 3


def test_same_seed_reuses_the_same_deviates_for_another_sigma():
    small = ProcessVariation(sigma_pe=0.02).pe_delay_factors(shape=(50,), seed=6)
    large = ProcessVariation(sigma_pe=0.04).pe_delay_factors(shape=(50,), seed=6)
    np.testing.assert_allclose(large - 1.0, 2.0 * (small - 1.0), rtol=1e-12, atol=1e-15)


def test_factors_are_clipped_at_min_factor_with_the_gaussian_tail_fraction():
    sigma = 0.3
    n = 200_000
    factors = ProcessVariation(sigma_pe=sigma, min_factor=0.5).pe_delay_factors(shape=(n,), seed=12)
    # P(1 + sigma Z < 0.5) = P(Z < -0.5 / 0.3) = erfc((5/3) / sqrt 2) / 2 = 0.04779
    tail = 0.5 * math.erfc((0.5 / sigma) / math.sqrt(2.0))
    clipped = np.mean(factors == 0.5)
    assert factors.min() == 0.5
    assert abs(clipped - tail) <= 5.0 * math.sqrt(tail * (1 - tail) / n)


def test_cell_factors_are_clipped_at_min_factor():
    factors = ProcessVariation(sigma_cell=0.3, min_factor=0.9).cell_delay_factors(n_cells=10_000, pe_index=0, seed=1)
    assert factors.min() == 0.9


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"sigma_pe": 0.5}, r"^sigma_pe: 0\.5 is out of range; allowed: 0 <= sigma_pe <= 0\.3$"),
        (
            {"sigma_die": -0.01},
            r"^sigma_die: -0\.01 is out of range; allowed: 0 <= sigma_die <= 0\.3$",
        ),
        (
            {"sigma_cell": math.nan},
            r"^sigma_cell: nan is not a finite number; allowed: 0 <= sigma_cell <= 0\.3$",
        ),
        (
            {"sigma_pe": "0.1"},
            r"^sigma_pe: '0\.1' is not a finite number; allowed: 0 <= sigma_pe <= 0\.3$",
        ),
        ({"min_factor": 0.0}, r"^min_factor: 0\.0 is out of range; allowed: 0 < min_factor <= 1$"),
        ({"min_factor": 1.5}, r"^min_factor: 1\.5 is out of range; allowed: 0 < min_factor <= 1$"),
    ],
)
def test_variation_fields_are_validated(fields, message):
    with pytest.raises(ConfigError, match=message):
        ProcessVariation(**fields)


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((0, 4), r"^shape: \(0, 4\) is invalid; allowed: a non-empty tuple of positive integers$"),
        ((), r"^shape: \(\) is invalid; allowed: a non-empty tuple of positive integers$"),
        ([4, 4], r"^shape: \[4, 4\] is invalid; allowed: a non-empty tuple of positive integers$"),
        ((2.0,), r"^shape: \(2\.0,\) is invalid; allowed: a non-empty tuple of positive integers$"),
    ],
)
def test_pe_delay_factors_rejects_bad_shape(shape, message):
    with pytest.raises(ConfigError, match=message):
        ProcessVariation(sigma_pe=0.1).pe_delay_factors(shape=shape, seed=0)


@pytest.mark.parametrize(("seed", "shown"), [(-1, r"-1"), (1.5, r"1\.5"), (True, r"True"), ("7", r"'7'")])
def test_bad_seed_is_rejected(seed, shown):
    message = (
        rf"^seed: {shown} is invalid; "
        r"allowed: a non-negative integer or a numpy\.random\.SeedSequence$"
    )
    with pytest.raises(ConfigError, match=message):
        ProcessVariation(sigma_pe=0.1).pe_delay_factors(shape=(2,), seed=seed)
    with pytest.raises(ConfigError, match=message):
        ProcessVariation(sigma_cell=0.1).cell_delay_factors(n_cells=2, pe_index=0, seed=seed)


def test_bad_cell_count_is_rejected():
    with pytest.raises(ConfigError, match=r"^n_cells: 0 is invalid; allowed: a positive integer$"):
        ProcessVariation().cell_delay_factors(n_cells=0, pe_index=0, seed=0)


def test_bad_pe_index_is_rejected():
    with pytest.raises(
        ConfigError,
        match=r"^pe_index: -1 is invalid; allowed: a non-negative integer \(flat PE index\)$",
    ):
        ProcessVariation().cell_delay_factors(n_cells=3, pe_index=-1, seed=0)
