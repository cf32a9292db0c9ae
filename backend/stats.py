"""Thread-safe request counters of an embedded server (``EmbeddedServer.stats``).

>>> stats = ServerStats()
>>> stats.count_request("/runs_filtered_ordered"); stats.count_fault("503")
>>> stats.snapshot()
{'requests': {'/runs_filtered_ordered': 1}, 'token_requests': 0, 'faults': 1, 'fault_kinds': {'503': 1}}
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["ServerStats"]


class ServerStats:
    """Requests per route template, token requests, and injected faults (total and per kind)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[str, int] = {}
        self._token_requests = 0
        self._faults: dict[str, int] = {}

    def count_request(self, route: str) -> None:
        with self._lock:
            self._requests[route] = self._requests.get(route, 0) + 1

    def count_token_request(self) -> None:
        with self._lock:
            self._token_requests += 1

    def count_fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] = self._faults.get(kind, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        """A copy of the counters: ``{"requests": {route: n}, "token_requests": n, "faults": n, "fault_kinds"}``."""
        with self._lock:
            return {
                "requests": dict(self._requests),
                "token_requests": self._token_requests,
                "faults": sum(self._faults.values()),
                "fault_kinds": dict(self._faults),
            }
