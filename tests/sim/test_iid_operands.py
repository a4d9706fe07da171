"""Consecutive MAC operands of independently drawn GEMM operands, without the matrices,
against hand-calculated moments (and the same moments of the matrix-based sampler)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.config import ArrayConfig
from sim.energy import consecutive_operands, iid_consecutive_operands
from sim.layers import GemmProblem

M, K, N, ROWS = 40, 20, 30, 8
SAMPLES = 200_000


def _activations(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(-5, 6, shape).astype(np.int8)  # variance (11^2 - 1) / 12 = 10


def _weights(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(-3, 4, shape).astype(np.int8)  # variance (7^2 - 1) / 12 = 4


# E[c^2] = E[terms] * 10 * 4 for zero-mean independent operands. ws and is sum k mod 8 terms,
# k uniform in 0..19: (28 + 28 + 6) / 20 = 3.1; os sums k terms, k uniform in 0..19 raised to
# at least 1: (1 + 190) / 20 = 9.55. E[c_old c_new]: 0 when the previous MAC has another row
# (ws) or column (is); os drops one term from the same sum, so E[c_new^2] - 40.
MOMENTS = {"ws": (124.0, 0.0), "is": (124.0, 0.0), "os": (382.0, 342.0)}


def _moments(old: dict[str, np.ndarray], new: dict[str, np.ndarray]) -> tuple[float, float]:
    return float(np.mean(new["c"] ** 2)), float(np.mean(old["c"] * new["c"]))


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_partial_sums_have_the_hand_calculated_moments(dataflow):
    array = ArrayConfig(rows=ROWS, cols=8, dataflow=dataflow)
    old, new = iid_consecutive_operands(
        GemmProblem(m=M, n=N, k=K),
        array,
        draw_activations=_activations,
        draw_weights=_weights,
        samples=SAMPLES,
        seed=1,
    )
    square, product = _moments(old, new)
    expected_square, expected_product = MOMENTS[dataflow]
    assert square == pytest.approx(expected_square, rel=0.03)
    assert product == pytest.approx(expected_product, abs=0.03 * expected_square)
    assert float(np.mean(new["a"].astype(float) ** 2)) == pytest.approx(10.0, rel=0.03)
    assert float(np.mean(new["b"].astype(float) ** 2)) == pytest.approx(4.0, rel=0.03)


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_the_matrix_sampler_has_the_same_moments(dataflow):
    rng = np.random.default_rng(np.random.SeedSequence(2))
    array = ArrayConfig(rows=ROWS, cols=8, dataflow=dataflow)
    old, new = consecutive_operands(
        _activations(rng, (4, 400, K)), _weights(rng, (4, K, 300)), array, samples=SAMPLES, seed=3
    )
    square, product = _moments(old, new)
    expected_square, expected_product = MOMENTS[dataflow]
    assert square == pytest.approx(expected_square, rel=0.03)
    assert product == pytest.approx(expected_product, abs=0.03 * expected_square)


@pytest.mark.parametrize(("dataflow", "shared"), [("ws", "b"), ("is", "a")])
def test_the_stationary_operand_is_shared_by_consecutive_macs(dataflow, shared):
    old, new = iid_consecutive_operands(
        GemmProblem(m=M, n=N, k=K),
        ArrayConfig(rows=ROWS, cols=8, dataflow=dataflow),
        draw_activations=_activations,
        draw_weights=_weights,
        samples=1000,
    )
    assert np.array_equal(old[shared], new[shared])
    other = "a" if shared == "b" else "b"
    assert not np.array_equal(old[other], new[other])


def test_a_pe_that_sees_one_mac_switches_from_zero():
    old, new = iid_consecutive_operands(
        GemmProblem(m=1, n=N, k=K),
        ArrayConfig(rows=ROWS, cols=8, dataflow="ws"),
        draw_activations=_activations,
        draw_weights=_weights,
        samples=1000,
    )
    assert all(not old[key].any() for key in "abc")
    assert new["a"].any()
