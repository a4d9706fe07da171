"""A transistor-level ngspice deck of PE stages driven by a sequence of operand vectors.

Every cell of a :class:`~pe_models.netlist.Netlist` becomes an instance of its shipped
subcircuit (:func:`pe_models.cell_catalogue.subcircuit_path`; ports: the input pins,
the output, ``vdd``, ``vss``) on the technology's model card; constant nets are tied to
ground or ``vdd``. Several stages can share one deck (the multiplier and the adder of
the registered pipeline): each has its own nodes (a prefix) and its own inputs.

The stage inputs are ideal flip-flop outputs: each input bit is a piecewise-linear
source that, at every clock edge where its value changes, ramps linearly from rail to
rail, its 50 % crossing the bit's clock-to-Q delay after the edge and its 10-90 % time
the flip-flop's Q transition at the bit's load (both per edge, as vscale's timing
model has them). Each stage output bit carries a capacitor equal to the flip-flop's D
pin capacitance. Every output bit is read at each sampled edge plus the sampling offset
(``T_clk - t_setup``) with ``.measure ... find v(node) at=...``; a bit is 1 when its
voltage is above VDD/2.

The deck is self-contained: the model card and the subcircuits are copied into it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from pe_models.cell_catalogue import subcircuit_path
from pe_models.errors import ConfigError
from pe_models.netlist import CONST0, CONST1, Netlist

__all__ = [
    "DeckStage",
    "SpiceDeck",
    "parse_measurements",
    "spice_deck",
]

RAMP_OVER_SLEW = 1.0 / 0.8
"""Rail-to-rail duration of a linear ramp whose 10-90 % time is 1 (the characterisation's)."""

_MEASURE_LINE = re.compile(r"^\s*(s\d+_\d+_\d+)\s*=\s*([-+]?[0-9.]+(?:e[-+]?[0-9]+)?)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True, eq=False)
class DeckStage:
    """One stage in a deck: its netlist, the input bits at every phase, launch and slew per input bit.

    Attributes
    ----------
    name : str
        Short name (``adder``); node names are prefixed with it.
    netlist : Netlist
    inputs : mapping of str to ndarray
        Per input bus, int64 of shape (n_phases,): the (two's complement) value held in
        phase ``j``. Phase 0 is the DC operating point; the inputs switch to phase ``j``
        at clock edge ``j - 1``.
    launch_s : ndarray, float64, shape (n_input_bits, 2)
        Per input bit (buses in ``netlist.inputs`` order, bit 0 first) and edge of the
        bit (0 = falls, 1 = rises): the 50 % crossing after the clock edge, s.
    slew_s : ndarray, float64, shape (n_input_bits, 2)
        10-90 % transition time of each input bit per edge, s.
    output_load_f : float
        Capacitance on every output bit (a flip-flop D pin), F.
    """

    name: str
    netlist: Netlist
    inputs: Mapping[str, np.ndarray]
    launch_s: np.ndarray
    slew_s: np.ndarray
    output_load_f: float


@dataclass(frozen=True)
class SpiceDeck:
    """An ngspice deck and what its measurements mean.

    Attributes
    ----------
    text : str
        The deck.
    measures : dict of str to tuple of (str, str, int, int)
        Measurement name -> (stage, output bus, bit, sample index).
    widths : dict of (str, str) to int
        Width of every output bus, by (stage, bus).
    constants : dict of (str, str, int) to int
        Output bits tied to a rail (no measurement): (stage, bus, bit) -> 0 or 1.
    n_samples : int
        Sampled edges.
    t_stop_s : float
        Simulated time, s.
    """

    text: str
    measures: dict[str, tuple[str, str, int, int]] = field(repr=False)
    widths: dict[tuple[str, str], int] = field(repr=False)
    constants: dict[tuple[str, str, int], int] = field(repr=False)
    n_samples: int = 0
    t_stop_s: float = 0.0


def _bits(values: np.ndarray, width: int) -> np.ndarray:
    """(n_phases, width) bits of two's complement values, bit 0 first."""
    unsigned = np.asarray(values, dtype=np.int64) & ((1 << width) - 1)
    return ((unsigned[:, None] >> np.arange(width)) & 1).astype(np.int64)


def _node(prefix: str, netlist: Netlist, net: int) -> str:
    if net == CONST0:
        return "0"
    if net == CONST1:
        return "vdd"
    name = re.sub(r"[^A-Za-z0-9_]", "_", netlist.net_names[net])
    return f"{prefix}_{net}_{name}"


def _pwl(bits: np.ndarray, edges_s: np.ndarray, launch: np.ndarray, slew: np.ndarray, vdd_v: float) -> str:
    points = [(0.0, float(bits[0]) * vdd_v)]
    for j in range(1, bits.size):
        if bits[j] == bits[j - 1]:
            continue
        edge = int(bits[j])
        ramp = float(slew[edge]) * RAMP_OVER_SLEW
        centre = float(edges_s[j - 1] + launch[edge])
        points.append((centre - ramp / 2, float(bits[j - 1]) * vdd_v))
        points.append((centre + ramp / 2, float(bits[j]) * vdd_v))
    return "pwl(" + " ".join(f"{t:.9e} {v:.6g}" for t, v in points) + ")"


def spice_deck(
    stages: Sequence[DeckStage],
    *,
    model_card: str,
    vdd_v: float,
    temperature_c: float,
    edges_s: np.ndarray,
    sampled: np.ndarray,
    sample_offset_s: float,
    max_step_s: float,
    title: str = "vscale pe spice",
) -> SpiceDeck:
    """The deck text of `stages` switching at `edges_s`, sampled after the edges marked in `sampled`.

    Parameters
    ----------
    stages : sequence of DeckStage
        All with ``n_phases = edges_s.size + 1`` input values.
    model_card : str
        The SPICE model card's text (copied into the deck).
    vdd_v : float
        Supply, V.
    temperature_c : float
        Simulation temperature.
    edges_s : ndarray, float64, shape (n_edges,)
        Clock edges, s, increasing; the inputs switch to phase ``j + 1`` at ``edges_s[j]``.
    sampled : ndarray, bool, shape (n_edges,)
        Edges after which every output bit is read (sample index = rank among them).
    sample_offset_s : float
        Reading instant after a sampled edge (``T_clk - t_setup``), s.
    max_step_s : float
        Largest time step ngspice may take, s.
    title : str
        First line of the deck.

    Returns
    -------
    SpiceDeck
    """
    edges = np.asarray(edges_s, dtype=np.float64)
    marks = np.asarray(sampled, dtype=bool)
    if edges.ndim != 1 or marks.shape != edges.shape or np.any(np.diff(edges) <= 0):
        raise ConfigError("edges_s, sampled: expected increasing edge times and one flag per edge")
    cells = sorted({cell.kind for stage in stages for cell in stage.netlist.cells})
    lines = [f"* {title}", f".temp {temperature_c:g}", ".option reltol=1e-3", "", "* model card", model_card.strip()]
    for kind in cells:
        lines += ["", subcircuit_path(kind).read_text(encoding="utf-8").strip()]
    lines += ["", f"vdd vdd 0 {vdd_v:.6g}"]
    measures: dict[str, tuple[str, str, int, int]] = {}
    widths: dict[tuple[str, str], int] = {}
    constants: dict[tuple[str, str, int], int] = {}
    saved: list[str] = []
    measure_lines: list[str] = []
    sample_times = edges[marks] + sample_offset_s
    for s, stage in enumerate(stages):
        netlist = stage.netlist
        lines += ["", f"* stage {stage.name}: {netlist.name}, {len(netlist.cells)} cells"]
        row = 0
        for bus, nets in netlist.inputs.items():
            values = np.asarray(stage.inputs[bus])
            if values.shape != (edges.size + 1,):
                raise ConfigError(
                    f"stage {stage.name}: input {bus}: expected {edges.size + 1} phases, got {values.shape}"
                )
            bits = _bits(values, len(nets))
            for i, net in enumerate(nets):
                node = _node(stage.name, netlist, net)
                wave = _pwl(bits[:, i], edges, stage.launch_s[row], stage.slew_s[row], vdd_v)
                lines.append(f"v{node} {node} 0 {wave}")
                row += 1
        for k, cell in enumerate(netlist.cells):
            nodes = " ".join(_node(stage.name, netlist, net) for net in (*cell.inputs, cell.output))
            lines.append(f"x{stage.name}_{k} {nodes} vdd 0 {cell.kind}")
        for bus, nets in netlist.outputs.items():
            widths[(stage.name, bus)] = len(nets)
            for i, net in enumerate(nets):
                if net <= CONST1:
                    constants[(stage.name, bus, i)] = int(net == CONST1)
                    continue
                node = _node(stage.name, netlist, net)
                lines.append(f"cl{node} {node} 0 {stage.output_load_f:.6e}")
                saved.append(f"v({node})")
                for n, t in enumerate(sample_times):
                    name = f"s{s}_{len(measures)}_{n}"
                    measures[name] = (stage.name, bus, i, n)
                    measure_lines.append(f".measure tran {name} find v({node}) at={t:.9e}")
    t_stop = float(sample_times.max(initial=edges[-1]) + max_step_s)
    lines += ["", ".save " + " ".join(saved), f".tran {max_step_s:.6e} {t_stop:.9e}", *measure_lines, ".end", ""]
    return SpiceDeck(
        text="\n".join(lines),
        measures=measures,
        widths=widths,
        constants=constants,
        n_samples=int(sample_times.size),
        t_stop_s=t_stop,
    )


def parse_measurements(
    deck: SpiceDeck, output: str, *, vdd_v: float
) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    """Latched bits and voltages of every output bus from ngspice's printed measurements.

    Parameters
    ----------
    deck : SpiceDeck
    output : str
        ngspice's standard output.
    vdd_v : float

    Returns
    -------
    dict of (stage, bus) to (bits, volts)
        bits int64 and volts float64, shape (n_samples, width).

    A bit tied to a rail reads that rail.

    Raises
    ------
    ConfigError
        A measurement missing from the output.
    """
    values = {match.group(1).lower(): float(match.group(2)) for match in _MEASURE_LINE.finditer(output)}
    volts = {key: np.zeros((deck.n_samples, width)) for key, width in deck.widths.items()}
    for (stage, bus, bit), value in deck.constants.items():
        volts[(stage, bus)][:, bit] = value * vdd_v
    for name, (stage, bus, bit, sample) in deck.measures.items():
        if name not in values:
            raise ConfigError(
                f"ngspice printed no value for measurement {name} ({stage} {bus}[{bit}], sample {sample})"
            )
        volts[(stage, bus)][sample, bit] = values[name]
    return {key: ((v > vdd_v / 2).astype(np.int64), v) for key, v in volts.items()}
