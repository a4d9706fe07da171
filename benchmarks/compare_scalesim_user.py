"""SCALE-Sim's USER-mode stall cycles and DRAM traffic beside vscale's, layer by layer.

Reads SCALE-Sim's own reports in ``tests/data/scalesim/user/results/<run>/`` (see the
README there), runs the same ``.cfg`` and topology through ``vscale scalesim``'s study and
prints, per layer: compute cycles (equal by construction of the check), SCALE-Sim's stall
cycles, vscale's stall cycles split into first load / inside the layer / last drain, and
the DRAM words each reads and writes. docs/migrating_from_scalesim.md explains the
differences.

Run: ``python benchmarks/compare_scalesim_user.py [--run u256_ws_bw10]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
DATA = REPOSITORY / "tests" / "data" / "scalesim"


def _rows(path: Path) -> list[list[str]]:
    lines = path.read_text().splitlines()[1:]
    return [[cell.strip() for cell in line.rstrip(",").split(",")] for line in lines]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="u256_ws_bw10", help="folder in tests/data/scalesim/user/results/")
    parser.add_argument("--topology", default="mobilenet.csv", help="file in tests/data/scalesim/topologies/")
    args = parser.parse_args()
    sys.path.insert(0, str(REPOSITORY))
    from experiments.studies.scalesim import ScaleSimConfig, scalesim

    folder = DATA / "user" / "results" / args.run
    result = scalesim(
        ScaleSimConfig(
            config_file=DATA / "user" / "configs" / f"{args.run}.cfg",
            topology=DATA / "topologies" / args.topology,
        )
    )
    compute = _rows(folder / "COMPUTE_REPORT.csv")
    detail = _rows(folder / "DETAILED_ACCESS_REPORT.csv")
    header = (
        "layer",
        "compute",
        "ss_stall",
        "vs_stall",
        "vs_first_load",
        "vs_inside",
        "vs_last_drain",
        "ss_dram_rd",
        "vs_dram_rd",
        "ss_dram_wr",
        "vs_dram_wr",
    )
    lines = []
    sums = [0] * (len(header) - 1)
    for row, theirs, access in zip(result.rows, compute, detail, strict=True):
        ss_stall = int(theirs[2])
        inside = row.stall_cycles - row.first_load_cycles - row.last_drain_cycles
        ss_reads = int(access[12]) + int(access[15])
        values = [
            row.compute_cycles,
            ss_stall,
            row.stall_cycles,
            row.first_load_cycles,
            inside,
            row.last_drain_cycles,
            ss_reads,
            row.ifmap_dram_reads + row.filter_dram_reads + row.ofmap_dram_reads,
            int(access[18]),
            row.ofmap_dram_writes,
        ]
        assert row.compute_cycles == int(theirs[1]) - ss_stall
        sums = [total + value for total, value in zip(sums, values, strict=True)]
        lines.append((row.layer_name, *values))
    lines.append(("TOTAL", *sums))
    widths = [max(len(str(line[i])) for line in [header, *lines]) for i in range(len(header))]
    for line in [header, *lines]:
        print("  ".join(f"{value!s:>{width}}" for value, width in zip(line, widths, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
