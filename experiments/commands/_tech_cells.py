"""`vscale tech characterize --cells` and `vscale tech show --cells`: the characterised cell library."""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
from pathlib import Path

from experiments.characterize_cells import (
    CellCharacterizeConfig,
    characterize_cells,
    merge_library,
    to_library,
)
from experiments.options import output_dir
from experiments.output import Table, atomic_path, write_csv, write_json
from experiments.pe_options import parse_vdd_range
from experiments.studies.cells import CellsConfig, tech_cells
from pe_models.cell_catalogue import CELL_SPECS, RAZOR_FLOP
from pe_models.errors import ConfigError
from pe_models.liberty import library_to_json, load_cell_library
from pe_models.liberty_files import corner_file_name, write_liberty

from ._results import emit_result, write_config

__all__ = ["characterize_command", "run_characterize_cells", "run_show_cells"]

DEFAULT_CORNERS = "0.4:1.0:0.05"


def characterize_command(args: argparse.Namespace) -> str:
    """The command line that regenerates the library (recorded in every file it writes)."""
    parts = ["vscale", "tech", "characterize", "--cells", "--model-card", str(args.model_card)]
    parts += ["--vdd", args.spice_vdd or DEFAULT_CORNERS, "--temperature-c", f"{args.temperature_c:g}"]
    if args.name:
        parts += ["--name", args.name]
    return shlex.join([*parts, "--out", "DIR"])


def run_characterize_cells(args: argparse.Namespace) -> int:
    """Characterise every cell with ngspice; write the Liberty corners, the compact table and the raw arcs."""
    name = args.name or Path(args.model_card).stem
    only = _only_cells(args)
    config = CellCharacterizeConfig(
        model_card=Path(args.model_card),
        vdd_v=tuple(parse_vdd_range(DEFAULT_CORNERS if args.spice_vdd is None else args.spice_vdd)),
        temperature_c=args.temperature_c,
        workers=args.workers,
        ngspice=args.ngspice,
        name=name,
    )
    if only is not None:
        config = dataclasses.replace(config, cells=only)
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise ConfigError(f"--out: {args.out} exists and is not a directory")
    result = characterize_cells(config, progress=lambda message: print(f"vscale tech: {message}", file=sys.stderr))
    command = characterize_command(args)
    library = to_library(result, name=name, command=command)
    if only is not None:
        library = merge_library(
            load_cell_library(args.from_library), library, origin=f"--from-library: {args.from_library}"
        )
    directory = output_dir(args)
    for corner, vdd in enumerate(library.vdd_v):
        with atomic_path(directory / corner_file_name(name, float(vdd))) as tmp:
            tmp.write_text(write_liberty(library, corner))
    with atomic_path(directory / f"{name}.cells.json") as tmp:
        tmp.write_text(library_to_json(library))
    write_csv(directory / "arcs.csv", arcs_table(result))
    for label, netlist in result.netlists.items():
        with atomic_path(directory / "netlists" / f"{label}.sp") as tmp:
            tmp.write_text(netlist)
    write_json(
        directory / "config.json",
        {
            "command": command,
            "model_card": str(args.model_card),
            "model_card_sha256": result.model_card_sha256,
            "vdd_v": list(config.vdd_v),
            "temperature_c": config.temperature_c,
            "load_ff": list(config.load_ff),
            "slew_fo4": list(config.slew_tau),
            "fo4_ps": list(result.fo4_ps),
            "ngspice": result.ngspice_version,
        },
    )
    shown = tech_cells(CellsConfig(technology=library, vdd_v=None))
    emit_result(shown, args.format)
    return 0


def _only_cells(args: argparse.Namespace) -> tuple[str, ...] | None:
    """The cells of ``--only`` (None: all), checked with ``--from-library``."""
    only = getattr(args, "only", None)
    source = getattr(args, "from_library", None)
    if only is None and source is None:
        return None
    if only is None or source is None:
        raise ConfigError("--only: needs --from-library FILE.cells.json (and the reverse); allowed: both or neither")
    cells = tuple(cell.strip() for cell in only.split(",") if cell.strip())
    allowed = (*CELL_SPECS, RAZOR_FLOP)
    unknown = [cell for cell in cells if cell not in allowed]
    if unknown or not cells:
        raise ConfigError(f"--only: unknown cell {(unknown or [only])[0]!r}; allowed: {', '.join(allowed)}")
    return cells


def arcs_table(result) -> Table:
    """Every measured arc, state, slew and load (the worst state is what the library keeps)."""
    rows = []
    for cell, per_vdd in result.cells.items():
        for corner, measured in enumerate(per_vdd):
            for (pin, edge), arc in measured.arcs.items():
                for state, delays in arc.state_delay_ps.items():
                    for k, slew in enumerate(result.slew_ps[corner]):
                        for j, load in enumerate(result.load_ff):
                            rows.append(
                                [
                                    cell,
                                    pin,
                                    edge,
                                    state,
                                    measured.vdd_v,
                                    float(slew),
                                    load,
                                    float(delays[k, j]),
                                    float(arc.transition_ps[k, j]),
                                    float(arc.energy_fj[k, j]),
                                ]
                            )
    columns = ["cell", "pin", "edge", "state", "vdd_v", "slew_ps", "load_ff", "delay_ps"]
    return Table(columns=[*columns, "worst_transition_ps", "worst_energy_fj"], rows=rows)


def run_show_cells(args: argparse.Namespace, technology: str) -> int:
    """`vscale tech show --cells`: per-arc delays at the reference load, CSV + config."""
    result = tech_cells(CellsConfig(technology=technology, vdd_v=args.vdd_v))
    directory = output_dir(args)
    write_csv(directory / "tech_cells.csv", result.table())
    write_config(directory, "tech show --cells", result, **result.totals)
    emit_result(result, args.format)
    print(f"vscale tech: {result.totals['description']}", file=sys.stderr)
    return 0
