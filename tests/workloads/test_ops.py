"""im2col, pooling and integer averaging against direct loops and hand calculations."""

from __future__ import annotations

import numpy as np
import pytest

from workloads.ops import (
    avg_pool,
    conv_output_size,
    conv_weight_matrix,
    float_conv2d,
    im2col,
    im2col_groups,
    integer_average,
    max_pool,
)


def _direct_conv(x, weight, stride, padding, groups):
    """Textbook convolution with explicit loops, NHWC input, (Co, Ci/g, kh, kw) weight."""
    n, h, w, c_in = x.shape
    c_out, c_group, kh, kw = weight.shape
    top, left, bottom, right = padding
    padded = np.zeros((n, h + top + bottom, w + left + right, c_in))
    padded[:, top : top + h, left : left + w] = x
    ho = (h + top + bottom - kh) // stride[0] + 1
    wo = (w + left + right - kw) // stride[1] + 1
    out = np.zeros((n, ho, wo, c_out))
    per_group = c_out // groups
    for b in range(n):
        for y in range(ho):
            for xx in range(wo):
                for o in range(c_out):
                    g = o // per_group
                    for i in range(c_group):
                        for ky in range(kh):
                            for kx in range(kw):
                                out[b, y, xx, o] += (
                                    padded[b, y * stride[0] + ky, xx * stride[1] + kx, g * c_group + i]
                                    * weight[o, i, ky, kx]
                                )
    return out


@pytest.mark.parametrize(
    ("stride", "padding", "groups", "c_in", "c_out"),
    [
        ((1, 1), (1, 1, 1, 1), 1, 3, 4),
        ((2, 2), (0, 1, 1, 0), 1, 2, 3),
        ((2, 1), (1, 1, 1, 1), 2, 4, 6),
        ((1, 1), (1, 1, 1, 1), 4, 4, 4),
    ],
)
def test_float_conv_matches_direct_loops(stride, padding, groups, c_in, c_out):
    rng = np.random.default_rng(np.random.SeedSequence(5))
    x = rng.normal(size=(2, 5, 6, c_in))
    weight = rng.normal(size=(c_out, c_in // groups, 3, 3))
    got = float_conv2d(x, weight, None, stride, padding, groups)
    np.testing.assert_allclose(got, _direct_conv(x, weight, stride, padding, groups), atol=1e-12)


def test_output_size_of_hand_examples():
    assert conv_output_size(28, 3, 1, 1, 1) == 28
    assert conv_output_size(28, 3, 2, 1, 1) == 14
    assert conv_output_size(7, 3, 2, 1, 1) == 4
    assert conv_output_size(224, 3, 2, 1, 1) == 112


def test_im2col_row_is_the_receptive_field_in_ky_kx_c_order():
    x = np.arange(2 * 3 * 3 * 2).reshape(2, 3, 3, 2)
    columns, shape = im2col(x, (2, 2), (1, 1), (0, 0, 0, 0))
    assert shape == (2, 2, 2)
    assert columns.shape == (8, 8)
    # image 1, output (1, 0): pixels (1,0), (1,1), (2,0), (2,1), two channels each
    expected = np.concatenate([x[1, 1, 0], x[1, 1, 1], x[1, 2, 0], x[1, 2, 1]])
    assert columns[4 + 2].tolist() == expected.tolist()


def test_grouped_im2col_equals_im2col_of_each_channel_slice():
    rng = np.random.default_rng(np.random.SeedSequence(6))
    x = rng.integers(-128, 128, size=(2, 7, 7, 6), dtype=np.int8)
    groups, shape = im2col_groups(x, (3, 3), (2, 2), (1, 1, 1, 1), 3)
    for g, columns in enumerate(groups):
        reference, ref_shape = im2col(x, (3, 3), (2, 2), (1, 1, 1, 1), channels=slice(2 * g, 2 * g + 2))
        assert shape == ref_shape == (2, 4, 4)
        assert columns.dtype == np.int8
        assert np.array_equal(columns, reference)


def test_weight_matrix_pairs_with_im2col():
    rng = np.random.default_rng(np.random.SeedSequence(7))
    x = rng.normal(size=(1, 4, 4, 3))
    weight = rng.normal(size=(5, 3, 3, 3))
    columns, shape = im2col(x, (3, 3), (1, 1), (1, 1, 1, 1))
    got = (columns @ conv_weight_matrix(weight)).reshape(*shape, 5)
    np.testing.assert_allclose(got, _direct_conv(x, weight, (1, 1), (1, 1, 1, 1), 1), atol=1e-12)


def test_max_pool_of_a_hand_example_ignores_padding():
    x = np.array([[-5, -3, 2, 0], [-1, -7, 4, 1], [9, 8, -2, -3], [7, 6, -4, -1]], np.int8)
    out = max_pool(x[None, :, :, None], (2, 2), (2, 2), (0, 0, 0, 0))[0, :, :, 0]
    assert out.tolist() == [[-1, 4], [9, -1]]
    padded = max_pool(x[None, :, :, None], (3, 3), (2, 2), (1, 1, 1, 1))[0, :, :, 0]
    assert padded[0, 0] == -1  # window over x[0:2, 0:2], padding (-128) never wins


def test_integer_average_pool_rounds_half_away_from_zero():
    x = np.array([[1, 2, 5, 5], [1, 1, 5, 6], [-1, -2, -5, -5], [-1, -1, -5, -6]], np.int8)
    out = avg_pool(x[None, :, :, None], (2, 2), (2, 2), (0, 0, 0, 0), count_include_pad=True)[0, :, :, 0]
    # 5/4 = 1.25 -> 1, 21/4 = 5.25 -> 5, -5/4 -> -1, -21/4 -> -5
    assert out.tolist() == [[1, 5], [-1, -5]]


def test_average_pool_padding_counts_follow_the_flag():
    x = np.full((1, 2, 2, 1), 4.0)
    included = avg_pool(x, (2, 2), (1, 1), (1, 1, 0, 0), count_include_pad=True)
    excluded = avg_pool(x, (2, 2), (1, 1), (1, 1, 0, 0), count_include_pad=False)
    assert included[0, 0, 0, 0] == 1.0  # one real 4 among four cells
    assert excluded[0, 0, 0, 0] == 4.0


def test_integer_average_of_hand_values():
    sums = np.array([5, -5, 7, -7, 6, 0])
    counts = np.array([2, 2, 3, 3, 4, 4])
    # 2.5 -> 3, -2.5 -> -3, 2.33 -> 2, -2.33 -> -2, 1.5 -> 2, 0
    assert integer_average(sums, counts).tolist() == [3, -3, 2, -2, 2, 0]
