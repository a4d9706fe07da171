"""The systolic array a layer runs on: its shape, dataflow, clock, buffers and DRAM link.

`ArrayConfig` is the one description of the hardware shared by the closed-form cycle
counts (:mod:`sim.cycles`), the tiling (:mod:`sim.mapping`) and the simulation engines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real
from typing import TypeGuard

from pe_models.errors import ConfigError

__all__ = ["DATAFLOWS", "ArrayConfig", "ArrayConfigError"]

DATAFLOWS: tuple[str, ...] = ("ws", "os", "is")
"""Weight-, output- and input-stationary, in SCALE-Sim's spelling."""


class ArrayConfigError(ConfigError):
    """An `ArrayConfig` field is invalid.

    Attributes
    ----------
    field : str
        The dataclass field, e.g. ``"rows"``.
    detail : str
        What is wrong, without the field name.
    """

    def __init__(self, field: str, detail: str) -> None:
        self.field = field
        self.detail = detail
        super().__init__(f"ArrayConfig.{field}: {detail}")


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _is_real(value: object) -> TypeGuard[Real]:
    return isinstance(value, Real) and not isinstance(value, bool)


def _positive_int(field: str, value: object) -> None:
    if not _is_int(value) or value <= 0:
        raise ArrayConfigError(field, f"expected a positive integer, got {value!r}")


def _positive_finite(field: str, value: object, unit: str) -> None:
    if not _is_real(value) or not math.isfinite(float(value)) or float(value) <= 0.0:
        raise ArrayConfigError(field, f"expected a positive finite number of {unit}, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class ArrayConfig:
    """An R x C systolic array of multiply-accumulate PEs.

    Parameters
    ----------
    rows : int
        Number of PE rows R, any positive integer.
    cols : int
        Number of PE columns C, any positive integer.
    dataflow : str
        ``"ws"`` (weights stationary: K on rows, N on columns, M streams), ``"os"``
        (outputs stationary: M on rows, N on columns, K streams) or ``"is"`` (inputs
        stationary: K on rows, M on columns, N streams). Default ``"ws"``.
    f_clk_mhz : float
        Clock frequency in MHz, used to turn cycles into time. Default 700.
    accumulator_bits : int
        Width of the partial-sum register in each PE in bits, 2..64. Default 32.
    ifmap_sram_kib, filter_sram_kib, ofmap_sram_kib : int
        Sizes of the input, filter and output scratchpads in KiB (1024 bytes), as
        SCALE-Sim's ``IfmapSramSzkB`` etc. Defaults 6144, 6144, 2048 (SCALE-Sim's
        256x256 example). They are recorded but do not change the closed-form counts.
    dram_bandwidth_words_per_cycle : float or None
        Bandwidth of the one DRAM interface in words per clock cycle (a word is
        `word_bytes` bytes), shared by reads and writes, as SCALE-Sim's ``Bandwidth``.
        ``None`` (default) means unlimited: no memory stall cycles.
    word_bytes : int
        Bytes per operand word, 1..8. Default 1 (int8).

    Raises
    ------
    ConfigError
        If a field is out of range; the message names the field and the allowed values.
    """

    rows: int
    cols: int
    dataflow: str = "ws"
    f_clk_mhz: float = 700.0
    accumulator_bits: int = 32
    ifmap_sram_kib: int = 6144
    filter_sram_kib: int = 6144
    ofmap_sram_kib: int = 2048
    dram_bandwidth_words_per_cycle: float | None = None
    word_bytes: int = 1

    def __post_init__(self) -> None:
        _positive_int("rows", self.rows)
        _positive_int("cols", self.cols)
        if not isinstance(self.dataflow, str) or self.dataflow not in DATAFLOWS:
            raise ArrayConfigError("dataflow", f"expected one of {', '.join(DATAFLOWS)}, got {self.dataflow!r}")
        _positive_finite("f_clk_mhz", self.f_clk_mhz, "MHz")
        if not _is_int(self.accumulator_bits) or not 2 <= self.accumulator_bits <= 64:
            raise ArrayConfigError(
                "accumulator_bits",
                f"expected an integer number of bits in 2..64, got {self.accumulator_bits!r}",
            )
        _positive_int("ifmap_sram_kib", self.ifmap_sram_kib)
        _positive_int("filter_sram_kib", self.filter_sram_kib)
        _positive_int("ofmap_sram_kib", self.ofmap_sram_kib)
        if self.dram_bandwidth_words_per_cycle is not None:
            _positive_finite(
                "dram_bandwidth_words_per_cycle",
                self.dram_bandwidth_words_per_cycle,
                "words per cycle (or None for unlimited)",
            )
        if not _is_int(self.word_bytes) or not 1 <= self.word_bytes <= 8:
            raise ArrayConfigError("word_bytes", f"expected an integer in 1..8, got {self.word_bytes!r}")

    @property
    def mac_units(self) -> int:
        """Number of PEs, ``rows * cols``."""
        return self.rows * self.cols

    @property
    def shape(self) -> str:
        """The array shape as ``"RxC"``."""
        return f"{self.rows}x{self.cols}"

    @property
    def clock_period_ps(self) -> float:
        """Clock period in ps, ``1e6 / f_clk_mhz``."""
        return 1.0e6 / float(self.f_clk_mhz)

    def cycles_to_us(self, cycles: int) -> float:
        """Time in microseconds taken by `cycles` clock cycles at `f_clk_mhz`."""
        return cycles / float(self.f_clk_mhz)

    def to_dict(self) -> dict[str, object]:
        """All fields as a JSON-ready dictionary (the form written to ``config.json``)."""
        return {
            "rows": self.rows,
            "cols": self.cols,
            "dataflow": self.dataflow,
            "f_clk_mhz": float(self.f_clk_mhz),
            "accumulator_bits": self.accumulator_bits,
            "ifmap_sram_kib": self.ifmap_sram_kib,
            "filter_sram_kib": self.filter_sram_kib,
            "ofmap_sram_kib": self.ofmap_sram_kib,
            "dram_bandwidth_words_per_cycle": self.dram_bandwidth_words_per_cycle,
            "word_bytes": self.word_bytes,
        }
