"""AST → :class:`~querylang.plan.Plan`: backend filters that are right on the real service despite its quirks.

Compilation has three exact steps:

1. *Lower* the AST to a negation-free formula of backend atoms ``key op value``: ``not`` is pushed down
   (``=``↔``<>``, ``<``↔``>=``, ``>``↔``<=``, ``like``↔``notlike``, De Morgan); ``in``/``notin`` become an
   ``or`` of ``=`` / an ``and`` of ``<>``; a status test "any of S" becomes ``triplet_summary.<flag>.<S> > 0``
   (or'ed). Flipping a comparison is exact under SQL three-valued logic: a NULL attribute satisfies neither
   ``x < v`` nor ``x >= v``, just as it satisfies neither ``x < v`` nor ``not x < v``. Lumisection counts
   are different, an absent count is 0, so a count comparison that 0 satisfies also accepts ``IS NULL``
   (``{"=": null}``): "no GOOD dt-dt lumisection" is ``GOOD = 0 OR GOOD IS NULL``.
2. *Split* around quirk (b): the service splits an ``or`` whose branches touch several tables (run, triplet,
   dataset) and ANDs the parts. Such an ``or`` is lifted out into a union of backend filters (AND
   distributes as a cross product), bounded by ``max_filters``. An ``or`` longer than ``max_or_values`` (a
   long ``in`` list) is cut the same way into a union of filters of at most that many items each, so that
   every backend filter stays small whatever the list. Before that, runs of consecutive run numbers in an
   ``in``/``notin`` list become ranges (``>=``/``<=``; ``<``/``>`` for ``notin``): ``run_number`` holds
   integers only, so this is exact.
3. *Emit* each part as a :class:`~querylang.backend_filter.BackendFilter` with every comparison directly under
   its key and ``and``/``or`` lists above the keys (quirk a), merging an AND of atoms with distinct key+operator
   into one object, as the public client does.

Simplifications are exact only: nested and/or are flattened, identical clauses deduplicated, ``And(())``
(``{}``) is the filter ``{}`` that matches everything, ``Or(())`` (``{"run_number": []}``) drops out, and a
plan with no filter matches nothing. Output order follows the input order, so it is deterministic.

>>> compile_filter({"run_number": {"and": [{">": 309000}, {"<": 310000}]}, "dt-dt": "GOOD"}).filters
({'run_number': {'>': 309000, '<': 310000}, 'triplet_summary.dt-dt.GOOD': {'>': 0}},)
>>> compile_filter({"or": [{"class": "Cosmics18"}, {"dt-dt": "BAD"}]}).filters
({'rr_attributes.class': {'=': 'Cosmics18'}}, {'triplet_summary.dt-dt.BAD': {'>': 0}})
"""

from __future__ import annotations

import itertools
import json
import math
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from querylang.ast import And, Comparison, Membership, Node, Not, Or, Scalar, StatusTest, is_count
from querylang.backend_filter import (
    BackendFilter,
    Column,
    Compare,
    Condition,
    Junction,
    KeyJunction,
    Operators,
    UnknownOperator,
    column_keys,
    from_json,
    table_of,
)
from querylang.catalogue import STATUS_VALUES, Attribute, AttrType, Catalogue, Owner, default_catalogue
from querylang.errors import ArgumentError, ArgumentTypeError, FilterError, PathPart, format_path
from querylang.limits import MAX_DEPTH
from querylang.parse import UnknownFlags, UnknownFlagWarning, check_options, parse_filter_and_warnings
from querylang.plan import Kind, Plan

__all__ = ["MAX_OR_VALUES", "QuirkWarning", "compile_filter", "compile_node", "raw_plan"]

_MAX_NODE_DEPTH = 2 * MAX_DEPTH
#: The most items one ``or`` list of a backend filter holds; longer lists are split into a union of filters.
MAX_OR_VALUES = 1000
#: Consecutive run numbers in an ``in``/``notin`` list from which on they are sent as one range.
_MIN_RANGE = 3
_NEGATED = {"=": "<>", "<>": "=", "<": ">=", ">=": "<", ">": "<=", "<=": ">", "like": "notlike", "notlike": "like"}


class QuirkWarning(UserWarning):
    """A raw backend filter (``ignore_filter_transformation=True``) hits a known quirk of the real service."""


def compile_filter(
    filter: object,
    *,
    kind: Kind = "runs",
    unknown_flags: UnknownFlags = "error",
    max_filters: int = 64,
    max_or_values: int = MAX_OR_VALUES,
    catalogue: Catalogue | None = None,
) -> Plan:
    """Parse, validate and compile a user filter into a :class:`Plan` (:class:`FilterError` if invalid).

    >>> compile_filter({"fill_number": {"or": [8000, 8001]}}).filters
    ({'or': [{'oms_attributes.fill_number': {'=': 8000}}, {'oms_attributes.fill_number': {'=': 8001}}]},)
    >>> compile_filter({"run_number": [7, 1, 2, 3, 4]}).filters
    ({'or': [{'run_number': {'=': 7}}, {'run_number': {'>=': 1, '<=': 4}}]},)
    >>> compile_filter({"fill_number": {"in": [8000, 8003, 8006]}}, max_or_values=2).filters[1]
    {'oms_attributes.fill_number': {'=': 8006}}
    """
    node, notes = parse_filter_and_warnings(filter, kind=kind, unknown_flags=unknown_flags, catalogue=catalogue)
    for note in notes:
        warnings.warn(note, UnknownFlagWarning, stacklevel=2)
    plan = compile_node(node, kind=kind, max_filters=max_filters, max_or_values=max_or_values)
    return Plan(kind, plan.nodes, notes)


def compile_node(node: Node, *, kind: Kind = "runs", max_filters: int = 64, max_or_values: int = MAX_OR_VALUES) -> Plan:
    """Compile an AST (parsed, or built by hand) into a :class:`Plan` of at most ``max_filters`` filters.

    Each ``or`` list of a backend filter holds at most ``max_or_values`` items (longer ones become a union).
    """
    check_options(kind)
    for name, value in (("max_filters", max_filters), ("max_or_values", max_or_values)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ArgumentError(f"{name} must be a positive int, not {value!r}")
    _check_depth(node)
    formula = _compact(_Lowering(kind).lower(node, negate=False))
    parts = _split(formula, _Bounds(max_filters, max_or_values))
    filters = _dedupe(_emit(part) for part in parts if part != _FALSE)
    if _MATCH_ALL in filters:
        filters = [_MATCH_ALL]
    return Plan(kind, tuple(filters))


def _check_depth(root: Node) -> None:
    """:class:`FilterError` for an AST (e.g. built by hand) nested deeper than the recursive steps below allow.

    A parsed filter has at most one node per level of its dicts and lists, so it never meets this limit.
    """
    stack: list[tuple[Node, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > _MAX_NODE_DEPTH:
            raise FilterError(f"filter nested deeper than {_MAX_NODE_DEPTH} nodes", path=node.path)
        if isinstance(node, (And, Or)):
            stack.extend((child, depth + 1) for child in node.children)
        elif isinstance(node, Not):
            stack.append((node.child, depth + 1))


# -- the formula: atoms under all/any ---------------------------------------------------------------------
@dataclass(frozen=True)
class _Atom:
    """``key test``, e.g. ``run_number > 5`` (``{"=": null}``: IS NULL), and the table of the key."""

    key: str
    test: Compare  # 1, 1.0 and True never deduplicate into each other: tests compare value types
    table: str


@dataclass(frozen=True)
class _All:
    parts: tuple[_Formula, ...]


@dataclass(frozen=True)
class _Any:
    parts: tuple[_Formula, ...]


_Formula = _Atom | _All | _Any
_TRUE = _All(())
_FALSE = _Any(())


def _atom(key: str, op: str, value: Scalar | None, table: str) -> _Atom:
    return _Atom(key, Compare(op, value), table)


def _all(parts: Iterable[_Formula]) -> _Formula:
    flat: list[_Formula] = []
    for part in parts:
        if part == _FALSE:
            return _FALSE
        flat.extend(part.parts if isinstance(part, _All) else (part,))
    unique = tuple(dict.fromkeys(flat))
    return unique[0] if len(unique) == 1 else _All(unique)


def _any(parts: Iterable[_Formula]) -> _Formula:
    flat: list[_Formula] = []
    for part in parts:
        if part == _TRUE:
            return _TRUE
        flat.extend(part.parts if isinstance(part, _Any) else (part,))
    unique = tuple(dict.fromkeys(flat))
    return unique[0] if len(unique) == 1 else _Any(unique)


# -- 1. lowering -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Lowering:
    kind: Kind

    def lower(self, node: Node, *, negate: bool) -> _Formula:
        match node:
            case And(children=children):
                parts = [self.lower(child, negate=negate) for child in children]
                return _any(parts) if negate else _all(parts)
            case Or(children=children):
                parts = [self.lower(child, negate=negate) for child in children]
                return _all(parts) if negate else _any(parts)
            case Not(child=child):
                return self.lower(child, negate=not negate)
            case Comparison(attribute=attribute, op=op, value=value):
                return self.compare(attribute, _NEGATED[op] if negate else op, value, node.path)
            case Membership(attribute=attribute, values=values, negated=negated):
                if negated != negate:
                    return _all(self.compare(attribute, "<>", v, node.path) for v in values)
                return _any(self.compare(attribute, "=", v, node.path) for v in values)
            case StatusTest(flag=flag, statuses=statuses, negated=negated):
                if self.kind == "runs" and not flag.online:
                    raise FilterError(f"status flag {flag.name!r} is offline only", path=node.path, value=flag.name)
                counts = [Attribute(flag.path(s), AttrType.NUMBER, Owner.TRIPLET, flag.path(s)) for s in statuses]
                if negated != negate:
                    return _all(self.compare(count, "=", 0, node.path) for count in counts)
                return _any(self.compare(count, ">", 0, node.path) for count in counts)
        raise ArgumentTypeError(f"not a filter node: {node!r}")  # pragma: no cover - nodes validate their children

    def compare(self, attribute: Attribute, op: str, value: Scalar, path: tuple[PathPart, ...]) -> _Formula:
        table = self.table(attribute, path)
        atom = _atom(attribute.path, op, value, table)
        if is_count(attribute) and _zero_satisfies(op, value):
            return _any((atom, _atom(attribute.path, "=", None, table)))
        return atom

    def table(self, attribute: Attribute, path: tuple[PathPart, ...]) -> str:
        if attribute.table == "dataset" and self.kind == "runs":
            raise FilterError(
                f"{attribute.name!r} is a dataset attribute: it is allowed in dataset filters only",
                path=path,
                value=attribute.name,
            )
        return table_of(attribute.path, self.kind)


def _zero_satisfies(op: str, value: Scalar) -> bool:
    """Whether an absent count (0) satisfies ``count op value``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return {
        "=": value == 0,
        "<>": value != 0,
        "<": value > 0,
        ">": value < 0,
        "<=": value >= 0,
        ">=": value <= 0,
    }.get(op, False)


# -- 1b. ranges of consecutive run numbers -------------------------------------------------------------------
def _compact(formula: _Formula) -> _Formula:
    """``formula`` with runs of consecutive run numbers in its ``or`` of ``=`` / ``and`` of ``<>`` as ranges."""
    if isinstance(formula, _Atom):
        return formula
    parts = [_compact(part) for part in formula.parts]
    if isinstance(formula, _Any):
        return _any(_with_ranges(parts, "=", lambda lo, hi: _all((lo, hi)), (">=", "<=")))
    return _all(_with_ranges(parts, "<>", lambda lo, hi: _any((lo, hi)), ("<", ">")))


def _with_ranges(
    parts: list[_Formula], op: str, combine: Callable[[_Atom, _Atom], _Formula], bounds: tuple[str, str]
) -> list[_Formula]:
    """``parts`` with each run of ``_MIN_RANGE`` or more consecutive ``run_number op n`` atoms replaced by one
    ``combine(run_number bounds[0] first, run_number bounds[1] last)``, placed where the run's first atom was."""
    atoms = {n: part for part in parts if isinstance(part, _Atom) and (n := _run_number(part, op)) is not None}
    if len(atoms) < _MIN_RANGE:
        return parts
    span_of: dict[int, tuple[int, int]] = {}
    for first, last in _consecutive(sorted(atoms)):
        if last - first + 1 >= _MIN_RANGE:
            span_of.update(dict.fromkeys(range(first, last + 1), (first, last)))
    result: list[_Formula] = []
    emitted: set[tuple[int, int]] = set()
    for part in parts:
        number = _run_number(part, op)
        span = None if number is None else span_of.get(number)
        if span is None:
            result.append(part)
        elif span not in emitted:
            emitted.add(span)
            atom = atoms[span[0]]
            low, high = (_atom(atom.key, bound, n, atom.table) for bound, n in zip(bounds, span, strict=True))
            result.append(combine(low, high))
    return result


def _run_number(part: _Formula, op: str) -> int | None:
    """``n`` when ``part`` is the atom ``run_number op n`` with an integer ``n``."""
    if isinstance(part, _Atom) and part.key == "run_number" and part.test.op == op and part.test.value_type is int:
        assert isinstance(part.test.value, int)
        return part.test.value
    return None


def _consecutive(numbers: list[int]) -> Iterator[tuple[int, int]]:
    """Maximal runs ``(first, last)`` of consecutive integers in sorted, distinct ``numbers``."""
    first = previous = numbers[0]
    for number in numbers[1:]:
        if number != previous + 1:
            yield first, previous
            first = number
        previous = number
    yield first, previous


# -- 2. splitting around quirk (b) and long lists ------------------------------------------------------------
@dataclass(frozen=True)
class _Bounds:
    max_filters: int
    max_or_values: int


def _tables(formula: _Formula) -> frozenset[str]:
    if isinstance(formula, _Atom):
        return frozenset((formula.table,))
    return frozenset().union(*(_tables(part) for part in formula.parts))


def _widest_or(formula: _Formula) -> int:
    if isinstance(formula, _Atom):
        return 0
    inner = max((_widest_or(part) for part in formula.parts), default=0)
    return max(inner, len(formula.parts)) if isinstance(formula, _Any) else inner


def _safe(formula: _Formula, bounds: _Bounds) -> bool:
    """Sendable as one backend filter: every ``or`` within one table and at most ``max_or_values`` long."""
    return len(_tables(formula)) <= 1 and _widest_or(formula) <= bounds.max_or_values


def _split(formula: _Formula, bounds: _Bounds) -> list[_Formula]:
    """Safe formulas whose union is ``formula``."""
    if isinstance(formula, _Atom) or _safe(formula, bounds):
        return [formula]
    if isinstance(formula, _Any):
        result = _split_any(formula, bounds)
    else:
        branches = [_split(part, bounds) for part in formula.parts]
        _check_size(math.prod(len(b) for b in branches), bounds)
        result = [_all(combo) for combo in itertools.product(*branches)]
    _check_size(len(result), bounds)
    return result


def _split_any(formula: _Any, bounds: _Bounds) -> list[_Formula]:
    """The safe pieces of each branch, grouped by table, each group cut into ``or`` lists short enough."""
    groups: list[list[_Formula]] = []
    by_table: dict[str, list[_Formula]] = {}
    for part in formula.parts:
        for piece in _split(part, bounds):
            tables = _tables(piece)
            if len(tables) == 1:
                (table,) = tables
                if table not in by_table:
                    by_table[table] = []
                    groups.append(by_table[table])
                by_table[table].append(piece)
            else:
                groups.append([piece])
    size = bounds.max_or_values
    return [_any(group[i : i + size]) for group in groups for i in range(0, len(group), size)]


def _check_size(size: int, bounds: _Bounds) -> None:
    if size > bounds.max_filters:
        raise FilterError(
            f"this filter needs {size} backend filters: each 'or' across tables (run attributes, status flags, "
            f"dataset attributes) and each list of more than {bounds.max_or_values} values multiplies the union "
            "the service must be asked for",
            value=size,
            allowed=f"at most max_filters={bounds.max_filters} (raise it, or group each 'or' within one table)",
        )


# -- 3. emitting -------------------------------------------------------------------------------------------
_MATCH_ALL = BackendFilter(())


def _emit(formula: _Formula) -> BackendFilter:
    if isinstance(formula, _Atom):
        return BackendFilter((_column(formula.key, [formula.test]),))
    if isinstance(formula, _Any):
        return BackendFilter((Junction("or", tuple(_emit(part) for part in formula.parts)),))
    merged: dict[str, list[Compare]] = {}
    rest: list[BackendFilter] = []
    for part in formula.parts:
        if isinstance(part, _Atom) and all(t.op != part.test.op for t in merged.get(part.key, ())):
            merged.setdefault(part.key, []).append(part.test)
        else:
            rest.append(_emit(part))
    columns = BackendFilter(tuple(_column(key, tests) for key, tests in merged.items()))
    if not rest:
        return columns
    return BackendFilter((Junction("and", (*([columns] if merged else []), *rest)),))


def _column(key: str, tests: list[Compare]) -> Column:
    return Column(key, Operators(tuple(tests)))


def _dedupe(filters: Iterable[BackendFilter]) -> list[BackendFilter]:
    unique: dict[str, BackendFilter] = {}
    for backend_filter in filters:
        unique.setdefault(json.dumps(backend_filter.to_json(), sort_keys=True), backend_filter)
    return list(unique.values())


# -- raw filters (ignore_filter_transformation=True) ---------------------------------------------------------
def raw_plan(filter: object, *, kind: Kind = "runs", catalogue: Catalogue | None = None) -> Plan:
    """A one-filter plan sending ``filter`` (JSON, or a :class:`~querylang.backend_filter.BackendFilter`) as written,
    after parsing it (:func:`~querylang.backend_filter.from_json`: :class:`FilterError` for anything the service
    would not accept).

    Known quirks of the service are reported as :class:`QuirkWarning` (and in ``Plan.warnings``), never fixed.

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     plan = raw_plan({"oms_attributes.fill_number": {"or": [{"=": 8000}, {"=": 8001}]}})
    >>> plan.filters
    ({'oms_attributes.fill_number': {'or': [{'=': 8000}, {'=': 8001}]}},)
    >>> "quirk (a)" in str(caught[0].message)
    True
    """
    check_options(kind)
    node = filter if isinstance(filter, BackendFilter) else from_json(filter)
    notes = tuple(_RawChecker(kind, catalogue or default_catalogue()).filter(node))
    for note in notes:
        warnings.warn(note, QuirkWarning, stacklevel=2)
    return Plan(kind, (node,), notes)


@dataclass(frozen=True)
class _RawChecker:
    """Finds the quirks of ``rr-protocol.md`` §4 a raw backend filter would hit."""

    kind: Kind
    catalogue: Catalogue

    def filter(self, node: BackendFilter) -> list[str]:
        notes: list[str] = []
        for entry in node.items:
            match entry:
                case Junction(logic=logic, filters=filters):
                    if logic == "or" and len(self.tables(filters)) > 1:
                        notes.append(_note(entry.path, "quirk (b): an 'or' across tables is split per table and ANDed"))
                    for sub in filters:
                        notes += self.filter(sub)
                case Column(key=key, condition=condition):
                    notes += self.column(key, condition, entry.path)
        return notes

    def column(self, key: str, condition: Condition, where: tuple[PathPart, ...]) -> list[str]:
        notes = [] if self.table(key) else [_note(where, "quirk (c): unknown key (0 rows or a server error)")]
        if not isinstance(condition, Operators):
            return notes
        for test in condition.tests:
            match test:
                case KeyJunction():
                    if "." in key and any(not isinstance(v, str) for v in test.values()):
                        notes.append(_note(test.path, "quirk (a): and/or under a JSON key compares as text"))
                case UnknownOperator():
                    notes.append(_note(test.path, "quirk (c): unknown operator (0 rows or a server error)"))
        return notes

    def tables(self, branches: tuple[BackendFilter, ...]) -> set[str]:
        return {self.table(key) for branch in branches for key in column_keys(branch)} - {""}

    def table(self, key: str) -> str:
        """The table of a backend key, or ``""`` when the key is unknown."""
        return table_of(key, self.kind) if self.known(key) else ""

    def known(self, key: str) -> bool:
        if key == "run_number":
            return True
        if key.startswith("triplet_summary."):
            flag, _, status = key[len("triplet_summary.") :].rpartition(".")
            return status in STATUS_VALUES and self.has_flag(flag)
        attributes = self.catalogue.attributes()
        return any(a.path == key and (self.kind == "datasets" or a.table != "dataset") for a in attributes)

    def has_flag(self, name: str) -> bool:
        try:
            flag = self.catalogue.status_flag(name)
        except KeyError:
            return False
        return flag.online or self.kind == "datasets"


def _note(path: tuple[PathPart, ...], message: str) -> str:
    return f"{format_path('filter', path)}: {message}"
