"""What a recovery costs: why global latency can fall while detections rise, the stall model and the
buffering of each policy, and the engines against the chain level with hold buffers.

Expected values: hand-derived carry-chain timings of fixed operands (compound cells: XOR3 30,
MAJ3 20, BUF 14 ps nominal), hand arithmetic of the stall model's cited formula, and the
chain level chained by hand through one array column.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from pe_models.chain import evaluate_chain
from pe_models.energy import flops_per_pe, pe_energy_model
from pe_models.pe import OperatingPoint, PEConfig, stage_timing
from pe_models.razor import razor_pe, retimed
from sim.config import ArrayConfig
from sim.energy import GatingOptions, LayerActivity, MemoryTraffic, layer_energy
from sim.engine import simulate_gemm
from sim.protection import Protection
from sim.recovery import (
    COPPER_RESISTIVITY_UOHM_CM,
    WIRE_CAPACITANCE_FF_PER_MM,
    razor_design,
    recovery_buffer_flops,
    stall_model,
    wire_delay_ps_per_mm,
)

BUNCH_A = np.zeros((8, 2), dtype=np.int8)
BUNCH_A[0] = (112, 8)
BUNCH_A[2] = (64, 8)
BUNCH_A[4] = (84, 4)
BUNCH_A[6] = (-1, 1)
BUNCH_B = np.array([[48, 1, 63, 1, 36], [16, 1, 8, 1, 8]], dtype=np.int8)


def _carries(c: int, p: int) -> int:
    """Bits that receive a carry in ``c + p`` (32-bit two's complement)."""
    mask = (1 << 32) - 1
    return ((c + p) & mask) ^ (c & mask) ^ (p & mask)


def test_detections_can_rise_while_the_global_stall_cycles_fall():
    """A 2 x 5 ws array, weights B[k, n] stationary, activation rows A[m] (rows 1, 3, 5, 7 zero).

    The second row's MAC of step m in column n adds ``c = A[m, 0] B[0, n]`` (from the first row)
    and ``p = A[m, 1] B[1, n]``, from the zero state of the step before, in cycle 3 + n + m. Bits
    31:8 are protected with a 300 ps window: 20 BUF cells (280 ps) each; the clock is 3200 ps.

    * "Y" MACs, c = 4032 (bits 6..11), p = 64 (bit 6), in columns 4, 2, 0 at steps 0, 2, 4: all
      three in cycle 7. Bit 6 generates; bits 7..11 rise at 30 ps (XOR3) and fall at 30 + 20 (i - 6);
      bit 12 rises at 150 ps.
    * "X" MACs, c = -1, p = 1, in columns 1 and 3 at step 6: cycles 10 and 12. Every bit i >= 1
      rises at 30 ps and falls at 30 + 20 i (the carry ripples from bit 0); bit 8 at 190 ps.
    * Every other MAC carries into bits 7 and below only (checked below): nothing protected moves
      after 30 ps.

    In nominal time a buffered bit is latched at ``lo = 3200 / s - 25 - 280`` and shadowed at
    ``hi = lo + 300 / s``. At s = 5: (335, 395]: the X bits 16..18 fall inside (detected, two
    cycles; bits 19..31 fall later, so both MACs are also silent there), the Y bits settled by
    150 (correct). At s = 7.5: (121.7, 161.7]: Y bits 11 and 12 move
    inside (three detections, one cycle), the X bits have not fallen by 161.7 (all still 1:
    silent). Detections 2 -> 3, stall cycles 2 -> 1: the slower supply moves detection from the
    long chains (now silent) to short ones that share a cycle.
    """
    designed = {(0, 4), (2, 2), (4, 0), (6, 1), (6, 3)}
    for m in range(8):
        for n in range(5):
            carries = _carries(int(BUNCH_A[m, 0]) * int(BUNCH_B[0, n]), int(BUNCH_A[m, 1]) * int(BUNCH_B[1, n]))
            assert (carries >> 8 == 0) != ((m, n) in designed)
    pe = PEConfig(technology="ptm-32nm-hp")  # the reasoned delays summed above
    array = ArrayConfig(rows=2, cols=5, dataflow="ws", f_clk_mhz=312.5)
    protection = Protection.from_spec("31:8", razor_window_ps=300.0, penalty_cycles=1)
    runs = {}
    for scale in (5.0, 7.5):
        timing = stage_timing(pe, t_clk_ps=3200.0, delay_scale=scale)
        runs[scale] = simulate_gemm(
            BUNCH_A, BUNCH_B, array=array, pe=pe, timing=timing, protection=protection, record_events=True
        )
    fast, slow = runs[5.0], runs[7.5]
    assert fast.hold_buffers_per_bit == 20.0
    detected = {scale: run.events[run.events[:, 5] == 1][:, 1:4].tolist() for scale, run in runs.items()}
    assert detected[5.0] == [[10, 1, 1], [12, 1, 3]]
    assert detected[7.5] == [[7, 1, 0], [7, 1, 2], [7, 1, 4]]
    assert (fast.detections, fast.detection_cycles, fast.correction_cycles) == (2, 2, 2)
    assert (slow.detections, slow.detection_cycles, slow.correction_cycles) == (3, 1, 1)
    assert (fast.silent_protected_errors, slow.silent_protected_errors) == (2, 2)
    assert fast.miscorrections == slow.miscorrections == 0
    masks = {tuple(event[1:4]): event[4] for event in slow.events.tolist()}
    assert masks[(7, 1, 0)] == 0x1800 and masks[(10, 1, 1)] == 0xFFFFFF00
    assert fast.events[0, 4] == 0xFFFF0000


def test_repeated_wire_delay_by_hand():
    """32 nm: the 45 nm M7 (280 x 504 nm) scaled by 32/45: r = 2.2e-8 / (199.1e-9 x 358.4e-9) =
    308.3 Ohm/mm; c = 200 fF/mm; 2.5 sqrt(14 / 5 ps x 61.7 ps/mm^2) = 32.8 ps/mm."""
    width_m, thickness_m = 280e-9 * 32 / 45, 504e-9 * 32 / 45
    r_ohm_per_mm = COPPER_RESISTIVITY_UOHM_CM * 1e-8 / (width_m * thickness_m) / 1000
    assert r_ohm_per_mm == pytest.approx(308.3, abs=0.1)
    rc = r_ohm_per_mm * WIRE_CAPACITANCE_FF_PER_MM * 1e-3
    assert wire_delay_ps_per_mm(14.0, 32.0) == pytest.approx(2.5 * math.sqrt(14.0 / 5 * rc))
    assert wire_delay_ps_per_mm(14.0, 32.0) == pytest.approx(32.8, abs=0.05)


def _stall(recovery, rows, cols, vdd, window_fs=762_000, stall_cycles=None, dataflow="ws"):
    pe = razor_pe(PEConfig(), f_clk_mhz=700.0, protected_mask=0xFFFFFF00)
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd, f_clk_mhz=700.0))
    return stall_model(
        recovery=recovery,
        rows=rows,
        cols=cols,
        dataflow=dataflow,
        pe=pe,
        timing=timing,
        window_fs=window_fs,
        protected_bits=24,
        stall_cycles=stall_cycles,
    ), timing


def test_global_stall_of_a_256_x_256_array_adds_its_parts():
    """24 Razor bits x 65536 PEs: ceil(log2(1572864)) = 21 OR2 levels (16 ps each at 0.9 V); the wire
    is (256 + 256) pitches; the signal is window + XOR2 + levels + wire, rounded up to cycles."""
    model, _ = _stall("global", 256, 256, 0.9)
    assert model.tree_levels == 21
    assert model.wire_mm == pytest.approx(512 * model.pitch_um / 1000)
    signal = 762 + 22 + 21 * 16 + model.wire_mm * model.wire_ps_per_mm
    assert model.signal_ps == pytest.approx(signal)
    assert model.stall_cycles == math.ceil(signal / (1e6 / 700))
    assert model.stall_cycles >= 2
    assert model.buffer_flops_per_pe == (model.stall_cycles - 1) * flops_per_pe(PEConfig())


def test_stalls_grow_with_the_array_and_the_scope_and_as_the_supply_drops():
    small, _ = _stall("global", 16, 16, 0.9, window_fs=100_000)
    large, _ = _stall("global", 256, 256, 0.9, window_fs=100_000)
    assert small.stall_cycles == 1 and small.wire_mm < large.wire_mm
    for vdd in (0.9, 0.7, 0.5):
        scopes = [_stall(recovery, 256, 256, vdd)[0].stall_cycles for recovery in ("local", "column", "global")]
        assert scopes == sorted(scopes)
    assert _stall("global", 256, 256, 0.5)[0].stall_cycles > _stall("global", 256, 256, 0.9)[0].stall_cycles
    assert _stall("drop", 256, 256, 0.5)[0].stall_cycles == 0


def test_stall_cycles_override_keeps_the_buffering_consistent():
    model, _ = _stall("global", 256, 256, 0.5, stall_cycles=1)
    assert model.stall_cycles == 1 and model.buffer_flops_per_pe == 0.0


def test_buffering_per_policy_by_hand():
    """PE flops: 2 x 8 operands + 16 product + 32 partial sum = 64."""
    pe = PEConfig()
    assert flops_per_pe(pe) == 64
    assert recovery_buffer_flops("global", 1, pe, "ws") == 0.0
    assert recovery_buffer_flops("global", 3, pe, "ws") == 128.0
    assert recovery_buffer_flops("column", 1, pe, "ws") == 9.0
    assert recovery_buffer_flops("column", 2, pe, "ws") == 2 * 9 + 64
    assert recovery_buffer_flops("local", 1, pe, "ws") == 8 + 32 + 2
    assert recovery_buffer_flops("local", 1, pe, "os") == 8 + 8 + 2
    assert recovery_buffer_flops("drop", 4, pe, "ws") == 0.0


def test_the_engine_uses_the_stall_model_unless_told():
    rng = np.random.default_rng(11)
    a = rng.integers(-128, 128, (30, 16)).astype(np.int8)
    b = rng.integers(-128, 128, (16, 16)).astype(np.int8)
    pe = PEConfig(technology="generic-28nm")
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=0.8, f_clk_mhz=700.0))
    array = ArrayConfig(rows=16, cols=16, dataflow="ws")
    modelled = simulate_gemm(a, b, array=array, pe=pe, timing=timing, protection=Protection.from_spec("31:16"))
    built = razor_pe(pe, f_clk_mhz=700.0, protected_mask=0xFFFF0000)
    expected = stall_model(
        recovery="global",
        rows=16,
        cols=16,
        dataflow="ws",
        pe=built,
        timing=timing,
        window_fs=762_000,
        protected_bits=16,
    )
    assert modelled.detection_cycles > 0
    assert modelled.stall_cycles == expected.stall_cycles
    assert modelled.correction_cycles == expected.stall_cycles * modelled.detection_cycles
    told = simulate_gemm(
        a, b, array=array, pe=pe, timing=timing, protection=Protection.from_spec("31:16", penalty_cycles=5)
    )
    assert told.correction_cycles == 5 * told.detection_cycles


def test_recovery_buffering_is_charged_in_energy_and_area():
    """Without clock gating the Razor overhead adds flop_clock x flops x PEs x cycles (nominal VDD)."""
    model = pe_energy_model(PEConfig())
    traffic = MemoryTraffic(sram_read_bytes=0, sram_write_bytes=0, dram_read_bytes=0, dram_write_bytes=0)
    base = LayerActivity(
        name="l", macs=1000, cycles=100, pes=16, protected_bits=24, units_per_mac=10.0, traffic=traffic
    )
    gating = GatingOptions(clock_gating=False)
    plain = layer_energy(base, model, vdd_v=0.9, f_clk_mhz=700.0, gating=gating)
    buffered = layer_energy(replace(base, recovery_flops_per_pe=42.0), model, vdd_v=0.9, f_clk_mhz=700.0, gating=gating)
    added = buffered.razor_overhead_pj.nominal - plain.razor_overhead_pj.nominal
    assert added == pytest.approx(model.flop_clock_pj.nominal * 42 * 16 * 100)
    area = model.area
    assert area.protected_um2(24, 53, 42.0) - area.protected_um2(24, 53) == pytest.approx(42 * area.flops_um2 / 64)


@pytest.mark.parametrize(("cells", "vdd"), [("compound", 0.5), ("2in", 0.6)])
def test_engine_column_equals_the_chain_level_with_hold_buffers_and_correction(cells, vdd):
    """One ws column: PE r adds a[:, r] * w[r] to the sums from PE r - 1, each MAC through the
    chain level of the buffered PE (latched and shadow), protected bits that differ corrected
    to the shadow value (Razor's restore), in the order the documentation gives."""
    rows, steps = 6, 40
    rng = np.random.default_rng(np.random.SeedSequence(21))
    a = rng.integers(-128, 128, (steps, rows)).astype(np.int8)
    w = rng.integers(-128, 128, (rows, 1)).astype(np.int8)
    pe = PEConfig(cells=cells, technology="generic-28nm")
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd, f_clk_mhz=700.0))
    protected = 0xFFFFF000
    protection = Protection.from_spec("31:12", razor_window_ps=150.0, penalty_cycles=1)
    built = razor_pe(pe, f_clk_mhz=700.0, protected_mask=protected, window_ps=150.0)
    built_timing = retimed(built, timing)
    partial = np.zeros(steps, dtype=np.int64)
    mask = (1 << 32) - 1
    detections = 0
    for r in range(rows):
        x = a[:, r].astype(np.int64)
        y = np.full(steps, int(w[r, 0]), dtype=np.int64)

        def shifted(values):
            return np.concatenate([[0], values[:-1]])

        result = evaluate_chain(
            built,
            built_timing,
            prev_a=shifted(x),
            prev_b=shifted(y),
            prev_c=shifted(partial),
            a=x,
            b=y,
            c=partial,
            window_fs=150_000,
        )
        assert not result.product_flip_mask.any()
        latched, shadow = result.latched & mask, result.shadow & mask
        differ = (latched ^ shadow) & protected
        detections += int(np.count_nonzero(differ))
        value = latched ^ differ
        partial = np.where(value >= 1 << 31, value - (1 << 32), value)
    array = ArrayConfig(rows=rows, cols=1, dataflow="ws")
    for engine in ("fast", "detailed"):
        run = simulate_gemm(a, w, array=array, pe=pe, timing=timing, protection=protection, engine=engine)
        assert run.detections == detections > 0
        np.testing.assert_array_equal(run.outputs[:, 0], partial)


@pytest.mark.parametrize("technology", ["ptm-32nm-hp", "ptm-32nm-hp-cells"])
@pytest.mark.parametrize("recovery", ["global", "column", "local"])
def test_the_stall_of_a_design_is_the_model_at_the_buffered_pe_s_own_timing(technology, recovery):
    # razor_design models the stall at the operating point before it retimes the buffered PE
    # (only the clock, the delay scale and per-type delays enter); the result must be the
    # model applied to the buffered PE's own timing, which the design still gives.
    pe = PEConfig(technology=technology)
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=0.615, f_clk_mhz=700.0))
    protection = Protection(protected_mask=0xFFFF0000, recovery=recovery)
    design = razor_design(protection, rows=64, cols=32, dataflow="ws", f_clk_mhz=700.0, pe=pe, timing=timing)
    assert design.buffered and design.pe.hold_buffers
    assert design.timing == retimed(design.pe, timing) != timing
    own = stall_model(
        recovery=recovery,
        rows=64,
        cols=32,
        dataflow="ws",
        pe=design.pe,
        timing=design.timing,
        window_fs=design.window_fs,
        protected_bits=16,
    )
    assert design.stall == own
