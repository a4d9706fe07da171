"""``vscale latency``: per-layer cycles and utilisation of a topology on one array.

Compute cycles are SCALE-Sim v2's closed form (:mod:`sim.cycles`); with ``--bandwidth``
the stall cycles of the SRAM/DRAM model of :mod:`sim.memory` are added. Writes
``compute_report.csv``, ``summary.json`` and ``config.json`` to ``--out``.
"""

from __future__ import annotations

import argparse

from experiments.options import add_output_options, config_from_args, output_dir
from experiments.output import Table, write_csv, write_json
from experiments.results import display_value
from experiments.studies.latency import LatencyConfig, LatencyResult, latency, topology_record
from workloads.topologies import BUILTIN_TOPOLOGIES

from ._results import emit_result, study_handler, write_config

__all__ = ["TABLE_COLUMNS", "add_array_options", "configure", "run"]

TABLE_COLUMNS = (
    "layer_name",
    "m",
    "n",
    "k",
    "groups",
    "folds",
    "compute_cycles",
    "stall_cycles",
    "total_cycles",
    "overall_util_pct",
    "mapping_eff_pct",
    "compute_util_pct",
    "latency_us",
)
"""Columns of the aligned table on stdout (CSV and JSON have every column)."""

DEFINITIONS = (
    "Columns: m, n, k, groups = the layer's GEMM C[M,N] = A[M,K] @ B[K,N] per group; folds = tiles of the "
    "array; compute_cycles = SCALE-Sim v2's count; stall_cycles = DRAM stalls of the double-buffered model "
    "(0 without --bandwidth); total_cycles = their sum; overall_util_pct = MACs / (PEs x total cycles); "
    "mapping_eff_pct = share of the PEs the folds use; compute_util_pct = MACs / (PEs x compute cycles); "
    "latency_us = total_cycles / f_clk_mhz. CSV and JSON add, per operand (ifmap, filter, ofmap), the SRAM reads "
    "and writes and DRAM reads and writes in words, and avg/peak_dram_bw_words_per_cycle (docs/latency.md)."
)


def add_array_options(
    parser: argparse.ArgumentParser, *, dataflow_help: str, dataflow_metavar: str = "ws|os|is"
) -> None:
    """Options shared by ``latency`` and ``size``: topology, config, dataflow, bandwidth, clock."""
    parser.add_argument(
        "--topology",
        required=True,
        metavar="FILE|NAME",
        help="topology CSV file (SCALE-Sim convolution or GEMM format, or vscale format) "
        f"or a built-in name: {', '.join(BUILTIN_TOPOLOGIES)} (required)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE.cfg|FILE.toml",
        help="array configuration: SCALE-Sim .cfg or vscale TOML with an [array] table; "
        "options given on the command line override it (default: none, a 256x256 ws array, "
        "700 MHz, unlimited bandwidth)",
    )
    parser.add_argument("--dataflow", metavar=dataflow_metavar, help=dataflow_help)
    parser.add_argument(
        "--bandwidth",
        metavar="WORDS_PER_CYCLE",
        help="DRAM bandwidth in words per clock cycle, > 0 (a word is word_bytes bytes, 1 for "
        "int8), shared by reads and writes; adds the stall cycles of the SRAM/DRAM model in "
        "docs/latency.md, which is not SCALE-Sim's memory system; 'unlimited' for "
        "none (default: from --config, else unlimited, no stalls)",
    )
    parser.add_argument(
        "--f-clk-mhz",
        type=float,
        default=None,
        metavar="MHZ",
        help="clock frequency in MHz for latency_us, > 0 (default: from --config, else 700)",
    )
    parser.add_argument(
        "--scalesim-compat",
        action="store_true",
        help="lower layers as SCALE-Sim v2 does: output size ceil((H-F+S)/S), grouped and "
        "depthwise layers as num_filters/groups filters over all channels, 'DP' rows split "
        "per channel; reproduces SCALE-Sim's cycle counts (default: off, depthwise mapped as "
        "one GEMM per group)",
    )


def configure(parser: argparse.ArgumentParser) -> None:
    """The options of ``vscale latency``."""
    parser.description = (
        "Per-layer compute cycles (equal to SCALE-Sim v2's), memory stall cycles "
        "with a DRAM bandwidth limit, utilisation, mapping efficiency and folds; totals. stdout: the "
        "per-layer table with a TOTAL line (table), the per-layer rows (csv) or config, totals and rows (json)."
    )
    parser.epilog = DEFINITIONS
    add_array_options(
        parser,
        dataflow_help="ws (weights stationary), os (outputs stationary) or is "
        "(inputs stationary) (default: from --config, else ws)",
    )
    parser.add_argument(
        "--array",
        metavar="ROWSxCOLS",
        help="array shape in PEs, rows x columns, each >= 1, e.g. 256x256 or 128x512 "
        "(default: from --config, else 256x256)",
    )
    parser.add_argument(
        "--sram-kib",
        metavar="KIB|IFMAP,FILTER,OFMAP",
        help="SRAM buffer sizes in KiB, positive integers: one for all three buffers or one each "
        "(default: from --config, else 6144,6144,2048)",
    )
    add_output_options(parser, "latency")
    parser.set_defaults(handler=study_handler(run, LatencyConfig), config_type=LatencyConfig)


def _text(result: LatencyResult) -> str:
    table = result.table(columns=TABLE_COLUMNS)
    totals = result.totals
    total_row = ["TOTAL", "", "", "", "", totals["folds"]]
    total_row += [totals[name] for name in ("compute_cycles", "stall_cycles", "total_cycles", "overall_util_pct")]
    total_row += ["", "", totals["latency_us"]]
    table = Table(columns=table.columns, rows=[*table.rows, [display_value(v) for v in total_row]])
    array = result.array_config
    return table.to_text() + (
        f"{result.topology.name} on {array.shape} {array.dataflow}: {totals['total_cycles']} cycles "
        f"({totals['stall_cycles']} stall) = {totals['latency_us']:.6g} us at {totals['f_clk_mhz']:g} MHz\n"
    )


def run(args: argparse.Namespace) -> int:
    result = latency(config_from_args(LatencyConfig, args))
    out = output_dir(args)
    write_csv(out / "compute_report.csv", result.table())
    write_json(out / "summary.json", result.as_dict()["totals"])
    write_config(
        out,
        "latency",
        result,
        topology=topology_record(result.config.topology, result.topology),
        array=result.array_config.to_dict(),
    )
    if args.format == "table":
        print(_text(result), end="")
    else:
        emit_result(result, args.format)
    return 0
