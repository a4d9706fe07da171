"""Razor on the product register: hand-built cases, the gate level and bad input.

Expected values come from hand calculations on the reasoned library at a delay scale of
3.5 (XOR3 105 ps, MAJ3 70 ps, BUF 49 ps, setup 87.5 ps; hold 10 ps and BUF 14 ps at nominal
VDD; 700 MHz, so ``t_sample = 1428.571 - 87.5 = 1341.071`` ps): product bit 15 (the sign of a
non-zero product) reaches the product register about 21 ps after the sampling instant and
bit 14 in time (checked with the static timing of the multiplier stage), and from the fast
gate level with a shadow sample.
"""

from __future__ import annotations

import numpy as np
import pytest

from pe_models.arcs import earliest_arrival_fs, latest_arrival_fs
from pe_models.chain import mac_parameters
from pe_models.errors import ConfigError
from pe_models.gate import simulate_gate_fast
from pe_models.kernels import PARAM_LATE_PRODUCT
from pe_models.pe import PEConfig, stage_timing
from pe_models.razor import razor_pe, window_fs
from sim.config import ArrayConfig
from sim.engine import product_razor_rows, simulate_gemm
from sim.protection import Protection, ProtectionPlan

REASONED = "ptm-32nm-hp"
"""The reasoned library's technology (one delay per cell type), which the hand calculations use."""
SCALE = 3.5
F_CLK_MHZ = 700.0
T_SAMPLE_FS = 1_341_071
BIT15 = 1 << 15


def _timing(pe: PEConfig):
    return stage_timing(pe, t_clk_ps=1e6 / F_CLK_MHZ, delay_scale=SCALE)


def _run(activations, weights, protection, engine, rows=1):
    pe = PEConfig(technology=REASONED)
    array = ArrayConfig(rows=rows, cols=1, dataflow="ws", f_clk_mhz=F_CLK_MHZ)
    return simulate_gemm(
        np.array(activations, dtype=np.int8),
        np.array(weights, dtype=np.int8),
        array=array,
        pe=pe,
        timing=_timing(pe),
        protection=protection,
        engine=engine,
    )


def test_premise_only_product_bit_15_is_late_by_10_to_40_ps():
    pe = PEConfig(technology=REASONED)
    timing = _timing(pe)
    assert timing.t_sample_fs == T_SAMPLE_FS
    stage = pe.stages["multiplier"]
    nets = stage.outputs["product"]
    latest = latest_arrival_fs(stage, timing.arcs_fs("multiplier"), timing.launch_fs("multiplier"))[nets].max(axis=1)
    late = [bit for bit in range(16) if latest[bit] > T_SAMPLE_FS]
    assert late == [15]
    assert T_SAMPLE_FS + 10_000 < latest[15] <= T_SAMPLE_FS + 40_000
    nominal = stage_timing(pe, t_clk_ps=1e6 / F_CLK_MHZ)
    shortest = earliest_arrival_fs(stage, nominal.arcs_fs("multiplier"), nominal.launch_fs("multiplier"))[nets]
    assert shortest[15] >= 52_000 + 10_000, "bit 15 needs no hold buffer for a 52 ps window"


# b = 3: products 15, -15, 21, -21, 0, 6; bit 15 (the sign) changes in MACs 1, 2, 3 and 4.
STREAM = [[5], [-5], [7], [-7], [0], [2]]
EXACT = [15, -15, 21, -21, 0, 6]
# Bit 15 keeps the previous product's sign: 0x7FF1, 0x8015, 0x7FEB, 0x8000.
LATE_SIGN = [15, 0x7FF1, 0x8015 - 0x10000, 0x7FEB, -0x8000, 6]


@pytest.mark.parametrize("engine", ["fast", "detailed"])
def test_unprotected_product_bit_15_keeps_the_previous_sign(engine):
    result = _run(STREAM, [[3]], None, engine)
    assert result.outputs[:, 0].tolist() == LATE_SIGN
    assert result.detections == 0 and result.silent_product_errors == 0


@pytest.mark.parametrize("engine", ["fast", "detailed"])
def test_product_bit_inside_the_window_is_detected_replayed_and_correct(engine):
    protection = Protection(product_mask=BIT15, razor_window_ps=40.0, penalty_cycles=1)
    result = _run(STREAM, [[3]], protection, engine)
    assert result.outputs[:, 0].tolist() == EXACT
    assert (result.detections, result.product_detections, result.silent_product_errors) == (4, 4, 0)
    assert result.correction_cycles == 4 and result.cycles == result.compute_cycles + 4


@pytest.mark.parametrize("engine", ["fast", "detailed"])
def test_product_bit_beyond_the_window_is_silent(engine):
    protection = Protection(product_mask=BIT15, razor_window_ps=10.0, penalty_cycles=1)
    result = _run(STREAM, [[3]], protection, engine)
    assert result.outputs[:, 0].tolist() == LATE_SIGN
    assert (result.detections, result.product_detections, result.silent_product_errors) == (0, 0, 4)
    assert result.correction_cycles == 0


@pytest.mark.parametrize("engine", ["fast", "detailed"])
def test_drop_skips_the_macs_the_product_register_detected(engine):
    protection = Protection(product_mask=BIT15, razor_window_ps=40.0, recovery="drop")
    result = _run(STREAM, [[3]], protection, engine)
    assert result.outputs[:, 0].tolist() == [15, 0, 0, 0, 0, 6]
    assert result.detections == 4 and result.correction_cycles == 0


@pytest.mark.parametrize("engine", ["fast", "detailed"])
def test_a_mac_with_both_detections_recovers_once(engine):
    """Row 1 adds 1 * -1 to the partial sum 1: its product register catches bit 15 (0x7FFF -> 0xFFFF)
    and the replayed 1 + 0xFFFFFFFF ripples through all 32 bits. A 52 ps window gives every
    accumulator bit 3 hold buffers (XOR3 30 ps + 3 x 14 >= 52 + 10 at nominal VDD), 147 ps at
    this scale: bits settle at 105 + 70 j ps, sampled at 1194.071 ps (bits <= 15 settled),
    shadow at 1246.071 ps (bit 16 detected, 17..31 silent)."""
    protection = Protection(protected_mask=0xFFFFFFFF, product_mask=BIT15, razor_window_ps=52.0, penalty_cycles=1)
    result = _run([[1, 1]], [[1], [-1]], protection, engine, rows=2)
    assert (result.detections, result.product_detections, result.detection_cycles) == (1, 1, 1)
    assert (result.silent_protected_errors, result.miscorrections) == (1, 0)
    assert result.correction_cycles == 1
    assert result.flip_counts.tolist() == [0] * 16 + [1] * 16


def test_product_razor_rows_leave_params_alone_without_product_bits():
    pe = PEConfig(technology=REASONED)
    params = mac_parameters(pe, _timing(pe), window_fs=40_000)
    rows, masks = product_razor_rows(params, 0)
    assert rows is params
    assert masks.tolist() == [[0, 0]]


def test_gate_level_catches_what_the_array_engine_catches(rng):
    """The multiplier stage through the fast gate level with a shadow sample at t_s + 40 ps: bit 15's
    shadow is always the settled value (the engine's caught bit: never silent, never
    mis-corrected), and every bit the gate level latches wrong is one the engine's product
    stage latches late."""
    pe = PEConfig(technology=REASONED)
    timing = _timing(pe)
    params = mac_parameters(pe, timing, window_fs=40_000)
    rows, masks = product_razor_rows(params, 0xFFFF)
    late = int(params[0, PARAM_LATE_PRODUCT])
    assert int(masks[0, 0]) == BIT15 and int(masks[0, 1]) == 0 and late == BIT15
    a, b = rng.integers(-128, 128, (2, 4001))
    old = {"a": a[:-1] & 0xFF, "b": b[:-1] & 0xFF}
    new = {"a": a[1:] & 0xFF, "b": b[1:] & 0xFF}
    gate = simulate_gate_fast(
        pe.stages["multiplier"],
        old,
        new,
        delays_fs=timing.delays_fs,
        t_sample_fs=T_SAMPLE_FS,
        t_shadow_fs=T_SAMPLE_FS + 40_000,
    )
    np.testing.assert_array_equal(gate.correct, (a[1:] * b[1:]) & 0xFFFF)
    np.testing.assert_array_equal(gate.shadow & BIT15, gate.correct & BIT15)
    assert not ((gate.latched ^ gate.correct) & ~late).any()
    assert ((gate.latched ^ gate.correct) & BIT15).any(), "the vectors never latch bit 15 wrong"
    assert int(rows[0, PARAM_LATE_PRODUCT]) == 0


def test_hold_buffers_keep_every_protected_product_bit_until_window_plus_hold(rng):
    """Gate level at nominal VDD: with a 100 ps window, no protected product bit of the built
    multiplier stage changes before 110 ps (hold 10 ps) for any input change; without the
    buffers the low bits do (bit 0 is one AND2, 45 ps)."""
    plain = PEConfig(technology=REASONED)
    built = razor_pe(plain, f_clk_mhz=F_CLK_MHZ, protected_mask=0, window_ps=100.0, product_mask=0xFFFF)
    assert built.product_hold_buffers and not built.hold_buffers
    a, b = rng.integers(-128, 128, (2, 2001))
    old = {"a": a[:-1] & 0xFF, "b": b[:-1] & 0xFF}
    new = {"a": a[1:] & 0xFF, "b": b[1:] & 0xFF}
    for pe, held in ((built, True), (plain, False)):
        timing = stage_timing(pe, t_clk_ps=1e6 / F_CLK_MHZ)
        gate = simulate_gate_fast(pe.stages["multiplier"], old, new, delays_fs=timing.delays_fs, t_sample_fs=110_000)
        old_product = (a[:-1] * b[:-1]) & 0xFFFF
        assert (gate.latched == old_product).all() == held


def test_window_infeasible_for_the_product_bits_names_them():
    pe = PEConfig(technology=REASONED)
    timing = stage_timing(pe, t_clk_ps=1e6 / 2500.0)
    with pytest.raises(
        ConfigError,
        match=r"^protect_product: no feasible Razor window for protected product bits 15 at 2500 MHz: bit 15's "
        r"longest path, 389 ps without hold buffers, misses T_clk - t_setup = 375 ps at nominal VDD; "
        r"allowed: a slower clock or fewer protected bits$",
    ):
        window_fs(timing, None, pe=pe, protected_mask=0, product_mask=BIT15)


def test_window_outside_the_range_names_the_product_bits():
    pe = PEConfig(technology=REASONED)
    timing = stage_timing(pe, t_clk_ps=1e6 / F_CLK_MHZ)
    with pytest.raises(
        ConfigError,
        match=r"^razor_window_ps: 1400 ps is outside the feasible range 0\.\.\S+ ps of "
        r"protected bits 31:8 and product bits 15:13 at 700 MHz",
    ):
        window_fs(timing, 1400.0, pe=pe, protected_mask=0xFFFFFF00, product_mask=0xE000)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"product_mask": 1 << 16},
            r"^Protection\.product_mask: expected an integer bit mask of product register "
            r"bits 0\.\.15, got 65536$",
        ),
        (
            {"product_mask": -1},
            r"^Protection\.product_mask: expected an integer bit mask of product register "
            r"bits 0\.\.15, got -1$",
        ),
        (
            {"product_mask": 0x8000, "hardware_product_mask": 0x4000},
            r"^Protection\.hardware_product_mask: expected an "
            r"integer bit mask containing the protected product bits 15, got 16384$",
        ),
    ],
)
def test_protection_product_mask_validation(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        Protection(**kwargs)


def test_plan_gives_each_layer_its_product_bits_on_shared_hardware():
    plan = ProtectionPlan(layers={"a": 0xFF000000}, product_layers={"a": 0xE000, "b": 0x8000})
    first, second, other = (plan.protection_for(name) for name in ("a", "b", "c"))
    assert (first.product_mask, second.product_mask, other.product_mask) == (0xE000, 0x8000, 0)
    assert first.product_razor_mask == second.product_razor_mask == other.product_razor_mask == 0xE000
    assert first.razor_flops == 8 + 3 and other.razor_flops == 0
