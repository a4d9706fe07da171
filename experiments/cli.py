"""The `vscale` command line.

Every module in :mod:`experiments.commands` defines ``register(subparsers)``, which
adds its sub-command and sets ``handler`` (a function of the parsed arguments that
returns an exit status). Bad input raises :class:`pe_models.errors.ConfigError`,
printed here as one line with exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path

from pe_models.errors import ConfigError

from . import commands
from .output import FORMATS

__all__ = ["add_output_options", "build_parser", "main", "output_dir"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit status 2, like every other bad input
        self.exit(2, f"{self.prog}: error: {message}\n")


def add_output_options(parser: argparse.ArgumentParser, command: str, *, default_format: str = "table") -> None:
    """Add the `--format` and `--out` options every result-producing command takes."""
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=default_format,
        help=f"what goes to stdout: aligned table, CSV or JSON (default: {default_format})",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("vscale-out") / command,
        metavar="DIR",
        help=f"directory for CSV, PNG and the config used (default: ./vscale-out/{command}/)",
    )


def output_dir(args: argparse.Namespace) -> Path:
    """The directory results go to, created on first use."""
    path = Path(args.out)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--out: {path} exists and is not a directory")
    return path


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="vscale",
        description="Cycle-level simulator of systolic-array DNN accelerators under supply-voltage scaling.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except ConfigError as error:
        print(f"vscale: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
