"""What the per-edge route tests share: the characterised PE, its supplies below the whole-point screen,
and the comparison of two engine results (outputs, every counter, the flip tallies)."""

from __future__ import annotations

import numpy as np

from pe_models.pe import OperatingPoint, PEConfig, stage_timing

PE = PEConfig(technology="ptm-32nm-hp-cells")
SUPPLIES = (0.65, 0.6, 0.55, 0.5)
COUNTERS = (
    "macs",
    "erroneous_macs",
    "detections",
    "detection_cycles",
    "miscorrections",
    "silent_protected_errors",
    "unprotected_errors",
    "product_detections",
    "silent_product_errors",
    "cycles",
    "correction_cycles",
)


def timing_at(vdd_v: float):
    """The characterised PE's timing at `vdd_v` and 700 MHz."""
    return stage_timing(PE, operating_point=OperatingPoint(vdd_v=vdd_v, f_clk_mhz=700.0))


def assert_same_results(result, expected) -> None:
    """Outputs, every counter of :data:`COUNTERS` and both flip tallies equal."""
    np.testing.assert_array_equal(result.outputs, expected.outputs)
    for name in COUNTERS:
        assert getattr(result, name) == getattr(expected, name), name
    np.testing.assert_array_equal(result.flip_counts, expected.flip_counts)
    np.testing.assert_array_equal(result.residual_flip_counts, expected.residual_flip_counts)
