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
from .results import column_value, display_value, row_columns

__all__ = [
    "PAPER_HEADLINE",
    "chosen_summary",
    "markdown_table",
    "pareto_figure",
    "rows_table",
    "screen_heatmap",
    "sensitivity_rows",
    "test_verdict",
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
        rows=[[display_value(column_value(row, c)) for c in columns] for row in rows],
        float_format=float_format,
    )


def sensitivity_rows(result: Any) -> Table:
    """The screen's table: one row per (VDD, layer, first protected bit, product bits) that is not dominated;
    recovery cycles and energy at the stall of an array protecting those bits (``stall_cycles_*``)."""
    from sim.protection import format_bit_mask

    table = result.sensitivity
    rows = []
    for v, vdd in enumerate(table.vdds):
        for index, layer in enumerate(table.layers):
            for c, bit in enumerate(table.choices):
                if not table.valid[v, index, c]:
                    continue
                if bit >= 0 and table.detect[v, index, c] == 0.0:
                    continue
                bits = int(table.protected_bits[v, index, c])
                product = table.product_mask(v, index, c)
                stall = {r: table.stall(r, v, bits, product=product != 0) for r in ("global", "column")}
                rows.append(
                    [
                        vdd,
                        layer,
                        "none" if bit < 0 else bit,
                        format_bit_mask(product),
                        float(table.detect[v, index, c]),
                        float(table.visible[v, index, c]),
                        float(table.visible_drop[v, index, c]),
                        stall["global"],
                        stall["column"],
                        float(table.recovery_at("global", v, stall["global"])[index, c]),
                        float(table.recovery_at("column", v, stall["column"])[index, c]),
                        float(table.energy_at("global", v, stall["global"])[index, c]),
                    ]
                )
    return Table(
        columns=[
            "vdd_v",
            "layer",
            "first_protected_bit",
            "product_bits",
            "detect_per_mac",
            "visible_errors_per_image",
            "visible_errors_per_image_drop",
            "stall_cycles_global",
            "stall_cycles_column",
            "recovery_cycles_global",
            "recovery_cycles_column",
            "energy_pj_global",
        ],
        rows=rows,
    )


def recovery_cost_sentence(config: Any, result: Any) -> str:
    """Which recovery cost the optimizer used: the explicit penalty or the stall model (with the
    accepted plan's stall)."""
    if config.penalty_cycles is not None:
        return f"one recovery costs {config.penalty_cycles} cycle(s) (given: --stall-cycles)"
    stall = getattr(result.accepted_plan, "stall_cycles", None) if result.accepted_plan is not None else None
    accepted = "" if stall is None else f"; {stall} cycle(s) per recovery for the accepted plan"
    return (
        "one recovery costs the stall model's cycles (sim.recovery.stall_model: window, error tree and wire "
        f"across the scope, per policy, array, VDD and protected bits{accepted})"
    )


def chosen_summary(result: Any) -> str:
    """One paragraph on the accepted plan (screen figures)."""
    totals = result.totals
    config = result.config
    if totals["binding"] == "not measured":
        status = "; not measured (--no-confirm)]"
    elif totals["screen_choice_vdd_v"] != totals["vdd_v"]:
        status = (
            f"; the screen's own choice {totals['screen_choice_vdd_v']:.2f} V missed a budget on the selection images]"
        )
    else:
        status = "; the screen's choice, within the budgets on the selection images]"
    return (
        f"plan: {totals['vdd_v']:.2f} V, recovery {totals['recovery']}, protected {totals['protected_bits']}, "
        f"product register bits {totals.get('product_bits', 'none')}; "
        f"energy {totals['energy_pj'] / 1e6:.4g} uJ per image ({totals['saving_pct']:.1f} % saving against "
        f"{config.vdds[0]:g} V unprotected), predicted accuracy loss <= {totals['predicted_loss_pct']:.3g} points "
        f"(budget {config.max_accuracy_loss_pct:g}), latency overhead {totals['latency_overhead_pct']:.3g} % "
        f"(budget {config.max_latency_overhead_pct:g} %) [screen figures{status}"
    )


def test_verdict(row: Any, config: Any, sets: str) -> str:
    """One paragraph: whether the accepted plan's measurement on the test images met every budget.

    Parameters
    ----------
    row : PlanRow
        The accepted plan measured on the test images.
    config : OptimizeConfig
        The budgets.
    sets : str
        The image sets (:meth:`ImageSets.describe`).
    """
    from experiments.stats import PairedCounts, paired_resolution_statement

    head = (
        f"confirmed on the test images ({sets})"
        if row.meets_budgets
        else f"no plan confirmed on the {row.images} test images (binding: {row.binding}; {sets})"
    )
    plan = f"{row.vdd_v:.2f} V, recovery {row.recovery}, protected {row.protected_bits}"
    if row.error_free:
        accuracy = (
            f"every path meets the clock by static timing, so no MAC can be wrong: accuracy loss 0 by "
            f"construction (budget {config.max_accuracy_loss_pct:g} points)"
        )
    else:
        counts = PairedCounts(
            both_right=0, lost=row.lost, gained=row.gained, both_wrong=row.images - row.lost - row.gained
        )
        accuracy = paired_resolution_statement(
            counts, margin_pct=config.max_accuracy_loss_pct, alpha=config.noninferiority_alpha
        ).removesuffix(".")
    latency = (
        f"latency overhead {row.latency_overhead_pct:.3g} % (95 % bootstrap interval over batches "
        f"[{row.overhead_ci_low_pct:.3g}, {row.overhead_ci_high_pct:.3g}]; "
        f"budget {config.max_latency_overhead_pct:g} %)"
    )
    energy = (
        f"energy saving {row.saving_pct:.3g} % (energy model's band [{row.saving_low_pct:.3g}, "
        f"{row.saving_high_pct:.3g}]) against {config.vdds[0]:g} V unprotected"
    )
    return f"{head}: {plan}. {accuracy}. {latency}; {energy}."


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


def screen_heatmap(result: Any):
    """Per-bit error probability the optimizer's screen used (MAC-weighted over the layers, the
    array-order probabilities where they exceed the analytic level's) on the optimizer's VDD
    grid, the accepted plan's VDD marked."""
    from matplotlib.colors import LogNorm

    table = result.sensitivity
    vdds = np.array(table.vdds, dtype=np.float64)
    macs = np.array([p.macs for p in result.profiles], dtype=np.float64)
    probabilities = np.einsum("vlb,l->vb", table.bit_probabilities, macs / macs.sum())
    figure, axis = subplots(figsize=(8, 4.5))
    failing = np.nonzero((probabilities > 0).any(axis=0))[0]
    step = abs(float(vdds[0] - vdds[1])) if len(vdds) > 1 else 0.01
    title = (
        f"{result.config.model}: P(accumulator bit latched wrong) of the optimizer's screen, "
        f"{len(vdds)}-point grid, {step * 1000:.3g} mV steps"
    )
    axis.set_title(title, fontsize=9, wrap=True)
    axis.set_xlabel("VDD (V)")
    if failing.size == 0:
        axis.text(0.5, 0.5, "no accumulator bit fails on the grid", ha="center", va="center", transform=axis.transAxes)
        axis.set_xlim(vdds.max() + step / 2, vdds.min() - step / 2)
        return figure
    low_bit, high_bit = int(failing.min()), int(failing.max())
    shown = probabilities[:, low_bit : high_bit + 1]
    positive = shown[shown > 0]
    image = axis.imshow(
        np.where(shown > 0, shown, np.nan).T,
        aspect="auto",
        origin="lower",
        cmap="magma",
        norm=LogNorm(vmin=float(positive.min()), vmax=float(max(positive.max(), positive.min() * 1.0001))),
        interpolation="nearest",
        extent=(vdds[0] + step / 2, vdds[-1] - step / 2, low_bit - 0.5, high_bit + 0.5),
    )
    accepted = getattr(result, "accepted_plan", None) or getattr(result, "chosen_plan", None)
    if accepted is not None:
        axis.axvline(accepted.vdd_v, color="cyan", lw=1.2, ls="--", label=f"accepted plan, {accepted.vdd_v:.2f} V")
        axis.legend(fontsize=7, loc="upper left")
    axis.set_ylabel(f"accumulator bit (bits {low_bit}..{high_bit} fail somewhere)")
    figure.colorbar(image, ax=axis, label="P(bit wrong), MAC-weighted over layers (blank: 0)")
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


def _dvfs_sentence(result: Any) -> str:
    """The DVFS candidate (error-free, no Razor, slower clock) beside the accepted plan."""
    totals = result.totals
    config = result.config
    if not math.isfinite(totals.get("dvfs_vdd_v", math.nan)):
        return (
            "DVFS candidate: no VDD of the grid has an error-free clock within the "
            f"{config.max_latency_overhead_pct:g} % latency budget (the `dvfs_*` columns of `best_per_vdd.csv`)."
        )
    verdict = (
        "**less** energy than the accepted Razor plan: on this PE, voltage scaling without Razor wins"
        if totals["dvfs_beats_accepted"]
        else "more energy than the accepted Razor plan"
    )
    return (
        f"DVFS candidate (no Razor, the highest error-free clock at the guarded supply, latency within the budget): "
        f"{totals['dvfs_vdd_v']:.2f} V at {totals['dvfs_f_clk_mhz']:.4g} MHz, {totals['dvfs_energy_pj'] / 1e6:.4g} uJ "
        f"per image ({config.objective}), {verdict} ({totals['energy_pj'] / 1e6:.4g} uJ, screen figures)."
    )


def energy_figure(rows: Sequence[Any], config: Any):
    """Energy per image as stacked components per VDD, for the best plan of step 3."""
    from sim.energy import COMPONENTS

    best = [r for r in rows if r.label.startswith("step 3")] or list(rows)
    best = sorted({r.vdd_v: r for r in best}.values(), key=lambda r: -r.vdd_v)
    figure, axes = subplots(figsize=(7, 4))
    x = np.arange(len(best))
    bottom = np.zeros(len(best))
    for index, component in enumerate(COMPONENTS):
        name = component.removesuffix("_pj")
        values = np.array([getattr(r, f"{name}_uj") for r in best])
        axes.bar(x, values, bottom=bottom, color=f"C{index}", label=name.replace("_", " "))
        bottom += values
    errors = np.array([[r.energy_uj - r.energy_low_uj for r in best], [r.energy_high_uj - r.energy_uj for r in best]])
    axes.errorbar(x, bottom, yerr=errors, fmt="none", ecolor="black", capsize=3, label="low-high band")
    dvfs = np.array([getattr(r, "dvfs_energy_uj", np.nan) for r in best])
    axes.plot(x, dvfs, "kD", markersize=5, label="DVFS baseline (no Razor, error-free clock)")
    axes.set_xticks(x, [f"{r.vdd_v:.2f}\n{r.recovery}" for r in best], fontsize=7)
    axes.set_xlabel("VDD (V) and recovery of the best plan")
    axes.set_ylabel("energy per image, core + SRAM + DRAM (uJ)")
    axes.set_title(f"energy per inference, {config.rows}x{config.cols} at {config.f_clk_mhz:g} MHz")
    axes.legend(fontsize=7, ncol=2)
    axes.grid(True, axis="y", alpha=0.3)
    return figure


def write_run_report(path: Any, run_result: Any, *, files: dict[str, str], elapsed_s: float) -> None:
    """``report.md``: configuration, headline table, figures, the paper's headline beside ours."""
    from experiments.output import atomic_path

    result = run_result.optimizer
    config = result.config
    step1 = run_result.step1
    rows = run_result.rows
    totals = run_result.totals
    sets = result.images.describe()
    run_config = {
        "model": totals["model"],
        "paper": run_result.config.paper,
        "weights": totals["weights"],
        "images": totals["images"],
        "metric": totals["metric"],
        "vdd_v": [float(v) for v in step1.vdd_v],
        "seed": run_result.config.seed,
        "elapsed_s": round(elapsed_s, 1),
    }
    pe = config.pe
    tech = pe.tech
    slack = _slack_ratio(config)
    chosen = result.chosen_plan
    screen_rows = [r for r in rows if r.label.startswith("step 3") and r.vdd_v == chosen.vdd_v]
    headline = run_result.headline
    best_rows = [r for r in rows if r.label.startswith("step 3")]
    lines = [
        f"# vscale run: {run_config['model']}" + (" (paper configuration)" if run_config["paper"] else ""),
        "",
        "## Configuration",
        "",
        f"- PE: {pe.cells} cells, {pe.adder} accumulator of {pe.width} bits, {pe.pipeline} pipeline",
        f"- technology: {tech.name} (nominal {tech.vdd_nominal_v:g} V, threshold {tech.vth_v:g} V); "
        f"source: {tech.description}",
        f"- timing slack ratio (clock period / critical path at nominal VDD): {slack:.3g}",
        f"- array: {config.rows}x{config.cols} weight-stationary, clock {config.f_clk_mhz:g} MHz",
        f"- recovery policies considered: {', '.join(config.recovery)}; " + recovery_cost_sentence(config, result),
        "- Razor detection window "
        + (
            "the largest feasible one (hold fixing, `vscale pe razor`)"
            if config.razor_window_ps is None
            else f"{config.razor_window_ps:g} ps"
        )
        + "; flip-flop setup time "
        + (
            "the cell library's, scaled with the delays"
            if config.t_setup_ps is None
            else f"{config.t_setup_ps:g} ps at every VDD"
        ),
        f"- objective: energy per inference of the {config.objective} "
        + (
            "(the array alone, as the seed paper reports it)"
            if config.objective == "core"
            else "(array, SRAM and DRAM)"
        )
        + f"; supply guard band {config.guard_band_mv:g} mV (plans timed at VDD minus it)",
        f"- budgets: accuracy loss <= {config.max_accuracy_loss_pct:g} points against the int8 model at "
        f"{tech.vdd_nominal_v:g} V, latency overhead <= {config.max_latency_overhead_pct:g} %, Razor flops "
        f"{'unlimited' if config.max_razor_flops is None else config.max_razor_flops}",
        f"- model: {run_config['model']} ({run_config['weights']}), {run_config['images']} images ({sets}), "
        f"metric {run_config['metric']}"
        + (
            " -- agreement with the float model on the shipped photos, NOT ImageNet accuracy"
            if run_config["metric"] == "agreement"
            else ""
        ),
        f"- VDD list {', '.join(f'{v:g}' for v in run_config['vdd_v'])} V; optimizer grid "
        f"{config.vdds[0]:g}..{config.vdds[-1]:g} V in 10 mV steps; seed {run_config['seed']}",
        f"- run time {run_config['elapsed_s']} s",
        "",
        "## Headline",
        "",
    ]
    if headline is not None:
        lines += [
            f"Accepted plan: **{headline.vdd_v:.2f} V**, recovery **{headline.recovery}**, protected bits "
            f"**{headline.protected_bits}**, product register bits **{headline.product_bits}** (per layer in "
            "`plan.toml`), selected on the selection images (the "
            "measured plan of least energy whose loss and latency overhead were within the budgets there), "
            "measured on the test images, which took no part in the choice: "
            + ("**confirmed**" if run_result.confirmed else f"**not confirmed** (binding: {run_result.binding})")
            + ".",
            "",
            test_verdict(headline, config, sets),
            "",
            _screen_sentence(chosen, screen_rows, headline, config),
            "",
            markdown_table(_select(rows_table([headline]), _HEADLINE)),
            "",
        ]
    lines += [_dvfs_sentence(result), ""]
    lines += [
        "### Beside the seed paper",
        "",
        "| | VDD (V) | latency overhead (%) | energy saving, system (%) | energy saving, core (%) | "
        "DVFS baseline at that VDD: clock (MHz), system / core saving (%) | accuracy loss (points) |",
        "|---|---|---|---|---|---|---|",
        f"| paper (MobileNetV2, ImageNet) | {PAPER_HEADLINE['vdd_v']} | {PAPER_HEADLINE['latency_overhead_pct']} | "
        f"{PAPER_HEADLINE['saving_pct']} (what it counts is not published) | | | "
        f"{PAPER_HEADLINE['accuracy_loss_pct']} |",
    ]
    if headline is not None:
        lines.append(
            f"| vscale ({run_config['model']}) | {headline.vdd_v:.2f} | {headline.latency_overhead_pct:.4g} "
            f"[{headline.overhead_ci_low_pct:.3g}, {headline.overhead_ci_high_pct:.3g}] | "
            f"{headline.system_saving_pct:.4g} [{headline.saving_low_pct:.3g}, {headline.saving_high_pct:.3g}] | "
            f"{headline.core_saving_pct:.4g} | "
            f"{headline.dvfs_f_clk_mhz:.4g}: {headline.dvfs_system_saving_pct:.4g} / "
            f"{headline.dvfs_core_saving_pct:.4g} (latency {headline.dvfs_latency_us:.4g} us against "
            f"{headline.latency_us:.4g} us) | {headline.accuracy_loss_pct:.4g} "
            f"[{headline.loss_ci_low_pct:.3g}, {headline.loss_ci_high_pct:.3g}] |"
        )
    lines += [
        "",
        _paper_regime_sentence(config),
        "",
        "Assumptions that differ from the paper's:",
        "",
        f"- model and data: {run_config['model']} on {run_config['images']} images ({run_config['metric']}); "
        "the paper: MobileNetV2 on ImageNet validation images.",
        f"- PE timing: this simulator's netlist and cell delays with the {tech.name} voltage scaling; the paper's "
        "PE slack at 0.7 GHz is not published.",
        "- error model: every MAC through the chain-level PE in array order (partial sums cross zero, long "
        "carry chains); an i.i.d.-operand analytic estimate predicts other latency overheads (column "
        "`predicted_overhead_pct`).",
        f"- energy: this project's model (docs/energy.md), per image with {config.batch} image(s) per weight fold, "
        f"clock gating {'on' if config.clock_gating else 'off'}, power gating "
        f"{'on' if config.power_gating else 'off'}, SRAM (CACTI) on "
        f"{'its nominal supply' if config.memory_vdd_v is None else f'{config.memory_vdd_v:g} V'}, {config.dram} "
        "DRAM; the core (the array) and the system (with SRAM and DRAM) are saved apart; the DVFS baseline runs "
        "the same work without Razor at the highest error-free clock of the VDD. The paper's leakage share and "
        "memory assumptions are not published.",
        "- accuracy loss: paired against the int8 model at nominal VDD on the same test images (interval: "
        "Tango's score interval, 95 %; test against the budget: Tango's non-inferiority score test); "
        + _paper_resolution(headline),
        "",
        "## Step 1: per-bit error probability",
        "",
        markdown_table(step1.summary_result().table()),
        "",
        f"Step 1's table is at the {step1.config.level} level on the VDD list. The heatmap below is what the "
        "optimizer's screen used (the array-order probabilities of each layer where they exceed the analytic "
        f"level's, MAC-weighted over the layers) on its own grid, {config.vdds[0]:g}..{config.vdds[-1]:g} V in "
        f"10 mV steps, the accepted plan's VDD marked; step 1's heatmap is `probs_heatmap.png`.",
        "",
        "![per-bit error probability of the screen](screen_heatmap.png)",
        "",
        "## Steps 2 and 3: accuracy, latency and energy per VDD",
        "",
        f"All rows measured with bit-level injection on the test images ({sets}; `accuracy.csv`). "
        "`lost`/`gained`: test images the int8 model at nominal VDD classifies right and the plan wrong, and the "
        "reverse; loss interval: Tango's 95 % score interval of the paired difference; `noninferiority_p`: "
        f"Tango's one-sided score test of loss >= {config.max_accuracy_loss_pct:g} points (shown below the budget "
        f"when p < {config.noninferiority_alpha:g}; empty for error-free rows, whose loss is 0 by construction); "
        "overhead interval: 95 % percentile bootstrap over the batches of images; `meets_budgets`: every budget "
        "met, `binding` names the ones missed.",
        "",
        markdown_table(_select(rows_table(rows), _STEPS)),
        "",
        "![accuracy, latency and energy against VDD](accuracy.png)",
        "",
        "## Latency overhead: i.i.d. analytic prediction against array order",
        "",
        "`predicted_overhead_pct`: the closed-form recovery count on the analytic level's per-bit probabilities, "
        "which assume consecutive operands independent (i.i.d.); `latency_overhead_pct`: recovery cycles counted "
        "by the array engine with operands in array order (a PE keeps its weight; partial sums cross zero). "
        "This is where our figures and the paper's part ways.",
        "",
        markdown_table(_select(rows_table([r for r in rows if r.protected_bits != "none"]), _LATENCY)),
        "",
        "## Energy of the best plan per VDD",
        "",
        markdown_table(_select(rows_table(best_rows), _ENERGY)),
        "",
        "![energy per inference](energy.png)",
        "",
        *_layer_section(result),
        "## The optimizer",
        "",
        "Best plan per VDD of the screen (`best_per_vdd.csv`): predicted figures (analytic, i.i.d. operands, "
        "closed-form latency and energy); the measured ones are above.",
        "",
        markdown_table(_select(result.table(), _SCREEN)),
        "",
        "![Pareto front](pareto.png)",
        "",
        "Files: " + ", ".join(f"`{name}`" for name in sorted(files.values())) + ", `accuracy.csv`, `config.json`.",
        "",
    ]
    with atomic_path(path) as target:
        target.write_text("\n".join(lines))


_HEADLINE = (
    "vdd_v",
    "protected_bits",
    "top1_pct",
    "lost",
    "gained",
    "accuracy_loss_pct",
    "loss_ci_low_pct",
    "loss_ci_high_pct",
    "noninferiority_p",
    "latency_overhead_pct",
    "overhead_ci_low_pct",
    "overhead_ci_high_pct",
    "energy_uj",
    "energy_low_uj",
    "energy_high_uj",
    "system_saving_pct",
    "saving_low_pct",
    "saving_high_pct",
    "core_uj",
    "core_saving_pct",
    "dvfs_f_clk_mhz",
    "dvfs_energy_uj",
    "dvfs_latency_us",
    "dvfs_system_saving_pct",
    "dvfs_core_saving_pct",
    "area_overhead_pct",
    "mac_dynamic_uj",
    "register_clock_uj",
    "leakage_uj",
    "razor_overhead_uj",
    "correction_uj",
    "sram_uj",
    "dram_uj",
)
_STEPS = (
    "label",
    "vdd_v",
    "recovery",
    "protected_bits",
    "top1_pct",
    "lost",
    "gained",
    "accuracy_loss_pct",
    "loss_ci_low_pct",
    "loss_ci_high_pct",
    "noninferiority_p",
    "latency_overhead_pct",
    "overhead_ci_high_pct",
    "predicted_overhead_pct",
    "energy_uj",
    "system_saving_pct",
    "core_saving_pct",
    "dvfs_system_saving_pct",
    "dvfs_core_saving_pct",
    "meets_budgets",
    "binding",
)
_LATENCY = (
    "label",
    "vdd_v",
    "recovery",
    "protected_bits",
    "detections_per_image",
    "predicted_overhead_pct",
    "latency_overhead_pct",
)
_ENERGY = (
    "vdd_v",
    "recovery",
    "latency_us",
    "energy_uj",
    "energy_low_uj",
    "energy_high_uj",
    "system_saving_pct",
    "core_uj",
    "core_saving_pct",
    "dvfs_f_clk_mhz",
    "dvfs_latency_us",
    "dvfs_energy_uj",
    "dvfs_system_saving_pct",
    "dvfs_core_saving_pct",
    "utilisation_pct",
    "batch",
    "area_overhead_pct",
    "mac_dynamic_uj",
    "register_clock_uj",
    "leakage_uj",
    "razor_overhead_uj",
    "correction_uj",
    "sram_uj",
    "dram_uj",
)
_SCREEN = (
    "vdd_v",
    "feasible",
    "recovery",
    "protected_bits",
    "energy_pj",
    "system_saving_pct",
    "core_saving_pct",
    "dvfs_f_clk_mhz",
    "dvfs_system_saving_pct",
    "dvfs_core_saving_pct",
    "area_overhead_pct",
    "predicted_loss_pct",
    "latency_overhead_pct",
    "binding",
)


def _nominal_layer_breakdowns(result: Any) -> tuple[Any, ...]:
    """Each GEMM layer of an optimizer result's model at nominal VDD, unprotected, at its batch."""
    from experiments.studies.inference_energy import layer_breakdowns
    from experiments.studies.optimizer.profiling import screen_array
    from pe_models.energy import pe_energy_model

    config = result.config
    array = screen_array(config)
    return layer_breakdowns(
        [profile.work for profile in result.profiles],
        pe=config.pe,
        array=array,
        vdd_v=float(config.pe.tech.vdd_nominal_v),
        batch=config.batch,
        gating=config.gating(),
        memory=config.memory(array, node_nm=pe_energy_model(config.pe).node_nm, tech=config.pe.tech),
    )


def _nominal_layer_rows(result: Any) -> list[Any]:
    """:class:`~experiments.studies.inference_energy.LayerEnergyRow` of each GEMM layer at nominal VDD."""
    from experiments.studies.inference_energy import layer_energy_rows

    return layer_energy_rows(float(result.config.pe.tech.vdd_nominal_v), _nominal_layer_breakdowns(result))


def layer_energy_table(result: Any) -> Table:
    """``energy_layers.csv`` of ``vscale optimize`` and ``vscale run``: the rows of
    ``vscale accuracy``'s (:class:`~experiments.studies.inference_energy.LayerEnergyRow`, pJ)
    for each GEMM layer at nominal VDD without protection, at the configured batch."""
    from experiments.studies.inference_energy import LayerEnergyRow

    columns = [item.name for item in dataclasses.fields(LayerEnergyRow)]
    return Table(columns=columns, rows=[list(dataclasses.astuple(row)) for row in _nominal_layer_rows(result)])


def layer_table(result: Any) -> Table:
    """Per layer of an optimizer result's model, at nominal VDD without protection: MACs and
    cycles per image, utilisation of the array and the energy breakdown per image (uJ), for
    the configured hardware batch (:func:`experiments.studies.inference_energy.layer_breakdowns`,
    the energy ``vscale energy --model`` gives per layer)."""
    parts = ("mac_dynamic", "register_clock", "leakage", "sram", "dram", "core")
    columns = ["layer", "batch", "macs", "cycles_per_image", "utilisation_pct", *(f"{p}_uj" for p in parts)]
    rows = [
        [
            row.layer,
            row.batch,
            row.macs,
            row.cycles_per_image,
            row.utilisation_pct,
            *(getattr(row, f"{p}_pj") / 1e6 for p in parts),
            row.energy_pj / 1e6,
        ]
        for row in _nominal_layer_rows(result)
    ]
    return Table(columns=[*columns, "energy_uj"], rows=rows, float_format="{:.4g}")


def _layer_section(result: Any) -> list[str]:
    """``report.md``'s per-layer utilisation and energy (empty without the optimizer's profiles)."""
    if not getattr(result, "profiles", None):
        return []
    return [
        "### Per layer at nominal VDD",
        "",
        f"Each GEMM layer at {float(result.config.pe.tech.vdd_nominal_v):g} V without protection, "
        f"{result.config.batch} image(s) per weight fold: its utilisation of the array "
        "(`100 MACs x batch / (PEs x cycles)`) and its energy per image (uJ); the rows sum to the "
        "nominal-VDD unprotected plan above (no recovery there).",
        "",
        markdown_table(layer_table(result)),
        "",
    ]


def _paper_regime_sentence(config: Any) -> str:
    """Which PE timing slack reproduces the paper's regime: 0.5 V at its clock with (almost) no
    recovery, i.e. every path meeting the clock at 0.5 V."""
    from pe_models.errors import ConfigError
    from pe_models.pe import max_error_free_f_clk_mhz

    paper_vdd = float(PAPER_HEADLINE["vdd_v"])
    try:
        error_free = max_error_free_f_clk_mhz(config.pe, paper_vdd, config.t_setup_ps)
    except ConfigError:
        return f"The paper's regime ({paper_vdd:g} V) is outside this technology's range."
    ratio = _slack_ratio(config)
    needed = ratio * config.f_clk_mhz / error_free
    return (
        f"The paper's regime ({paper_vdd:g} V at {config.f_clk_mhz:g} MHz with "
        f"{PAPER_HEADLINE['latency_overhead_pct']:g} % latency overhead) needs almost no path failing at "
        f"{paper_vdd:g} V: an error-free clock of at least {config.f_clk_mhz:g} MHz there. This PE's is "
        f"{error_free:.4g} MHz at {paper_vdd:g} V, so the paper's regime needs a PE with a timing slack ratio (clock "
        f"period over the critical path at nominal VDD) of at least {needed:.3g}; this PE's is {ratio:.3g}."
    )


def _slack_ratio(config: Any) -> float:
    """Clock period over the PE's critical path (longest path plus setup) at nominal VDD."""
    from pe_models.pe import slack_ratio

    return slack_ratio(config.pe, config.f_clk_mhz)


def _select(table: Table, columns: Sequence[str]) -> Table:
    """The named columns of `table`, in that order."""
    if not table.rows:
        return Table(columns=list(columns), rows=[])
    index = [table.columns.index(c) for c in columns]
    return Table(columns=list(columns), rows=[[row[i] for i in index] for row in table.rows])


def _paper_resolution(headline: Any) -> str:
    """How many paired images would resolve the seed paper's 0.29-point loss (Connor 1987)."""
    from .stats import images_to_detect_loss

    paper = PAPER_HEADLINE["accuracy_loss_pct"]
    if headline is None:
        return "no plan measured."
    changed = (headline.lost + headline.gained) / headline.images
    discordance = max(changed, paper / 100.0)
    needed = images_to_detect_loss(paper, discordance)
    return (
        f"detecting a loss of {paper:g} points (two-sided 5 %, 80 % power) needs about {needed:,} images when "
        f"{100 * discordance:.2g} % of them change class (Connor 1987; here {100 * changed:.2g} % of "
        f"{headline.images} changed)."
    )


def _screen_sentence(chosen: Any, screen_rows: Sequence[Any], headline: Any, config: Any) -> str:
    """Whether the accepted plan is the screen's choice, with the screen's figures beside the test images'."""
    if not screen_rows:
        return f"The screen chose {chosen.vdd_v:.2f} V ({chosen.recovery}), not measured here."
    measured = screen_rows[0]
    predicted = (
        f"the screen chose {chosen.vdd_v:.2f} V with {chosen.recovery} recovery, predicting a loss <= "
        f"{chosen.predicted_loss_pct:.3g} points and {chosen.latency_overhead_pct:.3g} % latency overhead; measured "
        f"on the test images: {measured.accuracy_loss_pct:.3g} points, {measured.latency_overhead_pct:.3g} % overhead"
    )
    if measured.vdd_v == headline.vdd_v and measured.recovery == headline.recovery:
        return f"The accepted plan is the screen's choice: {predicted}."
    return (
        f"The selection images replaced the screen's choice (`plan_screen.toml`), which missed a budget there: "
        f"{predicted}."
    )
