"""PE energy model: transitions on hand-worked vectors, node scaling, the cited band, peak throughput."""

from __future__ import annotations

import numpy as np
import pytest

from pe_models.energy import (
    CONSTANTS,
    Band,
    net_capacitance_units,
    net_toggles,
    net_toggles_fast,
    node_energy_scale,
    pe_energy_model,
    peak_macs_per_s,
    technology_node_nm,
)
from pe_models.errors import ConfigError
from pe_models.gate import simulate_gate
from pe_models.netlist import CONST0, Netlist
from pe_models.pe import PEConfig
from pe_models.technology import get_technology


def _ripple_adder_2in(width: int) -> tuple[Netlist, dict[str, int]]:
    """A ripple-carry adder built by hand from 2-input cells; returns it and its named nets."""
    netlist = Netlist("rca_hand")
    a = netlist.add_input("a", width)
    b = netlist.add_input("b", width)
    names: dict[str, int] = {}
    carry = CONST0
    sums = []
    for i in range(width):
        p = netlist.gate("xor2", a[i], b[i], name=f"p{i}")
        s = netlist.gate("xor2", p, carry, name=f"s{i}")
        g = netlist.gate("and2", a[i], b[i], name=f"g{i}")
        t = netlist.gate("and2", p, carry, name=f"t{i}")
        carry = netlist.gate("or2", g, t, name=f"co{i}")
        names.update({f"p{i}": p, f"s{i}": s, f"g{i}": g, f"t{i}": t, f"co{i}": carry})
        sums.append(s)
    netlist.set_output("sum", sums)
    return netlist, names


def _toggled(netlist: Netlist, names: dict[str, int], old: dict, new: dict, delays: dict) -> dict[str, int]:
    toggles = net_toggles(
        netlist,
        {k: np.array([v]) for k, v in old.items()},
        {k: np.array([v]) for k, v in new.items()},
        delays_fs=delays,
    )[0]
    return {name: int(toggles[net]) for name, net in names.items() if toggles[net]}


DELAYS = {"xor2": 3, "and2": 1, "or2": 1, "nand2": 1}


def test_ripple_adder_0_plus_0_to_1_plus_0_toggles_p0_and_s0():
    netlist, names = _ripple_adder_2in(4)
    assert _toggled(netlist, names, {"a": 0, "b": 0}, {"a": 1, "b": 0}, DELAYS) == {"p0": 1, "s0": 1}


def test_ripple_adder_0_plus_0_to_1_plus_1_toggles_generate_carry_and_s1():
    netlist, names = _ripple_adder_2in(4)
    assert _toggled(netlist, names, {"a": 0, "b": 0}, {"a": 1, "b": 1}, DELAYS) == {"g0": 1, "co0": 1, "s1": 1}


def test_ripple_adder_glitch_on_s1_is_counted_twice():
    # 0+0 -> 3+1 with xor2 = 3 fs, and2 = or2 = 1 fs: g0 rises at 1, co0 at 2, p1 at 3;
    # s1 = p1 ^ co0 sees co0 first (1 at 5 fs) then p1 (0 at 6 fs): a glitch; t1 rises at
    # 4, co1 at 5, s2 at 8. Sum 4 = 0b100.
    netlist, names = _ripple_adder_2in(4)
    toggled = _toggled(netlist, names, {"a": 0, "b": 0}, {"a": 3, "b": 1}, DELAYS)
    assert toggled == {"g0": 1, "co0": 1, "p1": 1, "s1": 2, "t1": 1, "co1": 1, "s2": 1}
    gate = simulate_gate(
        netlist,
        {"a": np.array([0]), "b": np.array([0])},
        {"a": np.array([3]), "b": np.array([1])},
        delays_fs=DELAYS,
        t_sample_fs=100,
    )
    assert gate.correct[0] == 4
    assert gate.bit_settle_fs[0].tolist() == [0, 6, 8, 0]


def test_transition_parity_and_settling_agree_with_the_gate_simulator():
    pe = PEConfig(cells="2in")
    netlist = pe.stages["adder"]
    rng = np.random.default_rng(3)
    old = {"product": rng.integers(-(1 << 15), 1 << 15, 300), "c": rng.integers(-(1 << 31), 1 << 31, 300)}
    new = {"product": rng.integers(-(1 << 15), 1 << 15, 300), "c": rng.integers(-(1 << 31), 1 << 31, 300)}
    delays = {kind: round(ps * 1000) for kind, ps in pe.library.delays_ps.items()}
    toggles = net_toggles(netlist, old, new, delays_fs=delays)
    before = simulate_gate(netlist, old, old, delays_fs=delays, t_sample_fs=10**9)
    after = simulate_gate(netlist, old, new, delays_fs=delays, t_sample_fs=10**9)
    bus = netlist.outputs["sum"]
    for i, net in enumerate(bus):
        changed = ((before.correct ^ after.correct) >> i) & 1
        assert np.array_equal(toggles[:, net] % 2, changed)
        assert np.array_equal(toggles[:, net] > 0, after.bit_settle_fs[:, i] > 0)


def test_capacitance_units_of_a_hand_netlist():
    netlist = Netlist("tiny")
    a = netlist.add_input("a", 2)
    y = netlist.gate("nand2", a[0], a[1], name="y")
    z = netlist.gate("xor2", y, a[0], name="z")
    netlist.set_output("z", [z])
    units = net_capacitance_units(netlist)
    # a0: flop Q 1 + nand2 pin 4/3 + xor2 pin 4; a1: 1 + 4/3; y: nand2 parasitic 2 + xor2 pin 4;
    # z: xor2 parasitic 4 + flop D 1 (Sutherland, Sproull, Harris, Table 4.2).
    assert units[a[0]] == pytest.approx(1 + 4 / 3 + 4)
    assert units[a[1]] == pytest.approx(1 + 4 / 3)
    assert units[y] == pytest.approx(6.0)
    assert units[z] == pytest.approx(5.0)


def test_node_scaling_45_to_28_nm_from_the_stillmaker_baas_table():
    # At 0.9 V: 45 nm 1.103*0.81 - 0.362*0.9 + 0.2767 = 0.84433; 28 nm interpolated a third
    # of the way from 32 nm (0.541209) to 20 nm (0.200790): 0.427736. Constant field: 28/45.
    band = node_energy_scale(45, 0.9, 28, 0.9)
    assert band.nominal == pytest.approx(0.427736 / 0.84433, rel=1e-5)
    assert band.low == pytest.approx(0.427736 / 0.84433, rel=1e-5)
    assert band.high == pytest.approx(28 / 45)


def _cited_mac_band_28nm() -> tuple[float, float]:
    # Horowitz ISSCC 2014 (45 nm, 0.9 V): 8-bit multiply 0.2 pJ + 32-bit add 0.1 pJ, scaled
    # 45 -> 28 nm by Stillmaker-Baas (0.50660); Aladdin 40 nm: 12.68 pJ x 64/1024 + 0.21 pJ,
    # scaled 40 -> 28 nm at constant field (28/40), the larger of the two rules.
    low = 0.3 * 0.427736 / 0.84433
    high = (12.68 * 64 / 1024 + 0.21) * 28 / 40
    return low, high


@pytest.mark.slow
@pytest.mark.parametrize(
    "pe",
    [
        PEConfig(technology="generic-28nm"),
        PEConfig(cells="2in", technology="generic-28nm"),
        PEConfig(adder="ks", technology="generic-28nm"),
        PEConfig(pipeline="fused", technology="generic-28nm"),
    ],
    ids=["compound-rca", "2in-rca", "compound-ks", "fused"],
)
def test_mac_energy_at_nominal_inside_the_cited_band(pe):
    low, high = _cited_mac_band_28nm()
    energy = pe_energy_model(pe).random_mac_pj.nominal
    assert low <= energy <= high


def test_constant_band_from_published_points():
    band = CONSTANTS["razor_extra_flop_ratio"].at(28, 0.9)
    assert band == Band(0.5, 1.0, 2.0)


def test_peak_throughput_of_a_256x256_array_at_700_mhz():
    macs = peak_macs_per_s(65536, 700.0)
    assert macs / 1e12 == pytest.approx(45.9, abs=0.05)
    assert 2 * macs / 1e12 == pytest.approx(91.8, abs=0.05)


def test_node_from_technology_name():
    assert technology_node_nm(get_technology("generic-28nm")) == 28.0
    assert technology_node_nm(get_technology("finfet-7nm")) == 7.0


def test_bad_node_and_bad_band():
    with pytest.raises(ConfigError, match=r"^node_nm: 3 is out of range; allowed: 7\.\.130 nm$"):
        pe_energy_model(PEConfig(technology="generic-28nm"), node_nm=3)
    with pytest.raises(ConfigError, match=r"^band: expected finite low <= nominal <= high, got \(2, 1, 3\)$"):
        Band(2, 1, 3)


@pytest.mark.slow
def test_toggle_model_error_against_gate_level_counts_is_small():
    model = pe_energy_model(PEConfig())
    for stage in model.stages.values():
        assert abs(stage.validation_error_pct) < 10.0


@pytest.mark.parametrize("pe", [PEConfig(), PEConfig(cells="2in", adder="ks"), PEConfig(pipeline="fused")])
def test_numba_transition_counts_equal_the_python_reference(pe):
    delays = {kind: round(ps * 1000) for kind, ps in pe.library.delays_ps.items()}
    rng = np.random.default_rng(11)
    ranges = {"a": 1 << 7, "b": 1 << 7, "product": 1 << 15, "c": 1 << 31}
    for netlist in pe.stages.values():
        old = {name: rng.integers(-ranges[name], ranges[name], 60) for name in netlist.inputs}
        new = {name: rng.integers(-ranges[name], ranges[name], 60) for name in netlist.inputs}
        expected = net_toggles(netlist, old, new, delays_fs=delays)
        assert np.array_equal(net_toggles_fast(netlist, old, new, delays_fs=delays), expected)


def test_a_cell_library_with_the_default_figures_gives_the_default_model():
    """The library path (every net energy, flop energy, leakage and area from a CellEnergies)
    counts the same as the default when the library holds the default's own figures."""
    from pe_models.energy import logical_effort_cells

    pe = PEConfig()
    default = pe_energy_model(pe, core_source="constants")
    library = pe_energy_model(pe, cells=logical_effort_cells(pe))
    assert library.random_mac_pj.nominal == pytest.approx(default.random_mac_pj.nominal, rel=1e-9)
    assert library.flop_clock_pj.nominal == pytest.approx(default.flop_clock_pj.nominal, rel=1e-12)
    assert library.flop_data_pj.nominal == pytest.approx(default.flop_data_pj.nominal, rel=1e-12)
    assert library.leakage_uw.nominal == pytest.approx(default.leakage_uw.nominal, rel=1e-9)
    assert library.area.pe_um2 == pytest.approx(default.area.pe_um2, rel=1e-12)
    assert library.sources.startswith("every switching energy, flop energy, leakage and area: logical-effort")


def test_a_cell_library_characterised_at_another_supply_is_refused():
    import dataclasses

    from pe_models.energy import logical_effort_cells

    pe = PEConfig()
    other = dataclasses.replace(logical_effort_cells(pe), vdd_v=0.8)
    with pytest.raises(
        ConfigError, match=r"^cells: characterised at 0\.8 V; allowed: the technology's nominal 0\.9 V$"
    ):
        pe_energy_model(pe, cells=other)


def test_the_default_core_leakage_and_area_are_the_characterised_library_s():
    """ptm-32nm-hp: the PE's leakage and area are its netlists' cells and 64 flops summed from
    the committed library at 0.9 V, read here directly."""
    from pe_models.liberty import shipped_cell_library

    library = shipped_cell_library("ptm-32nm-hp")
    pe = PEConfig()
    kinds = [cell.kind for netlist in pe.stages.values() for cell in netlist.cells]
    model = pe_energy_model(pe)
    leakage_nw = sum(library.leakage_nw(kind, 0.9) for kind in kinds) + 64 * library.leakage_nw("dff", 0.9)
    assert model.leakage_uw.nominal == pytest.approx(leakage_nw * 1e-3, rel=1e-12)
    area = sum(library.area_um2(kind) for kind in kinds) + 64 * library.area_um2("dff")
    assert model.area.pe_um2 == pytest.approx(area, rel=1e-12)


def test_a_technology_without_a_characterised_library_keeps_the_cited_constants():
    from pe_models.energy import CORE_SOURCES

    model = pe_energy_model(PEConfig(technology="generic-28nm"))
    assert model.library is None
    assert model.sources == CORE_SOURCES
