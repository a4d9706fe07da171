"""The memory model through ``vscale latency`` and ``vscale size``: SRAM sizes, sweeps, bad input."""

from __future__ import annotations

import csv
import io

import pytest

from experiments.cli import main
from experiments.studies.latency import latency
from experiments.studies.simulate import simulate

# One GEMM, M = 256, N = 64, K = 128, on a 32 x 32 ws array: K on 4 row folds, N on 2
# column folds, M = 256 streamed. ifmap (K x M) = 32 KiB in 4 tiles of 32 x 256 = 8 KiB,
# read in both column folds; filter 8 KiB, every tile once; output N x M = 16 KiB in two
# column tiles of 8 KiB accumulated over the 4 row folds.
GEMM = "Layer, M, N, K,\ng, 256, 64, 128,\n"


def _latency_row(tmp_path, capsys, *options: str) -> dict[str, str]:
    (tmp_path / "g.csv").write_text(GEMM)
    args = ["latency", "--topology", str(tmp_path / "g.csv"), "--array", "32x32", "--format", "csv"]
    assert main([*args, "--out", str(tmp_path / "out"), *options]) == 0
    (row,) = csv.DictReader(io.StringIO(capsys.readouterr().out))
    return row


def _dram(row: dict[str, str]) -> tuple[int, ...]:
    return tuple(
        int(row[name]) for name in ("ifmap_dram_reads", "filter_dram_reads", "ofmap_dram_reads", "ofmap_dram_writes")
    )


@pytest.mark.parametrize(
    ("sram_kib", "expected"),
    [
        # everything fits: compulsory traffic 32 K + 8 K + 16 K words
        ("64", (32768, 8192, 0, 16384)),
        # 24 KiB ifmap: pin (24 K - 2 x 8 K) / 8 K = 1 tile; column fold 1 reads 3 tiles again
        ("24,64,16", (32768 + 3 * 8192, 8192, 0, 16384)),
        # 8 KiB: nothing pinned; 8 KiB ofmap: an 8 KiB tile is more than half of it, so every
        # fold's partial sums go out (8 folds x 8 K) and 6 come back
        ("8,64,8", (2 * 32768, 8192, 6 * 8192, 8 * 8192)),
    ],
)
def test_latency_dram_traffic_by_hand(tmp_path, capsys, sram_kib, expected):
    row = _latency_row(tmp_path, capsys, "--sram-kib", sram_kib)
    assert _dram(row) == expected
    assert int(row["ifmap_sram_reads"]) == 2 * 32768  # the array reads the ifmap once per column fold
    assert int(row["stall_cycles"]) == 0


def test_latency_bandwidth_adds_stalls_bounded_by_the_roofline(tmp_path, capsys):
    row = _latency_row(tmp_path, capsys, "--sram-kib", "8,64,8", "--bandwidth", "4")
    words = sum(_dram(row))
    assert int(row["stall_cycles"]) > 0
    assert int(row["total_cycles"]) + 1 >= words / 4
    assert float(row["peak_dram_bw_words_per_cycle"]) >= float(row["avg_dram_bw_words_per_cycle"]) > 0


def test_size_sweeps_sram_and_bandwidth(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["size", "--topology", "resnet18", "--arrays", "32x32", "--format", "csv", "--out", str(out)]
    assert main([*args, "--sram-kib", "16,256", "--bandwidths", "8,unlimited"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 4
    assert (out / "size_sram.png").stat().st_size > 0
    point = {(int(r["ifmap_sram_kib"]), float(r["dram_bandwidth_words_per_cycle"])): r for r in rows}
    for sram in (16, 256):
        assert int(point[(sram, 8.0)]["stall_cycles"]) > int(point[(sram, float("inf"))]["stall_cycles"]) == 0
    for bandwidth in (8.0, float("inf")):
        assert int(point[(16, bandwidth)]["dram_words"]) > int(point[(256, bandwidth)]["dram_words"])


@pytest.mark.parametrize(
    ("command", "option", "value", "message"),
    [
        ("latency", "--sram-kib", "0", "--sram-kib: expected a positive integer number of KiB or three"),
        ("latency", "--sram-kib", "64,64", "--sram-kib: expected a positive integer number of KiB or three"),
        ("size", "--sram-kib", "16,-4", "--sram-kib: expected a positive integer number of KiB or three"),
        ("size", "--bandwidths", "8,x", "--bandwidths: expected a positive number of words per cycle or 'unlimited'"),
    ],
)
def test_bad_memory_options(tmp_path, capsys, command, option, value, message):
    out = tmp_path / "out"
    assert main([command, "--topology", "resnet50", option, value, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"vscale: error: {message}")
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_simulate_reports_the_memory_model_of_latency(tmp_path):
    # The discrete-event run of `vscale simulate` and the closed form of `vscale latency`
    # count the same stalls and DRAM words for a convolution and a depthwise layer.
    path = tmp_path / "small.csv"
    path.write_text(
        "name,kind,ifmap_h,ifmap_w,filter_h,filter_w,channels,num_filters,stride,padding,groups,m,n,k\n"
        "c1,conv,10,10,3,3,4,8,1,1,1,,,\n"
        "d1,conv,10,10,3,3,4,4,1,1,4,,,\n"
    )
    simulated = simulate(topology=str(path), array="8x8", dataflow="ws", bandwidth=2, vdd_v=0.9)
    closed = latency(topology=str(path), array="8x8", dataflow="ws", bandwidth=2)
    for sim_row, latency_row in zip(simulated.rows, closed.rows, strict=True):
        assert sim_row.memory_stall_cycles == latency_row.stall_cycles > 0
        assert sim_row.cycles == latency_row.total_cycles
        assert sim_row.memory.ifmap_dram_reads == latency_row.memory.ifmap_dram_reads == 400  # 10 x 10 x 4 pixels, once
