"""Helpers of the DIALS tests (raw HTTP, independent of both clients)."""

from __future__ import annotations

from typing import Any

import httpx


def fetch_all(http: httpx.Client, route: str, params: dict[str, Any] | None = None, **headers: str) -> list[Any]:
    """Every row of a listing, following ``next`` (raw HTTP, independent of both clients)."""
    reply = http.get(route, params={**(params or {}), "page_size": 500}, headers=headers)
    reply.raise_for_status()
    body = reply.json()
    if isinstance(body, list):
        return body
    rows = list(body["results"])
    while body["next"]:
        body = http.get(body["next"], headers=headers).json()
        rows += body["results"]
    return rows
