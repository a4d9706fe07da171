"""finfet-7nm is a library of its own: ASAP7 nominal delays, a sweep from its 0.7 V, a note that it is reasoned."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.cli import main
from experiments.studies.probs import ProbsConfig
from pe_models.pe import OperatingPoint, PEConfig, stage_timing

ASAP7_PS = {"xor2": 27.3, "and2": 25.0, "or2": 26.1, "nand2": 15.6, "xor3": 37.1, "maj3": 30.3, "ao21": 25.2}
"""ASAP7 RVT TT 0.7 V, fan-out-of-2 load (docs/technology.md, from the asap7sc7p5t_28 Liberty)."""


@pytest.mark.parametrize("cells", ["compound", "2in"])
def test_every_arc_at_0p7_v_is_the_asap7_delay_of_its_cell(cells):
    pe = PEConfig(cells=cells, technology="finfet-7nm")
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=0.7, f_clk_mhz=700.0))
    for name, netlist in pe.stages.items():
        arcs = timing.arcs_fs(name)
        for c, cell in enumerate(netlist.cells):
            assert (arcs[c, : len(cell.inputs)] == round(ASAP7_PS[cell.kind] * 1000)).all(), (name, cell.kind)
    assert timing.t_setup_fs == 11200


def test_the_default_sweep_starts_at_the_nominal_0p7_v():
    assert ProbsConfig(technology="finfet-7nm", level="analytic").vdd_v == pytest.approx(
        np.round(0.7 - 0.05 * np.arange(9), 6)
    )
    assert ProbsConfig(technology="ptm-32nm-hp", level="analytic").vdd_v[0] == 0.9


@pytest.mark.parametrize("technology", ["finfet-7nm", "generic-28nm"])
def test_a_reasoned_preset_says_so(technology, capsys):
    status = main(["probs", "--technology", technology, "--level", "analytic", "--vdd", "0.7", "--format", "csv"])
    assert status == 0
    assert capsys.readouterr().err.startswith(
        f"vscale: note: --technology: {technology} is a preset of reasoned values, not characterised"
    )
