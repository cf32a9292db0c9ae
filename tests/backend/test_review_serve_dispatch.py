"""Review of the route table: whatever a client sends, the service answers what Starlette's router answered before
the table (same status, headers and body), and integers it cannot read are refused with a clear ``{"err"}``."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import pytest
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.app import Limits, create_app
from backend.auth import AuthConfig
from backend.demo import generate
from backend.store import Store

#: Not a run of the registry: write routes are sent it, so no request changes the store.
ABSENT_RUN = 1
METHODS = ("GET", "POST", "PUT", "HEAD", "OPTIONS")  # DELETE, PATCH, ...: as OPTIONS, no route has them


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    with Store.open() as opened:
        opened.load(generate(runs=6, seed=3))
        yield opened


def variants(path: str, number: str) -> list[str]:
    """``path`` with its parameters filled in, and the near misses a client may send."""
    filled = path.format(run_number=number, table="online", from_state="OPEN", to_state="SIGNOFF", workspace="csc")
    return [
        filled,
        filled + "/",
        filled + "?page=1&x=%7B",
        filled.replace("/", "//", 1),
        filled.upper(),
        filled + "%20",
        filled + "/extra",
        filled.replace(number, "%3" + number[0] + number[1:]),  # a percent-encoded digit
        filled.replace(number, "a%2Fb"),  # an encoded slash
        filled.replace(number, ""),  # an empty segment
        filled.replace("/online", "/"),
    ]


def bodies(number: int) -> list[bytes]:
    lumis = {"run_number": number, "dataset_name": "online"}
    return [
        b"",
        b"not json",
        b"[]",
        b'"text"',
        b"{" * 300,  # deeper than the parser allows
        b'{"run_number": NaN}',
        b"\xff\xfe\x00",
        json.dumps(lumis).encode(),
        json.dumps({**lumis, "run_number": str(number)}).encode(),
        json.dumps({"page": 0, "page_size": 2, "filter": {}, "sortings": []}).encode(),
    ]


def requests(app: Starlette, run: int) -> Iterator[tuple[str, str, bytes]]:
    """Every route with every method and its near misses; hostile bodies to the route itself."""
    for route in app.routes:
        if not isinstance(route, Route):
            continue
        write = route.methods is not None and not {"GET", "HEAD"} & route.methods
        number = ABSENT_RUN if write else run
        paths = variants(route.path, str(number))
        for path, method in itertools.product(paths, METHODS):
            own = path == paths[0] and method in (route.methods or ())
            for body in bodies(number) if own else [b"{}"]:
                yield method, path, body


async def sent(app: ASGIApp, method: str, target: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> list[Any]:
    """Every message ``app`` sends for one request, as a server would hand it over (the path percent-decoded)."""
    path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(path),
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"rr.test"), (b"content-length", b"%d" % len(body)), *headers],
        "server": ("rr.test", 80),
        "client": ("127.0.0.1", 50000),
    }
    messages: list[Any] = [{"type": "http.request", "body": body, "more_body": False}]
    out: list[Any] = []

    async def receive() -> Any:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        out.append(message)

    await app(scope, receive, send)
    return out


def reply(app: ASGIApp, method: str, path: str, body: Any) -> tuple[int, Any]:
    """``app``'s status and JSON reply to one request with the JSON ``body`` (none when ``None``)."""
    messages = asyncio.run(sent(app, method, path, b"" if body is None else json.dumps(body).encode(), []))
    return messages[0]["status"], json.loads(messages[1]["body"])


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"rr_quirks": True},
        {"auth": AuthConfig({"app": ("secret", "reader")})},
        {"limits": Limits(body_bytes=64)},
    ],
)
def test_the_table_answers_every_request_as_starlettes_router_did(store: Store, options: dict[str, Any]) -> None:
    """With and without ``--rr-quirks``, with auth (a reader's token: writes are refused), and with a body limit
    that the longer bodies exceed."""
    app = create_app(store, **options)

    async def starlette_only(scope: Scope, receive: Receive, send: Send) -> None:
        await Starlette.__call__(app, scope, receive, send)  # the router of every request before the table

    async def compare() -> int:
        headers = []
        if "auth" in options:
            form = b"grant_type=client_credentials&client_id=app&client_secret=secret"
            reply = (await sent(app, "POST", "/auth/token", form, []))[1]
            token = json.loads(reply["body"])["access_token"]
            headers = [(b"authorization", f"Bearer {token}".encode())]
        run, answered = store.registry_runs()[1][0], 0
        for method, path, body in requests(app, run):
            got = await sent(app, method, path, body, headers)
            assert got == await sent(starlette_only, method, path, body, headers), (method, path, body)
            answered += got[0]["status"] == 200
        return answered

    answered = asyncio.run(compare())
    assert answered > 50  # many of them reached a handler and were answered


@pytest.mark.parametrize(
    ("method", "path", "body", "error"),
    [
        ("GET", "/runs/--5", None, "run_number must be an integer, got '--5'"),
        ("GET", "/runs/²", None, "run_number must be an integer, got '²'"),
        ("GET", "/runs/٣٢١", None, "run_number must be an integer, got '٣٢١'"),  # Arabic-Indic digits
        ("GET", "/get_all_dataset_names_of_run/--1", None, "run_number must be an integer, got '--1'"),
        ("PUT", "/manual_run_edit/²/class", {"class": "Cosmics18"}, "run_number must be an integer, got '²'"),
        ("POST", "/json_portal/json", {"id_json": "--1"}, "id_json must be an integer, got '--1'"),
        (
            "POST",
            "/lumisections/rr_lumisections",
            {"run_number": 2**63, "dataset_name": "online"},
            "run_number must be a 64-bit integer, got 9223372036854775808",
        ),
        (
            "POST",
            "/datasets/get_dataset",
            {"run_number": -(2**70), "dataset_name": "online"},
            "run_number must be a 64-bit integer, got -1180591620717411303424",
        ),
        (
            "POST",
            "/lumisections/oms_lumisection_ranges",
            {"run_number": "1" * 19},
            f"run_number must be an integer, got '{'1' * 19}'",
        ),
    ],
)
def test_unreadable_integers_are_refused_with_a_clear_error(
    store: Store, caplog: pytest.LogCaptureFixture, method: str, path: str, body: Any, error: str
) -> None:
    """Like PostgreSQL's "invalid input syntax for type integer": refused, never read as another number, and
    never an "internal server error" logged as a crash."""
    with caplog.at_level(logging.ERROR, logger="backend.app"):
        answer = reply(create_app(store), method, path, body)
    assert answer == (500, {"err": error})
    assert not caplog.records


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        ("/lumisections/rr_lumisections", {"run_number": 2**63 - 1, "dataset_name": "online"}, []),
        ("/lumisections/rr_lumisections", {"run_number": -(2**63), "dataset_name": "online"}, []),
        ("/lumisections/rr_lumisections", {"run_number": "-12", "dataset_name": "/x/y"}, []),
        ("/lumisections/rr_lumisection_ranges_by_component", {"run_number": "0", "dataset_name": "online"}, {}),
        ("/datasets/get_dataset", {"run_number": "-" + "9" * 17, "dataset_name": "online"}, None),
    ],
)
def test_integers_at_the_bounds_are_still_read(store: Store, path: str, body: Any, expected: Any) -> None:
    assert reply(create_app(store), "POST", path, body) == (200, expected)
