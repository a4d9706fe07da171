"""`vscale pe eval --energy` against the supply energy ngspice draws for the same sequence.

The adder stage of the registered pipeline (the partial-sum register's D side), built by
``vscale pe spice``'s deck (``experiments.studies.pe_spice``: the shipped cell subcircuits on
the PTM 32 nm HP card, inputs as ideal flip-flop outputs, every output bit loaded by a flop D
pin). This script adds, for each vector's clock period (from the edge at which its inputs
switch to the new operands, one period long), the charge drawn from ``vdd`` (every cell's
switching, internal and short-circuit energy and the output loads, plus leakage over the
period) and the charge each input source delivers. A flop driving an input net draws
``C V^2`` from its supply when the net rises and nothing when it falls, so the inputs' energy
is ``VDD x`` the charge of the sources that rise in the window. The sum is set beside
``vscale pe eval VECTORS.csv --vdd V --energy`` at the gate level (event-driven transitions,
glitches included, with the PE's reasoned delays; every net's energy from the characterised
library; leakage over one period) and at the chain level (the toggle model the array uses).

Per vector the two differ a lot (the model charges ``0.5 C V^2`` per input transition, the
supply ``C V^2`` per rise and none per fall; ngspice's glitches follow the characterised
delays, the gate level's the reasoned ones); the sum over the vectors is the comparison.

Each window is one clock period: the clock must leave the stage time to settle at `--vdd`
(700 MHz does at 0.9 V; at 0.6 V the adder's longest path is about 1.8 ns, so 450 MHz).

Run: ``python benchmarks/pe_energy_vs_spice.py [--vectors N] [--vdd V] [--f-clk-mhz F] [--distribution dnn|uniform]``
(ngspice on PATH; 14-21 s of ngspice per vector on a loaded 2-core machine).
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import experiments.studies.pe_spice as pe_spice
from experiments.studies.pe_spice import PeSpiceConfig
from pe_models.pe import OperatingPoint, stage_timing
from pe_models.spice_deck import SpiceDeck

_VALUE = re.compile(r"^\s*(q\w+)\s*=\s*([-+]?[0-9.]+(?:e[-+]?[0-9]+)?)", re.IGNORECASE | re.MULTILINE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=8)
    parser.add_argument("--vdd", type=float, default=0.9)
    parser.add_argument("--distribution", default="dnn", choices=("dnn", "uniform"))
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument(
        "--f-clk-mhz", type=float, default=700.0, help="clock; its period must exceed the stage's delay at --vdd"
    )
    args = parser.parse_args()

    config = PeSpiceConfig(
        vectors=args.vectors,
        distribution=args.distribution,
        seed=args.seed,
        stages="adder",
        vdd_v=args.vdd,
        f_clk_mhz=args.f_clk_mhz,
    )
    vectors = pe_spice._vectors(config)
    period_s = 1e-6 / args.f_clk_mhz
    pe = config.library_pe("registered")
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=args.vdd, f_clk_mhz=args.f_clk_mhz))
    t_sample_s = timing.t_sample_fs * 1e-15
    run_ngspice = pe_spice._run_ngspice
    seen: dict[str, object] = {}

    def with_supply_measures(deck: SpiceDeck, stage: str) -> tuple[str, float]:
        """The stage's deck plus one charge measurement per vector window, for vdd and each input."""
        reads = re.finditer(r"^\.measure tran s\d+_\d+_\d+ find \S+ at=(\S+)", deck.text, re.MULTILINE)
        starts = [t - t_sample_s for t in sorted({float(m.group(1)) for m in reads})]
        sources = re.findall(r"^(v\S+) \S+ 0 pwl", deck.text, re.MULTILINE)
        lines = []
        for n, start in enumerate(starts):
            window = f"from={start:.9e} to={start + period_s:.9e}"
            lines.append(f".measure tran qvdd_{n} integ i(vdd) {window}")
            lines += [f".measure tran qin{k}_{n} integ i({source}) {window}" for k, source in enumerate(sources)]
        text = deck.text.replace("\n.end\n", "\n" + "\n".join(lines) + "\n.end\n")
        output, seconds = run_ngspice(
            SpiceDeck(
                text=text,
                measures=deck.measures,
                widths=deck.widths,
                constants=deck.constants,
                n_samples=deck.n_samples,
                t_stop_s=deck.t_stop_s,
            ),
            stage,
        )
        seen.update(output=output, seconds=seconds, windows=len(starts), sources=len(sources))
        return output, seconds

    pe_spice._run_ngspice = with_supply_measures  # type: ignore[assignment]
    try:
        pe_spice._stage_run(config, "adder", vectors)
    finally:
        pe_spice._run_ngspice = run_ngspice  # type: ignore[assignment]
    values = {m.group(1).lower(): float(m.group(2)) for m in _VALUE.finditer(str(seen["output"]))}
    spice = []
    for n in range(int(seen["windows"])):  # type: ignore[call-overload]
        supply = -values[f"qvdd_{n}"] * args.vdd * 1e15
        rises = sum(max(-values[f"qin{k}_{n}"], 0.0) for k in range(int(seen["sources"])))  # type: ignore[call-overload]
        spice.append((supply, rises * args.vdd * 1e15))

    model = {}
    columns = ["prev_a", "prev_b", "prev_c", "a", "b", "c"]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "vectors.csv"
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            writer.writerows([int(vectors[c][i]) for c in columns] for i in range(args.vectors))
        for level in ("gate", "chain"):
            argv = ["pe", "eval", str(path), "--vdd", str(args.vdd), "--f-clk-mhz", str(args.f_clk_mhz)]
            argv += ["--energy", "--level", level]
            argv += ["--out", str(Path(folder) / level)]
            done = subprocess.run(
                [sys.executable, "-m", "experiments", *argv], capture_output=True, text=True, check=True
            )
            model[level] = [float(row["energy_fj"]) for row in csv.DictReader(io.StringIO(done.stdout))]

    print(
        f"adder stage, {args.vectors} {args.distribution} vectors (seed {args.seed}) at {args.vdd:g} V, "
        f"{args.f_clk_mhz:g} MHz; ngspice {float(seen['seconds']):.0f} s"  # type: ignore[arg-type]
    )
    print(f"{'vector':>6} {'spice vdd':>10} {'inputs':>8} {'spice':>8} {'gate':>8} {'chain':>8}   (fJ)")
    totals = [0.0] * 5
    for i, (supply, inputs) in enumerate(spice):
        row = (supply, inputs, supply + inputs, model["gate"][i], model["chain"][i])
        totals = [t + v for t, v in zip(totals, row, strict=True)]
        print(f"{i:6d} " + " ".join(f"{v:8.1f}" if k else f"{v:10.1f}" for k, v in enumerate(row)))
    print("   sum " + " ".join(f"{v:8.1f}" if k else f"{v:10.1f}" for k, v in enumerate(totals)))
    print(f"gate / spice {totals[3] / totals[2]:.3f}, chain / spice {totals[4] / totals[2]:.3f}")


if __name__ == "__main__":
    main()
