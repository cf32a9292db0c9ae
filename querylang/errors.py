"""The typed errors of querylang: every one names where in the input it happened.

>>> err = FilterError("unknown attribute", path=("hlt_kye",), value="x", allowed="attribute names",
...                   suggestions=["hlt_key"])
>>> print(err)
filter["hlt_kye"]: unknown attribute; got 'x'; allowed: attribute names; did you mean 'hlt_key'?
>>> isinstance(err, ValueError)
True
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["FilterError", "QueryLangError", "RuleError", "format_path"]

PathPart = str | int


def format_path(root: str, path: Sequence[PathPart]) -> str:
    """Render a path inside a nested structure the way a Python user would index it.

    >>> format_path("filter", ["run_number", "and", 1])
    'filter["run_number"]["and"][1]'
    """
    return root + "".join(f"[{p}]" if isinstance(p, int) else f'["{p}"]' for p in path)


class QueryLangError(ValueError):
    """Base of querylang's errors: a message plus where it happened, the bad value and what is allowed."""

    root = "input"
    _MISSING = object()

    def __init__(
        self,
        message: str,
        *,
        path: Sequence[PathPart] = (),
        value: object = _MISSING,
        allowed: str | None = None,
        suggestions: Sequence[str] = (),
    ) -> None:
        self.message = message
        self.path: tuple[PathPart, ...] = tuple(path)
        self.value = None if value is self._MISSING else value
        self.has_value = value is not self._MISSING
        self.allowed = allowed
        self.suggestions: tuple[str, ...] = tuple(suggestions)
        super().__init__(self._render())

    @property
    def location(self) -> str:
        """The path rendered as an index expression, e.g. ``filter["run_number"]["and"][1]``."""
        return format_path(self.root, self.path)

    def _render(self) -> str:
        parts = [f"{self.location}: {self.message}"]
        if self.has_value:
            parts.append(f"got {self.value!r}")
        if self.allowed:
            parts.append(f"allowed: {self.allowed}")
        if self.suggestions:
            parts.append("did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?")
        return "; ".join(parts)


class FilterError(QueryLangError):
    """An invalid filter, raised before anything is sent to a service."""

    root = "filter"


class RuleError(QueryLangError):
    """An invalid json-logic rule, or an error json-logic-js itself would throw while evaluating one."""

    root = "rule"
