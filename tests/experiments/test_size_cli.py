"""``vscale size``: what-if sizing over array shapes and dataflows."""

from __future__ import annotations

import csv
import json

import pytest

from experiments.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def gemm_topology(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text("Layer,M,N,K,\nG,10,5,6,\n")
    return path


def test_size_table_csv_plot_and_config(tmp_path, capsys, gemm_topology):
    out = tmp_path / "out"
    status = main(
        [
            "size",
            "--topology",
            str(gemm_topology),
            "--arrays",
            "4x4,2x8",
            "--dataflow",
            "ws,os",
            "--format",
            "csv",
            "--out",
            str(out),
        ]
    )
    assert status == 0
    with (out / "size.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    got = [(row["array"], row["dataflow"], int(row["total_cycles"]), int(row["mac_cycles"])) for row in rows]
    # M = 10, N = 5, K = 6.
    # ws 4x4: K in 2 row folds, N in 2 column folds, 4 x (2*4 + 4 + 10 - 2) - 1 = 79
    # ws 2x8: 3 row folds, 1 column fold, 3 x (2*2 + 8 + 10 - 2) - 1 = 59
    # os 4x4: M in 3 row folds, N in 2 column folds, 6 x (4 + 4 + 6 - 2) - 1 = 71
    # os 2x8: 5 row folds, 1 column fold, 5 x (2 + 8 + 6 - 2) - 1 = 69
    assert got == [
        ("4x4", "ws", 79, 16 * 79),
        ("2x8", "ws", 59, 16 * 59),
        ("4x4", "os", 71, 16 * 71),
        ("2x8", "os", 69, 16 * 69),
    ]
    assert all(int(row["macs"]) == 300 for row in rows)
    assert (out / "size.png").read_bytes()[:8] == PNG_MAGIC
    config = json.loads((out / "config.json").read_text())
    assert (config["arrays"], config["dataflows"]) == (["4x4", "2x8"], ["ws", "os"])
    assert capsys.readouterr().out.splitlines()[0].startswith("array,rows,cols,dataflow")


def test_size_defaults_to_the_dataflow_of_the_config_file(tmp_path, capsys, gemm_topology):
    config = tmp_path / "a.toml"
    config.write_text("[array]\nrows = 4\ncols = 4\ndataflow = 'is'\n")
    assert (
        main(
            [
                "size",
                "--topology",
                str(gemm_topology),
                "--arrays",
                "4x4",
                "--config",
                str(config),
                "--format",
                "json",
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    (row,) = json.loads(capsys.readouterr().out)["rows"]
    # is 4x4: K = 6 in 2 row folds, M = 10 in 3 column folds, 6 x (2*4 + 4 + 5 - 2) - 1 = 89
    assert (row["dataflow"], row["total_cycles"]) == ("is", 89)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--arrays", "32x32,,64x64"],
            "--arrays: expected a comma-separated list without empty items, got '32x32,,64x64'",
        ),
        (["--arrays", "32x0"], "--arrays: expected ROWSxCOLS with positive integers, e.g. 256x256, got '32x0'"),
        (["--dataflow", "ws,rs"], "--dataflow: expected one or more of ws, os, is, got 'rs'"),
        (["--dataflow", "ws,os,ws"], "--dataflow: 'ws' is given twice; give each value once"),
        (["--arrays", "8x8,8X8"], "--arrays: '8X8' is the same as '8x8'; give each value once"),
        (["--sram-kib", "64,32,64"], "--sram-kib: '64' is given twice; give each value once"),
        (["--bandwidths", "1,1.0"], "--bandwidths: '1.0' is the same as '1'; give each value once"),
    ],
)
def test_size_bad_option_exits_2_and_writes_nothing(tmp_path, capsys, gemm_topology, arguments, message):
    out = tmp_path / "out"
    status = main(["size", "--topology", str(gemm_topology), *arguments, "--out", str(out)])
    captured = capsys.readouterr()
    assert (status, captured.err, captured.out) == (2, f"vscale: error: {message}\n", "")
    assert not out.exists()
