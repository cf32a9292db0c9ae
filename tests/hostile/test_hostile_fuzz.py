"""Hypothesis fuzzing with hostile inputs: every filter or rule gives a typed error or the correct answer, within
a bounded time, and the store is never changed."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import reference
from hostile_corpus import EVIL_LIKES, listing
from hypothesis import HealthCheck, event, given
from hypothesis import strategies as st
from strategies import mutated_filters, run_filters
from testkit.profiles import scaled
from testkit.servers import ServerPool
from testkit.store import checksum
from testkit.strategies import json_logic_clauses

from backend.server import EmbeddedServer
from client.api import RunRegistry
from querylang import FilterError, QueryLangError, compile_filter
from querylang.limits import MAX_DEPTH

#: Generous per-example bound: an example costs milliseconds to a second; a hang would cost hours.
BOUND = 20.0
HOSTILE_TEXT = ("\ud800", "x\udfffy", "x" * 20_000, "'; DROP TABLE run; --", "%", "\\")


@st.composite
def hostile_filters(draw: st.DrawFn) -> tuple[Any, bool]:
    """A filter (valid, mutated, deeply nested, or carrying hostile text) and whether an evil LIKE that matches
    nothing was ANDed to it (so the right answer is empty)."""
    base = draw(st.one_of(run_filters(), mutated_filters()))
    if draw(st.booleans()):
        for _ in range(draw(st.sampled_from((1, MAX_DEPTH // 2, MAX_DEPTH - 2, MAX_DEPTH, 3 * MAX_DEPTH)))):
            base = {"not": base}
    action = draw(st.sampled_from(("none", "evil", "text-value", "text-key")))
    if action == "evil":
        return {"and": [base, {"hlt_key": {"like": draw(st.sampled_from(EVIL_LIKES))}}]}, True
    if action == "text-value":
        return {"and": [base, {"hlt_key": draw(st.sampled_from(HOSTILE_TEXT))}]}, False
    if action == "text-key":
        return {"and": [base, {draw(st.sampled_from(HOSTILE_TEXT)): 1}]}, False
    return base, False


@pytest.fixture(scope="module", autouse=True)
def store_unchanged(hostile_server: EmbeddedServer, pristine: str) -> Iterator[None]:
    """After every example of this module, the store is exactly as it was (checked once, at the end)."""
    yield
    assert checksum(hostile_server.store) == pristine


@pytest.fixture(scope="module")
def runs(hostile_server: EmbeddedServer) -> list[dict[str, Any]]:
    reply = httpx.post(f"{hostile_server.url}/runs_filtered_ordered", json=listing({}, page_size=100_000))
    records: list[dict[str, Any]] = reply.json()["runs"]
    assert not any((r["oms_attributes"].get("hlt_key") or "").lower().endswith(("!", "b")) for r in records)
    return records


@scaled(0.6, suppress=[HealthCheck.function_scoped_fixture])  # each example sends requests
@given(case=hostile_filters())
def test_filters_give_typed_errors_or_right_answers(
    case: tuple[Any, bool], http: httpx.Client, runs: list[dict[str, Any]]
) -> None:
    user_filter, matches_nothing = case
    started = time.monotonic()
    try:
        plan = compile_filter(user_filter)
    except FilterError:
        assert time.monotonic() - started < BOUND
        return
    event("compiled")
    chosen: set[int] = set()
    for backend_filter in plan.filters:
        reply = http.post("/runs_filtered_ordered", json=listing(backend_filter, page_size=100_000))
        assert reply.status_code == 200, reply.text
        chosen |= {row["run_number"] for row in reply.json()["runs"]}
    assert time.monotonic() - started < BOUND
    expected = set() if matches_nothing else {r["run_number"] for r in reference.matching(user_filter, runs)}
    assert chosen == expected


RAW_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.sampled_from(HOSTILE_TEXT), st.text(max_size=5)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(("and", "or", "like", "=", "<", "oms_attributes.hlt_key", "run_number", "\ud800")),
            inner,
            max_size=3,
        ),
    ),
    max_leaves=8,
)


@scaled(0.6, suppress=[HealthCheck.function_scoped_fixture])  # each example sends requests
@given(raw=RAW_VALUES, depth=st.sampled_from((0, 10, 150, 400)))
def test_raw_bodies_get_a_page_or_a_clean_error(raw: Any, depth: int, http: httpx.Client) -> None:
    text = json.dumps(raw)
    for _ in range(depth):
        text = '{"or": [' + text + "]}"
    body = '{"page": 0, "page_size": 3, "sortings": [], "filter": ' + text + "}"
    started = time.monotonic()
    reply = http.post("/runs_filtered_ordered", content=body.encode())
    assert time.monotonic() - started < BOUND
    assert reply.status_code in (200, 500)
    assert set(reply.json()) == ({"err"} if reply.status_code == 500 else {"runs", "pages", "count"})


# -- rules -------------------------------------------------------------------------------------------------------

ATOMS: tuple[Any, ...] = (
    {"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]},
    {"!=": [{"var": "lumisection.rr.csc-csc"}, "BAD"]},
    {"==": [{"var": "lumisection.oms.cms_active"}, True]},
    {"!!": {"var": "lumisection.oms.beam1_stable"}},
    {">=": [{"var": "run.oms.energy"}, 6000]},
    {"<": [315000, {"var": "run.run_number"}, 321000]},
    {"in": ["25ns", {"var": "run.oms.injection_scheme"}]},
    {"in": ["%%%%%%%%%%%%%%%%!", {"var": "run.oms.hlt_key"}]},
    {"==": [{"var": "run.rr.class"}, "Collisions18"]},
    True,
    False,
)
HOSTILE_ATOMS: tuple[Any, ...] = (
    {"==": [{"var": "run.rr.class"}, "\ud800"]},
    {"==": [{"var": "lumisection.rr.dt-dt"}, "GOD"]},
    {"method": [{"var": "dataset.name"}, "upper"]},
    {"between": [1, 2, 3]},
    {"var": "lumisection.rr.nope-nope"},
    {"and": [[1, 2], True]},
)
RULES = json_logic_clauses(st.one_of(st.sampled_from(ATOMS), st.sampled_from(HOSTILE_ATOMS)), max_leaves=5)


@pytest.fixture(scope="module")
def tiny(server_pool: ServerPool) -> Iterator[tuple[EmbeddedServer, RunRegistry]]:
    srv = server_pool.shared(runs=5, seed=2018)
    with RunRegistry(target=srv.url) as registry:
        yield srv, registry


@scaled(0.2)  # each example runs both golden-JSON engines against the server
@given(rule=RULES, depth=st.sampled_from((0, 0, 30, MAX_DEPTH)))
def test_rules_give_typed_errors_or_engines_agree(
    rule: Any, depth: int, tiny: tuple[EmbeddedServer, RunRegistry]
) -> None:
    server, registry = tiny
    rule = rule if isinstance(rule, dict) else {"and": [rule]}  # the client API takes a rule object
    for _ in range(depth):
        rule = {"!": rule}
    before = checksum(server.store)
    pattern = "/PromptReco/%"
    started = time.monotonic()
    try:
        local = registry.create_json(rule, pattern, engine="local")
    except QueryLangError:
        assert time.monotonic() - started < BOUND
        return
    event("engines ran")
    remote = registry.create_json(rule, pattern, poll_interval=0.02)
    assert time.monotonic() - started < BOUND
    key = "generated_json_with_dataset_names"
    assert local[key] == remote[key]
    assert checksum(server.store) == before
