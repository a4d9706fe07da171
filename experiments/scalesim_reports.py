"""SCALE-Sim's three report files, written from a :class:`~experiments.studies.scalesim.ScaleSimResult`.

Same file names, headers, column order and line format as SCALE-Sim v2
(``scalesim/simulator.py``, ``generate_reports``: ``", "``-separated values and a trailing
comma). What each column means here (docs/migrating_from_scalesim.md has the comparison):

``COMPUTE_REPORT.csv``
    ``Total Cycles`` = compute + stall cycles (SCALE-Sim's USER mode also includes its
    stalls); ``Stall Cycles`` from :mod:`sim.memory` (0 in CALC mode); the three
    percentages as SCALE-Sim computes them.
``BANDWIDTH_REPORT.csv``
    ``Avg <op> SRAM BW`` = the array's SRAM accesses of the operand / ``Total Cycles``
    (as SCALE-Sim); ``Avg <op> DRAM BW`` = the operand's DRAM words / (stop - start + 1)
    of its DRAM window below (as SCALE-Sim).
``DETAILED_ACCESS_REPORT.csv``
    SRAM start/stop: the window in which the array computes, ``first_load_cycles`` to
    ``Total Cycles - last_drain_cycles``. DRAM reads: from cycle 0 (vscale does not
    preload at negative cycles) to the end of the computation (streamed operands arrive
    while the folds run). DRAM ofmap writes: from the start of the computation to
    ``Total Cycles``. Counts:
    the array's SRAM reads (ifmap, filter) and writes (ofmap), and the DRAM reads and
    writes of :mod:`sim.memory`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from experiments.output import atomic_path
from experiments.studies.scalesim import ScaleSimLayerRow, ScaleSimResult

__all__ = [
    "BANDWIDTH_HEADER",
    "COMPUTE_HEADER",
    "DETAILED_HEADER",
    "REPORT_FILES",
    "bandwidth_report",
    "compute_report",
    "detailed_access_report",
    "write_reports",
]

COMPUTE_HEADER = "LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute Util %,"
BANDWIDTH_HEADER = (
    "LayerID, Avg IFMAP SRAM BW, Avg FILTER SRAM BW, Avg OFMAP SRAM BW, "
    "Avg IFMAP DRAM BW, Avg FILTER DRAM BW, Avg OFMAP DRAM BW,"
)
DETAILED_HEADER = (
    "LayerID, "
    "SRAM IFMAP Start Cycle, SRAM IFMAP Stop Cycle, SRAM IFMAP Reads, "
    "SRAM Filter Start Cycle, SRAM Filter Stop Cycle, SRAM Filter Reads, "
    "SRAM OFMAP Start Cycle, SRAM OFMAP Stop Cycle, SRAM OFMAP Writes, "
    "DRAM IFMAP Start Cycle, DRAM IFMAP Stop Cycle, DRAM IFMAP Reads, "
    "DRAM Filter Start Cycle, DRAM Filter Stop Cycle, DRAM Filter Reads, "
    "DRAM OFMAP Start Cycle, DRAM OFMAP Stop Cycle, DRAM OFMAP Writes,"
)
REPORT_FILES: tuple[str, ...] = ("COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv")


def _line(layer_id: int, values: list[Any]) -> str:
    return ", ".join([str(layer_id), *(str(value) for value in values)]) + ","


def _windows(row: ScaleSimLayerRow) -> dict[str, tuple[int, int]]:
    """``(start, stop)`` cycles of the array and of the DRAM reads and writes."""
    compute_start = row.first_load_cycles
    compute_stop = row.total_cycles - row.last_drain_cycles
    return {
        "sram": (compute_start, compute_stop),
        "dram_read": (0, compute_stop),
        "dram_write": (compute_start, row.total_cycles),
    }


def _rate(words: int, window: tuple[int, int]) -> float:
    return words / (window[1] - window[0] + 1)


def _ofmap_array_writes(row: ScaleSimLayerRow) -> int:
    return row.memory.ofmap_sram_writes - row.memory.ofmap_dram_reads


def compute_report(result: ScaleSimResult) -> str:
    """The text of ``COMPUTE_REPORT.csv``."""
    lines = [COMPUTE_HEADER]
    for row in result.rows:
        lines.append(
            _line(
                row.layer_id,
                [row.total_cycles, row.stall_cycles, row.overall_util_pct, row.mapping_eff_pct, row.compute_util_pct],
            )
        )
    return "\n".join(lines) + "\n"


def bandwidth_report(result: ScaleSimResult) -> str:
    """The text of ``BANDWIDTH_REPORT.csv`` (words per cycle)."""
    lines = [BANDWIDTH_HEADER]
    for row in result.rows:
        cycles = max(row.total_cycles, 1)
        windows = _windows(row)
        lines.append(
            _line(
                row.layer_id,
                [
                    row.memory.ifmap_sram_reads / cycles,
                    row.memory.filter_sram_reads / cycles,
                    _ofmap_array_writes(row) / cycles,
                    _rate(row.memory.ifmap_dram_reads, windows["dram_read"]),
                    _rate(row.memory.filter_dram_reads, windows["dram_read"]),
                    _rate(row.memory.ofmap_dram_writes, windows["dram_write"]),
                ],
            )
        )
    return "\n".join(lines) + "\n"


def detailed_access_report(result: ScaleSimResult) -> str:
    """The text of ``DETAILED_ACCESS_REPORT.csv``."""
    lines = [DETAILED_HEADER]
    for row in result.rows:
        windows = _windows(row)
        sram, read, write = windows["sram"], windows["dram_read"], windows["dram_write"]
        lines.append(
            _line(
                row.layer_id,
                [
                    *sram,
                    row.memory.ifmap_sram_reads,
                    *sram,
                    row.memory.filter_sram_reads,
                    *sram,
                    _ofmap_array_writes(row),
                    *read,
                    row.memory.ifmap_dram_reads,
                    *read,
                    row.memory.filter_dram_reads,
                    *write,
                    row.memory.ofmap_dram_writes,
                ],
            )
        )
    return "\n".join(lines) + "\n"


def write_reports(result: ScaleSimResult, folder: Path) -> list[Path]:
    """Write the three reports into `folder` (atomically, one by one); return their paths."""
    texts = (compute_report(result), bandwidth_report(result), detailed_access_report(result))
    paths = []
    for name, text in zip(REPORT_FILES, texts, strict=True):
        path = Path(folder) / name
        with atomic_path(path) as tmp:
            tmp.write_text(text)
        paths.append(path)
    return paths
