"""Float graph: batch-norm folding and activation fusion against unfused computation."""

from __future__ import annotations

import numpy as np
import pytest

from pe_models.errors import ConfigError
from workloads.graph import (
    INPUT,
    Activation,
    Add,
    BatchNorm,
    Conv2d,
    GlobalAvgPool,
    Graph,
    Linear,
    Node,
    fold_batchnorm,
    fuse_activations,
    prepare_for_quantization,
    run_float,
)


def _conv_bn_graph(rng, groups=1):
    c_in, c_out = 4, 4 if groups > 1 else 6
    conv = Conv2d(
        weight=rng.normal(size=(c_out, c_in // groups, 3, 3)),
        bias=rng.normal(size=c_out),
        stride=(2, 2),
        padding=(1, 1, 1, 1),
        groups=groups,
    )
    bn = BatchNorm(
        gamma=rng.uniform(0.5, 2, c_out),
        beta=rng.normal(size=c_out),
        mean=rng.normal(size=c_out),
        var=rng.uniform(0.1, 3, c_out),
        eps=1e-3,
    )
    nodes = (
        Node(name="conv", op=conv, inputs=(INPUT,)),
        Node(name="bn", op=bn, inputs=("conv",)),
        Node(name="act", op=Activation(kind="relu6"), inputs=("bn",)),
    )
    return Graph(nodes=nodes, input_shape=(c_in, 7, 7)), conv, bn


@pytest.mark.parametrize("groups", [1, 4])
def test_folded_batchnorm_equals_the_unfused_computation(groups):
    rng = np.random.default_rng(np.random.SeedSequence(8))
    graph, _, bn = _conv_bn_graph(rng, groups)
    images = rng.normal(size=(3, 4, 7, 7))
    # unfused reference: convolution, then (y - mean) / sqrt(var + eps) * gamma + beta
    y = run_float(Graph(nodes=graph.nodes[:1], input_shape=graph.input_shape), images, dtype=np.float64)
    expected = np.clip((y - bn.mean) / np.sqrt(bn.var + bn.eps) * bn.gamma + bn.beta, 0, 6)
    folded = fold_batchnorm(graph)
    assert [type(n.op).__name__ for n in folded.nodes] == ["Conv2d", "Activation"]
    np.testing.assert_allclose(run_float(folded, images, dtype=np.float64), expected, atol=1e-10)


def test_activation_is_fused_into_the_folded_convolution():
    rng = np.random.default_rng(np.random.SeedSequence(9))
    graph, _, _ = _conv_bn_graph(rng)
    prepared = prepare_for_quantization(graph)
    assert len(prepared.nodes) == 1
    assert prepared.nodes[0].op.activation == "relu6"
    assert prepared.output == "conv"
    images = rng.normal(size=(2, 4, 7, 7))
    np.testing.assert_allclose(
        run_float(prepared, images, dtype=np.float64), run_float(graph, images, dtype=np.float64), atol=1e-10
    )


def test_activation_after_a_shared_tensor_is_not_fused():
    rng = np.random.default_rng(np.random.SeedSequence(10))
    conv = Conv2d(weight=rng.normal(size=(2, 2, 1, 1)))
    graph = Graph(
        nodes=(
            Node(name="conv", op=conv, inputs=(INPUT,)),
            Node(name="relu", op=Activation(kind="relu"), inputs=("conv",)),
            Node(name="add", op=Add(), inputs=("conv", "relu")),
        ),
        input_shape=(2, 3, 3),
    )
    assert len(fuse_activations(graph).nodes) == 3


def test_batchnorm_without_a_convolution_cannot_be_folded():
    graph = Graph(
        nodes=(
            Node(
                name="bn",
                inputs=(INPUT,),
                op=BatchNorm(gamma=np.ones(2), beta=np.zeros(2), mean=np.zeros(2), var=np.ones(2)),
            ),
        ),
        input_shape=(2, 3, 3),
    )
    with pytest.raises(
        ConfigError,
        match=r"^batchnorm 'bn': cannot be folded; it must "
        r"directly follow a convolution used by nothing else$",
    ):
        fold_batchnorm(graph)


def test_graph_rejects_a_node_reading_a_later_tensor():
    with pytest.raises(ConfigError, match=r"^graph: node 'pool' reads 'fc' before it is computed$"):
        Graph(
            nodes=(
                Node(name="pool", op=GlobalAvgPool(), inputs=("fc",)),
                Node(name="fc", op=Linear(weight=np.ones((2, 2))), inputs=("pool",)),
            ),
            input_shape=(2, 3, 3),
        )


def test_float_run_rejects_images_of_the_wrong_shape():
    graph = Graph(nodes=(Node(name="pool", op=GlobalAvgPool(), inputs=(INPUT,)),), input_shape=(1, 28, 28))
    with pytest.raises(
        ConfigError,
        match=r"^images: shape \(2, 3, 28, 28\) does not match "
        r"the model input \(N, 1, 28, 28\)$",
    ):
        run_float(graph, np.zeros((2, 3, 28, 28)))
