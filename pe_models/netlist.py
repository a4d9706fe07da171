"""Gate-level netlists of the PE: Baugh-Wooley multiplier and accumulator adders.

A :class:`Netlist` is a list of cells in topological order over integer nets. Net 0 is
constant 0 and net 1 constant 1. The same netlist is simulated by :mod:`pe_models.gate`
and written as structural Verilog by :mod:`pe_models.verilog`, so both see exactly one
circuit.

Constant folding: a cell whose output is the same for every value of its non-constant
inputs is replaced by that constant (it could never switch). Cells with some tied
inputs otherwise stay cells with their full delay (bit 0 of a ripple-carry adder is a
full adder with carry-in tied to 0).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pe_models.cells import CELL_FUNCTIONS, CELL_PINS, CellLibrary
from pe_models.errors import ConfigError

__all__ = [
    "ADDERS",
    "PIPELINES",
    "PRODUCT_BITS",
    "Cell",
    "Netlist",
    "add_hold_buffers",
    "adder_stage",
    "cell_output",
    "check_pe_build",
    "fused_pe",
    "multiplier_stage",
    "pe_stages",
]

ADDERS: tuple[str, ...] = ("rca", "ks")
"""Accumulator adders: ripple-carry and Kogge-Stone."""

PIPELINES: tuple[str, ...] = ("registered", "fused")

CONST0 = 0
CONST1 = 1
PRODUCT_BITS = 16
"""Bits of the product register (the registered multiplier stage's ``product`` output)."""
OPERAND_BITS = 8


def cell_output(kind: str, inputs: Sequence[int]) -> int:
    """Logic value (0 or 1) of a cell of type `kind` for input bits `inputs`."""
    if kind == "xor2":
        return inputs[0] ^ inputs[1]
    if kind == "and2":
        return inputs[0] & inputs[1]
    if kind == "or2":
        return inputs[0] | inputs[1]
    if kind == "nand2":
        return 1 - (inputs[0] & inputs[1])
    if kind == "xor3":
        return inputs[0] ^ inputs[1] ^ inputs[2]
    if kind == "maj3":
        a, b, c = inputs
        return (a & b) | (a & c) | (b & c)
    if kind == "ao21":
        return (inputs[0] & inputs[1]) | inputs[2]
    if kind == "buf":
        return inputs[0]
    raise ValueError(f"unknown cell type {kind!r}")


@dataclass(frozen=True)
class Cell:
    """One logic cell: its type, input nets and output net.

    ``inputs[k]`` drives the pin ``pins[k]`` (:data:`pe_models.cells.CELL_PINS`), so a
    library's arc ``(kind, pin, edge)`` maps onto this instance's k-th input.
    """

    kind: str
    inputs: tuple[int, ...]
    output: int

    @property
    def pins(self) -> tuple[str, ...]:
        """Input pin names, one per entry of ``inputs``."""
        return CELL_PINS[self.kind]


class Netlist:
    """A combinational netlist in topological order.

    Parameters
    ----------
    name : str
        Module name (a Verilog identifier).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.net_names: list[str] = ["const0", "const1"]
        self.cells: list[Cell] = []
        self.inputs: dict[str, list[int]] = {}
        self.outputs: dict[str, list[int]] = {}
        self.taps: dict[str, list[int]] = {}

    @property
    def n_nets(self) -> int:
        return len(self.net_names)

    def _new_net(self, name: str) -> int:
        self.net_names.append(name)
        return len(self.net_names) - 1

    def add_input(self, name: str, width: int) -> list[int]:
        """Declare an input bus of `width` bits (LSB first) and return its nets."""
        nets = [self._new_net(f"{name}[{i}]") for i in range(width)]
        self.inputs[name] = nets
        return nets

    def set_output(self, name: str, nets: Sequence[int]) -> None:
        """Declare an output bus (LSB first)."""
        self.outputs[name] = list(nets)

    def tap(self, name: str, nets: Sequence[int]) -> None:
        """Name an internal bus (for example the product inside a fused MAC)."""
        self.taps[name] = list(nets)

    def gate(self, kind: str, *inputs: int, name: str) -> int:
        """Add a cell (or fold it to a constant) and return its output net."""
        if len(inputs) != CELL_FUNCTIONS[kind]:
            raise ValueError(f"{kind} takes {CELL_FUNCTIONS[kind]} inputs")
        variable = [i for i, net in enumerate(inputs) if net > CONST1]
        values = set()
        for assignment in itertools.product((0, 1), repeat=len(variable)):
            bits = list(inputs)
            for position, value in zip(variable, assignment, strict=True):
                bits[position] = value
            values.add(cell_output(kind, bits))
        if len(values) == 1:
            return CONST1 if values.pop() else CONST0
        output = self._new_net(name)
        self.cells.append(Cell(kind, tuple(inputs), output))
        return output

    def fanout(self) -> list[list[tuple[int, int]]]:
        """Per net, the (cell index, pin index) of every cell input it drives."""
        fanout: list[list[tuple[int, int]]] = [[] for _ in range(self.n_nets)]
        for index, cell in enumerate(self.cells):
            for pin, net in enumerate(cell.inputs):
                fanout[net].append((index, pin))
        return fanout

    def output_pin_counts(self) -> list[int]:
        """Per net, how many output bus bits it drives (each one a flip-flop D pin)."""
        counts = [0] * self.n_nets
        for nets in self.outputs.values():
            for net in nets:
                counts[net] += 1
        return counts

    def cell_counts(self) -> dict[str, int]:
        """Number of cells of each type."""
        counts: dict[str, int] = {}
        for cell in self.cells:
            counts[cell.kind] = counts.get(cell.kind, 0) + 1
        return counts

    def static_arrival_lanes_fs(self, delays_fs: dict[str, np.ndarray], output: str) -> np.ndarray:
        """Static arrival of each bit of `output` for many delay sets at once.

        Parameters
        ----------
        delays_fs : dict of str to ndarray
            Per cell type, an int64 array of shape (n,) of delays in fs (one per lane).
        output : str
            Output bus name.

        Returns
        -------
        ndarray, int64, shape (n, width)
            Longest-path arrival in fs; -1 for constant bits.
        """
        n = next(iter(delays_fs.values())).shape[0]
        arrival: list[np.ndarray | None] = [None] * self.n_nets
        for nets in self.inputs.values():
            for net in nets:
                arrival[net] = np.zeros(n, dtype=np.int64)
        for cell in self.cells:
            sources = [source for source in (arrival[i] for i in cell.inputs) if source is not None]
            if sources:
                arrival[cell.output] = np.maximum.reduce(sources) + delays_fs[cell.kind]
        missing = np.full(n, -1, dtype=np.int64)
        columns = [settled if (settled := arrival[net]) is not None else missing for net in self.outputs[output]]
        return np.stack(columns, axis=1)

    def static_arrival_fs(self, delays_fs: dict[str, int]) -> list[int]:
        """Latest possible transition time of every net (static timing analysis).

        Primary inputs switch at 0; constants never switch (-1).
        """
        arrival = [-1] * self.n_nets
        for nets in self.inputs.values():
            for net in nets:
                arrival[net] = 0
        for cell in self.cells:
            latest = max(arrival[i] for i in cell.inputs)
            arrival[cell.output] = latest + delays_fs[cell.kind] if latest >= 0 else -1
        return arrival


def _full_adder(netlist: Netlist, a: int, b: int, carry_in: int, library: CellLibrary, tag: str) -> tuple[int, int]:
    if library.name == "compound":
        total = netlist.gate("xor3", a, b, carry_in, name=f"{tag}_s")
        carry = netlist.gate("maj3", a, b, carry_in, name=f"{tag}_co")
        return total, carry
    propagate = netlist.gate("xor2", a, b, name=f"{tag}_p")
    total = netlist.gate("xor2", propagate, carry_in, name=f"{tag}_s")
    generate = netlist.gate("and2", a, b, name=f"{tag}_g")
    transfer = netlist.gate("and2", propagate, carry_in, name=f"{tag}_t")
    carry = netlist.gate("or2", generate, transfer, name=f"{tag}_co")
    return total, carry


def _ripple_carry(netlist: Netlist, a: Sequence[int], b: Sequence[int], library: CellLibrary, tag: str) -> list[int]:
    carry = CONST0
    sums = []
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        total, carry = _full_adder(netlist, x, y, carry, library, f"{tag}{i}")
        sums.append(total)
    return sums


def _kogge_stone(netlist: Netlist, a: Sequence[int], b: Sequence[int], library: CellLibrary, tag: str) -> list[int]:
    width = len(a)
    propagate = [netlist.gate("xor2", x, y, name=f"{tag}_p{i}") for i, (x, y) in enumerate(zip(a, b, strict=True))]
    generate = [netlist.gate("and2", x, y, name=f"{tag}_g{i}") for i, (x, y) in enumerate(zip(a, b, strict=True))]
    group_g, group_p = list(generate), list(propagate)
    span, level = 1, 1
    while span < width:
        next_g, next_p = list(group_g), list(group_p)
        for i in range(span, width):
            if library.name == "compound":
                next_g[i] = netlist.gate("ao21", group_p[i], group_g[i - span], group_g[i], name=f"{tag}_G{level}_{i}")
            else:
                through = netlist.gate("and2", group_p[i], group_g[i - span], name=f"{tag}_T{level}_{i}")
                next_g[i] = netlist.gate("or2", group_g[i], through, name=f"{tag}_G{level}_{i}")
            if i >= 2 * span and 2 * span < width:
                next_p[i] = netlist.gate("and2", group_p[i], group_p[i - span], name=f"{tag}_P{level}_{i}")
        group_g, group_p = next_g, next_p
        span *= 2
        level += 1
    carries = [CONST0, *group_g[:-1]]
    return [netlist.gate("xor2", propagate[i], carries[i], name=f"{tag}_s{i}") for i in range(width)]


def _add(netlist: Netlist, a: Sequence[int], b: Sequence[int], library: CellLibrary, adder: str, tag: str) -> list[int]:
    if adder == "rca":
        return _ripple_carry(netlist, a, b, library, tag)
    return _kogge_stone(netlist, a, b, library, tag)


def _baugh_wooley(netlist: Netlist, a: Sequence[int], b: Sequence[int], library: CellLibrary) -> list[int]:
    """Signed 8x8 Baugh-Wooley carry-save array with a ripple-carry vector-merging adder.

    Partial products ``a_i b_j`` (AND2), with the sign row and column ``~(a_i b_7)``,
    ``~(a_7 b_j)`` (NAND2) and ``a_7 b_7`` (AND2); the constants 2^8 and 2^15 enter as
    tied carry inputs of the first row. Row j (1..7) adds partial-product row j to the
    previous row's sum and carry vectors with full adders; a position with only one
    non-constant input (the others 0) is a wire.
    """
    n = OPERAND_BITS
    top = n - 1

    def partial(i: int, j: int) -> int:
        kind = "nand2" if (i == top) != (j == top) else "and2"
        return netlist.gate(kind, a[i], b[j], name=f"pp{i}_{j}")

    sums = [CONST0] * PRODUCT_BITS
    carries = [CONST0] * PRODUCT_BITS
    for i in range(n):
        sums[i] = partial(i, 0)
    carries[n] = CONST1
    carries[PRODUCT_BITS - 1] = CONST1
    for j in range(1, n):
        row = [CONST0] * PRODUCT_BITS
        for i in range(n):
            row[i + j] = partial(i, j)
        next_sums = [CONST0] * PRODUCT_BITS
        next_carries = [CONST0] * PRODUCT_BITS
        for position in range(PRODUCT_BITS):
            x, y, z = sums[position], row[position], carries[position]
            nonconstant = [net for net in (x, y, z) if net > CONST1]
            ones = sum(net == CONST1 for net in (x, y, z))
            if len(nonconstant) == 1 and ones == 0:
                next_sums[position] = nonconstant[0]
                continue
            if not nonconstant:
                total = ones
                next_sums[position] = CONST1 if total % 2 else CONST0
                if position + 1 < PRODUCT_BITS:
                    next_carries[position + 1] = CONST1 if total >= 2 else CONST0
                continue
            total, carry = _full_adder(netlist, x, y, z, library, f"r{j}c{position}")
            next_sums[position] = total
            if position + 1 < PRODUCT_BITS:
                next_carries[position + 1] = carry
        sums, carries = next_sums, next_carries
    return _ripple_carry(netlist, sums, carries, library, "vm")


def check_pe_build(*, adder: str, width: int, pipeline: str = "registered") -> None:
    """Raise ConfigError unless the adder, accumulator width and pipeline can be built."""
    if adder not in ADDERS:
        raise ConfigError(f"adder: unknown adder {adder!r}; allowed: {', '.join(ADDERS)}")
    if not isinstance(width, int) or isinstance(width, bool) or not PRODUCT_BITS <= width <= 62:
        raise ConfigError(f"width: expected an integer number of bits in 16..62, got {width!r}")
    if pipeline not in PIPELINES:
        raise ConfigError(f"pipeline: unknown pipeline {pipeline!r}; allowed: {', '.join(PIPELINES)}")


def multiplier_stage(library: CellLibrary) -> Netlist:
    """Registered pipeline, stage 1: inputs ``a``, ``b`` (8 bits) -> ``product`` (16 bits)."""
    netlist = Netlist(f"mul_{library.name}")
    a = netlist.add_input("a", OPERAND_BITS)
    b = netlist.add_input("b", OPERAND_BITS)
    netlist.set_output("product", _baugh_wooley(netlist, a, b, library))
    return netlist


def adder_stage(library: CellLibrary, *, adder: str = "rca", width: int = 32) -> Netlist:
    """Registered pipeline, stage 2: ``product`` (16 bits, sign-extended) + ``c`` -> ``sum``."""
    check_pe_build(adder=adder, width=width)
    netlist = Netlist(f"acc_{adder}{width}_{library.name}")
    product = netlist.add_input("product", PRODUCT_BITS)
    partial_sum = netlist.add_input("c", width)
    extended = product + [product[-1]] * (width - PRODUCT_BITS)
    netlist.set_output("sum", _add(netlist, partial_sum, extended, library, adder, "acc"))
    return netlist


def fused_pe(library: CellLibrary, *, adder: str = "rca", width: int = 32) -> Netlist:
    """Fused pipeline: ``a * b + c`` in one combinational stage -> ``sum``."""
    check_pe_build(adder=adder, width=width)
    netlist = Netlist(f"mac_{adder}{width}_{library.name}")
    a = netlist.add_input("a", OPERAND_BITS)
    b = netlist.add_input("b", OPERAND_BITS)
    partial_sum = netlist.add_input("c", width)
    product = _baugh_wooley(netlist, a, b, library)
    netlist.tap("product", product)
    extended = product + [product[-1]] * (width - PRODUCT_BITS)
    netlist.set_output("sum", _add(netlist, partial_sum, extended, library, adder, "acc"))
    return netlist


def add_hold_buffers(netlist: Netlist, output: str, counts: Sequence[int]) -> None:
    """Put a chain of ``counts[i]`` BUF cells between bit i of `output` and its flip-flop.

    The chain's last buffer drives the output bit (the flip-flop and, for a Razor bit, its
    shadow latch); the net that drove the bit before now drives only the first buffer, so
    no other path of the netlist changes. Constant bits get none.

    Parameters
    ----------
    netlist : Netlist
        Changed in place (the buffers are appended: the cells stay in topological order).
    output : str
        Output bus name.
    counts : sequence of int
        Buffers per bit of the bus (index 0 = LSB), each >= 0.
    """
    nets = netlist.outputs[output]
    if len(counts) != len(nets):
        raise ValueError(f"hold buffers: expected {len(nets)} counts, got {len(counts)}")
    buffered = list(nets)
    for bit, (net, count) in enumerate(zip(nets, counts, strict=True)):
        if net <= CONST1:
            continue
        for index in range(int(count)):
            net = netlist.gate("buf", net, name=f"{output}_hold{bit}_{index}")
        buffered[bit] = net
    netlist.set_output(output, buffered)


def pe_stages(
    library: CellLibrary,
    *,
    pipeline: str = "registered",
    adder: str = "rca",
    width: int = 32,
    hold_buffers: Sequence[int] = (),
    product_hold_buffers: Sequence[int] = (),
) -> dict[str, Netlist]:
    """The timed stages of a PE: ``{"multiplier", "adder"}`` or ``{"mac"}``.

    ``hold_buffers`` (one count per accumulator bit, or empty): BUF chains between the
    accumulator stage's ``sum`` bits and their flip-flops (:func:`add_hold_buffers`).
    ``product_hold_buffers`` (one count per product bit, or empty; registered pipeline):
    BUF chains between the multiplier stage's ``product`` bits and the product register.
    """
    check_pe_build(adder=adder, width=width, pipeline=pipeline)
    if pipeline == "registered":
        stages = {
            "multiplier": multiplier_stage(library),
            "adder": adder_stage(library, adder=adder, width=width),
        }
    else:
        stages = {"mac": fused_pe(library, adder=adder, width=width)}
    if any(hold_buffers):
        stage = stages["adder" if pipeline == "registered" else "mac"]
        add_hold_buffers(stage, "sum", hold_buffers)
        stage.name = f"{stage.name}_hold"
    if any(product_hold_buffers):
        if pipeline != "registered":
            raise ConfigError("product_hold_buffers: the fused pipeline has no product register; allowed: none")
        add_hold_buffers(stages["multiplier"], "product", product_hold_buffers)
        stages["multiplier"].name = f"{stages['multiplier'].name}_hold"
    return stages
