"""Per-layer cycles and utilisation of a topology on one array (closed forms of :mod:`sim.cycles`).

Compute cycles are SCALE-Sim v2's; the SRAM/DRAM model of :mod:`sim.memory` gives every
layer's SRAM and DRAM accesses per operand, the bandwidth it needs and, with a DRAM
bandwidth limit, its stall cycles (docs/latency.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from experiments.configs import parse_sram_kib, with_sram_kib
from experiments.results import StudyResult, columns_of
from experiments.vocabulary import ConfigFields
from sim.config import ArrayConfig
from sim.cycles import summarize, topology_report
from sim.memory import ACCESS_COLUMNS, MemoryReport
from workloads.topologies import Topology, load_topology

from .common import Study, as_config, check_topology, resolve_array, set_field

__all__ = ["LatencyConfig", "LatencyResult", "LatencyRow", "latency", "topology_record"]


@dataclass(frozen=True, kw_only=True)
class LatencyConfig(ConfigFields):
    """A topology on one array.

    Attributes
    ----------
    topology : str or path
        Topology CSV file (SCALE-Sim convolution or GEMM format, or vscale format) or a
        built-in name (``mobilenetv2``, ``resnet18``, ``resnet50``, ...).
    config_file : str or path, optional
        Array configuration: a SCALE-Sim ``.cfg`` or a vscale TOML file with an ``[array]``
        table; the fields below override it (default: none, a 256x256 ws array, 700 MHz,
        unlimited bandwidth).
    array : "RxC" or (rows, cols), optional
        Array shape in PEs, rows x columns, each >= 1, e.g. 256x256 or 128x512 (default:
        from `config_file`, else 256x256).
    dataflow : str, optional
        ``ws`` (weights stationary), ``os`` (outputs stationary) or ``is`` (inputs
        stationary) (default: from `config_file`, else ws).
    bandwidth : float or "unlimited", optional
        DRAM bandwidth in words per cycle, > 0 (a word is ``word_bytes`` bytes, 1 for int8),
        shared by reads and writes; adds the stall cycles of the SRAM/DRAM model of
        ``docs/latency.md`` (not SCALE-Sim's memory system); ``unlimited`` for none
        (default: from `config_file`, else unlimited, no stalls).
    f_clk_mhz : float, optional
        Clock frequency in MHz for ``latency_us``, > 0 (default: from `config_file`, else 700).
    scalesim_compat : bool
        Lower layers as SCALE-Sim v2 does: output size ``ceil((H-F+S)/S)``, grouped and
        depthwise layers as num_filters/groups filters over all channels, ``DP`` rows split
        per channel; reproduces SCALE-Sim's cycle counts (default: depthwise mapped as one
        GEMM per group).
    sram_kib : int, "I,F,O" or (ifmap, filter, ofmap), optional
        SRAM buffer sizes in KiB, positive integers: one for all three buffers or one each
        (default: from `config_file`, else 6144,6144,2048).
    """

    topology: str | Path
    config_file: str | Path | None = None
    array: Any = None
    dataflow: str | None = None
    bandwidth: Any = None
    f_clk_mhz: float | None = None
    scalesim_compat: bool = False
    sram_kib: Any = None

    def __post_init__(self) -> None:
        check_topology(self.topology)
        if self.sram_kib is not None:
            set_field(self, "sram_kib", parse_sram_kib(self.sram_kib, option="sram_kib"))
        self.array_config()

    def array_config(self) -> ArrayConfig:
        """The array these fields describe."""
        array = resolve_array(
            config_file=self.config_file,
            array=self.array,
            dataflow=self.dataflow,
            bandwidth=self.bandwidth,
            f_clk_mhz=self.f_clk_mhz,
        )
        return with_sram_kib(array, self.sram_kib)


@dataclass(frozen=True, kw_only=True)
class LatencyRow:
    """One layer of the topology on the array.

    Attributes
    ----------
    layer_id : int
        Position in the topology (0-based).
    layer_name : str
    m, n, k, groups : int
        The layer's GEMM ``C[M, N] = A[M, K] @ B[K, N]``, per group.
    dataflow, array : str
        Dataflow and array shape (``RxC``).
    row_folds, col_folds, folds : int
        Folds of the mapping (tiles of the array), per group and in total.
    compute_cycles, stall_cycles, total_cycles : int
        SCALE-Sim's compute cycles, DRAM stall cycles, their sum.
    macs : int
        Multiply-accumulates of the layer.
    overall_util_pct : float
        ``macs / (PEs x total cycles)`` in %.
    mapping_eff_pct : float
        Share of the PEs the folds use, averaged over folds, in %.
    compute_util_pct : float
        ``macs / (PEs x compute cycles)`` in %.
    latency_us : float
        ``total_cycles`` at the clock frequency, in µs.
    memory : MemoryReport
        The layer's SRAM and DRAM accesses per operand and its DRAM bandwidth, rendered as the
        columns :data:`sim.memory.ACCESS_COLUMNS` (``ifmap_sram_reads`` ...
        ``peak_dram_bw_words_per_cycle``; meanings in :class:`sim.memory.MemoryReport`).
    """

    layer_id: int
    layer_name: str
    m: int
    n: int
    k: int
    groups: int
    dataflow: str
    array: str
    row_folds: int
    col_folds: int
    folds: int
    compute_cycles: int
    stall_cycles: int
    total_cycles: int
    macs: int
    overall_util_pct: float
    mapping_eff_pct: float
    compute_util_pct: float
    latency_us: float
    memory: MemoryReport = field(metadata=columns_of(ACCESS_COLUMNS), repr=False)


@dataclass(frozen=True, kw_only=True)
class LatencyResult(StudyResult[LatencyRow, LatencyConfig]):
    """Per-layer rows; ``totals``: layers, compute/stall/total cycles, macs, mac_units,
    overall_util_pct, latency_us, f_clk_mhz.

    Attributes
    ----------
    topology : Topology
        The topology as read.
    array_config : ArrayConfig
        The array it ran on.
    """

    row_type = LatencyRow

    topology: Topology
    array_config: ArrayConfig


def latency(config: LatencyConfig | None = None, /, **fields: Any) -> LatencyResult:
    """Cycles, utilisation and latency of every layer of a topology on one array.

    Parameters
    ----------
    config : LatencyConfig, optional
        Or its fields as keyword arguments (``topology="resnet18"``, ``array="128x128"`` ...).
    """
    config = as_config(LatencyConfig, config, fields)
    array = config.array_config()
    topology = load_topology(config.topology, scalesim_compat=config.scalesim_compat)
    reports = topology_report(topology.layers, array, scalesim_compat=config.scalesim_compat)
    summary = summarize(reports, array)
    rows = tuple(
        LatencyRow(
            layer_id=index,
            layer_name=report.name,
            m=report.m,
            n=report.n,
            k=report.k,
            groups=report.groups,
            dataflow=report.dataflow,
            array=array.shape,
            row_folds=report.row_folds,
            col_folds=report.col_folds,
            folds=report.folds,
            compute_cycles=report.compute_cycles,
            stall_cycles=report.stall_cycles,
            total_cycles=report.total_cycles,
            macs=report.macs,
            overall_util_pct=100.0 * report.overall_utilisation,
            mapping_eff_pct=100.0 * report.mapping_efficiency,
            compute_util_pct=100.0 * report.compute_utilisation,
            latency_us=array.cycles_to_us(report.total_cycles),
            memory=report.memory,
        )
        for index, report in enumerate(reports)
    )
    totals = {
        "layers": summary.layers,
        "folds": sum(report.folds for report in reports),
        "compute_cycles": summary.compute_cycles,
        "stall_cycles": summary.stall_cycles,
        "total_cycles": summary.total_cycles,
        "macs": summary.macs,
        "mac_units": summary.mac_units,
        "overall_util_pct": 100.0 * summary.overall_utilisation,
        "latency_us": summary.latency_us,
        "f_clk_mhz": float(array.f_clk_mhz),
        "dram_words": sum(report.memory.dram_words for report in reports),
        "compulsory_dram_words": sum(report.memory.compulsory_dram_words for report in reports),
        "sram_words": sum(report.memory.sram_reads + report.memory.sram_writes for report in reports),
        "peak_dram_bw_words_per_cycle": max(report.memory.peak_dram_bw_words_per_cycle for report in reports),
    }
    return LatencyResult(config=config, rows=rows, totals=totals, topology=topology, array_config=array)


def topology_record(spec: str | Path, topology: Topology) -> dict[str, Any]:
    """How a topology was obtained, for ``config.json``."""
    return {"spec": str(spec), "source": topology.source, "format": topology.format, "layers": len(topology.layers)}


STUDY = Study(
    name="latency",
    config_type=LatencyConfig,
    function=latency,
    summary="per-layer cycles and utilisation of a topology on one array",
)
