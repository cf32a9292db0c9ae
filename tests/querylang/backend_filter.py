"""An offline evaluator of *backend* filters (``rr-protocol.md`` §4) over raw records, with the quirks.

It stands in for the service in the offline semantic tests (the embedded backend is the real thing):
SQL three-valued logic, casting by the JSON type of the literal, ``like``/``notlike`` as ILIKE, ``{"=": null}``
as IS NULL. With ``quirks=True`` it reproduces quirk (a) (``and``/``or`` under a JSON key with a non-string
literal raises, like the service's 500 "text = integer") and quirk (b) (an ``or`` whose branches span tables is
split per table and the parts are ANDed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from reference import Truth, _and, _not, _or, like

from querylang.backend_filter import (
    LIKE_OPERATORS,
    BackendFilter,
    Bare,
    Column,
    Compare,
    Condition,
    Junction,
    KeyJunction,
    Operators,
    Test,
    UnknownOperator,
    column_keys,
    from_json,
    table_of,
)

BackendFilterLike = Mapping[str, Any] | BackendFilter


class ServerError(Exception):
    """What the service answers with a 500."""


def node_of(backend_filter: BackendFilterLike) -> BackendFilter:
    return backend_filter if isinstance(backend_filter, BackendFilter) else from_json(backend_filter)


def select(
    filters: Iterable[BackendFilterLike], records: list[Mapping[str, Any]], *, kind: str = "runs", quirks: bool = False
) -> list[Any]:
    """The union of the records each backend filter selects, in record order (a plan's answer)."""
    chosen: set[int] = set()
    for backend_filter in filters:
        node = node_of(backend_filter)
        chosen |= {i for i, r in enumerate(records) if _Backend(r, kind, quirks).filter(node) is True}
    return [records[i] for i in sorted(chosen)]


def evaluate(backend_filter: BackendFilterLike, record: Mapping[str, Any], *, kind: str, quirks: bool) -> Truth:
    return _Backend(record, kind, quirks).filter(node_of(backend_filter))


class _Backend:
    def __init__(self, record: Mapping[str, Any], kind: str, quirks: bool) -> None:
        self.record = record
        self.kind = kind
        self.quirks = quirks

    def filter(self, node: BackendFilter) -> Truth:
        return _and(self.entry(entry) for entry in node.items)

    def entry(self, entry: Column | Junction) -> Truth:
        match entry:
            case Junction(logic="and", filters=filters):
                return _and(self.filter(sub) for sub in filters)
            case Junction(filters=filters):
                if self.quirks and len(self.tables(filters)) > 1:
                    return self.split_or(filters)
                return _or(self.filter(sub) for sub in filters)
            case Column(key=key, condition=condition):
                return self.condition(self.lookup(key), key, condition)

    def tables(self, branches: Iterable[BackendFilter]) -> set[str]:
        return {table_of(key, self.kind) for branch in branches for key in column_keys(branch)}

    def split_or(self, branches: tuple[BackendFilter, ...]) -> Truth:
        """Quirk (b): the ``or`` is evaluated per table and the per-table results are ANDed."""
        by_table: dict[frozenset[str], list[BackendFilter]] = {}
        for branch in branches:
            by_table.setdefault(frozenset(self.tables([branch])), []).append(branch)
        return _and(_or(self.filter(b) for b in group) for group in by_table.values())

    def lookup(self, key: str) -> Any:
        if key.startswith("triplet_summary."):
            flag, _, status = key[len("triplet_summary.") :].rpartition(".")
            summary = (self.record.get("DatasetTripletCache") or {}).get("triplet_summary") or {}
            return (summary.get(flag) or {}).get(status)
        if "." not in key:
            return self.record.get(key)
        column, _, name = key.partition(".")
        holder = (
            self.record.get("Run", {}) if self.kind == "datasets" and column != "dataset_attributes" else self.record
        )
        return (holder.get(column) or {}).get(name)

    def condition(self, value: Any, key: str, condition: Condition) -> Truth:
        if isinstance(condition, Bare):
            return self.compare(value, "=", condition.value)
        assert isinstance(condition, Operators)
        return _and(self.test(value, key, test) for test in condition.tests)

    def test(self, value: Any, key: str, test: Test) -> Truth:
        match test:
            case KeyJunction(logic=logic, items=items):
                if self.quirks and "." in key and any(not isinstance(v, str) for v in test.values()):
                    raise ServerError("operator does not exist: text = integer")
                parts = [self.condition(value, key, item) for item in items]
                return _and(parts) if logic == "and" else _or(parts)
            case Compare(op=op, value=literal):
                return self.compare(value, op, literal)
            case UnknownOperator(op=op):
                if self.quirks and "." in key:
                    return False  # quirk (c)
                raise ServerError(f"unknown operator {op!r}")
        raise AssertionError(test)

    @staticmethod
    def compare(value: Any, op: str, literal: Any) -> Truth:
        if literal is None:
            return (value is None) if op == "=" else _not(value is None)
        if value is None:
            return None
        if op in LIKE_OPERATORS:
            case_sensitive, negated = LIKE_OPERATORS[op]
            assert not case_sensitive, "the offline stand-in evaluates like/notlike (ILIKE) only"
            return like(str(value), literal) != negated
        if isinstance(literal, bool) != isinstance(value, bool):
            raise ServerError(f"cannot compare {value!r} with {literal!r}")
        if isinstance(literal, str):
            value = value if isinstance(value, str) else str(value)
        return {
            "=": value == literal,
            "<>": value != literal,
            "<": value < literal,
            ">": value > literal,
            "<=": value <= literal,
            ">=": value >= literal,
        }[op]
