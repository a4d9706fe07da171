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
import functools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from numbers import Real
from pathlib import Path

import numpy as np

from pe_models.errors import ConfigError

__all__ = [
    "DEFAULT_TECHNOLOGY",
    "DELAY_MODELS",
    "TECHNOLOGIES",
    "FitReport",
    "LibertyTechnology",
    "LibraryTechnology",
    "TabulatedTechnology",
    "Technology",
    "TechnologyModel",
    "fit_technology",
    "get_technology",
    "liberty_paths",
    "liberty_technology",
    "pchip_interpolate",
    "resolve_technology",
    "technology_name",
]

DELAY_MODELS: tuple[str, ...] = ("alpha-power", "ekv")

_BOLTZMANN_J_PER_K = 1.380649e-23
_ELEMENTARY_CHARGE_C = 1.602176634e-19

_ALPHA_RANGE = (1.0, 2.0)
_SLOPE_FACTOR_RANGE = (1.0, 3.0)
_TEMPERATURE_RANGE_K = (200.0, 450.0)
_DIBL_RANGE = (0.0, 0.5)
_VDD_MAX_OVER_NOMINAL_LIMIT = 2.0
_ENERGY_EXPONENT_RANGE = (1.0, 3.0)


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
    switching_energy_exponent : float
        ``gamma`` of the switching energy per transition ``E ∝ V**gamma``, ``1 <= gamma <= 3``;
        2.0 (``C V**2`` with a voltage-independent capacitance) unless fitted to SPICE.
    source : str
        Where the values come from (a model card and simulator, or "reasoned values").
    fit_error_pct : float or None
        Largest relative error in % of the delay model against the SPICE delays it was
        fitted to, or None for presets that are not fitted.
    vdd_min_v : float or None
        Lowest supply in V accepted by the scaling functions (inclusive). None (default):
        the range starts just above ``vth_v``. A fitted EKV preset sets it to the lowest
        simulated supply, which may lie below its fitted ``vth_v`` (the EKV form holds in
        weak inversion); the alpha-power law needs ``vdd_min_v > vth_v``.

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
    switching_energy_exponent: float = 2.0
    source: str = "reasoned values, not fitted; see docs/technology.md"
    fit_error_pct: float | None = None
    vdd_min_v: float | None = None

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
        low, high = _ENERGY_EXPONENT_RANGE
        self._checked_field(
            "switching_energy_exponent",
            self.switching_energy_exponent,
            f"{low:g} <= switching_energy_exponent <= {high:g}",
            low=low,
            high=high,
        )
        if not isinstance(self.source, str) or not self.source.strip() or "\n" in self.source:
            raise ConfigError(
                f"source: {self.source!r} is not valid for technology {self.name!r}; "
                "allowed: a non-empty single-line string"
            )
        if self.fit_error_pct is not None:
            self._checked_field("fit_error_pct", self.fit_error_pct, "0 <= fit_error_pct or None", low=0.0)
        if self.vdd_min_v is not None:
            floor = float(self.vth_v) if self.delay_model == "alpha-power" else 0.0
            reason = " (vth_v, alpha-power)" if self.delay_model == "alpha-power" else ""
            self._checked_field(
                "vdd_min_v",
                self.vdd_min_v,
                f"{_format_number(floor)}{reason} < vdd_min_v < {_format_number(vdd_nominal_v)} (vdd_nominal_v) "
                "or None",
                low=floor,
                low_inclusive=False,
                high=vdd_nominal_v,
                high_inclusive=False,
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
        if self.vdd_min_v is not None:
            return f"{_format_number(self.vdd_min_v)} <= vdd_v <= {_format_number(self.vdd_max_v)}"
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
        if self.vdd_min_v is not None and number < self.vdd_min_v:
            return (
                f"{label}: {_format_number(number)} V is below the lowest supply "
                f"{_format_number(self.vdd_min_v)} V of technology {self.name!r}; allowed: {allowed}"
            )
        if self.vdd_min_v is None and number <= self.vth_v:
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
        lowest_ok = values >= self.vdd_min_v if self.vdd_min_v is not None else values > self.vth_v
        valid = np.isfinite(values) & lowest_ok & (values <= self.vdd_max_v)
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
        """Switching energy per transition at ``vdd_v`` divided by its value at nominal supply.

        Parameters
        ----------
        vdd_v : float
            Supply voltage in V, ``vth_v < vdd_v <= vdd_max_v``.

        Returns
        -------
        float
            ``(vdd_v / vdd_nominal_v) ** switching_energy_exponent`` (the exponent is 2,
            ``C V**2``, unless fitted to SPICE).
        """
        value = self._checked_vdd(vdd_v)
        return (value / self.vdd_nominal_v) ** self.switching_energy_exponent

    def switching_energy_scale(self, vdd_v: float) -> float:
        """The same as :meth:`dynamic_energy_scale` (switching energy per transition ratio)."""
        return self.dynamic_energy_scale(vdd_v)

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

    def as_dict(self) -> dict[str, object]:
        """Every field by name (what a preset TOML's ``[technology]`` table holds)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def with_model(self, delay_model: str) -> Technology:
        """The same technology parameters with another delay model.

        Parameters
        ----------
        delay_model : str
            ``"alpha-power"`` or ``"ekv"``.

        Returns
        -------
        Technology
            A new, validated instance; the name is unchanged. Switching to the
            alpha-power law drops a ``vdd_min_v`` at or below ``vth_v`` (the law diverges
            there), so the range then starts just above ``vth_v``.
        """
        vdd_min_v = self.vdd_min_v
        if delay_model == "alpha-power" and vdd_min_v is not None and vdd_min_v <= self.vth_v:
            vdd_min_v = None
        return dataclasses.replace(self, delay_model=delay_model, vdd_min_v=vdd_min_v)


def _pchip_slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Fritsch-Carlson / Fritsch-Butland slopes of the monotone cubic Hermite interpolant.

    The same end-point and interior rules as SciPy's ``PchipInterpolator``: interior
    slopes are the weighted harmonic mean of the neighbouring secants (zero where they
    differ in sign), end slopes the shape-preserving three-point formula.
    """
    h = np.diff(x)
    secant = np.diff(y) / h
    slopes = np.zeros_like(y)
    if x.size == 2:
        slopes[:] = secant[0]
        return slopes
    for i in range(1, x.size - 1):
        left, right = secant[i - 1], secant[i]
        if left * right > 0.0:
            w1 = 2.0 * h[i] + h[i - 1]
            w2 = h[i] + 2.0 * h[i - 1]
            slopes[i] = (w1 + w2) / (w1 / left + w2 / right)
    for end, (h0, h1, d0, d1) in (
        (0, (h[0], h[1], secant[0], secant[1])),
        (-1, (h[-1], h[-2], secant[-1], secant[-2])),
    ):
        slope = ((2.0 * h0 + h1) * d0 - h0 * d1) / (h0 + h1)
        if np.sign(slope) != np.sign(d0):
            slope = 0.0
        elif np.sign(d0) != np.sign(d1) and abs(slope) > abs(3.0 * d0):
            slope = 3.0 * d0
        slopes[end] = slope
    return slopes


def pchip_interpolate(x: np.ndarray, y: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Monotone piecewise-cubic Hermite interpolation (PCHIP) of ``y(x)`` at ``at``.

    Parameters
    ----------
    x : numpy.ndarray
        float64 ``(k,)``, strictly increasing, ``k >= 2``.
    y : numpy.ndarray
        float64 ``(k,)``; where ``y`` is monotone the interpolant is monotone too.
    at : numpy.ndarray
        float64, any shape, inside ``[x[0], x[-1]]``.

    Returns
    -------
    numpy.ndarray
        float64, shape of ``at``; equal to ``y`` at the nodes.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    at = np.asarray(at, dtype=np.float64)
    slopes = _pchip_slopes(x, y)
    index = np.clip(np.searchsorted(x, at, side="right") - 1, 0, x.size - 2)
    h = x[index + 1] - x[index]
    t = (at - x[index]) / h
    h00 = (1.0 + 2.0 * t) * (1.0 - t) ** 2
    h10 = t * (1.0 - t) ** 2
    h01 = t**2 * (3.0 - 2.0 * t)
    h11 = t**2 * (t - 1.0)
    return h00 * y[index] + h10 * h * slopes[index] + h01 * y[index + 1] + h11 * h * slopes[index + 1]


def _checked_table(name: str, field: str, values: object, *, length: int | None = None) -> tuple[float, ...]:
    if isinstance(values, str) or not hasattr(values, "__len__"):
        raise ConfigError(f"{field}: {values!r} is not a sequence of numbers for technology {name!r}")
    numbers = []
    items: list[object] = list(values)  # type: ignore[call-overload]
    for index, value in enumerate(items):
        number = _as_finite_float(value)
        if number is None:
            raise ConfigError(
                f"{field}[{index}]: {_format_value(value)} is not a finite number for technology {name!r}; "
                "allowed: a positive number"
            )
        if number <= 0.0:
            raise ConfigError(
                f"{field}[{index}]: {_format_number(number)} is not positive for technology {name!r}; "
                "allowed: a positive number"
            )
        numbers.append(number)
    if length is None and len(numbers) < 2:
        raise ConfigError(f"{field}: {len(numbers)} points for technology {name!r}; allowed: at least 2")
    if length is not None and len(numbers) != length:
        raise ConfigError(
            f"{field}: {len(numbers)} values for technology {name!r}; allowed: one per vdd_v point ({length})"
        )
    return tuple(numbers)


@dataclass(frozen=True, kw_only=True)
class TabulatedTechnology:
    """Supply-voltage scaling given as measured points, interpolated monotonically.

    ``delay_scale`` is interpolated by PCHIP in ``log(delay_scale)`` against ``vdd_v``, so
    between two points it never leaves their range and the curve stays monotone. The
    energy ratios come from their own columns when given, else from the assumptions
    named below. No extrapolation: supplies outside ``[min(vdd_v), max(vdd_v)]`` raise.

    Parameters
    ----------
    name : str
        Name shown in messages and results.
    description : str
        One line.
    table_vdd_v : tuple of float
        Supplies in V, strictly increasing, at least 2.
    table_delay_scale : tuple of float
        Delay ratios, positive and strictly decreasing with ``vdd_v``, exactly 1.0 at one
        point (the nominal supply).
    table_switching_energy_scale : tuple of float, optional
        Switching-energy ratios at ``vdd_v`` (default: ``(vdd_v / vdd_nominal_v) ** 2``).
    table_leakage_power_scale : tuple of float, optional
        Leakage-power ratios at ``vdd_v`` (default: ``vdd_v / vdd_nominal_v``, a
        leakage current that does not depend on the supply).
    source : str
        Where the points come from (e.g. a file name).
    """

    name: str
    description: str
    table_vdd_v: tuple[float, ...]
    table_delay_scale: tuple[float, ...]
    table_switching_energy_scale: tuple[float, ...] | None = None
    table_leakage_power_scale: tuple[float, ...] | None = None
    source: str = "user table"
    fit_error_pct: float | None = field(default=None, init=False)
    delay_model: str = field(default="table", init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip() or "\n" in self.name:
            raise ConfigError(
                f"name: {self.name!r} is not a valid technology name; allowed: a non-empty single-line string"
            )
        vdd = _checked_table(self.name, "vdd_v", self.table_vdd_v)
        object.__setattr__(self, "table_vdd_v", vdd)
        for index in range(1, len(vdd)):
            if vdd[index] <= vdd[index - 1]:
                raise ConfigError(
                    f"vdd_v[{index}]: {_format_number(vdd[index])} is not above vdd_v[{index - 1}] = "
                    f"{_format_number(vdd[index - 1])} for technology {self.name!r}; allowed: strictly increasing"
                )
        delay = _checked_table(self.name, "delay_scale", self.table_delay_scale, length=len(vdd))
        object.__setattr__(self, "table_delay_scale", delay)
        for index in range(1, len(delay)):
            if delay[index] >= delay[index - 1]:
                raise ConfigError(
                    f"delay_scale[{index}]: {_format_number(delay[index])} at {_format_number(vdd[index])} V is not "
                    f"below delay_scale[{index - 1}] = {_format_number(delay[index - 1])} at "
                    f"{_format_number(vdd[index - 1])} V for technology {self.name!r}; "
                    "allowed: strictly decreasing as vdd_v increases"
                )
        if 1.0 not in delay:
            raise ConfigError(
                f"delay_scale: no point equals 1.0 for technology {self.name!r}; "
                "allowed: exactly 1.0 at the nominal supply"
            )
        for column in ("switching_energy_scale", "leakage_power_scale"):
            values = getattr(self, f"table_{column}")
            if values is None:
                continue
            values = _checked_table(self.name, column, values, length=len(vdd))
            object.__setattr__(self, f"table_{column}", values)
            for index in range(1, len(values)):
                if values[index] <= values[index - 1]:
                    raise ConfigError(
                        f"{column}[{index}]: {_format_number(values[index])} is not above {column}[{index - 1}] = "
                        f"{_format_number(values[index - 1])} for technology {self.name!r}; "
                        "allowed: strictly increasing as vdd_v increases"
                    )

    @property
    def vdd_nominal_v(self) -> float:
        """The supply where ``delay_scale`` is 1.0, in V."""
        return self.table_vdd_v[self.table_delay_scale.index(1.0)]

    @property
    def vdd_min_v(self) -> float:
        """Lowest tabulated supply in V."""
        return self.table_vdd_v[0]

    @property
    def vdd_max_v(self) -> float:
        """Highest tabulated supply in V."""
        return self.table_vdd_v[-1]

    @property
    def vth_v(self) -> float:
        """No threshold is known: the lowest tabulated supply bounds the range instead."""
        return self.table_vdd_v[0]

    def _allowed_vdd(self) -> str:
        return f"{_format_number(self.vdd_min_v)} <= vdd_v <= {_format_number(self.vdd_max_v)}"

    def _vdd_problem(self, label: str, value: object) -> str | None:
        number = _as_finite_float(value)
        allowed = self._allowed_vdd()
        if number is None:
            return (
                f"{label}: {_format_value(value)} is not a finite number for technology {self.name!r}; "
                f"allowed: {allowed}"
            )
        if not self.vdd_min_v <= number <= self.vdd_max_v:
            return (
                f"{label}: {_format_number(number)} V is outside the table of technology {self.name!r}; "
                f"allowed: {allowed}"
            )
        return None

    def _checked(self, vdd_v: object) -> np.ndarray:
        values = np.asarray(vdd_v)
        if values.dtype.kind not in "iuf":
            if values.ndim == 0:
                raise ConfigError(self._vdd_problem("vdd_v", vdd_v) or "")
            raise ConfigError(
                f"vdd_v: array of dtype {values.dtype} is not numeric for technology {self.name!r}; "
                f"allowed: {self._allowed_vdd()}"
            )
        values = values.astype(np.float64)
        valid = np.isfinite(values) & (values >= self.vdd_min_v) & (values <= self.vdd_max_v)
        if not valid.all():
            flat_index = int(np.flatnonzero(~valid.ravel())[0])
            label = "vdd_v"
            if values.ndim:
                position = np.unravel_index(flat_index, values.shape)
                label = f"vdd_v[{', '.join(str(int(i)) for i in position)}]"
            raise ConfigError(self._vdd_problem(label, float(values.ravel()[flat_index])) or "")
        return values

    def _interpolate(self, column: tuple[float, ...], vdd_v: np.ndarray) -> np.ndarray:
        logs = pchip_interpolate(np.array(self.table_vdd_v), np.log(np.array(column)), vdd_v)
        return np.exp(logs)

    def delay_scales(self, vdd_v: np.ndarray) -> np.ndarray:
        """Delay ratios at ``vdd_v`` (any shape), float64; exactly 1.0 at the nominal point."""
        values = self._checked(vdd_v)
        scales = self._interpolate(self.table_delay_scale, values)
        return np.where(values == self.vdd_nominal_v, 1.0, scales)

    def delay_scale(self, vdd_v: float) -> float:
        """Gate delay at ``vdd_v`` divided by gate delay at the nominal supply."""
        if _as_finite_float(vdd_v) is None:
            raise ConfigError(self._vdd_problem("vdd_v", vdd_v) or "")
        return float(self.delay_scales(np.array(float(vdd_v))))

    def dynamic_energy_scale(self, vdd_v: float) -> float:
        """Switching energy ratio: the table's column, else ``(vdd_v / vdd_nominal_v) ** 2``."""
        if _as_finite_float(vdd_v) is None:
            raise ConfigError(self._vdd_problem("vdd_v", vdd_v) or "")
        values = self._checked(np.array(float(vdd_v)))
        if self.table_switching_energy_scale is None:
            return float(values / self.vdd_nominal_v) ** 2
        return float(self._interpolate(self.table_switching_energy_scale, values))

    def switching_energy_scale(self, vdd_v: float) -> float:
        """The same as :meth:`dynamic_energy_scale`."""
        return self.dynamic_energy_scale(vdd_v)

    def leakage_power_scale(self, vdd_v: float) -> float:
        """Leakage power ratio: the table's column, else ``vdd_v / vdd_nominal_v``."""
        if _as_finite_float(vdd_v) is None:
            raise ConfigError(self._vdd_problem("vdd_v", vdd_v) or "")
        values = self._checked(np.array(float(vdd_v)))
        if self.table_leakage_power_scale is None:
            return float(values / self.vdd_nominal_v)
        return float(self._interpolate(self.table_leakage_power_scale, values))

    def leakage_scale(self, vdd_v: float) -> float:
        """Leakage current ratio: ``leakage_power_scale(vdd_v) * vdd_nominal_v / vdd_v``."""
        return self.leakage_power_scale(vdd_v) * self.vdd_nominal_v / float(vdd_v)


TechnologyModel = Technology | TabulatedTechnology
"""Anything with ``delay_scale``, ``delay_scales`` and the energy-ratio methods."""


@dataclass(frozen=True, kw_only=True)
class FitReport:
    """How well a fitted preset reproduces the SPICE data it was fitted to.

    Attributes
    ----------
    delay_model : str
        The fitted delay model.
    vdd_min_v, vdd_max_v : float
        Range of the fitted supplies in V.
    points : int
        Number of supplies.
    delay_max_error_pct, delay_rms_error_pct : float
        Largest and root-mean-square relative error in % of ``delay_scale``.
    switching_energy_max_error_pct : float
        Largest relative error in % of the switching-energy ratio.
    leakage_power_max_error_pct : float
        Largest relative error in % of the leakage-power ratio.
    """

    delay_model: str
    vdd_min_v: float
    vdd_max_v: float
    points: int
    delay_max_error_pct: float
    delay_rms_error_pct: float
    switching_energy_max_error_pct: float
    leakage_power_max_error_pct: float

    def as_dict(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def _model_log_delay(
    delay_model: str, vdd_v: np.ndarray, vth_v: np.ndarray, alpha: np.ndarray, inversion_v: np.ndarray
) -> np.ndarray:
    """log(V / I_on) for broadcast parameter grids (unnormalised)."""
    overdrive = vdd_v - vth_v
    if delay_model == "alpha-power":
        return np.log(vdd_v) - alpha * np.log(overdrive)
    return np.log(vdd_v) - alpha * np.log(np.logaddexp(0.0, overdrive / (alpha * inversion_v)))


def _best_delay_parameters(
    delay_model: str,
    vdd_v: np.ndarray,
    log_ratio: np.ndarray,
    *,
    vth_high_v: float,
    slope_factor_n: float | None,
    phi_t_v: float,
) -> tuple[float, float, float]:
    """(vth_v, alpha, n) minimising the squared log-delay-ratio error on a grid refined 4 times.

    ``slope_factor_n`` fixed (alpha-power: it does not enter the delay) or None (fitted).
    """
    nominal = int(np.argmax(vdd_v))
    bounds = [(0.02, vth_high_v), _ALPHA_RANGE, _SLOPE_FACTOR_RANGE]
    if slope_factor_n is not None:
        bounds[2] = (slope_factor_n, slope_factor_n)
    low = [b[0] for b in bounds]
    high = [b[1] for b in bounds]
    best = (math.inf, 0.0, 0.0, 0.0)
    for steps in ((120, 41, 41), (25, 25, 25), (25, 25, 25), (25, 25, 25)):
        counts = [s if high[k] > low[k] else 1 for k, s in enumerate(steps)]
        vth = np.linspace(low[0], high[0], counts[0])[:, None, None, None]
        alpha = np.linspace(low[1], high[1], counts[1])[None, :, None, None]
        n = np.linspace(low[2], high[2], counts[2])[None, None, :, None]
        model = _model_log_delay(delay_model, vdd_v[None, None, None, :], vth, alpha, n * phi_t_v)
        residual = model - model[..., nominal : nominal + 1] - log_ratio
        cost = np.sum(residual**2, axis=3)
        i, j, k = np.unravel_index(int(np.nanargmin(cost)), cost.shape)
        if cost[i, j, k] < best[0]:
            best = (float(cost[i, j, k]), float(vth[i, 0, 0, 0]), float(alpha[0, j, 0, 0]), float(n[0, 0, k, 0]))
        for axis, value in enumerate(best[1:]):
            step = (high[axis] - low[axis]) / max(counts[axis] - 1, 1)
            low[axis] = max(bounds[axis][0], value - 2 * step)
            high[axis] = min(bounds[axis][1], value + 2 * step)
    return best[1], best[2], best[3]


def fit_technology(
    *,
    name: str,
    vdd_v: np.ndarray,
    delay_s: np.ndarray,
    switching_energy_j: np.ndarray,
    leakage_current_a: np.ndarray,
    slope_factor_n: float,
    temperature_k: float,
    delay_model: str = "ekv",
    source: str,
) -> tuple[Technology, FitReport]:
    """Fit a :class:`Technology` to measured delays, switching energies and leakage currents.

    The nominal supply is the largest of ``vdd_v`` and ``vdd_min_v`` the smallest. The
    delay parameters minimise the squared error of ``log(delay_scale)`` (a relative
    error) over a grid refined four times: ``vth_v``, ``alpha`` and ``slope_factor_n`` for
    EKV (``vth_v`` up to 50 mV under nominal: EKV holds below threshold too);
    ``vth_v`` (kept 5 mV under the lowest supply, where the law diverges) and ``alpha``
    for the alpha-power law, which keeps the given ``slope_factor_n``.
    ``switching_energy_exponent`` is the least-squares slope of ``log E`` against
    ``log V`` through the nominal point; ``dibl_eta`` the slope of ``log I_leak`` against
    ``V`` times ``n phi_t``, each clipped to its allowed range.

    Parameters
    ----------
    name : str
        Name of the preset.
    vdd_v : numpy.ndarray
        float64 ``(k,)`` supplies in V, ``k >= 4``, distinct.
    delay_s : numpy.ndarray
        float64 ``(k,)`` gate (e.g. FO4) delays in s.
    switching_energy_j : numpy.ndarray
        float64 ``(k,)`` switching energy per transition in J.
    leakage_current_a : numpy.ndarray
        float64 ``(k,)`` static supply current in A.
    slope_factor_n : float
        Measured subthreshold slope factor (used by the alpha-power fit only).
    temperature_k : float
        Simulation temperature in K.
    delay_model : str
        ``"ekv"`` or ``"alpha-power"``.
    source : str
        One line naming the model card and simulator.

    Returns
    -------
    (Technology, FitReport)
        The validated preset (``fit_error_pct`` = the largest delay error) and its errors.

    Raises
    ------
    ConfigError
        Fewer than 4 points, non-positive or non-finite data, or a delay that does not
        fall as the supply rises.
    """
    vdd = np.asarray(vdd_v, dtype=np.float64)
    columns = {
        "delay_s": np.asarray(delay_s, dtype=np.float64),
        "switching_energy_j": np.asarray(switching_energy_j, dtype=np.float64),
        "leakage_current_a": np.asarray(leakage_current_a, dtype=np.float64),
    }
    if vdd.ndim != 1 or vdd.size < 4 or np.unique(vdd).size != vdd.size:
        raise ConfigError(f"vdd_v: {vdd.size} points for the fit of {name!r}; allowed: at least 4 distinct supplies")
    for label, values in {"vdd_v": vdd, **columns}.items():
        if values.shape != vdd.shape or not np.all(np.isfinite(values)) or not np.all(values > 0):
            raise ConfigError(f"{label}: values for the fit of {name!r} must be {vdd.size} positive finite numbers")
    order = np.argsort(vdd)
    if np.any(np.diff(columns["delay_s"][order]) >= 0):
        raise ConfigError(f"delay_s: the delays for the fit of {name!r} do not fall as vdd_v rises")
    nominal = int(np.argmax(vdd))
    vdd_nominal = float(vdd[nominal])
    phi_t = _BOLTZMANN_J_PER_K * temperature_k / _ELEMENTARY_CHARGE_C
    ratio = columns["delay_s"] / columns["delay_s"][nominal]
    if delay_model == "alpha-power":
        vth, alpha, n = _best_delay_parameters(
            delay_model,
            vdd,
            np.log(ratio),
            vth_high_v=float(vdd.min()) - 0.005,
            slope_factor_n=float(slope_factor_n),
            phi_t_v=phi_t,
        )
    else:
        vth, alpha, n = _best_delay_parameters(
            delay_model, vdd, np.log(ratio), vth_high_v=vdd_nominal - 0.05, slope_factor_n=None, phi_t_v=phi_t
        )
    log_v = np.log(vdd / vdd_nominal)
    log_energy = np.log(columns["switching_energy_j"] / columns["switching_energy_j"][nominal])
    exponent = float(np.sum(log_v * log_energy) / np.sum(log_v**2))
    exponent = min(max(exponent, _ENERGY_EXPONENT_RANGE[0]), _ENERGY_EXPONENT_RANGE[1])
    delta_v = vdd - vdd_nominal
    log_leak = np.log(columns["leakage_current_a"] / columns["leakage_current_a"][nominal])
    eta = float(np.sum(delta_v * log_leak) / np.sum(delta_v**2)) * n * phi_t
    eta = min(max(eta, _DIBL_RANGE[0]), _DIBL_RANGE[1])
    draft = Technology(
        name=name,
        description=f"Fitted to SPICE ({source}); see docs/technology.md",
        vdd_nominal_v=vdd_nominal,
        vth_v=round(vth, 5),
        delay_model=delay_model,
        alpha=round(alpha, 5),
        slope_factor_n=round(n, 5),
        temperature_k=round(float(temperature_k), 3),
        dibl_eta=round(eta, 5),
        vdd_max_v=round(1.5 * vdd_nominal, 6),
        switching_energy_exponent=round(exponent, 5),
        source=source,
        vdd_min_v=float(vdd.min()),
    )
    delay_error = draft.delay_scales(vdd) / ratio - 1.0
    energy_error = np.array([draft.dynamic_energy_scale(float(v)) for v in vdd]) / np.exp(log_energy) - 1.0
    leak_power = np.exp(log_leak) * vdd / vdd_nominal
    leak_error = np.array([draft.leakage_power_scale(float(v)) for v in vdd]) / leak_power - 1.0
    report = FitReport(
        delay_model=delay_model,
        vdd_min_v=float(vdd.min()),
        vdd_max_v=vdd_nominal,
        points=int(vdd.size),
        delay_max_error_pct=round(float(np.max(np.abs(delay_error))) * 100, 3),
        delay_rms_error_pct=round(float(np.sqrt(np.mean(delay_error**2))) * 100, 3),
        switching_energy_max_error_pct=round(float(np.max(np.abs(energy_error))) * 100, 3),
        leakage_power_max_error_pct=round(float(np.max(np.abs(leak_error))) * 100, 3),
    )
    return dataclasses.replace(draft, fit_error_pct=report.delay_max_error_pct), report


_FORMULA_PRESETS: dict[str, Technology] = {
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
            name="ptm-32nm-hp",
            description=(
                "PTM 32 nm HP (BSIM4) at 0.9 V, EKV fitted to an ngspice FO4 inverter chain from 0.4 to 0.9 V: "
                "delay x2.67 at 0.6 V, x3.94 at 0.55 V, x6.77 at 0.5 V (fit error 0.5 %); the PE's cell delays are "
                "reasoned 28 nm-class values scaled by it (ptm-32nm-hp-cells: characterised); see docs/technology.md"
            ),
            vdd_nominal_v=0.9,
            vth_v=0.46871,
            delay_model="ekv",
            alpha=1.19572,
            slope_factor_n=1.64699,
            temperature_k=300.15,
            dibl_eta=0.26866,
            vdd_max_v=1.35,
            switching_energy_exponent=2.15626,
            source="ptm-32nm-hp.pm, ngspice-39 FO4 inverter chain",
            fit_error_pct=0.495,
            vdd_min_v=0.4,
        ),
        Technology(
            name="ptm-32nm-hp-carry",
            description=(
                "PTM 32 nm HP (BSIM4) at 0.9 V, EKV fitted to the carry delay of an ngspice mirror full-adder "
                "chain from 0.4 to 0.9 V: delay x2.90 at 0.6 V, x7.68 at 0.5 V (fit error 0.44 %); "
                "see docs/technology.md"
            ),
            vdd_nominal_v=0.9,
            vth_v=0.47443,
            delay_model="ekv",
            alpha=1.24271,
            slope_factor_n=1.66667,
            temperature_k=300.15,
            dibl_eta=0.27187,
            vdd_max_v=1.35,
            switching_energy_exponent=2.15626,
            source="ptm-32nm-hp.pm, ngspice-39 mirror full-adder carry chain",
            fit_error_pct=0.439,
            vdd_min_v=0.4,
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


@dataclass(frozen=True, kw_only=True)
class LibraryTechnology(Technology):
    """A technology whose cells come from a characterised cell library.

    The PE's delays are the library's per-pin, per-edge NLDM arcs at each supply, with
    its flip-flop setup and clock-to-Q (:func:`pe_models.pe.delay_source`); the voltage
    curve (``delay_scale``, the energy and leakage scales) is that of the formula preset
    fitted on the same model card, and the supply range the part of the curve's that the
    library's corners cover.

    Parameters
    ----------
    cell_library : pe_models.liberty.CellLibraryData
        The characterised library (any :class:`pe_models.cells.CharacterisedLibrary`).
    """

    cell_library: object = field(default=None, compare=False, repr=False)

    def as_dict(self) -> dict[str, object]:
        """Every field by name; the cell library by its name."""
        fields = super().as_dict()
        fields["cell_library"] = getattr(self.cell_library, "name", None)
        return fields


@dataclass(frozen=True, kw_only=True)
class LibertyTechnology(TabulatedTechnology):
    """A technology read from Liberty files at several voltage corners.

    The PE's delays are the library's per-pin, per-edge NLDM arcs, interpolated over VDD
    between the corners and refused outside them (:func:`pe_models.pe.delay_source`).
    The nominal supply is the highest corner; the voltage curve (``delay_scale``, used
    where one number per supply is needed: the analytic level, reports) is the library's
    FO4 delay (inverter at four of its own inputs, :meth:`pe_models.liberty.CellLibraryData.fo4_delay_ps`)
    at each corner over its value at the nominal corner; the energy ratios are the
    :class:`TabulatedTechnology` defaults.

    Parameters
    ----------
    cell_library : pe_models.liberty.CellLibraryData
        The library the files hold (not compared: the name and the table identify it).
    """

    cell_library: object = field(default=None, compare=False, repr=False)

    def as_dict(self) -> dict[str, object]:
        """Every field by name; the cell library by its name."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        fields["cell_library"] = getattr(self.cell_library, "name", None)
        return fields


def liberty_technology(paths: tuple[str, ...]) -> LibertyTechnology:
    """The technology of Liberty files at several voltage corners (``--technology a.lib,b.lib``).

    Parameters
    ----------
    paths : tuple of str
        Liberty files, one or more per corner (at least two corners); cells are mapped onto
        the PE's netlists by their Liberty ``function``.

    Raises
    ------
    ConfigError
        A file that does not read (file, line, field), fewer than two corners, or an FO4
        delay that does not fall as the supply rises.
    """
    from pe_models.liberty_files import read_liberty_corners

    library = read_liberty_corners(list(paths), name=",".join(Path(path).name for path in paths))
    corners = tuple(float(v) for v in library.vdd_v)
    if len(corners) < 2:
        raise ConfigError(
            f"technology: {paths[0]}: one voltage corner ({corners[0]:g} V); allowed: Liberty files at two or more "
            "corners (nom_voltage), interpolated between them"
        )
    fo4 = [float(library.fo4_delay_ps(v)) for v in corners]
    nominal = fo4[-1]
    return LibertyTechnology(
        name=library.name,
        description=(
            f"Liberty corners {', '.join(f'{v:g}' for v in corners)} V (per-pin, per-edge NLDM delays, "
            f"flip-flop setup and clock-to-Q; nominal {corners[-1]:g} V, the highest corner)"
        ),
        table_vdd_v=corners,
        table_delay_scale=tuple(1.0 if i == len(fo4) - 1 else d / nominal for i, d in enumerate(fo4)),
        source=library.source,
        cell_library=library,
    )


_LIBRARY_PRESETS: dict[str, tuple[str, str, str]] = {
    "ptm-32nm-hp-cells": (
        "ptm-32nm-hp",
        "ptm-32nm-hp",
        "PTM 32 nm HP (BSIM4) cells characterised by ngspice at 0.40-1.00 V (per-pin, per-edge NLDM delays, "
        "flip-flop setup and clock-to-Q); voltage curve of ptm-32nm-hp; see docs/technology.md",
    ),
}
"""Presets that are a characterised library: name -> (formula preset of the voltage curve,
shipped library, description). Built on first use (the library is read then)."""


@functools.cache
def _library_preset(name: str) -> LibraryTechnology:
    from pe_models.liberty import shipped_cell_library

    curve_name, library_name, description = _LIBRARY_PRESETS[name]
    curve = _FORMULA_PRESETS[curve_name]
    library = shipped_cell_library(library_name)
    fields = {f.name: getattr(curve, f.name) for f in dataclasses.fields(Technology)}
    low = curve.vdd_min_v if curve.vdd_min_v is not None else curve.vth_v
    fields.update(
        name=name,
        description=description,
        source=f"{curve.source}; cells: {library.source}",
        vdd_min_v=max(low, float(library.vdd_min_v)),
        vdd_max_v=min(curve.vdd_max_v, float(library.vdd_max_v)),
    )
    return LibraryTechnology(**fields, cell_library=library)


class _Presets(Mapping[str, Technology]):
    """Every preset by name; the library presets are built when first read."""

    def __getitem__(self, name: str) -> Technology:
        if name in _FORMULA_PRESETS:
            return _FORMULA_PRESETS[name]
        if name in _LIBRARY_PRESETS:
            return _library_preset(name)
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter([*_FORMULA_PRESETS, *_LIBRARY_PRESETS])

    def __len__(self) -> int:
        return len(_FORMULA_PRESETS) + len(_LIBRARY_PRESETS)

    def __contains__(self, name: object) -> bool:
        return name in _FORMULA_PRESETS or name in _LIBRARY_PRESETS


TECHNOLOGIES: Mapping[str, Technology] = _Presets()
"""Technology presets by name: formula presets (a voltage curve; the PE's reasoned cell
delays scaled by it) and characterised-library presets (:class:`LibraryTechnology`)."""

DEFAULT_TECHNOLOGY: str = "ptm-32nm-hp-cells"


def resolve_technology(technology: object) -> TechnologyModel:
    """The technology object of a preset name, or `technology` itself if it is one.

    Parameters
    ----------
    technology : str, Technology or TabulatedTechnology
        A key of :data:`TECHNOLOGIES`, Liberty files ``a.lib,b.lib,...`` at several
        voltage corners (:func:`liberty_technology`, read once per file version), or an
        already built technology.

    Returns
    -------
    Technology or TabulatedTechnology

    Raises
    ------
    ConfigError
        If a name is not a preset (the message lists them) or the value is neither.
    """
    if isinstance(technology, Technology | TabulatedTechnology):
        return technology
    files = liberty_paths(technology)
    if files is not None:
        return _cached_liberty_technology(files, tuple(_modified_ns(path) for path in files))
    return get_technology(technology)  # type: ignore[arg-type]


def liberty_paths(technology: object) -> tuple[str, ...] | None:
    """The files of a ``a.lib,b.lib,...`` technology value, or None if it is not one."""
    if not isinstance(technology, str | Path):
        return None
    parts = tuple(part.strip() for part in str(technology).split(",") if part.strip())
    if parts and all(part.lower().endswith(".lib") for part in parts):
        return parts
    return None


def _modified_ns(path: str) -> int:
    try:
        return Path(path).stat().st_mtime_ns
    except OSError:
        raise ConfigError(f"technology: {path}: no such file") from None


@functools.lru_cache(maxsize=16)
def _cached_liberty_technology(paths: tuple[str, ...], _mtimes_ns: tuple[int, ...]) -> LibertyTechnology:
    return liberty_technology(paths)


def technology_name(technology: object) -> str:
    """The name of a preset name or technology object (for results and config.json)."""
    return resolve_technology(technology).name


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
