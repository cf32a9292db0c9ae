"""The Run Registry's own loss accounting: which clauses of a rule a removed lumisection is blamed on.

For every lumisection of the anti-JSON, the service (``rr-protocol.md`` §8) evaluates the rule's tree of ``and``
/ ``or`` nodes and blames the *leaves* that are not ``true`` below every ``and`` / ``or`` that is not ``true``
(a clause counts as false unless its value is exactly ``true``, as the service tests it). The leaves are keyed
by their ``JSON.stringify`` text, and the list of them, in rule order, keys the combination. ``if`` nodes and
literal ``true`` / numbers below an ``and`` / ``or`` are never blamed; a top-level ``if`` or a ``null`` clause makes
the service's accounting throw (:class:`UnaccountableError`), and then the service never finishes the row.

>>> blame = compile_blame({"and": [{">=": [{"var": "e"}, 6000]}, {"==": [{"var": "s"}, "GOOD"]}]})
>>> blame({"e": 6500, "s": "BAD"})
('{"==":[{"var":"s"},"GOOD"]}',)
>>> combination_key(blame({"e": 10, "s": None}))
'[{">=":[{"var":"e"},6000]},{"==":[{"var":"s"},"GOOD"]}]'
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from querylang.errors import ArgumentTypeError, QueryLangError
from querylang.jsonlogic import Evaluator, compile_rule, js_string

__all__ = ["Blame", "UnaccountableError", "combination_key", "compile_blame", "finishes", "js_stringify"]

#: The clauses blamed for one removed lumisection (``JSON.stringify`` of each), in rule order.
Blame = tuple[str, ...]

_LONE_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_ARRAY_INDEX: Final = re.compile(r"0|[1-9][0-9]*")
_MAX_ARRAY_INDEX: Final = 2**32 - 2


class UnaccountableError(QueryLangError):
    """The service's loss accounting throws on this lumisection (it then never finishes the row)."""


def js_stringify(value: Any) -> str:
    """JavaScript ``JSON.stringify`` of a JSON value (compact; JS numbers; JS key order).

    >>> js_stringify({"b": [1.0, 3.7, 1e21, -0.0, float("nan")], "2": "é\\n", "a": None})
    '{"2":"é\\\\n","b":[1,3.7,1e+21,0,null],"a":null}'
    """
    if value is None or value is True or value is False:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return "null" if isinstance(value, float) and not math.isfinite(value) else js_string(value)
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(js_stringify(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{_quote(str(k))}:{js_stringify(value[k])}" for k in _js_key_order(value)) + "}"
    raise ArgumentTypeError(f"not a JSON value: {value!r}")


def _quote(text: str) -> str:
    quoted = json.dumps(text, ensure_ascii=False)
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def _js_key_order(mapping: dict[Any, Any]) -> list[Any]:
    """JavaScript property order: array-index keys ascending, then the others in insertion order."""

    def index(key: Any) -> int | None:
        text = str(key)
        return int(text) if _ARRAY_INDEX.fullmatch(text) and int(text) <= _MAX_ARRAY_INDEX else None

    indices = sorted((k for k in mapping if index(k) is not None), key=lambda k: index(k) or 0)
    return indices + [k for k in mapping if index(k) is None]


def combination_key(blame: Blame) -> str:
    """The key of a combination of blamed clauses: ``JSON.stringify`` of their list.

    >>> combination_key(('{"var":"a"}', "true"))
    '[{"var":"a"},true]'
    """
    return "[" + ",".join(blame) + "]"


# ---- the rule as the service walks it -------------------------------------------------------------------------
@dataclass(frozen=True)
class _Leaf:
    key: str
    copies: int  # a string or array clause is blamed once per character / element (Object.keys)
    evaluate: Evaluator

    def blame(self, data: Any) -> Blame:
        return () if self.evaluate(data) is True else (self.key,) * self.copies


@dataclass(frozen=True)
class _Branch:
    evaluate: Evaluator
    children: tuple[_Node, ...]

    def blame(self, data: Any) -> Blame:
        if self.evaluate(data) is True:
            return ()
        return tuple(key for child in self.children for key in child.blame(data))


@dataclass(frozen=True)
class _Silent:
    """``if`` nodes, numbers and booleans: the service's walk skips them."""

    def blame(self, data: Any) -> Blame:
        return ()


@dataclass(frozen=True)
class _Throws:
    """A ``null`` clause (``Object.keys(null)`` throws) or a top-level ``if`` (nothing evaluated)."""

    reason: str

    def blame(self, data: Any) -> Blame:
        raise UnaccountableError(self.reason)


_Node = _Leaf | _Branch | _Silent | _Throws


def _node(rule: Any) -> _Node:
    if rule is None:
        return _Throws("a null clause below and/or")
    if isinstance(rule, dict) and len(rule) == 1:
        (operator, args), evaluate = next(iter(rule.items())), compile_rule(rule)
        if operator == "if":
            return _Silent()
        if operator in ("and", "or"):
            children = args if isinstance(args, list) else [args]
            return _Branch(evaluate, tuple(_node(child) for child in children))
        return _Leaf(js_stringify(rule), 1, evaluate)
    if isinstance(rule, (str, list)) and rule:
        return _Leaf(js_stringify(rule), len(rule), compile_rule(rule))
    return _Silent()


def compile_blame(rule: Any) -> Callable[[Any], Blame]:
    """Compile the service's accounting walk of ``rule`` once: data object of a *removed* lumisection in, blamed
    clauses out. The callable raises :class:`UnaccountableError` where the service's walk throws (a top-level ``if``,
    a ``null`` clause reached, a clause whose evaluation throws); ``compile_blame`` itself raises
    :class:`querylang.RuleError` for a rule that does not compile.

    >>> compile_blame({"or": [{"var": "a"}, {"and": [{"var": "b"}, 5]}]})({"a": 0, "b": None})
    ('{"var":"a"}', '{"var":"b"}')
    >>> compile_blame({"if": [{"var": "a"}, 1, 2]})({})
    Traceback (most recent call last):
    ...
    querylang.losses.UnaccountableError: input: the service's loss accounting throws on a top-level if
    """
    top = _Throws("the service's loss accounting throws on a top-level if") if _is_if(rule) else _node(rule)

    def blame(data: Any) -> Blame:
        try:
            return top.blame(data)
        except UnaccountableError:
            raise
        except QueryLangError as exc:
            raise UnaccountableError(f"a clause throws: {exc}") from None

    return blame


def finishes(rule: Any) -> bool:
    """Whether the service can finish a row for ``rule`` whatever the data: ``False`` when its accounting walk
    throws on any removed lumisection (a top-level ``if``, a ``null`` clause below ``and`` / ``or``).

    >>> finishes({"and": [{"var": "a"}, {"if": [1, 2, 3]}]}), finishes({"if": [1, 2, 3]})
    (True, False)
    >>> finishes({"or": [{"var": "a"}, None]})
    False
    """

    def throws(node: _Node) -> bool:
        return isinstance(node, _Throws) or (isinstance(node, _Branch) and any(throws(c) for c in node.children))

    return not _is_if(rule) and not throws(_node(rule))


def _is_if(rule: Any) -> bool:
    return isinstance(rule, dict) and list(rule) == ["if"]
