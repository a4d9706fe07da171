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
import difflib
import importlib
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pe_models.errors import ConfigError

from . import validation
from .commands import COMMANDS

if TYPE_CHECKING:
    from .options import StagingFolder

__all__ = [
    "EXIT_CODES",
    "Interrupted",
    "build_parser",
    "main",
    "stop_workers",
    "unrecognized_message",
]

EXIT_CODES = {
    0: "success",
    1: "the run failed for a reason outside the input (out of memory, disk full, a worker died)",
    2: "bad input: an option, a file's content, or a request above the resource limit; nothing written",
    130: "interrupted by Ctrl-C (SIGINT); nothing written",
    143: "stopped by SIGTERM; nothing written",
}


class Interrupted(BaseException):
    """Raised in the main process when SIGINT or SIGTERM arrives."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit status 2, like every other bad input
        self.exit(2, f"{self.prog}: error: {message}\n")


_SEEN = "_vscale_options_seen"
"""Attribute of the namespace being parsed: destination -> the option string that set it."""


class _Once(argparse.Action):
    """Mixed into every option's action: an option given twice (or with two of its names) is refused,
    as argparse would otherwise keep the last value silently."""

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[no-untyped-def]
        seen = namespace.__dict__.setdefault(_SEEN, {})
        first = seen.get(self.dest)
        if first is not None:
            same = "given twice" if first == option_string else f"the same option as {first}"
            parser.error(f"{option_string}: {same}; give it once")
        seen[self.dest] = option_string
        super().__call__(parser, namespace, values, option_string)


_ONCE_CLASSES: dict[type, type] = {}


def _refuse_repeated_options(parser: argparse.ArgumentParser) -> None:
    """Make every option of `parser` refuse being given more than once (see :class:`_Once`)."""
    for action in parser._actions:
        kind = type(action)
        if not action.option_strings or isinstance(action, _Once) or kind in (argparse._HelpAction, _Version):
            continue
        if kind not in _ONCE_CLASSES:
            _ONCE_CLASSES[kind] = type(f"_Once{kind.__name__}", (_Once, kind), {})
        action.__class__ = _ONCE_CLASSES[kind]


def _children(pid: int) -> list[int]:
    """Process ids whose parent is `pid` (from /proc; empty where /proc is absent)."""
    found: list[int] = []
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
        for signum in (signal.SIGINT, signal.SIGTERM):
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


class _Version(argparse.Action):
    """``--version``: print ``vscale VERSION`` and exit (the version is looked up only then)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: object) -> None:
        super().__init__(
            option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, help="show the version and exit"
        )

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[no-untyped-def]
        from .version import __version__

        print(f"{parser.prog} {__version__}")
        parser.exit()


def command_of(argv: Sequence[str]) -> str | None:
    """The sub-command `argv` names: its first word that is neither an option nor an option's value."""
    tokens = iter(argv)
    for token in tokens:
        if token == "--":
            return next(tokens, None)
        if not token.startswith("-"):
            return token
        if "=" not in token and len(token) > 2 and "--max-memory".startswith(token):
            next(tokens, None)
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The ``vscale`` parser.

    Every command of :data:`experiments.commands.COMMANDS` is listed; with `argv`, only the
    one it names is configured (its module imported), so ``vscale --help`` and ``vscale
    latency ...`` load nothing of the other commands.
    """
    parser = _Parser(
        prog="vscale",
        description="Cycle-level simulator of systolic-array DNN accelerators under supply-voltage scaling.",
        epilog="exit status: " + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES.items()),
    )
    parser.add_argument("--version", action=_Version)
    _add_max_memory(parser, argparse.SUPPRESS)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    chosen = None if argv is None else command_of(argv)
    for name, summary in COMMANDS.items():
        command = subparsers.add_parser(name, help=summary)
        if argv is None or name == chosen:
            importlib.import_module(f"experiments.commands.{name}").configure(command)
    for sub in _all_subparsers(subparsers):
        _add_max_memory(sub, argparse.SUPPRESS)
    for each in (parser, *_all_subparsers(subparsers)):
        _refuse_repeated_options(each)
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
                names[action.dest] = action.option_strings[0]
        current = chosen
    return names


def _chosen_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The innermost (sub-)command parser `args` were parsed with."""
    current = parser
    while True:
        subparsers = [action for action in current._actions if isinstance(action, argparse._SubParsersAction)]
        chosen = subparsers[0].choices.get(getattr(args, subparsers[0].dest, None) or "") if subparsers else None
        if chosen is None:
            return current
        current = chosen


def unrecognized_message(parser: argparse.ArgumentParser, args: argparse.Namespace, extras: Sequence[str]) -> str:
    """The error for arguments no option takes: the first unknown option and the nearest known one.

    ``--vddd: not an option of vscale accuracy; did you mean --vdd?`` (as Python names the
    nearest field of a misspelt keyword); words that are not options keep argparse's message.
    """
    word = next((item for item in extras if item.startswith("-")), None)
    if word is None:
        return f"unrecognized arguments: {' '.join(extras)}"
    command = _chosen_parser(parser, args)
    name = word.split("=", 1)[0]
    options = {
        option[2:]: option for action in command._actions for option in action.option_strings if option[:2] == "--"
    }
    close = difflib.get_close_matches(name.lstrip("-"), list(options), n=1, cutoff=0.6)
    hint = f"did you mean {options[close[0]]}?" if close else f"see {command.prog} --help"
    return f"{name}: not an option of {command.prog}; {hint}"


def _error(message: str) -> None:
    print(f"vscale: error: {' '.join(str(message).split())}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        arguments = sys.argv[1:] if argv is None else list(argv)
        parser = build_parser(arguments)
        args, extras = parser.parse_known_args(arguments)
        vars(args).pop(_SEEN, None)
        if extras:
            parser.error(unrecognized_message(parser, args, extras))
    except KeyboardInterrupt:
        print("vscale: interrupted", file=sys.stderr)
        return 130
    from . import compile_notice
    from .options import STAGING, StagingFolder, cli_message

    staging: StagingFolder | None = None
    names = _option_names(parser, args)
    with _signal_handlers():
        try:
            limit = None
            if getattr(args, "max_memory", None) is not None:
                limit = validation.parse_size(args.max_memory)
            validation.check_arguments(args, names)
            if hasattr(args, "out"):
                validation.output_folder(args.out, field=names.get("out", "out"))
            with validation.use_memory_limit(limit):
                validation.guard(
                    args, notes=lambda line: print(f"vscale: note: {cli_message(line, names)}", file=sys.stderr)
                )
                if hasattr(args, "out"):
                    staging = StagingFolder(Path(args.out))
                    setattr(args, STAGING, staging)
                with compile_notice.announce():
                    status = int(args.handler(args) or 0)
            if staging is not None and (status == 0 or staging.complete):
                staging.publish()
            return status
        except ConfigError as error:
            _error(cli_message(str(error), names))
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
