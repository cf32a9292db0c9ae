"""Good-run-list rules: parse a json-logic rule into checked nodes, then plan its evaluation.

:func:`parse_rule` checks a rule before anything is sent: every ``var`` must name a variable of the golden-JSON
namespace (``rr-protocol.md`` §8), every operator must be one json-logic-js 1.2.3 knows (``method`` is always
refused), and literals compared with a typed variable must make sense (a status with a status name, a boolean bit
with a boolean, a number with a number). Errors are :class:`~querylang.errors.RuleError` naming the path inside
the rule, with did-you-mean suggestions; so is a rule nested deeper than :data:`~querylang.limits.MAX_DEPTH`
levels or holding a string that is not valid Unicode.

:func:`plan_rule` splits a top-level ``and`` into run-level clauses (only ``run.*``/``dataset.*`` variables,
evaluated once per run) and the lumisection-level residual (evaluated per lumisection segment), and translates
what it safely can of the run-level part into runql user filters, a *prefilter*: it may let through runs the
rule rejects (they are rejected locally), never the reverse.

>>> plan = plan_rule({"and": [{">=": [{"var": "run.oms.energy"}, 6000]},
...                           {"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]}]})
>>> plan.runs_filter
{'energy': {'>=': 6000}}
>>> plan.rr_components, plan.needs_luminosity
(frozenset({'dt-dt'}), False)
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
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from querylang.catalogue import (
    OMS_LUMISECTION_BITS,
    OMS_LUMISECTION_VALUES,
    STATUS_VALUES,
    AttrType,
    Catalogue,
    Owner,
    default_catalogue,
)
from querylang.errors import ArgumentError, PathPart, RuleError
from querylang.jsonlogic import OPERATORS, js_number
from querylang.limits import check_nesting

__all__ = [
    "ArrayNode",
    "Clause",
    "Literal",
    "Operation",
    "RuleNode",
    "RulePlan",
    "Scope",
    "Variable",
    "namespace",
    "parse_rule",
    "plan_rule",
    "rule_variables",
]

Path = tuple[PathPart, ...]
#: Where a variable lives: the run, its dataset, the lumisection, or the item of a map/filter/reduce/all/none/some.
Scope = typing.Literal["run", "dataset", "lumisection", "item"]
Level = typing.Literal["run", "dataset", "lumisection"]

_COMPARISONS: Final = frozenset({"==", "===", "!=", "!==", "<", "<=", ">", ">="})
_RELATIONAL: Final = frozenset({"<", "<=", ">", ">="})
_SCOPED: Final = frozenset({"map", "filter", "reduce", "all", "none", "some"})
_FLIPPED: Final = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "===": "===", "!=": "!=", "!==": "!=="}
_PREFIXES: Final = {
    "run.oms.": "run.oms.<OMS run attribute>",
    "run.rr.": "run.rr.<RR run attribute>",
    "dataset.": "dataset.name or dataset.<dataset attribute>",
    "lumisection.oms.": "lumisection.oms.<bit | prescale_index | prescale_name | recorded | delivered>",
    "lumisection.rr.": "lumisection.rr.<workspace>-<column>",
}
_STORED_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?")
_PREFILTER_STATUSES: Final = frozenset({"GOOD", "BAD", "STANDBY", "EXCLUDED", "NOTSET"})


# ---------------------------------------------------------------------------------------------------------
# Nodes


@dataclass(frozen=True)
class Literal:
    """A JSON value written in the rule."""

    value: Any
    path: Path = ()


@dataclass(frozen=True)
class Variable:
    """A ``var``: its name as written, where it lives, its type, and its runql filter key (for run/dataset)."""

    name: str
    scope: Scope
    type: AttrType | None = None
    key: str = ""
    path: Path = ()
    default: RuleNode | None = None
    nullable: bool = True
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.scope != "item" and (self.type is None or not self.key):
            raise ArgumentError(f"a {self.scope} variable needs a type and a key")


@dataclass(frozen=True)
class Operation:
    """An operator applied to argument nodes (a known json-logic-js operator, never ``method``)."""

    operator: str
    args: tuple[RuleNode, ...]
    path: Path = ()
    reads: tuple[Variable, ...] = ()  # the variables ``missing``/``missing_some`` name in literal strings

    def __post_init__(self) -> None:
        if self.operator not in OPERATORS:
            raise ArgumentError(f"unknown operator {self.operator!r}")


@dataclass(frozen=True)
class ArrayNode:
    """An array written in the rule (its items are evaluated)."""

    items: tuple[RuleNode, ...]
    path: Path = ()


RuleNode = typing.Union[Literal, Variable, Operation, ArrayNode]  # noqa: UP007 (a runtime alias on 3.10)


def walk(node: RuleNode) -> Iterator[RuleNode]:
    """``node`` and every node below it, depth first (iteratively: safe on nodes nested to any depth)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        children: tuple[RuleNode, ...] = ()
        if isinstance(current, Operation):
            children = (*current.args, *current.reads)
        elif isinstance(current, ArrayNode):
            children = current.items
        elif isinstance(current, Variable) and current.default is not None:
            children = (current.default,)
        stack.extend(reversed(children))


def rule_variables(node: RuleNode) -> list[Variable]:
    """The namespace variables a parsed rule reads (``item`` variables of map/filter/... excluded)."""
    return [n for n in walk(node) if isinstance(n, Variable) and n.scope != "item"]


# ---------------------------------------------------------------------------------------------------------
# The namespace of §8


def namespace(catalogue: Catalogue | None = None) -> list[str]:
    """Every variable name a golden-JSON rule may read, sorted.

    >>> names = namespace()
    >>> "run.oms.energy" in names, "lumisection.rr.dt-dt" in names, "lumisection.oms.bpix_ready" in names
    (True, True, True)
    """
    cat = catalogue or default_catalogue()
    names = ["run.run_number", "dataset.name", "lumisection.lumisection_number"]
    for attr in cat.attributes():
        prefix = {Owner.OMS_RUN: "run.oms.", Owner.RR_RUN: "run.rr.", Owner.DATASET_ATTRIBUTE: "dataset."}
        if attr.owner in prefix:
            names.append(prefix[attr.owner] + attr.name)
    names += [f"lumisection.oms.{bit}" for bit in (*OMS_LUMISECTION_BITS, *OMS_LUMISECTION_VALUES)]
    names += [f"lumisection.rr.{flag.name}" for flag in cat.flags()]
    return sorted(names)


def _resolve(name: str, path: Path, cat: Catalogue) -> Variable:
    """The typed variable ``name`` names, or a RuleError with suggestions."""
    fixed = {
        "run.run_number": Variable(name, "run", AttrType.NUMBER, "run_number", path, nullable=False),
        "run.oms.run_number": Variable(name, "run", AttrType.NUMBER, "run_number", path),
        "dataset.name": Variable(name, "dataset", AttrType.STRING, "dataset_name", path, nullable=False),
        "lumisection.lumisection_number": Variable(name, "lumisection", AttrType.NUMBER, "lumisection_number", path),
    }
    if name in fixed:
        return fixed[name]
    scope, _, rest = name.partition(".")
    kind, _, key = rest.partition(".")
    found: Variable | None = None
    if scope == "run" and kind in ("oms", "rr"):
        found = _run_variable(name, key, Owner.OMS_RUN if kind == "oms" else Owner.RR_RUN, path, cat)
    elif scope == "dataset":
        found = _dataset_variable(name, rest, path, cat)
    elif scope == "lumisection" and kind == "oms":
        found = _lumisection_oms_variable(name, key, path)
    elif scope == "lumisection" and kind == "rr":
        found = _lumisection_rr_variable(name, key, path, cat)
    if found is None:
        raise _unknown_variable(name, path, cat)
    return found


def _run_variable(name: str, key: str, owner: Owner, path: Path, cat: Catalogue) -> Variable | None:
    try:
        attr = cat.run_attribute(key)
    except KeyError:
        return None
    return Variable(name, "run", attr.type, attr.name, path, choices=attr.choices) if attr.owner is owner else None


def _dataset_variable(name: str, key: str, path: Path, cat: Catalogue) -> Variable | None:
    try:
        attr = cat.dataset_attribute(key)
    except KeyError:
        return None
    if attr.owner is not Owner.DATASET_ATTRIBUTE:
        return None
    return Variable(name, "dataset", attr.type, attr.name, path, choices=attr.choices)


def _lumisection_oms_variable(name: str, key: str, path: Path) -> Variable | None:
    if key in OMS_LUMISECTION_BITS:
        return Variable(name, "lumisection", AttrType.BOOLEAN, key, path)
    if key in OMS_LUMISECTION_VALUES:
        return Variable(name, "lumisection", OMS_LUMISECTION_VALUES[key], key, path)
    return None


def _lumisection_rr_variable(name: str, key: str, path: Path, cat: Catalogue) -> Variable | None:
    try:
        flag = cat.status_flag(key)
    except KeyError:
        return None
    if flag.name != key:  # an alias: the service's data object only has the live spelling
        raise RuleError(
            "status flags are read by their live name",
            path=path,
            value=name,
            suggestions=[f"lumisection.rr.{flag.name}"],
        )
    return Variable(name, "lumisection", AttrType.STATUS, flag.name, path)


def _unknown_variable(name: str, path: Path, cat: Catalogue) -> RuleError:
    names = namespace(cat)
    prefix = next((p for p in _PREFIXES if name.startswith(p)), "")
    pool = [n for n in names if n.startswith(prefix)] if prefix else names
    allowed = _PREFIXES.get(prefix, "run.*, dataset.*, lumisection.* (see querylang.rules.namespace())")
    return RuleError(
        "unknown variable", path=path, value=name, allowed=allowed, suggestions=cat.suggest(name, pool, limit=1)
    )


# ---------------------------------------------------------------------------------------------------------
# Parsing and checking


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
        _check_json(rule, path)
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
        found = _resolve(name, paths[0], self.catalogue)
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
            found.append(_resolve(item.value, item.path, self.catalogue))
        return tuple(found)


def _check_json(value: Any, path: Path) -> None:
    if value is None or isinstance(value, (bool, int, float, str)):
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise RuleError("object keys must be strings", path=path, value=key)
            _check_json(item, (*path, key))
        return
    raise RuleError(
        "not a JSON value", path=path, value=value, allowed="null, booleans, numbers, strings, lists, dicts"
    )


def _check_operands(node: Operation) -> None:
    """Literal types against typed variables: comparisons, between forms and ``in``."""
    args = node.args
    if node.operator in _COMPARISONS:
        for left, right in itertools.pairwise(_compared(node)):
            _check_pair(node.operator, left, right)
    elif node.operator == "in" and len(args) >= 2:
        _check_in(args[0], args[1])


def _compared(node: Operation) -> tuple[RuleNode, ...]:
    """The arguments a comparison reads: three for the between forms of ``<``/``<=``, else two."""
    return node.args[: 3 if node.operator in ("<", "<=") else 2]


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


# ---------------------------------------------------------------------------------------------------------
# Planning

#: A runql filter that matches nothing (the rule is false for every run).
_NOTHING: Final[dict[str, Any]] = {"run_number": []}


@dataclass(frozen=True)
class Clause:
    """A top-level clause of the rule: the items of a top-level ``and`` (nested ``and`` flattened), or the rule.

    ``level`` is where it must be evaluated: once per run (``run``: only ``run.*``), once per dataset
    (``dataset``: ``dataset.*`` too) or per lumisection. ``pushdown`` is a runql user filter every run or dataset
    accepted by the clause matches (``None``: nothing safe to push; ``{}``: no constraint).
    """

    index: int
    rule: Any
    node: RuleNode
    level: Level
    pushdown: dict[str, Any] | None


@dataclass(frozen=True)
class RulePlan:
    """How to evaluate a rule: prefilters for the service, run-level and lumisection-level json-logic.

    ``run_rule`` holds the run- and dataset-level clauses (evaluate once per dataset), ``residual`` the
    lumisection-level ones (evaluate per segment); both are json-logic, ``True`` when empty. A lumisection
    passes the rule exactly when both are truthy. ``runs_filter`` (kind ``"runs"``) and ``datasets_filter``
    (kind ``"datasets"``, run clauses included) are prefilters for ``querylang.compile_filter``, ``None`` when
    there is nothing to push.
    """

    rule: Any
    clauses: tuple[Clause, ...]
    run_rule: Any
    residual: Any
    runs_filter: dict[str, Any] | None
    datasets_filter: dict[str, Any] | None
    variables: frozenset[str] = field(default=frozenset())
    rr_components: frozenset[str] = field(default=frozenset())
    oms_values: frozenset[str] = field(default=frozenset())

    @property
    def residual_clauses(self) -> tuple[Clause, ...]:
        """The lumisection-level clauses, in rule order (the per-clause loss report is about these)."""
        return tuple(c for c in self.clauses if c.level == "lumisection")

    @property
    def needs_luminosity(self) -> bool:
        """Whether the residual reads ``lumisection.oms.recorded`` or ``delivered`` (per-lumisection data)."""
        return bool(self.oms_values & {"recorded", "delivered"})

    @property
    def oms_bits(self) -> frozenset[str]:
        """The OMS per-lumisection values the residual reads, luminosity excluded (they come as ranges)."""
        return self.oms_values - {"recorded", "delivered"}


def plan_rule(rule: Any, *, catalogue: Catalogue | None = None, status_prefilter: bool = True) -> RulePlan:
    """Check ``rule`` (:func:`parse_rule`) and split it into run-level and lumisection-level parts.

    With ``status_prefilter``, a top-level ``lumisection.rr.<flag> == <status>`` clause also adds
    ``{"<flag>": <status>}`` to ``datasets_filter`` (a dataset passing it has a lumisection with that status).

    >>> plan = plan_rule({"and": [{"in": ["25ns", {"var": "run.oms.injection_scheme"}]},
    ...                           {"<=": [{"var": "run.oms.energy"}, 7000]},
    ...                           {"==": [{"var": "lumisection.oms.bpix_ready"}, True]}]})
    >>> plan.runs_filter                      # null <= 7000 is true in js: that clause stays local
    {'injection_scheme': {'like': '%25ns%'}}
    >>> plan.residual
    {'==': [{'var': 'lumisection.oms.bpix_ready'}, True]}
    """
    root = parse_rule(rule, catalogue=catalogue)
    clauses = tuple(
        _clause(index, raw, node, status_prefilter) for index, (raw, node) in enumerate(_top_level(rule, root))
    )
    run_level = [c for c in clauses if c.level != "lumisection"]
    variables = rule_variables(root)
    lumisection = [v for c in clauses if c.level == "lumisection" for v in rule_variables(c.node)]
    return RulePlan(
        rule=rule,
        clauses=clauses,
        run_rule=_conjunction([c.rule for c in run_level]),
        residual=_conjunction([c.rule for c in clauses if c.level == "lumisection"]),
        runs_filter=_all_of([c.pushdown for c in run_level if c.level == "run"]),
        datasets_filter=_all_of([c.pushdown for c in clauses]),
        variables=frozenset(v.name for v in variables),
        rr_components=frozenset(v.key for v in lumisection if v.type is AttrType.STATUS),
        oms_values=frozenset(v.key for v in lumisection if v.name.startswith("lumisection.oms.")),
    )


def _top_level(rule: Any, node: RuleNode) -> list[tuple[Any, RuleNode]]:
    """The (raw rule, node) pairs of the top-level ``and``, nested ``and`` flattened."""
    if not (isinstance(node, Operation) and node.operator == "and" and node.args):
        return [(rule, node)]
    raws = rule["and"] if isinstance(rule["and"], (list, tuple)) else [rule["and"]]
    return [pair for raw, child in zip(raws, node.args, strict=True) for pair in _top_level(raw, child)]


def _clause(index: int, raw: Any, node: RuleNode, status_prefilter: bool) -> Clause:
    scopes = {v.scope for v in rule_variables(node)}
    level: Level = "lumisection" if "lumisection" in scopes else "dataset" if "dataset" in scopes else "run"
    pushdown = _push(node) if level != "lumisection" else _status_pushdown(node) if status_prefilter else None
    return Clause(index, raw, node, level, pushdown)


def _conjunction(rules: list[Any]) -> Any:
    if not rules:
        return True
    return rules[0] if len(rules) == 1 else {"and": rules}


def _all_of(parts: Sequence[dict[str, Any] | None]) -> dict[str, Any] | None:
    """The AND of the pushable parts (unpushable ones dropped: a superset), ``None`` when nothing constrains."""
    kept = [p for p in parts if p]
    if _NOTHING in kept:
        return _NOTHING
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else {"and": kept}


# -- push-down: a runql filter matched by every run the node accepts --------------------------------------------


def _push(node: RuleNode) -> dict[str, Any] | None:
    if isinstance(node, Literal):
        return {} if _truthy_literal(node.value) else _NOTHING
    if isinstance(node, Variable):
        return _push_truthy(node)
    if not isinstance(node, Operation):
        return None
    if node.operator == "and":
        return _push_and(node.args)
    if node.operator == "or":
        return _push_or(node.args)
    if node.operator == "!!" and node.args:
        return _push(node.args[0])
    if node.operator in _COMPARISONS:
        return _push_comparison(node)
    if node.operator == "in" and len(node.args) >= 2:
        return _push_in(node.args[0], node.args[1])
    return None


def _truthy_literal(value: Any) -> bool:
    from querylang.jsonlogic import truthy

    return truthy(value)


def _push_and(args: tuple[RuleNode, ...]) -> dict[str, Any] | None:
    if not args:
        return _NOTHING  # js: {"and": []} is undefined, falsy
    return _all_of([_push(arg) for arg in args]) or {}


def _push_or(args: tuple[RuleNode, ...]) -> dict[str, Any] | None:
    parts = [_push(arg) for arg in args]
    if not parts or any(p is None for p in parts):
        return None if parts else _NOTHING
    if any(p == {} for p in parts):
        return {}
    kept = [p for p in parts if p and p != _NOTHING]
    if not kept:
        return _NOTHING
    return kept[0] if len(kept) == 1 else {"or": kept}


def _push_comparison(node: Operation) -> dict[str, Any] | None:
    pairs = list(itertools.pairwise(_compared(node)))
    parts = [_push_pair(node.operator, left, right) for left, right in pairs]
    return _all_of(parts) if pairs else None


def _push_pair(operator: str, left: RuleNode, right: RuleNode) -> dict[str, Any] | None:
    if isinstance(left, Variable) and isinstance(right, Literal):
        return _constraint(left, operator, right.value)
    if isinstance(right, Variable) and isinstance(left, Literal):
        return _constraint(right, _FLIPPED[operator], left.value)
    return None


def _pushable(variable: Variable) -> bool:
    return variable.scope in ("run", "dataset") and variable.default is None


def _constraint(variable: Variable, operator: str, value: Any) -> dict[str, Any] | None:
    if not _pushable(variable) or variable.type is None or variable.type not in _SPEC_BUILDERS:
        return None
    spec = _SPEC_BUILDERS[variable.type](operator, value, variable.nullable)
    return None if spec is None else {variable.key: spec}


def _number_spec(operator: str, value: Any, nullable: bool) -> dict[str, Any] | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    number = js_number(value)
    if not math.isfinite(number) or (isinstance(value, str) and operator in ("===", "!==")):
        return None
    literal = int(number) if number.is_integer() and abs(number) < 2**53 else number
    if operator in ("==", "==="):
        return {"=": literal}
    if operator in ("!=", "!=="):
        return None if nullable else {"<>": literal}
    # js compares null as 0: push only when 0 fails the comparison (or the variable is never null)
    null_passes = {">=": number <= 0, ">": number < 0, "<=": number >= 0, "<": number > 0}[operator]
    return None if nullable and null_passes else {operator: literal}


def _string_spec(operator: str, value: Any, nullable: bool) -> dict[str, Any] | None:
    if not isinstance(value, str):
        return None
    if operator in ("==", "==="):
        return {"=": value}
    if operator in ("!=", "!==") and not nullable:
        return {"<>": value}
    return None


def _date_spec(operator: str, value: Any, nullable: bool) -> dict[str, Any] | None:
    """Stored dates are ``YYYY-MM-DDTHH:MM:SSZ`` strings that js compares as text; strict bounds widen."""
    if not (isinstance(value, str) and _STORED_DATE.fullmatch(value)):
        return None
    if operator in (">", ">="):
        return {">=": value}
    if operator in ("<", "<="):
        return {"<=": value}
    return {"=": value} if operator in ("==", "===") and "T" in value else None


def _boolean_spec(operator: str, value: Any, nullable: bool) -> dict[str, Any] | None:
    return {"=": value} if operator in ("==", "===") and isinstance(value, bool) else None


_SPEC_BUILDERS: Final = {
    AttrType.NUMBER: _number_spec,
    AttrType.STRING: _string_spec,
    AttrType.DATE: _date_spec,
    AttrType.BOOLEAN: _boolean_spec,
}


def _push_truthy(variable: Variable) -> dict[str, Any] | None:
    if not _pushable(variable):
        return None
    if variable.type is AttrType.BOOLEAN:
        return {variable.key: {"=": True}}
    if variable.type is AttrType.NUMBER:
        return {variable.key: {"<>": 0}}
    return None


def _push_in(needle: RuleNode, haystack: RuleNode) -> dict[str, Any] | None:
    if isinstance(haystack, Variable) and isinstance(needle, Literal) and _pushable(haystack):
        return _push_substring(haystack, needle.value)
    if isinstance(needle, Variable) and isinstance(haystack, ArrayNode) and _pushable(needle):
        return _push_membership(needle, haystack)
    return None


def _push_substring(haystack: Variable, needle: Any) -> dict[str, Any] | None:
    """``needle in <string>`` → ``like '%needle%'`` (case-insensitive and ``%``/``_`` wildcards: a superset).

    A backslash would be an escape character in ``like``, and list attributes are matched on their JSON text,
    so such needles are not pushed.
    """
    if not isinstance(needle, str) or "\\" in needle:
        return None
    if haystack.type is AttrType.LIST and not (needle.isascii() and needle.isprintable() and '"' not in needle):
        return None
    if haystack.type not in (AttrType.STRING, AttrType.LIST):
        return None
    return {haystack.key: {"like": f"%{needle}%"}}


def _push_membership(needle: Variable, haystack: ArrayNode) -> dict[str, Any] | None:
    """``<var> in [literals]`` (strict equality) → ``{"in": [...]}`` of the literals of the variable's type."""
    if not all(isinstance(item, Literal) for item in haystack.items):
        return None
    values = [item.value for item in haystack.items if isinstance(item, Literal)]
    if None in values:
        return None
    if needle.type is AttrType.STRING:
        kept: list[Any] = [v for v in values if isinstance(v, str)]
    elif needle.type is AttrType.NUMBER:
        kept = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]
    else:
        return None
    return {needle.key: {"in": kept}} if kept else _NOTHING


def _status_pushdown(node: RuleNode) -> dict[str, Any] | None:
    """``lumisection.rr.<flag> == <status>`` → ``{"<flag>": status}``: some lumisection has that status."""
    if not (isinstance(node, Operation) and node.operator in ("==", "===") and len(node.args) >= 2):
        return None
    left, right = node.args[0], node.args[1]
    variable, literal = (left, right) if isinstance(left, Variable) else (right, left)
    if not (isinstance(variable, Variable) and isinstance(literal, Literal) and variable.default is None):
        return None
    if variable.type is AttrType.STATUS and literal.value in _PREFILTER_STATUSES:
        return {variable.key: literal.value}
    return None
