"""Float and int8 top-1 of a model on a labelled image folder, paired, with a 95 % interval of the loss.

Run: ``python benchmarks/quant_accuracy.py --images DIR --labels FILE [--model mobilenetv2]
[--calibration mse|percentile|entropy] [--calibration-images DIR] [--split-csv FILE] [--folds]``.

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

``--folds`` (a cross-check of the default split, MobileNetV2-style models): the folder's
images in the order of the held-out permutation (:func:`workloads.calibration.held_out_indices`:
names sorted, ``permutation(N)`` seeded with ``HELD_OUT_SEED``) cut into five folds (fold
0 is the default calibration set); the model calibrated on fold k evaluates fold k + 1
(mod 5), so every image is evaluated once, by a model that never saw it.
"""

from __future__ import annotations

import argparse
import functools
import time

import numpy as np

from experiments.stats import PairedCounts, loss_interval, noninferiority_test
from workloads.backends import ExactBackend
from workloads.calibration import HELD_OUT_SEED
from workloads.data import imagenet_preprocess, load_image_folder
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
    parser.add_argument("--folds", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    if args.folds:
        _folds(args)
        print(f"wall time: {time.perf_counter() - start:.0f} s")
        return
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
    if args.split_csv is not None:
        with open(args.split_csv, "w", encoding="utf-8") as split:
            split.write("file,role\n")
            split.writelines(f"{name},calibration\n" for name in bundle.calibration_names)
            split.writelines(f"{name},evaluation\n" for name in bundle.evaluation.names)
    noise = np.sum((logits - reference) ** 2)
    print(f"calibration: {bundle.calibration_source}, method {args.calibration}")
    print(f"evaluated images: {len(images)}")
    print(f"float top-1: {100 * float_hits.mean():.2f} %   int8 top-1: {100 * int8_hits.mean():.2f} %")
    _print_paired(counts, args.budget_pct)
    print(f"top-1 agreement int8 / float: {100 * np.mean(logits.argmax(1) == reference.argmax(1)):.2f} %")
    print(f"logit SQNR: {10 * np.log10(np.sum(reference.astype(np.float64) ** 2) / noise):.2f} dB")
    print(f"wall time: {time.perf_counter() - start:.0f} s")


def _folds(args: argparse.Namespace, count: int = 5) -> None:
    bundle = load_bundle(args.model, images=args.images, labels=args.labels)
    graph = bundle.graph
    _, height, _ = graph.input_shape
    preprocess = functools.partial(imagenet_preprocess, size=height, resize=round(height * 256 / 224))
    every = load_image_folder(args.images, args.labels, preprocess=preprocess, num_classes=1000)
    total = len(every.images)
    order = np.argsort(np.asarray(every.names), kind="stable")
    permuted = order[np.random.default_rng(np.random.SeedSequence(HELD_OUT_SEED)).permutation(total)]
    folds = np.array_split(permuted, count)
    labels = np.asarray(every.labels)
    float_hits, int8_hits = np.zeros(total, bool), np.zeros(total, bool)
    for k in range(count):
        calibrate, evaluate = folds[k], folds[(k + 1) % count]
        model = quantize_model(graph, every.images[calibrate], calibration=CalibrationConfig(method=args.calibration))
        reference = run_float(graph, every.images[evaluate])
        logits = model.logits(every.images[evaluate], ExactBackend())
        float_hits[evaluate] = reference.argmax(axis=1) == labels[evaluate]
        int8_hits[evaluate] = logits.argmax(axis=1) == labels[evaluate]
        print(
            f"fold {k} calibrates ({len(calibrate)} images), fold {(k + 1) % count} evaluated: "
            f"float {100 * float_hits[evaluate].mean():.2f} %, int8 {100 * int8_hits[evaluate].mean():.2f} %"
        )
    counts = PairedCounts.from_hits(float_hits, int8_hits)
    print(
        f"all {total} images: float top-1 {100 * float_hits.mean():.2f} %   int8 top-1 {100 * int8_hits.mean():.2f} %"
    )
    _print_paired(counts, args.budget_pct)


def _print_paired(counts: PairedCounts, budget_pct: float) -> None:
    print(
        f"paired: both right {counts.both_right}, lost {counts.lost}, gained {counts.gained}, "
        f"both wrong {counts.both_wrong}"
    )
    for method in ("tango", "newcombe"):
        interval = loss_interval(counts, method=method)
        print(
            f"loss (float - int8): {interval.loss_pct:+.2f} points, 95 % {interval.name} interval "
            f"[{interval.low_pct:+.2f}, {interval.high_pct:+.2f}]"
        )
    test = noninferiority_test(counts, margin_pct=budget_pct)
    print(f"non-inferiority (H0: loss >= {budget_pct:g} point): p = {test.p_value:.3g}, z = {test.z:.2f}")


if __name__ == "__main__":
    main()
