"""Chain-level agreement with the gate level for every PE configuration (prints a table).

Run: ``python benchmarks/agreement_chain_gate.py``. 3000 random MACs per configuration
(int8 operands, partial sums uniform in [-2^22, 2^22)), T_clk = 1428.6 ps, cell delays
x1, x2.2 and x3.1. "words" = all accumulator bits equal, "bits" = per-bit agreement,
"settle" = equal settle times.
"""

from __future__ import annotations

import numpy as np

from pe_models.chain import evaluate_chain
from pe_models.gate import simulate_gate
from pe_models.pe import PEConfig, stage_timing

MACS = 3000
MASK = (1 << 32) - 1


def main() -> None:
    rng = np.random.default_rng(np.random.SeedSequence(5))
    print(f"{'cells':9s} {'adder':5s} {'pipeline':10s} {'scale':>5s} {'words':>7s} {'bits':>8s} "
          f"{'gate err':>8s} {'chain err':>9s} {'settle':>7s}")
    for cells in ("compound", "2in"):
        for adder in ("rca", "ks"):
            for pipeline in ("registered", "fused"):
                pe = PEConfig(cells=cells, adder=adder, pipeline=pipeline)
                prev_a, prev_b, a, b = rng.integers(-128, 128, (4, MACS))
                prev_c, c = rng.integers(-(2**22), 2**22, (2, MACS))
                for scale in (1.0, 2.2, 3.1):
                    timing = stage_timing(pe, t_clk_ps=1428.6, delay_scale=scale)
                    chain = evaluate_chain(pe, timing, prev_a=prev_a, prev_b=prev_b, prev_c=prev_c, a=a, b=b, c=c)
                    if pipeline == "registered":
                        netlist = pe.stages["adder"]
                        old = {"product": prev_a * prev_b, "c": prev_c}
                        new = {"product": a * b, "c": c}
                    else:
                        netlist = pe.stages["mac"]
                        old = {"a": prev_a, "b": prev_b, "c": prev_c}
                        new = {"a": a, "b": b, "c": c}
                    gate = simulate_gate(netlist, old, new, delays_fs=timing.delays_fs,
                                         t_sample_fs=timing.t_sample_fs)
                    latched = chain.latched & MASK
                    differ = latched ^ gate.latched
                    bits = 1 - np.mean((differ[:, None] >> np.arange(32)) & 1)
                    print(f"{cells:9s} {adder:5s} {pipeline:10s} {scale:5.1f} {np.mean(differ == 0):7.2%} "
                          f"{bits:8.3%} {np.mean(gate.flip_mask != 0):8.3f} {np.mean(chain.flip_mask != 0):9.3f} "
                          f"{np.mean(chain.settle_fs == gate.settle_fs):7.2%}")


if __name__ == "__main__":
    main()
