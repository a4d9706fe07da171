"""The names of config fields in sweep files and on the command line (library level, no argparse).

A field ``f`` of a study config is the option ``--f`` (``_`` written ``-``) and the sweep key
``f``, except the fields in :data:`FIELD_OPTIONS`, which have a shorter name (``vdd_v`` ->
``--vdd``, sweep key ``vdd``).
"""

from __future__ import annotations

__all__ = ["FIELD_OPTIONS", "dest_of", "option_of"]

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


def option_of(field: str) -> str:
    """The command-line option of config field `field`."""
    return FIELD_OPTIONS.get(field, "--" + field.replace("_", "-"))


def dest_of(field: str) -> str:
    """The argparse destination (attribute of the parsed namespace) of config field `field`."""
    return option_of(field)[2:].replace("-", "_")
