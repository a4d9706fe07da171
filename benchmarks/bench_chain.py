"""Chain-level MAC evaluations per second on one core, beside a plain numba MAC loop.

Run: ``python benchmarks/bench_chain.py``. Consecutive MACs of one registered PE with a
ripple-carry accumulator at 0.5 V / 700 MHz (timing errors occur): random int8
operands and the synthetic DNN partial-sum stream (``pe_models.operands``). Each row
is the median of 5 runs over 4 M MACs; the plain loop ``c + a * b`` runs in the same
process on the same arrays. The gate level (exact event-driven) is timed on 2000 MACs
in pure Python and on 200 000 (adder stage) / 50 000 (fused MAC) MACs in numba.
The stationary stream kernel (what the fast engine runs per PE with compound cells)
keeps one weight (``b[0]``) for the whole stream. Times are CPU seconds of the process
(``time.process_time``), far less noisy than wall time on a shared machine.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from pe_models import kernels
from pe_models.chain import evaluate_adder_stage, evaluate_stream, mac_parameters
from pe_models.gate import simulate_gate, simulate_gate_fast
from pe_models.operands import synthetic_stream
from pe_models.pe import OperatingPoint, PEConfig, stage_timing

N = 4_000_000
RUNS = 5
MASK = (1 << 32) - 1


def rate(function, count: int) -> float:
    function()
    times = []
    for _ in range(RUNS):
        start = time.process_time()
        function()
        times.append(time.process_time() - start)
    return count / statistics.median(times)


def main() -> None:
    rng = np.random.default_rng(np.random.SeedSequence(1))
    partial = synthetic_stream("dnn", lanes=64, steps=N // 64, seed=2).c.ravel()[:N]
    a, b = rng.integers(-128, 128, (2, N)).astype(np.int8)
    c32 = partial.astype(np.int32)
    exact = (partial + a.astype(np.int64) * b) & MASK
    operating_point = OperatingPoint(vdd_v=0.5, f_clk_mhz=700.0)
    rows = []
    plain_out = np.empty(N, dtype=np.int32)
    plain = rate(lambda: kernels.plain_mac_loop(a, b, c32, plain_out), N)
    for cells in ("compound", "2in"):
        pe = PEConfig(cells=cells)
        timing = stage_timing(pe, operating_point=operating_point)
        params = mac_parameters(pe, timing)[0]
        out = np.empty(N, dtype=np.int64)

        def generic(params=params, out=out):
            kernels.registered_mac_stream(a, b, partial, params, out)

        generic_rate = rate(generic, N)
        wrong = float(np.mean((out & MASK) != exact))
        if cells == "compound":
            fast_out = np.empty(N, dtype=np.int64)

            def vectorised(params=params, fast_out=fast_out):
                kernels.compound_mac_stream(
                    a,
                    b,
                    partial,
                    params[kernels.PARAM_LATE_PRODUCT],
                    params[kernels.PARAM_CARRY_STEPS],
                    params[kernels.PARAM_MASK],
                    fast_out,
                )

            rows.append(
                ("chain, compound, vectorised stream kernel", rate(vectorised, N), float(np.mean(fast_out != exact)))
            )
            weight = int(b[0])
            stationary_exact = (partial + a.astype(np.int64) * weight) & MASK
            latched = np.empty(N, dtype=np.int64)
            settled = np.empty(N, dtype=np.int64)
            scratch = np.empty(N, dtype=np.uint8)

            def stationary(params=params, latched=latched, settled=settled, scratch=scratch, weight=weight):
                kernels.compound_stationary_stream(
                    a,
                    weight,
                    partial,
                    params[kernels.PARAM_LATE_PRODUCT],
                    params[kernels.PARAM_CARRY_STEPS],
                    params[kernels.PARAM_MASK],
                    latched,
                    settled,
                    scratch,
                )

            rows.append(
                (
                    "chain, compound, stationary stream kernel (array engines)",
                    rate(stationary, N),
                    float(np.mean(latched != stationary_exact)),
                )
            )
            latched = evaluate_stream(pe, timing, a, b, partial)
            rows.append(
                (
                    "chain, compound, evaluate_stream() incl. set-up",
                    rate(lambda pe=pe, timing=timing: evaluate_stream(pe, timing, a, b, partial), N),
                    float(np.mean((latched & MASK) != exact)),
                )
            )
        rows.append((f"chain, {cells}, per-MAC kernel (array engines)", generic_rate, wrong))
    pe = PEConfig(cells="compound")
    timing = stage_timing(pe, operating_point=operating_point)
    product = a.astype(np.int64) * b
    rows.append(
        (
            "chain, compound, evaluate_adder_stage with settle times",
            rate(
                lambda: evaluate_adder_stage(
                    pe,
                    timing,
                    old_product=product[:-1],
                    old_partial=partial[:-1],
                    new_product=product[1:],
                    new_partial=partial[1:],
                ),
                N - 1,
            ),
            float("nan"),
        )
    )
    m = 2000
    gate_rate = rate(
        lambda: simulate_gate(
            pe.stages["adder"],
            {"product": product[:m], "c": partial[:m]},
            {"product": product[1 : m + 1], "c": partial[1 : m + 1]},
            delays_fs=timing.delays_fs,
            t_sample_fs=timing.t_sample_fs,
        ),
        m,
    )
    rows.append(("gate, compound adder stage (pure Python)", gate_rate, float("nan")))
    m_fast = 200_000
    fast_gate_rate = rate(
        lambda: simulate_gate_fast(
            pe.stages["adder"],
            {"product": product[:m_fast], "c": partial[:m_fast]},
            {"product": product[1 : m_fast + 1], "c": partial[1 : m_fast + 1]},
            delays_fs=timing.delays_fs,
            t_sample_fs=timing.t_sample_fs,
        ),
        m_fast,
    )
    rows.append(("gate, compound adder stage (numba event-driven)", fast_gate_rate, float("nan")))
    fused = PEConfig(cells="compound", pipeline="fused")
    fused_timing = stage_timing(fused, operating_point=operating_point)
    m_fused = 50_000
    fused_rate = rate(
        lambda: simulate_gate_fast(
            fused.stages["mac"],
            {"a": a[:m_fused], "b": b[:m_fused], "c": partial[:m_fused]},
            {"a": a[1 : m_fused + 1], "b": b[1 : m_fused + 1], "c": partial[1 : m_fused + 1]},
            delays_fs=fused_timing.delays_fs,
            t_sample_fs=fused_timing.t_sample_fs,
        ),
        m_fused,
    )
    rows.append(("gate/chain, compound fused MAC (numba event-driven)", fused_rate, float("nan")))
    rows.append(("plain numba int8 MAC loop (c + a*b)", plain, 0.0))
    print(f"{'what':58s} {'MAC/s':>10s} {'plain/this':>10s} {'wrong':>7s}")
    for name, value, wrong in rows:
        print(f"{name:58s} {value:10.3e} {plain / value:9.1f}x {wrong:7.4f}")


if __name__ == "__main__":
    main()
