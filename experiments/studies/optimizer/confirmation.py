"""Step 4 of the optimizer: plans measured with bit-level injection (accuracy paired against the
int8 model at nominal VDD, latency overhead counted by the array engine, energy per image)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..prepared import top_k_hits
from .config import OptimizeConfig
from .profiling import LayerProfile, screen_array
from .solving import (
    Candidate,
    PlanChoice,
    SensitivityTable,
    meets_budgets,
    plan_bits,
    predicted_overhead,
    unprotected_plan,
)


@dataclass(frozen=True, kw_only=True)
class ConfirmationRow:
    """A plan re-run with bit-level injection beside the screen's prediction."""

    role: str
    vdd_v: float
    recovery: str
    protected_bits: str
    images: int
    top1_pct: float
    reference_top1_pct: float
    accuracy_loss_pct: float
    loss_ci_low_pct: float
    loss_ci_high_pct: float
    mcnemar_p: float
    predicted_loss_pct: float
    latency_overhead_pct: float
    predicted_overhead_pct: float
    meets_budgets: bool
    agreement: str


@dataclass(frozen=True)
class Measured:
    hits: np.ndarray
    overhead_pct: float
    detections: int
    unprotected_errors: int
    layer_counts: dict[str, list[int]] = field(default_factory=dict)
    masks: dict[str, int] = field(default_factory=dict)


class _PlanBackend:
    """Bit-level GEMMs with each layer's own protected bits; counts cycles and detections per layer."""

    name = "bitlevel"

    def __init__(self, backends: dict[int, Any], masks: dict[str, int]) -> None:
        self.backends = backends
        self.masks = masks
        self.stats: dict[str, np.ndarray] = {}
        self.layer_counts: dict[str, list[int]] = {}

    def matmul(self, activations: np.ndarray, weights: np.ndarray, *, layer: str) -> np.ndarray:
        backend = self.backends[self.masks.get(layer, 0)]
        before = (backend.compute_cycles, backend.correction_cycles, backend.detections.get(layer, 0))
        out = backend.matmul(activations, weights, layer=layer)
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

    When every path of the PE meets the clock at the plan's VDD (static timing, no
    variation) no MAC can be wrong: the error-free `reference` run is reused, with the
    plan's masks."""
    from sim.config import ArrayConfig
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
        )
    )
    masks = {} if candidate is None else candidate.layer_masks()
    if plan is not None and plan.masks is not None:
        masks = dict(zip(layers, plan.masks, strict=True))
    seed = np.random.SeedSequence(config.seed)
    backends = {
        mask: BitlevelBackend(
            vdd_v=vdd,
            protect_mask=mask,
            seed=seed,
            pe=config.pe,
            array=array,
            f_clk_mhz=config.f_clk_mhz,
            penalty_cycles=config.penalty_cycles,
            t_setup_ps=config.t_setup_ps,
        )
        for mask in {0, *masks.values()}
    }
    if reference is not None and all(item.error_free for item in backends.values()):
        return dataclasses.replace(reference, masks=masks)
    for item in backends.values():
        _set_recovery(item, "global" if plan is None else plan.recovery, config.razor_window_ps)
    backend = _PlanBackend(backends, masks)
    codes = prepared.model.run(prepared.images, backend)
    hits = top_k_hits(codes, prepared.targets, 1)
    compute = sum(b.compute_cycles for b in backends.values())
    correction = sum(b.correction_cycles for b in backends.values())
    detections = sum(sum(b.detections.values()) for b in backends.values())
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
    )


def confirm_plans(
    prepared: Any,
    config: OptimizeConfig,
    table: SensitivityTable,
    chosen: PlanChoice,
    per_vdd: dict[float, PlanChoice],
    *,
    progress_label: str = "confirm",
) -> tuple[tuple[ConfirmationRow, ...], PlanChoice]:
    """Bit-level injection of the chosen plan and its neighbours against the int8 model at
    nominal VDD; when the chosen plan misses a budget on the measurement, the best plans of
    the higher VDDs are measured in turn until one meets both (role ``fallback``).

    Returns
    -------
    rows : tuple of ConfirmationRow
    accepted : PlanChoice
        The least-energy measured plan that meets both budgets on the point estimates (the
        top of the grid, unprotected, when none does).
    """
    index = table.vdds.index(chosen.vdd_v)
    plans = [("chosen", chosen)]
    for offset in range(1, config.neighbours + 1):
        for role, position in (("lower VDD", index + offset), ("higher VDD", index - offset)):
            if 0 <= position < len(table.vdds) and table.vdds[position] in per_vdd:
                plans.append((f"{role} {offset}", per_vdd[table.vdds[position]]))
    reference = plan_predictions(prepared, config, None)
    rows = [_confirm_one(prepared, config, table, role, plan, reference) for role, plan in plans]
    passing = [(row, plan) for row, (_, plan) in zip(rows, plans, strict=True) if _measured_ok(row, config)]
    position = index - 1
    while not any(plan is chosen or plan.vdd_v > chosen.vdd_v for _, plan in passing) and position >= 0:
        plan = per_vdd.get(table.vdds[position])
        position -= 1
        if plan is None or any(plan is other for _, other in plans):
            continue
        row = _confirm_one(prepared, config, table, "fallback", plan, reference)
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
    return (
        row.accuracy_loss_pct <= config.max_accuracy_loss_pct
        and row.latency_overhead_pct <= config.max_latency_overhead_pct
    )


def _confirm_one(
    prepared: Any,
    config: OptimizeConfig,
    table: SensitivityTable,
    role: str,
    plan: PlanChoice,
    reference: Measured,
) -> ConfirmationRow:
    from experiments.stats import bootstrap_difference_ci, mcnemar

    measured = plan_predictions(prepared, config, plan, layers=table.layers, reference=reference)
    hits = measured.hits
    reference_hits = reference.hits
    loss = 100.0 * float(np.mean(reference_hits) - np.mean(hits))
    low, high = bootstrap_difference_ci(reference_hits, hits, seed=config.seed)
    test = mcnemar(reference_hits, hits)
    meets = 100.0 * high <= config.max_accuracy_loss_pct and measured.overhead_pct <= config.max_latency_overhead_pct
    predicted_ok = meets_budgets(plan, config)
    measured_ok = loss <= config.max_accuracy_loss_pct and measured.overhead_pct <= config.max_latency_overhead_pct
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
        images=len(hits),
        top1_pct=100.0 * float(np.mean(hits)),
        reference_top1_pct=100.0 * float(np.mean(reference_hits)),
        accuracy_loss_pct=loss,
        loss_ci_low_pct=100.0 * low,
        loss_ci_high_pct=100.0 * high,
        mcnemar_p=test.p_value,
        predicted_loss_pct=plan.predicted_loss_pct,
        latency_overhead_pct=measured.overhead_pct,
        predicted_overhead_pct=plan.latency_overhead_pct,
        meets_budgets=meets,
        agreement=agreement,
    )


@dataclass(frozen=True, kw_only=True)
class PlanRow:
    """A plan measured with bit-level injection: accuracy against the int8 model at nominal
    VDD (paired), latency, and energy per image with its breakdown and band (uJ).

    ``saving_pct`` (= ``system_saving_pct``) and ``core_saving_pct`` against the
    unprotected run at nominal VDD; ``dvfs_*``: the DVFS baseline at the plan's VDD (no
    Razor, highest error-free clock); ``area_overhead_pct``: the plan's Razor flops and
    hold-fix buffers over the unprotected PE (``pe_area_um2``).
    """

    label: str
    vdd_v: float
    recovery: str
    protected_bits: str
    images: int
    top1_pct: float
    accuracy_loss_pct: float
    loss_ci_low_pct: float
    loss_ci_high_pct: float
    mcnemar_p: float
    detections_per_image: float
    unprotected_errors_per_image: float
    latency_overhead_pct: float
    predicted_overhead_pct: float
    latency_us: float
    energy_uj: float
    energy_low_uj: float
    energy_high_uj: float
    saving_pct: float
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
    dvfs_f_clk_mhz: float = math.nan
    dvfs_energy_uj: float = math.nan
    dvfs_latency_us: float = math.nan
    dvfs_system_saving_pct: float = math.nan
    dvfs_core_saving_pct: float = math.nan
    pe_area_um2: float = math.nan
    area_overhead_pct: float = math.nan


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
        gating=config.gating(),
        memory=config.memory(array, node_nm=pe_energy_model(config.pe).node_nm, tech=config.pe.tech),
    )


_FORKED: tuple[Any, OptimizeConfig, tuple[str, ...], Measured] | None = None


def _forked_measure(plan: PlanChoice | None) -> Measured:
    """One plan in a forked worker, with the parent's prepared model."""
    assert _FORKED is not None
    prepared, config, layers, reference = _FORKED
    if plan is None:
        return reference
    return plan_predictions(prepared, config, plan, layers=layers, reference=reference)


def measure_plans(
    prepared: Any,
    config: OptimizeConfig,
    profiles: Sequence[LayerProfile],
    plans: Sequence[tuple[str, PlanChoice | None]],
    *,
    table: SensitivityTable | None = None,
    progress: Any = None,
    jobs: int = 1,
) -> tuple[PlanRow, ...]:
    """Run each plan (None: unprotected at the top of the grid) with bit-level injection and
    measure accuracy (paired against the int8 model at nominal VDD), latency and energy.

    `jobs` > 1 measures the plans in forked worker processes; every plan's injection is
    seeded from ``config.seed`` alone, so the rows do not depend on `jobs`. The latency
    overhead is the recovery cycles the engine counted over the error-free cycles of the
    simulated hardware (`batch` images per weight fold, :attr:`LayerProfile.base_cycles`),
    the basis of the screen's prediction."""
    from experiments.stats import bootstrap_difference_ci, mcnemar

    global _FORKED
    layers = tuple(p.name for p in profiles)
    images = len(prepared.images)
    reference = plan_predictions(prepared, config, None)
    nominal = plan_energy(config, profiles, float(config.pe.tech.vdd_nominal_v), reference, images).breakdown
    nominal_uj = nominal.total_pj.nominal / 1e6
    nominal_core_uj = nominal.core_pj.nominal / 1e6
    wrap = progress or (lambda items: items)
    if jobs > 1 and len(plans) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        _FORKED = (prepared, config, layers, reference)
        try:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=min(jobs, len(plans)), mp_context=context) as pool:
                futures = [pool.submit(_forked_measure, plan) for _, plan in plans]
                results = [future.result() for future in wrap(futures)]
        finally:
            _FORKED = None
    else:
        results = [
            reference if plan is None else plan_predictions(prepared, config, plan, layers=layers, reference=reference)
            for _, plan in wrap(plans)
        ]
    rows = []
    for (label, plan), measured in zip(plans, results, strict=True):
        vdd = float(config.pe.tech.vdd_nominal_v if plan is None else plan.vdd_v)
        point = plan_energy(config, profiles, vdd, measured, images)
        energy = point.breakdown
        low, high = bootstrap_difference_ci(reference.hits, measured.hits, seed=config.seed)
        parts = {name: band.nominal / 1e6 for name, band in energy.components().items()}
        total = energy.total_pj
        compute = images * sum(profile.base_cycles for profile in profiles)
        correction = sum(c[1] for c in measured.layer_counts.values())
        rows.append(
            PlanRow(
                label=label,
                vdd_v=vdd,
                recovery="none" if plan is None else plan.recovery,
                protected_bits="none" if plan is None else plan_bits(plan, layers, config.pe.width),
                images=images,
                top1_pct=100.0 * float(np.mean(measured.hits)),
                accuracy_loss_pct=100.0 * float(np.mean(reference.hits) - np.mean(measured.hits)),
                loss_ci_low_pct=100.0 * low,
                loss_ci_high_pct=100.0 * high,
                mcnemar_p=mcnemar(reference.hits, measured.hits).p_value,
                detections_per_image=measured.detections / images,
                unprotected_errors_per_image=measured.unprotected_errors / images,
                latency_overhead_pct=100.0 * correction / compute if compute else 0.0,
                predicted_overhead_pct=predicted_overhead(table, plan) if table is not None else math.nan,
                latency_us=energy.latency_us,
                energy_uj=total.nominal / 1e6,
                energy_low_uj=total.low / 1e6,
                energy_high_uj=total.high / 1e6,
                saving_pct=100.0 * (1.0 - total.nominal / 1e6 / nominal_uj),
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
    return {
        "core_uj": core_uj,
        "system_saving_pct": 100.0 * (1.0 - total_uj / nominal_uj),
        "core_saving_pct": 100.0 * (1.0 - core_uj / nominal_core_uj),
        "utilisation_pct": 100.0 * energy.utilisation,
        "batch": energy.batch,
        "dvfs_f_clk_mhz": point.dvfs_f_clk_mhz,
        "dvfs_energy_uj": dvfs.total_pj.nominal / 1e6,
        "dvfs_latency_us": dvfs.latency_us,
        "dvfs_system_saving_pct": 100.0 * (1.0 - dvfs.total_pj.nominal / 1e6 / nominal_uj),
        "dvfs_core_saving_pct": 100.0 * (1.0 - dvfs.core_pj.nominal / 1e6 / nominal_core_uj),
        "pe_area_um2": area.pe_um2,
        "area_overhead_pct": area.overhead_pct(
            int(widest).bit_count(), design_hold_buffers(config.pe, config.f_clk_mhz, int(widest))
        ),
    }


def _set_recovery(backend: Any, recovery: str, razor_window_ps: float | None = None) -> None:
    """Make a bit-level backend recover with `recovery` and detect with the Razor window
    `razor_window_ps` (the array engines count the cycles)."""
    names = {f.name for f in dataclasses.fields(backend.protection)}
    key = "recovery" if "recovery" in names else "stall_scope"
    if key == "stall_scope" and recovery not in ("global", "column"):
        return
    changes: dict[str, Any] = {key: recovery}
    if "razor_window_ps" in names:
        changes["razor_window_ps"] = razor_window_ps
    backend.protection = dataclasses.replace(backend.protection, **changes)
