"""What the energy columns add to ``simulate`` and ``accuracy``, measured in the same run.

``simulate``: a few GEMM layers on a 64x64 weight-stationary array at 700 MHz, at 0.9 V
unprotected and at 0.6 V with bits 31:20 protected (timing errors, detections, recovery).
Times :func:`sim.network.simulate_layers` (fast engine, numba warmed up) and the energy
accounting the study adds (:func:`sim.energy.outcome_energy` per layer: the layer's
operands redrawn, sampled switching activity, memory traffic, breakdown).

``accuracy``: ``tinymnv2`` with bit-level injection on the 256x256 array at 0.9 V and
0.6 V (bits 31:14 protected), one worker. Times the inference
(:func:`experiments.studies.accuracy.accuracy_points` without energy) and the energy
accounting (:func:`experiments.studies.inference_energy.inference_layers` once, one
:func:`~experiments.studies.inference_energy.inference_energy` per voltage).

Each figure is the median of ``--repeats`` runs, with the PE energy model already built;
its one-off characterisation (cached per process) is printed once. Target: the energy
accounting adds at most 20 % to the engine's time.

Run: ``NUMBA_NUM_THREADS=1 python benchmarks/bench_energy_columns.py [--repeats N] [--images N]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

from experiments.studies.accuracy import accuracy_points
from experiments.studies.inference_energy import inference_energy, inference_layers
from experiments.studies.prepared import prepare_model
from pe_models.energy import pe_energy_model
from pe_models.pe import OperatingPoint, PEConfig, stage_timing
from sim.config import ArrayConfig
from sim.energy import outcome_energy
from sim.layers import GemmLayer
from sim.network import simulate_layers
from sim.protection import Protection
from workloads.engine import CalibrationConfig

LAYERS = ((256, 128, 288), (784, 64, 576), (196, 256, 1152))
CASES = ((0.9, 0), (0.6, 0xFFF00000))


def _median_time(function, repeats: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def _line(name: str, vdd: str, mask: int, engine_s: float, energy_s: float) -> None:
    overhead = 100 * energy_s / engine_s
    print(f"{name:>10} {vdd:>7} {mask:>#10x} {engine_s:>9.3f} {energy_s:>9.3f} {overhead:>10.1f}")


def _simulate(repeats: int) -> None:
    pe = PEConfig()
    print(f"{'study':>10} {'VDD':>7} {'protect':>10} {'engine_s':>9} {'energy_s':>9} {'overhead_%':>10}")
    layers = [(i, GemmLayer(name=f"g{i}", m=m, n=n, k=k)) for i, (m, n, k) in enumerate(LAYERS)]
    for vdd, mask in CASES:
        timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd, f_clk_mhz=700.0))
        array = ArrayConfig(rows=64, cols=64, f_clk_mhz=1e9 / timing.t_clk_fs, accumulator_bits=pe.width)
        protection = Protection(protected_mask=mask)

        def run(array=array, timing=timing, protection=protection):
            return simulate_layers(layers, array=array, pe=pe, timing=timing, protection=protection, seed=0)

        run()
        engine_s, outcome = _median_time(run, repeats)

        def account(array=array, outcome=outcome, vdd=vdd):
            return [outcome_energy(layer, array=array, pe=pe, vdd_v=vdd, seed=0) for layer in outcome.layers]

        account()
        energy_s, _ = _median_time(account, repeats)
        _line("3 layers", f"{vdd:g}", mask, engine_s, energy_s)


def _accuracy(repeats: int, images: int) -> None:
    pe = PEConfig()
    prepared = prepare_model("tinymnv2", images=images, labels=None, seed=0, calibration=CalibrationConfig())
    array = ArrayConfig(rows=256, cols=256, f_clk_mhz=700.0, accumulator_bits=pe.width)
    vdds = [0.9, 0.6]
    mask = 0xFFFFC000
    options = {"pe": pe, "f_clk_mhz": 700.0, "array": array}

    def run():
        return accuracy_points(
            prepared, injection="bitlevel", vdds=vdds, protect_mask=mask, seed=0, options=options, jobs=1
        )

    run()
    engine_s, _ = _median_time(run, repeats)

    def account():
        layers = inference_layers(prepared.model, prepared.images, pe=pe, array=array, seed=0)
        masks = dict.fromkeys((layer.name for layer in layers), mask)
        return [
            inference_energy(layers, pe=pe, array=array, vdd_v=v, images=len(prepared.images), masks=masks)
            for v in vdds
        ]

    account()
    energy_s, _ = _median_time(account, repeats)
    label = f"{len(prepared.images)} images"
    _line("tinymnv2", "0.9+0.6", mask, engine_s, energy_s)
    print(f"(accuracy: tinymnv2 bitlevel, {label}, 256x256, one worker; simulate: 64x64)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--images", type=int, default=20)
    args = parser.parse_args()
    start = time.perf_counter()
    pe_energy_model(PEConfig())
    print(f"one-off PE characterisation (cached per process): {time.perf_counter() - start:.2f} s")
    _simulate(args.repeats)
    _accuracy(args.repeats, args.images)


if __name__ == "__main__":
    main()
