"""Float and int8 top-1 of a model on a labelled image folder, paired, with a 95 % interval of the loss.

Run: ``python benchmarks/quant_accuracy.py --images DIR --labels FILE [--model mobilenetv2]
[--calibration mse|percentile|entropy] [--calibration-images DIR] [--split-csv FILE]``.

The model is calibrated as ``vscale accuracy`` calibrates it (:func:`workloads.models.zoo.load_bundle`:
without ``--calibration-images`` a seeded fifth of the folder is held out for calibration
and never evaluated) and run with the exact backend on the remaining images. Printed: the
calibration source, float and int8 top-1 on the same images, the paired table (images
both get right, lost, gained, both wrong), the loss ``float - int8`` with Tango's score
interval and Newcombe's hybrid score interval (95 %, paired), Tango's non-inferiority
p-value against a 1-point budget (:mod:`experiments.stats`), the top-1 agreement of int8
with float and the logits' signal-to-quantisation-noise ratio. ``--split-csv FILE`` writes
``file,role`` lines (``calibration`` or ``evaluation``): exactly which images calibrated
and which were evaluated.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from experiments.stats import PairedCounts, loss_interval, noninferiority_test
from workloads.backends import ExactBackend
from workloads.engine import CalibrationConfig, quantize_model
from workloads.graph import run_float
from workloads.models.zoo import load_bundle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", required=True, metavar="DIR")
    parser.add_argument("--labels", required=True, metavar="FILE")
    parser.add_argument("--model", default="mobilenetv2")
    parser.add_argument("--calibration", default=CalibrationConfig().method)
    parser.add_argument("--calibration-images", default=None, metavar="DIR")
    parser.add_argument("--budget-pct", type=float, default=1.0)
    parser.add_argument("--split-csv", default=None, metavar="FILE")
    args = parser.parse_args()
    start = time.perf_counter()
    bundle = load_bundle(args.model, images=args.images, labels=args.labels, calibration_images=args.calibration_images)
    model = quantize_model(
        bundle.graph, bundle.calibration_images, calibration=CalibrationConfig(method=args.calibration)
    )
    images, labels = bundle.evaluation.images, bundle.evaluation.labels
    step = model.default_batch_size()
    reference = np.concatenate([run_float(bundle.graph, images[i : i + step]) for i in range(0, len(images), step)])
    logits = model.logits(images, ExactBackend())
    float_hits, int8_hits = reference.argmax(axis=1) == labels, logits.argmax(axis=1) == labels
    counts = PairedCounts.from_hits(float_hits, int8_hits)
    tango = loss_interval(counts, method="tango")
    newcombe = loss_interval(counts, method="newcombe")
    test = noninferiority_test(counts, margin_pct=args.budget_pct)
    if args.split_csv is not None:
        with open(args.split_csv, "w", encoding="utf-8") as split:
            split.write("file,role\n")
            split.writelines(f"{name},calibration\n" for name in bundle.calibration_names)
            split.writelines(f"{name},evaluation\n" for name in bundle.evaluation.names)
    noise = np.sum((logits - reference) ** 2)
    print(f"calibration: {bundle.calibration_source}, method {args.calibration}")
    print(f"evaluated images: {len(images)}")
    print(f"float top-1: {100 * float_hits.mean():.2f} %   int8 top-1: {100 * int8_hits.mean():.2f} %")
    print(
        f"paired: both right {counts.both_right}, lost {counts.lost}, gained {counts.gained}, "
        f"both wrong {counts.both_wrong}"
    )
    for interval in (tango, newcombe):
        print(
            f"loss (float - int8): {interval.loss_pct:+.2f} points, 95 % {interval.name} interval "
            f"[{interval.low_pct:+.2f}, {interval.high_pct:+.2f}]"
        )
    print(f"non-inferiority (H0: loss >= {args.budget_pct:g} point): p = {test.p_value:.3g}, z = {test.z:.2f}")
    print(f"top-1 agreement int8 / float: {100 * np.mean(logits.argmax(1) == reference.argmax(1)):.2f} %")
    print(f"logit SQNR: {10 * np.log10(np.sum(reference.astype(np.float64) ** 2) / noise):.2f} dB")
    print(f"wall time: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
