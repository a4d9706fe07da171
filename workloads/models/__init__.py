"""Network definitions built from the engine's float graph (:mod:`workloads.graph`)."""

__all__ = ["MODEL_NAMES"]

MODEL_NAMES = ("tinymnv2", "mobilenetv2")
"""The named models (:mod:`workloads.models.zoo` loads them); here so that naming one imports no engine."""
