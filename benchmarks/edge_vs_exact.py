"""The per-edge model of the array engines against the exact event kernel on ``ptm-32nm-hp-cells``.

Run: ``python benchmarks/edge_vs_exact.py [--vdd 0.65,0.6,0.55,0.5] [--macs 20000] [--images 100]``.
Default PE (compound-cell registered ripple-carry, 700 MHz). Below the supply where the
whole-operating-point screen holds, the array engines' rows take the per-edge model
(``CELLS_EDGE``, :func:`pe_models.chain.edge_table`); ``mac_parameters(..., exact=True)``
takes the exact event kernel. Two tables, model and exact kernel side by side:

* per-bit error probability of one PE's stream of consecutive MACs (synthetic ``dnn``
  operands, ``--macs`` MACs, ``registered_mac_stream``; a bit is wrong when it differs from
  the exact sum of the operands, so both columns include the same product-register errors):
  mean over the 32 bits, the largest absolute difference and its bit, and the fraction of
  MACs whose latched values are equal;
* ``tinymnv2`` on the first ``--images`` bundled MNIST test images, bit-level injection
  (every MAC in array order, no protection), one core: top-1 of each route, of the exact
  int8 pass, and the fraction of images where the two routes predict the same class.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import time  # noqa: E402
from collections import OrderedDict  # noqa: E402
from functools import partial  # noqa: E402

import numpy as np  # noqa: E402

import sim.engine  # noqa: E402
from pe_models.chain import evaluate_stream, mac_parameters  # noqa: E402
from pe_models.operands import synthetic_stream  # noqa: E402
from pe_models.pe import OperatingPoint, PEConfig, stage_timing  # noqa: E402

TECHNOLOGY = "ptm-32nm-hp-cells"
F_CLK_MHZ = 700.0
ROUTES = {"model": False, "exact": True}


def bit_probabilities(vdd_v: float, macs: int) -> dict[str, np.ndarray]:
    """Per-bit error probability and latched values of one PE's stream, per route."""
    pe = PEConfig(technology=TECHNOLOGY)
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd_v, f_clk_mhz=F_CLK_MHZ))
    stream = synthetic_stream("dnn", lanes=1, steps=macs, seed=5)
    a, b, c = (np.asarray(values).ravel()[:macs].astype(np.int64) for values in (stream.a, stream.b, stream.c))
    correct = (c + a * b) & 0xFFFFFFFF
    result = {}
    for route, exact in ROUTES.items():
        latched = evaluate_stream(pe, timing, a, b, c, exact=exact) & 0xFFFFFFFF
        wrong = (latched ^ correct)[:, None] >> np.arange(32) & 1
        result[route] = wrong.mean(axis=0)
        result[route + " latched"] = latched
    return result


def tinymnv2_top1(vdd_v: float, images: int) -> dict[str, np.ndarray]:
    """Predicted classes of the first `images` MNIST test images per route, and the labels."""
    from workloads.backends import ExactBackend, make_injection_backend
    from workloads.data import mnist_calibration_images, mnist_test_set
    from workloads.engine import quantize_model
    from workloads.models.tinymnv2 import load_tinymnv2

    pe = PEConfig(technology=TECHNOLOGY)
    model = quantize_model(load_tinymnv2(), mnist_calibration_images())
    test = mnist_test_set()
    predictions = {"labels": np.asarray(test.labels[:images])}
    original = sim.engine.mac_parameters
    for route, exact in ROUTES.items():
        sim.engine._PARAMETER_CACHE = OrderedDict()
        sim.engine.mac_parameters = partial(mac_parameters, exact=exact)
        try:
            backend = make_injection_backend(
                "bitlevel", vdd_v=vdd_v, protect_mask=0, seed=np.random.SeedSequence(0), pe=pe
            )
            start = time.process_time()
            codes = model.run(test.images[:images], backend, workers=1)
            predictions[route + " s"] = np.array(time.process_time() - start)
        finally:
            sim.engine.mac_parameters = original
            sim.engine._PARAMETER_CACHE = OrderedDict()
        predictions[route] = np.asarray(codes).reshape(images, -1).argmax(axis=1)
    codes = model.run(test.images[:images], ExactBackend(), workers=1)
    predictions["int8"] = np.asarray(codes).reshape(images, -1).argmax(axis=1)
    return predictions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vdd", default="0.65,0.6,0.55,0.5", help="supplies in V, comma-separated")
    parser.add_argument("--macs", type=int, default=20000, help="MACs of the per-bit stream (default: 20000)")
    parser.add_argument("--images", type=int, default=100, help="MNIST test images for top-1 (0: skip)")
    args = parser.parse_args()
    supplies = [float(v) for v in args.vdd.split(",")]
    print("| VDD (V) | mean P model | mean P exact | max abs diff (bit) | MACs equal |")
    print("|---|---|---|---|---|")
    for vdd in supplies:
        p = bit_probabilities(vdd, args.macs)
        diff = np.abs(p["model"] - p["exact"])
        equal = float(np.mean(p["model latched"] == p["exact latched"]))
        print(
            f"| {vdd} | {p['model'].mean():.4f} | {p['exact'].mean():.4f} | "
            f"{diff.max():.4f} ({int(diff.argmax())}) | {equal:.3f} |"
        )
    if args.images <= 0:
        return
    print()
    print("| VDD (V) | top-1 model | top-1 exact kernel | top-1 int8 | same class | CPU s model / exact |")
    print("|---|---|---|---|---|---|")
    for vdd in supplies:
        r = tinymnv2_top1(vdd, args.images)
        labels = r["labels"]
        print(
            f"| {vdd} | {np.mean(r['model'] == labels):.3f} | {np.mean(r['exact'] == labels):.3f} | "
            f"{np.mean(r['int8'] == labels):.3f} | {np.mean(r['model'] == r['exact']):.3f} | "
            f"{float(r['model s']):.1f} / {float(r['exact s']):.1f} |"
        )


if __name__ == "__main__":
    main()
