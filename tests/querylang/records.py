"""Small deterministic synthetic runs and datasets in the service's raw shape, for offline semantic tests.

They are built to exercise edge cases: NULL and missing attributes, absent status counts, zero counts,
offline-only flags on datasets, and dates around the boundaries the golden filters use.
"""

from __future__ import annotations

import functools
import random
from typing import Any

_FLAGS = ("dt-dt", "csc-csc", "tracker-strip", "tracker-pixel", "hcal-hcal", "dt-newcolumn")
_OFFLINE_FLAGS = ("dc-lowlumi", "hcal-hoO_ls")
_STATUSES = ("GOOD", "BAD", "STANDBY", "EXCLUDED", "NOTSET", "NO VALUE FOUND", "EMPTY")
_CLASSES = ("Collisions18", "Cosmics18", "Commissioning18", None)
_HLT_KEYS = (
    "/cdaq/physics/Run2018/2e34/v3.6.1/HLT/V2",
    "/cdaq/cosmic/commissioning2018/v3.1.0/HLT/V8",
    "/cdaq/special/2018/WMass/HLT/V1",
    None,
)


def _summary(rng: random.Random, flags: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    summary: dict[str, dict[str, Any]] = {}
    for flag in flags:
        if rng.random() < 0.25:
            continue  # the flag is absent: every count is 0
        counts: dict[str, Any] = {"comments": [], "causes": []}
        for status in rng.sample(_STATUSES, rng.randint(0, 3)):
            counts[status] = rng.choice((0, 1, 5, 12))  # 0: present but zero
        summary[flag] = counts
    return summary


def _maybe(rng: random.Random, value: Any, missing: float = 0.15) -> Any:
    return None if rng.random() < missing else value


def _run(rng: random.Random, index: int) -> dict[str, Any]:
    month, day = 4 + index % 4, 1 + index % 28
    oms: dict[str, Any] = {
        "fill_number": _maybe(rng, 5998 + index % 9),
        "energy": _maybe(rng, rng.choice((6500, 450))),
        "b_field": _maybe(rng, rng.choice((3.8, 0.02, 3.7))),
        "hlt_key": rng.choice(_HLT_KEYS),
        "start_time": _maybe(rng, f"2018-{month:02d}-{day:02d}T{index % 24:02d}:00:00Z"),
        "end_time": _maybe(rng, f"2018-{month:02d}-{day:02d}T{index % 24:02d}:30:00Z"),
        "stable_beam": _maybe(rng, rng.random() < 0.5),
        "components": rng.choice((["DAQ", "DT", "CSC"], ["DAQ", "TRACKER"], None)),
    }
    if rng.random() < 0.1:
        del oms["fill_number"]  # missing key, not just NULL
    rr = {
        "class": rng.choice(_CLASSES),
        "state": rng.choice(("OPEN", "SIGNOFF", "COMPLETED")),
        "significant": _maybe(rng, rng.random() < 0.6),
        "stop_reason": None,
    }
    return {
        "run_number": 315000 + 7 * index - (index % 3),
        "oms_attributes": oms,
        "rr_attributes": rr,
        "version": 1,
        "deleted": False,
        "DatasetTripletCache": {"triplet_summary": _summary(rng, _FLAGS)},
    }


def _dataset(rng: random.Random, run: dict[str, Any], name: str) -> dict[str, Any]:
    states = ("OPEN", "SIGNOFF", "COMPLETED", "waiting dqm gui")
    return {
        "run_number": run["run_number"],
        "name": name,
        "dataset_attributes": {
            "global_state": rng.choice(states),
            "dt_state": _maybe(rng, rng.choice(states)),
            "appeared_in": rng.choice(("DQM GUI", "RR", "")),
        },
        "Run": {"oms_attributes": run["oms_attributes"], "rr_attributes": run["rr_attributes"]},
        "DatasetTripletCache": {"triplet_summary": _summary(rng, _FLAGS + _OFFLINE_FLAGS)},
        "deleted": False,
        "version": 1,
    }


@functools.cache
def _build() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(2018)
    runs = [_run(rng, index) for index in range(80)]
    names = ("online", "/PromptReco/Collisions2018A/DQM", "/PromptReco/Cosmics2018A/DQM")
    datasets = [_dataset(rng, run, name) for run in runs for name in rng.sample(names, rng.randint(1, 3))]
    return runs, datasets


def runs() -> list[dict[str, Any]]:
    return _build()[0]


def datasets() -> list[dict[str, Any]]:
    return _build()[1]
