"""What-if array sizing: a topology's cycles, utilisation and MAC-cycles on several array shapes."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from experiments.results import StudyResult
from pe_models.errors import ConfigError
from sim.config import DATAFLOWS, ArrayConfig
from sim.cycles import summarize, topology_report
from workloads.topologies import Topology, load_topology

from . import Study
from .common import array_shape, as_config, resolve_array, set_field

__all__ = ["DEFAULT_ARRAYS", "SizeConfig", "SizeResult", "SizeRow", "plot_size", "size"]

DEFAULT_ARRAYS: tuple[tuple[int, int], ...] = ((32, 32), (64, 64), (128, 128), (256, 256), (128, 512))


def _items(value: object, name: str) -> list[Any]:
    if isinstance(value, str):
        items = [item.strip() for item in value.split(",")]
        if not items or any(not item for item in items):
            raise ConfigError(f"{name}: expected a comma-separated list without empty items, got {value!r}")
        return items
    if isinstance(value, Sequence) and value:
        return list(value)
    raise ConfigError(f"{name}: expected a non-empty list, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class SizeConfig:
    """A topology on several array shapes and dataflows.

    Attributes
    ----------
    topology : str or path
        Topology CSV or built-in name.
    arrays : "RxC,RxC,..." or sequence of "RxC" / (rows, cols)
        Array shapes; stored as a tuple of (rows, cols).
    dataflow : str or sequence of str, optional
        One or more of ws, os, is (``"ws,os"`` or a list); default: from `config_file`, else ws.
    config_file : str or path, optional
        Base array configuration (.cfg or TOML).
    bandwidth : float or "unlimited", optional
        DRAM bandwidth in words per cycle (default: from `config_file`, else unlimited).
    f_clk_mhz : float, optional
        Clock frequency in MHz for ``latency_us`` (default: from `config_file`, else 700).
    scalesim_compat : bool
        Lower layers as SCALE-Sim v2 does.
    """

    topology: str | Path
    arrays: Any = DEFAULT_ARRAYS
    dataflow: Any = None
    config_file: str | Path | None = None
    bandwidth: Any = None
    f_clk_mhz: float | None = None
    scalesim_compat: bool = False

    def __post_init__(self) -> None:
        set_field(self, "arrays", tuple(array_shape(item, "arrays") for item in _items(self.arrays, "arrays")))
        if self.dataflow is not None:
            dataflows = tuple(_items(self.dataflow, "dataflow"))
            for item in dataflows:
                if item not in DATAFLOWS:
                    raise ConfigError(f"dataflow: expected one or more of {', '.join(DATAFLOWS)}, got {item!r}")
            set_field(self, "dataflow", dataflows)
        self.base_array()

    def base_array(self) -> ArrayConfig:
        """The array every shape and dataflow is applied to."""
        return resolve_array(config_file=self.config_file, bandwidth=self.bandwidth, f_clk_mhz=self.f_clk_mhz)

    def dataflows(self) -> tuple[str, ...]:
        """The dataflows studied."""
        return (self.base_array().dataflow,) if self.dataflow is None else tuple(self.dataflow)


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
    """

    array: str
    rows: int
    cols: int
    dataflow: str
    mac_units: int
    compute_cycles: int
    stall_cycles: int
    total_cycles: int
    latency_us: float
    overall_util_pct: float
    mac_cycles: int
    macs: int


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
    for dataflow in config.dataflows():
        for array_rows, array_cols in config.arrays:
            array = dataclasses.replace(base, rows=array_rows, cols=array_cols, dataflow=dataflow)
            summary = summarize(topology_report(topology.layers, array, scalesim_compat=config.scalesim_compat), array)
            rows.append(
                SizeRow(
                    array=array.shape,
                    rows=array_rows,
                    cols=array_cols,
                    dataflow=dataflow,
                    mac_units=array.mac_units,
                    compute_cycles=summary.compute_cycles,
                    stall_cycles=summary.stall_cycles,
                    total_cycles=summary.total_cycles,
                    latency_us=summary.latency_us,
                    overall_util_pct=100.0 * summary.overall_utilisation,
                    mac_cycles=summary.mac_cycles,
                    macs=summary.macs,
                )
            )
    macs = sum(layer.gemm(scalesim_compat=config.scalesim_compat).macs for layer in topology.layers)
    totals = {"layers": len(topology.layers), "macs": macs, "f_clk_mhz": float(base.f_clk_mhz)}
    return SizeResult(config=config, rows=tuple(rows), totals=totals, topology=topology)


def plot_size(result: SizeResult) -> Any:
    """Total cycles, utilisation and MAC-cycles against array shape, one line per dataflow."""
    from experiments.output import subplots

    arrays = [f"{r}x{c}" for r, c in result.config.arrays]
    figure, axes = subplots(3, 1, figsize=(7, 9), sharex=True)
    positions = range(len(arrays))
    for dataflow in result.config.dataflows():
        selected = [row for row in result.rows if row.dataflow == dataflow]
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


STUDY = Study(
    name="size", config_type=SizeConfig, function=size, summary="what-if array sizing: cycles and utilisation vs shape"
)
