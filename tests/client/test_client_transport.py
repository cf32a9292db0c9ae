"""The retry core and the transports, offline with ``httpx.MockTransport``."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest
from testkit.settings import settings_for_tests

from client import AuthError, ServiceError, TransportError
from client.transport import AsyncTransport, Call, RetryPolicy, SyncTransport


class Script:
    """Answers requests from a list (responses, or exceptions to raise), recording them."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def _transport(script: Script, **changes: object) -> tuple[SyncTransport, list[float]]:
    sleeps: list[float] = []
    settings = settings_for_tests(**changes)
    return SyncTransport(settings, transport=httpx.MockTransport(script), sleep=sleeps.append), sleeps


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    policy = RetryPolicy(backoff=0.5, max_backoff=4.0)
    rng = random.Random(1)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)]:
        delays = [policy.delay(attempt, rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jittered


def test_gateway_errors_and_dropped_connections_are_retried() -> None:
    script = Script(
        httpx.Response(502), httpx.RemoteProtocolError("dropped"), httpx.Response(504), httpx.Response(200, json=[1])
    )
    transport, sleeps = _transport(script)
    assert transport.send(Call("GET", "/cycles/global")).data == [1]
    assert len(script.requests) == 4
    assert len(sleeps) == 3


def test_retry_after_is_honoured_in_seconds_and_as_a_date() -> None:
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    script = Script(
        httpx.Response(429, headers={"Retry-After": "3"}),
        httpx.Response(503, headers={"Retry-After": later}),
        httpx.Response(200, json={}),
    )
    transport, sleeps = _transport(script)
    transport.send(Call("GET", "/x"))
    assert sleeps[0] == 3.0
    assert 25 < sleeps[1] <= 30


def test_the_services_err_answer_is_not_retried() -> None:
    script = Script(httpx.Response(500, json={"err": "invalid input syntax for type integer"}))
    transport, sleeps = _transport(script)
    with pytest.raises(ServiceError, match="invalid input syntax") as caught:
        transport.send(Call("POST", "/runs_filtered_ordered", json={}))
    assert caught.value.route == "POST /runs_filtered_ordered"
    assert len(script.requests) == 1
    assert sleeps == []


def test_giving_up_says_how_often_it_tried() -> None:
    script = Script(*[httpx.ConnectError("refused")] * 3)
    transport, _ = _transport(script, retries=2)
    with pytest.raises(TransportError, match=r"ConnectError.*after 3 attempts") as caught:
        transport.send(Call("GET", "/x"))
    assert caught.value.attempts == 3


def test_writes_are_retried_only_when_the_request_never_left() -> None:
    script = Script(httpx.ConnectError("refused"), httpx.Response(200, json={"ok": 1}))
    transport, _ = _transport(script)
    assert transport.send(Call("POST", "/runs/mark_significant", json={}, idempotent=False)).data == {"ok": 1}
    script = Script(httpx.ReadTimeout("slow"))
    transport, _ = _transport(script)
    with pytest.raises(TransportError, match="not retried"):
        transport.send(Call("POST", "/runs/mark_significant", json={}, idempotent=False))
    script = Script(httpx.Response(503))
    transport, _ = _transport(script)
    with pytest.raises(ServiceError) as caught:
        transport.send(Call("POST", "/runs/mark_significant", json={}, idempotent=False))
    assert caught.value.status == 503
    assert len(script.requests) == 1


def test_unexpected_statuses_and_non_json_replies_are_service_errors() -> None:
    transport, _ = _transport(Script(httpx.Response(404, text="<html>nope</html>")))
    with pytest.raises(ServiceError, match="nope") as caught:
        transport.send(Call("GET", "/x"))
    assert caught.value.status == 404
    transport, _ = _transport(Script(httpx.Response(200, text="<html>proxy login</html>")))
    with pytest.raises(ServiceError, match="not JSON"):
        transport.send(Call("GET", "/x"))


def test_local_targets_send_the_email_header_and_no_token() -> None:
    script = Script(httpx.Response(200, json=None))
    transport, _ = _transport(script)
    assert transport.send(Call("GET", "/runs/1")).data is None
    assert script.requests[0].headers["email"] == "api@api"
    assert "authorization" not in script.requests[0].headers


def test_a_401_without_token_auth_is_an_auth_error() -> None:
    transport, _ = _transport(Script(httpx.Response(401, json={"message": "go away"})))
    with pytest.raises(AuthError, match="go away"):
        transport.send(Call("GET", "/x"))


@pytest.mark.anyio
async def test_the_async_transport_shares_the_same_rules() -> None:
    script = Script(httpx.Response(503), httpx.Response(500, json={"err": "boom"}))
    transport = AsyncTransport(settings_for_tests(backoff=0.001), transport=httpx.MockTransport(script))
    with pytest.raises(ServiceError, match="boom"):
        await transport.send(Call("GET", "/x"))
    assert len(script.requests) == 2
    await transport.aclose()
