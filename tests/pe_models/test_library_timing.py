"""A technology that carries a characterised cell library: pin mapping, setup and clock-to-Q, delay scale.

The library here is a stand-in with hand-checkable numbers (the characterised library's API:
``pe_models.cells.CharacterisedLibrary``); every expected value is worked out from them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from pe_models.arcs import latest_arrival_fs
from pe_models.cells import CELL_PINS, LibraryDelays
from pe_models.errors import ConfigError
from pe_models.pe import OperatingPoint, PEConfig, critical_path_ps, stage_timing
from pe_models.technology import Technology, get_technology

LIBRARY_PINS = {cell: tuple(pin.upper() for pin in pins) for cell, pins in CELL_PINS.items()}


@dataclass(frozen=True)
class HandLibrary:
    """Delays ``(base + pin index + 2 if rise) * (0.9 / vdd)^2 + 0.5 ps/fF * load``, every pin 1 fF.

    Flip-flop: D pin 2 fF, setup 20 ps (rise) / 22 ps (fall), clock-to-Q 12 ps (rise) / 15 ps (fall)
    + 1 ps/fF of Q load, all times ``(0.9 / vdd)^2``; transitions 0.
    """

    name: str = "hand"

    def pins(self, cell: str) -> tuple[str, ...]:
        return ("D", "CK") if cell == "dff" else LIBRARY_PINS[cell]

    def _scale(self, vdd_v: float) -> float:
        return (0.9 / vdd_v) ** 2

    def delay_ps(self, cell: str, pin: str, edge: str, vdd_v: float, load_ff: Any, slew_ps: Any) -> float:
        if cell == "dff":
            return self.clk_to_q_ps(edge, vdd_v, load_ff)
        base = 10.0 + LIBRARY_PINS[cell].index(pin) + (2.0 if edge == "rise" else 0.0)
        return base * self._scale(vdd_v) + 0.5 * load_ff

    def transition_ps(self, cell: str, pin: str, edge: str, vdd_v: float, load_ff: Any, slew_ps: Any) -> float:
        return 0.0

    def pin_capacitance_ff(self, cell: str, pin: str, vdd_v: float) -> float:
        return 2.0 if cell == "dff" else 1.0

    def setup_ps(self, vdd_v: float, edge: str = "rise") -> float:
        return (20.0 if edge == "rise" else 22.0) * self._scale(vdd_v)

    def clk_to_q_ps(self, edge: str, vdd_v: float, load_ff: Any = None, slew_ps: Any = None) -> float:
        return (12.0 if edge == "rise" else 15.0) * self._scale(vdd_v) + 1.0 * (0.0 if load_ff is None else load_ff)

    def reference_slew_ps(self, vdd_v: float) -> float:
        return 0.0


@dataclass(frozen=True, kw_only=True)
class HandTechnology(Technology):
    cell_library: Any = None


def hand_technology() -> HandTechnology:
    curve = get_technology("generic-28nm")
    fields = {field.name: getattr(curve, field.name) for field in dataclasses.fields(curve)}
    return HandTechnology(**{**fields, "name": "hand-cells"}, cell_library=HandLibrary())


PE = PEConfig(cells="compound", technology=hand_technology())


def test_netlist_pins_map_onto_library_pins_by_position():
    """ao21 pin c is the library's C: base 10 + 2 (index) + 2 (rise) = 14 ps at 0.9 V, + 0.5 x 3 fF."""
    source = LibraryDelays(HandLibrary(), 0.9)
    assert source.delay_ps("ao21", "c", "rise", 3.0, 0.0) == 15.5
    assert source.delay_ps("ao21", "a", "fall", 3.0, 0.0) == 11.5
    assert source.flop_d_capacitance_ff == 2.0
    assert source.setup_ps == 22.0


def test_each_input_switches_its_own_clock_to_q_after_the_edge():
    """Adder inputs: product[15] drives pin b of the XOR3 and MAJ3 of bits 15..31, 34 pins of 1 fF:
    it falls 15 + 34 = 49 ps and rises 12 + 34 = 46 ps after the clock edge; product[0] drives 2 pins
    (17 and 14 ps). The sample is at T_clk - setup (22 ps, falling D): 1000 - 22 = 978 ps."""
    timing = stage_timing(PE, operating_point=OperatingPoint(vdd_v=0.9, f_clk_mhz=1000.0))
    launch = timing.launch_fs("adder")
    assert launch[15].tolist() == [49_000, 46_000]
    assert launch[0].tolist() == [17_000, 14_000]
    assert timing.t_clk_to_q_fs == 49_000
    assert timing.t_sample_fs == 978_000
    assert timing.t_setup_fs == 22_000


def test_setup_override_replaces_the_setup_only():
    timing = stage_timing(PE, operating_point=OperatingPoint(vdd_v=0.9, f_clk_mhz=1000.0), t_setup_ps=5.0)
    assert timing.t_sample_fs == 1_000_000 - 5_000
    assert timing.launch_fs("adder")[15].tolist() == [49_000, 46_000]


def test_critical_path_starts_at_each_inputs_launch_and_adds_setup():
    timing = stage_timing(PE, operating_point=OperatingPoint(vdd_v=0.9, f_clk_mhz=1000.0))
    outputs = {name: netlist.outputs[list(netlist.outputs)[-1]] for name, netlist in PE.stages.items()}
    launched = max(
        int(latest_arrival_fs(netlist, timing.arcs_fs(name), timing.launch_fs(name))[outputs[name]].max())
        for name, netlist in PE.stages.items()
    )
    unlaunched = max(
        int(latest_arrival_fs(netlist, timing.arcs_fs(name))[outputs[name]].max())
        for name, netlist in PE.stages.items()
    )
    earliest = min(int(timing.launch_fs(name).min()) for name in PE.stages)
    assert unlaunched + earliest <= launched <= unlaunched + timing.t_clk_to_q_fs
    assert launched > unlaunched
    assert critical_path_ps(PE) == pytest.approx(launched / 1000 + 22.0, abs=1e-9)


def test_arcs_follow_the_library_at_the_supply_voltage():
    """At 0.6 V intrinsic delays scale by (0.9 / 0.6)^2 = 2.25, the load term does not."""
    low = stage_timing(PE, operating_point=OperatingPoint(vdd_v=0.6, f_clk_mhz=500.0))
    netlist = PE.stages["adder"]
    loads = low.arcs["adder"].load_ff
    for c, cell in enumerate(netlist.cells[:6]):
        for k in range(len(cell.inputs)):
            for e, bonus in ((0, 0.0), (1, 2.0)):
                expected = (10.0 + k + bonus) * 2.25 + 0.5 * loads[c]
                assert low.arcs.exact_fs("adder")[c, k, e] == pytest.approx(expected * 1000, rel=1e-12)


def test_delay_scale_stretches_the_nominal_library():
    nominal = stage_timing(PE, t_clk_ps=2000.0)
    doubled = stage_timing(PE, t_clk_ps=2000.0, delay_scale=2.0)
    assert np.allclose(doubled.arcs.exact_fs("multiplier"), 2 * nominal.arcs.exact_fs("multiplier"))
    assert np.array_equal(doubled.launch_fs("adder"), 2 * nominal.launch_fs("adder"))
    assert doubled.t_setup_fs == 44_000


def test_per_type_overrides_are_refused_for_a_characterised_library():
    with pytest.raises(ConfigError, match=r"^cell_delays_ps: technology 'hand-cells' is a characterised cell library"):
        PEConfig(cells="compound", technology=hand_technology(), cell_delays_ps={"xor3": 20.0})
