"""Differential tests of the streaming listing path against ``orjson.loads`` of the whole body: JSON text written
token by token (every number form, escape, literal and whitespace, keys that look like the rows key, a BOM, junk)
and cut anywhere, even byte by byte; then whole listings through the transport, whose frames and models must be
those built from the whole body's rows, sync and async alike."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any
from unittest import mock

import anyio
import httpx
import orjson
import pandas as pd
import pytest
from client_fakes import TOKEN_URL, FakeService, make_run
from hypothesis import given
from hypothesis import strategies as st
from testkit.profiles import scaled

from client import AsyncRunRegistry, RunQLError, RunRegistry, ServiceError, frames
from client.frames import wire_frame
from client.jsonsplit import RowSplitter
from schemas import Run


# ---- JSON text, token by token ---------------------------------------------------------------------------------
def rarely(usual: st.SearchStrategy[str], bad: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """``usual``, and once in 40 draws ``bad`` (so that about half the bodies stay valid JSON)."""
    return st.integers(0, 39).flatmap(lambda n: bad if n == 0 else usual)


#: Number texts, valid or not; orjson decides (``1e400`` and ``NaN`` it refuses, ``2**64`` it reads as a float).
NUMBERS = rarely(
    st.sampled_from(
        [
            "0", "-0", "-0.0", "7", "-12", "1.5", "1e3", "1E+2", "2.5e-3", "5e-324", "1.7976931348623157e308",
            "9223372036854775807", "9223372036854775808", "18446744073709551615", "18446744073709551616",
            "-9223372036854775809", "100000000000000000000000000000",
        ]
    ),
    st.sampled_from(["1e400", "-1e400", "01", "1.", ".5", "+1", "-", "NaN", "Infinity", "1e", "0x1"]),
)  # fmt: skip
LITERALS = rarely(st.sampled_from(["true", "false", "null"]), st.sampled_from(["tru", "nul", "True", "None"]))
#: Text whose characters a splitter could trip on, written plain or as escapes.
CHARACTERS = st.text(
    st.sampled_from('[]{}",:\\/ \n\t\x00\x1féü€😀\u2028ab') | st.characters(exclude_categories=["Cs"]), max_size=8
)
RAW_ESCAPES = rarely(
    st.sampled_from(['"\\ud83d\\ude00"', '"\\u00e9\\"\\\\"', '"\\/\\b\\f"', '"\\u0000"']),
    st.sampled_from(['"\\ud800"', '"\\udc00\\ud800"', '"\\x"', '"\\u12"']),
)
LOOKALIKES = st.sampled_from(['"runs"', '"runs": [', '], "count": 3', '},{"run_number":', "\\"])
SPACE = st.sampled_from(["", "", "", " ", "\n", " \t", "\r\n  "])


def string_text(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["plain", "ascii", "escape", "lookalike"]))
    if kind == "escape":
        return draw(RAW_ESCAPES)
    text = draw(LOOKALIKES) if kind == "lookalike" else draw(CHARACTERS)
    return json.dumps(text, ensure_ascii=kind == "ascii")


@st.composite
def value_text(draw: st.DrawFn, depth: int = 0) -> str:
    """One JSON value as text (mostly valid), with random whitespace between its tokens."""
    kinds = ["number", "literal", "string"] + (["array", "object"] if depth < 3 else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "number":
        return draw(NUMBERS)
    if kind == "literal":
        return draw(LITERALS)
    if kind == "string":
        return string_text(draw)
    items = draw(st.lists(value_text(depth + 1), max_size=3))
    if kind == "object":
        items = [string_text(draw) + draw(SPACE) + ":" + draw(SPACE) + item for item in items]
        if draw(st.booleans()):  # a nested "runs" key is just a key
            items.append('"runs":' + draw(SPACE) + "[" + draw(value_text(depth + 1)) + "]")
    opening, closing = ("{", "}") if kind == "object" else ("[", "]")
    separator = draw(SPACE) + "," + draw(SPACE)
    return opening + draw(SPACE) + separator.join(items) + draw(SPACE) + closing


ROW = st.builds(lambda n, v: f'{{"run_number":{n},"x":{v}}}', NUMBERS, value_text(1)) | value_text(1)


@st.composite
def listing_text(draw: st.DrawFn) -> bytes:
    """A listing body: the rows array and other members in any order, maybe damaged."""
    rows = draw(st.lists(ROW, max_size=6))
    separator = draw(SPACE) + "," + draw(SPACE)
    members = ['"runs"' + draw(SPACE) + ":" + draw(SPACE) + "[" + separator.join(rows) + "]"]
    members += [f'"count":{draw(NUMBERS)}', f'"pages":{draw(NUMBERS)}'][: draw(st.integers(0, 2))]
    members += [string_text(draw) + ":" + draw(value_text(1)) for _ in range(draw(st.integers(0, 2)))]
    members = draw(st.permutations(members))
    text = draw(SPACE) + "{" + draw(SPACE) + separator.join(members) + draw(SPACE) + "}" + draw(SPACE)
    body = text.encode()
    if draw(st.integers(0, 19)) == 0:
        body = b"\xef\xbb\xbf" + body  # a BOM, which orjson refuses
    if draw(st.integers(0, 9)) == 0:  # damaged: bytes removed or inserted anywhere
        at = draw(st.integers(0, len(body)))
        junk = draw(st.sampled_from([b"", b"\xff", b"\xc3", b'"', b"]", b"}", b",", b"x", b"\x00"]))
        body = body[:at] + junk + body[at + draw(st.integers(0, 3)) :]
    return body


def chunked(body: bytes, draw: st.DrawFn) -> list[bytes]:
    """``body`` in pieces: byte by byte, or cut at random places."""
    if len(body) <= 400 and draw(st.booleans()):
        return [body[i : i + 1] for i in range(len(body))]
    cuts = sorted(set(draw(st.lists(st.integers(0, len(body)), max_size=10))))
    return [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]


def split(chunks: list[bytes]) -> dict[str, Any]:
    splitter = RowSplitter("runs")
    rows = [row for chunk in chunks for row in splitter.feed(chunk)]
    rows += splitter.close()
    return {**splitter.members, "runs": rows} if splitter.has_rows else splitter.members


def exact(value: Any) -> bytes:
    """A form that tells ``-0.0`` from ``0`` and ``1`` from ``1.0`` (``==`` does not)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


@scaled(4)  # cheap examples, many shapes
@given(listing_text(), st.data())
def test_the_splitter_gives_what_orjson_gives_for_the_whole_body(body: bytes, data: st.DataObject) -> None:
    chunks = chunked(body, data.draw)
    try:
        expected = orjson.loads(body)
    except orjson.JSONDecodeError:
        expected = None
    if not isinstance(expected, dict):
        with pytest.raises(ValueError, match=r"\(at byte \d+\)$"):
            split(chunks)
        return
    top_level_rows_keys = sum(1 for key in json.loads(body, object_pairs_hook=lambda pairs: pairs) if key[0] == "runs")
    if top_level_rows_keys > 1:  # refused on purpose (orjson keeps the last): the module's docstring
        with pytest.raises(ValueError, match="appears twice"):
            split(chunks)
        return
    assert exact(split(chunks)) == exact(expected)


def test_every_cut_of_a_tricky_body_gives_the_same_rows() -> None:
    """Every single cut (two chunks) of a body with escapes, surrogate pairs and multi-byte characters."""
    rows = [
        {"run_number": 1, "s": 'é"\\😀\u2028', "n": -0.0, "big": 2**64 - 1, "e": 5e-324, "l": [True, None, {}]},
        {"run_number": 2, "runs": ["runs"], "t": '"runs": [', "u": "\u0000\x1f"},
        {"run_number": 3, "deep": [[[[[[[[[[[[[[["x"]]]]]]]]]]]]]]]},
    ]
    for body in (
        orjson.dumps({"count": 3, "runs": rows, "pages": 1}),
        json.dumps({"runs": rows, "count": 3}, ensure_ascii=True, indent=1).encode(),
    ):
        expected = exact(orjson.loads(body))
        for cut in range(len(body) + 1):
            assert exact(split([body[:cut], body[cut:]])) == expected, cut


# ---- whole listings through the transport ---------------------------------------------------------------------
FLOATS = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([-0.0, 5e-324, 1.7976931348623157e308])
INT64 = st.integers(-(2**63), 2**63 - 1)
TEXT = st.text(st.sampled_from('a"\\é😀\n\x00[{'), max_size=6)
OMS = st.fixed_dictionaries(
    {},
    optional={
        "energy": st.none() | FLOATS | INT64,
        "fill_number": st.none() | INT64,
        "start_time": st.none() | st.sampled_from(["2018-05-01T10:00:00Z", "2018-05-01T10:00:00.123+02:00"]),
        "b_field": st.none() | FLOATS,
        "hlt_key": st.none() | TEXT,
        "unknown": st.none() | FLOATS | TEXT | st.lists(INT64, max_size=2) | st.booleans(),
    },
)
RR = st.fixed_dictionaries(
    {},
    optional={"class": st.none() | TEXT, "significant": st.none() | st.booleans(), "state": st.none() | TEXT},
)
COUNTS = st.dictionaries(
    st.sampled_from(["dt-dt", "csc-csc", "tracker-pixel"]),
    st.dictionaries(st.sampled_from(["GOOD", "BAD", "EMPTY"]), st.integers(0, 10**6), max_size=3),
    max_size=2,
)


@st.composite
def listings(draw: st.DrawFn) -> bytes:
    """A page of runs with varied values, nulls and absent sections, as orjson or json writes it."""
    runs = []
    for number in draw(st.lists(st.integers(1, 10**6), unique=True, max_size=8)):
        run: dict[str, Any] = {"run_number": number}
        if draw(st.booleans()):
            run["oms_attributes"] = draw(OMS)
        if draw(st.booleans()):
            run["rr_attributes"] = draw(RR)
        run["DatasetTripletCache"] = {"triplet_summary": draw(COUNTS)}
        if draw(st.booleans()):
            run["version"] = draw(st.none() | INT64)
        runs.append(run)
    runs.sort(key=lambda r: -r["run_number"])
    value = {"runs": runs, "count": len(runs), "pages": 1}
    return (
        orjson.dumps(value)
        if draw(st.booleans())
        else json.dumps(value, indent=draw(st.sampled_from([None, 1]))).encode()
    )


class Pieces(httpx.SyncByteStream, httpx.AsyncByteStream):
    """``body`` arriving in pieces of the given sizes (the last size repeated), to a sync or an async client."""

    def __init__(self, body: bytes, sizes: list[int]) -> None:
        self.body, self.sizes = body, sizes

    def __iter__(self) -> Iterator[bytes]:
        start, sizes, size = 0, iter(self.sizes), 1
        while start < len(self.body):
            size = next(sizes, size)
            yield self.body[start : start + size]
            start += size

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self:
            yield piece


def serving(body: bytes, pieces: list[int]) -> httpx.MockTransport:
    """Answers every listing with ``body``, arriving in ``pieces``."""
    return httpx.MockTransport(
        lambda request: httpx.Response(200, headers={"content-type": "application/json"}, stream=Pieces(body, pieces))
    )


def outcome(build: Any) -> Any:
    """What ``build()`` gives, or that it failed with one of runql's errors (anything else propagates)."""
    try:
        return build()
    except RunQLError:
        return RunQLError


def client(transport: httpx.MockTransport) -> RunRegistry:
    return RunRegistry("http://rr.test", transport=transport, env_file=False, retries=0)


@scaled(0.8)
@given(listings(), st.lists(st.integers(1, 300), min_size=1, max_size=6), st.integers(1, 4))
def test_frames_and_models_of_a_streamed_listing_are_those_of_the_whole_body(
    body: bytes, pieces: list[int], chunk: int
) -> None:
    """Also whatever the frame's chunks: columns first seen in a later chunk are filled in place."""
    rows = orjson.loads(body)["runs"]
    with client(serving(body, pieces)) as rr, mock.patch.object(frames, "_CHUNK", chunk):
        frame = outcome(lambda: rr.get_runs(filter={}, output="dataframe"))
        models = outcome(lambda: [r.model_dump() for r in rr.get_runs(filter={})])
    expected_frame = outcome(lambda: wire_frame("runs", rows))  # in one chunk
    if isinstance(expected_frame, pd.DataFrame) and len(rows):
        assert isinstance(frame, pd.DataFrame)
        pd.testing.assert_frame_equal(frame, expected_frame, check_exact=True)
    else:
        assert frame is expected_frame or (frame.empty and expected_frame.empty)
    expected_models = outcome(lambda: [Run.model_validate(row).model_dump() for row in rows])
    assert models == expected_models


# ---- sync and async alike --------------------------------------------------------------------------------------
TRICKY_RUNS = [
    make_run(n, hlt_key='/cdaq/"physics"\\v1 é😀', note='}, {"run_number": 1', weird=[[[[{"runs": []}]]]])
    for n in range(1300, 1200, -1)
]


async def _async_runs(transport: httpx.MockTransport, output: str) -> Any:
    async with AsyncRunRegistry("http://rr.test", transport=transport, env_file=False, retries=0) as rr:
        return await rr.get_runs(filter={}, output=output)  # type: ignore[call-overload]


@pytest.mark.parametrize("pieces", [[1], [3, 5, 7], [4096]])
@pytest.mark.parametrize("output", ["models", "dataframe"])
def test_the_async_client_streams_exactly_what_the_sync_client_does(pieces: list[int], output: str) -> None:
    body = orjson.dumps({"runs": TRICKY_RUNS, "count": len(TRICKY_RUNS), "pages": 1})
    with client(serving(body, pieces)) as rr:
        sync = rr.get_runs(filter={}, output=output)  # type: ignore[call-overload]
    asynchronous = anyio.run(_async_runs, serving(body, pieces), output)
    if output == "dataframe":
        pd.testing.assert_frame_equal(asynchronous, sync, check_exact=True)
        pd.testing.assert_frame_equal(sync, wire_frame("runs", orjson.loads(body)["runs"]), check_exact=True)
    else:
        assert [r.model_dump() for r in asynchronous] == [r.model_dump() for r in sync]
        assert [r.model_dump() for r in sync] == [Run.model_validate(r).model_dump() for r in TRICKY_RUNS]


def _expiring_midway(fake: FakeService, after: int) -> httpx.MockTransport:
    """The service's tokens all expire once ``after`` listing pages have been answered; bodies arrive in pieces."""
    fake.valid_tokens = set()
    answered = [0]

    def handler(request: httpx.Request) -> httpx.Response:
        response = fake(request)
        if request.url.path.endswith("_filtered_ordered") and response.status_code == 200:
            answered[0] += 1
            if answered[0] == after:
                fake.valid_tokens = set()
        body = response.read()
        return httpx.Response(response.status_code, headers=response.headers, stream=Pieces(body, [5, 11]))

    return httpx.MockTransport(handler)


CREDENTIALS = {"client_id": "app", "client_secret": "secret-9c1e", "token_url": TOKEN_URL, "audience": "rr"}


def test_a_401_mid_listing_refreshes_the_token_and_the_streamed_result_is_exact() -> None:
    runs = [make_run(n) for n in range(1100, 1000, -1)]
    fake = FakeService(runs=runs)
    options = {"env_file": False, "backoff": 0.001, "page_size": 10, "concurrency": 1, **CREDENTIALS}
    with RunRegistry("http://rr.test", transport=_expiring_midway(fake, after=4), **options) as rr:  # type: ignore[arg-type]
        got = [r.run_number for r in rr.get_runs(filter={})]
    assert got == [r["run_number"] for r in runs]
    assert fake.token_requests == 2

    async def fetch() -> list[int]:
        again = FakeService(runs=runs)
        transport = _expiring_midway(again, after=4)
        async with AsyncRunRegistry("http://rr.test", transport=transport, **options) as rr:  # type: ignore[arg-type]
            numbers = [r.run_number for r in await rr.get_runs(filter={})]
        assert again.token_requests == 2
        return numbers

    assert anyio.run(fetch) == got


def runs_of(transport: httpx.MockTransport, asynchronous: bool) -> Any:
    if asynchronous:
        return anyio.run(_async_runs, transport, "models")
    with client(transport) as rr:
        return rr.get_runs(filter={})


@pytest.mark.parametrize("asynchronous", [False, True])
def test_an_error_answer_arriving_in_pieces_is_the_service_s_message(asynchronous: bool) -> None:
    """A non-200 body is read whole, whatever its pieces, never fed to the page's reader."""
    body = orjson.dumps({"err": 'relation "runs" does not exist'})
    transport = httpx.MockTransport(lambda request: httpx.Response(500, stream=Pieces(body, [1, 2, 3])))
    with pytest.raises(ServiceError, match=r'answered 500: relation "runs" does not exist$'):
        runs_of(transport, asynchronous)


@pytest.mark.parametrize(
    ("body", "count"),
    [
        (b'{"count": 9, "runs": [{"run_number": 1}], "count": 1}', 1),  # a repeated member: the last, as orjson
        (b'{"runs": [{"run_number": 1, "x": 1, "x": [2]}], "count": 1}', 1),  # a repeated key in a row
    ],
)
def test_repeated_keys_give_what_orjson_gives(body: bytes, count: int) -> None:
    with client(serving(body, [3])) as rr:
        typed = rr.get_runs(filter={})
        dicts = rr.get_runs(filter={}, compress_attributes=False)
    assert typed.total == dicts.total == count
    assert [r.model_dump(exclude_unset=True) for r in typed] == [
        Run.model_validate(r).model_dump(exclude_unset=True) for r in orjson.loads(body)["runs"]
    ]
    assert list(dicts) == orjson.loads(body)["runs"]


@pytest.mark.parametrize("text", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
@pytest.mark.parametrize("how", [{}, {"compress_attributes": False}, {"output": "dataframe"}])
def test_numbers_orjson_refuses_are_a_service_error_on_every_path(text: bytes, how: dict[str, Any]) -> None:
    """Node's JSON.stringify writes null for NaN and infinities; a body that has them anyway is refused alike."""
    body = b'{"runs": [{"run_number": 1, "oms_attributes": {"energy": ' + text + b'}}], "count": 1}'
    with client(serving(body, [4])) as rr, pytest.raises(ServiceError, match="does not match the schema"):
        rr.get_runs(filter={}, **how)
