"""The whole-operating-point screen on the characterised library: identical to the exact event kernel.

Where every sum bit's latest static arrival (per edge, from its clock-to-Q launch) meets the
sampling instant, :func:`pe_models.chain.mac_parameters` gives closed-form rows that latch every
MAC settled instead of sending the adder stage to the exact event kernel. The reference is the
exact kernel itself (``mac_parameters(..., exact=True)``): the GEMM's outputs and every counter
must be the same, with and without Razor, on every dataflow and with process variation.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from functools import partial

import numpy as np
import pytest

import sim.engine
from pe_models import kernels
from pe_models.chain import adder_always_settled, mac_parameters
from pe_models.pe import OperatingPoint, PEConfig, stage_timing
from pe_models.variation import ProcessVariation
from sim.config import ArrayConfig
from sim.engine import simulate_gemm
from sim.protection import Protection

TECHNOLOGY = "ptm-32nm-hp-cells"
F_CLK_MHZ = 700.0


def _timing(pe: PEConfig, vdd_v: float):
    return stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd_v, f_clk_mhz=F_CLK_MHZ))


def _gemm(monkeypatch, exact: bool, pe: PEConfig, vdd_v: float, **options):
    monkeypatch.setattr(sim.engine, "_PARAMETER_CACHE", OrderedDict())
    monkeypatch.setattr(sim.engine, "mac_parameters", partial(mac_parameters, exact=exact))
    rng = np.random.default_rng(np.random.SeedSequence(0x5C12EE))
    activations = rng.integers(-128, 128, (40, 12)).astype(np.int8)
    weights = rng.integers(-128, 128, (12, 6)).astype(np.int8)
    array = ArrayConfig(rows=4, cols=3, dataflow=options.pop("dataflow", "ws"), f_clk_mhz=F_CLK_MHZ)
    return simulate_gemm(activations, weights, array=array, pe=pe, timing=_timing(pe, vdd_v), **options)


def _same(screened, reference) -> None:
    for item in dataclasses.fields(screened):
        ours, theirs = getattr(screened, item.name), getattr(reference, item.name)
        if isinstance(ours, np.ndarray) or isinstance(theirs, np.ndarray):
            assert np.array_equal(ours, theirs), item.name
        elif item.name != "operands":
            assert ours == theirs, item.name


@pytest.mark.parametrize("cells", ["compound", "2in"])
@pytest.mark.parametrize("vdd_v", [0.9, 0.7])
def test_screened_rows_replace_the_exact_kernel_above_the_error_onset(cells, vdd_v):
    pe = PEConfig(technology=TECHNOLOGY, cells=cells)
    timing = _timing(pe, vdd_v)
    assert mac_parameters(pe, timing)[0, kernels.PARAM_CELLS] == kernels.CELLS_COMPOUND
    assert mac_parameters(pe, timing, exact=True)[0, kernels.PARAM_CELLS] == kernels.CELLS_EXACT


@pytest.mark.parametrize("cells", ["compound", "2in"])
@pytest.mark.parametrize("vdd_v", [0.9, 0.7])
@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_screened_gemm_equals_the_exact_kernel(monkeypatch, cells, vdd_v, dataflow):
    pe = PEConfig(technology=TECHNOLOGY, cells=cells)
    screened = _gemm(monkeypatch, False, pe, vdd_v, dataflow=dataflow)
    reference = _gemm(monkeypatch, True, pe, vdd_v, dataflow=dataflow)
    _same(screened, reference)


@pytest.mark.slow
@pytest.mark.parametrize("cells", ["compound", "2in"])
@pytest.mark.parametrize("dataflow", ["ws", "os"])
def test_screened_gemm_equals_the_exact_kernel_with_razor_and_events(monkeypatch, cells, dataflow):
    pe = PEConfig(technology=TECHNOLOGY, cells=cells)
    options = dict(
        dataflow=dataflow,
        protection=Protection.from_spec("31:16", width=32, razor_window_ps=100.0),
        record_events=True,
    )
    screened = _gemm(monkeypatch, False, pe, 0.7, **dict(options))
    reference = _gemm(monkeypatch, True, pe, 0.7, **dict(options))
    _same(screened, reference)


@pytest.mark.parametrize("cells", ["compound", "2in"])
def test_screened_gemm_equals_the_exact_kernel_with_process_variation(monkeypatch, cells):
    pe = PEConfig(technology=TECHNOLOGY, cells=cells)
    options = dict(variation=ProcessVariation(sigma_die=0.02, sigma_pe=0.03), seed=3)
    screened = _gemm(monkeypatch, False, pe, 0.75, **dict(options))
    reference = _gemm(monkeypatch, True, pe, 0.75, **dict(options))
    _same(screened, reference)


def test_screen_does_not_apply_below_the_error_onset():
    # the default PE on the library may err from 0.683 V down (docs/technology.md, critical path
    # against OpenSTA); at 0.67 V its adder rows are no settled rows (the per-edge model)
    pe = PEConfig(technology=TECHNOLOGY)
    timing = _timing(pe, 0.67)
    assert not adder_always_settled(pe, timing)
    assert mac_parameters(pe, timing)[0, kernels.PARAM_CELLS] == kernels.CELLS_EDGE
