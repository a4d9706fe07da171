"""Where the ripple-carry closed forms hold, and the exact event kernel where they do not.

With per-pin, per-edge arcs the chain level, the per-MAC kernel of the array engines and the
stream kernels route the registered adder stage to the exact event kernel; every result here
is compared with the Python gate level (itself checked against Icarus Verilog).
"""

from __future__ import annotations

import numpy as np
import pytest

from pe_models import kernels
from pe_models.arcs import InstanceArcs, StageArcs, latest_arrival_fs
from pe_models.cells import CELL_PINS
from pe_models.chain import closed_form_delays, evaluate_chain, evaluate_stream, mac_parameters
from pe_models.gate import simulate_gate
from pe_models.pe import OperatingPoint, PEConfig, StageTiming, stage_arcs, stage_timing
from tests.pe_models.synthetic_delays import LinearDelays, asymmetric_intrinsics

FORMULA = "ptm-32nm-hp"
"""The formula preset: one reasoned delay per cell type, so the closed forms hold until an arc
is changed by hand. On a characterised compound library the per-MAC kernel takes the
per-edge model instead (chain.edge_table), tested in test_edge_lanes.py."""

CONFIGS = [
    dict(cells=c, adder=a, pipeline=p)
    for c in ("compound", "2in")
    for a in ("rca", "ks")
    for p in ("registered", "fused")
]


def asymmetric_timing(pe: PEConfig, *, t_clk_ps: float, scale: float = 1.0, seed: int = 0) -> StageTiming:
    """Timing of `pe` with synthetic per-pin, per-edge arcs (loads and slews included), setup 25 ps x scale."""
    source = LinearDelays(
        intrinsic_ps=asymmetric_intrinsics(pe.cells, seed),
        pin_ff={(cell, pin): 0.5 + 0.4 * k for cell, pins in CELL_PINS.items() for k, pin in enumerate(pins)},
        ps_per_ff=2.0,
        slew_factor=0.2,
        d_pin_ff=1.0,
        q_slew_ps=(5.0, 7.0),
        clk_to_q=(6.0, 8.0),
        setup=25.0,
        scale=scale,
    )
    t_clk_fs = round(t_clk_ps * 1000)
    return StageTiming(
        t_sample_fs=t_clk_fs - round(source.setup_ps * 1000),
        delay_scale=scale,
        t_clk_fs=t_clk_fs,
        arcs=stage_arcs(pe, source),
    )


def with_arc(timing: StageTiming, stage: str, cell: int, pin: int, edge: int, exact_fs: float) -> StageTiming:
    """The same timing with one exact arc of one instance replaced."""
    stages = {}
    for name in timing.arcs.stages:
        exact = timing.arcs.exact_fs(name).copy()
        if name == stage:
            exact[cell, pin, edge] = exact_fs
        old = timing.arcs[name]
        stages[name] = InstanceArcs(
            exact_fs=exact, load_ff=old.load_ff, slew_ps=old.slew_ps, launch_exact_fs=old.launch_exact_fs
        )
    return StageTiming(
        t_sample_fs=timing.t_sample_fs, delay_scale=timing.delay_scale, t_clk_fs=timing.t_clk_fs, arcs=StageArcs(stages)
    )


def random_macs(rng, n):
    prev_a, prev_b, a, b = rng.integers(-128, 128, (4, n))
    prev_c, c = rng.integers(-(2**12), 2**12, (2, n))
    return dict(prev_a=prev_a, prev_b=prev_b, prev_c=prev_c, a=a, b=b, c=c)


@pytest.mark.parametrize("cells", ["compound", "2in"])
def test_closed_form_holds_for_a_reasoned_library(cells):
    pe = PEConfig(cells=cells, technology=FORMULA)
    timing = stage_timing(pe, t_clk_ps=800.0, delay_scale=1.9)
    delays = closed_form_delays(pe, timing)
    assert delays is not None
    expected = {cell: round(pe.library.delays_ps[cell] * 1.9 * 1000) for cell in delays}
    assert {cell: int(value[0]) for cell, value in delays.items()} == expected


@pytest.mark.parametrize("config", [c for c in CONFIGS if c["adder"] == "ks" or c["pipeline"] == "fused"])
def test_closed_form_is_only_for_the_registered_ripple_carry_adder(config):
    pe = PEConfig(**config)
    assert closed_form_delays(pe, stage_timing(pe, t_clk_ps=800.0)) is None


@pytest.mark.parametrize(("cells", "kind"), [("compound", "maj3"), ("compound", "xor3"), ("2in", "or2")])
def test_one_differing_arc_of_an_adder_cell_breaks_the_closed_form(cells, kind):
    pe = PEConfig(cells=cells, technology=FORMULA)
    # a clock the adder misses: at one it meets, the whole-point screen latches every MAC settled
    timing = stage_timing(pe, t_clk_ps=500.0)
    cell = [c.kind for c in pe.stages["adder"].cells].index(kind)
    changed = with_arc(timing, "adder", cell, 1, 1, timing.arcs.exact_fs("adder")[cell, 1, 1] + 1.0)
    assert closed_form_delays(pe, changed) is None
    assert mac_parameters(pe, changed)[0, kernels.PARAM_CELLS] == kernels.CELLS_EXACT


def test_a_differing_multiplier_arc_keeps_the_adder_closed_form():
    pe = PEConfig(cells="compound", technology=FORMULA)
    timing = stage_timing(pe, t_clk_ps=800.0)
    changed = with_arc(timing, "multiplier", 0, 0, 0, 12345.0)
    assert closed_form_delays(pe, changed) is not None


def test_with_variation_factors_the_check_reads_the_exact_arcs():
    """Two arcs that round to the same fs but differ before rounding scale apart: no closed form."""
    pe = PEConfig(cells="compound", technology=FORMULA)
    timing = stage_timing(pe, t_clk_ps=800.0)
    cell = [c.kind for c in pe.stages["adder"].cells].index("maj3")
    changed = with_arc(timing, "adder", cell, 0, 0, timing.arcs.exact_fs("adder")[cell, 0, 0] + 0.25)
    assert closed_form_delays(pe, changed) is not None
    assert closed_form_delays(pe, changed, lane_factors=np.array([1.0, 1.1])) is None


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(c.values()))
def test_chain_level_equals_gate_level_on_per_pin_per_edge_arcs(config, rng):
    """Sampled at 0.7 of the timed stage's longest path, the shadow 0.1 of it later."""
    pe = PEConfig(**config)
    stage = "adder" if pe.pipeline == "registered" else "mac"
    probe = asymmetric_timing(pe, t_clk_ps=1000.0, scale=1.4, seed=3)
    netlist = pe.stages[stage]
    longest_ps = (
        latest_arrival_fs(netlist, probe.arcs_fs(stage), probe.launch_fs(stage))[netlist.outputs["sum"]].max() / 1000
    )
    timing = asymmetric_timing(pe, t_clk_ps=0.7 * longest_ps + 25.0 * 1.4, scale=1.4, seed=3)
    macs = random_macs(rng, 200)
    window = round(100 * longest_ps)
    chain = evaluate_chain(pe, timing, **macs, bit_settle=True, window_fs=window)
    if stage == "adder":
        old = {"product": macs["prev_a"] * macs["prev_b"], "c": macs["prev_c"]}
        new = {"product": macs["a"] * macs["b"], "c": macs["c"]}
    else:
        old = {"a": macs["prev_a"], "b": macs["prev_b"], "c": macs["prev_c"]}
        new = {"a": macs["a"], "b": macs["b"], "c": macs["c"]}
    gate = simulate_gate(
        pe.stages[stage],
        old,
        new,
        delays_fs=timing.arcs_fs(stage),
        t_sample_fs=timing.t_sample_fs,
        t_shadow_fs=timing.t_sample_fs + window,
        launch_fs=timing.launch_fs(stage),
    )
    mask = (1 << pe.width) - 1
    assert np.array_equal(chain.latched & mask, gate.latched)
    assert np.array_equal(chain.correct & mask, gate.correct)
    assert np.array_equal(chain.shadow & mask, gate.shadow)
    assert np.array_equal(chain.bit_settle_fs, gate.bit_settle_fs)
    assert (gate.latched != gate.correct).any()


def test_chain_level_with_variation_on_per_pin_per_edge_arcs(rng):
    pe = PEConfig(cells="compound")
    timing = asymmetric_timing(pe, t_clk_ps=420.0, scale=1.4, seed=5)
    macs = random_macs(rng, 40)
    factors = rng.uniform(0.85, 1.2, 40)
    chain = evaluate_chain(pe, timing, **macs, lane_factors=factors)
    for lane in range(40):
        arcs = np.maximum(1, np.rint(timing.arcs.exact_fs("adder") * factors[lane])).astype(np.int64)
        launch = np.rint(timing.arcs.launch_exact_fs("adder") * factors[lane]).astype(np.int64)
        gate = simulate_gate(
            pe.stages["adder"],
            {"product": macs["prev_a"][lane : lane + 1] * macs["prev_b"][lane], "c": macs["prev_c"][lane : lane + 1]},
            {"product": macs["a"][lane : lane + 1] * macs["b"][lane], "c": macs["c"][lane : lane + 1]},
            delays_fs=arcs,
            t_sample_fs=timing.t_sample_fs,
            launch_fs=launch,
        )
        assert chain.latched[lane] & 0xFFFFFFFF == gate.latched[0]


@pytest.mark.parametrize("cells", ["compound", "2in"])
def test_per_mac_kernel_routes_the_adder_to_the_exact_kernel(cells, rng):
    """A clock the multiplier meets and the adder does not (0.7 of its longest path): every MAC of the
    stream is the gate-level adder stage from the previous MAC's product and partial sum, main and
    shadow samples."""
    pe = PEConfig(cells=cells, technology=FORMULA)
    probe = asymmetric_timing(pe, t_clk_ps=1000.0, seed=1)
    multiplier = pe.stages["multiplier"]
    product_ps = latest_arrival_fs(multiplier, probe.arcs_fs("multiplier"), probe.launch_fs("multiplier")).max() / 1000
    adder = pe.stages["adder"]
    adder_ps = latest_arrival_fs(adder, probe.arcs_fs("adder"), probe.launch_fs("adder"))[adder.outputs["sum"]].max()
    adder_ps /= 1000
    assert product_ps < 0.7 * adder_ps
    timing = asymmetric_timing(pe, t_clk_ps=0.7 * adder_ps + 25.0, seed=1)
    window = 40_000
    params = mac_parameters(pe, timing, window_fs=window)[0]
    assert params[kernels.PARAM_CELLS] == kernels.CELLS_EXACT
    assert params[kernels.PARAM_LATE_PRODUCT] == 0
    n = 1000
    a, b = rng.integers(-128, 128, (2, n)).astype(np.int8)
    c = rng.integers(-(2**11), 2**11, n)
    latched = evaluate_stream(pe, timing, a, b, c) & 0xFFFFFFFF
    product = a.astype(np.int64) * b
    old = {"product": np.concatenate([[0], product[:-1]]), "c": np.concatenate([[0], c[:-1]])}
    gate = simulate_gate(
        adder,
        old,
        {"product": product, "c": c},
        delays_fs=timing.arcs_fs("adder"),
        t_sample_fs=timing.t_sample_fs,
        t_shadow_fs=timing.t_sample_fs + window,
        launch_fs=timing.launch_fs("adder"),
    )
    assert np.array_equal(latched, gate.latched)
    assert (gate.latched != gate.correct).sum() >= 10
    shadow = [
        kernels.registered_mac_shadow(
            int(a[t - 1]) if t else 0,
            int(b[t - 1]) if t else 0,
            int(product[t - 1] & 0xFFFF) if t else 0,
            int(c[t - 1]) if t else 0,
            int(a[t]),
            int(b[t]),
            int(c[t]),
            params,
        )
        for t in range(n)
    ]
    assert np.array_equal(np.array(shadow) & 0xFFFFFFFF, gate.shadow)


def test_exact_rows_with_variation_hold_each_rows_rounded_arcs(rng):
    pe = PEConfig(cells="2in")
    timing = asymmetric_timing(pe, t_clk_ps=700.0, seed=2)
    factors = rng.uniform(0.8, 1.2, 5)
    params = mac_parameters(pe, timing, lane_factors=factors)
    n_cells = len(pe.stages["adder"].cells)
    first = kernels.PARAM_STAGE + kernels.STAGE_HEADER + 5 * n_cells
    for row, factor in enumerate(factors):
        expected = np.maximum(1, np.rint(timing.arcs.exact_fs("adder") * factor)).astype(np.int64)
        assert np.array_equal(params[row, first : first + 6 * n_cells].reshape(-1, 3, 2), expected)


def test_analytic_level_takes_arcs_that_differ_by_pin_or_edge_only_with_sign_tables():
    """Arcs that differ by pin or edge leave the closed form: the per-edge model needs the sign-split tables."""
    from pe_models.analytic import adder_bit_error_probabilities, carry_statistics, needs_product_sign
    from pe_models.operands import synthetic_stream

    pe = PEConfig(cells="compound", technology=FORMULA)
    timing = asymmetric_timing(pe, t_clk_ps=500.0)
    assert needs_product_sign(pe, timing)
    statistics = carry_statistics(synthetic_stream("uniform", lanes=4, steps=64, seed=1), width=32)
    with pytest.raises(ValueError, match=r"^statistics: a characterised library needs carry_statistics"):
        adder_bit_error_probabilities(pe, timing, statistics)


def tied_pin_changed(pe: PEConfig, timing: StageTiming) -> StageTiming:
    """The timing with the arcs of an adder pin tied to a constant changed: the check fails, the results cannot."""
    adder = pe.stages["adder"]
    cell = next(c for c, cell in enumerate(adder.cells) if 0 in cell.inputs)
    pin = adder.cells[cell].inputs.index(0)
    changed = with_arc(timing, "adder", cell, pin, 0, 1.0)
    return with_arc(changed, "adder", cell, pin, 1, 3.0e6)


@pytest.mark.parametrize("cells", ["compound", "2in"])
@pytest.mark.parametrize("vdd", [0.5, 0.45])
def test_exact_route_equals_the_closed_form_where_both_apply(cells, vdd, rng):
    """Only the arcs of bit 0's carry-in pin (tied to 0) differ: the exact kernel must give the closed form's bits."""
    pe = PEConfig(cells=cells, technology="generic-28nm")
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd, f_clk_mhz=700.0))
    exact = tied_pin_changed(pe, timing)
    assert closed_form_delays(pe, timing) is not None and closed_form_delays(pe, exact) is None
    a, b = rng.integers(-128, 128, (2, 3000)).astype(np.int8)
    c = rng.integers(-(2**12), 2**12, 3000)
    assert np.array_equal(evaluate_stream(pe, exact, a, b, c), evaluate_stream(pe, timing, a, b, c))
    macs = random_macs(rng, 500)
    closed, routed = (evaluate_chain(pe, t, **macs, bit_settle=True, window_fs=30_000) for t in (timing, exact))
    assert (closed.latched != closed.correct).any()
    for field in ("latched", "correct", "settle_fs", "bit_settle_fs", "shadow"):
        assert np.array_equal(getattr(closed, field), getattr(routed, field)), field
