"""The SRAM/DRAM memory model: traffic by hand, reuse vs buffer size, stalls, roofline, DES."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pe_models.errors import ConfigError
from sim.config import ArrayConfig
from sim.cycles import compute_cycles, layer_report
from sim.engine import run_schedule
from sim.layers import ConvLayer, GemmLayer, GemmProblem
from sim.mapping import map_gemm
from sim.memory import BufferWords, buffer_words, ifmap_words, iter_fold_traffic, layer_memory
from workloads.topologies import load_topology

DATAFLOWS = st.sampled_from(["ws", "os", "is"])
HUGE = BufferWords(ifmap=10**9, filter=10**9, ofmap=10**9)


def _dram(report):
    return (report.ifmap_dram_reads, report.filter_dram_reads, report.ofmap_dram_reads, report.ofmap_dram_writes)


# ws, K = 8 on 2 rows (4 row folds), N = 4 on 2 columns (2 column folds), M = T = 5.
WS_PROBLEM = GemmProblem(m=5, n=4, k=8)
WS_ARRAY = ArrayConfig(rows=2, cols=2, dataflow="ws")


@pytest.mark.parametrize(
    ("ifmap_words", "expected_ifmap_reads"),
    [
        # The ifmap (K x M = 40 words) is read in 4 tiles of 2 x 5 = 10, once per column fold.
        (40, 40),  # it all fits: read once
        (39, 70),  # pin floor((39 - 2*10) / 10) = 1 tile; column fold 1 reads the other 3 again
        (35, 70),  # still one pinned tile
        (29, 80),  # (29 - 20) // 10 = 0 pinned: every tile read twice
        (1, 80),
    ],
)
def test_cyclic_ifmap_reuse_by_hand(ifmap_words, expected_ifmap_reads):
    buffers = BufferWords(ifmap=ifmap_words, filter=1, ofmap=20)
    report = layer_memory(WS_PROBLEM, WS_ARRAY, buffers=buffers)
    assert report.ifmap_dram_reads == expected_ifmap_reads
    assert report.filter_dram_reads == 8 * 4  # every weight tile is used by one fold only
    assert report.ofmap_dram_writes == 5 * 4  # outputs fit: written once
    assert report.ofmap_dram_reads == 0


def test_partial_sums_spill_when_the_ofmap_buffer_is_too_small():
    # Output tile of a column fold: 2 x 5 = 10 partial sums over 4 row folds. With 19 words
    # (less than the 20 of the whole output, and a tile above half of it) every one of the
    # 8 folds writes its 10 partial sums and the 6 folds after a first row fold read them back.
    held = layer_memory(WS_PROBLEM, WS_ARRAY, buffers=BufferWords(ifmap=40, filter=1, ofmap=20))
    spilled = layer_memory(WS_PROBLEM, WS_ARRAY, buffers=BufferWords(ifmap=40, filter=1, ofmap=19))
    assert (held.ofmap_dram_writes, held.ofmap_dram_reads) == (20, 0)
    assert (spilled.ofmap_dram_writes, spilled.ofmap_dram_reads) == (80, 60)
    # SRAM: the array writes 4 x 20 partial sums and reads 3 x 20 back to add onto.
    assert (held.ofmap_sram_writes, held.ofmap_sram_reads) == (80, 60 + 20)
    assert (spilled.ofmap_sram_writes, spilled.ofmap_sram_reads) == (80 + 60, 60 + 80)
    # The array's operand reads do not depend on the buffers.
    assert (held.ifmap_sram_reads, held.filter_sram_reads) == (2 * 40, 32)
    assert (spilled.ifmap_sram_reads, spilled.filter_sram_reads) == (2 * 40, 32)


def test_os_filter_tile_is_held_across_its_row_folds():
    # os: M = 6 on 2 rows (3 row folds), N = 2 on 2 columns, K = T = 4. The filter tile
    # K x N = 8 words serves the 3 row folds of its column.
    problem = GemmProblem(m=6, n=2, k=4)
    array = ArrayConfig(rows=2, cols=2, dataflow="os")
    assert layer_memory(problem, array, buffers=BufferWords(ifmap=1, filter=8, ofmap=1)).filter_dram_reads == 8
    assert layer_memory(problem, array, buffers=BufferWords(ifmap=1, filter=7, ofmap=1)).filter_dram_reads == 24
    assert layer_memory(problem, array, buffers=HUGE).ofmap_dram_writes == 12


def test_stalls_by_hand():
    # WS_PROBLEM, everything but the filters fits; 8 folds of 2*2 + 2 + 5 - 2 = 9 cycles; B = 1.
    # Each fold needs its 2 x 2 weights before it starts; column fold 0 streams 10 inputs per
    # fold, column fold 1 none (reused); the 10 outputs of a column stream out during its
    # last row fold. Window of fold i = streamed words of i + weights of i + 1:
    # first load 4; folds 0-2: 10 + 4 - 9 = 5 each; fold 3: 10 + 10 + 4 - 9 = 15;
    # folds 4-6: 4 < 9; fold 7: 10 - 9 = 1.
    config = ArrayConfig(rows=2, cols=2, dataflow="ws", dram_bandwidth_words_per_cycle=1)
    report = layer_memory(WS_PROBLEM, config, buffers=BufferWords(ifmap=40, filter=1, ofmap=20))
    assert (report.first_load_cycles, report.stall_cycles, report.last_drain_cycles) == (4, 4 + 15 + 15 + 1, 0)
    assert report.busy_cycles == 8 * 9
    assert report.peak_dram_bw_words_per_cycle == pytest.approx(24 / 9)
    assert report.avg_dram_bw_words_per_cycle == pytest.approx((40 + 32 + 20) / 72)


OS_PROBLEM = GemmProblem(m=4, n=2, k=6)  # os on 2 x 2: 2 folds of 2 + 2 + 6 - 2 = 8 cycles


def test_roofline_equality_when_bandwidth_bound():
    # Both operands stream: fold 0 moves 2*6 inputs + 2*6 weights = 24 words, fold 1 its 12
    # inputs plus the 4 outputs fold 0 finished; the last 4 outputs leave after fold 1.
    # B = 1: every window exceeds the 8 compute cycles, so the layer takes exactly its DRAM
    # time, 24 + 16 + 4 = 44 cycles: the roofline, with equality.
    config = ArrayConfig(rows=2, cols=2, dataflow="os", dram_bandwidth_words_per_cycle=1)
    report = layer_report(GemmLayer(name="g", m=4, n=2, k=6), config)
    assert report.memory.dram_words == 44
    assert report.total_cycles + 1 == 44


def test_roofline_equality_when_compute_bound():
    # B = 8: the windows (24 and 16 words: 3 and 2 cycles) hide behind the 8 compute
    # cycles; only the last 4 outputs (1 cycle) are exposed.
    config = ArrayConfig(rows=2, cols=2, dataflow="os", dram_bandwidth_words_per_cycle=8)
    report = layer_report(GemmLayer(name="g", m=4, n=2, k=6), config)
    assert report.total_cycles + 1 == 2 * 8 + 1


def test_convolution_reads_each_ifmap_pixel_once_when_it_fits():
    # 3x3 filters over 8x8x2, 4 filters: M = 36, K = 18, N = 4; im2col has 648 words but the
    # feature map only 128. Compulsory traffic: 128 + 72 weights + 144 outputs.
    layer = ConvLayer(name="c", ifmap_h=8, ifmap_w=8, filter_h=3, filter_w=3, channels=2, num_filters=4)
    assert ifmap_words(layer) == 128
    for dataflow in ("ws", "os", "is"):
        memory = layer_report(layer, ArrayConfig(rows=4, cols=4, dataflow=dataflow)).memory
        assert _dram(memory) == (128, 72, 0, 144)
        assert memory.compulsory_dram_words == 344


def test_ifmap_words_of_strided_and_grouped_layers():
    strided = ConvLayer(name="s", ifmap_h=8, ifmap_w=8, filter_h=1, filter_w=1, channels=3, num_filters=4, stride=2)
    assert ifmap_words(strided) == 16 * 3  # the 1x1 stride-2 filter touches a quarter of the pixels
    depthwise = ConvLayer(
        name="d", ifmap_h=6, ifmap_w=6, filter_h=3, filter_w=3, channels=4, num_filters=4, padding=1, groups=4
    )
    assert ifmap_words(depthwise) == 36  # one channel per group
    assert ifmap_words(depthwise, scalesim_compat=True) == 36 * 4
    assert ifmap_words(GemmLayer(name="g", m=3, n=4, k=5)) == 15


def test_bad_ifmap_words_and_buffers_are_rejected():
    with pytest.raises(ConfigError, match=r"^ifmap_words: expected an integer in 1\.\.M K = 15, got 16$"):
        layer_memory(GemmProblem(m=3, n=4, k=5), ArrayConfig(rows=2, cols=2), ifmap_words=16)
    with pytest.raises(ConfigError, match=r"^BufferWords\.ofmap: expected a positive integer number of words, got 0$"):
        BufferWords(ifmap=1, filter=1, ofmap=0)


def test_buffer_words_from_kib_and_word_size():
    config = ArrayConfig(rows=2, cols=2, ifmap_sram_kib=64, filter_sram_kib=3, ofmap_sram_kib=1, word_bytes=2)
    assert buffer_words(config) == BufferWords(ifmap=32768, filter=1536, ofmap=512)


@st.composite
def _cases(draw):
    problem = GemmProblem(
        m=draw(st.integers(1, 30)),
        n=draw(st.integers(1, 30)),
        k=draw(st.integers(1, 30)),
        groups=draw(st.integers(1, 3)),
    )
    distinct = draw(st.integers(1, problem.m * problem.k))
    config = ArrayConfig(
        rows=draw(st.integers(1, 7)),
        cols=draw(st.integers(1, 7)),
        dataflow=draw(DATAFLOWS),
        dram_bandwidth_words_per_cycle=draw(st.one_of(st.none(), st.sampled_from([0.25, 1, 2.5, 7, 64]))),
    )
    sizes = st.integers(1, 1200)
    buffers = BufferWords(ifmap=draw(sizes), filter=draw(sizes), ofmap=draw(sizes))
    return problem, distinct, config, buffers


@settings(max_examples=150, deadline=None)
@given(case=_cases())
def test_discrete_event_run_equals_the_closed_form(case):
    problem, distinct, config, buffers = case
    closed = layer_memory(problem, config, buffers=buffers, ifmap_words=distinct)
    schedule = run_schedule(map_gemm(problem, config), config, buffers=buffers, ifmap_words=distinct)
    assert schedule.memory_stall_cycles == closed.stall_cycles
    assert schedule.cycles == compute_cycles(problem, config) + closed.stall_cycles


@settings(max_examples=150, deadline=None)
@given(case=_cases())
def test_closed_form_equals_a_fold_by_fold_walk(case):
    problem, distinct, config, buffers = case
    closed = layer_memory(problem, config, buffers=buffers, ifmap_words=distinct)
    folds = list(iter_fold_traffic(map_gemm(problem, config), buffers, ifmap_words=distinct))
    assert closed.ifmap_dram_reads == round(sum(fold.ifmap_dram_reads for fold in folds))
    assert closed.filter_dram_reads == sum(fold.filter_dram_reads for fold in folds)
    assert closed.ofmap_dram_writes == sum(fold.ofmap_dram_writes for fold in folds)
    assert closed.ofmap_dram_reads == sum(fold.ofmap_dram_reads for fold in folds)
    bandwidth = config.dram_bandwidth_words_per_cycle
    if bandwidth is None:
        assert closed.stall_cycles == 0
        return
    b = Fraction(bandwidth)
    c = closed.busy_cycles // len(folds)
    # Window of fold i: outputs fold i - 1 finished, streamed words of i, stationary tile of i + 1.
    after = [0] + [fold.after for fold in folds]
    before = [fold.before for fold in folds[1:]] + [0]
    stall = math.ceil(folds[0].before / b) + math.ceil(folds[-1].after / b)
    for behind, fold, ahead in zip(after, folds, before, strict=False):
        stall += max(0, math.ceil((behind + fold.during + ahead) / b) - c)
    assert closed.stall_cycles == stall
    assert all(fold.before + fold.during + fold.after == fold.dram_reads + fold.ofmap_dram_writes for fold in folds)


@settings(max_examples=150, deadline=None)
@given(case=_cases())
def test_dram_traffic_is_compulsory_when_everything_fits(case):
    problem, distinct, config, _ = case
    memory = layer_memory(problem, config, buffers=HUGE, ifmap_words=distinct)
    g = problem.groups
    assert _dram(memory) == (g * distinct, g * problem.k * problem.n, 0, g * problem.m * problem.n)
    assert memory.dram_words == memory.compulsory_dram_words


@settings(max_examples=200, deadline=None)
@given(case=_cases(), shrink=st.tuples(st.integers(1, 8), st.integers(1, 8), st.integers(1, 8)))
def test_dram_traffic_never_decreases_when_a_buffer_shrinks(case, shrink):
    problem, distinct, config, buffers = case
    smaller = BufferWords(
        ifmap=max(1, buffers.ifmap // shrink[0]),
        filter=max(1, buffers.filter // shrink[1]),
        ofmap=max(1, buffers.ofmap // shrink[2]),
    )
    large = layer_memory(problem, config, buffers=buffers, ifmap_words=distinct)
    small = layer_memory(problem, config, buffers=smaller, ifmap_words=distinct)
    assert all(s >= b for s, b in zip(_dram(small), _dram(large), strict=True))
    assert small.stall_cycles >= large.stall_cycles


@settings(max_examples=150, deadline=None)
@given(case=_cases())
@example(
    case=(
        GemmProblem(m=16, n=3, k=4, groups=3),
        3,
        ArrayConfig(rows=4, cols=2, dataflow="os", dram_bandwidth_words_per_cycle=0.25),
        BufferWords(ifmap=48, filter=1, ofmap=1),
    )
)
def test_roofline_bound_and_array_side_counts(case):
    problem, distinct, config, buffers = case
    report = layer_memory(problem, config, buffers=buffers, ifmap_words=distinct)
    busy = compute_cycles(problem, config) + 1
    total = busy + report.stall_cycles
    bandwidth = config.dram_bandwidth_words_per_cycle
    mapping = map_gemm(problem, config)
    if bandwidth is None:
        assert report.stall_cycles == 0
    else:
        # Exact words (a tile's share of the distinct ifmap words is a rational number; the
        # report rounds the layer's ifmap total to an integer)
        folds = iter_fold_traffic(mapping, buffers, ifmap_words=distinct)
        words = sum(fold.dram_reads + fold.ofmap_dram_writes for fold in folds)
        assert abs(words - report.dram_words) <= Fraction(1, 2)
        assert total >= max(busy, math.ceil(words / Fraction(bandwidth)))
    g, m, n, k = problem.groups, problem.m, problem.n, problem.k
    # What the array reads and writes, counted without the fold walk: the streamed operand
    # once per fold of the other spatial dimension, the stationary one once.
    expected = {
        "ws": (mapping.col_folds * m * k, k * n, mapping.row_folds * m * n),
        "os": (mapping.col_folds * m * k, mapping.row_folds * k * n, m * n),
        "is": (m * k, mapping.col_folds * k * n, mapping.row_folds * m * n),
    }[config.dataflow]
    assert (report.ifmap_sram_reads, report.filter_sram_reads, report.ofmap_sram_writes - report.ofmap_dram_reads) == (
        tuple(g * value for value in expected)
    )


MOBILENET = Path(__file__).resolve().parents[1] / "data" / "scalesim" / "topologies" / "mobilenet.csv"


@pytest.mark.parametrize(
    "dataflow", ["ws", pytest.param("os", marks=pytest.mark.slow), pytest.param("is", marks=pytest.mark.slow)]
)
def test_discrete_event_run_equals_the_closed_form_on_scalesim_mobilenet(dataflow):
    # Every layer of SCALE-Sim's MobileNet on 32x32 with 64 KiB buffers and 10 words/cycle:
    # thousands of folds, feature-map ifmap counts, spills and pinned tiles.
    topology = load_topology(MOBILENET, scalesim_compat=True)
    config = ArrayConfig(
        rows=32,
        cols=32,
        dataflow=dataflow,
        dram_bandwidth_words_per_cycle=10,
        ifmap_sram_kib=64,
        filter_sram_kib=64,
        ofmap_sram_kib=64,
    )
    for layer in topology.layers:
        report = layer_report(layer, config, scalesim_compat=True)
        mapping = map_gemm(layer.gemm(scalesim_compat=True), config)
        schedule = run_schedule(mapping, config, ifmap_words=ifmap_words(layer, scalesim_compat=True))
        assert (schedule.memory_stall_cycles, schedule.cycles) == (report.stall_cycles, report.total_cycles), layer.name
