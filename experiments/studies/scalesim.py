"""The SCALE-Sim drop-in study: SCALE-Sim's inputs, vscale's cycle counts and memory model.

:func:`scalesim` reads a SCALE-Sim ``.cfg`` (strictly, as SCALE-Sim does:
:func:`experiments.configs.read_scalesim_run`) and a topology file in SCALE-Sim's
convolution or GEMM format, lowers every layer with SCALE-Sim's conventions (output size,
depthwise rows, ``DP`` splitting: compute cycles equal SCALE-Sim's) and reports, per layer,
the compute and stall cycles, utilisations, and the SRAM and DRAM accesses of
:mod:`sim.memory`. :mod:`experiments.scalesim_reports` writes them as SCALE-Sim's three
report files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from experiments.configs import ScaleSimRun, read_scalesim_run
from experiments.results import NOT_A_COLUMN, StudyResult, columns_of
from experiments.studies.common import Study, as_config, check_topology
from experiments.vocabulary import ConfigFields
from pe_models.errors import ConfigError
from sim.cycles import LayerReport, layer_report
from sim.memory import ACCESS_COLUMNS, MemoryReport
from workloads.topologies import load_topology

__all__ = ["INPUT_TYPES", "STUDY", "ScaleSimConfig", "ScaleSimLayerRow", "ScaleSimResult", "scalesim"]

INPUT_TYPES: tuple[str, ...] = ("conv", "gemm")
_FORMATS = {"conv": "scalesim-conv", "gemm": "scalesim-gemm"}


@dataclass(frozen=True, kw_only=True)
class ScaleSimConfig(ConfigFields):
    """Inputs of a SCALE-Sim run (SCALE-Sim's keywords: ``vscale.scalesim(config=..., topology=...)``).

    Parameters
    ----------
    config_file : path
        SCALE-Sim ``.cfg`` file (``-c``; ``config=`` in Python, as SCALE-Sim's own
        ``scalesim(config=..., topology=...)``).
    topology : path
        Topology CSV (``-t``), SCALE-Sim's convolution or GEMM format.
    input_type : str
        Topology format, ``conv`` or ``gemm`` (``-i``); must match the file's header.
    """

    KEYWORD_ALIASES: ClassVar[Mapping[str, str]] = {"config": "config_file"}

    config_file: Path
    topology: Path
    input_type: str = "conv"

    def __post_init__(self) -> None:
        for name in ("config_file", "topology"):
            value = getattr(self, name)
            if not isinstance(value, str | Path) or not str(value).strip():
                raise ConfigError(f"{name}: expected a file path, got {value!r}")
            object.__setattr__(self, name, Path(value))
        if self.input_type not in INPUT_TYPES:
            raise ConfigError(f"input_type: expected one of {', '.join(INPUT_TYPES)}, got {self.input_type!r}")
        read_scalesim_run(self.config_file)
        check_topology(str(self.topology))


@dataclass(frozen=True, kw_only=True)
class ScaleSimLayerRow:
    """One layer: SCALE-Sim's report items plus vscale's memory detail (words, cycles).

    ``memory`` is rendered as the columns :data:`sim.memory.ACCESS_COLUMNS`.
    """

    layer_id: int
    layer_name: str
    total_cycles: int
    compute_cycles: int
    stall_cycles: int
    first_load_cycles: int
    last_drain_cycles: int
    overall_util_pct: float
    mapping_eff_pct: float
    compute_util_pct: float
    memory: MemoryReport = field(metadata=columns_of(ACCESS_COLUMNS), repr=False)
    report: LayerReport = field(metadata=NOT_A_COLUMN, repr=False)


@dataclass(frozen=True, kw_only=True)
class ScaleSimResult(StudyResult[ScaleSimLayerRow, ScaleSimConfig]):
    """Per-layer rows; `run` is what the ``.cfg`` asked for."""

    row_type = ScaleSimLayerRow

    run: ScaleSimRun


def _row(index: int, report: LayerReport) -> ScaleSimLayerRow:
    memory = report.memory
    return ScaleSimLayerRow(
        layer_id=index,
        layer_name=report.name,
        total_cycles=report.total_cycles,
        compute_cycles=report.compute_cycles,
        stall_cycles=report.stall_cycles,
        first_load_cycles=memory.first_load_cycles,
        last_drain_cycles=memory.last_drain_cycles,
        overall_util_pct=100.0 * report.overall_utilisation,
        mapping_eff_pct=100.0 * report.mapping_efficiency,
        compute_util_pct=100.0 * report.compute_utilisation,
        memory=memory,
        report=report,
    )


def scalesim(config: ScaleSimConfig | None = None, /, **fields: Any) -> ScaleSimResult:
    """Run a topology on the array of a SCALE-Sim configuration (see the module docstring).

    ``scalesim(config="google.cfg", topology="resnet18.csv")`` takes SCALE-Sim's keywords;
    ``config_file=`` and a :class:`ScaleSimConfig` work too.

    Raises
    ------
    ConfigError
        A bad ``.cfg`` or topology (one line naming the file, line and field), or an
        ``input_type`` that does not match the topology's header.
    """
    config = as_config(ScaleSimConfig, config, fields)
    run = read_scalesim_run(config.config_file)
    topology = load_topology(config.topology, scalesim_compat=True)
    expected = _FORMATS[config.input_type]
    if topology.format != expected:
        actual = {name: kind for kind, name in _FORMATS.items()}.get(topology.format)
        if actual is None:
            raise ConfigError(
                f"{config.topology.name}:1: header: expected SCALE-Sim's {config.input_type} format, got the "
                f"{topology.format} format"
            )
        raise ConfigError(
            f"input_type: {config.topology.name} is a SCALE-Sim {actual} topology, not {config.input_type}; "
            f"give input_type {actual}"
        )
    reports = [layer_report(layer, run.array, scalesim_compat=True) for layer in topology.layers]
    rows = tuple(_row(index, report) for index, report in enumerate(reports))
    compute = sum(row.compute_cycles for row in rows)
    stall = sum(row.stall_cycles for row in rows)
    totals = {
        "layers": len(rows),
        "compute_cycles": compute,
        "stall_cycles": stall,
        "total_cycles": compute + stall,
        "dram_words": sum(report.memory.dram_words for report in reports),
        "sram_words": sum(report.memory.sram_reads + report.memory.sram_writes for report in reports),
    }
    return ScaleSimResult(config=config, rows=rows, totals=totals, run=run)


STUDY = Study(
    name="scalesim",
    config_type=ScaleSimConfig,
    function=scalesim,
    summary="SCALE-Sim drop-in: its .cfg and topology in, per-layer cycles, stalls and memory accesses out",
)
