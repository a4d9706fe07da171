"""Every timing study reports the PE's slack ratio and highest error-free clock per VDD.

The error-free clock comes from static timing (longest path); it is checked against an
independent level: the chain-level Monte Carlo of ``probs`` finds no wrong bit at any VDD
whose error-free clock is at or above the clock, and finds wrong bits where it is far below.
"""

from __future__ import annotations

import pytest

import vscale
from experiments.commands._results import timing_line

VDDS = [0.9, 0.75, 0.6, 0.5]


@pytest.fixture(scope="module")
def chain_probabilities():
    return vscale.probs(vdd_v=VDDS, level="chain", samples=20_000, seed=3)


def test_no_wrong_bit_where_static_timing_meets_the_clock(chain_probabilities):
    clocks = chain_probabilities.totals["max_error_free_f_clk_mhz"]
    for i, vdd in enumerate(VDDS):
        if clocks[f"{vdd:g}"] >= chain_probabilities.config.f_clk_mhz:
            assert chain_probabilities.adder[i].sum() == 0, vdd


def test_wrong_bits_where_the_error_free_clock_is_far_below_the_clock(chain_probabilities):
    clocks = chain_probabilities.totals["max_error_free_f_clk_mhz"]
    assert clocks["0.5"] < 0.5 * chain_probabilities.config.f_clk_mhz
    assert chain_probabilities.adder[VDDS.index(0.5)].sum() > 0


# Critical path + setup of the default PE (the characterised library ptm-32nm-hp-cells) by
# OpenSTA 2.0.17 on the committed Liberty corners, 700 MHz period minus worst slack
# (docs/technology.md, "Static timing against OpenSTA"), ps.
OPENSTA_CRITICAL_PATH_PS = {0.9: 801.6, 0.6: 2174.9, 0.5: 5316.5}


def test_slack_ratio_is_the_clock_period_over_the_critical_path(chain_probabilities):
    """Default PE on the library: the critical path and the error-free clocks are OpenSTA's."""
    totals = chain_probabilities.totals
    assert totals["critical_path_ps"] == pytest.approx(OPENSTA_CRITICAL_PATH_PS[0.9], rel=1e-4)
    assert totals["slack_ratio"] == pytest.approx((1e6 / 700.0) / totals["critical_path_ps"])
    assert totals["max_error_free_f_clk_mhz"]["0.9"] == pytest.approx(1e6 / totals["critical_path_ps"])
    for vdd, path_ps in OPENSTA_CRITICAL_PATH_PS.items():
        assert totals["max_error_free_f_clk_mhz"][f"{vdd:g}"] == pytest.approx(1e6 / path_ps, rel=1e-4)


def test_slack_ratio_on_the_formula_preset_is_the_hand_summed_path():
    """PE on the formula preset ptm-32nm-hp (reasoned delays): the 32-bit compound ripple-carry adder
    stage is the longest path: carries ripple through 31 MAJ3 cells (20 ps) into bit 31's XOR3
    (30 ps), plus 25 ps setup = 675 ps."""
    totals = vscale.slack(vdd_v=0.9, bins=8, technology="ptm-32nm-hp").totals
    assert totals["critical_path_ps"] == 31 * 20 + 30 + 25
    assert totals["slack_ratio"] == pytest.approx((1e6 / 700.0) / totals["critical_path_ps"])
    assert totals["max_error_free_f_clk_mhz"]["0.9"] == pytest.approx(1e6 / totals["critical_path_ps"])


def test_timing_line_names_every_voltage():
    line = timing_line(
        {"critical_path_ps": 675.0, "slack_ratio": 2.1164, "max_error_free_f_clk_mhz": {"0.9": 1481.5, "0.6": 554.2}}
    )
    assert line == (
        "PE timing: critical path 675 ps at nominal VDD, slack ratio 2.12 (clock period / critical path); "
        "highest error-free clock 1482 MHz at 0.9 V, 554.2 MHz at 0.6 V\n"
    )


@pytest.mark.parametrize(
    "study",
    [
        lambda: vscale.simulate(gemm="8,8,8", array="4x4", vdd_v=0.7),
        lambda: vscale.slack(vdd_v=0.7, bins=8),
        lambda: vscale.energy(gemm="8,8,8", array="4x4", vdd_v=[0.9, 0.7]),
    ],
    ids=["simulate", "slack", "energy"],
)
def test_timing_studies_report_the_regime(study):
    totals = study().totals
    assert totals["slack_ratio"] > 0
    assert "0.7" in totals["max_error_free_f_clk_mhz"]


def _longest_arrival_fs(pe, timing) -> int:
    """Latest static arrival of any stage output under `timing`: a sum of the cell delays on the
    formula preset (one delay per cell type); on a library, the per-pin, per-edge arcs with
    each input's clock-to-Q launch (static timing of :mod:`pe_models.arcs`, held to OpenSTA by
    tests/pe_models)."""
    from pe_models.arcs import latest_arrival_fs

    latest = 0
    for stage, netlist in pe.stages.items():
        if timing.cell_delays_fs is not None:
            arrival = netlist.static_arrival_fs(timing.delays_fs)
            latest = max(latest, *(arrival[net] for nets in netlist.outputs.values() for net in nets))
        else:
            edges = latest_arrival_fs(netlist, timing.arcs_fs(stage), timing.launch_fs(stage))
            latest = max(latest, *(int(edges[net].max()) for nets in netlist.outputs.values() for net in nets))
    return latest


@pytest.mark.parametrize("technology", ["ptm-32nm-hp", "ptm-32nm-hp-cells"])
@pytest.mark.parametrize("t_setup_ps", [0.0, 400.0])
def test_error_free_clock_follows_a_given_setup_time(t_setup_ps, technology):
    """With ``t_setup_ps`` the reported clock is where the sampling instant of ``stage_timing``
    (clock period minus that setup) meets the longest scaled path: just below it every path
    meets the sample, just above it one does not."""
    from pe_models.pe import OperatingPoint, PEConfig, stage_timing

    result = vscale.slack(vdd_v=0.7, t_setup_ps=t_setup_ps, bins=8, technology=technology)
    clock = result.totals["max_error_free_f_clk_mhz"]["0.7"]
    default_setup = vscale.slack(vdd_v=0.7, bins=8, technology=technology)
    assert clock != pytest.approx(default_setup.totals["max_error_free_f_clk_mhz"]["0.7"])
    pe = PEConfig(technology=technology)
    for factor, meets in ((0.999, True), (1.001, False)):
        timing = stage_timing(
            pe, operating_point=OperatingPoint(vdd_v=0.7, f_clk_mhz=clock * factor), t_setup_ps=t_setup_ps
        )
        assert (_longest_arrival_fs(pe, timing) <= timing.t_sample_fs) == meets
