"""Technology files cut short: what vscale writes is refused when a copy of it is incomplete."""

from __future__ import annotations

import tomllib

import pytest

from experiments.characterize import SpiceRow, preset_toml
from experiments.cli import main
from experiments.studies.technology import tech
from experiments.technology_files import TABLE_COLUMNS, read_technology_csv, read_technology_toml
from pe_models.errors import ConfigError
from pe_models.technology import FitReport, TabulatedTechnology, Technology

FITTED = Technology(
    name="mine",
    description="a test fit",
    vdd_nominal_v=0.9,
    vth_v=0.4,
    delay_model="ekv",
    alpha=1.3,
    slope_factor_n=1.5,
    dibl_eta=0.1,
    vdd_max_v=1.2,
    switching_energy_exponent=2.2,
    source="test",
    fit_error_pct=0.5,
    vdd_min_v=0.4,
)
REPORT = FitReport(
    delay_model="ekv",
    vdd_min_v=0.7,
    vdd_max_v=0.9,
    points=2,
    delay_max_error_pct=0.5,
    delay_rms_error_pct=0.3,
    switching_energy_max_error_pct=1.0,
    leakage_power_max_error_pct=2.0,
)
SPICE_ROWS = (
    SpiceRow(vdd_v=0.9, fo4_delay_ps=7.5, adder_carry_delay_ps=17.0, switching_energy_fj=0.48, leakage_current_na=7.5),
    SpiceRow(vdd_v=0.7, fo4_delay_ps=12.5, adder_carry_delay_ps=29.0, switching_energy_fj=0.27, leakage_current_na=2.0),
)
REQUIRED = "name, vdd_nominal_v, vth_v, delay_model, alpha, slope_factor_n, dibl_eta, vdd_max_v"


def _outcome(reader, path, text: str) -> object:
    path.write_text(text)
    try:
        return reader(path)
    except ConfigError as error:
        return str(error)


def test_preset_toml_ends_with_the_technology_table_and_its_name():
    lines = preset_toml(FITTED, REPORT, rows=SPICE_ROWS).splitlines()
    tables = [line for line in lines if line.startswith("[")]
    assert tables == ["[fit]", "[spice]", "[technology]"]
    assert lines[-1] == 'name = "mine"'


def test_preset_toml_cut_short_is_refused(tmp_path):
    """Prefixes of the file: invalid TOML (tomllib's message), no [technology] table (the cut
    fell in [fit] or [spice], written first), or a [technology] table without its last line,
    ``name``. Only the final line break may go: every byte of the preset is still there.
    Cut at every byte of [technology]; before it, at each line's start, second and last byte."""
    text = preset_toml(FITTED, REPORT, rows=SPICE_ROWS)
    path = tmp_path / "cut.toml"
    assert read_technology_toml(_write(path, text)) == FITTED
    table = text.index("[technology]")
    starts = [0] + [i + 1 for i, char in enumerate(text[:table]) if char == "\n"]
    lengths = sorted({*(s + d for s in starts for d in (0, 1)), *(s - 1 for s in starts[1:])}) + list(
        range(table, len(text) - 1)
    )
    for length in lengths:
        cut = text[:length]
        try:
            document = tomllib.loads(cut)
        except tomllib.TOMLDecodeError as error:
            expected = f"{path}: not valid TOML: {error}"
        else:
            if "technology" not in document:
                expected = f"{path}: technology: missing [technology] table"
            else:
                assert "name" not in document["technology"], repr(cut[-30:])
                expected = f"{path}: technology.name: missing; required: {REQUIRED}"
        assert _outcome(read_technology_toml, path, cut) == expected, repr(cut[-30:])
    assert _outcome(read_technology_toml, path, text[:-1]) == FITTED


def _write(path, text):
    path.write_text(text)
    return path


def _table_csv() -> str:
    return tech(technology=FITTED, vdd_v="0.9:0.7:0.1").table().to_csv()


def test_table_written_by_tech_show_is_read_back():
    lines = _table_csv().splitlines()
    assert lines[0] == ",".join(TABLE_COLUMNS)
    assert [line.split(",")[0] for line in lines[1:]] == ["0.9", "0.8", "0.7"]


def test_table_cut_at_a_line_break(tmp_path):
    """Header and three rows (0.9 V nominal, 0.8 V, 0.7 V). A CSV carries no row count: a
    cut after the second row is a valid two-row table (0.7 V then lies outside it and is
    refused where used); fewer than two rows are refused."""
    lines = _table_csv().splitlines(keepends=True)
    path = tmp_path / "cut.csv"
    assert _outcome(read_technology_csv, path, "") == f"{path}: empty file; expected a header vdd_v,delay_scale"
    for rows in (0, 1):
        assert _outcome(read_technology_csv, path, "".join(lines[: 1 + rows])) == (
            f"{path}: {rows} data rows; a table needs at least 2 supplies"
        )
    two = _outcome(read_technology_csv, path, "".join(lines[:3]))
    assert isinstance(two, TabulatedTechnology)
    assert two.table_vdd_v == (0.8, 0.9)


def _short_row(path, line: int, values: int) -> str:
    missing = ",".join(TABLE_COLUMNS[values:])
    return (
        f"{path}:{line}: {values} of the 4 values, no {missing}; the file ends inside this row: it was cut short; "
        f"allowed: one value per column ({','.join(TABLE_COLUMNS)})"
    )


def test_table_cut_inside_a_row_short_of_values_is_refused(tmp_path):
    """A cut inside row j (file line j + 1) before its last comma leaves fewer values than
    the header has columns."""
    lines = _table_csv().splitlines(keepends=True)
    path = tmp_path / "cut.csv"
    for line in (2, 3, 4):
        head, row = "".join(lines[: line - 1]), lines[line - 1]
        for length in range(1, row.rindex(",") + 1):
            cut = head + row[:length]
            expected = _short_row(path, line, row[:length].count(",") + 1)
            assert _outcome(read_technology_csv, path, cut) == expected, repr(cut[-30:])


def test_table_cut_inside_the_last_value_reads_as_a_last_row_without_line_break(tmp_path):
    """RFC 4180 lets the last row end without a line break, so a cut inside its last value
    cannot be told from a row with a shorter number: the file reads as that number followed
    by a line break would."""
    lines = _table_csv().splitlines(keepends=True)
    path = tmp_path / "cut.csv"
    head, row = "".join(lines[:3]), lines[3]
    for length in range(row.rindex(",") + 1, len(row)):
        cut = head + row[:length]
        assert _outcome(read_technology_csv, path, cut) == _outcome(read_technology_csv, path, cut + "\n")


def test_table_header_cut_short_is_refused(tmp_path):
    header = ",".join(TABLE_COLUMNS)
    path = tmp_path / "cut.csv"
    for length in range(1, len(header) + 1):
        names = header[:length].split(",")
        if "vdd_v" not in names or "delay_scale" not in names:
            first = "vdd_v" if "vdd_v" not in names else "delay_scale"
            expected = f"{path}:1: missing column {first!r}; required: vdd_v,delay_scale"
        elif names[-1] not in TABLE_COLUMNS:
            expected = f"{path}:1: unknown column {names[-1]!r}; allowed: {','.join(TABLE_COLUMNS)}"
        else:
            expected = f"{path}: 0 data rows; a table needs at least 2 supplies"
        assert _outcome(read_technology_csv, path, header[:length]) == expected, header[:length]


def test_row_with_more_values_than_columns_is_refused(tmp_path):
    path = _write(tmp_path / "long.csv", "vdd_v,delay_scale\n0.9,1.0\n0.7,1.6,0.5\n")
    with pytest.raises(ConfigError) as error:
        read_technology_csv(path)
    expected = f"{path}:3: 3 values for the 2 columns; allowed: one value per column (vdd_v,delay_scale)"
    assert str(error.value) == expected


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "cut.csv",
            "vdd_v,delay_scale,leakage_power_scale\n0.9,1.0,1.0\n0.7,1.6",
            "{path}:3: 2 of the 3 values, no leakage_power_scale; the file ends inside this row: it was cut short; "
            "allowed: one value per column (vdd_v,delay_scale,leakage_power_scale)",
        ),
        (
            "cut.toml",
            "[fit]\npoints = 2\n\n[technology]\nvdd_nominal_v = 0.9\n",
            "{path}: technology.name: missing; required: " + REQUIRED,
        ),
    ],
)
def test_cli_refuses_a_technology_file_cut_short_exit_2_nothing_written(tmp_path, capsys, name, text, message):
    path = _write(tmp_path / name, text)
    out = tmp_path / "out"
    assert main(["tech", "show", "--technology", str(path), "--vdd", "0.9", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"vscale: error: {message.format(path=path)}\n"
    assert captured.out == ""
    assert not out.exists()
