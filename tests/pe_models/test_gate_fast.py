"""The numba event-driven gate level against the Python reference (itself checked against Icarus)."""

import numpy as np
import pytest

from pe_models.arcs import instance_arcs, latest_arrival_fs
from pe_models.cells import CELL_PINS
from pe_models.chain import evaluate_chain
from pe_models.gate import simulate_gate, simulate_gate_fast
from pe_models.pe import PEConfig, stage_timing
from tests.pe_models.synthetic_delays import LinearDelays, asymmetric_intrinsics

FORMULA = "ptm-32nm-hp"
"""One delay per cell type (the PE's reasoned delays scaled by the voltage curve): the
tests of ``timing.delays_fs`` and ``pe.library.delays_ps`` run on it."""
LIBRARY = "ptm-32nm-hp-cells"

CONFIGS = [
    dict(cells=c, adder=a, pipeline=p)
    for c in ("compound", "2in")
    for a in ("rca", "ks")
    for p in ("registered", "fused")
]


def _operands(rng, netlist, n):
    def draw(name):
        if name in ("a", "b"):
            return rng.integers(-128, 128, n)
        if name == "product":
            return rng.integers(-128, 128, n) * rng.integers(-128, 128, n)
        return rng.integers(-(2**12), 2**12, n)

    return {name: draw(name) for name in netlist.inputs}, {name: draw(name) for name in netlist.inputs}


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(c.values()))
@pytest.mark.parametrize("scale", [1.0, 2.5])
def test_numba_gate_level_equals_the_python_reference(config, scale, rng):
    """Each stage is sampled at 0.7 of its longest static path, so late and glitching bits occur."""
    pe = PEConfig(**config, technology=FORMULA)
    for netlist in pe.stages.values():
        nominal = stage_timing(pe, t_clk_ps=1000.0, delay_scale=scale)
        output = list(netlist.outputs)[-1]
        longest_ps = max(netlist.static_arrival_fs(dict(nominal.delays_fs))[net] for net in netlist.outputs[output])
        timing = stage_timing(pe, t_clk_ps=0.7 * longest_ps / 1000 + pe.library.t_setup_ps * scale, delay_scale=scale)
        old, new = _operands(rng, netlist, 150)
        reference = simulate_gate(netlist, old, new, delays_fs=timing.delays_fs, t_sample_fs=timing.t_sample_fs)
        fast = simulate_gate_fast(netlist, old, new, delays_fs=timing.delays_fs, t_sample_fs=timing.t_sample_fs)
        assert np.array_equal(fast.latched, reference.latched)
        assert np.array_equal(fast.correct, reference.correct)
        assert np.array_equal(fast.bit_settle_fs, reference.bit_settle_fs)
        assert (reference.latched != reference.correct).any()


def test_numba_gate_level_with_per_cell_delays(rng):
    pe = PEConfig(cells="2in", adder="ks", pipeline="fused")
    netlist = pe.stages["mac"]
    delays = rng.integers(5_000, 40_000, len(netlist.cells))
    old, new = _operands(rng, netlist, 100)
    reference = simulate_gate(netlist, old, new, delays_fs=delays, t_sample_fs=300_000)
    fast = simulate_gate_fast(netlist, old, new, delays_fs=delays, t_sample_fs=300_000)
    assert np.array_equal(fast.latched, reference.latched)
    assert np.array_equal(fast.bit_settle_fs, reference.bit_settle_fs)


def test_per_lane_factors_equal_per_lane_rounded_delays(rng):
    pe = PEConfig(cells="compound", adder="ks", technology=FORMULA)
    timing = stage_timing(pe, t_clk_ps=400.0, delay_scale=2.0)
    netlist = pe.stages["adder"]
    old, new = _operands(rng, netlist, 40)
    factors = rng.uniform(0.8, 1.3, 40)
    nominal = {cell: d * 2.0 * 1000 for cell, d in pe.library.delays_ps.items()}
    fast = simulate_gate_fast(
        netlist,
        old,
        new,
        delays_fs=timing.delays_fs,
        t_sample_fs=timing.t_sample_fs,
        nominal_delays_fs=nominal,
        lane_factors=factors,
    )
    for lane in range(40):
        lane_delays = {cell: max(1, int(np.rint(value * factors[lane]))) for cell, value in nominal.items()}
        one = simulate_gate(
            netlist,
            {k: v[lane : lane + 1] for k, v in old.items()},
            {k: v[lane : lane + 1] for k, v in new.items()},
            delays_fs=lane_delays,
            t_sample_fs=timing.t_sample_fs,
        )
        assert fast.latched[lane] == one.latched[0]


@pytest.mark.parametrize("technology", [FORMULA, LIBRARY])
@pytest.mark.parametrize(
    "config",
    [c for c in CONFIGS if not (c["adder"] == "rca" and c["pipeline"] == "registered")],
    ids=lambda c: "-".join(c.values()),
)
def test_chain_level_of_every_other_configuration_is_exact(config, technology, rng):
    """The Python gate level on the stage's arcs and clock-to-Q launch times (zero on the formula preset)."""
    pe = PEConfig(**config, technology=technology)
    timing = stage_timing(pe, t_clk_ps=450.0, delay_scale=1.8)
    prev_a, prev_b, a, b = rng.integers(-128, 128, (4, 200))
    prev_c, c = rng.integers(-(2**12), 2**12, (2, 200))
    chain = evaluate_chain(pe, timing, prev_a=prev_a, prev_b=prev_b, prev_c=prev_c, a=a, b=b, c=c)

    def gate(stage, old, new):
        return simulate_gate(
            pe.stages[stage],
            old,
            new,
            delays_fs=timing.arcs_fs(stage),
            t_sample_fs=timing.t_sample_fs,
            launch_fs=timing.launch_fs(stage),
        )

    if pe.pipeline == "registered":
        stage = gate("adder", {"product": prev_a * prev_b, "c": prev_c}, {"product": a * b, "c": c})
        product = gate("multiplier", {"a": prev_a, "b": prev_b}, {"a": a, "b": b})
        assert np.array_equal(chain.product_latched & 0xFFFF, product.latched)
    else:
        stage = gate("mac", {"a": prev_a, "b": prev_b, "c": prev_c}, {"a": a, "b": b, "c": c})
    assert np.array_equal(chain.latched & 0xFFFFFFFF, stage.latched)
    assert np.array_equal(chain.settle_fs, stage.settle_fs)


def _asymmetric(netlist, cells: str, scale: float, seed: int):
    source = LinearDelays(
        intrinsic_ps=asymmetric_intrinsics(cells, seed),
        pin_ff={(cell, pin): 0.5 + 0.4 * k for cell, pins in CELL_PINS.items() for k, pin in enumerate(pins)},
        ps_per_ff=2.0,
        slew_factor=0.2,
        d_pin_ff=1.0,
        q_slew_ps=(5.0, 7.0),
        clk_to_q=(6.0, 8.0),
        scale=scale,
    )
    return instance_arcs(netlist, source)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(c.values()))
@pytest.mark.parametrize("scale", [1.0, 2.5])
def test_numba_gate_level_equals_the_python_reference_on_per_pin_per_edge_arcs(config, scale, rng):
    """Asymmetric arcs (rise 1.3x fall, pin-dependent, random), sampled at 0.7 of the longest path, with a shadow."""
    pe = PEConfig(**config)
    for stage, netlist in pe.stages.items():
        instance = _asymmetric(netlist, pe.cells, scale, seed=len(stage))
        arcs, launch = instance.rounded_fs(), instance.launch_fs()
        longest = int(latest_arrival_fs(netlist, arcs, launch)[netlist.outputs[list(netlist.outputs)[-1]]].max())
        t_sample = int(0.7 * longest)
        old, new = _operands(rng, netlist, 150)
        kwargs = dict(delays_fs=arcs, t_sample_fs=t_sample, t_shadow_fs=t_sample + longest // 10, launch_fs=launch)
        reference = simulate_gate(netlist, old, new, **kwargs)
        fast = simulate_gate_fast(netlist, old, new, **kwargs)
        assert np.array_equal(fast.latched, reference.latched)
        assert np.array_equal(fast.shadow, reference.shadow)
        assert np.array_equal(fast.correct, reference.correct)
        assert np.array_equal(fast.bit_settle_fs, reference.bit_settle_fs)
        assert (reference.latched != reference.correct).any()


def test_per_lane_factors_scale_exact_arcs_before_rounding(rng):
    pe = PEConfig(cells="2in", adder="ks")
    netlist = pe.stages["adder"]
    instance = _asymmetric(netlist, "2in", 1.3, seed=7)
    exact, launch = instance.exact_fs, instance.launch_exact_fs
    old, new = _operands(rng, netlist, 30)
    factors = rng.uniform(0.8, 1.3, 30)
    fast = simulate_gate_fast(
        netlist,
        old,
        new,
        delays_fs={},
        t_sample_fs=250_000,
        nominal_delays_fs=exact,
        lane_factors=factors,
        nominal_launch_fs=launch,
    )
    for lane in range(30):
        one = simulate_gate(
            netlist,
            {k: v[lane : lane + 1] for k, v in old.items()},
            {k: v[lane : lane + 1] for k, v in new.items()},
            delays_fs=np.maximum(1, np.rint(exact * factors[lane])).astype(np.int64),
            t_sample_fs=250_000,
            launch_fs=np.rint(launch * factors[lane]).astype(np.int64),
        )
        assert fast.latched[lane] == one.latched[0]
        assert np.array_equal(fast.bit_settle_fs[lane], one.bit_settle_fs[0])
