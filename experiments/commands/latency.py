"""``vscale latency``: per-layer cycles and utilisation of a topology on one array.

Compute cycles are SCALE-Sim v2's closed form (:mod:`sim.cycles`); with ``--bandwidth``
the stall cycles of the SRAM/DRAM model of :mod:`sim.memory` are added. Writes
``compute_report.csv``, ``summary.json`` and ``config.json`` to ``--out``.
"""

from __future__ import annotations

import argparse

from experiments.options import add_config_options, add_output_options, config_from_args, output_dir
from experiments.output import Table, write_csv, write_json
from experiments.results import display_value
from experiments.studies.latency import LatencyConfig, LatencyResult, latency, topology_record
from sim.config import ArrayConfig

from ._results import emit_result, write_config

__all__ = ["TABLE_COLUMNS", "configure", "run"]

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


def configure(parser: argparse.ArgumentParser) -> None:
    """The options of ``vscale latency``: the fields of :class:`LatencyConfig`."""
    parser.description = (
        "Per-layer compute cycles (equal to SCALE-Sim v2's), memory stall cycles "
        "with a DRAM bandwidth limit, utilisation, mapping efficiency and folds; totals. stdout: the "
        "per-layer table with a TOTAL line (table), the per-layer rows (csv) or config, totals and rows (json)."
    )
    parser.epilog = DEFINITIONS
    add_config_options(parser, LatencyConfig)
    add_output_options(parser, "latency")
    parser.set_defaults(handler=run)


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
        f"({totals['stall_cycles']} stall, {_bandwidth(array)}) = {totals['latency_us']:.6g} us at "
        f"{totals['f_clk_mhz']:g} MHz\n"
    )


def _bandwidth(array: ArrayConfig) -> str:
    words = array.dram_bandwidth_words_per_cycle
    return "unlimited DRAM bandwidth" if words is None else f"DRAM bandwidth {words:g} words per cycle"


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
