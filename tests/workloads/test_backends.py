"""The exact GEMM backend against pure integer matmul, and the backend registry."""

from __future__ import annotations

import numpy as np
import pytest

from pe_models.errors import ConfigError
from workloads import backends
from workloads.backends import (
    ExactBackend,
    available_backends,
    float_dtype_for_depth,
    make_backend,
    register_backend,
)


def _int_matmul(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.matmul(a.astype(np.int64), w.astype(np.int64))


def test_float32_is_used_up_to_depth_1024_and_float64_beyond():
    # 1024 * 128 * 128 = 2**24, the largest integer range float32 holds exactly
    assert float_dtype_for_depth(1024) is np.float32
    assert float_dtype_for_depth(1025) is np.float64


@pytest.mark.parametrize("depth", [1, 9, 27, 1024, 1025, 4096])
def test_exact_backend_matches_integer_matmul_on_random_operands(depth):
    rng = np.random.default_rng(np.random.SeedSequence(depth))
    a = rng.integers(-128, 128, size=(37, depth), dtype=np.int8)
    w = rng.integers(-128, 128, size=(depth, 11), dtype=np.int8)
    assert np.array_equal(ExactBackend().matmul(a, w, layer="l"), _int_matmul(a, w))


@pytest.mark.parametrize("depth", [1024, 1025, 8192])
def test_exact_backend_matches_integer_matmul_at_worst_case_magnitudes(depth):
    a = np.full((3, depth), -128, dtype=np.int8)
    a[1] = 127
    a[2, ::2] = 127
    w = np.full((depth, 3), -128, dtype=np.int8)
    w[:, 1] = 127
    w[1::3, 2] = -127
    got = ExactBackend().matmul(a, w, layer="l")
    assert got[0, 0] == depth * 16384
    assert np.array_equal(got, _int_matmul(a, w))


def test_float32_alone_would_be_inexact_beyond_the_bound():
    depth = 2048
    a = np.full((1, depth), 127, dtype=np.int8)
    a[0, 0] = 2
    w = np.full((depth, 1), 127, dtype=np.int8)
    exact = _int_matmul(a, w)[0, 0]  # 2047 * 16129 + 254: odd, > 2**24, not a float32
    single = np.matmul(a.astype(np.float32), w.astype(np.float32)).astype(np.int64)[0, 0]
    assert exact > 2**24 and exact % 2 == 1
    assert single != exact
    assert ExactBackend().matmul(a, w, layer="l")[0, 0] == exact


def test_narrow_accumulator_wraps_like_a_register():
    a = np.full((1, 4), 127, dtype=np.int8)
    w = np.full((4, 1), 127, dtype=np.int8)
    # 4 * 16129 = 64516 = 0xFC04 -> as int16: 64516 - 65536 = -1020
    assert ExactBackend(accumulator_bits=16).matmul(a, w, layer="l")[0, 0] == -1020


def test_exact_backend_rejects_non_int8_operands():
    with pytest.raises(TypeError):
        ExactBackend().matmul(np.zeros((2, 2), np.int16), np.zeros((2, 2), np.int8), layer="l")


def test_exact_backend_keeps_the_protocols_contract():
    # mypy checks the structure (the registry holds Callable[..., GemmBackend]); this checks
    # the behaviour the engine relies on: int64 (M, N) sums, empty error statistics, and
    # counters the batch splitter can reset (workloads.parallel.BatchBackend).
    backend = make_backend("exact")
    a = np.array([[1, -2, 3], [4, 5, -6]], np.int8)
    w = np.array([[1, 0], [0, 1], [2, -1]], np.int8)
    out = backend.matmul(a, w, layer="l")
    # by hand: [1 + 6, -2 - 3] and [4 - 12, 5 + 6]
    assert out.dtype == np.int64 and out.tolist() == [[7, -5], [-8, 11]]
    assert backend.name == "exact" and backend.stats == {}
    assert all(isinstance(getattr(backend, counter), dict) for counter in backend.counters)
    backend.start_batch(3)
    assert backend.matmul(a, w, layer="l").tolist() == out.tolist()


def test_unknown_backend_names_the_allowed_ones():
    with pytest.raises(ConfigError, match=r"^backend: 'magic' is unknown; allowed: exact, statistical, bitlevel$"):
        make_backend("magic")


def test_bad_accumulator_width_is_rejected():
    with pytest.raises(ConfigError, match=r"^accumulator_bits: 8 is not allowed; allowed: 16\.\.64$"):
        make_backend("exact", accumulator_bits=8)


def test_registered_backend_is_built_with_its_options(monkeypatch):
    monkeypatch.setattr(backends, "_REGISTRY", dict(backends._REGISTRY))

    class Doubling(ExactBackend):
        name = "doubling"

        def __init__(self, *, factor: int) -> None:
            super().__init__()
            self.factor = factor

    register_backend("doubling", Doubling)
    assert available_backends() == ("exact", "statistical", "bitlevel", "doubling")
    assert make_backend("doubling", factor=2).factor == 2
