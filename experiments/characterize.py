"""Characterise a SPICE model card with ngspice and fit a voltage-scaling preset to it.

For each supply voltage one batch ngspice run (``ngspice -b``) simulates two circuits
on their own supplies:

- an FO4 inverter chain: six minimum inverters (W_n = 2 L, W_p = 2 W_n), each driving the
  next stage plus three copies of itself; stage 3 is on its own supply ``vdut``. Measured:
  the mean of its rising and falling propagation delays (50 % to 50 %), the charge its
  supply delivers over one full input cycle (two transitions, leakage subtracted) and
  its static supply current with the input low and high;
- a ripple-carry chain of four 28-transistor mirror full adders (A = 1, B = 0, so the
  carry propagates); measured: the carry delay per bit, between the carry outputs of
  bits 1 and 3, mean of rising and falling.

One DC sweep per device type gives the subthreshold swing (``I_d`` vs ``V_gs`` at
``|V_ds|`` = 50 mV), so the slope factor ``n`` is measured, not fitted. The fit itself is
:func:`pe_models.technology.fit_technology`; this module only runs ngspice, parses its
output and writes files.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pe_models.errors import ConfigError
from pe_models.technology import FitReport, Technology, fit_technology

__all__ = [
    "Characterization",
    "CharacterizeConfig",
    "SpiceRow",
    "characterize",
    "check_model_card",
    "find_ngspice",
    "fo4_and_adder_netlist",
    "preset_toml",
    "swing_netlist",
]

_MEASURE_LINE = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*=\s*([-+]?[0-9.]+(?:e[-+]?[0-9]+)?)", re.IGNORECASE)
_FIRST_FO4_DELAY_S = 10e-12
_HALF_PERIOD_OVER_DELAY = 40.0
_STEPS_PER_DELAY = 3.0
_SWING_VDS_V = 0.05
_TIMEOUT_S = 300.0
MODEL_CARD_DIRECTIVES = (
    ".model",
    ".param",
    ".option",
    ".options",
    ".opt",
    ".temp",
    ".subckt",
    ".ends",
    ".end",
    ".endl",
)
"""The dot-lines a model card may hold (and ``.lib SECTION``). Anything else, above all a
``.control`` block (ngspice runs its ``shell`` commands) and ``.include``/``.lib FILE`` (it
would bring in a file not checked), is refused before ngspice sees the card."""


def check_model_card(path: Path) -> None:
    """Refuse a SPICE model card that holds more than models and parameters.

    Comments, continuation lines, element lines and the directives of
    :data:`MODEL_CARD_DIRECTIVES` pass; any other dot-line is refused, so nothing in the card
    makes ngspice run a command or read another file.

    Raises
    ------
    ConfigError
        ``model_card: CARD:LINE: '.control' is not allowed in a model card; allowed: ...``,
        or the card is not a readable text file.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"model_card: {path}: cannot read it ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"model_card: {path}: not a UTF-8 text file") from None
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.strip().lower().split()
        if not words or not words[0].startswith("."):
            continue
        if words[0] in MODEL_CARD_DIRECTIVES or (words[0] == ".lib" and len(words) == 2):
            continue
        raise ConfigError(
            f"model_card: {path}:{number}: {' '.join(line.split()[:1])!r} is not allowed in a model card; "
            f"allowed: {', '.join(MODEL_CARD_DIRECTIVES)}, .lib SECTION"
        )


@dataclass(frozen=True, kw_only=True)
class CharacterizeConfig:
    """What to simulate.

    Parameters
    ----------
    model_card : pathlib.Path
        SPICE model card with ``.model nmos nmos ...`` and ``.model pmos pmos ...``.
    vdd_v : tuple of float
        Supply voltages in V; the first is the nominal supply (delay scale 1).
    name : str
        Name of the fitted preset.
    length_nm : float
        Drawn channel length in nm (minimum inverter: W_n = 2 L, W_p = 4 L).
    temperature_c : float
        Simulation temperature in degrees C.
    ngspice : str
        ngspice executable (name on PATH or a path).
    """

    model_card: Path
    vdd_v: tuple[float, ...]
    name: str = "fitted"
    length_nm: float = 32.0
    temperature_c: float = 27.0
    ngspice: str = "ngspice"

    def __post_init__(self) -> None:
        if not Path(self.model_card).is_file():
            raise ConfigError(f"model_card: {self.model_card}: no such file")
        check_model_card(Path(self.model_card))
        if len(self.vdd_v) < 4:
            raise ConfigError(
                f"vdd_v: {len(self.vdd_v)} voltages given; allowed: at least 4 (the fits have 3 parameters)"
            )
        if any(not (0.0 < v <= 2.0) for v in self.vdd_v):
            raise ConfigError(f"vdd_v: {list(self.vdd_v)} has a voltage outside (0, 2] V")
        if self.vdd_v[0] != max(self.vdd_v) or len(set(self.vdd_v)) != len(self.vdd_v):
            raise ConfigError(
                f"vdd_v: {list(self.vdd_v)}; allowed: distinct voltages starting with the nominal (largest) one"
            )
        if not 5.0 <= self.length_nm <= 1000.0:
            raise ConfigError(f"length_nm: {self.length_nm:g}; allowed: 5 to 1000 nm")
        if not -60.0 <= self.temperature_c <= 150.0:
            raise ConfigError(f"temperature_c: {self.temperature_c:g}; allowed: -60 to 150 C")


@dataclass(frozen=True, kw_only=True)
class SpiceRow:
    """Measurements at one supply voltage (SI units in the names)."""

    vdd_v: float
    fo4_delay_ps: float
    adder_carry_delay_ps: float
    switching_energy_fj: float
    leakage_current_na: float


@dataclass(frozen=True, kw_only=True)
class Characterization:
    """ngspice measurements and the preset fitted to them."""

    config: CharacterizeConfig
    rows: tuple[SpiceRow, ...]
    slope_factor_n: float
    ngspice_version: str
    technology: Technology
    report: FitReport
    alpha_power: Technology
    alpha_power_report: FitReport
    carry: Technology
    carry_report: FitReport
    netlists: dict[str, str] = field(repr=False)

    @property
    def vdd_v(self) -> np.ndarray:
        return np.array([row.vdd_v for row in self.rows])

    def column(self, name: str) -> np.ndarray:
        return np.array([getattr(row, name) for row in self.rows])


def find_ngspice(executable: str = "ngspice") -> str:
    """The ngspice executable's path; ConfigError if it is not installed."""
    path = shutil.which(executable)
    if path is None:
        raise ConfigError(
            f"ngspice: {executable!r} not found on PATH; install it (Debian/Ubuntu: apt-get install ngspice)"
        )
    return path


def _inverter_subcircuits(length_nm: float) -> str:
    ln = f"{length_nm:g}n"
    wn = f"{2 * length_nm:g}n"
    wp = f"{4 * length_nm:g}n"
    n = f"w={wn} l={ln}"
    p = f"w={wp} l={ln}"
    return f"""
.subckt inv in out vdd
mp out in vdd vdd pmos {p}
mn out in 0 0 nmos {n}
.ends
.subckt mirrorfa a b ci s co vdd
mp1 x1 a vdd vdd pmos {p}
mp2 x1 b vdd vdd pmos {p}
mp3 cob ci x1 vdd pmos {p}
mp4 x2 a vdd vdd pmos {p}
mp5 cob b x2 vdd pmos {p}
mn1 cob ci y1 0 nmos {n}
mn2 y1 a 0 0 nmos {n}
mn3 y1 b 0 0 nmos {n}
mn4 cob a y2 0 nmos {n}
mn5 y2 b 0 0 nmos {n}
mp6 x3 a vdd vdd pmos {p}
mp7 x3 b vdd vdd pmos {p}
mp8 x3 ci vdd vdd pmos {p}
mp9 sb cob x3 vdd pmos {p}
mp10 x4 a vdd vdd pmos {p}
mp11 x5 b x4 vdd pmos {p}
mp12 sb ci x5 vdd pmos {p}
mn6 sb cob y3 0 nmos {n}
mn7 y3 a 0 0 nmos {n}
mn8 y3 b 0 0 nmos {n}
mn9 y3 ci 0 0 nmos {n}
mn10 sb ci y4 0 nmos {n}
mn11 y4 b y5 0 nmos {n}
mn12 y5 a 0 0 nmos {n}
xis sb s vdd inv
xic cob co vdd inv
.ends
"""


def fo4_and_adder_netlist(card: Path, *, vdd_v: float, fo4_delay_estimate_s: float, config: CharacterizeConfig) -> str:
    """The transient netlist of one supply voltage (FO4 chain and carry chain).

    The input period is ``2 * 40`` estimated FO4 delays and the largest time step 1/3 of
    one (delays within 0.5 % of those with a 1/13 step at 0.9 V), so the circuits settle
    between edges and the delay resolution is the same fraction of the delay at every
    voltage.
    """
    half = _HALF_PERIOD_OVER_DELAY * fo4_delay_estimate_s
    edge = fo4_delay_estimate_s
    step = fo4_delay_estimate_s / _STEPS_PER_DELAY
    start = half / 4.0
    lines = [
        "* vscale characterize: FO4 inverter chain and mirror-adder carry chain",
        f'.include "{card}"',
        f".temp {config.temperature_c:g}",
        ".option reltol=1e-4",
        _inverter_subcircuits(config.length_nm),
        f"vdd vdd 0 {vdd_v:.6g}",
        f"vdut vddut 0 {vdd_v:.6g}",
        f"vfa vddfa 0 {vdd_v:.6g}",
        f"vin in 0 pulse(0 {vdd_v:.6g} {start:.6e} {edge:.6e} {edge:.6e} {half - edge:.6e} {2 * half:.6e})",
        f"vcin cin 0 pulse(0 {vdd_v:.6g} {start:.6e} {edge:.6e} {edge:.6e} {half - edge:.6e} {2 * half:.6e})",
    ]
    nodes = ["in", "n1", "n2", "n3", "n4", "n5", "n6"]
    for stage in range(6):
        supply = "vddut" if stage == 3 else "vdd"
        lines.append(f"x{stage} {nodes[stage]} {nodes[stage + 1]} {supply} inv")
        lines.append(f"xl{stage} {nodes[stage + 1]} d{stage} vdd inv m=3")
    lines.append("xlast n6 d6 vdd inv m=4")
    carries = ["cin", "c1", "c2", "c3", "c4"]
    for bit in range(4):
        lines.append(f"xfa{bit} vddfa 0 {carries[bit]} s{bit} {carries[bit + 1]} vddfa mirrorfa")
        lines.append(f"xsl{bit} s{bit} sd{bit} vddfa inv m=4")
    lines.append("xcl c4 cd vddfa inv m=4")
    half_vdd = f"{vdd_v / 2:.6g}"
    window = f"td={2 * half:.6e}"
    settle = 0.2 * half
    lines += [
        f".tran {step:.6e} {4 * half:.6e} 0 {step:.6e}",
        f".measure tran fo4_fall trig v(n3) val={half_vdd} rise=1 {window} targ v(n4) val={half_vdd} fall=1 {window}",
        f".measure tran fo4_rise trig v(n3) val={half_vdd} fall=1 {window} targ v(n4) val={half_vdd} rise=1 {window}",
        f".measure tran fa_rise trig v(c1) val={half_vdd} rise=1 {window} targ v(c3) val={half_vdd} rise=1 {window}",
        f".measure tran fa_fall trig v(c1) val={half_vdd} fall=1 {window} targ v(c3) val={half_vdd} fall=1 {window}",
        f".measure tran charge integ i(vdut) from={2 * half:.6e} to={4 * half:.6e}",
        f".measure tran leak_a avg i(vdut) from={3 * half - settle:.6e} to={3 * half:.6e}",
        f".measure tran leak_b avg i(vdut) from={4 * half - settle:.6e} to={4 * half:.6e}",
        f".measure tran out_a find v(n4) at={3 * half:.6e}",
        f".measure tran out_b find v(n4) at={4 * half - settle / 2:.6e}",
        ".end",
    ]
    return "\n".join(lines) + "\n"


def swing_netlist(card: Path, *, device: str, vmax_v: float, config: CharacterizeConfig) -> str:
    """DC sweep of |I_d| against |V_gs| at |V_ds| = 50 mV for one minimum device."""
    ln = f"{config.length_nm:g}n"
    width = f"{2 * config.length_nm:g}n"
    sign = 1 if device == "nmos" else -1
    body = "0" if device == "nmos" else "vb"
    return (
        "\n".join(
            [
                f"* vscale characterize: subthreshold swing of {device}",
                f'.include "{card}"',
                f".temp {config.temperature_c:g}",
                f"vd d 0 {sign * _SWING_VDS_V:g}",
                "vg g 0 0",
                "vb vb 0 0",
                f"m1 d g 0 {body} {device} w={width} l={ln}",
                f".dc vg 0 {sign * vmax_v:g} {sign * 0.005:g}",
                ".control",
                "run",
                "set wr_singlescale",
                f"wrdata swing_{device}.txt abs(i(vd))",
                "quit 0",
                ".endc",
                ".end",
            ]
        )
        + "\n"
    )


def _run(ngspice: str, netlist: str, directory: Path, name: str, card: Path) -> str:
    path = directory / f"{name}.sp"
    path.write_text(netlist)
    try:
        completed = subprocess.run(
            [ngspice, "-b", path.name],
            cwd=directory,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=_TIMEOUT_S,
            check=False,
            env={**os.environ, "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"},
        )
    except subprocess.TimeoutExpired:
        raise ConfigError(f"model_card: {card}: ngspice did not finish {name} within {_TIMEOUT_S:g} s") from None
    output = completed.stdout + "\n" + completed.stderr
    errors = [
        line.strip()
        for line in output.splitlines()
        if re.match(r"^\s*(error|fatal)\b", line, re.IGNORECASE) or "no circuit loaded" in line.lower()
    ]
    if completed.returncode != 0 or errors:
        reason = errors[0] if errors else f"exit status {completed.returncode}"
        raise ConfigError(f"model_card: {card}: ngspice rejected it ({reason})")
    return output


def _measurements(output: str) -> dict[str, float]:
    values = {}
    for line in output.splitlines():
        match = _MEASURE_LINE.match(line)
        if match:
            values[match.group(1).lower()] = float(match.group(2))
    return values


def _version(ngspice: str) -> str:
    completed = subprocess.run([ngspice, "-v"], capture_output=True, text=True, check=False, timeout=60)
    match = re.search(r"ngspice-?\s*([0-9][0-9.]*)", completed.stdout + completed.stderr)
    return f"ngspice-{match.group(1)}" if match else "ngspice"


def _slope_factor(directory: Path, device: str, temperature_c: float, card: Path) -> float:
    path = directory / f"swing_{device}.txt"
    if not path.is_file():
        raise ConfigError(f"model_card: {card}: ngspice rejected it (no {device} DC sweep was written)")
    data = np.loadtxt(path)
    vgs = np.abs(data[:, 0])
    current = np.abs(data[:, 1])
    log_current = np.log10(np.maximum(current, 1e-30))
    slope = np.diff(log_current) / np.diff(vgs)
    swing_v_per_decade = 1.0 / float(np.max(slope))
    phi_t = 1.380649e-23 * (temperature_c + 273.15) / 1.602176634e-19
    return swing_v_per_decade / (phi_t * math.log(10.0))


def _one_voltage(ngspice: str, card: Path, directory: Path, vdd_v: float, estimate_s: float, config) -> SpiceRow:
    for _attempt in range(4):
        netlist = fo4_and_adder_netlist(card, vdd_v=vdd_v, fo4_delay_estimate_s=estimate_s, config=config)
        values = _measurements(_run(ngspice, netlist, directory, f"chain_{vdd_v:g}", card))
        needed = ("fo4_fall", "fo4_rise", "fa_rise", "fa_fall", "charge", "leak_a", "leak_b", "out_a", "out_b")
        settled = all(k in values for k in needed) and (
            min(values["out_a"], values["out_b"]) < 0.02 * vdd_v
            and max(values["out_a"], values["out_b"]) > 0.98 * vdd_v
        )
        delay = 0.5 * (values.get("fo4_fall", math.inf) + values.get("fo4_rise", math.inf))
        if settled and delay < 2.0 * estimate_s:
            break
        estimate_s = 4.0 * estimate_s if not settled else 2.0 * delay
    else:
        raise ConfigError(f"model_card: {card}: the FO4 chain does not switch at {vdd_v:g} V")
    half = _HALF_PERIOD_OVER_DELAY * estimate_s
    leakage_a = -values["leak_a"]
    leakage_b = -values["leak_b"]
    dynamic_charge = -values["charge"] - 0.5 * (leakage_a + leakage_b) * 2.0 * half
    return SpiceRow(
        vdd_v=vdd_v,
        fo4_delay_ps=delay * 1e12,
        adder_carry_delay_ps=0.25 * (values["fa_rise"] + values["fa_fall"]) * 1e12,
        switching_energy_fj=0.5 * dynamic_charge * vdd_v * 1e15,
        leakage_current_na=0.5 * (leakage_a + leakage_b) * 1e9,
    )


def characterize(config: CharacterizeConfig, *, progress=None) -> Characterization:
    """Run ngspice over ``config.vdd_v`` and fit the EKV and alpha-power models.

    The FO4 delays give the preset (EKV) and its alpha-power alternative; the adder
    carry delays give a second EKV preset named ``<name>-carry``.

    Raises
    ------
    ConfigError
        ngspice is missing, rejects the card, or a circuit does not switch.
    """
    ngspice = find_ngspice(config.ngspice)
    card = Path(config.model_card).resolve()
    rows = []
    netlists = {}
    with tempfile.TemporaryDirectory(prefix="vscale-spice-") as name:
        directory = Path(name)
        factors = []
        for device in ("nmos", "pmos"):
            netlist = swing_netlist(card, device=device, vmax_v=config.vdd_v[0], config=config)
            netlists[f"swing_{device}"] = netlist
            _run(ngspice, netlist, directory, f"swing_{device}", card)
            factors.append(_slope_factor(directory, device, config.temperature_c, card))
        estimate = _FIRST_FO4_DELAY_S
        for vdd_v in config.vdd_v:
            row = _one_voltage(ngspice, card, directory, vdd_v, estimate, config)
            rows.append(row)
            if progress is not None:
                progress(row)
            estimate = 1.3 * row.fo4_delay_ps * 1e-12
        netlists["chain_nominal"] = fo4_and_adder_netlist(
            card, vdd_v=config.vdd_v[0], fo4_delay_estimate_s=_FIRST_FO4_DELAY_S, config=config
        )
    slope_factor_n = float(np.mean(factors))
    vdd = np.array([row.vdd_v for row in rows])
    common: dict[str, Any] = {
        "name": config.name,
        "vdd_v": vdd,
        "delay_s": np.array([row.fo4_delay_ps for row in rows]) * 1e-12,
        "switching_energy_j": np.array([row.switching_energy_fj for row in rows]) * 1e-15,
        "leakage_current_a": np.array([row.leakage_current_na for row in rows]) * 1e-9,
        "slope_factor_n": slope_factor_n,
        "temperature_k": config.temperature_c + 273.15,
        "source": f"{Path(config.model_card).name}, {_version(ngspice)} FO4 inverter chain",
    }
    technology, report = fit_technology(delay_model="ekv", **common)
    alpha_power, alpha_report = fit_technology(delay_model="alpha-power", **common)
    carry_fields: dict[str, Any] = {
        **common,
        "name": f"{config.name}-carry",
        "delay_s": np.array([row.adder_carry_delay_ps for row in rows]) * 1e-12,
        "source": f"{Path(config.model_card).name}, {_version(ngspice)} mirror full-adder carry chain",
    }
    carry, carry_report = fit_technology(delay_model="ekv", **carry_fields)
    return Characterization(
        config=config,
        rows=tuple(rows),
        slope_factor_n=slope_factor_n,
        ngspice_version=_version(ngspice),
        technology=technology,
        report=report,
        alpha_power=alpha_power,
        alpha_power_report=alpha_report,
        carry=carry,
        carry_report=carry_report,
        netlists=netlists,
    )


def preset_toml(
    technology: Technology,
    report: FitReport,
    *,
    rows: Sequence[SpiceRow] = (),
    extra: dict[str, object] | None = None,
) -> str:
    """A preset TOML that :func:`experiments.technology_files.load_technology` reads back.

    ``[fit]`` holds the fit errors (and `extra`), ``[spice]`` the measurements it was fitted
    to, and ``[technology]``, last, the preset's fields, ending with the required ``name``:
    a copy cut short at any line lacks ``name`` or the whole table, and a cut inside the last
    line leaves an unterminated string, so the reader refuses it.
    """
    lines = ["[fit]"]
    for key, value in {**report.as_dict(), **(extra or {})}.items():
        lines.append(f"{key} = {_toml_value(value)}")
    if rows:
        lines += ["", "[spice]"]
        for name in ("vdd_v", "fo4_delay_ps", "adder_carry_delay_ps", "switching_energy_fj", "leakage_current_na"):
            values = ", ".join(repr(round(float(getattr(row, name)), 6)) for row in rows)
            lines.append(f"{name} = [{values}]")
    lines += ["", "[technology]"]
    fields = technology.as_dict()
    for key, value in [*((k, v) for k, v in fields.items() if k != "name"), ("name", fields["name"])]:
        if value is None:
            continue
        lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: object) -> str:
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    raise TypeError(f"cannot write {value!r} to TOML")
