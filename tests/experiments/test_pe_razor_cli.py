"""`vscale pe razor`: the per-bit table, the feasible window range and its bad input, by hand.

Expected values: hand sums of the reasoned compound library's delays at nominal VDD (XOR3
30 ps, MAJ3 20 ps, BUF 14 ps; setup 25 ps, hold 10 ps), so every command runs on the formula
preset ptm-32nm-hp (the default, the characterised library, has per-pin, per-edge arcs).
Sum bit i of the ripple-carry adder: shortest path one XOR3 (30 ps), longest i MAJ3 + one
XOR3 (30 + 20 i ps). At 700 MHz
T_clk - t_setup = 1428.571 - 25 = 1403.571 ps; bit 31 (650 ps) has 753.571 ps of slack,
floor(753.571 / 14) = 53 buffers, so the largest window is 30 + 53 x 14 - 10 = 762 ps.
"""

import csv
import io
import json
import math

import pytest

from experiments.cli import main

COLUMNS = "bit,min_path_ps,max_path_ps,hold_buffers,min_path_with_buffers_ps,max_path_with_buffers_ps,feasible"
T_SAMPLE_PS = 1e6 / 700.0 - 25.0


FORMULA = ["--technology", "ptm-32nm-hp"]


def _main(argv: list[str]) -> int:
    """The CLI on the formula preset."""
    return main([*argv, *FORMULA])


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_default_window_is_the_largest_feasible_one(tmp_path, capsys):
    buffers = math.floor((T_SAMPLE_PS - 650.0) / 14.0)
    largest = 30.0 + 14.0 * buffers - 10.0
    assert (buffers, largest) == (53, 762.0)
    out = tmp_path / "out"
    assert _main(["pe", "razor", "--format", "csv", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0] == COLUMNS
    rows = _rows(text)
    assert len(rows) == 32
    for bit, row in enumerate(rows):
        assert int(row["bit"]) == bit
        assert float(row["min_path_ps"]) == 30.0
        assert float(row["max_path_ps"]) == 30.0 + 20.0 * bit
        assert int(row["hold_buffers"]) == buffers
        assert float(row["min_path_with_buffers_ps"]) == 30.0 + 14.0 * buffers
        assert float(row["max_path_with_buffers_ps"]) == 30.0 + 20.0 * bit + 14.0 * buffers
        assert row["feasible"] == "True"
    config = json.loads((out / "config.json").read_text())
    assert config["window_ps"] == largest
    assert (config["feasible_window_min_ps"], config["feasible_window_max_ps"]) == (0.0, largest)
    assert (out / "pe_razor.csv").read_text().splitlines()[0] == COLUMNS


def test_table_states_the_window_and_the_feasible_range(tmp_path, capsys):
    """Bits 31:20 with a 150 ps window: 150 + 10 - 30 = 130 ps short, ceil(130 / 14) = 10 buffers each."""
    assert _main(["pe", "razor", "--protect", "31:20", "--razor-window-ps", "150", "--out", str(tmp_path / "o")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == COLUMNS.split(",")
    assert lines[-1] == (
        "window 150 ps; feasible windows 0..762 ps for protected bits 31:20 at 700 MHz, nominal 0.9 V "
        "(t_hold 10 ps, BUF 14 ps); 120 hold buffers"
    )
    bit31 = lines[2 + 31].split()
    assert bit31 == ["31", "30", "650", "10", "170", "790", "True"]
    bit19 = lines[2 + 19].split()
    assert bit19 == ["19", "30", "410", "0", "30", "410", "True"]


def test_window_outside_the_feasible_range_is_a_one_line_error_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    assert _main(["pe", "razor", "--razor-window-ps", "800", "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        "vscale: error: --razor-window-ps: 800 ps is outside the feasible range 0..762 ps of protected bits 31:0 "
        "at 700 MHz (hold after buffering, longest path with the buffers at nominal VDD); allowed: 0..762 ps\n"
    )
    assert not out.exists()


def test_a_clock_no_window_can_meet_is_a_one_line_error_and_writes_nothing(tmp_path, capsys):
    """2000 MHz: T_clk - t_setup = 500 - 25 = 475 ps < bit 31's 650 ps, even without buffers."""
    out = tmp_path / "out"
    assert _main(["pe", "razor", "--f-clk-mhz", "2000", "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        "vscale: error: --protect: no feasible Razor window for protected bits 31:0 at 2000 MHz: bit 31's longest "
        "path, 650 ps without hold buffers, misses T_clk - t_setup = 475 ps at nominal VDD; allowed: a slower "
        "clock or fewer protected bits\n"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    "command",
    [
        ["simulate", "--gemm", "8,8,8", "--array", "4x4", "--vdd", "0.5"],
        ["accuracy", "--model", "tinymnv2", "--injection", "bitlevel", "--vdd", "0.5", "--images", "4"],
        ["energy", "--gemm", "8,8,8", "--array", "4x4", "--vdd", "0.5"],
    ],
)
def test_every_command_refuses_a_window_outside_the_feasible_range(tmp_path, capsys, command):
    """Bits 31:8 at 700 MHz: the same range 0..762 ps as bits 31:0 (bit 31 sets it)."""
    out = tmp_path / "out"
    assert _main([*command, "--protect", "31:8", "--razor-window-ps", "900", "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        "vscale: error: --razor-window-ps: 900 ps is outside the feasible range 0..762 ps of protected bits 31:8 "
        "at 700 MHz (hold after buffering, longest path with the buffers at nominal VDD); allowed: 0..762 ps\n"
    )
    assert not out.exists()


def test_protected_product_bits_get_their_own_rows_sharing_the_window(tmp_path, capsys):
    """Product bits 15:8 beside accumulator bits 31:8, default window. The window stays 762 ps: the
    product bits' slack is larger (bit 15's longest multiplier path is far below bit 31's 650 ps), so
    bit 31 still sets the range. Each protected product bit gets the fewest buffers that lift its
    shortest path to window + hold = 772 ps: ceil((772 - min_path) / 14) with BUF 14 ps; unprotected
    product bits 7..0 get none, and the accumulator rows are those of bits 31:8 alone."""
    out = tmp_path / "out"
    assert (
        _main(["pe", "razor", "--protect", "31:8", "--protect-product", "15:8", "--format", "csv", "--out", str(out)])
        == 0
    )
    text = capsys.readouterr().out
    assert text.splitlines()[0] == COLUMNS + ",register"
    rows = _rows(text)
    accumulator = [row for row in rows if row["register"] == "accumulator"]
    product = [row for row in rows if row["register"] == "product"]
    assert [int(row["bit"]) for row in accumulator] == list(range(32))
    assert [int(row["bit"]) for row in product] == list(range(16))
    assert all(int(row["hold_buffers"]) == 53 for row in accumulator[8:])
    assert all(int(row["hold_buffers"]) == 0 for row in accumulator[:8] + product[:8])
    for row in product[8:]:
        shortest = float(row["min_path_ps"])
        assert int(row["hold_buffers"]) == math.ceil((762.0 + 10.0 - shortest) / 14.0)
        assert 772.0 <= float(row["min_path_with_buffers_ps"]) < 772.0 + 14.0
        assert float(row["max_path_with_buffers_ps"]) <= T_SAMPLE_PS
        assert row["feasible"] == "True"
    config = json.loads((out / "config.json").read_text())
    assert config["protected_product_bits"] == "15:8"
    assert config["product_hold_buffers_total"] == sum(int(row["hold_buffers"]) for row in product)
    assert config["hold_buffers_total"] == 24 * 53 + config["product_hold_buffers_total"]


def test_product_bits_of_the_fused_pipeline_are_refused(tmp_path, capsys):
    out = tmp_path / "out"
    assert _main(["pe", "razor", "--pipeline", "fused", "--protect-product", "15", "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        "vscale: error: --protect-product: the fused pipeline has no product register; allowed: none\n"
    )
    assert not out.exists()
