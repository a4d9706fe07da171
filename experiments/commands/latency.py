"""``vscale latency``: per-layer cycles and utilisation of a topology on one array.

Compute cycles are SCALE-Sim v2's closed form (:mod:`sim.cycles`); with ``--bandwidth``
the stall cycles of the project's double-buffered DRAM model are added. Writes
``compute_report.csv``, ``summary.json`` and ``config.json`` to ``--out``.
"""

from __future__ import annotations

import argparse
from typing import Any

from experiments.cli import add_output_options, output_dir
from experiments.configs import resolve_array_config
from experiments.output import Table, emit, write_csv, write_json
from sim.config import ArrayConfig
from sim.cycles import LayerReport, TopologySummary, summarize, topology_report
from workloads.topologies import BUILTIN_TOPOLOGIES, Topology, load_topology

__all__ = ["REPORT_COLUMNS", "add_array_options", "register", "report_rows", "run", "topology_record"]

REPORT_COLUMNS = (
    "layer_id",
    "layer_name",
    "m",
    "n",
    "k",
    "groups",
    "dataflow",
    "array",
    "row_folds",
    "col_folds",
    "folds",
    "compute_cycles",
    "stall_cycles",
    "total_cycles",
    "macs",
    "overall_util_pct",
    "mapping_eff_pct",
    "compute_util_pct",
)
_TABLE_COLUMNS = (
    "layer",
    "M",
    "N",
    "K",
    "groups",
    "folds",
    "compute_cycles",
    "stall_cycles",
    "total_cycles",
    "overall_util_%",
    "mapping_eff_%",
    "compute_util_%",
)


def add_array_options(
    parser: argparse.ArgumentParser, *, dataflow_help: str, dataflow_metavar: str = "ws|os|is"
) -> None:
    """Options shared by ``latency`` and ``size``: topology, config, dataflow, bandwidth."""
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
        help="DRAM bandwidth in words per clock cycle (a word is word_bytes bytes, 1 for "
        "int8), shared by reads and writes; adds the stall cycles of the double-buffered "
        "model in docs/latency.md, which is not SCALE-Sim's memory system; 'unlimited' for "
        "none (default: from --config, else unlimited, no stalls)",
    )
    parser.add_argument(
        "--scalesim-compat",
        action="store_true",
        help="lower layers as SCALE-Sim v2 does: output size ceil((H-F+S)/S), grouped and "
        "depthwise layers as num_filters/groups filters over all channels, 'DP' rows split "
        "per channel; reproduces SCALE-Sim's cycle counts (default: off, depthwise mapped as "
        "one GEMM per group)",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "latency",
        help="per-layer cycles and utilisation of a topology on one array",
        description="Per-layer compute cycles (equal to SCALE-Sim v2's), memory stall cycles "
        "with a DRAM bandwidth limit, utilisation, mapping efficiency and folds; totals.",
    )
    add_array_options(
        parser,
        dataflow_help="ws (weights stationary), os (outputs stationary) or is "
        "(inputs stationary) (default: from --config, else ws)",
    )
    parser.add_argument(
        "--array",
        metavar="ROWSxCOLS",
        help="array shape in PEs, rows x columns, e.g. 256x256 or 128x512 (default: from --config, else 256x256)",
    )
    add_output_options(parser, "latency")
    parser.set_defaults(handler=run)


def report_rows(reports: tuple[LayerReport, ...], config: ArrayConfig) -> list[list[Any]]:
    """One row per layer with the columns :data:`REPORT_COLUMNS`."""
    return [
        [
            index,
            report.name,
            report.m,
            report.n,
            report.k,
            report.groups,
            report.dataflow,
            config.shape,
            report.row_folds,
            report.col_folds,
            report.folds,
            report.compute_cycles,
            report.stall_cycles,
            report.total_cycles,
            report.macs,
            100.0 * report.overall_utilisation,
            100.0 * report.mapping_efficiency,
            100.0 * report.compute_utilisation,
        ]
        for index, report in enumerate(reports)
    ]


def _stdout_table(reports: tuple[LayerReport, ...], summary: TopologySummary) -> Table:
    rows: list[list[Any]] = [
        [
            report.name,
            report.m,
            report.n,
            report.k,
            report.groups,
            report.folds,
            report.compute_cycles,
            report.stall_cycles,
            report.total_cycles,
            100.0 * report.overall_utilisation,
            100.0 * report.mapping_efficiency,
            100.0 * report.compute_utilisation,
        ]
        for report in reports
    ]
    rows.append(
        [
            "TOTAL",
            "",
            "",
            "",
            "",
            sum(report.folds for report in reports),
            summary.compute_cycles,
            summary.stall_cycles,
            summary.total_cycles,
            100.0 * summary.overall_utilisation,
            "",
            "",
        ]
    )
    return Table(columns=_TABLE_COLUMNS, rows=rows)


def _summary_dict(summary: TopologySummary, config: ArrayConfig) -> dict[str, Any]:
    return {
        "layers": summary.layers,
        "compute_cycles": summary.compute_cycles,
        "stall_cycles": summary.stall_cycles,
        "total_cycles": summary.total_cycles,
        "macs": summary.macs,
        "mac_units": summary.mac_units,
        "overall_util_pct": 100.0 * summary.overall_utilisation,
        "latency_us": summary.latency_us,
        "f_clk_mhz": float(config.f_clk_mhz),
    }


def topology_record(spec: str, topology: Topology) -> dict[str, Any]:
    """How a topology was obtained, for ``config.json``."""
    return {
        "spec": spec,
        "source": topology.source,
        "format": topology.format,
        "layers": len(topology.layers),
    }


def run(args: argparse.Namespace) -> int:
    out = output_dir(args)
    config = resolve_array_config(
        config_file=args.config,
        array=args.array,
        dataflow=args.dataflow,
        bandwidth=args.bandwidth,
    )
    topology = load_topology(args.topology, scalesim_compat=args.scalesim_compat)
    reports = topology_report(topology.layers, config, scalesim_compat=args.scalesim_compat)
    summary = summarize(reports, config)

    write_csv(out / "compute_report.csv", Table(columns=REPORT_COLUMNS, rows=report_rows(reports, config)))
    write_json(out / "summary.json", _summary_dict(summary, config))
    write_json(
        out / "config.json",
        {
            "command": "latency",
            "topology": topology_record(args.topology, topology),
            "config_file": args.config,
            "array": config.to_dict(),
            "scalesim_compat": bool(args.scalesim_compat),
        },
    )
    emit(_stdout_table(reports, summary), args.format)
    if args.format == "table":
        print(
            f"{topology.name} on {config.shape} {config.dataflow}: {summary.total_cycles} cycles "
            f"({summary.stall_cycles} stall) = {summary.latency_us:.6g} us at "
            f"{float(config.f_clk_mhz):g} MHz"
        )
    return 0
