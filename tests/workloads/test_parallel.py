"""Batches across worker processes: identical codes and counters for any worker count."""

import multiprocessing
import os
import signal

import numpy as np
import pytest

from pe_models.errors import ConfigError
from workloads import parallel
from workloads.backends import ExactBackend, make_injection_backend
from workloads.data import mnist_calibration_images, mnist_test_set
from workloads.engine import quantize_model
from workloads.models.tinymnv2 import load_tinymnv2


@pytest.fixture(scope="module")
def model():
    return quantize_model(load_tinymnv2(), mnist_calibration_images()[:64])


@pytest.fixture(scope="module")
def images():
    return mnist_test_set().images[:12]


def _counters(backend):
    values = {}
    for name in backend.counters:
        value = getattr(backend, name)
        values[name] = {k: np.asarray(v).tolist() for k, v in value.items()} if isinstance(value, dict) else value
    return values


class _PerGroup:
    """Hides ``matmul_groups`` and batch support: every group one ``matmul``, in this process."""

    def __init__(self, backend):
        self.backend = backend
        self.name = backend.name
        self.stats = backend.stats

    def matmul(self, activations, weights, *, layer):
        return self.backend.matmul(activations, weights, layer=layer)


@pytest.mark.parametrize(("injection", "vdd"), [("bitlevel", 0.5), ("statistical", 0.5), ("exact", 0.9)])
def test_codes_and_counters_do_not_depend_on_the_worker_count(model, images, injection, vdd):
    runs = []
    for workers in (1, 3):
        backend = make_injection_backend(injection, vdd_v=vdd, protect_mask=0xF0000000, seed=np.random.SeedSequence(4))
        codes = model.run(images, backend, batch_size=4, workers=workers)
        runs.append((codes, _counters(backend)))
    for codes, counters in runs[1:]:
        assert np.array_equal(codes, runs[0][0])
        assert counters == runs[0][1]
    if injection != "exact":
        assert sum(sum(v) for v in runs[0][1]["stats"].values()) > 0


def test_grouped_convolutions_in_one_call_equal_one_call_per_group(model, images):
    """Bit-level: the depthwise groups through ``matmul_groups`` equal G separate GEMMs, cycles included
    (a 150 ps window: the default, largest one leaves every error at 0.5 V undetected)."""
    options = {"vdd_v": 0.5, "protect_mask": 0xF0000000, "razor_window_ps": 150.0}
    grouped = make_injection_backend("bitlevel", seed=np.random.SeedSequence(4), **options)
    separate = make_injection_backend("bitlevel", seed=np.random.SeedSequence(4), **options)
    codes = model.run(images, grouped, batch_size=6, workers=1)
    reference = model.run(images, _PerGroup(separate), batch_size=6, workers=2)
    assert np.array_equal(codes, reference)
    assert _counters(grouped) == _counters(separate)
    assert grouped.correction_cycles > 0


def test_counters_add_to_what_the_backend_already_counted(model, images):
    backend = make_injection_backend("bitlevel", vdd_v=0.5, protect_mask=0, seed=np.random.SeedSequence(4))
    model.run(images[:12], backend, batch_size=6, workers=2)
    once = _counters(backend)
    model.run(images[:12], backend, batch_size=6, workers=2)
    twice = _counters(backend)
    assert twice["compute_cycles"] == 2 * once["compute_cycles"] > 0
    assert twice["stats"] == {layer: [2 * n for n in counts] for layer, counts in once["stats"].items()}


def test_batch_seeds_are_keyed_by_batch_and_call_not_by_worker():
    seed = np.random.SeedSequence(9)
    assert parallel.batch_seed(seed, 2, 5).spawn_key == (2, 5)
    child = seed.spawn(1)[0]
    assert parallel.batch_seed(child, 1, 0).spawn_key == (0, 1, 0)
    assert parallel.batch_seed(seed, 0, 1).entropy == seed.entropy


def test_workers_come_from_the_environment_variable(monkeypatch):
    monkeypatch.setenv("VSCALE_WORKERS", "3")
    assert parallel.default_workers() == 3
    monkeypatch.setenv("VSCALE_WORKERS", "zero")
    with pytest.raises(ConfigError, match=r"^VSCALE_WORKERS: 'zero' is not allowed; allowed: a positive integer$"):
        parallel.default_workers()
    monkeypatch.delenv("VSCALE_WORKERS")
    assert parallel.default_workers() == parallel.usable_cores()


def test_bad_worker_count_is_a_config_error(model, images):
    with pytest.raises(ConfigError, match=r"^workers: 0 is not allowed; allowed: a positive integer or None"):
        model.run(images, ExactBackend(), workers=0)


def test_backends_without_batch_support_run_in_this_process(model, images):
    calls = []

    class Recording(ExactBackend):
        def matmul(self, activations, weights, *, layer):
            calls.append(os.getpid())
            return super().matmul(activations, weights, layer=layer)

    plain = _PerGroup(Recording())
    model.run(images, plain, batch_size=5, workers=4)
    assert set(calls) == {os.getpid()}


class _Failing(ExactBackend):
    def start_batch(self, index):
        self.index = index

    def matmul(self, activations, weights, *, layer):
        if self.index == 3:
            raise RuntimeError("batch 3 failed")
        return super().matmul(activations, weights, layer=layer)


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_a_failing_batch_stops_every_worker(model, images):
    with pytest.raises(RuntimeError, match="batch 3 failed"):
        model.run(images, _Failing(), batch_size=2, workers=2)
    assert multiprocessing.active_children() == []


def _run_in_worker(model_and_images):
    model, images = model_and_images
    return model.run(images, ExactBackend(), batch_size=2, workers=2)


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
@pytest.mark.skipif(parallel.usable_cores() < 2, reason="with one core no pool is asked for")
def test_inside_a_pool_worker_batches_run_in_that_worker(model, images):
    """A daemonic pool worker cannot start a pool of its own: its batches run in-process."""
    expected = model.run(images, ExactBackend(), batch_size=2, workers=1)
    with multiprocessing.get_context("fork").Pool(1) as pool:
        (codes,) = pool.map(_run_in_worker, [(model, images)])
    assert np.array_equal(codes, expected)


class _Dying(ExactBackend):
    """Batch 3 kills the worker process that runs it (as the kernel's out-of-memory killer would)."""

    def start_batch(self, index):
        self.index = index

    def matmul(self, activations, weights, *, layer):
        if self.index == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().matmul(activations, weights, layer=layer)


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
@pytest.mark.skipif(parallel.usable_cores() < 2, reason="with one core no pool is asked for")
def test_a_worker_killed_mid_batch_is_an_error_not_a_hang(model, images):
    with pytest.raises(
        RuntimeError,
        match=r"^workers: a worker process ended \(exit code -9\) before returning its batch; "
        r"out of memory or killed\?$",
    ):
        model.run(images, _Dying(), batch_size=2, workers=2)
    assert multiprocessing.active_children() == []


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
@pytest.mark.skipif(parallel.usable_cores() < 2, reason="with one core no pool is asked for")
def test_workers_killed_while_idle_or_busy_never_leave_the_parent_waiting(model, images):
    """The CLI's signal handler kills every child at once; the parent must still get out."""

    class KillsItsSiblings(ExactBackend):
        def start_batch(self, index):
            self.index = index

        def matmul(self, activations, weights, *, layer):
            if self.index == 4:
                parent = os.getppid()
                for pid in [int(p) for p in os.listdir("/proc") if p.isdigit()]:
                    try:
                        fields = open(f"/proc/{pid}/stat", "rb").read().rsplit(b")", 1)[1].split()
                    except OSError:
                        continue
                    if int(fields[1]) == parent and pid != os.getpid():
                        os.kill(pid, signal.SIGKILL)
                os.kill(os.getpid(), signal.SIGKILL)
            return super().matmul(activations, weights, layer=layer)

    with pytest.raises(RuntimeError, match=r"^workers: a worker process ended \(exit code -9\)"):
        model.run(images, KillsItsSiblings(), batch_size=2, workers=2)
    assert multiprocessing.active_children() == []
