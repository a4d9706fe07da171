"""The study API: typed frozen results, configs that name their fields, the registry, the CLI map."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import os
import re

import pytest

import vscale
from experiments.options import cli_message, config_from_args
from experiments.results import StudyResult, display_value
from experiments.studies import STUDIES, Study
from experiments.studies.common import check_int, vdd_values
from experiments.vocabulary import option_strings
from pe_models.errors import ConfigError


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Row:
    vdd_v: float
    error_pct: float
    label: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Result(StudyResult[_Row, dict]):
    row_type = _Row


def _result() -> _Result:
    rows = (_Row(vdd_v=0.9, error_pct=46.800000000000004, label="a"), _Row(vdd_v=0.55, error_pct=0.1 + 0.2, label="b"))
    return _Result(config={"vdd_v": (0.9, 0.55)}, rows=rows, totals={"mean_pct": (46.8 + 0.3) / 2})


def test_numbers_are_rounded_for_display_only():
    result = _result()
    assert result.to_csv() == "vdd_v,error_pct,label\n0.9,46.8,a\n0.55,0.3,b\n"
    assert result.rows[0].error_pct == 46.800000000000004
    assert display_value(1 / 3) == 0.333333333333


def test_json_keeps_config_and_totals_apart_from_the_rows_with_the_csv_column_names():
    data = json.loads(_result().to_json())
    assert list(data) == ["config", "totals", "rows"]
    assert data["config"] == {"vdd_v": [0.9, 0.55]}
    assert data["totals"] == {"mean_pct": 23.55}
    header = next(csv.reader(io.StringIO(_result().to_csv())))
    assert [list(row) for row in data["rows"]] == [header, header]


def test_to_csv_with_a_path_writes_the_same_text_with_the_umask(tmp_path):
    previous = os.umask(0o027)
    try:
        text = _result().to_csv(tmp_path / "sub" / "r.csv")
    finally:
        os.umask(previous)
    path = tmp_path / "sub" / "r.csv"
    assert path.read_text() == text
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in path.parent.iterdir()] == ["r.csv"]


def test_results_and_configs_are_frozen_and_rows_typed():
    result = _result()
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.rows = ()  # type: ignore[misc]
    with pytest.raises(TypeError, match="expected _Row"):
        _Result(config={}, rows=({"vdd_v": 1.0},))  # type: ignore[arg-type]
    config = vscale.SlackConfig(vdd_v=0.6)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.vdd_v = 0.5  # type: ignore[misc]


def test_table_shows_a_subset_of_the_same_columns():
    table = _result().table(columns=("label", "error_pct"))
    assert table.columns == ["label", "error_pct"]
    with pytest.raises(ValueError, match="columns: top1_pct not among"):
        _result().table(columns=("top1_pct",))


def test_simulate_counts_the_cycles_of_the_hand_worked_tiles():
    """ws on 4x3: K = 6 in 2 row folds, N = 5 in 2 column folds, 4 folds of 2*4 + 3 + 10 - 2 = 19 cycles;
    SCALE-Sim's count is 4 * 19 - 1 = 75, i.e. 75 / 700 us at 700 MHz."""
    result = vscale.simulate(gemm="10,5,6", vdd_v=0.9, array="4x3")
    (row,) = result.rows
    assert (row.m, row.n, row.k, row.folds, row.cycles, row.macs) == (10, 5, 6, 4, 75, 300)
    assert result.totals["latency_us"] == pytest.approx(75 / 700)
    assert (row.erroneous_macs, row.wrong_outputs, row.relative_error) == (0, 0, 0.0)


def test_keyword_arguments_and_a_config_give_the_same_result(tmp_path):
    topology = tmp_path / "net.csv"
    topology.write_text(
        "name,kind,ifmap_h,ifmap_w,filter_h,filter_w,channels,num_filters,stride,padding,groups,m,n,k\n"
        "fc,gemm,,,,,,,,,,10,5,6\n"
    )
    by_keywords = vscale.latency(topology=str(topology), array="4x3")
    by_config = vscale.latency(vscale.LatencyConfig(topology=str(topology), array=(4, 3)))
    assert by_keywords.rows == by_config.rows
    assert by_keywords.rows[0].compute_cycles == 75
    with pytest.raises(TypeError, match="not both"):
        vscale.latency(vscale.LatencyConfig(topology=str(topology)), array="4x3")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: vscale.simulate(gemm="4,4,4", vdd_v=0.9, array="0x4"),
            "array: expected ROWSxCOLS with positive integers, e.g. 256x256, got '0x4'",
        ),
        (lambda: vscale.simulate(gemm="4,4,4"), "vdd_v: give vdd_v (with f_clk_mhz) or t_clk_ps"),
        (
            lambda: vscale.simulate(gemm="4,4,4", vdd_v=0.9, t_clk_ps=900),
            "vdd_v: give either t_clk_ps (with delay_scale) or vdd_v with f_clk_mhz, not both",
        ),
        (
            lambda: vscale.simulate(gemm="4,0,4", vdd_v=0.9),
            "gemm: expected M,N,K with positive integers, e.g. 64,32,27, got '4,0,4'",
        ),
        (lambda: vscale.slack(vdd_v=0.6, bins=1), "bins: expected at least 2 histogram bins, got 1"),
        (
            lambda: vscale.probs(vdd_v="0.9:0.5"),
            "vdd_v: '0.9:0.5' is not START:STOP:STEP or a comma-separated list of volts (e.g. 0.9:0.5:0.05)",
        ),
        (lambda: vscale.probs(level="chain", samples=10), "samples: expected an integer >= 1000, got 10"),
        (
            lambda: vscale.accuracy(injection="magic"),
            "injection: expected one of exact, statistical, bitlevel, got 'magic'",
        ),
        (lambda: vscale.trace(layer=0, steps=1), "steps: expected at least 2 consecutive MACs, got 1"),
        (
            lambda: vscale.size(topology="resnet18", dataflow="ws,rs"),
            "dataflow: expected one or more of ws, os, is, got 'rs'",
        ),
    ],
)
def test_library_errors_name_the_config_field(call, message):
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        call()


@pytest.mark.parametrize(
    ("config_type", "fields", "message"),
    [
        (
            vscale.AccuracyConfig,
            {"temperature_c": "hot"},
            "temperature_c: expected a number of degC in 0..110, got 'hot'",
        ),
        (
            vscale.EnergyConfig,
            {"gemm": "4,4,4", "temperature_c": True},
            "temperature_c: expected a number of degC in 0..110, got True",
        ),
        (
            vscale.ProbsConfig,
            {"cells": ["compound"]},
            "cells: unknown cell library ['compound']; allowed: 2in, compound",
        ),
        (
            vscale.ProbsConfig,
            {"cell_delays_ps": ["xor2"]},
            "cell_delays_ps: expected a mapping of cell to ps or 'CELL=PS,...', got ['xor2']",
        ),
        (
            vscale.ProbsConfig,
            {"cell_delays_ps": "xor2=30,XOR2=31"},
            "cell_delays_ps: xor2 is given twice; give each cell once",
        ),
        (vscale.AccuracyConfig, {"plan": 3}, "plan: expected the path of a TOML plan file, got 3"),
        (
            vscale.SimulateConfig,
            {"gemm": "4,4,4", "vdd_v": 0.9, "plan": ""},
            "plan: expected the path of a TOML plan file, got ''",
        ),
        (vscale.AccuracyConfig, {"calibration_images": 0}, "calibration_images: expected a folder of images, got 0"),
        (
            vscale.EnergyConfig,
            {"gemm": "4,4,4", "protect": 31},
            "protect: expected bit numbers or HIGH:LOW ranges, e.g. 31:20, got 31",
        ),
        (
            vscale.OptimizeConfig,
            {"recovery": 1},
            "recovery: expected one or more of global, column, local, drop, got 1",
        ),
        (
            vscale.OptimizeConfig,
            {"razor_windows_ps": {20}},
            "razor_windows_ps: {20} is not a number of ps; allowed: comma-separated windows in ps",
        ),
        (
            vscale.LatencyConfig,
            {"topology": "mobilenetv2", "scalesim_compat": "yes"},
            "scalesim_compat: expected true or false, got 'yes'",
        ),
        (vscale.EnergyConfig, {"gemm": "4,4,4", "simulate": 1}, "simulate: expected true or false, got 1"),
        (vscale.RunConfig, {"skip_step2": "no"}, "skip_step2: expected true or false, got 'no'"),
        (vscale.TraceConfig, {"layer": -1}, "layer: expected a GEMM layer's name or its index >= 0, got -1"),
        (vscale.ProbsConfig, {"operands": "nowhere.npz"}, "nowhere.npz: no such trace file"),
        (
            vscale.SimulateConfig,
            {"operand_file": "nowhere.npz", "vdd_v": 0.9},
            "nowhere.npz: not a readable .npz file with arrays activations, weights",
        ),
        (vscale.TraceConfig, {"layer": ""}, "layer: expected a GEMM layer's name or its index >= 0, got ''"),
        (
            vscale.SizeConfig,
            {"topology": "mobilenetv2", "bandwidths": b"12"},
            "bandwidths: expected a non-empty list, got b'12'",
        ),
        (
            vscale.SizeConfig,
            {"topology": "mobilenetv2", "arrays": [(8, 8), "8x8"]},
            "arrays: '8x8' is the same as (8, 8); give each value once",
        ),
    ],
)
def test_configs_refuse_a_value_of_the_wrong_type_naming_the_field(config_type, fields, message):
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        config_type(**fields)


def test_the_scalesim_config_reads_its_files_when_it_is_built(tmp_path):
    with pytest.raises(ConfigError, match=f"^{re.escape(str(tmp_path / 'a.cfg'))}: no such SCALE-Sim config file$"):
        vscale.ScaleSimConfig(config_file=tmp_path / "a.cfg", topology="mobilenetv2")
    config = tmp_path / "b.cfg"
    config.write_text(
        "[general]\nrun_name = b\n[architecture_presets]\nArrayHeight: 8\nArrayWidth: 8\nIfmapSramSzkB: 64\n"
        "FilterSramSzkB: 64\nOfmapSramSzkB: 64\nDataflow: os\n[run_presets]\nInterfaceBandwidth: CALC\n"
    )
    message = "topology: 'net.csv' is neither a file nor a built-in topology; allowed: a CSV file or one of "
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}"):
        vscale.ScaleSimConfig(config_file=config, topology="net.csv")


def test_a_single_number_is_one_razor_window():
    assert vscale.OptimizeConfig(razor_windows_ps=20).razor_windows_ps == (20.0,)


def test_the_detailed_engine_refuses_large_arrays_unless_asked():
    message = (
        "engine: detailed steps one Python object per PE and is meant for arrays of up to 1024 PEs; 64x64 has "
        "4096; use fast (bit-identical) or set allow_large_detailed"
    )
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        vscale.SimulateConfig(gemm="4,4,4", vdd_v=0.9, array="64x64", engine="detailed")
    assert vscale.SimulateConfig(gemm="4,4,4", vdd_v=0.9, array="64x64", engine="detailed", allow_large_detailed=True)
    assert vscale.SimulateConfig(gemm="4,4,4", vdd_v=0.9, array="32x32", engine="detailed")


def test_vdd_values_accept_text_numbers_and_sequences():
    assert vdd_values("0.9:0.5:0.2") == (0.9, 0.7, 0.5)
    assert vdd_values("0.5:0.7:0.1") == (0.5, 0.6, 0.7)
    assert vdd_values(0.55) == (0.55,)
    assert vdd_values([0.9, 0.55]) == (0.9, 0.55)
    with pytest.raises(ConfigError, match=r"^vdd_v: 2\.5 V is out of range; allowed: \(0, 2\] V$"):
        vdd_values([0.9, 2.5])


def test_vdd_values_refuse_a_voltage_listed_twice():
    with pytest.raises(ConfigError, match=r"^vdd_v: 0\.9 V is listed twice; allowed: each supply voltage once$"):
        vdd_values("0.9,0.6,0.90")


def test_check_int_names_the_field_and_the_bound():
    assert check_int("lanes", 3, minimum=1) == 3
    with pytest.raises(ConfigError, match=r"^lanes: expected a positive integer, got 0$"):
        check_int("lanes", 0, minimum=1)
    with pytest.raises(ConfigError, match=r"^seed: expected a non-negative integer, got -1$"):
        check_int("seed", -1, minimum=0)
    with pytest.raises(ConfigError, match=r"^images: expected an integer in 1\.\.1000, got True$"):
        check_int("images", True, minimum=1, maximum=1000)


def test_the_cli_shows_fields_as_the_options_the_user_typed():
    assert option_strings("vdd_v") == ["--vdd", "--vdd-v"]
    assert option_strings("f_clk_mhz") == ["--f-clk-mhz"]
    assert option_strings("array_rows") == ["--rows", "--array-rows"]
    options = {"vdd_v": "--vdd", "f_clk_mhz": "--f-clk-mhz", "t_clk_ps": "--t-clk-ps", "penalty_cycles": "--penalty"}
    assert cli_message("vdd_v: give vdd_v (with f_clk_mhz) or t_clk_ps", options) == (
        "--vdd: give --vdd (with --f-clk-mhz) or --t-clk-ps"
    )
    penalty = cli_message("penalty_cycles: expected a non-negative integer", options)
    assert penalty == "--penalty: expected a non-negative integer"
    assert cli_message("net.csv:3: Strides: expected a positive integer", options) == (
        "net.csv:3: Strides: expected a positive integer"
    )
    assert cli_message("pe: the array engines run the registered pipeline", options) == (
        "pe: the array engines run the registered pipeline"
    )
    assert (
        cli_message("x.toml: array.f_clk_mhz: expected a number", options)
        == "x.toml: array.f_clk_mhz: expected a number"
    )


def test_config_from_args_takes_each_field_from_its_option():
    args = argparse.Namespace(vdd_v=0.6, f_clk_mhz=500.0, bins=8, array_rows=16, operands="uniform", unrelated=1)
    config = config_from_args(vscale.SlackConfig, args)
    assert (config.vdd_v, config.f_clk_mhz, config.bins, config.array_rows, config.operands) == (
        0.6,
        500.0,
        8,
        16,
        "uniform",
    )
    assert config.cells == "compound"


def test_every_registered_study_has_a_frozen_keyword_only_config():
    mine = {"probs", "slack", "latency", "size", "simulate", "accuracy", "trace", "run"}
    assert mine <= set(STUDIES)
    for name, study in STUDIES.items():
        assert isinstance(study, Study) and study.name == name
        params = study.config_type.__dataclass_params__
        assert params.frozen
        assert all(f.kw_only for f in dataclasses.fields(study.config_type))
    for name in mine:
        assert getattr(vscale, name) is STUDIES[name].function


def test_vscale_exports_what_it_lists():
    assert vscale.__all__ == sorted(vscale.__all__, key=lambda n: (not n.isupper(), n))
    for name in vscale.__all__:
        assert hasattr(vscale, name), name
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", vscale.__version__)


def test_the_study_result_is_what_the_command_writes(tmp_path, capsys):
    from experiments.cli import main

    out = tmp_path / "probs"
    assert main(["probs", "--vdd", "0.9,0.5", "--format", "csv", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    result = vscale.probs(vdd_v=[0.9, 0.5])
    assert printed == result.to_csv() == (out / "probs.csv").read_text()


def test_vscale_version_option(capsys):
    from experiments.cli import main

    with pytest.raises(SystemExit) as status:
        main(["--version"])
    assert status.value.code == 0
    assert capsys.readouterr().out == f"vscale {vscale.__version__}\n"


def test_the_version_is_the_installed_package_version():
    from importlib.metadata import version

    assert vscale.__version__ == version("vscale")


def test_trace_lists_the_layers_of_a_model(tmp_path, capsys):
    from experiments.cli import main

    assert main(["trace", "--list-layers", "--format", "csv", "--out", str(tmp_path / "t")]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    # tinymnv2's first layer: a 3x3 convolution of the 28x28 image, 16 filters, stride 1 -> 784 x 16 x 9
    assert (rows[0]["layer_id"], rows[0]["m_per_image"], rows[0]["n"], rows[0]["k"]) == ("0", "784", "16", "9")
    assert rows[-1]["layer_name"] == "classifier.1"


def test_every_command_prints_its_help(capsys):
    from experiments.cli import build_parser, main

    subparsers = build_parser()._subparsers._group_actions[0]  # type: ignore[union-attr]
    for name in subparsers.choices:
        with pytest.raises(SystemExit) as status:
            main([name, "--help"])
        assert status.value.code == 0, name
        assert capsys.readouterr().out.startswith("usage: vscale "), name


def test_the_cli_refuses_the_detailed_engine_on_a_large_array_unless_asked(tmp_path, capsys):
    from experiments.cli import main

    out = tmp_path / "out"
    argv = ["simulate", "--layer", "2,2,2", "--vdd", "0.9", "--engine", "detailed", "--out", str(out)]
    assert main([*argv, "--array", "40x40"]) == 2
    assert capsys.readouterr().err == (
        "vscale: error: --engine: detailed steps one Python object per PE and is meant for arrays of up to 1024 "
        "PEs; 40x40 has 1600; use fast (bit-identical) or set --allow-large-detailed\n"
    )
    assert not out.exists()
    assert main([*argv, "--array", "40x40", "--allow-large-detailed", "--format", "csv"]) == 0
    (row,) = csv.DictReader(io.StringIO(capsys.readouterr().out))
    # ws on 40x40 with K = N = M = 2: one fold of 2 * 40 + 40 + 2 - 2 = 120 cycles, SCALE-Sim's count 119
    assert row["cycles"] == "119"
