"""runql's client of the CMS Run Registry: the public ``runregistry`` client's calls, fast, typed and safe.

>>> import client as runregistry                     # scripts port by changing one import
>>> rr = runregistry.RunRegistry(target="embedded", embedded_options={"runs": 30})   # synthetic demo data
>>> runs = rr.get_runs(filter={"significant": True, "dt-dt": "GOOD"})
>>> all(run.rr_attributes.significant for run in runs)
True
>>> rr.close()

The module-level functions (``get_runs``, ``get_run``, ``create_json``, ...) behave like the public client
3.1.2's (:mod:`client.compat`: plain dicts, its defaults and constants) on a default client: ``ENVIRONMENT``
(else production), changed with ``setup(target)``. ``RunRegistry`` and ``AsyncRunRegistry`` objects are
independent and return typed models. Errors: see :mod:`client.errors` (all derive from
``RunQLError``; invalid filters raise ``querylang.FilterError`` before any request).
"""

from client.api import AsyncRunRegistry, RunRegistry
from client.compat import (
    JSON_CREATION_SLEEP_TIME,
    LIST_CONSTANTS,
    PAGE_SIZE,
    REQUESTS_TIMEOUT,
    WAITING_DQM_GUI_CONSTANT,
    change_run_class,
    create_json,
    edit_rr_lumisections,
    generate_json,
    get_cycles,
    get_dataset,
    get_dataset_names_of_run,
    get_datasets,
    get_datasets_accepted,
    get_joint_lumisection_ranges,
    get_lumisection_ranges,
    get_lumisection_ranges_by_component,
    get_lumisections,
    get_oms_lumisection_ranges,
    get_oms_lumisections,
    get_run,
    get_runs,
    make_significant_runs,
    manually_refresh_components_statuses_for_runs,
    move_datasets,
    move_runs,
    reset_RR_attributes_and_refresh_runs,
)
from client.default import default_client, setup
from client.dials import AsyncDials, Dials
from client.dials_golden import create_json_excluding_ml
from client.errors import (
    ArgumentError,
    ArgumentTypeError,
    AuthError,
    ConfigError,
    FilterRequiredError,
    JobError,
    PartialResultError,
    RunQLError,
    ServiceError,
    TransportError,
    UnknownOptionError,
    WriteError,
)
from client.results import Records
from client.writes import WriteOutcome, WriteReport

__all__ = [
    "JSON_CREATION_SLEEP_TIME",
    "LUMISECTION_STATES",
    "OFFLINE_DATASET_STATES",
    "ONLINE_RUN_STATES",
    "PAGE_SIZE",
    "REQUESTS_TIMEOUT",
    "WAITING_DQM_GUI_CONSTANT",
    "ArgumentError",
    "ArgumentTypeError",
    "AsyncDials",
    "AsyncRunRegistry",
    "AuthError",
    "ConfigError",
    "Dials",
    "FilterRequiredError",
    "JobError",
    "PartialResultError",
    "Records",
    "RunQLError",
    "RunRegistry",
    "ServiceError",
    "TransportError",
    "UnknownOptionError",
    "WriteError",
    "WriteOutcome",
    "WriteReport",
    "change_run_class",
    "create_json",
    "create_json_excluding_ml",
    "default_client",
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
    "setup",
]


def __getattr__(name: str) -> list[str]:
    """The public client's list constants (``LUMISECTION_STATES``, ...), a fresh copy at each access."""
    if name in LIST_CONSTANTS:
        return list(LIST_CONSTANTS[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
