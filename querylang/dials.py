"""The DIALS compile target: user filter dicts → a :class:`DialsPlan` of DIALS list requests.

The filter is parsed by the shared parser against the resource's catalogue
(:mod:`querylang.dials_catalogue`), so the grammar, the AST nodes and the errors are those of Run Registry
filters. DIALS ANDs query parameters and has no ``or``, ``not`` or ``<>``, so the compiler:

- pushes ``not`` down to the leaves (De Morgan, flipped comparisons, ``<>``, ``notlike``, ``notin``) and
  expands the filter into a union of conjunctions, one request each (bounded by ``max_requests``);
- sends what a conjunction's fields can express: ``=`` as the exact parameter, ``<``/``<=``/``>``/``>=`` as
  inclusive integer bounds, ``in`` as ``__in`` (else one request per value, or a bounding range),
  ``like`` as an anchored, escaped, case-insensitive ``__regex``;
- keeps everything else as an exact *client check* on the returned rows (the request is then a superset),
  and raises :class:`~querylang.errors.FilterError` when the rows lack the field to check.

>>> plan = compile_dials({"run_number": {">=": 386000, "<=": 386100}, "me": {"like": "%PXBarrel%"},
...                       "ls_number": {"in": [10, 11]}}, "th1")
>>> for request in plan.requests:
...     print(request.describe())
GET th1/?run_number__gte=386000&run_number__lte=386100&ls_number=10&me__regex=[pP][xX][bB][aA][rR][rR][eE][lL]
GET th1/?run_number__gte=386000&run_number__lte=386100&ls_number=11&me__regex=[pP][xX][bB][aA][rR][rR][eE][lL]
>>> print(compile_dials({"run_number": {"<>": 386001}}, "run").requests[0].describe())
GET run/ (no filter parameters)
  then keep rows where run_number <> 386001
"""

from __future__ import annotations

import math
import operator
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from querylang.ast import And, Comparison, Membership, Node, Not, Or, Scalar, StatusTest
from querylang.catalogue import AttrType
from querylang.dials_catalogue import DIALS_LOOKUPS, DialsField, DialsResource, dials_resource
from querylang.errors import ArgumentTypeError, FilterError
from querylang.parse import parse_filter

__all__ = [
    "DialsPlan",
    "DialsRequest",
    "compile_dials",
    "explain_dials",
    "like_matches",
    "like_to_regex",
    "row_matches",
]

_Leaf = Comparison | Membership
_Conjunct = tuple[_Leaf, ...]
_FLIPPED = {"=": "<>", "<>": "=", "<": ">=", ">=": "<", ">": "<=", "<=": ">", "like": "notlike", "notlike": "like"}
#: A membership without ``__in`` becomes one request per value up to this many values, else a bounding range.
MAX_EXPANDED_VALUES = 16
_REGEX_SPECIAL = frozenset("\\.^$|?*+()[]{}")
_OPERATORS = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class DialsRequest:
    """One DIALS list request: query ``params`` and the ``check`` its rows must still pass (``None``: none)."""

    route: str
    params: tuple[tuple[str, str], ...]
    check: Node | None = None

    @property
    def query(self) -> str:
        """The URL-encoded query string, e.g. ``run_number__gte=386000&me__regex=...``."""
        return urllib.parse.urlencode(self.params)

    def keeps(self, row: Mapping[str, Any]) -> bool:
        """Whether ``row`` (a returned list item) passes this request's client check."""
        return self.check is None or row_matches(self.check, row) is True

    def describe(self) -> str:
        """``GET <route>?<params>`` (not URL-encoded, for reading), then the client check if there is one."""
        readable = "&".join(f"{name}={value}" for name, value in self.params)
        line = f"GET {self.route}?{readable}" if self.params else f"GET {self.route} (no filter parameters)"
        return line if self.check is None else f"{line}\n  then keep rows where {render(self.check)}"


@dataclass(frozen=True)
class DialsPlan:
    """The requests whose union (deduplicated on the resource's key) is the answer; ``()`` matches nothing."""

    resource: DialsResource
    requests: tuple[DialsRequest, ...]

    @property
    def matches_nothing(self) -> bool:
        return not self.requests

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"resource", "requests": [{"params", "check"}]}`` (the check as readable text)."""
        return {
            "resource": self.resource.name,
            "requests": [
                {"params": dict(r.params), "check": None if r.check is None else render(r.check)} for r in self.requests
            ],
        }


def compile_dials(filter: Mapping[str, Any], resource: str | DialsResource, *, max_requests: int = 64) -> DialsPlan:
    """Compile a user filter for one DIALS resource (``th1``, ``run``, ``ml-bad-lumisection``, ...).

    >>> compile_dials({"or": [{"run_number": 386000}, {"dataset_id": 7}]}, "run").to_dict()["requests"]
    [{'params': {'run_number': '386000'}, 'check': None}, {'params': {'dataset_id': '7'}, 'check': None}]
    """
    target = resource if isinstance(resource, DialsResource) else dials_resource(resource)
    node = _parse(filter, target)
    requests: list[DialsRequest] = []
    for conjunct in _disjuncts(node, negate=False, limit=max_requests, resource=target):
        request = _request(target, conjunct)
        if request is not None and request not in requests:
            requests.append(request)
    return DialsPlan(target, tuple(requests))


def explain_dials(filter: Mapping[str, Any], resource: str | DialsResource) -> str:
    """The plan as text: one ``GET`` per request, with its client check.

    >>> print(explain_dials({"me": {"like": "%a.b%"}, "dim": 1}, "mes"))
    mes filter compiled to 1 DIALS request:
    GET mes/?me__regex=[aA]\\.[bB]&dim=1
    """
    plan = compile_dials(filter, resource)
    count = len(plan.requests)
    head = f"{plan.resource.name} filter compiled to {count} DIALS request" + ("" if count == 1 else "s")
    if not count:
        return head + ": it matches nothing, no request is sent."
    head += " (their union is the answer):" if count > 1 else ":"
    return "\n".join([head, *(r.describe() for r in plan.requests)])


def _parse(filter: Mapping[str, Any], resource: DialsResource) -> Node:
    """The shared parser over the resource's catalogue, with DIALS wording for unknown keys."""
    try:
        return parse_filter(filter, kind="runs", catalogue=resource.catalogue())
    except FilterError as err:
        if err.message not in ("unknown attribute", "unknown status flag", "unknown backend key"):
            raise
        names = ", ".join(f.name for f in resource.fields)
        raise FilterError(
            f"unknown field of DIALS {resource.name}",
            path=err.path,
            value=err.value,
            allowed=f"{names}, or and/or/not",
            suggestions=err.suggestions,
        ) from None


# -- normal form --------------------------------------------------------------------------------------------
def _disjuncts(node: Node, *, negate: bool, limit: int, resource: DialsResource) -> list[_Conjunct]:
    """``node`` (negated if asked) as an OR of ANDs of leaf conditions, with ``not`` pushed to the leaves."""
    if isinstance(node, Not):
        return _disjuncts(node.child, negate=not negate, limit=limit, resource=resource)
    if isinstance(node, (And, Or)):
        parts = [_disjuncts(child, negate=negate, limit=limit, resource=resource) for child in node.children]
        if isinstance(node, Or) != negate:
            return _bounded([c for part in parts for c in part], limit, node)
        product: list[_Conjunct] = [()]
        for part in parts:
            product = _bounded([left + right for left in product for right in part], limit, node)
        return product
    if isinstance(node, StatusTest):  # DIALS catalogues have no flags; kept for exhaustiveness
        raise FilterError("DIALS has no status flags", path=node.path, value=node.flag.name)
    return _leaf(node, negate, resource)


def _bounded(conjuncts: list[_Conjunct], limit: int, node: Node) -> list[_Conjunct]:
    if len(conjuncts) > limit:
        raise FilterError(
            f"the filter needs more than max_requests={limit} DIALS requests",
            path=node.path,
            allowed="fewer 'or' branches (or a larger max_requests)",
        )
    return conjuncts


def _leaf(node: _Leaf, negate: bool, resource: DialsResource) -> list[_Conjunct]:
    if isinstance(node, Membership):
        if negate or node.negated:
            return [(Membership(node.attribute, node.values, node.negated != negate, node.path),)]
        field = resource.field(node.attribute.name)
        one_regex = field.type is AttrType.STRING and field.param("regex") is not None
        if field.param("in") is None and not one_regex and 1 < len(node.values) <= MAX_EXPANDED_VALUES:
            return [(Comparison(node.attribute, "=", value, node.path),) for value in dict.fromkeys(node.values)]
        return [(node,)]
    if not negate:
        return [(node,)]
    if node.attribute.type is AttrType.BOOLEAN:  # DIALS booleans are never null: not (x = v) is x = not v
        value = (not node.value) if node.op == "=" else node.value
        return [(Comparison(node.attribute, "=", value, node.path),)]
    return [(Comparison(node.attribute, _FLIPPED[node.op], node.value, node.path),)]


# -- one request per conjunction -------------------------------------------------------------------------
def _request(resource: DialsResource, conjunct: _Conjunct) -> DialsRequest | None:
    """The request for one conjunction, or ``None`` when it provably matches nothing."""
    params: dict[str, str] = {}
    bounds: dict[str, list[float]] = {}
    unsent: list[_Leaf] = []
    for literal in conjunct:
        field = resource.field(literal.attribute.name)
        if isinstance(literal, Membership) and not literal.values and not literal.negated:
            return None
        if not _send(field, literal, params, bounds):
            unsent.append(literal)
    for name, (low, high) in bounds.items():
        if low > high:
            return None
        field = resource.field(name)
        _put(params, field.param("gte"), low, -math.inf)
        _put(params, field.param("lte"), high, math.inf)
    for literal in unsent:
        _check_in_rows(resource, literal)
    check = None if not unsent else unsent[0] if len(unsent) == 1 else And(tuple(unsent))
    order = {name: i for i, name in enumerate(_param_order(resource))}
    return DialsRequest(resource.route, tuple(sorted(params.items(), key=lambda kv: order[kv[0]])), check)


def _param_order(resource: DialsResource) -> list[str]:
    return [p for f in resource.fields for lookup in DIALS_LOOKUPS if (p := f.param(lookup)) is not None]


def _put(params: dict[str, str], param: str | None, value: float, unbounded: float) -> None:
    if param is not None and value != unbounded:
        params[param] = str(int(value))


def _send(field: DialsField, literal: _Leaf, params: dict[str, str], bounds: dict[str, list[float]]) -> bool:
    """Express ``literal`` as parameters if it can be (True: exactly; False: it stays a client check)."""
    if isinstance(literal, Membership):
        return not literal.negated and _send_membership(field, literal.values, params, bounds)
    op, value = literal.op, literal.value
    if op == "=":
        return _send_equal(field, value, params, bounds)
    if op in ("<", "<=", ">", ">=") and isinstance(value, (int, float)):
        return _send_bound(field, op, value, bounds)
    if op == "like" and isinstance(value, str):
        regex = like_to_regex(value)
        return not regex or _set(params, field.param("regex"), regex)  # '' matches every (non-null) value
    return False


def _send_equal(field: DialsField, value: Scalar, params: dict[str, str], bounds: dict[str, list[float]]) -> bool:
    if field.type is AttrType.NUMBER and not float(value).is_integer():
        return False
    text = _text(value)
    if _set(params, field.param("exact"), text) or _set(params, field.param("in"), text):
        return True
    if field.type is AttrType.STRING and isinstance(value, str):
        return _set(params, field.param("regex"), "^" + _escape(value, fold_case=False) + "$")
    if field.type is AttrType.NUMBER and field.param("gte") and field.param("lte"):
        return _send_bound(field, ">=", value, bounds) and _send_bound(field, "<=", value, bounds)
    return False


def _send_membership(
    field: DialsField, values: tuple[Scalar, ...], params: dict[str, str], bounds: dict[str, list[float]]
) -> bool:
    if field.type is AttrType.NUMBER and not all(float(v).is_integer() for v in values):
        return False
    if len(values) == 1:
        return _send_equal(field, values[0], params, bounds)
    if _set(params, field.param("in"), ",".join(_text(v) for v in dict.fromkeys(values))):
        return True
    if field.type is AttrType.STRING:
        alternatives = "|".join(_escape(str(v), fold_case=False) for v in dict.fromkeys(values))
        return _set(params, field.param("regex"), f"^({alternatives})$")
    numbers = [float(v) for v in values]
    if field.param("gte"):
        _send_bound(field, ">=", min(numbers), bounds)
    if field.param("lte"):
        _send_bound(field, "<=", max(numbers), bounds)
    return False  # a bounding range is a superset: the exact check stays


def _send_bound(field: DialsField, op: str, value: Scalar, bounds: dict[str, list[float]]) -> bool:
    """Tighten the field's inclusive integer range (every numeric DIALS field holds integers)."""
    number = float(value)
    lookup = "gte" if op in (">", ">=") else "lte"
    if field.param(lookup) is None:
        return False
    inclusive = {">": math.floor(number) + 1, ">=": math.ceil(number), "<": math.ceil(number) - 1}
    bound = inclusive.get(op, math.floor(number))
    low_high = bounds.setdefault(field.name, [-math.inf, math.inf])
    if lookup == "gte":
        low_high[0] = max(low_high[0], bound)
    else:
        low_high[1] = min(low_high[1], bound)
    return True


def _set(params: dict[str, str], param: str | None, text: str) -> bool:
    """Set a parameter unless the service lacks it or it already holds another value (then check instead)."""
    if param is None or params.get(param, text) != text:
        return False
    params[param] = text
    return True


def _text(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _check_in_rows(resource: DialsResource, literal: _Leaf) -> None:
    field = resource.field(literal.attribute.name)
    if not field.in_row:
        raise FilterError(
            f"DIALS cannot express this condition on {field.name!r}, and {resource.name} rows do not carry "
            f"{field.name!r} to check it",
            path=literal.path,
            value=render(literal),
            allowed=", ".join(lookup for lookup, _ in field.lookups) + " (as DIALS lookups)",
        )


# -- like → POSIX/Python regex ---------------------------------------------------------------------------
def like_to_regex(pattern: str, *, end: str = "$") -> str:
    """A case-insensitive ``like`` pattern as an anchored regex valid in POSIX ERE and Python alike.

    ``%`` is any run of characters, ``_`` one character, ``\\`` escapes the next one; letters become
    ``[xX]`` classes (DIALS' ``__regex`` is case-sensitive); a leading/trailing ``%`` drops the anchor. ``end``
    is the end anchor: ``$`` for the service, ``\\Z`` for Python (whose ``$`` also matches before a final newline).

    >>> like_to_regex("%PXBarrel%")
    '[pP][xX][bB][aA][rR][rR][eE][lL]'
    >>> like_to_regex("Pixel/a_b.c(1)+\\\\%")
    '^[pP][iI][xX][eE][lL]/[aA].[bB]\\\\.[cC]\\\\(1\\\\)\\\\+%$'
    """
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            parts.append(_escape(pattern[index + 1]))
            index += 2
            continue
        parts.append(".*" if char == "%" else "." if char == "_" else _escape(char))
        index += 1
    open_start, open_end = parts[:1] == [".*"], parts[-1:] == [".*"]
    body = "".join(parts[int(open_start) : len(parts) - int(open_end and len(parts) > 1)])
    return ("" if open_start else "^") + body + ("" if open_end else end)


def _escape(text: str, *, fold_case: bool = True) -> str:
    """``text`` as a literal regex: specials backslashed, letters as ``[xX]`` classes when ``fold_case``."""
    out = []
    for char in text:
        lower, upper = char.lower(), char.upper()
        if char in _REGEX_SPECIAL:
            out.append("\\" + char)
        elif fold_case and len(lower) == len(upper) == 1 and lower != upper:
            out.append(f"[{lower}{upper}]")
        else:
            out.append(char)
    return "".join(out)


# -- evaluation on rows (the client check) and rendering ----------------------------------------------------
def row_matches(node: Node, row: Mapping[str, Any]) -> bool | None:
    """Evaluate ``node`` on a row with SQL three-valued logic (``None`` = unknown, e.g. a null field).

    >>> from querylang.dials_catalogue import dials_resource
    >>> node = parse_filter({"me": {"like": "%barrel%"}}, catalogue=dials_resource("mes").catalogue())
    >>> row_matches(node, {"me": "PixelPhase1/PXBarrel/x"}), row_matches(node, {"me": None})
    (True, None)
    """
    if isinstance(node, And):
        return _all(row_matches(child, row) for child in node.children)
    if isinstance(node, Or):
        return _negated(_all(_negated(row_matches(child, row)) for child in node.children))
    if isinstance(node, Not):
        return _negated(row_matches(node.child, row))
    if isinstance(node, StatusTest):
        raise ArgumentTypeError("DIALS rows have no status flags")
    value = row.get(node.attribute.name)
    if value is None:
        return None
    if isinstance(node, Membership):
        return (value in node.values) != node.negated
    return _compare(value, node.op, node.value)


def _all(results: Iterable[bool | None]) -> bool | None:
    outcome: bool | None = True
    for result in results:
        if result is False:
            return False
        if result is None:
            outcome = None
    return outcome


def _negated(result: bool | None) -> bool | None:
    return None if result is None else not result


def _compare(value: Any, op: str, literal: Scalar) -> bool:
    if op in ("like", "notlike"):
        return like_matches(str(value), str(literal)) == (op == "like")
    return bool(_OPERATORS[op](value, literal))


def like_matches(text: str, pattern: str) -> bool:
    r"""Case-insensitive SQL ``like`` in O(len(text) * len(pattern)) at worst (no regex backtracking).

    >>> like_matches("PixelPhase1/PXBarrel", "%pxbarrel"), like_matches("a%b", "a\\%_"), like_matches("axb", "a\\%_")
    (True, True, False)
    """
    tokens = _like_tokens(pattern)
    lowered = text.lower()
    i = j = 0
    star, resume = -1, 0
    while i < len(lowered):
        if j < len(tokens) and tokens[j] is not None and (tokens[j] == "" or tokens[j] == lowered[i]):
            i, j = i + 1, j + 1
        elif j < len(tokens) and tokens[j] is None:
            star, resume, j = j, i, j + 1
        elif star >= 0:
            resume += 1
            i, j = resume, star + 1
        else:
            return False
    return all(token is None for token in tokens[j:])


def _like_tokens(pattern: str) -> list[str | None]:
    """``None`` for ``%``, ``""`` for ``_``, else the lower-cased literal character."""
    tokens: list[str | None] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            tokens.append(pattern[index + 1].lower())
            index += 2
            continue
        tokens.append(None if char == "%" else "" if char == "_" else char.lower())
        index += 1
    return tokens


def render(node: Node) -> str:
    """A readable condition: ``run_number >= 1 AND me like '%x%'``."""
    if isinstance(node, (And, Or)):
        joiner = " AND " if isinstance(node, And) else " OR "
        return joiner.join(f"({render(c)})" if isinstance(c, (And, Or)) else render(c) for c in node.children)
    if isinstance(node, Not):
        return f"NOT ({render(node.child)})"
    if isinstance(node, Membership):
        values = ", ".join(repr(v) for v in node.values)
        return f"{node.attribute.name} {'not in' if node.negated else 'in'} ({values})"
    if isinstance(node, Comparison):
        return f"{node.attribute.name} {node.op} {node.value!r}"
    return node.flag.name
