"""Razor-style error detection of the PE output bits: detection window, masks, hold fixing.

A protected output bit has a shadow latch beside its flip-flop. The flip-flop samples at
``t_s = T_clk - t_setup`` and the shadow latch at ``t_s + window``; both take every
transition at or before their instant (the semantics of :mod:`pe_models.gate`). Razor
compares the two samples:

* a protected bit is **detected** when its value at ``t_s`` differs from its value at
  ``t_s + window``; the correction writes the **shadow** value;
* a protected bit that is wrong at ``t_s`` but not detected (its last transition is
  later than ``t_s + window``, or it changes and comes back inside the window) is a
  **silent** error;
* a detected bit whose shadow value is still not the settled value is **mis-corrected**
  (the bit also transitions after the window);
* a late transition that returns to the latched value by ``t_s + window`` is not
  detected and harmless.

Every path into a Razor flip-flop must be at least ``window + t_hold`` long, or the next
cycle's data reaches the shadow latch before it closes (the hold, or short-path,
constraint); :func:`hold_buffers` counts the delay buffers each output bit needs.

See ``docs/pe_timing.md`` (section "Razor detection") for the sources of the defaults.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from pe_models.arcs import as_arcs_fs, earliest_arrival_fs
from pe_models.errors import ConfigError
from pe_models.netlist import CONST1, Netlist
from pe_models.pe import PEConfig, StageTiming

__all__ = [
    "DEFAULT_T_HOLD_PS",
    "DEFAULT_WINDOW_FRACTION",
    "HOLD_BUFFER_CELL",
    "hold_buffers",
    "min_path_fs",
    "razor_masks",
    "window_fs",
]

DEFAULT_WINDOW_FRACTION = 0.5
"""Default detection window as a fraction of the clock period: the shadow latch is
clocked by the inverted (half-cycle delayed) clock, as in Razor I (Ernst et al., MICRO
2003). Later designs use shorter windows (a quarter to a half cycle) to cut the hold
buffers; see ``docs/pe_timing.md``."""

DEFAULT_T_HOLD_PS = 10.0
"""Hold time of the Razor flip-flop in ps at nominal VDD (scaled with the cell delays when
the default is used): about 0.7 FO4 of the ``generic-28nm`` library (FO4 ~ 14 ps)."""

HOLD_BUFFER_CELL = "and2"
"""The cell a hold-fix delay buffer is modelled as (an AND2 with tied inputs has the delay
of a non-inverting buffer: a NAND2 plus an inverter)."""


def window_fs(timing: StageTiming, window_ps: float | None, *, field: str = "razor_window_ps") -> int:
    """The Razor detection window in integer fs, validated against the clock period.

    Parameters
    ----------
    timing : StageTiming
    window_ps : float or None
        Window in ps at this operating point, in ``[0, T_clk]``; None: the default
        :data:`DEFAULT_WINDOW_FRACTION` of the clock period.
    field : str
        Name used in error messages.

    Returns
    -------
    int
        Window in fs.

    Raises
    ------
    ConfigError
        ``razor_window_ps: 2000 ps is longer than the clock period 1428.57 ps; allowed: 0..1428.57 ps``.
    """
    period_ps = timing.t_clk_fs / 1000
    if window_ps is None:
        return round(DEFAULT_WINDOW_FRACTION * timing.t_clk_fs)
    ok = isinstance(window_ps, int | float) and not isinstance(window_ps, bool) and math.isfinite(window_ps)
    if not ok:
        raise ConfigError(f"{field}: expected a number of ps in 0..{period_ps:g}, got {window_ps!r}")
    if window_ps < 0:
        raise ConfigError(f"{field}: {window_ps:g} ps is negative; allowed: 0..{period_ps:g} ps")
    if window_ps * 1000 > timing.t_clk_fs:
        raise ConfigError(
            f"{field}: {window_ps:g} ps is longer than the clock period {period_ps:g} ps; allowed: 0..{period_ps:g} ps"
        )
    return round(window_ps * 1000)


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


def _output_stage(pe: PEConfig) -> tuple[Netlist, str]:
    netlist = pe.stages["adder" if pe.pipeline == "registered" else "mac"]
    return netlist, list(netlist.outputs)[-1]


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


def hold_buffers(
    pe: PEConfig, timing: StageTiming, window_ps: float | None, t_hold_ps: float | None = None
) -> np.ndarray:
    """Hold-fix delay buffers each output bit of the PE's timed output stage needs.

    Every path into a Razor flip-flop must be at least ``window + t_hold`` long. The fix
    pads the input pins of the cell that drives the bit (the sum XOR of a ripple-carry
    bit): a pin whose earliest arrival plus the cell delay falls short by ``s`` fs gets
    ``ceil(s / d_buf)`` buffers of delay ``d_buf`` (the :data:`HOLD_BUFFER_CELL` delay at
    this operating point). A bit driven directly by an input needs ``ceil((window +
    t_hold) / d_buf)``. Buffers on a pin that also carries the bit's longest path (the
    carry-in) lengthen it as well; the timing model does not add that delay.

    Parameters
    ----------
    pe : PEConfig
        The adder stage (registered) or the fused MAC is the stage whose outputs Razor
        flip-flops sample.
    timing : StageTiming
        Operating point (cell delays at this VDD).
    window_ps : float or None
        Detection window in ps (None: the default, see :func:`window_fs`).
    t_hold_ps : float, optional
        Hold time of the Razor flip-flop at this operating point in ps (default:
        :data:`DEFAULT_T_HOLD_PS` scaled by the timing's delay scale).

    Returns
    -------
    ndarray, int64, shape (pe.width,)
        Buffers per output bit (index 0 = LSB); select the protected bits with the mask.

    Raises
    ------
    ConfigError
        A window outside ``[0, T_clk]`` or a negative hold time.
    """
    window = window_fs(timing, window_ps)
    if t_hold_ps is None:
        hold = round(DEFAULT_T_HOLD_PS * timing.delay_scale * 1000)
    else:
        ok = isinstance(t_hold_ps, int | float) and not isinstance(t_hold_ps, bool) and math.isfinite(t_hold_ps)
        if not ok or t_hold_ps < 0:
            raise ConfigError(f"t_hold_ps: expected a non-negative number of ps, got {t_hold_ps!r}")
        hold = round(t_hold_ps * 1000)
    required = window + hold
    netlist, output = _output_stage(pe)
    stage = "adder" if pe.pipeline == "registered" else "mac"
    arcs = timing.arcs_fs(stage)
    d_buffer = _buffer_delay_fs(pe, timing)
    earliest = earliest_arrival_fs(netlist, arcs, timing.launch_fs(stage))
    driver = {cell.output: (c, cell) for c, cell in enumerate(netlist.cells)}
    counts = np.zeros(len(netlist.outputs[output]), dtype=np.int64)
    for bit, net in enumerate(netlist.outputs[output]):
        if net <= CONST1:
            continue
        found = driver.get(net)
        if found is None:
            counts[bit] = -(-required // d_buffer)
            continue
        c, cell = found
        for k, pin in enumerate(cell.inputs):
            if pin <= CONST1 or earliest[pin] < 0:
                continue
            short = required - (int(earliest[pin]) + int(arcs[c, k].min()))
            if short > 0:
                counts[bit] += -(-short // d_buffer)
    return counts


def _buffer_delay_fs(pe: PEConfig, timing: StageTiming) -> int:
    """Delay of one hold-fix buffer: the :data:`HOLD_BUFFER_CELL` delay, or with per-instance arcs
    the smallest arc of any instance of that cell in the PE."""
    if timing.cell_delays_fs is not None:
        return int(timing.cell_delays_fs[HOLD_BUFFER_CELL])
    return min(
        int(timing.arcs_fs(name)[c].min())
        for name, netlist in pe.stages.items()
        for c, cell in enumerate(netlist.cells)
        if cell.kind == HOLD_BUFFER_CELL
    )
