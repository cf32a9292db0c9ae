"""A listing page decoded into one JSON ``bytes`` per row, row by row, never holding the page's objects at once.

pydantic-core parses the page and hands each row to a validator that keeps only its key and its JSON, so the
Python objects of one row live at a time (a page of 20,000 runs parsed into dicts takes about 900 MB; its rows
as JSON take 60 MB). Typed models and DataFrames are then made from those bytes (:class:`client.results.Records`).

>>> page = decode_page("runs", b'{"runs": [{"run_number": 7, "oms_attributes": {}}], "count": 1}', False)
>>> page.count, page.keys, page.rows
(1, [7], [b'{"run_number":7,"oms_attributes":{}}'])
>>> decode_page("runs", b'{"runs": [{"name": "x"}], "count": 1}', False)
Traceback (most recent call last):
...
ValueError: 1 invalid field(s), first at runs.0: Value error, a row needs an integer 'run_number' (got {'name': 'x'})
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from typing import Annotated, Any

import orjson
from pydantic import AfterValidator, Field, TypeAdapter, ValidationError, create_model

from client.calls import Kind
from client.pagination import DecodedPage, wire_decoder

__all__ = ["decode_page", "row_blob", "short_error"]


def row_blob(row: Any) -> bytes:
    """The row's compact JSON, in a ``bytes`` of its own size (orjson's own buffer is larger)."""
    return bytes(memoryview(orjson.dumps(row)))


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


@functools.lru_cache(maxsize=8)
def _page_adapter(kind: Kind, convert: Callable[[Any], Any]) -> TypeAdapter[Any]:
    key = _KEYS[kind]

    def keyed(row: Any) -> tuple[Hashable, Any]:
        return key(row), convert(row)

    row_type = Annotated[Any, AfterValidator(keyed)]
    count_type = Annotated[int, Field(strict=True, ge=0)]
    fields: dict[str, Any] = {kind: (list[row_type], ...), "count": (count_type, ...)}
    return TypeAdapter(create_model(f"_{kind.capitalize()}BlobPage", **fields))


def decode_page(kind: Kind, content: bytes, with_wire: bool, convert: Callable[[Any], Any] = row_blob) -> DecodedPage:
    """The page's count, row keys and rows, each passed through ``convert`` as soon as it is parsed (by default
    its JSON bytes); ``with_wire`` also gives the rows as dicts (for sorting a union client-side). Raises
    ``ValueError`` naming the first wrong field. ``convert`` must be a module-level function (it keys a cache)."""
    if with_wire:
        return wire_decoder(kind, lambda rows: [convert(r) for r in rows])(content, True)
    try:
        page = _page_adapter(kind, convert).validate_json(content)
    except ValidationError as exc:
        raise ValueError(short_error(exc)) from None
    keyed: list[tuple[Hashable, Any]] = getattr(page, kind)
    return DecodedPage(page.count, [row for _, row in keyed], [key for key, _ in keyed])


def short_error(exc: ValidationError) -> str:
    """The first error of ``exc`` in one line: where, what, and the value (cut at 80 characters)."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{exc.error_count()} invalid field(s), first at {where}: {first['msg']} (got {first.get('input')!r:.80})"
