"""runql's exception tree: :class:`RunQLError` is the one root; every error runql raises on purpose derives from it.

It lives here, in the lowest layer, so that querylang still imports nothing of ours; ``client.errors`` re-exports
it and draws the whole tree. Errors a caller may catch as a builtin inherit that builtin too (``FilterError`` is
a ``ValueError``, ``ArgumentTypeError`` a ``TypeError``), so ``except RunQLError`` catches every runql error while
``except ValueError`` code keeps working.

>>> err = FilterError("unknown attribute", path=("hlt_kye",), value="x", allowed="attribute names",
...                   suggestions=["hlt_key"])
>>> print(err)
filter["hlt_kye"]: unknown attribute; got 'x'; allowed: attribute names; did you mean 'hlt_key'?
>>> isinstance(err, RunQLError), isinstance(err, ValueError)
(True, True)
>>> isinstance(ArgumentTypeError("limit must be an int"), TypeError)
True
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "ArgumentError",
    "ArgumentTypeError",
    "FilterError",
    "QueryLangError",
    "RuleError",
    "RunQLError",
    "format_path",
]

PathPart = str | int


class RunQLError(Exception):
    """The root of every error runql raises on purpose (querylang, schemas, client and backend)."""


class ArgumentError(RunQLError, ValueError):
    """An argument with a value that cannot be used, e.g. ``limit=-1`` or a string with a lone surrogate."""


class ArgumentTypeError(RunQLError, TypeError):
    """An argument of the wrong type, e.g. ``run_number="1"``."""


def format_path(root: str, path: Sequence[PathPart]) -> str:
    """Render a path inside a nested structure the way a Python user would index it.

    >>> format_path("filter", ["run_number", "and", 1])
    'filter["run_number"]["and"][1]'
    """
    return root + "".join(f"[{p}]" if isinstance(p, int) else f'["{p}"]' for p in path)


class QueryLangError(RunQLError, ValueError):
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
