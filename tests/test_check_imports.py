"""scripts/check_imports.py: the package chain, the layers inside experiments, import cycles."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_imports.py"
_spec = importlib.util.spec_from_file_location("check_imports", SCRIPT)
assert _spec is not None and _spec.loader is not None
check_imports = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_imports)


def _repository(tmp_path: Path, files: dict[str, str]) -> Path:
    """A repository with the five packages, the studies registry and `files` (path -> source)."""
    base = {
        "vscale/__init__.py": "",
        "experiments/__init__.py": "",
        "experiments/cli.py": "",
        "experiments/commands/__init__.py": "",
        "experiments/studies/__init__.py": 'STUDY_MODULES = {"latency": "latency"}\n',
        "experiments/studies/latency.py": "",
        "workloads/__init__.py": "",
        "sim/__init__.py": "",
        "pe_models/__init__.py": "",
    }
    for name, text in {**base, **files}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_the_repository_passes():
    assert check_imports.violations(SCRIPT.parents[1]) == []


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        (
            "experiments/studies/latency.py",
            "from experiments.commands.latency import run\n",
            "experiments/studies/latency.py:1: the studies layer of experiments must not import the commands layer "
            "(experiments.commands.latency)",
        ),
        (
            "experiments/studies/latency.py",
            "def f():\n    from experiments.report import rows_table\n",
            "experiments/studies/latency.py:2: the studies layer of experiments must not import the report layer "
            "(experiments.report)",
        ),
        (
            "experiments/studies/latency.py",
            "from experiments.options import config_from_args\n",
            "experiments/studies/latency.py:1: the studies layer of experiments must not import the options layer "
            "(experiments.options)",
        ),
        (
            "experiments/report.py",
            "from experiments.options import output_dir\n",
            "experiments/report.py:1: the report layer of experiments must not import the options layer "
            "(experiments.options)",
        ),
        (
            "experiments/output.py",
            "from .studies import STUDIES\n",
            "experiments/output.py:1: the library layer of experiments must not import the studies layer "
            "(experiments.studies)",
        ),
    ],
)
def test_a_layer_importing_a_layer_above_it_is_named(tmp_path, module, source, expected):
    files = {
        module: source,
        "experiments/commands/latency.py": "",
        "experiments/report.py": "",
        "experiments/options.py": "",
        "experiments/output.py": "",
    }
    files[module] = source
    assert check_imports.violations(_repository(tmp_path, files)) == [expected]


def test_a_command_importing_the_cli_it_is_loaded_by_is_a_cycle(tmp_path):
    repository = _repository(tmp_path, {"experiments/commands/latency.py": "from experiments.cli import main\n"})
    assert check_imports.violations(repository) == [
        "experiments/commands/latency.py:1: the commands layer of experiments must not import the cli layer "
        "(experiments.cli)",
        "import cycle: experiments.cli, experiments.commands.latency",
    ]


def test_a_cycle_through_an_import_inside_a_function_is_found(tmp_path):
    repository = _repository(
        tmp_path,
        {
            "experiments/studies/a.py": "from experiments.studies.b import g\n",
            "experiments/studies/b.py": "def g():\n    from . import c\n",
            "experiments/studies/c.py": "import experiments.studies.a\n",
        },
    )
    assert check_imports.violations(repository) == [
        "import cycle: experiments.studies.a, experiments.studies.b, experiments.studies.c"
    ]


def test_a_study_module_importing_the_registry_that_loads_it_is_a_cycle(tmp_path):
    repository = _repository(tmp_path, {"experiments/studies/latency.py": "from experiments.studies import Study\n"})
    assert check_imports.violations(repository) == ["import cycle: experiments.studies, experiments.studies.latency"]


def test_a_registry_entry_without_its_module_is_named(tmp_path):
    repository = _repository(tmp_path, {"experiments/studies/__init__.py": 'STUDY_MODULES = {"size": "size"}\n'})
    assert check_imports.violations(repository) == [
        "experiments.studies: loads experiments.studies.size by name, and there is no such module"
    ]


def test_a_package_importing_one_before_it_in_the_chain_is_named(tmp_path):
    repository = _repository(tmp_path, {"sim/engine.py": "import workloads\n"})
    assert check_imports.violations(repository) == ["sim/engine.py:1: sim must not import workloads (workloads)"]


def test_a_subpackage_private_module_imported_from_outside_it_is_named(tmp_path):
    """pe_models.kernels' private modules import each other; pe_models.chain must use the public face."""
    files = {
        "pe_models/kernels/__init__.py": "from ._lanes import lane_flags\n",
        "pe_models/kernels/_lanes.py": "",
        "pe_models/kernels/_vector.py": "from pe_models.kernels._lanes import lane_flags\n",
        "pe_models/chain.py": (
            "from pe_models.kernels import lane_flags\nfrom pe_models.kernels._lanes import lane_flags\n"
        ),
    }
    assert check_imports.violations(_repository(tmp_path, files)) == [
        "pe_models/chain.py:2: private module of pe_models.kernels imported from outside it (pe_models.kernels._lanes)",
        "pe_models/chain.py:2: private module of pe_models.kernels imported from outside it "
        "(pe_models.kernels._lanes.lane_flags)",
    ]
