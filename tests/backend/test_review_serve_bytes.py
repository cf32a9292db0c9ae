"""Review of the replies built as bytes: on hostile values (quotes, backslashes, control characters, non-BMP and
lone surrogates, names of other keys, null prescales and luminosity, unsorted and overlapping ranges) and hostile
stored data served over the app, every reply is ``json.dumps`` of its dict form, byte for byte."""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from testkit.profiles import scaled
from testkit.store import raw_writing

from backend.app import create_app
from backend.demo import generate
from backend.lumiranges import StatusRange
from backend.lumisections import (
    joint_ranges,
    joint_ranges_json,
    oms_per_lumisection,
    oms_per_lumisection_json,
    oms_ranges,
    oms_ranges_json,
    rr_by_component,
    rr_per_lumisection,
    rr_per_lumisection_json,
    rr_ranges,
    rr_ranges_json,
)
from backend.rows import OmsRange, pack_lumi
from backend.store import Store
from client.calls import LUMISECTION_ENDPOINTS

#: Pieces of text that JSON escapes, or that would break a reply joined from pieces if they were not escaped.
HOSTILE = ['"', "\\", "\x00", "\x1f", "\x7f", "\u2028", "é", "\U0001f600", "a", " ", ",", ":", "{", "}", ", ", '": ']
TEXT = st.lists(st.sampled_from(HOSTILE), max_size=4).map("".join)
TEXT_WITH_SURROGATES = st.lists(st.sampled_from([*HOSTILE, "\ud800", "\udfff"]), max_size=4).map("".join)
KEYS = ["dt-dt", "csc-csc", "start", "end", "status", "comment", "recorded", "delivered", "prescale_name", "cms_active"]
LUMINOSITY = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True)
)


def status_ranges(text: st.SearchStrategy[str]) -> st.SearchStrategy[list[StatusRange]]:
    """A component's ranges, overlapping or apart, in any order."""
    return st.lists(
        st.builds(
            lambda start, length, status, comment, cause: StatusRange(start, start + length, status, comment, cause),
            st.integers(1, 20),
            st.integers(0, 5),
            st.one_of(st.sampled_from(["GOOD", "BAD", "EMPTY"]), text),
            text,
            text,
        ),
        max_size=4,
    )


def oms_layouts(
    prescales: st.SearchStrategy[tuple[Any, Any]], bits: st.SearchStrategy[tuple[int, int]]
) -> st.SearchStrategy[list[OmsRange]]:
    """Consecutive OMS ranges over 1..``end`` (0 to 24), the second one sometimes left out (a hole)."""

    def layout(cuts: list[int], end: int, hole: bool, values: list[tuple[tuple[Any, Any], tuple[int, int]]]) -> Any:
        bounds = sorted({1, *(c for c in cuts if c <= end), end + 1})
        return [
            OmsRange(first, after - 1, true_bits, null_bits, *prescale)
            for index, ((first, after), (prescale, (true_bits, null_bits))) in enumerate(
                zip(itertools.pairwise(bounds), values, strict=False)
            )
            if not (hole and index == 1)
        ]

    return st.builds(
        layout,
        st.lists(st.integers(2, 24), max_size=4, unique=True),
        st.integers(0, 24),
        st.booleans(),
        st.lists(st.tuples(prescales, bits), min_size=6, max_size=6),
    )


def outcome(build: Callable[..., Any], *args: Any) -> bytes | type[BaseException]:
    """What ``build`` gives, as bytes, or the type of the error it raises."""
    try:
        reply = build(*args)
    except Exception as exc:  # both forms must fail alike
        return type(exc)
    return reply if isinstance(reply, bytes) else json.dumps(reply).encode()


@scaled(2)  # cheap examples
@given(
    components=st.dictionaries(
        st.one_of(st.sampled_from(KEYS), TEXT_WITH_SURROGATES), status_ranges(TEXT_WITH_SURROGATES), max_size=3
    ),
    lumisections=st.integers(0, 22),
    ranges=oms_layouts(
        st.tuples(st.none() | st.integers(-3, 3) | st.booleans() | st.floats(0.5, 2), st.none() | TEXT_WITH_SURROGATES),
        st.tuples(st.integers(0, 2**40), st.integers(0, 2**40)),
    ),
    luminosity=st.lists(LUMINOSITY, min_size=24, max_size=24),
    rr_lumisections=st.none() | st.integers(0, 26),
)
def test_hostile_values_encode_byte_for_byte(
    components: dict[str, list[StatusRange]],
    lumisections: int,
    ranges: list[OmsRange],
    luminosity: list[Any],
    rr_lumisections: int | None,
) -> None:
    """Also joint ranges whose RR side is longer or shorter than the OMS one."""
    recorded, delivered = luminosity, luminosity[::-1]
    joint = functools.partial(joint_ranges, rr_lumisections=rr_lumisections)
    joint_json = functools.partial(joint_ranges_json, rr_lumisections=rr_lumisections)
    pairs = [
        (rr_per_lumisection_json, rr_per_lumisection, (components, lumisections)),
        (rr_ranges_json, rr_ranges, (components, lumisections)),
        (oms_ranges_json, oms_ranges, (ranges,)),
        (oms_per_lumisection_json, oms_per_lumisection, (ranges, lumisections, recorded, delivered)),
        (joint_json, joint, (components, ranges, lumisections, recorded, delivered)),
    ]
    for fast, reference, args in pairs:
        assert outcome(fast, *args) == outcome(reference, *args), fast


# -- the same over the app, on hostile data stored in the registry ----------------------------------------------


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    with Store.open() as opened:
        opened.load(generate(runs=4, seed=3))
        yield opened


def _store_lumisections(
    store: Store,
    run_number: int,
    dataset: str,
    lumisections: int,
    statuses: dict[str, list[StatusRange]],
    ranges: list[OmsRange],
    luminosity: list[int] | None,
) -> None:
    """Replace a run's length, OMS ranges and luminosity, and one dataset's status ranges (the store's layout)."""
    with raw_writing(store) as conn:
        conn.execute("UPDATE run SET lumisections = ? WHERE run_number = ?", (lumisections, run_number))
        (dataset_id,) = conn.execute(
            "SELECT dataset_id FROM dataset WHERE run_number = ? AND name = ?", (run_number, dataset)
        ).fetchone()
        conn.execute("DELETE FROM ls_status WHERE dataset_id = ?", (dataset_id,))
        conn.executemany(
            "INSERT INTO ls_status VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(dataset_id, c, r.start, r.end, r.status, r.comment, r.cause) for c, rs in statuses.items() for r in rs],
        )
        conn.execute("DELETE FROM oms_range WHERE run_number = ?", (run_number,))
        conn.executemany(
            "INSERT INTO oms_range VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(run_number, r.start, r.end, r.true_bits, r.null_bits, r.prescale_index, r.prescale_name) for r in ranges],
        )
        conn.execute("DELETE FROM lumi WHERE run_number = ?", (run_number,))
        if luminosity is not None:
            packed = (pack_lumi(luminosity), pack_lumi(luminosity[::-1]))
            conn.execute("INSERT INTO lumi VALUES (?, ?, ?)", (run_number, *packed))


def _post(store: Store, paths: list[str], body: dict[str, Any]) -> list[httpx.Response]:
    """The app's replies to ``body`` posted to each of ``paths``."""
    app = create_app(store)

    async def post() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://rr.test") as http:
            return [await http.post(path, json=body) for path in paths]

    return anyio.run(post)


def _post_all(store: Store, body: dict[str, Any], *, expect: int | None = 200) -> dict[str, bytes]:
    """Each lumisection route's reply to ``body``, from the app (each with status ``expect`` unless ``None``)."""
    replies = dict(zip(ROUTES, _post(store, [f"/lumisections/{route}" for route in ROUTES], body), strict=True))
    for route, reply in replies.items():
        assert expect is None or reply.status_code == expect, (route, reply.content)
    return {route: reply.content for route, reply in replies.items()}


#: The six lumisection routes (§7), as the client names them.
ROUTES = LUMISECTION_ENDPOINTS


@scaled(1, suppress=[HealthCheck.function_scoped_fixture])  # the store's data is replaced by each example
@given(
    components=st.dictionaries(st.one_of(st.sampled_from(KEYS), TEXT), status_ranges(TEXT), max_size=3).map(
        lambda found: {
            c: sorted({r.start: r for r in rs}.values(), key=lambda r: r.start) for c, rs in found.items() if rs
        }
    ),  # the store keeps one range a component and first lumisection, in order; a component has ranges
    lumisections=st.integers(0, 22),
    ranges=oms_layouts(st.tuples(st.none() | st.integers(-3, 3), st.none() | TEXT), st.sampled_from([(5, 1), (0, 2)])),
    luminosity=st.none() | st.lists(st.integers(-(2**62), 2**62), min_size=24, max_size=24),
    online=st.booleans(),
)
def test_hostile_stored_lumisections_are_served_byte_for_byte(
    store: Store,
    components: dict[str, list[StatusRange]],
    lumisections: int,
    ranges: list[OmsRange],
    luminosity: list[int] | None,
    online: bool,
) -> None:
    """A run of any length (zero included) with OMS ranges short of it or past it, holes, null prescales, no
    luminosity row, RR ranges past the run's end; its online dataset or an offline one."""
    run_number, dataset = _target(store, online=online)
    _store_lumisections(store, run_number, dataset, lumisections, components, ranges, luminosity)
    recorded = luminosity if luminosity is not None else [0] * lumisections
    length = max([lumisections, *(r.end for rs in components.values() for r in rs)])  # RR ranges past the end count
    oms = (ranges, lumisections, recorded, recorded[::-1] if luminosity is not None else recorded)
    expected = {
        "rr_lumisections": rr_per_lumisection(components, length),
        "rr_lumisection_ranges": rr_ranges(components, length),
        "rr_lumisection_ranges_by_component": rr_by_component(components, length),
        "oms_lumisections": oms_per_lumisection(*oms),
        "oms_lumisection_ranges": oms_ranges(ranges),
        "joint_lumisection_ranges": paired_as_the_service_pairs(
            oms_per_lumisection(*oms), rr_per_lumisection(components, length)
        ),
    }
    replies = _post_all(store, {"run_number": run_number, "dataset_name": dataset})
    assert replies == {route: json.dumps(value).encode() for route, value in expected.items()}


def paired_as_the_service_pairs(oms: list[dict[str, Any]], rr: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The service's joint ranges: the i-th OMS and RR lumisections together over the longer of the two (the
    other side's values missing beyond its end), equal neighbours merged."""
    merged: list[tuple[dict[str, Any], int, int]] = []
    for number, (oms_values, rr_values) in enumerate(itertools.zip_longest(oms, rr, fillvalue={}), start=1):
        values = {**oms_values, **rr_values}
        if merged and merged[-1][0] == values:
            merged[-1] = (values, merged[-1][1], number)
        else:
            merged.append((values, number, number))
    return [{**values, "start": first, "end": last} for values, first, last in merged]


def _target(store: Store, *, online: bool) -> tuple[int, str]:
    """The dataset the stored-data test rewrites: the first online one, or the first offline one."""
    datasets = [(run_number, name) for run_number, _, names in store.registry_runs() for name in names]
    return next((r, d) for r, d in datasets if online == (d == "online"))


@pytest.mark.parametrize(
    "body",
    [{"run_number": 1, "dataset_name": "online"}, {"run_number": "-7", "dataset_name": "/x/y"}],
)
def test_unknown_runs_answer_the_services_empty_replies(store: Store, body: dict[str, Any]) -> None:
    """``[]``, and ``{}`` by component (§10), for an unknown run; an unknown dataset of a known run too, except
    the OMS routes, which read the run only."""
    empty = dict.fromkeys(ROUTES, b"[]") | {"rr_lumisection_ranges_by_component": b"{}"}
    assert _post_all(store, body) == empty
    rewritten = {_target(store, online=True)[0], _target(store, online=False)[0]}
    known_run = next(run_number for run_number, _, _ in store.registry_runs() if run_number not in rewritten)
    unknown_dataset = _post_all(store, {"run_number": known_run, "dataset_name": "/no/such/DQM"})
    online = _post_all(store, {"run_number": known_run, "dataset_name": "online"})
    assert unknown_dataset == {r: online[r] if r.startswith("oms") else empty[r] for r in ROUTES}
    assert online["oms_lumisection_ranges"] != b"[]"


def test_rr_routes_need_a_dataset_name_and_oms_routes_default_to_online(store: Store) -> None:
    """The service passes ``dataset_name`` to its RR queries as is (a missing one fails there) and reads
    ``dataset_name || 'online'`` for OMS: answering the online dataset's statuses would be kinder than it is."""
    run_number = store.registry_runs()[-1][0]
    without_name = _post_all(store, {"run_number": run_number}, expect=None)
    online = _post_all(store, {"run_number": run_number, "dataset_name": "online"})
    for route in ROUTES:
        if route.startswith("oms"):
            assert without_name[route] == online[route]
        else:
            assert json.loads(without_name[route]) == {"err": "dataset_name is required"}


def test_get_dataset_needs_a_dataset_name(store: Store) -> None:
    """The service looks the dataset up with ``name: dataset_name``, which fails when it is missing."""
    (reply,) = _post(store, ["/datasets/get_dataset"], {"run_number": store.registry_runs()[-1][0]})
    assert (reply.status_code, reply.json()) == (500, {"err": "dataset_name is required"})
