"""The row the service's json_portal returns for a golden-JSON job (``rr-protocol.md`` §8).

The service stores the row in two phases: first with ``generated_anti_json`` ``{}`` and every ``*_lost`` field at
−1, then complete (:attr:`JsonPortalRow.finished`). Luminosity fields are plain sums of the per-lumisection
``recorded`` / ``delivered`` values, in their unit.

>>> from schemas.jsonportal import JsonPortalRow
>>> row = JsonPortalRow.model_validate({"id": 7, "generated_json": {"315000": [[1, 40], [45, 50]]},
...     "min_run_number": 315000, "max_run_number": 315000, "total_recorded_luminosity_lost": -1})
>>> row.generated_json[315000], row.lumisection_count, row.finished
([(1, 40), (45, 50)], 46, False)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pydantic import Field

from schemas._base import Record, UtcDatetime

__all__ = ["GoldenRanges", "JsonPortalRow", "NamedRanges", "row_finished"]

_LOST_FIELDS: Final = ("total_recorded_luminosity_lost", "total_delivered_luminosity_lost")

#: A golden JSON: run number → sorted, inclusive ``(first, last)`` lumisection ranges.
GoldenRanges = dict[int, list[tuple[int, int]]]
#: The same keyed by ``"<run>-<dataset>"``.
NamedRanges = dict[str, list[tuple[int, int]]]
#: A luminosity figure as the service wrote it: its plain sums stay integers while every value is one.
Figure = int | float


def row_finished(row: Mapping[str, Any]) -> bool:
    """Whether the service has filled in a row (no ``*_lost`` field below 0; a row without those fields, from a
    service that stores rows in one go, counts as finished).

    >>> row_finished({"total_recorded_luminosity_lost": -1}), row_finished({"total_recorded_luminosity_lost": 0})
    (False, True)
    """
    values = [row.get(name) for name in _LOST_FIELDS]
    return all(not isinstance(v, (int, float)) or v >= 0 for v in values)


class JsonPortalRow(Record):
    """A json_portal row (``GeneratedJson``); fields absent from an answer stay ``None`` / empty."""

    id: int | str | None = None
    dataset_name_filter: str | None = None
    tags: str | None = None
    created_by: str | None = None
    official: bool | None = None
    runregistry_version: int | str | None = None
    json_logic: object | None = None
    generated_json: GoldenRanges = Field(default_factory=dict)
    generated_json_with_dataset_names: NamedRanges = Field(default_factory=dict)
    generated_anti_json: GoldenRanges = Field(default_factory=dict)
    generated_anti_json_with_dataset_names: NamedRanges = Field(default_factory=dict)
    min_run_number: int | None = None
    max_run_number: int | None = None
    total_delivered_luminosity: Figure | None = None
    total_recorded_luminosity: Figure | None = None
    recorded_luminosity_in_json: Figure | None = None
    delivered_luminosity_in_json: Figure | None = None
    total_recorded_luminosity_lost: Figure | None = None
    total_delivered_luminosity_lost: Figure | None = None
    total_recorded_luminosity_from_run_range: Figure | None = None
    total_delivered_luminosity_from_run_range: Figure | None = None
    rules_flagged_false_quantity_luminosity: dict[str, Figure] = Field(default_factory=dict)
    rules_flagged_false_combination_luminosity: dict[str, Figure] = Field(default_factory=dict)
    runs_lumisections_responsible_for_rule: dict[str, NamedRanges] = Field(default_factory=dict)
    deleted: bool | None = None
    created_at: UtcDatetime | None = Field(None, alias="createdAt")
    updated_at: UtcDatetime | None = Field(None, alias="updatedAt")

    @property
    def lumisection_count(self) -> int:
        """Number of lumisections in the golden JSON."""
        return sum(last - first + 1 for ranges in self.generated_json.values() for first, last in ranges)

    @property
    def finished(self) -> bool:
        """Whether the service has filled in the anti-JSON and the losses (:func:`row_finished`)."""
        return row_finished({name: getattr(self, name) for name in _LOST_FIELDS})
