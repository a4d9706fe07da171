"""The fast engine's protected folds of the per-edge model against its scalar route, GEMM for GEMM.

On the characterised library below the whole-point screen (0.683 V), ws and is folds of a ``CELLS_EDGE``
row that the grouped lane path does not take (Razor on accumulator or product register bits, or an
event record) run through :func:`sim._kernels.edge_stationary_fold`: each PE's stream of latched,
settled and shadow sums on uint32 lanes, the per-MAC Razor booking only for the MACs that need it.
Expected values: the same GEMM with that route switched off (``FastGrid._edge_fold_forms`` returning
None), so every MAC goes through ``registered_mac`` and ``registered_mac_shadow`` (the scalar per-edge
route, checked against the exact event kernel in tests/pe_models/test_chain_edge.py). Both dataflows
share one contract (``ProtectedEdgeContract``), each subclass fixing the dataflow.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.config import ArrayConfig
from sim.engine import _grid_setup, simulate_gemm
from sim.grid_fast import FastGrid
from sim.protection import Protection

from ._per_edge import PE, SUPPLIES, assert_same_results, timing_at

PROTECTED = {"31:8": 0xFFFFFF00, "31:0": 0xFFFFFFFF}
WINDOWS_PS = (None, 150.0)
RECOVERIES = ("global", "column", "local", "drop")
PRODUCT_MASK = 0xFFFF
CASES = [
    (vdd, protect, window_ps, RECOVERIES[(i + j) % len(RECOVERIES)], i % 2 == 1)
    for i, vdd in enumerate(SUPPLIES)
    for j, (protect, window_ps) in enumerate(
        (protect, window_ps) for protect in sorted(PROTECTED) for window_ps in WINDOWS_PS
    )
]
"""Every supply with every protection and window; the recovery policies and the product register's
Razor rotate through them (each policy 4 times, twice with product protection), a sixteenth of the
full product of the five."""


def _operands(seed: int, m: int, k: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    return (
        rng.integers(-128, 128, (m, k)).astype(np.int8),
        rng.integers(-128, 128, (k, n)).astype(np.int8),
    )


def _scalar_route(monkeypatch: pytest.MonkeyPatch, call):
    """`call()` with the per-edge fold route switched off: every MAC through ``registered_mac``."""
    with monkeypatch.context() as patch:
        patch.setattr(FastGrid, "_edge_fold_forms", lambda self: None)
        return call()


def _assert_same(result, expected) -> None:
    assert_same_results(result, expected)
    np.testing.assert_array_equal(result.fold_correction_cycles, expected.fold_correction_cycles)
    if expected.events is None:
        assert result.events is None
    else:
        np.testing.assert_array_equal(result.events, expected.events)


class ProtectedEdgeContract:
    """What the per-edge fold route must show in every dataflow; subclasses set ``DATAFLOW``."""

    DATAFLOW = ""

    def _array(self) -> ArrayConfig:
        return ArrayConfig(rows=5, cols=4, dataflow=self.DATAFLOW, f_clk_mhz=700.0)

    def _both(self, monkeypatch, protection, vdd, record_events=False):
        a, w = _operands(11, 23, 12, 7)
        timing = timing_at(vdd)

        def run():
            return simulate_gemm(
                a, w, array=self._array(), pe=PE, timing=timing, protection=protection, record_events=record_events
            )

        return run(), _scalar_route(monkeypatch, run)

    @pytest.mark.parametrize(("vdd", "protect", "window_ps", "recovery", "product"), CASES)
    def test_protected_gemm_equals_the_scalar_route(self, monkeypatch, vdd, protect, window_ps, recovery, product):
        protection = Protection(
            protected_mask=PROTECTED[protect],
            recovery=recovery,
            razor_window_ps=window_ps,
            product_mask=PRODUCT_MASK if product else 0,
        )
        result, expected = self._both(monkeypatch, protection, vdd)
        _assert_same(result, expected)
        assert expected.erroneous_macs > 0

    @pytest.mark.parametrize(
        ("vdd", "protection"),
        [
            (0.5, None),
            (0.5, Protection(protected_mask=0xFFFFFF00, razor_window_ps=150.0)),
            (0.6, Protection(protected_mask=0xFFFFFFFF, recovery="local", product_mask=PRODUCT_MASK)),
            (0.6, Protection(protected_mask=0xFFFFFF00, recovery="drop", razor_window_ps=150.0)),
        ],
    )
    def test_recorded_events_equal_the_scalar_route(self, monkeypatch, vdd, protection):
        result, expected = self._both(monkeypatch, protection, vdd, record_events=True)
        _assert_same(result, expected)
        assert expected.events is not None and expected.events.shape[0] > 0


class TestWeightStationary(ProtectedEdgeContract):
    DATAFLOW = "ws"


class TestInputStationary(ProtectedEdgeContract):
    DATAFLOW = "is"


def test_the_cases_exercise_detections_misses_and_product_razor():
    """The parameter grid is not vacuous: somewhere the scalar route detects, mis-corrects, misses a
    protected bit, and its product register detects."""
    a, w = _operands(11, 23, 12, 7)
    array = ArrayConfig(rows=5, cols=4, dataflow="ws", f_clk_mhz=700.0)
    seen = dict.fromkeys(("detections", "miscorrections", "silent_protected_errors", "product_detections"), 0)
    for vdd in SUPPLIES:
        for window_ps in WINDOWS_PS:
            protection = Protection(protected_mask=0xFFFFFF00, razor_window_ps=window_ps, product_mask=PRODUCT_MASK)
            result = simulate_gemm(a, w, array=array, pe=PE, timing=timing_at(vdd), protection=protection)
            for name in seen:
                seen[name] += getattr(result, name)
    assert all(seen.values()), seen


def test_protected_per_edge_folds_take_the_fold_route_and_os_does_not():
    protection = Protection(protected_mask=0xFFFFFF00)
    for dataflow, routed in (("ws", True), ("is", True), ("os", False)):
        array = ArrayConfig(rows=4, cols=20, dataflow=dataflow, f_clk_mhz=700.0)
        setup, _ = _grid_setup(array, PE, timing_at(0.6), protection, None, 0, False)
        assert (FastGrid(setup)._edge_forms is not None) == routed, dataflow
