"""Analytic per-bit error probabilities against chain-level Monte Carlo, i.i.d. and in trace order.

Run: ``python benchmarks/analytic_vs_trace.py``. The analytic level assumes the
partial sum, the product and the previous MAC's operands are independent. This
script measures how far that is from (1) a chain-level Monte Carlo on 10^6 i.i.d.
pairs drawn from the same stream (the validation contract) and (2) the chain level on
the stream's own consecutive MACs (temporal correlation kept: in a weight-stationary
PE the weight never changes and the partial sum of one row is correlated with the
next). Registered compound-cell ripple-carry PE, 700 MHz, synthetic ``dnn`` stream.
"""

from __future__ import annotations

import numpy as np

from pe_models.analytic import adder_bit_error_probabilities, carry_statistics, needs_product_sign
from pe_models.chain import evaluate_chain
from pe_models.integers import bit_frequencies
from pe_models.operands import synthetic_stream
from pe_models.pe import OperatingPoint, PEConfig, stage_timing


def per_bit(flips: np.ndarray, width: int) -> np.ndarray:
    return bit_frequencies(flips, width)


def worst_relative(predicted: np.ndarray, measured: np.ndarray) -> float:
    frequent = measured >= 1e-3
    if not frequent.any():
        return float("nan")
    return float(np.max(np.abs(predicted[frequent] - measured[frequent]) / measured[frequent]))


def main() -> None:
    pe = PEConfig(cells="compound")
    stream = synthetic_stream("dnn", lanes=256, steps=4096, seed=3)
    nominal = stage_timing(pe, operating_point=OperatingPoint(vdd_v=0.9, f_clk_mhz=700.0))
    statistics = carry_statistics(stream, by_product_sign=needs_product_sign(pe, nominal))
    iid = stream.iid_pairs(1_000_000, np.random.SeedSequence(4))
    ordered = stream.consecutive_pairs()
    print(
        f"{'vdd_v':>5s} {'sum P analytic':>14s} {'sum P iid MC':>12s} {'sum P trace':>11s} "
        f"{'worst rel iid':>13s} {'worst rel trace':>15s}"
    )
    for vdd in (0.6, 0.575, 0.55, 0.525, 0.5):
        timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd, f_clk_mhz=700.0))
        predicted = adder_bit_error_probabilities(pe, timing, statistics)
        iid_measured = per_bit(evaluate_chain(pe, timing, **iid).flip_mask, pe.width)
        trace_measured = per_bit(evaluate_chain(pe, timing, **ordered).flip_mask, pe.width)
        print(
            f"{vdd:5.3f} {predicted.sum():14.3e} {iid_measured.sum():12.3e} {trace_measured.sum():11.3e} "
            f"{worst_relative(predicted, iid_measured):13.1%} {worst_relative(predicted, trace_measured):15.1%}"
        )


if __name__ == "__main__":
    main()
