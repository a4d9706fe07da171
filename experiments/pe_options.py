"""Command-line options shared by the PE commands: PE build, timing and VDD ranges."""

from __future__ import annotations

import argparse

import numpy as np

from experiments.technology_files import resolve_user_technology
from pe_models.cells import parse_cell_delays
from pe_models.errors import ConfigError
from pe_models.operands import OPERAND_SOURCES, OperandStream, load_trace, synthetic_stream
from pe_models.pe import OperatingPoint, PEConfig, StageTiming, stage_timing
from pe_models.technology import DEFAULT_TECHNOLOGY, TECHNOLOGIES

__all__ = [
    "add_operand_options",
    "add_pe_options",
    "add_razor_window_option",
    "add_setup_option",
    "add_sweep_options",
    "add_timing_options",
    "operand_stream",
    "parse_vdd_range",
    "pe_config",
    "timing_from_args",
]


def add_pe_options(parser: argparse.ArgumentParser) -> None:
    """--cells, --cell-delays, --adder, --pipeline, --width, --technology."""
    group = parser.add_argument_group("PE")
    group.add_argument(
        "--cells",
        choices=("2in", "compound"),
        default="compound",
        help="cell library: 2-input cells or XOR3/MAJ3 compound cells (default: compound)",
    )
    group.add_argument(
        "--cell-delays",
        metavar="CELL=PS,...",
        default=None,
        help="override cell delays in ps at nominal VDD, e.g. xor2=30,and2=20 (default: library values)",
    )
    group.add_argument(
        "--adder",
        choices=("rca", "ks"),
        default="rca",
        help="accumulator adder: ripple-carry or Kogge-Stone (default: rca)",
    )
    group.add_argument(
        "--pipeline",
        choices=("registered", "fused"),
        default="registered",
        help="registered product (stages timed separately) or fused multiply-add (default: registered)",
    )
    group.add_argument(
        "--width", type=int, default=32, metavar="BITS", help="accumulator width in bits, 16..62 (default: 32)"
    )
    group.add_argument(
        "--technology",
        default=DEFAULT_TECHNOLOGY,
        metavar="NAME|FILE",
        help=f"voltage-scaling preset ({', '.join(sorted(TECHNOLOGIES))}), a fitted FILE.toml or a FILE.csv of "
        f"vdd_v,delay_scale points (default: {DEFAULT_TECHNOLOGY}; see vscale tech list)",
    )


def pe_config(args: argparse.Namespace) -> PEConfig:
    overrides = parse_cell_delays(args.cell_delays) if args.cell_delays else None
    return PEConfig(
        cells=args.cells,
        cell_delays_ps=overrides,
        adder=args.adder,
        pipeline=args.pipeline,
        width=args.width,
        technology=resolve_user_technology(args.technology),
    )


def add_timing_options(parser: argparse.ArgumentParser) -> None:
    """Either --t-clk-ps [--delay-scale] or --vdd with --f-clk-mhz (one of --vdd, --t-clk-ps is required)."""
    group = parser.add_argument_group(
        "timing (required: one of --vdd or --t-clk-ps)",
        "--vdd V with --f-clk-mhz (the technology gives the delay scale), or --t-clk-ps PS with --delay-scale.",
    )
    group.add_argument(
        "--t-clk-ps",
        type=float,
        default=None,
        metavar="PS",
        help="clock period in ps, > 0 and longer than the setup time (with --delay-scale; instead of --vdd)",
    )
    group.add_argument(
        "--delay-scale",
        type=float,
        default=None,
        metavar="S",
        help="cell delays relative to nominal, > 0 and <= 1000, with --t-clk-ps (default: 1)",
    )
    group.add_argument(
        "--vdd",
        type=float,
        default=None,
        metavar="V",
        help="supply voltage in V, above the technology's threshold and at most its maximum (with --f-clk-mhz)",
    )
    group.add_argument(
        "--f-clk-mhz",
        type=float,
        default=700.0,
        metavar="MHZ",
        help="clock frequency in MHz, > 0 and <= 20000, with --vdd (default: 700)",
    )
    add_setup_option(group)


def add_setup_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup, *, sweep: bool = False) -> None:
    """--t-setup-ps: the output flip-flops' setup time (with `sweep`: the same at every VDD of the sweep)."""
    where = "at every VDD of the sweep" if sweep else "at this operating point"
    parser.add_argument(
        "--t-setup-ps",
        type=float,
        default=None,
        metavar="PS",
        help=f"setup time of the output flip-flops {where} in ps, >= 0 and shorter than the clock period "
        "(default: the cell library's 25 ps at nominal VDD, scaled with the cell delays)",
    )


def timing_from_args(args: argparse.Namespace, pe: PEConfig) -> StageTiming:
    """The PE timing of --t-clk-ps [--delay-scale] or of --vdd with --f-clk-mhz."""
    if args.t_clk_ps is not None:
        if args.vdd is not None:
            raise ConfigError("--vdd: give either --t-clk-ps (with --delay-scale) or --vdd with --f-clk-mhz, not both")
        return stage_timing(
            pe, t_clk_ps=args.t_clk_ps, delay_scale=args.delay_scale, t_setup_ps=getattr(args, "t_setup_ps", None)
        )
    if args.delay_scale is not None:
        raise ConfigError("--delay-scale: only with --t-clk-ps; with --vdd the technology gives the scale")
    if args.vdd is None:
        raise ConfigError("--vdd: give --vdd V (with --f-clk-mhz) or --t-clk-ps T")
    return stage_timing(
        pe,
        operating_point=OperatingPoint(vdd_v=args.vdd, f_clk_mhz=args.f_clk_mhz),
        t_setup_ps=getattr(args, "t_setup_ps", None),
    )


def add_razor_window_option(parser: argparse.ArgumentParser, *, default_help: str) -> None:
    """--razor-window-ps: the Razor detection window, in ps or as a percentage of the clock period."""
    parser.add_argument(
        "--razor-window-ps",
        default=None,
        metavar="PS|PCT%",
        help="Razor detection window: the shadow latch samples PS after the main sample "
        f"(or PCT%% of the clock period, e.g. 25%%); {default_help}",
    )


def parse_vdd_range(text: str) -> list[float]:
    """``START:STOP:STEP`` (inclusive, either direction), ``V1,V2,...`` or ``V`` -> volts.

    Raises
    ------
    ConfigError
        ``--vdd: ...``: malformed text, a step <= 0, or a voltage outside (0, 2] V (the
        technology then checks its own range); see :func:`experiments.studies.common.vdd_values`.
    """
    from experiments.studies.common import vdd_values

    return list(vdd_values(text, "--vdd"))


def add_sweep_options(parser: argparse.ArgumentParser, *, default: str = "0.9:0.5:0.05") -> None:
    """--vdd START:STOP:STEP|V1,V2,... and --f-clk-mhz: the timing group of a voltage sweep."""
    group = parser.add_argument_group("timing (voltage sweep)")
    group.add_argument(
        "--vdd",
        default=default,
        metavar="START:STOP:STEP",
        help="supply voltages in V: START:STOP:STEP (inclusive, STEP > 0), V1,V2,... or V; each above the "
        f"technology's threshold and at most its maximum (default: {default})",
    )
    group.add_argument(
        "--f-clk-mhz",
        type=float,
        default=700.0,
        metavar="MHZ",
        help="clock frequency in MHz, > 0 and <= 20000 (default: 700)",
    )


def add_operand_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("operands")
    group.add_argument(
        "--operands",
        default="dnn",
        metavar="uniform|dnn|TRACE.npz",
        help="operand source: uniform int8 and partial sums, a synthetic weight-stationary "
        "DNN column (dnn), or a trace file with arrays a, b, c (default: dnn)",
    )
    group.add_argument(
        "--rows",
        type=int,
        default=256,
        metavar="R",
        help="array rows (column depth) for the dnn operand model, >= 1 (default: 256)",
    )
    group.add_argument("--seed", type=int, default=0, help="seed of the synthetic operands, >= 0 (default: 0)")


def operand_stream(args: argparse.Namespace, *, lanes: int = 32, steps: int = 2048) -> OperandStream:
    if args.operands in OPERAND_SOURCES:
        if args.rows < 1:
            raise ConfigError(f"--rows: expected a positive number of array rows, got {args.rows}")
        return synthetic_stream(
            args.operands, lanes=lanes, steps=steps, seed=np.random.SeedSequence(args.seed), depth=args.rows
        )
    if not args.operands.endswith(".npz"):
        raise ConfigError(f"--operands: expected uniform, dnn or a .npz trace file, got {args.operands!r}")
    return load_trace(args.operands)
