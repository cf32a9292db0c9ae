"""LumiMask: validation, file format, and the set algebra checked against a set-of-(run, ls) model."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from querylang.ranges import merge as merge_ranges
from schemas.golden import LumiMask, LumiMaskError

Pairs = set[tuple[int, int]]

pairs = st.sets(st.tuples(st.integers(1, 4), st.integers(1, 30)), max_size=60)


def as_mask(model: Pairs) -> LumiMask:
    return LumiMask.from_lumisections(model)


@given(pairs, pairs)
def test_algebra_matches_set_model(a: Pairs, b: Pairs) -> None:
    ma, mb = as_mask(a), as_mask(b)
    assert set(ma | mb) == a | b
    assert set(ma & mb) == a & b
    assert set(ma - mb) == a - b
    assert set(ma ^ mb) == a ^ b
    assert (ma == mb) == (a == b)
    assert (ma <= mb) == (a <= b)
    assert (ma >= mb) == (a >= b)
    assert len(ma) == len(a) == ma.lumisection_count
    assert ma.run_count == len({run for run, _ in a})


@given(pairs, st.tuples(st.integers(0, 5), st.integers(0, 32)))
def test_membership_matches_set_model(a: Pairs, probe: tuple[int, int]) -> None:
    mask = as_mask(a)
    assert (probe in mask) == (probe in a)
    assert (probe[0] in mask) == any(run == probe[0] for run, _ in a)


@given(pairs)
def test_ranges_are_sorted_merged_and_roundtrip(a: Pairs) -> None:
    mask = as_mask(a)
    for _, ranges in mask.items():
        for (_, last), (first, _) in itertools.pairwise(ranges):
            assert first > last + 1, "ranges must be disjoint and non-adjacent"
    assert LumiMask.from_json(mask.to_json()) == mask
    assert LumiMask(mask.to_dict()) == mask
    assert LumiMask.union([mask, mask]) == mask


@given(st.lists(st.tuples(st.integers(1, 40), st.integers(0, 5)), max_size=12))
def test_merge_ranges_covers_same_points(spans: list[tuple[int, int]]) -> None:
    ranges = [(first, first + width) for first, width in spans]
    points = {p for first, last in ranges for p in range(first, last + 1)}
    merged = merge_ranges(ranges)
    assert {p for first, last in merged for p in range(first, last + 1)} == points


def test_to_json_is_one_run_per_line_with_string_keys() -> None:
    mask = LumiMask({315257: [(1, 88), (91, 92)], 315259: [(1, 172)]})
    assert mask.to_json() == '{"315257": [[1, 88], [91, 92]],\n "315259": [[1, 172]]}'
    assert json.loads(mask.to_json()) == {"315257": [[1, 88], [91, 92]], "315259": [[1, 172]]}
    assert LumiMask().to_json() == "{}"


def test_file_roundtrip(tmp_path: Path) -> None:
    mask = LumiMask({"315000": [[1, 10], [20, 30]], "315001": [[5, 5]]})
    target = tmp_path / "golden.json"
    mask.to_file(target)
    assert target.read_text().endswith("]]}\n")
    assert LumiMask.from_file(target) == mask


def test_unsorted_overlapping_input_is_normalised() -> None:
    mask = LumiMask({"7": [[10, 12], [1, 5], [4, 9]], 3: [[2, 2]]})
    assert mask.to_dict() == {"3": [[2, 2]], "7": [[1, 12]]}
    assert mask.runs == (3, 7)


def test_empty_run_selects_nothing() -> None:
    assert LumiMask({"7": []}) == LumiMask()
    assert not LumiMask({"7": []})


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"abc": [[1, 2]]}, "run number must be an integer"),
        ({"0": [[1, 2]]}, "run number must be >= 1"),
        ({"1": [[0, 2]]}, "first lumisection must be >= 1"),
        ({"1": [[3, 2]]}, "has first > last"),
        ({"1": [[1, 2, 3]]}, "[first, last] pair"),
        ({"1": [[1.5, 2]]}, "must be an integer"),
        ({"1": [[True, 2]]}, "must be an integer"),
        ({"1": "1-2"}, "list of ranges"),
        ([[1, 2]], "expected a mapping"),
    ],
)
def test_invalid_masks_raise_with_path(data: object, fragment: str) -> None:
    with pytest.raises(LumiMaskError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        LumiMask(data)  # type: ignore[arg-type]


def test_error_names_the_entry() -> None:
    with pytest.raises(LumiMaskError) as info:
        LumiMask({"315000": [[1, 2], [9, 4]]})
    assert info.value.path == ("315000", 1)
    assert "['315000'][1]" in str(info.value)


def test_bad_json_text() -> None:
    with pytest.raises(LumiMaskError, match="not valid JSON"):
        LumiMask.from_json("{")


def test_immutable_and_hashable() -> None:
    mask = LumiMask({1: [(1, 2)]})
    with pytest.raises(AttributeError):
        mask.foo = 1
    assert {mask: 1}[LumiMask({"1": [[1, 2]]})] == 1


def test_algebra_rejects_other_types() -> None:
    with pytest.raises(TypeError):
        _ = LumiMask() | {"1": [[1, 2]]}  # type: ignore[operator]
