"""A slow, literal model of SCALE-Sim v2's compute-cycle counting, for cross-checking.

It follows SCALE-Sim's steps one by one instead of using any closed form: parse the
topology file as ``topology_utils`` does, build the im2col address (operand) matrices as
``compute/operand_matrix.py`` does, then build every fold's ifmap, filter and ofmap demand
matrices (one row per clock cycle: null-request prefixes and suffixes, padding of partial
folds, flips and the systolic skew) as ``compute/systolic_compute_{ws,os,is}.py`` do, and
count their rows. With an ideal memory (SCALE-Sim's ``CALC`` bandwidth mode, no stalls)
demand row ``i`` is serviced in cycle ``i``, and SCALE-Sim reports the cycle of the last
output row, so ``total_cycles = rows - 1``.

Only for small shapes: it materialises the operand and demand matrices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NULL = -1


@dataclass
class LiteralResult:
    total_cycles: int
    folds: int
    overall_util_pct: float
    mapping_eff_pct: float
    compute_util_pct: float
    m: int
    n: int
    k: int


def read_topology(path: Path, *, gemm: bool) -> list[tuple[str, list[int]]]:
    """``(name, [ifmap_h, ifmap_w, filt_h, filt_w, channels, filters, stride_h, stride_w])``."""
    entries: list[tuple[str, list[int]]] = []
    lines = path.read_text().splitlines()
    for line in lines[1:]:
        line = line.strip()
        if line == "":
            continue
        values = line.split(",")[:-1]
        name = values[0].strip()
        if gemm:
            m, n, k = (int(value.strip()) for value in values[1:4])
            entries.append((name, [m, k, 1, k, 1, n, 1, 1]))
            continue
        numbers = [int(value.strip()) for value in values[1:]]
        if len(numbers) == 7:
            numbers.append(numbers[6])
        if "DP" in name:
            for channel in range(numbers[4]):
                per_channel = list(numbers)
                per_channel[4] = 1
                entries.append((f"{name}Channel_{channel}", per_channel))
        else:
            entries.append((name, numbers))
    return entries


def operand_matrices(params: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Address matrices: ifmap (M x K), filter (K x N), ofmap (M x N), as SCALE-Sim builds them."""
    ifmap_h, ifmap_w, filt_h, filt_w, channels, filters, stride_h, stride_w = params
    ofmap_h = math.ceil((ifmap_h - filt_h + stride_h) / stride_h)
    ofmap_w = math.ceil((ifmap_w - filt_w + stride_w) / stride_w)
    pixels = ofmap_h * ofmap_w
    window = filt_h * filt_w * channels
    ifmap_offset, filter_offset, ofmap_offset = 0, 10_000_000, 20_000_000

    row = np.arange(pixels)[:, None]
    col = np.arange(window)[None, :]
    input_row = (row // ofmap_w) * stride_h
    input_col = (row % ofmap_w) * stride_w
    window_row = col // (filt_w * channels)
    window_col = (col % (filt_w * channels)) // channels
    window_channel = col % channels
    address = (
        (input_row + window_row) * ifmap_w * channels
        + (input_col + window_col) * channels
        + window_channel
        + ifmap_offset
    )
    outside = (input_row + window_row >= ifmap_h) | (input_col + window_col >= ifmap_w)
    ifmap = np.where(outside, NULL, address)

    filter_matrix = (
        np.arange(filters)[None, :] * filt_h * filt_w * channels + np.arange(window)[:, None] + filter_offset
    )
    ofmap = np.arange(pixels)[:, None] * filters + np.arange(filters)[None, :] + ofmap_offset
    return ifmap, filter_matrix, ofmap


def _nulls(rows: int, cols: int) -> np.ndarray:
    return np.full((rows, cols), NULL, dtype=np.int64)


def _pad_cols(block: np.ndarray, width: int) -> np.ndarray:
    return np.concatenate((block, _nulls(block.shape[0], width - block.shape[1])), axis=1)


def _pad_rows(block: np.ndarray, height: int) -> np.ndarray:
    return np.concatenate((block, _nulls(height - block.shape[0], block.shape[1])), axis=0)


def _skew(block: np.ndarray) -> np.ndarray:
    """Column c delayed by c cycles: (rows + cols - 1) x cols."""
    rows, cols = block.shape
    out = _nulls(rows + cols - 1, cols)
    for column in range(cols):
        out[column : column + rows, column] = block[:, column]
    return out


def _fold_demands(dataflow, ifmap, filt, ofmap, R, C, fr, fc):
    """The three demand matrices of fold (fr, fc) and its (rows_used, cols_used, T)."""
    if dataflow == "ws":
        Sr, Sc, T = ifmap.shape[1], filt.shape[1], ifmap.shape[0]
        r0, r1 = fr * R, min(fr * R + R, Sr)
        c0, c1 = fc * C, min(fc * C + C, Sc)
        ifmap_demand = _pad_cols(ifmap[:, r0:r1], R)
        ifmap_demand = np.concatenate((_nulls(R, R), ifmap_demand, _nulls(C - 1, R)))
        ifmap_demand = _skew(ifmap_demand)
        filter_demand = _pad_rows(_pad_cols(filt[r0:r1, c0:c1], C), R)[::-1]
        filter_demand = np.concatenate((filter_demand, _nulls(R + C + T - 2, C)))
        util_shape = filter_demand.shape
        ofmap_demand = _pad_cols(ofmap[:, c0:c1], C)
        ofmap_demand = _skew(np.concatenate((_nulls(2 * R - 1, C), ofmap_demand)))
    elif dataflow == "os":
        Sr, Sc, T = ifmap.shape[0], filt.shape[1], ifmap.shape[1]
        r0, r1 = fr * R, min(fr * R + R, Sr)
        c0, c1 = fc * C, min(fc * C + C, Sc)
        ifmap_demand = _pad_cols(ifmap.T[:, r0:r1], R)
        ifmap_demand = _skew(np.concatenate((ifmap_demand, _nulls(C - 1, R))))
        filter_demand = _pad_cols(filt[:, c0:c1], C)
        filter_demand = _skew(np.concatenate((filter_demand, _nulls(R - 1, C))))
        ofmap_demand = _pad_rows(_pad_cols(ofmap[r0:r1, c0:c1], C), R)[::-1]
        ofmap_demand = np.concatenate((_nulls(T - 1, C), ofmap_demand))
        util_shape = ofmap_demand.shape
        ofmap_demand = _skew(ofmap_demand)
    else:
        Sr, Sc, T = ifmap.shape[1], ifmap.shape[0], filt.shape[1]
        r0, r1 = fr * R, min(fr * R + R, Sr)
        c0, c1 = fc * C, min(fc * C + C, Sc)
        ifmap_demand = _pad_rows(_pad_cols(ifmap.T[r0:r1, c0:c1], C), R)[::-1]
        ifmap_demand = np.concatenate((ifmap_demand, _nulls(R + C + T - 2, C)))
        util_shape = ifmap_demand.shape
        filter_demand = _pad_cols(filt[r0:r1, :].T, R)
        filter_demand = _skew(np.concatenate((_nulls(R, R), filter_demand, _nulls(C - 1, R))))
        ofmap_demand = _pad_cols(ofmap[c0:c1, :].T, C)
        ofmap_demand = _skew(np.concatenate((_nulls(2 * R - 1, C), ofmap_demand)))
    return (ifmap_demand, filter_demand, ofmap_demand), (r1 - r0, c1 - c0, T), util_shape


def simulate_layer(params: list[int], *, rows: int, cols: int, dataflow: str) -> LiteralResult:
    """SCALE-Sim's compute report items for one layer, counted from demand matrices."""
    ifmap, filt, ofmap = operand_matrices(params)
    M, K = ifmap.shape
    N = filt.shape[1]
    Sr, Sc = {"ws": (K, N), "os": (M, N), "is": (K, M)}[dataflow]
    row_folds, col_folds = math.ceil(Sr / rows), math.ceil(Sc / cols)
    demand_rows = 0
    mapping_effs: list[float] = []
    compute_utils: list[float] = []
    for fc in range(col_folds):
        for fr in range(row_folds):
            demands, (used_r, used_c, T), util_shape = _fold_demands(dataflow, ifmap, filt, ofmap, rows, cols, fr, fc)
            lengths = {demand.shape[0] for demand in demands}
            assert len(lengths) == 1, "demand matrices out of sync"
            demand_rows += lengths.pop()
            mac_used = used_r * used_c
            mapping_effs.append(mac_used / (rows * cols))
            fold_cycles = util_shape[0] + util_shape[1] - 1
            compute_utils.append(mac_used * T / (rows * cols * fold_cycles))
    total_cycles = demand_rows - 1
    return LiteralResult(
        total_cycles=total_cycles,
        folds=row_folds * col_folds,
        overall_util_pct=M * N * K * 100 / (total_cycles * rows * cols) if total_cycles else float("inf"),
        mapping_eff_pct=100 * sum(mapping_effs) / len(mapping_effs),
        compute_util_pct=100 * sum(compute_utils) / len(compute_utils),
        m=M,
        n=N,
        k=K,
    )
