"""``vscale accuracy``: int8 accuracy (or agreement with the float model) against VDD.

For every supply voltage the int8 model runs through a GEMM backend built by
:func:`workloads.backends.make_injection_backend` (injection, VDD, protected bits,
seed); the backend's ``stats`` give per-layer error counts per accumulator bit. Writes
``accuracy.csv``, ``accuracy.png``, ``errors_per_bit.csv`` and ``config.json`` to
``--out``.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from experiments.cli import add_output_options, output_dir
from experiments.output import Table, emit, progress, save_figure, subplots, write_csv, write_json
from experiments.pe_options import parse_vdd_range as parse_vdd
from pe_models.errors import ConfigError
from sim.protection import parse_bit_mask
from workloads.backends import INJECTIONS, check_injection, make_injection_backend
from workloads.engine import CalibrationConfig, quantize_model
from workloads.graph import run_float
from workloads.models.zoo import MODEL_NAMES, ModelBundle, load_bundle
from workloads.quant import CALIBRATION_METHODS

__all__ = [
    "ACCUMULATOR_BITS",
    "COLUMNS",
    "PreparedModel",
    "accuracy_points",
    "injection_options",
    "parse_images",
    "parse_protect",
    "parse_vdd",
    "prepare_model",
    "register",
    "run",
    "top_k_hits",
]

ACCUMULATOR_BITS = 32
COLUMNS = (
    "vdd_v",
    "injection",
    "metric",
    "images",
    "top1_pct",
    "top5_pct",
    "float_top1_pct",
    "unprotected_errors",
    "detections",
    "compute_cycles",
    "correction_cycles",
    "latency_overhead_pct",
)


def parse_protect(text: str | None, bits: int = ACCUMULATOR_BITS) -> int:
    """Protected accumulator bits as a mask: ``31:20`` (a range), ``31,5``, ``none`` (or None)."""
    return parse_bit_mask(text or "none", width=bits)


def parse_images(text: str | None) -> int | Path | None:
    """``--images``: a positive count or an existing directory."""
    if text is None:
        return None
    if text.isdigit():
        if int(text) < 1:
            raise ConfigError(f"--images: {text} must be >= 1")
        return int(text)
    path = Path(text)
    if not path.is_dir():
        raise ConfigError(f"--images: {text!r} is neither a number of images nor a directory")
    return path


def top_k_hits(scores: np.ndarray, targets: np.ndarray, k: int) -> np.ndarray:
    """Whether each target is among the `k` highest scores (ties: lower index first).

    Parameters
    ----------
    scores : ndarray, shape (N, classes)
    targets : ndarray of int, shape (N,)
    k : int

    Returns
    -------
    ndarray of bool, shape (N,)
    """
    order = np.argsort(-np.asarray(scores, dtype=np.float64), axis=1, kind="stable")[:, :k]
    return (order == np.asarray(targets)[:, None]).any(axis=1)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "accuracy",
        help="int8 accuracy (or agreement with the float model) against supply voltage",
        description="Quantise a model to int8 (calibrated on training images), run it at "
        "every supply voltage through an error-injecting GEMM backend, and report top-1/"
        "top-5 accuracy (labelled images) or agreement with the float model (unlabelled "
        "photos), with per-layer error counts per accumulator bit.",
    )
    parser.add_argument(
        "--model",
        default="tinymnv2",
        metavar="NAME|FILE.onnx",
        help=f"{' or '.join(MODEL_NAMES)} or a float ONNX file (default: tinymnv2)",
    )
    parser.add_argument(
        "--vdd",
        default="0.9:0.5:0.05",
        metavar="START:STOP:STEP",
        help="supply voltages in volts: START:STOP:STEP inclusive or a comma list (default: 0.9:0.5:0.05)",
    )
    parser.add_argument(
        "--injection",
        default="exact",
        metavar="|".join(INJECTIONS),
        help="how timing errors enter the GEMMs: exact (none), statistical (analytic "
        "per-bit probabilities), bitlevel (every MAC through the chain model) "
        "(default: exact)",
    )
    parser.add_argument(
        "--images",
        metavar="N|DIR",
        help="number of evaluation images (default: all 1000 MNIST test images for "
        "tinymnv2, 50 photo views for ImageNet models) or a folder of images (needs "
        "--labels)",
    )
    parser.add_argument(
        "--labels",
        metavar="FILE",
        help="labels of the --images folder: one 'FILE LABEL' per line (class index)",
    )
    parser.add_argument(
        "--protect",
        default=None,
        metavar="HIGH:LOW",
        help="accumulator bits protected by error detection and correction, e.g. 31:20 "
        "(bits 20..31), or 'none' (default: none)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="worker processes, one voltage point each at a time; results do not depend on it (default: 1)",
    )
    parser.add_argument(
        "--f-clk-mhz",
        type=float,
        default=700.0,
        metavar="MHZ",
        help="clock frequency in MHz for statistical/bitlevel injection (default: 700)",
    )
    parser.add_argument(
        "--array",
        default="256x256",
        metavar="ROWSxCOLS",
        help="weight-stationary array for bitlevel injection (and the column depth of "
        "statistical), rows x columns of PEs (default: 256x256)",
    )
    parser.add_argument(
        "--penalty",
        type=int,
        default=1,
        metavar="CYCLES",
        help="cycles one correction of a protected bit costs, global stall, bitlevel (default: 1)",
    )
    parser.add_argument(
        "--calibration",
        default="mse",
        metavar="|".join(CALIBRATION_METHODS),
        help="activation calibration: mse (threshold minimising quantisation MSE) or "
        "percentile (99.99th percentile of |x|) (default: mse)",
    )
    add_output_options(parser, "accuracy")
    parser.set_defaults(handler=run)


def injection_options(
    injection: str, vdds: list[float], *, f_clk_mhz: float, array: str, penalty: int
) -> dict[str, Any]:
    """Validated options of the timing-error backends (checked before any work is done)."""
    if injection == "exact":
        return {}
    from experiments.configs import resolve_array_config
    from pe_models.pe import OperatingPoint, PEConfig, stage_timing

    pe = PEConfig()
    for vdd in vdds:
        stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd, f_clk_mhz=f_clk_mhz))
    if penalty < 0:
        raise ConfigError(f"--penalty: expected a non-negative integer number of cycles, got {penalty}")
    array_config = resolve_array_config(array=array, dataflow="ws", bandwidth=None)
    if injection == "statistical":
        return {"pe": pe, "f_clk_mhz": f_clk_mhz, "rows": array_config.rows}
    array_config = dataclasses.replace(array_config, f_clk_mhz=f_clk_mhz, accumulator_bits=pe.width)
    return {"pe": pe, "f_clk_mhz": f_clk_mhz, "array": array_config, "penalty_cycles": penalty}


def _plot(rows: list[list[Any]], bundle: ModelBundle, injection: str):

    figure, axes = subplots(figsize=(6, 4))
    vdd = [row[0] for row in rows]
    axes.plot(vdd, [row[4] for row in rows], "o-", label=f"int8 top-1 ({injection})")
    axes.plot(vdd, [row[5] for row in rows], "s--", label=f"int8 top-5 ({injection})")
    if bundle.metric == "accuracy":
        axes.axhline(rows[0][6], color="grey", linestyle=":", label="float top-1")
    axes.set_xlabel("VDD (V)")
    axes.set_ylabel(f"{bundle.metric} (%)")
    axes.set_title(f"{bundle.name}: {bundle.metric} vs supply voltage ({len(bundle.evaluation.images)} images)")
    axes.set_ylim(0, 101)
    axes.invert_xaxis()
    axes.grid(True, alpha=0.3)
    axes.legend()
    return figure


@dataclass(frozen=True)
class PreparedModel:
    """A quantised model with its evaluation images and the targets it is scored against."""

    bundle: ModelBundle
    model: Any
    images: np.ndarray
    targets: np.ndarray
    float_accuracy: float


def prepare_model(
    model_name: str, *, images: int | str | None, labels: str | None, seed: int, calibration: CalibrationConfig
) -> PreparedModel:
    """Load, calibrate and quantise `model_name`; score the float model on its images."""
    bundle = load_bundle(model_name, images=images, labels=labels, seed=seed)
    model = quantize_model(bundle.graph, bundle.calibration_images, calibration=calibration)
    evaluation = bundle.evaluation.images
    step = model.default_batch_size()
    float_top1 = np.concatenate(
        [run_float(bundle.graph, evaluation[i : i + step]).argmax(axis=1) for i in range(0, len(evaluation), step)]
    )
    targets = bundle.evaluation.labels if bundle.metric == "accuracy" else float_top1
    return PreparedModel(
        bundle=bundle,
        model=model,
        images=evaluation,
        targets=targets,
        float_accuracy=100.0 * float(np.mean(float_top1 == targets)),
    )


_FORKED_STATE: tuple[PreparedModel, dict[str, Any]] | None = None


def _forked_point(
    injection: str, vdd: float, protect_mask: int, point_seed: np.random.SeedSequence
) -> tuple[list[Any], list[list[Any]]]:
    """One voltage point in a forked worker, with the parent's prepared model and options."""
    assert _FORKED_STATE is not None
    prepared, options = _FORKED_STATE
    return _accuracy_point(prepared, injection, vdd, protect_mask, point_seed, options)


def _accuracy_point(
    prepared: PreparedModel,
    injection: str,
    vdd: float,
    protect_mask: int,
    point_seed: np.random.SeedSequence,
    options: dict[str, Any],
) -> tuple[list[Any], list[list[Any]]]:
    """One voltage point: (row of COLUMNS, per-layer error rows)."""
    backend = make_injection_backend(injection, vdd_v=vdd, protect_mask=protect_mask, seed=point_seed, **options)
    codes = prepared.model.run(prepared.images, backend)
    top1 = 100.0 * float(np.mean(top_k_hits(codes, prepared.targets, 1)))
    top5 = 100.0 * float(np.mean(top_k_hits(codes, prepared.targets, 5)))
    errors = 0
    error_rows = []
    for layer, counts in backend.stats.items():
        for bit, count in enumerate(np.asarray(counts)):
            if count:
                error_rows.append([vdd, layer, bit, int(count), bool(protect_mask >> bit & 1)])
                errors += int(count) if not protect_mask >> bit & 1 else 0
    detections = sum(getattr(backend, "detections", {}).values())
    compute = getattr(backend, "compute_cycles", None)
    correction = getattr(backend, "correction_cycles", None)
    overhead = 100.0 * correction / compute if compute else ""
    row = [
        vdd,
        injection,
        prepared.bundle.metric,
        len(prepared.images),
        top1,
        top5,
        prepared.float_accuracy,
        errors,
        detections,
        "" if compute is None else compute,
        "" if correction is None else correction,
        overhead,
    ]
    return row, error_rows


def accuracy_points(
    prepared: PreparedModel,
    *,
    injection: str,
    vdds: list[float],
    protect_mask: int,
    seed: int,
    options: dict[str, Any],
    label: str = "accuracy",
    jobs: int = 1,
) -> tuple[list[list[Any]], list[list[Any]]]:
    """Run the int8 model at every VDD: rows of :data:`COLUMNS` and per-layer error rows.

    Each voltage point has its own child of ``SeedSequence(seed)``, so the results do not
    depend on `jobs` (worker processes, forked with the prepared model).
    """
    global _FORKED_STATE
    seeds = np.random.SeedSequence(seed).spawn(len(vdds))
    points = list(zip(vdds, seeds, strict=True))
    if jobs <= 1 or len(points) == 1:
        results = [
            _accuracy_point(prepared, injection, vdd, protect_mask, point_seed, options)
            for vdd, point_seed in progress(points, label=label)
        ]
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        _FORKED_STATE = (prepared, options)
        try:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
                futures = [
                    pool.submit(_forked_point, injection, vdd, protect_mask, point_seed) for vdd, point_seed in points
                ]
                results = [future.result() for future in progress(futures, label=label)]
        finally:
            _FORKED_STATE = None
    rows = [row for row, _ in results]
    error_rows = [error for _, errors in results for error in errors]
    return rows, error_rows


def run(args: argparse.Namespace) -> int:
    out = output_dir(args)
    vdds = parse_vdd(args.vdd)
    protect_mask = parse_protect(args.protect)
    check_injection(args.injection)
    calibration = CalibrationConfig(method=args.calibration)
    if args.seed < 0:
        raise ConfigError(f"--seed: {args.seed} must be >= 0")
    if args.jobs < 1:
        raise ConfigError(f"--jobs: expected a positive number of processes, got {args.jobs}")
    options = injection_options(args.injection, vdds, f_clk_mhz=args.f_clk_mhz, array=args.array, penalty=args.penalty)
    prepared = prepare_model(
        args.model, images=parse_images(args.images), labels=args.labels, seed=args.seed, calibration=calibration
    )
    bundle, model, images, float_accuracy = prepared.bundle, prepared.model, prepared.images, prepared.float_accuracy
    rows, error_rows = accuracy_points(
        prepared,
        injection=args.injection,
        vdds=vdds,
        protect_mask=protect_mask,
        seed=args.seed,
        options=options,
        jobs=args.jobs,
    )

    table = Table(columns=COLUMNS, rows=rows)
    write_csv(out / "accuracy.csv", table)
    write_csv(
        out / "errors_per_bit.csv", Table(columns=("vdd_v", "layer", "bit", "errors", "protected"), rows=error_rows)
    )
    save_figure(out / "accuracy.png", _plot(rows, bundle, args.injection))
    write_json(
        out / "config.json",
        {
            "command": "accuracy",
            "model": args.model,
            "weights": bundle.source,
            "metric": bundle.metric,
            "images": len(images),
            "image_source": args.images if args.images else "bundled",
            "labels": args.labels,
            "vdd_v": vdds,
            "injection": args.injection,
            "protect": args.protect,
            "protect_mask": f"0x{protect_mask:08x}",
            "seed": args.seed,
            "f_clk_mhz": args.f_clk_mhz,
            "array": args.array,
            "penalty_cycles": args.penalty,
            "calibration": {
                "method": calibration.method,
                "percentile": calibration.percentile,
                "images": len(bundle.calibration_images),
            },
            "accumulator_bits": ACCUMULATOR_BITS,
            "macs_per_image": model.macs_per_image,
        },
    )
    emit(table, args.format)
    if args.format == "table":
        print(
            f"{bundle.name}: float top-1 {float_accuracy:.2f} % ({bundle.metric}, "
            f"{len(images)} images); results in {args.out}"
        )
    return 0
