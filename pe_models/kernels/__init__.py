"""The PE's numba kernels: what the chain and gate levels and the array engines compose.

The array engines (``sim``) call the per-MAC chain-level kernels and the stationary-PE
stream kernels from inside their own compiled loops, so they need the jitted functions
themselves; this package is their one public name. The implementations live in private
modules split by concern:

==================  ==========================================================================
``_chain``          scalar chain recurrences: the ripple-carry adders one MAC (or lane) at a
                    time, the registered PE's MAC and its parameter row (``PARAM_*``)
``_streams``        one stationary-operand PE's MACs in int64 words (any width)
``_closed_form``    the compound-cell MAC in closed form on uint32 words, and its records
``_intrinsics``     32-bit shifts, multiplies and trailing zeros as LLVM intrinsics
``_vector``         explicit 8-lane vector code of the closed form (LLVM IR)
``_screened``       one PE's stream in uint32 words, screened chunk by chunk
``_lanes``          a row of PEs sharing a stream operand, one uint32 lane per PE
``_edge_lanes``     the per-edge model (characterised libraries) on uint32 lanes: a row of PEs
                    sharing a stream operand, or one PE's stream
``_tallies``        wrong bits per bit position (bit-sliced counters, bulk counts)
``_gate_events``    event-driven simulation of a gate netlist (per-pin, per-edge delays), also of
                    a stage encoded in the MAC parameter row
==================  ==========================================================================

Kernels that take many parameters take them as records (NamedTuples, which numba passes
by value: a field costs what a separate argument did): :class:`CompoundTiming`,
:class:`LaneScratch`, :class:`EdgeForm`, :class:`EdgeScratch`, :class:`GateNetlist`,
:class:`GateSamples`.

numba's on-disk cache does not notice changes to functions inlined from another module,
and the private modules inline each other's: on import this package compares
:data:`SOURCE_DIGEST` (of every module here) with the one stored beside the cache files
and deletes them when it differs. A consumer that inlines these kernels into its own
cached kernels does the same with :func:`drop_stale_cache`. A cache file numba cannot read
(cut short by a full disk) is compiled afresh and rewritten (:mod:`pe_models.numba_cache`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pe_models.numba_cache import tolerate_damaged_cache


def _source_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


SOURCE_DIGEST = _source_digest()
"""SHA-256 of the kernel modules' sources (changes whenever a kernel may have)."""


def drop_stale_cache(cache_dir: Path, stamp: str, pattern: str, digest: str) -> None:
    """Delete the numba cache files `pattern` in `cache_dir` unless the file `stamp` there holds `digest`,
    then store `digest` in it.

    Parameters
    ----------
    cache_dir : Path
        A ``__pycache__`` directory.
    stamp : str
        File name of the stored digest.
    pattern : str
        Glob of the cache files (``.nbi`` index and ``.nbc`` data) to delete.
    digest : str
        The current digest (e.g. :data:`SOURCE_DIGEST`).
    """
    try:
        stamp_path = cache_dir / stamp
        if stamp_path.is_file() and stamp_path.read_text().strip() == digest:
            return
        if cache_dir.is_dir():
            for path in cache_dir.glob(pattern):
                path.unlink(missing_ok=True)
        cache_dir.mkdir(exist_ok=True)
        stamp_path.write_text(digest + "\n")
    except OSError:
        return


drop_stale_cache(Path(__file__).with_name("__pycache__"), "kernels.sha256", "_*.nb[ic]", SOURCE_DIGEST)
tolerate_damaged_cache()

from ._chain import (  # noqa: E402
    CELLS_2IN,
    CELLS_COMPOUND,
    CELLS_EDGE,
    CELLS_EXACT,
    EDGE_SCENARIO_WORDS,
    EDGE_SLOTS,
    EDGE_TABLE_WORDS,
    PARAM_ARRIVAL,
    PARAM_BUFFER_MASK,
    PARAM_BUFFER_STEPS,
    PARAM_CARRY_STEPS,
    PARAM_CELLS,
    PARAM_COUNT,
    PARAM_D0,
    PARAM_D1,
    PARAM_D2,
    PARAM_LATE_PRODUCT,
    PARAM_MASK,
    PARAM_SHADOW_BUFFER_STEPS,
    PARAM_SHADOW_STEPS,
    PARAM_STAGE,
    PARAM_T_BUFFERED,
    PARAM_T_SAMPLE,
    PARAM_T_SHADOW,
    PARAM_T_SHADOW_BUFFERED,
    compound_carry_steps,
    compound_mac_stream,
    plain_mac_loop,
    product_stage,
    rca_2in_lanes,
    rca_bit_settle_lanes,
    rca_compound_lanes,
    rca_compound_latched_lanes,
    registered_mac,
    registered_mac_shadow,
    registered_mac_stream,
)
from ._closed_form import LANE_GROUP, WRONG_GROUP, CompoundTiming  # noqa: E402
from ._edge_lanes import (  # noqa: E402
    EdgeForm,
    EdgeScratch,
    edge_form,
    edge_scratch,
    edge_stationary_lanes,
    edge_stationary_stream,
    flush_counters,
)
from ._gate_events import (  # noqa: E402
    CELL_CODES,
    GATE_MAX_EVENTS,
    STAGE_HEADER,
    GateNetlist,
    GateSamples,
    gate_lanes,
    net_toggle_lanes,
)
from ._lanes import (  # noqa: E402
    SCREEN_EAGER,
    SCREEN_LAZY,
    SCREEN_OFF,
    LaneScratch,
    compound_stationary_lanes,
    lane_flags,
    lane_scratch,
)
from ._screened import SCREEN_CHUNK, compound_stationary_screened  # noqa: E402
from ._streams import compound_stationary_stream  # noqa: E402
from ._tallies import WRONG_WORDS, add_tallies, count_word_bits, tally_bits  # noqa: E402

__all__ = [
    "CELLS_2IN",
    "CELLS_COMPOUND",
    "CELLS_EDGE",
    "CELLS_EXACT",
    "CELL_CODES",
    "EDGE_SCENARIO_WORDS",
    "EDGE_SLOTS",
    "EDGE_TABLE_WORDS",
    "GATE_MAX_EVENTS",
    "LANE_GROUP",
    "PARAM_ARRIVAL",
    "PARAM_BUFFER_MASK",
    "PARAM_BUFFER_STEPS",
    "PARAM_CARRY_STEPS",
    "PARAM_CELLS",
    "PARAM_COUNT",
    "PARAM_D0",
    "PARAM_D1",
    "PARAM_D2",
    "PARAM_LATE_PRODUCT",
    "PARAM_MASK",
    "PARAM_SHADOW_BUFFER_STEPS",
    "PARAM_SHADOW_STEPS",
    "PARAM_STAGE",
    "PARAM_T_BUFFERED",
    "PARAM_T_SAMPLE",
    "PARAM_T_SHADOW",
    "PARAM_T_SHADOW_BUFFERED",
    "SCREEN_CHUNK",
    "SCREEN_EAGER",
    "SCREEN_LAZY",
    "SCREEN_OFF",
    "SOURCE_DIGEST",
    "STAGE_HEADER",
    "WRONG_GROUP",
    "WRONG_WORDS",
    "CompoundTiming",
    "EdgeForm",
    "EdgeScratch",
    "GateNetlist",
    "GateSamples",
    "LaneScratch",
    "add_tallies",
    "compound_carry_steps",
    "compound_mac_stream",
    "compound_stationary_lanes",
    "compound_stationary_screened",
    "compound_stationary_stream",
    "count_word_bits",
    "drop_stale_cache",
    "edge_form",
    "edge_scratch",
    "edge_stationary_lanes",
    "edge_stationary_stream",
    "flush_counters",
    "gate_lanes",
    "lane_flags",
    "lane_scratch",
    "net_toggle_lanes",
    "plain_mac_loop",
    "product_stage",
    "rca_2in_lanes",
    "rca_bit_settle_lanes",
    "rca_compound_lanes",
    "rca_compound_latched_lanes",
    "registered_mac",
    "registered_mac_shadow",
    "registered_mac_stream",
    "tally_bits",
]
