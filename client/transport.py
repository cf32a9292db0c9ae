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
import reprlib
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol, TypeVar

import anyio
import httpx
import orjson

from client.auth import TokenProvider
from client.config import Secret, Settings
from client.errors import ArgumentError, ArgumentTypeError, AuthError, RunQLError, ServiceError, TransportError

__all__ = [
    "AsyncTransport",
    "BodySink",
    "Call",
    "Reply",
    "RetryBudget",
    "RetryPolicy",
    "Retryable",
    "Streamed",
    "SyncTransport",
    "Unauthorized",
    "Verdict",
    "environment_proxy",
    "err_text",
    "exchange",
    "interpret",
    "pool_limits",
]

logger = logging.getLogger(__name__)
USER_AGENT = "runql/0.1.0"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: Statuses of the token endpoint handed to the token parser (the others are retried).
TOKEN_ACCEPT = frozenset(range(200, 600)) - RETRY_STATUSES
T = TypeVar("T")


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
    #: Makes the :class:`BodySink` that takes an accepted body as it arrives (a fresh one per attempt, so a body cut
    #: short is retried from scratch); the reply's data is its result. Other answers are read whole as usual.
    sink: Callable[[], BodySink] | None = None

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


class BodySink(Protocol):
    """Takes an accepted body as it arrives (``Call.sink`` makes one per attempt): ``feed`` each chunk, then
    ``result()`` is the reply's data. Either raises ``ValueError`` when the body is not what it expects."""

    def feed(self, chunk: bytes) -> None: ...

    def result(self) -> Any: ...


@dataclass(frozen=True)
class Streamed:
    """An accepted body read into its call's sink: the status and the sink's result, or why it refused the body."""

    status: int
    value: Any
    error: ValueError | None = None


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
#: A failed attempt: the transport's error, or a body that does not decode (``content-encoding`` gzip or deflate).
Failure = httpx.TransportError | httpx.DecodingError
Outcome = httpx.Response | Streamed | Failure | None
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
    if isinstance(outcome, (httpx.TransportError, httpx.DecodingError)):
        return _judge_failure(outcome, call)
    if isinstance(outcome, Streamed):
        if outcome.error is not None:
            return ServiceError(str(outcome.error), status=outcome.status, route=call.route)
        return Reply(outcome.status, outcome.value)
    if outcome is None:
        raise ArgumentTypeError("exchange() needs the response or the transport error of each attempt")
    return interpret(outcome.status_code, outcome.content, outcome.headers, call)


def _judge_failure(error: Failure, call: Call) -> Retryable | RunQLError:
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
        return ServiceError(err_text(data["err"]), status=status, route=call.route)
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
    """The JSON of ``content`` (orjson; ``json`` for what orjson refuses and ``json`` takes, such as ``NaN``)."""
    if not content:
        return None
    try:
        return orjson.loads(content)
    except ValueError:
        pass
    try:
        return json.loads(content)
    except (ValueError, RecursionError):  # json's parser recurses: brackets 1,000 deep exhaust the stack
        return None


def err_text(value: Any) -> str:
    """The service's ``{"err": value}`` as a message: ``str(value)``, or a shortened repr when ``value`` is nested
    too deep for ``str`` (a RecursionError).

    >>> err_text("no run"), err_text({"a": [1]})
    ('no run', "{'a': [1]}")
    """
    try:
        return str(value)
    except RecursionError:
        return reprlib.repr(value)


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


class _Stream:
    """One attempt's sink; stops taking chunks at the first it refuses (the rest of the body is not read)."""

    def __init__(self, sink: Callable[[], BodySink], status: int) -> None:
        self.sink, self.status = sink(), status
        self.error: ValueError | None = None

    def feed(self, chunk: bytes) -> bool:
        """Hand ``chunk`` over; ``False`` once the sink refused the body."""
        try:
            self.sink.feed(chunk)
        except ValueError as error:
            self.error = error
        return self.error is None

    def outcome(self) -> Streamed:
        if self.error is None:
            try:
                return Streamed(self.status, self.sink.result())
            except ValueError as error:
                self.error = error
        return Streamed(self.status, None, self.error)


def _stream_of(call: Call, response: httpx.Response) -> _Stream | None:
    """The sink that takes this answer's body as it arrives, if the call has one and the status is accepted."""
    if call.sink is None or response.status_code not in call.accept:
        return None
    return _Stream(call.sink, response.status_code)


#: Headers every request carries (those ``httpx.Client`` would add, with ours).
_FIXED_HEADERS = {
    "Accept": "application/json",
    "Accept-Encoding": "gzip, deflate",
    "Connection": "keep-alive",
    "User-Agent": USER_AGENT,
}
_Headers = tuple[httpx.Headers, httpx.Headers]
#: Parsed URLs kept per client (the paths of one client are few: routes, and run numbers in a few GETs).
_MAX_URLS = 1024


class _Common:
    """What both drivers share: the retry policy, the token provider, and requests built with no per-call work
    that can be done once (URLs parsed once, headers encoded once per token, timeouts as an extension)."""

    def __init__(self, settings: Settings, clock: Callable[[], float]) -> None:
        self.settings = settings
        self.policy = RetryPolicy(retries=settings.retries, backoff=settings.backoff)
        self.tokens = TokenProvider(settings.auth, clock=clock) if settings.auth else None
        self.rng = random.Random()
        timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout, pool=settings.read_timeout)
        self.extensions = {"timeout": timeout.as_dict()}
        self._urls: dict[str, httpx.URL] = {}
        self._headers: tuple[Secret | None, bytes, _Headers] = (None, b"", self._headers_for(None, b""))

    def flow(self, call: Call, budget: RetryBudget | None) -> Generator[Step, Outcome, Reply]:
        return exchange(call, self.policy, self.rng, uses_token=self.tokens is not None, budget=budget)

    def limits(self) -> httpx.Limits:
        return pool_limits(self.settings.concurrency)

    def pool(self, given: T | None, make: Callable[..., T]) -> T:
        """The transport given (a ``MockTransport``, a wrapper), else ``make``'s keep-alive pool, through the
        proxy the environment names for the service (as ``httpx.Client`` honours ``HTTP(S)_PROXY``/``NO_PROXY``)."""
        if given is not None:
            return given
        return make(limits=self.limits(), proxy=environment_proxy(self.settings.base_url))

    def build(self, call: Call, token: Secret | None) -> httpx.Request:
        """The request of ``call`` with ``token`` (or the ``email`` header of local targets): the headers and body
        ``httpx.Request(json=...)`` would make, from headers prepared once."""
        url = self._url(call.path)
        plain, with_json = self._headers_with(token, url)
        if call.json is None and call.method == "GET":
            return httpx.Request(call.method, url, headers=plain, extensions=self.extensions)
        try:
            body = json.dumps(call.json, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
        except UnicodeEncodeError as exc:  # a lone surrogate such as "\ud800" has no UTF-8 form
            bad = exc.object[max(0, exc.start - 20) : exc.end + 20]
            raise ArgumentError(f"{call.method} {call.path}: text that is not valid Unicode: {bad!r}") from None
        request = httpx.Request(
            call.method, url, headers=with_json, stream=httpx.ByteStream(body), extensions=self.extensions
        )
        request.headers["Content-Length"] = str(len(body))
        request.read()  # as httpx.Request(content=...) does: request.content is the body
        return request

    def with_timeout(self, request: httpx.Request) -> httpx.Request:
        """``request`` (built elsewhere: the token request) with the client's timeouts, unless it has its own."""
        request.extensions.setdefault("timeout", self.extensions["timeout"])
        return request

    def _url(self, path: str) -> httpx.URL:
        text = self.settings.base_url + path
        url = self._urls.get(text)
        if url is None:
            if len(self._urls) >= _MAX_URLS:
                self._urls.clear()
            url = self._urls[text] = httpx.URL(text)
        return url

    def _headers_with(self, token: Secret | None, url: httpx.URL) -> _Headers:
        cached_token, netloc, headers = self._headers
        if token is not cached_token or url.netloc != netloc:
            headers = self._headers_for(token, url.netloc)
            self._headers = (token, url.netloc, headers)  # one tuple swapped atomically: safe between threads
        return headers

    def _headers_for(self, token: Secret | None, netloc: bytes) -> _Headers:
        """The headers of a request without a body, and of one with a JSON body (its length added per request)."""
        headers = httpx.Headers({"Host": netloc.decode("ascii"), **_FIXED_HEADERS})
        if token is not None:
            headers["Authorization"] = f"Bearer {token.reveal()}"
        elif self.settings.email:
            headers["email"] = self.settings.email
        with_json = httpx.Headers(headers)
        with_json["Content-Type"] = "application/json"
        return headers, with_json


def environment_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url`` (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``; ``NO_PROXY``
    honoured), or ``None``.

    >>> environment_proxy("http://127.0.0.1:8080") is None or "a proxy is set in this environment"
    True
    """
    if not url:
        return None
    parts = urllib.parse.urlsplit(url)
    if parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        return None
    proxies = urllib.request.getproxies()
    return proxies.get(parts.scheme) or proxies.get("all")


class SyncTransport:
    """Sends :class:`Call`\\ s over one keep-alive connection pool, with retries and the shared token.

    Requests go straight to the httpx transport's ``handle_request`` (an ``httpx.HTTPTransport`` pool unless
    ``transport`` is given): none of ``httpx.Client``'s cookies, auth flow, redirects or event hooks, which the
    service does not use. A 3xx is not followed: it is an error, as it always was.
    """

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
        self._http: httpx.BaseTransport = self._common.pool(transport, httpx.HTTPTransport)

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
                outcome = self._attempt(self._common.build(call, token), call)
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
        request = self._common.with_timeout(request)
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
                outcome = self._attempt(request, call)
                response = outcome if isinstance(outcome, httpx.Response) else response

    def _attempt(self, request: httpx.Request, call: Call) -> httpx.Response | Streamed | Failure:
        """One try: the answer read whole (or into the call's sink), or the transport error that ended it."""
        try:
            response = self._http.handle_request(request)
            try:
                stream = _stream_of(call, response)
                if stream is None:
                    response.read()
                    return response
                for chunk in response.iter_bytes():
                    if not stream.feed(chunk):
                        break
                return stream.outcome()
            finally:
                response.close()
        except (httpx.TransportError, httpx.DecodingError) as error:
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
        self._http: httpx.AsyncBaseTransport = self._common.pool(transport, httpx.AsyncHTTPTransport)

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
                outcome = await self._attempt(self._common.build(call, token), call)
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
        request = self._common.with_timeout(request)
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
                outcome = await self._attempt(request, call)
                response = outcome if isinstance(outcome, httpx.Response) else response

    async def _attempt(self, request: httpx.Request, call: Call) -> httpx.Response | Streamed | Failure:
        """One try: the answer read whole (or into the call's sink), or the transport error that ended it."""
        try:
            response = await self._http.handle_async_request(request)
            try:
                stream = _stream_of(call, response)
                if stream is None:
                    await response.aread()
                    return response
                async for chunk in response.aiter_bytes():
                    if not stream.feed(chunk):
                        break
                return stream.outcome()
            finally:
                await response.aclose()
        except (httpx.TransportError, httpx.DecodingError) as error:
            return error

    async def aclose(self) -> None:
        await self._http.aclose()
