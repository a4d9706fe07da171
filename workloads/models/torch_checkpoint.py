"""Read a PyTorch ``state_dict`` file into numpy arrays, without torch.

Two on-disk formats exist (torch/serialization.py):

* **zip** (torch >= 1.6): ``<root>/data.pkl`` is a pickle whose tensors refer to
  storages by key through ``persistent_load``; storage ``k`` is the raw little-endian
  bytes of ``<root>/data/k``;
* **legacy** (older torch; torchvision's ``mobilenet_v2-b0353104.pth`` is one): five
  pickles in a row (magic number, protocol version, system info, the object, the list
  of storage keys), then, for each key in that order, an int64 element count and the
  storage's raw bytes.

The unpickler is restricted: ``find_class`` resolves only ``collections.OrderedDict``,
``torch._utils._rebuild_tensor_v2`` / ``_rebuild_tensor`` and the ``torch.*Storage``
types, mapped to numpy stand-ins; anything else is refused, so no code from the file
runs.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from os import PathLike
from pathlib import Path

import numpy as np

from pe_models.errors import ConfigError

__all__ = ["LEGACY_MAGIC", "load_torch_state_dict"]

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class _StorageType:
    def __init__(self, name: str) -> None:
        self.name = name
        self.dtype = np.dtype(_STORAGE_DTYPES[name])


class _Storage:
    def __init__(self, key: str, dtype: np.dtype, numel: int) -> None:
        self.key = key
        self.dtype = dtype
        self.numel = numel
        self.array: np.ndarray | None = None

    def values(self) -> np.ndarray | None:
        return self.array


class _StorageView:
    def __init__(self, root: _Storage, offset: int, numel: int) -> None:
        self.root = root
        self.key = root.key
        self.offset = offset
        self.numel = numel

    def values(self) -> np.ndarray | None:
        if self.root.array is None:
            return None
        return self.root.array[self.offset : self.offset + self.numel]


class _Tensor:
    def __init__(self, storage: _Storage | _StorageView, offset: int, size, stride) -> None:
        self.storage = storage
        self.offset = int(offset)
        self.size = tuple(int(s) for s in size)
        self.stride = tuple(int(s) for s in stride)

    def materialise(self, source: str) -> np.ndarray:
        data = self.storage.values()
        if data is None:
            raise ConfigError(f"{source}: storage {self.storage.key} has no data")
        if not self.size:
            if self.offset >= data.size:
                raise ConfigError(f"{source}: storage {self.storage.key} is too short")
            return np.array(data[self.offset])
        extent = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride, strict=True)) + 1
        if min(self.size) > 0 and extent > data.size:
            raise ConfigError(f"{source}: storage {self.storage.key} holds {data.size} values; a tensor needs {extent}")
        view = np.lib.stride_tricks.as_strided(
            data[self.offset :],
            shape=self.size,
            strides=tuple(s * data.itemsize for s in self.stride),
        )
        return np.array(view)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, *unused):
    return _Tensor(storage, storage_offset, size, stride)


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _Tensor(storage, storage_offset, size, stride)


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, stream, source: str) -> None:
        super().__init__(stream)
        self.source = source
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if (module, name) == ("torch._utils", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise ConfigError(f"{self.source}: refuses to unpickle {module}.{name}; only tensor state dicts are read")

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
            raise ConfigError(f"{self.source}: unexpected persistent id {pid!r:.60}")
        storage_type, key, numel = pid[1], str(pid[2]), int(pid[4])
        if not isinstance(storage_type, _StorageType):
            raise ConfigError(f"{self.source}: unsupported storage type {storage_type!r:.60}")
        if key not in self.storages:
            self.storages[key] = _Storage(key, storage_type.dtype, numel)
        storage = self.storages[key]
        view = pid[5] if len(pid) > 5 else None
        if view is not None:
            _, offset, view_size = view
            return _StorageView(storage, int(offset), int(view_size))
        return storage


def _materialise(obj, source: str):
    if isinstance(obj, _Tensor):
        return obj.materialise(source)
    if isinstance(obj, dict):
        return {key: _materialise(value, source) for key, value in obj.items()}
    return obj


def _flat_arrays(state, source: str) -> dict[str, np.ndarray]:
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ConfigError(f"{source}: holds a {type(state).__name__}, not a state dict")
    arrays = {}
    for key, value in state.items():
        if isinstance(value, np.ndarray):
            arrays[str(key)] = value
    if not arrays:
        raise ConfigError(f"{source}: holds no tensors")
    return arrays


def _load_zip(path: Path, source: str) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if not pickles:
            raise ConfigError(f"{source}: zip archive without data.pkl")
        root = pickles[0][: -len("data.pkl")]
        unpickler = _RestrictedUnpickler(io.BytesIO(archive.read(pickles[0])), source)
        state = unpickler.load()
        for key, storage in unpickler.storages.items():
            member = f"{root}data/{key}"
            if member not in names:
                raise ConfigError(f"{source}: storage {key} ({member}) is missing")
            raw = archive.read(member)
            needed = storage.numel * storage.dtype.itemsize
            if len(raw) < needed:
                raise ConfigError(f"{source}: storage {key} is truncated")
            storage.array = np.frombuffer(raw[:needed], dtype=storage.dtype.newbyteorder("<"))
    return _flat_arrays(_materialise(state, source), source)


def _load_legacy(path: Path, source: str) -> dict[str, np.ndarray]:
    with open(path, "rb") as stream:
        if pickle.load(stream) != LEGACY_MAGIC:
            raise ConfigError(f"{source}: not a PyTorch checkpoint (bad magic number)")
        pickle.load(stream)
        info = pickle.load(stream)
        if isinstance(info, dict) and not info.get("little_endian", True):
            raise ConfigError(f"{source}: big-endian checkpoints are not supported")
        unpickler = _RestrictedUnpickler(stream, source)
        state = unpickler.load()
        keys = pickle.load(stream)
        for key in keys:
            storage = unpickler.storages.get(str(key))
            header = stream.read(8)
            if storage is None or len(header) != 8:
                raise ConfigError(f"{source}: storage {key} is missing or truncated")
            (numel,) = struct.unpack("<q", header)
            raw = stream.read(numel * storage.dtype.itemsize)
            if len(raw) != numel * storage.dtype.itemsize:
                raise ConfigError(f"{source}: storage {key} is truncated")
            storage.array = np.frombuffer(raw, dtype=storage.dtype.newbyteorder("<"))
    return _flat_arrays(_materialise(state, source), source)


def load_torch_state_dict(path: str | PathLike[str]) -> dict[str, np.ndarray]:
    """Every tensor of a PyTorch ``state_dict`` file as a numpy array.

    Parameters
    ----------
    path : path-like
        A ``.pth``/``.pt`` file in the zip or the legacy format.

    Returns
    -------
    dict of str to ndarray
        Keyed by the state-dict names; non-tensor entries are dropped.

    Raises
    ------
    ConfigError
        Missing, truncated or corrupt file, or a pickle asking for anything but tensors.
    """
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise ConfigError(f"{source}: weight file does not exist")
    try:
        if zipfile.is_zipfile(path):
            return _load_zip(path, source)
        return _load_legacy(path, source)
    except ConfigError:
        raise
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
        struct.error,
        zipfile.BadZipFile,
        OSError,
    ) as error:
        reason = " ".join(str(error).split())[:100] or type(error).__name__
        raise ConfigError(f"{source}: not a readable PyTorch checkpoint ({reason})") from None
