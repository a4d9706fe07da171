"""Every command that takes ``--technology`` accepts Liberty files at several voltage corners."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from experiments.cli import main

SHIPPED = Path(__file__).resolve().parents[2] / "pe_models" / "technology_data" / "cells" / "ptm-32nm-hp"
CORNERS = ",".join(str(SHIPPED / f"ptm-32nm-hp_{name}.lib") for name in ("0p50v", "0p90v"))


def run(argv, capsys):
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_probs_runs_on_liberty_corners(capsys):
    """At 0.9 V the characterised PE's 802 ps path fits the 1429 ps clock: no bit errs (docs/technology.md)."""
    status, out, _ = run(
        ["probs", "--technology", CORNERS, "--vdd", "0.9", "--level", "chain", "--samples", "1000", "--format", "csv"],
        capsys,
    )
    assert status == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 32 and all(float(row["p_err"]) == 0.0 for row in rows)


def test_tech_show_lists_the_cells_of_liberty_corners(capsys):
    status, out, _ = run(
        ["tech", "show", "--technology", CORNERS, "--cells", "--vdd", "0.9", "--format", "csv"], capsys
    )
    assert status == 0
    cells = {row["cell"] for row in csv.DictReader(io.StringIO(out))}
    assert {"xor3", "maj3", "nand2"} <= cells


def test_a_supply_outside_the_corners_is_exit_2_naming_the_range(capsys, tmp_path):
    out_dir = tmp_path / "out"
    status, _, err = run(
        ["probs", "--technology", CORNERS, "--vdd", "0.45", "--level", "chain", "--out", out_dir], capsys
    )
    assert status == 2
    assert err.strip().endswith(
        "--vdd: 0.45 V is outside the table of technology 'ptm-32nm-hp_0p50v.lib,ptm-32nm-hp_0p90v.lib'; "
        "allowed: 0.5 <= --vdd <= 0.9"
    )
    assert len(err.strip().splitlines()) == 1
    assert not out_dir.exists()


def test_tech_show_cells_of_the_characterised_preset_is_its_library(capsys):
    """inv rising at 0.9 V: 5.68 ps at the reference point (docs/technology.md, from the ngspice characterisation)."""
    status, out, _ = run(["tech", "show", "ptm-32nm-hp-cells", "--cells", "--vdd", "0.9", "--format", "csv"], capsys)
    assert status == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {row["basis"] for row in rows} == {"characterised"}
    inverter = next(row for row in rows if (row["cell"], row["edge"]) == ("inv", "rise"))
    assert float(inverter["delay_ps"]) == pytest.approx(5.68, rel=0.01)
