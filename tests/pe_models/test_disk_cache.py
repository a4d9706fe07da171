"""Results kept on disk between processes: computed once, keyed by their inputs and code, JSON only."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest

from pe_models import disk_cache
from pe_models.disk_cache import persistent


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("VSCALE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _squares():
    calls = []

    @persistent(
        "test",
        key=lambda n: {"n": n},
        encode=lambda values: {"values": values},
        decode=lambda stored: [float(v) for v in stored["values"]],
        sources=("disk_cache.py",),
    )
    def squares(n: int) -> list[float]:
        calls.append(n)
        return [float(i * i) / 7 for i in range(n)]

    return squares, calls


def test_a_result_is_computed_once_and_read_back_exactly(folder):
    squares, calls = _squares()
    first = squares(5)
    again = squares(5)
    assert calls == [5] and again == first == [i * i / 7 for i in range(5)]
    (path,) = (folder / "test").iterdir()
    stored = json.loads(path.read_text())
    assert stored["key"]["inputs"] == {"n": 5} and stored["key"]["numpy"] == np.__version__


def test_other_inputs_are_computed_afresh(folder):
    squares, calls = _squares()
    squares(5)
    squares(6)
    assert calls == [5, 6] and len(list((folder / "test").iterdir())) == 2


@pytest.mark.parametrize("damage", [b"", b"{not json", b'{"key": 1, "value": 2}', b"\x80\x04pickle"])
def test_a_damaged_file_is_computed_afresh_and_rewritten(folder, damage):
    squares, calls = _squares()
    squares(5)
    (path,) = (folder / "test").iterdir()
    path.write_bytes(damage)
    assert squares(5) == [i * i / 7 for i in range(5)]
    assert calls == [5, 5]
    assert json.loads(path.read_text())["value"]["values"] == [i * i / 7 for i in range(5)]


def test_another_version_of_the_code_is_computed_afresh(folder, monkeypatch):
    squares, calls = _squares()
    squares(5)
    monkeypatch.setattr(disk_cache, "source_digest", lambda files: "another version")
    squares(5)
    assert calls == [5, 5]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_an_unwritable_folder_keeps_nothing_and_raises_nothing(folder):
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    squares, calls = _squares()
    assert squares(3) == squares(3) == [0.0, 1 / 7, 4 / 7]
    assert calls == [3, 3]


def test_a_cache_path_that_is_a_file_keeps_nothing_and_raises_nothing(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("VSCALE_CACHE_DIR", str(blocker))
    squares, calls = _squares()
    assert squares(3) == squares(3)
    assert calls == [3, 3] and blocker.read_text() == "not a folder"


def test_off_keeps_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("VSCALE_CACHE_DIR", "off")
    monkeypatch.chdir(tmp_path)
    squares, calls = _squares()
    squares(2)
    squares(2)
    assert calls == [2, 2] and disk_cache.cache_folder() is None


def test_the_default_folder_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("VSCALE_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert disk_cache.cache_folder() == tmp_path / "vscale"


def test_a_stored_energy_model_equals_the_computed_one(folder):
    from pe_models.energy import _calibration_units, pe_energy_model
    from pe_models.pe import PEConfig

    pe = PEConfig(width=24)
    pe_energy_model.cache_clear()
    _calibration_units.cache_clear()
    computed = pe_energy_model(pe, samples=400, core_source="constants")
    assert len(list((folder / "toggle-models").iterdir())) == 1 + len(pe.stages)
    pe_energy_model.cache_clear()
    _calibration_units.cache_clear()
    stored = pe_energy_model(pe, samples=400, core_source="constants")
    for name, model in computed.stages.items():
        again = stored.stages[name]
        assert np.array_equal(again.unit_coefficients, model.unit_coefficients)
        assert np.array_equal(again.toggle_coefficients, model.toggle_coefficients)
        assert (again.random_units_per_mac, again.validation_error_pct, again.features) == (
            model.random_units_per_mac,
            model.validation_error_pct,
            model.features,
        )
    assert stored.unit_capacitance_ff == computed.unit_capacitance_ff


def test_the_reference_net_toggles_are_computed_once_and_read_back_exactly(folder, monkeypatch):
    """The characterised library's supply ratios weigh nets by these mean transitions; a
    second process reads them from the cache without running (or importing) the toggle kernel."""
    from pe_models import energy
    from pe_models.pe import PEConfig

    pe = PEConfig(width=24)
    energy._reference_net_toggles.cache_clear()
    computed = energy._reference_net_toggles(pe)
    energy._reference_net_toggles.cache_clear()

    def not_again(*args, **kwargs):
        raise AssertionError("the toggles were computed again")

    monkeypatch.setattr(energy, "net_toggles_fast", not_again)
    stored = energy._reference_net_toggles(pe)
    energy._reference_net_toggles.cache_clear()
    assert set(stored) == set(computed) == set(pe.stages)
    for name, values in computed.items():
        assert stored[name].dtype == values.dtype and np.array_equal(stored[name], values)
