"""PE configuration, operating point and the integer-femtosecond timing they imply."""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

import numpy as np

from pe_models.arcs import InstanceArcs, StageArcs, instance_arcs, latest_arrival_fs
from pe_models.cells import (
    CELL_TYPES,
    FLIP_FLOP,
    MAX_PINS,
    CellLibrary,
    CharacterisedLibrary,
    DelaySource,
    LibraryDelays,
    ReasonedDelays,
    ScaledDelays,
    get_cell_library,
)
from pe_models.errors import ConfigError
from pe_models.liberty import REASONED_DELAYS_PS, REASONED_SETUP_PS
from pe_models.netlist import PRODUCT_BITS, Netlist, check_pe_build, pe_stages
from pe_models.technology import DEFAULT_TECHNOLOGY, TechnologyModel, resolve_technology

__all__ = [
    "OWN_NOMINAL_DELAYS",
    "OperatingPoint",
    "PEConfig",
    "StageTiming",
    "cell_library",
    "critical_path_ps",
    "delay_source",
    "max_error_free_f_clk_mhz",
    "slack_ratio",
    "stage_arcs",
    "stage_timing",
]


OWN_NOMINAL_DELAYS: frozenset[str] = frozenset({"finfet-7nm"})
"""Formula presets whose PE uses their own nominal cell delays and setup
(:data:`pe_models.liberty.REASONED_DELAYS_PS`, ``REASONED_SETUP_PS``) instead of the cell
library's 28 nm-class ones; the others scale the cell library's delays."""


@dataclass(frozen=True, kw_only=True)
class PEConfig:
    """What a PE is made of.

    Parameters
    ----------
    cells : str
        Cell library, ``"compound"`` (XOR3/MAJ3 full adders, default) or ``"2in"``.
    cell_delays_ps : mapping of str to float, optional
        Per-cell-type delay overrides in ps at nominal VDD.
    adder : str
        Accumulator adder, ``"rca"`` (ripple-carry, default) or ``"ks"`` (Kogge-Stone).
    pipeline : str
        ``"registered"`` (product registered, multiplier and adder timed separately,
        default) or ``"fused"`` (multiply and add in one cycle).
    width : int
        Accumulator width in bits (16..62, default 32).
    technology : str, Technology or TabulatedTechnology
        Technology preset name, or a technology object (a user's fit or table), for the
        voltage scaling of delays.
    hold_buffers : tuple of int
        Hold-fix BUF cells between each accumulator output bit (index 0 = LSB) and its
        flip-flop, one count per bit, or empty for none (:func:`pe_models.razor.razor_pe`
        fills it for the Razor-protected bits; the buffers are cells of the timed output
        stage).
    product_hold_buffers : tuple of int
        Hold-fix BUF cells between each product bit (index 0 = LSB) of the registered
        multiplier stage and the product register, 16 counts, or empty for none
        (:func:`pe_models.razor.razor_pe` fills it for the Razor-protected product bits).
    """

    cells: str = "compound"
    cell_delays_ps: Mapping[str, float] | None = None
    adder: str = "rca"
    pipeline: str = "registered"
    width: int = 32
    technology: str | TechnologyModel = DEFAULT_TECHNOLOGY
    hold_buffers: tuple[int, ...] = ()
    product_hold_buffers: tuple[int, ...] = ()
    library: CellLibrary = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        library = get_cell_library(self.cells)
        technology_name = getattr(resolve_technology(self.technology), "name", None)
        if technology_name in OWN_NOMINAL_DELAYS:
            delays = REASONED_DELAYS_PS[technology_name]
            library = dataclasses.replace(
                library.with_delays({kind: delays[kind] for kind in library.delays_ps}),
                t_setup_ps=REASONED_SETUP_PS[technology_name],
            )
        if self.cell_delays_ps:
            library = library.with_delays(dict(self.cell_delays_ps))
            object.__setattr__(self, "cell_delays_ps", MappingProxyType(dict(self.cell_delays_ps)))
        object.__setattr__(self, "library", library)
        check_pe_build(adder=self.adder, width=self.width, pipeline=self.pipeline)
        technology = resolve_technology(self.technology)
        if self.cell_delays_ps and isinstance(getattr(technology, "cell_library", None), CharacterisedLibrary):
            raise ConfigError(
                f"cell_delays_ps: technology {technology.name!r} is a characterised cell library; "
                "its delays cannot be overridden per cell type"
            )
        for name, bits, where, allowed in (
            ("hold_buffers", self.width, "accumulator bit", True),
            (
                "product_hold_buffers",
                PRODUCT_BITS,
                "product bit of the registered pipeline",
                self.pipeline == "registered",
            ),
        ):
            object.__setattr__(self, name, _buffer_counts(name, getattr(self, name), bits, where, allowed))
        characterised = getattr(technology, "cell_library", None)
        if isinstance(characterised, CharacterisedLibrary) and hasattr(characterised, "require"):
            kinds = {cell.kind for netlist in self.stages.values() for cell in netlist.cells}
            characterised.require([kind for kind in CELL_TYPES if kind in kinds] + [FLIP_FLOP])

    def __hash__(self) -> int:
        return hash(
            (
                self.cells,
                self.library,
                self.adder,
                self.pipeline,
                self.width,
                self.technology,
                self.hold_buffers,
                self.product_hold_buffers,
            )
        )

    @cached_property
    def stages(self) -> dict[str, Netlist]:
        """The timed netlists: ``multiplier`` and ``adder`` (registered) or ``mac`` (fused).

        Built once per structure (cell set, pipeline, adder, width, hold buffers) and
        shared by every PEConfig of that structure: a Razor plan builds a PE with hold
        buffers for every GEMM it runs. The netlists are not changed after they are built.
        """
        return dict(
            _stages(self.library, self.pipeline, self.adder, self.width, self.hold_buffers, self.product_hold_buffers)
        )

    @property
    def tech(self) -> TechnologyModel:
        return resolve_technology(self.technology)

    def as_dict(self) -> dict[str, object]:
        fields: dict[str, object] = {
            "cells": self.cells,
            "cell_delays_ps": dict(self.library.delays_ps),
            "t_setup_ps": self.library.t_setup_ps,
            "t_hold_ps": self.library.t_hold_ps,
            "adder": self.adder,
            "pipeline": self.pipeline,
            "width": self.width,
            "technology": self.tech.name,
        }
        if self.hold_buffers:
            fields["hold_buffers"] = list(self.hold_buffers)
        if self.product_hold_buffers:
            fields["product_hold_buffers"] = list(self.product_hold_buffers)
        return fields


@dataclass(frozen=True, kw_only=True)
class OperatingPoint:
    """Supply voltage and clock frequency.

    Parameters
    ----------
    vdd_v : float
        Supply voltage in V (validated against the technology when timing is derived).
    f_clk_mhz : float
        Clock frequency in MHz (> 0, <= 20000).
    """

    vdd_v: float = 0.9
    f_clk_mhz: float = 700.0

    def __post_init__(self) -> None:
        _positive("f_clk_mhz", self.f_clk_mhz, "MHz", upper=20000.0)
        if isinstance(self.vdd_v, bool) or not isinstance(self.vdd_v, int | float) or not math.isfinite(self.vdd_v):
            raise ConfigError(f"vdd_v: expected a finite number of volts, got {self.vdd_v!r}")

    @property
    def t_clk_ps(self) -> float:
        """Clock period in ps."""
        return 1e6 / self.f_clk_mhz


def _positive(name: str, value: object, unit: str, *, upper: float) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not 0 < value <= upper:  # type: ignore[operator]
        raise ConfigError(f"{name}: expected a number of {unit} in (0, {upper:g}], got {value!r}")


@dataclass(frozen=True)
class StageTiming:
    """Integer-femtosecond timing shared by every fidelity level.

    Attributes
    ----------
    t_sample_fs : int
        ``T_clk - t_setup`` in fs: the instant output bits are latched, counted from the
        clock edge.
    delay_scale : float
        Delay relative to nominal VDD.
    t_clk_fs : int
        Clock period in fs.
    arcs : StageArcs
        Per stage, the delay of every cell instance, input pin and output edge in fs
        (``arcs.fs(stage)[c, k, e]``, see :mod:`pe_models.arcs`), the launch time of
        every stage input bit (``arcs.launch_fs(stage)``: its flip-flop's clock-to-Q, 0 for
        the reasoned libraries), and the exact values before rounding that
        process-variation factors scale.
    cell_delays_fs : mapping of str to int, or None
        One delay per cell type when the delay source has one (the reasoned libraries:
        nominal delay x delay scale, rounded); None for a characterised library. Not
        compared: timings compare (and hash) by their scalars and :attr:`arcs`.
    t_clk_to_q_fs : int
        The latest launch time of any stage input, fs (for reports; each input switches at
        its own launch time).
    vdd_v : float or None
        The supply of an operating point (None when timed by a delay scale); not compared.
    """

    t_sample_fs: int
    delay_scale: float
    t_clk_fs: int
    arcs: StageArcs
    cell_delays_fs: Mapping[str, int] | None = field(default=None, compare=False)
    t_clk_to_q_fs: int = 0
    vdd_v: float | None = field(default=None, compare=False)

    @property
    def t_setup_fs(self) -> int:
        """Setup time of the output flip-flops in fs."""
        return self.t_clk_fs - self.t_sample_fs

    @property
    def delays_fs(self) -> Mapping[str, int]:
        """Delay of each cell type in fs (only for a library with one delay per cell type).

        Raises
        ------
        ConfigError
            The delays differ by pin, edge or instance (use :attr:`arcs`).
        """
        if self.cell_delays_fs is None:
            raise ConfigError("delays_fs: this library has per-pin, per-edge delays; use StageTiming.arcs")
        return self.cell_delays_fs

    def arcs_fs(self, stage: str) -> np.ndarray:
        """Integer arcs of one timed stage, int64 of shape (n_cells, MAX_PINS, 2)."""
        return self.arcs.fs(stage)

    def launch_fs(self, stage: str) -> np.ndarray:
        """When each input bit of one timed stage switches after the clock edge, per edge: int64 (n_inputs, 2)."""
        return self.arcs.launch_fs(stage)


def delay_source(pe: PEConfig, *, vdd_v: float | None = None, delay_scale: float | None = None) -> DelaySource:
    """The cell timing of `pe` at a supply voltage, or at nominal VDD times a delay scale.

    A technology that carries a characterised cell library (a ``cell_library``
    attribute, :class:`pe_models.cells.CharacterisedLibrary`) gives its arcs at `vdd_v`
    (:class:`LibraryDelays`; with a delay scale: at its nominal VDD, every delay times
    the scale); otherwise the PE's reasoned library times the technology's delay scale.

    Parameters
    ----------
    pe : PEConfig
    vdd_v : float, optional
        Supply voltage in V; excludes `delay_scale`.
    delay_scale : float, optional
        Delay relative to nominal VDD (default 1).

    Returns
    -------
    DelaySource
    """
    library = cell_library(pe)
    if library is not None:
        if vdd_v is not None:
            pe.tech.delay_scale(vdd_v)
            return LibraryDelays(library, float(vdd_v))
        nominal = LibraryDelays(library, float(pe.tech.vdd_nominal_v))
        return nominal if delay_scale is None or delay_scale == 1.0 else ScaledDelays(nominal, float(delay_scale))
    scale = pe.tech.delay_scale(vdd_v) if vdd_v is not None else (1.0 if delay_scale is None else delay_scale)
    return ReasonedDelays(pe.library, scale)


def cell_library(pe: PEConfig) -> CharacterisedLibrary | None:
    """The characterised cell library of the PE's technology, or None (reasoned delays)."""
    library = getattr(pe.tech, "cell_library", None)
    return library if isinstance(library, CharacterisedLibrary) else None


@functools.lru_cache(maxsize=256)
def stage_arcs(pe: PEConfig, source: DelaySource) -> StageArcs:
    """Per-instance arcs of every timed stage of `pe` from `source` (cached per PE and source)."""
    stages = {}
    for name, netlist in pe.stages.items():
        if isinstance(source, ReasonedDelays):
            per_cell = np.array([source.library.delays_ps[cell.kind] * source.scale for cell in netlist.cells])
            exact = np.broadcast_to((per_cell * 1000)[:, None, None], (len(netlist.cells), MAX_PINS, 2)).copy()
            stages[name] = InstanceArcs(
                exact_fs=exact,
                load_ff=np.zeros(len(netlist.cells)),
                slew_ps=np.zeros((netlist.n_nets, 2)),
                launch_exact_fs=np.zeros((sum(len(nets) for nets in netlist.inputs.values()), 2)),
            )
        else:
            stages[name] = instance_arcs(netlist, source)
    return StageArcs(stages)


def stage_timing(
    pe: PEConfig,
    *,
    t_clk_ps: float | None = None,
    delay_scale: float | None = None,
    operating_point: OperatingPoint | None = None,
    t_setup_ps: float | None = None,
) -> StageTiming:
    """Timing of `pe` from a clock period and delay scale, or from an operating point.

    Either give ``operating_point`` (the delay scale comes from the PE's technology at
    its VDD) or ``t_clk_ps`` and ``delay_scale`` (default 1). Cell delays and the
    flip-flop setup time scale together.

    ``t_setup_ps`` replaces the library's setup time: the setup time of the user's
    flip-flop **at this operating point** in ps (not scaled again), >= 0 and shorter than
    the clock period.

    Clock-to-Q: with a library that characterises its flip-flops, each stage input bit
    switches its own clock-to-Q delay after the clock edge (at its net's load, for its
    edge: ``timing.launch_fs(stage)``); every level counts time from the clock edge and
    samples at ``T_clk - t_setup``.

    Raises
    ------
    ConfigError
        Clock period <= 0, delay scale <= 0, VDD outside the technology's range, or a
        setup time < 0 or not shorter than the clock period.
    """
    if operating_point is not None:
        source = delay_source(pe, vdd_v=operating_point.vdd_v)
        scale = pe.tech.delay_scale(operating_point.vdd_v)
        period_ps = operating_point.t_clk_ps
    else:
        if t_clk_ps is None:
            raise ConfigError("t_clk_ps: give a clock period or an operating point (vdd_v and f_clk_mhz)")
        _positive("t_clk_ps", t_clk_ps, "ps", upper=1e9)
        scale = 1.0 if delay_scale is None else delay_scale
        _positive("delay_scale", scale, "x nominal", upper=1000.0)
        source = delay_source(pe, delay_scale=scale)
        period_ps = float(t_clk_ps)
    t_clk_fs = round(period_ps * 1000)
    library_setup_ps = source.setup_ps
    arcs = stage_arcs(pe, source)
    if t_setup_ps is not None:
        ok = isinstance(t_setup_ps, int | float) and not isinstance(t_setup_ps, bool) and math.isfinite(t_setup_ps)
        if not ok or not 0 <= t_setup_ps < period_ps:
            raise ConfigError(
                f"t_setup_ps: expected a setup time in [0, {period_ps:g}) ps (shorter than the clock period), "
                f"got {t_setup_ps!r}"
            )
        t_sample_fs = t_clk_fs - round(t_setup_ps * 1000)
    else:
        t_sample_fs = t_clk_fs - round(library_setup_ps * 1000)
    if t_sample_fs <= 0:
        raise ConfigError(
            f"t_clk_ps: clock period {period_ps:g} ps is not longer than the setup time {library_setup_ps:g} ps"
        )
    cell_delays = None
    if isinstance(source, ReasonedDelays):
        cell_delays = MappingProxyType(
            {cell: max(1, round(d * source.scale * 1000)) for cell, d in pe.library.delays_ps.items()}
        )
    return StageTiming(
        t_sample_fs=t_sample_fs,
        delay_scale=float(scale),
        t_clk_fs=t_clk_fs,
        arcs=arcs,
        cell_delays_fs=cell_delays,
        t_clk_to_q_fs=arcs.clk_to_q_fs,
        vdd_v=None if operating_point is None else float(operating_point.vdd_v),
    )


@functools.cache
def critical_path_ps(pe: PEConfig, vdd_v: float | None = None) -> float:
    """Longest register-to-register path of `pe` at nominal VDD (or at `vdd_v`), in ps.

    The slowest timed stage's longest static path from the clock edge (each input's
    clock-to-Q launch time, 0 for the reasoned libraries, then every arc at its delay,
    rounded to fs as :func:`stage_timing` does, edges followed as in
    :func:`pe_models.arcs.latest_arrival_fs`) plus the flip-flop setup time. Settle
    times of real operand transitions never exceed it, so a clock period at least this
    long is error-free for a PE without process variation.

    Parameters
    ----------
    pe : PEConfig
    vdd_v : float, optional
        Supply voltage in V (default: the technology's nominal).

    Returns
    -------
    float
        Critical path in ps.
    """
    source = delay_source(pe) if vdd_v is None else delay_source(pe, vdd_v=vdd_v)
    arcs = stage_arcs(pe, source)
    return _longest_path_fs(pe, arcs) / 1000 + source.setup_ps


def _longest_path_fs(pe: PEConfig, arcs: StageArcs) -> int:
    longest_fs = 0
    for name, netlist in pe.stages.items():
        arrival = latest_arrival_fs(netlist, arcs.fs(name), arcs.launch_fs(name))
        for nets in netlist.outputs.values():
            longest_fs = max(longest_fs, int(arrival[nets].max()))
    return longest_fs


def slack_ratio(pe: PEConfig, f_clk_mhz: float) -> float:
    """Timing slack ratio: clock period / critical path at nominal VDD.

    1.0 means the critical path exactly fills the period at nominal VDD; 2.0 means the
    delays can double (``delay_scale`` 2) before the first path fails.

    Parameters
    ----------
    pe : PEConfig
    f_clk_mhz : float
        Clock frequency in MHz, ``0 < f_clk_mhz <= 20000``.

    Returns
    -------
    float
        Dimensionless ratio.

    Raises
    ------
    ConfigError
        If `f_clk_mhz` is out of range.
    """
    _positive("f_clk_mhz", f_clk_mhz, "MHz", upper=20000.0)
    return (1e6 / f_clk_mhz) / critical_path_ps(pe)


def max_error_free_f_clk_mhz(pe: PEConfig, vdd_v: float, t_setup_ps: float | None = None) -> float:
    """Highest clock in MHz at which every path of `pe` meets setup at supply `vdd_v`.

    ``1e6 / (critical_path_ps(pe) * delay_scale(vdd_v))``; with `t_setup_ps` the setup
    time is that value, not scaled (as in :func:`stage_timing`): ``1e6 / (longest path *
    delay_scale + t_setup_ps)``. With a characterised library the path is timed at
    `vdd_v` itself: ``1e6 / critical_path_ps(pe, vdd_v)`` (setup replaced by
    `t_setup_ps` if given). Above it some operand transitions
    may be latched late; below it none can be (no process variation).

    Parameters
    ----------
    pe : PEConfig
    vdd_v : float
        Supply voltage in V, inside the PE technology's range.
    t_setup_ps : float, optional
        The flip-flops' setup time in ps (default: the library's, scaled with the delays).

    Returns
    -------
    float
        Frequency in MHz.

    Raises
    ------
    ConfigError
        If `vdd_v` is outside the technology's range.
    """
    scale = pe.tech.delay_scale(vdd_v)
    if cell_library(pe) is not None:
        path_ps = critical_path_ps(pe, float(vdd_v))
        if t_setup_ps is not None:
            path_ps += t_setup_ps - delay_source(pe, vdd_v=vdd_v).setup_ps
        return 1e6 / path_ps
    if t_setup_ps is None:
        return 1e6 / (critical_path_ps(pe) * scale)
    return 1e6 / ((critical_path_ps(pe) - pe.library.t_setup_ps) * scale + t_setup_ps)


def _buffer_counts(name: str, value: Iterable[Any], bits: int, where: str, allowed: bool) -> tuple[int, ...]:
    """Hold-buffer counts, one per bit of a register (or empty); `allowed`: the register exists."""
    counts = tuple(value)
    valid = all(isinstance(n, int | np.integer) and not isinstance(n, bool) and 0 <= n <= 10_000 for n in counts)
    if not valid or len(counts) not in (0, bits) or (any(counts) and not allowed):
        raise ConfigError(f"{name}: expected {bits} buffer counts in 0..10000 (one per {where}) or none, got {value!r}")
    return tuple(int(n) for n in counts) if any(counts) else ()


@functools.lru_cache(maxsize=64)
def _stages(
    library: CellLibrary,
    pipeline: str,
    adder: str,
    width: int,
    hold_buffers: tuple[int, ...],
    product_hold_buffers: tuple[int, ...],
) -> dict[str, Netlist]:
    return pe_stages(
        library,
        pipeline=pipeline,
        adder=adder,
        width=width,
        hold_buffers=hold_buffers,
        product_hold_buffers=product_hold_buffers,
    )
