"""Fail when a module imports against the project's dependency direction.

The packages form one chain, each allowed to import only those after it::

    vscale -> experiments -> workloads -> sim -> pe_models

no module imports another package's private modules (a dotted path with a part
starting with ``_``, such as ``sim._kernels`` from ``workloads``), and a subpackage's
private modules are imported only from inside it (``pe_models.kernels._lanes`` only from
``pe_models/kernels/``; ``pe_models.chain`` and ``sim`` use its public face
``pe_models.kernels``). Usage::

    python scripts/check_imports.py [REPOSITORY]

Prints one line per violation and exits 1 when there is any, 0 otherwise.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ORDER = ("vscale", "experiments", "workloads", "sim", "pe_models")


def imported_modules(tree: ast.AST, package: str, module_parts: tuple[str, ...]) -> Iterator[tuple[int, str]]:
    """(line, absolute dotted name) of every import in `tree`, relative imports resolved."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module_parts[: len(module_parts) - node.level]
                name = ".".join((*base, node.module) if node.module else base)
            else:
                name = node.module or ""
            yield node.lineno, name
            for alias in node.names:
                yield node.lineno, f"{name}.{alias.name}"


def _private(part: str) -> bool:
    return part.startswith("_") and not part.endswith("__")


def _private_submodule(repository: Path, target: list[str]) -> int:
    """Index of the first private part of `target` when the parts before it name a subpackage (a
    package inside a package) and that part is one of its modules; 0 otherwise."""
    for index, part in enumerate(target):
        if _private(part):
            folder = repository.joinpath(*target[:index])
            is_module = (folder / f"{part}.py").is_file() or (folder / part / "__init__.py").is_file()
            return index if index >= 2 and is_module else 0
    return 0


def violations(repository: Path) -> list[str]:
    problems = []
    for package in ORDER:
        allowed = set(ORDER[ORDER.index(package) :])
        for path in sorted((repository / package).rglob("*.py")):
            relative = path.relative_to(repository).with_suffix("")
            parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for line, name in imported_modules(tree, package, parts):
                target = name.split(".")
                if target[0] not in ORDER:
                    continue
                where = f"{path.relative_to(repository)}:{line}"
                if target[0] not in allowed:
                    problems.append(f"{where}: {package} must not import {target[0]} ({name})")
                elif target[0] != package and any(_private(part) for part in target[1:]):
                    problems.append(f"{where}: private module of another package imported ({name})")
                elif (index := _private_submodule(repository, target)) and tuple(parts[:index]) != tuple(
                    target[:index]
                ):
                    problems.append(
                        f"{where}: private module of {'.'.join(target[:index])} imported from outside it ({name})"
                    )
    return problems


def main(argv: list[str]) -> int:
    repository = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[1]
    problems = violations(repository)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
