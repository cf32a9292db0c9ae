"""Fault injection for client tests: a seeded fraction of requests fails at random.

Kinds, drawn uniformly: ``502`` and ``503`` (a JSON ``{"err"}`` body), ``drop`` (response headers promise a body
that never comes and the connection is closed: clients see a protocol/read error) and ``delay`` (the request is
answered normally after ``delay`` seconds, past a short client read timeout). Exempt paths (the token endpoint)
never fail. Decisions come from ``random.Random(seed)``, so a run of requests fails the same way every time.

>>> first, again = FaultPlan(rate=0.5, seed=7), FaultPlan(rate=0.5, seed=7)
>>> [first.draw() for _ in range(6)] == [again.draw() for _ in range(6)]
True
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Collection

from starlette.types import ASGIApp, Receive, Scope, Send

from backend.stats import ServerStats
from querylang.errors import ArgumentError

__all__ = ["FAULT_KINDS", "FaultInjector", "FaultPlan"]

FAULT_KINDS = ("502", "503", "drop", "delay")


class FaultPlan:
    """Seeded decisions: ``draw()`` returns a fault kind for a fraction ``rate`` of calls, else ``None``."""

    def __init__(self, rate: float, seed: int = 0) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ArgumentError(f"fault rate must be within [0, 1], got {rate}")
        self.rate = rate
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def draw(self) -> str | None:
        with self._lock:
            if self._rng.random() >= self.rate:
                return None
            return self._rng.choice(FAULT_KINDS)


class FaultInjector:
    """ASGI middleware applying a :class:`FaultPlan` to every HTTP request except ``exempt`` paths."""

    def __init__(
        self, app: ASGIApp, plan: FaultPlan, stats: ServerStats, *, delay: float, exempt: Collection[str] = ()
    ) -> None:
        self.app = app
        self.plan = plan
        self.stats = stats
        self.delay = delay
        self.exempt = frozenset(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        kind = self.plan.draw()
        if kind is None:
            await self.app(scope, receive, send)
            return
        self.stats.count_fault(kind)
        if kind == "delay":
            await asyncio.sleep(self.delay)
            await self.app(scope, receive, send)
        elif kind == "drop":
            headers = [(b"content-type", b"application/json"), (b"content-length", b"1000")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            # returning without the promised body makes the ASGI server close the connection mid-response
        else:
            body = b'{"err":"injected fault: service unavailable"}'
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": int(kind), "headers": headers})
            await send({"type": "http.response.body", "body": body})
