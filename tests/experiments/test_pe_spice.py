"""`vscale pe spice`: the PE in ngspice against the gate level, and its bad input."""

import csv
import io

import pytest

from experiments.cli import main


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--vdd", "0.9", "--vectors", "0"], "--vectors: 0; allowed: 1..100000 random vectors or a FILE.csv"),
        (
            ["--vdd", "0.9", "--vectors", "many"],
            "--vectors: 'many'; allowed: a number of random vectors (1..100000) or a FILE.csv",
        ),
        (["--vdd", "0.9", "--vectors", "nope.csv"], "--vectors: nope.csv: no such vector file"),
        (
            ["--vdd", "0.9", "--stages", "adder,alu"],
            "--stages: 'adder,alu'; allowed: a comma-separated subset of adder, mac",
        ),
        (
            ["--vdd", "0.9", "--temperature-c", "85"],
            "--temperature-c: 85 C; the cell library was characterised at 27 C",
        ),
        (
            ["--t-clk-ps", "1000"],
            "--vdd: SPICE needs a supply voltage; allowed: --vdd with --f-clk-mhz (not --t-clk-ps)",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, capsys, arguments, message):
    out = tmp_path / "out"
    assert main(["pe", "spice", *arguments, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip().endswith(message)
    assert captured.err.count("\n") == 1
    assert captured.out == ""
    assert not out.exists()


@pytest.mark.slow
@pytest.mark.needs_tools("ngspice")
def test_adder_at_nominal_supply_latches_what_the_gate_level_latches(tmp_path, capsys):
    """At 0.9 V and 700 MHz the adder's critical path (802 ps, OpenSTA-checked) fits the 1429 ps period:
    ngspice and the gate level must both latch every bit's settled value, so any difference is a
    wrong deck (pins, bit order, launch, sampling instant)."""
    out = tmp_path / "out"
    code = main(
        ["pe", "spice", "--vdd", "0.9", "--vectors", "2", "--stages", "adder", "--format", "csv", "--out", str(out)]
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 32
    assert {float(row["bits_equal_pct"]) for row in rows} == {100.0}
    assert {float(row["spice_error_pct"]) for row in rows} == {0.0}
    assert (out / "adder.sp").read_text().count("\nxadder_") == 64
    assert "bits_equal_pct" in (out / "totals.csv").read_text().splitlines()[0].split(",")
