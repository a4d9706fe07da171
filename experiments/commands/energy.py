"""``vscale energy``: energy per layer and per inference against VDD, as a breakdown with bands.

The workload is a topology, one GEMM or a quantised network (``--model``). Writes
``energy.csv`` (one row per VDD and layer plus a ``total`` row per VDD),
``summary.json`` (whole-study figures), ``energy.png`` (stacked bars per VDD),
``energy_layers_<VDD>V.png`` (stacked bars per layer, one per VDD) and ``config.json``.
"""

from __future__ import annotations

import argparse

from experiments.options import add_output_options, cli_message, config_from_args, output_dir
from experiments.output import save_figure, write_json
from experiments.pe_options import add_pe_options
from experiments.studies.common import config_dict
from experiments.studies.energy import EnergyConfig, energy, plot_energy, plot_energy_layers
from pe_models.errors import ConfigError
from sim.config import DATAFLOWS
from sim.protection import STALL_SCOPES
from workloads.models.zoo import MODEL_NAMES
from workloads.topologies import BUILTIN_TOPOLOGIES

from ._energy_options import add_energy_options, energy_values
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
    source.add_argument(
        "--topology",
        metavar="FILE|NAME",
        help=f"topology CSV file or a built-in name: {', '.join(BUILTIN_TOPOLOGIES)}",
    )
    source.add_argument("--gemm", metavar="M,N,K", help="one GEMM C[M,N] = A[M,K] @ B[K,N]")
    source.add_argument(
        "--model",
        choices=MODEL_NAMES,
        help="a quantised network: its GEMM layers for one image, with the int8 operands its first "
        "evaluation image produces",
    )
    parser.add_argument(
        "--vdd",
        default="0.9:0.5:0.05",
        metavar="START:STOP:STEP",
        help="supply voltages in V: START:STOP:STEP (inclusive), V1,V2,... or V (default: 0.9:0.5:0.05)",
    )
    parser.add_argument(
        "--f-clk-mhz", type=float, default=700.0, metavar="MHZ", help="clock frequency in MHz (default: 700)"
    )
    parser.add_argument(
        "--config",
        dest="config_file",
        metavar="FILE.cfg|FILE.toml",
        help="array configuration (SCALE-Sim .cfg or vscale TOML); options override it",
    )
    parser.add_argument("--array", metavar="ROWSxCOLS", help="array shape in PEs (default: 256x256)")
    parser.add_argument("--dataflow", metavar="|".join(DATAFLOWS), help="ws, os or is (default: ws)")
    parser.add_argument(
        "--bandwidth",
        metavar="WORDS_PER_CYCLE",
        help="DRAM bandwidth in words per cycle; adds memory stall cycles (default: unlimited)",
    )
    parser.add_argument(
        "--scalesim-compat", action="store_true", help="lower layers as SCALE-Sim v2 does (default: off)"
    )
    parser.add_argument(
        "--protect", default="none", metavar="HIGH:LOW,...", help="protected accumulator bits, e.g. 31:20"
    )
    parser.add_argument(
        "--penalty", type=int, default=1, metavar="CYCLES", help="cycles one correction costs (default: 1)"
    )
    parser.add_argument(
        "--stall", choices=STALL_SCOPES, default="global", help="who waits for a correction (default: global)"
    )
    parser.add_argument(
        "--simulate",
        action="store_true",
        help="run every MAC through the array simulator at each VDD (timing errors, detections, "
        "recovery cycles charged); default: closed-form cycles, no errors",
    )
    parser.add_argument(
        "--node-nm", type=float, metavar="NM", help="technology node for the constants (default: from its name)"
    )
    parser.add_argument(
        "--hold-buffers-per-bit",
        type=float,
        metavar="N",
        help="hold-fix buffers per protected bit (default: counted by pe_models.razor at nominal VDD)",
    )
    parser.add_argument(
        "--activity-samples",
        type=int,
        default=2048,
        metavar="N",
        help="MACs sampled per layer for the switching activity (default: 2048, about 1.4 %% sampling error)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the operands, >= 0 (default: 0)")
    add_energy_options(parser)
    add_pe_options(parser)
    add_output_options(parser, "energy")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        config = config_from_args(EnergyConfig, args, **energy_values(args))
        result = energy(config)
    except ConfigError as error:
        raise ConfigError(cli_message(str(error), EnergyConfig)) from None
    directory = output_dir(args)
    result.to_csv(directory / "energy.csv")
    write_json(directory / "summary.json", {key: value for key, value in result.totals.items()})
    save_figure(directory / "energy.png", plot_energy(result))
    for vdd in config.vdd_v:
        save_figure(directory / f"energy_layers_{vdd:g}V.png", plot_energy_layers(result, vdd))
    record = {key: value for key, value in config_dict(config).items()}
    write_json(directory / "config.json", {"command": "energy", **record, "pe": config.pe_config().as_dict()})
    emit_result(result, args.format)
    return 0
