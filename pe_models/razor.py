"""Razor-style error detection of the PE output bits: window, hold fixing, feasibility, masks.

A protected output bit has a shadow latch beside its flip-flop, clocked ``window`` after
the flip-flop. The flip-flop samples at ``t_s = T_clk - t_setup`` and the shadow latch at
``t_s + window``; both take every transition at or before their instant (the semantics of
:mod:`pe_models.gate`). Razor compares the two samples:

* a protected bit is **detected** when its value at ``t_s`` differs from its value at
  ``t_s + window``; the correction writes the **shadow** value;
* a protected bit that is wrong at ``t_s`` but not detected (its last transition is
  later than ``t_s + window``, or it changes and comes back inside the window) is a
  **silent** error;
* a detected bit whose shadow value is still not the settled value is **mis-corrected**
  (the bit also transitions after the window);
* a late transition that returns to the latched value by ``t_s + window`` is not
  detected and harmless.

**Hold fixing.** The next cycle's inputs switch at the clock edge; a path shorter than
``window + t_hold`` would reach the shadow latch before it closes. So every path into a
protected bit must be at least ``window + t_hold`` long (``t_hold`` of the library,
:attr:`pe_models.cells.CellLibrary.t_hold_ps`). The fix is a chain of BUF cells between
the bit's driver (the sum XOR of a ripple-carry bit) and its flip-flop and shadow latch
(:func:`pe_models.netlist.add_hold_buffers`): one chain per bit serves every path of the
bit and leaves every other net unchanged, so no other bit's paths and no carry get longer.
(Padding the sum cell's input pins instead would put buffers on the carry-in pin, which
carries the bit's longest path *and* a short one, so it lengthens the longest path as
well, with up to three chains per bit.) The chain delays every path of the bit by ``D``:
its longest path too, which must still meet ``T_clk - t_setup``. Both constraints are
checked at the technology's nominal VDD and the design clock (:func:`razor_feasibility`):
hold is hardest there (the fastest paths; the window is a clock delay and does not scale),
and the design must be error-free there.

**Feasible windows** form a range ``0..W_max``: more window needs more buffers, and the
largest window is the one whose buffers use up the slack of the protected bit with the
least of it. **The default window is that largest feasible window** (:func:`window_fs`).

**The product register** (registered pipeline) can carry Razor flip-flops too
(`product_mask`): the same window, the same hold fixing on the multiplier stage's
``product`` bits (a BUF chain between each protected product bit and its flip-flop), and
one feasible range for the protected bits of both registers (:func:`window_range_fs`).
The product bits' shortest paths are short (one AND2 to a few cells, 45-75 ps in the
reasoned library) beside their longest (up to 389 ps), so a window beyond about 50 ps
needs buffers that make the bit later at low VDD by the buffers' scaled delay, more than
the window gains.

See ``docs/pe_timing.md`` (section "Razor detection") for the sources of the defaults.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from pe_models.arcs import as_arcs_fs, earliest_arrival_fs, latest_arrival_fs
from pe_models.errors import ConfigError
from pe_models.netlist import PRODUCT_BITS, Netlist
from pe_models.pe import OperatingPoint, PEConfig, StageTiming, cell_library, stage_timing

__all__ = [
    "HOLD_BUFFER_CELL",
    "REGISTERS",
    "RazorFeasibility",
    "check_product_mask",
    "format_bits",
    "hold_buffers",
    "mean_hold_buffers",
    "min_path_fs",
    "razor_feasibility",
    "razor_masks",
    "razor_pe",
    "retimed",
    "window_fs",
    "window_range_fs",
]

HOLD_BUFFER_CELL = "buf"
"""The hold-fix delay cell: a non-inverting buffer (two inverters)."""


def format_bits(mask: int) -> str:
    """``0xFFFFFF00`` -> ``"31:8"`` (bit ranges, highest first); ``0`` -> ``"none"``."""
    bits = [bit for bit in range(int(mask).bit_length()) if (mask >> bit) & 1]
    if not bits:
        return "none"
    ranges: list[list[int]] = []
    for bit in bits:
        if ranges and ranges[-1][1] == bit - 1:
            ranges[-1][1] = bit
        else:
            ranges.append([bit, bit])
    return ",".join(str(low) if low == high else f"{high}:{low}" for low, high in reversed(ranges))


def razor_masks(
    latched: np.ndarray, shadow: np.ndarray, correct: np.ndarray, protected_mask: int, width: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Detected, silent and mis-corrected bits of each MAC.

    Parameters
    ----------
    latched, shadow, correct : ndarray, shape (n,), int64
        Output value at ``t_s``, at ``t_s + window`` and settled (signed or unsigned
        patterns; only the low `width` bits count).
    protected_mask : int
        Bits with a Razor flip-flop.
    width : int
        Output width in bits.

    Returns
    -------
    detected, silent, miscorrected : ndarray, shape (n,), int64
        Unsigned masks: ``detected = (latched ^ shadow) & protected``;
        ``silent = (latched ^ correct) & protected & ~detected``;
        ``miscorrected = detected & (shadow ^ correct)``.
    """
    mask = np.int64(((1 << width) - 1) & protected_mask) if width < 64 else np.int64(protected_mask)
    latched = np.asarray(latched, dtype=np.int64)
    shadow = np.asarray(shadow, dtype=np.int64)
    correct = np.asarray(correct, dtype=np.int64)
    detected = (latched ^ shadow) & mask
    silent = (latched ^ correct) & mask & ~detected
    miscorrected = detected & (shadow ^ correct)
    return detected, silent, miscorrected


REGISTERS: tuple[str, ...] = ("accumulator", "product")
"""Registers whose bits can carry a Razor flip-flop: the accumulator (the adder stage's ``sum``,
or the fused MAC's) and the registered pipeline's product register (the multiplier stage's
``product``)."""


def _stage_name(pe: PEConfig, register: str = "accumulator") -> str:
    if register == "product":
        return "multiplier"
    return "adder" if pe.pipeline == "registered" else "mac"


def _output_stage(pe: PEConfig, register: str = "accumulator") -> tuple[Netlist, str]:
    """The stage whose output bits the Razor flip-flops of `register` sample, and the bus name."""
    return pe.stages[_stage_name(pe, register)], "product" if register == "product" else "sum"


def _register_width(pe: PEConfig, register: str) -> int:
    return PRODUCT_BITS if register == "product" else pe.width


def min_path_fs(netlist: Netlist, delays_fs: Mapping[str, int] | np.ndarray, output: str) -> np.ndarray:
    """Shortest input-to-output path delay of each bit of an output bus, in fs (-1: constant bit).

    Parameters
    ----------
    netlist : Netlist
    delays_fs : mapping of str to int, or ndarray
        Cell delay per cell type, fs, or per-instance arcs (int64 of shape (n_cells,
        MAX_PINS, 2); each cell's smallest arc counts, :func:`pe_models.arcs.earliest_arrival_fs`).
    output : str
        Output bus name.

    Returns
    -------
    ndarray, int64, shape (bits,)
    """
    earliest = earliest_arrival_fs(netlist, as_arcs_fs(netlist, delays_fs))
    return earliest[netlist.outputs[output]]


def _static_paths_fs(pe: PEConfig, timing: StageTiming, register: str = "accumulator") -> tuple[np.ndarray, np.ndarray]:
    """(shortest, longest) static path of each bit of `register`'s stage output, fs (-1: constant).

    From the stage's per-instance arcs and its inputs' launch times (each input switches its
    flip-flop's clock-to-Q after the clock edge; 0 in the reasoned libraries): the earliest
    possible transition (smallest arc of the pins that changed) and the latest (the later of
    the bit's two edges), both counted from the clock edge."""
    netlist, output = _output_stage(pe, register)
    stage = _stage_name(pe, register)
    arcs, launch = timing.arcs_fs(stage), timing.launch_fs(stage)
    nets = netlist.outputs[output]
    earliest = earliest_arrival_fs(netlist, arcs, launch)[nets]
    return earliest, latest_arrival_fs(netlist, arcs, launch)[nets].max(axis=1)


def _hold_fs(pe: PEConfig) -> int:
    """Hold time of the shadow latch at nominal VDD, fs: a characterised library's flip-flop
    (the larger of a rising and a falling D), else the reasoned library's."""
    library = cell_library(pe)
    hold = getattr(library, "hold_ps", None)
    if hold is None:
        return round(pe.library.t_hold_ps * 1000)
    nominal = float(pe.tech.vdd_nominal_v)
    return round(max(float(hold(nominal, "rise")), float(hold(nominal, "fall"))) * 1000)


def _nominal_timing(pe: PEConfig, f_clk_mhz: float) -> StageTiming:
    return stage_timing(pe, t_clk_ps=1e6 / f_clk_mhz, delay_scale=1.0)


@dataclass(frozen=True)
class _BufferModel:
    """Static paths of every output bit at nominal VDD without buffers, and what n buffers add.

    ``added_min(n) = first_min + (n - 1) * each_min`` (n >= 1; 0 for n = 0), likewise
    for the longest path: the first buffer of a chain may differ from the others (the last
    one drives the flip-flop); measured on netlists with 0, 1 and 2 buffers per bit.
    """

    t_sample_fs: int
    t_clk_fs: int
    t_hold_fs: int
    """Hold requirement beyond the shortest path: the latch's hold time (paths count from the
    clock edge, the inputs' clock-to-Q included)."""
    min_fs: np.ndarray
    max_fs: np.ndarray
    first_min: np.ndarray
    each_min: np.ndarray
    first_max: np.ndarray
    each_max: np.ndarray

    def added(self, counts: np.ndarray, longest: bool) -> np.ndarray:
        first, each = (self.first_max, self.each_max) if longest else (self.first_min, self.each_min)
        counts = np.asarray(counts, dtype=np.int64)
        return np.where(counts > 0, first + (counts - 1) * each, 0)

    def counts_for(self, window_fs: int) -> np.ndarray:
        """Fewest buffers per bit that bring the shortest path to ``window + t_hold``."""
        short = window_fs + self.t_hold_fs - self.min_fs
        first, each = self.first_min, np.maximum(self.each_min, 1)
        more = np.where(short > first, -(-(short - first) // each), 0)
        return np.where((short > 0) & (self.min_fs >= 0), 1 + more, 0).astype(np.int64)

    def largest_windows_fs(self) -> np.ndarray:
        """Per bit, the largest window whose buffers keep the longest path within ``t_sample``
        (-1: none, the bit misses the clock even without buffers)."""
        slack = self.t_sample_fs - self.max_fs
        first, each = self.first_max, np.maximum(self.each_max, 1)
        counts = np.where(slack >= first, 1 + (slack - first) // each, 0)
        windows = self.min_fs + self.added(counts, longest=False) - self.t_hold_fs
        windows = np.minimum(windows, self.t_clk_fs)
        return np.where((slack >= 0) & (self.min_fs >= 0), windows, np.where(self.min_fs < 0, self.t_clk_fs, -1))


@functools.lru_cache(maxsize=64)
def _buffer_model(pe: PEConfig, f_clk_mhz: float, register: str = "accumulator") -> _BufferModel:
    base = PEConfig(
        cells=pe.cells,
        cell_delays_ps=pe.cell_delays_ps,
        adder=pe.adder,
        pipeline=pe.pipeline,
        width=pe.width,
        technology=pe.technology,
    )
    timing = _nominal_timing(base, f_clk_mhz)
    paths = []
    for n in (0, 1, 2):
        buffered = _built(base, (n,) * _register_width(pe, register), register)
        paths.append(_static_paths_fs(buffered, _nominal_timing(buffered, f_clk_mhz), register))
    (min0, max0), (min1, max1), (min2, max2) = paths
    return _BufferModel(
        t_sample_fs=timing.t_sample_fs,
        t_clk_fs=timing.t_clk_fs,
        t_hold_fs=_hold_fs(base),
        min_fs=min0,
        max_fs=max0,
        first_min=min1 - min0,
        each_min=min2 - min1,
        first_max=max1 - max0,
        each_max=max2 - max1,
    )


def _with_buffers(pe: PEConfig, counts: tuple[int, ...], product_counts: tuple[int, ...] = ()) -> PEConfig:
    return PEConfig(
        cells=pe.cells,
        cell_delays_ps=pe.cell_delays_ps,
        adder=pe.adder,
        pipeline=pe.pipeline,
        width=pe.width,
        technology=pe.technology,
        hold_buffers=counts,
        product_hold_buffers=product_counts,
    )


def _built(pe: PEConfig, counts: tuple[int, ...], register: str) -> PEConfig:
    """`pe` without buffers but `counts` on the bits of `register`."""
    return _with_buffers(pe, (), counts) if register == "product" else _with_buffers(pe, counts)


def _check_clock(f_clk_mhz: object) -> float:
    ok = isinstance(f_clk_mhz, int | float) and not isinstance(f_clk_mhz, bool) and math.isfinite(f_clk_mhz)
    if not ok or not 0 < f_clk_mhz <= 20000:  # type: ignore[operator]
        raise ConfigError(f"f_clk_mhz: expected a number of MHz in (0, 20000], got {f_clk_mhz!r}")
    return float(f_clk_mhz)  # type: ignore[arg-type]


def _protected_bits(pe: PEConfig, protected_mask: int | None, register: str = "accumulator") -> int:
    full = (1 << _register_width(pe, register)) - 1
    return full if protected_mask is None else int(protected_mask) & full


def check_product_mask(pe: PEConfig, product_mask: object, field: str = "product_mask") -> int:
    """`product_mask` as an int, checked: bits of the registered pipeline's 16-bit product register.

    Raises
    ------
    ConfigError
        ``product_mask: bit 16 is out of range; allowed: 0..15``, a mask that is not a
        non-negative integer, or product bits of the fused pipeline (no product register).
    """
    if not isinstance(product_mask, int | np.integer) or isinstance(product_mask, bool) or product_mask < 0:
        raise ConfigError(
            f"{field}: expected an integer bit mask of product bits 0..{PRODUCT_BITS - 1}, got {product_mask!r}"
        )
    mask = int(product_mask)
    if mask >> PRODUCT_BITS:
        raise ConfigError(f"{field}: bit {mask.bit_length() - 1} is out of range; allowed: 0..{PRODUCT_BITS - 1}")
    if mask and pe.pipeline != "registered":
        raise ConfigError(f"{field}: the fused pipeline has no product register; allowed: none")
    return mask


def window_range_fs(
    pe: PEConfig, *, f_clk_mhz: float, protected_mask: int | None = None, product_mask: int = 0
) -> tuple[int, int] | None:
    """The feasible Razor windows of the protected bits at the design clock, fs.

    Parameters
    ----------
    pe : PEConfig
        Without hold buffers (they are what the window decides).
    f_clk_mhz : float
        Design clock in MHz.
    protected_mask : int, optional
        Bits with a Razor flip-flop (default: every accumulator bit).
    product_mask : int
        Product register bits with a Razor flip-flop (registered pipeline), 0..0xFFFF.

    Returns
    -------
    (int, int) or None
        ``(0, W_max)``: every window in it is feasible for every protected bit of both
        registers (hold met after buffering, longest path with the buffers within
        ``T_clk - t_setup``, at nominal VDD), none outside; None when no window is (a
        protected bit misses the clock even without buffers). Without protected bits:
        ``(0, T_clk)``.
    """
    f_clk_mhz = _check_clock(f_clk_mhz)
    accumulator = _register_range_fs(pe, f_clk_mhz, _protected_bits(pe, protected_mask), "accumulator")
    if not product_mask:
        return accumulator
    product = _register_range_fs(pe, f_clk_mhz, check_product_mask(pe, product_mask), "product")
    if accumulator is None or product is None:
        return None
    return 0, min(accumulator[1], product[1])


def _register_range_fs(pe: PEConfig, f_clk_mhz: float, mask: int, register: str) -> tuple[int, int] | None:
    """:func:`window_range_fs` of the protected bits `mask` of one register."""
    model = _buffer_model(_unbuffered(pe), f_clk_mhz, register)
    width = _register_width(pe, register)
    if mask == 0:
        return 0, model.t_clk_fs
    windows = model.largest_windows_fs()
    top = int(min(windows[bit] for bit in range(width) if (mask >> bit) & 1))
    bits = [bit for bit in range(width) if (mask >> bit) & 1 and model.min_fs[bit] >= 0]
    for _ in range(_VERIFY_ROUNDS):
        if top < 0 or not bits:
            break
        counts = hold_buffer_counts(pe, f_clk_mhz=f_clk_mhz, protected_mask=mask, window_fs=top, register=register)
        _, longest = _built_paths_fs(_unbuffered(pe), tuple(int(n) for n in counts), float(f_clk_mhz), register)
        excess = int(max(longest[bit] for bit in bits)) - model.t_sample_fs
        if excess <= 0:
            shortest, _ = _built_paths_fs(_unbuffered(pe), tuple(int(n) for n in counts), float(f_clk_mhz), register)
            top = max(top, min(int(min(shortest[bit] for bit in bits)) - model.t_hold_fs, model.t_clk_fs))
            break
        top -= excess
    return None if top < 0 else (0, top)


_VERIFY_ROUNDS = 8
"""Rounds that check the linear buffer model against the built netlist (a characterised
library's buffer delay depends on its input slew, so a long chain is not exactly linear)."""


@functools.lru_cache(maxsize=256)
def _built_paths_fs(
    pe: PEConfig, counts: tuple[int, ...], f_clk_mhz: float, register: str = "accumulator"
) -> tuple[np.ndarray, np.ndarray]:
    """(shortest, longest) static paths of `register`'s bits, `pe` built with `counts` hold buffers on
    them, nominal VDD, fs."""
    built = _built(pe, counts, register)
    return _static_paths_fs(built, _nominal_timing(built, f_clk_mhz), register)


def _unbuffered(pe: PEConfig) -> PEConfig:
    return _with_buffers(pe, ()) if pe.hold_buffers or pe.product_hold_buffers else pe


def _range_text(window_range: tuple[int, int]) -> str:
    return f"{window_range[0] / 1000:g}..{window_range[1] / 1000:g} ps"


def _infeasible_message(pe: PEConfig, f_clk_mhz: float, mask: int, field: str, register: str = "accumulator") -> str:
    model = _buffer_model(_unbuffered(pe), f_clk_mhz, register)
    windows = model.largest_windows_fs()
    failing = [bit for bit in range(_register_width(pe, register)) if (mask >> bit) & 1 and windows[bit] < 0]
    if not failing:
        failing = [bit for bit in range(_register_width(pe, register)) if (mask >> bit) & 1]
    bit = max(failing, key=lambda b: int(model.max_fs[b]))
    bits = f"protected {'product ' if register == 'product' else ''}bits"
    where = f"T_clk - t_setup = {model.t_sample_fs / 1000:g} ps at nominal VDD"
    if model.max_fs[bit] > model.t_sample_fs:
        reason = f"bit {bit}'s longest path, {model.max_fs[bit] / 1000:g} ps without hold buffers, misses {where}"
    else:
        reason = f"the hold buffers bit {bit} needs even for a window of 0 push its longest path past {where}"
    return (
        f"{field}: no feasible Razor window for {bits} {format_bits(mask)} at {f_clk_mhz:g} MHz: "
        f"{reason}; allowed: a slower clock or fewer protected bits"
    )


def window_fs(
    timing: StageTiming,
    window_ps: float | None,
    *,
    field: str = "razor_window_ps",
    pe: PEConfig | None = None,
    protected_mask: int | None = None,
    protect_field: str = "protect",
    product_mask: int = 0,
    product_field: str = "protect_product",
) -> int:
    """The Razor detection window in integer fs, checked against what can be built.

    Parameters
    ----------
    timing : StageTiming
        Operating point; its clock period is the design clock.
    window_ps : float or None
        Window in ps; None: the largest feasible window of `pe`'s protected bits (needs `pe`).
    field : str
        Name used in error messages.
    pe : PEConfig, optional
        With a PE the window must lie in its feasible range (:func:`window_range_fs`);
        without one only in ``0..T_clk``.
    protected_mask : int, optional
        Bits with a Razor flip-flop (default: every accumulator bit).
    protect_field : str
        Name of the protected bits in the error when no window is feasible.
    product_mask : int
        Product register bits with a Razor flip-flop (registered pipeline): the window must
        be feasible for them too.
    product_field : str
        Name of the protected product bits in the error when no window is feasible for them.

    Returns
    -------
    int
        Window in fs.

    Raises
    ------
    ConfigError
        One line: ``razor_window_ps: 900 ps is outside the feasible range 0..762 ps of protected
        bits 31:8 at 700 MHz (hold after buffering, longest path with the buffers at nominal
        VDD); allowed: 0..762 ps``, a window that is not a number, negative or longer than the
        clock period, or no feasible window at all (``protect: no feasible Razor window for
        protected bits 31:0 at 2000 MHz: bit 31's longest path, 650 ps without hold buffers,
        misses T_clk - t_setup = 475 ps at nominal VDD; allowed: a slower clock or fewer
        protected bits``).
    """
    period_ps = timing.t_clk_fs / 1000
    if window_ps is not None:
        ok = isinstance(window_ps, int | float) and not isinstance(window_ps, bool) and math.isfinite(window_ps)
        if not ok:
            raise ConfigError(f"{field}: expected a number of ps in 0..{period_ps:g}, got {window_ps!r}")
        if window_ps < 0:
            raise ConfigError(f"{field}: {window_ps:g} ps is negative; allowed: 0..{period_ps:g} ps")
        if window_ps * 1000 > timing.t_clk_fs:
            raise ConfigError(
                f"{field}: {window_ps:g} ps is longer than the clock period {period_ps:g} ps; "
                f"allowed: 0..{period_ps:g} ps"
            )
    if pe is None:
        if window_ps is None:
            raise ValueError("window_fs: the default window needs the PE (pe=...)")
        return round(window_ps * 1000)
    f_clk_mhz = 1e9 / timing.t_clk_fs
    mask = _protected_bits(pe, protected_mask)
    product = check_product_mask(pe, product_mask, product_field)
    if _register_range_fs(pe, f_clk_mhz, mask, "accumulator") is None:
        raise ConfigError(_infeasible_message(pe, f_clk_mhz, mask, protect_field))
    window_range = window_range_fs(pe, f_clk_mhz=f_clk_mhz, protected_mask=mask, product_mask=product)
    if window_range is None:
        raise ConfigError(_infeasible_message(pe, f_clk_mhz, product, product_field, "product"))
    if window_ps is None:
        return window_range[1]
    window = round(window_ps * 1000)
    if not window_range[0] <= window <= window_range[1]:
        bits = f"protected bits {format_bits(mask)}"
        if product:
            bits += f" and product bits {format_bits(product)}"
        raise ConfigError(
            f"{field}: {window_ps:g} ps is outside the feasible range {_range_text(window_range)} of {bits} "
            f"at {f_clk_mhz:g} MHz (hold after buffering, longest path with the buffers at "
            f"nominal VDD); allowed: {_range_text(window_range)}"
        )
    return window


@dataclass(frozen=True, kw_only=True)
class RazorFeasibility:
    """The hold fix of a Razor window and whether it can be built, per output bit.

    Paths are static, at the technology's nominal VDD, from the stage's cell delays: the
    shortest and longest input-to-output path of each bit of the Razor-sampled stage (the
    registered adder, or the fused MAC; the multiplier stage for the product register).

    Attributes
    ----------
    window_ps : float
        The window evaluated.
    f_clk_mhz, t_clk_ps : float
        Design clock.
    t_sample_ps : float
        ``T_clk - t_setup`` at nominal VDD: what a longest path must meet.
    t_hold_ps : float
        Hold requirement beyond the shortest path, nominal VDD: the shadow latch's hold time
        (the library's; paths count from the clock edge, the input flip-flops' clock-to-Q
        included).
    buffer_delay_ps : float
        Delay one BUF adds to a chain (nominal VDD).
    protected_mask : int
        The protected bits of the register described.
    min_path_ps, max_path_ps : ndarray, float64, shape (width,)
        Shortest and longest path of each bit without buffers (0 for a constant bit);
        `width` is the register's (16 for the product register).
    hold_buffers : ndarray, int64, shape (width,)
        Buffers the bit gets (0 for an unprotected bit: no shadow latch, no hold fix).
    min_path_with_buffers_ps, max_path_with_buffers_ps : ndarray, float64, shape (width,)
        The same paths through the buffers.
    feasible : ndarray, bool, shape (width,)
        Hold met (``min_path_with_buffers >= window + t_hold``, protected bits only) and
        ``max_path_with_buffers <= t_sample``.
    window_range_ps : (float, float) or None
        Feasible windows of the protected bits of both registers; None when there is none.
    """

    window_ps: float
    f_clk_mhz: float
    t_clk_ps: float
    t_sample_ps: float
    t_hold_ps: float
    buffer_delay_ps: float
    protected_mask: int
    min_path_ps: np.ndarray
    max_path_ps: np.ndarray
    hold_buffers: np.ndarray
    min_path_with_buffers_ps: np.ndarray
    max_path_with_buffers_ps: np.ndarray
    feasible: np.ndarray
    window_range_ps: tuple[float, float] | None

    @property
    def plan_feasible(self) -> bool:
        """Every bit feasible (and so the window inside the feasible range)."""
        return bool(self.feasible.all())

    @property
    def protected_bits(self) -> tuple[int, ...]:
        return tuple(bit for bit in range(self.feasible.size) if (self.protected_mask >> bit) & 1)

    @property
    def buffers_per_protected_bit(self) -> float:
        """Mean hold buffers per protected bit (0 without protected bits)."""
        bits = self.protected_bits
        return float(np.mean(self.hold_buffers[list(bits)])) if bits else 0.0


def razor_feasibility(
    pe: PEConfig,
    *,
    f_clk_mhz: float,
    protected_mask: int | None = None,
    window_ps: float | None = None,
    product_mask: int = 0,
    register: str = "accumulator",
) -> RazorFeasibility:
    """Hold buffers, paths and feasibility of each output bit of one register for a Razor window.

    Parameters
    ----------
    pe : PEConfig
        Without hold buffers.
    f_clk_mhz : float
        Design clock in MHz.
    protected_mask : int, optional
        Accumulator bits with a Razor flip-flop (default: every bit).
    window_ps : float, optional
        The window, in ``0..T_clk``; default: the largest feasible one for the protected bits
        of both registers (0 when there is none, then the table shows why).
    product_mask : int
        Product register bits with a Razor flip-flop (registered pipeline), sharing the window.
    register : str
        The register whose bits the result describes: ``accumulator`` (the Razor-sampled
        adder or fused MAC stage, `protected_mask`) or ``product`` (the registered
        multiplier stage's 16 bits, `product_mask`).

    Returns
    -------
    RazorFeasibility
        One entry per bit of `register`.

    Raises
    ------
    ConfigError
        A clock or window that is not a number in range (a window outside the feasible
        range is reported, not raised: ``feasible`` is False on the bits that fail).
    """
    f_clk_mhz = _check_clock(f_clk_mhz)
    if register not in ("accumulator", "product"):
        raise ConfigError(f"register: {register!r} is unknown; allowed: accumulator, product")
    pe = _unbuffered(pe)
    accumulator_mask = _protected_bits(pe, protected_mask)
    product_mask = check_product_mask(pe, product_mask)
    mask = product_mask if register == "product" else accumulator_mask
    model = _buffer_model(pe, f_clk_mhz, register)
    window_range = window_range_fs(pe, f_clk_mhz=f_clk_mhz, protected_mask=accumulator_mask, product_mask=product_mask)
    timing = _nominal_timing(pe, f_clk_mhz)
    if window_ps is None:
        window = 0 if window_range is None else window_range[1]
    else:
        window = window_fs(timing, window_ps)
    counts = hold_buffer_counts(pe, f_clk_mhz=f_clk_mhz, protected_mask=mask, window_fs=window, register=register)
    buffered = _built(pe, tuple(int(n) for n in counts), register)
    min_with, max_with = _static_paths_fs(buffered, _nominal_timing(buffered, f_clk_mhz), register)
    constant = model.min_fs < 0
    protected = np.array([(mask >> bit) & 1 for bit in range(_register_width(pe, register))], dtype=bool)
    hold_met = ~protected | constant | (min_with >= window + model.t_hold_fs)
    setup_met = max_with <= model.t_sample_fs

    def ps(values: np.ndarray) -> np.ndarray:
        return np.where(constant, 0.0, values / 1000.0)

    return RazorFeasibility(
        window_ps=window / 1000,
        f_clk_mhz=f_clk_mhz,
        t_clk_ps=model.t_clk_fs / 1000,
        t_sample_ps=model.t_sample_fs / 1000,
        t_hold_ps=model.t_hold_fs / 1000,
        buffer_delay_ps=float(np.max(model.each_min)) / 1000,
        protected_mask=mask,
        min_path_ps=ps(model.min_fs),
        max_path_ps=ps(model.max_fs),
        hold_buffers=counts,
        min_path_with_buffers_ps=ps(min_with),
        max_path_with_buffers_ps=ps(max_with),
        feasible=hold_met & setup_met,
        window_range_ps=None if window_range is None else (window_range[0] / 1000, window_range[1] / 1000),
    )


def hold_buffer_counts(
    pe: PEConfig, *, f_clk_mhz: float, protected_mask: int | None, window_fs: int, register: str = "accumulator"
) -> np.ndarray:
    """Hold-fix buffers of each bit of `register` for a window in fs (0 on unprotected and constant bits).

    The fewest BUF cells in the bit's chain that make its shortest path at nominal VDD at
    least ``window + t_hold``: from the linear model of a chain's delay, checked on the
    built netlist (and buffers added where a characterised library's chain is shorter).
    `register`: ``accumulator`` (`protected_mask` None: every bit) or ``product`` (the
    registered multiplier stage's 16 product bits).

    Returns
    -------
    ndarray, int64, shape (pe.width,) or (16,) for the product register
    """
    pe = _unbuffered(pe)
    f_clk_mhz = _check_clock(f_clk_mhz)
    model = _buffer_model(pe, f_clk_mhz, register)
    mask = _protected_bits(pe, protected_mask, register)
    width = _register_width(pe, register)
    protected = np.array([(mask >> bit) & 1 for bit in range(width)], dtype=bool) & (model.min_fs >= 0)
    counts = np.where(protected, model.counts_for(int(window_fs)), 0).astype(np.int64)
    step = max(1, int(np.min(model.each_min)))
    required = int(window_fs) + model.t_hold_fs
    for _ in range(_VERIFY_ROUNDS):
        if not counts.any():
            break
        shortest, _ = _built_paths_fs(pe, tuple(int(n) for n in counts), f_clk_mhz, register)
        deficit = np.where(protected, required - shortest, 0)
        if (deficit <= 0).all():
            break
        counts = counts + np.where(deficit > 0, -(-deficit // step), 0)
    return counts


def hold_buffers(
    pe: PEConfig,
    *,
    f_clk_mhz: float,
    protected_mask: int | None = None,
    window_ps: float | None = None,
    product_mask: int = 0,
) -> np.ndarray:
    """Hold-fix buffers each output bit of the PE's Razor-sampled stage gets.

    Parameters
    ----------
    pe : PEConfig
        Without hold buffers.
    f_clk_mhz : float
        Design clock in MHz.
    protected_mask : int, optional
        Bits with a Razor flip-flop (default: every bit); the others get none.
    window_ps : float, optional
        Detection window (default: the largest feasible one, :func:`window_fs`).
    product_mask : int
        Protected product bits sharing the window (the default window is feasible for them too).

    Returns
    -------
    ndarray, int64, shape (pe.width,)
        Buffers per output bit (index 0 = LSB).

    Raises
    ------
    ConfigError
        A window outside the feasible range, or none feasible.
    """
    f_clk_mhz = _check_clock(f_clk_mhz)
    timing = _nominal_timing(_unbuffered(pe), f_clk_mhz)
    window = window_fs(timing, window_ps, pe=pe, protected_mask=protected_mask, product_mask=product_mask)
    return hold_buffer_counts(pe, f_clk_mhz=f_clk_mhz, protected_mask=protected_mask, window_fs=window)


def razor_pe(
    pe: PEConfig, *, f_clk_mhz: float, protected_mask: int, window_ps: float | None = None, product_mask: int = 0
) -> PEConfig:
    """`pe` with the hold-fix buffers of its Razor-protected bits as cells of their stages.

    Parameters
    ----------
    pe : PEConfig
        Without hold buffers.
    f_clk_mhz : float
        Design clock in MHz (the buffers are fixed at nominal VDD and this clock).
    protected_mask : int
        Accumulator bits with a Razor flip-flop.
    window_ps : float, optional
        Detection window (default: the largest feasible one for both registers' bits).
    product_mask : int
        Product register bits with a Razor flip-flop (registered pipeline): their hold
        buffers go between the multiplier stage and the product register. Without protected
        bits in either register `pe` is returned unchanged.

    Returns
    -------
    PEConfig

    Raises
    ------
    ConfigError
        A window outside the feasible range, or none feasible.
    """
    if not protected_mask and not product_mask:
        return pe
    f_clk_mhz = _check_clock(f_clk_mhz)
    timing = _nominal_timing(_unbuffered(pe), f_clk_mhz)
    window = window_fs(timing, window_ps, pe=pe, protected_mask=protected_mask, product_mask=product_mask)
    counts = hold_buffer_counts(pe, f_clk_mhz=f_clk_mhz, protected_mask=protected_mask, window_fs=window)
    product: tuple[int, ...] = ()
    if product_mask:
        product = tuple(
            int(n)
            for n in hold_buffer_counts(
                pe, f_clk_mhz=f_clk_mhz, protected_mask=product_mask, window_fs=window, register="product"
            )
        )
    return _with_buffers(_unbuffered(pe), tuple(int(n) for n in counts), product)


def mean_hold_buffers(built: PEConfig, protected_mask: int, product_mask: int = 0) -> float:
    """Mean hold-fix buffers of a built PE over its protected accumulator bits and product bits (0: none).

    `built`: a PE with its hold buffers (:func:`razor_pe`); a bit without buffers counts 0.
    """
    accumulator = built.hold_buffers or (0,) * built.width
    product = built.product_hold_buffers or (0,) * PRODUCT_BITS
    counts = [accumulator[bit] for bit in range(built.width) if (protected_mask >> bit) & 1]
    counts += [product[bit] for bit in range(PRODUCT_BITS) if (product_mask >> bit) & 1]
    return sum(counts) / len(counts) if counts else 0.0


def retimed(pe: PEConfig, timing: StageTiming) -> StageTiming:
    """`timing`'s operating point (supply or delay scale, clock, setup) for `pe`, e.g. with its hold buffers.

    The per-instance arcs belong to one netlist: a PE built with hold buffers needs its own.

    Parameters
    ----------
    pe : PEConfig
    timing : StageTiming
        Of the same PE without (or with other) hold buffers.

    Returns
    -------
    StageTiming
    """
    setup_ps = timing.t_setup_fs / 1000
    if timing.vdd_v is not None:
        point = OperatingPoint(vdd_v=timing.vdd_v, f_clk_mhz=1e9 / timing.t_clk_fs)
        return stage_timing(pe, operating_point=point, t_setup_ps=setup_ps)
    return stage_timing(pe, t_clk_ps=timing.t_clk_fs / 1000, delay_scale=timing.delay_scale, t_setup_ps=setup_ps)
