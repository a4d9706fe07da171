"""How gate delay, leakage and switching energy of a CMOS technology scale with supply voltage.

Every quantity is a ratio to its value at the technology's nominal supply, so a cell
characterised at nominal VDD (for example a full-adder carry delay in ps) is scaled to
another supply by multiplying with :meth:`Technology.delay_scale`.

Two delay models are available, chosen per technology by ``delay_model``:

``"alpha-power"``
    Sakurai-Newton alpha-power law (IEEE JSSC 25(2), 1990):
    ``t_d ∝ V / (V - Vth)**alpha``. Accurate well above threshold, diverges at ``Vth``.
``"ekv"``
    EKV-style interpolation (Enz, Krummenacher, Vittoz 1995) of the on-current, valid
    from weak through strong inversion:
    ``I_on ∝ ln(1 + exp((V - Vth) / (alpha n phi_t)))**alpha`` and ``t_d ∝ V / I_on``.
    With ``alpha = 2`` this is exactly the EKV interpolation
    ``ln(1 + exp((V - Vth) / (2 n phi_t)))**2``. For other ``alpha`` it tends to the
    alpha-power law well above threshold and to ``exp((V - Vth) / (n phi_t))`` below it,
    so both models describe the same device and agree within 3.3 % for
    ``V >= Vth + 3 alpha n phi_t``.

Leakage follows a DIBL-dominated subthreshold current ``I_leak ∝ exp(eta V / (n phi_t))``.
The sources of every preset value are in ``docs/technology.md``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from numbers import Real

import numpy as np

from pe_models.errors import ConfigError

__all__ = [
    "DEFAULT_TECHNOLOGY",
    "DELAY_MODELS",
    "TECHNOLOGIES",
    "Technology",
    "get_technology",
]

DELAY_MODELS: tuple[str, ...] = ("alpha-power", "ekv")

_BOLTZMANN_J_PER_K = 1.380649e-23
_ELEMENTARY_CHARGE_C = 1.602176634e-19

_ALPHA_RANGE = (1.0, 2.0)
_SLOPE_FACTOR_RANGE = (1.0, 3.0)
_TEMPERATURE_RANGE_K = (200.0, 450.0)
_DIBL_RANGE = (0.0, 0.5)
_VDD_MAX_OVER_NOMINAL_LIMIT = 2.0


def _format_number(value: float) -> str:
    return repr(float(value))


def _format_value(value: object) -> str:
    if isinstance(value, Real) and not isinstance(value, bool):
        return _format_number(float(value))
    return repr(value)


def _as_finite_float(value: object) -> float | None:
    """The value as a Python float if it is a finite real number (not a bool), else None."""
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, Real):
        return None
    converted = float(value)
    return converted if math.isfinite(converted) else None


@dataclass(frozen=True, kw_only=True)
class Technology:
    """Supply-voltage scaling of one CMOS technology.

    Parameters
    ----------
    name : str
        Preset name, e.g. ``"generic-28nm"``.
    description : str
        One line, including the sources of the values.
    vdd_nominal_v : float
        Nominal supply in V; ``delay_scale(vdd_nominal_v) == 1.0`` exactly.
    vth_v : float
        Threshold voltage in V, ``0 < vth_v < vdd_nominal_v``.
    delay_model : str
        ``"alpha-power"`` or ``"ekv"``.
    alpha : float
        Velocity-saturation index of the alpha-power law, ``1 <= alpha <= 2``.
    slope_factor_n : float
        Subthreshold slope factor n (swing = n phi_t ln 10), ``1 <= n <= 3``.
    temperature_k : float
        Junction temperature in K, ``200 <= T <= 450``; sets phi_t = k T / q.
    dibl_eta : float
        DIBL coefficient in V/V (threshold shift per volt of drain bias), ``0 <= eta <= 0.5``.
    vdd_max_v : float
        Largest supply in V accepted by the scaling functions,
        ``vdd_nominal_v <= vdd_max_v <= 2 * vdd_nominal_v``.

    Raises
    ------
    ConfigError
        If any field is out of range; the message names the field and the allowed values.
    """

    name: str
    description: str
    vdd_nominal_v: float
    vth_v: float
    delay_model: str
    alpha: float
    slope_factor_n: float
    temperature_k: float = 300.0
    dibl_eta: float
    vdd_max_v: float

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip() or "\n" in self.name:
            raise ConfigError(
                f"name: {self.name!r} is not a valid technology name; allowed: a non-empty single-line string"
            )
        if not isinstance(self.description, str) or not self.description.strip() or "\n" in self.description:
            raise ConfigError(
                f"description: {self.description!r} is not valid for technology "
                f"{self.name!r}; allowed: a non-empty single-line string"
            )
        if self.delay_model not in DELAY_MODELS:
            raise ConfigError(
                f"delay_model: {self.delay_model!r} is not a known delay model for technology "
                f"{self.name!r}; allowed: {', '.join(DELAY_MODELS)}"
            )
        vdd_nominal_v = self._checked_field(
            "vdd_nominal_v", self.vdd_nominal_v, "0 < vdd_nominal_v", low=0.0, low_inclusive=False
        )
        self._checked_field(
            "vth_v",
            self.vth_v,
            f"0 < vth_v < {_format_number(vdd_nominal_v)} (vdd_nominal_v)",
            low=0.0,
            low_inclusive=False,
            high=vdd_nominal_v,
            high_inclusive=False,
        )
        low, high = _ALPHA_RANGE
        self._checked_field("alpha", self.alpha, f"{low:g} <= alpha <= {high:g}", low=low, high=high)
        low, high = _SLOPE_FACTOR_RANGE
        self._checked_field(
            "slope_factor_n",
            self.slope_factor_n,
            f"{low:g} <= slope_factor_n <= {high:g}",
            low=low,
            high=high,
        )
        low, high = _TEMPERATURE_RANGE_K
        self._checked_field(
            "temperature_k",
            self.temperature_k,
            f"{low:g} <= temperature_k <= {high:g}",
            low=low,
            high=high,
        )
        low, high = _DIBL_RANGE
        self._checked_field("dibl_eta", self.dibl_eta, f"{low:g} <= dibl_eta <= {high:g}", low=low, high=high)
        vdd_max_limit = _VDD_MAX_OVER_NOMINAL_LIMIT * vdd_nominal_v
        self._checked_field(
            "vdd_max_v",
            self.vdd_max_v,
            f"{_format_number(vdd_nominal_v)} <= vdd_max_v <= {_format_number(vdd_max_limit)}"
            f" (1 to {_VDD_MAX_OVER_NOMINAL_LIMIT:g} x vdd_nominal_v)",
            low=vdd_nominal_v,
            high=vdd_max_limit,
        )

    def _checked_field(
        self,
        field: str,
        value: object,
        allowed: str,
        *,
        low: float,
        high: float = math.inf,
        low_inclusive: bool = True,
        high_inclusive: bool = True,
    ) -> float:
        number = _as_finite_float(value)
        if number is None:
            raise ConfigError(
                f"{field}: {_format_value(value)} is not a finite number for technology "
                f"{self.name!r}; allowed: {allowed}"
            )
        above_low = number >= low if low_inclusive else number > low
        below_high = number <= high if high_inclusive else number < high
        if not (above_low and below_high):
            raise ConfigError(
                f"{field}: {_format_number(number)} is out of range for technology {self.name!r}; allowed: {allowed}"
            )
        return number

    @property
    def thermal_voltage_v(self) -> float:
        """Thermal voltage phi_t = k T / q in V (0.025852 V at 300 K)."""
        return _BOLTZMANN_J_PER_K * float(self.temperature_k) / _ELEMENTARY_CHARGE_C

    def _allowed_vdd(self) -> str:
        return f"{_format_number(self.vth_v)} < vdd_v <= {_format_number(self.vdd_max_v)}"

    def _vdd_problem(self, label: str, value: object) -> str | None:
        """The one-line error for a supply value, or None if it is inside the operating range."""
        allowed = self._allowed_vdd()
        number = _as_finite_float(value)
        if number is None:
            return (
                f"{label}: {_format_value(value)} is not a finite number for technology "
                f"{self.name!r}; allowed: {allowed}"
            )
        if number <= 0.0:
            return (
                f"{label}: {_format_number(number)} V is not positive for technology {self.name!r}; allowed: {allowed}"
            )
        if number <= self.vth_v:
            return (
                f"{label}: {_format_number(number)} V is at or below the threshold voltage "
                f"{_format_number(self.vth_v)} V of technology {self.name!r}; allowed: {allowed}"
            )
        if number > self.vdd_max_v:
            return (
                f"{label}: {_format_number(number)} V is above the maximum supply "
                f"{_format_number(self.vdd_max_v)} V of technology {self.name!r}; "
                f"allowed: {allowed}"
            )
        return None

    def _checked_vdd(self, vdd_v: object) -> float:
        problem = self._vdd_problem("vdd_v", vdd_v)
        if problem is not None:
            raise ConfigError(problem)
        return _as_finite_float(vdd_v)  # type: ignore[return-value]

    def _checked_vdd_array(self, vdd_v: np.ndarray) -> np.ndarray:
        values = np.asarray(vdd_v)
        if values.dtype.kind not in "iuf":
            raise ConfigError(
                f"vdd_v: array of dtype {values.dtype} is not numeric for technology "
                f"{self.name!r}; allowed: {self._allowed_vdd()}"
            )
        values = values.astype(np.float64)
        valid = np.isfinite(values) & (values > self.vth_v) & (values <= self.vdd_max_v)
        if not valid.all():
            flat_index = int(np.flatnonzero(~valid.ravel())[0])
            position = np.unravel_index(flat_index, values.shape)
            label = f"vdd_v[{', '.join(str(int(i)) for i in position)}]"
            problem = self._vdd_problem(label, float(values.ravel()[flat_index]))
            raise ConfigError(problem)
        return values

    def _unnormalised_delay(self, vdd_v: np.ndarray) -> np.ndarray:
        overdrive_v = vdd_v - self.vth_v
        if self.delay_model == "alpha-power":
            return vdd_v / overdrive_v**self.alpha
        inversion_scale_v = self.alpha * self.slope_factor_n * self.thermal_voltage_v
        on_current = np.logaddexp(0.0, overdrive_v / inversion_scale_v) ** self.alpha
        return vdd_v / on_current

    def _delay_scales_unchecked(self, vdd_v: np.ndarray) -> np.ndarray:
        nominal = self._unnormalised_delay(np.array([float(self.vdd_nominal_v)]))[0]
        scales = self._unnormalised_delay(vdd_v) / nominal
        return np.where(vdd_v == self.vdd_nominal_v, 1.0, scales)

    def delay_scale(self, vdd_v: float) -> float:
        """Gate delay at ``vdd_v`` divided by gate delay at the nominal supply.

        Parameters
        ----------
        vdd_v : float
            Supply voltage in V, ``vth_v < vdd_v <= vdd_max_v``.

        Returns
        -------
        float
            Dimensionless delay ratio; exactly 1.0 at ``vdd_nominal_v``, > 1 below it.

        Raises
        ------
        ConfigError
            If ``vdd_v`` is not a finite number, not positive, at or below ``vth_v`` or
            above ``vdd_max_v``.
        """
        value = self._checked_vdd(vdd_v)
        return float(self._delay_scales_unchecked(np.array([value]))[0])

    def delay_scales(self, vdd_v: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`delay_scale`.

        Parameters
        ----------
        vdd_v : numpy.ndarray
            Supply voltages in V, any shape, integer or floating dtype.

        Returns
        -------
        numpy.ndarray
            float64 array of the same shape with the delay ratios.

        Raises
        ------
        ConfigError
            If any element is invalid; the message names the first one, e.g. ``vdd_v[3]``.
        """
        return self._delay_scales_unchecked(self._checked_vdd_array(vdd_v))

    def leakage_scale(self, vdd_v: float) -> float:
        """Subthreshold leakage current at ``vdd_v`` divided by its value at nominal supply.

        ``exp(dibl_eta * (vdd_v - vdd_nominal_v) / (slope_factor_n * phi_t))``: DIBL lowers
        the threshold by ``dibl_eta`` volts per volt of drain bias.

        Parameters
        ----------
        vdd_v : float
            Supply voltage in V, ``vth_v < vdd_v <= vdd_max_v``.

        Returns
        -------
        float
            Dimensionless current ratio, 1.0 at nominal.
        """
        value = self._checked_vdd(vdd_v)
        exponent = self.dibl_eta * (value - self.vdd_nominal_v) / (self.slope_factor_n * self.thermal_voltage_v)
        return math.exp(exponent)

    def dynamic_energy_scale(self, vdd_v: float) -> float:
        """Switching energy ``C V**2`` at ``vdd_v`` divided by its value at nominal supply.

        Parameters
        ----------
        vdd_v : float
            Supply voltage in V, ``vth_v < vdd_v <= vdd_max_v``.

        Returns
        -------
        float
            ``(vdd_v / vdd_nominal_v) ** 2``.
        """
        value = self._checked_vdd(vdd_v)
        return (value / self.vdd_nominal_v) ** 2

    def leakage_power_scale(self, vdd_v: float) -> float:
        """Leakage power ``V I_leak(V)`` at ``vdd_v`` divided by its value at nominal supply.

        Multiply by the clock period ratio to get leakage energy per cycle.

        Parameters
        ----------
        vdd_v : float
            Supply voltage in V, ``vth_v < vdd_v <= vdd_max_v``.

        Returns
        -------
        float
            ``vdd_v / vdd_nominal_v * leakage_scale(vdd_v)``.
        """
        return self.leakage_scale(vdd_v) * self._checked_vdd(vdd_v) / self.vdd_nominal_v

    def with_model(self, delay_model: str) -> Technology:
        """The same technology parameters with another delay model.

        Parameters
        ----------
        delay_model : str
            ``"alpha-power"`` or ``"ekv"``.

        Returns
        -------
        Technology
            A new, validated instance; the name is unchanged.
        """
        return dataclasses.replace(self, delay_model=delay_model)


TECHNOLOGIES: dict[str, Technology] = {
    technology.name: technology
    for technology in (
        Technology(
            name="generic-28nm",
            description=(
                "Planar bulk 28 nm-class CMOS at 0.9 V: alpha 1.3 and Vth 0.35 V give delay "
                "x2.3 at 0.55 V and x3.0 at 0.5 V (Sakurai-Newton 1990 alpha-power form), "
                "swing 89 mV/dec, DIBL 100 mV/V; see docs/technology.md"
            ),
            vdd_nominal_v=0.9,
            vth_v=0.35,
            delay_model="ekv",
            alpha=1.3,
            slope_factor_n=1.5,
            temperature_k=300.0,
            dibl_eta=0.1,
            vdd_max_v=1.35,
        ),
        Technology(
            name="finfet-7nm",
            description=(
                "ASAP7-like 7 nm FinFET at 0.7 V (Clark et al. 2016 nominal supply): RVT-class "
                "Vth 0.25 V, alpha 1.2, swing 65 mV/dec, DIBL 30 mV/V; see docs/technology.md"
            ),
            vdd_nominal_v=0.7,
            vth_v=0.25,
            delay_model="ekv",
            alpha=1.2,
            slope_factor_n=1.1,
            temperature_k=300.0,
            dibl_eta=0.03,
            vdd_max_v=1.05,
        ),
    )
}

DEFAULT_TECHNOLOGY: str = "generic-28nm"


def get_technology(name: str) -> Technology:
    """The named technology preset.

    Parameters
    ----------
    name : str
        A key of :data:`TECHNOLOGIES`.

    Returns
    -------
    Technology

    Raises
    ------
    ConfigError
        If ``name`` is not a preset; the message lists the allowed names.
    """
    if not isinstance(name, str) or name not in TECHNOLOGIES:
        raise ConfigError(f"technology: {name!r} is not a known technology; allowed: {', '.join(sorted(TECHNOLOGIES))}")
    return TECHNOLOGIES[name]
