"""Operand traces of one layer of a model, as PEs of a weight-stationary array see them.

The model runs (int8, exact) on the evaluation images and the GEMMs of the chosen layer
are recorded (:func:`workloads.trace.record_layer_trace`). The trace (arrays ``a``, ``b``,
``c`` of shape (lanes, steps)) feeds the ``probs`` and ``slack`` studies as
``operands="trace.npz"``. :func:`model_layers` lists a model's GEMM layers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from experiments.results import StudyResult
from experiments.vocabulary import ConfigFields
from pe_models.errors import ConfigError
from workloads.engine import quantize_model
from workloads.models.zoo import gemm_layer_names, load_bundle
from workloads.trace import LayerTrace, record_layer_trace, resolve_layer

from .common import Study, array_shape, as_config, check_images, check_int, check_model, resolve_array, set_field

__all__ = [
    "LayerRow",
    "ModelLayers",
    "TraceConfig",
    "TraceResult",
    "TraceRow",
    "model_layers",
    "trace",
]


@dataclass(frozen=True, kw_only=True)
class TraceConfig(ConfigFields):
    """Which layer to trace, and how much.

    Attributes
    ----------
    model : str
        ``tinymnv2``, ``mobilenetv2`` or a float ONNX file.
    layer : str or int
        GEMM layer: its name or its index among the model's GEMM layers (0-based), checked
        against the model's layers when the config is built (from its weights, before any
        image runs).
    images : int
        Evaluation images to run, >= 1 (up to what the model's bundled data holds).
    lanes : int
        PEs (lanes) to record, >= 1.
    steps : int or None
        Consecutive MACs per PE, 2 .. the layer's M (default: 4096, or M when the layer has
        fewer).
    array : "RxC" or (rows, cols)
        Array shape; its rows fold K.
    seed : int
        Seed of the lane choice (and of the calibration crops), >= 0.
    """

    model: str = "tinymnv2"
    layer: str | int = 0
    images: int = 100
    lanes: int = 64
    steps: int | None = None
    array: Any = "256x256"
    seed: int = 0

    def __post_init__(self) -> None:
        check_model(self.model)
        layer = self.layer
        index = isinstance(layer, int) and not isinstance(layer, bool) and layer >= 0
        if not (index or (isinstance(layer, str) and layer.strip())):
            raise ConfigError(f"layer: expected a GEMM layer's name or its index >= 0, got {layer!r}")
        set_field(self, "images", check_images(self.images, model=self.model, folder=False))
        check_int("lanes", self.lanes, minimum=1)
        if self.steps is not None and check_int("steps", self.steps, minimum=1) < 2:
            raise ConfigError(f"steps: expected at least 2 consecutive MACs, got {self.steps}")
        check_int("seed", self.seed, minimum=0)
        rows, cols = array_shape(self.array)
        set_field(self, "array", f"{rows}x{cols}")
        resolve_layer(list(gemm_layer_names(self.model)), self.layer)


@dataclass(frozen=True, kw_only=True)
class TraceRow:
    """Statistics of the recorded trace.

    Attributes
    ----------
    layer : str
    m, n, k, groups : int
        The layer's GEMM: M rows over all images, N columns, depth K, groups.
    lanes, steps : int
        PEs recorded and consecutive MACs per PE.
    zero_products : float
        Fraction of MACs whose product ``a x b`` is 0 (0..1).
    mean_abs_partial_sum : float
        Mean of ``|c|``, the incoming partial sum, in accumulator LSBs (int8 x int8 products).
    partial_sum_sign_changes : float
        Fraction of consecutive MAC pairs whose incoming partial sums have opposite signs (0..1).
    partial_sum_bit_toggles_per_mac : float
        Mean number of the 32 accumulator bits of ``c`` that toggle from one MAC to the next.
    """

    layer: str
    m: int
    n: int
    k: int
    groups: int
    lanes: int
    steps: int
    zero_products: float
    mean_abs_partial_sum: float
    partial_sum_sign_changes: float
    partial_sum_bit_toggles_per_mac: float


@dataclass(frozen=True, kw_only=True)
class TraceResult(StudyResult[TraceRow, TraceConfig]):
    """One summary row; ``trace`` holds the arrays (``trace.arrays()`` for a ``.npz``)."""

    row_type = TraceRow

    trace: LayerTrace = field(compare=False)


def _statistics(trace: LayerTrace) -> TraceRow:
    a, b, c = trace.a, trace.b, trace.c
    products = a * b
    sign_changes = np.mean(np.sign(c[:, 1:]) * np.sign(c[:, :-1]) < 0)
    changed = (c[:, 1:] ^ c[:, :-1]) & 0xFFFFFFFF
    toggles = sum(float(np.mean((changed >> bit) & 1)) for bit in range(32))
    return TraceRow(
        layer=trace.layer,
        m=trace.m,
        n=trace.n,
        k=trace.k,
        groups=trace.groups,
        lanes=trace.lanes,
        steps=trace.steps,
        zero_products=float(np.mean(products == 0)),
        mean_abs_partial_sum=float(np.mean(np.abs(c))),
        partial_sum_sign_changes=float(sign_changes),
        partial_sum_bit_toggles_per_mac=toggles,
    )


def trace(config: TraceConfig | None = None, /, **fields: Any) -> TraceResult:
    """Record the operand trace of one layer and summarise it."""
    config = as_config(TraceConfig, config, fields)
    array = resolve_array(array=config.array, dataflow="ws")
    bundle = load_bundle(config.model, images=config.images, seed=config.seed)
    model = quantize_model(bundle.graph, bundle.calibration_images)
    name = resolve_layer([shape.name for shape in model.gemm_layers], config.layer)
    recorded = record_layer_trace(
        model,
        bundle.evaluation.images,
        name,
        rows=array.rows,
        lanes=config.lanes,
        steps=config.steps,
        seed=np.random.SeedSequence(config.seed),
    )
    totals = {"model": bundle.name, "images": len(bundle.evaluation.images), "rows": array.rows}
    return TraceResult(config=config, rows=(_statistics(recorded),), totals=totals, trace=recorded)


@dataclass(frozen=True, kw_only=True)
class LayerRow:
    """One GEMM layer of a quantised model.

    Attributes
    ----------
    layer_id : int
        Index among the model's GEMM layers (what ``layer`` accepts besides the name).
    layer_name : str
    m_per_image, n, k, groups : int
        GEMM rows per image, columns per group, depth, groups.
    macs_per_image : int
    """

    layer_id: int
    layer_name: str
    m_per_image: int
    n: int
    k: int
    groups: int
    macs_per_image: int


@dataclass(frozen=True, kw_only=True)
class ModelLayersConfig(ConfigFields):
    """A model whose GEMM layers to list.

    Attributes
    ----------
    model : str
        ``tinymnv2``, ``mobilenetv2`` or a float ONNX file.
    seed : int
        Seed of the calibration crops, >= 0.
    """

    model: str = "tinymnv2"
    seed: int = 0

    def __post_init__(self) -> None:
        check_model(self.model)
        check_int("seed", self.seed, minimum=0)


@dataclass(frozen=True, kw_only=True)
class ModelLayers(StudyResult[LayerRow, ModelLayersConfig]):
    """The GEMM layers of a model."""

    row_type = LayerRow


def model_layers(config: ModelLayersConfig | None = None, /, **fields: Any) -> ModelLayers:
    """The GEMM layers of a model, in execution order (names and shapes)."""
    config = as_config(ModelLayersConfig, config, fields)
    bundle = load_bundle(config.model, images=1, seed=config.seed)
    model = quantize_model(bundle.graph, bundle.calibration_images)
    rows = tuple(
        LayerRow(
            layer_id=index,
            layer_name=shape.name,
            m_per_image=shape.m_per_image,
            n=shape.n,
            k=shape.k,
            groups=shape.groups,
            macs_per_image=shape.macs_per_image,
        )
        for index, shape in enumerate(model.gemm_layers)
    )
    return ModelLayers(config=config, rows=rows, totals={"model": bundle.name, "layers": len(rows)})


STUDY = Study(name="trace", config_type=TraceConfig, function=trace, summary="operand trace of one layer of a model")
