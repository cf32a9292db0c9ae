"""Frozen filter nodes, validated on construction: what a user filter means, before any backend concern.

A filter is a tree of :class:`And`, :class:`Or` and :class:`Not` over three kinds of leaves:
:class:`Comparison` (``attribute op value``), :class:`Membership` (``attribute in values``) and
:class:`StatusTest` (``flag has a lumisection with one of these statuses``). Leaves hold *normalised*
values (dates are already ``YYYY-MM-DDTHH:MM:SSZ`` strings, statuses upper-case), and refuse values or
operators their attribute's type does not allow, so a tree that exists is a tree the compiler can compile.

``And(())`` is the filter that matches everything (what ``{}`` parses to) and ``Or(())`` the one that
matches nothing (what ``{"in": []}`` boils down to). Every node carries ``path``, where it came from in the
user's filter, for error messages; paths do not take part in equality.

NULL semantics (see docs/ARCHITECTURE.md): attributes follow SQL three-valued logic, so a comparison on a
missing or NULL attribute is *unknown* and neither it nor its negation matches. Status flags are counts of
lumisections where an absent count is 0: ``Not(StatusTest(dt, ("GOOD",)))`` matches a run whose summary has
no ``dt-dt`` entry at all. Attributes owned by :attr:`Owner.TRIPLET` (the raw count keys
``triplet_summary.<flag>.<STATUS>``) are counts with the same absent-is-0 rule.

>>> from querylang.catalogue import default_catalogue
>>> cat = default_catalogue()
>>> fill = Comparison(cat.run_attribute("fill_number"), ">", 8000)
>>> dt_good = StatusTest(cat.status_flag("dt-dt"), ("GOOD",))
>>> And((fill, Not(dt_good))).children[1].child.statuses
('GOOD',)
>>> Comparison(cat.run_attribute("significant"), "<", True)
Traceback (most recent call last):
...
querylang.errors.FilterError: filter: operator '<' is not allowed on boolean attribute 'significant'; got '<'; \
allowed: =, <>
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from querylang.catalogue import STATUS_VALUES, Attribute, AttrType, Catalogue, Owner, StatusFlag
from querylang.errors import FilterError, PathPart

__all__ = [
    "COMPARISON_OPERATORS",
    "OPERATORS_BY_TYPE",
    "STORED_DATE",
    "And",
    "Comparison",
    "Membership",
    "Node",
    "Not",
    "Or",
    "Path",
    "Scalar",
    "StatusTest",
    "is_count",
]

Path = tuple[PathPart, ...]
Scalar = str | int | float | bool

#: Every comparison operator of the backend grammar (``rr-protocol.md`` §4), in a fixed order.
COMPARISON_OPERATORS: tuple[str, ...] = ("=", "<>", "<", ">", "<=", ">=", "like", "notlike")
_ORDERED = ("=", "<>", "<", ">", "<=", ">=")
#: Comparison operators allowed per attribute type. Lists (``components``) are compared as their stored JSON
#: text, so only ``like``/``notlike`` patterns make sense on them.
OPERATORS_BY_TYPE: Mapping[AttrType, tuple[str, ...]] = {
    AttrType.NUMBER: _ORDERED,
    AttrType.DATE: _ORDERED,
    AttrType.STRING: ("=", "<>", "like", "notlike"),
    AttrType.BOOLEAN: ("=", "<>"),
    AttrType.LIST: ("like", "notlike"),
}
_MEMBERSHIP_TYPES = (AttrType.NUMBER, AttrType.DATE, AttrType.STRING)
#: The stored form of dates: ISO-8601, UTC, whole seconds. Compared as text by the service.
STORED_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_STATUS_ALLOWED = ", ".join(STATUS_VALUES)


def _check_value(attribute: Attribute, op: str, value: object, path: Path) -> None:
    """Raise :class:`FilterError` unless ``value`` is a literal of ``attribute``'s type."""
    kind = attribute.type
    if kind is AttrType.BOOLEAN:
        ok, allowed = isinstance(value, bool), "true or false"
    elif kind is AttrType.NUMBER:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        allowed = "a finite number (not a boolean)"
    elif kind is AttrType.DATE:
        ok = isinstance(value, str) and STORED_DATE.fullmatch(value) is not None
        allowed = "a date in the stored form YYYY-MM-DDTHH:MM:SSZ"
    else:
        ok, allowed = isinstance(value, str), "a string"
    if not ok:
        raise FilterError(
            f"wrong value type for {kind.value} attribute {attribute.name!r}", path=path, value=value, allowed=allowed
        )
    if attribute.choices and op in ("=", "<>") and value not in attribute.choices:
        raise FilterError(
            f"{attribute.name!r} has a fixed set of values",
            path=path,
            value=value,
            allowed=", ".join(attribute.choices),
            suggestions=Catalogue.suggest(str(value), attribute.choices),
        )


@dataclass(frozen=True)
class Comparison:
    """``attribute op value``, with ``op`` one of :data:`COMPARISON_OPERATORS` allowed for the type."""

    attribute: Attribute
    op: str
    value: Scalar
    path: Path = field(default=(), compare=False)

    def __post_init__(self) -> None:
        allowed = OPERATORS_BY_TYPE.get(self.attribute.type, ())
        if self.op not in allowed:
            raise FilterError(
                f"operator {self.op!r} is not allowed on {self.attribute.type.value} attribute {self.attribute.name!r}",
                path=self.path,
                value=self.op,
                allowed=", ".join(allowed) or "no comparison",
            )
        _check_value(self.attribute, self.op, self.value, self.path)


@dataclass(frozen=True)
class Membership:
    """``attribute in values`` (or ``not in`` when ``negated``); ``values == ()`` matches nothing."""

    attribute: Attribute
    values: tuple[Scalar, ...]
    negated: bool = False
    path: Path = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if self.attribute.type not in _MEMBERSHIP_TYPES:
            raise FilterError(
                f"'in'/'notin' is not allowed on {self.attribute.type.value} attribute {self.attribute.name!r}",
                path=self.path,
                allowed=", ".join(OPERATORS_BY_TYPE[self.attribute.type]),
            )
        if not isinstance(self.values, tuple):
            raise FilterError("membership values must be a tuple", path=self.path, value=self.values)
        for index, value in enumerate(self.values):
            _check_value(self.attribute, "=", value, (*self.path, index))


@dataclass(frozen=True)
class StatusTest:
    """``flag`` has at least one lumisection whose status is in ``statuses`` (none when ``negated``)."""

    flag: StatusFlag
    statuses: tuple[str, ...]
    negated: bool = False
    path: Path = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.statuses, tuple):
            raise FilterError("statuses must be a tuple", path=self.path, value=self.statuses)
        for status in self.statuses:
            if status not in STATUS_VALUES:
                raise FilterError(
                    f"unknown status for flag {self.flag.name!r}",
                    path=self.path,
                    value=status,
                    allowed=_STATUS_ALLOWED,
                    suggestions=Catalogue.suggest(str(status), STATUS_VALUES),
                )


@dataclass(frozen=True)
class Not:
    """The negation of ``child`` (under NULL semantics: see the module docstring)."""

    child: Node
    path: Path = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.child, _NODE_TYPES):
            raise FilterError("'not' needs a filter node", path=self.path, value=self.child)


@dataclass(frozen=True)
class And:
    """All of ``children``; ``And(())`` matches everything."""

    children: tuple[Node, ...]
    path: Path = field(default=(), compare=False)

    def __post_init__(self) -> None:
        _check_children("and", self.children, self.path)


@dataclass(frozen=True)
class Or:
    """Any of ``children``; ``Or(())`` matches nothing."""

    children: tuple[Node, ...]
    path: Path = field(default=(), compare=False)

    def __post_init__(self) -> None:
        _check_children("or", self.children, self.path)


def _check_children(name: str, children: object, path: Path) -> None:
    if not isinstance(children, tuple) or not all(isinstance(c, _NODE_TYPES) for c in children):
        raise FilterError(f"{name!r} needs a tuple of filter nodes", path=path, value=children)


Node = And | Or | Not | Comparison | Membership | StatusTest
_NODE_TYPES = (And, Or, Not, Comparison, Membership, StatusTest)


def is_count(attribute: Attribute) -> bool:
    """Whether ``attribute`` is a raw lumisection count (``triplet_summary.<flag>.<STATUS>``)."""
    return attribute.owner is Owner.TRIPLET
