"""``vscale energy``: energy per layer and per inference against VDD, as a breakdown with bands.

The workload is a topology, one GEMM or a quantised network (``--model``). Writes
``energy.csv`` (one row per VDD and layer), ``energy_per_vdd.csv`` (the whole inference at
each VDD), ``summary.json`` (whole-study figures), ``energy.png`` (stacked bars per VDD),
``energy_layers_<VDD>V.png`` (stacked bars per layer, one per VDD) and ``config.json``.
"""

from __future__ import annotations

import argparse

from experiments.options import add_config_options, add_output_options, config_from_args, output_dir, published_path
from experiments.output import save_figure, write_json
from experiments.pe_options import add_study_options
from experiments.studies.common import config_dict
from experiments.studies.energy import EnergyConfig, energy, plot_energy, plot_energy_layers

from ._results import emit_result

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """The options of ``vscale energy``."""
    parser.description = (
        "Energy of a topology, one GEMM or a network on the array at each supply voltage: MAC datapath "
        "switching (toggle model fitted to gate-level transitions), registers and clock, leakage, Razor "
        "detection overhead, correction, SRAM and DRAM, each with the band of its cited constants "
        "(docs/energy.md), per image for --batch images sharing each weight fold; savings for the core and the "
        "system against the technology's nominal VDD at the same clock, and the DVFS baseline (no Razor, "
        "highest error-free clock) beside every VDD."
    )
    source = parser.add_mutually_exclusive_group(required=True)
    add_config_options(source, EnergyConfig, fields=("topology", "gemm", "model"))
    add_study_options(parser, EnergyConfig)
    add_output_options(parser, "energy")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(EnergyConfig, args)
    result = energy(config)
    directory = output_dir(args)
    result.to_csv(directory / "energy.csv")
    per_vdd = result.per_vdd_result()
    per_vdd.to_csv(directory / "energy_per_vdd.csv")
    write_json(directory / "summary.json", dict(result.totals))
    save_figure(directory / "energy.png", plot_energy(result))
    for vdd in config.vdd_v:
        save_figure(directory / f"energy_layers_{vdd:g}V.png", plot_energy_layers(result, vdd))
    write_json(
        directory / "config.json", {"command": "energy", **config_dict(config), "pe": config.pe_config().as_dict()}
    )
    if args.format == "table":
        emit_result(per_vdd, "table")
        print(f"energy per inference at each VDD; per layer in {published_path(args, directory / 'energy.csv')}")
    else:
        emit_result(result, args.format)
    return 0
