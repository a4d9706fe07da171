"""Say on the terminal when numba compiles the kernels (the first run after installing or updating).

numba compiles a kernel the first time it is called with a new signature and keeps the
machine code in its on-disk cache (``__pycache__`` beside the module, or
``NUMBA_CACHE_DIR``); later runs load it in a fraction of a second. The first compilation
of a run prints one line to stderr, and the end of the run one more with the seconds the
compilation took::

    vscale: compiling the simulation kernels (first run after installing or updating vscale; ...)
    vscale: kernels compiled in 62 s; later runs load them from numba's cache

Both lines appear only when stderr is a terminal (scripts, pipes and tests see nothing),
and only from the process that ran ``vscale`` or a process it forked to compile on its
behalf (:func:`adopt`, ``experiments.kernel_warmup``); worker processes stay quiet. The
seconds are those spent compiling, summed over those processes. numba is not imported
here: a hook registers the listener when something else imports it, so commands that
never compile pay nothing.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator
from types import ModuleType
from typing import TextIO

__all__ = ["COMPILE_ESTIMATE", "adopt", "announce"]

COMPILE_ESTIMATE = "about a minute on 2 cores"
"""What the first line says the compilation takes (``benchmarks/bench_first_run.py``)."""

_EVENT_MODULE = "numba.core.event"


class _Notice:
    """Counts the compilation time of the process that started it (and of the processes that
    adopt it) and prints the two lines; the first-line flag and the adopted processes'
    seconds live in shared memory, so a forked warm-up and its parent print one first line."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.owner = os.getpid()
        self.pid = self.owner
        self.depth = 0
        self.seconds = 0.0
        self.lock = multiprocessing.Lock()
        self.shared = multiprocessing.RawArray("d", 2)  # [first line printed, adopted processes' seconds]

    def on_start(self) -> None:
        if os.getpid() != self.pid:
            return
        with self.lock:
            if not self.shared[0]:
                self.shared[0] = 1.0
                print(
                    "vscale: compiling the simulation kernels (first run after installing or updating vscale; "
                    f"{COMPILE_ESTIMATE}, once)",
                    file=self.stream,
                    flush=True,
                )
        if self.depth == 0:
            self.seconds -= time.perf_counter()
        self.depth += 1

    def on_end(self) -> None:
        if os.getpid() != self.pid or self.depth == 0:
            return
        self.depth -= 1
        if self.depth > 0:
            return
        self.seconds += time.perf_counter()
        if self.pid != self.owner:
            with self.lock:
                self.shared[1] += self.seconds
            self.seconds = 0.0

    def finish(self) -> None:
        if os.getpid() == self.owner and self.shared[0]:
            print(
                f"vscale: kernels compiled in {self.seconds + self.shared[1]:.0f} s; "
                "later runs load them from numba's cache",
                file=self.stream,
                flush=True,
            )


_active: _Notice | None = None


def adopt() -> None:
    """Report this process's compilations as its parent's (call it first thing in a process
    forked by one running :func:`announce`; a no-op anywhere else)."""
    if _active is not None:
        _active.pid = os.getpid()
        _active.depth = 0
        _active.seconds = 0.0


def _register(event: ModuleType, notice: _Notice) -> object:
    class Listener(event.Listener):  # type: ignore[name-defined,misc]
        def on_start(self, _event: object) -> None:
            notice.on_start()

        def on_end(self, _event: object) -> None:
            notice.on_end()

    listener = Listener()
    event.register("numba:compile", listener)
    return listener


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs `then(module)` right after numba's event module is imported (by anyone)."""

    def __init__(self, then) -> None:
        self.then = then

    def find_spec(self, fullname, path, target=None):
        if fullname != _EVENT_MODULE:
            return None
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        loader, then = spec.loader, self.then

        class Loader(importlib.abc.Loader):
            def create_module(self, spec):
                return loader.create_module(spec)

            def exec_module(self, module):
                loader.exec_module(module)
                then(module)

        spec.loader = Loader()
        return spec


@contextlib.contextmanager
def announce(stream: TextIO | None = None) -> Iterator[None]:
    """Print the compilation lines for whatever runs inside (when `stream`, default stderr, is a terminal)."""
    stream = sys.stderr if stream is None else stream
    if not stream.isatty():
        yield
        return
    global _active
    notice = _Notice(stream)
    _active = notice
    listeners: list[tuple[ModuleType, object]] = []

    def attach(event: ModuleType) -> None:
        listeners.append((event, _register(event, notice)))

    hook = None
    if _EVENT_MODULE in sys.modules:
        attach(sys.modules[_EVENT_MODULE])
    else:
        hook = _AfterImport(attach)
        sys.meta_path.insert(0, hook)
    try:
        yield
    finally:
        if hook is not None:
            with contextlib.suppress(ValueError):
                sys.meta_path.remove(hook)
        for event, listener in listeners:
            event.unregister("numba:compile", listener)
        _active = None
        notice.finish()
