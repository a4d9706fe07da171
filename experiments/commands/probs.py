"""`vscale probs`: per-bit timing-error probability against supply voltage (step 1)."""

from __future__ import annotations

import argparse

from experiments.options import add_output_options, config_from_args, output_dir
from experiments.output import save_figure, write_csv
from experiments.pe_options import add_study_options
from experiments.studies.probs import ProbsConfig, ProbsResult, plot_probs, probs

from ._results import emit_result, write_config

__all__ = ["configure", "run_step1"]


def configure(parser: argparse.ArgumentParser) -> None:
    """The options of ``vscale probs``."""
    parser.description = (
        "Per-bit probability that the accumulator latches a wrong value, for each supply voltage. "
        "stdout: a summary per VDD (table) or the long form vdd_v,bit,p_err (csv/json)."
    )
    parser.epilog = (
        "Printed numbers: p_err = probability that the bit is latched wrong in one MAC (wrong MACs / "
        "MACs); wrong_bits_per_mac = sum of p_err over the accumulator bits (expected wrong bits per MAC); "
        "max_p_err and worst_bit = the largest p_err and its bit; lowest_failing_bit = the lowest bit with "
        "p_err > 1e-9; product_wrong_bits = the same sum over the 16 product-register bits; delay_scale = "
        "cell delays relative to nominal VDD."
    )
    add_study_options(parser, ProbsConfig)
    add_output_options(parser, "probs")
    parser.set_defaults(handler=run)


def run_step1(args: argparse.Namespace, command: str) -> ProbsResult:
    """Run step 1 from the parsed options; write probs*.csv, the heatmap and config.json; return the result."""
    from experiments.output import progress

    result = probs(config_from_args(ProbsConfig, args), progress=progress)
    directory = output_dir(args)
    write_csv(directory / "probs.csv", result.table())
    if result.product is not None:
        write_csv(directory / "probs_product.csv", result.product_result().table())
    write_csv(directory / "probs_summary.csv", result.summary_result().table())
    save_figure(directory / "probs_heatmap.png", plot_probs(result))
    write_config(directory, command, result, pe=result.config.pe_config().as_dict())
    return result


def run(args: argparse.Namespace) -> int:
    result = run_step1(args, "probs")
    emit_result(result.summary_result() if args.format == "table" else result, args.format)
    return 0
