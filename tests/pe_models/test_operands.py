"""The one DNN operand model (pe_models.operands) against its closed-form statistics."""

from __future__ import annotations

import math

import numpy as np

from pe_models.operands import ACTIVATION_SIGMA, WEIGHT_SIGMA, dnn_activations, dnn_weights
from sim.layers import GemmLayer
from sim.network import layer_operands

N = 200_000


def test_activations_are_half_zeros_and_a_rounded_half_normal():
    values = dnn_activations(np.random.default_rng(1), N).astype(np.float64)
    assert values.min() >= 0 and values.max() <= 127
    zeros = np.mean(values == 0)
    # P(0) = 1/2 (dropped) + 1/2 P(|N(0, 40)| < 0.5) = 0.5 + 0.5 * erf(0.5 / (40 sqrt 2)) = 0.50399
    expected_zeros = 0.5 + 0.5 * math.erf(0.5 / (ACTIVATION_SIGMA * math.sqrt(2)))
    assert abs(zeros - expected_zeros) < 4 * math.sqrt(0.25 / N)
    # E|N(0, s)| = s sqrt(2 / pi) = 31.92 for s = 40; clipping at 127 removes 0.15 % of the mass
    kept = values[values > 0]
    assert abs(kept.mean() - ACTIVATION_SIGMA * math.sqrt(2 / math.pi)) < 0.5


def test_weights_are_a_rounded_normal_of_sigma_25():
    values = dnn_weights(np.random.default_rng(2), N).astype(np.float64)
    assert values.min() >= -128 and values.max() <= 127
    assert abs(values.mean()) < 4 * WEIGHT_SIGMA / math.sqrt(N)
    # rounding adds 1/12 to the variance: sqrt(625 + 1/12) = 25.0017
    assert abs(values.std() - math.sqrt(WEIGHT_SIGMA**2 + 1 / 12)) < 0.2


def test_the_array_simulator_draws_its_layer_operands_from_the_same_model():
    activations, weights = layer_operands(GemmLayer(name="g", m=400, n=300, k=500), np.random.SeedSequence(3))
    assert activations.dtype == weights.dtype == np.int8
    assert activations.shape == (1, 400, 500) and weights.shape == (1, 500, 300)
    assert abs(np.mean(activations == 0) - 0.504) < 0.01
    assert abs(weights.astype(np.float64).std() - 25.0) < 0.3
