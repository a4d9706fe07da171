"""Hand-worked MAC and adder cases, run through every fidelity level.

One contract class holds the cases and their expected values, worked out by hand in the
docstrings; each subclass plugs in one level (Python gate, numba gate, chain, and Icarus
Verilog when it is installed), so every level is held to the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from pe_models.chain import evaluate_chain, stage_inputs
from pe_models.gate import simulate_gate, simulate_gate_fast
from pe_models.pe import PEConfig, StageTiming, stage_timing
from pe_models.verilog import run_icarus_detailed, write_verilog_bundle

MASK32 = (1 << 32) - 1


@dataclass(frozen=True)
class Case:
    """One MAC ``a * b + c`` after ``prev_a * prev_b + prev_c`` and its hand-worked outcome (unsigned)."""

    pe: PEConfig
    t_clk_ps: float
    previous: tuple[int, int, int]
    new: tuple[int, int, int]
    latched: int
    correct: int
    settle_ps: float

    @property
    def stage(self) -> str:
        return "adder" if self.pe.pipeline == "registered" else "mac"

    @property
    def timing(self) -> StageTiming:
        return stage_timing(self.pe, t_clk_ps=self.t_clk_ps, delay_scale=1.0)


REASONED = "ptm-32nm-hp"
"""These hand-computed cases add one delay per cell type: the reasoned formula preset."""
COMPOUND_SLOW_CELLS = PEConfig(cells="compound", cell_delays_ps={"xor3": 30.0, "maj3": 20.0}, technology=REASONED)
TWO_INPUT_CELLS = PEConfig(
    cells="2in", cell_delays_ps={"xor2": 10.0, "and2": 9.0, "or2": 10.0, "nand2": 5.0}, technology=REASONED
)
FUSED = PEConfig(cells="compound", pipeline="fused", technology=REASONED)
SETUP_PS = 25.0

LONG_CARRY = Case(
    pe=COMPOUND_SLOW_CELLS,
    t_clk_ps=300.0 + SETUP_PS,
    previous=(5, 1, 7),
    new=(-3, 1, 7),
    latched=0xFFFE0004,
    correct=4,
    settle_ps=590.0,
)
"""5 + 7 -> -3 + 7 on the compound ripple-carry adder (MAJ3 20 ps, XOR3 30 ps), sampled at 300 ps.

Old carries into bits 1..3 are 1. New: bit 2 generates, bits 3..31 propagate, so the carry
into bit i (i >= 4) arrives after i - 3 carry delays; bit 31 settles at 30 + 28 * 20 = 590 ps.
At 300 ps, k = (300 - 30) // 20 = 13 carry steps have passed: bits up to 16 are right, bits
17..31 still show A ^ B ^ old carry = 1, so the latched word is 0xFFFE0004.
"""

NO_PULSE = Case(
    pe=TWO_INPUT_CELLS,
    t_clk_ps=20.0 + SETUP_PS,
    previous=(1, 1, 0),
    new=(0, 1, 1),
    latched=1,
    correct=1,
    settle_ps=0.0,
)
"""1 + 0 -> 0 + 1 on 2-input cells: both inputs of bit 0's XOR2 switch at t = 0, so p0 stays 1;
no generate or carry changes anywhere, so no net moves and the sum stays 1."""

FUSED_BEFORE_ANY_CELL = Case(
    pe=FUSED,
    t_clk_ps=SETUP_PS + 1.0,
    previous=(-128, -128, 2**31 - 1),
    new=(3, -5, 100),
    latched=0x80003FFF,
    correct=85,
    settle_ps=-1.0,
)
"""Sampled 1 ps after the inputs switch, before the fastest cell (9 ps) can respond: the output
still holds the previous result (-128)(-128) + 2^31 - 1 = 2^31 + 16383, which wraps to
0x80003FFF; the settled new value is 3 * (-5) + 100 = 85. (settle_ps -1: not checked.)"""

FUSED_GENEROUS_CLOCK = Case(
    pe=FUSED,
    t_clk_ps=100_000.0,
    previous=(3, -5, 100),
    new=(-128, -128, 2**31 - 1),
    latched=0x80003FFF,
    correct=0x80003FFF,
    settle_ps=-1.0,
)
"""With a 100 ns clock every net has settled: latched = correct = (-128)(-128) + 2^31 - 1 wrapped."""

CASES = [LONG_CARRY, NO_PULSE, FUSED_BEFORE_ANY_CELL, FUSED_GENEROUS_CLOCK]
CASE_IDS = ["long-carry", "no-pulse", "fused-before-any-cell", "fused-generous-clock"]


def _buses(case: Case) -> tuple[dict, dict]:
    previous = [np.array([value]) for value in case.previous]
    new = [np.array([value]) for value in case.new]
    return stage_inputs(case.stage, *previous, *new)


class LevelContract:
    """Every level reproduces the hand-worked cases: (latched, correct, last settle in fs), unsigned."""

    def evaluate(self, case: Case, tmp_path: Path) -> tuple[int, int, int]:
        raise NotImplementedError

    @pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
    def test_latched_value(self, case, tmp_path):
        assert self.evaluate(case, tmp_path)[0] & MASK32 == case.latched

    @pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
    def test_settled_value(self, case, tmp_path):
        assert self.evaluate(case, tmp_path)[1] & MASK32 == case.correct

    @pytest.mark.parametrize("case", [c for c in CASES if c.settle_ps >= 0], ids=["long-carry", "no-pulse"])
    def test_last_transition(self, case, tmp_path):
        assert self.evaluate(case, tmp_path)[2] == round(case.settle_ps * 1000)


class _GateLevel(LevelContract):
    simulate = staticmethod(simulate_gate)

    def evaluate(self, case, tmp_path):
        timing = case.timing
        old, new = _buses(case)
        result = self.simulate(
            case.pe.stages[case.stage], old, new, delays_fs=timing.delays_fs, t_sample_fs=timing.t_sample_fs
        )
        return int(result.latched[0]), int(result.correct[0]), int(result.bit_settle_fs[0].max())


class TestPythonGateLevel(_GateLevel):
    simulate = staticmethod(simulate_gate)


class TestNumbaGateLevel(_GateLevel):
    simulate = staticmethod(simulate_gate_fast)


class TestChainLevel(LevelContract):
    def evaluate(self, case, tmp_path):
        previous = dict(zip(("prev_a", "prev_b", "prev_c"), ([v] for v in case.previous), strict=True))
        new = dict(zip(("a", "b", "c"), ([v] for v in case.new), strict=True))
        result = evaluate_chain(case.pe, case.timing, **previous, **new)
        return int(result.latched[0]), int(result.correct[0]), int(result.settle_fs[0])


@pytest.mark.icarus
class TestIcarusVerilog(LevelContract):
    def evaluate(self, case, tmp_path):
        timing = case.timing
        old, new = _buses(case)
        paths = write_verilog_bundle(
            tmp_path,
            case.pe.stages[case.stage],
            delays_fs=timing.delays_fs,
            t_sample_fs=timing.t_sample_fs,
            old_inputs=old,
            new_inputs=new,
        )
        result = run_icarus_detailed(paths)
        return int(result.latched[0]), int(result.correct[0]), int(result.bit_settle_fs[0].max())
