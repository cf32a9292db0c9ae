"""Plan a good-run-list rule: run-level clauses pushed down to the service, the lumisection-level residual.

:func:`plan_rule` splits a top-level ``and`` into run-level clauses (only ``run.*``/``dataset.*`` variables,
evaluated once per run) and the lumisection-level residual (evaluated per lumisection segment), and translates
what it safely can of the run-level part into filter nodes (:mod:`querylang.ast`) for
:func:`querylang.compile_node`, a *prefilter*: it may let through runs the rule rejects (they are rejected
locally), never the reverse.

>>> from querylang import compile_node
>>> plan = plan_rule({"and": [{">=": [{"var": "run.oms.energy"}, 6000]},
...                           {"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]}]})
>>> compile_node(plan.runs_filter).filters
({'oms_attributes.energy': {'>=': 6000}},)
>>> plan.rr_components, plan.needs_luminosity
(frozenset({'dt-dt'}), False)
"""

from __future__ import annotations

import itertools
import math
import re
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from querylang.ast import And, Comparison, Membership, Node, Or, Scalar, StatusTest
from querylang.catalogue import Attribute, AttrType, Catalogue, default_catalogue
from querylang.jsonlogic import js_number, truthy
from querylang.parse import normalise_date
from querylang.rule_ast import COMPARISONS, ArrayNode, Literal, Operation, RuleNode, Variable, compared, rule_variables
from querylang.rule_checks import parse_rule

__all__ = ["Clause", "Level", "RulePlan", "plan_rule"]

#: Where a clause is evaluated: once per run, once per dataset, or per lumisection.
Level = typing.Literal["run", "dataset", "lumisection"]

_FLIPPED: Final = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "===": "===", "!=": "!=", "!==": "!=="}
_STORED_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?")
_PREFILTER_STATUSES: Final = frozenset({"GOOD", "BAD", "STANDBY", "EXCLUDED", "NOTSET"})
#: The filter that matches nothing (the rule is false for every run) and the one that matches everything.
_NOTHING: Final = Or(())
_EVERYTHING: Final = And(())
#: A bound of a comparison pushed down: ``(operator, value)``; ``None`` when nothing safe can be pushed.
_Bound = tuple[str, Scalar] | None


@dataclass(frozen=True)
class Clause:
    """A top-level clause of the rule: the items of a top-level ``and`` (nested ``and`` flattened), or the rule.

    ``level`` is where it must be evaluated: once per run (``run``: only ``run.*``), once per dataset
    (``dataset``: ``dataset.*`` too) or per lumisection. ``pushdown`` is a filter node (:mod:`querylang.ast`)
    every run or dataset accepted by the clause matches (``None``: nothing safe to push; ``And(())``: no
    constraint).
    """

    index: int
    rule: Any
    node: RuleNode
    level: Level
    pushdown: Node | None


@dataclass(frozen=True)
class RulePlan:
    """How to evaluate a rule: prefilters for the service, run-level and lumisection-level json-logic.

    ``run_rule`` holds the run- and dataset-level clauses (evaluate once per dataset), ``residual`` the
    lumisection-level ones (evaluate per segment); both are json-logic, ``True`` when empty. A lumisection
    passes the rule exactly when both are truthy. ``runs_filter`` (kind ``"runs"``) and ``datasets_filter``
    (kind ``"datasets"``, run clauses included) are prefilters, filter nodes for :func:`querylang.compile_node`,
    ``None`` when there is nothing to push.
    """

    rule: Any
    clauses: tuple[Clause, ...]
    run_rule: Any
    residual: Any
    runs_filter: Node | None
    datasets_filter: Node | None
    variables: frozenset[str] = field(default=frozenset())
    rr_components: frozenset[str] = field(default=frozenset())
    oms_values: frozenset[str] = field(default=frozenset())

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

    With ``status_prefilter``, a top-level ``lumisection.rr.<flag> == <status>`` clause also adds the status test
    ``{"<flag>": <status>}`` to ``datasets_filter`` (a dataset passing it has a lumisection with that status).

    >>> from querylang import compile_node
    >>> plan = plan_rule({"and": [{"in": ["25ns", {"var": "run.oms.injection_scheme"}]},
    ...                           {"<=": [{"var": "run.oms.energy"}, 7000]},
    ...                           {"==": [{"var": "lumisection.oms.bpix_ready"}, True]}]})
    >>> compile_node(plan.runs_filter).filters  # null <= 7000 is true in js: that clause stays local
    ({'oms_attributes.injection_scheme': {'like': '%25ns%'}},)
    >>> plan.residual
    {'==': [{'var': 'lumisection.oms.bpix_ready'}, True]}
    """
    cat = catalogue or default_catalogue()
    root = parse_rule(rule, catalogue=cat)
    pushdown = _Pushdown(cat, status_prefilter)
    clauses = tuple(_clause(index, raw, node, pushdown) for index, (raw, node) in enumerate(_top_level(rule, root)))
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


def _clause(index: int, raw: Any, node: RuleNode, pushdown: _Pushdown) -> Clause:
    scopes = {v.scope for v in rule_variables(node)}
    level: Level = "lumisection" if "lumisection" in scopes else "dataset" if "dataset" in scopes else "run"
    return Clause(index, raw, node, level, pushdown.push(node) if level != "lumisection" else pushdown.status(node))


def _conjunction(rules: list[Any]) -> Any:
    if not rules:
        return True
    return rules[0] if len(rules) == 1 else {"and": rules}


def _all_of(parts: Sequence[Node | None]) -> Node | None:
    """The AND of the pushable parts (unpushable ones dropped: a superset), ``None`` when nothing constrains."""
    kept = [p for p in parts if p is not None and p != _EVERYTHING]
    if _NOTHING in kept:
        return _NOTHING
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else And(tuple(kept))


# -- push-down: a filter node matched by every run the rule node accepts -----------------------------------------
@dataclass(frozen=True)
class _Pushdown:
    catalogue: Catalogue
    status_prefilter: bool

    def push(self, node: RuleNode) -> Node | None:
        if isinstance(node, Literal):
            return _EVERYTHING if truthy(node.value) else _NOTHING
        if isinstance(node, Variable):
            return self.truthy(node)
        if not isinstance(node, Operation):
            return None
        if node.operator == "and":
            return self.push_and(node.args)
        if node.operator == "or":
            return self.push_or(node.args)
        if node.operator == "!!" and node.args:
            return self.push(node.args[0])
        if node.operator in COMPARISONS:
            return self.comparison(node)
        if node.operator == "in" and len(node.args) >= 2:
            return self.push_in(node.args[0], node.args[1])
        return None

    def push_and(self, args: tuple[RuleNode, ...]) -> Node | None:
        if not args:
            return _NOTHING  # js: {"and": []} is undefined, falsy
        return _all_of([self.push(arg) for arg in args]) or _EVERYTHING

    def push_or(self, args: tuple[RuleNode, ...]) -> Node | None:
        parts = [self.push(arg) for arg in args]
        if not parts or any(p is None for p in parts):
            return None if parts else _NOTHING
        if _EVERYTHING in parts:
            return _EVERYTHING
        kept = [p for p in parts if p is not None and p != _NOTHING]
        if not kept:
            return _NOTHING
        return kept[0] if len(kept) == 1 else Or(tuple(kept))

    def comparison(self, node: Operation) -> Node | None:
        pairs = list(itertools.pairwise(compared(node)))
        parts = [self.pair(node.operator, left, right) for left, right in pairs]
        return _all_of(parts) if pairs else None

    def pair(self, operator: str, left: RuleNode, right: RuleNode) -> Node | None:
        if isinstance(left, Variable) and isinstance(right, Literal):
            return self.constraint(left, operator, right.value)
        if isinstance(right, Variable) and isinstance(left, Literal):
            return self.constraint(right, _FLIPPED[operator], left.value)
        return None

    def constraint(self, variable: Variable, operator: str, value: Any) -> Node | None:
        if not _pushable(variable) or variable.type is None or variable.type not in _BOUNDS:
            return None
        bound = _BOUNDS[variable.type](operator, value, variable.nullable)
        return None if bound is None else Comparison(self.attribute(variable), *bound)

    def truthy(self, variable: Variable) -> Node | None:
        if not _pushable(variable):
            return None
        if variable.type is AttrType.BOOLEAN:
            return Comparison(self.attribute(variable), "=", True)
        if variable.type is AttrType.NUMBER:
            return Comparison(self.attribute(variable), "<>", 0)
        return None

    def push_in(self, needle: RuleNode, haystack: RuleNode) -> Node | None:
        if isinstance(haystack, Variable) and isinstance(needle, Literal) and _pushable(haystack):
            return self.substring(haystack, needle.value)
        if isinstance(needle, Variable) and isinstance(haystack, ArrayNode) and _pushable(needle):
            return self.membership(needle, haystack)
        return None

    def substring(self, haystack: Variable, needle: Any) -> Node | None:
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
        return Comparison(self.attribute(haystack), "like", f"%{needle}%")

    def membership(self, needle: Variable, haystack: ArrayNode) -> Node | None:
        """``<var> in [literals]`` (strict equality) → membership in the literals of the variable's type."""
        if not all(isinstance(item, Literal) for item in haystack.items):
            return None
        values = [item.value for item in haystack.items if isinstance(item, Literal)]
        if None in values:
            return None
        if needle.type is AttrType.STRING:
            kept: list[Scalar] = [v for v in values if isinstance(v, str)]
        elif needle.type is AttrType.NUMBER:
            kept = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]
        else:
            return None
        return Membership(self.attribute(needle), tuple(kept)) if kept else _NOTHING

    def status(self, node: RuleNode) -> Node | None:
        """``lumisection.rr.<flag> == <status>`` → "some lumisection of the flag has that status"."""
        if not self.status_prefilter:
            return None
        if not (isinstance(node, Operation) and node.operator in ("==", "===") and len(node.args) >= 2):
            return None
        left, right = node.args[0], node.args[1]
        variable, literal = (left, right) if isinstance(left, Variable) else (right, left)
        if not (isinstance(variable, Variable) and isinstance(literal, Literal) and variable.default is None):
            return None
        if variable.type is AttrType.STATUS and literal.value in _PREFILTER_STATUSES:
            return StatusTest(self.catalogue.status_flag(variable.key), (literal.value,))
        return None

    def attribute(self, variable: Variable) -> Attribute:
        """The attribute a run or dataset variable reads (a run's ``run_number`` is the runs table's)."""
        if variable.scope == "run":
            return self.catalogue.run_attribute(variable.key)
        return self.catalogue.dataset_attribute(variable.key)


def _pushable(variable: Variable) -> bool:
    return variable.scope in ("run", "dataset") and variable.default is None


def _number_bound(operator: str, value: Any, nullable: bool) -> _Bound:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    number = js_number(value)
    if not math.isfinite(number) or (isinstance(value, str) and operator in ("===", "!==")):
        return None
    literal = int(number) if number.is_integer() and abs(number) < 2**53 else number
    if operator in ("==", "==="):
        return "=", literal
    if operator in ("!=", "!=="):
        return None if nullable else ("<>", literal)
    # js compares null as 0: push only when 0 fails the comparison (or the variable is never null)
    null_passes = {">=": number <= 0, ">": number < 0, "<=": number >= 0, "<": number > 0}[operator]
    return None if nullable and null_passes else (operator, literal)


def _string_bound(operator: str, value: Any, nullable: bool) -> _Bound:
    if not isinstance(value, str):
        return None
    if operator in ("==", "==="):
        return "=", value
    if operator in ("!=", "!==") and not nullable:
        return "<>", value
    return None


def _date_bound(operator: str, value: Any, nullable: bool) -> _Bound:
    """Stored dates are ``YYYY-MM-DDTHH:MM:SSZ`` strings that js compares as text; strict bounds widen."""
    if not (isinstance(value, str) and _STORED_DATE.fullmatch(value)):
        return None
    if operator in (">", ">="):
        return ">=", normalise_date(value)
    if operator in ("<", "<="):
        return "<=", normalise_date(value)
    return ("=", value) if operator in ("==", "===") and "T" in value else None


def _boolean_bound(operator: str, value: Any, nullable: bool) -> _Bound:
    return ("=", value) if operator in ("==", "===") and isinstance(value, bool) else None


_BOUNDS: Final[dict[AttrType, Callable[[str, Any, bool], _Bound]]] = {
    AttrType.NUMBER: _number_bound,
    AttrType.STRING: _string_bound,
    AttrType.DATE: _date_bound,
    AttrType.BOOLEAN: _boolean_bound,
}
