"""`vscale probs`: per-bit timing-error probability against supply voltage (step 1)."""

from __future__ import annotations

import argparse

from experiments.cli import add_output_options, output_dir
from experiments.output import emit, save_figure, write_csv, write_json
from experiments.pe_options import (
    add_operand_options,
    add_pe_options,
    operand_stream,
    parse_vdd_range,
    pe_config,
)
from experiments.step1 import bit_probabilities, heatmap_figure, summary_table
from pe_models.errors import ConfigError

__all__ = ["register", "run_step1"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "probs",
        help="per-bit timing-error probability vs VDD (CSV vdd_v,bit,p_err and a heatmap)",
        description="Per-bit probability that the accumulator latches a wrong value, for each supply voltage. "
        "stdout: a summary per VDD (table) or the long form vdd_v,bit,p_err (csv/json).",
    )
    add_step1_options(parser)
    add_output_options(parser, "probs")
    parser.set_defaults(handler=run)


def add_step1_options(parser: argparse.ArgumentParser) -> None:
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
        "--level",
        choices=("analytic", "chain", "trace"),
        default="analytic",
        help="analytic (carry-run statistics, i.i.d. operands), chain (chain-level Monte Carlo "
        "on i.i.d. pairs drawn from the operands) or trace (chain level on the operand "
        "stream's own consecutive MACs, temporal correlation kept) (default: analytic)",
    )
    parser.add_argument(
        "--samples",
        type=int,
        default=200_000,
        metavar="N",
        help="Monte Carlo MACs per VDD for --level chain (default: 200000)",
    )
    add_operand_options(parser)
    add_pe_options(parser)


def run_step1(args: argparse.Namespace, command: str):
    """Validate everything, compute the probabilities, write CSV/PNG/config; return the result."""
    pe = pe_config(args)
    vdds = parse_vdd_range(args.vdd)
    if args.samples < 1000:
        raise ConfigError(f"--samples: expected at least 1000 MACs, got {args.samples}")
    if args.level == "analytic" and (pe.pipeline != "registered" or pe.adder != "rca"):
        raise ConfigError("--level: analytic models the registered pipeline with the rca adder; use --level chain")
    stream = operand_stream(args, lanes=16, steps=2048)
    result = bit_probabilities(pe, vdds, args.f_clk_mhz, stream, level=args.level, samples=args.samples, seed=args.seed)
    directory = output_dir(args)
    write_csv(directory / "probs.csv", result.long_table())
    if result.product is not None:
        write_csv(directory / "probs_product.csv", result.product_table())
    write_csv(directory / "probs_summary.csv", summary_table(result))
    title = f"{pe.cells} {pe.adder} {pe.pipeline}, {args.f_clk_mhz:g} MHz, {stream.source} operands ({args.level})"
    save_figure(directory / "probs_heatmap.png", heatmap_figure(result, title))
    write_json(
        directory / "config.json",
        {
            "command": command,
            "pe": pe.as_dict(),
            "vdd_v": vdds,
            "f_clk_mhz": args.f_clk_mhz,
            "level": args.level,
            "samples": args.samples,
            "operands": args.operands,
            "rows": args.rows,
            "seed": args.seed,
        },
    )
    return result


def run(args: argparse.Namespace) -> int:
    result = run_step1(args, "probs")
    emit(summary_table(result) if args.format == "table" else result.long_table(), args.format)
    return 0
