"""Command-line option groups of the PE, timing and operand fields, built from their configs.

Every command that takes a PE, an operating point, a voltage sweep, operands or the energy
model adds those options with :func:`add_study_options` (the study's own fields first, then
one group per field group of :mod:`experiments.studies.common` and
:mod:`experiments.studies.energy_options`), or one group with :func:`add_pe_options` and
:func:`add_timing_options`; the options are the fields of :class:`~experiments.studies.common.PEFields`,
:class:`~experiments.studies.common.TimingFields`,
:class:`~experiments.studies.common.SweepFields` and
:class:`~experiments.studies.common.OperandFields` (:func:`experiments.options.add_config_options`).
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Mapping, Sequence

from experiments.studies.common import OperandFields, PEFields, SweepFields, TimingFields, vdd_values
from experiments.studies.energy_options import EnergyFields
from pe_models.pe import PEConfig, StageTiming

from .options import add_config_options, config_from_args

__all__ = [
    "add_pe_options",
    "add_study_options",
    "add_timing_options",
    "parse_vdd_range",
    "pe_config",
    "timing_fields",
    "timing_from_args",
]

_TIMING_TITLE = "timing (required: one of --vdd or --t-clk-ps)"
_TIMING_DESCRIPTION = (
    "--vdd V with --f-clk-mhz (the technology gives the delay scale), or --t-clk-ps PS with --delay-scale."
)
_SWEEP_TITLE = "timing (voltage sweep)"
_METAVARS = {"vdd_v": "V", "cells": "compound|2in", "adder": "rca|ks", "pipeline": "registered|fused"}
_SWEEP_METAVARS = {**_METAVARS, "vdd_v": "START:STOP:STEP"}


def _own(group: type, base: type | None = None) -> list[str]:
    """The fields `group` adds to `base`."""
    inherited = set() if base is None else {item.name for item in dataclasses.fields(base)}
    return [item.name for item in dataclasses.fields(group) if item.name not in inherited]


def add_pe_options(parser: argparse.ArgumentParser, **options: object) -> None:
    """The PE group: --cells, --cell-delays, --adder, --pipeline, --width, --technology."""
    add_config_options(parser.add_argument_group("PE"), PEFields, metavar=_METAVARS, **options)  # type: ignore[arg-type]


def add_timing_options(parser: argparse.ArgumentParser, **options: object) -> None:
    """One operating point: --vdd with --f-clk-mhz, or --t-clk-ps [--delay-scale]; --t-setup-ps."""
    group = parser.add_argument_group(_TIMING_TITLE, _TIMING_DESCRIPTION)
    add_config_options(group, TimingFields, fields=_own(TimingFields, PEFields), metavar=_METAVARS, **options)  # type: ignore[arg-type]


def add_study_options(
    parser: argparse.ArgumentParser,
    config_type: type,
    *,
    help: Mapping[str, str] | None = None,
    metavar: Mapping[str, str] | None = None,
    aliases: Mapping[str, Sequence[str]] | None = None,
    exclude: Sequence[str] = (),
) -> None:
    """Every field of a study config as an option: its own fields, then the timing, operand
    and PE groups it has (:func:`experiments.options.add_config_options` for each)."""
    groups: tuple[tuple[type, list[str], tuple[str, str | None], dict[str, str]], ...] = (
        (SweepFields, _own(SweepFields, PEFields), (_SWEEP_TITLE, None), _SWEEP_METAVARS),
        (TimingFields, _own(TimingFields, PEFields), (_TIMING_TITLE, _TIMING_DESCRIPTION), _METAVARS),
        (OperandFields, _own(OperandFields), ("operands", None), {}),
        (PEFields, _own(PEFields), ("PE", None), _METAVARS),
        (EnergyFields, _own(EnergyFields), ("energy model", None), {"temperature_c": "C"}),
    )
    present = [(title, fields, names) for group, fields, title, names in groups if issubclass(config_type, group)]
    grouped = {name for _, fields, _ in present for name in fields}
    own = [item.name for item in dataclasses.fields(config_type) if item.init and item.name not in grouped]
    shared = {"help": help, "aliases": aliases, "exclude": exclude}
    add_config_options(parser, config_type, fields=own, metavar=metavar, **shared)  # type: ignore[arg-type]
    for (title, description), fields, names in present:
        group = parser.add_argument_group(title, description)
        add_config_options(group, config_type, fields=fields, metavar={**names, **(metavar or {})}, **shared)  # type: ignore[arg-type]


def pe_config(args: argparse.Namespace) -> PEConfig:
    """The :class:`~pe_models.pe.PEConfig` of the PE options."""
    return config_from_args(PEFields, args).pe_config()


def timing_fields(args: argparse.Namespace) -> TimingFields:
    """The timing options as :class:`TimingFields`: ``f_clk_mhz`` is the clock in force (given, 700 MHz
    with --vdd, or the clock of --t-clk-ps)."""
    return config_from_args(TimingFields, args)


def timing_from_args(args: argparse.Namespace, pe: PEConfig | None = None) -> StageTiming:
    """The PE timing of --vdd with --f-clk-mhz, or of --t-clk-ps [--delay-scale] (and the PE options)."""
    return timing_fields(args).timing()


def parse_vdd_range(text: str) -> list[float]:
    """``START:STOP:STEP`` (inclusive, either direction), ``V1,V2,...`` or ``V`` -> volts.

    Raises
    ------
    ConfigError
        ``--vdd: ...``: malformed text, a step <= 0, or a voltage outside (0, 2] V (the
        technology then checks its own range); see :func:`experiments.studies.common.vdd_values`.
    """
    return list(vdd_values(text, "--vdd"))
