"""`vscale run`: the whole methodology at one operating point, with ``report.md``.

Step 1: per-bit error probability against VDD. Step 2: the model with bit-level injection,
unprotected and with step 1's failing bits protected. Step 3: the optimizer, then energy,
latency and accuracy of the best plan at every VDD (and of the chosen plan), all measured
with bit-level injection against the int8 model at nominal VDD. ``--paper``: the seed
paper's configuration (MobileNetV2, ImageNet weights).
"""

from __future__ import annotations

import argparse
import time

from experiments.cli import add_output_options, output_dir, published_path
from experiments.output import Table, emit, progress, save_figure, write_csv, write_json
from pe_models.errors import ConfigError

from .optimize import add_optimizer_options, optimizer_config, write_optimizer_outputs
from .probs import add_step1_options, run_step1

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="the whole study: per-bit error probability (step 1), accuracy with and without protection "
        "(step 2), the protection and voltage optimizer with energy and latency (step 3), and report.md",
        description="Step 1: per-bit error probabilities of the accumulator against VDD. Step 2: the model "
        "with every MAC through the chain-level PE in array order (bitlevel injection), unprotected and with "
        "the bits step 1 finds failing protected (or --protect). Step 3: the optimizer (vscale optimize) "
        "picks VDD, protected bits per layer and recovery policy; the best plan at every VDD and the chosen "
        "one are measured (accuracy with a 95 %% interval against the int8 model at nominal VDD, latency "
        "overhead, energy with its breakdown and band). Writes every CSV and figure and report.md to --out. "
        "--paper: the seed paper's configuration (MobileNetV2 ImageNet weights, 256x256, 700 MHz).",
    )
    add_step1_options(parser)
    parser.add_argument(
        "--images", default=None, metavar="N|DIR", help="evaluation images (default: 500; --paper: 8 photo views)"
    )
    parser.add_argument("--labels", default=None, metavar="FILE", help="labels of an --images folder")
    parser.add_argument("--array", default="256x256", metavar="ROWSxCOLS", help="array (default: 256x256)")
    parser.add_argument(
        "--protect",
        default="auto",
        metavar="auto|none|HIGH:LOW",
        help="protected accumulator bits in step 2: auto (every bit with a non-zero error "
        "probability at the lowest VDD of step 1), none, or ranges such as 31:20 (default: auto)",
    )
    parser.add_argument(
        "--plan",
        default=None,
        metavar="FILE.toml",
        help="protection plan for step 2 instead of --protect (per-layer bits, recovery; e.g. a plan.toml "
        "written by vscale optimize)",
    )
    parser.add_argument("--skip-step2", action="store_true", help="run step 1 only")
    parser.add_argument(
        "--paper",
        action="store_true",
        help="the seed paper's configuration: mobilenetv2 (ImageNet weights), 256x256, 700 MHz, 0.9 -> 0.5 V",
    )
    add_optimizer_options(parser)
    add_output_options(parser, "run")
    parser.set_defaults(handler=run, model="tinymnv2")


def _validate(args: argparse.Namespace):
    """Every option checked before anything is computed or written."""
    from experiments.commands.accuracy import parse_images, parse_protect
    from experiments.pe_options import parse_vdd_range, pe_config
    from pe_models.pe import OperatingPoint, stage_timing

    if args.paper:
        args.model = "mobilenetv2"
        if args.images is None:
            args.images = "8"
    pe = pe_config(args)
    vdds = parse_vdd_range(args.vdd)
    for vdd in vdds:
        stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd, f_clk_mhz=args.f_clk_mhz))
    images = parse_images(args.images or "500")
    if isinstance(images, int) and args.model == "tinymnv2" and images > 1000:
        raise ConfigError(f"--images: expected 1..1000 MNIST test images, got {images}")
    mask = None if args.protect == "auto" else parse_protect(args.protect, pe.width)
    plan = None
    if args.plan is not None:
        from experiments.plans import load_plan

        plan = load_plan(args.plan, width=pe.width)
        if plan.model is not None and plan.model != args.model:
            raise ConfigError(
                f"plan.model: the plan is for model {plan.model!r}, not {args.model!r}; allowed: {args.model!r}"
            )
    vdd_text = f"{max(vdds):.2f}:{min(vdds):.2f}"
    config = optimizer_config(
        args, vdd_text=vdd_text, images=images if isinstance(images, int) else 1, confirm=False, neighbours=0
    )
    return pe, vdds, images, mask, config, plan


def run(args: argparse.Namespace) -> int:
    from experiments.commands.accuracy import prepare_model
    from experiments.report import write_run_report
    from experiments.step1 import summary_table
    from experiments.studies.optimize import (
        measure_plans,
        optimize,
        plan_from_file,
        uniform_plan,
        unprotected_plan,
    )
    from workloads.engine import CalibrationConfig

    started = time.monotonic()
    pe, vdds, images, chosen_mask, config, plan_file = _validate(args)
    step1 = run_step1(args, "run")
    if args.format == "table":
        print(
            f"step 1: per-bit error probability of the {pe.width}-bit accumulator vs VDD "
            f"({args.level} level, {args.operands} operands, {args.f_clk_mhz:g} MHz)"
        )
    emit(summary_table(step1) if args.format == "table" else step1.long_table(), args.format)
    if args.skip_step2:
        return 0
    if chosen_mask is None:
        import numpy as np

        failing = np.nonzero(step1.adder[int(np.argmin(step1.vdd_v))] > 0)[0]
        chosen_mask = sum(1 << int(bit) for bit in failing)
    prepared = prepare_model(
        args.model,
        images=images,
        labels=args.labels,
        seed=args.seed,
        calibration=CalibrationConfig(),
    )
    if plan_file is not None:
        plan_file.check_layers([shape.name for shape in prepared.model.gemm_layers], model=args.model)
    result = optimize(config, prepared=prepared)
    layers = tuple(p.name for p in result.profiles)
    plans = []
    for vdd in vdds:
        plans.append(("step 2: unprotected", unprotected_plan(vdd, layers)))
    if plan_file is not None:
        for vdd in vdds:
            plans.append((f"step 2: {args.plan}", plan_from_file(plan_file, vdd, layers, pe.width)))
    elif chosen_mask:
        for vdd in vdds:
            plans.append(("step 2: step-1 bits protected", uniform_plan(vdd, layers, chosen_mask, "global", pe.width)))
    for vdd in vdds:
        if vdd in result.plans:
            plans.append(("step 3: best plan", result.plans[vdd]))
    chosen = result.chosen_plan
    if chosen.vdd_v not in vdds:
        plans.append(("step 3: best plan", chosen))
    rows = measure_plans(
        prepared,
        config,
        result.profiles,
        plans,
        table=result.sensitivity,
        progress=lambda items: progress(items, label="steps 2-3"),
    )
    directory = output_dir(args)
    from experiments.output import atomic_path
    from experiments.report import accuracy_figure, energy_figure, rows_table
    from experiments.studies.optimize import Candidate

    measured = rows_table(rows)
    write_csv(directory / "accuracy.csv", measured)
    files = write_optimizer_outputs(result, directory)
    confirmed, confidence = _confirmed(rows, plans, config)
    row, plan = confirmed
    candidate = Candidate(
        vdd_v=plan.vdd_v,
        recovery=plan.recovery,
        penalty_cycles=config.penalty_cycles,
        layers=layers,
        first_bits=plan.first_bits,
        model=config.model,
        width=pe.width,
    )
    with atomic_path(directory / "plan.toml") as target:
        target.write_text(candidate.to_toml())
    if (plan.vdd_v, plan.recovery, plan.first_bits) != (chosen.vdd_v, chosen.recovery, chosen.first_bits):
        with atomic_path(directory / "plan_screen.toml") as target:
            assert result.chosen is not None
            target.write_text(result.chosen.to_toml())
        files["plan_screen"] = "plan_screen.toml"
    save_figure(directory / "accuracy.png", accuracy_figure(rows, config, prepared))
    save_figure(directory / "energy.png", energy_figure(rows, config))
    elapsed = time.monotonic() - started
    run_config = {
        "command": "run",
        "paper": args.paper,
        "model": args.model,
        "weights": prepared.bundle.source,
        "metric": prepared.bundle.metric,
        "images": len(prepared.images),
        "pe": pe.as_dict(),
        "technology": pe.tech.name,
        "technology_source": pe.tech.description,
        "array": f"{config.rows}x{config.cols} ws",
        "f_clk_mhz": config.f_clk_mhz,
        "vdd_v": vdds,
        "protect_step2": args.protect,
        "budgets": {
            "max_accuracy_loss_pct": config.max_accuracy_loss_pct,
            "max_latency_overhead_pct": config.max_latency_overhead_pct,
            "max_razor_flops": config.max_razor_flops,
        },
        "recoveries": list(config.recoveries),
        "penalty_cycles": config.penalty_cycles,
        "seed": args.seed,
        "elapsed_s": round(elapsed, 1),
    }
    write_json(directory / "config.json", run_config)
    write_run_report(
        directory / "report.md",
        config=config,
        run_config=run_config,
        step1=step1,
        rows=rows,
        result=result,
        prepared=prepared,
        files=files,
        confirmed=row,
        confidence=confidence,
    )
    if args.format == "table":
        print()
        print(
            f"steps 2-3: {args.model} on {len(prepared.images)} images, bitlevel injection, {prepared.bundle.metric} "
            "against the int8 model at nominal VDD (paired)"
        )
    emit(Table(columns=_SHOWN, rows=[[getattr(r, c) for c in _SHOWN] for r in rows]), args.format)
    if args.format == "table":
        print(f"report: {published_path(args, directory / 'report.md')}")
    return 0


def _confirmed(rows, plans, config):
    """The measured step-3 plan of least energy within both budgets: with the upper 95 % bound of
    the loss inside the accuracy budget when one is ("confident"), else on the point estimate."""
    step3 = [(row, plan) for row, (label, plan) in zip(rows, plans, strict=True) if label.startswith("step 3")]
    latency_ok = [pair for pair in step3 if pair[0].latency_overhead_pct <= config.max_latency_overhead_pct]
    confident = [pair for pair in latency_ok if pair[0].loss_ci_high_pct <= config.max_accuracy_loss_pct]
    if confident:
        return min(confident, key=lambda pair: pair[0].energy_uj), "confident"
    point = [pair for pair in latency_ok if pair[0].accuracy_loss_pct <= config.max_accuracy_loss_pct]
    if point:
        return min(point, key=lambda pair: pair[0].energy_uj), "point estimate"
    return min(step3, key=lambda pair: pair[0].vdd_v * 0 - pair[0].vdd_v), "none (nominal)"


_SHOWN = (
    "label",
    "vdd_v",
    "recovery",
    "protected_bits",
    "top1_pct",
    "accuracy_loss_pct",
    "loss_ci_high_pct",
    "latency_overhead_pct",
    "energy_uj",
    "saving_pct",
)
