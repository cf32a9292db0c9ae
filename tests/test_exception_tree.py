"""One exception root: every exception class of the four packages derives from ``RunQLError`` (the root lives in
``querylang.errors``, so querylang imports nothing else of ours), and argument checks raise typed errors that are
still the builtin a caller may catch."""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil

import pytest

import client
import querylang
import schemas
from backend.app import Limits
from backend.faults import FaultPlan
from backend.server import EmbeddedServer
from client.calls import lumisection_call, require_run_number
from client.engine import unwrap
from client.errors import ArgumentError, ArgumentTypeError, RunQLError
from client.progress import reporting
from client.transport import Reply
from querylang import FilterError, compile_filter
from querylang.errors import RunQLError as QueryLangRoot
from querylang.plan import Plan
from querylang.ranges import Range
from schemas.golden import LumiMask, LumiMaskError

PACKAGES = ("querylang", "schemas", "client", "backend", "runql")
#: Private signals that never leave the function that raises them: loads_strict turns the first into a
#: JsonTextError on the spot.
NEVER_ESCAPE = {"querylang.jsontext._DuplicateKeyError"}


def _exception_classes() -> list[type[BaseException]]:
    found = []
    for package in PACKAGES:
        path = importlib.import_module(package).__path__
        for name in [package, *(info.name for info in pkgutil.walk_packages(path, f"{package}."))]:
            module = importlib.import_module(name)
            found += [
                cls
                for _, cls in inspect.getmembers(module, inspect.isclass)
                if issubclass(cls, BaseException) and cls.__module__ == name
            ]
    return found


CLASSES = _exception_classes()


def test_the_walk_finds_the_errors_of_every_package() -> None:
    modules = {cls.__module__.partition(".")[0] for cls in CLASSES}
    assert {"querylang", "schemas", "client", "backend"} <= modules
    assert len(CLASSES) > 25


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: f"{cls.__module__}.{cls.__qualname__}")
def test_every_error_class_derives_from_the_one_root(cls: type[BaseException]) -> None:
    if issubclass(cls, Warning):  # warnings are issued, not raised: they keep UserWarning as their base
        assert not issubclass(cls, RunQLError)
        return
    if f"{cls.__module__}.{cls.__qualname__}" in NEVER_ESCAPE:
        return
    assert issubclass(cls, RunQLError), f"{cls.__module__}.{cls.__qualname__} does not derive from RunQLError"


def test_one_root_object_exported_everywhere() -> None:
    assert client.RunQLError is RunQLError is QueryLangRoot
    assert issubclass(querylang.QueryLangError, RunQLError)
    assert issubclass(schemas.LumiMaskError, RunQLError)
    assert issubclass(FilterError, ValueError)
    assert issubclass(LumiMaskError, ValueError)


@pytest.mark.parametrize(
    ("call", "error", "builtin"),
    [
        (lambda: compile_filter({}, kind="lumis"), ArgumentError, ValueError),  # type: ignore[arg-type]
        (lambda: compile_filter({}, max_filters=0), ArgumentError, ValueError),
        (lambda: Plan("runs", [{}]), ArgumentTypeError, TypeError),  # type: ignore[arg-type]
        (lambda: require_run_number("315000"), ArgumentTypeError, TypeError),
        (lambda: require_run_number(-1), ArgumentError, ValueError),
        (lambda: lumisection_call("nope", 315000, "online"), ArgumentError, ValueError),
        (lambda: Range(4, 3), ArgumentError, ValueError),
        (lambda: LumiMask({"1": [[4, 3]]}), LumiMaskError, ValueError),
        (lambda: reporting("yes", "runs").__enter__(), ArgumentTypeError, TypeError),  # type: ignore[arg-type]
        (lambda: EmbeddedServer(faults=2.0), ArgumentError, ValueError),  # refused before anything starts
        (lambda: Limits(workers=0), ArgumentError, ValueError),
        (lambda: FaultPlan(-0.5), ArgumentError, ValueError),
        (lambda: unwrap(object(), Reply), ArgumentTypeError, TypeError),  # not the outcome of a call
    ],
)
def test_argument_checks_raise_typed_errors_that_are_still_builtins(
    call: object, error: type[RunQLError], builtin: type[Exception]
) -> None:
    with pytest.raises(error) as caught:
        call()  # type: ignore[operator]
    assert isinstance(caught.value, RunQLError)
    assert isinstance(caught.value, builtin)


def test_a_secret_refuses_pickling_with_a_runql_type_error() -> None:
    from client.config import Secret

    with pytest.raises(ArgumentTypeError):
        pickle.dumps(Secret("s3cr3t"))
