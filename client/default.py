"""The default client of the module-level functions: chosen by :func:`setup`, created at its first request.

Like the public client, ``setup(target)`` only records the target: it never fails for missing credentials, and
nothing is contacted (nor an embedded server started) until a module-level function is called. Without
``setup``, the target is ``ENVIRONMENT`` (else production).

>>> setup("Production")  # doctest: +ELLIPSIS
Traceback (most recent call last):
client.errors.ConfigError: Invalid setup target "Production". Valid options: ...
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from client.api import CLIENT_OPTIONS, ClientOptions, RunRegistry
from client.config import check_options, check_target

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["default_client", "setup"]


class _DefaultClient:
    """The target and options of the default client, and the client once created; safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._target: str | None = None
        self._options: ClientOptions = {}
        self._client: RunRegistry | None = None

    def get(self) -> RunRegistry:
        with self._lock:
            if self._client is None:
                self._client = RunRegistry(self._target, **self._options)
            return self._client

    def configure(self, target: str, options: ClientOptions) -> None:
        with self._lock:
            old, self._client = self._client, None
            self._target, self._options = target, options
        if old is not None:
            old.close()


_DEFAULT = _DefaultClient()


def setup(target: str, **options: Unpack[ClientOptions]) -> None:
    """Point the module-level functions at ``target``: production, development, local, embedded or a base URL.

    ``options`` as for :class:`~client.api.RunRegistry` (``client_id``, ``page_size``, ``embedded_options``, ...;
    an unknown one is an ``UnknownOptionError`` at once). The previous default client is closed; the new one is
    created, and its credentials read, at the first call.
    """
    check_options(options, CLIENT_OPTIONS, where="setup()")
    _DEFAULT.configure(check_target(target), options)


def default_client() -> RunRegistry:
    """The :class:`~client.api.RunRegistry` behind the module-level functions (created on first use)."""
    return _DEFAULT.get()
