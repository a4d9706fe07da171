"""Timing-error injection into the GEMMs of int8 inference: ``statistical`` and ``bitlevel``.

``bitlevel``: every MAC through the chain-level model in array order (see
:class:`BitlevelBackend`).

``statistical``: the exact GEMM plus bit errors drawn from the analytic per-bit error
probabilities of the PE at the given VDD (:mod:`pe_models.analytic`), applied where
they arise. Every MAC step of a dot product latches a partial sum; bit i of it is wrong
with probability ``p_i`` (accumulator) and bit j of the product register with ``q_j``
(multiplier stage). A wrong bit changes the partial sum by ``+2^i`` (a 0 latched as 1)
or ``-2^i`` (a 1 latched as 0), and the change flows on through the rest of the
column, so the final output moves by the same amount (wrapped to the accumulator
width). Protected bits (EDAC) are detected and corrected: counted, not applied.

The operand statistics behind ``p_i`` are taken from the layer itself: partial sums and
products sampled from the GEMM as a weight-stationary array of ``rows`` rows forms
them (the partial sum entering row r of a K-fold is the dot product over the rows
above it in that fold). They are computed once per layer and batch, from its first
GEMM of the batch (the first group of a grouped or depthwise convolution stands for
all its groups), and cached under a digest of that GEMM's operands (its first rows,
a CRC-32 of all of them, the weights), so a batch's statistics never come from another
batch. The errors of GEMM j of batch b are drawn from the seed's child keyed by
(b, j) (:func:`workloads.parallel.batch_seed`), so results do not depend on how
batches are spread over worker processes.

Events are rare, so they are drawn sparsely: the number of wrong bits of kind i over
the whole GEMM is Poisson with mean ``M N K p_i`` (the binomial limit for small p_i),
placed uniformly over outputs; the sign of each is ``+`` with probability
``1 - P(bit i of a partial sum is 1)``.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from pe_models.analytic import (
    CarryStatistics,
    adder_bit_error_probabilities,
    carry_statistics,
    needs_product_sign,
    run_lengths_needed,
)
from pe_models.chain import static_output_arrival_fs
from pe_models.errors import ConfigError
from pe_models.integers import bit_frequencies, exact_gemm, to_signed
from pe_models.operands import OperandStream
from pe_models.pe import OperatingPoint, PEConfig, StageTiming, stage_timing

from .parallel import batch_seed

if TYPE_CHECKING:
    from pe_models.variation import ProcessVariation
    from sim.config import ArrayConfig
    from sim.protection import Protection, ProtectionPlan

__all__ = ["BitlevelBackend", "StatisticalBackend", "layer_operand_sample"]

_SAMPLE_SIZE = 4096
_STATISTICS_CACHE: dict[tuple, tuple[CarryStatistics, np.ndarray]] = {}


def layer_operand_sample(
    activations: np.ndarray, weights: np.ndarray, *, rows: int, size: int, seed: np.random.SeedSequence
) -> OperandStream:
    """Partial sums and operands of `size` MAC steps sampled from one GEMM.

    Parameters
    ----------
    activations : ndarray of int8, shape (M, K)
    weights : ndarray of int8, shape (K, N)
    rows : int
        Array rows: K is folded into chunks of `rows`; partial sums restart at each fold.
    size : int
    seed : SeedSequence

    Returns
    -------
    OperandStream
        One lane of `size` steps (a = activation, b = weight, c = incoming partial sum).
    """
    rng = np.random.default_rng(seed)
    m_count, depth = activations.shape
    n_count = weights.shape[1]
    m = rng.integers(0, m_count, size)
    n = rng.integers(0, n_count, size)
    k = rng.integers(0, depth, size)
    fold_start = (k // rows) * rows
    a = activations[m, k].astype(np.int64)
    b = weights[k, n].astype(np.int64)
    c = np.zeros(size, dtype=np.int64)
    for row in range(int((k - fold_start).max()) if size else 0):
        index = fold_start + row
        inside = index < k
        c += np.where(
            inside,
            activations[m, np.minimum(index, depth - 1)].astype(np.int64) * weights[np.minimum(index, depth - 1), n],
            0,
        )
    return OperandStream(a=a[None, :], b=b[None, :], c=c[None, :], source="layer sample")


@dataclass
class StatisticalBackend:
    """Exact GEMM plus analytic-probability bit errors (see the module docstring).

    Parameters
    ----------
    vdd_v : float
        Supply voltage in V.
    protect_mask : int
        Protected accumulator bits (bit i set = protected).
    seed : SeedSequence
        This voltage point's seed; each GEMM spawns its own child in call order.
    pe : PEConfig
        Registered pipeline with the ``rca`` adder (default PE).
    f_clk_mhz : float
        Clock frequency in MHz (default 700).
    rows : int
        Array rows (column depth) used to sample partial sums (default 256).
    t_setup_ps : float or None
        Setup time of the output flip-flops at this operating point in ps (None: the cell
        library's, scaled with the delays; see :func:`pe_models.pe.stage_timing`).
    """

    vdd_v: float
    protect_mask: int
    seed: np.random.SeedSequence
    pe: PEConfig = field(default_factory=PEConfig)
    f_clk_mhz: float = 700.0
    rows: int = 256
    t_setup_ps: float | None = None
    name: str = "statistical"
    stats: dict[str, np.ndarray] = field(default_factory=dict)
    detections: dict[str, int] = field(default_factory=dict)
    counters: ClassVar[tuple[str, ...]] = ("stats", "detections")

    def __post_init__(self) -> None:
        self.timing: StageTiming = stage_timing(
            self.pe,
            operating_point=OperatingPoint(vdd_v=self.vdd_v, f_clk_mhz=self.f_clk_mhz),
            t_setup_ps=self.t_setup_ps,
        )
        self._calls = 0
        self._batch: int | None = None
        self._run_lengths = frozenset(k for k in run_lengths_needed(self.pe, self.timing) if 0 < k < self.pe.width)
        self._by_sign = needs_product_sign(self.pe, self.timing)
        arrival = static_output_arrival_fs(
            self.pe.stages["multiplier"],
            self.timing.arcs_fs("multiplier"),
            "product",
            self.timing.launch_fs("multiplier"),
        )
        self._late_product = arrival > self.timing.t_sample_fs
        self._layer_errors: dict[str, list[tuple[float, float, int, int | None]]] = {}

    def _error_kinds(
        self, activations: np.ndarray, weights: np.ndarray, layer: str
    ) -> list[tuple[float, float, int, int | None]]:
        """Per kind of wrong bit of a layer: (probability per MAC step, P(the bit is 1), value of
        the bit, accumulator bit or None for a product bit). From the layer's first GEMM (the
        first group of a grouped convolution stands for all its groups)."""
        if layer in self._layer_errors:
            return self._layer_errors[layer]
        digest = hashlib.blake2b(activations[: min(64, activations.shape[0])].tobytes(), digest_size=8)
        digest.update(zlib.crc32(np.ascontiguousarray(activations).data).to_bytes(4, "little"))
        digest.update(weights.tobytes())
        key = (
            activations.shape,
            weights.shape,
            self.rows,
            self.pe.width,
            self._run_lengths,
            self._by_sign,
            digest.hexdigest(),
        )
        if key not in _STATISTICS_CACHE:
            sample = layer_operand_sample(
                activations,
                weights,
                rows=self.rows,
                size=_SAMPLE_SIZE,
                seed=np.random.SeedSequence(int(digest.hexdigest(), 16)),
            )
            products = sample.products.ravel() & 0xFFFF
            product_ones = bit_frequencies(products, 16)
            statistics = carry_statistics(
                sample, width=self.pe.width, steps=self._run_lengths, by_product_sign=self._by_sign
            )
            _STATISTICS_CACHE[key] = (statistics, product_ones)
        statistics, product_ones = _STATISTICS_CACHE[key]
        adder = adder_bit_error_probabilities(self.pe, self.timing, statistics)
        product = np.where(self._late_product, 2 * product_ones * (1 - product_ones), 0.0)
        kinds: list[tuple[float, float, int, int | None]] = [
            (float(adder[bit]), float(statistics.sum_bit[bit]), 1 << bit, bit)
            for bit in range(self.pe.width)
            if adder[bit] > 0
        ]
        kinds += [
            (float(product[bit]), float(product_ones[bit]), -(1 << bit) if bit == 15 else 1 << bit, None)
            for bit in range(16)
            if product[bit] > 0
        ]
        self._layer_errors[layer] = kinds
        return kinds

    def start_batch(self, index: int) -> None:
        """Draw the next GEMMs' errors from children of `seed` keyed by (batch `index`, call).

        The per-layer error kinds are re-derived from the batch's own first GEMM of each
        layer, so a batch's errors depend on its index and images only (not on which
        batches ran before it in the same process).
        """
        self._batch = index
        self._calls = 0
        self._layer_errors = {}

    def matmul(self, activations: np.ndarray, weights: np.ndarray, *, layer: str) -> np.ndarray:
        """Exact GEMM plus injected errors; (M, K) int8 @ (K, N) int8 -> (M, N) int64.

        Call j draws from ``SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, j))``,
        or after :meth:`start_batch` (b) from ``spawn_key=(*seed.spawn_key, b, j)``.
        """
        width = self.pe.width
        exact = exact_gemm(activations, weights, width)
        if self._batch is None:
            child = np.random.SeedSequence(self.seed.entropy, spawn_key=(*self.seed.spawn_key, self._calls))
        else:
            child = batch_seed(self.seed, self._batch, self._calls)
        self._calls += 1
        kinds = self._error_kinds(activations, weights, layer)
        m_count, depth = activations.shape
        outputs = m_count * weights.shape[1]
        rng = np.random.default_rng(child)
        counts = self.stats.setdefault(layer, np.zeros(width, dtype=np.int64))
        delta = np.zeros(outputs, dtype=np.int64)
        for probability, ones, value, bit in kinds:
            events = int(rng.poisson(outputs * depth * probability))
            if not events:
                continue
            if bit is not None:
                counts[bit] += events
                if (self.protect_mask >> bit) & 1:
                    self.detections[layer] = self.detections.get(layer, 0) + events
                    continue
            where = rng.integers(0, outputs, events)
            signs = np.where(rng.random(events) < 1 - ones, 1, -1)
            np.add.at(delta, where, signs * value)
        return to_signed(exact + delta.reshape(exact.shape), width)


@dataclass
class BitlevelBackend:
    """Every MAC through the chain-level PE model in weight-stationary array order.

    Runs each GEMM on the array simulator's ``fast`` engine
    (:func:`sim.engine.simulate_gemm`, the same numba kernel): each PE keeps its previous
    operands, product register and partial-sum input, and a wrong partial sum flows on
    down its column as in hardware. Protected bits are Razor flip-flops (detection window
    `razor_window_ps`); a detection is recovered by `recovery` at `penalty_cycles` (see
    :mod:`sim.protection`), or by the layer's entry of `plan`; the backend accumulates the
    cycles and the counts (recovery cycles also per layer, ``layer_correction_cycles``).

    Parameters
    ----------
    vdd_v : float
    protect_mask : int
    seed : SeedSequence
        Seed of the process-variation die (used only with `variation`).
    pe : PEConfig
    array : ArrayConfig or None
        Default: 256x256 weight-stationary at `f_clk_mhz`.
    f_clk_mhz : float
    variation : ProcessVariation or None
    penalty_cycles : int or None
        Cycles one recovery stalls its scope (None: the stall model of :mod:`sim.recovery`).
    recovery : str
        ``global``, ``column``, ``local`` or ``drop``.
    razor_window_ps : float or None
        Razor detection window in ps (None: the default fraction of the clock period).
    plan : ProtectionPlan or None
        Per-layer protected bits (replaces `protect_mask`; its recovery, penalty and window
        replace the backend's).
    t_setup_ps : float or None
        Setup time of the output flip-flops at this operating point in ps (None: the cell
        library's, scaled with the delays); the main sample is at ``T_clk - t_setup``.
    product_mask : int
        Protected product register bits (Razor flip-flops sharing the window; replaced by the
        plan's per-layer product bits when `plan` is given).
    """

    vdd_v: float
    protect_mask: int
    seed: np.random.SeedSequence
    pe: PEConfig = field(default_factory=PEConfig)
    array: ArrayConfig | None = None
    f_clk_mhz: float = 700.0
    variation: ProcessVariation | None = None
    penalty_cycles: int | None = 1
    recovery: str = "global"
    razor_window_ps: float | None = None
    plan: ProtectionPlan | None = None
    t_setup_ps: float | None = None
    product_mask: int = 0
    name: str = "bitlevel"
    stats: dict[str, np.ndarray] = field(default_factory=dict)
    detections: dict[str, int] = field(default_factory=dict)
    cycles: int = 0
    compute_cycles: int = 0
    correction_cycles: int = 0
    layer_correction_cycles: dict[str, int] = field(default_factory=dict)
    miscorrections: int = 0
    silent_protected_errors: int = 0
    unprotected_errors: int = 0
    product_detections: dict[str, int] = field(default_factory=dict)
    silent_product_errors: int = 0
    counters: ClassVar[tuple[str, ...]] = (
        "stats",
        "detections",
        "cycles",
        "compute_cycles",
        "correction_cycles",
        "layer_correction_cycles",
        "miscorrections",
        "silent_protected_errors",
        "unprotected_errors",
        "product_detections",
        "silent_product_errors",
    )

    def __post_init__(self) -> None:
        from sim.config import ArrayConfig
        from sim.protection import Protection

        self.timing = stage_timing(
            self.pe,
            operating_point=OperatingPoint(vdd_v=self.vdd_v, f_clk_mhz=self.f_clk_mhz),
            t_setup_ps=self.t_setup_ps,
        )
        if self.array is None:
            self.array = ArrayConfig(
                rows=256, cols=256, dataflow="ws", f_clk_mhz=self.f_clk_mhz, accumulator_bits=self.pe.width
            )
        elif abs(self.array.f_clk_mhz - self.f_clk_mhz) > 1e-9 * self.f_clk_mhz:
            raise ConfigError(
                f"array.f_clk_mhz: {self.array.f_clk_mhz:g} MHz, but the PE is timed at f_clk_mhz "
                f"{self.f_clk_mhz:g} MHz; one clock drives both: give the array f_clk_mhz={self.f_clk_mhz:g}"
            )
        self._layer_protections: dict[str, Protection] = {}
        self.protection = Protection(
            protected_mask=self.protect_mask,
            penalty_cycles=self.penalty_cycles,
            recovery=self.recovery,
            razor_window_ps=self.razor_window_ps,
            product_mask=self.product_mask,
        )
        built, timing = self.pe, self.timing
        hardware = self.protect_mask if self.plan is None else self.plan.hardware_mask
        product = self.product_mask if self.plan is None else self.plan.hardware_product_mask
        if hardware & ((1 << self.pe.width) - 1) or product:
            from pe_models.razor import razor_pe, retimed

            built = razor_pe(
                self.pe,
                f_clk_mhz=self.f_clk_mhz,
                protected_mask=hardware,
                window_ps=self._window_ps(hardware),
                product_mask=product,
            )
            timing = retimed(built, self.timing)
        latest_fs = max(
            static_output_arrival_fs(
                built.stages["adder"], timing.arcs_fs("adder"), "sum", timing.launch_fs("adder")
            ).max(),
            static_output_arrival_fs(
                built.stages["multiplier"],
                timing.arcs_fs("multiplier"),
                "product",
                timing.launch_fs("multiplier"),
            ).max(),
        )
        self.error_free = self.variation is None and latest_fs <= timing.t_sample_fs

    def _protection_for(self, layer: str) -> Protection:
        """The protection of `layer` (the plan's, else the backend's), one object per layer: the engine
        keeps the array set up for the objects it saw last."""
        if self.plan is None:
            return self.protection
        kept = self._layer_protections.get(layer)
        if kept is None:
            kept = self._layer_protections[layer] = self.plan.protection_for(layer)
        return kept

    def _window_ps(self, hardware: int) -> float | None:
        """The window the hold buffers are designed for (the plan's, else the backend's; None: the largest)."""
        if self.plan is not None and self.plan.razor_window_ps is not None:
            return self.plan.razor_window_ps
        return self.razor_window_ps

    def start_batch(self, index: int) -> None:
        """Nothing to reset: the only randomness is the die, drawn from `seed` (see
        :class:`workloads.parallel.BatchBackend`)."""

    def matmul(self, activations: np.ndarray, weights: np.ndarray, *, layer: str) -> np.ndarray:
        """(M, K) int8 @ (K, N) int8 on the simulated array -> (M, N) int64, wrapped.

        When every path of both PE stages meets the clock by static timing (and there is no
        process variation), no MAC can latch a wrong value, so the exact product and the
        closed-form cycle count (equal to the engine's without errors) are used.
        """
        return self.matmul_groups(activations[None], weights[None], layer=layer)[0]

    def matmul_groups(self, activations: np.ndarray, weights: np.ndarray, *, layer: str) -> np.ndarray:
        """The G GEMMs of a grouped convolution back to back on the array: (G, M, K) @ (G, K, N) -> (G, M, N).

        One call of :func:`sim.engine.simulate_grouped_gemm` (the groups' folds in order,
        as G calls of :meth:`matmul` would run them). The cycles are counted as for G
        separate GEMMs (each one less than its busy cycles, SCALE-Sim's convention).
        """
        from sim.cycles import compute_cycles
        from sim.engine import simulate_grouped_gemm
        from sim.layers import GemmProblem

        groups, m, depth = activations.shape
        counts = self.stats.setdefault(layer, np.zeros(self.pe.width, dtype=np.int64))
        assert self.array is not None  # set by __post_init__
        if self.error_free:
            cycles = groups * compute_cycles(GemmProblem(m=m, n=weights.shape[2], k=depth), self.array)
            self.cycles += cycles
            self.compute_cycles += cycles
            return exact_gemm(activations, weights, self.pe.width)

        result = simulate_grouped_gemm(
            np.asarray(activations, dtype=np.int8),
            np.ascontiguousarray(weights, dtype=np.int8),
            array=self.array,
            pe=self.pe,
            timing=self.timing,
            protection=self._protection_for(layer),
            variation=self.variation,
            seed=self.seed,
            engine="fast",
        )
        counts += result.flip_counts
        self.miscorrections += int(result.miscorrections)
        self.silent_protected_errors += int(result.silent_protected_errors)
        self.unprotected_errors += int(result.unprotected_errors)
        self.silent_product_errors += int(result.silent_product_errors)
        self.product_detections[layer] = self.product_detections.get(layer, 0) + int(result.product_detections)
        self.detections[layer] = self.detections.get(layer, 0) + int(result.detections)
        self.cycles += int(result.cycles) - (groups - 1)
        self.compute_cycles += int(result.compute_cycles) - (groups - 1)
        self.correction_cycles += int(result.correction_cycles)
        self.layer_correction_cycles[layer] = self.layer_correction_cycles.get(layer, 0) + int(result.correction_cycles)
        return result.outputs
