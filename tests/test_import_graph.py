"""The layering of the five packages, read from their source (``ast``; nothing is imported).

Rules (docs/ARCHITECTURE.md, "Layers"): inside each package the import graph of its modules is acyclic, counting
every import (module level, ``TYPE_CHECKING`` blocks and imports inside functions); between packages imports go
one way: ``querylang`` imports nothing of ours, ``schemas`` only ``querylang``, ``client`` and ``backend`` only
``querylang`` and ``schemas`` at module level; ``client`` imports ``backend`` only inside functions (the embedded
target, ``runql serve``), ``backend`` never imports ``client``, and ``runql`` (the launcher) imports ``client``
only inside a function.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("querylang", "schemas", "client", "backend", "runql")
#: Packages each package may import at module level (TYPE_CHECKING blocks included).
ALLOWED = {
    "querylang": set(),
    "schemas": {"querylang"},
    "client": {"querylang", "schemas"},
    "backend": {"querylang", "schemas"},
    "runql": set(),
}
#: Packages a package may also import inside a function body (lazily, when that function runs).
ALLOWED_LAZILY = {"client": {"backend"}, "runql": {"client"}}


@dataclass(frozen=True)
class Import:
    """One import statement's target module, where it is, and whether it runs only when a function is called."""

    source: str
    target: str
    line: int
    lazy: bool

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line} imports {self.target}{' (inside a function)' if self.lazy else ''}"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def resolve(name: str, known: dict[str, Path]) -> str:
    """The module ``name`` means: itself if it is one of ours, else its closest enclosing module of ours."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name


def _absolute(node: ast.ImportFrom, source: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = source.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join([*base, node.module] if node.module else base)


class _Collector(ast.NodeVisitor):
    def __init__(self, source: str, is_package: bool, known: dict[str, Path]) -> None:
        self.source, self.is_package, self.known = source, is_package, known
        self.depth = 0
        self.found: list[Import] = []

    def _add(self, name: str, line: int) -> None:
        target = resolve(name, self.known)
        if target and target != self.source:
            self.found.append(Import(self.source, target, line, lazy=self.depth > 0))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = _absolute(node, self.source, self.is_package)
        for alias in node.names:  # ``from client import operations`` imports the module client.operations
            submodule = f"{base}.{alias.name}"
            self._add(submodule if submodule in self.known else base, node.lineno)

    def generic_visit(self, node: ast.AST) -> None:
        inside = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        self.depth += inside
        super().generic_visit(node)
        self.depth -= inside


def imports_of(name: str, path: Path, known: dict[str, Path]) -> list[Import]:
    collector = _Collector(name, path.name == "__init__.py", known)
    collector.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return collector.found


def all_imports() -> list[Import]:
    known = modules()
    return [imp for name, path in known.items() for imp in imports_of(name, path, known)]


def package_of(module: str) -> str:
    return module.partition(".")[0]


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the directed graph ``edges`` (as a closed path), or ``None`` if it is acyclic."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(edges):
        if state.get(start):
            continue
        path, stack = [start], [iter(sorted(edges[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(edges.get(nxt, ()))))
    return None


def graph(imports: list[Import], package: str) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for imp in imports:
        if package_of(imp.source) == package_of(imp.target) == package:
            edges.setdefault(imp.source, set()).add(imp.target)
    return edges


def layering_violations(imports: list[Import]) -> Iterator[str]:
    for imp in imports:
        source, target = package_of(imp.source), package_of(imp.target)
        if source == target:
            continue
        allowed = ALLOWED[source] | (ALLOWED_LAZILY.get(source, set()) if imp.lazy else set())
        if target not in allowed:
            yield imp.where


# -- the checker checks what it should ----------------------------------------------------------------------


def test_find_cycle_finds_a_cycle_and_accepts_a_dag() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_collector_sees_type_checking_lazy_and_relative_imports(tmp_path: Path) -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from client.api import RunRegistry\n"
        "def start():\n    from backend.server import EmbeddedServer\n"
        "from . import calls\nimport querylang.plan\n"
    )
    path = tmp_path / "mod.py"
    path.write_text(source)
    known = dict.fromkeys(["client", "client.api", "client.calls", "backend.server", "querylang.plan"], path)
    found = {(i.target, i.lazy) for i in imports_of("client.mod", path, known)}
    assert found == {
        ("client.api", False),
        ("backend.server", True),
        ("client.calls", False),
        ("querylang.plan", False),
    }


def test_layering_violations_name_the_import() -> None:
    imports = [
        Import("querylang.plan", "schemas.golden", 3, lazy=False),
        Import("client.embedded", "backend.server", 9, lazy=True),
        Import("client.api", "backend.server", 4, lazy=False),
        Import("backend.app", "client.api", 5, lazy=True),
    ]
    assert list(layering_violations(imports)) == [
        "querylang.plan:3 imports schemas.golden",
        "client.api:4 imports backend.server",
        "backend.app:5 imports client.api (inside a function)",
    ]


# -- the repository -----------------------------------------------------------------------------------------


def test_every_package_is_parsed() -> None:
    names = modules()
    assert {package_of(n) for n in names} == set(PACKAGES)
    assert {"client.api", "backend.store", "querylang.compile", "schemas.golden", "runql"} <= set(names)
    assert any(imp.target == "client.cli" and imp.lazy for imp in all_imports())  # runql's launcher


@pytest.mark.parametrize("package", PACKAGES)
def test_the_import_graph_inside_each_package_is_acyclic(package: str) -> None:
    cycle = find_cycle(graph(all_imports(), package))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_packages_import_one_way() -> None:
    assert list(layering_violations(all_imports())) == []
