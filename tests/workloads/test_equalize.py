"""Channel equalisation of depthwise inputs: same float function, equal channel ranges, per-channel ReLU6."""

from __future__ import annotations

import numpy as np

from workloads.backends import ExactBackend
from workloads.data import mnist_calibration_images, mnist_test_set
from workloads.engine import CalibrationConfig, quantize_model
from workloads.equalize import depthwise_inputs, equalize_depthwise_inputs
from workloads.graph import INPUT, Conv2d, Graph, Node, prepare_for_quantization, run_float
from workloads.models.tinymnv2 import load_tinymnv2


def _peaks(graph: Graph, images: np.ndarray, names) -> dict[str, np.ndarray]:
    peaks: dict[str, np.ndarray] = {}

    def observe(name, value):
        if name in names:
            peaks[name] = np.abs(value).reshape(-1, value.shape[-1]).max(axis=0)

    run_float(graph, images, dtype=np.float64, observer=observe)
    return peaks


def test_the_stem_and_every_expansion_feed_a_depthwise_convolution():
    pairs = depthwise_inputs(prepare_for_quantization(load_tinymnv2()))
    # features.1 has no expansion (t = 1): the stem feeds its depthwise convolution
    assert pairs == {
        "features.0.0": "features.1.conv.0.0",
        **{f"features.{block}.conv.0.0": f"features.{block}.conv.1.0" for block in range(2, 6)},
    }


def test_equalisation_keeps_the_float_function_and_equalises_the_channel_ranges():
    prepared = prepare_for_quantization(load_tinymnv2())
    calibration = mnist_calibration_images()[:50]
    names = set(depthwise_inputs(prepared))
    equalised = equalize_depthwise_inputs(prepared, _peaks(prepared, calibration, names))
    images = mnist_test_set(40).images
    before = run_float(prepared, images, dtype=np.float64)
    after = run_float(equalised, images, dtype=np.float64)
    assert np.allclose(after, before, rtol=1e-9, atol=1e-9 * np.abs(before).max())
    for name, peaks in _peaks(equalised, calibration, names).items():
        alive = peaks[peaks > 0]
        # every channel that was ever non-zero now reaches the widest channel's peak
        assert np.allclose(alive, alive.max(), rtol=1e-9), name


def test_the_int8_model_clamps_each_channel_at_its_own_ceiling():
    conv = Conv2d(weight=np.ones((2, 1, 1, 1)), bias=np.zeros(2), activation="relu6", ceiling=np.array([1.0, 3.0]))
    graph = Graph(nodes=(Node(name="conv", op=conv, inputs=(INPUT,)),), input_shape=(1, 2, 2))
    images = np.linspace(0, 5, 40).reshape(10, 1, 2, 2)
    model = quantize_model(graph, images, calibration=CalibrationConfig(output_bits=8, method="percentile"))
    codes = model.run(images, ExactBackend())
    scale = model.output_scale
    assert codes[..., 0].max() == round(1.0 / scale)
    assert codes[..., 1].max() == min(127, round(3.0 / scale))
