"""Structural Verilog emission and bit-exact agreement of Icarus Verilog with simulate_gate."""

from __future__ import annotations

import os
import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from pe_models.arcs import instance_arcs
from pe_models.cells import CELL_LIBRARIES, CELL_PINS
from pe_models.errors import ConfigError
from pe_models.gate import GateResult, evaluate_logic, simulate_gate
from pe_models.netlist import Netlist, pe_stages
from pe_models.verilog import (
    IcarusError,
    IcarusResult,
    cell_library_verilog,
    netlist_verilog,
    run_icarus,
    run_icarus_detailed,
    settle_bound_fs,
    write_verilog_bundle,
)
from pe_models.verilog import (
    testbench_verilog as make_testbench,
)
from tests.pe_models.synthetic_delays import LinearDelays, asymmetric_intrinsics

requires_icarus = pytest.mark.icarus

ENTROPY = 0x5C41E_0F_1CA2
STAGES = (
    ("2in", "registered", "rca", "multiplier"),
    ("2in", "registered", "rca", "adder"),
    ("2in", "fused", "rca", "mac"),
    ("compound", "registered", "rca", "multiplier"),
    ("compound", "registered", "rca", "adder"),
    ("compound", "fused", "rca", "mac"),
    ("2in", "registered", "ks", "adder"),
    ("compound", "registered", "ks", "adder"),
    ("compound", "fused", "ks", "mac"),
)
DELAYS = ("x1", "x2.2", "x3.1", "per-cell")
ASYMMETRIC = ("asym-x1", "asym-x2.2", "asym-x3.1")
LATE_FRACTION = 0.4
PROBE_VECTORS = 64


@cache
def stage_netlist(library: str, pipeline: str, adder: str, stage: str) -> Netlist:
    return pe_stages(CELL_LIBRARIES[library], pipeline=pipeline, adder=adder)[stage]


def nominal_fs(library: str, scale: float) -> dict[str, int]:
    return {cell: round(ps * scale * 1000) for cell, ps in CELL_LIBRARIES[library].delays_ps.items()}


def cell_delays(netlist: Netlist, library: str, variant: str, rng: np.random.Generator) -> dict[str, int] | list[int]:
    if variant != "per-cell":
        return nominal_fs(library, float(variant[1:]))
    base = nominal_fs(library, 1.0)
    factors = rng.uniform(0.8, 1.25, len(netlist.cells))
    return [max(1, round(base[cell.kind] * f)) for cell, f in zip(netlist.cells, factors, strict=True)]


def wrap(values: np.ndarray, width: int) -> np.ndarray:
    """Two's complement wrap of int64 values to `width` bits (signed)."""
    values = np.asarray(values, dtype=np.int64)
    half = np.int64(1) << np.int64(width - 1)
    return ((values + half) & ((half << np.int64(1)) - np.int64(1))) - half


def random_stream(netlist: Netlist, n: int, rng: np.random.Generator) -> tuple[dict, dict]:
    """n random vectors as a stream: vector v+1 starts from vector v's new inputs.

    Half the partial sums ``c`` are small (|c| < 2^14), so the sum crosses zero often.
    """
    states = {}
    for name, nets in netlist.inputs.items():
        width = len(nets)
        values = rng.integers(-(1 << (width - 1)), 1 << (width - 1), n + 1, dtype=np.int64)
        if name == "c":
            small = rng.random(n + 1) < 0.5
            values[small] = rng.integers(-(1 << 14), 1 << 14, int(small.sum()), dtype=np.int64)
        states[name] = values
    return {k: v[:-1] for k, v in states.items()}, {k: v[1:] for k, v in states.items()}


def extremes(width: int) -> list[int]:
    top = (1 << (width - 1)) - 1
    alternating = int("01" * (width // 2), 2)
    low_half = (1 << (width // 2)) - 1
    return [
        int(x)
        for x in wrap(
            np.array([0, 1, -1, 2, -2, top, -top - 1, top - 1, -top, alternating, ~alternating, low_half, ~low_half]),
            width,
        )
    ]


def targeted_vectors(netlist: Netlist, n: int, rng: np.random.Generator) -> tuple[dict, dict]:
    """n old/new pairs: named corner cases, then random mixes of extreme values and sum sign crossings."""
    names = list(netlist.inputs)
    widths = {name: len(nets) for name, nets in netlist.inputs.items()}
    pairs: list[tuple[dict, dict]] = []
    if names == ["product", "c"]:
        pairs += [
            ({"product": 0, "c": -1}, {"product": 0, "c": 1}),
            ({"product": 0, "c": -1}, {"product": 1, "c": 0}),
            ({"product": 0, "c": 0}, {"product": 1, "c": 0x7FFFFFFF}),
            ({"product": 0, "c": 0x7FFFFFFF}, {"product": 1, "c": 0x7FFFFFFF}),
            ({"product": 0, "c": 0}, {"product": 1, "c": -1}),
            ({"product": -1, "c": 0}, {"product": 1, "c": -1}),
            ({"product": 5, "c": 100}, {"product": -5, "c": 100}),
            ({"product": -32768, "c": 32767}, {"product": 32767, "c": -32768}),
            ({"product": 1, "c": -2}, {"product": 1, "c": 0}),
            ({"product": -1, "c": 0}, {"product": -1, "c": -0x80000000}),
        ]
    elif names == ["a", "b"]:
        pairs += [
            ({"a": 1, "b": 1}, {"a": -1, "b": 1}),
            ({"a": 127, "b": 127}, {"a": -128, "b": 127}),
            ({"a": -128, "b": -128}, {"a": 127, "b": -128}),
            ({"a": 0, "b": 0}, {"a": -1, "b": -1}),
            ({"a": -1, "b": 1}, {"a": 1, "b": 1}),
            ({"a": -128, "b": 1}, {"a": -128, "b": -1}),
            ({"a": 85, "b": -86}, {"a": -86, "b": 85}),
        ]
    else:
        pairs += [
            ({"a": 0, "b": 0, "c": -1}, {"a": 0, "b": 0, "c": 1}),
            ({"a": 0, "b": 0, "c": -1}, {"a": 1, "b": 1, "c": 0}),
            ({"a": 0, "b": 0, "c": 0x7FFFFFFF}, {"a": 1, "b": 1, "c": 0x7FFFFFFF}),
            ({"a": 1, "b": 1, "c": -1}, {"a": -1, "b": 1, "c": 1}),
            ({"a": 5, "b": 3, "c": -15}, {"a": -5, "b": 3, "c": 16}),
            ({"a": 127, "b": 127, "c": -16129}, {"a": -128, "b": 127, "c": 16257}),
            ({"a": -128, "b": -128, "c": -16385}, {"a": -128, "b": 127, "c": 16255}),
            ({"a": 0, "b": 0, "c": 0}, {"a": -1, "b": 1, "c": 0}),
        ]
    values = {name: extremes(width) for name, width in widths.items()}
    while len(pairs) < n:
        old = {name: int(rng.choice(values[name])) for name in names}
        new = {name: int(rng.choice(values[name])) for name in names}
        kind = rng.integers(3)
        if kind == 1 and "a" in new:
            new = {**old, "a": -old["a"]}
        elif kind == 2 and "c" in new:
            product = new["a"] * new["b"] if "a" in new else new["product"]
            new["c"] = -product + int(rng.integers(-1, 2))
            old["c"] = -(old["a"] * old["b"] if "a" in old else old["product"]) - int(rng.integers(-1, 2))
        pairs.append((old, new))
    pairs = pairs[:n]
    old_inputs = {name: wrap(np.array([p[0][name] for p in pairs]), widths[name]) for name in names}
    new_inputs = {name: wrap(np.array([p[1][name] for p in pairs]), widths[name]) for name in names}
    return old_inputs, new_inputs


def concat(*parts: dict) -> dict:
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def pick_sample_fs(netlist: Netlist, delays, old: dict, new: dict, launch: np.ndarray | None = None) -> int:
    """An actual transition time of the probe vectors after which ~40 % of them still switch."""
    probe = simulate_gate(
        netlist,
        {k: v[:PROBE_VECTORS] for k, v in old.items()},
        {k: v[:PROBE_VECTORS] for k, v in new.items()},
        delays_fs=delays,
        t_sample_fs=0,
        launch_fs=launch,
    )
    candidates = np.unique(probe.settle_fs)[:-1]
    late = (probe.settle_fs[None, :] > candidates[:, None]).mean(axis=1)
    return int(candidates[np.argmin(np.abs(late - LATE_FRACTION))])


def compare(gate: GateResult, verilog: IcarusResult, netlist: Netlist, old: dict, new: dict, t_sample: int) -> dict:
    """Assert bit-exact agreement and that the vectors exercise late and glitch values."""
    bus = list(netlist.outputs)[-1]
    n = len(gate.latched)
    mismatch = np.flatnonzero(verilog.latched != gate.latched)
    detail = [(int(v), hex(int(gate.latched[v])), hex(int(verilog.latched[v]))) for v in mismatch[:5]]
    assert mismatch.size == 0, f"{netlist.name}: {mismatch.size}/{n} mismatches (vector, gate, icarus): {detail}"
    np.testing.assert_array_equal(verilog.correct, gate.correct)
    np.testing.assert_array_equal(gate.correct, evaluate_logic(netlist, new)[bus])
    np.testing.assert_array_equal(verilog.bit_settle_fs, gate.bit_settle_fs)
    before = evaluate_logic(netlist, old)[bus]
    wrong = gate.latched != gate.correct
    glitch_bits = (gate.latched ^ gate.correct) & ~(before ^ gate.correct)
    stats = {
        "n": n,
        "wrong": int(wrong.sum()),
        "glitch_vectors": int((glitch_bits != 0).sum()),
        "neither_old_nor_new": int((wrong & (gate.latched != before)).sum()),
        "edge_at_sample": int((gate.bit_settle_fs == t_sample).any(axis=1).sum()),
    }
    assert stats["wrong"] >= 0.15 * n, f"{netlist.name}: too few late vectors {stats}"
    assert stats["glitch_vectors"] >= max(1, 0.01 * n), f"{netlist.name}: too few glitch values {stats}"
    assert stats["edge_at_sample"] >= 1, f"{netlist.name}: no transition at exactly t_sample {stats}"
    return stats


def asymmetric_arcs(netlist: Netlist, library: str, variant: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-instance arcs and input launch times of `netlist` from a synthetic source with per-pin,
    per-edge intrinsic delays (rise 1.3x fall, pin-dependent or random per cell type), load and slew
    dependence and a clock-to-Q that depends on the edge and the load, scaled by the variant's factor
    (``asym-x2.2``)."""
    scale = float(variant.removeprefix("asym-x"))
    source = LinearDelays(
        intrinsic_ps=asymmetric_intrinsics(library, ASYMMETRIC.index(variant)),
        pin_ff={(cell, pin): 0.6 + 0.3 * k for cell, pins in CELL_PINS.items() for k, pin in enumerate(pins)},
        ps_per_ff=1.7,
        slew_factor=0.15,
        wire_ff=0.2,
        d_pin_ff=1.1,
        q_slew_ps=(6.0, 8.5),
        clk_to_q=(9.0, 7.5),
        scale=scale,
    )
    arcs = instance_arcs(netlist, source)
    return arcs.rounded_fs(), arcs.launch_fs()


def run_agreement(
    tmp_path: Path,
    stage: tuple[str, str, str, str],
    variant: str,
    n_random: int,
    n_targeted: int,
    shadow: bool = False,
):
    library = stage[0]
    netlist = stage_netlist(*stage)
    seed = np.random.SeedSequence(ENTROPY, spawn_key=(STAGES.index(stage), (DELAYS + ASYMMETRIC).index(variant)))
    delay_rng, random_rng, targeted_rng = (np.random.default_rng(s) for s in seed.spawn(3))
    launch = None
    if variant in ASYMMETRIC:
        delays: dict[str, int] | list[int] | np.ndarray
        delays, launch = asymmetric_arcs(netlist, library, variant)
    else:
        delays = cell_delays(netlist, library, variant, delay_rng)
    random_old, random_new = random_stream(netlist, n_random, random_rng)
    targeted_old, targeted_new = targeted_vectors(netlist, n_targeted, targeted_rng)
    old, new = concat(random_old, targeted_old), concat(random_new, targeted_new)
    t_sample = pick_sample_fs(netlist, delays, old, new, launch)
    window = t_sample // 5 if shadow else None
    paths = write_verilog_bundle(
        tmp_path,
        netlist,
        delays_fs=delays,
        t_sample_fs=t_sample,
        old_inputs=old,
        new_inputs=new,
        window_fs=window,
        launch_fs=launch,
    )
    t_shadow = None if window is None else t_sample + window
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(run_icarus_detailed, paths)
        gate = simulate_gate(
            netlist, old, new, delays_fs=delays, t_sample_fs=t_sample, t_shadow_fs=t_shadow, launch_fs=launch
        )
        verilog = future.result()
    if shadow:
        assert gate.shadow is not None and verilog.shadow is not None
        np.testing.assert_array_equal(verilog.shadow, gate.shadow)
        assert (gate.shadow != gate.latched).any(), f"{netlist.name}: the shadow sample never differs"
    stats = compare(gate, verilog, netlist, old, new, t_sample)
    targeted = slice(n_random, None)
    assert (gate.latched[targeted] != gate.correct[targeted]).any(), f"{netlist.name}: no targeted vector is late"
    return stats


def stage_id(stage: tuple[str, str, str, str]) -> str:
    return "-".join(stage)


ROTATION = [(stage, DELAYS[i % len(DELAYS)]) for i, stage in enumerate(STAGES)]


@pytest.mark.icarus
@requires_icarus
@pytest.mark.parametrize(("stage", "variant"), ROTATION, ids=[f"{stage_id(s)}-{v}" for s, v in ROTATION])
def test_icarus_agrees_with_gate(tmp_path, stage, variant):
    """Default run: every netlist once, the delay variants in rotation, 270 random + 30 targeted vectors."""
    run_agreement(tmp_path, stage, variant, n_random=270, n_targeted=30)


@pytest.mark.slow
@pytest.mark.icarus
@requires_icarus
@pytest.mark.parametrize("variant", DELAYS)
@pytest.mark.parametrize("stage", STAGES, ids=stage_id)
def test_icarus_agrees_with_gate_full(tmp_path, stage, variant):
    """Every netlist at every delay variant, 1000 random + 100 targeted vectors."""
    run_agreement(tmp_path, stage, variant, n_random=1000, n_targeted=100)


ASYMMETRIC_ROTATION = [(stage, ASYMMETRIC[i % len(ASYMMETRIC)]) for i, stage in enumerate(STAGES)]


@pytest.mark.icarus
@requires_icarus
@pytest.mark.parametrize(
    ("stage", "variant"), ASYMMETRIC_ROTATION, ids=[f"{stage_id(s)}-{v}" for s, v in ASYMMETRIC_ROTATION]
)
def test_icarus_agrees_with_gate_on_per_pin_per_edge_delays(tmp_path, stage, variant):
    """Every netlist once with asymmetric per-instance arcs (the scales in rotation) and a Razor shadow
    sample, 270 random + 30 targeted vectors."""
    run_agreement(tmp_path, stage, variant, n_random=270, n_targeted=30, shadow=True)


@pytest.mark.slow
@pytest.mark.icarus
@requires_icarus
@pytest.mark.parametrize("variant", ASYMMETRIC)
@pytest.mark.parametrize("stage", STAGES, ids=stage_id)
def test_icarus_agrees_with_gate_on_per_pin_per_edge_delays_full(tmp_path, stage, variant):
    """Every netlist at every asymmetric scale, 1000 random + 100 targeted vectors, with a shadow sample."""
    run_agreement(tmp_path, stage, variant, n_random=1000, n_targeted=100, shadow=True)


def pulse_netlist() -> Netlist:
    """a -> and2 -> xor2 with a: a 15 ps pulse at 22..37 ps, through a 30 ps xor3 to 52..67 ps."""
    netlist = Netlist("pulse")
    a = netlist.add_input("a", 1)[0]
    delayed = netlist.gate("and2", a, a, name="delayed")
    pulse = netlist.gate("xor2", a, delayed, name="pulse")
    twin = netlist.gate("and2", a, a, name="twin")
    same = netlist.gate("xor2", delayed, twin, name="same")
    netlist.set_output("y", [netlist.gate("xor3", pulse, 0, 0, name="y"), same])
    return netlist


@pytest.mark.icarus
@requires_icarus
@pytest.mark.parametrize("t_sample", [0, 51_999, 52_000, 60_000, 66_999, 67_000, 90_000])
def test_short_pulse_passes_transport_delay_and_edge_at_sample_is_latched(tmp_path, t_sample):
    netlist = pulse_netlist()
    delays = nominal_fs("compound", 1.0)
    old, new = {"a": np.array([0, 1])}, {"a": np.array([1, 0])}
    expected = 1 if 52_000 <= t_sample < 67_000 else 0
    gate = simulate_gate(netlist, old, new, delays_fs=delays, t_sample_fs=t_sample)
    paths = write_verilog_bundle(
        tmp_path, netlist, delays_fs=delays, t_sample_fs=t_sample, old_inputs=old, new_inputs=new
    )
    verilog = run_icarus_detailed(paths)
    np.testing.assert_array_equal(gate.latched, [expected, expected])
    np.testing.assert_array_equal(verilog.latched, gate.latched)
    np.testing.assert_array_equal(verilog.correct, [0, 0])
    np.testing.assert_array_equal(verilog.bit_settle_fs, [[67_000, 0], [67_000, 0]])
    np.testing.assert_array_equal(verilog.bit_settle_fs, gate.bit_settle_fs)


@pytest.mark.icarus
@requires_icarus
def test_run_icarus_on_directory_and_script(tmp_path):
    netlist = stage_netlist("compound", "registered", "rca", "adder")
    delays = nominal_fs("compound", 1.0)
    rng = np.random.default_rng(np.random.SeedSequence(ENTROPY, spawn_key=(99,)))
    old, new = random_stream(netlist, 20, rng)
    write_verilog_bundle(tmp_path, netlist, delays_fs=delays, t_sample_fs=200_000, old_inputs=old, new_inputs=new)
    latched = run_icarus(tmp_path)
    gate = simulate_gate(netlist, old, new, delays_fs=delays, t_sample_fs=200_000)
    np.testing.assert_array_equal(latched, gate.latched)
    done = subprocess.run(["sh", str(tmp_path / "run_icarus.sh")], capture_output=True, text=True, check=True)
    assert f"{netlist.name}: 20 vectors" in done.stdout
    lines = (tmp_path / f"{netlist.name}.out").read_text().splitlines()
    assert sum(line.startswith("S ") for line in lines) == 20


def test_cell_library_has_one_delay_parameter_per_pin_and_edge_in_fs():
    text = cell_library_verilog()
    assert "`timescale 1fs/1fs" in text
    for kind, pins in CELL_PINS.items():
        parameters = ", ".join(f"{pin.upper()}_{edge} = 1" for pin in pins for edge in ("FALL", "RISE"))
        module = "buf_cell" if kind == "buf" else kind  # buf is a Verilog keyword
        assert f"module {module} #(parameter integer {parameters}) (output reg y, " in text
    assert "module launch #(parameter integer A_FALL = 1, A_RISE = 1) (output reg y, input wire a);" in text
    assert text.count("disable runner;") == len(CELL_PINS) + 1
    assert "assign" not in text


def test_netlist_verilog_writes_one_instance_per_cell_with_exact_fs_per_pin_and_edge():
    netlist = stage_netlist("compound", "registered", "rca", "adder")
    arcs = np.arange(1, 1 + len(netlist.cells) * 6, dtype=np.int64).reshape(-1, 3, 2) * 997
    text = netlist_verilog(netlist, delays_fs=arcs)
    instances = [line for line in text.splitlines() if line.startswith("  xor3 #(") or line.startswith("  maj3 #(")]
    assert len(instances) == len(netlist.cells)
    first = netlist.cells[0]
    assert instances[0].split(" g0 ")[0] == (
        f"  {first.kind} #(.A_FALL(997), .A_RISE(1994), .B_FALL(2991), .B_RISE(3988), .C_FALL(4985), .C_RISE(5982))"
    )
    assert f"module {netlist.name} (" in text
    assert "input wire [15:0] product" in text and "output wire [31:0] sum" in text
    assert "1'b0" in text


def test_netlist_verilog_rejects_bad_delays():
    netlist = stage_netlist("compound", "registered", "rca", "adder")
    with pytest.raises(ConfigError, match="missing delay"):
        netlist_verilog(netlist, delays_fs={"xor3": 1000})
    with pytest.raises(ConfigError, match="one delay per cell"):
        netlist_verilog(netlist, delays_fs=[1000])
    with pytest.raises(ConfigError, match="> 0"):
        netlist_verilog(netlist, delays_fs=[0] * len(netlist.cells))
    with pytest.raises(ConfigError, match="integer"):
        netlist_verilog(netlist, delays_fs=[1.5] * len(netlist.cells))


def test_settle_bound_matches_static_timing():
    for stage in STAGES:
        netlist = stage_netlist(*stage)
        delays = nominal_fs(stage[0], 2.2)
        assert settle_bound_fs(netlist, delays) == max(netlist.static_arrival_fs(delays))
        per_cell = [delays[cell.kind] for cell in netlist.cells]
        assert settle_bound_fs(netlist, per_cell) == settle_bound_fs(netlist, delays)


def test_testbench_rejects_bad_arguments():
    netlist = stage_netlist("compound", "registered", "rca", "adder")
    good = {"vectors_path": "v.hex", "n_vectors": 3, "t_sample_fs": 1000, "settle_fs": 10_000}
    assert "$strobe" in make_testbench(netlist, **good)
    for field, value in (("n_vectors", 0), ("t_sample_fs", -1), ("settle_fs", 0), ("vectors_path", 'a"b')):
        with pytest.raises(ConfigError):
            make_testbench(netlist, **{**good, field: value})
    with pytest.raises(ConfigError, match="unknown output"):
        make_testbench(netlist, **good, output="nope")


def test_bundle_files_are_complete_and_vectors_encode_twos_complement(tmp_path):
    netlist = stage_netlist("2in", "fused", "rca", "mac")
    old = {"a": np.array([-1, 5]), "b": np.array([-128, 0]), "c": np.array([-1, 0x7FFFFFFF])}
    new = {"a": np.array([127, 0]), "b": np.array([1, -1]), "c": np.array([1, -0x80000000])}
    paths = write_verilog_bundle(
        tmp_path / "out",
        netlist,
        delays_fs=nominal_fs("2in", 1.0),
        t_sample_fs=500_000,
        old_inputs=old,
        new_inputs=new,
    )
    assert set(paths) == {"cells", "netlist", "testbench", "vectors", "script"}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths.values())
    assert paths["script"].stat().st_mode & stat.S_IXUSR
    words = [line for line in paths["vectors"].read_text().splitlines() if not line.startswith("//")]
    assert len(words) == 2
    value = int(words[0], 16)
    fields = []
    for width in (32, 8, 8, 32, 8, 8):
        fields.append(value & ((1 << width) - 1))
        value >>= width
    assert fields[::-1] == [0xFF, 0x80, 0xFFFFFFFF, 0x7F, 0x01, 0x00000001]
    bench = paths["testbench"].read_text()
    assert 'path = "vectors_mac_rca32_2in.hex"' in bench
    assert "localparam real T_SAMPLE = 500.000;" in bench


def test_run_icarus_without_iverilog_is_one_line_error(tmp_path, monkeypatch):
    netlist = stage_netlist("compound", "registered", "rca", "adder")
    old, new = {"product": np.array([1]), "c": np.array([2])}, {"product": np.array([3]), "c": np.array([4])}
    paths = write_verilog_bundle(
        tmp_path, netlist, delays_fs=nominal_fs("compound", 1.0), t_sample_fs=1000, old_inputs=old, new_inputs=new
    )
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ConfigError, match="iverilog: not found on PATH") as info:
        run_icarus(paths)
    assert "\n" not in str(info.value)
    assert os.environ["PATH"].endswith("empty")


@pytest.mark.icarus
@requires_icarus
def test_run_icarus_reports_missing_vectors(tmp_path):
    netlist = stage_netlist("compound", "registered", "rca", "adder")
    old = {"product": np.array([1, 2]), "c": np.array([3, 4])}
    new = {"product": np.array([5, 6]), "c": np.array([7, 8])}
    paths = write_verilog_bundle(
        tmp_path, netlist, delays_fs=nominal_fs("compound", 1.0), t_sample_fs=1000, old_inputs=old, new_inputs=new
    )
    paths["vectors"].write_text("\n".join(paths["vectors"].read_text().splitlines()[:2]) + "\n")
    with pytest.raises(IcarusError, match="vector 1 of 2"):
        run_icarus(paths)
