"""Array-engine speed on the characterised library beside the reasoned closed form, one process.

Run: ``python benchmarks/bench_cells_route.py [--vdd 0.9,0.7,0.6,0.5] [--runs 3]``. The fast
engine (``simulate_gemm``) on one 256x256 weight-stationary tile (default compound-cell
ripple-carry PE, 700 MHz, ReLU-like activations and Gaussian weights, no protection), MACs
per CPU second (``time.process_time``, median of ``--runs`` runs after a warm-up run), for:

* ``ptm-32nm-hp``: the reasoned library, closed form (M = 256);
* ``ptm-32nm-hp-cells``, default route: the whole-operating-point screen where no MAC can be
  wrong (:func:`pe_models.chain.adder_always_settled`), else the per-edge model
  (:func:`pe_models.chain.edge_table`) on uint32 lanes (:func:`sim._kernels.edge_stationary_groups`)
  (M = 256);
* ``ptm-32nm-hp-cells``, scalar per-edge route: the same model MAC by MAC through
  ``registered_mac`` (the fast engine's grouped path disabled; M = 32);
* ``ptm-32nm-hp-cells`` with ``mac_parameters(..., exact=True)``: the exact event kernel at
  every supply (M = 8: its rate does not depend on M).

A last table gives the per-edge lanes' rate as a ratio of the reasoned closed form's and of the
scalar per-edge route's, from the same runs. Single-threaded BLAS and numba are forced.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections import OrderedDict  # noqa: E402
from functools import partial  # noqa: E402

import numpy as np  # noqa: E402

import sim.engine  # noqa: E402
from pe_models import kernels  # noqa: E402
from pe_models.chain import mac_parameters  # noqa: E402
from pe_models.pe import OperatingPoint, PEConfig, stage_timing  # noqa: E402
from sim.config import ArrayConfig  # noqa: E402
from sim.grid_fast import FastGrid  # noqa: E402

F_CLK_MHZ = 700.0
ARRAY = ArrayConfig(rows=256, cols=256, dataflow="ws", f_clk_mhz=F_CLK_MHZ)


def _operands(m: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(np.random.SeedSequence(0xCE11))
    activations = np.clip(np.maximum(rng.normal(0, 40, (m, 256)), 0), 0, 127).astype(np.int8)
    weights = np.clip(rng.normal(0, 30, (256, 256)), -128, 127).astype(np.int8)
    return activations, weights


def _rate(technology: str, vdd_v: float, exact: bool, scalar: bool, runs: int) -> tuple[float, str]:
    pe = PEConfig(technology=technology)
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd_v, f_clk_mhz=F_CLK_MHZ))
    row = mac_parameters(pe, timing, exact=exact)[0]
    route = {
        kernels.CELLS_COMPOUND: "closed form",
        kernels.CELLS_2IN: "2in closed form",
        kernels.CELLS_EXACT: "exact kernel",
        kernels.CELLS_EDGE: "per-edge scalar" if scalar else "per-edge lanes",
    }[int(row[kernels.PARAM_CELLS])]
    if route == "closed form" and row[kernels.PARAM_CARRY_STEPS] >= pe.width and technology.endswith("-cells"):
        route = "screened (settled), fold by fold" if scalar else "screened (settled)"
    m = 8 if route == "exact kernel" else (32 if route == "per-edge scalar" else 256)
    activations, weights = _operands(m)
    sim.engine._PARAMETER_CACHE.clear()
    original = sim.engine.mac_parameters
    original_groups = FastGrid.run_groups
    sim.engine.mac_parameters = partial(mac_parameters, exact=exact)
    if scalar:
        FastGrid.run_groups = lambda self, activations, weights, outputs: None  # type: ignore[method-assign]
    try:
        times = []
        for _ in range(runs + 1):
            start = time.process_time()
            sim.engine.simulate_gemm(activations, weights, array=ARRAY, pe=pe, timing=timing)
            times.append(time.process_time() - start)
    finally:
        sim.engine.mac_parameters = original
        FastGrid.run_groups = original_groups  # type: ignore[method-assign]
        sim.engine._PARAMETER_CACHE = OrderedDict()
    return m * 256 * 256 / statistics.median(times[1:]), route


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vdd", default="0.9,0.7,0.6,0.5", help="supplies in V, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per figure (default: 3)")
    args = parser.parse_args()
    supplies = [float(v) for v in args.vdd.split(",")]
    print("| technology, route | " + " | ".join(f"{v} V" for v in supplies) + " |")
    print("|---|" + "---|" * len(supplies))
    rates: dict[str, list[float]] = {}
    for label, technology, exact, scalar in (
        ("ptm-32nm-hp", "ptm-32nm-hp", False, False),
        ("ptm-32nm-hp-cells, default", "ptm-32nm-hp-cells", False, False),
        ("ptm-32nm-hp-cells, scalar per-edge route", "ptm-32nm-hp-cells", False, True),
        ("ptm-32nm-hp-cells, exact=True", "ptm-32nm-hp-cells", True, False),
    ):
        cells = []
        rates[label] = []
        for vdd in supplies:
            rate, route = _rate(technology, vdd, exact, scalar, args.runs)
            rates[label].append(rate)
            cells.append(f"{rate:.2g} MAC/s ({route})")
        print(f"| {label} | " + " | ".join(cells) + " |")
    default = rates["ptm-32nm-hp-cells, default"]
    print()
    print("| ratio | " + " | ".join(f"{v} V" for v in supplies) + " |")
    print("|---|" + "---|" * len(supplies))
    for label in ("ptm-32nm-hp", "ptm-32nm-hp-cells, scalar per-edge route"):
        ratios = " | ".join(f"{d / r:.3g}" for d, r in zip(default, rates[label], strict=True))
        print(f"| cells default / {label} | {ratios} |")


if __name__ == "__main__":
    main()
