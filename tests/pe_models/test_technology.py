import dataclasses
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pe_models.errors import ConfigError
from pe_models.technology import (
    DEFAULT_TECHNOLOGY,
    DELAY_MODELS,
    TECHNOLOGIES,
    Technology,
    get_technology,
)

PHI_T_300K_V = 1.380649e-23 * 300.0 / 1.602176634e-19

VDD_NOM_28 = 0.9
VTH_28 = 0.35
ALPHA_28 = 1.3
N_28 = 1.5
ETA_28 = 0.1

ALLOWED_28 = "allowed: 0.35 < vdd_v <= 1.35"


def softplus(x: float) -> float:
    return x + math.log1p(math.exp(-x)) if x > 0 else math.log1p(math.exp(x))


def generic_28nm(delay_model: str) -> Technology:
    return get_technology("generic-28nm").with_model(delay_model)


def test_generic_28nm_preset_has_the_documented_parameters():
    technology = get_technology("generic-28nm")
    assert (
        technology.vdd_nominal_v,
        technology.vth_v,
        technology.alpha,
        technology.slope_factor_n,
        technology.temperature_k,
        technology.dibl_eta,
        technology.vdd_max_v,
    ) == (VDD_NOM_28, VTH_28, ALPHA_28, N_28, 300.0, ETA_28, 1.35)


def test_default_technology_is_a_preset_at_0v9_nominal():  # PTM 32 nm HP card: "nominal Vdd = 0.9V"
    assert TECHNOLOGIES[DEFAULT_TECHNOLOGY].vdd_nominal_v == 0.9


def test_the_presets_are_the_four_documented_in_docs_technology():
    assert sorted(TECHNOLOGIES) == [
        "finfet-7nm",
        "generic-28nm",
        "ptm-32nm-hp",
        "ptm-32nm-hp-carry",
        "ptm-32nm-hp-cells",
    ]
    assert [get_technology(name).name for name in sorted(TECHNOLOGIES)] == sorted(TECHNOLOGIES)


def test_thermal_voltage_at_300k_is_kt_over_q():
    assert get_technology("generic-28nm").thermal_voltage_v == pytest.approx(0.0258520, abs=1e-7)


@pytest.mark.parametrize("name", sorted(TECHNOLOGIES))
@pytest.mark.parametrize("delay_model", DELAY_MODELS)
def test_delay_scale_is_exactly_one_at_nominal(name, delay_model):
    technology = get_technology(name).with_model(delay_model)
    assert technology.delay_scale(technology.vdd_nominal_v) == 1.0
    assert technology.delay_scales(np.array([technology.vdd_nominal_v]))[0] == 1.0


def test_alpha_power_delay_scale_at_0v5_worked_by_hand():
    # (0.5 / 0.9) * (0.55 / 0.15) ** 1.3 = 0.55556 * exp(1.3 * ln 3.66667)
    # = 0.55556 * exp(1.3 * 1.29928) = 0.55556 * exp(1.68906) = 0.55556 * 5.41440 = 3.0080
    assert generic_28nm("alpha-power").delay_scale(0.5) == pytest.approx(3.0080, abs=5e-4)


@pytest.mark.parametrize("vdd_v", [0.36, 0.45, 0.55, 0.7, 0.9, 1.2, 1.35])
def test_alpha_power_delay_scale_follows_sakurai_newton(vdd_v):
    expected = (vdd_v / VDD_NOM_28) * ((VDD_NOM_28 - VTH_28) / (vdd_v - VTH_28)) ** ALPHA_28
    assert generic_28nm("alpha-power").delay_scale(vdd_v) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("vdd_v", [0.36, 0.45, 0.55, 0.7, 0.9, 1.2, 1.35])
def test_ekv_delay_scale_follows_the_interpolation_formula(vdd_v):
    def on_current(v: float) -> float:
        return softplus((v - VTH_28) / (ALPHA_28 * N_28 * PHI_T_300K_V)) ** ALPHA_28

    expected = (vdd_v / on_current(vdd_v)) / (VDD_NOM_28 / on_current(VDD_NOM_28))
    assert generic_28nm("ekv").delay_scale(vdd_v) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("vdd_v", [0.3, 0.4, 0.6, 0.8])
def test_ekv_with_alpha_two_is_the_classic_square_law_interpolation(vdd_v):
    technology = Technology(
        name="square-law",
        description="EKV with alpha = 2",
        vdd_nominal_v=1.0,
        vth_v=0.25,
        delay_model="ekv",
        alpha=2.0,
        slope_factor_n=1.2,
        dibl_eta=0.05,
        vdd_max_v=1.2,
    )

    def on_current(v: float) -> float:
        return math.log(1.0 + math.exp((v - 0.25) / (2.0 * 1.2 * PHI_T_300K_V))) ** 2

    expected = (vdd_v / on_current(vdd_v)) / (1.0 / on_current(1.0))
    assert technology.delay_scale(vdd_v) == pytest.approx(expected, rel=1e-12)


def test_finfet_alpha_power_delay_scale_at_0v4_worked_by_hand():
    technology = get_technology("finfet-7nm").with_model("alpha-power")
    # (0.4 / 0.7) * ((0.7 - 0.25) / (0.4 - 0.25)) ** 1.2 = 0.571429 * 3 ** 1.2
    # = 0.571429 * exp(1.2 * 1.098612) = 0.571429 * 3.737193 = 2.13554
    assert technology.delay_scale(0.4) == pytest.approx(2.13554, abs=5e-5)


# FO4 delay ratios measured with ngspice 39 on the PTM 32 nm HP card (docs/technology.md;
# pe_models/technology_data/ptm-32nm-hp.toml, [spice]): 7.778 ps at 0.9 V.
NGSPICE_FO4_RATIOS = {
    0.7: 12.7444 / 7.778202,
    0.6: 20.808775 / 7.778202,
    0.55: 30.72195 / 7.778202,
    0.5: 52.71019 / 7.778202,
}


def test_default_preset_is_the_characterised_library_on_the_spice_fit():
    """Issue 23: the default is the ngspice-characterised cell library of the PTM 32 nm HP card,
    whose voltage curve is the formula preset ptm-32nm-hp fitted to ngspice."""
    technology = get_technology(DEFAULT_TECHNOLOGY)
    assert DEFAULT_TECHNOLOGY == "ptm-32nm-hp-cells"
    assert technology.cell_library is not None
    assert technology.fit_error_pct is not None and technology.fit_error_pct < 1.0
    assert "ngspice" in technology.source
    curve = get_technology("ptm-32nm-hp")
    assert (technology.vth_v, technology.alpha, technology.delay_model) == (curve.vth_v, curve.alpha, curve.delay_model)


@pytest.mark.parametrize("vdd_v", sorted(NGSPICE_FO4_RATIOS))
def test_default_preset_reproduces_the_ngspice_fo4_ratios(vdd_v):
    assert get_technology(DEFAULT_TECHNOLOGY).delay_scale(vdd_v) == pytest.approx(NGSPICE_FO4_RATIOS[vdd_v], rel=0.01)


def test_issue_figures_of_the_fo4_chain():
    # The issue quotes about 6.7x at 0.5 V, 3.9x at 0.55 V and 2.65x at 0.6 V.
    assert NGSPICE_FO4_RATIOS[0.5] == pytest.approx(6.7, rel=0.02)
    assert NGSPICE_FO4_RATIOS[0.55] == pytest.approx(3.9, rel=0.02)
    assert NGSPICE_FO4_RATIOS[0.6] == pytest.approx(2.65, rel=0.02)


@pytest.mark.parametrize("delay_model", DELAY_MODELS)
def test_generic_28nm_meets_its_design_timing_target(delay_model):
    technology = get_technology("generic-28nm").with_model(delay_model)
    accumulator_delay_ps = 32 * 20.0 + 60.0
    clock_period_ps = 1e6 / 700.0
    assert accumulator_delay_ps * technology.delay_scale(0.6) < clock_period_ps
    assert accumulator_delay_ps * technology.delay_scale(0.55) > clock_period_ps
    assert 2.0 <= technology.delay_scale(0.55) <= 2.3
    assert 2.8 <= technology.delay_scale(0.5) <= 3.1


def test_delay_scales_follow_the_alpha_power_closed_form_elementwise_and_keep_shape():
    """Alpha-power law, written out here: delay ~ V / (V - Vth)^alpha, divided by its value at nominal."""
    technology = generic_28nm("alpha-power")
    voltages = np.array([[0.4, 0.5, 0.9], [1.0, 0.6, 1.35]])
    scales = technology.delay_scales(voltages)
    assert scales.shape == (2, 3)
    assert scales.dtype == np.float64

    def closed_form(v: float) -> float:
        return (v / (v - VTH_28) ** ALPHA_28) / (VDD_NOM_28 / (VDD_NOM_28 - VTH_28) ** ALPHA_28)

    np.testing.assert_allclose(scales, [[closed_form(v) for v in row] for row in voltages], rtol=1e-12)
    assert [technology.delay_scale(float(v)) for v in voltages.ravel()] == pytest.approx(scales.ravel(), rel=1e-12)


@st.composite
def two_supplies(draw):
    name = draw(st.sampled_from(sorted(TECHNOLOGIES)))
    delay_model = draw(st.sampled_from(DELAY_MODELS))
    technology = get_technology(name).with_model(delay_model)
    supply = st.floats(min_value=technology.vth_v + 1e-6, max_value=technology.vdd_max_v)
    low, high = sorted((draw(supply), draw(supply)))
    return technology, low, high


@settings(max_examples=300, deadline=None)
@given(two_supplies())
def test_delay_decreases_as_supply_increases(case):
    technology, low, high = case
    assume(high - low >= 1e-6)
    assert technology.delay_scale(low) > technology.delay_scale(high)


@settings(max_examples=300, deadline=None)
@given(two_supplies())
def test_leakage_current_and_power_grow_with_supply(case):
    technology, low, high = case
    assume(high - low >= 1e-6)
    assert technology.leakage_scale(low) < technology.leakage_scale(high)
    assert technology.leakage_power_scale(low) < technology.leakage_power_scale(high)


@st.composite
def supply_well_above_threshold(draw):
    technology = get_technology(draw(st.sampled_from(sorted(TECHNOLOGIES))))
    strong_inversion_v = 3.0 * technology.alpha * technology.slope_factor_n * PHI_T_300K_V
    vdd_v = draw(st.floats(min_value=technology.vth_v + strong_inversion_v, max_value=technology.vdd_max_v))
    return technology, vdd_v


@settings(max_examples=300, deadline=None)
@given(supply_well_above_threshold())
def test_ekv_and_alpha_power_agree_well_above_threshold(case):
    technology, vdd_v = case
    # For x = (V - Vth) / (alpha n phi_t) >= 3: 1 <= softplus(x) / x <= 1 + ln(1 + e^-3) / 3,
    # so the two normalised delays differ by at most (1 + ln(1 + e^-3) / 3) ** alpha - 1.
    margin = (1.0 + math.log1p(math.exp(-3.0)) / 3.0) ** technology.alpha - 1.0
    assert margin < 0.033
    ekv = technology.with_model("ekv").delay_scale(vdd_v)
    alpha_power = technology.with_model("alpha-power").delay_scale(vdd_v)
    assert abs(ekv / alpha_power - 1.0) <= margin


def test_ekv_and_alpha_power_disagree_near_threshold():
    ekv = generic_28nm("ekv").delay_scale(0.4)
    alpha_power = generic_28nm("alpha-power").delay_scale(0.4)
    assert alpha_power / ekv > 1.2


def test_ekv_stays_finite_at_threshold_while_alpha_power_diverges():
    vdd_v = VTH_28 + 1e-9
    x_nominal = (VDD_NOM_28 - VTH_28) / (ALPHA_28 * N_28 * PHI_T_300K_V)
    ekv_limit = (VTH_28 / VDD_NOM_28) * (softplus(x_nominal) / math.log(2.0)) ** ALPHA_28
    assert generic_28nm("ekv").delay_scale(vdd_v) == pytest.approx(ekv_limit, rel=1e-6)
    assert ekv_limit < 20.0
    assert generic_28nm("alpha-power").delay_scale(vdd_v) > 1e9


def test_leakage_scale_at_0v5_follows_dibl_exponential():
    # exp(0.1 * (0.5 - 0.9) / (1.5 * 0.025852)) = exp(-0.04 / 0.038778) = exp(-1.031508) = 0.356467
    assert generic_28nm("ekv").leakage_scale(0.5) == pytest.approx(0.356467, abs=2e-6)


def test_leakage_power_scale_at_0v5_is_voltage_times_current_ratio():
    # (0.5 / 0.9) * 0.356467 = 0.198037
    assert generic_28nm("ekv").leakage_power_scale(0.5) == pytest.approx(0.198037, abs=2e-6)


def test_dynamic_energy_scale_is_the_square_of_the_voltage_ratio():
    assert generic_28nm("ekv").dynamic_energy_scale(0.5) == pytest.approx(0.25 / 0.81, rel=1e-12)


def test_energy_and_leakage_scales_are_one_at_nominal():
    technology = generic_28nm("ekv")
    assert technology.leakage_scale(0.9) == 1.0
    assert technology.leakage_power_scale(0.9) == 1.0
    assert technology.dynamic_energy_scale(0.9) == 1.0


def test_leakage_without_dibl_does_not_depend_on_supply():
    technology = dataclasses.replace(get_technology("generic-28nm"), dibl_eta=0.0)
    assert technology.leakage_scale(0.5) == 1.0
    assert technology.leakage_scale(1.3) == 1.0


def test_with_model_changes_only_the_delay_model():
    original = get_technology("finfet-7nm")
    other_model = "alpha-power" if original.delay_model == "ekv" else "ekv"
    switched = original.with_model(other_model)
    assert switched.delay_model == other_model
    assert dataclasses.replace(switched, delay_model=original.delay_model) == original
    assert get_technology("finfet-7nm") == original


def test_with_model_rejects_unknown_model():
    with pytest.raises(
        ConfigError,
        match=r"^delay_model: 'spice' is not a known delay model for technology "
        r"'generic-28nm'; allowed: alpha-power, ekv$",
    ):
        get_technology("generic-28nm").with_model("spice")


def test_get_technology_lists_allowed_names():
    with pytest.raises(
        ConfigError,
        match=r"^technology: 'generic-7nm' is not a known technology; "
        r"allowed: finfet-7nm, generic-28nm, ptm-32nm-hp, ptm-32nm-hp-carry, ptm-32nm-hp-cells$",
    ):
        get_technology("generic-7nm")


@pytest.mark.parametrize(
    ("vdd_v", "message"),
    [
        (
            0.3,
            r"^vdd_v: 0\.3 V is at or below the threshold voltage 0\.35 V of technology "
            r"'generic-28nm'; allowed: 0\.35 < vdd_v <= 1\.35$",
        ),
        (
            0.35,
            r"^vdd_v: 0\.35 V is at or below the threshold voltage 0\.35 V of technology "
            r"'generic-28nm'; allowed: 0\.35 < vdd_v <= 1\.35$",
        ),
        (
            0.0,
            r"^vdd_v: 0\.0 V is not positive for technology 'generic-28nm'; "
            r"allowed: 0\.35 < vdd_v <= 1\.35$",
        ),
        (
            -0.5,
            r"^vdd_v: -0\.5 V is not positive for technology 'generic-28nm'; "
            r"allowed: 0\.35 < vdd_v <= 1\.35$",
        ),
        (
            1.4,
            r"^vdd_v: 1\.4 V is above the maximum supply 1\.35 V of technology "
            r"'generic-28nm'; allowed: 0\.35 < vdd_v <= 1\.35$",
        ),
        (
            math.nan,
            r"^vdd_v: nan is not a finite number for technology 'generic-28nm'; "
            r"allowed: 0\.35 < vdd_v <= 1\.35$",
        ),
        (
            math.inf,
            r"^vdd_v: inf is not a finite number for technology 'generic-28nm'; "
            r"allowed: 0\.35 < vdd_v <= 1\.35$",
        ),
        (
            "0.7",
            r"^vdd_v: '0\.7' is not a finite number for technology 'generic-28nm'; "
            r"allowed: 0\.35 < vdd_v <= 1\.35$",
        ),
    ],
)
@pytest.mark.parametrize("delay_model", DELAY_MODELS)
def test_delay_scale_rejects_bad_supply(vdd_v, message, delay_model):
    with pytest.raises(ConfigError, match=message):
        generic_28nm(delay_model).delay_scale(vdd_v)


@pytest.mark.parametrize("method", ["leakage_scale", "dynamic_energy_scale", "leakage_power_scale"])
def test_energy_scales_validate_supply_like_delay(method):
    with pytest.raises(
        ConfigError,
        match=r"^vdd_v: 1\.4 V is above the maximum supply 1\.35 V of technology "
        r"'generic-28nm'; allowed: 0\.35 < vdd_v <= 1\.35$",
    ):
        getattr(generic_28nm("ekv"), method)(1.4)


def test_delay_scales_names_the_first_bad_element():
    with pytest.raises(
        ConfigError,
        match=r"^vdd_v\[1, 0\]: 0\.2 V is at or below the threshold voltage 0\.35 V of "
        r"technology 'generic-28nm'; allowed: 0\.35 < vdd_v <= 1\.35$",
    ):
        generic_28nm("ekv").delay_scales(np.array([[0.9, 0.5], [0.2, 2.0]]))


def test_delay_scales_rejects_non_numeric_array():
    with pytest.raises(
        ConfigError,
        match=r"^vdd_v: array of dtype <U3 is not numeric for technology 'generic-28nm'; "
        r"allowed: 0\.35 < vdd_v <= 1\.35$",
    ):
        generic_28nm("ekv").delay_scales(np.array(["0.7"]))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"vth_v": 0.9},
            r"^vth_v: 0\.9 is out of range for technology 'generic-28nm'; "
            r"allowed: 0 < vth_v < 0\.9 \(vdd_nominal_v\)$",
        ),
        (
            {"vth_v": 0.0},
            r"^vth_v: 0\.0 is out of range for technology 'generic-28nm'; "
            r"allowed: 0 < vth_v < 0\.9 \(vdd_nominal_v\)$",
        ),
        (
            {"alpha": 0.9},
            r"^alpha: 0\.9 is out of range for technology 'generic-28nm'; "
            r"allowed: 1 <= alpha <= 2$",
        ),
        (
            {"alpha": 2.5},
            r"^alpha: 2\.5 is out of range for technology 'generic-28nm'; "
            r"allowed: 1 <= alpha <= 2$",
        ),
        (
            {"slope_factor_n": 0.8},
            r"^slope_factor_n: 0\.8 is out of range for technology 'generic-28nm'; "
            r"allowed: 1 <= slope_factor_n <= 3$",
        ),
        (
            {"temperature_k": 100.0},
            r"^temperature_k: 100\.0 is out of range for technology 'generic-28nm'; "
            r"allowed: 200 <= temperature_k <= 450$",
        ),
        (
            {"dibl_eta": -0.1},
            r"^dibl_eta: -0\.1 is out of range for technology 'generic-28nm'; "
            r"allowed: 0 <= dibl_eta <= 0\.5$",
        ),
        (
            {"vdd_max_v": 0.8},
            r"^vdd_max_v: 0\.8 is out of range for technology 'generic-28nm'; "
            r"allowed: 0\.9 <= vdd_max_v <= 1\.8 \(1 to 2 x vdd_nominal_v\)$",
        ),
        (
            {"vdd_nominal_v": math.nan},
            r"^vdd_nominal_v: nan is not a finite number for technology 'generic-28nm'; "
            r"allowed: 0 < vdd_nominal_v$",
        ),
        (
            {"alpha": "1.3"},
            r"^alpha: '1\.3' is not a finite number for technology 'generic-28nm'; "
            r"allowed: 1 <= alpha <= 2$",
        ),
        (
            {"delay_model": "bsim"},
            r"^delay_model: 'bsim' is not a known delay model for technology "
            r"'generic-28nm'; allowed: alpha-power, ekv$",
        ),
        (
            {"name": ""},
            r"^name: '' is not a valid technology name; "
            r"allowed: a non-empty single-line string$",
        ),
        (
            {"description": "two\nlines"},
            r"^description: 'two\\nlines' is not valid for technology 'generic-28nm'; "
            r"allowed: a non-empty single-line string$",
        ),
    ],
)
def test_technology_fields_are_validated(changes, message):
    with pytest.raises(ConfigError, match=message):
        dataclasses.replace(get_technology("generic-28nm"), **changes)
