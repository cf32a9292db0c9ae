"""An independent evaluation of user filter dicts on DIALS rows (no querylang code): the differential oracle.

Fields of DIALS rows are never null, so plain two-valued logic applies. ``like`` is case-insensitive with
``%``/``_`` wildcards and ``\\`` escapes, implemented here with :func:`fnmatch`-free character matching.
"""

from __future__ import annotations

from functools import cache
from typing import Any


def satisfies(filter: dict[str, Any], row: dict[str, Any]) -> bool:
    return all(_item(key, spec, row) for key, spec in filter.items())


def _item(key: str, spec: Any, row: dict[str, Any]) -> bool:
    if key == "and":
        return all(satisfies(sub, row) for sub in spec)
    if key == "or":
        return any(satisfies(sub, row) for sub in spec)
    if key == "not":
        return not satisfies(spec, row)
    return _value(row[key], spec)


def _value(value: Any, spec: Any) -> bool:
    if isinstance(spec, list):
        return value in spec
    if not isinstance(spec, dict):
        return bool(value == spec)
    return all(_operator(value, op, arg) for op, arg in spec.items())


def _operator(value: Any, op: str, arg: Any) -> bool:
    tests = {
        "=": lambda: value == arg,
        "<>": lambda: value != arg,
        "<": lambda: value < arg,
        ">": lambda: value > arg,
        "<=": lambda: value <= arg,
        ">=": lambda: value >= arg,
        "in": lambda: value in arg,
        "notin": lambda: value not in arg,
        "like": lambda: like(str(value), arg),
        "notlike": lambda: not like(str(value), arg),
        "and": lambda: all(_value(value, sub) for sub in arg),
        "or": lambda: any(_value(value, sub) for sub in arg),
        "not": lambda: not _value(value, arg),
    }
    return bool(tests[op]())


def like(text: str, pattern: str) -> bool:
    """Case-insensitive SQL ``LIKE`` by dynamic programming over (text position, pattern position)."""
    tokens: list[tuple[str, str]] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            tokens.append(("lit", pattern[index + 1].lower()))
            index += 2
            continue
        tokens.append(("any", "") if char == "%" else ("one", "") if char == "_" else ("lit", char.lower()))
        index += 1
    lowered = text.lower()

    @cache
    def match(i: int, j: int) -> bool:
        if j == len(tokens):
            return i == len(lowered)
        kind, char = tokens[j]
        if kind == "any":
            return match(i, j + 1) or (i < len(lowered) and match(i + 1, j))
        if i == len(lowered):
            return False
        return (kind == "one" or lowered[i] == char) and match(i + 1, j + 1)

    return match(0, 0)
