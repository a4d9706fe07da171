"""`vscale pe eval`, `pe verilog`, `pe razor` and `pe spice`: one PE at gate or chain level, in
Verilog, whether a Razor window can be built, and against SPICE."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from experiments.options import (
    add_out_option,
    add_output_options,
    config_from_args,
    integer_argument,
    output_dir,
    published_path,
)
from experiments.output import Table, emit, write_csv, write_json
from experiments.pe_options import (
    add_pe_options,
    add_study_options,
    add_timing_options,
    pe_config,
    timing_fields,
    timing_from_args,
)
from experiments.studies.common import parse_razor_window
from experiments.studies.pe_spice import PeSpiceConfig
from experiments.studies.razor import RazorConfig, razor
from experiments.studies.vectors import VECTOR_COLUMNS, read_vectors
from pe_models.chain import evaluate_chain, stage_inputs
from pe_models.errors import ConfigError
from pe_models.gate import simulate_gate_fast
from pe_models.integers import to_signed
from pe_models.pe import PEConfig, StageTiming
from pe_models.razor import razor_masks, razor_pe, retimed, window_fs
from sim.protection import parse_bit_mask

from ._results import emit_result, write_config

__all__ = ["configure", "read_vectors"]


def _vector_file(text: str) -> Path:
    """The ``type`` of a vector-file argument: an empty text is refused (``Path('')`` would be ``.``)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected a CSV file of vectors, got {text!r}")
    return Path(text)


def configure(parser: argparse.ArgumentParser) -> None:
    """The options of ``vscale pe``."""
    commands = parser.add_subparsers(dest="pe_command", metavar="PE_COMMAND")
    commands.required = True

    evaluate = commands.add_parser(
        "eval",
        help="latched value, flip mask and settle time of each MAC in a vector file",
        description="Read VECTORS.csv with columns prev_a,prev_b,prev_c,a,b,c (signed decimal; c is the "
        "adder's partial-sum input) and write the input columns plus latched,correct,flip_mask,settle_ps. "
        "In the registered pipeline the adder stage is reported: its product register switches from "
        "prev_a*prev_b to a*b and its partial-sum input from prev_c to c.",
    )
    evaluate.add_argument("vectors", type=_vector_file, metavar="VECTORS.csv", help="input vectors")
    evaluate.add_argument("--level", choices=("gate", "chain"), default="chain", help="fidelity level (default: chain)")
    add_pe_options(evaluate)
    add_timing_options(evaluate)
    _add_razor_window(evaluate, "adds the columns shadow, detected_mask, silent_mask, miscorrected_mask (default: off)")
    evaluate.add_argument(
        "--protect",
        default=None,
        metavar="BITS",
        help="bits with a Razor flip-flop for the mask columns, e.g. 31:20 or 31,5 (default: all bits)",
    )
    evaluate.add_argument(
        "--energy",
        action="store_true",
        help="add switching_fj, leakage_fj and energy_fj per vector: the evaluated stage's net transitions "
        "(gate level: counted; chain level: the toggle model the array uses) x their capacitance at --vdd, "
        "plus the stage's leakage over one clock period (docs/energy.md); needs --vdd",
    )
    add_output_options(evaluate, "pe-eval", default_format="csv")
    evaluate.set_defaults(handler=run_eval)

    verilog = commands.add_parser(
        "verilog",
        help="write the PE netlist as structural Verilog with a testbench for Icarus",
        description="Write cells.v, one module and one testbench per timed stage, the vectors and "
        "run_icarus.sh. Delays are the cell delays at the chosen operating point.",
    )
    verilog.add_argument(
        "--vectors",
        type=_vector_file,
        default=None,
        metavar="VECTORS.csv",
        help="vectors for the testbench (default: 100 random vectors)",
    )
    verilog.add_argument("--seed", type=integer_argument, default=0, help="seed of the random vectors (default: 0)")
    verilog.add_argument(
        "--structural",
        action="store_true",
        help="instead: each timed stage between flip-flops as instances of the characterised library's cells "
        "(<stage>_reg.v), the Liberty file of the --vdd corner, an OpenSTA script per stage (<stage>_sta.tcl, "
        "run_sta.sh) and vscale's own worst arrival and slack per output bit and D edge (vscale_timing.csv); "
        "needs --vdd "
        "at a corner of the library",
    )
    add_pe_options(verilog)
    add_timing_options(verilog)
    _add_razor_window(verilog, "the testbenches also sample there and print H lines (default: off)")
    add_out_option(verilog, "pe-verilog")
    verilog.set_defaults(handler=run_verilog)

    spice = commands.add_parser(
        "spice",
        help="the accumulator adder and the whole MAC stage in ngspice against the gate level, bit by bit",
        description="Write a transistor-level ngspice deck of each stage (the registered adder; the fused MAC "
        "stage) from the same netlist and the shipped cell subcircuits, run it over the operand vectors (each "
        "input bit launched at its flip-flop's clock-to-Q, outputs read at T_clk - t_setup) and compare every "
        "latched bit with vscale's gate level on the characterised library. Needs ngspice; slow (minutes per "
        "few tens of vectors).",
        epilog="Printed numbers (one row per stage and output bit): bits_equal_pct = vectors where ngspice and "
        "the gate level latch the same value; spice_error_pct, gate_error_pct = vectors where each latches a "
        "value other than the settled one; min_margin_mv = smallest distance of the sampled voltage from VDD/2. "
        "Writes <stage>.sp (the deck), <stage>.out (ngspice's output), pe_spice.csv, totals.csv, config.json.",
    )
    add_study_options(spice, PeSpiceConfig, exclude=("pipeline",))
    add_output_options(spice, "pe-spice", default_format="table")
    spice.set_defaults(handler=run_spice)

    razor = commands.add_parser(
        "razor",
        help="hold buffers, paths and feasibility of a Razor window, per output bit",
        description="Per output bit of the Razor-sampled stage, at the technology's nominal VDD and the design "
        "clock: the shortest and longest static path, the hold-fix buffers between the bit and its flip-flop "
        "(shortest path >= window + t_hold), both paths through them, and whether the bit is feasible (hold met, "
        "longest path with the buffers within T_clk - t_setup). Totals: the feasible window range of the "
        "protected bits and the hold fix. An infeasible design or a window outside the range is an error.",
    )
    add_study_options(razor, RazorConfig)
    add_output_options(razor, "pe-razor")
    razor.set_defaults(handler=run_razor)


def _add_razor_window(parser: argparse.ArgumentParser, effect: str) -> None:
    parser.add_argument(
        "--razor-window-ps",
        dest="razor_window_ps",
        default=None,
        metavar="PS|PCT%",
        help="Razor detection window: the shadow latch samples PS after the main sample (or PCT%% of the clock "
        f"period, e.g. 25%%); {effect}",
    )


def evaluate(
    pe: PEConfig, timing: StageTiming, vectors: dict[str, np.ndarray], level: str, window_fs: int | None = None
):
    """(latched, correct, flip_mask, settle_fs, shadow) of every vector at `level` (shadow: None without a window)."""
    mask = (1 << pe.width) - 1
    if level == "chain":
        result = evaluate_chain(
            pe,
            timing,
            prev_a=vectors["prev_a"],
            prev_b=vectors["prev_b"],
            prev_c=vectors["prev_c"],
            a=vectors["a"],
            b=vectors["b"],
            c=vectors["c"],
            window_fs=window_fs,
        )
        return result.latched, result.correct, result.flip_mask, result.settle_fs, result.shadow
    stage = "adder" if pe.pipeline == "registered" else "mac"
    old, new = stage_inputs(stage, *(vectors[column] for column in VECTOR_COLUMNS))
    t_shadow = None if window_fs is None else timing.t_sample_fs + window_fs
    gate = simulate_gate_fast(
        pe.stages[stage],
        old,
        new,
        delays_fs=timing.arcs_fs(stage),
        t_sample_fs=timing.t_sample_fs,
        t_shadow_fs=t_shadow,
        launch_fs=timing.launch_fs(stage),
    )
    shadow = None if gate.shadow is None else to_signed(gate.shadow, pe.width)
    return (
        to_signed(gate.latched, pe.width),
        to_signed(gate.correct, pe.width),
        gate.flip_mask & mask,
        gate.settle_fs,
        shadow,
    )


def _razor_window(
    args: argparse.Namespace, pe: PEConfig, timing: StageTiming, protected: int
) -> tuple[PEConfig, StageTiming, int | None]:
    """The PE with the hold buffers of its Razor bits, its timing, and the window in fs (the PE,
    its timing and None without a window)."""
    window_ps = parse_razor_window(args.razor_window_ps, timing.t_clk_fs / 1000)
    if window_ps is None:
        return pe, timing, None
    window = window_fs(timing, window_ps, pe=pe, protected_mask=protected)
    built = razor_pe(pe, f_clk_mhz=1e9 / timing.t_clk_fs, protected_mask=protected, window_ps=window / 1000)
    return built, retimed(built, timing), window


def run_eval(args: argparse.Namespace) -> int:
    pe = pe_config(args)
    timing = timing_from_args(args, pe)
    if args.protect is not None and args.razor_window_ps is None:
        raise ConfigError("protect: the mask columns need a Razor window; add razor_window_ps")
    protected = (1 << pe.width) - 1 if args.protect is None else parse_bit_mask(args.protect, width=pe.width)
    pe, timing, window = _razor_window(args, pe, timing, protected)
    if args.energy and args.vdd_v is None:
        raise ConfigError("energy: the energy scales with the supply; allowed: with vdd_v (not t_clk_ps)")
    vectors = read_vectors(args.vectors, width=pe.width)
    latched, correct, flips, settle, shadow = evaluate(pe, timing, vectors, args.level, window)
    columns = [*VECTOR_COLUMNS, "latched", "correct", "flip_mask", "settle_ps"]
    rows = [
        [
            *(int(vectors[c][i]) for c in VECTOR_COLUMNS),
            int(latched[i]),
            int(correct[i]),
            f"0x{int(flips[i]):08x}",
            float(settle[i]) / 1000.0,
        ]
        for i in range(latched.shape[0])
    ]
    if shadow is not None:
        columns += ["shadow", "detected_mask", "silent_mask", "miscorrected_mask"]
        masks = razor_masks(latched, shadow, correct, protected, pe.width)
        for i, row in enumerate(rows):
            row += [int(shadow[i]), *(f"0x{int(m[i]):08x}" for m in masks)]
    if args.energy:
        from pe_models.energy import stage_vector_energy_fj

        stage = "adder" if pe.pipeline == "registered" else "mac"
        old, new = stage_inputs(stage, *(vectors[column] for column in VECTOR_COLUMNS))
        switching, leakage = stage_vector_energy_fj(
            pe, stage, old, new, vdd_v=args.vdd_v, t_clk_ps=timing.t_clk_fs / 1000, level=args.level
        )
        columns += ["switching_fj", "leakage_fj", "energy_fj"]
        for i, row in enumerate(rows):
            row += [float(switching[i]), float(leakage[i]), float(switching[i] + leakage[i])]
    table = Table(columns=columns, rows=rows)
    directory = output_dir(args)
    write_csv(directory / "pe_eval.csv", table)
    config = _config(args, pe, timing)
    if window is not None:
        buffers = pe.hold_buffers or (0,) * pe.width
        config["razor_window_ps"] = window / 1000
        config["hold_buffers_per_protected_bit"] = {
            str(bit): int(buffers[bit]) for bit in range(pe.width) if (protected >> bit) & 1
        }
    write_json(directory / "config.json", config)
    emit(table, args.format)
    return 0


def _config(args: argparse.Namespace, pe: PEConfig, timing: StageTiming) -> dict:
    return {
        "command": " ".join(sys.argv[1:]) or "pe",
        "pe": pe.as_dict(),
        "level": getattr(args, "level", "gate"),
        "t_clk_ps": timing.t_clk_fs / 1000,
        "t_sample_ps": timing.t_sample_fs / 1000,
        "t_setup_ps": timing.t_setup_fs / 1000,
        "razor_window_ps": getattr(args, "razor_window_ps", None),
        "protect": getattr(args, "protect", None),
        "delay_scale": timing.delay_scale,
        "cell_delays_fs": None if timing.cell_delays_fs is None else dict(timing.cell_delays_fs),
        "vdd_v": args.vdd_v,
        "f_clk_mhz": timing_fields(args).f_clk_mhz,
    }


def run_structural(args: argparse.Namespace) -> int:
    from pe_models.structural import library_pe, vscale_endpoints, write_opensta_files

    if args.vdd_v is None:
        raise ConfigError("structural: the Liberty corner is chosen by the supply; allowed: with vdd_v (not t_clk_ps)")
    pe = library_pe(pe_config(args))
    f_clk_mhz = timing_fields(args).f_clk_mhz
    assert f_clk_mhz is not None  # set with vdd_v
    endpoints = vscale_endpoints(pe, vdd_v=args.vdd_v, f_clk_mhz=f_clk_mhz)
    directory = output_dir(args)
    written = write_opensta_files(pe, vdd_v=args.vdd_v, f_clk_mhz=f_clk_mhz, directory=directory)
    stage_of = {bus: stage for stage, netlist in pe.stages.items() for bus in netlist.outputs}
    table = Table(
        columns=["stage", "bus", "bit", "edge", "arrival_ps", "slack_ps"],
        rows=[[stage_of[e.bus], e.bus, e.bit, e.edge, e.arrival_ps, e.slack_ps] for e in endpoints],
    )
    written.append(write_csv(directory / "vscale_timing.csv", table))
    script = directory / "run_sta.sh"
    lines = ["#!/bin/sh", "# OpenSTA on every timed stage (vscale pe verilog --structural)", 'cd "$(dirname "$0")"']
    lines += [f"sta -no_init -no_splash -exit {stage}_sta.tcl > {stage}_sta.log" for stage in pe.stages]
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    script.chmod(0o755)
    written.append(script)
    config = {
        "command": " ".join(sys.argv[1:]) or "pe verilog --structural",
        "pe": pe.as_dict(),
        "vdd_v": args.vdd_v,
        "f_clk_mhz": f_clk_mhz,
        "t_clk_ps": 1e6 / f_clk_mhz,
        "wire_load": "none: loads are the fan-out pins' capacitances, as in vscale",
    }
    written.append(write_json(directory / "config.json", config))
    for path in sorted({str(published_path(args, p)) for p in written}):
        print(path)
    return 0


def run_verilog(args: argparse.Namespace) -> int:
    from pe_models.verilog import write_verilog_bundle

    if args.structural:
        return run_structural(args)
    pe = pe_config(args)
    timing = timing_from_args(args, pe)
    pe, timing, window = _razor_window(args, pe, timing, (1 << pe.width) - 1)
    if args.vectors is not None:
        vectors = read_vectors(args.vectors, width=pe.width)
    else:
        rng = np.random.default_rng(np.random.SeedSequence(args.seed))
        vectors = {c: rng.integers(-128, 128, 100) for c in ("prev_a", "prev_b", "a", "b")}
        vectors["prev_c"], vectors["c"] = rng.integers(-(2**16), 2**16, (2, 100))
    directory = output_dir(args)
    written: list[Path] = []
    for stage, netlist in pe.stages.items():
        old, new = stage_inputs(stage, *(vectors[column] for column in VECTOR_COLUMNS))
        files = write_verilog_bundle(
            directory,
            netlist,
            delays_fs=timing.arcs_fs(stage),
            launch_fs=timing.launch_fs(stage),
            t_sample_fs=timing.t_sample_fs,
            old_inputs=old,
            new_inputs=new,
            window_fs=window,
        )
        written.extend(files.values())
    written.append(write_json(directory / "config.json", _config(args, pe, timing)))
    for path in sorted({str(published_path(args, p)) for p in written}):
        print(path)
    return 0


def run_spice(args: argparse.Namespace) -> int:
    from experiments.studies.pe_spice import pe_spice

    result = pe_spice(config_from_args(PeSpiceConfig, args))
    directory = output_dir(args)
    for run in result.runs:
        (directory / f"{run.stage}.sp").write_text(run.deck, encoding="utf-8")
        (directory / f"{run.stage}.out").write_text(run.output, encoding="utf-8")
    write_csv(directory / "pe_spice.csv", result.table())
    totals = Table(columns=list(result.totals), rows=[list(result.totals.values())])
    write_csv(directory / "totals.csv", totals)
    write_config(directory, "pe spice", result, pe=result.config.library_pe().as_dict(), **result.totals)
    emit_result(result, args.format)
    print(
        f"bits_equal_pct {result.totals['bits_equal_pct']:.4g} over {result.totals['vectors']} vectors "
        f"at {result.totals['vdd_v']:g} V",
        file=sys.stderr,
    )
    return 0


def run_razor(args: argparse.Namespace) -> int:
    result = razor(config_from_args(RazorConfig, args))
    directory = output_dir(args)
    write_csv(directory / "pe_razor.csv", result.table())
    write_config(directory, "pe razor", result, pe=result.config.pe_config().as_dict(), **result.totals)
    emit_result(result, args.format)
    if args.format == "table":
        totals = result.totals
        print(
            f"window {totals['window_ps']:g} ps; feasible windows {totals['feasible_window_min_ps']:g}.."
            f"{totals['feasible_window_max_ps']:g} ps for protected bits {totals['protected_bits']} at "
            f"{result.config.f_clk_mhz:g} MHz, nominal {totals['vdd_v']:g} V (t_hold {totals['t_hold_ps']:g} ps, "
            f"BUF {totals['buffer_delay_ps']:g} ps); {totals['hold_buffers_total']} hold buffers"
        )
    return 0
