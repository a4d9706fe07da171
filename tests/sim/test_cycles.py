"""Closed-form cycle counts, utilisation and the double-buffered stall model."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sim.config import ArrayConfig
from sim.cycles import (
    compute_cycles,
    gemm_report,
    layer_report,
    memory_stall_cycles,
    summarize,
    topology_report,
)
from sim.layers import ConvLayer, GemmLayer, GemmProblem

DATAFLOWS = st.sampled_from(["ws", "os", "is"])


def test_ws_cycles_by_hand():
    # K = 6 on 4 rows -> 2 row folds; N = 5 on 3 columns -> 2 column folds; 4 folds.
    # Per fold: R (weight load) + (R - 1) (input skew) + M (stream) + (C - 1) (drain)
    #         = 4 + 3 + 100 + 2 = 109 cycles; SCALE-Sim reports 4 * 109 - 1.
    problem = GemmProblem(m=100, n=5, k=6)
    assert compute_cycles(problem, ArrayConfig(rows=4, cols=3, dataflow="ws")) == 435


def test_os_cycles_by_hand():
    # M = 10 on 4 rows -> 3 folds; N = 5 on 3 columns -> 2 folds; 6 folds.
    # Per fold: K (stream) + (R - 1) + (C - 1) skew = 7 + 3 + 2 = 12 cycles -> 6 * 12 - 1.
    problem = GemmProblem(m=10, n=5, k=7)
    assert compute_cycles(problem, ArrayConfig(rows=4, cols=3, dataflow="os")) == 71


def test_is_cycles_by_hand():
    # K = 6 on 4 rows -> 2 folds; M = 10 on 3 columns -> 4 folds; 8 folds.
    # Per fold: R + (R - 1) + N + (C - 1) = 4 + 3 + 7 + 2 = 16 cycles -> 8 * 16 - 1.
    problem = GemmProblem(m=10, n=7, k=6)
    assert compute_cycles(problem, ArrayConfig(rows=4, cols=3, dataflow="is")) == 127


def test_depthwise_groups_run_back_to_back():
    # MobileNetV2 features.1.depthwise on 256x256 ws: 32 groups of M = 12544, N = 1, K = 9,
    # one fold each of 2*256 + 256 + 12544 - 2 = 13310 cycles.
    layer = ConvLayer(
        name="dw",
        ifmap_h=112,
        ifmap_w=112,
        filter_h=3,
        filter_w=3,
        channels=32,
        num_filters=32,
        padding=1,
        groups=32,
    )
    report = layer_report(layer, ArrayConfig(rows=256, cols=256))
    assert (report.folds, report.compute_cycles) == (32, 32 * 13310 - 1)
    compat = layer_report(layer, ArrayConfig(rows=256, cols=256), scalesim_compat=True)
    # One filter over all 32 channels: K = 288 -> 2 row folds of 13310 cycles.
    assert (compat.folds, compat.compute_cycles) == (2, 2 * 13310 - 1)


def _cycles(m, n, k, rows, cols, dataflow):
    return compute_cycles(GemmProblem(m=m, n=n, k=k), ArrayConfig(rows=rows, cols=cols, dataflow=dataflow))


_sizes = st.integers(1, 3000)
_arrays = st.integers(1, 300)


@settings(max_examples=200, deadline=None)
@given(m=_sizes, n=_sizes, k=_sizes, grow=st.integers(1, 500), rows=_arrays, cols=_arrays, dataflow=DATAFLOWS)
def test_cycles_never_decrease_when_m_n_or_k_grows(m, n, k, grow, rows, cols, dataflow):
    base = _cycles(m, n, k, rows, cols, dataflow)
    assert _cycles(m + grow, n, k, rows, cols, dataflow) >= base
    assert _cycles(m, n + grow, k, rows, cols, dataflow) >= base
    assert _cycles(m, n, k + grow, rows, cols, dataflow) >= base


@settings(max_examples=200, deadline=None)
@given(m=_sizes, n=_sizes, k=_sizes, rows=_arrays, cols=_arrays, dataflow=DATAFLOWS)
def test_utilisations_are_in_zero_one(m, n, k, rows, cols, dataflow):
    assume(not (rows == cols == 1 and dataflow == "os"))
    report = gemm_report("g", GemmProblem(m=m, n=n, k=k), ArrayConfig(rows=rows, cols=cols, dataflow=dataflow))
    assert 0 < report.overall_utilisation <= 1
    assert 0 < report.mapping_efficiency <= 1
    assert 0 < report.compute_utilisation <= 1


def test_scalesim_count_undercuts_macs_by_one_on_a_1x1_os_array():
    # One PE, outputs stationary: 2 * 3 outputs of K = 5 MACs each, 5 cycles per fold;
    # SCALE-Sim reports the index of the last cycle, 6 * 5 - 1 = 29, below the 30 MACs.
    report = gemm_report("g", GemmProblem(m=2, n=3, k=5), ArrayConfig(rows=1, cols=1, dataflow="os"))
    assert report.compute_cycles == 29
    assert report.overall_utilisation == 30 / 29


def test_mac_count_and_total_cycles():
    config = ArrayConfig(rows=4, cols=3, dataflow="ws", dram_bandwidth_words_per_cycle=2)
    report = gemm_report("g", GemmProblem(m=10, n=3, k=6), config)
    assert report.macs == 180
    assert report.total_cycles == report.compute_cycles + report.stall_cycles


def test_no_stalls_without_a_bandwidth_limit():
    problem = GemmProblem(m=12544, n=32, k=27)
    assert memory_stall_cycles(problem, ArrayConfig(rows=8, cols=8)) == 0


def test_stall_model_by_hand():
    # ws, K = 6 on 4 rows, N = 3 on 3 columns, M = 10: two folds of 2*4 + 3 + 10 - 2 = 19 cycles.
    # Everything fits in the default buffers. fold 0 (4 x 3 PEs) needs its 12 weights first,
    # then streams 4*10 inputs; its partial sums stay in the ofmap buffer. fold 1 (2 x 3 PEs):
    # 6 weights loaded during fold 0, then 2*10 inputs in and the 30 outputs out.
    # Bandwidth 2 words/cycle: first load 6; fold 0 window 40 + 6 = 46 words = 23 cycles, 4
    # more than 19; fold 1 window 20 + 30 = 50 words = 25 cycles, 6 more.
    config = ArrayConfig(rows=4, cols=3, dataflow="ws", dram_bandwidth_words_per_cycle=2)
    assert memory_stall_cycles(GemmProblem(m=10, n=3, k=6), config) == 6 + 4 + 6


@settings(max_examples=100, deadline=None)
@given(
    m=st.integers(1, 500),
    n=st.integers(1, 500),
    k=st.integers(1, 500),
    rows=st.integers(1, 64),
    cols=st.integers(1, 64),
    dataflow=DATAFLOWS,
    bandwidth=st.integers(1, 100),
    factor=st.integers(2, 10),
)
def test_more_bandwidth_never_adds_stalls(m, n, k, rows, cols, dataflow, bandwidth, factor):
    problem = GemmProblem(m=m, n=n, k=k)

    def stalls(words_per_cycle):
        config = ArrayConfig(rows=rows, cols=cols, dataflow=dataflow, dram_bandwidth_words_per_cycle=words_per_cycle)
        return memory_stall_cycles(problem, config)

    assert stalls(bandwidth * factor) <= stalls(bandwidth)


def test_summary_adds_layers_and_converts_to_time():
    config = ArrayConfig(rows=4, cols=4, dataflow="os", f_clk_mhz=500)
    layers = [GemmLayer(name="a", m=8, n=4, k=3), GemmLayer(name="b", m=4, n=4, k=5)]
    reports = topology_report(layers, config)
    # a: 2 folds of 4 + 4 + 3 - 2 = 9 -> 17; b: 1 fold of 4 + 4 + 5 - 2 = 11 -> 10.
    summary = summarize(reports, config)
    assert (summary.layers, summary.compute_cycles, summary.total_cycles) == (2, 27, 27)
    assert summary.macs == 8 * 4 * 3 + 4 * 4 * 5
    assert summary.latency_us == pytest.approx(27 / 500)
    assert summary.mac_cycles == 16 * 27
