"""The float network graph that models are built into and the int8 engine quantises.

A :class:`Graph` is a topologically ordered tuple of :class:`Node`; each node applies
one operator to the outputs of earlier nodes (or to the graph input, named
``"input"``). Images enter as ``(N, C, H, W)`` float; inside, tensors are NHWC.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from pe_models.errors import ConfigError

from . import ops

__all__ = [
    "ACTIVATIONS",
    "INPUT",
    "Activation",
    "Add",
    "AvgPool",
    "BatchNorm",
    "Conv2d",
    "Flatten",
    "GlobalAvgPool",
    "Graph",
    "Linear",
    "MaxPool",
    "Node",
    "check_images",
    "fold_batchnorm",
    "fuse_activations",
    "prepare_for_quantization",
    "run_float",
]

INPUT = "input"
ACTIVATIONS = ("relu", "relu6")


def _check_activation(activation: str | None) -> None:
    if activation is not None and activation not in ACTIVATIONS:
        raise ConfigError(f"activation: {activation!r} is unknown; allowed: {', '.join(ACTIVATIONS)}")


@dataclass(frozen=True, kw_only=True, eq=False)
class Conv2d:
    """2-D convolution; grouped when ``groups > 1`` (depthwise when groups == C_in).

    Attributes
    ----------
    weight : ndarray of float, shape (C_out, C_in / groups, kh, kw)
    bias : ndarray of float, shape (C_out,), or None
    stride : (int, int)
    padding : (top, left, bottom, right)
    groups : int
    activation : {None, "relu", "relu6"}
        Activation fused after the convolution.
    ceiling : ndarray of float, shape (C_out,), or None
        Per-output-channel upper clamp of a ``relu6`` activation, replacing 6 (set by
        :func:`workloads.equalize.equalize_depthwise_inputs`, which rescales channels).
    """

    weight: np.ndarray
    bias: np.ndarray | None = None
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)
    groups: int = 1
    activation: str | None = None
    ceiling: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.weight.ndim != 4:
            raise ConfigError(f"conv weight: shape {self.weight.shape} is not 4-D")
        if self.groups < 1 or self.weight.shape[0] % self.groups:
            raise ConfigError(f"conv groups: {self.groups} does not divide {self.weight.shape[0]} outputs")
        if self.bias is not None and self.bias.shape != (self.weight.shape[0],):
            raise ConfigError(f"conv bias: shape {self.bias.shape} != ({self.weight.shape[0]},)")
        if min(self.stride) < 1 or min(self.padding) < 0:
            raise ConfigError(f"conv: stride {self.stride} / padding {self.padding} invalid")
        _check_activation(self.activation)
        if self.ceiling is not None:
            if self.activation != "relu6":
                raise ConfigError(f"conv ceiling: needs a relu6 activation, got {self.activation!r}")
            if self.ceiling.shape != (self.weight.shape[0],) or not np.all(self.ceiling > 0):
                raise ConfigError(f"conv ceiling: expected {self.weight.shape[0]} values > 0")

    @property
    def kernel(self) -> tuple[int, int]:
        return self.weight.shape[2], self.weight.shape[3]


@dataclass(frozen=True, kw_only=True, eq=False)
class Linear:
    """Fully connected layer ``y = x @ weight.T + bias`` on (N, in) tensors."""

    weight: np.ndarray
    bias: np.ndarray | None = None
    activation: str | None = None

    def __post_init__(self) -> None:
        if self.weight.ndim != 2:
            raise ConfigError(f"linear weight: shape {self.weight.shape} is not 2-D")
        if self.bias is not None and self.bias.shape != (self.weight.shape[0],):
            raise ConfigError(f"linear bias: shape {self.bias.shape} != ({self.weight.shape[0]},)")
        _check_activation(self.activation)


@dataclass(frozen=True, kw_only=True, eq=False)
class BatchNorm:
    """Inference batch norm ``(x - mean) / sqrt(var + eps) * gamma + beta`` per channel."""

    gamma: np.ndarray
    beta: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    eps: float = 1e-5

    def __post_init__(self) -> None:
        shapes = {a.shape for a in (self.gamma, self.beta, self.mean, self.var)}
        if len(shapes) != 1 or len(next(iter(shapes))) != 1:
            raise ConfigError(f"batchnorm: parameter shapes {sorted(shapes)} differ")
        if np.any(self.var + self.eps <= 0):
            raise ConfigError("batchnorm: var + eps must be > 0")


@dataclass(frozen=True, kw_only=True)
class Activation:
    """Standalone ReLU or ReLU6."""

    kind: str

    def __post_init__(self) -> None:
        if self.kind not in ACTIVATIONS:
            raise ConfigError(f"activation: {self.kind!r} is unknown; allowed: {', '.join(ACTIVATIONS)}")


@dataclass(frozen=True, kw_only=True)
class Add:
    """Element-wise sum of two tensors of the same shape (residual connection)."""


@dataclass(frozen=True, kw_only=True)
class MaxPool:
    """Max pooling over ``kernel`` windows."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)


@dataclass(frozen=True, kw_only=True)
class AvgPool:
    """Average pooling over ``kernel`` windows."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)
    count_include_pad: bool = True


@dataclass(frozen=True, kw_only=True)
class GlobalAvgPool:
    """Mean over all spatial positions: (N, H, W, C) -> (N, C)."""


@dataclass(frozen=True, kw_only=True)
class Flatten:
    """(N, H, W, C) -> (N, C * H * W) in (C, H, W) order, as NCHW frameworks flatten."""


Operator = Conv2d | Linear | BatchNorm | Activation | Add | MaxPool | AvgPool | GlobalAvgPool | Flatten


@dataclass(frozen=True, kw_only=True)
class Node:
    """One operator applied to the outputs of earlier nodes (by name)."""

    name: str
    op: Operator
    inputs: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Graph:
    """A network: nodes in execution order, its input shape and its output node.

    Attributes
    ----------
    nodes : tuple of Node
    input_shape : (C, H, W)
    output : str
        Name of the node whose value is the network output (N, classes).
    """

    nodes: tuple[Node, ...]
    input_shape: tuple[int, int, int]
    output: str = field(default="")

    def __post_init__(self) -> None:
        known = {INPUT}
        for node in self.nodes:
            if node.name in known:
                raise ConfigError(f"graph: node name {node.name!r} is used twice")
            arity = 2 if isinstance(node.op, Add) else 1
            if len(node.inputs) != arity:
                raise ConfigError(f"graph: node {node.name!r} has {len(node.inputs)} inputs; needs {arity}")
            for name in node.inputs:
                if name not in known:
                    raise ConfigError(f"graph: node {node.name!r} reads {name!r} before it is computed")
            known.add(node.name)
        if not self.output:
            object.__setattr__(self, "output", self.nodes[-1].name if self.nodes else INPUT)
        if self.output not in known:
            raise ConfigError(f"graph: output {self.output!r} is not a node")

    def consumers(self) -> dict[str, list[str]]:
        """For every tensor name, the nodes that read it."""
        result: dict[str, list[str]] = {INPUT: []}
        for node in self.nodes:
            result.setdefault(node.name, [])
            for name in node.inputs:
                result[name].append(node.name)
        result[self.output].append("<output>")
        return result


def _rename_inputs(nodes: list[Node], renames: dict[str, str]) -> list[Node]:
    return [replace(n, inputs=tuple(renames.get(i, i) for i in n.inputs)) for n in nodes]


def fold_batchnorm(graph: Graph) -> Graph:
    """Fold every batch norm into the convolution that feeds it.

    ``w' = w * gamma / sqrt(var + eps)`` per output channel and
    ``b' = (b - mean) * gamma / sqrt(var + eps) + beta``. The folded convolution keeps
    the convolution's name.

    Raises
    ------
    ConfigError
        A batch norm is not fed by a convolution used by nothing else.
    """
    consumers = graph.consumers()
    by_name = {node.name: node for node in graph.nodes}
    folded: dict[str, Node] = {}
    renames: dict[str, str] = {}
    for node in graph.nodes:
        if not isinstance(node.op, BatchNorm):
            continue
        source = by_name.get(node.inputs[0])
        if (
            source is None
            or not isinstance(source.op, Conv2d)
            or source.op.activation is not None
            or len(consumers[source.name]) != 1
        ):
            raise ConfigError(
                f"batchnorm {node.name!r}: cannot be folded; it must directly follow a convolution used by nothing else"
            )
        bn = node.op
        factor = bn.gamma.astype(np.float64) / np.sqrt(bn.var.astype(np.float64) + bn.eps)
        if factor.shape[0] != source.op.weight.shape[0]:
            raise ConfigError(
                f"batchnorm {node.name!r}: {factor.shape[0]} channels after a convolution "
                f"with {source.op.weight.shape[0]}"
            )
        bias = np.zeros(factor.shape) if source.op.bias is None else source.op.bias
        weight = source.op.weight.astype(np.float64) * factor[:, None, None, None]
        new_bias = (bias.astype(np.float64) - bn.mean) * factor + bn.beta
        folded[source.name] = replace(source, op=replace(source.op, weight=weight, bias=new_bias))
        renames[node.name] = source.name
    nodes = [folded.get(n.name, n) for n in graph.nodes if not isinstance(n.op, BatchNorm)]
    return Graph(
        nodes=tuple(_rename_inputs(nodes, renames)),
        input_shape=graph.input_shape,
        output=renames.get(graph.output, graph.output),
    )


def fuse_activations(graph: Graph) -> Graph:
    """Merge each ReLU/ReLU6 into the convolution or linear layer it solely follows."""
    consumers = graph.consumers()
    by_name = {node.name: node for node in graph.nodes}
    fused: dict[str, Node] = {}
    renames: dict[str, str] = {}
    removed: set[str] = set()
    for node in graph.nodes:
        if not isinstance(node.op, Activation):
            continue
        source = by_name.get(node.inputs[0])
        if (
            source is not None
            and isinstance(source.op, Conv2d | Linear)
            and source.op.activation is None
            and len(consumers[source.name]) == 1
        ):
            fused[source.name] = replace(source, op=replace(source.op, activation=node.op.kind))
            renames[node.name] = source.name
            removed.add(node.name)
    nodes = [fused.get(n.name, n) for n in graph.nodes if n.name not in removed]
    return Graph(
        nodes=tuple(_rename_inputs(nodes, renames)),
        input_shape=graph.input_shape,
        output=renames.get(graph.output, graph.output),
    )


def prepare_for_quantization(graph: Graph) -> Graph:
    """Batch norms folded, activations fused: the graph the int8 engine quantises."""
    return fuse_activations(fold_batchnorm(graph))


def _activate(x: np.ndarray, kind: str | None, ceiling: np.ndarray | None = None) -> np.ndarray:
    if kind == "relu":
        return np.maximum(x, 0)
    if kind == "relu6":
        return np.clip(x, 0, 6 if ceiling is None else ceiling.astype(x.dtype))
    return x


def _float_node(op: Operator, args: list[np.ndarray], dtype) -> np.ndarray:
    x = args[0]
    if isinstance(op, Conv2d):
        out = ops.float_conv2d(x, op.weight.astype(dtype), op.bias, op.stride, op.padding, op.groups)
        return _activate(out, op.activation, op.ceiling)
    if isinstance(op, Linear):
        out = x @ op.weight.astype(dtype).T
        if op.bias is not None:
            out = out + op.bias.astype(dtype)
        return _activate(out, op.activation)
    if isinstance(op, BatchNorm):
        factor = (op.gamma / np.sqrt(op.var + op.eps)).astype(dtype)
        return (x - op.mean.astype(dtype)) * factor + op.beta.astype(dtype)
    if isinstance(op, Activation):
        return _activate(x, op.kind)
    if isinstance(op, Add):
        return args[0] + args[1]
    if isinstance(op, MaxPool):
        return ops.max_pool(x, op.kernel, op.stride, op.padding)
    if isinstance(op, AvgPool):
        return ops.avg_pool(x, op.kernel, op.stride, op.padding, count_include_pad=op.count_include_pad).astype(dtype)
    if isinstance(op, GlobalAvgPool):
        return x.mean(axis=(1, 2))
    if isinstance(op, Flatten):
        return x.transpose(0, 3, 1, 2).reshape(x.shape[0], -1) if x.ndim == 4 else x
    raise TypeError(f"unknown operator {type(op).__name__}")


def check_images(graph: Graph, images: np.ndarray) -> None:
    """Raise ConfigError unless `images` is (N, C, H, W) matching the graph's input."""
    if images.ndim != 4 or tuple(images.shape[1:]) != tuple(graph.input_shape):
        raise ConfigError(
            f"images: shape {tuple(images.shape)} does not match the model input "
            f"(N, {', '.join(map(str, graph.input_shape))})"
        )


def run_float(
    graph: Graph,
    images: np.ndarray,
    *,
    dtype=np.float32,
    observer: Callable[[str, np.ndarray], None] | None = None,
) -> np.ndarray:
    """Float forward pass.

    Parameters
    ----------
    graph : Graph
    images : ndarray of float, shape (N, C, H, W)
    dtype : numpy float type
        Arithmetic precision (float32 default; float64 for references).
    observer : callable, optional
        Called as ``observer(name, value)`` with the graph input and every node output.

    Returns
    -------
    ndarray of `dtype`
        The output node's value, e.g. logits (N, classes).
    """
    check_images(graph, images)
    values = {INPUT: np.ascontiguousarray(images.transpose(0, 2, 3, 1), dtype=dtype)}
    if observer is not None:
        observer(INPUT, values[INPUT])
    remaining = graph.consumers()
    for node in graph.nodes:
        values[node.name] = _float_node(node.op, [values[i] for i in node.inputs], dtype)
        if observer is not None:
            observer(node.name, values[node.name])
        for name in node.inputs:
            remaining[name].remove(node.name)
            if not remaining[name]:
                del values[name]
    return values[graph.output]
