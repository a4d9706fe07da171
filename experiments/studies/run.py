"""The main study: the three steps of the methodology at one operating point.

Step 1: per-bit error probability of the accumulator against VDD
(:mod:`experiments.studies.probs`). Step 2: the model with every MAC through the
chain-level PE in array order (bit-level injection), unprotected and with step 1's failing
bits protected (or a plan file). Step 3: the optimizer
(:mod:`experiments.studies.optimize`) on the 10 mV grid spanning the sweep, then the best
plan at every VDD of the sweep (and the screen's choice) measured: accuracy against the
int8 model at nominal VDD (paired: bootstrap interval, McNemar), latency overhead counted
by the array engine, energy per inference with its breakdown and band
(:mod:`sim.energy`). The headline plan is the measured one of least energy within both
budgets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from experiments.results import StudyResult
from pe_models.errors import ConfigError
from sim.protection import parse_bit_mask

from .common import Progress, Study, as_config, check_choice, no_progress
from .energy_options import EnergyFields
from .optimize import RECOVERIES, Candidate, OptimizeConfig, OptimizeResult, PlanChoice, PlanRow
from .probs import ProbsConfig, ProbsResult, probs

__all__ = ["PAPER", "RunConfig", "RunResult", "plot_run", "run"]

PAPER: dict[str, Any] = {
    "model": "mobilenetv2",
    "array": "256x256",
    "f_clk_mhz": 700.0,
    "vdd_v": (0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5),
    "images": 8,
}
"""The seed paper's configuration: 256x256 weight-stationary at 0.7 GHz, MobileNetV2 with the
ImageNet weights, 0.9 V -> 0.5 V (here on 8 photo views unless images are given)."""


@dataclass(frozen=True, kw_only=True)
class RunConfig(ProbsConfig, EnergyFields):
    """Step 1 (the :class:`~experiments.studies.probs.ProbsConfig` fields), steps 2 and 3.

    Attributes
    ----------
    model : str
        Model name (``tinymnv2``, ``mobilenetv2``).
    images : int or str
        Evaluation images: a count (tinymnv2: 1..1000) or a folder (with `labels`).
    labels : str or None
        Labels of an image folder.
    array : str
        Weight-stationary array ``ROWSxCOLS`` of steps 2 and 3.
    protect : str
        Step 2's protected bits: ``auto`` (failing at the lowest VDD of step 1), ``none`` or ranges.
    plan : str or None
        A plan file (TOML) replacing `protect` in step 2.
    skip_step2 : bool
        Step 1 only.
    max_accuracy_loss_pct, max_latency_overhead_pct, max_razor_flops : budgets of step 3.
    razor_window_ps : float or None
        Razor detection window of steps 2 and 3 in ps, 0 up to the clock period (None: half
        the clock period).
    recovery : str
        Comma list of the recovery policies step 3 considers.
    penalty_cycles : int
    solver : str
        ``milp`` or ``exhaustive``.
    jobs : int
        Worker processes measuring the plans of steps 2 and 3 (results do not depend on it).
    paper : bool
        The seed paper's configuration (:data:`PAPER`) for the fields left at their defaults.
    batch, clock_gating, power_gating, memory_vdd_v, dram, temperature_c :
        The energy model's hardware of steps 2 and 3
        (:class:`~experiments.studies.energy_options.EnergyFields`).

    ``t_setup_ps`` (:class:`~experiments.studies.common.SweepFields`) sets the flip-flops'
    setup time of all three steps.
    """

    model: str = "tinymnv2"
    images: Any = 300
    labels: str | None = None
    array: str = "256x256"
    protect: str = "auto"
    plan: str | None = None
    skip_step2: bool = False
    max_accuracy_loss_pct: float = 1.0
    max_latency_overhead_pct: float = 5.0
    max_razor_flops: int | None = None
    razor_window_ps: float | None = None
    recovery: str = ",".join(RECOVERIES)
    penalty_cycles: int = 1
    solver: str = "milp"
    jobs: int = 2
    paper: bool = False

    def __post_init__(self) -> None:
        if self.paper:
            defaults = {f.name: f.default for f in self.__dataclass_fields__.values()}
            for name, value in PAPER.items():
                if getattr(self, name) == defaults[name] or (name == "vdd_v" and self.vdd_v is None):
                    object.__setattr__(self, name, value)
        super().__post_init__()
        check_choice("model", self.model, ("tinymnv2", "mobilenetv2"))
        if not isinstance(self.jobs, int) or isinstance(self.jobs, bool) or self.jobs < 1:
            raise ConfigError(f"jobs: expected a positive number of processes, got {self.jobs!r}")
        images = self.images
        if isinstance(images, str) and images.isdigit():
            images = int(images)
            object.__setattr__(self, "images", images)
        if isinstance(images, int) and not isinstance(images, bool):
            if images < 1 or (self.model == "tinymnv2" and images > 1000):
                allowed = "1..1000 MNIST test images" if self.model == "tinymnv2" else "a positive count"
                raise ConfigError(f"images: expected {allowed}, got {images}")
        elif not (isinstance(images, str | Path) and Path(images).is_dir()):
            raise ConfigError(f"images: {images!r} is neither a number of images nor a directory")
        if self.protect != "auto":
            parse_bit_mask(self.protect, width=self.width, option="protect")
        if self.plan is not None:
            plan = self.protection_plan()
            if plan.model is not None and plan.model != self.model:
                raise ConfigError(
                    f"plan.model: the plan is for model {plan.model!r}, not {self.model!r}; allowed: {self.model!r}"
                )
        self.optimizer()

    def protection_plan(self) -> Any:
        """The plan file, read (None without one)."""
        if self.plan is None:
            return None
        from experiments.plans import load_plan

        return load_plan(self.plan, width=self.width)

    def step1(self) -> ProbsConfig:
        """The step-1 part of this config."""
        names = [f for f in ProbsConfig.__dataclass_fields__.values() if f.init]
        return ProbsConfig(**{f.name: getattr(self, f.name) for f in names})

    def optimizer(self) -> OptimizeConfig:
        """Step 3's optimizer config: the 10 mV grid spanning the sweep, the same PE, clock and array."""
        text = self.array.lower().split("x")
        if len(text) != 2 or not all(part.strip().isdigit() for part in text):
            raise ConfigError(f"array: expected ROWSxCOLS, e.g. 256x256, got {self.array!r}")
        vdds = [float(v) for v in self.vdd_values()]
        recoveries = tuple(part.strip() for part in self.recovery.split(",") if part.strip())
        try:
            return OptimizeConfig(
                model=self.model,
                images=self.images if isinstance(self.images, int) else 1,
                vdd_max_v=max(vdds),
                vdd_min_v=min(vdds),
                f_clk_mhz=self.f_clk_mhz,
                rows=int(text[0]),
                cols=int(text[1]),
                pe=self.pe_config(),
                recoveries=recoveries,
                penalty_cycles=self.penalty_cycles,
                max_accuracy_loss_pct=self.max_accuracy_loss_pct,
                max_latency_overhead_pct=self.max_latency_overhead_pct,
                max_razor_flops=self.max_razor_flops,
                razor_window_ps=self.razor_window_ps,
                t_setup_ps=self.t_setup_ps,
                solver=self.solver,
                confirm=False,
                neighbours=0,
                seed=self.seed,
                batch=self.batch,
                clock_gating=self.clock_gating,
                power_gating=self.power_gating,
                memory_vdd_v=self.memory_vdd_v,
                dram=self.dram,
                temperature_c=self.temperature_c,
            )
        except ConfigError as error:
            message = str(error)
            if message.startswith("recoveries:"):
                message = "recovery:" + message.removeprefix("recoveries:")
            raise ConfigError(message) from None

    def vdd_values(self) -> tuple[float, ...]:
        from .common import vdd_values

        return tuple(vdd_values(self.vdd_v))


@dataclass(frozen=True, kw_only=True)
class RunResult(StudyResult[PlanRow, RunConfig]):
    """Every measured plan (rows), step 1, the optimizer and the headline plan.

    Attributes
    ----------
    step1 : ProbsResult
    optimizer : OptimizeResult or None
        None with ``skip_step2``.
    plans : tuple of (str, PlanChoice)
        The plan behind each row, in row order.
    headline : PlanRow or None
        The measured plan of least energy within both budgets.
    headline_plan : Candidate or None
        Its per-layer protection (``plan.toml``).
    confidence : str
        ``confident`` (the 95 % upper bound of the loss inside the budget), ``point
        estimate`` (only the point estimate is) or ``none (nominal)``.
    """

    row_type = PlanRow

    step1: ProbsResult = field(compare=False)
    optimizer: OptimizeResult | None = field(default=None, compare=False)
    plans: tuple[tuple[str, PlanChoice], ...] = field(default=(), compare=False)
    headline: PlanRow | None = None
    headline_plan: Candidate | None = None
    confidence: str = ""


def _headline(rows: tuple[PlanRow, ...], plans, config: OptimizeConfig) -> tuple[PlanRow, PlanChoice, str]:
    """The measured step-3 plan of least energy within both budgets (upper 95 % bound of the
    loss inside the budget when one is, else the point estimate; else the highest VDD)."""
    step3 = [(row, plan) for row, (label, plan) in zip(rows, plans, strict=True) if label.startswith("step 3")]
    latency_ok = [pair for pair in step3 if pair[0].latency_overhead_pct <= config.max_latency_overhead_pct]
    confident = [pair for pair in latency_ok if pair[0].loss_ci_high_pct <= config.max_accuracy_loss_pct]
    if confident:
        row, plan = min(confident, key=lambda pair: pair[0].energy_uj)
        return row, plan, "confident"
    point = [pair for pair in latency_ok if pair[0].accuracy_loss_pct <= config.max_accuracy_loss_pct]
    if point:
        row, plan = min(point, key=lambda pair: pair[0].energy_uj)
        return row, plan, "point estimate"
    row, plan = max(step3, key=lambda pair: pair[0].vdd_v)
    return row, plan, "none (nominal)"


def run(config: RunConfig | None = None, /, *, progress: Progress = no_progress, **fields: Any) -> RunResult:
    """Steps 1, 2 and 3 (see the module docstring)."""
    from workloads.engine import CalibrationConfig

    from .optimize import measure_plans, optimize, plan_from_file, uniform_plan, unprotected_plan
    from .prepared import prepare_model

    config = as_config(RunConfig, config, fields)
    step1 = probs(config.step1(), progress=progress)
    if config.skip_step2:
        return RunResult(config=config, rows=(), step1=step1)
    optimizer_config = config.optimizer()
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
    result = optimize(optimizer_config, prepared=prepared)
    layers = tuple(p.name for p in result.profiles)
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
    plans += [("step 3: best plan", result.plans[v]) for v in vdds if v in result.plans]
    chosen = result.chosen_plan
    if chosen.vdd_v not in vdds:
        plans.append(("step 3: best plan", chosen))
    rows = measure_plans(
        prepared,
        optimizer_config,
        result.profiles,
        plans,
        table=result.sensitivity,
        progress=lambda items: progress(items, label="steps 2-3"),
        jobs=config.jobs,
    )
    headline, plan, confidence = _headline(rows, plans, optimizer_config)
    candidate = Candidate(
        vdd_v=plan.vdd_v,
        recovery=plan.recovery,
        penalty_cycles=config.penalty_cycles,
        layers=layers,
        first_bits=plan.first_bits,
        model=config.model,
        width=width,
        razor_window_ps=config.razor_window_ps,
    )
    totals = {
        "model": config.model,
        "weights": prepared.bundle.source,
        "metric": prepared.bundle.metric,
        "images": len(prepared.images),
        "float_top1_pct": prepared.float_accuracy,
        "headline_vdd_v": headline.vdd_v,
        "headline_recovery": headline.recovery,
        "headline_energy_uj": headline.energy_uj,
        "headline_saving_pct": headline.saving_pct,
        "headline_accuracy_loss_pct": headline.accuracy_loss_pct,
        "headline_latency_overhead_pct": headline.latency_overhead_pct,
        "confidence": confidence,
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
        confidence=confidence,
    )


def _curves(rows: Sequence[Any]) -> dict[str, list[Any]]:
    curves: dict[str, list[Any]] = {}
    for row in rows:
        curves.setdefault(row.label, []).append(row)
    for values in curves.values():
        values.sort(key=lambda r: -r.vdd_v)
    return curves


def _accuracy_figure(run_result: RunResult) -> Any:
    """Accuracy against VDD per curve with its 95 % band (top), the protection's latency and
    energy cost (bottom)."""
    from experiments.output import subplots

    assert run_result.optimizer is not None
    rows = run_result.rows
    config = run_result.optimizer.config
    totals = run_result.totals
    figure, (top, bottom) = subplots(2, 1, figsize=(7, 7), sharex=True)
    twin = bottom.twinx()
    for index, (label, values) in enumerate(_curves(rows).items()):
        vdd = np.array([r.vdd_v for r in values])
        top1 = np.array([r.top1_pct for r in values])
        reference = top1 + np.array([r.accuracy_loss_pct for r in values])
        colour = f"C{index}"
        last = values[-1]
        protection = f"{last.protected_bits}, {last.recovery}" if last.protected_bits != "none" else "none"
        top.plot(vdd, top1, "o-", color=colour, label=f"{label} ({protection} at {last.vdd_v:.2f} V)")
        top.fill_between(
            vdd,
            reference - np.array([r.loss_ci_high_pct for r in values]),
            reference - np.array([r.loss_ci_low_pct for r in values]),
            color=colour,
            alpha=0.15,
        )
        bottom.plot(vdd, [r.latency_overhead_pct for r in values], "s--", color=colour, label=label)
        twin.plot(vdd, [r.saving_pct for r in values], "o:", color=colour, alpha=0.7)
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
    top.grid(True, alpha=0.3)
    bottom.set_ylabel("latency overhead (%) [dashed]")
    twin.set_ylabel("energy saving vs nominal (%) [dotted]")
    bottom.set_xlabel("VDD (V)")
    bottom.invert_xaxis()
    bottom.grid(True, alpha=0.3)
    return figure


def plot_run(result: RunResult) -> Any:
    """Accuracy against VDD per curve with its 95 % band, and the protection's latency and energy cost."""
    return _accuracy_figure(result)


STUDY = Study(
    name="run",
    config_type=RunConfig,
    function=run,
    summary="the main study: per-bit probabilities (step 1), accuracy with and without protection (step 2), "
    "the protection and voltage optimizer with measured accuracy, latency and energy (step 3)",
)
