"""Pagination, checks, de-duplication, unions and resumption against the in-memory stand-in."""

from __future__ import annotations

import json
import re
import warnings

import httpx
import pytest
from client_fakes import BASE_URL, FakeService, make_run

from client import PartialResultError, RunRegistry, ServiceError, TransportError
from client.pagination import CountChangedWarning
from querylang import FilterError
from schemas import Run


def _pages_requested(fake: FakeService) -> list[tuple[int, int]]:
    bodies = [json.loads(r.content) for r in fake.requests if r.url.path.endswith("_filtered_ordered")]
    return [(b["page"], b["page_size"]) for b in bodies]


def test_every_page_is_fetched_and_assembled_in_order(mock_client: RunRegistry, fake: FakeService) -> None:
    runs = mock_client.get_runs()
    assert [r.run_number for r in runs] == list(range(1099, 999, -1))
    assert all(isinstance(r, Run) for r in runs)
    assert runs.total == 100
    assert not runs.count_changed
    assert sorted(_pages_requested(fake)) == [(p, 10) for p in range(10)]


def test_limit_shrinks_page_size_and_page_count(mock_client: RunRegistry, fake: FakeService) -> None:
    runs = mock_client.get_runs(limit=25)
    assert [r.run_number for r in runs] == list(range(1099, 1074, -1))
    assert sorted(_pages_requested(fake)) == [(0, 10), (1, 10), (2, 10)]
    fake.requests.clear()
    assert len(mock_client.get_runs(limit=3)) == 3
    assert _pages_requested(fake) == [(0, 3)]


def test_limit_zero_and_empty_plan_send_no_request(mock_client: RunRegistry, fake: FakeService) -> None:
    assert mock_client.get_runs(limit=0) == []
    assert mock_client.get_runs(filter={"run_number": []}) == []
    assert fake.requests == []


def test_invalid_filter_raises_before_any_request(mock_client: RunRegistry, fake: FakeService) -> None:
    with pytest.raises(FilterError, match="hlt_key"):
        mock_client.get_runs(filter={"hlt_kye": "x"})
    with pytest.raises(ValueError, match="sorting"):
        mock_client.get_runs(sortings=[["run_number", "UP"]])
    assert fake.requests == []


def test_a_row_repeated_across_pages_is_never_returned_silently() -> None:
    # 4 rows counted but only 3 distinct: one row is missing, whichever page repeated it
    fake = FakeService(runs=[make_run(n) for n in (5, 4, 4, 3)])
    rr = RunRegistry(BASE_URL, transport=httpx.MockTransport(fake), page_size=2)
    with rr, pytest.raises(PartialResultError, match="not stable") as caught:
        rr.get_runs()
    assert [r.run_number for r in caught.value.rows] == [5, 4]
    assert caught.value.missing_pages == 1


def test_union_of_several_filters_is_deduplicated_and_resorted(mock_client: RunRegistry, fake: FakeService) -> None:
    # an "or" across a run attribute and a status flag compiles to two backend filters (quirk b)
    runs = mock_client.get_runs(filter={"or": [{"run_number": {"<": 1005}}, {"dt-dt": "GOOD"}]})
    plan_bodies = {json.dumps(json.loads(r.content)["filter"], sort_keys=True) for r in fake.requests}
    assert len(plan_bodies) == 2
    numbers = [r.run_number for r in runs]
    assert numbers == sorted(set(numbers), reverse=True)
    expected = {n for n in range(1000, 1100) if n < 1005 or n % 7 > 0}
    assert set(numbers) == expected
    ascending = mock_client.get_runs(
        filter={"or": [{"run_number": {"<": 1005}}, {"dt-dt": "GOOD"}]}, sortings=[["run_number", "ASC"]]
    )
    assert [r.run_number for r in ascending] == sorted(expected)


def test_union_with_limit_keeps_the_first_rows_of_the_union(mock_client: RunRegistry) -> None:
    runs = mock_client.get_runs(filter={"or": [{"run_number": {"<": 1005}}, {"dt-dt": "GOOD"}]}, limit=4)
    expected = sorted((n for n in range(1000, 1100) if n < 1005 or n % 7 > 0), reverse=True)[:4]
    assert [r.run_number for r in runs] == expected
    assert runs.total is None


def test_compress_attributes_gives_the_public_clients_shapes(mock_client: RunRegistry) -> None:
    compressed = mock_client.get_runs(limit=1, compress_attributes=True)[0]
    assert compressed["class"] == "Collisions18"
    assert "lumisections" in compressed
    assert "rr_attributes" not in compressed
    raw = mock_client.get_runs(limit=1, compress_attributes=False)[0]
    assert raw == make_run(1099)


def test_service_error_is_raised_with_its_message_and_not_retried(mock_client: RunRegistry, fake: FakeService) -> None:
    fake.fail("/runs_filtered_ordered", 0, httpx.Response(500, json={"err": 'column "x" does not exist'}))
    with pytest.raises(ServiceError, match='column "x" does not exist') as caught:
        mock_client.get_runs()
    assert caught.value.status == 500
    assert fake.routes["/runs_filtered_ordered"] == 1


def test_transient_failures_are_retried(mock_client: RunRegistry, fake: FakeService) -> None:
    fake.fail("/runs_filtered_ordered", 3, httpx.Response(503), httpx.Response(502))
    fake.fail("/runs_filtered_ordered", 5, lambda: (_ for _ in ()).throw(httpx.ReadTimeout("slow")))
    runs = mock_client.get_runs()
    assert [r.run_number for r in runs] == list(range(1099, 999, -1))
    assert fake.routes["/runs_filtered_ordered"] == 10 + 3


def test_a_page_that_keeps_failing_gives_a_resumable_error(fake: FakeService) -> None:
    transport = httpx.MockTransport(fake)
    with RunRegistry(BASE_URL, transport=transport, page_size=10, retries=1, backoff=0.001) as rr:
        fake.fail("/runs_filtered_ordered", 4, httpx.Response(503), httpx.Response(503))
        with pytest.raises(PartialResultError) as caught:
            rr.get_runs()
        error = caught.value
        assert isinstance(error.__cause__, TransportError)
        assert len(error.rows) == 90
        assert error.missing_pages == 1
        assert {r.run_number for r in error.rows}.isdisjoint(range(1050, 1060))
        fake.requests.clear()
        runs = rr.get_runs(resume_from=error.resume_from)
        assert [r.run_number for r in runs] == list(range(1099, 999, -1))
        assert _pages_requested(fake) == [(4, 10)]
        with pytest.raises(ValueError, match="another query"):
            rr.get_runs(filter={"run_number": 1000}, resume_from=error.resume_from)


def test_a_short_page_is_an_error_not_a_truncated_list(mock_client: RunRegistry, fake: FakeService) -> None:
    fake.fail(
        "/runs_filtered_ordered",
        2,
        httpx.Response(200, json={"runs": [make_run(1079)], "count": 100, "pages": 10}),
    )
    with pytest.raises(PartialResultError, match="page 2 has 1 rows, expected 10"):
        mock_client.get_runs()


def test_a_count_that_changes_mid_fetch_is_reported(mock_client: RunRegistry, fake: FakeService) -> None:
    fake.count_shift = 3
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runs = mock_client.get_runs()
    assert runs.count_changed
    assert runs.total is None
    assert any(issubclass(w.category, CountChangedWarning) for w in caught)
    assert "changed during the fetch" in runs.notes[-1]


def test_malformed_page_is_a_service_error(mock_client: RunRegistry, fake: FakeService) -> None:
    fake.fail("/runs_filtered_ordered", 0, httpx.Response(200, json={"rows": []}))
    with pytest.raises(ServiceError, match=r"does not match the schema.*runs: Field required"):
        mock_client.get_runs()
    fake.fail("/runs_filtered_ordered", 0, httpx.Response(200, json={"rows": []}))
    with pytest.raises(ServiceError, match=re.escape("expected {'runs': [...], 'count': N}")):
        mock_client.get_runs(compress_attributes=True)
    fake.fail("/runs_filtered_ordered", 0, httpx.Response(200, json={"err": "statement timeout"}))
    with pytest.raises(ServiceError, match="statement timeout"):
        mock_client.get_runs()


def test_row_of_the_wrong_shape_names_the_field(mock_client: RunRegistry, fake: FakeService) -> None:
    bad = make_run(1)
    bad["oms_attributes"]["start_time"] = "yesterday"
    fake.fail("/runs_filtered_ordered", 0, httpx.Response(200, json={"runs": [bad], "count": 1, "pages": 1}))
    runs = mock_client.get_runs()  # models are created on first access (lazy), and checked then
    with pytest.raises(ServiceError, match="start_time"):
        runs[0]
    with pytest.raises(ValueError, match="start_time"):
        runs.to_pandas()


def test_progress_reports_every_page(mock_client: RunRegistry) -> None:
    seen: list[tuple[int, int]] = []
    mock_client.get_runs(progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (10, 10)
    assert len(seen) == 10
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_get_run_returns_none_or_empty_dict(mock_client: RunRegistry) -> None:
    assert mock_client.get_run(1050).run_number == 1050
    assert mock_client.get_run(5) is None
    assert mock_client.get_run(5, compress_attributes=True) == {}
    with pytest.raises(TypeError):
        mock_client.get_run("1050")  # type: ignore[arg-type]
