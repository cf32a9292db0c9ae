"""Typed keywords: settings, listing options and write options; an unknown one is a clear, typed error."""

from __future__ import annotations

import pytest

import client as runregistry
from backend.server import EmbeddedServer
from client import AsyncRunRegistry, ConfigError, RunRegistry, UnknownOptionError


def test_an_unknown_setting_names_the_closest_and_the_allowed_ones() -> None:
    with pytest.raises(UnknownOptionError, match=r"RunRegistry\(\) got an unknown option 'retrys'") as caught:
        RunRegistry("local", env_file=False, retrys=2)  # type: ignore[call-arg]
    message = str(caught.value)
    assert "did you mean 'retries'?" in message
    assert "page_size" in message
    assert "transport" in message
    assert "embedded_options" in message
    assert isinstance(caught.value, ConfigError)
    assert isinstance(caught.value, TypeError)


def test_the_async_client_and_setup_check_their_settings_too() -> None:
    with pytest.raises(UnknownOptionError, match=r"AsyncRunRegistry\(\).*did you mean 'concurrency'"):
        AsyncRunRegistry("local", env_file=False, concurency=2)  # type: ignore[call-arg]
    with pytest.raises(UnknownOptionError, match=r"setup\(\).*did you mean 'page_size'"):
        runregistry.setup("local", page_sise=10)  # type: ignore[call-arg]


def test_settings_given_as_keywords_are_used() -> None:
    with RunRegistry("local", env_file=False, retries=0, page_size=7, read_timeout=3.5) as rr:
        assert (rr.settings.retries, rr.settings.page_size, rr.settings.read_timeout) == (0, 7, 3.5)


def test_an_unknown_listing_option_is_refused_before_any_request(mock_client: RunRegistry) -> None:
    with pytest.raises(UnknownOptionError, match=r"get_runs\(\) got an unknown option 'filtr'; did you mean 'filter'"):
        mock_client.get_runs(filtr={"run_number": 1050})  # type: ignore[call-overload]
    with pytest.raises(UnknownOptionError, match="sortings"):
        mock_client.get_datasets(sorting=[["run_number", "ASC"]])  # type: ignore[call-overload]


def test_an_unknown_write_option_is_a_type_error(mock_client: RunRegistry) -> None:
    with pytest.raises(TypeError, match="dry_rn"):
        mock_client.change_run_class([1050], "Cosmics18", dry_rn=True)  # type: ignore[call-arg]


def _open_runs(rr: RunRegistry, count: int) -> list[int]:
    numbers = [r.run_number for r in rr.get_runs(filter={"state": "OPEN"}, limit=count)]
    assert len(numbers) == count
    return numbers


def test_a_write_reports_its_progress_run_by_run(small_server: EmbeddedServer) -> None:
    seen: list[tuple[int, int]] = []
    with RunRegistry(small_server.url, env_file=False) as rr:
        runs = _open_runs(rr, 3)
        report = rr.change_run_class(runs, "Commissioning18", progress=lambda done, total: seen.append((done, total)))
    assert report.done == runs
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_a_write_stopped_by_a_failure_still_completes_its_progress(small_server: EmbeddedServer) -> None:
    seen: list[tuple[int, int]] = []
    with RunRegistry(small_server.url, env_file=False) as rr:
        first, last = _open_runs(rr, 2)
        closed = rr.get_runs(filter={"state": {"or": ["SIGNOFF", "COMPLETED"]}}, limit=1)[0].run_number
        report = rr.change_run_class(
            [first, closed, last], "Special18", raise_on_error=False, progress=lambda d, t: seen.append((d, t))
        )
    assert (report.done, report.failed, report.skipped) == ([first], [closed], [last])
    assert seen == [(1, 3), (3, 3)]


def test_progress_true_shows_a_bar_of_the_runs(
    small_server: EmbeddedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    with RunRegistry(small_server.url, env_file=False) as rr:
        runs = _open_runs(rr, 2)
        rr.manually_refresh_components_statuses_for_runs(runs, progress=True)
    err = capsys.readouterr().err
    assert "refresh component statuses" in err
    assert "2/2" in err


@pytest.mark.anyio
async def test_async_writes_take_the_same_options(small_server: EmbeddedServer) -> None:
    seen: list[tuple[int, int]] = []
    async with AsyncRunRegistry(small_server.url, env_file=False) as arr:
        runs = [r.run_number for r in await arr.get_runs(filter={"state": "OPEN"}, limit=2)]
        report = await arr.change_run_class(runs, "Cosmics18", dry_run=True, progress=lambda d, t: seen.append((d, t)))
    assert report.planned == runs
    assert seen == []  # a dry run sends no write
