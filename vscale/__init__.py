"""vscale: systolic-array DNN accelerators under supply-voltage scaling, from Python.

The configs, the PE fidelity levels, the array simulator and one function per study,
from one import::

    import vscale

    result = vscale.accuracy(model="tinymnv2", vdd_v=[0.9, 0.55], injection="bitlevel", images=100)
    result.to_csv("accuracy.csv")

Every study takes keyword arguments (or one frozen config), prints nothing, writes no
files and returns a frozen result with ``rows`` (typed dataclasses), ``totals``,
``config``, ``table()``, ``to_csv(path=None)`` and ``to_json(path=None)``. Plots are
separate: ``plot_<name>(result) -> matplotlib Figure``. :data:`STUDIES` lists them all.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from experiments.results import StudyResult
from experiments.studies import STUDIES, Study, run_study
from pe_models.analytic import adder_bit_error_probabilities, carry_statistics, product_bit_error_probabilities
from pe_models.cells import CellLibrary, get_cell_library
from pe_models.chain import evaluate_chain, evaluate_stream
from pe_models.errors import ConfigError
from pe_models.gate import simulate_gate, simulate_gate_fast
from pe_models.operands import OperandStream, load_trace, synthetic_stream
from pe_models.pe import OperatingPoint, PEConfig, StageTiming, stage_timing
from pe_models.technology import TECHNOLOGIES, Technology, get_technology
from pe_models.variation import ProcessVariation
from pe_models.verilog import run_icarus
from sim.config import ArrayConfig
from sim.engine import ENGINES, GemmResult, simulate_conv, simulate_gemm, simulate_grouped_gemm
from sim.layers import ConvLayer, GemmLayer
from sim.protection import Protection

try:
    __version__ = version("vscale")
except PackageNotFoundError:
    __version__ = "0+unknown"

__all__ = [
    "ENGINES",
    "STUDIES",
    "TECHNOLOGIES",
    "ArrayConfig",
    "CellLibrary",
    "ConfigError",
    "ConvLayer",
    "GemmLayer",
    "GemmResult",
    "OperandStream",
    "OperatingPoint",
    "PEConfig",
    "ProcessVariation",
    "Protection",
    "StageTiming",
    "Study",
    "StudyResult",
    "Technology",
    "__version__",
    "adder_bit_error_probabilities",
    "carry_statistics",
    "evaluate_chain",
    "evaluate_stream",
    "get_cell_library",
    "get_technology",
    "load_trace",
    "product_bit_error_probabilities",
    "run_icarus",
    "run_study",
    "simulate_conv",
    "simulate_gate",
    "simulate_gate_fast",
    "simulate_gemm",
    "simulate_grouped_gemm",
    "stage_timing",
    "synthetic_stream",
]
