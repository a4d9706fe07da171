"""The optimizer: MILP and exhaustive search find the brute-force optimum, budgets and bad input, the plan file."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from experiments.cli import main
from experiments.studies.optimize import (
    Candidate,
    OptimizeConfig,
    SensitivityTable,
    solve_exhaustive,
    solve_milp,
    vdd_grid,
)
from pe_models.errors import ConfigError
from sim.protection import parse_bit_mask


def _random_table(rng: np.random.Generator, layers: int = 4, choices: int = 5) -> SensitivityTable:
    """A synthetic instance: energy rises and visible errors fall as more bits are protected."""
    shape = (1, layers, choices)
    step_energy = rng.uniform(0.5, 3.0, shape)
    energy = 100.0 + np.cumsum(step_energy, axis=2)
    visible = np.flip(np.cumsum(rng.exponential(0.004, shape), axis=2), axis=2)
    visible[..., -1] = 0.0
    recovery = np.cumsum(rng.uniform(0.0, 40.0, shape), axis=2)
    recovery[..., 0] = 0.0
    bits = np.broadcast_to(np.arange(choices, dtype=float), shape).copy()
    return SensitivityTable(
        vdds=(0.6,),
        layers=tuple(f"layer{i}" for i in range(layers)),
        choices=(-1, *range(31, 31 - (choices - 1), -1)),
        bit_probabilities=np.zeros((1, layers, 32)),
        detect=np.zeros(shape),
        visible=visible,
        visible_drop=np.zeros(shape),
        recovery_cycles={r: recovery for r in ("global", "column", "local", "drop")},
        energy_pj={r: energy for r in ("global", "column", "local", "drop")},
        base_cycles=np.full(layers, 1000.0),
        valid=np.ones(shape, bool),
        protected_bits=bits,
    )


def _plans(table: SensitivityTable) -> list[tuple[tuple[int, ...], float, float, float]]:
    """Every plan of a one-VDD table by brute force: (choices, energy pJ, visible errors, recovery cycles)."""
    energy, visible, cycles = table.energy_pj["global"][0], table.visible[0], table.recovery_cycles["global"][0]
    layers, choices = energy.shape
    return [
        (
            picks,
            sum(float(energy[i, c]) for i, c in enumerate(picks)),
            sum(float(visible[i, c]) for i, c in enumerate(picks)),
            sum(float(cycles[i, c]) for i, c in enumerate(picks)),
        )
        for picks in itertools.product(range(choices), repeat=layers)
    ]


def _cheapest(plans, visible_budget: float, cycles_budget: float):
    feasible = [plan for plan in plans if plan[2] <= visible_budget and plan[3] <= cycles_budget]
    return sorted(feasible, key=lambda plan: plan[1])


def _decisive_instance(trial: int, latency_binds: bool) -> tuple[SensitivityTable, OptimizeConfig, tuple[int, ...]]:
    """A random table and budgets, drawn again until the answer does not hang on solver tolerances.

    The accuracy budget lies above a random plan's visible errors and below those of the
    unprotected plan (the cheapest, with no recovery cycles), so it always binds. The latency
    budget lies above the recovery cycles of the cheapest plan meeting the accuracy budget, or,
    when `latency_binds`, between them and the fewest cycles any plan meeting it has. Decisive:
    the cheapest feasible plan is cheaper than the next by more than 1e-3 of its energy
    (scipy's HiGHS stops within a relative gap of 1e-4), and no plan lies within 1e-3 of a
    budget (HiGHS's feasibility tolerance is 1e-6)."""
    generator = np.random.default_rng(np.random.SeedSequence([20231121, trial, int(latency_binds)]))
    while True:
        table = _random_table(generator)
        plans = _plans(table)
        visible_budget = plans[generator.integers(len(plans))][2] * generator.uniform(1.0, 1.5)
        if visible_budget >= plans[0][2]:
            continue
        accurate = _cheapest(plans, visible_budget, math.inf)
        fewest_cycles = min(plan[3] for plan in accurate)
        if latency_binds:
            cycles_budget = generator.uniform(fewest_cycles, accurate[0][3])
        else:
            cycles_budget = accurate[0][3] * generator.uniform(1.0, 1.5)
        ranked = _cheapest(plans, visible_budget, cycles_budget)
        if not ranked or cycles_budget <= 0:
            continue
        best = ranked[0]
        gap = len(ranked) == 1 or ranked[1][1] - best[1] > 1e-3 * best[1]
        clear = all(
            abs(plan[2] - visible_budget) > 1e-3 * visible_budget
            and abs(plan[3] - cycles_budget) > 1e-3 * cycles_budget
            for plan in plans
        )
        if gap and clear:
            break
    assert (best != accurate[0]) == latency_binds
    config = OptimizeConfig(
        max_accuracy_loss_pct=100.0 * float(-np.expm1(-visible_budget)),
        max_latency_overhead_pct=100.0 * cycles_budget / float(table.base_cycles.sum()),
        vdd_v="0.6:0.6",
    )
    return table, config, tuple(table.choices[c] for c in best[0])


@pytest.mark.parametrize("latency_binds", [False, True])
@pytest.mark.parametrize("trial", range(6))
@pytest.mark.parametrize("solver", [solve_milp, solve_exhaustive])
def test_solver_finds_the_cheapest_plan_of_a_brute_force_search(solver, trial, latency_binds):
    table, config, first_bits = _decisive_instance(trial, latency_binds)
    plan = solver(table, config, 0, "global")
    assert plan.first_bits == first_bits


@pytest.mark.parametrize("solver", [solve_milp, solve_exhaustive])
def test_solver_finds_no_plan_below_the_least_visible_errors(solver):
    """An accuracy budget just below the fewest visible errors of any plan (brute force) leaves none."""
    table = _random_table(np.random.default_rng(np.random.SeedSequence([20231121, 99])))
    table.visible[..., -1] = 0.001
    fewest = min(plan[2] for plan in _plans(table))
    config = OptimizeConfig(
        max_accuracy_loss_pct=100.0 * float(-np.expm1(-0.99 * fewest)), max_latency_overhead_pct=100.0, vdd_v="0.6:0.6"
    )
    assert solver(table, config, 0, "global") is None


def _two_layer_table() -> SensitivityTable:
    """Choice c protects the top c bits (0..4). Layer 0's bits cost 1 pJ each, layer 1's 10 pJ
    (a larger layer); visible errors fall with protection: layer 0 1.0, 0.6, 0.15, 0, 0 and
    layer 1 0.2, 0.1, 0, 0, 0."""
    shape = (1, 2, 5)
    bits = np.broadcast_to(np.arange(5, dtype=float), shape).copy()
    energy = 100.0 + bits * np.array([1.0, 10.0])[None, :, None]
    visible = np.array([[[1.0, 0.6, 0.15, 0.0, 0.0], [0.2, 0.1, 0.0, 0.0, 0.0]]])
    zeros = np.zeros(shape)
    return SensitivityTable(
        vdds=(0.6,),
        layers=("layer0", "layer1"),
        choices=(-1, 31, 30, 29, 28),
        bit_probabilities=np.zeros((1, 2, 32)),
        detect=zeros,
        visible=visible,
        visible_drop=zeros,
        recovery_cycles={r: zeros for r in ("global", "column", "local", "drop")},
        energy_pj={r: energy for r in ("global", "column", "local", "drop")},
        base_cycles=np.full(2, 1000.0),
        valid=np.ones(shape, bool),
        protected_bits=bits,
    )


@pytest.mark.parametrize("solver", [solve_milp, solve_exhaustive])
def test_razor_flop_budget_limits_the_protected_bits(solver):
    # 19 % loss -> visible budget -ln(0.81) = 0.211 errors. By hand, the cheapest plan within it
    # is 3 bits on layer 0 and none on layer 1 (0 + 0.2 visible, 203 pJ); with at most 2 bits per
    # PE, layer 0's 2 bits leave 0.15, so layer 1 needs 2 bits too (0.15 + 0 visible, 222 pJ).
    table = _two_layer_table()
    free = OptimizeConfig(max_accuracy_loss_pct=19.0, max_latency_overhead_pct=100.0, vdd_v="0.6:0.6")
    capped = OptimizeConfig(
        max_accuracy_loss_pct=19.0,
        max_latency_overhead_pct=100.0,
        max_razor_flops=2 * free.pes,
        vdd_v="0.6:0.6",
    )
    unlimited = solver(table, free, 0, "global")
    assert (unlimited.first_bits, unlimited.energy_pj, unlimited.razor_flops) == ((29, -1), 203.0, 3 * free.pes)
    limited = solver(table, capped, 0, "global")
    assert (limited.first_bits, limited.energy_pj, limited.razor_flops) == ((30, 30), 222.0, 2 * free.pes)


def test_vdd_grid_has_10_mv_steps_inclusive():
    grid = vdd_grid(0.9, 0.5)
    assert len(grid) == 41 and grid[0] == 0.9 and grid[-1] == 0.5
    assert all(math.isclose(a - b, 0.01, abs_tol=1e-9) for a, b in itertools.pairwise(grid))


def test_plan_file_protects_bits_k_to_msb_per_layer(tmp_path):
    from experiments.plans import load_plan

    candidate = Candidate(
        vdd_v=0.55,
        recovery="column",
        penalty_cycles=1,
        layers=("a", "b", "c"),
        first_bits=(22, -1, 31),
        model="tinymnv2",
        width=32,
    )
    path = tmp_path / "plan.toml"
    path.write_text(candidate.to_toml())
    plan = load_plan(path)
    assert plan.recovery == "column" and plan.vdd_v == 0.55 and plan.model == "tinymnv2"
    assert plan.mask_for("a") == parse_bit_mask("31:22") == 0xFFC00000
    assert plan.mask_for("b") == 0
    assert plan.mask_for("c") == 0x80000000


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"max_accuracy_loss_pct": -1.0}, r"^max_accuracy_loss_pct: -1\.0 is out of range; allowed: \[0, 100\] %$"),
        ({"max_accuracy_loss_pct": 101.0}, r"^max_accuracy_loss_pct: 101\.0 is out of range; allowed: \[0, 100\] %$"),
        ({"max_latency_overhead_pct": -0.5}, r"^max_latency_overhead_pct: -0\.5 is out of range; allowed: >= 0 %$"),
        (
            {"recovery": ("stall",)},
            r"^recovery: expected one of global, column, local, drop, got 'stall'$",
        ),
        ({"recoveries": ("global",)}, r"^recoveries: not a field of OptimizeConfig; use recovery$"),
        ({"vdd_min_v": 2.0}, r"^vdd_min_v: not a field of OptimizeConfig; use vdd_v$"),
        (
            {"vdd_v": "2.0:0.5"},
            r"^vdd_v: 2\.0 V is above the maximum supply 1\.0 V of technology 'ptm-32nm-hp-cells'; "
            r"allowed: 0\.4 <= vdd_v <= 1\.0$",
        ),
    ],
)
def test_bad_budgets_name_the_field(fields, message):
    with pytest.raises(ConfigError, match=message):
        OptimizeConfig(**fields)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--max-accuracy-loss-pct", "-1"], "--max-accuracy-loss-pct: -1.0 is out of range; allowed: [0, 100] %"),
        (["--max-accuracy-loss-pct", "150"], "--max-accuracy-loss-pct: 150.0 is out of range; allowed: [0, 100] %"),
        (["--max-latency-overhead-pct", "-2"], "--max-latency-overhead-pct: -2.0 is out of range; allowed: >= 0 %"),
    ],
)
def test_cli_bad_budgets_one_line_exit_2_nothing_written(argv, message, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["optimize", *argv, "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == f"vscale: error: {message}"
    assert not out.exists()


@pytest.mark.slow
def test_infeasible_budgets_say_which_binds_exit_2_nothing_written(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["optimize", "--vdd", "0.55:0.5", "--recovery", "global", "--max-accuracy-loss-pct", "0"]
    argv += ["--max-latency-overhead-pct", "0", "--no-confirm", "--images", "20", "--out", str(out)]
    assert main(argv) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(
        "vscale: error: no plan meets the budgets (binding: accuracy); best achievable on 0.55..0.5 V"
    )
    assert "\n" not in error
    assert not out.exists()


@pytest.mark.slow
def test_plan_rerun_independently_with_accuracy_meets_both_budgets(tmp_path, capsys):
    import csv
    import tomllib

    optimized = tmp_path / "optimize"
    # 100 selection images as before the split; 400 test images can confirm a 1-point budget.
    argv = ["optimize", "--images", "500", "--selection-images", "100", "--test-images", "400", "--neighbours", "0"]
    assert main([*argv, "--out", str(optimized), "--format", "csv"]) in (0, 1)
    plan_path = optimized / "plan.toml"
    vdd = tomllib.loads(plan_path.read_text())["vdd_v"]
    measured = tmp_path / "accuracy"
    argv = ["accuracy", "--model", "tinymnv2", "--injection", "bitlevel", "--plan", str(plan_path)]
    argv += ["--vdd", f"0.9,{vdd}", "--images", "100", "--out", str(measured), "--format", "csv"]
    assert main(argv) == 0
    capsys.readouterr()
    with (measured / "accuracy.csv").open() as handle:
        rows = {float(row["vdd_v"]): row for row in csv.DictReader(handle)}
    loss = float(rows[0.9]["top1_pct"]) - float(rows[vdd]["top1_pct"])
    assert loss <= 1.0
    assert float(rows[vdd]["latency_overhead_pct"] or 0.0) <= 5.0


@pytest.mark.slow
def test_plan_rerun_independently_with_simulate_meets_the_latency_budget(tmp_path, capsys):
    """Each layer's GEMM (one image, first group) through ``vscale simulate --operands --plan``
    with the optimizer's protection of that layer: the recovery cycles over all layers stay
    within the latency budget."""
    import csv

    from experiments.studies.optimize import RecordingBackend, optimize
    from experiments.studies.prepared import prepare_model
    from workloads.engine import CalibrationConfig

    # 60 selection images as before the split; 400 test images can confirm a 1-point budget. A
    # 150 ps window: the default, largest window's hold buffers leave the errors of a low VDD late
    # at the shadow latch too (none detected, nothing recovered).
    config = OptimizeConfig(images=460, selection_images=60, test_images=400, neighbours=0, razor_window_ps=150.0)
    prepared = prepare_model("tinymnv2", images=460, labels=None, seed=0, calibration=CalibrationConfig())
    result = optimize(config, prepared=prepared)
    candidate = result.chosen
    recorder = RecordingBackend()
    prepared.model.run(prepared.images[:1], recorder)
    compute = correction = 0
    for name, mask in candidate.layer_masks().items():
        activations, weights = recorder.first[name]
        operands = tmp_path / f"{name}.npz"
        np.savez(operands, activations=activations, weights=weights)
        plan = tmp_path / f"{name}.toml"
        bits = parse_bit_mask("none") if mask == 0 else mask
        spec = "none" if bits == 0 else f"31:{(bits & -bits).bit_length() - 1}"
        plan.write_text(
            f'recovery = "{candidate.recovery}"\npenalty_cycles = 1\nrazor_window_ps = 150.0\ndefault = "{spec}"\n'
        )
        out = tmp_path / f"sim-{name}"
        argv = ["simulate", "--operands", str(operands), "--plan", str(plan), "--vdd", str(candidate.vdd_v)]
        assert main([*argv, "--format", "csv", "--out", str(out)]) == 0
        capsys.readouterr()
        with (out / "simulate.csv").open() as handle:
            (row,) = [r for r in csv.DictReader(handle) if r["layer_name"] != "TOTAL"]
        compute += int(row["compute_cycles"])
        correction += int(row["correction_cycles"])
    assert compute > 0
    assert 100.0 * correction / compute <= config.max_latency_overhead_pct


@pytest.mark.slow
def test_exit_status_is_the_verdict_on_the_test_images_and_the_files_are_written(tmp_path, capsys):
    import csv
    import json

    out = tmp_path / "out"
    argv = ["optimize", "--images", "100", "--neighbours", "0", "--max-accuracy-loss-pct", "5", "--out", str(out)]
    status = main(argv)
    error = capsys.readouterr().err
    with (out / "test.csv").open() as handle:
        (test,) = list(csv.DictReader(handle))
    with (out / "images.csv").open() as handle:
        images = list(csv.DictReader(handle))
    chosen = json.loads((out / "config.json").read_text())["chosen"]
    assert (chosen["selection_images"], chosen["test_images"]) == (20, 80)
    assert sorted(row["set"] for row in images).count("test") == 80 == int(test["images"])
    assert len({row["index"] for row in images}) == 100
    assert status == (0 if test["meets_budgets"] == "True" else 1)
    assert chosen["confirmed"] == (status == 0)
    if status:
        assert error.startswith(f"vscale: no plan confirmed on the 80 test images (binding: {test['binding']}; ")


@pytest.mark.slow
def test_zero_accuracy_budget_accepts_the_lowest_error_free_vdd_and_confirms_it(tmp_path, capsys):
    # Only a plan whose every path meets the clock can lose 0 points for certain; the
    # optimizer selects the lowest such VDD (unprotected, the DVFS point) and confirms it.
    import csv
    import tomllib

    out = tmp_path / "out"
    argv = ["optimize", "--images", "40", "--neighbours", "0", "--max-accuracy-loss-pct", "0", "--out", str(out)]
    assert main(argv) == 0
    capsys.readouterr()
    with (out / "test.csv").open() as handle:
        (test,) = list(csv.DictReader(handle))
    with (out / "confirmation.csv").open() as handle:
        confirmation = list(csv.DictReader(handle))
    plan = tomllib.loads((out / "plan.toml").read_text())
    assert (test["error_free"], test["meets_budgets"], test["protected_bits"]) == ("True", "True", "none")
    assert float(test["vdd_v"]) == plan["vdd_v"]
    # Every measured plan below it was not error-free (it changed no image, or did, but
    # could not be confirmed by any number of test images at a budget of 0).
    assert all(float(row["vdd_v"]) >= plan["vdd_v"] for row in confirmation if row["within_budgets"] == "True")


def test_independent_detectors_solve_the_stall_fraction_by_hand():
    from experiments.studies.optimizer.profiling import independent_detectors

    # 1 - 0.9 ** 2 = 0.19: two independent detectors per cycle at q = 0.1.
    assert independent_detectors(0.19, 0.1, 16) == pytest.approx(2.0)
    # log(0.5) / log(0.999) = 692.8 PEs, more than the 10 in flight: clipped.
    assert independent_detectors(0.5, 0.001, 10) == 10.0
    assert independent_detectors(float("nan"), 0.1, 16) == 16.0


def test_recovery_cycles_with_calibrated_detectors_by_hand():
    from types import SimpleNamespace

    from experiments.studies.optimizer.solving import _recovery_cycles

    profile = SimpleNamespace(rows_used=4, cols_used=4, macs=1600)
    cycles = _recovery_cycles(profile, np.array([[0.1]]), 1, np.array([2.0]), np.array([3.0]))
    # 100 busy cycles; global: 100 (1 - 0.9 ** 2) = 19; column: 100 (1 - 0.9 ** 3) = 27.1.
    assert cycles["global"][0, 0] == pytest.approx(19.0)
    assert cycles["column"][0, 0] == pytest.approx(27.1)
    # Uncalibrated: all 16 PEs for global, a column's 4 rows for column.
    plain = _recovery_cycles(profile, np.array([[0.1]]), 1)
    assert plain["global"][0, 0] == pytest.approx(100 * (1 - 0.9**16))
    assert plain["column"][0, 0] == pytest.approx(100 * (1 - 0.9**4))
