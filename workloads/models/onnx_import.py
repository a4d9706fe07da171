"""Import a float ONNX model into a :class:`workloads.graph.Graph` (optional ``onnx`` extra).

Supported operators: Conv (any groups, no dilation), BatchNormalization (folded later),
Gemm, MatMul (constant right operand, optionally followed by an Add of a constant bias),
Relu, Clip (to [0, 6] or [0, inf)), Add (of two computed tensors), MaxPool,
AveragePool, GlobalAveragePool, Flatten, Reshape (to ``(N, -1)``), Identity, Dropout.
The model has one image input ``(N, C, H, W)`` and one output. Anything else is a
:class:`ConfigError` naming the operator and the node.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

import numpy as np

from pe_models.errors import ConfigError

from ..graph import (
    INPUT,
    Activation,
    Add,
    AvgPool,
    BatchNorm,
    Conv2d,
    Flatten,
    GlobalAvgPool,
    Graph,
    Linear,
    MaxPool,
    Node,
)

__all__ = ["SUPPORTED_OPERATORS", "graph_from_onnx", "load_onnx"]

SUPPORTED_OPERATORS = (
    "Add",
    "AveragePool",
    "BatchNormalization",
    "Clip",
    "Constant",
    "Conv",
    "Dropout",
    "Flatten",
    "Gemm",
    "GlobalAveragePool",
    "Identity",
    "MatMul",
    "MaxPool",
    "Relu",
    "Reshape",
)


def load_onnx(path: str | PathLike[str]) -> Graph:
    """Read and convert an ONNX file.

    Raises
    ------
    ConfigError
        onnx not installed, unreadable or damaged file (one line, whatever the bytes),
        external data outside the model's folder, unsupported operator or attribute.
    """
    try:
        import onnx
    except ImportError:
        raise ConfigError("model: reading ONNX needs the 'onnx' extra (pip install onnx)") from None
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"model: {path} does not exist")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as error:  # protobuf raises its own DecodeError types
        raise ConfigError(f"{path}: not a readable ONNX model ({type(error).__name__})") from None
    _load_external_data(model, path)
    try:
        return graph_from_onnx(model, source=str(path))
    except ConfigError as error:
        if str(error).startswith(f"{path}: "):
            raise
        raise ConfigError(f"{path}: {error}") from None  # a layer's own check, e.g. "conv groups: ..."
    except Exception as error:  # a damaged file: tensors whose data do not fit their shape, missing attributes
        reason = " ".join(str(error).split())[:100] or type(error).__name__
        raise ConfigError(f"{path}: not a valid ONNX model ({type(error).__name__}: {reason})") from None


def _load_external_data(model, path: Path) -> None:
    """Read the initializers kept in files beside the model, each a plain file inside its folder.

    ``onnx.load`` would follow any ``location`` a model names (older onnx releases even
    ``../`` and absolute paths); here every location is checked first: relative, no ``..``,
    resolving (symbolic links included) to a regular file inside the model's folder, and
    the ``offset``/``length`` it declares within that file.
    """
    from onnx import TensorProto

    folder = path.resolve().parent
    for tensor in model.graph.initializer:
        if tensor.data_location != TensorProto.EXTERNAL:
            continue
        entries = {entry.key: entry.value for entry in tensor.external_data}
        name = entries.get("location", "")
        label = f"{path}: initializer {tensor.name!r}: external data {name!r}"
        location = Path(name)
        if not name or location.is_absolute() or ".." in location.parts:
            raise ConfigError(f"{label} is not a file name inside {folder}")
        target = (folder / location).resolve()
        if not target.is_relative_to(folder) or not target.is_file():
            raise ConfigError(f"{label} is not a file inside {folder}")
        size = target.stat().st_size
        try:
            offset = int(entries.get("offset") or 0)
            length = int(entries.get("length") or size - offset)
        except ValueError:
            raise ConfigError(f"{label}: offset/length are not integers") from None
        if offset < 0 or length < 0 or offset + length > size:
            raise ConfigError(f"{label}: bytes {offset}..{offset + length} lie outside its {size} bytes")
        with target.open("rb") as handle:
            handle.seek(offset)
            tensor.raw_data = handle.read(length)
        tensor.data_location = TensorProto.DEFAULT
        del tensor.external_data[:]


def _attributes(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _pads(attrs: dict, source: str, label: str) -> tuple[int, int, int, int]:
    if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
        raise ConfigError(f"{source}: {label}: auto_pad {attrs['auto_pad']!r} is not supported; give explicit pads")
    pads = list(attrs.get("pads", [0, 0, 0, 0]))
    if len(pads) != 4:
        raise ConfigError(f"{source}: {label}: pads {pads} are not 2-D")
    top, left, bottom, right = (int(p) for p in pads)
    return top, left, bottom, right


def _pair(values, source: str, label: str, what: str) -> tuple[int, int]:
    pair = tuple(int(v) for v in values)
    if len(pair) != 2:
        raise ConfigError(f"{source}: {label}: {what} {list(pair)} are not 2-D")
    return pair[0], pair[1]


def graph_from_onnx(model, *, source: str = "model.onnx") -> Graph:
    """Convert a loaded ``onnx.ModelProto`` (float, NCHW image input) to a Graph."""
    from onnx import numpy_helper

    graph = model.graph
    constants = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    inputs = [i for i in graph.input if i.name not in constants]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise ConfigError(f"{source}: needs exactly one image input and one output")
    dims = [d.dim_value for d in inputs[0].type.tensor_type.shape.dim]
    if len(dims) != 4 or min(dims[1:]) < 1:
        raise ConfigError(f"{source}: input {inputs[0].name!r} must be (N, C, H, W) with fixed C, H, W; got {dims}")
    tensors = {inputs[0].name: INPUT}
    nodes: list[Node] = []
    by_name: dict[str, Node] = {}

    def add(name: str, op, sources: tuple[str, ...], output: str) -> None:
        node = Node(name=name, op=op, inputs=sources)
        nodes.append(node)
        by_name[name] = node
        tensors[output] = name

    def tensor(name: str, label: str) -> str:
        if name not in tensors:
            raise ConfigError(f"{source}: {label}: input {name!r} is not a computed tensor")
        return tensors[name]

    def constant(name: str, label: str) -> np.ndarray:
        if name not in constants:
            raise ConfigError(f"{source}: {label}: input {name!r} must be a constant")
        return np.asarray(constants[name], dtype=np.float64)

    for index, onnx_node in enumerate(graph.node):
        op_type = onnx_node.op_type
        name = onnx_node.name or f"{op_type.lower()}_{index}"
        label = f"node {name!r} ({op_type})"
        attrs = _attributes(onnx_node)
        output = onnx_node.output[0] if onnx_node.output else name
        if op_type not in SUPPORTED_OPERATORS:
            raise ConfigError(
                f"{source}: operator {op_type!r} (node {name!r}) is not supported; allowed: "
                f"{', '.join(SUPPORTED_OPERATORS)}"
            )
        if op_type == "Constant":
            constants[output] = numpy_helper.to_array(attrs["value"])
        elif op_type in ("Identity", "Dropout"):
            tensors[output] = tensor(onnx_node.input[0], label)
        elif op_type == "Conv":
            weight = constant(onnx_node.input[1], label)
            bias = constant(onnx_node.input[2], label) if len(onnx_node.input) > 2 and onnx_node.input[2] else None
            if any(d != 1 for d in attrs.get("dilations", [1, 1])):
                raise ConfigError(f"{source}: {label}: dilation is not supported")
            stride = _pair(attrs.get("strides", [1, 1]), source, label, "strides")
            add(
                name,
                Conv2d(
                    weight=weight,
                    bias=bias,
                    stride=stride,
                    padding=_pads(attrs, source, label),
                    groups=int(attrs.get("group", 1)),
                ),
                (tensor(onnx_node.input[0], label),),
                output,
            )
        elif op_type == "BatchNormalization":
            gamma, beta, mean, var = (constant(n, label) for n in onnx_node.input[1:5])
            add(
                name,
                BatchNorm(gamma=gamma, beta=beta, mean=mean, var=var, eps=float(attrs.get("epsilon", 1e-5))),
                (tensor(onnx_node.input[0], label),),
                output,
            )
        elif op_type == "Gemm":
            if attrs.get("transA", 0):
                raise ConfigError(f"{source}: {label}: transA=1 is not supported")
            weight = constant(onnx_node.input[1], label) * float(attrs.get("alpha", 1.0))
            weight = weight if attrs.get("transB", 0) else weight.T
            bias = None
            if len(onnx_node.input) > 2 and onnx_node.input[2]:
                bias = np.broadcast_to(
                    constant(onnx_node.input[2], label) * float(attrs.get("beta", 1.0)), weight.shape[:1]
                ).copy()
            add(name, Linear(weight=weight, bias=bias), (tensor(onnx_node.input[0], label),), output)
        elif op_type == "MatMul":
            weight = constant(onnx_node.input[1], label)
            if weight.ndim != 2:
                raise ConfigError(f"{source}: {label}: only 2-D constant right operands")
            add(name, Linear(weight=weight.T), (tensor(onnx_node.input[0], label),), output)
        elif op_type == "Add":
            left, right = onnx_node.input[0], onnx_node.input[1]
            if left in constants or right in constants:
                value_name, bias_name = (right, left) if left in constants else (left, right)
                target = by_name.get(tensor(value_name, label))
                if target is None or not isinstance(target.op, Linear) or target.op.bias is not None:
                    raise ConfigError(f"{source}: {label}: adding a constant is only supported as the bias of a MatMul")
                bias = np.broadcast_to(constant(bias_name, label), target.op.weight.shape[:1]).copy()
                updated = Node(name=target.name, inputs=target.inputs, op=Linear(weight=target.op.weight, bias=bias))
                nodes[nodes.index(target)] = updated
                by_name[target.name] = updated
                tensors[output] = target.name
            else:
                add(name, Add(), (tensor(left, label), tensor(right, label)), output)
        elif op_type == "Relu":
            add(name, Activation(kind="relu"), (tensor(onnx_node.input[0], label),), output)
        elif op_type == "Clip":
            low = attrs.get("min")
            high = attrs.get("max")
            if len(onnx_node.input) > 1 and onnx_node.input[1]:
                low = float(constant(onnx_node.input[1], label))
            if len(onnx_node.input) > 2 and onnx_node.input[2]:
                high = float(constant(onnx_node.input[2], label))
            if low == 0 and high == 6:
                kind = "relu6"
            elif low == 0 and (high is None or np.isinf(high)):
                kind = "relu"
            else:
                raise ConfigError(
                    f"{source}: {label}: Clip({low}, {high}) is not supported; allowed: Clip(0, 6) and Clip(0, inf)"
                )
            add(name, Activation(kind=kind), (tensor(onnx_node.input[0], label),), output)
        elif op_type in ("MaxPool", "AveragePool"):
            if attrs.get("ceil_mode", 0) or any(d != 1 for d in attrs.get("dilations", [1, 1])):
                raise ConfigError(f"{source}: {label}: ceil_mode and dilation are not supported")
            kernel = _pair(attrs["kernel_shape"], source, label, "kernel_shape")
            stride = _pair(attrs.get("strides", [1, 1]), source, label, "strides")
            pads = _pads(attrs, source, label)
            op = (
                MaxPool(kernel=kernel, stride=stride, padding=pads)
                if op_type == "MaxPool"
                else AvgPool(
                    kernel=kernel,
                    stride=stride,
                    padding=pads,
                    count_include_pad=bool(attrs.get("count_include_pad", 0)),
                )
            )
            add(name, op, (tensor(onnx_node.input[0], label),), output)
        elif op_type == "GlobalAveragePool":
            add(name, GlobalAvgPool(), (tensor(onnx_node.input[0], label),), output)
        elif op_type in ("Flatten", "Reshape"):
            if op_type == "Flatten" and int(attrs.get("axis", 1)) != 1:
                raise ConfigError(f"{source}: {label}: only axis=1 is supported")
            if op_type == "Reshape":
                shape = constant(onnx_node.input[1], label).astype(np.int64).tolist()
                if len(shape) != 2 or shape[1] != -1 or shape[0] not in (0, 1, -1):
                    raise ConfigError(f"{source}: {label}: only reshapes to (N, -1) are supported; got {shape}")
            add(name, Flatten(), (tensor(onnx_node.input[0], label),), output)
    output_name = graph.output[0].name
    if output_name not in tensors or tensors[output_name] == INPUT:
        raise ConfigError(f"{source}: output {output_name!r} is not computed by the graph")
    channels, height, width = (int(d) for d in dims[1:])
    return Graph(nodes=tuple(nodes), input_shape=(channels, height, width), output=tensors[output_name])
