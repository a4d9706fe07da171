"""Analytic level against chain-level Monte Carlo on a characterised cell library (issue 23).

Run: ``python benchmarks/analytic_vs_chain_cells.py [--technology ptm-32nm-hp-cells]
[--samples 200000] [--stream dnn|uniform]``. For both cell libraries and every VDD of the
default sweep (0.9 -> 0.5 V) plus 0.675 and 0.625 V, at 700 MHz: the analytic per-bit error
probabilities of the registered ripple-carry adder (:mod:`pe_models.analytic`, the per-edge
trace-back model) beside the chain level's exact kernel on i.i.d. pairs drawn from the same
stream (the analytic level's operand model), per row: mean over bits of each, the largest
absolute difference over bits (and its bit), and the largest relative difference over bits
whose Monte Carlo probability is at least 1e-3.
"""

from __future__ import annotations

import argparse

import numpy as np

from pe_models.analytic import adder_bit_error_probabilities, carry_statistics
from pe_models.chain import evaluate_chain
from pe_models.operands import synthetic_stream
from pe_models.pe import OperatingPoint, PEConfig, stage_timing

VDDS = (0.9, 0.85, 0.8, 0.75, 0.7, 0.675, 0.65, 0.625, 0.6, 0.55, 0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--technology", default="ptm-32nm-hp-cells")
    parser.add_argument("--samples", type=int, default=200_000)
    parser.add_argument("--stream", default="dnn", choices=("dnn", "uniform"))
    args = parser.parse_args()
    stream = synthetic_stream(args.stream, lanes=32, steps=1024, seed=7)
    statistics = carry_statistics(stream, by_product_sign=True)
    pairs = stream.iid_pairs(args.samples, seed=np.random.SeedSequence(11))
    header = ("cells", "vdd_v", "mean P analytic", "mean P MC", "max abs diff", "bit", "max rel diff")
    print(" ".join(header))
    for cells in ("compound", "2in"):
        pe = PEConfig(cells=cells, technology=args.technology)
        for vdd in VDDS:
            timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd, f_clk_mhz=700.0))
            predicted = adder_bit_error_probabilities(pe, timing, statistics)
            flips = evaluate_chain(pe, timing, **pairs).flip_mask
            measured = ((flips[:, None] >> np.arange(pe.width)) & 1).mean(axis=0)
            difference = np.abs(predicted - measured)
            frequent = measured >= 1e-3
            relative = float((difference[frequent] / measured[frequent]).max()) if frequent.any() else float("nan")
            print(
                f"{cells:8s} {vdd:5.3f} {predicted.mean():15.4f} {measured.mean():9.4f} {difference.max():12.4f} "
                f"{int(difference.argmax()):3d} {relative:12.1%}"
            )


if __name__ == "__main__":
    main()
