"""Small things a first try at the command line found: each message as the user sees it."""

from __future__ import annotations

import pytest

from experiments.cli import main


def test_tech_show_takes_the_technology_as_its_argument(tmp_path, capsys):
    assert main(["tech", "show", "finfet-7nm", "--format", "csv", "--out", str(tmp_path / "a")]) == 0
    by_argument = capsys.readouterr().out
    assert main(["tech", "show", "--technology", "finfet-7nm", "--format", "csv", "--out", str(tmp_path / "b")]) == 0
    assert capsys.readouterr().out == by_argument
    assert by_argument.splitlines()[1].startswith("0.7,1.0,")


def test_a_vdd_in_millivolts_is_named_as_such(tmp_path, capsys):
    assert main(["probs", "--vdd", "900", "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        "vscale: error: --vdd: 900 V is out of range; allowed: (0, 2] V; in volts, 0.9 V (900 mV)?\n"
    )


def test_a_vdd_listed_twice_is_refused_before_anything_runs(tmp_path, capsys):
    assert main(["probs", "--vdd", "0.9,0.9", "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert captured.err == "vscale: error: --vdd: 0.9 V is listed twice; allowed: each supply voltage once\n"
    assert captured.out == ""
    assert not (tmp_path / "out").exists()


def test_run_help_prints_a_single_percent_sign(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "95 % score interval" in text
    assert "%%" not in text


def test_tech_list_shows_a_dash_where_there_is_no_fit(capsys):
    assert main(["tech", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    finfet = next(line for line in lines if line.lstrip().startswith("finfet-7nm"))
    assert finfet.split()[-1] == "-"
    assert "None" not in "\n".join(lines)


@pytest.mark.parametrize(
    ("extra", "words"),
    [([], "0 stall, unlimited DRAM bandwidth"), (["--bandwidth", "10"], "stall, DRAM bandwidth 10 words per cycle")],
)
def test_latency_states_the_dram_bandwidth(tmp_path, capsys, extra, words):
    argv = ["latency", "--topology", "resnet18", "--array", "32x32", *extra, "--out", str(tmp_path / "out")]
    assert main(argv) == 0
    assert words in capsys.readouterr().out.splitlines()[-1]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["accuracy", "--vddd", "0.9"], "--vddd: not an option of vscale accuracy; did you mean --vdd?"),
        (
            ["latency", "--topology", "resnet50", "--bandwith=10"],
            "--bandwith: not an option of vscale latency; did you mean --bandwidth?",
        ),
        (
            ["tech", "show", "--vdd-volts", "0.5"],
            "--vdd-volts: not an option of vscale tech show; did you mean --vdd-v?",
        ),
        (
            ["latency", "--topology", "resnet50", "--zzzz"],
            "--zzzz: not an option of vscale latency; see vscale latency --help",
        ),
        (["latency", "--topology", "resnet50", "extra"], "unrecognized arguments: extra"),
    ],
)
def test_an_unknown_option_names_the_nearest_one(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as status:
        main([*argv, "--out", str(tmp_path / "out")])
    assert status.value.code == 2
    assert capsys.readouterr().err == f"vscale: error: {message}\n"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["latency", "--topology", "resnet50", "--array", "8x8", "--array", "16x16"],
            "vscale latency: error: --array: given twice; give it once",
        ),
        (
            ["latency", "--topology", "resnet50", "--dataflow", "os", "--dataflow=ws"],
            "vscale latency: error: --dataflow: given twice; give it once",
        ),
        (
            ["latency", "--topology", "resnet50", "--config-file", "a.cfg", "--config", "b.cfg"],
            "vscale latency: error: --config: the same option as --config-file; give it once",
        ),
        (
            ["energy", "--gemm", "4,4,4", "--clock-gating", "--no-clock-gating"],
            "vscale energy: error: --no-clock-gating: the same option as --clock-gating; give it once",
        ),
        (
            ["--max-memory", "1G", "--max-memory", "2G", "latency", "--topology", "resnet50"],
            "vscale: error: --max-memory: given twice; give it once",
        ),
    ],
)
def test_an_option_given_twice_is_refused(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as status:
        main([*argv, "--out", str(tmp_path / "out")])
    assert status.value.code == 2
    assert capsys.readouterr().err == f"{message}\n"
    assert not (tmp_path / "out").exists()
