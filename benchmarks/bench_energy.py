"""What energy accounting adds to the fast array engine, measured in the same run.

For a few GEMM layers of DNN-like int8 operands (ReLU-like activations, Gaussian weights)
on a 64x64 weight-stationary array at 0.9 V / 700 MHz, prints per layer:

- the fast engine's time (``sim.engine.simulate_gemm(engine="fast")``, numba warmed up);
- the energy accounting's time for the same layer: sampled switching activity
  (``sim.energy.mean_units_per_mac``, 4096 MACs), the activity record and the breakdown
  (``activity_from_result``, ``layer_energy``), with the PE energy model already built;
- the overhead in percent (target: at most 20 %);

each the median of ``--repeats`` runs, and once, the one-off characterisation of the PE
(gate-level transitions, toggle-model fit, ``C_unit`` calibration), which a process pays
once and caches.

Run: ``NUMBA_NUM_THREADS=1 python benchmarks/bench_energy.py [--repeats N]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from pe_models.energy import pe_energy_model
from pe_models.pe import OperatingPoint, PEConfig, stage_timing
from sim.config import ArrayConfig
from sim.energy import activity_from_result, layer_energy, mean_units_per_mac
from sim.engine import simulate_gemm
from sim.layers import GemmProblem

LAYERS = ((256, 128, 288), (784, 64, 576), (196, 256, 1152))


def _operands(m: int, n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    magnitude = np.clip(np.rint(np.abs(rng.normal(0, 40, (m, k)))), 0, 127)
    activations = np.where(rng.random((m, k)) < 0.5, 0, magnitude).astype(np.int8)
    weights = np.clip(np.rint(rng.normal(0, 25, (k, n))), -128, 127).astype(np.int8)
    return activations, weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    pe = PEConfig()
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=0.9, f_clk_mhz=700.0))
    array = ArrayConfig(rows=64, cols=64)
    start = time.perf_counter()
    model = pe_energy_model(pe)
    characterise_s = time.perf_counter() - start
    warm_a, warm_w = _operands(16, 16, 16, 99)
    simulate_gemm(warm_a, warm_w, array=array, pe=pe, timing=timing)
    print(f"one-off PE characterisation (cached per process): {characterise_s:.2f} s")
    print(f"{'layer M,N,K':>16} {'MACs':>11} {'engine_s':>9} {'energy_s':>9} {'overhead_%':>10}")
    engine_total = energy_total = 0.0
    for index, (m, n, k) in enumerate(LAYERS):
        activations, weights = _operands(m, n, k, index)
        problem = GemmProblem(m=m, n=n, k=k)
        engine_times, energy_times = [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            result = simulate_gemm(activations, weights, array=array, pe=pe, timing=timing)
            engine_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            units = mean_units_per_mac(model, activations, weights, array)
            activity = activity_from_result("layer", result, problem, array, units_per_mac=units)
            layer_energy(activity, model, vdd_v=0.9, f_clk_mhz=700.0)
            energy_times.append(time.perf_counter() - start)
        engine_s, energy_s = statistics.median(engine_times), statistics.median(energy_times)
        engine_total += engine_s
        energy_total += energy_s
        print(
            f"{f'{m},{n},{k}':>16} {m * n * k:>11} {engine_s:>9.3f} {energy_s:>9.3f} {100 * energy_s / engine_s:>10.1f}"
        )
    overhead = 100 * energy_total / engine_total
    print(f"{'all layers':>16} {'':>11} {engine_total:>9.3f} {energy_total:>9.3f} {overhead:>10.1f}")


if __name__ == "__main__":
    main()
