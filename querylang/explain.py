"""Explain a filter: the compiled plan as pretty JSON, and a readable SQL-like rendering of it.

The SQL is for reading, not for running: ``like`` is shown as ``ILIKE`` (what the service runs), JSON paths
as dotted names with non-identifiers quoted (``triplet_summary."dt-dt".GOOD``), several backend filters as a
``UNION``. NULL semantics follow SQL (see :mod:`querylang.compile`).

>>> print(to_sql({"run_number": {">": 309000, "<": 310000}, "triplet_summary.dt-dt.GOOD": {">": 0}}))
run_number > 309000 AND run_number < 310000 AND triplet_summary."dt-dt".GOOD > 0
>>> print(explain({"or": [{"class": "Cosmics18"}, {"dt-dt": "BAD"}]}).splitlines()[-3:])
["SELECT * FROM runs WHERE rr_attributes.class = 'Cosmics18'", 'UNION', \
'SELECT * FROM runs WHERE triplet_summary."dt-dt".BAD > 0']
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from typing import Any

from querylang.backend_filter import (
    LIKE_OPERATORS,
    BackendFilter,
    Bare,
    Column,
    Compare,
    Condition,
    Junction,
    KeyJunction,
    UnknownOperator,
    from_json,
)
from querylang.compile import compile_filter
from querylang.parse import UnknownFlags
from querylang.plan import Kind, Plan

__all__ = ["Explanation", "explain", "explain_plan", "to_sql"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Explanation(str):
    """The text of an explanation (a ``str``), displayed in a notebook as preformatted, escaped HTML.

    >>> Explanation("x < 'y'")._repr_html_()
    '<pre>x &lt; &#x27;y&#x27;</pre>'
    """

    __slots__ = ()

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(str(self))}</pre>"


def explain(
    filter: object,
    *,
    kind: Kind = "runs",
    unknown_flags: UnknownFlags = "error",
    as_json: bool = False,
) -> Explanation:
    """Compile ``filter`` and describe the plan; ``as_json=True`` gives the plan as JSON instead.

    >>> print(explain({"run_number": []}))
    runs filter compiled to 0 backend filters: it matches nothing, no request is sent.
    """
    plan = compile_filter(filter, kind=kind, unknown_flags=unknown_flags)
    return Explanation(plan.to_json(indent=2)) if as_json else explain_plan(plan)


def explain_plan(plan: Plan) -> Explanation:
    """The text :func:`explain` prints, for an already compiled (or raw) plan."""
    count = len(plan.nodes)
    noun = "backend filter" if count == 1 else "backend filters"
    if not count:
        return Explanation(f"{plan.kind} filter compiled to 0 {noun}: it matches nothing, no request is sent.")
    lines = [f"{plan.kind} filter compiled to {count} {noun}" + (" (their union is the answer):" if count > 1 else ":")]
    lines += [f"warning: {warning}" for warning in plan.warnings]
    for index, node in enumerate(plan.nodes, 1):
        lines += [f"-- backend filter {index}", json.dumps(node.to_json(), indent=2)]
    lines.append("-- as SQL")
    selects = [f"SELECT * FROM {plan.kind} WHERE {to_sql(node)}" for node in plan.nodes]
    lines.append("\nUNION\n".join(selects))
    return Explanation("\n".join(lines))


def to_sql(backend_filter: Mapping[str, Any] | BackendFilter) -> str:
    """A backend filter (a node, or its JSON) as a SQL-like condition (``TRUE`` for ``{}``); :class:`FilterError`
    if it is not one (:func:`~querylang.backend_filter.from_json`)."""
    node = backend_filter if isinstance(backend_filter, BackendFilter) else from_json(backend_filter)
    return " AND ".join(_clauses(node)) or "TRUE"


def _clauses(node: BackendFilter) -> list[str]:
    clauses: list[str] = []
    for entry in node.items:
        match entry:
            case Junction(logic="and", filters=filters):
                clauses += [clause for sub in filters for clause in _clauses(sub)]
            case Junction(filters=filters):
                clauses.append(_any([_group(_clauses(sub)) for sub in filters]))
            case Column(key=key, condition=condition):
                clauses += _condition(_column_name(key), condition)
    return clauses


def _condition(column: str, condition: Condition) -> list[str]:
    if isinstance(condition, Bare):
        return [_comparison(column, "=", condition.value)]
    clauses: list[str] = []
    for test in condition.tests:
        match test:
            case KeyJunction(logic="and", items=items):
                clauses += [clause for item in items for clause in _condition(column, item)]
            case KeyJunction(items=items):
                clauses.append(_any([_group(_condition(column, item)) for item in items]))
            case Compare(op=op) | UnknownOperator(op=op):
                clauses.append(_comparison(column, op, test.to_json()))
    return clauses


def _comparison(column: str, op: str, value: object) -> str:
    if value is None and op in ("=", "<>"):
        return f"{column} IS {'NOT ' if op == '<>' else ''}NULL"
    return f"{column} {_sql_operator(op)} {_literal(value)}"


def _sql_operator(op: str) -> str:
    """``like`` is ``ILIKE`` (what the service runs), ``NOTLIKE`` is ``NOT LIKE``; other operators as written."""
    if op not in LIKE_OPERATORS:
        return op
    case_sensitive, negated = LIKE_OPERATORS[op]
    return ("NOT " if negated else "") + ("LIKE" if case_sensitive else "ILIKE")


def _any(branches: list[str]) -> str:
    if not branches:
        return "FALSE"
    return branches[0] if len(branches) == 1 else "(" + " OR ".join(branches) + ")"


def _group(clauses: list[str]) -> str:
    if not clauses:
        return "TRUE"
    return clauses[0] if len(clauses) == 1 else "(" + " AND ".join(clauses) + ")"


def _column_name(key: str) -> str:
    return ".".join(part if _IDENTIFIER.fullmatch(part) else f'"{part}"' for part in key.split("."))


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return json.dumps(value)
