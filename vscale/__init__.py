"""vscale: systolic-array DNN accelerators under supply-voltage scaling, from Python.

The configs, the PE fidelity levels, the array simulator and one function per study,
from one import::

    import vscale

    result = vscale.accuracy(model="tinymnv2", vdd_v=[0.9, 0.55], injection="bitlevel", images=100)
    result.to_csv("accuracy.csv")

Every study takes keyword arguments (or one frozen config), prints nothing, writes no
files and returns a frozen result with ``rows`` (typed dataclasses), ``totals``,
``config``, ``table()``, ``to_csv(path=None)`` and ``to_json(path=None)``. The keywords are
the config's fields, the same name for the same thing in every study (``vdd_v``,
``f_clk_mhz``, ``array``, ``recovery``, ``images``, ...; :mod:`experiments.vocabulary`); a
keyword that is not a field names the nearest one, and a config refuses bad values when it
is built, naming the field. Plots are separate: ``plot_<name>(result) -> matplotlib
Figure``. :data:`STUDIES` lists them all.
"""

from __future__ import annotations

from experiments.results import StudyResult
from experiments.studies import STUDIES, Study, run_study
from experiments.studies.accuracy import AccuracyConfig, AccuracyResult, accuracy, plot_accuracy
from experiments.studies.energy import EnergyConfig, EnergyResult, energy, plot_energy
from experiments.studies.latency import LatencyConfig, LatencyResult, latency
from experiments.studies.optimize import OptimizeConfig, OptimizeResult, optimize
from experiments.studies.probs import ProbsConfig, ProbsResult, plot_probs, probs
from experiments.studies.run import RunConfig, RunResult, plot_run, run
from experiments.studies.scalesim import ScaleSimConfig, ScaleSimResult, scalesim
from experiments.studies.simulate import SimulateConfig, SimulateResult, plot_flips, simulate
from experiments.studies.size import SizeConfig, SizeResult, plot_size, size
from experiments.studies.slack import SlackConfig, SlackResult, plot_slack, slack
from experiments.studies.technology import TechConfig, TechResult, plot_tech, tech
from experiments.studies.trace import ModelLayers, TraceConfig, TraceResult, model_layers, trace
from experiments.sweep import SweepResult, SweepSpec, load_sweep_spec, run_sweep
from experiments.version import __version__
from pe_models.analytic import adder_bit_error_probabilities, carry_statistics, product_bit_error_probabilities
from pe_models.cells import CellLibrary, get_cell_library
from pe_models.chain import evaluate_chain, evaluate_stream
from pe_models.errors import ConfigError
from pe_models.gate import simulate_gate, simulate_gate_fast
from pe_models.operands import OperandStream, load_trace, synthetic_stream
from pe_models.pe import (
    OperatingPoint,
    PEConfig,
    StageTiming,
    critical_path_ps,
    max_error_free_f_clk_mhz,
    slack_ratio,
    stage_timing,
)
from pe_models.slack import slack_analysis
from pe_models.technology import TECHNOLOGIES, Technology, get_technology
from pe_models.variation import ProcessVariation
from pe_models.verilog import run_icarus
from sim.config import ArrayConfig
from sim.engine import ENGINES, GemmResult, simulate_conv, simulate_gemm, simulate_grouped_gemm
from sim.layers import ConvLayer, GemmLayer
from sim.network import simulate_layers
from sim.protection import Protection, ProtectionPlan

__all__ = [
    "ENGINES",
    "STUDIES",
    "TECHNOLOGIES",
    "AccuracyConfig",
    "AccuracyResult",
    "ArrayConfig",
    "CellLibrary",
    "ConfigError",
    "ConvLayer",
    "EnergyConfig",
    "EnergyResult",
    "GemmLayer",
    "GemmResult",
    "LatencyConfig",
    "LatencyResult",
    "ModelLayers",
    "OperandStream",
    "OperatingPoint",
    "OptimizeConfig",
    "OptimizeResult",
    "PEConfig",
    "ProbsConfig",
    "ProbsResult",
    "ProcessVariation",
    "Protection",
    "ProtectionPlan",
    "RunConfig",
    "RunResult",
    "ScaleSimConfig",
    "ScaleSimResult",
    "SimulateConfig",
    "SimulateResult",
    "SizeConfig",
    "SizeResult",
    "SlackConfig",
    "SlackResult",
    "StageTiming",
    "Study",
    "StudyResult",
    "SweepResult",
    "SweepSpec",
    "TechConfig",
    "TechResult",
    "Technology",
    "TraceConfig",
    "TraceResult",
    "__version__",
    "accuracy",
    "adder_bit_error_probabilities",
    "carry_statistics",
    "critical_path_ps",
    "energy",
    "evaluate_chain",
    "evaluate_stream",
    "get_cell_library",
    "get_technology",
    "latency",
    "load_sweep_spec",
    "load_trace",
    "max_error_free_f_clk_mhz",
    "model_layers",
    "optimize",
    "plot_accuracy",
    "plot_energy",
    "plot_flips",
    "plot_probs",
    "plot_run",
    "plot_size",
    "plot_slack",
    "plot_tech",
    "probs",
    "product_bit_error_probabilities",
    "run",
    "run_icarus",
    "run_study",
    "run_sweep",
    "scalesim",
    "simulate",
    "simulate_conv",
    "simulate_gate",
    "simulate_gate_fast",
    "simulate_gemm",
    "simulate_grouped_gemm",
    "simulate_layers",
    "size",
    "slack",
    "slack_analysis",
    "slack_ratio",
    "stage_timing",
    "synthetic_stream",
    "tech",
    "trace",
]
