"""The one exception tree of the client. Filters are checked first and raise ``querylang.FilterError``.

::

    RunQLError
    ├── ConfigError          bad target, option or environment variable; missing credentials
    │   └── UnknownOptionError   a keyword that is not an option (also a TypeError): names the allowed ones
    ├── ArgumentError        an argument that cannot be sent (also a ValueError): e.g. text that is not Unicode
    ├── FilterRequiredError  a module-level get_runs()/get_datasets() without a filter above 20,000 rows
    ├── AuthError            the token endpoint or the service refused the credentials
    ├── TransportError       no usable answer after the retries (connection, timeout, 5xx gateway, 429)
    ├── ServiceError         the service answered with an error: ``{"err": ...}`` or an unexpected reply
    ├── PartialResultError   a listing failed part-way: carries the rows fetched and ``resume_from``
    ├── WriteError           a write failed for some runs: carries the per-run report
    └── JobError             a json_portal job failed, timed out or was cancelled

>>> err = ServiceError("relation does not exist", status=500, route="POST /runs_filtered_ordered")
>>> print(err)
POST /runs_filtered_ordered: the service answered 500: relation does not exist
>>> isinstance(err, RunQLError)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from client.writes import WriteReport

__all__ = [
    "ArgumentError",
    "AuthError",
    "ConfigError",
    "FilterRequiredError",
    "JobError",
    "PartialResultError",
    "RunQLError",
    "ServiceError",
    "TransportError",
    "UnknownOptionError",
    "WriteError",
]


class RunQLError(Exception):
    """Base of every error the client raises (except ``querylang.FilterError`` for invalid filters)."""


class ConfigError(RunQLError):
    """Invalid configuration: unknown target, malformed option or variable, missing credentials."""


class UnknownOptionError(ConfigError, TypeError):
    """A keyword argument that is not one of the options; the message names the allowed ones and the closest."""


class ArgumentError(RunQLError, ValueError):
    """An argument that cannot be sent to the service, e.g. a string holding a lone surrogate (no UTF-8 form)."""


class FilterRequiredError(RunQLError):
    """A module-level ``get_runs()``/``get_datasets()`` without ``filter`` matched more than 20,000 rows.

    The public client refuses these with the same message; pass a filter (``filter={}`` takes everything).
    """


class AuthError(RunQLError):
    """The credentials were refused (token endpoint, or a 401 from the service after one refresh)."""


class TransportError(RunQLError):
    """No usable answer after every retry: connection errors, timeouts, 502/503/504 or 429."""

    def __init__(self, message: str, *, route: str, attempts: int) -> None:
        self.route = route
        self.attempts = attempts
        super().__init__(f"{route}: {message} (after {attempts} attempt{'s' if attempts != 1 else ''})")


class ServiceError(RunQLError):
    """The service answered with an error (``{"err": message}``) or with a reply of the wrong shape."""

    def __init__(self, message: str, *, status: int | None, route: str) -> None:
        self.message = message
        self.status = status
        self.route = route
        where = f"the service answered {status}" if status is not None else "unexpected reply"
        super().__init__(f"{route}: {where}: {message}")


class PartialResultError(RunQLError):
    """A listing failed part-way. ``rows`` holds what was fetched, ``resume_from`` completes it.

    >>> # try:
    >>> #     runs = rr.get_runs(filter=f)
    >>> # except PartialResultError as err:
    >>> #     runs = rr.get_runs(filter=f, resume_from=err.resume_from)   # fetches only the missing pages
    """

    def __init__(self, message: str, *, rows: Sequence[Any], resume_from: object, missing_pages: int) -> None:
        self.rows: Sequence[Any] = rows
        self.resume_from = resume_from
        self.missing_pages = missing_pages
        super().__init__(
            f"{message}; {len(rows)} rows fetched, {missing_pages} page(s) missing: "
            "call again with resume_from=err.resume_from to complete"
        )


class WriteError(RunQLError):
    """A write failed for at least one run; ``report`` tells which runs were changed, failed or skipped."""

    def __init__(self, report: WriteReport) -> None:
        self.report = report
        super().__init__(report.summary())


class JobError(RunQLError):
    """A json_portal job failed on the server, did not finish in time, or was cancelled."""

    def __init__(self, message: str, *, job_id: object) -> None:
        self.job_id = job_id
        super().__init__(f"json_portal job {job_id}: {message}")
