"""Step 1 of the methodology: per-bit timing-error probability against supply voltage."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pe_models.analytic import adder_bit_error_probabilities, carry_statistics, product_bit_error_probabilities
from pe_models.chain import evaluate_chain
from pe_models.integers import bit_frequencies
from pe_models.operands import OperandStream
from pe_models.pe import OperatingPoint, PEConfig, stage_timing

from .output import Table, progress, subplots

__all__ = ["BitProbabilities", "bit_probabilities", "heatmap_figure", "summary_table"]


@dataclass(frozen=True)
class BitProbabilities:
    """P(bit wrong) per VDD: ``adder[v, i]`` for accumulator bits, ``product[v, j]`` for the product register."""

    vdd_v: np.ndarray
    delay_scale: np.ndarray
    adder: np.ndarray
    product: np.ndarray | None
    level: str

    def long_table(self) -> Table:
        """Accumulator bits: one row ``vdd_v, bit, p_err`` per voltage and bit."""
        return self._long(self.adder)

    def product_table(self) -> Table:
        """Product-register bits, same columns."""
        assert self.product is not None
        return self._long(self.product)

    def _long(self, probabilities: np.ndarray) -> Table:
        rows = [
            [float(v), bit, float(probabilities[i, bit])]
            for i, v in enumerate(self.vdd_v)
            for bit in range(probabilities.shape[1])
        ]
        return Table(columns=["vdd_v", "bit", "p_err"], rows=rows, float_format="{:.4g}")


def bit_probabilities(
    pe: PEConfig,
    vdds: list[float],
    f_clk_mhz: float,
    stream: OperandStream,
    *,
    level: str = "analytic",
    samples: int = 200_000,
    seed: int = 0,
) -> BitProbabilities:
    """Per-bit error probabilities at every VDD (analytic, or chain-level Monte Carlo).

    ``chain`` draws `samples` i.i.d. (previous, new) operand pairs from the stream's
    distribution; ``trace`` uses the stream's own consecutive pairs.
    """
    timings = [stage_timing(pe, operating_point=OperatingPoint(vdd_v=v, f_clk_mhz=f_clk_mhz)) for v in vdds]
    adder = np.zeros((len(vdds), pe.width))
    product = np.zeros((len(vdds), 16)) if pe.pipeline == "registered" else None
    statistics = carry_statistics(stream, width=pe.width) if level == "analytic" else None
    if level == "chain":
        pairs = stream.iid_pairs(samples, np.random.SeedSequence(seed))
    elif level == "trace":
        pairs = stream.consecutive_pairs()
    for i, timing in enumerate(progress(timings, label="VDD")):
        if level == "analytic":
            adder[i] = adder_bit_error_probabilities(pe, timing, statistics)
            if product is not None:
                product[i] = product_bit_error_probabilities(pe, timing, stream)
            continue
        result = evaluate_chain(pe, timing, **pairs)
        adder[i] = bit_frequencies(result.flip_mask, pe.width)
        if product is not None:
            product[i] = bit_frequencies(result.product_flip_mask, 16)
    return BitProbabilities(
        vdd_v=np.array(vdds),
        delay_scale=np.array([t.delay_scale for t in timings]),
        adder=adder,
        product=product,
        level=level,
    )


def summary_table(result: BitProbabilities) -> Table:
    """One row per VDD: expected wrong bits per MAC, worst bit and its probability, lowest failing bit."""
    rows = []
    for i, vdd in enumerate(result.vdd_v):
        p = result.adder[i]
        failing = np.nonzero(p > 1e-9)[0]
        rows.append(
            [
                float(vdd),
                float(result.delay_scale[i]),
                float(p.sum()),
                float(p.max()),
                int(p.argmax()) if p.max() > 0 else "-",
                int(failing.min()) if failing.size else "-",
                float(result.product[i].sum()) if result.product is not None else 0.0,
            ]
        )
    return Table(
        columns=[
            "vdd_v",
            "delay_scale",
            "wrong_bits_per_mac",
            "max_p_err",
            "worst_bit",
            "lowest_failing_bit",
            "product_wrong_bits",
        ],
        rows=rows,
    )


def heatmap_figure(result: BitProbabilities, title: str):
    from matplotlib.colors import LogNorm

    figure, axis = subplots(figsize=(8, 4.5))
    data = np.where(result.adder > 0, result.adder, np.nan)
    image = axis.imshow(
        data.T,
        aspect="auto",
        origin="lower",
        cmap="magma",
        norm=LogNorm(vmin=1e-7, vmax=1.0),
        interpolation="nearest",
        extent=(-0.5, len(result.vdd_v) - 0.5, -0.5, result.adder.shape[1] - 0.5),
    )
    axis.set_xticks(range(len(result.vdd_v)), [f"{v:.2f}" for v in result.vdd_v], rotation=45)
    axis.set_xlabel("VDD (V)")
    axis.set_ylabel("accumulator bit")
    axis.set_title(title)
    figure.colorbar(image, ax=axis, label="P(bit latched wrong)  (blank: 0)")
    return figure
