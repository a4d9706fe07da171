"""What routing the registered adder stage to the exact event kernel costs, beside the closed forms.

Run: ``python benchmarks/bench_exact_route.py``. One registered PE with a ripple-carry
accumulator at 0.5 V / 700 MHz (``generic-28nm``, timing errors occur), each cell library
twice: with its own timing (the closed forms apply) and with the arcs of bit 0's carry-in
pin changed. That pin is tied to 0, so no MAC can see the change (the script checks that
both give the same bits), but :func:`pe_models.chain.closed_form_delays` no longer holds
and every level takes the exact event kernel, as it does for a characterised library whose
arcs differ by pin and edge. Rows: the per-MAC kernel over a stream of consecutive MACs
(``registered_mac_stream``, what the array engines call per MAC), ``evaluate_stream``,
``evaluate_chain`` on independent MACs (lane-parallel chain level) and the fast array
engine on one 64 x 64 x 256 GEMM on a 32 x 32 weight-stationary array. Rates are MACs per
CPU second (``time.process_time``), median of 3 runs, both routes in the same process.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from pe_models import kernels
from pe_models.arcs import InstanceArcs, StageArcs
from pe_models.chain import closed_form_delays, evaluate_chain, evaluate_stream, mac_parameters
from pe_models.operands import synthetic_stream
from pe_models.pe import OperatingPoint, PEConfig, StageTiming, stage_timing
from sim.config import ArrayConfig
from sim.engine import simulate_gemm

RUNS = 3


def cpu_seconds(function) -> float:
    function()
    times = []
    for _ in range(RUNS):
        start = time.process_time()
        function()
        times.append(time.process_time() - start)
    return statistics.median(times)


def tied_pin_changed(pe: PEConfig, timing: StageTiming) -> StageTiming:
    """`timing` with the arcs of the adder's first constant-tied pin set to 1 fs (fall) and 3 ns (rise)."""
    adder = pe.stages["adder"]
    cell = next(c for c, cell in enumerate(adder.cells) if 0 in cell.inputs)
    pin = adder.cells[cell].inputs.index(0)
    stages = {}
    for name in timing.arcs.stages:
        exact = timing.arcs.exact_fs(name).copy()
        if name == "adder":
            exact[cell, pin] = (1.0, 3.0e6)
        old = timing.arcs[name]
        stages[name] = InstanceArcs(
            exact_fs=exact, load_ff=old.load_ff, slew_ps=old.slew_ps, launch_exact_fs=old.launch_exact_fs
        )
    return StageTiming(
        t_sample_fs=timing.t_sample_fs, delay_scale=timing.delay_scale, t_clk_fs=timing.t_clk_fs, arcs=StageArcs(stages)
    )


def measure(cells: str, rng: np.random.Generator) -> dict[str, dict[str, float]]:
    """MAC/s of each row, closed form and exact route, for one cell library."""
    pe = PEConfig(cells=cells, technology="generic-28nm")
    closed = stage_timing(pe, operating_point=OperatingPoint(vdd_v=0.5, f_clk_mhz=700.0))
    exact = tied_pin_changed(pe, closed)
    assert closed_form_delays(pe, closed) is not None and closed_form_delays(pe, exact) is None
    n_fast, n_slow = 2_000_000, 100_000
    partial = synthetic_stream("dnn", lanes=64, steps=n_fast // 64, seed=2).c.ravel()[:n_fast]
    a, b = rng.integers(-128, 128, (2, n_fast)).astype(np.int8)
    rates: dict[str, dict[str, float]] = {}
    outputs = {}
    for route, timing, n in (("closed", closed, n_fast), ("exact", exact, n_slow)):
        params = mac_parameters(pe, timing)[0]
        out = np.empty(n, dtype=np.int64)
        seconds = cpu_seconds(
            lambda p=params, o=out, n=n: kernels.registered_mac_stream(a[:n], b[:n], partial[:n], p, o)
        )
        outputs[route] = out[:n_slow].copy()
        rates.setdefault("per-MAC kernel stream (registered_mac_stream)", {})[route] = n / seconds
        seconds = cpu_seconds(lambda t=timing, n=n: evaluate_stream(pe, t, a[:n], b[:n], partial[:n]))
        rates.setdefault("evaluate_stream", {})[route] = n / seconds
    assert np.array_equal(outputs["closed"], outputs["exact"])
    n = 20_000
    macs = dict(prev_a=a[:n], prev_b=b[:n], prev_c=partial[:n], a=a[n : 2 * n], b=b[n : 2 * n], c=partial[n : 2 * n])
    for route, timing in (("closed", closed), ("exact", exact)):
        seconds = cpu_seconds(lambda t=timing: evaluate_chain(pe, t, **macs))
        rates.setdefault("evaluate_chain, independent MACs", {})[route] = n / seconds
    weights = rng.integers(-128, 128, (64, 64)).astype(np.int8)
    activations = rng.integers(0, 128, (256, 64)).astype(np.int8)
    array = ArrayConfig(rows=32, cols=32, dataflow="ws")
    results = {}
    for route, timing in (("closed", closed), ("exact", exact)):
        results[route] = simulate_gemm(activations, weights, array=array, pe=pe, timing=timing)
        seconds = cpu_seconds(lambda t=timing: simulate_gemm(activations, weights, array=array, pe=pe, timing=t))
        rates.setdefault("fast array engine, 256x64x64 GEMM on 32x32 ws", {})[route] = 256 * 64 * 64 / seconds
    assert np.array_equal(results["closed"].outputs, results["exact"].outputs)
    return rates


def main() -> None:
    rng = np.random.default_rng(np.random.SeedSequence(11))
    print("| cells | what | closed form MAC/s | exact kernel MAC/s | closed / exact |")
    print("|---|---|---|---|---|")
    for cells in ("compound", "2in"):
        for what, rates in measure(cells, rng).items():
            ratio = rates["closed"] / rates["exact"]
            print(f"| {cells} | {what} | {rates['closed']:.3g} | {rates['exact']:.3g} | {ratio:.0f}x |")


if __name__ == "__main__":
    main()
