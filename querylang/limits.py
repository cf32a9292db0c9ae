"""Bounds on the nested inputs querylang reads (filters, rules, patterns), checked without recursion.

Every public entry point that walks a user's filter or rule recursively first calls :func:`check_nesting`, so
the walkers after it never meet more than :data:`MAX_DEPTH` levels (no ``RecursionError``, whatever the input)
nor more than :data:`MAX_VALUES` values, and every string in the input is valid Unicode (a lone surrogate such
as ``"\\ud800"`` cannot be sent to a service as UTF-8).

>>> from querylang.errors import FilterError
>>> check_nesting({"not": {"not": {"run_number": 1}}}, FilterError)
>>> deep: dict[str, object] = {"run_number": 1}
>>> for _ in range(MAX_DEPTH):
...     deep = {"not": deep}
>>> check_nesting(deep, FilterError)
Traceback (most recent call last):
...
querylang.errors.FilterError: filter: nested too deeply (more than 100 levels); allowed: at most 100 nested objects \
and lists
>>> check_nesting({"class": "Cosmics\\ud800"}, FilterError)
Traceback (most recent call last):
...
querylang.errors.FilterError: filter["class"]: invalid Unicode (a lone surrogate at character 7); \
got 'Cosmics\\ud800'; allowed: valid Unicode text
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Final

from querylang.errors import PathPart, QueryLangError

__all__ = ["MAX_DEPTH", "MAX_VALUES", "check_json", "check_nesting", "check_text"]

#: Most nested objects and lists in one filter or rule (real ones use a handful).
MAX_DEPTH: Final = 100
#: Most values (objects, lists, scalars) in one filter or rule.
MAX_VALUES: Final = 1_000_000
_EXCERPT: Final = 40

#: Leaves that need no check at all (exact types: a subclass may be anything).
_PLAIN: Final = frozenset({int, float, bool, type(None)})

# A path as a linked list (part, parent): O(1) per step, rebuilt only for an error.
_Trail = tuple[PathPart, "_Trail"] | None


def _path(trail: _Trail) -> tuple[PathPart, ...]:
    parts: list[PathPart] = []
    while trail is not None:
        part, trail = trail
        parts.append(part)
    return tuple(reversed(parts))


def check_text(text: str, error: type[QueryLangError], path: tuple[PathPart, ...] = ()) -> None:
    """Raise ``error`` if ``text`` is not valid Unicode (it holds a lone surrogate, so it has no UTF-8 form).

    >>> from querylang.errors import RuleError
    >>> check_text("/PromptReco/Collisions2018A/DQM", RuleError)
    """
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        start = max(0, exc.start - _EXCERPT // 2)
        raise error(
            f"invalid Unicode (a lone surrogate at character {exc.start})",
            path=path,
            value=text[start : start + _EXCERPT],
            allowed="valid Unicode text",
        ) from None


def check_nesting(
    value: object,
    error: type[QueryLangError],
    *,
    max_depth: int = MAX_DEPTH,
    max_values: int = MAX_VALUES,
) -> None:
    """Raise ``error`` if ``value`` nests dicts/lists deeper than ``max_depth``, holds more than ``max_values``
    values, or holds a string (value or key) that is not valid Unicode. Iterative: safe on any input."""
    stack: list[tuple[object, int, _Trail]] = [(value, 0, None)]
    seen = 0
    while stack:
        item, depth, trail = stack.pop()
        seen += 1
        if seen > max_values:
            raise error(f"more than {max_values} values", allowed=f"at most {max_values} values in one input")
        if type(item) in _PLAIN:  # the common leaves first: no ABC check, no path
            continue
        if isinstance(item, str):
            if not item.isascii():  # the path is built only where it may be needed
                check_text(item, error, _path(trail))
            continue
        pairs: Callable[[], Iterable[tuple[object, object]]]  # called once the size is within bounds
        if type(item) is dict or isinstance(item, Mapping):
            size, pairs = len(item), item.items
        elif isinstance(item, (list, tuple)):
            size, pairs = len(item), functools.partial(enumerate, item)
        else:
            continue
        if depth >= max_depth:
            raise error(
                f"nested too deeply (more than {max_depth} levels)",
                allowed=f"at most {max_depth} nested objects and lists",
            )
        if seen + size > max_values:  # refused before walking past the bound
            raise error(f"more than {max_values} values", allowed=f"at most {max_values} values in one input")
        for key, child in pairs():
            if isinstance(key, str) and not key.isascii():
                check_text(key, error, _path(trail))
            if type(child) in _PLAIN:  # a plain leaf: counted here, never stacked
                seen += 1
                continue
            part = key if isinstance(key, (str, int)) else str(key)
            stack.append((child, depth + 1, (part, trail)))


def check_json(
    value: object, error: type[QueryLangError], path: tuple[PathPart, ...] = (), *, finite: bool = False
) -> None:
    """Raise ``error`` naming the path unless ``value`` is JSON: ``None``, booleans, numbers, strings, lists (or
    tuples) and mappings with string keys; ``finite=True`` also refuses NaN and infinities. Iterative.

    >>> from querylang.errors import RuleError
    >>> check_json({"a": [1, None, "x"]}, RuleError)
    >>> check_json({"a": [1, {2: 3}]}, RuleError)
    Traceback (most recent call last):
    ...
    querylang.errors.RuleError: rule["a"][1]: JSON object keys must be strings; got 2
    """
    stack: list[tuple[object, tuple[PathPart, ...]]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if item is None or isinstance(item, (bool, int, str)):
            continue
        if isinstance(item, float):
            if finite and not math.isfinite(item):
                raise error("not representable in JSON", path=where, value=item, allowed="finite numbers")
        elif isinstance(item, Mapping):
            if not all(isinstance(key, str) for key in item):
                key = next(key for key in item if not isinstance(key, str))
                raise error("JSON object keys must be strings", path=where, value=key)
            stack.extend(reversed([(child, (*where, key)) for key, child in item.items()]))
        elif isinstance(item, (list, tuple)):
            stack.extend(reversed([(child, (*where, index)) for index, child in enumerate(item)]))
        else:
            raise error(
                "not a JSON value", path=where, value=item, allowed="null, booleans, numbers, strings, lists, dicts"
            )
