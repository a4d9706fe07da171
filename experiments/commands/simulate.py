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

from experiments.options import add_config_options, add_output_options, config_from_args, output_dir
from experiments.output import Table, progress, save_figure, write_csv, write_json
from experiments.pe_options import add_study_options
from experiments.results import display_value
from experiments.studies.simulate import SimulateConfig, SimulateResult, operand_description, plot_flips, simulate

from ._results import emit_result, timing_line, write_config

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
    source = parser.add_argument_group("layers (required: one of --gemm, --operands or --topology)")
    exclusive = source.add_mutually_exclusive_group(required=True)
    add_config_options(exclusive, SimulateConfig, fields=("gemm", "operand_file", "topology"))
    add_config_options(source, SimulateConfig, fields=("layer_range",))
    array = parser.add_argument_group("array")
    add_config_options(
        array, SimulateConfig, fields=("array", "dataflow", "bandwidth", "engine", "allow_large_detailed")
    )
    protection = parser.add_argument_group("protection")
    add_config_options(
        protection,
        SimulateConfig,
        fields=("protect", "penalty_cycles", "recovery", "razor_window_ps", "plan"),
    )
    variation = parser.add_argument_group("process variation and seed")
    add_config_options(variation, SimulateConfig, fields=("sigma_die", "sigma_pe", "seed"))
    add_study_options(parser, SimulateConfig)
    add_output_options(parser, "simulate")
    parser.set_defaults(handler=run)


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
