"""What every study command does after parsing: run the study with CLI errors, print, record."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from typing import Any

from experiments.options import cli_message
from experiments.output import write_json
from experiments.results import StudyResult, plain
from pe_models.errors import ConfigError

__all__ = ["emit_result", "study_handler", "write_config"]


def study_handler(
    function: Callable[[argparse.Namespace], int], config_type: type | None
) -> Callable[[argparse.Namespace], int]:
    """`function` with library errors naming `config_type`'s fields rewritten with option names."""

    def handler(args: argparse.Namespace) -> int:
        try:
            return function(args)
        except ConfigError as error:
            raise ConfigError(cli_message(str(error), config_type)) from None

    return handler


def emit_result(result: StudyResult[Any, Any], fmt: str, *, columns: Sequence[str] | None = None) -> None:
    """Print `result` to stdout: an aligned table (of `columns`, default all), its CSV or its JSON.

    The JSON is ``{"config": ..., "totals": ..., "rows": [...]}``; the CSV holds the rows only.
    """
    if fmt == "json":
        text = result.to_json()
    elif fmt == "csv":
        text = result.to_csv()
    else:
        text = result.table(columns=columns).to_text()
    print(text, end="")


def write_config(directory: str | os.PathLike[str], command: str, result: StudyResult[Any, Any], **extra: Any) -> None:
    """``config.json``: the command, the study config's fields and `extra` (derived settings)."""
    write_json(os.path.join(directory, "config.json"), {"command": command, **plain(result.config), **plain(extra)})
