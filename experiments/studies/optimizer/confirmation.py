"""Step 4 of the optimizer: plans measured with bit-level injection (accuracy paired against the
int8 model at nominal VDD, latency overhead counted by the array engine, energy per image).

Every measurement runs its images in batches of :func:`~.profiling.measurement_batch` images (the
hardware's batch: the engine counts the simulated hardware's cycles and stalls) and keeps
each batch's cycles, the independent units of the latency overhead's bootstrap interval
(images of a batch share the array's folds and its stall cycles, so a single image's
cycles are not defined). Accuracy is paired against the error-free reference on the same
images: the loss with Tango's score interval and the non-inferiority test against the
budget (:mod:`experiments.stats`)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from experiments.results import saving_pct
from sim.protection import union_mask

from ..prepared import top_k_hits
from .config import OptimizeConfig
from .profiling import LayerProfile, measurement_batch, screen_array
from .solving import (
    Candidate,
    PlanChoice,
    SensitivityTable,
    meets_budgets,
    plan_bits,
    plan_product_bits,
    predicted_overhead,
    unprotected_plan,
)

__all__ = [
    "ConfirmationRow",
    "Measured",
    "PlanMeasurements",
    "PlanRow",
    "confirm_plans",
    "measure_plans",
    "paired_figures",
    "plan_energy",
    "plan_predictions",
]


@dataclass(frozen=True, kw_only=True)
class ConfirmationRow:
    """A plan re-run with bit-level injection on the selection images beside the screen's prediction.

    ``within_budgets``: the selection rule, the measured point estimates of the loss and the
    latency overhead within their budgets, and the plan error-free when the test images are
    too few to confirm any other (the test images decide whether the accepted plan is
    confirmed). ``loss_ci_*``: Tango's 95 % score interval; ``noninferiority_p``:
    Tango's test of ``loss >= budget``; ``overhead_ci_*``: bootstrap over batches.
    """

    role: str
    vdd_v: float
    recovery: str
    protected_bits: str
    product_bits: str
    images: int
    top1_pct: float
    reference_top1_pct: float
    lost: int
    gained: int
    accuracy_loss_pct: float
    loss_ci_low_pct: float
    loss_ci_high_pct: float
    noninferiority_p: float
    predicted_loss_pct: float
    latency_overhead_pct: float
    overhead_ci_low_pct: float
    overhead_ci_high_pct: float
    predicted_overhead_pct: float
    within_budgets: bool
    agreement: str


@dataclass(frozen=True)
class Measured:
    """One bit-level run: hits per image, cycles per batch, counts per layer.

    ``batch_cycles``: shape (batches, 3), compute and recovery cycles and images of each batch.
    ``error_free``: every path meets the clock by static timing, no MAC can be wrong.
    """

    hits: np.ndarray
    overhead_pct: float
    detections: int
    unprotected_errors: int
    layer_counts: dict[str, list[int]] = field(default_factory=dict)
    masks: dict[str, int] = field(default_factory=dict)
    product_masks: dict[str, int] = field(default_factory=dict)
    batch_cycles: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.int64))
    error_free: bool = False


class _PlanBackend:
    """Bit-level GEMMs of one plan (each layer its own protected bits, the array their union);
    counts cycles and detections per layer."""

    name = "bitlevel"

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.stats: dict[str, np.ndarray] = {}
        self.layer_counts: dict[str, list[int]] = {}

    def matmul(self, activations: np.ndarray, weights: np.ndarray, *, layer: str) -> np.ndarray:
        return self._counted(self.backend.matmul, activations, weights, layer)

    def matmul_groups(self, activations: np.ndarray, weights: np.ndarray, *, layer: str) -> np.ndarray:
        """The G GEMMs of a grouped convolution in one bit-level call (equal to G calls of :meth:`matmul`,
        counters included: :meth:`workloads.injection.BitlevelBackend.matmul_groups`)."""
        return self._counted(self.backend.matmul_groups, activations, weights, layer)

    def _counted(self, multiply: Any, activations: np.ndarray, weights: np.ndarray, layer: str) -> np.ndarray:
        backend = self.backend
        before = (backend.compute_cycles, backend.correction_cycles, backend.detections.get(layer, 0))
        out = multiply(activations, weights, layer=layer)
        counts = self.layer_counts.setdefault(layer, [0, 0, 0])
        counts[0] += backend.compute_cycles - before[0]
        counts[1] += backend.correction_cycles - before[1]
        counts[2] += backend.detections.get(layer, 0) - before[2]
        self.stats[layer] = backend.stats[layer]
        return out


def plan_predictions(
    prepared: Any,
    config: OptimizeConfig,
    plan: PlanChoice | None,
    *,
    layers: Sequence[str] = (),
    reference: Measured | None = None,
) -> Measured:
    """Top-1 hits per image and latency overhead of a plan with bit-level injection (None: nominal VDD).

    The plan runs as ``vscale accuracy --plan`` runs it: one array whose PEs carry the union of
    the layers' protected bits (hold buffers, window), each layer recovering its own bits, a
    recovery costing ``config.penalty_cycles`` or, when None, the stall model of
    :func:`sim.recovery.razor_design` for that array. When every path of the PE meets the
    clock at the plan's VDD (static timing, no variation) no MAC can be wrong: the error-free
    `reference` run is reused, with the plan's masks."""
    from sim.config import ArrayConfig
    from sim.protection import ProtectionPlan
    from workloads.injection import BitlevelBackend

    vdd = float(config.pe.tech.vdd_nominal_v) if plan is None else plan.vdd_v
    assert vdd is not None
    array = ArrayConfig(
        rows=config.rows, cols=config.cols, dataflow="ws", f_clk_mhz=config.f_clk_mhz, accumulator_bits=config.pe.width
    )
    candidate = (
        None
        if plan is None
        else Candidate(
            vdd_v=plan.vdd_v,
            recovery=plan.recovery,
            penalty_cycles=config.penalty_cycles,
            layers=tuple(layers),
            first_bits=plan.first_bits,
            model=config.model,
            width=config.pe.width,
            product_masks=plan.product_masks,
        )
    )
    masks = {} if candidate is None else candidate.layer_masks()
    if plan is not None and plan.masks is not None:
        masks = dict(zip(layers, plan.masks, strict=True))
    product_masks = {} if candidate is None else candidate.layer_product_masks()
    seed = np.random.SeedSequence(config.seed)
    protection_plan = None
    if plan is not None:
        protection_plan = ProtectionPlan(
            layers=masks,
            recovery=plan.recovery,
            penalty_cycles=config.penalty_cycles,
            razor_window_ps=config.razor_window_ps,
            model=config.model,
            product_layers=product_masks,
        )
    single = BitlevelBackend(
        vdd_v=vdd if plan is None else config.guarded_vdd_v(vdd),
        protect_mask=0,
        seed=seed,
        pe=config.pe,
        array=array,
        f_clk_mhz=config.f_clk_mhz,
        penalty_cycles=config.penalty_cycles,
        t_setup_ps=config.t_setup_ps,
        plan=protection_plan
        if protection_plan is not None and (protection_plan.hardware_mask or protection_plan.hardware_product_mask)
        else None,
    )
    error_free = single.error_free
    if reference is not None and error_free:
        return dataclasses.replace(reference, masks=masks, product_masks=product_masks, error_free=True)
    backend = _PlanBackend(single)
    step = measurement_batch(config)
    parts, batch_cycles = [], []
    for start in range(0, len(prepared.images), step):
        compute_before, correction_before = int(single.compute_cycles), int(single.correction_cycles)
        chunk = prepared.images[start : start + step]
        parts.append(prepared.model.run(chunk, backend, batch_size=step))
        batch_cycles.append(
            (single.compute_cycles - compute_before, single.correction_cycles - correction_before, len(chunk))
        )
    codes = np.concatenate(parts)
    hits = top_k_hits(codes, prepared.targets, 1)
    compute, correction = single.compute_cycles, single.correction_cycles
    detections = sum(single.detections.values())
    errors = 0
    for name, counts in backend.stats.items():
        mask = masks.get(name, 0)
        errors += int(sum(int(c) for bit, c in enumerate(counts) if not (mask >> bit) & 1))
    return Measured(
        hits=hits,
        overhead_pct=100.0 * correction / compute if compute else 0.0,
        detections=detections,
        unprotected_errors=errors,
        layer_counts=backend.layer_counts,
        masks=masks,
        product_masks=product_masks,
        batch_cycles=np.array(batch_cycles, dtype=np.int64).reshape(-1, 3),
        error_free=error_free,
    )


def paired_figures(
    reference: Measured,
    measured: Measured,
    config: OptimizeConfig,
    razor_flops: int = 0,
) -> dict[str, Any]:
    """Accuracy against the reference on the same images and latency, as row fields.

    Returns
    -------
    dict
        ``lost``, ``gained``, ``accuracy_loss_pct`` with Tango's 95 % interval
        (``loss_ci_low_pct``, ``loss_ci_high_pct``), ``noninferiority_p`` (Tango's test of
        ``loss >= max_accuracy_loss_pct``; NaN for an error-free run, whose loss is 0 by
        construction), ``latency_overhead_pct`` with its bootstrap interval over batches
        (``overhead_ci_low_pct``, ``overhead_ci_high_pct``; the recovery cycles of each batch
        over the error-free cycles the engine ran it in, one hardware batch of
        :func:`~.profiling.measurement_batch` images, as ``vscale accuracy`` counts them), and the verdict against every
        budget (``meets_budgets``, ``binding``: the budgets missed, ``+``-joined).
    """
    from experiments.stats import (
        OverheadInterval,
        PairedCounts,
        bootstrap_overhead_pct,
        check_budgets,
        loss_interval,
        noninferiority_test,
    )

    counts = PairedCounts.from_hits(reference.hits, measured.hits)
    interval = loss_interval(counts, confidence=0.95)
    test = noninferiority_test(counts, margin_pct=config.max_accuracy_loss_pct, alpha=config.noninferiority_alpha)
    cycles = measured.batch_cycles
    base = cycles[:, 0]
    if len(cycles) and base.sum() > 0:
        overhead = bootstrap_overhead_pct(cycles[:, 1], base, seed=config.seed)
    else:
        value = measured.overhead_pct
        overhead = OverheadInterval(overhead_pct=value, low_pct=value, high_pct=value, confidence=0.95, units=0)
    verdict = check_budgets(
        accuracy=None if measured.error_free else test,
        overhead=overhead,
        max_latency_overhead_pct=config.max_latency_overhead_pct,
        razor_flops=razor_flops,
        max_razor_flops=config.max_razor_flops,
    )
    return {
        "lost": counts.lost,
        "gained": counts.gained,
        "accuracy_loss_pct": counts.loss_pct,
        "loss_ci_low_pct": interval.low_pct,
        "loss_ci_high_pct": interval.high_pct,
        "noninferiority_p": math.nan if measured.error_free else test.p_value,
        "latency_overhead_pct": overhead.overhead_pct,
        "overhead_ci_low_pct": overhead.low_pct,
        "overhead_ci_high_pct": overhead.high_pct,
        "meets_budgets": verdict.meets,
        "binding": "+".join(verdict.failed),
    }


def confirm_plans(
    prepared: Any,
    config: OptimizeConfig,
    table: SensitivityTable,
    chosen: PlanChoice,
    per_vdd: dict[float, PlanChoice],
    *,
    progress_label: str = "confirm",
    test_images: int | None = None,
) -> tuple[tuple[ConfirmationRow, ...], PlanChoice]:
    """Bit-level injection of the chosen plan and its neighbours against the int8 model at
    nominal VDD on the selection images; when the chosen plan misses a budget on the
    measurement, the best plans of the higher VDDs are measured in turn until one meets both
    (role ``fallback``).

    The selection rule takes the measured point estimates (loss and latency overhead within
    their budgets): the selection images choose, the test images judge
    (:func:`paired_figures` on them; a plan chosen by its interval on a few hundred images
    would almost always be the unprotected top of the grid). When `test_images` are too few
    for the non-inferiority test to show any loss below the budget (fewer than
    :func:`experiments.stats.images_for_noninferiority` asks for a plan that changes no
    image, or a budget of 0), only error-free plans (every path meets the clock) are
    selected: no other plan could be confirmed.

    Returns
    -------
    rows : tuple of ConfirmationRow
    accepted : PlanChoice
        The least-energy measured plan within both budgets on the point estimates (the top
        of the grid, unprotected, when none is).
    """
    index = table.vdds.index(chosen.vdd_v)
    plans = [("chosen", chosen)]
    for offset in range(1, config.neighbours + 1):
        for role, position in (("lower VDD", index + offset), ("higher VDD", index - offset)):
            if 0 <= position < len(table.vdds) and table.vdds[position] in per_vdd:
                plans.append((f"{role} {offset}", per_vdd[table.vdds[position]]))
    reference = plan_predictions(prepared, config, None)
    only_error_free = test_images is not None and not _confirmable(config, test_images)
    rows = [_confirm_one(prepared, config, table, role, plan, reference, only_error_free) for role, plan in plans]
    passing = [(row, plan) for row, (_, plan) in zip(rows, plans, strict=True) if _measured_ok(row, config)]
    position = index - 1
    while not any(plan is chosen or plan.vdd_v > chosen.vdd_v for _, plan in passing) and position >= 0:
        plan = per_vdd.get(table.vdds[position])
        position -= 1
        if plan is None or any(plan is other for _, other in plans):
            continue
        row = _confirm_one(prepared, config, table, "fallback", plan, reference, only_error_free)
        rows.append(row)
        plans.append(("fallback", plan))
        if _measured_ok(row, config):
            passing.append((row, plan))
    if passing:
        accepted = min(passing, key=lambda pair: pair[1].energy_pj)[1]
    else:
        accepted = unprotected_plan(table.vdds[0], table.layers)
    return tuple(rows), accepted


def _measured_ok(row: ConfirmationRow, config: OptimizeConfig) -> bool:
    return row.within_budgets


def _confirmable(config: OptimizeConfig, test_images: int) -> bool:
    """Whether `test_images` images can show a loss below the budget for a plan that changes no image."""
    from experiments.stats import images_for_noninferiority

    margin = config.max_accuracy_loss_pct
    if margin <= 0.0:
        return False
    if margin >= 100.0:
        return True
    return test_images >= images_for_noninferiority(margin, 0.0, 0.0, alpha=config.noninferiority_alpha)


def _confirm_one(
    prepared: Any,
    config: OptimizeConfig,
    table: SensitivityTable,
    role: str,
    plan: PlanChoice,
    reference: Measured,
    only_error_free: bool = False,
) -> ConfirmationRow:
    measured = plan_predictions(prepared, config, plan, layers=table.layers, reference=reference)
    figures = paired_figures(reference, measured, config, plan.razor_flops)
    predicted_ok = meets_budgets(plan, config)
    measured_ok = (
        figures["accuracy_loss_pct"] <= config.max_accuracy_loss_pct
        and figures["latency_overhead_pct"] <= config.max_latency_overhead_pct
    )
    if predicted_ok == measured_ok:
        agreement = "agree"
    elif predicted_ok:
        agreement = "screen feasible, measured over budget"
    else:
        agreement = "screen over budget, measured feasible"
    return ConfirmationRow(
        role=role,
        vdd_v=plan.vdd_v,
        recovery=plan.recovery,
        protected_bits=plan_bits(plan, table.layers, config.pe.width),
        product_bits=plan_product_bits(plan, table.layers),
        images=len(measured.hits),
        top1_pct=100.0 * float(np.mean(measured.hits)),
        reference_top1_pct=100.0 * float(np.mean(reference.hits)),
        lost=figures["lost"],
        gained=figures["gained"],
        accuracy_loss_pct=figures["accuracy_loss_pct"],
        loss_ci_low_pct=figures["loss_ci_low_pct"],
        loss_ci_high_pct=figures["loss_ci_high_pct"],
        noninferiority_p=figures["noninferiority_p"],
        predicted_loss_pct=plan.predicted_loss_pct,
        latency_overhead_pct=figures["latency_overhead_pct"],
        overhead_ci_low_pct=figures["overhead_ci_low_pct"],
        overhead_ci_high_pct=figures["overhead_ci_high_pct"],
        predicted_overhead_pct=plan.latency_overhead_pct,
        within_budgets=measured_ok and (measured.error_free or not only_error_free),
        agreement=agreement,
    )


@dataclass(frozen=True, kw_only=True)
class PlanRow:
    """A plan measured with bit-level injection: accuracy against the int8 model at nominal
    VDD on the same images (paired: images ``lost`` and ``gained``, the loss with Tango's 95 %
    score interval, the non-inferiority p-value against the accuracy budget), latency
    overhead with its bootstrap interval over batches, energy per image with its breakdown
    and band (uJ) and the saving's band, and the verdict against every budget
    (``meets_budgets``; ``binding``: the budgets missed).

    ``saving_pct`` (= ``system_saving_pct``) and ``core_saving_pct`` against the
    unprotected run at nominal VDD; ``dvfs_*``: the DVFS baseline at the plan's VDD (no
    Razor, highest error-free clock); ``area_overhead_pct``: the plan's Razor flops and
    hold-fix buffers over the unprotected PE (``pe_area_um2``). The last columns repeat the
    system, core, register-and-clock and DVFS energies in pJ under the names ``vscale
    energy``, ``vscale accuracy`` and ``best_per_vdd.csv`` give them
    (``energy_per_inference_pj``, ``core_pj``, ``register_clock_pj``,
    ``dvfs_energy_per_inference_pj``, ``dvfs_core_pj``).
    """

    label: str
    vdd_v: float
    recovery: str
    protected_bits: str
    images: int
    top1_pct: float
    lost: int
    gained: int
    accuracy_loss_pct: float
    loss_ci_low_pct: float
    loss_ci_high_pct: float
    noninferiority_p: float
    detections_per_image: float
    unprotected_errors_per_image: float
    latency_overhead_pct: float
    overhead_ci_low_pct: float
    overhead_ci_high_pct: float
    predicted_overhead_pct: float
    latency_us: float
    energy_uj: float
    energy_low_uj: float
    energy_high_uj: float
    saving_pct: float
    saving_low_pct: float
    saving_high_pct: float
    error_free: bool
    meets_budgets: bool
    binding: str
    mac_dynamic_uj: float
    register_clock_uj: float
    leakage_uj: float
    razor_overhead_uj: float
    correction_uj: float
    sram_uj: float
    dram_uj: float
    core_uj: float = math.nan
    system_saving_pct: float = math.nan
    core_saving_pct: float = math.nan
    utilisation_pct: float = math.nan
    batch: int = 1
    cycles_per_image: float = math.nan
    dvfs_f_clk_mhz: float = math.nan
    dvfs_energy_uj: float = math.nan
    dvfs_latency_us: float = math.nan
    dvfs_system_saving_pct: float = math.nan
    dvfs_core_saving_pct: float = math.nan
    pe_area_um2: float = math.nan
    area_overhead_pct: float = math.nan
    product_bits: str = "none"
    energy_per_inference_pj: float = math.nan
    core_pj: float = math.nan
    register_clock_pj: float = math.nan
    dvfs_energy_per_inference_pj: float = math.nan
    dvfs_core_pj: float = math.nan


def plan_energy(
    config: OptimizeConfig, profiles: Sequence[LayerProfile], vdd_v: float, measured: Measured, images: int
) -> Any:
    """Energy per image of a measured run and the DVFS baseline beside it
    (:func:`~experiments.studies.inference_energy.point_energy`, as ``accuracy`` computes it):
    per layer the closed-form batch activity plus the recovery cycles and detections the
    simulator counted over `images`, the plan's protected bits with their design hold-fix buffers."""
    from pe_models.energy import pe_energy_model

    from ..inference_energy import point_energy

    array = screen_array(config)
    counts = {name: (c[1], c[2]) for name, c in measured.layer_counts.items()}
    return point_energy(
        [profile.work for profile in profiles],
        pe=config.pe,
        array=array,
        vdd_v=vdd_v,
        t_setup_ps=config.t_setup_ps,
        batch=config.batch,
        images=images,
        counts=counts,
        masks=measured.masks,
        product_masks=measured.product_masks,
        gating=config.gating(),
        memory=config.memory(array, node_nm=pe_energy_model(config.pe).node_nm, tech=config.pe.tech),
        guard_band_v=config.guard_band_mv / 1000.0,
    )


_FORKED: tuple[Any, OptimizeConfig, tuple[str, ...], Measured] | None = None


def _forked_measure(plan: PlanChoice | None) -> Measured:
    """One plan in a forked worker, with the parent's prepared model."""
    assert _FORKED is not None
    prepared, config, layers, reference = _FORKED
    if plan is None:
        return reference
    return plan_predictions(prepared, config, plan, layers=layers, reference=reference)


def _cost_rank(plan: PlanChoice | None) -> tuple[int, float]:
    """Sort key putting the plans that likely take longest first: protected ones (every MAC a Razor
    flip-flop can catch needs its shadow sample) before unprotected ones, lower VDDs (more wrong MACs)
    first. Only the order the workers take them in; what each plan measures does not depend on it."""
    if plan is None:
        return (2, 0.0)
    protected = any(bit >= 0 for bit in plan.first_bits) or any(plan.masks or ()) or any(plan.product_masks or ())
    return (0 if protected else 1, plan.vdd_v)


class PlanMeasurements:
    """Bit-level runs of plans on one image set, in forked worker processes (``jobs`` > 1) or in
    this process when collected, submitted before they are needed: ``vscale run`` submits
    step 2's plans (which do not depend on the optimizer) before the optimizer runs, so the
    workers measure them while this process screens. Every plan's injection is seeded from
    ``config.seed`` alone, so what a run measures does not depend on when or where it ran.

    Use as a context manager (the workers end with it); :meth:`submit` plans, then
    :func:`measure_plans` with ``measurements=`` collects them in order.
    """

    def __init__(self, prepared: Any, config: OptimizeConfig, layers: Sequence[str], *, jobs: int = 1) -> None:
        self.prepared = prepared
        self.config = config
        self.layers = tuple(layers)
        self.jobs = jobs
        self.reference = plan_predictions(prepared, config, None)
        self.pending: list[tuple[tuple[str, PlanChoice | None], Any]] = []
        self._pool: Any = None

    def __enter__(self) -> PlanMeasurements:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def start_workers(self) -> None:
        """Fork the worker processes (with ``jobs`` > 1; once), which take the plans submitted so far
        and later ones in order."""
        global _FORKED
        if self.jobs <= 1 or self._pool is not None:
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        _FORKED = (self.prepared, self.config, self.layers, self.reference)
        try:
            context = multiprocessing.get_context("fork")
            self._pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=context)
            self._pool.submit(_forked_measure, None).result()  # forks the workers now, with _FORKED set
        finally:
            _FORKED = None
        self.pending = [
            (item, self._pool.submit(_forked_measure, item[1]) if future is None else future)
            for item, future in self.pending
        ]

    def submit(self, plans: Sequence[tuple[str, PlanChoice | None]]) -> None:
        """Queue `plans` (to the workers when started), the likely longest first (:func:`_cost_rank`):
        two workers then end together more often than in the given order."""
        for item in sorted(plans, key=lambda item: _cost_rank(item[1])):
            future = None if self._pool is None else self._pool.submit(_forked_measure, item[1])
            self.pending.append((item, future))

    def collect(self, plans: Sequence[tuple[str, PlanChoice | None]], wrap: Any) -> list[Measured]:
        """The measurement of each of `plans` (each submitted, or measured here now), in order."""
        results: list[Measured] = []
        for item in wrap(list(plans)):
            position = next((i for i, (queued, _) in enumerate(self.pending) if queued is item), None)
            future = None if position is None else self.pending.pop(position)[1]
            if future is not None:
                results.append(future.result())
            elif item[1] is None:
                results.append(self.reference)
            else:
                results.append(
                    plan_predictions(self.prepared, self.config, item[1], layers=self.layers, reference=self.reference)
                )
        return results


def measure_plans(
    prepared: Any,
    config: OptimizeConfig,
    profiles: Sequence[LayerProfile],
    plans: Sequence[tuple[str, PlanChoice | None]],
    *,
    table: SensitivityTable | None = None,
    progress: Any = None,
    jobs: int = 1,
    measurements: PlanMeasurements | None = None,
) -> tuple[PlanRow, ...]:
    """Run each plan (None: unprotected at the top of the grid) with bit-level injection and
    measure accuracy (paired against the int8 model at nominal VDD), latency and energy.

    `jobs` > 1 measures the plans in forked worker processes; every plan's injection is
    seeded from ``config.seed`` alone, so the rows do not depend on `jobs`. The latency
    overhead is the recovery cycles the engine counted over the error-free cycles it ran, in
    batches of the simulated hardware's `batch` images per weight fold (the basis of the
    screen's prediction and of ``vscale accuracy``); its interval resamples the batches.
    `measurements`: plans already submitted on `prepared` with `config` (:class:`PlanMeasurements`;
    the plans given here are the same objects), the others measured here.
    """
    from experiments.stats import saving_band_pct

    layers = tuple(p.name for p in profiles)
    images = len(prepared.images)
    wrap = progress or (lambda items: items)
    if measurements is not None:
        reference = measurements.reference
        results = measurements.collect(plans, wrap)
    else:
        with PlanMeasurements(prepared, config, layers, jobs=min(jobs, len(plans))) as pending:
            reference = pending.reference
            pending.submit(plans)
            pending.start_workers()
            results = pending.collect(plans, wrap)
    nominal = plan_energy(config, profiles, float(config.pe.tech.vdd_nominal_v), reference, images).breakdown
    nominal_uj = nominal.total_pj.nominal / 1e6
    nominal_core_uj = nominal.core_pj.nominal / 1e6
    rows = []
    for (label, plan), measured in zip(plans, results, strict=True):
        vdd = float(config.pe.tech.vdd_nominal_v if plan is None else plan.vdd_v)
        point = plan_energy(config, profiles, vdd, measured, images)
        energy = point.breakdown
        figures = paired_figures(reference, measured, config, 0 if plan is None else plan.razor_flops)
        components = energy.components()
        parts = {name: band.nominal / 1e6 for name, band in components.items()}
        saving = saving_band_pct(components, nominal.components())
        total = energy.total_pj
        rows.append(
            PlanRow(
                label=label,
                vdd_v=vdd,
                recovery="none" if plan is None else plan.recovery,
                protected_bits="none" if plan is None else plan_bits(plan, layers, config.pe.width),
                product_bits="none" if plan is None else plan_product_bits(plan, layers),
                images=images,
                top1_pct=100.0 * float(np.mean(measured.hits)),
                detections_per_image=measured.detections / images,
                unprotected_errors_per_image=measured.unprotected_errors / images,
                predicted_overhead_pct=predicted_overhead(table, plan) if table is not None else math.nan,
                latency_us=energy.latency_us,
                energy_uj=total.nominal / 1e6,
                energy_low_uj=total.low / 1e6,
                energy_high_uj=total.high / 1e6,
                saving_pct=saving.nominal_pct,
                saving_low_pct=saving.low_pct,
                saving_high_pct=saving.high_pct,
                error_free=measured.error_free,
                **figures,
                **{f"{name.removesuffix('_pj')}_uj": value for name, value in parts.items()},
                **_measured_columns(config, point, measured, nominal_uj, nominal_core_uj),
            )
        )
    return tuple(rows)


def _measured_columns(
    config: OptimizeConfig, point: Any, measured: Measured, nominal_uj: float, nominal_core_uj: float
) -> dict[str, Any]:
    """Core, DVFS and area columns of a measured plan."""
    from pe_models.energy import pe_energy_model
    from sim.energy import design_hold_buffers

    energy, dvfs = point.breakdown, point.dvfs
    total_uj, core_uj = energy.total_pj.nominal / 1e6, energy.core_pj.nominal / 1e6
    area = pe_energy_model(config.pe).area
    widest = max(measured.masks.values(), default=0, key=lambda mask: int(mask).bit_count())
    product = union_mask(measured.product_masks.values())
    return {
        "core_uj": core_uj,
        "system_saving_pct": saving_pct(total_uj, nominal_uj),
        "core_saving_pct": saving_pct(core_uj, nominal_core_uj),
        "utilisation_pct": 100.0 * energy.utilisation,
        "batch": energy.batch,
        "cycles_per_image": energy.cycles_per_image,
        "dvfs_f_clk_mhz": point.dvfs_f_clk_mhz,
        "dvfs_energy_uj": dvfs.total_pj.nominal / 1e6,
        "dvfs_latency_us": dvfs.latency_us,
        "dvfs_system_saving_pct": saving_pct(dvfs.total_pj.nominal / 1e6, nominal_uj),
        "dvfs_core_saving_pct": saving_pct(dvfs.core_pj.nominal / 1e6, nominal_core_uj),
        "energy_per_inference_pj": energy.total_pj.nominal,
        "core_pj": energy.core_pj.nominal,
        "register_clock_pj": energy.register_clock_pj.nominal,
        "dvfs_energy_per_inference_pj": dvfs.total_pj.nominal,
        "dvfs_core_pj": dvfs.core_pj.nominal,
        "pe_area_um2": area.pe_um2,
        "area_overhead_pct": area.overhead_pct(
            int(widest).bit_count() + product.bit_count(),
            design_hold_buffers(config.pe, config.f_clk_mhz, int(widest), product_mask=product),
        ),
    }
