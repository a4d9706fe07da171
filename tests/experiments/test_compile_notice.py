"""The compilation notice: one line when numba compiles, one with the seconds, only on a terminal."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.compile_notice import announce

REPOSITORY = Path(__file__).resolve().parents[2]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _compile_something_new() -> None:
    import numba

    @numba.njit(cache=False)
    def increment(x):
        return x + 1

    assert increment(1) == 2


def test_a_compilation_on_a_terminal_prints_two_lines():
    stream = Terminal()
    with announce(stream):
        _compile_something_new()
    first, last = stream.getvalue().splitlines()
    assert first.startswith("vscale: compiling the simulation kernels (first run after installing or updating vscale;")
    assert last.startswith("vscale: kernels compiled in ") and last.endswith(
        " s; later runs load them from numba's cache"
    )


def test_nothing_compiled_prints_nothing():
    stream = Terminal()
    with announce(stream):
        pass
    assert stream.getvalue() == ""


def test_a_pipe_or_file_gets_nothing():
    stream = io.StringIO()
    with announce(stream):
        _compile_something_new()
    assert stream.getvalue() == ""


def test_the_listener_is_attached_when_numba_is_imported_later():
    # a fresh interpreter: numba is imported inside the block, by the code that compiles
    code = (
        "import io, sys\n"
        "class T(io.StringIO):\n    isatty = lambda self: True\n"
        "from experiments.compile_notice import announce\n"
        "stream = T()\n"
        "with announce(stream):\n"
        "    assert 'numba' not in sys.modules\n"
        "    import numba\n"
        "    assert numba.njit(lambda x: x * 2)(3) == 6\n"
        "print(stream.getvalue(), end='')\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, check=True)
    assert [line.split(" ")[1] for line in done.stdout.splitlines()] == ["compiling", "kernels"]


class TerminalFile(io.TextIOWrapper):
    def isatty(self) -> bool:
        return True


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_worker_process_that_compiles_stays_quiet(tmp_path):
    # a file shared with the child (a StringIO would be the child's own copy)
    with TerminalFile(open(tmp_path / "stderr", "wb")) as stream:
        with announce(stream):
            child = os.fork()
            if child == 0:
                try:
                    _compile_something_new()
                finally:
                    os._exit(0)
            os.waitpid(child, 0)
    assert (tmp_path / "stderr").read_text() == ""
