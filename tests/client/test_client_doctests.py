"""The docstring examples of the client's modules run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "client",
    "client.api",
    "client.calls",
    "client.config",
    "client.engine",
    "client.errors",
    "client.frames",
    "client.pagination",
    "client.results",
    "client.transport",
    "client.writes",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), raise_on_error=False)
    assert result.attempted > 0
    assert result.failed == 0
