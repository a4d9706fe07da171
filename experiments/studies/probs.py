"""Step 1: the probability that each accumulator bit latches a wrong value, against supply voltage.

Three levels: ``analytic`` (carry-run statistics of i.i.d. operands,
:mod:`pe_models.analytic`), ``chain`` (chain-level Monte Carlo on i.i.d. operand pairs
drawn from the stream) and ``trace`` (chain level on the stream's own consecutive MACs,
temporal correlation kept).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from experiments.results import StudyResult
from pe_models.analytic import (
    adder_bit_error_probabilities,
    carry_statistics,
    needs_product_sign,
    product_bit_error_probabilities,
)
from pe_models.chain import evaluate_chain
from pe_models.errors import ConfigError
from pe_models.integers import bit_frequencies

from .common import (
    OperandFields,
    Progress,
    Study,
    SweepFields,
    as_config,
    check_choice,
    check_int,
    no_progress,
)

__all__ = [
    "LEVELS",
    "ProbsConfig",
    "ProbsResult",
    "ProbsRow",
    "ProbsSummaryRow",
    "plot_probs",
    "probs",
]

LEVELS: tuple[str, ...] = ("analytic", "chain", "trace")
PRODUCT_BITS = 16
STREAM_LANES = 16
STREAM_STEPS = 2048


@dataclass(frozen=True, kw_only=True)
class ProbsConfig(SweepFields, OperandFields):
    """Step-1 configuration: PE, voltage sweep, operands, level.

    Attributes
    ----------
    level : str
        ``analytic`` (carry-run statistics, i.i.d. operands; registered pipeline with the rca
        adder only), ``chain`` (chain-level Monte Carlo on i.i.d. pairs drawn from the
        operands) or ``trace`` (chain level on the operand stream's own consecutive MACs,
        temporal correlation kept).
    samples : int
        Monte Carlo MACs per voltage for ``chain``, >= 1000.
    (PE fields, ``vdd_v``, ``f_clk_mhz``: :class:`~experiments.studies.common.SweepFields`;
    ``operands``, ``array_rows``, ``seed``: :class:`~experiments.studies.common.OperandFields`.)
    """

    CHOICES: ClassVar[Mapping[str, Sequence[str]]] = {"level": LEVELS}

    level: str = "analytic"
    samples: int = 200_000

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("level", self.level, LEVELS)
        check_int("samples", self.samples, minimum=1000)
        if self.level == "analytic" and (self.pipeline != "registered" or self.adder != "rca"):
            raise ConfigError("level: analytic models the registered pipeline with the rca adder; use chain")


@dataclass(frozen=True, kw_only=True)
class ProbsRow:
    """P(bit latched wrong) of one bit at one voltage.

    Attributes
    ----------
    vdd_v : float
        Supply voltage in V.
    bit : int
        Bit position (0 = LSB).
    p_err : float
        Probability that the bit is latched wrong in one MAC (per MAC, all MACs counted).
    """

    vdd_v: float
    bit: int
    p_err: float


@dataclass(frozen=True, kw_only=True)
class ProbsSummaryRow:
    """One voltage of the sweep in brief.

    Attributes
    ----------
    vdd_v : float
        Supply voltage in V.
    delay_scale : float
        Cell delays relative to nominal VDD.
    wrong_bits_per_mac : float
        Expected wrong accumulator bits per MAC (sum of the bits' p_err).
    max_p_err : float
        Largest per-bit probability.
    worst_bit : int or str
        Bit with `max_p_err` (``-`` when no bit fails).
    lowest_failing_bit : int or str
        Lowest bit with p_err > 1e-9 (``-`` when none).
    product_wrong_bits : float
        Expected wrong product-register bits per MAC (0 for the fused pipeline).
    """

    vdd_v: float
    delay_scale: float
    wrong_bits_per_mac: float
    max_p_err: float
    worst_bit: int | str
    lowest_failing_bit: int | str
    product_wrong_bits: float


@dataclass(frozen=True, kw_only=True)
class ProbsResult(StudyResult[ProbsRow, ProbsConfig]):
    """Per-bit error probabilities; ``rows`` is the long form of the accumulator bits.

    Attributes
    ----------
    vdd_v, delay_scale : ndarray, shape (V,)
    adder : ndarray, float64, shape (V, width)
        ``adder[v, i]``: P(accumulator bit i wrong) at ``vdd_v[v]``.
    product : ndarray, float64, shape (V, 16), or None
        Product-register bits (registered pipeline only).
    operands_source : str
        Where the operands came from.
    """

    row_type = ProbsRow

    vdd_v: np.ndarray = field(compare=False)
    delay_scale: np.ndarray = field(compare=False)
    adder: np.ndarray = field(compare=False)
    product: np.ndarray | None = field(compare=False)
    operands_source: str

    def long_table(self) -> Any:
        """The accumulator rows as a table (``vdd_v, bit, p_err``)."""
        return self.table()

    @property
    def product_rows(self) -> tuple[ProbsRow, ...]:
        """Long form of the product-register bits (empty for the fused pipeline)."""
        if self.product is None:
            return ()
        return _long(self.vdd_v, self.product)

    def product_result(self) -> ProbsResult:
        """The same result with the product-register bits as its rows (for their CSV)."""
        return ProbsResult(
            config=self.config,
            rows=self.product_rows,
            totals=self.totals,
            vdd_v=self.vdd_v,
            delay_scale=self.delay_scale,
            adder=self.adder,
            product=self.product,
            operands_source=self.operands_source,
        )

    @property
    def summary(self) -> tuple[ProbsSummaryRow, ...]:
        """One row per voltage."""
        rows = []
        for i, vdd in enumerate(self.vdd_v):
            p = self.adder[i]
            failing = np.nonzero(p > 1e-9)[0]
            rows.append(
                ProbsSummaryRow(
                    vdd_v=float(vdd),
                    delay_scale=float(self.delay_scale[i]),
                    wrong_bits_per_mac=float(p.sum()),
                    max_p_err=float(p.max()),
                    worst_bit=int(p.argmax()) if p.max() > 0 else "-",
                    lowest_failing_bit=int(failing.min()) if failing.size else "-",
                    product_wrong_bits=float(self.product[i].sum()) if self.product is not None else 0.0,
                )
            )
        return tuple(rows)

    def summary_result(self) -> ProbsSummary:
        """The summary as a result of its own (table, CSV, JSON)."""
        return ProbsSummary(config=self.config, rows=self.summary, totals=self.totals)


@dataclass(frozen=True, kw_only=True)
class ProbsSummary(StudyResult[ProbsSummaryRow, ProbsConfig]):
    """Step-1 summary: one row per voltage."""

    row_type = ProbsSummaryRow


def _long(vdd_v: np.ndarray, probabilities: np.ndarray) -> tuple[ProbsRow, ...]:
    return tuple(
        ProbsRow(vdd_v=float(v), bit=bit, p_err=float(probabilities[i, bit]))
        for i, v in enumerate(vdd_v)
        for bit in range(probabilities.shape[1])
    )


def probs(config: ProbsConfig | None = None, /, *, progress: Progress = no_progress, **fields: Any) -> ProbsResult:
    """Per-bit error probabilities at every voltage of the sweep.

    Parameters
    ----------
    config : ProbsConfig, optional
        Or its fields as keyword arguments (``vdd_v=[0.9, 0.6]``, ``level="chain"`` ...).
    progress : callable
        Wraps the voltage loop (e.g. :func:`experiments.output.progress`); default: silent.

    Returns
    -------
    ProbsResult
    """
    config = as_config(ProbsConfig, config, fields)
    pe = config.pe_config()
    timings = config.timings()
    stream = config.operand_stream(lanes=STREAM_LANES, steps=STREAM_STEPS)
    count = len(timings)
    adder = np.zeros((count, pe.width))
    product = np.zeros((count, PRODUCT_BITS)) if pe.pipeline == "registered" else None
    statistics = None
    if config.level == "analytic":
        by_sign = any(needs_product_sign(pe, timing) for timing in timings)
        statistics = carry_statistics(stream, width=pe.width, by_product_sign=by_sign)
    pairs: Mapping[str, np.ndarray] = {}
    if config.level == "chain":
        pairs = stream.iid_pairs(config.samples, np.random.SeedSequence(config.seed))
    elif config.level == "trace":
        pairs = stream.consecutive_pairs()
    for i, timing in enumerate(progress(timings, label="VDD")):
        if statistics is not None:
            adder[i] = adder_bit_error_probabilities(pe, timing, statistics)
            if product is not None:
                product[i] = product_bit_error_probabilities(pe, timing, stream)
            continue
        result = evaluate_chain(
            pe,
            timing,
            prev_a=pairs["prev_a"],
            prev_b=pairs["prev_b"],
            prev_c=pairs["prev_c"],
            a=pairs["a"],
            b=pairs["b"],
            c=pairs["c"],
        )
        adder[i] = bit_frequencies(result.flip_mask, pe.width)
        if product is not None and result.product_flip_mask is not None:
            product[i] = bit_frequencies(result.product_flip_mask, PRODUCT_BITS)
    vdd_v = np.array(config.vdd_v)
    return ProbsResult(
        config=config,
        rows=_long(vdd_v, adder),
        totals={
            "voltages": count,
            "level": config.level,
            "operands": stream.source,
            **config.timing_totals(pe),
        },
        vdd_v=vdd_v,
        delay_scale=np.array([t.delay_scale for t in timings]),
        adder=adder,
        product=product,
        operands_source=stream.source,
    )


def plot_probs(result: ProbsResult, title: str | None = None) -> Any:
    """Heatmap of P(bit wrong): voltage on x, accumulator bit on y, log colour scale."""
    from matplotlib.colors import LogNorm

    from experiments.output import subplots

    config = result.config
    if title is None:
        title = (
            f"{config.cells} {config.adder} {config.pipeline}, {config.f_clk_mhz:g} MHz, "
            f"{result.operands_source} operands ({config.level})"
        )
    figure, axis = subplots(figsize=(8, 4.5))
    failing = np.nonzero((result.adder > 0).any(axis=0))[0]
    if failing.size == 0:
        axis.text(0.5, 0.5, "no accumulator bit fails at any VDD", ha="center", va="center", transform=axis.transAxes)
        axis.set_xticks(range(len(result.vdd_v)), [f"{v:.2f}" for v in result.vdd_v], rotation=45)
        axis.set_xlabel("VDD (V)")
        axis.set_title(title)
        return figure
    low_bit, high_bit = int(failing.min()), int(failing.max())
    shown = result.adder[:, low_bit : high_bit + 1]
    positive = shown[shown > 0]
    data = np.where(shown > 0, shown, np.nan)
    image = axis.imshow(
        data.T,
        aspect="auto",
        origin="lower",
        cmap="magma",
        norm=LogNorm(vmin=float(positive.min()), vmax=float(positive.max())),
        interpolation="nearest",
        extent=(-0.5, len(result.vdd_v) - 0.5, low_bit - 0.5, high_bit + 0.5),
    )
    axis.set_xticks(range(len(result.vdd_v)), [f"{v:.2f}" for v in result.vdd_v], rotation=45)
    axis.set_xlabel("VDD (V)")
    axis.set_ylabel(f"accumulator bit (bits {low_bit}..{high_bit} fail somewhere)")
    axis.set_title(title)
    figure.colorbar(image, ax=axis, label="P(bit latched wrong)  (blank: 0)")
    return figure


STUDY = Study(
    name="probs", config_type=ProbsConfig, function=probs, summary="per-bit timing-error probability vs VDD (step 1)"
)
