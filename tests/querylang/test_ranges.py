"""querylang.ranges: every operation checked against a set-of-integers model, plus validation and pickling."""

from __future__ import annotations

import itertools
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from querylang.errors import ArgumentError, ArgumentTypeError, RunQLError
from querylang.ranges import (
    Range,
    coalesce,
    complement,
    from_numbers,
    from_values,
    intersect,
    length,
    merge,
    subtract,
)

pairs = st.lists(st.tuples(st.integers(1, 60), st.integers(0, 8)).map(lambda p: (p[0], p[0] + p[1])), max_size=14)


def points(ranges: object) -> set[int]:
    return {n for first, last in ranges for n in range(first, last + 1)}  # type: ignore[attr-defined]


def is_normal(ranges: tuple[Range, ...]) -> bool:
    """Sorted, each a valid Range, and no two overlapping or touching."""
    valid = all(type(r) is Range and 1 <= r.first <= r.last for r in ranges)
    return valid and all(a.last + 1 < b.first for a, b in itertools.pairwise(ranges))


@settings(max_examples=120, deadline=None)
@given(pairs)
def test_merge_keeps_the_points_in_normal_form(raw: list[tuple[int, int]]) -> None:
    merged = merge(raw)
    assert points(merged) == points(raw)
    assert is_normal(merged)
    assert length(merged) == len(points(raw))
    assert merge(merged) == merged


@settings(max_examples=120, deadline=None)
@given(pairs, pairs)
def test_intersect_and_subtract_match_the_set_model(a_raw: list[tuple[int, int]], b_raw: list[tuple[int, int]]) -> None:
    a, b = merge(a_raw), merge(b_raw)
    both, only_a = intersect(a, b), subtract(a, b)
    assert points(both) == points(a) & points(b)
    assert points(only_a) == points(a) - points(b)
    assert is_normal(both)
    assert is_normal(only_a)


@settings(max_examples=80, deadline=None)
@given(pairs, st.integers(0, 70))
def test_complement_is_the_rest_of_the_run(raw: list[tuple[int, int]], last: int) -> None:
    rest = complement(merge(raw), last)
    assert points(rest) == set(range(1, last + 1)) - points(raw)
    assert is_normal(rest)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(1, 40), max_size=30))
def test_from_numbers_keeps_order_and_points(numbers: list[int]) -> None:
    ranges = from_numbers(numbers)
    assert [n for first, last in ranges for n in range(first, last + 1)] == numbers
    breaks = sum(1 for a, b in itertools.pairwise(numbers) if b != a + 1)
    assert len(ranges) == (breaks + 1 if numbers else 0)
    assert from_numbers(sorted(set(numbers))) == merge((n, n) for n in numbers)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from("abc"), max_size=30))
def test_per_lumisection_coalesces_equal_neighbours(values: list[str]) -> None:
    ranges = from_values(values)
    assert [v for first, last, v in ranges for _ in range(first, last + 1)] == values
    assert all(a[2] != b[2] and a[1] + 1 == b[0] for a, b in itertools.pairwise(ranges))
    assert coalesce(ranges) == ranges


def test_coalesce_joins_only_touching_equal_neighbours() -> None:
    assert coalesce([(1, 2, "a"), (4, 5, "a"), (6, 6, "a"), (7, 7, "b")]) == [(1, 2, "a"), (4, 6, "a"), (7, 7, "b")]


@pytest.mark.parametrize(
    ("first", "last", "error"),
    [
        (0, 3, ArgumentError),
        (5, 4, ArgumentError),
        (-2, -1, ArgumentError),
        (True, 2, ArgumentTypeError),
        (1.0, 2, ArgumentTypeError),
        ("1", 2, ArgumentTypeError),
    ],
)
def test_invalid_ranges_are_typed_errors(first: object, last: object, error: type[RunQLError]) -> None:
    with pytest.raises(error) as caught:
        Range(first, last)  # type: ignore[arg-type]
    assert isinstance(caught.value, RunQLError)
    with pytest.raises(error):
        merge([(1, 2), (first, last)])  # type: ignore[list-item]


def test_range_is_a_frozen_tuple_that_pickles() -> None:
    r = Range(3, 9)
    assert r == (3, 9)
    assert (r.first, r.last, r.length) == (3, 9, 7)
    copy = pickle.loads(pickle.dumps(r))
    assert copy == r
    assert type(copy) is Range
    with pytest.raises(AttributeError):
        r.first = 4  # type: ignore[misc]
