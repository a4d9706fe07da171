"""Tiling (folding) of a GEMM onto an R x C array, following SCALE-Sim v2's conventions.

Each dataflow puts two GEMM dimensions on the array and streams the third through it
(SCALE-Sim v2 ``topology_utils.calc_spatio_temporal_params`` and
``compute/systolic_compute_{ws,os,is}.py``):

======== ================= ==================== ==================
dataflow array rows (S_r)  array columns (S_c)  streamed (T)
======== ================= ==================== ==================
ws       K                 N                    M
os       M                 N                    K
is       K                 M                    N
======== ================= ==================== ==================

When ``S_r > R`` or ``S_c > C`` the GEMM is cut into ``ceil(S_r / R) * ceil(S_c / C)``
folds; the last fold along each direction may use fewer rows or columns. Folds run one
after another in SCALE-Sim's order: column folds outer, row folds inner
(``for fc in col_folds: for fr in row_folds``), and group after group for a grouped
convolution. `Mapping.iter_folds` yields them lazily in that order, so an engine can walk
a layer without materialising anything of size M x N x K.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .config import ArrayConfig
from .layers import GemmProblem

__all__ = ["Fold", "Mapping", "fold_extents", "map_gemm"]

_SPATIAL_TEMPORAL_DIMS: dict[str, tuple[str, str, str]] = {
    "ws": ("k", "n", "m"),
    "os": ("m", "n", "k"),
    "is": ("k", "m", "n"),
}


def fold_extents(size: int, tile: int) -> tuple[int, int, int]:
    """How a dimension of `size` is cut into tiles of at most `tile`.

    Returns
    -------
    (folds, full_size, last_size) : tuple of int
        ``folds = ceil(size / tile)``; every fold but the last has ``full_size = tile``
        elements (or ``size`` when there is one fold) and the last has `last_size`.
    """
    folds = -(-size // tile)
    last = size - (folds - 1) * tile
    return folds, (tile if folds > 1 else last), last


@dataclass(frozen=True, kw_only=True)
class Fold:
    """One tile of a GEMM mapped onto the array.

    The fold computes ``C[m_start:m_stop, n_start:n_stop] += A[m_start:m_stop,
    k_start:k_stop] @ B[k_start:k_stop, n_start:n_stop]`` of GEMM number `group`.

    Attributes
    ----------
    index : int
        Position in the execution order of the layer, from 0.
    group : int
        Which of the layer's independent GEMMs, from 0.
    row_fold, col_fold : int
        Position along the array-row and array-column directions, from 0.
    m_start, m_stop, n_start, n_stop, k_start, k_stop : int
        The GEMM slice (half-open ranges).
    rows_used, cols_used : int
        PE rows and columns holding work (at most R and C).
    temporal : int
        Length of the streamed dimension T (operands per lane).
    """

    index: int
    group: int
    row_fold: int
    col_fold: int
    m_start: int
    m_stop: int
    n_start: int
    n_stop: int
    k_start: int
    k_stop: int
    rows_used: int
    cols_used: int
    temporal: int

    @property
    def macs(self) -> int:
        """Multiply-accumulates in this fold, ``rows_used * cols_used * temporal``."""
        return self.rows_used * self.cols_used * self.temporal


@dataclass(frozen=True, kw_only=True)
class Mapping:
    """A GEMM problem folded onto an array with one dataflow.

    Attributes
    ----------
    problem : GemmProblem
        The GEMM(s) being mapped.
    rows, cols : int
        Array shape R x C.
    dataflow : str
        ``"ws"``, ``"os"`` or ``"is"``.
    """

    problem: GemmProblem
    rows: int
    cols: int
    dataflow: str

    @property
    def row_dim(self) -> str:
        """GEMM dimension (``"m"``, ``"n"`` or ``"k"``) laid along the array rows."""
        return _SPATIAL_TEMPORAL_DIMS[self.dataflow][0]

    @property
    def col_dim(self) -> str:
        """GEMM dimension laid along the array columns."""
        return _SPATIAL_TEMPORAL_DIMS[self.dataflow][1]

    @property
    def time_dim(self) -> str:
        """GEMM dimension streamed through the array."""
        return _SPATIAL_TEMPORAL_DIMS[self.dataflow][2]

    @property
    def spatial_rows(self) -> int:
        """S_r, the size of `row_dim`."""
        return getattr(self.problem, self.row_dim)

    @property
    def spatial_cols(self) -> int:
        """S_c, the size of `col_dim`."""
        return getattr(self.problem, self.col_dim)

    @property
    def temporal(self) -> int:
        """T, the size of `time_dim`."""
        return getattr(self.problem, self.time_dim)

    @property
    def row_folds(self) -> int:
        """``ceil(S_r / R)``."""
        return -(-self.spatial_rows // self.rows)

    @property
    def col_folds(self) -> int:
        """``ceil(S_c / C)``."""
        return -(-self.spatial_cols // self.cols)

    @property
    def folds_per_group(self) -> int:
        """``row_folds * col_folds``."""
        return self.row_folds * self.col_folds

    @property
    def folds(self) -> int:
        """Total folds of the layer, ``groups * row_folds * col_folds``."""
        return self.problem.groups * self.folds_per_group

    @property
    def mapping_efficiency(self) -> float:
        """Mean over folds of the fraction of PEs holding work.

        SCALE-Sim's ``get_avg_mapping_efficiency``: the mean of ``rows_used * cols_used /
        (R * C)``, which sums to ``S_r * S_c / (row_folds * col_folds * R * C)``.
        """
        return (self.spatial_rows * self.spatial_cols) / (self.folds_per_group * self.rows * self.cols)

    def iter_folds(self) -> Iterator[Fold]:
        """Yield every fold in execution order (group, column fold, row fold)."""
        extents = {"m": self.problem.m, "n": self.problem.n, "k": self.problem.k}
        row_dim, col_dim = self.row_dim, self.col_dim
        temporal = self.temporal
        index = 0
        for group in range(self.problem.groups):
            for col_fold in range(self.col_folds):
                col_start = col_fold * self.cols
                col_stop = min(col_start + self.cols, self.spatial_cols)
                for row_fold in range(self.row_folds):
                    row_start = row_fold * self.rows
                    row_stop = min(row_start + self.rows, self.spatial_rows)
                    bounds = {dim: (0, size) for dim, size in extents.items()}
                    bounds[row_dim] = (row_start, row_stop)
                    bounds[col_dim] = (col_start, col_stop)
                    yield Fold(
                        index=index,
                        group=group,
                        row_fold=row_fold,
                        col_fold=col_fold,
                        m_start=bounds["m"][0],
                        m_stop=bounds["m"][1],
                        n_start=bounds["n"][0],
                        n_stop=bounds["n"][1],
                        k_start=bounds["k"][0],
                        k_stop=bounds["k"][1],
                        rows_used=row_stop - row_start,
                        cols_used=col_stop - col_start,
                        temporal=temporal,
                    )
                    index += 1


def map_gemm(problem: GemmProblem, config: ArrayConfig) -> Mapping:
    """Fold `problem` onto the array of `config` with its dataflow."""
    return Mapping(problem=problem, rows=config.rows, cols=config.cols, dataflow=config.dataflow)
