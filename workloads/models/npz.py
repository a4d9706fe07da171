"""Reading ``.npz`` weight and data files with one-line errors for every way they break."""

from __future__ import annotations

from os import PathLike
from pathlib import Path

import numpy as np

from pe_models.errors import ConfigError

__all__ = ["load_npz"]


def load_npz(path: str | PathLike[str]) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, loaded eagerly without pickle.

    Parameters
    ----------
    path : path-like
        The ``.npz`` file.

    Returns
    -------
    dict of str to ndarray

    Raises
    ------
    ConfigError
        The file is missing, is not a zip archive, is truncated or corrupt (any byte
        sequence), or holds an array that cannot be decoded (including pickled object
        arrays); the message names the file and, where known, the array.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: weight file does not exist")
    try:
        archive = np.load(path, allow_pickle=False)
    except MemoryError:
        raise
    except Exception as error:
        raise ConfigError(f"{path}: not a readable .npz file ({_reason(error)})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ConfigError(f"{path}: not an .npz archive (a single .npy array)")
    arrays: dict[str, np.ndarray] = {}
    with archive:
        for name in archive.files:
            try:
                arrays[name] = archive[name]
            except MemoryError:
                raise
            except Exception as error:
                raise ConfigError(f"{path}: array {name!r} is corrupt or truncated ({_reason(error)})") from None
    return arrays


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 120 else text[:117] + "..."
