"""The ``fast`` grid engine: one numba kernel call per fold (per grouped GEMM on the screened
path), one accumulator per lane.

It evaluates the same MACs, in the same per-PE order and with the same state, as the
``detailed`` engine (:mod:`sim.grid_detailed`), without stepping the array cycle by
cycle: ws and is walk each column's partial sums row by row (a lane per stream step),
os walks each PE's accumulator over the stream. Cycle numbers come from the timeline of
:mod:`sim.grid`. Memory per fold is O(T + busy cycles) besides the operands and the tile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pe_models.kernels import (
    CELLS_COMPOUND,
    CELLS_EDGE,
    PARAM_BUFFER_MASK,
    PARAM_CARRY_STEPS,
    PARAM_CELLS,
    PARAM_LATE_PRODUCT,
    PARAM_SHADOW_STEPS,
    CompoundTiming,
    EdgeForm,
    edge_form,
)

from . import _kernels
from .grid import FoldOperands, FoldResult, GridSetup, fold_busy_cycles, sort_events, stream_offset
from .mapping import Fold

__all__ = ["FastGrid", "GroupCounts", "GroupTallies"]

_INITIAL_EVENT_CAPACITY = 1024


@dataclass(frozen=True, kw_only=True)
class GroupCounts:
    """Counters of every fold of a grouped GEMM run by :meth:`FastGrid.run_groups`.

    Attributes
    ----------
    erroneous_macs : int
        MACs that latched a wrong value (all unprotected).
    flip_counts : ndarray, int64, shape (width,)
        Wrong bits latched, per bit position (also the wrong bits passed on: no correction).
    """

    erroneous_macs: int
    flip_counts: np.ndarray


@dataclass(frozen=True, kw_only=True)
class GroupTallies:
    """Counters of every fold of a grouped GEMM run by :meth:`FastGrid.run_stationary_groups`.

    Attributes
    ----------
    erroneous_macs, detections, miscorrections, silent_protected_errors, unprotected_errors, \
product_detections, silent_product_errors : int
        Sums over the folds of the :class:`sim.grid.FoldResult` fields of the same names.
    flip_counts, residual_flip_counts : ndarray, int64, shape (width,)
        Sums over the folds.
    detection_cycles, column_detection_cycles, replay_depth : ndarray, int64, shape (folds,)
        Per fold in mapping order: :attr:`sim.grid.FoldResult.detection_cycles`, the largest of
        its :attr:`~sim.grid.FoldResult.column_detection_cycles`, and its
        :attr:`~sim.grid.FoldResult.replay_depth`.
    """

    erroneous_macs: int
    detections: int
    miscorrections: int
    silent_protected_errors: int
    unprotected_errors: int
    product_detections: int
    silent_product_errors: int
    flip_counts: np.ndarray
    residual_flip_counts: np.ndarray
    detection_cycles: np.ndarray
    column_detection_cycles: np.ndarray
    replay_depth: np.ndarray


class FastGrid:
    """Runs folds with the numba kernels of :mod:`sim._kernels`.

    Parameters
    ----------
    setup : GridSetup
    """

    name = "fast"

    def __init__(self, setup: GridSetup) -> None:
        self.setup = setup
        params = setup.params
        unprotected = (
            params.shape[0] == 1
            and params[0, PARAM_BUFFER_MASK] == 0
            and setup.width <= 32
            and setup.protected_mask == 0
            and not setup.product_protected
            and not setup.record_events
        )
        self._screened = unprotected and params[0, PARAM_CELLS] == CELLS_COMPOUND and params[0, PARAM_CARRY_STEPS] >= 0
        self._edge = unprotected and params[0, PARAM_CELLS] == CELLS_EDGE
        self._edge_forms = self._edge_fold_forms()

    def _edge_fold_forms(self) -> tuple[EdgeForm, EdgeForm] | None:
        """The main- and shadow-sample tables (:func:`pe_models.kernels.edge_form`) when ws and is folds run
        through :func:`sim._kernels.edge_stationary_fold` (one ``CELLS_EDGE`` row without hold buffers, at
        most 32 accumulator bits); None otherwise (:func:`sim._kernels.stationary_fold`, MAC by MAC)."""
        setup = self.setup
        params = setup.params
        if (
            setup.dataflow == "os"
            or params.shape[0] != 1
            or params[0, PARAM_CELLS] != CELLS_EDGE
            or params[0, PARAM_BUFFER_MASK] != 0
            or setup.width > 32
        ):
            return None
        row = params[0]
        return (
            edge_form(row, int(row[PARAM_CARRY_STEPS]), setup.width),
            edge_form(row, int(row[PARAM_SHADOW_STEPS]), setup.width),
        )

    def run_fold(self, fold: Fold, operands: FoldOperands) -> FoldResult:
        """Run one fold from an all-zero PE state (see :class:`sim.grid.GridEngine`)."""
        setup = self.setup
        steps = operands.row_stream.shape[1]
        busy = fold_busy_cycles(setup.dataflow, setup.rows, setup.cols, steps)
        capacity = _INITIAL_EVENT_CAPACITY if setup.record_events else 1
        while True:
            result, n_events, events = self._run(operands, busy, capacity)
            if n_events <= capacity:
                break
            capacity = n_events
        recorded = sort_events(events[:n_events]) if setup.record_events else None
        return FoldResult(events=recorded, busy_cycles=busy, **result)

    def run_groups(self, activations: np.ndarray, weights: np.ndarray, outputs: np.ndarray) -> GroupCounts | None:
        """Every fold of the grouped GEMM ``activations (G, M, K) @ weights (G, K, N)`` in one kernel call,
        each fold's tile added into ``outputs (G, M, N)`` (int64), when a lane path applies
        (ws or is, one parameter row, no protection, hold buffer or event record, at most 32
        accumulator bits; compound cells: the screened closed form, a characterised library's
        per-edge model: :func:`sim._kernels.edge_stationary_groups`); None otherwise (run the
        folds one by one).

        The same MACs, in the same per-PE order and from the same all-zero state per fold, as
        :meth:`run_fold` over the mapping's folds: without per-fold Python overhead (a
        depthwise layer has one fold per channel).
        """
        setup = self.setup
        if not (self._screened or self._edge) or setup.dataflow == "os":
            return None
        transposed = np.ascontiguousarray(activations.transpose(0, 2, 1))
        weights = np.ascontiguousarray(weights)
        ws = setup.dataflow == "ws"
        flip_counts = np.zeros(setup.width, dtype=np.int64)
        if self._edge:
            row = setup.params[0]
            wrong = _kernels.edge_stationary_groups(
                transposed if ws else weights,
                weights if ws else transposed,
                ws,
                setup.rows,
                setup.cols,
                edge_form(row, int(row[PARAM_CARRY_STEPS]), setup.width),
                setup.width,
                outputs,
                flip_counts,
            )
            return GroupCounts(erroneous_macs=int(wrong), flip_counts=flip_counts)
        timing = CompoundTiming(
            late_product=int(setup.params[0, PARAM_LATE_PRODUCT]),
            steps=int(setup.params[0, PARAM_CARRY_STEPS]),
            width=setup.width,
        )
        wrong = _kernels.screened_stationary_groups(
            transposed if ws else weights,
            weights if ws else transposed,
            ws,
            setup.rows,
            setup.cols,
            timing,
            outputs,
            flip_counts,
        )
        return GroupCounts(erroneous_macs=int(wrong), flip_counts=flip_counts)

    def run_stationary_groups(
        self, activations: np.ndarray, weights: np.ndarray, outputs: np.ndarray
    ) -> GroupTallies | None:
        """Every fold of the grouped GEMM ``activations (G, M, K) @ weights (G, K, N)`` in one kernel call
        (:func:`sim._kernels.stationary_groups`), each fold's tile added into ``outputs (G, M, N)``
        (int64), in ws and is without an event record; None otherwise (run the folds one by one).

        The same MACs, values and counters as :meth:`run_fold` over the mapping's folds, any
        protection, recovery policy or parameter rows.
        """
        setup = self.setup
        if setup.record_events or setup.dataflow == "os":
            return None
        ws = setup.dataflow == "ws"
        transposed = np.ascontiguousarray(activations.transpose(0, 2, 1))
        weights = np.ascontiguousarray(weights)
        streams, stationaries = (transposed, weights) if ws else (weights, transposed)
        groups, depth, steps = streams.shape
        spatial = stationaries.shape[2]
        folds = groups * -(-spatial // setup.cols) * -(-depth // setup.rows)
        busy = fold_busy_cycles(setup.dataflow, setup.rows, setup.cols, steps)
        fold = self._fold_setup(stationary=True)
        tallies = self._tallies(fold.recovery, busy, setup.cols, (setup.rows, steps), 1)
        totals = np.zeros(_kernels.COUNTER_COUNT, dtype=np.int64)
        per_fold = np.zeros((folds, 3), dtype=np.int64)
        _kernels.stationary_groups(
            streams, stationaries, ws, setup.rows, fold, outputs, tallies, totals, per_fold, self._edge_forms
        )
        return GroupTallies(
            erroneous_macs=int(totals[_kernels.ERRONEOUS]),
            detections=int(totals[_kernels.DETECTIONS]),
            miscorrections=int(totals[_kernels.MISCORRECTIONS]),
            silent_protected_errors=int(totals[_kernels.SILENT]),
            unprotected_errors=int(totals[_kernels.UNPROTECTED]),
            product_detections=int(totals[_kernels.PRODUCT_DETECTIONS]),
            silent_product_errors=int(totals[_kernels.PRODUCT_SILENT]),
            flip_counts=tallies.flip_counts,
            residual_flip_counts=tallies.residual_counts,
            detection_cycles=per_fold[:, 0],
            column_detection_cycles=per_fold[:, 1],
            replay_depth=per_fold[:, 2],
        )

    def _fold_setup(self, *, stationary: bool) -> _kernels.FoldSetup:
        setup = self.setup
        return _kernels.FoldSetup(
            params=setup.params,
            array_cols=setup.cols,
            offset=stream_offset(setup.dataflow, setup.rows) if stationary else 0,
            protected_mask=int(setup.protected_mask),
            mask=int(setup.mask),
            width=setup.width,
            recovery=_kernels.RECOVERY_CODES[setup.recovery],
            record=bool(setup.record_events),
            product_masks=np.zeros((setup.params.shape[0], 2), dtype=np.int64)
            if setup.product_masks is None
            else setup.product_masks,
        )

    def _tallies(
        self, recovery: int, busy: int, cols_used: int, depth_shape: tuple[int, int], capacity: int
    ) -> _kernels.FoldTallies:
        width = self.setup.width
        return _kernels.FoldTallies(
            flip_counts=np.zeros(width, dtype=np.int64),
            residual_counts=np.zeros(width, dtype=np.int64),
            cycle_flags=np.zeros(busy, dtype=np.uint8),
            column_counts=np.zeros(cols_used, dtype=np.int64),
            column_flags=np.zeros(busy, dtype=np.uint8),
            depth=np.zeros(depth_shape if recovery == _kernels.LOCAL else (1, 1), dtype=np.int32),
            events=np.zeros((capacity, 5), dtype=np.int64),
            counts=np.zeros(_kernels.COUNTER_COUNT, dtype=np.int64),
        )

    def _run(self, operands: FoldOperands, busy: int, capacity: int) -> tuple[dict, int, np.ndarray]:
        rows_used, steps = operands.row_stream.shape
        fold = self._fold_setup(stationary=operands.stationary is not None)
        if operands.stationary is not None:
            cols_used = operands.stationary.shape[1]
            tile = np.empty((cols_used, steps), dtype=np.int64)
        else:
            assert operands.col_stream is not None
            cols_used = operands.col_stream.shape[0]
            tile = np.empty((rows_used, cols_used), dtype=np.int64)
        tallies = self._tallies(fold.recovery, busy, cols_used, (rows_used, steps), capacity)
        if operands.stationary is not None and self._edge_forms is not None:
            main, shadow = self._edge_forms
            _kernels.edge_stationary_fold(operands.row_stream, operands.stationary, fold, main, shadow, tile, tallies)
        elif operands.stationary is not None:
            _kernels.stationary_fold(operands.row_stream, operands.stationary, fold, tile, tallies)
        else:
            assert operands.col_stream is not None
            _kernels.output_stationary_fold(operands.row_stream, operands.col_stream, fold, tile, tallies)
        counts, cycle_flags = tallies.counts, tallies.cycle_flags
        result = {
            "tile": tile,
            "macs": rows_used * cols_used * steps,
            "erroneous_macs": int(counts[_kernels.ERRONEOUS]),
            "detections": int(counts[_kernels.DETECTIONS]),
            "miscorrections": int(counts[_kernels.MISCORRECTIONS]),
            "silent_protected_errors": int(counts[_kernels.SILENT]),
            "unprotected_errors": int(counts[_kernels.UNPROTECTED]),
            "replay_depth": int(counts[_kernels.LOCAL_DEPTH]),
            "product_detections": int(counts[_kernels.PRODUCT_DETECTIONS]),
            "silent_product_errors": int(counts[_kernels.PRODUCT_SILENT]),
            "detection_cycles": int(np.count_nonzero(cycle_flags)),
            "column_detection_cycles": tallies.column_counts,
            "flip_counts": tallies.flip_counts,
            "residual_flip_counts": tallies.residual_counts,
        }
        return result, int(counts[_kernels.EVENTS]), tallies.events
