"""``vscale latency`` and the array-configuration readers (.cfg and TOML)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from experiments.cli import main
from experiments.configs import (
    load_array_config,
    parse_array_shape,
    parse_array_toml,
    parse_scalesim_cfg,
    resolve_array_config,
)
from pe_models.errors import ConfigError
from sim.config import ArrayConfig

CFG = """[general]
run_name = test

[architecture_presets]
ArrayHeight:    32
ArrayWidth:     16
IfmapSramSzkB:    64
FilterSramSzkB:   128
OfmapSramSzkB:    32
IfmapOffset:    0
Dataflow : os
Bandwidth : 10,10
MemoryBanks: 1

[run_presets]
InterfaceBandwidth: {mode}
"""


def test_scalesim_cfg_in_calc_mode_has_unlimited_bandwidth():
    config = parse_scalesim_cfg(CFG.format(mode="CALC"), label="a.cfg")
    assert config == ArrayConfig(
        rows=32, cols=16, dataflow="os", ifmap_sram_kib=64, filter_sram_kib=128, ofmap_sram_kib=32
    )


def test_scalesim_cfg_in_user_mode_takes_the_first_bandwidth():
    config = parse_scalesim_cfg(CFG.format(mode="USER"), label="a.cfg")
    assert config.dram_bandwidth_words_per_cycle == 10


def test_reference_cfg_files_are_read(scalesim_reference):
    config = load_array_config(scalesim_reference.config("a256x256_is_calc.cfg"))
    assert (config.rows, config.cols, config.dataflow) == (256, 256, "is")
    assert (config.ifmap_sram_kib, config.filter_sram_kib, config.ofmap_sram_kib) == (6144, 6144, 2048)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("ArrayHeight:    32", "ArrayHeight: x", r"^a\.cfg:5: ArrayHeight: expected a positive integer, got 'x'$"),
        ("ArrayWidth:     16", "ArrayWidth: 0", r"^a\.cfg:6: ArrayWidth: expected a positive integer, got '0'$"),
        ("Dataflow : os", "Dataflow : rs", r"^a\.cfg:11: Dataflow: expected one of ws, os, is, got 'rs'$"),
        ("Dataflow : os\n", "", r"^a\.cfg: \[architecture_presets\] Dataflow: missing$"),
        (
            "InterfaceBandwidth: CALC",
            "InterfaceBandwidth: FAST",
            r"^a\.cfg:16: InterfaceBandwidth: expected USER or CALC, got 'FAST'$",
        ),
        ("[general]", "[general", r"^a\.cfg:1: expected a section header '\[name\]', got '\[general'$"),
        ("IfmapOffset:    0", "IfmapOffset", r"^a\.cfg:10: expected 'Key: value' or 'Key = value', got 'IfmapOffset'$"),
        (
            "ArrayWidth:     16",
            "ArrayWidth:     16\narraywidth = 8",
            r"^a\.cfg:7: arraywidth given twice in \[architecture_presets\] \(first on line 6\); give it once$",
        ),
        (
            "[run_presets]",
            "[general]\n[run_presets]",
            r"^a\.cfg:15: \[general\] given twice \(first on line 1\); give it once$",
        ),
    ],
)
def test_malformed_cfg_names_file_line_and_key(old, new, message):
    text = CFG.format(mode="CALC").replace(old, new)
    with pytest.raises(ConfigError, match=message):
        parse_scalesim_cfg(text, label="a.cfg")


def test_user_bandwidth_must_be_positive():
    text = CFG.format(mode="USER").replace("Bandwidth : 10,10", "Bandwidth : -1")
    with pytest.raises(
        ConfigError, match=r"^a\.cfg:12: Bandwidth: expected a positive integer number of words per cycle, got '-1'$"
    ):
        parse_scalesim_cfg(text, label="a.cfg")


def test_toml_array_table():
    text = '[array]\nrows = 8\ncols = 12\ndataflow = "is"\nf_clk_mhz = 500.0\ndram_bandwidth_words_per_cycle = 4\n'
    text += "[pe]\nadder = 'ripple'\n"
    assert parse_array_toml(text, label="a.toml") == ArrayConfig(
        rows=8, cols=12, dataflow="is", f_clk_mhz=500.0, dram_bandwidth_words_per_cycle=4
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[array]\nrows = '8'\ncols = 8\n", r"^a\.toml: array\.rows: expected a positive integer, got '8'$"),
        ("[array]\nrows = 8\n", r"^a\.toml: array\.cols: missing$"),
        (
            "[array]\nrows = 8\ncols = 8\nbandwidth = 4\n",
            r"^a\.toml: array\.bandwidth: unknown key; allowed: rows, cols, dataflow, f_clk_mhz, "
            r"accumulator_bits, ifmap_sram_kib, filter_sram_kib, ofmap_sram_kib, "
            r"dram_bandwidth_words_per_cycle, word_bytes$",
        ),
        ("[pe]\nadder = 1\n", r"^a\.toml: missing \[array\] table; allowed keys: rows, .*word_bytes$"),
        ("[array]\nrows = = 8\n", r"^a\.toml: invalid TOML: .*line 2.*$"),
        (
            "[array]\nrows = 8\ncols = 8\ndataflow = 'rs'\n",
            r"^a\.toml: array\.dataflow: expected one of ws, os, is, got 'rs'$",
        ),
    ],
)
def test_malformed_toml_names_file_and_key(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_array_toml(text, label="a.toml")


def test_config_suffix_must_be_cfg_or_toml(tmp_path):
    message = r"^config_file: expected a \.cfg \(SCALE-Sim\) or \.toml \(vscale\) file, got '.*a\.ini'$"
    with pytest.raises(ConfigError, match=message):
        load_array_config(tmp_path / "a.ini")


@pytest.mark.parametrize("text", ["0x4", "256", "16x", "axb", "4x4x4", "-2x3"])
def test_array_shape_must_be_rows_x_cols(text):
    with pytest.raises(
        ConfigError, match=rf"^array: expected ROWSxCOLS with positive integers, e\.g\. 256x256, got '{text}'$"
    ):
        parse_array_shape(text)


def test_command_line_overrides_the_config_file(tmp_path):
    path = tmp_path / "a.toml"
    path.write_text("[array]\nrows = 8\ncols = 8\ndataflow = 'is'\nf_clk_mhz = 500\n")
    config = resolve_array_config(config_file=path, array="3x5", dataflow="os", bandwidth="2.5")
    assert config == ArrayConfig(rows=3, cols=5, dataflow="os", f_clk_mhz=500, dram_bandwidth_words_per_cycle=2.5)


def test_default_array_is_256x256_ws():
    assert resolve_array_config() == ArrayConfig(rows=256, cols=256, dataflow="ws")


@pytest.mark.parametrize("run", ["a32x32_ws_calc", "a256x256_os_calc", "a32x32_is_calc"])
def test_cli_reproduces_scalesim_reference_from_its_cfg_and_topology(tmp_path, capsys, run, scalesim_reference):
    out = tmp_path / "out"
    status = main(
        [
            "latency",
            "--topology",
            str(scalesim_reference.topology("mobilenet.csv")),
            "--config",
            str(scalesim_reference.config(f"{run}.cfg")),
            "--scalesim-compat",
            "--format",
            "csv",
            "--out",
            str(out),
        ]
    )
    assert status == 0
    array, dataflow, _ = run[1:].split("_")
    expected = [int(row["total_cycles"]) for row in scalesim_reference.results(array, dataflow)]
    with (out / "compute_report.csv").open() as handle:
        written = [int(row["compute_cycles"]) for row in csv.DictReader(handle)]
    printed = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert written == expected
    assert [int(row["compute_cycles"]) for row in printed] == expected
    assert json.loads((out / "summary.json").read_text())["total_cycles"] == sum(expected)


def test_cli_records_the_config_that_produced_the_results(tmp_path):
    out = tmp_path / "out"
    assert (
        main(
            [
                "latency",
                "--topology",
                "resnet18",
                "--array",
                "64x48",
                "--dataflow",
                "is",
                "--bandwidth",
                "16",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    config = json.loads((out / "config.json").read_text())
    assert config["array"]["rows"] == 64 and config["array"]["cols"] == 48
    assert config["array"]["dataflow"] == "is"
    assert config["array"]["dram_bandwidth_words_per_cycle"] == 16
    assert config["topology"]["source"] == "builtin:resnet18"
    assert config["scalesim_compat"] is False


def test_cli_depthwise_default_mapping_differs_from_scalesim_compat(tmp_path, capsys):
    topology = tmp_path / "mobile.csv"
    topology.write_text(
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
        "Conv2, 112, 112, 3, 3, 32, 1, 1,\n"
    )
    main(["latency", "--topology", str(topology), "--array", "32x32", "--format", "json", "--out", str(tmp_path / "a")])
    default = json.loads(capsys.readouterr().out)["rows"][0]
    main(
        [
            "latency",
            "--topology",
            str(topology),
            "--array",
            "32x32",
            "--format",
            "json",
            "--scalesim-compat",
            "--out",
            str(tmp_path / "b"),
        ]
    )
    compat = json.loads(capsys.readouterr().out)["rows"][0]
    # default: 32 groups of M = 110*110, N = 1, K = 9; SCALE-Sim: one GEMM, N = 1, K = 288.
    assert (default["m"], default["n"], default["k"], default["groups"]) == (12100, 1, 9, 32)
    assert (compat["m"], compat["n"], compat["k"], compat["groups"]) == (12100, 1, 288, 1)
    # ws on 32x32: default 32 folds of 64 + 32 + 12100 - 2; compat 9 folds (the reference row).
    assert default["compute_cycles"] == 32 * 12194 - 1
    assert compat["compute_cycles"] == 109745


def test_cli_bandwidth_adds_stall_cycles(tmp_path, capsys):
    main(
        [
            "latency",
            "--topology",
            "resnet18",
            "--array",
            "32x32",
            "--bandwidth",
            "4",
            "--format",
            "json",
            "--out",
            str(tmp_path / "a"),
        ]
    )
    total = json.loads(capsys.readouterr().out)["totals"]
    assert total["stall_cycles"] > 0
    assert total["total_cycles"] == total["compute_cycles"] + total["stall_cycles"]


def test_table_output_ends_with_a_latency_line(tmp_path, capsys):
    main(["latency", "--topology", "resnet18", "--array", "128x128", "--out", str(tmp_path / "a")])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("resnet18 on 128x128 ws: ") and last.endswith(" us at 700 MHz")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--array", "0x4"], "--array: expected ROWSxCOLS with positive integers, e.g. 256x256, got '0x4'"),
        (["--dataflow", "rs"], "--dataflow: expected one of ws, os, is, got 'rs'"),
        (
            ["--bandwidth", "fast"],
            "--bandwidth: expected a positive number of words per cycle or 'unlimited', got 'fast'",
        ),
        (["--config", "missing.cfg"], "missing.cfg: no such SCALE-Sim config file"),
    ],
)
def test_cli_bad_option_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, monkeypatch, arguments, message):
    monkeypatch.chdir(tmp_path)
    status = main(["latency", "--topology", "resnet18", *arguments, "--out", "out"])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err == f"vscale: error: {message}\n"
    assert captured.out == ""
    assert not (tmp_path / "out").exists()


def test_cli_bad_topology_file_exits_2_naming_file_line_and_column(tmp_path, capsys):
    topology = tmp_path / "mobilenet.csv"
    topology.write_text(
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
        "Conv1, 224, 224, 3, 3, 3, 32, 2,\n"
        "Conv2, 112, 112, 3, 3, 32, 1, x,\n"
    )
    status = main(["latency", "--topology", str(topology), "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err == "vscale: error: mobilenet.csv:3: Strides: expected a positive integer, got 'x'\n"
    assert not (tmp_path / "out").exists()


def test_cli_out_must_not_be_a_file(tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("")
    assert main(["latency", "--topology", "resnet18", "--out", str(target)]) == 2
    assert capsys.readouterr().err == f"vscale: error: --out: {target} exists and is not a directory\n"
