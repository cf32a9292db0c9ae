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


def public_filters(attribute: str) -> Any:
    """The ``cmsdials`` 2.4.1 filter class of a ``Dials`` attribute (``h1d`` → ``LumisectionHistogram1DFilters``)."""
    from cmsdials import filters as f

    return {
        "dataset_index": f.DatasetIndexFilters,
        "file_index": f.FileIndexFilters,
        "run": f.RunFilters,
        "lumi": f.LumisectionFilters,
        "h1d": f.LumisectionHistogram1DFilters,
        "h2d": f.LumisectionHistogram2DFilters,
        "mes": f.MEFilters,
        "ml_models_index": f.MLModelsIndexFilters,
        "ml_bad_lumis": f.MLBadLumisectionFilters,
    }[attribute]
