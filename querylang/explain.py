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

from querylang.compile import compile_filter
from querylang.parse import UnknownFlags
from querylang.plan import Kind, Plan

__all__ = ["Explanation", "explain", "explain_plan", "to_sql"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SQL_OPERATORS = {"like": "ILIKE", "notlike": "NOT ILIKE", "LIKE": "LIKE", "NOTLIKE": "NOT LIKE"}


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
    count = len(plan.filters)
    noun = "backend filter" if count == 1 else "backend filters"
    if not count:
        return Explanation(f"{plan.kind} filter compiled to 0 {noun}: it matches nothing, no request is sent.")
    lines = [f"{plan.kind} filter compiled to {count} {noun}" + (" (their union is the answer):" if count > 1 else ":")]
    lines += [f"warning: {warning}" for warning in plan.warnings]
    for index, backend_filter in enumerate(plan.filters, 1):
        lines += [f"-- backend filter {index}", json.dumps(backend_filter, indent=2)]
    lines.append("-- as SQL")
    selects = [f"SELECT * FROM {plan.kind} WHERE {to_sql(f)}" for f in plan.filters]
    lines.append("\nUNION\n".join(selects))
    return Explanation("\n".join(lines))


def to_sql(backend_filter: Mapping[str, Any]) -> str:
    """A backend filter as a SQL-like condition (``TRUE`` for ``{}``)."""
    return " AND ".join(_clauses(backend_filter)) or "TRUE"


def _clauses(backend_filter: Mapping[str, Any]) -> list[str]:
    clauses: list[str] = []
    for key, value in backend_filter.items():
        if key.lower() == "and" and isinstance(value, list):
            clauses += [clause for sub in value for clause in _clauses(sub)]
        elif key.lower() == "or" and isinstance(value, list):
            clauses.append(_any([_group(_clauses(sub)) for sub in value]))
        else:
            clauses += _column(_column_name(key), value)
    return clauses


def _column(column: str, spec: object) -> list[str]:
    if not isinstance(spec, Mapping):
        return [_comparison(column, "=", spec)]
    clauses: list[str] = []
    for op, arg in spec.items():
        if op.lower() == "and" and isinstance(arg, list):
            clauses += [clause for sub in arg for clause in _column(column, sub)]
        elif op.lower() == "or" and isinstance(arg, list):
            clauses.append(_any([_group(_column(column, sub)) for sub in arg]))
        else:
            clauses.append(_comparison(column, op, arg))
    return clauses


def _comparison(column: str, op: str, value: object) -> str:
    if value is None and op in ("=", "<>"):
        return f"{column} IS {'NOT ' if op == '<>' else ''}NULL"
    return f"{column} {_SQL_OPERATORS.get(op, op)} {_literal(value)}"


def _any(branches: list[str]) -> str:
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
