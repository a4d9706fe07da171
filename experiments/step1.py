"""Step 1 tables and heatmap of a :class:`experiments.studies.probs.ProbsResult` (see that module)."""

from __future__ import annotations

from typing import Any

from .output import Table
from .studies.probs import ProbsResult, plot_probs

__all__ = ["heatmap_figure", "summary_table"]


def summary_table(result: ProbsResult) -> Table:
    """One row per VDD (:class:`experiments.studies.probs.ProbsSummaryRow`)."""
    return result.summary_result().table()


def heatmap_figure(result: ProbsResult, title: str | None = None) -> Any:
    """:func:`experiments.studies.probs.plot_probs`."""
    return plot_probs(result, title)
