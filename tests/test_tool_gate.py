"""The external-tool gate of tests/conftest.py: skip with a reason outside CI, fail under CI=true."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = Path(__file__).with_name("conftest.py")
TESTS = """
import pytest

@pytest.mark.needs_tools("no-such-simulator")
def test_needs_a_missing_tool():
    pass

@pytest.mark.icarus
def test_needs_icarus():
    pass

@pytest.mark.needs_tools("fake-simulator")
def test_needs_a_tool_on_path():
    pass
"""


def _run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ci: str | None):
    """The three tests above with only ``fake-simulator`` on PATH."""
    tool = tmp_path / "bin" / "fake-simulator"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(tool.parent))
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makepyfile(TESTS)
    return pytester.runpytest_inprocess("-rs", "-p", "no:cacheprovider")


def test_outside_ci_a_missing_tool_skips_naming_the_package(pytester, monkeypatch, tmp_path):
    result = _run(pytester, monkeypatch, tmp_path, None)
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(
        [
            "SKIPPED*needs no-such-simulator on PATH (apt-get install -y no-such-simulator)",
            "SKIPPED*needs iverilog, vvp on PATH (apt-get install -y iverilog)",
        ]
    )


@pytest.mark.parametrize("ci", ["true"])
def test_under_ci_a_missing_tool_fails_the_run(pytester, monkeypatch, tmp_path, ci):
    result = _run(pytester, monkeypatch, tmp_path, ci)
    result.assert_outcomes(passed=1, errors=2)
    assert result.ret != 0
    result.stdout.fnmatch_lines(
        [
            "CI=true: needs no-such-simulator on PATH (apt-get install -y no-such-simulator); a CI run may not skip it",
            "CI=true: needs iverilog, vvp on PATH (apt-get install -y iverilog); a CI run may not skip it",
        ]
    )
