"""No code from a checkpoint runs: payloads in every pickle of both formats are refused.

Each payload, unpickled with plain :func:`pickle.loads`, creates a sentinel file (checked
first, so a test below that finds no sentinel can fail). The reader must refuse it with
one line naming the global, before anything is called, wherever the payload sits: any
of the legacy format's five pickles or the zip format's ``data.pkl``.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import struct
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from pe_models.errors import ConfigError
from workloads.models.torch_checkpoint import LEGACY_MAGIC, load_torch_state_dict


class _Call:
    """Pickles as the call ``function(*arguments)`` (what a malicious ``__reduce__`` does)."""

    def __init__(self, function: object, *arguments: object) -> None:
        self.function = function
        self.arguments = arguments

    def __reduce__(self):
        return self.function, self.arguments

    def __call__(self) -> None:
        """Never called here: being callable lets a call be pickled as the function of another."""


def _os_system(sentinel: Path) -> bytes:
    return pickle.dumps(_Call(os.system, f"touch '{sentinel}'"))


def _builtins_eval(sentinel: Path) -> bytes:
    return pickle.dumps(_Call(eval, f"open({str(sentinel)!r}, 'w').close()"))


def _builtins_exec(sentinel: Path) -> bytes:
    return pickle.dumps(_Call(exec, f"open({str(sentinel)!r}, 'w').close()"))


def _subprocess_popen(sentinel: Path) -> bytes:
    # Popen(...).wait(), so the child has finished when unpickling returns
    started = _Call(subprocess.Popen, ["touch", str(sentinel)])
    return pickle.dumps(_Call(_Call(getattr, started, "wait")))


def _protocol_0_inst(sentinel: Path) -> bytes:
    # the INST opcode: "(" MARK, the argument, "i" module "\n" name "\n"
    return b"(S'touch \\'" + str(sentinel).encode() + b"\\''\nios\nsystem\n."


def _inside_a_state_dict(sentinel: Path) -> bytes:
    return pickle.dumps({"conv.weight": [1.0], "conv.bias": _Call(os.system, f"touch '{sentinel}'")})


PAYLOADS: dict[str, Callable[[Path], bytes]] = {
    "os.system": _os_system,
    "builtins.eval": _builtins_eval,
    "builtins.exec": _builtins_exec,
    "subprocess.Popen": _subprocess_popen,
    "INST opcode": _protocol_0_inst,
    "inside a state dict": _inside_a_state_dict,
}
LEGACY_PICKLES = ("magic number", "protocol version", "system info", "state dict", "storage keys")
POSITIONS = (*(f"legacy {name}" for name in LEGACY_PICKLES), "zip data.pkl")


def _legacy(replace: int, payload: bytes) -> bytes:
    pickles = [
        pickle.dumps(LEGACY_MAGIC),
        pickle.dumps(1001),
        pickle.dumps({"protocol_version": 1001, "little_endian": True}),
        pickle.dumps({}),
        pickle.dumps([]),
    ]
    pickles[replace] = payload
    return b"".join(pickles)


def _zip(data_pkl: bytes, storages: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", data_pkl)
        for key, raw in (storages or {}).items():
            archive.writestr(f"archive/data/{key}", raw)
    return buffer.getvalue()


def _checkpoint(position: str, payload: bytes) -> bytes:
    if position == "zip data.pkl":
        return _zip(payload)
    return _legacy(LEGACY_PICKLES.index(position.removeprefix("legacy ")), payload)


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_each_payload_runs_code_when_unpickled_plainly(tmp_path, name):
    sentinel = tmp_path / "ran"
    pickle.loads(PAYLOADS[name](sentinel))
    assert sentinel.exists()


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_payload_is_refused_in_one_line_and_nothing_runs(tmp_path, name, position):
    sentinel = tmp_path / "ran"
    path = tmp_path / "evil.pth"
    path.write_bytes(_checkpoint(position, PAYLOADS[name](sentinel)))
    with pytest.raises(
        ConfigError,
        match=rf"^{re.escape(str(path))}: refuses to unpickle [\w.]+; only tensor state dicts are read$",
    ):
        load_torch_state_dict(path)
    assert not sentinel.exists()


def _tensor_pickle(numel: int, offset: int, size: tuple[int, ...], stride: tuple[int, ...]) -> bytes:
    """``{"w": tensor}`` as torch pickles it, written opcode by opcode (no torch needed)."""

    def text(value: str) -> bytes:
        return pickle.BINUNICODE + struct.pack("<I", len(value)) + value.encode()

    def integer(value: int) -> bytes:
        return pickle.BININT + struct.pack("<i", value)

    def ints(values: tuple[int, ...]) -> bytes:
        return pickle.MARK + b"".join(integer(v) for v in values) + pickle.TUPLE

    storage = pickle.MARK + text("storage") + pickle.GLOBAL + b"torch\nFloatStorage\n"
    storage += text("0") + text("cpu") + integer(numel) + pickle.TUPLE + pickle.BINPERSID
    tensor = pickle.GLOBAL + b"torch._utils\n_rebuild_tensor_v2\n" + pickle.MARK + storage
    tensor += integer(offset) + ints(size) + ints(stride) + pickle.NEWFALSE + pickle.EMPTY_DICT
    tensor += pickle.TUPLE + pickle.REDUCE
    return pickle.PROTO + b"\x02" + pickle.EMPTY_DICT + text("w") + tensor + pickle.SETITEM + pickle.STOP


def test_hand_written_zip_checkpoint_reads_a_transposed_view(tmp_path):
    path = tmp_path / "state.pth"
    values = np.arange(6, dtype="<f4")
    path.write_bytes(_zip(_tensor_pickle(6, 0, (2, 3), (1, 2)), {"0": values.tobytes()}))
    # size (2, 3) with strides (1, 2) over 0..5: element [i, j] = storage[i + 2 j]
    assert np.array_equal(load_torch_state_dict(path)["w"], [[0.0, 2.0, 4.0], [1.0, 3.0, 5.0]])


@pytest.mark.parametrize(
    ("offset", "size", "stride"),
    [(0, (2, 3), (1, -2)), (-1, (1,), (1,)), (0, (-2,), (1,)), (0, (4, 3), (1, 2)), (5, (2,), (1,))],
)
def test_a_view_outside_its_storage_is_one_line(tmp_path, offset, size, stride):
    path = tmp_path / "state.pth"
    path.write_bytes(_zip(_tensor_pickle(6, offset, size, stride), {"0": np.zeros(6, "<f4").tobytes()}))
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: [^\n]+$"):
        load_torch_state_dict(path)


def test_a_storage_larger_than_its_member_is_truncated(tmp_path):
    path = tmp_path / "state.pth"
    path.write_bytes(_zip(_tensor_pickle(2**31 - 1, 0, (2,), (1,)), {"0": np.zeros(6, "<f4").tobytes()}))
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: archive/data/0 is truncated$"):
        load_torch_state_dict(path)


def test_a_decompression_bomb_is_refused_unread(tmp_path):
    path = tmp_path / "state.pth"
    numel = 1_000_000
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", _tensor_pickle(numel, 0, (numel,), (1,)))
        archive.writestr("archive/data/0", bytes(4 * numel))
    path.write_bytes(buffer.getvalue())
    with pytest.raises(
        ConfigError, match=rf"^{re.escape(str(path))}: archive/data/0 unpacks to 4000000 bytes from \d+$"
    ):
        load_torch_state_dict(path)


def test_a_legacy_storage_longer_than_the_file_is_truncated(tmp_path):
    path = tmp_path / "state.pth"
    header = b"".join(pickle.dumps(value) for value in (LEGACY_MAGIC, 1001, {"little_endian": True})) + _tensor_pickle(
        6, 0, (6,), (1,)
    )
    path.write_bytes(header + pickle.dumps(["0"]) + struct.pack("<q", 2**61) + bytes(24))
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: storage 0 is truncated$"):
        load_torch_state_dict(path)
