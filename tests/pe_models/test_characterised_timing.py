"""The characterised ptm-32nm-hp library as a technology: every level on its per-pin, per-edge arcs.

``ptm-32nm-hp-cells`` gives the PE the library's NLDM arcs at each supply (loads and slews of the
netlist), its flip-flop setup and clock-to-Q. Gate == Icarus at 0.9, 0.6 and 0.5 V, numba == Python,
and the chain level (routed to the exact kernel) == gate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pe_models.chain import closed_form_delays, evaluate_chain
from pe_models.gate import simulate_gate, simulate_gate_fast
from pe_models.liberty import shipped_cell_library
from pe_models.pe import OperatingPoint, PEConfig, stage_timing
from pe_models.technology import LibraryTechnology, get_technology
from pe_models.verilog import run_icarus_detailed, write_verilog_bundle
from tests.pe_models.test_verilog_icarus import compare, concat, pick_sample_fs, random_stream, targeted_vectors

TECHNOLOGY = "ptm-32nm-hp-cells"
NETLISTS = [
    (cells, pipeline, stage)
    for cells in ("compound", "2in")
    for pipeline, stage in (("registered", "multiplier"), ("registered", "adder"), ("fused", "mac"))
]
VDDS = (0.9, 0.6, 0.5)


def timing_at(cells: str, pipeline: str, vdd: float):
    pe = PEConfig(cells=cells, pipeline=pipeline, technology=TECHNOLOGY)
    return pe, stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd, f_clk_mhz=700.0))


def test_the_preset_is_the_shipped_library_with_the_fitted_voltage_curve():
    technology = get_technology(TECHNOLOGY)
    assert isinstance(technology, LibraryTechnology)
    assert technology.cell_library is shipped_cell_library("ptm-32nm-hp")
    curve = get_technology("ptm-32nm-hp")
    assert technology.delay_scale(0.5) == curve.delay_scale(0.5)
    assert (technology.vdd_min_v, technology.vdd_max_v) == (0.4, 1.0)


def test_arcs_setup_and_clock_to_q_come_from_the_library():
    pe, timing = timing_at("compound", "registered", 0.6)
    library = shipped_cell_library("ptm-32nm-hp")
    setup_fs = round(max(library.setup_ps(0.6, edge) for edge in ("rise", "fall")) * 1000)
    assert timing.t_setup_fs == setup_fs
    assert timing.t_sample_fs == timing.t_clk_fs - setup_fs
    launch = timing.launch_fs("adder")
    assert (launch > 0).all()
    assert launch[15].max() == timing.t_clk_to_q_fs > launch[14].max()
    arcs = timing.arcs_fs("adder")
    assert (arcs[:, 0, 0] != arcs[:, 0, 1]).any()
    assert closed_form_delays(pe, timing) is None
    with pytest.raises(Exception, match=r"^delays_fs: this library has per-pin, per-edge delays"):
        _ = timing.delays_fs


def test_a_supply_outside_the_corners_is_one_line_naming_the_range():
    pe = PEConfig(technology=TECHNOLOGY)
    with pytest.raises(Exception, match=r"vdd") as info:
        stage_timing(pe, operating_point=OperatingPoint(vdd_v=1.2, f_clk_mhz=700.0))
    assert "\n" not in str(info.value)


def agreement(tmp_path: Path, cells: str, pipeline: str, stage: str, vdd: float, n_random: int, n_targeted: int):
    pe, timing = timing_at(cells, pipeline, vdd)
    netlist = pe.stages[stage]
    arcs = timing.arcs_fs(stage)
    launch = timing.launch_fs(stage)
    rng = np.random.default_rng(np.random.SeedSequence(0xC311, spawn_key=(NETLISTS.index((cells, pipeline, stage)),)))
    random_old, random_new = random_stream(netlist, n_random, rng)
    targeted_old, targeted_new = targeted_vectors(netlist, n_targeted, rng)
    old, new = concat(random_old, targeted_old), concat(random_new, targeted_new)
    t_sample = pick_sample_fs(netlist, arcs, old, new, launch)
    window = t_sample // 5
    paths = write_verilog_bundle(
        tmp_path,
        netlist,
        delays_fs=arcs,
        t_sample_fs=t_sample,
        old_inputs=old,
        new_inputs=new,
        window_fs=window,
        launch_fs=launch,
    )
    kwargs = dict(delays_fs=arcs, t_sample_fs=t_sample, t_shadow_fs=t_sample + window, launch_fs=launch)
    gate = simulate_gate(netlist, old, new, **kwargs)
    verilog = run_icarus_detailed(paths)
    assert gate.shadow is not None and verilog.shadow is not None
    np.testing.assert_array_equal(verilog.shadow, gate.shadow)
    compare(gate, verilog, netlist, old, new, t_sample)
    fast = simulate_gate_fast(netlist, old, new, **kwargs)
    for field in ("latched", "correct", "bit_settle_fs", "shadow"):
        np.testing.assert_array_equal(getattr(fast, field), getattr(gate, field))


ROTATION = [(*netlist, VDDS[i % len(VDDS)]) for i, netlist in enumerate(NETLISTS)]


@pytest.mark.icarus
@pytest.mark.parametrize(("cells", "pipeline", "stage", "vdd"), ROTATION, ids=["-".join(map(str, r)) for r in ROTATION])
def test_gate_equals_icarus_on_the_characterised_library(tmp_path, cells, pipeline, stage, vdd):
    """Each netlist once, the supplies in rotation: 270 random + 30 targeted vectors, main and shadow samples."""
    agreement(tmp_path, cells, pipeline, stage, vdd, 270, 30)


@pytest.mark.slow
@pytest.mark.icarus
@pytest.mark.parametrize("vdd", VDDS)
@pytest.mark.parametrize(("cells", "pipeline", "stage"), NETLISTS, ids=["-".join(n) for n in NETLISTS])
def test_gate_equals_icarus_on_the_characterised_library_full(tmp_path, cells, pipeline, stage, vdd):
    agreement(tmp_path, cells, pipeline, stage, vdd, 1000, 100)


@pytest.mark.parametrize("cells", ["compound", "2in"])
def test_chain_level_equals_gate_level_on_the_characterised_library(cells, rng):
    """At 0.5 V and 700 MHz the default PE latches wrong sums; the chain level routes to the exact kernel."""
    pe, timing = timing_at(cells, "registered", 0.5)
    prev_a, prev_b, a, b = rng.integers(-128, 128, (4, 300))
    prev_c, c = rng.integers(-(2**12), 2**12, (2, 300))
    chain = evaluate_chain(pe, timing, prev_a=prev_a, prev_b=prev_b, prev_c=prev_c, a=a, b=b, c=c)
    gate = simulate_gate(
        pe.stages["adder"],
        {"product": prev_a * prev_b, "c": prev_c},
        {"product": a * b, "c": c},
        delays_fs=timing.arcs_fs("adder"),
        t_sample_fs=timing.t_sample_fs,
        launch_fs=timing.launch_fs("adder"),
    )
    assert (gate.latched != gate.correct).any()
    assert np.array_equal(chain.latched & 0xFFFFFFFF, gate.latched)
    assert np.array_equal(chain.settle_fs, gate.settle_fs)
