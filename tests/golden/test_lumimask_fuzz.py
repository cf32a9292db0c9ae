"""Fuzzing lumi mask files: any input gives either a ``LumiMaskError`` or exactly the mask the CMS format means,
within a bounded time."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.golden import MAX_NUMBER, LumiMask, LumiMaskError

BOUND = 2.0  # seconds per input, generous: parsing is linear

numbers = st.one_of(st.integers(-3, 40), st.sampled_from([MAX_NUMBER, MAX_NUMBER + 1, 2**63, 10**30]))
keys = st.one_of(
    numbers.map(str),
    st.sampled_from(["01", " 7", "1.0", "", "x", "²", "١", "3e2", "-1"]),
    st.text(max_size=4),
)
#: Range ends: small (enumerable) or too large; MAX_NUMBER itself is tried as a run key.
ends = st.one_of(st.integers(-3, 40), st.sampled_from([MAX_NUMBER + 1, 2**63, 10**30]))
leaves = st.one_of(st.none(), st.booleans(), ends, st.floats(allow_nan=True), st.text(max_size=3))
json_values = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=12,
)
ranges = st.one_of(st.tuples(ends, ends).map(list), json_values)
masks = st.dictionaries(keys, st.one_of(st.lists(ranges, max_size=4), json_values), max_size=5)


def _number(value: Any) -> int | None:
    """The spec: an int (not a bool) in [1, MAX_NUMBER]."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_NUMBER:
        return None
    return value


def _run_key(key: str) -> int | None:
    """The spec: a JSON key naming a run is ASCII decimal digits (surrounding blanks allowed)."""
    text = key.strip()
    return _number(int(text)) if text.isascii() and text.isdigit() and len(key) < 20 else None


def expected_pairs(data: Any) -> set[tuple[int, int]] | None:
    """What ``data`` means as a lumi mask (``None``: not a valid mask). Enumerates: small numbers only."""
    if not isinstance(data, dict):
        return None
    pairs: set[tuple[int, int]] = set()
    runs: set[int] = set()
    for key, items in data.items():
        run = _run_key(key)
        if run is None or run in runs or not isinstance(items, list):
            return None
        runs.add(run)
        for item in items:
            if not isinstance(item, list) or len(item) != 2:
                return None
            first, last = _number(item[0]), _number(item[1])
            if first is None or last is None or first > last:
                return None
            assert last - first <= 1000, "the strategies only make small valid ranges"
            pairs |= {(run, ls) for ls in range(first, last + 1)}
    return pairs


def _parse(text: str | bytes) -> LumiMask | LumiMaskError:
    started = time.monotonic()
    try:
        result: LumiMask | LumiMaskError = LumiMask.from_json(text)
    except LumiMaskError as error:
        result = error
    assert time.monotonic() - started < BOUND
    return result


@given(masks)
def test_a_json_value_is_a_typed_error_or_exactly_its_mask(data: dict[str, Any]) -> None:
    expected = expected_pairs(data)
    result = _parse(json.dumps(data))
    if expected is None:
        assert isinstance(result, LumiMaskError), (data, result)
    else:
        assert isinstance(result, LumiMask), (data, result)
        assert set(result) == expected
        assert LumiMask.from_json(result.to_json()) == result  # and it round-trips


@given(json_values)
def test_any_json_value_is_a_typed_error_or_a_mask(data: Any) -> None:
    result = _parse(json.dumps(data))
    if expected_pairs(data) is None:
        assert isinstance(result, LumiMaskError)
    else:
        assert isinstance(result, LumiMask)


@given(st.binary(max_size=200))
def test_any_bytes_are_a_typed_error_or_a_mask(content: bytes) -> None:
    assert isinstance(_parse(content), (LumiMask, LumiMaskError))


@given(st.integers(1, 20_000), st.sampled_from(["[", '{"1":', '{"1": [[1, 2], ']))
def test_deep_nesting_is_a_typed_error(depth: int, opener: str) -> None:
    result = _parse(opener * depth)
    assert isinstance(result, LumiMaskError)


@given(masks, st.binary(min_size=1, max_size=3).filter(lambda b: b.decode("utf-8", "replace").encode() != b))
def test_a_file_that_is_not_utf8_is_an_error_naming_the_file(data: dict[str, Any], junk: bytes) -> None:
    text = json.dumps(data).encode()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "mask.json"
        path.write_bytes(text[: len(text) // 2] + junk + text[len(text) // 2 :])
        with pytest.raises(LumiMaskError, match="not UTF-8") as caught:
            LumiMask.from_file(path)
        assert str(path) in str(caught.value)


def test_duplicate_runs_are_refused_however_they_are_spelled() -> None:
    for text in ('{"1": [[1, 2]], "1": [[3, 4]]}', '{"1": [[1, 2]], "01": [[3, 4]]}', '{"1": [], " 1": []}'):
        result = _parse(text)
        assert isinstance(result, LumiMaskError), text
        assert "appears more than once" in str(result)
