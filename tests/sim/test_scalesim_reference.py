"""Compute cycles equal SCALE-Sim v2's, row by row.

Two independent sources of expected values:

- the reference results measured with SCALE-Sim v2 in ``tests/data/scalesim/``
  (MobileNet on 32x32 and 256x256, ws/os/is);
- a literal model of SCALE-Sim's demand-matrix cycle counting (``_scalesim_literal``),
  itself checked against those reference results, for other topologies and shapes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.config import ArrayConfig
from sim.cycles import layer_report
from sim.layers import ConvLayer, GemmLayer
from workloads.topologies import load_topology

from ._scalesim_literal import read_topology, simulate_layer

REFERENCE_RUNS = [(array, dataflow) for array in ("32x32", "256x256") for dataflow in ("ws", "os", "is")]
PERCENT_TOLERANCE = 6e-5  # the reference CSV rounds percentages to 4 decimals


def _config(array: str, dataflow: str) -> ArrayConfig:
    rows, cols = (int(part) for part in array.split("x"))
    return ArrayConfig(rows=rows, cols=cols, dataflow=dataflow)


@pytest.mark.parametrize(("array", "dataflow"), REFERENCE_RUNS)
def test_compute_cycles_equal_scalesim_reference_for_every_mobilenet_layer(array, dataflow, scalesim_reference):
    topology = load_topology(scalesim_reference.topology("mobilenet.csv"), scalesim_compat=True)
    config = _config(array, dataflow)
    expected = [(row["layer_name"], int(row["total_cycles"])) for row in scalesim_reference.results(array, dataflow)]
    got = [(layer.name, layer_report(layer, config, scalesim_compat=True).compute_cycles) for layer in topology.layers]
    assert got == expected


@pytest.mark.parametrize(("array", "dataflow"), REFERENCE_RUNS)
def test_folds_and_gemm_shape_equal_scalesim_reference(array, dataflow, scalesim_reference):
    topology = load_topology(scalesim_reference.topology("mobilenet.csv"), scalesim_compat=True)
    config = _config(array, dataflow)
    expected = [
        (int(row["M_ofmap_px"]), int(row["N_filters"]), int(row["K_window"]), int(row["folds"]))
        for row in scalesim_reference.results(array, dataflow)
    ]
    reports = [layer_report(layer, config, scalesim_compat=True) for layer in topology.layers]
    assert [(r.m, r.n, r.k, r.folds) for r in reports] == expected


@pytest.mark.parametrize(("array", "dataflow"), REFERENCE_RUNS)
def test_utilisation_and_mapping_efficiency_equal_scalesim_reference(array, dataflow, scalesim_reference):
    topology = load_topology(scalesim_reference.topology("mobilenet.csv"), scalesim_compat=True)
    config = _config(array, dataflow)
    for layer, row in zip(topology.layers, scalesim_reference.results(array, dataflow), strict=True):
        report = layer_report(layer, config, scalesim_compat=True)
        assert report.stall_cycles == int(row["stall_cycles"]) == 0
        assert 100 * report.overall_utilisation == pytest.approx(float(row["overall_util_pct"]), abs=PERCENT_TOLERANCE)
        assert 100 * report.mapping_efficiency == pytest.approx(float(row["mapping_eff_pct"]), abs=PERCENT_TOLERANCE)
        assert 100 * report.compute_utilisation == pytest.approx(float(row["compute_util_pct"]), abs=PERCENT_TOLERANCE)


@pytest.mark.slow
@pytest.mark.parametrize(("array", "dataflow"), REFERENCE_RUNS)
def test_literal_model_reproduces_scalesim_reference(array, dataflow, scalesim_reference):
    rows, cols = (int(part) for part in array.split("x"))
    entries = read_topology(scalesim_reference.topology("mobilenet.csv"), gemm=False)
    for (name, params), row in zip(entries, scalesim_reference.results(array, dataflow), strict=True):
        literal = simulate_layer(params, rows=rows, cols=cols, dataflow=dataflow)
        assert (name, literal.total_cycles, literal.folds) == (
            row["layer_name"],
            int(row["total_cycles"]),
            int(row["folds"]),
        )
        assert literal.mapping_eff_pct == pytest.approx(float(row["mapping_eff_pct"]), abs=PERCENT_TOLERANCE)
        assert literal.compute_util_pct == pytest.approx(float(row["compute_util_pct"]), abs=PERCENT_TOLERANCE)


def _assert_topology_matches_literal(path: Path, *, gemm: bool, rows: int, cols: int, dataflow: str):
    entries = read_topology(path, gemm=gemm)
    topology = load_topology(path, scalesim_compat=True)
    config = ArrayConfig(rows=rows, cols=cols, dataflow=dataflow)
    assert [layer.name for layer in topology.layers] == [name for name, _ in entries]
    for layer, (_, params) in zip(topology.layers, entries, strict=True):
        literal = simulate_layer(params, rows=rows, cols=cols, dataflow=dataflow)
        report = layer_report(layer, config, scalesim_compat=True)
        assert (report.m, report.n, report.k) == (literal.m, literal.n, literal.k)
        assert (report.compute_cycles, report.folds) == (literal.total_cycles, literal.folds), layer.name
        assert 100 * report.mapping_efficiency == pytest.approx(literal.mapping_eff_pct, rel=1e-12)
        assert 100 * report.compute_utilisation == pytest.approx(literal.compute_util_pct, rel=1e-12)
        assert 100 * report.overall_utilisation == pytest.approx(literal.overall_util_pct, rel=1e-12)


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_gemm_topology_matches_literal_scalesim_model_on_32x32(dataflow, scalesim_reference):
    _assert_topology_matches_literal(
        scalesim_reference.topology("transformer_partial_mnk.csv"), gemm=True, rows=32, cols=32, dataflow=dataflow
    )


@pytest.mark.slow
@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
@pytest.mark.parametrize(("rows", "cols"), [(7, 12), (16, 8)])
def test_gemm_topology_matches_literal_scalesim_model_on_odd_arrays(rows, cols, dataflow, scalesim_reference):
    _assert_topology_matches_literal(
        scalesim_reference.topology("transformer_partial_mnk.csv"), gemm=True, rows=rows, cols=cols, dataflow=dataflow
    )


@pytest.mark.slow
@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
@pytest.mark.parametrize(("rows", "cols"), [(32, 32), (24, 40)])
def test_resnet50_topology_matches_literal_scalesim_model(rows, cols, dataflow, scalesim_reference):
    _assert_topology_matches_literal(
        scalesim_reference.topology("Resnet50_mlperf.csv"), gemm=False, rows=rows, cols=cols, dataflow=dataflow
    )


@st.composite
def _conv_rows(draw):
    ifmap_h = draw(st.integers(1, 12))
    ifmap_w = draw(st.integers(1, 12))
    filter_h = draw(st.integers(1, ifmap_h))
    filter_w = draw(st.integers(1, ifmap_w))
    stride = draw(st.integers(1, min(ifmap_h, ifmap_w, 4)))
    return [ifmap_h, ifmap_w, filter_h, filter_w, draw(st.integers(1, 4)), draw(st.integers(1, 6)), stride, stride]


@settings(max_examples=60, deadline=None)
@given(
    params=_conv_rows(),
    rows=st.integers(1, 7),
    cols=st.integers(1, 7),
    dataflow=st.sampled_from(["ws", "os", "is"]),
)
def test_closed_form_equals_literal_model_for_random_convolutions(params, rows, cols, dataflow):
    ifmap_h, ifmap_w, filter_h, filter_w, channels, filters, stride, _ = params
    layer = ConvLayer(
        name="c",
        ifmap_h=ifmap_h,
        ifmap_w=ifmap_w,
        filter_h=filter_h,
        filter_w=filter_w,
        channels=channels,
        num_filters=filters,
        stride=stride,
    )
    literal = simulate_layer(params, rows=rows, cols=cols, dataflow=dataflow)
    report = layer_report(layer, ArrayConfig(rows=rows, cols=cols, dataflow=dataflow), scalesim_compat=True)
    assert (report.m, report.n, report.k) == (literal.m, literal.n, literal.k)
    assert (report.compute_cycles, report.folds) == (literal.total_cycles, literal.folds)
    assert 100 * report.mapping_efficiency == pytest.approx(literal.mapping_eff_pct, rel=1e-12)
    assert 100 * report.compute_utilisation == pytest.approx(literal.compute_util_pct, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    m=st.integers(1, 40),
    n=st.integers(1, 40),
    k=st.integers(1, 40),
    rows=st.integers(1, 9),
    cols=st.integers(1, 9),
    dataflow=st.sampled_from(["ws", "os", "is"]),
)
def test_closed_form_equals_literal_model_for_random_gemms(m, n, k, rows, cols, dataflow):
    literal = simulate_layer([m, k, 1, k, 1, n, 1, 1], rows=rows, cols=cols, dataflow=dataflow)
    report = layer_report(GemmLayer(name="g", m=m, n=n, k=k), ArrayConfig(rows=rows, cols=cols, dataflow=dataflow))
    assert (report.compute_cycles, report.folds) == (literal.total_cycles, literal.folds)


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_depthwise_dp_rows_are_split_per_channel_like_scalesim(tmp_path, dataflow):
    path = tmp_path / "dp.csv"
    path.write_text(
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
        "Conv_DP1, 9, 9, 3, 3, 3, 2, 2,\n"
        "Conv2, 5, 5, 1, 1, 3, 4, 1,\n"
    )
    entries = read_topology(path, gemm=False)
    topology = load_topology(path, scalesim_compat=True)
    config = ArrayConfig(rows=4, cols=3, dataflow=dataflow)
    assert [layer.name for layer in topology.layers] == [
        "Conv_DP1Channel_0",
        "Conv_DP1Channel_1",
        "Conv_DP1Channel_2",
        "Conv2",
    ]
    for layer, (_, params) in zip(topology.layers, entries, strict=True):
        literal = simulate_layer(params, rows=4, cols=3, dataflow=dataflow)
        assert layer_report(layer, config, scalesim_compat=True).compute_cycles == literal.total_cycles
