"""``vscale scalesim``: a drop-in for SCALE-Sim v2's command line.

``vscale scalesim -c CFG -t TOPOLOGY -p OUTDIR [-i conv|gemm]`` takes SCALE-Sim's
arguments and files unchanged and writes ``OUTDIR/<run_name>/COMPUTE_REPORT.csv``,
``BANDWIDTH_REPORT.csv`` and ``DETAILED_ACCESS_REPORT.csv`` in SCALE-Sim's format
(:mod:`experiments.scalesim_reports`), plus vscale's ``MEMORY_REPORT.csv`` (every SRAM and
DRAM count per operand), ``ENERGY_REPORT.csv`` (the energy study of
:mod:`experiments.studies.energy` per layer at the technology's nominal supply and the
array's clock; ``--no-energy`` skips it) and ``config.json``. Compute cycles equal SCALE-Sim's; stalls and
DRAM traffic come from vscale's memory model (docs/migrating_from_scalesim.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from experiments.options import add_config_options, config_from_args, out_argument, output_dir, published_path
from experiments.output import FORMATS, emit, write_json
from experiments.scalesim_reports import write_reports
from experiments.studies.energy import EnergyConfig, energy
from experiments.studies.scalesim import ScaleSimConfig, ScaleSimResult, scalesim

__all__ = ["TABLE_COLUMNS", "configure", "run"]

TABLE_COLUMNS = (
    "layer_id",
    "layer_name",
    "total_cycles",
    "compute_cycles",
    "stall_cycles",
    "overall_util_pct",
    "ifmap_dram_reads",
    "filter_dram_reads",
    "ofmap_dram_writes",
    "peak_dram_bw_words_per_cycle",
)
"""Columns of the aligned table on stdout (CSV and JSON, like MEMORY_REPORT.csv, have every column)."""


def configure(parser: argparse.ArgumentParser) -> None:
    """The options of ``vscale scalesim``."""
    parser.description = (
        "Run a SCALE-Sim topology on the array of a SCALE-Sim .cfg and write "
        "COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv with SCALE-Sim's "
        "headers into OUTDIR/<run_name>/, plus MEMORY_REPORT.csv (vscale's SRAM/DRAM counts per "
        "operand). Compute cycles equal SCALE-Sim's; stalls come from vscale's memory model."
    )
    add_config_options(
        parser,
        ScaleSimConfig,
        aliases={"config_file": ["-c"], "topology": ["-t"], "input_type": ["-i"]},
        help={
            "config_file": "SCALE-Sim .cfg file",
            "topology": "SCALE-Sim topology CSV",
            "input_type": "topology format: conv (SCALE-Sim convolution CSV) or gemm (M, N, K CSV)",
        },
        metavar={"config_file": "CFG", "topology": "TOPOLOGY", "input_type": "conv|gemm"},
    )
    parser.add_argument(
        "-p",
        dest="out",
        default=Path("."),
        type=out_argument,
        metavar="OUTDIR",
        help="log directory; reports go to OUTDIR/<run_name>/ (default: current directory)",
    )
    parser.add_argument(
        "--no-energy",
        dest="energy",
        action="store_false",
        help="skip ENERGY_REPORT.csv (vscale's per-layer energy breakdown at nominal VDD)",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="what goes to stdout: per-layer table, CSV or JSON (default: table)",
    )
    parser.set_defaults(handler=run)


def _energy_report(config: ScaleSimConfig, result: ScaleSimResult, path: Path) -> None:
    nominal_v = float(EnergyConfig(gemm=(1, 1, 1)).pe_config().tech.vdd_nominal_v)
    breakdown = energy(
        topology=config.topology,
        config_file=config.config_file,
        scalesim_compat=True,
        vdd_v=(nominal_v,),
        f_clk_mhz=float(result.run.array.f_clk_mhz),
    )
    breakdown.to_csv(path)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(ScaleSimConfig, args)
    result = scalesim(config)
    folder = output_dir(args) / result.run.run_name
    write_reports(result, folder)
    result.to_csv(folder / "MEMORY_REPORT.csv")
    if args.energy:
        _energy_report(config, result, folder / "ENERGY_REPORT.csv")
    write_json(
        folder / "config.json",
        {
            "command": "scalesim",
            "config_file": str(config.config_file),
            "topology": str(config.topology),
            "input_type": config.input_type,
            "run_name": result.run.run_name,
            "bandwidth_mode": result.run.bandwidth_mode,
            "array": result.run.array.to_dict(),
            "totals": dict(result.totals),
        },
    )
    emit(result.table(columns=TABLE_COLUMNS) if args.format == "table" else result.table(), args.format)
    if args.format == "table":
        totals = result.totals
        print(
            f"{totals['layers']} layers: {totals['total_cycles']} cycles ({totals['stall_cycles']} stall, "
            f"{result.run.bandwidth_mode} bandwidth); reports in {published_path(args, folder)}"
        )
    return 0
