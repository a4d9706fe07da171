"""The optimizer's budget checks compare like units (percentage points with percentage points)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from experiments.studies.optimizer import confirmation as study


def _confirm_with(monkeypatch, reference_hits, plan_hits, *, max_accuracy_loss_pct):
    reference = study.Measured(hits=np.asarray(reference_hits), overhead_pct=0.0, detections=0, unprotected_errors=0)
    measured = study.Measured(hits=np.asarray(plan_hits), overhead_pct=0.0, detections=0, unprotected_errors=0)
    monkeypatch.setattr(study, "plan_predictions", lambda *args, **kwargs: measured)
    config = study.OptimizeConfig(max_accuracy_loss_pct=max_accuracy_loss_pct)
    plan = study.PlanChoice(
        vdd_v=0.6,
        recovery="global",
        first_bits=(-1,),
        energy_pj=1.0,
        visible_errors=0.0,
        predicted_loss_pct=0.0,
        latency_overhead_pct=0.0,
        razor_flops=0,
    )
    return study._confirm_one(None, config, SimpleNamespace(layers=("l",)), "chosen", plan, reference)


def test_a_three_point_upper_bound_does_not_meet_a_one_point_budget(monkeypatch):
    # 1 image lost of 100: the percentile bootstrap's upper limit is 3 points (0.03 as a
    # fraction, which the old check compared with the budget of 1 point).
    row = _confirm_with(
        monkeypatch, np.ones(100, bool), np.r_[np.zeros(1, bool), np.ones(99, bool)], max_accuracy_loss_pct=1.0
    )
    assert row.loss_ci_high_pct == 3.0
    assert not row.meets_budgets


def test_an_upper_bound_below_the_budget_meets_it(monkeypatch):
    row = _confirm_with(
        monkeypatch, np.ones(100, bool), np.r_[np.zeros(1, bool), np.ones(99, bool)], max_accuracy_loss_pct=5.0
    )
    assert row.meets_budgets
