"""The numba MAC kernels that other packages compose into their own numba kernels.

The array engines (``sim``) call these per-MAC chain-level kernels from inside their own
compiled loops, so they need the jitted functions themselves, not the array-level wrappers
of :mod:`pe_models.chain`. This module is their public name; the implementations live in
the private ``pe_models._kernels``. ``KERNEL_SOURCE`` is that file, whose content hash lets a
consumer invalidate its own numba cache when the kernels change.
"""

from __future__ import annotations

from pathlib import Path

from . import _kernels

__all__ = [
    "KERNEL_SOURCE",
    "LANE_GROUP",
    "PARAM_CARRY_STEPS",
    "PARAM_CELLS",
    "PARAM_LATE_PRODUCT",
    "PARAM_SHADOW_STEPS",
    "SCREEN_CHUNK",
    "SCREEN_EAGER",
    "SCREEN_LAZY",
    "SCREEN_OFF",
    "WRONG_GROUP",
    "WRONG_WORDS",
    "add_tallies",
    "compound_mac_stream",
    "compound_stationary_lanes",
    "compound_stationary_screened",
    "compound_stationary_stream",
    "count_word_bits",
    "lane_flags",
    "product_stage",
    "registered_mac",
    "registered_mac_shadow",
    "tally_bits",
]

KERNEL_SOURCE = Path(_kernels.__file__)
registered_mac = _kernels.registered_mac
registered_mac_shadow = _kernels.registered_mac_shadow
compound_mac_stream = _kernels.compound_mac_stream
compound_stationary_stream = _kernels.compound_stationary_stream
compound_stationary_screened = _kernels.compound_stationary_screened
compound_stationary_lanes = _kernels.compound_stationary_lanes
product_stage = _kernels.product_stage
PARAM_CELLS = _kernels.PARAM_CELLS
PARAM_LATE_PRODUCT = _kernels.PARAM_LATE_PRODUCT
PARAM_CARRY_STEPS = _kernels.PARAM_CARRY_STEPS
PARAM_SHADOW_STEPS = _kernels.PARAM_SHADOW_STEPS
SCREEN_CHUNK = _kernels.SCREEN_CHUNK
SCREEN_OFF = _kernels.SCREEN_OFF
SCREEN_LAZY = _kernels.SCREEN_LAZY
SCREEN_EAGER = _kernels.SCREEN_EAGER
WRONG_GROUP = _kernels.WRONG_GROUP
LANE_GROUP = _kernels.LANE_GROUP
WRONG_WORDS = _kernels.WRONG_WORDS
count_word_bits = _kernels.count_word_bits
lane_flags = _kernels.lane_flags
tally_bits = _kernels.tally_bits
add_tallies = _kernels.add_tallies
