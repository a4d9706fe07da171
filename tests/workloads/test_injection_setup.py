"""The flip-flop setup time of the injection backends: where the main sample falls, and what it changes."""

import numpy as np
import pytest

from pe_models.pe import PEConfig
from workloads.backends import make_injection_backend

PERIOD_FS = 1_428_571
"""700 MHz: 10^6 / 700 ps = 1428.571... ps, rounded to fs."""

GENERIC_28NM = PEConfig(technology="generic-28nm")
SCALE_0_5_V = 2.944
"""generic-28nm delay scale at 0.5 V (EKV column of the table in docs/technology.md)."""


@pytest.fixture
def gemm(rng):
    activations = np.clip(np.abs(rng.normal(0, 40, (300, 72))), 0, 127).astype(np.int8)
    weights = np.clip(rng.normal(0, 25, (72, 24)), -128, 127).astype(np.int8)
    return activations, weights


def _backend(injection, t_setup_ps=None, vdd_v=0.5, **options):
    if t_setup_ps is not None:
        options["t_setup_ps"] = t_setup_ps
    return make_injection_backend(
        injection, vdd_v=vdd_v, protect_mask=0, seed=np.random.SeedSequence(3), pe=GENERIC_28NM, **options
    )


@pytest.mark.parametrize("injection", ["statistical", "bitlevel"])
def test_the_main_sample_is_the_period_less_the_given_setup_time(injection):
    """T_clk - t_setup, the setup time taken as given (not scaled with the delays)."""
    assert _backend(injection, t_setup_ps=300.0).timing.t_sample_fs == PERIOD_FS - 300_000
    assert _backend(injection, t_setup_ps=0.0).timing.t_sample_fs == PERIOD_FS


@pytest.mark.parametrize("injection", ["statistical", "bitlevel"])
def test_default_setup_is_the_library_25_ps_scaled_with_the_delays(injection):
    assert _backend(injection).timing.t_sample_fs == pytest.approx(PERIOD_FS - 25_000 * SCALE_0_5_V, abs=500)


@pytest.mark.parametrize("injection", ["statistical", "bitlevel"])
def test_a_longer_setup_samples_earlier_and_latches_at_least_as_many_wrong_bits(gemm, injection):
    """0.5 V: errors occur with the default setup; 400 ps more moves the sample 400 ps earlier."""
    default = _backend(injection)
    default.matmul(*gemm, layer="l")
    later = _backend(injection, t_setup_ps=25 * SCALE_0_5_V + 400)
    later.matmul(*gemm, layer="l")
    assert default.stats["l"].sum() > 0
    assert later.stats["l"].sum() >= default.stats["l"].sum()
    assert later.stats["l"].sum() > default.stats["l"].sum()


@pytest.mark.parametrize("injection", ["statistical", "bitlevel"])
def test_the_default_setup_given_explicitly_changes_nothing(gemm, injection):
    default = _backend(injection)
    setup_ps = (PERIOD_FS - default.timing.t_sample_fs) / 1000
    given = _backend(injection, t_setup_ps=setup_ps)
    assert given.timing == default.timing
    assert np.array_equal(given.matmul(*gemm, layer="l"), default.matmul(*gemm, layer="l"))
    assert np.array_equal(given.stats["l"], default.stats["l"])
