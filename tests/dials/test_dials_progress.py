"""DIALS listings report their pages: a ``tqdm.auto`` bar with ``progress=True`` (sync and async), a callable gets
``(pages_done, pages_known)``, and ``runql dials`` draws the bar on a terminal only."""

from __future__ import annotations

import io
import json
import sys

import anyio
import pytest

from client.cli import main
from client.dials import AsyncDials, Dials, SecretKey

FILTER = {"or": [{"ls_number": 1}, {"ls_number": 2}], "me": {"like": "%PXLayer_1"}}


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _pages(dials_url: str) -> list[tuple[int, int]]:
    seen: list[tuple[int, int]] = []
    with Dials(SecretKey("any"), target=dials_url, page_size=3) as dials:
        rows = dials.h1d(FILTER, progress=lambda done, known: seen.append((done, known)))
    assert len(rows) > 6  # several pages per branch
    return seen


def test_a_callable_sees_every_page_and_the_pages_known_so_far(dials_url: str) -> None:
    seen = _pages(dials_url)
    assert [done for done, _ in seen] == list(range(1, len(seen) + 1))
    assert all(done <= known for done, known in seen)
    assert seen[-1][0] == seen[-1][1]  # the last page ends the bar
    assert [known for _, known in seen] == sorted(known for _, known in seen)


def test_progress_true_draws_a_tqdm_bar(dials_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    pages = len(_pages(dials_url))
    with Dials(SecretKey("any"), target=dials_url, page_size=3) as dials:
        dials.h1d(FILTER, progress=True)
        assert "DIALS th1 pages: 100%" in capsys.readouterr().err
        dials.h1d(FILTER)
        assert capsys.readouterr().err == ""  # off by default in the API

    async def listed() -> None:
        async with AsyncDials(SecretKey("any"), target=dials_url, page_size=3) as dials:
            await dials.list("th1", FILTER, progress=True)

    anyio.run(listed)
    assert f"{pages}/{pages}" in capsys.readouterr().err


def test_runql_dials_shows_the_bar_on_a_terminal_only(
    dials_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DIALS_SECRET_KEY", "any")
    argv = ["dials", "th1", "--filter", json.dumps(FILTER), "--format", "json", "--target", dials_url]
    assert main(argv) == 0
    assert "pages" not in capsys.readouterr().err
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(argv) == 0
    assert "DIALS th1 pages: 100%" in terminal.getvalue()
