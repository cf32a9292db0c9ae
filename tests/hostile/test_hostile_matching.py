"""Linear-time matching: LIKE and SIMILAR TO patterns that make a backtracking matcher run for hours answer in
milliseconds, in querylang, in the service (listings and json_portal) and in the local golden-JSON engine."""

from __future__ import annotations

import re
import threading

import httpx
import pytest
from hostile_corpus import CHEAP_RULE, EVIL_LIKES, listing, run_job, submit_job, timed
from hypothesis import given
from hypothesis import strategies as st
from testkit.store import checksum

from backend.server import EmbeddedServer
from backend.sqlfilter import like_match
from client.api import RunRegistry
from querylang import FilterError, compile_filter
from querylang.similar import MAX_GROUP_DEPTH, MAX_PATTERN_LENGTH, compile_like, compile_similar

EVIL_SIMILAR = [
    "%%%%%%%%%%%%%%%%%%%%%%%%!",
    "%%%%%%%%%%%%%%%%%%%%%%%%(Q|Z)",
    "(a|a)*(a|a)*(a|a)*(a|a)*b",
    "((a+)+)+b",
    "(a*)*(a*)*(a*)*!",
    "(%a){20}!",
]
#: Generous: each match below takes well under a millisecond; a backtracking one would take minutes or more.
BOUND = 1.0


@pytest.mark.parametrize("pattern", EVIL_LIKES)
def test_like_is_linear(pattern: str) -> None:
    text = "a" * 50_000
    for case_sensitive in (True, False):
        compiled = compile_like(pattern, case_sensitive=case_sensitive)
        matched, seconds = timed(lambda c=compiled: c.matches(text))
        assert matched is False
        assert seconds < BOUND
    assert like_match(text + "!", pattern, 0) == (0 if pattern.endswith("b") else 1)


@pytest.mark.parametrize("pattern", EVIL_SIMILAR)
def test_similar_to_is_linear(pattern: str) -> None:
    compiled = compile_similar(pattern)
    matched, seconds = timed(lambda: compiled.matches("a" * 50_000))
    assert matched is False
    assert seconds < BOUND


def test_linear_matchers_keep_their_meaning() -> None:
    assert compile_similar("%%%%%%%%%%%%%%%%%%%%%%%%(Q|Z)").matches("x" * 1000 + "Q")
    assert compile_like("%_%_%_%_%_%_%_%_%_%_%!", case_sensitive=True).matches("abcdefghij!")
    assert not compile_like("%_%_%_%_%_%_%_%_%_%_%!", case_sensitive=True).matches("abcdefghi!")
    assert compile_like("%PHYSICS%", case_sensitive=False).matches("/cdaq/physics/x")
    assert not compile_like("%PHYSICS%", case_sensitive=True).matches("/cdaq/physics/x")
    assert compile_like("a\nb%", case_sensitive=True).matches("a\nb\nc")  # newlines are ordinary characters
    assert compile_like("100\\%", case_sensitive=True).matches("100%")
    assert not compile_like("100\\%", case_sensitive=True).matches("1000")


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("x" * (MAX_PATTERN_LENGTH + 1), "characters long"),
        ("(" * (MAX_GROUP_DEPTH + 1) + "a" + ")" * (MAX_GROUP_DEPTH + 1), "nested deeper"),
        ("a{1001}", "too complex"),
        ("((a{100}){100}){100}", "too complex"),
        ("/PromptReco/\ud800", "invalid Unicode"),
    ],
)
def test_pattern_limits_are_filter_errors(pattern: str, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        compile_similar(pattern)


def test_like_limits_are_filter_errors() -> None:
    with pytest.raises(FilterError, match="characters long"):
        compile_like("%" * (MAX_PATTERN_LENGTH + 1), case_sensitive=False)
    with pytest.raises(FilterError, match="invalid Unicode"):
        compile_like("%\udfff%", case_sensitive=False)
    with pytest.raises(FilterError, match="invalid Unicode"):
        compile_filter({"hlt_key": {"like": "%\ud800%"}})


def test_service_like_requests_answer_fast_while_others_are_served(
    hostile_server: EmbeddedServer, http: httpx.Client, pristine: str
) -> None:
    run_number = http.post("/runs_filtered_ordered", json=listing({"oms_attributes.hlt_key": {"like": "%"}})).json()[
        "runs"
    ][0]["run_number"]
    answers: list[tuple[int, float]] = []

    def evil() -> None:
        for pattern in EVIL_LIKES:
            reply, seconds = timed(
                lambda p=pattern: http.post(
                    "/runs_filtered_ordered", json=listing({"oms_attributes.hlt_key": {"like": p}})
                )
            )
            answers.append((reply.status_code, seconds))

    worker = threading.Thread(target=evil)
    worker.start()
    with httpx.Client(base_url=hostile_server.url, timeout=30) as other:
        while worker.is_alive():
            reply, seconds = timed(lambda: other.get(f"/runs/{run_number}"))
            assert reply.status_code == 200
            assert reply.json()["run_number"] == run_number
            assert seconds < BOUND
    worker.join()
    assert [status for status, _ in answers] == [200] * len(EVIL_LIKES)
    assert max(seconds for _, seconds in answers) < BOUND
    too_long = http.post("/runs_filtered_ordered", json=listing({"oms_attributes.hlt_key": {"like": "%_" * 600}}))
    assert too_long.status_code == 500
    assert "more than the 1000 allowed" in too_long.json()["err"]
    assert checksum(hostile_server.store) == pristine


def test_json_portal_similar_to_answers_fast(http: httpx.Client) -> None:
    # the service matches the pattern against every dataset name when the job is submitted
    reply, seconds = timed(lambda: submit_job(http, CHEAP_RULE, "%%%%%%%%%%%%%%%%%%%%%%%%!"))
    assert reply.json() == {"err": "No datasets matched that dataset name"}
    assert seconds < BOUND
    reply, seconds = timed(lambda: run_job(http, CHEAP_RULE, "%%%%%%%%%%%%%%%%%%%%%%%%(Q|Z|online)"))
    assert reply.status_code == 200
    assert reply.json()["final_json"]["generated_json"] == {}
    assert seconds < BOUND * 10  # a whole job over the online datasets, with its polling
    refused = submit_job(http, CHEAP_RULE, "(" * 40)
    assert refused.status_code == 500
    assert "nested deeper" in refused.json()["err"]


def test_local_golden_engine_with_an_evil_pattern(hostile_server: EmbeddedServer) -> None:
    pattern = "%%%%%%%%%%%%%%%%%%%%%%%%(M|Z)"  # its like prefilter is "%": every dataset name reaches the matcher
    rule = {"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]}
    with RunRegistry(target=hostile_server.url) as registry:
        local, seconds = timed(lambda: registry.create_json(rule, pattern, engine="local"))
        server = registry.create_json(rule, pattern, poll_interval=0.05)
    assert seconds < 30  # a few hundred requests; a backtracking matcher would not finish at all
    by_dataset = "generated_json_with_dataset_names"  # the service concatenates the datasets of a run (quirk)
    assert local[by_dataset]
    assert local[by_dataset] == server[by_dataset]


def _backtracking_like(text: str, pattern: str, case_sensitive: bool) -> bool:
    """The obvious (exponential on hostile input) translation to a Python regex, as a reference on small cases."""
    parts, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            parts.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    flags = re.DOTALL | (0 if case_sensitive else re.IGNORECASE)
    return re.fullmatch("".join(parts), text, flags) is not None


@given(st.text("ab%_\\A", max_size=8), st.text("abAB%_\\\n", max_size=10), st.booleans())
def test_linear_like_agrees_with_a_backtracking_regex(pattern: str, text: str, case_sensitive: bool) -> None:
    assert compile_like(pattern, case_sensitive=case_sensitive).matches(text) == _backtracking_like(
        text, pattern, case_sensitive
    )
