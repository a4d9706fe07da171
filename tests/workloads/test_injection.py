"""Timing-error backends: statistical and bitlevel against exact references."""

import numpy as np
import pytest

from pe_models.pe import PEConfig
from workloads.backends import ExactBackend, make_injection_backend
from workloads.injection import layer_operand_sample

GENERIC_28NM = PEConfig(technology="generic-28nm")
"""The tests below quote generic-28nm delay scales (x2.94 at 0.5 V, x1.855 at 0.6 V)."""


@pytest.fixture
def gemm(rng):
    activations = np.clip(np.abs(rng.normal(0, 40, (300, 72))), 0, 127).astype(np.int8)
    weights = np.clip(rng.normal(0, 25, (72, 24)), -128, 127).astype(np.int8)
    return activations, weights


@pytest.mark.parametrize("injection", ["statistical", "bitlevel"])
def test_nominal_vdd_gives_the_exact_gemm(gemm, injection):
    backend = make_injection_backend(injection, vdd_v=0.9, protect_mask=0, seed=np.random.SeedSequence(1))
    result = backend.matmul(*gemm, layer="l")
    assert np.array_equal(result, ExactBackend().matmul(*gemm, layer="l"))
    assert not backend.stats["l"].any()


@pytest.mark.parametrize("injection", ["statistical", "bitlevel"])
def test_low_vdd_corrupts_outputs_and_counts_errors(gemm, injection):
    backend = make_injection_backend(injection, vdd_v=0.5, protect_mask=0, seed=np.random.SeedSequence(1))
    result = backend.matmul(*gemm, layer="l")
    assert np.any(result != ExactBackend().matmul(*gemm, layer="l"))
    assert backend.stats["l"][24:].sum() > 0


@pytest.mark.parametrize(("injection", "vdd"), [("statistical", 0.5), ("bitlevel", 0.7)])
def test_protecting_every_bit_restores_the_exact_gemm_at_0_5_v(gemm, injection, vdd):
    """At 0.5 V / 700 MHz the compound multiplier (389 ps x 2.94 = 1144 ps) meets the clock, so
    only accumulator bits fail, and all of them are protected. The bit-level backend builds the
    Razor with the default (largest) window's hold buffers, 53 a bit, which at 0.5 V make every
    error late at the shadow latch too; at 0.7 V they make MACs late and the shadow catches them."""
    backend = make_injection_backend(
        injection, vdd_v=vdd, protect_mask=(1 << 32) - 1, seed=np.random.SeedSequence(1), pe=GENERIC_28NM
    )
    result = backend.matmul(*gemm, layer="l")
    assert np.array_equal(result, ExactBackend().matmul(*gemm, layer="l"))
    assert sum(backend.detections.values()) > 0


def test_statistical_is_reproducible_from_its_seed(gemm):
    outputs = []
    for _ in range(2):
        backend = make_injection_backend("statistical", vdd_v=0.52, protect_mask=0, seed=np.random.SeedSequence(5))
        outputs.append(backend.matmul(*gemm, layer="l"))
    assert np.array_equal(*outputs)


def test_bitlevel_counts_correction_cycles_for_detections(gemm):
    """A 150 ps window (the default, largest one leaves every error at 0.5 V late at the shadow too)."""
    backend = make_injection_backend(
        "bitlevel",
        vdd_v=0.5,
        protect_mask=0xFF000000,
        seed=np.random.SeedSequence(1),
        penalty_cycles=2,
        razor_window_ps=150.0,
    )
    backend.matmul(*gemm, layer="l")
    assert backend.correction_cycles > 0
    assert backend.correction_cycles % 2 == 0
    assert backend.cycles == backend.compute_cycles + backend.correction_cycles


def test_layer_sample_partial_sums_restart_at_each_fold():
    """K = 6 on 4 rows: step k = 5 sits in the second fold (rows 4, 5), so its partial sum is
    a[4] * w[4] only; with all-ones operands that is 1 (hand count), and at most 3 in fold one."""
    activations = np.ones((1, 6), dtype=np.int8)
    weights = np.ones((6, 1), dtype=np.int8)
    sample = layer_operand_sample(activations, weights, rows=4, size=2000, seed=np.random.SeedSequence(3))
    assert set(np.unique(sample.c)) == {0, 1, 2, 3}


def test_bitlevel_shortcut_when_static_timing_is_met_equals_the_simulated_array(gemm):
    """At 0.6 V the longest static paths (compound adder 650 ps, multiplier 389 ps, x1.855) fit
    the 1428.6 - 46 ps sampling instant: the shortcut must give what the engine computes."""
    from sim.engine import simulate_gemm

    backend = make_injection_backend(
        "bitlevel", vdd_v=0.6, protect_mask=0, seed=np.random.SeedSequence(1), pe=GENERIC_28NM
    )
    assert backend.error_free
    result = backend.matmul(*gemm, layer="l")
    simulated = simulate_gemm(*gemm, array=backend.array, pe=backend.pe, timing=backend.timing)
    assert np.array_equal(result, simulated.outputs)
    assert backend.cycles == simulated.cycles
