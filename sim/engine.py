"""The array simulator: a SimPy controller walks the folds, a grid engine runs each one.

:func:`simulate_gemm` (and :func:`simulate_grouped_gemm`, :func:`simulate_conv`) run int8
operands through the R x C array with every MAC evaluated by the chain-level model of
the registered PE at the configured timing (:mod:`sim.grid`). The discrete-event part
(:func:`run_schedule`) is a SimPy process per role:

* the *controller* walks the folds in SCALE-Sim's order (:meth:`sim.mapping.Mapping.iter_folds`);
* a *compute* process per fold occupies the array for the fold's busy cycles, then for
  its correction stall (an event of ``penalty x detection cycles``, see
  :func:`fold_correction_cycles`);
* *DRAM transfers* hold the one DRAM interface (a ``simpy.Resource``) for
  ``ceil(words / bandwidth)`` cycles: the first fold's stationary tile before it starts;
  while fold ``i`` computes, its streamed operands and partial sums, the next fold's
  stationary tile and the previous fold's finished outputs (double buffering); the last
  fold's finished outputs after it. The words per fold come from the SRAM model of
  :mod:`sim.memory` (buffer capacities, reuse); the closed form :func:`sim.memory.layer_memory`
  gives the same stall count.

Cycle counts keep SCALE-Sim's convention (:mod:`sim.cycles`): ``cycles`` is the index of
the last busy cycle, one less than the simulated time. Without errors and without a
bandwidth limit it equals :func:`sim.cycles.compute_cycles`; with a bandwidth it equals
``compute_cycles + memory_stall_cycles`` of the closed forms.

On the fast engine's screened path (:meth:`sim.grid_fast.FastGrid.run_groups`) every MAC of
a grouped GEMM runs in one kernel call before the schedule, which then only counts the
cycles (no fold work: every fold is busy for the same cycles, no correction).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import cached_property
from numbers import Integral
from typing import Any

import numpy as np
import simpy

from pe_models.chain import mac_parameters
from pe_models.errors import ConfigError
from pe_models.integers import exact_gemm
from pe_models.kernels import PARAM_ARRIVAL, PARAM_LATE_PRODUCT, PARAM_T_SHADOW
from pe_models.pe import PEConfig, StageTiming
from pe_models.variation import ProcessVariation

from . import _kernels
from .config import ArrayConfig
from .grid import FoldOperands, FoldResult, GridEngine, GridSetup, fold_busy_cycles
from .grid_detailed import DetailedGrid
from .grid_fast import FastGrid
from .layers import ConvLayer, GemmProblem, im2col, weights_to_gemm
from .mapping import Fold, Mapping, map_gemm
from .memory import BufferWords, buffer_words, iter_fold_traffic, transfer_cycles
from .memory import ifmap_words as layer_ifmap_words
from .protection import Protection
from .recovery import RazorDesign, razor_design

__all__ = [
    "DETAILED_MAX_PES",
    "ENGINES",
    "EVENT_COLUMNS",
    "GemmResult",
    "Schedule",
    "exact_gemm",
    "fold_correction_cycles",
    "fold_operands",
    "make_grid",
    "product_razor_rows",
    "run_schedule",
    "scatter_fold",
    "simulate_conv",
    "simulate_gemm",
    "simulate_grouped_gemm",
]

ENGINES: dict[str, Callable[[GridSetup], GridEngine]] = {"fast": FastGrid, "detailed": DetailedGrid}
"""The interchangeable grid engines by name (the one list of engine names)."""

DETAILED_MAX_PES = 1024
"""Largest array (in PEs, 32 x 32) the ``detailed`` engine is meant for: it steps one Python
object per PE and cycle, some 10^5 PE-cycles per second (benchmarks/bench_engines.py)."""

EVENT_COLUMNS: tuple[str, ...] = ("fold", "cycle", "row", "col", "flip_mask", "detected")
"""Columns of :attr:`GemmResult.events` (cycle is fold-local, without stalls)."""


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """Cycle accounting of one layer as the discrete-event controller counted it.

    Attributes
    ----------
    cycles : int
        Index of the last busy cycle (SCALE-Sim's convention): simulated time - 1.
    compute_cycles : int
        Sum of the folds' busy cycles - 1; equals :func:`sim.cycles.compute_cycles`.
    correction_cycles : int
        Cycles the array (or its slowest column) waited for corrections.
    memory_stall_cycles : int
        Cycles the array waited for DRAM transfers.
    fold_correction_cycles : ndarray, int64, shape (folds,)
        Correction cycles of each fold.
    """

    cycles: int
    compute_cycles: int
    correction_cycles: int
    memory_stall_cycles: int
    fold_correction_cycles: np.ndarray


def run_schedule(
    mapping: Mapping,
    array: ArrayConfig,
    fold_work: Callable[[Fold], tuple[int, int]] | None = None,
    *,
    buffers: BufferWords | None = None,
    ifmap_words: int | None = None,
    fold_corrections: np.ndarray | None = None,
) -> Schedule:
    """Walk the folds of `mapping` with SimPy: compute, correction stalls and DRAM transfers.

    Parameters
    ----------
    mapping : Mapping
        The folded GEMM problem.
    array : ArrayConfig
        Array shape, dataflow and DRAM bandwidth (``None``: transfers take no time).
    fold_work : callable, optional
        ``fold -> (busy_cycles, correction_cycles)``, called when the fold starts (it runs
        the grid engine). Default: no MACs are evaluated, busy cycles from the timeline of
        :mod:`sim.grid`, no corrections.
    buffers : BufferWords, optional
        SRAM capacities in words overriding ``array``'s (:func:`sim.memory.buffer_words`).
    ifmap_words : int, optional
        Distinct ifmap words per group (:func:`sim.memory.ifmap_words`); default ``M K``.
    fold_corrections : ndarray, int64, shape (folds,), optional
        Instead of `fold_work`: the folds already ran, each for the busy cycles of the timeline,
        with these correction cycles (mapping order).

    Returns
    -------
    Schedule

    Without a bandwidth limit no transfer takes time, so the folds are walked in order
    without SimPy (compute, then correction stall, back to back: the same counts); without
    `fold_work` either, every fold is busy for the same cycles and the totals are products.
    """
    value = array.dram_bandwidth_words_per_cycle
    bandwidth = None if value is None else Fraction(value)
    dataflow = array.dataflow
    totals = {"busy": 0, "correction": 0, "memory": 0}
    per_fold: list[int] = []

    if fold_corrections is not None:
        fold_busy = fold_busy_cycles(dataflow, array.rows, array.cols, mapping.temporal)
        corrections = fold_corrections
        if bandwidth is None:
            busy = mapping.folds * fold_busy
            correction = int(corrections.sum())
            return Schedule(
                cycles=busy + correction - 1,
                compute_cycles=busy - 1,
                correction_cycles=correction,
                memory_stall_cycles=0,
                fold_correction_cycles=np.array(corrections, dtype=np.int64),
            )

        def fold_work(fold: Fold) -> tuple[int, int]:
            return fold_busy, int(corrections[fold.index])

    def work(fold: Fold) -> tuple[int, int]:
        if fold_work is not None:
            return fold_work(fold)
        return fold_busy_cycles(dataflow, array.rows, array.cols, fold.temporal), 0

    if bandwidth is None and fold_work is None:
        busy = mapping.folds * fold_busy_cycles(dataflow, array.rows, array.cols, mapping.temporal)
        return Schedule(
            cycles=busy - 1,
            compute_cycles=busy - 1,
            correction_cycles=0,
            memory_stall_cycles=0,
            fold_correction_cycles=np.zeros(mapping.folds, dtype=np.int64),
        )
    if bandwidth is None:
        for fold in mapping.iter_folds():
            busy, correction = work(fold)
            per_fold.append(correction)
            totals["busy"] += busy
            totals["correction"] += correction
        return Schedule(
            cycles=totals["busy"] + totals["correction"] - 1,
            compute_cycles=totals["busy"] - 1,
            correction_cycles=totals["correction"],
            memory_stall_cycles=0,
            fold_correction_cycles=np.array(per_fold, dtype=np.int64),
        )

    env = simpy.Environment()
    dram = simpy.Resource(env, capacity=1)
    fold_traffic = iter_fold_traffic(
        mapping, buffer_words(array) if buffers is None else buffers, ifmap_words=ifmap_words
    )

    def transfer(words: int | Fraction) -> Generator[simpy.Event, Any, None]:
        if bandwidth is None or words == 0:
            return
        with dram.request() as request:
            yield request
            yield env.timeout(transfer_cycles(words, bandwidth))

    def compute(fold: Fold) -> Generator[simpy.Event, Any, None]:
        busy, correction = work(fold)
        per_fold.append(correction)
        yield env.timeout(busy)
        totals["busy"] += busy
        if correction:
            yield env.timeout(correction)
            totals["correction"] += correction

    def wait_for(process: simpy.Process) -> Generator[simpy.Event, Any, None]:
        ready = env.now
        yield process
        totals["memory"] += int(env.now - ready)

    def controller() -> Generator[simpy.Event, Any, None]:
        folds = mapping.iter_folds()
        current: Fold | None = next(folds)
        words = next(fold_traffic)
        yield from wait_for(env.process(transfer(words.before)))
        behind = 0
        while current is not None:
            following = next(folds, None)
            ahead = None if following is None else next(fold_traffic)
            window = env.process(transfer(behind + words.during + (0 if ahead is None else ahead.before)))
            yield env.process(compute(current))
            yield from wait_for(window)
            behind = words.after
            if ahead is not None:
                words = ahead
            current = following
        yield from wait_for(env.process(transfer(behind)))

    env.process(controller())
    env.run()
    return Schedule(
        cycles=int(env.now) - 1,
        compute_cycles=totals["busy"] - 1,
        correction_cycles=totals["correction"],
        memory_stall_cycles=totals["memory"],
        fold_correction_cycles=np.array(per_fold, dtype=np.int64),
    )


@dataclass(frozen=True, kw_only=True)
class GemmResult:
    """A GEMM (or the groups of a grouped GEMM) run through the array.

    Attributes
    ----------
    outputs : ndarray, int64, shape (M, N) or (groups, M, N)
        What the array produced: signed, wrapped to the accumulator width.
    exact : ndarray, int64, same shape
        The exact integer GEMM, wrapped the same way (computed from :attr:`operands` on
        first access, so a caller that only needs the outputs does not pay for it).
    operands : (ndarray, ndarray)
        The activations and weights the GEMM ran on (the array's inputs, not copied).
    cycles : int
        Layer latency in cycles, SCALE-Sim's convention:
        ``compute_cycles + correction_cycles + memory_stall_cycles``.
    compute_cycles : int
        Busy cycles of the folds - 1 (the closed form :func:`sim.cycles.compute_cycles`).
    correction_cycles : int
        Cycles spent waiting for corrections, counted fold by fold.
    memory_stall_cycles : int
        Cycles spent waiting for DRAM (0 with unlimited bandwidth).
    folds : int
        Folds run.
    macs : int
        MACs evaluated (``groups * M * N * K``).
    erroneous_macs : int
        MACs whose latched accumulator differs from the settled one.
    detections : int
        MACs whose Razor flip-flops detected (main and shadow samples differ on a
        protected bit), corrected with the shadow value or dropped.
    detection_cycles : int
        Sum over folds of the distinct cycles with at least one detection in the array.
    flip_counts : ndarray, int64, shape (width,)
        Wrong bits latched, per accumulator bit position (index 0 = LSB), over all MACs.
    residual_flip_counts : ndarray, int64, shape (width,)
        Wrong bits in the values the MACs passed on (after correction): the wrong bits
        that stayed in the computation.
    miscorrections : int
        Detected MACs whose correction wrote a wrong (not yet settled) shadow value.
    silent_protected_errors : int
        MACs with a protected bit wrong at the sampling instant and not detected.
    unprotected_errors : int
        MACs with an unprotected bit wrong at the sampling instant.
    product_detections : int
        MACs whose product register detected (also in `detections`, which counts a MAC with
        both detections once).
    silent_product_errors : int
        MACs with a protected product register bit wrong and not detected (later than the window).
    recovery : str
        Recovery policy (``"none"`` without protection).
    stall_cycles : int
        Cycles one recovery cost (the stall model's or the protection's; 0 without protection).
    razor_window_ps : float or None
        The Razor window used (None without protection).
    hold_buffers_per_bit : float
        Hold-fix buffers per Razor bit of the PE as built (0 without protection).
    hold_buffers, product_hold_buffers : tuple of int
        Hold-fix buffers of each accumulator bit and each product register bit of the PE as
        built (:attr:`pe_models.pe.PEConfig.hold_buffers`; empty without).
    recovery_flops_per_pe : float
        Flip-flops each PE adds for the recovery policy's buffering
        (:func:`sim.recovery.recovery_buffer_flops`).
    fold_correction_cycles : ndarray, int64, shape (folds,)
        Correction cycles per fold.
    events : ndarray, int64, shape (n, 6), or None
        With ``record_events``: every MAC with a non-zero flip mask, columns
        :data:`EVENT_COLUMNS`, sorted by fold, cycle, row, column.
    engine : str
        Grid engine used.
    width : int
        Accumulator width in bits.
    """

    outputs: np.ndarray
    operands: tuple[np.ndarray, np.ndarray] = field(repr=False, compare=False)
    cycles: int
    compute_cycles: int
    correction_cycles: int
    memory_stall_cycles: int
    folds: int
    macs: int
    erroneous_macs: int
    detections: int
    detection_cycles: int
    flip_counts: np.ndarray
    residual_flip_counts: np.ndarray
    fold_correction_cycles: np.ndarray
    events: np.ndarray | None
    engine: str
    width: int
    miscorrections: int = 0
    silent_protected_errors: int = 0
    unprotected_errors: int = 0
    product_detections: int = 0
    silent_product_errors: int = 0
    recovery: str = "none"
    stall_cycles: int = 0
    razor_window_ps: float | None = None
    hold_buffers_per_bit: float = 0.0
    recovery_flops_per_pe: float = 0.0
    hold_buffers: tuple[int, ...] = ()
    product_hold_buffers: tuple[int, ...] = ()

    @cached_property
    def exact(self) -> np.ndarray:
        """The exact integer GEMM of :attr:`operands`, wrapped to the accumulator width."""
        return exact_gemm(*self.operands, self.width)

    @property
    def recovery_cycles(self) -> int:
        """Cycles spent recovering from detections (:attr:`correction_cycles`)."""
        return self.correction_cycles

    @property
    def output_errors(self) -> np.ndarray:
        """``outputs - exact`` (int64, same shape)."""
        return self.outputs - self.exact

    @property
    def wrong_outputs(self) -> int:
        """Number of outputs that differ from the exact GEMM."""
        return int(np.count_nonzero(self.outputs != self.exact))

    @property
    def wrong_output_fraction(self) -> float:
        """Fraction of outputs that differ from the exact GEMM."""
        return self.wrong_outputs / self.outputs.size

    @property
    def max_abs_error(self) -> int:
        """Largest ``|output - exact|``."""
        return int(np.abs(self.output_errors).max())

    @property
    def mean_abs_error(self) -> float:
        """Mean of ``|output - exact|`` over all outputs."""
        return float(np.abs(self.output_errors.astype(np.float64)).mean())

    @property
    def relative_error(self) -> float:
        """``||outputs - exact||_2 / ||exact||_2`` (0 when both are zero, inf for errors on a zero GEMM)."""
        error = float(np.linalg.norm(self.output_errors.astype(np.float64)))
        norm = float(np.linalg.norm(self.exact.astype(np.float64)))
        if norm == 0.0:
            return 0.0 if error == 0.0 else float("inf")
        return error / norm


def _check_operands(activations: object, weights: object, *, grouped: bool) -> tuple[np.ndarray, np.ndarray]:
    a_shape, b_shape = ("(groups, M, K)", "(groups, K, N)") if grouped else ("(M, K)", "(K, N)")
    ndim = 3 if grouped else 2
    for name, value, shape in (("activations", activations, a_shape), ("weights", weights, b_shape)):
        if not isinstance(value, np.ndarray) or value.dtype != np.int8 or value.ndim != ndim or 0 in value.shape:
            got = (
                f"{value.dtype} array of shape {value.shape}" if isinstance(value, np.ndarray) else type(value).__name__
            )
            raise ConfigError(f"{name}: expected a non-empty int8 array of shape {shape}, got {got}")
    assert isinstance(activations, np.ndarray) and isinstance(weights, np.ndarray)
    if grouped and weights.shape[0] != activations.shape[0]:
        raise ConfigError(
            f"weights: expected {activations.shape[0]} groups (as activations), got shape {weights.shape}"
        )
    if weights.shape[-2] != activations.shape[-1]:
        raise ConfigError(
            f"weights: expected K = {activations.shape[-1]} rows (the columns of activations), "
            f"got shape {weights.shape}"
        )
    return activations, weights


def _seed_sequence(seed: object) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, Integral) and not isinstance(seed, bool) and int(seed) >= 0:
        return np.random.SeedSequence(int(seed))
    raise ConfigError(f"seed: expected a non-negative integer or a numpy.random.SeedSequence, got {seed!r}")


_PARAMETER_CACHE: OrderedDict[tuple, np.ndarray] = OrderedDict()
_PARAMETER_CACHE_SIZE = 4


def _parameters(
    pe: PEConfig,
    timing: StageTiming,
    variation: ProcessVariation | None,
    root: np.random.SeedSequence,
    rows: int,
    cols: int,
    window_fs: int = 0,
) -> np.ndarray:
    """MAC parameter rows, one per PE with process variation; the last few are kept.

    With variation, :func:`pe_models.chain.mac_parameters` walks the multiplier netlist
    once per PE (10-20 s for 256 x 256 PEs), so the layers of one die reuse the rows.
    """
    key: tuple = (pe, timing, window_fs)
    if variation is not None:
        key += (variation, rows, cols, root.entropy, tuple(root.spawn_key), root.pool_size)
    params = _PARAMETER_CACHE.get(key)
    if params is None:
        factors = None
        if variation is not None:
            factors = variation.pe_delay_factors(shape=(rows, cols), seed=root).ravel()
        params = mac_parameters(pe, timing, lane_factors=factors, window_fs=window_fs)
        _PARAMETER_CACHE[key] = params
        while len(_PARAMETER_CACHE) > _PARAMETER_CACHE_SIZE:
            _PARAMETER_CACHE.popitem(last=False)
    _PARAMETER_CACHE.move_to_end(key)
    return params


def product_razor_rows(params: np.ndarray, product_mask: int) -> tuple[np.ndarray, np.ndarray]:
    """Parameter rows with the product register as recovered, and its Razor masks per row.

    A product bit whose static arrival (``PARAM_ARRIVAL``) is later than the sampling
    instant keeps its old value (``PARAM_LATE_PRODUCT``). A protected one whose arrival is
    at most the shadow instant (``PARAM_T_SHADOW``) is caught: the shadow latch holds the
    new value, the MAC replays with it, so the recovered product register takes the new
    value of that bit. A protected one arriving later is missed by the shadow latch too.

    Parameters
    ----------
    params : ndarray, int64, shape (n, P)
        Rows of :func:`pe_models.chain.mac_parameters`.
    product_mask : int
        Protected product register bits, 0..0xFFFF.

    Returns
    -------
    rows : ndarray, int64, shape (n, P)
        A copy of `params` whose ``PARAM_LATE_PRODUCT`` leaves out the caught bits (`params`
        itself when `product_mask` is 0).
    masks : ndarray, int64, shape (n, 2)
        Per row, the caught and the missed protected product bits.
    """
    weights = np.left_shift(np.int64(1), np.arange(16, dtype=np.int64))
    arrival = params[:, PARAM_ARRIVAL : PARAM_ARRIVAL + 16]
    after_shadow = ((arrival > params[:, PARAM_T_SHADOW, None]) * weights).sum(axis=1)
    late = params[:, PARAM_LATE_PRODUCT]
    caught = late & ~after_shadow & int(product_mask)
    missed = late & after_shadow & int(product_mask)
    masks = np.stack([caught, missed], axis=1).astype(np.int64)
    if not product_mask:
        return params, masks
    rows = params.copy()
    rows[:, PARAM_LATE_PRODUCT] = late & ~caught
    return rows, masks


_SETUP_CACHE: OrderedDict[tuple, tuple[tuple, GridSetup, RazorDesign | None]] = OrderedDict()
_SETUP_CACHE_SIZE = 64


def _cached_grid_setup(
    array: ArrayConfig,
    pe: PEConfig,
    timing: StageTiming,
    protection: Protection | None,
    variation: ProcessVariation | None,
    seed: object,
    record_events: bool,
) -> tuple[GridSetup, RazorDesign | None]:
    """:func:`_grid_setup`, kept for the last few sets of the same (immutable) objects: a network's layers
    ask with the same array, PE, timing, protection and die, and building the setup (hashing the PE
    for the design and parameter caches, validating) costs more than a small depthwise GEMM."""
    objects = (array, pe, timing, protection, variation, seed)
    key = (*map(id, objects), bool(record_events))
    entry = _SETUP_CACHE.get(key)
    if entry is not None and all(kept is given for kept, given in zip(entry[0], objects, strict=True)):
        _SETUP_CACHE.move_to_end(key)
        return entry[1], entry[2]
    setup, design = _grid_setup(array, pe, timing, protection, variation, seed, record_events)
    _SETUP_CACHE[key] = (objects, setup, design)
    while len(_SETUP_CACHE) > _SETUP_CACHE_SIZE:
        _SETUP_CACHE.popitem(last=False)
    return setup, design


def _grid_setup(
    array: ArrayConfig,
    pe: PEConfig,
    timing: StageTiming,
    protection: Protection | None,
    variation: ProcessVariation | None,
    seed: object,
    record_events: bool,
) -> tuple[GridSetup, RazorDesign | None]:
    if not isinstance(array, ArrayConfig):
        raise ConfigError(f"array: expected an ArrayConfig, got {type(array).__name__}")
    if not isinstance(pe, PEConfig):
        raise ConfigError(f"pe: expected a PEConfig, got {type(pe).__name__}")
    if not isinstance(timing, StageTiming):
        raise ConfigError(f"timing: expected a StageTiming (pe_models.pe.stage_timing), got {type(timing).__name__}")
    if protection is not None and not isinstance(protection, Protection):
        raise ConfigError(f"protection: expected a Protection or None, got {type(protection).__name__}")
    if variation is not None and not isinstance(variation, ProcessVariation):
        raise ConfigError(f"variation: expected a ProcessVariation or None, got {type(variation).__name__}")
    if array.accumulator_bits != pe.width:
        raise ConfigError(
            f"array.accumulator_bits: expected the PE accumulator width {pe.width}, got {array.accumulator_bits}"
        )
    if abs(timing.t_clk_fs - 1e9 / array.f_clk_mhz) > 1:
        raise ConfigError(
            f"timing: the PE is timed at {1e9 / timing.t_clk_fs:.6g} MHz but array.f_clk_mhz is "
            f"{array.f_clk_mhz:g} MHz; time it at the array's clock, e.g. stage_timing(pe, "
            f"operating_point=OperatingPoint(vdd_v=..., f_clk_mhz={array.f_clk_mhz:g}))"
        )
    root = _seed_sequence(seed)
    design = None
    if protection is not None:
        protection.check_width(pe.width)
        design = razor_design(
            protection,
            rows=array.rows,
            cols=array.cols,
            dataflow=array.dataflow,
            f_clk_mhz=array.f_clk_mhz,
            pe=pe,
            timing=timing,
        )
        pe, timing = design.pe, design.timing
    window = 0 if design is None else design.window_fs
    params = _parameters(pe, timing, variation, root, array.rows, array.cols, window)
    product_masks = None
    if protection is not None and protection.product_mask:
        params, product_masks = product_razor_rows(params, protection.product_mask)
    setup = GridSetup(
        rows=array.rows,
        cols=array.cols,
        dataflow=array.dataflow,
        params=params,
        width=pe.width,
        protected_mask=0 if protection is None else protection.protected_mask,
        recovery="global" if protection is None else protection.recovery,
        record_events=record_events,
        product_masks=product_masks,
    )
    return setup, design


def fold_operands(dataflow: str, fold: Fold, activations: np.ndarray, weights: np.ndarray) -> FoldOperands:
    """Cut the operands of `fold` out of one GEMM's ``activations (M, K)`` and ``weights (K, N)``.

    ws: weights ``B[k, n]`` stationary, activations ``A[m, k]`` stream (t = m) into row k;
    is: activations stationary at PE (k, m), weights stream (t = n) into row k;
    os: ``A[m, k]`` streams (t = k) into row m, ``B[k, n]`` into column n.
    """
    m, n, k = slice(fold.m_start, fold.m_stop), slice(fold.n_start, fold.n_stop), slice(fold.k_start, fold.k_stop)
    if dataflow == "ws":
        return FoldOperands(
            row_stream=np.ascontiguousarray(activations[m, k].T), stationary=np.ascontiguousarray(weights[k, n])
        )
    if dataflow == "is":
        return FoldOperands(
            row_stream=np.ascontiguousarray(weights[k, n]), stationary=np.ascontiguousarray(activations[m, k].T)
        )
    return FoldOperands(
        row_stream=np.ascontiguousarray(activations[m, k]), col_stream=np.ascontiguousarray(weights[k, n].T)
    )


def scatter_fold(dataflow: str, fold: Fold, tile: np.ndarray, outputs: np.ndarray, width: int) -> None:
    """Add a fold's output tile into the output buffer ``outputs (M, N)`` (int64, `width`-bit signed).

    The output buffer adds the partial results of successive row folds with an exact
    adder wrapped to the accumulator width: it is not a PE of the array.
    ws: ``tile (cols_used, M)`` -> ``C[:, n]``; is: ``tile (cols_used, N)`` -> ``C[m, :]``;
    os: ``tile (rows_used, cols_used)`` -> ``C[m, n]``. The tile holds unsigned patterns
    (int64 or uint32).
    """
    m, n = slice(fold.m_start, fold.m_stop), slice(fold.n_start, fold.n_stop)
    _kernels.add_tile(outputs[m, n], tile, dataflow == "ws", width)


def fold_correction_cycles(result: FoldResult, protection: Protection | None) -> int:
    """Recovery cycles of one fold under the protection's recovery policy.

    ``global``: ``penalty * detection_cycles``. ``column``: each column is delayed by
    ``penalty`` per cycle in which it detected; the next fold starts when the most
    delayed column has drained, so the fold is ``penalty * max(column_detection_cycles)``
    longer. ``local``: every replay delays the MACs downstream and to the right of it, so
    the fold is ``penalty * replay_depth`` longer (the most detections on one monotone
    path of MACs). ``drop``: 0.
    """
    per_column = result.column_detection_cycles
    return int(
        _correction_cycles(
            protection, result.detection_cycles, int(per_column.max()) if per_column.size else 0, result.replay_depth
        )
    )


def _correction_cycles(
    protection: Protection | None, detection_cycles: Any, column_cycles: Any, replay_depth: Any
) -> Any:
    """:func:`fold_correction_cycles` of one fold (ints) or of many (int64 arrays, shape (folds,)), from the
    fold's detection cycles, the most detection cycles of one of its columns and its replay depth."""
    if protection is None or protection.penalty_cycles == 0:
        return 0 * detection_cycles
    if protection.penalty_cycles is None:
        raise ValueError("fold_correction_cycles: resolve the stall cycles first (sim.recovery.razor_design)")
    if protection.recovery == "global":
        return protection.penalty_cycles * detection_cycles
    if protection.recovery == "local":
        return protection.penalty_cycles * replay_depth
    if protection.recovery == "drop":
        return 0 * detection_cycles
    return protection.penalty_cycles * column_cycles


def make_grid(engine: str, setup: GridSetup) -> GridEngine:
    """The grid engine named `engine` (a key of :data:`ENGINES`) for `setup`.

    Raises
    ------
    ConfigError
        ``engine: expected one of fast, detailed, got 'x'``.
    """
    if engine not in ENGINES:
        raise ConfigError(f"engine: expected one of {', '.join(ENGINES)}, got {engine!r}")
    return ENGINES[engine](setup)


def simulate_grouped_gemm(
    activations: np.ndarray,
    weights: np.ndarray,
    *,
    array: ArrayConfig,
    pe: PEConfig,
    timing: StageTiming,
    protection: Protection | None = None,
    variation: ProcessVariation | None = None,
    seed: int | np.random.SeedSequence = 0,
    engine: str = "fast",
    record_events: bool = False,
    ifmap_words: int | None = None,
) -> GemmResult:
    """Run ``groups`` independent GEMMs back to back on the array (a grouped convolution).

    Parameters
    ----------
    activations : ndarray, int8, shape (groups, M, K)
    weights : ndarray, int8, shape (groups, K, N)
    array, pe, timing, protection, variation, seed, engine, record_events
        As :func:`simulate_gemm`.
    ifmap_words : int, optional
        Distinct ifmap words per group for the memory model when the activations are an
        im2col matrix (:func:`sim.memory.ifmap_words`); default ``M K``.

    Returns
    -------
    GemmResult
        With ``outputs`` and ``exact`` of shape (groups, M, N).
    """
    activations, weights = _check_operands(activations, weights, grouped=True)
    if engine not in ENGINES:
        raise ConfigError(f"engine: expected one of {', '.join(ENGINES)}, got {engine!r}")
    setup, design = _cached_grid_setup(array, pe, timing, protection, variation, seed, record_events)
    if design is not None:
        protection = design.protection
    grid = make_grid(engine, setup)
    groups, m, k = activations.shape
    n = weights.shape[2]
    mapping = map_gemm(GemmProblem(m=m, n=n, k=k, groups=groups), array)
    outputs = np.zeros((groups, m, n), dtype=np.int64)
    width = setup.width
    flip_counts = np.zeros(width, dtype=np.int64)
    residual = np.zeros(width, dtype=np.int64)
    counters = dict.fromkeys(
        (
            "macs",
            "erroneous",
            "detections",
            "detection_cycles",
            "miscorrections",
            "silent",
            "unprotected",
            "product_detections",
            "silent_product",
        ),
        0,
    )
    events: list[np.ndarray] = []
    grouped = grid.run_groups(activations, weights, outputs) if isinstance(grid, FastGrid) else None
    if grouped is not None:
        counters.update(macs=groups * m * n * k, erroneous=grouped.erroneous_macs, unprotected=grouped.erroneous_macs)
        flip_counts[:] = grouped.flip_counts
        residual[:] = grouped.flip_counts
    corrections = None
    tallied = None
    if grouped is None and isinstance(grid, FastGrid):
        tallied = grid.run_stationary_groups(activations, weights, outputs)
    if tallied is not None:
        counters.update(
            macs=groups * m * n * k,
            erroneous=tallied.erroneous_macs,
            detections=tallied.detections,
            detection_cycles=int(tallied.detection_cycles.sum()),
            miscorrections=tallied.miscorrections,
            silent=tallied.silent_protected_errors,
            unprotected=tallied.unprotected_errors,
            product_detections=tallied.product_detections,
            silent_product=tallied.silent_product_errors,
        )
        flip_counts[:] = tallied.flip_counts
        residual[:] = tallied.residual_flip_counts
        corrections = _correction_cycles(
            protection, tallied.detection_cycles, tallied.column_detection_cycles, tallied.replay_depth
        )

    def fold_work(fold: Fold) -> tuple[int, int]:
        operands = fold_operands(array.dataflow, fold, activations[fold.group], weights[fold.group])
        result = grid.run_fold(fold, operands)
        scatter_fold(array.dataflow, fold, result.tile, outputs[fold.group], width)
        flip_counts[:] += result.flip_counts
        residual[:] += result.residual_flip_counts
        counters["macs"] += result.macs
        counters["erroneous"] += result.erroneous_macs
        counters["detections"] += result.detections
        counters["detection_cycles"] += result.detection_cycles
        counters["miscorrections"] += result.miscorrections
        counters["silent"] += result.silent_protected_errors
        counters["unprotected"] += result.unprotected_errors
        counters["product_detections"] += result.product_detections
        counters["silent_product"] += result.silent_product_errors
        if result.events is not None:
            index = np.full((result.events.shape[0], 1), fold.index, dtype=np.int64)
            events.append(np.hstack([index, result.events]))
        return result.busy_cycles, fold_correction_cycles(result, protection)

    schedule = run_schedule(
        mapping,
        array,
        None if grouped is not None or corrections is not None else fold_work,
        ifmap_words=ifmap_words,
        fold_corrections=corrections,
    )
    recorded = None
    if record_events:
        recorded = np.vstack(events) if events else np.zeros((0, len(EVENT_COLUMNS)), dtype=np.int64)
    return GemmResult(
        outputs=outputs,
        operands=(activations, weights),
        cycles=schedule.cycles,
        compute_cycles=schedule.compute_cycles,
        correction_cycles=schedule.correction_cycles,
        memory_stall_cycles=schedule.memory_stall_cycles,
        folds=mapping.folds,
        macs=counters["macs"],
        erroneous_macs=counters["erroneous"],
        detections=counters["detections"],
        detection_cycles=counters["detection_cycles"],
        miscorrections=counters["miscorrections"],
        silent_protected_errors=counters["silent"],
        unprotected_errors=counters["unprotected"],
        product_detections=counters["product_detections"],
        silent_product_errors=counters["silent_product"],
        recovery="none" if protection is None else protection.recovery,
        stall_cycles=0 if design is None else design.stall.stall_cycles,
        razor_window_ps=None if design is None else design.window_fs / 1000,
        hold_buffers_per_bit=0.0 if design is None else design.hold_buffers_per_bit,
        hold_buffers=() if design is None else tuple(design.pe.hold_buffers),
        product_hold_buffers=() if design is None else tuple(design.pe.product_hold_buffers),
        recovery_flops_per_pe=0.0 if design is None else design.stall.buffer_flops_per_pe,
        flip_counts=flip_counts,
        residual_flip_counts=residual,
        fold_correction_cycles=schedule.fold_correction_cycles,
        events=recorded,
        engine=engine,
        width=width,
    )


def simulate_gemm(
    activations: np.ndarray,
    weights: np.ndarray,
    *,
    array: ArrayConfig,
    pe: PEConfig,
    timing: StageTiming,
    protection: Protection | None = None,
    variation: ProcessVariation | None = None,
    seed: int | np.random.SeedSequence = 0,
    engine: str = "fast",
    record_events: bool = False,
) -> GemmResult:
    """Run ``activations @ weights`` on the array, every MAC through the chain-level PE model.

    Parameters
    ----------
    activations : ndarray, int8, shape (M, K)
    weights : ndarray, int8, shape (K, N)
    array : ArrayConfig
        Array shape, dataflow, DRAM bandwidth; ``accumulator_bits`` must equal ``pe.width``.
    pe : PEConfig
        Registered pipeline with the ``rca`` adder.
    timing : StageTiming
        Clock period and delays at the supply voltage (:func:`pe_models.pe.stage_timing`).
    protection : Protection, optional
        Protected accumulator and product register bits, recovery policy and stall; None: no
        detection.
    variation : ProcessVariation, optional
        Per-PE delay factors drawn from `seed` (one die); None: nominal delays everywhere.
    seed : int or numpy.random.SeedSequence
        Root of all randomness (the process-variation draw).
    engine : str
        ``"fast"`` (numba, default) or ``"detailed"`` (PE objects; small arrays).
    record_events : bool
        Keep every erroneous MAC in :attr:`GemmResult.events` (small problems only).

    Returns
    -------
    GemmResult
        ``outputs`` and ``exact`` of shape (M, N). Memory is O(M K + K N + M N) plus
        O(T + R + C) per fold: nothing of size M x N x K is built.

    Raises
    ------
    ConfigError
        Bad operands (dtype, shape), engine, widths or configuration.
    """
    activations, weights = _check_operands(activations, weights, grouped=False)
    result = simulate_grouped_gemm(
        activations[None],
        weights[None],
        array=array,
        pe=pe,
        timing=timing,
        protection=protection,
        variation=variation,
        seed=seed,
        engine=engine,
        record_events=record_events,
    )
    return _ungrouped(result)


def _ungrouped(result: GemmResult) -> GemmResult:
    activations, weights = result.operands
    return replace(result, outputs=result.outputs[0], operands=(activations[0], weights[0]))


def simulate_conv(
    layer: ConvLayer,
    ifmap: np.ndarray,
    filters: np.ndarray,
    **options: Any,
) -> GemmResult:
    """Run a convolution on the array: im2col, then one GEMM per group, back to back.

    Parameters
    ----------
    layer : ConvLayer
    ifmap : ndarray, int8, shape (channels, ifmap_h, ifmap_w)
    filters : ndarray, int8, shape (num_filters, channels / groups, filter_h, filter_w)
    **options
        Keyword arguments of :func:`simulate_gemm` (``array``, ``pe``, ``timing``, ...).

    Returns
    -------
    GemmResult
        ``outputs`` of shape (groups, M, N); :func:`sim.layers.gemm_output_to_ofmap` turns
        them into the output feature map.
    """
    return simulate_grouped_gemm(
        im2col(layer, ifmap), weights_to_gemm(layer, filters), ifmap_words=layer_ifmap_words(layer), **options
    )
