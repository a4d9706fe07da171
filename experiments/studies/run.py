"""The main study: the three steps of the methodology at one operating point.

Step 1: per-bit error probability of the accumulator against VDD
(:mod:`experiments.studies.probs`). Step 2: the model with every MAC through the
chain-level PE in array order (bit-level injection), unprotected and with step 1's failing
bits protected (or a plan file). Step 3: the optimizer
(:mod:`experiments.studies.optimize`) on the 10 mV grid spanning the sweep, then the best
plan at every VDD of the sweep (and the accepted plan) measured: accuracy against the
int8 model at nominal VDD (paired: Tango's score interval, the non-inferiority test against
the accuracy budget), latency overhead counted by the array engine with its bootstrap
interval, energy per inference with its breakdown and band (:mod:`sim.energy`).

The plan is selected (screen and bit-level confirmation) on the *selection* images; every
measured row and the headline come from the *test* images, disjoint from them
(:mod:`experiments.studies.optimizer.image_sets`). The headline plan is the one the
optimizer accepted; it is *confirmed* when its test measurement meets every budget.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from experiments.results import StudyResult
from experiments.vocabulary import field_names
from pe_models.errors import ConfigError
from sim.protection import parse_bit_mask

from .common import (
    Progress,
    Study,
    array_shape,
    as_config,
    check_images,
    check_int,
    check_labels,
    check_model,
    check_not_with_plan,
    no_progress,
    set_field,
)
from .energy_options import EnergyFields
from .optimize import OBJECTIVES, RECOVERIES, SOLVERS, Candidate, OptimizeConfig, OptimizeResult, PlanChoice, PlanRow
from .probs import ProbsConfig, ProbsResult, probs

__all__ = ["PAPER", "RunConfig", "RunResult", "plot_run", "run"]

PAPER: dict[str, Any] = {
    "model": "mobilenetv2",
    "array": "256x256",
    "f_clk_mhz": 700.0,
    "vdd_v": (0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5),
    "images": 8,
    "objective": "core",
}
"""The seed paper's configuration: 256x256 weight-stationary at 0.7 GHz, MobileNetV2 with the
ImageNet weights, 0.9 V -> 0.5 V (here on 8 photo views unless images are given), the core's
energy as the objective (the paper reports the core's saving)."""


@dataclass(frozen=True, kw_only=True)
class RunConfig(ProbsConfig, EnergyFields):
    """Step 1 (the :class:`~experiments.studies.probs.ProbsConfig` fields), steps 2 and 3.

    Attributes
    ----------
    model : str
        The model of steps 2 and 3, ``tinymnv2`` or ``mobilenetv2``.
    images : int or str
        Images loaded: a count, 1 .. what the model's bundled data holds (``paper``: 8 photo
        views), or a folder (with `labels`); split into selection and test images.
    selection_images : int, optional
        Loaded images the plan is selected on (default: a fifth of the images).
    test_images : int, optional
        Loaded images, disjoint from the selection images, on which the plans are measured
        and reported (default: the rest).
    labels : str, optional
        Labels of an `images` folder: one ``FILE LABEL`` line per image.
    array : "RxC" or (rows, cols)
        Weight-stationary array of steps 2 and 3, rows x columns of PEs.
    protect : str
        Protected accumulator bits of step 2: ``auto`` (every bit with a non-zero error
        probability at the lowest VDD of step 1), ``none`` or ranges such as ``31:20``.
    plan : str, optional
        A protection plan (TOML, e.g. the ``plan.toml`` of ``vscale optimize``) replacing
        `protect` in step 2.
    skip_step2 : bool
        Run step 1 only.
    max_accuracy_loss_pct : float
        Accuracy-loss budget of step 3 in percentage points against the int8 model at
        nominal VDD, 0..100.
    max_latency_overhead_pct : float
        Latency-overhead budget of step 3 in percent of the error-free cycles, >= 0.
    max_razor_flops : int, optional
        Razor flip-flops the array may contain in step 3, protected bits x PEs (default: no
        limit).
    razor_window_ps : float, optional
        Razor detection window of steps 2 and 3 in ps, within the feasible range of hold fixing
        (default: the largest feasible window, ``vscale pe razor``).
    razor_windows_ps : str or sequence of float, optional
        Razor windows step 3 chooses among, ps, comma-separated, each in the feasible range
        (:class:`OptimizeConfig`; default: `razor_window_ps` alone).
    recovery : str or sequence of str
        Recovery policies step 3 considers, comma-separated: ``global``, ``column``,
        ``local``, ``drop``.
    penalty_cycles : int
        Cycles one recovery costs, >= 0.
    solver : str
        ``milp`` (``scipy.optimize.milp``) or ``exhaustive`` (every combination; small
        models only).
    jobs : int
        Worker processes measuring the plans of steps 2 and 3, >= 1; results do not depend
        on it.
    guard_band_mv : float
        Supply guard band of step 3 in mV (process and temperature), 0 up to the VDD range: a
        plan at VDD ``v`` is timed at ``v - guard_band`` (:class:`OptimizeConfig`).
    objective : str
        Energy per inference step 3 minimises: ``system`` (array, SRAM and DRAM) or ``core``
        (the array alone, as the seed paper reports its saving).
    paper : bool
        The seed paper's configuration for the fields left at their defaults: mobilenetv2
        (ImageNet weights), 256x256, 700 MHz, 0.9 -> 0.5 V (:data:`PAPER`).
    batch, clock_gating, power_gating, memory_vdd_v, dram, temperature_c :
        The energy model's hardware of steps 2 and 3
        (:class:`~experiments.studies.energy_options.EnergyFields`).

    ``t_setup_ps`` (:class:`~experiments.studies.common.SweepFields`) sets the flip-flops'
    setup time of all three steps.
    """

    CHOICES: ClassVar[Mapping[str, Sequence[str]]] = {
        "model": ("tinymnv2", "mobilenetv2"),
        "recovery": RECOVERIES,
        "solver": SOLVERS,
        "objective": OBJECTIVES,
    }

    model: str = "tinymnv2"
    images: Any = 300
    selection_images: int | None = None
    test_images: int | None = None
    labels: str | None = None
    array: Any = "256x256"
    protect: str = "auto"
    plan: str | None = None
    skip_step2: bool = False
    max_accuracy_loss_pct: float = 1.0
    max_latency_overhead_pct: float = 5.0
    max_razor_flops: int | None = None
    razor_window_ps: float | None = None
    razor_windows_ps: Any = None
    recovery: Any = RECOVERIES
    penalty_cycles: int = 1
    solver: str = "milp"
    jobs: int = 2
    guard_band_mv: float = 0.0
    objective: str = "system"
    paper: bool = False

    def __post_init__(self) -> None:
        if self.paper:
            defaults = {f.name: f.default for f in dataclasses.fields(self)}
            for name, value in PAPER.items():
                if getattr(self, name) == defaults[name] or (name == "vdd_v" and self.vdd_v is None):
                    set_field(self, name, value)
        super().__post_init__()
        check_model(self.model, files=False)
        check_int("jobs", self.jobs, minimum=1)
        set_field(self, "images", check_images(self.images, model=self.model))
        check_labels(self.images, self.labels)
        rows, cols = array_shape(self.array)
        set_field(self, "array", f"{rows}x{cols}")
        check_not_with_plan(self, ("protect",))
        if self.protect != "auto":
            parse_bit_mask(self.protect, width=self.width, option="protect")
        if self.plan is not None:
            plan = self.protection_plan()
            if plan.model is not None and plan.model != self.model:
                raise ConfigError(
                    f"plan.model: the plan is for model {plan.model!r}, not {self.model!r}; allowed: {self.model!r}"
                )
        optimizer = self.optimizer()
        set_field(self, "recovery", optimizer.recovery)
        if isinstance(self.images, int):
            optimizer.image_split(self.images)

    def protection_plan(self) -> Any:
        """The plan file, read (None without one)."""
        if self.plan is None:
            return None
        from experiments.plans import load_plan

        return load_plan(self.plan, width=self.width)

    def step1(self) -> ProbsConfig:
        """The step-1 part of this config."""
        return ProbsConfig(**{name: getattr(self, name) for name in field_names(ProbsConfig)})

    def optimizer(self) -> OptimizeConfig:
        """Step 3's optimizer config: the 10 mV grid spanning the sweep, the same PE, clock and array."""
        vdds = [float(v) for v in self.vdd_values()]
        pe = {name: getattr(self, name) for name in ("cells", "cell_delays_ps", "adder", "pipeline", "width")}
        return OptimizeConfig(
            **pe,
            technology=self.technology,
            vdd_v=f"{max(vdds)}:{min(vdds)}",
            f_clk_mhz=self.f_clk_mhz,
            t_setup_ps=self.t_setup_ps,
            model=self.model,
            images=self.images if isinstance(self.images, int) else 2,
            selection_images=self.selection_images,
            test_images=self.test_images,
            array=self.array,
            recovery=self.recovery,
            penalty_cycles=self.penalty_cycles,
            max_accuracy_loss_pct=self.max_accuracy_loss_pct,
            max_latency_overhead_pct=self.max_latency_overhead_pct,
            max_razor_flops=self.max_razor_flops,
            razor_window_ps=self.razor_window_ps,
            razor_windows_ps=self.razor_windows_ps,
            solver=self.solver,
            guard_band_mv=self.guard_band_mv,
            objective=self.objective,
            confirm=True,
            neighbours=0,
            seed=self.seed,
            **{name: getattr(self, name) for name in field_names(EnergyFields)},
        )

    def vdd_values(self) -> tuple[float, ...]:
        from .common import vdd_values

        return tuple(vdd_values(self.vdd_v))


@dataclass(frozen=True, kw_only=True)
class RunResult(StudyResult[PlanRow, RunConfig]):
    """Every plan measured on the test images (rows), step 1, the optimizer and the headline plan.

    Attributes
    ----------
    step1 : ProbsResult
    optimizer : OptimizeResult or None
        None with ``skip_step2``.
    plans : tuple of (str, PlanChoice)
        The plan behind each row, in row order.
    headline : PlanRow or None
        The plan the optimizer accepted on the selection images, measured on the test images.
    headline_plan : Candidate or None
        Its per-layer protection (``plan.toml``).
    confirmed : bool
        The headline's test measurement met every budget.
    binding : str
        The budgets it missed (``+``-joined; empty when confirmed).
    """

    row_type = PlanRow

    step1: ProbsResult = field(compare=False)
    optimizer: OptimizeResult | None = field(default=None, compare=False)
    plans: tuple[tuple[str, PlanChoice], ...] = field(default=(), compare=False)
    headline: PlanRow | None = None
    headline_plan: Candidate | None = None
    confirmed: bool = False
    binding: str = ""


def run(config: RunConfig | None = None, /, *, progress: Progress = no_progress, **fields: Any) -> RunResult:
    """Steps 1, 2 and 3 (see the module docstring)."""
    from workloads.engine import CalibrationConfig

    from ..kernel_warmup import start_kernel_warmup
    from .optimize import measure_plans, optimize, plan_from_file, uniform_plan, unprotected_plan
    from .optimizer.confirmation import PlanMeasurements
    from .optimizer.image_sets import image_sets
    from .prepared import prepare_model

    config = as_config(RunConfig, config, fields)
    optimizer_config = config.optimizer()
    warmup = None
    if not config.skip_step2 and config.jobs > 1:
        warmup = start_kernel_warmup(
            pe=optimizer_config.pe,
            vdd_v=min(optimizer_config.vdds),
            f_clk_mhz=optimizer_config.f_clk_mhz,
            rows=optimizer_config.rows,
            cols=optimizer_config.cols,
            t_setup_ps=optimizer_config.t_setup_ps,
            razor_window_ps=optimizer_config.razor_window_ps,
        )
    step1 = probs(config.step1(), progress=progress)
    if config.skip_step2:
        return RunResult(config=config, rows=(), step1=step1)
    prepared = prepare_model(
        config.model,
        images=config.images,
        labels=config.labels,
        seed=config.seed,
        calibration=CalibrationConfig(),
    )
    plan_file = config.protection_plan()
    if plan_file is not None:
        plan_file.check_layers([shape.name for shape in prepared.model.gemm_layers], model=config.model)
    layers = tuple(shape.name for shape in prepared.model.gemm_layers)
    vdds = [float(v) for v in step1.vdd_v]
    width = config.width
    plans: list[tuple[str, PlanChoice]] = [("step 2: unprotected", unprotected_plan(v, layers)) for v in vdds]
    if plan_file is not None:
        label = f"step 2: plan {Path(config.plan or '').name}"
        plans += [(label, plan_from_file(plan_file, v, layers, width)) for v in vdds]
    else:
        if config.protect == "auto":
            failing = np.nonzero(step1.adder[int(np.argmin(step1.vdd_v))] > 0)[0]
            mask = sum(1 << int(bit) for bit in failing)
        else:
            mask = parse_bit_mask(config.protect, width=width, option="protect")
        if mask:
            plans += [("step 2: step-1 bits protected", uniform_plan(v, layers, mask, "global", width)) for v in vdds]
    with PlanMeasurements(
        image_sets(prepared, optimizer_config).test, optimizer_config, layers, jobs=config.jobs
    ) as measurements:
        measurements.submit(plans)
        if config.jobs > 1 and (warmup is None or warmup.done()):
            # the kernels are compiled: the workers measure step 2 while the optimizer screens
            measurements.start_workers()
        result = optimize(optimizer_config, prepared=prepared)
        assert tuple(p.name for p in result.profiles) == layers
        step3 = [("step 3: best plan", result.plans[v]) for v in vdds if v in result.plans]
        chosen = result.chosen_plan
        if chosen.vdd_v not in vdds:
            step3.append(("step 3: best plan", chosen))
        sets = result.images
        if warmup is not None:
            warmup.wait()
        measurements.submit(step3)
        measurements.start_workers()
        plans += step3
        rows = measure_plans(
            sets.test,
            optimizer_config,
            result.profiles,
            plans,
            table=result.sensitivity,
            progress=lambda items: progress(items, label="steps 2-3"),
            measurements=measurements,
        )
    assert result.test is not None and result.chosen is not None
    headline = dataclasses.replace(result.test, label="accepted plan")
    rows = (*rows, headline)
    plans.append(("accepted plan", result.accepted_plan))
    candidate = result.chosen
    totals = {
        "model": config.model,
        "weights": prepared.bundle.source,
        "metric": prepared.bundle.metric,
        "images": len(prepared.images),
        "selection_images": len(sets.selection_indices),
        "test_images": len(sets.test_indices),
        "float_top1_pct": prepared.float_accuracy,
        "headline_vdd_v": headline.vdd_v,
        "headline_recovery": headline.recovery,
        "headline_energy_uj": headline.energy_uj,
        "headline_saving_pct": headline.saving_pct,
        "headline_accuracy_loss_pct": headline.accuracy_loss_pct,
        "headline_noninferiority_p": headline.noninferiority_p,
        "headline_latency_overhead_pct": headline.latency_overhead_pct,
        "confirmed": headline.meets_budgets,
        "binding": headline.binding,
    }
    return RunResult(
        config=config,
        rows=rows,
        totals=totals,
        step1=step1,
        optimizer=result,
        plans=tuple(plans),
        headline=headline,
        headline_plan=candidate,
        confirmed=headline.meets_budgets,
        binding=headline.binding,
    )


def _curves(rows: Sequence[Any]) -> dict[str, list[Any]]:
    curves: dict[str, list[Any]] = {}
    for row in rows:
        curves.setdefault(row.label, []).append(row)
    for values in curves.values():
        values.sort(key=lambda r: -r.vdd_v)
    return curves


_STYLES = (("o", "-", 9), ("s", "--", 7), ("^", ":", 6), ("D", "-.", 5), ("v", (0, (5, 1, 1, 1)), 4))
"""Marker, line style and marker size per curve: hollow markers shrinking curve by curve, so a
later curve drawn on an earlier one leaves the earlier one visible."""


def _accuracy_figure(run_result: RunResult) -> Any:
    """Accuracy against VDD per curve with its 95 % band (top), latency overhead (middle) and
    energy saving (bottom), each panel with its own single zero.

    A saving is plotted only where the measured accuracy loss is within the budget; where it
    is not, the point is greyed at the panel's zero line and labelled, since energy saved by a
    network that no longer classifies is no saving."""
    from experiments.output import subplots

    assert run_result.optimizer is not None
    rows = run_result.rows
    config = run_result.optimizer.config
    totals = run_result.totals
    budget = config.max_accuracy_loss_pct
    figure, (top, middle, bottom) = subplots(3, 1, figsize=(7, 9), sharex=True, layout="constrained")
    collapsed_shown = False
    for index, (label, values) in enumerate(_curves(rows).items()):
        marker, line, size = _STYLES[index % len(_STYLES)]
        vdd = np.array([r.vdd_v for r in values])
        top1 = np.array([r.top1_pct for r in values])
        reference = top1 + np.array([r.accuracy_loss_pct for r in values])
        colour = f"C{index}"
        last = values[-1]
        protection = f"{last.protected_bits}, {last.recovery}" if last.protected_bits != "none" else "none"
        style = {"color": colour, "marker": marker, "linestyle": line, "markersize": size, "markerfacecolor": "none"}
        top.plot(vdd, top1, label=f"{label} ({protection} at {last.vdd_v:.2f} V)", **style)
        top.fill_between(
            vdd,
            reference - np.array([r.loss_ci_high_pct for r in values]),
            reference - np.array([r.loss_ci_low_pct for r in values]),
            color=colour,
            alpha=0.12,
        )
        middle.plot(vdd, [r.latency_overhead_pct for r in values], label=label, **style)
        within = np.array([r.accuracy_loss_pct <= budget for r in values])
        saving = np.where(within, [r.saving_pct for r in values], np.nan)
        bottom.plot(vdd, saving, label=label, **style)
        if (~within).any():
            bottom.plot(
                vdd[~within],
                np.zeros(int((~within).sum())),
                linestyle="none",
                marker="x",
                markersize=size,
                color="grey",
                label=None if collapsed_shown else f"accuracy loss > {budget:g} points: no saving counted",
            )
            collapsed_shown = True
    if totals["metric"] == "accuracy":
        top.axhline(totals["float_top1_pct"], color="grey", ls=":", label="float model")
    top.set_ylabel(f"top-1 {totals['metric']} (%)")
    top.set_ylim(0, 101)
    top.set_title(
        f"{totals['model']} on {totals['images']} images, {config.f_clk_mhz:g} MHz, "
        f"{config.rows}x{config.cols} ws, bitlevel\n(band: 95 % interval of the paired loss against nominal VDD)",
        fontsize=9,
    )
    top.legend(fontsize=7)
    middle.set_ylabel("latency overhead (%)")
    middle.set_ylim(bottom=0)
    bottom.set_ylabel("energy saving vs nominal (%)")
    bottom.axhline(0.0, color="black", lw=0.6)
    if collapsed_shown:
        bottom.legend(fontsize=7)
    bottom.set_xlabel("VDD (V)")
    bottom.invert_xaxis()
    for axis in (top, middle, bottom):
        axis.grid(True, alpha=0.3)
    return figure


def plot_run(result: RunResult) -> Any:
    """Accuracy against VDD per curve with its 95 % band, the protection's latency overhead and its
    energy saving (where the accuracy loss is within the budget) in panels of their own."""
    return _accuracy_figure(result)


STUDY = Study(
    name="run",
    config_type=RunConfig,
    function=run,
    summary="the main study: per-bit probabilities (step 1), accuracy with and without protection (step 2), "
    "the protection and voltage optimizer with measured accuracy, latency and energy (step 3)",
)
