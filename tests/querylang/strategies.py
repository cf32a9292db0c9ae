"""Hypothesis strategies for valid user filters (runs) and for mutations of them."""

from __future__ import annotations

import copy
import datetime as dt
import functools
from typing import Any

from hypothesis import strategies as st

_ORDERED = ("=", "<>", "<", ">", "<=", ">=")
_STATUSES = ("GOOD", "BAD", "STANDBY", "EXCLUDED", "NOTSET", "EMPTY", "good", "Bad", "no value found")
_FLAGS = ("dt-dt", "csc-csc", "tracker-strip", "hcal-hcal")


def _wrap(base: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Value-level and/or/not around a base value spec."""
    return st.recursive(
        base,
        lambda inner: st.one_of(
            st.builds(lambda s: {"not": s}, inner),
            st.builds(lambda xs: {"and": xs}, st.lists(inner, min_size=1, max_size=3)),
            st.builds(lambda xs: {"or": xs}, st.lists(inner, min_size=1, max_size=3)),
        ),
        max_leaves=3,
    )


def _ordered(values: st.SearchStrategy[Any], empty_lists: bool) -> st.SearchStrategy[Any]:
    single = st.builds(lambda op, v: {op: v}, st.sampled_from(_ORDERED), values)
    pair = st.builds(
        lambda a, b, v, w: {a: v, b: w} if a != b else {a: v}, *(st.sampled_from(_ORDERED),) * 2, values, values
    )
    lists = st.lists(values, min_size=0 if empty_lists else 1, max_size=3)
    member = st.builds(lambda op, vs: {op: vs}, st.sampled_from(("in", "notin")), lists)
    return st.one_of(values, single, pair, member, lists)


def _strings(values: st.SearchStrategy[str], patterns: tuple[str, ...], empty_lists: bool) -> st.SearchStrategy[Any]:
    op = st.sampled_from(("=", "<>"))
    lists = st.lists(values, min_size=0 if empty_lists else 1, max_size=3)
    return st.one_of(
        values,
        st.builds(lambda o, v: {o: v}, op, values),
        st.builds(lambda o, p: {o: p}, st.sampled_from(("like", "notlike")), st.sampled_from(patterns)),
        st.builds(lambda o, vs: {o: vs}, st.sampled_from(("in", "notin")), lists),
        lists,
    )


def _booleans() -> st.SearchStrategy[Any]:
    return st.one_of(st.booleans(), st.builds(lambda o, v: {o: v}, st.sampled_from(("=", "<>")), st.booleans()))


def _statuses(empty_lists: bool) -> st.SearchStrategy[Any]:
    status = st.sampled_from(_STATUSES)
    lists = st.lists(status, min_size=0 if empty_lists else 1, max_size=3)
    base = st.one_of(status, lists, st.builds(lambda s: {"=": s}, status), st.builds(lambda xs: {"in": xs}, lists))
    return _wrap(base)


def attribute_specs(empty_lists: bool = True) -> dict[str, st.SearchStrategy[Any]]:
    dates = st.one_of(
        st.sampled_from(("2018-05-10", "2018-06-01T12:00:00Z", "2018-04-15T03:00:00+02:00")),
        st.dates(dt.date(2018, 4, 1), dt.date(2018, 8, 1)).map(lambda d: f"{d.isoformat()}T06:00:00Z"),
    )
    return {
        "run_number": _wrap(_ordered(st.integers(314990, 315600), empty_lists)),
        "fill_number": _wrap(_ordered(st.integers(5996, 6008), empty_lists)),
        "b_field": _wrap(_ordered(st.sampled_from((0.02, 1.0, 3.7, 3.8)), empty_lists)),
        "start_time": _wrap(_ordered(dates, empty_lists)),
        "class": _wrap(
            _strings(
                st.sampled_from(("Collisions18", "Cosmics18", "Commissioning18")),
                ("%18", "Cosm%", "C_smics18", "%OLLISION%"),
                empty_lists,
            )
        ),
        "hlt_key": _wrap(
            _strings(
                st.sampled_from(("/cdaq/special/2018/WMass/HLT/V1", "x")),
                ("%physics%", "%WMass%", "%cosmic%"),
                empty_lists,
            )
        ),
        "state": _wrap(_strings(st.sampled_from(("OPEN", "SIGNOFF", "COMPLETED")), ("%OFF",), empty_lists)),
        "significant": _wrap(_booleans()),
        "stable_beam": _wrap(_booleans()),
        "components": _wrap(
            st.builds(lambda o, p: {o: p}, st.sampled_from(("like", "notlike")), st.sampled_from(("%DT%", "%TRACKER%")))
        ),
        "triplet_summary.dt-dt.BAD": _wrap(_ordered(st.integers(0, 6), empty_lists)),
        **{flag: _statuses(empty_lists) for flag in _FLAGS},
    }


@functools.cache
def run_filters(empty_lists: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    """Random valid run filters: every attribute type, status flags, and/or/not at both levels."""
    specs = attribute_specs(empty_lists)
    leaf = st.one_of([st.builds(lambda s, k=key: {k: s}, spec) for key, spec in specs.items()])
    merged = st.lists(leaf, min_size=2, max_size=3).map(lambda parts: {k: v for p in parts for k, v in p.items()})
    return st.recursive(
        st.one_of(leaf, merged),
        lambda inner: st.one_of(
            st.builds(lambda f: {"not": f}, inner),
            st.builds(lambda xs: {"and": xs}, st.lists(inner, min_size=1, max_size=3)),
            st.builds(lambda xs: {"or": xs}, st.lists(inner, min_size=1, max_size=3)),
            st.builds(lambda f, g: {**f, **g}, inner, leaf),
        ),
        max_leaves=6,
    )


JUNK_VALUES: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    -1,
    1e308,
    float("nan"),
    float("inf"),
    "",
    "GOOD",
    "%",
    [],
    [None],
    [[1]],
    {},
    {"=": None},
    {"in": "x"},
    {"between": 1},
    {"and": []},
    {"or": {}},
    {"not": []},
    {"like": 3},
    "2018-02-30",
    dt.date(2018, 1, 1),
    dt.datetime(2018, 1, 1, 0, 0, 0, 5),
    b"bytes",
    (1, 2),
    {1: 2},
    {1, 2},
    object(),
    "NO VALUE FOUND",
    -0.0,
)
JUNK_KEYS: tuple[Any, ...] = (
    "",
    "AND",
    "Or",
    "NOT",
    "dt",
    "dt-",
    "-dt",
    "triplet_summary.",
    "triplet_summary.dt-dt",
    "triplet_summary.dt-dt.good",
    "triplet_summary.dt-dt.COMMENTS",
    "oms_attributes.",
    ".",
    "run_number.x",
    "x-y",
    "hcal-hoO_ls",
    "name",
    "dataset_name",
    42,
    None,
    "not",
    "in",
    "=",
    "like",
    "global_state",
    "dc-lowlumi",
    "components",
    "start_time",
    "rr_attributes.class",
)


def _slots(obj: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a dict value or list item inside ``obj``."""
    found: list[tuple[Any, ...]] = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            found += [(*path, key), *_slots(value, (*path, key))]
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            found += [(*path, index), *_slots(value, (*path, index))]
    return found


@st.composite
def mutated_filters(draw: st.DrawFn) -> Any:
    """A valid filter with one random thing broken: a value replaced, a key renamed or dropped, or the whole."""
    original = draw(run_filters())
    mutant = copy.deepcopy(original)
    slots = _slots(mutant)
    if not slots or draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(JUNK_VALUES))
    path = draw(st.sampled_from(slots))
    holder = mutant
    for part in path[:-1]:
        holder = holder[part]
    last = path[-1]
    action = draw(st.sampled_from(("value", "key", "drop") if isinstance(holder, dict) else ("value",)))
    if action == "value":
        holder[last] = draw(st.sampled_from(JUNK_VALUES))
    elif action == "key":
        holder[draw(st.sampled_from(JUNK_KEYS))] = holder.pop(last)
    else:
        del holder[last]
    return mutant
