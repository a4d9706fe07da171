"""The Razor flip-flop's extra energy per data transition, read from the committed compact table
as plain JSON (not through the library reader or the energy model).

Per transition of the bit it holds, Razor flop minus flop: the D edge's energy (mean of rise
and fall), the Q transition's (clock-to-Q arc energy at the library's reference load and slew,
bilinear in the corner's table, less the load's ``0.5 C V**2`` and less the quiet rising clock
edge) and the driver's ``0.5 C_D V**2`` of the larger D pin (docs/energy.md, "Razor flip-flop").
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np

TABLE = Path(str(resources.files("pe_models") / "technology_data")) / "cells" / "ptm-32nm-hp" / "ptm-32nm-hp.cells.json"


def _table() -> dict:
    return json.loads(TABLE.read_text())


def _bilinear(template: dict, values: list[list[float]], slew_ps: float, load_ff: float) -> float:
    along_load = [np.interp(load_ff, template["load_ff"], row) for row in values]
    return float(np.interp(slew_ps, template["slew_ps"], along_load))


def _q_transition_fj(entry: dict, templates: dict, corner: int, vdd: float, load_ff: float, slew_ps: float) -> float:
    energies = []
    for arc in entry["arcs"]:
        table = arc["energy_fj"][corner]
        energies.append(_bilinear(templates[table["template"]], table["values"], slew_ps, load_ff))
    return float(np.mean(energies)) - 0.5 * load_ff * vdd**2 - entry["pin_energy_fj"]["CK rise"][corner]


def razor_transition_extra_fj(vdd: float, load_ff: float, slew_ps: float) -> float:
    """Razor flop minus flop per data transition at a corner of the table (`vdd` one of its
    supplies), with the clock-to-Q arcs read at `load_ff` and `slew_ps`."""
    document = _table()
    corner = document["vdd_v"].index(vdd)
    razor, plain = document["razor_flop"], document["cells"]["dff"]
    templates = document["templates"]

    def d_edge(entry: dict) -> float:
        return 0.5 * (entry["pin_energy_fj"]["D rise"][corner] + entry["pin_energy_fj"]["D fall"][corner])

    q_razor = _q_transition_fj(razor, templates, corner, vdd, load_ff, slew_ps)
    q_plain = _q_transition_fj(plain, templates, corner, vdd, load_ff, slew_ps)
    d_pin = 0.5 * (razor["capacitance_ff"]["D"][corner] - plain["capacitance_ff"]["D"][corner]) * vdd**2
    return d_edge(razor) - d_edge(plain) + q_razor - q_plain + d_pin
