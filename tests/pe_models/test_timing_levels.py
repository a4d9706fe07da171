"""Gate level against hand calculation, and the chain level against the gate level.

The ripple-carry adder stage of the registered pipeline must agree bit-exactly
(latched values with glitches, per-bit settle times) between the chain and gate
levels, for both cell libraries, at several delay scales, on the formula preset (one
reasoned delay per cell type: the closed forms) and on the characterised library
(per-pin, per-edge arcs and clock-to-Q launch times: the exact event kernel).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pe_models.chain import evaluate_adder_stage, evaluate_chain
from pe_models.gate import simulate_gate
from pe_models.pe import OperatingPoint, PEConfig, stage_timing

MASK32 = (1 << 32) - 1
FORMULA = "ptm-32nm-hp"
LIBRARY = "ptm-32nm-hp-cells"


def test_gate_level_matches_hand_calculation_of_a_long_carry():
    """5 + 7 -> -3 + 7 on the compound ripple-carry adder (MAJ3 20 ps, XOR3 30 ps).

    Old carries into bits 1..3 are 1. New: bit 2 generates, bits 3..31 propagate, so
    the carry into bit i (i >= 4) arrives after i - 3 carry delays; bit 31 settles at
    30 + 28 * 20 = 590 ps. Sampled at 300 ps, k = (300 - 30) // 20 = 13 carry steps
    have passed: bits up to 16 are right, bits 17..31 still show A ^ B ^ old carry = 1.
    """
    pe = PEConfig(cells="compound")
    result = simulate_gate(
        pe.stages["adder"],
        {"product": np.array([5]), "c": np.array([7])},
        {"product": np.array([-3]), "c": np.array([7])},
        delays_fs={"xor3": 30_000, "maj3": 20_000},
        t_sample_fs=300_000,
    )
    assert result.correct[0] == 4
    assert result.latched[0] == 0xFFFE0004
    assert result.settle_fs[0] == 590_000


def test_simultaneous_input_changes_make_no_pulse():
    """1 + 0 -> 0 + 1: both inputs of bit 0's XOR2 switch at t = 0, so p0 stays 1 and sum bit 0 never moves."""
    pe = PEConfig(cells="2in")
    delays = {"xor2": 10_000, "and2": 9_000, "or2": 10_000, "nand2": 5_000}
    old = {"product": np.array([1]), "c": np.array([0])}
    new = {"product": np.array([0]), "c": np.array([1])}
    early = simulate_gate(pe.stages["adder"], old, new, delays_fs=delays, t_sample_fs=20_000)
    assert early.correct[0] == 1
    assert early.latched[0] == 1
    assert early.bit_settle_fs[0, 0] == 0


def _targeted(n):
    """Sign crossings, overflow and long carry chains of the accumulator."""
    partial = np.array([-1, 0, 1, 2**31 - 1, -(2**31), -2, 255, -256, 65535, -65536])
    product = np.array([1, -1, -2, 1, -1, 3, 1, -1, 1, -1])
    reps = n // len(partial) + 1
    return np.tile(partial, reps)[:n], np.tile(product, reps)[:n]


def _operands(rng, n):
    old_partial = rng.integers(-(2**12), 2**12, n)
    new_partial = rng.integers(-(2**12), 2**12, n)
    old_product = rng.integers(-128, 128, n) * rng.integers(-128, 128, n)
    new_product = rng.integers(-128, 128, n) * rng.integers(-128, 128, n)
    targeted_partial, targeted_product = _targeted(200)
    return (
        np.concatenate([old_product, -targeted_product]),
        np.concatenate([old_partial, -targeted_partial]),
        np.concatenate([new_product, targeted_product]),
        np.concatenate([new_partial, targeted_partial]),
    )


class ExactAdderStageContract:
    """Chain == gate on the registered ripple-carry adder stage (inherited per cell library and technology)."""

    cells: str
    technology: str = FORMULA

    def _gate(self, pe, timing, old_p, old_c, new_p, new_c):
        return simulate_gate(
            pe.stages["adder"],
            {"product": old_p, "c": old_c},
            {"product": new_p, "c": new_c},
            delays_fs=timing.arcs_fs("adder"),
            t_sample_fs=timing.t_sample_fs,
            launch_fs=timing.launch_fs("adder"),
        )

    @pytest.mark.parametrize("scale", [1.0, 2.4, 3.7])
    def test_latched_values_and_settle_times_are_bit_exact(self, rng, scale):
        pe = PEConfig(cells=self.cells, technology=self.technology)
        timing = stage_timing(pe, t_clk_ps=700.0, delay_scale=scale)
        old_p, old_c, new_p, new_c = _operands(rng, 600)
        latched, correct, settle, bits = evaluate_adder_stage(
            pe, timing, old_product=old_p, old_partial=old_c, new_product=new_p, new_partial=new_c, bit_settle=True
        )
        gate = self._gate(pe, timing, old_p, old_c, new_p, new_c)
        assert np.array_equal(latched, gate.latched)
        assert np.array_equal(correct, gate.correct)
        assert np.array_equal(bits, gate.bit_settle_fs)
        assert np.array_equal(settle, gate.settle_fs)
        if scale > 3:
            wrong = gate.latched != gate.correct
            old_sum = (old_p + old_c) & MASK32
            glitches = wrong & (gate.latched != old_sum)
            assert wrong.sum() >= 50
            assert glitches.sum() >= 5

    @pytest.mark.parametrize("scale", [1.0, 2.4, 3.7])
    def test_fast_latched_only_path_is_bit_exact(self, rng, scale):
        pe = PEConfig(cells=self.cells, technology=self.technology)
        timing = stage_timing(pe, t_clk_ps=700.0, delay_scale=scale)
        old_p, old_c, new_p, new_c = _operands(rng, 600)
        latched, _, _, _ = evaluate_adder_stage(
            pe,
            timing,
            old_product=old_p,
            old_partial=old_c,
            new_product=new_p,
            new_partial=new_c,
            need_settle=False,
        )
        gate = self._gate(pe, timing, old_p, old_c, new_p, new_c)
        assert np.array_equal(latched, gate.latched)

    def _scaled_gate_timing(self, pe, timing, factor):
        """Formula preset: each reasoned delay x the delay scale x `factor`, rounded to fs, by hand."""
        scale = timing.delay_scale * factor
        return {"delays_fs": {cell: max(1, round(d * scale * 1000)) for cell, d in pe.library.delays_ps.items()}}

    def test_process_variation_factors_match_gate_with_scaled_delays(self, rng):
        pe = PEConfig(cells=self.cells, technology=self.technology)
        timing = stage_timing(pe, t_clk_ps=700.0, delay_scale=2.0)
        old_p, old_c, new_p, new_c = _operands(rng, 100)
        factors = np.full(old_p.shape, 1.37)
        latched, _, _, _ = evaluate_adder_stage(
            pe,
            timing,
            old_product=old_p,
            old_partial=old_c,
            new_product=new_p,
            new_partial=new_c,
            lane_factors=factors,
        )
        gate = simulate_gate(
            pe.stages["adder"],
            {"product": old_p, "c": old_c},
            {"product": new_p, "c": new_c},
            t_sample_fs=timing.t_sample_fs,
            **self._scaled_gate_timing(pe, timing, 1.37),
        )
        assert np.array_equal(latched, gate.latched)
        assert (gate.latched != gate.correct).any()


class TestCompoundRippleCarry(ExactAdderStageContract):
    cells = "compound"


class TestTwoInputRippleCarry(ExactAdderStageContract):
    cells = "2in"


class CharacterisedAdderStageContract(ExactAdderStageContract):
    technology = LIBRARY

    def _scaled_gate_timing(self, pe, timing, factor):
        """Library: every exact arc and clock-to-Q launch time x `factor`, rounded to fs after scaling."""
        return {
            "delays_fs": np.maximum(1, np.rint(timing.arcs.exact_fs("adder") * factor)).astype(np.int64),
            "launch_fs": np.rint(timing.arcs.launch_exact_fs("adder") * factor).astype(np.int64),
        }


class TestCompoundRippleCarryLibrary(CharacterisedAdderStageContract):
    cells = "compound"


class TestTwoInputRippleCarryLibrary(CharacterisedAdderStageContract):
    cells = "2in"


CONFIGS = [
    dict(cells=c, adder=a, pipeline=p)
    for c in ("compound", "2in")
    for a in ("rca", "ks")
    for p in ("registered", "fused")
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(c.values()))
def test_no_bit_flips_at_nominal_vdd_and_default_clock(config, rng):
    pe = PEConfig(**config)
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=0.9, f_clk_mhz=700.0))
    a, b, prev_a, prev_b = rng.integers(-128, 128, (4, 2000))
    c, prev_c = rng.integers(-(2**31), 2**31, (2, 2000))
    result = evaluate_chain(pe, timing, prev_a=prev_a, prev_b=prev_b, prev_c=prev_c, a=a, b=b, c=c)
    assert not result.flip_mask.any()
    assert np.array_equal(result.latched, result.correct)


int8 = st.integers(-128, 127)
int32 = st.integers(-(2**31), 2**31 - 1)


@settings(max_examples=200, deadline=None)
@given(int8, int8, int32, int8, int8, int32, st.floats(1.0, 4.0), st.sampled_from(["compound", "2in"]))
def test_a_mac_that_settles_before_the_sampling_instant_latches_the_correct_value(
    prev_a, prev_b, prev_c, a, b, c, scale, cells
):
    pe = PEConfig(cells=cells)
    timing = stage_timing(pe, t_clk_ps=900.0, delay_scale=scale)
    result = evaluate_chain(pe, timing, prev_a=[prev_a], prev_b=[prev_b], prev_c=[prev_c], a=[a], b=[b], c=[c])
    if result.settle_fs[0] <= timing.t_sample_fs:
        assert result.latched[0] == result.correct[0]
    assert result.correct[0] == np.int64(np.int32(np.int64(c) + a * b))


@settings(max_examples=200, deadline=None)
@given(int8, int8, int32, int8, int8, int32, st.integers(2, 5), st.sampled_from(["compound", "2in"]))
def test_settle_times_scale_linearly_with_the_delay_scale(prev_a, prev_b, prev_c, a, b, c, factor, cells):
    """Exact on the formula preset (whole-fs reasoned delays, no launch times); a characterised
    library rounds each arc after scaling, so there it holds only within the rounding."""
    pe = PEConfig(cells=cells, technology=FORMULA)
    ops = dict(prev_a=[prev_a], prev_b=[prev_b], prev_c=[prev_c], a=[a], b=[b], c=[c])
    base = evaluate_chain(pe, stage_timing(pe, t_clk_ps=900.0, delay_scale=1.0), **ops)
    scaled = evaluate_chain(pe, stage_timing(pe, t_clk_ps=900.0, delay_scale=float(factor)), **ops)
    assert scaled.settle_fs[0] == factor * base.settle_fs[0]
