"""vscale's static timing of the PE against OpenSTA's on the same netlist and Liberty corner.

`vscale pe verilog --structural` writes each timed stage between flip-flops as instances of
the characterised library's cells; OpenSTA (``sta``) times it with the corner's Liberty
file, no wire load and the netlist's own fan-out loads. The expected values are OpenSTA's
(an independent timer); docs/technology.md ("Static timing against OpenSTA") gives the
measured differences per bit.
"""

from pathlib import Path

import pytest

from experiments.cli import main
from pe_models.pe import PEConfig, critical_path_ps
from pe_models.structural import library_pe, run_opensta, vscale_endpoints

CORNERS = [(cells, vdd) for cells in ("compound", "2in") for vdd in (0.9, 0.6, 0.5)]


def _both(tmp_path: Path, cells: str, vdd: float):
    pe = library_pe(PEConfig(cells=cells))
    ours = vscale_endpoints(pe, vdd_v=vdd, f_clk_mhz=700.0)
    theirs = run_opensta(pe, vdd_v=vdd, f_clk_mhz=700.0, directory=tmp_path)
    return ours, theirs


@pytest.fixture(scope="module")
def timed(tmp_path_factory):
    """vscale's and OpenSTA's endpoints of a corner, each corner timed once per module."""
    cache = {}

    def both(cells: str, vdd: float):
        if (cells, vdd) not in cache:
            cache[cells, vdd] = _both(tmp_path_factory.mktemp(f"sta-{cells}-{vdd}"), cells, vdd)
        return cache[cells, vdd]

    return both


def _by_edge(endpoints):
    return {(e.bus, e.bit, e.edge): e for e in endpoints}


@pytest.mark.slow
@pytest.mark.needs_tools("sta")
@pytest.mark.parametrize(("cells", "vdd"), CORNERS)
def test_critical_path_equals_openstas_within_one_percent(timed, cells, vdd):
    """vscale's critical path (latest arrival + setup) against OpenSTA's period - worst slack."""
    ours, theirs = timed(cells, vdd)
    period_ps = 1e6 / 700.0
    openstas = period_ps - min(e.slack_ps for e in theirs)
    assert critical_path_ps(library_pe(PEConfig(cells=cells)), vdd) == pytest.approx(openstas, rel=0.01)
    assert max(e.arrival_ps for e in ours) == pytest.approx(max(e.arrival_ps for e in theirs), rel=0.01)


@pytest.mark.slow
@pytest.mark.needs_tools("sta")
@pytest.mark.parametrize(("cells", "vdd"), CORNERS)
def test_every_output_bit_and_d_edge_is_timed_by_both(timed, cells, vdd):
    """A D edge that some path can cause in OpenSTA (which propagates the netlist's constants) is one in vscale."""
    ours, theirs = timed(cells, vdd)
    assert set(_by_edge(ours)) == set(_by_edge(theirs))


@pytest.mark.slow
@pytest.mark.needs_tools("sta")
@pytest.mark.parametrize(("cells", "vdd"), CORNERS)
def test_every_output_bit_arrives_within_one_percent_of_openstas_and_no_earlier(timed, cells, vdd):
    """Per output bit and D edge. "No earlier" up to 0.01 %: the arcs are rounded to whole fs."""
    ours, theirs = timed(cells, vdd)
    ours_by_edge = _by_edge(ours)
    for key, endpoint in _by_edge(theirs).items():
        ratio = ours_by_edge[key].arrival_ps / endpoint.arrival_ps
        assert 1 - 1e-4 <= ratio <= 1.01, (key, ratio)


@pytest.mark.slow
@pytest.mark.needs_tools("sta")
@pytest.mark.parametrize(("cells", "vdd"), CORNERS)
def test_every_output_bits_slack_is_within_one_percent_of_its_arrival_of_openstas(timed, cells, vdd):
    """Per output bit and D edge, with the setup time of that D edge. Slack = period - setup - arrival
    crosses zero, so a relative error of the slack itself is unbounded; the error is measured against
    the time the slack is computed from, OpenSTA's arrival (an error of 1 % of the arrival is one of
    1 % in the bit's critical path)."""
    ours, theirs = timed(cells, vdd)
    ours_by_edge = _by_edge(ours)
    for key, endpoint in _by_edge(theirs).items():
        assert abs(ours_by_edge[key].slack_ps - endpoint.slack_ps) <= 0.01 * endpoint.arrival_ps, key


def test_structural_needs_a_library_corner(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["pe", "verilog", "--structural", "--vdd", "0.52", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip().endswith(
        "--vdd: 0.52 V is not a corner of cell library 'ptm-32nm-hp'; "
        "allowed: 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1"
    )
    assert captured.err.count("\n") == 1
    assert not out.exists()


def test_structural_netlist_names_the_library_cells(tmp_path):
    """The registered adder of the compound library: one xor3 sum and one maj3 carry per bit, between
    16 product + 32 partial-sum input flip-flops and 32 output flip-flops."""
    out = tmp_path / "out"
    assert main(["pe", "verilog", "--structural", "--vdd", "0.9", "--out", str(out)]) == 0
    text = (out / "adder_reg.v").read_text()
    assert text.count("\n  xor3 ") == 32
    assert text.count("\n  maj3 ") == 32
    assert text.count("\n  dff ") == 16 + 32 + 32
