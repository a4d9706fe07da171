"""One clock: the PE's stage timing must be at the array's f_clk_mhz."""

from __future__ import annotations

import numpy as np
import pytest

from pe_models.errors import ConfigError
from pe_models.pe import OperatingPoint, PEConfig, stage_timing
from sim.config import ArrayConfig
from sim.engine import simulate_gemm


def test_a_timing_at_another_clock_than_the_array_is_refused():
    pe = PEConfig()
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=0.9, f_clk_mhz=500.0))
    operands = np.ones((4, 4), np.int8)
    with pytest.raises(
        ConfigError,
        match=r"^timing: the PE is timed at 500 MHz but array\.f_clk_mhz is 700 MHz; time it at the array's clock, "
        r"e\.g\. stage_timing\(pe, operating_point=OperatingPoint\(vdd_v=\.\.\., f_clk_mhz=700\)\)$",
    ):
        simulate_gemm(operands, operands, array=ArrayConfig(rows=4, cols=4, f_clk_mhz=700.0), pe=pe, timing=timing)


def test_a_timing_at_the_array_clock_runs():
    pe = PEConfig()
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=0.9, f_clk_mhz=700.0))
    operands = np.ones((4, 4), np.int8)
    result = simulate_gemm(operands, operands, array=ArrayConfig(rows=4, cols=4, f_clk_mhz=700.0), pe=pe, timing=timing)
    assert np.array_equal(result.outputs, np.full((4, 4), 4))


def test_the_bitlevel_backend_refuses_an_array_at_another_clock_when_built():
    from workloads.injection import BitlevelBackend

    with pytest.raises(
        ConfigError,
        match=r"^array\.f_clk_mhz: 500 MHz, but the PE is timed at f_clk_mhz 700 MHz; one clock drives both: "
        r"give the array f_clk_mhz=700$",
    ):
        BitlevelBackend(
            vdd_v=0.9,
            protect_mask=0,
            seed=np.random.SeedSequence(0),
            array=ArrayConfig(rows=4, cols=4, f_clk_mhz=500.0),
            f_clk_mhz=700.0,
        )
