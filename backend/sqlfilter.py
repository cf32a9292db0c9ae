"""Backend filters (``rr-protocol.md`` §4) and sortings compiled to SQLite, with every value a bound parameter.

A filter is parsed into :mod:`querylang.backend_filter` nodes first (its shape errors, its depth and size limits
are the IR's), and the SQL is generated from the nodes. Keys are resolved against the catalogue: ``run_number``
(and ``name`` for datasets) are table columns; ``oms_attributes.<a>``, ``rr_attributes.<a>``,
``dataset_attributes.<a>`` and ``triplet_summary.<ws>-<col>.<STATUS>`` are JSON paths, passed to ``json_extract``
as bound parameters. Nothing from the request is ever spliced into SQL text: only trusted column names and
placeholders are.

Comparisons cast by the JSON type of the compared value (number → numeric, boolean → boolean, string → text);
comparing a value with an attribute of an incompatible type is an error, like PostgreSQL's failed casts.
``{"=": null}`` is ``IS NULL`` and ``{"<>": null}`` ``IS NOT NULL``; other operators against ``null`` match nothing.
Lower-case ``like``/``notlike`` are case-insensitive, upper-case ``LIKE``/``NOTLIKE`` case-sensitive; ``%``, ``_``
and ``\\`` (escape) behave as in PostgreSQL, matched in time linear in the value (RE2) whatever the pattern;
a pattern longer than 1000 characters is an error. An empty ``and`` list is true and an empty ``or`` list false.

Long lists do not hit SQLite's expression depth: an ``or`` list of equalities (and an ``and`` list of ``<>``) on
one key, at the top level or under the key, compiles to ``IN`` (``NOT IN``) lists of bound parameters, at most
``IN_CHUNK`` per list (far under SQLite's variable limit) and ``MAX_LIST_VALUES`` per filter; other long lists
are joined as a balanced tree. Both are exact, NULLs included (``x IN (a, b)`` is ``x = a OR x = b``).

Strict mode (the default) answers an unknown JSON key or operator with an error naming it; ``and``/``or`` under
a key keep the value casts, and ``or`` across tables means what it says. ``quirks=True`` reproduces the service:
(a) ``and``/``or`` under a JSON key compare as text, so a number there fails with ``operator does not exist:
text = integer``; (b) a filter touching several tables is split per table and the parts are ANDed; (c) an unknown
JSON key or operator under a JSON key matches nothing, an unknown plain column is an error.

>>> where = compile_where({"oms_attributes.fill_number": {">": 6500}}, target="runs")
>>> where.text, where.params
('(json_extract(r.oms_attributes, ?) > ?)', ('$."fill_number"', 6500))
"""

from __future__ import annotations

import functools
import math
import re
import sqlite3
from dataclasses import dataclass
from typing import Any

from backend import budget
from backend.errors import RequestError
from querylang.backend_filter import (
    COMPARISON_OPERATORS,
    CONNECTIVES,
    LIKE_OPERATORS,
    BackendFilter,
    Bare,
    Column,
    Compare,
    Condition,
    Entry,
    Junction,
    KeyJunction,
    Operators,
    Test,
    UnknownOperator,
    Value,
    column_keys,
    from_json,
    table_of,
)
from querylang.catalogue import STATUS_VALUES, Attribute, AttrType, Owner, default_catalogue
from querylang.errors import FilterError
from querylang.plan import Kind
from querylang.similar import LikePattern, compile_like

__all__ = [
    "IN_CHUNK",
    "MAX_LIST_VALUES",
    "MAX_TERMS",
    "FilterSqlError",
    "Sql",
    "compile_order",
    "compile_where",
    "like_match",
    "register_functions",
]

#: Most comparisons one filter may contain (an ``IN`` list counts as one).
MAX_TERMS = 5000
#: Most values one filter may bind in ``IN``/``NOT IN`` lists (SQLite allows 32,766 variables per statement).
MAX_LIST_VALUES = 30_000
#: Values per ``IN (...)`` list: a longer membership is an ``OR`` (``NOT IN``: ``AND``) of such lists.
IN_CHUNK = 500

#: For an ``or`` / ``and`` list: the comparison its items may share, and the SQL membership it becomes.
_MEMBERSHIP = {"OR": ("=", "IN"), "AND": ("<>", "NOT IN")}
#: Joins of more parts than this are parenthesised as a balanced tree (SQLite's parser nests ``a OR b OR c``).
_FLAT_JOIN = 64
_INT64 = 2**63
_TRUE, _FALSE = "1", "0"
_JSON_OWNERS = {
    "oms_attributes": (Owner.OMS_RUN, "r.oms_attributes", "run"),
    "rr_attributes": (Owner.RR_RUN, "r.rr_attributes", "run"),
    "dataset_attributes": (Owner.DATASET_ATTRIBUTE, "d.dataset_attributes", "dataset"),
}
_NUMERIC_SORT = {"oms_attributes.ls_duration": "INTEGER", "oms_attributes.b_field": "REAL"}


class FilterSqlError(RequestError):
    """A filter or sorting the backend cannot run; the service answers it as HTTP 500 ``{"err": message}``."""


@dataclass(frozen=True)
class Sql:
    """A SQL fragment and its bound parameters, in order."""

    text: str
    params: tuple[Any, ...] = ()


@dataclass(frozen=True)
class _Key:
    """A resolved filter key: where its value lives and what type it has."""

    name: str
    table: str  # run | triplet | dataset: the service table it comes from (quirk b splits by this)
    kind: AttrType
    column: str  # trusted SQL: an alias-qualified column
    path: str | None = None  # JSON path for json_extract (bound), None for plain columns

    def value_sql(self) -> Sql:
        if self.path is None:
            return Sql(self.column)
        return Sql(f"json_extract({self.column}, ?)", (self.path,))

    def text_sql(self) -> Sql:
        """The value as PostgreSQL's ``->>`` would render it: text, booleans as 'true'/'false'."""
        raw = self.value_sql()
        if self.kind is AttrType.BOOLEAN:
            return Sql(f"(CASE {raw.text} WHEN 1 THEN 'true' WHEN 0 THEN 'false' END)", raw.params)
        if self.kind is AttrType.NUMBER:
            return Sql(f"CAST({raw.text} AS TEXT)", raw.params)
        return raw


def _json_path(*parts: str) -> str:
    for part in parts:
        if not part or any(c in part for c in '"\\'):
            raise FilterSqlError(f"invalid JSON key {part!r}")
    return "$" + "".join(f'."{p}"' for p in parts)


def _resolve(key: str, target: Kind, *, quirks: bool) -> _Key | None:
    """The key's column, or ``None`` for an unknown JSON key in quirk mode (it then matches nothing)."""
    if not isinstance(key, str):  # pragma: no cover - JSON object keys are always strings
        raise FilterSqlError(f"invalid key {key!r}")
    if key == "run_number":
        alias = "r" if target == "runs" else "d"
        return _Key(key, "run" if target == "runs" else "dataset", AttrType.NUMBER, f"{alias}.run_number")
    if key == "name" and target == "datasets":
        return _Key(key, "dataset", AttrType.STRING, "d.name")
    prefix, _, rest = key.partition(".")
    if prefix == "triplet_summary":
        return _triplet_key(key, rest, quirks=quirks)
    owner = _JSON_OWNERS.get(prefix)
    if owner is None or (owner[0] is Owner.DATASET_ATTRIBUTE and target == "runs"):
        raise FilterSqlError(f'column "{key}" does not exist')
    attr = _json_attributes().get((owner[0], rest))
    if attr is None:
        if quirks:
            return None
        raise FilterSqlError(f'unknown attribute "{key}": {prefix} has no key {rest!r}')
    return _Key(key, owner[2], attr.type, owner[1], _json_path(rest))


@functools.cache
def _json_attributes() -> dict[tuple[Owner, str], Attribute]:
    return {(a.owner, a.name): a for a in default_catalogue().attributes()}


def _triplet_key(key: str, rest: str, *, quirks: bool) -> _Key | None:
    flag_name, _, status = rest.rpartition(".")
    try:
        flag = default_catalogue().status_flag(flag_name)
    except KeyError:
        flag = None
    if flag is None or status not in STATUS_VALUES:
        if quirks:
            return None
        raise FilterSqlError(
            f'unknown status flag key "{key}": expected triplet_summary.<workspace>-<column>.<STATUS> with STATUS '
            f"one of {', '.join(STATUS_VALUES)}"
        )
    return _Key(key, "triplet", AttrType.NUMBER, "d.triplet_summary", _json_path(flag.name, status))


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"number {value!r}"
    return f"{type(value).__name__} {value!r}"


def _number_param(value: int | float) -> int | float:
    """SQLite binds 64-bit integers only: larger ones compare as floats, like PostgreSQL numerics would."""
    if isinstance(value, int) and not -_INT64 <= value < _INT64:
        try:
            return float(value)
        except OverflowError:  # beyond any float: still larger (or smaller) than every stored number
            return math.inf if value > 0 else -math.inf
    return value


class _Compiler:
    def __init__(self, target: Kind, *, quirks: bool) -> None:
        self.target = target
        self.quirks = quirks
        self.terms = 0
        self.list_values = 0

    # -- structure ----------------------------------------------------------------------------------------
    def filter(self, node: BackendFilter) -> Sql:
        return _join("AND", [self.entry(entry) for entry in node.items])

    def entry(self, entry: Entry) -> Sql:
        match entry:
            case Junction():
                return self.junction(entry)
            case Column(key=name, condition=condition):
                key = _resolve(name, self.target, quirks=self.quirks)
                return Sql(_FALSE) if key is None else self.condition(key, condition, lose_cast=False)

    def junction(self, junction: Junction) -> Sql:
        """An ``and``/``or`` list; its items ``{key: v}`` / ``{key: {op: v}}`` with the list's ``op`` join ``IN``."""
        joiner = junction.logic.upper()
        members: dict[str, tuple[_Key, list[Any]]] = {}
        rest = []
        for item in junction.filters:
            found = self.member_of_filter(item, joiner)
            if found is None:
                rest.append(item)
            else:
                members.setdefault(found[0].name, (found[0], []))[1].append(found[1])
        parts = [self.membership(key, values, joiner) for key, values in members.values()]
        parts += [self.filter(item) for item in rest]
        return _join(joiner, parts, empty=joiner == "AND")

    def member_of_filter(self, item: BackendFilter, joiner: str) -> tuple[_Key, Any] | None:
        """``(key, value)`` when ``item`` is ``{key: value}`` or ``{key: {op: value}}`` with the list's ``op``."""
        if len(item.items) != 1 or not isinstance(column := item.items[0], Column):
            return None
        value = _member_value(column.condition, joiner)
        key = None if value is None else _resolve(column.key, self.target, quirks=self.quirks)
        return None if key is None else (key, value)

    def condition(self, key: _Key, condition: Condition, *, lose_cast: bool) -> Sql:
        if isinstance(condition, Bare):
            return self.compare(key, "=", condition.value, lose_cast=lose_cast)
        return _join("AND", [self.test(key, test, lose_cast=lose_cast) for test in condition.tests])

    def test(self, key: _Key, test: Test, *, lose_cast: bool) -> Sql:
        match test:
            case KeyJunction():
                return self.nested_logic(key, test)
            case Compare(op=op, value=value):
                return self.compare(key, op, value, lose_cast=lose_cast)
            case UnknownOperator(op=op):
                self.count_term()
                if self.quirks and key.path is not None:
                    return Sql(_FALSE)
                allowed = ", ".join([*COMPARISON_OPERATORS, *LIKE_OPERATORS, *CONNECTIVES])
                raise FilterSqlError(f'"{key.name}": unknown operator {op!r}; allowed: {allowed}')

    def nested_logic(self, key: _Key, junction: KeyJunction) -> Sql:
        """``and``/``or`` under a key; in quirk mode under a JSON key they lose the cast (quirk a)."""
        lose_cast = self.quirks and key.path is not None
        joiner = junction.logic.upper()
        values = [_member_value(item, joiner) for item in junction.items]
        members = [v for v in values if v is not None and (isinstance(v, str) or not lose_cast)]
        parts = [self.membership(key, members, joiner)] if members else []
        parts += [
            self.condition(key, item, lose_cast=lose_cast)
            for item, value in zip(junction.items, values, strict=True)
            if value is None or (lose_cast and not isinstance(value, str))
        ]
        return _join(joiner, parts, empty=joiner == "AND")

    def membership(self, key: _Key, values: list[Any], joiner: str) -> Sql:
        """``key IN (...)`` (``joiner`` OR) or ``key NOT IN (...)`` (AND) of ``values``, cast as :meth:`compare`
        casts each; one value is a plain comparison."""
        op, member = _MEMBERSHIP[joiner]
        if len(values) == 1:
            return self.compare(key, op, values[0], lose_cast=False)
        self.list_values += len(values)
        if self.list_values > MAX_LIST_VALUES:
            raise FilterSqlError(f"filter has more than {MAX_LIST_VALUES} values in and/or lists")
        by_side: dict[Sql, list[Any]] = {}
        for value in values:
            left, param = self.cast(key, value)
            by_side.setdefault(left, []).append(param)
        parts = []
        for left, params in by_side.items():
            for start in range(0, len(params), IN_CHUNK):
                chunk = params[start : start + IN_CHUNK]
                self.count_term()
                marks = ", ".join("?" * len(chunk))
                parts.append(Sql(f"({left.text} {member} ({marks}))", (*left.params, *chunk)))
        return _join(joiner, parts)

    # -- comparisons --------------------------------------------------------------------------------------
    def count_term(self) -> None:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise FilterSqlError(f"filter has more than {MAX_TERMS} comparisons")

    def compare(self, key: _Key, op: str, value: Value, *, lose_cast: bool) -> Sql:
        self.count_term()
        if op in LIKE_OPERATORS:
            assert isinstance(value, str)  # the IR allows patterns only
            return self.like(key, op, value)
        if value is None:
            return self.null_test(key, op)
        if lose_cast and not isinstance(value, str):
            pg_type = "boolean" if isinstance(value, bool) else ("integer" if isinstance(value, int) else "numeric")
            raise FilterSqlError(f"operator does not exist: text {op} {pg_type}")
        left, param = self.cast(key, value)
        return Sql(f"({left.text} {op} ?)", (*left.params, param))

    def null_test(self, key: _Key, op: str) -> Sql:
        raw = key.value_sql()
        if op == "=":
            return Sql(f"({raw.text} IS NULL)", raw.params)
        if op == "<>":
            return Sql(f"({raw.text} IS NOT NULL)", raw.params)
        return Sql(_FALSE)  # x < NULL is never true

    def like(self, key: _Key, op: str, pattern: str) -> Sql:
        if key.path is None and key.kind is AttrType.NUMBER:
            raise FilterSqlError(f'operator does not exist: integer ~~ text (in "{key.name}" {op})')
        case_sensitive, negate = LIKE_OPERATORS[op]
        _like(pattern, case_sensitive)  # a pattern RE2 refuses (too long, too complex) is an error up front
        text = key.text_sql()
        sql = f"rq_like({text.text}, ?, {int(case_sensitive)})"
        return Sql(f"(NOT {sql})" if negate else f"({sql})", (*text.params, pattern))

    def cast(self, key: _Key, value: bool | int | float | str) -> tuple[Sql, Any]:
        """The left-hand side and bound value of a comparison, cast by the value's JSON type."""
        if isinstance(value, bool):
            if key.kind is AttrType.BOOLEAN:
                return key.value_sql(), int(value)
        elif isinstance(value, (int, float)):
            if key.kind is AttrType.NUMBER:
                return key.value_sql(), _number_param(value)
        elif isinstance(value, str):
            if key.path is None and key.kind is AttrType.NUMBER:
                if re.fullmatch(r"-?\d{1,18}", value):
                    return key.value_sql(), int(value)
                raise FilterSqlError(f'invalid input syntax for type integer: "{value}" (in "{key.name}")')
            return key.text_sql(), value
        raise FilterSqlError(f'cannot compare "{key.name}" ({key.kind.value}) with {_describe(value)}')


def _member_value(condition: Condition, joiner: str) -> bool | int | float | str | None:
    """The value of an ``or`` item ``v`` / ``{"=": v}`` (``and`` item ``{"<>": v}``), when it can join ``IN``."""
    op = _MEMBERSHIP[joiner][0]
    if isinstance(condition, Operators):
        if len(condition.tests) != 1 or not isinstance(test := condition.tests[0], Compare) or test.op != op:
            return None
        value = test.value
    elif op != "=":
        return None
    else:
        value = condition.value
    return value if value is not None and _bindable(value) else None


def _bindable(value: bool | int | float | str) -> bool:
    return not isinstance(value, int) or -_INT64 <= value < _INT64


def _join(op: str, parts: list[Sql], *, empty: bool = True) -> Sql:
    """``parts`` joined by ``op``; a long list as a balanced tree, so that SQLite's parser nests it shallowly."""
    if not parts:
        return Sql(_TRUE if empty else _FALSE)
    if len(parts) == 1:
        return parts[0]
    if len(parts) > _FLAT_JOIN:
        half = len(parts) // 2
        parts = [_join(op, parts[:half]), _join(op, parts[half:])]
    return Sql("(" + f" {op} ".join(p.text for p in parts) + ")", tuple(v for p in parts for v in p.params))


def _project(node: BackendFilter, table: str, target: Kind) -> BackendFilter | None:
    """The part of a filter that touches ``table`` (quirk b): other keys and emptied lists disappear."""
    kept: list[Entry] = []
    for entry in node.items:
        if isinstance(entry, Junction):
            items = tuple(p for p in (_project(f, table, target) for f in entry.filters) if p is not None)
            if items:
                kept.append(Junction(entry.op, items))
        elif table_of(entry.key, target) == table:
            kept.append(entry)
    return BackendFilter(tuple(kept)) if kept else None


def compile_where(filter: object, *, target: Kind, quirks: bool = False) -> Sql:
    """The WHERE condition of a runs or datasets listing (``filter``: a backend filter node or its JSON); raises
    :class:`FilterSqlError` on a bad filter."""
    try:
        node = filter if isinstance(filter, BackendFilter) else from_json(filter)
    except FilterError as exc:
        raise FilterSqlError(str(exc)) from None
    whole = _Compiler(target, quirks=quirks).filter(node)
    tables = {table_of(key, target) for key in column_keys(node)}
    if not quirks or len(tables) < 2:
        return whole
    parts = []
    for table in sorted(tables):
        projected = _project(node, table, target)
        if projected:
            parts.append(_Compiler(target, quirks=True).filter(projected))
    return _join("AND", parts)


def compile_order(sortings: object, *, target: Kind, ties: Sql | None = None) -> Sql:
    """ORDER BY terms: the requested sortings, then ``ties`` (default: the service's default order).

    JSON keys sort as text except ``oms_attributes.ls_duration`` (integer) and ``oms_attributes.b_field``
    (float); NULLs sort last ascending and first descending, as in PostgreSQL.
    """
    if not isinstance(sortings, list):
        raise FilterSqlError(f"sortings must be a list of [key, direction] pairs, got {_describe(sortings)}")
    terms: list[Sql] = []
    for item in sortings:
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item)):
            raise FilterSqlError(f"each sorting must be [key, direction], got {item!r}")
        key_name, direction = item
        if direction.upper() not in ("ASC", "DESC"):
            raise FilterSqlError(f"sorting direction must be ASC or DESC, got {direction!r}")
        key = _resolve(key_name, target, quirks=False)
        assert key is not None
        expr = _sort_expr(key)
        dir_ = direction.upper()
        terms.append(Sql(f"({expr.text}) IS NULL {dir_}, {expr.text} {dir_}", expr.params * 2))
    defaults = "r.run_number DESC" if target == "runs" else "d.run_number DESC, d.name ASC"
    terms.append(ties or Sql(defaults))
    return Sql(", ".join(t.text for t in terms), tuple(v for t in terms for v in t.params))


def _sort_expr(key: _Key) -> Sql:
    if key.path is None:
        return key.value_sql()
    numeric = _NUMERIC_SORT.get(key.name)
    if numeric is not None:
        raw = key.value_sql()
        return Sql(f"CAST({raw.text} AS {numeric})", raw.params)
    return key.text_sql()


@functools.lru_cache(maxsize=512)
def _like(pattern: str, case_sensitive: bool) -> LikePattern:
    try:
        return compile_like(pattern, case_sensitive=case_sensitive)
    except FilterError as exc:
        raise FilterSqlError(f"invalid LIKE pattern: {exc.message}") from None


def like_match(value: object, pattern: object, case_sensitive: object) -> int | None:
    """SQL ``LIKE`` (``case_sensitive``) or ``ILIKE`` with PostgreSQL's wildcards; ``None`` when either is NULL.

    Matching is linear in the value whatever the pattern (RE2, see :func:`querylang.similar.compile_like`).

    >>> like_match("/cdaq/physics/Run2018", "%PHYSICS%", 0), like_match("abc", "A_C", 1)
    (1, 0)
    """
    if value is None or pattern is None:
        return None
    return int(_like(str(pattern), bool(case_sensitive)).matches(str(value)))


def register_functions(conn: sqlite3.Connection) -> None:
    """Register the SQL functions compiled filters call (``rq_like``) on a connection, and make its statements
    stop when the current request's time budget is spent (:mod:`backend.budget`)."""
    conn.create_function("rq_like", 3, like_match, deterministic=True)
    budget.install(conn)
