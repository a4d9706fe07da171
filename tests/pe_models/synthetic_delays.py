"""Delay sources for tests: linear in load and slew, with chosen per-pin, per-edge intrinsic delays."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pe_models.cells import CELL_LIBRARIES, CELL_PINS, EDGES


@dataclass(frozen=True)
class LinearDelays:
    """``delay = scale * (intrinsic[cell, pin, edge] + ps_per_ff * load + slew_factor * slew)``.

    Transitions are ``scale * (3 + load + 0.1 * slew)``, the flip-flop's Q transition ``q_slew_ps[edge] +
    load`` and its clock-to-Q ``scale * (clk_to_q[edge] + 0.2 * load)`` (0 when ``clk_to_q`` is 0).
    Every field is a plain number so tests can work out expected values by hand.
    """

    intrinsic_ps: Mapping[tuple[str, str, str], float]
    pin_ff: Mapping[tuple[str, str], float] = field(default_factory=dict)
    ps_per_ff: float = 0.0
    slew_factor: float = 0.0
    wire_ff: float = 0.0
    d_pin_ff: float = 0.0
    q_slew_ps: tuple[float, float] = (0.0, 0.0)
    clk_to_q: tuple[float, float] = (0.0, 0.0)
    setup: float = 0.0
    scale: float = 1.0

    def __hash__(self) -> int:
        return hash((tuple(sorted(self.intrinsic_ps.items())), self.scale, self.ps_per_ff))

    @property
    def name(self) -> str:
        return f"linear x{self.scale:g}"

    def delay_ps(self, cell: str, pin: str, edge: str, load_ff: float, slew_ps: float) -> float:
        base = self.intrinsic_ps[(cell, pin, edge)]
        return self.scale * (base + self.ps_per_ff * load_ff + self.slew_factor * slew_ps)

    def transition_ps(self, cell: str, pin: str, edge: str, load_ff: float, slew_ps: float) -> float:
        return self.scale * (3.0 + load_ff + 0.1 * slew_ps)

    def pin_capacitance_ff(self, cell: str, pin: str) -> float:
        return self.pin_ff.get((cell, pin), 0.0)

    @property
    def wire_capacitance_ff(self) -> float:
        return self.wire_ff

    @property
    def flop_d_capacitance_ff(self) -> float:
        return self.d_pin_ff

    @property
    def setup_ps(self) -> float:
        return self.setup * self.scale

    def clk_to_q_ps(self, edge: str, load_ff: Any) -> Any:
        base = self.clk_to_q[EDGES.index(edge)]
        return self.scale * (base + 0.2 * load_ff) if base else 0.0

    def q_transition_ps(self, edge: str, load_ff: float) -> float:
        return self.q_slew_ps[EDGES.index(edge)] + load_ff


def asymmetric_intrinsics(library: str, seed: int) -> dict[tuple[str, str, str], float]:
    """Per-pin, per-edge intrinsic delays around a reasoned library's per-type delays.

    Cell types take turns between three patterns: rise 1.3x fall (all pins), pin-dependent
    (pin k x (1 + 0.25 k)), and independent random factors in [0.6, 1.5] per pin and edge.
    """
    rng = np.random.default_rng(np.random.SeedSequence(0xA5_1D_E1A7, spawn_key=(seed,)))
    delays = CELL_LIBRARIES[library].delays_ps
    intrinsic = {}
    for index, (cell, base) in enumerate(delays.items()):
        pattern = (index + seed) % 3
        for k, pin in enumerate(CELL_PINS[cell]):
            for edge in EDGES:
                if pattern == 0:
                    factor = 1.3 if edge == "rise" else 1.0
                elif pattern == 1:
                    factor = 1.0 + 0.25 * k
                else:
                    factor = float(rng.uniform(0.6, 1.5))
                intrinsic[(cell, pin, edge)] = base * factor
    return intrinsic
