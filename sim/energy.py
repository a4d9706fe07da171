"""Energy of a layer on the array: the counts a simulation produces times per-PE energies.

:func:`layer_energy` turns a :class:`LayerActivity` (MACs, cycles with stalls and
corrections, PE-cycles of the PEs holding work, protected bits, detections, memory
traffic, switching activity per MAC, all for one batch of images sharing the weight
folds) into an :class:`EnergyBreakdown` per image whose components sum to the total,
each with the low/nominal/high band of the constants in :mod:`pe_models.energy`:

``mac_dynamic_pj``
    MACs x switched capacitance per MAC (toggle model on the layer's operands) x
    ``0.5 C_unit VDD**2``.
``register_clock_pj``
    Flip-flop clocks and register data transitions. **Clock gating** (the default): a PE
    is clocked in a fold only if its array row and its array column both hold work (the
    used ``rows_used x cols_used`` rectangle of the fold, so the partial folds at the
    array's edges clock only their used rows and columns), for the whole fold (fill and
    drain included); its stationary-operand register only during the fold's ``R`` load
    cycles; nothing during DRAM stalls. Without clock gating every flop of every PE is
    clocked every cycle. Plus every register output transition (:func:`pe_models.energy.register_toggles`).
``leakage_pj``
    Every powered PE for the whole latency: ``P_leak x powered_pes x cycles / f_clk``,
    times the leakage temperature factor; with power gating only the PEs holding work
    (mean over the folds) are powered.
``razor_overhead_pj``
    Per protected bit of every clocked PE-cycle: Razor flop minus plain flop; per transition
    of a protected bit (:class:`RegisterBitToggles`, the bit's own activity, over every MAC
    evaluated, replays included): Razor flop minus plain flop, and one output transition of
    each of the bit's hold-fix buffers (:attr:`LayerActivity.hold_buffer_toggles_per_mac`;
    without per-bit activity the buffers are charged per clocked PE-cycle at the assumed
    :data:`pe_models.energy.HOLD_BUFFER_ASSUMED_ACTIVITY`); plus the error-signal OR tree at
    every detection.
``correction_pj``
    The recovery: the clocked flops during the correction cycles and the replayed MACs.
``sram_pj``, ``dram_pj``
    Bytes moved times energy per byte (:class:`MemoryEnergy`: CACTI per buffer capacity, DRAM
    by type), the SRAM on its own supply (nominal by default).

The core is the first five, the memories the last two (:attr:`EnergyBreakdown.core_pj`).
The core's figures at the operating supply come from :meth:`PEEnergyModel.vdd_scales` (the
characterised library at that supply where the technology has one, else
:meth:`Technology.dynamic_energy_scale` and :meth:`Technology.leakage_power_scale`); the
SRAM scales with :meth:`Technology.dynamic_energy_scale` of its own supply.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from pe_models.energy import (
    Band,
    PEEnergyModel,
    leakage_temperature_factor,
    pe_energy_model,
    register_bit_toggles,
)
from pe_models.errors import ConfigError
from pe_models.memory_energy import DRAM_TYPES, SRAM_NODE_NM, SRAM_VDD_V, dram_pj_per_byte, sram_pj_per_byte
from pe_models.netlist import PRODUCT_BITS
from pe_models.pe import PEConfig
from pe_models.razor import mean_hold_buffers, razor_pe

from .config import ArrayConfig
from .cycles import LayerReport, fold_cycles, gemm_report
from .layers import GemmProblem
from .mapping import Mapping as FoldMapping
from .mapping import map_gemm
from .memory import ACCESS_COUNTS, MemoryReport, ifmap_words, layer_memory
from .protection import Protection

if TYPE_CHECKING:
    from .engine import GemmResult
    from .network import LayerOutcome

__all__ = [
    "COMPONENTS",
    "CORE_COMPONENTS",
    "EnergyBreakdown",
    "GatingOptions",
    "LayerActivity",
    "MacSwitching",
    "MemoryEnergy",
    "MemoryTraffic",
    "RegisterBitToggles",
    "activity_from_report",
    "activity_from_result",
    "batched_activity",
    "breakdown_columns",
    "consecutive_operands",
    "design_hold_buffer_counts",
    "design_hold_buffers",
    "error_free",
    "fold_pe_cycles",
    "gemm_energy",
    "iid_consecutive_operands",
    "iid_mac_switching",
    "layer_energy",
    "mac_switching",
    "mean_units_per_mac",
    "memory_energy",
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

CORE_COMPONENTS: tuple[str, ...] = COMPONENTS[:5]
"""The array's own energy (its voltage domain); the rest is the memories'."""


@dataclass(frozen=True, kw_only=True)
class GatingOptions:
    """Which idle parts of the array are switched off.

    Attributes
    ----------
    clock_gating : bool
        Clock only the PEs whose row and column hold work in a fold (and their stationary
        register only while it loads, nothing during DRAM stalls). Default True.
    power_gating : bool
        Power only the PEs holding work. Needs clock gating (a powered-down PE's clock is off).
    temperature_c : float
        Junction temperature for the leakage, 0..110 degC (default 27).
    """

    clock_gating: bool = True
    power_gating: bool = False
    temperature_c: float = 27.0

    def __post_init__(self) -> None:
        for name in ("clock_gating", "power_gating"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name}: expected true or false, got {getattr(self, name)!r}")
        if self.power_gating and not self.clock_gating:
            raise ConfigError(
                "power_gating: a power-gated PE is also clock-gated; allowed: power gating with clock gating, "
                "or neither"
            )
        leakage_temperature_factor(self.temperature_c)


@dataclass(frozen=True, kw_only=True)
class MemoryEnergy:
    """Energy per byte of the three SRAM buffers and of DRAM, and the memories' supply.

    Attributes
    ----------
    ifmap_pj_per_byte, filter_pj_per_byte, ofmap_pj_per_byte : Band
        SRAM dynamic energy per byte of each buffer at its capacity (read, mean, write), at
        the node and nominal supply.
    dram_pj_per_byte : Band
    dram : str
        DRAM type (:data:`pe_models.memory_energy.DRAM_TYPES`).
    memory_vdd_v : float or None
        SRAM supply (None: nominal).
    sources : str
    """

    ifmap_pj_per_byte: Band
    filter_pj_per_byte: Band
    ofmap_pj_per_byte: Band
    dram_pj_per_byte: Band
    dram: str = "lpddr4"
    memory_vdd_v: float | None = None
    sources: str = ""


def memory_energy(
    array: ArrayConfig,
    *,
    dram: str = "lpddr4",
    memory_vdd_v: float | None = None,
    node_nm: float = SRAM_NODE_NM,
    tech: object | None = None,
) -> MemoryEnergy:
    """The memory energies of `array`'s buffers (CACTI at their capacities) and a DRAM type.

    Parameters
    ----------
    array : ArrayConfig
        Its ``*_sram_kib`` pick the CACTI rows.
    dram : str
        ``lpddr4`` (default), ``ddr3`` or ``hbm2``.
    memory_vdd_v : float, optional
        SRAM supply in V, inside the technology's range (default nominal).
    node_nm : float
        Node the CACTI figures (32 nm) are moved to (:func:`pe_models.energy.node_energy_scale`).
    tech : Technology, optional
        Checks `memory_vdd_v` against its range.

    Raises
    ------
    ConfigError
        Unknown DRAM type, a buffer outside the CACTI table, a memory VDD outside the technology.
    """
    from pe_models.energy import node_energy_scale

    low, nominal, high = dram_pj_per_byte(dram)
    if memory_vdd_v is not None:
        if tech is None:
            raise ConfigError("memory_vdd_v: needs the technology to check its range")
        problem = tech._vdd_problem("memory_vdd_v", memory_vdd_v)  # type: ignore[attr-defined]
        if problem is not None:
            raise ConfigError(problem)
    scale = node_energy_scale(SRAM_NODE_NM, SRAM_VDD_V, node_nm, SRAM_VDD_V)

    def buffer(kib: int) -> Band:
        read, mean, write = sram_pj_per_byte(kib)
        return Band(read * scale.low, mean * scale.nominal, write * scale.high)

    return MemoryEnergy(
        ifmap_pj_per_byte=buffer(array.ifmap_sram_kib),
        filter_pj_per_byte=buffer(array.filter_sram_kib),
        ofmap_pj_per_byte=buffer(array.ofmap_sram_kib),
        dram_pj_per_byte=Band(low, nominal, high),
        dram=dram,
        memory_vdd_v=None if memory_vdd_v is None else float(memory_vdd_v),
        sources=f"SRAM: CACTI 7.0, 32 nm, 64-byte accesses, per buffer capacity; DRAM: {DRAM_TYPES[dram].source}",
    )


@dataclass(frozen=True, kw_only=True)
class MemoryTraffic:
    """Bytes moved between the array and its SRAM, and between SRAM and DRAM.

    Attributes
    ----------
    sram_read_bytes, sram_write_bytes, dram_read_bytes, dram_write_bytes : int
    by_operand : mapping of str to int
        Words per operand and direction, e.g. ``ifmap_sram_reads``.
    word_bytes : int
        Bytes per word of `by_operand`.
    """

    sram_read_bytes: int
    sram_write_bytes: int
    dram_read_bytes: int
    dram_write_bytes: int
    by_operand: Mapping[str, int] = field(default_factory=dict)
    word_bytes: int = 1

    def __post_init__(self) -> None:
        for name in ("sram_read_bytes", "sram_write_bytes", "dram_read_bytes", "dram_write_bytes"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < 0:
                raise ConfigError(f"MemoryTraffic.{name}: expected a non-negative integer, got {value!r}")
        object.__setattr__(self, "by_operand", MappingProxyType(dict(self.by_operand)))

    def sram_bytes(self, buffer: str) -> int:
        """Bytes read from and written to one buffer (``ifmap``, ``filter``, ``ofmap``)."""
        return self.word_bytes * (
            int(self.by_operand.get(f"{buffer}_sram_reads", 0)) + int(self.by_operand.get(f"{buffer}_sram_writes", 0))
        )

    def times(self, factor: int) -> MemoryTraffic:
        """The traffic repeated `factor` times."""
        return replace(
            self,
            sram_read_bytes=self.sram_read_bytes * factor,
            sram_write_bytes=self.sram_write_bytes * factor,
            dram_read_bytes=self.dram_read_bytes * factor,
            dram_write_bytes=self.dram_write_bytes * factor,
            by_operand={name: words * factor for name, words in self.by_operand.items()},
        )


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
        word_bytes=word,
    )


@dataclass(frozen=True)
class RegisterBitToggles:
    """Mean output transitions per MAC of each bit of the partial-sum and the product register.

    From the same sampled consecutive MACs as the register transitions
    (:func:`pe_models.energy.register_bit_toggles`); the protected bits' share is charged the
    Razor flip-flop's extra energy per transition.

    Attributes
    ----------
    sum_bits : tuple of float
        Bit i of the partial-sum register the PE passes on (one entry per accumulator bit),
        each in [0, 1].
    product_bits : tuple of float
        Bit i of the product register (16 entries; all 0 without one).
    """

    sum_bits: tuple[float, ...]
    product_bits: tuple[float, ...] = (0.0,) * PRODUCT_BITS

    def __post_init__(self) -> None:
        for name in ("sum_bits", "product_bits"):
            values = tuple(float(value) for value in getattr(self, name))
            if not all(math.isfinite(value) and 0.0 <= value <= 1.0 for value in values):
                raise ConfigError(f"RegisterBitToggles.{name}: expected transitions per MAC in [0, 1], got {values!r}")
            object.__setattr__(self, name, values)

    def buffer_transitions(self, hold_buffers: Sequence[float], product_hold_buffers: Sequence[float] = ()) -> float:
        """Mean output transitions per MAC of hold-fix buffers: ``hold_buffers[i]`` buffers on
        partial-sum bit ``i`` and ``product_hold_buffers[i]`` on product bit ``i`` (empty:
        none), each switching once per transition of its bit (a buffer chain passes its bit's
        D-net edges on; glitches are not counted, as for the bits themselves).

        Raises
        ------
        ConfigError
            More counts than the register's bits, or a negative count.
        """
        total = 0.0
        for name, counts, bits in (
            ("hold_buffers", tuple(hold_buffers), self.sum_bits),
            ("product_hold_buffers", tuple(product_hold_buffers), self.product_bits),
        ):
            if len(counts) > len(bits) or any(not math.isfinite(float(c)) or c < 0 for c in counts):
                raise ConfigError(
                    f"{name}: expected at most {len(bits)} buffer counts >= 0, one per register bit, got {counts!r}"
                )
            total += sum(float(count) * bits[bit] for bit, count in enumerate(counts))
        return total

    def protected(self, protected_mask: int = 0, product_mask: int = 0) -> float:
        """Mean transitions per MAC of the partial-sum bits of `protected_mask` plus the product
        register bits of `product_mask`.

        Raises
        ------
        ConfigError
            A mask bit beyond its register.
        """
        total = 0.0
        for name, mask, bits in (
            ("protected_mask", int(protected_mask), self.sum_bits),
            ("product_mask", int(product_mask), self.product_bits),
        ):
            if mask < 0 or mask >> len(bits):
                raise ConfigError(
                    f"{name}: bit {mask.bit_length() - 1} is outside the {len(bits)}-bit register; "
                    f"allowed: 0..{len(bits) - 1}"
                )
            total += sum(bits[bit] for bit in range(len(bits)) if (mask >> bit) & 1)
        return total


def _built_buffer_toggles(
    bit_toggles: RegisterBitToggles | None, hold_buffers: Sequence[int], product_hold_buffers: Sequence[int]
) -> float | None:
    """Hold-fix buffer transitions per MAC of the buffers a simulation built (None without per-bit activity)."""
    if bit_toggles is None:
        return None
    return bit_toggles.buffer_transitions(hold_buffers, product_hold_buffers)


def _protected_toggles(bit_toggles: RegisterBitToggles | None, protection: Protection | None) -> float:
    """Transitions per MAC of `protection`'s bits (0 without protection or per-bit activity)."""
    if protection is None or bit_toggles is None:
        return 0.0
    return bit_toggles.protected(protection.protected_mask, protection.product_mask)


@dataclass(frozen=True, kw_only=True)
class LayerActivity:
    """What one layer did on the array for one batch of images, as the energy model needs it.

    Attributes
    ----------
    name : str
    macs : int
        Multiply-accumulates evaluated (the whole batch).
    cycles : int
        Cycles the array is occupied (busy, stalls and corrections).
    correction_cycles : int
        Cycles spent recovering from detected errors.
    detections : int
        Detected (and replayed) MACs.
    pes : int
        PEs in the array.
    mapped_pe_fraction : float
        Mean fraction of PEs holding work over the folds, (0, 1] (power gating).
    protected_bits : int
        Protected accumulator bits per PE.
    units_per_mac : float
        Mean switched capacitance per MAC in unit-inverter capacitances (toggle model).
    register_toggles_per_mac : float
        Mean register output transitions per MAC.
    protected_toggles_per_mac : float
        Of these, the mean transitions per MAC of the protected bits (the Razor flip-flops'
        bits, :meth:`RegisterBitToggles.protected`), at most `protected_bits`.
    hold_buffer_toggles_per_mac : float, optional
        Mean output transitions per MAC of the protected bits' hold-fix buffers: each buffer of
        bit ``b`` switches with bit ``b`` (:meth:`RegisterBitToggles.buffer_transitions` of the
        buffers as built), charged over every MAC evaluated, replays included. None (no
        per-bit activity): the model's ``hold_buffers_per_bit`` per protected bit at the
        assumed activity per clocked PE-cycle (:data:`pe_models.energy.HOLD_BUFFER_ASSUMED_ACTIVITY`).
    traffic : MemoryTraffic
    batch : int
        Images sharing each weight fold (the counts are theirs together), >= 1.
    busy_cycles : int, optional
        Cycles the array computes (its folds); default ``cycles - correction_cycles``.
    active_pe_cycles : int, optional
        PE-cycles of the PEs holding work, over their folds' cycles (clock gating); default
        ``mapped_pe_fraction x pes x busy_cycles``.
    stationary_pe_cycles : int, optional
        PE-cycles the stationary register is clocked (its loads); default `active_pe_cycles`.
    recovery_flops_per_pe : float
        Flip-flops each PE adds for its recovery policy's buffering
        (:func:`sim.recovery.recovery_buffer_flops`), clocked with the Razor flops.
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
    register_toggles_per_mac: float = 0.0
    protected_toggles_per_mac: float = 0.0
    hold_buffer_toggles_per_mac: float | None = None
    traffic: MemoryTraffic
    batch: int = 1
    busy_cycles: int | None = None
    active_pe_cycles: int | None = None
    stationary_pe_cycles: int | None = None
    recovery_flops_per_pe: float = 0.0

    def __post_init__(self) -> None:
        for name in ("macs", "cycles", "correction_cycles", "detections", "pes", "protected_bits"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"LayerActivity.{name}: expected a non-negative integer, got {value!r}")
        if isinstance(self.batch, bool) or not isinstance(self.batch, int | np.integer) or self.batch < 1:
            raise ConfigError(f"batch: expected an integer >= 1, got {self.batch!r}")
        if self.correction_cycles > self.cycles:
            raise ConfigError(
                f"LayerActivity.correction_cycles: {self.correction_cycles} exceeds the layer's {self.cycles} cycles"
            )
        if not 0.0 < float(self.mapped_pe_fraction) <= 1.0:
            raise ConfigError(f"LayerActivity.mapped_pe_fraction: expected (0, 1], got {self.mapped_pe_fraction!r}")
        for name in ("units_per_mac", "register_toggles_per_mac", "protected_toggles_per_mac", "recovery_flops_per_pe"):
            value = getattr(self, name)
            if not math.isfinite(float(value)) or value < 0:
                raise ConfigError(f"LayerActivity.{name}: expected a finite number >= 0, got {value!r}")
        if self.hold_buffer_toggles_per_mac is not None and (
            not math.isfinite(float(self.hold_buffer_toggles_per_mac)) or self.hold_buffer_toggles_per_mac < 0
        ):
            raise ConfigError(
                f"LayerActivity.hold_buffer_toggles_per_mac: expected a finite number >= 0 or None, "
                f"got {self.hold_buffer_toggles_per_mac!r}"
            )
        if self.protected_toggles_per_mac > self.protected_bits:
            raise ConfigError(
                f"LayerActivity.protected_toggles_per_mac: {self.protected_toggles_per_mac!r} exceeds the "
                f"{self.protected_bits} protected bits (a bit changes at most once per MAC)"
            )
        if self.busy_cycles is None:
            object.__setattr__(self, "busy_cycles", int(self.cycles) - int(self.correction_cycles))
        if self.active_pe_cycles is None:
            active = round(float(self.mapped_pe_fraction) * int(self.pes) * int(self.busy_cycles or 0))
            object.__setattr__(self, "active_pe_cycles", active)
        if self.stationary_pe_cycles is None:
            object.__setattr__(self, "stationary_pe_cycles", self.active_pe_cycles)
        if int(self.busy_cycles or 0) + int(self.correction_cycles) > int(self.cycles):
            raise ConfigError(
                f"LayerActivity.busy_cycles: {self.busy_cycles} + corrections exceed the layer's {self.cycles} cycles"
            )

    @property
    def utilisation(self) -> float:
        """``macs / (pes x cycles)``: the array's utilisation over the layer's cycles."""
        return self.macs / (self.pes * max(1, self.cycles))


def fold_pe_cycles(mapping: FoldMapping) -> tuple[int, int, int]:
    """Busy cycles, active PE-cycles and stationary-register PE-cycles of a mapping.

    Every fold occupies the array for :func:`sim.cycles.fold_cycles`; its ``rows_used x
    cols_used`` PEs hold work during all of them (over the layer: ``groups x S_r x S_c``
    PE-folds); the stationary register of such a PE loads during ``R`` of them (ws and is;
    in os both operands stream, so it is clocked like the rest).

    Returns
    -------
    (busy_cycles, active_pe_cycles, stationary_pe_cycles) : tuple of int
    """
    per_fold = fold_cycles(rows=mapping.rows, cols=mapping.cols, temporal=mapping.temporal, dataflow=mapping.dataflow)
    pe_folds = mapping.problem.groups * mapping.spatial_rows * mapping.spatial_cols
    stationary = pe_folds * (per_fold if mapping.dataflow == "os" else mapping.rows)
    return mapping.folds * per_fold, pe_folds * per_fold, stationary


def batched_activity(
    name: str,
    problem: GemmProblem,
    array: ArrayConfig,
    *,
    units_per_mac: float,
    register_toggles_per_mac: float = 0.0,
    batch: int = 1,
    ifmap_words: int | None = None,
    protection: Protection | None = None,
    bit_toggles: RegisterBitToggles | None = None,
    hold_buffer_toggles_per_mac: float | None = None,
) -> LayerActivity:
    """Closed-form activity of one layer for a batch of images sharing its weight folds.

    The batch's rows are streamed through every fold together: the GEMM of one image (per
    group) with ``M`` times `batch` (``ifmap_words`` times `batch`), its SCALE-Sim fold cycles
    plus the memory stalls of :func:`sim.memory.layer_memory`, no timing errors.

    Parameters
    ----------
    name : str
    problem : GemmProblem
        One image's GEMM (``groups`` GEMMs of ``m x k`` by ``k x n``).
    array : ArrayConfig
    units_per_mac, register_toggles_per_mac : float
        Switching activity per MAC (:func:`mac_switching`).
    batch : int
        Images sharing each weight fold, >= 1.
    ifmap_words : int, optional
        Distinct input words per group of one image (:func:`sim.memory.ifmap_words`).
    protection : Protection, optional
    bit_toggles : RegisterBitToggles, optional
        Per-bit activity (:attr:`MacSwitching.bit_toggles`): the protected bits' transitions
        (default: none counted).
    hold_buffer_toggles_per_mac : float, optional
        The protected bits' hold-fix buffer transitions per MAC
        (:attr:`LayerActivity.hold_buffer_toggles_per_mac`; default None: the assumed activity).
    """
    if isinstance(batch, bool) or not isinstance(batch, int | np.integer) or batch < 1:
        raise ConfigError(f"batch: expected an integer >= 1, got {batch!r}")
    batched = GemmProblem(m=problem.m * batch, n=problem.n, k=problem.k, groups=problem.groups)
    words = None if ifmap_words is None else ifmap_words * batch
    report = gemm_report(name, batched, array, ifmap_words=words)
    mapping = map_gemm(batched, array)
    busy, active, stationary = fold_pe_cycles(mapping)
    return LayerActivity(
        name=name,
        macs=batched.macs,
        cycles=busy + report.stall_cycles,
        pes=array.mac_units,
        mapped_pe_fraction=mapping.mapping_efficiency,
        protected_bits=0 if protection is None else protection.razor_flops,
        units_per_mac=units_per_mac,
        register_toggles_per_mac=register_toggles_per_mac,
        protected_toggles_per_mac=_protected_toggles(bit_toggles, protection),
        hold_buffer_toggles_per_mac=hold_buffer_toggles_per_mac,
        traffic=memory_traffic(batched, array, report=report.memory),
        batch=int(batch),
        busy_cycles=busy,
        active_pe_cycles=active,
        stationary_pe_cycles=stationary,
    )


def activity_from_report(
    report: LayerReport,
    problem: GemmProblem,
    array: ArrayConfig,
    *,
    units_per_mac: float,
    register_toggles_per_mac: float = 0.0,
    protection: Protection | None = None,
    bit_toggles: RegisterBitToggles | None = None,
    hold_buffer_toggles_per_mac: float | None = None,
) -> LayerActivity:
    """Activity of a layer from the closed-form cycle counts (no timing errors, batch 1); `bit_toggles`
    and `hold_buffer_toggles_per_mac` as :func:`batched_activity`."""
    busy, active, stationary = fold_pe_cycles(map_gemm(problem, array))
    return LayerActivity(
        name=report.name,
        macs=report.macs,
        cycles=busy + report.stall_cycles,
        pes=array.mac_units,
        mapped_pe_fraction=report.mapping_efficiency,
        protected_bits=0 if protection is None else protection.razor_flops,
        units_per_mac=units_per_mac,
        register_toggles_per_mac=register_toggles_per_mac,
        protected_toggles_per_mac=_protected_toggles(bit_toggles, protection),
        hold_buffer_toggles_per_mac=hold_buffer_toggles_per_mac,
        traffic=memory_traffic(problem, array, report=report.memory),
        busy_cycles=busy,
        active_pe_cycles=active,
        stationary_pe_cycles=stationary,
    )


def activity_from_result(
    name: str,
    result: GemmResult,
    problem: GemmProblem,
    array: ArrayConfig,
    *,
    units_per_mac: float,
    register_toggles_per_mac: float = 0.0,
    protection: Protection | None = None,
    ifmap_words: int | None = None,
    bit_toggles: RegisterBitToggles | None = None,
    hold_buffer_toggles_per_mac: float | None = None,
) -> LayerActivity:
    """Activity of a layer the array simulator ran (:mod:`sim.engine`).

    Its cycles are the engine's count plus one (the engine keeps SCALE-Sim's convention of
    the last cycle's index). `ifmap_words`: distinct input words per group
    (:func:`sim.memory.ifmap_words`), default ``M K``; `bit_toggles` and
    `hold_buffer_toggles_per_mac` as :func:`batched_activity` (the buffers the simulator
    built: ``result.hold_buffers`` and ``result.product_hold_buffers``).
    """
    mapping = map_gemm(problem, array)
    busy, active, stationary = fold_pe_cycles(mapping)
    return LayerActivity(
        name=name,
        macs=result.macs,
        cycles=result.cycles + 1,
        correction_cycles=result.correction_cycles,
        detections=result.detections,
        pes=array.mac_units,
        mapped_pe_fraction=mapping.mapping_efficiency,
        protected_bits=0 if protection is None else protection.razor_flops,
        units_per_mac=units_per_mac,
        register_toggles_per_mac=register_toggles_per_mac,
        protected_toggles_per_mac=_protected_toggles(bit_toggles, protection),
        hold_buffer_toggles_per_mac=hold_buffer_toggles_per_mac,
        traffic=memory_traffic(problem, array, ifmap_words=ifmap_words),
        busy_cycles=busy,
        active_pe_cycles=active,
        stationary_pe_cycles=stationary,
        recovery_flops_per_pe=result.recovery_flops_per_pe if protection is not None else 0.0,
    )


def error_free(activity: LayerActivity) -> LayerActivity:
    """The same layer without protection, detections or recovery (the DVFS baseline's work)."""
    return replace(
        activity,
        cycles=int(activity.cycles) - int(activity.correction_cycles),
        correction_cycles=0,
        detections=0,
        protected_bits=0,
        protected_toggles_per_mac=0.0,
        hold_buffer_toggles_per_mac=None,
        recovery_flops_per_pe=0.0,
    )


def _sample_positions(
    shape: tuple[int, int, int, int], array: ArrayConfig, samples: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int]:
    """MAC positions ``g, m, k, n`` drawn uniformly, the first K index ``k0`` of each one's fold,
    the fold depth and the streamed length (see :func:`consecutive_operands`)."""
    groups, m_size, k_size, n_size = shape
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
    return g, m, k, n, k0, depth, streamed


def _mac_pairs(
    dataflow: str,
    streamed: int,
    k: np.ndarray,
    k0: np.ndarray,
    depth: int,
    a_row: Callable[[int], np.ndarray],
    b_column: Callable[[int], np.ndarray],
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(previous, current) operands from windows of the fold: ``a_row(d)`` is each sample's row
    of A at m - d (``d`` 0 or 1) over K indices ``k0 .. k0 + depth - 1``, ``b_column(d)`` its
    column of B at n - d; both int64, shape (samples, depth). Partial sums add the indices
    below ``k``."""
    lanes = np.arange(len(k))
    position = k - k0
    valid = np.arange(depth)[None, :] < position[:, None]

    def partial_sum(row: np.ndarray, column: np.ndarray) -> np.ndarray:
        return np.einsum("ij,ij->i", row, np.where(valid, column, 0))

    row, column = a_row(0), b_column(0)
    new = {"a": row[lanes, position], "b": column[lanes, position], "c": partial_sum(row, column)}
    if streamed < 2:
        old = {key: np.zeros_like(values) for key, values in new.items()}
    elif dataflow == "ws":
        previous_row = a_row(1)
        old = {"a": previous_row[lanes, position], "b": new["b"], "c": partial_sum(previous_row, column)}
    elif dataflow == "is":
        previous_column = b_column(1)
        old = {"a": new["a"], "b": previous_column[lanes, position], "c": partial_sum(row, previous_column)}
    else:
        a_prev, b_prev = row[lanes, position - 1], column[lanes, position - 1]
        old = {"a": a_prev, "b": b_prev, "c": new["c"] - a_prev * b_prev}
    return old, new


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
    g, m, k, n, k0, depth, streamed = _sample_positions((groups, m_size, k_size, n_size), array, samples, rng)
    depth = min(depth, k_size)  # a fold deeper than K reads no further K index
    index = np.minimum(k0[:, None] + np.arange(depth)[None, :], k_size - 1)
    a_flat = a_all.reshape(-1)
    b_flat = np.ascontiguousarray(b_all.transpose(0, 2, 1)).reshape(-1)

    def a_row(back: int) -> np.ndarray:
        return np.take(a_flat, ((g * m_size + m - back) * k_size)[:, None] + index).astype(np.int64)

    def b_column(back: int) -> np.ndarray:
        return np.take(b_flat, ((g * n_size + n - back) * k_size)[:, None] + index).astype(np.int64)

    return _mac_pairs(array.dataflow, streamed, k, k0, depth, a_row, b_column)


def iid_consecutive_operands(
    problem: GemmProblem,
    array: ArrayConfig,
    *,
    draw_activations: Callable[[np.random.Generator, tuple[int, ...]], np.ndarray],
    draw_weights: Callable[[np.random.Generator, tuple[int, ...]], np.ndarray],
    samples: int = 2048,
    seed: int | np.random.SeedSequence = 0,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """:func:`consecutive_operands` of a GEMM whose operands are independent draws, without the matrices.

    When every element of A and of B is drawn independently from one distribution, the
    operands a sampled MAC sees are the fold windows it reads, drawn afresh: the sample
    positions are drawn as :func:`consecutive_operands` draws them, then each sample's rows
    of A and columns of B over its fold (``array.rows`` values, all of K for os) from
    `draw_activations` / `draw_weights` (``(rng, shape) -> int8 array``), a window shared
    where the dataflow shares it (ws: the weight column; is: the activation row). The
    pairs have the distribution they have in any matrix so drawn, at a cost of samples x
    fold depth values instead of M x K + K x N.

    Returns
    -------
    (old, new) : dicts of ``a``, ``b``, ``c`` int64 arrays of shape (samples,)
    """
    rng = np.random.default_rng(seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed))
    shape = (problem.groups, problem.m, problem.k, problem.n)
    _, _, k, _, k0, depth, streamed = _sample_positions(shape, array, samples, rng)
    window = (len(k), depth)
    rows = [draw_activations(rng, window).astype(np.int64)]
    columns = [draw_weights(rng, window).astype(np.int64)]
    if streamed > 1 and array.dataflow == "ws":
        rows.append(draw_activations(rng, window).astype(np.int64))
    if streamed > 1 and array.dataflow == "is":
        columns.append(draw_weights(rng, window).astype(np.int64))
    return _mac_pairs(array.dataflow, streamed, k, k0, depth, rows.__getitem__, columns.__getitem__)


@dataclass(frozen=True)
class MacSwitching:
    """Mean switching activity per MAC of a layer: datapath capacitance units, register
    transitions, and the transitions of each partial-sum and product register bit."""

    units_per_mac: float
    register_toggles_per_mac: float
    bit_toggles: RegisterBitToggles | None = None


def mac_switching(
    model: PEEnergyModel,
    activations: np.ndarray,
    weights: np.ndarray,
    array: ArrayConfig,
    *,
    samples: int = 2048,
    seed: int | np.random.SeedSequence = 0,
) -> MacSwitching:
    """Mean datapath switched capacitance and register transitions per MAC of a GEMM on the
    array (toggle model and Hamming distances of sampled consecutive MACs)."""
    return _switching(model, *consecutive_operands(activations, weights, array, samples=samples, seed=seed))


def iid_mac_switching(
    model: PEEnergyModel,
    problem: GemmProblem,
    array: ArrayConfig,
    *,
    draw_activations: Callable[[np.random.Generator, tuple[int, ...]], np.ndarray],
    draw_weights: Callable[[np.random.Generator, tuple[int, ...]], np.ndarray],
    samples: int = 2048,
    seed: int | np.random.SeedSequence = 0,
) -> MacSwitching:
    """:func:`mac_switching` of a GEMM whose operand elements are independent draws
    (:func:`iid_consecutive_operands`: no matrix is built)."""
    pairs = iid_consecutive_operands(
        problem, array, draw_activations=draw_activations, draw_weights=draw_weights, samples=samples, seed=seed
    )
    return _switching(model, *pairs)


def _switching(model: PEEnergyModel, old: Mapping[str, np.ndarray], new: Mapping[str, np.ndarray]) -> MacSwitching:
    sum_bits, product_bits = register_bit_toggles(model.pe, old, new)
    return MacSwitching(
        units_per_mac=float(model.mac_units(old, new).mean()),
        register_toggles_per_mac=float(model.register_toggles(old, new).mean()),
        bit_toggles=RegisterBitToggles(
            sum_bits=tuple(sum_bits.mean(axis=0).tolist()), product_bits=tuple(product_bits.mean(axis=0).tolist())
        ),
    )


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
    return mac_switching(model, activations, weights, array, samples=samples, seed=seed).units_per_mac


@dataclass(frozen=True, kw_only=True)
class EnergyBreakdown:
    """Energy per image of a layer (or of several layers summed), by component, in pJ.

    Attributes
    ----------
    name : str
    vdd_v, f_clk_mhz : float
    cycles : int
        Cycles the array is occupied by the batch.
    latency_us : float
        ``cycles / f_clk_mhz``: the batch's latency.
    macs : int
        MACs per image.
    batch : int
        Images sharing each weight fold.
    pes : int
        PEs in the array.
    active_pe_cycles : int
        PE-cycles of the PEs holding work (the batch's).
    mac_dynamic_pj, register_clock_pj, leakage_pj, razor_overhead_pj, correction_pj, sram_pj, dram_pj : Band
        Per image.
    """

    name: str
    vdd_v: float
    f_clk_mhz: float
    cycles: int
    latency_us: float
    macs: int
    batch: int = 1
    pes: int = 1
    active_pe_cycles: int = 0
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

    @property
    def core_pj(self) -> Band:
        """The array's energy: :data:`CORE_COMPONENTS` summed."""
        total = Band.exact(0.0)
        for name in CORE_COMPONENTS:
            total = total + getattr(self, name)
        return total

    @property
    def cycles_per_image(self) -> float:
        """``cycles / batch``."""
        return self.cycles / self.batch

    @property
    def utilisation(self) -> float:
        """``macs x batch / (pes x cycles)``: fraction of PE-cycles doing a MAC."""
        return self.macs * self.batch / (self.pes * max(1, self.cycles))

    @property
    def mapped_fraction(self) -> float:
        """Active PE-cycles over all PE-cycles of the batch."""
        return self.active_pe_cycles / (self.pes * max(1, self.cycles))

    def components(self) -> dict[str, Band]:
        """Component name -> band, in :data:`COMPONENTS` order."""
        return {name: getattr(self, name) for name in COMPONENTS}


def layer_energy(
    activity: LayerActivity,
    model: PEEnergyModel,
    *,
    vdd_v: float,
    f_clk_mhz: float,
    memory: MemoryEnergy | None = None,
    gating: GatingOptions | None = None,
    memory_vdd_v: float | None = None,
    power_gating: bool | None = None,
    clock_gating: bool | None = None,
) -> EnergyBreakdown:
    """Energy breakdown per image of one layer at a supply voltage and clock.

    Parameters
    ----------
    activity : LayerActivity
        The batch's counts (divided by ``activity.batch`` here).
    model : PEEnergyModel
        Per-PE energies at the technology's nominal supply.
    vdd_v : float
        Array (core) supply in V.
    f_clk_mhz : float
        Clock in MHz (converts cycles to time for leakage).
    memory : MemoryEnergy, optional
        SRAM and DRAM energies (default :func:`memory_energy` of a 256x256 array's default
        buffers: 6144, 6144, 2048 KiB, LPDDR4). Its ``memory_vdd_v`` scales the SRAM.
    gating : GatingOptions, optional
        Default: clock gating on, power gating off, 27 degC.
    memory_vdd_v, power_gating, clock_gating
        Shorthands overriding `memory` and `gating`.

    Raises
    ------
    ConfigError
        VDD outside the technology's range, a clock that is not positive, contradictory gating.
    """
    tech = model.pe.tech
    gating = gating or GatingOptions()
    if power_gating is not None or clock_gating is not None:
        gating = replace(
            gating,
            clock_gating=gating.clock_gating if clock_gating is None else clock_gating,
            power_gating=gating.power_gating if power_gating is None else power_gating,
        )
    if memory is None:
        memory = _default_memory(model.node_nm)
    if memory_vdd_v is not None:
        memory = replace(memory, memory_vdd_v=float(memory_vdd_v))
    scales = model.vdd_scales(vdd_v)
    leakage = scales.leakage * leakage_temperature_factor(gating.temperature_c)
    memory_scale = 1.0 if memory.memory_vdd_v is None else tech.dynamic_energy_scale(memory.memory_vdd_v)
    if not isinstance(f_clk_mhz, int | float) or not math.isfinite(f_clk_mhz) or f_clk_mhz <= 0:
        raise ConfigError(f"f_clk_mhz: expected a positive number of MHz, got {f_clk_mhz!r}")
    share = 1.0 / activity.batch
    cycles = int(activity.cycles)
    correction = int(activity.correction_cycles)
    latency_us = cycles / float(f_clk_mhz)
    active = float(activity.active_pe_cycles or 0)
    stationary = float(activity.stationary_pe_cycles or 0)
    busy = max(1, int(activity.busy_cycles or 0))
    active_share = min(1.0, active / (activity.pes * busy))
    if gating.clock_gating:
        flop_cycles = active * (model.flops - model.stationary_flops) + stationary * model.stationary_flops
        correction_pe_cycles = active_share * activity.pes * correction
        razor_pe_cycles = active + correction_pe_cycles
    else:
        flop_cycles = float(activity.pes) * (cycles - correction) * model.flops
        correction_pe_cycles = float(activity.pes) * correction
        razor_pe_cycles = float(activity.pes) * cycles
    mac = model.switching_pj(activity.units_per_mac) * scales.datapath
    register_data = model.flop_data_pj * (activity.register_toggles_per_mac * scales.flop_data)
    powered = activity.pes * (active_share if gating.power_gating else 1.0)
    razor = Band.exact(0.0)
    if activity.protected_bits:
        evaluated_macs = activity.macs + activity.detections
        per_bit_cycle = model.razor_extra_pj * scales.razor_extra
        if activity.hold_buffer_toggles_per_mac is None:
            per_bit_cycle = per_bit_cycle + model.hold_buffer_pj * (model.hold_buffers_per_bit * scales.hold_buffer)
            hold_buffers = Band.exact(0.0)
        else:
            hold_buffers = model.hold_buffer_transition_pj * (
                activity.hold_buffer_toggles_per_mac * evaluated_macs * scales.hold_buffer
            )
        levels = math.ceil(math.log2(max(2, activity.protected_bits * activity.pes)))
        razor = (
            per_bit_cycle * (activity.protected_bits * razor_pe_cycles)
            + hold_buffers
            + model.razor_transition_pj
            * (activity.protected_toggles_per_mac * evaluated_macs * scales.razor_transition)
            + model.error_network_pj * (activity.detections * levels * scales.error_network)
            + model.flop_clock_pj * (activity.recovery_flops_per_pe * razor_pe_cycles * scales.flop_clock)
            + model.razor_extra_leakage_uw
            * (
                activity.protected_bits
                * powered
                * latency_us
                * scales.razor_leakage
                * leakage_temperature_factor(gating.temperature_c)
            )
        )
    traffic = activity.traffic
    if traffic.by_operand:
        sram = (
            memory.ifmap_pj_per_byte * traffic.sram_bytes("ifmap")
            + memory.filter_pj_per_byte * traffic.sram_bytes("filter")
            + memory.ofmap_pj_per_byte * traffic.sram_bytes("ofmap")
        )
    else:
        sram = memory.ifmap_pj_per_byte * (traffic.sram_read_bytes + traffic.sram_write_bytes)
    return EnergyBreakdown(
        name=activity.name,
        vdd_v=float(vdd_v),
        f_clk_mhz=float(f_clk_mhz),
        cycles=cycles,
        latency_us=latency_us,
        macs=round(activity.macs * share),
        batch=int(activity.batch),
        pes=int(activity.pes),
        active_pe_cycles=round(active),
        mac_dynamic_pj=mac * (activity.macs * share),
        register_clock_pj=(model.flop_clock_pj * (flop_cycles * scales.flop_clock) + register_data * activity.macs)
        * share,
        leakage_pj=model.leakage_uw * (powered * latency_us * leakage * share),
        razor_overhead_pj=razor * share,
        correction_pj=(
            model.flop_clock_pj * (correction_pe_cycles * model.flops * scales.flop_clock)
            + (mac + register_data) * activity.detections
        )
        * share,
        sram_pj=sram * (memory_scale * share),
        dram_pj=memory.dram_pj_per_byte * ((traffic.dram_read_bytes + traffic.dram_write_bytes) * share),
    )


def _default_memory(node_nm: float) -> MemoryEnergy:
    return memory_energy(ArrayConfig(rows=256, cols=256), node_nm=node_nm)


def total_energy(breakdowns: Iterable[EnergyBreakdown], *, name: str = "total") -> EnergyBreakdown:
    """Sum of layer breakdowns run back to back (one inference; all of one batch)."""
    items = list(breakdowns)
    if not items:
        raise ConfigError("layers: expected at least one layer breakdown")
    if len({item.batch for item in items}) != 1:
        raise ConfigError("batch: the layers of one inference must share one batch")
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
        batch=items[0].batch,
        pes=items[0].pes,
        active_pe_cycles=sum(item.active_pe_cycles for item in items),
        **sums,
    )


def design_hold_buffers(
    pe: PEConfig, f_clk_mhz: float, protected_mask: int, window_ps: float | None = None, product_mask: int = 0
) -> float:
    """Hold-fix buffers per protected bit, as fixed at design time.

    The mean over the protected bits of the accumulator and of the product register
    (`product_mask`) of their hold buffers (:func:`pe_models.razor.razor_pe`) at the
    technology's nominal VDD and the clock `f_clk_mhz`, for `window_ps` (default: the
    largest feasible window of these bits); 0 without protected bits.
    """
    if not protected_mask and not product_mask:
        return 0.0
    built = razor_pe(
        pe, f_clk_mhz=f_clk_mhz, protected_mask=protected_mask, window_ps=window_ps, product_mask=product_mask
    )
    return mean_hold_buffers(built, protected_mask, product_mask)


def design_hold_buffer_counts(
    pe: PEConfig, f_clk_mhz: float, protected_mask: int, window_ps: float | None = None, product_mask: int = 0
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Hold-fix buffers of each bit, as fixed at design time (those :func:`design_hold_buffers` averages).

    Returns
    -------
    (accumulator, product) : tuples of int
        Buffers per partial-sum bit (``pe.width`` entries) and per product register bit (16
        entries); 0 on a bit without a Razor flip-flop, and empty for a register without
        protected bits (the PE as built, :attr:`pe_models.pe.PEConfig.hold_buffers`).
    """
    if not protected_mask and not product_mask:
        return (), ()
    built = razor_pe(
        pe, f_clk_mhz=f_clk_mhz, protected_mask=protected_mask, window_ps=window_ps, product_mask=product_mask
    )
    return tuple(built.hold_buffers), tuple(built.product_hold_buffers)


def breakdown_columns(breakdown: EnergyBreakdown) -> dict[str, float]:
    """The columns a result table shows for a breakdown: every component at the nominal
    constants, ``total_pj`` with its band ``total_low_pj``, ``total_high_pj``, ``core_pj``,
    ``utilisation_pct`` and ``batch``."""
    columns: dict[str, float] = {name: band.nominal for name, band in breakdown.components().items()}
    total = breakdown.total_pj
    columns.update(
        {
            "total_pj": total.nominal,
            "total_low_pj": total.low,
            "total_high_pj": total.high,
            "core_pj": breakdown.core_pj.nominal,
            "utilisation_pct": 100.0 * breakdown.utilisation,
            "batch": breakdown.batch,
        }
    )
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
    gating: GatingOptions | None = None,
    memory: MemoryEnergy | None = None,
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
        As given to the simulator; its bits get the hold-fix buffers and its policy the buffering
        the simulator built (``result.hold_buffers_per_bit``, ``result.recovery_flops_per_pe``),
        each bit's buffers switching with that bit (``result.hold_buffers``,
        ``result.product_hold_buffers``).
    name, samples, seed
        Layer name, MACs sampled for the switching activity, its seed.
    gating, memory
        As :func:`layer_energy` (default: clock gating; the array's buffers, LPDDR4).

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
    model = replace(pe_energy_model(pe), hold_buffers_per_bit=result.hold_buffers_per_bit)
    switching = mac_switching(model, a, w, array, samples=samples, seed=seed)
    activity = activity_from_result(
        name,
        result,
        problem,
        array,
        units_per_mac=switching.units_per_mac,
        register_toggles_per_mac=switching.register_toggles_per_mac,
        protection=protection,
        bit_toggles=switching.bit_toggles,
        hold_buffer_toggles_per_mac=_built_buffer_toggles(
            switching.bit_toggles, result.hold_buffers, result.product_hold_buffers
        ),
    )
    memory = memory or memory_energy(array, node_nm=model.node_nm)
    return layer_energy(activity, model, vdd_v=vdd_v, f_clk_mhz=array.f_clk_mhz, gating=gating, memory=memory)


def outcome_energy(
    outcome: LayerOutcome,
    *,
    array: ArrayConfig,
    pe: PEConfig,
    vdd_v: float,
    seed: int = 0,
    operands: tuple[np.ndarray, np.ndarray] | None = None,
    samples: int = 2048,
    gating: GatingOptions | None = None,
    memory: MemoryEnergy | None = None,
) -> EnergyBreakdown:
    """Energy breakdown of one layer :func:`sim.network.simulate_layers` ran.

    The switching activity is taken from the operands the simulation used: `operands`
    when they were supplied, else the seeded operands ``simulate_layers`` drew for this
    layer (``layer_operands`` with ``SeedSequence(seed, spawn_key=(0, outcome.index))``).
    Protected bits are the outcome's ``protected_mask``, with the hold-fix buffers and the
    recovery buffering the simulator built (``outcome.hold_buffers_per_bit``,
    ``outcome.recovery_flops_per_pe``; each bit's buffers, ``outcome.hold_buffers`` and
    ``outcome.product_hold_buffers``, switching with that bit).

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
    samples, gating, memory
        As :func:`mac_switching` and :func:`layer_energy`.

    Returns
    -------
    EnergyBreakdown
        :func:`breakdown_columns` gives the table columns.
    """
    if operands is not None:
        activations, weights = np.asarray(operands[0])[None], np.asarray(operands[1])[None]
    else:
        from .network import layer_operands

        activations, weights = layer_operands(
            outcome.layer, np.random.SeedSequence(np.random.SeedSequence(seed).entropy, spawn_key=(0, outcome.index))
        )
    problem = GemmProblem(
        m=activations.shape[1], n=weights.shape[2], k=activations.shape[2], groups=activations.shape[0]
    )
    model = replace(pe_energy_model(pe), hold_buffers_per_bit=outcome.hold_buffers_per_bit)
    switching = mac_switching(model, activations, weights, array, samples=samples, seed=seed)
    mapping = map_gemm(problem, array)
    busy, active, stationary = fold_pe_cycles(mapping)
    activity = LayerActivity(
        name=outcome.layer.name,
        macs=outcome.macs,
        cycles=outcome.cycles + 1,
        correction_cycles=outcome.correction_cycles,
        detections=outcome.detections,
        pes=array.mac_units,
        mapped_pe_fraction=mapping.mapping_efficiency,
        protected_bits=int(outcome.protected_mask).bit_count() + int(outcome.product_mask).bit_count(),
        units_per_mac=switching.units_per_mac,
        register_toggles_per_mac=switching.register_toggles_per_mac,
        protected_toggles_per_mac=(
            switching.bit_toggles.protected(int(outcome.protected_mask), int(outcome.product_mask))
            if switching.bit_toggles is not None
            else 0.0
        ),
        hold_buffer_toggles_per_mac=_built_buffer_toggles(
            switching.bit_toggles, outcome.hold_buffers, outcome.product_hold_buffers
        ),
        traffic=memory_traffic(problem, array, ifmap_words=ifmap_words(outcome.layer)),
        busy_cycles=min(busy, outcome.cycles + 1 - outcome.correction_cycles),
        active_pe_cycles=active,
        stationary_pe_cycles=stationary,
        recovery_flops_per_pe=(
            outcome.recovery_flops_per_pe if outcome.protected_mask or outcome.product_mask else 0.0
        ),
    )
    memory = memory or memory_energy(array, node_nm=model.node_nm)
    return layer_energy(activity, model, vdd_v=vdd_v, f_clk_mhz=array.f_clk_mhz, gating=gating, memory=memory)
