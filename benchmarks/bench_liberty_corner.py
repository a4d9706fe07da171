"""Cell-library lookups at a characterised VDD corner: one corner's table against all 13 interpolated.

Prints one table (medians of ``--repeats`` in-process runs each, after one untimed warm-up;
CPU seconds of this process, so that other jobs on a shared machine do not enter), every
row timed both ways in the same run:

- ``corner``: :class:`pe_models.liberty.CellLibraryData` as shipped: at a VDD that is one of
  the library's corners (within 1e-12 V) it reads that corner's NLDM table only.
  Off a corner it reads every corner's table in one stacked pass (``_CornerStack``) and
  interpolates with PCHIP over VDD, computing the slopes of the two knots around the VDD only.
- ``reference``: the library evaluating every corner's table one by one at the load and
  slew (``NldmTable.at``), then keeping the corner's row, or off a corner interpolating
  them (what it did before both changes; it shares the current two-knot PCHIP).

Rows: every timing arc's delay, transition and energy of the ``ptm-32nm-hp`` library at
one (load, slew) point; the static timing of the default PE (``instance_arcs`` of every
stage, the work behind ``vscale pe razor --technology ptm-32nm-hp-cells``) at nominal VDD
0.9 V; the same at 0.875 V, between corners, where both read all 13 corners (stacked
against one by one).
Every row checks that both ways give identical numbers.

Run: ``python benchmarks/bench_liberty_corner.py [--repeats N]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from pe_models.arcs import instance_arcs
from pe_models.cells import LibraryDelays
from pe_models.liberty import CellData, CellLibraryData, shipped_cell_library
from pe_models.pe import PEConfig


class _EveryCorner(CellLibraryData):
    """The library reading every corner's table for every lookup (the reference)."""

    def _arc_quantity(
        self, data: CellData, cell: str, pin: str, edge: str, quantity: str, vdd_v: float, load_ff: Any, slew_ps: Any
    ) -> float | np.ndarray:
        load = np.asarray(load_ff, dtype=np.float64)
        slew = np.asarray(slew_ps, dtype=np.float64)
        if np.any(~np.isfinite(load)) or np.any(load < 0) or np.any(~np.isfinite(slew)) or np.any(slew < 0):
            raise ValueError("load or slew out of range")
        load, slew = np.broadcast_arrays(load, slew)
        per_corner = np.stack([table.at(slew, load) for table in data.arcs[(pin, edge)][quantity]])
        result = self._over_vdd(per_corner, vdd_v)
        return float(result) if result.ndim == 0 else result


def _every_corner(library: CellLibraryData) -> CellLibraryData:
    reference = _EveryCorner.__new__(_EveryCorner)
    reference.__dict__.update(library.__dict__)
    return reference


def _median_s(work: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    result = work()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        result = work()
        times.append(time.process_time() - start)
    return statistics.median(times), result


def _lookups(library: CellLibraryData, vdd: float) -> Callable[[], list[float]]:
    arcs = [
        (name, pin, edge, quantity)
        for name, data in library.cells_data.items()
        for (pin, edge), tables in data.arcs.items()
        for quantity in tables
    ]

    def work() -> list[float]:
        return [library._table_quantity(n, p, e, q, vdd, 2.0, 20.0) for n, p, e, q in arcs]  # type: ignore[misc]

    return work


def _static_timing(library: CellLibraryData, vdd: float) -> Callable[[], list[np.ndarray]]:
    pe = PEConfig(technology="ptm-32nm-hp-cells")
    source = LibraryDelays(library, vdd)

    def work() -> list[np.ndarray]:
        return [instance_arcs(netlist, source).exact_fs for netlist in pe.stages.values()]

    return work


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per row (default: 3)")
    args = parser.parse_args()
    library = shipped_cell_library("ptm-32nm-hp")
    reference = _every_corner(library)
    rows = [
        ("every arc x quantity, 1 point, 0.9 V", _lookups, 0.9),
        ("static timing, default PE, 0.9 V", _static_timing, 0.9),
        ("static timing, default PE, 0.875 V (between)", _static_timing, 0.875),
    ]
    print(f"{'case':<46} {'corner cpu s':>12} {'reference cpu s':>15} {'speed-up':>9}  equal")
    for label, make, vdd in rows:
        fast_s, fast = _median_s(make(library, vdd), args.repeats)
        slow_s, slow = _median_s(make(reference, vdd), args.repeats)
        equal = all(np.array_equal(a, b) for a, b in zip(fast, slow, strict=True))
        print(f"{label:<46} {fast_s:>12.3f} {slow_s:>15.3f} {slow_s / fast_s:>8.1f}x  {equal}")
        if not equal:
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
