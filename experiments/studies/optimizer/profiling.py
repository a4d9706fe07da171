"""Step 1 of the optimizer, the screen: what each GEMM layer of the model does (operand statistics,
cycles, the array-order error rates that the analytic level cannot see)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .config import OptimizeConfig


def measurement_batch(config: OptimizeConfig) -> int:
    """Images per batch of the bit-level measurements: the simulated hardware's batch
    (``config.batch`` images share each weight fold), so the engine counts the cycles and the
    recovery stalls of the hardware the energy model and the screen describe; the batches are
    the independent units of the latency overhead's bootstrap interval (images of a batch share
    the array's folds and stall cycles)."""
    return int(config.batch)


@dataclass(frozen=True, kw_only=True, eq=False)
class LayerProfile:
    """What the screen knows of one GEMM layer (per image).

    Attributes
    ----------
    name : str
    macs : int
        MAC steps per image.
    base_cycles : float
        Error-free cycles per image on the array (SCALE-Sim compute cycles + 1 per GEMM), with
        the ``config.batch`` images of a hardware batch streamed through each fold together (as
        the bit-level measurement runs them), divided by the batch.
    rows_used, cols_used : int
        PEs of a fold (the K and N extents mapped on the array).
    lsb_per_unit : float
        Output LSBs per accumulator unit (largest requantisation multiplier of the layer).
    drop_visible : float
        Probability that dropping one product (TE-Drop) moves the requantised output.
    statistics : CarryStatistics
        Carry-run statistics of the layer's sampled partial sums and products.
    product_toggles : ndarray, float64, shape (16,), optional
        Per product register bit, the probability that it changes between consecutive MACs of
        the sample under i.i.d. operands, ``2 f (1 - f)`` with ``f`` its frequency of ones (the
        error probability of a bit that misses the clock,
        :func:`pe_models.analytic.product_bit_error_probabilities`).
    """

    name: str
    macs: int
    base_cycles: float
    rows_used: int
    cols_used: int
    lsb_per_unit: float
    drop_visible: float
    statistics: Any
    m: int = 0
    k: int = 0
    n: int = 0
    groups: int = 1
    units_per_mac: float = 0.0
    sample_gemm: tuple[np.ndarray, np.ndarray] | None = None
    work: Any = None
    product_toggles: np.ndarray | None = None


class RecordingBackend:
    """Exact GEMMs; keeps the first GEMM of every layer for the screen."""

    name = "exact"

    def __init__(self) -> None:
        self.stats: dict[str, np.ndarray] = {}
        self.first: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def matmul(self, activations: np.ndarray, weights: np.ndarray, *, layer: str) -> np.ndarray:
        from pe_models.integers import exact_gemm

        self.first.setdefault(layer, (activations.copy(), weights.copy()))
        return exact_gemm(activations, weights, 32)


def layer_profiles(prepared: Any, config: OptimizeConfig, *, energy_images: Any = None) -> list[LayerProfile]:
    """Profile every GEMM layer of a prepared model (see :class:`LayerProfile`).

    Parameters
    ----------
    prepared : PreparedModel
        The quantised model with the images whose operands feed the screen (the selection
        images).
    config : OptimizeConfig
    energy_images : ndarray, optional
        The images of the energy model's workload (default: `prepared`'s), as every command
        takes them (every loaded image, so energy per image is the same whatever the command).
    """
    from pe_models.analytic import carry_statistics, needs_product_sign, run_lengths_needed
    from pe_models.integers import bit_frequencies
    from sim.config import ArrayConfig
    from workloads.injection import layer_operand_sample

    from ..inference_energy import batch_cycles_per_image, inference_layers

    model = prepared.model
    recorder = RecordingBackend()
    model.run(prepared.images[: config.screen_image_count], recorder)
    array = ArrayConfig(rows=config.rows, cols=config.cols, dataflow="ws", f_clk_mhz=config.f_clk_mhz)
    steps: set[int] = set()
    by_sign = False
    for vdd in config.vdds:
        timing = config.timing(vdd)
        steps |= {k for k in run_lengths_needed(config.pe, timing) if 0 < k < config.pe.width}
        by_sign |= needs_product_sign(config.pe, timing)
    gemm_layers = {layer.name: layer for layer in model.layers if hasattr(layer, "multiplier")}
    batch = config.batch
    images = prepared.images if energy_images is None else energy_images
    work = inference_layers(model, images, pe=config.pe, array=array, seed=config.seed)
    seeds = np.random.SeedSequence(config.seed).spawn(len(model.gemm_layers))
    profiles = []
    for shape, seed, layer_work in zip(model.gemm_layers, seeds, work, strict=True):
        activations, weights = recorder.first[shape.name]
        sample = layer_operand_sample(activations, weights, rows=config.rows, size=4096, seed=seed)
        statistics = carry_statistics(sample, width=config.pe.width, steps=steps or None, by_product_sign=by_sign)
        quant = gemm_layers[shape.name]
        reals = np.asarray(quant.multiplier, np.float64) * 2.0 ** (np.asarray(quant.shift, np.float64) - 31)
        lsb = float(reals.max())
        products = np.abs(sample.products.ravel()).astype(np.float64)
        ones = bit_frequencies(sample.products.ravel() & 0xFFFF, 16)
        profiles.append(
            LayerProfile(
                name=shape.name,
                macs=shape.macs_per_image,
                base_cycles=batch_cycles_per_image(shape.m_per_image, shape.n, shape.k, shape.groups, array, batch),
                rows_used=min(shape.k, config.rows),
                cols_used=min(shape.n, config.cols),
                lsb_per_unit=lsb,
                drop_visible=float(np.mean(np.minimum(1.0, products * lsb))),
                statistics=statistics,
                m=shape.m_per_image,
                k=shape.k,
                n=shape.n,
                groups=shape.groups,
                units_per_mac=layer_work.units_per_mac,
                work=layer_work,
                product_toggles=2.0 * ones * (1.0 - ones),
                sample_gemm=(
                    activations[: max(1, min(len(activations), _ORDER_MACS // max(1, weights.size)))],
                    weights,
                ),
            )
        )
    return profiles


_ORDER_MACS = 200_000


"""MACs of each layer's first GEMM the screen runs in array order per failing VDD."""


def array_order_probabilities(
    profiles: Sequence[LayerProfile], config: OptimizeConfig, vdd_v: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Per layer and accumulator bit, the fraction of MACs latched wrong, and the fraction
    still wrong at the Razor shadow sample with every bit protected, when a slice of the
    layer's first GEMM runs in array order on the chain-level engine; per layer, the recovery
    cycles of the slice over its busy cycles (MACs / PEs in flight) with every bit protected,
    penalty 1, the whole array stalling (``global``) and each column on its own (``column``)
    (NaN for a layer without a slice). None when static timing says no MAC can be wrong at
    `vdd_v`."""
    from pe_models.chain import static_output_arrival_fs
    from sim.config import ArrayConfig
    from sim.engine import simulate_gemm
    from sim.protection import Protection

    timing = config.timing(vdd_v)
    outputs = {"adder": "sum", "multiplier": "product", "mac": "sum"}
    latest = max(
        float(np.max(static_output_arrival_fs(netlist, timing.arcs_fs(name), outputs[name])))
        for name, netlist in config.pe.stages.items()
    )
    if latest <= timing.t_sample_fs:
        return None
    array = ArrayConfig(
        rows=config.rows, cols=config.cols, dataflow="ws", f_clk_mhz=config.f_clk_mhz, accumulator_bits=config.pe.width
    )
    everything = Protection(
        protected_mask=(1 << config.pe.width) - 1,
        penalty_cycles=1,
        recovery="global",
        razor_window_ps=config.razor_window_ps,
    )
    per_column = dataclasses.replace(everything, recovery="column")
    latched = np.zeros((len(profiles), config.pe.width))
    residual = np.zeros((len(profiles), config.pe.width))
    stalled = np.full(len(profiles), np.nan)
    stalled_column = np.full(len(profiles), np.nan)
    for index, profile in enumerate(profiles):
        if profile.sample_gemm is None:
            continue
        activations, weights = profile.sample_gemm
        gemm = simulate_gemm(
            np.ascontiguousarray(activations),
            np.ascontiguousarray(weights),
            array=array,
            pe=config.pe,
            timing=timing,
            protection=everything,
        )
        latched[index] = gemm.flip_counts / max(1, gemm.macs)
        residual[index] = gemm.residual_flip_counts / max(1, gemm.macs)
        in_flight = min(weights.shape[0], config.rows) * min(weights.shape[1], config.cols)
        busy = max(1.0, gemm.macs / in_flight)
        stalled[index] = min(1.0, gemm.correction_cycles / busy)
        if gemm.correction_cycles:
            columns = simulate_gemm(
                np.ascontiguousarray(activations),
                np.ascontiguousarray(weights),
                array=array,
                pe=config.pe,
                timing=timing,
                protection=per_column,
            )
            stalled_column[index] = min(1.0, columns.correction_cycles / busy)
        else:
            stalled_column[index] = 0.0
    return latched, residual, stalled, stalled_column


def independent_detectors(stalled: float, detect_all: float, in_flight: int) -> float:
    """PEs per cycle that detect independently, calibrated on an array-order slice.

    With `in_flight` PEs each detecting with probability `detect_all` (every bit protected)
    independently, a fraction ``1 - (1 - detect_all) ** in_flight`` of the busy cycles would
    stall; detections in array order bunch (a PE's column shares its partial sums, a row its
    activation), so the measured fraction `stalled` is smaller. The returned ``N`` solves
    ``1 - (1 - detect_all) ** N = stalled``, clipped to ``[1, in_flight]`` (``in_flight`` when
    nothing was measured or nothing detects).
    """
    if not np.isfinite(stalled) or detect_all <= 0.0 or stalled <= 0.0:
        return float(in_flight)
    if stalled >= 1.0 or detect_all >= 1.0:
        return 1.0 if detect_all >= 1.0 else float(in_flight)
    value = np.log1p(-stalled) / np.log1p(-detect_all)
    return float(min(max(value, 1.0), in_flight))


def screen_array(config: OptimizeConfig) -> Any:
    """The weight-stationary array the optimizer plans for."""
    from sim.config import ArrayConfig

    return ArrayConfig(
        rows=config.rows, cols=config.cols, dataflow="ws", f_clk_mhz=config.f_clk_mhz, accumulator_bits=config.pe.width
    )
