"""The stall model and the recovery buffering as the commands use them.

Expected values: the buffering by hand (docs/array_simulation.md, "Stall model": ``local``
adds one-entry skid buffers on both inputs, 8 + 32 bits and two valid bits in ws, ``column``
a k-entry FIFO of 8 bits + valid, ``global`` k - 1 register copies), the flip-flop area of
the PE's own flops, and the counts of the simulator's detections times a given stall.
"""

import csv
import json

import pytest

from experiments.cli import main
from pe_models.energy import pe_energy_model
from pe_models.pe import PEConfig

ENERGY = ["energy", "--gemm", "8,8,8", "--array", "8x8", "--vdd", "0.9", "--protect", "31:8"]


def _summary(out):
    return json.loads((out / "summary.json").read_text())


@pytest.mark.parametrize(("recovery", "flops"), [("drop", 0), ("global", 0), ("column", 9), ("local", 42)])
def test_energy_charges_the_buffering_of_the_recovery_policy_in_area(tmp_path, capsys, recovery, flops):
    """At 0.9 V on 8x8 one recovery stalls one cycle, so global keeps no register copies and
    column a one-entry FIFO (8 + 1 flops); local skid-buffers 8 + 32 bits + 2 valid bits."""
    assert main([*ENERGY, "--recovery", recovery, "--out", str(tmp_path / recovery)]) == 0
    summary = _summary(tmp_path / recovery)
    assert main([*ENERGY, "--recovery", "drop", "--out", str(tmp_path / "base")]) == 0
    base = _summary(tmp_path / "base")
    assert summary["recovery_flops_per_pe"] == flops
    area = pe_energy_model(PEConfig()).area
    flop_um2 = area.flops_um2 / area.flops
    added = summary["protection_area_overhead_pct"] - base["protection_area_overhead_pct"]
    assert added == pytest.approx(100.0 * flops * flop_um2 / area.pe_um2)


SIMULATE = ["simulate", "--gemm", "24,8,16", "--array", "64x64", "--vdd", "0.55", "--protect", "31:8"]


def _rows(out):
    with (out / "simulate.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_stall_cycles_override_the_stall_model(tmp_path, capsys):
    """Every cycle with a detection stalls the array --stall-cycles cycles (global recovery)."""
    window = ["--razor-window-ps", "150"]
    assert main([*SIMULATE, *window, "--stall-cycles", "3", "--out", str(tmp_path / "three")]) == 0
    (row,) = _rows(tmp_path / "three")
    assert int(row["detection_cycles"]) > 0
    assert int(row["correction_cycles"]) == 3 * int(row["detection_cycles"])
    assert _summary(tmp_path / "three")["stall_cycles"] == 3


def test_without_stall_cycles_the_stall_model_decides(tmp_path, capsys):
    """The default is the stall model of sim.recovery at the operating point (two cycles for a
    global stall across 64 x 64 PEs at 0.55 V), recorded in the summary."""
    from pe_models.pe import OperatingPoint, stage_timing
    from pe_models.razor import razor_pe, retimed, window_fs
    from sim.recovery import stall_model

    assert main([*SIMULATE, "--razor-window-ps", "150", "--out", str(tmp_path / "out")]) == 0
    summary = _summary(tmp_path / "out")
    pe = PEConfig()
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=0.55, f_clk_mhz=700.0))
    window = window_fs(timing, 150.0, pe=pe, protected_mask=0xFFFFFF00)
    built = razor_pe(pe, f_clk_mhz=700.0, protected_mask=0xFFFFFF00, window_ps=150.0)
    model = stall_model(
        recovery="global",
        rows=64,
        cols=64,
        dataflow="ws",
        pe=built,
        timing=retimed(built, timing),
        window_fs=window,
        protected_bits=24,
    )
    assert summary["stall_cycles"] == model.stall_cycles == 2
    (row,) = _rows(tmp_path / "out")
    assert int(row["detection_cycles"]) > 0
    assert int(row["correction_cycles"]) == model.stall_cycles * int(row["detection_cycles"])
