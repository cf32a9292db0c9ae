"""Listing rows packed as they arrive: JSON compressed in blocks, each page read as its body streams in; the frames
and models made from them equal those made from the plain JSON, whatever the chunks and the order of the pages."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pandas as pd
import pytest
from client_fakes import FakeService, make_run

from client import PartialResultError, RunRegistry, ServiceError
from client import frames as frames_module
from client.frames import blobs_frame, runs_frame
from client.pagination import DecodedPage
from client.wire import BLOCK_ROWS, PackedBlock, PackedReader, RowReader, pack_rows, row_blob, row_texts
from schemas import Run

ROWS = 2 * BLOCK_ROWS + 5  # three blocks, the last one short


def _page(rows: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"runs": rows, "count": len(rows)})


def _varied(count: int) -> list[dict[str, Any]]:
    """Runs with nulls, missing keys, a missing section and unknown attributes spread over the blocks."""
    runs = [make_run(n, start_time="2018-05-01T10:00:00Z", fill_number=6500 + n) for n in range(count, 0, -1)]
    for index, run in enumerate(runs):
        if index % 7 == 0:
            run["oms_attributes"]["start_time"] = None
        if index % 11 == 0:
            del run["oms_attributes"]["energy"]
        if index % 13 == 0:
            run.pop("rr_attributes")
        if index % 17 == 0:
            run["oms_attributes"]["new_key"] = f"x{index}"
    return runs


def test_packed_rows_give_back_each_row_s_json_across_blocks() -> None:
    texts = [orjson.dumps({"run_number": n, "name": "é" * (n % 5)}) for n in range(ROWS)]
    rows = pack_rows(texts)
    assert len({id(row.block) for row in rows}) == 3
    assert list(row_texts(rows)) == texts
    assert list(row_texts(reversed(rows))) == texts[::-1]  # out of order: each row is still its own
    read = RowReader()
    assert [read(rows[i]) for i in (70, 3, 131, 0)] == [texts[i] for i in (70, 3, 131, 0)]
    assert read(b"{}") == b"{}"  # plain bytes pass through
    block = rows[0].block
    assert len(block.data) * 4 < sum(map(len, texts[:BLOCK_ROWS]))  # compressed
    assert PackedBlock.of([]).texts() == []


def _read(content: bytes, chunk: int, with_wire: bool = False) -> DecodedPage:
    reader = PackedReader("runs", with_wire)
    for start in range(0, len(content), chunk):
        reader.feed(content[start : start + chunk])
    return reader.result()


@pytest.mark.parametrize("chunk", [1, 7, 4096, 10**9])
def test_the_streaming_reader_equals_plain_decoding_whatever_the_chunks(chunk: int) -> None:
    content = _page(_varied(ROWS))
    plain = orjson.loads(content)  # the reference: the whole page parsed at once
    packed = _read(content, chunk)
    assert packed.count == plain["count"] == ROWS
    assert packed.keys == [row["run_number"] for row in plain["runs"]]
    assert list(row_texts(packed.rows)) == [row_blob(row) for row in plain["runs"]]
    assert len({id(row.block) for row in packed.rows}) == 3
    union = _read(content, chunk, with_wire=True)  # a union's page: also the wire rows, for sorting
    assert union.wire == orjson.loads(content)["runs"]
    assert list(row_texts(union.rows)) == list(row_texts(packed.rows))


@pytest.mark.parametrize("chunk", [1, 4096])
def test_a_converting_reader_keeps_what_convert_makes_of_each_row(chunk: int) -> None:
    rows = _varied(ROWS)
    content = _page(rows)
    reader = PackedReader("runs", False, convert=lambda row: (row["run_number"], len(row)))
    for start in range(0, len(content), chunk):
        reader.feed(content[start : start + chunk])
    page = reader.result()
    assert page.rows == [(row["run_number"], len(row)) for row in rows]
    assert page.keys == [row["run_number"] for row in rows]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (_page([make_run(2), {"name": "no run number"}, make_run(1)]), "runs.1: a row needs an integer 'run_number'"),
        (b'{"runs": [{"run_number": 1}], "count": -1}', "count: Input should be an integer >= 0"),
        (b'{"runs": [{"run_number": 1}]}', "count: Field required"),
        (b'{"runs": {"run_number": 1}, "count": 1}', "runs: Input should be a valid list"),
        (b'{"runs": [{"run_number": 1}', "ends before the JSON does"),
        (b"<html>Bad gateway</html>", "expected {, got b'<'"),
    ],
)
def test_a_bad_page_is_a_value_error_naming_the_field(content: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        _read(content, 5)


def _waiting_in_reverse(fake: FakeService, pages: int) -> Callable[[httpx.Request], httpx.Response]:
    """Pages 1..pages-1 answer last first: page p waits until page p+1 has answered (no sleeps)."""
    answered = {p: threading.Event() for p in range(pages + 1)}
    answered[pages].set()

    def handler(request: httpx.Request) -> httpx.Response:
        page = orjson.loads(request.content).get("page", 0) if request.content else 0
        if page > 0:
            assert answered[page + 1].wait(10)
        response = fake(request)
        answered[page].set()
        return response

    return handler


def test_frames_of_pages_arriving_out_of_order_equal_the_models_frame() -> None:
    runs = _varied(ROWS)
    fake = FakeService(runs=runs)
    transport = httpx.MockTransport(_waiting_in_reverse(fake, pages=4))
    with RunRegistry("http://rr.test", transport=transport, env_file=False, page_size=40, concurrency=4) as rr:
        direct = rr.get_runs(output="dataframe")
        typed = rr.get_runs()
    expected = runs_frame([Run.model_validate(r) for r in runs])
    pd.testing.assert_frame_equal(direct, expected)
    pd.testing.assert_frame_equal(typed.to_pandas(), expected)
    assert [r.run_number for r in typed] == [r["run_number"] for r in runs]
    assert typed[5] == Run.model_validate(runs[5])
    pd.testing.assert_frame_equal(blobs_frame("runs", [orjson.dumps(r) for r in runs]), expected)


@pytest.mark.parametrize(
    "bad_page",
    [
        httpx.Response(500, json={"err": "boom"}),
        httpx.Response(200, content=_page([make_run(5), {"run_number": "x"}])),  # a bad row halfway
        httpx.Response(200, content=b'{"runs": [{"run_number": 9}'),  # cut off
    ],
)
def test_a_page_failing_halfway_gives_no_partial_frame(bad_page: httpx.Response) -> None:
    fake = FakeService(runs=_varied(100))
    fake.fail("/runs_filtered_ordered", 1, *[bad_page] * 10)
    with RunRegistry(
        "http://rr.test", transport=httpx.MockTransport(fake), env_file=False, page_size=40, backoff=0.001
    ) as rr:
        with pytest.raises(PartialResultError) as caught:
            rr.get_runs(output="dataframe")
        assert isinstance(caught.value.__cause__, ServiceError)
        fetched = caught.value.rows
        assert len(fetched) == 60  # pages 0 and 2, said to be partial; never a frame
        assert fetched.to_pandas()["run_number"].tolist() == list(range(100, 60, -1)) + list(range(20, 0, -1))
        fake.script.clear()  # the service recovers
        resumed = rr.get_runs(output="dataframe", resume_from=caught.value.resume_from)
    assert resumed["run_number"].tolist() == list(range(100, 0, -1))


def test_large_frames_first_give_the_fetch_s_freed_memory_back(monkeypatch: pytest.MonkeyPatch) -> None:
    trims: list[int] = []
    monkeypatch.setattr(frames_module, "_malloc_trim", lambda: trims.append)
    monkeypatch.setattr(frames_module, "_TRIM_ROWS", 30)
    fake = FakeService(runs=_varied(30))
    with RunRegistry("http://rr.test", transport=httpx.MockTransport(fake), env_file=False, page_size=7) as rr:
        rr.get_runs(output="dataframe")
        assert trims == [0]
        typed = rr.get_runs()
        typed.to_pandas()
        assert trims == [0, 0]
        rr.get_runs(limit=29, output="dataframe")
        rr.get_runs(limit=29).to_pandas()
    assert trims == [0, 0]  # smaller frames: nothing to give back


def test_giving_memory_back_is_safe_on_any_c_library() -> None:
    frames_module.release_free_memory(10**9)  # glibc's malloc_trim, or nothing where there is none
    trim = frames_module._malloc_trim()
    assert trim is None or callable(trim)
