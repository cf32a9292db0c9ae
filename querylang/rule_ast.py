"""The nodes of a good-run-list rule and the namespace its variables come from (``rr-protocol.md`` §8).

A parsed rule (:func:`querylang.rule_checks.parse_rule`) is a tree of :class:`Literal`, :class:`Variable`,
:class:`Operation` and :class:`ArrayNode`. Variables are resolved against the golden-JSON namespace
(:func:`namespace`): each one knows where it lives (run, dataset, lumisection, or the item of a
map/filter/...), its type, and for run and dataset variables its runql filter key.

>>> variable = resolve_variable("run.oms.energy", ())
>>> variable.scope, variable.type.value, variable.key
('run', 'number', 'energy')
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from querylang.catalogue import (
    OMS_LUMISECTION_BITS,
    OMS_LUMISECTION_VALUES,
    AttrType,
    Catalogue,
    Owner,
    default_catalogue,
)
from querylang.errors import ArgumentError, PathPart, RuleError
from querylang.jsonlogic import OPERATORS

__all__ = [
    "COMPARISONS",
    "ArrayNode",
    "Literal",
    "Operation",
    "Path",
    "RuleNode",
    "Scope",
    "Variable",
    "compared",
    "namespace",
    "resolve_variable",
    "rule_variables",
    "walk",
]

Path = tuple[PathPart, ...]
#: Where a variable lives: the run, its dataset, the lumisection, or the item of a map/filter/reduce/all/none/some.
Scope = typing.Literal["run", "dataset", "lumisection", "item"]

#: The json-logic comparison operators.
COMPARISONS: Final = frozenset({"==", "===", "!=", "!==", "<", "<=", ">", ">="})
_PREFIXES: Final = {
    "run.oms.": "run.oms.<OMS run attribute>",
    "run.rr.": "run.rr.<RR run attribute>",
    "dataset.": "dataset.name or dataset.<dataset attribute>",
    "lumisection.oms.": "lumisection.oms.<bit | prescale_index | prescale_name | recorded | delivered>",
    "lumisection.rr.": "lumisection.rr.<workspace>-<column>",
}


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


def compared(node: Operation) -> tuple[RuleNode, ...]:
    """The arguments a comparison reads: three for the between forms of ``<``/``<=``, else two."""
    return node.args[: 3 if node.operator in ("<", "<=") else 2]


# -- the namespace of §8 ---------------------------------------------------------------------------------------
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


def resolve_variable(name: str, path: Path, catalogue: Catalogue | None = None) -> Variable:
    """The typed variable ``name`` names, or a :class:`RuleError` with suggestions."""
    cat = catalogue or default_catalogue()
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
    allowed = _PREFIXES.get(prefix, "run.*, dataset.*, lumisection.* (see querylang.rule_ast.namespace())")
    return RuleError(
        "unknown variable", path=path, value=name, allowed=allowed, suggestions=cat.suggest(name, pool, limit=1)
    )
