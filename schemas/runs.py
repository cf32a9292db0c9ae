"""Models of a run as ``/runs_filtered_ordered`` returns it (``rr-protocol.md`` §3).

>>> from schemas.runs import Run
>>> run = Run.model_validate({
...     "run_number": 315000, "version": 3, "deleted": False,
...     "oms_attributes": {"energy": 6500, "start_time": "2018-04-17T10:00:00Z", "new_thing": 1},
...     "rr_attributes": {"class": "Collisions18", "state": "OPEN", "significant": True},
...     "DatasetTripletCache": {"triplet_summary": {"dt-dt": {"GOOD": 5, "BAD": 3}}}})
>>> run.rr_attributes.class_, run.oms_attributes.energy, run.oms_attributes.start_time.tzname()
('Collisions18', 6500.0, 'UTC')
>>> run.triplet_summary["dt-dt"].good, run.triplet_summary["dt-dt"].standby   # absent statuses count 0
(5, 0)
>>> run.oms_attributes.model_extra                                          # unknown fields are kept
{'new_thing': 1}
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from pydantic import Field

from schemas._base import Record, UtcDatetime

__all__ = ["OmsAttributes", "RawCounts", "RrAttributes", "Run", "StatusCounts", "TripletCache", "typed_counts"]


class StatusCounts(Record):
    """Lumisection counts per status of one component (``dt-dt``); a status that never occurs counts 0."""

    good: int = Field(0, alias="GOOD")
    bad: int = Field(0, alias="BAD")
    standby: int = Field(0, alias="STANDBY")
    excluded: int = Field(0, alias="EXCLUDED")
    notset: int = Field(0, alias="NOTSET")
    no_value_found: int = Field(0, alias="NO VALUE FOUND")
    empty: int = Field(0, alias="EMPTY")
    comments: tuple[str, ...] = ()
    causes: tuple[str, ...] = ()

    def count(self, status: str) -> int:
        """The count of ``status`` by its wire name (``"GOOD"``, ``"NO VALUE FOUND"``...), 0 if absent.

        >>> StatusCounts.model_validate({"GOOD": 2}).count("good")
        2
        """
        field = STATUS_FIELDS.get(status.upper())
        if field is not None:
            return int(getattr(self, field))
        extra = (self.model_extra or {}).get(status.upper(), 0)
        return int(extra) if isinstance(extra, int) else 0


#: Wire status name → field of :class:`StatusCounts`.
STATUS_FIELDS: dict[str, str] = {
    "GOOD": "good",
    "BAD": "bad",
    "STANDBY": "standby",
    "EXCLUDED": "excluded",
    "NOTSET": "notset",
    "NO VALUE FOUND": "no_value_found",
    "EMPTY": "empty",
}


#: Status counts of one component as the service sends them: ``{"GOOD": 5, "BAD": 3, "comments": [...]}``.
RawCounts = dict[str, Any]


def typed_counts(summary: dict[str, RawCounts]) -> dict[str, StatusCounts]:
    """The raw triplet summary with each component's counts as a :class:`StatusCounts`."""
    return {flag: StatusCounts.model_validate(counts) for flag, counts in summary.items()}


class TripletCache(Record):
    """The ``DatasetTripletCache`` of a run: status counts per ``<workspace>-<column>``.

    The counts are kept as the service sent them (validating thousands of small models per listing costs more
    than the rest of a run); ``Run.triplet_summary`` gives them typed, built once on first access.
    """

    triplet_summary: dict[str, RawCounts] = Field(default_factory=dict)


class RrAttributes(Record):
    """Run attributes owned by the Run Registry (``rr_attributes.*``)."""

    class_: str | None = Field(None, alias="class")
    state: str | None = None
    significant: bool | None = None
    stop_reason: str | None = None
    short_run: bool | None = None
    run_needs_to_be_updated_manually: bool | None = None


class OmsAttributes(Record):
    """Run attributes copied from OMS (``oms_attributes.*``); every field of the catalogue, all optional."""

    # numbers
    run_number: int | None = None
    energy: float | None = None
    b_field: float | None = None
    l1_rate: float | None = None
    duration: int | None = None
    end_lumi: float | None = None
    init_lumi: float | None = None
    fill_number: int | None = None
    ls_duration: int | None = None
    recorded_lumi: float | None = None
    delivered_lumi: float | None = None
    hlt_physics_rate: float | None = None
    hlt_physics_size: float | None = None
    hlt_physics_counter: int | None = None
    l1_triggers_counter: int | None = None
    hlt_physics_throughput: float | None = None
    initial_prescale_index: int | None = None
    # strings
    l1_key: str | None = None
    hlt_key: str | None = None
    l1_menu: str | None = None
    sequence: str | None = None
    clock_type: str | None = None
    l1_hlt_mode: str | None = None
    trigger_mode: str | None = None
    cmssw_version: str | None = None
    l1_key_stripped: str | None = None
    fill_type_party1: str | None = None
    fill_type_party2: str | None = None
    fill_type_runtime: str | None = None
    l1_hlt_mode_stripped: str | None = None
    injection_scheme: str | None = None
    # dates
    start_time: UtcDatetime | None = None
    end_time: UtcDatetime | None = None
    last_update: UtcDatetime | None = None
    # booleans
    stable_beam: bool | None = None
    tier0_transfer: bool | None = None
    beams_present_and_stable: bool | None = None
    hf_included: bool | None = None
    dt_included: bool | None = None
    es_included: bool | None = None
    csc_included: bool | None = None
    cow_included: bool | None = None
    daq_included: bool | None = None
    dcs_included: bool | None = None
    dqm_included: bool | None = None
    gem_included: bool | None = None
    ltc_included: bool | None = None
    rpc_included: bool | None = None
    trg_included: bool | None = None
    hcal_included: bool | None = None
    scal_included: bool | None = None
    efed_included: bool | None = None
    ecal_included: bool | None = None
    lumi_included: bool | None = None
    tcds_included: bool | None = None
    totem_included: bool | None = None
    pixel_included: bool | None = None
    ctpps_included: bool | None = None
    hflumi_included: bool | None = None
    castor_included: bool | None = None
    tracker_included: bool | None = None
    dt_efed_included: bool | None = None
    rpc_efed_included: bool | None = None
    trg_efed_included: bool | None = None
    pixel_up_included: bool | None = None
    csc_efed_included: bool | None = None
    ctpps_tot_included: bool | None = None
    ecal_efed_included: bool | None = None
    hcal_efed_included: bool | None = None
    tracker_efed_included: bool | None = None
    # lists
    components: list[str] | None = None


class Run(Record):
    """One run: OMS and RR attributes, and the status counts of its ``online`` dataset."""

    run_number: int
    oms_attributes: OmsAttributes = Field(default_factory=OmsAttributes)
    rr_attributes: RrAttributes = Field(default_factory=RrAttributes)
    version: int | None = None
    deleted: bool | None = None
    triplet_cache: TripletCache = Field(default_factory=TripletCache, alias="DatasetTripletCache")

    @cached_property
    def triplet_summary(self) -> dict[str, StatusCounts]:
        """Status counts per component (``run.triplet_summary["dt-dt"].good``), typed on first access."""
        return typed_counts(self.triplet_cache.triplet_summary)

    def status_count(self, flag: str, status: str) -> int:
        """Lumisections of ``flag`` (``"dt-dt"``) with ``status`` (``"GOOD"``); 0 when absent."""
        counts = self.triplet_summary.get(flag)
        return 0 if counts is None else counts.count(status)
