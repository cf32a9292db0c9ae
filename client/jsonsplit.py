"""Rows of a JSON listing as its bytes arrive: ``{"runs": [row, row, ...], "count": N}`` split row by row.

:class:`RowSplitter` is fed a body in chunks of any size and hands out each element of the array under its key
(parsed by orjson) as soon as the element is complete, so a page never exists as one ``bytes`` object nor as one
parse tree. The other members (``count``, an ``err``) are in :attr:`RowSplitter.members` once it is closed. Whatever the
chunks, the rows and members are exactly ``orjson.loads`` of the whole body, and a body that ``orjson.loads``
refuses (not JSON, cut short, bytes after the end) raises ``ValueError``, as does a repeated rows key.

How: rows are parsed many at a time by one orjson call, up to the last place where the next row visibly starts
(``},`` then the text the first row started with, such as ``{"run_number":``), which is exact whenever orjson takes
the text (see :meth:`RowSplitter._batch`). Otherwise a value's end is found by one regular expression (strings,
and brackets nested up to :data:`FAST_DEPTH`, matched possessively: linear, no backtracking), its text then parsed
by orjson, which checks it; deeper values are measured by a token scanner. A value still incomplete at the end of
the data is tried again only once twice as much data is there, and a refused batch is not tried again, so hostile
input costs linear time, not quadratic.

>>> splitter = RowSplitter("runs")
>>> splitter.feed(b'{"count": 2, "runs": [{"run_number": 7, "name": "a]}\\\\""}, {"run_n')
[{'run_number': 7, 'name': 'a]}"'}]
>>> splitter.feed(b'umber": 6}]}')
[{'run_number': 6}]
>>> splitter.close(), splitter.members
([], {'count': 2})
>>> RowSplitter("runs").close()
Traceback (most recent call last):
...
ValueError: the body ends before the JSON does (at byte 0)
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Any, NoReturn

import orjson

__all__ = ["FAST_DEPTH", "RowSplitter"]

#: Nesting handled by the one regular expression; deeper values go through the token scanner.
FAST_DEPTH = 12

_WHITESPACE = re.compile(rb"[ \t\n\r]*")
_STRING = rb'"(?:[^"\\]++|\\.)*+"'
_STRING_RE = re.compile(_STRING, re.DOTALL)
_SCALAR_RE = re.compile(rb"[^ \t\n\r,\]}\[{\"]*")
#: A string, a bracket, or a quote whose string does not end in the data (the value is incomplete).
_TOKEN_RE = re.compile(_STRING + rb'|[\[\]{}"]', re.DOTALL)
#: Data after the start of a value beyond which the token scanner measures what the expression could not.
_SCAN_AFTER = 1 << 16
_QUOTE, _OPEN_BRACKETS = 0x22, (0x5B, 0x7B)
#: How deep members and rows are in the body (inside the object; inside its rows array).
_MEMBER_DEPTH, _ROW_DEPTH = 1, 2
_COMMA, _COLON, _BRACE_OPEN, _BRACE_CLOSE, _BRACKET_CLOSE = b",:{}]"


def _nested(depth: int) -> re.Pattern[bytes]:
    """Brackets nested ``depth`` deep with strings inside; ``[`` may close with ``}`` here: orjson checks the text."""
    inner = rb"[\[{](?:[^\"\[\]{}]++|" + _STRING + rb")*+[\]}]"
    for _ in range(depth - 1):
        inner = rb"[\[{](?:[^\"\[\]{}]++|" + _STRING + rb"|" + inner + rb")*+[\]}]"
    return re.compile(inner, re.DOTALL)


_COMPOSITE_RE = _nested(FAST_DEPTH)


class _Expect(Enum):
    """What the splitter expects next."""

    OPEN = "{"
    FIRST_KEY = "a key or }"
    KEY = "a key"
    COLON = ":"
    VALUE = "a value"
    MEMBER_END = ", or }"
    FIRST_ROW = "a row or ]"
    ROW = "a row"
    ROW_END = ", or ]"
    END = "the end"


class RowSplitter:
    """Splits the JSON object of a listing page as its bytes arrive; see the module's docstring."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._buffer = bytearray()
        self._offset = 0  # bytes consumed and dropped before the buffer's start (for error positions)
        self._expect = _Expect.OPEN
        self._member: str | None = None
        self._members: dict[str, Any] = {}
        self._seen_rows = False
        self._retry_at = 0  # the buffer length at which an incomplete value is tried again
        self._row_start: bytes | None = None  # how the first row starts, up to its first key's colon
        self._no_batch_before = 0  # (absolute) where the last refused batch ended

    def feed(self, chunk: bytes) -> list[Any]:
        """Take the next ``chunk``; return the rows it completes (``ValueError`` if the body is not valid JSON)."""
        self._buffer += chunk
        if len(self._buffer) < self._retry_at:
            return []
        return self._advance(final=False)

    def close(self) -> list[Any]:
        """The body is complete: the rows it completes (``ValueError`` if the JSON is incomplete); then
        :attr:`members` holds the members other than the rows."""
        rows = self._advance(final=True)
        if self._expect is not _Expect.END:
            self._fail("the body ends before the JSON does", len(self._buffer))
        return rows

    @property
    def has_rows(self) -> bool:
        """Whether the body has an array under the rows key (so far)."""
        return self._seen_rows and self.key not in self._members

    @property
    def members(self) -> dict[str, Any]:
        """The members other than the rows (``count``, an ``err``...), parsed: complete once :meth:`close` returns."""
        return self._members

    # -- the state machine ----------------------------------------------------------------------------------------
    def _advance(self, *, final: bool) -> list[Any]:
        rows: list[Any] = []
        buffer, position, waiting = self._buffer, 0, False
        while True:
            position = _WHITESPACE.match(buffer, position).end()  # type: ignore[union-attr]
            if position == len(buffer):
                break
            step = self._step(buffer, position, final, rows)
            if step is None:
                waiting = True
                break
            position = step
        del buffer[:position]
        self._offset += position
        self._retry_at = 2 * len(buffer) if waiting else 0
        return rows

    def _step(self, buffer: bytearray, position: int, final: bool, rows: list[Any]) -> int | None:
        """Consume one token or value at ``position``: the position after it, or ``None`` if more data is needed."""
        expect, byte = self._expect, buffer[position]
        if expect is _Expect.ROW_END:
            return self._punctuation(byte, {_COMMA: _Expect.ROW, _BRACKET_CLOSE: _Expect.MEMBER_END}, position)
        if expect in (_Expect.FIRST_ROW, _Expect.ROW):
            if byte == _BRACKET_CLOSE and expect is _Expect.FIRST_ROW:
                return self._then(_Expect.MEMBER_END, position)
            return self._batch(buffer, position, rows) or self._row(buffer, position, final, rows)
        if expect is _Expect.OPEN:
            return self._punctuation(byte, {_BRACE_OPEN: _Expect.FIRST_KEY}, position)
        if expect in (_Expect.FIRST_KEY, _Expect.KEY):
            if byte == _BRACE_CLOSE and expect is _Expect.FIRST_KEY:
                return self._then(_Expect.END, position)
            return self._key(buffer, position, final)
        if expect is _Expect.COLON:
            return self._punctuation(byte, {_COLON: _Expect.VALUE}, position)
        if expect is _Expect.VALUE:
            return self._value(buffer, position, final)
        if expect is _Expect.MEMBER_END:
            return self._punctuation(byte, {_COMMA: _Expect.KEY, _BRACE_CLOSE: _Expect.END}, position)
        return self._fail("bytes after the end of the JSON", position)

    def _then(self, expect: _Expect, position: int) -> int:
        self._expect = expect
        return position + 1

    def _punctuation(self, byte: int, allowed: dict[int, _Expect], position: int) -> int:
        if byte not in allowed:
            self._unexpected(byte, position)
        return self._then(allowed[byte], position)

    def _unexpected(self, byte: int, position: int) -> NoReturn:
        self._fail(f"expected {self._expect.value}, got {bytes([byte])!r}", position)

    def _key(self, buffer: bytearray, position: int, final: bool) -> int | None:
        if buffer[position] != _QUOTE:
            self._unexpected(buffer[position], position)
        end = self._end_of_value(buffer, position, final)
        if end is None:
            return None
        self._member = self._parse(buffer, position, end, _MEMBER_DEPTH)
        self._expect = _Expect.COLON
        return end

    def _value(self, buffer: bytearray, position: int, final: bool) -> int | None:
        if self._member == self.key and buffer[position] == 0x5B:  # [
            if self._seen_rows:
                self._fail(f"the key {self.key!r} appears twice", position)
            self._seen_rows = True
            return self._then(_Expect.FIRST_ROW, position)
        end = self._end_of_value(buffer, position, final)
        if end is None:
            return None
        value = self._parse(buffer, position, end, _MEMBER_DEPTH)
        if self._member == self.key:
            if self._seen_rows:
                self._fail(f"the key {self.key!r} appears twice", position)
            self._seen_rows = True
        self._members[str(self._member)] = value
        self._expect = _Expect.MEMBER_END
        return end

    def _row(self, buffer: bytearray, position: int, final: bool, rows: list[Any]) -> int | None:
        end = self._end_of_value(buffer, position, final)
        if end is None:
            return None
        rows.append(self._parse(buffer, position, end, _ROW_DEPTH))
        self._expect = _Expect.ROW_END
        if self._row_start is None:
            self._row_start = _object_start(buffer, position, end)
        return end

    def _batch(self, buffer: bytearray, position: int, rows: list[Any]) -> int | None:
        """The fast path: the rows up to the last place where another row visibly starts (``},`` then the first
        row's start), parsed by one orjson call. Exact: if the text up to there parses as values separated by
        commas, a parser reading the body is at a row's end there too. ``None`` (and no second try over the same
        text) when no such place is in the data or the text does not parse: the exact path then goes on."""
        start = self._row_start
        if start is None or self._offset + position < self._no_batch_before or not buffer.startswith(start, position):
            return None
        cut = buffer.rfind(b"}," + start, position)
        if cut < position:  # not before data beyond what is here now: looking again would cost quadratic time
            self._no_batch_before = self._offset + len(buffer)
            return None
        try:
            batch = orjson.loads(b"[[" + buffer[position : cut + 1] + b"]]")  # the rows' depth in the body
        except orjson.JSONDecodeError:
            self._no_batch_before = self._offset + cut + 1
            return None
        rows += batch[0]
        self._expect = _Expect.ROW_END
        return cut + 1

    # -- values -----------------------------------------------------------------------------------------------
    def _end_of_value(self, buffer: bytearray, position: int, final: bool) -> int | None:
        """Where the value starting at ``position`` ends, or ``None`` if it may continue in data not yet fed."""
        first = buffer[position]
        if first == _QUOTE:
            match = _STRING_RE.match(buffer, position)
            return match.end() if match else self._incomplete(position, final)
        if first in _OPEN_BRACKETS:
            match = _COMPOSITE_RE.match(buffer, position)
            if match:
                return match.end()
            if not final and len(buffer) - position < _SCAN_AFTER:
                return None  # most likely cut by the chunk; deeper nesting is measured once more data is in
            end = _scan_composite(buffer, position)
            return end if end is not None else self._incomplete(position, final)
        end = _SCALAR_RE.match(buffer, position).end()  # type: ignore[union-attr]
        if end == position:
            self._unexpected(first, position)
        return end if end < len(buffer) or final else None

    def _incomplete(self, position: int, final: bool) -> int | None:
        if final:
            self._fail("the body ends before the JSON does", position)
        return None

    def _parse(self, buffer: bytearray, start: int, end: int, depth: int) -> Any:
        """The value's text parsed inside ``depth`` brackets, as deep as it is in the body: orjson's nesting limit
        then refuses exactly what it refuses in the whole body."""
        try:
            value = orjson.loads(b"[" * depth + buffer[start:end] + b"]" * depth)
        except orjson.JSONDecodeError as exc:
            self._fail(f"not JSON: {exc}", start)
        for _ in range(depth):
            value = value[0]
        return value

    def _fail(self, message: str, position: int) -> NoReturn:
        raise ValueError(f"{message} (at byte {self._offset + position})")


def _object_start(buffer: bytearray, position: int, end: int) -> bytes | None:
    """``{"key":`` that the object at ``position`` starts with (no whitespace), if it is one."""
    if buffer[position] != _BRACE_OPEN or buffer[position + 1 : position + 2] != b'"':
        return None
    key = _STRING_RE.match(buffer, position + 1, end)
    if key is None or buffer[key.end() : key.end() + 1] != b":":
        return None
    return bytes(buffer[position : key.end() + 1])


def _scan_composite(buffer: bytearray, position: int) -> int | None:
    """The end of the array or object at ``position`` of any depth (brackets counted outside strings), or ``None``
    if it does not end in ``buffer``; a mismatched bracket ends it early, and orjson then refuses the text."""
    depth = 0
    for token in _TOKEN_RE.finditer(buffer, position):
        kind = buffer[token.start()]
        if kind in _OPEN_BRACKETS:
            depth += 1
        elif kind == _QUOTE:
            if token.end() - token.start() == 1:
                return None  # a string that does not end in the data
        else:
            depth -= 1
            if depth == 0:
                return token.end()
    return None
