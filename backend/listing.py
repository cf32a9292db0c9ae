"""Reads of runs and datasets (``rr-protocol.md`` §3), answered as ready-made JSON text.

Rows are rendered by SQLite's ``json_object`` straight from the stored JSON, so a page costs no Python
(de)serialisation. Listings skip deleted rows and runs without an ``online`` dataset, like the service.

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

from backend.sqlfilter import FilterSqlError, Sql, compile_order, compile_where
from backend.store import Store
from querylang.plan import Kind

__all__ = ["BODY_KEYS", "dataset_json", "dataset_names", "list_page", "run_json"]

#: Keys every listing body must carry.
BODY_KEYS = ("page", "page_size", "filter", "sortings")
_MAX_OFFSET = 2**62

_RUN_OBJECT = (
    "json_object('run_number', r.run_number, 'oms_attributes', json(r.oms_attributes), "
    "'rr_attributes', json(r.rr_attributes), 'version', r.version, "
    "'deleted', json(CASE WHEN r.deleted THEN 'true' ELSE 'false' END), "
    "'DatasetTripletCache', json_object('triplet_summary', json(d.triplet_summary)))"
)
_DATASET_OBJECT = (
    "json_object('run_number', d.run_number, 'name', d.name, 'dataset_attributes', json(d.dataset_attributes), "
    "'datasets_in_gui', json(d.datasets_in_gui), 'deleted', json(CASE WHEN d.deleted THEN 'true' ELSE 'false' END), "
    "'version', d.version, "
    "'Run', json_object('rr_attributes', json(r.rr_attributes), 'oms_attributes', json(r.oms_attributes)), "
    "'DatasetTripletCache', json_object('triplet_summary', json(d.triplet_summary), "
    "'dcs_summary', json(CASE WHEN d.triplet_summary = '{}' THEN '{}' ELSE r.dcs_summary END)))"
)
_FROM = {
    "runs": "run r JOIN dataset d ON d.run_number = r.run_number AND d.name = 'online' "
    "WHERE r.deleted = 0 AND d.deleted = 0",
    "datasets": "dataset d JOIN run r ON r.run_number = d.run_number WHERE d.deleted = 0 AND r.deleted = 0",
}
_OBJECT = {"runs": _RUN_OBJECT, "datasets": _DATASET_OBJECT}
#: The row key a page is first selected by (cheap to sort), and how a page's keys are joined back to their rows.
_KEY = {"runs": "r.run_number", "datasets": "d.dataset_id"}
_BY_KEY = {
    "runs": "json_each(?) AS page JOIN run r ON r.run_number = page.value "
    "JOIN dataset d ON d.run_number = r.run_number AND d.name = 'online'",
    "datasets": "json_each(?) AS page JOIN dataset d ON d.dataset_id = page.value "
    "JOIN run r ON r.run_number = d.run_number",
}


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


def list_page(store: Store, target: Kind, body: object, *, quirks: bool = False) -> str:
    """One page of ``POST /runs_filtered_ordered`` or ``/datasets_filtered_ordered`` as JSON text.

    With ``quirks``, requested sortings are the whole order, as on the service: ties come in an order that
    differs from one page query to the next (a shuffle seeded by the query), so rows repeat and go missing
    across pages unless the sortings end with a unique key.
    """
    if not isinstance(body, dict):
        raise FilterSqlError("the request body must be a JSON object")
    page, size = _page_numbers(body)
    where = compile_where(body["filter"], target=target, quirks=quirks)
    ties = _unstable_ties(target, body) if quirks and body["sortings"] else None
    order = compile_order(body["sortings"], target=target, ties=ties)
    source = f"{_FROM[target]} AND {where.text}"
    offset = page * size
    with store.reading() as conn:
        count = conn.execute(f"SELECT count(*) FROM {source}", where.params).fetchone()[0]
        rows: list[tuple[str]] = []
        if size and offset < min(count, _MAX_OFFSET):  # sort keys only, then render the page's rows
            keys = conn.execute(
                f"SELECT {_KEY[target]} FROM {source} ORDER BY {order.text} LIMIT ? OFFSET ?",
                (*where.params, *order.params, min(size, _MAX_OFFSET), offset),
            ).fetchall()
            page_keys = json.dumps([k for (k,) in keys])
            sql = f"SELECT {_OBJECT[target]} FROM {_BY_KEY[target]} ORDER BY page.key"
            rows = conn.execute(sql, (page_keys,)).fetchall()
    items = ",".join(r[0] for r in rows)
    pages = math.ceil(count / size) if size else "null"
    return f'{{"{target}":[{items}],"pages":{pages},"count":{count}}}'


def _unstable_ties(target: Kind, body: dict[str, Any]) -> Sql:
    """An ORDER BY term that shuffles tied rows differently for every page query (deterministically)."""
    seed = zlib.crc32(json.dumps(body, sort_keys=True, default=str).encode())
    row = "r.run_number" if target == "runs" else "d.dataset_id"
    return Sql(f"(({row} * 2654435761 + ?) % 2147483647) * 48271 % 2147483647", (seed,))


def run_json(store: Store, run_number: int) -> str:
    """``GET /runs/:n``: the run object, or ``null``."""
    rows = store.query(f"SELECT {_RUN_OBJECT} FROM {_FROM['runs']} AND r.run_number = ?", (run_number,))
    return rows[0][0] if rows else "null"


def dataset_json(store: Store, run_number: int, name: str) -> str:
    """``POST /datasets/get_dataset``: the dataset object, or ``null``."""
    rows = store.query(
        f"SELECT {_DATASET_OBJECT} FROM {_FROM['datasets']} AND d.run_number = ? AND d.name = ?", (run_number, name)
    )
    return rows[0][0] if rows else "null"


def dataset_names(store: Store, run_number: int) -> list[str]:
    """``GET /get_all_dataset_names_of_run/:n``: ``online`` first, then offline names sorted."""
    rows = store.query(
        "SELECT name FROM dataset WHERE run_number = ? AND deleted = 0 ORDER BY name != 'online', name", (run_number,)
    )
    return [r[0] for r in rows]
