"""``vscale tech``: list the presets, show a technology's curves, characterise a SPICE card."""

from __future__ import annotations

import csv
import dataclasses
import json
import subprocess
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from experiments.cli import main
from experiments.technology_files import load_technology
from pe_models.technology import DEFAULT_TECHNOLOGY, TECHNOLOGIES, get_technology

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DATA = resources.files("pe_models") / "technology_data"
CARD = Path(str(DATA / "ptm-32nm-hp.pm"))
needs_ngspice = pytest.mark.needs_tools("ngspice")


def run(argv, capsys):
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_list_names_every_preset_with_source_and_fit_error(capsys):
    status, out, _ = run(["tech", "list", "--format", "json"], capsys)
    assert status == 0
    rows = json.loads(out)["rows"]
    assert [row["name"] for row in rows] == sorted(TECHNOLOGIES)
    by_name = {row["name"]: row for row in rows}
    assert by_name["ptm-32nm-hp-cells"]["default"] is True
    assert [row["name"] for row in rows if row["default"]] == ["ptm-32nm-hp-cells"]
    # the library preset: the curve's FO4 chain, and the cells the library file characterised
    assert by_name["ptm-32nm-hp-cells"]["source"] == (
        "ptm-32nm-hp.pm, ngspice-39 FO4 inverter chain; "
        "cells: ptm-32nm-hp.pm, ngspice-39 transient characterisation of the shipped cell subcircuits"
    )
    assert by_name["ptm-32nm-hp"]["source"] == "ptm-32nm-hp.pm, ngspice-39 FO4 inverter chain"
    assert by_name["ptm-32nm-hp"]["fit_error_pct"] == 0.495
    assert by_name["ptm-32nm-hp"]["vdd_nominal_v"] == 0.9
    assert by_name["generic-28nm"]["fit_error_pct"] is None
    assert by_name["generic-28nm"]["vth_v"] == 0.35


def test_show_generic_28nm_rows_follow_the_closed_forms(tmp_path, capsys):
    out = tmp_path / "show"
    status, text, _ = run(
        ["tech", "show", "--technology", "generic-28nm", "--vdd", "0.9,0.5", "--format", "csv", "--out", out], capsys
    )
    assert status == 0
    rows = list(csv.DictReader(text.splitlines()))
    assert list(rows[0]) == ["vdd_v", "delay_scale", "switching_energy_scale", "leakage_power_scale"]
    assert [float(v) for v in rows[0].values()] == [0.9, 1.0, 1.0, 1.0]
    assert float(rows[1]["switching_energy_scale"]) == pytest.approx(0.25 / 0.81, rel=1e-9)
    # (0.5 / 0.9) * exp(0.1 * (0.5 - 0.9) / (1.5 * 0.025852)) = 0.198037 (docs/technology.md)
    assert float(rows[1]["leakage_power_scale"]) == pytest.approx(0.198037, abs=2e-6)
    assert (out / "tech_show.png").read_bytes()[:8] == PNG_MAGIC
    assert (out / "tech_show.csv").read_text() == text
    assert json.loads((out / "config.json").read_text())["technology"] == "generic-28nm"


def test_show_default_is_the_characterised_library(tmp_path, capsys):
    status, text, _ = run(["tech", "show", "--vdd", "0.5", "--format", "json", "--out", tmp_path], capsys)
    assert status == 0
    result = json.loads(text)
    assert result["totals"]["technology"] == DEFAULT_TECHNOLOGY == "ptm-32nm-hp-cells"
    # Its voltage curve is ptm-32nm-hp's, the ngspice FO4 chain on the PTM 32 nm HP card:
    # 52.710 ps / 7.778 ps = 6.777 at 0.5 V; the library's own FO4 (its fo4_ps column,
    # 52.5824 ps / 7.72466 ps = 6.807) agrees within 1 %.
    assert result["rows"][0]["delay_scale"] == pytest.approx(52.71019 / 7.778202, rel=0.01)
    assert result["rows"][0]["delay_scale"] == pytest.approx(52.5824 / 7.72466, rel=0.01)


def test_show_a_csv_table_of_measured_points(tmp_path, capsys):
    points = tmp_path / "corners.csv"
    points.write_text("vdd_v,delay_scale\n0.9,1.0\n0.5,4.0\n")
    status, text, _ = run(
        ["tech", "show", "--technology", points, "--vdd", "0.7", "--format", "csv", "--out", tmp_path / "o"], capsys
    )
    assert status == 0
    row = next(csv.DictReader(text.splitlines()))
    # Two points: log-linear, the geometric mean of 4 and 1 halfway.
    assert float(row["delay_scale"]) == pytest.approx(2.0, rel=1e-9)
    assert float(row["switching_energy_scale"]) == pytest.approx((0.7 / 0.9) ** 2, rel=1e-9)


def test_show_a_users_toml_fit(tmp_path, capsys):
    fit = tmp_path / "mine.toml"
    fit.write_text(
        '[technology]\nname = "mine"\nvdd_nominal_v = 1.0\nvth_v = 0.4\ndelay_model = "alpha-power"\nalpha = 1.5\n'
        "slope_factor_n = 1.5\ndibl_eta = 0.1\nvdd_max_v = 1.2\n"
    )
    status, text, _ = run(
        ["tech", "show", "--technology", fit, "--vdd", "0.6", "--format", "csv", "--out", tmp_path / "o"], capsys
    )
    assert status == 0
    row = next(csv.DictReader(text.splitlines()))
    # (0.6 / 1.0) * ((1.0 - 0.4) / (0.6 - 0.4)) ** 1.5 = 0.6 * 3 ** 1.5 = 3.117691
    assert float(row["delay_scale"]) == pytest.approx(0.6 * 3**1.5, rel=1e-9)


def test_the_shipped_toml_is_the_python_preset():
    for name in ("ptm-32nm-hp", "ptm-32nm-hp-carry"):
        document = tomllib.loads((DATA / f"{name}.toml").read_text())
        preset = get_technology(name).as_dict()
        assert {k: v for k, v in preset.items() if k != "description" and v is not None} == {
            k: v for k, v in document["technology"].items() if k != "description"
        }
        assert document["fit"]["delay_max_error_pct"] == preset["fit_error_pct"]
        loaded = load_technology(Path(str(DATA / f"{name}.toml")))
        assert dataclasses.replace(loaded, description="-") == dataclasses.replace(
            get_technology(name), description="-"
        )


TOML_FIELDS = (
    'name = "mine"\nvdd_nominal_v = 0.9\nvth_v = 0.4\ndelay_model = "ekv"\nalpha = 1.3\n'
    "slope_factor_n = 1.5\ndibl_eta = 0.1\nvdd_max_v = 1.2\n"
)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "missing.toml",
            "[technology]\n" + TOML_FIELDS.replace("vdd_max_v = 1.2\n", ""),
            "{path}: technology.vdd_max_v: missing; required: name, vdd_nominal_v, vth_v, delay_model, alpha, "
            "slope_factor_n, dibl_eta, vdd_max_v",
        ),
        (
            "negative.toml",
            "[technology]\n" + TOML_FIELDS.replace("alpha = 1.3", "alpha = -1.3"),
            "{path}: technology.alpha: -1.3 is out of range for technology 'mine'; allowed: 1 <= alpha <= 2",
        ),
        (
            "text.toml",
            "[technology]\n" + TOML_FIELDS.replace("vth_v = 0.4", 'vth_v = "low"'),
            "{path}: technology.vth_v: expected a finite number, got 'low'",
        ),
        (
            "table.toml",
            '[technology]\nname = "tab"\nvdd_v = [0.5, 0.7, 0.9]\ndelay_scale = [6.0, 1.5, 1.6]\n',
            "{path}: technology.delay_scale[2]: 1.6 at 0.9 V is not below delay_scale[1] = 1.5 at 0.7 V for "
            "technology 'tab'; allowed: strictly decreasing as vdd_v increases",
        ),
        (
            "negative-table.toml",
            '[technology]\nname = "tab"\nvdd_v = [0.5, 0.9]\ndelay_scale = [-6.0, 1.0]\n',
            "{path}: technology.delay_scale[0]: -6.0 is not positive for technology 'tab'; allowed: a positive number",
        ),
        (
            "syntax.toml",
            "[technology\n",
            "{path}: not valid TOML: Expected ']' at the end of a table declaration (at line 1, column 12)",
        ),
        (
            "nonmonotone.csv",
            "vdd_v,delay_scale\n0.9,1.0\n0.7,1.6\n0.6,1.5\n",
            "{path}:3: delay_scale: 1.6 at 0.7 V is not below 1.5 at 0.6 V (line 4); allowed: delay falls as vdd_v "
            "rises",
        ),
        (
            "negative.csv",
            "vdd_v,delay_scale\n0.9,1.0\n0.7,-1.6\n",
            "{path}:3: delay_scale: expected a positive number, got '-1.6'",
        ),
        (
            "missing.csv",
            "vdd_v,delay\n0.9,1.0\n",
            "{path}:1: missing column 'delay_scale'; required: vdd_v,delay_scale",
        ),
        (
            "no-nominal.csv",
            "vdd_v,delay_scale\n0.9,1.1\n0.7,1.6\n",
            "{path}: delay_scale: no row has 1.0; allowed: exactly 1.0 at the nominal supply",
        ),
    ],
)
def test_bad_technology_files_are_one_line_exit_2_nothing_written(tmp_path, capsys, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    out = tmp_path / "out"
    status, stdout, err = run(["tech", "show", "--technology", path, "--vdd", "0.9", "--out", out], capsys)
    assert status == 2
    assert err == "vscale: error: " + message.format(path=path) + "\n"
    assert stdout == ""
    assert not out.exists()


def test_show_refuses_a_supply_outside_the_table(tmp_path, capsys):
    points = tmp_path / "corners.csv"
    points.write_text("vdd_v,delay_scale\n0.9,1.0\n0.5,4.0\n")
    status, _, err = run(["tech", "show", "--technology", points, "--vdd", "0.45", "--out", tmp_path / "o"], capsys)
    assert status == 2
    assert err == (
        "vscale: error: --vdd: 0.45 V is outside the table of technology 'corners.csv'; allowed: 0.5 <= --vdd <= 0.9\n"
    )
    assert not (tmp_path / "o").exists()


def test_unknown_technology_name(tmp_path, capsys):
    status, _, err = run(["tech", "show", "--technology", "tsmc-3nm", "--vdd", "0.9", "--out", tmp_path / "o"], capsys)
    assert status == 2
    assert err.startswith("vscale: error: ")
    assert "'tsmc-3nm' is not a known technology" in err
    assert err.count("\n") == 1


def test_characterize_without_ngspice_is_one_line_exit_2(tmp_path, capsys):
    out = tmp_path / "out"
    status, stdout, err = run(
        ["tech", "characterize", "--model-card", CARD, "--ngspice", "no-such-ngspice", "--out", out], capsys
    )
    assert status == 2
    assert err == (
        "vscale: error: --ngspice: 'no-such-ngspice' not found on PATH; install it (Debian/Ubuntu: apt-get install "
        "ngspice)\n"
    )
    assert stdout == "" and not out.exists()


def test_characterize_needs_four_voltages_and_may_go_below_the_default_range(tmp_path, capsys):
    argv = ["tech", "characterize", "--model-card", CARD, "--vdd", "0.9,0.35,0.3", "--out", tmp_path / "o"]
    status, _, err = run(argv, capsys)
    assert status == 2
    assert err == "vscale: error: --vdd: 3 voltages given; allowed: at least 4 (the fits have 3 parameters)\n"
    assert not (tmp_path / "o").exists()


def test_characterize_missing_card(tmp_path, capsys):
    status, _, err = run(["tech", "characterize", "--model-card", tmp_path / "none.pm", "--out", tmp_path], capsys)
    assert status == 2
    assert err == f"vscale: error: --model-card: {tmp_path / 'none.pm'}: no such file\n"


def _card_running(sentinel: Path, directive: str = ".control") -> str:
    return (
        "* a card that runs a command\n.model nmos nmos level=1\n.model pmos pmos level=1\n"
        f"  {directive}\nshell touch '{sentinel}'\n.endc\n"
    )


@needs_ngspice
def test_ngspice_runs_the_shell_command_of_an_included_card(tmp_path):
    card = tmp_path / "card.pm"
    card.write_text(_card_running(tmp_path / "ran"))
    deck = tmp_path / "deck.sp"
    deck.write_text(f'deck\n.include "{card}"\nV1 a 0 1\nR1 a 0 1k\n.control\nop\n.endc\n.end\n')
    subprocess.run(["ngspice", "-b", str(deck)], capture_output=True, timeout=60, check=False)
    assert (tmp_path / "ran").exists()


@pytest.mark.parametrize("directive", [".control", ".CONTROL", ".include other.pm", ".lib other.lib tt", ".exec"])
def test_characterize_refuses_a_card_with_commands_before_ngspice_runs(tmp_path, capsys, directive):
    card = tmp_path / "card.pm"
    card.write_text(_card_running(tmp_path / "ran", directive))
    out = tmp_path / "out"
    status, stdout, err = run(["tech", "characterize", "--model-card", card, "--out", out], capsys)
    assert status == 2
    assert err == (
        f"vscale: error: --model-card: {card}:4: {directive.split()[0]!r} is not allowed in a model card; "
        "allowed: .model, .param, .option, .options, .opt, .temp, .subckt, .ends, .end, .endl, .lib SECTION\n"
    )
    assert stdout == "" and not out.exists() and not (tmp_path / "ran").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--name", "../x"],
            "--name: '../x' is not a file name; allowed: letters, digits, '.', '_' and '-', not starting with '.'",
        ),
        (
            ["--cells", "--name", "a/b"],
            "--name: 'a/b' is not a file name; allowed: letters, digits, '.', '_' and '-', not starting with '.'",
        ),
        (["--workers", "0"], "--workers: 0; allowed: 1 to 64"),
        (["--vdd", ""], "--vdd: '' is not START:STOP:STEP or a comma-separated list of volts (e.g. 0.9:0.5:0.05)"),
        (
            ["--cells", "--vdd", ""],
            "--vdd: '' is not START:STOP:STEP or a comma-separated list of volts (e.g. 0.9:0.5:0.05)",
        ),
    ],
)
def test_characterize_refuses_bad_options_before_ngspice_runs(tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    status, stdout, err = run(["tech", "characterize", "--model-card", CARD, *argv, "--out", out], capsys)
    assert (status, stdout, err) == (2, "", f"vscale: error: {message}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_characterize_refuses_a_card_that_is_not_utf8(tmp_path, capsys):
    card = tmp_path / "card.pm"
    card.write_bytes("* caf\xe9\n.model nmos nmos level=54\n".encode("latin-1"))
    out = tmp_path / "out"
    status, stdout, err = run(["tech", "characterize", "--model-card", card, "--out", out], capsys)
    assert (status, stdout, err) == (2, "", f"vscale: error: --model-card: {card}: not a UTF-8 text file\n")
    assert not out.exists()


@needs_ngspice
def test_characterize_a_card_ngspice_rejects(tmp_path, capsys):
    card = tmp_path / "broken.pm"
    card.write_text(".model nmos nmos level=14 vth0=\n.model pmos\n")
    out = tmp_path / "out"
    status, stdout, err = run(["tech", "characterize", "--model-card", card, "--out", out], capsys)
    assert status == 2
    assert err.startswith(f"vscale: error: --model-card: {card.resolve()}: ngspice rejected it (")
    assert err.count("\n") == 1
    assert stdout == "" and not out.exists()


@pytest.mark.slow
@needs_ngspice
def test_shipped_preset_reproduces_ngspice_on_the_shipped_card(tmp_path, capsys):
    out = tmp_path / "out"
    status, _, _ = run(
        [
            "tech",
            "characterize",
            "--model-card",
            CARD,
            "--vdd",
            "0.9,0.7,0.6,0.55,0.5",
            "--format",
            "csv",
            "--out",
            out,
        ],
        capsys,
    )
    assert status == 0
    with (out / "spice.csv").open() as handle:
        rows = {float(row["vdd_v"]): row for row in csv.DictReader(handle)}
    preset = get_technology("ptm-32nm-hp")
    nominal = float(rows[0.9]["fo4_delay_ps"])
    for vdd in (0.5, 0.55, 0.6, 0.7):
        measured = float(rows[vdd]["fo4_delay_ps"]) / nominal
        assert preset.delay_scale(vdd) == pytest.approx(measured, rel=0.05), vdd
    assert float(rows[0.5]["fo4_delay_ps"]) / nominal == pytest.approx(6.7, rel=0.05)
    fitted = tomllib.loads((out / "ptm-32nm-hp.toml").read_text())
    assert fitted["technology"]["delay_model"] == "ekv"
    assert (out / "fit.png").read_bytes()[:8] == PNG_MAGIC
