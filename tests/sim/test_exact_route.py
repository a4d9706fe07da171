"""The array engines on a library whose arcs differ by pin and edge: the adder stage takes the exact event kernel."""

from __future__ import annotations

import numpy as np
import pytest

from pe_models import kernels
from pe_models.arcs import latest_arrival_fs
from pe_models.chain import evaluate_chain, mac_parameters
from pe_models.pe import PEConfig
from sim.config import ArrayConfig
from sim.engine import simulate_gemm
from sim.protection import Protection
from tests.pe_models.test_chain_routing import asymmetric_timing

# A formula-preset PE (no cell library): with a characterised library (the default) the
# engines run compound cells below the settled screen on the per-edge model, a documented
# approximation (docs/technology.md), not the exact kernel this file is about.
PE = PEConfig(cells="compound", technology="ptm-32nm-hp")


def timing_between_the_stages():
    """A clock the multiplier stage meets and the adder stage misses (0.7 of its longest path)."""
    probe = asymmetric_timing(PE, t_clk_ps=1000.0, seed=4)
    adder = PE.stages["adder"]
    adder_ps = latest_arrival_fs(adder, probe.arcs_fs("adder"), probe.launch_fs("adder"))[adder.outputs["sum"]].max()
    adder_ps /= 1000
    return asymmetric_timing(PE, t_clk_ps=0.7 * adder_ps + 25.0, seed=4)


TIMING = timing_between_the_stages()
F_CLK_MHZ = 1e9 / TIMING.t_clk_fs


def column_reference(stream: np.ndarray, stationary: np.ndarray) -> np.ndarray:
    """Sums leaving one ws column: PE r adds stream[:, r] * stationary[r] to the sums PE r - 1 latched,
    each PE's MACs in order from an all-zero state (the chain level, exact kernel)."""

    def shifted(values):
        return np.concatenate([np.zeros(1, dtype=np.int64), np.asarray(values, dtype=np.int64)[:-1]])

    partial = np.zeros(stream.shape[0], dtype=np.int64)
    for r in range(stream.shape[1]):
        a = stream[:, r].astype(np.int64)
        b = np.full_like(a, int(stationary[r]))
        result = evaluate_chain(
            PE, TIMING, prev_a=shifted(a), prev_b=shifted(b), prev_c=shifted(partial), a=a, b=b, c=partial
        )
        assert not result.product_flip_mask.any()
        partial = result.latched
    return partial


@pytest.mark.parametrize("engine", ["fast", "detailed"])
def test_engines_follow_the_exact_chain_level_down_each_column(engine):
    assert mac_parameters(PE, TIMING)[0, kernels.PARAM_CELLS] == kernels.CELLS_EXACT
    rng = np.random.default_rng(np.random.SeedSequence(0xE1AC7))
    a = rng.integers(-128, 128, (60, 5)).astype(np.int8)
    b = rng.integers(-128, 128, (5, 3)).astype(np.int8)
    result = simulate_gemm(
        a, b, array=ArrayConfig(rows=5, cols=3, dataflow="ws", f_clk_mhz=F_CLK_MHZ), pe=PE, timing=TIMING, engine=engine
    )
    expected = np.stack([column_reference(a, b[:, c]) for c in range(3)], axis=1)
    assert result.erroneous_macs > 0
    assert np.array_equal(result.outputs, expected)


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_fast_and_detailed_engines_agree_with_razor_on_the_exact_route(dataflow):
    rng = np.random.default_rng(np.random.SeedSequence(0xE1AC8))
    a = rng.integers(-128, 128, (24, 7)).astype(np.int8)
    b = rng.integers(-128, 128, (7, 5)).astype(np.int8)
    array = ArrayConfig(rows=3, cols=4, dataflow=dataflow, f_clk_mhz=F_CLK_MHZ)
    # a 20 ps window needs no hold buffers (shortest path 30 ps >= 20 + 10 ps hold), so the PE
    # keeps this test's asymmetric arcs (a buffered PE is retimed from its library)
    protection = Protection.from_spec("31:20", width=32, razor_window_ps=20.0)
    fast, detailed = (
        simulate_gemm(a, b, array=array, pe=PE, timing=TIMING, engine=engine, protection=protection)
        for engine in ("fast", "detailed")
    )
    assert np.array_equal(fast.outputs, detailed.outputs)
    assert (fast.erroneous_macs, fast.cycles) == (detailed.erroneous_macs, detailed.cycles)
    assert fast.erroneous_macs > 0
