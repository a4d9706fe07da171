"""Single-PE GEMMs whose partial sums alternate between two values (hand-countable bit transitions)."""

from __future__ import annotations

import numpy as np

from pe_models.pe import PEConfig
from sim.config import ArrayConfig

PE = PEConfig(technology="ptm-32nm-hp")
ARRAY = ArrayConfig(rows=4, cols=4, f_clk_mhz=700.0)
MACS = 8


def alternating(first: int, second: int, weight: int) -> tuple[np.ndarray, np.ndarray]:
    """A (8 x 1) column alternating `first`, `second` times a 1 x 1 weight: one PE, whose
    incoming partial sum is 0, so its partial-sum register alternates ``first x weight`` and
    ``second x weight``, and so does its product register."""
    activations = np.array([[first], [second]] * (MACS // 2), dtype=np.int8)
    return activations, np.array([[weight]], dtype=np.int8)
