"""Regressions found reviewing the streaming listing path: each input once escaped as a bare builtin or httpx error,
or gave another answer than ``orjson.loads`` of the whole body."""

from __future__ import annotations

import gzip
import re
import zlib
from typing import Any

import httpx
import orjson
import pandas as pd
import pytest
from client_fakes import FakeService, make_dataset, make_run

from client import AsyncRunRegistry, RunQLError, RunRegistry, ServiceError, TransportError
from client.frames import blobs_frame, runs_frame, wire_frame
from client.jsonsplit import RowSplitter
from client.lumitable import _brief
from client.wire import PackedReader
from schemas import Run

JSON = {"content-type": "application/json"}


def nested(depth: int) -> bytes:
    return b"[" * depth + b"0" + b"]" * depth


def run_with(extra: bytes) -> bytes:
    """A run's JSON with one more OMS attribute, ``weird``, whose text is ``extra``."""
    run = orjson.dumps(make_run(5))
    return run.replace(b'"oms_attributes":{', b'"oms_attributes":{"weird":' + extra + b",", 1)


def page(row: bytes) -> bytes:
    return b'{"runs":[' + row + b'],"count":1,"pages":1}'


def serving(body: bytes, headers: dict[str, str] | None = None) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(200, content=body, headers=headers or JSON))


def split_whole(body: bytes) -> tuple[list[Any], dict[str, Any]]:
    splitter = RowSplitter("runs")
    rows = splitter.feed(body) + splitter.close()
    return rows, splitter.members


def read(reader: PackedReader, *chunks: bytes) -> Any:
    for chunk in chunks:
        reader.feed(chunk)
    return reader.result()


def registry(transport: httpx.MockTransport, **options: Any) -> RunRegistry:
    """A client of ``transport`` (no retries unless asked; retries without waiting)."""
    return RunRegistry(
        "http://rr.test", transport=transport, **{"env_file": False, "retries": 0, "backoff": 0.001, **options}
    )


def get_runs(transport: httpx.MockTransport, output: str, retries: int = 0) -> Any:
    with registry(transport, retries=retries) as rr:
        runs = rr.get_runs(filter={}, output=output)  # type: ignore[call-overload]
        return runs if output == "dataframe" else [r.run_number if output == "models" else r for r in runs]


# ---- nesting: what orjson reads but cannot write, or pydantic-core cannot read ---------------------------------
@pytest.mark.parametrize("output", ["models", "dataframe"])
def test_a_row_too_deep_to_pack_is_a_service_error(output: str) -> None:
    """300 levels: orjson reads it (limit 1024) but cannot write it back (limit 254); was a bare TypeError."""
    body = page(run_with(nested(300)))
    assert orjson.loads(body)["count"] == 1
    with pytest.raises(ServiceError, match=r"runs\.0: .*too deep"):
        get_runs(serving(body), output)


def test_a_row_pydantic_core_cannot_read_still_makes_the_frame_orjson_gives() -> None:
    """220 levels: orjson writes it, pydantic-core refuses to read it (limit about 200); was a bare ValueError."""
    body = page(run_with(nested(220)))
    frame = get_runs(serving(body), "dataframe")
    expected = wire_frame("runs", orjson.loads(body)["runs"])
    pd.testing.assert_frame_equal(frame, expected)
    assert frame["weird"][0] == orjson.loads(nested(220))


@pytest.mark.parametrize("where", ["first row", "later row", "member"])
def test_nesting_beyond_orjson_s_limit_in_the_body_is_refused_like_orjson(where: str) -> None:
    """Rows were parsed on their own, one or two levels shallower than in the body, so a body orjson refuses
    (deeper than 1024 levels in all) was accepted."""
    for depth in (1021, 1022, 1023):
        value = b"[" * depth + b"]" * depth
        body = {
            "first row": b'{"runs":[' + value + b'],"count":1}',
            "later row": b'{"runs":[{"a":1},' + value + b"," + value + b'],"count":2}',
            "member": b'{"count":' + value + b',"runs":[]}',
        }[where]
        try:
            expected: Any = orjson.loads(body)
        except orjson.JSONDecodeError:
            expected = None
        if expected is None:
            with pytest.raises(ValueError, match="not JSON"):
                split_whole(body)
        else:
            rows, members = split_whole(body)  # too deep for ==: compare the shape
            assert len(rows) == len(expected["runs"])
            assert members.keys() == expected.keys() - {"runs"}


def test_later_rows_parsed_in_one_batch_are_held_to_the_same_depth() -> None:
    row = b'{"run_number":1,"x":' + b"[" * 1022 + b"]" * 1022 + b"}"
    body = b'{"runs":[' + b",".join([row] * 4) + b'],"count":4}'
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(body)
    with pytest.raises(ValueError, match="not JSON"):
        split_whole(body)


# ---- a converting reader ------------------------------------------------------------------------------------
@pytest.mark.parametrize("cache", [b'"x"', b"7", b"[1]"])
def test_a_row_convert_cannot_read_is_a_value_error_naming_the_row(cache: bytes) -> None:
    """lumisection_table converts each dataset row as it comes; a row of the wrong shape was a bare
    AttributeError out of the transport."""
    good = orjson.dumps(make_dataset(7, "/PromptReco/Collisions2018A/DQM"))
    bad = b'{"run_number":6,"name":"/x","DatasetTripletCache":' + cache + b"}"
    reader = PackedReader("datasets", False, convert=_brief)
    reader.feed(b'{"datasets":[' + good + b",")
    with pytest.raises(ValueError, match=r"^datasets\.1: "):
        read(reader, bad + b'],"count":2}')


# ---- values out of a column's range -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("column", "run"),
    [
        ("run_number", make_run(2**64 - 1)),
        ("fill_number", make_run(5, fill_number=2**63)),
        ("version", {**make_run(5), "version": 2**63}),
    ],
)
def test_an_integer_beyond_int64_is_an_error_naming_the_column(column: str, run: dict[str, Any]) -> None:
    """Was a bare ``TypeError: cannot safely cast non-equivalent uint64 to int64`` on both paths."""
    body = orjson.dumps({"runs": [run], "count": 1})
    rows = orjson.loads(body)["runs"]
    for build in (lambda: wire_frame("runs", rows), lambda: blobs_frame("runs", [orjson.dumps(r) for r in rows])):
        with pytest.raises(RunQLError, match=f"column '{column}': .*Int64"):
            build()


# ---- content-encoding -------------------------------------------------------------------------------------------
ENCODINGS = {"gzip": gzip.compress, "deflate": zlib.compress}


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
@pytest.mark.parametrize("output", ["models", "dataframe", "dicts"])
def test_an_encoded_reply_is_decoded_before_the_sink_sees_it(encoding: str, output: str) -> None:
    """A proxy may compress (the client asks for gzip and deflate): the streamed rows are those of the plain body."""
    fake = FakeService(runs=[make_run(n) for n in range(1200, 1000, -1)])

    def handler(request: httpx.Request) -> httpx.Response:
        plain = fake(request)
        body = ENCODINGS[encoding](plain.read())
        pieces = iter([body[i : i + 53] for i in range(0, len(body), 53)])  # arriving in small pieces
        return httpx.Response(200, headers={**JSON, "content-encoding": encoding}, content=pieces)

    got = get_runs(httpx.MockTransport(handler), output)
    expected = get_runs(httpx.MockTransport(fake), output)
    if output == "dataframe":
        pd.testing.assert_frame_equal(got, expected)
    else:
        assert got == expected
        assert len(got) == 200


CORRUPT = {"content-type": "application/json", "content-encoding": "gzip"}


@pytest.mark.parametrize("output", ["models", "dicts"])
def test_a_corrupt_encoded_body_is_retried_then_a_transport_error(output: str) -> None:
    """Was a bare ``httpx.DecodingError`` (not a TransportError, so not caught), streamed or not."""
    sent: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(1)
        return httpx.Response(200, content=b"\x1f\x8bnot gzip at all", headers=CORRUPT)

    with pytest.raises(TransportError, match="DecodingError") as caught:
        get_runs(httpx.MockTransport(handler), output, retries=2)
    assert caught.value.attempts == len(sent) >= 3


def test_a_body_that_decodes_after_a_corrupt_one_is_the_answer() -> None:
    good = gzip.compress(orjson.dumps({"runs": [make_run(9)], "count": 1}))
    replies = iter([b"\x1f\x8bnope", good])
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=next(replies), headers=CORRUPT))
    assert get_runs(transport, "models", retries=1) == [9]


@pytest.mark.anyio
async def test_the_async_client_retries_a_corrupt_encoded_body_too() -> None:
    good = gzip.compress(orjson.dumps({"runs": [make_run(9)], "count": 1}))
    replies = iter([b"\x1f\x8bnope", good])
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, content=next(replies, b"\x1f\x8bnope"), headers=CORRUPT)
    )
    async with AsyncRunRegistry("http://rr.test", transport=transport, env_file=False, backoff=0.001, retries=1) as rr:
        assert [r.run_number for r in await rr.get_runs(filter={})] == [9]
        with pytest.raises(TransportError, match="DecodingError"):
            await rr.get_runs(filter={})


@pytest.mark.parametrize(
    "body",
    [
        b'{"runs":[{"run_number":1,"x":' + nested(1015) + b'}],"count":1}',
        b'{"runs":[' + nested(1015) + b'],"count":1}',
        b'{"runs":' + nested(1015) + b',"count":1}',
    ],
)
def test_a_refused_deep_row_is_worded_without_a_recursion_error(body: bytes) -> None:
    """The message quoted the row with a plain repr: RecursionError past about 1,000 levels."""
    assert orjson.loads(body)["count"] == 1
    with pytest.raises(ValueError, match=r"^runs(\.0)?: .*\(got \[?.{0,80}\)$"):
        read(PackedReader("runs", False), body)


@pytest.mark.parametrize(
    ("summary", "column"),
    [
        ({"dt-dt": {"GOOD": 1.5}}, "dt-dt.GOOD"),
        ({"dt-dt": {"GOOD": 2**64 - 1}}, "dt-dt.GOOD"),
        ({"dt-dt": 5}, "dt-dt"),
        ({"dt-dt": [1]}, "dt-dt"),
        ({"dt-dt": None}, "dt-dt"),
    ],
)
def test_status_counts_the_models_refuse_are_an_error_naming_the_column(summary: Any, column: str) -> None:
    """Were bare TypeErrors and AttributeErrors (or, for null, counts of 0 where the models refuse the row)."""
    row = {**make_run(5), "DatasetTripletCache": {"triplet_summary": summary}}
    with pytest.raises(RunQLError, match=f"column '{re.escape(column)}': "):
        blobs_frame("runs", [orjson.dumps(row)])


@pytest.mark.parametrize(
    "row",
    [
        {"run_number": 1, "rr_attributes": 5},
        {"run_number": 1, "rr_attributes": [1]},
        {"run_number": 1, "DatasetTripletCache": [1]},
    ],
)
@pytest.mark.parametrize("how", [{"compress_attributes": True}, {"output": "dicts"}])
def test_a_row_the_public_shape_cannot_be_made_of_is_a_service_error(row: dict[str, Any], how: dict[str, Any]) -> None:
    """The whole-page path (the public client's dicts) let the compressing function's TypeError or AttributeError
    out; the typed path refuses the same row as a ServiceError."""
    body = orjson.dumps({"runs": [row], "count": 1})
    with (
        registry(serving(body)) as rr,
        pytest.raises(ServiceError, match="page 0: the reply does not match the schema: a row of an unexpected shape"),
    ):
        rr.get_runs(filter={}, **how)


@pytest.mark.parametrize("key", [[1], {"a": 1}])
@pytest.mark.parametrize("kind", ["runs", "datasets"])
@pytest.mark.parametrize("compress", [True, False])
def test_a_row_keyed_by_a_list_or_an_object_is_a_service_error(key: Any, kind: str, compress: bool) -> None:
    """The dicts path de-duplicated rows by a key it never checked: a bare ``TypeError: unhashable type``."""
    rows = [{"run_number": key, "name": "/a"}, {"run_number": 1, "name": "/a"}]
    if kind == "datasets":
        rows = [{"run_number": 1, "name": key}, rows[1]]
    body = orjson.dumps({kind: rows, "count": 2})
    with (
        registry(serving(body)) as rr,
        pytest.raises(ServiceError, match="a row without a usable key"),
    ):
        getattr(rr, f"get_{kind}")(filter={}, compress_attributes=compress)


DEEP_BODIES = [
    b'{"runs": [' + b"[" * 30000 + b"]" * 30000 + b'], "count": 1}',
    b'{"runs": [' + b"[" * 60000,
    b"[" * 5000,
]


@pytest.mark.parametrize("body", DEEP_BODIES)
@pytest.mark.parametrize("how", [{}, {"compress_attributes": False}])
@pytest.mark.parametrize("status", [200, 500])
def test_brackets_thousands_deep_are_a_service_error(body: bytes, how: dict[str, Any], status: int) -> None:
    """The refused page was worded by looking for the service's ``{"err"}`` with ``json.loads``, whose recursion
    raised a bare RecursionError (so did any answer that is not accepted)."""
    transport = httpx.MockTransport(lambda request: httpx.Response(status, content=body))
    with (
        registry(transport) as rr,
        pytest.raises(ServiceError, match=f"answered {status}: "),
    ):
        rr.get_runs(filter={}, **how)


@pytest.mark.parametrize("how", [{}, {"compress_attributes": False}])
def test_a_count_implying_too_many_pages_is_refused_at_once(how: dict[str, Any]) -> None:
    """A full first page with ``count: 10**12`` had the client plan 10**11 pages: unbounded time and memory."""
    rows = [make_run(n) for n in range(10, 0, -1)]
    sent: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(orjson.loads(request.content)["page"])
        return httpx.Response(200, content=orjson.dumps({"runs": rows, "count": 10**12}))

    with (
        registry(httpx.MockTransport(handler), page_size=10) as rr,
        pytest.raises(ServiceError, match=r"counts 1,000,000,000,000 runs: 100,000,000,000 pages of 10, more than"),
    ):
        rr.get_runs(filter={}, **how)
    assert sent == [0]
    with registry(httpx.MockTransport(handler), page_size=10) as rr:
        assert len(rr.get_runs(filter={}, limit=10)) == 10  # a limit needs one page: fine


def test_an_err_answer_nested_too_deep_to_print_is_a_service_error() -> None:
    """orjson reads ``{"err": [[[...]]]}`` 995 levels deep; ``str`` of it raised a bare RecursionError."""
    body = b'{"err": ' + nested(995) + b"}"
    transport = httpx.MockTransport(lambda request: httpx.Response(500, content=body))
    with (
        registry(transport) as rr,
        pytest.raises(ServiceError, match=r"answered 500: \[\[\[\[\[\[\[\.\.\.\]\]\]\]\]\]\]$"),
    ):
        rr.get_runs(filter={})


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59Z", "1600-01-01T00:00:00Z"])
def test_a_datetime_beyond_datetime64_ns_is_an_error_naming_the_column(when: str) -> None:
    """Was a bare ``pandas.errors.OutOfBoundsDatetime``, from models and from the wire alike."""
    run = make_run(5, start_time=when)
    with pytest.raises(RunQLError, match="column 'start_time': a datetime outside datetime64"):
        blobs_frame("runs", [orjson.dumps(run)])
    with pytest.raises(RunQLError, match="column 'start_time': a datetime outside datetime64"):
        runs_frame([Run.model_validate(run)])
