"""The public ``runregistry`` 3.1.2 client's module-level API on runql: its names, defaults and return values.

``import client as runregistry`` gives these functions. They return what the public client returns: lists of
plain dicts (compressed by default), ``{}`` for a missing run or dataset, the service's JSON for lumisections,
the json_portal row from ``create_json`` and the service's answers from writes. Errors are runql's typed ones
(:mod:`client.errors`); :class:`~client.api.RunRegistry` keeps the typed API.

>>> import client as runregistry
>>> runregistry.setup("embedded", embedded_options={"runs": 30, "seed": 1})   # synthetic demo data
>>> runs = runregistry.get_runs(filter={"run_number": {">": 0}})
>>> type(runs).__name__, type(runs[0]).__name__, "class" in runs[0], len(runs)
('list', 'dict', True, 30)
>>> runregistry.get_run(1), runregistry.ONLINE_RUN_STATES
({}, ['SIGNOFF', 'OPEN', 'COMPLETED'])
>>> runregistry.setup("local")   # closes the embedded server
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from client.api import LISTING_OPTIONS, Row
from client.calls import Kind, LumisectionRoute
from client.default import default_client
from client.errors import FilterRequiredError
from client.write_report import WriteReport
from client.writes import RunNumbers
from querylang.catalogue import LUMISECTION_STATUSES

__all__ = [
    "FILTER_REQUIRED_ABOVE",
    "JSON_CREATION_SLEEP_TIME",
    "LIST_CONSTANTS",
    "PAGE_SIZE",
    "REQUESTS_TIMEOUT",
    "WAITING_DQM_GUI_CONSTANT",
    "IgnoredArgumentWarning",
    "LimitWarning",
    "change_run_class",
    "create_json",
    "edit_rr_lumisections",
    "generate_json",
    "get_cycles",
    "get_dataset",
    "get_dataset_names_of_run",
    "get_datasets",
    "get_datasets_accepted",
    "get_joint_lumisection_ranges",
    "get_lumisection_ranges",
    "get_lumisection_ranges_by_component",
    "get_lumisections",
    "get_oms_lumisection_ranges",
    "get_oms_lumisections",
    "get_run",
    "get_runs",
    "make_significant_runs",
    "manually_refresh_components_statuses_for_runs",
    "move_datasets",
    "move_runs",
    "reset_RR_attributes_and_refresh_runs",
]

# The public client's constants, with its values. runql does not read them: its page size, poll interval and
# timeouts are options of ``setup``/``RunRegistry`` (see ``client.config``).
PAGE_SIZE = 50
WAITING_DQM_GUI_CONSTANT = "waiting dqm gui"
JSON_CREATION_SLEEP_TIME = 15
REQUESTS_TIMEOUT = 600
#: The public client's list constants, in its order; ``client.<NAME>`` gives a fresh ``list`` at each access.
LIST_CONSTANTS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "LUMISECTION_STATES": LUMISECTION_STATUSES,
        "ONLINE_RUN_STATES": ("SIGNOFF", "OPEN", "COMPLETED"),
        "OFFLINE_DATASET_STATES": ("SIGNOFF", "OPEN", "COMPLETED", WAITING_DQM_GUI_CONSTANT),
    }
)
#: ``get_runs()``/``get_datasets()`` without ``filter`` are refused above this many rows, as by the public client.
FILTER_REQUIRED_ABOVE = 20_000

#: The service's JSON answer to a lumisection read: a list (of objects), an object, or ``null``.
LumisectionJson = list[Row] | Row | None
_JOB_OPTIONS = frozenset(("timeout", "poll_interval", "on_progress", "cancel"))
_NONE: frozenset[str] = frozenset()
_FILTER_REQUIRED = {
    "runs": "ERROR: For run registry queries that retrieve more than 20,000 runs, you must pass a filter into "
    "get_runs, an empty filter get_runs(filter={}) works",
    "datasets": "ERROR: For queries that retrieve more than 20,000 datasets, you must pass a filter into "
    "get_datasets, an empty filter get_datasets(filter={}) works",
}
_OVER_LIMIT = {
    "runs": "ALERT: The specific run registry api request returns more runs than the limit({}), consider passing "
    "a greater limit to get_runs(limit=number) to get the whole result.",
    "datasets": "ALERT: The specific api request returns more datasets than the limit({}), consider passing a "
    "greater limit to get_datasets(limit=number) to get the whole result.",
}


class IgnoredArgumentWarning(UserWarning):
    """A keyword argument the public client accepts and ignores; runql ignores it too, but says so."""


class LimitWarning(UserWarning):
    """More rows matched than ``limit``: only the first ``limit`` were returned (the public client's ALERT)."""


def _options(function: str, kwargs: Mapping[str, Any], allowed: frozenset[str], *, depth: int = 1) -> dict[str, Any]:
    """The ``allowed`` keyword arguments; the others are ignored with a warning pointing at the caller's line
    (``depth``: the frames of this module between the caller and the function calling this one)."""
    ignored = sorted(set(kwargs) - allowed)
    if ignored:
        message = f"{function}() ignores {', '.join(ignored)}, as the public client does"
        warnings.warn(message, IgnoredArgumentWarning, stacklevel=2 + depth)
    return {k: v for k, v in kwargs.items() if k in allowed}


# -- reads ------------------------------------------------------------------------------------------------
def _listing(kind: Kind, limit: int, compress_attributes: bool, kwargs: Mapping[str, Any]) -> list[Row]:
    options = _options(f"get_{kind}", kwargs, LISTING_OPTIONS, depth=2)
    client = default_client()
    fetch = client.get_runs if kind == "runs" else client.get_datasets
    if "filter" not in options:
        probe = fetch(limit=1, page_size=1, compress_attributes=False)
        if probe.total is not None and probe.total > FILTER_REQUIRED_ABOVE:
            raise FilterRequiredError(_FILTER_REQUIRED[kind])
    rows = fetch(limit, bool(compress_attributes), **options)
    if limit is not None and rows.total is not None and rows.total > limit:
        warnings.warn(_OVER_LIMIT[kind].format(limit), LimitWarning, stacklevel=3)
    return list(rows)


def get_runs(limit: int = 40000, compress_attributes: bool = True, **kwargs: Any) -> list[dict[str, Any]]:
    """Every run matching ``filter`` (at most ``limit``), as the public client's dicts (compressed by default).

    ``kwargs``: ``filter``, ``ignore_filter_transformation``, ``page_size``, ``sortings`` (and runql's
    ``unknown_flags``, ``progress``, ``resume_from``). Without ``filter``, more than 20,000 matches raise
    :class:`~client.errors.FilterRequiredError`; more than ``limit`` give a :class:`LimitWarning`.
    """
    return _listing("runs", limit, compress_attributes, kwargs)


def get_datasets(limit: int = 40000, compress_attributes: bool = True, **kwargs: Any) -> list[dict[str, Any]]:
    """Every dataset matching ``filter`` (at most ``limit``), as the public client's dicts; see :func:`get_runs`.

    Compressed datasets keep the run's ``oms_attributes``, which the public client drops.
    """
    return _listing("datasets", limit, compress_attributes, kwargs)


def get_run(run_number: int, **kwargs: Any) -> dict[str, Any]:
    """The run (compressed unless ``compress_attributes=False``), or ``{}`` when there is none."""
    compress = kwargs.pop("compress_attributes", True)
    _options("get_run", kwargs, _NONE)
    return default_client().get_run(run_number, compress_attributes=bool(compress))


def get_dataset(run_number: int, dataset_name: str = "online", **kwargs: Any) -> dict[str, Any]:
    """The dataset ``dataset_name`` of the run (compressed unless ``compress_attributes=False``), or ``{}``."""
    compress = kwargs.pop("compress_attributes", True)
    _options("get_dataset", kwargs, _NONE)
    return default_client().get_dataset(run_number, dataset_name, bool(compress))


def get_dataset_names_of_run(run_number: int, **kwargs: Any) -> list[str]:
    _options("get_dataset_names_of_run", kwargs, _NONE)
    return default_client().get_dataset_names_of_run(run_number)


def get_cycles() -> list[Row]:
    return default_client().get_cycles()


def get_datasets_accepted() -> list[Row]:
    return default_client().get_datasets_accepted()


def _lumisections(
    function: str, endpoint: LumisectionRoute, run_number: int, dataset_name: str, kwargs: Mapping[str, Any]
) -> LumisectionJson:
    """The service's JSON answer as it is (``[]``, ``{}`` or ``None`` for an unknown run, as the service says)."""
    _options(function, kwargs, _NONE, depth=2)
    answer: LumisectionJson = default_client().get_lumisection_json(endpoint, run_number, dataset_name)
    return answer


def get_lumisections(run_number: int, dataset_name: str = "online", **kwargs: Any) -> LumisectionJson:
    """Per-lumisection RR statuses: a list, index i is lumisection i+1."""
    return _lumisections("get_lumisections", "rr_lumisections", run_number, dataset_name, kwargs)


def get_oms_lumisections(run_number: int, dataset_name: str = "online", **kwargs: Any) -> LumisectionJson:
    return _lumisections("get_oms_lumisections", "oms_lumisections", run_number, dataset_name, kwargs)


def get_lumisection_ranges(run_number: int, dataset_name: str = "online", **kwargs: Any) -> LumisectionJson:
    return _lumisections("get_lumisection_ranges", "rr_lumisection_ranges", run_number, dataset_name, kwargs)


def get_lumisection_ranges_by_component(
    run_number: int, dataset_name: str = "online", **kwargs: Any
) -> LumisectionJson:
    return _lumisections(
        "get_lumisection_ranges_by_component", "rr_lumisection_ranges_by_component", run_number, dataset_name, kwargs
    )


def get_oms_lumisection_ranges(run_number: int, **kwargs: Any) -> LumisectionJson:
    return _lumisections("get_oms_lumisection_ranges", "oms_lumisection_ranges", run_number, "online", kwargs)


def get_joint_lumisection_ranges(run_number: int, dataset_name: str = "online", **kwargs: Any) -> LumisectionJson:
    return _lumisections("get_joint_lumisection_ranges", "joint_lumisection_ranges", run_number, dataset_name, kwargs)


# -- golden JSONs -----------------------------------------------------------------------------------------
def create_json(json_logic: object, dataset_name_filter: str, **kwargs: Any) -> dict[str, Any]:
    """The service's json_portal row (a dict; ``["generated_json"]`` is the golden JSON), once it is complete.

    runql's options ``timeout``, ``poll_interval``, ``on_progress`` and ``cancel`` are accepted.
    """
    options = _options("create_json", kwargs, _JOB_OPTIONS)
    golden = default_client().create_json(json_logic, dataset_name_filter, engine="server", **options)
    row: dict[str, Any] = golden.to_row()
    return row


def generate_json(json_logic: object, **kwargs: Any) -> dict[str, Any]:
    """Deprecated (as in the public client): the golden JSON of ``json_logic`` over every dataset.

    Computed as ``create_json(json_logic, "%", **kwargs)["generated_json"]``: the rule selects datasets itself
    (``dataset.name``).
    """
    warnings.warn(
        "The generate_json is unsafe and will be deprecated. Please use create_json instead",
        PendingDeprecationWarning,
        stacklevel=2,
    )
    generated: dict[str, Any] = create_json(json_logic, "%", **kwargs)["generated_json"]
    return generated


# -- writes: run by run, stopping at the first failure (a WriteError carrying the per-run report) -------------
def _answers(function: str, kwargs: Mapping[str, Any], write: Callable[[], WriteReport]) -> list[Any]:
    _options(function, kwargs, _NONE, depth=2)
    return write().responses


def move_runs(from_: str, to_: str, run: RunNumbers = None, runs: RunNumbers = None, **kwargs: Any) -> list[Any]:
    """Move runs between OPEN, SIGNOFF and COMPLETED; the service's answer for each run."""
    return _answers("move_runs", kwargs, lambda: default_client().move_runs(from_, to_, run, runs))


def make_significant_runs(run: RunNumbers = None, runs: RunNumbers = None, **kwargs: Any) -> list[Any]:
    return _answers("make_significant_runs", kwargs, lambda: default_client().make_significant_runs(run, runs))


def reset_RR_attributes_and_refresh_runs(runs: RunNumbers = None, **kwargs: Any) -> list[Any]:  # noqa: N802
    return _answers(
        "reset_RR_attributes_and_refresh_runs",
        kwargs,
        lambda: default_client().reset_RR_attributes_and_refresh_runs(runs),
    )


def manually_refresh_components_statuses_for_runs(runs: RunNumbers = None, **kwargs: Any) -> list[Any]:
    return _answers(
        "manually_refresh_components_statuses_for_runs",
        kwargs,
        lambda: default_client().manually_refresh_components_statuses_for_runs(runs),
    )


def edit_rr_lumisections(
    run: int,
    lumi_start: int,
    lumi_end: int,
    component: str,
    status: str,
    comment: str = "",
    cause: str = "",
    dataset_name: str = "online",
    **kwargs: Any,
) -> Row:
    """Set the status of lumisections ``lumi_start``..``lumi_end``; the service's answer (one object)."""
    client = default_client()
    answer: Row
    (answer,) = _answers(
        "edit_rr_lumisections",
        kwargs,
        lambda: client.edit_rr_lumisections(run, lumi_start, lumi_end, component, status, comment, cause, dataset_name),
    )
    return answer


def move_datasets(
    from_: str,
    to_: str,
    dataset_name: str,
    workspace: str = "global",
    run: RunNumbers = None,
    runs: RunNumbers = None,
    **kwargs: Any,
) -> list[Any]:
    return _answers(
        "move_datasets",
        kwargs,
        lambda: default_client().move_datasets(from_, to_, dataset_name, workspace, run, runs),
    )


def change_run_class(run_numbers: RunNumbers, new_class: str) -> list[Any]:
    """Set the class of each run; the service's answer for each run."""
    return default_client().change_run_class(run_numbers, new_class).responses
