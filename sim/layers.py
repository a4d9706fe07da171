"""Layer shapes and their lowering to matrix multiplications (GEMMs).

A layer is a `GemmLayer` (``C[M, N] = A[M, K] @ B[K, N]``) or a `ConvLayer`. A
convolution is lowered by im2col: each output pixel is a row of A holding its receptive
field, each filter is a column of B, so

- ``M`` = output pixels (``out_h * out_w``),
- ``N`` = filters per group (``num_filters / groups``),
- ``K`` = ``filter_h * filter_w * channels / groups``,

and a grouped convolution is ``groups`` independent GEMMs of that shape, run one after
another. A depthwise convolution (``groups == channels``) is therefore ``channels`` GEMMs
with ``N = num_filters / channels`` and ``K = filter_h * filter_w`` -- never one filter
over all channels.

``scalesim_compat=True`` lowers a layer the way SCALE-Sim v2 does instead: output size
``ceil((H - F + S) / S)`` (SCALE-Sim's ``topology_utils``) and one GEMM with
``N = num_filters / groups`` filters over all ``channels`` (``K = filter_h * filter_w *
channels``), which is how SCALE-Sim's MobileNet file describes a depthwise layer
(``Num Filter = 1``).
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral
from typing import TypeGuard

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from pe_models.errors import ConfigError

__all__ = [
    "ConvLayer",
    "GemmLayer",
    "GemmProblem",
    "Layer",
    "LayerShapeError",
    "gemm_output_to_ofmap",
    "im2col",
    "weights_to_gemm",
]


class LayerShapeError(ConfigError):
    """A layer field is invalid.

    Attributes
    ----------
    layer : str
        Name of the layer.
    field : str
        Name of the offending field (a dataclass field name, e.g. ``"stride"``).
    detail : str
        What is wrong, without the field name, e.g. ``"expected a positive integer, got 0"``.
    """

    def __init__(self, kind: str, layer: str, field: str, detail: str) -> None:
        self.layer = layer
        self.field = field
        self.detail = detail
        super().__init__(f"{kind} {layer!r}: {field}: {detail}")


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _check_name(kind: str, name: object) -> None:
    if not isinstance(name, str) or not name.strip() or "\n" in name or "\r" in name:
        raise LayerShapeError(kind, str(name), "name", f"expected a non-empty single-line string, got {name!r}")


def _check_positive(kind: str, name: str, field: str, value: object) -> None:
    if not _is_int(value) or value <= 0:
        raise LayerShapeError(kind, name, field, f"expected a positive integer, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class GemmProblem:
    """The matrix multiplications one layer runs on the array.

    ``groups`` independent products ``C_g[m, n] = A_g[m, k] @ B_g[k, n]``, executed one
    after another (``groups == 1`` for a dense layer).

    Parameters
    ----------
    m : int
        Rows of A and C (output pixels, or batch rows of a fully connected layer).
    n : int
        Columns of B and C (filters per group).
    k : int
        Reduction length (receptive field size per group).
    groups : int
        Number of independent GEMMs of this shape. Default 1.
    """

    m: int
    n: int
    k: int
    groups: int = 1

    def __post_init__(self) -> None:
        for field in ("m", "n", "k", "groups"):
            _check_positive("GemmProblem", "gemm", field, getattr(self, field))

    @property
    def macs(self) -> int:
        """Multiply-accumulates, ``groups * m * n * k``."""
        return self.groups * self.m * self.n * self.k


@dataclass(frozen=True, kw_only=True)
class GemmLayer:
    """A fully connected layer or plain matrix product ``C[M, N] = A[M, K] @ B[K, N]``.

    Parameters
    ----------
    name : str
        Layer name.
    m, n, k : int
        Positive sizes: M rows of A (batch), N outputs, K inputs.
    """

    name: str
    m: int
    n: int
    k: int

    def __post_init__(self) -> None:
        _check_name("GemmLayer", self.name)
        for field in ("m", "n", "k"):
            _check_positive("GemmLayer", self.name, field, getattr(self, field))

    def gemm(self, *, scalesim_compat: bool = False) -> GemmProblem:
        """The GEMM this layer runs (the same in both modes).

        SCALE-Sim reads a GEMM row ``M, N, K`` as a convolution with a 1 x K filter over
        an M x K input (``topology_utils.load_arrays_gemm``), which lowers to the same
        M, N, K.
        """
        return GemmProblem(m=self.m, n=self.n, k=self.k)

    @property
    def macs(self) -> int:
        """Multiply-accumulates, ``m * n * k``."""
        return self.m * self.n * self.k


@dataclass(frozen=True, kw_only=True)
class ConvLayer:
    """A 2-D convolution with square stride and symmetric zero padding.

    Parameters
    ----------
    name : str
        Layer name.
    ifmap_h, ifmap_w : int
        Input height and width in pixels (before padding).
    filter_h, filter_w : int
        Filter height and width in pixels; at most the padded input size.
    channels : int
        Input channels.
    num_filters : int
        Output channels (filters).
    stride : int
        Stride in pixels, in both directions; at most the padded input size. Default 1.
    padding : int
        Zero padding in pixels on each side, in both directions. Default 0.
    groups : int
        Channel groups; divides `channels` and `num_filters`. ``groups == channels`` is a
        depthwise convolution. Default 1.

    Raises
    ------
    LayerShapeError
        (a :class:`ConfigError`) naming the layer and the field.
    """

    name: str
    ifmap_h: int
    ifmap_w: int
    filter_h: int
    filter_w: int
    channels: int
    num_filters: int
    stride: int = 1
    padding: int = 0
    groups: int = 1

    def __post_init__(self) -> None:
        kind = "ConvLayer"
        _check_name(kind, self.name)
        for field in (
            "ifmap_h",
            "ifmap_w",
            "filter_h",
            "filter_w",
            "channels",
            "num_filters",
            "stride",
        ):
            _check_positive(kind, self.name, field, getattr(self, field))
        if not _is_int(self.padding) or self.padding < 0:
            raise LayerShapeError(
                kind,
                self.name,
                "padding",
                f"expected a non-negative integer, got {self.padding!r}",
            )
        _check_positive(kind, self.name, "groups", self.groups)
        padded_h = self.ifmap_h + 2 * self.padding
        padded_w = self.ifmap_w + 2 * self.padding
        if self.filter_h > padded_h:
            raise LayerShapeError(
                kind,
                self.name,
                "filter_h",
                f"expected at most the padded input height {padded_h}, got {self.filter_h}",
            )
        if self.filter_w > padded_w:
            raise LayerShapeError(
                kind,
                self.name,
                "filter_w",
                f"expected at most the padded input width {padded_w}, got {self.filter_w}",
            )
        if self.stride > min(padded_h, padded_w):
            raise LayerShapeError(
                kind,
                self.name,
                "stride",
                f"expected at most the padded input size {min(padded_h, padded_w)}, got {self.stride}",
            )
        if self.channels % self.groups or self.num_filters % self.groups:
            raise LayerShapeError(
                kind,
                self.name,
                "groups",
                f"expected a divisor of both channels ({self.channels}) and num_filters "
                f"({self.num_filters}), got {self.groups}",
            )

    @property
    def is_depthwise(self) -> bool:
        """True when every input channel is its own group (``groups == channels > 1``)."""
        return self.groups == self.channels and self.channels > 1

    def output_hw(self, *, scalesim_compat: bool = False) -> tuple[int, int]:
        """Output height and width in pixels.

        Default: ``floor((H + 2 P - F) / S) + 1``. With `scalesim_compat`, SCALE-Sim's
        ``ceil((H' - F + S) / S)`` with ``H' = H + 2 P`` (``topology_utils.py``), which is
        one pixel larger whenever ``S`` does not divide ``H' - F``.
        """
        padded_h = self.ifmap_h + 2 * self.padding
        padded_w = self.ifmap_w + 2 * self.padding
        if scalesim_compat:
            return (
                -(-(padded_h - self.filter_h + self.stride) // self.stride),
                -(-(padded_w - self.filter_w + self.stride) // self.stride),
            )
        return (
            (padded_h - self.filter_h) // self.stride + 1,
            (padded_w - self.filter_w) // self.stride + 1,
        )

    def gemm(self, *, scalesim_compat: bool = False) -> GemmProblem:
        """The GEMM(s) this convolution is lowered to (see the module docstring)."""
        out_h, out_w = self.output_hw(scalesim_compat=scalesim_compat)
        window = self.filter_h * self.filter_w
        if scalesim_compat:
            return GemmProblem(m=out_h * out_w, n=self.num_filters // self.groups, k=window * self.channels)
        return GemmProblem(
            m=out_h * out_w,
            n=self.num_filters // self.groups,
            k=window * (self.channels // self.groups),
            groups=self.groups,
        )

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the convolution (default lowering)."""
        return self.gemm().macs


Layer = GemmLayer | ConvLayer


def im2col(layer: ConvLayer, ifmap: np.ndarray) -> np.ndarray:
    """The A operands of a convolution's GEMMs (default lowering).

    Parameters
    ----------
    layer : ConvLayer
        The convolution.
    ifmap : numpy.ndarray, shape (channels, ifmap_h, ifmap_w), any dtype
        The input feature map.

    Returns
    -------
    numpy.ndarray, shape (groups, M, K), same dtype as `ifmap`
        ``A[g, p, (c, i, j)] = padded[g * channels/groups + c, y * S + i, x * S + j]``
        for output pixel ``p = y * out_w + x``; K is ordered channel-major, then filter
        row, then filter column (the order of :func:`weights_to_gemm`).
    """
    ifmap = np.asarray(ifmap)
    expected = (layer.channels, layer.ifmap_h, layer.ifmap_w)
    if ifmap.shape != expected:
        raise ValueError(f"ifmap shape {ifmap.shape} != {expected} for layer {layer.name!r}")
    pad = layer.padding
    padded = np.pad(ifmap, ((0, 0), (pad, pad), (pad, pad)))
    out_h, out_w = layer.output_hw()
    windows = sliding_window_view(padded, (layer.filter_h, layer.filter_w), axis=(1, 2))
    windows = windows[:, : out_h * layer.stride : layer.stride, : out_w * layer.stride : layer.stride]
    per_group = layer.channels // layer.groups
    windows = windows.reshape(layer.groups, per_group, out_h, out_w, layer.filter_h, layer.filter_w)
    columns = windows.transpose(0, 2, 3, 1, 4, 5)
    return np.ascontiguousarray(
        columns.reshape(layer.groups, out_h * out_w, per_group * layer.filter_h * layer.filter_w)
    )


def weights_to_gemm(layer: ConvLayer, weights: np.ndarray) -> np.ndarray:
    """The B operands of a convolution's GEMMs (default lowering).

    Parameters
    ----------
    layer : ConvLayer
        The convolution.
    weights : numpy.ndarray, shape (num_filters, channels/groups, filter_h, filter_w)
        Filters in the PyTorch layout, any dtype.

    Returns
    -------
    numpy.ndarray, shape (groups, K, N), same dtype as `weights`
        ``B[g, (c, i, j), f] = weights[g * N + f, c, i, j]`` with ``N = num_filters / groups``.
    """
    weights = np.asarray(weights)
    per_group = layer.channels // layer.groups
    expected = (layer.num_filters, per_group, layer.filter_h, layer.filter_w)
    if weights.shape != expected:
        raise ValueError(f"weights shape {weights.shape} != {expected} for layer {layer.name!r}")
    filters_per_group = layer.num_filters // layer.groups
    grouped = weights.reshape(layer.groups, filters_per_group, -1)
    return np.ascontiguousarray(grouped.transpose(0, 2, 1))


def gemm_output_to_ofmap(layer: ConvLayer, outputs: np.ndarray) -> np.ndarray:
    """Rearrange GEMM results into an output feature map.

    Parameters
    ----------
    layer : ConvLayer
        The convolution.
    outputs : numpy.ndarray, shape (groups, M, N)
        ``im2col(...)[g] @ weights_to_gemm(...)[g]`` for every group.

    Returns
    -------
    numpy.ndarray, shape (num_filters, out_h, out_w), same dtype as `outputs`
    """
    out_h, out_w = layer.output_hw()
    outputs = np.asarray(outputs)
    filters_per_group = layer.num_filters // layer.groups
    expected = (layer.groups, out_h * out_w, filters_per_group)
    if outputs.shape != expected:
        raise ValueError(f"outputs shape {outputs.shape} != {expected} for layer {layer.name!r}")
    return np.ascontiguousarray(outputs.transpose(0, 2, 1).reshape(layer.num_filters, out_h, out_w))
