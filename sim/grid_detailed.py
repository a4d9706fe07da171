"""The ``detailed`` grid engine: one PE object per array position, stepped cycle by cycle.

Every clock cycle has two phases. In *compute* each :class:`ProcessingElement` reads the
registers its neighbours (or the edge feeders) committed in the previous cycle and
evaluates its MAC through :func:`pe_models.kernels.registered_mac`; in *commit* all PEs
update their registers at once, as flip-flops do at the clock edge. Operands move one PE
per cycle to the right (and, in os, down); partial sums move one PE per cycle down (ws,
is). Tokens are ``None`` for a bubble; a partial fold is padded with zero tokens so that,
as in SCALE-Sim, every fold occupies the whole array's extent.

For small arrays, teaching and checking the ``fast`` engine (:mod:`sim.grid_fast`), which
must agree with it bit for bit. The cycle count of a fold is counted here by stepping
until the last token has left the array, not taken from a formula.

Razor detection is evaluated for every MAC of every PE (the shadow value at
``t_sample + window`` of :func:`pe_models.kernels.registered_mac_shadow`), without
the fast engine's shortcuts. For the ``local`` recovery policy every token carries the
replay delay of the PE that produced it: a PE starts a MAC when its operand, its partial
sum (or, in os, its vertical operand) and its own previous MAC are ready, so its delay is
the largest of the three plus one replay if it detects.
"""

from __future__ import annotations

import numpy as np

from pe_models.kernels import registered_mac, registered_mac_shadow

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
    drop : bool
        ``drop`` recovery: a detected MAC passes its incoming partial sum on.
    product_caught, product_missed : int
        Protected product register bits whose shadow latch catches a late value (static
        arrival inside the window) and those it misses (later); `params` holds the product
        register as recovered (:func:`sim.engine.product_razor_rows`).

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
    delay, h_delay, v_delay : int
        ``local`` recovery: replays this PE's last MAC waited for, and the delay carried
        by the tokens it passes right and down.
    """

    __slots__ = (
        "_next",
        "accumulator",
        "col",
        "delay",
        "drop",
        "h_delay",
        "h_out",
        "mask",
        "params",
        "prev_a",
        "prev_b",
        "prev_partial",
        "prev_product",
        "product_caught",
        "product_missed",
        "protected_mask",
        "row",
        "stationary",
        "used",
        "v_delay",
        "v_out",
    )

    def __init__(
        self,
        row: int,
        col: int,
        params: np.ndarray,
        mask: int,
        protected_mask: int,
        drop: bool = False,
        product_caught: int = 0,
        product_missed: int = 0,
    ) -> None:
        self.row = row
        self.col = col
        self.params = params
        self.mask = mask
        self.protected_mask = protected_mask
        self.drop = drop
        self.product_caught = product_caught
        self.product_missed = product_missed
        self.reset(used=False)

    def reset(self, *, used: bool) -> None:
        """Start of a fold: all registers and the MAC state to zero, no tokens in flight."""
        self.used = used
        self.stationary = 0
        self.prev_a = self.prev_b = self.prev_product = self.prev_partial = 0
        self.accumulator = 0
        self.h_out = None
        self.v_out = None
        self.delay = self.h_delay = self.v_delay = 0
        self._next: dict[str, object] = {}

    def product_razor(self, a: int, b: int) -> tuple[bool, bool]:
        """(caught, silent) of the product register for the MAC ``a * b`` after the PE's previous one:
        a protected product bit that changes and arrives inside the window, or after it."""
        change = ((a * b) ^ (self.prev_a * self.prev_b)) & 0xFFFF
        return (change & self.product_caught) != 0, (change & self.product_missed) != 0

    def mac(self, a: int, b: int, partial: int) -> tuple[int, int, int, int, bool]:
        """Compute phase of one MAC ``a * b + partial``: (value passed on, latched, settled, shadow, detected).

        The PE's state for its next MAC is staged and takes effect at :meth:`commit`.
        The Razor flip-flops of the protected bits compare the main sample with the
        shadow sample; on a difference the shadow value is written into them (``drop``:
        the incoming partial sum is passed on instead). A product register detection
        (:meth:`product_razor`) counts as a detection of the MAC.
        """
        product_caught, _ = self.product_razor(a, b)
        state = (self.prev_a, self.prev_b, self.prev_product, self.prev_partial, a, b, partial, self.params)
        latched, settled, product = registered_mac(*state)
        shadow = registered_mac_shadow(*state) if self.protected_mask else latched
        self._next.update(prev_a=a, prev_b=b, prev_product=int(product), prev_partial=partial)
        latched, settled, shadow = int(latched) & self.mask, int(settled) & self.mask, int(shadow) & self.mask
        detected = ((latched ^ shadow) & self.protected_mask) != 0 or product_caught
        value = latched
        if detected:
            value = partial if self.drop else (latched & ~self.protected_mask) | (shadow & self.protected_mask)
        return value & self.mask, latched, settled, shadow, detected

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
        self.local = setup.recovery == "local"
        self.drop = setup.recovery == "drop"
        self.pes = [
            [
                ProcessingElement(
                    r, c, setup.params_row(r, c), setup.mask, setup.protected_mask, self.drop, *setup.product_row(r, c)
                )
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
        self._stats = _FoldStats(self.setup.width, cols_used, self.setup.protected_mask)
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
                    delay_left = 0 if c == 0 else self.pes[r][c - 1].h_delay
                    delay_up = 0 if r == 0 else self.pes[r - 1][c].v_delay
                    if pe.used:
                        assert partial is not None
                        self._stats.product(*pe.product_razor(operand, pe.stationary))
                        value, latched, settled, shadow, detected = pe.mac(operand, pe.stationary, partial)
                        self._stats.mac(cycle, r, c, latched, settled, shadow, value, detected, self.drop)
                        self._replay(pe, delay_left, delay_up, detected)
                    else:
                        value = partial
                        pe.stage(h_delay=delay_left, v_delay=delay_up)
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
                        self._stats.product(*pe.product_razor(a, b))
                        value, latched, settled, shadow, detected = pe.mac(a, b, pe.accumulator)
                        self._stats.mac(cycle, r, c, latched, settled, shadow, value, detected, self.drop)
                        delay_left = 0 if c == 0 else self.pes[r][c - 1].h_delay
                        delay_up = 0 if r == 0 else self.pes[r - 1][c].v_delay
                        self._replay(pe, delay_left, delay_up, detected)
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

    def _replay(self, pe: ProcessingElement, left: int, up: int, detected: bool) -> None:
        """``local``: the MAC starts when its inputs and the PE are ready, and waits one more replay if it detects."""
        if not self.local:
            return
        delay = max(left, up, pe.delay) + int(detected)
        pe.stage(delay=delay, h_delay=delay, v_delay=delay)
        self._stats.replay_depth = max(self._stats.replay_depth, delay)

    def _commit(self) -> None:
        for line in self.pes:
            for pe in line:
                pe.commit()


class _FoldStats:
    """Error and detection bookkeeping of one fold, cycle by cycle."""

    def __init__(self, width: int, cols_used: int, protected_mask: int) -> None:
        self.width = width
        self.protected_mask = protected_mask
        self.flip_counts = np.zeros(width, dtype=np.int64)
        self.residual = np.zeros(width, dtype=np.int64)
        self.column_counts = np.zeros(cols_used, dtype=np.int64)
        self.erroneous = 0
        self.detections = 0
        self.miscorrections = 0
        self.silent = 0
        self.unprotected = 0
        self.detection_cycles = 0
        self.replay_depth = 0
        self.product_detections = 0
        self.silent_product = 0
        self.events: list[tuple[int, int, int, int, int]] = []
        self._columns_this_cycle: set[int] = set()

    def mac(
        self,
        cycle: int,
        row: int,
        col: int,
        latched: int,
        settled: int,
        shadow: int,
        value: int,
        detected: bool,
        drop: bool,
    ) -> None:
        protected = self.protected_mask
        flips = latched ^ settled
        caught = (latched ^ shadow) & protected
        if flips:
            self.erroneous += 1
            if flips & protected & ~caught:
                self.silent += 1
            if flips & ~protected:
                self.unprotected += 1
        passed_on = 0 if detected and drop else value ^ settled
        if flips or passed_on:
            for bit in range(self.width):
                self.flip_counts[bit] += (flips >> bit) & 1
                self.residual[bit] += (passed_on >> bit) & 1
        if detected:
            self.detections += 1
            if not drop and (shadow ^ settled) & caught:
                self.miscorrections += 1
            self._columns_this_cycle.add(col)
        if flips or detected:
            self.events.append((cycle, row, col, flips, int(detected)))

    def product(self, caught: bool, silent: bool) -> None:
        """Count one MAC's product register detection and silent product error."""
        self.product_detections += int(caught)
        self.silent_product += int(silent)

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
            miscorrections=self.miscorrections,
            silent_protected_errors=self.silent,
            unprotected_errors=self.unprotected,
            replay_depth=self.replay_depth,
            product_detections=self.product_detections,
            silent_product_errors=self.silent_product,
            detection_cycles=self.detection_cycles,
            column_detection_cycles=self.column_counts,
            flip_counts=self.flip_counts,
            residual_flip_counts=self.residual,
            events=events,
        )
