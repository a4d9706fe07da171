"""What the optimizer searches and the budgets it respects (:class:`OptimizeConfig`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from pe_models.errors import ConfigError
from pe_models.pe import OperatingPoint, PEConfig, StageTiming, stage_timing
from pe_models.razor import window_fs

from ..energy_options import EnergyFields

RECOVERIES: tuple[str, ...] = ("global", "column", "local", "drop")


SOLVERS: tuple[str, ...] = ("milp", "exhaustive")


def vdd_grid(vdd_max_v: float, vdd_min_v: float, step_v: float = 0.01) -> tuple[float, ...]:
    """Supply voltages from `vdd_max_v` down to `vdd_min_v` in steps of `step_v`, rounded to 1 mV."""
    count = math.floor((vdd_max_v - vdd_min_v) / step_v + 1e-9) + 1
    return tuple(round(vdd_max_v - i * step_v, 3) for i in range(count))


def _budget(name: str, value: object, upper: float | None) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    allowed = f"[0, {upper:g}]" if upper is not None else ">= 0"
    if not ok or value < 0 or (upper is not None and value > upper):  # type: ignore[operator]
        raise ConfigError(f"{name}: {value!r} is out of range; allowed: {allowed} %")


@dataclass(frozen=True, kw_only=True)
class OptimizeConfig(EnergyFields):
    """What the optimizer searches and the budgets it respects.

    Parameters
    ----------
    model : str
        A model name of :mod:`workloads.models.zoo` (default ``"tinymnv2"``).
    images : int
        Evaluation images for the confirmation (bit-level injection), >= 1.
    screen_images : int
        Images whose layer operands feed the analytic screen, >= 1.
    vdd_max_v, vdd_min_v : float
        The VDD grid, 10 mV steps from `vdd_max_v` (default: the technology's nominal
        supply) down to `vdd_min_v`; both inside the technology's range.
    f_clk_mhz : float
        Clock frequency in MHz.
    rows, cols : int
        Weight-stationary array shape.
    pe : PEConfig
    recoveries : tuple of str
        Recovery policies to consider, a subset of :data:`RECOVERIES`.
    penalty_cycles : int
        Cycles one recovery costs (global, column, local), >= 0.
    max_accuracy_loss_pct : float
        Accuracy-loss budget in percentage points against the int8 model at nominal VDD, 0..100.
    max_latency_overhead_pct : float
        Latency-overhead budget in percent of the error-free cycles, >= 0.
    max_razor_flops : int or None
        Razor flip-flops the array may contain (protected bits x PEs), or None for no limit.
    razor_window_ps : float or None
        Razor detection window (None: :data:`pe_models.razor.DEFAULT_WINDOW_FRACTION` of the
        clock period). A protected bit still wrong at the shadow sample is a silent error.
    t_setup_ps : float or None
        Setup time of the output flip-flops in ps, the same at every VDD (None: the cell
        library's, scaled with the cell delays); >= 0 and shorter than the clock period.
    solver : str
        ``"milp"`` (``scipy.optimize.milp``) or ``"exhaustive"`` (every combination; small
        instances only).
    confirm : bool
        Run the chosen plan and its neighbours with bit-level injection.
    neighbours : int
        Adjacent VDD grid points (each side) whose best plans are confirmed too.
    seed : int
    batch, clock_gating, power_gating, memory_vdd_v, dram, temperature_c :
        The energy model's hardware (:class:`~experiments.studies.energy_options.EnergyFields`).
    """

    model: str = "tinymnv2"
    images: int = 200
    screen_images: int = 8
    vdd_max_v: float | None = None
    vdd_min_v: float = 0.5
    f_clk_mhz: float = 700.0
    rows: int = 256
    cols: int = 256
    pe: PEConfig = field(default_factory=PEConfig)
    recoveries: tuple[str, ...] = RECOVERIES
    penalty_cycles: int = 1
    max_accuracy_loss_pct: float = 1.0
    max_latency_overhead_pct: float = 5.0
    max_razor_flops: int | None = None
    razor_window_ps: float | None = None
    t_setup_ps: float | None = None
    solver: str = "milp"
    confirm: bool = True
    neighbours: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        _budget("max_accuracy_loss_pct", self.max_accuracy_loss_pct, 100.0)
        _budget("max_latency_overhead_pct", self.max_latency_overhead_pct, None)
        if self.max_razor_flops is not None and (
            not isinstance(self.max_razor_flops, int)
            or isinstance(self.max_razor_flops, bool)
            or self.max_razor_flops < 0
        ):
            raise ConfigError(f"max_razor_flops: {self.max_razor_flops!r} is out of range; allowed: integers >= 0")
        for name in ("images", "screen_images", "rows", "cols"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name}: {value!r} is out of range; allowed: integers >= 1")
        if not isinstance(self.penalty_cycles, int) or self.penalty_cycles < 0:
            raise ConfigError(f"penalty_cycles: {self.penalty_cycles!r} is out of range; allowed: integers >= 0")
        unknown = [r for r in self.recoveries if r not in RECOVERIES]
        if not self.recoveries or unknown:
            got = ", ".join(repr(r) for r in unknown) or "nothing"
            raise ConfigError(f"recoveries: {got} is not a recovery policy; allowed: {', '.join(RECOVERIES)}")
        object.__setattr__(self, "recoveries", tuple(dict.fromkeys(self.recoveries)))
        if self.solver not in SOLVERS:
            raise ConfigError(f"solver: {self.solver!r} is unknown; allowed: {', '.join(SOLVERS)}")
        if self.seed < 0 or self.neighbours < 0:
            raise ConfigError("seed, neighbours: allowed: integers >= 0")
        tech = self.pe.tech
        top = tech.vdd_nominal_v if self.vdd_max_v is None else self.vdd_max_v
        for name, value in (("vdd_max_v", top), ("vdd_min_v", self.vdd_min_v)):
            problem = tech._vdd_problem(name, value)
            if problem:
                raise ConfigError(problem)
        if self.vdd_min_v > top:
            raise ConfigError(f"vdd_min_v: {self.vdd_min_v:g} V is above vdd_max_v {top:g} V; allowed: <= {top:g} V")
        window_fs(self.timing(top), self.razor_window_ps)
        object.__setattr__(self, "vdd_max_v", float(top))
        self.check_energy_fields(tech)

    def timing(self, vdd_v: float) -> StageTiming:
        """The PE timing at `vdd_v` and this clock (with `t_setup_ps`)."""
        point = OperatingPoint(vdd_v=vdd_v, f_clk_mhz=self.f_clk_mhz)
        return stage_timing(self.pe, operating_point=point, t_setup_ps=self.t_setup_ps)

    @property
    def vdds(self) -> tuple[float, ...]:
        assert self.vdd_max_v is not None
        return vdd_grid(self.vdd_max_v, self.vdd_min_v)

    @property
    def pes(self) -> int:
        return self.rows * self.cols
