"""The one map between study-config fields and command-line options.

A command's options are named after the fields of its study config: the option of field
``f`` is ``--f`` with ``_`` written ``-`` (``f_clk_mhz`` -> ``--f-clk-mhz``), except the
fields listed in :data:`FIELD_OPTIONS` (``vdd_v`` -> ``--vdd``). :func:`config_from_args`
builds a config from parsed arguments by that rule, and :func:`cli_message` rewrites a
library error (``vdd_v: ...``, naming config fields) with the option names the user typed
(``--vdd: ...``). A command declares its config with ``parser.set_defaults(config_type=...)``.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from typing import Any, TypeVar

__all__ = ["FIELD_OPTIONS", "cli_message", "config_from_args", "dest_of", "option_of"]

FIELD_OPTIONS: dict[str, str] = {
    "vdd_v": "--vdd",
    "array_rows": "--rows",
    "penalty_cycles": "--penalty",
    "cell_delays_ps": "--cell-delays",
    "layer_range": "--layers",
    "operand_file": "--operands",
    "config_file": "--config",
    "memory_vdd_v": "--memory-vdd",
}
"""Fields whose option is not ``--`` + the field name with ``-`` for ``_``."""

C = TypeVar("C")


def option_of(field: str) -> str:
    """The command-line option of config field `field`."""
    return FIELD_OPTIONS.get(field, "--" + field.replace("_", "-"))


def dest_of(field: str) -> str:
    """The argparse destination (attribute of the parsed namespace) of config field `field`."""
    return option_of(field)[2:].replace("-", "_")


def config_from_args(config_type: type[C], args: argparse.Namespace, **values: Any) -> C:
    """``config_type(...)`` from every field whose option the command defines, plus `values`.

    A field without an option on this command keeps its default; `values` override.
    """
    kwargs: dict[str, Any] = {}
    for field in dataclasses.fields(config_type):  # type: ignore[arg-type]
        if not field.init:
            continue
        dest = dest_of(field.name)
        if hasattr(args, dest):
            kwargs[field.name] = getattr(args, dest)
    kwargs.update(values)
    return config_type(**kwargs)


def cli_message(message: str, config_type: type | None = None) -> str:
    """`message` with config field names replaced by their options.

    The leading ``field:`` is replaced when it names a field of `config_type` (or of
    :data:`FIELD_OPTIONS`); further mentions of multi-word fields (``t_clk_ps``) too.
    """
    fields = set(FIELD_OPTIONS)
    if config_type is not None and dataclasses.is_dataclass(config_type):
        fields |= {f.name for f in dataclasses.fields(config_type) if f.init}
    head, sep, rest = message.partition(":")
    if sep and head in fields:
        message = option_of(head) + sep + rest
    else:
        return message
    words = sorted((f for f in fields if "_" in f), key=len, reverse=True)
    if not words:
        return message
    pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, words)) + r")(?![\w-])")
    option, sep, rest = message.partition(":")
    return option + sep + pattern.sub(lambda match: option_of(match.group(1)), rest)
