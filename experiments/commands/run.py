"""`vscale run`: the three steps of the methodology with ``report.md`` (study: :mod:`experiments.studies.run`)."""

from __future__ import annotations

import argparse
import sys
import time

from experiments.options import add_output_options, config_from_args, files_complete, output_dir, published_path
from experiments.output import atomic_path, emit, progress, save_figure, write_csv
from experiments.pe_options import add_study_options
from experiments.studies.run import RunConfig, plot_run, run

from ._results import emit_result, write_config
from .optimize import write_optimizer_outputs

__all__ = ["configure"]

_SHOWN = (
    "label",
    "vdd_v",
    "recovery",
    "protected_bits",
    "top1_pct",
    "accuracy_loss_pct",
    "loss_ci_high_pct",
    "noninferiority_p",
    "latency_overhead_pct",
    "energy_uj",
    "saving_pct",
    "meets_budgets",
)


def configure(parser: argparse.ArgumentParser) -> None:
    """The options of ``vscale run``."""
    parser.description = (
        "Step 1: per-bit error probabilities of the accumulator against VDD. Step 2: the model "
        "with every MAC through the chain-level PE in array order (bitlevel injection), unprotected and with "
        "the bits step 1 finds failing protected (or --protect, or --plan). Step 3: the optimizer (vscale "
        "optimize) picks VDD, protected bits per layer and recovery policy on the selection images; the best "
        "plan at every VDD and the accepted one are measured on the test images, disjoint from them (accuracy "
        "against the int8 model at nominal VDD with Tango's 95 % score interval and the non-inferiority test "
        "against the budget, latency overhead with a bootstrap interval, energy with its breakdown and band). "
        "Exit status 1 when the accepted plan misses a budget on the test images. Writes every CSV and figure "
        "and report.md to --out. --paper: "
        "the seed paper's configuration (MobileNetV2 ImageNet weights, 256x256, 700 MHz, 0.9 -> 0.5 V)."
    )
    add_study_options(parser, RunConfig, metavar={"protect": "auto|none|HIGH:LOW", "recovery": "LIST"})
    add_output_options(parser, "run")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from experiments.report import energy_figure, rows_table, test_verdict, write_run_report
    from experiments.studies.probs import plot_probs

    started = time.monotonic()
    config = config_from_args(RunConfig, args)
    result = run(config, progress=progress)
    directory = output_dir(args)
    step1 = result.step1
    write_csv(directory / "probs.csv", step1.table())
    if step1.product is not None:
        write_csv(directory / "probs_product.csv", step1.product_result().table())
    write_csv(directory / "probs_summary.csv", step1.summary_result().table())
    save_figure(directory / "probs_heatmap.png", plot_probs(step1))
    if args.format == "table":
        print(
            f"step 1: per-bit error probability of the {step1.config.width}-bit accumulator vs VDD "
            f"({step1.config.level} level, {step1.operands_source} operands, {step1.config.f_clk_mhz:g} MHz)"
        )
        emit_result(step1.summary_result(), "table")
    if config.skip_step2:
        write_config(directory, "run", result)
        if args.format != "table":
            emit_result(step1, args.format)
        return 0
    assert result.optimizer is not None and result.headline_plan is not None
    write_csv(directory / "accuracy.csv", rows_table(result.rows))
    files = write_optimizer_outputs(result.optimizer, directory)
    with atomic_path(directory / "plan.toml") as target:
        target.write_text(result.headline_plan.to_toml())
    chosen = result.optimizer.chosen
    assert chosen is not None
    if chosen.to_plan() != result.headline_plan.to_plan():
        with atomic_path(directory / "plan_screen.toml") as target:
            target.write_text(chosen.to_toml())
        files["plan_screen"] = "plan_screen.toml"
    save_figure(directory / "accuracy.png", plot_run(result))
    save_figure(directory / "energy.png", energy_figure(result.rows, result.optimizer.config))
    elapsed = time.monotonic() - started
    write_config(directory, "run", result, elapsed_s=round(elapsed, 1), **result.totals)
    write_run_report(directory / "report.md", result, files=files, elapsed_s=elapsed)
    verdict = test_verdict(result.headline, result.optimizer.config, result.optimizer.images.describe())
    if args.format == "table":
        print()
        print(
            f"steps 2-3: {config.model} on the {result.totals['test_images']} test images, bitlevel injection, "
            f"{result.totals['metric']} against the int8 model at nominal VDD (paired)"
        )
        emit(_shown(result), "table")
        print()
        print(verdict)
        print(f"report: {published_path(args, directory / 'report.md')}")
    else:
        emit_result(result, args.format)
    if not result.confirmed:
        files_complete(args)
        print(f"vscale: {verdict}", file=sys.stderr)
        return 1
    return 0


def _shown(result):
    from experiments.output import Table

    return Table(columns=_SHOWN, rows=[[getattr(r, c) for c in _SHOWN] for r in result.rows])
