"""The PE against SPICE: a transistor-level ngspice run of the accumulator adder and the whole MAC stage.

Each stage's netlist (the registered pipeline's ``adder``; the fused pipeline's ``mac``,
multiplier and adder in one cycle) becomes an ngspice deck of the shipped cell
subcircuits on the technology's model card (:mod:`pe_models.spice_deck`). For every
operand vector the stage inputs switch to the vector's previous operands, the circuit
settles (a phase longer than the stage's static critical path), then the inputs switch
to the vector's operands at a clock edge, each input bit at its flip-flop's clock-to-Q
delay with its Q transition time, and every output bit is read at ``T_clk - t_setup``
after that edge (1 when above VDD/2). vscale's gate level simulates the same pairs
with the characterised library's per-instance arcs (:func:`pe_models.gate.simulate_gate_fast`);
the result compares the latched bits per bit position: the share equal, and each
side's error probability (latched bit different from the settled value).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from experiments.results import StudyResult
from pe_models.arcs import latest_arrival_fs
from pe_models.chain import stage_inputs
from pe_models.errors import ConfigError
from pe_models.gate import simulate_gate_fast
from pe_models.operands import OPERAND_SOURCES, synthetic_stream
from pe_models.pe import OperatingPoint, PEConfig, delay_source, stage_timing
from pe_models.spice_deck import DeckStage, SpiceDeck, parse_measurements, spice_deck
from pe_models.structural import library_pe

from .common import TimingFields, as_config, check_int
from .vectors import VECTOR_COLUMNS, read_vectors

__all__ = ["PeSpiceBitRow", "PeSpiceConfig", "PeSpiceResult", "SpiceStageRun", "pe_spice"]

STAGES: tuple[str, ...] = ("adder", "mac")
"""The stages a deck can hold: the registered pipeline's accumulator adder, the fused MAC stage."""

MODEL_CARDS: dict[str, str] = {"ptm-32nm-hp": "ptm-32nm-hp.pm"}
"""Model card (in ``pe_models/technology_data``) of each technology whose cells have subcircuits."""


@dataclass(frozen=True, kw_only=True)
class PeSpiceConfig(TimingFields):
    """PE against SPICE: the PE, one supply voltage and clock, the operand vectors, the stages.

    The ``pipeline`` field is not read: `stages` names the pipelines (``adder`` is the
    registered pipeline's stage, ``mac`` the fused one's).

    Attributes
    ----------
    vectors : str
        Number of operand vectors (1..100000) drawn from `distribution`, or a CSV file
        with columns prev_a,prev_b,prev_c,a,b,c like ``pe eval``'s (default 200).
    distribution : str
        Random vectors: ``uniform`` (a, b uniform int8, c uniform 23-bit) or ``dnn``
        (ReLU activations, fixed weight, dot-product partial sums) (default uniform).
    seed : int
        Seed of the random vectors, >= 0 (default 0).
    stages : str
        Stages to simulate, comma-separated: ``adder`` (the registered pipeline's
        accumulator adder) and ``mac`` (multiplier and adder in one cycle) (default both).
    temperature_c : float
        Simulation temperature in C; must be the library's (default 27).
    max_step_ps : float
        Largest ngspice time step in ps, > 0 and <= 50 (default 10; ngspice shortens it where
        nodes switch).
    """

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"distribution": OPERAND_SOURCES}

    vectors: str = "200"
    distribution: str = "uniform"
    seed: int = 0
    stages: str = "adder,mac"
    temperature_c: float = 27.0
    max_step_ps: float = 10.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.vdd_v is None:
            raise ConfigError("vdd_v: SPICE needs a supply voltage; allowed: vdd_v with f_clk_mhz (not t_clk_ps)")
        if self.distribution not in OPERAND_SOURCES:
            raise ConfigError(f"distribution: {self.distribution!r}; allowed: {', '.join(OPERAND_SOURCES)}")
        if check_int("seed", self.seed) < 0:
            raise ConfigError(f"seed: expected an integer >= 0, got {self.seed}")
        self.stage_names()
        self.vector_count()
        if not isinstance(self.max_step_ps, int | float) or not 0 < self.max_step_ps <= 50:
            raise ConfigError(f"max_step_ps: {self.max_step_ps!r}; allowed: > 0 and <= 50 ps")
        library = self.library_pe().tech
        cells = getattr(library, "cell_library", None)
        temperature = getattr(cells, "temperature_c", 27.0)
        if abs(float(self.temperature_c) - float(temperature)) > 1e-9:
            raise ConfigError(
                f"temperature_c: {self.temperature_c:g} C; the cell library was characterised at {temperature:g} C"
            )
        self.model_card()

    def stage_names(self) -> tuple[str, ...]:
        names = tuple(part.strip() for part in str(self.stages).split(",") if part.strip())
        bad = [name for name in names if name not in STAGES]
        if not names or bad or len(set(names)) != len(names):
            raise ConfigError(f"stages: {self.stages!r}; allowed: a comma-separated subset of {', '.join(STAGES)}")
        return names

    def vector_count(self) -> int | None:
        """The number of random vectors, or None when `vectors` names a CSV file."""
        text = str(self.vectors).strip()
        if text.isdigit():
            count = int(text)
            if not 1 <= count <= 100_000:
                raise ConfigError(f"vectors: {count}; allowed: 1..100000 random vectors or a FILE.csv")
            return count
        if not text.lower().endswith(".csv"):
            raise ConfigError(f"vectors: {text!r}; allowed: a number of random vectors (1..100000) or a FILE.csv")
        if not Path(text).is_file():
            raise ConfigError(f"vectors: {text}: no such vector file")
        return None

    def library_pe(self, pipeline: str = "registered") -> PEConfig:
        """The PE on its technology's characterised cell library, in `pipeline`."""
        return library_pe(dataclasses.replace(self.pe_config(), pipeline=pipeline))

    def model_card(self) -> Path:
        """The SPICE model card of the technology's cells."""
        from pe_models.technology import resolve_technology

        name = resolve_technology(self.pe_config().technology).name.removesuffix("-cells")
        if name not in MODEL_CARDS:
            raise ConfigError(
                f"technology: {name!r} has no model card for the cell subcircuits; allowed: {', '.join(MODEL_CARDS)}"
            )
        return Path(__file__).resolve().parents[2] / "pe_models" / "technology_data" / MODEL_CARDS[name]


@dataclass(frozen=True, kw_only=True)
class PeSpiceBitRow:
    """One output bit of one stage: SPICE's latched bit against vscale's gate level.

    Attributes
    ----------
    stage : str
        ``adder`` or ``mac``.
    bit : int
        Output bit (0 = LSB).
    vectors : int
        Vectors compared.
    bits_equal_pct : float
        Vectors where ngspice and the gate level latch the same value, %.
    spice_error_pct, gate_error_pct : float
        Vectors where each latches a value different from the settled one, %.
    min_margin_mv : float
        Smallest distance of ngspice's sampled voltage from VDD/2, mV (a small margin: the
        bit was still switching at the sampling instant).
    """

    stage: str
    bit: int
    vectors: int
    bits_equal_pct: float
    spice_error_pct: float
    gate_error_pct: float
    min_margin_mv: float


@dataclass(frozen=True, eq=False)
class SpiceStageRun:
    """One stage's deck, ngspice's output and the latched bits of both sides.

    Attributes
    ----------
    stage : str
    deck : str
        The ngspice deck.
    output : str
        ngspice's standard output and error (the measurements).
    seconds : float
        Wall-clock time of the ngspice run.
    t_sample_ps : float
        Sampling instant after the clock edge, ps.
    spice_bits, gate_bits, correct_bits : ndarray, int64, shape (n_vectors, width)
    volts : ndarray, float64, shape (n_vectors, width)
    """

    stage: str
    deck: str
    output: str
    seconds: float
    t_sample_ps: float
    spice_bits: np.ndarray
    gate_bits: np.ndarray
    correct_bits: np.ndarray
    volts: np.ndarray


@dataclass(frozen=True)
class PeSpiceResult(StudyResult[PeSpiceBitRow, PeSpiceConfig]):
    """Per-bit agreement (``rows``), the totals and each stage's run."""

    row_type = PeSpiceBitRow

    runs: tuple[SpiceStageRun, ...] = field(default=(), compare=False)


def _vectors(config: PeSpiceConfig) -> dict[str, np.ndarray]:
    count = config.vector_count()
    pe = config.pe_config()
    if count is None:
        return read_vectors(Path(str(config.vectors).strip()), width=pe.width)
    stream = synthetic_stream(
        config.distribution, lanes=1, steps=count + 1, seed=np.random.SeedSequence(check_int("seed", config.seed))
    )
    return stream.consecutive_pairs()


def _bits(values: np.ndarray, width: int) -> np.ndarray:
    unsigned = np.asarray(values, dtype=np.int64) & ((1 << width) - 1)
    return ((unsigned[:, None] >> np.arange(width)) & 1).astype(np.int64)


def _run_ngspice(deck: SpiceDeck, stage: str) -> tuple[str, float]:
    ngspice = shutil.which("ngspice")
    if ngspice is None:
        raise ConfigError("ngspice: not on PATH (apt-get install ngspice); vscale pe spice runs it")
    import tempfile

    with tempfile.TemporaryDirectory(prefix="vscale-spice-") as folder:
        path = Path(folder) / f"{stage}.sp"
        path.write_text(deck.text, encoding="utf-8")
        start = time.perf_counter()
        completed = subprocess.run(
            [ngspice, "-b", path.name], cwd=folder, capture_output=True, text=True, check=False, env=dict(os.environ)
        )
        seconds = time.perf_counter() - start
    output = completed.stdout + completed.stderr
    if completed.returncode != 0:
        lines = [line for line in completed.stderr.splitlines() if line.strip()] or ["no output"]
        raise ConfigError(f"ngspice: the {stage} deck failed (exit {completed.returncode}): {lines[-1].strip()}")
    return output, seconds


def _stage_run(config: PeSpiceConfig, stage: str, vectors: dict[str, np.ndarray]) -> SpiceStageRun:
    pipeline = "registered" if stage == "adder" else "fused"
    pe = config.library_pe(pipeline)
    vdd = float(config.vdd_v)  # type: ignore[arg-type]
    f_clk_mhz = float(config.f_clk_mhz)  # type: ignore[arg-type]
    extra: dict[str, Any] = {} if config.t_setup_ps is None else {"t_setup_ps": config.t_setup_ps}
    timing = stage_timing(pe, operating_point=OperatingPoint(vdd_v=vdd, f_clk_mhz=f_clk_mhz), **extra)
    netlist = pe.stages[stage]
    old, new = stage_inputs(stage, *(vectors[column] for column in VECTOR_COLUMNS))
    arcs = timing.arcs_fs(stage)
    launch = timing.launch_fs(stage)
    gate = simulate_gate_fast(netlist, old, new, delays_fs=arcs, t_sample_fs=timing.t_sample_fs, launch_fs=launch)
    width = pe.width
    n = int(np.asarray(vectors["a"]).size)
    period_s = timing.t_clk_fs * 1e-15
    settle_s = max(period_s, 1.3 * int(latest_arrival_fs(netlist, arcs, launch).max()) * 1e-15 + 100e-12)
    cycle_s = settle_s + period_s
    phases = {bus: np.empty(2 * n, dtype=np.int64) for bus in netlist.inputs}
    for bus in netlist.inputs:
        phases[bus][0::2] = np.asarray(old[bus], dtype=np.int64)
        phases[bus][1::2] = np.asarray(new[bus], dtype=np.int64)
    edges = np.empty(2 * n - 1)
    edges[0::2] = np.arange(n) * cycle_s + settle_s
    edges[1::2] = np.arange(1, n) * cycle_s
    sampled = np.zeros(edges.size, dtype=bool)
    sampled[0::2] = True
    source = delay_source(pe, vdd_v=vdd)
    input_nets = [net for nets in netlist.inputs.values() for net in nets]
    slew = timing.arcs[stage].slew_ps[input_nets] * 1e-12
    deck = spice_deck(
        [
            DeckStage(
                name=stage,
                netlist=netlist,
                inputs=phases,
                launch_s=launch * 1e-15,
                slew_s=slew,
                output_load_f=float(source.flop_d_capacitance_ff) * 1e-15,
            )
        ],
        model_card=config.model_card().read_text(encoding="utf-8"),
        vdd_v=vdd,
        temperature_c=float(config.temperature_c),
        edges_s=edges,
        sampled=sampled,
        sample_offset_s=timing.t_sample_fs * 1e-15,
        max_step_s=float(config.max_step_ps) * 1e-12,
        title=f"vscale pe spice: {stage} at {vdd:g} V, {config.f_clk_mhz:g} MHz, {n} vectors",
    )
    output, seconds = _run_ngspice(deck, stage)
    (bus,) = netlist.outputs
    spice_bits, volts = parse_measurements(deck, output, vdd_v=vdd)[(stage, bus)]
    return SpiceStageRun(
        stage=stage,
        deck=deck.text,
        output=output,
        seconds=seconds,
        t_sample_ps=timing.t_sample_fs / 1000,
        spice_bits=spice_bits,
        gate_bits=_bits(gate.latched, width),
        correct_bits=_bits(gate.correct, width),
        volts=volts,
    )


def pe_spice(config: PeSpiceConfig | None = None, /, **fields: Any) -> PeSpiceResult:
    """Run ngspice on each stage over the vectors and compare every latched bit with the gate level.

    Returns
    -------
    PeSpiceResult
        One row per stage and output bit; totals ``bits_equal_pct`` (all stages and bits),
        ``bits_equal_pct_<stage>``, ``vectors``, ``vdd_v``, ``t_clk_ps``, ``t_sample_ps``,
        ``ngspice_seconds``.

    Raises
    ------
    ConfigError
        Bad fields, a vector file that does not read, ngspice missing or failing.
    """
    config = as_config(PeSpiceConfig, config, fields)
    vectors = _vectors(config)
    rows = []
    runs = []
    totals: dict[str, Any] = {}
    equal = compared = 0
    for stage in config.stage_names():
        run = _stage_run(config, stage, vectors)
        runs.append(run)
        same = run.spice_bits == run.gate_bits
        margin = np.abs(run.volts - float(config.vdd_v) / 2) * 1000  # type: ignore[arg-type]
        n = same.shape[0]
        for bit in range(same.shape[1]):
            rows.append(
                PeSpiceBitRow(
                    stage=stage,
                    bit=bit,
                    vectors=n,
                    bits_equal_pct=100.0 * float(same[:, bit].mean()),
                    spice_error_pct=100.0 * float((run.spice_bits[:, bit] != run.correct_bits[:, bit]).mean()),
                    gate_error_pct=100.0 * float((run.gate_bits[:, bit] != run.correct_bits[:, bit]).mean()),
                    min_margin_mv=float(margin[:, bit].min()),
                )
            )
        totals[f"bits_equal_pct_{stage}"] = 100.0 * float(same.mean())
        totals[f"ngspice_seconds_{stage}"] = round(run.seconds, 1)
        equal += int(same.sum())
        compared += same.size
    totals = {
        "bits_equal_pct": 100.0 * equal / compared,
        **totals,
        "vectors": int(np.asarray(vectors["a"]).size),
        "vdd_v": float(config.vdd_v),  # type: ignore[arg-type]
        "f_clk_mhz": float(config.f_clk_mhz),  # type: ignore[arg-type]
        "t_clk_ps": 1e6 / float(config.f_clk_mhz),  # type: ignore[arg-type]
        "t_sample_ps": runs[0].t_sample_ps,
    }
    return PeSpiceResult(config=config, rows=tuple(rows), totals=totals, runs=tuple(runs))
