"""Chain-level MAC evaluations per second on one core, beside a plain numba MAC loop.

Run: ``python benchmarks/bench_chain.py``. Registered pipeline, compound-cell
ripple-carry adder at 0.5 V / 700 MHz (errors occur), random int8 operands and the
synthetic DNN partial-sum stream; median of 5 runs of 4 M MACs each. Also times the
gate level (exact event-driven, pure Python) on 2000 MACs.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from pe_models import _kernels
from pe_models.chain import evaluate_adder_stage
from pe_models.gate import simulate_gate
from pe_models.operands import synthetic_stream
from pe_models.pe import OperatingPoint, PEConfig, stage_timing

N = 4_000_000
RUNS = 5


def median_seconds(function) -> float:
    function()
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    rng = np.random.default_rng(np.random.SeedSequence(1))
    stream = synthetic_stream("dnn", lanes=64, steps=N // 64 + 1, seed=2)
    partial = stream.c.ravel()[:N]
    a, b = rng.integers(-128, 128, (2, N))
    product = a * b
    old_product, new_product = product[:-1], product[1:]
    old_partial, new_partial = partial[:-1], partial[1:]
    rows = []
    for cells in ("compound", "2in"):
        pe = PEConfig(cells=cells)
        timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=0.5, f_clk_mhz=700.0))
        mask = (1 << 32) - 1
        out = [np.empty(N - 1, dtype=np.int64) for _ in range(3)]
        ob, nb, oa, na = old_product & mask, new_product & mask, old_partial & mask, new_partial & mask
        if cells == "compound":
            d = (np.array([timing.delays_fs["maj3"]]), np.array([timing.delays_fs["xor3"]]))

            def call(d=d, timing=timing, oa=oa, ob=ob, na=na, nb=nb, out=out, mask=mask):
                _kernels.rca_compound_latched_lanes(oa, ob, na, nb, mask, timing.t_sample_fs, d[0], d[1],
                                                    out[0], out[1])
        else:
            d = tuple(np.array([timing.delays_fs[k]]) for k in ("xor2", "and2", "or2"))

            def call(d=d, timing=timing, oa=oa, ob=ob, na=na, nb=nb, out=out, mask=mask):
                _kernels.rca_2in_lanes(oa, ob, na, nb, mask, timing.t_sample_fs, *d, out[0], out[1])
        seconds = median_seconds(call)
        flipped = float(np.mean(out[0] != out[1]))
        rows.append((f"chain {cells} rca registered (kernel)", (N - 1) / seconds, flipped))
    mask = (1 << 32) - 1
    pe = PEConfig(cells="compound")
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=0.5, f_clk_mhz=700.0))
    seconds = median_seconds(lambda: evaluate_adder_stage(
        pe, timing, old_product=old_product, old_partial=old_partial, new_product=new_product, new_partial=new_partial,
        need_settle=False))
    rows.append(("chain compound via evaluate_adder_stage()", (N - 1) / seconds, float("nan")))
    settle_out = [np.empty(N - 1, dtype=np.int64) for _ in range(3)]
    d = (np.array([timing.delays_fs["maj3"]]), np.array([timing.delays_fs["xor3"]]))
    seconds = median_seconds(lambda: _kernels.rca_compound_lanes(
        old_partial & mask, old_product & mask, new_partial & mask, new_product & mask, mask, timing.t_sample_fs,
        d[0], d[1], *settle_out))
    rows.append(("chain compound with settle time (kernel)", (N - 1) / seconds, float("nan")))
    a8, b8 = a.astype(np.int8), b.astype(np.int8)
    c32 = partial.astype(np.int32)
    plain_out = np.empty(N, dtype=np.int32)
    plain = N / median_seconds(lambda: _kernels.plain_mac_loop(a8, b8, c32, plain_out))
    rows.append(("plain numba int8 MAC loop", plain, float("nan")))
    m = 2000
    start = time.perf_counter()
    simulate_gate(pe.stages["adder"], {"product": old_product[:m], "c": old_partial[:m]},
                  {"product": new_product[:m], "c": new_partial[:m]}, delays_fs=timing.delays_fs,
                  t_sample_fs=timing.t_sample_fs)
    rows.append(("gate compound adder stage (Python)", m / (time.perf_counter() - start), float("nan")))
    print(f"{'what':45s} {'MAC/s':>14s} {'vs plain':>9s} {'flipped':>8s}")
    for name, rate, flipped in rows:
        print(f"{name:45s} {rate:14.3e} {plain / rate:8.1f}x {flipped:8.4f}")


if __name__ == "__main__":
    main()
