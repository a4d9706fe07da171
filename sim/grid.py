"""The contract of a grid engine: what it is given (setup, fold operands) and what it reports.

A *grid engine* runs one fold (tile) of a GEMM on the R x C array and reports what the
PEs computed and which of their MACs latched wrong bits. Two engines implement
:class:`GridEngine` and must agree bit for bit:

* ``detailed`` (:mod:`sim.grid_detailed`): one :class:`~sim.grid_detailed.ProcessingElement`
  object per array position, stepped cycle by cycle with two-phase compute/commit;
* ``fast`` (:mod:`sim.grid_fast`): one numba kernel per fold.

Both evaluate every MAC with the PE's previous state through the chain-level model, and
both follow the definitions of this module. The registry of engines and the cutting of a
GEMM into fold operands live in the consumer, :mod:`sim.engine`:

Operands of a fold (:func:`sim.engine.fold_operands`)
    ``row_stream[r, t]``: the operand entering array row ``r`` at stream step ``t``
    (activations in ws and os, weights in is); ``stationary[r, c]``: the operand held by
    PE (r, c) in ws (weights) and is (activations); ``col_stream[c, t]``: the operand
    entering column ``c`` at step ``t`` in os (weights).

Timeline (:func:`mac_cycle`)
    PE (r, c) performs its MAC of stream step ``t`` in fold-local cycle
    ``offset + t + r + c`` with ``offset = R`` in ws and is (the R cycles of loading the
    stationary operand come first) and 0 in os. A fold occupies the array for
    :func:`fold_busy_cycles` ``= mac_cycle(R - 1, C - 1, T - 1) + 1`` cycles, the whole
    array's extent even for a partial fold (SCALE-Sim pads partial folds).

MAC state at fold boundaries
    Every PE starts each fold from an all-zero state: its previous operands, product
    register and previous partial-sum input are 0 (bubbles fill the pipeline while the
    stationary operand loads). The first MAC of a fold therefore switches from ``0 + 0``.

Partial sums
    ws and is: PE (r, c) adds its product to the partial sum of PE (r - 1, c) (0 in row 0)
    and passes the latched sum down; the sum leaving the last used row is the fold's
    output for (t, c). PEs below the used rows hold a zero operand; an addition of zero
    after zero never switches a carry of a ripple-carry adder, so they pass the sum
    unchanged and are not evaluated. os: PE (r, c) accumulates over t in its own
    register, which is the adder's partial-sum input; it starts from 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from pe_models.errors import ConfigError

from .mapping import Fold

__all__ = [
    "FOLD_EVENT_COLUMNS",
    "FoldOperands",
    "FoldResult",
    "GridEngine",
    "GridSetup",
    "fold_busy_cycles",
    "mac_cycle",
    "sort_events",
    "stream_offset",
]

FOLD_EVENT_COLUMNS: tuple[str, ...] = ("cycle", "row", "col", "flip_mask", "detected")
"""Columns of :attr:`FoldResult.events`: fold-local cycle, PE row and column, flip mask, 0/1."""


def stream_offset(dataflow: str, rows: int) -> int:
    """Fold-local cycle of the first MAC of PE (0, 0): R in ws and is (stationary load), 0 in os."""
    return 0 if dataflow == "os" else rows


def mac_cycle(dataflow: str, rows: int, row: int, col: int, step: int) -> int:
    """Fold-local cycle in which PE (`row`, `col`) performs its MAC of stream step `step`."""
    return stream_offset(dataflow, rows) + step + row + col


def fold_busy_cycles(dataflow: str, rows: int, cols: int, temporal: int) -> int:
    """Cycles a fold occupies the array: one past the last MAC of the padded R x C tile."""
    return mac_cycle(dataflow, rows, rows - 1, cols - 1, temporal - 1) + 1


@dataclass(frozen=True, kw_only=True)
class GridSetup:
    """What every PE of the array needs to evaluate its MACs.

    Attributes
    ----------
    rows, cols : int
        Array shape R x C.
    dataflow : str
        ``"ws"``, ``"os"`` or ``"is"``.
    params : ndarray, int64, shape (1, P) or (R * C, P)
        Parameter rows of :func:`pe_models.chain.mac_parameters`: one shared row, or one
        per PE in row-major order (process variation).
    width : int
        Accumulator width in bits.
    protected_mask : int
        Protected accumulator bits (Razor flip-flops; 0 without protection). The shadow
        instant is in ``params`` (:func:`pe_models.chain.mac_parameters`).
    recovery : str
        Recovery policy of :data:`sim.protection.RECOVERY_POLICIES`; ``drop`` changes the
        values (a detected MAC passes its incoming partial sum on), the others only the
        cycle count.
    record_events : bool
        Return every MAC with a non-zero flip mask or a detection in :attr:`FoldResult.events`.
    product_masks : ndarray, int64, shape (params rows, 2), or None
        Product register Razor per parameter row (:func:`sim.engine.product_razor_rows`): the
        protected product bits a shadow latch catches and those it misses; None: no product
        protection. ``params`` then holds the product register as recovered.
    """

    rows: int
    cols: int
    dataflow: str
    params: np.ndarray
    width: int
    protected_mask: int = 0
    recovery: str = "global"
    record_events: bool = False
    product_masks: np.ndarray | None = None

    def __post_init__(self) -> None:
        expected = (1, self.rows * self.cols)
        if self.params.ndim != 2 or self.params.shape[0] not in expected:
            raise ConfigError(
                f"GridSetup.params: expected 1 or {self.rows * self.cols} parameter rows, got shape {self.params.shape}"
            )
        if self.product_masks is not None and self.product_masks.shape != (self.params.shape[0], 2):
            raise ConfigError(
                f"GridSetup.product_masks: expected shape ({self.params.shape[0]}, 2), got {self.product_masks.shape}"
            )

    @property
    def product_protected(self) -> bool:
        """Some PE's product register catches or misses a protected bit."""
        return self.product_masks is not None and bool(self.product_masks.any())

    def product_row(self, row: int, col: int) -> tuple[int, int]:
        """(caught, missed) protected product bits of PE (`row`, `col`); (0, 0) without product protection."""
        if self.product_masks is None:
            return 0, 0
        masks = self.product_masks[0] if self.product_masks.shape[0] == 1 else self.product_masks[row * self.cols + col]
        return int(masks[0]), int(masks[1])

    @property
    def mask(self) -> int:
        """``2**width - 1``."""
        return (1 << self.width) - 1

    def params_row(self, row: int, col: int) -> np.ndarray:
        """The parameter row of PE (`row`, `col`)."""
        if self.params.shape[0] == 1:
            return self.params[0]
        return self.params[row * self.cols + col]


@dataclass(frozen=True, kw_only=True)
class FoldOperands:
    """The operands of one fold as the array sees them (int8).

    Attributes
    ----------
    row_stream : ndarray, shape (rows_used, T)
        Operand entering array row r at stream step t.
    stationary : ndarray, shape (rows_used, cols_used), or None
        Operand held by PE (r, c) in ws and is.
    col_stream : ndarray, shape (cols_used, T), or None
        Operand entering array column c at stream step t in os.
    """

    row_stream: np.ndarray
    stationary: np.ndarray | None = None
    col_stream: np.ndarray | None = None


@dataclass(frozen=True, kw_only=True)
class FoldResult:
    """What a grid engine reports for one fold.

    Attributes
    ----------
    tile : ndarray, int64 or uint32
        Unsigned accumulator patterns: ``(cols_used, T)`` leaving the columns (ws, is) or
        ``(rows_used, cols_used)`` accumulators (os).
    busy_cycles : int
        Cycles the fold occupies the array without correction stalls.
    macs : int
        MACs evaluated (used PEs x T).
    erroneous_macs : int
        MACs with a non-zero flip mask (a wrong bit at the sampling instant).
    detections : int
        MACs whose main and shadow samples differ on a protected bit of either register
        (corrected with the shadow value, or dropped): the MACs recovered.
    miscorrections : int
        Detected MACs whose shadow value is wrong on a corrected bit (0 with ``drop``).
    silent_protected_errors : int
        MACs with a protected bit wrong at the sampling instant and not detected.
    unprotected_errors : int
        MACs with an unprotected bit wrong at the sampling instant.
    product_detections : int
        MACs whose product register detected (a protected product bit that changes and
        arrives inside the window; also counted in `detections`).
    silent_product_errors : int
        MACs with a protected product bit wrong at the sampling instant and not detected (it
        arrives after the window).
    replay_depth : int
        Most detections on one monotone path of MACs (r, c and t not decreasing): the
        replays the ``local`` policy delays the fold by (0 for the other policies).
    detection_cycles : int
        Distinct fold-local cycles with at least one detection anywhere in the array.
    column_detection_cycles : ndarray, int64, shape (cols_used,)
        Distinct fold-local cycles with at least one detection in each column.
    flip_counts : ndarray, int64, shape (width,)
        Wrong bits latched, per accumulator bit position, over all MACs.
    residual_flip_counts : ndarray, int64, shape (width,)
        Wrong bits in the values the MACs passed on (after correction; dropped MACs not
        counted): the wrong bits that stayed in the computation.
    events : ndarray, int64, shape (n, 5), or None
        With ``record_events``: one row per MAC with a non-zero flip mask or a detection, columns
        :data:`FOLD_EVENT_COLUMNS`, sorted by (cycle, row, col).
    """

    tile: np.ndarray
    busy_cycles: int
    macs: int
    erroneous_macs: int
    detections: int
    detection_cycles: int
    column_detection_cycles: np.ndarray
    flip_counts: np.ndarray
    residual_flip_counts: np.ndarray
    miscorrections: int = 0
    silent_protected_errors: int = 0
    unprotected_errors: int = 0
    product_detections: int = 0
    silent_product_errors: int = 0
    replay_depth: int = 0
    events: np.ndarray | None = None


def sort_events(events: np.ndarray) -> np.ndarray:
    """Events in canonical order: by cycle, then row, then column."""
    if events.shape[0] == 0:
        return events.reshape(0, len(FOLD_EVENT_COLUMNS))
    order = np.lexsort((events[:, 2], events[:, 1], events[:, 0]))
    return np.ascontiguousarray(events[order])


class GridEngine(Protocol):
    """A PE-grid engine: runs folds one at a time."""

    name: str
    setup: GridSetup

    def run_fold(self, fold: Fold, operands: FoldOperands) -> FoldResult:
        """Run one fold from an all-zero PE state and report its results."""
        ...
