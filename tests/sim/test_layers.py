"""Layer shapes: validation, lowering to GEMMs (default and SCALE-Sim compatible), im2col."""

from __future__ import annotations

import numpy as np
import pytest

from pe_models.errors import ConfigError
from sim.layers import (
    ConvLayer,
    GemmLayer,
    GemmProblem,
    LayerShapeError,
    gemm_output_to_ofmap,
    im2col,
    weights_to_gemm,
)


def _conv(**changes) -> ConvLayer:
    fields = dict(
        name="c",
        ifmap_h=8,
        ifmap_w=8,
        filter_h=3,
        filter_w=3,
        channels=4,
        num_filters=4,
        stride=1,
        padding=0,
        groups=1,
    )
    fields.update(changes)
    return ConvLayer(**fields)


def test_gemm_layer_lowers_to_its_own_shape():
    assert GemmLayer(name="fc", m=1, n=1000, k=1280).gemm() == GemmProblem(m=1, n=1000, k=1280)


def test_dense_convolution_lowers_to_output_pixels_by_filters_by_window():
    stem = _conv(ifmap_h=224, ifmap_w=224, channels=3, num_filters=32, stride=2, padding=1)
    # (224 + 2*1 - 3) // 2 + 1 = 112 output rows and columns; K = 3 * 3 * 3.
    assert stem.gemm() == GemmProblem(m=112 * 112, n=32, k=27, groups=1)


def test_depthwise_convolution_is_one_small_gemm_per_channel():
    depthwise = _conv(ifmap_h=112, ifmap_w=112, channels=32, num_filters=32, padding=1, groups=32)
    assert depthwise.is_depthwise
    assert depthwise.gemm() == GemmProblem(m=112 * 112, n=1, k=9, groups=32)
    assert depthwise.macs == 112 * 112 * 32 * 9  # one 3x3 window per output pixel and channel


def test_grouped_convolution_splits_channels_and_filters_by_group():
    grouped = _conv(ifmap_h=6, ifmap_w=6, channels=8, num_filters=12, groups=4)
    # 4x4 outputs; each group has 8/4 = 2 input channels and 12/4 = 3 filters.
    assert grouped.gemm() == GemmProblem(m=16, n=3, k=3 * 3 * 2, groups=4)


def test_scalesim_compat_maps_depthwise_as_one_filter_over_all_channels():
    depthwise = _conv(ifmap_h=112, ifmap_w=112, channels=32, num_filters=32, groups=32)
    # SCALE-Sim's MobileNet row "112,112,3,3,32,1,1": ceil((112-3+1)/1) = 110, K = 3*3*32.
    assert depthwise.gemm(scalesim_compat=True) == GemmProblem(m=110 * 110, n=1, k=288)


@pytest.mark.parametrize(
    ("size", "filter_size", "stride", "default", "compat"),
    [
        (224, 3, 2, 111, 112),  # floor(221/2)+1 vs ceil(223/2)
        (112, 3, 1, 110, 110),
        (7, 3, 2, 3, 3),  # (7-3) divisible by 2: both agree
        (10, 1, 3, 4, 4),
        (8, 2, 3, 3, 3),  # floor(6/3)+1 = 3, ceil(9/3) = 3
        (9, 2, 3, 3, 4),  # floor(7/3)+1 = 3, ceil(10/3) = 4
    ],
)
def test_output_size_default_and_scalesim_formula(size, filter_size, stride, default, compat):
    layer = _conv(ifmap_h=size, ifmap_w=size, filter_h=filter_size, filter_w=filter_size, stride=stride)
    assert layer.output_hw() == (default, default)
    assert layer.output_hw(scalesim_compat=True) == (compat, compat)


def test_non_square_input_and_filter():
    layer = _conv(ifmap_h=10, ifmap_w=6, filter_h=3, filter_w=1, stride=2, padding=1)
    # rows: (10 + 2 - 3) // 2 + 1 = 5; cols: (6 + 2 - 1) // 2 + 1 = 4
    assert layer.output_hw() == (5, 4)
    assert layer.gemm() == GemmProblem(m=20, n=4, k=3 * 1 * 4)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ifmap_h": 0}, r"^ConvLayer 'c': ifmap_h: expected a positive integer, got 0$"),
        ({"channels": -2}, r"^ConvLayer 'c': channels: expected a positive integer, got -2$"),
        ({"num_filters": 1.5}, r"^ConvLayer 'c': num_filters: expected a positive integer, got 1\.5$"),
        ({"stride": 0}, r"^ConvLayer 'c': stride: expected a positive integer, got 0$"),
        ({"padding": -1}, r"^ConvLayer 'c': padding: expected a non-negative integer, got -1$"),
        ({"groups": 0}, r"^ConvLayer 'c': groups: expected a positive integer, got 0$"),
        ({"filter_h": 9}, r"^ConvLayer 'c': filter_h: expected at most the padded input height 8, got 9$"),
        (
            {"filter_w": 11, "padding": 1},
            r"^ConvLayer 'c': filter_w: expected at most the padded input width 10, got 11$",
        ),
        (
            {"stride": 9, "filter_h": 1, "filter_w": 1},
            r"^ConvLayer 'c': stride: expected at most the padded input size 8, got 9$",
        ),
        (
            {"groups": 3},
            r"^ConvLayer 'c': groups: expected a divisor of both channels \(4\) and num_filters \(4\), got 3$",
        ),
        ({"name": ""}, r"^ConvLayer '': name: expected a non-empty single-line string, got ''$"),
    ],
)
def test_invalid_convolution_is_rejected_naming_the_field(changes, message):
    with pytest.raises(ConfigError, match=message):
        _conv(**changes)


def test_shape_error_carries_field_and_detail_for_file_readers():
    with pytest.raises(LayerShapeError) as caught:
        _conv(stride=0)
    assert (caught.value.layer, caught.value.field, caught.value.detail) == (
        "c",
        "stride",
        "expected a positive integer, got 0",
    )


@pytest.mark.parametrize("field", ["m", "n", "k"])
def test_gemm_layer_rejects_zero_sizes(field):
    sizes = {"m": 2, "n": 3, "k": 4, field: 0}
    with pytest.raises(ConfigError, match=rf"^GemmLayer 'g': {field}: expected a positive integer, got 0$"):
        GemmLayer(name="g", **sizes)


def _direct_convolution(layer: ConvLayer, ifmap: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Textbook grouped convolution with explicit loops (the independent reference)."""
    pad = layer.padding
    padded = np.pad(ifmap, ((0, 0), (pad, pad), (pad, pad)))
    out_h = (layer.ifmap_h + 2 * pad - layer.filter_h) // layer.stride + 1
    out_w = (layer.ifmap_w + 2 * pad - layer.filter_w) // layer.stride + 1
    per_group_in = layer.channels // layer.groups
    per_group_out = layer.num_filters // layer.groups
    result = np.zeros((layer.num_filters, out_h, out_w), dtype=np.int64)
    for f in range(layer.num_filters):
        group = f // per_group_out
        for y in range(out_h):
            for x in range(out_w):
                total = 0
                for c in range(per_group_in):
                    for i in range(layer.filter_h):
                        for j in range(layer.filter_w):
                            total += int(
                                padded[group * per_group_in + c, y * layer.stride + i, x * layer.stride + j]
                            ) * int(weights[f, c, i, j])
                result[f, y, x] = total
    return result


@pytest.mark.parametrize(
    "layer",
    [
        _conv(ifmap_h=7, ifmap_w=5, channels=3, num_filters=2, stride=2, padding=1),
        _conv(ifmap_h=6, ifmap_w=6, channels=4, num_filters=4, padding=1, groups=4),
        _conv(ifmap_h=5, ifmap_w=9, filter_h=2, filter_w=3, channels=6, num_filters=9, stride=3, groups=3),
        _conv(ifmap_h=4, ifmap_w=4, filter_h=1, filter_w=1, channels=5, num_filters=3),
    ],
    ids=["strided-padded", "depthwise", "grouped-nonsquare", "pointwise"],
)
def test_im2col_gemm_equals_direct_convolution(layer):
    rng = np.random.default_rng(np.random.SeedSequence(2024))
    ifmap = rng.integers(-128, 128, size=(layer.channels, layer.ifmap_h, layer.ifmap_w), dtype=np.int64)
    weights = rng.integers(
        -128,
        128,
        size=(layer.num_filters, layer.channels // layer.groups, layer.filter_h, layer.filter_w),
        dtype=np.int64,
    )
    a = im2col(layer, ifmap)
    b = weights_to_gemm(layer, weights)
    problem = layer.gemm()
    assert a.shape == (problem.groups, problem.m, problem.k)
    assert b.shape == (problem.groups, problem.k, problem.n)
    ofmap = gemm_output_to_ofmap(layer, np.matmul(a, b))
    np.testing.assert_array_equal(ofmap, _direct_convolution(layer, ifmap, weights))
