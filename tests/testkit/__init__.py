"""Helpers shared by the test packages: Hypothesis strategies, in-process services, clocks and shared servers.

On ``sys.path`` through ``pythonpath`` in ``pyproject.toml`` (``import testkit``); nothing here runs at import.
"""
