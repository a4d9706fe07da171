"""The README's "From Python" example: it uses ``import vscale`` and runs as written."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import vscale

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_block() -> str:
    match = re.search(r"^## From Python\n.*?^```python\n(.*?)^```", README.read_text(), re.S | re.M)
    assert match is not None, "README has no ```python block under '## From Python'"
    return match.group(1)


def test_the_readme_example_imports_only_vscale_and_uses_public_names():
    tree = ast.parse(_python_block())
    imports = [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]
    assert [alias.name for node in imports for alias in node.names] == ["vscale"]
    used = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "vscale"
    }
    assert used
    assert used <= set(vscale.__all__)


@pytest.mark.slow
def test_the_readme_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(_python_block(), str(README), "exec"), {"__name__": "readme"})
    header = (tmp_path / "accuracy.csv").read_text().splitlines()[0]
    assert header.startswith("vdd_v,injection,metric,images,top1_pct,top5_pct")
    assert (tmp_path / "accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
