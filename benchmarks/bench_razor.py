"""Razor detection and recovery policies in the fast engine: speed, and what each policy costs.

Prints two tables (medians of several in-process runs; the first call, which loads or
compiles the numba kernels, is not timed):

1. ``fast`` engine MACs per second on one core for one full 256x256 weight-stationary tile
   at 0.5 V / 700 MHz (compound ripple-carry PE, DNN operand model, stream of 2048
   activations), bits 31..22 protected, default Razor window, per recovery policy and
   without protection; the reference is NumPy's int64 matmul of the same GEMM, timed in
   the same run. Target: >= 1e8 MAC/s with ``local``.
2. The first four layers of MobileNetV2 on the default 256x256 ws array at ``--vdd`` (default
   0.5 V) with bits 31..22 protected: the window and its hold buffers per protected bit, the
   stall cycles of one recovery (the stall model of ``sim/recovery.py``), compute cycles,
   recovery cycles and their ratio, detections, mis-corrections, silent protected errors and
   unprotected errors, and mis-corrections and silent errors per detection, per policy and
   window (``default``: the largest feasible window).

Both at ``--technology`` (default ``generic-28nm``, the technology of the issue's
figures). Run: ``NUMBA_NUM_THREADS=1 python benchmarks/bench_razor.py [--repeats N] [--vdd V]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from pe_models.operands import dnn_activations, dnn_weights
from pe_models.pe import OperatingPoint, PEConfig, stage_timing
from sim.config import ArrayConfig
from sim.engine import simulate_gemm
from sim.network import simulate_layers
from sim.protection import RECOVERY_POLICIES, Protection
from workloads.topologies import load_topology

PROTECT = "31:22"


def _tile_rates(repeats: int, stream: int, technology: str, vdd: float) -> list[tuple[str, float, float]]:
    pe = PEConfig(technology=technology)
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd, f_clk_mhz=700.0))
    array = ArrayConfig(rows=256, cols=256, dataflow="ws")
    rng = np.random.default_rng(1)
    a, b = dnn_activations(rng, (stream, 256)), dnn_weights(rng, (256, 256))
    rows = []
    cases: list[tuple[str, Protection | None]] = [("none", None)]
    cases += [(policy, Protection.from_spec(PROTECT, recovery=policy, width=32)) for policy in RECOVERY_POLICIES]
    for label, protection in cases:
        simulate_gemm(a[:2, :2], b[:2, :2], array=array, pe=pe, timing=timing, protection=protection)
        rates = []
        detected = 0.0
        for _ in range(repeats):
            start = time.perf_counter()
            result = simulate_gemm(a, b, array=array, pe=pe, timing=timing, protection=protection)
            rates.append(result.macs / (time.perf_counter() - start))
            detected = result.detections / result.macs
        rows.append((label, statistics.median(rates), detected))
    wide_a, wide_b = a.astype(np.int64), b.astype(np.int64)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(wide_a, wide_b)
        rates.append(stream * 256 * 256 / (time.perf_counter() - start))
    rows.append(("reference: numpy int64 matmul", statistics.median(rates), 0.0))
    return rows


def _mobilenet(windows: list[float | None], technology: str, vdd: float) -> list[tuple]:
    pe = PEConfig(technology=technology)
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd, f_clk_mhz=700.0))
    array = ArrayConfig(rows=256, cols=256, dataflow="ws")
    topology = load_topology("mobilenetv2")
    layers = [(index, topology.layers[index]) for index in range(4)]
    rows = []
    for window in windows:
        for policy in RECOVERY_POLICIES:
            protection = Protection.from_spec(PROTECT, recovery=policy, razor_window_ps=window, width=32)
            start = time.perf_counter()
            outcome = simulate_layers(layers, array=array, pe=pe, timing=timing, protection=protection, seed=0)
            seconds = time.perf_counter() - start
            compute = outcome.total("compute_cycles") + len(layers)
            recovery = outcome.total("correction_cycles")
            first = outcome.layers[0]
            detections = outcome.total("detections")
            miscorrections = outcome.total("miscorrections")
            silent = outcome.total("silent_protected_errors")
            rows.append(
                (
                    f"{first.razor_window_ps:g}" + (" (default)" if window is None else ""),
                    first.hold_buffers_per_bit,
                    policy,
                    first.stall_cycles,
                    compute,
                    recovery,
                    100.0 * recovery / compute,
                    detections,
                    miscorrections,
                    silent,
                    outcome.total("unprotected_errors"),
                    miscorrections / detections if detections else float("nan"),
                    silent / detections if detections else float("nan"),
                    outcome.total("macs") / seconds,
                )
            )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per measurement (default: 5)")
    parser.add_argument("--stream", type=int, default=2048, help="activations streamed through the tile")
    parser.add_argument(
        "--windows",
        default="default,150,50",
        help="Razor windows in ps for table 2, 'default' = the largest feasible window",
    )
    parser.add_argument("--technology", default="generic-28nm", help="technology preset (default: generic-28nm)")
    parser.add_argument("--vdd", type=float, default=0.5, help="supply voltage in V (default: 0.5)")
    args = parser.parse_args()
    print(
        f"1. fast engine, one 256x256 ws tile, {args.vdd:g} V, 700 MHz, {args.technology}, bits {PROTECT} protected "
        f"(median of {args.repeats})"
    )
    print(f"{'protection':32s} {'MAC/s':>12s} {'vs none':>8s} {'detected MACs':>14s}")
    rates = _tile_rates(args.repeats, args.stream, args.technology, args.vdd)
    for label, rate, detected in rates:
        print(f"{label:32s} {rate:12.3e} {rate / rates[0][1]:8.2f} {detected:14.2e}")
    windows: list[float | None] = [None if w == "default" else float(w) for w in args.windows.split(",")]
    print()
    print(
        f"2. MobileNetV2 layers 0..3, 256x256 ws, {args.vdd:g} V, 700 MHz, {args.technology}, bits {PROTECT} protected"
    )
    header = (
        "window_ps",
        "buffers_per_bit",
        "recovery",
        "stall_cycles",
        "compute_cycles",
        "recovery_cycles",
        "overhead_pct",
        "detections",
        "miscorrections",
        "silent_protected_errors",
        "unprotected_errors",
        "miscorr_per_det",
        "silent_per_det",
        "mac_per_s",
    )
    print(" ".join(f"{name:>15s}" for name in header))
    for row in _mobilenet(windows, args.technology, args.vdd):
        cells = [f"{value:15.3f}" if isinstance(value, float) else f"{value!s:>15s}" for value in row[:-1]]
        print(" ".join([*cells, f"{row[-1]:15.3e}"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
