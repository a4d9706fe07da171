"""`vscale trace`: operand traces of a layer, as weight-stationary PEs see them."""

import json

import numpy as np
import pytest

import experiments.studies.trace
from experiments.cli import main
from experiments.studies.trace import TraceConfig
from pe_models.errors import ConfigError
from pe_models.operands import load_trace
from workloads.engine import GemmShape
from workloads.trace import record_layer_trace, trace_from_gemms


def test_trace_lane_holds_weight_activation_column_and_fold_partial_sum():
    """K = 5 on 2 rows: the folds hold rows k = {0, 1}, {2, 3}, {4}; row k = 3 is in the fold of rows
    2, 3, so its partial sum is A[:, 2] * W[2, n]."""
    first_row_of_fold = {0: 0, 1: 0, 2: 2, 3: 2, 4: 4}
    activations = np.arange(20, dtype=np.int8).reshape(4, 5)
    weights = np.arange(10, dtype=np.int8).reshape(5, 2) - 4
    trace = trace_from_gemms([(activations, weights)], rows=2, lanes=40, steps=4, seed=np.random.SeedSequence(1))
    for lane in range(40):
        k, n = trace["k"][lane], trace["n"][lane]
        start = first_row_of_fold[int(k)]
        assert trace["a"][lane].tolist() == activations[:, k].tolist()
        assert set(trace["b"][lane].tolist()) == {int(weights[k, n])}
        expected = [sum(int(activations[m, j]) * int(weights[j, n]) for j in range(start, k)) for m in range(4)]
        assert trace["c"][lane].tolist() == expected


def test_trace_command_writes_a_trace_probs_can_read(tmp_path, capsys):
    out = tmp_path / "trace"
    assert (
        main(
            [
                "trace",
                "--layer",
                "3",
                "--images",
                "8",
                "--lanes",
                "5",
                "--steps",
                "50",
                "--format",
                "json",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    (row,) = json.loads(capsys.readouterr().out)["rows"]
    stream = load_trace(out / "trace.npz")
    assert stream.a.shape == (5, min(50, row["m"]))
    assert json.loads((out / "config.json").read_text())["layer"] == row["layer"]
    assert main(["probs", "--operands", str(out / "trace.npz"), "--vdd", "0.5", "--out", str(tmp_path / "p")]) == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--layer", "99"], "--layer: unknown layer '99'; allowed: 0..16 or a name such as 'features.0.0'"),
        (["--layer", "17"], "--layer: unknown layer '17'; allowed: 0..16 or a name such as 'features.0.0'"),
        (["--layer", "1.5"], "--layer: unknown layer '1.5'; allowed: 0..16 or a name such as 'features.0.0'"),
        (["--layer", "-1"], "--layer: unknown layer '-1'; allowed: 0..16 or a name such as 'features.0.0'"),
        (["--layer", "²"], "--layer: unknown layer '²'; allowed: 0..16 or a name such as 'features.0.0'"),
        (["--layer", "0", "--lanes", "0"], "--lanes: expected a positive integer, got 0"),
        (["--layer", "0", "--steps", "1"], "--steps: expected an integer >= 2, got 1"),
    ],
)
def test_bad_trace_arguments_are_rejected(tmp_path, capsys, argv, message):
    """tinymnv2 has 17 GEMM layers (docs/workloads.md: stem, 2 in features.1, 3 in each of
    features.2..5, features.6, classifier), indices 0..16."""
    out = tmp_path / "trace"
    assert main(["trace", "--images", "4", *argv, "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"vscale: error: {message}\n"
    assert not out.exists()


def test_a_bad_layer_is_refused_before_the_model_is_loaded(tmp_path, capsys, monkeypatch):
    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(experiments.studies.trace, "load_bundle", no_model)
    assert main(["trace", "--layer", "1.5", "--out", str(tmp_path / "trace")]) == 2
    expected = "vscale: error: --layer: unknown layer '1.5'; allowed: 0..16 or a name such as 'features.0.0'\n"
    assert capsys.readouterr().err == expected


def test_trace_config_refuses_a_layer_index_past_the_models_layers():
    with pytest.raises(
        ConfigError, match=r"^layer: unknown layer '17'; allowed: 0\.\.16 or a name such as 'features\.0\.0'$"
    ):
        TraceConfig(layer=17)


def test_trace_config_refuses_a_fractional_layer():
    with pytest.raises(ConfigError, match=r"^layer: expected a GEMM layer's name or its index >= 0, got 1\.5$"):
        TraceConfig(layer=1.5)


def test_steps_above_the_layers_m_are_refused_before_the_model_runs():
    """A 4x4 output map is M = 16 rows per image, 32 for two images."""

    class Unrun:
        gemm_layers = (GemmShape(name="conv", m_per_image=16, k=9, n=8, groups=1),)

        def run(self, images, backend):
            raise AssertionError("the model ran")

    with pytest.raises(ConfigError, match=r"^steps: expected an integer in 2\.\.32 \(the M of layer 'conv'\), got 33$"):
        record_layer_trace(
            Unrun(), np.zeros((2, 1, 8, 8)), "conv", rows=4, lanes=1, steps=33, seed=np.random.SeedSequence(0)
        )
