"""Shared fixtures: a seeded generator and small PE configurations."""

import csv
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A generator seeded from a fixed SeedSequence (same bits on every run)."""
    return np.random.default_rng(np.random.SeedSequence(20231121))


class ScaleSimReference:
    """The SCALE-Sim v2 reference data shipped in ``tests/data/scalesim/`` (see its README)."""

    root = Path(__file__).resolve().parent / "data" / "scalesim"

    def topology(self, file_name: str) -> Path:
        """Path of one of SCALE-Sim's topology files, e.g. ``mobilenet.csv``."""
        return self.root / "topologies" / file_name

    def config(self, file_name: str) -> Path:
        """Path of one of the SCALE-Sim ``.cfg`` files, e.g. ``a32x32_ws_calc.cfg``."""
        return self.root / "configs" / file_name

    def results(self, array: str, dataflow: str) -> list[dict[str, str]]:
        """Rows of SCALE-Sim's per-layer results on ``mobilenet.csv`` for one array and dataflow."""
        path = self.root / "results" / f"mobilenet__a{array}_{dataflow}_calc.csv"
        with path.open(newline="") as handle:
            return list(csv.DictReader(handle))


@pytest.fixture(scope="session")
def scalesim_reference() -> ScaleSimReference:
    """SCALE-Sim v2 reference results, configs and topologies (shipped with the tests)."""
    return ScaleSimReference()
