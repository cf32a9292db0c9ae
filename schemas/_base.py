"""Shared building blocks of the record models: the base class and the date type.

>>> from schemas._base import UtcDatetime, Record
>>> class Thing(Record):
...     when: UtcDatetime | None = None
>>> Thing(when="2018-06-01T12:00:00Z", colour="red").when.isoformat()
'2018-06-01T12:00:00+00:00'
>>> Thing(when="2018-06-01T12:00:00").model_extra      # unknown fields are kept
{}
>>> Thing(colour="red").model_extra
{'colour': 'red'}
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

__all__ = ["Record", "UtcDatetime", "as_utc"]


def as_utc(value: datetime) -> datetime:
    """Make a datetime aware: naive values are taken as UTC (the service stores UTC), aware ones are converted."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


#: A timezone-aware UTC datetime; accepts ISO-8601 strings with ``Z``, an offset, or none (taken as UTC).
UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]


class Record(BaseModel):
    """Base of every record: immutable, fields by name or wire alias, unknown fields preserved."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    def to_wire(self) -> dict[str, object]:
        """The record as the service would send it (wire names, unknown fields included, unset fields omitted)."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)
