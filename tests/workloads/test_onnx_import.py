"""ONNX import against onnx's own reference evaluator, on models built here."""

from __future__ import annotations

import numpy as np
import pytest

from pe_models.errors import ConfigError
from tests.packages import require
from workloads.backends import ExactBackend
from workloads.engine import quantize_model
from workloads.graph import run_float

onnx = require("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

from workloads.models.onnx_import import graph_from_onnx, load_onnx  # noqa: E402


def _constant(name, array):
    return numpy_helper.from_array(np.asarray(array, dtype=np.float32), name)


def _small_model(rng, *, extra_nodes=()):
    """Conv+BN+Relu -> depthwise Conv+Clip6 -> residual Add -> pools -> Reshape -> Gemm.

    11x11 -conv s2 p1-> 6x6 -maxpool 2/1-> 5x5 -avgpool 2/2 p1-> 3x3, x 4 channels = 36.
    """
    inits = [
        _constant("w1", rng.normal(size=(4, 3, 3, 3)) * 0.5),
        _constant("b1", rng.normal(size=4) * 0.1),
        _constant("g", rng.uniform(0.5, 1.5, 4)),
        _constant("be", rng.normal(size=4) * 0.1),
        _constant("mu", rng.normal(size=4) * 0.1),
        _constant("var", rng.uniform(0.5, 2, 4)),
        _constant("w2", rng.normal(size=(4, 1, 3, 3)) * 0.5),
        _constant("zero", 0.0),
        _constant("six", 6.0),
        _constant("w3", rng.normal(size=(3, 36)) * 0.3),
        _constant("b3", rng.normal(size=3)),
        _constant("w4", rng.normal(size=(3, 2)) * 0.5),
        _constant("b4", rng.normal(size=2)),
        numpy_helper.from_array(np.array([0, -1], dtype=np.int64), "shape"),
    ]
    nodes = [
        helper.make_node(
            "Conv", ["x", "w1", "b1"], ["c1"], name="conv1", strides=[2, 2], pads=[1, 1, 1, 1], kernel_shape=[3, 3]
        ),
        helper.make_node("BatchNormalization", ["c1", "g", "be", "mu", "var"], ["n1"], name="bn1", epsilon=1e-3),
        helper.make_node("Relu", ["n1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="dw", group=4, pads=[1, 1, 1, 1]),
        helper.make_node("Clip", ["c2", "zero", "six"], ["r2"], name="relu6"),
        helper.make_node("Add", ["r1", "r2"], ["s"], name="residual"),
        helper.make_node("MaxPool", ["s"], ["m"], name="maxpool", kernel_shape=[2, 2], strides=[1, 1]),
        helper.make_node(
            "AveragePool", ["m"], ["a"], name="avgpool", kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1]
        ),
        helper.make_node("Reshape", ["a", "shape"], ["f"], name="reshape"),
        helper.make_node("Gemm", ["f", "w3", "b3"], ["y3"], name="fc", transB=1),
        helper.make_node("MatMul", ["y3", "w4"], ["y4"], name="matmul"),
        helper.make_node("Add", ["y4", "b4"], ["y"], name="bias"),
        *extra_nodes,
    ]
    output = nodes[-1].output[0]
    graph = helper.make_graph(
        nodes,
        "small",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 11, 11])],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["N", None])],
        initializer=inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_imported_model_matches_onnx_reference_evaluator():
    rng = np.random.default_rng(np.random.SeedSequence(30))
    model = _small_model(rng)
    onnx.checker.check_model(model)
    images = rng.normal(size=(5, 3, 11, 11)).astype(np.float32)
    (expected,) = ReferenceEvaluator(model).run(None, {"x": images})
    got = run_float(graph_from_onnx(model), images, dtype=np.float64)
    assert got.shape == (5, 2)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_imported_model_quantises_and_runs():
    rng = np.random.default_rng(np.random.SeedSequence(31))
    graph = graph_from_onnx(_small_model(rng))
    images = rng.normal(size=(32, 3, 11, 11)).astype(np.float32)
    quantized = quantize_model(graph, images)
    reference = run_float(graph, images, dtype=np.float64)
    error = np.abs(quantized.logits(images, ExactBackend()) - reference)
    assert error.max() < 0.1 * np.abs(reference).max()
    assert [layer.name for layer in quantized.gemm_layers] == ["conv1", "dw", "fc", "matmul"]


def test_unsupported_operator_names_the_operator_and_node():
    rng = np.random.default_rng(np.random.SeedSequence(32))
    model = _small_model(rng, extra_nodes=[helper.make_node("Sigmoid", ["y"], ["p"], name="squash")])
    with pytest.raises(
        ConfigError,
        match=r"^model\.onnx: operator 'Sigmoid' \(node 'squash'\) "
        r"is not supported; allowed: Add, AveragePool, .*, Reshape$",
    ):
        graph_from_onnx(model)


def test_onnx_file_round_trip_and_corrupt_file(tmp_path):
    rng = np.random.default_rng(np.random.SeedSequence(33))
    path = tmp_path / "small.onnx"
    onnx.save(_small_model(rng), str(path))
    assert load_onnx(path).input_shape == (3, 11, 11)
    path.write_bytes(b"\x08\x07garbage" * 3)
    with pytest.raises(ConfigError, match=rf"^{path}: not a readable ONNX model \(\w+\)$"):
        load_onnx(path)
