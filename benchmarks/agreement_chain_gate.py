"""Chain-level agreement with the gate level for every PE configuration (prints a table).

Run: ``python benchmarks/agreement_chain_gate.py``. 3000 random MACs per configuration
(int8 operands, partial sums uniform in [-2^12, 2^12) so that sign crossings and long
carry chains are frequent), nominal cell delays, and a sampling instant at 1.2, 0.8 and
0.6 times the stage's longest static path (so every configuration is stressed the
same way). "words" = all accumulator bits equal, "bits" = per-bit agreement,
"settle" = equal settle times of the MAC output.
"""

from __future__ import annotations

import numpy as np

from pe_models.chain import evaluate_chain, stage_inputs, static_output_arrival_fs
from pe_models.gate import simulate_gate
from pe_models.integers import bit_frequencies
from pe_models.pe import PEConfig, stage_timing

MACS = 3000
MASK = (1 << 32) - 1


def main() -> None:
    rng = np.random.default_rng(np.random.SeedSequence(5))
    print(
        f"{'cells':9s} {'adder':5s} {'pipeline':10s} {'T/path':>6s} {'words':>7s} {'bits':>8s} "
        f"{'gate err':>8s} {'chain err':>9s} {'settle':>7s}"
    )
    for cells in ("compound", "2in"):
        for adder in ("rca", "ks"):
            for pipeline in ("registered", "fused"):
                pe = PEConfig(cells=cells, adder=adder, pipeline=pipeline)
                prev_a, prev_b, a, b = rng.integers(-128, 128, (4, MACS))
                prev_c, c = rng.integers(-(2**12), 2**12, (2, MACS))
                stage_name = "adder" if pipeline == "registered" else "mac"
                stage = pe.stages[stage_name]
                old, new = stage_inputs(stage_name, prev_a, prev_b, prev_c, a, b, c)
                nominal = stage_timing(pe, t_clk_ps=1000.0)
                longest_ps = static_output_arrival_fs(stage, nominal.delays_fs, "sum").max() / 1000
                for fraction in (1.2, 0.8, 0.6):
                    timing = stage_timing(pe, t_clk_ps=fraction * longest_ps + pe.library.t_setup_ps)
                    chain = evaluate_chain(pe, timing, prev_a=prev_a, prev_b=prev_b, prev_c=prev_c, a=a, b=b, c=c)
                    gate = simulate_gate(stage, old, new, delays_fs=timing.delays_fs, t_sample_fs=timing.t_sample_fs)
                    latched = chain.latched & MASK
                    differ = latched ^ gate.latched
                    bits = 1 - np.mean(bit_frequencies(differ, 32))
                    print(
                        f"{cells:9s} {adder:5s} {pipeline:10s} {fraction:6.1f} {np.mean(differ == 0):7.2%} "
                        f"{bits:8.3%} {np.mean(gate.flip_mask != 0):8.3f} {np.mean(chain.flip_mask != 0):9.3f} "
                        f"{np.mean(chain.settle_fs == gate.settle_fs):7.2%}"
                    )


if __name__ == "__main__":
    main()
