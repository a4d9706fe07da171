"""The run-time cell library: NLDM interpolation, VDD interpolation, compact table and Liberty round trips."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest

from pe_models.cell_catalogue import CELL_SPECS, FLIP_FLOP, sensitising_states
from pe_models.errors import ConfigError
from pe_models.liberty import (
    CellData,
    CellLibraryData,
    NldmTable,
    arc_sense,
    library_from_json,
    library_to_json,
    reasoned_cell_library,
)
from pe_models.liberty_files import (
    corner_file_name,
    parse_liberty,
    read_liberty_corners,
    resolve_cell_library,
    write_liberty,
)
from pe_models.technology import get_technology

VDD = (0.5, 0.7, 0.9)


def exponential_delay(vdd: float, base: float) -> float:
    """A delay that is exactly exponential in VDD (log-linear: PCHIP on log reproduces it)."""
    return base * math.exp(-4.0 * (vdd - 0.9))


def make_library(vdd=VDD, *, cells=tuple(CELL_SPECS), temperature_c=27.0) -> CellLibraryData:
    """Every cell with delay = (2 + k + 0.3 pin + 0.1 edge + 0.5 load + 0.05 slew) * exp(-4 (V - 0.9))."""
    loads = np.array([0.5, 2.0, 8.0])
    built = {}
    for k, name in enumerate(cells):
        spec = CELL_SPECS[name]
        arc_pins = ("CK",) if name == FLIP_FLOP else spec.pins
        arcs = {}
        for p, pin in enumerate(arc_pins):
            for e, edge in enumerate(("rise", "fall")):
                tables = {}
                for q, quantity in enumerate(("delay_ps", "transition_ps", "energy_fj")):
                    per = []
                    for v in vdd:
                        slews = np.array([2.0, 8.0, 30.0])
                        values = (2 + k + 0.3 * p + 0.1 * e + q + 0.5 * loads[None, :] + 0.05 * slews[:, None]) * (
                            exponential_delay(v, 1.0)
                        )
                        if quantity == "energy_fj" and edge == "rise":
                            values = values + loads[None, :] * v * v
                        per.append(NldmTable(slews, loads, values))
                    tables[quantity] = tuple(per)
                arcs[(pin, edge)] = MappingProxyType(tables)
        n = len(spec.pins)
        flop = name == FLIP_FLOP
        built[name] = CellData(
            name=name,
            pins=spec.pins,
            output=spec.output,
            function=spec.liberty_function,
            area_um2=0.25 * (k + 1),
            arcs=MappingProxyType(arcs),
            capacitance_ff=MappingProxyType(
                {pin: np.array([0.2 + 0.01 * j + 0.02 * v for v in vdd]) for j, pin in enumerate(spec.pins)}
            ),
            leakage_nw=np.array([1.0 + k * v for v in vdd]),
            leakage_states_nw=MappingProxyType(
                {} if flop else {format(s, f"0{n}b"): np.array([1.0 + s + k * v for v in vdd]) for s in range(2**n)}
            ),
            setup_ps=MappingProxyType(
                {"rise": np.array([10.0 / v for v in vdd]), "fall": np.array([12.0 / v for v in vdd])} if flop else {}
            ),
            hold_ps=MappingProxyType(
                {"rise": np.array([-1.0 * v for v in vdd]), "fall": np.array([-2.0 * v for v in vdd])} if flop else {}
            ),
            pin_energy_fj=MappingProxyType(
                {(p, e): np.array([0.3 * v * v + 0.1 * i for v in vdd]) for i, (p, e) in enumerate(_FLOP_PIN_EDGES)}
                if flop
                else {}
            ),
        )
    return CellLibraryData(name="synthetic", vdd_v=vdd, cells=built, temperature_c=temperature_c, source="test")


_FLOP_PIN_EDGES = (("CK", "rise"), ("CK", "fall"), ("D", "rise"), ("D", "fall"))


def test_bilinear_table_is_exact_at_the_grid_and_linear_between():
    table = NldmTable(np.array([1.0, 3.0]), np.array([10.0, 20.0]), np.array([[1.0, 2.0], [5.0, 7.0]]))
    assert table.at(np.array(3.0), np.array(10.0)) == 5.0
    # Centre of the cell: the mean of the four corners, (1 + 2 + 5 + 7) / 4.
    assert table.at(np.array(2.0), np.array(15.0)) == pytest.approx(3.75)
    # Beyond the last load: linear extrapolation along the last segment, 7 + (7 - 5) * 1.
    assert table.at(np.array(3.0), np.array(30.0)) == pytest.approx(9.0)


def test_vdd_interpolation_reproduces_an_exponential_exactly():
    library = make_library()
    # delay(0.8 V) at load 2 fF, slew 8 ps of nand2 pin B rising: (2 + 2 + 0.3 + 0 + 1 + 0.4) * exp(0.4)
    expected = (2 + 2 + 0.3 + 0.0 + 1.0 + 0.4) * math.exp(-4.0 * (0.8 - 0.9))
    assert library.delay_ps("nand2", "B", "rise", 0.8, 2.0, 8.0) == pytest.approx(expected, rel=1e-12)


def test_vdd_interpolation_is_monotone_between_corners():
    library = make_library()
    voltages = np.linspace(0.5, 0.9, 81)
    delays = [library.delay_ps("xor3", "C", "fall", v, 3.0, 10.0) for v in voltages]
    assert np.all(np.diff(delays) < 0)


def test_delay_broadcasts_over_load_and_slew_arrays():
    library = make_library()
    loads = np.array([[0.5], [2.0]])
    slews = np.array([2.0, 8.0, 30.0])
    grid = library.delay_ps("maj3", "A", "rise", 0.7, loads, slews)
    assert grid.shape == (2, 3)
    assert grid[1, 2] == library.delay_ps("maj3", "A", "rise", 0.7, 2.0, 30.0)


def test_vdd_outside_the_corners_is_refused_naming_the_range():
    library = make_library()
    message = (
        r"^vdd_v: 0.45 V is outside the characterised corners of cell library 'synthetic'; "
        r"allowed: 0.5 <= vdd_v <= 0.9$"
    )
    with pytest.raises(ConfigError, match=message):
        library.delay_ps("inv", "A", "rise", 0.45, 1.0, 5.0)


def test_a_temperature_other_than_the_libraries_is_refused():
    with pytest.raises(ConfigError, match=r"^temperature_c: 85 C; cell library 'synthetic' was characterised at 27 C"):
        make_library().leakage_nw("inv", 0.9, temperature_c=85.0)


def test_flip_flop_constraints_interpolate_linearly_where_negative():
    library = make_library()
    # hold_rise = -V at every corner: PCHIP of a linear function is that function.
    assert library.hold_ps(0.6, "rise") == pytest.approx(-0.6, rel=1e-12)
    assert library.setup_ps(0.9, "fall") == pytest.approx(12.0 / 0.9)


def test_internal_energy_removes_the_load_charge_of_a_rising_output():
    library = make_library()
    rise = library.switching_energy_fj("inv", "A", "rise", 0.9, 2.0, 8.0)
    assert library.internal_energy_fj("inv", "A", "rise", 0.9, 2.0, 8.0) == pytest.approx(rise - 2.0 * 0.81)


def test_compact_table_round_trip_keeps_every_number():
    library = make_library()
    back = library_from_json(library_to_json(library))
    assert back == library
    for v in (0.55, 0.8):
        assert back.delay_ps("ao21", "C", "fall", v, 5.0, 3.0) == pytest.approx(
            library.delay_ps("ao21", "C", "fall", v, 5.0, 3.0), rel=1e-5
        )


def write_corners(library: CellLibraryData, directory: Path) -> list[Path]:
    paths = []
    for corner, vdd in enumerate(library.vdd_v):
        path = directory / corner_file_name(library.name, float(vdd))
        path.write_text(write_liberty(library, corner))
        paths.append(path)
    return paths


def test_liberty_round_trip_gives_the_same_numbers(tmp_path):
    library = make_library()
    back = read_liberty_corners(write_corners(library, tmp_path))
    assert list(back.vdd_v) == list(library.vdd_v)
    for cell in library.cells:
        for pin in library.arc_pins(cell):
            for edge in ("rise", "fall"):
                for method in ("delay_ps", "transition_ps", "switching_energy_fj"):
                    ours = getattr(library, method)(cell, pin, edge, 0.6, 3.0, 9.0)
                    theirs = getattr(back, method)(cell, pin, edge, 0.6, 3.0, 9.0)
                    assert theirs == pytest.approx(ours, rel=1e-5), (cell, pin, edge, method)
        for pin in library.pins(cell):
            assert back.pin_capacitance_ff(cell, pin, 0.7) == pytest.approx(library.pin_capacitance_ff(cell, pin, 0.7))
        assert back.leakage_nw(cell, 0.7) == pytest.approx(library.leakage_nw(cell, 0.7))
    assert back.setup_ps(0.7, "rise") == pytest.approx(library.setup_ps(0.7, "rise"), rel=1e-5)
    assert back.hold_ps(0.7, "fall") == pytest.approx(library.hold_ps(0.7, "fall"), rel=1e-5)
    assert back.clock_pin_energy_fj("fall", 0.7) == pytest.approx(library.clock_pin_energy_fj("fall", 0.7), rel=1e-5)
    assert back.leakage_state_nw("nand2", "10", 0.5) == pytest.approx(library.leakage_state_nw("nand2", "10", 0.5))


def test_comma_separated_liberty_files_resolve_to_a_library(tmp_path):
    paths = write_corners(make_library(), tmp_path)
    library = resolve_cell_library(",".join(str(p) for p in paths))
    assert library.cells == tuple(CELL_SPECS)


LIBRARY_HEAD = """library (mini) {
  time_unit : "1ps" ;
  voltage_unit : "1V" ;
  leakage_power_unit : "1nW" ;
  capacitive_load_unit (1, ff) ;
  nom_voltage : 0.8 ;
  nom_temperature : 27 ;
  slew_lower_threshold_pct_rise : 10 ;
  slew_upper_threshold_pct_rise : 90 ;
  slew_lower_threshold_pct_fall : 10 ;
  slew_upper_threshold_pct_fall : 90 ;
  lu_table_template (t2) { variable_1 : input_net_transition ; variable_2 : total_output_net_capacitance ;
    index_1 ("1, 2") ; index_2 ("1, 2") ; }
"""

CELL_BODY = """  cell (MYCELL) {
    area : 1 ;
    cell_leakage_power : 3 ;
    pin (A1) { direction : input ; capacitance : 0.4 ; }
    pin (A2) { direction : input ; capacitance : 0.5 ; }
    pin (B) { direction : input ; capacitance : 0.6 ; }
    pin (ZN) { direction : output ; function : "FUNCTION" ;
TIMING
    }
  }
"""


def arc(pin: str, rise="10, 20", fall="11, 21", kind="combinational") -> str:
    tables = []
    for name, values in (
        ("cell_rise", rise),
        ("rise_transition", rise),
        ("cell_fall", fall),
        ("fall_transition", fall),
    ):
        tables.append(
            f'      {name} (t2) {{ index_1 ("5, 50") ; index_2 ("1, 4") ; values ("{values}", "{values}") ; }}'
        )
    powers = [
        f'      {e}_power (t2) {{ index_1 ("5, 50") ; index_2 ("1, 4") ; values ("1, 1", "1, 1") ; }}'
        for e in ("rise", "fall")
    ]
    return (
        f'     timing () {{ related_pin : "{pin}" ; timing_type : {kind} ;\n'
        + "\n".join(tables)
        + f'\n     }}\n     internal_power () {{ related_pin : "{pin}" ;\n'
        + "\n".join(powers)
        + "\n     }"
    )


def mini_library(function: str = "!((A1 A2) + B)", timing: str | None = None, head: str = LIBRARY_HEAD) -> str:
    body = timing if timing is not None else "\n".join(arc(p) for p in ("A1", "A2", "B"))
    return head + CELL_BODY.replace("FUNCTION", function).replace("TIMING", body) + "}\n"


def test_a_cell_is_mapped_by_its_function_with_any_pin_names(tmp_path):
    path = tmp_path / "mini.lib"
    path.write_text(mini_library(function="(A1 & A2) | B"))
    library = read_liberty_corners([path])
    assert library.cells == ("ao21",)
    # ao21(A, B, C) = (A & B) | C: C is the library's B, capacitance 0.6 fF.
    assert library.pin_capacitance_ff("ao21", "C", 0.8) == 0.6


def test_a_function_vscale_has_no_cell_for_is_ignored(tmp_path):
    path = tmp_path / "mini.lib"
    path.write_text(mini_library(function="!((A1 A2) + B)"))
    assert read_liberty_corners([path]).cells == ()


def test_a_needed_cell_missing_is_one_line_naming_it(tmp_path):
    path = tmp_path / "mini.lib"
    path.write_text(mini_library(function="(A1 & A2) | B"))
    library = read_liberty_corners([path])
    with pytest.raises(ConfigError, match=r"^technology: cell library 'mini' has no maj3 cell \(.*\), which the PE"):
        library.require(["ao21", "maj3"])


def test_a_syntax_error_names_the_file_and_line(tmp_path):
    path = tmp_path / "bad.lib"
    text = mini_library(function="(A1 & A2) | B").replace(
        "pin (B) { direction : input ;", "pin (B) { direction input ;"
    )
    path.write_text(text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "direction input" in row)
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: line {line}: syntax: expected ':' or '\(' after"):
        read_liberty_corners([path])


def test_a_missing_table_names_the_arc_and_field(tmp_path):
    timing = "\n".join(arc(p) for p in ("A1", "A2"))
    path = tmp_path / "missing.lib"
    path.write_text(mini_library(function="(A1 & A2) | B", timing=timing))
    with pytest.raises(
        ConfigError, match=r"^.*missing.lib: line \d+: cell MYCELL pin ZN related_pin B: timing: missing$"
    ):
        read_liberty_corners([path])


def test_delays_decreasing_with_load_are_refused(tmp_path):
    timing = "\n".join(arc(p, rise="20, 10" if p == "B" else "10, 20") for p in ("A1", "A2", "B"))
    path = tmp_path / "nonmonotone.lib"
    text = mini_library(function="(A1 & A2) | B", timing=timing)
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"cell MYCELL pin ZN related_pin B cell_rise: values decrease with load"):
        read_liberty_corners([path])


def test_an_unknown_time_unit_is_refused_with_its_line(tmp_path):
    path = tmp_path / "units.lib"
    path.write_text(mini_library(function="(A1 & A2) | B", head=LIBRARY_HEAD.replace('"1ps"', '"1parsec"')))
    with pytest.raises(ConfigError, match=r"^.*units.lib: line 2: time_unit: unknown unit '1parsec'; allowed: 1ps"):
        read_liberty_corners([path])


def test_corners_at_different_temperatures_are_refused(tmp_path):
    first, second = tmp_path / "a.lib", tmp_path / "b.lib"
    first.write_text(mini_library(function="(A1 & A2) | B"))
    hot = LIBRARY_HEAD.replace("nom_voltage : 0.8", "nom_voltage : 0.6").replace(
        "nom_temperature : 27", "nom_temperature : 85"
    )
    second.write_text(mini_library(function="(A1 & A2) | B", head=hot))
    message = (
        rf"^technology: {re.escape(str(first))}: nom_temperature: 27 C differs from {re.escape(str(second))} "
        r"\(85 C\); all corners must be at one temperature$"
    )
    with pytest.raises(ConfigError, match=message):
        read_liberty_corners([first, second])


def test_parse_keeps_groups_attributes_and_lines():
    root = parse_liberty('library (x) {\n  a : 1 ;\n  g (p) {\n    b ("1, 2") ;\n  }\n}\n')
    assert root.args == ["x"]
    assert root.attribute("a").values == ["1"]
    assert root.groups[0].line == 3
    assert root.groups[0].attribute("b").values == ["1, 2"]


@pytest.mark.parametrize(
    ("cell", "pin", "sense"),
    [
        ("nand2", "A", "negative_unate"),
        ("and2", "B", "positive_unate"),
        ("xor3", "C", "non_unate"),
        ("ao21", "C", "positive_unate"),
    ],
)
def test_timing_sense_from_the_truth_table(cell, pin, sense):
    assert arc_sense(cell, pin) == sense


def test_sensitising_states_of_maj3_and_ao21():
    assert sensitising_states("maj3", "A") == ({"B": 0, "C": 1}, {"B": 1, "C": 0})
    assert sensitising_states("ao21", "C") == ({"A": 0, "B": 0}, {"A": 0, "B": 1}, {"A": 1, "B": 0})


def test_reasoned_presets_scale_one_delay_by_the_voltage_curve():
    library = reasoned_cell_library("finfet-7nm")
    scale = get_technology("finfet-7nm").delay_scale(0.5)
    assert library.delay_ps("maj3", "B", "fall", 0.5, 3.0, 10.0) == pytest.approx(30.3 * scale, rel=1e-12)
    assert library.reasoned
    assert "reasoned values, not characterised" in library.describe()


@pytest.mark.skipif(shutil.which("sta") is None, reason="OpenSTA (sta) is not installed")
def test_opensta_reads_the_written_liberty_and_agrees_on_an_arc(tmp_path):
    library = make_library()
    lib = tmp_path / "corner.lib"
    lib.write_text(write_liberty(library, 2))
    (tmp_path / "top.v").write_text(
        "module top (a, b, y);\n  input a, b; output y;\n  nand2 u1 (.A(a), .B(b), .Y(y));\nendmodule\n"
    )
    (tmp_path / "run.tcl").write_text(
        f"read_liberty {lib}\nread_verilog {tmp_path / 'top.v'}\nlink_design top\n"
        "set_input_transition 20 [get_ports {a b}]\nset_load 5 [get_ports y]\n"
        "report_checks -unconstrained -rise_from [get_ports a] -format full -digits 4\nexit\n"
    )
    completed = subprocess.run(
        ["sta", "-no_splash", str(tmp_path / "run.tcl")], capture_output=True, text=True, timeout=120, check=False
    )
    match = re.search(r"^\s*([0-9.]+)\s+[0-9.]+\s+v u1/Y \(nand2\)", completed.stdout, re.MULTILINE)
    assert match, completed.stdout
    assert float(match.group(1)) == pytest.approx(library.delay_ps("nand2", "A", "fall", 0.9, 5.0, 20.0), abs=1e-3)
