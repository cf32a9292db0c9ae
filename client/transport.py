"""One HTTP exchange with retries: a sans-I/O decision core driven by a sync and an async transport.

:func:`exchange` is a generator that decides what to do — send, wait, refresh the token, give up — from
what happened to the previous attempt; :class:`SyncTransport` and :class:`AsyncTransport` only perform those
steps with ``httpx``. Retried: connection errors, timeouts, dropped connections, 502/503/504 and 429 (its
``Retry-After`` honoured), with exponential backoff and jitter; writes (``idempotent=False``) only when the
request cannot have reached the service, or when sending them again is harmless (``repeatable``). Each request
has ``retries`` of its own; the requests of one operation also share a :class:`RetryBudget`, sized by their
number, that lets a request hit by a run of faults go on (up to ``4 * retries``), so an operation of thousands of
requests survives a high fault rate while the extra load stays bounded. Not retried: the service's
``{"err": ...}`` answers, which raise
:class:`~client.errors.ServiceError` with the service's message. A 401 drops the token and retries once.

>>> import httpx
>>> def handler(request):
...     return httpx.Response(200, json={"ok": True})
>>> from client.config import resolve_settings
>>> settings = resolve_settings("http://rr.test", environ={}, env_file=False)
>>> t = SyncTransport(settings, transport=httpx.MockTransport(handler))
>>> t.send(Call("GET", "/cycles/global")).data
{'ok': True}
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import threading
import time
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import anyio
import httpx

from client.auth import TokenProvider
from client.config import Secret, Settings
from client.errors import ArgumentError, ArgumentTypeError, AuthError, RunQLError, ServiceError, TransportError

__all__ = [
    "AsyncTransport",
    "Call",
    "Reply",
    "RetryBudget",
    "RetryPolicy",
    "Retryable",
    "SyncTransport",
    "Unauthorized",
    "Verdict",
    "exchange",
    "interpret",
    "pool_limits",
]

logger = logging.getLogger(__name__)
USER_AGENT = "runql/0.1.0"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: Statuses of the token endpoint handed to the token parser (the others are retried).
TOKEN_ACCEPT = frozenset(range(200, 600)) - RETRY_STATUSES


def pool_limits(concurrency: int) -> httpx.Limits:
    """Connections kept alive for ``concurrency`` requests in flight, plus two (the token request, a straggler)."""
    n = concurrency + 2
    return httpx.Limits(max_connections=n, max_keepalive_connections=n)


@dataclass(frozen=True)
class Call:
    """A request to the service. ``accept``: statuses whose body is the answer (decoded JSON, or bytes if ``raw``)."""

    method: str
    path: str
    json: Any = None
    accept: frozenset[int] = frozenset({200})
    idempotent: bool = True
    raw: bool = False  # hand the accepted body over undecoded (bytes), for a faster decoder downstream
    #: A write that is safe to send again after an ambiguous failure: a repeat sets the same values again, is
    #: refused because its precondition no longer holds, or starts an identical job. Retried like a read.
    repeatable: bool = False

    @property
    def retry_safe(self) -> bool:
        """Whether a failure after the request may have reached the service can be retried."""
        return self.idempotent or self.repeatable

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Reply:
    """An accepted answer: its status and decoded JSON body."""

    status: int
    data: Any


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to retry and how long to wait: ``backoff * 2**(attempt-1)``, capped, with jitter.

    Each request may retry ``retries`` times; with a :class:`RetryBudget` it may go on up to ``max_retries``
    while the budget lasts. A budget starts with ``retries / 2`` and gains ``shared_ratio`` per request sent.
    """

    retries: int = 4
    backoff: float = 0.25
    max_backoff: float = 8.0
    max_retry_after: float = 120.0
    shared_ratio: float = 0.5

    @property
    def max_retries(self) -> int:
        """The most retries of one request, budget included."""
        return 4 * self.retries

    def new_budget(self) -> RetryBudget:
        """A fresh budget for one operation."""
        return RetryBudget(reserve=self.retries / 2, ratio=self.shared_ratio)

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1``; a server's ``Retry-After`` wins (capped)."""
        if retry_after is not None:
            return float(min(max(retry_after, 0.0), self.max_retry_after))
        ceiling = min(self.backoff * 2.0 ** (attempt - 1), self.max_backoff)
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


class RetryBudget:
    """Retries shared by the requests of one operation, beyond each request's own.

    Every request sent adds ``ratio`` (sizing the budget by the operation's request count); every extra retry
    takes one. Thread-safe: the requests of a batch run concurrently.

    >>> budget = RetryBudget(reserve=1, ratio=0.5)
    >>> for _ in range(4):
    ...     budget.deposit()
    >>> [budget.withdraw() for _ in range(4)], budget.spent
    ([True, True, True, False], 3)
    """

    def __init__(self, *, reserve: float, ratio: float) -> None:
        self._tokens = float(reserve)
        self._ratio = ratio
        self._lock = threading.Lock()
        self.spent = 0

    def __repr__(self) -> str:
        return f"RetryBudget(tokens={self._tokens:g}, spent={self.spent})"

    def deposit(self) -> None:
        """A request was sent for the first time."""
        with self._lock:
            self._tokens += self._ratio

    def withdraw(self) -> bool:
        """Take one extra retry if the budget has one."""
        with self._lock:
            if self._tokens < 1:
                return False
            self._tokens -= 1
            self.spent += 1
            return True


# -- the sans-I/O core ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Send:
    """Step: send the request (with the current token)."""


@dataclass(frozen=True)
class Wait:
    """Step: sleep ``seconds`` before the next attempt."""

    seconds: float


@dataclass(frozen=True)
class Refresh:
    """Step: the token was rejected; drop it so the next send fetches a new one."""


@dataclass(frozen=True)
class Retryable:
    """Verdict: a transient failure (``reason``), worth another attempt; ``retry_after``: the server's wish, s."""

    reason: str
    retry_after: float | None = None


@dataclass(frozen=True)
class Unauthorized:
    """Verdict: the service answered 401 (``message``): the token may have expired; refresh it once."""

    message: str


Step = Send | Wait | Refresh
Outcome = httpx.Response | httpx.TransportError | None
#: What one attempt amounts to: the accepted reply, a transient failure, a rejected token, or the error to raise.
Verdict = Reply | Retryable | Unauthorized | RunQLError


def exchange(
    call: Call, policy: RetryPolicy, rng: random.Random, *, uses_token: bool, budget: RetryBudget | None = None
) -> Generator[Step, Outcome, Reply]:
    """Drive one call: yields steps, receives each attempt's response or transport error, returns the reply."""
    attempt, refreshed = 0, False
    if budget is not None:
        budget.deposit()
    while True:
        attempt += 1
        outcome = yield Send()
        verdict = _judge(outcome, call)
        if isinstance(verdict, Reply):
            return verdict
        if isinstance(verdict, Unauthorized):
            if not uses_token or refreshed:
                raise AuthError(f"{call.route}: the service answered 401: {verdict.message}")
            refreshed = True
            yield Refresh()
            continue
        if isinstance(verdict, RunQLError):
            raise verdict
        if not _may_retry(attempt, policy, budget):
            raise TransportError(verdict.reason, route=call.route, attempts=attempt)
        delay = policy.delay(attempt, rng, verdict.retry_after)
        logger.info("%s: %s; retry %d in %.2fs", call.route, verdict.reason, attempt, delay)
        yield Wait(delay)


def _may_retry(attempt: int, policy: RetryPolicy, budget: RetryBudget | None) -> bool:
    """A request's own retries first, then the operation's shared budget, never beyond ``max_retries``."""
    if attempt <= policy.retries:
        return True
    return budget is not None and attempt <= policy.max_retries and budget.withdraw()


def _judge(outcome: Outcome, call: Call) -> Verdict:
    if isinstance(outcome, httpx.TransportError):
        return _judge_failure(outcome, call)
    if outcome is None:
        raise ArgumentTypeError("exchange() needs the response or the transport error of each attempt")
    return interpret(outcome.status_code, outcome.content, outcome.headers, call)


def _judge_failure(error: httpx.TransportError, call: Call) -> Retryable | RunQLError:
    reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    never_sent = isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
    if call.retry_safe or never_sent:
        return Retryable(reason)
    return TransportError(
        f"{reason}; not retried: the write may have reached the service", route=call.route, attempts=1
    )


def interpret(status: int, content: bytes, headers: httpx.Headers, call: Call) -> Verdict:
    """Classify one answer: :class:`Retryable` (429, 502-504: transient whatever the body), the service's
    ``{"err"}`` (a :class:`~client.errors.ServiceError`), the accepted :class:`Reply`, :class:`Unauthorized`
    (401), or another error to raise.

    >>> interpret(503, b"busy", httpx.Headers({"retry-after": "2"}), Call("GET", "/cycles/global"))
    Retryable(reason='HTTP 503: busy', retry_after=2.0)
    >>> verdict = interpret(200, b'{"err": "no run"}', httpx.Headers(), Call("GET", "/runs/1"))
    >>> type(verdict).__name__, verdict.message
    ('ServiceError', 'no run')
    """
    if call.raw and status in call.accept:
        return Reply(status, content)
    data = _json_or_none(content)
    if status in RETRY_STATUSES and (call.retry_safe or status == 429):
        return Retryable(f"HTTP {status}: {_message(data, content)}", _retry_after(headers))
    if isinstance(data, dict) and "err" in data:
        return ServiceError(str(data["err"]), status=status, route=call.route)
    if status in call.accept:
        if data is None and content.strip() not in (b"null", b""):
            return ServiceError(f"the reply is not JSON: {_excerpt(content)}", status=status, route=call.route)
        return Reply(status, data)
    if status == 401:
        return Unauthorized(_message(data, content))
    if status == 403:
        return AuthError(f"{call.route}: the service answered 403: {_message(data, content)}")
    return ServiceError(_message(data, content), status=status, route=call.route)


def _json_or_none(content: bytes) -> Any:
    try:
        return json.loads(content) if content else None
    except ValueError:
        return None


def _message(data: Any, content: bytes) -> str:
    if isinstance(data, dict):
        for key in ("err", "message", "error"):
            if isinstance(data.get(key), str):
                return str(data[key])
    return _excerpt(content) or "(empty body)"


def _excerpt(content: bytes, size: int = 300) -> str:
    text = content.decode("utf-8", "replace").strip()
    return text if len(text) <= size else text[:size] + f"... ({len(text)} characters)"


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return (when - datetime.now(timezone.utc)).total_seconds()


# -- the drivers ------------------------------------------------------------------------------------------


@dataclass
class _Common:
    settings: Settings
    clock: Callable[[], float] = time.time
    policy: RetryPolicy = field(init=False)
    tokens: TokenProvider | None = field(init=False)
    rng: random.Random = field(init=False, default_factory=random.Random)

    def __post_init__(self) -> None:
        self.policy = RetryPolicy(retries=self.settings.retries, backoff=self.settings.backoff)
        self.tokens = TokenProvider(self.settings.auth, clock=self.clock) if self.settings.auth else None

    def flow(self, call: Call, budget: RetryBudget | None) -> Generator[Step, Outcome, Reply]:
        return exchange(call, self.policy, self.rng, uses_token=self.tokens is not None, budget=budget)

    def timeout(self) -> httpx.Timeout:
        s = self.settings
        return httpx.Timeout(s.read_timeout, connect=s.connect_timeout, pool=s.read_timeout)

    def limits(self) -> httpx.Limits:
        return pool_limits(self.settings.concurrency)

    def build(self, call: Call, token: Secret | None) -> httpx.Request:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token.reveal()}"
        elif self.settings.email:
            headers["email"] = self.settings.email
        url = self.settings.base_url + call.path
        if call.json is None and call.method == "GET":
            return httpx.Request(call.method, url, headers=headers)
        try:
            return httpx.Request(call.method, url, headers=headers, json=call.json)
        except UnicodeEncodeError as exc:  # a lone surrogate such as "\ud800" has no UTF-8 form
            bad = exc.object[max(0, exc.start - 20) : exc.end + 20]
            raise ArgumentError(f"{call.method} {call.path}: text that is not valid Unicode: {bad!r}") from None


class SyncTransport:
    """Sends :class:`Call`\\ s over one keep-alive connection pool, with retries and the shared token."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._common = _Common(settings, clock)
        self._sleep = sleep
        self._http = httpx.Client(timeout=self._common.timeout(), limits=self._common.limits(), transport=transport)

    @property
    def tokens(self) -> TokenProvider | None:
        return self._common.tokens

    def new_budget(self) -> RetryBudget:
        """A retry budget for the requests of one operation."""
        return self._common.policy.new_budget()

    def send(self, call: Call, budget: RetryBudget | None = None) -> Reply:
        """Send ``call`` until it gets an answer; raise the typed error otherwise. ``budget``: its operation's."""
        flow = self._common.flow(call, budget)
        token: Secret | None = None
        outcome: Outcome = None
        while True:
            try:
                step = flow.send(outcome)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            outcome = None
            if isinstance(step, Send):
                token = self._token()
                outcome = self._attempt(self._common.build(call, token))
            elif isinstance(step, Wait):
                self._sleep(step.seconds)
            elif self.tokens is not None and token is not None:
                self.tokens.invalidate(token)

    def _token(self) -> Secret | None:
        return None if self.tokens is None else self.tokens.get(self._send_token_request)

    def _send_token_request(self, request: httpx.Request) -> httpx.Response:
        call = Call(request.method, str(request.url), accept=TOKEN_ACCEPT)
        flow = exchange(call, self._common.policy, self._common.rng, uses_token=False)
        outcome: Outcome = None
        response: httpx.Response | None = None
        while True:
            try:
                step = flow.send(outcome)
            except StopIteration:
                assert response is not None
                return response
            outcome = None
            if isinstance(step, Wait):
                self._sleep(step.seconds)
            else:
                outcome = self._attempt(request)
                response = outcome if isinstance(outcome, httpx.Response) else response

    def _attempt(self, request: httpx.Request) -> httpx.Response | httpx.TransportError:
        try:
            return self._http.send(request)
        except httpx.TransportError as error:
            return error

    def close(self) -> None:
        self._http.close()


class AsyncTransport:
    """The async twin of :class:`SyncTransport`, driving the same :func:`exchange` core."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._common = _Common(settings, clock)
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            timeout=self._common.timeout(), limits=self._common.limits(), transport=transport
        )

    @property
    def tokens(self) -> TokenProvider | None:
        return self._common.tokens

    def new_budget(self) -> RetryBudget:
        """A retry budget for the requests of one operation."""
        return self._common.policy.new_budget()

    async def send(self, call: Call, budget: RetryBudget | None = None) -> Reply:
        """Send ``call`` until it gets an answer; raise the typed error otherwise. ``budget``: its operation's."""
        flow = self._common.flow(call, budget)
        token: Secret | None = None
        outcome: Outcome = None
        while True:
            try:
                step = flow.send(outcome)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            outcome = None
            if isinstance(step, Send):
                token = await self._token()
                outcome = await self._attempt(self._common.build(call, token))
            elif isinstance(step, Wait):
                await self._sleep(step.seconds)
            elif self.tokens is not None and token is not None:
                self.tokens.invalidate(token)

    async def _token(self) -> Secret | None:
        return None if self.tokens is None else await self.tokens.aget(self._send_token_request)

    async def _send_token_request(self, request: httpx.Request) -> httpx.Response:
        call = Call(request.method, str(request.url), accept=TOKEN_ACCEPT)
        flow = exchange(call, self._common.policy, self._common.rng, uses_token=False)
        outcome: Outcome = None
        response: httpx.Response | None = None
        while True:
            try:
                step = flow.send(outcome)
            except StopIteration:
                assert response is not None
                return response
            outcome = None
            if isinstance(step, Wait):
                await self._sleep(step.seconds)
            else:
                outcome = await self._attempt(request)
                response = outcome if isinstance(outcome, httpx.Response) else response

    async def _attempt(self, request: httpx.Request) -> httpx.Response | httpx.TransportError:
        try:
            return await self._http.send(request)
        except httpx.TransportError as error:
            return error

    async def aclose(self) -> None:
        await self._http.aclose()
