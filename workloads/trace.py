"""Operand traces of one layer of a quantised model, as PEs of a weight-stationary array see them.

The model runs (int8, exact) on images; the GEMMs of the chosen layer are recorded
(:class:`RecordingBackend`). Each lane of the trace is one PE of a weight-stationary
array of ``rows`` rows: it holds the weight ``W[k, n]`` of its row k and column n, sees the
activations ``A[:, k]`` stream by in row order (one MAC per output row m), and receives
the partial sum of the rows above it in its K-fold, ``A[m, f:k] @ W[f:k, n]`` with ``f``
the first row of the fold. Lanes are drawn at random (seeded) over groups, rows and
columns. The arrays ``a``, ``b``, ``c`` of shape (lanes, steps) are an
:class:`pe_models.operands.OperandStream`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pe_models.errors import ConfigError

from .backends import ExactBackend

__all__ = [
    "DEFAULT_STEPS",
    "LayerTrace",
    "RecordingBackend",
    "by_group",
    "record_layer_trace",
    "resolve_layer",
    "trace_from_gemms",
]

DEFAULT_STEPS = 4096
"""Consecutive MACs per PE recorded when none are asked for (fewer when the layer's M is smaller)."""


class RecordingBackend:
    """Exact GEMMs that keep the operands of one layer (by name)."""

    name = "recording"

    def __init__(self, layer: str) -> None:
        self.layer = layer
        self.stats: dict[str, np.ndarray] = {}
        self.gemms: list[tuple[np.ndarray, np.ndarray]] = []
        self._exact = ExactBackend()

    def matmul(self, activations: np.ndarray, weights: np.ndarray, *, layer: str) -> np.ndarray:
        if layer == self.layer:
            self.gemms.append((np.array(activations, dtype=np.int8), np.array(weights, dtype=np.int8)))
        return self._exact.matmul(activations, weights, layer=layer)


def trace_from_gemms(
    gemms: list[tuple[np.ndarray, np.ndarray]], *, rows: int, lanes: int, steps: int, seed: np.random.SeedSequence
) -> dict[str, np.ndarray]:
    """Operand trace of `lanes` PEs of a weight-stationary array running `gemms`.

    Parameters
    ----------
    gemms : list of (activations (M, K) int8, weights (K, N) int8)
        The GEMMs of one layer (one per group).
    rows : int
        Array rows: K is folded into chunks of `rows`.
    lanes, steps : int
    seed : SeedSequence

    Returns
    -------
    dict
        ``a``, ``b``, ``c``: int64 arrays of shape (lanes, steps), plus ``k``, ``n`` and
        ``gemm`` (lanes,): where each lane sits.
    """
    rng = np.random.default_rng(seed)
    depth = gemms[0][0].shape[1]
    columns = gemms[0][1].shape[1]
    a = np.zeros((lanes, steps), dtype=np.int64)
    b = np.zeros((lanes, steps), dtype=np.int64)
    c = np.zeros((lanes, steps), dtype=np.int64)
    which = rng.integers(0, len(gemms), lanes)
    ks = rng.integers(0, depth, lanes)
    ns = rng.integers(0, columns, lanes)
    for lane in range(lanes):
        activations, weights = gemms[which[lane]]
        k, n = ks[lane], ns[lane]
        start = (k // rows) * rows
        rows_used = activations[:steps].astype(np.int64)
        a[lane] = rows_used[:, k]
        b[lane] = weights[k, n]
        c[lane] = rows_used[:, start:k] @ weights[start:k, n].astype(np.int64)
    return {"a": a, "b": b, "c": c, "k": ks, "n": ns, "gemm": which}


def by_group(gemms: list[tuple[np.ndarray, np.ndarray]], groups: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stack the per-batch calls of each group into one GEMM per group (rows in image order)."""
    per_group: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(groups)]
    for index, gemm in enumerate(gemms):
        per_group[index % groups].append(gemm)
    return [(np.concatenate([g[0] for g in calls]), calls[0][1]) for calls in per_group if calls]


def resolve_layer(names: list[str], layer: str | int, *, field: str = "layer") -> str:
    """The GEMM layer named `layer`, or at index `layer` (0-based) among `names`.

    Raises
    ------
    ConfigError
        ``layer: unknown layer '99'; allowed: 0..16 or a name such as 'features.0.0'``.
    """
    if isinstance(layer, str) and layer in names:
        return layer
    text = str(layer)
    if text.isdecimal() and int(text) < len(names):
        return names[int(text)]
    raise ConfigError(f"{field}: unknown layer {text!r}; allowed: 0..{len(names) - 1} or a name such as {names[0]!r}")


@dataclass(frozen=True, kw_only=True)
class LayerTrace:
    """The operand trace of one layer and where it came from.

    Attributes
    ----------
    layer : str
        GEMM layer name.
    m, n, k, groups : int
        The layer's GEMM: M rows (over all images), N columns, depth K, groups.
    a, b, c : ndarray, int64, shape (lanes, steps)
        Activation, weight and incoming partial sum of each lane's consecutive MACs.
    lane_k, lane_n, lane_group : ndarray, int64, shape (lanes,)
        Array row (K index), column (N index) and group of each lane.
    """

    layer: str
    m: int
    n: int
    k: int
    groups: int
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    lane_k: np.ndarray
    lane_n: np.ndarray
    lane_group: np.ndarray

    @property
    def lanes(self) -> int:
        return int(self.a.shape[0])

    @property
    def steps(self) -> int:
        return int(self.a.shape[1])

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays of a trace file: ``a``, ``b``, ``c``, ``lane_k``, ``lane_n``, ``lane_group``."""
        return {
            "a": self.a,
            "b": self.b,
            "c": self.c,
            "lane_k": self.lane_k,
            "lane_n": self.lane_n,
            "lane_group": self.lane_group,
        }


def record_layer_trace(
    model: Any,
    images: np.ndarray,
    layer: str,
    *,
    rows: int,
    lanes: int,
    steps: int | None,
    seed: np.random.SeedSequence,
) -> LayerTrace:
    """Run `model` (a quantised model) exactly on `images` and trace the GEMMs of `layer`.

    Parameters
    ----------
    model : QuantizedModel
        Its ``gemm_layers`` name the layers; ``run(images, backend)`` runs it.
    images : ndarray
    layer : str
        A name among ``model.gemm_layers``.
    rows : int
        Array rows (K fold).
    lanes : int
        PEs to record.
    steps : int or None
        Consecutive MACs per PE, 2 .. the layer's M; None: :data:`DEFAULT_STEPS`, or M when smaller.
    seed : SeedSequence
        Seed of the lane choice.
    """
    names = [shape.name for shape in model.gemm_layers]
    shape = model.gemm_layers[names.index(layer)]
    m_total = shape.m_per_image * len(images)
    if steps is None:
        steps = min(DEFAULT_STEPS, m_total)
    elif not 2 <= steps <= m_total:
        raise ConfigError(f"steps: expected an integer in 2..{m_total} (the M of layer {layer!r}), got {steps}")
    recorder = RecordingBackend(layer)
    model.run(images, recorder)
    gemms = by_group(recorder.gemms, shape.groups)
    trace = trace_from_gemms(gemms, rows=rows, lanes=lanes, steps=steps, seed=seed)
    return LayerTrace(
        layer=layer,
        m=int(m_total),
        n=int(shape.n),
        k=int(shape.k),
        groups=int(shape.groups),
        a=trace["a"],
        b=trace["b"],
        c=trace["c"],
        lane_k=trace["k"],
        lane_n=trace["n"],
        lane_group=trace["gemm"],
    )
