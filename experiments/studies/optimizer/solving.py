"""Steps 2 and 3 of the optimizer: the per-(VDD, layer, first protected bit) sensitivity table and
the plan of least energy within the budgets (``scipy.optimize.milp`` or exhaustive search)."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pe_models.errors import ConfigError
from pe_models.netlist import PRODUCT_BITS
from pe_models.razor import hold_buffer_counts, retimed, window_fs
from sim.protection import union_mask

from .config import RECOVERIES, OptimizeConfig
from .profiling import LayerProfile, array_order_probabilities, independent_detectors, screen_array

_NO_PROTECTION = -1


def screen_coefficients(profiles: Sequence[LayerProfile], config: OptimizeConfig) -> list[list[Any]]:
    """Per VDD of the grid, per layer: :class:`~experiments.studies.inference_energy.LayerCoefficients`."""
    from pe_models.energy import pe_energy_model

    from ..inference_energy import layer_coefficients

    array = screen_array(config)
    memory = config.memory(array, node_nm=pe_energy_model(config.pe).node_nm, tech=config.pe.tech)
    work = [profile.work for profile in profiles]
    return [
        layer_coefficients(
            work, pe=config.pe, array=array, vdd_v=vdd, batch=config.batch, gating=config.gating(), memory=memory
        )
        for vdd in config.vdds
    ]


def choice_hold_buffers(config: OptimizeConfig, first_bit: int) -> float:
    """Hold-fix buffers per protected bit of bits ``first_bit .. MSB`` (as the measurement counts them)."""
    from sim.energy import design_hold_buffers

    if first_bit < 0:
        return 0.0
    mask = ((1 << config.pe.width) - 1) & ~((1 << first_bit) - 1)
    return design_hold_buffers(config.pe, config.f_clk_mhz, mask, config.razor_window_ps)


def choice_hold_buffer_counts(config: OptimizeConfig, first_bit: int) -> np.ndarray:
    """Hold-fix buffers of each accumulator bit when bits ``first_bit .. MSB`` are protected
    (:func:`sim.energy.design_hold_buffer_counts`), float64, shape (width,); zeros for none."""
    from sim.energy import design_hold_buffer_counts

    counts = np.zeros(config.pe.width)
    if first_bit < 0:
        return counts
    mask = ((1 << config.pe.width) - 1) & ~((1 << first_bit) - 1)
    accumulator, _ = design_hold_buffer_counts(config.pe, config.f_clk_mhz, mask, config.razor_window_ps)
    counts[: len(accumulator)] = accumulator
    return counts


@dataclass(frozen=True, kw_only=True, eq=False)
class SensitivityTable:
    """Per (VDD, layer, choice): the screen's figures (arrays indexed ``[v, l, c]``).

    ``choices[c]`` is the first protected bit (``-1``: none); ``valid[v, l, c]`` is False
    where the choice is dominated (below the lowest failing bit of the layer at that VDD,
    except the lowest useful one).
    """

    vdds: tuple[float, ...]
    layers: tuple[str, ...]
    choices: tuple[int, ...]
    bit_probabilities: np.ndarray
    detect: np.ndarray
    visible: np.ndarray
    visible_drop: np.ndarray
    recovery_cycles: dict[str, np.ndarray]
    energy_pj: dict[str, np.ndarray]
    base_cycles: np.ndarray
    valid: np.ndarray
    protected_bits: np.ndarray
    coefficients: Any = None
    stall_cycles: dict[str, np.ndarray] | None = None
    energy_per_stall_pj: dict[str, np.ndarray] | None = None
    product_choice: tuple[bool, ...] | None = None
    product_masks: np.ndarray | None = None
    product_stall_cycles: dict[str, np.ndarray] | None = None

    @functools.cached_property
    def product_bits(self) -> np.ndarray | None:
        """Protected product bits of every (VDD, layer, choice) (None without product choices)."""
        if self.product_masks is None:
            return None
        return _bit_counts(self.product_masks)

    def stall(self, recovery: str, v: int, razor_bits: int, product: bool = False) -> int:
        """Cycles one recovery of `recovery` costs at VDD index `v` in an array whose PEs carry
        `razor_bits` accumulator Razor flip-flops (the union of the plan's layers) and, with
        `product`, the product register's failing bits (1 when the table has no stall table)."""
        tables = self.product_stall_cycles if product and self.product_stall_cycles is not None else self.stall_cycles
        if tables is None:
            return 1
        return int(tables[recovery][v, int(razor_bits)])

    def choice_index(self, first_bit: int, product_mask: int = 0) -> int:
        """Index of the choice protecting accumulator bits `first_bit` .. MSB (-1: none) and,
        when `product_mask` is not 0, the layer's failing product bits."""
        index = self.choices.index(first_bit)
        if product_mask and self.product_choice is not None:
            index += len(self.choices) // 2
        return index

    def product_mask(self, v: int, layer: int, choice: int) -> int:
        """Protected product bits of `choice` for `layer` at VDD index `v` (0: none)."""
        return 0 if self.product_masks is None else int(self.product_masks[v, layer, choice])

    def recovery_at(self, recovery: str, v: int, stall: int) -> np.ndarray:
        """Recovery cycles per image, (layers, choices), when one recovery costs `stall` cycles."""
        return stall * self.recovery_cycles[recovery][v]

    def energy_at(self, recovery: str, v: int, stall: int) -> np.ndarray:
        """Energy per image, pJ, (layers, choices), when one recovery costs `stall` cycles."""
        if self.energy_per_stall_pj is None:
            return self.energy_pj[recovery][v]
        return self.energy_pj[recovery][v] + (stall - 1) * self.energy_per_stall_pj[recovery][v]


def _protected_toggles(
    profiles: Sequence[LayerProfile],
    protected: np.ndarray,
    product_masks: np.ndarray,
    buffers: np.ndarray,
    product_buffers: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Transitions per MAC of each choice's protected bits and of their hold-fix buffers,
    ``[v, l, c]`` each: the accumulator bits of ``protected[c]`` with ``buffers[c, b]`` buffers
    on bit ``b``, the product bits of ``product_masks[v, l, c]`` with ``product_buffers[v, b]``
    on product bit ``b``; every buffer switches with its bit, from each layer's per-bit
    activity (0 where the layer's work has none)."""
    toggles = np.zeros(product_masks.shape)
    buffer_toggles = np.zeros(product_masks.shape)
    for index, profile in enumerate(profiles):
        bit_toggles = getattr(profile.work, "bit_toggles", None)
        if bit_toggles is None:
            continue
        sum_bits = np.asarray(bit_toggles.sum_bits)
        product_bits = np.asarray(bit_toggles.product_bits)
        accumulator = protected @ sum_bits
        accumulator_buffers = (buffers * protected) @ sum_bits
        for v in range(product_masks.shape[0]):
            masks = product_masks[v, index]
            in_mask = (masks[:, None] >> np.arange(PRODUCT_BITS)[None, :]) & 1
            toggles[v, index] = accumulator + in_mask @ product_bits
            buffer_toggles[v, index] = accumulator_buffers + (in_mask * product_buffers[v][None, :]) @ product_bits
    return toggles, buffer_toggles


def _bit_counts(masks: np.ndarray) -> np.ndarray:
    """Bits set in each mask, float64, the shape of `masks`."""
    return np.vectorize(lambda mask: int(mask).bit_count(), otypes=[np.float64])(masks)


def _top_buffer_chain_fs(config: OptimizeConfig, timing: Any, counts: np.ndarray) -> int:
    """Delay of the hold-buffer chain of the top accumulator bit, fs (the later of its edges per buffer).

    One delay per cell type (the reasoned libraries): count x the buffer's delay; a characterised
    library: the arcs of the PE built with the buffers, at the timing's operating point.
    """
    count = int(counts[config.pe.width - 1])
    if count == 0:
        return 0
    if timing.cell_delays_fs is not None:
        return count * int(timing.cell_delays_fs["buf"])
    built = dataclasses.replace(config.pe, hold_buffers=tuple(int(n) for n in counts))
    arcs = retimed(built, timing).arcs_fs("adder")
    netlist = built.stages["adder"]
    driver = {cell.output: c for c, cell in enumerate(netlist.cells)}
    net, total = netlist.outputs["sum"][-1], 0
    while (c := driver.get(net)) is not None and netlist.cells[c].kind == "buf":
        total += int(arcs[c, 0].max())
        net = netlist.cells[c].inputs[0]
    return total


@dataclass(frozen=True, kw_only=True)
class ProductScreen:
    """The product register at one VDD: which bits fail per layer and what protecting them does.

    Attributes
    ----------
    masks : ndarray, int64, shape (layers,)
        Per layer the product bits that can be latched wrong: static arrival of the bit later
        than the sample and the bit changes between the layer's MACs (0: none can fail).
    unprotected : ndarray, shape (layers,)
        Visible errors per MAC with those bits unprotected: ``sum_j t_j min(1, 2^j s_l)``.
    silent : ndarray, shape (layers,)
        Visible errors per MAC with them protected: the bits whose arrival behind their hold
        buffers is later than the shadow sample.
    detect : ndarray, shape (layers,)
        Detection probability per MAC with them protected: ``1 - prod (1 - t_j)`` over the
        bits that arrive after the sample and by the shadow sample.
    feasible : bool
        The window is feasible for the failing bits of every layer (their union) together with
        the accumulator's (:func:`pe_models.razor.window_fs`).
    hold_buffers_per_bit : float
        Mean hold-fix buffers of the union's product bits (:func:`pe_models.razor.razor_pe`).
    hold_buffers : ndarray, float64, shape (16,)
        Hold-fix buffers of each product bit as built for the union (0 outside it).
    """

    masks: np.ndarray
    unprotected: np.ndarray
    silent: np.ndarray
    detect: np.ndarray
    feasible: bool
    hold_buffers_per_bit: float
    hold_buffers: np.ndarray = field(default_factory=lambda: np.zeros(PRODUCT_BITS))


def product_screen(
    profiles: Sequence[LayerProfile], config: OptimizeConfig, vdd_v: float, window: int
) -> ProductScreen | None:
    """The screen of the registered pipeline's product register at `vdd_v` (None: the PE has none).

    A product bit whose static arrival at the (guarded) VDD is later than the sampling instant
    keeps the previous product's value, wrong with the probability ``t_j`` that it changes
    (:func:`pe_models.analytic.product_bit_error_probabilities`, i.i.d. operands; the layer's
    ``product_toggles``). Protected, it sits behind the hold buffers of `window` (fs), built for
    the union of the layers' failing bits; it is caught when it arrives by ``t_s + window``
    and silent after.
    """
    from pe_models.chain import static_output_arrival_fs
    from pe_models.razor import mean_hold_buffers, razor_pe

    if "multiplier" not in config.pe.stages or any(p.product_toggles is None for p in profiles):
        return None
    timing = config.timing(vdd_v)

    def arrivals(pe: Any, stage_timing: Any) -> np.ndarray:
        netlist = pe.stages["multiplier"]
        return np.asarray(
            static_output_arrival_fs(
                netlist, stage_timing.arcs_fs("multiplier"), "product", stage_timing.launch_fs("multiplier")
            ),
            np.float64,
        )[:PRODUCT_BITS]

    late = arrivals(config.pe, timing) > timing.t_sample_fs
    toggles = np.array([p.product_toggles for p in profiles], np.float64)
    failing = late[None, :] & (toggles > 0)
    weights = 2 ** np.arange(PRODUCT_BITS)
    masks = (failing * weights[None, :]).sum(axis=1).astype(np.int64)
    lsb = np.array([p.lsb_per_unit for p in profiles])
    harm = np.minimum(1.0, weights[None, :] * lsb[:, None])
    unprotected = (toggles * harm * failing).sum(axis=1)
    union = int(np.bitwise_or.reduce(masks)) if len(masks) else 0
    zeros = np.zeros(len(profiles))
    if union == 0:
        return ProductScreen(
            masks=masks, unprotected=unprotected, silent=zeros, detect=zeros, feasible=True, hold_buffers_per_bit=0.0
        )
    try:
        window_fs(timing, window / 1000, pe=config.pe, product_mask=union)
    except ConfigError:
        return ProductScreen(
            masks=masks,
            unprotected=unprotected,
            silent=unprotected,
            detect=zeros,
            feasible=False,
            hold_buffers_per_bit=0.0,
        )
    built = razor_pe(
        config.pe, f_clk_mhz=config.f_clk_mhz, protected_mask=0, window_ps=window / 1000, product_mask=union
    )
    buffered = arrivals(built, retimed(built, timing))
    caught = failing & (buffered > timing.t_sample_fs)[None, :] & (buffered <= timing.t_sample_fs + window)[None, :]
    missed = failing & (buffered > timing.t_sample_fs + window)[None, :]
    return ProductScreen(
        masks=masks,
        unprotected=unprotected,
        silent=(toggles * harm * missed).sum(axis=1),
        detect=-np.expm1(np.log1p(-np.minimum(toggles * caught, 1 - 1e-12)).sum(axis=1)),
        feasible=True,
        hold_buffers_per_bit=mean_hold_buffers(built, 0, union),
        hold_buffers=np.asarray(built.product_hold_buffers or (0,) * PRODUCT_BITS, np.float64),
    )


def _recovery_cycles(
    profile: LayerProfile,
    q: np.ndarray,
    penalty: int,
    detectors: np.ndarray | None = None,
    column_detectors: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Closed-form recovery cycles per image of one layer for MAC detection probabilities `q`
    (shape (VDDs, choices)): ``penalty x busy x (1 - (1 - q) ** N)`` with ``N`` the PEs that
    detect independently, per VDD, calibrated in array order by
    :func:`~.profiling.independent_detectors`: `detectors` for ``global`` (default every PE in
    flight), `column_detectors` for ``column`` and ``local`` (the fold waits for its slowest
    column; default a column's rows)."""
    in_flight = profile.rows_used * profile.cols_used
    busy = profile.macs / in_flight
    n = np.full(q.shape[0], float(in_flight)) if detectors is None else np.asarray(detectors, np.float64)
    rows = profile.rows_used
    n_column = np.full(q.shape[0], float(rows)) if column_detectors is None else np.asarray(column_detectors)
    log_ok = np.log1p(-np.minimum(q, 1 - 1e-12))
    global_cycles = penalty * busy * -np.expm1(n[:, None] * log_ok)
    column_cycles = penalty * busy * -np.expm1(n_column[:, None] * log_ok)
    return {
        "global": global_cycles,
        "column": column_cycles,
        "local": column_cycles,
        "drop": np.zeros_like(q),
    }


def sensitivity_table(
    profiles: Sequence[LayerProfile],
    config: OptimizeConfig,
) -> SensitivityTable:
    """Build the per-(VDD, layer, first protected bit) table of the screen.

    Protected bits sit behind the hold buffers of the window (designed for every bit at the
    clock, :mod:`pe_models.razor`): their errors are evaluated at ``t_s - D`` and their silent
    errors at ``t_s + window - D`` (D: the chain's delay at the VDD); unprotected bits at ``t_s``.

    ``recovery_cycles`` are per recovery cycle (a recovery costing one cycle) and ``energy_pj``
    the energy at one cycle per recovery; ``stall_cycles[r][v, h]`` is what one recovery costs
    an array whose PEs carry ``h`` Razor flip-flops (:func:`stall_cycles_table`), so a plan's
    figures are :meth:`SensitivityTable.recovery_at` and :meth:`SensitivityTable.energy_at` at
    the stall of its union of protected bits.

    Returns
    -------
    SensitivityTable
    """
    from pe_models.analytic import adder_bit_error_probabilities

    width = config.pe.width
    vdds = config.vdds
    choices = (_NO_PROTECTION, *range(width - 1, -1, -1))
    n_v, n_l, n_c = len(vdds), len(profiles), len(choices)

    probabilities = np.zeros((n_v, n_l, width))
    buffered = np.zeros((n_v, n_l, width))
    silent = np.zeros((n_v, n_l, width))
    stalled = np.full((n_v, n_l), np.nan)
    stalled_column = np.full((n_v, n_l), np.nan)
    windows = []
    for v, vdd in enumerate(vdds):
        timing = config.timing(vdd)
        window = window_fs(timing, config.razor_window_ps, pe=config.pe)
        windows.append(window)
        counts = hold_buffer_counts(config.pe, f_clk_mhz=config.f_clk_mhz, protected_mask=None, window_fs=window)
        delay = _top_buffer_chain_fs(config, timing, counts)
        early = dataclasses.replace(timing, t_sample_fs=max(1, timing.t_sample_fs - delay))
        shadow = dataclasses.replace(timing, t_sample_fs=max(1, timing.t_sample_fs + window - delay))
        for index, profile in enumerate(profiles):
            probabilities[v, index] = adder_bit_error_probabilities(config.pe, timing, profile.statistics)
            buffered[v, index] = adder_bit_error_probabilities(config.pe, early, profile.statistics)
            silent[v, index] = adder_bit_error_probabilities(config.pe, shadow, profile.statistics)
        measured = array_order_probabilities(profiles, config, vdd)
        if measured is not None:
            buffered[v] = np.maximum(buffered[v], measured[0])
            silent[v] = np.maximum(silent[v], measured[1])
            stalled[v] = measured[2]
            stalled_column[v] = measured[3]
    bits = np.arange(width)
    first = np.array([width if c == _NO_PROTECTION else c for c in choices])
    protected = (bits[None, :] >= first[:, None]).astype(np.float64)
    log_ok = np.log1p(-np.minimum(buffered, 1 - 1e-12))
    detect = -np.expm1(np.einsum("vlb,cb->vlc", log_ok, protected))
    macs = np.array([p.macs for p in profiles], np.float64)
    lsb = np.array([p.lsb_per_unit for p in profiles])
    harm = np.minimum(1.0, (2.0 ** bits[None, :]) * lsb[:, None])
    visible = np.einsum("vlb,lb,cb->vlc", probabilities, harm, 1.0 - protected) * macs[None, :, None]
    visible += np.einsum("vlb,lb,cb->vlc", silent, harm, protected) * macs[None, :, None]
    products = [product_screen(profiles, config, vdd, windows[v]) for v, vdd in enumerate(vdds)]
    product_masks = np.zeros((n_v, n_l, n_c), np.int64)
    product_buffers = np.zeros(n_v)
    product_buffer_counts = np.zeros((n_v, PRODUCT_BITS))
    product_feasible = np.zeros(n_v, bool)
    product_choice: tuple[bool, ...] | None = None
    if any(screen is not None and screen.masks.any() for screen in products):
        unprotected, missed, caught = np.zeros((n_v, n_l)), np.zeros((n_v, n_l)), np.zeros((n_v, n_l))
        layer_masks = np.zeros((n_v, n_l), np.int64)
        for v, screen in enumerate(products):
            if screen is None:
                continue
            unprotected[v], missed[v], caught[v], layer_masks[v] = (
                screen.unprotected,
                screen.silent,
                screen.detect,
                screen.masks,
            )
            product_buffers[v] = screen.hold_buffers_per_bit
            product_buffer_counts[v] = screen.hold_buffers
            product_feasible[v] = screen.feasible
        per_image = macs[None, :, None]
        visible = np.concatenate(
            [visible + unprotected[:, :, None] * per_image, visible + missed[:, :, None] * per_image], axis=2
        )
        detect = np.concatenate(
            [detect, -np.expm1(np.log1p(-np.minimum(detect, 1 - 1e-12)) + np.log1p(-caught)[:, :, None])], axis=2
        )
        product_masks = np.concatenate([product_masks, np.repeat(layer_masks[:, :, None], n_c, axis=2)], axis=2)
        product_choice = (False,) * n_c + (True,) * n_c
        choices = choices + choices
        first = np.concatenate([first, first])
        protected = np.concatenate([protected, protected])
        n_c = len(choices)
    product_bits = _bit_counts(product_masks)
    visible_drop = detect * np.array([p.drop_visible for p in profiles])[None, :, None] * macs[None, :, None]
    base = np.array([p.base_cycles for p in profiles], np.float64)
    recovery = {r: np.zeros((n_v, n_l, n_c)) for r in RECOVERIES}
    every_bit = choices.index(0)
    for index, profile in enumerate(profiles):
        in_flight = profile.rows_used * profile.cols_used
        detectors = np.array(
            [independent_detectors(stalled[v, index], detect[v, index, every_bit], in_flight) for v in range(n_v)]
        )
        column_detectors = np.array(
            [
                independent_detectors(stalled_column[v, index], detect[v, index, every_bit], in_flight)
                if np.isfinite(stalled_column[v, index]) and stalled_column[v, index] > 0
                else float(profile.rows_used)
                for v in range(n_v)
            ]
        )
        cycles = _recovery_cycles(profile, detect[:, index, :], 1, detectors, column_detectors)
        for r in RECOVERIES:
            recovery[r][:, index, :] = cycles[r]
    protected_bits = protected.sum(axis=1)
    detections = detect * macs[None, :, None]
    coefficients = screen_coefficients(profiles, config)
    buffers = np.array([choice_hold_buffers(config, c) for c in choices])
    buffer_counts = np.array([choice_hold_buffer_counts(config, c) for c in choices])
    masks_by_vdd = [union_mask(product_masks[v].ravel()) for v in range(n_v)]
    failing_vdds = [bool(np.any(detect[v] > 0)) for v in range(n_v)]
    toggles, buffer_toggles = _protected_toggles(
        profiles, protected, product_masks, buffer_counts, product_buffer_counts
    )
    energy, per_stall = {}, {}
    for r in RECOVERIES:
        table = np.zeros((n_v, n_l, n_c))
        scaling = np.zeros((n_v, n_l, n_c))
        for v in range(n_v):
            for index, layer in enumerate(coefficients[v]):
                cycles = recovery[r][v, index]
                bit = layer.bit_pj + buffers * layer.hold_buffer_pj
                bit_cycle = layer.bit_recovery_cycle_pj + buffers * layer.hold_buffer_recovery_cycle_pj
                product_bit = layer.bit_pj + product_buffers[v] * layer.hold_buffer_pj
                product_bit_cycle = (
                    layer.bit_recovery_cycle_pj + product_buffers[v] * layer.hold_buffer_recovery_cycle_pj
                )
                razor = product_bits[v, index]
                replayed = (
                    0.0
                    if r == "drop"
                    else detections[v, index]
                    * (
                        layer.detection_pj
                        + toggles[v, index] * layer.protected_toggle_detection_pj
                        + buffer_toggles[v, index] * layer.hold_buffer_toggle_detection_pj
                    )
                )
                scaling[v, index] = cycles * (
                    layer.recovery_cycle_pj + protected_bits * bit_cycle + razor * product_bit_cycle
                )
                table[v, index] = (
                    layer.base_pj
                    - (layer.memory_pj if config.objective == "core" else 0.0)
                    + protected_bits * bit
                    + razor * product_bit
                    + toggles[v, index] * layer.protected_toggle_pj
                    + buffer_toggles[v, index] * layer.hold_buffer_toggle_pj
                    + scaling[v, index]
                    + replayed
                )
        energy[r] = table
        per_stall[r] = scaling
    lowest = np.full((n_v, n_l), width)
    failing = probabilities > 0
    for v in range(n_v):
        for index in range(n_l):
            bits_failing = np.nonzero(failing[v, index])[0]
            if bits_failing.size:
                lowest[v, index] = bits_failing.min()
    valid = first[None, None, :] >= lowest[:, :, None]
    valid[:, :, 0] = True
    if product_choice is not None:
        with_product = np.array(product_choice)[None, None, :]
        valid &= ~with_product | ((product_masks != 0) & product_feasible[:, None, None])
    return SensitivityTable(
        vdds=tuple(vdds),
        layers=tuple(p.name for p in profiles),
        choices=choices,
        bit_probabilities=probabilities,
        detect=detect,
        visible=visible,
        visible_drop=visible_drop,
        recovery_cycles=recovery,
        energy_pj=energy,
        base_cycles=base,
        valid=valid,
        protected_bits=np.broadcast_to(protected_bits, (n_v, n_l, n_c)).copy(),
        coefficients=coefficients,
        stall_cycles=stall_cycles_table(config, failing_vdds=failing_vdds),
        energy_per_stall_pj=per_stall,
        product_choice=product_choice,
        product_masks=product_masks,
        product_stall_cycles=None
        if product_choice is None
        else stall_cycles_table(config, failing_vdds=failing_vdds, product_masks=masks_by_vdd),
    )


def stall_cycles_table(
    config: OptimizeConfig, *, failing_vdds: Sequence[bool] | None = None, product_masks: Sequence[int] | None = None
) -> dict[str, np.ndarray]:
    """Cycles one recovery costs, per policy, VDD of the grid and Razor flip-flops per PE.

    ``table[r][v, h]``: with ``config.penalty_cycles`` given, that number (0 for ``drop``);
    with None, the stall model of :func:`sim.recovery.razor_design` (as ``vscale accuracy``
    and the array engines resolve it) for the policy, the array, the PE built with the hold
    buffers of the top ``h`` accumulator bits (a plan's union: its masks run from a first bit
    to the MSB), the window and the guarded supply of VDD ``v``. ``h = 0``: no recovery, 0.
    VDDs where `failing_vdds` is False detect nothing; their stall is the nominal VDD's.
    `product_masks` (per VDD): the product register bits the array protects too (the union
    of the plan's layers), which deepen the error tree and widen the PE.
    """
    from sim.protection import Protection
    from sim.recovery import razor_design

    width = config.pe.width
    vdds = config.vdds
    tables = {r: np.zeros((len(vdds), width + 1), np.int64) for r in RECOVERIES}
    if config.penalty_cycles is not None:
        for r in ("global", "column", "local"):
            tables[r][:, 1:] = int(config.penalty_cycles)
        return tables
    failing = [True] * len(vdds) if failing_vdds is None else list(failing_vdds)
    rows: dict[tuple[float, int], dict[str, list[int]]] = {}
    for v, vdd in enumerate(vdds):
        product = 0 if product_masks is None else int(product_masks[v])
        point = (vdd if failing[v] else vdds[0], product)
        if point not in rows:
            timing = config.timing(point[0])
            rows[point] = {
                r: [0]
                + [
                    razor_design(
                        Protection(
                            protected_mask=((1 << width) - 1) & ~((1 << (width - bits)) - 1),
                            recovery=r,
                            razor_window_ps=config.razor_window_ps,
                            product_mask=product,
                        ),
                        rows=config.rows,
                        cols=config.cols,
                        dataflow="ws",
                        f_clk_mhz=config.f_clk_mhz,
                        pe=config.pe,
                        timing=timing,
                    ).stall.stall_cycles
                    for bits in range(1, width + 1)
                ]
                for r in ("global", "column", "local")
            }
        for r, stalls in rows[point].items():
            tables[r][v] = stalls
    return tables


@dataclass(frozen=True, kw_only=True)
class PlanChoice:
    """One solution of the screen at one (VDD, recovery)."""

    vdd_v: float
    recovery: str
    first_bits: tuple[int, ...]
    energy_pj: float
    visible_errors: float
    predicted_loss_pct: float
    latency_overhead_pct: float
    razor_flops: int
    masks: tuple[int, ...] | None = None
    stall_cycles: int | None = None
    product_masks: tuple[int, ...] | None = None


def _limits(table: SensitivityTable, config: OptimizeConfig) -> tuple[float, float, int]:
    loss = config.max_accuracy_loss_pct / 100.0
    visible_budget = math.inf if loss >= 1.0 else -math.log1p(-loss)
    max_bits = config.pe.width if config.max_razor_flops is None else config.max_razor_flops // config.pes
    return visible_budget, config.max_latency_overhead_pct, int(max_bits)


def _arrays(
    table: SensitivityTable, v: int, recovery: str, stall: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    visible = table.visible[v] + (table.visible_drop[v] if recovery == "drop" else 0.0)
    return table.energy_at(recovery, v, stall), visible, table.recovery_at(recovery, v, stall)


def _union_bits(table: SensitivityTable, v: int, picks: Sequence[int]) -> int:
    """Razor flip-flops per PE of a plan: its layers' union (masks run from a first bit to the MSB)."""
    return max((int(table.protected_bits[v, i, c]) for i, c in enumerate(picks)), default=0)


def _product_union(table: SensitivityTable, v: int, picks: Sequence[int]) -> int:
    """Product register bits with a Razor flip-flop in a plan's array: its layers' union."""
    return union_mask(table.product_mask(v, i, c) for i, c in enumerate(picks))


def _plan_stall(table: SensitivityTable, v: int, recovery: str, picks: Sequence[int]) -> int:
    return table.stall(recovery, v, _union_bits(table, v, picks), product=_product_union(table, v, picks) != 0)


def _choice(table: SensitivityTable, config: OptimizeConfig, v: int, recovery: str, picks: Sequence[int]) -> PlanChoice:
    stall = _plan_stall(table, v, recovery, picks)
    product_union = _product_union(table, v, picks)
    energy, visible, recovery_cycles = _arrays(table, v, recovery, stall)
    rows = range(len(picks))
    total_visible = float(sum(visible[i, c] for i, c in zip(rows, picks, strict=True)))
    overhead = (
        100.0
        * float(sum(recovery_cycles[i, c] for i, c in zip(rows, picks, strict=True)))
        / float(table.base_cycles.sum())
    )
    bits = max(int(table.protected_bits[v, i, c]) for i, c in zip(rows, picks, strict=True))
    return PlanChoice(
        vdd_v=table.vdds[v],
        recovery=recovery,
        first_bits=tuple(table.choices[c] for c in picks),
        energy_pj=float(sum(energy[i, c] for i, c in zip(rows, picks, strict=True))),
        visible_errors=total_visible,
        predicted_loss_pct=100.0 * float(-np.expm1(-total_visible)),
        latency_overhead_pct=overhead,
        razor_flops=(bits + product_union.bit_count()) * config.pes,
        stall_cycles=stall,
        product_masks=None
        if table.product_choice is None
        else tuple(table.product_mask(v, i, c) for i, c in enumerate(picks)),
    )


def _allowed(table: SensitivityTable, v: int, max_bits: int) -> np.ndarray:
    razor = table.protected_bits[v]
    if table.product_bits is not None:
        razor = razor + table.product_bits[v]
    return table.valid[v] & (razor <= max_bits)


def solve_milp(
    table: SensitivityTable,
    config: OptimizeConfig,
    v: int,
    recovery: str,
    *,
    visible_budget: float | None = None,
    overhead_budget_pct: float | None = None,
    objective: str = "energy",
) -> PlanChoice | None:
    """The minimum-energy plan at VDD index `v` with `recovery`, by ``scipy.optimize.milp``.

    Binary ``x[l, c]`` picks choice ``c`` for layer ``l``; one choice per layer; the sum
    of visible errors and of recovery cycles are bounded by the budgets. Returns None
    when no plan meets them.

    One recovery's stall depends on the Razor flip-flops of the whole array (the union of the
    layers' bits, :meth:`SensitivityTable.stall`), which no linear term expresses: the MILP is
    solved once per cap ``h`` on the union at which the stall changes, each charging the
    largest stall of a union up to ``h``, and each solution is then priced at the stall of its
    own union (no more than it was solved with, so it stays within the budgets); the best of
    them is exact when the stall does not fall as bits are added.
    """
    default_visible, default_overhead, max_bits = _limits(table, config)
    stalls = np.ones(max_bits + 1, np.int64) if table.stall_cycles is None else table.stall_cycles[recovery][v]
    if table.product_stall_cycles is not None:
        stalls = np.maximum(stalls, table.product_stall_cycles[recovery][v])
    top = min(max_bits, len(stalls) - 1)
    caps = [h for h in range(1, top + 1) if h == top or stalls[h + 1] != stalls[h]] or [top]
    best: PlanChoice | None = None
    for cap in caps:
        stall = int(np.max(stalls[: cap + 1]))
        plan = _solve_milp_at(
            table,
            config,
            v,
            recovery,
            stall=stall,
            max_bits=max_bits if cap == top else cap,
            visible_budget=default_visible if visible_budget is None else visible_budget,
            overhead_budget_pct=default_overhead if overhead_budget_pct is None else overhead_budget_pct,
            objective=objective,
        )
        if plan is not None and (best is None or _objective(plan, objective) < _objective(best, objective)):
            best = plan
    return best


def _objective(plan: PlanChoice, objective: str) -> float:
    return {"energy": plan.energy_pj, "visible": plan.visible_errors, "recovery": plan.latency_overhead_pct}[objective]


def _solve_milp_at(
    table: SensitivityTable,
    config: OptimizeConfig,
    v: int,
    recovery: str,
    *,
    stall: int,
    max_bits: int,
    visible_budget: float,
    overhead_budget_pct: float,
    objective: str,
) -> PlanChoice | None:
    """:func:`solve_milp` with one recovery costing `stall` cycles and at most `max_bits` protected bits."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix

    energy, visible, recovery_cycles = _arrays(table, v, recovery, stall)
    allowed = _allowed(table, v, max_bits)
    index = np.argwhere(allowed)
    if not all(allowed[layer].any() for layer in range(allowed.shape[0])):
        return None
    count = len(index)
    layer_of = index[:, 0]
    choice_of = index[:, 1]
    minimised = {"energy": energy, "visible": visible, "recovery": recovery_cycles}[objective]
    scale = float(np.max(np.abs(minimised[allowed]))) or 1.0
    cost = minimised[layer_of, choice_of] / scale + 1e-9 * energy[layer_of, choice_of] / (np.max(energy) or 1.0)
    one_per_layer = coo_matrix((np.ones(count), (layer_of, np.arange(count))), shape=(allowed.shape[0], count)).tocsr()
    rows = [LinearConstraint(one_per_layer, 1, 1)]
    if math.isfinite(visible_budget):
        rows.append(LinearConstraint(visible[layer_of, choice_of][None, :], -np.inf, visible_budget))
    if math.isfinite(overhead_budget_pct):
        limit = overhead_budget_pct / 100.0 * float(table.base_cycles.sum())
        rows.append(LinearConstraint(recovery_cycles[layer_of, choice_of][None, :], -np.inf, limit))
    result = milp(cost, constraints=rows, integrality=np.ones(count), bounds=Bounds(0, 1))
    if result.status != 0 or result.x is None:
        return None
    chosen = np.round(result.x).astype(bool)
    picks = [0] * allowed.shape[0]
    for position in np.nonzero(chosen)[0]:
        picks[layer_of[position]] = int(choice_of[position])
    return _choice(table, config, v, recovery, picks)


def solve_exhaustive(table: SensitivityTable, config: OptimizeConfig, v: int, recovery: str) -> PlanChoice | None:
    """Every combination of per-layer choices (small instances only): the minimum-energy feasible plan."""
    visible_budget, overhead_budget, max_bits = _limits(table, config)
    allowed = _allowed(table, v, max_bits)
    options = [np.nonzero(allowed[layer])[0].tolist() for layer in range(allowed.shape[0])]
    limit = overhead_budget / 100.0 * float(table.base_cycles.sum())
    best: tuple[float, tuple[int, ...]] | None = None
    layers = range(len(options))
    for picks in itertools.product(*options):
        energy, visible, recovery_cycles = _arrays(table, v, recovery, _plan_stall(table, v, recovery, picks))
        if sum(visible[i, c] for i, c in zip(layers, picks, strict=True)) > visible_budget * (1 + 1e-9):
            continue
        if sum(recovery_cycles[i, c] for i, c in zip(layers, picks, strict=True)) > limit * (1 + 1e-9):
            continue
        total = float(sum(energy[i, c] for i, c in zip(layers, picks, strict=True)))
        if best is None or total < best[0]:
            best = (total, picks)
    return None if best is None else _choice(table, config, v, recovery, best[1])


def _solve(table: SensitivityTable, config: OptimizeConfig, v: int, recovery: str, **budgets) -> PlanChoice | None:
    if config.solver == "exhaustive" and not budgets:
        return solve_exhaustive(table, config, v, recovery)
    return solve_milp(table, config, v, recovery, **budgets)


def best_plan(table: SensitivityTable, config: OptimizeConfig) -> tuple[PlanChoice | None, dict[float, PlanChoice]]:
    """The minimum-energy feasible plan over the VDD grid and policies, and the best plan per VDD."""
    per_vdd: dict[float, PlanChoice] = {}
    for v, vdd in enumerate(table.vdds):
        for recovery in config.recovery:
            plan = _solve(table, config, v, recovery)
            if plan is not None and (vdd not in per_vdd or plan.energy_pj < per_vdd[vdd].energy_pj):
                per_vdd[vdd] = plan
    chosen = min(per_vdd.values(), key=lambda plan: plan.energy_pj, default=None)
    return chosen, per_vdd


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """The chosen plan: its VDD, recovery policy and first protected bit per layer (-1: none)."""

    vdd_v: float
    recovery: str
    penalty_cycles: int | None
    layers: tuple[str, ...]
    first_bits: tuple[int, ...]
    model: str
    width: int
    razor_window_ps: float | None = None
    product_masks: tuple[int, ...] | None = None

    def layer_product_masks(self) -> dict[str, int]:
        """Protected product register bits of the layers that protect any."""
        if self.product_masks is None:
            return {}
        return {name: mask for name, mask in zip(self.layers, self.product_masks, strict=True) if mask}

    def layer_masks(self) -> dict[str, int]:
        """Protected-bit mask of every layer."""
        top = (1 << self.width) - 1
        return {
            name: 0 if bit < 0 else top & ~((1 << bit) - 1)
            for name, bit in zip(self.layers, self.first_bits, strict=True)
        }

    def to_plan(self) -> Any:
        """The plan as a :class:`sim.protection.ProtectionPlan`."""
        from sim.protection import ProtectionPlan

        return ProtectionPlan(
            layers=self.layer_masks(),
            recovery=self.recovery,
            penalty_cycles=self.penalty_cycles,
            model=self.model,
            vdd_v=round(self.vdd_v, 3),
            razor_window_ps=self.razor_window_ps,
            product_layers=self.layer_product_masks(),
        )

    def to_toml(self) -> str:
        """The plan file (``--plan FILE.toml``), written by :func:`experiments.plans.plan_toml`."""
        from experiments.plans import plan_toml

        return plan_toml(self.to_plan())


def binding_budget(table: SensitivityTable, config: OptimizeConfig, v: int, recovery: str) -> str:
    """Which budget makes VDD index `v` infeasible: solve with each budget lifted in turn."""
    if solve_milp(table, config, v, recovery, visible_budget=math.inf) is not None:
        return "accuracy"
    if solve_milp(table, config, v, recovery, overhead_budget_pct=math.inf) is not None:
        return "latency"
    if solve_milp(table, config, v, recovery, visible_budget=math.inf, overhead_budget_pct=math.inf) is not None:
        return "accuracy+latency"
    return "razor_flops"


def _best_achievable(table: SensitivityTable, config: OptimizeConfig) -> dict[str, float]:
    """Lowest predicted loss within the latency budget, and lowest latency overhead within the
    accuracy budget, over the grid and policies (inf: not reachable even so)."""
    loss = math.inf
    overhead = math.inf
    for v in range(len(table.vdds)):
        for recovery in config.recovery:
            plan = solve_milp(table, config, v, recovery, visible_budget=math.inf, objective="visible")
            if plan is not None:
                loss = min(loss, plan.predicted_loss_pct)
            plan = solve_milp(table, config, v, recovery, overhead_budget_pct=math.inf, objective="recovery")
            if plan is not None:
                overhead = min(overhead, plan.latency_overhead_pct)
    return {"accuracy_loss_pct": loss, "latency_overhead_pct": overhead}


class Infeasible(ConfigError):
    """No plan on the grid meets the budgets."""


def infeasible_message(table: SensitivityTable, config: OptimizeConfig) -> str:
    """One line: which budget binds and the best achievable figures."""
    binding = {binding_budget(table, config, v, r) for v in range(len(table.vdds)) for r in config.recovery}
    best = _best_achievable(table, config)
    order = [b for b in ("accuracy", "latency", "accuracy+latency", "razor_flops") if b in binding]
    return (
        f"no plan meets the budgets (binding: {', '.join(order)}); best achievable on "
        f"{table.vdds[0]:g}..{table.vdds[-1]:g} V: accuracy loss {best['accuracy_loss_pct']:.3g} points within "
        f"the latency budget (budget {config.max_accuracy_loss_pct:g}), latency overhead "
        f"{best['latency_overhead_pct']:.3g} % within the accuracy budget "
        f"(budget {config.max_latency_overhead_pct:g} %)"
    )


def pareto_flags(points: np.ndarray) -> np.ndarray:
    """Non-dominated rows of `points` (all columns minimised)."""
    flags = np.ones(len(points), bool)
    for i, point in enumerate(points):
        dominated = np.all(points <= point, axis=1) & np.any(points < point, axis=1)
        flags[i] = not dominated.any()
    return flags


def plan_bits(plan: PlanChoice, layers: Sequence[str], width: int = 32) -> str:
    """Short description of a plan's protection: ``31:22 (15/17 layers)``, ``31:22 to 31:25 (17/17 layers)``."""
    first = [b for b in plan.first_bits if b >= 0]
    if not first:
        return "none"
    msb = width - 1

    def span(bit: int) -> str:
        return str(msb) if bit == msb else f"{msb}:{bit}"

    lowest, highest = min(first), max(first)
    text = span(lowest) if lowest == highest else f"{span(lowest)} to {span(highest)}"
    return f"{text} ({len(first)}/{len(layers)} layers)"


def plan_product_bits(plan: PlanChoice, layers: Sequence[str]) -> str:
    """The product register bits a plan protects: ``15:13 (4/17 layers)``, ``none``."""
    from sim.protection import format_bit_mask

    masks = [mask for mask in (plan.product_masks or ()) if mask]
    if not masks:
        return "none"
    return f"{format_bit_mask(union_mask(masks))} ({len(masks)}/{len(layers)} layers)"


def nominal_energy(table: SensitivityTable, config: OptimizeConfig) -> float:
    """Energy per image at the top of the grid with no protection (the reference of `saving_pct`)."""
    return float(table.energy_pj["global"][0, :, 0].sum())


def meets_budgets(plan: PlanChoice, config: OptimizeConfig) -> bool:
    return (
        plan.predicted_loss_pct <= config.max_accuracy_loss_pct + 1e-9
        and plan.latency_overhead_pct <= config.max_latency_overhead_pct + 1e-9
        and (config.max_razor_flops is None or plan.razor_flops <= config.max_razor_flops)
    )


def unprotected_plan(vdd_v: float, layers: Sequence[str]) -> PlanChoice:
    """No protected bit in any layer at `vdd_v` (screen figures left at 0)."""
    return PlanChoice(
        vdd_v=vdd_v,
        recovery="global",
        first_bits=(-1,) * len(layers),
        energy_pj=0.0,
        visible_errors=0.0,
        predicted_loss_pct=0.0,
        latency_overhead_pct=0.0,
        razor_flops=0,
    )


def uniform_plan(vdd_v: float, layers: Sequence[str], mask: int, recovery: str, width: int) -> PlanChoice:
    """The same protected bits (`mask`, from its lowest set bit to the MSB) in every layer."""
    first = -1 if mask == 0 else (mask & -mask).bit_length() - 1
    return dataclasses.replace(unprotected_plan(vdd_v, layers), recovery=recovery, first_bits=(first,) * len(layers))


def plan_from_file(plan: Any, vdd_v: float, layers: Sequence[str], width: int) -> PlanChoice:
    """A :class:`sim.protection.ProtectionPlan` (``--plan``) at `vdd_v` as a PlanChoice with its own masks."""
    masks = tuple(plan.mask_for(name) for name in layers)
    first = tuple(-1 if mask == 0 else (mask & -mask).bit_length() - 1 for mask in masks)
    products = tuple(plan.product_mask_for(name) for name in layers)
    return dataclasses.replace(
        unprotected_plan(vdd_v, layers),
        recovery=plan.recovery,
        first_bits=first,
        masks=masks,
        product_masks=products if any(products) else None,
    )


def plan_picks(table: SensitivityTable, plan: PlanChoice) -> list[int]:
    """The table's choice index of every layer of `plan` (its first bits and product protection)."""
    products = plan.product_masks or (0,) * len(plan.first_bits)
    return [table.choice_index(bit, product) for bit, product in zip(plan.first_bits, products, strict=True)]


def plan_stall(table: SensitivityTable, plan: PlanChoice) -> int:
    """Cycles one recovery of `plan` costs at its VDD (the stall of its union of protected bits)."""
    if plan.stall_cycles is not None:
        return plan.stall_cycles
    v = table.vdds.index(plan.vdd_v)
    return _plan_stall(table, v, plan.recovery, plan_picks(table, plan))


def plan_recovery_cycles(table: SensitivityTable, plan: PlanChoice) -> float:
    """Recovery cycles per image the screen predicts for `plan`, at its stall."""
    v = table.vdds.index(plan.vdd_v)
    cycles = table.recovery_at(plan.recovery, v, plan_stall(table, plan))
    return float(sum(cycles[i, c] for i, c in enumerate(plan_picks(table, plan))))


def predicted_overhead(table: SensitivityTable, plan: PlanChoice | None) -> float:
    """Latency overhead the screen predicts for `plan` (i.i.d. analytic probabilities, closed form)."""
    if plan is None or plan.vdd_v not in table.vdds:
        return 0.0 if plan is None else math.nan
    return 100.0 * plan_recovery_cycles(table, plan) / float(table.base_cycles.sum())
