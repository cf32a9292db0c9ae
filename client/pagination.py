"""Fetching a listing: every page of every filter of a plan, checked, de-duplicated, unioned, resumable.

The algorithm, as one sans-I/O operation (see :mod:`client.engine`):

1. every request sorts by the user's sortings then a unique tie-breaker (:func:`with_tie_breaker`): the real
   service pages with OFFSET in separate queries, so ties in a non-unique sort key repeat and drop rows;
2. page 0 of each backend filter (concurrently) gives its ``count``;
3. the remaining pages of every filter are fetched concurrently (``limit`` shrinks the page size and the
   number of pages);
4. every page is checked (shape, row count, ``count`` unchanged; a changed count is reported, not hidden);
5. the rows of each filter are checked against its count: a row on two pages (so another one missing) gets
   the pages involved re-fetched, up to :data:`REFETCH_ROUNDS` times;
6. rows are de-duplicated across filters by key (``run_number``; ``(run_number, name)`` for datasets),
   filters unioned in order, and a union of several filters re-sorted by the requested sortings;
7. if some pages still failed (after the transport's retries, or still inconsistent after re-fetching),
   :class:`~client.errors.PartialResultError` carries the rows fetched and a :class:`ResumeFrom` token that
   fetches only the missing pages.
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from types import MappingProxyType
from typing import Any, Protocol

import orjson

from client.calls import DEFAULT_SORTINGS, Kind, Sorting, listing_call
from client.engine import Batch, Operation
from client.errors import ArgumentError, PartialResultError, RunQLError, ServiceError
from client.transport import Call, Reply, err_text

__all__ = [
    "MAX_PAGES",
    "REFETCH_ROUNDS",
    "ConvertPage",
    "CountChangedWarning",
    "DecodePage",
    "DecodedPage",
    "Listing",
    "ListingQuery",
    "Page",
    "PageReader",
    "ReadPage",
    "ResumeFrom",
    "fetch_listing",
    "sort_key_of",
    "wire_decoder",
    "with_tie_breaker",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DecodedPage:
    """A page's body decoded: the service's count, the rows with their keys, and (when asked) the wire rows."""

    count: int
    rows: list[Any]
    keys: list[Hashable]
    wire: list[dict[str, Any]] | None = None


#: Decodes a page's raw body; ``with_wire=True`` also returns the wire rows (for client-side sorting).
#: Raises ``ValueError`` (or a subclass, such as pydantic's ``ValidationError``) on a body of the wrong shape.
DecodePage = Callable[[bytes, bool], DecodedPage]


class PageReader(Protocol):
    """Reads one page's body as it arrives: ``feed`` each chunk, then ``result()``; either raises ``ValueError``
    when the body is not a page (a :class:`client.transport.BodySink` whose result is a :class:`DecodedPage`)."""

    def feed(self, chunk: bytes) -> None: ...

    def result(self) -> DecodedPage: ...


#: Makes the reader of one page's body (``with_wire=True``: also the wire rows, for client-side sorting).
ReadPage = Callable[[bool], PageReader]
#: Converts one page of wire rows (dicts) into result rows; ``list`` keeps the service's dicts.
ConvertPage = Callable[[list[dict[str, Any]]], list[Any]]
Progress = Callable[[int, int], None]
_NUMERIC_JSON_KEYS = frozenset({"oms_attributes.ls_duration", "oms_attributes.b_field"})
#: How many times the pages of a filter whose rows repeat are re-fetched before the listing fails.
REFETCH_ROUNDS = 2
#: The most pages one listing plans: a count implying more (a bogus count, or a tiny page size) is refused before
#: they are planned, which would take unbounded time and memory (``count: 10**12`` hung the client).
MAX_PAGES = 100_000


def with_tie_breaker(kind: Kind, sortings: Sequence[Sorting]) -> tuple[Sorting, ...]:
    """``sortings`` followed by the keys of the service's default order that they lack, so that the order is
    total (``run_number``; ``run_number`` and ``name`` for datasets) and OFFSET pages neither repeat nor drop rows.

    >>> with_tie_breaker("runs", [("rr_attributes.class", "DESC")])
    (('rr_attributes.class', 'DESC'), ('run_number', 'DESC'))
    >>> with_tie_breaker("datasets", [("run_number", "ASC")])
    (('run_number', 'ASC'), ('name', 'ASC'))
    """
    present = {key for key, _ in sortings}
    return (*sortings, *(s for s in DEFAULT_SORTINGS[kind] if s[0] not in present))


class CountChangedWarning(UserWarning):
    """The number of matching records changed while the pages were fetched (live data)."""


@dataclass(frozen=True)
class ListingQuery:
    """What to fetch: the backend filters of a plan (a union), the sortings, the page size and a limit."""

    kind: Kind
    filters: tuple[Mapping[str, Any], ...]
    sortings: tuple[Sorting, ...] = ()
    page_size: int = 20_000
    limit: int | None = None

    def __post_init__(self) -> None:
        if self.page_size < 1:
            raise ArgumentError(f"page_size must be >= 1, got {self.page_size}")
        if self.limit is not None and self.limit < 0:
            raise ArgumentError(f"limit must be >= 0, got {self.limit}")

    @property
    def effective_page_size(self) -> int:
        return self.page_size if self.limit is None else max(1, min(self.page_size, self.limit))

    def fingerprint(self) -> str:
        return json.dumps([self.kind, self.filters, self.sortings, self.page_size, self.limit], sort_keys=True)

    @property
    def total_order(self) -> tuple[Sorting, ...]:
        """The sortings sent: the user's, then the unique tie-breaker."""
        return with_tie_breaker(self.kind, self.sortings)

    def call(self, index: int, page: int) -> Call:
        return listing_call(
            self.kind, self.filters[index], page=page, page_size=self.effective_page_size, sortings=self.total_order
        )


@dataclass(frozen=True)
class Page:
    """One checked page: the service's count, and per row its de-duplication key, sort key and value."""

    number: int
    count: int
    keys: tuple[Hashable, ...]
    sort_keys: tuple[tuple[Any, ...], ...] | None
    rows: tuple[Any, ...]


@dataclass(frozen=True)
class ResumeFrom:
    """Opaque token of an interrupted listing: the pages already fetched. Pass it back as ``resume_from=``."""

    fingerprint: str
    pages: Mapping[tuple[int, int], Page]

    def __repr__(self) -> str:
        return f"ResumeFrom(<{len(self.pages)} pages fetched>)"


@dataclass
class Listing:
    """The assembled answer, and how it was obtained."""

    rows: list[Any]
    total: int | None
    count_changed: bool = False
    counts_seen: tuple[int, ...] = ()
    duplicates_removed: int = 0
    pages: int = 0
    requests: int = 0
    notes: list[str] = field(default_factory=list)


def fetch_listing(
    query: ListingQuery,
    convert: ConvertPage = list,
    *,
    decode: DecodePage | None = None,
    read: ReadPage | None = None,
    resume_from: ResumeFrom | None = None,
    progress: Progress | None = None,
) -> Operation[Listing]:
    """The listing operation; run it with :func:`client.engine.run_sync` or :func:`~client.engine.run_async`.

    Rows are the service's dicts passed through ``convert``, or whatever ``decode`` makes of each page's body, or
    what ``read``'s readers make of it as it arrives (the body is streamed to them, never held whole: see
    :attr:`client.transport.Call.sink`).
    """
    streamed = read is not None
    if read is None:
        read = partial(_WholePage, decode or wire_decoder(query.kind, convert))
    state = _State(query, read, streamed, resume_from, progress)
    if not query.filters or query.limit == 0:
        return Listing(rows=[], total=0 if not query.filters else None)
    first = [i for i in range(len(query.filters)) if (i, 0) not in state.done]
    state.record((yield state.batch([(i, 0) for i in first])))
    state.check_page_count()
    rest = [(i, p) for i, n in state.pages_needed().items() for p in range(1, n) if (i, p) not in state.done]
    if rest:
        state.record((yield state.batch(rest)))
    for _ in range(REFETCH_ROUNDS):
        repeated = state.inconsistent_pages()
        if not repeated or state.failures:
            break
        state.forget(repeated)
        state.refetched += len(repeated)
        state.record((yield state.batch(repeated)))
    state.give_up_on(state.inconsistent_pages())
    return state.finish()


class _WholePage:
    """A :class:`PageReader` that keeps the body and decodes it whole (for a :data:`DecodePage`)."""

    def __init__(self, decode: DecodePage, with_wire: bool) -> None:
        self.decode, self.with_wire = decode, with_wire
        self.chunks: list[bytes] = []

    def feed(self, chunk: bytes) -> None:
        self.chunks.append(chunk)

    def result(self) -> DecodedPage:
        return self.decode(b"".join(self.chunks), self.with_wire)


#: Bytes of a body kept to word a refused page: the service's ``{"err"}`` answer is short.
_HEAD_BYTES = 1 << 16


class _PageSink:
    """One page's body for its reader; a refusal worded as the listing's: the service's ``{"err"}`` message, or
    the page and what does not match the schema (``ValueError``, which the transport turns into a ServiceError)."""

    def __init__(self, read: ReadPage, with_wire: bool, page: int) -> None:
        self.reader, self.page = read(with_wire), page
        self.head, self.size = bytearray(), 0

    def feed(self, chunk: bytes) -> None:
        if len(self.head) < _HEAD_BYTES:
            self.head += chunk[: _HEAD_BYTES - len(self.head)]
        self.size += len(chunk)
        try:
            self.reader.feed(chunk)
        except ValueError as exc:
            raise self.refusal(exc) from None

    def result(self) -> DecodedPage:
        try:
            return self.reader.result()
        except ValueError as exc:
            raise self.refusal(exc) from None

    def refusal(self, exc: ValueError) -> ValueError:
        service_error = _err_answer(bytes(self.head)) if self.size <= _HEAD_BYTES else None
        return ValueError(service_error or f"page {self.page}: the reply does not match the schema: {exc}")


class _State:
    def __init__(
        self,
        query: ListingQuery,
        read: ReadPage,
        streamed: bool,
        resume: ResumeFrom | None,
        progress: Progress | None,
    ):
        if resume is not None and resume.fingerprint != query.fingerprint():
            raise ArgumentError("resume_from belongs to another query (filter, sortings, page_size or limit differ)")
        self.query = query
        self.read = read
        self.streamed = streamed
        self.progress = progress
        self.done: dict[tuple[int, int], Page] = dict(resume.pages) if resume else {}
        self.failures: list[tuple[tuple[int, int], RunQLError]] = []
        self.counts = {i: p.count for (i, n), p in self.done.items() if n == 0}
        self.refetched = 0
        self.requests = 0
        self.completed = len(self.done)
        self.in_flight: list[tuple[int, int]] = []
        self.sortings = query.total_order
        self.needs_sort = len(query.filters) > 1

    # -- batches ------------------------------------------------------------------------------------------
    def batch(self, pages: Sequence[tuple[int, int]]) -> Batch:
        self.requests += len(pages)
        self.in_flight = list(pages)
        return Batch([self.call(i, p) for i, p in pages], parse=self.parse, on_each=self.tick)

    def call(self, index: int, page: int) -> Call:
        """The page's call; a streamed listing's body goes to a fresh reader per attempt as it arrives."""
        call = self.query.call(index, page)
        return replace(call, sink=partial(self.sink, page)) if self.streamed else call

    def sink(self, page: int) -> _PageSink:
        return _PageSink(self.read, self.needs_sort, page)

    def tick(self) -> None:
        self.completed += 1
        if self.progress is not None:
            total = self.total_pages()
            self.progress(min(self.completed, total), total)

    def total_pages(self) -> int:
        known = self.pages_needed()
        return sum(known.values()) + sum(1 for i in range(len(self.query.filters)) if i not in known)

    def parse(self, call: Call, reply: Reply) -> Page:
        """One reply as a page (runs in a worker thread or task): read as it arrived, or decoded here from the
        body handed over whole (a transport that streams nothing)."""
        page = int(call.json["page"])
        decoded = reply.data
        if not isinstance(decoded, DecodedPage):
            sink = self.sink(page)
            try:
                sink.feed(decoded)
                decoded = sink.result()
            except ValueError as exc:
                raise ServiceError(str(exc), status=reply.status, route=call.route) from None
        sort_keys = None
        if self.needs_sort and decoded.wire is not None:
            sort_keys = tuple(sort_key_of(row, self.sortings) for row in decoded.wire)
        return Page(page, decoded.count, tuple(decoded.keys), sort_keys, tuple(decoded.rows))

    # -- bookkeeping --------------------------------------------------------------------------------------
    def record(self, outcomes: list[Any]) -> None:
        for (index, number), outcome in zip(self.in_flight, outcomes, strict=True):
            if isinstance(outcome, RunQLError):
                self.failures.append(((index, number), outcome))
                continue
            problem = self.check(index, outcome)
            if problem is None:
                self.done[(index, number)] = outcome
                if number == 0:
                    self.counts[index] = outcome.count
            else:
                self.failures.append(
                    ((index, number), ServiceError(problem, status=200, route=self.query.call(index, number).route))
                )

    def inconsistent_pages(self) -> list[tuple[int, int]]:
        """Pages holding a row that another page of the same filter also holds (with an unchanged count, a
        repeated row means another one is missing: the service's order was not stable across the pages)."""
        pages: list[tuple[int, int]] = []
        for index in range(len(self.query.filters)):
            mine = {n: p for (i, n), p in self.done.items() if i == index}
            if len({p.count for p in mine.values()}) > 1:
                continue  # live data: reported as a changed count
            holders: dict[Hashable, list[int]] = {}
            for number, page in mine.items():
                for key in page.keys:
                    holders.setdefault(key, []).append(number)
            repeated = {n for numbers in holders.values() if len(numbers) > 1 for n in numbers}
            pages += [(index, n) for n in sorted(repeated)]
        return pages

    def forget(self, pages: Sequence[tuple[int, int]]) -> None:
        for key in pages:
            self.done.pop(key, None)

    def give_up_on(self, pages: Sequence[tuple[int, int]]) -> None:
        """Record still-inconsistent pages as failed and drop them (the resumable error fetches them again);
        a filter's page 0 is kept when later pages are dropped, so its count stays known."""
        later = {i for i, n in pages if n > 0}
        pages = [(i, n) for i, n in pages if n > 0 or i not in later]
        self.forget(pages)
        for index, number in pages:
            problem = (
                f"page {number} shares rows with another page of the same listing even after re-fetching "
                f"{REFETCH_ROUNDS} times: the service's order is not stable (rows would be missing)"
            )
            route = self.query.call(index, number).route
            self.failures.append(((index, number), ServiceError(problem, status=200, route=route)))

    def first_count(self, index: int) -> int | None:
        page = self.done.get((index, 0))
        return self.counts.get(index) if page is None else page.count

    def wanted(self, count: int) -> int:
        return count if self.query.limit is None else min(count, self.query.limit)

    def pages_needed(self) -> dict[int, int]:
        size = self.query.effective_page_size
        counts = {i: self.first_count(i) for i in range(len(self.query.filters))}
        return {i: max(1, math.ceil(self.wanted(c) / size)) for i, c in counts.items() if c is not None}

    def check_page_count(self) -> None:
        """Refuse a listing of more than :data:`MAX_PAGES` pages (``ServiceError``) before planning them."""
        needed = self.pages_needed()
        if sum(needed.values()) > MAX_PAGES:
            index = max(needed, key=needed.__getitem__)
            count = self.first_count(index)
            problem = (
                f"the service counts {count:,} {self.query.kind}: {needed[index]:,} pages of "
                f"{self.query.effective_page_size:,}, more than the {MAX_PAGES:,} one listing fetches "
                "(a larger page_size or a limit fetches fewer)"
            )
            raise ServiceError(problem, status=200, route=self.query.call(index, 0).route)

    def check(self, index: int, page: Page) -> str | None:
        count = page.count if page.number == 0 else self.first_count(index)
        if count is None or page.count != count:
            return None  # a changed count is reported by finish(); row counts cannot be checked then
        size = self.query.effective_page_size
        expected = max(0, min(size, count - page.number * size))
        if len(page.rows) != expected:
            return f"page {page.number} has {len(page.rows)} rows, expected {expected} of {count}"
        return None

    # -- the answer ---------------------------------------------------------------------------------------
    def finish(self) -> Listing:
        pages = [self.done[k] for k in sorted(self.done)]
        rows, _, sort_keys, duplicates = self.assemble(pages)
        if self.failures:
            raise self.failure(rows)
        if self.needs_sort:
            rows = _sort(rows, sort_keys, self.sortings)
        if self.query.limit is not None:
            rows = rows[: self.query.limit]
        counts = tuple(sorted({p.count for p in pages}))
        changed = any(
            len({p.count for (i, _), p in self.done.items() if i == f}) > 1 for f in range(len(self.query.filters))
        )
        listing = Listing(
            rows=rows,
            total=self.total(pages, changed),
            count_changed=changed,
            counts_seen=counts,
            duplicates_removed=duplicates,
            pages=len(pages),
            requests=self.requests,
        )
        if self.refetched:
            listing.notes.append(
                f"{self.refetched} page(s) fetched again: they shared rows with other pages (unstable order)"
            )
        if changed:
            note = (
                f"the number of matching {self.query.kind} changed during the fetch (counts seen: {counts}); "
                "rows may be missing: fetch again"
            )
            listing.notes.append(note)
            warnings.warn(note, CountChangedWarning, stacklevel=2)
        return listing

    def total(self, pages: list[Page], changed: bool) -> int | None:
        """The number of matching records, when it is known exactly."""
        if changed:
            return None
        if len(self.query.filters) == 1:
            return pages[0].count
        all_fetched = all(self.wanted(p.count) == p.count for p in pages if p.number == 0)
        return len(self.assemble(pages)[0]) if all_fetched else None

    def assemble(self, pages: list[Page]) -> tuple[list[Any], list[Hashable], list[tuple[Any, ...]], int]:
        seen: set[Hashable] = set()
        rows: list[Any] = []
        keys: list[Hashable] = []
        sort_keys: list[tuple[Any, ...]] = []
        duplicates = 0
        for page in pages:
            for position, key in enumerate(page.keys):
                if key in seen:
                    duplicates += 1
                    continue
                seen.add(key)
                rows.append(page.rows[position])
                keys.append(key)
                if page.sort_keys is not None:
                    sort_keys.append(page.sort_keys[position])
        return rows, keys, sort_keys, duplicates

    def failure(self, rows: list[Any]) -> RunQLError:
        (_, first_error) = self.failures[0]
        if not self.done:
            return first_error
        unknown = [i for i in range(len(self.query.filters)) if self.first_count(i) is None]
        missing = sum(self.pages_needed().values()) - len(self.done) + len(unknown)
        token = ResumeFrom(self.query.fingerprint(), MappingProxyType(dict(self.done)))
        error = PartialResultError(
            f"listing {self.query.kind} failed part-way: {first_error}",
            rows=rows,
            resume_from=token,
            missing_pages=missing,
        )
        error.__cause__ = first_error
        return error


def wire_decoder(kind: Kind, convert: ConvertPage = list) -> DecodePage:
    """A decoder that parses the JSON and hands the wire rows to ``convert`` (``list``: keep them as they are)."""

    def decode(content: bytes, with_wire: bool) -> DecodedPage:
        data = orjson.loads(content)
        if not isinstance(data, dict) or not isinstance(data.get(kind), list) or not _is_count(data.get("count")):
            raise ValueError(f"expected {{{kind!r}: [...], 'count': N}}")
        wire: list[dict[str, Any]] = data[kind]
        try:
            keys = [_wire_key(kind, row) for row in wire]
        except KeyError as exc:
            raise ValueError(f"a row has no {exc}") from None
        except TypeError as exc:
            raise ValueError(f"a row without a usable key ({exc})") from None
        try:
            rows = convert(wire)
        except (LookupError, TypeError, AttributeError) as exc:  # a row of another shape than convert reads
            raise ValueError(f"a row of an unexpected shape ({type(exc).__name__}: {exc})") from None
        return DecodedPage(data["count"], rows, keys, wire if with_wire else None)

    return decode


def _wire_key(kind: Kind, row: Mapping[str, Any]) -> Hashable:
    key = row["run_number"] if kind == "runs" else (row["run_number"], row["name"])
    hash(key)  # TypeError for a list or an object, which cannot key a row
    return key


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _err_answer(content: object) -> str | None:
    """The service's ``{"err": message}`` if that is what ``content`` holds."""
    try:
        data = json.loads(content) if isinstance(content, (bytes, str)) else content
    except (ValueError, RecursionError):  # json's parser recurses: brackets 1,000 deep exhaust the stack
        return None
    return err_text(data["err"]) if isinstance(data, dict) and "err" in data else None


def sort_key_of(row: Mapping[str, Any], sortings: Sequence[Sorting]) -> tuple[Any, ...]:
    """Comparable values of ``row`` for each sorting, ordered like the service (§3): JSON keys compare as text
    except ``oms_attributes.ls_duration`` and ``oms_attributes.b_field``; NULLs last ascending, first descending.

    >>> sort_key_of({"run_number": 7, "oms_attributes": {"energy": 6500, "b_field": 3.8}},
    ...             [("run_number", "DESC"), ("oms_attributes.energy", "ASC"), ("oms_attributes.b_field", "ASC")])
    ((0, 0, 7.0, ''), (0, 1, 0.0, '6500'), (0, 0, 3.8, ''))
    """
    return tuple(_comparable(_wire_value(row, path), path) for path, _ in sortings)


def _wire_value(row: Mapping[str, Any], path: str) -> Any:
    parts = path.split(".")
    if parts[0] == "triplet_summary":
        parts = ["DatasetTripletCache", *parts]
    value: Any = row
    for part in parts:
        value = value.get(part) if isinstance(value, Mapping) else None
    if value is None and parts[0] in ("rr_attributes", "oms_attributes") and "Run" in row:
        return _wire_value(row["Run"], path)
    return value


def _comparable(value: Any, path: str) -> tuple[int, int, float, str]:
    if value is None:
        return (1, 0, 0.0, "")
    numeric = "." not in path or path in _NUMERIC_JSON_KEYS
    if numeric and isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, 0, float(value), "")
    if isinstance(value, str):
        return (0, 1, 0.0, value)
    return (0, 1, 0.0, json.dumps(value))


def _sort(rows: list[Any], sort_keys: list[tuple[Any, ...]], sortings: Sequence[Sorting]) -> list[Any]:
    order = list(range(len(rows)))
    for position in reversed(range(len(sortings))):
        descending = sortings[position][1].upper() == "DESC"
        order.sort(key=lambda i: sort_keys[i][position], reverse=descending)
    return [rows[i] for i in order]
