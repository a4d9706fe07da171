"""The fast engine's counting-only path (no protected bit, no event record) against the detailed engine."""

import numpy as np
import pytest

from pe_models.pe import OperatingPoint, PEConfig, stage_timing
from pe_models.variation import ProcessVariation
from sim.config import ArrayConfig
from sim.engine import simulate_gemm

COUNTS = ("erroneous_macs", "unprotected_errors", "silent_protected_errors", "detections", "cycles")


@pytest.mark.parametrize("dataflow", ["ws", "is"])
@pytest.mark.parametrize(("vdd", "sigma"), [(0.5, 0.0), (0.55, 0.0), (0.52, 0.06)])
def test_counting_path_equals_the_detailed_engine(rng, dataflow, vdd, sigma):
    pe = PEConfig(cells="compound", technology="generic-28nm")
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd, f_clk_mhz=700.0))
    array = ArrayConfig(rows=8, cols=6, dataflow=dataflow)
    a = np.clip(np.rint(np.abs(rng.normal(0, 50, (40, 19)))), 0, 127).astype(np.int8)
    b = rng.integers(-128, 128, (19, 9)).astype(np.int8)
    variation = ProcessVariation(sigma_pe=sigma) if sigma else None
    options = dict(array=array, pe=pe, timing=timing, variation=variation, seed=3)
    counted = simulate_gemm(a, b, engine="fast", **options)
    recorded = simulate_gemm(a, b, engine="fast", record_events=True, **options)
    detailed = simulate_gemm(a, b, engine="detailed", **options)
    assert counted.erroneous_macs > 0
    for reference in (recorded, detailed):
        assert np.array_equal(counted.outputs, reference.outputs)
        assert np.array_equal(counted.flip_counts, reference.flip_counts)
        assert np.array_equal(counted.residual_flip_counts, reference.residual_flip_counts)
        for name in COUNTS:
            assert getattr(counted, name) == getattr(reference, name), name
    assert np.array_equal(counted.flip_counts, counted.residual_flip_counts)
    assert counted.unprotected_errors == counted.erroneous_macs
