"""The product register as an optimizer variable: per layer none or its failing product bits."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from experiments.plans import parse_plan
from experiments.studies.optimize import Candidate, OptimizeConfig, SensitivityTable, solve_exhaustive, solve_milp
from experiments.studies.optimizer.solving import plan_product_bits, product_screen


def _profile(toggles: np.ndarray) -> SimpleNamespace:
    return SimpleNamespace(product_toggles=toggles, lsb_per_unit=1.0)


def test_product_screen_at_055_v_by_hand():
    # docs/array_simulation.md ("Product register"): at 0.55 V product bits 13, 14 and 15 are
    # late (46, 125 and 203 ps); a 48 ps window catches bit 13 only. A layer whose late bits
    # never change cannot fail there; one whose bits change with probability 1/2 fails on
    # 13..15: unprotected 3 x 0.5 visible errors per MAC (a harm of 1 at an LSB of 1),
    # protected bit 13 detected with 0.5 and bits 14, 15 silent (2 x 0.5). Those lateness
    # figures are the formula preset's (the PE's reasoned delays x delay_scale(0.55)).
    config = OptimizeConfig(vdd_v="0.55:0.55", images=10, confirm=False, razor_window_ps=48.0, technology="ptm-32nm-hp")
    quiet = np.full(16, 0.5)
    quiet[13:] = 0.0
    screen = product_screen([_profile(quiet), _profile(np.full(16, 0.5))], config, 0.55, 48_000)
    assert screen is not None and screen.feasible
    assert screen.masks.tolist() == [0, 0xE000]
    assert screen.unprotected.tolist() == [0.0, 1.5]
    assert screen.detect == pytest.approx([0.0, 0.5])
    assert screen.silent.tolist() == [0.0, 1.0]


def test_no_product_bit_fails_at_nominal_vdd():
    config = OptimizeConfig(vdd_v="0.9:0.9", images=10, confirm=False)
    screen = product_screen([_profile(np.full(16, 0.5))], config, 0.9, 100_000)
    assert screen is not None and screen.masks.tolist() == [0] and screen.unprotected.tolist() == [0.0]


def _product_table() -> SensitivityTable:
    """Two layers; choices none / bits 31, each without and with the layer's failing product
    bits. Layer a's product bit 13 fails (1 visible error per image unprotected, 0 protected);
    layer b's product bits cannot fail (its product choices are not valid)."""
    shape = (1, 2, 4)
    visible = np.array([[[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]])
    energy = np.array([[[100.0, 101.0, 100.5, 101.5], [100.0, 101.0, 100.5, 101.5]]])
    valid = np.array([[[True, True, True, True], [True, True, False, False]]])
    return SensitivityTable(
        vdds=(0.55,),
        layers=("a", "b"),
        choices=(-1, 31, -1, 31),
        bit_probabilities=np.zeros((1, 2, 32)),
        detect=np.zeros(shape),
        visible=visible,
        visible_drop=np.zeros(shape),
        recovery_cycles={r: np.zeros(shape) for r in ("global", "column", "local", "drop")},
        energy_pj={r: energy for r in ("global", "column", "local", "drop")},
        base_cycles=np.array([500.0, 500.0]),
        valid=valid,
        protected_bits=np.broadcast_to(np.array([0.0, 1.0, 0.0, 1.0]), shape).copy(),
        product_choice=(False, False, True, True),
        product_masks=np.array([[[0, 0, 0x2000, 0x2000], [0, 0, 0, 0]]]),
    )


@pytest.mark.parametrize("solver", [solve_milp, solve_exhaustive])
def test_a_plan_that_needs_product_protection_is_marked_with_it(solver):
    # A 1-point budget allows -ln(0.99) = 0.01 visible errors per image: layer a must protect
    # its product bit 13 (100.5 pJ); layer b, whose product bits cannot fail, protects none.
    config = OptimizeConfig(vdd_v="0.55:0.55", images=10, confirm=False, razor_window_ps=48.0)
    table = _product_table()
    plan = solver(table, config, 0, "global")
    assert plan is not None
    assert (plan.first_bits, plan.product_masks, plan.energy_pj) == ((-1, -1), (0x2000, 0), 200.5)
    assert plan.razor_flops == config.pes
    assert plan_product_bits(plan, table.layers) == "13 (1/2 layers)"
    candidate = Candidate(
        vdd_v=plan.vdd_v,
        recovery=plan.recovery,
        penalty_cycles=None,
        layers=table.layers,
        first_bits=plan.first_bits,
        model="tinymnv2",
        width=32,
        razor_window_ps=48.0,
        product_masks=plan.product_masks,
    )
    text = candidate.to_toml()
    assert '[product_layers]\n"a" = "13"\n' in text
    import tomllib

    written = parse_plan(tomllib.loads(text))
    assert dict(written.product_layers) == {"a": 0x2000}
    # The plan's window lies in the feasible range of both registers' protected bits.
    from pe_models.razor import window_range_fs

    low, high = window_range_fs(config.pe, f_clk_mhz=700.0, protected_mask=0, product_mask=0x2000)
    assert low <= 48_000 <= high


def test_without_a_budget_that_needs_it_no_layer_protects_its_product_register():
    config = OptimizeConfig(
        vdd_v="0.55:0.55", images=10, confirm=False, razor_window_ps=48.0, max_accuracy_loss_pct=100.0
    )
    plan = solve_milp(_product_table(), config, 0, "global")
    assert plan is not None and plan.product_masks == (0, 0) and plan.energy_pj == 200.0
