"""``vscale simulate``: files, numbers against independent sources, bad input."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from experiments.cli import main
from experiments.studies.simulate import parse_layer_range
from sim.config import ArrayConfig
from sim.cycles import layer_report
from sim.layers import ConvLayer, GemmLayer
from sim.network import layer_operands
from workloads.topologies import load_topology

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _rows(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def topology(tmp_path):
    path = tmp_path / "net.csv"
    path.write_text(
        "name,kind,ifmap_h,ifmap_w,filter_h,filter_w,channels,num_filters,stride,padding,groups,m,n,k\n"
        "conv,conv,6,5,3,3,2,4,1,1,1\n"
        "dw,conv,6,5,3,3,4,4,2,1,4\n"
        "fc,gemm,,,,,,,,,,1,3,8\n"
    )
    return path


def test_one_gemm_at_nominal_vdd_writes_every_file(tmp_path, capsys):
    out = tmp_path / "out"
    status = main(["simulate", "--layer", "10,5,6", "--vdd", "0.9", "--array", "4x3", "--out", str(out)])
    assert status == 0
    (row,) = _rows(out / "simulate.csv")
    # ws, K = 6 on 4 rows (2 row folds), N = 5 on 3 columns (2 column folds):
    # 4 folds of 2*4 + 3 + 10 - 2 = 19 cycles; SCALE-Sim's count 4 * 19 - 1 = 75.
    assert (row["cycles"], row["correction_cycles"], row["erroneous_macs"], row["wrong_outputs"]) == (
        "75",
        "0",
        "0",
        "0",
    )
    assert int(row["macs"]) == 10 * 5 * 6
    flips = _rows(out / "flips.csv")
    assert len(flips) == 2 * 32
    assert all(flip["flipped_bits"] == "0" for flip in flips)
    assert (out / "flips.png").read_bytes()[:8] == PNG_MAGIC
    config = json.loads((out / "config.json").read_text())
    assert (config["command"], config["gemm"], config["engine"], config["seed"]) == ("simulate", "10,5,6", "fast", 0)
    assert (config["array"]["rows"], config["array"]["cols"], config["timing"]["vdd_v"]) == (4, 3, 0.9)
    assert config["protection"]["protected_bits"] == "none"
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["cycles"], summary["relative_error"]) == (75, 0.0)
    assert "TOTAL" in capsys.readouterr().out


def test_protecting_every_bit_at_low_vdd_leaves_no_wrong_output(tmp_path, capsys):
    """0.7 V with the default (largest feasible) window: its 53 hold buffers a bit make MACs late,
    and the shadow catches them all. (At 0.5 V the buffered bits are late at the shadow too.)"""
    out = tmp_path / "out"
    assert (
        main(
            [
                "simulate",
                "--layer",
                "40,6,9",
                "--vdd",
                "0.7",
                "--array",
                "3x5",
                "--protect",
                "31:0",
                "--penalty",
                "2",
                "--technology",
                "generic-28nm",
                "--format",
                "csv",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    (row,) = _rows(out / "simulate.csv")
    assert int(row["erroneous_macs"]) > 0
    assert row["detections"] == row["erroneous_macs"]
    assert (row["wrong_outputs"], row["relative_error"]) == ("0", "0.0")
    # every correction is paid: cycles = closed form + 2 x detection cycles
    closed = layer_report(GemmLayer(name="g", m=40, n=6, k=9), ArrayConfig(rows=3, cols=5)).compute_cycles
    assert int(row["cycles"]) == closed + 2 * int(row["detection_cycles"]) == closed + int(row["correction_cycles"])
    assert capsys.readouterr().out.startswith("layer_id,layer_name,m,n,k")


def test_unprotected_low_vdd_errors_reach_the_outputs(tmp_path):
    out = tmp_path / "out"
    assert main(["simulate", "--layer", "40,6,9", "--vdd", "0.5", "--array", "3x5", "--out", str(out)]) == 0
    (row,) = _rows(out / "simulate.csv")
    assert int(row["wrong_outputs"]) > 0
    assert float(row["relative_error"]) > 0
    totals = [flip for flip in _rows(out / "flips.csv") if flip["layer_name"] == "TOTAL"]
    assert sum(int(flip["flipped_bits"]) for flip in totals) > 0
    assert all(flip["flipped_bits"] == flip["unprotected_flipped_bits"] for flip in totals)


def test_topology_layers_have_the_closed_form_cycles(tmp_path, topology):
    out = tmp_path / "out"
    assert (
        main(
            [
                "simulate",
                "--topology",
                str(topology),
                "--vdd",
                "0.9",
                "--array",
                "4x4",
                "--dataflow",
                "os",
                "--out",
                str(out),
                "--format",
                "json",
            ]
        )
        == 0
    )
    rows = _rows(out / "simulate.csv")
    config = ArrayConfig(rows=4, cols=4, dataflow="os")
    layers = load_topology(topology).layers
    assert [(row["layer_name"], int(row["groups"]), int(row["cycles"])) for row in rows] == [
        (layer.name, layer.gemm().groups, layer_report(layer, config).compute_cycles) for layer in layers
    ]
    assert all(row["wrong_outputs"] == "0" for row in rows)


def test_layers_option_selects_a_slice(tmp_path, topology):
    out = tmp_path / "out"
    assert (
        main(
            [
                "simulate",
                "--topology",
                str(topology),
                "--layers",
                "1:",
                "--vdd",
                "0.9",
                "--array",
                "4x4",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert [row["layer_name"] for row in _rows(out / "simulate.csv")] == ["dw", "fc"]


def test_the_two_engines_write_the_same_results(tmp_path, topology):
    outputs = {}
    for engine in ("fast", "detailed"):
        out = tmp_path / engine
        assert (
            main(
                [
                    "simulate",
                    "--topology",
                    str(topology),
                    "--vdd",
                    "0.5",
                    "--array",
                    "3x4",
                    "--protect",
                    "31:26",
                    "--stall",
                    "column",
                    "--engine",
                    engine,
                    "--sigma-pe",
                    "0.05",
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        outputs[engine] = ((out / "simulate.csv").read_text(), (out / "flips.csv").read_text())
    assert outputs["fast"] == outputs["detailed"]


def test_same_seed_same_files_other_seed_other_operands(tmp_path):
    texts = []
    for seed, name in ((3, "a"), (3, "b"), (4, "c")):
        out = tmp_path / name
        assert (
            main(
                [
                    "simulate",
                    "--layer",
                    "30,6,9",
                    "--vdd",
                    "0.5",
                    "--array",
                    "3x5",
                    "--seed",
                    str(seed),
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        texts.append((out / "simulate.csv").read_text())
    assert texts[0] == texts[1]
    assert texts[0] != texts[2]


def test_operands_follow_the_documented_distributions():
    layer = ConvLayer(name="c", ifmap_h=40, ifmap_w=40, filter_h=3, filter_w=3, channels=8, num_filters=64, padding=1)
    activations, weights = layer_operands(layer, np.random.SeedSequence(0))
    assert activations.shape == (1, 1600, 72) and weights.shape == (1, 72, 64)
    assert activations.dtype == weights.dtype == np.int8
    # ReLU-like: half zeros (interior pixels; padding adds more), never negative.
    assert activations.min() == 0 and 0.45 < np.mean(activations == 0) < 0.6
    # N(0, 25): sample std within a few percent of 25 over 4608 weights.
    assert abs(float(weights.std()) - 25.0) < 1.5 and abs(float(weights.mean())) < 1.5


@pytest.mark.parametrize(
    ("text", "count", "expected"),
    [("0:3", 5, range(0, 3)), ("2", 5, range(2, 3)), ("3:", 5, range(3, 5)), (":2", 5, range(0, 2))],
)
def test_layer_ranges(text, count, expected):
    assert parse_layer_range(text, count) == expected


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--layer", "0,3,4", "--vdd", "0.9"],
            "--gemm: expected M,N,K with positive integers, e.g. 64,32,27, got '0,3,4'",
        ),
        (
            ["--layer", "1,2", "--vdd", "0.9"],
            "--gemm: expected M,N,K with positive integers, e.g. 64,32,27, got '1,2'",
        ),
        (
            ["--layer", "4,4,4", "--vdd", "0.9", "--protect", "40:3"],
            "--protect: bit 40 is out of range; allowed: 0..31",
        ),
        (
            ["--layer", "4,4,4", "--vdd", "0.9", "--protect", "x"],
            "--protect: expected bit numbers or HIGH:LOW ranges, e.g. 31:20, got 'x'",
        ),
        (
            ["--layer", "4,4,4", "--vdd", "0.9", "--penalty", "-1"],
            "--penalty: expected a non-negative integer, got -1",
        ),
        (
            ["--layer", "4,4,4", "--vdd", "0.9", "--array", "0x4"],
            "--array: expected ROWSxCOLS with positive integers, e.g. 256x256, got '0x4'",
        ),
        (["--layer", "4,4,4", "--vdd", "0.9", "--dataflow", "rs"], "--dataflow: expected one of ws, os, is, got 'rs'"),
        (["--layer", "4,4,4"], "--vdd: give --vdd (with --f-clk-mhz) or --t-clk-ps"),
        (
            ["--layer", "4,4,4", "--vdd", "0.9", "--pipeline", "fused"],
            "pe: the array engines run the registered pipeline with the rca adder; got fused rca",
        ),
        (["--layer", "4,4,4", "--vdd", "0.9", "--seed", "-1"], "--seed: expected an integer in 0..2**63-1, got -1"),
        (
            ["--layer", "4,4,4", "--vdd", "0.9", "--sigma-pe", "0.5"],
            "--sigma-pe: expected a relative standard deviation in 0..0.3, got 0.5",
        ),
        (
            ["--layer", "4,4,4", "--vdd", "0.9", "--layers", "0:1"],
            "--layers: selects layers of a topology file, and none is given",
        ),
        (
            ["--topology", "mobilenetv2", "--vdd", "0.9", "--layers", "90:99"],
            "--layers: '90:99' selects no layer; the topology has layers 0..52",
        ),
        (
            ["--topology", "mobilenetv2", "--vdd", "0.9", "--layers", "a"],
            "--layers: expected START:STOP or an index (0-based), e.g. 0:3, got 'a'",
        ),
        (
            ["--layer", "4,4,4", "--vdd", "0.9", "--bandwidth", "0"],
            "--bandwidth: expected a positive number of words per cycle or 'unlimited', got '0'",
        ),
        (
            # 48 B x 12544 x 32 outputs + 12544 x 27 + 27 x 32 operands + 3 x 224 x 224 float64 inputs = 19.8 MiB
            ["--topology", "mobilenetv2", "--vdd", "0.9", "--max-memory", "1M"],
            "--topology: layer 'features.0' (M,N,K 12544,32,27) needs about 19.8 MiB of memory; "
            "the limit is 1 MiB (--max-memory)",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, capsys, arguments, message):
    out = tmp_path / "out"
    assert main(["simulate", *arguments, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"vscale: error: {message}\n"
    assert captured.out == ""
    assert not out.exists()


def test_layer_and_topology_are_mutually_exclusive(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_status:
        main(
            [
                "simulate",
                "--layer",
                "4,4,4",
                "--topology",
                "mobilenetv2",
                "--vdd",
                "0.9",
                "--out",
                str(tmp_path / "out"),
            ]
        )
    assert exit_status.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_protect_given_with_a_plan_file_is_refused(tmp_path, capsys):
    plan = tmp_path / "plan.toml"
    plan.write_text('default = "31:24"\n')
    out = tmp_path / "out"
    argv = ["simulate", "--gemm", "4,4,4", "--vdd", "0.9", "--plan", str(plan), "--protect", "30:20", "--out", str(out)]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        "vscale: error: --protect: given with plan, which sets it for every layer; give one of them\n"
    )
    assert not out.exists()


def test_supplied_operands_at_low_vdd_with_every_bit_protected_give_the_exact_product(tmp_path):
    """A 1500 ps clock (a PE that meets it at nominal VDD, so a Razor window can be built: the
    largest, 832 ps, with 58 hold buffers a bit) slowed 1.3x: the buffered bits arrive late
    and the shadow latch catches every one."""
    rng = np.random.default_rng(np.random.SeedSequence(9))
    activations = rng.integers(-128, 128, (12, 7)).astype(np.int8)
    weights = rng.integers(-128, 128, (7, 5)).astype(np.int8)
    path = tmp_path / "gemm.npz"
    np.savez(path, activations=activations, weights=weights)
    out = tmp_path / "out"
    assert (
        main(
            [
                "simulate",
                "--operands",
                str(path),
                "--t-clk-ps",
                "1500",
                "--delay-scale",
                "1.3",
                "--array",
                "3x4",
                "--protect",
                "31:0",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    (row,) = _rows(out / "simulate.csv")
    assert (row["m"], row["n"], row["k"]) == ("12", "5", "7")
    assert int(row["detections"]) > 0
    assert row["wrong_outputs"] == "0"
    assert json.loads((out / "config.json").read_text())["operands"] == str(path)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        (
            {"activations": np.zeros((2, 3), np.int8)},
            "missing array 'weights'; a GEMM operand file needs arrays activations, weights",
        ),
        (
            {"activations": np.zeros((2, 3), np.int8), "weights": np.zeros((4, 2), np.int8)},
            "activations (2, 3) and weights (4, 2) do not share K",
        ),
        (
            {"activations": np.full((2, 3), 300), "weights": np.zeros((3, 2), np.int8)},
            "array 'activations' must hold integers in -128..127",
        ),
    ],
)
def test_bad_supplied_operands_are_rejected(tmp_path, capsys, arrays, message):
    path = tmp_path / "gemm.npz"
    np.savez(path, **arrays)
    out = tmp_path / "out"
    assert main(["simulate", "--operands", str(path), "--vdd", "0.6", "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"vscale: error: {path}: {message}\n"
    assert not out.exists()
