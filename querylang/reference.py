"""The reference good-run-list rule of ``rr-protocol.md`` §8, shipped as package data.

The rule lives once, in ``querylang/reference_rule.json`` (``examples/golden_rule.json`` is a link to it), and is
read through :mod:`importlib.resources`, so it is there in an installed wheel as in a clone.

>>> rule = reference_rule()
>>> sorted(rule), len(rule["and"])
(['and'], 11)
>>> rule["and"][0]
{'>=': [{'var': 'run.oms.energy'}, 6000]}
>>> reference_rule() is rule                       # a fresh copy each time: edit it freely
False
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

__all__ = ["REFERENCE_RULE_FILE", "reference_rule"]

#: The file name of the reference rule inside the ``querylang`` package.
REFERENCE_RULE_FILE = "reference_rule.json"


def reference_rule() -> dict[str, Any]:
    """The reference rule as a new dict (json-logic), read from the package's data."""
    text = resources.files("querylang").joinpath(REFERENCE_RULE_FILE).read_text(encoding="utf-8")
    rule: dict[str, Any] = json.loads(text)
    return rule
