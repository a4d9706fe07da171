"""Tables, figures and the Markdown report of the optimizer and of ``vscale run``.

Every number the report prints is read from the same row objects that are written to
CSV (:func:`rows_table`), so the report and its CSVs cannot disagree.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .output import Table, subplots
from .results import display_value, row_columns

__all__ = [
    "PAPER_HEADLINE",
    "chosen_summary",
    "markdown_table",
    "pareto_figure",
    "rows_table",
    "sensitivity_rows",
]

PAPER_HEADLINE = {
    "vdd_v": 0.5,
    "latency_overhead_pct": 0.001,
    "saving_pct": 79.4,
    "accuracy_loss_pct": 0.29,
}
"""The seed paper's headline: 256x256 weight-stationary array at 0.7 GHz, MobileNetV2 on
ImageNet, 0.9 V -> 0.5 V with its protection: 0.001 % latency overhead, 79.4 % less
inference energy, 0.29 % accuracy loss."""


def rows_table(rows: Sequence[Any], *, float_format: str = "{:.4g}") -> Table:
    """Frozen row dataclasses as a :class:`Table` (columns = their fields)."""
    if not rows:
        return Table(columns=[], rows=[])
    columns = row_columns(type(rows[0]))
    return Table(
        columns=columns,
        rows=[[display_value(getattr(row, c)) for c in columns] for row in rows],
        float_format=float_format,
    )


def sensitivity_rows(result: Any) -> Table:
    """The screen's table: one row per (VDD, layer, first protected bit) that is not dominated."""
    table = result.sensitivity
    rows = []
    for v, vdd in enumerate(table.vdds):
        for index, layer in enumerate(table.layers):
            for c, bit in enumerate(table.choices):
                if not table.valid[v, index, c]:
                    continue
                if bit >= 0 and table.detect[v, index, c] == 0.0:
                    continue
                rows.append(
                    [
                        vdd,
                        layer,
                        "none" if bit < 0 else bit,
                        float(table.detect[v, index, c]),
                        float(table.visible[v, index, c]),
                        float(table.visible_drop[v, index, c]),
                        float(table.recovery_cycles["global"][v, index, c]),
                        float(table.recovery_cycles["column"][v, index, c]),
                        float(table.energy_pj["global"][v, index, c]),
                    ]
                )
    return Table(
        columns=[
            "vdd_v",
            "layer",
            "first_protected_bit",
            "detect_per_mac",
            "visible_errors_per_image",
            "visible_errors_per_image_drop",
            "recovery_cycles_global",
            "recovery_cycles_column",
            "energy_pj_global",
        ],
        rows=rows,
    )


def chosen_summary(result: Any) -> str:
    """One paragraph on the chosen plan (screen figures)."""
    totals = result.totals
    config = result.config
    return (
        f"chosen: {totals['vdd_v']:.2f} V, recovery {totals['recovery']}, protected {totals['protected_bits']}; "
        f"energy {totals['energy_pj'] / 1e6:.4g} uJ per image ({totals['saving_pct']:.1f} % saving against "
        f"{config.vdd_max_v:g} V unprotected), predicted accuracy loss <= {totals['predicted_loss_pct']:.3g} points "
        f"(budget {config.max_accuracy_loss_pct:g}), latency overhead {totals['latency_overhead_pct']:.3g} % "
        f"(budget {config.max_latency_overhead_pct:g} %) [screen]"
    )


def pareto_figure(result: Any):
    """Energy against predicted accuracy loss of every screened plan, latency overhead as colour;
    the Pareto front joined, the chosen plan marked."""
    figure, axes = subplots(figsize=(7, 4.5))
    rows = result.pareto
    energy = np.array([r.energy_pj for r in rows]) / 1e6
    loss = np.array([r.predicted_loss_pct for r in rows])
    overhead = np.array([r.latency_overhead_pct for r in rows])
    floor = 1e-4
    shown_loss = np.maximum(loss, floor)
    colour = np.log10(np.maximum(overhead, 1e-4))
    scatter = axes.scatter(shown_loss, energy, c=colour, cmap="viridis", s=14, alpha=0.8)
    front = np.array([r.pareto for r in rows])
    if front.any():
        order = np.argsort(shown_loss[front])
        axes.plot(shown_loss[front][order], energy[front][order], "k-", lw=0.8, alpha=0.6, label="Pareto front")
    chosen = np.array([r.chosen for r in rows])
    if chosen.any():
        axes.scatter(
            shown_loss[chosen],
            energy[chosen],
            marker="*",
            s=260,
            facecolor="none",
            edgecolor="red",
            linewidths=1.5,
            label=f"chosen ({rows[int(np.argmax(chosen))].vdd_v:.2f} V, {rows[int(np.argmax(chosen))].recovery})",
        )
    axes.axvline(result.config.max_accuracy_loss_pct, color="grey", ls=":", label="accuracy budget")
    axes.set_xscale("log")
    axes.set_xlabel(f"predicted accuracy loss bound (points; {floor:g} = none)")
    axes.set_ylabel("energy per image (uJ)")
    axes.set_title(f"{result.config.model}: screened plans ({len(rows)}), {result.config.f_clk_mhz:g} MHz")
    figure.colorbar(scatter, ax=axes, label="log10 latency overhead (%)")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8)
    return figure


def markdown_table(table: Table, *, float_format: str = "{:.4g}") -> str:
    """A :class:`Table` as a Markdown table (floats formatted with `float_format`)."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return "" if math.isnan(value) else float_format.format(value)
        return str(value)

    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.rows]
    return "\n".join(lines)


def as_dict(row: Any) -> dict[str, Any]:
    """A row dataclass as a dict of display values."""
    return {f.name: display_value(getattr(row, f.name)) for f in dataclasses.fields(row)}
