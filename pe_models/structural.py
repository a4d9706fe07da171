"""A PE stage netlist as structural Verilog of Liberty cells, and the OpenSTA script that times it.

:mod:`pe_models.verilog` writes behavioural cells with vscale's own delays for Icarus;
this module writes the same :class:`~pe_models.netlist.Netlist` for a static timing
tool: every cell is an instance of the library cell of its function (``nand2``,
``xor3``, ..., the cell names of vscale's characterised libraries and of
:func:`pe_models.liberty_files.write_liberty`) with the library's pin names (``A``,
``B``, ``C`` -> ``Y``), so OpenSTA (``sta``) reads it with a Liberty file of one corner.

Two modules per stage:

* ``<name>`` (:func:`structural_verilog`): the combinational stage, ports = its input
  and output buses; constant inputs are ``1'b0``/``1'b1``;
* ``<name>_reg`` (:func:`registered_verilog`): the same cells between flip-flops, as the
  PE builds it: one library flip-flop (``dff``: ``D``, ``CK`` -> ``Q``) per input bit,
  whose ``Q`` drives the stage input, and one per output bit, whose ``D`` is the stage
  output; one clock port ``clk``. A static timing tool then times every path
  register to register: clock-to-Q at each input flop's load, the cells at their loads
  and slews, the setup of each output flop.

:func:`opensta_script` writes the Tcl that reads the corner's Liberty file and the
registered module, clocks it at the PE's period with the clock slew vscale assumes,
and prints one line per output bit and edge (:func:`parse_opensta_endpoints` reads them).
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pe_models.arcs import latest_arrival_fs
from pe_models.cell_catalogue import CELL_SPECS, FLIP_FLOP
from pe_models.cells import EDGES, CharacterisedLibrary
from pe_models.errors import ConfigError
from pe_models.netlist import CONST0, CONST1, Netlist
from pe_models.pe import PEConfig, cell_library, delay_source, stage_arcs
from pe_models.technology import TECHNOLOGIES, resolve_technology

__all__ = [
    "CLOCK_PORT",
    "EndpointTiming",
    "corner_liberty",
    "liberty_file_name",
    "library_pe",
    "opensta_script",
    "parse_opensta_endpoints",
    "registered_verilog",
    "run_opensta",
    "structural_verilog",
    "vscale_endpoints",
    "worst_per_bit",
    "write_opensta_files",
]

CLOCK_PORT = "clk"
"""Clock port of the registered module."""

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ENDPOINT_LINE = re.compile(
    r"^ENDPOINT (?P<bus>[A-Za-z_][A-Za-z0-9_]*) (?P<bit>\d+) (?P<edge>rise|fall) (?P<arrival>\S+) (?P<slack>\S+) "
    r"(?P<start>\S+)$"
)


class _Pins:
    """Pin names of the library cells: by default those of :data:`pe_models.cell_catalogue.CELL_SPECS`."""

    def __init__(self, library: object | None) -> None:
        self.library = library

    def inputs(self, kind: str) -> tuple[str, ...]:
        if self.library is not None:
            return tuple(self.library.pins(kind))  # type: ignore[attr-defined]
        return CELL_SPECS[kind].pins

    def output(self, kind: str) -> str:
        if self.library is not None:
            return str(self.library.output_pin(kind))  # type: ignore[attr-defined]
        return CELL_SPECS[kind].output


def _check_identifier(label: str, name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ConfigError(f"{label}: {name!r} is not a usable Verilog identifier")
    return name


def _wire_names(netlist: Netlist, taken: set[str]) -> list[str]:
    """A Verilog identifier per net: the net's own name where usable and unique, else ``n<k>``."""
    names = []
    used = set(taken)
    for net, name in enumerate(netlist.net_names):
        name = re.sub(r"\[(\d+)\]$", r"_\1", name)
        candidate = name if _IDENTIFIER.match(name) and name not in used else f"n{net}"
        while candidate in used:
            candidate = f"{candidate}_"
        used.add(candidate)
        names.append(candidate)
    return names


def _cells(netlist: Netlist, pins: _Pins, refs: list[str], names: list[str]) -> list[str]:
    lines = []
    for cell in netlist.cells:
        inputs = pins.inputs(cell.kind)
        connections = [f".{pin}({refs[net]})" for pin, net in zip(inputs, cell.inputs, strict=True)]
        connections.append(f".{pins.output(cell.kind)}({refs[cell.output]})")
        lines.append(f"  {cell.kind} u_{names[cell.output]} ({', '.join(connections)});")
    return lines


def _ports(netlist: Netlist, *, clock: bool) -> tuple[list[str], list[str]]:
    buses = [*netlist.inputs, *netlist.outputs]
    for name in buses:
        _check_identifier("bus name", name)
    if len(set(buses)) != len(buses) or (clock and CLOCK_PORT in buses):
        raise ConfigError(f"netlist {netlist.name!r}: input, output and clock ports must have distinct names")
    names = ([CLOCK_PORT] if clock else []) + buses
    declarations = [f"  input {CLOCK_PORT};"] if clock else []
    declarations += [f"  input [{len(nets) - 1}:0] {name};" for name, nets in netlist.inputs.items()]
    declarations += [f"  output [{len(nets) - 1}:0] {name};" for name, nets in netlist.outputs.items()]
    return names, declarations


def structural_verilog(netlist: Netlist, library: object | None = None) -> str:
    """The combinational stage as a Verilog module of library cell instances.

    Parameters
    ----------
    netlist : Netlist
        Module name ``netlist.name``; ports its input and output buses (bit 0 = LSB).
    library : CellLibraryData, optional
        Gives the pin names (``pins(kind)``, ``output_pin(kind)``); default: the names of
        vscale's cell catalogue (``A``, ``B``, ``C`` -> ``Y``), those of its Liberty files.

    Returns
    -------
    str
        Verilog source: one instance ``u_<net>`` per cell, named after the net it drives.
    """
    _check_identifier("netlist name", netlist.name)
    pins = _Pins(library)
    ports, declarations = _ports(netlist, clock=False)
    names = _wire_names(netlist, set(ports))
    refs = list(names)
    refs[CONST0], refs[CONST1] = "1'b0", "1'b1"
    for bus, nets in netlist.inputs.items():
        for i, net in enumerate(nets):
            refs[net] = f"{bus}[{i}]"
    lines = [
        f"// {netlist.name}: {len(netlist.cells)} library cells (vscale pe verilog --structural)",
        f"module {netlist.name} ({', '.join(ports)});",
        *declarations,
    ]
    lines += [f"  wire {names[cell.output]};" for cell in netlist.cells]
    lines += _cells(netlist, pins, refs, names)
    for bus, nets in netlist.outputs.items():
        lines += [f"  assign {bus}[{i}] = {refs[net]};" for i, net in enumerate(nets)]
    lines += ["endmodule", ""]
    return "\n".join(lines)


def registered_verilog(netlist: Netlist, library: object | None = None) -> str:
    """The stage between flip-flops, flat: module ``<name>_reg`` with a clock port ``clk``.

    Input flip-flop ``ri_<bus>_<bit>`` (``D`` = the input port bit, ``Q`` drives the
    stage input net), output flip-flop ``ro_<bus>_<bit>`` (``D`` = the stage output net,
    ``Q`` = the output port bit); the cells as in :func:`structural_verilog`.

    Parameters
    ----------
    netlist : Netlist
    library : CellLibraryData, optional
        Pin names (see :func:`structural_verilog`); the flip-flop is the library's ``dff``.

    Returns
    -------
    str
        Verilog source of module ``<netlist.name>_reg``.
    """
    _check_identifier("netlist name", netlist.name)
    pins = _Pins(library)
    ports, declarations = _ports(netlist, clock=True)
    names = _wire_names(netlist, set(ports))
    refs = list(names)
    refs[CONST0], refs[CONST1] = "1'b0", "1'b1"
    d_pin, clock_pin = pins.inputs(FLIP_FLOP)
    q_pin = pins.output(FLIP_FLOP)
    lines = [
        f"// {netlist.name}_reg: {len(netlist.cells)} library cells between flip-flops "
        "(vscale pe verilog --structural)",
        f"module {netlist.name}_reg ({', '.join(ports)});",
        *declarations,
    ]
    input_nets = {net for nets in netlist.inputs.values() for net in nets}
    lines += [f"  wire {names[net]};" for net in sorted(input_nets)]
    lines += [f"  wire {names[cell.output]};" for cell in netlist.cells]
    for bus, nets in netlist.inputs.items():
        for i, net in enumerate(nets):
            lines.append(
                f"  {FLIP_FLOP} ri_{bus}_{i} (.{d_pin}({bus}[{i}]), .{clock_pin}({CLOCK_PORT}), .{q_pin}({refs[net]}));"
            )
    lines += _cells(netlist, pins, refs, names)
    for bus, nets in netlist.outputs.items():
        for i, net in enumerate(nets):
            lines.append(
                f"  {FLIP_FLOP} ro_{bus}_{i} (.{d_pin}({refs[net]}), .{clock_pin}({CLOCK_PORT}), .{q_pin}({bus}[{i}]));"
            )
    lines += ["endmodule", ""]
    return "\n".join(lines)


def opensta_script(
    netlist: Netlist,
    *,
    liberty_file: str,
    verilog_file: str,
    t_clk_ps: float,
    clock_slew_ps: float,
    library: object | None = None,
) -> str:
    """Tcl for OpenSTA that times the registered stage and prints every output bit's worst path.

    Parameters
    ----------
    netlist : Netlist
        The stage; the script links ``<netlist.name>_reg`` (:func:`registered_verilog`).
    liberty_file, verilog_file : str
        Paths as the script should read them (relative to where ``sta`` runs, or absolute).
    t_clk_ps : float
        Clock period in ps (> 0).
    clock_slew_ps : float
        Transition time of the ideal clock at every flip-flop's clock pin, ps (>= 0).
    library : CellLibraryData, optional
        Pin names (see :func:`structural_verilog`).

    Returns
    -------
    str
        The script. For every output bit and edge of the D pin it prints
        ``ENDPOINT <bus> <bit> <rise|fall> <arrival_s> <slack_s> <startpoint>`` (seconds,
        full precision; nothing for an edge no path can cause), then the worst path in
        OpenSTA's own report format.
    """
    if not t_clk_ps > 0 or not clock_slew_ps >= 0:
        raise ConfigError(f"t_clk_ps, clock_slew_ps: {t_clk_ps!r}, {clock_slew_ps!r}; allowed: > 0, >= 0")
    pins = _Pins(library)
    d_pin = pins.inputs(FLIP_FLOP)[0]
    endpoints = " ".join(
        f"{{{bus} {i} ro_{bus}_{i}/{d_pin}}}" for bus, nets in netlist.outputs.items() for i in range(len(nets))
    )
    data_inputs = " ".join(f"{bus}[*]" for bus in netlist.inputs)
    return "\n".join(
        [
            f"# OpenSTA: {netlist.name} between flip-flops (vscale pe verilog --structural)",
            f"read_liberty {liberty_file}",
            f"read_verilog {verilog_file}",
            f"link_design {netlist.name}_reg",
            f"create_clock -name {CLOCK_PORT} -period {t_clk_ps:.9g} [get_ports {CLOCK_PORT}]",
            f"set_clock_transition {clock_slew_ps:.9g} [get_clocks {CLOCK_PORT}]",
            f"set_input_delay 0 -clock {CLOCK_PORT} [get_ports {{{data_inputs}}}]",
            f"foreach endpoint {{{endpoints}}} {{",
            "  lassign $endpoint bus bit pin",
            "  foreach edge {rise fall} {",
            "    foreach path [find_timing_paths -${edge}_to [get_pins $pin] -path_delay max] {",
            '      puts "ENDPOINT $bus $bit $edge [$path data_arrival_time] [$path slack] '
            '[get_full_name [get_property $path startpoint]]"',
            "    }",
            "  }",
            "}",
            "report_checks -path_delay max -digits 4 -fields {slew cap}",
            "exit",
            "",
        ]
    )


@dataclass(frozen=True, kw_only=True)
class EndpointTiming:
    """OpenSTA's worst path to one output bit and D edge.

    Attributes
    ----------
    bus : str
    bit : int
    edge : str
        ``rise`` or ``fall`` (the D pin's transition).
    arrival_ps : float
        Data arrival at the D pin after the launching clock edge (clock-to-Q included).
    slack_ps : float
        Setup slack: required time (period minus the flip-flop's setup) minus arrival.
    startpoint : str
        Where the path starts (``ri_c_0/Q``).
    """

    bus: str
    bit: int
    edge: str
    arrival_ps: float
    slack_ps: float
    startpoint: str


def parse_opensta_endpoints(text: str) -> list[EndpointTiming]:
    """The ``ENDPOINT`` lines of an :func:`opensta_script` run, in order.

    Raises
    ------
    ConfigError
        A line starting ``ENDPOINT`` that does not parse.
    """
    endpoints = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith("ENDPOINT "):
            continue
        match = _ENDPOINT_LINE.match(line.strip())
        try:
            if match is None:
                raise ValueError
            arrival, slack = float(match["arrival"]) * 1e12, float(match["slack"]) * 1e12
        except ValueError:
            raise ConfigError(f"OpenSTA output line {number}: unreadable endpoint line {line.strip()!r}") from None
        endpoints.append(
            EndpointTiming(
                bus=match["bus"],
                bit=int(match["bit"]),
                edge=match["edge"],
                arrival_ps=arrival,
                slack_ps=slack,
                startpoint=match["start"],
            )
        )
    return endpoints


def library_pe(pe: PEConfig) -> PEConfig:
    """`pe` timed by a characterised cell library.

    A PE whose technology carries a library (``ptm-32nm-hp-cells``, Liberty files) is
    returned as it is; a formula preset with a characterised twin (``ptm-32nm-hp`` ->
    ``ptm-32nm-hp-cells``) is replaced by the twin.

    Raises
    ------
    ConfigError
        The technology has no characterised library (a reasoned preset, a table).
    """
    if cell_library(pe) is not None:
        return pe
    name = resolve_technology(pe.technology).name
    twin = f"{name}-cells"
    if twin not in TECHNOLOGIES:
        with_library = ", ".join(n for n in TECHNOLOGIES if n.endswith("-cells"))
        raise ConfigError(
            f"technology: {name!r} has no characterised cell library to time with a static timing tool; "
            f"allowed: {with_library}, A.lib,B.lib,..."
        )
    return dataclasses.replace(pe, technology=twin)


def corner_liberty(library: CharacterisedLibrary, vdd_v: float) -> str:
    """Liberty text of the library's corner at `vdd_v` (a static timing tool reads one corner).

    Raises
    ------
    ConfigError
        `vdd_v` is not one of the library's corners (the message lists them).
    """
    from pe_models.liberty_files import write_liberty

    corners = np.asarray(getattr(library, "vdd_v", ()), dtype=np.float64)
    match = np.flatnonzero(np.isclose(corners, vdd_v, rtol=0.0, atol=1e-9))
    if match.size == 0:
        allowed = ", ".join(f"{v:g}" for v in corners)
        raise ConfigError(f"vdd_v: {vdd_v:g} V is not a corner of cell library {library.name!r}; allowed: {allowed}")
    return write_liberty(library, int(match[0]))  # type: ignore[arg-type]


def vscale_endpoints(pe: PEConfig, *, vdd_v: float, f_clk_mhz: float) -> list[EndpointTiming]:
    """vscale's static timing of every output bit and D edge of every timed stage, in OpenSTA's terms.

    The latest arrival of each output bit per edge after the launching clock edge,
    :func:`pe_models.arcs.latest_arrival_fs` of the PE's arcs at `vdd_v`: every stage
    input switches its own flip-flop's clock-to-Q delay after the edge (at its net's load
    and for its edge), then the per-instance, per-pin, per-edge arcs. Slack = period -
    the flip-flop's setup time for that D edge - arrival.

    Parameters
    ----------
    pe : PEConfig
        A PE timed by a characterised cell library (:func:`library_pe`).
    vdd_v, f_clk_mhz : float
        Operating point.

    Returns
    -------
    list of EndpointTiming
        One per output bit and D edge (``"rise"``, ``"fall"``) that some path can cause,
        stages in order; constant bits left out.

    Raises
    ------
    ConfigError
        The PE has no characterised cell library, or `f_clk_mhz` out of range.
    """
    if not 0 < f_clk_mhz <= 20000:
        raise ConfigError(f"f_clk_mhz: {f_clk_mhz!r}; allowed: > 0 and <= 20000")
    library = cell_library(pe)
    if library is None:
        raise ConfigError("technology: the PE has no characterised cell library (see library_pe)")
    source = delay_source(pe, vdd_v=vdd_v)
    arcs = stage_arcs(pe, source)
    period_ps = 1e6 / f_clk_mhz
    setup_ps = {edge: float(library.setup_ps(vdd_v, edge)) for edge in EDGES}
    endpoints = []
    for stage, netlist in pe.stages.items():
        arrival = latest_arrival_fs(netlist, arcs.fs(stage), arcs.launch_fs(stage))
        for bus, nets in netlist.outputs.items():
            for bit, net in enumerate(nets):
                for e, edge in reversed(list(enumerate(EDGES))):
                    if arrival[net, e] < 0:
                        continue
                    arrival_ps = int(arrival[net, e]) / 1000
                    endpoints.append(
                        EndpointTiming(
                            bus=bus,
                            bit=bit,
                            edge=edge,
                            arrival_ps=arrival_ps,
                            slack_ps=period_ps - setup_ps[edge] - arrival_ps,
                            startpoint=stage,
                        )
                    )
    return endpoints


def worst_per_bit(endpoints: list[EndpointTiming]) -> dict[tuple[str, int], EndpointTiming]:
    """The latest-arriving endpoint of each (bus, bit) over its edges."""
    worst: dict[tuple[str, int], EndpointTiming] = {}
    for endpoint in endpoints:
        key = (endpoint.bus, endpoint.bit)
        if key not in worst or endpoint.arrival_ps > worst[key].arrival_ps:
            worst[key] = endpoint
    return worst


def liberty_file_name(library: CharacterisedLibrary, vdd_v: float) -> str:
    """``ptm-32nm-hp_0p90v.lib``: the corner file the scripts of :func:`write_opensta_files` read."""
    return f"{re.sub(r'[^A-Za-z0-9_.-]', '_', library.name)}_{vdd_v:.2f}".replace(".", "p") + "v.lib"


def write_opensta_files(pe: PEConfig, *, vdd_v: float, f_clk_mhz: float, directory: Path) -> list[Path]:
    """Write the corner's Liberty file and, per timed stage, ``<stage>_reg.v`` and ``<stage>_sta.tcl``.

    The clock slew is the library's reference slew at `vdd_v` (the one vscale's
    clock-to-Q uses); no wire load, no parasitics: OpenSTA sees the loads of the
    netlist's fan-out, as vscale does.

    Returns
    -------
    list of Path
        The files written: the Liberty file, then each stage's netlist and script.

    Raises
    ------
    ConfigError
        The PE has no characterised library, or `vdd_v` is not one of its corners.
    """
    library = cell_library(pe)
    if library is None:
        raise ConfigError("technology: the PE has no characterised cell library (see library_pe)")
    if not 0 < f_clk_mhz <= 20000:
        raise ConfigError(f"f_clk_mhz: {f_clk_mhz!r}; allowed: > 0 and <= 20000")
    lib_name = liberty_file_name(library, vdd_v)
    text = corner_liberty(library, vdd_v)
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / lib_name]
    written[0].write_text(text, encoding="utf-8")
    clock_slew = float(library.reference_slew_ps(vdd_v))
    for stage, netlist in pe.stages.items():
        verilog = directory / f"{stage}_reg.v"
        verilog.write_text(registered_verilog(netlist, library), encoding="utf-8")
        script = directory / f"{stage}_sta.tcl"
        script.write_text(
            opensta_script(
                netlist,
                liberty_file=lib_name,
                verilog_file=verilog.name,
                t_clk_ps=1e6 / f_clk_mhz,
                clock_slew_ps=clock_slew,
                library=library,
            ),
            encoding="utf-8",
        )
        written += [verilog, script]
    return written


def run_opensta(pe: PEConfig, *, vdd_v: float, f_clk_mhz: float, directory: Path) -> list[EndpointTiming]:
    """:func:`write_opensta_files` under `directory`, then run ``sta`` on each stage's script there.

    OpenSTA's output goes to ``<stage>_sta.log``.

    Returns
    -------
    list of EndpointTiming
        OpenSTA's worst path per output bit and D edge, stages in order.

    Raises
    ------
    ConfigError
        ``sta`` missing, or a run that fails or prints no endpoint.
    """
    executable = shutil.which("sta")
    if executable is None:
        raise ConfigError("sta: OpenSTA is not on PATH (apt-get install opensta)")
    write_opensta_files(pe, vdd_v=vdd_v, f_clk_mhz=f_clk_mhz, directory=directory)
    endpoints: list[EndpointTiming] = []
    for stage in pe.stages:
        run = subprocess.run(
            [executable, "-no_init", "-no_splash", "-exit", f"{stage}_sta.tcl"],
            cwd=directory,
            capture_output=True,
            text=True,
            check=False,
        )
        (directory / f"{stage}_sta.log").write_text(run.stdout + run.stderr, encoding="utf-8")
        found = parse_opensta_endpoints(run.stdout)
        if run.returncode != 0 or not found:
            last = (run.stderr or run.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ConfigError(f"sta: {stage}_sta.tcl failed (exit {run.returncode}): {last[0]}")
        endpoints += found
    return endpoints
