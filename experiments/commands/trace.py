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

from experiments.options import add_config_options, add_output_options, config_from_args, output_dir
from experiments.output import atomic_path, write_csv
from experiments.studies.trace import ModelLayersConfig, TraceConfig, model_layers, trace

from ._results import emit_result, write_config

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """The options of ``vscale trace``."""
    parser.description = __doc__.split("\n\n", 1)[1]
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    which = parser.add_mutually_exclusive_group(required=True)
    add_config_options(which, TraceConfig, fields=("layer",), metavar={"layer": "NAME|INDEX"})
    which.add_argument(
        "--list-layers", action="store_true", help="print the model's GEMM layers (index, name, shape) and exit"
    )
    add_config_options(parser, TraceConfig, metavar={"model": "NAME|FILE.onnx", "images": "N", "lanes": "PES"})
    add_output_options(parser, "trace")
    parser.set_defaults(handler=run)


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
