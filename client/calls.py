"""The service's routes as sans-I/O :class:`~client.transport.Call` builders, and the public client's shapes.

>>> listing_call("runs", {"run_number": {">": 315000}}, page=2, page_size=100, sortings=()).json
{'page': 2, 'page_size': 100, 'filter': {'run_number': {'>': 315000}}, 'sortings': []}
>>> lumisection_call("rr_lumisection_ranges", 315000, "online").path
'/lumisections/rr_lumisection_ranges'
>>> compress_run({"run_number": 1, "oms_attributes": {"energy": 6500},
...               "rr_attributes": {"class": "Cosmics18"}, "DatasetTripletCache": {"triplet_summary": {}}})
{'oms_attributes': {'energy': 6500}, 'class': 'Cosmics18', 'lumisections': {}, 'run_number': 1}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args
from urllib.parse import quote

from client.errors import ArgumentError, ArgumentTypeError
from client.transport import Call
from querylang.plan import Kind

__all__ = [
    "DEFAULT_SORTINGS",
    "LUMISECTION_ENDPOINTS",
    "Kind",
    "LumisectionRoute",
    "compress_dataset",
    "compress_run",
    "get_call",
    "listing_call",
    "lumisection_call",
    "range_status",
    "require_run_number",
]

Sorting = tuple[str, str]
#: The service's default orders, used when a union of several filters is re-sorted client-side.
DEFAULT_SORTINGS: Mapping[Kind, tuple[Sorting, ...]] = {
    "runs": (("run_number", "DESC"),),
    "datasets": (("run_number", "DESC"), ("name", "ASC")),
}
#: The six lumisection routes of ``rr-protocol.md`` §7.
LumisectionRoute = Literal[
    "rr_lumisections",
    "oms_lumisections",
    "rr_lumisection_ranges",
    "rr_lumisection_ranges_by_component",
    "oms_lumisection_ranges",
    "joint_lumisection_ranges",
]
LUMISECTION_ENDPOINTS: tuple[str, ...] = get_args(LumisectionRoute)


def listing_call(
    kind: Kind, backend_filter: Mapping[str, Any], *, page: int, page_size: int, sortings: Sequence[Sorting]
) -> Call:
    """``POST /runs_filtered_ordered`` or ``/datasets_filtered_ordered`` (all four body keys, §3)."""
    body = {
        "page": page,
        "page_size": page_size,
        "filter": dict(backend_filter),
        "sortings": [list(s) for s in sortings],
    }
    return Call("POST", f"/{kind}_filtered_ordered", json=body, raw=True)


def lumisection_call(endpoint: str, run_number: int, dataset_name: str) -> Call:
    """``POST /lumisections/<endpoint> {run_number, dataset_name}`` (§7)."""
    if endpoint not in LUMISECTION_ENDPOINTS:
        raise ArgumentError(f"unknown lumisection endpoint {endpoint!r}; expected one of {LUMISECTION_ENDPOINTS}")
    body = {"run_number": require_run_number(run_number), "dataset_name": _dataset_name(dataset_name)}
    return Call("POST", f"/lumisections/{endpoint}", json=body)


def get_call(*segments: str | int) -> Call:
    """A ``GET`` of ``/a/b/...`` with each segment URL-quoted."""
    return Call("GET", "/" + "/".join(quote(str(s), safe="") for s in segments))


def require_run_number(value: object, *, what: str = "run_number") -> int:
    """``value`` if it is a positive int (not a bool), else a ``TypeError``/``ValueError`` saying so."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(f"{what} must be an int, got {value!r}")
    if value <= 0:
        raise ArgumentError(f"{what} must be positive, got {value!r}")
    return value


def _dataset_name(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ArgumentTypeError(f"dataset_name must be a non-empty string, got {value!r}")
    return value


def compress_run(run: Mapping[str, Any]) -> dict[str, Any]:
    """The public client's compressed run: rr attributes flattened, triplet summary as ``lumisections``."""
    compressed = {
        "oms_attributes": run.get("oms_attributes"),
        **(run.get("rr_attributes") or {}),
        "lumisections": (run.get("DatasetTripletCache") or {}).get("triplet_summary"),
        **run,
    }
    compressed.pop("rr_attributes", None)
    compressed.pop("DatasetTripletCache", None)
    return compressed


def compress_dataset(dataset: Mapping[str, Any]) -> dict[str, Any]:
    """The public client's compressed dataset, keeping the run's OMS attributes (the public client drops them)."""
    run = dataset.get("Run") or {}
    compressed = {
        **(run.get("rr_attributes") or {}),
        **dataset,
        "lumisections": (dataset.get("DatasetTripletCache") or {}).get("triplet_summary"),
        "oms_attributes": run.get("oms_attributes"),
    }
    compressed.pop("DatasetTripletCache", None)
    compressed.pop("Run", None)
    return compressed


def range_status(item: Mapping[str, Any]) -> Any:
    """The status of one range of ``/rr_lumisection_ranges_by_component``. Where a component has no status at some
    lumisections of a dataset whose other components do, the real service sends ranges without one (it spreads
    JavaScript's ``undefined``: ``{"start": 7, "end": 7}``, one per lumisection); they are ``EMPTY``, as its
    per-lumisection route says of the same lumisections. A ``status`` that is there is returned as it is.

    >>> range_status({"status": "GOOD", "start": 1, "end": 4}), range_status({"start": 5, "end": 5})
    ('GOOD', 'EMPTY')
    """
    return item.get("status", "EMPTY")
