"""The energy options of every command that reports energy (``energy``, ``accuracy``, ``optimize``, ``run``).

They map one to one onto :class:`experiments.studies.energy_options.EnergyFields`:
``--batch``, ``--clock-gating``/``--no-clock-gating``, ``--power-gating``, ``--memory-vdd``,
``--dram`` and ``--temperature-c``.
"""

from __future__ import annotations

import argparse
from typing import Any

from pe_models.errors import ConfigError
from pe_models.memory_energy import DRAM_TYPES

__all__ = ["add_energy_options", "energy_values"]


def add_energy_options(parser: argparse.ArgumentParser) -> None:
    """Add the energy options to `parser` (read back with :func:`energy_values`)."""
    group = parser.add_argument_group("energy model")
    group.add_argument(
        "--batch",
        type=int,
        default=1,
        metavar="N",
        help="images sharing each weight fold on the simulated array (default: 1); cycles, memory traffic and "
        "energy per image follow it, not the number of images evaluated",
    )
    group.add_argument(
        "--clock-gating",
        dest="clock_gating_flag",
        action="store_true",
        help="clock only the PEs whose row and column hold work in a fold (the default)",
    )
    group.add_argument(
        "--no-clock-gating",
        dest="no_clock_gating",
        action="store_true",
        help="clock every flop of every PE every cycle",
    )
    group.add_argument(
        "--power-gating", action="store_true", help="power only the PEs holding work (needs clock gating)"
    )
    group.add_argument(
        "--memory-vdd",
        "--memory-vdd-v",
        dest="memory_vdd",
        type=float,
        metavar="V",
        help="supply of the SRAM buffers in V, inside the technology's range (default: nominal)",
    )
    group.add_argument(
        "--dram", choices=tuple(DRAM_TYPES), default="lpddr4", help="DRAM type, pJ/bit in docs/energy.md"
    )
    group.add_argument(
        "--temperature-c", type=float, default=27.0, metavar="C", help="junction temperature for the leakage (27)"
    )


def energy_values(args: argparse.Namespace) -> dict[str, Any]:
    """The :class:`~experiments.studies.energy_options.EnergyFields` values of parsed `args`.

    Raises
    ------
    ConfigError
        ``--clock-gating`` together with ``--no-clock-gating``.
    """
    if args.clock_gating_flag and args.no_clock_gating:
        raise ConfigError(
            "--no-clock-gating: contradicts --clock-gating; allowed: one of --clock-gating (the default) and "
            "--no-clock-gating"
        )
    return {
        "batch": args.batch,
        "clock_gating": not args.no_clock_gating,
        "power_gating": args.power_gating,
        "memory_vdd_v": args.memory_vdd,
        "dram": args.dram,
        "temperature_c": args.temperature_c,
    }
