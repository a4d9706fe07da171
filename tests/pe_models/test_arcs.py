"""Per-instance, per-pin, per-edge delays: loads, slews, rounding and static arrival, against hand values."""

from __future__ import annotations

import numpy as np
import pytest

from pe_models.arcs import (
    StageArcs,
    arc_causes,
    as_arcs_fs,
    earliest_arrival_fs,
    instance_arcs,
    instance_causes,
    latest_arrival_fs,
    latest_arrival_lanes_fs,
    uniform_delays_fs,
)
from pe_models.cells import CELL_LIBRARIES, ReasonedDelays
from pe_models.errors import ConfigError
from pe_models.netlist import CONST0, CONST1, Netlist
from pe_models.pe import PEConfig, stage_timing
from tests.pe_models.synthetic_delays import LinearDelays

FORMULA = "ptm-32nm-hp"
"""The formula preset: the PE's reasoned delays (one per cell type) times the voltage curve."""


def two_cell_netlist() -> Netlist:
    """``g1 = nand2(a, b)``, ``g2 = and2(g1, a)``; outputs ``y = [g2, g1]`` (both into flip-flops)."""
    netlist = Netlist("two")
    a = netlist.add_input("a", 1)[0]
    b = netlist.add_input("b", 1)[0]
    g1 = netlist.gate("nand2", a, b, name="g1")
    g2 = netlist.gate("and2", g1, a, name="g2")
    netlist.set_output("y", [g2, g1])
    return netlist


HAND_SOURCE = LinearDelays(
    intrinsic_ps={
        ("nand2", "a", "rise"): 5.0,
        ("nand2", "a", "fall"): 4.0,
        ("nand2", "b", "rise"): 6.0,
        ("nand2", "b", "fall"): 7.0,
        ("and2", "a", "rise"): 9.0,
        ("and2", "a", "fall"): 8.0,
        ("and2", "b", "rise"): 10.0,
        ("and2", "b", "fall"): 11.0,
    },
    pin_ff={("nand2", "a"): 1.0, ("nand2", "b"): 1.5, ("and2", "a"): 2.0, ("and2", "b"): 2.5},
    ps_per_ff=2.0,
    slew_factor=0.25,
    wire_ff=0.25,
    d_pin_ff=3.0,
    q_slew_ps=(8.0, 10.0),
)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("and2", [[[True, False], [False, True]]] * 2),
        ("nand2", [[[False, True], [True, False]]] * 2),
        ("xor2", [[[True, True], [True, True]]] * 2),
        ("ao21", [[[True, False], [False, True]]] * 3),
    ],
)
def test_arc_causes_follow_the_unateness_of_the_function(kind, expected):
    """[pin, output edge, input edge]: positive unate pins rise with the output, NAND inverts, XOR both."""
    assert arc_causes(kind).tolist() == expected


def test_a_tied_input_fixes_the_sense_of_an_xor3():
    """xor3(0, x, 1) = not x: x rising makes the output fall, x falling makes it rise; tied pins cause nothing."""
    causes = instance_causes("xor3", [CONST0, 7, CONST1])
    assert causes.tolist() == [
        [[False, False], [False, False]],
        [[False, True], [True, False]],
        [[False, False], [False, False]],
    ]


def test_latest_arrival_of_a_tied_xor3_takes_only_its_inverting_arc():
    """x falls at 1 ps, rises at 0: xor3(0, x, 1) falls 5 ps after x rises (not after x falls: 6 ps)."""
    netlist = Netlist("tied")
    x = netlist.add_input("x", 1)[0]
    y = netlist.gate("xor3", CONST0, x, CONST1, name="y")
    netlist.set_output("y", [y])
    arcs = np.zeros((1, 3, 2), dtype=np.int64)
    arcs[0, 1] = [5000, 9000]
    assert latest_arrival_fs(netlist, arcs, np.array([[1000, 0]])).tolist()[y] == [5000, 10000]


XOR_SOURCE = LinearDelays(
    intrinsic_ps={
        ("xor2", "a", "rise"): 5.0,
        ("xor2", "a", "fall"): 4.0,
        ("xor2", "b", "rise"): 6.0,
        ("xor2", "b", "fall"): 7.0,
    },
    slew_factor=0.5,
    q_slew_ps=(40.0, 4.0),
    clk_to_q=(25.0, 30.0),
)


def test_a_non_unate_arc_adds_what_each_input_edge_gives_at_its_own_slew():
    """g = xor2(a, b), no loads: both inputs fall at 25 ps with slew 40, rise at 30 ps with slew 4.

    Per input edge (delay = intrinsic + 0.5 x slew): pin a to a rising g: falling a 25 + 5 + 20 = 50,
    rising a 30 + 5 + 2 = 37, so 50 = 30 + 20: the arc is 20 ps (at the larger slew it was 25);
    a to falling g: max(25 + 4 + 20, 30 + 4 + 2) = 49 -> 19; b rise: max(25 + 6 + 20, 30 + 6 + 2) = 51
    -> 21; b fall: max(25 + 7 + 20, 30 + 7 + 2) = 52 -> 22. g rises at 51, falls at 52 ps.
    """
    netlist = Netlist("xor")
    a = netlist.add_input("a", 1)[0]
    b = netlist.add_input("b", 1)[0]
    g = netlist.gate("xor2", a, b, name="g")
    netlist.set_output("g", [g])
    arcs = instance_arcs(netlist, XOR_SOURCE)
    assert arcs.rounded_fs()[0, :2].tolist() == [[19000, 20000], [22000, 21000]]
    assert latest_arrival_fs(netlist, arcs.rounded_fs(), arcs.launch_fs())[g].tolist() == [52000, 51000]


def test_loads_are_fanout_pins_plus_flop_d_plus_wire_per_fanout():
    """g1 drives and2.a and a flip-flop: 2.0 + 3.0 + 2 x 0.25 = 5.5 fF; g2 only a flip-flop: 3.25 fF."""
    arcs = instance_arcs(two_cell_netlist(), HAND_SOURCE)
    assert arcs.load_ff.tolist() == [5.5, 3.25]


def test_input_slews_come_from_the_flop_q_transition_at_the_input_net_load():
    """a drives nand2.a and and2.b: 1.0 + 2.5 + 2 x 0.25 = 4 fF, so fall 8 + 4, rise 10 + 4 ps; b: 1.75 fF."""
    netlist = two_cell_netlist()
    arcs = instance_arcs(netlist, HAND_SOURCE)
    a, b = netlist.inputs["a"][0], netlist.inputs["b"][0]
    assert arcs.slew_ps[a].tolist() == [12.0, 14.0]
    assert arcs.slew_ps[b].tolist() == [9.75, 11.75]


def test_arc_delays_read_the_slew_of_the_input_edge_that_causes_the_output_edge():
    """Hand values, ps: intrinsic + 2 x load + 0.25 x slew of the causing input edge.

    g1 (nand2, load 5.5): a rise 5 + 11 + 0.25 x 12 (a falls) = 19; a fall 4 + 11 + 0.25 x 14 = 18.5;
    b rise 6 + 11 + 0.25 x 9.75 = 19.4375 -> 19438 fs (half to even); b fall 7 + 11 + 0.25 x 11.75 = 20.9375.
    g1's slews (3 + load + 0.1 x input slew, largest pin): rise 9.7 (pin a), fall 9.9 (pin a).
    g2 (and2, load 3.25): a rise 9 + 6.5 + 0.25 x 9.7 = 17.925; a fall 8 + 6.5 + 0.25 x 9.9 = 16.975;
    b rise 10 + 6.5 + 0.25 x 14 = 20; b fall 11 + 6.5 + 0.25 x 12 = 20.5.
    """
    arcs = instance_arcs(two_cell_netlist(), HAND_SOURCE)
    assert arcs.rounded_fs()[:, :2].tolist() == [
        [[18500, 19000], [20938, 19438]],
        [[16975, 17925], [20500, 20000]],
    ]


def test_reasoned_delays_give_every_pin_and_edge_of_a_type_the_rounded_scaled_delay():
    """compound x1.37: XOR3 30 ps -> 41.1 ps = 41100 fs, MAJ3 20 ps -> 27400 fs on every pin and edge."""
    pe = PEConfig(cells="compound", technology=FORMULA)
    timing = stage_timing(pe, t_clk_ps=1000.0, delay_scale=1.37)
    netlist = pe.stages["adder"]
    arcs = timing.arcs_fs("adder")
    for c, cell in enumerate(netlist.cells):
        assert (arcs[c] == {"xor3": 41100, "maj3": 27400}[cell.kind]).all()
    assert timing.delays_fs["xor3"] == 41100


def test_per_type_delays_are_refused_for_a_library_with_per_pin_delays():
    pe = PEConfig(cells="compound")
    timing = stage_timing(pe, t_clk_ps=1000.0)
    other = type(timing)(t_sample_fs=1, delay_scale=1.0, t_clk_fs=2, arcs=timing.arcs)
    with pytest.raises(ConfigError, match=r"^delays_fs: this library has per-pin, per-edge delays; use "):
        _ = other.delays_fs
    library = stage_timing(PEConfig(cells="compound", technology="ptm-32nm-hp-cells"), t_clk_ps=1000.0)
    with pytest.raises(ConfigError, match=r"^delays_fs: this library has per-pin, per-edge delays; use "):
        _ = library.delays_fs


def test_stage_timings_compare_by_their_arcs():
    pe = PEConfig(cells="compound")
    assert stage_timing(pe, t_clk_ps=900.0, delay_scale=1.5) == stage_timing(pe, t_clk_ps=900.0, delay_scale=1.5)
    netlist = pe.stages["adder"]
    one = StageArcs({"adder": instance_arcs(netlist, ReasonedDelays(CELL_LIBRARIES["compound"], 1.0))})
    other = StageArcs({"adder": instance_arcs(netlist, ReasonedDelays(CELL_LIBRARIES["compound"], 1.0 + 1e-9))})
    assert one != other
    assert one == StageArcs({"adder": instance_arcs(netlist, ReasonedDelays(CELL_LIBRARIES["compound"], 1.0))})


def test_latest_arrival_follows_edges_through_an_inverting_cell():
    """Hand: g1 rises at max(19000, 19438) (its inputs fall), falls at max(18500, 20938).

    g2 rises when g1 rises (19438 + 17925 = 37363) or a rises (20000): 37363; falls at
    max(20938 + 16975, 20500) = 37913.
    """
    netlist = two_cell_netlist()
    arcs = instance_arcs(netlist, HAND_SOURCE).rounded_fs()
    arrival = latest_arrival_fs(netlist, arcs)
    g1, g2 = netlist.cells[0].output, netlist.cells[1].output
    assert arrival[g1].tolist() == [20938, 19438]
    assert arrival[g2].tolist() == [37913, 37363]


def test_earliest_arrival_takes_the_fastest_pin_and_edge():
    """g1: min over pins of the faster edge = 18500; g2: min(18500 + 16975, 0 + 20000) = 20000."""
    netlist = two_cell_netlist()
    arcs = instance_arcs(netlist, HAND_SOURCE).rounded_fs()
    earliest = earliest_arrival_fs(netlist, arcs)
    assert earliest[[netlist.cells[0].output, netlist.cells[1].output]].tolist() == [18500, 20000]


@pytest.mark.parametrize("cells", ["2in", "compound"])
def test_latest_arrival_with_one_delay_per_type_is_the_per_type_static_timing(cells):
    pe = PEConfig(cells=cells, pipeline="fused", adder="ks", technology=FORMULA)
    timing = stage_timing(pe, t_clk_ps=1000.0, delay_scale=1.7)
    netlist = pe.stages["mac"]
    arrival = latest_arrival_fs(netlist, timing.arcs_fs("mac"))
    expected = netlist.static_arrival_fs(dict(timing.delays_fs))
    assert arrival.max(axis=1).tolist() == expected


def test_lane_arrival_rounds_each_lane_after_scaling():
    netlist = two_cell_netlist()
    exact = instance_arcs(netlist, HAND_SOURCE).exact_fs
    factors = np.array([1.0, 0.9, 1.234])
    lanes = latest_arrival_lanes_fs(netlist, exact, factors, "y")
    for i, factor in enumerate(factors):
        one = latest_arrival_fs(netlist, np.maximum(1, np.rint(exact * factor)).astype(np.int64))
        assert lanes[i].tolist() == one[netlist.outputs["y"]].max(axis=1).tolist()


def test_uniform_delays_detect_any_pin_or_edge_difference():
    netlist = two_cell_netlist()
    arcs = np.full((2, 3, 2), 7, dtype=np.int64)
    assert uniform_delays_fs(netlist, arcs, ("nand2", "and2")) == {"nand2": 7, "and2": 7}
    arcs[1, 1, 0] = 8
    assert uniform_delays_fs(netlist, arcs, ("nand2",)) == {"nand2": 7}
    assert uniform_delays_fs(netlist, arcs, ("nand2", "and2")) is None


def test_arc_forms_are_validated():
    netlist = two_cell_netlist()
    assert as_arcs_fs(netlist, {"nand2": 3, "and2": 4})[:, 0, 0].tolist() == [3, 4]
    assert as_arcs_fs(netlist, [5, 6])[:, 1, 1].tolist() == [5, 6]
    with pytest.raises(ConfigError, match=r"^delays_fs: missing delay for cell type 'and2'$"):
        as_arcs_fs(netlist, {"nand2": 3})
    with pytest.raises(ConfigError, match=r"^delays_fs: expected an array of shape \(2, 3, 2\), got \(2, 2, 2\)$"):
        as_arcs_fs(netlist, np.ones((2, 2, 2), dtype=np.int64))
    with pytest.raises(ConfigError, match=r"^delays_fs: expected an integer number of fs > 0, got 0 \(cell 1\)$"):
        as_arcs_fs(netlist, np.stack([np.ones((3, 2)), np.zeros((3, 2))]).astype(np.int64))
