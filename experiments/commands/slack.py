"""`vscale slack`: timing-slack histograms per MAC and per bit at one operating point."""

from __future__ import annotations

import argparse

import numpy as np

from experiments.cli import add_output_options, output_dir
from experiments.output import Table, emit, save_figure, subplots, write_csv, write_json
from experiments.pe_options import (
    add_operand_options,
    add_pe_options,
    add_timing_options,
    operand_stream,
    pe_config,
    timing_from_args,
)
from pe_models.chain import evaluate_chain
from pe_models.errors import ConfigError

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "slack",
        help="timing-slack histograms per MAC and per bit (PNG and CSV)",
        description="Slack = (T_clk - t_setup) - settle time of each MAC's output (and of each bit that "
        "switches), at chain level, over the operand stream in its own order (temporal correlation kept). "
        "Negative slack means a late bit.",
    )
    add_timing_options(parser)
    parser.add_argument("--bins", type=int, default=60, help="histogram bins (default: 60)")
    add_operand_options(parser)
    add_pe_options(parser)
    add_output_options(parser, "slack")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    pe = pe_config(args)
    timing = timing_from_args(args, pe)
    if args.bins < 2:
        raise ConfigError(f"--bins: expected at least 2 histogram bins, got {args.bins}")
    stream = operand_stream(args, lanes=16, steps=4096)
    result = evaluate_chain(pe, timing, **stream.consecutive_pairs(), bit_settle=True)
    t_sample_ps = timing.t_sample_fs / 1000
    switched = result.settle_fs > 0
    mac_slack = t_sample_ps - result.settle_fs[switched] / 1000
    bit_settle = result.bit_settle_fs
    edges = np.histogram_bin_edges(np.concatenate([mac_slack, [t_sample_ps]]), bins=args.bins)
    counts, _ = np.histogram(mac_slack, bins=edges)
    mac_table = Table(
        columns=["slack_low_ps", "slack_high_ps", "macs"],
        rows=[[float(edges[i]), float(edges[i + 1]), int(counts[i])] for i in range(counts.size)],
    )
    bit_rows, hist_rows = [], []
    bit_counts = np.zeros((pe.width, edges.size - 1), dtype=np.int64)
    for bit in range(pe.width):
        moved = bit_settle[:, bit] > 0
        slack = t_sample_ps - bit_settle[moved, bit] / 1000
        if slack.size:
            bit_rows.append(
                [bit, int(slack.size), float(slack.min()), float(np.median(slack)), float(np.mean(slack < 0))]
            )
            bit_counts[bit], _ = np.histogram(slack, bins=edges)
            hist_rows.extend(
                [bit, float(edges[i]), float(edges[i + 1]), int(bit_counts[bit, i])]
                for i in range(edges.size - 1)
                if bit_counts[bit, i]
            )
        else:
            bit_rows.append([bit, 0, float("nan"), float("nan"), 0.0])
    bit_table = Table(columns=["bit", "transitions", "min_slack_ps", "median_slack_ps", "p_negative"], rows=bit_rows)
    directory = output_dir(args)
    write_csv(directory / "slack_mac.csv", mac_table)
    write_csv(directory / "slack_bits.csv", bit_table)
    write_csv(
        directory / "slack_bits_hist.csv",
        Table(columns=["bit", "slack_low_ps", "slack_high_ps", "transitions"], rows=hist_rows),
    )
    save_figure(directory / "slack.png", _figure(mac_slack, bit_counts, edges))
    write_json(
        directory / "config.json",
        {
            "command": "slack",
            "pe": pe.as_dict(),
            "vdd_v": args.vdd,
            "f_clk_mhz": args.f_clk_mhz,
            "t_clk_ps": timing.t_clk_fs / 1000,
            "t_sample_ps": t_sample_ps,
            "delay_scale": timing.delay_scale,
            "operands": args.operands,
            "rows": args.rows,
            "seed": args.seed,
            "macs": int(result.settle_fs.size),
        },
    )
    emit(bit_table, args.format)
    return 0


def _figure(mac_slack, bit_counts, edges):

    width = bit_counts.shape[0]
    figure, (left, right) = subplots(1, 2, figsize=(11, 4))
    left.hist(mac_slack, bins=edges, color="tab:blue")
    left.axvline(0, color="red", linestyle="--", label="late")
    left.set_xlabel("slack per MAC (ps)")
    left.set_ylabel("MACs")
    left.set_yscale("log")
    left.legend()
    image = right.imshow(
        np.log10(bit_counts + 1),
        aspect="auto",
        origin="lower",
        cmap="viridis",
        extent=(edges[0], edges[-1], -0.5, width - 0.5),
    )
    right.axvline(0, color="red", linestyle="--")
    right.set_xlabel("slack per bit transition (ps)")
    right.set_ylabel("bit")
    figure.colorbar(image, ax=right, label="log10(1 + transitions)")
    return figure
