"""Array-level energy: closed forms of each component, operand sampling, array-level vs gate-level switching."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import numpy as np
import pytest

from pe_models.energy import Band, PEEnergyModel, net_capacitance_units, net_toggles, pe_area, pe_energy_model
from pe_models.errors import ConfigError
from pe_models.pe import PEConfig
from sim.config import ArrayConfig
from sim.energy import (
    COMPONENTS,
    GatingOptions,
    LayerActivity,
    MemoryEnergy,
    MemoryTraffic,
    batched_activity,
    consecutive_operands,
    layer_energy,
    mean_units_per_mac,
    memory_energy,
    memory_traffic,
    total_energy,
)
from sim.layers import GemmProblem
from sim.memory import layer_memory

PE = PEConfig()
TECH = PE.tech
ZERO = Band.exact(0.0)
NO_TRAFFIC = MemoryTraffic(sram_read_bytes=0, sram_write_bytes=0, dram_read_bytes=0, dram_write_bytes=0)
UNGATED = GatingOptions(clock_gating=False)


def _memory(**changes) -> MemoryEnergy:
    base = MemoryEnergy(ifmap_pj_per_byte=ZERO, filter_pj_per_byte=ZERO, ofmap_pj_per_byte=ZERO, dram_pj_per_byte=ZERO)
    return dataclasses.replace(base, **changes)


def _model(**changes) -> PEEnergyModel:
    base = PEEnergyModel(
        pe=PE,
        node_nm=28.0,
        vdd_nominal_v=0.9,
        unit_capacitance_ff=ZERO,
        stages=MappingProxyType({}),
        flops=64,
        flop_clock_pj=ZERO,
        flop_data_pj=ZERO,
        leakage_uw=ZERO,
        razor_extra_pj=ZERO,
        hold_buffer_pj=ZERO,
        hold_buffers_per_bit=0.0,
        error_network_pj=ZERO,
        area=pe_area(PE, 28.0),
    )
    return dataclasses.replace(base, **changes)


def _activity(**changes) -> LayerActivity:
    base = {"name": "l", "macs": 1000, "cycles": 700, "pes": 16, "units_per_mac": 100.0, "traffic": NO_TRAFFIC}
    base.update(changes)
    return LayerActivity(**base)


def _total(model, activity, vdd, f=700.0, gating=UNGATED, **options) -> Band:
    return layer_energy(activity, model, vdd_v=vdd, f_clk_mhz=f, gating=gating, memory=_memory(), **options).total_pj


def test_dynamic_only_scales_by_the_switching_energy_ratio():
    model = _model(unit_capacitance_ff=Band(1.0, 2.0, 3.0), flop_clock_pj=Band(0.001, 0.002, 0.004))
    activity = _activity()
    nominal = _total(model, activity, 0.9)
    # MACs: 0.5 x 2 fF x 100 units x 0.81 V^2 = 81 fJ per MAC; flops: 16 PEs x 64 x 700 cycles x 2 fJ.
    assert nominal.nominal == pytest.approx(1000 * 0.081 + 16 * 64 * 700 * 0.002)
    for vdd in (0.8, 0.6, 0.5):
        scaled = _total(model, activity, vdd)
        ratio = TECH.dynamic_energy_scale(vdd)
        assert scaled.low == pytest.approx(nominal.low * ratio, rel=1e-12)
        assert scaled.nominal == pytest.approx(nominal.nominal * ratio, rel=1e-12)
        assert scaled.high == pytest.approx(nominal.high * ratio, rel=1e-12)


def test_register_data_energy_is_register_transitions_times_the_flop_data_energy():
    model = _model(flop_data_pj=Band.exact(0.003))
    activity = _activity(register_toggles_per_mac=12.0)
    breakdown = layer_energy(activity, model, vdd_v=0.9, f_clk_mhz=700.0, gating=UNGATED, memory=_memory())
    assert breakdown.register_clock_pj.nominal == pytest.approx(1000 * 12 * 0.003)


def test_leakage_only_scales_by_leakage_power_ratio_times_latency():
    model = _model(leakage_uw=Band(5.0, 10.0, 20.0))
    activity = _activity(cycles=700)
    # 16 PEs x 10 uW x (700 cycles / 700 MHz = 1 us) = 160 pJ.
    assert _total(model, activity, 0.9).nominal == pytest.approx(160.0)
    assert _total(model, activity, 0.9, f=350.0).nominal == pytest.approx(320.0)
    for vdd in (0.7, 0.5):
        assert _total(model, activity, vdd).nominal == pytest.approx(160.0 * TECH.leakage_power_scale(vdd))
    gated = _activity(cycles=700, mapped_pe_fraction=0.25)
    power_gated = GatingOptions(power_gating=True)
    assert _total(model, gated, 0.9, gating=power_gated).nominal == pytest.approx(40.0)
    assert _total(model, gated, 0.9).nominal == pytest.approx(160.0)


def test_leakage_at_85_degc_is_the_ngspice_ratio_of_the_card():
    """Two inverters of the PTM 32 nm HP card leak 14.84 nA at 27 degC and 43.95 nA at 85 degC (ngspice)."""
    model = _model(leakage_uw=Band.exact(10.0))
    hot = _total(model, _activity(), 0.9, gating=GatingOptions(clock_gating=False, temperature_c=85.0))
    assert hot.nominal == pytest.approx(160.0 * 43.94739 / 14.84002, rel=1e-5)


def test_no_protected_bits_no_detection_overhead():
    model = _model(razor_extra_pj=Band.exact(0.003), hold_buffer_pj=Band.exact(0.001), hold_buffers_per_bit=4.0)
    breakdown = layer_energy(_activity(protected_bits=0), model, vdd_v=0.9, f_clk_mhz=700.0, gating=UNGATED)
    assert breakdown.razor_overhead_pj == ZERO
    protected = layer_energy(_activity(protected_bits=8), model, vdd_v=0.9, f_clk_mhz=700.0, gating=UNGATED)
    # 8 bits x 16 PEs x 700 cycles x (3 fJ + 4 x 1 fJ)
    assert protected.razor_overhead_pj.nominal == pytest.approx(8 * 16 * 700 * 0.007)


def test_no_errors_no_correction_energy():
    model = _model(unit_capacitance_ff=Band.exact(2.0), flop_clock_pj=Band.exact(0.002))
    assert layer_energy(_activity(), model, vdd_v=0.9, f_clk_mhz=700.0, gating=UNGATED).correction_pj == ZERO
    recovering = _activity(cycles=710, correction_cycles=10, detections=5)
    breakdown = layer_energy(recovering, model, vdd_v=0.9, f_clk_mhz=700.0, gating=UNGATED, memory=_memory())
    # 10 cycles of every flop (16 x 64 x 2 fJ) plus 5 replayed MACs of 81 fJ.
    assert breakdown.correction_pj.nominal == pytest.approx(10 * 16 * 64 * 0.002 + 5 * 0.081)
    assert breakdown.register_clock_pj.nominal == pytest.approx(700 * 16 * 64 * 0.002)


def test_clock_gating_clocks_the_used_rectangle_of_each_fold_and_the_weights_only_while_loading():
    """ws on 4 x 4 PEs, M = 10, N = 3, K = 6: two row folds (rows 4 and 2 used), 3 columns used,
    each fold 2*4 + 4 + 10 - 2 = 20 cycles. Used PE-folds 4*3 + 2*3 = 18: their 56 non-weight
    flops clocked 20 cycles, their 8 weight flops 4 load cycles."""
    array = ArrayConfig(rows=4, cols=4)
    activity = batched_activity("l", GemmProblem(m=10, n=3, k=6), array, units_per_mac=0.0)
    assert (activity.busy_cycles, activity.cycles) == (40, 40)
    model = _model(flop_clock_pj=Band.exact(1.0))
    gated = layer_energy(activity, model, vdd_v=0.9, f_clk_mhz=700.0, memory=_memory())
    assert gated.register_clock_pj.nominal == pytest.approx(18 * 20 * 56 + 18 * 4 * 8)
    ungated = layer_energy(activity, model, vdd_v=0.9, f_clk_mhz=700.0, memory=_memory(), gating=UNGATED)
    assert ungated.register_clock_pj.nominal == pytest.approx(16 * 40 * 64)


def test_memory_stalls_are_clock_gated():
    stalled = _activity(cycles=900, busy_cycles=700, active_pe_cycles=16 * 700, stationary_pe_cycles=16 * 700)
    model = _model(flop_clock_pj=Band.exact(1.0))
    gated = layer_energy(stalled, model, vdd_v=0.9, f_clk_mhz=700.0, memory=_memory())
    assert gated.register_clock_pj.nominal == pytest.approx(16 * 700 * 64)
    ungated = layer_energy(stalled, model, vdd_v=0.9, f_clk_mhz=700.0, memory=_memory(), gating=UNGATED)
    assert ungated.register_clock_pj.nominal == pytest.approx(16 * 900 * 64)


def test_power_gating_without_clock_gating_is_refused():
    with pytest.raises(
        ConfigError,
        match=r"^power_gating: a power-gated PE is also clock-gated; allowed: power gating with clock gating, "
        r"or neither$",
    ):
        GatingOptions(clock_gating=False, power_gating=True)


def test_a_batch_shares_the_weight_fold_so_per_image_weight_traffic_falls_with_it():
    """ws, one fold (K = 4, N = 4 on 4 x 4 PEs): the 16 weights are read from DRAM once per batch;
    the ifmap (M K = 40 words per image) and outputs (M N = 40) once per image. Cycles per batch:
    2*4 + 4 + 10 b - 2."""
    array = ArrayConfig(rows=4, cols=4, ifmap_sram_kib=8, filter_sram_kib=8, ofmap_sram_kib=8)
    problem = GemmProblem(m=10, n=4, k=4)
    memory = _memory(dram_pj_per_byte=Band.exact(1.0))
    model = _model()
    for batch in (1, 2, 5):
        activity = batched_activity("l", problem, array, units_per_mac=0.0, batch=batch)
        breakdown = layer_energy(activity, model, vdd_v=0.9, f_clk_mhz=700.0, memory=memory)
        assert breakdown.batch == batch
        assert breakdown.cycles == 10 + 10 * batch
        assert breakdown.macs == 10 * 4 * 4
        assert breakdown.dram_pj.nominal == pytest.approx(40 + 40 + 16 / batch)


def test_batch_zero_is_refused():
    with pytest.raises(ConfigError, match=r"^batch: expected an integer >= 1, got 0$"):
        batched_activity("l", GemmProblem(m=1, n=1, k=1), ArrayConfig(rows=2, cols=2), units_per_mac=0.0, batch=0)


def test_sram_energy_per_buffer_is_its_bytes_times_the_cacti_energy_of_its_capacity():
    """CACTI rows (32 nm, 64-byte accesses): 64 KiB read 33.0938 pJ, write 53.5409 pJ per access."""
    from pe_models.memory_energy import sram_pj_per_byte

    read, mean, write = sram_pj_per_byte(64)
    assert (read, write) == (pytest.approx(33.0938 / 64), pytest.approx(53.5409 / 64))
    assert mean == pytest.approx((33.0938 + 53.5409) / 128)
    low, _, high = sram_pj_per_byte(128)
    between = sram_pj_per_byte(90.5)
    assert read < between[0] < low and write < between[2] < high


def test_unknown_dram_type_and_memory_vdd_outside_the_technology_are_refused():
    array = ArrayConfig(rows=4, cols=4)
    with pytest.raises(ConfigError, match=r"^dram: unknown DRAM type 'gddr5'; allowed: lpddr4, ddr3, hbm2$"):
        memory_energy(array, dram="gddr5")
    with pytest.raises(ConfigError, match=r"^memory_vdd_v: .*$"):
        memory_energy(array, memory_vdd_v=2.0, tech=TECH)


def test_dram_energy_per_bit_of_each_type_is_the_cited_figure():
    array = ArrayConfig(rows=4, cols=4)
    for kind, pj_per_bit in (("lpddr4", 8.0), ("ddr3", 70.0), ("hbm2", 3.9)):
        assert memory_energy(array, dram=kind).dram_pj_per_byte.nominal == pytest.approx(8 * pj_per_bit)


def test_breakdown_sums_to_total_and_layers_sum_to_inference():
    model = _model(
        unit_capacitance_ff=Band(1.0, 2.0, 3.0),
        flop_clock_pj=Band(0.001, 0.002, 0.003),
        leakage_uw=Band(1.0, 2.0, 3.0),
    )
    memory = _memory(ifmap_pj_per_byte=Band(1.0, 2.0, 3.0), dram_pj_per_byte=Band(100.0, 200.0, 300.0))
    traffic = MemoryTraffic(sram_read_bytes=10, sram_write_bytes=5, dram_read_bytes=3, dram_write_bytes=1)
    layers = [
        layer_energy(_activity(name=f"l{i}", traffic=traffic), model, vdd_v=0.6, f_clk_mhz=700.0, memory=memory)
        for i in range(3)
    ]
    for corner in ("low", "nominal", "high"):
        assert layers[0].total_pj.corner(corner) == pytest.approx(
            sum(band.corner(corner) for band in layers[0].components().values())
        )
    assert layers[0].sram_pj.nominal == pytest.approx(15 * 2.0)
    assert layers[0].dram_pj.nominal == pytest.approx(4 * 200.0)
    assert layers[0].core_pj.nominal == pytest.approx(layers[0].total_pj.nominal - 30.0 - 800.0)
    inference = total_energy(layers)
    assert inference.total_pj.nominal == pytest.approx(3 * layers[0].total_pj.nominal)
    assert inference.cycles == 3 * 700
    assert inference.latency_us == pytest.approx(3 * 700 / 700.0)
    assert tuple(inference.components()) == COMPONENTS


def test_memory_traffic_is_sim_memory_words_times_word_bytes():
    problem = GemmProblem(m=300, n=70, k=90)
    array = ArrayConfig(rows=32, cols=32, word_bytes=2)
    traffic = memory_traffic(problem, array)
    report = layer_memory(problem, array)
    assert traffic.dram_read_bytes == 2 * (report.ifmap_dram_reads + report.filter_dram_reads + report.ofmap_dram_reads)
    assert traffic.dram_write_bytes == 2 * report.ofmap_dram_writes
    assert traffic.sram_read_bytes == 2 * (report.ifmap_sram_reads + report.filter_sram_reads + report.ofmap_sram_reads)


def test_bad_activity_names_the_field():
    with pytest.raises(ConfigError, match=r"^LayerActivity\.cycles: expected a non-negative integer, got -1$"):
        _activity(cycles=-1)
    with pytest.raises(ConfigError, match=r"^LayerActivity\.correction_cycles: 9 exceeds the layer's 5 cycles$"):
        _activity(cycles=5, correction_cycles=9)


def _all_pairs(a: np.ndarray, w: np.ndarray, dataflow: str, rows: int) -> list[tuple[int, ...]]:
    """Every (previous, current) MAC of every PE, by explicit loops over the GEMM."""
    m_size, k_size = a.shape
    n_size = w.shape[1]

    def psum(m: int, k: int, n: int) -> int:
        start = 0 if dataflow == "os" else (k // rows) * rows
        return int(sum(int(a[m, j]) * int(w[j, n]) for j in range(start, k)))

    pairs = []
    for m in range(m_size):
        for k in range(k_size):
            for n in range(n_size):
                prev = {"ws": (m - 1, k, n), "os": (m, k - 1, n), "is": (m, k, n - 1)}[dataflow]
                if min(prev) < 0:
                    continue
                pm, pk, pn = prev
                pairs.append(
                    (int(a[pm, pk]), int(w[pk, pn]), psum(pm, pk, pn), int(a[m, k]), int(w[k, n]), psum(m, k, n))
                )
    return pairs


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_sampled_consecutive_operands_are_real_consecutive_macs(dataflow):
    rng = np.random.default_rng(1)
    a = rng.integers(-128, 128, (5, 6)).astype(np.int8)
    w = rng.integers(-128, 128, (6, 4)).astype(np.int8)
    array = ArrayConfig(rows=4, cols=4, dataflow=dataflow)
    old, new = consecutive_operands(a, w, array, samples=300, seed=2)
    expected = set(_all_pairs(a, w, dataflow, rows=4))
    got = set(zip(old["a"], old["b"], old["c"], new["a"], new["b"], new["c"], strict=True))
    got = {tuple(int(x) for x in item) for item in got}
    assert got <= expected
    assert len(got) > len(expected) // 2


@pytest.mark.parametrize("dataflow", ["ws", "is"])
def test_a_fold_far_deeper_than_k_reads_only_k_values(dataflow):
    rng = np.random.default_rng(3)
    a = rng.integers(-128, 128, (5, 6)).astype(np.int8)
    w = rng.integers(-128, 128, (6, 4)).astype(np.int8)
    array = ArrayConfig(rows=10**12, cols=4, dataflow=dataflow)
    old, new = consecutive_operands(a, w, array, samples=300, seed=2)
    expected = set(_all_pairs(a, w, dataflow, rows=6))
    got = {tuple(int(x) for x in item) for item in zip(*old.values(), *new.values(), strict=True)}
    assert got <= expected


@pytest.mark.slow
def test_array_level_switching_matches_gate_level_counts():
    """Toggle counting, array level against gate level, in the same capacitance units (the
    logical-effort units of ``net_capacitance_units`` without a library)."""
    pe = PEConfig()
    model = pe_energy_model(pe, core_source="constants")
    rng = np.random.default_rng(4)
    zeros = rng.random((40, 16)) < 0.5
    a = np.where(zeros, 0, np.clip(np.abs(rng.normal(0, 40, (40, 16))), 0, 127)).astype(np.int8)
    w = np.clip(rng.normal(0, 25, (16, 6)), -128, 127).astype(np.int8)
    array = ArrayConfig(rows=16, cols=8, dataflow="ws")
    pairs = np.array(_all_pairs(a, w, "ws", rows=16), dtype=np.int64)
    old = {"a": pairs[:, 0], "b": pairs[:, 1], "c": pairs[:, 2]}
    new = {"a": pairs[:, 3], "b": pairs[:, 4], "c": pairs[:, 5]}
    delays = {kind: round(ps * 1000) for kind, ps in pe.library.delays_ps.items()}
    gate_units = 0.0
    for name, netlist in pe.stages.items():
        if name == "multiplier":
            buses_old, buses_new = {"a": old["a"], "b": old["b"]}, {"a": new["a"], "b": new["b"]}
        else:
            buses_old = {"product": old["a"] * old["b"], "c": old["c"]}
            buses_new = {"product": new["a"] * new["b"], "c": new["c"]}
        toggles = net_toggles(netlist, buses_old, buses_new, delays_fs=delays)
        gate_units += float((toggles * net_capacitance_units(netlist)).sum(axis=1).mean())
    array_units = mean_units_per_mac(model, a, w, array, samples=20000, seed=5)
    print(f"switched capacitance per MAC: array level {array_units:.1f}, gate level {gate_units:.1f}")
    assert array_units == pytest.approx(gate_units, rel=0.15)


def test_outcome_energy_uses_the_operands_the_network_simulation_drew():
    from pe_models.integers import exact_gemm
    from pe_models.pe import OperatingPoint, stage_timing
    from sim.energy import outcome_energy
    from sim.layers import ConvLayer
    from sim.network import layer_operands, simulate_layers

    array = ArrayConfig(rows=8, cols=8)
    timing = stage_timing(PE, operating_point=OperatingPoint(vdd_v=0.9, f_clk_mhz=700.0))
    conv = ConvLayer(
        name="conv", ifmap_h=6, ifmap_w=5, filter_h=3, filter_w=3, channels=2, num_filters=4, stride=1, padding=1
    )
    outcome = simulate_layers([(2, conv)], array=array, pe=PE, timing=timing, seed=7).layers[0]
    activations, weights = layer_operands(
        conv, np.random.SeedSequence(np.random.SeedSequence(7).entropy, spawn_key=(0, 2))
    )
    exact = exact_gemm(activations, weights, 32).astype(np.float64)
    assert float(np.sum(exact**2)) == outcome.exact_sq
    from_outcome = outcome_energy(outcome, array=array, pe=PE, vdd_v=0.9, seed=7)
    supplied = outcome_energy(outcome, array=array, pe=PE, vdd_v=0.9, seed=7, operands=(activations[0], weights[0]))
    assert from_outcome.total_pj == supplied.total_pj
    assert from_outcome.cycles == outcome.cycles + 1


def test_no_protected_bits_need_no_hold_buffers():
    from sim.energy import design_hold_buffers

    assert design_hold_buffers(PE, 700.0, 0) == 0.0


def test_hold_buffers_follow_the_largest_window_of_the_protected_bits():
    """Compound ripple-carry adder at 700 MHz (T_clk - t_setup = 1403.57 ps), every bit's shortest
    path one XOR3 (30 ps), hold 10 ps, BUF 14 ps. Bit 0 alone (longest path 30 ps) takes
    floor(1373.57 / 14) = 98 buffers (window 30 + 1372 - 10 = 1392 ps); bit 31 (650 ps) 53
    (window 762 ps); together the window is bit 31's and both bits get 53."""
    from sim.energy import design_hold_buffers

    pe = PEConfig(technology="ptm-32nm-hp")  # the reasoned delays summed above
    assert design_hold_buffers(pe, 700.0, 1) == 98.0
    assert design_hold_buffers(pe, 700.0, 1 << 31) == 53.0
    assert design_hold_buffers(pe, 700.0, 1 | 1 << 31) == 53.0


def test_layer_activity_counts_a_convolution_input_as_feature_map_words_like_the_memory_report():
    """A 3x3 convolution reads each input pixel once from DRAM when the buffers hold it (im2col would read it 9x)."""
    from sim.cycles import layer_report
    from sim.energy import activity_from_report
    from sim.layers import ConvLayer

    layer = ConvLayer(
        name="conv", ifmap_h=10, ifmap_w=10, filter_h=3, filter_w=3, channels=4, num_filters=8, stride=1, padding=1
    )
    array = ArrayConfig(rows=8, cols=8, dataflow="ws", dram_bandwidth_words_per_cycle=4)
    report = layer_report(layer, array)
    activity = activity_from_report(report, layer.gemm(), array, units_per_mac=1.0)
    assert activity.traffic.by_operand["ifmap_dram_reads"] == report.memory.ifmap_dram_reads == 10 * 10 * 4
