"""Operand streams and their statistics: what a PE's adder sees, MAC after MAC.

A stream is three integer arrays ``a, b, c`` of equal shape ``(steps,)`` or
``(lanes, steps)``: the int8 activation and weight and the incoming partial sum of
consecutive MACs of one PE (consecutive along the last axis). A trace file (``.npz``)
holds such arrays under the names ``a``, ``b`` and ``c``.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pe_models.errors import ConfigError

__all__ = ["OPERAND_SOURCES", "OperandStream", "load_trace", "synthetic_stream"]

OPERAND_SOURCES: tuple[str, ...] = ("uniform", "dnn")

UNIFORM_PARTIAL_SUM_BITS = 23
"""``uniform`` partial sums span [-2^22, 2^22): the range of a 256-deep dot product of
int8 values (256 x 128 x 128 = 2^22)."""


@dataclass(frozen=True)
class OperandStream:
    """Consecutive MAC operands of one or more PEs.

    Attributes
    ----------
    a, b : ndarray, int64, shape (lanes, steps)
        Signed int8 operands.
    c : ndarray, int64, shape (lanes, steps)
        Signed incoming partial sums.
    source : str
        Where the stream came from (``uniform``, ``dnn`` or a file name).
    """

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    source: str

    @property
    def products(self) -> np.ndarray:
        return self.a * self.b

    def consecutive_pairs(self) -> dict[str, np.ndarray]:
        """Flattened (prev, new) operand pairs of consecutive MACs, as chain inputs."""
        return {
            "prev_a": self.a[:, :-1].ravel(),
            "prev_b": self.b[:, :-1].ravel(),
            "prev_c": self.c[:, :-1].ravel(),
            "a": self.a[:, 1:].ravel(),
            "b": self.b[:, 1:].ravel(),
            "c": self.c[:, 1:].ravel(),
        }

    def iid_pairs(self, n: int, seed: int | np.random.SeedSequence) -> dict[str, np.ndarray]:
        """n (prev, new) pairs drawn i.i.d. from the empirical distribution of the stream.

        Products and partial sums are drawn independently of each other and of the
        previous MAC: the operand model of the analytic level.
        """
        rng = np.random.default_rng(seed)
        flat_a, flat_b, flat_c = self.a.ravel(), self.b.ravel(), self.c.ravel()
        product_index = rng.integers(0, flat_a.size, (2, n))
        partial_index = rng.integers(0, flat_c.size, (2, n))
        return {
            "prev_a": flat_a[product_index[0]],
            "prev_b": flat_b[product_index[0]],
            "prev_c": flat_c[partial_index[0]],
            "a": flat_a[product_index[1]],
            "b": flat_b[product_index[1]],
            "c": flat_c[partial_index[1]],
        }


def synthetic_stream(
    kind: str, *, lanes: int = 64, steps: int = 4096, seed: int | np.random.SeedSequence = 0, depth: int = 256
) -> OperandStream:
    """A synthetic operand stream.

    ``uniform``: a, b uniform over int8; c uniform over [-2^22, 2^22).
    ``dnn``: what a PE of a weight-stationary column of `depth` rows sees. Each lane is
    one PE at a random row r < depth with a fixed weight ~ N(0, 25) (clipped to int8);
    activations are ReLU outputs (about half zeros, the rest |N(0, 40)|, clipped to
    127); the incoming partial sum is the dot product of r other weight/activation
    pairs drawn the same way.

    Parameters
    ----------
    kind : str
        ``"uniform"`` or ``"dnn"``.
    lanes, steps : int
        Number of PEs and of consecutive MACs per PE.
    seed : int or SeedSequence
    depth : int
        Column depth for ``dnn``.
    """
    if kind not in OPERAND_SOURCES:
        raise ConfigError(f"operands: unknown source {kind!r}; allowed: uniform, dnn, or a .npz trace file")
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        a = rng.integers(-128, 128, (lanes, steps))
        b = rng.integers(-128, 128, (lanes, steps))
        half = 1 << (UNIFORM_PARTIAL_SUM_BITS - 1)
        c = rng.integers(-half, half, (lanes, steps))
        return OperandStream(a=a, b=b, c=c, source="uniform")

    def activations(shape):
        values = np.abs(rng.normal(0.0, 40.0, shape))
        values[rng.random(shape) < 0.5] = 0
        return np.clip(np.rint(values), 0, 127).astype(np.int64)

    def weights(shape):
        return np.clip(np.rint(rng.normal(0.0, 25.0, shape)), -128, 127).astype(np.int64)

    rows = rng.integers(0, depth, lanes)
    b = np.repeat(weights(lanes)[:, None], steps, axis=1)
    a = activations((lanes, steps))
    c = np.zeros((lanes, steps), dtype=np.int64)
    for lane, row in enumerate(rows):
        if row:
            c[lane] = (weights((row, 1)) * activations((row, steps))).sum(axis=0)
    return OperandStream(a=a, b=b, c=c, source="dnn")


def load_trace(path: str | Path) -> OperandStream:
    """Read an operand trace ``.npz`` with integer arrays ``a``, ``b``, ``c``.

    Raises
    ------
    ConfigError
        Missing file or array, non-integer or mismatched arrays, int8 values out of range.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in ("a", "b", "c") if name in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError):
        raise ConfigError(f"{path}: not a readable .npz trace; expected integer arrays a, b, c") from None
    for name in ("a", "b", "c"):
        if name not in arrays:
            raise ConfigError(f"{path}: missing array {name!r}; a trace needs arrays a, b, c")
    shapes = {name: array.shape for name, array in arrays.items()}
    if len(set(shapes.values())) != 1 or arrays["a"].ndim not in (1, 2) or arrays["a"].shape[-1] < 2:
        raise ConfigError(f"{path}: arrays a, b, c must share a shape (steps,) or (lanes, steps) with steps >= 2")
    for name, array in arrays.items():
        if array.dtype.kind not in "iu":
            raise ConfigError(f"{path}: array {name!r} must be integer, got {array.dtype}")
    for name in ("a", "b"):
        if arrays[name].min() < -128 or arrays[name].max() > 127:
            raise ConfigError(f"{path}: array {name!r} must hold int8 values in -128..127")
    a, b, c = (np.atleast_2d(arrays[name].astype(np.int64)) for name in ("a", "b", "c"))
    return OperandStream(a=a, b=b, c=c, source=path.name)
