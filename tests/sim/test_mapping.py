"""Folding a GEMM onto the array: dimensions per dataflow, fold counts, fold iteration."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.config import ArrayConfig
from sim.layers import GemmProblem
from sim.mapping import fold_extents, map_gemm


@pytest.mark.parametrize(
    ("size", "tile", "expected"),
    [(10, 4, (3, 4, 2)), (8, 4, (2, 4, 4)), (3, 4, (1, 3, 3)), (1, 1, (1, 1, 1))],
)
def test_fold_extents(size, tile, expected):
    assert fold_extents(size, tile) == expected


@pytest.mark.parametrize(
    ("dataflow", "rows_dim", "cols_dim", "time_dim"),
    [("ws", "k", "n", "m"), ("os", "m", "n", "k"), ("is", "k", "m", "n")],
)
def test_dataflow_places_gemm_dimensions_like_scalesim(dataflow, rows_dim, cols_dim, time_dim):
    problem = GemmProblem(m=11, n=13, k=17)
    mapping = map_gemm(problem, ArrayConfig(rows=4, cols=4, dataflow=dataflow))
    sizes = {"m": 11, "n": 13, "k": 17}
    assert (mapping.spatial_rows, mapping.spatial_cols, mapping.temporal) == (
        sizes[rows_dim],
        sizes[cols_dim],
        sizes[time_dim],
    )


def test_mapping_efficiency_is_mean_fraction_of_used_pes():
    # ws with K = 10 on 4 rows and N = 3 on 4 columns: folds use 4x3, 4x3 and 2x3 PEs of 16.
    mapping = map_gemm(GemmProblem(m=5, n=3, k=10), ArrayConfig(rows=4, cols=4, dataflow="ws"))
    assert mapping.folds == 3
    assert mapping.mapping_efficiency == pytest.approx((12 + 12 + 6) / (3 * 16))


def test_folds_run_groups_then_column_folds_then_row_folds():
    mapping = map_gemm(GemmProblem(m=3, n=5, k=6, groups=2), ArrayConfig(rows=4, cols=3, dataflow="ws"))
    order = [(fold.group, fold.col_fold, fold.row_fold) for fold in mapping.iter_folds()]
    assert order == list(itertools.product(range(2), range(2), range(2)))
    assert [fold.index for fold in mapping.iter_folds()] == list(range(8))


def test_ws_fold_streams_all_of_m_over_a_k_by_n_tile():
    mapping = map_gemm(GemmProblem(m=9, n=5, k=6), ArrayConfig(rows=4, cols=3, dataflow="ws"))
    last = list(mapping.iter_folds())[-1]
    assert (last.m_start, last.m_stop, last.k_start, last.k_stop, last.n_start, last.n_stop) == (0, 9, 4, 6, 3, 5)
    assert (last.rows_used, last.cols_used, last.temporal) == (2, 2, 9)


def test_fold_iteration_is_lazy():
    huge = GemmProblem(m=10**6, n=10**6, k=3)
    mapping = map_gemm(huge, ArrayConfig(rows=1, cols=1, dataflow="os"))
    assert mapping.folds == 10**12
    first = list(itertools.islice(mapping.iter_folds(), 2))
    assert [(fold.m_start, fold.m_stop) for fold in first] == [(0, 1), (1, 2)]


_problems = st.builds(
    GemmProblem, m=st.integers(1, 30), n=st.integers(1, 30), k=st.integers(1, 30), groups=st.integers(1, 3)
)


@settings(max_examples=80, deadline=None)
@given(problem=_problems, rows=st.integers(1, 8), cols=st.integers(1, 8), dataflow=st.sampled_from(["ws", "os", "is"]))
def test_fold_count_formula(problem, rows, cols, dataflow):
    mapping = map_gemm(problem, ArrayConfig(rows=rows, cols=cols, dataflow=dataflow))
    expected = problem.groups * math.ceil(mapping.spatial_rows / rows) * math.ceil(mapping.spatial_cols / cols)
    assert mapping.folds == expected == sum(1 for _ in mapping.iter_folds())


@settings(max_examples=80, deadline=None)
@given(problem=_problems, rows=st.integers(1, 8), cols=st.integers(1, 8), dataflow=st.sampled_from(["ws", "os", "is"]))
def test_folds_cover_every_multiply_accumulate_exactly_once(problem, rows, cols, dataflow):
    mapping = map_gemm(problem, ArrayConfig(rows=rows, cols=cols, dataflow=dataflow))
    coverage = np.zeros((problem.groups, problem.m, problem.n, problem.k), dtype=np.int64)
    for fold in mapping.iter_folds():
        assert fold.rows_used <= rows and fold.cols_used <= cols
        coverage[fold.group, fold.m_start : fold.m_stop, fold.n_start : fold.n_stop, fold.k_start : fold.k_stop] += 1
        assert fold.macs == (fold.m_stop - fold.m_start) * (fold.n_stop - fold.n_start) * (fold.k_stop - fold.k_start)
    assert (coverage == 1).all()
