"""Liberty files at several voltage corners as a technology (``--technology a.lib,b.lib,c.lib``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pe_models.errors import ConfigError
from pe_models.liberty import shipped_cell_library
from pe_models.liberty_files import corner_file_name, write_liberty
from pe_models.pe import OperatingPoint, PEConfig, critical_path_ps, stage_timing
from pe_models.technology import LibertyTechnology, resolve_technology
from tests.pe_models.test_liberty import make_library

SHIPPED = Path(__file__).resolve().parents[2] / "pe_models" / "technology_data" / "cells" / "ptm-32nm-hp"


def shipped_corners(*names: str) -> str:
    return ",".join(str(SHIPPED / f"ptm-32nm-hp_{name}.lib") for name in names)


def test_shipped_corners_time_the_pe_as_the_shipped_library_does():
    """The Liberty text (4 significant digits) read back against the compact table it was written from."""
    files = PEConfig(technology=shipped_corners("0p50v", "0p60v", "0p90v"))
    table = PEConfig(technology="ptm-32nm-hp-cells")
    for vdd in (0.9, 0.6, 0.5):
        assert critical_path_ps(files, vdd) == pytest.approx(critical_path_ps(table, vdd), rel=1e-3)


def test_the_nominal_supply_is_the_highest_corner_and_the_curve_the_fo4_ratio():
    technology = resolve_technology(shipped_corners("0p90v", "0p50v"))
    assert isinstance(technology, LibertyTechnology)
    assert technology.vdd_nominal_v == 0.9
    library = shipped_cell_library("ptm-32nm-hp")
    expected = library.fo4_delay_ps(0.5) / library.fo4_delay_ps(0.9)
    assert technology.delay_scale(0.5) == pytest.approx(expected, rel=2e-3)


def test_a_supply_outside_the_corners_is_refused_naming_them():
    pe = PEConfig(technology=shipped_corners("0p60v", "0p90v"))
    with pytest.raises(ConfigError, match=r"^vdd_v: 0\.55 V is outside .*; allowed: 0\.6 <= vdd_v <= 0\.9$"):
        stage_timing(pe, operating_point=OperatingPoint(vdd_v=0.55, f_clk_mhz=700.0))


def test_one_corner_is_refused():
    with pytest.raises(ConfigError, match=r"^technology: .*ptm-32nm-hp_0p90v\.lib: one voltage corner \(0\.9 V\);"):
        resolve_technology(shipped_corners("0p90v"))


def test_a_missing_file_is_one_line_naming_it(tmp_path):
    missing = tmp_path / "nowhere_0p9.lib"
    with pytest.raises(ConfigError, match=rf"^technology: {missing}: no such file$"):
        resolve_technology(f"{shipped_corners('0p50v')},{missing}")


def test_a_cell_the_pe_needs_and_the_files_lack_is_one_line_naming_it(tmp_path):
    library = make_library(cells=tuple(cell for cell in make_library().cells if cell != "maj3"))
    paths = []
    for corner, vdd in enumerate(library.vdd_v):
        path = tmp_path / corner_file_name("nomaj", float(vdd))
        path.write_text(write_liberty(library, corner))
        paths.append(str(path))
    with pytest.raises(
        ConfigError, match=r"^technology: cell library '.*' has no maj3 cell \(.*\), which the PE netlist needs$"
    ):
        PEConfig(cells="compound", technology=",".join(paths))
    assert PEConfig(cells="2in", technology=",".join(paths)).tech.vdd_nominal_v == 0.9


def test_the_setup_time_is_the_files_flip_flop_constraint(tmp_path):
    """make_library's flip-flop: setup 10/V ps (D rising), 12/V ps (falling); the larger at 0.9 V is 13.333 ps."""
    library = make_library()
    paths = []
    for corner, vdd in enumerate(library.vdd_v):
        path = tmp_path / corner_file_name("synthetic", float(vdd))
        path.write_text(write_liberty(library, corner))
        paths.append(str(path))
    pe = PEConfig(cells="compound", technology=",".join(paths))
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=0.9, f_clk_mhz=700.0))
    assert timing.t_setup_fs == 13333
    assert timing.t_sample_fs == round(1e6 / 700.0 * 1000) - 13333
