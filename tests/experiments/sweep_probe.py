"""A small study for the sweep tests, defined as a user's own study would be (``STUDY``).

The tests register it in :data:`experiments.studies.STUDIES` for their duration only; a
sweep worker process finds it through the module that defines it.

``value`` is drawn from ``SeedSequence(seed, spawn_key=(x,))``, so it is a pure function of
the config; ``sleep_s`` makes a point take time (for interrupt tests); ``spin_s`` keeps one
core busy for that long (CPU-bound work, for the sweep benchmark); ``fail`` raises.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from experiments.results import StudyResult
from experiments.studies import Study
from pe_models.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class ProbeConfig:
    x: int
    seed: int = 0
    sleep_s: float = 0.0
    spin_s: float = 0.0
    fail: bool = False
    vdd_v: tuple[float, ...] = (0.9,)

    def __post_init__(self) -> None:
        if not isinstance(self.x, int) or isinstance(self.x, bool):
            raise ConfigError(f"x: expected an integer, got {self.x!r}")
        object.__setattr__(self, "vdd_v", tuple(self.vdd_v))


@dataclass(frozen=True, kw_only=True)
class ProbeRow:
    x: int
    value: float
    vdd_count: int


@dataclass(frozen=True, kw_only=True)
class ProbeResult(StudyResult[ProbeRow, ProbeConfig]):
    row_type = ProbeRow


def probe(config: ProbeConfig) -> ProbeResult:
    if config.fail:
        raise ValueError(f"probe point x={config.x} failed on purpose")
    time.sleep(config.sleep_s)
    end = time.process_time() + config.spin_s
    while time.process_time() < end:
        pass
    value = float(np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(config.x,))).random())
    return ProbeResult(config=config, rows=(ProbeRow(x=config.x, value=value, vdd_count=len(config.vdd_v)),))


STUDY = Study(name="sweep_probe", config_type=ProbeConfig, function=probe, summary="test study for sweeps")
