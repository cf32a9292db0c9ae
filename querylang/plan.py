"""The compiled form of a filter: a :class:`Plan` of backend filters whose union is the answer.

One backend filter is a :class:`~querylang.backend_filter.BackendFilter` node; its wire JSON (the service's
grammar, ``rr-protocol.md`` §4) is derived from it. Most filters compile to a plan of exactly one; an ``or``
across tables compiles to several (the client sends each and unions the rows); a filter that can match nothing
(``{"run_number": []}``) compiles to none, and no request is needed.

>>> from querylang.backend_filter import from_json
>>> plan = Plan("runs", (from_json({"run_number": {">": 309000}}),))
>>> plan.to_json()
'{"kind": "runs", "filters": [{"run_number": {">": 309000}}], "warnings": []}'
>>> Plan("runs", ()).matches_nothing
True
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from querylang.backend_filter import BackendFilter
from querylang.errors import ArgumentError, ArgumentTypeError

__all__ = ["Kind", "Plan"]

#: What a listing lists: the one alias, used by the compiler, the client and the backend's SQL.
Kind = Literal["runs", "datasets"]


@dataclass(frozen=True)
class Plan:
    """``kind`` (runs or datasets), backend filter ``nodes`` (union semantics) and the ``warnings`` raised on the
    way; :attr:`filters` is their wire JSON."""

    kind: Kind
    nodes: tuple[BackendFilter, ...]
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ("runs", "datasets"):
            raise ArgumentError(f"kind must be 'runs' or 'datasets', not {self.kind!r}")
        if not isinstance(self.nodes, tuple) or not all(isinstance(n, BackendFilter) for n in self.nodes):
            raise ArgumentTypeError("Plan.nodes must be a tuple of BackendFilter nodes")
        if not isinstance(self.warnings, tuple) or not all(isinstance(w, str) for w in self.warnings):
            raise ArgumentTypeError("Plan.warnings must be a tuple of strings")

    @property
    def matches_nothing(self) -> bool:
        """True when the plan has no filter: the answer is empty without asking the service."""
        return not self.nodes

    @property
    def filters(self) -> tuple[dict[str, Any], ...]:
        """The backend filters as the service's JSON (fresh dicts on every access)."""
        return tuple(node.to_json() for node in self.nodes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"kind": ..., "filters": [...], "warnings": [...]}``."""
        return {"kind": self.kind, "filters": list(self.filters), "warnings": list(self.warnings)}

    def to_json(self, *, indent: int | None = None) -> str:
        """The plan as JSON text (see :meth:`to_dict`)."""
        return json.dumps(self.to_dict(), indent=indent)
