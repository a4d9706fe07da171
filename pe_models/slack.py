"""Timing slack of the adder's output, per MAC and per bit, at chain level.

Slack is ``t_sample - settle``: the latching instant ``T_clk - t_setup`` minus the time
the output (or one bit of it) last switches. Negative slack means the flip-flop latched
before the value settled: a timing error. A MAC (or bit) that does not switch has no
settle time and is not counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pe_models.chain import evaluate_chain
from pe_models.errors import ConfigError
from pe_models.operands import OperandStream
from pe_models.pe import PEConfig, StageTiming

__all__ = ["SlackAnalysis", "slack_analysis"]


@dataclass(frozen=True, kw_only=True)
class SlackAnalysis:
    """Slack histograms of one operand stream at one operating point.

    Attributes
    ----------
    t_sample_ps : float
        Latching instant ``T_clk - t_setup`` in ps.
    macs : int
        MACs evaluated (consecutive pairs of the stream).
    mac_slack_ps : ndarray, float64, shape (switching MACs,)
        Slack of every MAC whose output switched, in ps.
    edges_ps : ndarray, float64, shape (bins + 1,)
        Histogram bin edges in ps, shared by the MAC and the per-bit histograms; they
        span the MAC slacks and ``t_sample_ps`` (the slack of an output settling at 0).
    mac_counts : ndarray, int64, shape (bins,)
        Switching MACs per slack bin.
    bit_counts : ndarray, int64, shape (width, bins)
        Transitions of each accumulator bit per slack bin.
    bit_transitions : ndarray, int64, shape (width,)
        MACs in which each bit switched.
    bit_min_slack_ps, bit_median_slack_ps : ndarray, float64, shape (width,)
        Smallest and median slack of each bit's transitions in ps (NaN without transitions).
    bit_p_negative : ndarray, float64, shape (width,)
        Fraction of each bit's transitions with negative slack (denominator: that bit's
        transitions, not all MACs; 0 without transitions).
    """

    t_sample_ps: float
    macs: int
    mac_slack_ps: np.ndarray
    edges_ps: np.ndarray
    mac_counts: np.ndarray
    bit_counts: np.ndarray
    bit_transitions: np.ndarray
    bit_min_slack_ps: np.ndarray
    bit_median_slack_ps: np.ndarray
    bit_p_negative: np.ndarray


def _grid_edges(values_ps: np.ndarray, upper_ps: float, bins: int) -> np.ndarray:
    """At most about `bins` histogram edges on the time grid of the slacks, up to `upper_ps`.

    Settle times are sums of integer-femtosecond cell delays, so the slacks lie on a grid
    ``t_sample - j q``; ``q`` is the greatest common divisor of the differences between
    the distinct slacks observed. Bins are a whole number of grid steps wide and centred
    between grid points, so no bin is empty merely because no grid point falls in it.
    """
    distinct_fs = np.unique(np.round(np.asarray(values_ps) * 1000).astype(np.int64))
    quantum_fs = int(np.gcd.reduce(np.diff(distinct_fs))) if distinct_fs.size > 1 else 0
    quantum = max(quantum_fs, 1) / 1000
    low = float(distinct_fs[0]) / 1000 if distinct_fs.size else upper_ps
    high = max(float(distinct_fs[-1]) / 1000 if distinct_fs.size else upper_ps, upper_ps)
    width = quantum * max(1, math.ceil((high - low) / bins / quantum))
    start = low - quantum / 2
    count = max(1, math.ceil((high - start) / width + 1e-9))
    return start + width * np.arange(count + 1)


def slack_analysis(pe: PEConfig, timing: StageTiming, stream: OperandStream, *, bins: int = 60) -> SlackAnalysis:
    """Slack of every MAC and every bit transition over `stream`'s consecutive MACs.

    Parameters
    ----------
    pe : PEConfig
    timing : StageTiming
    stream : OperandStream
        Evaluated in its own order (:meth:`OperandStream.consecutive_pairs`): temporal
        correlation is kept.
    bins : int
        Histogram bins, >= 2.

    Raises
    ------
    ConfigError
        ``bins`` below 2.
    """
    if bins < 2:
        raise ConfigError(f"bins: expected at least 2 histogram bins, got {bins}")
    pairs = stream.consecutive_pairs()
    result = evaluate_chain(
        pe,
        timing,
        prev_a=pairs["prev_a"],
        prev_b=pairs["prev_b"],
        prev_c=pairs["prev_c"],
        a=pairs["a"],
        b=pairs["b"],
        c=pairs["c"],
        bit_settle=True,
    )
    t_sample_ps = timing.t_sample_fs / 1000
    switched = result.settle_fs > 0
    mac_slack = t_sample_ps - result.settle_fs[switched] / 1000
    bit_settle = result.bit_settle_fs
    assert bit_settle is not None
    edges = _grid_edges(mac_slack, t_sample_ps, bins)
    mac_counts, _ = np.histogram(mac_slack, bins=edges)
    width = pe.width
    bit_counts = np.zeros((width, edges.size - 1), dtype=np.int64)
    transitions = np.zeros(width, dtype=np.int64)
    minimum = np.full(width, np.nan)
    median = np.full(width, np.nan)
    negative = np.zeros(width)
    for bit in range(width):
        moved = bit_settle[:, bit] > 0
        slack = t_sample_ps - bit_settle[moved, bit] / 1000
        if slack.size:
            transitions[bit] = slack.size
            minimum[bit] = slack.min()
            median[bit] = np.median(slack)
            negative[bit] = np.mean(slack < 0)
            bit_counts[bit], _ = np.histogram(slack, bins=edges)
    return SlackAnalysis(
        t_sample_ps=t_sample_ps,
        macs=int(result.settle_fs.size),
        mac_slack_ps=mac_slack,
        edges_ps=edges,
        mac_counts=mac_counts.astype(np.int64),
        bit_counts=bit_counts,
        bit_transitions=transitions,
        bit_min_slack_ps=minimum,
        bit_median_slack_ps=median,
        bit_p_negative=negative,
    )
