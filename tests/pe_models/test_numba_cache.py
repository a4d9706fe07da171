"""numba's kernel cache: a file cut short is compiled afresh and rewritten, never a traceback."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

KERNEL = textwrap.dedent(
    """
    import numba


    @numba.njit(cache=True)
    def triangle(n):
        total = 0
        for i in range(n + 1):
            total += i
        return total
    """
)

RUN = "{install}import kernel_module; print(kernel_module.triangle(100))"
INSTALL = "from pe_models.numba_cache import tolerate_damaged_cache; tolerate_damaged_cache(); "


def _run(folder, install: bool) -> subprocess.CompletedProcess[str]:
    code = RUN.format(install=INSTALL if install else "")
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{folder}:{':'.join(sys.path)}", "NUMBA_CACHE_DIR": ""},
    )


@pytest.mark.parametrize("suffix", [".nbi", ".nbc"])
def test_a_cache_file_cut_short_is_recompiled_and_rewritten(tmp_path, suffix):
    (tmp_path / "kernel_module.py").write_text(KERNEL)
    first = _run(tmp_path, install=True)
    assert (first.returncode, first.stdout) == (0, "5050\n"), first.stderr
    (damaged,) = (tmp_path / "__pycache__").glob(f"kernel_module.triangle-*{suffix}")
    whole = damaged.read_bytes()
    damaged.write_bytes(whole[: len(whole) // 3])
    healed = _run(tmp_path, install=True)
    assert (healed.returncode, healed.stdout, healed.stderr) == (0, "5050\n", "")
    assert len(damaged.read_bytes()) > len(whole) // 3


def test_without_it_numba_stops_at_an_index_cut_short(tmp_path):
    """The failure the module exists for (if numba ever heals it itself, this test says so)."""
    (tmp_path / "kernel_module.py").write_text(KERNEL)
    assert _run(tmp_path, install=False).returncode == 0
    (index,) = (tmp_path / "__pycache__").glob("kernel_module.triangle-*.nbi")
    index.write_bytes(index.read_bytes()[:20])
    broken = _run(tmp_path, install=False)
    assert broken.returncode == 1 and "UnpicklingError" in broken.stderr
