"""Writing results: stdout formats, atomic files, progress bars."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "FORMATS",
    "Table",
    "atomic_path",
    "current_umask",
    "emit",
    "progress",
    "save_figure",
    "subplots",
    "write_csv",
    "write_json",
]

FORMATS = ("table", "csv", "json")
T = TypeVar("T")


class Table:
    """Rows of named columns, rendered as an aligned table, CSV or JSON.

    Parameters
    ----------
    columns : sequence of str
        Column names, in order.
    rows : sequence of sequence
        One entry per row, one value per column.
    float_format : str
        Format applied to floats in the `table` rendering only; CSV and JSON keep
        full precision.
    """

    def __init__(
        self,
        *,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        float_format: str = "{:.4g}",
    ) -> None:
        self.columns = list(columns)
        self.rows = [list(row) for row in rows]
        self.float_format = float_format
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"row has {len(row)} values for {len(self.columns)} columns")

    def to_csv(self) -> str:
        """Header and rows as CSV (None is an empty field)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows(self.rows)
        return buffer.getvalue()

    def to_json(self) -> str:
        records = [dict(zip(self.columns, (_plain(v) for v in row), strict=True)) for row in self.rows]
        return json.dumps(records, indent=1) + "\n"

    def to_text(self) -> str:
        """An aligned table: floats in `float_format`, None as ``-``."""

        def cell(value: Any) -> str:
            if isinstance(value, float):
                return self.float_format.format(value)
            return "-" if value is None else str(value)

        cells = [[cell(v) for v in row] for row in self.rows]
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(self.columns)]
        lines = ["  ".join(c.rjust(w) for c, w in zip(self.columns, widths, strict=True))]
        lines.append("  ".join("-" * w for w in widths))
        lines.extend("  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in cells)
        return "\n".join(lines) + "\n"

    def render(self, fmt: str) -> str:
        if fmt == "csv":
            return self.to_csv()
        if fmt == "json":
            return self.to_json()
        return self.to_text()


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return value


def emit(table: Table, fmt: str, *, stream=None) -> None:
    """Write `table` to stdout (or `stream`) in format `fmt` (table, csv or json)."""
    (stream or sys.stdout).write(table.render(fmt))


def current_umask() -> int:
    """The process's file-creation mask (read without changing it for longer than a call)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class atomic_path:
    """Context manager yielding a temporary path that is renamed to `path` on success.

    Nothing is left at `path` (or beside it) when the body raises. The file gets the
    permissions of an ordinary new file (``0o666`` less the umask), not ``mkstemp``'s 0600.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.tmp: Path | None = None

    def __enter__(self) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=".tmp" + self.path.suffix, dir=self.path.parent
        )
        os.close(handle)
        os.chmod(name, 0o666 & ~current_umask())
        self.tmp = Path(name)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self.tmp is not None
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


def write_csv(path: str | os.PathLike[str], table: Table) -> Path:
    """Write `table` as CSV to `path` atomically; return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(table.to_csv())
    return Path(path)


def write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write `data` as indented JSON to `path` atomically; return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1, default=_plain) + "\n")
    return Path(path)


def save_figure(path: str | os.PathLike[str], figure) -> Path:
    """Save a matplotlib figure to `path` atomically (PNG, 150 dpi) and close it."""
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=150, bbox_inches="tight", format="png")
    plt.close(figure)
    return Path(path)


def subplots(*args, **kwargs):
    """``matplotlib.pyplot.subplots`` on the non-interactive Agg backend (no display needed), with
    matplotlib's constrained layout by default (axes labels, titles, legends and colour bars are
    kept inside the figure's canvas)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kwargs.setdefault("layout", "constrained")
    return plt.subplots(*args, **kwargs)


def progress(items: Iterable[T], *, total: int | None = None, label: str = "") -> Iterator[T]:
    """Yield `items`, drawing a progress bar on stderr when it is a terminal.

    Nothing is drawn when stderr is piped or redirected.
    """
    stream = sys.stderr
    if not stream.isatty():
        yield from items
        return
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    start = time.monotonic()
    done = 0
    for item in items:
        yield item
        done += 1
        elapsed = time.monotonic() - start
        if total:
            width = 30
            filled = int(width * done / total)
            bar = "#" * filled + "." * (width - filled)
            stream.write(f"\r{label} [{bar}] {done}/{total} {elapsed:5.1f}s")
        else:
            stream.write(f"\r{label} {done} {elapsed:5.1f}s")
        stream.flush()
    stream.write("\n")
    stream.flush()
