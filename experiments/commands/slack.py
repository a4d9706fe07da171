"""`vscale slack`: timing-slack histograms per MAC and per bit at one operating point."""

from __future__ import annotations

import argparse

from experiments.options import add_output_options, config_from_args, output_dir
from experiments.output import save_figure, write_csv
from experiments.pe_options import add_study_options
from experiments.studies.slack import SlackConfig, plot_slack, slack

from ._results import emit_result, write_config

__all__ = ["configure"]


def configure(parser: argparse.ArgumentParser) -> None:
    """The options of ``vscale slack``."""
    parser.description = (
        "Slack = (T_clk - t_setup) - settle time of each MAC's output (and of each bit that "
        "switches), at chain level, over the operand stream in its own order (temporal correlation kept). "
        "Negative slack means a late bit."
    )
    parser.epilog = (
        "Printed numbers (one row per accumulator bit): transitions = MACs in which the bit switched; "
        "min_slack_ps and median_slack_ps = smallest and median slack of those transitions in ps (nan without "
        "transitions); p_negative = fraction of the bit's transitions with negative slack (denominator: the "
        "bit's transitions, not all MACs)."
    )
    add_study_options(parser, SlackConfig)
    add_output_options(parser, "slack")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    result = slack(config_from_args(SlackConfig, args))
    directory = output_dir(args)
    write_csv(directory / "slack_mac.csv", result.mac_histogram().table())
    write_csv(directory / "slack_bits.csv", result.table())
    write_csv(directory / "slack_bits_hist.csv", result.bit_histogram().table())
    save_figure(directory / "slack.png", plot_slack(result))
    write_config(directory, "slack", result, pe=result.config.pe_config().as_dict(), **result.totals)
    emit_result(result, args.format)
    return 0
