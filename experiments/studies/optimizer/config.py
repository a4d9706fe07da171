"""What the optimizer searches and the budgets it respects (:class:`OptimizeConfig`)."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from experiments.technology_files import resolve_user_technology
from pe_models.errors import ConfigError
from pe_models.pe import OperatingPoint, PEConfig, StageTiming, stage_timing
from pe_models.razor import window_fs
from pe_models.technology import resolve_technology
from workloads.models import MODEL_NAMES

from ..common import (
    SweepFields,
    array_shape,
    check_choice,
    check_images,
    check_int,
    check_model,
    set_field,
    vdd_values,
)
from ..energy_options import EnergyFields

RECOVERIES: tuple[str, ...] = ("global", "column", "local", "drop")


SOLVERS: tuple[str, ...] = ("milp", "exhaustive")


OBJECTIVES: tuple[str, ...] = ("system", "core")


def vdd_grid(vdd_max_v: float, vdd_min_v: float, step_v: float = 0.01) -> tuple[float, ...]:
    """Supply voltages from `vdd_max_v` down to `vdd_min_v` in steps of `step_v`, rounded to 1 mV."""
    count = math.floor((vdd_max_v - vdd_min_v) / step_v + 1e-9) + 1
    return tuple(round(vdd_max_v - i * step_v, 3) for i in range(count))


def _budget(name: str, value: object, upper: float | None) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    allowed = f"[0, {upper:g}]" if upper is not None else ">= 0"
    if not ok or value < 0 or (upper is not None and value > upper):  # type: ignore[operator]
        raise ConfigError(f"{name}: {value!r} is out of range; allowed: {allowed} %")


_BOUNDS = re.compile(r"\s*([0-9]*\.?[0-9]+)\s*:\s*([0-9]*\.?[0-9]+)\s*")


def _grid(value: object, technology: object) -> tuple[float, ...]:
    """The optimizer's VDD grid, highest first: None (nominal down to 0.5 V), ``HIGH:LOW`` (10 mV
    steps) or any supply voltages of :func:`~experiments.studies.common.vdd_values`."""
    if value is None:
        nominal = float(resolve_technology(resolve_user_technology(technology)).vdd_nominal_v)
        return vdd_grid(nominal, min(0.5, nominal))
    if isinstance(value, str) and (bounds := _BOUNDS.fullmatch(value)):
        high, low = sorted((float(bounds.group(1)), float(bounds.group(2))), reverse=True)
        return vdd_grid(high, low)
    return tuple(sorted(set(vdd_values(value)), reverse=True))


def check_guard_band(guard_band_mv: object, grid: Sequence[float]) -> float:
    """The guard band in mV, 0 up to the VDD range of `grid`; ConfigError naming ``guard_band_mv``."""
    span_mv = round(1000.0 * (max(grid) - min(grid)), 3)
    ok = isinstance(guard_band_mv, int | float) and not isinstance(guard_band_mv, bool)
    value = float(guard_band_mv) if ok else math.nan  # type: ignore[arg-type]
    if not math.isfinite(value) or not 0.0 <= value <= span_mv + 1e-9:
        raise ConfigError(
            f"guard_band_mv: {guard_band_mv!r} mV is outside the VDD range of the grid {max(grid):g}..{min(grid):g} V; "
            f"allowed: 0 .. {span_mv:g} mV"
        )
    return value


DEFAULT_SCREEN_IMAGES = 8
"""Selection images the screen profiles unless `screen_images` says otherwise."""


@dataclass(frozen=True, kw_only=True)
class OptimizeConfig(SweepFields, EnergyFields):
    """What the optimizer searches and the budgets it respects.

    Attributes
    ----------
    model : str
        The model, ``tinymnv2`` or ``mobilenetv2``.
    images : int
        Images loaded, >= 2; a seeded random split (:func:`experiments.stats.split_images`)
        makes two disjoint sets of them.
    selection_images : int, optional
        Images the plan is selected on: the screen's operands and the bit-level confirmation
        (default: a fifth of the images, at least 1).
    test_images : int, optional
        Images, disjoint from the selection images, on which the accepted plan is measured
        and judged against every budget (default: the rest).
    screen_images : int, optional
        Selection images whose layer operands feed the analytic screen, 1 .. the selection
        images (default: 8, or every selection image when there are fewer).
    array : "RxC" or (rows, cols)
        Weight-stationary array, rows x columns of PEs, each >= 1.
    recovery : str or sequence of str
        Recovery policies to consider, comma-separated: ``global``, ``column``, ``local``,
        ``drop``.
    penalty_cycles : int, optional
        Cycles one recovery costs (global, column, local), >= 0. Default None: the stall model
        (:func:`sim.recovery.stall_model`, as ``vscale accuracy`` and ``simulate`` use it) for
        each plan's policy, the array, the guarded VDD and the PE built with the hold buffers
        of the plan's protected bits, in the screen and in the bit-level measurements.
    max_accuracy_loss_pct : float
        Accuracy-loss budget in percentage points against the int8 model at nominal VDD, 0..100.
    max_latency_overhead_pct : float
        Latency-overhead budget in percent of the error-free cycles, >= 0.
    max_razor_flops : int, optional
        Razor flip-flops the array may contain, protected bits x PEs, >= 0 (default: no limit).
    razor_window_ps : float, optional
        Razor detection window in ps: a protected bit still wrong this long after the sample
        is a silent error; it must lie in the feasible range of hold fixing at nominal VDD
        (``vscale pe razor``; default: the largest feasible window).
    razor_windows_ps : str or sequence of float, optional
        Razor windows the optimizer chooses among, ps, comma-separated, each in the feasible
        range of hold fixing at nominal VDD (``vscale pe razor``): the screen runs once per
        window and the least-energy plan over all of them is chosen (its window is then the
        run's `razor_window_ps`). Default: `razor_window_ps` alone.
    solver : str
        ``milp`` (``scipy.optimize.milp``) or ``exhaustive`` (every combination; small
        instances only).
    confirm : bool
        Run the chosen plan and its neighbours with bit-level injection.
    neighbours : int
        Adjacent VDD grid points each side whose best plans are confirmed too, >= 0.
    noninferiority_alpha : float
        One-sided level of the non-inferiority test of the accuracy loss against its budget,
        in (0, 0.5) (0.025: the two-sided 95 % interval lies below the budget).
    seed : int
        Seeds the screen's operand samples, the injection and the split into selection and
        test images, >= 0.
    guard_band_mv : float
        Supply guard band in mV for process and temperature, 0 up to the VDD range of the grid:
        a plan at VDD ``v`` must work with its PE timed at ``v - guard_band`` (the screen, the
        bit-level measurement and the DVFS baseline's error-free clock), while its energy is
        counted at ``v``; grid points whose guarded supply falls below the grid's lowest VDD
        are left out.
    objective : str
        Energy per inference the optimizer minimises: ``system`` (the array with its SRAM and
        DRAM) or ``core`` (the array alone, as the seed paper reports its saving).
    (``vdd_v``, the grid: ``HIGH:LOW`` in 10 mV steps, or supply voltages as in
    :class:`~experiments.studies.common.SweepFields`, default the technology's nominal down
    to 0.5 V in 10 mV steps, kept highest first; ``f_clk_mhz``, ``t_setup_ps`` and the PE
    fields: :class:`~experiments.studies.common.SweepFields`.)
    (``batch``, ``clock_gating``, ``power_gating``, ``memory_vdd_v``, ``dram``, ``temperature_c``:
    the energy model's hardware, :class:`~experiments.studies.energy_options.EnergyFields`.)
    """

    CHOICES: ClassVar[Mapping[str, Sequence[str]]] = {
        "model": MODEL_NAMES,
        "recovery": RECOVERIES,
        "solver": SOLVERS,
        "objective": OBJECTIVES,
    }

    vdd_v: Any = None
    model: str = "tinymnv2"
    images: int = 200
    selection_images: int | None = None
    test_images: int | None = None
    screen_images: int | None = None
    array: Any = "256x256"
    recovery: Any = RECOVERIES
    penalty_cycles: int | None = None
    max_accuracy_loss_pct: float = 1.0
    max_latency_overhead_pct: float = 5.0
    max_razor_flops: int | None = None
    razor_window_ps: float | None = None
    razor_windows_ps: Any = None
    solver: str = "milp"
    confirm: bool = True
    neighbours: int = 1
    noninferiority_alpha: float = 0.025
    seed: int = 0
    guard_band_mv: float = 0.0
    objective: str = "system"

    def __post_init__(self) -> None:
        set_field(self, "vdd_v", _grid(self.vdd_v, self.technology))
        check_guard_band(self.guard_band_mv, self.vdd_v)
        check_choice("objective", self.objective, OBJECTIVES)
        super().__post_init__()
        check_model(self.model, files=False)
        set_field(self, "images", check_images(self.images, model=self.model, folder=False))
        if self.screen_images is not None:
            check_int("screen_images", self.screen_images, minimum=1)
        rows, cols = array_shape(self.array)
        set_field(self, "array", f"{rows}x{cols}")
        if not isinstance(self.recovery, str | Sequence):
            raise ConfigError(f"recovery: expected one or more of {', '.join(RECOVERIES)}, got {self.recovery!r}")
        recovery = self.recovery.split(",") if isinstance(self.recovery, str) else list(self.recovery)
        recovery = [str(item).strip() for item in recovery if str(item).strip()]
        if not recovery:
            raise ConfigError(f"recovery: expected one or more of {', '.join(RECOVERIES)}, got nothing")
        for item in recovery:
            check_choice("recovery", item, RECOVERIES)
        set_field(self, "recovery", tuple(dict.fromkeys(recovery)))
        if self.penalty_cycles is not None:
            check_int("penalty_cycles", self.penalty_cycles, minimum=0)
        _budget("max_accuracy_loss_pct", self.max_accuracy_loss_pct, 100.0)
        _budget("max_latency_overhead_pct", self.max_latency_overhead_pct, None)
        if self.max_razor_flops is not None:
            check_int("max_razor_flops", self.max_razor_flops, minimum=0)
        for name in ("selection_images", "test_images"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), minimum=1)
        alpha = self.noninferiority_alpha
        if not isinstance(alpha, int | float) or isinstance(alpha, bool) or not 0.0 < alpha < 0.5:
            raise ConfigError(f"noninferiority_alpha: {alpha!r} is out of range; allowed: (0, 0.5)")
        check_choice("solver", self.solver, SOLVERS)
        check_int("neighbours", self.neighbours, minimum=0)
        check_int("seed", self.seed, minimum=0)
        window_fs(self.timing(self.vdds[0]), self.razor_window_ps, pe=self.pe)
        set_field(self, "razor_windows_ps", self._windows())
        self.check_energy_fields(self.pe_config().tech)

    def _windows(self) -> tuple[float, ...]:
        """`razor_windows_ps` as distinct floats, each checked against the feasible range."""
        value = self.razor_windows_ps
        if value is None:
            return ()
        if isinstance(value, int | float) and not isinstance(value, bool):
            items: list[Any] = [value]
        elif isinstance(value, str | Sequence):
            items = value.split(",") if isinstance(value, str) else list(value)
        else:
            raise ConfigError(
                f"razor_windows_ps: {value!r} is not a number of ps; allowed: comma-separated windows in ps"
            )
        windows = []
        for item in items:
            try:
                window = float(item)
            except (TypeError, ValueError):
                raise ConfigError(
                    f"razor_windows_ps: {item!r} is not a number of ps; allowed: comma-separated windows in ps"
                ) from None
            window_fs(self.timing(self.vdds[0]), window, field="razor_windows_ps", pe=self.pe)
            windows.append(window)
        return tuple(dict.fromkeys(windows))

    @property
    def screen_image_count(self) -> int:
        """Selection images the screen profiles: `screen_images`, by default 8 (fewer when the
        selection set is smaller, as the slice of it takes)."""
        return DEFAULT_SCREEN_IMAGES if self.screen_images is None else self.screen_images

    @functools.cached_property
    def pe(self) -> PEConfig:
        """The PE of these fields."""
        return self.pe_config()

    def image_split(self, total: int) -> tuple[int, int]:
        """Selection and test image counts out of `total` loaded images (defaults resolved).

        Raises
        ------
        ConfigError
            Fewer than two images, more asked for than loaded, or more screen images than
            selection images.
        """
        selection, test = self.selection_images, self.test_images
        if selection is None:
            selection = max(1, total // 5) if test is None else total - test
        if test is None:
            test = total - selection
        if total < 2 or selection < 1 or test < 1 or selection + test > total:
            asked = [
                "a fifth"
                if self.selection_images is None and self.test_images is None
                else "the rest"
                if self.selection_images is None
                else str(selection),
                "the rest" if self.test_images is None else str(test),
            ]
            head = "selection_images" if self.selection_images is not None else "test_images"
            raise ConfigError(
                f"{head}: {asked[0]} selection + {asked[1]} test images of {total} loaded; allowed: at least "
                f"1 each, at most {total} together"
            )
        if self.screen_images is not None and self.screen_images > selection:
            raise ConfigError(
                f"screen_images: {self.screen_images} is more than the {selection} selection images; "
                f"allowed: 1..{selection}"
            )
        return selection, test

    def timing(self, vdd_v: float) -> StageTiming:
        """The PE timing of a plan at `vdd_v` and this clock (with `t_setup_ps`): at the guarded
        supply, `vdd_v` minus the guard band."""
        point = OperatingPoint(vdd_v=self.guarded_vdd_v(vdd_v), f_clk_mhz=self.f_clk_mhz)
        return stage_timing(self.pe, operating_point=point, t_setup_ps=self.t_setup_ps)

    def guarded_vdd_v(self, vdd_v: float) -> float:
        """The supply a plan at `vdd_v` is timed at: `vdd_v` minus the guard band, in V."""
        return round(float(vdd_v) - self.guard_band_mv / 1000.0, 6)

    @property
    def vdds(self) -> tuple[float, ...]:
        """The VDD grid, highest first (`vdd_v`), without the points whose guarded supply falls
        below the grid's lowest VDD."""
        lowest = min(self.vdd_v)
        return tuple(v for v in self.vdd_v if self.guarded_vdd_v(v) >= lowest - 1e-9)

    @property
    def rows(self) -> int:
        """Rows of the array."""
        return array_shape(self.array)[0]

    @property
    def cols(self) -> int:
        """Columns of the array."""
        return array_shape(self.array)[1]

    @property
    def pes(self) -> int:
        """PEs of the array."""
        return self.rows * self.cols
