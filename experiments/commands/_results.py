"""What every study command does after parsing: run the study with CLI errors, print, record."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from experiments.output import write_json
from experiments.results import StudyResult, plain

__all__ = ["emit_result", "timing_line", "write_config"]


def emit_result(result: StudyResult[Any, Any], fmt: str, *, columns: Sequence[str] | None = None) -> None:
    """Print `result` to stdout: an aligned table (of `columns`, default all), its CSV or its JSON.

    The JSON is ``{"config": ..., "totals": ..., "rows": [...]}``; the CSV holds the rows only.
    """
    if fmt == "json":
        text = result.to_json()
    elif fmt == "csv":
        text = result.to_csv()
    else:
        text = result.table(columns=columns).to_text() + timing_line(result.totals)
    print(text, end="")


def timing_line(totals: Mapping[str, Any]) -> str:
    """The PE's timing regime as one line of text (empty when the study has none).

    ``PE timing: critical path 675 ps at nominal VDD, slack ratio 2.12 (clock period /
    critical path); highest error-free clock 1481 MHz at 0.9 V, 554 MHz at 0.6 V``.
    """
    if "critical_path_ps" not in totals:
        return ""
    parts = [f"PE timing: critical path {totals['critical_path_ps']:.4g} ps at nominal VDD"]
    if "slack_ratio" in totals:
        parts[0] += f", slack ratio {totals['slack_ratio']:.3g} (clock period / critical path)"
    clocks = totals.get("max_error_free_f_clk_mhz") or {}
    if clocks:
        parts.append(
            "highest error-free clock " + ", ".join(f"{mhz:.4g} MHz at {vdd} V" for vdd, mhz in clocks.items())
        )
    return "; ".join(parts) + "\n"


def write_config(directory: str | os.PathLike[str], command: str, result: StudyResult[Any, Any], **extra: Any) -> None:
    """``config.json``: the command, the study config's fields and `extra` (derived settings)."""
    write_json(os.path.join(directory, "config.json"), {"command": command, **plain(result.config), **plain(extra)})
