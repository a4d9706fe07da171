"""Image loading: labelled folders, ImageNet preprocessing, sample photos."""

from __future__ import annotations

import numpy as np
import pytest

from pe_models.errors import ConfigError
from tests.packages import require
from workloads.data import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    imagenet_preprocess,
    load_image_folder,
    photo_views,
)
from workloads.models.zoo import mnist_image_preprocess


def _write_png(path, value, size=(32, 32)):
    from PIL import Image

    Image.fromarray(np.full((*size, 3), value, dtype=np.uint8)).save(path)


def _folder(tmp_path, labels_text):
    folder = tmp_path / "images"
    folder.mkdir()
    _write_png(folder / "a.png", 255)
    _write_png(folder / "b.png", 0)
    labels = tmp_path / "labels.txt"
    labels.write_text(labels_text)
    return folder, labels


def test_labelled_folder_loads_listed_images_in_order(tmp_path):
    folder, labels = _folder(tmp_path, "# name label\nb.png 3\na.png,7\n")
    data = load_image_folder(folder, labels, preprocess=mnist_image_preprocess, num_classes=10)
    assert data.images.shape == (2, 1, 28, 28)
    assert data.labels.tolist() == [3, 7]
    assert data.names == ("b.png", "a.png")
    assert data.images[0].max() == 0.0 and data.images[1].min() == 1.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a.png 1\nb.png\n", r"{labels}:2: expected 'FILE LABEL' \(space or comma separated\)"),
        ("a.png 10\n", r"{labels}:1: label '10' is not an integer in 0\.\.9"),
        ("a.png one\n", r"{labels}:1: label 'one' is not an integer in 0\.\.9"),
        ("c.png 1\n", r"{labels}:1: image 'c\.png' not found in {folder}"),
        ("# nothing\n", r"{labels}: no labelled images"),
        (
            "a.png 1\nb.png 2\na.png 3\n",
            r"{labels}:3: a\.png is listed twice \(first on line 1\); give each image once",
        ),
    ],
)
def test_bad_label_files_are_named_by_line(tmp_path, text, message):
    folder, labels = _folder(tmp_path, text)
    expected = "^" + message.format(labels=labels, folder=folder) + "$"
    with pytest.raises(ConfigError, match=expected):
        load_image_folder(folder, labels, preprocess=mnist_image_preprocess, num_classes=10)


def test_a_label_file_that_is_not_utf8_is_named(tmp_path):
    folder, labels = _folder(tmp_path, "")
    labels.write_bytes("a.png 1 # caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=f"^{labels}: not a UTF-8 text file$"):
        load_image_folder(folder, labels, preprocess=mnist_image_preprocess, num_classes=10)


def test_unreadable_image_is_named(tmp_path):
    folder, labels = _folder(tmp_path, "a.png 1\n")
    (folder / "a.png").write_bytes(b"not a png")
    with pytest.raises(
        ConfigError,
        match=rf"^{folder / 'a.png'}: not a readable image "
        r"\(UnidentifiedImageError\)$",
    ):
        load_image_folder(folder, labels, preprocess=mnist_image_preprocess, num_classes=10)


def test_imagenet_preprocess_normalises_a_flat_colour_exactly():
    image = np.empty((300, 400, 3), dtype=np.uint8)
    image[...] = (200, 100, 50)
    out = imagenet_preprocess(image)
    expected = (np.array([200, 100, 50]) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    assert out.shape == (3, 224, 224)
    np.testing.assert_allclose(out[:, 100, 100], expected, rtol=1e-6)


def test_photo_views_are_whole_photos_corners_and_mirrors():
    require("skimage")
    images, names = photo_views("evaluation", count=4)
    assert images.shape == (4, 3, 224, 224)
    assert names == ("chelsea/full", "chelsea/full/flip", "chelsea/top-left", "chelsea/top-left/flip")
