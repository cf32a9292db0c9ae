"""The service's route table picks what Starlette's router would, for every route and many near misses."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from starlette.routing import Match, Route

from backend.app import create_app
from backend.dispatch import RouteTable
from backend.store import Store
from querylang.errors import ArgumentError

VALUES = ["355100", "online", "-1", "a b", "x.y", "%2F"]
METHODS = ["GET", "POST", "PUT", "HEAD", "DELETE"]


@pytest.fixture(scope="module")
def routes() -> list[Route]:
    with Store.open() as store:
        return [r for r in create_app(store).routes if isinstance(r, Route)]


def concrete(template: str) -> list[str]:
    """``template`` with sample values, and near misses: trailing slash, empty or extra segments."""
    paths = []
    for value in VALUES:
        path = "/".join(value if s.startswith("{") else s for s in template.split("/"))
        paths += [path, path + "/", path + "/extra", path.rsplit("/", 1)[0], path.replace(value, "")]
    return paths


def starlette_choice(routes: list[Route], method: str, path: str) -> tuple[Any, dict[str, str]] | None:
    for route in routes:
        match, child = route.matches({"type": "http", "method": method, "path": path, "root_path": ""})
        if match is Match.FULL:
            return route.endpoint, child["path_params"]
    return None


def test_the_table_agrees_with_starlette(routes: list[Route]) -> None:
    declared = {(method, r.path): r.endpoint for r in routes for method in r.methods or () if method != "HEAD"}
    table = RouteTable(declared)
    checked = 0
    for route, method in itertools.product(routes, METHODS):
        for path in concrete(route.path):
            found = table.find(method, path)
            if found is not None:  # what it finds, Starlette finds; what it leaves, Starlette answers as before
                assert found == starlette_choice(routes, method, path), (method, path)
                checked += 1
            elif (method, route.path) in declared and path == concrete(route.path)[0]:
                pytest.fail(f"{method} {path} is a route the table does not find")
    assert checked > len(declared)


@pytest.mark.parametrize("template", ["/runs/{n:int}", "/{n}/runs", "/runs/x{n}"])
def test_unsupported_templates_are_refused(template: str) -> None:
    with pytest.raises(ArgumentError, match="unsupported path template"):
        RouteTable({("GET", template): "endpoint"})
