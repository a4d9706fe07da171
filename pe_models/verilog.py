"""Structural Verilog of a PE netlist, a testbench, and an Icarus Verilog runner.

The netlist that :func:`pe_models.gate.simulate_gate` times is written out cell by
cell, so an independent event-driven simulator (Icarus Verilog) can check the gate
level bit for bit under the same semantics (see :mod:`pe_models.gate`):

* every cell type is a behavioural module with one integer-fs delay parameter per input
  pin and output edge (``A_FALL``, ``A_RISE``, ``B_FALL``, ...) that implements the
  event rule of :mod:`pe_models.gate` exactly: input changes of one time step are
  collected and the cell is evaluated once, after every update of that step (its
  evaluation is woken by a non-blocking assignment, so it runs after the step's active
  region); the delay is the smallest arc of the pins that changed for the new output
  edge; pending transitions at or after the new one are deleted from a per-output queue
  and a runner process applies the queue's head at its time (``disable`` restarts the
  runner when the head is deleted). A continuous ``assign #D`` would be inertial and
  swallow pulses shorter than ``D``;
* ``timescale 1fs/1fs`` in the cells with integer delays, so femtoseconds are exact
  (the testbench writes its own times in ps with three decimals under ``1ps/1fs``);
* the testbench applies the old inputs, waits until everything has settled (a bound
  from static timing), switches every input at once, and samples the output with
  ``$strobe`` exactly ``t_sample`` after the switch. ``$strobe`` prints in the
  postponed region, after every update of that time step, so a transition at exactly
  ``t_sample`` is latched, and if one net is updated several times in that step the
  last update (the one computed from the final inputs of its cause) is what counts;
* with a Razor window the testbench also ``$strobe`` s the output at ``t_sample +
  window`` (the shadow latch of :mod:`pe_models.razor`), by the same rule.

A bundle directory holds ``cells.v``, ``<name>.v``, ``tb_<name>.v``,
``vectors_<name>.hex`` and ``run_icarus.sh``; :func:`run_icarus` compiles it with
``iverilog -g2012``, runs ``vvp`` and parses the latched values.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pe_models.arcs import as_arcs_fs, as_launch_fs
from pe_models.cells import CELL_PINS, EDGES
from pe_models.errors import ConfigError
from pe_models.netlist import CONST0, CONST1, Netlist

__all__ = [
    "CELL_EXPRESSIONS",
    "IcarusError",
    "IcarusResult",
    "cell_library_verilog",
    "netlist_verilog",
    "run_icarus",
    "run_icarus_detailed",
    "settle_bound_fs",
    "testbench_verilog",
    "write_verilog_bundle",
]

CELL_EXPRESSIONS: Mapping[str, str] = {
    "xor2": "a ^ b",
    "and2": "a & b",
    "or2": "a | b",
    "nand2": "~(a & b)",
    "xor3": "a ^ b ^ c",
    "maj3": "(a & b) | (a & c) | (b & c)",
    "ao21": "(a & b) | c",
    "buf": "a",
}
"""Verilog expression of every cell type over its ports ``a``, ``b`` (, ``c``)."""

QUEUE_DEPTH = 512
"""Pending transitions one cell output can hold (the gate level's ``GATE_MAX_EVENTS``)."""
_SETTLE_MARGIN_FS = 1000
_START_FS = 1000
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
_KEYWORDS = frozenset(
    "always and assign begin buf case default else end endmodule for function generate genvar if initial "
    "inout input integer logic module nand nor not or output parameter real reg string time tri wire xor "
    "xnor".split()
)


def _module_name(kind: str) -> str:
    """The Verilog module of a cell type: its name, with ``_cell`` after a Verilog keyword (``buf``)."""
    return f"{kind}_cell" if kind in _KEYWORDS else kind


class IcarusError(RuntimeError):
    """Icarus Verilog failed to compile or run a bundle, or printed something unparsable."""


@dataclass(frozen=True)
class IcarusResult:
    """What Icarus Verilog latched, shaped like :class:`pe_models.gate.GateResult`.

    Attributes
    ----------
    latched : ndarray, shape (n,), int64
        Unsigned value of the output bus at ``t_sample`` after the switch.
    correct : ndarray, shape (n,), int64
        Unsigned settled value of the output bus.
    bit_settle_fs : ndarray, shape (n, width), int64
        Time of each output bit's last transition after the switch in fs (0 if none).
    shadow : ndarray, shape (n,), int64, or None
        Unsigned value of the output bus at ``t_sample + window`` (testbenches written
        with a window).
    """

    latched: np.ndarray
    correct: np.ndarray
    bit_settle_fs: np.ndarray
    shadow: np.ndarray | None = None


def _ps(fs: int) -> str:
    """Integer fs as ps with exactly three decimals (``21437`` -> ``"21.437"``)."""
    return f"{fs // 1000}.{fs % 1000:03d}"


def _check_fs(label: str, value: object, *, allow_zero: bool) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ConfigError(f"{label}: expected an integer number of fs, got {value!r}")
    number = int(value)
    if number < 0 or (number == 0 and not allow_zero):
        raise ConfigError(f"{label}: expected an integer number of fs {'>= 0' if allow_zero else '> 0'}, got {number}")
    return number


def _check_identifier(label: str, name: str) -> str:
    if not _IDENTIFIER.match(name) or name in _KEYWORDS:
        raise ConfigError(f"{label}: {name!r} is not a usable Verilog identifier")
    return name


def settle_bound_fs(
    netlist: Netlist,
    delays_fs: Mapping[str, int] | Sequence[int] | np.ndarray,
    launch_fs: np.ndarray | None = None,
) -> int:
    """Latest possible transition of any net after the inputs switch (static timing), in fs.

    Every transition of a net happens at a sum of arc delays along some path from a
    primary input, so no net changes later than the longest path with the largest arc
    of every cell (this also bounds the settling from unknown values at power-up).

    Parameters
    ----------
    netlist : Netlist
    delays_fs : mapping, sequence or ndarray of int
        Delay in fs per cell type, one per cell of ``netlist.cells``, or per instance,
        pin and edge (shape (n_cells, MAX_PINS, 2)).
    launch_fs : ndarray of int, shape (n_inputs, 2), optional
        The inputs' launch times (every input then starts at the latest of them).

    Returns
    -------
    int
        Longest clock-edge-to-net path delay in fs (0 for a netlist without cells).
    """
    arcs = as_arcs_fs(netlist, delays_fs)
    latest_launch = int(as_launch_fs(netlist, launch_fs).max(initial=0))
    arrival = [-1] * netlist.n_nets
    for nets in netlist.inputs.values():
        for net in nets:
            arrival[net] = latest_launch
    for c, cell in enumerate(netlist.cells):
        latest = max(arrival[i] for i in cell.inputs)
        slowest = int(arcs[c, : len(cell.inputs)].max())
        arrival[cell.output] = latest + slowest if latest >= 0 else -1
    return max(0, *arrival)


def _launch(netlist: Netlist, launch_fs: np.ndarray | None) -> np.ndarray | None:
    """The launch times to emit (None when every input switches at the clock edge)."""
    launch = as_launch_fs(netlist, launch_fs)
    if not launch.any():
        return None
    if int(launch.min()) < 1:
        raise ConfigError(f"launch_fs: expected every launch time >= 1 fs when any is > 0, got {int(launch.min())}")
    return launch


def _parameter(pin: str, edge: str) -> str:
    return f"{pin.upper()}_{edge.upper()}"


LAUNCH_MODULE = "launch"
"""A stage input's flip-flop as a one-pin cell: its clock-to-Q delay per edge (``A_FALL``, ``A_RISE``)."""


def _cell_module(kind: str, expression: str, pins: tuple[str, ...]) -> list[str]:
    parameters = ", ".join(f"{_parameter(pin, edge)} = 1" for pin in pins for edge in EDGES)
    ports = ", ".join(f"input wire {pin}" for pin in pins)
    tail = "(head + count - 1) % QUEUE"
    unknown = " ".join(f"last_{pin} = 1'bx;" for pin in pins)
    lines = [
        "",
        f"module {_module_name(kind)} #(parameter integer {parameters}) (output reg y, {ports});",
        f"  localparam integer QUEUE = {QUEUE_DEPTH};",
        "  time due [0:QUEUE-1];",
        "  reg next [0:QUEUE-1];",
        "  integer head, count, delay, arc;",
        "  time at;",
        f"  reg {', '.join(f'last_{pin}' for pin in pins)}, armed, go, v;",
        "  event kick;",
        "  initial begin",
        f"    y = 1'bx; {unknown} armed = 1'b0; go = 1'b0;",
        "    head = 0; count = 0;",
        "  end",
        f"  always @({' or '.join(pins)}) if (!armed) begin armed = 1'b1; go <= ~go; end",
        "  always @(go) begin",
        "    armed = 1'b0;",
        f"    v = {expression};",
        f"    if (v !== (count > 0 ? next[{tail}] : y)) begin",
        "      delay = -1;",
    ]
    for pin in pins:
        lines += [
            f"      if ({pin} !== last_{pin}) begin",
            f"        arc = (v === 1'b1) ? {_parameter(pin, 'rise')} : {_parameter(pin, 'fall')};",
            "        if (delay < 0 || arc < delay) delay = arc;",
            "      end",
        ]
    lines += [
        "      at = $time + delay;",
        "      if (count > 0 && due[head] >= at) begin",
        "        count = 0;",
        "        disable runner;",
        "      end",
        f"      while (count > 0 && due[{tail}] >= at) count = count - 1;",
        f"      if (v !== (count > 0 ? next[{tail}] : y)) begin",
        "        if (count == QUEUE) begin",
        '          $display("E %m: more than %0d pending transitions", QUEUE);',
        "          $finish;",
        "        end",
        "        due[(head + count) % QUEUE] = at;",
        "        next[(head + count) % QUEUE] = v;",
        "        count = count + 1;",
        "        if (count == 1) -> kick;",
        "      end",
        "    end",
        f"    {' '.join(f'last_{pin} = {pin};' for pin in pins)}",
        "  end",
        "  always begin : runner",
        "    if (count == 0) @(kick);",
        "    else begin",
        "      #(due[head] - $time);",
        "      y = next[head];",
        "      head = (head + 1) % QUEUE;",
        "      count = count - 1;",
        "    end",
        "  end",
        "endmodule",
    ]
    return lines


def cell_library_verilog() -> str:
    """One behavioural Verilog module per cell type with per-pin, per-edge delays in fs.

    Returns
    -------
    str
        Source text of ``cells.v``: modules ``xor2, and2, or2, nand2, xor3, maj3, ao21, buf_cell``
        (``buf`` is a Verilog keyword) with output ``y``, inputs ``a, b`` (``, c``) and integer
        parameters ``<PIN>_FALL``, ``<PIN>_RISE`` (fs, ``timescale 1fs/1fs``), and ``launch``
        (one input ``a``: a stage input's flip-flop, its clock-to-Q per edge). Each implements
        the event rule of :mod:`pe_models.gate` (see this module's docstring).
    """
    lines = [
        "// Cell library of vscale netlists: per-pin, per-edge transport delays in fs with preemption",
        "// of pending transitions at or after a new one (the event rule of pe_models.gate).",
        "`timescale 1fs/1fs",
        "`default_nettype none",
    ]
    for kind, expression in CELL_EXPRESSIONS.items():
        lines += _cell_module(kind, expression, CELL_PINS[kind])
    lines += _cell_module(LAUNCH_MODULE, "a", ("a",))
    lines += ["", "`default_nettype wire", ""]
    return "\n".join(lines)


def _net_references(netlist: Netlist) -> list[str]:
    names = {_check_identifier("bus name", name) for name in (*netlist.inputs, *netlist.outputs)}
    if len(names) != len(netlist.inputs) + len(netlist.outputs):
        raise ConfigError(f"netlist {netlist.name!r}: input and output buses must have distinct names")
    refs = [f"n{k}" for k in range(netlist.n_nets)]
    clash = names & set(refs)
    if clash:
        raise ConfigError(f"netlist {netlist.name!r}: bus name {sorted(clash)[0]!r} clashes with an internal net")
    refs[CONST0] = "1'b0"
    refs[CONST1] = "1'b1"
    for name, nets in netlist.inputs.items():
        for i, net in enumerate(nets):
            refs[net] = f"{name}[{i}]"
    return refs


def netlist_verilog(
    netlist: Netlist,
    *,
    delays_fs: Mapping[str, int] | Sequence[int] | np.ndarray,
    launch_fs: np.ndarray | None = None,
) -> str:
    """The netlist as a structural Verilog module of cell instances.

    Parameters
    ----------
    netlist : Netlist
        Ports are its input and output buses (LSB = index 0); module name ``netlist.name``.
    delays_fs : mapping, sequence or ndarray of int
        Delay in fs per cell type, one per cell of ``netlist.cells`` (per-cell variation),
        or per instance, pin and edge (shape (n_cells, MAX_PINS, 2)). Each instance gets
        ``#(.A_FALL(<fs>), .A_RISE(<fs>), ...)``.
    launch_fs : ndarray of int, shape (n_inputs, 2), optional
        When each input bit switches after the clock edge (:func:`pe_models.gate.simulate_gate`).
        Unless all 0, every input bit goes through a ``launch`` instance ``q<i>`` with
        these delays (each >= 1 fs) before it reaches the cells.

    Returns
    -------
    str
        Source text of ``<netlist.name>.v`` (needs the modules of
        :func:`cell_library_verilog`).

    Raises
    ------
    ConfigError
        A missing or non-positive delay, or a name that is not a Verilog identifier.
    """
    _check_identifier("netlist name", netlist.name)
    arcs = as_arcs_fs(netlist, delays_fs)
    launch = _launch(netlist, launch_fs)
    refs = _net_references(netlist)
    ports = [f"  input wire [{len(nets) - 1}:0] {name}" for name, nets in netlist.inputs.items()]
    ports += [f"  output wire [{len(nets) - 1}:0] {name}" for name, nets in netlist.outputs.items()]
    lines = [
        f"// {netlist.name}: {len(netlist.cells)} cells, per-pin, per-edge transport delays in fs.",
        "`timescale 1fs/1fs",
        "`default_nettype none",
        "",
        f"module {netlist.name} (",
        ",\n".join(ports),
        ");",
    ]
    lines += [f"  wire n{cell.output};" for cell in netlist.cells]
    if launch is not None:
        bit = 0
        for name, nets in netlist.inputs.items():
            for i, net in enumerate(nets):
                fall, rise = (int(x) for x in launch[bit])
                lines.append(f"  wire n{net};")
                lines.append(
                    f"  {LAUNCH_MODULE} #(.A_FALL({fall}), .A_RISE({rise})) q{bit} (.y(n{net}), .a({name}[{i}]));"
                )
                refs[net] = f"n{net}"
                bit += 1
    for index, cell in enumerate(netlist.cells):
        parameters = ", ".join(
            f".{_parameter(pin, edge)}({int(arcs[index, k, e])})"
            for k, pin in enumerate(cell.pins)
            for e, edge in enumerate(EDGES)
        )
        connections = ", ".join(f".{pin}({refs[net]})" for pin, net in zip(cell.pins, cell.inputs, strict=True))
        lines.append(f"  {_module_name(cell.kind)} #({parameters}) g{index} (.y(n{cell.output}), {connections});")
    for name, nets in netlist.outputs.items():
        lines += [f"  assign {name}[{i}] = {refs[net]};" for i, net in enumerate(nets)]
    lines += ["endmodule", "", "`default_nettype wire", ""]
    return "\n".join(lines)


def _output_bus(netlist: Netlist, output: str | None) -> str:
    if output is None:
        return list(netlist.outputs)[-1]
    if output not in netlist.outputs:
        raise ConfigError(f"output: unknown output {output!r}; allowed: {', '.join(netlist.outputs)}")
    return output


def testbench_verilog(
    netlist: Netlist,
    *,
    vectors_path: str,
    n_vectors: int,
    t_sample_fs: int,
    settle_fs: int,
    output: str | None = None,
    window_fs: int | None = None,
) -> str:
    """A testbench that times one clock cycle per vector, like ``simulate_gate``.

    Per vector: apply the old inputs and wait ``settle_fs`` (skipped when they equal the
    previous vector's new inputs, which have settled already: a stream of operands),
    switch every input at once to the new values (t = 0), ``$strobe`` the output bus at
    exactly ``t_sample_fs`` (after every update of that time step, so a transition at
    ``t_sample`` is latched), wait until ``max(settle_fs, t_sample_fs + 1)`` after the
    switch and print the settled value and each output bit's last transition time
    after the switch.

    Parameters
    ----------
    netlist : Netlist
    vectors_path : str
        ``$readmemh`` file (overridable at run time with ``+vectors=PATH``); one hex word
        per vector: the old input buses then the new ones, each in ``netlist.inputs``
        order, most significant first.
    n_vectors : int
    t_sample_fs : int
        Sampling instant after the switch, fs (``T_clk - t_setup``).
    settle_fs : int
        Wait after applying inputs, fs; must exceed :func:`settle_bound_fs`.
    output : str, optional
        Output bus to sample (default: the last one, as ``simulate_gate``).
    window_fs : int, optional
        Razor detection window, fs: also ``$strobe`` the output at ``t_sample_fs +
        window_fs`` and print ``H <v> <hex>`` (the shadow latch's value).

    Returns
    -------
    str
        Source text of ``tb_<netlist.name>.v``. It prints ``S <v> <hex>`` (latched),
        ``F <v> <hex> <t_0> ... <t_{w-1}>`` (settled value, last transition per bit in
        ps, 0.000 if none) per vector and ``DONE <n>``; ``E ...`` on an error.
    """
    _check_identifier("netlist name", netlist.name)
    _net_references(netlist)
    bus = _output_bus(netlist, output)
    if isinstance(n_vectors, bool) or not isinstance(n_vectors, int | np.integer) or n_vectors < 1:
        raise ConfigError(f"n_vectors: expected an integer >= 1, got {n_vectors!r}")
    t_sample = _check_fs("t_sample_fs", t_sample_fs, allow_zero=True)
    settle = _check_fs("settle_fs", settle_fs, allow_zero=False)
    window = None if window_fs is None else _check_fs("window_fs", window_fs, allow_zero=True)
    if any(ch in vectors_path for ch in '"\\\n'):
        raise ConfigError(f"vectors_path: {vectors_path!r} must not contain quotes, backslashes or newlines")
    width = len(netlist.outputs[bus])
    in_width = sum(len(nets) for nets in netlist.inputs.values())
    rest = max(settle - t_sample - (window or 0), 1)
    names = ", ".join(netlist.inputs)
    lines = [
        f"// Testbench of {netlist.name}: one clock cycle per vector, output sampled with $strobe.",
        "`timescale 1ps/1fs",
        "`default_nettype none",
        "",
        f"module tb_{netlist.name};",
        f"  localparam integer N = {int(n_vectors)};",
        f"  localparam integer W = {width};",
        f"  localparam integer VW = {2 * in_width};",
        f"  localparam real T_START = {_ps(_START_FS)};",
        f"  localparam real T_SETTLE = {_ps(settle)};",
        f"  localparam real T_SAMPLE = {_ps(t_sample)};",
        f"  localparam real T_REST = {_ps(rest)};",
        f"  localparam real T_WINDOW = {_ps(window or 0)};",
        "  reg [VW-1:0] vectors [0:N-1];",
        "  reg [VW-1:0] word;",
        "  reg [VW/2-1:0] applied;",
        "  string path;",
    ]
    lines += [f"  reg [{len(nets) - 1}:0] {name};" for name, nets in netlist.inputs.items()]
    lines += [f"  wire [{len(nets) - 1}:0] {name};" for name, nets in netlist.outputs.items()]
    connections = ", ".join(f".{name}({name})" for name in (*netlist.inputs, *netlist.outputs))
    lines += [
        f"  {netlist.name} dut ({connections});",
        "",
        "  reg [W-1:0] shadow;",
        "  reg [W-1:0] step_start;",
        "  real step_t [0:W-1];",
        "  real done_t [0:W-1];",
        "  genvar i;",
        "  generate",
        "    for (i = 0; i < W; i = i + 1) begin : record",
        "      initial begin",
        "        step_t[i] = -1.0;",
        "        done_t[i] = -1.0;",
        "      end",
        f"      always @({bus}[i]) begin",
        "        if ($realtime != step_t[i]) begin",
        "          if (shadow[i] !== step_start[i]) done_t[i] = step_t[i];",
        "          step_start[i] = shadow[i];",
        "          step_t[i] = $realtime;",
        "        end",
        f"        shadow[i] = {bus}[i];",
        "      end",
        "    end",
        "  endgenerate",
        "",
        "  integer v, k;",
        "  real t_switch, last;",
        "  initial begin",
        f'    if (!$value$plusargs("vectors=%s", path)) path = "{vectors_path}";',
        "    $readmemh(path, vectors);",
        "    #(T_START);",
        "    for (v = 0; v < N; v = v + 1) begin",
        "      word = vectors[v];",
        "      if ((^word) === 1'bx) begin",
        '        $display("E vector %0d of %0d in %0s is missing or not hex", v, N, path);',
        "        $finish;",
        "      end",
        "      if (v == 0 || word[VW-1:VW/2] !== applied) begin",
        f"        {{{names}}} = word[VW-1:VW/2];",
        "        #(T_SETTLE);",
        "      end",
        f"      {{{names}}} = word[VW/2-1:0];",
        "      applied = word[VW/2-1:0];",
        "      t_switch = $realtime;",
        "      #(T_SAMPLE);",
        f'      $strobe("S %0d %h", v, {bus});',
        *(["      #(T_WINDOW);"] if window else []),
        *([] if window is None else [f'      $strobe("H %0d %h", v, {bus});']),
        "      #(T_REST);",
        f'      $write("F %0d %h", v, {bus});',
        "      for (k = 0; k < W; k = k + 1) begin",
        "        last = (shadow[k] !== step_start[k]) ? step_t[k] : done_t[k];",
        '        $write(" %0.3f", (last > t_switch) ? last - t_switch : 0.0);',
        "      end",
        '      $write("\\n");',
        "    end",
        '    $display("DONE %0d", N);',
        "    $finish;",
        "  end",
        "endmodule",
        "",
        "`default_nettype wire",
        "",
    ]
    return "\n".join(lines)


def _vector_lines(
    netlist: Netlist, old_inputs: Mapping[str, np.ndarray], new_inputs: Mapping[str, np.ndarray]
) -> list[str]:
    columns: list[tuple[np.ndarray, int]] = []
    n = None
    for label, inputs in (("old_inputs", old_inputs), ("new_inputs", new_inputs)):
        for name, nets in netlist.inputs.items():
            if name not in inputs:
                raise ConfigError(f"{label}: missing input bus {name!r}")
            values = np.asarray(inputs[name]).reshape(-1).astype(np.int64)
            if n is None:
                n = len(values)
            if len(values) != n:
                raise ConfigError(f"{label}: bus {name!r} has {len(values)} vectors, expected {n}")
            columns.append((values, len(nets)))
    if not n:
        raise ConfigError("old_inputs: expected at least one vector")
    digits = (sum(width for _, width in columns) + 3) // 4
    lines = []
    for v in range(n):
        word = 0
        for values, width in columns:
            word = (word << width) | (int(values[v]) & ((1 << width) - 1))
        lines.append(f"{word:0{digits}x}")
    return lines


def _write_atomic(path: Path, text: str, *, mode: int = 0o644) -> None:
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="ascii", newline="\n") as file:
            file.write(text)
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


_SCRIPT = """#!/bin/sh
# Compile and run every testbench in this directory with Icarus Verilog; output -> <name>.out
set -eu
cd "$(dirname "$0")"
if ! command -v iverilog >/dev/null 2>&1; then
  echo "run_icarus.sh: iverilog not found on PATH; install Icarus Verilog" >&2
  exit 127
fi
for tb in tb_*.v; do
  name=${tb#tb_}
  name=${name%.v}
  iverilog -g2012 -s "tb_$name" -o "$name.vvp" cells.v "$name.v" "$tb"
  vvp -n "$name.vvp" > "$name.out"
  echo "$name: $(grep -c '^S ' "$name.out") vectors -> $name.out"
done
"""


def write_verilog_bundle(
    out_dir: str | os.PathLike[str],
    netlist: Netlist,
    *,
    delays_fs: Mapping[str, int] | Sequence[int] | np.ndarray,
    t_sample_fs: int,
    old_inputs: Mapping[str, np.ndarray],
    new_inputs: Mapping[str, np.ndarray],
    output: str | None = None,
    window_fs: int | None = None,
    launch_fs: np.ndarray | None = None,
) -> dict[str, Path]:
    """Write a runnable Icarus Verilog bundle for `netlist` and the given vectors.

    Each file is written atomically (temporary file in `out_dir`, then ``os.replace``).
    Several netlists can share one directory: ``cells.v`` is the same for all and
    ``run_icarus.sh`` runs every ``tb_*.v`` it finds.

    Parameters
    ----------
    out_dir : path
        Created if missing.
    netlist : Netlist
    delays_fs : mapping, sequence or ndarray of int
        Delay in fs per cell type, one delay per cell, or per instance, pin and edge.
    t_sample_fs : int
        Sampling instant after the switch, fs.
    old_inputs, new_inputs : mapping of str to ndarray
        Input bus values before and after the switch, each of shape (n,) (two's
        complement accepted), as for ``simulate_gate``.
    output : str, optional
        Output bus to sample (default: the last one).
    window_fs : int, optional
        Razor detection window, fs: the testbench also samples at ``t_sample_fs +
        window_fs`` (see :func:`testbench_verilog`).
    launch_fs : ndarray of int, shape (n_inputs, 2), optional
        The inputs' launch times after the clock edge (see :func:`netlist_verilog`); the
        testbench switches the buses at the clock edge.

    Returns
    -------
    dict of str to Path
        Keys ``cells``, ``netlist``, ``testbench``, ``vectors``, ``script``.
    """
    directory = Path(out_dir)
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"out: {directory} exists and is not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    settle = settle_bound_fs(netlist, delays_fs, launch_fs) + _SETTLE_MARGIN_FS
    vectors = _vector_lines(netlist, old_inputs, new_inputs)
    layout = " ".join(f"old_{name}[{len(nets)}]" for name, nets in netlist.inputs.items())
    layout += " " + " ".join(f"new_{name}[{len(nets)}]" for name, nets in netlist.inputs.items())
    paths = {
        "cells": directory / "cells.v",
        "netlist": directory / f"{netlist.name}.v",
        "testbench": directory / f"tb_{netlist.name}.v",
        "vectors": directory / f"vectors_{netlist.name}.hex",
        "script": directory / "run_icarus.sh",
    }
    texts = {
        "cells": cell_library_verilog(),
        "netlist": netlist_verilog(netlist, delays_fs=delays_fs, launch_fs=launch_fs),
        "testbench": testbench_verilog(
            netlist,
            vectors_path=paths["vectors"].name,
            n_vectors=len(vectors),
            t_sample_fs=t_sample_fs,
            settle_fs=settle,
            output=output,
            window_fs=window_fs,
        ),
        "vectors": "\n".join([f"// {layout}, MSB first", *vectors, ""]),
        "script": _SCRIPT,
    }
    for key, path in paths.items():
        _write_atomic(path, texts[key], mode=0o755 if key == "script" else 0o644)
    return paths


def _bundle_files(target: str | os.PathLike[str] | Mapping[str, Path], name: str | None) -> tuple[Path, str]:
    if isinstance(target, Mapping):
        testbench = Path(target["testbench"])
        return testbench.parent, testbench.stem.removeprefix("tb_")
    directory = Path(target)
    if name is not None:
        return directory, name
    benches = sorted(directory.glob("tb_*.v"))
    if len(benches) != 1:
        raise ConfigError(
            f"run_icarus: {directory} holds {len(benches)} testbenches (tb_*.v); pass name= to choose one"
        )
    return directory, benches[0].stem.removeprefix("tb_")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ConfigError(f"{name}: not found on PATH; install Icarus Verilog (apt-get install iverilog)")
    return path


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else "no output"


def run_icarus_detailed(
    target: str | os.PathLike[str] | Mapping[str, Path],
    *,
    name: str | None = None,
    timeout_s: float | None = 600.0,
) -> IcarusResult:
    """Compile a bundle with ``iverilog -g2012``, run ``vvp`` and parse every vector.

    Parameters
    ----------
    target : path or dict of str to Path
        A bundle directory, or the dict returned by :func:`write_verilog_bundle`.
    name : str, optional
        Netlist name when the directory holds several testbenches.
    timeout_s : float, optional
        Limit for each of compile and run, s.

    Returns
    -------
    IcarusResult

    Raises
    ------
    ConfigError
        ``iverilog`` or ``vvp`` is not on PATH, or the bundle is ambiguous.
    IcarusError
        Compilation or simulation failed, or the output is incomplete or holds x/z.
    """
    directory, netlist_name = _bundle_files(target, name)
    iverilog, vvp = _tool("iverilog"), _tool("vvp")
    files = ["cells.v", f"{netlist_name}.v", f"tb_{netlist_name}.v"]
    for file in files:
        if not (directory / file).is_file():
            raise ConfigError(f"run_icarus: {directory / file} not found")
    image = f"{netlist_name}.vvp"
    compiled = subprocess.run(
        [iverilog, "-g2012", "-s", f"tb_{netlist_name}", "-o", image, *files],
        cwd=directory,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout_s,
        check=False,
    )
    if compiled.returncode != 0:
        message = _first_line(compiled.stderr + compiled.stdout)
        raise IcarusError(f"iverilog failed on {directory / files[-1]}: {message}")
    ran = subprocess.run(
        [vvp, "-n", image],
        cwd=directory,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout_s,
        check=False,
    )
    if ran.returncode != 0:
        raise IcarusError(f"vvp failed on {directory / image}: {_first_line(ran.stderr + ran.stdout)}")
    return _parse(ran.stdout, f"{directory / image}")


def _parse(stdout: str, label: str) -> IcarusResult:
    latched: dict[int, int] = {}
    shadow: dict[int, int] = {}
    final: dict[int, tuple[int, list[int]]] = {}
    total = None
    try:
        for line in stdout.splitlines():
            fields = line.split()
            if not fields:
                continue
            if fields[0] == "E":
                raise IcarusError(f"{label}: {line[2:].strip()}")
            if fields[0] == "S":
                latched[int(fields[1])] = int(fields[2], 16)
            elif fields[0] == "H":
                shadow[int(fields[1])] = int(fields[2], 16)
            elif fields[0] == "F":
                times = [round(float(x) * 1000) for x in fields[3:]]
                final[int(fields[1])] = (int(fields[2], 16), times)
            elif fields[0] == "DONE":
                total = int(fields[1])
    except ValueError:
        raise IcarusError(f"{label}: unparsable output line {line!r} (x or z on an output?)") from None
    if total is None or sorted(latched) != list(range(total)) or sorted(final) != list(range(total)):
        raise IcarusError(f"{label}: incomplete output ({len(latched)} sampled, {len(final)} settled vectors)")
    if shadow and sorted(shadow) != list(range(total)):
        raise IcarusError(f"{label}: incomplete output ({len(shadow)} shadow samples of {total} vectors)")
    return IcarusResult(
        shadow=np.array([shadow[v] for v in range(total)], dtype=np.uint64).astype(np.int64) if shadow else None,
        latched=np.array([latched[v] for v in range(total)], dtype=np.uint64).astype(np.int64),
        correct=np.array([final[v][0] for v in range(total)], dtype=np.uint64).astype(np.int64),
        bit_settle_fs=np.array([final[v][1] for v in range(total)], dtype=np.int64).reshape(total, -1),
    )


def run_icarus(
    target: str | os.PathLike[str] | Mapping[str, Path],
    *,
    name: str | None = None,
    timeout_s: float | None = 600.0,
) -> np.ndarray:
    """Latched output values of a bundle run in Icarus Verilog.

    Parameters
    ----------
    target : path or dict of str to Path
        A bundle directory, or the dict returned by :func:`write_verilog_bundle`.
    name : str, optional
        Netlist name when the directory holds several testbenches.
    timeout_s : float, optional
        Limit for each of compile and run, s.

    Returns
    -------
    ndarray, shape (n,), int64
        Unsigned value of the output bus at ``t_sample`` per vector, comparable with
        ``simulate_gate(...).latched``.

    Raises
    ------
    ConfigError
        ``iverilog`` or ``vvp`` is not on PATH, or the bundle is ambiguous.
    IcarusError
        Compilation or simulation failed, or the output is incomplete.
    """
    return run_icarus_detailed(target, name=name, timeout_s=timeout_s).latched
