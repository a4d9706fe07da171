"""One module per ``vscale`` sub-command, loaded only when its command runs.

:data:`COMMANDS` names every command with the one line ``vscale --help`` shows; the module
``experiments.commands.<name>`` defines ``configure(parser)``, which adds the command's
options to its (already created) parser and sets ``handler``, a function of the parsed
arguments that returns an exit status. Adding a command is adding a module and its line
here.
"""

from __future__ import annotations

__all__ = ["COMMANDS"]

COMMANDS: dict[str, str] = {
    "accuracy": "int8 accuracy (or agreement with the float model) against supply voltage",
    "energy": "energy per layer and per inference vs VDD: breakdown by component with low/high band",
    "latency": "per-layer cycles and utilisation of a topology on one array",
    "optimize": "choose VDD, protected bits per layer and recovery policy of least energy within budgets",
    "pe": "characterize one PE: evaluate vectors, emit Verilog",
    "probs": "per-bit timing-error probability vs VDD (CSV vdd_v,bit,p_err and a heatmap)",
    "run": "the whole study: per-bit error probability (step 1), accuracy with and without protection (step 2), "
    "the protection and voltage optimizer with energy and latency (step 3), and report.md",
    "scalesim": "drop-in for SCALE-Sim: its .cfg and topology in, its three reports out",
    "simulate": "run layers MAC by MAC on the array at one VDD: cycles, corrections, bit flips, output error",
    "size": "what-if array sizing: cycles, utilisation and MAC-cycles vs array shape",
    "slack": "timing-slack histograms per MAC and per bit (PNG and CSV)",
    "sweep": "run a study over a grid of parameters (resumable; process pool or Dask)",
    "tech": "technologies: fit one to a SPICE model card, list the presets, show delay and energy vs VDD",
    "trace": "save the operand trace of one layer (products, partial sums) for vscale probs",
}
"""Command name -> its one-line summary (the module is ``experiments.commands.<name>``)."""
