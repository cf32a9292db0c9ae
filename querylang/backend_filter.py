"""The backend-filter IR: frozen nodes, one per shape of the service's filter grammar (``rr-protocol.md`` §4).

A backend filter is what the client sends and the service runs. Every part of runql that produces or reads one
goes through these nodes: the compiler emits them, :func:`~querylang.compile.raw_plan` parses a raw filter with
:func:`from_json`, :mod:`querylang.explain` renders them, and the embedded service's ``backend.sqlfilter`` turns
them into SQL. The nodes mirror the JSON exactly, so ``from_json(obj).to_json() == obj`` for every filter the
service accepts (key order, spellings, bare values included) and the walkers see quirk (a) where it lives:

- :class:`BackendFilter` is a JSON object whose entries are all true: :class:`Column` (``"key": condition``)
  and :class:`Junction` (``"and"``/``"or"``, also ``"AND"``/``"OR"``, with a list of backend filters).
- A key's condition is a :class:`Bare` value (equality) or an :class:`Operators` object whose tests are all
  true: :class:`Compare` (``"<": 5``; ``like``/``notlike``/``LIKE``/``NOTLIKE`` need a string),
  :class:`KeyJunction` (``"or": [...]`` *under* the key: quirk (a)), or :class:`UnknownOperator` (any other
  operator, kept for quirk (c): the service answers it with 0 rows or an error).

Nodes are validated on construction: values are JSON scalars (finite numbers, valid Unicode), operators fit their
values, keys are unique within an object, and a tree is at most :data:`MAX_NODE_DEPTH` levels deep, so the
recursive walkers never overflow. ``1``, ``1.0`` and ``true`` are different values (they are in JSON).

>>> node = from_json({"run_number": {">": 309000}, "or": [{"rr_attributes.class": "Cosmics18"}]})
>>> node.items[0]
Column(key='run_number', condition=Operators(tests=(Compare(op='>', value=309000),)))
>>> node.to_json()
{'run_number': {'>': 309000}, 'or': [{'rr_attributes.class': 'Cosmics18'}]}
>>> from_json({"run_number": {"like": 3}})
Traceback (most recent call last):
...
querylang.errors.FilterError: filter["run_number"]["like"]: 'like' needs a string pattern; got 3; allowed: a string
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from querylang.errors import FilterError, PathPart
from querylang.limits import MAX_DEPTH, check_json, check_nesting, check_text

__all__ = [
    "COMPARISON_OPERATORS",
    "CONNECTIVES",
    "LIKE_OPERATORS",
    "MAX_NODE_DEPTH",
    "BackendFilter",
    "Bare",
    "Column",
    "Compare",
    "Condition",
    "Entry",
    "Junction",
    "KeyJunction",
    "Operators",
    "Test",
    "UnknownOperator",
    "Value",
    "column_keys",
    "from_json",
    "table_of",
]

Path = tuple[PathPart, ...]
#: A JSON scalar as the service compares it (``{"=": null}`` is ``IS NULL``; ``<`` and the like never match null).
Value = str | int | float | bool | None

#: The spellings of ``and``/``or`` the service accepts, above and under keys, and what each one means.
CONNECTIVES: Final[Mapping[str, str]] = {"and": "and", "AND": "and", "or": "or", "OR": "or"}
#: Comparison operators: a value of any JSON scalar type, the cast follows its type.
COMPARISON_OPERATORS: Final = ("=", "<>", "<", ">", "<=", ">=")
#: Pattern operators and what each means: ``(case_sensitive, negated)``; ``like`` is ILIKE.
LIKE_OPERATORS: Final[Mapping[str, tuple[bool, bool]]] = {
    "like": (False, False),
    "notlike": (False, True),
    "LIKE": (True, False),
    "NOTLIKE": (True, True),
}
#: Deepest tree, counted in JSON levels (each object and each list is one): twice what a parsed input may nest.
MAX_NODE_DEPTH: Final = 2 * MAX_DEPTH


def _check_scalar(value: object, path: Path) -> None:
    if value is None or isinstance(value, (bool, int)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FilterError("not representable in JSON", path=path, value=value, allowed="finite numbers")
    elif isinstance(value, str):
        check_text(value, FilterError, path)
    elif isinstance(value, (Mapping, list, tuple)):
        allowed = "a string, number, boolean or null"
        raise FilterError("cannot compare with a list or an object", path=path, value=value, allowed=allowed)
    else:
        raise FilterError(
            "not a JSON value", path=path, value=value, allowed="dict, list, str, int, float, bool or None"
        )


def _check_key(key: object, what: str, path: Path) -> None:
    if not isinstance(key, str) or not key:
        raise FilterError(f"{what} must be a non-empty string", path=path, value=key)
    check_text(key, FilterError, path)


def _check_unique(keys: list[str], path: Path) -> None:
    if len(keys) > 1 and len(set(keys)) != len(keys):
        repeated = next(key for key in keys if keys.count(key) > 1)
        raise FilterError("a key appears more than once in one object", path=path, value=repeated)


def _check_items(items: object, types: tuple[type, ...], what: str, path: Path) -> None:
    if not isinstance(items, tuple):
        raise FilterError(f"{what} must be a tuple of nodes", path=path, value=items)
    for item in items:  # a plain loop: nodes are built by the thousand for long lists
        if not isinstance(item, types):
            raise FilterError(f"{what} must be a tuple of nodes", path=path, value=items)


def _depth(children: tuple[Any, ...], own: int, path: Path) -> int:
    deepest = 0
    for child in children:
        deepest = max(deepest, child.depth)
    depth = own + deepest
    if depth > MAX_NODE_DEPTH:
        raise FilterError(f"backend filter nested deeper than {MAX_NODE_DEPTH} levels", path=path)
    return depth


# -- a key's tests ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Compare:
    """``"op": value`` in a key's operator object: a comparison or a ``like`` pattern (a string)."""

    op: str
    value: Value
    path: Path = field(default=(), compare=False, repr=False)
    value_type: type = field(init=False, repr=False)  # so that 1, 1.0 and True stay apart
    depth: int = field(init=False, default=0, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.op in LIKE_OPERATORS:
            if not isinstance(self.value, str):
                raise FilterError(
                    f"{self.op!r} needs a string pattern", path=self.path, value=self.value, allowed="a string"
                )
        elif self.op not in COMPARISON_OPERATORS:
            allowed = ", ".join((*COMPARISON_OPERATORS, *LIKE_OPERATORS))
            raise FilterError("not a comparison operator", path=self.path, value=self.op, allowed=allowed)
        _check_scalar(self.value, self.path)
        object.__setattr__(self, "value_type", type(self.value))

    @property
    def key(self) -> str:
        return self.op

    def to_json(self) -> Value:
        return self.value


@dataclass(frozen=True, slots=True)
class UnknownOperator:
    """An operator outside the grammar (``"between": [1, 2]``), kept as written: quirk (c) of the service.

    ``value`` is the operand's JSON text (compact); :meth:`to_json` gives the operand back.
    """

    op: str
    value: str
    path: Path = field(default=(), compare=False, repr=False)
    depth: int = field(init=False, default=0, compare=False, repr=False)

    def __post_init__(self) -> None:
        _check_key(self.op, "an operator", self.path)
        if self.op in LIKE_OPERATORS or self.op in COMPARISON_OPERATORS or self.op in CONNECTIVES:
            raise FilterError("a known operator is not an unknown one", path=self.path, value=self.op)
        if not isinstance(self.value, str):
            raise FilterError("an unknown operator's operand is its JSON text", path=self.path, value=self.value)
        object.__setattr__(self, "depth", _depth((), _json_depth(self.to_json()), self.path))

    @classmethod
    def of(cls, op: str, operand: object, path: Path = ()) -> UnknownOperator:
        """The node for ``"op": operand`` (any JSON value)."""
        check_json(operand, FilterError, (*path,), finite=True)
        return cls(op, json.dumps(operand, separators=(",", ":"), ensure_ascii=False), path)

    @property
    def key(self) -> str:
        return self.op

    def to_json(self) -> Any:
        return json.loads(self.value)


def _json_depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_json_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_json_depth, value), default=0)
    return 0


class _Connective:
    """What :class:`KeyJunction` and :class:`Junction` share: an ``op`` spelled as the service accepts it."""

    __slots__ = ()
    op: str
    path: Path

    @property
    def key(self) -> str:
        return self.op

    @property
    def logic(self) -> str:
        """``"and"`` or ``"or"``, whatever the spelling."""
        return CONNECTIVES[self.op]

    def _checked(self, children: tuple[Any, ...], types: tuple[type, ...], what: str) -> int:
        """The node's depth, once ``op`` and ``children`` are checked."""
        if self.op not in CONNECTIVES:
            raise FilterError("not a connective", path=self.path, value=self.op, allowed=", ".join(CONNECTIVES))
        _check_items(children, types, what, self.path)
        return _depth(children, 1, self.path)


@dataclass(frozen=True, slots=True)
class KeyJunction(_Connective):
    """``"and"``/``"or"`` under a key, over conditions of that key: quirk (a) (under a JSON key the service
    compares as text)."""

    op: str
    items: tuple[Condition, ...]
    path: Path = field(default=(), compare=False, repr=False)
    depth: int = field(init=False, default=0, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "depth", self._checked(self.items, (Bare, Operators), f"{self.op!r} under a key"))

    def to_json(self) -> list[Any]:
        return [item.to_json() for item in self.items]

    def values(self) -> Iterator[object]:
        """Every literal below, operands of unknown operators included (quirk (a) needs them to be strings)."""
        for item in self.items:
            yield from item.values()


Test = Compare | KeyJunction | UnknownOperator


# -- a key's condition -----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Bare:
    """A bare value under a key: equality (``"run_number": 5`` is ``"run_number": {"=": 5}``)."""

    value: Value
    path: Path = field(default=(), compare=False, repr=False)
    value_type: type = field(init=False, repr=False)
    depth: int = field(init=False, default=0, compare=False, repr=False)

    def __post_init__(self) -> None:
        _check_scalar(self.value, self.path)
        object.__setattr__(self, "value_type", type(self.value))

    def to_json(self) -> Value:
        return self.value

    def values(self) -> Iterator[object]:
        yield self.value


@dataclass(frozen=True, slots=True)
class Operators:
    """A key's operator object: all its tests hold (``{">=": 1, "<": 5}``); ``Operators(())`` is ``{}``."""

    tests: tuple[Test, ...]
    path: Path = field(default=(), compare=False, repr=False)
    depth: int = field(init=False, default=0, compare=False, repr=False)

    def __post_init__(self) -> None:
        _check_items(self.tests, (Compare, KeyJunction, UnknownOperator), "an operator object", self.path)
        _check_unique([test.key for test in self.tests], self.path)
        object.__setattr__(self, "depth", _depth(self.tests, 1, self.path))

    def to_json(self) -> dict[str, Any]:
        return {test.key: test.to_json() for test in self.tests}

    def values(self) -> Iterator[object]:
        for test in self.tests:
            if isinstance(test, KeyJunction):
                yield from test.values()
            else:
                yield from _leaves(test.to_json())


def _leaves(value: object) -> Iterator[object]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


Condition = Bare | Operators


# -- a filter --------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Column:
    """``"key": condition``: ``run_number``, ``name`` or a dotted JSON path such as ``oms_attributes.energy``
    (unknown keys are kept: the service answers them with 0 rows or an error, quirk (c))."""

    key: str
    condition: Condition
    path: Path = field(default=(), compare=False, repr=False)
    depth: int = field(init=False, default=0, compare=False, repr=False)

    def __post_init__(self) -> None:
        _check_key(self.key, "a key", self.path)
        if self.key in CONNECTIVES:
            raise FilterError(f"{self.key!r} is a connective, not a key", path=self.path, value=self.key)
        _check_items((self.condition,), (Bare, Operators), "a condition", self.path)
        object.__setattr__(self, "depth", self.condition.depth)

    def to_json(self) -> Any:
        return self.condition.to_json()


@dataclass(frozen=True, slots=True)
class Junction(_Connective):
    """``"and"``/``"or"`` (or ``"AND"``/``"OR"``) above the keys, over backend filters.

    An empty ``and`` is true and an empty ``or`` false.
    """

    op: str
    filters: tuple[BackendFilter, ...]
    path: Path = field(default=(), compare=False, repr=False)
    depth: int = field(init=False, default=0, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "depth", self._checked(self.filters, (BackendFilter,), f"{self.op!r}"))

    def to_json(self) -> list[dict[str, Any]]:
        return [backend_filter.to_json() for backend_filter in self.filters]


Entry = Column | Junction


@dataclass(frozen=True, slots=True)
class BackendFilter:
    """A JSON object of entries that all hold; ``BackendFilter(())`` is ``{}``, which matches everything."""

    items: tuple[Entry, ...]
    path: Path = field(default=(), compare=False, repr=False)
    depth: int = field(init=False, default=0, compare=False, repr=False)

    def __post_init__(self) -> None:
        _check_items(self.items, (Column, Junction), "a backend filter", self.path)
        _check_unique([item.key for item in self.items], self.path)
        object.__setattr__(self, "depth", _depth(self.items, 1, self.path))

    def to_json(self) -> dict[str, Any]:
        """The wire JSON (fresh dicts and lists)."""
        return {item.key: item.to_json() for item in self.items}


def column_keys(node: BackendFilter) -> Iterator[str]:
    """The keys of every column in ``node``, through its junctions, in order.

    >>> list(column_keys(from_json({"run_number": 1, "or": [{"name": "x"}, {"and": [{"run_number": 2}]}]})))
    ['run_number', 'name', 'run_number']
    """
    for item in node.items:
        if isinstance(item, Column):
            yield item.key
        else:
            for backend_filter in item.filters:
                yield from column_keys(backend_filter)


def table_of(key: str, kind: str) -> str:
    """The service table a key is joined from (``run``, ``triplet`` or ``dataset``), by its form alone; quirk (b)
    splits an ``or`` by this. ``kind`` is ``"runs"`` or ``"datasets"`` (whose ``run_number`` is their own).

    >>> table_of("triplet_summary.dt-dt.GOOD", "runs"), table_of("run_number", "datasets")
    ('triplet', 'dataset')
    """
    if key == "run_number":
        return "dataset" if kind == "datasets" else "run"
    prefix = key.partition(".")[0]
    if prefix == "triplet_summary":
        return "triplet"
    return "dataset" if key == "name" or prefix == "dataset_attributes" else "run"


# -- parsing ---------------------------------------------------------------------------------------------------
def from_json(obj: object) -> BackendFilter:
    """Parse a backend filter; :class:`FilterError` naming the path for anything the service would not accept.

    Nesting and size are checked first, without recursion (:func:`querylang.limits.check_nesting`).

    >>> from_json({"or": [{"run_number": 1}, {"run_number": {"<>": None}}]}).items[0].logic
    'or'
    >>> from_json({"and": {"run_number": 1}})
    Traceback (most recent call last):
    ...
    querylang.errors.FilterError: filter["and"]: 'and' needs a list; got {'run_number': 1}; allowed: a list of \
filters
    """
    if not isinstance(obj, Mapping):
        raise FilterError("a backend filter must be a JSON object", value=obj, allowed="a dict")
    check_nesting(obj, FilterError)
    return _filter(obj, ())


def _filter(obj: object, path: Path) -> BackendFilter:
    if not isinstance(obj, (dict, Mapping)):  # dict first: the ABC check is slow
        raise FilterError("a backend filter must be a JSON object", path=path, value=obj, allowed="a dict")
    return BackendFilter(tuple(_entry(key, value, (*path, key)) for key, value in _items(obj, path)), path)


def _items(obj: Mapping[Any, object], path: Path) -> list[tuple[str, object]]:
    """The entries of a JSON object (:class:`FilterError` for a key that is not a string)."""
    items = list(obj.items())
    for key, _ in items:
        if not isinstance(key, str):
            raise FilterError("JSON object keys must be strings", path=path, value=key)
    return items


def _entry(key: str, value: object, path: Path) -> Entry:
    if key in CONNECTIVES:
        items = _list(key, value, "a list of filters", path)
        return Junction(key, tuple(_filter(item, (*path, index)) for index, item in enumerate(items)), path)
    return Column(key, _condition(value, path), path)


def _condition(value: object, path: Path) -> Condition:
    if isinstance(value, (dict, Mapping)):
        return Operators(tuple(_test(op, arg, (*path, op)) for op, arg in _items(value, path)), path)
    return Bare(value, path)  # type: ignore[arg-type]  # validated by Bare


def _test(op: str, arg: object, path: Path) -> Test:
    if op in CONNECTIVES:
        items = _list(op, arg, "a list of values or operator objects", path)
        return KeyJunction(op, tuple(_condition(item, (*path, index)) for index, item in enumerate(items)), path)
    if op in COMPARISON_OPERATORS or op in LIKE_OPERATORS:
        return Compare(op, arg, path)  # type: ignore[arg-type]  # validated by Compare
    return UnknownOperator.of(op, arg, path)


def _list(op: str, value: object, allowed: str, path: Path) -> list[object] | tuple[object, ...]:
    if not isinstance(value, (list, tuple)):
        raise FilterError(f"{op!r} needs a list", path=path, value=value, allowed=allowed)
    return value
