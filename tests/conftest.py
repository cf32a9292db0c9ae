"""Session-wide setup: the Hypothesis profile (``HYPOTHESIS_PROFILE``: ``fast`` or ``thorough``)."""

from __future__ import annotations

import pytest
from testkit.profiles import load_profile


def pytest_configure(config: pytest.Config) -> None:
    load_profile()


def pytest_report_header(config: pytest.Config) -> str:
    from hypothesis import settings

    return f"hypothesis profile: {settings.get_current_profile_name()}"
