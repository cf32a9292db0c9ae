"""Exact listings on a service whose order is not stable across pages (``rr-protocol.md`` §10): the
tie-breaker every request carries, and the detection and re-fetch of pages whose rows repeat."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from client_fakes import BASE_URL, FakeService, make_dataset, make_run
from hypothesis import assume, given
from hypothesis import strategies as st

from client import AsyncRunRegistry, PartialResultError, RunRegistry, ServiceError
from client.pagination import REFETCH_ROUNDS


def _bodies(fake: FakeService) -> list[dict[str, Any]]:
    return [json.loads(r.content) for r in fake.requests if r.url.path.endswith("_filtered_ordered")]


def _page(fake: FakeService, numbers: list[int], count: int = 100) -> httpx.Response:
    return httpx.Response(200, json={"runs": [make_run(n) for n in numbers], "count": count, "pages": 10})


@pytest.mark.parametrize(
    ("kind", "sortings", "sent"),
    [
        ("runs", None, [["run_number", "DESC"]]),
        ("runs", [["rr_attributes.class", "DESC"]], [["rr_attributes.class", "DESC"], ["run_number", "DESC"]]),
        ("runs", [["run_number", "ASC"]], [["run_number", "ASC"]]),
        ("datasets", None, [["run_number", "DESC"], ["name", "ASC"]]),
        ("datasets", [["run_number", "ASC"]], [["run_number", "ASC"], ["name", "ASC"]]),
        (
            "datasets",
            [["oms_attributes.energy", "ASC"], ["name", "DESC"]],
            [["oms_attributes.energy", "ASC"], ["name", "DESC"], ["run_number", "DESC"]],
        ),
    ],
)
@pytest.mark.parametrize("page_size", [1, 7, 20_000])
def test_every_request_carries_a_unique_tie_breaker(
    kind: str, sortings: Any, sent: list[list[str]], page_size: int
) -> None:
    fake = FakeService(datasets=[make_dataset(n, "/A/B/DQM") for n in range(1, 16)])
    with RunRegistry(BASE_URL, transport=httpx.MockTransport(fake), page_size=page_size) as rr:
        getattr(rr, f"get_{kind}")(sortings=sortings, limit=15)
    bodies = _bodies(fake)
    assert bodies
    assert all(body["sortings"] == sent for body in bodies)


def test_pages_whose_rows_repeat_are_fetched_again(mock_client: RunRegistry, fake: FakeService) -> None:
    # page 3 first comes back with a row of page 2 (1079) in place of one of its own (1069)
    fake.fail("/runs_filtered_ordered", 3, _page(fake, [1079, *range(1068, 1059, -1)]))
    runs = mock_client.get_runs()
    assert [r.run_number for r in runs] == list(range(1099, 999, -1))
    pages = [b["page"] for b in _bodies(fake)]
    assert sorted(pages) == sorted([*range(10), 2, 3])
    assert "2 page(s) fetched again" in runs.notes[-1]


def test_rows_that_keep_repeating_give_a_resumable_error(mock_client: RunRegistry, fake: FakeService) -> None:
    wrong = [_page(fake, [1079, *range(1068, 1059, -1)]) for _ in range(REFETCH_ROUNDS + 1)]
    fake.fail("/runs_filtered_ordered", 3, *wrong)
    with pytest.raises(PartialResultError, match="not stable") as caught:
        mock_client.get_runs()
    error = caught.value
    assert error.missing_pages == 2  # pages 2 and 3 both held 1079: either could be the wrong one
    assert {r.run_number for r in error.rows}.isdisjoint(range(1060, 1080))
    fake.requests.clear()
    runs = mock_client.get_runs(resume_from=error.resume_from)
    assert [r.run_number for r in runs] == list(range(1099, 999, -1))
    assert sorted(b["page"] for b in _bodies(fake)) == [2, 3]


def test_a_repeat_inside_one_filter_of_a_union_is_detected(mock_client: RunRegistry, fake: FakeService) -> None:
    # rows shared by two filters of a union are expected; a row twice within one filter's pages is not
    union = {"or": [{"run_number": {"<": 1005}}, {"dt-dt": "GOOD"}]}
    runs = mock_client.get_runs(filter=union)
    assert runs.duplicates_removed > 0  # the union's overlap, removed without complaint
    expected = [r.run_number for r in runs]
    fake.requests.clear()
    good = [n for n in range(1099, 999, -1) if n % 7]  # the status-flag filter's rows (only it has a page 1)
    page_one = [make_run(n) for n in [good[0], *good[11:20]]]
    fake.fail("/runs_filtered_ordered", 1, httpx.Response(200, json={"runs": page_one, "count": len(good)}))
    assert [r.run_number for r in mock_client.get_runs(filter=union)] == expected
    assert [b["page"] for b in _bodies(fake)].count(1) == 2


@pytest.mark.anyio
async def test_async_listing_refetches_repeated_pages_too(fake: FakeService) -> None:
    fake.fail("/runs_filtered_ordered", 5, _page(fake, [1055, 1055, *range(1047, 1039, -1)]))
    async with AsyncRunRegistry(BASE_URL, transport=httpx.MockTransport(fake), page_size=10) as rr:
        runs = await rr.get_runs()
    assert [r.run_number for r in runs] == list(range(1099, 999, -1))
    assert sorted(b["page"] for b in _bodies(fake)).count(5) == 2


@given(
    rows=st.integers(1, 45),
    page_size=st.integers(1, 12),
    where=st.tuples(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6)),
    bad_answers=st.integers(1, REFETCH_ROUNDS + 1),
)
def test_a_repeated_row_is_refetched_or_raised_never_returned(
    rows: int, page_size: int, where: tuple[int, int, int], bad_answers: int
) -> None:
    numbers = list(range(2000 + rows - 1, 1999, -1))
    pages = [numbers[i : i + page_size] for i in range(0, rows, page_size)]
    page = where[0] % len(pages)
    position = where[1] % len(pages[page])
    others = [n for n in numbers if n != pages[page][position]]
    assume(others)
    wrong = [*pages[page]]
    wrong[position] = others[where[2] % len(others)]
    fake = FakeService(runs=[make_run(n) for n in numbers])
    answer = {"runs": [make_run(n) for n in wrong], "count": rows}
    fake.fail("/runs_filtered_ordered", page, *[httpx.Response(200, json=answer) for _ in range(bad_answers)])
    with RunRegistry(BASE_URL, transport=httpx.MockTransport(fake), page_size=page_size) as rr:
        if bad_answers <= REFETCH_ROUNDS:
            assert [r.run_number for r in rr.get_runs()] == numbers
            return
        with pytest.raises((ServiceError, PartialResultError), match="not stable") as caught:
            rr.get_runs()
    if len(pages) == 1:
        return  # nothing else was fetched: the error itself
    assert isinstance(caught.value, PartialResultError)
    fetched = [r.run_number for r in caught.value.rows]
    assert len(fetched) == len(set(fetched)) < rows
