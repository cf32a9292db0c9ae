"""Per-lumisection OMS replies are cut into ranges of the bits a rule reads, a column at a time: the same ranges
as comparing the lumisections one by one (absent keys, ``null``, and ``1 == True`` as json-logic sees them)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from client.omscolumns import ABSENT, columns_of

VALUES = st.one_of(st.booleans(), st.none(), st.sampled_from([0, 1]), st.just(ABSENT))
KEYS = ["bpix_ready", "fpix_ready"]


def one_by_one(lumisections: list[dict[str, Any]], keys: list[str]) -> list[dict[str, Any]]:
    """The reference: a new range wherever one lumisection's values differ from the previous one's."""
    ranges: list[dict[str, Any]] = []
    previous: list[Any] | None = None
    for number, item in enumerate(lumisections, start=1):
        values = [item.get(key, ABSENT) for key in keys]
        if values == previous:
            ranges[-1]["end"] = number
        else:
            present = {key: value for key, value in zip(keys, values, strict=True) if value is not ABSENT}
            ranges.append({**present, "start": number, "end": number})
            previous = values
    return ranges


@settings(max_examples=80, deadline=None)
@given(
    rows=st.lists(st.tuples(VALUES, VALUES), max_size=40),
    keys=st.sampled_from([[], KEYS[:1], KEYS]),
)
def test_column_ranges_equal_one_by_one(rows: list[tuple[Any, Any]], keys: list[str]) -> None:
    lumisections = [
        {key: value for key, value in zip(KEYS, row, strict=True) if value is not ABSENT} | {"recorded": 1}
        for row in rows
    ]
    assert columns_of(lumisections, KEYS).ranges(keys) == one_by_one(lumisections, keys)
