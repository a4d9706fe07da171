"""Layers run MAC by MAC on the array at one operating point (:func:`sim.network.simulate_layers`).

Operands are seeded int8 values of the DNN operand model
(:data:`pe_models.operands.DNN_OPERAND_MODEL`) or a supplied GEMM (``.npz`` with arrays
``activations`` (M, K) and ``weights`` (K, N)).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from experiments.results import StudyResult, columns_of
from experiments.validation import check_layer_memory
from pe_models.chain import mac_parameters
from pe_models.errors import ConfigError
from pe_models.operands import DNN_OPERAND_MODEL
from pe_models.razor import window_fs
from pe_models.variation import MAX_SIGMA, ProcessVariation
from sim.config import DATAFLOWS, ArrayConfig
from sim.energy import COMPONENTS, breakdown_columns, outcome_energy
from sim.engine import DETAILED_MAX_PES, ENGINES
from sim.layers import GemmLayer, Layer
from sim.memory import ACCESS_COLUMNS, MemoryReport, ifmap_words, layer_memory
from sim.network import NetworkOutcome, simulate_layers
from sim.protection import RECOVERY_POLICIES, Protection, format_bit_mask, parse_bit_mask, product_bit_mask
from workloads.topologies import load_topology

from .common import (
    Progress,
    Study,
    TimingFields,
    as_config,
    check_choice,
    check_int,
    check_not_with_plan,
    check_topology,
    gemm_shape,
    no_progress,
    parse_razor_window,
    resolve_array,
    set_field,
)

__all__ = [
    "FlipRow",
    "SimulateConfig",
    "SimulateResult",
    "SimulateRow",
    "load_gemm_operands",
    "parse_layer",
    "parse_layer_range",
    "plot_flips",
    "simulate",
]


def parse_layer(value: object, name: str = "gemm") -> GemmLayer:
    """``"M,N,K"`` or ``(M, N, K)`` -> a GEMM layer named ``gemm`` (:func:`~experiments.studies.common.gemm_shape`)."""
    m, n, k = gemm_shape(value, name)
    return GemmLayer(name="gemm", m=m, n=n, k=k)


def parse_layer_range(text: str | None, count: int, name: str = "layer_range") -> range:
    """``START:STOP`` (0-based, STOP exclusive, either may be empty) or ``I``; None: all `count`.

    Raises
    ------
    ConfigError
        Malformed text, an empty selection, or one reaching past the last layer.
    """
    if text is None:
        return range(count)
    match = re.fullmatch(r"\s*(\d*)\s*(:\s*(\d*)\s*)?", text)
    if match is None or (match.group(2) is None and not match.group(1)):
        raise ConfigError(f"{name}: expected START:STOP or an index (0-based), e.g. 0:3, got {text!r}")
    start = int(match.group(1)) if match.group(1) else 0
    if match.group(2) is None:
        stop = start + 1
    else:
        stop = int(match.group(3)) if match.group(3) else count
    selected = range(count)[start:stop]
    if len(selected) == 0:
        raise ConfigError(f"{name}: {text!r} selects no layer; the topology has layers 0..{count - 1}")
    if stop > count:
        raise ConfigError(
            f"{name}: {text!r} reaches past the last layer; allowed: START:STOP with STOP <= {count} "
            f"(layers 0..{count - 1})"
        )
    return selected


def load_gemm_operands(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read supplied GEMM operands: a ``.npz`` with int8-valued ``activations`` (M, K) and ``weights`` (K, N).

    Raises
    ------
    ConfigError
        Unreadable file, missing array, wrong rank, mismatched K, non-integer or out-of-range values.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in ("activations", "weights") if name in data.files}
    except MemoryError:
        raise
    except Exception:
        raise ConfigError(f"{path}: not a readable .npz file with arrays activations, weights") from None
    for name in ("activations", "weights"):
        if name not in arrays:
            raise ConfigError(f"{path}: missing array {name!r}; a GEMM operand file needs arrays activations, weights")
    activations, weights = arrays["activations"], arrays["weights"]
    for name, array in arrays.items():
        if array.ndim != 2 or 0 in array.shape:
            raise ConfigError(f"{path}: array {name!r} must be a non-empty 2-D matrix, got shape {array.shape}")
        if array.dtype.kind not in "iu" or array.min() < -128 or array.max() > 127:
            raise ConfigError(f"{path}: array {name!r} must hold integers in -128..127")
    if activations.shape[1] != weights.shape[0]:
        raise ConfigError(f"{path}: activations {activations.shape} and weights {weights.shape} do not share K")
    return activations.astype(np.int8), weights.astype(np.int8)


@dataclass(frozen=True, kw_only=True)
class SimulateConfig(TimingFields):
    """Layers on the array at one operating point.

    Exactly one source: `gemm`, `operand_file` or `topology`.

    Attributes
    ----------
    gemm : "M,N,K" or (M, N, K), optional
        One GEMM layer ``C[M, N] = A[M, K] @ B[K, N]``, each >= 1 (kept as ``"M,N,K"``).
    operand_file : str or path, optional
        One GEMM with supplied operands: a ``.npz`` with int8-valued arrays ``activations``
        (M, K) and ``weights`` (K, N).
    topology : str or path, optional
        Topology CSV file (SCALE-Sim or vscale format) or a built-in name.
    layer_range : str, optional
        With `topology`: run only these layers, ``START:STOP`` (0-based, STOP exclusive) or
        an index (default: all).
    array : "RxC" or (rows, cols)
        Array shape in PEs, each >= 1.
    dataflow : str
        ``ws`` (weights stationary), ``os`` (outputs stationary) or ``is`` (inputs stationary).
    bandwidth : float or "unlimited", optional
        DRAM bandwidth in words per cycle, > 0; adds the double-buffered memory stalls of
        ``docs/latency.md`` (default: unlimited, no stalls).
    engine : str
        PE grid engine: ``fast`` (a numba kernel per fold) or ``detailed`` (PE objects stepped
        cycle by cycle; bit-identical; arrays of up to 1024 PEs unless
        `allow_large_detailed`).
    allow_large_detailed : bool
        Let the ``detailed`` engine run larger arrays (slow: about 1e5 PE-cycles per second).
    protect : str or int
        Protected accumulator bits, e.g. ``31:20`` or ``31,30``, ``none`` or a bit mask.
    protect_product : str or int
        Protected bits of the product register (the registered pipeline's multiplier stage,
        bits 0..15), e.g. ``15:13``, ``none`` or a bit mask.
    penalty_cycles : int, optional
        Cycles one recovery stalls its scope, >= 0 (``stall_cycles`` also names it); default:
        the stall model of :mod:`sim.recovery` (the error flag's OR tree and the stall's
        repeated wire across the scope at the operating point, so a ``global`` stall grows
        with the array and as the supply drops).
    recovery : str
        Recovery of a detection: the whole array stalls (``global``), the PE's column
        (``column``), the PE replays (``local``) or the MAC is dropped (``drop``).
    razor_window_ps : float or "PCT%", optional
        Razor detection window in ps, or a percentage of the clock period, e.g. ``25%``
        (default: the largest feasible window of hold fixing, ``vscale pe razor``).
    plan : path, optional
        Per-layer protection plan (TOML, ``docs/array_simulation.md``) replacing `protect`,
        `recovery`, `penalty_cycles` and `razor_window_ps`; its layers must be layers of
        the topology.
    sigma_die : float
        Relative delay standard deviation between dies, 0..0.3.
    sigma_pe : float
        Relative delay standard deviation between PEs, 0..0.3.
    seed : int
        Seed of the operands and of the process-variation die, >= 0.
    (PE and timing fields: :class:`~experiments.studies.common.TimingFields`.)
    """

    CHOICES: ClassVar[Mapping[str, Sequence[str]]] = {
        "dataflow": DATAFLOWS,
        "engine": tuple(ENGINES),
        "recovery": RECOVERY_POLICIES,
    }

    gemm: Any = None
    operand_file: str | Path | None = None
    topology: str | Path | None = None
    layer_range: str | None = None
    array: Any = "256x256"
    dataflow: str = "ws"
    bandwidth: Any = None
    engine: str = "fast"
    allow_large_detailed: bool = False
    protect: Any = "none"
    protect_product: Any = "none"
    penalty_cycles: int | None = None
    recovery: str = "global"
    razor_window_ps: float | None = None
    plan: str | Path | None = None
    sigma_die: float = 0.0
    sigma_pe: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_not_with_plan(self, ("protect", "protect_product", "recovery", "penalty_cycles", "razor_window_ps"))
        sources = [name for name in ("gemm", "operand_file", "topology") if getattr(self, name) is not None]
        if len(sources) != 1:
            raise ConfigError(
                f"gemm: give exactly one of gemm, operand_file or topology, got {', '.join(sources) or 'none'}"
            )
        if self.operand_file is not None and not str(self.operand_file).strip():
            raise ConfigError(
                f"operand_file: expected a .npz file with arrays activations, weights, got {self.operand_file!r}"
            )
        if self.operand_file is not None and not Path(self.operand_file).exists():
            raise ConfigError(f"{self.operand_file}: not a readable .npz file with arrays activations, weights")
        if self.gemm is not None:
            problem = parse_layer(self.gemm, "gemm")
            set_field(self, "gemm", f"{problem.m},{problem.n},{problem.k}")
        if self.topology is not None:
            check_topology(self.topology)
        if self.layer_range is not None and self.topology is None:
            raise ConfigError("layer_range: selects layers of a topology file, and none is given")
        mac_parameters(self.pe_config(), self.timing())
        check_int("seed", self.seed, minimum=0)
        stall = self.penalty_cycles
        if stall is not None and (not isinstance(stall, int) or isinstance(stall, bool) or stall < 0):
            raise ConfigError(
                f"penalty_cycles: expected a non-negative integer number of cycles, got {self.penalty_cycles!r}"
            )
        check_choice("recovery", self.recovery, RECOVERY_POLICIES)
        set_field(self, "razor_window_ps", parse_razor_window(self.razor_window_ps, self.timing().t_clk_fs / 1000))
        check_choice("engine", self.engine, ENGINES)
        protection = self.protection()
        mask, product = protection.protected_mask, protection.product_mask
        if mask or product:
            window_fs(
                self.timing(), self.razor_window_ps, pe=self.pe_config(), protected_mask=mask, product_mask=product
            )
        if self.plan is not None:
            plan = self.protection_plan()
            if plan.razor_window_ps is not None:
                window_fs(self.timing(), plan.razor_window_ps)
        for name in ("sigma_die", "sigma_pe"):
            sigma = getattr(self, name)
            ok = isinstance(sigma, int | float) and not isinstance(sigma, bool)
            if not ok or not 0.0 <= sigma <= MAX_SIGMA:
                shown = f"{sigma:g}" if ok else repr(sigma)
                raise ConfigError(f"{name}: expected a relative standard deviation in 0..{MAX_SIGMA:g}, got {shown}")
        array = self.array_config()
        if self.engine == "detailed" and array.mac_units > DETAILED_MAX_PES and not self.allow_large_detailed:
            raise ConfigError(
                f"engine: detailed steps one Python object per PE and is meant for arrays of up to "
                f"{DETAILED_MAX_PES} PEs; {array.shape} has {array.mac_units}; use fast (bit-identical) "
                "or set allow_large_detailed"
            )

    def protection_plan(self) -> Any:
        """The plan file, read (None without one)."""
        if self.plan is None:
            return None
        from experiments.plans import load_plan

        return load_plan(self.plan, width=self.width)

    def protection(self) -> Protection:
        """Protected bits, correction penalty and stall scope."""
        if isinstance(self.protect, str):
            mask = parse_bit_mask(self.protect, width=self.width, option="protect")
        else:
            mask = check_int("protect", self.protect, minimum=0)
            if mask >> self.width:
                raise ConfigError(f"protect: bit {mask.bit_length() - 1} is out of range; allowed: 0..{self.width - 1}")
        return Protection(
            protected_mask=mask,
            penalty_cycles=self.penalty_cycles,
            recovery=self.recovery,
            razor_window_ps=self.razor_window_ps,
            product_mask=product_bit_mask(self.protect_product),
        )

    def variation(self) -> ProcessVariation | None:
        """Process variation, None without any."""
        if not (self.sigma_die or self.sigma_pe):
            return None
        return ProcessVariation(sigma_die=self.sigma_die, sigma_pe=self.sigma_pe)

    def array_config(self) -> ArrayConfig:
        """The array, clocked at the timing's frequency, with the PE's accumulator width."""
        timing = self.timing()
        array = resolve_array(array=self.array, dataflow=self.dataflow, bandwidth=self.bandwidth)
        return dataclasses.replace(array, f_clk_mhz=1e9 / timing.t_clk_fs, accumulator_bits=self.width)


@dataclass(frozen=True, kw_only=True)
class SimulateRow:
    """One layer run on the array.

    Attributes
    ----------
    layer_id : int
        Position in the topology (0 for a single layer).
    layer_name : str
    m, n, k, groups : int
        The layer's GEMM per group.
    folds, macs : int
        Folds run and MACs evaluated.
    cycles : int
        ``compute_cycles + correction_cycles + memory_stall_cycles`` (SCALE-Sim's convention).
    compute_cycles, correction_cycles, memory_stall_cycles : int
    erroneous_macs : int
        MACs whose latched accumulator differs from the settled one.
    detections : int
        MACs whose Razor flip-flops detected (main and shadow samples differ on a protected bit).
    detection_cycles : int
        Cycles with at least one detection, summed over folds.
    miscorrections : int
        Detected MACs whose correction wrote a wrong (not yet settled) shadow value.
    silent_protected_errors : int
        MACs with a protected bit wrong at the sampling instant and not detected.
    unprotected_errors : int
        MACs with an unprotected bit wrong at the sampling instant.
    product_detections : int
        MACs whose product register detected (also in `detections`, once per MAC).
    silent_product_errors : int
        MACs with a protected product register bit wrong and not detected.
    recovery_cycles : int
        Cycles spent recovering (``correction_cycles``) under the recovery policy.
    wrong_outputs : int
        Outputs that differ from the exact GEMM.
    relative_error : float
        ``||outputs - exact||_2 / ||exact||_2`` of the layer.
    max_abs_error : int
        Largest ``|output - exact|``.
    memory : MemoryReport
        SRAM and DRAM words per operand (a convolution's ifmap counted as feature-map words)
        and the DRAM bandwidth, the counts behind ``memory_stall_cycles``; rendered as the
        columns :data:`sim.memory.ACCESS_COLUMNS` (meanings in :class:`sim.memory.MemoryReport`).
    mac_dynamic_pj, register_clock_pj, leakage_pj, razor_overhead_pj, correction_pj, sram_pj, dram_pj : float
        Energy of the layer by component (:func:`sim.energy.outcome_energy`: the run's cycles,
        recovery cycles and detections, the switching activity of its operands), nominal constants.
    total_pj : float
        Their sum.
    total_low_pj, total_high_pj : float
        The total with every constant at the low (high) end of its band. All energy columns
        are NaN when the run is timed by ``t_clk_ps`` with a ``delay_scale`` (no supply voltage).
    """

    layer_id: int
    layer_name: str
    m: int
    n: int
    k: int
    groups: int
    folds: int
    macs: int
    cycles: int
    compute_cycles: int
    correction_cycles: int
    memory_stall_cycles: int
    erroneous_macs: int
    detections: int
    detection_cycles: int
    miscorrections: int
    silent_protected_errors: int
    unprotected_errors: int
    product_detections: int
    silent_product_errors: int
    recovery_cycles: int
    wrong_outputs: int
    relative_error: float
    max_abs_error: int
    memory: MemoryReport = field(metadata=columns_of(ACCESS_COLUMNS), repr=False)
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


@dataclass(frozen=True, kw_only=True)
class FlipRow:
    """Wrong bits latched at one accumulator bit position in one layer (or in total).

    Attributes
    ----------
    layer_id : int or ""
        Empty on the TOTAL rows.
    layer_name : str
        The layer, or ``TOTAL``.
    bit : int
    flipped_bits : int
        Wrong values latched at this bit over all MACs.
    unprotected_flipped_bits : int
        The same over undetected MACs (stayed in the result).
    protected : int
        1 if the bit is protected.
    """

    layer_id: int | str
    layer_name: str
    bit: int
    flipped_bits: int
    unprotected_flipped_bits: int
    protected: int


@dataclass(frozen=True, kw_only=True)
class Flips(StudyResult[FlipRow, SimulateConfig]):
    """The flip counts per layer and bit, TOTAL rows last."""

    row_type = FlipRow


@dataclass(frozen=True, kw_only=True)
class SimulateResult(StudyResult[SimulateRow, SimulateConfig]):
    """Per-layer rows; ``totals``: sums, overall ``relative_error``, ``latency_us``,
    ``correction_overhead_pct``, per-bit ``flipped_bits``/``unprotected_flipped_bits``, the
    energy columns summed over the layers and ``energy_vdd_v``, the supply they are at.

    Attributes
    ----------
    outcome : NetworkOutcome
        Per-layer counts and flip arrays.
    array_config : ArrayConfig
    protection : Protection
    source : dict
        Where the layers came from (for the record).
    """

    row_type = SimulateRow

    outcome: NetworkOutcome = field(compare=False)
    array_config: ArrayConfig
    protection: Protection
    source: dict[str, Any] = field(compare=False)

    def flips(self) -> Flips:
        """Flip counts per layer and bit position, then the TOTAL rows."""
        mask = self.protection.protected_mask
        rows = [
            FlipRow(
                layer_id=layer.index,
                layer_name=layer.layer.name,
                bit=bit,
                flipped_bits=int(layer.flip_counts[bit]),
                unprotected_flipped_bits=int(layer.residual_flip_counts[bit]),
                protected=(mask >> bit) & 1,
            )
            for layer in self.outcome.layers
            for bit in range(layer.flip_counts.size)
        ]
        rows.extend(
            FlipRow(
                layer_id="",
                layer_name="TOTAL",
                bit=bit,
                flipped_bits=int(self.outcome.flip_counts[bit]),
                unprotected_flipped_bits=int(self.outcome.residual_flip_counts[bit]),
                protected=(mask >> bit) & 1,
            )
            for bit in range(self.outcome.flip_counts.size)
        )
        return Flips(config=self.config, rows=tuple(rows), totals=self.totals)

    def title(self) -> str:
        """One line describing the run (plot title and table footer)."""
        array = self.array_config
        vdd = "" if self.config.vdd_v is None else f" at {self.config.vdd_v:g} V"
        return (
            f"{array.shape} {array.dataflow}{vdd}, {float(array.f_clk_mhz):g} MHz, "
            f"protected {format_bit_mask(self.protection.protected_mask)}: "
            f"{self.totals['erroneous_macs']} erroneous of {self.totals['macs']} MACs"
        )


_SUMMED = (
    "macs",
    "cycles",
    "compute_cycles",
    "correction_cycles",
    "memory_stall_cycles",
    "erroneous_macs",
    "detections",
    "detection_cycles",
    "miscorrections",
    "silent_protected_errors",
    "unprotected_errors",
    "product_detections",
    "silent_product_errors",
    "recovery_cycles",
    "wrong_outputs",
)

_ENERGY_COLUMNS = (*COMPONENTS, "total_pj", "total_low_pj", "total_high_pj")


def _energy_vdd(config: SimulateConfig) -> float | None:
    """Supply voltage of the energy columns: `vdd_v`, or nominal for ``t_clk_ps`` at nominal delays."""
    if config.vdd_v is not None:
        return float(config.vdd_v)
    if config.delay_scale is None or config.delay_scale == 1:
        return float(config.pe_config().tech.vdd_nominal_v)
    return None


def simulate(
    config: SimulateConfig | None = None, /, *, progress: Progress = no_progress, **fields: Any
) -> SimulateResult:
    """Run the layers of the config on the array, every MAC through the chain-level PE.

    Parameters
    ----------
    config : SimulateConfig, optional
        Or its fields as keyword arguments (``gemm="64,32,27"``, ``vdd_v=0.55`` ...).
    progress : callable
        Wraps the layer loop; default: silent.
    """
    config = as_config(SimulateConfig, config, fields)
    pe = config.pe_config()
    timing = config.timing()
    array = config.array_config()
    protection = config.protection()
    plan = config.protection_plan()
    supplied = None
    layers: list[tuple[int, Layer]]
    if config.operand_file is not None:
        supplied = load_gemm_operands(config.operand_file)
        m, k = supplied[0].shape
        layers = [(0, GemmLayer(name="operands", m=m, n=supplied[1].shape[1], k=k))]
        source: dict[str, Any] = {"operands": str(config.operand_file)}
    elif config.gemm is not None:
        layers = [(0, parse_layer(config.gemm, "gemm"))]
        source = {"gemm": config.gemm}
    else:
        assert config.topology is not None
        topology = load_topology(config.topology)
        selected = parse_layer_range(config.layer_range, len(topology.layers))
        layers = [(index, topology.layers[index]) for index in selected]
        for _, chosen in layers:
            check_layer_memory(chosen, field="topology")
        source = {
            "topology": str(config.topology),
            "source": topology.source,
            "format": topology.format,
            "layers": config.layer_range or f"0:{len(topology.layers)}",
        }
    if plan is not None:
        plan.check_layers(
            [layer.name for layer in topology.layers] if config.topology is not None else [layers[0][1].name]
        )
    outcome = simulate_layers(
        layers,
        array=array,
        pe=pe,
        timing=timing,
        protection=protection if plan is None else plan,
        variation=config.variation(),
        seed=config.seed,
        engine=config.engine,
        operands=supplied,
        progress=progress,
    )
    rows = []
    energy_vdd = _energy_vdd(config)
    for layer in outcome.layers:
        problem = layer.layer.gemm()
        if energy_vdd is None:
            energy = dict.fromkeys(_ENERGY_COLUMNS, float("nan"))
        else:
            breakdown = outcome_energy(layer, array=array, pe=pe, vdd_v=energy_vdd, seed=config.seed, operands=supplied)
            energy = {name: value for name, value in breakdown_columns(breakdown).items() if name in _ENERGY_COLUMNS}
        memory = layer_memory(
            problem, array, ifmap_words=None if config.operand_file is not None else ifmap_words(layer.layer)
        )
        rows.append(
            SimulateRow(
                layer_id=layer.index,
                layer_name=layer.layer.name,
                m=problem.m,
                n=problem.n,
                k=problem.k,
                groups=problem.groups,
                folds=layer.folds,
                macs=layer.macs,
                cycles=layer.cycles,
                compute_cycles=layer.compute_cycles,
                correction_cycles=layer.correction_cycles,
                memory_stall_cycles=layer.memory_stall_cycles,
                erroneous_macs=layer.erroneous_macs,
                detections=layer.detections,
                detection_cycles=layer.detection_cycles,
                miscorrections=layer.miscorrections,
                silent_protected_errors=layer.silent_protected_errors,
                unprotected_errors=layer.unprotected_errors,
                product_detections=layer.product_detections,
                silent_product_errors=layer.silent_product_errors,
                recovery_cycles=layer.recovery_cycles,
                wrong_outputs=layer.wrong_outputs,
                relative_error=layer.relative_error,
                max_abs_error=layer.max_abs_error,
                memory=memory,
                **energy,
            )
        )
    sums = {name: outcome.total(name) for name in _SUMMED}
    totals: dict[str, Any] = {
        "layers": len(rows),
        **sums,
        "relative_error": outcome.relative_error,
        "latency_us": array.cycles_to_us(sums["cycles"]),
        "correction_overhead_pct": 100.0 * sums["correction_cycles"] / max(sums["compute_cycles"], 1),
        "flipped_bits": [int(x) for x in outcome.flip_counts],
        "unprotected_flipped_bits": [int(x) for x in outcome.residual_flip_counts],
        "energy_vdd_v": float("nan") if energy_vdd is None else energy_vdd,
        **{name: float(sum(getattr(row, name) for row in rows)) for name in _ENERGY_COLUMNS},
        **config.timing_totals(config.pe_config()),
        **_razor_totals(outcome.layers),
    }
    return SimulateResult(
        config=config,
        rows=tuple(rows),
        totals=totals,
        outcome=outcome,
        array_config=array,
        protection=protection,
        source=source,
    )


def _razor_totals(layers: Sequence[Any]) -> dict[str, Any]:
    """The Razor design the protected layers ran with: window, stall cycles of one recovery (the
    stall model's unless given), hold buffers per protected bit and buffering flops per PE
    (the largest over the layers); nothing without protected layers."""
    protected = [layer for layer in layers if layer.protected_mask or layer.product_mask]
    if not protected:
        return {}
    return {
        "razor_window_ps": protected[0].razor_window_ps,
        "stall_cycles": max(layer.stall_cycles for layer in protected),
        "hold_buffers_per_bit": max(layer.hold_buffers_per_bit for layer in protected),
        "recovery_flops_per_pe": max(layer.recovery_flops_per_pe for layer in protected),
    }


def operand_description(result: SimulateResult) -> Any:
    """What the operands were, for the record: the file, or the DNN operand model."""
    if result.config.operand_file is not None:
        return str(result.config.operand_file)
    return DNN_OPERAND_MODEL


def plot_flips(result: SimulateResult) -> Any:
    """Flipped bits per accumulator bit position: corrected (green) and remaining (red)."""
    from experiments.output import subplots

    flips = result.outcome.flip_counts
    residual = result.outcome.residual_flip_counts
    mask = result.protection.protected_mask
    width = flips.shape[0]
    bits = np.arange(width)
    figure, axes = subplots(figsize=(8, 3.5))
    for bit in bits:
        if (mask >> int(bit)) & 1:
            axes.axvspan(bit - 0.5, bit + 0.5, color="0.9", zorder=0)
    axes.bar(bits, flips - residual, color="tab:green", label="detected and corrected", zorder=2)
    axes.bar(bits, residual, bottom=flips - residual, color="tab:red", label="unprotected (stayed)", zorder=2)
    axes.set_xlim(-0.5, width - 0.5)
    axes.set_xlabel("accumulator bit position (grey: protected)")
    axes.set_ylabel("flipped bits")
    axes.set_title(result.title(), fontsize=9)
    if flips.sum() > 0:
        axes.set_yscale("symlog", linthresh=1)
        axes.legend(fontsize=8, loc="upper left")
    else:
        axes.text(0.5, 0.5, "no timing errors", transform=axes.transAxes, ha="center", va="center")
    return figure


STUDY = Study(
    name="simulate",
    config_type=SimulateConfig,
    function=simulate,
    summary="layers MAC by MAC on the array at one VDD: cycles, corrections, bit flips, output error",
)
