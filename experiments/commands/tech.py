"""`vscale tech`: characterise a SPICE model card, list the presets, show a technology's curves."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

from experiments.characterize import Characterization, CharacterizeConfig, characterize, preset_toml
from experiments.options import add_config_options, add_output_options, config_from_args, integer_argument, output_dir
from experiments.output import Table, atomic_path, save_figure, subplots, write_csv, write_json
from experiments.pe_options import parse_vdd_range
from experiments.studies.technology import TechConfig, plot_tech, tech, tech_list
from pe_models.errors import ConfigError
from pe_models.technology import DEFAULT_TECHNOLOGY

from ._results import emit_result, write_config
from ._tech_cells import run_characterize_cells, run_show_cells

__all__ = ["configure"]

SPICE_COLUMNS = ("vdd_v", "fo4_delay_ps", "adder_carry_delay_ps", "switching_energy_fj", "leakage_current_na")


def configure(parser: argparse.ArgumentParser) -> None:
    """The options of ``vscale tech``."""
    commands = parser.add_subparsers(dest="tech_command", metavar="TECH_COMMAND")
    commands.required = True

    run_characterize = commands.add_parser(
        "characterize",
        help="run ngspice on an FO4 inverter chain and a full-adder carry chain; fit a preset",
        description="Runs ngspice in batch mode at each VDD on an FO4 inverter chain and a 4-bit mirror-adder "
        "carry chain (docs/technology.md); measures delay, switching energy per transition and leakage; fits "
        "the EKV and alpha-power models; writes NAME.toml (usable as --technology NAME.toml), spice.csv, "
        "fit.png, the netlists and config.json. Needs ngspice on PATH.",
    )
    run_characterize.add_argument(
        "--model-card", type=Path, required=True, metavar="FILE", help="SPICE model card with nmos and pmos models"
    )
    run_characterize.add_argument(
        "--cells",
        action="store_true",
        help="characterise every standard cell (NLDM timing, energy, capacitance, leakage, flip-flop setup/hold) "
        "and write one Liberty file per VDD corner plus the compact table vscale reads (docs/technology.md)",
    )
    run_characterize.add_argument(
        "--vdd",
        dest="spice_vdd",
        default=None,
        metavar="RANGE",
        help="supplies: START:STOP:STEP or V1,V2,... (default: 0.9:0.4:0.05, the first being nominal; "
        "with --cells the corners, default 0.4:1.0:0.05)",
    )
    run_characterize.add_argument(
        "--workers", type=integer_argument, default=2, help="with --cells: ngspice runs at once, niced (default: 2)"
    )
    run_characterize.add_argument(
        "--only",
        default=None,
        metavar="CELLS",
        help="with --cells and --from-library: characterise only these cells (comma-separated, e.g. razor_dff)",
    )
    run_characterize.add_argument(
        "--from-library",
        type=Path,
        default=None,
        metavar="FILE",
        help="with --cells --only: take every other cell from this compact table (FILE.cells.json of the same "
        "card, corners and temperature); the output is the whole library",
    )
    run_characterize.add_argument("--name", default=None, help="preset name (default: the card's file name stem)")
    run_characterize.add_argument(
        "--length-nm", type=float, default=32.0, help="drawn channel length in nm (default: 32)"
    )
    run_characterize.add_argument(
        "--temperature-c", type=float, default=27.0, help="simulation temperature in C (default: 27)"
    )
    run_characterize.add_argument("--ngspice", default="ngspice", help="ngspice executable (default: ngspice)")
    add_output_options(run_characterize, "tech-characterize")
    run_characterize.set_defaults(handler=run_characterize_command)

    listing = commands.add_parser("list", help="the shipped presets: source, nominal VDD, threshold, fit error")
    listing.add_argument("--format", choices=("table", "csv", "json"), default="table", help="stdout format")
    listing.set_defaults(handler=run_list)

    show = commands.add_parser(
        "show",
        help="delay, switching-energy and leakage-power ratios of a technology at each VDD (CSV, PNG)",
        description="One row per VDD: vdd_v, delay_scale, switching_energy_scale, leakage_power_scale, all "
        "relative to the technology's nominal supply.",
    )
    add_config_options(
        show,
        TechConfig,
        metavar={"vdd_v": "START:STOP:STEP|V1,V2,..."},
        help={
            "technology": "preset name, FILE.toml (a fit) or FILE.csv (vdd_v,delay_scale points); with --cells "
            f"also FILE.cells.json or A.lib,B.lib,... (Liberty corners) (default: {DEFAULT_TECHNOLOGY})"
        },
    )
    show.add_argument(
        "technology",
        nargs="?",
        default=argparse.SUPPRESS,
        metavar="NAME|FILE",
        help="the technology, as --technology (vscale tech show finfet-7nm)",
    )
    show.add_argument(
        "--cells",
        action="store_true",
        help="one row per cell, input pin, output edge and VDD: delay and transition at the library's "
        "reference load and slew (default VDDs: nominal, 0.6, 0.5)",
    )
    add_output_options(show, "tech-show")
    show.set_defaults(handler=run_show)


def run_list(args: argparse.Namespace) -> int:
    emit_result(tech_list(), args.format)
    return 0


def run_show(args: argparse.Namespace) -> int:
    if args.cells:
        return run_show_cells(args, args.technology)
    result = tech(config_from_args(TechConfig, args))
    directory = output_dir(args)
    write_csv(directory / "tech_show.csv", result.table())
    save_figure(directory / "tech_show.png", plot_tech(result))
    write_config(directory, "tech show", result, **result.totals)
    emit_result(result, args.format)
    if result.totals.get("basis") == "reasoned":
        print(REASONED_NOTE.format(name=result.totals["technology"]), file=sys.stderr)
    return 0


REASONED_NOTE = (
    "vscale tech: {name} is a preset of reasoned values, not characterised (docs/technology.md); "
    "use ptm-32nm-hp-cells or Liberty files for quantitative claims"
)

_CHARACTERIZE_OPTIONS = {
    "vdd_v": "--vdd",
    "workers": "--workers",
    "model_card": "--model-card",
    "length_nm": "--length-nm",
    "temperature_c": "--temperature-c",
}


def run_characterize_command(args: argparse.Namespace) -> int:
    try:
        return _characterize(args)
    except ConfigError as error:
        field, sep, rest = str(error).partition(":")
        raise ConfigError(_CHARACTERIZE_OPTIONS.get(field, field) + sep + rest) from None


_PRESET_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")


def _characterize(args: argparse.Namespace) -> int:
    if args.name is not None and not _PRESET_NAME.fullmatch(args.name):
        raise ConfigError(
            f"--name: {args.name!r} is not a file name; allowed: letters, digits, '.', '_' and '-', "
            "not starting with '.'"
        )
    if not 1 <= args.workers <= 64:
        raise ConfigError(f"--workers: {args.workers}; allowed: 1 to 64")
    if args.cells:
        return run_characterize_cells(args)
    voltages = parse_vdd_range("0.9:0.4:0.05" if args.spice_vdd is None else args.spice_vdd)
    name = args.name or args.model_card.stem
    config = CharacterizeConfig(
        model_card=args.model_card,
        vdd_v=tuple(voltages),
        name=name,
        length_nm=args.length_nm,
        temperature_c=args.temperature_c,
        ngspice=args.ngspice,
    )
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise ConfigError(f"--out: {args.out} exists and is not a directory")

    def report(row) -> None:
        print(f"vscale tech: {row.vdd_v:g} V: FO4 {row.fo4_delay_ps:.3f} ps", file=sys.stderr)

    result = characterize(config, progress=report)
    directory = output_dir(args)
    spice = spice_table(result)
    with atomic_path(directory / f"{name}.toml") as tmp:
        tmp.write_text(preset_toml(result.technology, result.report, rows=result.rows, extra=_extra(result)))
    with atomic_path(directory / f"{name}-carry.toml") as tmp:
        tmp.write_text(preset_toml(result.carry, result.carry_report, rows=result.rows))
    write_csv(directory / "spice.csv", spice)
    for label, netlist in result.netlists.items():
        with atomic_path(directory / "netlists" / f"{label}.sp") as tmp:
            tmp.write_text(netlist)
    save_figure(directory / "fit.png", plot_fit(result))
    write_json(
        directory / "config.json",
        {
            "command": "tech characterize",
            "model_card": str(args.model_card),
            "vdd_v": voltages,
            "name": name,
            "length_nm": args.length_nm,
            "temperature_c": args.temperature_c,
            "ngspice": result.ngspice_version,
            "measured_slope_factor_n": result.slope_factor_n,
            "ekv": result.report.as_dict(),
            "alpha_power": result.alpha_power_report.as_dict(),
            "carry": result.carry_report.as_dict(),
        },
    )
    emit_fit(result, args.format)
    return 0


def _extra(result: Characterization) -> dict[str, object]:
    return {
        "measured_slope_factor_n": round(result.slope_factor_n, 5),
        "alpha_power_vth_v": result.alpha_power.vth_v,
        "alpha_power_alpha": result.alpha_power.alpha,
        "alpha_power_delay_max_error_pct": result.alpha_power_report.delay_max_error_pct,
    }


def spice_table(result: Characterization) -> Table:
    """The measurements with the fitted and measured delay ratios side by side."""
    nominal = result.rows[0]
    rows = []
    for row in result.rows:
        measured = row.fo4_delay_ps / nominal.fo4_delay_ps
        rows.append(
            [
                *(getattr(row, column) for column in SPICE_COLUMNS),
                measured,
                row.adder_carry_delay_ps / nominal.adder_carry_delay_ps,
                result.technology.delay_scale(row.vdd_v),
                result.alpha_power.delay_scale(row.vdd_v),
            ]
        )
    return Table(
        columns=[*SPICE_COLUMNS, "fo4_delay_scale", "adder_delay_scale", "ekv_delay_scale", "alpha_power_delay_scale"],
        rows=rows,
    )


def emit_fit(result: Characterization, fmt: str) -> None:
    table = spice_table(result)
    sys.stdout.write(table.render(fmt))
    if fmt == "table":
        report = result.report
        print(
            f"fit {result.technology.name}: ekv vth_v={result.technology.vth_v:g} alpha={result.technology.alpha:g} "
            f"n={result.technology.slope_factor_n:g}, delay error max {report.delay_max_error_pct:g} % "
            f"(alpha-power: {result.alpha_power_report.delay_max_error_pct:g} %), switching energy "
            f"V^{result.technology.switching_energy_exponent:g} ({report.switching_energy_max_error_pct:g} %), "
            f"leakage power ({report.leakage_power_max_error_pct:g} %); carry-chain fit "
            f"{result.carry.name}: delay error max {result.carry_report.delay_max_error_pct:g} %"
        )


def plot_fit(result: Characterization):
    """SPICE points against the fitted curves: delay ratio, switching energy, leakage power."""
    vdd = result.vdd_v
    nominal = result.rows[0]
    dense = np.linspace(float(vdd.min()), float(vdd.max()), 200)
    figure, axes = subplots(1, 3, figsize=(14, 4))
    delay = result.column("fo4_delay_ps") / nominal.fo4_delay_ps
    adder = result.column("adder_carry_delay_ps") / nominal.adder_carry_delay_ps
    axes[0].semilogy(vdd, delay, "o", label="ngspice FO4")
    axes[0].semilogy(vdd, adder, "^", label="ngspice adder carry")
    axes[0].semilogy(dense, result.technology.delay_scales(dense), "-", label="EKV fit")
    axes[0].semilogy(dense, result.alpha_power.delay_scales(dense), "--", label="alpha-power fit")
    axes[0].semilogy(dense, result.carry.delay_scales(dense), ":", label="EKV fit, carry")
    axes[0].set_ylabel("delay / delay at nominal")
    energy = result.column("switching_energy_fj") / nominal.switching_energy_fj
    axes[1].plot(vdd, energy, "o", label="ngspice FO4 stage")
    axes[1].plot(dense, [result.technology.dynamic_energy_scale(v) for v in dense], "-", label="V^gamma fit")
    axes[1].set_ylabel("switching energy / nominal")
    leakage = result.column("leakage_current_na") * vdd / (nominal.leakage_current_na * nominal.vdd_v)
    axes[2].semilogy(vdd, leakage, "o", label="ngspice inverter")
    axes[2].semilogy(dense, [result.technology.leakage_power_scale(v) for v in dense], "-", label="DIBL fit")
    axes[2].set_ylabel("leakage power / nominal")
    for axis in axes:
        axis.set_xlabel("VDD (V)")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    figure.suptitle(f"{result.technology.name}: {result.technology.source}")
    return figure
