"""Per-cell delays of a technology's cell library: one row per cell, input pin, output edge and VDD."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from experiments.results import StudyResult
from experiments.vocabulary import ConfigFields
from pe_models.liberty_files import resolve_cell_library

from .common import Study, as_config, set_field, vdd_values

__all__ = ["CellsConfig", "CellsResult", "CellsRow", "tech_cells"]


@dataclass(frozen=True, kw_only=True)
class CellsConfig(ConfigFields):
    """A technology's cell library at several supplies.

    Attributes
    ----------
    technology : str
        Preset name, ``FILE.cells.json`` or comma-separated Liberty files (one per corner).
    vdd_v : "V1,V2,...", "START:STOP:STEP" or sequence of float, optional
        Supplies in V (default: the library's highest corner and 0.6, 0.5 V where inside).
    """

    technology: Any = "ptm-32nm-hp"
    vdd_v: Any = None

    def __post_init__(self) -> None:
        library = resolve_cell_library(self.technology)
        if self.vdd_v is None:
            nominal = library.vdd_nominal_v
            wanted = [nominal] + [v for v in (0.6, 0.5) if library.vdd_min_v <= v < nominal]
            set_field(self, "vdd_v", tuple(wanted))
        else:
            set_field(self, "vdd_v", vdd_values(self.vdd_v))
        for vdd in self.vdd_v:
            library.check_vdd(vdd)


@dataclass(frozen=True, kw_only=True)
class CellsRow:
    """One timing arc at one supply, at the library's reference load and slew."""

    cell: str
    pin: str
    edge: str
    vdd_v: float
    load_ff: float
    slew_ps: float
    delay_ps: float
    transition_ps: float
    delay_ratio: float
    basis: str


@dataclass(frozen=True, kw_only=True)
class CellsResult(StudyResult[CellsRow, CellsConfig]):
    """Rows per cell, pin, edge and VDD; totals name the library, its source and basis."""

    row_type = CellsRow


def tech_cells(config: CellsConfig | None = None, /, **fields: Any) -> CellsResult:
    """Delay and transition of every timing arc of the technology's cells at each ``vdd_v``.

    ``delay_ratio`` is the delay relative to the first supply of ``vdd_v``. ``basis`` is
    ``characterised`` (ngspice or Liberty data) or ``reasoned`` (a preset of chosen
    values, scaled by one voltage curve: no pin, edge or load dependence).
    """
    config = as_config(CellsConfig, config, fields)
    library = resolve_cell_library(config.technology)
    basis = "reasoned" if library.reasoned else "characterised"
    load = library.reference_load_ff
    rows = []
    for cell in library.cells:
        for pin in library.arc_pins(cell):
            for edge in ("rise", "fall"):
                first = None
                for vdd in config.vdd_v:
                    slew = library.reference_slew_ps(vdd)
                    delay = float(library.delay_ps(cell, pin, edge, vdd, load, slew))
                    first = delay if first is None else first
                    rows.append(
                        CellsRow(
                            cell=cell,
                            pin=pin,
                            edge=edge,
                            vdd_v=vdd,
                            load_ff=load,
                            slew_ps=slew,
                            delay_ps=delay,
                            transition_ps=float(library.transition_ps(cell, pin, edge, vdd, load, slew)),
                            delay_ratio=delay / first if first else math.nan,
                            basis=basis,
                        )
                    )
    totals = {
        "technology": library.name,
        "basis": basis,
        "description": library.describe(),
        "source": library.source,
        "temperature_c": library.temperature_c,
        "reference_load_ff": load,
        "vdd_range_v": [library.vdd_min_v, library.vdd_max_v],
    }
    return CellsResult(config=config, rows=tuple(rows), totals=totals)


STUDY = Study(
    name="tech-cells",
    config_type=CellsConfig,
    function=tech_cells,
    summary="delay of every cell, pin and output edge of a technology's cell library against VDD",
)
