"""The version of vscale, read by ``vscale --version`` without importing package metadata.

``pyproject.toml`` takes the package version from here (``[tool.setuptools.dynamic]``), so
the installed metadata and this constant are one value.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
