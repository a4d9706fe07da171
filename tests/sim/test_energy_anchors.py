"""Sanity anchors of the energy model against published figures (sources and bands in docs/energy.md)."""

from __future__ import annotations

import pytest

from pe_models.energy import _stillmaker_energy, pe_energy_model
from pe_models.pe import PEConfig


def _scaled_45_to_32(value_pj: float) -> float:
    """Stillmaker and Baas (2017) 45 nm -> 32 nm at 0.9 V, from the table's coefficients."""
    e45 = 1.103 * 0.81 - 0.362 * 0.9 + 0.2767
    e32 = 0.9559 * 0.81 - 0.7823 * 0.9 + 0.471
    return value_pj * e32 / e45


def test_stillmaker_ratio_used_by_the_anchors_is_the_table_s():
    assert _stillmaker_energy(32, 0.9) / _stillmaker_energy(45, 0.9) == pytest.approx(_scaled_45_to_32(1.0))


def test_int8_mac_with_32_bit_accumulator_and_its_registers_lies_in_the_published_band():
    """One MAC of a streaming PE on random operands: datapath + the 56 flops clocked every MAC
    (the weight register holds) + register transitions. Band: Horowitz (ISSCC 2014) 8-bit
    multiply 0.2 pJ + 32-bit add 0.1 pJ at 45 nm scaled to 32 nm (the bare arithmetic, a lower
    bound) up to Aladdin's 40 nm MAC (12.68 pJ x 64/1024 + 0.21 pJ) plus 56 of its 0.009 pJ
    register bits, scaled by 32/40 (constant-field)."""
    model = pe_energy_model(PEConfig())
    random_register_toggles = 4 + 8 + 16  # operand a, product, partial sum: half their bits
    mac = model.random_mac_pj.nominal
    registers = 56 * model.flop_clock_pj.nominal + random_register_toggles * model.flop_data_pj.nominal
    low = _scaled_45_to_32(0.2 + 0.1)
    high = (12.68 * 64 / 1024 + 0.21 + 56 * 0.009) * 32 / 40
    assert low <= mac + registers <= high
    assert registers < mac


@pytest.mark.slow
def test_mobilenetv2_on_256x256_costs_a_published_accelerator_energy_per_inference():
    """System energy per inference at 0.9 V, defaults (batch 1, clock gating, LPDDR4): inside
    0.1-10 mJ (issue 24's band; Coral Edge TPU: MobileNet V2 at almost 400 inferences/s within
    its 2 W, at most 5 mJ; the compulsory weight traffic alone, 3.5 M int8 weights at 8 pJ/bit,
    is 0.22 mJ); registers and clock under half of the core's energy."""
    import vscale

    result = vscale.energy(topology="mobilenetv2", array="256x256", vdd_v=[0.9])
    total = next(row for row in result.rows if row.layer_name == "total")
    assert 0.1e9 <= total.energy_per_inference_pj <= 10e9
    assert total.register_clock_pj < 0.5 * total.core_pj


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="with the core from ptm-32nm-hp's characterised library the busy array's leakage is 3.2 % of the "
    "core at 27 degC and 8.9 % at 85 degC, below the cited band (docs/energy.md, Sanity anchors); not tuned",
)
def test_leakage_share_of_a_busy_array_at_27_and_85_degc():
    """A 256x256 array busy 91 % of its cycles (8192x256x256 GEMM), core energy at 0.9 V:
    leakage a minority at 27 degC, and a larger share at 85 degC, inside the band of
    high-performance logic of the 32-65 nm generation (docs/energy.md: 5-40 % at room
    temperature, 15-60 % hot)."""
    import vscale

    shares = {}
    for temperature in (27.0, 85.0):
        result = vscale.energy(gemm="8192,256,256", array="256x256", vdd_v=[0.9], temperature_c=temperature)
        shares[temperature] = result.totals["leakage_share_of_core_pct"]
    assert 5.0 <= shares[27.0] <= 40.0
    assert 15.0 <= shares[85.0] <= 60.0
    assert shares[85.0] > shares[27.0]
