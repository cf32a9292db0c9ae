"""Strict JSON text parsing for the project's inputs (filters, rules, lumi masks): every problem is one error.

``json.loads`` silently keeps the last of two equal keys, raises ``RecursionError`` on deep nesting, and a
``UnicodeDecodeError`` or a plain ``ValueError`` on bad bytes or over-long integers. :func:`loads_strict` turns
all of these into :class:`JsonTextError` with a one-line ``reason``.

>>> loads_strict('{"315000": [[1, 10]]}')
{'315000': [[1, 10]]}
>>> loads_strict('{"a": 1, "a": 2}')
Traceback (most recent call last):
...
querylang.jsontext.JsonTextError: key 'a' appears more than once in one object
>>> loads_strict("[" * 100_000)
Traceback (most recent call last):
...
querylang.jsontext.JsonTextError: JSON nested too deeply
"""

from __future__ import annotations

import json
from typing import Any

from querylang.errors import RunQLError

__all__ = ["JsonTextError", "loads_strict"]


class JsonTextError(RunQLError, ValueError):
    """JSON text that cannot be used as an input; ``reason`` is one line."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class _DuplicateKeyError(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def loads_strict(text: str | bytes) -> Any:
    """``json.loads(text)``, refusing repeated keys; any problem is a :class:`JsonTextError`."""
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except _DuplicateKeyError as exc:
        raise JsonTextError(f"key {exc.key!r:.60} appears more than once in one object") from None
    except RecursionError:
        raise JsonTextError("JSON nested too deeply") from None
    except UnicodeDecodeError as exc:
        raise JsonTextError(f"not UTF-8 text (invalid byte at offset {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise JsonTextError(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except ValueError as exc:  # e.g. an integer literal too long to convert
        raise JsonTextError(f"not usable JSON ({' '.join(str(exc).split())})") from None
