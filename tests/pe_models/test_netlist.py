import numpy as np
import pytest

from pe_models.cells import get_cell_library
from pe_models.errors import ConfigError
from pe_models.gate import evaluate_logic
from pe_models.netlist import adder_stage, fused_pe, multiplier_stage, pe_stages

LIBRARIES = ["2in", "compound"]
ADDERS = ["rca", "ks"]


@pytest.mark.parametrize("cells", LIBRARIES)
def test_multiplier_computes_every_signed_int8_product(cells):
    a = np.repeat(np.arange(-128, 128), 256)
    b = np.tile(np.arange(-128, 128), 256)
    product = evaluate_logic(multiplier_stage(get_cell_library(cells)), {"a": a, "b": b})["product"]
    assert np.array_equal(product, (a * b) & 0xFFFF)


@pytest.mark.parametrize("cells", LIBRARIES)
@pytest.mark.parametrize("adder", ADDERS)
def test_adder_stage_adds_sign_extended_product(cells, adder, rng):
    product = rng.integers(-(2**15), 2**15, 4000)
    partial = rng.integers(-(2**31), 2**31, 4000)
    total = evaluate_logic(adder_stage(get_cell_library(cells), adder=adder), {"product": product, "c": partial})
    assert np.array_equal(total["sum"], (partial + product) & 0xFFFFFFFF)


@pytest.mark.parametrize("cells", LIBRARIES)
@pytest.mark.parametrize("adder", ADDERS)
def test_fused_mac_computes_a_times_b_plus_c(cells, adder, rng):
    a, b = rng.integers(-128, 128, (2, 3000))
    c = rng.integers(-(2**31), 2**31, 3000)
    total = evaluate_logic(fused_pe(get_cell_library(cells), adder=adder), {"a": a, "b": b, "c": c})
    assert np.array_equal(total["sum"], (c + a * b) & 0xFFFFFFFF)


def test_adder_width_is_configurable(rng):
    product = rng.integers(-(2**15), 2**15, 500)
    partial = rng.integers(-(2**23), 2**23, 500)
    total = evaluate_logic(adder_stage(get_cell_library("compound"), width=24), {"product": product, "c": partial})
    assert np.array_equal(total["sum"], (partial + product) & 0xFFFFFF)


def test_compound_ripple_carry_bit0_is_a_full_adder_with_carry_in_tied_to_zero():
    netlist = adder_stage(get_cell_library("compound"))
    assert netlist.cell_counts() == {"xor3": 32, "maj3": 32}
    first = netlist.cells[0]
    assert first.kind == "xor3" and first.inputs[2] == 0


def test_two_input_full_adder_uses_five_two_input_cells():
    netlist = adder_stage(get_cell_library("2in"))
    counts = netlist.cell_counts()
    assert set(counts) <= {"xor2", "and2", "or2"}
    assert counts["xor2"] == 64


def test_unknown_adder_is_rejected():
    with pytest.raises(ConfigError, match=r"^adder: unknown adder 'csa'; allowed: rca, ks$"):
        adder_stage(get_cell_library("2in"), adder="csa")


def test_unknown_pipeline_is_rejected():
    with pytest.raises(ConfigError, match=r"^pipeline: unknown pipeline 'deep'; allowed: registered, fused$"):
        pe_stages(get_cell_library("2in"), pipeline="deep")
