"""Energy of the memories beside the array: SRAM per access from CACTI, DRAM per bit by type.

**SRAM.** :func:`sram_pj_per_byte` gives the dynamic energy per byte of a scratchpad of a
given capacity: CACTI 7.0 (HP Labs, ``HewlettPackard/cacti``, version 7) run for a
single-bank scratch RAM at 32 nm, 64-byte accesses, ITRS-HP cells and periphery, 300 K,
for capacities 8 KiB .. 16 MiB (``pe_models/technology_data/sram-cacti-32nm.csv``, the
parameters in its README). A capacity between two rows is interpolated linearly in
``log(capacity)``; outside the table it is refused. The energy per byte is the read
(write) energy per access divided by 64. The band: the nominal is the mean of read and
write; low is the read energy, high is the write energy (every access direction lies
between). Moving to another node uses :func:`pe_models.energy.node_energy_scale` like the
core's constants.

**DRAM.** :data:`DRAM_TYPES` holds the energy per bit of the supported DRAM types, as
shipped in Accelergy's CACTI plug-in table (``hwcomponents-cacti``, ``CactiDRAM``):
LPDDR4 8 pJ/bit (public data), DDR3 70 pJ/bit (Chatterjee et al., MICRO 2017), HBM2
3.9 pJ/bit (O'Connor et al., "Fine-Grained DRAM", MICRO 2017). The band of DDR3 reaches
down to Horowitz's 1.3-2.6 nJ per 64-bit access (ISSCC 2014, 20-41 pJ/bit); the others are
single sources (low = nominal = high). DRAM sits on its own supply and process: never
node- or voltage-scaled.
"""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from types import MappingProxyType

from pe_models.errors import ConfigError

__all__ = [
    "DRAM_TYPES",
    "SRAM_NODE_NM",
    "SRAM_TABLE_FILE",
    "SRAM_VDD_V",
    "DramType",
    "SramRow",
    "dram_pj_per_byte",
    "sram_pj_per_byte",
    "sram_table",
]

SRAM_TABLE_FILE = "sram-cacti-32nm.csv"
"""The CACTI table in ``pe_models/technology_data``."""

SRAM_NODE_NM = 32.0
"""Node of the CACTI runs."""

SRAM_VDD_V = 0.9
"""Supply of CACTI's 32 nm ITRS-HP devices."""


@dataclass(frozen=True)
class DramType:
    """One DRAM type: its energy per bit (low, nominal, high) and the sources."""

    name: str
    pj_per_bit_low: float
    pj_per_bit: float
    pj_per_bit_high: float
    source: str


DRAM_TYPES: Mapping[str, DramType] = MappingProxyType(
    {
        "lpddr4": DramType(
            "lpddr4", 8.0, 8.0, 8.0, "Accelergy hwcomponents-cacti CactiDRAM table: LPDDR4 8 pJ/bit (public data)"
        ),
        "ddr3": DramType(
            "ddr3",
            1300.0 / 64,
            70.0,
            70.0,
            "CactiDRAM table: DDR3 70 pJ/bit (Chatterjee et al., MICRO 2017); low end Horowitz ISSCC 2014, "
            "1.3 nJ per 64-bit access",
        ),
        "hbm2": DramType(
            "hbm2", 3.9, 3.9, 3.9, "O'Connor et al., 'Fine-Grained DRAM', MICRO 2017: HBM2 3.9 pJ/bit (CactiDRAM table)"
        ),
    }
)
"""Supported ``dram`` choices, default ``lpddr4``."""


def dram_pj_per_byte(kind: str) -> tuple[float, float, float]:
    """Energy per byte moved to or from DRAM of type `kind`: (low, nominal, high) in pJ.

    Raises
    ------
    ConfigError
        Unknown type; the message lists the allowed ones.
    """
    if not isinstance(kind, str) or kind not in DRAM_TYPES:
        raise ConfigError(f"dram: unknown DRAM type {kind!r}; allowed: {', '.join(DRAM_TYPES)}")
    entry = DRAM_TYPES[kind]
    return 8 * entry.pj_per_bit_low, 8 * entry.pj_per_bit, 8 * entry.pj_per_bit_high


@dataclass(frozen=True)
class SramRow:
    """One CACTI run: capacity (KiB), dynamic read and write energy per 64-byte access (pJ),
    leakage power of the bank (mW) and its area (mm^2)."""

    capacity_kib: int
    read_pj: float
    write_pj: float
    leakage_mw: float
    area_mm2: float


@lru_cache(maxsize=1)
def sram_table() -> tuple[SramRow, ...]:
    """The committed CACTI table, by increasing capacity."""
    text = resources.files("pe_models.technology_data").joinpath(SRAM_TABLE_FILE).read_text()
    rows = []
    for record in csv.DictReader(line for line in text.splitlines() if not line.startswith("#")):
        rows.append(
            SramRow(
                capacity_kib=int(record["capacity_kib"]),
                read_pj=float(record["read_pj_per_access"]),
                write_pj=float(record["write_pj_per_access"]),
                leakage_mw=float(record["leakage_mw"]),
                area_mm2=float(record["area_mm2"]),
            )
        )
    return tuple(sorted(rows, key=lambda row: row.capacity_kib))


_ACCESS_BYTES = 64


def sram_pj_per_byte(capacity_kib: float) -> tuple[float, float, float]:
    """Dynamic energy per byte of a scratchpad of `capacity_kib` at 32 nm, 0.9 V: (read, mean, write) pJ.

    Interpolated linearly in ``log(capacity)`` between the CACTI rows.

    Raises
    ------
    ConfigError
        A capacity outside the table's range.
    """
    table = sram_table()
    low, high = table[0].capacity_kib, table[-1].capacity_kib
    if not isinstance(capacity_kib, int | float) or not low <= capacity_kib <= high:
        raise ConfigError(
            f"sram_kib: {capacity_kib!r} KiB is outside the CACTI table; allowed: {low}..{high} KiB per buffer"
        )
    for first, second in itertools.pairwise(table):
        if first.capacity_kib <= capacity_kib <= second.capacity_kib:
            span = math.log(second.capacity_kib) - math.log(first.capacity_kib)
            weight = (math.log(capacity_kib) - math.log(first.capacity_kib)) / span
            read = first.read_pj + weight * (second.read_pj - first.read_pj)
            write = first.write_pj + weight * (second.write_pj - first.write_pj)
            return read / _ACCESS_BYTES, 0.5 * (read + write) / _ACCESS_BYTES, write / _ACCESS_BYTES
    row = table[-1]
    return row.read_pj / _ACCESS_BYTES, 0.5 * (row.read_pj + row.write_pj) / _ACCESS_BYTES, row.write_pj / _ACCESS_BYTES
