"""Consecutive-MAC kernels: the vectorised compound path, the generic per-MAC kernel and the gate level."""

import numpy as np
import pytest

from pe_models import kernels
from pe_models.chain import evaluate_stream, mac_parameters, static_output_arrival_fs
from pe_models.gate import simulate_gate
from pe_models.pe import OperatingPoint, PEConfig, stage_timing

FORMULA = "ptm-32nm-hp"
"""The formula preset, whose reasoned path lengths the clocks below are chosen from."""


def _stream(rng, n):
    a, b = rng.integers(-128, 128, (2, n)).astype(np.int8)
    c = rng.integers(-(2**11), 2**11, n)
    return a, b, c


@pytest.mark.parametrize("vdd", [0.9, 0.55, 0.5, 0.45])
def test_vectorised_compound_stream_equals_the_per_mac_kernel(rng, vdd):
    pe = PEConfig(cells="compound")
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd, f_clk_mhz=700.0))
    a, b, c = _stream(rng, 5000)
    generic = np.empty(5000, dtype=np.int64)
    kernels.registered_mac_stream(a, b, c, mac_parameters(pe, timing)[0], generic)
    fast = evaluate_stream(pe, timing, a, b, c) & 0xFFFFFFFF
    assert np.array_equal(fast, generic)


def _gate_stream(pe, timing, a, b, c, **delays):
    """The gate-level adder stage of a MAC stream: each MAC from the previous one's product and partial sum."""
    product = a.astype(np.int64) * b
    old = {"product": np.concatenate([[0], product[:-1]]), "c": np.concatenate([[0], c[:-1]])}
    return simulate_gate(
        pe.stages["adder"], old, {"product": product, "c": c}, t_sample_fs=timing.t_sample_fs, **delays
    )


@pytest.mark.parametrize(("cells", "t_clk_ps"), [("compound", 450.0), ("2in", 620.0)])
def test_stream_adder_matches_gate_level_when_products_are_on_time(rng, cells, t_clk_ps):
    """With a clock the multiplier meets but the adder does not, each MAC is the gate-level adder stage.

    Longest multiplier paths at nominal delays: compound 389 ps, 2in 571 ps (below
    T_clk - 25 ps setup); longest adder paths 650 ps and 983 ps (above it).
    """
    pe = PEConfig(cells=cells, technology=FORMULA)
    timing = stage_timing(pe, t_clk_ps=t_clk_ps, delay_scale=1.0)
    a, b, c = _stream(rng, 800)
    latched = evaluate_stream(pe, timing, a, b, c) & 0xFFFFFFFF
    gate = _gate_stream(pe, timing, a, b, c, delays_fs=timing.delays_fs)
    assert mac_parameters(pe, timing)[0, kernels.PARAM_LATE_PRODUCT] == 0
    assert np.array_equal(latched, gate.latched)
    assert (gate.latched != gate.correct).sum() > 0


@pytest.mark.parametrize("cells", ["compound", "2in"])
def test_exact_stream_adder_matches_gate_level_on_the_characterised_library(rng, cells):
    """The same on ptm-32nm-hp-cells with ``exact=True``: a clock 20 ps past the multiplier's latest
    static arrival plus setup (the adder's is later); the gate level on the adder's arcs and the
    product and partial-sum registers' clock-to-Q launch times."""
    pe = PEConfig(cells=cells, technology="ptm-32nm-hp-cells")
    probe = stage_timing(pe, t_clk_ps=1000.0, delay_scale=1.0)
    setup_fs = probe.t_clk_fs - probe.t_sample_fs

    def latest_fs(stage: str, output: str) -> int:
        return int(
            static_output_arrival_fs(pe.stages[stage], probe.arcs_fs(stage), output, probe.launch_fs(stage)).max()
        )

    timing = stage_timing(pe, t_clk_ps=(latest_fs("multiplier", "product") + setup_fs) / 1000 + 20.0, delay_scale=1.0)
    assert latest_fs("adder", "sum") > timing.t_sample_fs
    a, b, c = _stream(rng, 800)
    latched = evaluate_stream(pe, timing, a, b, c, exact=True) & 0xFFFFFFFF
    gate = _gate_stream(pe, timing, a, b, c, delays_fs=timing.arcs_fs("adder"), launch_fs=timing.launch_fs("adder"))
    assert mac_parameters(pe, timing, exact=True)[0, kernels.PARAM_LATE_PRODUCT] == 0
    assert np.array_equal(latched, gate.latched)
    assert (gate.latched != gate.correct).sum() > 0
