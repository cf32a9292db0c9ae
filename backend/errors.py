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

__all__ = ["Answer", "BackendError", "RequestError", "StoreError", "error_body", "request_int"]

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


#: The integers SQLite stores (PostgreSQL's bigint); larger ones would fail as an OverflowError, not a request error.
_INT64 = range(-(2**63), 2**63)


def request_int(value: object, what: str) -> int:
    """``value`` if it is a JSON integer within 64 bits, else the :class:`RequestError` naming ``what``.

    >>> request_int(7, "run_number")
    7
    >>> request_int(2**63, "run_number")
    Traceback (most recent call last):
    ...
    backend.errors.RequestError: run_number must be a 64-bit integer, got 9223372036854775808
    """
    if not isinstance(value, int) or isinstance(value, bool):
        raise RequestError(f"{what} must be an integer, got {value!r}")
    if value not in _INT64:
        raise RequestError(f"{what} must be a 64-bit integer, got {value}")
    return value
