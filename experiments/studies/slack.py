"""Timing-slack histograms per MAC and per bit at one operating point (:mod:`pe_models.slack`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from experiments.results import StudyResult
from pe_models.errors import ConfigError
from pe_models.slack import SlackAnalysis, slack_analysis

from .common import OperandFields, Study, TimingFields, as_config, check_int

__all__ = [
    "SlackBinRow",
    "SlackBitHistogramRow",
    "SlackBitRow",
    "SlackConfig",
    "SlackResult",
    "plot_slack",
    "slack",
]

STREAM_LANES = 16
STREAM_STEPS = 4096


@dataclass(frozen=True, kw_only=True)
class SlackConfig(TimingFields, OperandFields):
    """Slack-study configuration: PE, one operating point, operands, histogram bins.

    Attributes
    ----------
    bins : int
        Histogram bins, >= 2 (default 60).
    """

    bins: int = 60

    def __post_init__(self) -> None:
        super().__post_init__()
        if check_int("bins", self.bins) < 2:
            raise ConfigError(f"bins: expected at least 2 histogram bins, got {self.bins}")


@dataclass(frozen=True, kw_only=True)
class SlackBitRow:
    """Slack of one accumulator bit's transitions.

    Attributes
    ----------
    bit : int
        Bit position (0 = LSB).
    transitions : int
        MACs in which the bit switched.
    min_slack_ps, median_slack_ps : float
        Smallest and median slack of those transitions in ps (NaN without transitions).
    p_negative : float
        Fraction of the bit's transitions with negative slack (late); the denominator is
        ``transitions``, not all MACs.
    """

    bit: int
    transitions: int
    min_slack_ps: float
    median_slack_ps: float
    p_negative: float


@dataclass(frozen=True, kw_only=True)
class SlackBinRow:
    """One bin of the per-MAC slack histogram.

    Attributes
    ----------
    slack_low_ps, slack_high_ps : float
        Bin edges in ps.
    macs : int
        Switching MACs whose output slack falls in the bin.
    """

    slack_low_ps: float
    slack_high_ps: float
    macs: int


@dataclass(frozen=True, kw_only=True)
class SlackBitHistogramRow:
    """One non-empty bin of one bit's slack histogram.

    Attributes
    ----------
    bit : int
    slack_low_ps, slack_high_ps : float
        Bin edges in ps.
    transitions : int
        Transitions of the bit with slack in the bin.
    """

    bit: int
    slack_low_ps: float
    slack_high_ps: float
    transitions: int


@dataclass(frozen=True, kw_only=True)
class SlackMacHistogram(StudyResult[SlackBinRow, SlackConfig]):
    """The per-MAC slack histogram as a result (table, CSV, JSON)."""

    row_type = SlackBinRow


@dataclass(frozen=True, kw_only=True)
class SlackBitHistogram(StudyResult[SlackBitHistogramRow, SlackConfig]):
    """The per-bit slack histograms (non-empty bins) as a result."""

    row_type = SlackBitHistogramRow


@dataclass(frozen=True, kw_only=True)
class SlackResult(StudyResult[SlackBitRow, SlackConfig]):
    """Per-bit slack statistics (``rows``) and the histograms.

    Attributes
    ----------
    analysis : SlackAnalysis
        The arrays behind the rows and histograms.
    """

    row_type = SlackBitRow

    analysis: SlackAnalysis = field(compare=False)

    def mac_histogram(self) -> SlackMacHistogram:
        """Per-MAC histogram rows."""
        a = self.analysis
        rows = tuple(
            SlackBinRow(slack_low_ps=float(a.edges_ps[i]), slack_high_ps=float(a.edges_ps[i + 1]), macs=int(count))
            for i, count in enumerate(a.mac_counts)
        )
        return SlackMacHistogram(config=self.config, rows=rows, totals=self.totals)

    def bit_histogram(self) -> SlackBitHistogram:
        """Per-bit histogram rows (non-empty bins only)."""
        a = self.analysis
        rows = tuple(
            SlackBitHistogramRow(
                bit=bit,
                slack_low_ps=float(a.edges_ps[i]),
                slack_high_ps=float(a.edges_ps[i + 1]),
                transitions=int(a.bit_counts[bit, i]),
            )
            for bit in range(a.bit_counts.shape[0])
            for i in range(a.edges_ps.size - 1)
            if a.bit_counts[bit, i]
        )
        return SlackBitHistogram(config=self.config, rows=rows, totals=self.totals)


def slack(config: SlackConfig | None = None, /, **fields: Any) -> SlackResult:
    """Slack per MAC and per bit over the operand stream in its own order.

    Parameters
    ----------
    config : SlackConfig, optional
        Or its fields as keyword arguments (``vdd_v=0.55``, ``bins=40`` ...).

    Returns
    -------
    SlackResult
    """
    config = as_config(SlackConfig, config, fields)
    timing = config.timing()
    stream = config.operand_stream(lanes=STREAM_LANES, steps=STREAM_STEPS)
    analysis = slack_analysis(config.pe_config(), timing, stream, bins=config.bins)
    rows = tuple(
        SlackBitRow(
            bit=bit,
            transitions=int(analysis.bit_transitions[bit]),
            min_slack_ps=float(analysis.bit_min_slack_ps[bit]),
            median_slack_ps=float(analysis.bit_median_slack_ps[bit]),
            p_negative=float(analysis.bit_p_negative[bit]),
        )
        for bit in range(analysis.bit_transitions.size)
    )
    totals = {
        "macs": analysis.macs,
        "switching_macs": int(analysis.mac_slack_ps.size),
        "late_macs": int(np.count_nonzero(analysis.mac_slack_ps < 0)),
        "t_clk_ps": timing.t_clk_fs / 1000,
        "t_sample_ps": analysis.t_sample_ps,
        "delay_scale": timing.delay_scale,
        "operands": stream.source,
        **config.timing_totals(config.pe_config()),
    }
    return SlackResult(config=config, rows=rows, totals=totals, analysis=analysis)


def plot_slack(result: SlackResult) -> Any:
    """Left: histogram of slack per MAC (log counts); right: per-bit slack heatmap."""
    from experiments.output import subplots

    a = result.analysis
    width = a.bit_counts.shape[0]
    figure, (left, right) = subplots(1, 2, figsize=(11, 4))
    left.hist(a.mac_slack_ps, bins=a.edges_ps, color="tab:blue")
    left.axvline(0, color="red", linestyle="--", label="late")
    left.set_xlabel("slack per MAC (ps)")
    left.set_ylabel("MACs")
    left.set_yscale("log")
    left.legend()
    image = right.imshow(
        np.log10(a.bit_counts + 1),
        aspect="auto",
        origin="lower",
        cmap="viridis",
        extent=(a.edges_ps[0], a.edges_ps[-1], -0.5, width - 0.5),
    )
    right.axvline(0, color="red", linestyle="--")
    right.set_xlabel("slack per bit transition (ps)")
    right.set_ylabel("bit")
    figure.colorbar(image, ax=right, label="log10(1 + transitions)")
    config = result.config
    point = (
        f"VDD {config.vdd_v:g} V, {config.f_clk_mhz:g} MHz"
        if getattr(config, "vdd_v", None) is not None
        else f"T_clk {config.t_clk_ps:g} ps, delay x{config.delay_scale or 1:g}"
    )
    figure.suptitle(f"timing slack at {point} (bins follow the {a.edges_ps[1] - a.edges_ps[0]:.3g} ps time grid)")
    return figure


STUDY = Study(
    name="slack", config_type=SlackConfig, function=slack, summary="timing-slack histograms per MAC and per bit"
)
