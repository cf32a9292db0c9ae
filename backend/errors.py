"""The backend's exception tree and answers: every request error becomes HTTP 500 ``{"err": message}`` like the
service (:func:`error_body`); a handler's :data:`Answer` is its status and JSON (text or UTF-8 bytes).

>>> issubclass(RequestError, BackendError), str(RequestError("run 1 does not exist"))
(True, 'run 1 does not exist')
>>> error_body("run 1 does not exist")
'{"err": "run 1 does not exist"}'
"""

from __future__ import annotations

import json

from querylang.errors import RunQLError

__all__ = ["Answer", "BackendError", "RequestError", "StoreError", "error_body"]

#: What a route handler answers: HTTP status and JSON, as text or UTF-8 bytes.
Answer = tuple[int, str | bytes]


def error_body(message: str) -> str:
    """The service's error body ``{"err": message}``."""
    return json.dumps({"err": message})


class BackendError(RunQLError):
    """Base of every error the embedded backend raises on purpose (a :class:`~querylang.errors.RunQLError`)."""


class RequestError(BackendError, ValueError):
    """A request the service refuses (bad body, bad filter, a write its rules forbid): answered 500 ``{"err"}``."""


class StoreError(BackendError):
    """The store cannot be opened, loaded or used as asked (closed, another layout, too many datasets)."""
