"""Injection corpus: hostile filters, sortings and bodies get clean {"err"} answers (or correct empty results),
and the store is intact afterwards (row counts and checksum unchanged)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from testkit.store import checksum

from backend.server import EmbeddedServer

HOSTILE_STRINGS = [
    "'",
    '"',
    "'; DROP TABLE run; --",
    '" OR 1=1 --',
    "1; DELETE FROM dataset",
    "/* comment */",
    "-- x",
    "%' OR '1'='1",
    "\\",
    "\x00",
    "é😀ü",
    "x" * 100_000,
    "$",
    "[0]",
    "$.a",
    "') OR 1=1 --",
]
HOSTILE_KEYS = [
    "oms_attributes.a\"]') OR 1=1 --",
    "oms_attributes.$",
    "oms_attributes.[0]",
    "oms_attributes.",
    "oms_attributes",
    'rr_attributes.class"',
    'triplet_summary.dt-dt.GOOD") OR 1=1 --',
    "triplet_summary.dt-dt",
    "run_number; --",
    "name",
    "r.run_number",
    "1=1",
    "oms_attributes.energy'--",
    "triplet_summary.$.GOOD",
    "oms_attributes.énergie",
    'dataset_attributes.global_state"',
]


def deep(levels: int, op: str = "and") -> bytes:
    """A filter nested ``levels`` deep, as raw JSON (too deep for the json module to encode)."""
    return (f'{{"{op}":[' * levels + '{"run_number":1}' + "]}" * levels).encode()


FILTERS: list[Any] = [
    *({"oms_attributes.hlt_key": s} for s in HOSTILE_STRINGS),
    *({"oms_attributes.hlt_key": {"like": s}} for s in HOSTILE_STRINGS),
    *({"rr_attributes.class": {"NOTLIKE": s}} for s in HOSTILE_STRINGS),
    *({key: 1} for key in HOSTILE_KEYS),
    *({key: {"=": "x'--"}} for key in HOSTILE_KEYS),
    {"oms_attributes.energy": {"'; DROP TABLE run; --": 1}},
    {"oms_attributes.energy": 10**400},
    {"oms_attributes.energy": -(10**400)},
    {"run_number": 2**64},
    {"oms_attributes.energy": 1e308},
    {"run_number": {"<": 1e-320}},
    deep(100),
    deep(3000),
    deep(3000, "or"),
    {"or": [{"run_number": i} for i in range(10_000)]},
    {"oms_attributes.energy": {"or": [{"and": [{"or": [{"=": 1}]}]}]}},
    None,
    [],
    [1],
    "run_number = 1",
    42,
    True,
    {"and": "x"},
    {"or": [None]},
    {"run_number": {"=": {"a": 1}}},
    {"run_number": [1, 2]},
    {"oms_attributes.energy": {"like": None}},
]


@pytest.fixture(scope="module")
def baseline(server: EmbeddedServer) -> tuple[dict[str, int], str]:
    return server.store.counts(), checksum(server.store)


def check_reply(reply: httpx.Response) -> None:
    assert reply.status_code in (200, 500), reply.text[:200]
    data = reply.json()
    if reply.status_code == 500:
        assert set(data) == {"err"}
        assert isinstance(data["err"], str)
    else:
        assert set(data) >= {"count", "pages"}


@pytest.mark.parametrize("target", ["runs", "datasets"])
def test_hostile_filters(
    http: httpx.Client, server: EmbeddedServer, baseline: tuple[dict[str, int], str], target: str
) -> None:
    for flt in FILTERS:
        raw = flt if isinstance(flt, bytes) else json.dumps(flt).encode()
        body = b'{"page": 0, "page_size": 5, "sortings": [], "filter": ' + raw + b"}"
        check_reply(http.post(f"/{target}_filtered_ordered", content=body))
    assert (server.store.counts(), checksum(server.store)) == baseline


def test_hostile_strings_match_nothing_rather_than_everything(http: httpx.Client) -> None:
    for text in HOSTILE_STRINGS:
        body = {"page": 0, "page_size": 5, "filter": {"oms_attributes.hlt_key": text}, "sortings": []}
        assert http.post("/runs_filtered_ordered", json=body).json()["count"] == 0


def test_hostile_sortings_and_pages(
    http: httpx.Client, server: EmbeddedServer, baseline: tuple[dict[str, int], str]
) -> None:
    sortings: list[Any] = [[[key, "ASC"]] for key in HOSTILE_KEYS] + [
        [["run_number", "ASC; DROP TABLE run"]],
        [["run_number", "DESC", "x"]],
        "run_number",
        [None],
        {"a": 1},
    ]
    for sorting in sortings:
        check_reply(
            http.post("/runs_filtered_ordered", json={"page": 0, "page_size": 5, "filter": {}, "sortings": sorting})
        )
    for page, size in [(-1, 5), (0, -1), (0, 0), (10**40, 1), (0, 10**40), ("0", 5), (0, None), (0.5, 5), (0, True)]:
        check_reply(
            http.post("/runs_filtered_ordered", json={"page": page, "page_size": size, "filter": {}, "sortings": []})
        )
    assert (server.store.counts(), checksum(server.store)) == baseline


def test_hostile_bodies_on_every_route(
    http: httpx.Client, server: EmbeddedServer, baseline: tuple[dict[str, int], str]
) -> None:
    bodies: list[bytes] = [
        b"",
        b"null",
        b"[]",
        b'"x"',
        b"{",
        b'{"run_number": NaN}',
        b"[" * 100_000,
        b'{"run_number": "1 OR 1=1", "dataset_name": "online\' --"}',
        b"\xff\xfe",
    ]
    for path in (
        "/datasets/get_dataset",
        "/lumisections/rr_lumisections",
        "/lumisections/oms_lumisections",
        "/lumisections/joint_lumisection_ranges",
        "/json_portal/generate",
        "/json_portal/json",
    ):
        for body in bodies:
            reply = http.post(path, content=body)
            assert reply.status_code in (200, 500)
            if reply.status_code == 500:
                assert set(reply.json()) == {"err"}
    for run in ("1%20OR%201=1", "-1", "99999999999999999999999", "%27"):
        assert http.get(f"/runs/{run}").status_code in (200, 500)
    assert (server.store.counts(), checksum(server.store)) == baseline
