"""`vscale run`: the main study at the default operating point."""

from __future__ import annotations

import argparse

from experiments.cli import add_output_options
from experiments.output import emit

from .probs import add_step1_options, run_step1

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run", help="the main study: step 1 (per-bit error probability vs VDD) at the default operating point",
        description="Step 1 at the default operating point: a 256x256 weight-stationary array of int8 PEs "
        "(compound-cell ripple-carry accumulator, registered product), 700 MHz, VDD 0.9 V to 0.5 V in 50 mV "
        "steps, operands of a weight-stationary column of 256 rows. Prints the per-VDD table; writes CSV, "
        "the heatmap and the config to --out.",
    )
    add_step1_options(parser)
    add_output_options(parser, "run")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from experiments.step1 import summary_table

    result = run_step1(args, "run")
    emit(summary_table(result) if args.format == "table" else result.long_table(), args.format)
    return 0
