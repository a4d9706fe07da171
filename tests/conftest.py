"""Shared fixtures: a seeded generator and small PE configurations."""

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A generator seeded from a fixed SeedSequence (same bits on every run)."""
    return np.random.default_rng(np.random.SeedSequence(20231121))
