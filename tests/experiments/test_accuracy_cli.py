"""``vscale accuracy``: outputs, option parsing and one-line errors."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from experiments.cli import main
from experiments.pe_options import parse_vdd_range as parse_vdd
from experiments.studies.accuracy import AccuracyConfig
from experiments.studies.prepared import top_k_hits
from tests.packages import require


def test_vdd_range_is_inclusive_and_descending():
    assert parse_vdd("0.9:0.5:0.05") == [0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5]
    assert parse_vdd("0.5:0.7:0.1") == [0.5, 0.6, 0.7]
    assert parse_vdd("0.8,0.6") == [0.8, 0.6]


def test_protect_range_sets_bits_20_to_31():
    assert AccuracyConfig(protect="31:20").protect_mask() == 0xFFF00000
    assert AccuracyConfig(protect="31,0").protect_mask() == 0x80000001
    assert AccuracyConfig(protect="none").protect_mask() == 0


def test_top_k_counts_a_target_among_the_k_best():
    scores = np.array([[5, 9, 1, 7], [3, 3, 0, 1]])
    # row 0 order: 1, 3, 0, 2 ; row 1 ties break to the lower index: 0, 1, 3, 2
    assert top_k_hits(scores, np.array([3, 1]), 1).tolist() == [False, False]
    assert top_k_hits(scores, np.array([3, 1]), 2).tolist() == [True, True]


def test_accuracy_writes_table_csv_plot_and_config(tmp_path, capsys):
    out = tmp_path / "out"
    status = main(["accuracy", "--images", "40", "--vdd", "0.9,0.7", "--format", "csv", "--out", str(out)])
    assert status == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [float(r["vdd_v"]) for r in rows] == [0.9, 0.7]
    assert {r["images"] for r in rows} == {"40"}
    assert rows[0]["top1_pct"] == rows[1]["top1_pct"]  # exact: flat in VDD
    assert sorted(p.name for p in out.iterdir()) == [
        "accuracy.csv",
        "accuracy.png",
        "config.json",
        "energy_layers.csv",
        "errors_per_bit.csv",
    ]
    config = json.loads((out / "config.json").read_text())
    assert config["vdd_v"] == [0.9, 0.7]
    assert config["injection"] == "exact"
    assert (out / "errors_per_bit.csv").read_text() == "vdd_v,layer,bit,errors,protected\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--injection", "magic"], "--injection: expected one of exact, statistical, bitlevel, got 'magic'"),
        (
            ["--vdd", "0.9:0.5"],
            "--vdd: '0.9:0.5' is not START:STOP:STEP or a comma-separated list of volts (e.g. 0.9:0.5:0.05)",
        ),
        (["--vdd", "0.9:0.5:0"], "--vdd: step 0 must be > 0"),
        (["--vdd", "3"], "--vdd: 3 V is out of range; allowed: (0, 2] V"),
        (["--protect", "40:20"], "--protect: bit 40 is out of range; allowed: 0..31"),
        (["--protect", "high"], "--protect: expected bit numbers or HIGH:LOW ranges, e.g. 31:20, got 'high'"),
        (["--model", "resnet"], "--model: expected one of tinymnv2, mobilenetv2 or a float ONNX file, got 'resnet'"),
        (["--images", "5000"], "--images: 5000 is out of range; allowed: 1..1000"),
        (["--images", "nowhere"], "--images: 'nowhere' is neither a number of images nor a directory"),
        (["--images", ""], "--images: expected one of a positive number of images or a folder of images, got ''"),
        (["--labels", "x.txt"], "--labels: only with images given as a folder of images"),
        (["--calibration", "max"], "--calibration: expected one of mse, percentile, entropy, got 'max'"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_files(tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    assert main(["accuracy", *argv, "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"vscale: error: {message}\n"
    assert not out.exists()


def test_empty_image_folder_is_rejected(tmp_path, capsys):
    folder = tmp_path / "images"
    folder.mkdir()
    (tmp_path / "labels.txt").write_text("a.png 1\n")
    out = tmp_path / "out"
    assert main(["accuracy", "--images", str(folder), "--labels", str(tmp_path / "labels.txt"), "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith(f"vscale: error: --images: {folder} contains no images (")
    assert not out.exists()


def test_an_empty_calibration_folder_is_rejected(tmp_path, capsys):
    folder = tmp_path / "calibration"
    folder.mkdir()
    out = tmp_path / "out"
    assert main(["accuracy", "--images", "10", "--calibration-images", str(folder), "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        f"vscale: error: --calibration-images: {folder} contains no images "
        "(.jpg, .jpeg, .png, .bmp, .ppm, .pgm, .tif, .tiff, .webp)\n"
    )
    assert not out.exists()


def test_a_calibration_folder_sharing_an_image_with_the_evaluation_folder_is_rejected(tmp_path, capsys):
    from PIL import Image

    rng = np.random.default_rng(np.random.SeedSequence(41))
    images, calibration = tmp_path / "images", tmp_path / "calibration"
    images.mkdir()
    calibration.mkdir()
    digits = rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    for index, digit in enumerate(digits):
        Image.fromarray(digit).save(images / f"{index}.png")
    Image.fromarray(digits[2]).save(calibration / "again.png")
    (tmp_path / "labels.txt").write_text("0.png 0\n1.png 1\n2.png 2\n")
    out = tmp_path / "out"
    argv = ["accuracy", "--images", str(images), "--labels", str(tmp_path / "labels.txt")]
    assert main([*argv, "--calibration-images", str(calibration), "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        "vscale: error: --calibration-images: again.png is also an evaluation image (2.png); "
        "calibration and evaluation images must be disjoint\n"
    )
    assert not out.exists()


def test_a_calibration_image_of_another_size_is_rejected(tmp_path, capsys):
    from PIL import Image

    folder = tmp_path / "calibration"
    folder.mkdir()
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(folder / "big.png")
    out = tmp_path / "out"
    assert main(["accuracy", "--images", "10", "--calibration-images", str(folder), "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        f"vscale: error: --calibration-images: {folder / 'big.png'} is 32x32 pixels; allowed: 28x28 "
        "(the model's input size)\n"
    )
    assert not out.exists()


def test_a_missing_calibration_folder_is_rejected(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["accuracy", "--calibration-images", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
    assert (
        capsys.readouterr().err == f"vscale: error: --calibration-images: {tmp_path / 'nowhere'} is not a directory\n"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--protect", "31:24"),
        ("--protect-product", "15:12"),
        ("--recovery", "column"),
        ("--penalty", "3"),
        ("--razor-window-ps", "50"),
    ],
)
def test_a_field_the_plan_sets_is_refused_beside_the_plan(tmp_path, capsys, option, value):
    plan = tmp_path / "plan.toml"
    plan.write_text('default = "31:24"\n')
    out = tmp_path / "out"
    argv = ["accuracy", "--injection", "bitlevel", "--plan", str(plan), option, value, "--out", str(out)]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"vscale: error: {option}: given with plan, which sets it for every layer; give one of them\n"
    )
    assert not out.exists()


def _mnist_onnx(path, op_type="Relu"):
    onnx = require("onnx")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(np.random.SeedSequence(40))
    inits = [
        numpy_helper.from_array(rng.normal(size=(4, 1, 5, 5)).astype(np.float32), "w"),
        numpy_helper.from_array(rng.normal(size=(10, 4)).astype(np.float32), "fc"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", strides=[2, 2]),
        helper.make_node(op_type, ["c"], ["r"], name="act"),
        helper.make_node("GlobalAveragePool", ["r"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "fc"], ["y"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "mnist",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 28, 28])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        initializer=inits,
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_onnx_model_with_mnist_input_runs_on_the_bundled_images(tmp_path, capsys):
    model = _mnist_onnx(tmp_path / "net.onnx")
    out = tmp_path / "out"
    assert (
        main(
            ["accuracy", "--model", str(model), "--images", "20", "--vdd", "0.8", "--format", "json", "--out", str(out)]
        )
        == 0
    )
    (row,) = json.loads(capsys.readouterr().out)["rows"]
    assert row["metric"] == "accuracy" and row["images"] == 20
    assert json.loads((out / "config.json").read_text())["model"] == str(model)


def test_onnx_model_with_an_unsupported_operator_is_rejected(tmp_path, capsys):
    model = _mnist_onnx(tmp_path / "net.onnx", op_type="Tanh")
    out = tmp_path / "out"
    assert main(["accuracy", "--model", str(model), "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith(
        f"vscale: error: {model}: operator 'Tanh' (node 'act') is not supported; allowed: "
    )
    assert not out.exists()


def test_registered_injection_backend_gets_its_point_and_reports_stats(tmp_path, capsys, monkeypatch):
    from workloads import backends

    monkeypatch.setattr(backends, "_REGISTRY", dict(backends._REGISTRY))
    built = []

    class FakeBitlevel(backends.ExactBackend):
        name = "bitlevel"

        def __init__(self, *, vdd_v, protect_mask, seed, **options):
            super().__init__()
            built.append((vdd_v, protect_mask, seed))

        def matmul(self, activations, weights, *, layer):
            counts = self.stats.setdefault(layer, np.zeros(32, dtype=np.int64))
            counts[0] += 1  # one "error" in bit 0 per GEMM call
            counts[31] += 2  # two in bit 31 (protected below)
            return super().matmul(activations, weights, layer=layer)

    backends.register_backend("bitlevel", FakeBitlevel)
    out = tmp_path / "out"
    assert (
        main(
            [
                "accuracy",
                "--injection",
                "bitlevel",
                "--images",
                "10",
                "--vdd",
                "0.8,0.6",
                "--protect",
                "31:20",
                "--seed",
                "7",
                "--format",
                "json",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [(v, m) for v, m, _ in built] == [(0.8, 0xFFF00000), (0.6, 0xFFF00000)]
    assert [s.spawn_key for _, _, s in built] == [(0,), (1,)]
    assert {s.entropy for _, _, s in built} == {7}
    # tinymnv2: 17 GEMM layers, depthwise layers one call per channel: 16 + 64 + 96 + 96 + 128;
    # bitlevel runs the 10 images in hardware batches of --batch (1): 10 batches
    calls = (17 - 5 + 16 + 64 + 96 + 96 + 128) * 10
    assert [r["unprotected_errors"] for r in rows] == [calls, calls]
    errors = list(csv.DictReader(io.StringIO((out / "errors_per_bit.csv").read_text())))
    assert {(r["bit"], r["protected"]) for r in errors} == {("0", "False"), ("31", "True")}
    assert sum(int(r["errors"]) for r in errors if r["bit"] == "31") == 2 * 2 * calls


@pytest.mark.parametrize("injection", ["statistical", "bitlevel"])
def test_injection_at_nominal_vdd_matches_the_exact_run(tmp_path, capsys, injection):
    results = {}
    for name in ("exact", injection):
        assert (
            main(
                [
                    "accuracy",
                    "--injection",
                    name,
                    "--images",
                    "40",
                    "--vdd",
                    "0.9",
                    "--format",
                    "json",
                    "--out",
                    str(tmp_path / name),
                ]
            )
            == 0
        )
        results[name] = json.loads(capsys.readouterr().out)["rows"][0]
    assert results[injection]["top1_pct"] == results["exact"]["top1_pct"]
    assert results[injection]["unprotected_errors"] == 0


def test_bitlevel_reports_latency_overhead_of_corrections(tmp_path, capsys):
    """A 150 ps window: the default, largest window's hold buffers leave every error at 0.5 V
    late at the shadow latch too (none detected)."""
    assert (
        main(
            [
                "accuracy",
                "--injection",
                "bitlevel",
                "--images",
                "20",
                "--vdd",
                "0.5",
                "--protect",
                "31:16",
                "--razor-window-ps",
                "150",
                "--penalty",
                "3",
                "--format",
                "json",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 0
    )
    (row,) = json.loads(capsys.readouterr().out)["rows"]
    assert row["detections"] > 0
    assert row["correction_cycles"] > 0
    assert row["latency_overhead_pct"] == pytest.approx(100 * row["correction_cycles"] / row["compute_cycles"])


def test_voltage_below_threshold_is_rejected_before_any_work(tmp_path, capsys):
    out = tmp_path / "o"
    argv = ["accuracy", "--injection", "bitlevel", "--vdd", "0.3", "--technology", "generic-28nm", "--out", str(out)]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        "vscale: error: --vdd: 0.3 V is at or below the threshold voltage 0.35 V of technology 'generic-28nm'; "
        "allowed: 0.35 < --vdd <= 1.35\n"
    )
    assert not out.exists()


def test_same_seed_gives_the_same_results_on_any_number_of_processes(tmp_path, capsys):
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / jobs
        assert (
            main(
                [
                    "accuracy",
                    "--injection",
                    "statistical",
                    "--images",
                    "60",
                    "--vdd",
                    "0.56,0.53,0.5",
                    "--seed",
                    "3",
                    "--jobs",
                    jobs,
                    "--format",
                    "csv",
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        outputs.append((capsys.readouterr().out, (out / "errors_per_bit.csv").read_text()))
    assert outputs[0] == outputs[1]
    assert "0.53" in outputs[0][1]
