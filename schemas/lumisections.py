"""Models of the lumisection endpoints (``rr-protocol.md`` §7); lumisections are numbered from 1, ranges inclusive.

>>> from schemas.lumisections import RRLumisectionRange, OmsLumisection
>>> r = RRLumisectionRange.model_validate({"start": 1, "end": 40, "dt-dt": {"status": "GOOD", "comment": ""}})
>>> r.start, r.end, len(r), r.statuses["dt-dt"].status, r.status("csc-csc")
(1, 40, 40, 'GOOD', None)
>>> r.to_wire()["dt-dt"]["status"]
'GOOD'
>>> OmsLumisection.model_validate({"beam1_present": True, "recorded": 0.5}).beam1_present
True
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_serializer, model_validator

from schemas._base import Record

__all__ = [
    "ComponentRange",
    "ComponentStatus",
    "JointLumisectionRange",
    "OmsLumisection",
    "OmsLumisectionRange",
    "RRLumisection",
    "RRLumisectionRange",
    "RangesByComponent",
]


class ComponentStatus(Record):
    """The status of one component (``dt-dt``) in a lumisection, with the shifter's comment and cause."""

    status: str | None = None
    comment: str | None = None
    cause: str | None = None


#: One RR lumisection: component → status (``get_lumisections`` returns a list of these, index i is LS i+1).
RRLumisection = dict[str, ComponentStatus]


class ComponentRange(ComponentStatus):
    """Consecutive lumisections ``start..end`` (inclusive) where one component keeps one status."""

    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start + 1


#: ``get_lumisection_ranges_by_component``: component → its ranges.
RangesByComponent = dict[str, list[ComponentRange]]


class OmsLumisection(Record):
    """One OMS lumisection: DCS/beam bits, prescale, recorded and delivered luminosity."""

    rp_time_ready: bool | None = None
    cscp_ready: bool | None = None
    physics_flag: bool | None = None
    dt0_ready: bool | None = None
    beam1_present: bool | None = None
    bpix_ready: bool | None = None
    ho_ready: bool | None = None
    dtp_ready: bool | None = None
    tecm_ready: bool | None = None
    tibtid_ready: bool | None = None
    fpix_ready: bool | None = None
    rpc_ready: bool | None = None
    rp_sect_56_ready: bool | None = None
    castor_ready: bool | None = None
    esp_ready: bool | None = None
    eep_ready: bool | None = None
    hbhea_ready: bool | None = None
    ebm_ready: bool | None = None
    dtm_ready: bool | None = None
    eem_ready: bool | None = None
    esm_ready: bool | None = None
    tecp_ready: bool | None = None
    ebp_ready: bool | None = None
    hf_ready: bool | None = None
    rp_sect_45_ready: bool | None = None
    cscm_ready: bool | None = None
    cms_active: bool | None = None
    zdc_ready: bool | None = None
    hbheb_ready: bool | None = None
    tob_ready: bool | None = None
    beam1_stable: bool | None = None
    hbhec_ready: bool | None = None
    beam2_stable: bool | None = None
    beam2_present: bool | None = None
    gemp_ready: bool | None = None
    gemm_ready: bool | None = None
    prescale_index: int | None = None
    prescale_name: str | None = None
    recorded: float | None = None
    delivered: float | None = None


class OmsLumisectionRange(OmsLumisection):
    """Consecutive lumisections ``start..end`` (inclusive) with equal OMS bits."""

    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start + 1


def _split_statuses(data: Any) -> Any:
    """Wire range ``{"start", "end", "dt-dt": {...}, ...}`` → ``{"start", "end", "statuses": {...}, ...}``."""
    if not isinstance(data, dict) or "statuses" in data:
        return data
    statuses = {k: v for k, v in data.items() if isinstance(v, dict) and "-" in k}
    rest = {k: v for k, v in data.items() if k not in statuses}
    return {**rest, "statuses": statuses}


class _WithStatuses(Record):
    """A range's per-component statuses: ``{"dt-dt": {...}}`` on the wire, ``statuses`` in Python."""

    statuses: dict[str, ComponentStatus] = Field(default_factory=dict)

    _split = model_validator(mode="before")(_split_statuses)

    def status(self, flag: str) -> str | None:
        """The status of ``flag`` (``"dt-dt"``) over the range, ``None`` if the component is absent."""
        found = self.statuses.get(flag)
        return None if found is None else found.status

    @model_serializer(mode="wrap")
    def _flatten(self, handler: Any) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        statuses = data.pop("statuses", {})
        return {**data, **statuses}


class RRLumisectionRange(_WithStatuses):
    """Consecutive lumisections ``start..end`` (inclusive) where every component keeps its status."""

    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start + 1


class JointLumisectionRange(OmsLumisectionRange, _WithStatuses):
    """A range over which both the RR statuses and the OMS values are constant."""
