"""Int8 inference: calibrate and quantise a float graph, run it through a GEMM backend.

The arithmetic is that of an integer accelerator with zero points fixed at 0:

* every convolution and linear layer is ``int8 (M, K) x int8 (K, N)`` GEMMs computed by
  a :class:`workloads.backends.GemmBackend` (one GEMM per group for grouped and
  depthwise convolutions, in group order, all with the layer's name), then the int32
  bias is added (two's-complement wrap at 32 bits), the sum requantised by the
  per-channel fixed-point multiplier (:func:`workloads.quant.multiply_by_quantized_multiplier`)
  and clamped to int8 (ReLU: [0, 127]; ReLU6: [0, min(127, round(6 / s_out))]);
* a residual add requantises both inputs to a common scale as TFLite's int8 ``Add``
  (inputs shifted left by 20 bits, each scaled by ``s_in / (2 max(s_a, s_b))``, the
  sum scaled by ``2 max(s_a, s_b) / (2**20 s_out)``; tensorflow/lite/kernels/add.cc);
* pooling keeps the input scale; average pooling divides window sums with rounding
  half away from zero (TFLite int8 ``AveragePool``).

The images of a batch are stacked along M (image-major, then output row, then column),
so a backend sees each layer's GEMM once per batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from pe_models.errors import ConfigError

from . import _kernels, ops
from .backends import GemmBackend
from .equalize import depthwise_inputs, equalize_depthwise_inputs
from .graph import (
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
    check_images,
    prepare_for_quantization,
    run_float,
)
from .quant import (
    ACTIVATION_QMAX,
    ACTIVATION_QMIN,
    CALIBRATION_METHODS,
    INT32_MAX,
    INT32_MIN,
    HistogramObserver,
    quantize_activations,
    quantize_multiplier,
    quantize_weights_per_channel,
    round_half_away,
)

__all__ = [
    "ADD_LEFT_SHIFT",
    "ActivationStatistics",
    "CalibrationConfig",
    "GemmShape",
    "QuantizedModel",
    "calibrate",
    "calibration_statistics",
    "collect_statistics",
    "quantize_model",
]

ADD_LEFT_SHIFT = 20
_TENSOR_BUDGET = 2**22


@dataclass(frozen=True, kw_only=True)
class CalibrationConfig:
    """How activation scales (and the corrections made with calibration data) are chosen.

    Attributes
    ----------
    method : {"percentile", "mse", "entropy"}
        Clipping threshold of every activation tensor: a percentile of |x| (default),
        the threshold minimising the quantisation MSE, or the one minimising the KL
        divergence (TensorRT).
    percentile : float
        Percentile of |x| for ``method="percentile"`` (default 99.99).
    bins : int
        Histogram bins per tensor (power of two).
    batch_size : int
        Calibration images per float forward pass.
    bias_correction : bool
        Subtract the expected output shift caused by weight rounding,
        ``(W_q - W) E[x]`` with ``E[x]`` the mean input of the layer over the
        calibration images (empirical bias correction; Nagel et al. 2019, 2021).
    output_bits : int
        Width of the network output codes (the logits), 8..32, when the output is a
        convolution or linear layer: the output never enters the array, and its scale
        comes from its largest magnitude over the calibration images (never clipped).
    equalize : bool
        Rescale the channels of every tensor that only a depthwise convolution reads so
        that they share one range (:mod:`workloads.equalize`; exact, costs one more
        float pass over the calibration images).
    """

    method: str = "percentile"
    percentile: float = 99.99
    bins: int = 2048
    batch_size: int = 16
    bias_correction: bool = True
    output_bits: int = 16
    equalize: bool = True

    def __post_init__(self) -> None:
        if self.method not in CALIBRATION_METHODS:
            raise ConfigError(f"calibration: {self.method!r} is unknown; allowed: {', '.join(CALIBRATION_METHODS)}")
        if not 0 < self.percentile <= 100:
            raise ConfigError(f"percentile: {self.percentile} must be in (0, 100]")
        if self.bins < 2 or self.bins & (self.bins - 1):
            raise ConfigError(f"bins: {self.bins} must be a power of two >= 2")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size: {self.batch_size} must be >= 1")
        for name in ("bias_correction", "equalize"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name}: expected true or false, got {getattr(self, name)!r}")
        bits = self.output_bits
        if isinstance(bits, bool) or not isinstance(bits, int) or not 8 <= bits <= 32:
            raise ConfigError(f"output_bits: {self.output_bits!r} is out of range; allowed: 8..32")


@dataclass(frozen=True, kw_only=True)
class GemmShape:
    """One GEMM layer of a quantised model, for mapping onto the array.

    ``m_per_image`` rows per image, reduction depth ``k``, ``n`` output columns per
    group, ``groups`` GEMMs per image.
    """

    name: str
    m_per_image: int
    k: int
    n: int
    groups: int

    @property
    def macs_per_image(self) -> int:
        return self.m_per_image * self.k * self.n * self.groups


@dataclass(frozen=True, kw_only=True, eq=False)
class _QuantGemm:
    name: str
    inputs: tuple[str, ...]
    weights: tuple[np.ndarray, ...]
    bias: np.ndarray
    multiplier: np.ndarray
    shift: np.ndarray
    qmin: np.ndarray
    qmax: np.ndarray
    kernel: tuple[int, int] | None = None
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)
    out_dtype: type[np.integer] = np.int8

    @cached_property
    def weight_stack(self) -> np.ndarray:
        """The groups' weight matrices stacked, shape (groups, K, N)."""
        return np.stack(self.weights)

    def run(self, args: list[np.ndarray], backend: GemmBackend) -> np.ndarray:
        x = args[0]
        columns: np.ndarray | list[np.ndarray]
        out_shape: tuple[int, ...]
        if self.kernel is None:
            if x.ndim != 2:
                raise ConfigError(f"layer {self.name!r}: linear input must be flat; add a flatten")
            columns, out_shape = [x], (x.shape[0],)
        else:
            columns, out_shape = ops.im2col_groups(x, self.kernel, self.stride, self.padding, len(self.weights))
        grouped = getattr(backend, "matmul_groups", None)
        if grouped is not None and len(columns) > 1:
            parts = grouped(columns, self.weight_stack, layer=self.name)
            accumulator = parts.transpose(1, 0, 2).reshape(parts.shape[1], -1)
        else:
            parts = [backend.matmul(c, w, layer=self.name) for c, w in zip(columns, self.weights, strict=True)]
            accumulator = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
        accumulator = np.ascontiguousarray(accumulator, dtype=np.int64)
        if self.out_dtype is np.int8:
            out = _kernels.requantize(accumulator, self.bias, self.multiplier, self.shift, self.qmin, self.qmax)
        else:
            out = np.empty(accumulator.shape, dtype=self.out_dtype)
            _kernels.requantize_into(accumulator, self.bias, self.multiplier, self.shift, self.qmin, self.qmax, out)
        return out.reshape(*out_shape, -1)


@dataclass(frozen=True, kw_only=True, eq=False)
class _QuantAdd:
    name: str
    inputs: tuple[str, ...]
    multipliers: tuple[np.ndarray, np.ndarray, np.ndarray]
    shifts: tuple[np.ndarray, np.ndarray, np.ndarray]
    qmin: int
    qmax: int

    def run(self, args: list[np.ndarray], backend: GemmBackend) -> np.ndarray:
        a, b = args
        if a.shape != b.shape:
            raise ConfigError(f"layer {self.name!r}: cannot add shapes {a.shape} and {b.shape}")
        out = _kernels.requantize_add(
            np.ascontiguousarray(a).ravel(),
            np.ascontiguousarray(b).ravel(),
            np.asarray(self.multipliers, np.int64),
            np.asarray(self.shifts, np.int64),
            ADD_LEFT_SHIFT,
            self.qmin,
            self.qmax,
        )
        return out.reshape(a.shape)


@dataclass(frozen=True, kw_only=True, eq=False)
class _QuantElementwise:
    name: str
    inputs: tuple[str, ...]
    op: Activation | MaxPool | AvgPool | GlobalAvgPool | Flatten
    qmin: int = ACTIVATION_QMIN
    qmax: int = ACTIVATION_QMAX

    def run(self, args: list[np.ndarray], backend: GemmBackend) -> np.ndarray:
        x, op = args[0], self.op
        if isinstance(op, Activation):
            return np.clip(x, self.qmin, self.qmax).astype(np.int8)
        if isinstance(op, MaxPool):
            return ops.max_pool(x, op.kernel, op.stride, op.padding)
        if isinstance(op, AvgPool):
            return ops.avg_pool(x, op.kernel, op.stride, op.padding, count_include_pad=op.count_include_pad)
        if isinstance(op, GlobalAvgPool):
            sums = x.astype(np.int64).sum(axis=(1, 2))
            return ops.integer_average(sums, x.shape[1] * x.shape[2]).astype(np.int8)
        return x.transpose(0, 3, 1, 2).reshape(x.shape[0], -1) if x.ndim == 4 else x


_QuantLayer = _QuantGemm | _QuantAdd | _QuantElementwise


def _activation_range(activation: str | None, scale: float) -> tuple[int, int]:
    if activation == "relu":
        return 0, ACTIVATION_QMAX
    if activation == "relu6":
        return 0, int(min(ACTIVATION_QMAX, float(round_half_away(np.asarray(6.0 / scale)))))
    return ACTIVATION_QMIN, ACTIVATION_QMAX


def _channel_ranges(op: Conv2d | Linear, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Output clamps in codes per output channel (ReLU6 ceilings may differ per channel)."""
    channels = op.weight.shape[0]
    low, high = _activation_range(op.activation, scale)
    lows, highs = np.full(channels, low, np.int64), np.full(channels, high, np.int64)
    ceiling = getattr(op, "ceiling", None)
    if ceiling is not None:
        highs = np.minimum(ACTIVATION_QMAX, round_half_away(ceiling / scale)).astype(np.int64)
    return lows, highs


class QuantizedModel:
    """A calibrated int8 network.

    Attributes
    ----------
    layers : tuple
        Quantised layers in execution order.
    scales : dict of str to float
        Scale of every tensor (``"input"`` and each layer output).
    input_shape : (C, H, W)
    output : str
        Name of the output tensor.
    """

    def __init__(
        self,
        *,
        layers,
        scales: dict[str, float],
        input_shape,
        output: str,
        gemm_layers: tuple[GemmShape, ...],
        tensor_elements_per_image: int,
    ) -> None:
        self.layers: tuple[_QuantLayer, ...] = tuple(layers)
        self.scales = dict(scales)
        self.input_shape = tuple(input_shape)
        self.output = output
        self.gemm_layers = gemm_layers
        self._tensor_elements_per_image = tensor_elements_per_image

    @property
    def macs_per_image(self) -> int:
        """Multiply-accumulates of all GEMMs for one image."""
        return sum(layer.macs_per_image for layer in self.gemm_layers)

    @property
    def output_scale(self) -> float:
        return self.scales[self.output]

    def default_batch_size(self) -> int:
        """Images per batch so that the largest int64 intermediate stays near 32 MiB."""
        return max(1, _TENSOR_BUDGET // max(1, self._tensor_elements_per_image))

    def quantize_input(self, images: np.ndarray) -> np.ndarray:
        """Float images (N, C, H, W) -> int8 NHWC with the calibrated input scale."""
        _check_images_shape(self.input_shape, images)
        return quantize_activations(images.transpose(0, 2, 3, 1), self.scales[INPUT])

    def run(
        self,
        images: np.ndarray,
        backend: GemmBackend,
        *,
        batch_size: int | None = None,
        workers: int | None = None,
    ) -> np.ndarray:
        """Int8 forward pass.

        Parameters
        ----------
        images : ndarray of float, shape (N, C, H, W)
            Preprocessed float images (as the float model takes them).
        backend : GemmBackend
            Computes every convolution and linear GEMM. Its counters (``stats`` ...) add
            up over all images.
        batch_size : int, optional
            Images per pass (default :meth:`default_batch_size`). Images of a batch reach
            the backend as one GEMM per layer, so with an error-injecting backend the
            results depend on it (and never on `workers`).
        workers : int, optional
            Worker processes the batches are split across (default: all cores, or the
            ``VSCALE_WORKERS`` environment variable; see :mod:`workloads.parallel`).
            Backends without batch support run in this process.

        Returns
        -------
        ndarray of int8, shape (N, ...)
            Output codes; real values are ``codes * output_scale``.
        """
        from .parallel import run_batches

        _check_images_shape(self.input_shape, images)
        batch_size = batch_size or self.default_batch_size()
        return run_batches(self, images, [backend], batch_size=batch_size, workers=workers)[0]

    def logits(
        self, images: np.ndarray, backend: GemmBackend, *, batch_size: int | None = None, workers: int | None = None
    ) -> np.ndarray:
        """Dequantised outputs (float64), shape (N, classes)."""
        return self.run(images, backend, batch_size=batch_size, workers=workers) * self.output_scale

    def run_batch(self, images: np.ndarray, backend: GemmBackend) -> np.ndarray:
        """Int8 forward pass of one batch in this process (every GEMM of a layer at once)."""
        return self._run_batch(images, backend)

    def _run_batch(self, images: np.ndarray, backend: GemmBackend) -> np.ndarray:
        return self.layer_outputs(images, backend)[self.output]

    def layer_outputs(self, images: np.ndarray, backend: GemmBackend) -> dict[str, np.ndarray]:
        """Codes of every tensor of one batch, computed in this process.

        Parameters
        ----------
        images : ndarray of float, shape (N, C, H, W)
        backend : GemmBackend

        Returns
        -------
        dict of str to ndarray
            ``"input"`` and every layer's output (NHWC or (N, features)); real values
            are ``codes * scales[name]``.
        """
        values = {INPUT: self.quantize_input(images)}
        for layer in self.layers:
            values[layer.name] = layer.run([values[i] for i in layer.inputs], backend)
        return values


def _check_images_shape(input_shape: tuple[int, ...], images: np.ndarray) -> None:
    if images.ndim != 4 or tuple(images.shape[1:]) != tuple(input_shape):
        raise ConfigError(
            f"images: shape {tuple(images.shape)} does not match the model input "
            f"(N, {', '.join(map(str, input_shape))})"
        )


def _batches(images: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(images), size):
        yield images[start : start + size]


@dataclass(frozen=True, kw_only=True, eq=False)
class ActivationStatistics:
    """What calibration observed of a prepared float graph.

    Attributes
    ----------
    graph : Graph
        The prepared (folded, fused, possibly equalised) graph that was observed.
    histograms : dict of str to HistogramObserver
        |x| of the input and of every node output.
    shapes : dict of str to tuple
        Per-image shape of every tensor.
    column_means : dict of str to ndarray of float64, shape (groups, K)
        For every convolution and linear node: the mean of each column of its GEMM
        activation matrix (the im2col receptive field in ``(ky, kx, c)`` order, zero
        padding included) over all output positions of all calibration images.
    images : int
        Calibration images observed.
    """

    graph: Graph
    histograms: dict[str, HistogramObserver]
    shapes: dict[str, tuple[int, ...]]
    column_means: dict[str, np.ndarray]
    images: int

    def scale(self, name: str, config: CalibrationConfig) -> float:
        """``threshold / 127`` of tensor `name` by the method of `config`."""
        threshold = self.histograms[name].threshold(config.method, percentile=config.percentile)
        return threshold / ACTIVATION_QMAX


def _tap_rows(size: int, offset: int, stride: int, pad_before: int, outputs: int) -> slice | None:
    """Input indices ``o * stride + offset - pad_before`` inside ``[0, size)`` for outputs ``o``."""
    first = max(0, -(-(pad_before - offset) // stride))
    last = min(outputs - 1, (size - 1 + pad_before - offset) // stride)
    if last < first:
        return None
    start = first * stride + offset - pad_before
    return slice(start, last * stride + offset - pad_before + 1, stride)


def _column_sums(x: np.ndarray, op: Conv2d | Linear) -> tuple[np.ndarray, int]:
    """Sums of the GEMM activation columns of `op` on input `x` (groups, K), and the row count.

    A column of a convolution's activation matrix is one kernel tap of one input
    channel over all output positions; taps that fall on the zero padding add nothing,
    so each tap sums the strided part of `x` it reaches (float64 accumulation).
    """
    if isinstance(op, Linear):
        flat = x.reshape(len(x), -1)
        return flat.sum(axis=0, dtype=np.float64)[None], len(flat)
    kernel_h, kernel_w = op.kernel
    stride_h, stride_w = op.stride
    top, left, bottom, right = op.padding
    out_h = ops.conv_output_size(x.shape[1], kernel_h, stride_h, top, bottom)
    out_w = ops.conv_output_size(x.shape[2], kernel_w, stride_w, left, right)
    channels = x.shape[3]
    sums = np.zeros((kernel_h, kernel_w, channels))
    for ky in range(kernel_h):
        rows = _tap_rows(x.shape[1], ky, stride_h, top, out_h)
        for kx in range(kernel_w):
            columns = _tap_rows(x.shape[2], kx, stride_w, left, out_w)
            if rows is not None and columns is not None:
                sums[ky, kx] = x[:, rows, columns].sum(axis=(0, 1, 2), dtype=np.float64)
    per_group = channels // op.groups
    grouped = sums.reshape(kernel_h, kernel_w, op.groups, per_group).transpose(2, 0, 1, 3)
    return grouped.reshape(op.groups, -1), len(x) * out_h * out_w


def collect_statistics(
    graph: Graph, images: np.ndarray, config: CalibrationConfig = CalibrationConfig()
) -> ActivationStatistics:
    """Run the prepared float graph on calibration images and record what quantisation needs.

    Parameters
    ----------
    graph : Graph
        Batch norms folded and activations fused (:func:`prepare_for_quantization`).
    images : ndarray of float, shape (N, C, H, W)
        Calibration images (never evaluation images).
    config : CalibrationConfig
        Its ``bins`` and ``batch_size`` (the result does not depend on the batch size).

    Returns
    -------
    ActivationStatistics
    """
    check_images(graph, images)
    if len(images) == 0:
        raise ConfigError("calibration: at least one calibration image is required")
    histograms: dict[str, HistogramObserver] = {}
    shapes: dict[str, tuple[int, ...]] = {}
    readers: dict[str, list[Node]] = {}
    for node in graph.nodes:
        if isinstance(node.op, Conv2d | Linear):
            readers.setdefault(node.inputs[0], []).append(node)
    sums: dict[str, np.ndarray] = {}
    rows: dict[str, int] = {}

    def observe(name: str, value: np.ndarray) -> None:
        histograms.setdefault(name, HistogramObserver(config.bins)).observe(value)
        shapes[name] = tuple(value.shape[1:])
        for node in readers.get(name, ()):
            assert isinstance(node.op, Conv2d | Linear)
            column_sums, count = _column_sums(value, node.op)
            sums[node.name] = sums.get(node.name, 0) + column_sums
            rows[node.name] = rows.get(node.name, 0) + count

    for batch in _batches(images, config.batch_size):
        run_float(graph, batch, observer=observe)
    means = {name: total / rows[name] for name, total in sums.items()}
    return ActivationStatistics(
        graph=graph, histograms=histograms, shapes=shapes, column_means=means, images=len(images)
    )


def _channel_peaks(graph: Graph, images: np.ndarray, names: set[str], batch_size: int) -> dict[str, np.ndarray]:
    """Largest |value| of every channel of the tensors `names` over `images`."""
    peaks: dict[str, np.ndarray] = {}

    def observe(name: str, value: np.ndarray) -> None:
        if name in names:
            peak = np.abs(value).reshape(-1, value.shape[-1]).max(axis=0).astype(np.float64)
            peaks[name] = np.maximum(peaks[name], peak) if name in peaks else peak

    for batch in _batches(images, batch_size):
        run_float(graph, batch, observer=observe)
    return peaks


def calibration_statistics(
    graph: Graph, images: np.ndarray, config: CalibrationConfig = CalibrationConfig()
) -> ActivationStatistics:
    """Prepare a float graph for quantisation and observe it on calibration images.

    Batch norms are folded and activations fused (:func:`prepare_for_quantization`);
    with ``config.equalize`` the tensors read only by depthwise convolutions are
    equalised (:func:`workloads.equalize.equalize_depthwise_inputs`, channel ranges
    from a first pass over `images`); then :func:`collect_statistics`.

    Parameters
    ----------
    graph : Graph
        The float network.
    images : ndarray of float, shape (N, C, H, W)
        Calibration images (never evaluation images).
    config : CalibrationConfig

    Returns
    -------
    ActivationStatistics
        Its ``graph`` is the prepared graph the statistics describe.
    """
    prepared = prepare_for_quantization(graph)
    check_images(prepared, images)
    if len(images) == 0:
        raise ConfigError("calibration: at least one calibration image is required")
    pairs = depthwise_inputs(prepared) if config.equalize else {}
    if pairs:
        peaks = _channel_peaks(prepared, images, set(pairs), config.batch_size)
        prepared = equalize_depthwise_inputs(prepared, peaks)
    return collect_statistics(prepared, images, config)


def calibrate(
    graph: Graph, images: np.ndarray, config: CalibrationConfig = CalibrationConfig()
) -> tuple[dict[str, float], dict[str, tuple[int, ...]]]:
    """Activation scales of a prepared graph from float runs on calibration images.

    Parameters
    ----------
    graph : Graph
        Batch norms folded and activations fused (:func:`prepare_for_quantization`).
    images : ndarray of float, shape (N, C, H, W)
        Calibration images (training data, never test data).
    config : CalibrationConfig

    Returns
    -------
    scales : dict of str to float
        ``threshold / 127`` for the input and every node output.
    shapes : dict of str to tuple
        Per-image shape of every tensor.
    """
    statistics = collect_statistics(graph, images, config)
    scales = {name: statistics.scale(name, config) for name in statistics.histograms}
    return scales, statistics.shapes


def quantize_model(
    graph: Graph,
    calibration_images: np.ndarray | None = None,
    *,
    calibration: CalibrationConfig = CalibrationConfig(),
    statistics: ActivationStatistics | None = None,
) -> QuantizedModel:
    """Fold, fuse, calibrate and quantise a float graph.

    Parameters
    ----------
    graph : Graph
        The float network (batch norms may still be separate).
    calibration_images : ndarray of float, shape (N, C, H, W)
        Images the activations are calibrated on (never evaluation images).
    calibration : CalibrationConfig
    statistics : ActivationStatistics, optional
        Already collected (:func:`calibration_statistics` of `graph` with the same
        ``equalize``); then `calibration_images` is not used.

    Returns
    -------
    QuantizedModel
    """
    if statistics is None:
        if calibration_images is None:
            raise ConfigError("calibration: at least one calibration image is required")
        statistics = calibration_statistics(graph, calibration_images, calibration)
    prepared = statistics.graph
    shapes = statistics.shapes
    scales: dict[str, float] = {INPUT: statistics.scale(INPUT, calibration)}
    layers: list[_QuantLayer] = []
    gemms: list[GemmShape] = []
    for node in prepared.nodes:
        op = node.op
        in_scale = scales[node.inputs[0]]
        if isinstance(op, Conv2d | Linear):
            output = node.name == prepared.output and op.activation is None
            if output:
                peak = statistics.histograms[node.name].peak
                out_scale = (peak if peak > 0 else 1.0) / (2 ** (calibration.output_bits - 1) - 1)
            else:
                out_scale = statistics.scale(node.name, calibration)
            means = statistics.column_means[node.name] if calibration.bias_correction else None
            layer, gemm = _quantize_gemm(
                node.name,
                node.inputs,
                op,
                in_scale,
                out_scale,
                shapes[node.name],
                column_means=means,
                output_bits=calibration.output_bits if output else 8,
            )
            layers.append(layer)
            gemms.append(gemm)
        elif isinstance(op, Add):
            out_scale = statistics.scale(node.name, calibration)
            layers.append(_quantize_add(node.name, node.inputs, (in_scale, scales[node.inputs[1]]), out_scale))
        else:
            assert not isinstance(op, BatchNorm)  # folded into the convolutions by prepare_for_quantization
            out_scale = in_scale
            low, high = ACTIVATION_QMIN, ACTIVATION_QMAX
            if isinstance(op, Activation):
                low, high = _activation_range(op.kind, out_scale)
            layers.append(_QuantElementwise(name=node.name, inputs=node.inputs, op=op, qmin=low, qmax=high))
        scales[node.name] = out_scale
    largest = max(int(np.prod(shape)) for shape in shapes.values())
    return QuantizedModel(
        layers=layers,
        scales=scales,
        input_shape=prepared.input_shape,
        output=prepared.output,
        gemm_layers=tuple(gemms),
        tensor_elements_per_image=largest,
    )


def _weight_matrices(weights: np.ndarray, op: Conv2d | Linear) -> list[np.ndarray]:
    """Weights (C_out, ...) as the GEMM matrices (K, N) of each group."""
    if isinstance(op, Linear):
        return [np.ascontiguousarray(weights.T)]
    per_group = weights.shape[0] // op.groups
    return [ops.conv_weight_matrix(weights[g * per_group : (g + 1) * per_group]) for g in range(op.groups)]


def _output_range(bits: int) -> tuple[int, int, type[np.integer]]:
    if bits == 8:
        return ACTIVATION_QMIN, ACTIVATION_QMAX, np.int8
    dtype = np.int16 if bits <= 16 else np.int32
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1, dtype


def _quantize_gemm(
    name,
    inputs,
    op: Conv2d | Linear,
    in_scale: float,
    out_scale: float,
    out_shape: tuple[int, ...],
    *,
    column_means: np.ndarray | None = None,
    output_bits: int = 8,
) -> tuple[_QuantGemm, GemmShape]:
    codes, weight_scales = quantize_weights_per_channel(op.weight)
    bias = np.zeros(op.weight.shape[0]) if op.bias is None else np.asarray(op.bias, np.float64)
    if column_means is not None:
        rounding = codes * weight_scales.reshape(-1, *([1] * (codes.ndim - 1))) - np.asarray(op.weight, np.float64)
        shift = [mean @ matrix for mean, matrix in zip(column_means, _weight_matrices(rounding, op), strict=True)]
        bias = bias - np.concatenate(shift)
    bias_codes = np.clip(round_half_away(bias / (in_scale * weight_scales)), INT32_MIN, INT32_MAX)
    multiplier, shift_bits = quantize_multiplier(in_scale * weight_scales / out_scale)
    if output_bits == 8:
        qmin, qmax = _channel_ranges(op, out_scale)
        out_dtype: type[np.integer] = np.int8
    else:
        low, high, out_dtype = _output_range(output_bits)
        qmin, qmax = np.full(len(bias), low, np.int64), np.full(len(bias), high, np.int64)
    common = dict(
        name=name,
        inputs=inputs,
        bias=bias_codes.astype(np.int64),
        multiplier=multiplier.astype(np.int64),
        shift=shift_bits.astype(np.int64),
        qmin=qmin,
        qmax=qmax,
        out_dtype=out_dtype,
    )
    matrices = tuple(_weight_matrices(codes, op))
    if isinstance(op, Linear):
        gemm = GemmShape(name=name, m_per_image=1, k=matrices[0].shape[0], n=matrices[0].shape[1], groups=1)
        return _QuantGemm(weights=matrices, **common), gemm
    gemm = GemmShape(
        name=name,
        m_per_image=out_shape[0] * out_shape[1],
        k=matrices[0].shape[0],
        n=matrices[0].shape[1],
        groups=op.groups,
    )
    layer = _QuantGemm(weights=matrices, kernel=op.kernel, stride=op.stride, padding=op.padding, **common)
    return layer, gemm


def _quantize_add(name, inputs, in_scales: tuple[float, float], out_scale: float) -> _QuantAdd:
    twice_max = 2 * max(in_scales)
    reals = np.array(
        [in_scales[0] / twice_max, in_scales[1] / twice_max, twice_max / ((1 << ADD_LEFT_SHIFT) * out_scale)]
    )
    multipliers, shifts = quantize_multiplier(reals)
    return _QuantAdd(
        name=name,
        inputs=inputs,
        multipliers=tuple(multipliers),
        shifts=tuple(shifts),
        qmin=ACTIVATION_QMIN,
        qmax=ACTIVATION_QMAX,
    )
