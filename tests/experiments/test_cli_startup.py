"""The command line loads a command's modules only when that command runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from experiments.commands import COMMANDS

_PROBE = """
import contextlib, io, sys
from experiments.cli import main
HEAVY = {heavy!r}
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main({argv!r})
    except SystemExit:
        pass
print(" ".join(sorted(name for name in sys.modules if name.startswith("experiments.") or name in HEAVY)))
"""

HEAVY = ("numpy", "multiprocessing", "importlib.metadata")
"""Modules that cost tens of ms to import: ``--version`` and ``--help`` need none of them."""


def _loaded(argv: list[str]) -> set[str]:
    """Modules of experiments (and of :data:`HEAVY`) loaded by ``vscale ARGV`` in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(argv=argv, heavy=HEAVY)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return set(done.stdout.split())


@pytest.mark.parametrize("argv", [["--version"], ["--help"]])
def test_version_and_help_load_no_command_and_nothing_heavy(argv):
    loaded = _loaded(argv)
    assert not {name for name in loaded if name.startswith(("experiments.commands.", "experiments.studies"))}
    assert not loaded & set(HEAVY)


def test_a_command_loads_its_own_module_only():
    loaded = _loaded(["latency", "--help"])
    commands = {name for name in loaded if name.startswith("experiments.commands.") and "._" not in name}
    assert commands == {"experiments.commands.latency"}
    studies = {name for name in loaded if name.startswith("experiments.studies.")}
    assert "experiments.studies.latency" in studies
    assert not studies & {f"experiments.studies.{name}" for name in ("accuracy", "energy", "optimize", "run")}


def test_every_command_has_its_module():
    from experiments.cli import build_parser

    parser = build_parser()
    subcommands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert list(subcommands) == list(COMMANDS)
    for sub in subcommands.values():
        assert sub.get_default("handler") is not None or sub._subparsers is not None
