"""The per-edge model on uint32 lanes against the scalar per-edge route, MAC for MAC.

Expected values come from :func:`pe_models.kernels.registered_mac_stream` on the same ``CELLS_EDGE`` row
(the scalar per-edge model, itself checked against the exact event kernel in test_chain_edge.py), run
PE by PE; the lane kernels run a row of PEs sharing the stream operand (a lane per PE) or one PE's
stream (a lane per step). Tables: the default PE's on the characterised library at 0.65-0.5 V, and
random tables that exercise every blend (all three scenarios differing), the stale, late-chain and
fallback masks, and a narrower accumulator.
"""

from __future__ import annotations

import numpy as np
import pytest

from pe_models import kernels
from pe_models.chain import mac_parameters
from pe_models.pe import OperatingPoint, PEConfig, stage_timing

PE = PEConfig(technology="ptm-32nm-hp-cells")
SUPPLIES = (0.65, 0.6, 0.55, 0.5)


def _library_row(vdd_v: float) -> np.ndarray:
    timing = stage_timing(PE, operating_point=OperatingPoint(vdd_v=vdd_v, f_clk_mhz=700.0))
    row = mac_parameters(PE, timing)[0]
    assert row[kernels.PARAM_CELLS] == kernels.CELLS_EDGE
    return row


def _random_row(seed: int, width: int) -> np.ndarray:
    """A ``CELLS_EDGE`` row with random tables: per scenario up to 8 distinct step counts, each sum bit's
    (v, p) in one slot or none, random stale (late-chain a subset) and fallback masks, random late
    product bits."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    row = np.zeros(kernels.PARAM_STAGE + 2 * kernels.EDGE_TABLE_WORDS, dtype=np.int64)
    mask = (1 << width) - 1
    row[kernels.PARAM_CELLS] = kernels.CELLS_EDGE
    row[kernels.PARAM_MASK] = mask
    row[kernels.PARAM_LATE_PRODUCT] = int(rng.integers(0, 1 << 16)) & int(rng.choice([0, 0xE000, 0xFFF8, 0x8000]))
    row[kernels.PARAM_CARRY_STEPS] = kernels.PARAM_STAGE
    row[kernels.PARAM_SHADOW_STEPS] = kernels.PARAM_STAGE + kernels.EDGE_TABLE_WORDS
    for table in range(2):
        for scenario in range(3):
            base = kernels.PARAM_STAGE + table * kernels.EDGE_TABLE_WORDS + scenario * kernels.EDGE_SCENARIO_WORDS
            steps = rng.choice(40, size=kernels.EDGE_SLOTS, replace=False)
            for vp in range(4):
                slot_of_bit = rng.integers(-1, kernels.EDGE_SLOTS, width)
                for slot in range(kernels.EDGE_SLOTS):
                    row[base + 5 * slot] = steps[slot]
                    row[base + 5 * slot + 1 + vp] = int(sum(1 << i for i in np.flatnonzero(slot_of_bit == slot)))
            tail = base + 5 * kernels.EDGE_SLOTS
            stale = int(rng.integers(0, 1 << 31)) & mask & ~0x7FFF
            row[tail] = stale
            row[tail + 1] = stale & int(rng.integers(0, 1 << 31))
            row[tail + 2] = int(rng.integers(0, 1 << 31)) & mask & int(rng.choice([0, 0xFF, 0xF0F0F]))
    return row


def _operands(seed: int, steps: int, lanes: int, width: int, dnn: bool) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    if dnn:
        stream = np.clip(np.maximum(rng.normal(0, 40, steps), 0), 0, 127).astype(np.int8)
        weights = np.clip(rng.normal(0, 30, lanes), -128, 127).astype(np.int8)
        psum = rng.normal(0, 3000, (steps, lanes)).astype(np.int64)
    else:
        stream = rng.integers(-128, 128, steps).astype(np.int8)
        weights = rng.integers(-128, 128, lanes).astype(np.int8)
        psum = rng.integers(-(1 << 40), 1 << 40, (steps, lanes))
    weights[:3] = (0, 1, -1)
    stream[5:9] = 0
    return stream, weights, psum & ((1 << width) - 1)


def _scalar(row: np.ndarray, stream: np.ndarray, weights: np.ndarray, psum: np.ndarray) -> tuple[np.ndarray, ...]:
    """Latched and settled sums of every PE from the scalar per-edge route."""
    steps, lanes = psum.shape
    mask = int(row[kernels.PARAM_MASK])
    late = int(row[kernels.PARAM_LATE_PRODUCT])
    latched = np.zeros((steps, lanes), dtype=np.int64)
    for lane in range(lanes):
        kernels.registered_mac_stream(
            stream, np.full(steps, weights[lane], np.int8), psum[:, lane], row, latched[:, lane]
        )
    products = (stream[:, None].astype(np.int64) * weights[None, :].astype(np.int64)) & 0xFFFF
    previous = np.vstack([np.zeros((1, lanes), dtype=np.int64), products[:-1]])
    register = (products & ~late) | (previous & late)
    settled = (psum + ((register ^ 0x8000) - 0x8000)) & mask
    return latched, settled


CASES = [pytest.param(_library_row(v), 32, id=f"library-{v}V") for v in SUPPLIES] + [
    pytest.param(_random_row(seed, width), width, id=f"random-{seed}-w{width}")
    for seed, width in ((1, 32), (2, 32), (3, 20), (4, 24))
]


@pytest.mark.parametrize("dnn", [False, True], ids=["random-operands", "dnn-operands"])
@pytest.mark.parametrize(("row", "width"), CASES)
def test_row_of_lanes_latches_what_the_scalar_route_latches(row, width, dnn):
    stream, weights, psum = _operands(11, 300, 37, width, dnn)
    expected, settled = _scalar(row, stream, weights, psum)
    out = np.zeros(psum.shape, dtype=np.uint32)
    bits = np.zeros(width, dtype=np.int64)
    form = kernels.edge_form(row, int(row[kernels.PARAM_CARRY_STEPS]), width)
    wrong = kernels.edge_stationary_lanes(
        stream, weights, psum.astype(np.uint32), out, form, 0, kernels.edge_scratch(37), bits
    )
    flips = expected ^ settled
    np.testing.assert_array_equal(out.astype(np.int64), expected)
    assert wrong == np.count_nonzero(flips)
    np.testing.assert_array_equal(bits, [np.count_nonzero((flips >> bit) & 1) for bit in range(width)])


@pytest.mark.parametrize(("row", "width"), CASES)
def test_row_in_blocks_latches_what_the_whole_stream_latches(row, width):
    stream, weights, psum = _operands(12, 120, 20, width, True)
    expected, _ = _scalar(row, stream, weights, psum)
    form = kernels.edge_form(row, int(row[kernels.PARAM_CARRY_STEPS]), width)
    out = np.zeros(psum.shape, dtype=np.uint32)
    scratch = kernels.edge_scratch(20)
    bits = np.zeros(width, dtype=np.int64)
    kernels.edge_stationary_lanes(stream[:50], weights, psum[:50].astype(np.uint32), out[:50], form, 0, scratch, bits)
    kernels.edge_stationary_lanes(stream[48:], weights, psum[48:].astype(np.uint32), out[48:], form, 2, scratch, bits)
    np.testing.assert_array_equal(out.astype(np.int64), expected)


@pytest.mark.parametrize("table", ["main", "shadow"])
@pytest.mark.parametrize(("row", "width"), CASES)
def test_one_stream_in_lanes_latches_what_the_scalar_route_latches(row, width, table):
    stream, weights, psum = _operands(13, 400, 4, width, False)
    if table == "shadow":
        row = row.copy()
        row[kernels.PARAM_CARRY_STEPS] = row[kernels.PARAM_SHADOW_STEPS]
    form = kernels.edge_form(row, int(row[kernels.PARAM_CARRY_STEPS]), width)
    scratch = kernels.edge_scratch(400)
    for lane in range(4):
        expected, settled = _scalar(row, stream, weights[lane : lane + 1], psum[:, lane : lane + 1])
        latched = np.zeros(400, dtype=np.int64)
        sums = np.zeros(400, dtype=np.int64)
        kernels.edge_stationary_stream(stream, int(weights[lane]), psum[:, lane].copy(), form, scratch, latched, sums)
        np.testing.assert_array_equal(latched, expected[:, 0])
        np.testing.assert_array_equal(sums, settled[:, 0])


def test_library_tables_make_wrong_macs():
    stream, weights, psum = _operands(14, 200, 16, 32, True)
    latched, settled = _scalar(_library_row(0.5), stream, weights, psum)
    assert np.count_nonzero(latched ^ settled) > 100
