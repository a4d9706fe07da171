"""Energy of one PE: the characterised cell library or cited constants, gate-level transitions, a toggle model.

By default (:func:`pe_energy_model`) every switching energy, flip-flop energy, leakage and
area comes from the technology's characterised cell library (:func:`energy_cell_library`,
:func:`library_cell_energies`) at the operating supply (:meth:`PEEnergyModel.vdd_scales`);
a technology without one gets the cited constants below.

Every constant is a set of published points (value, node, supply, source). A point is
scaled to the PE's technology node and nominal supply with :func:`node_energy_scale`;
the scaled points give a :class:`Band` (low = smallest, nominal = the designated
source, high = largest). ``docs/energy.md`` lists every constant, its sources and its band.

Datapath switching energy comes from transitions. :func:`net_toggles` runs the same
event-driven transport-delay semantics as :func:`pe_models.gate.simulate_gate` and
counts every transition of every net (glitches included). A transition of net ``i``
costs ``0.5 * C_unit * units[i] * VDD**2`` where ``units`` (:func:`net_capacitance_units`)
is the switched capacitance of the net in unit-inverter input capacitances (logical
effort: parasitic of the driver plus the input capacitance of every driven pin) and
``C_unit`` (fF) is calibrated so that the default PE's multiplier and 32-bit accumulator
adder on uniform random operands cost the cited 8-bit multiply plus 32-bit add energy.
Because every cell delay scales by the same factor with VDD, the transitions of a vector
do not depend on VDD: only the energy per transition does, by
:meth:`pe_models.technology.Technology.dynamic_energy_scale`.

At array level :class:`StageToggleModel` predicts transitions and switched capacitance of a
stage from Hamming distances of its input and output buses, fitted by least squares
against gate-level counts; :attr:`StageToggleModel.validation_error_pct` is its error on a
held-out weight-stationary stream of DNN-like operands.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import numpy as np

from pe_models.disk_cache import persistent
from pe_models.errors import ConfigError
from pe_models.gate import _bits_of, vector_waveforms
from pe_models.liberty import EDGES, SHIPPED_LIBRARIES, CellLibraryData, shipped_cell_library
from pe_models.netlist import OPERAND_BITS, PRODUCT_BITS, Netlist
from pe_models.pe import PEConfig

__all__ = [
    "CONSTANTS",
    "CORE_SOURCES",
    "STAGE_FEATURES",
    "STATIONARY_FLOPS",
    "Band",
    "CellEnergies",
    "Constant",
    "PEArea",
    "PEEnergyModel",
    "SourcePoint",
    "StageToggleModel",
    "VddScales",
    "energy_cell_library",
    "flops_per_pe",
    "leakage_temperature_factor",
    "library_cell_energies",
    "logical_effort_cells",
    "net_capacitance_units",
    "net_toggles",
    "net_toggles_fast",
    "node_energy_scale",
    "pe_area",
    "pe_energy_model",
    "peak_macs_per_s",
    "register_bit_toggles",
    "register_toggles",
    "stage_features",
    "stage_vector_energy_fj",
    "technology_node_nm",
]


@dataclass(frozen=True)
class Band:
    """A quantity with its low, nominal and high estimate (``low <= nominal <= high``)."""

    low: float
    nominal: float
    high: float

    def __post_init__(self) -> None:
        values = (self.low, self.nominal, self.high)
        if not all(math.isfinite(v) for v in values) or not self.low <= self.nominal <= self.high:
            raise ConfigError(f"band: expected finite low <= nominal <= high, got {values}")

    def __add__(self, other: Band) -> Band:
        return Band(self.low + other.low, self.nominal + other.nominal, self.high + other.high)

    def __mul__(self, factor: float) -> Band:
        factor = float(factor)
        if factor < 0:
            raise ConfigError(f"band: cannot scale by a negative factor {factor}")
        return Band(self.low * factor, self.nominal * factor, self.high * factor)

    __rmul__ = __mul__

    def times(self, other: Band) -> Band:
        """Corner-wise product (low x low, nominal x nominal, high x high)."""
        return Band(self.low * other.low, self.nominal * other.nominal, self.high * other.high)

    def corner(self, name: str) -> float:
        """``"low"``, ``"nominal"`` or ``"high"``."""
        return float(getattr(self, name))

    @classmethod
    def exact(cls, value: float) -> Band:
        return cls(value, value, value)


_NO_BAND = Band(0.0, 0.0, 0.0)


_STILLMAKER_NODES_NM = (130.0, 90.0, 65.0, 45.0, 32.0, 20.0, 16.0, 14.0, 10.0, 7.0)
_STILLMAKER_ENERGY = (
    (7.171, -6.709, 2.904),
    (4.762, -4.781, 2.092),
    (3.755, -4.398, 1.975),
    (1.103, -0.362, 0.2767),
    (0.9559, -0.7823, 0.471),
    (0.373, -0.1582, 0.04104),
    (0.2958, -0.1241, 0.03024),
    (0.2363, -0.09675, 0.02239),
    (0.2068, -0.09311, 0.02375),
    (0.1776, -0.09097, 0.02447),
)
"""Stillmaker and Baas, Integration 58 (2017) 74-81, Table: switching energy of a fixed
circuit as ``a V**2 + b V + c`` per node (arbitrary common unit)."""


def _stillmaker_energy(node_nm: float, vdd_v: float) -> float:
    nodes = _STILLMAKER_NODES_NM
    if not nodes[-1] <= node_nm <= nodes[0]:
        raise ConfigError(f"node_nm: {node_nm:g} nm is outside the scaling table; allowed: 7..130 nm")
    for index in range(len(nodes) - 1):
        big, small = nodes[index], nodes[index + 1]
        if small <= node_nm <= big:
            weight = (big - node_nm) / (big - small)
            coefficients = [
                (1 - weight) * x + weight * y
                for x, y in zip(_STILLMAKER_ENERGY[index], _STILLMAKER_ENERGY[index + 1], strict=True)
            ]
            a, b, c = coefficients
            return a * vdd_v**2 + b * vdd_v + c
    raise AssertionError("unreachable")


def node_energy_scale(from_nm: float, from_vdd_v: float, to_nm: float, to_vdd_v: float) -> Band:
    """Switching-energy ratio of the same circuit moved between nodes and supplies.

    Nominal: Stillmaker-Baas (2017) fitted polynomials, coefficients interpolated linearly
    in node between the table's nodes. The other end of the band is constant-field
    scaling, ``C proportional to L`` times ``(V_to / V_from)**2``.

    Returns
    -------
    Band
        Dimensionless ratio energy(to) / energy(from).
    """
    stillmaker = _stillmaker_energy(to_nm, to_vdd_v) / _stillmaker_energy(from_nm, from_vdd_v)
    linear = (to_nm / from_nm) * (to_vdd_v / from_vdd_v) ** 2
    return Band(min(stillmaker, linear), stillmaker, max(stillmaker, linear))


@dataclass(frozen=True)
class SourcePoint:
    """One published value of a constant."""

    value: float
    node_nm: float
    vdd_v: float
    source: str
    node_scaled: bool = True


@dataclass(frozen=True)
class Constant:
    """A cited constant: its published points and which one is nominal."""

    name: str
    unit: str
    meaning: str
    points: tuple[SourcePoint, ...]
    nominal_index: int = 0

    def at(self, node_nm: float, vdd_v: float) -> Band:
        """The constant at a node and nominal supply (see :func:`node_energy_scale`)."""
        scaled = []
        for point in self.points:
            factor = (
                node_energy_scale(point.node_nm, point.vdd_v, node_nm, vdd_v) if point.node_scaled else Band.exact(1.0)
            )
            scaled.append(factor * point.value)
        nominal = scaled[self.nominal_index].nominal
        return Band(min(b.low for b in scaled), nominal, max(b.high for b in scaled))


_HOROWITZ = "Horowitz, ISSCC 2014, 'Computing's energy problem', 45 nm table"
_ALADDIN = "Aladdin (Shao et al., ISCA 2014) 40 nm table as shipped in Accelergy/hwcomponents"
_ALADDIN_GEM5 = "gem5-aladdin power_delay.h (TSMC 40G at 1 GHz)"
_ALADDIN_FUNC = "Aladdin power_func.h (TSMC 40G at 1 GHz, REG_1ns)"

CONSTANTS: Mapping[str, Constant] = MappingProxyType(
    {
        c.name: c
        for c in (
            Constant(
                name="mac8_acc32_pj",
                unit="pJ per MAC",
                meaning="8x8-bit multiply plus 32-bit add, random operands (calibrates C_unit)",
                points=(
                    SourcePoint(0.2 + 0.1, 45.0, 0.9, _HOROWITZ + ": 8-bit multiply 0.2 pJ + 32-bit add 0.1 pJ"),
                    SourcePoint(
                        12.68 * 64 / 1024 + 0.21,
                        40.0,
                        0.9,
                        _ALADDIN + ": 32x32 multiply 12.68 pJ x (8x8)/(32x32) + 32-bit add 0.21 pJ",
                    ),
                ),
            ),
            Constant(
                name="mult8_pj",
                unit="pJ per operation",
                meaning="8x8-bit integer multiply, random operands (check of the gate-level multiplier)",
                points=(
                    SourcePoint(0.2, 45.0, 0.9, _HOROWITZ),
                    SourcePoint(12.68 * 64 / 1024, 40.0, 0.9, _ALADDIN + ": 32x32 12.68 pJ x (8x8)/(32x32)"),
                ),
            ),
            Constant(
                name="add32_pj",
                unit="pJ per operation",
                meaning="32-bit integer add (check of the gate-level adder, MAC band)",
                points=(
                    SourcePoint(0.1, 45.0, 0.9, _HOROWITZ),
                    SourcePoint(0.21, 40.0, 0.9, _ALADDIN),
                ),
            ),
            Constant(
                name="flop_pj",
                unit="pJ per flop per cycle",
                meaning="register bit, clock and data, every cycle",
                points=(
                    SourcePoint(0.009, 40.0, 0.9, _ALADDIN + ": register 0.009 pJ per bit"),
                    SourcePoint((5.7056e-4 + 7.5293e-5), 40.0, 0.9, _ALADDIN_FUNC + ": 0.57 + 0.075 uW at 1 GHz"),
                    SourcePoint(9.158399e-3, 40.0, 0.9, "Aladdin power_func.h variant: REG_1ns 9.16e-3 mW"),
                ),
            ),
            Constant(
                name="leak_mult8_uw",
                unit="uW per 8x8 multiplier",
                meaning="leakage of the multiplier at nominal VDD",
                points=(
                    SourcePoint(80.0 * 64 / 1024, 40.0, 0.9, _ALADDIN + ": 32x32 80 uW x (8x8)/(32x32)"),
                    SourcePoint(25.0 * 64 / 1024, 40.0, 0.9, _ALADDIN_GEM5 + ": MUL 0.025 mW x (8x8)/(32x32)"),
                ),
            ),
            Constant(
                name="leak_adder_bit_uw",
                unit="uW per adder bit",
                meaning="leakage of the accumulator adder per bit at nominal VDD",
                points=(
                    SourcePoint(2.4 / 32, 40.0, 0.9, _ALADDIN + ": 32-bit adder 2.4 uW"),
                    SourcePoint(1.5927 / 32, 40.0, 0.9, _ALADDIN_FUNC + ": ADD 1.59e-3 mW"),
                    SourcePoint(3.911312 / 32, 40.0, 0.9, "Aladdin power_func.h variant: ADD 3.91e-3 mW"),
                ),
            ),
            Constant(
                name="leak_flop_uw",
                unit="uW per flop",
                meaning="leakage of one register bit at nominal VDD",
                points=(
                    SourcePoint(0.074, 40.0, 0.9, "Aladdin power_func.h: REG leakage 7.40e-5 mW"),
                    SourcePoint(0.0533, 40.0, 0.9, _ALADDIN_FUNC + ": REG leakage 5.33e-5 mW"),
                    SourcePoint(0.1308, 40.0, 0.9, "Aladdin power_func.h variant: REG leakage 1.31e-4 mW"),
                ),
            ),
            Constant(
                name="razor_extra_flop_ratio",
                unit="x plain-flop energy",
                meaning="Razor flop minus plain flop per cycle (shadow latch, XOR, metastability detector)",
                points=(
                    SourcePoint(
                        1.0, 45.0, 0.9, "estimate from the Razor flop structure, Ernst et al. MICRO 2003", False
                    ),
                    SourcePoint(0.5, 45.0, 0.9, "shadow latch clocked only (Das et al. JSSC 2006 design)", False),
                    SourcePoint(2.0, 45.0, 0.9, "shadow latch + comparator + detector each a flop", False),
                ),
            ),
        )
    }
)

_GATE_EFFORT: Mapping[str, tuple[float, float]] = MappingProxyType(
    {
        "nand2": (4 / 3, 2.0),
        "and2": (4 / 3, 4.0),
        "or2": (5 / 3, 4.0),
        "xor2": (4.0, 4.0),
        "xor3": (12.0, 12.0),
        "maj3": (2.0, 6.0),
        "ao21": (2.0, 13 / 3),
    }
)
"""Cell -> (logical effort g per input pin, switched parasitic p) in unit-inverter input
capacitances (Sutherland, Sproull and Harris, *Logical Effort*, 1999, Table 4.2: NAND2
4/3 and 2, XOR2 4 and 4, 3-input parity 12 and 12, majority 2 and 6). AND2, OR2 and AO21
are NAND2, NOR2 and AOI21 plus an inverter: the internal node (p + 1) and the inverter's
parasitic 1 switch with the output."""

_FLOP_D_UNITS = 1.0
_FLOP_Q_UNITS = 1.0


@dataclass(frozen=True, kw_only=True, eq=False)
class CellEnergies:
    """Per-cell energies, capacitances, leakage and areas of one characterised library at one
    supply and temperature: what the core's energy model takes from a cell library.

    A characterised library (ngspice on the technology's card, e.g. the ``cells`` work's
    Liberty reader) builds one of these at the technology's nominal VDD and a temperature;
    :func:`pe_energy_model` then takes every switching energy, flop energy, leakage and area
    from it (one source), counted with the same toggle model. Units: fJ, fF, nW, um^2.

    Attributes
    ----------
    name : str
        Where the figures come from (stated in every output).
    vdd_v, temperature_c : float
        The corner they were characterised at.
    output_transition_fj : mapping of str to float
        Energy drawn per output transition of each cell kind with no external load
        (internal and parasitic), fJ.
    pin_capacitance_ff : mapping of str to float
        Input capacitance of each cell kind's pins (mean over its pins), fF.
    flop_d_ff, flop_q_transition_fj : float
        The flip-flop's D-pin capacitance and the energy per Q transition without load.
    flop_clock_fj : float
        Energy of one flop clocked for one cycle (its clock pin and internal clock nets, both edges).
    flop_data_fj : float
        Internal energy per output transition of a flop beyond ``flop_q_transition_fj``.
    leakage_nw : mapping of str to float
        Leakage per cell kind and of the flip-flop (key ``"dff"``), nW.
    area_um2 : mapping of str to float
        Area per cell kind, the flip-flop (``"dff"``), a latch (``"latch"``), a 2:1
        multiplexer (``"mux2"``), and a buffer (``"buf"``); the Razor flip-flop
        (``"razor_dff"``) when characterised.
    razor_clock_fj, razor_data_fj, razor_leakage_nw : float or None
        The characterised Razor flip-flop's clock energy per cycle (as ``flop_clock_fj``),
        energy per D transition and leakage; None when the library has none.
    razor_q_transition_fj, razor_d_ff : float or None
        The Razor flip-flop's energy per Q transition without load (as
        ``flop_q_transition_fj``) and its D-pin capacitance; None when the library has none.
    """

    name: str
    vdd_v: float
    temperature_c: float
    output_transition_fj: Mapping[str, float]
    pin_capacitance_ff: Mapping[str, float]
    flop_d_ff: float
    flop_q_transition_fj: float
    flop_clock_fj: float
    flop_data_fj: float
    leakage_nw: Mapping[str, float]
    area_um2: Mapping[str, float]
    razor_clock_fj: float | None = None
    razor_data_fj: float | None = None
    razor_leakage_nw: float | None = None
    razor_q_transition_fj: float | None = None
    razor_d_ff: float | None = None

    def razor_transition_extra_fj(self) -> float | None:
        """Razor flip-flop minus flip-flop per transition of the bit it holds, fJ: its D edge
        (``razor_data_fj - flop_data_fj``), its Q transition (``razor_q_transition_fj -
        flop_q_transition_fj``) and the larger D pin its driver charges (``0.5 (razor_d_ff -
        flop_d_ff) VDD**2``); None without a characterised Razor flip-flop."""
        if self.razor_data_fj is None or self.razor_q_transition_fj is None or self.razor_d_ff is None:
            return None
        return (
            self.razor_data_fj
            - self.flop_data_fj
            + self.razor_q_transition_fj
            - self.flop_q_transition_fj
            + 0.5 * (self.razor_d_ff - self.flop_d_ff) * self.vdd_v**2
        )

    def net_energy_fj(self, netlist: Netlist) -> np.ndarray:
        """Energy per transition of every net: its driver's output energy plus ``0.5 C V**2``
        of every pin it drives (a flop's D pin for each output bit), fJ; 0 for the constant nets."""
        energy = np.zeros(netlist.n_nets, dtype=np.float64)
        half_v2 = 0.5 * self.vdd_v**2
        for nets in netlist.inputs.values():
            energy[nets] += self.flop_q_transition_fj
        for cell in netlist.cells:
            energy[cell.output] += self.output_transition_fj[cell.kind]
            for net in cell.inputs:
                energy[net] += half_v2 * self.pin_capacitance_ff[cell.kind]
        for nets in netlist.outputs.values():
            for net in nets:
                energy[net] += half_v2 * self.flop_d_ff
        energy[:2] = 0.0
        return energy


_CELL_ENERGIES_REFERENCE_FF = 1.0
"""With a :class:`CellEnergies` library, one "unit" of the toggle model is 1 fF switched at
the library's supply: units = energy / (0.5 x 1 fF x VDD**2)."""


def net_capacitance_units(netlist: Netlist, cells: CellEnergies | None = None) -> np.ndarray:
    """Switched capacitance of each net per transition, in unit-inverter input capacitances.

    Driver parasitic (a flop's Q for input buses) plus the input capacitance of every
    cell pin the net drives, plus a flop D pin per output-bus bit. With `cells`, the
    library's energy per transition expressed in fF switched at its supply
    (:meth:`CellEnergies.net_energy_fj` / ``0.5 VDD**2``).

    Returns
    -------
    ndarray, float64, shape (netlist.n_nets,)
        0 for the constant nets 0 and 1.
    """
    if cells is not None:
        return cells.net_energy_fj(netlist) / (0.5 * cells.vdd_v**2 * _CELL_ENERGIES_REFERENCE_FF)
    units = np.zeros(netlist.n_nets, dtype=np.float64)
    for nets in netlist.inputs.values():
        units[nets] += _FLOP_Q_UNITS
    for cell in netlist.cells:
        effort, parasitic = _GATE_EFFORT[cell.kind]
        units[cell.output] += parasitic
        for net in cell.inputs:
            units[net] += effort
    for nets in netlist.outputs.values():
        for net in nets:
            units[net] += _FLOP_D_UNITS
    units[:2] = 0.0
    return units


def net_toggles(
    netlist: Netlist,
    old_inputs: Mapping[str, np.ndarray],
    new_inputs: Mapping[str, np.ndarray],
    *,
    delays_fs: Mapping[str, int],
) -> np.ndarray:
    """Transitions of every net in one clock cycle per vector, glitches included.

    The semantics of :func:`pe_models.gate.simulate_gate` (transport delays, primary
    inputs switch at t = 0, simultaneous input events evaluated together); each net's
    waveform is computed in topological order and its transitions counted.

    Parameters
    ----------
    netlist : Netlist
    old_inputs, new_inputs : mapping of str to ndarray
        Input bus values (two's complement accepted) before and after the edge, shape (n,).
    delays_fs : mapping of str to int
        Delay per cell type in fs.

    Returns
    -------
    ndarray, int64, shape (n, netlist.n_nets)
        Transitions per vector and net (primary inputs: their Hamming distance).
    """
    cells = [(cell.kind, cell.inputs, cell.output, int(delays_fs[cell.kind])) for cell in netlist.cells]
    old_bits = {name: _bits_of(old_inputs[name], len(nets)) for name, nets in netlist.inputs.items()}
    new_bits = {name: _bits_of(new_inputs[name], len(nets)) for name, nets in netlist.inputs.items()}
    n = next(iter(old_bits.values())).shape[1]
    toggles = np.zeros((n, netlist.n_nets), dtype=np.int64)
    for v in range(n):
        _, times, _ = vector_waveforms(netlist, cells, old_bits, new_bits, v)
        toggles[v] = [len(t) for t in times]
    return toggles


def net_toggles_fast(
    netlist: Netlist,
    old_inputs: Mapping[str, np.ndarray],
    new_inputs: Mapping[str, np.ndarray],
    *,
    delays_fs: Mapping[str, int],
) -> np.ndarray:
    """:func:`net_toggles` compiled with numba (same arguments, same result).

    Falls back to the Python reference when a net switches more than
    ``GATE_MAX_EVENTS`` times in a cycle.
    """
    from pe_models.gate import _encoded
    from pe_models.kernels import net_toggle_lanes

    bus_names = list(netlist.inputs)
    old = np.stack([np.asarray(old_inputs[name], dtype=np.int64) for name in bus_names])
    new = np.stack([np.asarray(new_inputs[name], dtype=np.int64) for name in bus_names])
    delays = np.array([int(delays_fs[cell.kind]) for cell in netlist.cells], dtype=np.int64)
    toggles = np.zeros((old.shape[1], netlist.n_nets), dtype=np.int64)
    done = net_toggle_lanes(_encoded(netlist), delays, old, new, toggles)
    if not done:
        return net_toggles(netlist, old_inputs, new_inputs, delays_fs=delays_fs)
    return toggles


def _popcount(values: np.ndarray) -> np.ndarray:
    return np.bitwise_count(np.asarray(values, dtype=np.int64).astype(np.uint64)).astype(np.float64)


def _hd(old: np.ndarray, new: np.ndarray, width: int) -> np.ndarray:
    mask = np.int64(-1) if width >= 64 else np.int64((1 << width) - 1)
    return _popcount((np.asarray(old, dtype=np.int64) ^ np.asarray(new, dtype=np.int64)) & mask)


STAGE_FEATURES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "multiplier": ("hd_a", "hd_b", "hd_pp", "hd_product", "hd_pp_squared"),
        "adder": ("hd_product", "hd_c", "hd_sum", "hd_carry"),
        "mac": ("hd_a", "hd_b", "hd_pp", "hd_c", "hd_product", "hd_sum", "hd_carry", "hd_pp_squared"),
    }
)
"""Regressors of each stage's toggle model: Hamming distances between the previous and
the current MAC of the stage's buses (no constant: a MAC whose inputs do not change
switches nothing); ``hd_pp`` counts the partial products
``a_i b_j`` that change, ``|a0||b0| + |a1||b1| - 2 |a0 & a1||b0 & b1|`` (``|x|`` = set bits);
``hd_carry`` the carries into the accumulator's bits that change (carry vector
``(c + p) ^ c ^ p``)."""


def _wrap(values: np.ndarray, width: int) -> np.ndarray:
    return np.asarray(values, dtype=np.int64) & np.int64((1 << width) - 1)


def stage_features(
    stage: str,
    old: Mapping[str, np.ndarray],
    new: Mapping[str, np.ndarray],
    *,
    width: int,
) -> np.ndarray:
    """Toggle-model regressors of consecutive MACs of one PE.

    Parameters
    ----------
    stage : str
        ``"multiplier"``, ``"adder"`` or ``"mac"`` (fused).
    old, new : mapping of str to ndarray
        ``a``, ``b`` (int8 values) and ``c`` (incoming partial sum) of the previous and
        the current MAC, each of shape (n,).
    width : int
        Accumulator width in bits.

    Returns
    -------
    ndarray, float64, shape (n, len(STAGE_FEATURES[stage]))
    """
    a0, b0, c0 = (np.asarray(old[k], dtype=np.int64) for k in "abc")
    a1, b1, c1 = (np.asarray(new[k], dtype=np.int64) for k in "abc")
    p0, p1 = a0 * b0, a1 * b1
    columns: dict[str, np.ndarray] = {
        "hd_a": _hd(a0, a1, OPERAND_BITS),
        "hd_b": _hd(b0, b1, OPERAND_BITS),
        "hd_c": _hd(c0, c1, width),
        "hd_product": _hd(p0, p1, PRODUCT_BITS),
        "hd_sum": _hd(_wrap(c0 + p0, width), _wrap(c1 + p1, width), width),
    }
    ones = {
        name: _popcount(_wrap(value, OPERAND_BITS)) for name, value in (("a0", a0), ("a1", a1), ("b0", b0), ("b1", b1))
    }
    both_a = _popcount(_wrap(a0 & a1, OPERAND_BITS))
    both_b = _popcount(_wrap(b0 & b1, OPERAND_BITS))
    columns["hd_pp"] = ones["a0"] * ones["b0"] + ones["a1"] * ones["b1"] - 2 * both_a * both_b
    columns["hd_pp_squared"] = columns["hd_pp"] ** 2 / 64.0
    carry0 = _wrap((c0 + p0) ^ c0 ^ p0, width)
    carry1 = _wrap((c1 + p1) ^ c1 ^ p1, width)
    columns["hd_carry"] = _hd(carry0, carry1, width)
    return np.stack([columns[name] for name in STAGE_FEATURES[stage]], axis=1)


def _stage_inputs(stage: str, operands: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    a, b, c = (np.asarray(operands[k], dtype=np.int64) for k in "abc")
    if stage == "multiplier":
        return {"a": a, "b": b}
    if stage == "adder":
        return {"product": a * b, "c": c}
    return {"a": a, "b": b, "c": c}


@dataclass(frozen=True, kw_only=True)
class StageToggleModel:
    """Linear toggle model of one stage, fitted to gate-level counts.

    Attributes
    ----------
    stage : str
    features : tuple of str
        Names of the regressors (:data:`STAGE_FEATURES`).
    toggle_coefficients, unit_coefficients : ndarray, float64, shape (len(features),)
        Transitions and switched capacitance units per regressor unit.
    validation_error_pct : float
        Error of the predicted total transitions against gate-level counts on a held-out
        weight-stationary stream of DNN-like operands, percent (signed).
    validation_rms_pct : float
        RMS per-MAC error of the predicted transitions, percent of the mean count.
    random_units_per_mac : float
        Gate-level mean switched capacitance units per MAC: the previous MAC's operands with
        random bit flips, the current one's int8 operands uniform random, partial sums of
        random magnitude.
    """

    stage: str
    features: tuple[str, ...]
    toggle_coefficients: np.ndarray = field(repr=False)
    unit_coefficients: np.ndarray = field(repr=False)
    validation_error_pct: float
    validation_rms_pct: float
    random_units_per_mac: float

    def predict_units(self, features: np.ndarray) -> np.ndarray:
        """Switched capacitance units per MAC, clipped at 0."""
        return np.maximum(features @ self.unit_coefficients, 0.0)

    def predict_toggles(self, features: np.ndarray) -> np.ndarray:
        """Transitions per MAC, clipped at 0."""
        return np.maximum(features @ self.toggle_coefficients, 0.0)


def _random_training_operands(seed: int, n: int, width: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Consecutive operand pairs spanning every switching activity (see docs/energy.md)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    a0 = rng.integers(-128, 128, n)
    b0 = rng.integers(-128, 128, n)
    flip_a = rng.random(n)[:, None] > rng.random((n, OPERAND_BITS))
    flip_b = rng.random(n)[:, None] > rng.random((n, OPERAND_BITS))
    flip_b[: n // 2] = False
    weights = 1 << np.arange(OPERAND_BITS)
    a1 = _signed8(a0 ^ (flip_a @ weights))
    b1 = _signed8(b0 ^ (flip_b @ weights))
    magnitude = 2.0 ** rng.uniform(2, 23, n)
    c0 = np.rint(rng.standard_normal(n) * magnitude).astype(np.int64)
    independent = rng.random(n) < 0.5
    c1 = np.where(independent, np.rint(rng.standard_normal(n) * magnitude).astype(np.int64), c0 + a0 * b0)
    limit = 1 << (width - 1)
    c0, c1 = np.clip(c0, -limit, limit - 1), np.clip(c1, -limit, limit - 1)
    return {"a": a0, "b": b0, "c": c0}, {"a": a1, "b": b1, "c": c1}


def _signed8(values: np.ndarray) -> np.ndarray:
    return ((np.asarray(values, dtype=np.int64) + 128) & 0xFF) - 128


def _validation_stream(seed: int, width: int, steps: int = 400, depth: int = 8, columns: int = 1) -> tuple[dict, dict]:
    """Weight-stationary PE streams: ReLU-like activations, Gaussian weights, real partial sums.

    `columns` GEMM columns of `depth` rows; every (row, column) is a PE whose consecutive
    MACs are consecutive activations; `steps` MACs in total over the PEs.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    per_pe = max(2, -(-steps // (depth * columns)) + 1)
    zeros = rng.random((per_pe, depth)) < 0.5
    magnitudes = np.clip(np.rint(np.abs(rng.normal(0, 40, (per_pe, depth)))), 0, 127)
    activations = np.where(zeros, 0, magnitudes).astype(np.int64)
    weights = np.clip(np.rint(rng.normal(0, 25, (depth, columns))), -128, 127).astype(np.int64)
    products = activations[:, :, None] * weights[None, :, :]
    partial = np.cumsum(products, axis=1) - products
    a = np.broadcast_to(activations[:, :, None], products.shape).transpose(1, 2, 0).reshape(-1, per_pe)
    b = np.broadcast_to(weights[None], products.shape).transpose(1, 2, 0).reshape(-1, per_pe)
    c = partial.transpose(1, 2, 0).reshape(-1, per_pe)
    old = {"a": a[:, :-1].ravel()[:steps], "b": b[:, :-1].ravel()[:steps], "c": c[:, :-1].ravel()[:steps]}
    new = {"a": a[:, 1:].ravel()[:steps], "b": b[:, 1:].ravel()[:steps], "c": c[:, 1:].ravel()[:steps]}
    return old, new


_TOGGLE_SOURCES = ("energy.py", "gate.py")
"""Files whose code decides a toggle model (the numba toggle kernel is tested equal to gate.py)."""


def _netlist_key(netlist: Netlist) -> dict[str, object]:
    return {
        "cells": [[cell.kind, list(cell.inputs), cell.output] for cell in netlist.cells],
        "inputs": netlist.inputs,
        "outputs": netlist.outputs,
        "nets": netlist.n_nets,
    }


def _fit_key(
    stage: str,
    netlist: Netlist,
    delays_fs: Mapping[str, int],
    width: int,
    samples: int,
    cells: CellEnergies | None = None,
) -> dict[str, object]:
    return {
        "stage": stage,
        "netlist": _netlist_key(netlist),
        "delays_fs": [[str(kind), repr(delay)] for kind, delay in sorted(delays_fs.items())],
        "width": width,
        "samples": samples,
        "cells": None if cells is None else repr(cells),
    }


def _encode_stage(model: StageToggleModel) -> dict[str, object]:
    return {
        "stage": model.stage,
        "features": list(model.features),
        "toggle_coefficients": [float(v) for v in model.toggle_coefficients],
        "unit_coefficients": [float(v) for v in model.unit_coefficients],
        "validation_error_pct": model.validation_error_pct,
        "validation_rms_pct": model.validation_rms_pct,
        "random_units_per_mac": model.random_units_per_mac,
    }


def _decode_stage(value: dict[str, Any]) -> StageToggleModel:
    return StageToggleModel(
        stage=str(value["stage"]),
        features=tuple(str(name) for name in value["features"]),
        toggle_coefficients=np.array(value["toggle_coefficients"], dtype=np.float64),
        unit_coefficients=np.array(value["unit_coefficients"], dtype=np.float64),
        validation_error_pct=float(value["validation_error_pct"]),
        validation_rms_pct=float(value["validation_rms_pct"]),
        random_units_per_mac=float(value["random_units_per_mac"]),
    )


@persistent("toggle-models", key=_fit_key, encode=_encode_stage, decode=_decode_stage, sources=_TOGGLE_SOURCES)
def _fit_stage(
    stage: str,
    netlist: Netlist,
    delays_fs: Mapping[str, int],
    width: int,
    samples: int,
    cells: CellEnergies | None = None,
) -> StageToggleModel:
    units = net_capacitance_units(netlist, cells)
    old, new = _random_training_operands(1, samples // 4, width)
    sold, snew = _validation_stream(11, width, steps=samples - samples // 4, depth=32, columns=32)
    old = {k: np.concatenate([old[k], sold[k]]) for k in "abc"}
    new = {k: np.concatenate([new[k], snew[k]]) for k in "abc"}
    toggles = net_toggles_fast(netlist, _stage_inputs(stage, old), _stage_inputs(stage, new), delays_fs=delays_fs)
    features = stage_features(stage, old, new, width=width)
    cell_nets = np.array([cell.output for cell in netlist.cells], dtype=np.int64)
    counts = toggles[:, cell_nets].sum(axis=1).astype(np.float64)
    switched = (toggles * units).sum(axis=1)
    toggle_coefficients = np.linalg.lstsq(features, counts, rcond=None)[0]
    unit_coefficients = np.linalg.lstsq(features, switched, rcond=None)[0]
    rold, rnew = _random_training_operands(2, samples // 2, width)
    fresh = np.random.default_rng(np.random.SeedSequence(3))
    for key in ("a", "b"):
        rnew[key] = fresh.integers(-128, 128, samples // 2)
    random_toggles = net_toggles_fast(
        netlist, _stage_inputs(stage, rold), _stage_inputs(stage, rnew), delays_fs=delays_fs
    )
    vold, vnew = _validation_stream(4, width, steps=2000, depth=8, columns=8)
    vtoggles = net_toggles_fast(netlist, _stage_inputs(stage, vold), _stage_inputs(stage, vnew), delays_fs=delays_fs)
    vcounts = vtoggles[:, cell_nets].sum(axis=1).astype(np.float64)
    predicted = np.maximum(stage_features(stage, vold, vnew, width=width) @ toggle_coefficients, 0.0)
    mean = max(float(vcounts.mean()), 1e-12)
    return StageToggleModel(
        stage=stage,
        features=STAGE_FEATURES[stage],
        toggle_coefficients=toggle_coefficients,
        unit_coefficients=unit_coefficients,
        validation_error_pct=100.0 * (float(predicted.sum()) - float(vcounts.sum())) / max(float(vcounts.sum()), 1e-12),
        validation_rms_pct=100.0 * float(np.sqrt(np.mean((predicted - vcounts) ** 2))) / mean,
        random_units_per_mac=float((random_toggles * units).sum(axis=1).mean()),
    )


def flops_per_pe(pe: PEConfig) -> int:
    """Flip-flops of one PE: operand registers (2 x 8), product register (16, registered
    pipeline only) and the partial-sum register (accumulator width)."""
    product = PRODUCT_BITS if pe.pipeline == "registered" else 0
    return 2 * OPERAND_BITS + product + pe.width


STATIONARY_FLOPS = OPERAND_BITS
"""Flops of the stationary operand register (the weight in ``ws``, the input in ``is``): loaded
once per fold, clock-gated the rest of it."""


def register_toggles(pe: PEConfig, old: Mapping[str, np.ndarray], new: Mapping[str, np.ndarray]) -> np.ndarray:
    """Output transitions of the PE's registers from one MAC to the next.

    The streamed operand register (``hd_a``), the stationary one (``hd_b``, 0 while it holds),
    the product register (``hd_product``, registered pipeline only) and the partial-sum
    register the PE passes on (``hd_sum``).

    Returns
    -------
    ndarray, float64, shape (n,)
    """
    a0, b0, c0 = (np.asarray(old[k], dtype=np.int64) for k in "abc")
    a1, b1, c1 = (np.asarray(new[k], dtype=np.int64) for k in "abc")
    p0, p1 = a0 * b0, a1 * b1
    toggles = _hd(a0, a1, OPERAND_BITS) + _hd(b0, b1, OPERAND_BITS)
    toggles = toggles + _hd(_wrap(c0 + p0, pe.width), _wrap(c1 + p1, pe.width), pe.width)
    if pe.pipeline == "registered":
        toggles = toggles + _hd(p0, p1, PRODUCT_BITS)
    return toggles


def register_bit_toggles(
    pe: PEConfig, old: Mapping[str, np.ndarray], new: Mapping[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Output transitions of each bit of the partial-sum and the product register from one MAC to the next.

    The bits :func:`register_toggles` counts in ``hd_sum`` and ``hd_product``, one by one:
    bit ``i`` of the partial-sum register the PE passes on (``c + a b`` wrapped to the
    accumulator width) and of the product register (``a b``, 16-bit two's complement;
    registered pipeline only, else all zero).

    Returns
    -------
    (sum_bits, product_bits) : ndarrays, float64, shapes (n, pe.width) and (n, 16)
        1.0 where the bit changes, bit 0 in column 0.
    """
    a0, b0, c0 = (np.asarray(old[k], dtype=np.int64) for k in "abc")
    a1, b1, c1 = (np.asarray(new[k], dtype=np.int64) for k in "abc")
    p0, p1 = a0 * b0, a1 * b1
    changed_sum = _wrap(c0 + p0, pe.width) ^ _wrap(c1 + p1, pe.width)
    sum_bits = ((changed_sum[:, None] >> np.arange(pe.width, dtype=np.int64)[None, :]) & 1).astype(np.float64)
    product_bits = np.zeros((len(a1), PRODUCT_BITS), dtype=np.float64)
    if pe.pipeline == "registered":
        changed_product = _wrap(p0 ^ p1, PRODUCT_BITS)
        product_bits = ((changed_product[:, None] >> np.arange(PRODUCT_BITS, dtype=np.int64)[None, :]) & 1).astype(
            np.float64
        )
    return sum_bits, product_bits


@lru_cache(maxsize=1)
def _leakage_table() -> tuple[np.ndarray, np.ndarray]:
    from importlib import resources

    text = resources.files("pe_models.technology_data").joinpath("ptm-32nm-hp-leakage-temperature.csv").read_text()
    rows = [line.split(",") for line in text.splitlines() if line and not line.startswith(("#", "temperature"))]
    return np.array([float(r[0]) for r in rows]), np.array([float(r[1]) for r in rows])


LEAKAGE_TEMPERATURE_RANGE_C = (0.0, 110.0)


def leakage_temperature_factor(temperature_c: float) -> float:
    """Leakage power at `temperature_c` over its value at 27 degC.

    From ngspice on the shipped PTM 32 nm HP card (``ptm-32nm-hp-leakage-temperature.csv``:
    two inverters at 0.9 V, 0..110 degC), interpolated linearly in ``log(leakage)``; the
    cited leakage constants are taken as 27 degC values. 2.96 at 85 degC.

    Raises
    ------
    ConfigError
        A temperature outside 0..110 degC.
    """
    low, high = LEAKAGE_TEMPERATURE_RANGE_C
    if isinstance(temperature_c, bool) or not isinstance(temperature_c, int | float):
        raise ConfigError(f"temperature_c: expected a number of degC in 0..110, got {temperature_c!r}")
    if not low <= float(temperature_c) <= high:
        raise ConfigError(f"temperature_c: {temperature_c!r} is outside the leakage table; allowed: 0..110 degC")
    temperatures, currents = _leakage_table()
    logs = np.log(currents)
    at = float(np.interp(float(temperature_c), temperatures, logs))
    return float(np.exp(at - np.interp(27.0, temperatures, logs)))


def peak_macs_per_s(pes: int, f_clk_mhz: float) -> float:
    """Peak throughput: one MAC per PE per cycle, MAC/s (2 operations per MAC)."""
    return float(pes) * float(f_clk_mhz) * 1e6


def technology_node_nm(technology: object) -> float:
    """The node in nm named in a technology preset (``generic-28nm`` -> 28).

    Parameters
    ----------
    technology : Technology or TabulatedTechnology
        Anything with a ``name``.

    Raises
    ------
    ConfigError
        If the name carries no ``<number>nm``; give ``node_nm`` explicitly then.
    """
    name = str(getattr(technology, "name", ""))
    match = re.search(r"(\d+(?:\.\d+)?)\s*nm", name)
    if match is None:
        raise ConfigError(f"node_nm: technology {name!r} names no node; allowed: give node_nm in 7..130 nm")
    return float(match.group(1))


CORE_SOURCES = (
    "switching of the datapath and of the flip-flops (clock and data): logical-effort capacitance units x C_unit "
    "calibrated on Horowitz's 8-bit multiply + 32-bit add (one source, docs/energy.md); leakage: Aladdin tables "
    "(cited, a second source: the leakage share mixes the two); areas: Nangate 45 nm X1 cells scaled to the node"
)
"""Where the core's energies and areas come from (every energy output states it)."""

_FLOP_CLOCK_UNITS = 8.0
"""Clock capacitance of one static master-slave flip-flop in unit-inverter capacitances: the
CK pin (1), the local clock inverters' parasitics and inputs (clkb: 1 + 1, clk: 1) and the
four transmission gates they drive (about 1 per clock phase each side, 4), rounded to 8
(Weste and Harris, *CMOS VLSI Design*, 4th ed., 2011, Fig. 10.20: transmission-gate flop
with local clock inversion). Every clock net switches up and down once per cycle."""

_CLOCK_TREE_UNITS = 2.0
"""Clock distribution per flop (wire and the last buffer stage's share), unit capacitances;
our assumption, about two flop clock pins."""

_FLOP_DATA_UNITS = 8.0
"""Internal nodes of the flop switching when its output changes: master and slave storage
nodes with their feedback inverters (four nets of about 2 units each); the D and Q pins
are already loads of the netlist's nets (:func:`net_capacitance_units`)."""

_NANGATE_UM2 = MappingProxyType(
    {
        "inv": 0.532,
        "buf": 0.798,
        "nand2": 0.798,
        "and2": 1.064,
        "or2": 1.064,
        "xor2": 1.596,
        "xor3": 4.256 * 16 / 28,
        "maj3": 4.256 * 12 / 28,
        "ao21": 1.064 + 0.532,
        "dff": 4.522,
        "latch": 2.660,
        "mux2": 1.862,
    }
)
"""Cell areas in um^2 at 45 nm: Nangate 45 nm Open Cell Library, X1 drive (INV 0.532, BUF
0.798, NAND2 0.798, AND2 1.064, OR2 1.064, XOR2 1.596, DFF 4.522, DLH latch 2.660, MUX2
1.862; AO21 = AOI21 1.064 + INV); XOR3 and MAJ3, which the library lacks, are the sum and
carry halves of its mirror full adder FA_X1 (4.256) split by transistor count (16 : 12)."""


@dataclass(frozen=True, kw_only=True)
class PEArea:
    """Area of one PE and of what a protected bit adds, um^2 at the model's node.

    Attributes
    ----------
    cells_um2 : float
        The datapath's logic cells (multiplier, adder).
    flops_um2 : float
        Its flip-flops.
    razor_extra_um2 : float
        A Razor flop minus a plain flop: shadow latch, XOR comparator, restore multiplexer.
    hold_buffer_um2 : float
        One hold-fix buffer.
    source : str
    flops : int
        The PE's flip-flops (``flops_um2 / flops`` is one flip-flop, the unit of the recovery
        buffering).
    """

    cells_um2: float
    flops_um2: float
    razor_extra_um2: float
    hold_buffer_um2: float
    source: str
    flops: int = 0

    @property
    def pe_um2(self) -> float:
        """The unprotected PE, ``cells + flops``."""
        return self.cells_um2 + self.flops_um2

    def protected_um2(
        self, protected_bits: float, hold_buffers_per_bit: float, recovery_flops_per_pe: float = 0.0
    ) -> float:
        """What `protected_bits` Razor flops with their hold-fix buffers, and the recovery
        policy's `recovery_flops_per_pe` buffering flops, add to a PE."""
        flop_um2 = self.flops_um2 / self.flops if self.flops else 0.0
        razor = protected_bits * (self.razor_extra_um2 + hold_buffers_per_bit * self.hold_buffer_um2)
        return razor + recovery_flops_per_pe * flop_um2

    def overhead_pct(
        self, protected_bits: float, hold_buffers_per_bit: float, recovery_flops_per_pe: float = 0.0
    ) -> float:
        """Area overhead of the protection in percent of the unprotected PE."""
        return 100.0 * self.protected_um2(protected_bits, hold_buffers_per_bit, recovery_flops_per_pe) / self.pe_um2


def pe_area(pe: PEConfig, node_nm: float) -> PEArea:
    """Area of `pe` from the cell counts of its netlists and :data:`_NANGATE_UM2` scaled by
    ``(node_nm / 45)**2``."""
    scale = (float(node_nm) / 45.0) ** 2
    cells = sum(_NANGATE_UM2[cell.kind] for netlist in pe.stages.values() for cell in netlist.cells)
    flops = flops_per_pe(pe) * _NANGATE_UM2["dff"]
    razor = _NANGATE_UM2["latch"] + _NANGATE_UM2["xor2"] + _NANGATE_UM2["mux2"]
    return PEArea(
        cells_um2=cells * scale,
        flops_um2=flops * scale,
        razor_extra_um2=razor * scale,
        hold_buffer_um2=_NANGATE_UM2["buf"] * scale,
        source=f"Nangate 45 nm Open Cell Library X1 areas scaled by ({float(node_nm):g}/45)^2",
        flops=flops_per_pe(pe),
    )


@dataclass(frozen=True, kw_only=True)
class PEEnergyModel:
    """Every per-PE energy figure at the technology's node and nominal supply.

    Attributes
    ----------
    pe : PEConfig
    node_nm : float
    vdd_nominal_v : float
    unit_capacitance_ff : Band
        ``C_unit``: fF per unit-inverter input capacitance, calibrated on the reference MAC.
    stages : mapping of str to StageToggleModel
    flops : int
        Flip-flops per PE.
    stationary_flops : int
        Of which the stationary operand register (:data:`STATIONARY_FLOPS`).
    flop_clock_pj : Band
        One flop clocked for one cycle (its clock nets and its share of the clock tree).
    flop_data_pj : Band
        One output transition of a flop (its internal nodes).
    leakage_uw : Band
        Leakage power of one PE at nominal VDD and 27 degC, uW.
    razor_extra_pj : Band
        Razor flop minus plain flop, per protected bit per clocked cycle (clock energy, D
        stable). With a characterised library: its Razor flop's clock energy minus its
        flop's; without: the flop's clock energy x ``razor_extra_flop_ratio``.
    razor_extra_leakage_uw : Band
        Razor flop minus plain flop leakage per protected bit at nominal VDD and 27 degC, uW
        (0 without a characterised Razor flop).
    razor_transition_pj : Band
        Razor flop minus plain flop per output transition of a protected bit (its D edge, its
        Q transition and its larger D pin, :meth:`CellEnergies.razor_transition_extra_fj`);
        without a characterised Razor flop: the flop's data energy x ``razor_extra_flop_ratio``.
    hold_buffer_pj : Band
        One hold-fix buffer per clocked cycle (its switched capacitance at the protected bit's activity).
    hold_buffers_per_bit : float
        Hold-fix buffers per protected bit.
    error_network_pj : Band
        One OR2 of the error-signal tree switching up and down: per tree level per detection.
    area : PEArea
    sources : str
        :data:`CORE_SOURCES`.
    """

    pe: PEConfig
    node_nm: float
    vdd_nominal_v: float
    unit_capacitance_ff: Band
    stages: Mapping[str, StageToggleModel]
    flops: int
    stationary_flops: int = STATIONARY_FLOPS
    flop_clock_pj: Band
    flop_data_pj: Band
    leakage_uw: Band
    razor_extra_pj: Band
    razor_extra_leakage_uw: Band = _NO_BAND
    razor_transition_pj: Band = _NO_BAND
    hold_buffer_pj: Band
    hold_buffers_per_bit: float
    error_network_pj: Band
    area: PEArea
    sources: str = CORE_SOURCES
    library: CellLibraryData | None = field(default=None, repr=False)

    def vdd_scales(self, vdd_v: float) -> VddScales:
        """Each figure's ratio at `vdd_v` to its value at the nominal supply.

        With a characterised library (:attr:`library`): every ratio from the library itself at
        `vdd_v` (interpolated between its corners) over its nominal-supply value; the datapath's
        weighted by the mean transitions of each net on random operands
        (:func:`_reference_net_toggles`). Without one: the technology's
        :meth:`~pe_models.technology.Technology.dynamic_energy_scale` for every switching figure
        and :meth:`~pe_models.technology.Technology.leakage_power_scale` for the leakage.

        Raises
        ------
        ConfigError
            `vdd_v` outside the technology's range or the library's corners.
        """
        tech = self.pe.tech
        dynamic = float(tech.dynamic_energy_scale(vdd_v))
        leakage = float(tech.leakage_power_scale(vdd_v))
        if self.library is None:
            return VddScales(
                datapath=dynamic,
                flop_clock=dynamic,
                flop_data=dynamic,
                leakage=leakage,
                hold_buffer=dynamic,
                error_network=dynamic,
                razor_extra=dynamic,
                razor_transition=dynamic,
                razor_leakage=leakage,
            )
        return _library_scales(self.pe, self.library, float(self.vdd_nominal_v), float(vdd_v))

    def switching_pj(self, units: float) -> Band:
        """Energy at nominal VDD of `units` unit-capacitance transitions, pJ."""
        return self.unit_capacitance_ff * (0.5 * units * self.vdd_nominal_v**2 * 1e-3)

    def mac_units(self, old: Mapping[str, np.ndarray], new: Mapping[str, np.ndarray]) -> np.ndarray:
        """Predicted switched capacitance units of every MAC's datapath (all stages), shape (n,)."""
        total = np.zeros(len(np.asarray(new["a"])), dtype=np.float64)
        for name, model in self.stages.items():
            total += model.predict_units(stage_features(name, old, new, width=self.pe.width))
        return total

    def register_toggles(self, old: Mapping[str, np.ndarray], new: Mapping[str, np.ndarray]) -> np.ndarray:
        """Register output transitions of every MAC (:func:`register_toggles`), shape (n,)."""
        return register_toggles(self.pe, old, new)

    @property
    def pe_clock_pj(self) -> Band:
        """Every flop of one PE clocked for one cycle."""
        return self.flop_clock_pj * self.flops

    @property
    def random_mac_pj(self) -> Band:
        """Datapath energy of one MAC at nominal VDD: uniform random int8 operands, partial sums
        of random magnitude (2^2..2^23), each stage's ``random_units_per_mac``."""
        return self.switching_pj(sum(m.random_units_per_mac for m in self.stages.values()))


_HOLD_BUFFER_UNITS = 2.0
_HOLD_BUFFER_ACTIVITY = 0.25


@lru_cache(maxsize=8)
def pe_energy_model(
    pe: PEConfig,
    *,
    node_nm: float | None = None,
    hold_buffers_per_bit: float = 2.0,
    samples: int = 4000,
    cells: CellEnergies | None = None,
    core_source: str = "library",
) -> PEEnergyModel:
    """The energy model of `pe` on its technology (cached).

    By default every switching energy, flop energy, leakage and area comes from the
    technology's characterised cell library (:func:`energy_cell_library`, at its nominal
    supply; :meth:`PEEnergyModel.vdd_scales` gives them at any other supply); a technology
    without one (reasoned presets, measured tables) gets the cited constants.

    Parameters
    ----------
    pe : PEConfig
    node_nm : float, optional
        Technology node in nm (default: from the technology name).
    hold_buffers_per_bit : float
        Hold-fix buffers per protected bit (>= 0).
    samples : int
        Gate-level vectors per stage for the toggle-model fit.
    cells : CellEnergies, optional
        A characterised library at the technology's nominal VDD: every net's energy per
        transition, the flops' clock and data energy, the leakage and the areas come from
        it (one source, no band); default: logical-effort units x the calibrated ``C_unit``
        with Aladdin's leakage (:data:`CORE_SOURCES`).
    core_source : str
        ``library`` (default: the characterised library where the technology has one) or
        ``constants`` (the cited constants and the calibrated ``C_unit`` whatever the technology).

    Raises
    ------
    ConfigError
        Bad node, buffer count or core source.
    """
    if core_source not in ("library", "constants"):
        raise ConfigError(f"core_source: {core_source!r} is unknown; allowed: library, constants")
    tech = pe.tech
    node = technology_node_nm(tech) if node_nm is None else float(node_nm)
    if not math.isfinite(node) or not 7.0 <= node <= 130.0:
        raise ConfigError(f"node_nm: {node_nm!r} is out of range; allowed: 7..130 nm")
    if not isinstance(hold_buffers_per_bit, int | float) or not 0 <= hold_buffers_per_bit < 1e3:
        raise ConfigError(f"hold_buffers_per_bit: expected a number >= 0, got {hold_buffers_per_bit!r}")
    vdd = float(tech.vdd_nominal_v)
    delays_fs = {kind: round(ps * 1000) for kind, ps in pe.library.delays_ps.items()}
    if cells is not None:
        return _library_model(pe, node, vdd, delays_fs, float(hold_buffers_per_bit), samples, cells)
    library = energy_cell_library(pe) if core_source == "library" else None
    if library is not None:
        cells = library_cell_energies(library, vdd)
        model = _library_model(pe, node, vdd, delays_fs, float(hold_buffers_per_bit), samples, cells)
        return replace(model, library=library)
    calibration = _calibration_units()
    mac = CONSTANTS["mac8_acc32_pj"].at(node, vdd)
    unit_ff = mac * (1.0 / (0.5 * calibration * vdd**2 * 1e-3))
    stages = {name: _fit_stage(name, netlist, delays_fs, pe.width, samples) for name, netlist in pe.stages.items()}
    flops = flops_per_pe(pe)
    leak = (
        CONSTANTS["leak_mult8_uw"].at(node, vdd)
        + CONSTANTS["leak_adder_bit_uw"].at(node, vdd) * pe.width
        + CONSTANTS["leak_flop_uw"].at(node, vdd) * flops
    )

    def transitions_pj(units: float) -> Band:
        return unit_ff * (0.5 * units * vdd**2 * 1e-3)

    flop_clock = transitions_pj(2 * (_FLOP_CLOCK_UNITS + _CLOCK_TREE_UNITS))
    hold = transitions_pj(_HOLD_BUFFER_UNITS * _HOLD_BUFFER_ACTIVITY)
    network = transitions_pj(2 * (_GATE_EFFORT["or2"][0] + _GATE_EFFORT["or2"][1]))
    return PEEnergyModel(
        pe=pe,
        node_nm=node,
        vdd_nominal_v=vdd,
        unit_capacitance_ff=unit_ff,
        stages=MappingProxyType(stages),
        flops=flops,
        flop_clock_pj=flop_clock,
        flop_data_pj=transitions_pj(_FLOP_DATA_UNITS),
        leakage_uw=leak,
        razor_extra_pj=flop_clock.times(CONSTANTS["razor_extra_flop_ratio"].at(node, vdd)),
        razor_transition_pj=transitions_pj(_FLOP_DATA_UNITS).times(CONSTANTS["razor_extra_flop_ratio"].at(node, vdd)),
        hold_buffer_pj=hold,
        hold_buffers_per_bit=float(hold_buffers_per_bit),
        error_network_pj=network,
        area=pe_area(pe, node),
    )


def _library_model(
    pe: PEConfig,
    node: float,
    vdd: float,
    delays_fs: Mapping[str, int],
    hold_buffers_per_bit: float,
    samples: int,
    cells: CellEnergies,
) -> PEEnergyModel:
    """:func:`pe_energy_model` with every figure from a characterised library."""
    if not math.isclose(cells.vdd_v, vdd, rel_tol=1e-9):
        raise ConfigError(f"cells: characterised at {cells.vdd_v:g} V; allowed: the technology's nominal {vdd:g} V")
    unit_ff = Band.exact(_CELL_ENERGIES_REFERENCE_FF)
    stages = {
        name: _fit_stage(name, netlist, delays_fs, pe.width, samples, cells) for name, netlist in pe.stages.items()
    }
    flops = flops_per_pe(pe)
    cell_kinds = [cell.kind for netlist in pe.stages.values() for cell in netlist.cells]
    leak_uw = (sum(cells.leakage_nw[kind] for kind in cell_kinds) + flops * cells.leakage_nw["dff"]) * 1e-3
    area_um2 = cells.area_um2
    area = PEArea(
        cells_um2=sum(area_um2[kind] for kind in cell_kinds),
        flops_um2=flops * area_um2["dff"],
        razor_extra_um2=area_um2["razor_dff"] - area_um2["dff"]
        if "razor_dff" in area_um2
        else area_um2["latch"] + area_um2["xor2"] + area_um2["mux2"],
        hold_buffer_um2=area_um2["buf"],
        source=cells.name,
        flops=flops,
    )
    flop_clock = Band.exact(cells.flop_clock_fj * 1e-3)
    half_v2 = 0.5 * vdd**2
    hold = Band.exact(
        (cells.output_transition_fj["buf"] + half_v2 * cells.pin_capacitance_ff["buf"]) * _HOLD_BUFFER_ACTIVITY * 1e-3
    )
    network = Band.exact(2 * (cells.output_transition_fj["or2"] + half_v2 * cells.pin_capacitance_ff["or2"]) * 1e-3)
    transition_fj = cells.razor_transition_extra_fj()
    if cells.razor_clock_fj is not None and cells.razor_leakage_nw is not None and transition_fj is not None:
        razor_extra = Band.exact((cells.razor_clock_fj - cells.flop_clock_fj) * 1e-3)
        razor_leakage = Band.exact((cells.razor_leakage_nw - cells.leakage_nw["dff"]) * 1e-3)
        razor_transition = Band.exact(transition_fj * 1e-3)
        razor_source = "its Razor flop (razor_dff.sp) minus its flop"
    else:
        ratio = CONSTANTS["razor_extra_flop_ratio"].at(node, vdd)
        razor_extra = flop_clock.times(ratio)
        razor_leakage = Band.exact(0.0)
        razor_transition = Band.exact(cells.flop_data_fj * 1e-3).times(ratio)
        razor_source = "the library's flop clock and data energy x razor_extra_flop_ratio (a structural estimate)"
    return PEEnergyModel(
        pe=pe,
        node_nm=node,
        vdd_nominal_v=vdd,
        unit_capacitance_ff=unit_ff,
        stages=MappingProxyType(stages),
        flops=flops,
        flop_clock_pj=flop_clock,
        flop_data_pj=Band.exact(cells.flop_data_fj * 1e-3),
        leakage_uw=Band.exact(leak_uw),
        razor_extra_pj=razor_extra,
        razor_extra_leakage_uw=razor_leakage,
        razor_transition_pj=razor_transition,
        hold_buffer_pj=hold,
        hold_buffers_per_bit=hold_buffers_per_bit,
        error_network_pj=network,
        area=area,
        sources=f"every switching energy, flop energy, leakage and area: {cells.name} "
        f"({cells.vdd_v:g} V, {cells.temperature_c:g} degC); Razor flop extra: {razor_source}; clock tree per "
        "flop, hold-buffer activity: assumptions (docs/energy.md)",
    )


def logical_effort_cells(pe: PEConfig, *, node_nm: float | None = None) -> CellEnergies:
    """The default model's figures as a :class:`CellEnergies` (logical-effort units x the
    calibrated ``C_unit``, Aladdin leakage spread over the cells, Nangate areas): what a
    characterised library replaces, and a check that the library path counts the same."""
    default = pe_energy_model(pe, node_nm=node_nm, core_source="constants")
    vdd = default.vdd_nominal_v
    unit_ff = default.unit_capacitance_ff.nominal
    half_v2 = 0.5 * vdd**2
    scale = (default.node_nm / 45.0) ** 2
    kinds = {cell.kind for netlist in pe.stages.values() for cell in netlist.cells} | {"buf", "or2"}
    effort = {**_GATE_EFFORT, "buf": (1.0, 2.0)}
    cell_kinds = [cell.kind for netlist in pe.stages.values() for cell in netlist.cells]
    flops = default.flops
    flop_leak_nw = CONSTANTS["leak_flop_uw"].at(default.node_nm, vdd).nominal * 1e3
    logic_leak_nw = default.leakage_uw.nominal * 1e3 - flops * flop_leak_nw
    return CellEnergies(
        name="logical-effort units x calibrated C_unit (the default model)",
        vdd_v=vdd,
        temperature_c=27.0,
        output_transition_fj={kind: half_v2 * effort[kind][1] * unit_ff for kind in kinds},
        pin_capacitance_ff={kind: effort[kind][0] * unit_ff for kind in kinds},
        flop_d_ff=_FLOP_D_UNITS * unit_ff,
        flop_q_transition_fj=half_v2 * _FLOP_Q_UNITS * unit_ff,
        flop_clock_fj=default.flop_clock_pj.nominal * 1e3,
        flop_data_fj=default.flop_data_pj.nominal * 1e3,
        leakage_nw={**dict.fromkeys(kinds, logic_leak_nw / len(cell_kinds)), "dff": flop_leak_nw},
        area_um2={kind: area * scale for kind, area in _NANGATE_UM2.items()},
    )


def _calibration_key() -> dict[str, object]:
    reference = PEConfig()
    return {
        "stages": [_netlist_key(netlist) for netlist in reference.stages.values()],
        "delays_ps": [[str(kind), repr(delay)] for kind, delay in sorted(reference.library.delays_ps.items())],
    }


@lru_cache(maxsize=1)
@persistent(
    "toggle-models",
    key=_calibration_key,
    encode=lambda units: {"units": units},
    decode=lambda value: float(value["units"]),
    sources=_TOGGLE_SOURCES,
)
def _calibration_units() -> float:
    """Mean switched capacitance units of the reference MAC on uniform random operands.

    The reference is the default PE (compound cells, registered, 32-bit ripple-carry
    accumulator): the multiplier on random int8 pairs plus the adder on a random 16-bit
    product and a random 32-bit partial sum, the operands of the cited per-operation figures.
    """
    reference = PEConfig()
    delays_fs = {kind: round(ps * 1000) for kind, ps in reference.library.delays_ps.items()}
    rng = np.random.default_rng(np.random.SeedSequence(5))
    n = 4000
    ranges = {"a": 1 << 7, "b": 1 << 7, "product": 1 << 15, "c": 1 << 31}
    total = 0.0
    for netlist in reference.stages.values():
        old = {name: rng.integers(-ranges[name], ranges[name], n) for name in netlist.inputs}
        new = {name: rng.integers(-ranges[name], ranges[name], n) for name in netlist.inputs}
        toggles = net_toggles_fast(netlist, old, new, delays_fs=delays_fs)
        total += float((toggles * net_capacitance_units(netlist)).sum(axis=1).mean())
    return total


def stage_vector_energy_fj(
    pe: PEConfig,
    stage: str,
    old: Mapping[str, np.ndarray],
    new: Mapping[str, np.ndarray],
    *,
    vdd_v: float,
    t_clk_ps: float,
    level: str = "gate",
) -> tuple[np.ndarray, np.ndarray]:
    """Switching and leakage energy of one timed stage for each input transition, fJ.

    Switching: the stage's nets' transitions (``level="gate"``: counted by the event-driven
    gate level, :func:`net_toggles_fast`, glitches included; ``"chain"``: predicted by the
    stage's :class:`StageToggleModel`, as the array-level accounting does) times each net's
    energy per transition. With the technology's characterised library (the default model,
    :func:`energy_cell_library`): gate level, every net's :meth:`CellEnergies.net_energy_fj`
    at `vdd_v`; chain level, the predicted switched capacitance at nominal VDD times the
    model's datapath ratio (:meth:`PEEnergyModel.vdd_scales`); leakage, the library's leakage
    of the stage's cells at `vdd_v` over one clock period. Without one: switched capacitance
    units x ``0.5 C_unit VDD**2`` (the calibrated ``C_unit``, scaled by the technology's
    switching-energy ratio) and the cited leakage (multiplier: ``leak_mult8_uw``; adder:
    ``leak_adder_bit_uw`` per bit; fused: both). Both at 27 degC.

    Parameters
    ----------
    pe : PEConfig
    stage : str
        ``multiplier``, ``adder`` or ``mac``.
    old, new : mapping of str to ndarray
        The stage's input buses before and after the edge (:func:`pe_models.chain.stage_inputs`).
    vdd_v, t_clk_ps : float
    level : str
        ``gate`` or ``chain``.

    Returns
    -------
    (switching_fj, leakage_fj) : ndarrays, float64, shape (n,)
    """
    if level not in ("gate", "chain"):
        raise ConfigError(f"level: {level!r} is unknown; allowed: gate, chain")
    model = pe_energy_model(pe)
    tech = pe.tech
    netlist = pe.stages[stage]
    if level == "gate":
        delays_fs = {kind: round(ps * 1000) for kind, ps in pe.library.delays_ps.items()}
        toggles = net_toggles_fast(netlist, old, new, delays_fs=delays_fs)
        units = (toggles * net_capacitance_units(netlist)).sum(axis=1).astype(np.float64)
    else:
        toggles = np.zeros((0, netlist.n_nets), dtype=np.int64)
        operands_old = {"a": old.get("a", 0), "b": old.get("b", 0), "c": old.get("c", 0)}
        operands_new = {"a": new.get("a", 0), "b": new.get("b", 0), "c": new.get("c", 0)}
        if stage == "adder":
            operands_old = {"a": old["product"], "b": np.ones_like(old["product"]), "c": old["c"]}
            operands_new = {"a": new["product"], "b": np.ones_like(new["product"]), "c": new["c"]}
        count = len(np.asarray(next(iter(new.values()))))
        features = stage_features(
            stage,
            {k: np.broadcast_to(np.asarray(v, dtype=np.int64), (count,)) for k, v in operands_old.items()},
            {k: np.broadcast_to(np.asarray(v, dtype=np.int64), (count,)) for k, v in operands_new.items()},
            width=pe.width,
        )
        units = model.stages[stage].predict_units(features)
    if model.library is not None:
        cells = library_cell_energies(model.library, float(vdd_v))
        kinds = [cell.kind for cell in netlist.cells]
        leak_uw = sum(cells.leakage_nw[kind] for kind in kinds) * 1e-3
        leakage_fj = leak_uw * float(t_clk_ps) * 1e-3
        if level == "gate":
            switching = (toggles * cells.net_energy_fj(netlist)).sum(axis=1).astype(np.float64)
        else:
            switching = model.switching_pj(1.0).nominal * 1e3 * units * model.vdd_scales(vdd_v).datapath
        return switching, np.full(switching.shape, leakage_fj)
    switching = model.switching_pj(1.0).nominal * 1e3 * units * tech.dynamic_energy_scale(vdd_v)
    node, nominal_vdd = model.node_nm, float(tech.vdd_nominal_v)
    leak_uw = 0.0
    if stage in ("multiplier", "mac"):
        leak_uw += CONSTANTS["leak_mult8_uw"].at(node, nominal_vdd).nominal
    if stage in ("adder", "mac"):
        leak_uw += CONSTANTS["leak_adder_bit_uw"].at(node, nominal_vdd).nominal * pe.width
    leakage_fj = leak_uw * tech.leakage_power_scale(vdd_v) * float(t_clk_ps) * 1e-3
    return switching, np.full(switching.shape, leakage_fj)


@dataclass(frozen=True, kw_only=True)
class VddScales:
    """Ratios of the core's energy figures at one supply to their values at the nominal supply.

    Attributes
    ----------
    datapath : float
        Switching energy of the MAC datapath (per switched-capacitance unit).
    flop_clock : float
        A flop clocked for one cycle (also the Razor flop's extra clocking).
    flop_data : float
        A flop's internal energy per data transition.
    leakage : float
        Leakage power of the PE.
    hold_buffer, error_network : float
        A hold-fix buffer's and an OR2 of the error tree's switching energy.
    razor_extra, razor_leakage : float
        The Razor flop's extra clock energy and extra leakage over the plain flop's (with a
        characterised Razor flop: the library's difference at `vdd_v` over the one at the
        nominal supply; else the flop clock's and the PE leakage's ratio).
    razor_transition : float
        The Razor flop's extra energy per transition of its bit (with a characterised Razor
        flop: the library's :meth:`CellEnergies.razor_transition_extra_fj` at `vdd_v` over
        the nominal one; else the flop data energy's ratio).
    """

    datapath: float
    flop_clock: float
    flop_data: float
    leakage: float
    hold_buffer: float
    error_network: float
    razor_extra: float
    razor_transition: float
    razor_leakage: float


def energy_cell_library(pe: PEConfig) -> CellLibraryData | None:
    """The characterised library the core's energy comes from, or None (the cited constants).

    The technology's own characterised library when it carries one (a ``cell_library``
    attribute that is a :class:`~pe_models.liberty.CellLibraryData`, not reasoned), else the
    library shipped for the technology's name (:data:`pe_models.liberty.SHIPPED_LIBRARIES`).
    """
    attached = getattr(pe.tech, "cell_library", None)
    library: CellLibraryData | None = None
    if isinstance(attached, CellLibraryData) and not attached.reasoned:
        library = attached
    elif str(getattr(pe.tech, "name", "")) in SHIPPED_LIBRARIES:
        library = shipped_cell_library(str(pe.tech.name))
    if library is None or not _has_energy_data(library, pe):
        return None
    return library


_ENERGY_CELLS = ("dff", "buf", "or2", "nand2", "inv")
"""Cells the energy model reads beyond the PE netlist's: the flop, the hold-fix buffer, the
error tree's OR2, and the restore multiplexer's NAND2 and inverter (area)."""


def _has_energy_data(library: CellLibraryData, pe: PEConfig) -> bool:
    """Whether `library` holds every figure the energy model reads (a Liberty set without the
    flip-flop's pin energies or a buffer does not; the model then keeps the cited constants,
    and ``sources`` says so)."""
    kinds = {cell.kind for netlist in pe.stages.values() for cell in netlist.cells} | set(_ENERGY_CELLS)
    if not kinds <= set(library.cells):
        return False
    flop = library.cell("dff")
    return all((pin, edge) in flop.pin_energy_fj for pin in ("CK", "D") for edge in EDGES)


_CLOCK_TREE_PINS = 2.0
"""Clock distribution per flop (wire and the leaf buffers' share) in flop clock-pin capacitances;
our assumption (the constants model's ``_CLOCK_TREE_UNITS``, about two clock pins)."""


def _mean_arc_energy_fj(library: CellLibraryData, cell: str, vdd_v: float, load_ff: float, slew_ps: float) -> float:
    """Mean over the cell's arcs and both output edges of the switching energy at `load_ff`,
    less the load's share ``0.5 load V**2``: the cell's own energy per output transition."""
    energies = [
        float(library.switching_energy_fj(cell, pin, edge, vdd_v, load_ff, slew_ps))
        for pin in library.arc_pins(cell)
        for edge in EDGES
    ]
    return float(np.mean(energies)) - 0.5 * load_ff * vdd_v**2


@lru_cache(maxsize=64)
def library_cell_energies(library: CellLibraryData, vdd_v: float) -> CellEnergies:
    """The :class:`CellEnergies` of a characterised library at one supply (corners interpolated).

    Per combinational cell: the mean over its arcs and edges of the switching energy at the
    library's reference (FO4) load and slew less ``0.5 C_load V**2`` (the load is charged by
    the net's pins, :meth:`CellEnergies.net_energy_fj`), the mean input-pin capacitance and
    the mean leakage over the input states. The flip-flop: clock energy per cycle = its
    supply's energy for a rising and a falling clock edge that leave Q + the clock pin's
    ``C_CK V**2`` + :data:`_CLOCK_TREE_PINS` clock pins of distribution; per Q transition the
    clock-to-Q arc's energy less the load's share and less the quiet rising edge; per data
    transition the mean D-edge energy. The Razor flip-flop, when the library has one: the
    same figures from its own characterisation (its clock pin, D stable; its clock-to-Q arcs;
    its D edges), its D-pin capacitance and its leakage.
    Areas: the library's (the Razor flop's from its subcircuit, the same transistor rule);
    without a Razor flop its shadow latch is half a flip-flop (master-slave) and its restore
    multiplexer three NAND2 and an inverter.
    """
    vdd = library.check_vdd(vdd_v)
    load = library.reference_load_ff
    slew = library.reference_slew_ps(vdd)
    combinational = [cell for cell in library.cells if cell != "dff"]
    ck = library.pin_capacitance_ff("dff", "CK", vdd)
    quiet_rise = library.clock_pin_energy_fj("rise", vdd)
    quiet_cycle = quiet_rise + library.clock_pin_energy_fj("fall", vdd)
    q_transition = _mean_arc_energy_fj(library, "dff", vdd, load, slew) - quiet_rise
    area = {cell: library.area_um2(cell) for cell in library.cells}
    area["latch"] = 0.5 * area["dff"]
    area["mux2"] = 3 * area["nand2"] + area["inv"]
    razor: dict[str, float | None] = dict.fromkeys(
        ("razor_clock_fj", "razor_data_fj", "razor_leakage_nw", "razor_q_transition_fj", "razor_d_ff")
    )
    if library.razor_flop is not None:
        area["razor_dff"] = library.razor_flop.area_um2
        razor_cycle = sum(library.razor_pin_energy_fj("CK", edge, vdd) for edge in EDGES)
        razor_ck = library.razor_pin_capacitance_ff("CK", vdd)
        razor_q = float(np.mean([library.razor_switching_energy_fj(edge, vdd, load, slew) for edge in EDGES]))
        razor = {
            "razor_clock_fj": razor_cycle + (1.0 + _CLOCK_TREE_PINS) * razor_ck * vdd**2,
            "razor_data_fj": 0.5 * sum(library.razor_pin_energy_fj("D", edge, vdd) for edge in EDGES),
            "razor_leakage_nw": library.razor_leakage_nw(vdd),
            "razor_q_transition_fj": razor_q - 0.5 * load * vdd**2 - library.razor_pin_energy_fj("CK", "rise", vdd),
            "razor_d_ff": library.razor_pin_capacitance_ff("D", vdd),
        }
    return CellEnergies(
        name=library.describe(),
        vdd_v=vdd,
        temperature_c=library.temperature_c,
        output_transition_fj={cell: _mean_arc_energy_fj(library, cell, vdd, load, slew) for cell in combinational},
        pin_capacitance_ff={
            cell: float(np.mean([library.pin_capacitance_ff(cell, pin, vdd) for pin in library.pins(cell)]))
            for cell in combinational
        },
        flop_d_ff=library.pin_capacitance_ff("dff", "D", vdd),
        flop_q_transition_fj=q_transition,
        flop_clock_fj=quiet_cycle + (1.0 + _CLOCK_TREE_PINS) * ck * vdd**2,
        flop_data_fj=0.5 * sum(library.data_pin_energy_fj(edge, vdd) for edge in EDGES),
        leakage_nw={cell: library.leakage_nw(cell, vdd) for cell in library.cells},
        area_um2=MappingProxyType(area),
        **razor,  # type: ignore[arg-type]
    )


def _reference_toggles_key(pe: PEConfig) -> dict[str, object]:
    return {
        "stages": {name: _netlist_key(netlist) for name, netlist in pe.stages.items()},
        "delays_ps": [[str(kind), repr(delay)] for kind, delay in sorted(pe.library.delays_ps.items())],
        "width": pe.width,
    }


@lru_cache(maxsize=8)
@persistent(
    "toggle-models",
    key=_reference_toggles_key,
    encode=lambda toggles: {name: values.tolist() for name, values in toggles.items()},
    decode=lambda stored: {name: np.asarray(values, dtype=float) for name, values in stored.items()},
    sources=_TOGGLE_SOURCES,
)
def _reference_net_toggles(pe: PEConfig) -> dict[str, np.ndarray]:
    """Mean transitions of every net of every stage on random operands (the weights of the
    datapath's supply ratio): the previous MAC's operands with random bit flips, the current
    one's int8 operands uniform random, partial sums of random magnitude."""
    delays_fs = {kind: round(ps * 1000) for kind, ps in pe.library.delays_ps.items()}
    old, new = _random_training_operands(2, 1000, pe.width)
    fresh = np.random.default_rng(np.random.SeedSequence(3))
    for key in ("a", "b"):
        new[key] = fresh.integers(-128, 128, 1000)
    return {
        name: net_toggles_fast(netlist, _stage_inputs(name, old), _stage_inputs(name, new), delays_fs=delays_fs).mean(
            axis=0
        )
        for name, netlist in pe.stages.items()
    }


@lru_cache(maxsize=256)
def _library_scales(pe: PEConfig, library: CellLibraryData, nominal_v: float, vdd_v: float) -> VddScales:
    at, nominal = library_cell_energies(library, vdd_v), library_cell_energies(library, nominal_v)
    toggles = _reference_net_toggles(pe)

    def datapath(cells: CellEnergies) -> float:
        return sum(float(toggles[name] @ cells.net_energy_fj(netlist)) for name, netlist in pe.stages.items())

    def leakage(cells: CellEnergies) -> float:
        kinds = [cell.kind for netlist in pe.stages.values() for cell in netlist.cells]
        return sum(cells.leakage_nw[kind] for kind in kinds) + flops_per_pe(pe) * cells.leakage_nw["dff"]

    def buffer(cells: CellEnergies, kind: str) -> float:
        return cells.output_transition_fj[kind] + 0.5 * cells.vdd_v**2 * cells.pin_capacitance_ff[kind]

    def razor_extra(cells: CellEnergies) -> float:
        return float(cells.razor_clock_fj) - cells.flop_clock_fj  # type: ignore[arg-type]

    def razor_leakage(cells: CellEnergies) -> float:
        return float(cells.razor_leakage_nw) - cells.leakage_nw["dff"]  # type: ignore[arg-type]

    nominal_transition = nominal.razor_transition_extra_fj()
    at_transition = at.razor_transition_extra_fj()

    flop_clock = at.flop_clock_fj / nominal.flop_clock_fj

    return VddScales(
        datapath=datapath(at) / datapath(nominal),
        flop_clock=flop_clock,
        flop_data=at.flop_data_fj / nominal.flop_data_fj,
        leakage=leakage(at) / leakage(nominal),
        hold_buffer=buffer(at, "buf") / buffer(nominal, "buf"),
        error_network=buffer(at, "or2") / buffer(nominal, "or2"),
        razor_extra=razor_extra(at) / razor_extra(nominal) if nominal.razor_clock_fj is not None else flop_clock,
        razor_transition=at_transition / nominal_transition
        if at_transition is not None and nominal_transition is not None
        else at.flop_data_fj / nominal.flop_data_fj,
        razor_leakage=razor_leakage(at) / razor_leakage(nominal)
        if nominal.razor_leakage_nw is not None
        else leakage(at) / leakage(nominal),
    )
