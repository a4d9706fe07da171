"""The ``detailed`` grid engine: one PE object per array position, stepped cycle by cycle.

Every clock cycle has two phases. In *compute* each :class:`ProcessingElement` reads the
registers its neighbours (or the edge feeders) committed in the previous cycle and
evaluates its MAC through :func:`pe_models._kernels.registered_mac`; in *commit* all PEs
update their registers at once, as flip-flops do at the clock edge. Operands move one PE
per cycle to the right (and, in os, down); partial sums move one PE per cycle down (ws,
is). Tokens are ``None`` for a bubble; a partial fold is padded with zero tokens so that,
as in SCALE-Sim, every fold occupies the whole array's extent.

For small arrays, teaching and checking the ``fast`` engine (:mod:`sim.grid_fast`), which
must agree with it bit for bit. The cycle count of a fold is counted here by stepping
until the last token has left the array, not taken from a formula.
"""

from __future__ import annotations

import numpy as np

from . import _kernels
from .grid import FoldOperands, FoldResult, GridSetup, sort_events
from .mapping import Fold

__all__ = ["DetailedGrid", "ProcessingElement"]


class ProcessingElement:
    """One PE: a stationary register, the MAC state and the registers its neighbours read.

    Parameters
    ----------
    row, col : int
        Position in the array.
    params : ndarray, int64
        Its parameter row of :func:`pe_models.chain.mac_parameters`.
    mask, protected_mask : int
        Accumulator mask and protected bits (its Razor flip-flops).

    Attributes
    ----------
    used : bool
        Holds work in the current fold; an unused PE only forwards tokens.
    stationary : int
        The stationary operand (ws: weight, is: activation); shifted in from above while
        the fold loads.
    prev_a, prev_b, prev_product, prev_partial : int
        Operands, latched product register and partial-sum input of its previous MAC.
    accumulator : int
        os: the accumulator register (unsigned pattern).
    h_out, v_out : int or None
        Registers read by the right and lower neighbours: the horizontally forwarded
        operand, and the partial sum (ws, is) or the vertically forwarded operand (os).
    """

    __slots__ = (
        "_next",
        "accumulator",
        "col",
        "h_out",
        "mask",
        "params",
        "prev_a",
        "prev_b",
        "prev_partial",
        "prev_product",
        "protected_mask",
        "row",
        "stationary",
        "used",
        "v_out",
    )

    def __init__(self, row: int, col: int, params: np.ndarray, mask: int, protected_mask: int) -> None:
        self.row = row
        self.col = col
        self.params = params
        self.mask = mask
        self.protected_mask = protected_mask
        self.reset(used=False)

    def reset(self, *, used: bool) -> None:
        """Start of a fold: all registers and the MAC state to zero, no tokens in flight."""
        self.used = used
        self.stationary = 0
        self.prev_a = self.prev_b = self.prev_product = self.prev_partial = 0
        self.accumulator = 0
        self.h_out = None
        self.v_out = None
        self._next: dict[str, object] = {}

    def mac(self, a: int, b: int, partial: int) -> tuple[int, int, bool]:
        """Compute phase of one MAC ``a * b + partial``: (value passed on, flip mask, detected).

        The PE's state for its next MAC is staged and takes effect at :meth:`commit`.
        A detected error is replayed: the value passed on is the settled sum.
        """
        latched, settled, product = _kernels.registered_mac(
            self.prev_a, self.prev_b, self.prev_product, self.prev_partial, a, b, partial, self.params
        )
        self._next.update(prev_a=a, prev_b=b, prev_product=int(product), prev_partial=partial)
        flips = (int(latched) ^ int(settled)) & self.mask
        detected = (flips & self.protected_mask) != 0
        value = int(settled) if detected else int(latched)
        return value & self.mask, flips, detected

    def stage(self, **registers: object) -> None:
        """Compute phase: the values the named registers take at the clock edge."""
        self._next.update(registers)

    def commit(self) -> None:
        """Clock edge: every staged register takes its new value."""
        for name, value in self._next.items():
            setattr(self, name, value)
        self._next = {}


class DetailedGrid:
    """R x C :class:`ProcessingElement` objects stepped cycle by cycle.

    Parameters
    ----------
    setup : GridSetup
    """

    name = "detailed"

    def __init__(self, setup: GridSetup) -> None:
        self.setup = setup
        self.pes = [
            [
                ProcessingElement(r, c, setup.params_row(r, c), setup.mask, setup.protected_mask)
                for c in range(setup.cols)
            ]
            for r in range(setup.rows)
        ]

    def run_fold(self, fold: Fold, operands: FoldOperands) -> FoldResult:
        """Run one fold from an all-zero PE state (see :class:`sim.grid.GridEngine`)."""
        rows_used = operands.row_stream.shape[0]
        if operands.stationary is not None:
            cols_used = operands.stationary.shape[1]
        else:
            assert operands.col_stream is not None
            cols_used = operands.col_stream.shape[0]
        for r, line in enumerate(self.pes):
            for c, pe in enumerate(line):
                pe.reset(used=r < rows_used and c < cols_used)
        self._stats = _FoldStats(self.setup.width, cols_used)
        if operands.stationary is not None:
            tile, busy = self._run_stationary(operands, rows_used, cols_used)
        else:
            tile, busy = self._run_output_stationary(operands, rows_used, cols_used)
        return self._stats.result(
            tile, busy, rows_used * cols_used * operands.row_stream.shape[1], self.setup.record_events
        )

    def _run_stationary(self, operands: FoldOperands, rows_used: int, cols_used: int) -> tuple[np.ndarray, int]:
        rows, cols = self.setup.rows, self.setup.cols
        stream = operands.row_stream
        steps = stream.shape[1]
        assert operands.stationary is not None
        stationary = np.zeros((rows, cols), dtype=np.int64)
        stationary[:rows_used, :cols_used] = operands.stationary
        tile = np.zeros((cols_used, steps), dtype=np.int64)
        for cycle in range(rows):
            for r in range(rows):
                for c in range(cols):
                    above = stationary[rows - 1 - cycle, c] if r == 0 else self.pes[r - 1][c].stationary
                    self.pes[r][c].stage(stationary=int(above))
            self._commit()
        received = 0
        cycle = rows
        while received < cols * steps:
            for r in range(rows):
                step = cycle - rows - r
                feed: int | None = None
                if 0 <= step < steps:
                    feed = int(stream[r, step]) if r < rows_used else 0
                for c in range(cols):
                    pe = self.pes[r][c]
                    operand = feed if c == 0 else self.pes[r][c - 1].h_out
                    if operand is None:
                        pe.stage(h_out=None, v_out=None)
                        continue
                    partial = 0 if r == 0 else self.pes[r - 1][c].v_out
                    value: int | None
                    if pe.used:
                        assert partial is not None
                        value, flips, detected = pe.mac(operand, pe.stationary, partial)
                        self._stats.mac(cycle, r, c, flips, detected)
                    else:
                        value = partial
                    pe.stage(h_out=operand, v_out=value)
            self._stats.end_cycle()
            self._commit()
            for c in range(cols):
                value = self.pes[rows - 1][c].v_out
                if value is not None:
                    if c < cols_used:
                        tile[c, cycle - rows - (rows - 1) - c] = value
                    received += 1
            cycle += 1
        return tile, cycle

    def _run_output_stationary(self, operands: FoldOperands, rows_used: int, cols_used: int) -> tuple[np.ndarray, int]:
        rows, cols = self.setup.rows, self.setup.cols
        left, top = operands.row_stream, operands.col_stream
        assert top is not None
        steps = left.shape[1]
        last_done = 0
        cycle = 0
        while last_done < steps:
            for r in range(rows):
                step = cycle - r
                feed_left = None
                if 0 <= step < steps:
                    feed_left = int(left[r, step]) if r < rows_used else 0
                for c in range(cols):
                    pe = self.pes[r][c]
                    a = feed_left if c == 0 else self.pes[r][c - 1].h_out
                    if r == 0:
                        step_top = cycle - c
                        b = None
                        if 0 <= step_top < steps:
                            b = int(top[c, step_top]) if c < cols_used else 0
                    else:
                        b = self.pes[r - 1][c].v_out
                    if a is None or b is None:
                        pe.stage(h_out=None, v_out=None)
                        continue
                    if pe.used:
                        value, flips, detected = pe.mac(a, b, pe.accumulator)
                        self._stats.mac(cycle, r, c, flips, detected)
                        pe.stage(accumulator=value)
                    pe.stage(h_out=a, v_out=b)
                    if r == rows - 1 and c == cols - 1:
                        last_done += 1
            self._stats.end_cycle()
            self._commit()
            cycle += 1
        tile = np.array(
            [[self.pes[r][c].accumulator for c in range(cols_used)] for r in range(rows_used)], dtype=np.int64
        ).reshape(rows_used, cols_used)
        return tile, cycle

    def _commit(self) -> None:
        for line in self.pes:
            for pe in line:
                pe.commit()


class _FoldStats:
    """Error and detection bookkeeping of one fold, cycle by cycle."""

    def __init__(self, width: int, cols_used: int) -> None:
        self.width = width
        self.flip_counts = np.zeros(width, dtype=np.int64)
        self.residual = np.zeros(width, dtype=np.int64)
        self.column_counts = np.zeros(cols_used, dtype=np.int64)
        self.erroneous = 0
        self.detections = 0
        self.detection_cycles = 0
        self.events: list[tuple[int, int, int, int, int]] = []
        self._columns_this_cycle: set[int] = set()

    def mac(self, cycle: int, row: int, col: int, flips: int, detected: bool) -> None:
        if flips == 0:
            return
        self.erroneous += 1
        for bit in range(self.width):
            if (flips >> bit) & 1:
                self.flip_counts[bit] += 1
                if not detected:
                    self.residual[bit] += 1
        if detected:
            self.detections += 1
            self._columns_this_cycle.add(col)
        self.events.append((cycle, row, col, flips, int(detected)))

    def end_cycle(self) -> None:
        if self._columns_this_cycle:
            self.detection_cycles += 1
            for col in self._columns_this_cycle:
                self.column_counts[col] += 1
            self._columns_this_cycle = set()

    def result(self, tile: np.ndarray, busy: int, macs: int, record: bool) -> FoldResult:
        events = None
        if record:
            events = sort_events(np.array(self.events, dtype=np.int64).reshape(-1, 5))
        return FoldResult(
            tile=tile,
            busy_cycles=busy,
            macs=macs,
            erroneous_macs=self.erroneous,
            detections=self.detections,
            detection_cycles=self.detection_cycles,
            column_detection_cycles=self.column_counts,
            flip_counts=self.flip_counts,
            residual_flip_counts=self.residual,
            events=events,
        )
