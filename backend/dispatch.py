"""Which endpoint serves a request: a dict lookup instead of trying each route's regular expression in turn.

Fixed paths are found in one dict; a path-parameter template (``/runs/{run_number}``) is found by its method,
its number of segments and its first segment, then its other literal segments, and each ``{name}`` takes one
non-empty segment (Starlette's default ``str`` convertor). Anything else (another method, a trailing slash, a
mount) is left to the caller's router, which answers it as before.

>>> table = RouteTable({("GET", "/runs/{run_number}"): "run", ("POST", "/runs/mark_significant"): "mark"})
>>> table.find("GET", "/runs/355100"), table.find("POST", "/runs/mark_significant")
(('run', {'run_number': '355100'}), ('mark', {}))
>>> table.find("GET", "/runs/355100/") is None, table.find("POST", "/runs/355100") is None
(True, True)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic, TypeVar

from querylang.errors import ArgumentError

__all__ = ["RouteTable"]

E = TypeVar("E")


class RouteTable(Generic[E]):
    """Endpoints by ``(method, path template)``; :meth:`find` gives the one serving a request and its parameters."""

    def __init__(self, routes: Mapping[tuple[str, str], E]) -> None:
        self._exact: dict[tuple[str, str], E] = {}
        self._templates: dict[tuple[str, int, str], list[tuple[list[str], E]]] = {}
        for (method, path), endpoint in routes.items():
            segments = path.split("/")
            if "{" not in path:
                self._exact[method, path] = endpoint
            elif _supported(segments):
                self._templates.setdefault(_bucket(method, segments), []).append((segments, endpoint))
            else:
                raise ArgumentError(f"unsupported path template {path!r}: {{name}} segments after a literal one")

    def find(self, method: str, path: str) -> tuple[E, dict[str, str]] | None:
        """The endpoint for ``method`` and ``path`` with its path parameters, or ``None``."""
        endpoint = self._exact.get((method, path))
        if endpoint is not None:
            return endpoint, {}
        segments = path.split("/")
        for template, endpoint in self._templates.get(_bucket(method, segments), ()):
            params = _match(template, segments)
            if params is not None:
                return endpoint, params
        return None


def _bucket(method: str, segments: list[str]) -> tuple[str, int, str]:
    """Templates are looked up by method, number of segments and first segment (always a literal)."""
    return method, len(segments), segments[1] if len(segments) > 1 else ""


def _supported(segments: list[str]) -> bool:
    """``/literal/...`` with ``{name}`` or literal segments after the first (no convertors)."""
    return len(segments) > 2 and _literal(segments[1]) and all(_literal(s) or _parameter(s) for s in segments[2:])


def _literal(segment: str) -> bool:
    return "{" not in segment and "}" not in segment


def _parameter(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}") and _literal(segment[1:-1]) and ":" not in segment


def _match(template: list[str], segments: list[str]) -> dict[str, str] | None:
    params: dict[str, str] = {}
    for want, got in zip(template, segments, strict=True):
        if want.startswith("{"):
            if not got:
                return None
            params[want[1:-1]] = got
        elif want != got:
            return None
    return params
