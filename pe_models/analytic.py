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

import functools
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from pe_models.arcs import input_nets, latest_arrival_fs
from pe_models.chain import closed_form_delays, static_output_arrival_fs
from pe_models.errors import ConfigError
from pe_models.integers import bit_frequencies
from pe_models.kernels import compound_carry_steps
from pe_models.netlist import PRODUCT_BITS
from pe_models.operands import OperandStream
from pe_models.pe import PEConfig, StageTiming

__all__ = [
    "CarryStatistics",
    "adder_bit_error_probabilities",
    "carry_statistics",
    "carry_steps",
    "characterised_traces",
    "needs_product_sign",
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
    product_negative : float or None
        ``P(product < 0)`` (with ``by_product_sign``).
    samples : tuple of two ndarray (int64, shape (2^14,)), or None
        In the tables conditioned on a product sign: sampled (partial sum, product) pairs,
        masked to the width, for the case where a sign change reaches the sum cells too late
        (:func:`_characterised_probabilities`).
    by_product_sign : tuple of two CarryStatistics, or None
        The same tables conditioned on a non-negative and on a negative product (the
        characterised-library model, whose product sign bit launches late); None unless
        asked for.
    """

    width: int
    run_carry: np.ndarray
    run: np.ndarray
    carry: np.ndarray
    sum_bit: np.ndarray
    product_negative: float | None = None
    samples: tuple[np.ndarray, np.ndarray] | None = None
    by_product_sign: tuple[CarryStatistics, CarryStatistics] | None = None


_SAMPLES = 1 << 14


def _distribution(values: np.ndarray, mask: int) -> tuple[np.ndarray, np.ndarray]:
    unique, counts = np.unique(np.asarray(values, dtype=np.int64).ravel() & mask, return_counts=True)
    return unique, counts / counts.sum()


def carry_statistics(
    stream: OperandStream,
    *,
    width: int = 32,
    steps: int | Iterable[int] | None = None,
    by_product_sign: bool = False,
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
    by_product_sign : bool
        Also tabulate the tables conditioned on the product's sign
        (:attr:`CarryStatistics.by_product_sign`, needed for a characterised library:
        :func:`needs_product_sign`); about twice the time.

    Returns
    -------
    CarryStatistics
    """
    mask = (1 << width) - 1
    wanted = None if steps is None else ({steps} if isinstance(steps, int) else set(steps))
    a_values, a_weights = _distribution(stream.c, mask)
    b_values, b_weights = _distribution(stream.products, mask)
    combined = _tables(a_values, a_weights, b_values, b_weights, width, wanted)
    if not by_product_sign:
        return combined
    negative = ((b_values >> (PRODUCT_BITS - 1)) & 1).astype(bool)
    halves = []
    for part in (~negative, negative):
        weights = b_weights[part]
        total = float(weights.sum())
        if total == 0.0:
            halves.append(combined)
            continue
        half = _tables(a_values, a_weights, b_values[part], weights / total, width, wanted)
        rng = np.random.default_rng(np.random.SeedSequence(0x5167))
        sampled = (rng.choice(a_values, _SAMPLES, p=a_weights), rng.choice(b_values[part], _SAMPLES, p=weights / total))
        halves.append(replace(half, samples=sampled))
    return replace(combined, product_negative=float(b_weights[negative].sum()), by_product_sign=(halves[0], halves[1]))


def _tables(
    a_values: np.ndarray,
    a_weights: np.ndarray,
    b_values: np.ndarray,
    b_weights: np.ndarray,
    width: int,
    wanted: set[int] | None,
) -> CarryStatistics:
    mask = (1 << width) - 1
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


def _check_configuration(pe: PEConfig) -> None:
    if pe.pipeline != "registered" or pe.adder != "rca":
        raise ConfigError(
            "level: the analytic level models the registered pipeline with the rca adder; "
            "use the chain level (Monte Carlo) for other configurations"
        )


def _require_closed_form(pe: PEConfig, timing: StageTiming) -> None:
    if closed_form_delays(pe, timing) is None:
        raise ConfigError(
            "level: carry steps need one delay per cell type in the adder, and this library's "
            "arcs differ by pin, edge or instance; use adder_bit_error_probabilities"
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


def needs_product_sign(pe: PEConfig, timing: StageTiming) -> bool:
    """Whether :func:`adder_bit_error_probabilities` needs ``carry_statistics(..., by_product_sign=True)``.

    True for the characterised model (arcs that differ by pin, edge or instance, or
    clock-to-Q launch times: :func:`pe_models.chain.closed_form_delays` does not hold).
    """
    _check_configuration(pe)
    return closed_form_delays(pe, timing) is None


def run_lengths_needed(pe: PEConfig, timing: StageTiming) -> set[int]:
    """Run lengths :func:`adder_bit_error_probabilities` reads at this operating point."""
    if needs_product_sign(pe, timing):
        return characterised_traces(pe, timing).run_lengths
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

    Notes
    -----
    With one delay per cell type and no clock-to-Q (the formula presets) this is the
    exact closed form of the module docstring. Otherwise (a characterised library) it is
    the per-edge trace-back model of :func:`_characterised_probabilities`, which needs
    `statistics` tabulated with ``by_product_sign=True``.
    """
    _check_configuration(pe)
    if statistics.width != pe.width:
        raise ValueError("statistics were tabulated for another adder width")
    if closed_form_delays(pe, timing) is None:
        return _characterised_probabilities(pe, timing, statistics)
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


@dataclass(frozen=True)
class _Traces:
    """The trace-back of every sum bit, carry edge and propagate value, per product-sign scenario.

    ``steps[scenario][i, v, p]``: carry steps ``k`` the trace passes (-1: it reaches the
    carry-in, never wrong); ``stale[scenario][i, v, p]``: the sum cell's own operand inputs
    arrive after the sampling instant; ``late_chain[scenario][j]``: the sign change reaches
    the carry out of sign-extended bit j only after the sampling instant. Scenarios: 0 =
    the product sign does not change, 1 = it rises, 2 = it falls.
    """

    steps: tuple[np.ndarray, ...]
    stale: tuple[np.ndarray, ...]
    late_chain: tuple[np.ndarray, ...]
    sign_bits: np.ndarray
    run_lengths: set[int]


@functools.lru_cache(maxsize=256)
def characterised_traces(pe: PEConfig, timing: StageTiming) -> _Traces:
    """Trace every sum bit's carry back through the library's arcs (see :func:`_characterised_probabilities`)."""
    netlist = pe.stages["adder"]
    arcs = timing.arcs_fs("adder")
    launch = timing.launch_fs("adder")
    width = pe.width
    compound = pe.cells == "compound"
    carry_pin = 2 if compound else 1
    driver = {cell.output: c for c, cell in enumerate(netlist.cells)}
    sum_cells, sum_nets, buffer_fs = [], [], []
    for net in netlist.outputs["sum"]:
        delay = np.zeros(2, dtype=np.int64)
        while netlist.cells[driver[net]].kind == "buf":
            delay += arcs[driver[net], 0]
            net = netlist.cells[driver[net]].inputs[0]
        sum_cells.append(driver[net])
        sum_nets.append(net)
        buffer_fs.append(delay)
    carry_nets = [netlist.cells[sum_cells[i + 1]].inputs[carry_pin] for i in range(width - 1)]
    carry_cells = [driver[net] for net in carry_nets]
    step_fs = np.zeros((width - 1, 2), dtype=np.int64)
    for j, c in enumerate(carry_cells):
        if compound:
            step_fs[j] = arcs[c, 2]
        else:
            transfer = driver.get(netlist.cells[c].inputs[1])
            step_fs[j] = arcs[c, 1] + (arcs[transfer, 1] if transfer is not None else 0)
    sign_net = netlist.inputs["product"][-1]
    sign_bits = np.array([sign_net in netlist.cells[c].inputs for c in sum_cells], dtype=bool)
    cut = set(carry_nets)
    inputs = input_nets(netlist)
    steps_by_scenario, stale_by_scenario, late_chain, lengths = [], [], [], {1}
    for scenario in range(3):
        start = np.full((netlist.n_nets, 2), -1, dtype=np.int64)
        start[inputs] = launch
        start[sign_net] = -1
        sign_only = np.full((netlist.n_nets, 2), -1, dtype=np.int64)
        if scenario:
            edge = 1 if scenario == 1 else 0
            start[sign_net, edge] = sign_only[sign_net, edge] = launch[inputs.index(sign_net), edge]
        arrival = latest_arrival_fs(netlist, arcs, start_fs=start, cut=cut)
        if scenario:
            only = latest_arrival_fs(netlist, arcs, start_fs=sign_only, cut=cut)
            late_chain.append(
                np.array(
                    [sign_bits[j + 1] and only[carry_nets[j]].max() > timing.t_sample_fs for j in range(width - 1)]
                )
            )
        else:
            late_chain.append(np.zeros(width - 1, dtype=bool))
        steps = np.full((width, 2, 2), -1, dtype=np.int64)
        stale = np.zeros((width, 2, 2), dtype=bool)
        for bit in range(width):
            for v in (0, 1):
                for p in (0, 1):
                    e = v ^ p
                    t_read = timing.t_sample_fs - int(buffer_fs[bit][e])
                    stale[bit, v, p] = arrival[sum_nets[bit], e] > t_read
                    if bit == 0:
                        continue
                    t = t_read - int(arcs[sum_cells[bit], carry_pin, e])
                    j, k = bit - 1, 0
                    while j >= 0 and t >= max(int(arrival[carry_nets[j], v]), 0):
                        t -= int(step_fs[j, v])
                        j -= 1
                        k += 1
                    if j >= 0:
                        steps[bit, v, p] = k
                        lengths.update((k, k + 1))
        steps_by_scenario.append(steps)
        stale_by_scenario.append(stale)
    return _Traces(
        steps=tuple(steps_by_scenario),
        stale=tuple(stale_by_scenario),
        late_chain=tuple(late_chain),
        sign_bits=sign_bits,
        run_lengths={k for k in lengths if k > 0},
    )


def _joint(statistics: CarryStatistics, bit: int, k: int, v: int, p: int) -> float:
    """P(bits i-k..i-1 propagate, bit i propagates iff p, carry out of bit i-1-k is v)."""
    if k == 0:
        below = statistics.carry[bit - 1]
        below_all = 1.0
    else:
        below = statistics.run_carry[bit - 1, k]
        below_all = statistics.run[bit - 1, k]
    with_bit = statistics.run_carry[bit, k + 1]
    with_bit_all = statistics.run[bit, k + 1]
    if v == 0:
        below, with_bit = below_all - below, with_bit_all - with_bit
    return float(with_bit if p else below - with_bit)


def _characterised_probabilities(pe: PEConfig, timing: StageTiming, statistics: CarryStatistics) -> np.ndarray:
    """Per-bit error probabilities of the ripple-carry adder on a characterised library.

    The closed form (module docstring) assumes every carry step takes one delay. On a
    library the carry cell's arcs differ by output edge, every input bit launches at its
    flip-flop's clock-to-Q for its edge, and the product's sign bit (which drives the 17
    sign-extended bits) launches late. The carry into sum bit ``i`` is read at
    ``t_sample - d_sum(carry pin, sum edge)``, the sum edge being the carry edge ``v``
    (new carry 1: rise) when bit i does not propagate and the other edge when it does.
    It is traced back through the propagate run below: the carry out of bit ``j`` at
    instant ``t`` is the carry out of ``j - 1`` at ``t - d_step(j, v)`` (the carry
    cell's carry-pin arc for edge v; with 2-input cells the and2 + or2 pair) as long as
    ``t`` is not earlier than the latest arrival of a v edge at that carry through the
    bit's own operand inputs (launch + arcs, carry inputs cut: the first, "generate"
    step); there the trace stops after ``k`` steps at bit ``l``, and the carry read is
    wrong exactly when bits ``l+1 .. i-1`` propagate and the old carry out of ``l``
    differs from the new one, ``v``: the closed form with per-bit, per-edge step counts.
    Reaching the carry-in (tied to 0) means no error.

    Scenarios of the product sign (old and new products independent): unchanged, rising
    or falling. Each has its own arrivals (the sign net switches only when the sign
    changes, at its clock-to-Q for that edge), and the tables are conditioned on the new
    and the old sign (:attr:`CarryStatistics.by_product_sign`). When a sum cell's own
    operand inputs arrive after the sampling instant ("stale"): in a changing-sign
    scenario on a sign-extended bit, the sum cell adds the old sign bit (see
    :func:`_stale_sign_error`); otherwise (only far below the error onset) the bit falls
    back to ``2 s (1 - s)``, the old sum latched.

    Approximations (their size against chain-level Monte Carlo is in docs/technology.md):
    the old carry pattern inside the run moves at the new carry's edge speed; an input
    bit's launch and arcs are the later of its two edges; the first step of a bit waits
    for the latest operand input whether it changes or not; a 2-input bit's first step
    does not mix old propagate signals with new carries.
    """
    split = statistics.by_product_sign
    negative = statistics.product_negative
    if split is None or negative is None:
        raise ValueError("statistics: a characterised library needs carry_statistics(..., by_product_sign=True)")
    traces = characterised_traces(pe, timing)
    width = pe.width
    probabilities = np.zeros(width)
    fallback = np.zeros(width, dtype=bool)
    sign_weight = (1.0 - negative, negative)
    for s_new in (0, 1):
        for s_old in (0, 1):
            weight = sign_weight[s_new] * sign_weight[s_old]
            if weight == 0.0:
                continue
            scenario = 0 if s_new == s_old else (1 if s_new else 2)
            new, old = split[s_new], split[s_old]
            steps, stale = traces.steps[scenario], traces.stale[scenario]
            for bit in range(1, width):
                total = 0.0
                for v in (0, 1):
                    for p in (0, 1):
                        k = int(steps[bit, v, p])
                        wrong = 0.0
                        if k >= 0:
                            low = bit - 1 - k
                            q_differs = old.carry[low] if v == 0 else 1.0 - old.carry[low]
                            wrong = _joint(new, bit, k, v, p) * q_differs
                        if stale[bit, v, p] and not (scenario and traces.sign_bits[bit]):
                            fallback[bit] = True
                        total += wrong
                if scenario and traces.sign_bits[bit] and stale[bit].any():
                    total = _stale_sign_error(traces, scenario, bit, new, old)
                probabilities[bit] += weight * total
            fallback[0] |= bool(stale[0].any())
    s = statistics.sum_bit
    return np.where(fallback, 2 * s * (1 - s), probabilities)


def _stale_sign_error(traces: _Traces, scenario: int, bit: int, new: CarryStatistics, old: CarryStatistics) -> float:
    """P(sum bit `bit` wrong) when the product's sign change reaches its sum cell too late.

    The sum cell latches ``a ^ b_old ^ c_seen`` against the correct ``a ^ b_new ^ c_new``. If
    the sign change does reach the carry cells in time (the carries target the new sum),
    ``c_seen`` is the scenario's trace-back and the bit is wrong exactly when the carry read
    is right. If it does not (the carry chain adds the stale sign extension too), the chain
    targets ``a + b'`` (``b'``: the new product with its sign extension inverted), traced
    back with the arrivals of an unchanged sign: the bit is wrong when ``a + b'`` and
    ``a + b`` differ at the bit XOR the carry read differs from ``a + b'``'s. Evaluated on
    the sampled pairs of :attr:`CarryStatistics.samples` (the tables do not hold the
    joint of the two events).
    """
    assert new.samples is not None
    a, b = new.samples
    width = new.width
    mask = (1 << width) - 1
    late = traces.late_chain[scenario]
    chain_late = bool(late[bit - 1]) if bit >= 1 else False
    steps = traces.steps[0 if chain_late else scenario][bit]
    b_seen = b ^ (mask & ~((1 << (PRODUCT_BITS - 1)) - 1)) if chain_late else b
    target = (a + b_seen) & mask
    propagate = (a ^ b_seen) & mask
    carries = (target ^ propagate) >> 1
    differs = ((((a + b) & mask) ^ target) >> bit) & 1 if chain_late else np.ones_like(a)
    p_bit = (propagate >> bit) & 1
    carry_in = (carries >> (bit - 1)) & 1 if bit >= 1 else np.zeros_like(a)
    wrong_carry = np.zeros(a.shape[0])
    for v in (0, 1):
        for p in (0, 1):
            k = int(steps[v, p])
            if k < 0:
                continue
            low = bit - 1 - k
            run = ((propagate >> (low + 1)) & ((1 << k) - 1)) == (1 << k) - 1
            chosen = run & (((carries >> low) & 1) == v) & (p_bit == p) & (carry_in == v)
            q_differs = old.carry[low] if v == 0 else 1.0 - old.carry[low]
            wrong_carry += chosen * q_differs
    if chain_late:
        return float(np.mean(differs + wrong_carry - 2 * differs * wrong_carry))
    return float(np.mean(1.0 - wrong_carry))


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
