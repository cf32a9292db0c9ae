"""``client.transport.interpret`` answers with public, documented types only (``transport.Verdict``)."""

from __future__ import annotations

import typing

import httpx
import pytest

from client import transport
from client.errors import AuthError, RunQLError, ServiceError
from client.transport import Call, Reply, Retryable, Unauthorized, interpret

READ = Call("POST", "/runs_filtered_ordered")
WRITE = Call("POST", "/runs/move_run/OPEN/SIGNOFF", idempotent=False)


@pytest.mark.parametrize(
    ("status", "body", "call", "expected"),
    [
        (200, b'{"runs": []}', READ, Reply(200, {"runs": []})),
        (503, b"busy", READ, Retryable("HTTP 503: busy")),
        (429, b'{"message": "slow down"}', WRITE, Retryable("HTTP 429: slow down")),
        (401, b'{"message": "expired"}', READ, Unauthorized("expired")),
    ],
)
def test_answers_are_classified_into_public_verdicts(status: int, body: bytes, call: Call, expected: object) -> None:
    assert interpret(status, body, httpx.Headers(), call) == expected


@pytest.mark.parametrize(
    ("status", "body", "call", "error", "message"),
    [
        (500, b'{"err": "run 1 does not exist"}', READ, ServiceError, "run 1 does not exist"),
        (503, b"busy", WRITE, ServiceError, "busy"),  # a write may have been applied: not retried
        (403, b'{"message": "forbidden"}', READ, AuthError, "forbidden"),
        (200, b"<html>login</html>", READ, ServiceError, "not JSON"),
    ],
)
def test_errors_are_returned_as_the_error_to_raise(
    status: int, body: bytes, call: Call, error: type[RunQLError], message: str
) -> None:
    verdict = interpret(status, body, httpx.Headers(), call)
    assert isinstance(verdict, error)
    assert message in str(verdict)


def test_retry_after_is_read_from_the_headers() -> None:
    verdict = interpret(503, b"", httpx.Headers({"retry-after": "7"}), READ)
    assert verdict == Retryable("HTTP 503: (empty body)", retry_after=7.0)


def test_every_verdict_type_is_public_and_exported() -> None:
    hints = typing.get_type_hints(interpret, globalns=vars(transport))
    members = typing.get_args(hints["return"])
    assert set(members) == {Reply, Retryable, Unauthorized, RunQLError}
    for member in members:
        assert not member.__name__.startswith("_")
        assert member.__doc__
    assert {"Reply", "Retryable", "Unauthorized", "Verdict", "interpret"} <= set(transport.__all__)
