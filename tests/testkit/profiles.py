"""Hypothesis settings profiles: one example budget for the whole suite, chosen by ``HYPOTHESIS_PROFILE``.

``fast`` (the default) keeps ``make test`` quick; ``thorough`` is for nightly runs. A test whose examples are
much dearer or cheaper than usual takes a share of the budget with :func:`scaled` instead of a fixed count, so
the profile still governs it:

    @scaled(0.2)      # each example runs both golden-JSON engines against a server
    @given(rules)
    def test_...
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from hypothesis import HealthCheck, settings

__all__ = ["ENVIRONMENT_VARIABLE", "PROFILES", "load_profile", "scaled"]

ENVIRONMENT_VARIABLE = "HYPOTHESIS_PROFILE"
#: Examples per test in each profile; ``fast`` is the default.
PROFILES: Mapping[str, int] = {"fast": 50, "thorough": 1000}


def load_profile(environ: Mapping[str, str] = os.environ) -> str:
    """Register every profile and load the one ``environ`` names (``fast`` when unset); returns its name."""
    for name, examples in PROFILES.items():
        settings.register_profile(
            name, max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow]
        )
    name = environ.get(ENVIRONMENT_VARIABLE, "fast")
    if name not in PROFILES:
        raise ValueError(f"{ENVIRONMENT_VARIABLE}={name!r}: expected one of {', '.join(PROFILES)}")
    settings.load_profile(name)
    return name


def scaled(share: float, *, suppress: Iterable[HealthCheck] = ()) -> settings:
    """The loaded profile with ``share`` of its examples (at least one), and health checks ``suppress`` off too."""
    current = settings.default
    return settings(
        max_examples=max(1, round(current.max_examples * share)),
        suppress_health_check=[*current.suppress_health_check, *suppress],
    )
