"""`vscale trace`: operand traces of one layer of a model, as PEs of the array see them.

The model runs (int8, exact) on the evaluation images; the GEMMs of the chosen layer are
recorded. Each lane of the trace is one PE of a weight-stationary array of ``--array``
rows: it holds the weight ``W[k, n]`` of its row k and column n, sees the activations
``A[:, k]`` stream by in row order (one MAC per output row m), and receives the partial
sum of the rows above it in its K-fold, ``A[m, f:k] @ W[f:k, n]`` with ``f`` the first
row of the fold. Lanes are drawn at random (seeded) over groups, rows and columns.
The trace (``trace.npz``: arrays ``a``, ``b``, ``c`` of shape (lanes, steps)) feeds
``vscale probs --operands trace.npz`` and ``vscale slack --operands trace.npz``.
``--list-layers`` prints the model's GEMM layers instead.

Printed numbers: m, n, k, groups = the layer's GEMM (M over all images); zero_products =
fraction of MACs with a * b = 0 (0..1); mean_abs_partial_sum = mean |c| in accumulator
LSBs (int8 x int8 product units); partial_sum_sign_changes = fraction of consecutive MACs
whose partial sums change sign (0..1); partial_sum_bit_toggles_per_mac = mean number of
the 32 accumulator bits of c that toggle from one MAC to the next.
"""

from __future__ import annotations

import argparse

import numpy as np

from experiments.options import add_output_options, config_from_args, output_dir
from experiments.output import atomic_path, write_csv
from experiments.studies.trace import ModelLayersConfig, TraceConfig, model_layers, trace

from ._results import emit_result, study_handler, write_config

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """The options of ``vscale trace``."""
    parser.description = __doc__.split("\n\n", 1)[1]
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "--model",
        default="tinymnv2",
        metavar="NAME|FILE.onnx",
        help="tinymnv2, mobilenetv2 or a float ONNX file (default: tinymnv2)",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--layer",
        metavar="NAME|INDEX",
        help="GEMM layer: its name or its index among the model's GEMM layers (0-based)",
    )
    which.add_argument(
        "--list-layers", action="store_true", help="print the model's GEMM layers (index, name, shape) and exit"
    )
    parser.add_argument(
        "--images", type=int, default=100, metavar="N", help="evaluation images to run, >= 1 (default: 100)"
    )
    parser.add_argument(
        "--lanes", type=int, default=64, metavar="PES", help="PEs (lanes) to record, >= 1 (default: 64)"
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        metavar="MACS",
        help="consecutive MACs per PE, 2..the layer's M (default: 4096, or M when the layer has fewer)",
    )
    parser.add_argument(
        "--array", default="256x256", metavar="ROWSxCOLS", help="array shape; its rows fold K (default: 256x256)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the lane choice, >= 0 (default: 0)")
    add_output_options(parser, "trace")
    parser.set_defaults(handler=study_handler(run, TraceConfig), config_type=TraceConfig)


def run(args: argparse.Namespace) -> int:
    if args.list_layers:
        emit_result(model_layers(config_from_args(ModelLayersConfig, args)), args.format)
        return 0
    result = trace(config_from_args(TraceConfig, args))
    out = output_dir(args)
    with atomic_path(out / "trace.npz") as tmp, tmp.open("wb") as handle:
        arrays = result.trace.arrays()
        np.savez_compressed(
            handle,
            a=arrays["a"],
            b=arrays["b"],
            c=arrays["c"],
            lane_k=arrays["lane_k"],
            lane_n=arrays["lane_n"],
            lane_group=arrays["lane_group"],
        )
    write_csv(out / "trace_summary.csv", result.table())
    row = result.rows[0]
    write_config(
        out,
        "trace",
        result,
        layer=row.layer,
        m=row.m,
        n=row.n,
        k=row.k,
        groups=row.groups,
        rows=result.totals["rows"],
        images=result.totals["images"],
        steps=row.steps,
        trace=str(args.out / "trace.npz"),
    )
    emit_result(result, args.format)
    return 0
