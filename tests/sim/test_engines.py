"""The array engines: one contract, run over both grid engines, and their bit-exact agreement.

``EngineContract`` holds the behaviour every engine must show; ``TestFastEngine`` and
``TestDetailedEngine`` inherit it (PyMTL3 style). Expected values come from independent
sources: the exact integer GEMM (``np.matmul`` on int64, wrapped), the closed-form cycle
counts of :mod:`sim.cycles`, the SCALE-Sim v2 reference results, the chain level's own
vectorised evaluation (:func:`pe_models.chain.evaluate_chain`) chained by hand in the
order the documentation gives, a direct convolution written with loops, and the other
engine.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pe_models.chain import evaluate_chain
from pe_models.errors import ConfigError
from pe_models.pe import OperatingPoint, PEConfig, stage_timing
from pe_models.variation import ProcessVariation
from sim.config import ArrayConfig
from sim.cycles import compute_cycles, memory_stall_cycles
from sim.engine import run_schedule, simulate_conv, simulate_gemm, simulate_grouped_gemm
from sim.layers import ConvLayer, GemmProblem, gemm_output_to_ofmap
from sim.mapping import map_gemm
from sim.protection import Protection
from workloads.topologies import load_topology

TECHNOLOGY = "generic-28nm"
"""The operating points of these tests (0.45-0.55 V at 700 MHz) are chosen for its delays."""
PE = PEConfig(technology=TECHNOLOGY)
NOMINAL = stage_timing(PE, operating_point=OperatingPoint(vdd_v=0.9, f_clk_mhz=700.0))
LOW = stage_timing(PE, operating_point=OperatingPoint(vdd_v=0.5, f_clk_mhz=700.0))
RAZOR = stage_timing(PE, operating_point=OperatingPoint(vdd_v=0.75, f_clk_mhz=700.0))
"""Delay scale 1.26: the protected bits, behind the hold buffers of the largest feasible window (742 ps),
latch late and settle before the shadow latch closes (tests/sim/test_razor_recovery.py checks the bound)."""
DATAFLOWS = ("ws", "os", "is")
ODD_SHAPES = [
    pytest.param(3, 5, 7, 6, 11, id="3x5-K11-partial-folds"),
    pytest.param(3, 5, 1, 4, 7, id="3x5-M1"),
    pytest.param(3, 5, 6, 1, 8, id="3x5-N1"),
    pytest.param(4, 2, 5, 3, 4, id="4x2-K-equals-rows"),
    pytest.param(1, 1, 2, 3, 2, id="1x1"),
]


def _signed_operands(seed: int, m: int, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    return (rng.integers(-128, 128, (m, k)).astype(np.int8), rng.integers(-128, 128, (k, n)).astype(np.int8))


def _wrapped_matmul(a: np.ndarray, b: np.ndarray, width: int = 32) -> np.ndarray:
    product = np.matmul(a.astype(np.int64), b.astype(np.int64))
    half = 1 << (width - 1)
    return ((product + half) & ((1 << width) - 1)) - half


def _chain_latched(timing, prev_a, prev_b, prev_c, a, b, c) -> np.ndarray:
    """Chain-level latched sums (signed); the test asserts the multiplier stage met timing."""
    result = evaluate_chain(PE, timing, prev_a=prev_a, prev_b=prev_b, prev_c=prev_c, a=a, b=b, c=c)
    assert not result.product_flip_mask.any()
    return result.latched


def _shifted(values: np.ndarray) -> np.ndarray:
    """The previous MAC's value: 0 before the first MAC of a fold, then values[t - 1]."""
    return np.concatenate([np.zeros(1, dtype=np.int64), np.asarray(values, dtype=np.int64)[:-1]])


def _stationary_column_reference(timing, stream: np.ndarray, stationary: np.ndarray) -> np.ndarray:
    """Sums leaving one column: PE r adds stream[:, r] * stationary[r] to the sums from PE r - 1.

    Each PE's MACs are its stream in order, from an all-zero state (docs: fold boundaries).
    """
    partial = np.zeros(stream.shape[0], dtype=np.int64)
    for r in range(stream.shape[1]):
        a = stream[:, r].astype(np.int64)
        b = np.full_like(a, int(stationary[r]))
        partial = _chain_latched(timing, _shifted(a), _shifted(b), _shifted(partial), a, b, partial)
    return partial


def _run(
    engine: str, a: np.ndarray, b: np.ndarray, dataflow: str, rows: int, cols: int, *, timing=NOMINAL, **options
) -> object:
    array = ArrayConfig(rows=rows, cols=cols, dataflow=dataflow, **options.pop("array_options", {}))
    return simulate_gemm(a, b, array=array, pe=options.pop("pe", PE), timing=timing, engine=engine, **options)


class EngineContract:
    """Behaviour required of every grid engine."""

    engine: str
    max_examples: int

    @pytest.mark.parametrize("dataflow", DATAFLOWS)
    @pytest.mark.parametrize(("rows", "cols", "m", "n", "k"), ODD_SHAPES)
    def test_nominal_vdd_gives_the_exact_integer_gemm(self, dataflow, rows, cols, m, n, k):
        a, b = _signed_operands(1, m, n, k)
        result = _run(self.engine, a, b, dataflow, rows, cols)
        assert np.array_equal(result.outputs, _wrapped_matmul(a, b))
        assert result.erroneous_macs == 0

    @pytest.mark.parametrize("dataflow", DATAFLOWS)
    @pytest.mark.parametrize(("rows", "cols", "m", "n", "k"), ODD_SHAPES)
    def test_cycles_without_errors_equal_the_closed_form(self, dataflow, rows, cols, m, n, k):
        a, b = _signed_operands(2, m, n, k)
        result = _run(self.engine, a, b, dataflow, rows, cols)
        expected = compute_cycles(GemmProblem(m=m, n=n, k=k), ArrayConfig(rows=rows, cols=cols, dataflow=dataflow))
        assert (result.cycles, result.compute_cycles, result.correction_cycles) == (expected, expected, 0)

    def test_cycles_by_hand_for_ws(self):
        # K = 6 on 4 rows -> 2 row folds, N = 5 on 3 columns -> 2 column folds: 4 folds of
        # R + (R - 1) + M + (C - 1) = 4 + 3 + 9 + 2 = 18 cycles; 4 * 18 - 1 = 71.
        a, b = _signed_operands(3, 9, 5, 6)
        assert _run(self.engine, a, b, "ws", 4, 3).cycles == 71

    @pytest.mark.parametrize("dataflow", DATAFLOWS)
    def test_bandwidth_adds_the_closed_form_memory_stalls(self, dataflow):
        a, b = _signed_operands(4, 7, 6, 11)
        array = ArrayConfig(rows=3, cols=5, dataflow=dataflow, dram_bandwidth_words_per_cycle=2.5)
        result = simulate_gemm(a, b, array=array, pe=PE, timing=NOMINAL, engine=self.engine)
        problem = GemmProblem(m=7, n=6, k=11)
        stalls = memory_stall_cycles(problem, array)
        assert stalls > 0
        assert result.memory_stall_cycles == stalls
        assert result.cycles == compute_cycles(problem, array) + stalls

    @pytest.mark.parametrize("dataflow", ["ws", "is"])
    def test_wrong_partial_sums_flow_down_the_column(self, dataflow):
        # One fold (K = 5 rows, 3 columns); at 0.5 V the chain level latches wrong sums,
        # and each PE adds its product to what the PE above latched.
        a, b = _signed_operands(5, 40, 3, 5) if dataflow == "ws" else _signed_operands(5, 3, 40, 5)
        result = _run(self.engine, a, b, dataflow, 5, 3, timing=LOW)
        if dataflow == "ws":
            expected = np.stack([_stationary_column_reference(LOW, a, b[:, c]) for c in range(3)], axis=1)
        else:
            expected = np.stack([_stationary_column_reference(LOW, b.T, a[m]) for m in range(3)], axis=0)
        assert not np.array_equal(expected, _wrapped_matmul(a, b))
        assert np.array_equal(result.outputs, expected)

    def test_each_row_fold_starts_from_a_zero_state_and_the_buffer_adds_exactly(self):
        # K = 6 on 3 rows: two row folds; each is a fresh column of 3 PEs, and the output
        # buffer adds the two folds' sums (wrapped to 32 bits).
        a, b = _signed_operands(6, 40, 1, 6)
        result = _run(self.engine, a, b, "ws", 3, 1, timing=LOW)
        first = _stationary_column_reference(LOW, a[:, :3], b[:3, 0])
        second = _stationary_column_reference(LOW, a[:, 3:], b[3:, 0])
        expected = ((first + second + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)
        assert np.array_equal(result.outputs[:, 0], expected)

    def test_output_stationary_accumulators_follow_the_chain_level_step_by_step(self):
        # PE (m, n) accumulates over k; its accumulator register is the adder's partial-sum input.
        m, n, k = 4, 3, 30
        a, b = _signed_operands(7, m, n, k)
        result = _run(self.engine, a, b, "os", 4, 3, timing=LOW)
        accumulator = np.zeros(m * n, dtype=np.int64)
        previous = [np.zeros(m * n, dtype=np.int64)] * 3
        for step in range(k):
            x = np.repeat(a[:, step].astype(np.int64), n)
            y = np.tile(b[step].astype(np.int64), m)
            latched = _chain_latched(LOW, *previous, x, y, accumulator)
            previous = [x, y, accumulator]
            accumulator = latched
        assert not np.array_equal(accumulator.reshape(m, n), _wrapped_matmul(a, b))
        assert np.array_equal(result.outputs, accumulator.reshape(m, n))

    @pytest.mark.parametrize("dataflow", DATAFLOWS)
    def test_protecting_every_bit_corrects_every_error(self, dataflow):
        a, b = _signed_operands(8, 20, 6, 11)
        result = _run(
            self.engine, a, b, dataflow, 3, 5, timing=RAZOR, protection=Protection.from_spec("31:0", width=32)
        )
        assert result.detections == result.erroneous_macs > 0
        assert np.array_equal(result.outputs, _wrapped_matmul(a, b))

    @pytest.mark.parametrize("dataflow", DATAFLOWS)
    def test_protected_bits_never_stay_wrong(self, dataflow):
        a, b = _signed_operands(9, 20, 6, 11)
        result = _run(
            self.engine, a, b, dataflow, 3, 5, timing=RAZOR, protection=Protection.from_spec("31:28", width=32)
        )
        assert result.flip_counts[28:].sum() > 0
        assert result.residual_flip_counts[28:].sum() == 0

    @pytest.mark.parametrize("dataflow", DATAFLOWS)
    def test_unprotected_errors_stay_in_the_result_and_cost_no_cycles(self, dataflow):
        a, b = _signed_operands(10, 20, 6, 11)
        result = _run(self.engine, a, b, dataflow, 3, 5, timing=LOW)
        assert result.wrong_outputs > 0
        assert result.detections == 0
        assert np.array_equal(result.residual_flip_counts, result.flip_counts)
        assert result.cycles == compute_cycles(
            GemmProblem(m=20, n=6, k=11), ArrayConfig(rows=3, cols=5, dataflow=dataflow)
        )

    @pytest.mark.parametrize("dataflow", DATAFLOWS)
    def test_global_stall_costs_the_penalty_per_cycle_with_a_detection(self, dataflow):
        a, b = _signed_operands(11, 20, 6, 11)
        protection = Protection.from_spec("31:20", penalty_cycles=3, width=32)
        result = _run(self.engine, a, b, dataflow, 3, 5, timing=RAZOR, protection=protection, record_events=True)
        detected = result.events[result.events[:, 5] == 1]
        distinct_cycles = {(fold, cycle) for fold, cycle in detected[:, :2].tolist()}
        assert len(distinct_cycles) > 0
        assert result.correction_cycles == 3 * len(distinct_cycles)
        closed_form = compute_cycles(GemmProblem(m=20, n=6, k=11), ArrayConfig(rows=3, cols=5, dataflow=dataflow))
        assert result.cycles == closed_form + 3 * len(distinct_cycles)

    @pytest.mark.parametrize("dataflow", DATAFLOWS)
    def test_column_stall_costs_the_penalty_times_the_most_delayed_column_per_fold(self, dataflow):
        a, b = _signed_operands(12, 20, 6, 11)
        protection = Protection.from_spec("31:20", penalty_cycles=2, recovery="column", width=32)
        result = _run(self.engine, a, b, dataflow, 3, 5, timing=RAZOR, protection=protection, record_events=True)
        per_fold: dict[int, dict[int, set[int]]] = {}
        for fold, cycle, _row, col, _mask, detected in result.events.tolist():
            if detected:
                per_fold.setdefault(fold, {}).setdefault(col, set()).add(cycle)
        expected = sum(2 * max(len(cycles) for cycles in columns.values()) for columns in per_fold.values())
        assert expected > 0
        assert result.correction_cycles == expected

    def test_zero_penalty_detects_and_corrects_for_free(self):
        a, b = _signed_operands(13, 20, 6, 11)
        result = _run(
            self.engine,
            a,
            b,
            "ws",
            3,
            5,
            timing=RAZOR,
            protection=Protection.from_spec("31:0", penalty_cycles=0, width=32),
        )
        assert result.detections > 0
        assert result.correction_cycles == 0
        assert np.array_equal(result.outputs, _wrapped_matmul(a, b))

    def test_flip_counts_are_the_bits_of_the_recorded_flip_masks(self):
        a, b = _signed_operands(14, 20, 6, 11)
        result = _run(self.engine, a, b, "os", 3, 5, timing=LOW, record_events=True)
        bits = (result.events[:, 4:5] >> np.arange(32)) & 1
        assert result.events.shape[0] == result.erroneous_macs > 0
        assert np.array_equal(bits.sum(axis=0), result.flip_counts)

    def test_depthwise_convolution_is_one_gemm_per_group(self):
        layer = ConvLayer(
            name="dw", ifmap_h=5, ifmap_w=4, filter_h=3, filter_w=3, channels=3, num_filters=3, padding=1, groups=3
        )
        rng = np.random.default_rng(np.random.SeedSequence(15))
        ifmap = rng.integers(-128, 128, (3, 5, 4)).astype(np.int8)
        filters = rng.integers(-128, 128, (3, 1, 3, 3)).astype(np.int8)
        array = ArrayConfig(rows=4, cols=2, dataflow="ws")
        result = simulate_conv(layer, ifmap, filters, array=array, pe=PE, timing=NOMINAL, engine=self.engine)
        padded = np.pad(ifmap.astype(np.int64), ((0, 0), (1, 1), (1, 1)))
        direct = np.zeros((3, 5, 4), dtype=np.int64)
        for channel in range(3):
            for y in range(5):
                for x in range(4):
                    direct[channel, y, x] = (padded[channel, y : y + 3, x : x + 3] * filters[channel, 0]).sum()
        assert np.array_equal(gemm_output_to_ofmap(layer, result.outputs), direct)
        # 3 groups, each K = 9 on 4 rows (3 folds) x N = 1: 9 folds of 2*4 + 2 + 20 - 2 = 28 cycles.
        assert result.cycles == 9 * 28 - 1

    def test_same_seed_same_die_same_bits(self):
        a, b = _signed_operands(16, 12, 5, 7)
        options = dict(
            timing=stage_timing(PE, operating_point=OperatingPoint(vdd_v=0.52, f_clk_mhz=700.0)),
            variation=ProcessVariation(sigma_pe=0.1),
            record_events=True,
        )
        first = _run(self.engine, a, b, "ws", 3, 5, seed=7, **options)
        second = _run(self.engine, a, b, "ws", 3, 5, seed=7, **options)
        assert np.array_equal(first.outputs, second.outputs)
        assert np.array_equal(first.events, second.events)

    def test_hypothesis_nominal_vdd_equals_exact_gemm(self):
        @settings(
            max_examples=self.max_examples, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
        )
        @given(
            rows=st.integers(1, 5),
            cols=st.integers(1, 5),
            m=st.integers(1, 9),
            n=st.integers(1, 9),
            k=st.integers(1, 9),
            dataflow=st.sampled_from(DATAFLOWS),
            seed=st.integers(0, 2**16),
        )
        def check(rows, cols, m, n, k, dataflow, seed):
            a, b = _signed_operands(seed, m, n, k)
            result = _run(self.engine, a, b, dataflow, rows, cols)
            assert np.array_equal(result.outputs, _wrapped_matmul(a, b))

        check()

    def test_hypothesis_closed_form_equals_the_engine(self):
        @settings(max_examples=self.max_examples, deadline=None)
        @given(
            rows=st.integers(1, 5),
            cols=st.integers(1, 5),
            m=st.integers(1, 9),
            n=st.integers(1, 9),
            k=st.integers(1, 9),
            dataflow=st.sampled_from(DATAFLOWS),
            bandwidth=st.one_of(st.none(), st.sampled_from([0.5, 1, 3, 16])),
        )
        def check(rows, cols, m, n, k, dataflow, bandwidth):
            a, b = _signed_operands(0, m, n, k)
            array = ArrayConfig(rows=rows, cols=cols, dataflow=dataflow, dram_bandwidth_words_per_cycle=bandwidth)
            result = simulate_gemm(a, b, array=array, pe=PE, timing=NOMINAL, engine=self.engine)
            problem = GemmProblem(m=m, n=n, k=k)
            assert result.cycles == compute_cycles(problem, array) + memory_stall_cycles(problem, array)

        check()

    def test_hypothesis_cycles_never_decrease_when_m_n_or_k_grows(self):
        @settings(max_examples=self.max_examples, deadline=None)
        @given(
            rows=st.integers(1, 4),
            cols=st.integers(1, 4),
            m=st.integers(1, 7),
            n=st.integers(1, 7),
            k=st.integers(1, 7),
            dataflow=st.sampled_from(DATAFLOWS),
            grow=st.sampled_from("mnk"),
            by=st.integers(1, 5),
        )
        def check(rows, cols, m, n, k, dataflow, grow, by):
            sizes = {"m": m, "n": n, "k": k}
            bigger = dict(sizes, **{grow: sizes[grow] + by})
            cycles = []
            for shape in (sizes, bigger):
                a, b = _signed_operands(0, shape["m"], shape["n"], shape["k"])
                cycles.append(_run(self.engine, a, b, dataflow, rows, cols).cycles)
            assert cycles[1] >= cycles[0]

        check()


class TestFastEngine(EngineContract):
    engine = "fast"
    max_examples = 40


class TestDetailedEngine(EngineContract):
    engine = "detailed"
    max_examples = 12


AGREEMENT_CASES = [
    pytest.param("compound", 0.5, None, None, id="compound-0.5V"),
    pytest.param(
        "compound",
        0.5,
        Protection.from_spec("31:20", penalty_cycles=2, razor_window_ps=150.0),
        None,
        id="compound-0.5V-global-150ps",
    ),
    pytest.param(
        "compound",
        0.45,
        Protection.from_spec("31:24", recovery="column", razor_window_ps=100.0),
        None,
        id="compound-0.45V-late-products-column-100ps",
    ),
    pytest.param(
        "compound", 0.75, Protection.from_spec("31:16", recovery="global"), None, id="compound-0.75V-default-window"
    ),
    pytest.param(
        "2in", 0.55, Protection.from_spec("31:16", recovery="column", penalty_cycles=3), None, id="2in-0.55V-column"
    ),
    pytest.param(
        "compound",
        0.52,
        Protection.from_spec("31:26", razor_window_ps=150.0),
        ProcessVariation(sigma_die=0.05, sigma_pe=0.1),
        id="compound-0.52V-variation-150ps",
    ),
    pytest.param("2in", 0.5, None, ProcessVariation(sigma_pe=0.1), id="2in-0.5V-variation"),
    pytest.param(
        "compound",
        0.5,
        Protection.from_spec("31:12", recovery="local", penalty_cycles=2, razor_window_ps=60.0),
        None,
        id="compound-0.5V-local-60ps",
    ),
    pytest.param(
        "compound",
        0.5,
        Protection.from_spec("31:8", recovery="drop", razor_window_ps=100.0),
        None,
        id="compound-0.5V-drop-100ps",
    ),
    pytest.param(
        "2in",
        0.5,
        Protection.from_spec("31:10", recovery="local", razor_window_ps=400.0),
        ProcessVariation(sigma_pe=0.1),
        id="2in-0.5V-local-400ps-variation",
    ),
    pytest.param(
        "2in",
        0.55,
        Protection.from_spec("31:4", recovery="global", razor_window_ps=250.0),
        None,
        id="2in-0.55V-global-250ps",
    ),
]


@pytest.mark.parametrize("dataflow", DATAFLOWS)
@pytest.mark.parametrize(("rows", "cols", "m", "n", "k"), ODD_SHAPES)
@pytest.mark.parametrize(("cells", "vdd", "protection", "variation"), AGREEMENT_CASES)
def test_fast_and_detailed_engines_agree_bit_for_bit(dataflow, rows, cols, m, n, k, cells, vdd, protection, variation):
    pe = PEConfig(cells=cells, technology=TECHNOLOGY)
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd, f_clk_mhz=700.0))
    a, b = _signed_operands(17, 3 * m, n, k)
    results = [
        _run(
            engine,
            a,
            b,
            dataflow,
            rows,
            cols,
            timing=timing,
            pe=pe,
            protection=protection,
            variation=variation,
            seed=5,
            record_events=True,
        )
        for engine in ("fast", "detailed")
    ]
    fast, detailed = results
    assert np.array_equal(fast.outputs, detailed.outputs)
    assert np.array_equal(fast.events, detailed.events)
    assert np.array_equal(fast.flip_counts, detailed.flip_counts)
    assert np.array_equal(fast.residual_flip_counts, detailed.residual_flip_counts)
    assert np.array_equal(fast.fold_correction_cycles, detailed.fold_correction_cycles)
    counts = (
        "cycles",
        "correction_cycles",
        "detections",
        "detection_cycles",
        "erroneous_macs",
        "miscorrections",
        "silent_protected_errors",
        "unprotected_errors",
    )
    assert [getattr(fast, name) for name in counts] == [getattr(detailed, name) for name in counts]


def test_agreement_cases_do_produce_errors():
    a, b = _signed_operands(17, 21, 6, 11)
    for case in AGREEMENT_CASES:
        cells, vdd, protection, variation = case.values
        pe = PEConfig(cells=cells, technology=TECHNOLOGY)
        timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd, f_clk_mhz=700.0))
        result = _run(
            "fast", a, b, "ws", 3, 5, timing=timing, pe=pe, protection=protection, variation=variation, seed=5
        )
        assert result.erroneous_macs > 0, case.id
        if protection is not None:
            assert result.detections > 0, case.id


def test_grouped_gemm_runs_groups_back_to_back():
    rng = np.random.default_rng(np.random.SeedSequence(18))
    a = rng.integers(-128, 128, (3, 6, 5)).astype(np.int8)
    b = rng.integers(-128, 128, (3, 5, 2)).astype(np.int8)
    array = ArrayConfig(rows=4, cols=4, dataflow="os")
    result = simulate_grouped_gemm(a, b, array=array, pe=PE, timing=NOMINAL)
    assert np.array_equal(result.outputs, np.stack([_wrapped_matmul(a[g], b[g]) for g in range(3)]))
    assert result.cycles == compute_cycles(GemmProblem(m=6, n=2, k=5, groups=3), array)


def test_simulate_gemm_does_not_build_anything_of_size_m_n_k():
    # 3136 x 256 x 256 (2 x 10^8 MACs) on a 256x256 ws array: the per-fold working set is
    # the operands, the output tile and O(T) buffers, far below M N K bytes (205 MB).
    import tracemalloc

    rng = np.random.default_rng(np.random.SeedSequence(19))
    a = rng.integers(0, 128, (3136, 256)).astype(np.int8)
    b = rng.integers(-128, 128, (256, 256)).astype(np.int8)
    simulate_gemm(a[:8], b, array=ArrayConfig(rows=256, cols=256), pe=PE, timing=NOMINAL)
    tracemalloc.start()
    simulate_gemm(a, b, array=ArrayConfig(rows=256, cols=256), pe=PE, timing=NOMINAL)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 40 * 2**20


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda a, b: simulate_gemm(a.astype(np.int16), b, array=ArrayConfig(rows=2, cols=2), pe=PE, timing=NOMINAL),
            "activations: expected a non-empty int8 array of shape (M, K), got int16 array of shape (4, 3)",
        ),
        (
            lambda a, b: simulate_gemm(a, b[:2], array=ArrayConfig(rows=2, cols=2), pe=PE, timing=NOMINAL),
            "weights: expected K = 3 rows (the columns of activations), got shape (2, 5)",
        ),
        (
            lambda a, b: simulate_gemm(a[:0], b, array=ArrayConfig(rows=2, cols=2), pe=PE, timing=NOMINAL),
            "activations: expected a non-empty int8 array of shape (M, K), got int8 array of shape (0, 3)",
        ),
        (
            lambda a, b: simulate_gemm(a, b, array=ArrayConfig(rows=2, cols=2), pe=PE, timing=NOMINAL, engine="gpu"),
            "engine: expected one of fast, detailed, got 'gpu'",
        ),
        (
            lambda a, b: simulate_gemm(
                a, b, array=ArrayConfig(rows=2, cols=2, accumulator_bits=24), pe=PE, timing=NOMINAL
            ),
            "array.accumulator_bits: expected the PE accumulator width 32, got 24",
        ),
        (
            lambda a, b: simulate_gemm(a, b, array=ArrayConfig(rows=2, cols=2), pe=PE, timing=NOMINAL, seed=-1),
            "seed: expected a non-negative integer or a numpy.random.SeedSequence, got -1",
        ),
        (
            lambda a, b: simulate_gemm(
                a,
                b,
                array=ArrayConfig(rows=2, cols=2),
                pe=PE,
                timing=NOMINAL,
                protection=Protection(protected_mask=1 << 35),
            ),
            "Protection.protected_mask: bit 35 is outside the 32-bit accumulator; allowed: 0..31",
        ),
        (
            lambda a, b: simulate_gemm(
                a, b, array=ArrayConfig(rows=2, cols=2), pe=PEConfig(pipeline="fused"), timing=NOMINAL
            ),
            "pe: the array engines run the registered pipeline with the rca adder; got fused rca",
        ),
    ],
)
def test_bad_arguments_are_one_line_config_errors(call, message):
    a, b = _signed_operands(20, 4, 5, 3)
    with pytest.raises(ConfigError) as error:
        call(a, b)
    assert str(error.value) == message


def _array(text: str, dataflow: str) -> ArrayConfig:
    rows, cols = (int(part) for part in text.split("x"))
    return ArrayConfig(rows=rows, cols=cols, dataflow=dataflow)


REFERENCE_RUNS = [(array, dataflow) for array in ("32x32", "256x256") for dataflow in DATAFLOWS]


@pytest.mark.parametrize(("array", "dataflow"), REFERENCE_RUNS)
def test_discrete_event_schedule_equals_scalesim_for_every_mobilenet_layer(array, dataflow, scalesim_reference):
    topology = load_topology(scalesim_reference.topology("mobilenet.csv"), scalesim_compat=True)
    config = _array(array, dataflow)
    got = [run_schedule(map_gemm(layer.gemm(scalesim_compat=True), config), config).cycles for layer in topology.layers]
    assert got == [int(row["total_cycles"]) for row in scalesim_reference.results(array, dataflow)]


def _simulate_reference_layers(scalesim_reference, array: str, dataflow: str, names: set[str]) -> None:
    topology = load_topology(scalesim_reference.topology("mobilenet.csv"), scalesim_compat=True)
    config = _array(array, dataflow)
    expected = {row["layer_name"]: int(row["total_cycles"]) for row in scalesim_reference.results(array, dataflow)}
    rng = np.random.default_rng(np.random.SeedSequence(21))
    chosen = [layer for layer in topology.layers if layer.name in names]
    assert sorted(layer.name for layer in chosen) == sorted(names)
    for layer in chosen:
        problem = layer.gemm(scalesim_compat=True)
        a = rng.integers(0, 128, (problem.m, problem.k)).astype(np.int8)
        b = rng.integers(-128, 128, (problem.k, problem.n)).astype(np.int8)
        result = simulate_gemm(a, b, array=config, pe=PE, timing=NOMINAL)
        assert result.cycles == expected[layer.name], layer.name
        assert np.array_equal(result.outputs, _wrapped_matmul(a, b)), layer.name


@pytest.mark.parametrize(("array", "dataflow"), REFERENCE_RUNS)
def test_fast_engine_cycles_equal_scalesim_on_the_small_mobilenet_layers(array, dataflow, scalesim_reference):
    # The first convolution and every depthwise layer (SCALE-Sim's N = 1 rows), simulated MAC by MAC.
    names = {f"Conv{i}" for i in (1, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26)}
    _simulate_reference_layers(scalesim_reference, array, dataflow, names)


@pytest.fixture
def screened_calls(monkeypatch):
    """The number of groups of each call of the screened grouped-GEMM kernel, recorded as the engine runs."""
    from sim import _kernels

    calls = []
    screened = _kernels.screened_stationary_groups

    def counting(*args):
        calls.append(args[0].shape[0])
        return screened(*args)

    monkeypatch.setattr(_kernels, "screened_stationary_groups", counting)
    return calls


SCREENED_SHAPES = [
    *ODD_SHAPES,
    pytest.param(5, 20, 7, 37, 12, id="5x20-row-by-row"),
    pytest.param(4, 17, 27, 17, 6, id="4x17-column-by-column"),
]


@pytest.mark.parametrize("dataflow", ["ws", "is"])
@pytest.mark.parametrize(("rows", "cols", "m", "n", "k"), SCREENED_SHAPES)
@pytest.mark.parametrize(("vdd", "width"), [(0.55, 32), (0.5, 32), (0.48, 24), (0.45, 32), (0.4, 32), (0.5, 20)])
def test_screened_fast_path_agrees_with_the_detailed_engine(screened_calls, dataflow, rows, cols, m, n, k, vdd, width):
    """Compound cells, no protection, no event record: the fast engine's uint32 screened kernels
    (core screening from 0.48 V up, every MAC in closed form at 0.4 V, late product bits below
    0.48 V; short folds of 16 or more columns row by row with the columns in the vector lanes,
    the others column by column) give the detailed engine's outputs, wrong bits and counters."""
    pe = PEConfig(technology=TECHNOLOGY, width=width)
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd, f_clk_mhz=700.0))
    a, b = _signed_operands(23, 40 * m, n, k)
    options = {"timing": timing, "pe": pe, "array_options": {"accumulator_bits": width}}
    fast = _run("fast", a, b, dataflow, rows, cols, **options)
    assert screened_calls
    detailed = _run("detailed", a, b, dataflow, rows, cols, **options)
    assert np.array_equal(fast.outputs, detailed.outputs)
    assert np.array_equal(fast.flip_counts, detailed.flip_counts)
    assert np.array_equal(fast.residual_flip_counts, detailed.residual_flip_counts)
    assert (fast.erroneous_macs, fast.unprotected_errors, fast.cycles) == (
        detailed.erroneous_macs,
        detailed.unprotected_errors,
        detailed.cycles,
    )


@pytest.mark.parametrize("dataflow", ["ws", "is"])
@pytest.mark.parametrize("vdd", [0.55, 0.5, 0.45])
def test_long_wide_folds_in_blocks_of_steps_equal_the_event_recording_kernel(screened_calls, dataflow, vdd):
    """Folds of 512 and 88 columns over 1000 stream steps run row by row, the 512-column ones in blocks
    of 512 steps (each row's block starting two steps early from saved sums): outputs, wrong bits
    and wrong MACs equal the fast engine's event-recording int64 kernel's (checked against the
    detailed engine above)."""
    pe = PEConfig(technology=TECHNOLOGY)
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd, f_clk_mhz=700.0))
    m, n = (1000, 600) if dataflow == "ws" else (600, 1000)
    a, b = _signed_operands(29, m, n, 5)
    blocked = _run("fast", a, b, dataflow, 3, 512, timing=timing, pe=pe)
    assert screened_calls
    recorded = _run("fast", a, b, dataflow, 3, 512, timing=timing, pe=pe, record_events=True)
    assert len(screened_calls) == 1
    assert np.array_equal(blocked.outputs, recorded.outputs)
    assert np.array_equal(blocked.flip_counts, recorded.flip_counts)
    assert blocked.erroneous_macs == recorded.erroneous_macs > 0


@pytest.mark.parametrize("vdd", [0.55, 0.5, 0.45, 0.4])
def test_screened_agreement_cases_do_produce_errors(vdd):
    pe = PEConfig(technology=TECHNOLOGY)
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd, f_clk_mhz=700.0))
    a, b = _signed_operands(23, 280, 6, 11)
    assert _run("fast", a, b, "ws", 3, 5, timing=timing, pe=pe).erroneous_macs > 0


@pytest.mark.parametrize("dataflow", ["ws", "is"])
@pytest.mark.parametrize(
    ("cols", "n", "bandwidth"),
    [(3, 7, None), (20, 25, None), (3, 7, 2.0)],
    ids=["column-streams", "row-by-row", "bandwidth"],
)
def test_grouped_screened_path_equals_the_detailed_engine_group_by_group(screened_calls, dataflow, cols, n, bandwidth):
    """A grouped GEMM (4 groups, each folded over rows and columns) in one screened kernel call
    gives, group by group, the detailed engine's outputs, and in total its wrong bits, wrong
    MACs and cycles: the detailed engine's grouped run's (with a DRAM bandwidth limit too),
    without a limit the groups back to back (one cycle more per group boundary)."""
    pe = PEConfig(technology=TECHNOLOGY)
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=0.5, f_clk_mhz=700.0))
    rng = np.random.default_rng(np.random.SeedSequence(41))
    a = np.stack([_signed_operands(int(s), 90, n, 9)[0] for s in rng.integers(0, 1000, 4)])
    b = np.stack([_signed_operands(int(s), 90, n, 9)[1] for s in rng.integers(0, 1000, 4)])
    array = ArrayConfig(rows=4, cols=cols, dataflow=dataflow, dram_bandwidth_words_per_cycle=bandwidth)
    grouped = simulate_grouped_gemm(a, b, array=array, pe=pe, timing=timing, engine="fast")
    assert screened_calls == [4]
    singles = [simulate_gemm(a[g], b[g], array=array, pe=pe, timing=timing, engine="detailed") for g in range(4)]
    assert np.array_equal(grouped.outputs, np.stack([single.outputs for single in singles]))
    assert np.array_equal(grouped.flip_counts, sum(single.flip_counts for single in singles))
    assert grouped.erroneous_macs == sum(single.erroneous_macs for single in singles) > 0
    detailed = simulate_grouped_gemm(a, b, array=array, pe=pe, timing=timing, engine="detailed")
    assert (grouped.cycles, grouped.memory_stall_cycles) == (detailed.cycles, detailed.memory_stall_cycles)
    if bandwidth is None:
        assert grouped.cycles == sum(single.cycles for single in singles) + 3
