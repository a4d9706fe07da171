"""``vscale accuracy``: int8 accuracy (or agreement with the float model) against VDD.

Runs :func:`experiments.studies.accuracy.accuracy` and writes ``accuracy.csv``,
``accuracy.png``, ``errors_per_bit.csv``, ``energy_layers.csv`` (per VDD and layer: utilisation
and energy per image) and ``config.json`` to ``--out``.
"""

from __future__ import annotations

import argparse

from experiments.options import add_output_options, config_from_args, output_dir
from experiments.output import progress, save_figure, write_csv
from experiments.pe_options import add_study_options
from experiments.studies.accuracy import AccuracyConfig, accuracy, plot_accuracy

from ._results import emit_result, write_config

__all__ = ["configure", "run"]

DEFINITIONS = (
    "Columns: top1_pct, top5_pct = images whose target is the int8 model's top-1 / among its top-5, in %; "
    "the target is the label (metric accuracy) or the float model's top-1 (metric agreement, unlabelled "
    "photos); float_top1_pct = the float model against the same targets; unprotected_errors = wrong "
    "accumulator bits latched at unprotected positions over all layers and images; detections = recovered "
    "MACs (bitlevel) or protected wrong bits (statistical); compute_cycles, correction_cycles = array cycles "
    "without and for corrections (bitlevel only); latency_overhead_pct = 100 x correction / compute cycles."
)


def configure(parser: argparse.ArgumentParser) -> None:
    """The options of ``vscale accuracy``."""
    parser.description = (
        "Quantise a model to int8 (calibrated on training images), run it at "
        "every supply voltage through an error-injecting GEMM backend, and report top-1/"
        "top-5 accuracy (labelled images) or agreement with the float model (unlabelled "
        "photos), with per-layer error counts per accumulator bit."
    )
    parser.epilog = DEFINITIONS
    add_study_options(parser, AccuracyConfig, metavar={"model": "NAME|FILE.onnx", "calibration_images": "DIR"})
    add_output_options(parser, "accuracy")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(AccuracyConfig, args)
    result = accuracy(config, progress=progress)
    out = output_dir(args)
    write_csv(out / "accuracy.csv", result.table())
    write_csv(out / "errors_per_bit.csv", result.errors_per_bit().table())
    write_csv(out / "energy_layers.csv", result.layer_table())
    save_figure(out / "accuracy.png", plot_accuracy(result))
    totals = result.totals
    write_config(
        out,
        "accuracy",
        result,
        **{key: value for key, value in totals.items() if key != "model"},
        image_source=args.images if args.images else "bundled",
        pe=config.pe_config().as_dict(),
        calibration={
            "method": config.calibration,
            "images": totals["calibration_count"],
            "source": totals["calibration_source"],
        },
        accumulator_bits=config.width,
    )
    emit_result(result, args.format)
    if args.format == "table":
        print(
            f"{totals['model']}: float top-1 {totals['float_top1_pct']:.2f} % ({totals['metric']}, "
            f"{totals['images']} images); results in {args.out}"
        )
    return 0
