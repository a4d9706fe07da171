"""What-if sizing: a topology's cycles, utilisation, MAC-cycles and DRAM traffic on several array
shapes, SRAM sizes and DRAM bandwidths."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from experiments.configs import parse_bandwidth, parse_sram_kib, with_sram_kib
from experiments.results import StudyResult
from experiments.vocabulary import ConfigFields
from pe_models.errors import ConfigError
from sim.config import DATAFLOWS, ArrayConfig
from sim.cycles import summarize, topology_report
from workloads.topologies import Topology, load_topology

from .common import Study, array_shape, as_config, check_topology, resolve_array, set_field

__all__ = ["DEFAULT_ARRAYS", "SizeConfig", "SizeResult", "SizeRow", "plot_size", "plot_size_sram", "size"]

DEFAULT_ARRAYS: tuple[tuple[int, int], ...] = ((32, 32), (64, 64), (128, 128), (256, 256), (128, 512))


def _items(value: object, name: str) -> list[Any]:
    if isinstance(value, str):
        items = [item.strip() for item in value.split(",")]
        if not items or any(not item for item in items):
            raise ConfigError(f"{name}: expected a comma-separated list without empty items, got {value!r}")
        return items
    if isinstance(value, Sequence) and not isinstance(value, bytes) and value:
        return list(value)
    raise ConfigError(f"{name}: expected a non-empty list, got {value!r}")


def _distinct(name: str, items: Sequence[Any], values: Sequence[Any]) -> tuple[Any, ...]:
    """`values` (parsed from `items`) as a tuple; ConfigError naming `name` when two are equal."""
    seen: dict[Any, Any] = {}
    for item, value in zip(items, values, strict=True):
        if value in seen:
            same = "given twice" if item == seen[value] else f"the same as {seen[value]!r}"
            raise ConfigError(f"{name}: {item!r} is {same}; give each value once")
        seen[value] = item
    return tuple(values)


@dataclass(frozen=True, kw_only=True)
class SizeConfig(ConfigFields):
    """A topology on several array shapes and dataflows.

    Attributes
    ----------
    topology : str or path
        Topology CSV file (SCALE-Sim convolution or GEMM format, or vscale format) or a
        built-in name (``mobilenetv2``, ``resnet18``, ``resnet50``, ...).
    arrays : "RxC,RxC,..." or sequence of "RxC" / (rows, cols)
        Array shapes in PEs, rows x columns, each >= 1, comma-separated.
    dataflow : str or sequence of str, optional
        One or more of ``ws``, ``os``, ``is``, comma-separated, e.g. ``ws,os,is`` (default:
        from `config_file`, else ws).
    config_file : str or path, optional
        Base array configuration: a SCALE-Sim ``.cfg`` or a vscale TOML file (default: none,
        256x256 ws, 700 MHz, unlimited bandwidth).
    bandwidth : float or "unlimited", optional
        DRAM bandwidth in words per cycle, > 0, or ``unlimited`` (default: from
        `config_file`, else unlimited).
    f_clk_mhz : float, optional
        Clock frequency in MHz for ``latency_us``, > 0 (default: from `config_file`, else 700).
    scalesim_compat : bool
        Lower layers as SCALE-Sim v2 does (reproduces its cycle counts).
    sram_kib : "S,S,..." or sequence, optional
        SRAM sizes to sweep in KiB, comma-separated, each for all three buffers (from
        Python also ``(ifmap, filter, ofmap)`` triples); adds ``size_sram.png`` (default:
        the base array's sizes only).
    bandwidths : "B,B,..." or sequence, optional
        DRAM bandwidths to sweep in words per cycle, comma-separated, ``unlimited`` allowed
        (default: `bandwidth` only).
    """

    topology: str | Path
    arrays: Any = DEFAULT_ARRAYS
    dataflow: Any = None
    config_file: str | Path | None = None
    bandwidth: Any = None
    f_clk_mhz: float | None = None
    scalesim_compat: bool = False
    sram_kib: Any = None
    bandwidths: Any = None

    def __post_init__(self) -> None:
        check_topology(self.topology)
        items = _items(self.arrays, "arrays")
        set_field(self, "arrays", _distinct("arrays", items, [array_shape(item, "arrays") for item in items]))
        if self.sram_kib is not None:
            items = _items(self.sram_kib, "sram_kib")
            sizes = [parse_sram_kib(item, option="sram_kib") for item in items]
            set_field(self, "sram_kib", _distinct("sram_kib", items, sizes))
        if self.bandwidths is not None:
            items = _items(self.bandwidths, "bandwidths")
            values = [parse_bandwidth(str(item), option="bandwidths") for item in items]
            set_field(self, "bandwidths", _distinct("bandwidths", items, values))
        if self.dataflow is not None:
            items = _items(self.dataflow, "dataflow")
            for item in items:
                if item not in DATAFLOWS:
                    raise ConfigError(f"dataflow: expected one or more of {', '.join(DATAFLOWS)}, got {item!r}")
            set_field(self, "dataflow", _distinct("dataflow", items, items))
        self.base_array()

    def base_array(self) -> ArrayConfig:
        """The array every shape and dataflow is applied to."""
        return resolve_array(config_file=self.config_file, bandwidth=self.bandwidth, f_clk_mhz=self.f_clk_mhz)

    def dataflows(self) -> tuple[str, ...]:
        """The dataflows studied."""
        return (self.base_array().dataflow,) if self.dataflow is None else tuple(self.dataflow)

    def sram_sizes(self) -> tuple[tuple[int, int, int], ...]:
        """The (ifmap, filter, ofmap) buffer sizes studied, in KiB."""
        if self.sram_kib is None:
            base = self.base_array()
            return ((base.ifmap_sram_kib, base.filter_sram_kib, base.ofmap_sram_kib),)
        return tuple(self.sram_kib)

    def bandwidth_values(self) -> tuple[float | None, ...]:
        """The DRAM bandwidths studied (``None``: unlimited)."""
        if self.bandwidths is None:
            return (self.base_array().dram_bandwidth_words_per_cycle,)
        return tuple(self.bandwidths)


@dataclass(frozen=True, kw_only=True)
class SizeRow:
    """The topology on one array shape and dataflow.

    Attributes
    ----------
    array : str
        ``RxC``.
    rows, cols : int
    dataflow : str
    mac_units : int
        PEs (``rows x cols``).
    compute_cycles, stall_cycles, total_cycles : int
        Summed over layers.
    latency_us : float
        ``total_cycles`` at the clock frequency, in µs.
    overall_util_pct : float
        ``macs / (mac_units x total_cycles)`` in %.
    mac_cycles : int
        ``mac_units x total_cycles``: the array occupancy (``macs`` is its lower bound).
    macs : int
        Multiply-accumulates of the topology.
    ifmap_sram_kib, filter_sram_kib, ofmap_sram_kib : int
        Buffer sizes in KiB.
    dram_bandwidth_words_per_cycle : float
        DRAM bandwidth (``inf``: unlimited).
    dram_words : int
        DRAM reads and writes of the topology (:mod:`sim.memory`).
    """

    array: str
    rows: int
    cols: int
    dataflow: str
    ifmap_sram_kib: int
    filter_sram_kib: int
    ofmap_sram_kib: int
    dram_bandwidth_words_per_cycle: float
    mac_units: int
    compute_cycles: int
    stall_cycles: int
    total_cycles: int
    latency_us: float
    overall_util_pct: float
    mac_cycles: int
    macs: int
    dram_words: int


@dataclass(frozen=True, kw_only=True)
class SizeResult(StudyResult[SizeRow, SizeConfig]):
    """One row per (dataflow, shape); ``topology`` as read."""

    row_type = SizeRow

    topology: Topology


def size(config: SizeConfig | None = None, /, **fields: Any) -> SizeResult:
    """Totals of the topology on every array shape and dataflow of the config."""
    config = as_config(SizeConfig, config, fields)
    base = config.base_array()
    topology = load_topology(config.topology, scalesim_compat=config.scalesim_compat)
    rows = []
    points = itertools.product(config.dataflows(), config.arrays, config.sram_sizes(), config.bandwidth_values())
    for dataflow, (array_rows, array_cols), sizes, bandwidth in points:
        array = with_sram_kib(
            dataclasses.replace(
                base, rows=array_rows, cols=array_cols, dataflow=dataflow, dram_bandwidth_words_per_cycle=bandwidth
            ),
            sizes,
        )
        reports = topology_report(topology.layers, array, scalesim_compat=config.scalesim_compat)
        summary = summarize(reports, array)
        rows.append(
            SizeRow(
                array=array.shape,
                rows=array_rows,
                cols=array_cols,
                dataflow=dataflow,
                ifmap_sram_kib=sizes[0],
                filter_sram_kib=sizes[1],
                ofmap_sram_kib=sizes[2],
                dram_bandwidth_words_per_cycle=math.inf if bandwidth is None else float(bandwidth),
                mac_units=array.mac_units,
                compute_cycles=summary.compute_cycles,
                stall_cycles=summary.stall_cycles,
                total_cycles=summary.total_cycles,
                latency_us=summary.latency_us,
                overall_util_pct=100.0 * summary.overall_utilisation,
                mac_cycles=summary.mac_cycles,
                macs=summary.macs,
                dram_words=sum(report.memory.dram_words for report in reports),
            )
        )
    macs = sum(layer.gemm(scalesim_compat=config.scalesim_compat).macs for layer in topology.layers)
    totals = {"layers": len(topology.layers), "macs": macs, "f_clk_mhz": float(base.f_clk_mhz)}
    return SizeResult(config=config, rows=tuple(rows), totals=totals, topology=topology)


def plot_size(result: SizeResult) -> Any:
    """Total cycles, utilisation and MAC-cycles against array shape, one line per dataflow
    (at the first SRAM size and bandwidth of the sweep)."""
    from experiments.output import subplots

    arrays = [f"{r}x{c}" for r, c in result.config.arrays]
    figure, axes = subplots(3, 1, figsize=(7, 9), sharex=True)
    positions = range(len(arrays))
    first = (result.rows[0].ifmap_sram_kib, result.rows[0].dram_bandwidth_words_per_cycle)
    for dataflow in result.config.dataflows():
        selected = [
            row
            for row in result.rows
            if row.dataflow == dataflow and (row.ifmap_sram_kib, row.dram_bandwidth_words_per_cycle) == first
        ]
        axes[0].plot(positions, [row.total_cycles for row in selected], "o-", label=dataflow)
        axes[1].plot(positions, [row.overall_util_pct for row in selected], "o-", label=dataflow)
        axes[2].plot(positions, [row.mac_cycles for row in selected], "o-", label=dataflow)
    axes[2].axhline(result.totals["macs"], color="gray", linestyle="--", label="MACs (lower bound)")
    axes[0].set_ylabel("total cycles")
    axes[1].set_ylabel("overall utilisation (%)")
    axes[2].set_ylabel("MAC-cycles (PEs x cycles)")
    axes[0].set_yscale("log")
    axes[2].set_yscale("log")
    axes[2].set_xticks(list(positions), arrays)
    axes[2].set_xlabel("array shape (rows x columns)")
    for axis in axes:
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    axes[0].set_title(f"{result.topology.name}: array sizing")
    return figure


def plot_size_sram(result: SizeResult) -> Any:
    """Latency against SRAM size (the three buffers summed), one line per array, dataflow and
    bandwidth; DRAM traffic below."""
    from experiments.output import subplots

    figure, axes = subplots(2, 1, figsize=(7, 8), sharex=True)
    series: dict[tuple[str, str, float], list[SizeRow]] = {}
    for row in result.rows:
        series.setdefault((row.array, row.dataflow, row.dram_bandwidth_words_per_cycle), []).append(row)
    for (array, dataflow, bandwidth), selected in series.items():
        selected = sorted(selected, key=lambda row: row.ifmap_sram_kib + row.filter_sram_kib + row.ofmap_sram_kib)
        sizes = [row.ifmap_sram_kib + row.filter_sram_kib + row.ofmap_sram_kib for row in selected]
        label = f"{array} {dataflow}, " + ("unlimited" if math.isinf(bandwidth) else f"{bandwidth:g} words/cycle")
        axes[0].plot(sizes, [row.latency_us for row in selected], "o-", label=label)
        axes[1].plot(sizes, [row.dram_words for row in selected], "o-", label=label)
    axes[0].set_ylabel("latency (us)")
    axes[1].set_ylabel("DRAM words")
    axes[1].set_xlabel("SRAM size, ifmap + filter + ofmap buffers (KiB)")
    for axis in axes:
        axis.set_xscale("log", base=2)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize="small")
    axes[0].set_title(f"{result.topology.name}: latency vs SRAM size")
    return figure


STUDY = Study(
    name="size", config_type=SizeConfig, function=size, summary="what-if array sizing: cycles and utilisation vs shape"
)
