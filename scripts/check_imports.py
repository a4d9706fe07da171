"""Fail when a module imports against the project's dependency direction, or in a cycle.

The packages form one chain, each allowed to import only those after it::

    vscale -> experiments -> workloads -> sim -> pe_models

no module imports another package's private modules (a dotted path with a part
starting with ``_``, such as ``sim._kernels`` from ``workloads``), and a subpackage's
private modules are imported only from inside it (``pe_models.kernels._lanes`` only from
``pe_models/kernels/``; ``pe_models.chain`` and ``sim`` use its public face
``pe_models.kernels``).

Inside ``experiments`` the modules form layers (:data:`EXPERIMENT_LAYERS`), each allowed to
import the layers it lists::

    cli -> commands -> {command-line options, report} -> studies -> library

the studies import nothing from the command line (``commands``, ``cli``, the option
helpers) nor from ``report``, and ``report`` nothing from the command line.

No import cycle is allowed among the modules of ``experiments``, counting imports inside
functions and the two imports made by name at run time: ``experiments.cli`` loads the
module of the command it runs from ``experiments.commands``, and ``experiments.studies``
loads a study's module (:data:`experiments.studies.STUDY_MODULES`) on first lookup.
Usage::

    python scripts/check_imports.py [REPOSITORY]

Prints one line per violation and exits 1 when there is any, 0 otherwise.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ORDER = ("vscale", "experiments", "workloads", "sim", "pe_models")

EXPERIMENT_LAYERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "cli": (("experiments.cli", "experiments.__main__"), ("commands", "options", "report", "studies", "library")),
    "commands": (("experiments.commands",), ("options", "report", "studies", "library")),
    "options": (("experiments.options", "experiments.pe_options"), ("studies", "library")),
    "report": (("experiments.report", "experiments.scalesim_reports"), ("studies", "library")),
    "studies": (("experiments.studies", "experiments.sweep"), ("library",)),
}
"""Layer -> (its modules and packages, the layers it may import besides itself). Every other
module of ``experiments`` is in the ``library`` layer, which imports only itself."""


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


def _module_name(repository: Path, path: Path) -> tuple[str, tuple[str, ...]]:
    """(dotted module name, the parts relative imports resolve against) of a source file."""
    relative = path.relative_to(repository).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts), parts


def experiment_layer(module: str) -> str:
    """The layer of a module of ``experiments`` (:data:`EXPERIMENT_LAYERS`, else ``library``)."""
    for layer, (prefixes, _) in EXPERIMENT_LAYERS.items():
        if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes):
            return layer
    return "library"


def _allowed_layers(layer: str) -> set[str]:
    if layer == "library":
        return {"library"}
    return {layer, *EXPERIMENT_LAYERS[layer][1]}


def _study_modules(repository: Path) -> list[str]:
    """The modules ``experiments.studies`` loads by name (the values of ``STUDY_MODULES``)."""
    tree = ast.parse((repository / "experiments" / "studies" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        if isinstance(target, ast.Name) and target.id == "STUDY_MODULES" and isinstance(node.value, ast.Dict):
            return [
                f"experiments.studies.{value.value}" for value in node.value.values if isinstance(value, ast.Constant)
            ]
    return []


def _dynamic_imports(repository: Path, modules: set[str]) -> dict[str, list[str]]:
    """Imports made by name at run time: the CLI's commands and the studies registry's modules."""
    commands = sorted(
        name for name in modules if name.startswith("experiments.commands.") and not name.split(".")[-1].startswith("_")
    )
    return {"experiments.cli": commands, "experiments.studies": _study_modules(repository)}


def _resolve(name: str, modules: set[str]) -> str | None:
    """The module `name` refers to: itself, or the longest module prefix (``a.b.func`` -> ``a.b``)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:
        nonlocal counter
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def violations(repository: Path) -> list[str]:
    problems = []
    sources = {}
    for package in ORDER:
        for path in sorted((repository / package).rglob("*.py")):
            name, parts = _module_name(repository, path)
            sources[name] = (path, parts)
    modules = set(sources)
    graph: dict[str, set[str]] = {name: set() for name in modules if name.startswith("experiments")}
    for name, (path, parts) in sources.items():
        package = parts[0]
        allowed = set(ORDER[ORDER.index(package) :])
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, imported in imported_modules(tree, package, parts):
            target = imported.split(".")
            if target[0] not in ORDER:
                continue
            where = f"{path.relative_to(repository)}:{line}"
            if target[0] not in allowed:
                problems.append(f"{where}: {package} must not import {target[0]} ({imported})")
            elif target[0] != package and any(_private(part) for part in target[1:]):
                problems.append(f"{where}: private module of another package imported ({imported})")
            elif (index := _private_submodule(repository, target)) and tuple(parts[:index]) != tuple(target[:index]):
                problems.append(
                    f"{where}: private module of {'.'.join(target[:index])} imported from outside it ({imported})"
                )
            if package != "experiments" or target[0] != "experiments":
                continue
            resolved = _resolve(imported, modules)
            if resolved is None or resolved == name:
                continue
            graph[name].add(resolved)
            layer, other = experiment_layer(name), experiment_layer(resolved)
            if other not in _allowed_layers(layer):
                problem = f"{where}: the {layer} layer of experiments must not import the {other} layer ({resolved})"
                if problem not in problems:
                    problems.append(problem)
    for importer, targets in _dynamic_imports(repository, modules).items():
        for target in targets:
            if target not in modules:
                problems.append(f"{importer}: loads {target} by name, and there is no such module")
                continue
            graph[importer].add(target)
            if experiment_layer(target) not in _allowed_layers(experiment_layer(importer)):
                problems.append(f"{importer}: loads {target} by name, against the layers of experiments")
    for component in _cycles(graph):
        problems.append(f"import cycle: {', '.join(component)}")
    return problems


def main(argv: list[str]) -> int:
    repository = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[1]
    problems = violations(repository)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
