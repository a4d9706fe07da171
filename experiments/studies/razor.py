"""Can a Razor window be built? Hold buffers, paths and feasibility per output bit (:mod:`pe_models.razor`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from experiments.results import StudyResult
from pe_models.errors import ConfigError
from pe_models.pe import stage_timing
from pe_models.razor import format_bits, razor_feasibility, window_fs
from sim.protection import parse_bit_mask

from .common import PEFields, Study, check_number, parse_razor_window, set_field

__all__ = ["RazorBitRow", "RazorConfig", "RazorResult", "razor"]


@dataclass(frozen=True, kw_only=True)
class RazorConfig(PEFields):
    """The Razor design to check: PE, design clock, protected bits, window.

    Attributes
    ----------
    f_clk_mhz : float
        Design clock in MHz (default 700); paths are checked at the technology's nominal VDD.
    protect : str, optional
        Bits with a Razor flip-flop, e.g. ``"31:8"`` (default: every accumulator bit).
    razor_window_ps : float, "PCT%" or None
        The window in ps or as a percentage of the clock period (default: the largest
        feasible one). A window outside the feasible range is an error naming the range.
    """

    f_clk_mhz: float = 700.0
    protect: str | None = None
    razor_window_ps: Any = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_number("f_clk_mhz", self.f_clk_mhz, unit="MHz", minimum=0.0, maximum=20000.0, open_minimum=True)
        if self.protect is not None:
            parse_bit_mask(self.protect, width=self.width, option="protect")
        set_field(self, "razor_window_ps", parse_razor_window(self.razor_window_ps, 1e6 / self.f_clk_mhz))
        window_fs(
            stage_timing(self.pe_config(), t_clk_ps=1e6 / self.f_clk_mhz),
            self.razor_window_ps,
            pe=self.pe_config(),
            protected_mask=self.protected_mask,
        )

    @property
    def protected_mask(self) -> int:
        """The protected bits as a mask."""
        if self.protect is None:
            return (1 << self.width) - 1
        return parse_bit_mask(self.protect, width=self.width, option="protect")


@dataclass(frozen=True, kw_only=True)
class RazorBitRow:
    """One output bit of the Razor-sampled stage at nominal VDD.

    Attributes
    ----------
    bit : int
        Bit position (0 = LSB).
    min_path_ps, max_path_ps : float
        Shortest and longest static path into the bit, ps.
    hold_buffers : int
        BUF cells between the bit and its flip-flop (0: unprotected, or hold already met).
    min_path_with_buffers_ps, max_path_with_buffers_ps : float
        The same paths through the buffers, ps.
    feasible : bool
        Hold met (protected bits) and the longest path within ``T_clk - t_setup``.
    """

    bit: int
    min_path_ps: float
    max_path_ps: float
    hold_buffers: int
    min_path_with_buffers_ps: float
    max_path_with_buffers_ps: float
    feasible: bool


@dataclass(frozen=True, kw_only=True)
class RazorResult(StudyResult[RazorBitRow, RazorConfig]):
    """Per-bit feasibility of the Razor window; totals: the window, the feasible range, the hold fix."""

    row_type = RazorBitRow


def razor(config: RazorConfig) -> RazorResult:
    """The hold fix and feasibility of `config`'s Razor window, per output bit.

    Raises
    ------
    ConfigError
        No feasible window, or a window outside the feasible range (checked by the config).
    """
    feasibility = razor_feasibility(
        config.pe_config(),
        f_clk_mhz=config.f_clk_mhz,
        protected_mask=config.protected_mask,
        window_ps=config.razor_window_ps,
    )
    late = [bit for bit in range(config.width) if not feasibility.feasible[bit]]
    if feasibility.window_range_ps is None or late:
        bit = late[-1] if late else config.width - 1
        raise ConfigError(
            f"f_clk_mhz: the PE misses {config.f_clk_mhz:g} MHz at nominal VDD: bit {bit}'s longest path "
            f"{feasibility.max_path_with_buffers_ps[bit]:g} ps exceeds T_clk - t_setup = "
            f"{feasibility.t_sample_ps:g} ps; allowed: a slower clock"
        )
    rows = [
        RazorBitRow(
            bit=bit,
            min_path_ps=float(feasibility.min_path_ps[bit]),
            max_path_ps=float(feasibility.max_path_ps[bit]),
            hold_buffers=int(feasibility.hold_buffers[bit]),
            min_path_with_buffers_ps=float(feasibility.min_path_with_buffers_ps[bit]),
            max_path_with_buffers_ps=float(feasibility.max_path_with_buffers_ps[bit]),
            feasible=bool(feasibility.feasible[bit]),
        )
        for bit in range(config.width)
    ]
    low, high = feasibility.window_range_ps
    totals = {
        "window_ps": feasibility.window_ps,
        "feasible_window_min_ps": low,
        "feasible_window_max_ps": high,
        "protected_bits": format_bits(feasibility.protected_mask),
        "hold_buffers_total": int(feasibility.hold_buffers.sum()),
        "hold_buffers_per_protected_bit": feasibility.buffers_per_protected_bit,
        "buffer_delay_ps": feasibility.buffer_delay_ps,
        "t_hold_ps": feasibility.t_hold_ps,
        "t_clk_ps": feasibility.t_clk_ps,
        "t_sample_ps": feasibility.t_sample_ps,
        "vdd_v": config.pe_config().tech.vdd_nominal_v,
    }
    return RazorResult(config=config, rows=tuple(rows), totals=totals)


STUDY = Study(
    name="razor", config_type=RazorConfig, function=razor, summary="Razor window, hold buffers and feasibility"
)
