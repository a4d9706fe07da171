"""Razor-style error detection of the PE accumulators, recovery policies and per-layer plans.

A :class:`Protection` names the accumulator bits that carry a Razor flip-flop (a shadow
latch sampling ``razor_window_ps`` after the main sample, with the hold-fix buffers of
:mod:`pe_models.razor`), the recovery policy and the cost of one recovery in clock cycles
(by default the stall model of :mod:`sim.recovery`). The engines
(:mod:`sim.engine`) apply it MAC by MAC: a MAC whose main and shadow samples differ on a
protected bit is *detected*; its protected bits take the shadow value (``drop``: the MAC's
contribution is skipped). Whatever is still wrong stays in the result: silent errors on
protected bits (a transition later than the window), mis-corrections (a shadow value that
is not yet the settled one) and every error on an unprotected bit. Recovery cycles, per
fold, counted by the discrete-event run:

* ``global``: the whole array stalls ``penalty_cycles`` for every cycle with a detection;
* ``column``: the detecting PE's column stalls (elastic buffers at the column's edges);
  the fold ends when its most-stalled column has drained;
* ``local``: the detecting PE replays; the bubble travels down and to the right, so the
  fold is ``penalty_cycles`` x the most detections on one monotone path of MACs longer;
* ``drop``: no stall (ThUnderVolt's TE-Drop), an accuracy effect only.

**Product register.** In the registered pipeline the multiplier stage fails too: a product
bit whose static arrival is later than the sampling instant keeps its old value. A
protected product bit (``product_mask``) has the same Razor flip-flop, shadow latch and
hold buffers as an accumulator bit (same window); a MAC whose product register's main and
shadow samples differ on a protected bit is detected, its product register takes the
shadow value and the adder stage replays the MAC with it (``drop``: the MAC is skipped);
it is recovered like an accumulator detection, once when both registers detect.

A :class:`ProtectionPlan` gives each layer its own protected bits. See
``docs/array_simulation.md``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import InitVar, dataclass, field
from numbers import Integral
from types import MappingProxyType

from pe_models.errors import ConfigError
from pe_models.netlist import PRODUCT_BITS

__all__ = [
    "RECOVERY_POLICIES",
    "STALL_SCOPES",
    "Protection",
    "ProtectionPlan",
    "format_bit_mask",
    "parse_bit_mask",
    "product_bit_mask",
    "union_mask",
]

RECOVERY_POLICIES: tuple[str, ...] = ("global", "column", "local", "drop")
"""``global``: the array stalls; ``column``: the detecting PE's column; ``local``: the
detecting PE replays; ``drop``: the detected MAC's contribution is skipped, no stall."""

STALL_SCOPES = RECOVERY_POLICIES
"""The former name of :data:`RECOVERY_POLICIES`."""

_MAX_BIT = 63


def _is_int(value: object) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def parse_bit_mask(text: str, *, width: int = 64, option: str = "protect") -> int:
    """A set of bit positions as a mask: ``"31:20"`` (inclusive range), ``"31,5"``, ``"none"``.

    Parameters
    ----------
    text : str
        Comma-separated bit numbers or ``HIGH:LOW`` ranges (either order); ``none`` or an
        empty string for no bits.
    width : int
        Bits allowed are ``0 .. width - 1``.
    option : str
        Name used in error messages.

    Returns
    -------
    int
        Bit i set when bit i is listed.

    Raises
    ------
    ConfigError
        ``protect: expected bit numbers or HIGH:LOW ranges, e.g. 31:20, got 'x'`` or
        ``protect: bit 40 is out of range; allowed: 0..31``.
    """
    if not isinstance(text, str):
        raise ConfigError(f"{option}: expected bit numbers or HIGH:LOW ranges, e.g. 31:20, got {text!r}")
    if text.strip().lower() in ("", "none"):
        return 0
    mask = 0
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?::\s*(\d+)\s*)?", part)
        if match is None:
            raise ConfigError(f"{option}: expected bit numbers or HIGH:LOW ranges, e.g. 31:20, got {text!r}")
        high = int(match.group(1))
        low = high if match.group(2) is None else int(match.group(2))
        for bit in (high, low):
            if bit >= width:
                raise ConfigError(f"{option}: bit {bit} is out of range; allowed: 0..{width - 1}")
        for bit in range(min(high, low), max(high, low) + 1):
            mask |= 1 << bit
    return mask


def product_bit_mask(value: object, *, option: str = "protect_product") -> int:
    """Protected product register bits from ``"15:13"``, ``"15,14"``, ``"none"`` or an integer mask.

    Raises
    ------
    ConfigError
        ``protect_product: bit 16 is out of range; allowed: 0..15``, or a value that is
        neither bits nor a non-negative integer mask.
    """
    if value is None or isinstance(value, str):
        return parse_bit_mask(value or "none", width=PRODUCT_BITS, option=option)
    if not _is_int(value) or value < 0:  # type: ignore[operator]
        raise ConfigError(f"{option}: expected bit numbers or HIGH:LOW ranges of bits 0..15, e.g. 15:13, got {value!r}")
    mask = int(value)  # type: ignore[call-overload]
    if mask >> PRODUCT_BITS:
        raise ConfigError(f"{option}: bit {mask.bit_length() - 1} is out of range; allowed: 0..{PRODUCT_BITS - 1}")
    return mask


def union_mask(masks: Iterable[int], start: int = 0) -> int:
    """The bits set in any of `masks` (and in `start`)."""
    union = int(start)
    for mask in masks:
        union |= int(mask)
    return union


def format_bit_mask(mask: int) -> str:
    """The inverse of :func:`parse_bit_mask`: ``0xFFF00000`` -> ``"31:20"``; ``0`` -> ``"none"``."""
    bits = [bit for bit in range(mask.bit_length()) if (mask >> bit) & 1]
    if not bits:
        return "none"
    ranges: list[tuple[int, int]] = []
    for bit in bits:
        if ranges and ranges[-1][1] == bit - 1:
            ranges[-1] = (ranges[-1][0], bit)
        else:
            ranges.append((bit, bit))
    parts = [str(low) if low == high else f"{high}:{low}" for low, high in reversed(ranges)]
    return ",".join(parts)


def _check_window(label: str, value: object) -> None:
    if value is None:
        return
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0:  # type: ignore[operator]
        raise ConfigError(f"{label}: expected a non-negative number of ps (at most the clock period), got {value!r}")


def _check_product_mask(label: str, value: object) -> None:
    if not _is_int(value) or not 0 <= value < 1 << PRODUCT_BITS:  # type: ignore[operator]
        raise ConfigError(
            f"{label}: expected an integer bit mask of product register bits 0..{PRODUCT_BITS - 1}, got {value!r}"
        )


def _check_common(owner: str, penalty_cycles: object, recovery: object, razor_window_ps: object) -> None:
    if penalty_cycles is not None and (not _is_int(penalty_cycles) or penalty_cycles < 0):  # type: ignore[operator]
        raise ConfigError(
            f"{owner}.penalty_cycles: expected a non-negative integer number of cycles, got {penalty_cycles!r}"
        )
    if recovery not in RECOVERY_POLICIES:
        raise ConfigError(f"{owner}.recovery: expected one of {', '.join(RECOVERY_POLICIES)}, got {recovery!r}")
    _check_window(f"{owner}.razor_window_ps", razor_window_ps)


@dataclass(frozen=True, kw_only=True)
class Protection:
    """Which accumulator bits are protected, how a detection is recovered and what it costs.

    Parameters
    ----------
    protected_mask : int
        Bit i set = accumulator output bit i has a Razor flip-flop whose detections are
        recovered. 0..2^64-1.
    penalty_cycles : int or None
        Clock cycles one recovery costs, >= 0; None (default): the stall model of
        :func:`sim.recovery.stall_model` for the array, the PE and the operating point.
    recovery : str
        One of :data:`RECOVERY_POLICIES` (default ``"global"``).
    razor_window_ps : float or None
        Detection window in ps: the shadow latch samples this long after the main sample.
        None: the largest feasible window (:func:`pe_models.razor.window_fs`). Checked
        against the feasible range when the PE and the clock are known.
    hardware_mask : int or None
        Bits that carry a Razor flip-flop and its hold buffers in the hardware, a superset
        of `protected_mask` (a plan's layers share the union of their masks); None: the
        protected bits. The window and the hold buffers are designed for these bits.
    product_mask : int
        Bit i set = bit i of the registered pipeline's product register has a Razor
        flip-flop whose detections are recovered. 0..0xFFFF (default 0: none).
    hardware_product_mask : int or None
        Product bits with a Razor flip-flop and hold buffers in the hardware, a superset of
        `product_mask`; None: the protected product bits.
    stall_scope : str, optional
        The former name of `recovery` (accepted when `recovery` is left at its default).

    Raises
    ------
    ConfigError
        One line naming the field and the allowed values.
    """

    protected_mask: int = 0
    penalty_cycles: int | None = None
    recovery: str = "global"
    razor_window_ps: float | None = None
    hardware_mask: int | None = None
    product_mask: int = 0
    hardware_product_mask: int | None = None
    stall_scope: InitVar[str | None] = None

    def __post_init__(self, stall_scope: str | None) -> None:
        if stall_scope is not None and self.recovery == "global":
            object.__setattr__(self, "recovery", stall_scope)
        if not _is_int(self.protected_mask) or not 0 <= self.protected_mask < 1 << (_MAX_BIT + 1):
            raise ConfigError(
                f"Protection.protected_mask: expected an integer bit mask in 0..2^64-1, got {self.protected_mask!r}"
            )
        _check_common("Protection", self.penalty_cycles, self.recovery, self.razor_window_ps)
        object.__setattr__(self, "protected_mask", int(self.protected_mask))
        if self.penalty_cycles is not None:
            object.__setattr__(self, "penalty_cycles", int(self.penalty_cycles))
        if self.hardware_mask is not None:
            ok = _is_int(self.hardware_mask) and 0 <= self.hardware_mask < 1 << (_MAX_BIT + 1)
            if not ok or self.protected_mask & ~int(self.hardware_mask):
                raise ConfigError(
                    "Protection.hardware_mask: expected an integer bit mask containing the protected bits "
                    f"{format_bit_mask(self.protected_mask)}, got {self.hardware_mask!r}"
                )
            object.__setattr__(self, "hardware_mask", int(self.hardware_mask))
        if self.razor_window_ps is not None:
            object.__setattr__(self, "razor_window_ps", float(self.razor_window_ps))
        _check_product_mask("Protection.product_mask", self.product_mask)
        object.__setattr__(self, "product_mask", int(self.product_mask))
        if self.hardware_product_mask is not None:
            _check_product_mask("Protection.hardware_product_mask", self.hardware_product_mask)
            if self.product_mask & ~int(self.hardware_product_mask):
                raise ConfigError(
                    "Protection.hardware_product_mask: expected an integer bit mask containing the protected "
                    f"product bits {format_bit_mask(self.product_mask)}, got {self.hardware_product_mask!r}"
                )
            object.__setattr__(self, "hardware_product_mask", int(self.hardware_product_mask))

    @classmethod
    def from_spec(
        cls,
        spec: str,
        *,
        penalty_cycles: int | None = None,
        recovery: str = "global",
        razor_window_ps: float | None = None,
        width: int = 64,
    ) -> Protection:
        """Build from a bit specification such as ``"31:20"`` (see :func:`parse_bit_mask`)."""
        return cls(
            protected_mask=parse_bit_mask(spec, width=width),
            penalty_cycles=penalty_cycles,
            recovery=recovery,
            razor_window_ps=razor_window_ps,
        )

    @property
    def razor_mask(self) -> int:
        """Bits with a Razor flip-flop and hold buffers in hardware (:attr:`hardware_mask` or the protected bits)."""
        return self.protected_mask if self.hardware_mask is None else self.hardware_mask

    @property
    def product_razor_mask(self) -> int:
        """Product bits with a Razor flip-flop and hold buffers in hardware."""
        return self.product_mask if self.hardware_product_mask is None else self.hardware_product_mask

    @property
    def protected_bits(self) -> tuple[int, ...]:
        """Protected accumulator bit positions, ascending."""
        return tuple(bit for bit in range(self.protected_mask.bit_length()) if (self.protected_mask >> bit) & 1)

    @property
    def razor_flops(self) -> int:
        """Razor flip-flops per PE: the protected bits of the accumulator and of the product register."""
        return self.protected_mask.bit_count() + self.product_mask.bit_count()

    def check_width(self, width: int) -> None:
        """Raise ConfigError if a protected bit lies outside an accumulator of `width` bits."""
        if self.razor_mask >> width:
            top = self.razor_mask.bit_length() - 1
            raise ConfigError(
                f"Protection.protected_mask: bit {top} is outside the {width}-bit accumulator; allowed: 0..{width - 1}"
            )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields, with the mask also written as bit ranges."""
        fields: dict[str, object] = {
            "protected_bits": format_bit_mask(self.protected_mask),
            "protected_mask": self.protected_mask,
            "penalty_cycles": self.penalty_cycles,
            "recovery": self.recovery,
            "razor_window_ps": self.razor_window_ps,
        }
        if self.hardware_mask is not None:
            fields["hardware_bits"] = format_bit_mask(self.hardware_mask)
        if self.product_mask or self.hardware_product_mask:
            fields["product_bits"] = format_bit_mask(self.product_mask)
        if self.hardware_product_mask is not None:
            fields["hardware_product_bits"] = format_bit_mask(self.hardware_product_mask)
        return fields


@dataclass(frozen=True, kw_only=True)
class ProtectionPlan:
    """Protected accumulator bits per layer, with one recovery policy, penalty and window.

    Parameters
    ----------
    layers : mapping of str to int
        Layer name -> protected bit mask.
    default_mask : int
        Protected bits of the layers not listed (0: none).
    product_layers : mapping of str to int
        Layer name -> protected product register bits (0..0xFFFF).
    default_product_mask : int
        Protected product bits of the layers `product_layers` does not list (0: none).
    recovery, penalty_cycles, razor_window_ps
        As :class:`Protection`, shared by every layer.
    model : str or None
        The model the plan was made for (checked by :meth:`check_layers` when given).
    vdd_v : float or None
        The supply voltage the plan was made for (informative).

    Raises
    ------
    ConfigError
        One line naming the field and the allowed values.
    """

    layers: Mapping[str, int] = field(default_factory=dict)
    default_mask: int = 0
    product_layers: Mapping[str, int] = field(default_factory=dict)
    default_product_mask: int = 0
    recovery: str = "global"
    penalty_cycles: int | None = None
    razor_window_ps: float | None = None
    model: str | None = None
    vdd_v: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.layers, Mapping):
            raise ConfigError(
                f"ProtectionPlan.layers: expected a mapping of layer name to bit mask, got {self.layers!r}"
            )
        for name, mask in {"<default>": self.default_mask, **self.layers}.items():
            if not isinstance(name, str) or not _is_int(mask) or not 0 <= mask < 1 << (_MAX_BIT + 1):
                raise ConfigError(
                    f"ProtectionPlan.layers: expected an integer bit mask in 0..2^64-1 for layer {name!r}, got {mask!r}"
                )
        _check_common("ProtectionPlan", self.penalty_cycles, self.recovery, self.razor_window_ps)
        object.__setattr__(self, "layers", MappingProxyType({str(k): int(v) for k, v in self.layers.items()}))
        if not isinstance(self.product_layers, Mapping):
            raise ConfigError(
                "ProtectionPlan.product_layers: expected a mapping of layer name to product bit mask, "
                f"got {self.product_layers!r}"
            )
        _check_product_mask("ProtectionPlan.default_product_mask", self.default_product_mask)
        for name, mask in self.product_layers.items():
            _check_product_mask(f"ProtectionPlan.product_layers[{name!r}]", mask)
        object.__setattr__(
            self, "product_layers", MappingProxyType({str(k): int(v) for k, v in self.product_layers.items()})
        )
        object.__setattr__(self, "default_product_mask", int(self.default_product_mask))

    def mask_for(self, layer: str) -> int:
        """Protected bits of `layer` (the default mask when the plan does not list it)."""
        return self.layers.get(layer, self.default_mask)

    def product_mask_for(self, layer: str) -> int:
        """Protected product bits of `layer` (the default product mask when the plan does not list it)."""
        return self.product_layers.get(layer, self.default_product_mask)

    @property
    def hardware_mask(self) -> int:
        """Bits with a Razor flip-flop in the hardware: the union of every layer's mask and the default."""
        return union_mask(self.layers.values(), self.default_mask)

    @property
    def hardware_product_mask(self) -> int:
        """Product bits with a Razor flip-flop in the hardware: the union of every layer's and the default."""
        return union_mask(self.product_layers.values(), self.default_product_mask)

    def protection_for(self, layer: str) -> Protection:
        """The :class:`Protection` of one layer (its Razor hardware: :attr:`hardware_mask`,
        :attr:`hardware_product_mask`)."""
        return Protection(
            protected_mask=self.mask_for(layer),
            penalty_cycles=self.penalty_cycles,
            recovery=self.recovery,
            razor_window_ps=self.razor_window_ps,
            hardware_mask=self.hardware_mask,
            product_mask=self.product_mask_for(layer),
            hardware_product_mask=self.hardware_product_mask if self.hardware_product_mask else None,
        )

    def check_layers(self, names: Iterable[str], *, model: str | None = None) -> None:
        """Raise ConfigError if the plan names a layer not in `names`, or was made for another model.

        ``plan: layer 'x' is not a layer of model 'tinymnv2'; allowed: features.0.conv, ...``
        """
        known = list(names)
        label = f"model {model!r}" if model is not None else "the model"
        if self.model is not None and model is not None and self.model != model:
            raise ConfigError(f"plan.model: the plan is for model {self.model!r}, not {model!r}; allowed: {model!r}")
        for name in (*self.layers, *self.product_layers):
            if name not in known:
                raise ConfigError(f"plan: layer {name!r} is not a layer of {label}; allowed: {', '.join(known)}")

    def check_width(self, width: int) -> None:
        """Raise ConfigError if a protected bit lies outside an accumulator of `width` bits."""
        for name, mask in {"default": self.default_mask, **self.layers}.items():
            if mask >> width:
                top = mask.bit_length() - 1
                raise ConfigError(
                    f"plan: bit {top} of layer {name!r} is outside the {width}-bit accumulator; allowed: 0..{width - 1}"
                )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields, masks written as bit ranges (product bits only when the plan has some)."""
        fields: dict[str, object] = {
            "model": self.model,
            "vdd_v": self.vdd_v,
            "recovery": self.recovery,
            "penalty_cycles": self.penalty_cycles,
            "razor_window_ps": self.razor_window_ps,
            "default": format_bit_mask(self.default_mask),
            "layers": {name: format_bit_mask(mask) for name, mask in self.layers.items()},
        }
        if self.default_product_mask or self.product_layers:
            fields["product_default"] = format_bit_mask(self.default_product_mask)
            fields["product_layers"] = {name: format_bit_mask(mask) for name, mask in self.product_layers.items()}
        return fields
