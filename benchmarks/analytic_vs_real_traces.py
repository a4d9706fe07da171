"""Analytic (i.i.d.) per-bit error probabilities against the chain level on real layer traces.

Run: ``python benchmarks/analytic_vs_real_traces.py``. For several GEMM layers of the
bundled ``tinymnv2`` (100 MNIST test images, 256-row weight-stationary array, 64 PEs
x up to 4096 consecutive MACs each, as ``vscale trace`` records them), compares the
sum over bits of P(bit wrong) and the worst per-bit relative error (bits with
P >= 1e-3) of the analytic level against the chain level on (1) i.i.d. pairs drawn
from the trace (the analytic model's own assumption) and (2) the trace in its own
order. Registered compound-cell ripple-carry PE, 700 MHz.
"""

from __future__ import annotations

import numpy as np

from pe_models.analytic import adder_bit_error_probabilities, carry_statistics, needs_product_sign
from pe_models.chain import evaluate_chain
from pe_models.integers import bit_frequencies
from pe_models.operands import OperandStream
from pe_models.pe import OperatingPoint, PEConfig, stage_timing
from workloads.engine import quantize_model
from workloads.models.zoo import load_bundle
from workloads.trace import RecordingBackend, by_group, trace_from_gemms


def per_bit(flips: np.ndarray) -> np.ndarray:
    return bit_frequencies(flips, 32)


def worst(predicted: np.ndarray, measured: np.ndarray) -> str:
    frequent = measured >= 1e-3
    if not frequent.any():
        return "-"
    return f"{np.max(np.abs(predicted[frequent] - measured[frequent]) / measured[frequent]):.0%}"


def main() -> None:
    bundle = load_bundle("tinymnv2", images=100)
    model = quantize_model(bundle.graph, bundle.calibration_images)
    pe = PEConfig()
    print(
        f"{'layer':22s} {'vdd':>5s} {'sum P analytic':>14s} {'iid MC':>9s} {'trace':>9s} "
        f"{'worst iid':>9s} {'worst trace':>11s}"
    )
    for index in (0, 2, 5, 9, 16):
        shape = model.gemm_layers[index]
        recorder = RecordingBackend(shape.name)
        model.run(bundle.evaluation.images, recorder)
        gemms = by_group(recorder.gemms, shape.groups)
        steps = min(4096, gemms[0][0].shape[0])
        trace = trace_from_gemms(gemms, rows=256, lanes=64, steps=steps, seed=np.random.SeedSequence(index))
        stream = OperandStream(a=trace["a"], b=trace["b"], c=trace["c"], source=shape.name)
        nominal = stage_timing(pe, operating_point=OperatingPoint(vdd_v=0.9, f_clk_mhz=700.0))
        statistics = carry_statistics(stream, by_product_sign=needs_product_sign(pe, nominal))
        iid = stream.iid_pairs(1_000_000, np.random.SeedSequence(1))
        ordered = stream.consecutive_pairs()
        for vdd in (0.55, 0.5):
            timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd, f_clk_mhz=700.0))
            predicted = adder_bit_error_probabilities(pe, timing, statistics)
            iid_p = per_bit(evaluate_chain(pe, timing, **iid).flip_mask)
            trace_p = per_bit(evaluate_chain(pe, timing, **ordered).flip_mask)
            print(
                f"{shape.name:22s} {vdd:5.2f} {predicted.sum():14.3e} {iid_p.sum():9.3e} {trace_p.sum():9.3e} "
                f"{worst(predicted, iid_p):>9s} {worst(predicted, trace_p):>11s}"
            )


if __name__ == "__main__":
    main()
