"""Energy columns of ``simulate`` and ``accuracy``: sums, a second code path, closed forms in VDD."""

from __future__ import annotations

import csv
import dataclasses
import io

import pytest

import vscale
from experiments.cli import main
from experiments.results import row_columns
from experiments.studies.accuracy import AccuracyRow
from experiments.studies.inference_energy import InferenceLayer, batch_cycles_per_image, inference_energy
from experiments.studies.simulate import SimulateRow
from pe_models.pe import PEConfig
from sim.config import ArrayConfig

COMPONENTS = (
    "mac_dynamic_pj",
    "register_clock_pj",
    "leakage_pj",
    "razor_overhead_pj",
    "correction_pj",
    "sram_pj",
    "dram_pj",
)
DYNAMIC = ("mac_dynamic_pj", "register_clock_pj")


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _field_names(row_type: type) -> list[str]:
    return list(row_columns(row_type))


def test_simulate_energy_equals_vscale_energy_simulate_and_sums_to_its_total(tmp_path, capsys):
    layer = ["--vdd", "0.6", "--array", "16x16", "--protect", "31:20"]
    assert main(["simulate", "--layer", "64,32,27", *layer, "--format", "csv", "--out", str(tmp_path / "s")]) == 0
    text = capsys.readouterr().out
    header = next(csv.reader(io.StringIO(text)))
    assert header == _field_names(SimulateRow)
    assert set(COMPONENTS) | {"total_pj", "total_low_pj", "total_high_pj"} <= set(header)
    (row,) = _csv_rows(text)
    assert int(row["correction_cycles"]) > 0
    assert float(row["correction_pj"]) > 0 and float(row["razor_overhead_pj"]) > 0
    assert sum(float(row[name]) for name in COMPONENTS) == pytest.approx(float(row["total_pj"]), rel=1e-9)
    assert float(row["total_low_pj"]) < float(row["total_pj"]) < float(row["total_high_pj"])
    argv = ["energy", "--gemm", "64,32,27", *layer, "--simulate", "--format", "csv", "--out", str(tmp_path / "e")]
    assert main(argv) == 0
    energy_rows = _csv_rows(capsys.readouterr().out)
    (gemm,) = [r for r in energy_rows if r["layer_id"] == "0"]
    assert (gemm["correction_cycles"], gemm["detections"]) == (row["correction_cycles"], row["detections"])
    # simulate clocks the array at 1 / (a whole number of fs): 700 MHz is 700.0002 MHz there,
    # which moves the leakage (energy over time) by 3e-7.
    for name in (*COMPONENTS, "total_pj", "total_low_pj", "total_high_pj"):
        assert float(row[name]) == pytest.approx(float(gemm[name]), rel=1e-6), name


def test_simulate_at_nominal_vdd_without_protection_has_no_razor_or_correction_energy():
    result = vscale.simulate(gemm="40,24,30", vdd_v=0.9, array="8x8")
    (row,) = result.rows
    assert (row.razor_overhead_pj, row.correction_pj) == (0.0, 0.0)
    assert row.total_pj > 0
    assert result.totals["total_pj"] == pytest.approx(row.total_pj)
    assert result.totals["energy_vdd_v"] == 0.9


def _error_free_rows(**fields):
    rows = {}
    for vdd in (0.9, 0.6):
        result = vscale.simulate(gemm="48,20,36", vdd_v=vdd, f_clk_mhz=100.0, array="8x8", **fields)
        (rows[vdd],) = result.rows
        assert rows[vdd].erroneous_macs == 0 and rows[vdd].correction_cycles == 0
    return rows


def test_simulate_energy_scales_with_the_technology_when_no_error_occurs():
    """A technology without a characterised library, at a slow clock both voltages error-free:
    same cycles, so dynamic terms scale by the switching-energy ratio, leakage by the
    leakage-power ratio, memories not at all. The switching ratio is C V^2 by hand: (0.6/0.9)^2."""
    rows = _error_free_rows(technology="generic-28nm")
    tech = PEConfig(technology="generic-28nm").tech
    dynamic = (0.6 / 0.9) ** 2
    leakage = tech.leakage_power_scale(0.6) / tech.leakage_power_scale(0.9)
    low, nominal = rows[0.6], rows[0.9]
    assert low.cycles == nominal.cycles
    for name in DYNAMIC:
        assert getattr(low, name) / getattr(nominal, name) == pytest.approx(dynamic, rel=1e-9)
    assert low.leakage_pj / nominal.leakage_pj == pytest.approx(leakage, rel=1e-9)
    assert (low.sram_pj, low.dram_pj) == (nominal.sram_pj, nominal.dram_pj)


def test_simulate_energy_scales_with_the_characterised_library_when_no_error_occurs():
    """ptm-32nm-hp's core energy at 0.6 V comes from its cell library at 0.6 V: the leakage
    ratio is the PE's cells' and flops' library leakage summed at both supplies (read here from
    the library and the netlists' cell counts); the datapath's switching ratio lies between the
    smallest and largest per-cell ratio of the library (output transition at the FO4 load, and
    an input pin charged); the memories do not move."""
    from pe_models.liberty import shipped_cell_library

    rows = _error_free_rows()
    library = shipped_cell_library("ptm-32nm-hp")
    pe = PEConfig()
    kinds = [cell.kind for netlist in pe.stages.values() for cell in netlist.cells]
    flops = 2 * 8 + 16 + 32

    def leakage(vdd: float) -> float:
        return sum(library.leakage_nw(kind, vdd) for kind in kinds) + flops * library.leakage_nw("dff", vdd)

    def cell_energies(vdd: float) -> list[float]:
        load, slew = library.reference_load_ff, library.reference_slew_ps(vdd)
        energies = []
        for kind in set(kinds):
            pins = library.arc_pins(kind)
            arcs = [library.switching_energy_fj(kind, p, e, vdd, load, slew) for p in pins for e in ("rise", "fall")]
            energies.append(sum(arcs) / len(arcs))
            energies.append(library.pin_capacitance_ff(kind, pins[0], vdd) * vdd**2)
        return energies

    ratios = [low / high for low, high in zip(cell_energies(0.6), cell_energies(0.9), strict=True)]
    low, nominal = rows[0.6], rows[0.9]
    assert low.cycles == nominal.cycles
    assert low.leakage_pj / nominal.leakage_pj == pytest.approx(leakage(0.6) / leakage(0.9), rel=1e-9)
    assert min(ratios) <= low.mac_dynamic_pj / nominal.mac_dynamic_pj <= max(ratios)
    assert (low.sram_pj, low.dram_pj) == (nominal.sram_pj, nominal.dram_pj)


def test_batch_cycles_per_image_by_hand():
    # 4x4 ws array, M = 3 x 2 images streamed, K = N = 4: one fold of 2*4 + 4 + 6 - 2 = 16
    # cycles (SCALE-Sim counts 15), shared by 2 images, times 2 groups.
    array = ArrayConfig(rows=4, cols=4)
    assert batch_cycles_per_image(3, 4, 4, 2, array, 2) == 16.0


def test_inference_energy_is_per_image_and_groups_multiply_memory_traffic():
    array = ArrayConfig(rows=8, cols=8, f_clk_mhz=700.0)
    pe = PEConfig()
    layer = InferenceLayer(name="l", macs=20 * 12 * 10, m=20, n=12, k=10, units_per_mac=30.0)
    one = inference_energy([layer], pe=pe, array=array, vdd_v=0.7, counts={"l": (5, 7)}, masks={"l": 0xF0000000})
    four = inference_energy(
        [layer], pe=pe, array=array, vdd_v=0.7, images=4, counts={"l": (20, 28)}, masks={"l": 0xF0000000}
    )
    for name, band in one.components().items():
        assert getattr(four, name).nominal == pytest.approx(band.nominal, rel=1e-12), name
    # ws on 8x8: K = 10 on 2 row folds, N = 12 on 2 column folds, 4 folds x (2*8 + 8 + 20 - 2 = 42)
    # busy cycles, plus 5 recovery cycles per image.
    assert four.latency_us == pytest.approx((4 * 42 + 5) / 700.0)
    grouped = dataclasses.replace(layer, macs=3 * layer.macs, groups=3)
    three = inference_energy([grouped], pe=pe, array=array, vdd_v=0.7)
    plain = inference_energy([layer], pe=pe, array=array, vdd_v=0.7)
    assert three.sram_pj.nominal == pytest.approx(3 * plain.sram_pj.nominal)
    assert three.dram_pj.nominal == pytest.approx(3 * plain.dram_pj.nominal)
    assert (plain.razor_overhead_pj.nominal, plain.correction_pj.nominal) == (0.0, 0.0)


# A measured technology table: at 0.7 V and 0.55 V the switching energy is 0.6 and 0.4 of its
# 0.9 V value and the leakage power 0.3 and 0.1 (the table's own points, no interpolation).
TABLE = (
    "vdd_v,delay_scale,switching_energy_scale,leakage_power_scale\n"
    "0.5,3.0,0.3,0.05\n0.55,2.5,0.4,0.1\n0.7,1.5,0.6,0.3\n0.9,1.0,1.0,1.0\n"
)
TABLE_RATIOS = {0.7: (0.6, 0.3), 0.55: (0.4, 0.1)}


def test_accuracy_energy_falls_with_vdd_as_the_technology_scales_without_recovery(tmp_path, capsys):
    technology = tmp_path / "measured-32nm.csv"  # the node of the energy constants comes from the name
    technology.write_text(TABLE)
    argv = ["accuracy", "--images", "4", "--vdd", "0.9,0.7,0.55", "--technology", str(technology)]
    assert main([*argv, "--format", "csv", "--out", str(tmp_path / "a")]) == 0
    text = capsys.readouterr().out
    header = next(csv.reader(io.StringIO(text)))
    assert header == _field_names(AccuracyRow)
    rows = {float(r["vdd_v"]): {k: v for k, v in r.items()} for r in _csv_rows(text)}
    nominal = rows[0.9]
    totals = [float(rows[v]["energy_per_inference_pj"]) for v in (0.9, 0.7, 0.55)]
    assert totals[0] > totals[1] > totals[2] > 0
    assert float(nominal["saving_pct"]) == 0.0
    assert (float(nominal["razor_overhead_pj"]), float(nominal["correction_pj"])) == (0.0, 0.0)
    for vdd, (dynamic, leakage) in TABLE_RATIOS.items():
        row = rows[vdd]
        for name in DYNAMIC:
            assert float(row[name]) / float(nominal[name]) == pytest.approx(dynamic, rel=1e-9), name
        assert float(row["leakage_pj"]) / float(nominal["leakage_pj"]) == pytest.approx(leakage, rel=1e-9)
        assert (row["sram_pj"], row["dram_pj"]) == (nominal["sram_pj"], nominal["dram_pj"])
        total = float(row["energy_per_inference_pj"])
        assert sum(float(row[name]) for name in COMPONENTS) == pytest.approx(total, rel=1e-9)
        assert float(row["saving_pct"]) == pytest.approx(100 * (1 - total / totals[0]), rel=1e-9)
        assert float(row["energy_per_inference_low_pj"]) < total < float(row["energy_per_inference_high_pj"])
    alone = vscale.accuracy(images=4, vdd_v=[0.7], technology=str(technology))
    (row,) = alone.rows
    assert row.energy_per_inference_pj == pytest.approx(float(rows[0.7]["energy_per_inference_pj"]), rel=1e-9)
    assert row.saving_pct == pytest.approx(float(rows[0.7]["saving_pct"]), rel=1e-9)


@pytest.mark.slow
def test_bitlevel_accuracy_charges_the_recovery_it_counted():
    """Correction energy lies between the replayed MACs alone and the replayed MACs plus every
    flop of every PE clocked through each recovery cycle (its clock-gated share of the array)."""
    from pe_models.energy import pe_energy_model

    result = vscale.accuracy(images=4, vdd_v=[0.9, 0.55], injection="bitlevel", protect="31:14", razor_window_ps=150.0)
    nominal, low = result.rows
    assert (nominal.correction_cycles, nominal.correction_pj) == (0, 0.0)
    assert low.correction_cycles > 0 and low.detections > 0
    images = low.images
    model = pe_energy_model(PEConfig())
    dynamic = PEConfig().tech.dynamic_energy_scale(0.55)
    mac_pj = low.mac_dynamic_pj / result.totals["macs_per_image"]
    replayed = mac_pj * low.detections / images
    every_flop = model.pe_clock_pj.nominal * dynamic * 256 * 256 * low.correction_cycles / images
    assert replayed < low.correction_pj < replayed * 1.5 + every_flop
    assert low.razor_overhead_pj > 0
