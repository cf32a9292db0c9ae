"""Scripts port by changing one import: every public-client function exists here and takes its keyword arguments."""

from __future__ import annotations

import ast
import importlib.util
import inspect
from pathlib import Path

import pytest

import client


def _public_client_functions() -> dict[str, list[str]]:
    """``runregistry.runregistry``'s public functions and their named parameters, read without importing it."""
    spec = importlib.util.find_spec("runregistry")
    assert spec is not None
    assert spec.submodule_search_locations
    source = Path(next(iter(spec.submodule_search_locations))) / "runregistry.py"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    return {
        node.name: [a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)]
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
    }


PUBLIC = _public_client_functions()


def test_the_public_client_was_read() -> None:
    assert {"setup", "get_runs", "get_run", "create_json", "move_runs", "change_run_class"} <= set(PUBLIC)


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_function_exists_at_module_level_with_the_same_arguments(name: str) -> None:
    ours = getattr(client, name, None)
    assert callable(ours), f"client.{name} is missing"
    assert name in client.__all__
    parameters = inspect.signature(ours).parameters
    takes_any_keyword = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    missing = [arg for arg in PUBLIC[name] if arg not in parameters and not takes_any_keyword]
    assert not missing, f"client.{name} does not take {missing}"
