"""Energy of a layer on the array: the counts a simulation produces times per-PE energies.

:func:`layer_energy` turns a :class:`LayerActivity` (MACs, cycles with stalls and
corrections, PEs, protected bits, detections, memory traffic, switching activity per
MAC) into an :class:`EnergyBreakdown` whose components sum to the total, each with the
low/nominal/high band of the constants in :mod:`pe_models.energy`:

``mac_dynamic_pj``
    MACs x switched capacitance per MAC (toggle model on the layer's operands) x
    ``0.5 C_unit VDD**2``.
``register_clock_pj``
    Every flop of every PE, every cycle that is not a correction cycle (memory stalls
    included): ``pes x flops x (cycles - correction_cycles) x E_flop``.
``leakage_pj``
    Every powered PE for the whole latency: ``P_leak x powered_pes x cycles / f_clk``;
    with power gating only the PEs the mapping uses are powered.
``razor_overhead_pj``
    Per protected bit of every PE, every cycle: Razor flop minus plain flop plus the
    hold-fix buffers; plus the error-signal OR tree at every detection.
``correction_pj``
    The recovery: every flop during the correction cycles and the replayed MACs.
``sram_pj``, ``dram_pj``
    Bytes moved times energy per byte, on the memories' own supply (nominal by default).

Dynamic terms scale with :meth:`Technology.dynamic_energy_scale`, leakage with
:meth:`Technology.leakage_power_scale`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np

from pe_models.energy import Band, PEEnergyModel, pe_energy_model
from pe_models.errors import ConfigError
from pe_models.pe import OperatingPoint, PEConfig, stage_timing
from pe_models.razor import hold_buffers

from .config import ArrayConfig
from .cycles import LayerReport
from .engine import GemmResult
from .layers import GemmProblem
from .mapping import map_gemm
from .memory import ACCESS_COUNTS, MemoryReport, ifmap_words, layer_memory
from .network import LayerOutcome, layer_operands
from .protection import Protection

__all__ = [
    "COMPONENTS",
    "EnergyBreakdown",
    "LayerActivity",
    "MemoryTraffic",
    "activity_from_report",
    "activity_from_result",
    "breakdown_columns",
    "consecutive_operands",
    "design_hold_buffers",
    "gemm_energy",
    "layer_energy",
    "mean_units_per_mac",
    "memory_traffic",
    "outcome_energy",
    "total_energy",
]

COMPONENTS: tuple[str, ...] = (
    "mac_dynamic_pj",
    "register_clock_pj",
    "leakage_pj",
    "razor_overhead_pj",
    "correction_pj",
    "sram_pj",
    "dram_pj",
)


@dataclass(frozen=True, kw_only=True)
class MemoryTraffic:
    """Bytes moved between the array and its SRAM, and between SRAM and DRAM.

    Attributes
    ----------
    sram_read_bytes, sram_write_bytes, dram_read_bytes, dram_write_bytes : int
    by_operand : mapping of str to int
        Words per operand and direction, e.g. ``ifmap_sram_reads``.
    """

    sram_read_bytes: int
    sram_write_bytes: int
    dram_read_bytes: int
    dram_write_bytes: int
    by_operand: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("sram_read_bytes", "sram_write_bytes", "dram_read_bytes", "dram_write_bytes"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < 0:
                raise ConfigError(f"MemoryTraffic.{name}: expected a non-negative integer, got {value!r}")
        object.__setattr__(self, "by_operand", MappingProxyType(dict(self.by_operand)))


def memory_traffic(
    problem: GemmProblem,
    array: ArrayConfig,
    *,
    ifmap_words: int | None = None,
    report: MemoryReport | None = None,
) -> MemoryTraffic:
    """SRAM and DRAM bytes of a GEMM problem, from the buffer model of :func:`sim.memory.layer_memory`.

    Every count is in words of ``array.word_bytes`` bytes (partial sums too, as
    :mod:`sim.memory` counts them). SRAM: array reads and writes plus DRAM fills and
    drains; DRAM: reads and write-backs (spilled partial sums included). `report`: the
    layer's memory report when it is already computed (a convolution's report counts its
    input as feature-map words, as ``vscale latency`` and the SCALE-Sim reports do).
    """
    if report is None:
        report = layer_memory(problem, array, ifmap_words=ifmap_words)
    words = {name: int(getattr(report, name)) for name in ACCESS_COUNTS}
    word = array.word_bytes
    return MemoryTraffic(
        sram_read_bytes=report.sram_reads * word,
        sram_write_bytes=report.sram_writes * word,
        dram_read_bytes=report.dram_reads * word,
        dram_write_bytes=report.ofmap_dram_writes * word,
        by_operand=words,
    )


@dataclass(frozen=True, kw_only=True)
class LayerActivity:
    """What one layer did on the array, as the energy model needs it.

    Attributes
    ----------
    name : str
    macs : int
        Multiply-accumulates evaluated.
    cycles : int
        Latency in cycles (stalls and corrections included), the simulator's count.
    correction_cycles : int
        Cycles spent recovering from detected errors.
    detections : int
        Detected (and replayed) MACs.
    pes : int
        PEs in the array.
    mapped_pe_fraction : float
        Mean fraction of PEs the mapping uses, (0, 1] (for power gating).
    protected_bits : int
        Protected accumulator bits per PE.
    units_per_mac : float
        Mean switched capacitance per MAC in unit-inverter capacitances (toggle model).
    traffic : MemoryTraffic
    """

    name: str
    macs: int
    cycles: int
    correction_cycles: int = 0
    detections: int = 0
    pes: int
    mapped_pe_fraction: float = 1.0
    protected_bits: int = 0
    units_per_mac: float
    traffic: MemoryTraffic

    def __post_init__(self) -> None:
        for name in ("macs", "cycles", "correction_cycles", "detections", "pes", "protected_bits"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"LayerActivity.{name}: expected a non-negative integer, got {value!r}")
        if self.correction_cycles > self.cycles:
            raise ConfigError(
                f"LayerActivity.correction_cycles: {self.correction_cycles} exceeds the layer's {self.cycles} cycles"
            )
        if not 0.0 < float(self.mapped_pe_fraction) <= 1.0:
            raise ConfigError(f"LayerActivity.mapped_pe_fraction: expected (0, 1], got {self.mapped_pe_fraction!r}")
        if not math.isfinite(float(self.units_per_mac)) or self.units_per_mac < 0:
            raise ConfigError(f"LayerActivity.units_per_mac: expected a finite number >= 0, got {self.units_per_mac!r}")


def activity_from_report(
    report: LayerReport,
    problem: GemmProblem,
    array: ArrayConfig,
    *,
    units_per_mac: float,
    protection: Protection | None = None,
) -> LayerActivity:
    """Activity of a layer from the closed-form cycle counts (no timing errors)."""
    return LayerActivity(
        name=report.name,
        macs=report.macs,
        cycles=report.total_cycles,
        pes=array.mac_units,
        mapped_pe_fraction=report.mapping_efficiency,
        protected_bits=0 if protection is None else len(protection.protected_bits),
        units_per_mac=units_per_mac,
        traffic=memory_traffic(problem, array, report=report.memory),
    )


def activity_from_result(
    name: str,
    result: GemmResult,
    problem: GemmProblem,
    array: ArrayConfig,
    *,
    units_per_mac: float,
    protection: Protection | None = None,
    ifmap_words: int | None = None,
) -> LayerActivity:
    """Activity of a layer the array simulator ran (:mod:`sim.engine`).

    `ifmap_words`: distinct input words per group (:func:`sim.memory.ifmap_words`), default ``M K``.
    """
    return LayerActivity(
        name=name,
        macs=result.macs,
        cycles=result.cycles,
        correction_cycles=result.correction_cycles,
        detections=result.detections,
        pes=array.mac_units,
        mapped_pe_fraction=map_gemm(problem, array).mapping_efficiency,
        protected_bits=0 if protection is None else len(protection.protected_bits),
        units_per_mac=units_per_mac,
        traffic=memory_traffic(problem, array, ifmap_words=ifmap_words),
    )


def consecutive_operands(
    activations: np.ndarray,
    weights: np.ndarray,
    array: ArrayConfig,
    *,
    samples: int = 2048,
    seed: int | np.random.SeedSequence = 0,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Sampled (previous, current) MAC operands of PEs of the array, as the dataflow orders them.

    A PE holding ``(k, n)`` (ws), ``(m, n)`` (os) or ``(k, m)`` (is) sees MAC after MAC
    along the streamed dimension (m, k or n). Its incoming partial sum is
    ``sum_{k0 <= k' < k} A[m, k'] B[k', n]`` with ``k0`` the first K index of its fold
    (0 for os, which accumulates in place). A PE that sees a single MAC (streamed length 1)
    switches from all-zero operands.

    Parameters
    ----------
    activations : ndarray, int8, shape (M, K) or (groups, M, K)
    weights : ndarray, int8, shape (K, N) or (groups, K, N)
    array : ArrayConfig
    samples : int
        MAC positions drawn uniformly (all of them when there are fewer).
    seed : int or SeedSequence

    Returns
    -------
    (old, new) : dicts of ``a``, ``b``, ``c`` int64 arrays of shape (samples,)
    """
    a_all = np.asarray(activations)
    b_all = np.asarray(weights)
    if a_all.ndim == 2:
        a_all, b_all = a_all[None], b_all[None]
    groups, m_size, k_size = a_all.shape
    n_size = b_all.shape[2]
    rng = np.random.default_rng(seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed))
    dataflow = array.dataflow
    streamed = {"ws": m_size, "os": k_size, "is": n_size}[dataflow]
    depth = array.rows if dataflow != "os" else k_size
    samples = min(samples, max(256, (1 << 22) // depth))
    g = rng.integers(0, groups, samples)
    m = rng.integers(0, m_size, samples)
    k = rng.integers(0, k_size, samples)
    n = rng.integers(0, n_size, samples)
    if dataflow == "ws" and streamed > 1:
        m = np.maximum(m, 1)
    elif dataflow == "os" and streamed > 1:
        k = np.maximum(k, 1)
    elif streamed > 1:
        n = np.maximum(n, 1)
    k0 = (k // array.rows) * array.rows if dataflow != "os" else np.zeros_like(k)
    index = k0[:, None] + np.arange(depth)[None, :]
    valid = index < k[:, None]
    np.minimum(index, k_size - 1, out=index)
    a_flat = a_all.reshape(-1)
    b_flat = np.ascontiguousarray(b_all.transpose(0, 2, 1)).reshape(-1)

    def row_of_a(mm: np.ndarray) -> np.ndarray:
        return np.take(a_flat, ((g * m_size + mm) * k_size)[:, None] + index).astype(np.int64)

    def column_of_b(nn: np.ndarray) -> np.ndarray:
        gathered = np.take(b_flat, ((g * n_size + nn) * k_size)[:, None] + index)
        return np.where(valid, gathered, 0).astype(np.int64)

    def value(matrix: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        return matrix[g, first, second].astype(np.int64)

    a_row, b_column = row_of_a(m), column_of_b(n)
    new = {"a": value(a_all, m, k), "b": value(b_all, k, n), "c": np.einsum("ij,ij->i", a_row, b_column)}
    if streamed < 2:
        old = {key: np.zeros_like(values) for key, values in new.items()}
    elif dataflow == "ws":
        old = {"a": value(a_all, m - 1, k), "b": new["b"], "c": np.einsum("ij,ij->i", row_of_a(m - 1), b_column)}
    elif dataflow == "is":
        old = {"a": new["a"], "b": value(b_all, k, n - 1), "c": np.einsum("ij,ij->i", a_row, column_of_b(n - 1))}
    else:
        a_prev, b_prev = value(a_all, m, k - 1), value(b_all, k - 1, n)
        old = {"a": a_prev, "b": b_prev, "c": new["c"] - a_prev * b_prev}
    return old, new


def mean_units_per_mac(
    model: PEEnergyModel,
    activations: np.ndarray,
    weights: np.ndarray,
    array: ArrayConfig,
    *,
    samples: int = 2048,
    seed: int | np.random.SeedSequence = 0,
) -> float:
    """Mean switched capacitance per MAC of a GEMM on the array (toggle model, sampled)."""
    old, new = consecutive_operands(activations, weights, array, samples=samples, seed=seed)
    return float(model.mac_units(old, new).mean())


@dataclass(frozen=True, kw_only=True)
class EnergyBreakdown:
    """Energy of a layer (or of several layers summed), by component, in pJ.

    Attributes
    ----------
    name : str
    vdd_v, f_clk_mhz : float
    cycles : int
    latency_us : float
        ``cycles / f_clk_mhz``.
    macs : int
    mac_dynamic_pj, register_clock_pj, leakage_pj, razor_overhead_pj, correction_pj, sram_pj, dram_pj : Band
    """

    name: str
    vdd_v: float
    f_clk_mhz: float
    cycles: int
    latency_us: float
    macs: int
    mac_dynamic_pj: Band
    register_clock_pj: Band
    leakage_pj: Band
    razor_overhead_pj: Band
    correction_pj: Band
    sram_pj: Band
    dram_pj: Band

    @property
    def total_pj(self) -> Band:
        """Sum of the components, corner by corner."""
        total = Band.exact(0.0)
        for band in self.components().values():
            total = total + band
        return total

    def components(self) -> dict[str, Band]:
        """Component name -> band, in :data:`COMPONENTS` order."""
        return {name: getattr(self, name) for name in COMPONENTS}


def layer_energy(
    activity: LayerActivity,
    model: PEEnergyModel,
    *,
    vdd_v: float,
    f_clk_mhz: float,
    memory_vdd_v: float | None = None,
    power_gating: bool = False,
    clock_gating: bool = False,
) -> EnergyBreakdown:
    """Energy breakdown of one layer at a supply voltage and clock.

    Parameters
    ----------
    activity : LayerActivity
    model : PEEnergyModel
        Per-PE energies at the technology's nominal supply.
    vdd_v : float
        Array supply in V.
    f_clk_mhz : float
        Clock in MHz (converts cycles to time for leakage).
    memory_vdd_v : float, optional
        SRAM supply; default nominal (SRAM energy unscaled). DRAM is never scaled.
    power_gating : bool
        Power only the PEs the mapping uses (default: every PE leaks).
    clock_gating : bool
        Clock only the PEs the mapping uses (default: every flop of every PE, every cycle).

    Raises
    ------
    ConfigError
        VDD outside the technology's range, or a clock that is not positive.
    """
    tech = model.pe.tech
    dynamic = tech.dynamic_energy_scale(vdd_v)
    leakage = tech.leakage_power_scale(vdd_v)
    memory = 1.0 if memory_vdd_v is None else tech.dynamic_energy_scale(memory_vdd_v)
    if not isinstance(f_clk_mhz, int | float) or not math.isfinite(f_clk_mhz) or f_clk_mhz <= 0:
        raise ConfigError(f"f_clk_mhz: expected a positive number of MHz, got {f_clk_mhz!r}")
    cycles = int(activity.cycles)
    latency_us = cycles / float(f_clk_mhz)
    clocked = activity.pes * (activity.mapped_pe_fraction if clock_gating else 1.0)
    flop_cycle = model.flop_pj * (clocked * model.flops * dynamic)
    mac = model.switching_pj(activity.units_per_mac) * dynamic
    powered = activity.pes * (activity.mapped_pe_fraction if power_gating else 1.0)
    razor = Band.exact(0.0)
    if activity.protected_bits:
        per_bit_cycle = model.razor_extra_pj + model.hold_buffer_pj * model.hold_buffers_per_bit
        levels = math.ceil(math.log2(max(2, activity.protected_bits * activity.pes)))
        razor = per_bit_cycle * (activity.protected_bits * activity.pes * cycles * dynamic) + model.error_network_pj * (
            activity.detections * levels * dynamic
        )
    return EnergyBreakdown(
        name=activity.name,
        vdd_v=float(vdd_v),
        f_clk_mhz=float(f_clk_mhz),
        cycles=cycles,
        latency_us=latency_us,
        macs=int(activity.macs),
        mac_dynamic_pj=mac * activity.macs,
        register_clock_pj=flop_cycle * (cycles - activity.correction_cycles),
        leakage_pj=model.leakage_uw * (powered * latency_us * leakage),
        razor_overhead_pj=razor,
        correction_pj=flop_cycle * activity.correction_cycles + mac * activity.detections,
        sram_pj=model.sram_pj_per_byte
        * ((activity.traffic.sram_read_bytes + activity.traffic.sram_write_bytes) * memory),
        dram_pj=model.dram_pj_per_byte * (activity.traffic.dram_read_bytes + activity.traffic.dram_write_bytes),
    )


def total_energy(breakdowns: Iterable[EnergyBreakdown], *, name: str = "total") -> EnergyBreakdown:
    """Sum of layer breakdowns run back to back (one inference)."""
    items = list(breakdowns)
    if not items:
        raise ConfigError("layers: expected at least one layer breakdown")
    sums = {component: Band.exact(0.0) for component in COMPONENTS}
    for item in items:
        for component, band in item.components().items():
            sums[component] = sums[component] + band
    cycles = sum(item.cycles for item in items)
    return EnergyBreakdown(
        name=name,
        vdd_v=items[0].vdd_v,
        f_clk_mhz=items[0].f_clk_mhz,
        cycles=cycles,
        latency_us=sum(item.latency_us for item in items),
        macs=sum(item.macs for item in items),
        **sums,
    )


def design_hold_buffers(pe: PEConfig, f_clk_mhz: float, protected_mask: int) -> float:
    """Hold-fix buffers per protected bit, as fixed at design time.

    The mean over the protected bits of :func:`pe_models.razor.hold_buffers` at the
    technology's nominal VDD, the clock `f_clk_mhz` and the default detection window; 0
    without protected bits.
    """
    bits = [bit for bit in range(int(protected_mask).bit_length()) if (protected_mask >> bit) & 1]
    if not bits:
        return 0.0
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=pe.tech.vdd_nominal_v, f_clk_mhz=f_clk_mhz))
    counts = hold_buffers(pe, timing, None)
    return float(np.mean([counts[bit] for bit in bits]))


def breakdown_columns(breakdown: EnergyBreakdown) -> dict[str, float]:
    """The columns a result table shows for a breakdown: every component at the nominal
    constants, ``total_pj`` and the band ``total_low_pj``, ``total_high_pj``."""
    columns = {name: band.nominal for name, band in breakdown.components().items()}
    total = breakdown.total_pj
    columns.update({"total_pj": total.nominal, "total_low_pj": total.low, "total_high_pj": total.high})
    return columns


def gemm_energy(
    result: GemmResult,
    activations: np.ndarray,
    weights: np.ndarray,
    *,
    array: ArrayConfig,
    pe: PEConfig,
    vdd_v: float,
    protection: Protection | None = None,
    name: str = "gemm",
    samples: int = 2048,
    seed: int | np.random.SeedSequence = 0,
    power_gating: bool = False,
) -> EnergyBreakdown:
    """Energy breakdown of a GEMM the array simulator ran (for ``simulate`` and ``accuracy`` results).

    Parameters
    ----------
    result : GemmResult
        From :func:`sim.engine.simulate_gemm` or :func:`sim.engine.simulate_grouped_gemm`.
    activations, weights : ndarray, int8
        The operands it ran on, shapes (M, K) and (K, N) or with a leading groups axis.
    array, pe : ArrayConfig, PEConfig
        As given to the simulator.
    vdd_v : float
        Supply of the run; the clock is ``array.f_clk_mhz``.
    protection : Protection, optional
        As given to the simulator; its bits get :func:`design_hold_buffers` hold-fix buffers.
    name, samples, seed, power_gating
        Layer name, MACs sampled for the switching activity, its seed, power gating.

    Returns
    -------
    EnergyBreakdown
        :func:`breakdown_columns` gives the table columns.
    """
    a = np.asarray(activations)
    w = np.asarray(weights)
    if a.ndim == 2:
        a, w = a[None], w[None]
    problem = GemmProblem(m=a.shape[1], n=w.shape[2], k=a.shape[2], groups=a.shape[0])
    mask = 0 if protection is None else protection.protected_mask
    model = replace(pe_energy_model(pe), hold_buffers_per_bit=design_hold_buffers(pe, array.f_clk_mhz, mask))
    units = mean_units_per_mac(model, a, w, array, samples=samples, seed=seed)
    activity = activity_from_result(name, result, problem, array, units_per_mac=units, protection=protection)
    return layer_energy(activity, model, vdd_v=vdd_v, f_clk_mhz=array.f_clk_mhz, power_gating=power_gating)


def outcome_energy(
    outcome: LayerOutcome,
    *,
    array: ArrayConfig,
    pe: PEConfig,
    vdd_v: float,
    seed: int = 0,
    operands: tuple[np.ndarray, np.ndarray] | None = None,
    samples: int = 2048,
    power_gating: bool = False,
    clock_gating: bool = False,
) -> EnergyBreakdown:
    """Energy breakdown of one layer :func:`sim.network.simulate_layers` ran.

    The switching activity is taken from the operands the simulation used: `operands`
    when they were supplied, else the seeded operands ``simulate_layers`` drew for this
    layer (``layer_operands`` with ``SeedSequence(seed, spawn_key=(0, outcome.index))``).
    Protected bits are the outcome's ``protected_mask``, with :func:`design_hold_buffers`
    hold-fix buffers each.

    Parameters
    ----------
    outcome : LayerOutcome
    array, pe : ArrayConfig, PEConfig
        As given to ``simulate_layers``.
    vdd_v : float
        Supply of the run; the clock is ``array.f_clk_mhz``.
    seed : int
        The root seed given to ``simulate_layers``.
    operands : (activations, weights), optional
        Supplied operands, shapes (M, K) and (K, N).
    samples, power_gating, clock_gating
        As :func:`mean_units_per_mac` and :func:`layer_energy`.

    Returns
    -------
    EnergyBreakdown
        :func:`breakdown_columns` gives the table columns.
    """
    if operands is not None:
        activations, weights = np.asarray(operands[0])[None], np.asarray(operands[1])[None]
    else:
        activations, weights = layer_operands(
            outcome.layer, np.random.SeedSequence(np.random.SeedSequence(seed).entropy, spawn_key=(0, outcome.index))
        )
    problem = GemmProblem(
        m=activations.shape[1], n=weights.shape[2], k=activations.shape[2], groups=activations.shape[0]
    )
    buffers = design_hold_buffers(pe, array.f_clk_mhz, outcome.protected_mask)
    model = replace(pe_energy_model(pe), hold_buffers_per_bit=buffers)
    activity = LayerActivity(
        name=outcome.layer.name,
        macs=outcome.macs,
        cycles=outcome.cycles,
        correction_cycles=outcome.correction_cycles,
        detections=outcome.detections,
        pes=array.mac_units,
        mapped_pe_fraction=map_gemm(problem, array).mapping_efficiency,
        protected_bits=int(outcome.protected_mask).bit_count(),
        units_per_mac=mean_units_per_mac(model, activations, weights, array, samples=samples, seed=seed),
        traffic=memory_traffic(problem, array, ifmap_words=ifmap_words(outcome.layer)),
    )
    return layer_energy(
        activity,
        model,
        vdd_v=vdd_v,
        f_clk_mhz=array.f_clk_mhz,
        power_gating=power_gating,
        clock_gating=clock_gating,
    )
