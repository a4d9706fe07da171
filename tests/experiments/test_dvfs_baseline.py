"""The DVFS baseline and the memories' own supply, against hand calculations.

Expected values come from outside the energy code: the cycle count by hand (ws on 8x8), the
critical path of the PE on the formula preset ptm-32nm-hp summed by hand (675 ps at nominal VDD, tests/pe_models/
test_technology_table.py) times the technology's delay scale, and each cell's leakage read
from the committed cell-library JSON at one of its corners (no interpolation)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import vscale
from pe_models.pe import PEConfig

CELLS = Path(__file__).parents[2] / "pe_models/technology_data/cells/ptm-32nm-hp/ptm-32nm-hp.cells.json"
# The formula preset: the PE's reasoned delays scaled by one voltage curve, so the DVFS clock is
# 1 / (critical path at nominal x delay_scale). The default, the characterised library, has no
# such closed form.
TECHNOLOGY = "ptm-32nm-hp"
CRITICAL_PATH_PS = 675.0  # the PE, reasoned delays, setup included (hand sum)
# ws on 8x8: K = 24 on rows (3 folds), N = 16 on columns (2 folds), M = 32 streamed rows;
# 6 folds x (2 R + C + T - 2 = 16 + 8 + 32 - 2 = 54) = 324 cycles.
CYCLES = 324
PES = 64
VDDS = [0.9, 0.6, 0.5]


def _pe_leakage_uw(vdd: float) -> float:
    """Leakage of one default PE at a library corner: its netlists' cells and 64 flops."""
    library = json.loads(CELLS.read_text())
    corner = library["vdd_v"].index(vdd)
    cells = library["cells"]
    kinds = [cell.kind for netlist in PEConfig(technology=TECHNOLOGY).stages.values() for cell in netlist.cells]
    return (sum(cells[kind]["leakage_nw"][corner] for kind in kinds) + 64 * cells["dff"]["leakage_nw"][corner]) / 1e3


def _rows(**options):
    result = vscale.energy(gemm="32,16,24", array="8x8", vdd_v=VDDS, technology=TECHNOLOGY, **options)
    return {row.vdd_v: row for row in result.per_vdd}


@pytest.fixture(scope="module")
def unprotected():
    return _rows()


@pytest.mark.parametrize("vdd", VDDS)
def test_dvfs_clock_latency_and_energy_by_hand(unprotected, vdd):
    row = unprotected[vdd]
    f_dvfs = 1e6 / (CRITICAL_PATH_PS * PEConfig(technology=TECHNOLOGY).tech.delay_scale(vdd))
    leakage_uw = PES * _pe_leakage_uw(vdd)  # clock-gated, not power-gated: every PE leaks
    assert row.cycles == CYCLES
    assert row.latency_us == pytest.approx(CYCLES / 700.0, rel=1e-12)
    assert row.leakage_pj == pytest.approx(leakage_uw * CYCLES / 700.0, rel=1e-9)
    assert row.dvfs_f_clk_mhz == pytest.approx(f_dvfs, rel=1e-12)
    assert row.dvfs_latency_us == pytest.approx(CYCLES / f_dvfs, rel=1e-12)
    # Same switching at the same VDD, leakage over the DVFS latency instead of the plan's.
    dvfs_core = row.mac_dynamic_pj + row.register_clock_pj + leakage_uw * CYCLES / f_dvfs
    assert row.dvfs_core_pj == pytest.approx(dvfs_core, rel=1e-9)
    assert row.dvfs_energy_per_inference_pj == pytest.approx(dvfs_core + row.sram_pj + row.dram_pj, rel=1e-9)
    nominal = unprotected[0.9]
    system = 100 * (1 - row.dvfs_energy_per_inference_pj / nominal.energy_per_inference_pj)
    core = 100 * (1 - row.dvfs_core_pj / nominal.core_pj)
    # savings are rounded to 1e-9 points
    assert row.dvfs_system_saving_pct == pytest.approx(system, abs=1e-8)
    assert row.dvfs_core_saving_pct == pytest.approx(core, abs=1e-8)


# Critical path + setup of the PE on the default, the characterised library ptm-32nm-hp-cells:
# OpenSTA 2.0.17 on the committed Liberty corners (docs/technology.md, "Static timing against
# OpenSTA"), ps.
OPENSTA_CRITICAL_PATH_PS = {0.9: 801.6, 0.6: 2174.9, 0.5: 5316.5}


def test_dvfs_clock_on_the_default_library_is_openstas_critical_path():
    result = vscale.energy(gemm="32,16,24", array="8x8", vdd_v=VDDS)
    assert result.config.technology == "ptm-32nm-hp-cells"
    for row in result.per_vdd:
        f_dvfs = 1e6 / OPENSTA_CRITICAL_PATH_PS[row.vdd_v]
        assert row.dvfs_f_clk_mhz == pytest.approx(f_dvfs, rel=1e-4)
        assert row.dvfs_latency_us == pytest.approx(CYCLES / f_dvfs, rel=1e-4)


def test_dvfs_baseline_carries_no_razor_energy(unprotected):
    protected = _rows(protect="31:20")
    for vdd in VDDS:
        assert protected[vdd].razor_overhead_pj > 0.0
        assert protected[vdd].dvfs_f_clk_mhz == unprotected[vdd].dvfs_f_clk_mhz
        assert protected[vdd].dvfs_core_pj == pytest.approx(unprotected[vdd].dvfs_core_pj, rel=1e-12)
        assert protected[vdd].dvfs_energy_per_inference_pj == pytest.approx(
            unprotected[vdd].dvfs_energy_per_inference_pj, rel=1e-12
        )


def test_memory_vdd_scales_the_sram_alone_and_the_sram_stays_nominal_by_default(unprotected):
    tech = PEConfig(technology=TECHNOLOGY).tech
    # Default: the memories are their own voltage domain at nominal supply, whatever the core's.
    assert unprotected[0.5].sram_pj == unprotected[0.9].sram_pj
    assert unprotected[0.5].dram_pj == unprotected[0.9].dram_pj
    scaled = _rows(memory_vdd_v=0.6)
    ratio = tech.dynamic_energy_scale(0.6)
    for vdd in VDDS:
        assert scaled[vdd].sram_pj == pytest.approx(unprotected[vdd].sram_pj * ratio, rel=1e-12)
        assert scaled[vdd].dram_pj == unprotected[vdd].dram_pj
        assert scaled[vdd].core_pj == unprotected[vdd].core_pj
