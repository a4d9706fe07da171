"""The two disjoint image sets of the optimizer: one to select a plan on, one to report it on.

Selecting a plan and measuring it on the same images overstates how well it does (the
plan that looked best on them is, in part, the one that was lucky on them). The screen and
the bit-level confirmation use the *selection* images; the accepted plan's reported
figures (accuracy loss with its interval and non-inferiority test, latency overhead with
its interval, energy) come from the *test* images, which took no part in the choice.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from experiments.stats import split_images

from .config import OptimizeConfig

__all__ = ["ImageSets", "image_sets"]


@dataclass(frozen=True)
class ImageSets:
    """A prepared model's images split into selection and test images.

    Attributes
    ----------
    selection, test : PreparedModel
        The model with only the selection (test) images and their targets.
    selection_indices, test_indices : ndarray of int64
        Positions of each set's images among the loaded ones (sorted, disjoint).
    names : tuple of str
        Where each loaded image came from (empty when the loader does not say).
    loaded : int
        Images loaded.
    seed : int
        Seed of the split.
    """

    selection: Any
    test: Any
    selection_indices: np.ndarray
    test_indices: np.ndarray
    names: tuple[str, ...]
    loaded: int
    seed: int

    def describe(self) -> str:
        """One line naming both sets, e.g. ``selection: 100 images, test: 400 other images (...)``."""
        return (
            f"selection: {len(self.selection_indices)} images, test: {len(self.test_indices)} other images "
            f"(random split of the {self.loaded} loaded, seed {self.seed})"
        )

    def rows(self) -> list[dict[str, Any]]:
        """``images.csv``: one row per image of either set (index among the loaded images, name, set)."""
        roles = [(int(i), "selection") for i in self.selection_indices] + [(int(i), "test") for i in self.test_indices]
        return [
            {"index": index, "name": self.names[index] if self.names else "", "set": role}
            for index, role in sorted(roles)
        ]


def _view(prepared: Any, indices: np.ndarray) -> Any:
    return dataclasses.replace(prepared, images=prepared.images[indices], targets=prepared.targets[indices])


def image_sets(prepared: Any, config: OptimizeConfig) -> ImageSets:
    """Split `prepared`'s images by ``config.selection_images`` and ``config.test_images``.

    Both sets are measured in batches of :func:`~.profiling.measurement_batch` images (the
    hardware's batch), the units of the latency overhead's interval, as ``vscale accuracy``
    runs a plan.

    Parameters
    ----------
    prepared : PreparedModel
        The quantised model with every loaded image.
    config : OptimizeConfig

    Returns
    -------
    ImageSets

    Raises
    ------
    ConfigError
        Fewer than two images loaded, or more asked for than loaded.
    """
    total = len(prepared.images)
    selection, test = config.image_split(total)
    chosen, held_out = split_images(total, selection=selection, test=test, seed=config.seed)
    names = tuple(getattr(prepared.bundle.evaluation, "names", ()) or ())
    return ImageSets(
        selection=_view(prepared, chosen),
        test=_view(prepared, held_out),
        selection_indices=chosen,
        test_indices=held_out,
        names=names if len(names) == total else (),
        loaded=total,
        seed=config.seed,
    )
