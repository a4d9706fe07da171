"""One vocabulary: a study's config fields are its Python keywords, sweep keys and command-line options.

A field ``f`` of a study config (``vdd_v``, ``f_clk_mhz``, ``array``, ``recovery``,
``images`` ...) is the keyword ``f`` in Python (``vscale.accuracy(vdd_v=0.9)``), the key
``f`` in a sweep file and the option ``--f`` on the command line, with ``_`` written ``-``
(``--f-clk-mhz``). The fields of :data:`SHORT_NAMES` also answer to a documented short
name in sweep files and on the command line (``vdd`` and ``--vdd`` for ``vdd_v``); Python
takes field names only, so a misspelt keyword is an error that names the nearest field::

    >>> vscale.accuracy(vdd=0.9)
    ConfigError: vdd: not a field of AccuracyConfig; did you mean vdd_v?

Every study config derives from :class:`ConfigFields`, which makes that check when the
config is built. This module is the one table; :mod:`experiments.options` builds the
command-line options from it and :mod:`experiments.sweep` reads sweep keys with it.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from pe_models.errors import ConfigError

__all__ = [
    "OTHER_NAMES",
    "SHORT_NAMES",
    "ConfigFields",
    "UnknownFieldError",
    "accepted_names",
    "check_fields",
    "field_choices",
    "field_names",
    "option_strings",
    "resolve_names",
    "unknown_field_message",
]

SHORT_NAMES: dict[str, str] = {
    "vdd_v": "vdd",
    "penalty_cycles": "penalty",
    "array_rows": "rows",
    "cell_delays_ps": "cell_delays",
    "config_file": "config",
    "operand_file": "operands",
    "layer_range": "layers",
    "memory_vdd_v": "memory_vdd",
}
"""Field -> the short name sweep files and the command line also accept, and show first
(``--vdd`` for ``vdd_v``). A short name is not used for a config that has a field of that
name itself (``operands`` of ``probs`` is its own field, not ``simulate``'s ``operand_file``)."""

OTHER_NAMES: dict[str, tuple[str, ...]] = {
    "gemm": ("layer",),
    "recovery": ("stall",),
    "penalty_cycles": ("stall_cycles",),
}
"""Field -> further names sweep files and the command line accept for it: an earlier vscale's
(``vscale simulate --layer M,N,K`` is ``--gemm``), or the hardware's (``--stall-cycles`` is
``--penalty``: the cycles one Razor recovery stalls its scope)."""

FORMER_NAMES: dict[str, str] = {
    "recoveries": "recovery",
    "stall_scope": "recovery",
    "rows": "array",
    "cols": "array",
    "vdd_max_v": "vdd_v",
    "vdd_min_v": "vdd_v",
    "topology_file": "topology",
    "pe": "cells, adder, pipeline, width, technology",
}
"""Names an earlier vscale used -> the field that took their place (named in the message)."""


class UnknownFieldError(ConfigError, TypeError):
    """A keyword, sweep key or option that is not a field of the config (one line naming it)."""


class ConfigFields:
    """Base of every study config: building one with an unknown keyword names the nearest field.

    Subclasses are frozen, keyword-only dataclasses. ``KEYWORD_ALIASES`` maps further
    keywords a config accepts in Python to its fields (the SCALE-Sim drop-in takes
    SCALE-Sim's own ``config=``); ``CHOICES`` names the allowed values of its fields that
    take one of a few words (merged over the class hierarchy by :func:`field_choices`;
    the command line shows them).
    """

    __slots__ = ()
    KEYWORD_ALIASES: ClassVar[Mapping[str, str]] = {}
    CHOICES: ClassVar[Mapping[str, Sequence[str]]] = {}

    def __new__(cls, *args: Any, **fields: Any) -> Any:
        check_fields(cls, fields)
        for name in _flag_fields(cls):
            if name in fields and not isinstance(fields[name], bool):
                raise ConfigError(f"{name}: expected true or false, got {fields[name]!r}")
        return super().__new__(cls)


_FLAG_FIELDS: dict[type, tuple[str, ...]] = {}


def _flag_fields(config_type: type) -> tuple[str, ...]:
    """The fields of a config dataclass typed ``bool`` (on or off; any other value is refused)."""
    if config_type not in _FLAG_FIELDS:
        _FLAG_FIELDS[config_type] = tuple(
            item.name
            for item in dataclasses.fields(config_type)  # type: ignore[arg-type]
            if item.init and item.type in ("bool", bool)
        )
    return _FLAG_FIELDS[config_type]


def field_choices(config_type: type) -> dict[str, tuple[str, ...]]:
    """Field -> its allowed words: the ``CHOICES`` of the config and of the classes it derives from."""
    found: dict[str, tuple[str, ...]] = {}
    for cls in reversed(config_type.__mro__):
        found.update({name: tuple(words) for name, words in cls.__dict__.get("CHOICES", {}).items()})
    return found


def field_names(config_type: type) -> tuple[str, ...]:
    """The init fields of a config dataclass, in order."""
    return tuple(item.name for item in dataclasses.fields(config_type) if item.init)  # type: ignore[arg-type]


def accepted_names(config_type: type, *, short: bool = True) -> dict[str, str]:
    """Every name a sweep key or option may take for `config_type` -> its field.

    The fields themselves, and with `short` the :data:`SHORT_NAMES` of its fields (a short
    name that is itself a field of the config is that field).
    """
    fields = field_names(config_type)
    names = {name: name for name in fields}
    if short:
        for name in fields:
            for alias in (SHORT_NAMES.get(name), *OTHER_NAMES.get(name, ())):
                if alias is not None and alias not in names:
                    names[alias] = name
    return names


def unknown_field_message(config_type: type, key: str, *, short: bool = False) -> str:
    """``KEY: not a field of CONFIG; did you mean FIELD?`` (or the list of fields)."""
    names = accepted_names(config_type, short=short)
    fields = field_names(config_type)
    head = f"{key}: not a field of {config_type.__name__}"
    former = FORMER_NAMES.get(key)
    if former is not None and all(part in fields for part in former.split(", ")):
        return f"{head}; use {former}"
    alias_of = {alias: name for name, alias in SHORT_NAMES.items() if name in fields}
    alias_of.update({alias: name for name, aliases in OTHER_NAMES.items() if name in fields for alias in aliases})
    alias_of.update(getattr(config_type, "KEYWORD_ALIASES", {}))
    if key in alias_of:
        return f"{head}; did you mean {alias_of[key]}?"
    close = difflib.get_close_matches(key, list(names), n=1, cutoff=0.6)
    if close:
        return f"{head}; did you mean {names[close[0]]}?"
    return f"{head}; fields: {', '.join(fields)}"


def check_fields(config_type: type, keys: Iterable[str]) -> None:
    """Raise :class:`UnknownFieldError` for the first key that is not a field of `config_type`.

    A config itself takes field names only; the study function maps the config's
    ``KEYWORD_ALIASES`` to their fields first (:func:`resolve_names`), and the message for
    an alias given to the config names its field.
    """
    fields = set(field_names(config_type))
    for key in keys:
        if key not in fields:
            raise UnknownFieldError(unknown_field_message(config_type, key))


def resolve_names(
    config_type: type, values: Mapping[str, Any], *, short: bool = False, where: str = ""
) -> dict[str, Any]:
    """`values` keyed by field: keyword aliases (and with `short`, short names) mapped to their fields.

    Raises
    ------
    UnknownFieldError
        A key that names no field (the message starts with `where`, e.g. a sweep file's
        ``fixed.``), or two keys naming the same field.
    """
    names = accepted_names(config_type, short=short)
    names.update(getattr(config_type, "KEYWORD_ALIASES", {}))
    resolved: dict[str, Any] = {}
    given: dict[str, str] = {}
    for key, value in values.items():
        name = names.get(key)
        if name is None:
            raise UnknownFieldError(where + unknown_field_message(config_type, key, short=short))
        if name in given:
            raise UnknownFieldError(f"{where}{key}: the same field as {given[name]}; give it once")
        given[name] = key
        resolved[name] = value
    return resolved


def option_strings(field: str) -> list[str]:
    """The command-line options of a field: its short name first (the one messages show), then
    ``--`` + the field with ``-`` for ``_``, then its :data:`OTHER_NAMES`."""
    names = [SHORT_NAMES[field]] if field in SHORT_NAMES else []
    names += [field, *OTHER_NAMES.get(field, ())]
    return ["--" + name.replace("_", "-") for name in names]
