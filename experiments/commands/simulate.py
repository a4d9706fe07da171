"""``vscale simulate``: layers run MAC by MAC on the array at one supply voltage.

Every layer runs through :func:`sim.network.simulate_layers` with seeded int8 operands of
the DNN operand model (:data:`pe_models.operands.DNN_OPERAND_MODEL`) or supplied GEMM
operands. Writes ``simulate.csv`` (per layer), ``flips.csv`` (flipped bits per
accumulator bit position and layer), ``summary.json``, ``flips.png`` and ``config.json``
to ``--out``.
"""

from __future__ import annotations

import argparse
import dataclasses

from experiments.options import add_output_options, config_from_args, output_dir
from experiments.output import Table, progress, save_figure, write_csv, write_json
from experiments.pe_options import add_pe_options, add_razor_window_option, add_timing_options
from experiments.results import display_value
from experiments.studies.simulate import SimulateConfig, SimulateResult, operand_description, plot_flips, simulate
from sim.config import DATAFLOWS
from sim.engine import DETAILED_MAX_PES, ENGINES
from sim.protection import STALL_SCOPES
from workloads.topologies import BUILTIN_TOPOLOGIES

from ._results import emit_result, study_handler, timing_line, write_config

__all__ = ["TABLE_COLUMNS", "configure", "run"]

TABLE_COLUMNS = (
    "layer_name",
    "m",
    "n",
    "k",
    "groups",
    "macs",
    "cycles",
    "correction_cycles",
    "memory_stall_cycles",
    "erroneous_macs",
    "detections",
    "wrong_outputs",
    "relative_error",
    "total_pj",
)
"""Columns of the aligned table on stdout (CSV and JSON have every column)."""

DEFINITIONS = (
    "Columns: cycles = compute_cycles + correction_cycles + memory_stall_cycles (SCALE-Sim's convention: "
    "index of the last busy cycle); erroneous_macs = MACs whose latched accumulator differs from the settled "
    "one; detections = erroneous MACs with a protected bit wrong (recovered); detection_cycles = cycles with "
    "at least one detection, summed over folds; wrong_outputs = outputs that differ from the exact GEMM; "
    "relative_error = ||outputs - exact||_2 / ||exact||_2 (the TOTAL line: over all layers' outputs); "
    "max_abs_error = the largest |output - exact|; total_pj = energy of the layer (its components, ending "
    "in _pj, and band in the CSV and JSON)."
)


def configure(parser: argparse.ArgumentParser) -> None:
    """The options of ``vscale simulate``."""
    parser.description = (
        "Run GEMM or convolution layers on the systolic array with every MAC through the "
        "chain-level PE model at the given supply voltage (random seeded int8 operands), with optional "
        "protected accumulator bits; report cycles, correction cycles, flipped bits per bit position and "
        "the relative output error."
    )
    parser.epilog = DEFINITIONS
    source = parser.add_argument_group("layers (required: one of --layer, --operands or --topology)")
    exclusive = source.add_mutually_exclusive_group(required=True)
    exclusive.add_argument("--layer", metavar="M,N,K", help="one GEMM layer C[M,N] = A[M,K] @ B[K,N], each >= 1")
    exclusive.add_argument(
        "--operands",
        metavar="FILE.npz",
        help="one GEMM with supplied operands: int8-valued arrays activations (M, K) and weights (K, N)",
    )
    exclusive.add_argument(
        "--topology",
        metavar="FILE|NAME",
        help=f"topology CSV file (SCALE-Sim or vscale format) or a built-in name: {', '.join(BUILTIN_TOPOLOGIES)}",
    )
    source.add_argument(
        "--layers",
        metavar="START:STOP",
        help="with --topology: run only these layers (0-based, STOP exclusive) (default: all)",
    )
    array = parser.add_argument_group("array")
    array.add_argument(
        "--array", metavar="ROWSxCOLS", default="256x256", help="array shape in PEs, each >= 1 (default: 256x256)"
    )
    array.add_argument(
        "--dataflow",
        metavar="|".join(DATAFLOWS),
        default="ws",
        help="ws (weights stationary), os (outputs stationary) or is (inputs stationary) (default: ws)",
    )
    array.add_argument(
        "--bandwidth",
        metavar="WORDS_PER_CYCLE",
        help="DRAM bandwidth in words per cycle, > 0; adds the double-buffered memory stalls of "
        "docs/latency.md (default: unlimited, no stalls)",
    )
    array.add_argument(
        "--engine",
        choices=tuple(ENGINES),
        default="fast",
        help="PE grid engine: numba kernel per fold, or PE objects stepped cycle by cycle "
        f"(bit-identical; arrays of up to {DETAILED_MAX_PES} PEs unless --allow-large-detailed) (default: fast)",
    )
    array.add_argument(
        "--allow-large-detailed",
        action="store_true",
        help=f"let --engine detailed run arrays above {DETAILED_MAX_PES} PEs (slow: ~1e5 PE-cycles per second)",
    )
    protection = parser.add_argument_group("protection")
    protection.add_argument(
        "--protect",
        metavar="HIGH:LOW,...",
        default="none",
        help="protected accumulator bits, e.g. 31:20 or 31,30 (default: none)",
    )
    protection.add_argument(
        "--penalty", type=int, default=1, metavar="CYCLES", help="cycles one recovery costs, >= 0 (default: 1)"
    )
    protection.add_argument(
        "--recovery",
        choices=STALL_SCOPES,
        default="global",
        help="recovery of a detection: the whole array stalls (global), the PE's column (column), "
        "the PE replays (local) or the MAC is dropped (drop) (default: global)",
    )
    protection.add_argument("--stall", dest="recovery", choices=STALL_SCOPES, help="former name of --recovery")
    add_razor_window_option(protection, default_help="default: half the clock period")
    protection.add_argument(
        "--plan",
        metavar="FILE.toml",
        default=None,
        help="per-layer protection plan replacing --protect, --recovery, --penalty and --razor-window-ps "
        "(see docs/array_simulation.md)",
    )
    variation = parser.add_argument_group("process variation and seed")
    variation.add_argument(
        "--sigma-die",
        type=float,
        default=0.0,
        metavar="S",
        help="relative delay std between dies, 0..0.3 (default: 0)",
    )
    variation.add_argument(
        "--sigma-pe",
        type=float,
        default=0.0,
        metavar="S",
        help="relative delay std between PEs, 0..0.3 (default: 0)",
    )
    variation.add_argument(
        "--seed", type=int, default=0, help="seed of the operands and of the process-variation die, >= 0 (default: 0)"
    )
    add_timing_options(parser)
    add_pe_options(parser)
    add_output_options(parser, "simulate")
    parser.set_defaults(handler=study_handler(run, SimulateConfig), config_type=SimulateConfig)


def _text(result: SimulateResult) -> str:
    table = result.table(columns=TABLE_COLUMNS)
    totals = result.totals
    total_row = ["TOTAL", "", "", "", ""]
    total_row += [totals[name] for name in TABLE_COLUMNS[5:]]
    table = Table(columns=table.columns, rows=[*table.rows, [display_value(v) for v in total_row]])
    return table.to_text() + (
        f"{result.title()}; {totals['cycles']} cycles ({totals['correction_cycles']} recovery, "
        f"{totals['correction_overhead_pct']:.3g} %) = {totals['latency_us']:.6g} us; "
        f"{totals['detections']} detections, {totals['miscorrections']} mis-corrections, "
        f"{totals['silent_protected_errors']} silent protected, {totals['unprotected_errors']} unprotected errors; "
        f"relative output error {totals['relative_error']:.3g}\n" + timing_line(totals)
    )


def run(args: argparse.Namespace) -> int:
    result = simulate(config_from_args(SimulateConfig, args), progress=progress)
    out = output_dir(args)
    timing = result.config.timing()
    write_csv(out / "simulate.csv", result.table())
    write_csv(out / "flips.csv", result.flips().table())
    write_json(out / "summary.json", result.as_dict()["totals"])
    save_figure(out / "flips.png", plot_flips(result))
    variation = result.config.variation()
    extra = {
        **result.source,
        "array": result.array_config.to_dict(),
        "pe": result.config.pe_config().as_dict(),
        "timing": {
            "vdd_v": result.config.vdd_v,
            "f_clk_mhz": float(result.array_config.f_clk_mhz),
            "t_clk_ps": timing.t_clk_fs / 1000,
            "delay_scale": timing.delay_scale,
            "t_sample_ps": timing.t_sample_fs / 1000,
        },
        "protection": result.protection.to_dict(),
        "variation": None if variation is None else dataclasses.asdict(variation),
        "operands": operand_description(result),
    }
    write_config(out, "simulate", result, **extra)
    if args.format == "table":
        print(_text(result), end="")
    else:
        emit_result(result, args.format)
    return 0
