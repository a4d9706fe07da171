"""Operand streams and their statistics: what a PE's adder sees, MAC after MAC.

A stream is three integer arrays ``a, b, c`` of equal shape ``(steps,)`` or
``(lanes, steps)``: the int8 activation and weight and the incoming partial sum of
consecutive MACs of one PE (consecutive along the last axis). A trace file (``.npz``)
holds such arrays under the names ``a``, ``b`` and ``c``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pe_models.errors import ConfigError

__all__ = [
    "ACTIVATION_SIGMA",
    "DNN_OPERAND_MODEL",
    "OPERAND_SOURCES",
    "WEIGHT_SIGMA",
    "OperandStream",
    "dnn_activations",
    "dnn_weights",
    "load_trace",
    "synthetic_stream",
]

OPERAND_SOURCES: tuple[str, ...] = ("uniform", "dnn")

UNIFORM_PARTIAL_SUM_BITS = 23
"""``uniform`` partial sums span [-2^22, 2^22): the range of a 256-deep dot product of
int8 values (256 x 128 x 128 = 2^22)."""


ACTIVATION_SIGMA = 40.0
"""Standard deviation of the non-zero ReLU activations of the DNN operand model (int8 codes)."""
WEIGHT_SIGMA = 25.0
"""Standard deviation of the Gaussian weights of the DNN operand model (int8 codes)."""
DNN_OPERAND_MODEL: dict[str, str] = {
    "activations": f"ReLU-like: 0 with probability 1/2, else |N(0, {ACTIVATION_SIGMA:g})|; rounded, clipped to 0..127",
    "weights": f"N(0, {WEIGHT_SIGMA:g}) rounded, clipped to -128..127",
}
"""The DNN operand model in words (for ``config.json`` and docs)."""


def dnn_activations(rng: np.random.Generator, shape: int | tuple[int, ...], dtype: type = np.int8) -> np.ndarray:
    """ReLU-like int8 activations of the DNN operand model (:data:`DNN_OPERAND_MODEL`).

    Draws ``|N(0, 40)|`` of `shape`, then zeroes each value with probability 1/2, rounds
    and clips to 0..127 (that draw order is part of the model: seeded results depend on it).

    Returns
    -------
    ndarray of `dtype`, shape `shape`
    """
    values = np.abs(rng.normal(0.0, ACTIVATION_SIGMA, shape))
    values[rng.random(shape) < 0.5] = 0.0
    return np.clip(np.rint(values), 0, 127).astype(dtype)


def dnn_weights(rng: np.random.Generator, shape: int | tuple[int, ...], dtype: type = np.int8) -> np.ndarray:
    """Gaussian int8 weights of the DNN operand model: ``N(0, 25)`` rounded, clipped to -128..127.

    Returns
    -------
    ndarray of `dtype`, shape `shape`
    """
    return np.clip(np.rint(rng.normal(0.0, WEIGHT_SIGMA, shape)), -128, 127).astype(dtype)


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
    one PE at a random row r < depth with a fixed weight (:func:`dnn_weights`);
    activations are ReLU outputs (:func:`dnn_activations`); the incoming partial sum is
    the dot product of r other weight/activation pairs drawn the same way.

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

    rows = rng.integers(0, depth, lanes)
    b = np.repeat(dnn_weights(rng, lanes, np.int64)[:, None], steps, axis=1)
    a = dnn_activations(rng, (lanes, steps), np.int64)
    c = np.zeros((lanes, steps), dtype=np.int64)
    for lane, row in enumerate(rows):
        if row:
            c[lane] = (dnn_weights(rng, (row, 1), np.int64) * dnn_activations(rng, (row, steps), np.int64)).sum(axis=0)
    return OperandStream(a=a, b=b, c=c, source="dnn")


def _declared_values(data: np.lib.npyio.NpzFile, name: str) -> int:
    """Number of values array `name` of an open ``.npz`` declares in its header (nothing decompressed)."""
    archive = data.zip
    assert archive is not None
    with archive.open(f"{name}.npy") as member:
        version = np.lib.format.read_magic(member)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, _ = read_header(member)
    return int(np.prod(shape, dtype=object))


def load_trace(path: str | Path, *, width: int | None = None, max_bytes: int | None = None) -> OperandStream:
    """Read an operand trace ``.npz`` with integer arrays ``a``, ``b``, ``c``.

    Parameters
    ----------
    path : path-like
    width : int, optional
        Accumulator width in bits: the partial sums ``c`` must fit it (signed).
    max_bytes : int, optional
        Refuse a trace whose arrays would need more memory than this once loaded
        (checked from the array headers, before anything is decompressed).

    Raises
    ------
    ConfigError
        Missing, unreadable or corrupt file; missing, empty, non-integer or mismatched
        arrays; int8 values out of range; partial sums beyond the accumulator width; a
        trace above `max_bytes`.
    """
    path = Path(path)
    unreadable = f"{path}: not a readable .npz trace; expected integer arrays a, b, c"
    if not path.is_file():
        raise ConfigError(f"{path}: no such trace file" if not path.exists() else unreadable)
    try:
        with np.load(path, allow_pickle=False) as data:
            names = [name for name in ("a", "b", "c") if name in data.files]
            if max_bytes is not None:
                values = sum(_declared_values(data, name) for name in names)
                if 16 * values > max_bytes:
                    raise ConfigError(
                        f"{path}: {values} trace values need about {16 * values / 2**20:.0f} MiB; "
                        f"allowed: at most {max_bytes / 2**20:.0f} MiB (the memory limit)"
                    )
            arrays = {name: data[name] for name in names}
    except (ConfigError, MemoryError):
        raise
    except Exception:
        raise ConfigError(unreadable) from None
    for name in ("a", "b", "c"):
        if name not in arrays:
            raise ConfigError(f"{path}: missing array {name!r}; a trace needs arrays a, b, c")
    shapes = {name: array.shape for name, array in arrays.items()}
    shape = arrays["a"].shape
    if len(set(shapes.values())) != 1 or len(shape) not in (1, 2) or shape[-1] < 2 or 0 in shape:
        raise ConfigError(
            f"{path}: arrays a, b, c must share a shape (steps,) or (lanes, steps) with lanes >= 1 and "
            f"steps >= 2; got {', '.join(f'{name} {list(shapes[name])}' for name in shapes)}"
        )
    for name, array in arrays.items():
        if array.dtype.kind not in "iu":
            raise ConfigError(f"{path}: array {name!r} must be integer, got {array.dtype}")
    for name in ("a", "b"):
        if arrays[name].min() < -128 or arrays[name].max() > 127:
            raise ConfigError(f"{path}: array {name!r} must hold int8 values in -128..127")
    low, high = (-(1 << 63), (1 << 63) - 1) if width is None else (-(1 << (width - 1)), (1 << (width - 1)) - 1)
    c_min, c_max = int(arrays["c"].min()), int(arrays["c"].max())
    if c_min < low or c_max > high:
        bits = 64 if width is None else width
        worst = c_min if c_min < low else c_max
        raise ConfigError(
            f"{path}: array 'c' holds partial sum {worst}, beyond the {bits}-bit accumulator; allowed: {low}..{high}"
        )
    a, b, c = (np.atleast_2d(arrays[name].astype(np.int64)) for name in ("a", "b", "c"))
    return OperandStream(a=a, b=b, c=c, source=path.name)
