"""Sweeps: a study over the Cartesian product of parameter lists, resumable and distributable.

A sweep names a registered study (:data:`experiments.studies.STUDIES`), parameters fixed for
every point, a grid of parameter lists whose Cartesian product gives the points, and
optionally irregular extra points. Each point is a pure function of its config, so it is
keyed by a hash of the full config and the vscale version, and its result is written
atomically into a store, one file per point that is never rewritten once complete:

    DIR/
      sweep.json            the store's manifest: format, vscale version, the sweep spec
      points/<key>.json     one finished point: its parameters, config and result
      failed/<key>.json     one failed point: its parameters and one-line error (retried on rerun)
      journal.log           one line per event: "start KEY", "done KEY", "failed KEY"
      results.csv           one tidy row per finished point: parameters + result columns
      results.parquet       the same, when pyarrow is installed

A rerun (after an interrupt, a ``kill -9`` or a crash) computes only the points whose file is
missing. Executors: ``serial``, ``processes[:N]`` (the standard library's process pool with
the ``spawn`` start method, which works on every platform; N capped by the points and the
cores) and ``dask[:ADDRESS]`` (a ``distributed.LocalCluster`` of process workers, or the
scheduler at ADDRESS). The same config gives the same bits on every executor.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
import importlib
import io
import itertools
import json
import logging
import math
import os
import sys
import time
import tomllib
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pe_models.errors import ConfigError

from .studies import STUDIES, Study
from .vocabulary import accepted_names, resolve_names

__all__ = [
    "EXECUTORS",
    "STORE_FORMAT",
    "SweepPoint",
    "SweepResult",
    "SweepSpec",
    "compute_point",
    "load_sweep_spec",
    "parse_executor",
    "point_key",
    "run_sweep",
]

STORE_FORMAT = 1
"""Version of the store layout; a store with another format is refused."""

EXECUTORS = ("serial", "processes", "dask")
_SPEC_KEYS = ("study", "fixed", "grid", "points")
WORKERS_ENV = "VSCALE_WORKERS"
"""Environment variable a sweep worker sets to 1 so that a point uses one core."""


@functools.cache
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vscale")
    except PackageNotFoundError:
        return "0+unknown"


def _study(name: object) -> Study:
    if not isinstance(name, str) or name not in STUDIES:
        raise ConfigError(f"study: expected one of {', '.join(sorted(STUDIES))}, got {name!r}")
    return STUDIES[name]


def parameter_names(study: Study) -> dict[str, str]:
    """Every key a sweep may give for `study`, mapped to its config field.

    The keys are the config's field names (``vdd_v``, ``penalty_cycles``, ``f_clk_mhz``),
    and the short and earlier names of :mod:`experiments.vocabulary` that the command line
    takes too (``vdd``, ``penalty``).
    """
    return accepted_names(study.config_type)


@functools.cache
def _type_hints(config_type: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(config_type)
    except (NameError, TypeError):
        return {}


def _is_sequence_field(study: Study, name: str) -> bool:
    """Whether the config field takes a sequence (so a scalar grid value is wrapped in a list)."""
    hint = _type_hints(study.config_type).get(name)
    candidates = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    for candidate in candidates:
        origin = typing.get_origin(candidate) or candidate
        if isinstance(origin, type) and issubclass(origin, list | tuple):
            return True
    return False


@dataclass(frozen=True, kw_only=True)
class SweepPoint:
    """One point: its index in the sweep, its parameters (as written), and its key."""

    index: int
    parameters: Mapping[str, Any]
    key: str


@dataclass(frozen=True, kw_only=True)
class SweepSpec:
    """A sweep: a study, fixed parameters, a grid of parameter lists and extra points.

    Parameters
    ----------
    study : str
        A registered study name (:data:`experiments.studies.STUDIES`).
    fixed : mapping of str to value
        Parameters shared by every point.
    grid : mapping of str to list
        Parameter lists; the sweep is their Cartesian product (in the order given).
    points : sequence of mapping
        Irregular extra points (each merged over `fixed`).
    label : str
        Where the spec came from, for error messages.
    """

    study: str
    fixed: Mapping[str, Any] = field(default_factory=dict)
    grid: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    points: Sequence[Mapping[str, Any]] = ()
    label: str = "sweep"

    def __post_init__(self) -> None:
        study = _study(self.study)
        allowed = parameter_names(study)

        def check_keys(table: str, keys: Iterable[str]) -> None:
            resolve_names(study.config_type, dict.fromkeys(keys), short=True, where=f"{self.label}: {table}.")

        if not isinstance(self.fixed, Mapping):
            raise ConfigError(f"{self.label}: fixed: expected a table of parameters")
        if not isinstance(self.grid, Mapping):
            raise ConfigError(f"{self.label}: grid: expected a table of parameter lists")
        check_keys("fixed", self.fixed)
        check_keys("grid", self.grid)
        fixed_fields = {allowed[key] for key in self.fixed}
        for key, values in self.grid.items():
            if not isinstance(values, list | tuple):
                raise ConfigError(f"{self.label}: grid.{key}: expected a list of values, got {values!r}")
            if not values:
                raise ConfigError(f"{self.label}: grid.{key}: empty list; give at least one value")
            if allowed[key] in fixed_fields:
                raise ConfigError(f"{self.label}: grid.{key}: also in [fixed]; give it in one table only")
        if not isinstance(self.points, list | tuple):
            raise ConfigError(f"{self.label}: points: expected an array of tables [[points]]")
        for number, point in enumerate(self.points, start=1):
            if not isinstance(point, Mapping) or not point:
                raise ConfigError(f"{self.label}: points[{number}]: expected a non-empty table of parameters")
            check_keys(f"points[{number}]", point)
        if not self.grid and not self.points:
            raise ConfigError(f"{self.label}: the sweep has no points; give a [grid] table or [[points]]")

    def parameter_sets(self) -> list[dict[str, Any]]:
        """Every point's parameters: the grid's product, then the extra points, duplicates dropped."""
        sets: list[dict[str, Any]] = []
        if self.grid:
            names = list(self.grid)
            for values in itertools.product(*(self.grid[name] for name in names)):
                sets.append({**self.fixed, **dict(zip(names, values, strict=True))})
        sets.extend({**self.fixed, **point} for point in self.points)
        unique: dict[str, dict[str, Any]] = {}
        for parameters in sets:
            unique.setdefault(json.dumps(parameters, sort_keys=True, default=str), parameters)
        return list(unique.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "study": self.study,
            "fixed": dict(self.fixed),
            "grid": {k: list(v) for k, v in self.grid.items()},
            "points": [dict(p) for p in self.points],
        }


def load_sweep_spec(path: str | os.PathLike[str]) -> SweepSpec:
    """Read a sweep from a TOML file (``study``, ``[fixed]``, ``[grid]``, ``[[points]]``).

    Raises
    ------
    ConfigError
        One line naming the file and the key: unreadable or malformed TOML, unknown study,
        unknown keys (with the allowed ones), empty lists.
    """
    label = str(path)
    if not label.strip():
        raise ConfigError(f"STUDY.toml: {label!r} is not a file; give the sweep description file (or --list)")
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ConfigError(f"{label}: cannot read the sweep file: {error.strerror or error}") from None
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{label}: not a UTF-8 text file; expected a TOML sweep description") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{label}: not valid TOML: {error}") from None
    for key in document:
        if key not in _SPEC_KEYS:
            raise ConfigError(f"{label}: unknown key {key!r}; allowed: {', '.join(_SPEC_KEYS)}")
    if "study" not in document:
        raise ConfigError(f"{label}: study: missing; expected one of {', '.join(sorted(STUDIES))}")
    if document["study"] not in STUDIES:
        raise ConfigError(f"{label}: study: expected one of {', '.join(sorted(STUDIES))}, got {document['study']!r}")
    return SweepSpec(
        study=document["study"],
        fixed=document.get("fixed", {}),
        grid=document.get("grid", {}),
        points=document.get("points", []),
        label=label,
    )


def build_config(study: Study, parameters: Mapping[str, Any]) -> Any:
    """The study's frozen config for one point (keys mapped to fields; scalars given to list fields wrapped)."""
    names = parameter_names(study)
    kwargs = {}
    for key, value in parameters.items():
        name = names.get(key, key)
        kwargs[name] = [value] if _is_sequence_field(study, name) and not isinstance(value, list | tuple) else value
    return study.config_type(**kwargs)


def _canonical(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda item: str(item[0]))}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def point_key(study: str, config: Any, *, version: str | None = None) -> str:
    """Hash (hex, 20 characters) of the study, its full config and the vscale version."""
    text = json.dumps(
        {"study": study, "config": _canonical(config), "version": version or _version()},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def compute_point(study_name: str, parameters: Mapping[str, Any], module: str | None = None) -> dict[str, Any]:
    """Run one point in this process: ``{"status": "ok", "result": {...}}`` or ``{"status": "failed", ...}``.

    A module-level function so that process-pool and Dask workers can run it; it uses one
    core for the point (``VSCALE_WORKERS=1``) because the sweep runs points in parallel.
    `module` is the module that defines the study (its ``STUDY``): a worker process that
    does not know the study yet (a user's own study, registered in the parent) imports it.
    """
    os.environ[WORKERS_ENV] = "1"
    if module is not None and study_name not in STUDIES:
        defined = getattr(importlib.import_module(module), "STUDY", None)
        if isinstance(defined, Study) and defined.name == study_name:
            STUDIES.setdefault(study_name, defined)
    study = STUDIES[study_name]
    start = time.perf_counter()
    try:
        result = study(build_config(study, parameters))
    except (ConfigError, ValueError, ArithmeticError, OSError) as error:
        message = " ".join(str(error).split()) or type(error).__name__
        return {"status": "failed", "error": message, "seconds": time.perf_counter() - start}
    return {"status": "ok", "result": json.loads(result.to_json()), "seconds": time.perf_counter() - start}


def parse_executor(text: str) -> tuple[str, str | int | None]:
    """``serial``, ``processes[:N]`` or ``dask[:ADDRESS]`` -> (kind, N or address or None)."""
    kind, _, argument = text.partition(":")
    if kind not in EXECUTORS:
        raise ConfigError(f"executor: expected serial, processes[:N] or dask[:ADDRESS], got {text!r}")
    if kind == "serial":
        if argument:
            raise ConfigError(f"executor: serial takes no argument, got {text!r}")
        return kind, None
    if kind == "processes":
        if not argument:
            return kind, None
        if not argument.isdigit() or int(argument) < 1:
            raise ConfigError(f"executor: processes:N needs a positive number of workers, got {argument!r}")
        return kind, int(argument)
    return kind, argument or None


@dataclass(frozen=True, kw_only=True)
class SweepResult:
    """What a sweep run found and did.

    Attributes
    ----------
    rows : tuple of dict
        One tidy row per finished point: ``point_key``, the point's parameters, then the
        study's result columns: its single row and its totals; with several rows, the totals
        when they sum the rows (they share columns, as ``simulate``'s per-layer rows do),
        else one row per result row (numbered in ``row``).
    computed, skipped : int
        Points computed in this run, and points already in the store.
    failed : tuple of (dict, str)
        Parameters and one-line error of every point that failed in this run.
    """

    spec: SweepSpec
    rows: tuple[dict[str, Any], ...]
    computed: int
    skipped: int
    failed: tuple[tuple[dict[str, Any], str], ...]

    @property
    def columns(self) -> list[str]:
        names: dict[str, None] = {}
        for row in self.rows:
            names.update(dict.fromkeys(row))
        return list(names)

    def to_csv(self, path: str | os.PathLike[str] | None = None) -> str:
        from .results import display_value

        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.columns, lineterminator="\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({k: display_value(v) for k, v in row.items()})
        text = buffer.getvalue()
        if path is not None:
            _write_atomic(Path(path), text)
        return text


class _Store:
    def __init__(self, root: Path, spec: SweepSpec) -> None:
        self.root = root
        self.spec = spec
        self.version = _version()

    @property
    def manifest(self) -> Path:
        return self.root / "sweep.json"

    def open(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise ConfigError(f"out: {self.root} exists and is not a directory")
        if self.manifest.is_file():
            try:
                manifest = json.loads(self.manifest.read_text())
                fmt = manifest["format"]
            except (OSError, ValueError, KeyError, TypeError):
                raise ConfigError(f"out: {self.manifest} is not a vscale sweep manifest") from None
            if fmt != STORE_FORMAT:
                raise ConfigError(
                    f"out: {self.root} is a sweep store of format {fmt!r} (vscale {manifest.get('vscale_version')}); "
                    f"this vscale reads format {STORE_FORMAT}: use another out folder"
                )
        elif self.root.is_dir() and any(self.root.iterdir()):
            raise ConfigError(f"out: {self.root} is neither empty nor a sweep store (no sweep.json)")
        for folder in (self.root, self.root / "points", self.root / "failed"):
            folder.mkdir(parents=True, exist_ok=True)
        if not self.manifest.is_file():
            _write_atomic(
                self.manifest,
                json.dumps(
                    {"format": STORE_FORMAT, "vscale_version": self.version, "spec": self.spec.as_dict()}, indent=1
                )
                + "\n",
            )

    def done(self, key: str) -> bool:
        """The point's file holds its result as written: a file cut short, or edited by hand (its
        result no longer matches the digest written beside it), is recomputed."""
        try:
            document = self.load(key)
        except (OSError, ValueError):
            return False
        return (
            isinstance(document, dict)
            and document.get("key") == key
            and isinstance(document.get("result"), dict)
            and document.get("result_sha256") == _result_digest(document["result"])
        )

    def journal(self, event: str, key: str) -> None:
        with (self.root / "journal.log").open("a") as handle:
            handle.write(f"{event} {key}\n")

    def record(self, point: SweepPoint, config: Any, payload: Mapping[str, Any]) -> None:
        document = {
            "key": point.key,
            "study": self.spec.study,
            "vscale_version": self.version,
            "parameters": dict(point.parameters),
            "config": _canonical(config),
            **payload,
        }
        if "result" in payload:
            document["result_sha256"] = _result_digest(json.loads(json.dumps(payload["result"], default=str)))
        text = json.dumps(document, indent=1, default=str) + "\n"
        if payload["status"] == "ok":
            _write_atomic(self.root / "points" / f"{point.key}.json", text)
            (self.root / "failed" / f"{point.key}.json").unlink(missing_ok=True)
            self.journal("done", point.key)
        else:
            _write_atomic(self.root / "failed" / f"{point.key}.json", text)
            self.journal("failed", point.key)

    def load(self, key: str) -> dict[str, Any]:
        return json.loads((self.root / "points" / f"{key}.json").read_text())


def _result_digest(result: Any) -> str:
    """SHA-256 (hex) of a point's result as read back from its file (keys sorted)."""
    return hashlib.sha256(json.dumps(result, sort_keys=True).encode()).hexdigest()


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def _tidy_rows(key: str, parameters: Mapping[str, Any], result: Mapping[str, Any]) -> list[dict[str, Any]]:
    base = {"point_key": key, **{name: _flat(value) for name, value in parameters.items()}}
    totals = result.get("totals") or {}
    rows = result.get("rows") or []

    def merged(*parts: Mapping[str, Any]) -> dict[str, Any]:
        row = dict(base)
        for part in parts:
            row.update({k: _flat(v) for k, v in part.items() if k not in row})
        return row

    if len(rows) <= 1:
        return [merged(rows[0] if rows else {}, totals)]
    if set(totals) & set(rows[0]):
        return [merged(totals)]
    return [{**merged(row, totals), "row": i} for i, row in enumerate(rows)]


def _flat(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value) if len(value) != 1 else value[0]
    if isinstance(value, Mapping):
        return json.dumps(value, sort_keys=True)
    return value


def _progress(total: int) -> Callable[[], None]:
    """A completion-order progress line with ETA on a terminal; nothing when stderr is piped."""
    stream = sys.stderr
    start = time.monotonic()
    done = 0
    if not stream.isatty() or total == 0:
        return lambda: None

    def tick() -> None:
        nonlocal done
        done += 1
        elapsed = time.monotonic() - start
        eta = elapsed / done * (total - done)
        width = 30
        bar = "#" * int(width * done / total) + "." * (width - int(width * done / total))
        stream.write(f"\rsweep [{bar}] {done}/{total} {elapsed:6.1f}s elapsed, ETA {eta:6.1f}s")
        if done == total:
            stream.write("\n")
        stream.flush()

    return tick


def _serial(jobs: list[SweepPoint], study: str, module: str) -> Iterator[tuple[SweepPoint, dict[str, Any]]]:
    for point in jobs:
        yield point, compute_point(study, point.parameters, module)


def _processes(
    jobs: list[SweepPoint], study: str, module: str, workers: int | None
) -> Iterator[tuple[SweepPoint, dict[str, Any]]]:
    import multiprocessing

    count = min(len(jobs), workers or os.cpu_count() or 1)
    pool = ProcessPoolExecutor(max_workers=count, mp_context=multiprocessing.get_context("spawn"))
    try:
        futures: dict[Future, SweepPoint] = {pool.submit(compute_point, study, p.parameters, module): p for p in jobs}
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                yield futures[future], future.result()
    except BaseException:
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _dask_client(address: str | None, workers: int) -> tuple[Any, Any]:
    """(client, local cluster or None): a LocalCluster of process workers, or the scheduler at `address`.

    The local cluster logs errors only: its warnings (a task cancelled when Ctrl-C stops
    the sweep, say) are not the user's business; a point's own failure is recorded in the store.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError("executor: dask needs the optional extra: pip install 'vscale[dask]'") from None
    if address is None:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        return Client(cluster), cluster
    try:
        return Client(address, timeout="5s"), None
    except (OSError, TimeoutError, ValueError) as error:
        detail = " ".join(str(error).split()) or type(error).__name__
        raise ConfigError(f"executor: cannot reach the Dask scheduler at {address}: {detail}") from None


def _dask(
    jobs: list[SweepPoint], study: str, module: str, connection: tuple[Any, Any]
) -> Iterator[tuple[SweepPoint, dict[str, Any]]]:
    from distributed import as_completed

    client, _ = connection
    try:
        futures = {
            client.submit(
                compute_point, study, dict(p.parameters), module, key=f"vscale-{p.key}", pure=False, retries=3
            ): p
            for p in jobs
        }
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        _close(connection)


def _close(connection: tuple[Any, Any]) -> None:
    client, cluster = connection
    client.close()
    if cluster is not None:
        cluster.close()


def run_sweep(
    spec: SweepSpec,
    *,
    store: str | os.PathLike[str],
    executor: str = "processes",
    on_point: Callable[[SweepPoint, Mapping[str, Any]], None] | None = None,
) -> SweepResult:
    """Run every point of `spec` not yet in `store`, then gather the store's results.

    Parameters
    ----------
    spec : SweepSpec
    store : path
        The store folder (created; an existing store is resumed).
    executor : str
        ``serial``, ``processes[:N]`` or ``dask[:ADDRESS]``.
    on_point : callable, optional
        Called in this process with each finished point and its payload.

    Returns
    -------
    SweepResult

    Raises
    ------
    ConfigError
        A point's parameters are invalid (checked for every point before anything runs),
        the store is incompatible, or the executor is unknown or unreachable.
    """
    kind, argument = parse_executor(executor)
    study = _study(spec.study)
    points: list[tuple[SweepPoint, Any]] = []
    for index, parameters in enumerate(spec.parameter_sets()):
        try:
            config = build_config(study, parameters)
        except ConfigError as error:
            raise ConfigError(f"{spec.label}: point {index + 1} ({_describe(parameters)}): {error}") from None
        except TypeError as error:
            raise ConfigError(f"{spec.label}: point {index + 1} ({_describe(parameters)}): {error}") from None
        points.append((SweepPoint(index=index, parameters=parameters, key=point_key(spec.study, config)), config))
    root = Path(store)
    sweep_store = _Store(root, spec)
    todo = [(point, config) for point, config in points if not sweep_store.done(point.key)]
    connection = None
    if kind == "dask" and todo:
        connection = _dask_client(argument if isinstance(argument, str) else None, min(len(todo), os.cpu_count() or 1))
    try:
        sweep_store.open()
    except BaseException:
        if connection is not None:
            _close(connection)
        raise
    configs = {point.key: config for point, config in points}
    failed: list[tuple[dict[str, Any], str]] = []
    tick = _progress(len(todo))
    if todo:
        jobs = [point for point, _ in todo]
        for point in jobs:
            sweep_store.journal("start", point.key)
        module = study.function.__module__
        if kind == "serial":
            stream = _serial(jobs, spec.study, module)
        elif kind == "processes":
            stream = _processes(jobs, spec.study, module, argument if isinstance(argument, int) else None)
        else:
            assert connection is not None
            stream = _dask(jobs, spec.study, module, connection)
        for point, payload in stream:
            sweep_store.record(point, configs[point.key], payload)
            if payload["status"] != "ok":
                failed.append((dict(point.parameters), payload["error"]))
            if on_point is not None:
                on_point(point, payload)
            tick()
    rows: list[dict[str, Any]] = []
    for point, _ in points:
        if sweep_store.done(point.key):
            rows.extend(_tidy_rows(point.key, point.parameters, sweep_store.load(point.key)["result"]))
    result = SweepResult(
        spec=spec, rows=tuple(rows), computed=len(todo), skipped=len(points) - len(todo), failed=tuple(failed)
    )
    result.to_csv(root / "results.csv")
    _write_parquet(root / "results.parquet", result)
    return result


def _write_parquet(path: Path, result: SweepResult) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return
    table = pa.table({name: _parquet_column([row.get(name) for row in result.rows]) for name in result.columns})
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, temporary)
    os.replace(temporary, path)


def _parquet_column(values: list[Any]) -> list[Any]:
    """Numbers stay numbers when the whole column is numeric; anything else becomes text."""
    if all(value is None or (isinstance(value, int | float) and not isinstance(value, bool)) for value in values):
        return [None if value is None else float(value) for value in values]
    return [None if value is None else str(value) for value in values]


def _describe(parameters: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in parameters.items())
