"""The studies: pure functions of a frozen config returning a frozen, typed result.

Each module of this package defines one study and a module-level ``STUDY``
(:class:`Study`): its name, its config class (a frozen, keyword-only dataclass validated
in ``__post_init__``, errors naming the config field) and its function
``run(config) -> StudyResult`` (no printing, no file writing). :data:`STUDIES` collects
them by name when this package is imported, so adding a study is adding a module::

    STUDY = Study(name="energy", config_type=EnergyConfig, function=energy_study,
                  summary="energy per inference against VDD")

:func:`run_study` builds the config from keyword arguments and runs it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["STUDIES", "Study", "run_study"]


@dataclass(frozen=True, kw_only=True)
class Study:
    """One registered study.

    Attributes
    ----------
    name : str
        Registry key (also the ``vscale`` command that runs it, where there is one).
    config_type : type
        Frozen keyword-only config dataclass; ``config_type(**kwargs)`` validates.
    function : callable
        ``function(config) -> StudyResult``.
    summary : str
        One line shown in listings.
    """

    name: str
    config_type: type
    function: Callable[[Any], Any]
    summary: str = ""

    def __call__(self, config: Any = None, /, **kwargs: Any) -> Any:
        """Run on `config`, or on ``config_type(**kwargs)``."""
        if config is None:
            config = self.config_type(**kwargs)
        elif kwargs:
            raise TypeError(f"{self.name}: give a config or keyword arguments, not both")
        return self.function(config)


STUDIES: dict[str, Study] = {}
"""Every study by name, collected from the modules of this package."""


def run_study(name: str, /, **kwargs: Any) -> Any:
    """Run the study `name` on ``config_type(**kwargs)``."""
    try:
        study = STUDIES[name]
    except KeyError:
        raise KeyError(f"study: expected one of {', '.join(sorted(STUDIES))}, got {name!r}") from None
    return study(**kwargs)


def _collect() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name == "common":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        study = getattr(module, "STUDY", None)
        if isinstance(study, Study):
            STUDIES[study.name] = study


_collect()
