"""numba's on-disk kernel cache, read so that a damaged file is recompiled, never a traceback.

numba keeps each compiled kernel in an index (``.nbi``) and a data file (``.nbc``) in
``__pycache__`` (or ``NUMBA_CACHE_DIR``) and reads both with pickle; any error but a missing
file escapes to the caller, so an index cut short (a full disk, an interrupted copy of the
folder) ends every later run in ``UnpicklingError: pickle data was truncated``.
:func:`tolerate_damaged_cache` makes a file numba cannot read count as absent: the kernel is
compiled again, as on a first run, and its files are rewritten, which heals the cache.
The modules that define cached kernels call it on import.
"""

from __future__ import annotations

from typing import Any

__all__ = ["tolerate_damaged_cache"]


def tolerate_damaged_cache() -> None:
    """Make numba treat a cache file it cannot read as absent (idempotent).

    Wraps ``numba.core.caching.IndexDataCacheFile._load_index`` (an unreadable index is an
    empty one, so saving the recompiled kernel rewrites it) and ``Cache.load_overload`` (an
    entry that does not load or rebuild is a miss).
    """
    from numba.core import caching

    index_file: Any = caching.IndexDataCacheFile
    cache: Any = caching.Cache
    if getattr(index_file, "_vscale_tolerant", False):
        return
    load_index = index_file._load_index
    load_overload = cache.load_overload

    def tolerant_load_index(self: Any) -> dict[Any, Any]:
        try:
            return load_index(self)
        except Exception:
            return {}

    def tolerant_load_overload(self: Any, sig: Any, target_context: Any) -> Any:
        try:
            return load_overload(self, sig, target_context)
        except Exception:
            return None

    index_file._load_index = tolerant_load_index
    cache.load_overload = tolerant_load_overload
    index_file._vscale_tolerant = True
