"""The main study: step 1 (per-bit error probability against VDD), then step 2 (accuracy against VDD).

Step 2 runs the bundled int8 MobileNetV2-style MNIST model (``tinymnv2``) with every MAC
through the chain-level PE in array order (``bitlevel`` injection) on a 256x256
weight-stationary array, unprotected and with the protected bits of ``protect``
(``auto``: every bit with a non-zero error probability at the lowest VDD of step 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from experiments.results import StudyResult
from pe_models.errors import ConfigError
from sim.protection import format_bit_mask, parse_bit_mask
from workloads.engine import CalibrationConfig

from . import Study
from .accuracy import AccuracyConfig, accuracy_points, prepare_model
from .common import Progress, as_config, no_progress
from .probs import ProbsConfig, ProbsResult, probs

__all__ = ["RunConfig", "RunResult", "Step2Row", "plot_run", "run"]

STEP2_ARRAY = "256x256"
STEP2_MODEL = "tinymnv2"


@dataclass(frozen=True, kw_only=True)
class RunConfig(ProbsConfig):
    """Step 1 (the :class:`~experiments.studies.probs.ProbsConfig` fields) and step 2.

    Attributes
    ----------
    images : int
        MNIST test images for step 2, 1..1000.
    protect : str
        ``auto``, ``none`` or bit ranges such as ``31:20``.
    skip_step2 : bool
        Run step 1 only.
    """

    images: int = 1000
    protect: str = "auto"
    skip_step2: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        ok = isinstance(self.images, int) and not isinstance(self.images, bool)
        if not ok or not 1 <= self.images <= 1000:
            raise ConfigError(f"images: expected 1..1000 MNIST test images, got {self.images}")
        if self.protect != "auto":
            parse_bit_mask(self.protect, width=self.width, option="protect")

    def step1(self) -> ProbsConfig:
        """The step-1 part of this config."""
        names = [f for f in ProbsConfig.__dataclass_fields__.values() if f.init]
        return ProbsConfig(**{f.name: getattr(self, f.name) for f in names})


@dataclass(frozen=True, kw_only=True)
class Step2Row:
    """Accuracy of tinymnv2 at one voltage with one set of protected bits.

    Attributes
    ----------
    vdd_v : float
    protected_bits : str
        Protected accumulator bits (``none`` or ranges ``HIGH:LOW``).
    images : int
    top1_pct : float
        Top-1 accuracy in %.
    accuracy_loss_pct : float or None
        Top-1 at the first (highest) VDD minus top-1 here, in percentage points (None
        when the first VDD is not the highest).
    unprotected_errors : int
        Wrong accumulator bits latched at unprotected positions.
    detections : int
        Corrected MACs.
    latency_overhead_pct : float or None
        Correction cycles / compute cycles in %.
    """

    vdd_v: float
    protected_bits: str
    images: int
    top1_pct: float
    accuracy_loss_pct: float | None
    unprotected_errors: int
    detections: int
    latency_overhead_pct: float | None


@dataclass(frozen=True, kw_only=True)
class RunResult(StudyResult[Step2Row, RunConfig]):
    """Step-2 rows (empty with ``skip_step2``); ``step1`` holds the probabilities.

    Attributes
    ----------
    step1 : ProbsResult
    protect_mask : int
        Protected bits of the protected step-2 curve.
    curves : dict of str to list of float
        Top-1 per voltage for each set of protected bits.
    """

    row_type = Step2Row

    step1: ProbsResult = field(compare=False)
    protect_mask: int
    curves: dict[str, list[float]] = field(compare=False)


def run(config: RunConfig | None = None, /, *, progress: Progress = no_progress, **fields: Any) -> RunResult:
    """Step 1, then (unless ``skip_step2``) step 2 unprotected and protected."""
    config = as_config(RunConfig, config, fields)
    step1 = probs(config.step1(), progress=progress)
    if config.protect == "auto":
        failing = np.nonzero(step1.adder[int(np.argmin(step1.vdd_v))] > 0)[0]
        protect_mask = sum(1 << int(bit) for bit in failing)
    else:
        protect_mask = parse_bit_mask(config.protect, width=config.width, option="protect")
    if config.skip_step2:
        return RunResult(config=config, rows=(), step1=step1, protect_mask=protect_mask, curves={})
    vdds = [float(v) for v in step1.vdd_v]
    options = AccuracyConfig(
        cells=config.cells,
        cell_delays_ps=config.cell_delays_ps,
        adder=config.adder,
        pipeline=config.pipeline,
        width=config.width,
        technology=config.technology,
        vdd_v=tuple(vdds),
        f_clk_mhz=config.f_clk_mhz,
        injection="bitlevel",
        array=STEP2_ARRAY,
        penalty_cycles=1,
    ).backend_options()
    prepared = prepare_model(
        STEP2_MODEL, images=config.images, labels=None, seed=config.seed, calibration=CalibrationConfig()
    )
    rows: list[Step2Row] = []
    curves: dict[str, list[float]] = {}
    for mask in dict.fromkeys((0, protect_mask)):
        points, _ = accuracy_points(
            prepared,
            injection="bitlevel",
            vdds=vdds,
            protect_mask=mask,
            seed=config.seed,
            options=options,
            label=f"step 2, protected {format_bit_mask(mask)}",
            progress=progress,
        )
        first_top1 = points[0].top1_pct if vdds[0] == max(vdds) else None
        curves[format_bit_mask(mask)] = [point.top1_pct for point in points]
        rows.extend(
            Step2Row(
                vdd_v=point.vdd_v,
                protected_bits=format_bit_mask(mask),
                images=point.images,
                top1_pct=point.top1_pct,
                accuracy_loss_pct=None if first_top1 is None else first_top1 - point.top1_pct,
                unprotected_errors=point.unprotected_errors,
                detections=point.detections,
                latency_overhead_pct=point.latency_overhead_pct,
            )
            for point in points
        )
    totals = {
        "model": STEP2_MODEL,
        "images": config.images,
        "injection": "bitlevel",
        "array": f"{STEP2_ARRAY} ws",
        "penalty_cycles": 1,
        "stall": "global",
        "protected_bits": format_bit_mask(protect_mask),
        "float_top1_pct": prepared.float_accuracy,
    }
    return RunResult(
        config=config, rows=tuple(rows), totals=totals, step1=step1, protect_mask=protect_mask, curves=curves
    )


def plot_run(result: RunResult) -> Any:
    """Step-2 top-1 against VDD, one curve per set of protected bits, and the float top-1."""
    from experiments.output import subplots

    vdds = [float(v) for v in result.step1.vdd_v]
    figure, axes = subplots(figsize=(6, 4))
    for label, values in result.curves.items():
        axes.plot(vdds, values, "o-", label=f"int8, protected {label}")
    axes.axhline(result.totals["float_top1_pct"], color="grey", linestyle=":", label="float")
    axes.set_xlabel("VDD (V)")
    axes.set_ylabel("top-1 accuracy (%)")
    axes.set_title(
        f"{STEP2_MODEL} on {result.config.images} MNIST test images, {result.config.f_clk_mhz:g} MHz, bitlevel"
    )
    axes.set_ylim(0, 101)
    axes.invert_xaxis()
    axes.grid(True, alpha=0.3)
    axes.legend()
    return figure


STUDY = Study(
    name="run",
    config_type=RunConfig,
    function=run,
    summary="the main study: step 1 then accuracy vs VDD with and without protection (step 2)",
)
