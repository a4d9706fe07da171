"""Energy per inference of a quantised model, the same for every command that reports it.

``vscale energy --model``, ``vscale accuracy``, ``vscale optimize`` and ``vscale run`` all
take a model's energy from here, so one configuration gives one energy and one cycle
count per image whatever the command and however many images are evaluated:

- :func:`inference_layers`: per GEMM layer its shape per image and the switching activity
  of the int8 operands the model's **first** evaluation image produces (toggle model,
  `samples` MACs sampled in the array's dataflow order, a child of `seed` per layer);
- :func:`inference_energy`: per layer the closed-form activity of a **batch** of images
  sharing each weight fold (:func:`sim.energy.batched_activity`: cycles, PE-cycles,
  SRAM/DRAM traffic of the batch) plus the recovery cycles and detections a run measured
  (per image, times the batch), through :func:`sim.energy.layer_energy`; per image;
- :func:`dvfs_energy`: the same work without Razor at the highest error-free clock of the
  supply (:func:`pe_models.pe.max_error_free_f_clk_mhz`), the baseline beside every plan;
- :func:`energy_columns`: the result columns, savings for the core and for the system.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from experiments.results import saving_pct
from pe_models.energy import PEEnergyModel, pe_energy_model
from pe_models.errors import ConfigError
from pe_models.integers import exact_gemm
from pe_models.netlist import PRODUCT_BITS
from pe_models.pe import PEConfig, max_error_free_f_clk_mhz
from sim.config import ArrayConfig
from sim.energy import (
    EnergyBreakdown,
    GatingOptions,
    LayerActivity,
    MemoryEnergy,
    RegisterBitToggles,
    batched_activity,
    breakdown_columns,
    design_hold_buffer_counts,
    layer_energy,
    mac_switching,
    memory_energy,
    total_energy,
)
from sim.layers import GemmProblem

__all__ = [
    "InferenceLayer",
    "LayerCoefficients",
    "LayerEnergyRow",
    "PointEnergy",
    "batch_cycles_per_image",
    "dvfs_energy",
    "energy_columns",
    "inference_energy",
    "inference_layers",
    "layer_breakdowns",
    "layer_coefficients",
    "layer_energy_rows",
    "point_energy",
    "record_layer_operands",
]


class LayerWork(Protocol):
    """What :func:`inference_energy` reads of a layer (:class:`InferenceLayer`)."""

    @property
    def name(self) -> str: ...
    @property
    def m(self) -> int: ...
    @property
    def n(self) -> int: ...
    @property
    def k(self) -> int: ...
    @property
    def groups(self) -> int: ...
    @property
    def units_per_mac(self) -> float: ...
    @property
    def register_toggles_per_mac(self) -> float: ...
    @property
    def bit_toggles(self) -> RegisterBitToggles | None: ...


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
    units_per_mac : float
        Mean datapath switched capacitance per MAC, unit-inverter capacitances (toggle model).
    register_toggles_per_mac : float
        Mean register output transitions per MAC.
    bit_toggles : RegisterBitToggles, optional
        Mean transitions per MAC of each partial-sum and product register bit (the protected
        bits' Razor flip-flops are charged their own).
    """

    name: str
    macs: int
    m: int
    n: int
    k: int
    groups: int = 1
    units_per_mac: float
    register_toggles_per_mac: float = 0.0
    bit_toggles: RegisterBitToggles | None = None


def batch_cycles_per_image(m: int, n: int, k: int, groups: int, array: ArrayConfig, batch: int) -> float:
    """Error-free cycles per image of a layer whose `batch` images share each weight fold.

    The batch's cycles (:func:`sim.energy.batched_activity`: the folds' busy cycles of the
    GEMM with ``M = m x batch``, no memory stall without a bandwidth limit) divided by `batch`.
    """
    activity = batched_activity(
        "layer", GemmProblem(m=m, n=n, k=k, groups=groups), array, units_per_mac=0.0, batch=batch
    )
    return activity.cycles / batch


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
    samples: int = 2048,
) -> list[InferenceLayer]:
    """The GEMM layers of a quantised model as :func:`inference_energy` needs them.

    The switching activity of each layer comes from the int8 operands of the model's first
    image only (so it does not depend on how many images are evaluated), sampled in the
    array's dataflow order (:func:`sim.energy.mac_switching`, `samples` MACs, a child of
    `seed` per layer).

    Parameters
    ----------
    model : QuantizedModel
        With ``gemm_layers`` and ``run(images, backend)``.
    images : ndarray, shape (N, C, H, W)
        The evaluation images (only the first is used).
    pe : PEConfig
    array : ArrayConfig
        Weight-stationary array.
    seed : int or SeedSequence
    samples : int
    """
    operands = record_layer_operands(model, images[:1])
    energy_model = pe_energy_model(pe)
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    layers = []
    for shape, child in zip(model.gemm_layers, root.spawn(len(model.gemm_layers)), strict=True):
        activations, weights = operands[shape.name]
        switching = mac_switching(energy_model, activations, weights, array, samples=samples, seed=child)
        layers.append(
            InferenceLayer(
                name=shape.name,
                macs=shape.macs_per_image,
                m=shape.m_per_image,
                n=shape.n,
                k=shape.k,
                groups=shape.groups,
                units_per_mac=switching.units_per_mac,
                register_toggles_per_mac=switching.register_toggles_per_mac,
                bit_toggles=switching.bit_toggles,
            )
        )
    return layers


@functools.lru_cache(maxsize=4096)
def _cached_activity(
    name: str, m: int, n: int, k: int, groups: int, units: float, toggles: float, array: ArrayConfig, batch: int
) -> LayerActivity:
    return batched_activity(
        name,
        GemmProblem(m=m, n=n, k=k, groups=groups),
        array,
        units_per_mac=units,
        register_toggles_per_mac=toggles,
        batch=batch,
    )


def _batch_activity(layer: LayerWork, array: ArrayConfig, batch: int) -> LayerActivity:
    """:func:`sim.energy.batched_activity` of a layer (cached: it does not depend on VDD or clock)."""
    return _cached_activity(
        layer.name,
        layer.m,
        layer.n,
        layer.k,
        layer.groups,
        float(layer.units_per_mac),
        float(layer.register_toggles_per_mac),
        dataclasses.replace(array, f_clk_mhz=700.0),
        batch,
    )


def inference_energy(
    layers: Sequence[LayerWork],
    *,
    pe: PEConfig,
    array: ArrayConfig,
    vdd_v: float,
    batch: int = 1,
    images: int = 1,
    counts: Mapping[str, tuple[int, int]] | None = None,
    masks: Mapping[str, int] | None = None,
    model: PEEnergyModel | None = None,
    hold_buffers_per_bit: float | None = None,
    gating: GatingOptions | None = None,
    memory: MemoryEnergy | None = None,
    product_masks: Mapping[str, int] | None = None,
) -> EnergyBreakdown:
    """Energy breakdown per inference of a model on the array at `vdd_v`, `batch` images per weight fold.

    Per layer: :func:`sim.energy.batched_activity` of the batch (its cycles, PE-cycles and
    SRAM/DRAM traffic), plus the recovery cycles and detections a run counted over `images`
    images, scaled to the batch (``round(count x batch / images)``); the layer's protected
    bits (`masks`) with their hold-fix buffers, and their transitions per MAC (the layer's
    ``bit_toggles``), each bit's buffers switching with it. The summed breakdown
    is per image (:func:`sim.energy.layer_energy`); its ``cycles`` are the batch's.

    Parameters
    ----------
    layers : sequence of InferenceLayer
    pe : PEConfig
    array : ArrayConfig
        Its PEs, buffers and clock ``f_clk_mhz``.
    vdd_v : float
        Array (core) supply in V.
    batch : int
        Images sharing each weight fold, >= 1.
    images : int
        Images the `counts` are summed over, >= 1.
    counts : mapping of str to (int, int), optional
        Layer name -> (recovery cycles, detections) over the `images` (default: none).
    masks : mapping of str to int, optional
        Layer name -> protected accumulator bits (default: none protected).
    product_masks : mapping of str to int, optional
        Layer name -> protected product register bits (default: none): their Razor flip-flops
        and hold buffers are charged as the accumulator's.
    model : PEEnergyModel, optional
        Default :func:`pe_models.energy.pe_energy_model` of `pe`.
    hold_buffers_per_bit : float, optional
        Buffers on every protected bit (default: each bit's own,
        :func:`sim.energy.design_hold_buffer_counts` of the layer's masks at the clock).
    gating, memory
        As :func:`sim.energy.layer_energy` (default: clock gating; CACTI at the array's
        buffer sizes and LPDDR4).
    """
    return total_energy(
        layer_breakdowns(
            layers,
            pe=pe,
            array=array,
            vdd_v=vdd_v,
            batch=batch,
            images=images,
            counts=counts,
            masks=masks,
            model=model,
            hold_buffers_per_bit=hold_buffers_per_bit,
            gating=gating,
            memory=memory,
            product_masks=product_masks,
        )
    )


def layer_breakdowns(
    layers: Sequence[LayerWork],
    *,
    pe: PEConfig,
    array: ArrayConfig,
    vdd_v: float,
    batch: int = 1,
    images: int = 1,
    counts: Mapping[str, tuple[int, int]] | None = None,
    masks: Mapping[str, int] | None = None,
    model: PEEnergyModel | None = None,
    hold_buffers_per_bit: float | None = None,
    gating: GatingOptions | None = None,
    memory: MemoryEnergy | None = None,
    product_masks: Mapping[str, int] | None = None,
) -> tuple[EnergyBreakdown, ...]:
    """The per-image breakdown of each layer, in order, that :func:`inference_energy` sums
    (same arguments); each carries the layer's own ``utilisation`` and ``cycles_per_image``."""
    counts = counts or {}
    masks = masks or {}
    product_masks = product_masks or {}
    if isinstance(images, bool) or not isinstance(images, int) or images < 1:
        raise ConfigError(f"images: expected an integer >= 1, got {images!r}")
    base = pe_energy_model(pe) if model is None else model
    memory = memory or memory_energy(array, node_nm=base.node_nm)
    models: dict[tuple[int, int], PEEnergyModel] = {}
    counts_by_key: dict[tuple[int, int], tuple[tuple[float, ...], tuple[float, ...]]] = {}
    breakdowns = []
    for layer in layers:
        mask = int(masks.get(layer.name, 0))
        product = int(product_masks.get(layer.name, 0))
        key = (mask, product)
        if key not in models:
            counts_by_key[key] = _hold_buffer_counts(pe, array.f_clk_mhz, mask, product, hold_buffers_per_bit)
            razor_bits = mask.bit_count() + product.bit_count()
            buffers = sum(map(sum, counts_by_key[key])) / razor_bits if razor_bits else 0.0
            models[key] = dataclasses.replace(base, hold_buffers_per_bit=buffers) if mask or product else base
        correction, detections = counts.get(layer.name, (0, 0))
        correction_cycles = round(int(correction) * batch / images)
        activity = _batch_activity(layer, array, batch)
        activity = dataclasses.replace(
            activity,
            cycles=activity.cycles + correction_cycles,
            correction_cycles=correction_cycles,
            detections=round(int(detections) * batch / images),
            protected_bits=mask.bit_count() + product.bit_count(),
            protected_toggles_per_mac=0.0 if layer.bit_toggles is None else layer.bit_toggles.protected(mask, product),
            hold_buffer_toggles_per_mac=None
            if layer.bit_toggles is None
            else layer.bit_toggles.buffer_transitions(*counts_by_key[key]),
        )
        breakdowns.append(
            layer_energy(activity, models[key], vdd_v=vdd_v, f_clk_mhz=array.f_clk_mhz, gating=gating, memory=memory)
        )
    return tuple(breakdowns)


def _hold_buffer_counts(
    pe: PEConfig, f_clk_mhz: float, mask: int, product: int, per_bit: float | None
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Hold-fix buffers of each accumulator and product bit: `per_bit` on every protected bit,
    or (None) each bit's own as designed (:func:`sim.energy.design_hold_buffer_counts`)."""
    if per_bit is None:
        return design_hold_buffer_counts(pe, f_clk_mhz, mask, product_mask=product)
    return (
        tuple(float(per_bit) if (mask >> bit) & 1 else 0.0 for bit in range(pe.width)),
        tuple(float(per_bit) if (product >> bit) & 1 else 0.0 for bit in range(PRODUCT_BITS)),
    )


def dvfs_energy(
    layers: Sequence[LayerWork],
    *,
    pe: PEConfig,
    array: ArrayConfig,
    vdd_v: float,
    batch: int = 1,
    t_setup_ps: float | None = None,
    model: PEEnergyModel | None = None,
    gating: GatingOptions | None = None,
    memory: MemoryEnergy | None = None,
    guard_band_v: float = 0.0,
) -> tuple[float, EnergyBreakdown]:
    """The DVFS baseline at `vdd_v`: the same work without Razor at the highest error-free clock.

    Returns
    -------
    (f_clk_mhz, breakdown) : tuple
        :func:`pe_models.pe.max_error_free_f_clk_mhz` of `pe` at `vdd_v` minus `guard_band_v`
        (the supply the clock must hold at) and the energy per inference at `vdd_v` there (no
        protected bit, no recovery; memory stalls in cycles as at the plan's clock).
    """
    f_mhz = max_error_free_f_clk_mhz(pe, round(vdd_v - guard_band_v, 6), t_setup_ps)
    breakdown = inference_energy(
        layers,
        pe=pe,
        array=dataclasses.replace(array, f_clk_mhz=f_mhz),
        vdd_v=vdd_v,
        batch=batch,
        model=model,
        gating=gating,
        memory=memory,
    )
    return f_mhz, breakdown


@dataclass(frozen=True)
class LayerEnergyRow:
    """One layer's energy per image at one VDD (``energy_layers.csv`` of ``vscale accuracy``):
    its utilisation of the array (``100 MACs x batch / (PEs x cycles)``), cycles per image,
    the components in pJ, the core's and the system's (core, SRAM and DRAM) share of the
    inference; the layers of one VDD sum to its ``energy_per_inference_pj``."""

    vdd_v: float
    layer: str
    batch: int
    macs: int
    cycles_per_image: float
    utilisation_pct: float
    mac_dynamic_pj: float
    register_clock_pj: float
    leakage_pj: float
    razor_overhead_pj: float
    correction_pj: float
    sram_pj: float
    dram_pj: float
    core_pj: float
    energy_pj: float


def layer_energy_rows(vdd_v: float, breakdowns: Sequence[EnergyBreakdown]) -> list[LayerEnergyRow]:
    """:class:`LayerEnergyRow` of each of :func:`layer_breakdowns`' results at `vdd_v`."""
    rows = []
    for layer in breakdowns:
        parts = {name: band.nominal for name, band in layer.components().items()}
        rows.append(
            LayerEnergyRow(
                vdd_v=float(vdd_v),
                layer=layer.name,
                batch=layer.batch,
                macs=layer.macs,
                cycles_per_image=layer.cycles_per_image,
                utilisation_pct=100.0 * layer.utilisation,
                core_pj=layer.core_pj.nominal,
                energy_pj=layer.total_pj.nominal,
                **parts,
            )
        )
    return rows


@dataclass(frozen=True)
class PointEnergy:
    """The energy of one operating point and its DVFS baseline at the same supply;
    `per_layer`: the layers' breakdowns (:func:`layer_breakdowns`) that `breakdown` sums."""

    breakdown: EnergyBreakdown
    dvfs_f_clk_mhz: float
    dvfs: EnergyBreakdown
    per_layer: tuple[EnergyBreakdown, ...] = ()


def point_energy(
    layers: Sequence[LayerWork],
    *,
    pe: PEConfig,
    array: ArrayConfig,
    vdd_v: float,
    t_setup_ps: float | None = None,
    guard_band_v: float = 0.0,
    **options: Any,
) -> PointEnergy:
    """:func:`inference_energy` at `vdd_v` and :func:`dvfs_energy` beside it (same `options`
    except the run's `counts`, `masks`, `images` and `hold_buffers_per_bit`; the DVFS clock
    holds at `vdd_v` minus `guard_band_v`)."""
    per_layer = layer_breakdowns(layers, pe=pe, array=array, vdd_v=vdd_v, **options)
    shared = {key: options[key] for key in ("batch", "model", "gating", "memory") if key in options}
    f_mhz, dvfs = dvfs_energy(
        layers, pe=pe, array=array, vdd_v=vdd_v, t_setup_ps=t_setup_ps, guard_band_v=guard_band_v, **shared
    )
    return PointEnergy(breakdown=total_energy(per_layer), dvfs_f_clk_mhz=f_mhz, dvfs=dvfs, per_layer=per_layer)


def _saving(value: float, reference: float) -> float:
    return saving_pct(value, reference) if reference else math.nan


def energy_columns(point: PointEnergy | EnergyBreakdown, reference: PointEnergy | EnergyBreakdown) -> dict[str, Any]:
    """Per-inference result columns of `point` against the nominal-VDD `reference`.

    The components ending in ``_pj``; ``energy_per_inference_pj`` (system: core and
    memories) with its band ``energy_per_inference_low_pj``/``_high_pj``; ``core_pj``;
    ``system_saving_pct`` and ``core_saving_pct`` (``100 (1 - value / reference value)``,
    nominal constants; ``saving_pct`` is the system's); ``utilisation_pct``, ``batch``,
    ``cycles_per_image`` and ``latency_us`` (the batch's); with a :class:`PointEnergy`,
    the DVFS baseline: ``dvfs_f_clk_mhz``, ``dvfs_energy_per_inference_pj``, ``dvfs_core_pj``,
    ``dvfs_latency_us`` and its savings ``dvfs_system_saving_pct``, ``dvfs_core_saving_pct``
    against the same reference.
    """
    breakdown = point.breakdown if isinstance(point, PointEnergy) else point
    ref = reference.breakdown if isinstance(reference, PointEnergy) else reference
    columns: dict[str, Any] = breakdown_columns(breakdown)
    total = columns.pop("total_pj")
    low = columns.pop("total_low_pj")
    high = columns.pop("total_high_pj")
    system_reference, core_reference = ref.total_pj.nominal, ref.core_pj.nominal
    columns.update(
        {
            "energy_per_inference_pj": total,
            "energy_per_inference_low_pj": low,
            "energy_per_inference_high_pj": high,
            "saving_pct": _saving(total, system_reference),
            "system_saving_pct": _saving(total, system_reference),
            "core_saving_pct": _saving(breakdown.core_pj.nominal, core_reference),
            "cycles_per_image": breakdown.cycles_per_image,
            "latency_us": breakdown.latency_us,
        }
    )
    if isinstance(point, PointEnergy):
        dvfs = point.dvfs
        columns.update(
            {
                "dvfs_f_clk_mhz": point.dvfs_f_clk_mhz,
                "dvfs_energy_per_inference_pj": dvfs.total_pj.nominal,
                "dvfs_core_pj": dvfs.core_pj.nominal,
                "dvfs_latency_us": dvfs.latency_us,
                "dvfs_system_saving_pct": _saving(dvfs.total_pj.nominal, system_reference),
                "dvfs_core_saving_pct": _saving(dvfs.core_pj.nominal, core_reference),
            }
        )
    return columns


@dataclass(frozen=True)
class LayerCoefficients:
    """Energy per image of one layer at one VDD, linear in a plan's choices (pJ, nominal constants).

    A plan with ``b`` protected bits of ``h`` hold-fix buffers each, ``t`` transitions per MAC
    of those bits (:meth:`sim.energy.RegisterBitToggles.protected`), ``w`` transitions per MAC
    of their buffers (:meth:`sim.energy.RegisterBitToggles.buffer_transitions`), ``r``
    recovery cycles and ``d`` detections per image costs ``base + r recovery_cycle
    + b (bit + h hold_buffer) + b r (bit_recovery_cycle + h hold_buffer_recovery_cycle)
    + t protected_toggle + w hold_buffer_toggle + d (detection + t protected_toggle_detection
    + w hold_buffer_toggle_detection)``; exact for :func:`sim.energy.layer_energy` (which is
    linear in each), except the error-signal tree's depth, taken at the accumulator's full
    width. A layer with per-bit activity (``bit_toggles``) has ``hold_buffer`` and
    ``hold_buffer_recovery_cycle`` 0 (its buffers switch with their bits); one without has
    ``w`` 0 (its buffers at the assumed activity per clocked cycle).
    """

    base_pj: float
    memory_pj: float
    register_clock_pj: float
    recovery_cycle_pj: float
    bit_pj: float
    hold_buffer_pj: float
    bit_recovery_cycle_pj: float
    hold_buffer_recovery_cycle_pj: float
    detection_pj: float
    protected_toggle_pj: float = 0.0
    protected_toggle_detection_pj: float = 0.0
    hold_buffer_toggle_pj: float = 0.0
    hold_buffer_toggle_detection_pj: float = 0.0


def layer_coefficients(
    layers: Sequence[LayerWork],
    *,
    pe: PEConfig,
    array: ArrayConfig,
    vdd_v: float,
    batch: int = 1,
    gating: GatingOptions | None = None,
    memory: MemoryEnergy | None = None,
) -> list[LayerCoefficients]:
    """:class:`LayerCoefficients` of every layer at `vdd_v` (the optimizer's screen)."""
    base_model = pe_energy_model(pe)
    memory = memory or memory_energy(array, node_nm=base_model.node_nm)
    no_buffers = dataclasses.replace(base_model, hold_buffers_per_bit=0.0)
    one_buffer = dataclasses.replace(base_model, hold_buffers_per_bit=1.0)
    result = []
    for layer in layers:
        activity = _batch_activity(layer, array, batch)
        if layer.bit_toggles is not None:
            activity = dataclasses.replace(activity, hold_buffer_toggles_per_mac=0.0)

        def total(model: PEEnergyModel, changes: dict[str, Any], activity: LayerActivity = activity) -> float:
            extra = changes.get("correction_cycles", 0)
            changed = dataclasses.replace(activity, cycles=activity.cycles + extra, **changes)
            breakdown = layer_energy(
                changed, model, vdd_v=vdd_v, f_clk_mhz=array.f_clk_mhz, gating=gating, memory=memory
            )
            return breakdown.total_pj.nominal

        plain = layer_energy(activity, no_buffers, vdd_v=vdd_v, f_clk_mhz=array.f_clk_mhz, gating=gating, memory=memory)
        base = plain.total_pj.nominal
        recovery = total(no_buffers, {"correction_cycles": batch}) - base
        bit = total(no_buffers, {"protected_bits": 1}) - base
        buffer = total(one_buffer, {"protected_bits": 1}) - base - bit
        both = total(no_buffers, {"protected_bits": 1, "correction_cycles": batch}) - base - recovery - bit
        buffer_both = (
            total(one_buffer, {"protected_bits": 1, "correction_cycles": batch}) - base - recovery - bit - buffer - both
        )
        width = pe.width
        detection = total(no_buffers, {"protected_bits": width, "detections": batch}) - total(
            no_buffers, {"protected_bits": width}
        )
        toggle = total(no_buffers, {"protected_bits": width, "protected_toggles_per_mac": 1.0}) - total(
            no_buffers, {"protected_bits": width}
        )
        toggle_detection = (
            total(no_buffers, {"protected_bits": width, "protected_toggles_per_mac": 1.0, "detections": batch})
            - total(no_buffers, {"protected_bits": width, "detections": batch})
            - toggle
        )
        quiet_buffers = {"protected_bits": width, "hold_buffer_toggles_per_mac": 0.0}
        buffer_per_mac = {"protected_bits": width, "hold_buffer_toggles_per_mac": 1.0}
        buffer_toggle = total(no_buffers, buffer_per_mac) - total(no_buffers, quiet_buffers)
        buffer_toggle_detection = (
            total(no_buffers, {**buffer_per_mac, "detections": batch})
            - total(no_buffers, {**quiet_buffers, "detections": batch})
            - buffer_toggle
        )
        result.append(
            LayerCoefficients(
                base_pj=base,
                memory_pj=plain.sram_pj.nominal + plain.dram_pj.nominal,
                register_clock_pj=plain.register_clock_pj.nominal,
                recovery_cycle_pj=recovery,
                bit_pj=bit,
                hold_buffer_pj=buffer,
                bit_recovery_cycle_pj=both,
                hold_buffer_recovery_cycle_pj=buffer_both,
                detection_pj=detection,
                protected_toggle_pj=toggle,
                protected_toggle_detection_pj=toggle_detection,
                hold_buffer_toggle_pj=buffer_toggle,
                hold_buffer_toggle_detection_pj=buffer_toggle_detection,
            )
        )
    return result
