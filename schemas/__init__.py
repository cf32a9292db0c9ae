"""schemas: pydantic v2 models of the Run Registry's replies (runs, datasets, lumisections, json_portal rows),
and the golden-JSON types (``LumiMask`` with set algebra, ``GoldenJson`` with its loss report).

Every model is immutable, keeps unknown fields (``model_extra``) and gives its wire form back with ``to_wire()``.

>>> from schemas import Run
>>> Run.model_validate({"run_number": 315000, "rr_attributes": {"class": "Cosmics18"}}).rr_attributes.class_
'Cosmics18'
"""

from schemas._base import Record, UtcDatetime
from schemas.datasets import Dataset, DatasetAttributes, DatasetRun, DatasetTripletCache, DcsCounts
from schemas.golden import ClauseLoss, GoldenJson, LossAccounting, LossReport, LumiMask, LumiMaskError, Luminosity
from schemas.jsonportal import GoldenRanges, JsonPortalRow
from schemas.lumisections import (
    ComponentRange,
    ComponentStatus,
    JointLumisectionRange,
    OmsLumisection,
    OmsLumisectionRange,
    RangesByComponent,
    RRLumisection,
    RRLumisectionRange,
)
from schemas.runs import OmsAttributes, RawCounts, RrAttributes, Run, StatusCounts, TripletCache

__all__ = [
    "ClauseLoss",
    "ComponentRange",
    "ComponentStatus",
    "Dataset",
    "DatasetAttributes",
    "DatasetRun",
    "DatasetTripletCache",
    "DcsCounts",
    "GoldenJson",
    "GoldenRanges",
    "JointLumisectionRange",
    "JsonPortalRow",
    "LossAccounting",
    "LossReport",
    "LumiMask",
    "LumiMaskError",
    "Luminosity",
    "OmsAttributes",
    "OmsLumisection",
    "OmsLumisectionRange",
    "RRLumisection",
    "RRLumisectionRange",
    "RangesByComponent",
    "RawCounts",
    "Record",
    "RrAttributes",
    "Run",
    "StatusCounts",
    "TripletCache",
    "UtcDatetime",
]
