"""Closed-form cycle counts, utilisation and memory stalls per layer.

Compute cycles equal SCALE-Sim v2's ``Total cycles`` exactly. SCALE-Sim builds, for every
fold, demand matrices with one row per clock cycle (``compute/systolic_compute_*.py``)
and reports the cycle index of the last output write, counting from 0
(``memory/double_buffered_scratchpad_mem.py``: ``total_cycles =
ofmap_serviced_cycles[-1]``). With ``F`` folds of ``c`` cycles each that is
``F * c - 1``, where

- ws and is: ``c = 2 R + C + T - 2`` -- ``R`` cycles to load the stationary operand,
  ``R - 1`` of skew for the streamed operand entering the rows, ``T`` cycles of streaming
  and ``C - 1`` to drain the last partial sums across the columns;
- os: ``c = R + C + T - 2`` -- ``T`` cycles of streaming, ``R - 1`` and ``C - 1`` of
  skew of the two streamed operands, the outputs draining while the next fold starts.

Memory stalls come from the SRAM/DRAM model of :mod:`sim.memory` (not SCALE-Sim's memory system).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .config import ArrayConfig
from .layers import GemmProblem, Layer
from .mapping import Mapping, map_gemm
from .memory import MemoryReport, ifmap_words, layer_memory

__all__ = [
    "LayerReport",
    "TopologySummary",
    "compute_cycles",
    "fold_cycles",
    "gemm_report",
    "layer_report",
    "memory_stall_cycles",
    "summarize",
    "topology_report",
]


def fold_cycles(*, rows: int, cols: int, temporal: int, dataflow: str) -> int:
    """Cycles one fold occupies the array, fill and drain included.

    Parameters
    ----------
    rows, cols : int
        Array shape R x C (the whole array, used or not: SCALE-Sim pads a partial fold).
    temporal : int
        Length T of the streamed dimension.
    dataflow : str
        ``"ws"``, ``"os"`` or ``"is"``.

    Returns
    -------
    int
        ``2 R + C + T - 2`` for ws and is, ``R + C + T - 2`` for os.
    """
    if dataflow == "os":
        return rows + cols + temporal - 2
    return 2 * rows + cols + temporal - 2


def _utilisation_window_cycles(mapping: Mapping) -> int:
    """The per-fold cycle count SCALE-Sim divides by in its compute utilisation.

    ``cycles_this_fold = demand.shape[0] + demand.shape[1] - 1`` of the unskewed filter
    (ws), ifmap (is) or ofmap (os) demand matrix: ``2 R + 2 C + T - 3`` for ws and is,
    ``R + C + T - 2`` for os.
    """
    rows, cols, temporal = mapping.rows, mapping.cols, mapping.temporal
    if mapping.dataflow == "os":
        return rows + cols + temporal - 2
    return 2 * rows + 2 * cols + temporal - 3


def compute_cycles(problem: GemmProblem, config: ArrayConfig) -> int:
    """SCALE-Sim v2's compute cycles of a GEMM problem: ``folds * fold_cycles - 1``.

    This is the index (from 0) of the cycle in which the last output is written, as
    SCALE-Sim reports it; the array is busy for one cycle more.
    """
    mapping = map_gemm(problem, config)
    per_fold = fold_cycles(rows=config.rows, cols=config.cols, temporal=mapping.temporal, dataflow=config.dataflow)
    return mapping.folds * per_fold - 1


def memory_stall_cycles(problem: GemmProblem, config: ArrayConfig) -> int:
    """Cycles the array waits for DRAM: the SRAM/DRAM model of :func:`sim.memory.layer_memory`.

    Zero when the bandwidth is unlimited (``None``).
    """
    return layer_memory(problem, config).stall_cycles


@dataclass(frozen=True, kw_only=True)
class LayerReport:
    """Compute report of one layer, like a row of SCALE-Sim's ``COMPUTE_REPORT.csv``.

    Attributes
    ----------
    name : str
        Layer name.
    m, n, k, groups : int
        The GEMM problem the layer was lowered to.
    dataflow : str
        Dataflow of the array.
    row_folds, col_folds, folds : int
        Fold counts (``folds = groups * row_folds * col_folds``).
    compute_cycles : int
        SCALE-Sim's compute cycles (:func:`compute_cycles`).
    stall_cycles : int
        Memory stall cycles (:func:`memory_stall_cycles`), 0 without a bandwidth limit.
    macs : int
        Multiply-accumulates, ``groups * m * n * k``.
    mac_units : int
        PEs in the array, ``R * C``.
    mapping_efficiency : float
        Mean fraction of PEs mapped to work per fold, in (0, 1].
    compute_utilisation : float
        SCALE-Sim's mean per-fold compute utilisation, in (0, 1].
    memory : MemoryReport
        SRAM and DRAM accesses per operand, bandwidth needs and stall cycles
        (:func:`sim.memory.layer_memory`); ``stall_cycles == memory.stall_cycles``.
    """

    name: str
    m: int
    n: int
    k: int
    groups: int
    dataflow: str
    row_folds: int
    col_folds: int
    folds: int
    compute_cycles: int
    stall_cycles: int
    macs: int
    mac_units: int
    mapping_efficiency: float
    compute_utilisation: float
    memory: MemoryReport

    @property
    def total_cycles(self) -> int:
        """``compute_cycles + stall_cycles``."""
        return self.compute_cycles + self.stall_cycles

    @property
    def overall_utilisation(self) -> float:
        """``macs / (mac_units * total_cycles)``, SCALE-Sim's overall utilisation.

        It can exceed 1 only for a 1 x 1 array in os, where SCALE-Sim's count
        ``folds * K - 1`` is one cycle below the MAC count; a zero cycle count
        (1 x 1 x 1 GEMM on a 1 x 1 os array) gives 1.
        """
        return self.macs / (self.mac_units * max(self.total_cycles, 1))


def gemm_report(name: str, problem: GemmProblem, config: ArrayConfig, *, ifmap_words: int | None = None) -> LayerReport:
    """Compute report of one GEMM problem on the array of `config`.

    `ifmap_words`: distinct ifmap words per group for the memory model
    (:func:`sim.memory.ifmap_words`); default ``M K``.
    """
    mapping = map_gemm(problem, config)
    mapping_efficiency = mapping.mapping_efficiency
    compute_utilisation = mapping_efficiency * mapping.temporal / _utilisation_window_cycles(mapping)
    memory = layer_memory(problem, config, ifmap_words=ifmap_words)
    return LayerReport(
        name=name,
        m=problem.m,
        n=problem.n,
        k=problem.k,
        groups=problem.groups,
        dataflow=config.dataflow,
        row_folds=mapping.row_folds,
        col_folds=mapping.col_folds,
        folds=mapping.folds,
        compute_cycles=compute_cycles(problem, config),
        stall_cycles=memory.stall_cycles,
        macs=problem.macs,
        mac_units=config.mac_units,
        mapping_efficiency=mapping_efficiency,
        compute_utilisation=compute_utilisation,
        memory=memory,
    )


def layer_report(layer: Layer, config: ArrayConfig, *, scalesim_compat: bool = False) -> LayerReport:
    """Compute report of one layer (lowered with or without SCALE-Sim's conventions)."""
    return gemm_report(
        layer.name,
        layer.gemm(scalesim_compat=scalesim_compat),
        config,
        ifmap_words=ifmap_words(layer, scalesim_compat=scalesim_compat),
    )


def topology_report(
    layers: Iterable[Layer], config: ArrayConfig, *, scalesim_compat: bool = False
) -> tuple[LayerReport, ...]:
    """Compute reports of every layer, in order."""
    return tuple(layer_report(layer, config, scalesim_compat=scalesim_compat) for layer in layers)


@dataclass(frozen=True, kw_only=True)
class TopologySummary:
    """Totals over the layers of a topology, run one after another.

    Attributes
    ----------
    layers : int
        Number of layers.
    compute_cycles, stall_cycles, total_cycles : int
        Sums over the layers.
    macs : int
        Total multiply-accumulates.
    mac_units : int
        PEs in the array.
    latency_us : float
        ``total_cycles / f_clk_mhz``, microseconds.
    """

    layers: int
    compute_cycles: int
    stall_cycles: int
    total_cycles: int
    macs: int
    mac_units: int
    latency_us: float

    @property
    def overall_utilisation(self) -> float:
        """``macs / (mac_units * total_cycles)``."""
        return self.macs / (self.mac_units * max(self.total_cycles, 1))

    @property
    def mac_cycles(self) -> int:
        """PE-cycles the array is occupied, ``mac_units * total_cycles``."""
        return self.mac_units * self.total_cycles


def summarize(reports: Sequence[LayerReport], config: ArrayConfig) -> TopologySummary:
    """Totals of `reports` (layers executed back to back) on the array of `config`."""
    compute = sum(report.compute_cycles for report in reports)
    stall = sum(report.stall_cycles for report in reports)
    return TopologySummary(
        layers=len(reports),
        compute_cycles=compute,
        stall_cycles=stall,
        total_cycles=compute + stall,
        macs=sum(report.macs for report in reports),
        mac_units=config.mac_units,
        latency_us=config.cycles_to_us(compute + stall),
    )
