"""The module-level functions (``client.get_runs(...)``), delegating to one default :class:`RunRegistry`.

The default client is created on first use for ``ENVIRONMENT`` (else production, like the public client);
``setup(target)`` replaces it. Scripts written for the public client port by changing one import::

    import client as runregistry
    runregistry.setup("embedded")          # or "production" with SSO credentials in .env
    runs = runregistry.get_runs(filter={"run_number": {"and": [{">": 315000}, {"<": 316000}]}, "dt-dt": "GOOD"})
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from client.api import RunRegistry

__all__ = ["default_client", "delegate", "setup"]


class _DefaultClient:
    """Holds the default client; created lazily, replaced by :func:`setup`, safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: RunRegistry | None = None

    def get(self) -> RunRegistry:
        with self._lock:
            if self._client is None:
                self._client = RunRegistry()
            return self._client

    def replace(self, client: RunRegistry) -> RunRegistry:
        with self._lock:
            old, self._client = self._client, client
        if old is not None:
            old.close()
        return client


_DEFAULT = _DefaultClient()


def setup(target: str, **options: Any) -> RunRegistry:
    """Point the module-level functions at ``target`` (production, development, local, embedded or a URL).

    Returns the new default client; the previous one is closed. ``options`` as for :class:`RunRegistry`.
    """
    return _DEFAULT.replace(RunRegistry(target, **options))


def default_client() -> RunRegistry:
    """The client the module-level functions use (created on first call)."""
    return _DEFAULT.get()


def delegate(name: str) -> Callable[..., Any]:
    """The module-level function ``name``: the default client's method of that name."""
    method = getattr(RunRegistry, name)

    @functools.wraps(method)
    def function(*args: Any, **kwargs: Any) -> Any:
        return getattr(_DEFAULT.get(), name)(*args, **kwargs)

    del function.__wrapped__  # the signature shown is the method's, minus ``self``
    function.__signature__ = _without_self(method)  # type: ignore[attr-defined]
    return function


def _without_self(method: Callable[..., Any]) -> Any:
    import inspect

    signature = inspect.signature(method)
    return signature.replace(parameters=list(signature.parameters.values())[1:])
