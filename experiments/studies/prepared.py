"""The quantised model a study runs: loaded, calibrated, quantised, scored in float.

Shared by the studies that run a network (``accuracy``, ``optimize``, ``run``, ``energy``
with a model): :func:`prepare_model` and the top-k scoring :func:`top_k_hits`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workloads.engine import CalibrationConfig, quantize_model
from workloads.graph import run_float
from workloads.models.zoo import ModelBundle, load_bundle

__all__ = ["PreparedModel", "prepare_model", "top_k_hits"]


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


@dataclass(frozen=True)
class PreparedModel:
    """A quantised model with its evaluation images and the targets it is scored against."""

    bundle: ModelBundle
    model: Any
    images: np.ndarray
    targets: np.ndarray
    float_accuracy: float


def prepare_model(
    model_name: str,
    *,
    images: int | str | Path | None,
    labels: str | Path | None,
    seed: int,
    calibration: CalibrationConfig,
    calibration_images: str | Path | None = None,
) -> PreparedModel:
    """Load, calibrate and quantise `model_name`; score the float model on its images."""
    bundle = load_bundle(model_name, images=images, labels=labels, seed=seed, calibration_images=calibration_images)
    model = quantize_model(bundle.graph, bundle.calibration_images, calibration=calibration)
    evaluation = bundle.evaluation.images
    step = model.default_batch_size()
    float_top1 = np.concatenate(
        [run_float(bundle.graph, evaluation[i : i + step]).argmax(axis=1) for i in range(0, len(evaluation), step)]
    )
    known = bundle.evaluation.labels
    targets = known if bundle.metric == "accuracy" and known is not None else float_top1
    return PreparedModel(
        bundle=bundle,
        model=model,
        images=evaluation,
        targets=targets,
        float_accuracy=100.0 * float(np.mean(float_top1 == targets)),
    )
