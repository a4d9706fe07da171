"""The studies: pure functions of a frozen config returning a frozen, typed result.

Each module of this package named in :data:`STUDY_MODULES` defines one study and a
module-level ``STUDY`` (:class:`~experiments.studies.common.Study`): its name, its config
class (a frozen, keyword-only dataclass validated in ``__post_init__``, errors naming the
config field) and its function ``run(config) -> StudyResult`` (no printing, no file
writing)::

    STUDY = Study(name="energy", config_type=EnergyConfig, function=energy,
                  summary="energy per inference against VDD")

:data:`STUDIES` maps each name to its :class:`Study`, importing a study's module only when
it is first looked up (so that a command loads only the study it runs). Adding a study is
adding a module and its line in :data:`STUDY_MODULES`. :func:`run_study` builds the config
from keyword arguments and runs it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import Any

from .common import Study

__all__ = ["STUDIES", "STUDY_MODULES", "Study", "run_study"]

STUDY_MODULES: dict[str, str] = {
    "accuracy": "accuracy",
    "energy": "energy",
    "latency": "latency",
    "optimize": "optimize",
    "probs": "probs",
    "razor": "razor",
    "run": "run",
    "scalesim": "scalesim",
    "simulate": "simulate",
    "size": "size",
    "slack": "slack",
    "tech": "technology",
    "tech-cells": "cells",
    "trace": "trace",
}
"""Study name -> the module of this package that defines its ``STUDY``."""


class _Registry(MutableMapping[str, Study]):
    """Name -> :class:`Study`, each study's module imported on first lookup."""

    def __init__(self, modules: dict[str, str]) -> None:
        self._modules = dict(modules)
        self._studies: dict[str, Study] = {}

    def __getitem__(self, name: str) -> Study:
        study = self._studies.get(name)
        if study is None:
            if name not in self._modules:
                raise KeyError(name)
            module = importlib.import_module(f"{__name__}.{self._modules[name]}")
            study = module.STUDY
            self._studies[name] = study
        return study

    def __setitem__(self, name: str, study: Study) -> None:
        self._studies[name] = study

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self._studies.pop(name, None)
        self._modules.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._modules, *self._studies]))

    def __len__(self) -> int:
        return len(set(self._modules) | set(self._studies))

    def __contains__(self, name: object) -> bool:
        return name in self._modules or name in self._studies


STUDIES: MutableMapping[str, Study] = _Registry(STUDY_MODULES)
"""Every study by name (:data:`STUDY_MODULES`, plus any registered at run time)."""


def run_study(name: str, /, **fields: Any) -> Any:
    """Run the study `name` on ``config_type(**fields)``."""
    if name not in STUDIES:
        raise KeyError(f"study: expected one of {', '.join(sorted(STUDIES))}, got {name!r}")
    return STUDIES[name](**fields)
