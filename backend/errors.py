"""The backend's exception tree: every request error becomes HTTP 500 ``{"err": message}`` like the service.

>>> issubclass(RequestError, BackendError), str(RequestError("run 1 does not exist"))
(True, 'run 1 does not exist')
"""

from __future__ import annotations

__all__ = ["BackendError", "RequestError", "StoreError"]


class BackendError(Exception):
    """Base of every error the embedded backend raises on purpose."""


class RequestError(BackendError, ValueError):
    """A request the service refuses (bad body, bad filter, a write its rules forbid): answered 500 ``{"err"}``."""


class StoreError(BackendError):
    """The store cannot be opened, loaded or used as asked (closed, another layout, too many datasets)."""
