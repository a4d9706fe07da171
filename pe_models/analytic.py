"""Analytic level: per-bit timing-error probability from operand statistics.

For the ripple-carry adder of the registered pipeline with compound cells, sum bit i
latches ``A ^ B ^ C_k`` where ``C_k`` is the carry vector after
``k = floor((t_sample - t_sum) / t_carry)`` carry delays, started from the previous
cycle's settled carries. The carry into bit i is wrong exactly when the k bits below
it, ``i-k .. i-1``, all propagate (``a_j != b_j``) and the previous carry out of bit
``l = i-1-k`` differs from the new one; through a propagate run the new carry out of
``l`` equals the new carry into bit i. So, with the new and previous operand pairs
independent (the i.i.d. operand model)::

    P_i(k) = P(run_{i-1} >= k, c_new(l) = 1) (1 - q_l) + P(run_{i-1} >= k, c_new(l) = 0) q_l

with ``q_l = P(c(l) = 1)``, and ``P_i = 0`` for ``k >= i`` (the run reaches the
carry-in, tied to 0). The joint probabilities come from the empirical distributions
of partial sums and sign-extended products (independent of each other), computed
once per operand source for every ``(l, k)`` by sorting and binary search; after that,
each VDD costs a table lookup.

The 2-input-cell adder walks back from ``t_sample - t_xor`` in carry steps of
``t_and + t_or``; every step sees new generate signals, and only the first (oldest) one
can still see old propagate signals (when ``t_xor < t_and + t_or``). Without such a
step the formula above holds with k steps; with it, the start vector is
``G_new | P_old & (C_old << 1)`` and, by the same argument,
``P_i = P(run >= k+1, c_new(l-1) = 1) (1 - q'_l) + P(run >= k, c_new(l) = 0) q'_l`` with
``q'_l = P(p_old(l) = 1, c_old(l-1) = 1)`` (a generating bit l is never wrong). Both
are exact under the i.i.d. model. The multiplier stage
uses the static-arrival model of the chain level: product bit j is wrong when it
changes and its longest path exceeds the sampling instant.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from pe_models.chain import closed_form_delays, static_output_arrival_fs
from pe_models.errors import ConfigError
from pe_models.integers import bit_frequencies
from pe_models.kernels import compound_carry_steps
from pe_models.operands import OperandStream
from pe_models.pe import PEConfig, StageTiming

__all__ = [
    "CarryStatistics",
    "adder_bit_error_probabilities",
    "carry_statistics",
    "carry_steps",
    "product_bit_error_probabilities",
    "run_lengths_needed",
    "two_input_schedule",
]


@dataclass(frozen=True)
class CarryStatistics:
    """Carry-run statistics of the adder stage under the i.i.d. operand model.

    Attributes
    ----------
    width : int
    run_carry : ndarray, float64, shape (width, width + 1)
        ``[j, k] = P(bits j-k+1..j all propagate and carry out of j-k is 1)``.
    run : ndarray, float64, shape (width, width + 1)
        ``[j, k] = P(bits j-k+1..j all propagate)``.
    carry : ndarray, float64, shape (width,)
        ``[l] = P(carry out of bit l is 1)``.
    sum_bit : ndarray, float64, shape (width,)
        ``[i] = P(sum bit i is 1)``, estimated from 2^14 sampled pairs (used only when the
        clock is shorter than one sum delay and every changing bit is wrong).
    """

    width: int
    run_carry: np.ndarray
    run: np.ndarray
    carry: np.ndarray
    sum_bit: np.ndarray


def _distribution(values: np.ndarray, mask: int) -> tuple[np.ndarray, np.ndarray]:
    unique, counts = np.unique(np.asarray(values, dtype=np.int64).ravel() & mask, return_counts=True)
    return unique, counts / counts.sum()


def carry_statistics(
    stream: OperandStream, *, width: int = 32, steps: int | Iterable[int] | None = None
) -> CarryStatistics:
    """Tabulate the carry-run statistics of a stream's partial sums and products.

    Parameters
    ----------
    stream : OperandStream
        Its empirical distributions of partial sums ``c`` and products ``a * b`` are
        used; they are treated as independent, and consecutive MACs as independent.
    width : int
        Adder width in bits.
    steps : int or iterable of int, optional
        Tabulate only runs of these lengths (:func:`run_lengths_needed` of one operating
        point): about width/2 times faster. Default: every length.

    Returns
    -------
    CarryStatistics
    """
    mask = (1 << width) - 1
    wanted = None if steps is None else ({steps} if isinstance(steps, int) else set(steps))
    a_values, a_weights = _distribution(stream.c, mask)
    b_values, b_weights = _distribution(stream.products, mask)
    run_carry = np.zeros((width, width + 1))
    run = np.zeros((width, width + 1))
    carry = np.zeros(width)
    for low in range(width):
        low_mask = (1 << (low + 1)) - 1
        a_low = a_values & low_mask
        b_low = b_values & low_mask
        order = np.argsort(b_low, kind="stable")
        cumulative = np.concatenate([[0.0], np.cumsum(b_weights[order])])
        thresholds = (1 << (low + 1)) - a_low
        index = np.searchsorted(b_low[order], thresholds, side="left")
        carry[low] = float(np.sum(a_weights * (1.0 - cumulative[index])))
        for k in range(1, width - low):
            if wanted is not None and k not in wanted:
                continue
            mid_mask = (1 << k) - 1
            a_mid = (a_values >> (low + 1)) & mid_mask
            b_key = (((b_values >> (low + 1)) & mid_mask) << (low + 1)) | b_low
            order = np.argsort(b_key, kind="stable")
            keys = b_key[order]
            cumulative = np.concatenate([[0.0], np.cumsum(b_weights[order])])
            target = (~a_mid) & mid_mask
            start = np.searchsorted(keys, target << (low + 1), side="left")
            stop = np.searchsorted(keys, (target + 1) << (low + 1), side="left")
            with_carry = np.searchsorted(keys, (target << (low + 1)) + thresholds, side="left")
            top = low + k
            run[top, k] = float(np.sum(a_weights * (cumulative[stop] - cumulative[start])))
            run_carry[top, k] = float(np.sum(a_weights * (cumulative[stop] - cumulative[np.minimum(with_carry, stop)])))
    rng = np.random.default_rng(np.random.SeedSequence(0x5E77))
    sampled = (rng.choice(a_values, 1 << 14, p=a_weights) + rng.choice(b_values, 1 << 14, p=b_weights)) & mask
    sum_bit = bit_frequencies(sampled, width)
    return CarryStatistics(width=width, run_carry=run_carry, run=run, carry=carry, sum_bit=sum_bit)


def _require_closed_form(pe: PEConfig, timing: StageTiming) -> None:
    if closed_form_delays(pe, timing) is None:
        raise ConfigError(
            "level: the analytic level needs one delay per cell type in the adder, and this library's "
            "arcs differ by pin, edge or instance; use --level chain (Monte Carlo)"
        )


def carry_steps(pe: PEConfig, timing: StageTiming) -> int:
    """Carry steps with settled inputs before the sampling instant (-1: the old sum is latched).

    Compound cells: ``floor((t_sample - t_xor3) / t_maj3)``. 2-input cells: the steps of
    the lattice ``t_sample - t_xor2 - m (t_and2 + t_or2)`` whose propagate inputs are new
    (see :func:`two_input_schedule`).
    """
    _require_closed_form(pe, timing)
    if pe.cells == "compound":
        delays = timing.delays_fs
        return int(compound_carry_steps(timing.t_sample_fs, delays["maj3"], delays["xor3"]))
    return two_input_schedule(timing)[0]


def two_input_schedule(timing: StageTiming) -> tuple[int, bool]:
    """(carry steps from the start vector, whether the first lattice step mixes old propagates).

    The sampled carry-out vector is ``CO(x0)`` with ``x0 = t_sample - t_xor2``; going back
    in steps of ``t_and2 + t_or2`` it reaches the settled old carries below one step. The
    generate inputs of every step are new; the propagate inputs of the first (oldest)
    step are old when that step reads them before ``t_xor2``. Then the start vector is
    ``G_new | P_old & (CO_old << 1)`` and the remaining steps are all new.

    Raises
    ------
    ConfigError
        ``t_xor2 >= t_and2 + t_or2`` (more than one mixed step; use the chain level).
    """
    delays = timing.delays_fs
    step = delays["and2"] + delays["or2"]
    if delays["xor2"] >= step:
        raise ConfigError("level: the analytic 2in model needs t_xor2 < t_and2 + t_or2; use the chain level")
    x0 = timing.t_sample_fs - delays["xor2"]
    if x0 < delays["xor2"]:
        return -1, False
    if x0 < step:
        return 0, False
    count = (x0 - step) // step + 1
    oldest = x0 - count * step
    if oldest < delays["xor2"]:
        return count - 1, True
    return count, False


def run_lengths_needed(pe: PEConfig, timing: StageTiming) -> set[int]:
    """Run lengths :func:`adder_bit_error_probabilities` reads at this operating point."""
    if pe.cells == "compound":
        return {carry_steps(pe, timing)}
    steps, mixed = two_input_schedule(timing)
    return {steps, steps + 1, 1} if mixed else {steps}


def adder_bit_error_probabilities(pe: PEConfig, timing: StageTiming, statistics: CarryStatistics) -> np.ndarray:
    """P(sum bit i latched wrong) for every bit of the registered ripple-carry adder.

    Parameters
    ----------
    pe : PEConfig
        Registered pipeline with the ``rca`` adder.
    timing : StageTiming
    statistics : CarryStatistics
        From :func:`carry_statistics` with the same width.

    Returns
    -------
    ndarray, float64, shape (width,)
    """
    if pe.pipeline != "registered" or pe.adder != "rca":
        raise ConfigError(
            "level: the analytic level models the registered pipeline with the rca adder; "
            "use the chain level (Monte Carlo) for other configurations"
        )
    _require_closed_form(pe, timing)
    if statistics.width != pe.width:
        raise ValueError("statistics were tabulated for another adder width")
    width = pe.width
    if pe.cells == "compound":
        steps, mixed = carry_steps(pe, timing), False
    else:
        steps, mixed = two_input_schedule(timing)
    probabilities = np.zeros(width)
    if steps < 0:
        s = statistics.sum_bit
        return 2 * s * (1 - s)
    for bit in range(1, width):
        top = bit - 1
        if steps >= bit:
            continue
        low = top - steps
        if mixed:
            start_one = statistics.run_carry[low, 1] if low >= 1 else 0.0
            propagate_in = statistics.run_carry[top, steps + 1] if low >= 1 else 0.0
            no_carry = (statistics.run[top, steps] if steps else 1.0) - (
                statistics.run_carry[top, steps] if steps else statistics.carry[top]
            )
            probabilities[bit] = propagate_in * (1 - start_one) + no_carry * start_one
            continue
        q = statistics.carry[low]
        if steps == 0:
            p_carry = statistics.carry[top]
            probabilities[bit] = p_carry * (1 - q) + (1 - p_carry) * q
            continue
        with_carry = statistics.run_carry[top, steps]
        without_carry = statistics.run[top, steps] - with_carry
        probabilities[bit] = with_carry * (1 - q) + without_carry * q
    return probabilities


def product_bit_error_probabilities(pe: PEConfig, timing: StageTiming, stream: OperandStream) -> np.ndarray:
    """P(product bit j latched wrong) in the registered multiplier stage (static-arrival model).

    Returns
    -------
    ndarray, float64, shape (16,)
    """
    arrival = static_output_arrival_fs(
        pe.stages["multiplier"], timing.arcs_fs("multiplier"), "product", timing.launch_fs("multiplier")
    )
    products = stream.products.ravel() & 0xFFFF
    ones = bit_frequencies(products, 16)
    return np.where(arrival > timing.t_sample_fs, 2 * ones * (1 - ones), 0.0)
