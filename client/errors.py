"""runql's exception tree, drawn once. Its root, :class:`RunQLError`, is defined in ``querylang.errors`` (the
lowest layer) and re-exported here: ``except RunQLError`` catches every error runql raises on purpose, and the
errors a caller may catch as a builtin inherit it too (in brackets), so ``except ValueError`` keeps working.

::

    RunQLError
    ├── ArgumentError (ValueError)      an argument value that cannot be used: ``limit=-1``, a lone surrogate
    ├── ArgumentTypeError (TypeError)   an argument of the wrong type: ``run_number="1"``
    ├── QueryLangError (ValueError)     querylang: ``path``, ``value``, ``allowed``, ``suggestions``
    │   ├── FilterError                 an invalid filter, raised before any request
    │   ├── RuleError                   an invalid json-logic rule, or what json-logic-js throws evaluating it
    │   └── UnaccountableError          a rule whose loss accounting the service never finishes
    ├── JsonTextError (ValueError)      querylang.jsontext: JSON text with a repeated key, too deep, bad bytes
    ├── LumiMaskError (ValueError)      schemas.golden: a malformed lumi mask (``path``, ``source``)
    ├── JsonInputError (ValueError)     client.jsoninput: an unusable JSON argument or file of the CLI
    ├── ConfigError                     bad target, option or environment variable; missing credentials
    │   └── UnknownOptionError (TypeError)  a keyword that is not an option: names the allowed ones
    ├── FilterRequiredError             a module-level get_runs()/get_datasets() without a filter above 20,000 rows
    ├── AuthError                       the token endpoint or the service refused the credentials
    ├── TransportError                  no usable answer after the retries (connection, timeout, 5xx gateway, 429)
    ├── ServiceError                    the service answered with an error: ``{"err": ...}`` or an unexpected reply
    ├── PartialResultError              a listing failed part-way: carries the rows fetched and ``resume_from``
    ├── WriteError                      a write failed for some runs: carries the per-run report
    ├── JobError                        a json_portal job failed, timed out or was cancelled
    └── BackendError                    backend.errors: the embedded service's own errors (``runql serve``)

>>> err = ServiceError("relation does not exist", status=500, route="POST /runs_filtered_ordered")
>>> print(err)
POST /runs_filtered_ordered: the service answered 500: relation does not exist
>>> isinstance(err, RunQLError)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from querylang.errors import ArgumentError, ArgumentTypeError, RunQLError

if TYPE_CHECKING:
    from client.writes import WriteReport

__all__ = [
    "ArgumentError",
    "ArgumentTypeError",
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


class ConfigError(RunQLError):
    """Invalid configuration: unknown target, malformed option or variable, missing credentials."""


class UnknownOptionError(ConfigError, TypeError):
    """A keyword argument that is not one of the options; the message names the allowed ones and the closest."""


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
