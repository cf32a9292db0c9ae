"""Client settings for tests: a token-less target, nothing read from the environment or a ``.env`` file."""

from __future__ import annotations

from typing import Any

from client.config import Settings, resolve_settings

__all__ = ["settings_for_tests"]


def settings_for_tests(base_url: str = "http://rr.test", **options: Any) -> Settings:
    """Settings of a token-less target at ``base_url`` (for ``MockTransport`` tests); ``options`` as for
    :func:`client.config.resolve_settings` (``retries=``, ``backoff=``, ...)."""
    return resolve_settings(base_url, environ={}, env_file=False, **options)
