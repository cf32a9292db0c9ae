"""Models of a dataset as ``/datasets_filtered_ordered`` returns it (``rr-protocol.md`` §3).

>>> from schemas.datasets import Dataset
>>> ds = Dataset.model_validate({
...     "run_number": 315000, "name": "/PromptReco/Collisions2018A/DQM",
...     "dataset_attributes": {"global_state": "OPEN", "dt_state": "SIGNOFF"},
...     "Run": {"rr_attributes": {"class": "Collisions18"}, "oms_attributes": {"energy": 6500}},
...     "DatasetTripletCache": {"triplet_summary": {"dt-dt": {"GOOD": 7}},
...                             "dcs_summary": {"beam1_present": {"TRUE": 7}}}})
>>> ds.key, ds.dataset_attributes.dt_state, ds.run.rr_attributes.class_
((315000, '/PromptReco/Collisions2018A/DQM'), 'SIGNOFF', 'Collisions18')
>>> ds.triplet_summary["dt-dt"].good, ds.dcs_summary["beam1_present"].true
(7, 7)
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from pydantic import Field

from schemas._base import Record
from schemas.runs import OmsAttributes, RawCounts, RrAttributes, StatusCounts, typed_counts

__all__ = ["Dataset", "DatasetAttributes", "DatasetRun", "DatasetTripletCache", "DcsCounts"]


class DcsCounts(Record):
    """Lumisection counts of one DCS bit: true, false, null or empty."""

    true: int = Field(0, alias="TRUE")
    false: int = Field(0, alias="FALSE")
    null: int = Field(0, alias="NULL")
    empty: int = Field(0, alias="EMPTY")


class DatasetTripletCache(Record):
    """Status counts per component and DCS bit counts of one dataset."""

    triplet_summary: dict[str, RawCounts] = Field(default_factory=dict)
    dcs_summary: dict[str, DcsCounts] = Field(default_factory=dict)


class DatasetAttributes(Record):
    """``dataset_attributes.*``: the global and per-workspace states, and where the dataset appeared."""

    global_state: str | None = None
    appeared_in: str | None = None
    btag_state: str | None = None
    castor_state: str | None = None
    cms_state: str | None = None
    csc_state: str | None = None
    ctpps_state: str | None = None
    dc_state: str | None = None
    dt_state: str | None = None
    ecal_state: str | None = None
    egamma_state: str | None = None
    gem_state: str | None = None
    hcal_state: str | None = None
    hlt_state: str | None = None
    jetmet_state: str | None = None
    l1t_state: str | None = None
    lumi_state: str | None = None
    muon_state: str | None = None
    rpc_state: str | None = None
    tau_state: str | None = None
    tracker_state: str | None = None


class DatasetRun(Record):
    """The attributes of the dataset's run, joined in by the service."""

    rr_attributes: RrAttributes = Field(default_factory=RrAttributes)
    oms_attributes: OmsAttributes = Field(default_factory=OmsAttributes)


class Dataset(Record):
    """One dataset of a run (``online`` or an offline name such as ``/PromptReco/Collisions2018A/DQM``)."""

    run_number: int
    name: str
    dataset_attributes: DatasetAttributes = Field(default_factory=DatasetAttributes)
    datasets_in_gui: list[Any] = Field(default_factory=list)
    deleted: bool | None = None
    version: int | None = None
    run: DatasetRun = Field(default_factory=DatasetRun, alias="Run")
    triplet_cache: DatasetTripletCache = Field(default_factory=DatasetTripletCache, alias="DatasetTripletCache")

    @property
    def key(self) -> tuple[int, str]:
        """``(run_number, name)``: what identifies a dataset."""
        return (self.run_number, self.name)

    @cached_property
    def triplet_summary(self) -> dict[str, StatusCounts]:
        """Status counts per component, typed on first access (see ``schemas.runs.TripletCache``)."""
        return typed_counts(self.triplet_cache.triplet_summary)

    @property
    def dcs_summary(self) -> dict[str, DcsCounts]:
        return self.triplet_cache.dcs_summary
