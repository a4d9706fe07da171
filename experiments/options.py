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
import os
import re
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any, TypeVar

from pe_models.errors import ConfigError

from .output import FORMATS, current_umask
from .vocabulary import FIELD_OPTIONS, dest_of, option_of

__all__ = [
    "FIELD_OPTIONS",
    "STAGING",
    "StagingFolder",
    "add_out_option",
    "add_output_options",
    "cli_message",
    "config_from_args",
    "dest_of",
    "option_of",
    "out_argument",
    "output_dir",
    "published_path",
]

STAGING = "_vscale_staging"
"""Attribute of the parsed arguments holding the command's :class:`StagingFolder` (set by the CLI)."""
SIGNALS = (signal.SIGINT, signal.SIGTERM)

C = TypeVar("C")


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
    """A folder beside `out` that receives a command's files until they are all written."""

    def __init__(self, out: Path) -> None:
        self.out = Path(os.path.abspath(out))
        anchor = self.out.parent
        while not anchor.exists() and anchor.parent != anchor:
            anchor = anchor.parent
        try:
            self.path = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.", suffix=".vscale-staging", dir=anchor))
        except OSError as error:
            if not self.out.is_dir():
                raise ConfigError(f"--out: {out}: cannot write in {anchor}: {error.strerror}") from None
            try:
                self.path = Path(tempfile.mkdtemp(prefix=".vscale-", suffix=".vscale-staging", dir=self.out))
            except OSError as inner:
                raise ConfigError(f"--out: {out}: cannot write in it: {inner.strerror}") from None

    def publish(self) -> None:
        """Move every file into `out` (signals held back until done)."""
        mask = current_umask()
        blocked = block_signals()
        try:
            if not self.out.exists():
                self.out.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(self.path, 0o777 & ~mask)
                try:
                    os.rename(self.path, self.out)
                    return
                except OSError:
                    self.out.mkdir(exist_ok=True)
            for source in sorted(self.path.rglob("*")):
                target = self.out / source.relative_to(self.path)
                if source.is_dir():
                    target.mkdir(exist_ok=True)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    try:
                        os.replace(source, target)
                    except OSError:
                        shutil.move(source, target)
            shutil.rmtree(self.path, ignore_errors=True)
        finally:
            unblock_signals(blocked)

    def discard(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


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
