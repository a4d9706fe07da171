"""Read a PyTorch ``state_dict`` file into numpy arrays, without torch.

Two on-disk formats exist (torch/serialization.py):

* **zip** (torch >= 1.6): ``<root>/data.pkl`` is a pickle whose tensors refer to
  storages by key through ``persistent_load``; storage ``k`` is the raw little-endian
  bytes of ``<root>/data/k``;
* **legacy** (older torch; torchvision's ``mobilenet_v2-b0353104.pth`` is one): five
  pickles in a row (magic number, protocol version, system info, the object, the list
  of storage keys), then, for each key in that order, an int64 element count and the
  storage's raw bytes.

Every pickle of the file goes through a restricted unpickler, so no code from the file
runs. The object pickle (the legacy format's fourth, the zip format's ``data.pkl``) may
name only ``collections.OrderedDict``, ``torch._utils._rebuild_tensor_v2`` /
``_rebuild_tensor`` and the ``torch.*Storage`` types, mapped to numpy stand-ins; the
legacy format's other four pickles (magic number, protocol version, system info, storage
keys) are plain data and may name no global at all. Any other global (``os.system``,
``builtins.eval``, ``subprocess.Popen``, ...) is refused before anything is called, with
one line naming it. The stand-ins have ``__slots__`` (a pickle cannot add attributes to
them), tensor offsets, sizes and strides are checked against their storage before a view
is made, and storage bytes are read only up to what the file declares (a zip member's
declared size, the bytes left in a legacy file), so a crafted file cannot read outside
its own data or make the reader allocate more than the file holds.
"""

from __future__ import annotations

import collections
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


def _label(text: object) -> str:
    """`text` from the file as a short single-line label for an error message."""
    return " ".join(str(text).split())[:60]


class _StorageType:
    __slots__ = ("dtype", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.dtype = np.dtype(_STORAGE_DTYPES[name])


class _Storage:
    __slots__ = ("array", "dtype", "key", "numel")

    def __init__(self, key: str, dtype: np.dtype, numel: int) -> None:
        self.key = key
        self.dtype = dtype
        self.numel = numel
        self.array: np.ndarray | None = None

    def values(self) -> np.ndarray | None:
        return self.array


class _StorageView:
    __slots__ = ("key", "numel", "offset", "root")

    def __init__(self, root: _Storage, offset: int, numel: int) -> None:
        if offset < 0 or numel < 0:
            raise ValueError(f"storage view at {offset} of {numel} values")
        self.root = root
        self.key = root.key
        self.offset = offset
        self.numel = numel

    def values(self) -> np.ndarray | None:
        if self.root.array is None:
            return None
        return self.root.array[self.offset : self.offset + self.numel]


class _Tensor:
    __slots__ = ("offset", "size", "storage", "stride")

    def __init__(self, storage: _Storage | _StorageView, offset: int, size, stride) -> None:
        if not isinstance(storage, _Storage | _StorageView):
            raise TypeError(f"a tensor's storage is a {type(storage).__name__}")
        self.storage = storage
        self.offset = int(offset)
        self.size = tuple(int(s) for s in size)
        self.stride = tuple(int(s) for s in stride)
        if len(self.size) != len(self.stride) or min((self.offset, *self.size, *self.stride)) < 0:
            raise ValueError(f"tensor offset {self.offset}, size {self.size}, stride {self.stride} are not a view")

    def materialise(self, source: str) -> np.ndarray:
        data = self.storage.values()
        if data is None:
            raise ConfigError(f"{source}: storage {_label(self.storage.key)} has no data")
        if not self.size:
            if self.offset >= data.size:
                raise ConfigError(f"{source}: storage {_label(self.storage.key)} is too short")
            return np.array(data[self.offset])
        extent = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride, strict=True)) + 1
        if min(self.size) > 0 and extent > data.size:
            raise ConfigError(
                f"{source}: storage {_label(self.storage.key)} holds {data.size} values; a tensor needs {extent}"
            )
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
    """Builds tensor stand-ins (`tensors`) or plain data only; refuses every other global."""

    def __init__(self, stream, source: str, *, tensors: bool) -> None:
        super().__init__(stream)
        self.source = source
        self.tensors = tensors
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str):
        if self.tensors:
            if (module, name) == ("collections", "OrderedDict"):
                return collections.OrderedDict
            if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
                return _rebuild_tensor_v2
            if (module, name) == ("torch._utils", "_rebuild_tensor"):
                return _rebuild_tensor
            if module == "torch" and name in _STORAGE_DTYPES:
                return _StorageType(name)
        raise ConfigError(
            f"{self.source}: refuses to unpickle {_label(module)}.{_label(name)}; only tensor state dicts are read"
        )

    def persistent_load(self, pid):
        if not self.tensors or not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
            raise ConfigError(f"{self.source}: unexpected persistent id {pid!r:.60}")
        storage_type, key, numel = pid[1], str(pid[2]), int(pid[4])
        if not isinstance(storage_type, _StorageType):
            raise ConfigError(f"{self.source}: unsupported storage type {storage_type!r:.60}")
        if numel < 0:
            raise ConfigError(f"{self.source}: storage {_label(key)} has a negative size")
        if key not in self.storages:
            self.storages[key] = _Storage(key, storage_type.dtype, numel)
        storage = self.storages[key]
        view = pid[5] if len(pid) > 5 else None
        if view is not None:
            _, offset, view_size = view
            return _StorageView(storage, int(offset), int(view_size))
        return storage


def _plain(stream, source: str):
    """One pickle of plain data (numbers, strings, lists, dicts): no global, no persistent id."""
    return _RestrictedUnpickler(stream, source, tensors=False).load()


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


_MAX_COMPRESSION_RATIO = 100
"""A zip member may unpack to at most this many times its stored size (torch stores its
members uncompressed; a larger ratio is a decompression bomb)."""


def _member(archive: zipfile.ZipFile, name: str, source: str, size: int | None = None):
    """An open zip member, refused when it declares fewer than `size` bytes or unpacks too far."""
    info = archive.getinfo(name)
    if size is not None and info.file_size < size:
        raise ConfigError(f"{source}: {_label(name)} is truncated")
    if info.compress_type != zipfile.ZIP_STORED and info.file_size > _MAX_COMPRESSION_RATIO * max(
        info.compress_size, 1
    ):
        raise ConfigError(f"{source}: {_label(name)} unpacks to {info.file_size} bytes from {info.compress_size}")
    return archive.open(info)


def _load_zip(path: Path, source: str) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if not pickles:
            raise ConfigError(f"{source}: zip archive without data.pkl")
        root = pickles[0][: -len("data.pkl")]
        if f"{root}byteorder" in names:
            with _member(archive, f"{root}byteorder", source) as member:
                if member.read(16).strip() != b"little":
                    raise ConfigError(f"{source}: big-endian checkpoints are not supported")
        with _member(archive, pickles[0], source) as member:
            unpickler = _RestrictedUnpickler(member, source, tensors=True)
            state = unpickler.load()
        for key, storage in unpickler.storages.items():
            name = f"{root}data/{key}"
            if name not in names:
                raise ConfigError(f"{source}: storage {_label(key)} ({_label(name)}) is missing")
            needed = storage.numel * storage.dtype.itemsize
            with _member(archive, name, source, needed) as member:
                raw = member.read(needed)
            if len(raw) < needed:
                raise ConfigError(f"{source}: storage {_label(key)} is truncated")
            storage.array = np.frombuffer(raw, dtype=storage.dtype.newbyteorder("<"))
    return _flat_arrays(_materialise(state, source), source)


def _load_legacy(path: Path, source: str) -> dict[str, np.ndarray]:
    size = path.stat().st_size
    with open(path, "rb") as stream:
        if _plain(stream, source) != LEGACY_MAGIC:
            raise ConfigError(f"{source}: not a PyTorch checkpoint (bad magic number)")
        _plain(stream, source)
        info = _plain(stream, source)
        if isinstance(info, dict) and not info.get("little_endian", True):
            raise ConfigError(f"{source}: big-endian checkpoints are not supported")
        unpickler = _RestrictedUnpickler(stream, source, tensors=True)
        state = unpickler.load()
        keys = _plain(stream, source)
        if not isinstance(keys, list):
            raise ConfigError(f"{source}: the storage keys are a {type(keys).__name__}, not a list")
        for key in keys:
            storage = unpickler.storages.get(str(key))
            header = stream.read(8)
            if storage is None or len(header) != 8:
                raise ConfigError(f"{source}: storage {_label(key)} is missing or truncated")
            (numel,) = struct.unpack("<q", header)
            needed = numel * storage.dtype.itemsize
            if not 0 <= needed <= size - stream.tell():
                raise ConfigError(f"{source}: storage {_label(key)} is truncated")
            raw = stream.read(needed)
            if len(raw) != needed:
                raise ConfigError(f"{source}: storage {_label(key)} is truncated")
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
    except Exception as error:  # zipfile, zlib, pickle and numpy each raise their own types
        reason = " ".join(str(error).split())[:100] or type(error).__name__
        raise ConfigError(f"{source}: not a readable PyTorch checkpoint ({reason})") from None
