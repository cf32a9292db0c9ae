"""The service's golden-JSON job (``rr-protocol.md`` §8): submit, poll until done, return the final row.

``POST /json_portal/generate`` answers the job's ``id``; ``POST /json_portal/json {"id_json": id}`` answers
203 (queued), 202 ``{"progress": 0..1}``, 200 ``{"final_json": row}`` or 500 (failed). The operation polls
with the client's one token, reports progress, gives up after ``timeout`` seconds and stops when cancelled.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from client.engine import Batch, CancelRequestedError, Operation, Pause
from client.errors import JobError, RunQLError, ServiceError
from client.transport import Call, Reply

__all__ = ["JobProgress", "generate_call", "json_portal_job", "poll_call"]

#: Called with the job's progress: ``None`` while queued, else a fraction in [0, 1].
JobProgress = Callable[[float | None], None]


def generate_call(json_logic: object, dataset_name_filter: str) -> Call:
    """The submission: the rule as a JSON string (as the service stores it) and the ``SIMILAR TO`` pattern."""
    if not isinstance(dataset_name_filter, str) or not dataset_name_filter:
        raise TypeError(f"dataset_name_filter must be a non-empty string, got {dataset_name_filter!r}")
    if isinstance(json_logic, str):
        rule_text = json_logic
        json.loads(rule_text)  # a malformed rule fails here, before any request
    elif isinstance(json_logic, Mapping):
        rule_text = json.dumps(json_logic)
    else:
        raise TypeError(f"json_logic must be a dict or a JSON string, got {type(json_logic).__name__}")
    body = {"json_logic": rule_text, "dataset_name_filter": dataset_name_filter}
    # submitting again after a lost answer at worst starts an identical job
    return Call("POST", "/json_portal/generate", json=body, idempotent=False, repeatable=True)


def poll_call(job_id: object) -> Call:
    return Call("POST", "/json_portal/json", json={"id_json": job_id}, accept=frozenset({200, 202, 203}))


def json_portal_job(
    json_logic: object,
    dataset_name_filter: str,
    *,
    poll_interval: float = 2.0,
    timeout: float = 3600.0,
    on_progress: JobProgress | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Operation[dict[str, Any]]:
    """Submit the job and poll it; returns the service's final row (a dict)."""
    (submitted,) = yield Batch([generate_call(json_logic, dataset_name_filter)])
    job_id = _job_id(_reply(submitted))
    deadline = clock() + timeout
    while True:
        (answer,) = yield Batch([poll_call(job_id)])
        if isinstance(answer, ServiceError):
            raise JobError(f"failed on the server: {answer.message}", job_id=job_id) from answer
        reply = _reply(answer)
        if reply.status == 200:
            return _final_row(reply, job_id)
        if on_progress is not None:
            on_progress(_progress(reply))
        if clock() >= deadline:
            raise JobError(f"not finished after {timeout:g} s (still running on the server)", job_id=job_id)
        try:
            yield Pause(min(poll_interval, max(0.0, deadline - clock())))
        except CancelRequestedError:
            raise JobError("cancelled (the server may still finish it)", job_id=job_id) from None


def _reply(outcome: object) -> Reply:
    if isinstance(outcome, RunQLError):
        raise outcome
    assert isinstance(outcome, Reply)
    return outcome


def _job_id(reply: Reply) -> object:
    if not isinstance(reply.data, dict) or reply.data.get("id") is None:
        raise ServiceError(
            f"no job id in the answer: {reply.data!r}", status=reply.status, route="POST /json_portal/generate"
        )
    return reply.data["id"]


def _final_row(reply: Reply, job_id: object) -> dict[str, Any]:
    row = reply.data.get("final_json") if isinstance(reply.data, dict) else None
    if not isinstance(row, dict):
        raise JobError(f"finished without a final_json row: {str(reply.data)[:200]}", job_id=job_id)
    return row


def _progress(reply: Reply) -> float | None:
    if reply.status == 203 or not isinstance(reply.data, dict):
        return None
    value = reply.data.get("progress")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
