"""A straightforward reference evaluator of *user* filters over raw run / dataset dicts.

Deliberately independent of ``querylang.parse`` and ``querylang.compile``: it interprets the user grammar
directly, in three-valued logic (``True``, ``False``, ``None`` for unknown), with the semantics of
docs/ARCHITECTURE.md: a comparison on a missing or NULL attribute is unknown (neither it nor its negation
matches), a status flag's count is 0 when absent. It only uses the catalogue as a table of names. It assumes
the filter is valid (it is an oracle for filters the compiler accepted).

Records are the service's raw objects (``compress_attributes=False``): a run has ``run_number``,
``oms_attributes``, ``rr_attributes`` and ``DatasetTripletCache.triplet_summary``; a dataset has ``run_number``,
``name``, ``dataset_attributes``, ``Run.{oms,rr}_attributes`` and ``DatasetTripletCache.triplet_summary``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from querylang.catalogue import Owner, default_catalogue

Truth = bool | None
_CATALOGUE = default_catalogue()
_STATUSES = ("GOOD", "BAD", "STANDBY", "EXCLUDED", "NOTSET", "NO VALUE FOUND", "EMPTY")


def matching(filter: Mapping[str, Any], records: Iterable[Mapping[str, Any]], *, kind: str = "runs") -> list[Any]:
    """The records ``filter`` selects (evaluates to true), in input order."""
    return [record for record in records if evaluate(filter, record, kind=kind) is True]


def evaluate(filter: Mapping[str, Any], record: Mapping[str, Any], *, kind: str = "runs") -> Truth:
    """The three-valued truth of a user filter on one record."""
    return _Evaluator(record, kind).filter(filter)


def _and(values: Iterable[Truth]) -> Truth:
    seen = list(values)
    if any(v is False for v in seen):
        return False
    return None if any(v is None for v in seen) else True


def _or(values: Iterable[Truth]) -> Truth:
    seen = list(values)
    if any(v is True for v in seen):
        return True
    return None if any(v is None for v in seen) else False


def _not(value: Truth) -> Truth:
    return None if value is None else not value


def like(text: str, pattern: str) -> bool:
    """SQL ILIKE: ``%`` any run of characters, ``_`` one character, case-insensitive, whole string."""
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, flags=re.IGNORECASE | re.DOTALL) is not None


def stored_date(value: Any) -> str:
    """A date literal in the stored form ``YYYY-MM-DDTHH:MM:SSZ`` (UTC; naive means UTC)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Evaluator:
    def __init__(self, record: Mapping[str, Any], kind: str) -> None:
        self.record = record
        self.kind = kind

    # -- filters --------------------------------------------------------------------------------------
    def filter(self, filter: Mapping[str, Any]) -> Truth:
        return _and(self.item(key, spec) for key, spec in filter.items())

    def item(self, key: str, spec: Any) -> Truth:
        if key == "and":
            return _and(self.filter(sub) for sub in spec)
        if key == "or":
            return _or(self.filter(sub) for sub in spec)
        if key == "not":
            return _not(self.filter(spec))
        flag = self.flag_name(key)
        if flag is not None:
            return self.status_spec(flag, spec)
        value, kind = self.attribute(key)
        return self.value_spec(value, kind, spec)

    # -- plain attributes -----------------------------------------------------------------------------
    def attribute(self, key: str) -> tuple[Any, str]:
        """(the record's value or None, the attribute type name) for a user key."""
        if key.startswith("triplet_summary."):
            flag, _, status = key[len("triplet_summary.") :].rpartition(".")
            return self.count(self.flag_name(flag) or flag, status.upper()), "count"
        for prefix in ("oms_attributes.", "rr_attributes.", "dataset_attributes."):
            if key.startswith(prefix):
                key = key[len(prefix) :]
        if key == "name":
            key = "dataset_name"
        attribute = _CATALOGUE.dataset_attribute(key) if self.kind == "datasets" else _CATALOGUE.run_attribute(key)
        run = self.record.get("Run", {}) if self.kind == "datasets" else self.record
        source: Mapping[str, Any] = {
            Owner.RUN_TABLE: self.record,
            Owner.DATASET_TABLE: self.record,
            Owner.OMS_RUN: run.get("oms_attributes") or {},
            Owner.RR_RUN: run.get("rr_attributes") or {},
            Owner.DATASET_ATTRIBUTE: self.record.get("dataset_attributes") or {},
        }[attribute.owner]
        name = "name" if key == "dataset_name" else key
        return source.get(name), attribute.type.value

    def value_spec(self, value: Any, kind: str, spec: Any) -> Truth:
        if isinstance(spec, Mapping):
            return _and(self.operator(value, kind, op, arg) for op, arg in spec.items())
        if isinstance(spec, (list, tuple)):
            return _or(self.compare(value, kind, "=", item) for item in spec)
        return self.compare(value, kind, "=", spec)

    def operator(self, value: Any, kind: str, op: str, arg: Any) -> Truth:
        if op == "and":
            return _and(self.value_spec(value, kind, sub) for sub in arg)
        if op == "or":
            return _or(self.value_spec(value, kind, sub) for sub in arg)
        if op == "not":
            return _not(self.value_spec(value, kind, arg))
        if op == "in":
            return _or(self.compare(value, kind, "=", item) for item in arg)
        if op == "notin":
            return _and(self.compare(value, kind, "<>", item) for item in arg)
        return self.compare(value, kind, op, arg)

    @staticmethod
    def compare(value: Any, kind: str, op: str, literal: Any) -> Truth:
        if value is None:
            return None
        if kind == "date":
            literal = stored_date(literal)
        if op in ("like", "notlike"):
            text = value if isinstance(value, str) else str(value)
            return like(text, literal) == (op == "like")
        tests: dict[str, Callable[[Any, Any], bool]] = {
            "=": lambda a, b: a == b,
            "<>": lambda a, b: a != b,
            "<": lambda a, b: a < b,
            ">": lambda a, b: a > b,
            "<=": lambda a, b: a <= b,
            ">=": lambda a, b: a >= b,
        }
        return tests[op](value, literal)

    # -- status flags ---------------------------------------------------------------------------------
    def flag_name(self, key: str) -> str | None:
        """The live name of a status flag (unknown but well-formed ``ws-col`` passes through), else None."""
        try:
            return _CATALOGUE.status_flag(key).name
        except KeyError:
            return key if re.fullmatch(r"[A-Za-z0-9_]+-[A-Za-z0-9_]+", key) else None

    def count(self, flag: str, status: str) -> int:
        summary = (self.record.get("DatasetTripletCache") or {}).get("triplet_summary") or {}
        return int((summary.get(flag) or {}).get(status) or 0)

    def status_spec(self, flag: str, spec: Any) -> Truth:
        if isinstance(spec, str):
            return self.count(flag, spec.upper()) > 0
        if isinstance(spec, (list, tuple)):
            return any(self.count(flag, s.upper()) > 0 for s in spec)
        return _and(self.status_operator(flag, op, arg) for op, arg in spec.items())

    def status_operator(self, flag: str, op: str, arg: Any) -> Truth:
        if op in ("=", "in"):
            return self.status_spec(flag, arg)
        if op == "or":
            return _or(self.status_spec(flag, sub) for sub in arg)
        if op == "and":
            return _and(self.status_spec(flag, sub) for sub in arg)
        if op == "not":
            return _not(self.status_spec(flag, arg))
        raise ValueError(f"not a valid status operator: {op!r}")
