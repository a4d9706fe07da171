"""The per-edge model of the array engines' adder rows on the characterised library, against the exact kernel.

Below the whole-operating-point screen, :func:`pe_models.chain.mac_parameters` gives
compound-cell rows on ``ptm-32nm-hp-cells`` the per-edge model (``CELLS_EDGE``). It is a
model: its per-bit error probability must be within the error stated in docs/technology.md
of the exact event kernel's (``exact=True``, the independent reference), on the same MACs,
plus four standard errors of the paired difference.
"""

from __future__ import annotations

import numpy as np
import pytest

from pe_models import kernels
from pe_models.chain import evaluate_stream, mac_parameters
from pe_models.operands import synthetic_stream
from pe_models.pe import OperatingPoint, PEConfig, stage_timing
from sim.config import ArrayConfig
from sim.engine import simulate_gemm
from sim.protection import Protection

TECHNOLOGY = "ptm-32nm-hp-cells"
F_CLK_MHZ = 700.0
STATED_ERROR = {0.65: 0.01, 0.6: 0.1}
"""Largest absolute difference of a bit's error probability (docs/technology.md, "The per-edge model")."""


def _timing(pe: PEConfig, vdd_v: float):
    return stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd_v, f_clk_mhz=F_CLK_MHZ))


@pytest.mark.parametrize(
    ("technology", "cells", "exact", "route"),
    [
        (TECHNOLOGY, "compound", False, kernels.CELLS_EDGE),
        (TECHNOLOGY, "compound", True, kernels.CELLS_EXACT),
        (TECHNOLOGY, "2in", False, kernels.CELLS_EXACT),
        ("ptm-32nm-hp", "compound", False, kernels.CELLS_COMPOUND),
    ],
)
def test_rows_below_the_screen_take_the_per_edge_model_only_on_compound_characterised_cells(
    technology, cells, exact, route
):
    pe = PEConfig(technology=technology, cells=cells)
    assert mac_parameters(pe, _timing(pe, 0.6), exact=exact)[0, kernels.PARAM_CELLS] == route


@pytest.mark.parametrize("vdd_v", sorted(STATED_ERROR))
def test_per_edge_model_bit_error_probabilities_match_the_exact_kernel_within_the_stated_error(vdd_v):
    pe = PEConfig(technology=TECHNOLOGY)
    timing = _timing(pe, vdd_v)
    macs = 100_000
    stream = synthetic_stream("dnn", lanes=1, steps=macs, seed=0x7E57)
    a, b, c = (np.asarray(values).ravel()[:macs].astype(np.int64) for values in (stream.a, stream.b, stream.c))
    correct = (c + a * b) & 0xFFFFFFFF
    wrong = {}
    for exact in (False, True):
        latched = evaluate_stream(pe, timing, a, b, c, exact=exact) & 0xFFFFFFFF
        wrong[exact] = ((latched ^ correct)[:, None] >> np.arange(32) & 1).astype(np.float64)
    difference = wrong[False] - wrong[True]
    standard_error = difference.std(axis=0) / np.sqrt(macs)
    assert wrong[True].mean() > 0.005, "premise: the exact kernel sees timing errors"
    assert (np.abs(difference.mean(axis=0)) <= STATED_ERROR[vdd_v] + 4 * standard_error).all()


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_fast_and_detailed_engines_agree_on_per_edge_rows_with_razor(dataflow):
    pe = PEConfig(technology=TECHNOLOGY)
    rng = np.random.default_rng(np.random.SeedSequence(0xED6E))
    a = rng.integers(-128, 128, (24, 7)).astype(np.int8)
    b = rng.integers(-128, 128, (7, 5)).astype(np.int8)
    array = ArrayConfig(rows=3, cols=4, dataflow=dataflow, f_clk_mhz=F_CLK_MHZ)
    protection = Protection.from_spec("31:20", width=32, razor_window_ps=100.0)
    timing = _timing(pe, 0.6)
    fast, detailed = (
        simulate_gemm(a, b, array=array, pe=pe, timing=timing, engine=engine, protection=protection)
        for engine in ("fast", "detailed")
    )
    assert np.array_equal(fast.outputs, detailed.outputs)
    assert (fast.erroneous_macs, fast.detections, fast.cycles) == (
        detailed.erroneous_macs,
        detailed.detections,
        detailed.cycles,
    )
    assert fast.erroneous_macs > 0
