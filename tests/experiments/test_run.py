"""``vscale run``: the three steps, report.md against its CSVs, bad input before any work."""

from __future__ import annotations

import csv
import re

import pytest

from experiments.cli import main


def _markdown_rows(text: str, heading: str) -> list[dict[str, str]]:
    """The first Markdown table after `heading`, as dicts."""
    lines = text[text.index(heading) :].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| "))
    header = [c.strip() for c in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(dict(zip(header, (c.strip() for c in line.strip("|").split("|")), strict=True)))
    return rows


def _same(report_cell: str, csv_cell: str) -> bool:
    if report_cell == "" and csv_cell == "nan":
        return True
    try:
        return float(report_cell) == float(f"{float(csv_cell):.4g}")
    except ValueError:
        return report_cell == csv_cell


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--vdd", "0.9:0.3:0.1"],
            "--vdd: 0.3 V is below the lowest supply 0.4 V of technology 'ptm-32nm-hp-cells'; "
            "allowed: 0.4 <= --vdd <= 1.0",
        ),
        (["--max-accuracy-loss-pct", "-3"], "--max-accuracy-loss-pct: -3.0 is out of range; allowed: [0, 100] %"),
        (["--images", "5000"], "--images: 5000 is out of range; allowed: 1..1000"),
        (
            ["--images", "10", "--selection-images", "12"],
            "--selection-images: 12 selection + the rest test images of 10 loaded; allowed: at least 1 each, "
            "at most 10 together",
        ),
        (
            ["--images", "10", "--test-images", "10"],
            "--test-images: the rest selection + 10 test images of 10 loaded; allowed: at least 1 each, "
            "at most 10 together",
        ),
    ],
)
def test_bad_input_is_refused_before_anything_is_written(argv, message, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", *argv, "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"vscale: error: {message}")
    assert "\n" not in error
    assert not out.exists()


@pytest.mark.slow
def test_run_writes_report_whose_numbers_equal_its_csvs(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["run", "--images", "60", "--vdd", "0.9,0.55,0.5", "--out", str(out)]
    assert main(argv) == 0
    stdout = capsys.readouterr().out
    assert stdout.startswith("step 1: per-bit error probability")
    names = {p.name for p in out.iterdir()}
    assert {"report.md", "accuracy.csv", "accuracy.png", "energy.png", "pareto.png", "plan.toml"} <= names
    assert {"best_per_vdd.csv", "pareto.csv", "probs.csv", "probs_heatmap.png", "config.json"} <= names
    report = (out / "report.md").read_text()
    with (out / "accuracy.csv").open() as handle:
        measured = list(csv.DictReader(handle))
    headline = _markdown_rows(report, "## Headline")[0]
    match = [r for r in measured if r["label"] == "accepted plan" and _same(headline["vdd_v"], r["vdd_v"])]
    assert len(match) == 1
    for column, value in headline.items():
        assert _same(value, match[0][column]), column
    steps = _markdown_rows(report, "## Steps 2 and 3")
    assert len(steps) == len(measured)
    for shown, row in zip(steps, measured, strict=True):
        for column, value in shown.items():
            assert _same(value, row[column]), column
    with (out / "best_per_vdd.csv").open() as handle:
        screen = list(csv.DictReader(handle))
    shown = _markdown_rows(report, "## The optimizer")
    assert len(shown) == len(screen)
    for table_row, row in zip(shown, screen, strict=True):
        for column, value in table_row.items():
            if value:
                assert _same(value, row[column]), column
    layers = _markdown_rows(report, "### Per layer at nominal VDD")
    nominal = next(r for r in measured if r["label"] == "step 2: unprotected" and _same("0.9", r["vdd_v"]))
    assert len(layers) == 17 and all(row["batch"] == "1" for row in layers)
    assert all(0.0 < float(row["utilisation_pct"]) <= 100.0 for row in layers)
    # 4 significant digits per shown cell
    assert sum(float(row["energy_uj"]) for row in layers) == pytest.approx(float(nominal["energy_uj"]), rel=1e-3)
    paper_row = "| paper (MobileNetV2, ImageNet) | 0.5 | 0.001 | 79.4 (what it counts is not published) | | | 0.29 |"
    assert paper_row in report
    assert re.search(r"needs about [0-9,]+ images when [0-9.]+ % of them change class \(Connor 1987", report)
    assert "measured on the test images, which took no part in the choice: **confirmed**." in report
    plan = (out / "plan.toml").read_text()
    assert 'model = "tinymnv2"' in plan and "[layers]" in plan


def test_plan_for_another_model_is_refused_before_anything_is_written(tmp_path, capsys):
    plan = tmp_path / "plan.toml"
    plan.write_text('model = "mobilenetv2"\nrecovery = "global"\n[layers]\n"features.0.0" = "31:22"\n')
    out = tmp_path / "out"
    assert main(["run", "--plan", str(plan), "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == (
        "vscale: error: plan.model: the plan is for model 'mobilenetv2', not 'tinymnv2'; allowed: 'tinymnv2'"
    )
    assert not out.exists()


def test_protect_given_with_a_plan_file_is_refused(tmp_path, capsys):
    plan = tmp_path / "plan.toml"
    plan.write_text('default = "31:24"\n')
    out = tmp_path / "out"
    assert main(["run", "--plan", str(plan), "--protect", "none", "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        "vscale: error: --protect: given with plan, which sets it for every layer; give one of them\n"
    )
    assert not out.exists()


def test_steps_2_and_3_take_the_pe_technology_clock_and_array_options():
    from experiments.cli import build_parser
    from experiments.options import config_from_args
    from experiments.studies.run import RunConfig

    args = build_parser().parse_args(
        ["run", "--cells", "2in", "--f-clk-mhz", "600", "--array", "128x64", "--vdd", "0.9,0.6", "--images", "10"]
    )
    optimizer = config_from_args(RunConfig, args).optimizer()
    assert (optimizer.pe.cells, optimizer.f_clk_mhz, optimizer.rows, optimizer.cols) == ("2in", 600.0, 128, 64)
    assert (optimizer.vdds[0], optimizer.vdds[-1], optimizer.images) == (0.9, 0.6, 10)


def test_paper_configuration_replaces_only_the_defaults():
    from experiments.studies.run import RunConfig

    paper = RunConfig(paper=True)
    assert (paper.model, paper.array, paper.f_clk_mhz, paper.images) == ("mobilenetv2", "256x256", 700.0, 8)
    assert paper.vdd_values() == (0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5)
    assert RunConfig(paper=True, images=3).images == 3


@pytest.mark.slow
def test_measured_rows_do_not_depend_on_the_number_of_worker_processes():
    from experiments.studies.optimize import (
        OptimizeConfig,
        layer_profiles,
        measure_plans,
        uniform_plan,
        unprotected_plan,
    )
    from experiments.studies.prepared import prepare_model
    from workloads.engine import CalibrationConfig

    config = OptimizeConfig(images=20, vdd_v="0.9:0.55", confirm=False)
    prepared = prepare_model("tinymnv2", images=20, labels=None, seed=0, calibration=CalibrationConfig())
    profiles = layer_profiles(prepared, config)
    layers = tuple(p.name for p in profiles)
    plans = [("a", unprotected_plan(0.55, layers)), ("b", uniform_plan(0.6, layers, 0xFFFF0000, "column", 32))]
    serial = measure_plans(prepared, config, profiles, plans, jobs=1)
    forked = measure_plans(prepared, config, profiles, plans, jobs=2)
    assert serial == forked


@pytest.mark.slow
def test_run_with_a_plan_file_measures_it_in_step_2(tmp_path, capsys):
    plan = tmp_path / "mine.toml"
    plan.write_text('model = "tinymnv2"\nrecovery = "column"\ndefault = "31:24"\n[layers]\n"features.0.0" = "31:20"\n')
    out = tmp_path / "out"
    assert main(["run", "--plan", str(plan), "--images", "20", "--vdd", "0.9,0.6", "--out", str(out)]) == 0
    capsys.readouterr()
    with (out / "accuracy.csv").open() as handle:
        rows = [row for row in csv.DictReader(handle) if row["label"] == "step 2: plan mine.toml"]
    assert [float(row["vdd_v"]) for row in rows] == [0.9, 0.6]
    assert {row["recovery"] for row in rows} == {"column"}
    assert rows[0]["protected_bits"] == "31:20 to 31:24 (17/17 layers)"


def test_paper_regime_sentence_asks_for_the_delay_scale_at_half_a_volt_as_slack():
    from experiments.report import _paper_regime_sentence
    from experiments.studies.optimize import OptimizeConfig

    # On the formula preset every delay (setup included) is the nominal one times delay_scale:
    # every path meets 700 MHz at 0.5 V when period / (critical path x delay_scale(0.5)) >= 1,
    # so the slack ratio at nominal VDD must be at least delay_scale(0.5).
    config = OptimizeConfig(technology="ptm-32nm-hp")
    needed = config.pe.tech.delay_scale(0.5)
    assert f"of at least {needed:.3g}; this PE's is" in _paper_regime_sentence(config)


def test_paper_regime_sentence_on_the_default_library_is_openstas_path_ratio():
    from experiments.report import _paper_regime_sentence
    from experiments.studies.optimize import OptimizeConfig

    # On the characterised library the needed slack ratio is the critical path + setup at 0.5 V
    # over that at 0.9 V: OpenSTA 2.0.17 on the committed Liberty corners gives 5316.5 ps and
    # 801.6 ps (docs/technology.md, "Static timing against OpenSTA"); 1428.57 / 801.6 = 1.78.
    config = OptimizeConfig(vdd_v="0.9,0.5")  # two supplies: the config times each one
    assert config.pe.tech.name == "ptm-32nm-hp-cells"
    sentence = _paper_regime_sentence(config)
    assert f"of at least {5316.5 / 801.6:.3g}; this PE's is {1e6 / 700 / 801.6:.3g}." in sentence


def test_paper_configuration_minimises_the_cores_energy_as_the_paper_reports_it():
    from experiments.studies.run import RunConfig

    assert RunConfig(paper=True).optimizer().objective == "core"
    assert RunConfig().optimizer().objective == "system"
