"""Every docstring example in the four packages runs and holds (each module found by walking the packages)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

PACKAGES = ("querylang", "schemas", "client", "backend")


def _modules() -> list[str]:
    names = []
    for package in PACKAGES:
        names.append(package)
        path = importlib.import_module(package).__path__
        names += [info.name for info in pkgutil.walk_packages(path, f"{package}.")]
    return sorted(names)


MODULES = _modules()


def test_every_package_module_is_found() -> None:
    assert {"querylang.compile", "querylang.jsonlogic", "client.api", "backend.server", "schemas.golden"} <= set(
        MODULES
    )


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {name} failed"
