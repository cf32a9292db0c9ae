"""``Records``: the list a listing returns, with how it was fetched and ``.to_pandas()``.

>>> from client.results import Records
>>> rows = Records([{"run_number": 1}, {"run_number": 2}], kind="runs", total=2)
>>> len(rows), rows.total, rows.count_changed, rows.synthetic
(2, 2, False, False)
>>> rows.to_pandas()["run_number"].tolist()
[1, 2]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Records"]

T = TypeVar("T")


class Records(list[T]):
    """A plain ``list`` of records (models by default) plus facts about the fetch.

    ``kind``: ``"runs"`` or ``"datasets"``; ``total``: matching records the service reported (``None`` when not
    exactly known, e.g. a union fetched with a ``limit``); ``count_changed``: the count moved during the fetch
    (live data; rows may be missing, see ``notes``); ``duplicates_removed``: rows seen twice and dropped;
    ``synthetic``: the data comes from the embedded demo registry, not from CMS.
    """

    def __init__(
        self,
        rows: Iterable[T] = (),
        *,
        kind: str,
        total: int | None = None,
        count_changed: bool = False,
        duplicates_removed: int = 0,
        synthetic: bool = False,
        notes: Iterable[str] = (),
    ) -> None:
        super().__init__(rows)
        self.kind = kind
        self.total = total
        self.count_changed = count_changed
        self.duplicates_removed = duplicates_removed
        self.synthetic = synthetic
        self.notes = list(notes)

    def to_pandas(self) -> pd.DataFrame:
        """A DataFrame with one row per record and proper dtypes (see :mod:`client.frames`)."""
        from client.frames import records_frame

        return records_frame(self)
