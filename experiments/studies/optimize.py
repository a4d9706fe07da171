"""Step 3: the protection and voltage optimizer.

Choose the supply voltage (a grid of 10 mV steps), per layer the protected accumulator
bits ``k_l .. MSB`` and the recovery policy that minimise energy per inference subject to
an accuracy-loss budget, a latency-overhead budget and optionally a budget of Razor
flip-flops. Method (details and the argument for each step in ``docs/optimizer.md``):

1. **Screen.** The int8 model runs error-free on a few images; every GEMM layer's
   partial sums and products are sampled as a weight-stationary column forms them, and
   the analytic level (:mod:`pe_models.analytic`) gives per layer and VDD the probability
   ``p_{l,i}`` that accumulator bit ``i`` of a MAC step is latched wrong.
2. **Sensitivity table.** For every (VDD, layer, first protected bit ``k``): the MAC
   detection probability ``q = 1 - prod_{i>=k} (1 - p_i)``, the expected number of
   *visible* unprotected errors per image ``lambda`` (an error of ``2^i`` moves the
   requantised output with probability ``min(1, 2^i s_l)``, ``s_l`` the layer's largest
   requantisation multiplier), the recovery cycles of each policy in closed form and the
   energy per image of the layer: the same model the measurements use
   (:func:`~experiments.studies.inference_energy.layer_coefficients`: gating, `batch`
   images per weight fold, SRAM and DRAM included), linear in the choices.
3. **Solve.** The per-layer choices are a multiple-choice knapsack with two linear
   constraints, solved exactly per (VDD, policy) by ``scipy.optimize.milp``:
   ``sum lambda <= -ln(1 - budget)`` (an upper bound on the accuracy loss: an image is
   lost at worst when at least one visible error hits it, Poisson), recovery cycles
   ``<= budget x base cycles``, protected bits ``<= Razor budget / PEs``.
4. **Confirm.** The chosen plan and its neighbours (best plans at the adjacent VDDs)
   run with bit-level injection (every MAC through the chain-level PE in array order) on
   the *selection* images; the least-energy one whose measured loss and latency overhead
   are within the budgets is accepted, with the screen's predictions beside.
5. **Test.** The accepted plan runs on the *test* images (disjoint from the selection
   images, :mod:`~experiments.studies.optimizer.image_sets`): its loss with Tango's score
   interval and the non-inferiority test against the accuracy budget, its latency overhead
   with a bootstrap interval, its energy with the model's band. It is *confirmed* when the
   test shows the loss below the budget and the overhead's upper limit within its budget
   (``totals["confirmed"]``, ``totals["binding"]`` names the budgets missed).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from experiments.results import NOT_A_COLUMN, StudyResult, saving_pct
from sim.protection import union_mask

from .common import Study, as_config
from .optimizer.config import OBJECTIVES, RECOVERIES, SOLVERS, OptimizeConfig, vdd_grid
from .optimizer.confirmation import ConfirmationRow, PlanRow, confirm_plans, measure_plans, plan_predictions
from .optimizer.image_sets import ImageSets, image_sets
from .optimizer.profiling import LayerProfile, RecordingBackend, layer_profiles, screen_array
from .optimizer.solving import (
    Candidate,
    Infeasible,
    PlanChoice,
    SensitivityTable,
    best_plan,
    binding_budget,
    choice_hold_buffers,
    infeasible_message,
    meets_budgets,
    nominal_energy,
    pareto_flags,
    plan_bits,
    plan_from_file,
    plan_product_bits,
    plan_recovery_cycles,
    sensitivity_table,
    solve_exhaustive,
    solve_milp,
    uniform_plan,
    unprotected_plan,
)

__all__ = [
    "OBJECTIVES",
    "RECOVERIES",
    "SOLVERS",
    "STUDY",
    "Candidate",
    "ConfirmationRow",
    "ImageSets",
    "Infeasible",
    "LayerProfile",
    "OptimizeConfig",
    "OptimizeResult",
    "ParetoRow",
    "PlanChoice",
    "PlanRow",
    "RecordingBackend",
    "SensitivityTable",
    "VddRow",
    "best_plan",
    "confirm_plans",
    "dvfs_columns",
    "image_sets",
    "layer_profiles",
    "measure_plans",
    "optimize",
    "plan_from_file",
    "plan_predictions",
    "sensitivity_table",
    "solve_exhaustive",
    "solve_milp",
    "uniform_plan",
    "unprotected_plan",
    "vdd_grid",
]


@dataclass(frozen=True, kw_only=True)
class VddRow:
    """The best plan at one VDD (``feasible`` False: no plan meets the budgets there), per image.

    ``energy_pj`` is the screen's energy of the plan in the objective's terms (``system``:
    with its SRAM and DRAM, ``core``: the array alone) and ``saving_pct`` its saving;
    ``energy_per_inference_pj`` and ``core_pj`` the system's and the core's, with
    ``system_saving_pct`` and ``core_saving_pct``, against the unprotected plan at the top of
    the grid. ``dvfs_*``: the DVFS point at this VDD (no Razor, highest error-free clock at the
    guarded supply; :func:`dvfs_columns`), on every row, feasible or not. ``pe_area_um2``: the
    unprotected PE; ``area_overhead_pct``: the Razor flops and hold-fix buffers of the most
    protected layer's bits (the hardware every layer runs on).
    """

    vdd_v: float
    feasible: bool
    recovery: str
    protected_bits: str
    product_bits: str
    razor_flops: int
    energy_pj: float
    saving_pct: float
    predicted_loss_pct: float
    latency_overhead_pct: float
    binding: str
    energy_per_inference_pj: float = math.nan
    core_pj: float = math.nan
    register_clock_pj: float = math.nan
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
    dvfs_latency_overhead_pct: float = math.nan
    dvfs_within_budget: bool = False
    pe_area_um2: float = math.nan
    area_overhead_pct: float = math.nan


@dataclass(frozen=True, kw_only=True)
class ParetoRow:
    """One screened plan: energy, predicted accuracy loss and latency overhead."""

    vdd_v: float
    recovery: str
    protected_bits: str
    product_bits: str
    energy_pj: float
    saving_pct: float
    predicted_loss_pct: float
    latency_overhead_pct: float
    meets_budgets: bool
    pareto: bool
    chosen: bool


@dataclass(frozen=True, kw_only=True)
class OptimizeResult(StudyResult[VddRow, OptimizeConfig]):
    """Best plan per VDD (rows), the Pareto candidates, the chosen plan, its confirmation on the
    selection images and its measurement on the test images.

    ``totals`` holds the accepted plan's screen figures (``vdd_v``, ``recovery``,
    ``energy_pj``, ``saving_pct``, ``predicted_loss_pct``, ``latency_overhead_pct``, ...),
    the image sets (``selection_images``, ``test_images``), and the verdict on the test
    images: ``confirmed`` (every budget met; False without a measurement) and ``binding``
    (the budgets missed, ``+``-joined; ``"not measured"`` with ``confirm`` off).
    """

    row_type = VddRow

    chosen: Candidate | None = None
    pareto: tuple[ParetoRow, ...] = ()
    confirmation: tuple[ConfirmationRow, ...] = ()
    test: PlanRow | None = None
    images: Any = field(default=None, metadata=NOT_A_COLUMN)
    sensitivity: Any = field(default=None, metadata=NOT_A_COLUMN)
    plans: Any = field(default=None, metadata=NOT_A_COLUMN)
    profiles: Any = field(default=None, metadata=NOT_A_COLUMN)
    chosen_plan: Any = field(default=None, metadata=NOT_A_COLUMN)
    accepted_plan: Any = field(default=None, metadata=NOT_A_COLUMN)


def optimize(
    config: OptimizeConfig | None = None,
    /,
    *,
    prepared: Any = None,
    progress_label: str = "optimize",
    **fields: Any,
) -> OptimizeResult:
    """Run the optimizer (screen, sensitivity table, solve, confirm). See the module docstring.

    Parameters
    ----------
    config : OptimizeConfig, optional
        Or its fields as keyword arguments (``max_accuracy_loss_pct=1.0``, ``vdd_v="0.9:0.6"`` ...).
    prepared : PreparedModel, optional
        A model already quantised with its evaluation images (default: prepared from
        ``config.model`` with ``config.images`` images), split into selection and test
        images by :func:`image_sets`.

    Returns
    -------
    OptimizeResult

    Raises
    ------
    ConfigError
        No plan on the grid meets the budgets (:class:`Infeasible`, the message says
        which budget binds and the best achievable figures); fewer images than the two
        sets need.
    """
    config = as_config(OptimizeConfig, config, fields)
    if prepared is None:
        prepared = _prepare(config)
    sets = image_sets(prepared, config)
    profiles = layer_profiles(sets.selection, config, energy_images=prepared.images)
    considered = config.razor_windows_ps
    config, table, chosen, per_vdd = _best_window(profiles, config)
    if chosen is None:
        raise Infeasible(infeasible_message(table, config))
    reference_energy = nominal_energy(table, config)
    rows = []
    for v, vdd in enumerate(table.vdds):
        plan = per_vdd.get(vdd)
        if plan is None:
            binding = sorted({binding_budget(table, config, v, r) for r in config.recovery})
            rows.append(
                VddRow(
                    vdd_v=vdd,
                    feasible=False,
                    recovery="",
                    protected_bits="",
                    product_bits="",
                    razor_flops=0,
                    energy_pj=math.nan,
                    saving_pct=math.nan,
                    predicted_loss_pct=math.nan,
                    latency_overhead_pct=math.nan,
                    binding="+".join(binding),
                    **dvfs_columns(table, config, profiles, v, reference_energy),
                )
            )
            continue
        rows.append(
            VddRow(
                vdd_v=vdd,
                feasible=True,
                recovery=plan.recovery,
                protected_bits=plan_bits(plan, table.layers, config.pe.width),
                product_bits=plan_product_bits(plan, table.layers),
                razor_flops=plan.razor_flops,
                energy_pj=plan.energy_pj,
                saving_pct=saving_pct(plan.energy_pj, reference_energy),
                predicted_loss_pct=plan.predicted_loss_pct,
                latency_overhead_pct=plan.latency_overhead_pct,
                binding="",
                **_plan_energy_columns(table, config, profiles, v, plan, reference_energy),
            )
        )
    pareto = _pareto(table, config, chosen, reference_energy)
    confirmation: tuple[ConfirmationRow, ...] = ()
    accepted = chosen
    test = None
    if config.confirm:
        confirmation, accepted = confirm_plans(
            sets.selection,
            config,
            table,
            chosen,
            per_vdd,
            progress_label=progress_label,
            test_images=len(sets.test_indices),
        )
        (test,) = measure_plans(sets.test, config, profiles, [("accepted", accepted)], table=table)
    candidate = Candidate(
        vdd_v=accepted.vdd_v,
        recovery=accepted.recovery,
        penalty_cycles=config.penalty_cycles,
        layers=table.layers,
        first_bits=accepted.first_bits,
        model=config.model,
        width=config.pe.width,
        razor_window_ps=config.razor_window_ps,
        product_masks=accepted.product_masks,
    )
    totals = {
        "vdd_v": accepted.vdd_v,
        "recovery": accepted.recovery,
        "protected_bits": plan_bits(accepted, table.layers, config.pe.width),
        "product_bits": plan_product_bits(accepted, table.layers),
        "energy_pj": accepted.energy_pj,
        "nominal_energy_pj": reference_energy,
        "saving_pct": saving_pct(accepted.energy_pj, reference_energy),
        "predicted_loss_pct": accepted.predicted_loss_pct,
        "latency_overhead_pct": accepted.latency_overhead_pct,
        "razor_flops": accepted.razor_flops,
        "recovery_cost": "stall model" if config.penalty_cycles is None else "penalty_cycles",
        "stall_cycles": accepted.stall_cycles,
        "selection_images": len(sets.selection_indices),
        "test_images": len(sets.test_indices),
        "confirmed": bool(test is not None and test.meets_budgets),
        "binding": "not measured" if test is None else test.binding,
        "screen_choice_vdd_v": chosen.vdd_v,
        "screen_choice_recovery": chosen.recovery,
        "layers": len(table.layers),
        "vdd_points": len(table.vdds),
        "objective": config.objective,
        "guard_band_mv": config.guard_band_mv,
        "razor_window_ps": config.razor_window_ps,
        "razor_windows_considered_ps": ",".join(f"{w:g}" for w in considered),
        **_best_dvfs(rows, config, accepted, reference_energy),
    }
    return OptimizeResult(
        config=config,
        rows=tuple(rows),
        totals=totals,
        chosen=candidate,
        pareto=pareto,
        confirmation=confirmation,
        test=test,
        images=sets,
        sensitivity=table,
        plans=per_vdd,
        profiles=tuple(profiles),
        chosen_plan=chosen,
        accepted_plan=accepted,
    )


def _plan_energy_columns(
    table: SensitivityTable,
    config: OptimizeConfig,
    profiles: Sequence[LayerProfile],
    v: int,
    plan: PlanChoice,
    reference_energy: float,
) -> dict[str, Any]:
    """The energy, DVFS and area columns of the screen's best plan at VDD index `v`."""
    from pe_models.energy import pe_energy_model

    coefficients = table.coefficients
    memory_pj = sum(layer.memory_pj for layer in coefficients[v])
    system_reference, core_reference = _references(table, config, reference_energy)
    system = plan.energy_pj + (memory_pj if config.objective == "core" else 0.0)
    core = system - memory_pj
    recovery = plan_recovery_cycles(table, plan)
    cycles_per_image = float(table.base_cycles.sum()) + recovery
    macs = sum(profile.macs for profile in profiles)
    model = pe_energy_model(config.pe)
    protected = [bit for bit in plan.first_bits if bit >= 0]
    bits = config.pe.width - min(protected) if protected else 0
    buffers = choice_hold_buffers(config, min(protected)) if protected else 0.0
    product = union_mask(plan.product_masks or ())
    if product:
        from sim.energy import design_hold_buffers

        mask = 0 if not protected else ((1 << config.pe.width) - 1) & ~((1 << min(protected)) - 1)
        buffers = design_hold_buffers(config.pe, config.f_clk_mhz, mask, config.razor_window_ps, product_mask=product)
        bits += product.bit_count()
    return {
        "energy_per_inference_pj": system,
        "core_pj": core,
        "register_clock_pj": sum(layer.register_clock_pj for layer in coefficients[v]),
        "system_saving_pct": saving_pct(system, system_reference),
        "core_saving_pct": saving_pct(core, core_reference),
        "utilisation_pct": 100.0 * macs / (config.pes * cycles_per_image),
        "batch": config.batch,
        "cycles_per_image": cycles_per_image,
        "latency_us": cycles_per_image * config.batch / config.f_clk_mhz,
        **dvfs_columns(table, config, profiles, v, reference_energy),
        "pe_area_um2": model.area.pe_um2,
        "area_overhead_pct": model.area.overhead_pct(bits, buffers),
    }


def _best_window(
    profiles: Sequence[LayerProfile], config: OptimizeConfig
) -> tuple[OptimizeConfig, SensitivityTable, PlanChoice | None, dict[float, PlanChoice]]:
    """The screen at every window of ``razor_windows_ps`` (or at ``razor_window_ps`` alone):
    the config with the window of the least-energy plan, its table and plans."""
    if not config.razor_windows_ps:
        table = sensitivity_table(profiles, config)
        return (config, table, *best_plan(table, config))
    best = None
    for window in config.razor_windows_ps:
        candidate = dataclasses.replace(config, razor_window_ps=window, razor_windows_ps=None)
        table = sensitivity_table(profiles, candidate)
        chosen, per_vdd = best_plan(table, candidate)
        energy = math.inf if chosen is None else chosen.energy_pj
        if best is None or energy < best[0]:
            best = (energy, candidate, table, chosen, per_vdd)
    assert best is not None
    return best[1], best[2], best[3], best[4]


def _best_dvfs(
    rows: Sequence[VddRow], config: OptimizeConfig, accepted: PlanChoice, reference_energy: float
) -> dict[str, Any]:
    """The DVFS candidate: the grid's error-free point of least objective energy whose clock
    keeps the latency overhead within its budget, beside the accepted plan."""
    within = [row for row in rows if row.dvfs_within_budget]
    if not within:
        return {
            "dvfs_vdd_v": math.nan,
            "dvfs_f_clk_mhz": math.nan,
            "dvfs_energy_pj": math.nan,
            "dvfs_beats_accepted": False,
        }

    def energy(row: VddRow) -> float:
        return row.dvfs_core_pj if config.objective == "core" else row.dvfs_energy_per_inference_pj

    best = min(within, key=energy)
    return {
        "dvfs_vdd_v": best.vdd_v,
        "dvfs_f_clk_mhz": best.dvfs_f_clk_mhz,
        "dvfs_energy_pj": energy(best),
        "dvfs_saving_pct": saving_pct(energy(best), reference_energy),
        "dvfs_beats_accepted": bool(energy(best) < accepted.energy_pj),
    }


def _references(table: SensitivityTable, config: OptimizeConfig, reference_energy: float) -> tuple[float, float]:
    """System and core energy per image of the unprotected plan at the top of the grid, from
    `reference_energy` in the objective's terms."""
    memory_top = sum(layer.memory_pj for layer in table.coefficients[0])
    system = reference_energy + (memory_top if config.objective == "core" else 0.0)
    return system, system - memory_top


def dvfs_columns(
    table: SensitivityTable,
    config: OptimizeConfig,
    profiles: Sequence[LayerProfile],
    v: int,
    reference_energy: float,
) -> dict[str, Any]:
    """The DVFS point at VDD index `v`: no Razor, the highest error-free clock at the guarded
    supply (at most the plan's clock), with its energy, savings and latency overhead in time
    against the plan's clock (``100 (f_clk / f_dvfs - 1)``), and whether that overhead is within
    the latency budget (``dvfs_within_budget``; its accuracy loss is 0 by construction)."""
    from pe_models.energy import pe_energy_model

    from .inference_energy import dvfs_energy

    array = screen_array(config)
    model = pe_energy_model(config.pe)
    system_reference, core_reference = _references(table, config, reference_energy)
    f_mhz, dvfs = dvfs_energy(
        [profile.work for profile in profiles],
        pe=config.pe,
        array=array,
        vdd_v=table.vdds[v],
        batch=config.batch,
        t_setup_ps=config.t_setup_ps,
        gating=config.gating(),
        memory=config.memory(array, node_nm=model.node_nm, tech=config.pe.tech),
        guard_band_v=config.guard_band_mv / 1000.0,
    )
    overhead = 100.0 * max(0.0, config.f_clk_mhz / f_mhz - 1.0) if f_mhz > 0 else math.inf
    return {
        "dvfs_f_clk_mhz": f_mhz,
        "dvfs_energy_per_inference_pj": dvfs.total_pj.nominal,
        "dvfs_core_pj": dvfs.core_pj.nominal,
        "dvfs_latency_us": dvfs.latency_us,
        "dvfs_system_saving_pct": saving_pct(dvfs.total_pj.nominal, system_reference),
        "dvfs_core_saving_pct": saving_pct(dvfs.core_pj.nominal, core_reference),
        "dvfs_latency_overhead_pct": overhead,
        "dvfs_within_budget": bool(overhead <= config.max_latency_overhead_pct),
    }


def _pareto(
    table: SensitivityTable, config: OptimizeConfig, chosen: PlanChoice, reference_energy: float
) -> tuple[ParetoRow, ...]:
    """Screened plans per (VDD, policy): min-energy under the budgets, under the accuracy
    budget alone, under the latency budget alone, and with every failing bit protected."""
    plans: list[tuple[PlanChoice, bool]] = []
    seen = set()
    for v in range(len(table.vdds)):
        for recovery in config.recovery:
            for visible, overhead in ((None, None), (None, math.inf), (math.inf, None)):
                plan = solve_milp(table, config, v, recovery, visible_budget=visible, overhead_budget_pct=overhead)
                if plan is None:
                    continue
                key = (plan.vdd_v, plan.recovery, plan.first_bits, plan.product_masks)
                if key in seen:
                    continue
                seen.add(key)
                within = visible is None and overhead is None
                plans.append((plan, within or meets_budgets(plan, config)))
    points = np.array([[p.energy_pj, p.predicted_loss_pct, p.latency_overhead_pct] for p, _ in plans])
    flags = pareto_flags(points)
    chosen_key = (chosen.vdd_v, chosen.recovery, chosen.first_bits, chosen.product_masks)
    return tuple(
        ParetoRow(
            vdd_v=plan.vdd_v,
            recovery=plan.recovery,
            protected_bits=plan_bits(plan, table.layers, config.pe.width),
            product_bits=plan_product_bits(plan, table.layers),
            energy_pj=plan.energy_pj,
            saving_pct=saving_pct(plan.energy_pj, reference_energy),
            predicted_loss_pct=plan.predicted_loss_pct,
            latency_overhead_pct=plan.latency_overhead_pct,
            meets_budgets=meets,
            pareto=bool(flag),
            chosen=(plan.vdd_v, plan.recovery, plan.first_bits, plan.product_masks) == chosen_key,
        )
        for (plan, meets), flag in zip(plans, flags, strict=True)
    )


def _prepare(config: OptimizeConfig) -> Any:
    from workloads.engine import CalibrationConfig

    from .prepared import prepare_model

    return prepare_model(
        config.model, images=config.images, labels=None, seed=config.seed, calibration=CalibrationConfig()
    )


def replace(config: OptimizeConfig, **changes: Any) -> OptimizeConfig:
    """A copy of `config` with `changes` (validated again)."""
    return dataclasses.replace(config, **changes)


STUDY = Study(
    name="optimize",
    config_type=OptimizeConfig,
    function=optimize,
    summary="VDD, per-layer protected bits and recovery of least energy within accuracy and latency budgets",
)
