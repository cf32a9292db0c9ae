"""Parse a json-logic good-run-list rule into checked :mod:`~querylang.rule_ast` nodes.

:func:`parse_rule` checks a rule before anything is sent: every ``var`` must name a variable of the golden-JSON
namespace (``rr-protocol.md`` §8), every operator must be one json-logic-js 1.2.3 knows (``method`` is always
refused), and literals compared with a typed variable must make sense (a status with a status name, a boolean bit
with a boolean, a number with a number). Errors are :class:`~querylang.errors.RuleError` naming the path inside
the rule, with did-you-mean suggestions; so is a rule nested deeper than :data:`~querylang.limits.MAX_DEPTH`
levels or holding a string that is not valid Unicode.

>>> parse_rule({"==": [{"var": "run.oms.energie"}, 6500]})
Traceback (most recent call last):
...
querylang.errors.RuleError: rule["=="][0]["var"]: unknown variable; got 'run.oms.energie'; \
allowed: run.oms.<OMS run attribute>; did you mean 'run.oms.energy'?
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from querylang.catalogue import STATUS_VALUES, AttrType, Catalogue, default_catalogue
from querylang.errors import RuleError
from querylang.jsonlogic import OPERATORS, js_number
from querylang.limits import check_json, check_nesting
from querylang.rule_ast import (
    COMPARISONS,
    ArrayNode,
    Literal,
    Operation,
    Path,
    RuleNode,
    Variable,
    compared,
    resolve_variable,
)

__all__ = ["parse_rule"]

_RELATIONAL: Final = frozenset({"<", "<=", ">", ">="})
_SCOPED: Final = frozenset({"map", "filter", "reduce", "all", "none", "some"})


def parse_rule(rule: Any, *, catalogue: Catalogue | None = None) -> RuleNode:
    """Parse and check a golden-JSON rule; raises :class:`RuleError` naming the path of the first problem.

    >>> parse_rule({"==": [{"var": "lumisection.rr.dt-dt"}, "GOD"]})
    Traceback (most recent call last):
    ...
    querylang.errors.RuleError: rule["=="][1]: not a status; got 'GOD'; \
allowed: GOOD, BAD, STANDBY, EXCLUDED, NOTSET, NO VALUE FOUND, EMPTY; did you mean 'GOOD'?
    """
    if isinstance(rule, (list, tuple)):  # json-logic would evaluate it to a truthy list: it would keep everything
        raise RuleError("a rule must be a json-logic operation (a JSON object), not a list", value=rule)
    check_nesting(rule, RuleError)
    return _Parser(catalogue or default_catalogue()).node(rule, (), scoped=False)


@dataclass
class _Parser:
    catalogue: Catalogue

    def node(self, rule: Any, path: Path, *, scoped: bool) -> RuleNode:
        if isinstance(rule, (list, tuple)):
            return ArrayNode(tuple(self.node(x, (*path, i), scoped=scoped) for i, x in enumerate(rule)), path)
        if isinstance(rule, Mapping) and len(rule) == 1:
            ((operator, raw),) = rule.items()
            return self.operation(operator, raw, path, scoped=scoped)
        check_json(rule, RuleError, path)
        return Literal(rule, path)

    def operation(self, operator: Any, raw: Any, path: Path, *, scoped: bool) -> RuleNode:
        if operator == "method":
            raise RuleError("the operator 'method' is not supported: it runs arbitrary code", path=(*path, "method"))
        if not isinstance(operator, str) or operator not in OPERATORS:
            suggestions = self.catalogue.suggest(str(operator), OPERATORS)
            raise RuleError("unknown operator", path=(*path, str(operator)), value=operator, suggestions=suggestions)
        is_list = isinstance(raw, (list, tuple))
        raws = list(raw) if is_list else [raw]
        paths = [(*path, operator, i) for i in range(len(raws))] if is_list else [(*path, operator)]
        if operator == "var":
            return self.variable(raws, paths, scoped=scoped)
        args = tuple(
            self.node(arg, arg_path, scoped=scoped or (operator in _SCOPED and index == 1))
            for index, (arg, arg_path) in enumerate(zip(raws, paths, strict=True))
        )
        reads = self.missing_names(operator, args) if operator in ("missing", "missing_some") and not scoped else ()
        node = Operation(operator, args, path, reads)
        _check_operands(node)
        return node

    def variable(self, raws: list[Any], paths: list[Path], *, scoped: bool) -> RuleNode:
        if len(raws) > 2:
            raise RuleError("var takes a name and an optional default", path=paths[2], value=raws[2])
        default = self.node(raws[1], paths[1], scoped=scoped) if len(raws) > 1 else None
        name = raws[0] if raws else None
        if scoped:
            return Variable(str(name), "item", path=paths[0], default=default)
        if not isinstance(name, str) or not name:
            allowed = "a literal variable name such as 'run.oms.energy'"
            raise RuleError("variable names must be literal strings", path=paths[0], value=name, allowed=allowed)
        found = resolve_variable(name, paths[0], self.catalogue)
        return Variable(
            found.name, found.scope, found.type, found.key, paths[0], default, found.nullable, found.choices
        )

    def missing_names(self, operator: str, args: tuple[RuleNode, ...]) -> tuple[Variable, ...]:
        """The variables ``missing`` / ``missing_some`` name; they must be literal strings to be checked."""
        names: RuleNode | tuple[RuleNode, ...] | None = args[1] if len(args) > 1 else None
        if operator == "missing":
            names = args[0] if args and isinstance(args[0], ArrayNode) else args
        items = names.items if isinstance(names, ArrayNode) else names if isinstance(names, tuple) else (names,)
        found = []
        for item in items:
            if not (isinstance(item, Literal) and isinstance(item.value, str)):
                path = getattr(item, "path", ())
                raise RuleError(f"{operator} needs literal variable names", path=path, allowed="strings")
            found.append(resolve_variable(item.value, item.path, self.catalogue))
        return tuple(found)


def _check_operands(node: Operation) -> None:
    """Literal types against typed variables: comparisons, between forms and ``in``."""
    args = node.args
    if node.operator in COMPARISONS:
        for left, right in itertools.pairwise(compared(node)):
            _check_pair(node.operator, left, right)
    elif node.operator == "in" and len(args) >= 2:
        _check_in(args[0], args[1])


def _check_pair(operator: str, left: RuleNode, right: RuleNode) -> None:
    if isinstance(left, Variable) and isinstance(right, Literal):
        _check_literal(operator, left, right)
    elif isinstance(right, Variable) and isinstance(left, Literal):
        _check_literal(operator, right, left)


def _check_in(needle: RuleNode, haystack: RuleNode) -> None:
    if isinstance(haystack, Variable) and haystack.type is not None:
        if haystack.type in (AttrType.NUMBER, AttrType.BOOLEAN):
            raise RuleError(
                f"'in' on a {haystack.type.value} variable is always false",
                path=haystack.path,
                value=haystack.name,
                allowed="a string or list variable",
            )
        if isinstance(needle, Literal) and not isinstance(needle.value, str):
            raise RuleError("'in' looks for a string here", path=needle.path, value=needle.value, allowed="a string")
    if isinstance(needle, Variable) and isinstance(haystack, ArrayNode):
        for item in haystack.items:
            if isinstance(item, Literal):
                _check_literal("==", needle, item)


def _check_literal(operator: str, variable: Variable, literal: Literal) -> None:
    kind, value = variable.type, literal.value
    if kind is None:
        return
    if value is None:
        if operator in _RELATIONAL:
            raise _literal_error(literal, "null compares as 0 in json-logic-js; write the number", "a number")
        return
    if operator in _RELATIONAL and kind in (AttrType.STATUS, AttrType.BOOLEAN, AttrType.LIST):
        raise RuleError(f"a {kind.value} has no order", path=literal.path, value=value, allowed="== or !=")
    _LITERAL_CHECKS[kind](variable, literal)


def _literal_error(literal: Literal, message: str, allowed: str, suggestions: Sequence[str] = ()) -> RuleError:
    return RuleError(message, path=literal.path, value=literal.value, allowed=allowed, suggestions=suggestions)


def _check_status(variable: Variable, literal: Literal) -> None:
    if literal.value not in STATUS_VALUES:
        hints = [s for s in STATUS_VALUES if isinstance(literal.value, str) and s == literal.value.upper()]
        hints = hints or Catalogue.suggest(str(literal.value), STATUS_VALUES, limit=1)
        raise _literal_error(literal, "not a status", ", ".join(STATUS_VALUES), hints)


def _check_boolean(variable: Variable, literal: Literal) -> None:
    if not isinstance(literal.value, bool):
        kind = "number" if isinstance(literal.value, (int, float)) else type(literal.value).__name__
        raise _literal_error(literal, f"{variable.name} is a boolean, compared with a {kind}", "true or false")


def _check_number(variable: Variable, literal: Literal) -> None:
    value = literal.value
    numeric_text = isinstance(value, str) and value.strip() and not math.isnan(js_number(value))
    if isinstance(value, bool) or not (isinstance(value, (int, float)) or numeric_text):
        raise _literal_error(literal, f"{variable.name} is a number", "a number")


def _check_string(variable: Variable, literal: Literal) -> None:
    if not isinstance(literal.value, str):
        raise _literal_error(literal, f"{variable.name} is a string", "a string")
    choices = variable.choices
    if choices and literal.value not in choices:
        hints = Catalogue.suggest(literal.value, choices)
        raise _literal_error(literal, "not a value this attribute takes", ", ".join(choices), hints)


def _check_date(variable: Variable, literal: Literal) -> None:
    if not (isinstance(literal.value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ].*)?", literal.value)):
        raise _literal_error(literal, f"{variable.name} is a date", "an ISO-8601 string like '2018-05-01T00:00:00Z'")


def _check_list(variable: Variable, literal: Literal) -> None:
    raise _literal_error(literal, f"{variable.name} is a list", "'in' with a string")


_LITERAL_CHECKS: Final = {
    AttrType.STATUS: _check_status,
    AttrType.BOOLEAN: _check_boolean,
    AttrType.NUMBER: _check_number,
    AttrType.STRING: _check_string,
    AttrType.DATE: _check_date,
    AttrType.LIST: _check_list,
}
