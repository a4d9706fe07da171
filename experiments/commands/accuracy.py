"""``vscale accuracy``: int8 accuracy (or agreement with the float model) against VDD.

Runs :func:`experiments.studies.accuracy.accuracy` and writes ``accuracy.csv``,
``accuracy.png``, ``errors_per_bit.csv`` and ``config.json`` to ``--out``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from experiments.options import add_output_options, config_from_args, output_dir
from experiments.output import progress, save_figure, write_csv
from experiments.pe_options import add_pe_options, add_razor_window_option, add_setup_option, add_sweep_options
from experiments.studies.accuracy import AccuracyConfig, accuracy, plot_accuracy
from pe_models.errors import ConfigError
from sim.protection import RECOVERY_POLICIES, parse_bit_mask
from workloads.backends import INJECTIONS
from workloads.models.zoo import MODEL_NAMES
from workloads.quant import CALIBRATION_METHODS

from ._energy_options import add_energy_options, energy_values
from ._results import emit_result, study_handler, write_config

__all__ = ["configure", "parse_images", "parse_protect", "run"]

ACCUMULATOR_BITS = 32

DEFINITIONS = (
    "Columns: top1_pct, top5_pct = images whose target is the int8 model's top-1 / among its top-5, in %; "
    "the target is the label (metric accuracy) or the float model's top-1 (metric agreement, unlabelled "
    "photos); float_top1_pct = the float model against the same targets; unprotected_errors = wrong "
    "accumulator bits latched at unprotected positions over all layers and images; detections = recovered "
    "MACs (bitlevel) or protected wrong bits (statistical); compute_cycles, correction_cycles = array cycles "
    "without and for corrections (bitlevel only); latency_overhead_pct = 100 x correction / compute cycles."
)


def parse_protect(text: str | None, bits: int = ACCUMULATOR_BITS) -> int:
    """Protected accumulator bits as a mask: ``31:20`` (a range), ``31,5``, ``none`` (or None)."""
    return parse_bit_mask(text or "none", width=bits)


def parse_images(text: str | None) -> int | Path | None:
    """``--images``: a positive count or an existing directory."""
    if text is None:
        return None
    if text.isdigit():
        if int(text) < 1:
            raise ConfigError(f"--images: {text} must be >= 1")
        return int(text)
    path = Path(text)
    if not path.is_dir():
        raise ConfigError(f"--images: {text!r} is neither a number of images nor a directory")
    return path


def configure(parser: argparse.ArgumentParser) -> None:
    """The options of ``vscale accuracy``."""
    parser.description = (
        "Quantise a model to int8 (calibrated on training images), run it at "
        "every supply voltage through an error-injecting GEMM backend, and report top-1/"
        "top-5 accuracy (labelled images) or agreement with the float model (unlabelled "
        "photos), with per-layer error counts per accumulator bit."
    )
    parser.epilog = DEFINITIONS
    parser.add_argument(
        "--model",
        default="tinymnv2",
        metavar="NAME|FILE.onnx",
        help=f"{' or '.join(MODEL_NAMES)} or a float ONNX file (default: tinymnv2)",
    )
    parser.add_argument(
        "--injection",
        default="exact",
        metavar="|".join(INJECTIONS),
        help="how timing errors enter the GEMMs: exact (none), statistical (analytic "
        "per-bit probabilities), bitlevel (every MAC through the chain model) "
        "(default: exact)",
    )
    parser.add_argument(
        "--images",
        metavar="N|DIR",
        help="number of evaluation images, >= 1 (default: all 1000 MNIST test images for "
        "tinymnv2, 50 photo views for ImageNet models) or a folder of images (needs "
        "--labels)",
    )
    parser.add_argument(
        "--labels",
        metavar="FILE",
        help="labels of the --images folder: one 'FILE LABEL' per line (class index)",
    )
    parser.add_argument(
        "--protect",
        default="none",
        metavar="HIGH:LOW",
        help="accumulator bits protected by error detection and correction, e.g. 31:20 "
        "(bits 20..31), or 'none' (default: none)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed, >= 0 (default: 0)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="worker processes, >= 1, sharing the (voltage point, image batch) tasks; results do not depend "
        "on it (default: all cores, or the VSCALE_WORKERS environment variable)",
    )
    parser.add_argument(
        "--array",
        default="256x256",
        metavar="ROWSxCOLS",
        help="weight-stationary array for bitlevel injection (and the column depth of "
        "statistical), rows x columns of PEs, each >= 1 (default: 256x256)",
    )
    parser.add_argument(
        "--penalty",
        type=int,
        default=1,
        metavar="CYCLES",
        help="cycles one recovery costs, >= 0, bitlevel (default: 1)",
    )
    parser.add_argument(
        "--recovery",
        choices=RECOVERY_POLICIES,
        default="global",
        help="recovery of a detection, bitlevel: the whole array stalls (global), the PE's column (column), "
        "the PE replays (local) or the MAC is dropped (drop) (default: global)",
    )
    add_razor_window_option(parser, default_help="bitlevel (default: half the clock period)")
    parser.add_argument(
        "--plan",
        metavar="FILE.toml",
        default=None,
        help="per-layer protection plan replacing --protect, --recovery, --penalty and --razor-window-ps, "
        "bitlevel (see docs/array_simulation.md)",
    )
    parser.add_argument(
        "--calibration",
        default="percentile",
        metavar="|".join(CALIBRATION_METHODS),
        help="activation calibration: percentile (99.99th percentile of |x|), mse (threshold minimising the "
        "quantisation MSE) or entropy (threshold minimising the KL divergence, TensorRT; clips ReLU6 outputs "
        "badly) (default: percentile)",
    )
    parser.add_argument(
        "--calibration-images",
        metavar="DIR",
        default=None,
        help="folder of calibration images (no labels), disjoint from the evaluation images (default: the "
        "shipped calibration images for tinymnv2; for ImageNet models a held-out 20 %% of the --images "
        "folder, or scikit-image's photos with a warning)",
    )
    add_sweep_options(parser)
    add_setup_option(parser, sweep=True)
    add_energy_options(parser)
    add_pe_options(parser)
    add_output_options(parser, "accuracy")
    parser.set_defaults(handler=study_handler(run, AccuracyConfig), config_type=AccuracyConfig)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(AccuracyConfig, args, images=parse_images(args.images), **energy_values(args))
    result = accuracy(config, progress=progress)
    out = output_dir(args)
    write_csv(out / "accuracy.csv", result.table())
    write_csv(out / "errors_per_bit.csv", result.errors_per_bit().table())
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
