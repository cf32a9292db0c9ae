"""The compiled form of a filter: a :class:`Plan` of backend filters whose union is the answer.

One backend filter is a dict in the service's grammar (``rr-protocol.md`` §4). Most filters compile to a
plan of exactly one; an ``or`` across tables compiles to several (the client sends each and unions the
rows); a filter that can match nothing (``{"run_number": []}``) compiles to none, and no request is needed.

>>> plan = Plan("runs", ({"run_number": {">": 309000}},))
>>> plan.to_json()
'{"kind": "runs", "filters": [{"run_number": {">": 309000}}], "warnings": []}'
>>> Plan("runs", ()).matches_nothing
True
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any, Literal

from querylang.errors import ArgumentError, ArgumentTypeError

__all__ = ["Kind", "Plan"]

#: What a listing lists: the one alias, used by the compiler, the client and the backend's SQL.
Kind = Literal["runs", "datasets"]


@dataclass(frozen=True)
class Plan:
    """``kind`` (runs or datasets), ``filters`` (union semantics) and the ``warnings`` raised on the way.

    The filter dicts are shared, not copied: treat them as read-only (:meth:`to_dict` gives copies).
    """

    kind: Kind
    filters: tuple[dict[str, Any], ...]
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ("runs", "datasets"):
            raise ArgumentError(f"kind must be 'runs' or 'datasets', not {self.kind!r}")
        if not isinstance(self.filters, tuple) or not all(isinstance(f, dict) for f in self.filters):
            raise ArgumentTypeError("Plan.filters must be a tuple of dicts")
        if not isinstance(self.warnings, tuple) or not all(isinstance(w, str) for w in self.warnings):
            raise ArgumentTypeError("Plan.warnings must be a tuple of strings")

    @property
    def matches_nothing(self) -> bool:
        """True when the plan has no filter: the answer is empty without asking the service."""
        return not self.filters

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready deep copy: ``{"kind": ..., "filters": [...], "warnings": [...]}``."""
        return {"kind": self.kind, "filters": copy.deepcopy(list(self.filters)), "warnings": list(self.warnings)}

    def to_json(self, *, indent: int | None = None) -> str:
        """The plan as JSON text (see :meth:`to_dict`)."""
        return json.dumps(self.to_dict(), indent=indent)
