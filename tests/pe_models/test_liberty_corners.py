"""A VDD at a characterised corner reads that corner's tables only; elsewhere every corner is interpolated.

The reference is the interpolation the library did before it read one corner: every
corner's table evaluated, then PCHIP over VDD through all of them (on the logarithm
where every corner value is positive); at a corner PCHIP passes through the corner's
value, so the two agree to rounding. The raw numbers of the committed compact table
(read with :mod:`json`, not through the library) pin the corner values at the grid.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from pe_models.liberty import (
    SHIPPED_LIBRARIES,
    CellData,
    CellLibraryData,
    NldmTable,
    _CornerStack,
    _pchip_at,
    shipped_cell_library,
)
from tests.pe_models.test_liberty import make_library

QUANTITIES = ("delay_ps", "transition_ps", "energy_fj")


def _every_cell(library: CellLibraryData) -> dict[str, CellData]:
    cells = dict(library.cells_data)
    assert library.razor_flop is not None
    cells["razor_dff"] = library.razor_flop
    return cells


def _points(table: NldmTable) -> tuple[np.ndarray, np.ndarray]:
    """Slew and load points: the grid, midpoints between grid points, and beyond both ends (extrapolated)."""

    def spread(axis: np.ndarray) -> np.ndarray:
        return np.concatenate([[0.0], axis, 0.5 * (axis[1:] + axis[:-1]), [2 * axis[-1]]])

    grid_slew, grid_load = np.meshgrid(spread(table.slew_ps), spread(table.load_ff), indexing="ij")
    return grid_slew.ravel(), grid_load.ravel()


def _full_interpolation(library: CellLibraryData, per_corner: np.ndarray, vdd: float) -> np.ndarray:
    """PCHIP through every corner at `vdd` (on log if every value is > 0): no corner shortcut."""
    if np.all(per_corner > 0):
        return np.exp(_pchip_at(library.vdd_v, np.log(per_corner), vdd))
    return _pchip_at(library.vdd_v, per_corner, vdd)


def test_at_every_corner_every_arc_equals_the_interpolation_over_all_corners():
    library = shipped_cell_library("ptm-32nm-hp")
    assert library.vdd_v.size == 13
    checked = 0
    for name, data in _every_cell(library).items():
        for (pin, edge), tables in data.arcs.items():
            for quantity in QUANTITIES:
                slew, load = _points(tables[quantity][0])
                per_corner = np.stack([table.at(slew, load) for table in tables[quantity]])
                for corner, vdd in enumerate(library.vdd_v):
                    fast = library._arc_quantity(data, name, pin, edge, quantity, float(vdd), load, slew)
                    # Exactly what the library kept before: every corner evaluated, this one's row.
                    np.testing.assert_array_equal(fast, per_corner[corner])
                    reference = _full_interpolation(library, per_corner, float(vdd))
                    np.testing.assert_allclose(fast, reference, rtol=1e-12, atol=1e-12 * np.abs(per_corner).max())
                    checked += 1
    # 11 cells and the Razor flop, every (pin, edge) arc, 3 quantities, 13 corners.
    arcs = sum(len(data.arcs) for data in _every_cell(library).values())
    assert checked == arcs * 3 * 13


def test_public_lookups_at_a_corner_are_the_committed_table_numbers():
    library = shipped_cell_library("ptm-32nm-hp")
    document = json.loads(SHIPPED_LIBRARIES["ptm-32nm-hp"].read_text(encoding="utf-8"))
    lookups = {
        "delay_ps": library.delay_ps,
        "transition_ps": library.transition_ps,
        "energy_fj": library.switching_energy_fj,
    }
    for name, entry in document["cells"].items():
        for arc in entry["arcs"]:
            for quantity, lookup in lookups.items():
                for corner, vdd in enumerate(document["vdd_v"]):
                    stored = arc[quantity][corner]
                    template = document["templates"][stored["template"]]
                    slew, load = np.meshgrid(template["slew_ps"], template["load_ff"], indexing="ij")
                    got = lookup(name, arc["pin"], arc["edge"], vdd, load, slew)
                    np.testing.assert_array_equal(got, np.array(stored["values"]))
        for corner, vdd in enumerate(document["vdd_v"]):
            assert library.leakage_nw(name, vdd) == entry["leakage_nw"][corner]
            for pin, values in entry["capacitance_ff"].items():
                assert library.pin_capacitance_ff(name, pin, vdd) == values[corner]
            for state, values in entry.get("leakage_states_nw", {}).items():
                assert library.leakage_state_nw(name, state, vdd) == values[corner]
    flop = document["cells"]["dff"]
    for corner, vdd in enumerate(document["vdd_v"]):
        for edge in ("rise", "fall"):
            assert library.setup_ps(vdd, edge) == flop["setup_ps"][edge][corner]
            assert library.hold_ps(vdd, edge) == flop["hold_ps"][edge][corner]


@pytest.mark.parametrize("vdd", [0.425, 0.87, 0.9 + 1e-9, 0.999])
def test_a_vdd_between_corners_is_still_interpolated_over_every_corner(vdd):
    library = shipped_cell_library("ptm-32nm-hp")
    for name, pin in (("nand2", "B"), ("xor3", "C"), ("dff", "CK")):
        data = library.cell(name)
        for edge in ("rise", "fall"):
            for quantity in QUANTITIES:
                tables = data.arcs[(pin, edge)][quantity]
                slew, load = _points(tables[0])
                per_corner = np.stack([table.at(slew, load) for table in tables])
                got = library._arc_quantity(data, name, pin, edge, quantity, vdd, load, slew)
                np.testing.assert_array_equal(got, _full_interpolation(library, per_corner, vdd))
    below = library.delay_ps("nand2", "A", "rise", 0.85, 2.0, 20.0)
    above = library.delay_ps("nand2", "A", "rise", 0.9, 2.0, 20.0)
    between = library.delay_ps("nand2", "A", "rise", 0.87, 2.0, 20.0)
    assert above < between < below


def test_a_corner_reads_one_table_and_a_vdd_between_corners_all_of_them_in_one_pass(monkeypatch):
    library = shipped_cell_library("ptm-32nm-hp")
    calls = []
    original = NldmTable.at

    def counted(self, slew_ps, load_ff):
        calls.append(self)
        return original(self, slew_ps, load_ff)

    def counted_stack(self, slew_ps, load_ff):
        calls.extend(("stacked", value.tobytes()) for value in self.values)
        return original_stack(self, slew_ps, load_ff)

    original_stack = _CornerStack.at
    monkeypatch.setattr(NldmTable, "at", counted)
    monkeypatch.setattr(_CornerStack, "at", counted_stack)
    library.delay_ps("inv", "A", "fall", 0.9, 2.0, 20.0)
    tables = library.cell("inv").arcs[("A", "fall")]["delay_ps"]
    assert calls == [tables[10]]
    calls.clear()
    # 1e-13 V from the corner is the corner (within 1e-12 V); 1e-9 V is between corners.
    library.delay_ps("inv", "A", "fall", 0.9 + 1e-13, 2.0, 20.0)
    assert calls == [tables[10]]
    calls.clear()
    library.delay_ps("inv", "A", "fall", 0.9 + 1e-9, 2.0, 20.0)
    assert calls == [("stacked", table.values.tobytes()) for table in tables]


def test_a_one_corner_library_reads_its_only_table():
    library = make_library(vdd=(0.9,))
    # (2 + k + 0.3 pin + 0.1 edge + q + 0.5 load + 0.05 slew) at 0.9 V, nand2 (k = 2), pin B, fall, delay:
    # 2 + 2 + 0.3 + 0.1 + 0 + 0.5 * 2 + 0.05 * 8 = 5.8
    assert library.delay_ps("nand2", "B", "fall", 0.9, 2.0, 8.0) == pytest.approx(5.8, rel=1e-12)


def _pchip_every_slope(x: np.ndarray, y: np.ndarray, at: float) -> np.ndarray:
    """PCHIP with the slopes of every knot computed (the form before only two were), as reference."""
    h = np.diff(x)
    flat = y.reshape(y.shape[0], -1)
    secant = np.diff(flat, axis=0) / h[:, None]
    slopes = np.zeros_like(flat)
    left, right = secant[:-1], secant[1:]
    w1 = (2.0 * h[1:] + h[:-1])[:, None]
    w2 = (h[1:] + 2.0 * h[:-1])[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        harmonic = (w1 + w2) / (w1 / left + w2 / right)
    slopes[1:-1] = np.where(left * right > 0.0, harmonic, 0.0)
    for end, (h0, h1, d0, d1) in (
        (0, (h[0], h[1], secant[0], secant[1])),
        (-1, (h[-1], h[-2], secant[-1], secant[-2])),
    ):
        slope = ((2.0 * h0 + h1) * d0 - h0 * d1) / (h0 + h1)
        slope = np.where(np.sign(slope) != np.sign(d0), 0.0, slope)
        slope = np.where((np.sign(d0) != np.sign(d1)) & (np.abs(slope) > np.abs(3.0 * d0)), 3.0 * d0, slope)
        slopes[end] = slope
    index = int(np.clip(np.searchsorted(x, at, side="right") - 1, 0, x.size - 2))
    width = x[index + 1] - x[index]
    t = (at - x[index]) / width
    h00, h10 = (1.0 + 2.0 * t) * (1.0 - t) ** 2, t * (1.0 - t) ** 2
    h01, h11 = t**2 * (3.0 - 2.0 * t), t**2 * (t - 1.0)
    value = h00 * flat[index] + h10 * width * slopes[index] + h01 * flat[index + 1] + h11 * width * slopes[index + 1]
    return value.reshape(y.shape[1:])


@pytest.mark.parametrize("vdd", [0.4, 0.41, 0.45, 0.5125, 0.6, 0.777, 0.95, 0.99, 1.0])
def test_one_pass_over_the_corners_gives_the_per_table_floats(vdd):
    """Stacked corners and two-knot slopes are an optimisation: the same floats as table by table."""
    library = shipped_cell_library("ptm-32nm-hp")
    for name, data in _every_cell(library).items():
        for quantities in data.arcs.values():
            for quantity in QUANTITIES:
                tables = quantities[quantity]
                slew, load = _points(tables[0])
                per_corner = np.stack([table.at(slew, load) for table in tables])
                np.testing.assert_array_equal(_CornerStack(tables).at(slew, load), per_corner)
                for values in (np.log(np.abs(per_corner) + 1e-3), per_corner):
                    reference = _pchip_every_slope(library.vdd_v, values, vdd)
                    np.testing.assert_array_equal(_pchip_at(library.vdd_v, values, vdd), reference, err_msg=name)
