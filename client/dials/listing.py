"""Fetching a DIALS plan: every request's cursor pages, the union's branches concurrently, as a sans-I/O
operation of :mod:`client.engine` (the same code under the sync and the async client).

Each round sends the next page of every unfinished branch in one :class:`~client.engine.Batch`. Rows pass the
branch's client check, then the union is deduplicated on the resource key and sorted by it. ``max_pages``
bounds the pages of each branch fetched by this call; the result's ``resume_from`` then continues the
listing. If a page fails, :class:`~client.errors.PartialResultError` carries the rows so far and a
``resume_from`` that refetches only from the failed pages on. ``progress(pages_done, pages_known)`` is called as
each page arrives; DIALS pages carry no count, so every unfinished branch counts one more page until it ends.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from client.engine import Batch, Operation
from client.errors import ArgumentError, PartialResultError, RunQLError, ServiceError
from client.progress import Progress, RequestCounter
from client.transport import Call, Reply
from querylang.dials import DialsPlan, DialsRequest

__all__ = ["DialsListing", "DialsResume", "fetch_plan"]

_DONE = "done"


@dataclass(frozen=True)
class DialsResume:
    """Where a listing stopped: per branch the next cursor (``None``: not started, ``"done"``), rows so far."""

    fingerprint: str
    cursors: tuple[str | None, ...]
    rows: tuple[dict[str, Any], ...]

    def __repr__(self) -> str:
        pending = sum(c != _DONE for c in self.cursors)
        return f"DialsResume({len(self.rows)} rows, {pending} branch(es) to continue)"


@dataclass(frozen=True)
class DialsListing:
    """The union's rows (wire dicts, key order) and, if ``max_pages`` stopped it early, how to continue."""

    rows: list[dict[str, Any]]
    resume_from: DialsResume | None
    pages: int


def _fingerprint(plan: DialsPlan) -> str:
    return repr([(plan.resource.name, r.params) for r in plan.requests])


def _call(plan: DialsPlan, request: DialsRequest, cursor: str | None, page_size: int) -> Call:
    params = list(request.params)
    if plan.resource.paginated:
        params.append(("page_size", str(page_size)))
        if cursor is not None:
            params.append(("next_token", cursor))
    query = urllib.parse.urlencode(params)
    return Call("GET", f"api/v1/{plan.resource.route}" + (f"?{query}" if query else ""))


def _next_token(url: object) -> str:
    if not isinstance(url, str):
        return _DONE
    tokens = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("next_token")
    return tokens[0] if tokens else _DONE


def _page(call: Call, reply: Reply) -> tuple[list[Any], str]:
    data = reply.data
    if isinstance(data, list):
        return data, _DONE
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        return data["results"], _next_token(data.get("next"))
    raise ServiceError("a DIALS list reply without 'results'", status=reply.status, route=call.route)


def fetch_plan(
    plan: DialsPlan,
    *,
    page_size: int = 500,
    max_pages: int | None = None,
    resume_from: DialsResume | None = None,
    progress: Progress | None = None,
) -> Operation[DialsListing]:
    """The operation fetching ``plan`` (see the module docstring)."""
    fingerprint = _fingerprint(plan)
    if resume_from is not None and resume_from.fingerprint != fingerprint:
        raise ArgumentError("resume_from belongs to another DIALS listing (other resource or filter)")
    cursors: list[str | None] = list(resume_from.cursors) if resume_from else [None] * len(plan.requests)
    rows = {_key(plan, r): r for r in (resume_from.rows if resume_from else ())}
    pages = [0] * len(plan.requests)
    total = 0
    while True:
        active = [i for i, c in enumerate(cursors) if c != _DONE and (max_pages is None or pages[i] < max_pages)]
        if not active:
            break
        calls = [_call(plan, plan.requests[i], cursors[i], page_size) for i in active]
        counter = RequestCounter(progress, total=total + len(active), done=total)
        outcomes: Sequence[Any] = yield Batch(calls, parse=_page, on_each=counter.tick)
        failures = [o for o in outcomes if isinstance(o, RunQLError)]
        for i, outcome in zip(active, outcomes, strict=True):
            if isinstance(outcome, RunQLError):
                continue
            results, cursors[i] = outcome
            pages[i] += 1
            total += 1
            request = plan.requests[i]
            rows.update((_key(plan, r), r) for r in results if request.keeps(r))
        if failures:
            resume = DialsResume(fingerprint, tuple(cursors), tuple(rows[k] for k in sorted(rows)))
            raise PartialResultError(
                f"DIALS {plan.resource.name}: {failures[0]}",
                rows=list(resume.rows),
                resume_from=resume,
                missing_pages=len(failures),
            ) from failures[0]
    ordered = [rows[k] for k in sorted(rows)]
    unfinished = any(c != _DONE for c in cursors)
    rest = DialsResume(fingerprint, tuple(cursors), tuple(ordered)) if unfinished else None
    return DialsListing(ordered, rest, total)


def _key(plan: DialsPlan, row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row.get(k) for k in plan.resource.key)
