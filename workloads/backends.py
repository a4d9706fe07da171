"""Pluggable GEMM backends: how the engine's int8 x int8 -> int32 products are computed.

Every convolution and linear layer of :mod:`workloads.engine` reaches the hardware as
one or more GEMMs ``activations (M, K) @ weights (K, N)``; a backend computes them.
``exact`` is the error-free reference. Backends that model timing errors
(``statistical``, ``bitlevel``) register themselves with :func:`register_backend` and
are built by :func:`make_backend`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np

from pe_models.errors import ConfigError
from pe_models.integers import exact_gemm, float_dtype_for_depth

__all__ = [
    "INJECTIONS",
    "ExactBackend",
    "GemmBackend",
    "available_backends",
    "check_injection",
    "float_dtype_for_depth",
    "make_backend",
    "make_injection_backend",
    "register_backend",
]

INJECTIONS = ("exact", "statistical", "bitlevel")


@runtime_checkable
class GemmBackend(Protocol):
    """What the engine needs from a GEMM backend.

    Attributes
    ----------
    name : str
        Registry name (``"exact"``, ...).
    stats : dict
        Filled by the backend while it runs: per layer name, an int64 array of error
        counts per accumulator bit position (index 0 = least significant bit).
        Error-free backends leave it empty.

    A backend may also have ``matmul_groups(activations, weights, *, layer)`` taking the
    groups of a grouped convolution at once, shapes (G, M, K) and (G, K, N), returning
    (G, M, N); and ``counters`` and ``start_batch`` to let the engine split images across
    worker processes (:class:`workloads.parallel.BatchBackend`).
    """

    name: str
    stats: dict[str, np.ndarray]

    def matmul(self, activations: np.ndarray, weights: np.ndarray, *, layer: str) -> np.ndarray:
        """Multiply int8 operands as the array's accumulators would.

        Parameters
        ----------
        activations : ndarray of int8, shape (M, K)
            One row per output pixel (im2col), images of a batch stacked image-major.
        weights : ndarray of int8, shape (K, N)
            One column per output channel (of the group, for grouped convolution).
        layer : str
            Name of the layer (the same for every group of a grouped convolution).

        Returns
        -------
        ndarray of int64, shape (M, N)
            Exact integer sums wrapped to the accumulator width (two's complement).
        """
        ...


class ExactBackend:
    """Error-free GEMM through BLAS (float32 when exact, float64 otherwise).

    Parameters
    ----------
    accumulator_bits : int
        Width of the array's accumulator; results wrap like a two's-complement register
        of that width (default 32).
    """

    name = "exact"
    counters = ("stats",)

    def __init__(self, *, accumulator_bits: int = 32) -> None:
        if not isinstance(accumulator_bits, int) or not 16 <= accumulator_bits <= 64:
            raise ConfigError(f"accumulator_bits: {accumulator_bits!r} is not allowed; allowed: 16..64")
        self.accumulator_bits = accumulator_bits
        self.stats: dict[str, np.ndarray] = {}

    def matmul(self, activations: np.ndarray, weights: np.ndarray, *, layer: str) -> np.ndarray:
        """See :meth:`GemmBackend.matmul`."""
        if activations.dtype != np.int8 or weights.dtype != np.int8:
            raise TypeError(f"{layer}: GEMM operands must be int8")
        if activations.ndim != 2 or weights.ndim != 2 or activations.shape[1] != weights.shape[0]:
            raise ValueError(f"{layer}: GEMM shapes {activations.shape} and {weights.shape} do not match")
        return exact_gemm(activations, weights, self.accumulator_bits)

    def start_batch(self, index: int) -> None:
        """Nothing to reset (see :class:`workloads.parallel.BatchBackend`)."""


_REGISTRY: dict[str, Callable[..., GemmBackend]] = {"exact": ExactBackend}


def register_backend(name: str, factory: Callable[..., GemmBackend]) -> None:
    """Make `factory` available as :func:`make_backend` (`name`, ...).

    Parameters
    ----------
    name : str
        Registry name, also the backend's ``name`` attribute.
    factory : callable
        Called with the keyword options given to :func:`make_backend`.
    """
    _REGISTRY[name] = factory


def available_backends() -> tuple[str, ...]:
    """Names accepted by :func:`make_backend`, in registration order."""
    return tuple(_REGISTRY)


def make_backend(name: str, **options) -> GemmBackend:
    """Build the backend registered as `name` with keyword `options`.

    Raises
    ------
    ConfigError
        `name` is not registered.
    """
    if name not in _REGISTRY:
        raise ConfigError(f"backend: {name!r} is unknown; allowed: {', '.join(available_backends())}")
    return _REGISTRY[name](**options)


def check_injection(injection: str) -> None:
    """Raise ConfigError unless `injection` names a registered error-injection backend."""
    if injection not in INJECTIONS:
        raise ConfigError(f"injection: {injection!r} is unknown; allowed: {', '.join(INJECTIONS)}")
    if injection not in _REGISTRY:
        ready = ", ".join(name for name in INJECTIONS if name in _REGISTRY)
        raise ConfigError(f"injection: {injection!r} is not available yet; allowed: {ready}")


def make_injection_backend(
    injection: str, *, vdd_v: float, protect_mask: int, seed: np.random.SeedSequence, **options
) -> GemmBackend:
    """The backend of one voltage point of an accuracy sweep.

    Parameters
    ----------
    injection : {"exact", "statistical", "bitlevel"}
        ``exact`` ignores the other arguments (no timing errors).
    vdd_v : float
        Supply voltage, volts.
    protect_mask : int
        Accumulator bits protected by error detection and correction (bit i set =
        bit i protected).
    seed : numpy.random.SeedSequence
        The point's own seed (spawned per voltage by the caller).
    **options
        Passed on to timing-error backends (``pe``, ``f_clk_mhz``, ``array`` ...).

    Returns
    -------
    GemmBackend
        A fresh backend; its ``stats`` collect this point's per-layer error counts.
    """
    check_injection(injection)
    if injection == "exact":
        return ExactBackend()
    return make_backend(injection, vdd_v=vdd_v, protect_mask=protect_mask, seed=seed, **options)


def _register_timing_error_backends() -> None:
    from .injection import BitlevelBackend, StatisticalBackend

    register_backend("statistical", StatisticalBackend)
    register_backend("bitlevel", BitlevelBackend)


_register_timing_error_backends()
