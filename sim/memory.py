"""SRAM and DRAM traffic of a layer and the stall cycles a DRAM bandwidth limit causes.

The memory system: one SRAM buffer per operand (ifmap, filter, ofmap) with the capacity
of :class:`sim.config.ArrayConfig` (``*_sram_kib``), double buffered, behind one DRAM
interface of ``dram_bandwidth_words_per_cycle`` shared by reads and writes. Counts are in
words (``word_bytes`` bytes; partial sums are counted as words too).

**Traffic.** The folds run in SCALE-Sim's order (:meth:`sim.mapping.Mapping.iter_folds`:
group, column fold, row fold). In each dataflow the three operands play three roles:

========= ============================ ============================ ============================
dataflow  ifmap                        filter                       ofmap
========= ============================ ============================ ============================
ws        *cyclic*: tile ``r`` (a x T)  *unique*: tile (r, c) (a b)  *accumulated*: tile ``c`` (b x T)
os        *cyclic*: tile ``r`` (a x T)  *held*: tile ``c`` (b x T)    *unique*: tile (r, c) (a b)
is        *unique*: tile (r, c) (a b)   *cyclic*: tile ``r`` (a x T)  *accumulated*: tile ``c`` (b x T)
========= ============================ ============================ ============================

(``a x b`` PEs used, ``T`` the streamed length, ``r`` the row fold, ``c`` the column fold.)

- *unique*: every tile is used by one fold only: fetched (or written) once.
- *cyclic*: the row-fold tiles are used again in every column fold. If the operand's
  whole footprint per group (``S_r T`` words) fits in its buffer it is fetched once;
  otherwise the first ``p = max(0, floor((S - 2 R T) / (R T)))`` full tiles stay pinned
  in the buffer (the rest of it double-buffers the streamed tiles) and every other tile
  is fetched again in each column fold.
- *held*: the same tile serves the ``row_folds`` consecutive folds of a column: fetched
  once if it fits in half the buffer (the other half prefetches the next column's tile),
  or if the operand's footprint per group fits, otherwise again for every fold.
- *accumulated*: the partial sums of column ``c`` accumulate over its row folds. If the
  tile fits in half the ofmap buffer (the other half drains the previous tile), or the
  whole output per group fits, it is written to DRAM once, after the last row fold;
  otherwise every fold's partial sums are written to DRAM and read back by the next row
  fold.

The ifmap lives in DRAM as a feature map, not as its im2col matrix: the array reads
``M K`` im2col words per pass, but a convolution has only ``U = min(H W C / groups, M K)``
distinct input words per group (the buffer serves the repeats of overlapping windows, as
SCALE-Sim's address-based buffers do). A tile's ifmap DRAM words are its share of ``U``,
proportional to its share of the im2col words (``a T U / (M K)``, exact rationals; halo
pixels fetched twice by neighbouring tiles are not counted). So when every operand fits
in its buffer the DRAM traffic is the compulsory traffic (each distinct input word read
once, each output word written once), and it never decreases when a buffer shrinks.

SRAM accesses: the array reads every operand word it consumes from its buffer (``a b``
for a stationary tile, ``a T`` or ``b T`` for a streamed one, as SCALE-Sim's demand
matrices count), writes every output or partial sum it produces, and reads back the
partial sums it adds to (row folds after the first); every DRAM read is an SRAM write
(fill) and every DRAM write an SRAM read (drain).

**Timing** (double buffering at fold granularity). The first fold's operands are read
before it starts; while fold ``i`` computes (``c`` cycles, :func:`sim.cycles.fold_cycles`)
the DRAM moves the reads of fold ``i + 1`` and the writes of fold ``i - 1``; the last
fold's writes follow it. With reads ``r_i``, writes ``w_i``, ``F`` folds and bandwidth
``B``::

    stall = ceil(r_0 / B) + sum_{i=1}^{F-1} max(0, ceil((r_i + w_{i-1}) / B) - c) + ceil(w_{F-1} / B)

:func:`layer_memory` evaluates it in O(1) per layer from the few distinct runs of equal
folds; the discrete-event controller (:func:`sim.engine.run_schedule`) walks the folds
with :func:`iter_fold_traffic` and gets the same count.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

from pe_models.errors import ConfigError

from .config import ArrayConfig
from .layers import ConvLayer, GemmProblem, Layer
from .mapping import Mapping, fold_extents, map_gemm

__all__ = [
    "ACCESS_COLUMNS",
    "ACCESS_COUNTS",
    "OPERANDS",
    "BufferWords",
    "FoldTraffic",
    "MemoryReport",
    "buffer_words",
    "ifmap_words",
    "iter_fold_traffic",
    "layer_memory",
    "transfer_cycles",
]

OPERANDS: tuple[str, ...] = ("ifmap", "filter", "ofmap")
"""The three operand buffers, in SCALE-Sim's order."""

ACCESS_COUNTS: tuple[str, ...] = (
    "ifmap_sram_reads",
    "ifmap_sram_writes",
    "filter_sram_reads",
    "filter_sram_writes",
    "ofmap_sram_reads",
    "ofmap_sram_writes",
    "ifmap_dram_reads",
    "filter_dram_reads",
    "ofmap_dram_reads",
    "ofmap_dram_writes",
)
"""SRAM and DRAM accesses per operand, in words (fields of :class:`MemoryReport`)."""

ACCESS_COLUMNS: tuple[str, ...] = (*ACCESS_COUNTS, "avg_dram_bw_words_per_cycle", "peak_dram_bw_words_per_cycle")
"""The access counts and the average and peak DRAM bandwidth: the memory columns of per-layer tables."""


@dataclass(frozen=True, kw_only=True)
class BufferWords:
    """Capacities of the three SRAM buffers in words.

    Attributes
    ----------
    ifmap, filter, ofmap : int
        Positive numbers of words (each buffer's two halves together).
    """

    ifmap: int
    filter: int
    ofmap: int

    def __post_init__(self) -> None:
        for name in OPERANDS:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"BufferWords.{name}: expected a positive integer number of words, got {value!r}")


def buffer_words(config: ArrayConfig) -> BufferWords:
    """The buffer capacities of `config` in words: ``kib * 1024 // word_bytes``."""
    return BufferWords(
        ifmap=config.ifmap_sram_kib * 1024 // config.word_bytes,
        filter=config.filter_sram_kib * 1024 // config.word_bytes,
        ofmap=config.ofmap_sram_kib * 1024 // config.word_bytes,
    )


class FoldTraffic(NamedTuple):
    """Words one fold moves, per operand, and when.

    ``*_dram_reads`` are read from DRAM for this fold and ``ofmap_dram_writes`` written
    by it; ``*_array_*`` are the array's own SRAM accesses. Of its DRAM words, `before`
    must be in the buffer before the fold starts (the stationary tile), `during` streams
    while it computes (streamed operands, partial sums) and `after` is written once it has
    finished (the outputs of an output-stationary fold).
    """

    ifmap_dram_reads: int | Fraction
    filter_dram_reads: int
    ofmap_dram_reads: int
    ofmap_dram_writes: int
    ifmap_array_reads: int
    filter_array_reads: int
    ofmap_array_reads: int
    ofmap_array_writes: int
    before: int | Fraction
    during: int | Fraction
    after: int

    @property
    def dram_reads(self) -> int | Fraction:
        """All DRAM reads of the fold."""
        return self.ifmap_dram_reads + self.filter_dram_reads + self.ofmap_dram_reads


_ZERO = FoldTraffic(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)


def _add(x: FoldTraffic, y: FoldTraffic, times: int = 1) -> FoldTraffic:
    return FoldTraffic(
        x.ifmap_dram_reads + times * y.ifmap_dram_reads,
        x.filter_dram_reads + times * y.filter_dram_reads,
        x.ofmap_dram_reads + times * y.ofmap_dram_reads,
        x.ofmap_dram_writes + times * y.ofmap_dram_writes,
        x.ifmap_array_reads + times * y.ifmap_array_reads,
        x.filter_array_reads + times * y.filter_array_reads,
        x.ofmap_array_reads + times * y.ofmap_array_reads,
        x.ofmap_array_writes + times * y.ofmap_array_writes,
        x.before + times * y.before,
        x.during + times * y.during,
        x.after + times * y.after,
    )


def transfer_cycles(words: int | Fraction, bandwidth: Fraction) -> int:
    """``ceil(words / bandwidth)`` computed exactly."""
    exact = Fraction(words)
    return -(-(exact.numerator * bandwidth.denominator) // (exact.denominator * bandwidth.numerator))


def ifmap_words(layer: Layer, *, scalesim_compat: bool = False) -> int:
    """Distinct ifmap words per group of `layer`: what DRAM must deliver at least once.

    ``min(H W C_g, M K)`` for a convolution (``C_g = channels / groups``, all channels in
    SCALE-Sim compatibility mode, where a grouped layer is one GEMM; padding is not
    fetched; a stride larger than the filter skips pixels, hence the ``M K`` bound);
    ``M K`` for a GEMM layer.
    """
    problem = layer.gemm(scalesim_compat=scalesim_compat)
    im2col_words = problem.m * problem.k
    if not isinstance(layer, ConvLayer):
        return im2col_words
    channels = layer.channels if scalesim_compat else layer.channels // layer.groups
    return min(layer.ifmap_h * layer.ifmap_w * channels, im2col_words)


class _Layout:
    """Per-fold traffic of one mapping as a function of (column fold, row fold)."""

    def __init__(self, mapping: Mapping, buffers: BufferWords, ifmap_words: int | None) -> None:
        self.mapping = mapping
        problem = mapping.problem
        distinct = problem.m * problem.k if ifmap_words is None else ifmap_words
        share = Fraction(distinct, problem.m * problem.k)
        self.scale = share.denominator
        self.ifmap_numerator = share.numerator
        rows, cols, temporal = mapping.rows, mapping.cols, mapping.temporal
        self.row_folds, self.row_full, self.row_last = fold_extents(mapping.spatial_rows, rows)
        self.col_folds, self.col_full, self.col_last = fold_extents(mapping.spatial_cols, cols)
        self.temporal = temporal
        dataflow = mapping.dataflow
        cyclic_name = "filter" if dataflow == "is" else "ifmap"
        cyclic_capacity = getattr(buffers, cyclic_name)
        footprint = mapping.spatial_rows * temporal
        if self.col_folds == 1 or footprint <= cyclic_capacity:
            self.pinned = self.row_folds
        else:
            tile = rows * temporal
            self.pinned = max(0, (cyclic_capacity - 2 * tile) // tile)
        held_capacity = buffers.filter if dataflow == "os" else buffers.ofmap
        held_footprint = mapping.spatial_cols * temporal
        self.held = {
            width: self.row_folds == 1 or held_footprint <= held_capacity or width * temporal <= held_capacity // 2
            for width in (self.col_full, self.col_last)
        }

    def rows_used(self, r: int) -> int:
        return self.row_last if r == self.row_folds - 1 else self.row_full

    def cols_used(self, c: int) -> int:
        return self.col_last if c == self.col_folds - 1 else self.col_full

    def scaled_fold(self, c: int, r: int) -> FoldTraffic:
        """The traffic of fold (c, r) with the DRAM words (and `before`, `during`, `after`)
        in units of ``1 / scale`` words: all integers, the ifmap share included."""
        a, b, t = self.rows_used(r), self.cols_used(c), self.temporal
        d = self.scale
        cyclic_reads = a * t if c == 0 or r >= self.pinned else 0
        held = self.held[b]
        if self.mapping.dataflow == "os":
            filter_reads = b * t if (r == 0 or not held) else 0
            ifmap = cyclic_reads * self.ifmap_numerator
            streamed = ifmap + filter_reads * d
            return FoldTraffic(ifmap, filter_reads * d, 0, a * b * d, a * t, b * t, 0, a * b, 0, streamed, a * b * d)
        psum = b * t if r > 0 else 0
        last = r == self.row_folds - 1
        writes = b * t if (last or not held) else 0
        psum_dram = 0 if held else psum
        if self.mapping.dataflow == "ws":
            ifmap = cyclic_reads * self.ifmap_numerator
            streamed = ifmap + (psum_dram + writes) * d
            return FoldTraffic(
                ifmap, a * b * d, psum_dram * d, writes * d, a * t, a * b, psum, b * t, a * b * d, streamed, 0
            )
        stationary = a * b * self.ifmap_numerator
        streamed = (cyclic_reads + psum_dram + writes) * d
        return FoldTraffic(
            stationary, cyclic_reads * d, psum_dram * d, writes * d, a * b, a * t, psum, b * t, stationary, streamed, 0
        )

    def fold(self, c: int, r: int) -> FoldTraffic:
        """The traffic of fold (c, r) in words (ifmap words and windows as exact rationals)."""
        return self.unscale(self.scaled_fold(c, r))

    def unscale(self, x: FoldTraffic) -> FoldTraffic:
        """Traffic of :meth:`scaled_fold` units (or a sum of them) in words."""
        d = self.scale
        return x._replace(
            ifmap_dram_reads=Fraction(x.ifmap_dram_reads, d),
            filter_dram_reads=int(x.filter_dram_reads) // d,
            ofmap_dram_reads=int(x.ofmap_dram_reads) // d,
            ofmap_dram_writes=int(x.ofmap_dram_writes) // d,
            before=Fraction(x.before, d),
            during=Fraction(x.during, d),
            after=int(x.after) // d,
        )

    def row_segments(self, c: int) -> list[tuple[int, int]]:
        """``(first_row_fold, count)`` runs of row folds with equal traffic in column `c`."""
        cuts = sorted(cut for cut in {0, 1, self.pinned, self.row_folds - 1, self.row_folds} if cut <= self.row_folds)
        return [(start, stop - start) for start, stop in itertools.pairwise(cuts)]

    def column_classes(self) -> list[tuple[int, int]]:
        """``(representative column fold, count)`` runs of columns with equal traffic."""
        cf = self.col_folds
        if cf == 1:
            return [(0, 1)]
        classes = [(0, 1)]
        if cf > 2:
            classes.append((1, cf - 2))
        classes.append((cf - 1, 1))
        return classes


@dataclass(frozen=True)
class _Sequence:
    """Summary of a run of folds for the stall closed form (a monoid under concatenation)."""

    first: FoldTraffic
    last: FoldTraffic
    folds: int
    totals: FoldTraffic
    stall: int
    peak_words: int | Fraction


class _Timing:
    """Stall of the window of one fold: ``after_{i-1} + during_i + before_{i+1}`` words.

    In ws and is nothing is written after a fold (``after = 0``), so the window of fold
    ``i`` is a function of the pair (i, i + 1); in os nothing is needed before a fold
    (``before = 0``) and the window of fold ``i`` is a function of the pair (i - 1, i).
    """

    def __init__(self, fold_cycles: int, bandwidth: Fraction | None, *, outputs_after: bool) -> None:
        self.fold_cycles = fold_cycles
        self.bandwidth = bandwidth
        self.outputs_after = outputs_after

    def window(self, words: int | Fraction) -> tuple[int, int | Fraction]:
        if self.bandwidth is None:
            return 0, words
        return max(0, transfer_cycles(words, self.bandwidth) - self.fold_cycles), words

    def pair(self, previous: FoldTraffic, current: FoldTraffic) -> tuple[int, int | Fraction]:
        if self.outputs_after:
            return self.window(previous.after + current.during)
        return self.window(previous.during + current.before)

    def run(self, fold: FoldTraffic, count: int) -> _Sequence:
        stall, words = self.pair(fold, fold) if count > 1 else (0, 0)
        return _Sequence(fold, fold, count, _add(_ZERO, fold, count), (count - 1) * stall, words)

    def concat(self, x: _Sequence, y: _Sequence) -> _Sequence:
        stall, words = self.pair(x.last, y.first)
        return _Sequence(
            x.first,
            y.last,
            x.folds + y.folds,
            _add(x.totals, y.totals),
            x.stall + y.stall + stall,
            max(x.peak_words, y.peak_words, words),
        )

    def repeat(self, x: _Sequence, times: int) -> _Sequence:
        if times == 1:
            return x
        stall, words = self.pair(x.last, x.first)
        return _Sequence(
            x.first,
            x.last,
            x.folds * times,
            _add(_ZERO, x.totals, times),
            times * x.stall + (times - 1) * stall,
            max(x.peak_words, words),
        )


@dataclass(frozen=True, kw_only=True)
class MemoryReport:
    """SRAM and DRAM accesses of one layer and its memory stall cycles (words, cycles).

    Attributes
    ----------
    ifmap_sram_reads, filter_sram_reads : int
        Words the array read from the ifmap and filter buffers (SCALE-Sim's ``SRAM IFMAP
        Reads``, ``SRAM Filter Reads``).
    ifmap_sram_writes, filter_sram_writes : int
        Words written into those buffers from DRAM (equal to the DRAM reads).
    ofmap_sram_writes : int
        Outputs and partial sums the array wrote (SCALE-Sim's ``SRAM OFMAP Writes``) plus
        partial sums filled back from DRAM.
    ofmap_sram_reads : int
        Partial sums the array read back to accumulate onto, plus words drained to DRAM.
    ifmap_dram_reads, filter_dram_reads : int
        Words read from DRAM (ifmap: feature-map words, rounded to the nearest integer).
    ofmap_dram_reads : int
        Partial sums read back from DRAM (0 when the accumulated tile fits).
    ofmap_dram_writes : int
        Outputs and spilled partial sums written to DRAM.
    compulsory_dram_words : int
        ``groups (U + K N + M N)`` with ``U`` the distinct ifmap words per group: each
        input read once, each output written once.
    stall_cycles : int
        Cycles the array waits for DRAM (0 with unlimited bandwidth), including:
    first_load_cycles : int
        ``ceil(r_0 / B)``, loading the first fold's operands before anything can start;
    last_drain_cycles : int
        ``ceil(w_{F-1} / B)``, writing the last fold's outputs after the array is done
        (SCALE-Sim counts neither: it preloads at negative cycles and drains after its
        last cycle).
    busy_cycles : int
        ``folds * fold_cycles``, the cycles the array computes.
    avg_dram_bw_words_per_cycle : float
        ``dram_words / busy_cycles``.
    peak_dram_bw_words_per_cycle : float
        Smallest bandwidth with no stall between folds: the largest
        ``(r_i + w_{i-1}) / fold_cycles``; 0 for a single fold. The first load and the last
        write-back still take ``ceil(r_0 / B) + ceil(w_{F-1} / B)`` cycles.
    """

    ifmap_sram_reads: int
    ifmap_sram_writes: int
    filter_sram_reads: int
    filter_sram_writes: int
    ofmap_sram_reads: int
    ofmap_sram_writes: int
    ifmap_dram_reads: int
    filter_dram_reads: int
    ofmap_dram_reads: int
    ofmap_dram_writes: int
    compulsory_dram_words: int
    stall_cycles: int
    first_load_cycles: int
    last_drain_cycles: int
    busy_cycles: int
    avg_dram_bw_words_per_cycle: float
    peak_dram_bw_words_per_cycle: float

    @property
    def dram_reads(self) -> int:
        """All DRAM reads."""
        return self.ifmap_dram_reads + self.filter_dram_reads + self.ofmap_dram_reads

    @property
    def dram_words(self) -> int:
        """All DRAM reads and writes."""
        return self.dram_reads + self.ofmap_dram_writes

    @property
    def sram_reads(self) -> int:
        """All SRAM reads."""
        return self.ifmap_sram_reads + self.filter_sram_reads + self.ofmap_sram_reads

    @property
    def sram_writes(self) -> int:
        """All SRAM writes."""
        return self.ifmap_sram_writes + self.filter_sram_writes + self.ofmap_sram_writes

    def access_columns(self) -> dict[str, int | float]:
        """The per-operand access counts and bandwidths every per-layer table reports (:data:`ACCESS_COLUMNS`)."""
        return {name: getattr(self, name) for name in ACCESS_COLUMNS}


def iter_fold_traffic(
    mapping: Mapping, buffers: BufferWords, *, ifmap_words: int | None = None
) -> Iterator[FoldTraffic]:
    """The traffic of every fold of `mapping`, in :meth:`Mapping.iter_folds` order.

    `ifmap_words`: distinct ifmap words per group (:func:`ifmap_words`); default ``M K``.
    """
    layout = _Layout(mapping, buffers, ifmap_words)
    for _ in range(mapping.problem.groups):
        for c in range(layout.col_folds):
            for r in range(layout.row_folds):
                yield layout.fold(c, r)


def _fold_cycles(mapping: Mapping) -> int:
    if mapping.dataflow == "os":
        return mapping.rows + mapping.cols + mapping.temporal - 2
    return 2 * mapping.rows + mapping.cols + mapping.temporal - 2


def layer_memory(
    problem: GemmProblem,
    config: ArrayConfig,
    *,
    buffers: BufferWords | None = None,
    ifmap_words: int | None = None,
) -> MemoryReport:
    """SRAM and DRAM accesses and memory stall cycles of `problem` on `config` (closed form).

    Parameters
    ----------
    problem : GemmProblem
        The layer's GEMM(s).
    config : ArrayConfig
        Array shape, dataflow, buffer sizes and DRAM bandwidth (``None``: no stalls).
    buffers : BufferWords, optional
        Buffer capacities in words, overriding ``config``'s ``*_sram_kib``.
    ifmap_words : int, optional
        Distinct ifmap words per group (:func:`ifmap_words`), at most ``M K``; default
        ``M K`` (a GEMM: no im2col repeats).

    Returns
    -------
    MemoryReport
        O(1) work per layer whatever the number of folds.
    """
    if ifmap_words is not None and not 0 < ifmap_words <= problem.m * problem.k:
        raise ConfigError(f"ifmap_words: expected an integer in 1..M K = {problem.m * problem.k}, got {ifmap_words!r}")
    layout = _Layout(map_gemm(problem, config), buffer_words(config) if buffers is None else buffers, ifmap_words)
    bandwidth = (
        None if config.dram_bandwidth_words_per_cycle is None else Fraction(config.dram_bandwidth_words_per_cycle)
    )
    fold_cycles = _fold_cycles(layout.mapping)
    outputs_after = layout.mapping.dataflow == "os"
    scale = layout.scale
    timing = _Timing(fold_cycles, None if bandwidth is None else bandwidth * scale, outputs_after=outputs_after)
    group: _Sequence | None = None
    for c, columns in layout.column_classes():
        column: _Sequence | None = None
        for start, count in layout.row_segments(c):
            run = timing.run(layout.scaled_fold(c, start), count)
            column = run if column is None else timing.concat(column, run)
        assert column is not None
        block = timing.repeat(column, columns)
        group = block if group is None else timing.concat(group, block)
    assert group is not None
    whole = timing.repeat(group, problem.groups)
    totals = whole.totals
    words = layout.unscale(totals)
    edge_stall, edge_words = timing.window(whole.first.during if outputs_after else whole.last.during)
    first_load = last_drain = 0
    if timing.bandwidth is not None:
        first_load = transfer_cycles(whole.first.before, timing.bandwidth)
        last_drain = transfer_cycles(whole.last.after, timing.bandwidth)
    busy = whole.folds * fold_cycles
    ifmap_dram = round(words.ifmap_dram_reads)
    filter_dram, ofmap_dram_reads, ofmap_dram_writes = (
        words.filter_dram_reads,
        words.ofmap_dram_reads,
        words.ofmap_dram_writes,
    )
    dram_words = words.dram_reads + words.ofmap_dram_writes
    distinct = problem.m * problem.k if ifmap_words is None else ifmap_words
    g = problem.groups
    return MemoryReport(
        ifmap_sram_reads=totals.ifmap_array_reads,
        ifmap_sram_writes=ifmap_dram,
        filter_sram_reads=totals.filter_array_reads,
        filter_sram_writes=filter_dram,
        ofmap_sram_reads=totals.ofmap_array_reads + ofmap_dram_writes,
        ofmap_sram_writes=totals.ofmap_array_writes + ofmap_dram_reads,
        ifmap_dram_reads=ifmap_dram,
        filter_dram_reads=filter_dram,
        ofmap_dram_reads=ofmap_dram_reads,
        ofmap_dram_writes=ofmap_dram_writes,
        compulsory_dram_words=g * (distinct + problem.k * problem.n + problem.m * problem.n),
        stall_cycles=first_load + whole.stall + edge_stall + last_drain,
        first_load_cycles=first_load,
        last_drain_cycles=last_drain,
        busy_cycles=busy,
        avg_dram_bw_words_per_cycle=float(dram_words / busy),
        peak_dram_bw_words_per_cycle=float(Fraction(max(whole.peak_words, edge_words), scale * fold_cycles)),
    )
