"""How much the register D nets glitch at the gate level against their settled changes.

The energy model charges a protected bit's Razor flip-flop extras (its D edge, its larger D
pin) and the bit's hold-fix buffers per *settled* transition of the bit from one MAC to the
next (docs/energy.md, Limits). This script counts, on the default PE (compound cells, ripple
carry, registered pipeline, the reasoned cell delays the toggle model uses), every transition
of the partial-sum register's D nets (the adder's outputs) and of the product register's
(the multiplier's outputs) in the event-driven gate level (``pe_models.energy.net_toggles_fast``,
glitches included), against the bits that differ between consecutive MACs; and, on a
smaller sample, the widths of the pulses on those nets (``pe_models.gate.vector_waveforms``),
to see whether a hold-fix chain of BUFs (14 ps each) would pass them.

Operands: those of ``vscale energy --gemm 256,256,256`` (post-ReLU activations, zero with
probability 1/2 else |N(0, 40)|; weights N(0, 25); int8), sampled as the 256x256
weight-stationary array orders them (``sim.energy.consecutive_operands``).

Run: ``python benchmarks/d_net_glitches.py [--macs N] [--pulse-macs N]`` (about 5 s).
"""

from __future__ import annotations

import argparse

import numpy as np

from pe_models.energy import PRODUCT_BITS, net_toggles_fast
from pe_models.gate import vector_waveforms
from pe_models.pe import PEConfig
from sim.config import ArrayConfig
from sim.energy import consecutive_operands


def _wrapped(values: np.ndarray, bits: int) -> np.ndarray:
    return np.asarray(values, dtype=np.int64) & ((1 << bits) - 1)


def _bits(values: np.ndarray, width: int) -> np.ndarray:
    words = _wrapped(values, width)
    return np.stack([(words >> i) & 1 for i in range(width)]).astype(np.int8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--macs", type=int, default=20000, help="sampled consecutive MACs (default 20000)")
    parser.add_argument("--pulse-macs", type=int, default=3000, help="MACs whose pulse widths are measured")
    args = parser.parse_args()

    pe = PEConfig()
    rng = np.random.default_rng(np.random.SeedSequence(0))
    activations = np.where(
        rng.random((256, 256)) < 0.5, 0, np.clip(np.rint(np.abs(rng.normal(0, 40, (256, 256)))), 0, 127)
    )
    weights = np.clip(np.rint(rng.normal(0, 25, (256, 256))), -128, 127)
    old, new = consecutive_operands(
        activations.astype(np.int8), weights.astype(np.int8), ArrayConfig(rows=256, cols=256), samples=args.macs, seed=1
    )
    a0, b0, c0 = (np.asarray(old[k], dtype=np.int64) for k in "abc")
    a1, b1, c1 = (np.asarray(new[k], dtype=np.int64) for k in "abc")
    delays_fs = {kind: round(ps * 1000) for kind, ps in pe.library.delays_ps.items()}
    stages = {
        # stage: (its inputs before, after; the register it drives before, after; its width; bits shown)
        "adder": (
            {"product": a0 * b0, "c": c0},
            {"product": a1 * b1, "c": c1},
            c0 + a0 * b0,
            c1 + a1 * b1,
            pe.width,
            range(8, pe.width),
        ),
        "multiplier": ({"a": a0, "b": b0}, {"a": a1, "b": b1}, a0 * b0, a1 * b1, PRODUCT_BITS, range(PRODUCT_BITS)),
    }
    n = len(a0)
    print(f"default PE, {n} consecutive MACs of the 256x256x256 GEMM's operands (ws), reasoned delays")
    for stage, (before, after, word0, word1, width, shown) in stages.items():
        netlist = pe.stages[stage]
        ((bus, nets),) = netlist.outputs.items()
        nets = list(nets)[:width]
        toggles = net_toggles_fast(netlist, before, after, delays_fs=delays_fs)
        gate = toggles[:, nets].sum(axis=0)
        diff = _wrapped(word0, width) ^ _wrapped(word1, width)
        settled = np.array([((diff >> i) & 1).sum() for i in range(width)])
        bits = list(shown)
        g, s = gate[bits].sum() / n, settled[bits].sum() / n
        per_bit = gate[bits] / np.maximum(settled[bits], 1)
        print(
            f"{stage} ({bus}) bits {bits[-1]}:{bits[0]}: {g:.2f} transitions per MAC at the gate level, "
            f"{s:.2f} settled, ratio {g / s:.3f} (per bit {per_bit.min():.2f}-{per_bit.max():.2f})"
        )
        cells = [(cell.kind, cell.inputs, cell.output, int(delays_fs[cell.kind])) for cell in netlist.cells]
        m = min(args.pulse_macs, n)
        old_bits = {name: _bits(before[name][:m], len(inputs)) for name, inputs in netlist.inputs.items()}
        new_bits = {name: _bits(after[name][:m], len(inputs)) for name, inputs in netlist.inputs.items()}
        widths = []
        for vector in range(m):
            _, times, _ = vector_waveforms(netlist, cells, old_bits, new_bits, vector)
            for bit in bits:
                widths.extend(np.diff(times[nets[bit]]))
        ps = np.asarray(widths, dtype=np.float64) / 1000.0
        if ps.size:
            print(
                f"    pulses on those nets ({m} MACs): {ps.size}, shortest {ps.min():.0f} ps, "
                f"median {np.median(ps):.0f} ps; "
                f"narrower than one BUF (14 ps) {100 * np.mean(ps < 14):.1f} %"
            )


if __name__ == "__main__":
    main()
