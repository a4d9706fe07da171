"""The characterised Razor flip-flop (razor_dff.sp) and the energy model's Razor overhead from it.

Independent references: the subcircuit's structure (bounds), a direct ngspice run of the
subcircuit written here (not the characterisation harness), and the committed compact table
read as plain JSON (not through the library reader or the energy model).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import pytest

from pe_models.energy import pe_energy_model
from pe_models.liberty import library_from_json, library_to_json, shipped_cell_library
from pe_models.pe import PEConfig
from tests.pe_models._razor_table import razor_transition_extra_fj

DATA = Path(str(resources.files("pe_models") / "technology_data"))
CARD = DATA / "ptm-32nm-hp.pm"
TABLE = DATA / "cells" / "ptm-32nm-hp" / "ptm-32nm-hp.cells.json"
CLOCK_PINS_PER_FLOP = 3.0
"""A flop's clock pin plus two clock pins of distribution (docs/energy.md, "clock tree per flop")."""
needs_ngspice = pytest.mark.skipif(shutil.which("ngspice") is None, reason="ngspice is not installed")


def _table_flop_clock_fj(entry: dict, corner: int, vdd: float) -> float:
    """Clock energy per cycle from a compact-table entry: quiet rising + falling edge + 3 C_CK V^2."""
    energies = entry["pin_energy_fj"]
    cycle = energies["CK rise"][corner] + energies["CK fall"][corner]
    return cycle + CLOCK_PINS_PER_FLOP * entry["capacitance_ff"]["CK"][corner] * vdd**2


def _table() -> dict:
    return json.loads(TABLE.read_text())


@pytest.mark.parametrize("vdd", [0.9, 0.6])
def test_the_razor_flops_clock_energy_lies_between_the_flops_and_2p5_times_it(vdd):
    # By construction: the Razor flop is the flop transistor for transistor plus a shadow
    # latch (4 clocked gates beside the flop's 8: about half a master-slave flop's clock
    # load) and an XOR and a multiplexer that do not switch while D is stable.
    library = shipped_cell_library()
    razor = sum(library.razor_pin_energy_fj("CK", edge, vdd) for edge in ("rise", "fall"))
    plain = library.clock_pin_energy_fj("rise", vdd) + library.clock_pin_energy_fj("fall", vdd)
    assert plain < razor < 2.5 * plain
    ck_razor, ck_plain = library.razor_pin_capacitance_ff("CK", vdd), library.pin_capacitance_ff("dff", "CK", vdd)
    assert ck_plain < ck_razor < 2.5 * ck_plain


def test_the_razor_flop_covers_every_corner_and_round_trips_through_the_compact_table():
    library = shipped_cell_library()
    assert library.razor_flop is not None
    assert len(library.razor_flop.leakage_nw) == len(library.vdd_v)
    back = library_from_json(library_to_json(library))
    assert back.razor_pin_energy_fj("D", "rise", 0.7) == library.razor_pin_energy_fj("D", "rise", 0.7)


def test_the_razor_flops_area_follows_the_transistor_rule():
    # 29 nmos and 29 pmos: (29 + 1) gate columns x 0.1125 um x 0.9 um.
    assert shipped_cell_library().razor_flop.area_um2 == pytest.approx(30 * 0.1125 * 0.9, abs=1e-4)


@pytest.mark.parametrize(("vdd", "corner"), [(0.9, 10), (0.6, 4)])
def test_the_energy_models_razor_overhead_per_bit_is_the_tables_difference(vdd, corner):
    document = _table()
    assert document["vdd_v"][corner] == vdd
    razor, plain = document["razor_flop"], document["cells"]["dff"]
    expected_fj = _table_flop_clock_fj(razor, corner, vdd) - _table_flop_clock_fj(plain, corner, vdd)
    model = pe_energy_model(PEConfig(technology="ptm-32nm-hp"))
    per_bit_fj = model.razor_extra_pj.nominal * model.vdd_scales(vdd).razor_extra * 1e3
    assert per_bit_fj == pytest.approx(expected_fj, rel=1e-4)


@pytest.mark.parametrize("vdd", [0.9, 0.6])
def test_the_energy_models_razor_transition_energy_is_the_tables_difference(vdd):
    library = shipped_cell_library()
    expected_fj = razor_transition_extra_fj(vdd, library.reference_load_ff, library.reference_slew_ps(vdd))
    model = pe_energy_model(PEConfig(technology="ptm-32nm-hp"))
    per_transition_fj = model.razor_transition_pj.nominal * model.vdd_scales(vdd).razor_transition * 1e3
    assert per_transition_fj == pytest.approx(expected_fj, rel=1e-4)


def test_the_energy_models_razor_leakage_and_area_are_the_tables_difference():
    document = _table()
    razor, plain = document["razor_flop"], document["cells"]["dff"]
    model = pe_energy_model(PEConfig(technology="ptm-32nm-hp"))
    assert model.razor_extra_leakage_uw.nominal * 1e3 == pytest.approx(
        razor["leakage_nw"][10] - plain["leakage_nw"][10], rel=1e-4
    )
    assert model.area.razor_extra_um2 == pytest.approx(razor["area_um2"] - plain["area_um2"], rel=1e-6)
    assert "razor_extra_flop_ratio" not in model.sources


def _direct_clock_netlist(vdd: float, slew_ps: float, window_ps: float) -> str:
    ramp = slew_ps / 0.8
    edges = []
    for k in range(4):
        start = 200.0 + 2 * k * window_ps
        edges += [(start, 0.0), (start + ramp, vdd), (start + window_ps, vdd), (start + window_ps + ramp, 0.0)]
    clock = " ".join(f"{t:.4f}p {v:g}" for t, v in [(0.0, 0.0), *edges])
    last = 200.0 + 6 * window_ps
    return "\n".join(
        [
            "* direct measurement: razor_dff clocked with D = R = 0",
            f'.include "{CARD}"',
            f'.include "{DATA / "cells" / "razor_dff.sp"}"',
            ".temp 27",
            ".option reltol=1e-3",
            f"vs s 0 {vdd:g}",
            f"vck ck 0 pwl({clock})",
            "x1 0 ck 0 q e s 0 razor_dff",
            "cq q 0 1f",
            "ce e 0 0.25f",
            f".tran {window_ps / 200:.4f}p {last + 2 * window_ps:.4f}p",
            f".measure tran qrise integ i(vs) from={last:.4f}p to={last + window_ps:.4f}p",
            f".measure tran qfall integ i(vs) from={last + window_ps:.4f}p to={last + 2 * window_ps:.4f}p",
            f".measure tran lhigh avg i(vs) from={last + 0.8 * window_ps:.4f}p to={last + window_ps:.4f}p",
            f".measure tran llow avg i(vs) from={last + 1.8 * window_ps:.4f}p to={last + 2 * window_ps:.4f}p",
            ".end",
        ]
    )


@pytest.mark.slow
@needs_ngspice
def test_the_tables_razor_clock_energy_equals_a_direct_ngspice_measurement(tmp_path):
    vdd = 0.9
    library = shipped_cell_library()
    slew_ps = 2.0 * library.fo4_ps[list(library.vdd_v).index(vdd)]
    window_ps = 400.0
    deck = tmp_path / "razor.sp"
    deck.write_text(_direct_clock_netlist(vdd, slew_ps, window_ps) + "\n")
    run = subprocess.run(["ngspice", "-b", deck.name], cwd=tmp_path, capture_output=True, text=True, timeout=900)
    values = {
        m.group(1): float(m.group(2))
        for m in re.finditer(r"^(qrise|qfall|lhigh|llow)\s*=\s*(\S+)", run.stdout, re.MULTILINE)
    }
    window_s = window_ps * 1e-12
    measured_fj = (
        vdd * (-values["qrise"] + values["lhigh"] * window_s) + vdd * (-values["qfall"] + values["llow"] * window_s)
    ) * 1e15
    table_fj = sum(library.razor_pin_energy_fj("CK", edge, vdd) for edge in ("rise", "fall"))
    # The harness integrates on a step of window / 40, this run on window / 200 with another
    # window: 0.516 fJ here against the table's 0.531 fJ (2.8 %, a gap in docs/energy.md).
    assert measured_fj == pytest.approx(table_fj, rel=0.04)
