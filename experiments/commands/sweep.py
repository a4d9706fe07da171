"""``vscale sweep STUDY.toml``: a study over a grid of parameters, resumable, on one machine or Dask.

The store under ``--out`` is written point by point (each point atomically, never rewritten
once complete), not staged: an interrupted sweep keeps its finished points, and a rerun
computes only the missing ones. See :mod:`experiments.sweep` for the layout.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from experiments.options import out_argument
from experiments.output import FORMATS, Table, emit
from experiments.sweep import SweepResult, load_sweep_spec, parse_executor, run_sweep

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """The options of ``vscale sweep``."""
    parser.description = (
        "Run the study named in STUDY.toml at every point of its [grid] (the Cartesian product "
        "of its lists) and its [[points]], with the [fixed] parameters. Keys are the study's config fields, "
        "e.g. vdd_v, protect, f_clk_mhz, or the short names the options have, e.g. vdd, penalty "
        "(`vscale sweep --list` shows them). "
        "Each point is keyed by a hash of its full config and the vscale "
        "version and stored atomically under --out; a rerun skips finished points. DIR/results.csv has one "
        "row per point (its parameters, then the result columns); DIR/results.parquet too with pyarrow. "
        "Failed points are recorded with their message, the sweep goes on, and the exit status is 1."
    )
    parser.add_argument("spec", nargs="?", metavar="STUDY.toml", help="the sweep description (TOML)")
    parser.add_argument(
        "--executor",
        default="processes",
        metavar="serial|processes[:N]|dask[:ADDRESS]",
        help="where points run: in this process, in N worker processes (default: one per core, at most one "
        "per point), or on Dask (a local cluster, or the scheduler at ADDRESS such as tcp://host:8786; needs "
        "pip install 'vscale[dask]') (default: processes)",
    )
    parser.add_argument("--list", action="store_true", help="list the studies and their parameters, then exit")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="what goes to stdout: the results as an aligned table, CSV or JSON (default: table)",
    )
    parser.add_argument(
        "--out",
        type=out_argument,
        default=Path("vscale-out") / "sweep",
        metavar="DIR",
        help="the result store (created, or resumed when it holds a sweep) (default: ./vscale-out/sweep/)",
    )
    parser.set_defaults(handler=run)


def _study_listing() -> Table:
    from experiments.studies import STUDIES
    from experiments.vocabulary import OTHER_NAMES, SHORT_NAMES, field_names

    rows = []
    for name, study in sorted(STUDIES.items()):
        parameters = []
        for field in field_names(study.config_type):
            others = [alias for alias in (SHORT_NAMES.get(field), *OTHER_NAMES.get(field, ())) if alias]
            parameters.append(f"{field} ({', '.join(others)})" if others else field)
        rows.append([name, study.summary, " ".join(parameters)])
    return Table(columns=["study", "summary", "parameters"], rows=rows)


def run(args: argparse.Namespace) -> int:
    from pe_models.errors import ConfigError

    if args.list:
        emit(_study_listing(), args.format)
        return 0
    if args.spec is None:
        raise ConfigError("STUDY.toml: missing; give the sweep description file (or --list)")
    if str(args.out) == "":
        raise ConfigError("--out: empty path; give a folder for the result store")
    parse_executor(args.executor)
    spec = load_sweep_spec(args.spec)
    result = run_sweep(spec, store=args.out, executor=args.executor)
    _print(result, args.format)
    print(
        f"sweep: {result.computed} computed, {result.skipped} already in the store, "
        f"{len(result.failed)} failed; results in {Path(args.out) / 'results.csv'}",
        file=sys.stderr,
    )
    for parameters, message in result.failed:
        print(f"sweep: failed: {json.dumps(parameters)}: {message}", file=sys.stderr)
    return 1 if result.failed else 0


def _print(result: SweepResult, fmt: str) -> None:
    if fmt == "csv":
        sys.stdout.write(result.to_csv())
        return
    columns = result.columns
    table = Table(columns=columns, rows=[[row.get(c, "") for c in columns] for row in result.rows])
    emit(table, fmt)
