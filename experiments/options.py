"""Command-line options built from the study configs, and the output folder every command writes.

The options of a command are the fields of its study config (:mod:`experiments.vocabulary`:
field ``f`` is ``--f`` with ``-`` for ``_``, plus its documented short name, ``--vdd`` for
``vdd_v``); :func:`add_config_options` adds them, with the config's defaults, the type of
the field and the help of its docstring. The parsed arguments carry each value under its
field name, so :func:`config_from_args` builds the config directly, and :func:`cli_message`
(used by :func:`experiments.cli.main`, the one place that does) rewrites a library error
that names fields (``vdd_v: ...``) with the options the user typed (``--vdd: ...``).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import errno
import functools
import inspect
import os
import re
import shutil
import signal
import tempfile
import textwrap
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pe_models.errors import ConfigError

from .output import FORMATS, current_umask
from .vocabulary import field_choices, field_names, option_strings

__all__ = [
    "STAGING",
    "StagingFolder",
    "add_config_options",
    "add_out_option",
    "add_output_options",
    "cli_message",
    "config_from_args",
    "field_help",
    "files_complete",
    "out_argument",
    "output_dir",
    "published_path",
    "shown_default",
]

STAGING = "_vscale_staging"
"""Attribute of the parsed arguments holding the command's :class:`StagingFolder` (set by the CLI)."""
SIGNALS = (signal.SIGINT, signal.SIGTERM)

C = TypeVar("C")

METAVARS: dict[str, str] = {
    "array": "ROWSxCOLS",
    "arrays": "RxC,RxC,...",
    "bandwidth": "WORDS_PER_CYCLE",
    "bandwidths": "B,B,...",
    "cell_delays_ps": "CELL=PS,...",
    "config_file": "FILE.cfg|FILE.toml",
    "dataflow": "ws|os|is",
    "delay_scale": "S",
    "sigma_die": "S",
    "sigma_pe": "S",
    "gemm": "M,N,K",
    "images": "N|DIR",
    "labels": "FILE",
    "noninferiority_alpha": "ALPHA",
    "layer_range": "START:STOP",
    "operand_file": "FILE.npz",
    "operands": "uniform|dnn|TRACE.npz",
    "plan": "FILE.toml",
    "protect": "HIGH:LOW,...",
    "protect_product": "HIGH:LOW,...",
    "razor_window_ps": "PS|PCT%",
    "technology": "NAME|FILE",
    "topology": "FILE|NAME",
}
"""Metavars of fields whose value has a form; others follow the unit of the field name."""

_UNIT_METAVARS = (
    ("_mhz", "MHZ"),
    ("_ps", "PS"),
    ("_pct", "PCT"),
    ("_nm", "NM"),
    ("_kib", "KIB"),
    ("_mv", "MV"),
    ("_v", "V"),
)


def _metavar(name: str, hint: Any, choices: Sequence[str] = ()) -> str:
    if choices:
        return "|".join(choices)
    if name in METAVARS:
        return METAVARS[name]
    for suffix, metavar in _UNIT_METAVARS:
        if name.endswith(suffix):
            return metavar
    return "N" if _scalar_type(hint) is int else name.upper()


@functools.cache
def integer_argument(text: str) -> int:
    """The ``type`` of every integer option: the integer, or a one-line refusal naming what is allowed."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def number_argument(text: str) -> float:
    """The ``type`` of every real-valued option: the number, or a one-line refusal naming what is allowed."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


_ARGUMENT_TYPES: dict[type, Any] = {int: integer_argument, float: number_argument}


def _hints(config_type: type) -> dict[str, Any]:
    return typing.get_type_hints(config_type)


def _scalar_type(hint: Any) -> type | None:
    """``int``, ``float`` or ``bool`` for a field typed so (or optionally so), else None (text)."""
    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    options = tuple(option for option in options if option is not type(None))
    if len(options) == 1 and options[0] in (int, float, bool):
        return options[0]
    return None


_SECTION = re.compile(r"^(Attributes|Parameters)\n-+\n", re.M)
_ENTRY = re.compile(r"^(\w+(?:, \w+)*) : ?(.*)$")


@functools.cache
def field_help(config_type: type) -> dict[str, str]:
    """Field -> the description its config's docstring gives (numpy style, over the class hierarchy).

    ``name : type`` lines open an entry (``a, b : type`` documents both); the indented lines
    below are its text (or, without any, the text after the colon). A field's text is the
    one of the class that declares it, else the most derived class that documents it.
    """
    documented = {cls: _docstring_entries(cls.__dict__.get("__doc__") or "") for cls in config_type.__mro__}
    found: dict[str, str] = {}
    for name in (item.name for item in dataclasses.fields(config_type)):  # type: ignore[arg-type]
        owners = [cls for cls in config_type.__mro__ if name in inspect.get_annotations(cls)]
        for cls in [*owners, *config_type.__mro__]:
            if name in documented[cls]:
                found[name] = documented[cls][name]
                break
    return found


def _docstring_entries(doc: str) -> dict[str, str]:
    """The ``Attributes``/``Parameters`` entries of one numpy-style docstring."""
    entries: list[tuple[list[str], str, list[str]]] = []
    inside = False
    lines = [line.rstrip() for line in _dedent(doc).splitlines()]
    for index, line in enumerate(lines):
        if line in ("Attributes", "Parameters") and index + 1 < len(lines) and set(lines[index + 1]) == {"-"}:
            inside = True
        elif not inside or not line or set(line) == {"-"}:
            continue
        elif line.startswith("("):
            inside = False
        elif not line.startswith(" ") and _ENTRY.match(line):
            match = _ENTRY.match(line)
            assert match is not None
            entries.append((match.group(1).split(", "), match.group(2), []))
        elif line.startswith(" ") and entries:
            entries[-1][2].append(line.strip())
        else:
            inside = False
    found: dict[str, str] = {}
    for names, inline, text in entries:
        description = " ".join(text) if text else inline
        if description:
            found.update(dict.fromkeys(names, description))
    return found


def _dedent(doc: str) -> str:
    first, _, rest = doc.partition("\n")
    return first.strip() + "\n" + textwrap.dedent(rest)


def _cli_text(text: str, options: Mapping[str, str]) -> str:
    """Docstring text for the terminal: RST roles and literals unwrapped, `field` -> its option."""
    text = re.sub(r":\w+:`~?([\w.]+)`", lambda m: m.group(1).split(".")[-1] if "~" in m.group(0) else m.group(1), text)
    text = re.sub(r"``([^`]+)``", r"\1", text)
    text = re.sub(r"`(\w+)`", lambda m: options.get(m.group(1), m.group(1)), text)
    return text


_PROPER = ("Razor",)


def _lower_first(text: str) -> str:
    """`text` with its first word in lower case, unless that word is a name (``VDD``, ``Razor``)."""
    word = text.split(" ", 1)[0]
    if not word or any(c.isupper() for c in word[1:]) or word.startswith(_PROPER):
        return text
    return text[0].lower() + text[1:]


def shown_default(value: Any) -> str | None:
    """A default as the user would type it: ``0.9:0.5:0.05`` for an evenly stepped tuple of
    voltages, ``a,b`` for other sequences; None for None and booleans (nothing to show)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, tuple | list):
        if value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
            return ",".join(f"{rows}x{cols}" for rows, cols in value)
        if len(value) >= 3 and all(isinstance(v, int | float) for v in value):
            steps = {round(value[i] - value[i + 1], 9) for i in range(len(value) - 1)}
            if len(steps) == 1 and next(iter(steps)) != 0:
                return f"{value[0]:g}:{value[-1]:g}:{abs(next(iter(steps))):g}"
        return ",".join(shown_default(v) or str(v) for v in value)
    if dataclasses.is_dataclass(value):
        return None
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _field_default(item: dataclasses.Field) -> Any:
    if item.default is not dataclasses.MISSING:
        return item.default
    if item.default_factory is not dataclasses.MISSING:
        return item.default_factory()
    return dataclasses.MISSING


def add_config_options(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    config_type: type,
    *,
    fields: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    help: Mapping[str, str] | None = None,
    metavar: Mapping[str, str] | None = None,
    aliases: Mapping[str, Sequence[str]] | None = None,
    required: Sequence[str] = (),
    defaults: bool = True,
) -> None:
    """Add an option for each field of `config_type` (`fields`, default all) not yet on `parser`.

    The option strings are those of :func:`experiments.vocabulary.option_strings` and
    `aliases` (a one-dash alias such as ``-c`` first: shown in messages); the destination is the field name; the
    default is the config's (a field without one is required, as are `required`); the type
    is the field's (``int``, ``float``; a ``bool`` is a flag, ``--no-F`` when it defaults to
    True; anything else is passed to the config as text, which parses it); the help is its
    docstring's (:func:`field_help`) unless `help` gives one, followed by ``(default: ...)``
    when the help does not state it. With `defaults` False the options default to nothing
    (the config's own defaults then apply to whatever is not given).
    """
    help = dict(help or {})
    metavar = dict(metavar or {})
    aliases = dict(aliases or {})
    items = {item.name: item for item in dataclasses.fields(config_type) if item.init}  # type: ignore[arg-type]
    names = list(items) if fields is None else list(fields)
    present = {action.dest for action in parser._actions}
    hints = _hints(config_type)
    docs = field_help(config_type)
    choices = field_choices(config_type)
    options = {name: option_strings(name)[0] for name in items}
    for name in names:
        if name in exclude or name in present:
            continue
        item = items[name]
        default = _field_default(item)
        kind = _scalar_type(hints.get(name))
        text = help.get(name) or _cli_text(docs.get(name, ""), options)
        text = _lower_first(text).removesuffix(".")
        extra = aliases.get(name, ())
        strings = [*(a for a in extra if not a.startswith("--")), *option_strings(name)]
        strings += [a for a in extra if a.startswith("--") and a not in strings]
        keywords: dict[str, Any] = {"dest": name}
        if kind is bool:
            if default is True:
                keywords["action"] = argparse.BooleanOptionalAction
                text = f"{text} (default: on)"
            else:
                keywords["action"] = "store_true"
            keywords["default"] = bool(default) if defaults else argparse.SUPPRESS
        else:
            if kind is not None:
                keywords["type"] = _ARGUMENT_TYPES[kind]
            keywords["metavar"] = metavar.get(name) or _metavar(name, hints.get(name), choices.get(name, ()))
            if default is dataclasses.MISSING or name in required:
                keywords["required"] = True
            elif defaults:
                keywords["default"] = default
                shown = shown_default(default)
                if shown is not None and "default" not in text.lower():
                    text = f"{text} (default: {shown})" if text else f"default: {shown}"
            else:
                keywords["default"] = argparse.SUPPRESS
        keywords["help"] = text.replace("%", "%%")
        parser.add_argument(*strings, **keywords)


def config_from_args(config_type: type[C], args: argparse.Namespace, **values: Any) -> C:
    """``config_type(...)`` from every field the parsed arguments carry (under its name), plus `values`.

    A field without an option on this command keeps the config's default; `values` override.
    """
    kwargs = {name: getattr(args, name) for name in field_names(config_type) if hasattr(args, name)}
    kwargs.update(values)
    return config_type(**kwargs)


def cli_message(message: str, options: Mapping[str, str]) -> str:
    """A library message naming fields, with the options of this command instead.

    `options` maps each destination (a config field, for the options built from a config)
    to the option the user types. When the message starts with ``field:`` naming one, that
    field and every mention of a multi-word field (``t_clk_ps``, not after a ``.``:
    ``array.f_clk_mhz`` is a key of a file) are replaced; a message about a file
    (``net.csv:3: ...``) is left as it is.
    """
    head, sep, rest = message.partition(":")
    if not sep or head not in options:
        return message
    words = sorted((name for name in options if "_" in name and not name.startswith("_")), key=len, reverse=True)
    if words:
        pattern = re.compile(r"(?<![\w.'-])(" + "|".join(map(re.escape, words)) + r")(?![\w'-])")
        rest = pattern.sub(lambda match: options[match.group(1)], rest)
    return options[head] + sep + rest


def out_argument(text: str) -> Path | str:
    """The ``type`` of every output-folder option: a Path, or the blank text itself (refused later)."""
    return Path(text) if text.strip() else text


def add_output_options(parser: argparse.ArgumentParser, command: str, *, default_format: str = "table") -> None:
    """Add the `--format` and `--out` options every result-producing command takes."""
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=default_format,
        help=f"what goes to stdout: aligned table, CSV or JSON (default: {default_format})",
    )
    add_out_option(parser, command)


def add_out_option(parser: argparse.ArgumentParser, command: str) -> None:
    """Add `--out DIR` (default ./vscale-out/<command>/)."""
    parser.add_argument(
        "--out",
        type=out_argument,
        default=Path("vscale-out") / command,
        metavar="DIR",
        help=f"directory for CSV, PNG and the config used (default: ./vscale-out/{command}/); "
        "written only when the command succeeds",
    )


class StagingFolder:
    """A folder beside `out` that receives a command's files until they are all written.

    :meth:`publish` moves them into `out` all or nothing: a file it cannot move (a full disk,
    a folder made read-only meanwhile) puts back every file it had replaced and removes every
    file and folder it had added, so `out` is either complete or as it was.
    """

    def __init__(self, out: Path) -> None:
        self.complete = False
        """Set by a command whose files are all written though it exits non-zero (a verdict,
        not a failure: :func:`files_complete`); :func:`experiments.cli.main` publishes them."""
        self.out = Path(os.path.abspath(out))
        anchor = self.out.parent
        while not anchor.exists() and anchor.parent != anchor:
            anchor = anchor.parent
        try:
            self.path = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.", suffix=".vscale-staging", dir=anchor))
        except OSError as error:
            if not self.out.is_dir():
                raise ConfigError(f"out: {out}: cannot write in {anchor}: {error.strerror}") from None
            try:
                self.path = Path(tempfile.mkdtemp(prefix=".vscale-", suffix=".vscale-staging", dir=self.out))
            except OSError as inner:
                raise ConfigError(f"out: {out}: cannot write in it: {inner.strerror}") from None

    def publish(self) -> None:
        """Move every file into `out`, all or nothing (signals held back until done).

        Raises
        ------
        OSError
            A file could not be moved; `out` is as it was before.
        """
        mask = current_umask()
        blocked = block_signals()
        try:
            if not self.out.exists() and self.out.parent.is_dir():
                os.chmod(self.path, 0o777 & ~mask)
                try:
                    os.rename(self.path, self.out)
                    return
                except OSError:
                    pass
            self._merge()
            shutil.rmtree(self.path, ignore_errors=True)
        finally:
            unblock_signals(blocked)

    def _merge(self) -> None:
        """Move the staged files into `out` one by one, undoing every move when one fails."""
        created: list[Path] = []
        replaced: list[tuple[Path, Path | None]] = []
        backups: Path | None = None
        for folder in reversed((self.out, *self.out.parents)):
            if not folder.exists():
                folder.mkdir()
                created.append(folder)
        try:
            for source in sorted(self.path.rglob("*")):
                target = self.out / source.relative_to(self.path)
                if source.is_dir():
                    if not target.exists():
                        target.mkdir()
                        created.append(target)
                    continue
                backup = None
                if target.exists():
                    if backups is None:
                        backups = Path(tempfile.mkdtemp(prefix=".vscale-replaced-", dir=self.out))
                    backup = backups / f"{len(replaced)}"
                    os.replace(target, backup)
                replaced.append((target, backup))
                _move_file(source, target)
        except OSError:
            for target, backup in reversed(replaced):
                with contextlib.suppress(OSError):
                    if backup is None:
                        target.unlink(missing_ok=True)
                    else:
                        os.replace(backup, target)
            for folder in reversed(created):
                with contextlib.suppress(OSError):
                    folder.rmdir()
            raise
        finally:
            if backups is not None:
                shutil.rmtree(backups, ignore_errors=True)

    def discard(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _move_file(source: Path, target: Path) -> None:
    """Move one file into place atomically: rename, or copy beside `target` and rename there."""
    try:
        os.replace(source, target)
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
        partial = target.with_name(f".{target.name}.vscale-partial")
        try:
            shutil.copy2(source, partial)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)


def output_dir(args: argparse.Namespace) -> Path:
    """The folder a command writes its files to: a staging folder published by :func:`main`.

    Outside :func:`main` (a handler called directly) this is ``--out`` itself, created.
    """
    staging = getattr(args, STAGING, None)
    if staging is not None:
        return staging.path
    from .validation import output_folder

    path = output_folder(args.out)
    path.mkdir(parents=True, exist_ok=True)
    return path


def files_complete(args: argparse.Namespace) -> None:
    """Publish the output folder even though the command exits non-zero: its files are all
    written and the status is a verdict (``vscale optimize``: no plan confirmed)."""
    staging = getattr(args, STAGING, None)
    if staging is not None:
        staging.complete = True


def published_path(args: argparse.Namespace, path: str | os.PathLike[str]) -> Path:
    """Where a file written to :func:`output_dir` ends up once published (for messages, configs)."""
    staging = getattr(args, STAGING, None)
    if staging is None:
        return Path(path)
    try:
        return Path(args.out) / Path(path).relative_to(staging.path)
    except ValueError:
        return Path(path)


def block_signals() -> bool:
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        return True
    except (AttributeError, ValueError, OSError):
        return False


def unblock_signals(blocked: bool) -> None:
    if blocked:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
