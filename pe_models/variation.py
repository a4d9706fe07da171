"""Seeded process variation of gate delays: die-to-die, per PE and per cell.

A delay factor multiplies a nominal delay. The delay of cell ``j`` of the PE with flat
index ``p`` on one die is::

    t = t_nominal * pe_delay_factors(...)[p] * cell_delay_factors(pe_index=p, ...)[j]

Random numbers come from independent streams of one seed, each derived with
``numpy.random.SeedSequence(entropy, spawn_key=(..., stream, ...))``:

* the die stream: one standard normal shared by every PE of the array;
* the PE stream: one standard normal per PE, in row-major (C) order of ``shape``;
* one cell stream per PE, keyed by its flat index, so a PE's cell factors do not depend on
  the array shape nor on the order in which PEs are asked for.

The deviates do not depend on the sigmas, so sweeping a sigma with a fixed seed reuses the
same random numbers (common random numbers).

Factors are clipped below at ``min_factor`` so a delay can never be zero or negative. With
``sigma <= 0.1`` and the default ``min_factor = 0.5`` the clip is 5 sigma away and almost
never acts; at the largest allowed ``sigma = 0.3`` it affects about 4.8 % of the draws,
which then sit exactly at ``min_factor``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

from pe_models.errors import ConfigError

__all__ = ["MAX_SIGMA", "ProcessVariation"]

MAX_SIGMA: float = 0.3

_DIE_STREAM = 0x76_64_69_65
_PE_STREAM = 0x76_70_65_00
_CELL_STREAM = 0x76_63_65_6C

_SEED_ALLOWED = "a non-negative integer or a numpy.random.SeedSequence"


def _root_seed_sequence(seed: int | np.random.SeedSequence) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, Integral) and not isinstance(seed, bool) and int(seed) >= 0:
        return np.random.SeedSequence(int(seed))
    raise ConfigError(f"seed: {seed!r} is invalid; allowed: {_SEED_ALLOWED}")


def _stream_generator(root: np.random.SeedSequence, *stream_key: int) -> np.random.Generator:
    child = np.random.SeedSequence(
        root.entropy,
        spawn_key=(*root.spawn_key, *stream_key),
        pool_size=root.pool_size,
    )
    return np.random.default_rng(child)


def _checked_count(field: str, value: object, *, minimum: int, allowed: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or int(value) < minimum:
        raise ConfigError(f"{field}: {value!r} is invalid; allowed: {allowed}")
    return int(value)


@dataclass(frozen=True, kw_only=True)
class ProcessVariation:
    """Relative standard deviations of gate delay at three levels.

    Parameters
    ----------
    sigma_die : float
        Relative std of delay between dies (one draw per array), ``0 <= sigma <= 0.3``.
    sigma_pe : float
        Relative std of delay between PEs of one die (one draw per PE), ``0 <= sigma <= 0.3``.
    sigma_cell : float
        Relative std of delay between cells of one PE (one draw per cell),
        ``0 <= sigma <= 0.3``.
    min_factor : float
        Lower clip of every factor, ``0 < min_factor <= 1``.

    Raises
    ------
    ConfigError
        If a field is out of range; the message names the field and the allowed values.
    """

    sigma_die: float = 0.0
    sigma_pe: float = 0.0
    sigma_cell: float = 0.0
    min_factor: float = 0.5

    def __post_init__(self) -> None:
        for field in ("sigma_die", "sigma_pe", "sigma_cell"):
            self._check_number(
                field,
                getattr(self, field),
                allowed=f"0 <= {field} <= {MAX_SIGMA:g}",
                in_range=lambda number: 0.0 <= number <= MAX_SIGMA,
            )
        self._check_number(
            "min_factor",
            self.min_factor,
            allowed="0 < min_factor <= 1",
            in_range=lambda number: 0.0 < number <= 1.0,
        )

    @staticmethod
    def _check_number(field: str, value: object, *, allowed: str, in_range: Callable[[float], bool]) -> None:
        if not isinstance(value, Real) or isinstance(value, bool) or not math.isfinite(float(value)):
            raise ConfigError(f"{field}: {value!r} is not a finite number; allowed: {allowed}")
        if not in_range(float(value)):
            raise ConfigError(f"{field}: {float(value)!r} is out of range; allowed: {allowed}")

    def pe_delay_factors(self, *, shape: tuple[int, ...], seed: int | np.random.SeedSequence) -> np.ndarray:
        """Delay factor of every PE of one array (one die).

        ``max(min_factor, (1 + sigma_die * z_die) * (1 + sigma_pe * z_pe))`` with ``z_die``
        one standard normal shared by all PEs and ``z_pe`` one per PE.

        Parameters
        ----------
        shape : tuple of int
            Array shape, e.g. ``(rows, cols)``; every dimension >= 1.
        seed : int or numpy.random.SeedSequence
            Root seed; the same seed gives the same factors.

        Returns
        -------
        numpy.ndarray
            float64 array of ``shape``, dimensionless; all ones when both sigmas are 0.

        Raises
        ------
        ConfigError
            If ``shape`` or ``seed`` is invalid.
        """
        if (
            not isinstance(shape, tuple)
            or len(shape) == 0
            or any(isinstance(n, bool) or not isinstance(n, Integral) or n < 1 for n in shape)
        ):
            raise ConfigError(f"shape: {shape!r} is invalid; allowed: a non-empty tuple of positive integers")
        shape = tuple(int(n) for n in shape)
        root = _root_seed_sequence(seed)
        die_factor = 1.0
        if self.sigma_die > 0.0:
            z_die = _stream_generator(root, _DIE_STREAM).standard_normal()
            die_factor = 1.0 + self.sigma_die * z_die
        pe_factors = np.ones(shape, dtype=np.float64)
        if self.sigma_pe > 0.0:
            z_pe = _stream_generator(root, _PE_STREAM).standard_normal(size=shape)
            pe_factors += self.sigma_pe * z_pe
        return np.maximum(die_factor * pe_factors, self.min_factor)

    def cell_delay_factors(self, *, n_cells: int, pe_index: int, seed: int | np.random.SeedSequence) -> np.ndarray:
        """Delay factor of every cell of one PE, relative to that PE's factor.

        ``max(min_factor, 1 + sigma_cell * z_cell)`` with one standard normal per cell,
        drawn from a stream keyed by ``(seed, pe_index)`` only.

        Parameters
        ----------
        n_cells : int
            Number of cells in the PE, >= 1.
        pe_index : int
            Flat (row-major) index of the PE in the array, >= 0.
        seed : int or numpy.random.SeedSequence
            The same root seed as given to :meth:`pe_delay_factors`.

        Returns
        -------
        numpy.ndarray
            float64 array of shape ``(n_cells,)``, dimensionless; all ones when
            ``sigma_cell`` is 0.

        Raises
        ------
        ConfigError
            If ``n_cells``, ``pe_index`` or ``seed`` is invalid.
        """
        n_cells = _checked_count("n_cells", n_cells, minimum=1, allowed="a positive integer")
        pe_index = _checked_count("pe_index", pe_index, minimum=0, allowed="a non-negative integer (flat PE index)")
        root = _root_seed_sequence(seed)
        if self.sigma_cell == 0.0:
            return np.ones(n_cells, dtype=np.float64)
        z_cell = _stream_generator(root, _CELL_STREAM, pe_index).standard_normal(size=n_cells)
        return np.maximum(1.0 + self.sigma_cell * z_cell, self.min_factor)
