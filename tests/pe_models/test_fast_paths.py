"""The stationary-operand stream kernel (screen + closed form) against two independent evaluations.

``compound_stationary_stream`` must give, bit for bit, what consecutive MACs of one PE
give through (a) the existing stream kernel ``compound_mac_stream`` (closed form per MAC)
and (b) the iterative carry recurrence of the chain level (``rca_compound_one`` via
``evaluate_adder_stage``, stepping ``C_k = G | P & C_{k-1}`` one carry delay at a time), on
random streams and on streams built to exercise long carry runs, at several VDDs, with
per-PE delay factors (process variation), late product bits and several accumulator
widths. Both of its internal paths (screened suspects, full vectorised pass) are forced.
"""

import numpy as np
import pytest

from pe_models import kernels
from pe_models.chain import evaluate_adder_stage, mac_parameters
from pe_models.pe import OperatingPoint, PEConfig, stage_timing
from pe_models.variation import ProcessVariation

TECHNOLOGY = "generic-28nm"
"""Where 28 and 21 carry delays fit a 700 MHz clock at 0.55 V and 0.5 V (a few per cent of MACs wrong)."""


def _new_kernel(stream, weight, partial, late, steps, mask):
    n = stream.shape[0]
    latched = np.empty(n, dtype=np.int64)
    settled = np.empty(n, dtype=np.int64)
    any_flip = kernels.compound_stationary_stream(
        stream, weight, partial, late, steps, mask, latched, settled, np.empty(n, dtype=np.uint8)
    )
    return latched, settled, any_flip


def _stream_kernel(stream, weight, partial, late, steps, mask):
    """(a): the per-MAC closed form of compound_mac_stream; settled sums from the latched product."""
    n = stream.shape[0]
    latched = np.empty(n, dtype=np.int64)
    kernels.compound_mac_stream(stream, np.full(n, weight, dtype=np.int8), partial, late, steps, mask, latched)
    products = (stream.astype(np.int64) * weight) & 0xFFFF
    previous = np.concatenate([[0], products[:-1]])
    register = (products & ~late) | (previous & late)
    extended = ((register ^ 0x8000) - 0x8000) & mask
    return latched, (partial + extended) & mask


def _long_carry_stream(rng, n, width):
    """Partial sums hovering around 0 and around the wrap point, with products that cross them."""
    kind = rng.integers(0, 4, n)
    small = rng.integers(-200, 200, n)
    near_top = (1 << (width - 1)) - 1 - rng.integers(0, 300, n)
    partial = np.where(kind == 0, small, np.where(kind == 1, near_top, np.where(kind == 2, -1 - small, 0)))
    stream = rng.choice(np.array([-128, -1, 0, 1, 127, 64, -64], dtype=np.int8), n)
    return stream, partial & ((1 << width) - 1)


def _dnn_like_stream(rng, n, width):
    """ReLU activations and growing partial sums of one sign: few MACs can latch a stale carry."""
    stream = np.clip(rng.normal(0, 30, n), 0, 127).astype(np.int8)
    partial = np.cumsum(rng.integers(0, 3000, n))
    crossings = rng.random(n) < 0.01
    partial[crossings] = -rng.integers(1, 100, crossings.sum())
    return stream, partial & ((1 << width) - 1)


def _streams(rng, width):
    mask = (1 << width) - 1
    n = 600
    yield rng.integers(-128, 128, n).astype(np.int8), rng.integers(0, 1 << width, n) & mask
    yield rng.integers(-128, 128, n).astype(np.int8), rng.integers(-3000, 3000, n) & mask
    yield _long_carry_stream(rng, n, width)
    yield _dnn_like_stream(rng, n, width)
    yield rng.integers(-128, 128, 2).astype(np.int8), rng.integers(-5, 5, 2) & mask
    yield rng.integers(-128, 128, 1).astype(np.int8), rng.integers(-5, 5, 1) & mask


@pytest.mark.parametrize("width", [32, 24, 40])
@pytest.mark.parametrize("steps", [-1, 0, 3, 11, 12, 16, 21, 28, 31, 39, 45])
def test_stream_kernel_equals_the_per_mac_closed_form(rng, width, steps):
    mask = (1 << width) - 1
    weights = (-128, -77, -1, 1, 45, 127)
    compared = flips = 0
    for stream, partial in _streams(rng, width):
        for weight in weights:
            for late in (0, 0x8000, 0x0F0F):
                latched, settled, any_flip = _new_kernel(stream, weight, partial, late, steps, mask)
                expected_latched, expected_settled = _stream_kernel(stream, weight, partial, late, steps, mask)
                assert np.array_equal(latched, expected_latched), (weight, late)
                assert np.array_equal(settled, expected_settled), (weight, late)
                assert any_flip == np.bitwise_or.reduce(expected_latched ^ expected_settled)
                compared += 1
                flips += int(np.count_nonzero(expected_latched != expected_settled))
    assert compared == 6 * len(weights) * 3
    if 0 <= steps < width - 8:
        assert flips > 0


def _recurrence(pe, timing, stream, weight, partial, lane_factor=None):
    """(b): the chain level's iterative carry recurrence, MAC by MAC (old inputs = the MAC before)."""
    width = pe.width
    products = stream.astype(np.int64) * weight
    old_products = np.concatenate([[0], products[:-1]])
    old_partial = np.concatenate([[0], partial[:-1]])
    factors = None if lane_factor is None else np.full(stream.shape[0], lane_factor)
    latched, correct, _, _ = evaluate_adder_stage(
        pe,
        timing,
        old_product=old_products,
        old_partial=old_partial,
        new_product=products,
        new_partial=partial,
        lane_factors=factors,
    )
    mask = (1 << width) - 1
    return latched & mask, correct & mask


@pytest.mark.parametrize("vdd", [0.9, 0.6, 0.55, 0.5, 0.48])
def test_stream_kernel_equals_the_iterative_carry_recurrence(rng, vdd):
    pe = PEConfig(cells="compound", technology=TECHNOLOGY)
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd, f_clk_mhz=700.0))
    params = mac_parameters(pe, timing)[0]
    assert params[kernels.PARAM_LATE_PRODUCT] == 0
    mask = params[kernels.PARAM_MASK]
    wrong = 0
    for stream, partial in _streams(rng, pe.width):
        for weight in (-128, -3, 77):
            latched, settled, _ = _new_kernel(stream, weight, partial, 0, params[kernels.PARAM_CARRY_STEPS], mask)
            expected_latched, expected_settled = _recurrence(pe, timing, stream, weight, partial)
            assert np.array_equal(latched, expected_latched)
            assert np.array_equal(settled, expected_settled)
            wrong += int(np.count_nonzero(latched != settled))
    if vdd <= 0.55:
        assert wrong > 0


def test_stream_kernel_with_process_variation(rng):
    """Per-PE delay factors: every PE's own carry steps and late product bits (its parameter row)."""
    pe = PEConfig(cells="compound", technology=TECHNOLOGY)
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=0.52, f_clk_mhz=700.0))
    factors = ProcessVariation(sigma_pe=0.08).pe_delay_factors(shape=(4, 4), seed=np.random.SeedSequence(3)).ravel()
    rows = mac_parameters(pe, timing, lane_factors=factors)
    assert len(set(rows[:, kernels.PARAM_CARRY_STEPS].tolist())) > 1
    mask = rows[0, kernels.PARAM_MASK]
    for factor, row in zip(factors, rows, strict=True):
        stream, partial = _long_carry_stream(rng, 400, pe.width)
        latched, settled, _ = _new_kernel(
            stream, 93, partial, row[kernels.PARAM_LATE_PRODUCT], row[kernels.PARAM_CARRY_STEPS], mask
        )
        expected_latched, expected_settled = _stream_kernel(
            stream, 93, partial, row[kernels.PARAM_LATE_PRODUCT], row[kernels.PARAM_CARRY_STEPS], mask
        )
        assert np.array_equal(latched, expected_latched)
        assert np.array_equal(settled, expected_settled)
        if row[kernels.PARAM_LATE_PRODUCT] == 0:
            recurrence_latched, _ = _recurrence(pe, timing, stream, 93, partial, factor)
            assert np.array_equal(latched, recurrence_latched)


def test_screened_and_full_paths_both_run():
    """A stream with no suspect, one with a few (screened path) and one with many (full pass).

    Product 6 after a partial sum of -1 (sum 5: carries into bits 2..31 set), then -7: the
    new sum -1 has no carry and every bit propagates, so after 21 carry delays the carry
    into bit i >= 21 still shows the old carry into bit i - 21, set for i >= 23: bits
    23..31 latch 0 instead of 1.
    """
    mask = 0xFFFFFFFF
    steps = 21
    stream = np.full(64, 3, dtype=np.int8)
    calm = np.arange(64, dtype=np.int64) * 1000 + 5_000_000
    latched, settled, any_flip = _new_kernel(stream, 2, calm, 0, steps, mask)
    assert any_flip == 0 and np.array_equal(latched, settled)
    few = calm.copy()
    few[40] = mask
    few[41] = mask - 6
    expected = _stream_kernel(stream, 2, few, 0, steps, mask)[0]
    latched, settled, any_flip = _new_kernel(stream, 2, few, 0, steps, mask)
    assert np.array_equal(latched, expected)
    assert any_flip != 0
    assert latched[41] ^ settled[41] == 0xFF800000
    many = np.where(np.arange(64) % 2 == 0, mask, mask - 6).astype(np.int64)
    expected = _stream_kernel(stream, 2, many, 0, steps, mask)[0]
    latched, _, any_flip = _new_kernel(stream, 2, many, 0, steps, mask)
    assert np.array_equal(latched, expected)
    assert any_flip != 0


def _screened_kernel(stream, weight, partial, late, steps, width, screen):
    """The uint32 screened kernel: latched sums, wrong MACs and wrong bits per position."""
    n = stream.shape[0]
    latched = np.empty(n, dtype=np.uint32)
    bit_counts = np.zeros(width, dtype=np.int64)
    wrong, _ = kernels.compound_stationary_screened(
        stream,
        weight,
        partial.astype(np.uint32),
        latched,
        kernels.CompoundTiming(late_product=late, steps=steps, width=width),
        screen,
        np.empty(kernels.WRONG_WORDS, dtype=np.uint32),
        bit_counts,
    )
    return latched.astype(np.int64), wrong, bit_counts


@pytest.mark.parametrize("screen", [True, False], ids=["screened", "unscreened"])
def test_screened_kernel_on_arrays_that_are_not_c_contiguous(rng, screen):
    """A strided stream, strided partial and latched sums and a strided word buffer (each MAC's elements
    not adjacent, so the vector groups load, store and append lane by lane) latch what the int64
    stream kernel latches, with its wrong MACs and bits."""
    width, steps, n = 32, 21, 301
    stream = np.repeat(_dnn_like_stream(rng, n, width)[0], 2)[::2]
    partial = _long_carry_stream(rng, n, width)[1]
    for late in (0, 0x8000):
        latched = np.empty(2 * n, dtype=np.uint32)[::2]
        bit_counts = np.zeros(width, dtype=np.int64)
        wrong, _ = kernels.compound_stationary_screened(
            stream,
            45,
            np.repeat(partial.astype(np.uint32), 3)[::3],
            latched,
            kernels.CompoundTiming(late_product=late, steps=steps, width=width),
            screen,
            np.empty(2 * kernels.WRONG_WORDS, dtype=np.uint32)[::2],
            bit_counts,
        )
        expected_latched, expected_settled, _ = _new_kernel(stream, 45, partial, late, steps, (1 << width) - 1)
        flips = expected_latched ^ expected_settled
        assert np.array_equal(latched.astype(np.int64), expected_latched), late
        assert wrong == np.count_nonzero(flips) > 0
        assert np.array_equal(bit_counts, _bits_per_position(flips, width))


@pytest.mark.parametrize("n", [33, 34, 35, 65, 66, 67, 130, 131])
def test_screened_kernel_at_every_group_boundary(rng, n):
    """Streams ending just before, at and after a full group of explicit-vector MACs (MACs 2.. in groups
    of ``WRONG_GROUP``, the rest one by one): the int64 stream kernel's latched sums, wrong MACs and
    bits."""
    width, steps = 32, 21
    stream, partial = _long_carry_stream(rng, n, width)
    for late in (0, 0x0F0F):
        latched, wrong, bit_counts = _screened_kernel(stream, -77, partial, late, steps, width, False)
        expected_latched, expected_settled, _ = _new_kernel(stream, -77, partial, late, steps, (1 << width) - 1)
        flips = expected_latched ^ expected_settled
        assert np.array_equal(latched, expected_latched), late
        assert wrong == np.count_nonzero(flips)
        assert np.array_equal(bit_counts, _bits_per_position(flips, width))


def _bits_per_position(flips, width):
    return np.array([int(np.count_nonzero((flips >> bit) & 1)) for bit in range(width)], dtype=np.int64)


def _long_streams(rng, width):
    """Streams of several screening chunks: DNN-like (few suspect chunks) and mixed."""
    yield _dnn_like_stream(rng, 5 * kernels.SCREEN_CHUNK + 37, width)
    stream, partial = _dnn_like_stream(rng, 4 * kernels.SCREEN_CHUNK, width)
    crossing, crossing_partial = _long_carry_stream(rng, 40, width)
    stream[300:340], partial[300:340] = crossing, crossing_partial
    yield stream, partial


@pytest.mark.parametrize("width", [32, 24, 16])
@pytest.mark.parametrize("steps", [0, 1, 3, 8, 11, 12, 15, 16, 21, 23, 28, 31, 32, 40])
@pytest.mark.parametrize("screen", [True, False], ids=["screened", "unscreened"])
def test_uint32_screened_kernel_equals_the_stream_kernel(rng, width, steps, screen):
    """Latched sums, the number of wrong MACs and the wrong bits per position, against
    ``compound_stationary_stream``, for every path: settled only (steps >= width), chunks
    screened on the core (2 steps >= width), every chunk in closed form, late product bits."""
    mask = (1 << width) - 1
    wrong_total = 0
    for stream, partial in [*_streams(rng, width), *_long_streams(rng, width)]:
        for weight in (-128, -77, -1, 1, 45, 127):
            for late in (0, 0x8000, 0x0F0F):
                latched, wrong, bit_counts = _screened_kernel(stream, weight, partial, late, steps, width, screen)
                expected_latched, expected_settled, _ = _new_kernel(stream, weight, partial, late, steps, mask)
                flips = expected_latched ^ expected_settled
                assert np.array_equal(latched, expected_latched), (weight, late)
                assert wrong == np.count_nonzero(flips)
                assert np.array_equal(bit_counts, _bits_per_position(flips, width))
                wrong_total += wrong
    if steps < width - 8:
        assert wrong_total > 0


@pytest.mark.parametrize("vdd", [0.9, 0.6, 0.55, 0.5, 0.48, 0.45, 0.4])
def test_uint32_screened_kernel_at_the_pe_operating_points(rng, vdd):
    """The PE's own carry steps and late product bits at each VDD: against the iterative carry
    recurrence while the multiplier meets timing (down to 0.48 V), against the per-MAC closed
    form of ``compound_mac_stream`` below (late product bits; at 0.4 V fewer than width / 2
    carry delays fit, no core to screen on)."""
    pe = PEConfig(cells="compound", technology=TECHNOLOGY)
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd, f_clk_mhz=700.0))
    params = mac_parameters(pe, timing)[0]
    steps, late, mask = (
        params[kernels.PARAM_CARRY_STEPS],
        params[kernels.PARAM_LATE_PRODUCT],
        params[kernels.PARAM_MASK],
    )
    assert (late == 0) == (vdd >= 0.48)
    for stream, partial in [*_streams(rng, pe.width), *_long_streams(rng, pe.width)]:
        for weight in (-128, -3, 77):
            if late == 0:
                expected_latched, expected_settled = _recurrence(pe, timing, stream, weight, partial)
            else:
                expected_latched, expected_settled = _stream_kernel(stream, weight, partial, late, steps, mask)
            for screen in (True, False):
                latched, wrong, _ = _screened_kernel(stream, weight, partial, late, steps, pe.width, screen)
                assert np.array_equal(latched, expected_latched)
                assert wrong == np.count_nonzero(expected_latched != expected_settled)


def _lanes_kernel(stream, weights, partials, latched, late, steps, width, screen, bit_counts, first=0, order="C"):
    """``compound_stationary_lanes`` with scratch arrays (and the latched sums) full of ones, so that
    nothing the kernel reads is zero unless it wrote it, and the partial sums in memory `order`:
    the number of wrong MACs."""
    latched.fill(0xFFFFFFFF)
    flags = kernels.lane_flags(weights.shape[0])
    flags.fill(0xFF)
    wrong, _ = kernels.compound_stationary_lanes(
        stream,
        weights,
        np.asarray(partials, dtype=np.uint32, order=order),
        latched,
        kernels.CompoundTiming(late_product=late, steps=steps, width=width),
        screen,
        first,
        kernels.LaneScratch(
            masks=np.full(stream.shape[0] * (weights.shape[0] // kernels.WRONG_GROUP + 1), 0xFFFFFFFF, dtype=np.uint32),
            words=np.full(kernels.WRONG_WORDS, 0xFFFFFFFF, dtype=np.uint32),
            flags=flags,
        ),
        bit_counts,
    )
    return wrong


@pytest.mark.parametrize("width", [32, 24])
@pytest.mark.parametrize("steps", [0, 3, 12, 16, 21, 28, 31, 40])
@pytest.mark.parametrize(
    "screen",
    [kernels.SCREEN_LAZY, kernels.SCREEN_EAGER, kernels.SCREEN_OFF],
    ids=["screened-lazy", "screened-eager", "unscreened"],
)
def test_lanes_kernel_equals_the_stream_kernel_lane_by_lane(rng, width, steps, screen):
    """``compound_stationary_lanes`` (a row of PEs, one lane each, sharing the stream operand)
    gives each lane what ``compound_stationary_stream`` gives that PE alone (45 lanes: a full
    group of ``WRONG_GROUP`` lanes and a partial one)."""
    mask = (1 << width) - 1
    weights = np.resize(np.array([-128, -77, -3, -1, 0, 1, 2, 45, 99, 127, -64, 17, 5], dtype=np.int8), 45)
    wrong_total = 0
    for stream, _ in _streams(rng, width):
        partials = np.stack([_long_carry_stream(rng, stream.shape[0], width)[1] for _ in weights], axis=1)
        partials[:, ::3] = np.stack([_dnn_like_stream(rng, stream.shape[0], width)[1] for _ in weights[::3]], axis=1)
        for late in (0, 0x8000):
            latched = np.empty(partials.shape, dtype=np.uint32)
            bit_counts = np.zeros(width, dtype=np.int64)
            wrong = _lanes_kernel(stream, weights, partials, latched, late, steps, width, screen, bit_counts)
            expected_wrong = 0
            expected_bits = np.zeros(width, dtype=np.int64)
            for lane, weight in enumerate(weights):
                expected_latched, expected_settled, _ = _new_kernel(
                    stream, int(weight), partials[:, lane], late, steps, mask
                )
                assert np.array_equal(latched[:, lane].astype(np.int64), expected_latched), (lane, late)
                flips = expected_latched ^ expected_settled
                expected_wrong += int(np.count_nonzero(flips))
                expected_bits += _bits_per_position(flips, width)
            assert wrong == expected_wrong
            assert np.array_equal(bit_counts, expected_bits)
            wrong_total += wrong
    if steps < width - 8:
        assert wrong_total > 0


@pytest.mark.parametrize(
    "screen",
    [kernels.SCREEN_LAZY, kernels.SCREEN_EAGER, kernels.SCREEN_OFF],
    ids=["screened-lazy", "screened-eager", "unscreened"],
)
def test_lanes_kernel_on_arrays_that_are_not_c_contiguous(rng, screen):
    """Column-major partial sums and latched sums and a strided weight row (each lane's elements not
    adjacent) latch, lane by lane, what the int64 stream kernel latches."""
    width, steps = 32, 21
    weights = np.resize(np.array([-128, -77, -3, -1, 0, 1, 2, 45, 99, 127, -64, 17, 5], dtype=np.int8), 90)[::2]
    stream = _dnn_like_stream(rng, 300, width)[0]
    partials = np.stack([_long_carry_stream(rng, 300, width)[1] for _ in weights], axis=1)
    for late in (0, 0x8000):
        latched = np.empty(partials.shape, dtype=np.uint32, order="F")
        bit_counts = np.zeros(width, dtype=np.int64)
        wrong = _lanes_kernel(stream, weights, partials, latched, late, steps, width, screen, bit_counts, order="F")
        expected_wrong = 0
        for lane, weight in enumerate(weights):
            expected_latched, expected_settled, _ = _new_kernel(
                stream, int(weight), partials[:, lane], late, steps, (1 << width) - 1
            )
            assert np.array_equal(latched[:, lane].astype(np.int64), expected_latched), (lane, late)
            expected_wrong += int(np.count_nonzero(expected_latched ^ expected_settled))
        assert wrong == expected_wrong > 0


@pytest.mark.parametrize("split", [1, 2, 3, 64, 149])
@pytest.mark.parametrize("steps", [12, 21])
@pytest.mark.parametrize(
    "screen",
    [kernels.SCREEN_LAZY, kernels.SCREEN_EAGER, kernels.SCREEN_OFF],
    ids=["screened-lazy", "screened-eager", "unscreened"],
)
def test_lanes_kernel_from_a_later_first_step_continues_the_stream(rng, split, steps, screen):
    """A block of a stream that starts ``first`` steps early (the engine's blocks of steps) latches,
    from step ``first`` on, what the whole stream latches there: the int64 stream kernel's
    values lane by lane, and the wrong MACs and bits of those steps only."""
    width, steps_t = 32, 150
    weights = np.resize(np.array([-128, -77, -3, -1, 0, 1, 2, 45, 99, 127, -64, 17, 5], dtype=np.int8), 45)
    stream = _dnn_like_stream(rng, steps_t, width)[0]
    partials = np.stack([_long_carry_stream(rng, steps_t, width)[1] for _ in weights], axis=1)
    partials[:, ::3] = np.stack([_dnn_like_stream(rng, steps_t, width)[1] for _ in weights[::3]], axis=1)
    for late in (0, 0x8000):
        lead = min(split, 2)
        block = slice(split - lead, steps_t)
        latched = np.zeros((steps_t - split + lead, weights.shape[0]), dtype=np.uint32)
        bit_counts = np.zeros(width, dtype=np.int64)
        wrong = _lanes_kernel(
            stream[block], weights, partials[block], latched, late, steps, width, screen, bit_counts, first=lead
        )
        expected_wrong = 0
        expected_bits = np.zeros(width, dtype=np.int64)
        for lane, weight in enumerate(weights):
            expected_latched, expected_settled, _ = _new_kernel(
                stream, int(weight), partials[:, lane], late, steps, (1 << width) - 1
            )
            assert np.array_equal(latched[lead:, lane].astype(np.int64), expected_latched[split:]), (lane, late)
            flips = (expected_latched ^ expected_settled)[split:]
            expected_wrong += int(np.count_nonzero(flips))
            expected_bits += _bits_per_position(flips, width)
        assert wrong == expected_wrong > 0
        assert np.array_equal(bit_counts, expected_bits)


def _crossing_stream(n):
    """Product 6 after partial sums alternating -1 and -7 (the "many" stream of
    ``test_screened_and_full_paths_both_run``): with 21 carry delays every MAC latches a
    wrong value (derived by hand in ``test_hand_derived_wrong_bits_of_the_crossing_stream``)."""
    stream = np.full(n, 3, dtype=np.int8)
    partial = np.where(np.arange(n) % 2 == 0, 0xFFFFFFFF, 0xFFFFFFFF - 6).astype(np.int64)
    return stream, partial


@pytest.mark.parametrize("screen", [True, False], ids=["screened", "unscreened"])
def test_more_wrong_macs_than_the_word_buffer_holds(screen):
    """More wrong MACs in one stream than ``WRONG_WORDS``: the buffer is counted and emptied
    on the way, and no wrong MAC or bit is lost."""
    n = 3 * kernels.WRONG_WORDS + 50
    stream, partial = _crossing_stream(n)
    latched, wrong, bit_counts = _screened_kernel(stream, 2, partial, 0, 21, 32, screen)
    expected_latched, expected_settled, _ = _new_kernel(stream, 2, partial, 0, 21, 0xFFFFFFFF)
    assert np.array_equal(latched, expected_latched)
    flips = expected_latched ^ expected_settled
    assert wrong == np.count_nonzero(flips) > kernels.WRONG_WORDS
    assert np.array_equal(bit_counts, _bits_per_position(flips, 32))


@pytest.mark.parametrize(
    "screen",
    [kernels.SCREEN_LAZY, kernels.SCREEN_EAGER, kernels.SCREEN_OFF],
    ids=["screened-lazy", "screened-eager", "unscreened"],
)
def test_lanes_kernel_with_more_wrong_macs_than_the_word_buffer_holds(screen):
    """The lanes kernel's word buffer overflows within one call and is counted on the way."""
    steps_t, lanes = 200, 40
    stream, partial = _crossing_stream(steps_t)
    weights = np.full(lanes, 2, dtype=np.int8)
    partials = np.ascontiguousarray(np.repeat(partial[:, None], lanes, axis=1), dtype=np.uint32)
    latched = np.empty(partials.shape, dtype=np.uint32)
    bit_counts = np.zeros(32, dtype=np.int64)
    wrong = _lanes_kernel(stream, weights, partials, latched, 0, 21, 32, screen, bit_counts)
    expected_latched, expected_settled, _ = _new_kernel(stream, 2, partial, 0, 21, 0xFFFFFFFF)
    flips = expected_latched ^ expected_settled
    assert np.array_equal(latched.astype(np.int64), np.repeat(expected_latched[:, None], lanes, axis=1))
    assert wrong == lanes * np.count_nonzero(flips) > kernels.WRONG_WORDS
    assert np.array_equal(bit_counts, lanes * _bits_per_position(flips, 32))


def test_hand_derived_wrong_bits_of_the_crossing_stream():
    """What the two buffer tests rely on, by hand. Even MACs: -1 + 6 = 5, carries into bits
    2..31, propagate everywhere but bits 1 and 2, after a MAC with no carry: bits i >= 24
    (whose 21 bits below propagate) latch the old carry 0, so bits 24..31 are wrong. Odd
    MACs: -7 + 6 = -1, no carry, every bit propagates, after carries into bits 2..31: bits
    23..31 latch the old carry from 21 bits below, 1. MAC 0 follows the all-zero state."""
    stream, partial = _crossing_stream(40)
    latched, settled, _ = _new_kernel(stream, 2, partial, 0, 21, 0xFFFFFFFF)
    assert np.array_equal(latched ^ settled, np.tile([0xFF000000, 0xFF800000], 20))


@pytest.mark.parametrize("length", [0, 1, 254, 255, 256, 1000])
def test_count_word_bits_counts_every_bit_position(rng, length):
    """The bulk bit counter against numpy, across its 255-word passes, for a shorter count array."""
    words = rng.integers(0, 1 << 32, length, dtype=np.uint64).astype(np.uint32)
    counts = np.full(20, 5, dtype=np.int64)
    kernels.count_word_bits(words, length, counts)
    expected = 5 + np.array([np.count_nonzero((words >> bit) & 1) for bit in range(20)])
    assert np.array_equal(counts, expected)
