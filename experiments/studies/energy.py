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
and its detections and recovery cycles are charged. ``system_saving_pct`` and
``core_saving_pct`` compare each row with the same layer at the technology's nominal
supply and the same clock (all of it, or the array alone); the ``dvfs_*`` columns give the
DVFS baseline beside it: the same work without Razor at the highest error-free clock of
the supply. Energies are per image, for `batch` images sharing each weight fold
(:class:`~experiments.studies.energy_options.EnergyFields`); a ``--model`` workload goes
through :mod:`experiments.studies.inference_energy`, as ``accuracy`` and ``optimize`` do.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from experiments.results import NOT_A_COLUMN, StudyResult, saving_pct
from experiments.validation import check_layer_memory
from pe_models.energy import (
    PEEnergyModel,
    leakage_temperature_factor,
    pe_energy_model,
    peak_macs_per_s,
)
from pe_models.errors import ConfigError
from pe_models.pe import OperatingPoint, PEConfig, max_error_free_f_clk_mhz, stage_timing
from pe_models.razor import window_fs
from sim.config import DATAFLOWS, ArrayConfig
from sim.energy import (
    COMPONENTS,
    EnergyBreakdown,
    GatingOptions,
    LayerActivity,
    MacSwitching,
    MemoryEnergy,
    RegisterBitToggles,
    activity_from_result,
    batched_activity,
    design_hold_buffers,
    error_free,
    iid_mac_switching,
    layer_energy,
    mac_switching,
    total_energy,
)
from sim.layers import GemmLayer, GemmProblem, Layer
from sim.memory import ifmap_words
from sim.network import layer_operands
from sim.protection import RECOVERY_POLICIES, Protection, parse_bit_mask
from sim.recovery import RazorDesign, razor_design
from workloads.models import MODEL_NAMES
from workloads.topologies import load_topology

from .common import (
    Progress,
    Study,
    SweepFields,
    as_config,
    check_choice,
    check_int,
    check_number,
    check_topology,
    gemm_shape,
    no_progress,
    parse_razor_window,
    resolve_array,
    set_field,
)
from .energy_options import EnergyFields

__all__ = [
    "TOTAL",
    "TOTAL_LAYER_ID",
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
TOTAL_LAYER_ID = -1
"""``layer_id`` of the row of the whole inference (``layer_name`` :data:`TOTAL`) after each VDD's layers."""


@dataclass(frozen=True, kw_only=True)
class EnergyConfig(SweepFields, EnergyFields):
    """A workload on one array at several supply voltages, and the energy model's options.

    Attributes
    ----------
    topology : str or path, optional
        Topology CSV or built-in name; exactly one of `topology`, `gemm` and `model`.
    gemm : "M,N,K" or (M, N, K), optional
        One GEMM ``C[M, N] = A[M, K] @ B[K, N]``.
    model : str, optional
        A quantised network of :mod:`workloads` (``tinymnv2``, ``mobilenetv2``): its GEMM
        layers, with the int8 operands its first evaluation image produces (real activity
        instead of the synthetic operand model), through
        :func:`~experiments.studies.inference_energy.inference_energy` as ``accuracy`` does.
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
    penalty_cycles : int, optional
        Cycles one recovery stalls its scope (with `simulate`), >= 0 (``stall_cycles`` also names it); default:
        the stall model of :mod:`sim.recovery` (the error flag's OR tree and the stall's
        repeated wire across the scope at the operating point, so a ``global`` stall grows
        with the array and as the supply drops).
    recovery : str
        Recovery of a detection (with `simulate`): ``global``, ``column``, ``local`` or ``drop``.
    razor_window_ps : float, "PCT%" or None
        Razor detection window in ps, or a percentage of the clock period: the hold-fix
        buffers are designed for it (default: the largest feasible window of hold fixing,
        ``vscale pe razor``; outside the feasible range: an error naming the range).
    simulate : bool
        Run every MAC through the array simulator at each voltage (timing errors,
        detections and recovery cycles charged; off: closed-form cycles, no errors).
    batch, clock_gating, power_gating, memory_vdd_v, dram, temperature_c :
        :class:`~experiments.studies.energy_options.EnergyFields` (batch 1, clock gating,
        no power gating, nominal memory supply, LPDDR4, 27 degC).
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
    penalty_cycles: int | None = None
    recovery: str = "global"
    razor_window_ps: Any = None
    simulate: bool = False
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
        if self.topology is not None:
            check_topology(self.topology)
        self.array_config()
        pe = self.pe_config()
        parse_bit_mask(self.protect, width=pe.width, option="protect")
        if self.penalty_cycles is not None:
            check_int("penalty_cycles", self.penalty_cycles, minimum=0)
        check_choice("recovery", self.recovery, RECOVERY_POLICIES)
        set_field(self, "razor_window_ps", parse_razor_window(self.razor_window_ps, 1e6 / self.f_clk_mhz))
        mask = parse_bit_mask(self.protect, width=pe.width, option="protect")
        if mask:
            window_fs(stage_timing(pe, t_clk_ps=1e6 / self.f_clk_mhz), self.razor_window_ps, pe=pe, protected_mask=mask)
        check_int("activity_samples", self.activity_samples, minimum=64)
        check_int("seed", self.seed, minimum=0)
        if self.hold_buffers_per_bit is not None:
            check_number("hold_buffers_per_bit", self.hold_buffers_per_bit, unit="buffers", minimum=0)
        if self.node_nm is not None:
            check_number("node_nm", self.node_nm, unit="nm", minimum=7, maximum=130)
        self.check_energy_fields(pe.tech)
        if self.simulate and self.batch != 1:
            raise ConfigError(
                f"batch: the array simulator runs one image; allowed: batch 1 with simulate, got {self.batch}"
            )
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
        return design_hold_buffers(self.pe_config(), self.f_clk_mhz, mask, self.razor_window_ps)

    def protection(self) -> Protection | None:
        """The protection these fields describe (None without protected bits)."""
        mask = parse_bit_mask(self.protect, width=self.width, option="protect")
        if mask == 0:
            return None
        return Protection(
            protected_mask=mask,
            penalty_cycles=self.penalty_cycles,
            recovery=self.recovery,
            razor_window_ps=self.razor_window_ps,
        )


@dataclass(frozen=True, kw_only=True)
class _Supply:
    vdd_v: float
    f_clk_mhz: float


@dataclass(frozen=True, kw_only=True)
class _LayerKey:
    layer_id: int
    layer_name: str


@dataclass(frozen=True, kw_only=True)
class EnergyFigures:
    """The counts and energy, per image, of one layer or of the whole inference at one supply voltage.

    Attributes
    ----------
    batch : int
        Images sharing each weight fold.
    macs : int
        Per image.
    cycles, correction_cycles, detections : int
        The batch's.
    cycles_per_image : float
        ``cycles / batch``.
    latency_us : float
        ``cycles / f_clk_mhz``: the batch's latency.
    utilisation_pct : float
        ``100 macs x batch / (PEs x cycles)``.
    mac_dynamic_pj, register_clock_pj, leakage_pj, razor_overhead_pj, correction_pj, sram_pj, dram_pj : float
        Components per image at the nominal constants.
    total_pj, energy_per_inference_pj : float
        Their sum (the system: core and memories), per image.
    total_low_pj, total_high_pj : float
        The total with every constant at the low (high) end of its band.
    core_pj : float
        The array's own energy (the first five components).
    pj_per_mac : float
        ``total_pj / macs``.
    saving_pct, system_saving_pct : float
        ``100 (1 - total_pj / total_pj at nominal VDD)``, same layer (or inference) and clock.
    core_saving_pct : float
        The same for ``core_pj``.
    dvfs_f_clk_mhz : float
        Highest error-free clock at this VDD (:func:`pe_models.pe.max_error_free_f_clk_mhz`).
    dvfs_energy_per_inference_pj, dvfs_core_pj, dvfs_latency_us : float
        The same work without Razor at that clock.
    dvfs_system_saving_pct, dvfs_core_saving_pct : float
        Its savings against the same nominal reference.
    breakdown : EnergyBreakdown
        Every component's band (not a column).
    """

    batch: int
    macs: int
    cycles: int
    cycles_per_image: float
    correction_cycles: int
    detections: int
    latency_us: float
    utilisation_pct: float
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
    energy_per_inference_pj: float
    core_pj: float
    pj_per_mac: float
    saving_pct: float
    system_saving_pct: float
    core_saving_pct: float
    dvfs_f_clk_mhz: float
    dvfs_energy_per_inference_pj: float
    dvfs_core_pj: float
    dvfs_latency_us: float
    dvfs_system_saving_pct: float
    dvfs_core_saving_pct: float
    breakdown: EnergyBreakdown = field(metadata=NOT_A_COLUMN, repr=False)


@dataclass(frozen=True, kw_only=True)
class EnergyRow(EnergyFigures, _LayerKey, _Supply):
    """One layer at one supply voltage: ``vdd_v``, ``f_clk_mhz``, ``layer_id`` (position in the
    topology), ``layer_name``, then the :class:`EnergyFigures`."""


@dataclass(frozen=True, kw_only=True)
class EnergyPerVddRow(EnergyFigures, _Supply):
    """The whole inference (every layer) at one supply voltage: ``vdd_v``, ``f_clk_mhz``, then the
    :class:`EnergyFigures` of the layers together."""


@dataclass(frozen=True, kw_only=True)
class EnergyPerVdd(StudyResult[EnergyPerVddRow, EnergyConfig]):
    """The energy per inference at each supply voltage, as a result of its own (table, CSV, JSON)."""

    row_type = EnergyPerVddRow


@dataclass(frozen=True, kw_only=True)
class EnergyResult(StudyResult[EnergyRow, EnergyConfig]):
    """One row per (VDD, layer), then the whole inference at that VDD (``layer_id`` -1, ``layer_name``
    ``total``); the same per-VDD totals also apart in ``per_vdd``.

    ``totals``: nominal VDD, energy per MAC at nominal (datapath and total), peak
    throughput, the toggle model's validation errors, the saving at the lowest VDD, the
    energy options (batch, gating, DRAM, memory supply, temperature), the sources of the
    core's and the memories' figures, the PE area.

    Attributes
    ----------
    per_vdd : tuple of EnergyPerVddRow
        The whole inference at each VDD of the sweep (the layers' rows together).
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
        per_vdd = self.per_vdd_result().records()
        return {"config": whole["config"], "totals": whole["totals"], "per_vdd": per_vdd, "rows": whole["rows"]}


def _operands(
    layer: Layer, problem: GemmProblem, index: int, seed: int, scalesim_compat: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The layer's operands as ``vscale simulate`` draws them (``sim.network.layer_operands``).

    With SCALE-Sim's lowering the GEMM shape can differ from the layer's own: then random
    operands of the same model and of the GEMM's shape.
    """
    child = np.random.SeedSequence(seed, spawn_key=(0, index))
    if not scalesim_compat:
        return layer_operands(layer, child)
    rng = np.random.default_rng(child)
    activations = _independent_activations(rng, (problem.groups, problem.m, problem.k))
    return activations, _independent_weights(rng, (problem.groups, problem.k, problem.n))


def _independent_activations(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Post-ReLU int8 activations, each drawn on its own: zero with probability 1/2, else |N(0, 40)| rounded."""
    magnitude = np.clip(np.rint(np.abs(rng.normal(0.0, 40.0, shape))), 0, 127)
    return np.where(rng.random(shape) < 0.5, 0, magnitude).astype(np.int8)


def _independent_weights(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """int8 weights, each drawn on its own: N(0, 25) rounded."""
    return np.clip(np.rint(rng.normal(0.0, 25.0, shape)), -128, 127).astype(np.int8)


def _independent_switching(
    config: EnergyConfig, model: PEEnergyModel, array: ArrayConfig
) -> Callable[[GemmProblem], MacSwitching]:
    """Switching of a layer whose operands are independent draws, per (K, M > 1, N > 1):
    every layer with those has the same operand pairs in distribution, so one estimate
    serves them all, sampled without building the matrices (:func:`sim.energy.iid_mac_switching`)."""
    estimates: dict[tuple[int, bool, bool], MacSwitching] = {}

    def switching(problem: GemmProblem) -> MacSwitching:
        key = (problem.k, problem.m > 1, problem.n > 1)
        if key not in estimates:
            estimates[key] = iid_mac_switching(
                model,
                problem,
                array,
                draw_activations=_independent_activations,
                draw_weights=_independent_weights,
                samples=config.activity_samples,
                seed=np.random.SeedSequence(config.seed, spawn_key=(2, *(int(part) for part in key))),
            )
        return estimates[key]

    return switching


@dataclass(frozen=True)
class _Layer:
    """One layer of the workload: its GEMM per image, operands (None for a model's recorded
    layers, whose activity is already measured), distinct input words and activity."""

    name: str
    problem: GemmProblem
    operands: tuple[np.ndarray, np.ndarray] | None
    ifmap_words: int | None
    units_per_mac: float
    register_toggles_per_mac: float
    bit_toggles: RegisterBitToggles | None = None


def _workload(config: EnergyConfig, model: PEEnergyModel, array: ArrayConfig) -> list[_Layer]:
    """Every layer of the config's workload with its switching activity.

    The input words are what DRAM must deliver once (:func:`sim.memory.ifmap_words`: a
    convolution's feature map, not its im2col matrix); None for a network's recorded GEMMs,
    whose memory traffic is then counted as im2col words (as ``accuracy`` counts them).
    """
    if config.model is not None:
        return _model_workload(config, array)
    if config.gemm is not None:
        m, n, k = config.gemm
        layers: list[Layer] = [GemmLayer(name="gemm", m=m, n=n, k=k)]
    else:
        assert config.topology is not None
        layers = list(load_topology(config.topology, scalesim_compat=config.scalesim_compat).layers)
        if config.simulate or not config.scalesim_compat:
            for layer in layers:
                check_layer_memory(layer, field="topology")
    workload = []
    independent = _independent_switching(config, model, array)
    for index, layer in enumerate(layers):
        problem = layer.gemm(scalesim_compat=config.scalesim_compat)
        operands = None
        if config.simulate or not config.scalesim_compat:
            operands = _operands(layer, problem, index, config.seed, config.scalesim_compat)
        if config.scalesim_compat:
            switching = independent(problem)
        else:
            assert operands is not None
            switching = mac_switching(
                model, *operands, array, samples=config.activity_samples, seed=np.random.SeedSequence(config.seed)
            )
        workload.append(
            _Layer(
                name=layer.name,
                problem=problem,
                operands=operands,
                ifmap_words=ifmap_words(layer, scalesim_compat=config.scalesim_compat),
                units_per_mac=switching.units_per_mac,
                register_toggles_per_mac=switching.register_toggles_per_mac,
                bit_toggles=switching.bit_toggles,
            )
        )
    return workload


def _model_workload(config: EnergyConfig, array: ArrayConfig) -> list[_Layer]:
    from workloads.engine import CalibrationConfig

    from .inference_energy import inference_layers
    from .prepared import prepare_model

    assert config.model is not None
    prepared = prepare_model(config.model, images=1, labels=None, seed=config.seed, calibration=CalibrationConfig())
    layers = inference_layers(
        prepared.model,
        prepared.images[:1],
        pe=config.pe_config(),
        array=array,
        seed=config.seed,
        samples=config.activity_samples,
    )
    return [
        _Layer(
            name=layer.name,
            problem=GemmProblem(m=layer.m, n=layer.n, k=layer.k, groups=layer.groups),
            operands=None,
            ifmap_words=None,
            units_per_mac=layer.units_per_mac,
            register_toggles_per_mac=layer.register_toggles_per_mac,
            bit_toggles=layer.bit_toggles,
        )
        for layer in layers
    ]


def _saving(value: float, reference: float) -> float:
    return saving_pct(value, reference)


def _figures(
    breakdown: EnergyBreakdown,
    reference: EnergyBreakdown,
    dvfs: EnergyBreakdown,
    correction_cycles: int,
    detections: int,
) -> dict[str, Any]:
    """The :class:`EnergyFigures` of a breakdown: savings against `reference` (nominal VDD), the
    DVFS baseline `dvfs` beside it."""
    components = {name: band.nominal for name, band in breakdown.components().items()}
    total = breakdown.total_pj
    nominal_total = reference.total_pj.nominal
    nominal_core = reference.core_pj.nominal
    system = _saving(total.nominal, nominal_total)
    return dict(
        batch=breakdown.batch,
        macs=breakdown.macs,
        cycles=breakdown.cycles,
        cycles_per_image=breakdown.cycles_per_image,
        correction_cycles=correction_cycles,
        detections=detections,
        latency_us=breakdown.latency_us,
        utilisation_pct=100.0 * breakdown.utilisation,
        **components,
        total_pj=total.nominal,
        total_low_pj=total.low,
        total_high_pj=total.high,
        energy_per_inference_pj=total.nominal,
        core_pj=breakdown.core_pj.nominal,
        pj_per_mac=total.nominal / breakdown.macs if breakdown.macs else 0.0,
        saving_pct=system,
        system_saving_pct=system,
        core_saving_pct=_saving(breakdown.core_pj.nominal, nominal_core),
        dvfs_f_clk_mhz=dvfs.f_clk_mhz,
        dvfs_energy_per_inference_pj=dvfs.total_pj.nominal,
        dvfs_core_pj=dvfs.core_pj.nominal,
        dvfs_latency_us=dvfs.latency_us,
        dvfs_system_saving_pct=_saving(dvfs.total_pj.nominal, nominal_total),
        dvfs_core_saving_pct=_saving(dvfs.core_pj.nominal, nominal_core),
        breakdown=breakdown,
    )


def _razor_design(
    config: EnergyConfig, pe: PEConfig, array: ArrayConfig, vdd_v: float, protection: Protection | None
) -> RazorDesign | None:
    """The protection as built into the array at `vdd_v` (window, hold buffers, the stall of one
    recovery and the buffering of its policy, :func:`sim.recovery.razor_design`); None without one."""
    if protection is None:
        return None
    point = OperatingPoint(vdd_v=vdd_v, f_clk_mhz=config.f_clk_mhz)
    timing = stage_timing(pe, operating_point=point, t_setup_ps=config.t_setup_ps)
    return razor_design(
        protection,
        rows=array.rows,
        cols=array.cols,
        dataflow=array.dataflow,
        f_clk_mhz=config.f_clk_mhz,
        pe=pe,
        timing=timing,
    )


def _activities(
    config: EnergyConfig,
    pe: PEConfig,
    array: ArrayConfig,
    workload: list[_Layer],
    vdd_v: float,
    protection: Protection | None,
) -> list[LayerActivity]:
    if not config.simulate:
        design = _razor_design(config, pe, array, vdd_v, protection)
        buffering = 0.0 if design is None else design.stall.buffer_flops_per_pe
        return [
            dataclasses.replace(
                batched_activity(
                    layer.name,
                    layer.problem,
                    array,
                    units_per_mac=layer.units_per_mac,
                    register_toggles_per_mac=layer.register_toggles_per_mac,
                    batch=config.batch,
                    ifmap_words=layer.ifmap_words,
                    protection=protection,
                    bit_toggles=layer.bit_toggles,
                ),
                recovery_flops_per_pe=buffering,
            )
            for layer in workload
        ]
    from sim.engine import simulate_grouped_gemm  # numba: only the simulated path needs it

    point = OperatingPoint(vdd_v=vdd_v, f_clk_mhz=config.f_clk_mhz)
    timing = stage_timing(pe, operating_point=point, t_setup_ps=config.t_setup_ps)
    activities = []
    for index, layer in enumerate(workload):
        assert layer.operands is not None
        activations, weights = layer.operands
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
                layer.name,
                result,
                layer.problem,
                array,
                units_per_mac=layer.units_per_mac,
                register_toggles_per_mac=layer.register_toggles_per_mac,
                protection=protection,
                ifmap_words=layer.ifmap_words,
                bit_toggles=layer.bit_toggles,
            )
        )
    return activities


def _energies(
    activities: list[LayerActivity],
    model: PEEnergyModel,
    *,
    vdd_v: float,
    f_clk_mhz: float,
    gating: GatingOptions,
    memory: MemoryEnergy,
) -> list[EnergyBreakdown]:
    return [
        layer_energy(activity, model, vdd_v=vdd_v, f_clk_mhz=f_clk_mhz, gating=gating, memory=memory)
        for activity in activities
    ]


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
    gating = config.gating()
    memory = config.memory(array, node_nm=model.node_nm, tech=pe.tech)
    if config.model is not None and config.simulate:
        raise ConfigError("simulate: a model workload is evaluated in closed form; allowed: topology or gemm")
    workload = _workload(config, model, array)
    nominal_v = float(pe.tech.vdd_nominal_v)
    voltages = list(config.vdd_v)
    evaluated: dict[float, tuple[list[EnergyBreakdown], list[LayerActivity], list[EnergyBreakdown]]] = {}
    for vdd in progress([nominal_v, *[v for v in voltages if v != nominal_v]], label="energy"):
        activities = _activities(config, pe, array, workload, vdd, protection)
        breakdowns = _energies(activities, model, vdd_v=vdd, f_clk_mhz=config.f_clk_mhz, gating=gating, memory=memory)
        f_dvfs = max_error_free_f_clk_mhz(pe, vdd, config.t_setup_ps)
        dvfs = _energies(
            [error_free(activity) for activity in activities],
            model,
            vdd_v=vdd,
            f_clk_mhz=f_dvfs,
            gating=gating,
            memory=memory,
        )
        evaluated[vdd] = (breakdowns, activities, dvfs)
    reference = evaluated[nominal_v][0]
    reference_total = total_energy(reference, name=TOTAL)
    rows: list[EnergyRow] = []
    per_vdd: list[EnergyPerVddRow] = []
    for vdd in voltages:
        breakdowns, activities, dvfs = evaluated[vdd]
        for index, (breakdown, activity, ref, base) in enumerate(
            zip(breakdowns, activities, reference, dvfs, strict=True)
        ):
            figures = _figures(breakdown, ref, base, activity.correction_cycles, activity.detections)
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
        figures = _figures(
            whole,
            reference_total,
            total_energy(dvfs, name=TOTAL),
            sum(a.correction_cycles for a in activities),
            sum(a.detections for a in activities),
        )
        per_vdd.append(EnergyPerVddRow(vdd_v=whole.vdd_v, f_clk_mhz=whole.f_clk_mhz, **figures))
        rows.append(
            EnergyRow(
                vdd_v=whole.vdd_v, f_clk_mhz=whole.f_clk_mhz, layer_id=TOTAL_LAYER_ID, layer_name=TOTAL, **figures
            )
        )
    macs = reference_total.macs
    lowest = min(voltages)
    lowest_total = total_energy(evaluated[lowest][0], name=TOTAL)
    peak = peak_macs_per_s(array.mac_units, config.f_clk_mhz)
    core = reference_total.core_pj.nominal
    protected = 0 if protection is None else len(protection.protected_bits)
    deepest = _razor_design(config, pe, array, lowest, protection)
    totals = {
        "nominal_vdd_v": nominal_v,
        "f_clk_mhz": float(config.f_clk_mhz),
        "macs": macs,
        "energy_per_inference_nominal_pj": reference_total.total_pj.nominal,
        "core_nominal_pj": core,
        "energy_per_mac_nominal_pj": reference_total.total_pj.nominal / macs,
        "mac_dynamic_per_mac_nominal_pj": reference_total.mac_dynamic_pj.nominal / macs,
        "register_clock_share_of_core_pct": 100.0 * reference_total.register_clock_pj.nominal / core if core else 0.0,
        "leakage_share_of_core_pct": 100.0 * reference_total.leakage_pj.nominal / core if core else 0.0,
        "utilisation_pct": 100.0 * reference_total.utilisation,
        "lowest_vdd_v": lowest,
        "saving_at_lowest_vdd_pct": _saving(lowest_total.total_pj.nominal, reference_total.total_pj.nominal),
        "core_saving_at_lowest_vdd_pct": _saving(lowest_total.core_pj.nominal, core),
        "peak_tmac_per_s": peak / 1e12,
        "peak_tops": 2 * peak / 1e12,
        "unit_capacitance_ff": model.unit_capacitance_ff.nominal,
        "node_nm": model.node_nm,
        "hold_buffers_per_bit": model.hold_buffers_per_bit,
        "leakage_temperature_factor": leakage_temperature_factor(config.temperature_c),
        "pe_area_um2": model.area.pe_um2,
        "pe_cells_area_um2": model.area.cells_um2,
        "pe_flops_area_um2": model.area.flops_um2,
        "razor_flop_extra_area_um2": model.area.razor_extra_um2,
        "hold_buffer_area_um2": model.area.hold_buffer_um2,
        "protection_area_um2": model.area.protected_um2(
            protected, model.hold_buffers_per_bit, 0.0 if deepest is None else deepest.stall.buffer_flops_per_pe
        ),
        "area_source": model.area.source,
        "array_area_mm2": model.area.pe_um2 * array.mac_units / 1e6,
        "protection_area_overhead_pct": model.area.overhead_pct(
            protected, model.hold_buffers_per_bit, 0.0 if deepest is None else deepest.stall.buffer_flops_per_pe
        ),
        "stall_cycles_at_lowest_vdd": 0 if deepest is None else deepest.stall.stall_cycles,
        "recovery_flops_per_pe": 0.0 if deepest is None else deepest.stall.buffer_flops_per_pe,
        "core_sources": model.sources,
        "memory_sources": memory.sources,
        **config.energy_totals(),
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

    rows = [row for row in result.rows if row.vdd_v == vdd_v and row.layer_id != TOTAL_LAYER_ID]
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
