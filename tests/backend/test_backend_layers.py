"""The backend's layering, read from its source (``ast``): SQL runs only in :mod:`backend.store`.

Handlers and the modules behind them ask the store questions and write through ``Store.transaction()``; no other
module executes a statement, opens a database or holds SQL statement text (:mod:`backend.sqlfilter` compiles
filters into ``WHERE``/``ORDER BY`` fragments for the store; docstrings may show SQL).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STORE = ROOT / "backend" / "store.py"
#: Connection methods that run SQL or copy a database.
EXECUTING = frozenset({"execute", "executemany", "executescript", "backup", "connect"})
STATEMENT = re.compile(r"\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|WITH|PRAGMA|BEGIN|COMMIT|ROLLBACK)\b")


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def sql_outside_the_store(source: str, name: str) -> list[str]:
    """Where ``source`` runs SQL or holds a SQL statement, as ``name:line what``."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in EXECUTING:
            found.append((node.lineno, f"calls .{node.func.attr}()"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            found += [(node.lineno, f"holds SQL {node.value[:40]!r}")] if STATEMENT.match(node.value) else []
    return [f"{name}:{line} {what}" for line, what in sorted(found)]


def test_the_checker_finds_executed_and_written_sql() -> None:
    source = (
        '"""SELECT in a docstring is fine."""\n'
        "def handler(store):\n"
        '    rows = store.conn.execute("SELECT name FROM dataset")\n'
        '    query = "  UPDATE run SET version = 1"\n'
        "    return store.dataset_names(1)\n"
    )
    assert sql_outside_the_store(source, "m") == [
        "m:3 calls .execute()",
        "m:3 holds SQL 'SELECT name FROM dataset'",
        "m:4 holds SQL '  UPDATE run SET version = 1'",
    ]


def test_sql_runs_only_in_the_store() -> None:
    modules = sorted(p for p in (ROOT / "backend").rglob("*.py") if p != STORE)
    assert len(modules) > 20
    found = [hit for path in modules for hit in sql_outside_the_store(path.read_text(), str(path.relative_to(ROOT)))]
    assert found == []
    assert sql_outside_the_store(STORE.read_text(), "store")  # the store does hold them
