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


class ServerError(Exception):
    """What the service answers with a 500."""


def select(
    filters: Iterable[Mapping[str, Any]], records: list[Mapping[str, Any]], *, kind: str = "runs", quirks: bool = False
) -> list[Any]:
    """The union of the records each backend filter selects, in record order (a plan's answer)."""
    chosen: set[int] = set()
    for backend_filter in filters:
        chosen |= {i for i, r in enumerate(records) if evaluate(backend_filter, r, kind=kind, quirks=quirks) is True}
    return [records[i] for i in sorted(chosen)]


def evaluate(backend_filter: Mapping[str, Any], record: Mapping[str, Any], *, kind: str, quirks: bool) -> Truth:
    return _Backend(record, kind, quirks).filter(backend_filter)


def table_of(key: str, kind: str) -> str:
    if key in ("name",) or key.startswith("dataset_attributes."):
        return "dataset"
    if key == "run_number":
        return "dataset" if kind == "datasets" else "run"
    if key.startswith("triplet_summary."):
        return "triplet"
    return "run"


class _Backend:
    def __init__(self, record: Mapping[str, Any], kind: str, quirks: bool) -> None:
        self.record = record
        self.kind = kind
        self.quirks = quirks

    def filter(self, obj: Mapping[str, Any]) -> Truth:
        return _and(self.item(key, value) for key, value in obj.items())

    def item(self, key: str, value: Any) -> Truth:
        if key.lower() == "and":
            return _and(self.filter(sub) for sub in value)
        if key.lower() == "or":
            if self.quirks and len(self.tables(value)) > 1:
                return self.split_or(value)
            return _or(self.filter(sub) for sub in value)
        return self.column(self.lookup(key), key, value)

    def tables(self, branches: list[Mapping[str, Any]]) -> set[str]:
        found: set[str] = set()
        for branch in branches:
            for key, value in branch.items():
                found |= self.tables(value) if key.lower() in ("and", "or") else {table_of(key, self.kind)}
        return found

    def split_or(self, branches: list[Mapping[str, Any]]) -> Truth:
        """Quirk (b): the ``or`` is evaluated per table and the per-table results are ANDed."""
        by_table: dict[frozenset[str], list[Mapping[str, Any]]] = {}
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

    def column(self, value: Any, key: str, spec: Any) -> Truth:
        if not isinstance(spec, Mapping):
            return self.compare(value, "=", spec)
        return _and(self.operator(value, key, op, arg) for op, arg in spec.items())

    def operator(self, value: Any, key: str, op: str, arg: Any) -> Truth:
        if op.lower() in ("and", "or"):
            if self.quirks and "." in key and _has_non_string(arg):
                raise ServerError("operator does not exist: text = integer")
            parts = [self.column(value, key, sub) for sub in arg]
            return _and(parts) if op.lower() == "and" else _or(parts)
        return self.compare(value, op, arg)

    @staticmethod
    def compare(value: Any, op: str, literal: Any) -> Truth:
        if literal is None:
            return (value is None) if op == "=" else _not(value is None)
        if value is None:
            return None
        if op in ("like", "notlike"):
            return like(str(value), literal) == (op == "like")
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


def _has_non_string(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(_has_non_string(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_non_string(v) for v in value)
    return not isinstance(value, str)
