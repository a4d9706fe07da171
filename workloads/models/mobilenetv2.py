"""MobileNetV2 (Sandler et al. 2018) as a float :class:`workloads.graph.Graph`.

The parameter names follow torchvision's ``mobilenet_v2`` state dict, so the same
builder takes torchvision's ImageNet weights and the bundled ``tinymnv2`` weights:

* ``features.0.0`` conv 3x3 / ``features.0.1`` batch norm (stem, ReLU6);
* block ``features.i.conv``: with expansion, ``0.0``/``0.1`` expand 1x1 conv + BN
  (ReLU6), ``1.0``/``1.1`` depthwise 3x3 + BN (ReLU6), ``2`` project 1x1 conv, ``3``
  BN (no activation: linear bottleneck); without expansion, ``0.*`` depthwise, ``1``
  project, ``2`` BN; a residual add when stride is 1 and channels are kept;
* ``features.B+1.0``/``.1`` last 1x1 conv + BN (ReLU6), global average pooling,
  ``classifier.1`` linear (``classifier.0`` is dropout, absent at inference).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pe_models.errors import ConfigError

from ..graph import (
    INPUT,
    Activation,
    Add,
    BatchNorm,
    Conv2d,
    GlobalAvgPool,
    Graph,
    Linear,
    Node,
)
from .architecture import MobileNetV2Config

__all__ = ["build_mobilenetv2", "check_parameters", "expected_parameter_shapes"]

BN_EPS = 1e-5


def _conv_specs(config: MobileNetV2Config) -> list[tuple[str, tuple[int, ...], bool]]:
    """(prefix, conv weight shape, followed by ReLU6) for every conv, in order."""
    specs: list[tuple[str, tuple[int, ...], bool]] = [
        ("features.0.0", (config.stem_channels, config.in_channels, 3, 3), True)
    ]
    blocks = config.block_list()
    for index, (c_in, c_out, _, expansion) in enumerate(blocks, start=1):
        hidden = c_in * expansion
        prefix = f"features.{index}.conv"
        if expansion != 1:
            specs.append((f"{prefix}.0.0", (hidden, c_in, 1, 1), True))
            specs.append((f"{prefix}.1.0", (hidden, 1, 3, 3), True))
            specs.append((f"{prefix}.2", (c_out, hidden, 1, 1), False))
        else:
            specs.append((f"{prefix}.0.0", (hidden, 1, 3, 3), True))
            specs.append((f"{prefix}.1", (c_out, hidden, 1, 1), False))
    last = len(blocks) + 1
    specs.append((f"features.{last}.0", (config.last_channels, blocks[-1][1], 1, 1), True))
    return specs


def _bn_name(conv_name: str) -> str:
    head, _, tail = conv_name.rpartition(".")
    return f"{head}.{int(tail) + 1}"


def expected_parameter_shapes(config: MobileNetV2Config) -> dict[str, tuple[int, ...]]:
    """Every parameter the builder needs, with its shape (torchvision key names)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for conv, shape, _ in _conv_specs(config):
        shapes[f"{conv}.weight"] = shape
        bn = _bn_name(conv)
        for suffix in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{bn}.{suffix}"] = (shape[0],)
    shapes["classifier.1.weight"] = (config.num_classes, config.last_channels)
    shapes["classifier.1.bias"] = (config.num_classes,)
    return shapes


def check_parameters(parameters: Mapping[str, np.ndarray], config: MobileNetV2Config, source: str) -> None:
    """Raise ConfigError naming `source` and the array if a parameter is missing or misshapen."""
    for key, shape in expected_parameter_shapes(config).items():
        if key not in parameters:
            raise ConfigError(f"{source}: array {key!r} is missing")
        actual = tuple(np.shape(parameters[key]))
        if actual != shape:
            raise ConfigError(f"{source}: array {key!r} has shape {actual}; expected {shape}")
        if not np.all(np.isfinite(parameters[key])):
            raise ConfigError(f"{source}: array {key!r} has non-finite values")


def build_mobilenetv2(
    config: MobileNetV2Config, parameters: Mapping[str, np.ndarray], *, source: str = "weights"
) -> Graph:
    """The float graph of `config` with `parameters` (torchvision state-dict names).

    Parameters
    ----------
    config : MobileNetV2Config
    parameters : mapping of str to ndarray
        Must hold :func:`expected_parameter_shapes` (extra keys are ignored).
    source : str
        File name used in error messages.

    Returns
    -------
    Graph
        Convolutions followed by separate batch-norm and ReLU6 nodes.
    """
    check_parameters(parameters, config, source)

    def array(key: str) -> np.ndarray:
        return np.asarray(parameters[key], dtype=np.float32)

    nodes: list[Node] = []

    def conv_bn(conv: str, source_name: str, stride: int, groups: int, relu6: bool) -> str:
        weight = array(f"{conv}.weight")
        pad = weight.shape[2] // 2
        nodes.append(
            Node(
                name=conv,
                inputs=(source_name,),
                op=Conv2d(weight=weight, stride=(stride, stride), padding=(pad, pad, pad, pad), groups=groups),
            )
        )
        bn = _bn_name(conv)
        nodes.append(
            Node(
                name=bn,
                inputs=(conv,),
                op=BatchNorm(
                    gamma=array(f"{bn}.weight"),
                    beta=array(f"{bn}.bias"),
                    mean=array(f"{bn}.running_mean"),
                    var=array(f"{bn}.running_var"),
                    eps=BN_EPS,
                ),
            )
        )
        if not relu6:
            return bn
        nodes.append(Node(name=f"{bn}.relu6", inputs=(bn,), op=Activation(kind="relu6")))
        return f"{bn}.relu6"

    current = conv_bn("features.0.0", INPUT, config.stem_stride, 1, True)
    blocks = config.block_list()
    for index, (c_in, c_out, stride, expansion) in enumerate(blocks, start=1):
        prefix = f"features.{index}.conv"
        hidden = c_in * expansion
        block_input = current
        position = 0
        if expansion != 1:
            current = conv_bn(f"{prefix}.0.0", current, 1, 1, True)
            position = 1
        current = conv_bn(f"{prefix}.{position}.0", current, stride, hidden, True)
        current = conv_bn(f"{prefix}.{position + 1}", current, 1, 1, False)
        if stride == 1 and c_in == c_out:
            nodes.append(Node(name=f"features.{index}.add", inputs=(block_input, current), op=Add()))
            current = f"features.{index}.add"
    current = conv_bn(f"features.{len(blocks) + 1}.0", current, 1, 1, True)
    nodes.append(Node(name="pool", inputs=(current,), op=GlobalAvgPool()))
    nodes.append(
        Node(
            name="classifier.1",
            inputs=("pool",),
            op=Linear(weight=array("classifier.1.weight"), bias=array("classifier.1.bias")),
        )
    )
    return Graph(nodes=tuple(nodes), input_shape=(config.in_channels, config.input_size, config.input_size))
