"""The int8 engine against float references of the same integer arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from pe_models.errors import ConfigError
from workloads.backends import ExactBackend
from workloads.engine import CalibrationConfig, collect_statistics, quantize_model
from workloads.graph import (
    INPUT,
    Activation,
    Add,
    AvgPool,
    Conv2d,
    Flatten,
    GlobalAvgPool,
    Graph,
    Linear,
    MaxPool,
    Node,
    run_float,
)
from workloads.quant import quantize_weights_per_channel

INT8_OUTPUT = CalibrationConfig(bias_correction=False, output_bits=8)
"""Single-layer graphs whose output is the layer under test: int8 codes, no bias correction."""


class RecordingBackend(ExactBackend):
    """Exact GEMMs, remembering every call."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, tuple[int, int], tuple[int, int]]] = []

    def matmul(self, activations, weights, *, layer):
        self.calls.append((layer, activations.shape, weights.shape))
        return super().matmul(activations, weights, layer=layer)


def _single_conv_graph(rng, activation=None, groups=1, c_in=3, c_out=5):
    conv = Conv2d(
        weight=rng.normal(size=(c_out, c_in // groups, 3, 3)) * 0.3,
        bias=rng.normal(size=c_out) * 0.1,
        stride=(1, 1),
        padding=(1, 1, 1, 1),
        groups=groups,
        activation=activation,
    )
    return Graph(nodes=(Node(name="conv", op=conv, inputs=(INPUT,)),), input_shape=(c_in, 6, 6)), conv


def _direct_integer_conv(codes_nhwc, weight_codes):
    """Exact integer 3x3 / pad 1 / stride 1 convolution with loops (groups = 1)."""
    n, h, w, _ = codes_nhwc.shape
    padded = np.pad(codes_nhwc.astype(np.int64), ((0, 0), (1, 1), (1, 1), (0, 0)))
    out = np.zeros((n, h, w, weight_codes.shape[0]), np.int64)
    for y in range(h):
        for x in range(w):
            window = padded[:, y : y + 3, x : x + 3, :]
            out[:, y, x, :] = np.einsum("nijc,ocij->no", window, weight_codes.astype(np.int64))
    return out


def test_conv_requantisation_matches_the_real_multiplier_to_one_step():
    rng = np.random.default_rng(np.random.SeedSequence(11))
    graph, conv = _single_conv_graph(rng)
    images = rng.normal(size=(4, 3, 6, 6))
    model = quantize_model(graph, rng.normal(size=(16, 3, 6, 6)), calibration=INT8_OUTPUT)
    got = model.run(images, ExactBackend())
    s_in, s_out = model.scales[INPUT], model.scales["conv"]
    codes_in = model.quantize_input(images)
    weight_codes, s_w = quantize_weights_per_channel(conv.weight)
    accumulator = _direct_integer_conv(codes_in, weight_codes)
    bias = np.round(conv.bias / (s_in * s_w))
    expected = np.clip(np.round((accumulator + bias) * s_in * s_w / s_out), -128, 127)
    assert np.abs(got.astype(np.int64) - expected).max() <= 1
    assert np.mean(got == expected) > 0.99


def test_int8_conv_approximates_the_float_conv():
    rng = np.random.default_rng(np.random.SeedSequence(12))
    graph, _ = _single_conv_graph(rng, activation="relu6")
    images = rng.normal(size=(8, 3, 6, 6))
    model = quantize_model(graph, images)
    real = model.logits(images, ExactBackend())
    reference = run_float(graph, images, dtype=np.float64)
    # input and weight rounding plus output rounding: a few output steps at most
    assert np.abs(real - reference).max() < 4 * model.output_scale
    assert real.min() >= 0 and real.max() <= 6 + model.output_scale


def test_relu6_clamp_is_six_in_output_steps():
    rng = np.random.default_rng(np.random.SeedSequence(13))
    graph, _ = _single_conv_graph(rng, activation="relu6")
    images = rng.normal(size=(8, 3, 6, 6)) * 20
    model = quantize_model(graph, images, calibration=CalibrationConfig(method="percentile", percentile=100))
    codes = model.run(images, ExactBackend())
    assert codes.min() == 0
    assert codes.max() == min(127, round(6 / model.output_scale))


def test_residual_add_requantises_both_inputs():
    rng = np.random.default_rng(np.random.SeedSequence(14))
    conv = Conv2d(weight=rng.normal(size=(3, 3, 1, 1)) * 3, bias=None)
    graph = Graph(
        nodes=(Node(name="conv", op=conv, inputs=(INPUT,)), Node(name="add", op=Add(), inputs=(INPUT, "conv"))),
        input_shape=(3, 4, 4),
    )
    images = rng.normal(size=(6, 3, 4, 4))
    model = quantize_model(graph, images)
    got = model.run(images, ExactBackend()).astype(np.int64)
    a = model.quantize_input(images).astype(np.float64)
    b = model.layers[0].run([model.quantize_input(images)], ExactBackend()).astype(np.float64)
    s_a, s_b, s_out = model.scales[INPUT], model.scales["conv"], model.scales["add"]
    expected = np.clip(np.round((a * s_a + b * s_b) / s_out), -128, 127)
    assert np.abs(got - expected).max() <= 1
    assert np.mean(got == expected) > 0.98


def test_depthwise_conv_runs_one_gemm_per_group():
    rng = np.random.default_rng(np.random.SeedSequence(15))
    graph, _ = _single_conv_graph(rng, groups=4, c_in=4, c_out=4)
    model = quantize_model(graph, rng.normal(size=(2, 4, 6, 6)))
    backend = RecordingBackend()
    model.run(rng.normal(size=(2, 4, 6, 6)), backend, batch_size=2)
    # M = 2 images x 6 x 6 outputs, K = 3 x 3, N = 1 output channel per group
    assert backend.calls == [("conv", (72, 9), (9, 1))] * 4


def test_grouped_conv_matches_the_float_model():
    rng = np.random.default_rng(np.random.SeedSequence(16))
    graph, _ = _single_conv_graph(rng, groups=2, c_in=4, c_out=6)
    images = rng.normal(size=(4, 4, 6, 6))
    model = quantize_model(graph, images, calibration=INT8_OUTPUT)
    reference = run_float(graph, images, dtype=np.float64)
    assert np.abs(model.logits(images, ExactBackend()) - reference).max() < 4 * model.output_scale


def _every_operator_graph(rng):
    nodes = (
        Node(
            name="c1",
            inputs=(INPUT,),
            op=Conv2d(
                weight=rng.normal(size=(4, 2, 3, 3)) * 0.4,
                bias=rng.normal(size=4) * 0.1,
                stride=(2, 2),
                padding=(1, 1, 1, 1),
                activation="relu",
            ),
        ),
        Node(name="mp", inputs=("c1",), op=MaxPool(kernel=(2, 2), stride=(1, 1))),
        Node(
            name="dw",
            inputs=("mp",),
            op=Conv2d(weight=rng.normal(size=(4, 1, 3, 3)) * 0.4, padding=(1, 1, 1, 1), groups=4),
        ),
        Node(name="add", inputs=("mp", "dw"), op=Add()),
        Node(name="r6", inputs=("add",), op=Activation(kind="relu6")),
        Node(name="ap", inputs=("r6",), op=AvgPool(kernel=(2, 2), stride=(2, 2))),
        Node(name="pw", inputs=("ap",), op=Conv2d(weight=rng.normal(size=(8, 4, 1, 1)))),
        Node(name="flat", inputs=("pw",), op=Flatten()),
        Node(name="fc", inputs=("flat",), op=Linear(weight=rng.normal(size=(3, 32)) * 0.2, bias=np.zeros(3))),
    )
    return Graph(nodes=nodes, input_shape=(2, 10, 10))


def test_every_operator_gives_the_float_shapes_and_close_values():
    rng = np.random.default_rng(np.random.SeedSequence(17))
    graph = _every_operator_graph(rng)
    images = rng.normal(size=(16, 2, 10, 10))
    model = quantize_model(graph, images)
    backend = RecordingBackend()
    codes = model.run(images, backend)
    # 10x10 -stride 2-> 5x5 -maxpool 2/1-> 4x4 -avgpool 2/2-> 2x2 x 8 channels = 32
    assert codes.shape == (16, 3)
    assert [(n, a[0] // 16, a[1], w[1]) for n, a, w in backend.calls] == (
        [("c1", 25, 18, 4)] + [("dw", 16, 9, 1)] * 4 + [("pw", 4, 4, 8), ("fc", 1, 32, 3)]
    )
    reference = run_float(graph, images, dtype=np.float64)
    error = np.abs(codes * model.output_scale - reference)
    assert error.max() < 0.1 * np.abs(reference).max()


def test_global_average_pool_keeps_the_scale_and_rounds():
    graph = Graph(nodes=(Node(name="gap", op=GlobalAvgPool(), inputs=(INPUT,)),), input_shape=(1, 2, 2))
    model = quantize_model(
        graph,
        np.array([[[[1.27, 0.0], [0.0, 0.0]]]]),
        calibration=CalibrationConfig(method="percentile", percentile=100),
    )
    assert model.scales["gap"] == model.scales[INPUT]
    images = np.array([[[[0.05, 0.01], [0.0, 0.0]]]])  # codes 5 and 1 -> (6 + 2) // 4 = 2
    assert abs(model.scales[INPUT] - 0.01) < 1e-4
    assert model.run(images, ExactBackend()).tolist() == [[2]]


def test_batches_do_not_change_the_results():
    rng = np.random.default_rng(np.random.SeedSequence(18))
    graph = _every_operator_graph(rng)
    images = rng.normal(size=(7, 2, 10, 10))
    model = quantize_model(graph, images)
    whole = model.run(images, ExactBackend(), batch_size=7)
    assert np.array_equal(model.run(images, ExactBackend(), batch_size=2), whole)


def test_wrong_image_shape_is_rejected():
    rng = np.random.default_rng(np.random.SeedSequence(19))
    graph, _ = _single_conv_graph(rng)
    model = quantize_model(graph, rng.normal(size=(2, 3, 6, 6)))
    with pytest.raises(
        ConfigError,
        match=r"^images: shape \(2, 6, 6\) does not match the "
        r"model input \(N, 3, 6, 6\)$",
    ):
        model.run(np.zeros((2, 6, 6)), ExactBackend())


def test_calibration_needs_images():
    rng = np.random.default_rng(np.random.SeedSequence(20))
    graph, _ = _single_conv_graph(rng)
    with pytest.raises(
        ConfigError,
        match=r"^calibration: at least one calibration image is "
        r"required$",
    ):
        quantize_model(graph, np.zeros((0, 3, 6, 6)))


def _linear_graph(weight, bias):
    nodes = (
        Node(name="flat", op=Flatten(), inputs=(INPUT,)),
        Node(name="fc", op=Linear(weight=np.asarray(weight, float), bias=np.asarray(bias, float)), inputs=("flat",)),
    )
    return Graph(nodes=nodes, input_shape=(len(weight[0]), 1, 1))


def test_bias_correction_removes_the_weight_rounding_shift_at_the_mean_input():
    # s_w = 0.71 / 127; 0.3 rounds to 54 steps, 0.0018898 too high; E[x] = (1, 2), so the
    # output is shifted by 0.0018898 * 1 + 0 * 2 and the corrected bias is 0.1 - 0.0018898
    graph = _linear_graph([[0.3, -0.71]], [0.1])
    images = np.tile(np.array([1.0, 2.0]).reshape(1, 2, 1, 1), (4, 1, 1, 1))
    plain = quantize_model(graph, images, calibration=CalibrationConfig(bias_correction=False))
    corrected = quantize_model(graph, images, calibration=CalibrationConfig(bias_correction=True))
    shift = 54 * 0.71 / 127 - 0.3
    step = plain.scales[INPUT] * 0.71 / 127  # one bias code
    assert plain.scales == corrected.scales
    assert abs((plain.layers[1].bias[0] - corrected.layers[1].bias[0]) - shift / step) <= 1


def test_column_means_count_the_zero_padding():
    conv = Conv2d(weight=np.ones((1, 1, 3, 3)), padding=(1, 1, 1, 1))
    graph = Graph(nodes=(Node(name="conv", op=conv, inputs=(INPUT,)),), input_shape=(1, 4, 4))
    statistics = collect_statistics(graph, np.ones((2, 1, 4, 4)))
    # on a 4x4 image of ones, a corner tap of the 3x3 window is inside the image for
    # 3 x 3 of the 16 outputs, an edge tap for 3 x 4, the centre tap always
    corner, edge = 9 / 16, 12 / 16
    expected = [corner, edge, corner, edge, 1, edge, corner, edge, corner]
    assert np.allclose(statistics.column_means["conv"], [expected])


def test_sixteen_bit_logits_keep_apart_classes_that_int8_logits_tie():
    rng = np.random.default_rng(np.random.SeedSequence(21))
    graph = _linear_graph(rng.normal(size=(1000, 64)) * 0.1, np.zeros(1000))
    calibration, images = rng.normal(size=(32, 64, 1, 1)), rng.normal(size=(64, 64, 1, 1))
    wide = quantize_model(graph, calibration, calibration=CalibrationConfig(output_bits=16))
    narrow = quantize_model(graph, calibration, calibration=CalibrationConfig(output_bits=8))
    wide_codes, narrow_codes = wide.run(images, ExactBackend()), narrow.run(images, ExactBackend())
    assert wide_codes.dtype == np.int16 and narrow_codes.dtype == np.int8
    # the output scale is the largest |logit| of the calibration images over 2**15 - 1
    peak = np.abs(run_float(graph, calibration, dtype=np.float64)).max()
    assert wide.output_scale == pytest.approx(peak / 32767, rel=1e-6)

    def ties(codes):
        return int(((codes == codes.max(axis=1, keepdims=True)).sum(axis=1) > 1).sum())

    assert ties(narrow_codes) > 0
    assert ties(wide_codes) == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"method": "kl"}, r"^calibration: 'kl' is unknown; allowed: mse, percentile, entropy$"),
        ({"output_bits": 4}, r"^output_bits: 4 is out of range; allowed: 8\.\.32$"),
        ({"bias_correction": "yes"}, r"^bias_correction: expected true or false, got 'yes'$"),
    ],
)
def test_bad_calibration_settings_are_refused(fields, message):
    with pytest.raises(ConfigError, match=message):
        CalibrationConfig(**fields)
