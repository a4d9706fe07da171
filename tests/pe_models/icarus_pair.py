"""One stage's vectors through Icarus Verilog and the fast gate level, with a shadow sample."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pe_models.gate import simulate_gate_fast
from pe_models.verilog import run_icarus_detailed, write_verilog_bundle

__all__ = ["icarus_and_gate"]


def icarus_and_gate(
    directory: Path, netlist: Any, timing: Any, old: Any, new: Any, window_fs: int, stage: str
) -> tuple[Any, Any]:
    """Icarus's and the gate level's results for the same netlist, vectors and window, on the
    stage's per-pin, per-edge arcs and its inputs' clock-to-Q launch times (any technology)."""
    arcs, launch = timing.arcs_fs(stage), timing.launch_fs(stage)
    paths = write_verilog_bundle(
        directory,
        netlist,
        delays_fs=arcs,
        t_sample_fs=timing.t_sample_fs,
        old_inputs=old,
        new_inputs=new,
        window_fs=window_fs,
        launch_fs=launch,
    )
    gate = simulate_gate_fast(
        netlist,
        old,
        new,
        delays_fs=arcs,
        t_sample_fs=timing.t_sample_fs,
        t_shadow_fs=timing.t_sample_fs + window_fs,
        launch_fs=launch,
    )
    return run_icarus_detailed(paths), gate
