"""Characterised cell libraries at run time: per-pin, per-edge NLDM delays over VDD, load and slew.

A :class:`CellLibraryData` holds, for each cell function (``inv``, ``nand2``, ``xor3``,
``maj3``, ``dff``, ...; see :mod:`pe_models.cell_catalogue`) and each of its voltage
corners: NLDM tables (input slew x output load) of delay, output transition and
switching energy for every timing arc (input pin -> output edge), input pin capacitance,
leakage, and for the flip-flop setup, hold and clock-to-Q. It comes from

- the committed compact table of a characterised card (:func:`load_cell_library`,
  :func:`shipped_cell_library`), written by ``vscale tech characterize --cells``; or
- Liberty files, one per voltage corner (:func:`read_liberty_corners`), mapped onto the
  cell functions by each cell's ``function`` attribute.

Units: ps, fF, fJ, nW, V, degrees C. Slews and transitions are 10-90 % times, delays
50 %-50 %. Between corners every quantity is interpolated monotonically over VDD (PCHIP,
on the logarithm where all corner values are positive); within a corner, bilinearly
over (slew, load) with linear extrapolation outside the table, as Liberty's NLDM
does. A VDD outside the corners raises :class:`~pe_models.errors.ConfigError` naming
the range.

Energy convention: :meth:`CellLibraryData.switching_energy_fj` is the energy the cell's
supply delivers for one output transition, leakage excluded, the output load's charge
included (a rising output draws ``C_load V^2`` more than a falling one). Liberty's
``rise_power`` is that minus ``C_load V^2``, ``fall_power`` the falling energy itself,
so a tool adding ``C V^2 / 2`` per transition gets the same energy per cycle.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from pe_models.cell_catalogue import CELL_SPECS, FLIP_FLOP, RAZOR_FLOP, CellSpec
from pe_models.errors import ConfigError

__all__ = [
    "EDGES",
    "REASONED_DELAYS_PS",
    "REASONED_SETUP_PS",
    "SHIPPED_LIBRARIES",
    "CellData",
    "CellLibraryData",
    "NldmTable",
    "ScaledCellLibrary",
    "arc_sense",
    "library_from_json",
    "library_to_json",
    "load_cell_library",
    "reasoned_cell_library",
    "shipped_cell_library",
]

EDGES: tuple[str, str] = ("rise", "fall")
"""Output transitions: ``rise`` (output goes to 1) and ``fall``."""

FORMAT = "vscale-cell-library/1"
_LIBRARY_DIR = Path(__file__).resolve().parent / "technology_data" / "cells"

SHIPPED_LIBRARIES: Mapping[str, Path] = MappingProxyType(
    {"ptm-32nm-hp": _LIBRARY_DIR / "ptm-32nm-hp" / "ptm-32nm-hp.cells.json"}
)
"""Characterised libraries committed in the package, by technology name."""

_QUANTITIES = ("delay_ps", "transition_ps", "energy_fj")


@dataclass(frozen=True, eq=False)
class NldmTable:
    """One NLDM table of one corner: ``values[i, j]`` at ``slew_ps[i]``, ``load_ff[j]``.

    A table with one slew (or one load) point is constant along that axis.
    """

    slew_ps: np.ndarray
    load_ff: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        slew = np.asarray(self.slew_ps, dtype=np.float64).reshape(-1)
        load = np.asarray(self.load_ff, dtype=np.float64).reshape(-1)
        values = np.asarray(self.values, dtype=np.float64).reshape(slew.size, load.size)
        for axis in (slew, load, values):
            axis.setflags(write=False)
        object.__setattr__(self, "slew_ps", slew)
        object.__setattr__(self, "load_ff", load)
        object.__setattr__(self, "values", values)

    def at(self, slew_ps: np.ndarray, load_ff: np.ndarray) -> np.ndarray:
        """Bilinear interpolation (linear extrapolation outside the axes), broadcast."""
        weights_s, index_s = _linear_weights(self.slew_ps, slew_ps)
        weights_l, index_l = _linear_weights(self.load_ff, load_ff)
        v = self.values
        s1 = np.minimum(index_s + 1, self.slew_ps.size - 1)
        l1 = np.minimum(index_l + 1, self.load_ff.size - 1)
        low = v[index_s, index_l] * (1 - weights_l) + v[index_s, l1] * weights_l
        high = v[s1, index_l] * (1 - weights_l) + v[s1, l1] * weights_l
        return low * (1 - weights_s) + high * weights_s


def _pchip_at(x: np.ndarray, y: np.ndarray, at: float) -> np.ndarray:
    """Monotone cubic Hermite (PCHIP) interpolation of every column ``y[:, ...]`` at one point.

    The slopes are those of :func:`pe_models.technology.pchip_interpolate` (Fritsch-Carlson
    interior, shape-preserving three-point ends), applied to all columns at once; only the
    two knots around `at` get theirs.
    """
    flat = y.reshape(y.shape[0], -1)
    n = x.size
    index = int(np.clip(np.searchsorted(x, at, side="right") - 1, 0, n - 2))

    def h(j: int) -> Any:
        return x[j + 1] - x[j]

    def secant(j: int) -> np.ndarray:
        return (flat[j + 1] - flat[j]) / h(j)

    def slope(k: int) -> np.ndarray:
        if n == 2:
            return secant(0)
        if k in (0, n - 1):
            h0, h1, d0, d1 = (
                (h(0), h(1), secant(0), secant(1)) if k == 0 else (h(n - 2), h(n - 3), secant(n - 2), secant(n - 3))
            )
            value = ((2.0 * h0 + h1) * d0 - h0 * d1) / (h0 + h1)
            value = np.where(np.sign(value) != np.sign(d0), 0.0, value)
            return np.where((np.sign(d0) != np.sign(d1)) & (np.abs(value) > np.abs(3.0 * d0)), 3.0 * d0, value)
        left, right = secant(k - 1), secant(k)
        w1, w2 = 2.0 * h(k) + h(k - 1), h(k) + 2.0 * h(k - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            harmonic = (w1 + w2) / (w1 / left + w2 / right)
        return np.where(left * right > 0.0, harmonic, 0.0)

    width = x[index + 1] - x[index]
    t = (at - x[index]) / width
    h00 = (1.0 + 2.0 * t) * (1.0 - t) ** 2
    h10 = t * (1.0 - t) ** 2
    h01 = t**2 * (3.0 - 2.0 * t)
    h11 = t**2 * (t - 1.0)
    value = h00 * flat[index] + h10 * width * slope(index) + h01 * flat[index + 1] + h11 * width * slope(index + 1)
    return value.reshape(y.shape[1:])


def _linear_weights(axis: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    at = np.asarray(at, dtype=np.float64)
    if axis.size == 1:
        return np.zeros_like(at), np.zeros(at.shape, dtype=np.intp)
    index = np.minimum(np.maximum(np.searchsorted(axis, at, side="right") - 1, 0), axis.size - 2)
    weight = (at - axis[index]) / (axis[index + 1] - axis[index])
    return weight, index


class _CornerStack:
    """The tables of one arc and quantity at every corner, stacked to be read in one pass.

    Only for tables of one shape with at least two points on each axis; each corner's value
    is :meth:`NldmTable.at`'s, operation for operation (the same floats), for all corners at once.
    """

    def __init__(self, tables: Sequence[NldmTable]) -> None:
        self.slew_ps = np.stack([table.slew_ps for table in tables])
        self.load_ff = np.stack([table.load_ff for table in tables])
        self.values = np.stack([table.values for table in tables])
        self._corners = np.arange(len(tables))[:, None]

    @staticmethod
    def usable(tables: Sequence[NldmTable]) -> bool:
        shape = tables[0].values.shape
        return len(tables) > 1 and min(shape) >= 2 and all(table.values.shape == shape for table in tables)

    @staticmethod
    def _weights(axis: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        below = (axis[:, :, None] <= at[None, None, :]).sum(axis=1) - 1
        index = np.minimum(np.maximum(below, 0), axis.shape[1] - 2)
        rows = np.arange(axis.shape[0])[:, None]
        low = axis[rows, index]
        return (at[None, :] - low) / (axis[rows, index + 1] - low), index

    def at(self, slew_ps: np.ndarray, load_ff: np.ndarray) -> np.ndarray:
        """Every corner's bilinear value, shape ``(corners, *slew_ps.shape)``."""
        shape = slew_ps.shape
        slew, load = slew_ps.reshape(-1), load_ff.reshape(-1)
        weights_s, index_s = self._weights(self.slew_ps, slew)
        weights_l, index_l = self._weights(self.load_ff, load)
        v, c = self.values, self._corners
        s1 = np.minimum(index_s + 1, self.slew_ps.shape[1] - 1)
        l1 = np.minimum(index_l + 1, self.load_ff.shape[1] - 1)
        low = v[c, index_s, index_l] * (1 - weights_l) + v[c, index_s, l1] * weights_l
        high = v[c, s1, index_l] * (1 - weights_l) + v[c, s1, l1] * weights_l
        return (low * (1 - weights_s) + high * weights_s).reshape(len(v), *shape)


@dataclass(frozen=True, eq=False)
class CellData:
    """Every corner's data of one cell function (arrays over the library's corners).

    Attributes
    ----------
    arcs : mapping (pin, edge) -> mapping quantity -> tuple of NldmTable
        ``quantity`` in ``delay_ps``, ``transition_ps``, ``energy_fj``; one table per
        corner. For the flip-flop the only arcs are ``("CK", edge)`` (clock to Q).
    capacitance_ff : mapping pin -> float64 (n_corners,)
    leakage_nw : float64 (n_corners,)
        Mean over all input states (equally likely).
    leakage_states_nw : mapping state -> float64 (n_corners,)
        Per input state, labelled by the input bits in pin order (``"01"``: A=0, B=1).
    setup_ps, hold_ps : mapping D edge -> float64 (n_corners,)
        Flip-flop only: constraint of a rising / falling D relative to the rising clock.
    pin_energy_fj : mapping (pin, edge) -> float64 (n_corners,)
        Flip-flop only: energy of a CK edge that does not change Q, of a D edge.
    area_um2 : float
    """

    name: str
    pins: tuple[str, ...]
    output: str
    function: str
    area_um2: float
    arcs: Mapping[tuple[str, str], Mapping[str, tuple[NldmTable, ...]]]
    capacitance_ff: Mapping[str, np.ndarray]
    leakage_nw: np.ndarray
    leakage_states_nw: Mapping[str, np.ndarray] = field(default_factory=dict)
    setup_ps: Mapping[str, np.ndarray] = field(default_factory=dict)
    hold_ps: Mapping[str, np.ndarray] = field(default_factory=dict)
    pin_energy_fj: Mapping[tuple[str, str], np.ndarray] = field(default_factory=dict)


def arc_sense(cell: str, pin: str) -> str:
    """Liberty ``timing_sense`` of `pin` of a catalogue cell: positive_unate, negative_unate or non_unate."""
    spec = CELL_SPECS[cell]
    if cell == FLIP_FLOP:
        return "non_unate"
    from pe_models.cell_catalogue import sensitising_states

    senses = set()
    for state in sensitising_states(cell, pin):
        high = spec.evaluate(*[1 if p == pin else state[p] for p in spec.pins])
        senses.add("positive_unate" if high else "negative_unate")
    return senses.pop() if len(senses) == 1 else "non_unate"


class CellLibraryData:
    """A characterised cell library over VDD corners (immutable).

    Parameters
    ----------
    name : str
        Library (technology) name, e.g. ``"ptm-32nm-hp"``.
    vdd_v : sequence of float
        Corner supplies in V, strictly increasing.
    cells : mapping of str to CellData
        By cell function.
    temperature_c : float
        Characterisation temperature.
    source : str
        One line: where the data came from (model card and simulator, or Liberty files).
    model_card : str or None
        File name of the SPICE model card (None for Liberty input).
    model_card_sha256 : str or None
    reasoned : bool
        True if the values are reasoned, not characterised (said in every output).
    command : str
        The command that regenerates the data ("" if not applicable).
    fo4_ps : sequence of float or None
        FO4 delay measured directly on an inverter chain at each corner (characterised
        libraries only).
    vdd_nominal_v : float, optional
        The technology's nominal supply (default: the highest corner); ratios in reports
        are relative to it.
    razor_flop : CellData, optional
        The Razor flip-flop (``pe_models/technology_data/cells/razor_dff.sp``) characterised
        like the flip-flop: clock-to-Q arcs, CK and D pin capacitances, leakage, the energy
        of clock edges that leave Q unchanged and of D edges (``pin_energy_fj``). Not one of
        :attr:`cells` (it is no netlist cell function); None when not characterised.
    """

    def __init__(
        self,
        *,
        name: str,
        vdd_v: Sequence[float],
        cells: Mapping[str, CellData],
        temperature_c: float,
        source: str,
        model_card: str | None = None,
        model_card_sha256: str | None = None,
        reasoned: bool = False,
        command: str = "",
        fo4_ps: Sequence[float] | None = None,
        vdd_nominal_v: float | None = None,
        razor_flop: CellData | None = None,
    ) -> None:
        corners = np.asarray(vdd_v, dtype=np.float64)
        if corners.ndim != 1 or corners.size < 1 or np.any(np.diff(corners) <= 0):
            raise ConfigError(f"vdd_v: {list(vdd_v)}; allowed: one or more strictly increasing supplies")
        corners.setflags(write=False)
        self.name = name
        self.vdd_v = corners
        self.cells_data: Mapping[str, CellData] = MappingProxyType(dict(cells))
        self.temperature_c = float(temperature_c)
        self.source = source
        self.model_card = model_card
        self.model_card_sha256 = model_card_sha256
        self.reasoned = reasoned
        self.command = command
        self.fo4_ps = None if fo4_ps is None else tuple(float(v) for v in fo4_ps)
        nominal = float(corners[-1]) if vdd_nominal_v is None else float(vdd_nominal_v)
        if not corners[0] - 1e-9 <= nominal <= corners[-1] + 1e-9:
            raise ConfigError(
                f"vdd_nominal_v: {nominal:g} V is outside the corners {corners[0]:g} to {corners[-1]:g} V"
            )
        self.vdd_nominal_v = nominal
        self.razor_flop = razor_flop
        self._stacks: dict[int, tuple[tuple[NldmTable, ...], _CornerStack | None]] = {}
        every = dict(self.cells_data)
        if razor_flop is not None:
            every["razor_dff"] = razor_flop
        for cell, data in every.items():
            for (pin, edge), tables in data.arcs.items():
                for quantity, per_corner in tables.items():
                    if len(per_corner) != corners.size:
                        raise ConfigError(
                            f"cell {cell}: arc {pin} {edge} {quantity} has {len(per_corner)} corners, "
                            f"the library {corners.size}"
                        )

    # -- identity -----------------------------------------------------------------------

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 of the library's canonical JSON (equal data, equal fingerprint)."""
        return hashlib.sha256(library_to_json(self).encode()).hexdigest()

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CellLibraryData):
            return NotImplemented
        return self.fingerprint == other.fingerprint

    def __repr__(self) -> str:
        return (
            f"CellLibraryData(name={self.name!r}, cells={list(self.cells)}, "
            f"vdd_v={self.vdd_min_v:g}..{self.vdd_max_v:g}, temperature_c={self.temperature_c:g})"
        )

    # -- structure ----------------------------------------------------------------------

    @property
    def cells(self) -> tuple[str, ...]:
        """Cell functions the library has."""
        return tuple(self.cells_data)

    @property
    def vdd_min_v(self) -> float:
        return float(self.vdd_v[0])

    @property
    def vdd_max_v(self) -> float:
        return float(self.vdd_v[-1])

    def cell(self, cell: str) -> CellData:
        """The data of `cell`; ConfigError naming the library's cells if it has none."""
        try:
            return self.cells_data[cell]
        except KeyError:
            raise ConfigError(
                f"cell: {cell!r} is not in cell library {self.name!r}; allowed: {', '.join(self.cells)}"
            ) from None

    def pins(self, cell: str) -> tuple[str, ...]:
        """Input pins of `cell` in netlist order (``Cell.inputs[k]`` is ``pins[k]``)."""
        return self.cell(cell).pins

    def arc_pins(self, cell: str) -> tuple[str, ...]:
        """Input pins with a timing arc to the output (the flip-flop: ``("CK",)``)."""
        data = self.cell(cell)
        return tuple(pin for pin in data.pins if (pin, "rise") in data.arcs)

    def output_pin(self, cell: str) -> str:
        return self.cell(cell).output

    def area_um2(self, cell: str) -> float:
        """Cell area estimate in um^2 (see docs/technology.md)."""
        return self.cell(cell).area_um2

    def require(self, cells: Sequence[str]) -> None:
        """ConfigError naming the first of `cells` the library lacks."""
        for cell in cells:
            if cell not in self.cells_data:
                raise ConfigError(
                    f"technology: cell library {self.name!r} has no {cell} cell ({CELL_SPECS[cell].liberty_function} "
                    f"function), which the PE netlist needs"
                    if cell in CELL_SPECS
                    else f"technology: cell library {self.name!r} has no {cell} cell, which the PE netlist needs"
                )

    # -- VDD ----------------------------------------------------------------------------

    def check_vdd(self, vdd_v: float) -> float:
        """`vdd_v` as a float if it lies within the corners, else ConfigError naming the range."""
        allowed = f"allowed: {self.vdd_min_v:g} <= vdd_v <= {self.vdd_max_v:g}"
        try:
            value = float(vdd_v)
        except (TypeError, ValueError):
            raise ConfigError(f"vdd_v: {vdd_v!r} is not a number for cell library {self.name!r}; {allowed}") from None
        if not math.isfinite(value):
            raise ConfigError(f"vdd_v: {value} is not a finite number for cell library {self.name!r}; {allowed}")
        tolerance = 1e-9
        if value < self.vdd_min_v - tolerance or value > self.vdd_max_v + tolerance:
            raise ConfigError(
                f"vdd_v: {value:g} V is outside the characterised corners of cell library {self.name!r}; {allowed}"
            )
        return min(max(value, self.vdd_min_v), self.vdd_max_v)

    def _corner_index(self, vdd: float) -> int | None:
        """Index of the corner within 1e-12 V of `vdd` (a checked supply), or None between corners.

        A one-corner library answers 0 for every supply (its only table).
        """
        corners = self._corner_list
        if len(corners) == 1:
            return 0
        for index, corner in enumerate(corners):
            if abs(corner - vdd) <= 1e-12:
                return index
        return None

    @cached_property
    def _corner_list(self) -> tuple[float, ...]:
        return tuple(float(v) for v in self.vdd_v)

    def _over_vdd(self, per_corner: np.ndarray, vdd_v: float) -> np.ndarray:
        """PCHIP over the corners (on log where every corner value is > 0) at one VDD.

        At a corner (within 1e-12 V) that corner's values, not interpolated.
        """
        vdd = self.check_vdd(vdd_v)
        values = np.asarray(per_corner, dtype=np.float64)
        exact = self._corner_index(vdd)
        if exact is not None:
            return values[exact]
        return self._interpolate(values, vdd)

    def _interpolate(self, values: np.ndarray, vdd: float) -> np.ndarray:
        """PCHIP of `values` (first axis: the corners) through every corner at `vdd`."""
        if np.all(values > 0):
            return np.exp(_pchip_at(self.vdd_v, np.log(values), vdd))
        return _pchip_at(self.vdd_v, values, vdd)

    def _table_quantity(
        self, cell: str, pin: str, edge: str, quantity: str, vdd_v: float, load_ff: Any, slew_ps: Any
    ) -> float | np.ndarray:
        return self._arc_quantity(self.cell(cell), cell, pin, edge, quantity, vdd_v, load_ff, slew_ps)

    def _arc_quantity(
        self, data: CellData, cell: str, pin: str, edge: str, quantity: str, vdd_v: float, load_ff: Any, slew_ps: Any
    ) -> float | np.ndarray:
        if edge not in EDGES:
            raise ConfigError(f"edge: {edge!r}; allowed: rise, fall")
        key = (pin, edge)
        if key not in data.arcs:
            arcs = sorted({p for p, _ in data.arcs})
            raise ConfigError(f"pin: {pin!r} of cell {cell} has no timing arc; allowed: {', '.join(arcs)}")
        load = np.asarray(load_ff, dtype=np.float64)
        slew = np.asarray(slew_ps, dtype=np.float64)
        if not (np.isfinite(load) & (load >= 0)).all():
            raise ConfigError(f"load_ff: {load_ff!r}; allowed: finite loads >= 0 fF")
        if not (np.isfinite(slew) & (slew >= 0)).all():
            raise ConfigError(f"slew_ps: {slew_ps!r}; allowed: finite slews >= 0 ps")
        load, slew = np.broadcast_arrays(load, slew)
        vdd = self.check_vdd(vdd_v)
        tables = data.arcs[key][quantity]
        exact = self._corner_index(vdd)
        if exact is not None:
            # At a characterised corner only that corner's table is read: the values the
            # interpolation over every corner would keep, without evaluating the others.
            result = tables[exact].at(slew, load)
        else:
            result = self._interpolate(self._corner_values(tables, slew, load), vdd)
        return float(result) if result.ndim == 0 else result

    def _corner_values(self, tables: tuple[NldmTable, ...], slew: np.ndarray, load: np.ndarray) -> np.ndarray:
        """Every corner's table at (`slew`, `load`), stacked over the corners."""
        kept = self._stacks.get(id(tables))
        if kept is None:
            kept = self._stacks[id(tables)] = (tables, _CornerStack(tables) if _CornerStack.usable(tables) else None)
        stack = kept[1]
        if stack is None:
            return np.stack([table.at(slew, load) for table in tables])
        return stack.at(slew, load)

    # -- the run-time API ---------------------------------------------------------------

    def delay_ps(self, cell: str, pin: str, edge: str, vdd_v: float, load_ff: Any, slew_ps: Any) -> float | np.ndarray:
        """50 %-50 % delay from `pin` to the output's `edge` transition, in ps.

        Parameters
        ----------
        cell : str
            Cell function (``"nand2"``; the flip-flop's clock-to-Q arc is ``("dff", "CK")``).
        pin : str
            Input pin (see :meth:`pins`).
        edge : str
            Output transition, ``"rise"`` or ``"fall"``.
        vdd_v : float
            Supply in V, within the corners.
        load_ff, slew_ps : float or ndarray
            Output load in fF and 10-90 % input slew in ps (broadcast together).

        Returns
        -------
        float, or float64 ndarray of the broadcast shape
        """
        return self._table_quantity(cell, pin, edge, "delay_ps", vdd_v, load_ff, slew_ps)

    def transition_ps(
        self, cell: str, pin: str, edge: str, vdd_v: float, load_ff: Any, slew_ps: Any
    ) -> float | np.ndarray:
        """10-90 % output transition time in ps (same arguments as :meth:`delay_ps`)."""
        return self._table_quantity(cell, pin, edge, "transition_ps", vdd_v, load_ff, slew_ps)

    def switching_energy_fj(
        self, cell: str, pin: str, edge: str, vdd_v: float, load_ff: Any, slew_ps: Any
    ) -> float | np.ndarray:
        """Supply energy in fJ of one output `edge` caused by `pin` (load charge included, leakage not)."""
        return self._table_quantity(cell, pin, edge, "energy_fj", vdd_v, load_ff, slew_ps)

    def internal_energy_fj(
        self, cell: str, pin: str, edge: str, vdd_v: float, load_ff: Any, slew_ps: Any
    ) -> float | np.ndarray:
        """Liberty's internal energy: switching energy minus ``load_ff * vdd_v**2`` for a rising output."""
        energy = self.switching_energy_fj(cell, pin, edge, vdd_v, load_ff, slew_ps)
        if edge == "rise":
            return energy - np.asarray(load_ff, dtype=np.float64) * float(vdd_v) ** 2
        return energy

    def pin_capacitance_ff(self, cell: str, pin: str, vdd_v: float) -> float:
        """Input capacitance of `pin` in fF (mean of rising and falling input, Miller effect included)."""
        data = self.cell(cell)
        if pin not in data.capacitance_ff:
            raise ConfigError(f"pin: {pin!r} is not an input of cell {cell}; allowed: {', '.join(data.capacitance_ff)}")
        return float(self._over_vdd(data.capacitance_ff[pin], vdd_v))

    def leakage_nw(self, cell: str, vdd_v: float, temperature_c: float | None = None) -> float:
        """Leakage power in nW, mean over the input states (flip-flop: over its quiet clock phases).

        `temperature_c`, if given, must be the library's temperature (ConfigError otherwise:
        re-characterise with ``--temperature-c``).
        """
        self._check_temperature(temperature_c)
        return float(self._over_vdd(self.cell(cell).leakage_nw, vdd_v))

    def leakage_state_nw(self, cell: str, state: str, vdd_v: float) -> float:
        """Leakage power in nW with the inputs at `state` (bits in pin order, ``"01"``)."""
        data = self.cell(cell)
        if state not in data.leakage_states_nw:
            raise ConfigError(
                f"state: {state!r} of cell {cell}; allowed: {', '.join(data.leakage_states_nw) or 'none stored'}"
            )
        return float(self._over_vdd(data.leakage_states_nw[state], vdd_v))

    def _check_temperature(self, temperature_c: float | None) -> None:
        if temperature_c is not None and abs(float(temperature_c) - self.temperature_c) > 1e-9:
            raise ConfigError(
                f"temperature_c: {temperature_c:g} C; cell library {self.name!r} was characterised at "
                f"{self.temperature_c:g} C only (re-characterise with --temperature-c {temperature_c:g})"
            )

    def _flop(self) -> CellData:
        return self.cell(FLIP_FLOP)

    def setup_ps(self, vdd_v: float, edge: str = "rise") -> float:
        """Flip-flop setup time in ps for a rising or falling D (10 % clock-to-Q push-out)."""
        return float(self._over_vdd(self._flop_constraint(self._flop().setup_ps, edge, "setup"), vdd_v))

    def hold_ps(self, vdd_v: float, edge: str = "rise") -> float:
        """Flip-flop hold time in ps for a rising or falling D (10 % clock-to-Q push-out)."""
        return float(self._over_vdd(self._flop_constraint(self._flop().hold_ps, edge, "hold"), vdd_v))

    def _flop_constraint(self, table: Mapping[str, np.ndarray], edge: str, what: str) -> np.ndarray:
        if edge not in EDGES:
            raise ConfigError(f"edge: {edge!r}; allowed: rise, fall")
        if edge not in table:
            raise ConfigError(f"cell library {self.name!r}: the flip-flop has no {what} time for a {edge} D")
        return table[edge]

    def clk_to_q_ps(self, edge: str, vdd_v: float, load_ff: Any = None, slew_ps: Any = None) -> float | np.ndarray:
        """Flip-flop clock-to-Q delay in ps for Q's `edge` (default load and clock slew: the reference)."""
        load = self.reference_load_ff if load_ff is None else load_ff
        slew = self.reference_slew_ps(vdd_v) if slew_ps is None else slew_ps
        return self.delay_ps(FLIP_FLOP, "CK", edge, vdd_v, load, slew)

    def clock_pin_energy_fj(self, edge: str, vdd_v: float) -> float:
        """Flip-flop energy in fJ of a clock `edge` that does not change Q."""
        return self._pin_energy("CK", edge, vdd_v)

    def data_pin_energy_fj(self, edge: str, vdd_v: float) -> float:
        """Flip-flop energy in fJ of a D `edge` while the clock is low."""
        return self._pin_energy("D", edge, vdd_v)

    def _pin_energy(self, pin: str, edge: str, vdd_v: float) -> float:
        data = self._flop()
        if (pin, edge) not in data.pin_energy_fj:
            raise ConfigError(f"cell library {self.name!r}: the flip-flop has no {pin} {edge} pin energy")
        return float(self._over_vdd(data.pin_energy_fj[(pin, edge)], vdd_v))

    def _razor(self) -> CellData:
        if self.razor_flop is None:
            raise ConfigError(f"cell library {self.name!r}: no Razor flip-flop (razor_dff) characterised")
        return self.razor_flop

    def razor_pin_energy_fj(self, pin: str, edge: str, vdd_v: float) -> float:
        """Razor flip-flop energy in fJ of a CK `edge` that does not change Q (D stable), or of a D
        `edge` while the clock is low."""
        data = self._razor()
        if (pin, edge) not in data.pin_energy_fj:
            raise ConfigError(f"cell library {self.name!r}: the Razor flip-flop has no {pin} {edge} pin energy")
        return float(self._over_vdd(data.pin_energy_fj[(pin, edge)], self.check_vdd(vdd_v)))

    def razor_switching_energy_fj(self, edge: str, vdd_v: float, load_ff: Any, slew_ps: Any) -> float | np.ndarray:
        """Razor flip-flop supply energy in fJ of a clock edge that moves Q to `edge` (clock-to-Q
        arc, load charge included), as :meth:`switching_energy_fj` of the flip-flop."""
        return self._arc_quantity(
            self._razor(), RAZOR_FLOP, "CK", edge, "energy_fj", self.check_vdd(vdd_v), load_ff, slew_ps
        )

    def razor_pin_capacitance_ff(self, pin: str, vdd_v: float) -> float:
        """Razor flip-flop input capacitance of `pin` (``D`` or ``CK``) in fF."""
        data = self._razor()
        if pin not in data.capacitance_ff:
            raise ConfigError(f"pin: {pin!r}; allowed: {', '.join(data.capacitance_ff)}")
        return float(self._over_vdd(data.capacitance_ff[pin], self.check_vdd(vdd_v)))

    def razor_leakage_nw(self, vdd_v: float) -> float:
        """Razor flip-flop leakage in nW at the library's temperature (R = 0, D = Q = 0, mean of CK high and low)."""
        return float(self._over_vdd(self._razor().leakage_nw, self.check_vdd(vdd_v)))

    # -- reference operating point ------------------------------------------------------

    @cached_property
    def _reference_cell(self) -> str:
        for cell in ("inv", "buf", "nand2"):
            if cell in self.cells_data:
                return cell
        return next(c for c in self.cells if c != FLIP_FLOP)

    @cached_property
    def reference_load_ff(self) -> float:
        """Four input capacitances of the inverter (an FO4 load) at the highest corner, in fF."""
        cell = self._reference_cell
        pin = self.pins(cell)[0]
        return round(4.0 * self.pin_capacitance_ff(cell, pin, self.vdd_max_v), 4)

    def reference_slew_ps(self, vdd_v: float) -> float:
        """Steady-state slew of an inverter chain at the reference load (fixed point), in ps."""
        cell = self._reference_cell
        pin = self.pins(cell)[0]
        slew = 10.0
        for _ in range(30):
            new = 0.5 * sum(
                float(self.transition_ps(cell, pin, edge, vdd_v, self.reference_load_ff, slew)) for edge in EDGES
            )
            if abs(new - slew) < 1e-6 * max(1.0, slew):
                return new
            slew = new
        return slew

    def fo4_delay_ps(self, vdd_v: float) -> float:
        """Mean rising/falling inverter delay at the reference load and slew (the tables' FO4), in ps."""
        cell = self._reference_cell
        pin = self.pins(cell)[0]
        slew = self.reference_slew_ps(vdd_v)
        return 0.5 * sum(float(self.delay_ps(cell, pin, edge, vdd_v, self.reference_load_ff, slew)) for edge in EDGES)

    def describe(self) -> str:
        """One line for every output: name, source, temperature, corners (and 'reasoned values' where so)."""
        kind = "reasoned values, not characterised" if self.reasoned else "characterised"
        return (
            f"{self.name}: {kind}; {self.source}; {self.temperature_c:g} C; "
            f"corners {', '.join(f'{v:g}' for v in self.vdd_v)} V"
        )


# -- compact table (JSON) ---------------------------------------------------------------


def _round(value: float, digits: int = 6) -> float:
    if value == 0 or not math.isfinite(value):
        return float(value)
    return float(f"{value:.{digits}g}")


def _rounded(array: np.ndarray) -> Any:
    return [_rounded(row) for row in array] if np.ndim(array) > 1 else [_round(float(v)) for v in np.ravel(array)]


def library_to_json(library: CellLibraryData) -> str:
    """The compact table of `library` (canonical: sorted keys, 6 significant digits)."""
    templates: dict[tuple, str] = {}

    def template(table: NldmTable) -> str:
        key = (tuple(_rounded(table.slew_ps)), tuple(_rounded(table.load_ff)))
        if key not in templates:
            templates[key] = f"t{len(templates)}"
        return templates[key]

    def encode(data: CellData) -> dict[str, Any]:
        arcs = []
        for (pin, edge), tables in data.arcs.items():
            arcs.append(
                {
                    "pin": pin,
                    "edge": edge,
                    **{
                        quantity: [{"template": template(t), "values": _rounded(t.values)} for t in per_corner]
                        for quantity, per_corner in tables.items()
                    },
                }
            )
        entry: dict[str, Any] = {
            "pins": list(data.pins),
            "output": data.output,
            "function": data.function,
            "area_um2": _round(data.area_um2),
            "capacitance_ff": {pin: _rounded(v) for pin, v in data.capacitance_ff.items()},
            "leakage_nw": _rounded(data.leakage_nw),
            "arcs": arcs,
        }
        if data.leakage_states_nw:
            entry["leakage_states_nw"] = {state: _rounded(v) for state, v in data.leakage_states_nw.items()}
        if data.setup_ps:
            entry["setup_ps"] = {edge: _rounded(v) for edge, v in data.setup_ps.items()}
            entry["hold_ps"] = {edge: _rounded(v) for edge, v in data.hold_ps.items()}
        if data.pin_energy_fj:
            entry["pin_energy_fj"] = {f"{pin} {edge}": _rounded(v) for (pin, edge), v in data.pin_energy_fj.items()}
        return entry

    cells = {name: encode(data) for name, data in library.cells_data.items()}
    razor = None if library.razor_flop is None else encode(library.razor_flop)
    document: dict[str, Any] = {
        "format": FORMAT,
        "name": library.name,
        "source": library.source,
        "model_card": library.model_card,
        "model_card_sha256": library.model_card_sha256,
        "temperature_c": library.temperature_c,
        "reasoned": library.reasoned,
        "command": library.command,
        "vdd_v": _rounded(library.vdd_v),
        "vdd_nominal_v": library.vdd_nominal_v,
        "fo4_ps": None if library.fo4_ps is None else [_round(v) for v in library.fo4_ps],
        "templates": {name: {"slew_ps": list(slew), "load_ff": list(load)} for (slew, load), name in templates.items()},
        "cells": cells,
    }
    if razor is not None:
        document["razor_flop"] = razor
    return json.dumps(document, sort_keys=True, separators=(",", ":")) + "\n"


def library_from_json(text: str, *, origin: str = "cell library") -> CellLibraryData:
    """Build a library from its compact table; ConfigError naming `origin` and the field if malformed."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{origin}: line {error.lineno}: not valid JSON ({error.msg})") from None
    try:
        if document.get("format") != FORMAT:
            raise ConfigError(f"{origin}: format: {document.get('format')!r}; allowed: {FORMAT}")
        templates = {
            name: (np.array(t["slew_ps"], dtype=np.float64), np.array(t["load_ff"], dtype=np.float64))
            for name, t in document["templates"].items()
        }

        def decode(name: str, entry: dict[str, Any]) -> CellData:
            arcs: dict[tuple[str, str], dict[str, tuple[NldmTable, ...]]] = {}
            for arc in entry["arcs"]:
                arcs[(arc["pin"], arc["edge"])] = {
                    quantity: tuple(
                        NldmTable(*templates[t["template"]], np.array(t["values"], dtype=np.float64))
                        for t in arc[quantity]
                    )
                    for quantity in _QUANTITIES
                }
            return CellData(
                name=name,
                pins=tuple(entry["pins"]),
                output=entry["output"],
                function=entry["function"],
                area_um2=float(entry["area_um2"]),
                arcs=MappingProxyType(arcs),
                capacitance_ff=MappingProxyType({p: _frozen(v) for p, v in entry["capacitance_ff"].items()}),
                leakage_nw=_frozen(entry["leakage_nw"]),
                leakage_states_nw=MappingProxyType(
                    {s: _frozen(v) for s, v in entry.get("leakage_states_nw", {}).items()}
                ),
                setup_ps=MappingProxyType({e: _frozen(v) for e, v in entry.get("setup_ps", {}).items()}),
                hold_ps=MappingProxyType({e: _frozen(v) for e, v in entry.get("hold_ps", {}).items()}),
                pin_energy_fj=MappingProxyType(
                    {tuple(k.split(" ")): _frozen(v) for k, v in entry.get("pin_energy_fj", {}).items()}  # type: ignore[misc]
                ),
            )

        cells = {name: decode(name, entry) for name, entry in document["cells"].items()}
        razor_entry = document.get("razor_flop")
        return CellLibraryData(
            name=document["name"],
            vdd_v=document["vdd_v"],
            cells=cells,
            temperature_c=document["temperature_c"],
            source=document["source"],
            model_card=document.get("model_card"),
            model_card_sha256=document.get("model_card_sha256"),
            reasoned=bool(document.get("reasoned", False)),
            command=document.get("command", ""),
            fo4_ps=document.get("fo4_ps"),
            vdd_nominal_v=document.get("vdd_nominal_v"),
            razor_flop=None if razor_entry is None else decode("razor_dff", razor_entry),
        )
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, ConfigError):
            raise
        raise ConfigError(f"{origin}: malformed compact table ({type(error).__name__}: {error})") from None


def _frozen(values: Any) -> np.ndarray:
    array = np.array(values, dtype=np.float64)
    array.setflags(write=False)
    return array


def load_cell_library(path: str | Path) -> CellLibraryData:
    """Read a compact table written by ``vscale tech characterize --cells`` (``*.cells.json``)."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"technology: {file}: no such file")
    return _load(str(file.resolve()), file.stat().st_mtime_ns)


@lru_cache(maxsize=16)
def _load(path: str, _mtime_ns: int) -> CellLibraryData:
    return library_from_json(Path(path).read_text(encoding="utf-8"), origin=path)


def shipped_cell_library(name: str = "ptm-32nm-hp") -> CellLibraryData:
    """The characterised library committed in the package for technology `name`."""
    if name not in SHIPPED_LIBRARIES:
        raise ConfigError(
            f"technology: {name!r} has no characterised cell library; allowed: {', '.join(SHIPPED_LIBRARIES)}"
        )
    return load_cell_library(SHIPPED_LIBRARIES[name])


def catalogue_spec(cell: str) -> CellSpec:
    """The catalogue entry of `cell` (pins, output, function)."""
    return CELL_SPECS[cell]


REASONED_DELAYS_PS: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        "generic-28nm": MappingProxyType(
            {
                "inv": 7.0,
                "buf": 14.0,
                "nand2": 9.0,
                "nor2": 11.0,
                "and2": 15.0,
                "or2": 16.0,
                "xor2": 22.0,
                "xor3": 30.0,
                "maj3": 20.0,
                "ao21": 18.0,
            }
        ),
        "finfet-7nm": MappingProxyType(
            {
                "inv": 14.4,
                "buf": 23.9,
                "nand2": 15.6,
                "nor2": 16.0,
                "and2": 25.0,
                "or2": 26.1,
                "xor2": 27.3,
                "xor3": 37.1,
                "maj3": 30.3,
                "ao21": 25.2,
            }
        ),
    }
)
"""Nominal cell delays in ps of the presets without a characterised library (docs/technology.md).

``generic-28nm``: the reasoned 28 nm values of :mod:`pe_models.cells` (inv, buf and nor2
added by the same logical-effort ratios). ``finfet-7nm``: the ASAP7 RVT TT NLDM Liberty
(asap7sc7p5t_28, 0.7 V, 25 C; Clark et al. 2016) of INVx1, BUFx2, NAND2x1, NOR2x1,
AND2x2, OR2x2, XOR2x1, MAJx2 and AO21x1 at a fan-out-of-2 load (2 INVx1 inputs, 1.24 fF)
and the steady-state FO4 slew (24.3 ps), mean over pins and edges; ASAP7 has no XOR3
cell, so xor3 = xor2 x 1.36 (the 28 nm xor3/xor2 ratio).
"""

REASONED_SETUP_PS: Mapping[str, float] = MappingProxyType({"generic-28nm": 25.0, "finfet-7nm": 11.2})
"""Flip-flop setup at nominal VDD (finfet-7nm: ASAP7 DFFHQx4 setup_rising, rising D, TT 0.7 V)."""


class ScaledCellLibrary:
    """A library of one delay per cell type, scaled over VDD by one voltage curve.

    Every pin and edge of a cell has the same delay, ``nominal_ps[cell] *
    technology.delay_scale(vdd_v)``, independent of load and slew: the model vscale used
    before characterised libraries, kept for the reasoned presets and to reproduce
    earlier results exactly. It has the timing methods of :class:`CellLibraryData`;
    ``transition_ps`` returns the delay (there is no slew data), ``pin_capacitance_ff``
    0.0 (no load dependence), ``hold_ps`` and ``clk_to_q_ps`` 0.0 (the sample instant is
    ``T_clk - t_setup``), and the energy and leakage methods raise ConfigError.

    Parameters
    ----------
    name : str
    technology : pe_models.technology.Technology or TabulatedTechnology
        The voltage curve (its range is the library's range).
    nominal_ps : mapping of str to float
        Delay per cell function at the technology's nominal supply.
    setup_ps : float
        Flip-flop setup at nominal supply.
    source : str
    """

    reasoned = True

    def __init__(
        self, *, name: str, technology: Any, nominal_ps: Mapping[str, float], setup_ps: float, source: str
    ) -> None:
        self.name = name
        self.technology = technology
        self.nominal_ps: Mapping[str, float] = MappingProxyType(dict(nominal_ps))
        self.nominal_setup_ps = float(setup_ps)
        self.source = source
        self.temperature_c = float(getattr(technology, "temperature_k", 300.15)) - 273.15
        self.vdd_nominal_v = float(technology.vdd_nominal_v)
        self.reference_load_ff = 0.0

    def __repr__(self) -> str:
        return f"ScaledCellLibrary(name={self.name!r}, technology={self.technology.name!r})"

    @property
    def cells(self) -> tuple[str, ...]:
        return (*self.nominal_ps, FLIP_FLOP)

    @property
    def vdd_min_v(self) -> float:
        low = getattr(self.technology, "vdd_min_v", None)
        return float(low) if low is not None else float(self.technology.vth_v)

    @property
    def vdd_max_v(self) -> float:
        return float(getattr(self.technology, "vdd_max_v", self.technology.vdd_nominal_v))

    def _spec(self, cell: str) -> CellSpec:
        if cell not in self.cells:
            raise ConfigError(f"cell: {cell!r} is not in cell library {self.name!r}; allowed: {', '.join(self.cells)}")
        return CELL_SPECS[cell]

    def pins(self, cell: str) -> tuple[str, ...]:
        return self._spec(cell).pins

    def arc_pins(self, cell: str) -> tuple[str, ...]:
        """Pins with a timing arc: every input of a logic cell; none of the flip-flop (no clock-to-Q data)."""
        return () if cell == FLIP_FLOP else self.pins(cell)

    def output_pin(self, cell: str) -> str:
        return self._spec(cell).output

    def check_vdd(self, vdd_v: float) -> float:
        self.technology.delay_scale(vdd_v)
        return float(vdd_v)

    def delay_ps(self, cell: str, pin: str, edge: str, vdd_v: float, load_ff: Any, slew_ps: Any) -> float | np.ndarray:
        """``nominal_ps[cell] * delay_scale(vdd_v)`` for every pin, edge, load and slew."""
        if pin not in self.arc_pins(cell):
            raise ConfigError(
                f"pin: {pin!r} of cell {cell} has no timing arc; allowed: {', '.join(self.arc_pins(cell))}"
            )
        if edge not in EDGES:
            raise ConfigError(f"edge: {edge!r}; allowed: rise, fall")
        value = self.nominal_ps[cell] * self.technology.delay_scale(vdd_v)
        shape = np.broadcast_shapes(np.shape(load_ff), np.shape(slew_ps))
        return float(value) if not shape else np.full(shape, value)

    def transition_ps(
        self, cell: str, pin: str, edge: str, vdd_v: float, load_ff: Any, slew_ps: Any
    ) -> float | np.ndarray:
        return self.delay_ps(cell, pin, edge, vdd_v, load_ff, slew_ps)

    def pin_capacitance_ff(self, cell: str, pin: str, vdd_v: float) -> float:
        self._spec(cell)
        self.check_vdd(vdd_v)
        return 0.0

    def reference_slew_ps(self, vdd_v: float) -> float:
        self.check_vdd(vdd_v)
        return 0.0

    def setup_ps(self, vdd_v: float, edge: str = "rise") -> float:
        return self.nominal_setup_ps * float(self.technology.delay_scale(vdd_v))

    def hold_ps(self, vdd_v: float, edge: str = "rise") -> float:
        self.check_vdd(vdd_v)
        return 0.0

    def clk_to_q_ps(self, edge: str, vdd_v: float, load_ff: Any = None, slew_ps: Any = None) -> float | np.ndarray:
        self.check_vdd(vdd_v)
        return 0.0

    def _no_data(self, what: str) -> ConfigError:
        return ConfigError(
            f"technology: {self.name!r} is a reasoned preset without a characterised cell library: no {what}"
        )

    def switching_energy_fj(self, *args: Any) -> float:
        raise self._no_data("per-cell switching energy")

    def leakage_nw(self, *args: Any, **kwargs: Any) -> float:
        raise self._no_data("per-cell leakage")

    def describe(self) -> str:
        return (
            f"{self.name}: reasoned values, not characterised; one delay per cell ({self.source}) scaled by "
            f"the {self.technology.name} voltage curve"
        )


def reasoned_cell_library(technology_name: str) -> ScaledCellLibrary:
    """The scaled library of a preset without a characterised one (``generic-28nm``, ``finfet-7nm``, ...)."""
    from pe_models.technology import TECHNOLOGIES

    if technology_name not in TECHNOLOGIES:
        raise ConfigError(
            f"technology: {technology_name!r} is not a known technology; allowed: {', '.join(sorted(TECHNOLOGIES))}"
        )
    key = technology_name if technology_name in REASONED_DELAYS_PS else "generic-28nm"
    source = (
        "ASAP7 RVT TT Liberty delays at 0.7 V"
        if key == "finfet-7nm"
        else "28 nm-class delays reasoned from FO4 and logical effort"
    )
    return ScaledCellLibrary(
        name=technology_name,
        technology=TECHNOLOGIES[technology_name],
        nominal_ps=REASONED_DELAYS_PS[key],
        setup_ps=REASONED_SETUP_PS[key],
        source=source,
    )
