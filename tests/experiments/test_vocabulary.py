"""One vocabulary: config fields are Python keywords, sweep keys and command-line options."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest

import vscale
from experiments.cli import build_parser, main
from experiments.results import saving_pct
from experiments.studies import STUDIES
from experiments.studies.optimize import OptimizeConfig
from experiments.studies.scalesim import ScaleSimConfig
from experiments.sweep import SweepSpec
from experiments.vocabulary import UnknownFieldError, field_names, option_strings
from pe_models.errors import ConfigError

SCALESIM = Path(__file__).resolve().parents[1] / "data" / "scalesim"


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Every (sub-)command parser by its path, ``"tech show"`` for a nested one."""
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[name] = sub
                found.update({f"{name} {inner}": nested for inner, nested in _subparsers(sub).items()})
    return found


STUDY_COMMANDS = {
    "accuracy": "accuracy",
    "energy": "energy",
    "latency": "latency",
    "optimize": "optimize",
    "probs": "probs",
    "run": "run",
    "scalesim": "scalesim",
    "simulate": "simulate",
    "size": "size",
    "slack": "slack",
    "tech show": "tech",
    "trace": "trace",
}


@pytest.mark.parametrize(("command", "study"), STUDY_COMMANDS.items())
def test_every_config_field_is_an_option_of_its_command_with_the_configs_default(command, study):
    parser = _subparsers(build_parser())[command]
    config_type = STUDIES[study].config_type
    actions = {action.dest: action for action in parser._actions if action.option_strings}
    for item in dataclasses.fields(config_type):
        assert item.name in actions, f"{command}: no option for {item.name}"
        action = actions[item.name]
        assert action.option_strings[: len(option_strings(item.name))] == option_strings(item.name) or (
            set(option_strings(item.name)) <= set(action.option_strings)
        )
        if item.default is not dataclasses.MISSING and action.default is not argparse.SUPPRESS:
            assert action.default == item.default, f"{command} {item.name}"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: vscale.accuracy(vdd=0.9), "vdd: not a field of AccuracyConfig; did you mean vdd_v?"),
        (lambda: vscale.latency(topolgy="resnet18"), "topolgy: not a field of LatencyConfig; did you mean topology?"),
        (lambda: vscale.simulate(layer="4,4,4", vdd_v=0.9), "layer: not a field of SimulateConfig; did you mean gemm?"),
        (lambda: vscale.optimize(rows=64), "rows: not a field of OptimizeConfig; use array"),
        (lambda: vscale.optimize(vdd_max_v=0.9), "vdd_max_v: not a field of OptimizeConfig; use vdd_v"),
        (lambda: vscale.energy(stall_scope="column"), "stall_scope: not a field of EnergyConfig; use recovery"),
        (lambda: vscale.AccuracyConfig(vdd=0.9), "vdd: not a field of AccuracyConfig; did you mean vdd_v?"),
        (
            lambda: vscale.ScaleSimConfig(config="a.cfg", topology="t.csv"),
            "config: not a field of ScaleSimConfig; did you mean config_file?",
        ),
        (
            lambda: vscale.TechConfig(xyz=1),
            "xyz: not a field of TechConfig; fields: technology, vdd_v",
        ),
    ],
)
def test_an_unknown_keyword_names_the_nearest_field(call, message):
    with pytest.raises(UnknownFieldError) as caught:
        call()
    assert str(caught.value) == message
    assert isinstance(caught.value, TypeError) and isinstance(caught.value, ConfigError)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: vscale.AccuracyConfig(model="nope"),
            "model: expected one of tinymnv2, mobilenetv2 or a float ONNX file, got 'nope'",
        ),
        (lambda: vscale.RunConfig(model="nope"), "model: expected one of tinymnv2, mobilenetv2, got 'nope'"),
        (lambda: OptimizeConfig(model="nope"), "model: expected one of tinymnv2, mobilenetv2, got 'nope'"),
        (lambda: vscale.EnergyConfig(model="nope"), "model: expected one of tinymnv2, mobilenetv2, got 'nope'"),
        (lambda: vscale.AccuracyConfig(images=5000), "images: 5000 is out of range; allowed: 1..1000"),
        (lambda: vscale.TraceConfig(images=-2), "images: expected a positive integer, got -2"),
        (
            lambda: vscale.LatencyConfig(topology="nope"),
            "topology: 'nope' is neither a file nor a built-in topology; "
            "allowed: a CSV file or one of mobilenetv2, resnet18, resnet50",
        ),
        (
            lambda: OptimizeConfig(vdd_v="2.0:0.5"),
            "vdd_v: 2.0 V is above the maximum supply 1.0 V of technology "
            "'ptm-32nm-hp-cells'; allowed: 0.4 <= vdd_v <= 1.0",
        ),
        (
            lambda: vscale.ProbsConfig(vdd_v=900),
            "vdd_v: 900 V is out of range; allowed: (0, 2] V; in volts, 0.9 V (900 mV)?",
        ),
        (
            lambda: vscale.SimulateConfig(gemm="4,4,4", t_clk_ps=2000, f_clk_mhz=600),
            "f_clk_mhz: 600 MHz, but t_clk_ps 2000 ps is a 500 MHz clock; give one of them",
        ),
        (
            lambda: vscale.EnergyConfig(gemm="4,4,4", batch=0),
            "batch: expected an integer >= 1 (images sharing a weight fold), got 0",
        ),
    ],
)
def test_a_config_refuses_bad_values_when_it_is_built_naming_the_field(build, message):
    with pytest.raises(ConfigError) as caught:
        build()
    assert str(caught.value) == message


def test_optimize_takes_the_field_names_of_the_other_studies():
    config = OptimizeConfig(array="64x32", vdd_v="0.7:0.68", recovery="column,global", cells="2in", batch=2)
    assert (config.rows, config.cols, config.vdds, config.recovery) == (64, 32, (0.7, 0.69, 0.68), ("column", "global"))
    assert (config.pe.cells, config.batch) == ("2in", 2)
    with pytest.raises(ConfigError, match=r"^max_accuracy_loss_pct: -1 is out of range; allowed: \[0, 100\] %$"):
        vscale.optimize(max_accuracy_loss_pct=-1)


def test_scalesim_takes_scalesims_own_keywords():
    files = {
        "config": SCALESIM / "configs" / "a32x32_ws_calc.cfg",
        "topology": SCALESIM / "topologies" / "Resnet50_mlperf.csv",
    }
    by_keyword = vscale.scalesim(**files)
    assert by_keyword.config == ScaleSimConfig(config_file=files["config"], topology=files["topology"])
    assert vscale.scalesim(config=by_keyword.config).totals == by_keyword.totals


def test_a_gemm_topology_without_input_type_gemm_says_to_give_it(tmp_path, capsys):
    topology = tmp_path / "gemm.csv"
    topology.write_text("Layer, M, N, K,\nl1, 64, 64, 64,\n")
    config = SCALESIM / "configs" / "a32x32_ws_calc.cfg"
    with pytest.raises(ConfigError, match=r"^input_type: gemm\.csv is a SCALE-Sim gemm topology, not conv; give "):
        vscale.scalesim(config=config, topology=topology)
    assert main(["scalesim", "-c", str(config), "-t", str(topology), "-p", str(tmp_path / "out")]) == 2
    assert (
        capsys.readouterr().err == "vscale: error: -i: gemm.csv is a SCALE-Sim gemm topology, not conv; give -i gemm\n"
    )


def test_sweep_keys_are_field_names_or_the_short_names_of_the_options():
    assert SweepSpec(study="probs", grid={"vdd_v": [0.9]}).parameter_sets() == [{"vdd_v": 0.9}]
    assert SweepSpec(study="probs", grid={"vdd": [0.9], "rows": [8]}).parameter_sets() == [{"vdd": 0.9, "rows": 8}]
    with pytest.raises(ConfigError, match=r"^sweep: fixed\.vdd_vv: not a field of ProbsConfig; did you mean vdd_v\?$"):
        SweepSpec(study="probs", fixed={"vdd_vv": 0.9}, grid={"seed": [1]})


def test_the_short_and_the_full_option_give_the_same_config():
    parser = build_parser()
    short = parser.parse_args(["probs", "--vdd", "0.8", "--rows", "16"])
    full = parser.parse_args(["probs", "--vdd-v", "0.8", "--array-rows", "16"])
    assert (short.vdd_v, short.array_rows) == (full.vdd_v, full.array_rows) == ("0.8", 16)


def test_every_study_config_documents_every_field():
    from experiments.options import field_help

    for name in STUDIES:
        config_type = STUDIES[name].config_type
        missing = [field for field in field_names(config_type) if not field_help(config_type).get(field)]
        assert missing == [], f"{name}: {missing}"


def test_a_saving_equal_to_its_reference_up_to_rounding_is_zero():
    assert saving_pct(1.0 + 2.2e-16, 1.0) == 0.0
    assert str(saving_pct(3.0000000000000004, 3.0)) == "0.0"
    assert saving_pct(0.5, 1.0) == 50.0


def test_a_clock_period_is_the_one_clock_of_the_config():
    """t_clk_ps 2000 ps is 1e6 / 2000 = 500 MHz: the config's f_clk_mhz and the array's clock."""
    config = vscale.SimulateConfig(gemm="4,4,4", t_clk_ps=2000)
    assert config.f_clk_mhz == 500.0
    assert config.array_config().f_clk_mhz == 500.0


def test_a_clock_given_at_its_default_beside_a_period_that_disagrees_is_refused():
    """700 MHz is the default with vdd_v, but given beside 2000 ps (a 1e6 / 2000 = 500 MHz
    clock) it is a second clock, refused like any other."""
    with pytest.raises(
        ConfigError, match=r"^f_clk_mhz: 700 MHz, but t_clk_ps 2000 ps is a 500 MHz clock; give one of them$"
    ):
        vscale.SimulateConfig(gemm="4,4,4", t_clk_ps=2000, f_clk_mhz=700)


def test_a_clock_given_equal_to_the_period_is_the_one_clock():
    assert vscale.SimulateConfig(gemm="4,4,4", t_clk_ps=2000, f_clk_mhz=500).f_clk_mhz == 500.0


def test_a_supply_without_a_clock_runs_at_700_mhz():
    assert vscale.SimulateConfig(gemm="4,4,4", vdd_v=0.9).f_clk_mhz == 700.0


def test_cli_refuses_the_default_clock_given_beside_a_period_exit_2_nothing_written(tmp_path, capsys):
    from experiments.cli import main

    out = tmp_path / "out"
    argv = ["simulate", "--gemm", "4,4,4", "--t-clk-ps", "2000", "--f-clk-mhz", "700", "--out", str(out)]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        "vscale: error: --f-clk-mhz: 700 MHz, but --t-clk-ps 2000 ps is a 500 MHz clock; give one of them\n"
    )
    assert not out.exists()
