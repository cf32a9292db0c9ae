"""The row the service's json_portal returns when a golden-JSON job finishes (``rr-protocol.md`` §8).

>>> from schemas.jsonportal import JsonPortalRow
>>> row = JsonPortalRow.model_validate({"id": 7, "generated_json": {"315000": [[1, 40], [45, 50]]},
...                                     "min_run_number": 315000, "max_run_number": 315000})
>>> row.generated_json[315000], row.lumisection_count
([(1, 40), (45, 50)], 46)
"""

from __future__ import annotations

from pydantic import Field

from schemas._base import Record, UtcDatetime

__all__ = ["GoldenRanges", "JsonPortalRow"]

#: A golden JSON: run number → sorted, inclusive ``(first, last)`` lumisection ranges.
GoldenRanges = dict[int, list[tuple[int, int]]]


class JsonPortalRow(Record):
    """A finished json_portal job; luminosity totals and other columns are kept as extra fields."""

    id: int | str | None = None
    json_logic: object | None = None
    dataset_name_filter: str | None = None
    generated_json: GoldenRanges = Field(default_factory=dict)
    generated_json_with_dataset_names: dict[str, list[tuple[int, int]]] = Field(default_factory=dict)
    generated_anti_json: GoldenRanges = Field(default_factory=dict)
    min_run_number: int | None = None
    max_run_number: int | None = None
    created_at: UtcDatetime | None = Field(None, alias="createdAt")

    @property
    def lumisection_count(self) -> int:
        """Number of lumisections in the golden JSON."""
        return sum(last - first + 1 for ranges in self.generated_json.values() for first, last in ranges)
