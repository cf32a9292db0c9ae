"""DIALS query parameters → a row predicate and a :class:`~backend.dials.data.Prune`, as django-filter does it.

The parameters of each resource are those of its catalogue entry (:mod:`querylang.dials_catalogue`): exact,
``__gte``/``__lte`` (inclusive), ``__in`` (one comma-separated value), ``__regex`` (case-sensitive, unanchored
search). Unknown parameters and empty values are ignored; a malformed number is a 400 field error; a boolean
other than true/false/1/0 (any case) means "no filter"; all filters are ANDed.

>>> from querylang.dials_catalogue import dials_resource
>>> query = parse_query(dials_resource("run"), [("run_number__gte", "5"), ("ls_numbet__lte", "3")])
>>> query.matches({"run_number": 7}), query.matches({"run_number": 4}), query.prune.runs
(True, False, (5, 4611686018427387904))
>>> parse_query(dials_resource("run"), [("run_number", "abc")])
Traceback (most recent call last):
...
backend.dials.query.FieldValidationError: {'run_number': ['Enter a number.']}
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import re2

from backend.dials.data import Prune, Row, Workspace
from backend.dials.rows import value
from backend.errors import BackendError
from querylang.catalogue import AttrType
from querylang.dials_catalogue import DialsField, DialsResource
from querylang.errors import FilterError
from querylang.similar import re2_program

__all__ = ["FieldValidationError", "Query", "ServerFailureError", "parse_query", "posix_regex"]

_TRUE, _FALSE = ("true", "1"), ("false", "0")
_INTEGER = re.compile(r"[+-]?\d+")


class FieldValidationError(BackendError, ValueError):
    """Parameters that failed validation: ``{param: [message]}`` (a DRF 400 body)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__(errors)


class ServerFailureError(BackendError, RuntimeError):
    """A request the real service fails on with a 500 (an invalid ``__regex``, a missing cert/golden parameter)."""


@dataclass(frozen=True)
class _Condition:
    field: str
    lookup: str
    operand: Any

    def test(self, row: Row) -> bool:
        actual = value(row, self.field)
        if actual is None:
            return False
        if self.lookup == "exact":
            return bool(actual == self.operand)
        if self.lookup == "in":
            return actual in self.operand
        if self.lookup == "gte":
            return bool(actual >= self.operand)
        if self.lookup == "lte":
            return bool(actual <= self.operand)
        return self.operand.search(str(actual)) is not None


@dataclass(frozen=True)
class Query:
    """The conditions of one request (ANDed) and the pruning they imply."""

    conditions: tuple[_Condition, ...]
    prune: Prune

    def matches(self, row: Row) -> bool:
        return all(condition.test(row) for condition in self.conditions)

    def narrowed(self, ws: Workspace) -> Query:
        """With dataset and ME names resolved to ids in ``ws`` (the service resolves names the same way)."""
        prune = self.prune
        datasets = _resolve(self.conditions, ("dataset", "dataset_id"), ws.datasets, "dataset_id", "dataset")
        if datasets is not None:
            prune = dataclasses.replace(prune, dataset_ids=_meet(prune.dataset_ids, datasets))
        mes = _resolve(self.conditions, ("me", "me_id", "dim"), ws.mes, "me_id", "me")
        if mes is not None:
            prune = dataclasses.replace(prune, me_ids=_meet(prune.me_ids, mes))
        return Query(self.conditions, prune)


def _resolve(
    conditions: Iterable[_Condition], fields: tuple[str, ...], table: list[Row], key: str, name: str
) -> frozenset[int] | None:
    relevant = [c for c in conditions if c.field in fields]
    if not relevant:
        return None
    return frozenset(row[key] for row in table if all(c.test(row) for c in relevant))


def _meet(left: frozenset[int] | None, right: frozenset[int]) -> frozenset[int]:
    return right if left is None else left & right


def parse_query(resource: DialsResource, params: Iterable[tuple[str, str]]) -> Query:
    """The query of ``params`` (the last value of a repeated parameter wins, as in Django's ``QueryDict``)."""
    by_param = {
        param: (field, lookup) for field in resource.fields for lookup, param in field.lookups if param is not None
    }
    values = dict(params)
    conditions, errors = [], {}
    for param, raw in values.items():
        target = by_param.get(param)
        if target is None or raw == "":
            continue
        field, lookup = target
        try:
            operand = _operand(field, lookup, raw)
        except ValueError as exc:
            errors[param] = [str(exc)]
            continue
        if operand is not _IGNORED:
            conditions.append(_Condition(field.name, lookup, operand))
    if errors:
        raise FieldValidationError(errors)
    return Query(tuple(conditions), _prune(conditions))


_IGNORED = object()


def _operand(field: DialsField, lookup: str, raw: str) -> Any:
    if lookup == "regex":
        return posix_regex(raw)
    if field.type is AttrType.BOOLEAN:
        lowered = raw.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else _IGNORED
    if field.type is AttrType.NUMBER:
        if lookup == "in":
            return frozenset(_integer(part) for part in raw.split(","))
        return _integer(raw)
    return raw


def posix_regex(pattern: str) -> re2._Regexp[str]:
    """``pattern`` compiled to search like PostgreSQL's ``~``, with RE2 so any pattern runs in linear time.

    RE2's ``$`` matches only at the very end (as PostgreSQL's does) and ``.`` matches newlines; constructs RE2
    refuses (back-references, look-around) and over-large programs are a server error.

    >>> bool(posix_regex("^a$").search("a\\n")), bool(re.search("^a$", "a\\n"))
    (False, True)
    """
    try:
        return re2_program(pattern)
    except FilterError as exc:
        raise ServerFailureError(f"invalid regex: {exc.message}") from None


def _integer(text: str) -> int:
    if not _INTEGER.fullmatch(text.strip()):
        raise ValueError("Enter a number.")
    return int(text)


_RANGE_FIELDS: dict[str, Callable[[Prune, int, int], Prune]] = {
    "run_number": lambda p, lo, hi: dataclasses.replace(p, runs=(max(p.runs[0], lo), min(p.runs[1], hi))),
    "ls_number": lambda p, lo, hi: dataclasses.replace(p, ls=(max(p.ls[0], lo), min(p.ls[1], hi))),
}
_SET_FIELDS = {"run_number": "run_set", "dataset_id": "dataset_ids", "me_id": "me_ids", "model_id": "model_ids"}


def _prune(conditions: Iterable[_Condition]) -> Prune:
    prune = Prune()
    for c in conditions:
        if c.field == "id":  # ML models are keyed by id
            c = _Condition("model_id", c.lookup, c.operand)
        if c.field in _RANGE_FIELDS and c.lookup in ("exact", "gte", "lte"):
            lo = c.operand if c.lookup in ("exact", "gte") else 0
            hi = c.operand if c.lookup in ("exact", "lte") else 2**62
            prune = _RANGE_FIELDS[c.field](prune, lo, hi)
        if c.field in _SET_FIELDS and c.lookup in ("exact", "in"):
            values = frozenset([c.operand]) if c.lookup == "exact" else c.operand
            name = _SET_FIELDS[c.field]
            prune = dataclasses.replace(prune, **{name: _meet(getattr(prune, name), values)})  # type: ignore[arg-type]
    return prune
