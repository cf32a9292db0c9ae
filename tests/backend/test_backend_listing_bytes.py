"""Runs and datasets are rendered by concatenating their stored JSON, as bytes: the same bytes as the
``json_object(..., json(column))`` rendering and ``str`` replies they replaced, on varied stored values."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from testkit.store import raw_query, raw_writing

from backend.demo import generate
from backend.listing import list_page
from backend.rows import dumps
from backend.store import Store

#: The renderings before: SQLite's json_object over json() of each stored column.
REFERENCE_RUN = (
    "json_object('run_number', r.run_number, 'oms_attributes', json(r.oms_attributes), "
    "'rr_attributes', json(r.rr_attributes), 'version', r.version, "
    "'deleted', json(CASE WHEN r.deleted THEN 'true' ELSE 'false' END), "
    "'DatasetTripletCache', json_object('triplet_summary', json(d.triplet_summary)))"
)
REFERENCE_DATASET = (
    "json_object('run_number', d.run_number, 'name', d.name, 'dataset_attributes', json(d.dataset_attributes), "
    "'datasets_in_gui', json(d.datasets_in_gui), 'deleted', json(CASE WHEN d.deleted THEN 'true' ELSE 'false' END), "
    "'version', d.version, "
    "'Run', json_object('rr_attributes', json(r.rr_attributes), 'oms_attributes', json(r.oms_attributes)), "
    "'DatasetTripletCache', json_object('triplet_summary', json(d.triplet_summary), "
    "'dcs_summary', json(CASE WHEN d.triplet_summary = '{}' THEN '{}' ELSE r.dcs_summary END)))"
)
REFERENCE_SQL = {
    "runs": f"SELECT {REFERENCE_RUN} FROM run r JOIN dataset d ON d.run_number = r.run_number AND d.name = 'online' "
    "WHERE r.run_number = ?",
    "datasets": f"SELECT {REFERENCE_DATASET} FROM dataset d JOIN run r ON r.run_number = d.run_number "
    "WHERE d.run_number = ? AND d.name = ?",
}

#: Text JSON escapes: quotes, backslashes, control characters, line separators, non-BMP and lone surrogates.
ESCAPED_TEXT = st.lists(
    st.sampled_from(['"', "\\", "\x00", "\x1f", "\u2028", "\U0001f600", "\ud800", "\udfff", "é"]), max_size=4
).map("".join)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | ESCAPED_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5) | ESCAPED_TEXT, inner, max_size=3),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    with Store.open() as opened:
        opened.load(generate(runs=12, seed=5))
        yield opened


def _reference_page(store: Store, target: str, reply: bytes, size: int) -> bytes:
    """The reply the ``str`` rendering built for the rows ``reply`` lists, in its order."""
    parsed = json.loads(reply)
    params = [(row["run_number"],) if target == "runs" else (row["run_number"], row["name"]) for row in parsed[target]]
    rows = [raw_query(store, REFERENCE_SQL[target], p)[0][0] for p in params]
    pages = math.ceil(parsed["count"] / size) if size else "null"
    return f'{{"{target}":[{",".join(rows)}],"pages":{pages},"count":{parsed["count"]}}}'.encode()


def _edit(store: Store, run_number: int, value: Any, name: str) -> None:
    """Store odd values where the generator stores ordinary ones (as a write would: compact JSON)."""
    with raw_writing(store) as conn:
        conn.execute(
            "UPDATE run SET oms_attributes = json_set(oms_attributes, '$.odd', json(?)), "
            "rr_attributes = ?, version = version + 1 WHERE run_number = ?",
            (dumps(value), dumps({"class": name, "value": value}), run_number),
        )
        conn.execute(
            "UPDATE dataset SET dataset_attributes = ?, datasets_in_gui = ? WHERE run_number = ?",
            (dumps({"global_state": name, "odd": value}), dumps([name, value]), run_number),
        )
        conn.execute(  # one offline dataset's name too (quotes, backslashes, control characters, non-ASCII)
            "UPDATE dataset SET name = ? WHERE dataset_id = "
            "(SELECT min(dataset_id) FROM dataset WHERE run_number = ? AND name != 'online')",
            (f"/odd/{name}", run_number),
        )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=JSON_VALUES, name=st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=6))
def test_objects_and_pages_are_the_reference_bytes(store: Store, value: Any, name: str) -> None:
    """Non-ASCII and escaped text, floats, huge integers, None, nesting; both kinds, page sizes 0, 5 and all."""
    run_number = store.registry_runs()[1][0]  # a run with offline datasets
    _edit(store, run_number, value, name)
    for target in ("runs", "datasets"):
        for size in (0, 5, 100):
            body = {"page": 0, "page_size": size, "filter": {}, "sortings": []}
            reply = list_page(store, target, body)  # type: ignore[arg-type]
            assert reply == _reference_page(store, target, reply, size)
    assert store.run_json(run_number) == raw_query(store, REFERENCE_SQL["runs"], (run_number,))[0][0]
    for dataset in store.dataset_names(run_number):
        expected = raw_query(store, REFERENCE_SQL["datasets"], (run_number, dataset))[0][0]
        assert store.dataset_json(run_number, dataset) == expected


def test_counts_beyond_the_last_page_and_empty_filters(store: Store) -> None:
    everything = {"page": 0, "page_size": 5, "filter": {}, "sortings": []}
    count = json.loads(list_page(store, "runs", everything))["count"]
    beyond = json.loads(list_page(store, "runs", {**everything, "page": 99}))
    assert (beyond["count"], beyond["runs"], beyond["pages"]) == (count, [], math.ceil(count / 5))
    nothing = json.loads(list_page(store, "runs", {**everything, "filter": {"run_number": 1}}))
    assert (nothing["count"], nothing["runs"], nothing["pages"]) == (0, [], 0)
