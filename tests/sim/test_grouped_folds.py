"""The fast engine runs every fold of a grouped ws or is GEMM in one kernel call
(:meth:`sim.grid_fast.FastGrid.run_stationary_groups`); the detailed engine, one Python PE object
per array position stepped cycle by cycle, runs them fold by fold. Both must give the same bits,
counters and cycles, with and without protection, at supply voltages with timing errors."""

from __future__ import annotations

import numpy as np
import pytest

from pe_models.pe import OperatingPoint, PEConfig, stage_timing
from pe_models.variation import ProcessVariation
from sim.config import ArrayConfig
from sim.engine import simulate_grouped_gemm
from sim.protection import Protection

TECHNOLOGY = "generic-28nm"
"""The operating points (0.5-0.55 V at 700 MHz) are chosen for its delays (as tests/sim/test_engines.py)."""

CASES = [
    pytest.param("compound", 0.5, None, None, id="compound-0.5V-unprotected"),
    pytest.param("compound", 0.5, None, ProcessVariation(sigma_pe=0.1), id="compound-0.5V-variation"),
    pytest.param(
        "compound",
        0.5,
        Protection.from_spec("31:12", recovery="global", penalty_cycles=3, razor_window_ps=60.0),
        None,
        id="compound-0.5V-global",
    ),
    pytest.param(
        "compound",
        0.5,
        Protection.from_spec("31:10", recovery="column", penalty_cycles=2, razor_window_ps=100.0),
        None,
        id="compound-0.5V-column",
    ),
    pytest.param(
        "compound",
        0.5,
        Protection.from_spec("31:12", recovery="local", penalty_cycles=2, razor_window_ps=60.0),
        None,
        id="compound-0.5V-local",
    ),
    pytest.param(
        "compound",
        0.5,
        Protection.from_spec("31:8", recovery="drop", razor_window_ps=100.0),
        None,
        id="compound-0.5V-drop",
    ),
    pytest.param(
        "compound",
        0.5,
        Protection(protected_mask=0xFFFFFF00, product_mask=0xFF00, razor_window_ps=100.0, penalty_cycles=1),
        None,
        id="compound-0.5V-product",
    ),
    pytest.param(
        "2in",
        0.55,
        Protection.from_spec("31:4", recovery="local", razor_window_ps=250.0),
        ProcessVariation(sigma_pe=0.1),
        id="2in-0.55V-local-variation",
    ),
]


def _operands(groups: int, m: int, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(np.random.SeedSequence(23))
    return (
        rng.integers(-128, 128, (groups, m, k)).astype(np.int8),
        rng.integers(-128, 128, (groups, k, n)).astype(np.int8),
    )


FIELDS = (
    "cycles",
    "compute_cycles",
    "correction_cycles",
    "memory_stall_cycles",
    "folds",
    "macs",
    "erroneous_macs",
    "detections",
    "detection_cycles",
    "miscorrections",
    "silent_protected_errors",
    "unprotected_errors",
    "product_detections",
    "silent_product_errors",
)


@pytest.mark.slow
@pytest.mark.parametrize("dataflow", ["ws", "is"])
@pytest.mark.parametrize("bandwidth", [None, 2])
@pytest.mark.parametrize(("cells", "vdd", "protection", "variation"), CASES)
def test_grouped_folds_in_one_call_equal_the_detailed_engine_fold_by_fold(
    dataflow, bandwidth, cells, vdd, protection, variation
):
    pe = PEConfig(cells=cells, technology=TECHNOLOGY)
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd, f_clk_mhz=700.0))
    array = ArrayConfig(rows=3, cols=5, dataflow=dataflow, dram_bandwidth_words_per_cycle=bandwidth)
    a, b = _operands(3, 7, 6, 11)
    fast, detailed = (
        simulate_grouped_gemm(
            a, b, array=array, pe=pe, timing=timing, protection=protection, variation=variation, seed=5, engine=engine
        )
        for engine in ("fast", "detailed")
    )
    assert fast.erroneous_macs > 0
    if protection is not None:
        assert fast.detections > 0
    assert np.array_equal(fast.outputs, detailed.outputs)
    assert np.array_equal(fast.flip_counts, detailed.flip_counts)
    assert np.array_equal(fast.residual_flip_counts, detailed.residual_flip_counts)
    assert np.array_equal(fast.fold_correction_cycles, detailed.fold_correction_cycles)
    assert [getattr(fast, name) for name in FIELDS] == [getattr(detailed, name) for name in FIELDS]


@pytest.mark.parametrize(("cells", "vdd", "protection", "variation"), CASES)
def test_a_grouped_gemm_equals_its_groups_run_one_by_one(cells, vdd, protection, variation):
    """A depthwise-like GEMM (K = 9, N = 1 per group): the grouped call against G single calls of the
    fast engine with an event record (which run fold by fold)."""
    pe = PEConfig(cells=cells, technology=TECHNOLOGY)
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd, f_clk_mhz=700.0))
    array = ArrayConfig(rows=4, cols=4, dataflow="ws")
    a, b = _operands(6, 40, 1, 9)
    options = {"array": array, "pe": pe, "timing": timing, "protection": protection, "variation": variation, "seed": 5}
    grouped = simulate_grouped_gemm(a, b, **options)
    singles = [simulate_grouped_gemm(a[g : g + 1], b[g : g + 1], record_events=True, **options) for g in range(6)]
    assert grouped.erroneous_macs > 0
    assert np.array_equal(grouped.outputs, np.concatenate([single.outputs for single in singles]))
    assert np.array_equal(grouped.flip_counts, sum(single.flip_counts for single in singles))
    assert np.array_equal(grouped.residual_flip_counts, sum(single.residual_flip_counts for single in singles))
    assert np.array_equal(
        grouped.fold_correction_cycles, np.concatenate([single.fold_correction_cycles for single in singles])
    )
    assert grouped.cycles == sum(single.cycles for single in singles) + len(singles) - 1
    for name in FIELDS[2:]:
        assert getattr(grouped, name) == sum(getattr(single, name) for single in singles), name
