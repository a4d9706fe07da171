"""The energy model's workload and hardware options shared by ``energy``, ``accuracy``, ``optimize`` and ``run``.

:class:`EnergyFields` is a mixin of config fields: the batch of images sharing each weight
fold (what the simulated hardware sees, whatever the number of images evaluated), clock
and power gating, the memories' supply and the DRAM type, and the temperature of the
leakage. Every study that reports energy takes them with the same names and checks them
with :meth:`EnergyFields.check_energy_fields`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from experiments.vocabulary import ConfigFields
from pe_models.energy import leakage_temperature_factor
from pe_models.errors import ConfigError
from pe_models.memory_energy import DRAM_TYPES
from sim.config import ArrayConfig
from sim.energy import GatingOptions, MemoryEnergy, memory_energy

__all__ = ["EnergyFields"]


@dataclass(frozen=True, kw_only=True)
class EnergyFields(ConfigFields):
    """Energy options of a study config.

    Attributes
    ----------
    batch : int
        Images sharing each weight fold on the simulated array, >= 1 (1 is an inference
        accelerator's usual case): cycles, SRAM/DRAM traffic and energy per image follow it,
        not the number of images evaluated.
    clock_gating : bool
        Clock only the PEs whose row and column hold work in a fold (off: every flop of every
        PE every cycle).
    power_gating : bool
        Power only the PEs holding work; needs clock gating.
    memory_vdd_v : float, optional
        Supply of the SRAM buffers in V, inside the technology's range (default: nominal).
    dram : str
        DRAM type, pJ/bit in ``docs/energy.md``: ``lpddr4``, ``ddr3`` or ``hbm2``.
    temperature_c : float
        Junction temperature for the leakage, 0..110 degC.
    """

    CHOICES: ClassVar[Mapping[str, Sequence[str]]] = {"dram": tuple(DRAM_TYPES)}

    batch: int = 1
    clock_gating: bool = True
    power_gating: bool = False
    memory_vdd_v: float | None = None
    dram: str = "lpddr4"
    temperature_c: float = 27.0

    def check_energy_fields(self, tech: Any) -> None:
        """Validate the fields against the technology `tech` (its VDD range for `memory_vdd_v`)."""
        if isinstance(self.batch, bool) or not isinstance(self.batch, int) or self.batch < 1:
            raise ConfigError(f"batch: expected an integer >= 1 (images sharing a weight fold), got {self.batch!r}")
        if not isinstance(self.dram, str) or self.dram not in DRAM_TYPES:
            raise ConfigError(f"dram: unknown DRAM type {self.dram!r}; allowed: {', '.join(DRAM_TYPES)}")
        leakage_temperature_factor(self.temperature_c)
        self.gating()
        if self.memory_vdd_v is not None:
            if isinstance(self.memory_vdd_v, bool) or not isinstance(self.memory_vdd_v, int | float):
                raise ConfigError(f"memory_vdd_v: expected a supply in V, got {self.memory_vdd_v!r}")
            problem = tech._vdd_problem("memory_vdd_v", self.memory_vdd_v)
            if problem is not None:
                raise ConfigError(problem.replace(" vdd_v ", " memory_vdd_v "))

    def gating(self) -> GatingOptions:
        """The gating options these fields describe."""
        return GatingOptions(
            clock_gating=self.clock_gating, power_gating=self.power_gating, temperature_c=float(self.temperature_c)
        )

    def memory(self, array: ArrayConfig, *, node_nm: float, tech: Any) -> MemoryEnergy:
        """SRAM (CACTI at `array`'s buffer sizes) and DRAM energies, on the memory supply."""
        return memory_energy(array, dram=self.dram, memory_vdd_v=self.memory_vdd_v, node_nm=node_nm, tech=tech)

    def energy_totals(self) -> dict[str, Any]:
        """The options as result totals (every output states them)."""
        return {
            "batch": self.batch,
            "clock_gating": self.clock_gating,
            "power_gating": self.power_gating,
            "memory_vdd_v": self.memory_vdd_v,
            "dram": self.dram,
            "temperature_c": float(self.temperature_c),
        }
