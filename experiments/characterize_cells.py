"""Characterise vscale's standard cells with ngspice: NLDM timing, energy, capacitance, leakage.

For every cell of :data:`pe_models.cell_catalogue.CELL_SPECS` (the subcircuits in
``pe_models/technology_data/cells/``) on a SPICE model card, at every supply voltage:

- **FO4 probe**: a chain of unit inverters each driving four copies of itself; the mean of
  the rising and falling delay of the middle stage is the time unit ``tau`` of that
  supply (input slews, time steps and windows are multiples of it);
- **timing arcs**: for every input pin, every sensitising state of the other inputs
  (:func:`pe_models.cell_catalogue.sensitising_states`), every input slew and output
  load, one cell instance on its own supply whose pin rises and then falls (ideal ramps,
  10-90 % = slew). Measured: 50 %-50 % delay and 10-90 % transition of each output edge,
  the energy the cell's supply delivers per output transition (charge integral minus the
  settled leakage current times the window, times VDD), the charge the pin draws (input
  capacitance, Miller effect included). One ngspice run per cell, supply and load (the
  time step and window scale with the load's delay, which keeps every run short);
- **leakage**: one ``.op`` per supply with every combinational cell in every input state;
- **flip-flop**: clock-to-Q arcs (clock slew x load) and clock/data pin energies; setup
  and hold by the 10 % clock-to-Q push-out criterion, found on a coarse grid of data
  offsets and refined on a fine one;
- **Razor flip-flop** (``razor_dff``): the flip-flop's clock-arc harness on the Razor
  subcircuit (restore input held at 0, error output loaded by the first load): clock-to-Q
  arcs, the energy of clock edges that leave Q unchanged (D stable), of D edges while the
  clock is low, the CK and D pin capacitances and the leakage.

Several states of one arc (an XOR's other input 0 or 1, a MAJ3's 01 or 10) are reduced
to the worst (largest) delay, transition and energy of each output edge, as a Liberty
library without ``when`` conditions would state them; the per-state values are kept in
the raw table. This module only writes netlists, runs ngspice and parses its output; the
library object and the Liberty files are :mod:`pe_models.liberty`.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from pe_models.cell_catalogue import (
    CELL_SPECS,
    COMBINATIONAL_CELLS,
    FLIP_FLOP,
    RAZOR_FLOP,
    sensitising_states,
    subcircuit_path,
)
from pe_models.errors import ConfigError
from pe_models.liberty import CellData, CellLibraryData, NldmTable

__all__ = [
    "DEFAULT_LOADS_FF",
    "DEFAULT_SLEWS_TAU",
    "ArcMeasurement",
    "CellCharacterizeConfig",
    "CellMeasurements",
    "CharacterizationResult",
    "cell_area_um2",
    "characterize_cells",
    "find_ngspice",
    "merge_library",
    "to_library",
]

DEFAULT_LOADS_FF: tuple[float, ...] = (0.25, 1.0, 3.0, 8.0, 20.0, 50.0)
"""Output loads in fF: one unit-inverter input up to the 34-pin product sign net of the fused PE."""

DEFAULT_SLEWS_TAU: tuple[float, ...] = (0.5, 2.0, 8.0)
"""Input slews (10-90 %) in FO4 delays of each supply."""

REFERENCE_SLEW_INDEX = 1
"""Index of the reference slew in the slew axis (2 FO4 delays)."""

_MEASURE_LINE = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*=\s*([-+]?[0-9.]+(?:e[-+]?[0-9]+)?)", re.IGNORECASE)
_MEASURE_FAILURE = re.compile(r"^\s*error:?\s*measure\b", re.IGNORECASE)
_RAMP_OVER_SLEW = 1.0 / 0.8
_FIRST_TAU_S = 8e-12
_TIMEOUT_S = 1800.0
_STEP_OVER_DELAY = 0.25
_SETTLE_OVER_DELAY = 16.0
_PUSH_OUT = 1.10
_ATTEMPTS = 4


def find_ngspice(executable: str = "ngspice") -> str:
    """The ngspice executable's path; ConfigError if it is not installed."""
    path = shutil.which(executable)
    if path is None:
        raise ConfigError(
            f"--ngspice: {executable!r} not found on PATH; install it (Debian/Ubuntu: apt-get install ngspice)"
        )
    return path


@dataclass(frozen=True, kw_only=True)
class CellCharacterizeConfig:
    """What to characterise.

    Parameters
    ----------
    model_card : pathlib.Path
        SPICE model card defining ``.model nmos nmos ...`` and ``.model pmos pmos ...``.
    vdd_v : tuple of float
        Supply voltages (corners) in V, at least 2, in (0, 2].
    temperature_c : float
        Simulation temperature in degrees C (-60 to 150).
    cells : tuple of str
        Cell functions to characterise (default: all of ``CELL_SPECS`` and the Razor
        flip-flop ``razor_dff``).
    load_ff : tuple of float
        Output loads in fF, increasing, at least 2.
    slew_tau : tuple of float
        Input slews in FO4 delays of each supply, increasing, at least 2.
    workers : int
        ngspice processes run at once (1 to 64).
    ngspice : str
        ngspice executable.
    name : str
        Library name.
    """

    model_card: Path
    vdd_v: tuple[float, ...]
    temperature_c: float = 27.0
    cells: tuple[str, ...] = (*CELL_SPECS, RAZOR_FLOP)
    load_ff: tuple[float, ...] = DEFAULT_LOADS_FF
    slew_tau: tuple[float, ...] = DEFAULT_SLEWS_TAU
    workers: int = 2
    ngspice: str = "ngspice"
    name: str = "cells"

    def __post_init__(self) -> None:
        if not Path(self.model_card).is_file():
            raise ConfigError(f"--model-card: {self.model_card}: no such file")
        voltages = tuple(sorted(float(v) for v in self.vdd_v))
        if len(voltages) < 2 or len(set(voltages)) != len(voltages):
            raise ConfigError(f"--vdd: {list(self.vdd_v)}; allowed: at least 2 distinct supplies")
        if any(not (0.0 < v <= 2.0) for v in voltages):
            raise ConfigError(f"--vdd: {list(self.vdd_v)} has a voltage outside (0, 2] V")
        object.__setattr__(self, "vdd_v", voltages)
        if not -60.0 <= self.temperature_c <= 150.0:
            raise ConfigError(f"--temperature-c: {self.temperature_c:g}; allowed: -60 to 150")
        unknown = [c for c in self.cells if c not in CELL_SPECS and c != RAZOR_FLOP]
        if unknown or not self.cells:
            raise ConfigError(f"cells: unknown cell {unknown[:1]!r}; allowed: {', '.join([*CELL_SPECS, RAZOR_FLOP])}")
        for label, axis in (("load_ff", self.load_ff), ("slew_tau", self.slew_tau)):
            if len(axis) < 2 or any(b <= a for a, b in itertools.pairwise(axis)) or axis[0] <= 0:
                raise ConfigError(f"{label}: {list(axis)}; allowed: at least 2 increasing positive values")
        if not 1 <= self.workers <= 64:
            raise ConfigError(f"--workers: {self.workers}; allowed: 1 to 64")


@dataclass(frozen=True, kw_only=True)
class ArcMeasurement:
    """One arc (input pin -> output edge) of one cell at one supply, worst over states.

    Arrays are float64 ``(n_slew, n_load)``: delay and transition in ps, energy in fJ
    (supply energy of the transition, load charge included), and for every sensitising
    state the delay (``state_delay_ps``, keyed by ``"B=1"``-style labels).
    """

    delay_ps: np.ndarray
    transition_ps: np.ndarray
    energy_fj: np.ndarray
    state_delay_ps: dict[str, np.ndarray] = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class CellMeasurements:
    """Everything measured for one cell at one supply."""

    cell: str
    vdd_v: float
    arcs: dict[tuple[str, str], ArcMeasurement]
    capacitance_ff: dict[str, float]
    leakage_nw: float
    leakage_states_nw: dict[str, float]
    setup_ps: dict[str, float] = field(default_factory=dict)
    hold_ps: dict[str, float] = field(default_factory=dict)
    pin_energy_fj: dict[tuple[str, str], float] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class CharacterizationResult:
    """All supplies of one characterisation run."""

    config: CellCharacterizeConfig
    vdd_v: tuple[float, ...]
    fo4_ps: tuple[float, ...]
    slew_ps: np.ndarray
    load_ff: tuple[float, ...]
    cells: dict[str, tuple[CellMeasurements, ...]]
    ngspice_version: str
    model_card_sha256: str
    netlists: dict[str, str] = field(repr=False)


class _Runner:
    """Runs ngspice netlists in a scratch folder; turns every failure into one ConfigError line."""

    def __init__(self, ngspice: str, card: Path, directory: Path) -> None:
        self.ngspice = ngspice
        self.card = card
        self.directory = directory

    def run(self, netlist: str, name: str, what: str) -> str:
        path = self.directory / f"{name}.sp"
        path.write_text(netlist)
        try:
            completed = subprocess.run(
                [self.ngspice, "-b", path.name],
                cwd=self.directory,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=_TIMEOUT_S,
                check=False,
                preexec_fn=_lower_priority,
                env=_NGSPICE_ENVIRONMENT,
            )
        except subprocess.TimeoutExpired:
            raise ConfigError(
                f"--model-card: {self.card}: ngspice did not finish {what} within {_TIMEOUT_S:g} s"
            ) from None
        except OSError as error:
            raise ConfigError(f"--ngspice: {self.ngspice}: cannot be run ({error.strerror})") from None
        output = completed.stdout + "\n" + completed.stderr
        errors = [
            line.strip()
            for line in output.splitlines()
            if (re.match(r"^\s*(error|fatal)\b", line, re.IGNORECASE) and not _MEASURE_FAILURE.match(line))
            or "no circuit loaded" in line.lower()
            or "unknown model" in line.lower()
            or "could not find" in line.lower()
        ]
        if completed.returncode != 0 or errors:
            reason = errors[0] if errors else f"exit status {completed.returncode}"
            raise ConfigError(f"--model-card: {self.card}: ngspice failed on {what} ({reason})")
        return output


_NGSPICE_ENVIRONMENT = {**os.environ, "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}
"""ngspice's BSIM4 is built with OpenMP: its idle threads spin at every barrier, which on a busy
machine made a 0.1 s run take 16 s. One thread per process (parallelism comes from the workers),
waiting passively."""


def _lower_priority() -> None:
    os.nice(10)


def _measurements(output: str) -> dict[str, float]:
    values = {}
    for line in output.splitlines():
        match = _MEASURE_LINE.match(line)
        if match:
            values[match.group(1).lower()] = float(match.group(2))
    return values


def _header(card: Path, cells: Sequence[str], temperature_c: float, title: str) -> list[str]:
    lines = [f"* vscale tech characterize --cells: {title}", f'.include "{card}"']
    lines += [f'.include "{subcircuit_path(cell)}"' for cell in cells]
    lines += [f".temp {temperature_c:g}", ".option reltol=1e-3"]
    return lines


def _pwl(points: Sequence[tuple[float, float]]) -> str:
    return "pwl(" + " ".join(f"{t:.6e} {v:.6g}" for t, v in points) + ")"


def _fo4_netlist(card: Path, vdd_v: float, tau_s: float, temperature_c: float) -> str:
    half = 60.0 * tau_s
    ramp = tau_s
    start = 2.0 * tau_s
    lines = _header(card, ["inv"], temperature_c, f"FO4 probe at {vdd_v:g} V")
    lines.append(f"vdd vdd 0 {vdd_v:.6g}")
    lines.append(
        f"vin n0 0 {_pwl([(0, 0), (start, 0), (start + ramp, vdd_v), (start + half, vdd_v), (start + half + ramp, 0)])}"
    )
    for stage in range(5):
        lines.append(f"x{stage} n{stage} n{stage + 1} vdd 0 inv")
        lines.append(f"xl{stage} n{stage + 1} d{stage} vdd 0 inv m=3")
    lines.append("xlast n5 d5 vdd 0 inv m=4")
    mid = vdd_v / 2
    lines += [
        ".save v(n2) v(n3)",
        f".tran {0.1 * tau_s:.6e} {start + 2 * half:.6e}",
        f".measure tran ra trig v(n2) val={mid:.6g} fall=1 targ v(n3) val={mid:.6g} rise=1",
        f".measure tran fa trig v(n2) val={mid:.6g} rise=1 targ v(n3) val={mid:.6g} fall=1",
        f".measure tran va find v(n3) at={start + half:.6e}",
        f".measure tran vb find v(n3) at={start + 2 * half - tau_s:.6e}",
        ".end",
    ]
    return "\n".join(lines) + "\n"


def _measure_fo4(runner: _Runner, card: Path, vdd_v: float, estimate_s: float, temperature_c: float) -> float:
    tau = estimate_s
    for attempt in range(_ATTEMPTS):
        values = _measurements(
            runner.run(
                _fo4_netlist(card, vdd_v, tau, temperature_c),
                f"fo4_{vdd_v:g}_{attempt}",
                f"the FO4 probe at {vdd_v:g} V",
            )
        )
        if all(k in values for k in ("ra", "fa", "va", "vb")):
            settled = min(values["va"], values["vb"]) < 0.05 * vdd_v and max(values["va"], values["vb"]) > 0.95 * vdd_v
            measured = 0.5 * (values["ra"] + values["fa"])
            if settled and measured < 3.0 * tau:
                return measured
            tau = 2.0 * measured if settled else 4.0 * tau
        else:
            tau *= 4.0
    raise ConfigError(f"--model-card: {card}: the FO4 inverter chain does not switch at {vdd_v:g} V")


def _state_label(state: dict[str, int]) -> str:
    return ",".join(f"{pin}={bit}" for pin, bit in state.items()) or "-"


@dataclass(frozen=True)
class _Instance:
    number: int
    pin: str
    state: dict[str, int]
    slew_index: int
    first_edge: str


def _arc_netlist(
    card: Path,
    cell: str,
    vdd_v: float,
    slews_s: Sequence[float],
    load_f: float,
    delay_s: float,
    temperature_c: float,
) -> tuple[str, list[_Instance], tuple[float, float, float]]:
    """One load, every pin, sensitising state and slew of `cell`; each instance on its own supply."""
    spec = CELL_SPECS[cell]
    ramp_max = max(slews_s) * _RAMP_OVER_SLEW
    window = ramp_max + _SETTLE_OVER_DELAY * delay_s
    t1 = 2.0 * delay_s
    t2 = t1 + window
    t_end = t2 + window
    mid = vdd_v / 2
    lines = _header(card, [cell], temperature_c, f"{cell} arcs at {vdd_v:g} V, {load_f * 1e15:g} fF")
    measures: list[str] = []
    saved: list[str] = []
    instances = []
    number = 0
    for pin in spec.pins:
        for state in sensitising_states(cell, pin):
            for slew_index, slew in enumerate(slews_s):
                number += 1
                n = number
                ramp = slew * _RAMP_OVER_SLEW
                nodes = []
                for other in spec.pins:
                    node = f"i{n}{other.lower()}"
                    nodes.append(node)
                    if other == pin:
                        wave = _pwl([(0, 0), (t1, 0), (t1 + ramp, vdd_v), (t2, vdd_v), (t2 + ramp, 0)])
                        lines.append(f"v{node} {node} 0 {wave}")
                    else:
                        lines.append(f"v{node} {node} 0 {vdd_v * state[other]:.6g}")
                lines.append(f"vs{n} s{n} 0 {vdd_v:.6g}")
                lines.append(f"x{n} {' '.join(nodes)} o{n} s{n} 0 {cell}")
                lines.append(f"c{n} o{n} 0 {load_f:.6e}")
                high = spec.evaluate(*[1 if p == pin else state[p] for p in spec.pins])
                first, second = ("rise", "fall") if high else ("fall", "rise")
                instances.append(_Instance(n, pin, state, slew_index, first))
                source = f"i{n}{pin.lower()}"
                saved += [f"v({source})", f"v(o{n})", f"i(vs{n})", f"i(v{source})"]
                for tag, start, end, in_edge, out_edge in (
                    ("a", t1, t2, "rise", first),
                    ("b", t2, t_end, "fall", second),
                ):
                    low, high_v = (0.1 * vdd_v, 0.9 * vdd_v) if out_edge == "rise" else (0.9 * vdd_v, 0.1 * vdd_v)
                    tail = end - 0.2 * window
                    measures += [
                        f".measure tran d{tag}{n} trig v({source}) val={mid:.6g} {in_edge}=1 td={start:.6e} "
                        f"targ v(o{n}) val={mid:.6g} {out_edge}=1 td={start:.6e}",
                        f".measure tran t{tag}{n} trig v(o{n}) val={low:.6g} {out_edge}=1 td={start:.6e} "
                        f"targ v(o{n}) val={high_v:.6g} {out_edge}=1 td={start:.6e}",
                        f".measure tran q{tag}{n} integ i(vs{n}) from={start:.6e} to={end:.6e}",
                        f".measure tran l{tag}{n} avg i(vs{n}) from={tail:.6e} to={end:.6e}",
                        f".measure tran c{tag}{n} integ i(v{source}) from={start:.6e} to={end:.6e}",
                        f".measure tran g{tag}{n} avg i(v{source}) from={tail:.6e} to={end:.6e}",
                        f".measure tran v{tag}{n} find v(o{n}) at={end - 0.01 * window:.6e}",
                    ]
    lines.append(".save " + " ".join(saved))
    lines.append(f".tran {_STEP_OVER_DELAY * delay_s:.6e} {t_end:.6e}")
    lines += measures
    lines.append(".end")
    return "\n".join(lines) + "\n", instances, (t1, t2, t_end)


def _load_delay_estimate(tau_s: float, load_ff: float) -> float:
    """A lower estimate of the fastest arc's delay at `load_ff` (sets the run's time step)."""
    return tau_s * (0.35 + 0.3 * load_ff)


@dataclass
class _ArcRaw:
    delay: np.ndarray
    transition: np.ndarray
    energy: np.ndarray
    states: dict[str, np.ndarray]


def _characterize_load(
    runner: _Runner,
    card: Path,
    cell: str,
    vdd_v: float,
    tau_s: float,
    slews_s: Sequence[float],
    load_index: int,
    load_ff: float,
    temperature_c: float,
) -> tuple[dict, dict[str, list[float]], str]:
    """Measurements of one load: {(pin, edge, state, slew_index): (delay, transition, energy)}, pin charges."""
    delay_estimate = _load_delay_estimate(tau_s, load_ff)
    what = f"cell {cell} at {vdd_v:g} V, load {load_ff:g} fF"
    for attempt in range(_ATTEMPTS):
        netlist, instances, (t1, t2, t_end) = _arc_netlist(
            card, cell, vdd_v, slews_s, load_ff * 1e-15, delay_estimate, temperature_c
        )
        values = _measurements(runner.run(netlist, f"{cell}_{vdd_v:g}_{load_index}_{attempt}", what))
        results: dict = {}
        charges: dict[str, list[float]] = {}
        settled = True
        for instance in instances:
            n = instance.number
            spec_edges = (("a", instance.first_edge, t2 - t1), ("b", _other(instance.first_edge), t_end - t2))
            for tag, edge, length in spec_edges:
                keys = [f"{k}{tag}{n}" for k in ("d", "t", "q", "l", "c", "g", "v")]
                if not all(k in values for k in keys):
                    settled = False
                    break
                d, t, q, leak, c, g, v = (values[k] for k in keys)
                target = vdd_v if edge == "rise" else 0.0
                if abs(v - target) > 0.02 * vdd_v:
                    settled = False
                    break
                energy_fj = vdd_v * (-q + leak * length) * 1e15
                results[(instance.pin, edge, _state_label(instance.state), instance.slew_index)] = (
                    d * 1e12,
                    t * 1e12,
                    energy_fj,
                )
                if instance.slew_index == REFERENCE_SLEW_INDEX:
                    charges.setdefault(instance.pin, []).append(abs(c - g * length) / vdd_v * 1e15)
            if not settled:
                break
        if settled:
            return results, charges, netlist
        delay_estimate *= 3.0
    raise ConfigError(f"--model-card: {card}: {what} does not switch within the simulated window")


def _other(edge: str) -> str:
    return "fall" if edge == "rise" else "rise"


def _combine(cell: str, vdd_v: float, per_load: Sequence[dict], n_slews: int) -> dict[tuple[str, str], ArcMeasurement]:
    spec = CELL_SPECS[cell]
    n_loads = len(per_load)
    arcs = {}
    for pin in spec.pins:
        for edge in ("rise", "fall"):
            labels = sorted({key[2] for results in per_load for key in results if key[0] == pin and key[1] == edge})
            if not labels:
                raise ConfigError(f"cell {cell}: pin {pin} has no {edge} arc at {vdd_v:g} V")
            shape = (len(labels), n_slews, n_loads)
            delay, transition, energy = np.zeros(shape), np.zeros(shape), np.zeros(shape)
            for j, results in enumerate(per_load):
                for s, label in enumerate(labels):
                    for k in range(n_slews):
                        delay[s, k, j], transition[s, k, j], energy[s, k, j] = results[(pin, edge, label, k)]
            arcs[(pin, edge)] = ArcMeasurement(
                delay_ps=delay.max(axis=0),
                transition_ps=transition.max(axis=0),
                energy_fj=energy.max(axis=0),
                state_delay_ps={label: delay[s] for s, label in enumerate(labels)},
            )
    return arcs


def _leakage_netlist(card: Path, cells: Sequence[str], vdd_v: float, temperature_c: float) -> tuple[str, list]:
    lines = _header(card, cells, temperature_c, f"leakage at {vdd_v:g} V")
    entries = []
    number = 0
    for cell in cells:
        spec = CELL_SPECS[cell]
        for bits in np.ndindex(*(2,) * len(spec.pins)):
            number += 1
            nodes = []
            for pin, bit in zip(spec.pins, bits, strict=True):
                node = f"k{number}{pin.lower()}"
                lines.append(f"v{node} {node} 0 {vdd_v * bit:.6g}")
                nodes.append(node)
            lines.append(f"vl{number} l{number} 0 {vdd_v:.6g}")
            lines.append(f"x{number} {' '.join(nodes)} o{number} l{number} 0 {cell}")
            entries.append((cell, "".join(str(b) for b in bits), number))
    lines += [".control", "op"]
    lines += [f"print i(vl{number})" for _, _, number in entries]
    lines += ["quit 0", ".endc", ".end"]
    return "\n".join(lines) + "\n", entries


def _leakage(runner: _Runner, card: Path, cells: Sequence[str], vdd_v: float, temperature_c: float):
    netlist, entries = _leakage_netlist(card, cells, vdd_v, temperature_c)
    output = runner.run(netlist, f"leak_{vdd_v:g}", f"the leakage operating points at {vdd_v:g} V")
    currents = {}
    for line in output.splitlines():
        match = re.match(r"^\s*i\(vl(\d+)\)\s*=\s*([-+]?[0-9.]+(?:e[-+]?[0-9]+)?)", line, re.IGNORECASE)
        if match:
            currents[int(match.group(1))] = float(match.group(2))
    result: dict[str, dict[str, float]] = {}
    for cell, label, number in entries:
        if number not in currents:
            raise ConfigError(f"--model-card: {card}: ngspice printed no leakage current for {cell} at {vdd_v:g} V")
        result.setdefault(cell, {})[label] = -currents[number] * vdd_v * 1e9
    return result, netlist


def _flop_clock_netlist(
    card: Path,
    vdd_v: float,
    slews_s: Sequence[float],
    load_f: float,
    window: float,
    d_slew: float,
    temperature_c: float,
    cell: str = FLIP_FLOP,
    error_load_f: float = 0.0,
) -> tuple[str, dict[str, float]]:
    """Clock edges k = 0..3 (rising at t0 + 2kW): capture 0, capture 1 (Q rises), capture 0 (Q falls), hold 0.

    `cell` is the flip-flop (``D CK Q``) or the Razor flip-flop (``D CK R Q E``: R held at
    0, E loaded by `error_load_f`).
    """
    t0 = 2.0 * window
    rising = [t0 + 2 * k * window for k in range(4)]
    t_end = rising[-1] + 2 * window
    lines = _header(card, [cell], temperature_c, f"{cell} clock arcs at {vdd_v:g} V, {load_f * 1e15:g} fF")
    measures: list[str] = []
    saved: list[str] = []
    mid = vdd_v / 2
    d_ramp = d_slew * _RAMP_OVER_SLEW
    d_rise = rising[0] + 1.5 * window
    d_fall = rising[1] + 1.5 * window
    data = _pwl([(0, 0), (d_rise, 0), (d_rise + d_ramp, vdd_v), (d_fall, vdd_v), (d_fall + d_ramp, 0)])
    times = {"t0": t0, "window": window, "d_rise": d_rise, "d_fall": d_fall}
    for n, slew in enumerate(slews_s):
        ramp = slew * _RAMP_OVER_SLEW
        points = [(0.0, 0.0)]
        for t in rising:
            points += [(t, 0.0), (t + ramp, vdd_v), (t + window, vdd_v), (t + window + ramp, 0.0)]
        lines += [
            f"vck{n} ck{n} 0 {_pwl(points)}",
            f"vd{n} d{n} 0 {data}",
            f"vs{n} s{n} 0 {vdd_v:.6g}",
            f"c{n} q{n} 0 {load_f:.6e}",
        ]
        if cell == RAZOR_FLOP:
            lines += [f"x{n} d{n} ck{n} 0 q{n} e{n} s{n} 0 {cell}", f"ce{n} e{n} 0 {error_load_f:.6e}"]
        else:
            lines.append(f"x{n} d{n} ck{n} q{n} s{n} 0 {cell}")
        saved += [f"v(ck{n})", f"v(q{n})", f"v(d{n})", f"i(vs{n})", f"i(vck{n})", f"i(vd{n})"]
        for tag, k, edge in (("r", 1, "rise"), ("f", 2, "fall")):
            low, high = (0.1 * vdd_v, 0.9 * vdd_v) if edge == "rise" else (0.9 * vdd_v, 0.1 * vdd_v)
            start = rising[k]
            measures += [
                f".measure tran d{tag}{n} trig v(ck{n}) val={mid:.6g} rise=1 td={start:.6e} "
                f"targ v(q{n}) val={mid:.6g} {edge}=1 td={start:.6e}",
                f".measure tran t{tag}{n} trig v(q{n}) val={low:.6g} {edge}=1 td={start:.6e} "
                f"targ v(q{n}) val={high:.6g} {edge}=1 td={start:.6e}",
                f".measure tran q{tag}{n} integ i(vs{n}) from={start:.6e} to={start + window:.6e}",
                f".measure tran v{tag}{n} find v(q{n}) at={start + 0.99 * window:.6e}",
            ]
        quiet = rising[3]
        measures += [
            f".measure tran lk{n} avg i(vs{n}) from={quiet + 0.8 * window:.6e} to={quiet + window:.6e}",
            f".measure tran ll{n} avg i(vs{n}) from={quiet + 1.8 * window:.6e} to={quiet + 2 * window:.6e}",
            f".measure tran qcr{n} integ i(vs{n}) from={quiet:.6e} to={quiet + window:.6e}",
            f".measure tran qcf{n} integ i(vs{n}) from={quiet + window:.6e} to={quiet + 2 * window:.6e}",
            f".measure tran qdr{n} integ i(vs{n}) from={d_rise:.6e} to={rising[1]:.6e}",
            f".measure tran qdf{n} integ i(vs{n}) from={d_fall:.6e} to={rising[2]:.6e}",
            f".measure tran ck{n} integ i(vck{n}) from={quiet:.6e} to={quiet + window:.6e}",
            f".measure tran dc{n} integ i(vd{n}) from={d_rise:.6e} to={rising[1]:.6e}",
            f".measure tran gd{n} avg i(vd{n}) from={rising[1] - 0.2 * window:.6e} to={rising[1]:.6e}",
            f".measure tran gk{n} avg i(vck{n}) from={quiet + 0.8 * window:.6e} to={quiet + window:.6e}",
        ]
    lines.append(".save " + " ".join(saved))
    lines.append(f".tran {window / 40:.6e} {t_end:.6e}")
    lines += measures
    lines.append(".end")
    return "\n".join(lines) + "\n", times


def _flop_clock(
    runner: _Runner,
    card: Path,
    vdd_v: float,
    tau_s: float,
    slews_s: Sequence[float],
    load_index: int,
    load_ff: float,
    temperature_c: float,
    cell: str = FLIP_FLOP,
    error_load_ff: float = 0.0,
) -> tuple[dict, dict, str]:
    window = max(slews_s) * _RAMP_OVER_SLEW + _SETTLE_OVER_DELAY * _load_delay_estimate(tau_s, load_ff) + 20 * tau_s
    what = f"the {'flip-flop' if cell == FLIP_FLOP else cell} clock arcs at {vdd_v:g} V, load {load_ff:g} fF"
    for attempt in range(_ATTEMPTS):
        netlist, times = _flop_clock_netlist(
            card,
            vdd_v,
            slews_s,
            load_ff * 1e-15,
            window,
            slews_s[REFERENCE_SLEW_INDEX],
            temperature_c,
            cell,
            error_load_ff * 1e-15,
        )
        values = _measurements(runner.run(netlist, f"{cell}ck_{vdd_v:g}_{load_index}_{attempt}", what))
        arcs: dict = {}
        extras: dict = {}
        ok = True
        for n in range(len(slews_s)):
            for tag, edge, target in (("r", "rise", vdd_v), ("f", "fall", 0.0)):
                keys = [f"{k}{tag}{n}" for k in ("d", "t", "q", "v")]
                if not all(k in values for k in keys) or abs(values[keys[3]] - target) > 0.02 * vdd_v:
                    ok = False
                    break
                leak = values.get(f"lk{n}", 0.0)
                energy = vdd_v * (-values[keys[2]] + leak * window) * 1e15
                arcs[("CK", edge, n)] = (values[keys[0]] * 1e12, values[keys[1]] * 1e12, energy)
            if not ok:
                break
            if n == REFERENCE_SLEW_INDEX:
                leak_r, leak_f = -values[f"lk{n}"], -values[f"ll{n}"]
                d_length = times["t0"] + 2 * window - times["d_rise"]
                extras = {
                    "leakage_nw": 0.5 * (leak_r + leak_f) * vdd_v * 1e9,
                    ("CK", "rise"): vdd_v * (-values[f"qcr{n}"] - leak_r * window) * 1e15,
                    ("CK", "fall"): vdd_v * (-values[f"qcf{n}"] - leak_f * window) * 1e15,
                    ("D", "rise"): vdd_v * (-values[f"qdr{n}"] - leak_f * d_length) * 1e15,
                    ("D", "fall"): vdd_v * (-values[f"qdf{n}"] - leak_f * d_length) * 1e15,
                    "CK": abs(values[f"ck{n}"] - values[f"gk{n}"] * window) / vdd_v * 1e15,
                    "D": abs(values[f"dc{n}"] - values[f"gd{n}"] * d_length) / vdd_v * 1e15,
                }
        if ok:
            return arcs, extras, netlist
        window *= 3.0
    raise ConfigError(f"--model-card: {card}: {what}: Q does not follow D within the simulated window")


def _constraint_netlist(
    card: Path,
    vdd_v: float,
    slew_s: float,
    load_f: float,
    window: float,
    tau_s: float,
    offsets: Mapping[str, Sequence[float] | np.ndarray],
    temperature_c: float,
) -> tuple[str, list[tuple[str, float, int]]]:
    """Setup and hold probes: per check and data offset one flip-flop (clock edges at t0 and t1 = t0 + 2W).

    ``setup_rise``: D 0 -> 1 at ``t1 - offset``, Q must rise. ``setup_fall``: D 1 -> 0,
    Q must fall. ``hold_rise``: D 1 -> 0 well before t1 (Q falls at t1), then D 0 -> 1 at
    ``t1 + offset``; Q must fall and stay 0. ``hold_fall`` the mirror image.
    """
    ramp = slew_s * _RAMP_OVER_SLEW
    t0 = 2.0 * window
    t1 = t0 + 2.0 * window
    t_end = t1 + 1.5 * window
    lines = _header(card, [FLIP_FLOP], temperature_c, f"flip-flop setup and hold at {vdd_v:g} V")
    clock = _pwl(
        [
            (0, 0),
            (t0, 0),
            (t0 + ramp, vdd_v),
            (t0 + window, vdd_v),
            (t0 + window + ramp, 0),
            (t1, 0),
            (t1 + ramp, vdd_v),
        ]
    )
    lines.append(f"vck ck 0 {clock}")
    measures: list[str] = []
    saved = ["v(ck)"]
    probes = []
    mid = vdd_v / 2
    number = 0
    for check, values in offsets.items():
        kind, edge = check.split("_")
        for offset in values:
            number += 1
            n = number
            early = t0 + 1.5 * window
            if kind == "setup":
                start, final = (0.0, vdd_v) if edge == "rise" else (vdd_v, 0.0)
                change = t1 - offset
                wave = _pwl([(0, start), (change, start), (change + ramp, final)])
                q_edge = edge
            else:
                held = 0.0 if edge == "rise" else vdd_v
                other = vdd_v - held
                change = t1 + offset
                wave = _pwl([(0, other), (early, other), (early + ramp, held), (change, held), (change + ramp, other)])
                q_edge = "fall" if edge == "rise" else "rise"
            lines += [
                f"vd{n} d{n} 0 {wave}",
                f"x{n} d{n} ck q{n} vdd 0 {FLIP_FLOP}",
                f"c{n} q{n} 0 {load_f:.6e}",
            ]
            saved.append(f"v(q{n})")
            measures += [
                f".measure tran p{n} trig v(ck) val={mid:.6g} rise=2 targ v(q{n}) val={mid:.6g} {q_edge}=1 td={t1:.6e}",
                f".measure tran e{n} find v(q{n}) at={t_end - 0.02 * window:.6e}",
            ]
            probes.append((check, float(offset), n))
    lines.append(f"vdd vdd 0 {vdd_v:.6g}")
    lines.append(".save " + " ".join(saved))
    lines.append(f".tran {0.25 * tau_s:.6e} {t_end:.6e}")
    lines += measures
    lines.append(".end")
    return "\n".join(lines) + "\n", probes


def _constraint_crossing(offsets: np.ndarray, delays: np.ndarray, reference: float) -> float:
    """Smallest offset whose clock-to-Q delay is at most 110 % of the reference (linear interpolation).

    `delays` is NaN where Q did not reach its value. Offsets are increasing; passing
    probes are assumed to form a suffix (the largest offsets pass).
    """
    limit = _PUSH_OUT * reference
    passing = np.isfinite(delays) & (delays <= limit)
    if not passing[-1]:
        return math.nan
    first = len(offsets) - 1
    while first > 0 and passing[first - 1]:
        first -= 1
    if first == 0:
        return -math.inf
    below = first - 1
    if np.isfinite(delays[below]):
        fraction = (delays[below] - limit) / (delays[below] - delays[first])
        return float(offsets[below] + fraction * (offsets[first] - offsets[below]))
    return float(offsets[first])


def _flop_constraints(
    runner: _Runner, card: Path, vdd_v: float, tau_s: float, slew_s: float, load_ff: float, temperature_c: float
) -> tuple[dict[str, float], dict[str, float], str]:
    window = slew_s * _RAMP_OVER_SLEW + 25 * tau_s
    coarse = np.arange(-8.0, 12.01, 1.0) * tau_s
    checks = ("setup_rise", "setup_fall", "hold_rise", "hold_fall")
    what = f"the flip-flop setup and hold at {vdd_v:g} V"
    grids = {check: coarse for check in checks}
    found: dict[str, float] = {}
    netlists = []
    for stage in ("coarse", "fine"):
        netlist, probes = _constraint_netlist(card, vdd_v, slew_s, load_ff * 1e-15, window, tau_s, grids, temperature_c)
        netlists.append(netlist)
        values = _measurements(runner.run(netlist, f"dffsh_{vdd_v:g}_{stage}", what))
        for check in checks:
            rows = [(offset, n) for c, offset, n in probes if c == check]
            offsets = np.array([offset for offset, _ in rows])
            edge_ok = []
            for _, n in rows:
                final = values.get(f"e{n}")
                q_edge_high = check in ("setup_rise", "hold_fall")
                good = final is not None and abs(final - (vdd_v if q_edge_high else 0.0)) < 0.1 * vdd_v
                edge_ok.append(values[f"p{n}"] if good and f"p{n}" in values else math.nan)
            delays = np.array(edge_ok)
            reference = delays[-1]
            if not np.isfinite(reference):
                raise ConfigError(
                    f"--model-card: {card}: {what}: the flip-flop does not capture with the largest offset"
                )
            crossing = _constraint_crossing(offsets, delays, reference)
            if not math.isfinite(crossing):
                raise ConfigError(f"--model-card: {card}: {what}: {check} is outside the probed offsets")
            found[check] = crossing
        if stage == "coarse":
            grids = {check: found[check] + np.linspace(-1.2, 1.2, 13) * tau_s for check in checks}
    setup = {edge: found[f"setup_{edge}"] * 1e12 for edge in ("rise", "fall")}
    hold = {edge: found[f"hold_{edge}"] * 1e12 for edge in ("rise", "fall")}
    return setup, hold, netlists[-1]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _version(ngspice: str) -> str:
    completed = subprocess.run([ngspice, "-v"], capture_output=True, text=True, check=False, timeout=60)
    match = re.search(r"ngspice-?\s*([0-9][0-9.]*)", completed.stdout + completed.stderr)
    return f"ngspice-{match.group(1)}" if match else "ngspice"


def characterize_cells(
    config: CellCharacterizeConfig, *, progress: Callable[[str], None] | None = None
) -> CharacterizationResult:
    """Run every characterisation netlist of `config` and collect the measurements.

    Raises
    ------
    ConfigError
        ngspice is missing, rejects the card or fails on a netlist, or a cell does not
        switch; the message names the card, the cell and the supply.
    """
    ngspice = find_ngspice(config.ngspice)
    card = Path(config.model_card).resolve()
    combinational = [c for c in config.cells if c in COMBINATIONAL_CELLS]
    with_flop = FLIP_FLOP in config.cells
    with_razor = RAZOR_FLOP in config.cells
    netlists: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="vscale-cells-") as scratch:
        runner = _Runner(ngspice, card, Path(scratch))
        fo4: dict[float, float] = {}
        estimate = _FIRST_TAU_S
        for vdd in sorted(config.vdd_v, reverse=True):
            fo4[vdd] = _measure_fo4(runner, card, vdd, estimate, config.temperature_c)
            estimate = 2.5 * fo4[vdd]
            if progress is not None:
                progress(f"{vdd:g} V: FO4 {fo4[vdd] * 1e12:.3f} ps")
        slews = {vdd: [s * fo4[vdd] for s in config.slew_tau] for vdd in config.vdd_v}
        jobs: list[tuple[str, float, int]] = []
        for vdd in config.vdd_v:
            jobs += [(cell, vdd, j) for cell in combinational for j in range(len(config.load_ff))]
            if with_flop:
                jobs += [(FLIP_FLOP, vdd, j) for j in range(len(config.load_ff))]
                jobs.append(("dff-constraints", vdd, 0))
            if with_razor:
                jobs += [(RAZOR_FLOP, vdd, j) for j in range(len(config.load_ff))]
            jobs.append(("leakage", vdd, 0))

        def work(job: tuple[str, float, int]) -> Any:
            kind, vdd, j = job
            tau = fo4[vdd]
            if kind == "leakage":
                return _leakage(runner, card, combinational, vdd, config.temperature_c) if combinational else ({}, "")
            if kind == "dff-constraints":
                return _flop_constraints(
                    runner,
                    card,
                    vdd,
                    tau,
                    slews[vdd][REFERENCE_SLEW_INDEX],
                    4 * config.load_ff[0],
                    config.temperature_c,
                )
            if kind in (FLIP_FLOP, RAZOR_FLOP):
                return _flop_clock(
                    runner,
                    card,
                    vdd,
                    tau,
                    slews[vdd],
                    j,
                    config.load_ff[j],
                    config.temperature_c,
                    kind,
                    config.load_ff[0],
                )
            return _characterize_load(
                runner, card, kind, vdd, tau, slews[vdd], j, config.load_ff[j], config.temperature_c
            )

        results: dict[tuple[str, float, int], Any] = {}
        with ThreadPoolExecutor(max_workers=config.workers) as pool:
            futures = {job: pool.submit(work, job) for job in jobs}
            for done, job in enumerate(jobs, start=1):
                results[job] = futures[job].result()
                if progress is not None and (done % 20 == 0 or done == len(jobs)):
                    progress(f"{done}/{len(jobs)} ngspice runs")
    per_cell: dict[str, list[CellMeasurements]] = {cell: [] for cell in config.cells}
    for vdd in config.vdd_v:
        leakage, leakage_netlist = results[("leakage", vdd, 0)]
        netlists[f"leakage_{vdd:g}"] = leakage_netlist
        for cell in combinational:
            per_load = []
            charges: dict[str, list[float]] = {}
            for j in range(len(config.load_ff)):
                measured, pin_charges, netlist = results[(cell, vdd, j)]
                per_load.append(measured)
                if j == 1:
                    netlists[f"{cell}_{vdd:g}"] = netlist
                    charges = pin_charges
            states = leakage[cell]
            per_cell[cell].append(
                CellMeasurements(
                    cell=cell,
                    vdd_v=vdd,
                    arcs=_combine(cell, vdd, per_load, len(config.slew_tau)),
                    capacitance_ff={pin: float(np.mean(charges[pin])) for pin in CELL_SPECS[cell].pins},
                    leakage_nw=float(np.mean(list(states.values()))),
                    leakage_states_nw=dict(states),
                )
            )
        for flop in [cell for cell in (FLIP_FLOP, RAZOR_FLOP) if cell in config.cells]:
            per_load = []
            extras: dict = {}
            for j in range(len(config.load_ff)):
                arcs, load_extras, netlist = results[(flop, vdd, j)]
                per_load.append({(pin, edge, "-", k): value for (pin, edge, k), value in arcs.items()})
                if j == 1:
                    extras = load_extras
                    netlists[f"{flop}_{vdd:g}"] = netlist
            setup: dict[str, float] = {}
            hold: dict[str, float] = {}
            if flop == FLIP_FLOP:
                setup, hold, constraint_netlist = results[("dff-constraints", vdd, 0)]
                netlists[f"dff_constraints_{vdd:g}"] = constraint_netlist
            per_cell[flop].append(
                CellMeasurements(
                    cell=flop,
                    vdd_v=vdd,
                    arcs=_combine_flop(per_load, len(config.slew_tau)),
                    capacitance_ff={"D": extras["D"], "CK": extras["CK"]},
                    leakage_nw=extras["leakage_nw"],
                    leakage_states_nw={},
                    setup_ps=setup,
                    hold_ps=hold,
                    pin_energy_fj={
                        key: extras[key] for key in (("CK", "rise"), ("CK", "fall"), ("D", "rise"), ("D", "fall"))
                    },
                )
            )
    return CharacterizationResult(
        config=config,
        vdd_v=config.vdd_v,
        fo4_ps=tuple(fo4[v] * 1e12 for v in config.vdd_v),
        slew_ps=np.array([[s * 1e12 for s in slews[v]] for v in config.vdd_v]),
        load_ff=tuple(config.load_ff),
        cells={cell: tuple(values) for cell, values in per_cell.items()},
        ngspice_version=_version(ngspice),
        model_card_sha256=_sha256(card),
        netlists=netlists,
    )


def _combine_flop(per_load: Sequence[dict], n_slews: int) -> dict[tuple[str, str], ArcMeasurement]:
    arcs = {}
    for edge in ("rise", "fall"):
        shape = (n_slews, len(per_load))
        delay, transition, energy = np.zeros(shape), np.zeros(shape), np.zeros(shape)
        for j, results in enumerate(per_load):
            for k in range(n_slews):
                delay[k, j], transition[k, j], energy[k, j] = results[("CK", edge, "-", k)]
        arcs[("CK", edge)] = ArcMeasurement(
            delay_ps=delay, transition_ps=transition, energy_fj=energy, state_delay_ps={"-": delay}
        )
    return arcs


_GATE_PITCH_UM = 0.1125
_CELL_HEIGHT_UM = 0.9


def cell_area_um2(cell: str) -> float:
    """Area estimate of a shipped cell: (gate columns + 1) x contacted gate pitch x cell height.

    Gate columns = max(number of nmos, number of pmos) of the subcircuit (an nmos and a
    pmos share a column); pitch 112.5 nm, height 0.9 um (an 8-track row at 112.5 nm
    metal-1 pitch), the 32 nm figures of docs/technology.md.
    """
    text = subcircuit_path(cell).read_text()
    nmos = len(re.findall(r"^m\S*\s+\S+\s+\S+\s+\S+\s+\S+\s+nmos\b", text, re.MULTILINE | re.IGNORECASE))
    pmos = len(re.findall(r"^m\S*\s+\S+\s+\S+\s+\S+\s+\S+\s+pmos\b", text, re.MULTILINE | re.IGNORECASE))
    return round((max(nmos, pmos) + 1) * _GATE_PITCH_UM * _CELL_HEIGHT_UM, 4)


def to_library(result: CharacterizationResult, *, name: str, command: str) -> CellLibraryData:
    """The run-time library of a characterisation run (one NLDM table per corner and arc).

    The Razor flip-flop, when characterised, is the library's ``razor_flop`` (the measured
    pins D and CK, output Q; R held at 0), not one of its cell functions.
    """
    corners = range(len(result.vdd_v))
    loads = np.array(result.load_ff)
    cells = {}
    for cell, per_vdd in result.cells.items():
        spec = CELL_SPECS[FLIP_FLOP] if cell == RAZOR_FLOP else CELL_SPECS[cell]
        first = per_vdd[0]
        arcs = {}
        for key in first.arcs:
            arcs[key] = MappingProxyType(
                {
                    quantity: tuple(
                        NldmTable(result.slew_ps[i], loads, getattr(per_vdd[i].arcs[key], quantity)) for i in corners
                    )
                    for quantity in ("delay_ps", "transition_ps", "energy_fj")
                }
            )
        cells[cell] = CellData(
            name=cell,
            pins=spec.pins,
            output=spec.output,
            function=spec.liberty_function,
            area_um2=cell_area_um2(cell),
            arcs=MappingProxyType(arcs),
            capacitance_ff=MappingProxyType(
                {pin: np.array([m.capacitance_ff[pin] for m in per_vdd]) for pin in spec.pins}
            ),
            leakage_nw=np.array([m.leakage_nw for m in per_vdd]),
            leakage_states_nw=MappingProxyType(
                {state: np.array([m.leakage_states_nw[state] for m in per_vdd]) for state in first.leakage_states_nw}
            ),
            setup_ps=MappingProxyType({e: np.array([m.setup_ps[e] for m in per_vdd]) for e in first.setup_ps}),
            hold_ps=MappingProxyType({e: np.array([m.hold_ps[e] for m in per_vdd]) for e in first.hold_ps}),
            pin_energy_fj=MappingProxyType(
                {k: np.array([m.pin_energy_fj[k] for m in per_vdd]) for k in first.pin_energy_fj}
            ),
        )
    card = Path(result.config.model_card).name
    razor_flop = cells.pop(RAZOR_FLOP, None)
    return CellLibraryData(
        name=name,
        vdd_v=result.vdd_v,
        cells=cells,
        razor_flop=razor_flop,
        temperature_c=result.config.temperature_c,
        source=f"{card}, {result.ngspice_version} transient characterisation of the shipped cell subcircuits",
        model_card=card,
        model_card_sha256=result.model_card_sha256,
        command=command,
        fo4_ps=result.fo4_ps,
    )


def merge_library(base: CellLibraryData, measured: CellLibraryData, *, origin: str) -> CellLibraryData:
    """`base` with the cells (and the Razor flip-flop) of `measured` replaced or added (the
    nominal supply is `base`'s: the technology's, not the measurement's).

    Raises
    ------
    ConfigError
        The two differ in model card, corners or temperature (the message names `origin`).
    """
    if base.model_card_sha256 != measured.model_card_sha256:
        raise ConfigError(f"{origin}: characterised on another model card (SHA-256 {base.model_card_sha256})")
    if base.vdd_v.shape != measured.vdd_v.shape or not np.allclose(base.vdd_v, measured.vdd_v, atol=1e-9):
        raise ConfigError(
            f"{origin}: corners {', '.join(f'{v:g}' for v in base.vdd_v)} V; allowed: the --vdd corners "
            f"{', '.join(f'{v:g}' for v in measured.vdd_v)} V"
        )
    if base.temperature_c != measured.temperature_c:
        raise ConfigError(
            f"{origin}: characterised at {base.temperature_c:g} C; allowed: --temperature-c {measured.temperature_c:g}"
        )
    return CellLibraryData(
        name=measured.name,
        vdd_v=tuple(float(v) for v in measured.vdd_v),
        cells={**base.cells_data, **measured.cells_data},
        temperature_c=measured.temperature_c,
        source=measured.source,
        model_card=measured.model_card,
        model_card_sha256=measured.model_card_sha256,
        command=measured.command,
        fo4_ps=measured.fo4_ps,
        vdd_nominal_v=base.vdd_nominal_v,
        razor_flop=measured.razor_flop if measured.razor_flop is not None else base.razor_flop,
    )
