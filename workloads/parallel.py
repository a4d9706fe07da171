"""Images split across worker processes: batches of int8 inference run in a pool, results merged.

Inference is split into batches of a fixed size (independent of the number of workers);
each batch is one task. A backend that supports batch parallelism (it has
``start_batch(index)``, see :class:`BatchBackend`) is told the index of the batch before
it runs it, and draws its randomness from ``SeedSequence`` children keyed by that index,
never by the worker. Its counters (per-layer error counts, detections, cycles) are sums
over batches, merged in batch order. So the output codes and every counter are
bit-identical for any number of workers.

Workers
    ``workers=None`` means :func:`default_workers`: the ``VSCALE_WORKERS`` environment
    variable if set, else every core this process may run on. The pool never has more
    workers than tasks or cores. A sweep that runs its points in parallel sets
    ``VSCALE_WORKERS=1`` in its own workers (or passes ``workers=1``) so that each point
    uses one core; the pool's workers do the same for any inference nested in them.

Start method
    ``fork`` where the platform has it (the model, images and compiled numba kernels are
    inherited, nothing is pickled but the task indices and the results), else ``spawn``.
    ``VSCALE_START_METHOD=spawn`` (or ``forkserver``) overrides it, e.g. when the parent
    runs threads that make forking unsafe; then the model, images and backends are
    pickled once per worker and the numba kernels load from their on-disk cache.

Interruption
    Workers ignore SIGINT; if the parent is interrupted (Ctrl-C, SIGTERM turned into an
    exception) or a task fails, every worker is stopped and reaped before the exception
    propagates, so no worker outlives the call. Each worker talks to the parent over its
    own pipe, with one task in flight: no lock is shared between processes, so a worker
    killed at any instant (the CLI's signal handler stops every child at once) cannot
    leave the parent waiting on a lock it held (``multiprocessing.Pool`` could: its task
    and result queues share locks with the workers). A worker that dies without
    returning its task is an error naming its exit code, not a hang.
"""

from __future__ import annotations

import contextlib
import copyreg
import multiprocessing
import os
import pickle
import signal
from collections.abc import Callable, Iterable, Iterator, Sequence
from multiprocessing.connection import Connection, wait
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

import numpy as np

from pe_models.errors import ConfigError

__all__ = [
    "START_METHOD_VARIABLE",
    "WORKERS_VARIABLE",
    "BatchBackend",
    "batch_seed",
    "counts_of",
    "default_workers",
    "merge_counts",
    "reset_counts",
    "run_batches",
    "usable_cores",
]

WORKERS_VARIABLE = "VSCALE_WORKERS"
START_METHOD_VARIABLE = "VSCALE_START_METHOD"


def _reduce_mapping_proxy(proxy: MappingProxyType) -> tuple:
    return MappingProxyType, (dict(proxy),)


copyreg.pickle(MappingProxyType, _reduce_mapping_proxy)


@runtime_checkable
class BatchBackend(Protocol):
    """A GEMM backend whose batches may run in separate processes.

    Attributes
    ----------
    counters : tuple of str
        Names of its counter attributes: ints, or dicts (layer -> int or int array), each
        a sum over the GEMMs it ran.
    """

    counters: tuple[str, ...]

    def start_batch(self, index: int) -> None:
        """Forget per-batch state; draw the randomness of the next GEMMs from batch `index`."""
        ...

    def matmul(self, activations: np.ndarray, weights: np.ndarray, *, layer: str) -> np.ndarray: ...


def batch_seed(seed: np.random.SeedSequence, batch: int, call: int) -> np.random.SeedSequence:
    """The SeedSequence of GEMM `call` of batch `batch`: a child of `seed` keyed by both indices."""
    return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, batch, call), pool_size=seed.pool_size)


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity set), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_workers() -> int:
    """``VSCALE_WORKERS`` if set (a positive integer), else :func:`usable_cores`.

    Raises
    ------
    ConfigError
        The variable is set to something other than a positive integer.
    """
    text = os.environ.get(WORKERS_VARIABLE, "").strip()
    if not text:
        return usable_cores()
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"{WORKERS_VARIABLE}: {text!r} is not allowed; allowed: a positive integer")
    return int(text)


def _check_workers(workers: int | None) -> int:
    if workers is None:
        return default_workers()
    if isinstance(workers, bool) or not isinstance(workers, int | np.integer) or workers < 1:
        raise ConfigError(f"workers: {workers!r} is not allowed; allowed: a positive integer or None (all cores)")
    return int(workers)


def reset_counts(backend: Any) -> None:
    """Zero every counter of `backend` (dicts emptied, ints set to 0)."""
    for name in getattr(backend, "counters", ()):
        value = getattr(backend, name)
        setattr(backend, name, {} if isinstance(value, dict) else 0)


def counts_of(backend: Any) -> dict[str, Any]:
    """The counters of `backend` (a picklable dict, see :class:`BatchBackend`)."""
    return {name: getattr(backend, name) for name in getattr(backend, "counters", ())}


def merge_counts(backend: Any, counts: dict[str, Any]) -> None:
    """Add counters of one batch (from :func:`counts_of`) to `backend`'s."""
    for name, value in counts.items():
        current = getattr(backend, name)
        if isinstance(value, dict):
            for key, item in value.items():
                if key in current:
                    current[key] = current[key] + item
                else:
                    current[key] = item.copy() if isinstance(item, np.ndarray) else item
        else:
            setattr(backend, name, current + value)


_STATE: dict[str, Any] = {}


def _no_progress(items: Iterable[Any], *, total: int | None = None) -> Iterable[Any]:
    return items


def _start_worker(model: Any, images: np.ndarray, backends: Sequence[Any], batch_size: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ[WORKERS_VARIABLE] = "1"
    try:
        from threadpoolctl import threadpool_limits

        _STATE["limits"] = threadpool_limits(1)
    except ImportError:
        pass
    _STATE.update(model=model, images=images, backends=backends, batch_size=batch_size)


def _run_task(task: tuple[int, int]) -> tuple[int, int, np.ndarray, dict[str, Any]]:
    point, batch = task
    size = _STATE["batch_size"]
    backend = _STATE["backends"][point]
    reset_counts(backend)
    backend.start_batch(batch)
    codes = _STATE["model"].run_batch(_STATE["images"][batch * size : (batch + 1) * size], backend)
    return point, batch, codes, counts_of(backend)


def _worker_main(connection: Connection, setup: tuple[Any, np.ndarray, Sequence[Any], int]) -> None:
    """A worker: set up once, then run the tasks it is sent until it is sent None."""
    _start_worker(*setup)
    while True:
        try:
            task = connection.recv()
        except EOFError:
            return
        if task is None:
            return
        try:
            message: tuple[str, Any] = ("done", _run_task(task))
        except Exception as error:  # sent to the parent, which raises it there
            message = ("failed", _picklable(error))
        connection.send(message)


def _picklable(error: Exception) -> Exception:
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error


def _start_workers(count: int, setup: tuple[Any, np.ndarray, Sequence[Any], int]) -> list[tuple[Any, Connection]]:
    """`count` worker processes, each with its own pipe (no lock is shared between processes)."""
    context = _context()
    workers = []
    try:
        for _ in range(count):
            parent_end, child_end = context.Pipe()
            process = context.Process(target=_worker_main, args=(child_end, setup), daemon=True)
            process.start()
            child_end.close()
            workers.append((process, parent_end))
    except BaseException:
        _stop(workers)
        raise
    return workers


def _results(workers: list[tuple[Any, Connection]], tasks: list[tuple[int, int]]) -> Iterator[Any]:
    """Each task's result as it finishes; a worker gets its next task when it returns one.

    Raises
    ------
    RuntimeError
        A worker process ended without returning its task (killed, out of memory).
    """
    queue = iter(tasks)
    busy: dict[Connection, Any] = {}
    for process, connection in workers:
        task = next(queue, None)
        if task is None:
            break
        connection.send(task)
        busy[connection] = process
    while busy:
        ready = wait([*busy, *(process.sentinel for process in busy.values())])
        for connection in [item for item in ready if isinstance(item, Connection)]:
            try:
                status, value = connection.recv()
            except (EOFError, ConnectionError):  # a killed worker closes or resets its end
                raise _worker_lost(busy[connection]) from None
            if status == "failed":
                raise value
            task = next(queue, None)
            if task is None:
                del busy[connection]
            else:
                try:
                    connection.send(task)
                except ConnectionError:
                    raise _worker_lost(busy[connection]) from None
            yield value
        for connection, process in busy.items():
            if process.sentinel in ready and not connection.poll():
                raise _worker_lost(process)


def _worker_lost(process: Any) -> RuntimeError:
    process.join(timeout=1.0)
    return RuntimeError(
        f"workers: a worker process ended (exit code {process.exitcode}) before returning its batch; "
        "out of memory or killed?"
    )


def _stop(workers: list[tuple[Any, Connection]]) -> None:
    """Tell idle workers to end, kill the ones still running after a moment, reap them all."""
    for _process, connection in workers:
        with contextlib.suppress(OSError, ValueError):
            connection.send(None)
    for process, connection in workers:
        process.join(timeout=1.0)
        if process.is_alive():
            process.kill()
            process.join()
        connection.close()


def _context() -> Any:
    method = os.environ.get(START_METHOD_VARIABLE, "").strip()
    available = multiprocessing.get_all_start_methods()
    if method:
        if method not in available:
            raise ConfigError(f"{START_METHOD_VARIABLE}: {method!r} is not allowed; allowed: {', '.join(available)}")
        return multiprocessing.get_context(method)
    return multiprocessing.get_context("fork" if "fork" in available else "spawn")


def run_batches(
    model: Any,
    images: np.ndarray,
    backends: Sequence[Any],
    *,
    batch_size: int,
    workers: int | None = None,
    progress: Callable[..., Iterable[Any]] | None = None,
) -> list[np.ndarray]:
    """Run every batch of `images` through `model` with each backend (one per sweep point).

    Parameters
    ----------
    model : QuantizedModel
        Anything with ``run_batch(images, backend) -> codes``.
    images : ndarray, shape (N, ...)
    backends : sequence of GemmBackend
        One per point. Each worker runs its batches on its own copy of the backend (its
        counters zeroed and :meth:`BatchBackend.start_batch` called before each batch);
        the counters of every batch are added to the given backend's in batch order.
        With a start method other than ``fork`` the backends, the model and the images
        are pickled (read-only mappings included: this module registers a pickler for
        ``types.MappingProxyType``).
    batch_size : int
        Images per batch (>= 1), independent of `workers`.
    workers : int or None
        Worker processes (None: :func:`default_workers`), capped by the number of
        batches times backends and by the usable cores. Backends without ``start_batch``
        always run in this process, batch after batch, on the template itself; so does
        everything in a daemonic process (a pool worker cannot start its own pool).
    progress : callable, optional
        ``progress(items, total=n)`` wraps the stream of finished batches (a progress
        bar, e.g. :func:`experiments.output.progress`).

    Returns
    -------
    list of ndarray
        Output codes of all images, one array per backend.
    """
    requested = _check_workers(workers)
    count = len(images)
    batches = -(-count // batch_size) if count else 0
    parallel = all(isinstance(backend, BatchBackend) for backend in backends)
    tasks = [(point, batch) for point in range(len(backends)) for batch in range(batches)]
    pool_size = min(requested, len(tasks), usable_cores()) if parallel else 1
    if multiprocessing.current_process().daemon:
        pool_size = 1
    track = progress if progress is not None else _no_progress
    if pool_size <= 1:
        codes: dict[tuple[int, int], np.ndarray] = {}
        for point, batch in track(tasks, total=len(tasks)):
            backend = backends[point]
            if parallel:
                backend.start_batch(batch)
            codes[point, batch] = model.run_batch(images[batch * batch_size : (batch + 1) * batch_size], backend)
        return [
            np.concatenate([codes[point, batch] for batch in range(batches)]) if batches else np.zeros((0,), np.int8)
            for point in range(len(backends))
        ]
    results: dict[tuple[int, int], tuple[np.ndarray, dict[str, Any]]] = {}
    pool = _start_workers(pool_size, (model, images, list(backends), batch_size))
    try:
        for point, batch, codes_, counts in track(_results(pool, tasks), total=len(tasks)):
            results[point, batch] = (codes_, counts)
    finally:
        _stop(pool)
    outputs = []
    for point, backend in enumerate(backends):
        for batch in range(batches):
            merge_counts(backend, results[point, batch][1])
        outputs.append(np.concatenate([results[point, batch][0] for batch in range(batches)]))
    return outputs
