"""The service's golden-JSON job (``rr-protocol.md`` §8): submit, poll until the row is finished, return it.

``POST /json_portal/generate`` answers the job's ``id``; ``POST /json_portal/json {"id_json": id}`` answers
203 (queued), 202 ``{"progress": 0..1}``, 200 ``{"final_json": row}`` or 500 (failed). The service stores the
row in two phases: the first 200 can carry a row whose ``generated_anti_json`` is still ``{}`` and whose
``*_lost`` fields are −1. The operation keeps polling (progress ``"finishing"``) until every ``*_lost`` field
is ≥ 0, except for a rule the service can never finish (:func:`querylang.losses.finishes`), whose row is
returned as first stored. It polls with the client's one token, gives up after ``timeout`` seconds in all
and stops when cancelled.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from client.engine import Batch, CancelRequestedError, Operation, Pause, unwrap
from client.errors import ArgumentTypeError, JobError, ServiceError
from client.transport import Call, Reply
from querylang.errors import QueryLangError, RuleError
from querylang.jsontext import JsonTextError, loads_strict
from querylang.limits import check_nesting
from querylang.losses import finishes
from schemas.jsonportal import row_finished

__all__ = ["FINISHING", "JobProgress", "generate_call", "json_portal_job", "poll_call"]

#: The progress reported once the row is stored but its anti-JSON and losses are not filled in yet.
FINISHING: Final = "finishing"
#: Called with the job's progress: ``None`` while queued, a fraction in [0, 1] while running, then
#: :data:`FINISHING` while the service completes the row.
JobProgress = Callable[[float | str | None], None]


def generate_call(json_logic: object, dataset_name_filter: str) -> Call:
    """The submission: the rule as a JSON string (as the service wants it) and the ``SIMILAR TO`` pattern."""
    if not isinstance(dataset_name_filter, str) or not dataset_name_filter:
        raise ArgumentTypeError(f"dataset_name_filter must be a non-empty string, got {dataset_name_filter!r}")
    body = {"json_logic": json.dumps(_rule(json_logic)), "dataset_name_filter": dataset_name_filter}
    # submitting again after a lost answer at worst starts an identical job
    return Call("POST", "/json_portal/generate", json=body, idempotent=False, repeatable=True)


def _rule(json_logic: object) -> Any:
    """The rule as data; a malformed JSON string, or a rule that is not a JSON object (a list would keep every
    lumisection on the service), is a :class:`RuleError` here, before any request."""
    rule = json_logic
    if isinstance(json_logic, str):
        try:
            rule = loads_strict(json_logic)
        except JsonTextError as exc:
            raise RuleError(f"not a usable JSON rule: {exc.reason}") from None
    if not isinstance(rule, Mapping):
        raise RuleError("a rule must be a json-logic operation (a JSON object)", value=rule, allowed="a dict")
    check_nesting(rule, RuleError)
    return rule


def _service_finishes(json_logic: object) -> bool:
    try:
        return finishes(_rule(json_logic))
    except QueryLangError:
        return True  # the service judges a rule runql cannot compile


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
    """Submit the job and poll it until its row is finished; returns the service's row (a dict)."""
    (submitted,) = yield Batch([generate_call(json_logic, dataset_name_filter)])
    job_id = _job_id(unwrap(submitted, Reply))
    wait_for_losses = _service_finishes(json_logic)
    deadline = clock() + timeout
    while True:
        (answer,) = yield Batch([poll_call(job_id)])
        if isinstance(answer, ServiceError):
            raise JobError(f"failed on the server: {answer.message}", job_id=job_id) from answer
        reply = unwrap(answer, Reply)
        row = _final_row(reply, job_id) if reply.status == 200 else None
        if row is not None and (row_finished(row) or not wait_for_losses):
            return row
        if on_progress is not None:
            on_progress(FINISHING if row is not None else _progress(reply))
        if clock() >= deadline:
            state = "its row still lacks the anti-JSON and losses" if row is not None else "still running"
            raise JobError(f"not finished after {timeout:g} s ({state} on the server)", job_id=job_id)
        try:
            yield Pause(min(poll_interval, max(0.0, deadline - clock())))
        except CancelRequestedError:
            raise JobError("cancelled (the server may still finish it)", job_id=job_id) from None


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
