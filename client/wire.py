"""Listing pages decoded row by row into compact rows: each row's JSON, compressed in blocks.

:class:`PackedReader` reads a page as its body arrives (:mod:`client.jsonsplit` hands over each complete row), so
the Python objects of one row live at a time (a page of 20,000 runs parsed into dicts takes about 900 MB; its rows
as JSON take 60 MB), and neither the page's bytes nor its parse tree ever exist whole; it packs the rows' JSON into
zlib blocks of :data:`BLOCK_ROWS` rows as they come (about a ninth of their size). Typed models and DataFrames are
then made from the JSON (:class:`client.results.Records`), a block decompressed once per run of reads.

>>> packed = pack_rows([b'{"run_number":7}', b'{"run_number":6}'])
>>> [row.position for row in packed], list(row_texts(packed))
([0, 1], [b'{"run_number":7}', b'{"run_number":6}'])
>>> PackedReader("runs", False).feed(b'{"runs": [{"name": "x"}], "count": 1}')
Traceback (most recent call last):
...
ValueError: runs.0: a row needs an integer 'run_number' (got {'name': 'x'})
"""

from __future__ import annotations

import reprlib
import zlib
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
from pydantic import ValidationError

from client.calls import Kind
from client.jsonsplit import RowSplitter
from client.pagination import DecodedPage

__all__ = [
    "BLOCK_ROWS",
    "PackedBlock",
    "PackedReader",
    "PackedRow",
    "RowReader",
    "pack_rows",
    "row_blob",
    "row_texts",
    "short_error",
]

#: Rows compressed together: about 9x smaller than their JSON, and a block (about 200 kB) inflates in under 1 ms.
BLOCK_ROWS = 64


def row_blob(row: Any) -> bytes:
    """The row's compact JSON, in a ``bytes`` of its own size (orjson's own buffer is larger); ``ValueError`` for a
    row orjson reads but cannot write (nested deeper than 254 levels)."""
    try:
        return bytes(memoryview(orjson.dumps(row)))
    except orjson.JSONEncodeError as exc:
        raise ValueError(f"a row nested too deep to keep as JSON ({exc})") from None


# ---- packed rows -----------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class PackedBlock:
    """The JSON of consecutive rows, zlib-compressed together, and where each row ends once inflated."""

    data: bytes
    ends: tuple[int, ...]

    @classmethod
    def of(cls, texts: Sequence[bytes]) -> PackedBlock:
        ends, end = [], 0
        for text in texts:
            end += len(text)
            ends.append(end)
        return cls(zlib.compress(b"".join(texts), 1), tuple(ends))

    def texts(self) -> list[bytes]:
        """Every row's JSON (inflates the block)."""
        raw = zlib.decompress(self.data)
        return [raw[start:end] for start, end in zip((0, *self.ends), self.ends, strict=False)]


class PackedRow(NamedTuple):
    """One row of a listing: its block and position (the row's JSON is ``RowReader()(row)``)."""

    block: PackedBlock
    position: int


def pack_rows(texts: Sequence[bytes]) -> list[PackedRow]:
    """Rows' JSON packed into blocks of :data:`BLOCK_ROWS` rows."""
    rows: list[PackedRow] = []
    for start in range(0, len(texts), BLOCK_ROWS):
        block = PackedBlock.of(texts[start : start + BLOCK_ROWS])
        rows += (PackedRow(block, i) for i in range(len(block.ends)))
    return rows


class RowReader:
    """``reader(row)``: the JSON of a row, packed or plain ``bytes``; the last block inflated is kept, so reading
    rows in order inflates each block once. Safe to share between threads (one tuple swapped atomically)."""

    def __init__(self) -> None:
        self._last: tuple[PackedBlock | None, list[bytes]] = (None, [])

    def __call__(self, row: PackedRow | bytes) -> bytes:
        if isinstance(row, bytes):
            return row
        block, texts = self._last
        if block is not row.block:
            texts = row.block.texts()
            self._last = (row.block, texts)
        return texts[row.position]


def row_texts(rows: Iterable[PackedRow | bytes]) -> Iterator[bytes]:
    """The rows' JSON, one at a time (each block inflated once per run of its rows)."""
    return map(RowReader(), rows)


class _Packer:
    """Packs rows as a page is parsed: every :data:`BLOCK_ROWS` rows become a block at once."""

    def __init__(self) -> None:
        self.pending: list[bytes] = []
        self.blocks: list[PackedBlock] = []
        self.rows = 0

    def add(self, row: Any) -> None:
        self.pending.append(row_blob(row))
        self.rows += 1
        if len(self.pending) == BLOCK_ROWS:
            self.seal()

    def seal(self) -> None:
        if self.pending:
            self.blocks.append(PackedBlock.of(self.pending))
            self.pending = []

    def packed(self) -> list[PackedRow]:
        self.seal()
        return [PackedRow(self.blocks[i // BLOCK_ROWS], i % BLOCK_ROWS) for i in range(self.rows)]


# ---- pages -----------------------------------------------------------------------------------------------------
def _run_key(row: Any) -> Hashable:
    number = row.get("run_number") if isinstance(row, dict) else None
    if isinstance(number, bool) or not isinstance(number, int):
        raise ValueError("a row needs an integer 'run_number'")
    return number


def _dataset_key(row: Any) -> Hashable:
    name = row.get("name") if isinstance(row, dict) else None
    if not isinstance(name, str):
        raise ValueError("a dataset row needs a string 'name'")
    return (_run_key(row), name)


_KEYS = {"runs": _run_key, "datasets": _dataset_key}


class PackedReader:
    """Reads one listing page as its body arrives into :class:`PackedRow` rows (a
    :class:`client.pagination.PageReader`): :class:`client.jsonsplit.RowSplitter` hands over each row as soon as it
    is complete, and the row is keyed and packed at once, so neither the page's bytes nor its parse tree ever exist
    whole; ``with_wire`` also keeps the rows as dicts (for sorting a union client-side). With ``convert``, each row
    becomes ``convert(row)`` instead of being packed (for listings that keep a little of each row).

    >>> reader = PackedReader("runs", False)
    >>> reader.feed(b'{"runs": [{"run_number": 7}, {"run_n')
    >>> reader.feed(b'umber": 6}], "count": 2}')
    >>> page = reader.result()
    >>> page.count, page.keys, list(row_texts(page.rows))
    (2, [7, 6], [b'{"run_number":7}', b'{"run_number":6}'])
    """

    def __init__(self, kind: Kind, with_wire: bool, *, convert: Callable[[Any], Any] | None = None) -> None:
        self.kind = kind
        self._splitter = RowSplitter(kind)
        self._key = _KEYS[kind]
        self._packer = _Packer()
        self._convert = convert
        self._converted: list[Any] = []
        self._keys: list[Hashable] = []
        self._wire: list[dict[str, Any]] | None = [] if with_wire else None

    def feed(self, chunk: bytes) -> None:
        self._take(self._splitter.feed(chunk))

    def result(self) -> DecodedPage:
        self._take(self._splitter.close())
        members = self._splitter.members
        if not self._splitter.has_rows:
            raise ValueError(_wrong(members, self.kind, "a valid list"))
        count = members.get("count")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(_wrong(members, "count", "an integer >= 0"))
        rows = self._packer.packed() if self._convert is None else self._converted
        return DecodedPage(count, rows, self._keys, self._wire)

    def _take(self, rows: list[Any]) -> None:
        for row in rows:
            try:
                key = self._key(row)
                self._keep(row)
            except (ValueError, TypeError, LookupError, AttributeError) as exc:  # convert's too: a row of any shape
                raise ValueError(f"{self.kind}.{len(self._keys)}: {exc} (got {_excerpt(row)})") from None
            self._keys.append(key)
            if self._wire is not None:
                self._wire.append(row)

    def _keep(self, row: Any) -> None:
        if self._convert is None:
            self._packer.add(row)
        else:
            self._converted.append(self._convert(row))


def _wrong(members: dict[str, Any], key: str, expected: str) -> str:
    """Worded as pydantic words the same problem in a whole page."""
    if key not in members:
        return f"{key}: Field required"
    return f"{key}: Input should be {expected} (got {_excerpt(members[key])})"


def _excerpt(value: Any) -> str:
    """At most 80 characters of ``value``'s repr, made in bounded time whatever its size and depth (a plain repr of
    a row nested 1,000 levels deep raises RecursionError)."""
    shortener = reprlib.Repr()
    shortener.maxlevel, shortener.maxstring, shortener.maxother = 4, 80, 80
    return shortener.repr(value)[:80]


def short_error(exc: ValidationError) -> str:
    """The first error of ``exc`` in one line: where, what, and the value (cut at 80 characters)."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{exc.error_count()} invalid field(s), first at {where}: {first['msg']} (got {first.get('input')!r:.80})"
