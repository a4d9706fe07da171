"""The bundled MNIST network ``tinymnv2``: a small MobileNetV2 for 28x28 digits.

Trained by ``scripts/train_tinymnv2.py``; the float weights ship as
``workloads/weights/tinymnv2.npz`` (torchvision state-dict key names).
"""

from __future__ import annotations

from importlib import resources
from os import PathLike
from pathlib import Path

import numpy as np

from ..graph import Graph
from .architecture import TINYMNV2
from .mobilenetv2 import build_mobilenetv2
from .npz import load_npz

__all__ = ["TINYMNV2", "default_weights_path", "load_tinymnv2", "preprocess_mnist"]


def default_weights_path() -> Path:
    """The weight file shipped in the package."""
    return Path(str(resources.files("workloads.weights") / "tinymnv2.npz"))


def load_tinymnv2(path: str | PathLike[str] | None = None) -> Graph:
    """The float ``tinymnv2`` graph from a weight file (default: the bundled one).

    Raises
    ------
    ConfigError
        Unreadable file, missing array or wrong shape (one line naming file and array).
    """
    path = Path(path) if path is not None else default_weights_path()
    return build_mobilenetv2(TINYMNV2, load_npz(path), source=str(path))


def preprocess_mnist(pixels: np.ndarray) -> np.ndarray:
    """MNIST pixels (N, 28, 28) in 0..255 -> float32 model input (N, 1, 28, 28) in [0, 1]."""
    return (np.asarray(pixels, dtype=np.float32) / 255.0)[:, None]
