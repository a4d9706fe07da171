"""``vscale simulate``: layers run MAC by MAC on the array at one supply voltage.

Every layer runs through :func:`sim.engine.simulate_grouped_gemm` with seeded random int8
operands: activations are ReLU-like (half zeros, the rest ``|N(0, 40)|`` rounded and
clipped to 0..127) and weights Gaussian (``N(0, 25)`` rounded and clipped to -128..127),
the operand model of ``vscale probs --operands dnn``. A convolution gets a random input
feature map and random filters lowered by im2col, so neighbouring output pixels share
inputs as in a real network. Writes ``simulate.csv`` (per layer), ``flips.csv`` (flipped
bits per accumulator bit position and layer), ``summary.json``, ``flips.png`` and
``config.json`` to ``--out``.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
from typing import Any

import numpy as np

from experiments.cli import add_output_options, output_dir
from experiments.configs import resolve_array_config
from experiments.output import Table, emit, progress, save_figure, subplots, write_csv, write_json
from experiments.pe_options import add_pe_options, add_timing_options, pe_config, timing_from_args
from pe_models.errors import ConfigError
from sim.config import DATAFLOWS
from sim.engine import ENGINES
from sim.layers import ConvLayer, GemmLayer, Layer
from sim.protection import STALL_SCOPES, Protection, parse_bit_mask
from workloads.topologies import BUILTIN_TOPOLOGIES, load_topology

__all__ = [
    "COLUMNS",
    "OPERAND_MODEL",
    "layer_operands",
    "load_gemm_operands",
    "parse_layer",
    "parse_layer_range",
    "register",
    "run",
]

COLUMNS = (
    "layer_id",
    "layer_name",
    "m",
    "n",
    "k",
    "groups",
    "folds",
    "macs",
    "cycles",
    "compute_cycles",
    "correction_cycles",
    "memory_stall_cycles",
    "erroneous_macs",
    "detections",
    "detection_cycles",
    "wrong_outputs",
    "relative_error",
    "max_abs_error",
)
_TABLE_COLUMNS = (
    "layer",
    "M",
    "N",
    "K",
    "groups",
    "macs",
    "cycles",
    "correction",
    "memory",
    "erroneous_macs",
    "detections",
    "wrong_outputs",
    "rel_error",
)
OPERAND_MODEL = {
    "activations": "ReLU-like: 0 with probability 1/2, else |N(0, 40)|; rounded, clipped to 0..127",
    "weights": "N(0, 25) rounded, clipped to -128..127",
}
_ACTIVATION_SIGMA = 40.0
_WEIGHT_SIGMA = 25.0


def parse_layer(text: str) -> GemmLayer:
    """``--layer M,N,K`` -> a GEMM layer named ``gemm``.

    Raises
    ------
    ConfigError
        ``--layer: expected M,N,K with positive integers, e.g. 64,32,27, got '...'``.
    """
    match = re.fullmatch(r"\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*", text)
    if match is None or 0 in (int(value) for value in match.groups()):
        raise ConfigError(f"--layer: expected M,N,K with positive integers, e.g. 64,32,27, got {text!r}")
    m, n, k = (int(value) for value in match.groups())
    return GemmLayer(name="gemm", m=m, n=n, k=k)


def parse_layer_range(text: str | None, count: int) -> range:
    """``--layers START:STOP`` (0-based, STOP exclusive, either may be empty) or ``I``.

    Raises
    ------
    ConfigError
        Malformed text or an empty selection.
    """
    if text is None:
        return range(count)
    match = re.fullmatch(r"\s*(\d*)\s*(:\s*(\d*)\s*)?", text)
    if match is None or (match.group(2) is None and not match.group(1)):
        raise ConfigError(f"--layers: expected START:STOP or an index (0-based), e.g. 0:3, got {text!r}")
    start = int(match.group(1)) if match.group(1) else 0
    if match.group(2) is None:
        stop = start + 1
    else:
        stop = int(match.group(3)) if match.group(3) else count
    selected = range(count)[start:stop]
    if len(selected) == 0:
        raise ConfigError(f"--layers: {text!r} selects no layer; the topology has layers 0..{count - 1}")
    return selected


def _activations(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    values = np.abs(rng.normal(0.0, _ACTIVATION_SIGMA, shape))
    values[rng.random(shape) < 0.5] = 0.0
    return np.clip(np.rint(values), 0, 127).astype(np.int8)


def _weights(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return np.clip(np.rint(rng.normal(0.0, _WEIGHT_SIGMA, shape)), -128, 127).astype(np.int8)


def layer_operands(layer: Layer, seed: np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray]:
    """Random int8 GEMM operands of a layer (:data:`OPERAND_MODEL`).

    Returns
    -------
    activations : ndarray, int8, shape (groups, M, K)
    weights : ndarray, int8, shape (groups, K, N)
    """
    from sim.layers import im2col, weights_to_gemm

    rng = np.random.default_rng(seed)
    if isinstance(layer, ConvLayer):
        ifmap = _activations(rng, (layer.channels, layer.ifmap_h, layer.ifmap_w))
        filters = _weights(rng, (layer.num_filters, layer.channels // layer.groups, layer.filter_h, layer.filter_w))
        return im2col(layer, ifmap), weights_to_gemm(layer, filters)
    problem = layer.gemm()
    return _activations(rng, (1, problem.m, problem.k)), _weights(rng, (1, problem.k, problem.n))


def load_gemm_operands(path: str) -> tuple[np.ndarray, np.ndarray]:
    """Read supplied GEMM operands: a ``.npz`` with int8-valued ``activations`` (M, K) and ``weights`` (K, N).

    Raises
    ------
    ConfigError
        Unreadable file, missing array, wrong rank, mismatched K, non-integer or out-of-range values.
    """
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in ("activations", "weights") if name in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError):
        raise ConfigError(f"{path}: not a readable .npz file with arrays activations, weights") from None
    for name in ("activations", "weights"):
        if name not in arrays:
            raise ConfigError(f"{path}: missing array {name!r}; --operands needs arrays activations, weights")
    activations, weights = arrays["activations"], arrays["weights"]
    for name, array in arrays.items():
        if array.ndim != 2 or 0 in array.shape:
            raise ConfigError(f"{path}: array {name!r} must be a non-empty 2-D matrix, got shape {array.shape}")
        if array.dtype.kind not in "iu" or array.min() < -128 or array.max() > 127:
            raise ConfigError(f"{path}: array {name!r} must hold integers in -128..127")
    if activations.shape[1] != weights.shape[0]:
        raise ConfigError(f"{path}: activations {activations.shape} and weights {weights.shape} do not share K")
    return activations.astype(np.int8), weights.astype(np.int8)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="run layers MAC by MAC on the array at one VDD: cycles, corrections, bit flips, output error",
        description="Run GEMM or convolution layers on the systolic array with every MAC through the "
        "chain-level PE model at the given supply voltage (random seeded int8 operands), with optional "
        "protected accumulator bits; report cycles, correction cycles, flipped bits per bit position and "
        "the relative output error.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--layer", metavar="M,N,K", help="one GEMM layer C[M,N] = A[M,K] @ B[K,N]")
    source.add_argument(
        "--operands",
        metavar="FILE.npz",
        help="one GEMM with supplied operands: int8-valued arrays activations (M, K) and weights (K, N)",
    )
    source.add_argument(
        "--topology",
        metavar="FILE|NAME",
        help=f"topology CSV file (SCALE-Sim or vscale format) or a built-in name: {', '.join(BUILTIN_TOPOLOGIES)}",
    )
    parser.add_argument(
        "--layers",
        metavar="START:STOP",
        help="with --topology: run only these layers (0-based, STOP exclusive) (default: all)",
    )
    parser.add_argument(
        "--array", metavar="ROWSxCOLS", default="256x256", help="array shape in PEs, rows x columns (default: 256x256)"
    )
    parser.add_argument(
        "--dataflow",
        metavar="|".join(DATAFLOWS),
        default="ws",
        help="ws (weights stationary), os (outputs stationary) or is (inputs stationary) (default: ws)",
    )
    parser.add_argument(
        "--bandwidth",
        metavar="WORDS_PER_CYCLE",
        help="DRAM bandwidth in words per cycle; adds the double-buffered memory stalls of "
        "docs/latency.md (default: unlimited, no stalls)",
    )
    parser.add_argument(
        "--engine",
        choices=tuple(ENGINES),
        default="fast",
        help="PE grid engine: numba kernel per fold, or PE objects stepped cycle by cycle "
        "(small arrays only) (default: fast)",
    )
    parser.add_argument(
        "--protect",
        metavar="HIGH:LOW,...",
        default="none",
        help="protected accumulator bits, e.g. 31:20 or 31,30 (default: none)",
    )
    parser.add_argument(
        "--penalty", type=int, default=1, metavar="CYCLES", help="cycles one correction costs, >= 0 (default: 1)"
    )
    parser.add_argument(
        "--stall",
        choices=STALL_SCOPES,
        default="global",
        help="who waits for a correction: the whole array or the PE's column (default: global)",
    )
    parser.add_argument(
        "--sigma-die",
        type=float,
        default=0.0,
        metavar="S",
        help="process variation: relative delay std between dies, 0..0.3 (default: 0)",
    )
    parser.add_argument(
        "--sigma-pe",
        type=float,
        default=0.0,
        metavar="S",
        help="process variation: relative delay std between PEs, 0..0.3 (default: 0)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the operands and of the process-variation die, >= 0 (default: 0)"
    )
    add_timing_options(parser)
    add_pe_options(parser)
    add_output_options(parser, "simulate")
    parser.set_defaults(handler=run)


def _layer_row(index: int, layer: Layer, result: Any) -> list[Any]:
    problem = layer.gemm()
    return [
        index,
        layer.name,
        problem.m,
        problem.n,
        problem.k,
        problem.groups,
        result.folds,
        result.macs,
        result.cycles,
        result.compute_cycles,
        result.correction_cycles,
        result.memory_stall_cycles,
        result.erroneous_macs,
        result.detections,
        result.detection_cycles,
        result.wrong_outputs,
        result.relative_error,
        result.max_abs_error,
    ]


def _plot(flips: np.ndarray, residual: np.ndarray, protected_mask: int, title: str):

    width = flips.shape[0]
    bits = np.arange(width)
    figure, axes = subplots(figsize=(8, 3.5))
    for bit in bits:
        if (protected_mask >> int(bit)) & 1:
            axes.axvspan(bit - 0.5, bit + 0.5, color="0.9", zorder=0)
    axes.bar(bits, flips - residual, color="tab:green", label="detected and corrected", zorder=2)
    axes.bar(bits, residual, bottom=flips - residual, color="tab:red", label="unprotected (stayed)", zorder=2)
    axes.set_xlim(-0.5, width - 0.5)
    axes.set_xlabel("accumulator bit position (grey: protected)")
    axes.set_ylabel("flipped bits")
    axes.set_title(title, fontsize=9)
    if flips.sum() > 0:
        axes.set_yscale("symlog", linthresh=1)
        axes.legend(fontsize=8, loc="upper left")
    else:
        axes.text(0.5, 0.5, "no timing errors", transform=axes.transAxes, ha="center", va="center")
    return figure


def run(args: argparse.Namespace) -> int:
    from pe_models.chain import mac_parameters
    from pe_models.variation import MAX_SIGMA, ProcessVariation
    from sim.engine import simulate_grouped_gemm

    out = output_dir(args)
    pe = pe_config(args)
    timing = timing_from_args(args, pe)
    mac_parameters(pe, timing)
    if args.seed < 0:
        raise ConfigError(f"--seed: expected a non-negative integer, got {args.seed}")
    if args.penalty < 0:
        raise ConfigError(f"--penalty: expected a non-negative integer number of cycles, got {args.penalty}")
    protection = Protection(
        protected_mask=parse_bit_mask(args.protect, width=pe.width), penalty_cycles=args.penalty, stall_scope=args.stall
    )
    for option, sigma in (("--sigma-die", args.sigma_die), ("--sigma-pe", args.sigma_pe)):
        if not 0.0 <= sigma <= MAX_SIGMA:
            raise ConfigError(f"{option}: expected a relative standard deviation in 0..{MAX_SIGMA:g}, got {sigma:g}")
    variation = None
    if args.sigma_die or args.sigma_pe:
        variation = ProcessVariation(sigma_die=args.sigma_die, sigma_pe=args.sigma_pe)
    f_clk_mhz = 1e9 / timing.t_clk_fs
    array = resolve_array_config(array=args.array, dataflow=args.dataflow, bandwidth=args.bandwidth)
    array = dataclasses.replace(array, f_clk_mhz=f_clk_mhz, accumulator_bits=pe.width)
    supplied = None
    if args.operands is not None:
        if args.layers is not None:
            raise ConfigError("--layers: only with --topology")
        supplied = load_gemm_operands(args.operands)
        m, k = supplied[0].shape
        layers: list[tuple[int, Layer]] = [(0, GemmLayer(name="operands", m=m, n=supplied[1].shape[1], k=k))]
        source: dict[str, Any] = {"operands": args.operands}
    elif args.layer is not None:
        if args.layers is not None:
            raise ConfigError("--layers: only with --topology")
        layers = [(0, parse_layer(args.layer))]
        source = {"layer": args.layer}
    else:
        topology = load_topology(args.topology)
        selected = parse_layer_range(args.layers, len(topology.layers))
        layers = [(index, topology.layers[index]) for index in selected]
        source = {
            "topology": args.topology,
            "source": topology.source,
            "format": topology.format,
            "layers": args.layers or f"0:{len(topology.layers)}",
        }

    root = np.random.SeedSequence(args.seed)
    die = np.random.SeedSequence(root.entropy, spawn_key=(1,))
    rows: list[list[Any]] = []
    flips = np.zeros(pe.width, dtype=np.int64)
    residual = np.zeros(pe.width, dtype=np.int64)
    flip_rows: list[list[Any]] = []
    error_sq = exact_sq = 0.0
    for index, layer in progress(layers, label="simulate"):
        if supplied is not None:
            activations, weights = supplied[0][None], supplied[1][None]
        else:
            activations, weights = layer_operands(layer, np.random.SeedSequence(root.entropy, spawn_key=(0, index)))
        result = simulate_grouped_gemm(
            activations,
            weights,
            array=array,
            pe=pe,
            timing=timing,
            protection=protection,
            variation=variation,
            seed=die,
            engine=args.engine,
        )
        rows.append(_layer_row(index, layer, result))
        flips += result.flip_counts
        residual += result.residual_flip_counts
        flip_rows.extend(
            [
                index,
                layer.name,
                bit,
                int(result.flip_counts[bit]),
                int(result.residual_flip_counts[bit]),
                int((protection.protected_mask >> bit) & 1),
            ]
            for bit in range(pe.width)
        )
        error_sq += float(np.sum(result.output_errors.astype(np.float64) ** 2))
        exact_sq += float(np.sum(result.exact.astype(np.float64) ** 2))

    totals = {
        name: sum(row[COLUMNS.index(name)] for row in rows)
        for name in (
            "macs",
            "cycles",
            "compute_cycles",
            "correction_cycles",
            "memory_stall_cycles",
            "erroneous_macs",
            "detections",
            "detection_cycles",
            "wrong_outputs",
        )
    }
    if exact_sq > 0:
        relative_error = math.sqrt(error_sq / exact_sq)
    else:
        relative_error = 0.0 if error_sq == 0 else math.inf
    summary = {
        "layers": len(rows),
        **totals,
        "relative_error": relative_error,
        "latency_us": array.cycles_to_us(totals["cycles"]),
        "correction_overhead_pct": 100.0 * totals["correction_cycles"] / max(totals["compute_cycles"], 1),
        "flipped_bits": [int(x) for x in flips],
        "unprotected_flipped_bits": [int(x) for x in residual],
    }
    flip_rows.extend(
        ["", "TOTAL", bit, int(flips[bit]), int(residual[bit]), int((protection.protected_mask >> bit) & 1)]
        for bit in range(pe.width)
    )
    vdd = "" if args.vdd is None else f" at {args.vdd:g} V"
    title = (
        f"{array.shape} {array.dataflow}{vdd}, {f_clk_mhz:g} MHz, "
        f"protected {protection.to_dict()['protected_bits']}: "
        f"{totals['erroneous_macs']} erroneous of {totals['macs']} MACs"
    )

    write_csv(out / "simulate.csv", Table(columns=COLUMNS, rows=rows))
    write_csv(
        out / "flips.csv",
        Table(
            columns=("layer_id", "layer_name", "bit", "flipped_bits", "unprotected_flipped_bits", "protected"),
            rows=flip_rows,
        ),
    )
    write_json(out / "summary.json", summary)
    save_figure(out / "flips.png", _plot(flips, residual, protection.protected_mask, title))
    write_json(
        out / "config.json",
        {
            "command": "simulate",
            **source,
            "array": array.to_dict(),
            "pe": pe.as_dict(),
            "timing": {
                "vdd_v": args.vdd,
                "f_clk_mhz": f_clk_mhz,
                "t_clk_ps": timing.t_clk_fs / 1000,
                "delay_scale": timing.delay_scale,
                "t_sample_ps": timing.t_sample_fs / 1000,
            },
            "protection": protection.to_dict(),
            "variation": None if variation is None else dataclasses.asdict(variation),
            "engine": args.engine,
            "seed": args.seed,
            "operands": args.operands if supplied is not None else OPERAND_MODEL,
        },
    )

    table_rows = [
        [row[1], row[2], row[3], row[4], row[5], row[7], row[8], row[10], row[11], row[12], row[13], row[15], row[16]]
        for row in rows
    ]
    table_rows.append(
        [
            "TOTAL",
            "",
            "",
            "",
            "",
            totals["macs"],
            totals["cycles"],
            totals["correction_cycles"],
            totals["memory_stall_cycles"],
            totals["erroneous_macs"],
            totals["detections"],
            totals["wrong_outputs"],
            relative_error,
        ]
    )
    emit(Table(columns=_TABLE_COLUMNS, rows=table_rows), args.format)
    if args.format == "table":
        print(
            f"{title}; {totals['cycles']} cycles ({totals['correction_cycles']} correction, "
            f"{summary['correction_overhead_pct']:.3g} %) = {summary['latency_us']:.6g} us; "
            f"relative output error {relative_error:.3g}"
        )
    return 0
