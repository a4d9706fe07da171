"""``vscale optimize``: the VDD, per-layer protection and recovery policy of least energy within budgets."""

from __future__ import annotations

import argparse
import re

from experiments.options import add_output_options, output_dir, published_path
from experiments.output import Table, emit, write_json
from experiments.pe_options import add_pe_options, add_setup_option, pe_config
from pe_models.errors import ConfigError

from ._energy_options import add_energy_options, energy_values

__all__ = ["configure", "optimizer_config", "run", "write_optimizer_outputs"]


def add_optimizer_options(parser: argparse.ArgumentParser, *, confirm: bool = True) -> None:
    """Budget and search options shared by ``optimize`` and ``run``."""
    group = parser.add_argument_group("optimizer")
    group.add_argument(
        "--max-accuracy-loss-pct",
        type=float,
        default=1.0,
        metavar="PCT",
        help="accuracy-loss budget in points against the int8 model at nominal VDD, 0..100 (default: 1)",
    )
    group.add_argument(
        "--max-latency-overhead-pct",
        type=float,
        default=5.0,
        metavar="PCT",
        help="latency-overhead budget in percent of the error-free cycles, >= 0 (default: 5)",
    )
    group.add_argument(
        "--max-razor-flops",
        type=int,
        default=None,
        metavar="N",
        help="Razor flip-flops the array may contain, protected bits x PEs (default: no limit)",
    )
    group.add_argument(
        "--razor-window-ps",
        type=float,
        default=None,
        metavar="PS",
        help="Razor detection window in ps: a protected bit still wrong this long after the sample is a "
        "silent error (default: half the clock period)",
    )
    group.add_argument(
        "--recovery",
        default="global,column,local,drop",
        metavar="LIST",
        help="recovery policies to consider, comma list of global, column, local, drop (default: all four)",
    )
    group.add_argument(
        "--penalty", type=int, default=1, metavar="CYCLES", help="cycles one recovery costs (default: 1)"
    )
    group.add_argument(
        "--solver",
        choices=("milp", "exhaustive"),
        default="milp",
        help="scipy.optimize.milp, or every combination (small models only) (default: milp)",
    )
    if not confirm:
        return
    group.add_argument("--no-confirm", action="store_true", help="skip the bit-level confirmation of the chosen plan")
    group.add_argument(
        "--neighbours",
        type=int,
        default=1,
        metavar="N",
        help="adjacent VDD points each side whose best plans are confirmed too (default: 1)",
    )


def configure(parser: argparse.ArgumentParser) -> None:
    """The options of ``vscale optimize``."""
    parser.description = (
        "Screen every VDD of a 10 mV grid with the analytic per-bit error probabilities of "
        "each layer's own operands, build a per-(layer, bit) sensitivity table, solve for the plan of "
        "least energy per inference within the accuracy-loss, latency-overhead and Razor-flop budgets "
        "(scipy.optimize.milp), and confirm the chosen plan and its neighbours with bit-level injection. "
        "Writes plan.toml (accepted by --plan), best_per_vdd.csv, pareto.csv, pareto.png, "
        "confirmation.csv, sensitivity.csv and config.json. Method: docs/optimizer.md."
    )
    parser.add_argument("--model", default="tinymnv2", metavar="NAME", help="model name (default: tinymnv2)")
    parser.add_argument(
        "--images", type=int, default=200, metavar="N", help="images for the bit-level confirmation (default: 200)"
    )
    parser.add_argument(
        "--vdd",
        default=None,
        metavar="HIGH:LOW",
        help="VDD grid bounds in V, 10 mV steps (default: the technology's nominal VDD down to 0.5 V)",
    )
    parser.add_argument("--f-clk-mhz", type=float, default=700.0, metavar="MHZ", help="clock in MHz (default: 700)")
    parser.add_argument(
        "--array", default="256x256", metavar="ROWSxCOLS", help="weight-stationary array (default: 256x256)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    add_setup_option(parser, sweep=True)
    add_pe_options(parser)
    add_optimizer_options(parser)
    add_energy_options(parser)
    add_output_options(parser, "optimize")
    parser.set_defaults(handler=run)


def _vdd_bounds(text: str | None) -> tuple[float | None, float]:
    if text is None:
        return None, 0.5
    match = re.fullmatch(r"\s*([0-9.]+)\s*:\s*([0-9.]+)\s*(?::\s*0?\.01\s*)?", text)
    if match is None:
        raise ConfigError(f"--vdd: expected HIGH:LOW in volts (10 mV steps), e.g. 0.9:0.5, got {text!r}")
    high, low = float(match.group(1)), float(match.group(2))
    return high, low


def _array(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if match is None:
        raise ConfigError(f"--array: expected ROWSxCOLS, e.g. 256x256, got {text!r}")
    return int(match.group(1)), int(match.group(2))


def optimizer_config(args: argparse.Namespace, *, vdd_text: str | None = None, **overrides):
    """The :class:`OptimizeConfig` of parsed ``optimize``/``run`` arguments (validated)."""
    from experiments.studies.optimize import OptimizeConfig

    high, low = _vdd_bounds(vdd_text)
    rows, cols = _array(args.array)
    recoveries = tuple(part.strip() for part in args.recovery.split(",") if part.strip())
    fields = dict(
        model=args.model,
        images=args.images,
        vdd_max_v=high,
        vdd_min_v=low,
        f_clk_mhz=args.f_clk_mhz,
        rows=rows,
        cols=cols,
        pe=pe_config(args),
        recoveries=recoveries,
        penalty_cycles=args.penalty,
        max_accuracy_loss_pct=args.max_accuracy_loss_pct,
        max_latency_overhead_pct=args.max_latency_overhead_pct,
        max_razor_flops=args.max_razor_flops,
        razor_window_ps=args.razor_window_ps,
        t_setup_ps=getattr(args, "t_setup_ps", None),
        solver=args.solver,
        confirm=not args.no_confirm,
        neighbours=args.neighbours,
        seed=args.seed,
    )
    if hasattr(args, "no_clock_gating"):
        fields.update(energy_values(args))
    fields.update(overrides)
    try:
        return OptimizeConfig(**fields)
    except ConfigError as error:
        raise ConfigError(_option_names(str(error))) from None


_OPTIONS = {
    "max_accuracy_loss_pct": "--max-accuracy-loss-pct",
    "max_latency_overhead_pct": "--max-latency-overhead-pct",
    "max_razor_flops": "--max-razor-flops",
    "recoveries": "--recovery",
    "penalty_cycles": "--penalty",
    "vdd_max_v": "--vdd",
    "vdd_min_v": "--vdd",
    "images": "--images",
    "neighbours": "--neighbours",
    "razor_window_ps": "--razor-window-ps",
    "t_setup_ps": "--t-setup-ps",
    "batch": "--batch",
    "power_gating": "--power-gating",
    "memory_vdd_v": "--memory-vdd",
    "temperature_c": "--temperature-c",
}


def _option_names(message: str) -> str:
    field, _, rest = message.partition(":")
    if field not in _OPTIONS:
        return message
    return f"{_OPTIONS[field]}:{rest.replace(f' {field} ', f' {_OPTIONS[field]} ')}"


def write_optimizer_outputs(result, directory) -> dict[str, str]:
    """Write plan.toml, best_per_vdd.csv, pareto.csv/png, confirmation.csv, sensitivity.csv."""
    from experiments.output import atomic_path, save_figure, write_csv
    from experiments.report import pareto_figure, rows_table, sensitivity_rows

    files = {}
    assert result.chosen is not None
    with atomic_path(directory / "plan.toml") as path:
        path.write_text(result.chosen.to_toml())
    files["plan"] = "plan.toml"
    write_csv(directory / "best_per_vdd.csv", result.table())
    files["best_per_vdd"] = "best_per_vdd.csv"
    write_csv(directory / "pareto.csv", rows_table(result.pareto))
    save_figure(directory / "pareto.png", pareto_figure(result))
    files["pareto"] = "pareto.csv"
    files["pareto_png"] = "pareto.png"
    if result.confirmation:
        write_csv(directory / "confirmation.csv", rows_table(result.confirmation))
        files["confirmation"] = "confirmation.csv"
    write_csv(directory / "sensitivity.csv", sensitivity_rows(result))
    files["sensitivity"] = "sensitivity.csv"
    return files


def run(args: argparse.Namespace) -> int:
    from experiments.results import plain
    from experiments.studies.optimize import optimize

    config = optimizer_config(args, vdd_text=args.vdd)
    result = optimize(config)
    directory = output_dir(args)
    write_optimizer_outputs(result, directory)
    write_json(
        directory / "config.json", {"command": "optimize", "config": plain(config), "chosen": plain(result.totals)}
    )
    emit(result.table(), args.format)
    if args.format == "table":
        from experiments.report import chosen_summary

        print()
        print(chosen_summary(result))
        if result.confirmation:
            print()
            emit(_confirmation_table(result), "table")
        print(f"plan: {published_path(args, directory / 'plan.toml')}")
    return 0


def _confirmation_table(result) -> Table:
    from experiments.report import rows_table

    return rows_table(result.confirmation)
