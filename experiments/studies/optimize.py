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
   run with bit-level injection (every MAC through the chain-level PE in array order);
   measured accuracy (with a paired test and a bootstrap interval against the int8 model
   at nominal VDD) and latency overhead are reported beside the screen's predictions,
   with any disagreement.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from experiments.results import NOT_A_COLUMN, StudyResult
from pe_models.errors import ConfigError
from pe_models.pe import OperatingPoint, PEConfig, StageTiming, stage_timing
from pe_models.razor import window_fs

from .energy_options import EnergyFields

__all__ = [
    "RECOVERIES",
    "SOLVERS",
    "Candidate",
    "ConfirmationRow",
    "LayerProfile",
    "OptimizeConfig",
    "OptimizeResult",
    "ParetoRow",
    "PlanChoice",
    "SensitivityTable",
    "VddRow",
    "best_plan",
    "layer_profiles",
    "optimize",
    "sensitivity_table",
    "solve_exhaustive",
    "solve_milp",
    "vdd_grid",
]

RECOVERIES: tuple[str, ...] = ("global", "column", "local", "drop")
SOLVERS: tuple[str, ...] = ("milp", "exhaustive")
_NO_PROTECTION = -1


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


@dataclass(frozen=True, kw_only=True, eq=False)
class LayerProfile:
    """What the screen knows of one GEMM layer (per image).

    Attributes
    ----------
    name : str
    macs : int
        MAC steps per image.
    base_cycles : float
        Error-free cycles per image on the array (SCALE-Sim compute cycles + 1 per GEMM), with
        the images of a batch streamed through each fold together as the bit-level measurement
        runs them (the engine's default batch), divided by the batch.
    rows_used, cols_used : int
        PEs of a fold (the K and N extents mapped on the array).
    lsb_per_unit : float
        Output LSBs per accumulator unit (largest requantisation multiplier of the layer).
    drop_visible : float
        Probability that dropping one product (TE-Drop) moves the requantised output.
    statistics : CarryStatistics
        Carry-run statistics of the layer's sampled partial sums and products.
    """

    name: str
    macs: int
    base_cycles: float
    rows_used: int
    cols_used: int
    lsb_per_unit: float
    drop_visible: float
    statistics: Any
    m: int = 0
    k: int = 0
    n: int = 0
    groups: int = 1
    units_per_mac: float = 0.0
    sample_gemm: tuple[np.ndarray, np.ndarray] | None = None
    work: Any = None


class _RecordingBackend:
    """Exact GEMMs; keeps the first GEMM of every layer for the screen."""

    name = "exact"

    def __init__(self) -> None:
        self.stats: dict[str, np.ndarray] = {}
        self.first: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def matmul(self, activations: np.ndarray, weights: np.ndarray, *, layer: str) -> np.ndarray:
        from pe_models.integers import exact_gemm

        self.first.setdefault(layer, (activations.copy(), weights.copy()))
        return exact_gemm(activations, weights, 32)


def layer_profiles(prepared: Any, config: OptimizeConfig) -> list[LayerProfile]:
    """Profile every GEMM layer of a prepared model (see :class:`LayerProfile`).

    Parameters
    ----------
    prepared : PreparedModel
        The quantised model with its evaluation images.
    config : OptimizeConfig
    """
    from pe_models.analytic import carry_statistics, run_lengths_needed
    from sim.config import ArrayConfig
    from workloads.injection import layer_operand_sample

    from .inference_energy import batch_cycles_per_image, inference_layers

    model = prepared.model
    recorder = _RecordingBackend()
    model.run(prepared.images[: config.screen_images], recorder)
    array = ArrayConfig(rows=config.rows, cols=config.cols, dataflow="ws", f_clk_mhz=config.f_clk_mhz)
    steps: set[int] = set()
    for vdd in config.vdds:
        timing = config.timing(vdd)
        steps |= {k for k in run_lengths_needed(config.pe, timing) if 0 < k < config.pe.width}
    gemm_layers = {layer.name: layer for layer in model.layers if hasattr(layer, "multiplier")}
    batch = config.batch
    work = inference_layers(model, prepared.images, pe=config.pe, array=array, seed=config.seed)
    seeds = np.random.SeedSequence(config.seed).spawn(len(model.gemm_layers))
    profiles = []
    for shape, seed, layer_work in zip(model.gemm_layers, seeds, work, strict=True):
        activations, weights = recorder.first[shape.name]
        sample = layer_operand_sample(activations, weights, rows=config.rows, size=4096, seed=seed)
        statistics = carry_statistics(sample, width=config.pe.width, steps=steps or None)
        quant = gemm_layers[shape.name]
        reals = np.asarray(quant.multiplier, np.float64) * 2.0 ** (np.asarray(quant.shift, np.float64) - 31)
        lsb = float(reals.max())
        products = np.abs(sample.products.ravel()).astype(np.float64)
        profiles.append(
            LayerProfile(
                name=shape.name,
                macs=shape.macs_per_image,
                base_cycles=batch_cycles_per_image(shape.m_per_image, shape.n, shape.k, shape.groups, array, batch),
                rows_used=min(shape.k, config.rows),
                cols_used=min(shape.n, config.cols),
                lsb_per_unit=lsb,
                drop_visible=float(np.mean(np.minimum(1.0, products * lsb))),
                statistics=statistics,
                m=shape.m_per_image,
                k=shape.k,
                n=shape.n,
                groups=shape.groups,
                units_per_mac=layer_work.units_per_mac,
                work=layer_work,
                sample_gemm=(
                    activations[: max(1, min(len(activations), _ORDER_MACS // max(1, weights.size)))],
                    weights,
                ),
            )
        )
    return profiles


_ORDER_MACS = 200_000
"""MACs of each layer's first GEMM the screen runs in array order per failing VDD."""


def _array_order_probabilities(
    profiles: Sequence[LayerProfile], config: OptimizeConfig, vdd_v: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """Per layer and accumulator bit, the fraction of MACs latched wrong, and the fraction
    still wrong at the Razor shadow sample with every bit protected, when a slice of the
    layer's first GEMM runs in array order on the chain-level engine (None when static
    timing says no MAC can be wrong at `vdd_v`)."""
    from pe_models.chain import static_output_arrival_fs
    from sim.config import ArrayConfig
    from sim.engine import simulate_gemm
    from sim.protection import Protection

    timing = config.timing(vdd_v)
    outputs = {"adder": "sum", "multiplier": "product", "mac": "sum"}
    latest = max(
        float(np.max(static_output_arrival_fs(netlist, timing.delays_fs, outputs[name])))
        for name, netlist in config.pe.stages.items()
    )
    if latest <= timing.t_sample_fs:
        return None
    array = ArrayConfig(
        rows=config.rows, cols=config.cols, dataflow="ws", f_clk_mhz=config.f_clk_mhz, accumulator_bits=config.pe.width
    )
    everything = Protection(
        protected_mask=(1 << config.pe.width) - 1, penalty_cycles=0, razor_window_ps=config.razor_window_ps
    )
    latched = np.zeros((len(profiles), config.pe.width))
    residual = np.zeros((len(profiles), config.pe.width))
    for index, profile in enumerate(profiles):
        if profile.sample_gemm is None:
            continue
        activations, weights = profile.sample_gemm
        gemm = simulate_gemm(
            np.ascontiguousarray(activations),
            np.ascontiguousarray(weights),
            array=array,
            pe=config.pe,
            timing=timing,
            protection=everything,
        )
        latched[index] = gemm.flip_counts / max(1, gemm.macs)
        residual[index] = gemm.residual_flip_counts / max(1, gemm.macs)
    return latched, residual


def screen_array(config: OptimizeConfig) -> Any:
    """The weight-stationary array the optimizer plans for."""
    from sim.config import ArrayConfig

    return ArrayConfig(
        rows=config.rows, cols=config.cols, dataflow="ws", f_clk_mhz=config.f_clk_mhz, accumulator_bits=config.pe.width
    )


def screen_coefficients(profiles: Sequence[LayerProfile], config: OptimizeConfig) -> list[list[Any]]:
    """Per VDD of the grid, per layer: :class:`~experiments.studies.inference_energy.LayerCoefficients`."""
    from pe_models.energy import pe_energy_model

    from .inference_energy import layer_coefficients

    array = screen_array(config)
    memory = config.memory(array, node_nm=pe_energy_model(config.pe).node_nm, tech=config.pe.tech)
    work = [profile.work for profile in profiles]
    return [
        layer_coefficients(
            work, pe=config.pe, array=array, vdd_v=vdd, batch=config.batch, gating=config.gating(), memory=memory
        )
        for vdd in config.vdds
    ]


def _choice_hold_buffers(config: OptimizeConfig, first_bit: int) -> float:
    """Hold-fix buffers per protected bit of bits ``first_bit .. MSB`` (as the measurement counts them)."""
    from sim.energy import design_hold_buffers

    if first_bit < 0:
        return 0.0
    mask = ((1 << config.pe.width) - 1) & ~((1 << first_bit) - 1)
    return design_hold_buffers(config.pe, config.f_clk_mhz, mask)


@dataclass(frozen=True, kw_only=True, eq=False)
class SensitivityTable:
    """Per (VDD, layer, choice): the screen's figures (arrays indexed ``[v, l, c]``).

    ``choices[c]`` is the first protected bit (``-1``: none); ``valid[v, l, c]`` is False
    where the choice is dominated (below the lowest failing bit of the layer at that VDD,
    except the lowest useful one).
    """

    vdds: tuple[float, ...]
    layers: tuple[str, ...]
    choices: tuple[int, ...]
    bit_probabilities: np.ndarray
    detect: np.ndarray
    visible: np.ndarray
    visible_drop: np.ndarray
    recovery_cycles: dict[str, np.ndarray]
    energy_pj: dict[str, np.ndarray]
    base_cycles: np.ndarray
    valid: np.ndarray
    protected_bits: np.ndarray
    coefficients: Any = None


def _recovery_cycles(profile: LayerProfile, q: np.ndarray, penalty: int) -> dict[str, np.ndarray]:
    """Closed-form recovery cycles per image of one layer for MAC detection probabilities `q`."""
    in_flight = profile.rows_used * profile.cols_used
    busy = profile.macs / in_flight
    global_cycles = penalty * busy * -np.expm1(in_flight * np.log1p(-np.minimum(q, 1 - 1e-12)))
    column_cycles = penalty * busy * -np.expm1(profile.rows_used * np.log1p(-np.minimum(q, 1 - 1e-12)))
    return {
        "global": global_cycles,
        "column": column_cycles,
        "local": column_cycles,
        "drop": np.zeros_like(q),
    }


def sensitivity_table(
    profiles: Sequence[LayerProfile],
    config: OptimizeConfig,
) -> SensitivityTable:
    """Build the per-(VDD, layer, first protected bit) table of the screen.

    Returns
    -------
    SensitivityTable
    """
    from pe_models.analytic import adder_bit_error_probabilities

    width = config.pe.width
    vdds = config.vdds
    choices = (_NO_PROTECTION, *range(width - 1, -1, -1))
    n_v, n_l, n_c = len(vdds), len(profiles), len(choices)

    probabilities = np.zeros((n_v, n_l, width))
    silent = np.zeros((n_v, n_l, width))
    for v, vdd in enumerate(vdds):
        timing = config.timing(vdd)
        shadow = dataclasses.replace(timing, t_sample_fs=timing.t_sample_fs + window_fs(timing, config.razor_window_ps))
        for index, profile in enumerate(profiles):
            probabilities[v, index] = adder_bit_error_probabilities(config.pe, timing, profile.statistics)
            silent[v, index] = adder_bit_error_probabilities(config.pe, shadow, profile.statistics)
        measured = _array_order_probabilities(profiles, config, vdd)
        if measured is not None:
            probabilities[v] = np.maximum(probabilities[v], measured[0])
            silent[v] = np.maximum(silent[v], measured[1])
    bits = np.arange(width)
    first = np.array([width if c == _NO_PROTECTION else c for c in choices])
    protected = (bits[None, :] >= first[:, None]).astype(np.float64)
    log_ok = np.log1p(-np.minimum(probabilities, 1 - 1e-12))
    detect = -np.expm1(np.einsum("vlb,cb->vlc", log_ok, protected))
    macs = np.array([p.macs for p in profiles], np.float64)
    lsb = np.array([p.lsb_per_unit for p in profiles])
    harm = np.minimum(1.0, (2.0 ** bits[None, :]) * lsb[:, None])
    visible = np.einsum("vlb,lb,cb->vlc", probabilities, harm, 1.0 - protected) * macs[None, :, None]
    visible += np.einsum("vlb,lb,cb->vlc", silent, harm, protected) * macs[None, :, None]
    visible_drop = detect * np.array([p.drop_visible for p in profiles])[None, :, None] * macs[None, :, None]
    base = np.array([p.base_cycles for p in profiles], np.float64)
    recovery = {r: np.zeros((n_v, n_l, n_c)) for r in RECOVERIES}
    for index, profile in enumerate(profiles):
        cycles = _recovery_cycles(profile, detect[:, index, :], config.penalty_cycles)
        for r in RECOVERIES:
            recovery[r][:, index, :] = cycles[r]
    protected_bits = protected.sum(axis=1)
    detections = detect * macs[None, :, None]
    coefficients = screen_coefficients(profiles, config)
    buffers = np.array([_choice_hold_buffers(config, c) for c in choices])
    energy = {}
    for r in RECOVERIES:
        table = np.zeros((n_v, n_l, n_c))
        for v in range(n_v):
            for index, layer in enumerate(coefficients[v]):
                cycles = recovery[r][v, index]
                bit = layer.bit_pj + buffers * layer.hold_buffer_pj
                bit_cycle = layer.bit_recovery_cycle_pj + buffers * layer.hold_buffer_recovery_cycle_pj
                replayed = 0.0 if r == "drop" else detections[v, index] * layer.detection_pj
                table[v, index] = (
                    layer.base_pj
                    + cycles * layer.recovery_cycle_pj
                    + protected_bits * (bit + cycles * bit_cycle)
                    + replayed
                )
        energy[r] = table
    lowest = np.full((n_v, n_l), width)
    failing = probabilities > 0
    for v in range(n_v):
        for index in range(n_l):
            bits_failing = np.nonzero(failing[v, index])[0]
            if bits_failing.size:
                lowest[v, index] = bits_failing.min()
    valid = first[None, None, :] >= lowest[:, :, None]
    valid[:, :, 0] = True
    return SensitivityTable(
        vdds=tuple(vdds),
        layers=tuple(p.name for p in profiles),
        choices=choices,
        bit_probabilities=probabilities,
        detect=detect,
        visible=visible,
        visible_drop=visible_drop,
        recovery_cycles=recovery,
        energy_pj=energy,
        base_cycles=base,
        valid=valid,
        protected_bits=np.broadcast_to(protected_bits, (n_v, n_l, n_c)).copy(),
        coefficients=coefficients,
    )


@dataclass(frozen=True, kw_only=True)
class PlanChoice:
    """One solution of the screen at one (VDD, recovery)."""

    vdd_v: float
    recovery: str
    first_bits: tuple[int, ...]
    energy_pj: float
    visible_errors: float
    predicted_loss_pct: float
    latency_overhead_pct: float
    razor_flops: int
    masks: tuple[int, ...] | None = None


def _limits(table: SensitivityTable, config: OptimizeConfig) -> tuple[float, float, int]:
    loss = config.max_accuracy_loss_pct / 100.0
    visible_budget = math.inf if loss >= 1.0 else -math.log1p(-loss)
    max_bits = config.pe.width if config.max_razor_flops is None else config.max_razor_flops // config.pes
    return visible_budget, config.max_latency_overhead_pct, int(max_bits)


def _arrays(table: SensitivityTable, v: int, recovery: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    visible = table.visible[v] + (table.visible_drop[v] if recovery == "drop" else 0.0)
    return table.energy_pj[recovery][v], visible, table.recovery_cycles[recovery][v]


def _choice(table: SensitivityTable, config: OptimizeConfig, v: int, recovery: str, picks: Sequence[int]) -> PlanChoice:
    energy, visible, recovery_cycles = _arrays(table, v, recovery)
    rows = range(len(picks))
    total_visible = float(sum(visible[i, c] for i, c in zip(rows, picks, strict=True)))
    overhead = (
        100.0
        * float(sum(recovery_cycles[i, c] for i, c in zip(rows, picks, strict=True)))
        / float(table.base_cycles.sum())
    )
    bits = max(int(table.protected_bits[v, i, c]) for i, c in zip(rows, picks, strict=True))
    return PlanChoice(
        vdd_v=table.vdds[v],
        recovery=recovery,
        first_bits=tuple(table.choices[c] for c in picks),
        energy_pj=float(sum(energy[i, c] for i, c in zip(rows, picks, strict=True))),
        visible_errors=total_visible,
        predicted_loss_pct=100.0 * float(-np.expm1(-total_visible)),
        latency_overhead_pct=overhead,
        razor_flops=bits * config.pes,
    )


def _allowed(table: SensitivityTable, v: int, max_bits: int) -> np.ndarray:
    return table.valid[v] & (table.protected_bits[v] <= max_bits)


def solve_milp(
    table: SensitivityTable,
    config: OptimizeConfig,
    v: int,
    recovery: str,
    *,
    visible_budget: float | None = None,
    overhead_budget_pct: float | None = None,
    objective: str = "energy",
) -> PlanChoice | None:
    """The minimum-energy plan at VDD index `v` with `recovery`, by ``scipy.optimize.milp``.

    Binary ``x[l, c]`` picks choice ``c`` for layer ``l``; one choice per layer; the sum
    of visible errors and of recovery cycles are bounded by the budgets. Returns None
    when no plan meets them.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix

    default_visible, default_overhead, max_bits = _limits(table, config)
    visible_budget = default_visible if visible_budget is None else visible_budget
    overhead_budget_pct = default_overhead if overhead_budget_pct is None else overhead_budget_pct
    energy, visible, recovery_cycles = _arrays(table, v, recovery)
    allowed = _allowed(table, v, max_bits)
    index = np.argwhere(allowed)
    if not all(allowed[layer].any() for layer in range(allowed.shape[0])):
        return None
    count = len(index)
    layer_of = index[:, 0]
    choice_of = index[:, 1]
    minimised = {"energy": energy, "visible": visible, "recovery": recovery_cycles}[objective]
    scale = float(np.max(np.abs(minimised[allowed]))) or 1.0
    cost = minimised[layer_of, choice_of] / scale + 1e-9 * energy[layer_of, choice_of] / (np.max(energy) or 1.0)
    one_per_layer = coo_matrix((np.ones(count), (layer_of, np.arange(count))), shape=(allowed.shape[0], count)).tocsr()
    rows = [LinearConstraint(one_per_layer, 1, 1)]
    if math.isfinite(visible_budget):
        rows.append(LinearConstraint(visible[layer_of, choice_of][None, :], -np.inf, visible_budget))
    if math.isfinite(overhead_budget_pct):
        limit = overhead_budget_pct / 100.0 * float(table.base_cycles.sum())
        rows.append(LinearConstraint(recovery_cycles[layer_of, choice_of][None, :], -np.inf, limit))
    result = milp(cost, constraints=rows, integrality=np.ones(count), bounds=Bounds(0, 1))
    if result.status != 0 or result.x is None:
        return None
    chosen = np.round(result.x).astype(bool)
    picks = [0] * allowed.shape[0]
    for position in np.nonzero(chosen)[0]:
        picks[layer_of[position]] = int(choice_of[position])
    return _choice(table, config, v, recovery, picks)


def solve_exhaustive(table: SensitivityTable, config: OptimizeConfig, v: int, recovery: str) -> PlanChoice | None:
    """Every combination of per-layer choices (small instances only): the minimum-energy feasible plan."""
    visible_budget, overhead_budget, max_bits = _limits(table, config)
    energy, visible, recovery_cycles = _arrays(table, v, recovery)
    allowed = _allowed(table, v, max_bits)
    options = [np.nonzero(allowed[layer])[0].tolist() for layer in range(allowed.shape[0])]
    limit = overhead_budget / 100.0 * float(table.base_cycles.sum())
    best: tuple[float, tuple[int, ...]] | None = None
    layers = range(len(options))
    for picks in itertools.product(*options):
        if sum(visible[i, c] for i, c in zip(layers, picks, strict=True)) > visible_budget * (1 + 1e-9):
            continue
        if sum(recovery_cycles[i, c] for i, c in zip(layers, picks, strict=True)) > limit * (1 + 1e-9):
            continue
        total = float(sum(energy[i, c] for i, c in zip(layers, picks, strict=True)))
        if best is None or total < best[0]:
            best = (total, picks)
    return None if best is None else _choice(table, config, v, recovery, best[1])


def _solve(table: SensitivityTable, config: OptimizeConfig, v: int, recovery: str, **budgets) -> PlanChoice | None:
    if config.solver == "exhaustive" and not budgets:
        return solve_exhaustive(table, config, v, recovery)
    return solve_milp(table, config, v, recovery, **budgets)


def best_plan(table: SensitivityTable, config: OptimizeConfig) -> tuple[PlanChoice | None, dict[float, PlanChoice]]:
    """The minimum-energy feasible plan over the VDD grid and policies, and the best plan per VDD."""
    per_vdd: dict[float, PlanChoice] = {}
    for v, vdd in enumerate(table.vdds):
        for recovery in config.recoveries:
            plan = _solve(table, config, v, recovery)
            if plan is not None and (vdd not in per_vdd or plan.energy_pj < per_vdd[vdd].energy_pj):
                per_vdd[vdd] = plan
    chosen = min(per_vdd.values(), key=lambda plan: plan.energy_pj, default=None)
    return chosen, per_vdd


@dataclass(frozen=True, kw_only=True)
class VddRow:
    """The best plan at one VDD (``feasible`` False: no plan meets the budgets there), per image.

    ``energy_pj`` (= ``energy_per_inference_pj``) is the screen's energy of the plan with its
    SRAM and DRAM; ``core_pj`` without them; ``saving_pct`` (= ``system_saving_pct``) and
    ``core_saving_pct`` against the unprotected plan at the top of the grid. ``dvfs_*``: the
    DVFS baseline at this VDD (no Razor, highest error-free clock). ``pe_area_um2``: the
    unprotected PE; ``area_overhead_pct``: the Razor flops and hold-fix buffers of the most
    protected layer's bits (the hardware every layer runs on).
    """

    vdd_v: float
    feasible: bool
    recovery: str
    protected_bits: str
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
    latency_us: float = math.nan
    dvfs_f_clk_mhz: float = math.nan
    dvfs_energy_per_inference_pj: float = math.nan
    dvfs_core_pj: float = math.nan
    dvfs_latency_us: float = math.nan
    dvfs_system_saving_pct: float = math.nan
    dvfs_core_saving_pct: float = math.nan
    pe_area_um2: float = math.nan
    area_overhead_pct: float = math.nan


@dataclass(frozen=True, kw_only=True)
class ParetoRow:
    """One screened plan: energy, predicted accuracy loss and latency overhead."""

    vdd_v: float
    recovery: str
    protected_bits: str
    energy_pj: float
    saving_pct: float
    predicted_loss_pct: float
    latency_overhead_pct: float
    meets_budgets: bool
    pareto: bool
    chosen: bool


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


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """The chosen plan: its VDD, recovery policy and first protected bit per layer (-1: none)."""

    vdd_v: float
    recovery: str
    penalty_cycles: int
    layers: tuple[str, ...]
    first_bits: tuple[int, ...]
    model: str
    width: int
    razor_window_ps: float | None = None

    def layer_masks(self) -> dict[str, int]:
        """Protected-bit mask of every layer."""
        top = (1 << self.width) - 1
        return {
            name: 0 if bit < 0 else top & ~((1 << bit) - 1)
            for name, bit in zip(self.layers, self.first_bits, strict=True)
        }

    def to_plan(self) -> Any:
        """The plan as a :class:`sim.protection.ProtectionPlan`."""
        from sim.protection import ProtectionPlan

        return ProtectionPlan(
            layers=self.layer_masks(),
            recovery=self.recovery,
            penalty_cycles=self.penalty_cycles,
            model=self.model,
            vdd_v=round(self.vdd_v, 3),
            razor_window_ps=self.razor_window_ps,
        )

    def to_toml(self) -> str:
        """The plan file (``--plan FILE.toml``), written by :func:`experiments.plans.plan_toml`."""
        from experiments.plans import plan_toml

        return plan_toml(self.to_plan())


@dataclass(frozen=True, kw_only=True)
class OptimizeResult(StudyResult[VddRow, OptimizeConfig]):
    """Best plan per VDD (rows), the Pareto candidates, the chosen plan and its confirmation.

    ``totals`` holds the chosen plan's figures (``vdd_v``, ``recovery``, ``energy_pj``,
    ``saving_pct``, ``predicted_loss_pct``, ``latency_overhead_pct``, ...).
    """

    row_type = VddRow

    chosen: Candidate | None = None
    pareto: tuple[ParetoRow, ...] = ()
    confirmation: tuple[ConfirmationRow, ...] = ()
    sensitivity: Any = field(default=None, metadata=NOT_A_COLUMN)
    plans: Any = field(default=None, metadata=NOT_A_COLUMN)
    profiles: Any = field(default=None, metadata=NOT_A_COLUMN)
    chosen_plan: Any = field(default=None, metadata=NOT_A_COLUMN)


def _binding(table: SensitivityTable, config: OptimizeConfig, v: int, recovery: str) -> str:
    """Which budget makes VDD index `v` infeasible: solve with each budget lifted in turn."""
    if solve_milp(table, config, v, recovery, visible_budget=math.inf) is not None:
        return "accuracy"
    if solve_milp(table, config, v, recovery, overhead_budget_pct=math.inf) is not None:
        return "latency"
    if solve_milp(table, config, v, recovery, visible_budget=math.inf, overhead_budget_pct=math.inf) is not None:
        return "accuracy+latency"
    return "razor_flops"


def _best_achievable(table: SensitivityTable, config: OptimizeConfig) -> dict[str, float]:
    """Lowest predicted loss within the latency budget, and lowest latency overhead within the
    accuracy budget, over the grid and policies (inf: not reachable even so)."""
    loss = math.inf
    overhead = math.inf
    for v in range(len(table.vdds)):
        for recovery in config.recoveries:
            plan = solve_milp(table, config, v, recovery, visible_budget=math.inf, objective="visible")
            if plan is not None:
                loss = min(loss, plan.predicted_loss_pct)
            plan = solve_milp(table, config, v, recovery, overhead_budget_pct=math.inf, objective="recovery")
            if plan is not None:
                overhead = min(overhead, plan.latency_overhead_pct)
    return {"accuracy_loss_pct": loss, "latency_overhead_pct": overhead}


class Infeasible(ConfigError):
    """No plan on the grid meets the budgets."""


def infeasible_message(table: SensitivityTable, config: OptimizeConfig) -> str:
    """One line: which budget binds and the best achievable figures."""
    binding = {_binding(table, config, v, r) for v in range(len(table.vdds)) for r in config.recoveries}
    best = _best_achievable(table, config)
    order = [b for b in ("accuracy", "latency", "accuracy+latency", "razor_flops") if b in binding]
    return (
        f"no plan meets the budgets (binding: {', '.join(order)}); best achievable on "
        f"{table.vdds[0]:g}..{table.vdds[-1]:g} V: accuracy loss {best['accuracy_loss_pct']:.3g} points within "
        f"the latency budget (budget {config.max_accuracy_loss_pct:g}), latency overhead "
        f"{best['latency_overhead_pct']:.3g} % within the accuracy budget "
        f"(budget {config.max_latency_overhead_pct:g} %)"
    )


def _pareto_flags(points: np.ndarray) -> np.ndarray:
    """Non-dominated rows of `points` (all columns minimised)."""
    flags = np.ones(len(points), bool)
    for i, point in enumerate(points):
        dominated = np.all(points <= point, axis=1) & np.any(points < point, axis=1)
        flags[i] = not dominated.any()
    return flags


def _plan_bits(plan: PlanChoice, layers: Sequence[str], width: int = 32) -> str:
    """Short description of a plan's protection: ``31:22 (15/17 layers)``, ``31:22 to 31:25 (17/17 layers)``."""
    first = [b for b in plan.first_bits if b >= 0]
    if not first:
        return "none"
    msb = width - 1

    def span(bit: int) -> str:
        return str(msb) if bit == msb else f"{msb}:{bit}"

    lowest, highest = min(first), max(first)
    text = span(lowest) if lowest == highest else f"{span(lowest)} to {span(highest)}"
    return f"{text} ({len(first)}/{len(layers)} layers)"


def optimize(config: OptimizeConfig, *, prepared: Any = None, progress_label: str = "optimize") -> OptimizeResult:
    """Run the optimizer (screen, sensitivity table, solve, confirm). See the module docstring.

    Parameters
    ----------
    config : OptimizeConfig
    prepared : PreparedModel, optional
        A model already quantised with its evaluation images (default: prepared from
        ``config.model`` with ``config.images`` images).

    Returns
    -------
    OptimizeResult

    Raises
    ------
    ConfigError
        No plan on the grid meets the budgets (:class:`Infeasible`, the message says
        which budget binds and the best achievable figures).
    """
    if prepared is None:
        prepared = _prepare(config)
    profiles = layer_profiles(prepared, config)
    table = sensitivity_table(profiles, config)
    chosen, per_vdd = best_plan(table, config)
    if chosen is None:
        raise Infeasible(infeasible_message(table, config))
    nominal_energy = _nominal_energy(table, config)
    rows = []
    for v, vdd in enumerate(table.vdds):
        plan = per_vdd.get(vdd)
        if plan is None:
            binding = sorted({_binding(table, config, v, r) for r in config.recoveries})
            rows.append(
                VddRow(
                    vdd_v=vdd,
                    feasible=False,
                    recovery="",
                    protected_bits="",
                    razor_flops=0,
                    energy_pj=math.nan,
                    saving_pct=math.nan,
                    predicted_loss_pct=math.nan,
                    latency_overhead_pct=math.nan,
                    binding="+".join(binding),
                )
            )
            continue
        rows.append(
            VddRow(
                vdd_v=vdd,
                feasible=True,
                recovery=plan.recovery,
                protected_bits=_plan_bits(plan, table.layers, config.pe.width),
                razor_flops=plan.razor_flops,
                energy_pj=plan.energy_pj,
                saving_pct=100.0 * (1.0 - plan.energy_pj / nominal_energy),
                predicted_loss_pct=plan.predicted_loss_pct,
                latency_overhead_pct=plan.latency_overhead_pct,
                binding="",
                **_plan_energy_columns(table, config, profiles, v, plan, nominal_energy),
            )
        )
    pareto = _pareto(table, config, chosen, nominal_energy)
    confirmation: tuple[ConfirmationRow, ...] = ()
    accepted = chosen
    if config.confirm:
        confirmation, accepted = confirm_plans(prepared, config, table, chosen, per_vdd, progress_label=progress_label)
    candidate = Candidate(
        vdd_v=accepted.vdd_v,
        recovery=accepted.recovery,
        penalty_cycles=config.penalty_cycles,
        layers=table.layers,
        first_bits=accepted.first_bits,
        model=config.model,
        width=config.pe.width,
        razor_window_ps=config.razor_window_ps,
    )
    totals = {
        "vdd_v": accepted.vdd_v,
        "recovery": accepted.recovery,
        "protected_bits": _plan_bits(accepted, table.layers, config.pe.width),
        "energy_pj": accepted.energy_pj,
        "nominal_energy_pj": nominal_energy,
        "saving_pct": 100.0 * (1.0 - accepted.energy_pj / nominal_energy),
        "predicted_loss_pct": accepted.predicted_loss_pct,
        "latency_overhead_pct": accepted.latency_overhead_pct,
        "razor_flops": accepted.razor_flops,
        "confirmed": bool(config.confirm),
        "screen_choice_vdd_v": chosen.vdd_v,
        "screen_choice_recovery": chosen.recovery,
        "layers": len(table.layers),
        "vdd_points": len(table.vdds),
    }
    return OptimizeResult(
        config=config,
        rows=tuple(rows),
        totals=totals,
        chosen=candidate,
        pareto=pareto,
        confirmation=confirmation,
        sensitivity=table,
        plans=per_vdd,
        profiles=tuple(profiles),
        chosen_plan=chosen,
    )


def _plan_energy_columns(
    table: SensitivityTable,
    config: OptimizeConfig,
    profiles: Sequence[LayerProfile],
    v: int,
    plan: PlanChoice,
    nominal_energy: float,
) -> dict[str, Any]:
    """The energy, DVFS and area columns of the screen's best plan at VDD index `v`."""
    from pe_models.energy import pe_energy_model

    from .inference_energy import dvfs_energy

    coefficients = table.coefficients
    memory_pj = sum(layer.memory_pj for layer in coefficients[v])
    nominal_core = nominal_energy - sum(layer.memory_pj for layer in coefficients[0])
    core = plan.energy_pj - memory_pj
    rows = range(len(table.layers))
    picks = [table.choices.index(bit) for bit in plan.first_bits]
    recovery = float(sum(table.recovery_cycles[plan.recovery][v, i, c] for i, c in zip(rows, picks, strict=True)))
    cycles_per_image = float(table.base_cycles.sum()) + recovery
    macs = sum(profile.macs for profile in profiles)
    array = screen_array(config)
    model = pe_energy_model(config.pe)
    f_mhz, dvfs = dvfs_energy(
        [profile.work for profile in profiles],
        pe=config.pe,
        array=array,
        vdd_v=table.vdds[v],
        batch=config.batch,
        t_setup_ps=config.t_setup_ps,
        gating=config.gating(),
        memory=config.memory(array, node_nm=model.node_nm, tech=config.pe.tech),
    )
    protected = [bit for bit in plan.first_bits if bit >= 0]
    bits = config.pe.width - min(protected) if protected else 0
    buffers = _choice_hold_buffers(config, min(protected)) if protected else 0.0
    return {
        "energy_per_inference_pj": plan.energy_pj,
        "core_pj": core,
        "register_clock_pj": sum(layer.register_clock_pj for layer in coefficients[v]),
        "system_saving_pct": 100.0 * (1.0 - plan.energy_pj / nominal_energy),
        "core_saving_pct": 100.0 * (1.0 - core / nominal_core),
        "utilisation_pct": 100.0 * macs / (config.pes * cycles_per_image),
        "batch": config.batch,
        "latency_us": cycles_per_image * config.batch / config.f_clk_mhz,
        "dvfs_f_clk_mhz": f_mhz,
        "dvfs_energy_per_inference_pj": dvfs.total_pj.nominal,
        "dvfs_core_pj": dvfs.core_pj.nominal,
        "dvfs_latency_us": dvfs.latency_us,
        "dvfs_system_saving_pct": 100.0 * (1.0 - dvfs.total_pj.nominal / nominal_energy),
        "dvfs_core_saving_pct": 100.0 * (1.0 - dvfs.core_pj.nominal / nominal_core),
        "pe_area_um2": model.area.pe_um2,
        "area_overhead_pct": model.area.overhead_pct(bits, buffers),
    }


def _nominal_energy(table: SensitivityTable, config: OptimizeConfig) -> float:
    """Energy per image at the top of the grid with no protection (the reference of `saving_pct`)."""
    return float(table.energy_pj["global"][0, :, 0].sum())


def _pareto(
    table: SensitivityTable, config: OptimizeConfig, chosen: PlanChoice, nominal_energy: float
) -> tuple[ParetoRow, ...]:
    """Screened plans per (VDD, policy): min-energy under the budgets, under the accuracy
    budget alone, under the latency budget alone, and with every failing bit protected."""
    plans: list[tuple[PlanChoice, bool]] = []
    seen = set()
    for v in range(len(table.vdds)):
        for recovery in config.recoveries:
            for budgets in ({}, {"overhead_budget_pct": math.inf}, {"visible_budget": math.inf}):
                plan = solve_milp(table, config, v, recovery, **budgets)
                if plan is None:
                    continue
                key = (plan.vdd_v, plan.recovery, plan.first_bits)
                if key in seen:
                    continue
                seen.add(key)
                plans.append((plan, not budgets or _meets(plan, config)))
    points = np.array([[p.energy_pj, p.predicted_loss_pct, p.latency_overhead_pct] for p, _ in plans])
    flags = _pareto_flags(points)
    chosen_key = (chosen.vdd_v, chosen.recovery, chosen.first_bits)
    return tuple(
        ParetoRow(
            vdd_v=plan.vdd_v,
            recovery=plan.recovery,
            protected_bits=_plan_bits(plan, table.layers, config.pe.width),
            energy_pj=plan.energy_pj,
            saving_pct=100.0 * (1.0 - plan.energy_pj / nominal_energy),
            predicted_loss_pct=plan.predicted_loss_pct,
            latency_overhead_pct=plan.latency_overhead_pct,
            meets_budgets=meets,
            pareto=bool(flag),
            chosen=(plan.vdd_v, plan.recovery, plan.first_bits) == chosen_key,
        )
        for (plan, meets), flag in zip(plans, flags, strict=True)
    )


def _meets(plan: PlanChoice, config: OptimizeConfig) -> bool:
    return (
        plan.predicted_loss_pct <= config.max_accuracy_loss_pct + 1e-9
        and plan.latency_overhead_pct <= config.max_latency_overhead_pct + 1e-9
        and (config.max_razor_flops is None or plan.razor_flops <= config.max_razor_flops)
    )


def _prepare(config: OptimizeConfig) -> Any:
    from experiments.commands.accuracy import prepare_model
    from workloads.engine import CalibrationConfig

    return prepare_model(
        config.model, images=config.images, labels=None, seed=config.seed, calibration=CalibrationConfig()
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
    reference: _Measured,
) -> ConfirmationRow:
    from experiments.stats import bootstrap_difference_ci, mcnemar

    measured = plan_predictions(prepared, config, plan, layers=table.layers, reference=reference)
    hits = measured.hits
    reference_hits = reference.hits
    loss = 100.0 * float(np.mean(reference_hits) - np.mean(hits))
    low, high = bootstrap_difference_ci(reference_hits, hits, seed=config.seed)
    test = mcnemar(reference_hits, hits)
    meets = 100.0 * high <= config.max_accuracy_loss_pct and measured.overhead_pct <= config.max_latency_overhead_pct
    predicted_ok = _meets(plan, config)
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
        protected_bits=_plan_bits(plan, table.layers, config.pe.width),
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


@dataclass(frozen=True)
class _Measured:
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
    reference: _Measured | None = None,
) -> _Measured:
    """Top-1 hits per image and latency overhead of a plan with bit-level injection (None: nominal VDD).

    When every path of the PE meets the clock at the plan's VDD (static timing, no
    variation) no MAC can be wrong: the error-free `reference` run is reused, with the
    plan's masks."""
    from experiments.commands.accuracy import top_k_hits
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
    return _Measured(
        hits=hits,
        overhead_pct=100.0 * correction / compute if compute else 0.0,
        detections=detections,
        unprotected_errors=errors,
        layer_counts=backend.layer_counts,
        masks=masks,
    )


def replace(config: OptimizeConfig, **changes: Any) -> OptimizeConfig:
    """A copy of `config` with `changes` (validated again)."""
    return dataclasses.replace(config, **changes)


def _study() -> Any:
    from experiments.studies import Study

    return Study(
        name="optimize",
        config_type=OptimizeConfig,
        function=optimize,
        summary="VDD, per-layer protected bits and recovery of least energy within accuracy and latency budgets",
    )


STUDY = _study()


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
    config: OptimizeConfig, profiles: Sequence[LayerProfile], vdd_v: float, measured: _Measured, images: int
) -> Any:
    """Energy per image of a measured run and the DVFS baseline beside it
    (:func:`~experiments.studies.inference_energy.point_energy`, as ``accuracy`` computes it):
    per layer the closed-form batch activity plus the recovery cycles and detections the
    simulator counted over `images`, the plan's protected bits with their design hold-fix buffers."""
    from pe_models.energy import pe_energy_model

    from .inference_energy import point_energy

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


_FORKED: tuple[Any, OptimizeConfig, tuple[str, ...], _Measured] | None = None


def _forked_measure(plan: PlanChoice | None) -> _Measured:
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
                protected_bits="none" if plan is None else _plan_bits(plan, layers, config.pe.width),
                images=images,
                top1_pct=100.0 * float(np.mean(measured.hits)),
                accuracy_loss_pct=100.0 * float(np.mean(reference.hits) - np.mean(measured.hits)),
                loss_ci_low_pct=100.0 * low,
                loss_ci_high_pct=100.0 * high,
                mcnemar_p=mcnemar(reference.hits, measured.hits).p_value,
                detections_per_image=measured.detections / images,
                unprotected_errors_per_image=measured.unprotected_errors / images,
                latency_overhead_pct=100.0 * correction / compute if compute else 0.0,
                predicted_overhead_pct=_predicted_overhead(table, plan) if table is not None else math.nan,
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
    config: OptimizeConfig, point: Any, measured: _Measured, nominal_uj: float, nominal_core_uj: float
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


def unprotected_plan(vdd_v: float, layers: Sequence[str]) -> PlanChoice:
    """No protected bit in any layer at `vdd_v` (screen figures left at 0)."""
    return PlanChoice(
        vdd_v=vdd_v,
        recovery="global",
        first_bits=(-1,) * len(layers),
        energy_pj=0.0,
        visible_errors=0.0,
        predicted_loss_pct=0.0,
        latency_overhead_pct=0.0,
        razor_flops=0,
    )


def uniform_plan(vdd_v: float, layers: Sequence[str], mask: int, recovery: str, width: int) -> PlanChoice:
    """The same protected bits (`mask`, from its lowest set bit to the MSB) in every layer."""
    first = -1 if mask == 0 else (mask & -mask).bit_length() - 1
    return dataclasses.replace(unprotected_plan(vdd_v, layers), recovery=recovery, first_bits=(first,) * len(layers))


def _predicted_overhead(table: SensitivityTable, plan: PlanChoice | None) -> float:
    """Latency overhead the screen predicts for `plan` (i.i.d. analytic probabilities, closed form)."""
    if plan is None or plan.vdd_v not in table.vdds:
        return 0.0 if plan is None else math.nan
    v = table.vdds.index(plan.vdd_v)
    cycles = table.recovery_cycles[plan.recovery][v]
    total = sum(cycles[i, table.choices.index(bit)] for i, bit in enumerate(plan.first_bits))
    return 100.0 * float(total) / float(table.base_cycles.sum())


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


def plan_from_file(plan: Any, vdd_v: float, layers: Sequence[str], width: int) -> PlanChoice:
    """A :class:`sim.protection.ProtectionPlan` (``--plan``) at `vdd_v` as a PlanChoice with its own masks."""
    masks = tuple(plan.mask_for(name) for name in layers)
    first = tuple(-1 if mask == 0 else (mask & -mask).bit_length() - 1 for mask in masks)
    return dataclasses.replace(unprotected_plan(vdd_v, layers), recovery=plan.recovery, first_bits=first, masks=masks)
