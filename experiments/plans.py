"""Per-layer protection plans: the TOML file format, read into :class:`sim.protection.ProtectionPlan`.

A plan gives each layer its own protected accumulator bits (each layer's requantisation
shift makes different bits matter), with one recovery policy, penalty and Razor window::

    model = "tinymnv2"          # optional; checked against the model it is used with
    vdd_v = 0.55                # optional
    recovery = "global"         # global | column | local | drop
    penalty_cycles = 1          # optional; default: the stall model (sim.recovery.stall_model)
    razor_window_ps = 150.0     # optional; default: the largest feasible one
    default = "none"            # protected bits of layers not listed: "HIGH:LOW", "31,5" or "none"
    product_default = "none"    # optional: protected product register bits (0..15) of layers not listed
    [layers]
    "features.1.conv" = "31:22"
    [product_layers]            # optional: protected product register bits per layer
    "features.1.conv" = "15:13"

A plan vscale writes (:func:`plan_toml`) starts with ``layer_count`` and
``product_layer_count``, the number of entries of ``[layers]`` and ``[product_layers]``,
and always has ``recovery``, ``default`` and ``product_default``: a file cut short at any
line then lacks one of them or an entry, and a cut inside a line leaves invalid TOML (every
later line is a quoted string), so the reader refuses it. A plan written by hand may leave
the counts out.

Every error is one line naming the file, the field and the allowed values.
"""

from __future__ import annotations

import math
import os
import tomllib
from pathlib import Path

from pe_models.errors import ConfigError
from sim.protection import RECOVERY_POLICIES, ProtectionPlan, format_bit_mask, parse_bit_mask

__all__ = ["PLAN_KEYS", "load_plan", "parse_plan", "plan_toml"]

PLAN_KEYS: tuple[str, ...] = (
    "model",
    "vdd_v",
    "recovery",
    "penalty_cycles",
    "razor_window_ps",
    "default",
    "layers",
    "product_default",
    "product_layers",
    "layer_count",
    "product_layer_count",
)
"""The keys a plan file may have."""

_WRITTEN_KEYS: tuple[str, ...] = ("product_layer_count", "recovery", "default", "product_default")
"""Keys every plan with ``layer_count`` has (:func:`plan_toml` writes them after it)."""


def _number(source: str, key: str, value: object, *, allowed: str) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok:
        raise ConfigError(f"{source}: {key}: expected {allowed}, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def _count(source: str, key: str, value: object, table: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"{source}: {key}: expected the number of {table} entries, an integer >= 0, got {value!r}")
    return value


def _check_complete(data: dict, source: str, end_line: int | None) -> None:
    """A plan with ``layer_count`` has every key :func:`plan_toml` writes and the entries it announces."""
    where = source if end_line is None else f"{source}:{end_line}"
    if "layer_count" not in data:
        if "product_layer_count" in data:
            raise ConfigError(f"{source}: product_layer_count: given without layer_count; allowed: both or neither")
        return
    for key in _WRITTEN_KEYS:
        if key not in data:
            raise ConfigError(
                f"{where}: the file ends before {key}, which every plan with layer_count has: it was cut short"
            )
    for table, key in (("layers", "layer_count"), ("product_layers", "product_layer_count")):
        announced = _count(source, key, data[key], f"[{table}]")
        entries = len(data.get(table, {}))
        if entries < announced:
            raise ConfigError(
                f"{where}: [{table}] has {entries} of the {announced} entries {key} announces: the file was cut "
                f"short (or entries were removed by hand: then set {key} = {entries})"
            )
        if entries > announced:
            raise ConfigError(
                f"{source}: {key}: {announced}, but [{table}] has {entries} entries; allowed: {key} = {entries}"
            )


def parse_plan(data: dict, *, source: str = "plan", width: int = 32, end_line: int | None = None) -> ProtectionPlan:
    """A :class:`~sim.protection.ProtectionPlan` from the parsed TOML table of a plan file.

    Parameters
    ----------
    data : dict
        The TOML document.
    source : str
        Name used in error messages (the file).
    width : int
        Accumulator width: protected bits must lie in ``0 .. width - 1``.
    end_line : int, optional
        The file's last line, named when the file was cut short.

    Raises
    ------
    ConfigError
        Unknown key, wrong type, unknown recovery policy, negative penalty or window, a
        bit above the accumulator width; an empty document; a plan with ``layer_count``
        that lacks a key :func:`plan_toml` writes or has another number of entries than it
        announces (a file cut short).
    """
    if not data:
        raise ConfigError(f"{source}: empty plan; expected some of {', '.join(PLAN_KEYS)}")
    for key in data:
        if key not in PLAN_KEYS:
            raise ConfigError(f"{source}: unknown key {key!r}; allowed: {', '.join(PLAN_KEYS)}")
    model = data.get("model")
    if model is not None and (not isinstance(model, str) or not model):
        raise ConfigError(f"{source}: model: expected a model name, got {model!r}")
    vdd_v = data.get("vdd_v")
    if vdd_v is not None:
        vdd_v = _number(source, "vdd_v", vdd_v, allowed="a supply voltage in V")
    recovery = data.get("recovery", "global")
    if recovery not in RECOVERY_POLICIES:
        raise ConfigError(f"{source}: recovery: expected one of {', '.join(RECOVERY_POLICIES)}, got {recovery!r}")
    penalty = data.get("penalty_cycles")
    if penalty is not None and (not isinstance(penalty, int) or isinstance(penalty, bool) or penalty < 0):
        raise ConfigError(
            f"{source}: penalty_cycles: expected a non-negative integer number of cycles, got {penalty!r}"
        )
    window = data.get("razor_window_ps")
    if window is not None:
        window = _number(source, "razor_window_ps", window, allowed="a non-negative number of ps")
        if window < 0:
            raise ConfigError(f"{source}: razor_window_ps: expected a non-negative number of ps, got {window:g}")
    default = data.get("default", "none")
    if not isinstance(default, str):
        raise ConfigError(f'{source}: default: expected bits as "HIGH:LOW", "31,5" or "none", got {default!r}')
    default_mask = parse_bit_mask(default, width=width, option=f"{source}: default")
    layers = data.get("layers", {})
    if not isinstance(layers, dict):
        raise ConfigError(f"{source}: layers: expected a table of layer name = bits, got {layers!r}")
    masks = {}
    for name, spec in layers.items():
        if not isinstance(spec, str):
            raise ConfigError(f'{source}: layers.{name}: expected bits as "HIGH:LOW", "31,5" or "none", got {spec!r}')
        masks[name] = parse_bit_mask(spec, width=width, option=f"{source}: layers.{name}")
    product_default = data.get("product_default", "none")
    if not isinstance(product_default, str):
        raise ConfigError(
            f'{source}: product_default: expected bits as "HIGH:LOW", "15,13" or "none", got {product_default!r}'
        )
    product_layers = data.get("product_layers", {})
    if not isinstance(product_layers, dict):
        raise ConfigError(
            f"{source}: product_layers: expected a table of layer name = product bits, got {product_layers!r}"
        )
    product_masks = {}
    for name, spec in product_layers.items():
        if not isinstance(spec, str):
            raise ConfigError(
                f'{source}: product_layers.{name}: expected bits as "HIGH:LOW", "15,13" or "none", got {spec!r}'
            )
        product_masks[name] = parse_bit_mask(spec, width=16, option=f"{source}: product_layers.{name}")
    _check_complete(data, source, end_line)
    return ProtectionPlan(
        layers=masks,
        default_mask=default_mask,
        product_layers=product_masks,
        default_product_mask=parse_bit_mask(product_default, width=16, option=f"{source}: product_default"),
        recovery=recovery,
        penalty_cycles=penalty,
        razor_window_ps=window,
        model=model,
        vdd_v=vdd_v,
    )


def load_plan(path: str | Path, *, width: int = 32) -> ProtectionPlan:
    """Read a plan file (TOML, see the module docstring).

    Raises
    ------
    ConfigError
        Missing or unreadable file, invalid TOML, or an invalid field (see :func:`parse_plan`).
    """
    if not isinstance(path, str | os.PathLike) or not str(path).strip():
        raise ConfigError(f"plan: expected the path of a TOML plan file, got {path!r}")
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise ConfigError(f"{path}: not a readable protection plan (TOML)") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {str(error).splitlines()[0]}") from None
    return parse_plan(data, source=str(path), width=width, end_line=len(text.splitlines()))


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def plan_toml(plan: ProtectionPlan) -> str:
    """The text of a plan file that :func:`load_plan` reads back as `plan`.

    It starts with ``layer_count`` and ``product_layer_count`` and ends with quoted strings,
    so that a copy cut short anywhere is refused (see the module docstring).
    """
    lines = [f"layer_count = {len(plan.layers)}", f"product_layer_count = {len(plan.product_layers)}"]
    if plan.model is not None:
        lines.append(f"model = {_toml_string(plan.model)}")
    if plan.vdd_v is not None:
        lines.append(f"vdd_v = {plan.vdd_v!r}")
    lines.append(f"recovery = {_toml_string(plan.recovery)}")
    if plan.penalty_cycles is not None:
        lines.append(f"penalty_cycles = {plan.penalty_cycles}")
    if plan.razor_window_ps is not None:
        lines.append(f"razor_window_ps = {plan.razor_window_ps!r}")
    lines.append(f"default = {_toml_string(format_bit_mask(plan.default_mask))}")
    lines.append(f"product_default = {_toml_string(format_bit_mask(plan.default_product_mask))}")
    if plan.layers:
        lines.append("[layers]")
    lines += [f"{_toml_string(name)} = {_toml_string(format_bit_mask(mask))}" for name, mask in plan.layers.items()]
    if plan.product_layers:
        lines.append("[product_layers]")
        products = plan.product_layers.items()
        lines += [f"{_toml_string(name)} = {_toml_string(format_bit_mask(mask))}" for name, mask in products]
    return "\n".join(lines) + "\n"
