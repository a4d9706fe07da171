"""Razor detection: shadow sampling at t_s + window at the gate and chain levels.

Expected values come from hand calculations on small netlists, from Icarus Verilog (the
emitted testbench also samples at t_s + window) and from the closed-form consequences of
the definitions (window 0: nothing detected; a window past the last transition: every
wrong protected bit detected and corrected).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from pe_models.chain import evaluate_chain, stage_inputs, static_output_arrival_fs
from pe_models.errors import ConfigError
from pe_models.gate import simulate_gate, simulate_gate_fast
from pe_models.netlist import Netlist
from pe_models.pe import OperatingPoint, PEConfig, stage_timing
from pe_models.razor import min_path_fs, razor_masks, window_fs
from pe_models.verilog import run_icarus_detailed, settle_bound_fs, write_verilog_bundle
from tests.pe_models.icarus_pair import icarus_and_gate

requires_icarus = pytest.mark.icarus
MASK32 = (1 << 32) - 1
FORMULA = "ptm-32nm-hp"
"""The formula preset: one reasoned delay per cell type (compound XOR3 30 ps at nominal VDD)."""
LIBRARY = "ptm-32nm-hp-cells"
BOTH = pytest.mark.parametrize("technology", [FORMULA, LIBRARY])
COLUMNS = ("prev_a", "prev_b", "prev_c", "a", "b", "c")


def pulse_netlist() -> Netlist:
    """y[0] pulses to 1 from 52 to 67 ps after any change of a (15 ps AND2, 22 ps XOR2, 30 ps XOR3)."""
    netlist = Netlist("pulse")
    a = netlist.add_input("a", 1)[0]
    delayed = netlist.gate("and2", a, a, name="delayed")
    pulse = netlist.gate("xor2", a, delayed, name="pulse")
    netlist.set_output("y", [netlist.gate("xor3", pulse, 0, 0, name="y")])
    return netlist


PULSE_DELAYS = {"and2": 15_000, "xor2": 22_000, "xor3": 30_000}
PULSE_CASES = [
    # (t_s, window, latched, shadow, detected, silent, miscorrected)
    pytest.param(50_000, 10_000, 0, 1, 1, 0, 1, id="pulse-inside-window-miscorrected"),
    pytest.param(55_000, 5_000, 1, 1, 0, 1, 0, id="wrong-past-window-silent"),
    pytest.param(55_000, 20_000, 1, 0, 1, 0, 0, id="detected-and-corrected"),
    pytest.param(40_000, 40_000, 0, 0, 0, 0, 0, id="pulse-between-samples-harmless"),
    pytest.param(52_000, 0, 1, 1, 0, 1, 0, id="window-0-edge-at-sample"),
    pytest.param(52_000, 15_000, 1, 0, 1, 0, 0, id="edge-at-shadow-instant-counts"),
]


@pytest.mark.parametrize(("t_s", "window", "latched", "shadow", "det", "silent", "mis"), PULSE_CASES)
def test_shadow_of_a_glitch_by_hand(t_s, window, latched, shadow, det, silent, mis):
    netlist = pulse_netlist()
    old, new = {"a": np.array([0, 1])}, {"a": np.array([1, 0])}
    for simulate in (simulate_gate, simulate_gate_fast):
        result = simulate(netlist, old, new, delays_fs=PULSE_DELAYS, t_sample_fs=t_s, t_shadow_fs=t_s + window)
        np.testing.assert_array_equal(result.latched, [latched, latched])
        np.testing.assert_array_equal(result.shadow, [shadow, shadow])
        np.testing.assert_array_equal(result.correct, [0, 0])
        masks = razor_masks(result.latched, result.shadow, result.correct, 1, 1)
        assert [int(m[0]) for m in masks] == [det, silent, mis]


@pytest.mark.icarus
@requires_icarus
@pytest.mark.parametrize(("t_s", "window", "latched", "shadow", "det", "silent", "mis"), PULSE_CASES)
def test_icarus_shadow_of_a_glitch(tmp_path, t_s, window, latched, shadow, det, silent, mis):
    old, new = {"a": np.array([0, 1])}, {"a": np.array([1, 0])}
    paths = write_verilog_bundle(
        tmp_path,
        pulse_netlist(),
        delays_fs=PULSE_DELAYS,
        t_sample_fs=t_s,
        old_inputs=old,
        new_inputs=new,
        window_fs=window,
    )
    result = run_icarus_detailed(paths)
    np.testing.assert_array_equal(result.latched, [latched, latched])
    np.testing.assert_array_equal(result.shadow, [shadow, shadow])


def mac_vectors(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A stream of n MACs (each starts where the previous ended), half the partial sums near -product."""
    a, b = rng.integers(-128, 128, (2, n + 1))
    c = rng.integers(-(1 << 22), 1 << 22, n + 1)
    near = rng.random(n + 1) < 0.5
    c[near] = -(a[near] * b[near]) + rng.integers(-2, 3, int(near.sum()))
    return {"prev_a": a[:-1], "prev_b": b[:-1], "prev_c": c[:-1], "a": a[1:], "b": b[1:], "c": c[1:]}


def _case(cells: str, pipeline: str, scale: float, rng: np.random.Generator, n: int, technology: str):
    """PE, timing with t_s where ~40 % of the vectors still switch, vectors, stage and its inputs."""
    pe = PEConfig(cells=cells, pipeline=pipeline, technology=technology)
    timing = stage_timing(pe, t_clk_ps=2000.0, delay_scale=scale)
    vectors = mac_vectors(n, rng)
    stage = "adder" if pipeline == "registered" else "mac"
    old, new = stage_inputs(stage, *(vectors[column] for column in COLUMNS))
    probe = simulate_gate_fast(
        pe.stages[stage],
        old,
        new,
        delays_fs=timing.arcs_fs(stage),
        t_sample_fs=0,
        launch_fs=timing.launch_fs(stage),
    )
    settle = np.sort(probe.settle_fs)
    t_s = int(settle[int(0.6 * n)])
    return pe, replace(timing, t_sample_fs=t_s), vectors, stage, old, new, int(settle[-1])


@pytest.mark.icarus
@requires_icarus
@pytest.mark.parametrize(
    ("cells", "pipeline", "scale", "technology"),
    [
        *[
            (*case, technology)
            for technology in (FORMULA, LIBRARY)
            for case in [("compound", "registered", 1.0), ("2in", "registered", 2.2), ("compound", "fused", 1.0)]
        ],
        # 40-100 s through Icarus: once, on the formula preset
        ("2in", "fused", 3.1, FORMULA),
    ],
)
def test_gate_and_chain_shadow_and_masks_equal_icarus(tmp_path, rng, cells, pipeline, scale, technology):
    """For windows 0, short, medium and past the last transition: shadow and all three masks, bit for bit."""
    pe, timing, vectors, stage, old, new, last = _case(cells, pipeline, scale, rng, 240, technology)
    netlist = pe.stages[stage]
    protected = 0xFFF00F0F
    span = max(last - timing.t_sample_fs, 1)
    bound = settle_bound_fs(netlist, timing.arcs_fs(stage), timing.launch_fs(stage))
    for window in (0, span // 7 + 1, span // 2, span + bound):
        directory = tmp_path / f"w{window}"
        icarus, gate = icarus_and_gate(directory, netlist, timing, old, new, window, stage)
        chain = evaluate_chain(pe, timing, **vectors, window_fs=window)
        assert icarus.shadow is not None
        np.testing.assert_array_equal(gate.shadow, icarus.shadow)
        np.testing.assert_array_equal(chain.shadow & MASK32, icarus.shadow)
        np.testing.assert_array_equal(chain.latched & MASK32, icarus.latched)
        expected = razor_masks(icarus.latched, icarus.shadow, icarus.correct, protected, 32)
        for level in (
            razor_masks(gate.latched, gate.shadow, gate.correct, protected, 32),
            razor_masks(chain.latched, chain.shadow, chain.correct, protected, 32),
        ):
            for got, want in zip(level, expected, strict=True):
                np.testing.assert_array_equal(got, want)
        if 0 < window < span:
            assert (expected[0] != 0).any(), "no detection: the vectors do not exercise the window"


@BOTH
@pytest.mark.parametrize("cells", ["compound", "2in"])
@pytest.mark.parametrize(("adder", "pipeline"), [("rca", "registered"), ("ks", "registered"), ("rca", "fused")])
def test_window_zero_detects_nothing_and_a_window_past_the_longest_path_detects_every_wrong_bit(
    rng, cells, adder, pipeline, technology
):
    pe = PEConfig(cells=cells, adder=adder, pipeline=pipeline, technology=technology)
    nominal = stage_timing(pe, operating_point=OperatingPoint(vdd_v=0.5, f_clk_mhz=500.0))
    vectors = mac_vectors(400, rng)
    protected = 0xFFFF0000
    name = "adder" if pipeline == "registered" else "mac"
    arcs, launch = nominal.arcs_fs(name), nominal.launch_fs(name)
    longest = settle_bound_fs(pe.stages[name], arcs, launch)
    # Sampled at a third of the latest static arrival of a sum bit (per edge; the settle bound,
    # with the largest arc of every cell, is about 5x later on the characterised compound adder).
    arrival = static_output_arrival_fs(pe.stages[name], arcs, list(pe.stages[name].outputs)[-1], launch).max()
    timing = replace(nominal, t_sample_fs=int(arrival) // 3)
    none = evaluate_chain(pe, timing, **vectors, window_fs=0)
    np.testing.assert_array_equal(none.shadow, none.latched)
    assert not razor_masks(none.latched, none.shadow, none.correct, protected, 32)[0].any()
    full = evaluate_chain(pe, timing, **vectors, window_fs=longest - timing.t_sample_fs + 1)
    detected, silent, miscorrected = razor_masks(full.latched, full.shadow, full.correct, protected, 32)
    wrong = (full.latched ^ full.correct) & protected
    assert wrong.any(), "no wrong protected bit: the operating point is too slow for the test"
    assert not silent.any() and not miscorrected.any()
    np.testing.assert_array_equal(detected, wrong)
    np.testing.assert_array_equal(full.shadow, full.correct)


def test_razor_masks_by_hand():
    latched = np.array([0b1010, 0b0000])
    shadow = np.array([0b0110, 0b0001])
    correct = np.array([0b0101, 0b0000])
    detected, silent, miscorrected = razor_masks(latched, shadow, correct, 0b1110, 4)
    np.testing.assert_array_equal(detected, [0b1100, 0b0000])
    np.testing.assert_array_equal(silent, [0b0010, 0b0000])
    np.testing.assert_array_equal(miscorrected, [0b0000 | (0b1100 & (0b0110 ^ 0b0101)), 0])


def test_min_path_of_every_ripple_carry_sum_bit_is_one_xor3():
    """Sum bit i = XOR3(c_i, product_i, carry_i): the operand pins switch at 0, so 30 ps."""
    pe = PEConfig(cells="compound", technology=FORMULA)
    timing = stage_timing(pe, t_clk_ps=1000.0)
    np.testing.assert_array_equal(min_path_fs(pe.stages["adder"], dict(timing.delays_fs), "sum"), [30_000] * 32)


def test_window_validation_messages():
    pe = PEConfig()
    timing = stage_timing(pe, t_clk_ps=1000.0)
    assert window_fs(timing, 150.0) == 150_000
    with pytest.raises(
        ConfigError, match=r"^razor_window_ps: 1500 ps is longer than the clock period 1000 ps; allowed: 0..1000 ps$"
    ):
        window_fs(timing, 1500.0)
    with pytest.raises(ConfigError, match=r"^razor_window_ps: -1 ps is negative; allowed: 0..1000 ps$"):
        window_fs(timing, -1.0)
    with pytest.raises(ValueError, match="needs the PE"):
        window_fs(timing, None)


def test_t_setup_option_sets_the_sampling_instant():
    pe = PEConfig()
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=0.6, f_clk_mhz=500.0), t_setup_ps=40.0)
    assert timing.t_clk_fs == 2_000_000
    assert timing.t_sample_fs == 2_000_000 - 40_000
    assert timing.t_setup_fs == 40_000
    with pytest.raises(
        ConfigError,
        match=r"^t_setup_ps: expected a setup time in \[0, 2000\) ps \(shorter than the clock period\), got 2000.0$",
    ):
        stage_timing(pe, t_clk_ps=2000.0, t_setup_ps=2000.0)
