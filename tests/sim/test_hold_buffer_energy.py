"""The hold-fix buffers of a protected bit switch with that bit's own transitions.

Independent references: single-PE GEMMs whose partial sums (and products) alternate between
two values, so the bits that change from one MAC to the next are counted by hand from the two
values' binary forms (``tests/sim/_alternating.py``); the buffers per bit from the hold-fixing
design (:func:`pe_models.razor.hold_buffers`, :func:`pe_models.razor.razor_pe`); the BUF
cell's energy per output transition and its input pin read from the committed cell table as
plain JSON (``tests/pe_models/_razor_table.py``). The buffers' share of ``razor_overhead_pj``
is the overhead with the model's buffer energy minus the same without it.
"""

from __future__ import annotations

import dataclasses

import pytest

from experiments.studies.inference_energy import InferenceLayer, inference_energy
from pe_models.energy import HOLD_BUFFER_ASSUMED_ACTIVITY, Band, pe_energy_model
from pe_models.errors import ConfigError
from pe_models.liberty import shipped_cell_library
from pe_models.razor import hold_buffers, razor_pe
from sim.energy import LayerActivity, MemoryTraffic, RegisterBitToggles, mac_switching
from tests.pe_models._razor_table import buffer_transition_fj
from tests.sim._alternating import ARRAY, MACS, PE, alternating

ZERO = Band.exact(0.0)
SIGN_FLIPS = alternating(3, -3, 5)
"""15 = 0x0000000F and -15 = 0xFFFFFFF1: partial-sum bits 1..31 change at every MAC, bit 0
never; as 16-bit products 0x000F and 0xFFF1, product bits 1..15 change, bit 0 never."""


def _buffer_transition_pj(vdd: float) -> float:
    library = shipped_cell_library()
    return 1e-3 * buffer_transition_fj(vdd, library.reference_load_ff, library.reference_slew_ps(vdd))


def _layer(operands, *, per_bit_activity: bool = True) -> InferenceLayer:
    switching = mac_switching(pe_energy_model(PE), *operands, ARRAY, samples=256, seed=1)
    return InferenceLayer(
        name="l",
        macs=MACS,
        m=MACS,
        n=1,
        k=1,
        units_per_mac=switching.units_per_mac,
        register_toggles_per_mac=switching.register_toggles_per_mac,
        bit_toggles=switching.bit_toggles if per_bit_activity else None,
    )


def _hold_buffer_pj(layer: InferenceLayer, vdd: float, *, mask: int = 0, product: int = 0, counts=None) -> float:
    """The hold-fix buffers' share of the layer's Razor overhead (designed buffers, default model)."""
    model = pe_energy_model(PE)
    silent = dataclasses.replace(model, hold_buffer_transition_pj=ZERO, hold_buffer_pj=ZERO)

    def overhead(energy_model) -> float:
        breakdown = inference_energy(
            [layer],
            pe=PE,
            array=ARRAY,
            vdd_v=vdd,
            masks={"l": mask},
            product_masks={"l": product},
            counts={"l": counts} if counts else None,
            model=energy_model,
        )
        return breakdown.razor_overhead_pj.nominal

    return overhead(model) - overhead(silent)


@pytest.mark.parametrize("vdd", [0.9, 0.6])
def test_each_buffer_of_a_bit_that_changes_at_every_mac_switches_once_per_mac(vdd):
    buffers = int(hold_buffers(PE, f_clk_mhz=700.0, protected_mask=1 << 31)[31])
    energy = _hold_buffer_pj(_layer(SIGN_FLIPS), vdd, mask=1 << 31)
    assert buffers > 0
    assert energy == pytest.approx(MACS * buffers * _buffer_transition_pj(vdd), rel=1e-6)


def test_the_buffers_of_a_bit_that_never_changes_switch_nothing():
    assert hold_buffers(PE, f_clk_mhz=700.0, protected_mask=1)[0] > 0
    assert _hold_buffer_pj(_layer(SIGN_FLIPS), 0.9, mask=1) == pytest.approx(0.0, abs=1e-12)


def test_replayed_macs_switch_the_buffers_again():
    # 2 recovery cycles and 3 detections over one image: 8 + 3 evaluated MACs.
    buffers = int(hold_buffers(PE, f_clk_mhz=700.0, protected_mask=1 << 31)[31])
    energy = _hold_buffer_pj(_layer(SIGN_FLIPS), 0.9, mask=1 << 31, counts=(2, 3))
    assert energy == pytest.approx((MACS + 3) * buffers * _buffer_transition_pj(0.9), rel=1e-6)


def test_protected_product_bits_buffers_switch_with_their_own_bits():
    # Product bits 15:13 change at every MAC; bit 0 (also protected) never.
    built = razor_pe(PE, f_clk_mhz=700.0, protected_mask=0, product_mask=0xE001)
    buffers = sum(built.product_hold_buffers[13:16])
    energy = _hold_buffer_pj(_layer(SIGN_FLIPS), 0.9, product=0xE001)
    assert built.product_hold_buffers[0] > 0
    assert energy == pytest.approx(MACS * buffers * _buffer_transition_pj(0.9), rel=1e-6)


def test_without_per_bit_activity_the_buffers_switch_at_the_assumed_rate_every_clocked_cycle():
    # ws on 4 x 4 PEs, M = 8, K = N = 1: one fold of 2*4 + 4 + 8 - 2 = 18 cycles, one PE clocked.
    buffers = int(hold_buffers(PE, f_clk_mhz=700.0, protected_mask=1 << 31)[31])
    energy = _hold_buffer_pj(_layer(SIGN_FLIPS, per_bit_activity=False), 0.9, mask=1 << 31)
    assert HOLD_BUFFER_ASSUMED_ACTIVITY == 0.25
    assert energy == pytest.approx(18 * 0.25 * buffers * _buffer_transition_pj(0.9), rel=1e-6)


def test_buffer_transitions_weigh_each_bit_by_its_own_buffers():
    toggles = RegisterBitToggles(sum_bits=(0.5, 0.0, 1.0) + (0.0,) * 29, product_bits=(0.25,) + (0.0,) * 15)
    assert toggles.buffer_transitions((4, 7, 2), (8,)) == 0.5 * 4 + 1.0 * 2 + 0.25 * 8
    assert toggles.buffer_transitions(()) == 0.0


def test_more_buffer_counts_than_register_bits_are_refused():
    toggles = RegisterBitToggles(sum_bits=(0.5,) * 32)
    with pytest.raises(
        ConfigError,
        match=r"^product_hold_buffers: expected at most 16 buffer counts >= 0, one per register bit, got \(1, .*\)$",
    ):
        toggles.buffer_transitions((), (1,) * 17)


def test_a_negative_buffer_transition_rate_is_refused():
    traffic = MemoryTraffic(sram_read_bytes=0, sram_write_bytes=0, dram_read_bytes=0, dram_write_bytes=0)
    with pytest.raises(
        ConfigError,
        match=r"^LayerActivity\.hold_buffer_toggles_per_mac: expected a finite number >= 0 or None, got -1\.0$",
    ):
        LayerActivity(
            name="l",
            macs=8,
            cycles=20,
            pes=16,
            units_per_mac=0.0,
            traffic=traffic,
            protected_bits=1,
            hold_buffer_toggles_per_mac=-1.0,
        )


def test_the_array_simulators_buffers_switch_with_their_bit(monkeypatch):
    from pe_models.pe import OperatingPoint, stage_timing
    from sim.energy import gemm_energy
    from sim.engine import simulate_gemm
    from sim.protection import Protection

    activations, weights = SIGN_FLIPS
    timing = stage_timing(PE, operating_point=OperatingPoint(vdd_v=0.9, f_clk_mhz=700.0))
    protection = Protection(protected_mask=1 << 31)
    result = simulate_gemm(activations, weights, array=ARRAY, pe=PE, timing=timing, protection=protection)
    designed = tuple(int(n) for n in hold_buffers(PE, f_clk_mhz=700.0, protected_mask=1 << 31))
    model = pe_energy_model(PE)

    def overhead(energy_model) -> float:
        monkeypatch.setattr("sim.energy.pe_energy_model", lambda pe: energy_model)
        breakdown = gemm_energy(result, activations, weights, array=ARRAY, pe=PE, vdd_v=0.9, protection=protection)
        return breakdown.razor_overhead_pj.nominal

    silent = dataclasses.replace(model, hold_buffer_transition_pj=ZERO, hold_buffer_pj=ZERO)
    energy = overhead(model) - overhead(silent)
    assert (result.detections, result.hold_buffers) == (0, designed)
    assert energy == pytest.approx(MACS * designed[31] * _buffer_transition_pj(0.9), rel=1e-6)
