"""The curves every answer rests on: delay, switching-energy and leakage-power ratios against VDD."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from experiments.results import StudyResult
from experiments.technology_files import resolve_user_technology
from experiments.vocabulary import ConfigFields
from pe_models.liberty import REASONED_DELAYS_PS
from pe_models.technology import DEFAULT_TECHNOLOGY, TECHNOLOGIES, resolve_technology

from .common import Study, as_config, set_field, vdd_values

__all__ = ["TechConfig", "TechListResult", "TechListRow", "TechResult", "TechRow", "plot_tech", "tech", "tech_list"]


@dataclass(frozen=True, kw_only=True)
class TechConfig(ConfigFields):
    """One technology at several supplies.

    Attributes
    ----------
    technology : str, path or technology object
        Preset name, ``FILE.toml`` (a fit) or ``FILE.csv`` (measured points), or a
        :class:`~pe_models.technology.Technology` / ``TabulatedTechnology``.
    vdd_v : "START:STOP:STEP", "V1,V2,..." or sequence of float, optional
        Supplies in V (default: nominal down to the lowest accepted supply, or 0.4 V, in
        50 mV steps).
    """

    technology: Any = DEFAULT_TECHNOLOGY
    vdd_v: Any = None

    def __post_init__(self) -> None:
        set_field(self, "technology", resolve_user_technology(self.technology))
        model = resolve_technology(self.technology)
        if self.vdd_v is None:
            low = max(0.4, getattr(model, "vdd_min_v", None) or model.vth_v + 1e-9)
            count = int(np.floor((model.vdd_nominal_v - low) / 0.05 + 1e-9)) + 1
            set_field(self, "vdd_v", tuple(round(model.vdd_nominal_v - 0.05 * i, 6) for i in range(count)))
        else:
            set_field(self, "vdd_v", vdd_values(self.vdd_v))
        for vdd in self.vdd_v:
            model.delay_scale(vdd)


@dataclass(frozen=True, kw_only=True)
class TechRow:
    """Ratios to the nominal supply at one VDD."""

    vdd_v: float
    delay_scale: float
    switching_energy_scale: float
    leakage_power_scale: float


@dataclass(frozen=True, kw_only=True)
class TechResult(StudyResult[TechRow, TechConfig]):
    """One row per supply; totals name the technology, its source and fit error."""

    row_type = TechRow


def tech(config: TechConfig | None = None, /, **fields: Any) -> TechResult:
    """Delay, switching-energy and leakage-power ratios of a technology at each ``vdd_v``.

    Returns
    -------
    TechResult
        Rows ``vdd_v, delay_scale, switching_energy_scale, leakage_power_scale``; totals
        ``technology``, ``source``, ``vdd_nominal_v``, ``delay_model``, ``fit_error_pct``.
    """
    config = as_config(TechConfig, config, fields)
    model = resolve_technology(config.technology)
    rows = tuple(
        TechRow(
            vdd_v=vdd,
            delay_scale=model.delay_scale(vdd),
            switching_energy_scale=model.dynamic_energy_scale(vdd),
            leakage_power_scale=model.leakage_power_scale(vdd),
        )
        for vdd in config.vdd_v
    )
    totals = {
        "technology": model.name,
        "source": model.source,
        "vdd_nominal_v": model.vdd_nominal_v,
        "delay_model": model.delay_model,
        "fit_error_pct": model.fit_error_pct,
        "basis": "reasoned" if model.name in REASONED_DELAYS_PS else "fitted",
    }
    return TechResult(config=config, rows=rows, totals=totals)


@dataclass(frozen=True, kw_only=True)
class TechListRow:
    """One preset."""

    name: str
    default: bool
    source: str
    vdd_nominal_v: float
    vth_v: float
    delay_model: str
    fit_error_pct: float | None


@dataclass(frozen=True, kw_only=True)
class TechListResult(StudyResult[TechListRow, dict]):
    """Every shipped preset."""

    row_type = TechListRow


def tech_list() -> TechListResult:
    """The shipped presets with their source, nominal VDD, threshold and fit error."""
    rows = tuple(
        TechListRow(
            name=name,
            default=name == DEFAULT_TECHNOLOGY,
            source=technology.source,
            vdd_nominal_v=technology.vdd_nominal_v,
            vth_v=technology.vth_v,
            delay_model=technology.delay_model,
            fit_error_pct=technology.fit_error_pct,
        )
        for name, technology in sorted(TECHNOLOGIES.items())
    )
    return TechListResult(config={}, rows=rows)


def plot_tech(result: TechResult) -> Any:
    """Delay scale (log axis) and the two energy ratios against VDD."""
    from experiments.output import subplots

    vdd = [row.vdd_v for row in result.rows]
    figure, (left, right) = subplots(1, 2, figsize=(10, 4))
    left.plot(vdd, [row.delay_scale for row in result.rows], "o-", color="tab:blue")
    left.set_yscale("log")
    left.set_xlabel("VDD (V)")
    left.set_ylabel("delay / delay at nominal")
    left.grid(True, which="both", alpha=0.3)
    right.plot(vdd, [row.switching_energy_scale for row in result.rows], "o-", label="switching energy")
    right.plot(vdd, [row.leakage_power_scale for row in result.rows], "s-", label="leakage power")
    right.set_xlabel("VDD (V)")
    right.set_ylabel("ratio to nominal")
    right.legend()
    right.grid(True, alpha=0.3)
    figure.suptitle(f"technology {result.totals['technology']}")
    return figure


STUDY = Study(
    name="tech",
    config_type=TechConfig,
    function=tech,
    summary="delay, switching-energy and leakage-power ratios of a technology against VDD",
)
