"""The record models: consistent with the catalogue, aware datetimes, unknown fields kept, wire round trips."""

from __future__ import annotations

from datetime import timezone

import pytest
from pydantic import ValidationError

from querylang.catalogue import OMS_LUMISECTION_BITS, OMS_LUMISECTION_VALUES, Owner, default_catalogue
from schemas import (
    Dataset,
    DatasetAttributes,
    JsonPortalRow,
    OmsAttributes,
    OmsLumisection,
    RrAttributes,
    RRLumisectionRange,
    Run,
)


def _fields(model: type) -> set[str]:
    return {info.alias or name for name, info in model.model_fields.items()}  # type: ignore[attr-defined]


def test_run_models_type_every_catalogue_attribute() -> None:
    attributes = default_catalogue().attributes()
    oms = {a.path.removeprefix("oms_attributes.") for a in attributes if a.owner is Owner.OMS_RUN}
    rr = {a.path.removeprefix("rr_attributes.") for a in attributes if a.owner is Owner.RR_RUN}
    datasets = {a.path.removeprefix("dataset_attributes.") for a in attributes if a.owner is Owner.DATASET_ATTRIBUTE}
    assert _fields(OmsAttributes) - {"run_number"} == oms
    assert _fields(RrAttributes) == rr
    assert _fields(DatasetAttributes) == datasets


def test_oms_lumisection_fields_are_the_catalogues_bits_and_values() -> None:
    assert _fields(OmsLumisection) == set(OMS_LUMISECTION_BITS) | set(OMS_LUMISECTION_VALUES)


@pytest.mark.parametrize("text", ["2018-06-01T12:00:00Z", "2018-06-01T14:00:00+02:00", "2018-06-01T12:00:00"])
def test_dates_are_aware_utc(text: str) -> None:
    start = OmsAttributes(start_time=text).start_time  # type: ignore[arg-type]
    assert start is not None
    assert start.tzinfo is timezone.utc
    assert (start.hour, start.minute) == (12, 0)


def test_unknown_fields_are_kept_and_round_trip() -> None:
    wire = {
        "run_number": 315000,
        "version": 2,
        "oms_attributes": {"energy": 6500, "brand_new": [1, 2]},
        "rr_attributes": {"class": "Collisions18"},
        "DatasetTripletCache": {"triplet_summary": {"dt-dt": {"GOOD": 3, "comments": ["x"], "causes": []}}},
        "some_future_column": True,
    }
    run = Run.model_validate(wire)
    assert run.model_extra == {"some_future_column": True}
    assert run.oms_attributes.model_extra == {"brand_new": [1, 2]}
    assert run.triplet_summary["dt-dt"].comments == ("x",)
    assert run.status_count("dt-dt", "good") == 3
    assert run.status_count("csc-csc", "GOOD") == 0
    wire_again = run.to_wire()
    assert wire_again["oms_attributes"] == {"energy": 6500.0, "brand_new": [1, 2]}
    assert wire_again["rr_attributes"] == {"class": "Collisions18"}
    assert wire_again["DatasetTripletCache"] == wire["DatasetTripletCache"]


def test_bad_values_are_rejected_with_the_field_named() -> None:
    with pytest.raises(ValidationError, match="fill_number"):
        Run.model_validate({"run_number": 1, "oms_attributes": {"fill_number": "seven"}})
    with pytest.raises(ValidationError, match="run_number"):
        Run.model_validate({"oms_attributes": {}})
    with pytest.raises(ValidationError, match="frozen"):
        Run.model_validate({"run_number": 1}).run_number = 2  # type: ignore[misc]


def test_datasets_keep_the_runs_attributes() -> None:
    dataset = Dataset.model_validate(
        {"run_number": 1, "name": "online", "Run": {"oms_attributes": {"b_field": 3.8}, "rr_attributes": {}}}
    )
    assert dataset.run.oms_attributes.b_field == 3.8
    assert dataset.key == (1, "online")


def test_ranges_and_portal_rows() -> None:
    wire = {"start": 3, "end": 9, "dt-dt": {"status": "BAD", "comment": "hv", "cause": "x"}}
    r = RRLumisectionRange.model_validate(wire)
    assert (len(r), r.status("dt-dt")) == (7, "BAD")
    assert r.to_wire() == wire
    row = JsonPortalRow.model_validate({"generated_json": {"2": [[5, 6]], "1": [[1, 1]]}, "lumi_in": 3.5})
    assert row.generated_json == {2: [(5, 6)], 1: [(1, 1)]}
    assert row.lumisection_count == 3
    assert row.model_extra == {"lumi_in": 3.5}


def test_json_portal_figures_keep_the_services_number_types() -> None:
    """The service's plain sums stay integers while every value is one; a float stays a float (no ``.0`` added
    when the row is written back)."""
    wire = {
        "total_recorded_luminosity": 553623531,
        "recorded_luminosity_in_json": 1.5,
        "total_recorded_luminosity_lost": 0,
        "rules_flagged_false_quantity_luminosity": {'{"==":[1,1]}': 3, '{"==":[2,2]}': 0.25},
    }
    row = JsonPortalRow.model_validate(wire)
    assert type(row.total_recorded_luminosity) is int
    assert type(row.total_recorded_luminosity_lost) is int
    assert type(row.recorded_luminosity_in_json) is float
    assert {k: type(v) for k, v in row.rules_flagged_false_quantity_luminosity.items()} == {
        '{"==":[1,1]}': int,
        '{"==":[2,2]}': float,
    }
    assert row.model_dump(include=set(wire)) == wire
