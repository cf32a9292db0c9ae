"""``Records``: the sequence a listing returns, with how it was fetched, ``.to_pandas()`` and a notebook display.

Rows of typed listings are kept as the service's JSON, compressed in blocks of rows (:mod:`client.wire`, about a
ninth of the JSON's size), and each model is created on first access (then kept), so fetching costs about what
dicts cost and ``to_pandas()`` reads the JSON directly, a block at a time.

>>> from client.results import Records
>>> rows = Records([{"run_number": 1}, {"run_number": 2}], kind="runs", total=2)
>>> len(rows), rows.total, rows.count_changed, rows.synthetic
(2, 2, False, False)
>>> rows.to_pandas()["run_number"].tolist()
[1, 2]
>>> rows == [{"run_number": 1}, {"run_number": 2}], rows[1:]
(True, [{'run_number': 2}])
>>> from schemas import Run
>>> lazy = Records(kind="runs", wire=WireRows([b'{"run_number": 7}'], Run.model_validate_json))
>>> lazy[0].run_number, lazy.to_pandas()["run_number"].tolist()
(7, [7])
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, overload

from client.errors import ArgumentError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Records", "WireRows"]

T = TypeVar("T", covariant=True)  # read-only: a Records[Run] is a Records[Record]
_NOT_MADE: Any = object()
#: Rows shown by the notebook display.
_HTML_ROWS = 10


@dataclass(frozen=True)
class WireRows:
    """Rows kept as their JSON (``bytes``, or packed: :class:`client.wire.PackedRow`), and ``make(row)``, which
    creates a record from one."""

    blobs: Sequence[Any]
    make: Callable[[Any], Any]


class Records(Sequence[T]):
    """A sequence of records (models by default) plus facts about the fetch.

    ``kind``: ``"runs"`` or ``"datasets"``; ``total``: matching records the service reported (``None`` when not
    exactly known, e.g. a union fetched with a ``limit``); ``count_changed``: the count moved during the fetch
    (live data; rows may be missing, see ``notes``); ``duplicates_removed``: rows seen twice and dropped;
    ``synthetic``: the data comes from the embedded demo registry, not from CMS. Indexing, iteration, ``len``,
    slicing (a ``list``) and ``==`` (element-wise, against any sequence) behave like a list's.
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
        wire: WireRows | None = None,
    ) -> None:
        self._rows: list[Any] = list(rows)
        if wire is not None and self._rows:
            raise ArgumentError("give rows or wire, not both")
        self._wire = wire
        if wire is not None:
            self._rows = [_NOT_MADE] * len(wire.blobs)
        self.kind = kind
        self.total = total
        self.count_changed = count_changed
        self.duplicates_removed = duplicates_removed
        self.synthetic = synthetic
        self.notes = list(notes)

    # -- the sequence --------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return [self._row(i) for i in range(*index.indices(len(self._rows)))]
        if index < 0:
            index += len(self._rows)
        if not 0 <= index < len(self._rows):
            raise IndexError("Records index out of range")
        return self._row(index)

    def _row(self, index: int) -> T:
        row = self._rows[index]
        if row is _NOT_MADE:
            assert self._wire is not None
            row = self._rows[index] = self._wire.make(self._wire.blobs[index])
        return row  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[T]:
        return (self._row(i) for i in range(len(self._rows)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (str, bytes)) or not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join(repr(row) for row in itertools.islice(self, 3))
        more = f", ... {len(self) - 3} more" if len(self) > 3 else ""
        return f"Records([{shown}{more}], kind={self.kind!r}, total={self.total!r}{self._facts()})"

    def _facts(self) -> str:
        facts = [", count_changed=True"] if self.count_changed else []
        return "".join([*facts, ", synthetic=True"] if self.synthetic else facts)

    # -- frames and display -------------------------------------------------------------------------------
    def to_pandas(self) -> pd.DataFrame:
        """A DataFrame with one row per record and proper dtypes (see :mod:`client.frames`); rows kept as JSON
        are read from it directly, a chunk at a time, without creating their models."""
        from client.frames import blobs_frame, records_frame, release_free_memory

        if self._wire is None:
            return records_frame(self._rows)
        release_free_memory(len(self))
        return blobs_frame(self.kind, self._wire.blobs)

    def _head(self) -> Records[T]:
        if self._wire is None:
            return Records(self._rows[:_HTML_ROWS], kind=self.kind)
        return Records(kind=self.kind, wire=WireRows(self._wire.blobs[:_HTML_ROWS], self._wire.make))

    def _repr_html_(self) -> str:
        """The notebook display: what was fetched, and the first rows as a table (every value escaped)."""
        total = "" if self.total is None else f" of {self.total:,} matching"
        caption = f"Records: {len(self):,} {self.kind}{total}"
        if self.synthetic:
            caption += " · synthetic data (embedded demo registry, not CMS data)"
        if self.count_changed:
            caption += " · the count changed during the fetch: rows may be missing"
        head = self._head().to_pandas() if self else None
        table = "" if head is None else head.to_html(max_cols=12, escape=True, index=False, na_rep="—")
        more = (
            f"<p>… {len(self) - _HTML_ROWS:,} more rows (<code>.to_pandas()</code>)</p>"
            if len(self) > _HTML_ROWS
            else ""
        )
        return f"<div><p><b>{html.escape(caption)}</b></p>{table}{more}</div>"
