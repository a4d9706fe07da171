"""Per image is per image: one configuration, one energy and one cycle count per image, whatever
the command and however many images are evaluated (the batch sharing a weight fold is a
stated workload parameter, not the evaluation size)."""

from __future__ import annotations

import pytest

import vscale
from experiments.studies.optimize import OptimizeConfig, optimize


def _energy_total(**fields):
    result = vscale.energy(model="tinymnv2", vdd_v=[0.9, 0.6], **fields)
    return {row.vdd_v: row for row in result.per_vdd}


def _energy_total_at(vdds, **fields):
    result = vscale.energy(model="tinymnv2", vdd_v=list(vdds), **fields)
    return {row.vdd_v: row for row in result.per_vdd}


def _accuracy(images: int, **fields):
    return {row.vdd_v: row for row in vscale.accuracy(images=images, vdd_v=[0.9, 0.6], **fields).rows}


def _check_layer_rows(result, batch):
    """`energy_layers.csv` of `vscale accuracy`: per VDD and GEMM layer, summing to the VDD's row."""
    for row in result.rows:
        layers = [layer for layer in result.layer_rows if layer.vdd_v == row.vdd_v]
        assert len(layers) == 17
        assert sum(layer.energy_pj for layer in layers) == pytest.approx(row.energy_per_inference_pj, rel=1e-9)
        assert sum(layer.core_pj for layer in layers) == pytest.approx(row.core_pj, rel=1e-9)
        assert sum(layer.leakage_pj for layer in layers) == pytest.approx(row.leakage_pj, rel=1e-9)
    first = next(layer for layer in result.layer_rows if layer.layer == "features.0.0" and layer.vdd_v == 0.9)
    # ws on 256x256, M,N,K = 784,16,9: the batch's rows stream through one fold of
    # 2 R + C + T - 2 = 766 + 784 x batch cycles.
    cycles = 766 + 784 * batch
    assert (first.batch, first.macs, first.cycles_per_image) == (batch, 112896, cycles / batch)
    assert first.utilisation_pct == pytest.approx(100 * 112896 * batch / (65536 * cycles), rel=1e-12)
    assert result.layer_table().columns[:6] == [
        "vdd_v",
        "layer",
        "batch",
        "macs",
        "cycles_per_image",
        "utilisation_pct",
    ]


@pytest.mark.parametrize("batch", [1, 4])
def test_energy_and_accuracy_agree_per_image_whatever_the_number_of_images(batch):
    energy = _energy_total(batch=batch)
    for images in (1, 100):
        result = vscale.accuracy(images=images, vdd_v=[0.9, 0.6], batch=batch)
        accuracy = {row.vdd_v: row for row in result.rows}
        for vdd in (0.9, 0.6):
            assert accuracy[vdd].batch == energy[vdd].batch == batch
            assert accuracy[vdd].energy_per_inference_pj == energy[vdd].energy_per_inference_pj
            assert accuracy[vdd].core_pj == energy[vdd].core_pj
            assert accuracy[vdd].cycles_per_image == energy[vdd].cycles_per_image
            assert accuracy[vdd].dvfs_energy_per_inference_pj == energy[vdd].dvfs_energy_per_inference_pj
        _check_layer_rows(result, batch)


def test_a_larger_batch_shares_the_weights_so_energy_per_image_falls():
    one, eight = _energy_total(batch=1)[0.9], _energy_total(batch=8)[0.9]
    assert eight.dram_pj < one.dram_pj
    assert eight.cycles_per_image < one.cycles_per_image


# The interface's columns that apply to a measured plan (accuracy.csv of `vscale run`,
# test.csv of `vscale optimize`) as to `vscale energy`'s total rows.
MEASURED_COLUMNS = (
    "energy_per_inference_pj",
    "core_pj",
    "register_clock_pj",
    "system_saving_pct",
    "core_saving_pct",
    "utilisation_pct",
    "batch",
    "cycles_per_image",
    "dvfs_f_clk_mhz",
    "dvfs_energy_per_inference_pj",
    "dvfs_core_pj",
    "dvfs_latency_us",
)


def test_the_optimizer_screen_and_its_measured_plan_give_the_same_energy_per_image():
    from experiments.report import layer_energy_table, layer_table, rows_table

    config = OptimizeConfig(model="tinymnv2", images=20, vdd_v="0.9:0.89", confirm=True)
    result = optimize(config)
    nominal = next(row for row in result.rows if row.vdd_v == 0.9)
    energies = _energy_total_at((0.9, 0.89))
    energy = energies[0.9]
    assert nominal.protected_bits == "none"
    assert nominal.energy_per_inference_pj == pytest.approx(energy.energy_per_inference_pj, rel=1e-12)
    assert nominal.core_pj == pytest.approx(energy.core_pj, rel=1e-12)
    assert nominal.dvfs_energy_per_inference_pj == pytest.approx(energy.dvfs_energy_per_inference_pj, rel=1e-12)
    assert nominal.cycles_per_image == pytest.approx(energy.cycles_per_image, rel=1e-12)
    # The plan measured with bit-level injection on the test images (16 of the 20).
    measured = result.test
    assert measured is not None and measured.images == 16 and measured.protected_bits == "none"
    assert set(MEASURED_COLUMNS) <= set(rows_table([measured]).columns)
    energy = energies[measured.vdd_v]
    for column in MEASURED_COLUMNS:
        assert getattr(measured, column) == pytest.approx(getattr(energy, column), rel=1e-9, abs=1e-8), column
    assert measured.energy_uj * 1e6 == pytest.approx(measured.energy_per_inference_pj, rel=1e-12)
    # report.md's per-layer table: every layer's utilisation, its energy summing to the inference's.
    layers = {row[0]: dict(zip(layer_table(result).columns, row, strict=True)) for row in layer_table(result).rows}
    assert sum(row["energy_uj"] for row in layers.values()) * 1e6 == pytest.approx(
        nominal.energy_per_inference_pj, rel=1e-12
    )
    assert sum(row["core_uj"] for row in layers.values()) * 1e6 == pytest.approx(nominal.core_pj, rel=1e-12)
    csv_rows = layer_energy_table(result)  # energy_layers.csv of optimize and run, pJ
    column = csv_rows.columns.index("energy_pj")
    assert sum(row[column] for row in csv_rows.rows) == pytest.approx(nominal.energy_per_inference_pj, rel=1e-12)
    # By hand, ws on 256x256, one fold of 2 R + C + T - 2 = 766 + M cycles per group:
    # features.0.0, M,N,K = 784,16,9: 1550 cycles; 784 x 16 x 9 MACs.
    first = layers["features.0.0"]
    assert (first["batch"], first["macs"], first["cycles_per_image"]) == (1, 112896, 1550)
    assert first["utilisation_pct"] == pytest.approx(100 * 112896 / (65536 * 1550), rel=1e-12)
    # features.1.conv.0.0, depthwise: 16 groups of M,N,K = 196,1,9, one fold each: 16 x 962 cycles.
    depthwise = layers["features.1.conv.0.0"]
    assert (depthwise["macs"], depthwise["cycles_per_image"]) == (16 * 196 * 9, 16 * 962)
    assert depthwise["utilisation_pct"] == pytest.approx(100 * 28224 / (65536 * 15392), rel=1e-12)


@pytest.mark.slow
def test_accuracy_on_1000_images_gives_the_same_energy_per_image():
    energy = _energy_total()
    accuracy = _accuracy(1000)
    for vdd in (0.9, 0.6):
        assert accuracy[vdd].energy_per_inference_pj == energy[vdd].energy_per_inference_pj
        assert accuracy[vdd].cycles_per_image == energy[vdd].cycles_per_image


@pytest.mark.slow
def test_run_reports_the_same_energy_per_image_as_the_energy_study():
    """`vscale run`'s step-2 rows (bit-level, 16 test images, batch 1) against `vscale energy`."""
    energy = _energy_total()
    result = vscale.run(images=20, vdd_v=[0.9, 0.6], jobs=1)
    rows = {row.vdd_v: row for row in result.rows if row.label == "step 2: unprotected"}
    assert sorted(rows) == [0.6, 0.9]
    for vdd in (0.9, 0.6):
        assert rows[vdd].batch == energy[vdd].batch == 1
        assert rows[vdd].energy_uj * 1e6 == pytest.approx(energy[vdd].energy_per_inference_pj, rel=1e-12)
        assert rows[vdd].core_uj * 1e6 == pytest.approx(energy[vdd].core_pj, rel=1e-12)
        assert rows[vdd].dvfs_energy_uj * 1e6 == pytest.approx(energy[vdd].dvfs_energy_per_inference_pj, rel=1e-12)
        for column in MEASURED_COLUMNS:
            assert getattr(rows[vdd], column) == pytest.approx(getattr(energy[vdd], column), rel=1e-9, abs=1e-8), column
