"""Energy per inference of a quantised model from per-layer counts (``accuracy`` and ``optimize``).

Per GEMM layer of the model the energy model (:mod:`sim.energy`) needs its MACs per
image, its error-free cycles per image on the weight-stationary array (the closed form of
:func:`sim.cycles.compute_cycles`, the images of a batch streamed through each fold
together as the bit-level engine runs them), the switching activity of its operands and
what a run measured: recovery cycles and detections, summed over the images it ran.
:func:`inference_energy` turns these into one :class:`sim.energy.LayerActivity` per layer
over all the images and returns the summed breakdown divided by the number of images.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from experiments.results import saving_pct
from pe_models.energy import PEEnergyModel, pe_energy_model
from pe_models.integers import exact_gemm
from pe_models.pe import PEConfig
from sim.config import ArrayConfig
from sim.cycles import compute_cycles
from sim.energy import (
    EnergyBreakdown,
    LayerActivity,
    breakdown_columns,
    design_hold_buffers,
    layer_energy,
    mean_units_per_mac,
    memory_traffic,
    total_energy,
)
from sim.layers import GemmProblem
from sim.mapping import map_gemm

__all__ = [
    "InferenceLayer",
    "batch_cycles_per_image",
    "energy_columns",
    "inference_energy",
    "inference_layers",
]


class LayerWork(Protocol):
    """What :func:`inference_energy` reads of a layer (:class:`InferenceLayer`, the optimizer's profiles)."""

    @property
    def name(self) -> str: ...
    @property
    def macs(self) -> int: ...
    @property
    def m(self) -> int: ...
    @property
    def n(self) -> int: ...
    @property
    def k(self) -> int: ...
    @property
    def groups(self) -> int: ...
    @property
    def base_cycles(self) -> float: ...
    @property
    def units_per_mac(self) -> float: ...


@dataclass(frozen=True, kw_only=True)
class InferenceLayer:
    """One GEMM layer of a model, per image.

    Attributes
    ----------
    name : str
    macs : int
        MACs per image (all groups).
    m, n, k, groups : int
        The GEMM of one group for one image: ``m`` rows, ``n`` columns, depth ``k``.
    base_cycles : float
        Error-free array cycles per image (:func:`batch_cycles_per_image`).
    units_per_mac : float
        Mean switched capacitance per MAC, unit-inverter capacitances (toggle model).
    """

    name: str
    macs: int
    m: int
    n: int
    k: int
    groups: int = 1
    base_cycles: float
    units_per_mac: float


def batch_cycles_per_image(m: int, n: int, k: int, groups: int, array: ArrayConfig, batch: int) -> float:
    """Error-free cycles per image of a layer whose `batch` images stream through each fold together.

    ``groups x (compute_cycles(M = m x batch) + 1) / batch``: SCALE-Sim's compute cycles of
    the batched GEMM plus the one busy cycle they leave out, shared by the images.
    """
    batched = GemmProblem(m=m * batch, n=n, k=k)
    return groups * (compute_cycles(batched, array) + 1) / batch


class _Recorder:
    """Exact GEMMs that keep every call's int8 operands, by layer."""

    name = "exact"

    def __init__(self) -> None:
        self.stats: dict[str, np.ndarray] = {}
        self.calls: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}

    def matmul(self, activations: np.ndarray, weights: np.ndarray, *, layer: str) -> np.ndarray:
        self.calls.setdefault(layer, []).append((np.array(activations, np.int8), np.array(weights, np.int8)))
        return exact_gemm(activations, weights, 32)


def record_layer_operands(model: Any, images: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The int8 operands of every GEMM layer of a quantised model on `images`, by layer name:
    activations (groups, M, K) and weights (groups, K, N), the first ``groups`` calls stacked."""
    recorder = _Recorder()
    model.run(images, recorder)
    operands = {}
    for shape in model.gemm_layers:
        calls = recorder.calls[shape.name][: shape.groups]
        operands[shape.name] = (np.stack([a for a, _ in calls]), np.stack([w for _, w in calls]))
    return operands


def inference_layers(
    model: Any,
    images: np.ndarray,
    *,
    pe: PEConfig,
    array: ArrayConfig,
    seed: int | np.random.SeedSequence = 0,
    samples: int = 1024,
) -> list[InferenceLayer]:
    """The GEMM layers of a quantised model as :func:`inference_energy` needs them.

    The switching activity of each layer comes from the toggle model on the int8 operands
    the model's first image produces (every group), sampled in the array's dataflow order
    (:func:`sim.energy.mean_units_per_mac`, `samples` MACs, a child of `seed` per layer).

    Parameters
    ----------
    model : QuantizedModel
        With ``gemm_layers``, ``run(images, backend)`` and ``default_batch_size()``.
    images : ndarray, shape (N, C, H, W)
        The evaluation images (N sets the batch of the cycle count).
    pe : PEConfig
    array : ArrayConfig
        Weight-stationary array; its clock is the run's.
    seed : int or SeedSequence
    samples : int
    """
    operands = record_layer_operands(model, images[:1])
    energy_model = pe_energy_model(pe)
    batch = max(1, min(len(images), model.default_batch_size()))
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    layers = []
    for shape, child in zip(model.gemm_layers, root.spawn(len(model.gemm_layers)), strict=True):
        activations, weights = operands[shape.name]
        layers.append(
            InferenceLayer(
                name=shape.name,
                macs=shape.macs_per_image,
                m=shape.m_per_image,
                n=shape.n,
                k=shape.k,
                groups=shape.groups,
                base_cycles=batch_cycles_per_image(shape.m_per_image, shape.n, shape.k, shape.groups, array, batch),
                units_per_mac=mean_units_per_mac(
                    energy_model, activations, weights, array, samples=samples, seed=child
                ),
            )
        )
    return layers


def _per_image(breakdown: EnergyBreakdown, images: int) -> EnergyBreakdown:
    share = 1.0 / images
    changes: dict[str, Any] = {name: band * share for name, band in breakdown.components().items()}
    return dataclasses.replace(
        breakdown,
        cycles=round(breakdown.cycles * share),
        latency_us=breakdown.latency_us * share,
        macs=round(breakdown.macs * share),
        **changes,
    )


def inference_energy(
    layers: Sequence[LayerWork],
    *,
    pe: PEConfig,
    array: ArrayConfig,
    vdd_v: float,
    images: int = 1,
    counts: Mapping[str, tuple[int, int]] | None = None,
    masks: Mapping[str, int] | None = None,
    model: PEEnergyModel | None = None,
    hold_buffers_per_bit: float | None = None,
) -> EnergyBreakdown:
    """Energy breakdown per inference of a model run on the array at `vdd_v`.

    Per layer, over the `images` images: MACs and error-free cycles ``images`` times the
    layer's, plus the recovery cycles and detections the run counted; protected bits of
    the layer's mask, each with `hold_buffers_per_bit` hold-fix buffers;
    the SRAM/DRAM traffic of one image's GEMM (per group) times the groups and the images.
    The breakdown of the summed layers is divided by `images`.

    Parameters
    ----------
    layers : sequence of InferenceLayer (or objects with its attributes)
    pe : PEConfig
    array : ArrayConfig
        Its ``mac_units`` PEs leak and are clocked; its ``f_clk_mhz`` is the clock.
    vdd_v : float
        Array supply in V.
    images : int
        Images the counts are summed over, >= 1.
    counts : mapping of str to (int, int), optional
        Layer name -> (recovery cycles, detections) over the `images` (default: none).
    masks : mapping of str to int, optional
        Layer name -> protected accumulator bits (default: none protected).
    model : PEEnergyModel, optional
        Default :func:`pe_models.energy.pe_energy_model` of `pe`.
    hold_buffers_per_bit : float, optional
        Hold-fix buffers per protected bit (default: :func:`sim.energy.design_hold_buffers`
        of the layer's mask at the array's clock).

    Returns
    -------
    EnergyBreakdown
        Named ``total``; ``cycles`` and ``macs`` per image (rounded), ``latency_us`` per image.
    """
    counts = counts or {}
    masks = masks or {}
    base = pe_energy_model(pe) if model is None else model
    models: dict[int, PEEnergyModel] = {}
    breakdowns = []
    for layer in layers:
        mask = int(masks.get(layer.name, 0))
        if mask not in models:
            if hold_buffers_per_bit is None:
                buffers = design_hold_buffers(pe, array.f_clk_mhz, mask)
            else:
                buffers = float(hold_buffers_per_bit)
            models[mask] = dataclasses.replace(base, hold_buffers_per_bit=buffers) if mask else base
        correction, detections = counts.get(layer.name, (0, 0))
        problem = GemmProblem(m=layer.m, n=layer.n, k=layer.k)
        traffic = memory_traffic(problem, array)
        repeat = layer.groups * images
        activity = LayerActivity(
            name=layer.name,
            macs=layer.macs * images,
            cycles=round(layer.base_cycles * images) + int(correction),
            correction_cycles=int(correction),
            detections=int(detections),
            pes=array.mac_units,
            mapped_pe_fraction=map_gemm(problem, array).mapping_efficiency,
            protected_bits=mask.bit_count(),
            units_per_mac=layer.units_per_mac,
            traffic=dataclasses.replace(
                traffic,
                sram_read_bytes=traffic.sram_read_bytes * repeat,
                sram_write_bytes=traffic.sram_write_bytes * repeat,
                dram_read_bytes=traffic.dram_read_bytes * repeat,
                dram_write_bytes=traffic.dram_write_bytes * repeat,
            ),
        )
        breakdowns.append(layer_energy(activity, models[mask], vdd_v=vdd_v, f_clk_mhz=array.f_clk_mhz))
    return _per_image(total_energy(breakdowns), images)


def energy_columns(breakdown: EnergyBreakdown, reference: EnergyBreakdown) -> dict[str, Any]:
    """Per-inference result columns: the components ending in ``_pj``,
    ``energy_per_inference_pj`` with its band ``energy_per_inference_low_pj`` and
    ``energy_per_inference_high_pj``, and ``saving_pct`` against `reference`
    (``100 (1 - total / reference total)``, nominal constants)."""
    columns = breakdown_columns(breakdown)
    total = columns.pop("total_pj")
    low = columns.pop("total_low_pj")
    high = columns.pop("total_high_pj")
    nominal = reference.total_pj.nominal
    return {
        **columns,
        "energy_per_inference_pj": total,
        "energy_per_inference_low_pj": low,
        "energy_per_inference_high_pj": high,
        "saving_pct": saving_pct(total, nominal),
    }
