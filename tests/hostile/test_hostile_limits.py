"""Depth, size and Unicode limits: hostile filters, rules and bodies give typed errors (or clean ``{"err"}``
answers), never a RecursionError, a traceback in the server log or a changed store."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from testkit.servers import ServerPool
from testkit.store import checksum

from backend.app import Limits
from backend.jsonbody import MAX_BODY_DEPTH
from backend.server import EmbeddedServer
from querylang import (
    FilterError,
    Not,
    RuleError,
    compile_filter,
    compile_node,
    explain,
    parse_filter,
    parse_rule,
    plan_rule,
    raw_plan,
)
from querylang.explain import to_sql
from querylang.jsonlogic import apply, compile_predicate, compile_rule
from querylang.limits import MAX_DEPTH, check_nesting
from querylang.rules import Literal, Operation, rule_variables, walk


def nested(levels: int, op: str, leaf: Any, *, listed: bool = False) -> Any:
    """``leaf`` wrapped ``levels`` times in ``{op: ...}`` (or ``{op: [...]}``)."""
    value = leaf
    for _ in range(levels):
        value = {op: [value] if listed else value}
    return value


DEEP_FILTERS = [
    nested(500, "not", {"run_number": 1}),
    nested(5000, "not", {"run_number": 1}),
    nested(3000, "and", {"run_number": 1}, listed=True),
    {"run_number": nested(2000, "not", 1)},
    {"dt-dt": nested(2000, "or", "GOOD", listed=True)},
]


@pytest.mark.parametrize("deep", DEEP_FILTERS, ids=["not500", "not5000", "and3000", "value-not", "flag-or"])
def test_deep_filters_are_filter_errors(deep: Any) -> None:
    for entry in (parse_filter, compile_filter, explain, raw_plan, to_sql):
        with pytest.raises(FilterError, match="nested too deeply"):
            entry(deep)


def test_filters_just_within_the_limit_compile() -> None:
    within = nested(MAX_DEPTH - 1, "not", {"run_number": 1})
    assert compile_filter(within).filters == ({"run_number": {"<>": 1}},)
    assert "run_number <> 1" in explain(within)


def test_hand_built_deep_ast_is_a_filter_error() -> None:
    node = parse_filter({"run_number": 1})
    for _ in range(5000):
        node = Not(node)
    with pytest.raises(FilterError, match="nested deeper"):
        compile_node(node)


DEEP_RULES = [nested(400, "!", True, listed=True), nested(400, "!", True), nested(3000, "and", True, listed=True)]


@pytest.mark.parametrize("deep", DEEP_RULES, ids=["not-list", "not", "and"])
def test_deep_rules_are_rule_errors(deep: Any) -> None:
    for entry in (parse_rule, plan_rule, compile_rule, compile_predicate, lambda r: apply(r, {})):
        with pytest.raises(RuleError, match="nested too deeply"):
            entry(deep)


def test_rules_just_within_the_limit_evaluate() -> None:
    rule = nested(MAX_DEPTH - 1, "!", True)  # an odd number of negations
    assert apply(rule, {}) is False
    assert plan_rule(rule).rule == rule


@pytest.mark.parametrize(
    "hostile",
    [
        {"class": "Cosmics\ud800"},
        {"class": {"in": ["Cosmics18", "\udfff"]}},
        {"hlt_key": {"like": "%\ud800%"}},
        {"\ud800": 1},
        {"or": [{"class": "x"}, {"dataset_name": "/PromptReco/\ud800/DQM"}]},
    ],
)
def test_lone_surrogates_in_filters_are_filter_errors(hostile: dict[str, Any]) -> None:
    with pytest.raises(FilterError, match="invalid Unicode"):
        compile_filter(hostile, kind="datasets")
    with pytest.raises(FilterError, match="invalid Unicode"):
        raw_plan(hostile)


def test_lone_surrogates_in_rules_are_rule_errors() -> None:
    rule = {"==": [{"var": "dataset.name"}, "/PromptReco/\ud800"]}
    for entry in (parse_rule, plan_rule, compile_rule):
        with pytest.raises(RuleError, match="invalid Unicode"):
            entry(rule)


def test_huge_inputs_are_bounded() -> None:
    with pytest.raises(FilterError, match="more than 1000 values"):
        check_nesting({"run_number": list(range(2000))}, FilterError, max_values=1000)
    check_nesting({"run_number": list(range(998))}, FilterError, max_values=1000)  # 1000 with the dict and list


def test_an_input_past_the_bound_is_refused_before_it_is_walked() -> None:
    """A list longer than the bound is refused on its length: neither walked nor copied (a list whose every item
    raises on access proves it)."""

    class Untouchable(list[int]):
        def __iter__(self) -> Any:
            raise AssertionError("walked")

    with pytest.raises(FilterError, match="more than 10 values"):
        check_nesting({"run_number": {"in": Untouchable(range(20))}}, FilterError, max_values=10)


def _count(value: object) -> int:
    """The values of a JSON-like input, counted recursively (the reference for the iterative count)."""
    if isinstance(value, dict):
        return 1 + sum(_count(child) for child in value.values())
    if isinstance(value, (list, tuple)):
        return 1 + sum(_count(child) for child in value)
    return 1


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=3),
    lambda children: st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=3), children, max_size=6),
    max_leaves=40,
)


@given(value=_JSON, max_values=st.integers(min_value=1, max_value=60))
@settings(max_examples=300, deadline=None)
def test_the_value_bound_counts_every_value_exactly(value: object, max_values: int) -> None:
    """Refused exactly when the input holds more than ``max_values`` values, however they nest."""
    refused = _count(value) > max_values
    if refused:
        with pytest.raises(FilterError, match=f"more than {max_values} values"):
            check_nesting(value, FilterError, max_values=max_values)
    else:
        check_nesting(value, FilterError, max_values=max_values)


# -- the service -----------------------------------------------------------------------------------------------


def _is_clean_error(reply: httpx.Response, fragment: str) -> None:
    assert reply.status_code == 500
    assert set(reply.json()) == {"err"}
    assert fragment in reply.json()["err"]


def _raw_listing(flt: bytes) -> bytes:
    return b'{"page": 0, "page_size": 5, "sortings": [], "filter": ' + flt + b"}"


HOSTILE_BODIES = [
    ("/runs_filtered_ordered", _raw_listing(b'{"oms_attributes.hlt_key": "\\ud800"}'), "invalid Unicode"),
    ("/runs_filtered_ordered", _raw_listing(b'{"\\udc00": 1}'), "invalid Unicode"),
    ("/datasets_filtered_ordered", _raw_listing(b'{"name": {"like": "%\\ud800"}}'), "invalid Unicode"),
    ("/datasets/get_dataset", b'{"run_number": 315000, "dataset_name": "/A/\\ud800/DQM"}', "invalid Unicode"),
    ("/lumisections/rr_lumisection_ranges", b'{"run_number": 1, "dataset_name": "\\udfff"}', "invalid Unicode"),
    ("/json_portal/generate", b'{"json_logic": "true", "dataset_name_filter": "\\ud800%"}', "invalid Unicode"),
    ("/json_portal/generate", b'{"json_logic": "\\"\\\\ud800\\"", "dataset_name_filter": "%"}', "invalid Unicode"),
    ("/runs_filtered_ordered", _raw_listing(b'{"and": [' * 150 + b"{}" + b"]}" * 150), "nested too deeply"),
    ("/runs_filtered_ordered", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (
        "/json_portal/generate",
        json.dumps({"json_logic": json.dumps(nested(400, "!", True)), "dataset_name_filter": "%"}).encode(),
        "nested too deeply",
    ),
    (
        "/json_portal/generate",
        json.dumps({"json_logic": "[" * 100_000 + "]" * 100_000, "dataset_name_filter": "%"}).encode(),
        "nested too deeply",
    ),
]


@pytest.mark.parametrize(("path", "body", "fragment"), HOSTILE_BODIES)
def test_hostile_bodies_get_clean_errors_and_no_traceback(
    hostile_server: EmbeddedServer,
    http: httpx.Client,
    pristine: str,
    caplog: pytest.LogCaptureFixture,
    path: str,
    body: bytes,
    fragment: str,
) -> None:
    with caplog.at_level(logging.WARNING, logger="backend"):
        _is_clean_error(http.post(path, content=body), fragment)
    assert not [r for r in caplog.records if r.exc_info], "a traceback reached the server log"
    assert checksum(hostile_server.store) == pristine


def test_body_depth_limit_is_above_what_filters_need(http: httpx.Client) -> None:
    within = _raw_listing(b'{"not_a_key": ' * (MAX_BODY_DEPTH - 3) + b"1" + b"}" * (MAX_BODY_DEPTH - 3))
    reply = http.post("/runs_filtered_ordered", content=within)
    _is_clean_error(reply, "filter: nested too deeply")  # parsed, then refused by the filter IR (querylang)


def test_large_bodies_are_refused_before_they_are_read(server_pool: ServerPool) -> None:
    limits = Limits(body_bytes=1000)
    with server_pool.fresh(runs=3, seed=1, limits=limits) as srv, httpx.Client(base_url=srv.url, timeout=30) as http:
        big = {"page": 0, "page_size": 5, "sortings": [], "filter": {"run_number": list(range(1000))}}
        _is_clean_error(http.post("/runs_filtered_ordered", json=big), "larger than 1000 bytes")

        def chunks() -> Any:  # no content-length: counted while streaming
            yield b'{"page": 0, "page_size": 5, "sortings": [], "filter": {"oms_attributes.hlt_key": "'
            yield b"x" * 5000
            yield b'"}}'

        _is_clean_error(http.post("/runs_filtered_ordered", content=chunks()), "larger than 1000 bytes")
        small = {"page": 0, "page_size": 5, "sortings": [], "filter": {}}
        assert http.post("/runs_filtered_ordered", json=small).json()["count"] == 3


def test_rule_walkers_are_safe_on_hand_built_deep_nodes() -> None:
    node: Any = Literal(True)
    for _ in range(5000):
        node = Operation("!", (node,))
    assert sum(1 for _ in walk(node)) == 5001
    assert rule_variables(node) == []


def test_a_lone_surrogate_in_a_client_argument_is_a_typed_error_before_sending() -> None:
    """``get_dataset(n, "\\ud800")`` has no UTF-8 body: an ``ArgumentError`` (a ``ValueError``), no request sent."""
    import httpx

    from client import ArgumentError, RunRegistry

    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=None)

    with RunRegistry("http://rr.invalid", transport=httpx.MockTransport(handler)) as rr:
        with pytest.raises(ArgumentError, match="not valid Unicode") as caught:
            rr.get_dataset(315000, "/PromptReco/\ud800/DQM")
        with pytest.raises(ArgumentError):
            rr.get_lumisections(315000, "bad\udfff")
    assert isinstance(caught.value, ValueError)
    assert sent == []
