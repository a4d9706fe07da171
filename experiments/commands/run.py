"""`vscale run`: the main study at the default operating point (steps 1 and 2)."""

from __future__ import annotations

import argparse

import numpy as np

from experiments.cli import add_output_options, output_dir
from experiments.output import Table, emit, save_figure, subplots, write_csv, write_json
from sim.protection import format_bit_mask

from .probs import add_step1_options, run_step1

__all__ = ["register"]

STEP2_COLUMNS = (
    "vdd_v",
    "protected_bits",
    "images",
    "top1_pct",
    "accuracy_loss_pct",
    "unprotected_errors",
    "detections",
    "latency_overhead_pct",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="the main study: per-bit error probability vs VDD (step 1), then accuracy vs VDD of the "
        "bundled model with and without protection (step 2)",
        description="Step 1 at the default operating point: a 256x256 weight-stationary array of int8 PEs "
        "(compound-cell ripple-carry accumulator, registered product), 700 MHz, VDD 0.9 V to 0.5 V in 50 mV "
        "steps, operands of a weight-stationary column of 256 rows: per-bit error probabilities. Step 2: the "
        "bundled int8 MobileNetV2-style MNIST model (tinymnv2) with every MAC through the chain-level PE in "
        "array order (bitlevel injection), unprotected and with the bits step 1 finds failing protected "
        "(or --protect). Prints both tables; writes CSV, plots and the config to --out.",
    )
    add_step1_options(parser)
    parser.add_argument(
        "--images", type=int, default=1000, metavar="N", help="MNIST test images for step 2, 1..1000 (default: 1000)"
    )
    parser.add_argument(
        "--protect",
        default="auto",
        metavar="auto|none|HIGH:LOW",
        help="protected accumulator bits in step 2: auto (every bit with a non-zero error "
        "probability at the lowest VDD of step 1), none, or ranges such as 31:20 (default: auto)",
    )
    parser.add_argument("--skip-step2", action="store_true", help="run step 1 only")
    add_output_options(parser, "run")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from experiments.step1 import summary_table
    from pe_models.errors import ConfigError

    from .accuracy import accuracy_points, injection_options, parse_protect, prepare_model

    if not 1 <= args.images <= 1000:
        raise ConfigError(f"--images: expected 1..1000 MNIST test images, got {args.images}")
    chosen_mask = None if args.protect == "auto" else parse_protect(args.protect)
    result = run_step1(args, "run")
    emit(summary_table(result) if args.format == "table" else result.long_table(), args.format)
    if args.skip_step2:
        return 0
    from workloads.engine import CalibrationConfig

    if chosen_mask is None:
        failing = np.nonzero(result.adder[int(np.argmin(result.vdd_v))] > 0)[0]
        protect_mask = sum(1 << int(bit) for bit in failing)
    else:
        protect_mask = chosen_mask
    vdds = [float(v) for v in result.vdd_v]
    options = injection_options("bitlevel", vdds, f_clk_mhz=args.f_clk_mhz, array="256x256", penalty=1)
    prepared = prepare_model(
        "tinymnv2", images=args.images, labels=None, seed=args.seed, calibration=CalibrationConfig()
    )
    rows = []
    curves = {}
    for mask in dict.fromkeys((0, protect_mask)):
        points, _ = accuracy_points(
            prepared,
            injection="bitlevel",
            vdds=vdds,
            protect_mask=mask,
            seed=args.seed,
            options=options,
            label=f"step 2, protected {format_bit_mask(mask)}",
        )
        exact_top1 = points[0][4] if vdds[0] == max(vdds) else None
        curves[format_bit_mask(mask)] = [point[4] for point in points]
        for point in points:
            rows.append(
                [
                    point[0],
                    format_bit_mask(mask),
                    point[3],
                    point[4],
                    "" if exact_top1 is None else exact_top1 - point[4],
                    point[7],
                    point[8],
                    point[11],
                ]
            )
    table = Table(columns=STEP2_COLUMNS, rows=rows)
    directory = output_dir(args)
    write_csv(directory / "accuracy.csv", table)
    save_figure(directory / "accuracy.png", _figure(vdds, curves, prepared.float_accuracy, args.images))
    write_json(
        directory / "config_step2.json",
        {
            "command": "run",
            "step": 2,
            "model": "tinymnv2",
            "images": args.images,
            "injection": "bitlevel",
            "vdd_v": vdds,
            "f_clk_mhz": args.f_clk_mhz,
            "array": "256x256 ws",
            "penalty_cycles": 1,
            "stall": "global",
            "protect": args.protect,
            "protected_bits": format_bit_mask(protect_mask),
            "seed": args.seed,
            "float_top1_pct": prepared.float_accuracy,
        },
    )
    if args.format == "table":
        print()
        print(
            f"step 2: tinymnv2 int8 on {args.images} MNIST test images, bitlevel injection "
            f"(float top-1 {prepared.float_accuracy:.2f} %); accuracy loss against the first VDD"
        )
    emit(table, args.format)
    return 0


def _figure(vdds, curves, float_accuracy, images):

    figure, axes = subplots(figsize=(6, 4))
    for label, values in curves.items():
        axes.plot(vdds, values, "o-", label=f"int8, protected {label}")
    axes.axhline(float_accuracy, color="grey", linestyle=":", label="float")
    axes.set_xlabel("VDD (V)")
    axes.set_ylabel("top-1 accuracy (%)")
    axes.set_title(f"tinymnv2 on {images} MNIST test images, 700 MHz, bitlevel")
    axes.set_ylim(0, 101)
    axes.invert_xaxis()
    axes.grid(True, alpha=0.3)
    axes.legend()
    return figure
