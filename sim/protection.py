"""Selective error detection and correction (EDAC, Razor-style) of the PE accumulators.

A :class:`Protection` names the accumulator bits that carry a detecting flip-flop, the
cost of one correction in clock cycles and which part of the array waits for it. The
engines (:mod:`sim.engine`) apply it MAC by MAC: a MAC whose flip mask (latched XOR
settled accumulator pattern) has a protected bit set is *detected*; it is replayed, so
the PE passes on the settled value, and the array (``global``) or the PE's column
(``column``) stalls `penalty_cycles` cycles for every clock cycle in which at least one
detection occurred. Flips on unprotected bits of a MAC that is not detected stay in the
result. See ``docs/array_simulation.md`` for how column stalls make up the latency.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from numbers import Integral

from pe_models.errors import ConfigError

__all__ = ["STALL_SCOPES", "Protection", "format_bit_mask", "parse_bit_mask"]

STALL_SCOPES: tuple[str, ...] = ("global", "column")
"""``global``: the whole array waits; ``column``: only the column of the detecting PE."""

_MAX_BIT = 63


def _is_int(value: object) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def parse_bit_mask(text: str, *, width: int = 64, option: str = "--protect") -> int:
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
        ``--protect: expected bit numbers or HIGH:LOW ranges, e.g. 31:20, got 'x'`` or
        ``--protect: bit 40 is out of range; allowed: 0..31``.
    """
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


@dataclass(frozen=True, kw_only=True)
class Protection:
    """Which accumulator bits are protected, and what a correction costs.

    Parameters
    ----------
    protected_mask : int
        Bit i set = accumulator output bit i has a detecting (Razor) flip-flop. 0..2^64-1.
    penalty_cycles : int
        Clock cycles a correction (replay of the detecting MAC) costs, >= 0. Default 1.
    stall_scope : str
        ``"global"`` (default): the whole array waits `penalty_cycles` for every cycle with at
        least one detection. ``"column"``: only the detecting PE's column waits; a fold ends
        when its most-stalled column has drained.

    Raises
    ------
    ConfigError
        One line naming the field and the allowed values.
    """

    protected_mask: int = 0
    penalty_cycles: int = 1
    stall_scope: str = "global"

    def __post_init__(self) -> None:
        if not _is_int(self.protected_mask) or not 0 <= self.protected_mask < 1 << (_MAX_BIT + 1):
            raise ConfigError(
                f"Protection.protected_mask: expected an integer bit mask in 0..2^64-1, got {self.protected_mask!r}"
            )
        if not _is_int(self.penalty_cycles) or self.penalty_cycles < 0:
            raise ConfigError(
                f"Protection.penalty_cycles: expected a non-negative integer number of cycles, "
                f"got {self.penalty_cycles!r}"
            )
        if self.stall_scope not in STALL_SCOPES:
            raise ConfigError(
                f"Protection.stall_scope: expected one of {', '.join(STALL_SCOPES)}, got {self.stall_scope!r}"
            )
        object.__setattr__(self, "protected_mask", int(self.protected_mask))
        object.__setattr__(self, "penalty_cycles", int(self.penalty_cycles))

    @classmethod
    def from_spec(
        cls, spec: str, *, penalty_cycles: int = 1, stall_scope: str = "global", width: int = 64
    ) -> Protection:
        """Build from a bit specification such as ``"31:20"`` (see :func:`parse_bit_mask`)."""
        return cls(
            protected_mask=parse_bit_mask(spec, width=width), penalty_cycles=penalty_cycles, stall_scope=stall_scope
        )

    @property
    def protected_bits(self) -> tuple[int, ...]:
        """Protected bit positions, ascending."""
        return tuple(bit for bit in range(self.protected_mask.bit_length()) if (self.protected_mask >> bit) & 1)

    def check_width(self, width: int) -> None:
        """Raise ConfigError if a protected bit lies outside an accumulator of `width` bits."""
        if self.protected_mask >> width:
            top = self.protected_mask.bit_length() - 1
            raise ConfigError(
                f"Protection.protected_mask: bit {top} is outside the {width}-bit accumulator; allowed: 0..{width - 1}"
            )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields, with the mask also written as bit ranges."""
        return {
            "protected_bits": format_bit_mask(self.protected_mask),
            "protected_mask": self.protected_mask,
            "penalty_cycles": self.penalty_cycles,
            "stall_scope": self.stall_scope,
        }
