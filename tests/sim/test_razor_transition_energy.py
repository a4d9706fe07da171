"""The Razor flip-flops' extra energy per data transition of the protected bits.

Independent references: single-PE GEMMs whose partial sums alternate between two values, so
the bits that change from one MAC to the next are counted by hand from the two values' binary
forms; the characterised energy difference read from the committed cell table as plain JSON
(``tests/pe_models/_razor_table.py``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from experiments.studies.inference_energy import InferenceLayer, inference_energy, layer_coefficients
from pe_models.energy import Band, pe_energy_model
from pe_models.errors import ConfigError
from pe_models.liberty import shipped_cell_library
from pe_models.pe import PEConfig
from sim.config import ArrayConfig
from sim.energy import (
    LayerActivity,
    MemoryTraffic,
    RegisterBitToggles,
    batched_activity,
    layer_energy,
    mac_switching,
)
from sim.layers import GemmProblem
from sim.protection import Protection
from tests.pe_models._razor_table import razor_transition_extra_fj

PE = PEConfig(technology="ptm-32nm-hp")
ARRAY = ArrayConfig(rows=4, cols=4, f_clk_mhz=700.0)
MACS = 8
ZERO = Band.exact(0.0)


def _alternating(first: int, second: int, weight: int) -> tuple[np.ndarray, np.ndarray]:
    """A (8 x 1) column alternating `first`, `second` times a 1 x 1 weight: one PE, whose
    incoming partial sum is 0, so its partial-sum register alternates ``first x weight`` and
    ``second x weight``, and so does its product register."""
    activations = np.array([[first], [second]] * (MACS // 2), dtype=np.int8)
    return activations, np.array([[weight]], dtype=np.int8)


def _transition_pj(vdd: float) -> float:
    library = shipped_cell_library()
    return 1e-3 * razor_transition_extra_fj(vdd, library.reference_load_ff, library.reference_slew_ps(vdd))


def _razor_overhead_pj(operands, protection: Protection | None, vdd: float, *, only_transitions: bool = False) -> float:
    model = pe_energy_model(PE)
    if only_transitions:
        model = dataclasses.replace(model, razor_extra_pj=ZERO, razor_extra_leakage_uw=ZERO, hold_buffer_pj=ZERO)
    breakdown = _breakdown(operands, protection, vdd, model)
    return breakdown.razor_overhead_pj.nominal


def _breakdown(operands, protection, vdd, model=None):
    model = model or pe_energy_model(PE)
    switching = mac_switching(model, *operands, ARRAY, samples=256, seed=1)
    activity = batched_activity(
        "gemm",
        GemmProblem(m=MACS, n=1, k=1),
        ARRAY,
        units_per_mac=switching.units_per_mac,
        register_toggles_per_mac=switching.register_toggles_per_mac,
        protection=protection,
        bit_toggles=switching.bit_toggles,
    )
    return layer_energy(activity, model, vdd_v=vdd, f_clk_mhz=700.0)


def test_the_bits_that_change_are_those_where_15_and_minus_15_differ():
    # 15 = 0x0000000F and -15 = 0xFFFFFFF1 differ in bits 1..31; as 16-bit products 0x000F and
    # 0xFFF1 differ in bits 1..15.
    switching = mac_switching(pe_energy_model(PE), *_alternating(3, -3, 5), ARRAY, samples=256, seed=1)
    assert switching.bit_toggles is not None
    assert switching.bit_toggles.sum_bits == (0.0,) + (1.0,) * 31
    assert switching.bit_toggles.product_bits == (0.0,) + (1.0,) * 15


@pytest.mark.parametrize("vdd", [0.9, 0.6])
def test_two_protected_bits_that_change_cost_two_transitions_per_mac_more_than_two_that_never_do(vdd):
    # 0 and 200 = 0b11001000 differ in bits 7, 6 and 3: bits 7:6 change at every MAC, bits 1:0
    # never. Both masks are two Razor flops (same clock, leakage and hold buffers).
    operands = _alternating(0, 100, 2)
    busy = _razor_overhead_pj(operands, Protection(protected_mask=0xC0), vdd)
    quiet = _razor_overhead_pj(operands, Protection(protected_mask=0x03), vdd)
    assert busy - quiet == pytest.approx(2 * MACS * _transition_pj(vdd), rel=1e-6)


def test_protecting_no_bits_adds_no_transition_energy():
    operands = _alternating(0, 100, 2)
    assert _razor_overhead_pj(operands, Protection(protected_mask=0), 0.9) == 0.0
    assert _razor_overhead_pj(operands, None, 0.9) == 0.0


def test_each_further_protected_bit_that_changes_adds_one_transition_per_mac():
    operands = _alternating(0, 100, 2)
    overheads = [
        _razor_overhead_pj(operands, Protection(protected_mask=mask), 0.9, only_transitions=True)
        for mask in (0x80, 0xC0, 0xC8)
    ]
    assert overheads == pytest.approx([n * MACS * _transition_pj(0.9) for n in (1, 2, 3)], rel=1e-6)


def test_protected_product_register_bits_are_charged_their_own_transitions():
    # Product bits 15:13 of 15 / -15 change at every MAC (above); no accumulator bit protected.
    protection = Protection(product_mask=0xE000)
    overhead = _razor_overhead_pj(_alternating(3, -3, 5), protection, 0.9, only_transitions=True)
    assert overhead == pytest.approx(3 * MACS * _transition_pj(0.9), rel=1e-6)


def test_the_register_energy_keeps_the_plain_flops_share_whatever_is_protected():
    operands = _alternating(3, -3, 5)
    plain = _breakdown(operands, None, 0.9)
    protected = _breakdown(operands, Protection(protected_mask=0xFFFFFF00), 0.9)
    assert protected.register_clock_pj == plain.register_clock_pj
    assert protected.razor_overhead_pj.nominal > plain.razor_overhead_pj.nominal


def test_more_protected_transitions_than_protected_bits_are_refused():
    traffic = MemoryTraffic(sram_read_bytes=0, sram_write_bytes=0, dram_read_bytes=0, dram_write_bytes=0)
    with pytest.raises(
        ConfigError,
        match=r"^LayerActivity\.protected_toggles_per_mac: 2\.5 exceeds the 2 protected bits "
        r"\(a bit changes at most once per MAC\)$",
    ):
        LayerActivity(
            name="l",
            macs=8,
            cycles=20,
            pes=16,
            units_per_mac=0.0,
            traffic=traffic,
            protected_bits=2,
            protected_toggles_per_mac=2.5,
        )


def test_a_protected_bit_beyond_the_register_is_refused():
    toggles = RegisterBitToggles(sum_bits=(0.5,) * 32)
    with pytest.raises(ConfigError, match=r"^protected_mask: bit 40 is outside the 32-bit register; allowed: 0\.\.31$"):
        toggles.protected(1 << 40)


def test_the_optimizer_screens_coefficients_reproduce_the_measured_energy_of_a_protected_plan():
    # Every accumulator bit protected (the screen's error tree depth), 5 recovery cycles and 7
    # detections: base + r recovery + b (bit + h buffer) + b r (bit cycle + h buffer cycle)
    # + t transition + d (detection + t transition per detection).
    bits = tuple(float(value) for value in np.linspace(0.0, 0.5, 32))
    layer = InferenceLayer(
        name="l", macs=20 * 12 * 10, m=20, n=12, k=10, units_per_mac=30.0, bit_toggles=RegisterBitToggles(sum_bits=bits)
    )
    array = ArrayConfig(rows=8, cols=8, f_clk_mhz=700.0)
    measured = inference_energy(
        [layer],
        pe=PE,
        array=array,
        vdd_v=0.7,
        counts={"l": (5, 7)},
        masks={"l": 0xFFFFFFFF},
        hold_buffers_per_bit=3.0,
    )
    (c,) = layer_coefficients([layer], pe=PE, array=array, vdd_v=0.7)
    b, h, r, d, t = 32, 3.0, 5, 7, sum(bits)
    screen = (
        c.base_pj
        + r * c.recovery_cycle_pj
        + b * (c.bit_pj + h * c.hold_buffer_pj)
        + b * r * (c.bit_recovery_cycle_pj + h * c.hold_buffer_recovery_cycle_pj)
        + t * c.protected_toggle_pj
        + d * (c.detection_pj + t * c.protected_toggle_detection_pj)
    )
    assert c.protected_toggle_pj > 0
    assert screen == pytest.approx(measured.total_pj.nominal, rel=1e-9)
