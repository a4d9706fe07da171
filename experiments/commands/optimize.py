"""``vscale optimize``: the VDD, per-layer protection and recovery policy of least energy within budgets."""

from __future__ import annotations

import argparse
import sys

from experiments.options import add_output_options, config_from_args, files_complete, output_dir, published_path
from experiments.output import Table, emit, write_json
from experiments.pe_options import add_study_options
from experiments.studies.optimize import OptimizeConfig, optimize

__all__ = ["configure", "run", "write_optimizer_outputs"]


def configure(parser: argparse.ArgumentParser) -> None:
    """The options of ``vscale optimize``."""
    parser.description = (
        "Screen every VDD of a 10 mV grid with the analytic per-bit error probabilities of "
        "each layer's own operands, build a per-(layer, bit) sensitivity table, solve for the plan of "
        "least energy per inference within the accuracy-loss, latency-overhead and Razor-flop budgets "
        "(scipy.optimize.milp), and confirm the chosen plan and its neighbours with bit-level injection. "
        "Writes plan.toml (accepted by --plan), best_per_vdd.csv, energy_layers.csv, pareto.csv, pareto.png, "
        "confirmation.csv, test.csv, images.csv, sensitivity.csv and config.json. The plan is selected on the "
        "selection images and judged on the test images (disjoint): exit status 1 when the test measurement "
        "misses a budget (the binding budget is named). Method: docs/optimizer.md."
    )
    add_study_options(
        parser,
        OptimizeConfig,
        metavar={"vdd_v": "HIGH:LOW", "recovery": "LIST", "images": "N"},
        help={
            "vdd_v": "VDD grid in V: HIGH:LOW in 10 mV steps, or START:STOP:STEP or V1,V2,... (default: the "
            "technology's nominal VDD down to 0.5 V in 10 mV steps)",
        },
    )
    add_output_options(parser, "optimize")
    parser.set_defaults(handler=run)


def write_optimizer_outputs(result, directory) -> dict[str, str]:
    """Write plan.toml, best_per_vdd.csv, energy_layers.csv, pareto.csv/png, screen_heatmap.png,
    confirmation.csv, sensitivity.csv."""
    from experiments.output import atomic_path, save_figure, write_csv
    from experiments.report import layer_energy_table, pareto_figure, rows_table, screen_heatmap, sensitivity_rows

    files = {}
    assert result.chosen is not None
    with atomic_path(directory / "plan.toml") as path:
        path.write_text(result.chosen.to_toml())
    files["plan"] = "plan.toml"
    write_csv(directory / "best_per_vdd.csv", result.table())
    files["best_per_vdd"] = "best_per_vdd.csv"
    if result.profiles:
        write_csv(directory / "energy_layers.csv", layer_energy_table(result))
        files["energy_layers"] = "energy_layers.csv"
    write_csv(directory / "pareto.csv", rows_table(result.pareto))
    save_figure(directory / "pareto.png", pareto_figure(result))
    files["pareto"] = "pareto.csv"
    files["pareto_png"] = "pareto.png"
    save_figure(directory / "screen_heatmap.png", screen_heatmap(result))
    files["screen_heatmap"] = "screen_heatmap.png"
    if result.confirmation:
        write_csv(directory / "confirmation.csv", rows_table(result.confirmation))
        files["confirmation"] = "confirmation.csv"
    if result.test is not None:
        write_csv(directory / "test.csv", rows_table([result.test]))
        files["test"] = "test.csv"
    if result.images is not None:
        write_csv(
            directory / "images.csv",
            Table(
                columns=["index", "name", "set"],
                rows=[[row["index"], row["name"], row["set"]] for row in result.images.rows()],
            ),
        )
        files["images"] = "images.csv"
    write_csv(directory / "sensitivity.csv", sensitivity_rows(result))
    files["sensitivity"] = "sensitivity.csv"
    return files


def run(args: argparse.Namespace) -> int:
    from experiments.results import plain

    config = config_from_args(OptimizeConfig, args)
    result = optimize(config)
    directory = output_dir(args)
    write_optimizer_outputs(result, directory)
    write_json(
        directory / "config.json", {"command": "optimize", "config": plain(config), "chosen": plain(result.totals)}
    )
    emit(result.table(), args.format)
    from experiments.report import chosen_summary, test_verdict

    if args.format == "table":
        print()
        print(chosen_summary(result))
        if result.confirmation:
            print()
            emit(_confirmation_table(result), "table")
        if result.test is not None:
            print()
            print(test_verdict(result.test, config, result.images.describe()))
        print(f"plan: {published_path(args, directory / 'plan.toml')}")
    if result.test is not None and not result.test.meets_budgets:
        files_complete(args)
        print(f"vscale: {test_verdict(result.test, config, result.images.describe())}", file=sys.stderr)
        return 1
    return 0


def _confirmation_table(result) -> Table:
    from experiments.report import rows_table

    return rows_table(result.confirmation)
