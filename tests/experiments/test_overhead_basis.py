"""One latency-overhead basis: ``vscale accuracy`` and the optimizer's measurement count the
recovery cycles over the error-free cycles of the simulated hardware's batch."""

import pytest


@pytest.mark.slow
def test_accuracy_and_the_optimizers_measurement_report_the_same_overhead():
    from experiments.studies.accuracy import accuracy
    from experiments.studies.optimize import OptimizeConfig, layer_profiles, measure_plans, uniform_plan
    from experiments.studies.prepared import prepare_model
    from workloads.engine import CalibrationConfig

    images, batch, vdd, mask = 6, 2, 0.55, 0xFFFFFF00
    measured = accuracy(
        model="tinymnv2",
        vdd_v=[vdd],
        injection="bitlevel",
        images=images,
        protect="31:8",
        batch=batch,
        penalty_cycles=1,
        razor_window_ps=300.0,
        jobs=1,
    ).rows[0]
    config = OptimizeConfig(
        images=images, vdd_v="0.9:0.55", confirm=False, batch=batch, penalty_cycles=1, razor_window_ps=300.0
    )
    prepared = prepare_model("tinymnv2", images=images, labels=None, seed=0, calibration=CalibrationConfig())
    profiles = layer_profiles(prepared, config)
    layers = tuple(p.name for p in profiles)
    (row,) = measure_plans(prepared, config, profiles, [("p", uniform_plan(vdd, layers, mask, "global", 32))])
    assert measured.latency_overhead_pct is not None and measured.latency_overhead_pct > 0
    assert row.latency_overhead_pct == pytest.approx(measured.latency_overhead_pct, rel=1e-12)
