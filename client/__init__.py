"""runql's client of the CMS Run Registry: the public ``runregistry`` client's calls, fast, typed and safe.

>>> import client as runregistry                     # scripts port by changing one import
>>> rr = runregistry.RunRegistry(target="embedded", embedded_options={"runs": 30})   # synthetic demo data
>>> runs = rr.get_runs(filter={"significant": True, "dt-dt": "GOOD"})
>>> all(run.rr_attributes.significant for run in runs)
True
>>> rr.close()

Module-level functions (``get_runs``, ``get_run``, ...) use a default client: ``ENVIRONMENT`` (else
production), changed with ``setup(target)``. ``RunRegistry`` and ``AsyncRunRegistry`` objects are independent.
Errors: see :mod:`client.errors` (invalid filters raise ``querylang.FilterError`` before any request).
"""

from client.api import AsyncRunRegistry, RunRegistry
from client.default import default_client, delegate, setup
from client.dials import AsyncDials, Dials
from client.dials_golden import create_json_excluding_ml
from client.errors import (
    AuthError,
    ConfigError,
    JobError,
    PartialResultError,
    RunQLError,
    ServiceError,
    TransportError,
    WriteError,
)
from client.results import Records
from client.writes import WriteOutcome, WriteReport

change_run_class = delegate("change_run_class")
create_json = delegate("create_json")
edit_rr_lumisections = delegate("edit_rr_lumisections")
get_cycles = delegate("get_cycles")
get_dataset = delegate("get_dataset")
get_dataset_names_of_run = delegate("get_dataset_names_of_run")
get_datasets = delegate("get_datasets")
get_datasets_accepted = delegate("get_datasets_accepted")
get_joint_lumisection_ranges = delegate("get_joint_lumisection_ranges")
get_lumisection_ranges = delegate("get_lumisection_ranges")
get_lumisection_ranges_by_component = delegate("get_lumisection_ranges_by_component")
get_lumisections = delegate("get_lumisections")
get_oms_lumisection_ranges = delegate("get_oms_lumisection_ranges")
get_oms_lumisections = delegate("get_oms_lumisections")
get_run = delegate("get_run")
get_runs = delegate("get_runs")
make_significant_runs = delegate("make_significant_runs")
manually_refresh_components_statuses_for_runs = delegate("manually_refresh_components_statuses_for_runs")
move_datasets = delegate("move_datasets")
move_runs = delegate("move_runs")
reset_RR_attributes_and_refresh_runs = delegate("reset_RR_attributes_and_refresh_runs")  # noqa: N816

__all__ = [
    "AsyncDials",
    "AsyncRunRegistry",
    "AuthError",
    "ConfigError",
    "Dials",
    "JobError",
    "PartialResultError",
    "Records",
    "RunQLError",
    "RunRegistry",
    "ServiceError",
    "TransportError",
    "WriteError",
    "WriteOutcome",
    "WriteReport",
    "change_run_class",
    "create_json",
    "create_json_excluding_ml",
    "default_client",
    "edit_rr_lumisections",
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
