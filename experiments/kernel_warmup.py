"""Compile the bit-level array kernels in a background process while a run does its first steps.

On the first run after installing (or updating) vscale, numba compiles the kernels of the
bit-level array simulation (``sim._kernels.screened_stationary_groups`` for unprotected
grouped GEMMs, ``sim._kernels.stationary_groups`` for protected ones, and what they call:
about a minute of one core) the first time they run. ``vscale run`` needs them only in
steps 2 and 3, whose worker processes would each compile them at once, side by side. A
warm-up process started at the beginning of the run compiles them while step 1 and the
optimizer's profiling run, by multiplying one small grouped GEMM through the bit-level
backend with the run's PE, clock and array at the run's lowest supply voltage (unprotected
and protected: the two paths steps 2 and 3 take); the run waits for it before starting the
workers, which then load the kernels from numba's on-disk cache. When the cache is
already warm the process only loads them (a second of CPU), and ``vscale run`` starts its
workers on step 2 before the optimizer runs. The protected kernel is usually compiled
first by the run itself (the optimizer's screen runs array-order slices with every bit
protected, about 17 CPU s) while this process compiles the unprotected one (about 39 CPU
s); it then finds the protected one in the cache.

The warm-up changes no result: it computes nothing the run uses.
"""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import compile_notice

__all__ = ["KernelWarmup", "start_kernel_warmup"]


@dataclass(frozen=True, kw_only=True)
class _Target:
    pe: Any
    vdd_v: float
    f_clk_mhz: float
    rows: int
    cols: int
    t_setup_ps: float | None
    razor_window_ps: float | None


def _compile(target: _Target) -> None:
    """Multiply a small grouped GEMM on the bit-level backend, unprotected and protected.

    Any failure only means the workers compile what is missing, so it is not reported."""
    compile_notice.adopt()
    try:
        _multiply(target)
    except Exception:  # a warm-up that fails changes nothing but the time: the workers compile
        return


def _multiply(target: _Target) -> None:
    from sim.config import ArrayConfig
    from workloads.backends import make_injection_backend

    array = ArrayConfig(
        rows=target.rows,
        cols=target.cols,
        dataflow="ws",
        f_clk_mhz=target.f_clk_mhz,
        accumulator_bits=target.pe.width,
    )
    rng = np.random.default_rng(np.random.SeedSequence(0))
    activations = rng.integers(-128, 128, (2, 6, 5), dtype=np.int8)
    weights = rng.integers(-128, 128, (2, 5, 3), dtype=np.int8)
    for mask in (0, 1 << (target.pe.width - 1)):
        backend = make_injection_backend(
            "bitlevel",
            vdd_v=target.vdd_v,
            protect_mask=mask,
            seed=np.random.SeedSequence(0),
            pe=target.pe,
            f_clk_mhz=target.f_clk_mhz,
            array=array,
            t_setup_ps=target.t_setup_ps,
            razor_window_ps=target.razor_window_ps,
        )
        backend.matmul_groups(activations, weights, layer="warm-up")  # type: ignore[attr-defined]


class KernelWarmup:
    """A running warm-up process (see the module docstring)."""

    def __init__(self, process: Any) -> None:
        self.process = process

    def done(self) -> bool:
        """Whether the warm-up has ended (at once when the kernels were already in the cache)."""
        return not self.process.is_alive()

    def wait(self) -> None:
        """Block until the kernels are in the cache (or the warm-up failed: then the workers compile)."""
        self.process.join()


def start_kernel_warmup(
    *,
    pe: Any,
    vdd_v: float,
    f_clk_mhz: float,
    rows: int,
    cols: int,
    t_setup_ps: float | None = None,
    razor_window_ps: float | None = None,
) -> KernelWarmup:
    """Start compiling the kernels of a bit-level run of `pe` at `vdd_v` on a ``rows x cols`` array.

    The process is a daemon (it ends with the interpreter), started with ``fork`` where
    the platform has it (``VSCALE_START_METHOD`` overrides, as for the worker pools).
    """
    methods = multiprocessing.get_all_start_methods()
    method = os.environ.get("VSCALE_START_METHOD") or ("fork" if "fork" in methods else "spawn")
    target = _Target(
        pe=pe,
        vdd_v=float(vdd_v),
        f_clk_mhz=float(f_clk_mhz),
        rows=int(rows),
        cols=int(cols),
        t_setup_ps=t_setup_ps,
        razor_window_ps=razor_window_ps,
    )
    context: Any = multiprocessing.get_context(method)  # typeshed's BaseContext lacks Process
    process = context.Process(target=_compile, args=(target,), daemon=True)
    process.start()
    return KernelWarmup(process)
