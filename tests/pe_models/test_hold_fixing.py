"""Hold fixing of Razor bits with BUF cells: feasibility by hand, and every level timing the buffers.

Expected values: hand sums of the reasoned library's cell delays along the paths (compound:
XOR3 30, MAJ3 20 ps; 2-input: XOR2 22, AND2 15, OR2 16 ps; BUF 14 ps; setup 25 ps, hold 10 ps;
all at nominal VDD; the formula preset ptm-32nm-hp, pinned), Icarus Verilog on the buffered
netlist, and the gate level for the chain level (on the formula preset and on the
characterised library ptm-32nm-hp-cells).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pe_models.chain import evaluate_chain, stage_inputs
from pe_models.errors import ConfigError
from pe_models.gate import simulate_gate, simulate_gate_fast
from pe_models.pe import PEConfig, stage_timing
from pe_models.razor import razor_feasibility, razor_pe, window_fs, window_range_fs
from tests.pe_models.icarus_pair import icarus_and_gate

T_CLK_PS = 1e6 / 700.0
T_SAMPLE_PS = T_CLK_PS - 25.0
COLUMNS = ("prev_a", "prev_b", "prev_c", "a", "b", "c")
MASK32 = (1 << 32) - 1
FORMULA = "ptm-32nm-hp"
LIBRARY = "ptm-32nm-hp-cells"
BOTH = pytest.mark.parametrize("technology", [FORMULA, LIBRARY])


def _pe(**fields) -> PEConfig:
    """A PE on the formula preset: one reasoned delay per cell type, the hand sums above."""
    return PEConfig(**fields, technology=FORMULA)


def _compound_longest_ps(bit: int) -> float:
    """Sum bit i waits for the carry out of bits 0..i-1: i MAJ3 (20 ps) and its XOR3 (30 ps)."""
    return 30.0 + 20.0 * bit


def _two_input_longest_ps(bit: int) -> float:
    """Bit 0: XOR2 + XOR2 (44 ps). Bit i: carry c_{i-1} after i stages of AND2 + OR2 (31 ps each,
    the propagate XOR2 (22 ps) is earlier than the carry), then the sum XOR2 (22 ps)."""
    return 44.0 if bit == 0 else 31.0 * bit + 22.0


def test_feasibility_of_the_compound_ripple_carry_adder_by_hand():
    """Slack of bit 31: 1403.571 - 650 = 753.571 ps: floor(753.571 / 14) = 53 buffers (742 ps);
    the largest window is 30 + 742 - 10 = 762 ps, so every protected bit gets 53 buffers."""
    feasibility = razor_feasibility(_pe(), f_clk_mhz=700.0, protected_mask=0xFFFFFF00)
    buffers = math.floor((T_SAMPLE_PS - _compound_longest_ps(31)) / 14.0)
    assert buffers == 53
    assert feasibility.window_range_ps == (0.0, 30.0 + 14.0 * buffers - 10.0) == (0.0, 762.0)
    assert feasibility.window_ps == 762.0
    expected_buffers = [0] * 8 + [53] * 24
    np.testing.assert_array_equal(feasibility.hold_buffers, expected_buffers)
    np.testing.assert_array_equal(feasibility.min_path_ps, [30.0] * 32)
    np.testing.assert_array_equal(feasibility.max_path_ps, [_compound_longest_ps(i) for i in range(32)])
    delay = 14.0 * np.array(expected_buffers)
    np.testing.assert_array_equal(feasibility.min_path_with_buffers_ps, 30.0 + delay)
    np.testing.assert_array_equal(
        feasibility.max_path_with_buffers_ps, [_compound_longest_ps(i) + delay[i] for i in range(32)]
    )
    assert feasibility.feasible.all() and feasibility.plan_feasible
    assert feasibility.t_hold_ps == 10.0 and feasibility.buffer_delay_ps == 14.0


def test_feasibility_of_the_two_input_ripple_carry_adder_by_hand():
    """Shortest path of every bit XOR2 + XOR2 = 44 ps; bit 31's longest 31 x 31 + 22 = 983 ps:
    floor((1403.571 - 983) / 14) = 30 buffers, the largest window 44 + 420 - 10 = 454 ps."""
    feasibility = razor_feasibility(_pe(cells="2in"), f_clk_mhz=700.0)
    np.testing.assert_array_equal(feasibility.min_path_ps, [44.0] * 32)
    np.testing.assert_array_equal(feasibility.max_path_ps, [_two_input_longest_ps(i) for i in range(32)])
    assert feasibility.window_range_ps == (0.0, 454.0)
    np.testing.assert_array_equal(feasibility.hold_buffers, [30] * 32)


def test_a_given_window_gets_the_fewest_buffers_that_meet_hold():
    """150 + 10 - 30 = 130 ps short: ceil(130 / 14) = 10 buffers (140 ps) on the protected bits."""
    feasibility = razor_feasibility(_pe(), f_clk_mhz=700.0, protected_mask=0xFFF00000, window_ps=150.0)
    np.testing.assert_array_equal(feasibility.hold_buffers, [0] * 20 + [10] * 12)
    assert feasibility.min_path_with_buffers_ps[31] == 170.0
    assert feasibility.max_path_with_buffers_ps[31] == 650.0 + 140.0
    assert feasibility.max_path_with_buffers_ps[19] == _compound_longest_ps(19)


def test_a_window_below_the_shortest_path_needs_no_buffers():
    """Window 20 ps + hold 10 ps = 30 ps = one XOR3: hold already met."""
    assert not razor_feasibility(_pe(), f_clk_mhz=700.0, window_ps=20.0).hold_buffers.any()
    assert razor_feasibility(_pe(), f_clk_mhz=700.0, window_ps=21.0).hold_buffers.tolist() == [1] * 32


def test_a_window_past_the_range_is_a_one_line_error_naming_the_range():
    timing = stage_timing(_pe(), t_clk_ps=T_CLK_PS)
    with pytest.raises(
        ConfigError,
        match=r"^razor_window_ps: 800 ps is outside the feasible range 0\.\.762 ps of protected bits 31:8 at 700 MHz "
        r"\(hold after buffering, longest path with the buffers at nominal VDD\); allowed: 0\.\.762 ps$",
    ):
        window_fs(timing, 800.0, pe=_pe(), protected_mask=0xFFFFFF00)
    assert window_fs(timing, None, pe=_pe(), protected_mask=0xFFFFFF00) == 762_000
    assert window_fs(timing, 762.0, pe=_pe(), protected_mask=0xFFFFFF00) == 762_000


def test_a_plan_whose_longest_path_misses_the_clock_is_infeasible():
    """At 2000 MHz T_clk - t_setup = 475 ps < bit 31's 650 ps, even without buffers; bits 31:24
    at 1400 MHz fit (slack of bit 31: 714.286 - 25 - 650 = 39.3 ps: 2 buffers, window 48 ps)."""
    timing = stage_timing(_pe(), t_clk_ps=500.0)
    with pytest.raises(
        ConfigError,
        match=r"^protect: no feasible Razor window for protected bits 31:0 at 2000 MHz: bit 31's longest path, "
        r"650 ps without hold buffers, misses T_clk - t_setup = 475 ps at nominal VDD; allowed: a slower clock "
        r"or fewer protected bits$",
    ):
        window_fs(timing, None, pe=_pe())
    assert window_range_fs(_pe(), f_clk_mhz=2000.0) is None
    assert window_range_fs(_pe(), f_clk_mhz=1400.0, protected_mask=0xFF000000) == (0, 48_000)


def test_buffers_sit_between_the_sum_and_the_flip_flop_and_lengthen_no_other_path():
    pe = _pe(hold_buffers=(0,) * 30 + (3, 5))
    plain = _pe()
    stage, reference = pe.stages["adder"], plain.stages["adder"]
    assert stage.cell_counts() == {**reference.cell_counts(), "buf": 8}
    delays = dict(stage_timing(pe, t_clk_ps=T_CLK_PS).delays_fs)
    arrival = stage.static_arrival_fs(delays)
    longest = [arrival[net] for net in stage.outputs["sum"]]
    assert longest[:30] == [round(_compound_longest_ps(i) * 1000) for i in range(30)]
    assert longest[30:] == [(630 + 42) * 1000, (650 + 70) * 1000]
    assert stage.name == "acc_rca32_compound_hold"


def test_pe_rejects_a_wrong_number_of_buffer_counts():
    with pytest.raises(
        ConfigError,
        match=r"^hold_buffers: expected 32 buffer counts in 0\.\.10000 \(one per accumulator bit\) or none, "
        r"got \(1, 2\)$",
    ):
        PEConfig(hold_buffers=(1, 2))


def _mac_vectors(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Half the partial sums near -product (long carry chains), the others random."""
    a, b = rng.integers(-128, 128, (2, n + 1))
    c = rng.integers(-(1 << 22), 1 << 22, n + 1)
    near = rng.random(n + 1) < 0.5
    c[near] = -(a[near] * b[near]) + rng.integers(-2, 3, int(near.sum()))
    return {"prev_a": a[:-1], "prev_b": b[:-1], "prev_c": c[:-1], "a": a[1:], "b": b[1:], "c": c[1:]}


@BOTH
@pytest.mark.parametrize("cells", ["compound", "2in"])
@pytest.mark.parametrize("scale", [1.0, 1.9, 2.4, 3.5])
def test_chain_level_equals_the_gate_level_with_hold_buffers(rng, cells, scale, technology):
    """Latched, shadow and per-bit settle times, bit for bit, with 150 ps hold fixing on 31:12
    (the gate level on the stage's arcs and its inputs' clock-to-Q launch times)."""
    pe = razor_pe(
        PEConfig(cells=cells, technology=technology), f_clk_mhz=700.0, protected_mask=0xFFFFF000, window_ps=150.0
    )
    assert pe.hold_buffers[31] > 0 and pe.hold_buffers[11] == 0
    timing = stage_timing(pe, t_clk_ps=T_CLK_PS, delay_scale=scale)
    vectors = _mac_vectors(1500, rng)
    old, new = stage_inputs("adder", *(vectors[column] for column in COLUMNS))
    window = 150_000
    gate = simulate_gate_fast(
        pe.stages["adder"],
        old,
        new,
        delays_fs=timing.arcs_fs("adder"),
        t_sample_fs=timing.t_sample_fs,
        t_shadow_fs=timing.t_sample_fs + window,
        launch_fs=timing.launch_fs("adder"),
    )
    chain = evaluate_chain(pe, timing, **vectors, window_fs=window, bit_settle=True)
    np.testing.assert_array_equal(chain.latched & MASK32, gate.latched)
    np.testing.assert_array_equal(chain.shadow & MASK32, gate.shadow)
    np.testing.assert_array_equal(chain.bit_settle_fs, gate.bit_settle_fs)
    if scale > 1.0:
        assert (gate.latched != gate.correct).any()


@BOTH
@pytest.mark.parametrize("cells", ["compound", "2in"])
def test_chain_level_equals_the_gate_level_with_hold_buffers_and_variation(rng, cells, technology):
    """Per-lane factors scale every exact arc and the inputs' clock-to-Q launch times before
    rounding (the characterised library launches its inputs at the flip-flops' clock-to-Q)."""
    pe = razor_pe(
        PEConfig(cells=cells, technology=technology), f_clk_mhz=700.0, protected_mask=0xFFFF0000, window_ps=200.0
    )
    timing = stage_timing(pe, t_clk_ps=T_CLK_PS, delay_scale=1.6)
    vectors = _mac_vectors(600, rng)
    factors = rng.normal(1.0, 0.1, 600)
    old, new = stage_inputs("adder", *(vectors[column] for column in COLUMNS))
    gate = simulate_gate_fast(
        pe.stages["adder"],
        old,
        new,
        delays_fs=timing.arcs_fs("adder"),
        t_sample_fs=timing.t_sample_fs,
        nominal_delays_fs=timing.arcs.exact_fs("adder"),
        lane_factors=factors,
        nominal_launch_fs=timing.arcs.launch_exact_fs("adder"),
    )
    chain = evaluate_chain(pe, timing, **vectors, lane_factors=factors)
    np.testing.assert_array_equal(chain.latched & MASK32, gate.latched)
    assert (gate.latched != gate.correct).any()


def test_a_buffered_bit_is_the_sum_sampled_a_chain_delay_earlier():
    """The gate level on the buffered stage equals the plain stage sampled at t_s - 3 x 14 ps
    (one BUF delay for both edges: a chain is a pure delay)."""
    plain = _pe()
    buffered = _pe(hold_buffers=(3,) * 32)
    rng = np.random.default_rng(5)
    vectors = _mac_vectors(300, rng)
    old, new = stage_inputs("adder", *(vectors[column] for column in COLUMNS))
    timing = stage_timing(plain, t_clk_ps=T_CLK_PS, delay_scale=1.8)
    t_s = timing.t_sample_fs
    delay = 3 * timing.delays_fs["buf"]
    late = simulate_gate(buffered.stages["adder"], old, new, delays_fs=timing.delays_fs, t_sample_fs=t_s)
    early = simulate_gate(plain.stages["adder"], old, new, delays_fs=timing.delays_fs, t_sample_fs=t_s - delay)
    np.testing.assert_array_equal(late.latched, early.latched)


@pytest.mark.icarus
@BOTH
@pytest.mark.parametrize(
    ("cells", "pipeline"), [("compound", "registered"), ("2in", "registered"), ("compound", "fused")]
)
def test_gate_level_equals_icarus_with_hold_buffers(tmp_path, rng, cells, pipeline, technology):
    """The buffered stage through Icarus: latched and shadow values, bit for bit."""
    pe = razor_pe(
        PEConfig(cells=cells, pipeline=pipeline, technology=technology),
        f_clk_mhz=700.0,
        protected_mask=0xFFFF0000,
        window_ps=120.0,
    )
    stage = "adder" if pipeline == "registered" else "mac"
    netlist = pe.stages[stage]
    assert netlist.cell_counts()["buf"] > 0
    timing = stage_timing(pe, t_clk_ps=T_CLK_PS, delay_scale=2.2)
    vectors = _mac_vectors(150, rng)
    old, new = stage_inputs(stage, *(vectors[column] for column in COLUMNS))
    window = 120_000
    icarus, gate = icarus_and_gate(tmp_path, netlist, timing, old, new, window, stage)
    np.testing.assert_array_equal(gate.latched, icarus.latched)
    np.testing.assert_array_equal(gate.shadow, icarus.shadow)
    assert (icarus.latched != icarus.correct).any()


@pytest.mark.slow
def test_the_default_window_of_the_characterised_library_is_feasible_on_the_built_netlist():
    """A characterised BUF's delay depends on its input slew (about 5.83 ps for the second
    buffer of a chain, 5.75 ps further on), so a linear chain model misjudges 100-buffer
    chains by a few ps; the hold fix is checked on the built netlist: every bit of the
    default window meets hold and setup, and 1 ps more is outside the range."""
    pe = PEConfig(technology=LIBRARY)
    feasibility = razor_feasibility(pe, f_clk_mhz=700.0)
    assert feasibility.plan_feasible
    assert feasibility.window_range_ps is not None
    top = feasibility.window_range_ps[1]
    assert feasibility.window_ps == top
    assert (feasibility.min_path_with_buffers_ps >= top + feasibility.t_hold_ps).all()
    assert (feasibility.max_path_with_buffers_ps <= feasibility.t_sample_ps).all()
    assert not razor_feasibility(pe, f_clk_mhz=700.0, window_ps=top + 1.0).plan_feasible
