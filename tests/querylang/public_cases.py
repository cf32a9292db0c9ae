"""The public client's transform (imported offline) and the filters where its output is right."""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

RANGE = {"and": [{">": 315000}, {"<": 315300}]}
#: (kind, filter) pairs where runregistry 3.1.2's transform produces a correct backend filter.
AGREED: list[tuple[str, dict[str, Any]]] = [
    ("runs", {"run_number": RANGE, "dt-dt": "GOOD"}),
    ("runs", {"run_number": RANGE, "tracker-strip": "GOOD"}),
    ("runs", {"run_number": RANGE, "hlt_key": {"like": "%commissioning2018%"}, "significant": {"=": True}}),
    (
        "runs",
        {"run_number": RANGE, "oms_attributes.hlt_key": {"like": "%cosmic%"}, "triplet_summary.dt-dt.GOOD": {">": 0}},
    ),
    ("runs", {"run_number": {"or": [315000, 315006, 315012]}}),
    ("runs", {"class": {"or": ["Cosmics18", "Collisions18"]}}),
    ("runs", {"hlt_key": {"like": "%physics%", "notlike": "%WMass%"}}),
    ("runs", {"significant": True, "state": "SIGNOFF"}),
    ("runs", {"fill_number": {">=": 6000}, "b_field": {">": 3.75}}),
    ("runs", {"start_time": {">": "2018-05-01T00:00:00Z"}}),
    ("runs", {"dt-dt": "bad", "tracker-strip": {"=": "Good"}}),
    ("runs", {"stable_beam": {"<>": True}}),
    ("runs", {"run_number": 315000}),
    ("datasets", {"run_number": RANGE}),
    ("datasets", {"tracker-strip": "GOOD", "run_number": RANGE}),
    ("datasets", {"dataset_name": "/PromptReco/Collisions2018A/DQM"}),
    ("datasets", {"global_state": "OPEN", "class": "Collisions18"}),
]


@contextlib.contextmanager
def public_utils(empty_dir: Path) -> Iterator[Any]:
    """``runregistry.utils`` imported with ENVIRONMENT=production from a directory without ``.env``.

    The package loads ``.env`` and calls ``setup()`` at import (no network); the environment and the working
    directory are restored afterwards so nothing it loaded leaks into other tests.
    """
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    os.chdir(empty_dir)
    os.environ["ENVIRONMENT"] = "production"
    try:
        yield importlib.import_module("runregistry.utils")
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def transform(public: Any, kind: str) -> Callable[[Any], Any]:
    name = "transform_to_rr_dataset_filter" if kind == "datasets" else "transform_to_rr_run_filter"
    return getattr(public, name)  # type: ignore[no-any-return]
