"""Unit tests of the reference evaluator (the oracle of the semantic and backend differential tests)."""

from __future__ import annotations

from typing import Any

import pytest
from reference import evaluate, like, matching, stored_date

RUN: dict[str, Any] = {
    "run_number": 315000,
    "oms_attributes": {
        "fill_number": 6001,
        "hlt_key": "/cdaq/physics/v1",
        "injection_scheme": None,
        "start_time": "2018-05-01T10:00:00Z",
        "stable_beam": True,
    },
    "rr_attributes": {"class": "Collisions18", "state": "OPEN", "significant": False},
    "DatasetTripletCache": {"triplet_summary": {"dt-dt": {"GOOD": 5, "BAD": 0}, "hcal-hoO_ls": {"BAD": 2}}},
}
DATASET: dict[str, Any] = {
    "run_number": 315000,
    "name": "/PromptReco/Collisions2018A/DQM",
    "dataset_attributes": {"global_state": "OPEN"},
    "Run": {"oms_attributes": RUN["oms_attributes"], "rr_attributes": RUN["rr_attributes"]},
    "DatasetTripletCache": {"triplet_summary": {"dc-lowlumi": {"GOOD": 1}}},
}


@pytest.mark.parametrize(
    ("user_filter", "truth"),
    [
        ({"fill_number": 6001}, True),
        ({"fill_number": {"<>": 6001}}, False),
        ({"injection_scheme": "25ns"}, None),  # NULL: unknown
        ({"not": {"injection_scheme": "25ns"}}, None),  # ... and so is its negation
        ({"energy": {">": 1}}, None),  # missing key: unknown too
        ({"or": [{"energy": {">": 1}}, {"fill_number": 6001}]}, True),
        ({"and": [{"energy": {">": 1}}, {"fill_number": 1}]}, False),
        ({"and": [{"energy": {">": 1}}, {"fill_number": 6001}]}, None),
        ({"run_number": []}, False),
        ({"run_number": {"notin": []}}, True),
        ({"hlt_key": {"like": "%PHYSICS%"}}, True),
        ({"hlt_key": {"notlike": "/cdaq/_hysics%"}}, False),
        ({"start_time": {">=": "2018-05-01T12:00:00+02:00"}}, True),
        ({"start_time": {"<": "2018-05-01"}}, False),
        ({"dt-dt": "good"}, True),
        ({"dt-dt": "BAD"}, False),  # present but zero
        ({"csc-csc": {"not": "BAD"}}, True),  # absent flag: count 0, never unknown
        ({"dt-dt": {"in": ["BAD", "STANDBY"]}}, False),
        ({"triplet_summary.csc-csc.GOOD": {"<": 1}}, True),
        ({"rr_attributes.class": "Collisions18", "oms_attributes.stable_beam": True}, True),
    ],
)
def test_three_valued_truth_of_run_filters(user_filter: dict[str, Any], truth: bool | None) -> None:
    assert evaluate(user_filter, RUN) is truth


def test_dataset_filters_read_dataset_and_run_attributes() -> None:
    assert (
        evaluate(
            {"dataset_name": {"like": "%Prompt%"}, "global_state": "OPEN", "class": "Collisions18"},
            DATASET,
            kind="datasets",
        )
        is True
    )
    assert evaluate({"hcal-ho0_ls": "BAD"}, DATASET, kind="datasets") is False
    assert evaluate({"dc-lowlumi": "GOOD", "name": DATASET["name"]}, DATASET, kind="datasets") is True


def test_matching_keeps_only_true() -> None:
    other = {**RUN, "oms_attributes": {**RUN["oms_attributes"], "injection_scheme": "25ns_2556b"}}
    assert matching({"injection_scheme": {"like": "25ns%"}}, [RUN, other]) == [other]


@pytest.mark.parametrize(
    ("text", "pattern", "result"),
    [("abc", "a%", True), ("abc", "A_C", True), ("abc", "a_", False), ("a.c", "a.c", True), ("abc", "a.c", False)],
)
def test_like_is_ilike(text: str, pattern: str, result: bool) -> None:
    assert like(text, pattern) is result


def test_stored_date() -> None:
    assert stored_date("2018-05-01T01:00:00+02:00") == "2018-04-30T23:00:00Z"
