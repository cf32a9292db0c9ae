"""``/lumisections/oms_lumisections`` is encoded range by range, and the bytes are ``json.dumps`` of the list's."""

from __future__ import annotations

import itertools
import json

from hypothesis import given
from hypothesis import strategies as st

from backend.demo import iter_runs
from backend.lumiranges import StatusRange
from backend.lumisections import (
    joint_ranges,
    joint_ranges_json,
    oms_per_lumisection,
    oms_per_lumisection_json,
    oms_ranges,
    oms_ranges_json,
    rr_per_lumisection,
    rr_per_lumisection_json,
    rr_ranges,
    rr_ranges_json,
)
from backend.rows import OmsRange


def test_the_demo_runs_encode_byte_for_byte() -> None:
    for run in iter_runs(12, 2018):
        args = (run.oms_ranges, run.lumisections, run.recorded, run.delivered)
        assert oms_per_lumisection_json(*args) == json.dumps(oms_per_lumisection(*args)).encode()


FINITE = st.floats(allow_nan=False, allow_infinity=False)


@given(
    cuts=st.lists(st.integers(1, 30), max_size=5, unique=True),
    bits=st.lists(st.tuples(st.integers(0, 2**36 - 1), st.integers(0, 2**36 - 1)), min_size=6, max_size=6),
    prescale=st.text(max_size=4),
    lumisections=st.integers(0, 34),
    values=st.lists(st.one_of(st.integers(-(2**80), 2**80), FINITE), min_size=34, max_size=34),
)
def test_any_ranges_encode_byte_for_byte(
    cuts: list[int], bits: list[tuple[int, int]], prescale: str, lumisections: int, values: list[float]
) -> None:
    """Holes, ranges past the run's end, odd prescale names, float, negative and huge luminosity."""
    bounds = sorted({1, *cuts, 31})
    ranges = [
        OmsRange(start, after - 1, true_bits, null_bits, index, prescale)
        for index, ((start, after), (true_bits, null_bits)) in enumerate(
            zip(itertools.pairwise(bounds), bits, strict=False)
        )
        if index != 1  # a hole
    ]
    args = (ranges, lumisections, values, values[::-1])
    assert oms_per_lumisection_json(*args) == json.dumps(oms_per_lumisection(*args)).encode()


def merged_one_by_one(ranges: list[OmsRange]) -> list[dict[str, object]]:
    """The reference for ``/lumisections/oms_lumisection_ranges``: each range's values as a dict, compared with
    the previous merged range's."""
    merged: list[dict[str, object]] = []
    for rng in ranges:
        values = oms_per_lumisection([rng], rng.end, [0] * rng.end, [0] * rng.end)[-1]
        values = {k: v for k, v in values.items() if k not in ("recorded", "delivered")}
        previous = {k: v for k, v in merged[-1].items() if k not in ("start", "end")} if merged else None
        if merged and merged[-1]["end"] == rng.start - 1 and previous == values:
            merged[-1]["end"] = rng.end
        else:
            merged.append({**values, "start": rng.start, "end": rng.end})
    return merged


@given(
    cuts=st.lists(st.integers(2, 30), max_size=6, unique=True),
    bits=st.lists(st.tuples(st.sampled_from([0, 1, 1 + 2**40]), st.sampled_from([0, 1])), min_size=7),
    prescales=st.lists(st.sampled_from([(0, "a"), (0, "a"), (1, "a"), (0, "b"), (0, "é")]), min_size=7),
    hole=st.booleans(),
)
def test_oms_ranges_merge_exactly_the_equal_neighbours(
    cuts: list[int], bits: list[tuple[int, int]], prescales: list[tuple[int, str]], hole: bool
) -> None:
    """Neighbours merge when their bits and prescale read the same (a null bit's value and bits past the
    whitelist do not count), not across a hole; the bytes are the one-by-one merge's, and the bytes reply's."""
    bounds = sorted({1, *cuts, 31})
    ranges = [
        OmsRange(start, after - 1, true_bits, null_bits, *prescale)
        for index, ((start, after), (true_bits, null_bits), prescale) in enumerate(
            zip(itertools.pairwise(bounds), bits, prescales, strict=False)
        )
        if not (hole and index == 1)
    ]
    assert json.dumps(oms_ranges(ranges)) == json.dumps(merged_one_by_one(ranges))
    assert oms_ranges_json(ranges) == json.dumps(oms_ranges(ranges)).encode()


def test_oms_ranges_bytes_keep_the_last_of_equal_neighbours() -> None:
    """1 and True are equal values: the neighbours merge and, as ``coalesce`` does, the last one's value counts."""
    ranges = [OmsRange(1, 3, 0, 0, 1, "a"), OmsRange(4, 5, 0, 0, True, "a"), OmsRange(6, 6, 1, 0, 1, "a")]
    reply = oms_ranges_json(ranges)
    assert reply == json.dumps(oms_ranges(ranges)).encode()
    assert [(r["prescale_index"], r["start"], r["end"]) for r in json.loads(reply)] == [(True, 1, 5), (1, 6, 6)]


STATUS_RANGES = st.lists(
    st.tuples(
        st.integers(1, 34), st.integers(0, 6), st.sampled_from(["GOOD", "BAD", "STANDBY"]), st.sampled_from(["", "é\n"])
    ),
    max_size=5,
)


@given(
    components=st.dictionaries(
        st.sampled_from(["dt-dt", "csc-csc", "ÿ", "start", "recorded", "cms_active"]), STATUS_RANGES, max_size=3
    ),
    cuts=st.lists(st.integers(1, 30), max_size=4, unique=True),
    bits=st.lists(st.sampled_from([(0, 0), (1, 0), (1, 2)]), min_size=5, max_size=5),
    hole=st.booleans(),
    lumisections=st.integers(0, 34),
    luminosity=st.lists(st.sampled_from([0, 1, 1.0, True, 2**70, 0.1, -3, float("nan")]), min_size=34, max_size=34),
)
def test_joint_ranges_encode_byte_for_byte(
    components: dict[str, list[tuple[int, int, str, str]]],
    cuts: list[int],
    bits: list[tuple[int, int]],
    hole: bool,
    lumisections: int,
    luminosity: list[float],
) -> None:
    """Equal neighbours (1, 1.0 and True are equal; the same NaN is equal to itself), overlapping status ranges,
    OMS holes and ranges past the end, non-ASCII comments, components named like other keys."""
    statuses = {
        component: [StatusRange(start, start + length, status, comment) for start, length, status, comment in ranges]
        for component, ranges in components.items()
    }
    bounds = sorted({1, *cuts, 31})
    ranges = [
        OmsRange(start, after - 1, true_bits, null_bits, 0, "p")
        for index, ((start, after), (true_bits, null_bits)) in enumerate(
            zip(itertools.pairwise(bounds), bits, strict=False)
        )
        if not (hole and index == 1)
    ]
    args = (statuses, ranges, lumisections, luminosity, luminosity[::-1])
    assert joint_ranges_json(*args) == json.dumps(joint_ranges(*args)).encode()


@given(
    components=st.dictionaries(st.sampled_from(["dt-dt", "csc-csc", "ÿ", "end"]), STATUS_RANGES, max_size=3),
    lumisections=st.integers(0, 34),
)
def test_rr_replies_encode_byte_for_byte(
    components: dict[str, list[tuple[int, int, str, str]]], lumisections: int
) -> None:
    """Overlapping ranges (the first covering one counts), ranges past the end, non-ASCII, a component "end"."""
    statuses = {
        component: [StatusRange(start, start + length, status, comment) for start, length, status, comment in ranges]
        for component, ranges in components.items()
    }
    assert rr_ranges_json(statuses, lumisections) == json.dumps(rr_ranges(statuses, lumisections)).encode()
    per_ls = rr_per_lumisection(statuses, lumisections)  # the last covering range counts
    assert rr_per_lumisection_json(statuses, lumisections) == json.dumps(per_ls).encode()


def test_the_demo_runs_joint_and_rr_ranges_encode_byte_for_byte() -> None:
    for run in iter_runs(12, 2018):
        for dataset in run.datasets:
            args = (dataset.statuses, run.oms_ranges, run.lumisections, run.recorded, run.delivered)
            assert joint_ranges_json(*args) == json.dumps(joint_ranges(*args)).encode()
            rr_args = (dataset.statuses, run.lumisections)
            assert rr_ranges_json(*rr_args) == json.dumps(rr_ranges(*rr_args)).encode()
            assert rr_per_lumisection_json(*rr_args) == json.dumps(rr_per_lumisection(*rr_args)).encode()
