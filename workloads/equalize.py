"""Equalising the channels of tensors that only a depthwise convolution reads.

Activations are quantised per tensor, so a channel whose values span a small range gets
few codes (MobileNetV2's stem and expansion outputs span 0.02 to 6 across channels).
When the only reader of a tensor is a depthwise convolution, its channels can be
rescaled for free: divide output channel c of the producing convolution (weights, bias
and ReLU6 ceiling) by ``s_c`` and multiply the depthwise filter of channel c by ``s_c``.
The float network computes exactly the same function (ReLU6 becomes a clamp at
``6 / s_c``, kept per channel by the engine), and since both convolutions are quantised
per output channel the rescaling changes none of their weight codes' relative precision:
only the shared activation scale improves. This is cross-layer equalisation (Nagel et
al., "Data-Free Quantization Through Weight Equalization and Bias Correction", ICCV
2019; Nagel et al., "A White Paper on Neural Network Quantization", 2021, section 4.1)
with the scales chosen from the calibration images' channel ranges, ``s_c = r_c / max_j
r_j``, instead of from weight ranges, and with per-channel ReLU6 ceilings instead of
replacing ReLU6 by ReLU (which changes the float model).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .graph import Conv2d, Graph, Node

__all__ = ["MIN_CHANNEL_SCALE", "depthwise_inputs", "equalize_depthwise_inputs"]

MIN_CHANNEL_SCALE = 2.0**-12
"""Smallest channel scale relative to the widest channel (a near-dead channel is not blown up further)."""


def _is_depthwise(op: object, channels: int) -> bool:
    return isinstance(op, Conv2d) and op.groups == channels and op.weight.shape[1] == 1


def depthwise_inputs(graph: Graph) -> dict[str, str]:
    """Convolutions whose output only a depthwise convolution reads: producer -> depthwise reader.

    Parameters
    ----------
    graph : Graph
        Batch norms folded, activations fused (ReLU6 or ReLU or none after the producer).
    """
    consumers = graph.consumers()
    by_name = {node.name: node for node in graph.nodes}
    pairs = {}
    for node in graph.nodes:
        if not isinstance(node.op, Conv2d):
            continue
        readers = consumers[node.name]
        if len(readers) != 1 or readers[0] not in by_name:
            continue
        reader = by_name[readers[0]]
        if _is_depthwise(reader.op, node.op.weight.shape[0]):
            pairs[node.name] = reader.name
    return pairs


def equalize_depthwise_inputs(graph: Graph, channel_peaks: dict[str, np.ndarray]) -> Graph:
    """Rescale the channels of every tensor read only by a depthwise convolution.

    Parameters
    ----------
    graph : Graph
        Batch norms folded and activations fused.
    channel_peaks : dict of str to ndarray of float, shape (C,)
        For every producer of :func:`depthwise_inputs`, the largest |value| of each of
        its output channels over the calibration images.

    Returns
    -------
    Graph
        The same function (up to float rounding): producer channel c divided by
        ``s_c = max(peak_c / max(peak), MIN_CHANNEL_SCALE)`` (1 for a channel that was
        always 0), the depthwise filter of channel c multiplied by ``s_c``.
    """
    nodes: dict[str, Node] = {node.name: node for node in graph.nodes}
    for producer, reader in depthwise_inputs(graph).items():
        peaks = np.asarray(channel_peaks[producer], dtype=np.float64)
        if peaks.max() <= 0:
            continue
        scales = np.where(peaks > 0, np.maximum(peaks / peaks.max(), MIN_CHANNEL_SCALE), 1.0)
        source = nodes[producer].op
        target = nodes[reader].op
        assert isinstance(source, Conv2d) and isinstance(target, Conv2d)
        ceiling = None
        if source.activation == "relu6":
            ceiling = (6.0 if source.ceiling is None else source.ceiling) / scales
        bias = None if source.bias is None else np.asarray(source.bias, np.float64) / scales
        nodes[producer] = replace(
            nodes[producer],
            op=replace(
                source,
                weight=np.asarray(source.weight, np.float64) / scales[:, None, None, None],
                bias=bias,
                ceiling=ceiling,
            ),
        )
        per_output = target.weight.shape[0] // target.groups
        reader_scales = np.repeat(scales, per_output)
        nodes[reader] = replace(
            nodes[reader],
            op=replace(target, weight=np.asarray(target.weight, np.float64) * reader_scales[:, None, None, None]),
        )
    ordered = tuple(nodes[node.name] for node in graph.nodes)
    return Graph(nodes=ordered, input_shape=graph.input_shape, output=graph.output)
