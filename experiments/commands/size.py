"""``vscale size``: what-if array sizing of a topology from the closed-form cycle counts.

For every array shape and dataflow: total cycles, latency, overall utilisation and
MAC-cycles (PEs x cycles, the array occupancy; the topology's MAC count is its lower
bound). Writes ``size.csv``, ``size.png`` and ``config.json`` to ``--out``.
"""

from __future__ import annotations

import argparse

from experiments.options import add_config_options, add_output_options, config_from_args, output_dir
from experiments.output import save_figure, write_csv
from experiments.studies.latency import topology_record
from experiments.studies.size import SizeConfig, plot_size, plot_size_sram, size

from ._results import emit_result, write_config

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """The options of ``vscale size``."""
    parser.description = (
        "Total cycles, latency, utilisation and MAC-cycles (PEs x cycles) of a "
        "topology for several array shapes and dataflows, from the closed-form counts."
    )
    parser.epilog = (
        "Columns: mac_units = PEs (rows x cols); compute_cycles, stall_cycles, total_cycles summed over "
        "layers; latency_us = total_cycles / f_clk_mhz; overall_util_pct = MACs / (PEs x total cycles); "
        "mac_cycles = PEs x total cycles (the array occupancy, at least macs); macs = the topology's MACs."
    )
    add_config_options(parser, SizeConfig, metavar={"dataflow": "DF[,DF...]", "sram_kib": "S,S,..."})
    add_output_options(parser, "size")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    result = size(config_from_args(SizeConfig, args))
    out = output_dir(args)
    write_csv(out / "size.csv", result.table())
    save_figure(out / "size.png", plot_size(result))
    if result.config.sram_kib is not None:
        save_figure(out / "size_sram.png", plot_size_sram(result))
    write_config(
        out,
        "size",
        result,
        topology=topology_record(result.config.topology, result.topology),
        arrays=[f"{r}x{c}" for r, c in result.config.arrays],
        dataflows=list(result.config.dataflows()),
        base_array=result.config.base_array().to_dict(),
    )
    emit_result(result, args.format)
    return 0
