"""Razor detection and the recovery policies in the array engines.

Expected values: the consequences of the detection definitions (window 0, a window past
every transition of the hold-buffered bits), the exact GEMM minus the products of the
dropped MACs (drop), the longest monotone chain of detections written here from the
events (local), and the probability that at least one of the n MACs of a cycle detects,
1 - (1 - q)^n (global).

The largest feasible window (the default, 762 ps for the compound PE at 700 MHz) puts 742 ps
of hold buffers on the protected bits; at 0.5 V (delay scale 2.94) they arrive after the
shadow instant and nothing is detected, so the tests at 0.5 V use a 150 ps window (140 ps
of buffers), and the window past every transition is tested at 0.75 V.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pe_models.pe import OperatingPoint, PEConfig, stage_timing
from pe_models.razor import razor_pe, window_fs
from pe_models.verilog import settle_bound_fs
from sim.config import ArrayConfig
from sim.engine import simulate_gemm
from sim.grid import stream_offset
from sim.protection import Protection

ENGINES = ("fast", "detailed")
TECHNOLOGY = "generic-28nm"
"""The operating points below (0.5-0.6 V, 700 MHz) are chosen for this technology's delays."""


def _operands(seed: int, m: int, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    return rng.integers(-128, 128, (m, k)).astype(np.int8), rng.integers(-128, 128, (k, n)).astype(np.int8)


def _run(engine, a, b, *, rows, cols, dataflow="ws", cells="compound", vdd=0.5, protection=None, events=False):
    pe = PEConfig(cells=cells, technology=TECHNOLOGY)
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd, f_clk_mhz=700.0))
    array = ArrayConfig(rows=rows, cols=cols, dataflow=dataflow)
    return simulate_gemm(
        a, b, array=array, pe=pe, timing=timing, protection=protection, engine=engine, record_events=events
    )


WINDOW_PS = 150.0
"""A window that detects at 0.5 V (see the module docstring)."""

PAST_VDD = 0.75
"""Delay scale 1.26: the buffered bits of the largest window are late at t_s and settled by the shadow."""


def _largest_window_settles_inside(cells: str, protected: int) -> None:
    """Check that every transition of the buffered stage (static bound) ends by t_s + window at PAST_VDD,
    and that the longest path is late at t_s (so there are errors to detect)."""
    pe = PEConfig(cells=cells, technology=TECHNOLOGY)
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=PAST_VDD, f_clk_mhz=700.0))
    window = window_fs(timing, None, pe=pe, protected_mask=protected)
    built = razor_pe(pe, f_clk_mhz=700.0, protected_mask=protected)
    longest = settle_bound_fs(built.stages["adder"], timing.delays_fs)
    assert timing.t_sample_fs < longest <= timing.t_sample_fs + window


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("cells", ["compound", "2in"])
@pytest.mark.parametrize("dataflow", ["ws", "os"])
def test_window_zero_detects_nothing(engine, cells, dataflow):
    a, b = _operands(1, 14, 5, 9)
    bare = _run(engine, a, b, rows=4, cols=3, dataflow=dataflow, cells=cells)
    protection = Protection.from_spec("31:0", razor_window_ps=0.0, width=32)
    result = _run(engine, a, b, rows=4, cols=3, dataflow=dataflow, cells=cells, protection=protection)
    assert bare.erroneous_macs > 0
    assert result.detections == result.correction_cycles == result.miscorrections == 0
    assert result.silent_protected_errors == result.erroneous_macs
    assert np.array_equal(result.outputs, bare.outputs)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("cells", ["compound", "2in"])
@pytest.mark.parametrize("recovery", ["global", "column", "local"])
def test_window_past_the_longest_buffered_path_detects_and_corrects_every_protected_bit(engine, cells, recovery):
    a, b = _operands(2, 14, 5, 9)
    _largest_window_settles_inside(cells, 0xFFFF0000)
    protection = Protection.from_spec("31:16", recovery=recovery, width=32)
    result = _run(engine, a, b, rows=4, cols=3, cells=cells, vdd=PAST_VDD, protection=protection)
    assert result.flip_counts[16:].sum() > 0
    assert result.detections > 0
    assert result.silent_protected_errors == result.miscorrections == 0
    assert result.residual_flip_counts[16:].sum() == 0


@pytest.mark.parametrize("engine", ENGINES)
def test_drop_skips_exactly_the_detected_macs(engine):
    """Every bit protected, window past every transition: a MAC is either right or dropped.

    One fold (K <= rows, N <= cols, ws): the output is the exact GEMM minus the products
    of the dropped MACs; MAC (r, c) of step t runs in cycle rows + t + r + c.
    """
    rows, cols, m, n, k = 6, 4, 25, 4, 6
    a, b = _operands(3, m, n, k)
    _largest_window_settles_inside("compound", 0xFFFFFFFF)
    protection = Protection.from_spec("31:0", recovery="drop", width=32)
    result = _run(engine, a, b, rows=rows, cols=cols, vdd=PAST_VDD, protection=protection, events=True)
    assert result.correction_cycles == 0
    expected = a.astype(np.int64) @ b.astype(np.int64)
    dropped = result.events[result.events[:, 5] == 1]
    assert dropped.shape[0] == result.detections > 0
    for _fold, cycle, row, col, _mask, _detected in dropped.tolist():
        step = cycle - stream_offset("ws", rows) - row - col
        expected[step, col] -= int(a[step, row]) * int(b[row, col])
    assert np.array_equal(result.outputs, expected)


def _longest_chain(points: list[tuple[int, int, int]]) -> int:
    """Most points on one chain with r, c and t all not decreasing (O(n^2) dynamic programme)."""
    ordered = sorted(points)
    best = [1] * len(ordered)
    for j, (r, c, t) in enumerate(ordered):
        for i in range(j):
            ri, ci, ti = ordered[i]
            if ri <= r and ci <= c and ti <= t:
                best[j] = max(best[j], best[i] + 1)
    return max(best, default=0)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("dataflow", ["ws", "os"])
def test_local_replays_cost_the_longest_monotone_chain_of_detections_per_fold(engine, dataflow):
    rows, cols = 4, 3
    a, b = _operands(4, 17, 5, 9)
    protection = Protection.from_spec("31:14", recovery="local", penalty_cycles=3, razor_window_ps=WINDOW_PS, width=32)
    result = _run(engine, a, b, rows=rows, cols=cols, dataflow=dataflow, protection=protection, events=True)
    offset = stream_offset(dataflow, rows)
    per_fold: dict[int, list[tuple[int, int, int]]] = {}
    for fold, cycle, row, col, _mask, detected in result.events.tolist():
        if detected:
            per_fold.setdefault(fold, []).append((row, col, cycle - offset - row - col))
    expected = [3 * _longest_chain(per_fold.get(fold, [])) for fold in range(result.folds)]
    assert sum(expected) > 0
    assert result.fold_correction_cycles.tolist() == expected
    assert result.correction_cycles == sum(expected)


def test_local_is_never_slower_than_a_global_stall_of_the_same_detections():
    a, b = _operands(5, 40, 8, 16)
    costs = {}
    for recovery in ("global", "local"):
        protection = Protection.from_spec(
            "31:14", recovery=recovery, penalty_cycles=1, razor_window_ps=WINDOW_PS, width=32
        )
        costs[recovery] = _run("fast", a, b, rows=8, cols=8, protection=protection).correction_cycles
    assert 0 < costs["local"] <= costs["global"]


def test_global_recovery_matches_the_iid_detection_probability():
    """Global stalls = cycles with >= 1 detection; with per-MAC probability q and n_k MACs in
    cycle k that is sum_k 1 - (1 - q)^n_k, within sampling error (i.i.d. uniform operands)."""
    rows, cols, m = 16, 16, 3000
    a, b = _operands(6, m, cols, rows)
    protection = Protection.from_spec("31:16", penalty_cycles=1, width=32)
    result = _run("fast", a, b, rows=rows, cols=cols, vdd=0.8, protection=protection)
    q = result.detections / result.macs
    assert 1e-4 < q < 0.05
    offset = stream_offset("ws", rows)
    busy = offset + m + rows + cols - 1
    cycles = np.arange(busy)
    in_flight = np.zeros(busy)
    for r in range(rows):
        for c in range(cols):
            step = cycles - offset - r - c
            in_flight += (step >= 0) & (step < m)
    probability = 1 - (1 - q) ** in_flight
    expected = probability.sum()
    sigma = math.sqrt((probability * (1 - probability)).sum())
    assert abs(result.detection_cycles - expected) < 4 * sigma + 0.01 * expected
    assert result.correction_cycles == result.detection_cycles
