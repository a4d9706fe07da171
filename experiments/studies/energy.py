"""Energy per layer and per inference against supply voltage, as a breakdown that sums to the total.

For every layer of a topology (or one GEMM) and every supply voltage, the array's
counts (MACs, cycles with stalls and corrections, detections, memory traffic) go through
:func:`sim.energy.layer_energy` with the per-PE energies of :mod:`pe_models.energy`.
Switching activity comes from the toggle model on seeded DNN-like operands of the layer
(``sim.network.layer_operands``, the operands ``vscale simulate`` draws with the same
seed: ReLU-like activations, Gaussian weights, convolutions lowered by im2col) in the
array's dataflow order. Without ``simulate`` the cycles are the closed forms of
:mod:`sim.cycles` (no timing errors, hence no corrections); with ``simulate`` every MAC
runs through the array simulator at each voltage (:func:`sim.engine.simulate_grouped_gemm`)
and its detections and recovery cycles are charged. ``saving_pct`` compares each row
with the same layer at the technology's nominal supply and the same clock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from experiments.results import NOT_A_COLUMN, StudyResult, saving_pct
from pe_models.energy import PEEnergyModel, pe_energy_model, peak_macs_per_s
from pe_models.errors import ConfigError
from pe_models.pe import OperatingPoint, PEConfig, stage_timing
from sim.config import DATAFLOWS, ArrayConfig
from sim.cycles import gemm_report
from sim.energy import (
    COMPONENTS,
    EnergyBreakdown,
    LayerActivity,
    activity_from_report,
    activity_from_result,
    design_hold_buffers,
    layer_energy,
    mean_units_per_mac,
    total_energy,
)
from sim.engine import simulate_grouped_gemm
from sim.layers import GemmLayer, GemmProblem, Layer
from sim.memory import ifmap_words
from sim.network import layer_operands
from sim.protection import RECOVERY_POLICIES, Protection, parse_bit_mask
from workloads.models.zoo import MODEL_NAMES
from workloads.topologies import load_topology

from .common import (
    Progress,
    Study,
    SweepFields,
    as_config,
    check_choice,
    check_int,
    check_number,
    gemm_shape,
    no_progress,
    resolve_array,
)

__all__ = [
    "EnergyConfig",
    "EnergyFigures",
    "EnergyPerVdd",
    "EnergyPerVddRow",
    "EnergyResult",
    "EnergyRow",
    "energy",
    "plot_energy",
    "plot_energy_layers",
    "required_leakage_share",
]

TOTAL = "total"


@dataclass(frozen=True, kw_only=True)
class EnergyConfig(SweepFields):
    """A workload on one array at several supply voltages, and the energy model's options.

    Attributes
    ----------
    topology : str or path, optional
        Topology CSV or built-in name; exactly one of `topology`, `gemm` and `model`.
    gemm : "M,N,K" or (M, N, K), optional
        One GEMM ``C[M, N] = A[M, K] @ B[K, N]``.
    model : str, optional
        A quantised network of :mod:`workloads` (``tinymnv2``, ``mobilenetv2``): its GEMM
        layers for one image, with the int8 operands its first evaluation image produces
        (real activity instead of the synthetic operand model).
    config_file : str or path, optional
        Array configuration: a SCALE-Sim ``.cfg`` or a vscale TOML file; the fields below
        override it; its clock is `f_clk_mhz`.
    array : "RxC" or (rows, cols), optional
        Array shape in PEs (default: from `config_file`, else 256x256).
    dataflow : str, optional
        ``ws``, ``os`` or ``is`` (default: from `config_file`, else ws).
    bandwidth : float or "unlimited", optional
        DRAM bandwidth in words per cycle; adds memory stall cycles (default: from
        `config_file`, else unlimited).
    scalesim_compat : bool
        Lower layers as SCALE-Sim v2 does.
    protect : str
        Protected accumulator bits, e.g. ``31:20``, or ``none``.
    penalty_cycles : int
        Cycles one correction costs (with `simulate`), >= 0.
    recovery : str
        Recovery of a detection (with `simulate`): ``global``, ``column``, ``local`` or ``drop``.
    simulate : bool
        Run every MAC through the array simulator at each voltage (timing errors,
        detections and recovery cycles); default False: closed-form cycles, no errors.
    power_gating : bool
        Power only the PEs the mapping uses (default False: every PE leaks).
    clock_gating : bool
        Clock only the PEs the mapping uses (default False: every flop of every PE, every cycle).
    memory_vdd_v : float, optional
        SRAM supply in V (default: nominal, SRAM energy unscaled).
    node_nm : float, optional
        Technology node in nm for the constants' node scaling (default: from the technology name).
    hold_buffers_per_bit : float, optional
        Hold-fix buffers per protected bit, >= 0 (default: the mean over the protected bits
        of :func:`pe_models.razor.hold_buffers` at nominal VDD, the clock and the default
        detection window: hold fixing is done once, at design time).
    activity_samples : int
        MAC positions sampled per layer for the switching activity, >= 64.
    seed : int
        Seed of the operands, >= 0.
    (PE fields, ``vdd_v`` sweep and ``f_clk_mhz``: :class:`~experiments.studies.common.SweepFields`.)
    """

    CHOICES: ClassVar[Mapping[str, Sequence[str]]] = {
        "model": MODEL_NAMES,
        "dataflow": DATAFLOWS,
        "recovery": RECOVERY_POLICIES,
    }

    topology: str | Path | None = None
    gemm: Any = None
    model: str | None = None
    config_file: str | Path | None = None
    array: Any = None
    dataflow: str | None = None
    bandwidth: Any = None
    scalesim_compat: bool = False
    protect: str = "none"
    penalty_cycles: int = 1
    recovery: str = "global"
    simulate: bool = False
    power_gating: bool = False
    clock_gating: bool = False
    memory_vdd_v: float | None = None
    node_nm: float | None = None
    hold_buffers_per_bit: float | None = None
    activity_samples: int = 2048
    seed: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.gemm is not None:
            object.__setattr__(self, "gemm", gemm_shape(self.gemm))
        if sum(value is not None for value in (self.topology, self.gemm, self.model)) != 1:
            raise ConfigError("topology: give exactly one of topology, gemm and model")
        if self.model is not None:
            check_choice("model", self.model, MODEL_NAMES)
        self.array_config()
        pe = self.pe_config()
        parse_bit_mask(self.protect, width=pe.width, option="protect")
        check_int("penalty_cycles", self.penalty_cycles, minimum=0)
        check_choice("recovery", self.recovery, RECOVERY_POLICIES)
        check_int("activity_samples", self.activity_samples, minimum=64)
        check_int("seed", self.seed, minimum=0)
        if self.hold_buffers_per_bit is not None:
            check_number("hold_buffers_per_bit", self.hold_buffers_per_bit, unit="buffers", minimum=0)
        if self.node_nm is not None:
            check_number("node_nm", self.node_nm, unit="nm", minimum=7, maximum=130)
        if self.memory_vdd_v is not None:
            pe.tech.dynamic_energy_scale(check_number("memory_vdd_v", self.memory_vdd_v, unit="V", minimum=0))
        if self.simulate and (pe.pipeline != "registered" or pe.adder != "rca"):
            raise ConfigError("simulate: the array simulator models the registered pipeline with the rca adder")

    def array_config(self) -> ArrayConfig:
        """The array (its clock is `f_clk_mhz`, its accumulator the PE's width)."""
        array = resolve_array(
            config_file=self.config_file,
            array=self.array,
            dataflow=self.dataflow,
            bandwidth=self.bandwidth,
            f_clk_mhz=self.f_clk_mhz,
        )
        return dataclasses.replace(array, accumulator_bits=self.width)

    def hold_buffers(self) -> float:
        """Hold-fix buffers per protected bit (the field, or counted at nominal VDD)."""
        if self.hold_buffers_per_bit is not None:
            return float(self.hold_buffers_per_bit)
        protection = self.protection()
        mask = 0 if protection is None else protection.protected_mask
        return design_hold_buffers(self.pe_config(), self.f_clk_mhz, mask)

    def protection(self) -> Protection | None:
        """The protection these fields describe (None without protected bits)."""
        mask = parse_bit_mask(self.protect, width=self.width, option="protect")
        if mask == 0:
            return None
        return Protection(protected_mask=mask, penalty_cycles=self.penalty_cycles, recovery=self.recovery)


@dataclass(frozen=True, kw_only=True)
class _Supply:
    vdd_v: float
    f_clk_mhz: float


@dataclass(frozen=True, kw_only=True)
class _Layer:
    layer_id: int
    layer_name: str


@dataclass(frozen=True, kw_only=True)
class EnergyFigures:
    """The counts and energy of a layer or of the whole inference at one supply voltage.

    Attributes
    ----------
    macs, cycles, correction_cycles, detections : int
    latency_us : float
        ``cycles / f_clk_mhz``.
    mac_dynamic_pj, register_clock_pj, leakage_pj, razor_overhead_pj, correction_pj, sram_pj, dram_pj : float
        Components at the nominal constants.
    total_pj : float
        Their sum.
    total_low_pj, total_high_pj : float
        The total with every constant at the low (high) end of its band.
    pj_per_mac : float
        ``total_pj / macs``.
    saving_pct : float
        ``100 (1 - total_pj / total_pj at nominal VDD)``, same layer (or inference) and clock.
    breakdown : EnergyBreakdown
        Every component's band (not a column).
    """

    macs: int
    cycles: int
    correction_cycles: int
    detections: int
    latency_us: float
    mac_dynamic_pj: float
    register_clock_pj: float
    leakage_pj: float
    razor_overhead_pj: float
    correction_pj: float
    sram_pj: float
    dram_pj: float
    total_pj: float
    total_low_pj: float
    total_high_pj: float
    pj_per_mac: float
    saving_pct: float
    breakdown: EnergyBreakdown = field(metadata=NOT_A_COLUMN, repr=False)


@dataclass(frozen=True, kw_only=True)
class EnergyRow(EnergyFigures, _Layer, _Supply):
    """One layer at one supply voltage: ``vdd_v``, ``f_clk_mhz``, ``layer_id`` (position in the
    topology), ``layer_name``, then the :class:`EnergyFigures`."""


@dataclass(frozen=True, kw_only=True)
class EnergyPerVddRow(EnergyFigures, _Supply):
    """The whole inference (every layer) at one supply voltage: ``vdd_v``, ``f_clk_mhz``, then the
    :class:`EnergyFigures` summed over the layers."""


@dataclass(frozen=True, kw_only=True)
class EnergyPerVdd(StudyResult[EnergyPerVddRow, EnergyConfig]):
    """The energy per inference at each supply voltage, as a result of its own (table, CSV, JSON)."""

    row_type = EnergyPerVddRow


@dataclass(frozen=True, kw_only=True)
class EnergyResult(StudyResult[EnergyRow, EnergyConfig]):
    """One row per (VDD, layer); the energy per inference at each VDD in ``per_vdd``.

    ``totals``: nominal VDD, energy per MAC at nominal (datapath and total), peak
    throughput, the toggle model's validation errors, the saving at the lowest VDD.

    Attributes
    ----------
    per_vdd : tuple of EnergyPerVddRow
        The whole inference at each VDD of the sweep (its rows sum the layers' rows).
    model : PEEnergyModel
    """

    row_type = EnergyRow

    per_vdd: tuple[EnergyPerVddRow, ...] = field(default=(), compare=False)
    model: PEEnergyModel = field(repr=False)

    def per_vdd_result(self) -> EnergyPerVdd:
        """The energy per inference at each VDD as a result (``energy_per_vdd.csv``)."""
        return EnergyPerVdd(config=self.config, rows=self.per_vdd, totals=self.totals)

    def as_dict(self) -> dict[str, Any]:
        """``{"config", "totals", "per_vdd", "rows"}``: the per-VDD energy before the per-layer rows."""
        whole = super().as_dict()
        return {
            "config": whole["config"],
            "totals": whole["totals"],
            "per_vdd": self.per_vdd_result().records(),
            "rows": whole["rows"],
        }


def _operands(layer: Layer, problem: GemmProblem, index: int, seed: int, scalesim_compat: bool) -> tuple:
    """The layer's operands as ``vscale simulate`` draws them (``sim.network.layer_operands``).

    With SCALE-Sim's lowering the GEMM shape can differ from the layer's own: then random
    operands of the same model and of the GEMM's shape.
    """
    child = np.random.SeedSequence(seed, spawn_key=(0, index))
    if not scalesim_compat:
        return layer_operands(layer, child)
    rng = np.random.default_rng(child)
    shape_a = (problem.groups, problem.m, problem.k)
    magnitude = np.clip(np.rint(np.abs(rng.normal(0.0, 40.0, shape_a))), 0, 127)
    activations = np.where(rng.random(shape_a) < 0.5, 0, magnitude).astype(np.int8)
    weights = np.clip(np.rint(rng.normal(0.0, 25.0, (problem.groups, problem.k, problem.n))), -128, 127)
    return activations, weights.astype(np.int8)


_Workload = list[tuple[str, GemmProblem, tuple[np.ndarray, np.ndarray], int | None]]


def _workload(config: EnergyConfig) -> _Workload:
    """(name, GEMM problem, operands, distinct input words) of every layer of the config's workload.

    The input words are what DRAM must deliver once (:func:`sim.memory.ifmap_words`: a
    convolution's feature map, not its im2col matrix); None for a network's recorded GEMMs,
    whose memory traffic is then counted as im2col words.
    """
    if config.model is not None:
        return _model_workload(config.model, config.seed)
    if config.gemm is not None:
        m, n, k = config.gemm
        layers: list[Layer] = [GemmLayer(name="gemm", m=m, n=n, k=k)]
    else:
        assert config.topology is not None
        layers = list(load_topology(config.topology, scalesim_compat=config.scalesim_compat).layers)
    workload = []
    for index, layer in enumerate(layers):
        problem = layer.gemm(scalesim_compat=config.scalesim_compat)
        operands = _operands(layer, problem, index, config.seed, config.scalesim_compat)
        workload.append((layer.name, problem, operands, ifmap_words(layer, scalesim_compat=config.scalesim_compat)))
    return workload


def _model_workload(name: str, seed: int) -> _Workload:
    from workloads.engine import CalibrationConfig

    from .inference_energy import record_layer_operands
    from .prepared import prepare_model

    prepared = prepare_model(name, images=1, labels=None, seed=seed, calibration=CalibrationConfig())
    workload = []
    for name, (activations, weights) in record_layer_operands(prepared.model, prepared.images[:1]).items():
        groups, m, k = activations.shape
        workload.append((name, GemmProblem(m=m, n=weights.shape[2], k=k, groups=groups), (activations, weights), None))
    return workload


def _figures(
    breakdown: EnergyBreakdown, reference: EnergyBreakdown, correction_cycles: int, detections: int
) -> dict[str, Any]:
    """The :class:`EnergyFigures` fields of a breakdown, saving against `reference` (nominal VDD)."""
    components = {name: band.nominal for name, band in breakdown.components().items()}
    total = breakdown.total_pj
    nominal_total = reference.total_pj.nominal
    return {
        "macs": breakdown.macs,
        "cycles": breakdown.cycles,
        "correction_cycles": correction_cycles,
        "detections": detections,
        "latency_us": breakdown.latency_us,
        **components,
        "total_pj": total.nominal,
        "total_low_pj": total.low,
        "total_high_pj": total.high,
        "pj_per_mac": total.nominal / breakdown.macs if breakdown.macs else 0.0,
        "saving_pct": saving_pct(total.nominal, nominal_total),
        "breakdown": breakdown,
    }


def _activities(
    config: EnergyConfig,
    pe: PEConfig,
    array: ArrayConfig,
    workload: list[tuple[str, GemmProblem, tuple[np.ndarray, np.ndarray]]],
    units: list[float],
    operands: list[tuple[np.ndarray, np.ndarray]],
    vdd_v: float,
    protection: Protection | None,
) -> list[LayerActivity]:
    if not config.simulate:
        return [
            activity_from_report(
                gemm_report(name, problem, array, ifmap_words=words),
                problem,
                array,
                units_per_mac=u,
                protection=protection,
            )
            for (name, problem, _, words), u in zip(workload, units, strict=True)
        ]
    point = OperatingPoint(vdd_v=vdd_v, f_clk_mhz=config.f_clk_mhz)
    timing = stage_timing(pe, operating_point=point, t_setup_ps=config.t_setup_ps)
    activities = []
    for index, ((name, problem, _, words), u, (activations, weights)) in enumerate(
        zip(workload, units, operands, strict=True)
    ):
        result = simulate_grouped_gemm(
            activations,
            weights,
            array=array,
            pe=pe,
            timing=timing,
            protection=protection,
            seed=np.random.SeedSequence(config.seed, spawn_key=(1, index)),
        )
        activities.append(
            activity_from_result(
                name, result, problem, array, units_per_mac=u, protection=protection, ifmap_words=words
            )
        )
    return activities


def energy(config: EnergyConfig | None = None, /, *, progress: Progress = no_progress, **fields: Any) -> EnergyResult:
    """Energy breakdown per layer and per inference at every supply voltage of the sweep.

    Parameters
    ----------
    config : EnergyConfig, optional
        Or its fields as keyword arguments (``gemm="512,256,256"``, ``vdd_v="0.9,0.5"`` ...).
    progress : callable
        Progress hook over the voltages.
    """
    config = as_config(EnergyConfig, config, fields)
    pe = config.pe_config()
    array = config.array_config()
    protection = config.protection()
    model = pe_energy_model(pe, node_nm=config.node_nm, hold_buffers_per_bit=config.hold_buffers())
    workload = _workload(config)
    operands = [item[2] for item in workload]
    units = [
        mean_units_per_mac(
            model, a, w, array, samples=config.activity_samples, seed=np.random.SeedSequence(config.seed)
        )
        for a, w in operands
    ]
    nominal_v = float(pe.tech.vdd_nominal_v)
    voltages = list(config.vdd_v)
    evaluated: dict[float, tuple[list[EnergyBreakdown], list[LayerActivity]]] = {}
    for vdd in progress([nominal_v, *[v for v in voltages if v != nominal_v]], label="energy"):
        activities = _activities(config, pe, array, workload, units, operands, vdd, protection)
        breakdowns = [
            layer_energy(
                activity,
                model,
                vdd_v=vdd,
                f_clk_mhz=config.f_clk_mhz,
                memory_vdd_v=config.memory_vdd_v,
                power_gating=config.power_gating,
                clock_gating=config.clock_gating,
            )
            for activity in activities
        ]
        evaluated[vdd] = (breakdowns, activities)
    reference = evaluated[nominal_v][0]
    reference_total = total_energy(reference, name=TOTAL)
    rows: list[EnergyRow] = []
    per_vdd: list[EnergyPerVddRow] = []
    for vdd in voltages:
        breakdowns, activities = evaluated[vdd]
        for index, (breakdown, activity, ref) in enumerate(zip(breakdowns, activities, reference, strict=True)):
            figures = _figures(breakdown, ref, activity.correction_cycles, activity.detections)
            rows.append(
                EnergyRow(
                    vdd_v=breakdown.vdd_v,
                    f_clk_mhz=breakdown.f_clk_mhz,
                    layer_id=index,
                    layer_name=breakdown.name,
                    **figures,
                )
            )
        whole = total_energy(breakdowns, name=TOTAL)
        correction = sum(a.correction_cycles for a in activities)
        figures = _figures(whole, reference_total, correction, sum(a.detections for a in activities))
        per_vdd.append(EnergyPerVddRow(vdd_v=whole.vdd_v, f_clk_mhz=whole.f_clk_mhz, **figures))
    macs = reference_total.macs
    lowest = min(voltages)
    lowest_total = total_energy(evaluated[lowest][0], name=TOTAL).total_pj.nominal
    peak = peak_macs_per_s(array.mac_units, config.f_clk_mhz)
    totals = {
        "nominal_vdd_v": nominal_v,
        "f_clk_mhz": float(config.f_clk_mhz),
        "macs": macs,
        "energy_per_mac_nominal_pj": reference_total.total_pj.nominal / macs,
        "mac_dynamic_per_mac_nominal_pj": reference_total.mac_dynamic_pj.nominal / macs,
        "lowest_vdd_v": lowest,
        "saving_at_lowest_vdd_pct": saving_pct(lowest_total, reference_total.total_pj.nominal),
        "peak_tmac_per_s": peak / 1e12,
        "peak_tops": 2 * peak / 1e12,
        "unit_capacitance_ff": model.unit_capacitance_ff.nominal,
        "node_nm": model.node_nm,
        "hold_buffers_per_bit": model.hold_buffers_per_bit,
        **{f"{name}_toggle_error_pct": stage.validation_error_pct for name, stage in model.stages.items()},
        **config.timing_totals(config.pe_config()),
    }
    return EnergyResult(config=config, rows=tuple(rows), totals=totals, per_vdd=tuple(per_vdd), model=model)


def required_leakage_share(saving_pct: float, dynamic_energy_ratio: float, leakage_power_ratio: float) -> float:
    """Leakage share of the nominal energy that a dynamic + leakage model needs for a saving.

    With energy ``D + L`` at nominal (shares summing to 1), dynamic energy scaling by
    `dynamic_energy_ratio` and leakage energy by `leakage_power_ratio` (same clock, same
    cycles), ``1 - saving = (1 - L) s_dyn + L s_leak``, so
    ``L = (s_dyn - (1 - saving)) / (s_dyn - s_leak)``.

    Returns
    -------
    float
        The share L in [0, 1], or NaN if no share in [0, 1] gives the saving.
    """
    remaining = 1.0 - saving_pct / 100.0
    if dynamic_energy_ratio == leakage_power_ratio:
        return float("nan")
    share = (dynamic_energy_ratio - remaining) / (dynamic_energy_ratio - leakage_power_ratio)
    return share if 0.0 <= share <= 1.0 else float("nan")


_COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3")


def plot_energy(result: EnergyResult):
    """Stacked bars of the inference energy per supply voltage, one segment per component."""
    from experiments.output import subplots

    totals = result.per_vdd
    figure, axis = subplots(figsize=(1.2 + 0.7 * len(totals), 4.0))
    labels = [f"{row.vdd_v:g}" for row in totals]
    bottom = np.zeros(len(totals))
    for colour, component in zip(_COLOURS, COMPONENTS, strict=True):
        values = np.array([getattr(row, component) for row in totals]) / 1e6
        axis.bar(labels, values, bottom=bottom, color=colour, label=component.removesuffix("_pj"))
        bottom += values
    low = np.array([row.total_low_pj for row in totals]) / 1e6
    high = np.array([row.total_high_pj for row in totals]) / 1e6
    axis.errorbar(labels, bottom, yerr=[bottom - low, high - bottom], fmt="none", ecolor="black", capsize=3)
    axis.set_xlabel("VDD (V)")
    axis.set_ylabel("energy per inference (uJ)")
    axis.legend(fontsize=7)
    return figure


def plot_energy_layers(result: EnergyResult, vdd_v: float):
    """Stacked bars per layer at one supply voltage."""
    from experiments.output import subplots

    rows = [row for row in result.rows if row.vdd_v == vdd_v]
    figure, axis = subplots(figsize=(max(4.0, 0.25 * len(rows) + 2), 4.0))
    positions = np.arange(len(rows))
    bottom = np.zeros(len(rows))
    for colour, component in zip(_COLOURS, COMPONENTS, strict=True):
        values = np.array([getattr(row, component) for row in rows]) / 1e6
        axis.bar(positions, values, bottom=bottom, color=colour, label=component.removesuffix("_pj"))
        bottom += values
    axis.set_xticks(positions, [row.layer_name for row in rows], rotation=90, fontsize=6)
    axis.set_ylabel("energy (uJ)")
    axis.set_title(f"VDD {vdd_v:g} V")
    axis.legend(fontsize=7)
    return figure


STUDY = Study(
    name="energy",
    config_type=EnergyConfig,
    function=energy,
    summary="energy per layer and per inference against VDD, as a breakdown with bands",
)
