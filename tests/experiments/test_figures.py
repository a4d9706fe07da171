"""Every ``plot_*`` keeps its text inside the figure's canvas: after saving (as
:func:`experiments.output.save_figure` does, without ``bbox_inches``), each drawn text artist's
window extent lies within the figure's own bounding box."""

import io

import pytest


def _outside(figure):
    from matplotlib.axis import Tick
    from matplotlib.text import Text

    figure.savefig(io.BytesIO(), format="png")
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    canvas = figure.bbox
    ticks = {id(t) for tick in figure.findobj(Tick) for t in (tick.label1, tick.label2)}
    outside = []
    for text in figure.findobj(Text):
        if id(text) in ticks or not text.get_visible() or not text.get_text().strip():
            continue
        box = text.get_window_extent(renderer)
        if box.x0 < canvas.x0 - 1 or box.y0 < canvas.y0 - 1 or box.x1 > canvas.x1 + 1 or box.y1 > canvas.y1 + 1:
            outside.append(text.get_text())
    drawn = figure.get_tightbbox(renderer)
    inches = figure.bbox_inches
    if drawn.x0 < -0.01 or drawn.y0 < -0.01 or drawn.x1 > inches.x1 + 0.01 or drawn.y1 > inches.y1 + 0.01:
        outside.append(f"drawn extent {drawn.bounds} beyond {inches.bounds}")
    return outside


@pytest.mark.slow
@pytest.mark.parametrize("vdd", ["0.9:0.5:0.05", "0.55"], ids=["sweep", "single-vdd"])
def test_probs_heatmap_text_stays_inside_the_canvas(vdd):
    from experiments.studies.probs import plot_probs, probs

    assert _outside(plot_probs(probs(vdd_v=vdd))) == []


@pytest.mark.slow
@pytest.mark.parametrize("vdd", ["0.6", "0.9:0.5:0.1"], ids=["single-vdd", "sweep"])
def test_energy_figures_text_stays_inside_the_canvas(vdd):
    from experiments.studies.energy import energy, plot_energy, plot_energy_layers

    result = energy(model="tinymnv2", vdd_v=vdd)
    assert _outside(plot_energy(result)) == []
    assert _outside(plot_energy_layers(result, result.rows[0].vdd_v)) == []


def test_tech_figure_text_stays_inside_the_canvas():
    from experiments.studies.technology import plot_tech, tech

    assert _outside(plot_tech(tech())) == []


@pytest.mark.slow
def test_slack_figure_text_stays_inside_the_canvas():
    from experiments.studies.slack import plot_slack, slack

    assert _outside(plot_slack(slack(vdd_v=0.6))) == []


def test_size_figures_text_stays_inside_the_canvas():
    from experiments.studies.size import plot_size, plot_size_sram, size

    result = size(topology="mobilenetv2")
    assert _outside(plot_size(result)) == []
    assert _outside(plot_size_sram(result)) == []


@pytest.mark.slow
def test_accuracy_figure_text_stays_inside_the_canvas():
    from experiments.studies.accuracy import accuracy, plot_accuracy

    result = accuracy(model="tinymnv2", vdd_v=[0.9, 0.6], injection="exact", images=4)
    assert _outside(plot_accuracy(result)) == []


@pytest.mark.slow
def test_flips_figure_text_stays_inside_the_canvas():
    from experiments.studies.simulate import plot_flips, simulate

    assert _outside(plot_flips(simulate(gemm="64,64,64", vdd_v=0.55))) == []


@pytest.fixture(scope="module")
def small_run():
    from experiments.studies.run import run

    return run(images=20, vdd_v="0.9,0.55,0.5", jobs=1)


@pytest.mark.slow
def test_run_figures_text_stays_inside_the_canvas(small_run):
    from experiments.report import energy_figure, pareto_figure, screen_heatmap
    from experiments.studies.run import plot_run

    assert _outside(plot_run(small_run)) == []
    assert _outside(energy_figure(small_run.rows, small_run.optimizer.config)) == []
    assert _outside(pareto_figure(small_run.optimizer)) == []
    assert _outside(screen_heatmap(small_run.optimizer)) == []


@pytest.mark.slow
def test_run_figure_plots_no_saving_where_the_loss_exceeds_the_budget(small_run):
    import numpy as np

    from experiments.studies.run import plot_run

    figure = plot_run(small_run)
    _top, _middle, bottom = figure.axes
    budget = small_run.optimizer.config.max_accuracy_loss_pct
    over = {(r.label, r.vdd_v) for r in small_run.rows if r.accuracy_loss_pct > budget}
    assert over, "the fixture should have a collapsed point (0.5 V unprotected)"
    savings = [line for line in bottom.get_lines() if line.get_label() in {r.label for r in small_run.rows}]
    for line in savings:
        for vdd, saving in zip(line.get_xdata(), line.get_ydata(), strict=True):
            assert np.isnan(saving) == ((line.get_label(), float(vdd)) in over)
    assert any("no saving counted" in text.get_text() for text in bottom.get_legend().get_texts())


@pytest.mark.slow
def test_run_figure_panels_each_have_one_zero(small_run):
    from experiments.studies.run import plot_run

    figure = plot_run(small_run)
    assert len(figure.axes) == 3
    for axis in figure.axes[1:]:
        assert axis.get_shared_y_axes().get_siblings(axis) == [axis]


@pytest.mark.slow
def test_screen_heatmap_uses_the_optimizers_grid_and_marks_the_accepted_vdd(small_run):
    from experiments.report import screen_heatmap

    result = small_run.optimizer
    figure = screen_heatmap(result)
    (axis, _colourbar) = figure.axes
    left, right = axis.get_xlim()
    assert (left, right) == pytest.approx((0.9 + 0.005, 0.5 - 0.005))
    marked = [line.get_xdata()[0] for line in axis.get_lines()]
    assert marked == [result.accepted_plan.vdd_v]


@pytest.mark.filterwarnings("ignore:constrained_layout not applied:UserWarning")
def test_a_label_beyond_the_canvas_is_caught():
    from experiments.output import subplots

    figure, axis = subplots(figsize=(2, 2))
    axis.text(1.5, 0.5, "far to the right", transform=axis.transAxes)
    assert "far to the right" in _outside(figure)
