"""One validator per kind of user value, and the resource guard.

Every command checks its seeds, counts, folders, voltage ranges, bit ranges and worker
counts here, so the same input gets the same one-line message everywhere. Each
validator takes the name of the field (``--seed`` on the command line, ``seed`` in a
library config) and raises :class:`pe_models.errors.ConfigError` naming it and the
allowed values; the command line prints the message and exits with status 2.

The resource guard refuses, before anything is allocated, a request whose estimated
memory exceeds the limit: ``--max-memory`` on the command line, by default
:data:`DEFAULT_MEMORY_FRACTION` of the available memory (``MemAvailable`` in
``/proc/meminfo``).
"""

from __future__ import annotations

import math
import numbers
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pe_models.errors import ConfigError

__all__ = [
    "DEFAULT_MEMORY_FRACTION",
    "MAX_SEED",
    "available_memory",
    "bit_range",
    "check_arguments",
    "check_layer_memory",
    "check_memory",
    "count",
    "default_memory_limit",
    "estimate_memory",
    "estimate_seconds",
    "format_bytes",
    "guard",
    "integer",
    "memory_limit",
    "output_folder",
    "parse_size",
    "reasoned_preset",
    "seed",
    "usable_cores",
    "use_memory_limit",
    "vdd_range",
    "vdd_values",
    "workers",
]

MAX_SEED = 2**63 - 1
"""Largest seed: seeds are 0 .. 2**63 - 1 (a non-negative signed 64-bit integer)."""

DEFAULT_MEMORY_FRACTION = 0.5
"""Default ``--max-memory``: this fraction of the available memory (``MemAvailable``)."""

_FALLBACK_AVAILABLE = 4 * 2**30
_VIRTUAL_FILESYSTEMS = frozenset(
    {"proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "debugfs", "securityfs", "tracefs", "configfs"}
)
_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 2**10,
    "kb": 10**3,
    "kib": 2**10,
    "m": 2**20,
    "mb": 10**6,
    "mib": 2**20,
    "g": 2**30,
    "gb": 10**9,
    "gib": 2**30,
    "t": 2**40,
    "tb": 10**12,
    "tib": 2**40,
}


def integer(field: str, value: object, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """`value` as an int within [minimum, maximum]; ConfigError naming `field` otherwise.

    Messages: ``FIELD: expected a positive integer, got 0`` (minimum 1), ``... a non-negative
    integer ...`` (minimum 0), ``... an integer >= 2 ...``, ``... an integer in 1..1000 ...``.
    """
    if minimum is not None and maximum is not None:
        shown_max = "2**63-1" if maximum == MAX_SEED else str(maximum)
        allowed = f"an integer in {minimum}..{shown_max}"
    elif minimum == 0:
        allowed = "a non-negative integer"
    elif minimum == 1:
        allowed = "a positive integer"
    elif minimum is not None:
        allowed = f"an integer >= {minimum}"
    elif maximum is not None:
        allowed = f"an integer <= {maximum}"
    else:
        allowed = "an integer"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{field}: expected {allowed}, got {value!r}")
    number = int(value)
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ConfigError(f"{field}: expected {allowed}, got {number}")
    return number


def seed(value: object, *, field: str = "seed") -> int:
    """A random seed: an integer in 0 .. 2**63 - 1.

    Raises
    ------
    ConfigError
        ``--seed: expected an integer in 0..2**63-1, got -1``.
    """
    return integer(field, value, minimum=0, maximum=MAX_SEED)


def count(value: object, *, field: str, minimum: int = 1, maximum: int | None = None) -> int:
    """A whole number of things (samples, lanes, bins, images ...) in ``minimum .. maximum``.

    Raises
    ------
    ConfigError
        ``--lanes: expected a positive integer, got 0``, ``--bins: expected an integer >= 2,
        got 1`` or ``--images: expected an integer in 1..1000, got 5000``.
    """
    return integer(field, value, minimum=minimum, maximum=maximum)


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity set), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def workers(value: object, *, work: int, field: str = "jobs") -> int:
    """Worker processes actually started: ``value`` capped by the work items and the cores.

    Parameters
    ----------
    value : int
        Requested workers, >= 1.
    work : int
        Independent work items (e.g. voltage points); more workers than items would idle.

    Raises
    ------
    ConfigError
        ``--jobs: 0 is out of range; allowed: >= 1``.
    """
    number = count(value, field=field, minimum=1)
    return max(1, min(number, work, usable_cores()))


_NUMBER = r"\s*([0-9]*\.?[0-9]+)\s*"
MAX_VOLTAGES = 10_000
"""Most supply voltages one sweep may list."""


def vdd_values(value: object, name: str = "vdd_v") -> tuple[float, ...]:
    """Supply voltages from a number, a sequence of numbers, or text; the one reader of voltages.

    Text is ``START:STOP:STEP`` (inclusive, either direction), ``V1,V2,...`` or ``V``.

    Raises
    ------
    ConfigError
        Malformed text, a step <= 0, an empty list, more than :data:`MAX_VOLTAGES`, a voltage
        listed twice, or a voltage outside (0, 2] V (the technology then checks its own range); a value that
        reads as millivolts (``900``) is named so.
    """
    if isinstance(value, str):
        range_match = re.fullmatch(f"{_NUMBER}:{_NUMBER}:{_NUMBER}", value)
        if range_match:
            start, stop, step = (float(v) for v in range_match.groups())
            if step <= 0:
                raise ConfigError(f"{name}: step {step:g} must be > 0")
            count = math.floor(abs(stop - start) / step + 1e-9) + 1
            if count > MAX_VOLTAGES:
                raise ConfigError(f"{name}: {value!r} gives {count} voltages; allowed: at most {MAX_VOLTAGES}")
            direction = 1 if stop >= start else -1
            values: list[object] = [round(start + direction * i * step, 6) for i in range(count)]
        elif re.fullmatch(f"{_NUMBER}(,{_NUMBER})*", value):
            values = [float(v.strip()) for v in value.split(",")]
        else:
            raise ConfigError(
                f"{name}: {value!r} is not START:STOP:STEP or a comma-separated list of volts (e.g. 0.9:0.5:0.05)"
            )
    elif isinstance(value, list | tuple):
        values = list(value)
    elif hasattr(value, "tolist"):
        listed = value.tolist()
        values = list(listed) if isinstance(listed, list) else [listed]
    else:
        values = [value]
    if not values:
        raise ConfigError(f"{name}: expected at least one supply voltage")
    if len(values) > MAX_VOLTAGES:
        raise ConfigError(f"{name}: {len(values)} voltages; allowed: at most {MAX_VOLTAGES}")
    result = []
    for item in values:
        ok = isinstance(item, numbers.Real) and not isinstance(item, bool)
        number = float(item) if ok else math.nan  # type: ignore[arg-type]
        if not 0 < number <= 2:
            shown = f"{number:g} V" if ok else repr(item)
            hint = f"; in volts, {number / 1000:g} V ({number:g} mV)?" if ok and 100 <= number <= 2000 else ""
            raise ConfigError(f"{name}: {shown} is out of range; allowed: (0, 2] V{hint}")
        if number in result:
            raise ConfigError(f"{name}: {number:g} V is listed twice; allowed: each supply voltage once")
        result.append(number)
    return tuple(result)


def vdd_range(text: str, *, field: str = "vdd_v", technology: str | None = None) -> list[float]:
    """:func:`vdd_values` of `text`, each inside the operating range of `technology` when given
    (above its threshold voltage, at most its maximum supply).

    Raises
    ------
    ConfigError
        As :func:`vdd_values`, or a voltage outside the technology's range.
    """
    values = list(vdd_values(text, field))
    if technology is not None:
        from experiments.technology_files import resolve_user_technology
        from pe_models.technology import resolve_technology

        preset = resolve_technology(resolve_user_technology(technology))
        for value in values:
            try:
                preset.delay_scale(value)
            except ConfigError as error:
                raise ConfigError(str(error).replace("vdd_v", field)) from None
    return values


def bit_range(text: str | None, *, width: int, field: str = "protect") -> int:
    """Bit positions ``31:20``, ``31,5`` or ``none`` as a mask of bits 0 .. width - 1.

    Raises
    ------
    ConfigError
        ``protect: bit 40 is out of range; allowed: 0..31`` or a malformed list.
    """
    from sim.protection import parse_bit_mask

    return parse_bit_mask(text or "none", width=width, option=field)


def _mount_type(path: Path) -> str | None:
    """The filesystem type of the mount holding `path` (Linux), or None when unknown."""
    try:
        with open("/proc/self/mounts", encoding="utf-8", errors="replace") as handle:
            mounts = [line.split() for line in handle]
    except OSError:
        return None
    best, kind = "", None
    text = str(path)
    for fields in mounts:
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        if (text == point or text.startswith(point.rstrip("/") + "/")) and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind


def _existing_ancestor(path: Path) -> Path:
    current = path
    while not current.exists():
        if current.parent == current:
            break
        current = current.parent
    return current


def output_folder(value: object, *, field: str = "out") -> Path:
    """A folder results may be written to: checked before any work is done.

    The folder need not exist (it is created with its parents), but it must not be an
    existing file, the empty string, or lie on a virtual filesystem (``/proc``, ``/sys``,
    ``/dev``); its nearest existing ancestor must be a folder this user can enter and
    write in, on a writable filesystem.

    Raises
    ------
    ConfigError
        ``--out: '' is not a folder; allowed: a folder path such as vscale-out/probs``, or
        one line naming the folder and why it cannot be written.
    """
    text = os.fspath(value) if isinstance(value, (str, os.PathLike)) else value
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{field}: {text!r} is not a folder; allowed: a folder path such as vscale-out/probs")
    if "\x00" in text:
        raise ConfigError(f"{field}: {text!r} contains a NUL character")
    path = Path(text)
    try:
        resolved = path.resolve()
        ancestor = _existing_ancestor(resolved)
        if resolved.exists() and not resolved.is_dir():
            raise ConfigError(f"{field}: {path} exists and is not a directory")
        if not ancestor.is_dir():
            raise ConfigError(f"{field}: {path}: {ancestor} is not a directory")
    except OSError as error:
        raise ConfigError(f"{field}: {path}: {error.strerror or type(error).__name__}") from None
    kind = _mount_type(ancestor)
    virtual = kind in _VIRTUAL_FILESYSTEMS or any(
        resolved == Path(root) or Path(root) in resolved.parents for root in ("/proc", "/sys", "/dev/pts")
    )
    if virtual:
        raise ConfigError(f"{field}: {path} is on a virtual filesystem ({kind or 'system'}); choose a folder on a disk")
    if not os.access(ancestor, os.X_OK):
        raise ConfigError(f"{field}: {path}: cannot enter {ancestor} (permission denied)")
    if not os.access(ancestor, os.W_OK):
        raise ConfigError(f"{field}: {path}: cannot write in {ancestor} (permission denied)")
    try:
        if os.statvfs(ancestor).f_flag & os.ST_RDONLY:
            raise ConfigError(f"{field}: {path}: {ancestor} is on a read-only filesystem")
    except (OSError, AttributeError):
        pass
    return path


def parse_size(text: str, *, field: str = "max_memory") -> int:
    """A memory size such as ``512M``, ``2G``, ``1.5GiB``, ``800MB`` or ``1000000`` (bytes).

    ``K``/``M``/``G``/``T`` and ``KiB`` .. ``TiB`` are powers of 1024, ``KB`` .. ``TB``
    powers of 1000; case does not matter.

    Raises
    ------
    ConfigError
        ``--max-memory: expected a size such as 512M, 2G or 1.5GiB, got 'lots'``.
    """
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([a-z]*)\s*", str(text).lower())
    if match is None or match.group(2) not in _SIZE_UNITS:
        raise ConfigError(f"{field}: expected a size such as 512M, 2G or 1.5GiB, got {text!r}")
    size = float(match.group(1)) * _SIZE_UNITS[match.group(2)]
    if not math.isfinite(size) or size < 1:
        raise ConfigError(f"{field}: {text!r} is out of range; allowed: at least 1 byte")
    return int(size)


def format_bytes(size: float) -> str:
    """``1536`` -> ``'1.5 KiB'``; binary units up to EiB."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            return f"{value:.0f} B" if unit == "B" else f"{value:.3g} {unit}"
        value /= 1024
    return f"{value:.3g} EiB"


def available_memory() -> int:
    """Bytes of memory available to new allocations (``MemAvailable`` of ``/proc/meminfo``).

    Falls back to the free physical pages, then to 4 GiB, where ``/proc/meminfo`` is absent.
    """
    try:
        with open("/proc/meminfo", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return _FALLBACK_AVAILABLE


def default_memory_limit() -> int:
    """:data:`DEFAULT_MEMORY_FRACTION` of :func:`available_memory`, in bytes."""
    return int(DEFAULT_MEMORY_FRACTION * available_memory())


_limit: int | None = None


def memory_limit() -> int:
    """The limit in force: the one set by :func:`use_memory_limit`, else the default."""
    return default_memory_limit() if _limit is None else _limit


@contextmanager
def use_memory_limit(limit: int | None) -> Iterator[None]:
    """Within the block, :func:`check_memory` compares against `limit` bytes (None: default)."""
    global _limit
    previous, _limit = _limit, limit
    try:
        yield
    finally:
        _limit = previous


def check_memory(estimate_bytes: float, *, field: str, request: object) -> None:
    """Refuse a request whose estimated memory exceeds :func:`memory_limit`.

    Parameters
    ----------
    estimate_bytes : float
        Estimated peak memory of the request, in bytes.
    field : str
        The option (or config field) that makes the request large, e.g. ``--samples``.
    request : object
        Its value, shown in the message.

    Raises
    ------
    ConfigError
        ``--samples: 1000000000000 needs about 146 TiB of memory; the limit is 11.2 GiB
        (--max-memory; default 50% of the available memory)``.
    """
    limit = memory_limit()
    if estimate_bytes > limit:
        source = "--max-memory"
        if _limit is None:
            source += f"; default {DEFAULT_MEMORY_FRACTION:.0%} of the available memory"
        raise ConfigError(
            f"{field}: {request} needs about {format_bytes(estimate_bytes)} of memory; "
            f"the limit is {format_bytes(limit)} ({source})"
        )


def check_layer_memory(layer: Any, *, field: str) -> None:
    """Refuse a layer of a topology whose simulated operands would not fit :func:`memory_limit`.

    The estimate is the one of ``simulate --gemm M,N,K`` (:data:`BYTES_PER_OUTPUT` per output
    plus the int8 operands) for each of its groups, plus a convolution's input feature map
    drawn as float64 before it is lowered.

    Raises
    ------
    ConfigError
        ``topology: layer 'conv1' (M,N,K 1000,1000,1000) needs about ... of memory; the limit is ...``.
    """
    problem = layer.gemm()
    groups, m, n, k = problem.groups, problem.m, problem.n, problem.k
    estimate = groups * _gemm_bytes(m, n, k)
    feature_map = ("channels", "ifmap_h", "ifmap_w")
    if all(hasattr(layer, name) for name in feature_map):
        estimate += 8 * layer.channels * layer.ifmap_h * layer.ifmap_w
    shape = f"{m},{n},{k}" if groups == 1 else f"{groups} groups of {m},{n},{k}"
    check_memory(estimate, field=field, request=f"layer {layer.name!r} (M,N,K {shape})")


_COUNT_MINIMUM = {
    "samples": 1000,
    "array_rows": 1,
    "lanes": 1,
    "steps": 2,
    "bins": 2,
    "penalty_cycles": 0,
    "activity_samples": 1,
    "jobs": 1,
    "selection_images": 1,
    "test_images": 1,
}
"""Integer fields shared by several commands and their smallest allowed value."""

BYTES_PER_CHAIN_SAMPLE = 160
"""Peak memory per Monte Carlo MAC of ``probs --level chain`` (measured 127 B, with margin)."""
BYTES_PER_DNN_ROW_STEP = 32
"""Peak memory per (column row x step) of the synthetic ``dnn`` operand stream (measured 22 B)."""
BYTES_PER_BIT_BIN = 500
"""Memory per (accumulator bit x histogram bin) of ``slack`` (measured 372 B)."""
BYTES_PER_OUTPUT = 48
"""Memory per output element of a simulated GEMM (measured 30 B), plus the int8 operands."""
BYTES_PER_TRACE_VALUE = 64
"""Memory per (lane x step) of ``trace`` (measured 49 B)."""
BYTES_PER_IMAGE = 1_300_000
"""Memory per ImageNet-preprocessed image of a folder (3 x 224 x 224 float32, stacked twice)."""


def _gemm_bytes(m: int, n: int, k: int) -> int:
    """Peak memory of simulating one M x N x K GEMM: its outputs and its int8 operands."""
    return BYTES_PER_OUTPUT * m * n + m * k + k * n


def check_arguments(args: object, options: dict[str, str] | None = None) -> None:
    """Check the values several commands share, by field name, with the same message everywhere.

    Seeds, counts (``samples``, ``array_rows``, ``lanes``, ``steps``, ``bins``,
    ``penalty_cycles``, ``jobs``, ``images`` N), finite floats, ``f_clk_mhz`` > 0 and
    supply voltages (``vdd_v``: a number, ``START:STOP:STEP``, a list or ``HIGH:LOW``
    bounds; inside the operating range of the technology preset, whatever the command does
    with them; a technology file checks its own). ``jobs`` is then capped by the cores (the
    library caps it by the work items).

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments, each under its field name.
    options : dict, optional
        Destination -> option string, for the messages (default: the field names; the
        command line translates them).
    """
    values = vars(args)
    names = options or {}

    def option(dest: str) -> str:
        return names.get(dest, dest)

    for dest, value in values.items():
        if dest.startswith("_") or value is None:
            continue
        if dest == "seed":
            seed(value, field=option(dest))
        elif dest in _COUNT_MINIMUM and isinstance(value, int):
            count(value, field=option(dest), minimum=_COUNT_MINIMUM[dest])
        elif dest == "images" and isinstance(value, int):
            count(value, field=option(dest))
        elif dest == "images" and isinstance(value, str) and value.strip().isdigit():
            count(int(value), field=option(dest))
        elif isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{option(dest)}: expected a finite number, got {value!r}")
        if dest == "f_clk_mhz" and isinstance(value, float) and value <= 0:
            raise ConfigError(f"{option(dest)}: expected a number of MHz in (0, inf), got {value!r}")
    technology = _preset(values.get("technology"))
    if values.get("command") == "tech" and values.get("tech_command") == "characterize":
        technology = None
    vdd = values.get("vdd_v")
    if isinstance(vdd, str):
        bounds = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*:\s*([0-9]*\.?[0-9]+)\s*", vdd)
        text = ",".join(bounds.groups()) if bounds else vdd
        vdd_range(text, field=option("vdd_v"), technology=technology)
    elif isinstance(vdd, float):
        vdd_range(f"{vdd!r}", field=option("vdd_v"), technology=technology)
    if isinstance(values.get("jobs"), int):
        setattr(args, "jobs", workers(values["jobs"], work=values["jobs"], field=option("jobs")))  # noqa: B010


def _preset(technology: object) -> str | None:
    """The technology preset whose range the voltages are checked against (None: a user's file)."""
    from pe_models.technology import DEFAULT_TECHNOLOGY, TECHNOLOGIES

    if technology is None:
        return DEFAULT_TECHNOLOGY
    return technology if isinstance(technology, str) and technology in TECHNOLOGIES else None


def estimate_memory(args: object) -> list[tuple[str, str, int]]:
    """Estimated peak memory of the large parts of a request: ``(field, request, bytes)``.

    Only what grows with the request is counted (not the interpreter and libraries, about
    200 MiB); the constants are measured peaks with a margin (see this module's
    ``BYTES_PER_*``).
    """
    values = vars(args)
    command = values.get("command")
    found: list[tuple[str, str, int]] = []
    if command in ("probs", "run") and values.get("level") == "chain" and isinstance(values.get("samples"), int):
        found.append(("samples", str(values["samples"]), BYTES_PER_CHAIN_SAMPLE * values["samples"]))
    rows = values.get("array_rows")
    if command in ("probs", "run", "slack") and values.get("operands") == "dnn" and isinstance(rows, int):
        steps = 4096 if command == "slack" else 2048
        found.append(("array_rows", str(rows), BYTES_PER_DNN_ROW_STEP * rows * steps))
    bins, width = values.get("bins"), values.get("width")
    if command == "slack" and isinstance(bins, int):
        bits = width if isinstance(width, int) else 32
        found.append(("bins", str(bins), BYTES_PER_BIT_BIN * bits * bins))
    text = values.get("gemm")
    match = re.fullmatch(r"\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*", text) if isinstance(text, str) else None
    if command in ("simulate", "energy") and match:
        m, n, k = (int(v) for v in match.groups())
        found.append(("gemm", str(text), _gemm_bytes(m, n, k)))
    lanes, requested = values.get("lanes"), values.get("steps")
    if command == "trace" and isinstance(lanes, int):
        steps = requested if isinstance(requested, int) else 4096
        field = "lanes" if lanes >= steps else "steps"
        found.append((field, f"{lanes} lanes x {steps} steps", BYTES_PER_TRACE_VALUE * lanes * steps))
    images = values.get("images")
    if command in ("accuracy", "run") and isinstance(images, str) and not images.isdigit():
        folder = Path(images)
        try:
            files = sum(1 for entry in os.scandir(folder) if entry.is_file()) if folder.is_dir() else 0
        except OSError:
            files = 0
        found.append(("images", f"{images} ({files} files)", BYTES_PER_IMAGE * files))
    return found


MACS_PER_SECOND = 1e8
"""Chain-level MACs per second of the array engines (README "Measured figures": 1.0-1.5e8 on one core)."""
NOTE_SECONDS = 600.0
"""Requests estimated to run longer than this get a note on stderr (they are not refused)."""


def estimate_seconds(args: object) -> list[tuple[str, str, float]]:
    """Estimated run time of the parts of a request whose MAC count is known from the fields alone.

    ``simulate --gemm M,N,K`` and ``energy --gemm M,N,K --simulate`` (M x N x K MACs through the
    chain-level array engine) and ``probs``/``run --level chain`` (samples x voltages), at
    :data:`MACS_PER_SECOND`; a lower bound, as the engines do more than the MACs.
    """
    values = vars(args)
    command = values.get("command")
    found: list[tuple[str, str, float]] = []
    text = values.get("gemm")
    match = re.fullmatch(r"\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*", text) if isinstance(text, str) else None
    simulated = command == "simulate" or (command == "energy" and values.get("simulate"))
    if simulated and match:
        m, n, k = (int(v) for v in match.groups())
        found.append(("gemm", f"{text} ({m * n * k:.3g} MACs)", m * n * k / MACS_PER_SECOND))
    samples, vdd = values.get("samples"), values.get("vdd_v")
    if command in ("probs", "run") and values.get("level") == "chain" and isinstance(samples, int):
        points = len(vdd_range(vdd)) if isinstance(vdd, str) else 1
        found.append(("samples", f"{samples} x {points} voltages", samples * points / MACS_PER_SECOND))
    return found


def _duration(seconds: float) -> str:
    for unit, size in (("days", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.3g} s"


def reasoned_preset(technology: object) -> bool:
    """Whether `technology` names a preset of reasoned cell delays (``generic-28nm``, ``finfet-7nm``)."""
    from pe_models.liberty import REASONED_DELAYS_PS

    return isinstance(technology, str) and technology in REASONED_DELAYS_PS


def guard(args: object, notes=None) -> None:
    """Refuse the request when one of its :func:`estimate_memory` parts exceeds the limit.

    Parts estimated by :func:`estimate_seconds` to run longer than :data:`NOTE_SECONDS`
    are passed to `notes` (a callable taking one line), not refused.
    """
    for field, request, size in estimate_memory(args):
        check_memory(size, field=field, request=request)
    if notes is not None:
        technology = getattr(args, "technology", None)
        if getattr(args, "command", None) != "tech" and reasoned_preset(technology):
            notes(
                f"technology: {technology} is a preset of reasoned values, not characterised (docs/technology.md); "
                "use ptm-32nm-hp-cells or Liberty files for quantitative claims"
            )
        for field, request, seconds in estimate_seconds(args):
            if seconds > NOTE_SECONDS:
                notes(f"{field}: {request} will take at least {_duration(seconds)}; Ctrl-C stops it")
