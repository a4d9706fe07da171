"""``vscale size``: what-if array sizing of a topology from the closed-form cycle counts.

For every array shape and dataflow: total cycles, latency, overall utilisation and
MAC-cycles (PEs x cycles, the array occupancy; the topology's MAC count is its lower
bound). Writes ``size.csv``, ``size.png`` and ``config.json`` to ``--out``.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from experiments.cli import add_output_options, output_dir
from experiments.commands.latency import add_array_options, topology_record
from experiments.configs import parse_array_shape, resolve_array_config
from experiments.output import Table, emit, save_figure, subplots, write_csv, write_json
from pe_models.errors import ConfigError
from sim.config import DATAFLOWS
from sim.cycles import summarize, topology_report
from workloads.topologies import load_topology

__all__ = ["DEFAULT_ARRAYS", "SIZE_COLUMNS", "register", "run"]

DEFAULT_ARRAYS = "32x32,64x64,128x128,256x256,128x512"
SIZE_COLUMNS = (
    "array",
    "rows",
    "cols",
    "dataflow",
    "mac_units",
    "compute_cycles",
    "stall_cycles",
    "total_cycles",
    "latency_us",
    "overall_util_pct",
    "mac_cycles",
    "macs",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "size",
        help="what-if array sizing: cycles, utilisation and MAC-cycles vs array shape",
        description="Total cycles, latency, utilisation and MAC-cycles (PEs x cycles) of a "
        "topology for several array shapes and dataflows, from the closed-form counts.",
    )
    add_array_options(
        parser,
        dataflow_help="one or more of ws, os, is, comma-separated, e.g. ws,os,is (default: from --config, else ws)",
        dataflow_metavar="DF[,DF...]",
    )
    parser.add_argument(
        "--arrays",
        default=DEFAULT_ARRAYS,
        metavar="RxC,RxC,...",
        help=f"array shapes in PEs, rows x columns, comma-separated (default: {DEFAULT_ARRAYS})",
    )
    add_output_options(parser, "size")
    parser.set_defaults(handler=run)


def _parse_list(text: str, option: str) -> list[str]:
    items = [item.strip() for item in text.split(",")]
    if not items or any(not item for item in items):
        raise ConfigError(f"{option}: expected a comma-separated list without empty items, got {text!r}")
    return items


def _plot(rows: list[list[Any]], arrays: list[str], dataflows: list[str], macs: int, title: str):

    figure, axes = subplots(3, 1, figsize=(7, 9), sharex=True)
    positions = range(len(arrays))
    index = {column: SIZE_COLUMNS.index(column) for column in SIZE_COLUMNS}
    for dataflow in dataflows:
        selected = [row for row in rows if row[index["dataflow"]] == dataflow]
        axes[0].plot(positions, [row[index["total_cycles"]] for row in selected], "o-", label=dataflow)
        axes[1].plot(positions, [row[index["overall_util_pct"]] for row in selected], "o-", label=dataflow)
        axes[2].plot(positions, [row[index["mac_cycles"]] for row in selected], "o-", label=dataflow)
    axes[2].axhline(macs, color="gray", linestyle="--", label="MACs (lower bound)")
    axes[0].set_ylabel("total cycles")
    axes[1].set_ylabel("overall utilisation (%)")
    axes[2].set_ylabel("MAC-cycles (PEs x cycles)")
    axes[0].set_yscale("log")
    axes[2].set_yscale("log")
    axes[2].set_xticks(list(positions), arrays)
    axes[2].set_xlabel("array shape (rows x columns)")
    for axis in axes:
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    axes[0].set_title(title)
    return figure


def run(args: argparse.Namespace) -> int:
    out = output_dir(args)
    base = resolve_array_config(config_file=args.config, bandwidth=args.bandwidth)
    shapes = [parse_array_shape(item, option="--arrays") for item in _parse_list(args.arrays, "--arrays")]
    dataflows = [base.dataflow] if args.dataflow is None else _parse_list(args.dataflow, "--dataflow")
    for dataflow in dataflows:
        if dataflow not in DATAFLOWS:
            raise ConfigError(f"--dataflow: expected one or more of {', '.join(DATAFLOWS)}, got {dataflow!r}")
    topology = load_topology(args.topology, scalesim_compat=args.scalesim_compat)

    rows: list[list[Any]] = []
    for dataflow in dataflows:
        for array_rows, array_cols in shapes:
            config = dataclasses.replace(base, rows=array_rows, cols=array_cols, dataflow=dataflow)
            summary = summarize(topology_report(topology.layers, config, scalesim_compat=args.scalesim_compat), config)
            rows.append(
                [
                    config.shape,
                    array_rows,
                    array_cols,
                    dataflow,
                    config.mac_units,
                    summary.compute_cycles,
                    summary.stall_cycles,
                    summary.total_cycles,
                    summary.latency_us,
                    100.0 * summary.overall_utilisation,
                    summary.mac_cycles,
                    summary.macs,
                ]
            )
    table = Table(columns=SIZE_COLUMNS, rows=rows)
    arrays = [f"{r}x{c}" for r, c in shapes]
    macs = sum(layer.gemm(scalesim_compat=args.scalesim_compat).macs for layer in topology.layers)
    figure = _plot(rows, arrays, dataflows, macs, f"{topology.name}: array sizing")
    write_csv(out / "size.csv", table)
    save_figure(out / "size.png", figure)
    write_json(
        out / "config.json",
        {
            "command": "size",
            "topology": topology_record(args.topology, topology),
            "config_file": args.config,
            "arrays": arrays,
            "dataflows": dataflows,
            "base_array": base.to_dict(),
            "scalesim_compat": bool(args.scalesim_compat),
        },
    )
    emit(table, args.format)
    return 0
