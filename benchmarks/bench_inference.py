"""Int8 inference speed of the engine with each GEMM backend (prints a table).

Run: ``python benchmarks/bench_inference.py [--imagenet] [--runs 5]``. Rows:

* ``tinymnv2`` on the 1000 shipped MNIST test images: float forward pass, int8 forward
  pass with the exact, statistical and bitlevel backends at 0.55 V / 700 MHz (a fresh
  backend per run, as for one voltage point of ``vscale accuracy``), calibration +
  quantisation (200 images);
* with ``--imagenet`` (needs the weights package and scikit-image): MobileNetV2 at
  224x224 on 12 photo views with the exact backend and 2 views with bitlevel.

Each figure is the median of ``--runs`` runs after one warm-up run (numba compiled).
Single-threaded BLAS is forced (``OMP_NUM_THREADS=1`` etc.) and every int8 pass runs
with ``workers=1``, so figures are per core (``benchmarks/bench_bitlevel.py`` measures
the worker pool).
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from workloads.backends import ExactBackend, make_injection_backend  # noqa: E402
from workloads.data import mnist_calibration_images, mnist_test_set  # noqa: E402
from workloads.engine import quantize_model  # noqa: E402
from workloads.graph import run_float  # noqa: E402
from workloads.models.tinymnv2 import load_tinymnv2  # noqa: E402


def median_seconds(function, runs: int) -> float:
    function()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--imagenet", action="store_true")
    args = parser.parse_args()

    rows = []
    graph = load_tinymnv2()
    test = mnist_test_set()
    calibration = mnist_calibration_images()
    model = quantize_model(graph, calibration)
    count = len(test.images)
    macs = model.macs_per_image

    def injected(name, images, quantized):
        backend = make_injection_backend(name, vdd_v=0.55, protect_mask=0, seed=np.random.SeedSequence(0))
        return quantized.run(images, backend, workers=1)

    for label, function in (
        ("float forward", lambda: run_float(graph, test.images)),
        ("int8 exact", lambda: model.run(test.images, ExactBackend(), workers=1)),
        ("int8 statistical", lambda: injected("statistical", test.images, model)),
        ("int8 bitlevel", lambda: injected("bitlevel", test.images, model)),
    ):
        seconds = median_seconds(function, args.runs)
        rows.append(("tinymnv2", label, count, seconds, count / seconds, macs * count / seconds / 1e9))
    seconds = median_seconds(lambda: quantize_model(graph, calibration), args.runs)
    rows.append(("tinymnv2", "calibrate+quantise", len(calibration), seconds, len(calibration) / seconds, float("nan")))

    if args.imagenet:
        from workloads.data import photo_views
        from workloads.models.imagenet import load_imagenet_mobilenetv2

        big = load_imagenet_mobilenetv2()
        views, _ = photo_views("calibration")
        images, _ = photo_views("evaluation", count=12)
        big_model = quantize_model(big, views[:16])
        big_macs = big_model.macs_per_image
        for label, function in (
            ("float forward", lambda: run_float(big, images)),
            ("int8 exact", lambda: big_model.run(images, ExactBackend(), workers=1)),
        ):
            seconds = median_seconds(function, max(1, args.runs // 2))
            rows.append(
                (
                    "mobilenetv2",
                    label,
                    len(images),
                    seconds,
                    len(images) / seconds,
                    big_macs * len(images) / seconds / 1e9,
                )
            )
        pair = images[:2]
        seconds = median_seconds(lambda: injected("bitlevel", pair, big_model), 1)
        rows.append(
            (
                "mobilenetv2",
                "int8 bitlevel",
                len(pair),
                seconds,
                len(pair) / seconds,
                big_macs * len(pair) / seconds / 1e9,
            )
        )

    header = ("model", "pass", "images", "seconds", "images/s", "GMAC/s")
    print("  ".join(f"{h:>18s}" for h in header))
    for row in rows:
        print(f"{row[0]:>18s}  {row[1]:>18s}  {row[2]:>18d}  {row[3]:>18.3f}  {row[4]:>18.1f}  {row[5]:>18.2f}")
    print(f"tinymnv2: {macs} MACs per image")


if __name__ == "__main__":
    main()
