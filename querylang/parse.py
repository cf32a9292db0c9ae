"""User filter dict → validated AST (:mod:`querylang.ast`): the grammar users write, checked strictly.

The grammar, at any depth (a *filter* is a dict; a *value spec* is what follows an attribute name):

- filter: ``{key: value spec, ...}`` (keys ANDed), ``{"and": [filter, ...]}``, ``{"or": [filter, ...]}``,
  ``{"not": filter}``; ``{}`` matches everything.
- value spec: a bare value (equality), a bare list (membership; ``[]`` matches nothing), or an operator object
  whose operators are ANDed: ``=``, ``<>``, ``<``, ``>``, ``<=``, ``>=``, ``like``, ``notlike``,
  ``in``/``notin`` (a list), ``and``/``or`` (a list of value specs), ``not`` (a value spec).
- operators by type: number and date ``= <> < > <= >= in notin``; string ``= <> like notlike in notin``;
  boolean ``= <>``; list (``components``, compared as its stored JSON text) ``like notlike``.
- status flags ``<workspace>-<column>``: a status (case-insensitive), a list of statuses or
  ``{"in": [...]}`` / ``{"or": [...]}`` (any of), ``{"=": s}``, ``{"not": ...}``, ``{"and": [...]}``. A test
  means "at least one lumisection has that status"; ``not`` means "none has" (an absent count is 0).
  ``<>``/``notin`` are refused on flags because "not BAD" is ambiguous (some lumisection not BAD, or none BAD?).
- dates: ISO-8601 strings (``2018-05-01``, ``2018-05-01T12:00:00+02:00``, ``...Z``), ``datetime`` or ``date``;
  normalised to the stored form ``YYYY-MM-DDTHH:MM:SSZ`` in UTC (naive values are taken as UTC; fractions of a
  second are refused because stored dates have whole seconds).
- keys: catalogue names (``hlt_key``); backend keys copied from the web UI are accepted and resolved through
  the catalogue (``oms_attributes.hlt_key``, ``rr_attributes.class``, for datasets ``name`` and
  ``dataset_attributes.global_state``); ``triplet_summary.<flag>.<STATUS>`` is a lumisection count (a number,
  absent = 0). Run filters take online flags only; dataset filters online and offline flags plus
  ``dataset_name``, ``appeared_in``, ``global_state`` and ``<ws>_state``.
- unknown but well-formed ``<ws>-<col>`` flags: an error with suggestions, or with ``unknown_flags="warn"`` an
  :class:`UnknownFlagWarning` and the flag passed through as ``triplet_summary.<ws>-<col>.<STATUS>``.

Errors are :class:`~querylang.errors.FilterError` with the path, the value, what is allowed and a
did-you-mean; a filter nested deeper than :data:`~querylang.limits.MAX_DEPTH` levels, or holding a string that is
not valid Unicode, is one too. Empty ``and``/``or`` lists and empty operator objects are errors (their intent is
unclear); ``null`` is never a value. The caller's dict is only read.

>>> node = parse_filter({"run_number": {">": 309000, "<": 310000}, "dt-dt": "good"})
>>> [type(child).__name__ for child in node.children], node.children[1].statuses
(['And', 'StatusTest'], ('GOOD',))
>>> parse_filter({"dt": "GOOD"})
Traceback (most recent call last):
...
querylang.errors.FilterError: filter["dt"]: unknown attribute; got 'dt'; allowed: an attribute name \
(see querylang.default_catalogue()), a status flag '<workspace>-<column>', or and/or/not; did you mean 'dt-dt'?
"""

from __future__ import annotations

import datetime as dt
import numbers
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from querylang.ast import (
    COMPARISON_OPERATORS,
    OPERATORS_BY_TYPE,
    And,
    Comparison,
    Membership,
    Node,
    Not,
    Or,
    Path,
    Scalar,
    StatusTest,
)
from querylang.catalogue import STATUS_VALUES, Attribute, AttrType, Catalogue, Owner, StatusFlag, default_catalogue
from querylang.errors import ArgumentError, FilterError, format_path
from querylang.limits import check_nesting
from querylang.plan import Kind

__all__ = ["Kind", "UnknownFlagWarning", "UnknownFlags", "parse_filter", "parse_filter_and_warnings"]


UnknownFlags = Literal["error", "warn"]
_Target = Attribute | StatusFlag


class UnknownFlagWarning(UserWarning):
    """An unknown but well-formed ``<ws>-<col>`` flag was passed through (``unknown_flags="warn"``)."""


_CONNECTIVES = ("and", "or", "not")
_MEMBERSHIP = ("in", "notin")
_STATUS_OPERATORS = ("=", "in", "or", "and", "not")
_OPERATOR_HINTS = {"!=": "<>", "==": "=", "=<": "<=", "=>": ">=", "nin": "notin", "not in": "notin"}
_OPERATOR_HINTS |= {"not_in": "notin", "ilike": "like", "not like": "notlike", "not_like": "notlike"}
_FLAG_NAME = re.compile(r"[A-Za-z0-9_]+-[A-Za-z0-9_]+")
_ISO_DATE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|z|[+-]\d{2}:?\d{2})?)?"
)
_KEY_ALLOWED = (
    "an attribute name (see querylang.default_catalogue()), a status flag '<workspace>-<column>', or and/or/not"
)


def parse_filter(
    filter: object,
    *,
    kind: Kind = "runs",
    unknown_flags: UnknownFlags = "error",
    catalogue: Catalogue | None = None,
) -> Node:
    """Parse and validate a user filter into an AST; :class:`FilterError` if it is invalid.

    >>> parse_filter({"class": {"in": ["Cosmics18", "Collisions18"]}}).values
    ('Cosmics18', 'Collisions18')
    """
    node, notes = parse_filter_and_warnings(filter, kind=kind, unknown_flags=unknown_flags, catalogue=catalogue)
    for note in notes:
        warnings.warn(note, UnknownFlagWarning, stacklevel=2)
    return node


def parse_filter_and_warnings(
    filter: object,
    *,
    kind: Kind = "runs",
    unknown_flags: UnknownFlags = "error",
    catalogue: Catalogue | None = None,
) -> tuple[Node, tuple[str, ...]]:
    """Like :func:`parse_filter`, but return the warnings' messages instead of emitting them."""
    check_options(kind, unknown_flags)
    check_nesting(filter, FilterError)
    parser = _Parser(kind, unknown_flags, catalogue or default_catalogue())
    return parser.filter(filter, ()), tuple(parser.notes)


def check_options(kind: object, unknown_flags: object = "error") -> None:
    """``ValueError`` unless ``kind`` is runs/datasets and ``unknown_flags`` is error/warn."""
    if kind not in ("runs", "datasets"):
        raise ArgumentError(f"kind must be 'runs' or 'datasets', not {kind!r}")
    if unknown_flags not in ("error", "warn"):
        raise ArgumentError(f"unknown_flags must be 'error' or 'warn', not {unknown_flags!r}")


def normalise_date(value: object, path: Path = ()) -> str:
    """An ISO-8601 string, ``datetime`` or ``date`` in the stored form (UTC, whole seconds).

    >>> normalise_date("2018-05-01T14:00:00+02:00")
    '2018-05-01T12:00:00Z'
    >>> normalise_date(dt.date(2018, 5, 1))
    '2018-05-01T00:00:00Z'
    """
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        moment = _parse_iso(value, path)
    else:
        raise FilterError(
            "a date must be an ISO-8601 string, a datetime or a date",
            path=path,
            value=value,
            allowed="e.g. '2018-05-01', '2018-05-01T12:00:00Z', datetime.date(2018, 5, 1)",
        )
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc)
    if moment.microsecond:
        raise FilterError("stored dates have whole seconds; drop the fraction", path=path, value=value)
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:{moment.minute:02d}:"
        f"{moment.second:02d}Z"
    )


def _parse_iso(text: str, path: Path) -> dt.datetime:
    match = _ISO_DATE.fullmatch(text)
    allowed = "YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS[.ffffff]] with optional Z or ±HH:MM"
    if match is None:
        raise FilterError("malformed date", path=path, value=text, allowed=allowed)
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        tz = None if zone is None else _zone(zone)
        return dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0").ljust(6, "0")),
            tzinfo=tz,
        )
    except ValueError as exc:
        raise FilterError(f"invalid date ({exc})", path=path, value=text, allowed=allowed) from None


def _zone(zone: str) -> dt.timezone:
    if zone in ("Z", "z"):
        return dt.timezone.utc
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    return dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


@dataclass
class _Parser:
    """One parse: the options, the catalogue, and the warnings collected so far."""

    kind: Kind
    unknown_flags: UnknownFlags
    catalogue: Catalogue
    notes: list[str] = field(default_factory=list)

    # -- filters ----------------------------------------------------------------------------------------
    def filter(self, obj: object, path: Path) -> Node:
        if not isinstance(obj, Mapping):
            raise FilterError(
                "a filter must be a dict of attribute names to conditions",
                path=path,
                value=obj,
                allowed="a dict such as {'run_number': {'>': 355000}, 'dt-dt': 'GOOD'}",
            )
        parts = tuple(self.item(key, spec, (*path, key)) for key, spec in obj.items())
        return parts[0] if len(parts) == 1 else And(parts, path)

    def item(self, key: object, spec: object, path: Path) -> Node:
        if not isinstance(key, str):
            raise FilterError("filter keys must be strings", path=path[:-1], value=key, allowed=_KEY_ALLOWED)
        if key in ("and", "or"):
            items = _nonempty_list(spec, key, path)
            children = tuple(self.filter(sub, (*path, i)) for i, sub in enumerate(items))
            return And(children, path) if key == "and" else Or(children, path)
        if key == "not":
            return Not(self.filter(spec, path), path)
        target = self.resolve(key, path)
        if isinstance(target, StatusFlag):
            return self.status_spec(target, spec, path)
        return self.value_spec(target, spec, path)

    # -- value specs of plain attributes ----------------------------------------------------------------
    def value_spec(self, attribute: Attribute, spec: object, path: Path) -> Node:
        if isinstance(spec, Mapping):
            return self.operators(attribute, spec, path)
        if isinstance(spec, (list, tuple)):
            return self.membership(attribute, spec, False, path)
        return Comparison(attribute, "=", self.literal(attribute, "=", spec, path), path)

    def operators(self, attribute: Attribute, spec: Mapping[object, object], path: Path) -> Node:
        allowed = _operators_allowed(attribute)
        if not spec:
            raise FilterError("empty operator object", path=path, value={}, allowed=allowed)
        parts = tuple(self.operator(attribute, op, arg, (*path, str(op)), allowed) for op, arg in spec.items())
        return parts[0] if len(parts) == 1 else And(parts, path)

    def operator(self, attribute: Attribute, op: object, arg: object, path: Path, allowed: str) -> Node:
        if op in ("and", "or"):
            items = _nonempty_list(arg, str(op), path)
            children = tuple(self.value_spec(attribute, sub, (*path, i)) for i, sub in enumerate(items))
            return And(children, path) if op == "and" else Or(children, path)
        if op == "not":
            return Not(self.value_spec(attribute, arg, path), path)
        if op in _MEMBERSHIP:
            if not isinstance(arg, (list, tuple)):
                raise FilterError(f"{op!r} needs a list of values", path=path, value=arg)
            return self.membership(attribute, arg, op == "notin", path)
        if isinstance(op, str) and op in COMPARISON_OPERATORS:
            return Comparison(attribute, op, self.literal(attribute, op, arg, path), path)
        raise _unknown_operator(op, path[:-1], allowed, f"{attribute.type.value} attribute {attribute.name!r}")

    def membership(self, attribute: Attribute, values: Sequence[object], negated: bool, path: Path) -> Membership:
        literals = tuple(self.literal(attribute, "in", v, (*path, i)) for i, v in enumerate(values))
        return Membership(attribute, literals, negated, path)

    def literal(self, attribute: Attribute, op: str, value: object, path: Path) -> Scalar:
        """``value`` as a literal of ``attribute``'s type (type errors are left to the AST node)."""
        if isinstance(value, (Mapping, list, tuple, set, frozenset)):
            hint = " (use 'in' for a list of values)" if isinstance(value, (list, tuple, set)) else ""
            raise FilterError(f"operator {op!r} takes a single value{hint}", path=path, value=value)
        if attribute.type is AttrType.DATE and not isinstance(value, bool):
            return normalise_date(value, path)
        if isinstance(value, numbers.Integral) and not isinstance(value, (bool, int)):
            return int(value)  # numpy and friends
        if isinstance(value, numbers.Real) and not isinstance(value, (bool, int, float)):
            return float(value)
        if value is None:
            raise FilterError(
                "null is not a value (a missing attribute matches neither a comparison nor its negation)",
                path=path,
                value=value,
                allowed=_literal_allowed(attribute),
            )
        if not isinstance(value, (str, int, float)):
            raise FilterError(
                f"{attribute.type.value} attribute {attribute.name!r} cannot be compared with this value",
                path=path,
                value=value,
                allowed=_literal_allowed(attribute),
            )
        return value

    # -- status flags -----------------------------------------------------------------------------------
    def status_spec(self, flag: StatusFlag, spec: object, path: Path) -> Node:
        if isinstance(spec, str):
            return StatusTest(flag, (self.status(spec, path),), path=path)
        if isinstance(spec, (list, tuple)):
            return StatusTest(flag, tuple(self.status(s, (*path, i)) for i, s in enumerate(spec)), path=path)
        if isinstance(spec, Mapping):
            if not spec:
                raise FilterError("empty operator object", path=path, value={}, allowed=_status_ops_allowed())
            parts = tuple(self.status_operator(flag, op, arg, (*path, str(op))) for op, arg in spec.items())
            return parts[0] if len(parts) == 1 else And(parts, path)
        what = "a boolean" if isinstance(spec, bool) else "this value"
        raise FilterError(
            f"status flag {flag.name!r} takes a status, not {what}",
            path=path,
            value=spec,
            allowed=", ".join(STATUS_VALUES) + " (or a list of them: any of)",
            suggestions=["GOOD"] if spec is True else [],
        )

    def status_operator(self, flag: StatusFlag, op: object, arg: object, path: Path) -> Node:
        if op == "=":
            if not isinstance(arg, str):
                raise FilterError("'=' on a status flag takes one status", path=path, value=arg)
            return StatusTest(flag, (self.status(arg, path),), path=path)
        if op == "in":
            if not isinstance(arg, (list, tuple)):
                raise FilterError("'in' needs a list of statuses", path=path, value=arg)
            return StatusTest(flag, tuple(self.status(s, (*path, i)) for i, s in enumerate(arg)), path=path)
        if op in ("and", "or"):
            items = _nonempty_list(arg, str(op), path)
            children = tuple(self.status_spec(flag, sub, (*path, i)) for i, sub in enumerate(items))
            return And(children, path) if op == "and" else Or(children, path)
        if op == "not":
            return Not(self.status_spec(flag, arg, path), path)
        if op in ("<>", "notin"):
            raise FilterError(
                f"{op!r} is ambiguous on a status flag: write {{'not': ...}} for 'no lumisection has the status'",
                path=path[:-1],
                value=op,
                allowed=_status_ops_allowed(),
                suggestions=["not"],
            )
        raise _unknown_operator(op, path[:-1], _status_ops_allowed(), f"status flag {flag.name!r}")

    def status(self, value: object, path: Path) -> str:
        if not isinstance(value, str):
            raise FilterError("a status must be a string", path=path, value=value, allowed=", ".join(STATUS_VALUES))
        status = value.upper()
        if status not in STATUS_VALUES:
            raise FilterError(
                "unknown status",
                path=path,
                value=value,
                allowed=", ".join(STATUS_VALUES),
                suggestions=Catalogue.suggest(value, STATUS_VALUES),
            )
        return status

    # -- keys -------------------------------------------------------------------------------------------
    def resolve(self, key: str, path: Path) -> _Target:
        """The attribute or flag ``key`` names for this kind of filter, or a :class:`FilterError`."""
        attribute = self.attribute(key)
        if attribute is not None:
            return attribute
        flag = self.known_flag(key, path)
        if flag is not None:
            return flag
        if "." in key or key in self.backend_paths():
            return self.backend_key(key, path)
        if key in self.catalogue.dataset_keys():
            raise FilterError(
                f"{key!r} is a dataset attribute: it is allowed in dataset filters only",
                path=path,
                value=key,
                allowed="run attributes and online status flags (use a dataset query for dataset attributes)",
            )
        if _FLAG_NAME.fullmatch(key):
            return self.unknown_flag(key, path)
        raise FilterError(
            "unknown attribute", path=path, value=key, allowed=_KEY_ALLOWED, suggestions=self.suggest(key)
        )

    def attribute(self, key: str) -> Attribute | None:
        try:
            if self.kind == "datasets":
                return self.catalogue.dataset_attribute(key)
            return self.catalogue.run_attribute(key)
        except KeyError:
            return None

    def known_flag(self, key: str, path: Path) -> StatusFlag | None:
        try:
            flag = self.catalogue.status_flag(key)
        except KeyError:
            return None
        if self.kind == "runs" and not flag.online:
            raise FilterError(
                f"status flag {key!r} exists only in offline datasets; run filters take online flags",
                path=path,
                value=key,
                allowed="online status flags (use a dataset query for offline flags)",
                suggestions=Catalogue.suggest(key, [f.name for f in self.catalogue.flags(online=True)]),
            )
        return flag

    def unknown_flag(self, key: str, path: Path) -> StatusFlag:
        suggestions = Catalogue.suggest(key, self.flag_names())
        if self.unknown_flags == "error":
            raise FilterError(
                "unknown status flag",
                path=path,
                value=key,
                allowed="a status flag of the catalogue (unknown_flags='warn' passes unknown ones through)",
                suggestions=suggestions,
            )
        hint = f"; did you mean {' or '.join(map(repr, suggestions))}?" if suggestions else ""
        self.notes.append(
            f"{format_path('filter', path)}: unknown status flag {key!r} passed through as "
            f"'triplet_summary.{key}.<STATUS>'{hint}"
        )
        workspace, column = key.split("-", 1)
        return StatusFlag(workspace, column, online=True, offline=self.kind == "datasets")

    def backend_key(self, key: str, path: Path) -> Attribute:
        """A backend key copied from the web UI (``oms_attributes.hlt_key``), resolved via the catalogue."""
        if key.startswith("triplet_summary."):
            return self.count_key(key, path)
        attribute = self.backend_paths().get(key)
        if attribute is None:
            candidates = [*self.backend_paths(), "triplet_summary.<flag>.<STATUS>"]
            raise FilterError(
                "unknown backend key",
                path=path,
                value=key,
                allowed="backend keys such as oms_attributes.hlt_key, rr_attributes.class, triplet_summary.dt-dt.GOOD",
                suggestions=Catalogue.suggest(key, candidates),
            )
        return attribute

    def count_key(self, key: str, path: Path) -> Attribute:
        flag_name, dot, status = key[len("triplet_summary.") :].rpartition(".")
        flag = self.known_flag(flag_name, path) if dot else None
        if flag is None and dot and _FLAG_NAME.fullmatch(flag_name):
            flag = self.unknown_flag(flag_name, path)
        if flag is None:
            raise FilterError(
                "malformed status count key",
                path=path,
                value=key,
                allowed="triplet_summary.<workspace>-<column>.<STATUS>",
                suggestions=Catalogue.suggest(flag_name, self.flag_names()),
            )
        counted = flag.path(self.status(status, path))
        return Attribute(counted, AttrType.NUMBER, Owner.TRIPLET, counted)

    def backend_paths(self) -> dict[str, Attribute]:
        keys = self.catalogue.dataset_keys() if self.kind == "datasets" else self.catalogue.run_keys()
        resolved = [self.attribute(k) for k in keys]
        return {a.path: a for a in resolved if a is not None}

    # -- suggestions ------------------------------------------------------------------------------------
    def flag_names(self) -> list[str]:
        """Live flag names this kind of filter takes (aliases are accepted, never suggested)."""
        return [f.name for f in self.catalogue.flags(online=True if self.kind == "runs" else None)]

    def suggest(self, key: str) -> list[str]:
        """Did-you-mean for an unknown key; a bare workspace (``dt``) suggests its flags (``dt-dt``)."""
        flags = self.flag_names()
        if key.lower() in self.catalogue.workspaces():
            workspace = key.lower()
            own = [f for f in flags if f.startswith(f"{workspace}-")]
            return sorted(own, key=lambda f: f != f"{workspace}-{workspace}")[:3]
        keys = self.catalogue.dataset_keys() if self.kind == "datasets" else self.catalogue.run_keys()
        return Catalogue.suggest(key, [*keys, *flags, *_CONNECTIVES])


def _nonempty_list(value: object, name: str, path: Path) -> Sequence[object]:
    if not isinstance(value, (list, tuple)):
        raise FilterError(f"{name!r} needs a list", path=path, value=value, allowed=f"a non-empty list after {name!r}")
    if not value:
        raise FilterError(
            f"an empty {name!r} list is ambiguous",
            path=path,
            value=[],
            allowed="a non-empty list ({} matches everything, {'run_number': []} nothing)",
        )
    return value


def _unknown_operator(op: object, path: Path, allowed: str, target: str) -> FilterError:
    """The error for an operator that is unknown, or known but not allowed on ``target``."""
    name = str(op)
    known = (*COMPARISON_OPERATORS, *_MEMBERSHIP, *_CONNECTIVES)
    message = f"operator {name!r} is not allowed on {target}" if name in known else "unknown operator"
    hint = _OPERATOR_HINTS.get(name.lower())
    suggestions = [hint] if hint else Catalogue.suggest(name, allowed.split(", "))
    suggestions = [s for s in suggestions if s in allowed.split(", ") and s != name]
    return FilterError(message, path=(*path, name), value=op, allowed=allowed, suggestions=suggestions)


def _operators_allowed(attribute: Attribute) -> str:
    extra = _MEMBERSHIP if attribute.type in (AttrType.NUMBER, AttrType.DATE, AttrType.STRING) else ()
    return ", ".join([*OPERATORS_BY_TYPE[attribute.type], *extra, *_CONNECTIVES])


def _status_ops_allowed() -> str:
    return ", ".join(_STATUS_OPERATORS)


def _literal_allowed(attribute: Attribute) -> str:
    return {
        AttrType.NUMBER: "a finite number (not a boolean)",
        AttrType.BOOLEAN: "true or false",
        AttrType.DATE: "an ISO-8601 string, a datetime or a date",
    }.get(attribute.type, "a string")
