"""The streaming row splitter agrees with ``orjson.loads`` of the whole body, whatever the chunks, on any input."""

from __future__ import annotations

import json
import time
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from client.jsonsplit import FAST_DEPTH, RowSplitter

# Text full of what a splitter could trip on: brackets, quotes, backslashes, controls, non-ASCII, astral characters.
TRICKY = st.text(st.sampled_from('[]{}",:\\/ \n\t\x00\x1féü€😀\u2028ab1') | st.characters(exclude_categories=["Cs"]))
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TRICKY
)
#: Every refusal of the splitter says where it happened.
REFUSED = r"\(at byte \d+\)$"
JUNK = st.binary(min_size=0, max_size=3) | st.sampled_from([b'"', b"\\", b"]", b"}", b"[", b",", b"\xff"])
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TRICKY, inner, max_size=4))


def split(body: bytes, cuts: list[int], key: str = "runs") -> tuple[list[Any] | None, dict[str, Any]]:
    """Feed ``body`` cut at ``cuts``; the rows (``None`` without a rows array) and the other members."""
    splitter = RowSplitter(key)
    rows: list[Any] = []
    start = 0
    for cut in [*sorted({min(c, len(body)) for c in cuts}), len(body)]:
        rows += splitter.feed(body[start:cut])
        start = cut
    rows += splitter.close()
    assert splitter.has_rows or not rows
    return (rows if splitter.has_rows else None), splitter.members


def whole(rows: list[Any] | None, members: dict[str, Any], key: str = "runs") -> dict[str, Any]:
    return members if rows is None else {**members, key: rows}


@st.composite
def documents(draw: st.DrawFn) -> tuple[bytes, Any]:
    """A listing body (members in any order, rows of any JSON) as text of several styles, and its value."""
    rows = draw(st.lists(VALUES, max_size=6))
    members = draw(st.dictionaries(TRICKY.filter(lambda k: k != "runs"), VALUES, max_size=3))
    items = [*members.items(), ("runs", rows)]
    order = draw(st.permutations(items))
    value = dict(order)
    style = draw(st.sampled_from(["orjson", "ascii", "indented", "spaced"]))
    if style == "orjson":
        return orjson.dumps(value), value
    if style == "spaced":
        return (" \r\n" + json.dumps(value, separators=(" ,\t", "\n:  ")) + "\n ").encode(), value
    return json.dumps(value, ensure_ascii=style == "ascii", indent=2 if style == "indented" else None).encode(), value


#: Rows as listings have them (objects starting with the same key), with text that looks like a row's start.
LOOKALIKE = st.sampled_from(['},{"run_number":', '}, {"run_number":', '},{"run_number":1}', '"},{"run_number":"'])
LISTING_ROWS = st.lists(
    st.fixed_dictionaries(
        {"run_number": st.integers(0, 10**6) | LOOKALIKE, "x": VALUES | LOOKALIKE},
        optional={"y": st.lists(st.fixed_dictionaries({"run_number": LOOKALIKE}), max_size=3)},
    ),
    max_size=12,
)


@st.composite
def listing_documents(draw: st.DrawFn) -> tuple[bytes, Any]:
    """A listing body whose rows all start alike (what the one-call fast path relies on), compact or spaced."""
    value = {"count": draw(st.integers(0, 50)), "runs": draw(LISTING_ROWS)}
    if draw(st.booleans()):
        return orjson.dumps(value), value
    return json.dumps(value, ensure_ascii=draw(st.booleans())).encode(), value


CUTS = st.lists(st.integers(min_value=0, max_value=4000), max_size=12)


@given(documents() | listing_documents(), CUTS)
def test_rows_and_members_are_those_of_the_whole_body(document: tuple[bytes, Any], cuts: list[int]) -> None:
    body, value = document
    assert orjson.loads(body) == value
    rows, members = split(body, cuts)
    assert whole(rows, members) == value
    assert rows == value["runs"]


@given(documents() | listing_documents(), CUTS, st.data())
def test_a_body_cut_short_is_refused(document: tuple[bytes, Any], cuts: list[int], data: st.DataObject) -> None:
    body, _ = document
    end = data.draw(st.integers(min_value=0, max_value=len(body.rstrip()) - 1))
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(body[:end])
    with pytest.raises(ValueError, match=REFUSED):
        split(body[:end], cuts)


@given(documents() | listing_documents(), CUTS, st.data())
def test_damaged_bodies_agree_with_orjson(document: tuple[bytes, Any], cuts: list[int], data: st.DataObject) -> None:
    body, _ = document
    position = data.draw(st.integers(min_value=0, max_value=len(body)))
    junk = data.draw(
        st.binary(min_size=0, max_size=3) | st.sampled_from([b'"', b"\\", b"]", b"}", b"[", b",", b"\xff"])
    )
    removed = data.draw(st.integers(min_value=0, max_value=3))
    damaged = body[:position] + junk + body[position + removed :]
    try:
        expected = orjson.loads(damaged)
    except orjson.JSONDecodeError:
        expected = None
    if not isinstance(expected, dict):
        with pytest.raises(ValueError, match=REFUSED):
            split(damaged, cuts)
        return
    if damaged.count(b'"runs"') > 1:  # orjson keeps the last of repeated keys; the splitter may refuse them
        return
    assert whole(*split(damaged, cuts)) == expected


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>Internal Server Error</body></html>",
        b"",
        b"[]",
        b'{"runs": [1, 2,]}',
        b'{"runs": [1 2]}',
        b'{"runs": [1], "count": 1} {}',
        b'{"runs": [1], "runs": [2]}',
        b'{"runs": [{"a": "\\ud800"}]}',
        b'{"runs": [{"a": [1}]]}',
        b'{"runs": ["\xff"]}',
        b'{"count": 1, "runs": [{"run_number": 1}]',
    ],
)
def test_hostile_bodies_are_a_value_error(body: bytes) -> None:
    with pytest.raises(ValueError, match=REFUSED):
        split(body, [1, 7, 20])


def test_rows_come_out_as_soon_as_they_are_complete() -> None:
    splitter = RowSplitter("runs")
    assert splitter.feed(b'{"runs": [{"a": 1}, {"b"') == [{"a": 1}]
    assert splitter.feed(b": 2}") == [{"b": 2}]
    assert splitter.feed(b', "x"]') == ["x"]
    assert splitter.feed(b', "count": 3}') == []
    assert splitter.close() == []
    assert splitter.members == {"count": 3}
    assert splitter.has_rows


def test_rows_are_parsed_many_at_a_time_and_exactly() -> None:
    rows = [{"run_number": n, "text": '"},{"run_number": 0}, {'} for n in range(1000)]
    body = orjson.dumps({"runs": rows, "count": 1000})
    splitter = RowSplitter("runs")
    batches = [len(splitter.feed(body[start : start + 20_000])) for start in range(0, len(body), 20_000)]
    assert sum(batches) + len(splitter.close()) == 1000
    assert max(batches) > 100  # whole chunks at a time
    assert split(body, [17, 4000, 9000]) == (rows, {"count": 1000})


def test_deeper_rows_than_the_expression_are_measured_exactly() -> None:
    deep: Any = "]}\\"
    for depth in range(FAST_DEPTH * 3):
        deep = [deep] if depth % 2 else {"k": deep, "s": "[{"}
    body = orjson.dumps({"runs": [deep, deep], "count": 2})
    assert split(body, list(range(0, len(body), 50))) == ([deep, deep], {"count": 2})
    assert split(body, []) == ([deep, deep], {"count": 2})


def test_hostile_sizes_take_linear_time() -> None:
    """A 16 MB string fed in 1 kB chunks, and 100,000 levels of brackets: bounded time, a clear answer."""
    huge = orjson.dumps({"runs": ["x" * (16 << 20)], "count": 1})
    started = time.perf_counter()
    rows, members = split(huge, list(range(0, len(huge), 1024)))
    assert rows is not None
    assert len(rows[0]) == 16 << 20
    assert members == {"count": 1}
    spaced = json.dumps({"runs": [{"run_number": n} for n in range(50_000)], "count": 1}).encode()  # "}, {"
    spaced_started = time.perf_counter()
    rows, _ = split(spaced, [])  # one chunk: rows found one by one, the fast path not looked for again
    assert rows is not None
    assert len(rows) == 50_000
    assert time.perf_counter() - spaced_started < 5  # 0.2 s; looking again for each row took 13 s
    nested = b'{"runs": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}"
    with pytest.raises(ValueError, match="not JSON"):  # deeper than orjson parses
        split(nested, list(range(0, len(nested), 1024)))
    assert time.perf_counter() - started < 30
