"""What one Razor recovery costs the array: stall cycles from the stall network, and buffering.

**Stall cycles.** A protected bit's error flag is known when its shadow latch closes, the
Razor window ``W`` after the clock edge, plus one XOR2 (main vs shadow). The flags of the
recovery's scope are OR-reduced along a tree to its root and the stall is broadcast back
along the same tree; until the stall reaches the farthest PE, the scope keeps computing. So
one recovery costs

    stall_cycles = max(1, ceil((W + t_xor2 + levels * t_or2 + L * t_wire) / T_clk))

cycles: 1 is Razor's restore of the shadow value (Ernst et al., MICRO 2003) when the stall
arrives within the cycle; every further cycle the signal needs is a cycle the scope computed
on a wrong value and repeats. ``levels = ceil(log2(protected bits x PEs of the scope))`` OR2
gates (the energy model's error network counts the same levels), ``L`` the wire from the
farthest PE to the root and back:

* ``global``: an H-tree over the R x C array, root in the middle: ``L = (R + C) x pitch``
  (root to a corner is half the width plus half the height, each way);
* ``column``: a tree along the column: ``L = R x pitch``;
* ``local``: the PE's neighbours, ``L = 2 x pitch``;
* ``drop``: no stall.

The PE pitch is ``sqrt(area / utilisation)`` with the PE area of
:func:`pe_models.energy.pe_area` (its cells, hold buffers included, its flops, and the
Razor latch, comparator and multiplexer of each protected bit) and a placement
utilisation of :data:`PLACEMENT_UTILISATION`. Long wires are repeated: an optimally
repeated line has a delay of ``2.5 sqrt(R0 C0 r c)`` per unit length (Bakoglu and Meindl,
"Optimal interconnection circuits for VLSI", IEEE Trans. Electron Devices 32(5), 1985),
with ``R0 C0 = FO4 / 5`` (logical effort: FO4 = 5 tau with an inverter parasitic of 1;
FO4 taken as the library's BUF delay, two inverters) and the wire's ``r`` and ``c`` of
:data:`WIRE_RESISTANCE_OHM_PER_MM` and :data:`WIRE_CAPACITANCE_FF_PER_MM` at the
technology node. Gates and repeaters run at the array's supply: gate delays scale with the
delay scale, the repeated wire with its square root (``R0 C0`` scales, ``r c`` does not).

**Buffering.** What each policy adds to every PE (flip-flops, clocked every cycle):

* ``global`` with ``k`` stall cycles: ``(k - 1)`` copies of the PE's registers to restore
  the state the scope had when the error happened (none when ``k = 1``);
* ``column``: an elastic FIFO on the PE's horizontal input (the operand crossing columns,
  8 bits + valid) of ``k`` entries, so one recovery of the column does not stop its
  neighbours, plus ``(k - 1)`` register copies;
* ``local``: a one-entry skid buffer on both inputs (the horizontal operand, 8 bits, and
  the vertical one: the partial sum in ws and is, the second operand in os) with their
  valid bits, plus ``(k - 1)`` register copies;
* ``drop``: none.

See ``docs/array_simulation.md`` ("Stall model").
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace

from pe_models.energy import flops_per_pe, pe_area, technology_node_nm
from pe_models.errors import ConfigError
from pe_models.pe import PEConfig, StageTiming
from pe_models.razor import mean_hold_buffers, razor_pe, retimed, window_fs

from .protection import Protection

__all__ = [
    "COPPER_RESISTIVITY_UOHM_CM",
    "PLACEMENT_UTILISATION",
    "WIRE_CAPACITANCE_FF_PER_MM",
    "WIRE_RESISTANCE_OHM_PER_MM",
    "RazorDesign",
    "StallModel",
    "razor_design",
    "recovery_buffer_flops",
    "stall_model",
    "wire_delay_ps_per_mm",
]

COPPER_RESISTIVITY_UOHM_CM = 2.2
"""Effective resistivity of damascene copper wires, uOhm cm (Weste and Harris, *CMOS VLSI
Design*, 4th ed., 2011, sec. 6.2.1: bulk copper 1.7, wires about 2.2 with the barrier;
narrow wires more with surface scattering, up to about 4 for 50 nm widths, which makes the
repeated wire about 35 % slower)."""

_WIRE_45NM_WIDTH_NM = 280.0
_WIRE_45NM_THICKNESS_NM = 504.0
"""Intel's 45 nm metal 7 (semi-global: width 280 nm, thickness 504 nm; Moon et al., Intel
Technology Journal 12(2), 2008, as tabulated by Weste and Harris, 4th ed., sec. 6.1): the
layer a stall or clock tree across the array uses. Scaled by ``node / 45`` in both
dimensions at other nodes."""


def _wire_resistance_ohm_per_mm(node_nm: float) -> float:
    scale = node_nm / 45.0
    area_m2 = _WIRE_45NM_WIDTH_NM * scale * 1e-9 * _WIRE_45NM_THICKNESS_NM * scale * 1e-9
    return COPPER_RESISTIVITY_UOHM_CM * 1e-8 / area_m2 * 1e-3


WIRE_RESISTANCE_OHM_PER_MM = _wire_resistance_ohm_per_mm(45.0)
"""Resistance of the stall network's wire at 45 nm, Ohm/mm (``rho / (w t)``: 156 Ohm/mm);
it scales with ``(45 / node)^2``."""

WIRE_CAPACITANCE_FF_PER_MM = 200.0
"""Wire capacitance, fF/mm: about 0.2 fF/um for any layer and node, since the
capacitance per length depends on the aspect ratios, not the size (Weste and Harris, 4th
ed., sec. 6.2.2)."""

PLACEMENT_UTILISATION = 0.7
"""Fraction of a PE's tile that its cells occupy (typical standard-cell placement density
0.6-0.8; our assumption)."""

_BAKOGLU_FACTOR = 2.5
_FO4_OVER_TAU = 5.0
_OPERAND_BITS = 8


def wire_delay_ps_per_mm(buffer_delay_ps: float, node_nm: float) -> float:
    """Delay of an optimally repeated wire, ps/mm: ``2.5 sqrt(R0 C0 r c)`` with ``R0 C0 = FO4 / 5``.

    Parameters
    ----------
    buffer_delay_ps : float
        Delay of one BUF (about one FO4) at the supply of interest, ps.
    node_nm : float
        Technology node (the wire's cross-section scales with it).

    Returns
    -------
    float
        ps per mm.
    """
    r_ohm_per_mm = _wire_resistance_ohm_per_mm(node_nm)
    rc_ps_per_mm2 = r_ohm_per_mm * WIRE_CAPACITANCE_FF_PER_MM * 1e-3
    return _BAKOGLU_FACTOR * math.sqrt(buffer_delay_ps / _FO4_OVER_TAU * rc_ps_per_mm2)


def _gate_delay_ps(pe: PEConfig, timing: StageTiming, kind: str) -> float:
    """One gate of the error tree or the stall network at the timing's operating point, ps: the
    timing's delay of the cell type, or with a characterised library (per-instance arcs, no
    delay per type) the reasoned library's delay times the delay scale."""
    if timing.cell_delays_fs is not None:
        return timing.cell_delays_fs[kind] / 1000
    return pe.library.delays_ps[kind] * timing.delay_scale


def recovery_buffer_flops(recovery: str, stall_cycles: int, pe: PEConfig, dataflow: str) -> float:
    """Flip-flops a PE adds for the buffering of `recovery` with `stall_cycles` per recovery.

    ``global``: ``(k - 1)`` copies of the PE's registers; ``column``: a k-entry FIFO of the
    horizontal operand (8 bits + valid) plus the copies; ``local``: one-entry skid buffers on
    both inputs (8 bits + the vertical input: the partial sum in ws and is, 8 bits in os;
    two valid bits) plus the copies; ``drop``: none (see the module docstring).
    """
    history = max(0, int(stall_cycles) - 1) * flops_per_pe(pe)
    vertical = _OPERAND_BITS if dataflow == "os" else pe.width
    return {
        "global": float(history),
        "column": float(int(stall_cycles) * (_OPERAND_BITS + 1) + history),
        "local": float(_OPERAND_BITS + vertical + 2 + history),
        "drop": 0.0,
    }[recovery]


@dataclass(frozen=True, kw_only=True)
class StallModel:
    """One recovery's stall and the buffering its policy needs (see the module docstring).

    Attributes
    ----------
    recovery : str
    pitch_um : float
        PE pitch.
    wire_mm : float
        Wire from the farthest PE of the scope to the root and back.
    tree_levels : int
        OR2 levels of the error tree.
    wire_ps_per_mm : float
        Repeated-wire delay at the operating point.
    signal_ps : float
        Window + compare + error tree + wire: when the stall has reached the whole scope,
        after the clock edge.
    t_clk_ps : float
    stall_cycles : int
        Cycles one recovery costs (0 for ``drop``).
    buffer_flops_per_pe : float
        Flip-flops each PE adds for the policy's buffering.
    """

    recovery: str
    pitch_um: float
    wire_mm: float
    tree_levels: int
    wire_ps_per_mm: float
    signal_ps: float
    t_clk_ps: float
    stall_cycles: int
    buffer_flops_per_pe: float


def stall_model(
    *,
    recovery: str,
    rows: int,
    cols: int,
    dataflow: str,
    pe: PEConfig,
    timing: StageTiming,
    window_fs: int,
    protected_bits: int,
    stall_cycles: int | None = None,
    node_nm: float | None = None,
) -> StallModel:
    """The stall of one recovery and the buffering of `recovery` for an R x C array.

    Parameters
    ----------
    recovery : str
        ``global``, ``column``, ``local`` or ``drop``.
    rows, cols : int
        Array shape.
    dataflow : str
        ``ws``, ``is`` or ``os`` (what crosses a PE vertically).
    pe : PEConfig
        The PE as built (with its hold buffers).
    timing : StageTiming
        Operating point (gate and repeater delays scale with its delay scale; only its clock,
        delay scale and per-type delays are read, so the timing of the PE before its hold
        buffers gives the same model).
    window_fs : int
        Razor window.
    protected_bits : int
        Razor flip-flops per PE.
    stall_cycles : int, optional
        Override of the modelled stall cycles (the configs' ``penalty_cycles``, ``--stall-cycles``);
        the buffering follows it.
    node_nm : float, optional
        Technology node (default: from the technology's name).

    Returns
    -------
    StallModel
    """
    if recovery not in ("global", "column", "local", "drop"):
        raise ConfigError(f"recovery: expected one of global, column, local, drop, got {recovery!r}")
    if node_nm is None:
        try:
            node = technology_node_nm(pe.tech)
        except ConfigError:
            raise ConfigError(
                f"penalty_cycles: the stall model needs the node of technology {pe.tech.name!r}, which its name "
                "does not give; allowed: an explicit number of stall cycles (penalty_cycles)"
            ) from None
    else:
        node = float(node_nm)
    area = pe_area(pe, node)
    tile_um2 = (area.pe_um2 + protected_bits * area.razor_extra_um2) / PLACEMENT_UTILISATION
    pitch_um = math.sqrt(tile_um2)
    scopes = {"global": (rows * cols, rows + cols), "column": (rows, rows), "local": (1, 2), "drop": (1, 0)}
    pes, pitches = scopes[recovery]
    wire_mm = pitches * pitch_um * 1e-3
    levels = math.ceil(math.log2(max(2, protected_bits * pes)))
    buffer_ps, xor2_ps, or2_ps = (_gate_delay_ps(pe, timing, kind) for kind in ("buf", "xor2", "or2"))
    wire_ps_per_mm = wire_delay_ps_per_mm(buffer_ps, node)
    signal_ps = window_fs / 1000 + xor2_ps + levels * or2_ps + wire_mm * wire_ps_per_mm
    t_clk_ps = timing.t_clk_fs / 1000
    if stall_cycles is not None:
        cycles = int(stall_cycles)
    elif recovery == "drop":
        cycles = 0
    else:
        cycles = max(1, math.ceil(signal_ps / t_clk_ps - 1e-12))
    buffering = recovery_buffer_flops(recovery, cycles, pe, dataflow)
    return StallModel(
        recovery=recovery,
        pitch_um=pitch_um,
        wire_mm=wire_mm,
        tree_levels=levels,
        wire_ps_per_mm=wire_ps_per_mm,
        signal_ps=signal_ps,
        t_clk_ps=t_clk_ps,
        stall_cycles=cycles,
        buffer_flops_per_pe=buffering,
    )


@dataclass(frozen=True, kw_only=True)
class RazorDesign:
    """A protection as built into an array: the PE with its hold buffers, the window, the stall.

    Attributes
    ----------
    pe : PEConfig
        The PE with the hold-fix buffers of its Razor bits (:func:`pe_models.razor.razor_pe`).
    operating_timing : StageTiming
        The operating point's timing of the PE as given (before buffers were added).
    window_fs : int
        The Razor window (the largest feasible one unless the protection names one).
    protection : Protection
        The protection with ``penalty_cycles`` resolved (the stall model's, unless given).
    stall : StallModel
    buffered : bool
        The buffers were added here (:attr:`timing` retimes the PE with them).
    """

    pe: PEConfig
    operating_timing: StageTiming
    window_fs: int
    protection: Protection
    stall: StallModel
    buffered: bool = False

    @functools.cached_property
    def timing(self) -> StageTiming:
        """The operating point's timing of :attr:`pe` (its arcs include the buffers), computed on
        first use: static timing of a buffered PE off a library corner is the costly part of a
        design, and the stall needs only the operating point (clock, delay scale)."""
        return retimed(self.pe, self.operating_timing) if self.buffered else self.operating_timing

    @functools.cached_property
    def hold_buffers_per_bit(self) -> float:
        """Mean hold buffers over the Razor bits of the built PE (accumulator and product register)."""
        return mean_hold_buffers(self.pe, self.protection.razor_mask, self.protection.product_razor_mask)


@functools.lru_cache(maxsize=256)
def razor_design(
    protection: Protection, *, rows: int, cols: int, dataflow: str, f_clk_mhz: float, pe: PEConfig, timing: StageTiming
) -> RazorDesign:
    """Build `protection` into an R x C array of `pe` clocked at `f_clk_mhz`.

    The window and the hold buffers are designed for the protection's Razor bits
    (:attr:`sim.protection.Protection.razor_mask` and, of the product register,
    :attr:`~sim.protection.Protection.product_razor_mask`) at nominal VDD and `f_clk_mhz`; a
    PE that already has hold buffers is taken as built. The stall is modelled at `timing`'s
    operating point unless the protection gives ``penalty_cycles``. Designs are cached
    (every GEMM of a plan asks for the same one).

    Raises
    ------
    ConfigError
        A window outside the feasible range, or none feasible (one line naming the range).
    """
    bits = protection.razor_mask
    product_bits = protection.product_razor_mask
    field = "Protection.razor_window_ps"
    window = window_fs(
        timing,
        protection.razor_window_ps,
        field=field,
        pe=pe,
        protected_mask=bits,
        protect_field="Protection.protected_mask",
        product_mask=product_bits,
        product_field="Protection.product_mask",
    )
    built = (
        pe
        if pe.hold_buffers or pe.product_hold_buffers
        else razor_pe(pe, f_clk_mhz=f_clk_mhz, protected_mask=bits, window_ps=window / 1000, product_mask=product_bits)
    )
    stall = stall_model(
        recovery=protection.recovery,
        rows=rows,
        cols=cols,
        dataflow=dataflow,
        pe=built,
        timing=timing,
        window_fs=window,
        protected_bits=int(bits).bit_count() + int(product_bits).bit_count(),
        stall_cycles=protection.penalty_cycles,
    )
    resolved = replace(protection, penalty_cycles=stall.stall_cycles, razor_window_ps=window / 1000)
    return RazorDesign(
        pe=built, operating_timing=timing, window_fs=window, protection=resolved, stall=stall, buffered=built != pe
    )
