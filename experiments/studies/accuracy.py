"""int8 accuracy (or agreement with the float model) against supply voltage.

For every supply voltage the quantised model runs through a GEMM backend built by
:func:`workloads.backends.make_injection_backend` (injection, VDD, protected bits, seed);
the backend's ``stats`` give per-layer error counts per accumulator bit. Each voltage
point has its own child of ``SeedSequence(seed)`` and every batch of images its own
index (:mod:`workloads.parallel`), so results do not depend on ``jobs``. Each row also
carries the energy per inference at its voltage, computed once per voltage after the run
(:mod:`experiments.studies.inference_energy`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from experiments.output import Table
from experiments.results import StudyResult
from pe_models.energy import pe_energy_model
from pe_models.errors import ConfigError
from sim.protection import RECOVERY_POLICIES, parse_bit_mask, product_bit_mask
from workloads.backends import INJECTIONS, make_injection_backend
from workloads.engine import CalibrationConfig
from workloads.parallel import run_batches
from workloads.quant import CALIBRATION_METHODS

from .common import (
    Progress,
    Study,
    SweepFields,
    array_shape,
    as_config,
    check_choice,
    check_images,
    check_int,
    check_labels,
    check_model,
    check_not_with_plan,
    no_progress,
    parse_razor_window,
    resolve_array,
    set_field,
)
from .energy_options import EnergyFields
from .inference_energy import (
    LayerEnergyRow,
    PointEnergy,
    energy_columns,
    inference_layers,
    layer_energy_rows,
    point_energy,
)
from .prepared import PreparedModel, prepare_model, top_k_hits

__all__ = [
    "AccuracyConfig",
    "AccuracyResult",
    "AccuracyRow",
    "ErrorRow",
    "accuracy",
    "accuracy_points",
    "plot_accuracy",
]


@dataclass(frozen=True, kw_only=True)
class AccuracyConfig(SweepFields, EnergyFields):
    """The accuracy sweep.

    Attributes
    ----------
    model : str
        ``tinymnv2``, ``mobilenetv2`` or a float ONNX file.
    injection : str
        How timing errors enter the GEMMs: ``exact`` (none), ``statistical`` (analytic
        per-bit probabilities) or ``bitlevel`` (every MAC through the chain-level PE in array
        order).
    images : int, path or None
        Number of evaluation images, >= 1 (default: all 1000 MNIST test images for
        tinymnv2, 50 photo views for ImageNet models) or a folder of images (needs `labels`).
    labels : path, optional
        Labels of the `images` folder: one ``FILE LABEL`` line per image (class index).
    protect : str or int
        Accumulator bits protected by error detection and correction, e.g. ``31:20`` (bits
        20..31) or ``31,5``, ``none`` or a mask.
    protect_product : str or int
        Product register bits protected the same way (``bitlevel``; the registered
        pipeline's multiplier stage, bits 0..15), e.g. ``15:13``, ``none`` or a mask.
    seed : int
        Root seed (voltage points, calibration crops), >= 0.
    jobs : int, optional
        Worker processes, >= 1, sharing the (voltage point, image batch) tasks; results do
        not depend on it (default: all cores, or the ``VSCALE_WORKERS`` environment variable).
    array : "RxC" or (rows, cols)
        Weight-stationary array of ``bitlevel`` (and the column depth of ``statistical``),
        rows x columns of PEs, each >= 1.
    penalty_cycles : int, optional
        Cycles one recovery stalls its scope (``bitlevel``), >= 0 (``stall_cycles`` also names it); default:
        the stall model of :mod:`sim.recovery` (the error flag's OR tree and the stall's
        repeated wire across the scope at the operating point, so a ``global`` stall grows
        with the array and as the supply drops).
    recovery : str
        Recovery of a detection (``bitlevel``): the whole array stalls (``global``), the PE's
        column (``column``), the PE replays (``local``) or the MAC is dropped (``drop``).
    razor_window_ps : float, "PCT%" or None
        Razor detection window in ps, or a percentage of the clock period, e.g. ``25%``
        (``bitlevel``; default: the largest feasible window of hold fixing, ``vscale pe razor``).
    plan : path, optional
        Per-layer protection plan (TOML, ``docs/array_simulation.md``) replacing `protect`,
        `recovery`, `penalty_cycles` and `razor_window_ps` (``bitlevel``).
    calibration : str
        Activation calibration per layer: ``percentile`` (99.99th percentile of ``|x|``),
        ``mse`` (threshold minimising the quantisation MSE) or ``entropy`` (threshold
        minimising the KL divergence, TensorRT's; clips ReLU6 outputs hard).
    calibration_images : path, optional
        Folder of calibration images (no labels), disjoint from the evaluation images; refused
        when empty, of a smaller image size or sharing an image with the evaluation images
        (default: the shipped MNIST calibration images for 28x28 models; for ImageNet models a
        seeded held-out fifth of the `images` folder, never evaluated, or scikit-image's
        photos with a warning).
    batch, clock_gating, power_gating, memory_vdd_v, dram, temperature_c :
        The energy columns' hardware (:class:`~experiments.studies.energy_options.EnergyFields`):
        `batch` images share each weight fold on the simulated array, whatever `images` is.
    (PE fields, ``vdd_v``, ``f_clk_mhz`` and ``t_setup_ps``, the flip-flops' setup time of
    ``statistical`` and ``bitlevel``: :class:`~experiments.studies.common.SweepFields`.)
    """

    CHOICES: ClassVar[Mapping[str, Sequence[str]]] = {
        "injection": INJECTIONS,
        "recovery": RECOVERY_POLICIES,
        "calibration": CALIBRATION_METHODS,
    }

    model: str = "tinymnv2"
    injection: str = "exact"
    images: Any = None
    labels: str | Path | None = None
    protect: Any = "none"
    protect_product: Any = "none"
    seed: int = 0
    jobs: int | None = None
    array: Any = "256x256"
    penalty_cycles: int | None = None
    recovery: str = "global"
    razor_window_ps: Any = None
    plan: str | Path | None = None
    calibration: str = "percentile"
    calibration_images: str | Path | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_not_with_plan(self, ("protect", "protect_product", "recovery", "penalty_cycles", "razor_window_ps"))
        check_model(self.model)
        self.check_energy_fields(self.pe_config().tech)
        check_choice("injection", self.injection, INJECTIONS)
        if self.injection != "exact" and (self.pipeline != "registered" or self.adder != "rca"):
            raise ConfigError(
                f"injection: {self.injection} models the registered pipeline with the rca adder; "
                f"got {self.pipeline} {self.adder}"
            )
        set_field(self, "images", check_images(self.images, model=self.model))
        check_labels(self.images, self.labels)
        self.protect_mask()
        from pe_models.razor import check_product_mask

        product = check_product_mask(self.pe_config(), self.protect_product_mask(), "protect_product")
        check_int("seed", self.seed, minimum=0)
        if self.jobs is not None:
            check_int("jobs", self.jobs, minimum=1)
        if self.penalty_cycles is not None:
            check_int("penalty_cycles", self.penalty_cycles, minimum=0)
        check_choice("recovery", self.recovery, RECOVERY_POLICIES)
        set_field(self, "razor_window_ps", parse_razor_window(self.razor_window_ps, 1e6 / self.f_clk_mhz))
        mask = self.protect_mask()
        if self.injection == "bitlevel" and (mask or product):
            from pe_models.pe import stage_timing
            from pe_models.razor import window_fs

            design = stage_timing(self.pe_config(), t_clk_ps=1e6 / self.f_clk_mhz)
            window_fs(design, self.razor_window_ps, pe=self.pe_config(), protected_mask=mask, product_mask=product)
        if self.plan is not None:
            plan = self.protection_plan()
            if plan.model is not None and plan.model != self.model:
                raise ConfigError(f"plan.model: the plan is for model {plan.model!r}, not {self.model!r}")
        check_choice("calibration", self.calibration, CALIBRATION_METHODS)
        folder = self.calibration_images
        if folder is not None and (not isinstance(folder, str | os.PathLike) or not str(folder).strip()):
            raise ConfigError(f"calibration_images: expected a folder of images, got {folder!r}")
        if self.calibration_images is not None and not Path(self.calibration_images).is_dir():
            raise ConfigError(f"calibration_images: {self.calibration_images} is not a directory")
        rows, cols = array_shape(self.array)
        set_field(self, "array", f"{rows}x{cols}")

    def protection_plan(self) -> Any:
        """The plan file, read (None without one)."""
        if self.plan is None:
            return None
        from experiments.plans import load_plan

        return load_plan(self.plan, width=self.width)

    def protect_mask(self) -> int:
        """The protected bits as a mask."""
        if isinstance(self.protect, str) or self.protect is None:
            return parse_bit_mask(self.protect or "none", width=self.width, option="protect")
        mask = check_int("protect", self.protect, minimum=0)
        if mask >> self.width:
            raise ConfigError(f"protect: bit {mask.bit_length() - 1} is out of range; allowed: 0..{self.width - 1}")
        return mask

    def protect_product_mask(self) -> int:
        """The protected product register bits as a mask."""
        return product_bit_mask(self.protect_product)

    def backend_options(self) -> dict[str, Any]:
        """Keyword options of :func:`workloads.backends.make_injection_backend` (besides VDD, mask, seed)."""
        if self.injection == "exact":
            return {}
        pe = self.pe_config()
        array = resolve_array(array=self.array, dataflow="ws")
        if self.injection == "statistical":
            return {"pe": pe, "f_clk_mhz": self.f_clk_mhz, "rows": array.rows, "t_setup_ps": self.t_setup_ps}
        array = dataclasses.replace(array, f_clk_mhz=self.f_clk_mhz, accumulator_bits=pe.width)
        return {
            "pe": pe,
            "f_clk_mhz": self.f_clk_mhz,
            "array": array,
            "penalty_cycles": self.penalty_cycles,
            "recovery": self.recovery,
            "razor_window_ps": self.razor_window_ps,
            "plan": self.protection_plan(),
            "t_setup_ps": self.t_setup_ps,
            "product_mask": self.protect_product_mask(),
        }


@dataclass(frozen=True, kw_only=True)
class AccuracyRow:
    """The int8 model at one supply voltage.

    Attributes
    ----------
    vdd_v : float
        Supply voltage in V.
    injection : str
    metric : str
        ``accuracy`` (against labels) or ``agreement`` (against the float model's top-1).
    images : int
        Evaluation images.
    top1_pct, top5_pct : float
        Images whose target is the top-1 / among the top-5 int8 scores, in %.
    float_top1_pct : float
        The float model's top-1 against the same targets, in % (100 for ``agreement``).
    unprotected_errors : int
        Wrong accumulator bits latched at unprotected positions, all layers.
    detections : int
        Corrected MACs (bitlevel: a detection in the accumulator or the product register, one
        per MAC) or protected wrong bits (statistical).
    compute_cycles, correction_cycles : int or None
        Array cycles without and for corrections (bitlevel only).
    latency_overhead_pct : float or None
        ``100 x correction_cycles / compute_cycles`` (bitlevel only), both counted by the
        engine in batches of ``batch`` images, the simulated hardware's.
    mac_dynamic_pj, register_clock_pj, leakage_pj, razor_overhead_pj, correction_pj, sram_pj, dram_pj : float
        Energy per inference by component at this VDD and the sweep's clock, nominal constants
        (:func:`~experiments.studies.inference_energy.inference_energy`: every GEMM layer's
        MACs and error-free cycles on the `array`, the switching activity of the first
        image's operands, the protected bits; with ``bitlevel`` also the recovery cycles and
        detections it counted per layer; ``exact`` and ``statistical`` count no recovery).
    energy_per_inference_pj : float
        Their sum.
    energy_per_inference_low_pj, energy_per_inference_high_pj : float
        The sum with every constant at the low (high) end of its band.
    saving_pct, system_saving_pct : float
        ``100 (1 - energy_per_inference_pj / the same at nominal VDD)``, same clock and
        protection: the nominal row of the sweep, or the error-free energy at nominal VDD
        when the sweep has none.
    core_pj, core_saving_pct : float
        The array's own energy (the first five components) and its saving.
    utilisation_pct, batch, cycles_per_image, latency_us : float
        The simulated array: utilisation over the batch's cycles, images per weight fold,
        error-free-plus-recovery cycles per image, the batch's latency.
    dvfs_f_clk_mhz, dvfs_energy_per_inference_pj, dvfs_core_pj, dvfs_latency_us : float
        DVFS baseline: the same work without Razor at the highest error-free clock of the VDD.
    dvfs_system_saving_pct, dvfs_core_saving_pct : float
        Its savings against the same nominal reference.
    product_detections, silent_product_errors : int
        MACs whose product register detected, and MACs with a protected product bit wrong and
        not detected (bitlevel; 0 otherwise).
    """

    vdd_v: float
    injection: str
    metric: str
    images: int
    top1_pct: float
    top5_pct: float
    float_top1_pct: float
    unprotected_errors: int
    detections: int
    compute_cycles: int | None
    correction_cycles: int | None
    latency_overhead_pct: float | None
    mac_dynamic_pj: float = math.nan
    register_clock_pj: float = math.nan
    leakage_pj: float = math.nan
    razor_overhead_pj: float = math.nan
    correction_pj: float = math.nan
    sram_pj: float = math.nan
    dram_pj: float = math.nan
    energy_per_inference_pj: float = math.nan
    energy_per_inference_low_pj: float = math.nan
    energy_per_inference_high_pj: float = math.nan
    saving_pct: float = math.nan
    core_pj: float = math.nan
    system_saving_pct: float = math.nan
    core_saving_pct: float = math.nan
    utilisation_pct: float = math.nan
    batch: int = 1
    cycles_per_image: float = math.nan
    latency_us: float = math.nan
    dvfs_f_clk_mhz: float = math.nan
    dvfs_energy_per_inference_pj: float = math.nan
    dvfs_core_pj: float = math.nan
    dvfs_latency_us: float = math.nan
    dvfs_system_saving_pct: float = math.nan
    dvfs_core_saving_pct: float = math.nan
    product_detections: int = 0
    silent_product_errors: int = 0


@dataclass(frozen=True, kw_only=True)
class ErrorRow:
    """Wrong values latched at one accumulator bit of one layer at one voltage.

    Attributes
    ----------
    vdd_v : float
    layer : str
    bit : int
    errors : int
        Wrong bits latched (over all MACs of the layer and all images).
    protected : bool
    """

    vdd_v: float
    layer: str
    bit: int
    errors: int
    protected: bool


@dataclass(frozen=True, kw_only=True)
class ErrorsPerBit(StudyResult[ErrorRow, AccuracyConfig]):
    """Per-layer, per-bit error counts (non-zero only)."""

    row_type = ErrorRow


@dataclass(frozen=True, kw_only=True)
class AccuracyResult(StudyResult[AccuracyRow, AccuracyConfig]):
    """One row per voltage; ``totals``: model, weights, metric, images, float_top1_pct,
    macs_per_image, calibration_count, calibration_source, protect_mask, nominal_vdd_v (the
    reference of ``saving_pct``).

    Attributes
    ----------
    error_rows : tuple of ErrorRow
        Non-zero error counts per voltage, layer and bit.
    """

    row_type = AccuracyRow

    error_rows: tuple[ErrorRow, ...] = field(compare=False)
    layer_rows: tuple[LayerEnergyRow, ...] = field(default=(), compare=False)

    def errors_per_bit(self) -> ErrorsPerBit:
        """The error counts as a result of their own (table, CSV, JSON)."""
        return ErrorsPerBit(config=self.config, rows=self.error_rows, totals=self.totals)

    def layer_table(self) -> Table:
        """Per VDD and GEMM layer: utilisation and energy per image (``energy_layers.csv``)."""
        columns = [item.name for item in dataclasses.fields(LayerEnergyRow)]
        return Table(columns=columns, rows=[list(dataclasses.astuple(row)) for row in self.layer_rows])


def _accuracy_point(
    prepared: PreparedModel,
    injection: str,
    vdd: float,
    protect_mask: int,
    backend: Any,
    codes: np.ndarray,
) -> tuple[AccuracyRow, list[ErrorRow]]:
    errors = 0
    error_rows = []
    plan = getattr(backend, "plan", None)
    for layer, counts in backend.stats.items():
        layer_mask = protect_mask if plan is None else plan.mask_for(layer)
        for bit, count in enumerate(np.asarray(counts)):
            if count:
                protected = bool(layer_mask >> bit & 1)
                error_rows.append(ErrorRow(vdd_v=vdd, layer=layer, bit=bit, errors=int(count), protected=protected))
                errors += 0 if protected else int(count)
    compute: int | None = getattr(backend, "compute_cycles", None)
    correction: int | None = getattr(backend, "correction_cycles", None)
    row = AccuracyRow(
        vdd_v=vdd,
        injection=injection,
        metric=prepared.bundle.metric,
        images=len(prepared.images),
        top1_pct=100.0 * float(np.mean(top_k_hits(codes, prepared.targets, 1))),
        top5_pct=100.0 * float(np.mean(top_k_hits(codes, prepared.targets, 5))),
        float_top1_pct=prepared.float_accuracy,
        unprotected_errors=errors,
        detections=int(sum(getattr(backend, "detections", {}).values())),
        compute_cycles=compute,
        correction_cycles=correction,
        latency_overhead_pct=100.0 * correction / compute if compute and correction is not None else None,
        product_detections=int(sum(getattr(backend, "product_detections", {}).values())),
        silent_product_errors=int(getattr(backend, "silent_product_errors", 0)),
    )
    return row, error_rows


def accuracy_points(
    prepared: PreparedModel,
    *,
    injection: str,
    vdds: list[float] | tuple[float, ...],
    protect_mask: int,
    seed: int,
    options: dict[str, Any],
    label: str = "accuracy",
    jobs: int | None = None,
    progress: Progress = no_progress,
    energy: Callable[[float, Any], PointEnergy] | None = None,
    nominal_vdd_v: float | None = None,
    hardware_batch: int | None = None,
) -> tuple[list[AccuracyRow], list[ErrorRow]]:
    """Run the prepared model at every VDD: one row per voltage and the per-layer error rows.

    Each voltage point has its own child of ``SeedSequence(seed)``; every (point, image
    batch) pair is one task of one worker pool (:func:`workloads.parallel.run_batches`,
    `jobs` workers, None: all cores), so the results do not depend on `jobs`.

    With `energy` (``energy(vdd_v, backend)`` -> breakdown per inference, ``backend`` None
    for an error-free run) and `nominal_vdd_v`, the rows get the energy columns, computed
    once per voltage point after the run, with ``saving_pct`` against the point at
    `nominal_vdd_v` (or ``energy(nominal_vdd_v, None)`` when the sweep has none).

    `hardware_batch`: images sharing each weight fold on the simulated array. The bit-level
    engine runs its images in batches of that size, so the cycles and recovery stalls it counts
    (and ``latency_overhead_pct``) are the simulated hardware's, the basis every command uses
    (default: the engine's memory-bounded batch, for the injection levels that count no cycles).
    """
    seeds = np.random.SeedSequence(seed).spawn(len(vdds))
    backends = [
        make_injection_backend(injection, vdd_v=vdd, protect_mask=protect_mask, seed=point_seed, **options)
        for vdd, point_seed in zip(vdds, seeds, strict=True)
    ]
    outputs = run_batches(
        prepared.model,
        prepared.images,
        backends,
        batch_size=hardware_batch or prepared.model.default_batch_size(),
        workers=jobs,
        progress=functools.partial(progress, label=label),
    )
    results = [
        _accuracy_point(prepared, injection, vdd, protect_mask, backend, codes)
        for vdd, backend, codes in zip(vdds, backends, outputs, strict=True)
    ]
    rows = [row for row, _ in results]
    if energy is not None and nominal_vdd_v is not None:
        breakdowns = [energy(vdd, backend) for vdd, backend in zip(vdds, backends, strict=True)]
        nominal = [b for vdd, b in zip(vdds, breakdowns, strict=True) if vdd == nominal_vdd_v]
        reference = nominal[0] if nominal else energy(nominal_vdd_v, None)
        rows = [
            dataclasses.replace(row, **energy_columns(breakdown, reference))
            for row, breakdown in zip(rows, breakdowns, strict=True)
        ]
    return rows, [error for _, errors in results for error in errors]


def accuracy(
    config: AccuracyConfig | None = None, /, *, progress: Progress = no_progress, **fields: Any
) -> AccuracyResult:
    """Accuracy of the int8 model at every supply voltage of the sweep.

    Parameters
    ----------
    config : AccuracyConfig, optional
        Or its fields as keyword arguments, e.g.
        ``accuracy(model="tinymnv2", vdd_v=[0.9, 0.55], injection="bitlevel", images=100)``.
    progress : callable
        Wraps the voltage loop; default: silent.

    Returns
    -------
    AccuracyResult
    """
    config = as_config(AccuracyConfig, config, fields)
    options = config.backend_options()
    protect_mask = config.protect_mask()
    calibration = CalibrationConfig(method=config.calibration)
    prepared = prepare_model(
        config.model,
        images=config.images,
        labels=config.labels,
        seed=config.seed,
        calibration=calibration,
        calibration_images=config.calibration_images,
    )
    plan = options.get("plan")
    if plan is not None:
        plan.check_layers([layer.name for layer in prepared.model.gemm_layers], model=config.model)
    pe = config.pe_config()
    array = dataclasses.replace(
        resolve_array(array=config.array, dataflow="ws"), f_clk_mhz=config.f_clk_mhz, accumulator_bits=pe.width
    )
    layers = inference_layers(prepared.model, prepared.images, pe=pe, array=array, seed=config.seed)
    energy_plan = config.protection_plan()
    masks = {layer.name: protect_mask if energy_plan is None else energy_plan.mask_for(layer.name) for layer in layers}
    product_mask = config.protect_product_mask() if config.injection == "bitlevel" else 0
    product_masks = {
        layer.name: product_mask if energy_plan is None else energy_plan.product_mask_for(layer.name)
        for layer in layers
    }

    gating = config.gating()
    memory = config.memory(array, node_nm=pe_energy_model(pe).node_nm, tech=pe.tech)

    recorded: dict[float, PointEnergy] = {}

    def energy(vdd_v: float, backend: Any) -> PointEnergy:
        recovery = getattr(backend, "layer_correction_cycles", None)
        counts = None
        if recovery is not None:
            detections = backend.detections
            counts = {name: (recovery.get(name, 0), detections.get(name, 0)) for name in masks}
        point = point_energy(
            layers,
            pe=pe,
            array=array,
            vdd_v=vdd_v,
            t_setup_ps=config.t_setup_ps,
            batch=config.batch,
            images=len(prepared.images),
            counts=counts,
            masks=masks,
            product_masks=product_masks,
            gating=gating,
            memory=memory,
        )
        if backend is not None:
            recorded[float(vdd_v)] = point
        return point

    nominal_v = float(pe.tech.vdd_nominal_v)
    rows, error_rows = accuracy_points(
        prepared,
        injection=config.injection,
        vdds=config.vdd_v,
        protect_mask=protect_mask,
        seed=config.seed,
        options=options,
        jobs=config.jobs,
        progress=progress,
        energy=energy,
        nominal_vdd_v=nominal_v,
        hardware_batch=config.batch if config.injection == "bitlevel" else None,
    )
    bundle = prepared.bundle
    totals = {
        "model": bundle.name,
        "weights": bundle.source,
        "metric": bundle.metric,
        "images": len(prepared.images),
        "float_top1_pct": prepared.float_accuracy,
        "macs_per_image": prepared.model.macs_per_image,
        "calibration_count": len(bundle.calibration_images),
        "calibration_source": bundle.calibration_source,
        "protect_mask": f"0x{protect_mask:08x}",
        "protect_product_mask": f"0x{config.protect_product_mask():04x}",
        "nominal_vdd_v": nominal_v,
        **config.energy_totals(),
        **config.timing_totals(pe),
    }
    layer_rows = tuple(row for vdd, point in recorded.items() for row in layer_energy_rows(vdd, point.per_layer))
    return AccuracyResult(
        config=config, rows=tuple(rows), totals=totals, error_rows=tuple(error_rows), layer_rows=layer_rows
    )


def plot_accuracy(result: AccuracyResult) -> Any:
    """Top-1 and top-5 against VDD (and the float top-1 for labelled images)."""
    from experiments.output import subplots

    rows = result.rows
    totals = result.totals
    injection = result.config.injection
    figure, axes = subplots(figsize=(6, 4))
    vdd = [row.vdd_v for row in rows]
    axes.plot(vdd, [row.top1_pct for row in rows], "o-", label=f"int8 top-1 ({injection})")
    axes.plot(vdd, [row.top5_pct for row in rows], "s--", label=f"int8 top-5 ({injection})")
    if totals["metric"] == "accuracy":
        axes.axhline(totals["float_top1_pct"], color="grey", linestyle=":", label="float top-1")
    axes.set_xlabel("VDD (V)")
    axes.set_ylabel(f"{totals['metric']} (%)")
    axes.set_title(f"{totals['model']}: {totals['metric']} vs supply voltage ({totals['images']} images)")
    axes.set_ylim(0, 101)
    axes.invert_xaxis()
    axes.grid(True, alpha=0.3)
    axes.legend()
    return figure


STUDY = Study(
    name="accuracy",
    config_type=AccuracyConfig,
    function=accuracy,
    summary="int8 accuracy (or agreement with the float model) against supply voltage",
)
