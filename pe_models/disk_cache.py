"""Results worth keeping between processes, on disk, as JSON.

Some figures take seconds of gate-level simulation and depend only on the code and a few
inputs: the toggle models of a PE's stages (:func:`pe_models.energy.pe_energy_model`) are
the example. :func:`persistent` keeps such a function's results in a folder:

* the folder is ``VSCALE_CACHE_DIR``, else ``$XDG_CACHE_HOME/vscale``, else
  ``~/.cache/vscale``; ``VSCALE_CACHE_DIR=off`` keeps nothing;
* one file per result, named by the SHA-256 of its key; the key holds every input the
  result depends on, the digest of the source files that compute it, and the numpy
  version (its random streams), so a change of any of them computes afresh;
* files are JSON (never pickle: a cache folder is a file a user could be handed), written
  whole (temporary file, then rename); a file that does not parse, holds another key or
  does not decode is computed afresh and rewritten;
* a folder that cannot be created or written (read-only, full disk) only means nothing
  is kept: the result is computed and returned as without a cache.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import numpy as np

__all__ = ["CACHE_DIR_ENV", "cache_folder", "persistent", "source_digest"]

CACHE_DIR_ENV = "VSCALE_CACHE_DIR"

P = ParamSpec("P")
R = TypeVar("R")


def cache_folder() -> Path | None:
    """Where results are kept, or None when ``VSCALE_CACHE_DIR=off``."""
    configured = os.environ.get(CACHE_DIR_ENV, "").strip()
    if configured.lower() == "off":
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vscale"


@functools.cache
def source_digest(paths: tuple[str, ...]) -> str:
    """SHA-256 (hex) of the named source files of this package, in order."""
    digest = hashlib.sha256()
    folder = Path(__file__).resolve().parent
    for name in paths:
        digest.update(name.encode())
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()


def persistent(
    namespace: str,
    *,
    key: Callable[P, dict[str, Any]],
    encode: Callable[[R], dict[str, Any]],
    decode: Callable[[dict[str, Any]], R],
    sources: Iterable[str],
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Keep the results of the decorated function in :func:`cache_folder` (see the module docstring).

    Parameters
    ----------
    namespace : str
        Sub-folder of the cache (one per kind of result).
    key : callable
        The decorated function's arguments -> a JSON-ready dict naming everything the result
        depends on besides the code.
    encode, decode : callable
        Result -> JSON-ready dict, and back (exactly: floats round-trip through JSON).
    sources : iterable of str
        Files of this package whose code computes the result (their digest joins the key).
    """
    files = tuple(sources)

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            folder = cache_folder()
            if folder is None:
                return function(*args, **kwargs)
            full_key = {
                "function": function.__qualname__,
                "inputs": key(*args, **kwargs),
                "code": source_digest(files),
                "numpy": np.__version__,
            }
            text = json.dumps(full_key, sort_keys=True, separators=(",", ":"))
            path = folder / namespace / f"{hashlib.sha256(text.encode()).hexdigest()}.json"
            try:
                stored = json.loads(path.read_text(encoding="utf-8"))
                if stored["key"] == json.loads(text):
                    return decode(stored["value"])
            except Exception:  # missing, unreadable, damaged or foreign: compute afresh
                pass
            result = function(*args, **kwargs)
            _write(path, json.dumps({"key": full_key, "value": encode(result)}, sort_keys=True))
            return result

        return wrapper

    return decorate


def _write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError:
        try:
            temporary.unlink(missing_ok=True)
        except OSError:
            pass
