"""Can a Razor window be built? Hold buffers, paths and feasibility per output bit (:mod:`pe_models.razor`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from experiments.results import StudyResult
from pe_models.errors import ConfigError
from pe_models.netlist import PRODUCT_BITS
from pe_models.pe import stage_timing
from pe_models.razor import check_product_mask, format_bits, razor_feasibility, window_fs
from sim.protection import parse_bit_mask, product_bit_mask

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
    protect_product : str or int
        Product register bits with a Razor flip-flop (the registered pipeline's multiplier
        stage, bits 0..15), e.g. ``15:8``, ``none`` (default) or a mask; they share the window,
        and the table gets a row per product bit.
    razor_window_ps : float, "PCT%" or None
        The window in ps or as a percentage of the clock period (default: the largest
        feasible one for the protected bits of both registers). A window outside the feasible
        range is an error naming the range.
    """

    f_clk_mhz: float = 700.0
    protect: str | None = None
    protect_product: Any = "none"
    razor_window_ps: Any = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_number("f_clk_mhz", self.f_clk_mhz, unit="MHz", minimum=0.0, maximum=20000.0, open_minimum=True)
        if self.protect is not None:
            parse_bit_mask(self.protect, width=self.width, option="protect")
        check_product_mask(self.pe_config(), self.product_mask, "protect_product")
        set_field(self, "razor_window_ps", parse_razor_window(self.razor_window_ps, 1e6 / self.f_clk_mhz))
        window_fs(
            stage_timing(self.pe_config(), t_clk_ps=1e6 / self.f_clk_mhz),
            self.razor_window_ps,
            pe=self.pe_config(),
            protected_mask=self.protected_mask,
            product_mask=self.product_mask,
        )

    @property
    def protected_mask(self) -> int:
        """The protected bits as a mask."""
        if self.protect is None:
            return (1 << self.width) - 1
        return parse_bit_mask(self.protect, width=self.width, option="protect")

    @property
    def product_mask(self) -> int:
        """The protected product register bits as a mask."""
        return product_bit_mask(self.protect_product)


@dataclass(frozen=True, kw_only=True)
class RazorBitRow:
    """One output bit of a Razor-sampled register at nominal VDD.

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
    register : str
        ``accumulator`` (the adder's, or the fused MAC's, output bits) or ``product`` (the
        registered multiplier stage's; rows only with `protect_product`).
    """

    bit: int
    min_path_ps: float
    max_path_ps: float
    hold_buffers: int
    min_path_with_buffers_ps: float
    max_path_with_buffers_ps: float
    feasible: bool
    register: str = "accumulator"


@dataclass(frozen=True, kw_only=True)
class RazorResult(StudyResult[RazorBitRow, RazorConfig]):
    """Per-bit feasibility of the Razor window; totals: the window, the feasible range, the hold fix.

    The ``register`` column appears only with product rows (`protect_product`): without them
    the table is the accumulator's alone, in the columns ``bit`` .. ``feasible``.
    """

    row_type = RazorBitRow

    @property
    def columns(self) -> tuple[str, ...]:
        columns = super().columns
        if all(row.register == "accumulator" for row in self.rows):
            return tuple(column for column in columns if column != "register")
        return columns


def razor(config: RazorConfig) -> RazorResult:
    """The hold fix and feasibility of `config`'s Razor window, per output bit.

    Raises
    ------
    ConfigError
        No feasible window, or a window outside the feasible range (checked by the config).
    """
    registers = {"accumulator": config.width}
    if config.product_mask:
        registers["product"] = PRODUCT_BITS
    tables = {
        register: razor_feasibility(
            config.pe_config(),
            f_clk_mhz=config.f_clk_mhz,
            protected_mask=config.protected_mask,
            window_ps=config.razor_window_ps,
            product_mask=config.product_mask,
            register=register,
        )
        for register in registers
    }
    for register, feasibility in tables.items():
        late = [bit for bit in range(registers[register]) if not feasibility.feasible[bit]]
        if feasibility.window_range_ps is None or late:
            bit = late[-1] if late else registers[register] - 1
            name = "product bit" if register == "product" else "bit"
            raise ConfigError(
                f"f_clk_mhz: the PE misses {config.f_clk_mhz:g} MHz at nominal VDD: {name} {bit}'s longest path "
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
            register=register,
        )
        for register, feasibility in tables.items()
        for bit in range(registers[register])
    ]
    accumulator = tables["accumulator"]
    assert accumulator.window_range_ps is not None
    low, high = accumulator.window_range_ps
    protected_counts = [
        int(feasibility.hold_buffers[bit]) for feasibility in tables.values() for bit in feasibility.protected_bits
    ]
    product = tables.get("product")
    totals = {
        "window_ps": accumulator.window_ps,
        "feasible_window_min_ps": low,
        "feasible_window_max_ps": high,
        "protected_bits": format_bits(accumulator.protected_mask),
        "protected_product_bits": format_bits(config.product_mask),
        "hold_buffers_total": int(sum(int(feasibility.hold_buffers.sum()) for feasibility in tables.values())),
        "product_hold_buffers_total": 0 if product is None else int(product.hold_buffers.sum()),
        "hold_buffers_per_protected_bit": sum(protected_counts) / len(protected_counts) if protected_counts else 0.0,
        "buffer_delay_ps": accumulator.buffer_delay_ps,
        "t_hold_ps": accumulator.t_hold_ps,
        "t_clk_ps": accumulator.t_clk_ps,
        "t_sample_ps": accumulator.t_sample_ps,
        "vdd_v": config.pe_config().tech.vdd_nominal_v,
    }
    return RazorResult(config=config, rows=tuple(rows), totals=totals)


STUDY = Study(
    name="razor", config_type=RazorConfig, function=razor, summary="Razor window, hold buffers and feasibility"
)
