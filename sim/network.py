"""Several layers run one after another on the array, with the DNN operand model.

:func:`simulate_layers` runs each layer through :func:`sim.engine.simulate_grouped_gemm`
at one operating point, with seeded int8 operands of the DNN operand model
(:data:`pe_models.operands.DNN_OPERAND_MODEL`) or with supplied GEMM operands, and keeps
per layer the counts a study reports (not the output matrices).

Seeds: from ``SeedSequence(seed)`` with entropy E, layer ``i``'s operands come from
``SeedSequence(E, spawn_key=(0, i))`` and the process-variation die from
``SeedSequence(E, spawn_key=(1,))``: one die for all layers, and a layer's operands do
not depend on which other layers run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pe_models.operands import dnn_activations, dnn_weights
from pe_models.pe import PEConfig, StageTiming
from pe_models.variation import ProcessVariation

from .config import ArrayConfig
from .layers import ConvLayer, Layer, im2col, weights_to_gemm
from .memory import ifmap_words
from .protection import Protection, ProtectionPlan

__all__ = ["LayerOutcome", "NetworkOutcome", "layer_operands", "simulate_layers"]


def layer_operands(layer: Layer, seed: np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray]:
    """Random int8 GEMM operands of a layer from the DNN operand model.

    A convolution gets a random input feature map and random filters lowered by im2col,
    so neighbouring output pixels share inputs as in a real network; a GEMM layer gets
    random activations (M, K) and weights (K, N).

    Returns
    -------
    activations : ndarray, int8, shape (groups, M, K)
    weights : ndarray, int8, shape (groups, K, N)
    """
    rng = np.random.default_rng(seed)
    if isinstance(layer, ConvLayer):
        ifmap = dnn_activations(rng, (layer.channels, layer.ifmap_h, layer.ifmap_w))
        filters = dnn_weights(rng, (layer.num_filters, layer.channels // layer.groups, layer.filter_h, layer.filter_w))
        return im2col(layer, ifmap), weights_to_gemm(layer, filters)
    problem = layer.gemm()
    return dnn_activations(rng, (1, problem.m, problem.k)), dnn_weights(rng, (1, problem.k, problem.n))


@dataclass(frozen=True, kw_only=True)
class LayerOutcome:
    """What one layer did on the array.

    Attributes
    ----------
    index : int
        Position of the layer in its topology.
    layer : Layer
    folds, macs, cycles, compute_cycles, correction_cycles, memory_stall_cycles,
    erroneous_macs, detections, detection_cycles : int
        As :class:`sim.engine.GemmResult`.
    miscorrections, silent_protected_errors, unprotected_errors : int
        As :class:`sim.engine.GemmResult`.
    protected_mask, product_mask : int
        The layer's protected accumulator and product register bits (its entry of a protection plan).
    product_detections, silent_product_errors : int
        As :class:`sim.engine.GemmResult`.
    stall_cycles, razor_window_ps, hold_buffers_per_bit, recovery_flops_per_pe
        As :class:`sim.engine.GemmResult`.
    hold_buffers, product_hold_buffers : tuple of int
        As :class:`sim.engine.GemmResult`.
    wrong_outputs : int
        Outputs that differ from the exact GEMM.
    relative_error : float
        ``||outputs - exact||_2 / ||exact||_2``.
    max_abs_error : int
        Largest ``|output - exact|``.
    error_sq, exact_sq : float
        ``||outputs - exact||_2^2`` and ``||exact||_2^2`` (for the overall relative error).
    flip_counts, residual_flip_counts : ndarray, int64, shape (width,)
        Wrong bits latched per accumulator bit, all MACs and undetected MACs.
    """

    index: int
    layer: Layer
    folds: int
    macs: int
    cycles: int
    compute_cycles: int
    correction_cycles: int
    memory_stall_cycles: int
    erroneous_macs: int
    detections: int
    detection_cycles: int
    wrong_outputs: int
    relative_error: float
    max_abs_error: int
    error_sq: float
    exact_sq: float
    flip_counts: np.ndarray
    residual_flip_counts: np.ndarray
    miscorrections: int = 0
    silent_protected_errors: int = 0
    unprotected_errors: int = 0
    protected_mask: int = 0
    product_mask: int = 0
    product_detections: int = 0
    silent_product_errors: int = 0
    stall_cycles: int = 0
    razor_window_ps: float | None = None
    hold_buffers_per_bit: float = 0.0
    recovery_flops_per_pe: float = 0.0
    hold_buffers: tuple[int, ...] = ()
    product_hold_buffers: tuple[int, ...] = ()

    @property
    def recovery_cycles(self) -> int:
        """Cycles spent recovering from detections (:attr:`correction_cycles`)."""
        return self.correction_cycles


@dataclass(frozen=True, kw_only=True)
class NetworkOutcome:
    """The layers of :func:`simulate_layers` and their sums.

    Attributes
    ----------
    layers : tuple of LayerOutcome
    flip_counts, residual_flip_counts : ndarray, int64, shape (width,)
        Summed over layers.
    relative_error : float
        ``sqrt(sum error_sq / sum exact_sq)`` over all layers' outputs.
    """

    layers: tuple[LayerOutcome, ...]
    flip_counts: np.ndarray
    residual_flip_counts: np.ndarray
    relative_error: float

    def total(self, name: str) -> int:
        """Sum of the integer count `name` (``macs``, ``cycles``, ...) over the layers."""
        return sum(int(getattr(layer, name)) for layer in self.layers)


def simulate_layers(
    layers: Sequence[tuple[int, Layer]],
    *,
    array: ArrayConfig,
    pe: PEConfig,
    timing: StageTiming,
    protection: Protection | ProtectionPlan | None = None,
    variation: ProcessVariation | None = None,
    seed: int = 0,
    engine: str = "fast",
    operands: tuple[np.ndarray, np.ndarray] | None = None,
    progress: Callable[..., Iterable[Any]] | None = None,
) -> NetworkOutcome:
    """Run `layers` one after another on the array.

    Parameters
    ----------
    layers : sequence of (index, Layer)
        The layers with their positions in the topology (the positions seed the operands).
    array, pe, timing, variation, engine
        As :func:`sim.engine.simulate_gemm`.
    protection : Protection or ProtectionPlan, optional
        One protection for every layer, or a plan giving each layer (by name) its bits.
    seed : int
        Root seed of the operands and of the process-variation die (module docstring).
    operands : (activations (M, K), weights (K, N)) int8, optional
        Supplied operands of a single GEMM layer instead of the DNN operand model.
    progress : callable, optional
        ``progress(items, label=...)`` wrapping the layer loop (a progress bar).

    Returns
    -------
    NetworkOutcome
    """
    from .engine import simulate_grouped_gemm  # its numba kernels load only when layers run

    root = np.random.SeedSequence(seed)
    die = np.random.SeedSequence(root.entropy, spawn_key=(1,))
    width = pe.width
    flips = np.zeros(width, dtype=np.int64)
    residual = np.zeros(width, dtype=np.int64)
    error_sq = exact_sq = 0.0
    outcomes = []
    items: Iterable[tuple[int, Layer]] = layers if progress is None else progress(layers, label="simulate")
    for index, layer in items:
        if operands is not None:
            activations, weights = operands[0][None], operands[1][None]
        else:
            activations, weights = layer_operands(layer, np.random.SeedSequence(root.entropy, spawn_key=(0, index)))
        layer_protection = (
            protection.protection_for(layer.name) if isinstance(protection, ProtectionPlan) else protection
        )
        result = simulate_grouped_gemm(
            activations,
            weights,
            array=array,
            pe=pe,
            timing=timing,
            protection=layer_protection,
            variation=variation,
            seed=die,
            engine=engine,
            ifmap_words=None if operands is not None else ifmap_words(layer),
        )
        layer_error_sq = float(np.sum(result.output_errors.astype(np.float64) ** 2))
        layer_exact_sq = float(np.sum(result.exact.astype(np.float64) ** 2))
        outcomes.append(
            LayerOutcome(
                index=index,
                layer=layer,
                folds=result.folds,
                macs=result.macs,
                cycles=result.cycles,
                compute_cycles=result.compute_cycles,
                correction_cycles=result.correction_cycles,
                memory_stall_cycles=result.memory_stall_cycles,
                erroneous_macs=result.erroneous_macs,
                detections=result.detections,
                detection_cycles=result.detection_cycles,
                wrong_outputs=result.wrong_outputs,
                relative_error=result.relative_error,
                max_abs_error=result.max_abs_error,
                error_sq=layer_error_sq,
                exact_sq=layer_exact_sq,
                flip_counts=result.flip_counts,
                residual_flip_counts=result.residual_flip_counts,
                miscorrections=result.miscorrections,
                silent_protected_errors=result.silent_protected_errors,
                unprotected_errors=result.unprotected_errors,
                protected_mask=0 if layer_protection is None else layer_protection.protected_mask,
                product_mask=0 if layer_protection is None else layer_protection.product_mask,
                product_detections=result.product_detections,
                silent_product_errors=result.silent_product_errors,
                stall_cycles=result.stall_cycles,
                razor_window_ps=result.razor_window_ps,
                hold_buffers_per_bit=result.hold_buffers_per_bit,
                hold_buffers=result.hold_buffers,
                product_hold_buffers=result.product_hold_buffers,
                recovery_flops_per_pe=result.recovery_flops_per_pe,
            )
        )
        flips += result.flip_counts
        residual += result.residual_flip_counts
        error_sq += layer_error_sq
        exact_sq += layer_exact_sq
    if exact_sq > 0:
        relative_error = math.sqrt(error_sq / exact_sq)
    else:
        relative_error = 0.0 if error_sq == 0 else math.inf
    return NetworkOutcome(
        layers=tuple(outcomes), flip_counts=flips, residual_flip_counts=residual, relative_error=relative_error
    )
