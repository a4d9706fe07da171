"""Which images a model's activations are calibrated on, kept apart from its evaluation images.

Calibration images never evaluate and evaluation images never calibrate. Sources:

* **the user's folder** (``calibration_images=DIR``): every image file in it, in file-name
  order, no labels needed, preprocessed as the evaluation images are. Refused when the
  folder holds no image, when an image is too small for the model's input (28x28
  grayscale models: exactly 28x28 pixels; models whose input is cropped from a resized
  image: at least the input size on the shorter side, never enlarged), or when a
  calibration image is also an evaluation image (the same preprocessed input, whatever
  the file names);
* **a held-out part of a labelled folder** (``images=DIR``, ``labels=FILE``, ImageNet-style
  models, no ``calibration_images``): :data:`HELD_OUT_FRACTION` of its images, chosen by
  :func:`held_out_indices` (file names sorted, a permutation seeded with
  :data:`HELD_OUT_SEED`), used only for calibration and removed from the evaluation;
* **the shipped MNIST calibration images** (200 training images) for 28x28 grayscale
  models;
* **scikit-image's sample photos** (48 crops of 6 photos) for ImageNet-style models
  evaluated on the photo views: they are not ImageNet images, so a
  :class:`CalibrationWarning` is issued.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np

from pe_models.errors import ConfigError

from .data import IMAGE_SUFFIXES, LabelledImages, read_image

__all__ = [
    "HELD_OUT_FRACTION",
    "HELD_OUT_SEED",
    "CalibrationImages",
    "CalibrationWarning",
    "check_disjoint",
    "held_out_indices",
    "hold_out",
    "load_calibration_folder",
    "warn_photo_calibration",
]

HELD_OUT_FRACTION = 0.2
"""Share of a labelled folder's images held out for calibration when no calibration folder is given."""

HELD_OUT_SEED = 2025
"""Seed of the permutation that picks the held-out images (fixed: the split never depends on ``--seed``)."""


class CalibrationWarning(UserWarning):
    """The activations are calibrated on images unlike the evaluation images."""


@dataclass(frozen=True, kw_only=True, eq=False)
class CalibrationImages:
    """Preprocessed calibration images and where they came from.

    Attributes
    ----------
    images : ndarray of float32, shape (N, C, H, W)
    names : tuple of str
        One per image (file names, or ``photo/cropK``).
    source : str
        One line for the record, e.g. ``held out of the images folder: 100 of 500
        images (seeded split), not evaluated``.
    """

    images: np.ndarray
    names: tuple[str, ...]
    source: str


def held_out_indices(names: tuple[str, ...] | list[str], *, fraction: float = HELD_OUT_FRACTION) -> np.ndarray:
    """Indices of the images held out for calibration, in increasing order.

    ``round(fraction * N)`` images (at least 1, at most N - 1): the names are sorted,
    permuted by ``numpy.random.default_rng(SeedSequence(HELD_OUT_SEED)).permutation(N)``
    and the first ones taken. The choice depends only on the set of names, not on
    their order in the labels file.

    Parameters
    ----------
    names : sequence of str
        The file names of the labelled images, N >= 2.
    fraction : float
        In (0, 1).

    Returns
    -------
    ndarray of int64
    """
    count = len(names)
    if count < 2:
        raise ConfigError(
            f"images: the folder has {count} labelled image; at least 2 are needed to hold part of them out "
            "for calibration (or give calibration_images DIR)"
        )
    held = min(count - 1, max(1, int(np.floor(fraction * count + 0.5))))
    order = np.argsort(np.asarray(names), kind="stable")
    permutation = np.random.default_rng(np.random.SeedSequence(HELD_OUT_SEED)).permutation(count)
    return np.sort(order[permutation[:held]])


def hold_out(evaluation: LabelledImages, *, folder: str) -> tuple[CalibrationImages, LabelledImages]:
    """Split labelled images into the held-out calibration part and the rest (evaluated).

    Parameters
    ----------
    evaluation : LabelledImages
        Every labelled image of the folder.
    folder : str
        The folder, for the record.

    Returns
    -------
    calibration : CalibrationImages
    remaining : LabelledImages
        The images left for evaluation, in their original order.
    """
    held = held_out_indices(evaluation.names)
    kept = np.setdiff1d(np.arange(len(evaluation.images)), held)
    labels = evaluation.labels
    calibration = CalibrationImages(
        images=evaluation.images[held],
        names=tuple(evaluation.names[i] for i in held),
        source=(
            f"held out of the images folder {folder}: {len(held)} of {len(evaluation.images)} images "
            f"(seeded split, seed {HELD_OUT_SEED}), not evaluated"
        ),
    )
    remaining = LabelledImages(
        images=evaluation.images[kept],
        labels=None if labels is None else labels[kept],
        names=tuple(evaluation.names[i] for i in kept),
    )
    return calibration, remaining


def _size_rule(input_shape: tuple[int, int, int], exact: bool) -> Callable[[Path, np.ndarray], None]:
    _, height, width = input_shape

    def check(path: Path, pixels: np.ndarray) -> None:
        rows, columns = pixels.shape[:2]
        if exact and (rows, columns) != (height, width):
            raise ConfigError(
                f"calibration_images: {path} is {columns}x{rows} pixels; allowed: {width}x{height} "
                "(the model's input size)"
            )
        if not exact and min(rows, columns) < min(height, width):
            raise ConfigError(
                f"calibration_images: {path} is {columns}x{rows} pixels; allowed: at least {min(height, width)} "
                f"pixels on the shorter side (the model's {width}x{height} input is cropped from it, never enlarged)"
            )

    return check


def load_calibration_folder(
    folder: str | PathLike[str],
    *,
    preprocess: Callable[[np.ndarray], np.ndarray],
    input_shape: tuple[int, int, int],
    exact_size: bool,
) -> CalibrationImages:
    """Every image of a folder, preprocessed, as calibration images.

    Parameters
    ----------
    folder : path-like
        Image files (:data:`workloads.data.IMAGE_SUFFIXES`), read in file-name order;
        other files are ignored.
    preprocess : callable
        RGB uint8 pixels (H, W, 3) -> float model input (C, H, W).
    input_shape : (C, H, W)
        The model's input.
    exact_size : bool
        Every image must be exactly H x W pixels (models fed unresized images, e.g.
        28x28 MNIST); otherwise at least H on the shorter side (resize-and-crop models).

    Raises
    ------
    ConfigError
        Not a directory, no image in it, an unreadable image or one of another size.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"calibration_images: {folder} is not a directory")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise ConfigError(f"calibration_images: {folder} contains no images ({', '.join(IMAGE_SUFFIXES)})")
    check_size = _size_rule(input_shape, exact_size)
    images = []
    for path in files:
        pixels = read_image(path)
        check_size(path, pixels)
        images.append(preprocess(pixels))
    return CalibrationImages(
        images=np.stack(images).astype(np.float32),
        names=tuple(p.name for p in files),
        source=f"folder {folder}: {len(files)} images",
    )


def _digest(image: np.ndarray) -> str:
    array = np.ascontiguousarray(image, dtype=np.float32)
    return hashlib.sha256(repr(array.shape).encode() + array.tobytes()).hexdigest()


def check_disjoint(calibration: CalibrationImages, evaluation: LabelledImages) -> None:
    """Raise ConfigError when a calibration image is also an evaluation image.

    Two images are the same when their preprocessed model inputs are identical (the
    same file, a copy, or the same pixels under another name or format).
    """
    evaluated = {_digest(image): name for image, name in zip(evaluation.images, _names(evaluation), strict=True)}
    for image, name in zip(calibration.images, calibration.names, strict=True):
        twin = evaluated.get(_digest(image))
        if twin is not None:
            raise ConfigError(
                f"calibration_images: {name} is also an evaluation image ({twin}); "
                "calibration and evaluation images must be disjoint"
            )


def _names(images: LabelledImages) -> tuple[str, ...]:
    if len(images.names) == len(images.images):
        return images.names
    return tuple(f"image {i}" for i in range(len(images.images)))


def warn_photo_calibration(model: str, count: int) -> None:
    """Issue the :class:`CalibrationWarning` of calibrating an ImageNet model on the sample photos."""
    warnings.warn(
        f"{model} is calibrated on scikit-image's sample photos ({count} crops of 6 photos), not on images "
        "like the evaluation images; give calibration_images (a folder), or images as a folder with its "
        "labels (a held-out part of that folder then calibrates)",
        CalibrationWarning,
        stacklevel=3,
    )
