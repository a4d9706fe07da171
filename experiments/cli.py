"""The `vscale` command line.

Every module in :mod:`experiments.commands` defines ``register(subparsers)``, which
adds its sub-command and sets ``handler`` (a function of the parsed arguments that
returns an exit status).

:func:`main` owns what every command shares:

- Bad input raises :class:`pe_models.errors.ConfigError`, printed as one line
  ``vscale: error: ...`` with exit status 2; so is a request the resource guard
  (:mod:`experiments.validation`, ``--max-memory``) refuses.
- Results are written into a staging folder beside ``--out`` (:func:`output_dir`) and
  moved into ``--out`` only after the handler returned 0: a command that fails or is
  interrupted leaves ``--out`` as it was.
- Ctrl-C (SIGINT) and SIGTERM stop every worker process, print ``vscale: interrupted``
  and exit with 130 or 143.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import pkgutil
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from pe_models.errors import ConfigError

from . import commands, compile_notice, validation
from .output import FORMATS, current_umask

__all__ = [
    "EXIT_CODES",
    "Interrupted",
    "add_output_options",
    "build_parser",
    "main",
    "out_argument",
    "output_dir",
    "published_path",
]

EXIT_CODES = {
    0: "success",
    1: "the run failed for a reason outside the input (out of memory, disk full, a worker died)",
    2: "bad input: an option, a file's content, or a request above the resource limit; nothing written",
    130: "interrupted by Ctrl-C (SIGINT); nothing written",
    143: "stopped by SIGTERM; nothing written",
}
_STAGING = "_vscale_staging"
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """Raised in the main process when SIGINT or SIGTERM arrives."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit status 2, like every other bad input
        self.exit(2, f"{self.prog}: error: {message}\n")


def out_argument(text: str) -> Path | str:
    """The ``type`` of every output-folder option: a Path, or the blank text itself (refused later)."""
    return Path(text) if text.strip() else text


def add_output_options(parser: argparse.ArgumentParser, command: str, *, default_format: str = "table") -> None:
    """Add the `--format` and `--out` options every result-producing command takes."""
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=default_format,
        help=f"what goes to stdout: aligned table, CSV or JSON (default: {default_format})",
    )
    add_out_option(parser, command)


def add_out_option(parser: argparse.ArgumentParser, command: str) -> None:
    """Add `--out DIR` (default ./vscale-out/<command>/)."""
    parser.add_argument(
        "--out",
        type=out_argument,
        default=Path("vscale-out") / command,
        metavar="DIR",
        help=f"directory for CSV, PNG and the config used (default: ./vscale-out/{command}/); "
        "written only when the command succeeds",
    )


class _Staging:
    """A folder beside `out` that receives a command's files until they are all written."""

    def __init__(self, out: Path) -> None:
        self.out = Path(os.path.abspath(out))
        anchor = self.out.parent
        while not anchor.exists() and anchor.parent != anchor:
            anchor = anchor.parent
        try:
            self.path = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.", suffix=".vscale-staging", dir=anchor))
        except OSError as error:
            if not self.out.is_dir():
                raise ConfigError(f"--out: {out}: cannot write in {anchor}: {error.strerror}") from None
            try:
                self.path = Path(tempfile.mkdtemp(prefix=".vscale-", suffix=".vscale-staging", dir=self.out))
            except OSError as inner:
                raise ConfigError(f"--out: {out}: cannot write in it: {inner.strerror}") from None

    def publish(self) -> None:
        """Move every file into `out` (signals held back until done)."""
        mask = current_umask()
        blocked = _block_signals()
        try:
            if not self.out.exists():
                self.out.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(self.path, 0o777 & ~mask)
                try:
                    os.rename(self.path, self.out)
                    return
                except OSError:
                    self.out.mkdir(exist_ok=True)
            for source in sorted(self.path.rglob("*")):
                target = self.out / source.relative_to(self.path)
                if source.is_dir():
                    target.mkdir(exist_ok=True)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    try:
                        os.replace(source, target)
                    except OSError:
                        shutil.move(source, target)
            shutil.rmtree(self.path, ignore_errors=True)
        finally:
            _unblock_signals(blocked)

    def discard(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def output_dir(args: argparse.Namespace) -> Path:
    """The folder a command writes its files to: a staging folder published by :func:`main`.

    Outside :func:`main` (a handler called directly) this is ``--out`` itself, created.
    """
    staging = getattr(args, _STAGING, None)
    if staging is not None:
        return staging.path
    path = validation.output_folder(args.out)
    path.mkdir(parents=True, exist_ok=True)
    return path


def published_path(args: argparse.Namespace, path: str | os.PathLike[str]) -> Path:
    """Where a file written to :func:`output_dir` ends up once published (for messages, configs)."""
    staging = getattr(args, _STAGING, None)
    if staging is None:
        return Path(path)
    try:
        return Path(args.out) / Path(path).relative_to(staging.path)
    except ValueError:
        return Path(path)


def _block_signals() -> bool:
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        return True
    except (AttributeError, ValueError, OSError):
        return False


def _unblock_signals(blocked: bool) -> None:
    if blocked:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)


def _children(pid: int) -> list[int]:
    """Process ids whose parent is `pid` (from /proc; empty where /proc is absent)."""
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == pid and fields[0] != b"Z":
            found.append(int(entry))
    return found


def _descendants(pid: int) -> list[int]:
    result, queue = [], [pid]
    while queue:
        children = _children(queue.pop())
        result.extend(children)
        queue.extend(children)
    return result


def stop_workers(grace_s: float = 2.0) -> None:
    """Terminate every process started by this one (SIGTERM, then SIGKILL after `grace_s`).

    Children are not reaped here (a zombie counts as stopped): their owners (a process
    pool's bookkeeping) must still see their exit status, or they wait for them forever.
    """
    pids = [pid for pid in _descendants(os.getpid()) if not _is_resource_tracker(pid)]
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if _alive(pid)]
        if pids:
            time.sleep(0.02)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _is_resource_tracker(pid: int) -> bool:
    """Whether `pid` is multiprocessing's resource tracker: it ends by itself with this process,
    and killing it first makes the pool start a new one that prints a traceback."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return b"resource_tracker" in handle.read()
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3] != b"Z"


def _set_child_subreaper(on: bool) -> bool:
    """Make orphaned descendants (a dead worker's own workers) children of this process (Linux).

    :func:`stop_workers` then still finds them. Returns whether the setting took effect.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(36, int(on), 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


@contextlib.contextmanager
def _signal_handlers() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`Interrupted` in this process; forked workers just die."""
    main_pid = os.getpid()
    state = {"seen": False}

    def handler(signum, frame):
        if os.getpid() != main_pid:
            for pid in _descendants(os.getpid()):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGTERM)
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        if state["seen"]:
            os._exit(128 + signum)
        state["seen"] = True
        stop_workers()
        raise Interrupted(signum)

    previous = {}
    subreaper = _set_child_subreaper(True)
    try:
        for signum in _SIGNALS:
            previous[signum] = signal.signal(signum, handler)
    except ValueError:
        pass
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
        if subreaper:
            _set_child_subreaper(False)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vscale")
    except PackageNotFoundError:
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="vscale",
        description="Cycle-level simulator of systolic-array DNN accelerators under supply-voltage scaling.",
        epilog="exit status: " + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES.items()),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    _add_max_memory(parser, argparse.SUPPRESS)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(subparsers)
    for sub in _all_subparsers(subparsers):
        _add_max_memory(sub, argparse.SUPPRESS)
    return parser


def _add_max_memory(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--max-memory",
        default=default,
        metavar="SIZE",
        help="refuse requests estimated to need more memory than SIZE (e.g. 512M, 4G) "
        f"(default: {100 * validation.DEFAULT_MEMORY_FRACTION:.0f}%% of the available memory)",
    )


def _all_subparsers(action: argparse._SubParsersAction) -> list[argparse.ArgumentParser]:
    found = []
    for sub in dict.fromkeys(action.choices.values()):
        found.append(sub)
        for nested in sub._actions:
            if isinstance(nested, argparse._SubParsersAction):
                found.extend(_all_subparsers(nested))
    return found


def _option_names(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, str]:
    """Destination -> the option string users type, for the chosen (sub-)command."""
    names: dict[str, str] = {}
    current: argparse.ArgumentParser | None = parser
    while current is not None:
        chosen = None
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                chosen = action.choices.get(getattr(args, action.dest, None) or "")
            elif action.option_strings:
                long = [text for text in action.option_strings if text.startswith("--")]
                names[action.dest] = (long or action.option_strings)[0]
        current = chosen
    return names


def _error(message: str) -> None:
    print(f"vscale: error: {' '.join(str(message).split())}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        print("vscale: interrupted", file=sys.stderr)
        return 130
    staging: _Staging | None = None
    with _signal_handlers():
        try:
            limit = None
            if getattr(args, "max_memory", None) is not None:
                limit = validation.parse_size(args.max_memory)
            names = _option_names(parser, args)
            validation.check_arguments(args, names)
            if hasattr(args, "out"):
                validation.output_folder(args.out, field=names.get("out", "--out"))
            with validation.use_memory_limit(limit):
                validation.guard(args, notes=lambda line: print(f"vscale: note: {line}", file=sys.stderr))
                if hasattr(args, "out"):
                    staging = _Staging(Path(args.out))
                    setattr(args, _STAGING, staging)
                with compile_notice.announce():
                    status = int(args.handler(args) or 0)
            if status == 0 and staging is not None:
                staging.publish()
            return status
        except ConfigError as error:
            _error(str(error))
            return 2
        except Interrupted as interrupt:
            print("vscale: interrupted", file=sys.stderr)
            return 128 + interrupt.signum
        except KeyboardInterrupt:
            stop_workers()
            print("vscale: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:
            with contextlib.suppress(OSError):
                sys.stdout = open(os.devnull, "w")
            return 0
        except MemoryError:
            _error("out of memory; ask for less (fewer samples, lanes, images, a smaller layer)")
            return 1
        except OSError as error:
            name = f"{error.filename}: " if error.filename else ""
            _error(f"{name}{error.strerror or error}")
            return 1
        finally:
            if staging is not None:
                staging.discard()


if __name__ == "__main__":
    sys.exit(main())
