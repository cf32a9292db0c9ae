"""Listing pages are streamed into their readers, and the transport's lean path through httpx keeps every behaviour
of ``httpx.Client``: the same headers and body, timeouts as the request extension, no redirect followed, the
environment's proxy; a body broken mid-stream is fetched again, never kept truncated."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from client_fakes import FakeService, make_run
from testkit.settings import settings_for_tests

from client import AsyncRunRegistry, PartialResultError, RunRegistry, ServiceError, TransportError
from client.transport import AsyncTransport, Call, SyncTransport, environment_proxy

RUNS = [make_run(n) for n in range(1100, 1000, -1)]


class Breaking(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that sends ``keep`` bytes of ``content`` in small chunks, then the connection drops."""

    def __init__(self, content: bytes, keep: int) -> None:
        self.content, self.keep = content, keep
        self.sent = 0

    def chunks(self) -> Iterator[bytes]:
        for start in range(0, self.keep, 97):
            chunk = self.content[start : min(start + 97, self.keep)]
            self.sent += len(chunk)
            yield chunk
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")

    def __iter__(self) -> Iterator[bytes]:
        return self.chunks()

    async def __aiter__(self) -> Any:
        for chunk in self.chunks():
            yield chunk


def _breaking_pages(fake: FakeService, breaks: int) -> tuple[Any, list[Breaking]]:
    """A handler whose listing pages break halfway ``breaks`` times each (the first attempts), then answer."""
    broken: list[Breaking] = []
    left: dict[int, int] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        response = fake(request)
        page = orjson.loads(request.content)["page"]
        left.setdefault(page, breaks)
        if left[page] == 0:
            return response
        left[page] -= 1
        body = response.read()
        broken.append(Breaking(body, keep=len(body) // 2))
        return httpx.Response(200, headers={"content-type": "application/json"}, stream=broken[-1])

    return handler, broken


@pytest.mark.parametrize("output", ["models", "dataframe", "dicts"])
def test_a_page_broken_mid_body_is_fetched_again_and_the_result_is_exact(output: str) -> None:
    fake = FakeService(runs=RUNS)
    handler, broken = _breaking_pages(fake, breaks=2)
    with RunRegistry(
        "http://rr.test", transport=httpx.MockTransport(handler), env_file=False, page_size=30, backoff=0.001
    ) as rr:
        runs = rr.get_runs(output=output)  # type: ignore[call-overload]
    if output == "dataframe":
        numbers = runs["run_number"].tolist()
    else:
        numbers = [r.run_number if output == "models" else r["run_number"] for r in runs]
    assert numbers == [r["run_number"] for r in RUNS]
    assert len(broken) == 2 * 4  # every page broke twice, halfway through its rows
    assert all(0 < b.sent < len(b.content) for b in broken)


def test_a_page_that_always_breaks_is_never_a_truncated_result() -> None:
    fake = FakeService(runs=RUNS)
    handler, broken = _breaking_pages(fake, breaks=10**6)
    with (
        RunRegistry(
            "http://rr.test",
            transport=httpx.MockTransport(handler),
            env_file=False,
            page_size=30,
            retries=2,
            sleep=lambda seconds: None,
        ) as rr,
        pytest.raises(TransportError, match="RemoteProtocolError") as caught,
    ):
        rr.get_runs(output="dataframe")
    assert caught.value.attempts >= 3
    assert broken


@pytest.mark.anyio
async def test_the_async_client_fetches_a_broken_page_again_too() -> None:
    fake = FakeService(runs=RUNS)
    handler, broken = _breaking_pages(fake, breaks=1)
    async with AsyncRunRegistry(
        "http://rr.test", transport=httpx.MockTransport(handler), env_file=False, page_size=30, backoff=0.001
    ) as rr:
        frame = await rr.get_runs(output="dataframe")
        later = await rr.get_runs(limit=40)
    assert frame["run_number"].tolist() == [r["run_number"] for r in RUNS]
    assert [r.run_number for r in later] == [r["run_number"] for r in RUNS[:40]]
    assert len(broken) == 4


def test_a_page_that_is_not_json_is_a_service_error_read_no_further() -> None:
    fake = FakeService(runs=RUNS)
    stream = Breaking(b"<html>" + b"x" * 10_000 + b"</html>", keep=10_000)
    fake.fail("/runs_filtered_ordered", 0, httpx.Response(200, stream=stream))
    fake.fail("/runs_filtered_ordered", 1, httpx.Response(500, content=b"<html>Internal Server Error</html>"))
    with RunRegistry("http://rr.test", transport=httpx.MockTransport(fake), env_file=False, page_size=30) as rr:
        with pytest.raises(ServiceError, match=r"page 0: the reply does not match the schema: expected \{"):
            rr.get_runs()
        assert stream.sent < 200  # refused at its first chunk: the rest was not read
        with pytest.raises(PartialResultError) as caught:
            rr.get_runs()
    assert "Internal Server Error" in str(caught.value)
    assert caught.value.__cause__.status == 500  # type: ignore[union-attr]


def _recorded(**changes: Any) -> tuple[SyncTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    return SyncTransport(
        settings_for_tests("http://rr.test:8080/api", **changes), transport=httpx.MockTransport(handler)
    ), seen


def test_requests_are_what_httpx_client_sent() -> None:
    transport, seen = _recorded(read_timeout=7.0, connect_timeout=3.0)
    body = {"filter": {"name": "é\u2028"}, "n": [1, 2.5, None]}
    transport.send(Call("POST", "/runs_filtered_ordered", json=body))
    transport.send(Call("GET", "/runs/1"))
    transport.send(Call("POST", "/runs_filtered_ordered", json=body))  # headers prepared once, used again

    def plain_httpx(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    with httpx.Client(transport=httpx.MockTransport(plain_httpx)) as client:
        headers = {"User-Agent": "runql/0.1.0", "Accept": "application/json", "email": "api@api"}
        client.post("http://rr.test:8080/api/runs_filtered_ordered", json=body, headers=headers)
    ours, get, again, theirs = seen
    assert ours.content == again.content == theirs.content
    assert ours.url == again.url == theirs.url
    assert dict(ours.headers) == dict(again.headers) == dict(theirs.headers)
    assert get.method == "GET"
    assert get.content == b""
    assert "content-length" not in get.headers
    assert get.headers["host"] == "rr.test:8080"
    assert ours.extensions["timeout"] == {"connect": 3.0, "read": 7.0, "write": 7.0, "pool": 7.0}


def test_a_redirect_is_not_followed_it_is_an_error() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"Location": "http://elsewhere.test/login"}, text="moved")

    transport = SyncTransport(settings_for_tests(), transport=httpx.MockTransport(handler))
    with pytest.raises(ServiceError, match="moved") as caught:
        transport.send(Call("GET", "/runs/1"))
    assert caught.value.status == 302
    assert seen == ["http://rr.test/runs/1"]


@pytest.mark.anyio
async def test_the_async_transport_sends_the_same_requests() -> None:
    sync, seen = _recorded()
    asynchronous = AsyncTransport(
        settings_for_tests("http://rr.test:8080/api"), transport=httpx.MockTransport(sync._http.handle_request)
    )
    sync.send(Call("POST", "/x", json={"a": 1}))
    assert (await asynchronous.send(Call("POST", "/x", json={"a": 1}))).data == {"ok": True}
    await asynchronous.aclose()
    first, second = seen
    assert dict(first.headers) == dict(second.headers)
    assert first.content == second.content
    assert first.extensions == second.extensions


def test_the_environment_s_proxy_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert environment_proxy("https://cmsrunregistry.web.cern.ch/api") is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,.internal.test")
    assert environment_proxy("https://cmsrunregistry.web.cern.ch/api") == "http://proxy.test:3128"
    assert environment_proxy("http://cmsrunregistry.web.cern.ch/api") is None
    assert environment_proxy("https://rr.internal.test/api") is None
    assert environment_proxy("") is None
