"""Protection plan files: the TOML schema, round trip and one-line errors."""

from __future__ import annotations

import tomllib

import pytest

from experiments.plans import PLAN_KEYS, load_plan, plan_toml
from pe_models.errors import ConfigError
from sim.protection import ProtectionPlan

EXAMPLE = """
model = "tinymnv2"
vdd_v = 0.55
recovery = "local"
penalty_cycles = 2
razor_window_ps = 150.0
default = "31,5"
[layers]
"features.1.conv" = "31:22"
"classifier" = "none"
"""


def test_example_plan_is_read_field_by_field(tmp_path):
    path = tmp_path / "plan.toml"
    path.write_text(EXAMPLE)
    plan = load_plan(path)
    assert plan == ProtectionPlan(
        layers={"features.1.conv": 0xFFC00000, "classifier": 0},
        default_mask=(1 << 31) | (1 << 5),
        recovery="local",
        penalty_cycles=2,
        razor_window_ps=150.0,
        model="tinymnv2",
        vdd_v=0.55,
    )
    assert plan.mask_for("features.2.conv") == 0x80000020
    assert plan.mask_for("classifier") == 0


def test_defaults_and_round_trip(tmp_path):
    path = tmp_path / "plan.toml"
    path.write_text('[layers]\n"a" = "3:0"\n')
    plan = load_plan(path)
    assert (plan.recovery, plan.penalty_cycles, plan.razor_window_ps, plan.default_mask) == ("global", None, None, 0)
    path.write_text(plan_toml(load_plan(_write(tmp_path, EXAMPLE))))
    assert load_plan(path) == load_plan(_write(tmp_path, EXAMPLE))


def _write(tmp_path, text):
    path = tmp_path / "other.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("penalty_cycles = -1\n", "penalty_cycles: expected a non-negative integer number of cycles, got -1"),
        ('recovery = "stall"\n', "recovery: expected one of global, column, local, drop, got 'stall'"),
        ('[layers]\n"conv" = "40:30"\n', "layers.conv: bit 40 is out of range; allowed: 0..31"),
        ('default = "32"\n', "default: bit 32 is out of range; allowed: 0..31"),
        ("razor_window_ps = -2.0\n", "razor_window_ps: expected a non-negative number of ps, got -2"),
        (
            "protect = 3\n",
            "unknown key 'protect'; allowed: model, vdd_v, recovery, penalty_cycles, razor_window_ps, default, layers, "
            "product_default, product_layers, layer_count, product_layer_count",
        ),
        ('[layers]\n"conv" = 31\n', 'layers.conv: expected bits as "HIGH:LOW", "31,5" or "none", got 31'),
    ],
)
def test_bad_plans_are_one_line_errors_naming_file_and_field(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_plan(path)
    assert str(error.value) == f"{path}: {message}"


def test_invalid_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"^.*missing.toml: not a readable protection plan \(TOML\)$"):
        load_plan(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match=r"^.*other.toml: invalid TOML: .*$"):
        load_plan(_write(tmp_path, "recovery = \n"))


WRITTEN = ProtectionPlan(
    layers={"features.0.0": 0xFFC00000, "features.1.conv.0.0": 0, "classifier": 1 << 31},
    default_mask=(1 << 31) | (1 << 5),
    product_layers={"features.0.0": 0xE000},
    recovery="local",
    penalty_cycles=2,
    razor_window_ps=150.0,
    model="tinymnv2",
    vdd_v=0.55,
)
WRITTEN_LINES = [
    "layer_count = 3",
    "product_layer_count = 1",
    'model = "tinymnv2"',
    "vdd_v = 0.55",
    'recovery = "local"',
    "penalty_cycles = 2",
    "razor_window_ps = 150.0",
    'default = "31,5"',
    'product_default = "none"',
    "[layers]",
    '"features.0.0" = "31:22"',
    '"features.1.conv.0.0" = "none"',
    '"classifier" = "31"',
    "[product_layers]",
    '"features.0.0" = "15:13"',
]


def test_written_plan_announces_its_entries_first():
    assert plan_toml(WRITTEN) == "\n".join(WRITTEN_LINES) + "\n"


def _cut_short(end: int, missing: str) -> str:
    return f":{end}: the file ends before {missing}, which every plan with layer_count has: it was cut short"


def _entries(end: int, table: str, kept: int, announced: int, key: str) -> str:
    return (
        f":{end}: [{table}] has {kept} of the {announced} entries {key} announces: the file was cut short "
        f"(or entries were removed by hand: then set {key} = {kept})"
    )


# What the reader says when the file ends after line 1, 2, ... of WRITTEN_LINES: the first
# key the writer always puts after the counts that the remaining lines lack, else the first
# table with fewer entries than its count. The complete file (15 lines) is the plan.
AFTER_LINE = {
    1: _cut_short(1, "product_layer_count"),
    2: _cut_short(2, "recovery"),
    3: _cut_short(3, "recovery"),
    4: _cut_short(4, "recovery"),
    5: _cut_short(5, "default"),
    6: _cut_short(6, "default"),
    7: _cut_short(7, "default"),
    8: _cut_short(8, "product_default"),
    9: _entries(9, "layers", 0, 3, "layer_count"),
    10: _entries(10, "layers", 0, 3, "layer_count"),
    11: _entries(11, "layers", 1, 3, "layer_count"),
    12: _entries(12, "layers", 2, 3, "layer_count"),
    13: _entries(13, "product_layers", 0, 1, "product_layer_count"),
    14: _entries(14, "product_layers", 0, 1, "product_layer_count"),
}


def _read_cut(tmp_path, text: str) -> str | ProtectionPlan:
    path = tmp_path / "cut.toml"
    path.write_text(text)
    try:
        return load_plan(path)
    except ConfigError as error:
        return str(error)


def test_written_plan_cut_at_each_line_break_is_refused_naming_what_is_missing(tmp_path):
    path = tmp_path / "cut.toml"
    assert _read_cut(tmp_path, "") == f"{path}: empty plan; expected some of {', '.join(PLAN_KEYS)}"
    for end, message in AFTER_LINE.items():
        assert _read_cut(tmp_path, "\n".join(WRITTEN_LINES[:end]) + "\n") == f"{path}{message}"
    assert _read_cut(tmp_path, "\n".join(WRITTEN_LINES) + "\n") == WRITTEN


def test_written_plan_cut_inside_a_line_is_refused(tmp_path):
    """A cut inside line j leaves invalid TOML (tomllib's message), or a shorter number or a
    complete line: then the reader says what it says when the file ends after line j. Only
    the last line's break may go: the file then still holds every byte of the plan."""
    path = tmp_path / "cut.toml"
    for line in range(1, len(WRITTEN_LINES) + 1):
        head = "".join(text + "\n" for text in WRITTEN_LINES[: line - 1])
        for length in range(1, len(WRITTEN_LINES[line - 1]) + 1):
            cut = head + WRITTEN_LINES[line - 1][:length]
            try:
                tomllib.loads(cut)
            except tomllib.TOMLDecodeError as error:
                expected: str | ProtectionPlan = f"{path}: invalid TOML: {error}"
            else:
                expected = WRITTEN if line == len(WRITTEN_LINES) else f"{path}{AFTER_LINE[line]}"
            assert _read_cut(tmp_path, cut) == expected, repr(cut[-40:])


def test_layer_count_below_the_entries_is_refused(tmp_path):
    path = _write(tmp_path, plan_toml(WRITTEN).replace("layer_count = 3", "layer_count = 2", 1))
    with pytest.raises(ConfigError) as error:
        load_plan(path)
    assert str(error.value) == f"{path}: layer_count: 2, but [layers] has 3 entries; allowed: layer_count = 3"


def test_hand_written_plan_without_counts_is_read_as_before(tmp_path):
    text = plan_toml(WRITTEN).split("\n", 2)[2]
    assert load_plan(_write(tmp_path, text)) == WRITTEN


def test_cli_refuses_a_plan_cut_short_exit_2_nothing_written(tmp_path, capsys):
    from experiments.cli import main

    plan = _write(tmp_path, "\n".join(WRITTEN_LINES[:12]) + "\n")
    out = tmp_path / "out"
    argv = ["simulate", "--gemm", "4,4,4", "--vdd", "0.9", "--plan", str(plan), "--out", str(out)]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err == f"vscale: error: {plan}{_entries(12, 'layers', 2, 3, 'layer_count')}\n"
    assert not out.exists()
