"""The fast engine's lane route for the per-edge model against its scalar route, GEMM for GEMM.

On the characterised library below the whole-point screen (0.683 V), the fast engine runs unprotected
ws and is GEMMs of ``CELLS_EDGE`` rows through :func:`sim._kernels.edge_stationary_groups` (row by
row with the columns in the lanes, or column by column with the steps in the lanes for folds of
fewer than 16 columns). Expected values: the same GEMM with the grouped path disabled, so every fold
goes MAC by MAC through ``registered_mac`` (the scalar per-edge route, checked against the exact
event kernel in tests/pe_models/test_chain_edge.py). The lane routes share one contract
(``EdgeRouteContract``), each subclass fixing the array shape that selects it.
"""

from __future__ import annotations

import numpy as np
import pytest

from pe_models import kernels
from pe_models.chain import mac_parameters
from sim.config import ArrayConfig
from sim.engine import _grid_setup, simulate_gemm, simulate_grouped_gemm
from sim.grid_fast import FastGrid
from sim.protection import Protection

from ._per_edge import PE, SUPPLIES, assert_same_results, timing_at


def _operands(kind: str, seed: int, m: int, k: int, n: int, groups: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    lead = (groups,) if groups else ()
    if kind == "random":
        return (
            rng.integers(-128, 128, (*lead, m, k)).astype(np.int8),
            rng.integers(-128, 128, (*lead, k, n)).astype(np.int8),
        )
    activations = np.clip(np.maximum(rng.normal(0, 40, (*lead, m, k)), 0), 0, 127).astype(np.int8)
    weights = np.clip(rng.normal(0, 30, (*lead, k, n)), -128, 127).astype(np.int8)
    return activations, weights


def _scalar_route(monkeypatch: pytest.MonkeyPatch, call):
    """`call()` with the fast engine's grouped path disabled: every fold MAC by MAC."""
    with monkeypatch.context() as patch:
        patch.setattr(FastGrid, "run_groups", lambda self, activations, weights, outputs: None)
        return call()


class EdgeRouteContract:
    """What every lane route of the per-edge model must show; subclasses set ``ROWS``, ``COLS``."""

    ROWS = 0
    COLS = 0

    def _array(self, dataflow: str) -> ArrayConfig:
        return ArrayConfig(rows=self.ROWS, cols=self.COLS, dataflow=dataflow, f_clk_mhz=700.0)

    @pytest.mark.parametrize("dataflow", ["ws", "is"])
    @pytest.mark.parametrize("kind", ["random", "dnn"])
    @pytest.mark.parametrize("vdd", SUPPLIES)
    def test_gemm_equals_the_scalar_route(self, monkeypatch, vdd, kind, dataflow):
        a, w = _operands(kind, 7, 45, 2 * self.ROWS + 3, self.COLS + 5)
        timing = timing_at(vdd)

        def run():
            return simulate_gemm(a, w, array=self._array(dataflow), pe=PE, timing=timing)

        result = run()
        expected = _scalar_route(monkeypatch, run)
        assert_same_results(result, expected)
        assert expected.erroneous_macs > 0

    @pytest.mark.parametrize("dataflow", ["ws", "is"])
    def test_grouped_gemm_equals_the_scalar_route(self, monkeypatch, dataflow):
        a, w = _operands("random", 8, 30, 9, 6, groups=5)
        timing = timing_at(0.55)

        def run():
            return simulate_grouped_gemm(a, w, array=self._array(dataflow), pe=PE, timing=timing)

        result = run()
        expected = _scalar_route(monkeypatch, run)
        assert_same_results(result, expected)
        assert expected.erroneous_macs > 0

    def test_same_seed_same_bits(self):
        a, w = _operands("dnn", 9, 20, self.ROWS + 1, self.COLS)
        first = simulate_gemm(a, w, array=self._array("ws"), pe=PE, timing=timing_at(0.5), seed=3)
        second = simulate_gemm(a, w, array=self._array("ws"), pe=PE, timing=timing_at(0.5), seed=3)
        assert_same_results(first, second)


class TestRowLanes(EdgeRouteContract):
    """Folds of at least 16 columns: row by row, a lane per column."""

    ROWS = 6
    COLS = 24


class TestStreamLanes(EdgeRouteContract):
    """Folds of fewer than 16 columns: column by column, a lane per stream step."""

    ROWS = 5
    COLS = 3


def test_row_lanes_in_blocks_equal_the_scalar_route(monkeypatch):
    """A stream longer than a row block (1024 steps at 256 columns) runs in blocks that start two steps early."""
    a, w = _operands("dnn", 10, 1100, 3, 256)
    array = ArrayConfig(rows=2, cols=256, dataflow="ws", f_clk_mhz=700.0)
    timing = timing_at(0.6)

    def run():
        return simulate_gemm(a, w, array=array, pe=PE, timing=timing)

    assert_same_results(run(), _scalar_route(monkeypatch, run))


def test_unprotected_per_edge_rows_take_the_lane_route_and_protected_ones_do_not():
    """Razor protection and event records need per-MAC shadows: those runs keep the scalar route."""
    assert mac_parameters(PE, timing_at(0.6))[0][kernels.PARAM_CELLS] == kernels.CELLS_EDGE
    array = ArrayConfig(rows=4, cols=20, dataflow="ws", f_clk_mhz=700.0)
    setup, _ = _grid_setup(array, PE, timing_at(0.6), None, None, 0, False)
    assert FastGrid(setup)._edge
    recorded, _ = _grid_setup(array, PE, timing_at(0.6), None, None, 0, True)
    assert not FastGrid(recorded)._edge
    protected, _ = _grid_setup(array, PE, timing_at(0.6), Protection(protected_mask=0xF0000000), None, 0, False)
    assert not FastGrid(protected)._edge
