"""`vscale trace`: operand traces of one layer of a model, as PEs of the array see them.

The model runs (int8, exact) on the evaluation images; the GEMMs of the chosen layer are
recorded. Each lane of the trace is one PE of a weight-stationary array of ``--array``
rows: it holds the weight ``W[k, n]`` of its row k and column n, sees the activations
``A[:, k]`` stream by in row order (one MAC per output row m), and receives the partial
sum of the rows above it in its K-fold, ``A[m, f:k] @ W[f:k, n]`` with ``f`` the first
row of the fold. Lanes are drawn at random (seeded) over groups, rows and columns.
The trace (``trace.npz``: arrays ``a``, ``b``, ``c`` of shape (lanes, steps)) feeds
``vscale probs --operands trace.npz`` and ``vscale slack --operands trace.npz``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from experiments.cli import add_output_options, output_dir
from experiments.output import Table, atomic_path, emit, write_csv, write_json
from pe_models.errors import ConfigError

__all__ = ["register", "trace_from_gemms"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "trace",
        help="save the operand trace of one layer (products, partial sums) for vscale probs",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--model",
        default="tinymnv2",
        metavar="NAME|FILE.onnx",
        help="tinymnv2, mobilenetv2 or a float ONNX file (default: tinymnv2)",
    )
    parser.add_argument(
        "--layer",
        required=True,
        metavar="NAME|INDEX",
        help="GEMM layer: its name or its index among the model's GEMM layers (0-based)",
    )
    parser.add_argument("--images", type=int, default=100, metavar="N", help="evaluation images to run (default: 100)")
    parser.add_argument("--lanes", type=int, default=64, metavar="PES", help="PEs (lanes) to record (default: 64)")
    parser.add_argument(
        "--steps",
        type=int,
        default=4096,
        metavar="MACS",
        help="consecutive MACs per PE, at most the layer's M (default: 4096)",
    )
    parser.add_argument(
        "--array", default="256x256", metavar="ROWSxCOLS", help="array shape; its rows fold K (default: 256x256)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the lane choice (default: 0)")
    add_output_options(parser, "trace")
    parser.set_defaults(handler=run)


class _RecordingBackend:
    """Exact GEMMs that keep the operands of one layer."""

    name = "recording"

    def __init__(self, layer: str) -> None:
        from workloads.backends import ExactBackend

        self.layer = layer
        self.stats: dict[str, np.ndarray] = {}
        self.gemms: list[tuple[np.ndarray, np.ndarray]] = []
        self._exact = ExactBackend()

    def matmul(self, activations: np.ndarray, weights: np.ndarray, *, layer: str) -> np.ndarray:
        if layer == self.layer:
            self.gemms.append((np.array(activations, dtype=np.int8), np.array(weights, dtype=np.int8)))
        return self._exact.matmul(activations, weights, layer=layer)


def trace_from_gemms(
    gemms: list[tuple[np.ndarray, np.ndarray]], *, rows: int, lanes: int, steps: int, seed: np.random.SeedSequence
) -> dict[str, np.ndarray]:
    """Operand trace of `lanes` PEs of a weight-stationary array running `gemms`.

    Parameters
    ----------
    gemms : list of (activations (M, K) int8, weights (K, N) int8)
        The GEMMs of one layer (one per group, or one per batch of images).
    rows : int
        Array rows: K is folded into chunks of `rows`.
    lanes, steps : int
    seed : SeedSequence

    Returns
    -------
    dict
        ``a``, ``b``, ``c``: int64 arrays of shape (lanes, steps), plus ``k``, ``n`` and
        ``gemm`` (lanes,): where each lane sits.
    """
    rng = np.random.default_rng(seed)
    depth = gemms[0][0].shape[1]
    columns = gemms[0][1].shape[1]
    a = np.zeros((lanes, steps), dtype=np.int64)
    b = np.zeros((lanes, steps), dtype=np.int64)
    c = np.zeros((lanes, steps), dtype=np.int64)
    which = rng.integers(0, len(gemms), lanes)
    ks = rng.integers(0, depth, lanes)
    ns = rng.integers(0, columns, lanes)
    for lane in range(lanes):
        activations, weights = gemms[which[lane]]
        k, n = ks[lane], ns[lane]
        start = (k // rows) * rows
        rows_used = activations[:steps].astype(np.int64)
        a[lane] = rows_used[:, k]
        b[lane] = weights[k, n]
        c[lane] = rows_used[:, start:k] @ weights[start:k, n].astype(np.int64)
    return {"a": a, "b": b, "c": c, "k": ks, "n": ns, "gemm": which}


def run(args: argparse.Namespace) -> int:
    from experiments.configs import resolve_array_config
    from workloads.engine import quantize_model
    from workloads.models.zoo import load_bundle

    out = output_dir(args)
    for option, value in (("--images", args.images), ("--lanes", args.lanes), ("--steps", args.steps)):
        if value < 1:
            raise ConfigError(f"{option}: expected a positive integer, got {value}")
    if args.steps < 2:
        raise ConfigError(f"--steps: expected at least 2 consecutive MACs, got {args.steps}")
    if args.seed < 0:
        raise ConfigError(f"--seed: expected a non-negative integer, got {args.seed}")
    array = resolve_array_config(array=args.array, dataflow="ws", bandwidth=None)
    bundle = load_bundle(args.model, images=args.images, seed=args.seed)
    model = quantize_model(bundle.graph, bundle.calibration_images)
    names = [layer.name for layer in model.gemm_layers]
    if args.layer in names:
        name = args.layer
    elif args.layer.isdigit() and int(args.layer) < len(names):
        name = names[int(args.layer)]
    else:
        raise ConfigError(
            f"--layer: unknown layer {args.layer!r}; allowed: 0..{len(names) - 1} or a name such as {names[0]!r}"
        )
    shape = model.gemm_layers[names.index(name)]
    recorder = _RecordingBackend(name)
    model.run(bundle.evaluation.images, recorder)
    gemms = _by_group(recorder.gemms, shape.groups)
    m_total = gemms[0][0].shape[0]
    steps = min(args.steps, m_total)
    trace = trace_from_gemms(
        gemms, rows=array.rows, lanes=args.lanes, steps=steps, seed=np.random.SeedSequence(args.seed)
    )
    metadata = {
        "model": args.model,
        "layer": name,
        "m": m_total,
        "n": shape.n,
        "k": shape.k,
        "groups": shape.groups,
        "rows": array.rows,
        "images": len(bundle.evaluation.images),
        "lanes": args.lanes,
        "steps": steps,
        "seed": args.seed,
    }
    with atomic_path(out / "trace.npz") as tmp:
        with tmp.open("wb") as handle:
            np.savez_compressed(
                handle,
                a=trace["a"],
                b=trace["b"],
                c=trace["c"],
                lane_k=trace["k"],
                lane_n=trace["n"],
                lane_group=trace["gemm"],
            )
    table = _summary(trace, metadata)
    write_csv(out / "trace_summary.csv", table)
    write_json(
        out / "config.json",
        {"command": "trace", **metadata, "array": args.array, "trace": str(Path(args.out) / "trace.npz")},
    )
    emit(table, args.format)
    return 0


def _by_group(gemms: list[tuple[np.ndarray, np.ndarray]], groups: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stack the per-batch calls of each group into one GEMM per group (rows in image order)."""
    per_group: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(groups)]
    for index, gemm in enumerate(gemms):
        per_group[index % groups].append(gemm)
    return [(np.concatenate([g[0] for g in calls]), calls[0][1]) for calls in per_group if calls]


def _summary(trace: dict[str, np.ndarray], metadata: dict[str, Any]) -> Table:
    a, b, c = trace["a"], trace["b"], trace["c"]
    products = a * b
    sign_changes = np.mean(np.sign(c[:, 1:]) * np.sign(c[:, :-1]) < 0)
    changed = (c[:, 1:] ^ c[:, :-1]) & 0xFFFFFFFF
    toggles = sum(float(np.mean((changed >> bit) & 1)) for bit in range(32))
    rows = [
        [
            metadata["layer"],
            metadata["m"],
            metadata["n"],
            metadata["k"],
            metadata["groups"],
            metadata["lanes"],
            metadata["steps"],
            float(np.mean(products == 0)),
            float(np.mean(np.abs(c))),
            float(sign_changes),
            toggles,
        ]
    ]
    return Table(
        columns=[
            "layer",
            "m",
            "n",
            "k",
            "groups",
            "lanes",
            "steps",
            "zero_products",
            "mean_abs_partial_sum",
            "partial_sum_sign_changes",
            "partial_sum_bit_toggles_per_mac",
        ],
        rows=rows,
    )
