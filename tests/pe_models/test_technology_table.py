"""Tabulated technologies (monotone PCHIP in log space), the SPICE fit and the slack ratio."""

import math

import numpy as np
import pytest

from pe_models.errors import ConfigError
from pe_models.pe import PEConfig, critical_path_ps, max_error_free_f_clk_mhz, slack_ratio
from pe_models.technology import TabulatedTechnology, Technology, fit_technology, get_technology, pchip_interpolate
from tests.packages import require

PHI_T_300K_V = 1.380649e-23 * 300.0 / 1.602176634e-19


def table(**changes) -> TabulatedTechnology:
    fields = {
        "name": "corners",
        "description": "hand-made points",
        "table_vdd_v": (0.5, 0.6, 0.7, 0.9),
        "table_delay_scale": (6.0, 2.5, 1.6, 1.0),
    }
    fields.update(changes)
    return TabulatedTechnology(**fields)


def test_table_reproduces_its_points_exactly():
    technology = table()
    for vdd, scale in [(0.5, 6.0), (0.6, 2.5), (0.7, 1.6), (0.9, 1.0)]:
        assert technology.delay_scale(vdd) == pytest.approx(scale, rel=1e-14)
    assert technology.delay_scale(0.9) == 1.0
    assert technology.vdd_nominal_v == 0.9


def test_two_point_table_is_log_linear_worked_by_hand():
    technology = table(table_vdd_v=(0.5, 0.9), table_delay_scale=(4.0, 1.0))
    # PCHIP through two points is the straight line: log d = log 4 * (0.9 - V) / 0.4,
    # at 0.7 V: exp(ln 4 / 2) = 2.0 (the geometric mean of 4 and 1).
    assert technology.delay_scale(0.7) == pytest.approx(2.0, rel=1e-12)
    assert technology.delay_scale(0.6) == pytest.approx(4.0**0.75, rel=1e-12)


def test_pchip_matches_scipy_on_hand_made_points():
    interpolate = require("scipy.interpolate")
    x = np.array([0.5, 0.55, 0.6, 0.7, 0.9])
    y = np.log(np.array([6.8, 3.9, 2.65, 1.64, 1.0]))
    at = np.linspace(0.5, 0.9, 401)
    expected = interpolate.PchipInterpolator(x, y)(at)
    np.testing.assert_allclose(pchip_interpolate(x, y, at), expected, rtol=0, atol=1e-12)


def test_pchip_matches_scipy_with_a_flat_segment_and_uneven_steps():
    interpolate = require("scipy.interpolate")
    x = np.array([0.0, 0.1, 0.5, 0.6, 2.0, 2.1])
    y = np.array([5.0, 4.0, 4.0, 1.0, 0.5, 0.0])
    at = np.linspace(0.0, 2.1, 500)
    np.testing.assert_allclose(pchip_interpolate(x, y, at), interpolate.PchipInterpolator(x, y)(at), atol=1e-12)


def test_table_interpolation_is_monotone_between_points():
    technology = table(table_vdd_v=(0.5, 0.55, 0.6, 0.9), table_delay_scale=(10.0, 9.9, 1.2, 1.0))
    dense = np.linspace(0.5, 0.9, 2001)
    scales = technology.delay_scales(dense)
    assert np.all(np.diff(scales) < 0)
    assert scales.max() == pytest.approx(10.0) and scales.min() == 1.0


def test_table_energy_defaults_and_columns():
    technology = table()
    assert technology.dynamic_energy_scale(0.6) == pytest.approx((0.6 / 0.9) ** 2, rel=1e-12)
    assert technology.leakage_power_scale(0.6) == pytest.approx(0.6 / 0.9, rel=1e-12)
    with_columns = table(
        table_switching_energy_scale=(0.3, 0.45, 0.6, 1.0), table_leakage_power_scale=(0.1, 0.2, 0.4, 1.0)
    )
    assert with_columns.dynamic_energy_scale(0.7) == pytest.approx(0.6, rel=1e-12)
    assert with_columns.leakage_power_scale(0.5) == pytest.approx(0.1, rel=1e-12)


@pytest.mark.parametrize(
    ("vdd_v", "message"),
    [
        (0.45, r"^vdd_v: 0\.45 V is outside the table of technology 'corners'; allowed: 0\.5 <= vdd_v <= 0\.9$"),
        (0.95, r"^vdd_v: 0\.95 V is outside the table of technology 'corners'; allowed: 0\.5 <= vdd_v <= 0\.9$"),
        (math.nan, r"^vdd_v: nan is not a finite number for technology 'corners'; allowed: 0\.5 <= vdd_v <= 0\.9$"),
    ],
)
def test_table_refuses_supplies_it_does_not_cover(vdd_v, message):
    with pytest.raises(ConfigError, match=message):
        table().delay_scale(vdd_v)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"table_delay_scale": (6.0, 2.5, 2.6, 1.0)},
            r"^delay_scale\[2\]: 2\.6 at 0\.7 V is not below delay_scale\[1\] = 2\.5 at 0\.6 V for technology "
            r"'corners'; allowed: strictly decreasing as vdd_v increases$",
        ),
        (
            {"table_delay_scale": (6.0, -2.5, 1.6, 1.0)},
            r"^delay_scale\[1\]: -2\.5 is not positive for technology 'corners'; allowed: a positive number$",
        ),
        (
            {"table_delay_scale": (6.0, 2.5, 1.6)},
            r"^delay_scale: 3 values for technology 'corners'; allowed: one per vdd_v point \(4\)$",
        ),
        (
            {"table_delay_scale": (6.0, 2.5, 1.6, 1.1)},
            r"^delay_scale: no point equals 1\.0 for technology 'corners'; allowed: exactly 1\.0 at the nominal "
            r"supply$",
        ),
        (
            {"table_vdd_v": (0.5, 0.7, 0.6, 0.9)},
            r"^vdd_v\[2\]: 0\.6 is not above vdd_v\[1\] = 0\.7 for technology 'corners'; "
            r"allowed: strictly increasing$",
        ),
        (
            {"table_leakage_power_scale": (0.1, 0.3, 0.2, 1.0)},
            r"^leakage_power_scale\[2\]: 0\.2 is not above leakage_power_scale\[1\] = 0\.3 for technology "
            r"'corners'; allowed: strictly increasing as vdd_v increases$",
        ),
    ],
)
def test_table_validation_names_the_field(changes, message):
    with pytest.raises(ConfigError, match=message):
        table(**changes)


def _ekv_ratio(vdd, vth, alpha, n):
    def delay(v):
        x = (v - vth) / (alpha * n * PHI_T_300K_V)
        softplus = x + math.log1p(math.exp(-x)) if x > 0 else math.log1p(math.exp(x))
        return v / softplus**alpha

    return np.array([delay(v) / delay(0.9) for v in vdd])


def test_fit_recovers_a_closed_form_device():
    vdd = np.round(np.arange(0.9, 0.399, -0.05), 3)
    delay = 8e-12 * _ekv_ratio(vdd, 0.45, 1.25, 1.6)
    energy = 0.5e-15 * (vdd / 0.9) ** 2.2
    leakage = 7e-9 * np.exp(6.0 * (vdd - 0.9))
    technology, report = fit_technology(
        name="closed-form",
        vdd_v=vdd,
        delay_s=delay,
        switching_energy_j=energy,
        leakage_current_a=leakage,
        slope_factor_n=1.4,
        temperature_k=300.0,
        source="closed form",
    )
    assert report.delay_max_error_pct < 0.05
    assert technology.vth_v == pytest.approx(0.45, abs=0.005)
    assert technology.alpha == pytest.approx(1.25, abs=0.02)
    assert technology.switching_energy_exponent == pytest.approx(2.2, abs=1e-5)
    # dibl_eta / (n phi_t) is the fitted slope 6.0 / V of log I_leak.
    assert technology.dibl_eta / (technology.slope_factor_n * PHI_T_300K_V) == pytest.approx(6.0, rel=1e-3)
    assert report.switching_energy_max_error_pct < 1e-3
    assert technology.vdd_min_v == 0.4
    assert technology.fit_error_pct == report.delay_max_error_pct


def test_alpha_power_fit_keeps_its_threshold_below_the_lowest_supply():
    vdd = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    ratio = (vdd / 0.9) * ((0.9 - 0.3) / (vdd - 0.3)) ** 1.5
    technology, report = fit_technology(
        name="ap",
        vdd_v=vdd,
        delay_s=1e-11 * ratio,
        switching_energy_j=1e-15 * (vdd / 0.9) ** 2,
        leakage_current_a=1e-9 * np.exp(5.0 * (vdd - 0.9)),
        slope_factor_n=1.5,
        temperature_k=300.0,
        delay_model="alpha-power",
        source="closed form",
    )
    assert technology.vth_v == pytest.approx(0.3, abs=1e-3)
    assert technology.alpha == pytest.approx(1.5, abs=1e-2)
    assert report.delay_max_error_pct < 0.1


def test_fit_refuses_delays_that_do_not_fall_with_supply():
    vdd = np.array([0.9, 0.8, 0.7, 0.6])
    with pytest.raises(ConfigError, match=r"^delay_s: the delays for the fit of 'x' do not fall as vdd_v rises$"):
        fit_technology(
            name="x",
            vdd_v=vdd,
            delay_s=np.array([1.0, 1.2, 1.1, 2.0]),
            switching_energy_j=np.ones(4),
            leakage_current_a=np.ones(4),
            slope_factor_n=1.5,
            temperature_k=300.0,
            source="s",
        )


def test_ekv_preset_accepts_supplies_below_its_threshold_down_to_vdd_min():
    technology = Technology(
        name="near-threshold",
        description="EKV below threshold",
        vdd_nominal_v=0.9,
        vth_v=0.47,
        delay_model="ekv",
        alpha=1.2,
        slope_factor_n=1.65,
        dibl_eta=0.25,
        vdd_max_v=1.35,
        vdd_min_v=0.4,
    )
    assert technology.delay_scale(0.4) == pytest.approx(_ekv_ratio([0.4], 0.47, 1.2, 1.65)[0], rel=1e-12)
    with pytest.raises(
        ConfigError,
        match=r"^vdd_v: 0\.39 V is below the lowest supply 0\.4 V of technology 'near-threshold'; "
        r"allowed: 0\.4 <= vdd_v <= 1\.35$",
    ):
        technology.delay_scale(0.39)
    assert technology.with_model("alpha-power").vdd_min_v is None


def test_critical_path_of_the_default_pe_worked_by_hand():
    # 32-bit ripple-carry of XOR3/MAJ3 cells: carries c1..c31 through 31 MAJ3 (20 ps),
    # then the XOR3 sum of bit 31 (30 ps), plus the 25 ps flip-flop setup: 675 ps.
    pe = PEConfig(technology="generic-28nm")
    assert critical_path_ps(pe) == 675.0
    assert slack_ratio(pe, 700.0) == pytest.approx((1e6 / 700.0) / 675.0, rel=1e-12)
    assert max_error_free_f_clk_mhz(pe, 0.9) == pytest.approx(1e6 / 675.0, rel=1e-12)


def test_highest_error_free_clock_scales_with_the_delay_scale():
    technology = get_technology("generic-28nm").with_model("alpha-power")
    pe = PEConfig(technology=technology)
    scale = (0.55 / 0.9) * ((0.9 - 0.35) / (0.55 - 0.35)) ** 1.3
    assert max_error_free_f_clk_mhz(pe, 0.55) == pytest.approx(1e6 / (675.0 * scale), rel=1e-12)
    assert pe.as_dict()["technology"] == "generic-28nm"


def test_slack_ratio_refuses_a_bad_clock():
    with pytest.raises(ConfigError, match=r"^f_clk_mhz: expected a number of MHz in \(0, 20000\], got -1\.0$"):
        slack_ratio(PEConfig(technology="generic-28nm"), -1.0)
