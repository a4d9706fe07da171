"""Chain level: per-MAC timing from the sensitized carry chains (numba, lane-parallel).

For each MAC the chain level returns the value each output bit latches at the
sampling instant, the correct value, their XOR (flip mask) and the settle time, under
the same semantics and integer-femtosecond delays as :mod:`pe_models.gate`.

How each stage is evaluated (see ``docs/pe_timing.md``):

* ripple-carry adder stage of the ``registered`` pipeline, both cell libraries, when
  :func:`closed_form_delays` holds (one delay for every pin, edge and instance of each
  cell type the adder uses, as with the reasoned libraries): the carry-chain
  recurrences (closed form, bit-parallel), bit-exact with the gate level, glitch values
  and settle times included;
* hold-fix buffers of Razor bits (:mod:`pe_models.razor`) on that adder: with symmetric
  arcs a chain is a pure delay D, so a buffered bit is the closed form sampled at
  ``t_sample - D`` (:func:`hold_buffer_groups`), merged in by bit mask;
* every other stage (the multiplier stage, the Kogge-Stone adder, the ``fused`` MAC, and
  the ripple-carry adder whose arcs differ by pin, edge or instance, or whose hold
  buffers rise and fall at different speeds): the numba
  event-driven kernel of :func:`pe_models.gate.simulate_gate_fast`, exact by
  construction and slower (2e4-1e5 MACs/s).

The array engines' per-MAC kernel (:func:`mac_parameters`,
:func:`pe_models.kernels.registered_mac`) follows the same routing (the adder stage
encoded in its parameter row when the closed form does not hold) and keeps a
static-arrival model of the multiplier stage. Where the closed form does not hold but no
MAC can latch a wrong accumulator bit at the operating point (every sum bit's static
arrival meets the sampling instant: :func:`adder_always_settled`), its rows latch every
MAC settled, exactly as the event kernel would, at the closed form's speed. Below that,
compound-cell rows on a characterised library take the per-edge model of
:func:`edge_table` (a model, its error against the exact kernel in docs/technology.md);
``mac_parameters(..., exact=True)`` keeps the exact event kernel.

Per-lane delay factors (process variation) scale every arc of a lane; each delay is
rounded to whole femtoseconds after scaling.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np

from pe_models import kernels
from pe_models.arcs import latest_arrival_fs, latest_arrival_lanes_fs, uniform_delays_fs
from pe_models.errors import ConfigError
from pe_models.integers import to_signed
from pe_models.netlist import Netlist
from pe_models.pe import PEConfig, StageTiming, cell_library

__all__ = [
    "CLOSED_FORM_CELLS",
    "ChainResult",
    "adder_always_settled",
    "closed_form_delays",
    "edge_table",
    "encoded_stage",
    "evaluate_adder_stage",
    "evaluate_chain",
    "evaluate_stream",
    "hold_buffer_groups",
    "mac_parameters",
    "stage_inputs",
    "static_output_arrival_fs",
]

PRODUCT_MASK = 0xFFFF
HOLD_BUFFER_KIND = "buf"

CLOSED_FORM_CELLS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"compound": ("maj3", "xor3"), "2in": ("xor2", "and2", "or2")}
)
"""Cell types whose delays the ripple-carry closed forms read, per cell library."""


@dataclass(frozen=True)
class ChainResult:
    """Chain-level timing of n MACs.

    Attributes
    ----------
    latched, correct : ndarray, shape (n,), int64
        Signed value latched at the sampling instant, and the settled (correct) value.
    flip_mask : ndarray, shape (n,), int64
        Unsigned mask of wrong bits (``latched ^ correct`` within the adder width).
    settle_fs : ndarray, shape (n,), int64
        Last transition of any output bit, in fs (0 when nothing switches).
    product_latched, product_flip_mask, product_settle_fs : ndarray or None
        The same for the registered multiplier stage (None for the fused pipeline).
        When the multiplier's longest static path meets the sampling instant in every
        lane, its latched product is the new product and ``product_settle_fs`` is None
        (not simulated).
    bit_settle_fs : ndarray, shape (n, width), int64, or None
        Per-bit settle times when requested.
    shadow : ndarray, shape (n,), int64, or None
        With a Razor window: the signed value of the adder (or fused MAC) output at
        ``t_sample + window``, the instant the shadow latch samples (exact, glitches
        included; see :mod:`pe_models.razor`).
    """

    latched: np.ndarray
    correct: np.ndarray
    flip_mask: np.ndarray
    settle_fs: np.ndarray
    product_latched: np.ndarray | None = None
    product_flip_mask: np.ndarray | None = None
    product_settle_fs: np.ndarray | None = None
    bit_settle_fs: np.ndarray | None = None
    shadow: np.ndarray | None = None


def stage_inputs(stage: str, prev_a, prev_b, prev_c, a, b, c) -> tuple[dict, dict]:
    """(old, new) input buses of one timed stage for MACs ``a * b + c`` after ``prev_a * prev_b + prev_c``.

    ``multiplier``: operands; ``adder``: product register and partial sum; ``mac``: all three.
    """
    if stage == "multiplier":
        return {"a": prev_a, "b": prev_b}, {"a": a, "b": b}
    if stage == "adder":
        return (
            {"product": np.asarray(prev_a) * np.asarray(prev_b), "c": prev_c},
            {"product": np.asarray(a) * np.asarray(b), "c": c},
        )
    return {"a": prev_a, "b": prev_b, "c": prev_c}, {"a": a, "b": b, "c": c}


def closed_form_delays(
    pe: PEConfig, timing: StageTiming, lane_factors: np.ndarray | None = None
) -> dict[str, np.ndarray] | None:
    """Per-lane delays of the ripple-carry closed forms, or None where they do not hold.

    The one check of every closed form of the registered ripple-carry adder (the chain
    level's ``rca_*`` kernels, :func:`pe_models.kernels.registered_mac`, the stream and lane
    kernels of the array engines): they assume one delay per cell type, so every pin, edge
    and instance of each type of :data:`CLOSED_FORM_CELLS` in the adder stage must have the
    same arc (the same exact value when variation factors scale them, the same integer
    otherwise), and every adder input must switch at the clock edge (no clock-to-Q launch
    times). This holds for the reasoned libraries and not for a characterised one, whose
    configurations go to the exact event kernel.

    Parameters
    ----------
    pe : PEConfig
    timing : StageTiming
    lane_factors : ndarray, shape (n,), optional
        Per-lane delay factors (process variation).

    Returns
    -------
    dict of str to ndarray, or None
        Per cell type of :data:`CLOSED_FORM_CELLS`, int64 delays in fs of shape (n,) (or
        (1,) without factors), ``max(1, rint(exact * factor))``; None for another adder
        or pipeline, or when an arc differs.
    """
    if pe.pipeline != "registered" or pe.adder != "rca":
        return None
    netlist = pe.stages["adder"]
    kinds = CLOSED_FORM_CELLS[pe.cells]
    if timing.arcs.launch_exact_fs("adder").any():
        return None
    if lane_factors is None:
        common = uniform_delays_fs(netlist, timing.arcs_fs("adder"), kinds)
        if common is None:
            return None
        return {cell: np.array([int(common[cell])], dtype=np.int64) for cell in kinds}
    exact = uniform_delays_fs(netlist, timing.arcs.exact_fs("adder"), kinds)
    if exact is None:
        return None
    factors = np.asarray(lane_factors, dtype=np.float64).ravel()
    return {cell: np.maximum(1, np.rint(float(exact[cell]) * factors)).astype(np.int64) for cell in kinds}


def hold_buffer_groups(
    pe: PEConfig, timing: StageTiming, lane_factors: np.ndarray | None = None
) -> list[tuple[int, np.ndarray]] | None:
    """The output bits behind hold buffers, grouped by chain, with each chain's delay per lane.

    A chain of buffers whose every arc rises and falls equally fast is a pure delay (the sum
    of its arcs; transport semantics), so a buffered bit latches the stage's sum at
    ``t_sample - delay``. Bits whose chains have the same arcs form one group.

    Parameters
    ----------
    pe : PEConfig
    timing : StageTiming
    lane_factors : ndarray, shape (n,), optional
        Per-lane delay factors: each buffer's arc is ``max(1, rint(exact x factor))``.

    Returns
    -------
    list of (int, ndarray), or None
        ``(bit mask, chain delay in fs, int64 of shape (1,) or (n,))`` per group (empty
        without buffers); None when a buffer's rise and fall arcs differ (the chain is not a
        pure delay: the stage goes to the exact event kernel).
    """
    stage = "adder" if pe.pipeline == "registered" else "mac"
    netlist = pe.stages[stage]
    rounded = timing.arcs_fs(stage)
    if rounded.shape[0] != len(netlist.cells):
        raise ConfigError(
            f"timing: its arcs are for {rounded.shape[0]} cells, the {stage} stage of this PE has "
            f"{len(netlist.cells)} (its hold buffers); time the PE as built (pe_models.razor.retimed)"
        )
    if not pe.hold_buffers:
        return []
    exact = timing.arcs.exact_fs(stage)
    driver = {cell.output: c for c, cell in enumerate(netlist.cells)}
    chains: dict[tuple[float, ...], tuple[list[int], int]] = {}
    for bit, net in enumerate(netlist.outputs["sum"]):
        chain = []
        while (c := driver.get(net)) is not None and netlist.cells[c].kind == HOLD_BUFFER_KIND:
            chain.append(c)
            net = netlist.cells[c].inputs[0]
        if not chain:
            continue
        if (exact[chain, 0, 0] != exact[chain, 0, 1]).any() or (rounded[chain, 0, 0] != rounded[chain, 0, 1]).any():
            return None
        key = tuple(float(x) for x in exact[chain, 0, 0])
        cells, bits = chains.get(key, (chain, 0))
        chains[key] = (cells, bits | (1 << bit))
    groups = []
    for chain, bits in chains.values():
        if lane_factors is None:
            delay = np.array([int(rounded[chain, 0, 0].sum())], dtype=np.int64)
        else:
            factors = np.asarray(lane_factors, dtype=np.float64).ravel()
            delay = np.maximum(1, np.rint(exact[chain, 0, 0][None, :] * factors[:, None])).astype(np.int64).sum(axis=1)
        groups.append((bits, delay))
    return groups


def static_output_arrival_fs(
    netlist: Netlist,
    delays_fs: Mapping[str, int] | np.ndarray,
    output: str,
    launch_fs: np.ndarray | None = None,
) -> np.ndarray:
    """Longest-path arrival time (fs) of each bit of an output bus; -1 for constant bits.

    `delays_fs` is one delay per cell type, or per-instance arcs (int64 of shape
    (n_cells, MAX_PINS, 2), e.g. ``timing.arcs_fs(stage)``: the later of the bit's two
    edges, :func:`pe_models.arcs.latest_arrival_fs`), with the inputs' launch times
    `launch_fs` (``timing.launch_fs(stage)``; default 0).
    """
    if isinstance(delays_fs, np.ndarray):
        return latest_arrival_fs(netlist, delays_fs, launch_fs)[netlist.outputs[output]].max(axis=1)
    arrival = netlist.static_arrival_fs(dict(delays_fs))
    return np.array([arrival[net] for net in netlist.outputs[output]], dtype=np.int64)


def evaluate_adder_stage(
    pe: PEConfig,
    timing: StageTiming,
    *,
    old_product: np.ndarray,
    old_partial: np.ndarray,
    new_product: np.ndarray,
    new_partial: np.ndarray,
    lane_factors: np.ndarray | None = None,
    bit_settle: bool = False,
    need_settle: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """The registered adder stage: ``product + partial`` from the old to the new operands.

    Parameters
    ----------
    pe : PEConfig
    timing : StageTiming
    old_product, new_product : ndarray, shape (n,)
        16-bit signed products (sign-extended by the adder).
    old_partial, new_partial : ndarray, shape (n,)
        Incoming partial sums (signed, wrapped to the adder width).
    lane_factors : ndarray, shape (n,), optional
        Per-lane delay factors (process variation).
    bit_settle : bool
        Also return per-bit settle times (exact for the ripple-carry adder).
    need_settle : bool
        Compute settle times (False: latched values only, the fastest path; settle_fs is 0).

    Returns
    -------
    latched, correct, settle_fs : ndarray, shape (n,), int64 (unsigned bit patterns)
    bit_settle_fs : ndarray, shape (n, width), int64, or None
    """
    width = pe.width
    mask = (1 << width) - 1
    n = np.asarray(old_product).shape[0]
    old_b = np.asarray(old_product, dtype=np.int64) & mask
    new_b = np.asarray(new_product, dtype=np.int64) & mask
    old_a = np.asarray(old_partial, dtype=np.int64) & mask
    new_a = np.asarray(new_partial, dtype=np.int64) & mask
    latched = np.empty(n, dtype=np.int64)
    correct = np.empty(n, dtype=np.int64)
    settle = np.zeros(n, dtype=np.int64)
    bits = None
    lanes = closed_form_delays(pe, timing, lane_factors)
    groups = hold_buffer_groups(pe, timing, lane_factors)
    if lanes is not None and groups is not None:
        t_sample = np.array([timing.t_sample_fs], dtype=np.int64)
        if pe.cells == "compound":
            delays = (lanes["maj3"], lanes["xor3"], lanes["maj3"])
            if need_settle and not groups:
                kernels.rca_compound_lanes(
                    old_a, old_b, new_a, new_b, mask, t_sample, delays[0], delays[1], latched, correct, settle
                )
            else:
                kernels.rca_compound_latched_lanes(
                    old_a, old_b, new_a, new_b, mask, t_sample, delays[0], delays[1], latched, correct
                )
        else:
            delays = (lanes["xor2"], lanes["and2"], lanes["or2"])
            kernels.rca_2in_lanes(
                old_a, old_b, new_a, new_b, mask, t_sample, delays[0], delays[1], delays[2], latched, correct
            )
        early = np.empty(n, dtype=np.int64)
        for group, delay in groups:
            if pe.cells == "compound":
                kernels.rca_compound_latched_lanes(
                    old_a, old_b, new_a, new_b, mask, t_sample - delay, delays[0], delays[1], early, correct
                )
            else:
                kernels.rca_2in_lanes(
                    old_a, old_b, new_a, new_b, mask, t_sample - delay, delays[0], delays[1], delays[2], early, correct
                )
            latched = (latched & ~group) | (early & group)
        if bit_settle or (need_settle and (pe.cells != "compound" or groups)):
            bits = np.zeros((n, width), dtype=np.int64)
            kernels.rca_bit_settle_lanes(
                old_a, old_b, new_a, new_b, mask, width, pe.cells == "compound", delays[0], delays[1], delays[2], bits
            )
            for group, delay in groups:
                columns = [bit for bit in range(width) if (group >> bit) & 1]
                bits[:, columns] = np.where(bits[:, columns] > 0, bits[:, columns] + delay[:, None], 0)
            settle = bits.max(axis=1)
    else:
        gate = _gate(pe, timing, "adder", {"product": old_b, "c": old_a}, {"product": new_b, "c": new_a}, lane_factors)
        latched, correct, settle, bits = gate.latched, gate.correct, gate.settle_fs, gate.bit_settle_fs
    return latched, correct, settle, (bits if bit_settle else None)


def evaluate_chain(
    pe: PEConfig,
    timing: StageTiming,
    *,
    prev_a: np.ndarray,
    prev_b: np.ndarray,
    prev_c: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    lane_factors: np.ndarray | None = None,
    bit_settle: bool = False,
    window_fs: int | None = None,
) -> ChainResult:
    """Chain-level timing of n MACs ``a * b + c`` after ``prev_a * prev_b + prev_c``.

    In the ``registered`` pipeline the adder stage sees its product register switch from
    ``prev_a * prev_b`` to ``a * b`` and its partial-sum input from ``prev_c`` to ``c``;
    the multiplier stage (timed on its own) switches from ``(prev_a, prev_b)`` to
    ``(a, b)`` and its latched product is reported separately. In the ``fused`` pipeline
    all of ``a, b, c`` switch at t = 0 and one cycle computes ``a * b + c``.

    Parameters
    ----------
    pe : PEConfig
    timing : StageTiming
    prev_a, prev_b, a, b : ndarray, shape (n,)
        Signed int8 operands.
    prev_c, c : ndarray, shape (n,)
        Signed partial sums (wrapped to the accumulator width).
    lane_factors : ndarray, shape (n,), optional
        Per-lane delay factors (process variation).
    bit_settle : bool
        Also return per-bit settle times.
    window_fs : int, optional
        Razor detection window in fs (>= 0): also sample the output at
        ``t_sample + window_fs`` into :attr:`ChainResult.shadow`, with the same exact
        machinery as the main sample (the carry vector after a second number of carry
        delays for the ripple-carry adder, the event-driven kernel otherwise).

    Returns
    -------
    ChainResult
    """
    width = pe.width
    mask = (1 << width) - 1
    prev_a, prev_b, a, b = (np.asarray(x, dtype=np.int64) for x in (prev_a, prev_b, a, b))
    prev_c, c = (np.asarray(x, dtype=np.int64) for x in (prev_c, c))
    old_product = prev_a * prev_b
    new_product = a * b
    if pe.pipeline == "registered":
        latched, correct, settle, bits = evaluate_adder_stage(
            pe,
            timing,
            old_product=old_product,
            old_partial=prev_c,
            new_product=new_product,
            new_partial=c,
            lane_factors=lane_factors,
            bit_settle=bit_settle,
        )
        shadow = None
        if window_fs is not None:
            shadow, _, _, _ = evaluate_adder_stage(
                pe,
                replace(timing, t_sample_fs=timing.t_sample_fs + int(window_fs)),
                old_product=old_product,
                old_partial=prev_c,
                new_product=new_product,
                new_partial=c,
                lane_factors=lane_factors,
                need_settle=False,
            )
            shadow = to_signed(shadow, width)
        multiplier = pe.stages["multiplier"]
        longest_fs = static_output_arrival_fs(
            multiplier, timing.arcs_fs("multiplier"), "product", timing.launch_fs("multiplier")
        ).max()
        if lane_factors is None:
            bound_fs = float(longest_fs)
        else:
            slack_fs = 0.5 * (len(multiplier.cells) + 1)
            bound_fs = (longest_fs + slack_fs) * float(np.max(lane_factors)) + slack_fs
        if bound_fs <= timing.t_sample_fs:
            product_latched, product_settle = new_product & PRODUCT_MASK, None
        else:
            product = _gate(
                pe, timing, "multiplier", *stage_inputs("multiplier", prev_a, prev_b, prev_c, a, b, c), lane_factors
            )
            product_latched, product_settle = product.latched, product.settle_fs
        return ChainResult(
            latched=to_signed(latched, width),
            correct=to_signed(correct, width),
            flip_mask=(latched ^ correct) & mask,
            settle_fs=settle,
            product_latched=to_signed(product_latched, 16),
            product_flip_mask=(product_latched ^ new_product) & PRODUCT_MASK,
            product_settle_fs=product_settle,
            bit_settle_fs=bits,
            shadow=shadow,
        )
    t_shadow = None if window_fs is None else timing.t_sample_fs + int(window_fs)
    mac = _gate(pe, timing, "mac", *stage_inputs("mac", prev_a, prev_b, prev_c, a, b, c), lane_factors, t_shadow)
    return ChainResult(
        latched=to_signed(mac.latched, width),
        correct=to_signed(mac.correct, width),
        flip_mask=(mac.latched ^ mac.correct) & mask,
        settle_fs=mac.settle_fs,
        bit_settle_fs=mac.bit_settle_fs if bit_settle else None,
        shadow=None if mac.shadow is None else to_signed(mac.shadow, width),
    )


def _gate(
    pe: PEConfig,
    timing: StageTiming,
    stage: str,
    old: dict,
    new: dict,
    lane_factors: np.ndarray | None,
    t_shadow_fs: int | None = None,
):
    """One stage through the numba event-driven kernel (exact), with optional per-lane factors."""
    from pe_models.gate import simulate_gate_fast

    netlist = pe.stages[stage]
    return simulate_gate_fast(
        netlist,
        old,
        new,
        delays_fs=timing.arcs_fs(stage),
        t_sample_fs=timing.t_sample_fs,
        nominal_delays_fs=None if lane_factors is None else timing.arcs.exact_fs(stage),
        lane_factors=lane_factors,
        t_shadow_fs=t_shadow_fs,
        launch_fs=timing.launch_fs(stage),
        nominal_launch_fs=None if lane_factors is None else timing.arcs.launch_exact_fs(stage),
    )


def encoded_stage(
    netlist: Netlist, arcs_fs: np.ndarray, launch_fs: np.ndarray, output: str, capacity: int
) -> np.ndarray:
    """A netlist and its integer arcs as the int64 words of :func:`pe_models.kernels.encoded_stage_samples`.

    Parameters
    ----------
    netlist : Netlist
    arcs_fs : ndarray, int64, shape (n_cells, MAX_PINS, 2)
    launch_fs : ndarray, int64, shape (n_inputs, 2)
        The inputs' launch times.
    output : str
        The sampled output bus.
    capacity : int
        Transitions each net can hold; must bound the stage's (2 width + 4 for a
        ripple-carry adder: a carry net switches at most once per switch of its carry-in and
        once at t = 0).

    Returns
    -------
    ndarray, int64, shape (m,)
    """
    from pe_models.kernels import CELL_CODES

    cells = netlist.cells
    inputs = np.zeros((len(cells), 3), dtype=np.int64)
    for c, cell in enumerate(cells):
        inputs[c, : len(cell.inputs)] = cell.inputs
    buses = list(netlist.inputs)
    input_nets = [net for name in buses for net in netlist.inputs[name]]
    input_bus = [b for b, name in enumerate(buses) for _ in netlist.inputs[name]]
    input_bit = [i for name in buses for i in range(len(netlist.inputs[name]))]
    outputs = netlist.outputs[output]
    return np.concatenate(
        [
            np.array([len(cells), netlist.n_nets, len(input_nets), len(outputs), capacity], dtype=np.int64),
            np.array([CELL_CODES[cell.kind] for cell in cells], dtype=np.int64),
            inputs.ravel(),
            np.array([cell.output for cell in cells], dtype=np.int64),
            np.asarray(arcs_fs, dtype=np.int64).ravel(),
            np.array(input_nets + input_bus + input_bit, dtype=np.int64),
            np.asarray(launch_fs, dtype=np.int64).ravel(),
            np.array(list(outputs), dtype=np.int64),
        ]
    )


def adder_always_settled(pe: PEConfig, timing: StageTiming, lane_factors: np.ndarray | None = None) -> bool:
    """Whether no MAC can latch a wrong accumulator bit at this operating point (the whole-point screen).

    True when every sum bit's latest static arrival through the adder stage (per edge, from
    each input's clock-to-Q launch, through hold buffers; :func:`pe_models.arcs.latest_arrival_fs`)
    is at or before the sampling instant, in every lane. Under the event semantics of the gate
    level no output transition is later than its static arrival, so every MAC then samples its
    settled sum, and so does the Razor shadow latch, which samples later: exact, for any
    library. The product register is not part of the screen: every route of
    :func:`mac_parameters` models it the same way (static arrivals).

    Parameters
    ----------
    pe : PEConfig
        Registered pipeline.
    timing : StageTiming
    lane_factors : ndarray, shape (n,), optional
        Per-lane delay factors; arcs and launches rounded per lane as the exact kernel does.

    Returns
    -------
    bool
    """
    adder = pe.stages["adder"]
    if lane_factors is None:
        arrival = static_output_arrival_fs(adder, timing.arcs_fs("adder"), "sum", timing.launch_fs("adder"))
    else:
        arrival = latest_arrival_lanes_fs(
            adder, timing.arcs.exact_fs("adder"), lane_factors, "sum", timing.arcs.launch_exact_fs("adder")
        )
    return int(arrival.max()) <= timing.t_sample_fs


def edge_table(pe: PEConfig, timing: StageTiming, t_sample_fs: int) -> np.ndarray | None:
    """The per-edge model's table of the registered ripple-carry adder sampled at `t_sample_fs`.

    Built from the analytic level's trace-back of every sum bit through the library's arcs
    (:func:`pe_models.analytic.characterised_traces`, docs/technology.md): per product-sign
    scenario (unchanged, rising, falling), per sum bit i, new carry into i ``v`` and bit i's
    propagate ``p``, the carry steps ``k`` before the trace meets the bit's own operand
    arrivals (-1: it reaches the tied carry-in); the stale, late-chain and fallback masks of
    :data:`pe_models.kernels.EDGE_SCENARIO_WORDS`.

    Returns
    -------
    ndarray, int64, shape (EDGE_TABLE_WORDS,), or None
        None when a scenario needs more than :data:`pe_models.kernels.EDGE_SLOTS` distinct step
        counts.
    """
    from pe_models.analytic import characterised_traces

    traces = characterised_traces(pe, replace(timing, t_sample_fs=int(t_sample_fs)))
    width = pe.width
    weights = np.left_shift(np.int64(1), np.arange(width, dtype=np.int64))
    table = np.zeros(kernels.EDGE_TABLE_WORDS, dtype=np.int64)
    for scenario in range(3):
        steps = traces.steps[scenario]
        counts = sorted({int(k) for k in steps.ravel() if k >= 0})
        if len(counts) > kernels.EDGE_SLOTS:
            return None
        base = scenario * kernels.EDGE_SCENARIO_WORDS
        for slot, k in enumerate(counts):
            word = base + 5 * slot
            table[word] = k
            for v in (0, 1):
                for p in (0, 1):
                    table[word + 1 + 2 * v + p] = int(weights[steps[:, v, p] == k].sum())
        stale_bits = traces.stale[scenario].any(axis=(1, 2))
        sign_stale = stale_bits & traces.sign_bits if scenario else np.zeros(width, dtype=bool)
        late = np.zeros(width, dtype=bool)
        late[1:] = traces.late_chain[scenario] & sign_stale[1:]
        tail = base + 5 * kernels.EDGE_SLOTS
        table[tail] = int(weights[sign_stale].sum())
        table[tail + 1] = int(weights[late].sum())
        table[tail + 2] = int(weights[stale_bits & ~sign_stale].sum())
    return table


def mac_parameters(
    pe: PEConfig,
    timing: StageTiming,
    lane_factors: np.ndarray | None = None,
    window_fs: int = 0,
    *,
    exact: bool = False,
) -> np.ndarray:
    """Parameter rows for the numba per-MAC kernel ``pe_models.kernels.registered_mac``.

    Parameters
    ----------
    pe : PEConfig
        Registered pipeline with the ``rca`` adder (the configurations the array engines run).
    timing : StageTiming
    lane_factors : ndarray, shape (n,), optional
        Per-PE delay factors (process variation); each cell delay is rounded to whole fs
        after scaling, as the gate level does.
    window_fs : int
        Razor detection window in fs (>= 0): the shadow latch samples the accumulator at
        ``t_sample + window_fs`` (0: the shadow equals the main sample).
    exact : bool
        Send the adder stage to the exact event kernel whenever :func:`closed_form_delays`
        does not hold, even where :func:`adder_always_settled` does (the reference the
        screen is tested against).

    Returns
    -------
    ndarray, int64, shape (n or 1, PARAM_COUNT) or (n or 1, PARAM_COUNT + stage words)
        Cell-library flag (``CELLS_COMPOUND``, ``CELLS_2IN``, or ``CELLS_EXACT`` when
        :func:`closed_form_delays` does not hold), adder mask, sampling instant (fs), the
        adder's cell delays (compound: MAJ3, XOR3; 2in: XOR2, AND2, OR2) and the 16 product
        bits' static arrival times through the multiplier (fs, the later edge), the mask of
        product bits that arrive after the sampling instant, and (compound) the number of
        carry delays that fit before it; then the shadow instant ``t_sample + window_fs``
        and the carry delays that fit before it; then the hold-buffered bits and their two
        instants ``t_sample - D``, ``t_shadow - D`` with their carry delays (D: the chain's
        delay, :func:`hold_buffer_groups`; one chain for every buffered bit, else the row is
        exact). ``CELLS_EXACT`` rows continue with the
        adder stage and its arcs (per row, rounded after the row's factor) encoded for the
        exact event kernel (:func:`encoded_stage`); their delay and carry-step words are 0
        and -1. Where the closed form does not hold but :func:`adder_always_settled` does (in
        every lane), the rows are compound rows whose carry steps (main, shadow) are the
        adder width: every MAC latches its settled sum, whatever the cell library, as the
        exact kernel would (delay words 0, no buffered bits: the buffers are in the screen).
    """
    from pe_models.errors import ConfigError

    if pe.pipeline != "registered" or pe.adder != "rca":
        raise ConfigError(
            f"pe: the array engines run the registered pipeline with the rca adder; got {pe.pipeline} {pe.adder}"
        )
    lanes = closed_form_delays(pe, timing, lane_factors)
    groups = hold_buffer_groups(pe, timing, lane_factors)
    if groups is None or len(groups) > 1:
        lanes = None
    rows = 1 if lane_factors is None else np.asarray(lane_factors).size
    multiplier = pe.stages["multiplier"]
    if lane_factors is None:
        arrival = static_output_arrival_fs(
            multiplier, timing.arcs_fs("multiplier"), "product", timing.launch_fs("multiplier")
        )[None, :]
    else:
        arrival = latest_arrival_lanes_fs(
            multiplier,
            timing.arcs.exact_fs("multiplier"),
            lane_factors,
            "product",
            timing.arcs.launch_exact_fs("multiplier"),
        )
    settled = lanes is None and not exact and adder_always_settled(pe, timing, lane_factors)
    t_shadow = timing.t_sample_fs + int(window_fs)
    tables = None
    edge_model = pe.cells == "compound" and lane_factors is None and cell_library(pe) is not None
    if lanes is None and not settled and not exact and edge_model:
        main, shadow = edge_table(pe, timing, timing.t_sample_fs), edge_table(pe, timing, t_shadow)
        if main is not None and shadow is not None:
            tables = np.concatenate([main, shadow])
    stage = None
    if lanes is None and not settled and tables is None:
        adder = pe.stages["adder"]
        stage = encoded_stage(adder, timing.arcs_fs("adder"), timing.launch_fs("adder"), "sum", 2 * pe.width + 4)
    extra = stage.size if stage is not None else (0 if tables is None else tables.size)
    params = np.zeros((rows, kernels.PARAM_COUNT + extra), dtype=np.int64)
    params[:, kernels.PARAM_MASK] = (1 << pe.width) - 1
    params[:, kernels.PARAM_T_SAMPLE] = timing.t_sample_fs
    params[:, kernels.PARAM_ARRIVAL : kernels.PARAM_LATE_PRODUCT] = arrival
    late = arrival > timing.t_sample_fs
    params[:, kernels.PARAM_LATE_PRODUCT] = (late * np.left_shift(np.int64(1), np.arange(16))).sum(axis=1)
    params[:, kernels.PARAM_T_SHADOW] = t_shadow
    if tables is not None:
        params[:, kernels.PARAM_CELLS] = kernels.CELLS_EDGE
        params[:, kernels.PARAM_CARRY_STEPS] = kernels.PARAM_STAGE
        params[:, kernels.PARAM_SHADOW_STEPS] = kernels.PARAM_STAGE + kernels.EDGE_TABLE_WORDS
        params[:, kernels.PARAM_STAGE :] = tables
        return params
    if settled:
        params[:, kernels.PARAM_CELLS] = kernels.CELLS_COMPOUND
        params[:, kernels.PARAM_CARRY_STEPS] = pe.width
        params[:, kernels.PARAM_SHADOW_STEPS] = pe.width
        return params
    if stage is not None:
        params[:, kernels.PARAM_CELLS] = kernels.CELLS_EXACT
        params[:, kernels.PARAM_CARRY_STEPS] = -1
        params[:, kernels.PARAM_SHADOW_STEPS] = -1
        params[:, kernels.PARAM_STAGE :] = stage
        if lane_factors is not None:
            n_cells = len(pe.stages["adder"].cells)
            first = kernels.PARAM_STAGE + kernels.STAGE_HEADER + 5 * n_cells
            exact_arcs = timing.arcs.exact_fs("adder").ravel()
            factors = np.asarray(lane_factors, dtype=np.float64).ravel()
            params[:, first : first + 6 * n_cells] = np.maximum(1, np.rint(exact_arcs[None, :] * factors[:, None]))
            n_inputs = timing.launch_fs("adder").shape[0]
            launch = timing.arcs.launch_exact_fs("adder").ravel()
            first += 6 * n_cells + 3 * n_inputs
            params[:, first : first + 2 * n_inputs] = np.rint(launch[None, :] * factors[:, None])
        return params
    assert lanes is not None
    compound = pe.cells == "compound"
    cells = ("maj3", "xor3", "maj3") if compound else ("xor2", "and2", "or2")
    params[:, kernels.PARAM_CELLS] = kernels.CELLS_COMPOUND if compound else kernels.CELLS_2IN
    for offset, cell in enumerate(cells):
        params[:, kernels.PARAM_D0 + offset] = lanes[cell]
    d_carry = params[:, kernels.PARAM_D0]
    d_sum = params[:, kernels.PARAM_D1]
    params[:, kernels.PARAM_CARRY_STEPS] = np.where(
        timing.t_sample_fs < d_sum, -1, (timing.t_sample_fs - d_sum) // np.maximum(d_carry, 1)
    )
    params[:, kernels.PARAM_SHADOW_STEPS] = np.where(t_shadow < d_sum, -1, (t_shadow - d_sum) // np.maximum(d_carry, 1))
    for bits, delay in groups or ():
        params[:, kernels.PARAM_BUFFER_MASK] = bits
        for instant, steps, t in (
            (kernels.PARAM_T_BUFFERED, kernels.PARAM_BUFFER_STEPS, timing.t_sample_fs - delay),
            (kernels.PARAM_T_SHADOW_BUFFERED, kernels.PARAM_SHADOW_BUFFER_STEPS, t_shadow - delay),
        ):
            params[:, instant] = t
            params[:, steps] = np.where(t < d_sum, -1, (t - d_sum) // np.maximum(d_carry, 1))
    return params


def evaluate_stream(
    pe: PEConfig, timing: StageTiming, a: np.ndarray, b: np.ndarray, c: np.ndarray, *, exact: bool = False
) -> np.ndarray:
    """Latched accumulator values of consecutive MACs of one registered PE.

    Parameters
    ----------
    pe : PEConfig
        Registered pipeline, ``rca`` adder.
    timing : StageTiming
    a, b : ndarray, int8-valued, shape (n,)
        Operands of consecutive MACs.
    c : ndarray, shape (n,)
        Incoming partial sums.
    exact : bool
        The array engines' rows with ``exact=True`` (:func:`mac_parameters`): the exact event
        kernel wherever the closed form does not hold.

    Returns
    -------
    ndarray, int64, shape (n,)
        Signed latched values; MAC 0 follows a settled all-zero state. The product
        register of MAC t is what the multiplier stage latched (static-arrival model).
    """
    params = mac_parameters(pe, timing, exact=exact)[0]
    a = np.ascontiguousarray(a, dtype=np.int8)
    b = np.ascontiguousarray(b, dtype=np.int8)
    c = np.ascontiguousarray(c, dtype=np.int64)
    out = np.empty(a.shape[0], dtype=np.int64)
    if params[kernels.PARAM_CELLS] == kernels.CELLS_COMPOUND and params[kernels.PARAM_BUFFER_MASK] == 0:
        kernels.compound_mac_stream(
            a,
            b,
            c,
            params[kernels.PARAM_LATE_PRODUCT],
            params[kernels.PARAM_CARRY_STEPS],
            params[kernels.PARAM_MASK],
            out,
        )
    else:
        kernels.registered_mac_stream(a, b, c, params, out)
    return to_signed(out, pe.width)
