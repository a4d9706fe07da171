"""Every reader of a user's file turns any byte sequence into a result or one ConfigError line.

Hypothesis feeds each reader random bytes and mutations (flipped, inserted, deleted bytes,
truncation) of a valid file of its format, so the fuzzing reaches past the first check.
A reader passes when it returns or raises :class:`ConfigError` with a one-line message;
any other exception (UnicodeDecodeError, zlib.error, KeyError, ...) is a failure.
"""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from experiments.commands.pe import read_vectors
from experiments.configs import read_array_toml, read_scalesim_cfg, read_scalesim_run
from experiments.plans import load_plan
from experiments.studies.simulate import load_gemm_operands
from experiments.sweep import load_sweep_spec
from experiments.technology_files import read_technology_csv, read_technology_toml
from pe_models.errors import ConfigError
from pe_models.operands import load_trace
from workloads.data import load_image_folder
from workloads.models.npz import load_npz
from workloads.models.torch_checkpoint import LEGACY_MAGIC, load_torch_state_dict
from workloads.topologies import read_topology_file

QUICK = 30
THOROUGH = 600


def _npz(compressed: bool, **arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    return buffer.getvalue()


def _png(width: int, height: int, *, pixels: bool = True) -> bytes:
    """An RGB PNG of black pixels; without `pixels` only its header is right (a decompression bomb's)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(3 * width) for _ in range(height)) if pixels else b""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _checkpoint_pickle() -> bytes:
    """``{"w": tensor of shape (2, 3) over storage "0"}`` as torch pickles it (protocol 2, no torch needed)."""
    storage = b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x06tQ"
    tensor = b"ctorch._utils\n_rebuild_tensor_v2\n(" + storage + b"K\x00K\x02K\x03\x86K\x03K\x01\x86\x89}tR"
    return b"\x80\x02}X\x01\x00\x00\x00w" + tensor + b"s."


def _zip_checkpoint() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", _checkpoint_pickle())
        archive.writestr("archive/data/0", np.arange(6, dtype="<f4").tobytes())
    return buffer.getvalue()


def _legacy_checkpoint() -> bytes:
    head = b"".join(pickle.dumps(v, protocol=2) for v in (LEGACY_MAGIC, 1001, {"little_endian": True}))
    storage = struct.pack("<q", 6) + np.arange(6, dtype="<f4").tobytes()
    return head + _checkpoint_pickle() + pickle.dumps(["0"], protocol=2) + storage


TRACE = {"a": np.arange(12).reshape(2, 6) % 7, "b": np.ones((2, 6), np.int64), "c": np.arange(12).reshape(2, 6)}
SEEDS: dict[str, bytes] = {
    "vectors.csv": b"prev_a,prev_b,prev_c,a,b,c\n1,2,3,4,5,6\n-1,-2,-3,-4,-5,-6\n",
    "topology.csv": b"Layer name,IFMAP Height,IFMAP Width,Filter Height,Filter Width,Channels,Num Filter,Strides,\n"
    b"conv1,224,224,3,3,3,32,2,\nfc,1,1,1,1,1280,1000,1,\n",
    "array.cfg": b"[architecture_presets]\nArrayHeight: 32\nArrayWidth: 32\nIfmapSramSzkB: 64\n"
    b"FilterSramSzkB: 64\nOfmapSramSzkB: 64\nDataflow: ws\nBandwidth: 10\n[run_presets]\nInterfaceBandwidth: USER\n",
    "run.cfg": b"[general]\nrun_name = net\n[architecture_presets]\nArrayHeight: 8\nArrayWidth: 8\n"
    b"IfmapSramSzkB: 64\nFilterSramSzkB: 64\nOfmapSramSzkB: 64\nDataflow: os\nBandwidth: 10\n"
    b"[run_presets]\nInterfaceBandwidth: CALC\n",
    "array.toml": b"[array]\nrows = 32\ncols = 16\ndataflow = 'os'\nf_clk_mhz = 700\n",
    "technology.toml": b"[technology]\nname = 'mine'\nvdd_v = [0.5, 0.7, 0.9]\ndelay_scale = [3.0, 1.6, 1.0]\n",
    "technology.csv": b"vdd_v,delay_scale\n0.5,3.0\n0.7,1.6\n0.9,1.0\n",
    "labels.txt": b"photo.png 3\n# comment\n",
    "plan.toml": b"recovery = 'global'\npenalty_cycles = 1\ndefault = '31:24'\n[layers]\n'fc' = '31:20'\n",
    "sweep.toml": b"study = 'latency'\n[fixed]\ntopology = 'mobilenetv2'\n[grid]\narray = ['32x32', '64x64']\n",
    "trace.npz": _npz(True, **TRACE),
    "trace_stored.npz": _npz(False, **TRACE),
    "weights.npz": _npz(True, w=np.arange(6, dtype=np.float32), b=np.zeros(2, np.float32)),
    "operands.npz": _npz(False, activations=np.ones((3, 4), np.int8), weights=np.ones((4, 2), np.int8)),
    "image.png": _png(4, 3),
    "checkpoint.pth": _zip_checkpoint(),
    "checkpoint_legacy.pth": _legacy_checkpoint(),
}
READERS = {
    "vectors.csv": lambda path: read_vectors(path, width=32),
    "topology.csv": read_topology_file,
    "array.cfg": read_scalesim_cfg,
    "run.cfg": read_scalesim_run,
    "array.toml": read_array_toml,
    "technology.toml": read_technology_toml,
    "technology.csv": read_technology_csv,
    "labels.txt": lambda path: load_image_folder(
        path.parent, path, preprocess=lambda image: image.astype(np.float32), num_classes=10
    ),
    "plan.toml": load_plan,
    "sweep.toml": load_sweep_spec,
    "trace.npz": lambda path: load_trace(path, width=32),
    "trace_stored.npz": lambda path: load_trace(path, width=32, max_bytes=2**20),
    "weights.npz": load_npz,
    "operands.npz": load_gemm_operands,
    "image.png": lambda path: load_image_folder(
        path.parent, path.parent / "image_labels.txt", preprocess=lambda image: image.astype(np.float32), num_classes=10
    ),
    "checkpoint.pth": load_torch_state_dict,
    "checkpoint_legacy.pth": load_torch_state_dict,
}


@st.composite
def mutated(draw, seed: bytes) -> bytes:
    """`seed` with up to 8 edits: byte flips, insertions, deletions, truncation."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(("flip", "insert", "delete", "truncate")))
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[position] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete" and data:
            del data[position : position + draw(st.integers(1, 16))]
        elif kind == "truncate":
            del data[position:]
    return bytes(data)


def _inputs(name: str):
    return st.one_of(st.binary(max_size=300), mutated(SEEDS[name]))


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fuzz")
    (path / "image_labels.txt").write_text("image.png 3\n")
    (path / "photo.png").write_bytes(SEEDS["image.png"])
    return path


def _arrays(arrays) -> dict[str, list]:
    return {name: np.asarray(values).tolist() for name, values in arrays.items()}


def _images(images) -> tuple:
    return images.names, images.labels.tolist(), images.images.shape, float(np.abs(images.images).max())


_ARRAY_FIELDS = ("rows", "cols", "dataflow", "f_clk_mhz", "dram_bandwidth_words_per_cycle")
_TRACE = {"a": [[0, 1, 2, 3, 4, 5], [6, 0, 1, 2, 3, 4]], "b": [[1] * 6] * 2, "c": [list(range(6)), list(range(6, 12))]}
SEED_CONTENTS = {
    "vectors.csv": (
        _arrays,
        {"prev_a": [1, -1], "prev_b": [2, -2], "prev_c": [3, -3], "a": [4, -4], "b": [5, -5], "c": [6, -6]},
    ),
    "topology.csv": (
        lambda topology: [
            (
                layer.name,
                layer.ifmap_h,
                layer.ifmap_w,
                layer.filter_h,
                layer.filter_w,
                layer.channels,
                layer.num_filters,
                layer.stride,
            )
            for layer in topology.layers
        ],
        [("conv1", 224, 224, 3, 3, 3, 32, 2), ("fc", 1, 1, 1, 1, 1280, 1000, 1)],
    ),
    "array.cfg": (lambda array: tuple(getattr(array, f) for f in _ARRAY_FIELDS), (32, 32, "ws", 700.0, 10)),
    "run.cfg": (
        lambda run: (run.run_name, run.bandwidth_mode, *(getattr(run.array, f) for f in _ARRAY_FIELDS)),
        ("net", "CALC", 8, 8, "os", 700.0, None),
    ),
    "array.toml": (lambda array: tuple(getattr(array, f) for f in _ARRAY_FIELDS), (32, 16, "os", 700, None)),
    "technology.toml": (
        lambda tech: (tech.name, tech.table_vdd_v, tech.table_delay_scale),
        ("mine", (0.5, 0.7, 0.9), (3.0, 1.6, 1.0)),
    ),
    "technology.csv": (
        lambda tech: (tech.table_vdd_v, tech.table_delay_scale),
        ((0.5, 0.7, 0.9), (3.0, 1.6, 1.0)),
    ),
    "labels.txt": (_images, (("photo.png",), [3], (1, 3, 4, 3), 0.0)),
    "plan.toml": (
        lambda plan: (dict(plan.layers), plan.default_mask, plan.recovery, plan.penalty_cycles),
        ({"fc": 0xFFF00000}, 0xFF000000, "global", 1),
    ),
    "sweep.toml": (
        lambda spec: (spec.study, spec.fixed, spec.grid, spec.points),
        ("latency", {"topology": "mobilenetv2"}, {"array": ["32x32", "64x64"]}, []),
    ),
    "trace.npz": (lambda trace: _arrays({"a": trace.a, "b": trace.b, "c": trace.c}), _TRACE),
    "trace_stored.npz": (lambda trace: _arrays({"a": trace.a, "b": trace.b, "c": trace.c}), _TRACE),
    "weights.npz": (_arrays, {"w": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "b": [0.0, 0.0]}),
    "operands.npz": (
        lambda operands: [np.asarray(a).tolist() for a in operands],
        [[[1, 1, 1, 1]] * 3, [[1, 1]] * 4],
    ),
    "image.png": (_images, (("image.png",), [3], (1, 3, 4, 3), 0.0)),
    "checkpoint.pth": (_arrays, {"w": [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]}),
    "checkpoint_legacy.pth": (_arrays, {"w": [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]}),
}


def test_every_reader_has_its_seed_contents():
    assert sorted(SEED_CONTENTS) == sorted(READERS) == sorted(SEEDS)


@pytest.mark.parametrize("name", sorted(READERS))
def test_every_seed_file_reads_as_written(folder, name):
    (folder / name).write_bytes(SEEDS[name])
    summary, expected = SEED_CONTENTS[name]
    assert summary(READERS[name](folder / name)) == expected


def _check(folder: Path, name: str, data: bytes) -> None:
    path = folder / name
    path.write_bytes(data)
    try:
        READERS[name](path)
    except ConfigError as error:
        assert "\n" not in str(error) and str(error)


def _fuzz(folder: Path, name: str, examples: int) -> None:
    @settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=_inputs(name))
    def run(data: bytes) -> None:
        _check(folder, name, data)

    run()


@pytest.mark.parametrize("name", sorted(READERS))
def test_any_bytes_give_a_result_or_one_config_error_line(folder, name):
    _fuzz(folder, name, QUICK)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(READERS))
def test_any_bytes_give_a_result_or_one_config_error_line_thoroughly(folder, name):
    _fuzz(folder, name, THOROUGH)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"prev_a,prev_b\xff\xfe,prev_c,a,b,c\n", "vectors.csv: not a UTF-8 text file"),
        (b"\x00\x01\x02\x89PNG binary", "vectors.csv: not a UTF-8 text file"),
        (b"prev_a,prev_b,prev_c,a,b,c\n" + b'"' + b"x" * 200_000 + b"\n", "{path}:2: not a CSV line"),
    ],
)
def test_binary_and_non_utf8_vector_files_are_named(folder, data, message):
    path = folder / "vectors.csv"
    path.write_bytes(data)
    with pytest.raises(ConfigError) as caught:
        read_vectors(path, width=32)
    assert str(caught.value).startswith(message.format(path=path))


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        (
            {"a": np.zeros((0, 5), np.int64), "b": np.zeros((0, 5), np.int64), "c": np.zeros((0, 5), np.int64)},
            "arrays a, b, c must share a shape (steps,) or (lanes, steps) with lanes >= 1 and steps >= 2; "
            "got a [0, 5], b [0, 5], c [0, 5]",
        ),
        (
            {"a": np.zeros((3, 0), np.int64), "b": np.zeros((3, 0), np.int64), "c": np.zeros((3, 0), np.int64)},
            "arrays a, b, c must share a shape (steps,) or (lanes, steps) with lanes >= 1 and steps >= 2; "
            "got a [3, 0], b [3, 0], c [3, 0]",
        ),
        (
            {"a": np.zeros(4, np.int64), "b": np.zeros(4, np.int64), "c": np.array([0, 2**31, 0, 0])},
            "array 'c' holds partial sum 2147483648, beyond the 32-bit accumulator; allowed: -2147483648..2147483647",
        ),
        (
            {"a": np.zeros(4, np.int64), "b": np.zeros(4, np.int64), "c": np.array([0, -(2**31) - 1, 0, 0])},
            "array 'c' holds partial sum -2147483649, beyond the 32-bit accumulator; allowed: -2147483648..2147483647",
        ),
    ],
)
def test_traces_with_no_lanes_no_steps_or_oversized_partial_sums_are_refused(tmp_path, arrays, message):
    path = tmp_path / "trace.npz"
    np.savez(path, **arrays)
    with pytest.raises(ConfigError) as caught:
        load_trace(path, width=32)
    assert str(caught.value) == f"{path}: {message}"


def test_a_trace_declaring_more_than_the_memory_limit_is_refused_before_decompressing(tmp_path):
    path = tmp_path / "large.npz"
    zeros = np.zeros(10**6, np.int8)
    np.savez_compressed(path, a=zeros, b=zeros, c=zeros)
    assert path.stat().st_size < 100_000
    with pytest.raises(ConfigError) as caught:
        load_trace(path, max_bytes=2**20)
    assert str(caught.value) == (
        f"{path}: 3000000 trace values need about 46 MiB; allowed: at most 1 MiB (the memory limit)"
    )


@pytest.mark.parametrize(("width", "height"), [(30000, 30000), (10000, 10000)])
def test_an_image_whose_header_claims_too_many_pixels_is_refused(tmp_path, width, height):
    from PIL import Image

    (tmp_path / "bomb.png").write_bytes(_png(width, height, pixels=False))
    (tmp_path / "labels.txt").write_text("bomb.png 1\n")
    with pytest.raises(ConfigError) as caught:
        load_image_folder(tmp_path, tmp_path / "labels.txt", preprocess=lambda image: image, num_classes=10)
    assert str(caught.value) == (
        f"{tmp_path / 'bomb.png'}: {width * height} pixels is out of range; allowed: at most "
        f"{Image.MAX_IMAGE_PIXELS} pixels per image (decompression-bomb guard)"
    )
