"""Listings of runs and datasets (``rr-protocol.md`` §3): the request body checked, the reply assembled as JSON text.

The rows come from :meth:`backend.store.Store.page`, rendered by SQLite's ``json_object`` straight from the
stored JSON, so a page costs no Python (de)serialisation. Listings skip deleted rows and runs without an
``online`` dataset, like the service.

>>> import json
>>> from backend.demo import generate
>>> from backend.store import Store
>>> with Store.open() as store:
...     store.load(generate(runs=30, seed=3))
...     reply = json.loads(list_page(store, "runs", {"page": 0, "page_size": 7, "filter": {}, "sortings": []}))
...     reply["count"], reply["pages"], len(reply["runs"])
(30, 5, 7)
"""

from __future__ import annotations

import json
import math
import zlib
from typing import Any

from backend.sqlfilter import FilterSqlError
from backend.store import Store
from querylang.plan import Kind

__all__ = ["BODY_KEYS", "list_page"]

#: Keys every listing body must carry.
BODY_KEYS = ("page", "page_size", "filter", "sortings")


def _page_numbers(body: dict[str, Any]) -> tuple[int, int]:
    """``page`` and ``page_size``, refused like PostgreSQL refuses a bad LIMIT or OFFSET (``page_size`` 0 is
    valid: no rows, and ``"pages": null``, JavaScript's ``ceil(count / 0)``)."""
    missing = [k for k in BODY_KEYS if k not in body]
    if missing:
        raise FilterSqlError(f"missing body keys: {', '.join(missing)} (all of {', '.join(BODY_KEYS)} are required)")
    page, size = body["page"], body["page_size"]
    for value in (size, page):
        if not isinstance(value, int) or isinstance(value, bool):
            raise FilterSqlError(f'invalid input syntax for type bigint: "{value}"')
    if size < 0:
        raise FilterSqlError("LIMIT must not be negative")
    if page < 0:
        raise FilterSqlError("OFFSET must not be negative")
    return page, size


def list_page(store: Store, target: Kind, body: object, *, quirks: bool = False) -> bytes:
    """One page of ``POST /runs_filtered_ordered`` or ``/datasets_filtered_ordered`` as JSON (UTF-8).

    With ``quirks``, requested sortings are the whole order, as on the service: ties come in an order that
    differs from one page query to the next (a shuffle seeded by the query), so rows repeat and go missing
    across pages unless the sortings end with a unique key.
    """
    if not isinstance(body, dict):
        raise FilterSqlError("the request body must be a JSON object")
    page, size = _page_numbers(body)
    tie_seed = (
        zlib.crc32(json.dumps(body, sort_keys=True, default=str).encode()) if quirks and body["sortings"] else None
    )
    count, rows = store.page(
        target, body["filter"], body["sortings"], offset=page * size, size=size, quirks=quirks, tie_seed=tie_seed
    )
    pages = math.ceil(count / size) if size else "null"
    return b'{"%s":[%s],"pages":%s,"count":%d}' % (target.encode(), b",".join(rows), str(pages).encode(), count)
