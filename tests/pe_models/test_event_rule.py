"""The event rule with per-pin, per-edge delays, on hand-built netlists with hand-worked waveforms.

Every case runs through the Python gate level, the numba gate level and Icarus Verilog (when
installed), so the three implementations of the rule are held to the same hand-derived numbers:
same-instant input changes evaluated once with the smallest arc of the pins that changed,
preemption of pending transitions at or after a new one, and nothing cancelled when the new
value equals the projected one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from pe_models.cells import CELL_PINS, EDGES
from pe_models.gate import simulate_gate, simulate_gate_fast
from pe_models.netlist import Netlist
from pe_models.verilog import run_icarus_detailed, write_verilog_bundle

DEFAULT_FS = 5_000


@dataclass(frozen=True)
class Case:
    """A netlist whose inputs switch from `old` to `new`, and the output's hand-worked waveform."""

    netlist: Netlist
    arcs: np.ndarray
    old: dict[str, np.ndarray]
    new: dict[str, np.ndarray]
    transitions: list[tuple[int, int]]
    before: int
    launch: np.ndarray | None = None


def build(cells: list[tuple[str, tuple[str, ...], dict[tuple[str, str], int]]], inputs: dict[str, tuple[int, int]]):
    """Cells as (kind, input names, {(pin, edge): fs}); nets named by the cell index ``n<i>``; output y = last cell."""
    netlist = Netlist("rule")
    nets = {name: netlist.add_input(name, 1)[0] for name in inputs}
    arcs = np.full((len(cells), 3, 2), DEFAULT_FS, dtype=np.int64)
    for index, (kind, names, overrides) in enumerate(cells):
        nets[f"n{index}"] = netlist.gate(kind, *(nets[name] for name in names), name=f"n{index}")
        for (pin, edge), fs in overrides.items():
            arcs[index, CELL_PINS[kind].index(pin), EDGES.index(edge)] = fs
    netlist.set_output("y", [nets[f"n{len(cells) - 1}"]])
    old = {name: np.array([values[0]]) for name, values in inputs.items()}
    new = {name: np.array([values[1]]) for name, values in inputs.items()}
    return netlist, arcs, old, new


def buffer(fs: int) -> dict[tuple[str, str], int]:
    """An ``and2(x, x)`` buffer: both pins change together, every arc `fs`."""
    return {(pin, edge): fs for pin in ("a", "b") for edge in EDGES}


def narrow_pulse(width_fs: int) -> Case:
    """p rises at 10 ps, q at 10 ps + width; y = xor2(p, q) with pin a rise 20 ps, pin b fall 2 ps.

    At 10 ps y is scheduled to rise at 30 ps. At 10 ps + w only q changed, v = 0, so y falls
    2 ps later, at 12 ps + w: the pending rise at 30 ps is deleted if 12 ps + w <= 30 ps,
    i.e. w <= 18 ps = rise - fall, and then the projected value is already 0: the pulse is
    swallowed. A wider pulse leaves y high from 30 ps to 12 ps + w.
    """
    netlist, arcs, old, new = build(
        [
            ("and2", ("a", "a"), buffer(10_000)),
            ("and2", ("a", "a"), buffer(10_000 + width_fs)),
            ("xor2", ("n0", "n1"), {("a", "rise"): 20_000, ("b", "fall"): 2_000}),
        ],
        {"a": (0, 1)},
    )
    passes = 12_000 + width_fs > 30_000
    transitions = [(30_000, 1), (12_000 + width_fs, 0)] if passes else []
    return Case(netlist, arcs, old, new, transitions, before=0)


def equal_projection_cancels_nothing() -> Case:
    """y = ao21(p, q, r) = p & q | r; p rises at 10 ps, r at 12 ps, q falls at 15 ps; y was 0.

    10 ps: v = 1, pin a rise 20 ps -> pending rise at 30 ps. 12 ps: v = 1 equals the projected
    value, so nothing is scheduled or cancelled, although pin c's rise arc (1 ps) would give
    13 ps (a VHDL transport assignment would move the rise there). 15 ps: v = 1 again, nothing.
    y rises at 30 ps.
    """
    netlist, arcs, old, new = build(
        [
            ("and2", ("a", "a"), buffer(10_000)),
            ("and2", ("b", "b"), buffer(15_000)),
            ("and2", ("c", "c"), buffer(12_000)),
            ("ao21", ("n0", "n1", "n2"), {("a", "rise"): 20_000, ("c", "rise"): 1_000, ("b", "fall"): 1_000}),
        ],
        {"a": (0, 1), "b": (1, 0), "c": (0, 1)},
    )
    return Case(netlist, arcs, old, new, [(30_000, 1)], before=0)


def smallest_arc_of_the_pins_that_changed() -> Case:
    """y = and2(p, a); a rises at 0, p = and2(a, a) at 10 ps; y's pin b (a) rises in 1 ps, pin a in 5 ps.

    At 0 only pin b changes and y stays 0 (p is 0). At 10 ps only pin a changes: v = 1 with
    pin a's rise arc, 5 ps -> 15 ps (pin b's 1 ps arc does not count: b did not change then).
    """
    netlist, arcs, old, new = build(
        [
            ("and2", ("a", "a"), buffer(10_000)),
            ("and2", ("n0", "a"), {("a", "rise"): 5_000, ("b", "rise"): 1_000}),
        ],
        {"a": (0, 1)},
    )
    return Case(netlist, arcs, old, new, [(15_000, 1)], before=0)


def same_instant_changes_take_the_smallest_arc() -> Case:
    """y = and2(a, a) with pin a rise 30 ps and pin b rise 10 ps: both pins change at 0, one
    evaluation, the smaller arc: y rises at 10 ps."""
    netlist, arcs, old, new = build(
        [("and2", ("a", "a"), {("a", "rise"): 30_000, ("b", "rise"): 10_000})], {"a": (0, 1)}
    )
    return Case(netlist, arcs, old, new, [(10_000, 1)], before=0)


def deletion_keeps_earlier_pending() -> Case:
    """y = xor3(p, q, r) with p, q, r rising at 10, 12 and 14 ps.

    10 ps: v = 1, pin a rise 20 ps -> pending (30, 1). 12 ps: v = 0, pin b fall 30 ps -> 42 ps,
    later than 30, appended: pending (30, 1), (42, 0). 14 ps: v = 1, pin c rise 21 ps -> 35 ps:
    (42, 0) is deleted, (30, 1) stays and already gives 1, so nothing is appended: y rises at
    30 ps and stays high.
    """
    netlist, arcs, old, new = build(
        [
            ("and2", ("a", "a"), buffer(10_000)),
            ("and2", ("a", "a"), buffer(12_000)),
            ("and2", ("a", "a"), buffer(14_000)),
            ("xor3", ("n0", "n1", "n2"), {("a", "rise"): 20_000, ("b", "fall"): 30_000, ("c", "rise"): 21_000}),
        ],
        {"a": (0, 1)},
    )
    return Case(netlist, arcs, old, new, [(30_000, 1)], before=0)


def inputs_launched_at_their_clock_to_q() -> Case:
    """y = and2(a, b), both rising; a is launched 5 ps after the clock edge, b 9 ps (rising; falling 1 ps).

    At 5 ps only a changes and y stays 0; at 9 ps b changes: v = 1 with pin b's rise arc, 2 ps -> 11 ps
    (pin a's 3 ps arc does not count).
    """
    netlist, arcs, old, new = build(
        [("and2", ("a", "b"), {("a", "rise"): 3_000, ("b", "rise"): 2_000})], {"a": (0, 1), "b": (0, 1)}
    )
    launch = np.array([[1_000, 5_000], [1_000, 9_000]], dtype=np.int64)
    return Case(netlist, arcs, old, new, [(11_000, 1)], before=0, launch=launch)


CASES = {
    "pulse-narrower-than-rise-minus-fall": lambda: narrow_pulse(17_999),
    "pulse-equal-to-rise-minus-fall": lambda: narrow_pulse(18_000),
    "pulse-1fs-wider": lambda: narrow_pulse(18_001),
    "wide-pulse": lambda: narrow_pulse(25_000),
    "equal-projection-cancels-nothing": equal_projection_cancels_nothing,
    "smallest-arc-of-changed-pins": smallest_arc_of_the_pins_that_changed,
    "same-instant-changes": same_instant_changes_take_the_smallest_arc,
    "deletion-keeps-earlier-pending": deletion_keeps_earlier_pending,
    "inputs-launched-at-their-clock-to-q": inputs_launched_at_their_clock_to_q,
}


def numba_level(case: Case, t_sample: int):
    return simulate_gate_fast(
        case.netlist, case.old, case.new, delays_fs=case.arcs, t_sample_fs=t_sample, launch_fs=case.launch
    )


def expected_samples(case: Case, instants: list[int]) -> list[int]:
    values = []
    for t in instants:
        value = case.before
        for at, new in case.transitions:
            if at <= t:
                value = new
        values.append(value)
    return values


def sample_instants(case: Case) -> list[int]:
    """Just before, at and after every transition, and 0."""
    return sorted({0, *(t + d for t, _ in case.transitions for d in (-1, 0, 1))})


def python_level(case: Case, t_sample: int):
    return simulate_gate(
        case.netlist, case.old, case.new, delays_fs=case.arcs, t_sample_fs=t_sample, launch_fs=case.launch
    )


@pytest.mark.parametrize("level", [python_level, numba_level], ids=["python", "numba"])
@pytest.mark.parametrize("name", list(CASES))
def test_gate_levels_follow_the_hand_worked_waveform(name, level):
    case = CASES[name]()
    settle = case.transitions[-1][0] if case.transitions else 0
    for t_sample, expected in zip(sample_instants(case), expected_samples(case, sample_instants(case)), strict=True):
        result = level(case, t_sample)
        assert result.latched.tolist() == [expected], f"t_sample {t_sample}"
        assert result.bit_settle_fs.tolist() == [[settle]]


@pytest.mark.icarus
@pytest.mark.parametrize("name", list(CASES))
def test_icarus_follows_the_hand_worked_waveform(tmp_path, name):
    case = CASES[name]()
    settle = case.transitions[-1][0] if case.transitions else 0
    instants = sample_instants(case)
    for index, (t_sample, expected) in enumerate(zip(instants, expected_samples(case, instants), strict=True)):
        paths = write_verilog_bundle(
            tmp_path / str(index),
            case.netlist,
            delays_fs=case.arcs,
            t_sample_fs=t_sample,
            old_inputs=case.old,
            new_inputs=case.new,
            launch_fs=case.launch,
        )
        result = run_icarus_detailed(paths)
        assert result.latched.tolist() == [expected], f"t_sample {t_sample}"
        assert result.bit_settle_fs.tolist() == [[settle]]
