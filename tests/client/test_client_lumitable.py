"""Lumisection tables built from ranges equal a per-lumisection brute force, and round-trip through Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from testkit.lumitable import brute_force_rows

from client import RunRegistry
from querylang import FilterError
from querylang.catalogue import OMS_LUMISECTION_BITS
from querylang.similar import compile_similar

PATTERN = "/PromptReco/Collisions2018%/DQM|online"
COLUMNS = ["dt-dt", "csc-csc", "hlt-hlt", "bpix_ready", "beam1_present", "cms_active", "recorded", "delivered"]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    plain = frame.astype(object).where(frame.notna(), None)
    return [{k: (float(v) if isinstance(v, float) else v) for k, v in row.items()} for row in plain.to_dict("records")]


@pytest.fixture(scope="module")
def window(rr: RunRegistry) -> dict[str, Any]:
    """The first 60 runs (a table of the whole registry takes long to check)."""
    runs = rr.get_runs(limit=60, sortings=[["run_number", "ASC"]])
    return {"run_number": {"<=": runs[-1].run_number}}


@pytest.fixture(scope="module")
def table(rr: RunRegistry, window: dict[str, Any]) -> pd.DataFrame:
    return rr.lumisection_table(filter=window, dataset=PATTERN, columns=COLUMNS)


def test_table_equals_the_per_lumisection_brute_force_on_a_sample(rr: RunRegistry, table: pd.DataFrame) -> None:
    keys = table[["run", "dataset"]].drop_duplicates().astype({"dataset": str}).itertuples(index=False)
    sample = list(keys)[::7]
    assert {name for _, name in sample} >= {"online"}
    assert any(name != "online" for _, name in sample)
    for run, name in sample:
        part = table[(table["run"] == run) & (table["dataset"] == name)]
        assert _records(part.astype({"dataset": str})) == brute_force_rows(rr, run, name, COLUMNS), (run, name)


def test_table_dtypes_and_shape(table: pd.DataFrame) -> None:
    assert list(table.columns) == ["run", "dataset", "lumisection", *COLUMNS]
    assert str(table["dataset"].dtype) == "category"
    assert list(table["dt-dt"].cat.categories) == [
        "GOOD",
        "BAD",
        "STANDBY",
        "EXCLUDED",
        "NOTSET",
        "NO VALUE FOUND",
        "EMPTY",
    ]
    assert str(table["bpix_ready"].dtype) == "boolean"
    assert str(table["recorded"].dtype) == "Float64"
    assert not table.duplicated(["run", "dataset", "lumisection"]).any()
    assert table["dt-dt"].notna().any()


def test_parquet_round_trip_is_partitioned_by_dataset(
    rr: RunRegistry, window: dict[str, Any], table: pd.DataFrame, tmp_path: Path
) -> None:
    target = tmp_path / "lumis"
    written = rr.lumisection_table_to_parquet(target, filter=window, dataset=PATTERN, columns=COLUMNS)
    assert written == len(table)
    assert (target / "dataset=online").is_dir()
    assert any(p.name.startswith("dataset=%2FPromptReco%2F") for p in target.iterdir())
    back = pd.read_parquet(target)  # hive partitioning: the dataset column comes back from the folder names
    order = ["run", "dataset", "lumisection"]
    back = back.astype({"dataset": str}).sort_values(order, ignore_index=True)[list(table.columns)]
    expected = table.astype({"dataset": str}).sort_values(order, ignore_index=True)
    pd.testing.assert_frame_equal(back, expected, check_categorical=False)
    assert str(back["bpix_ready"].dtype) == "boolean"


def test_default_columns_are_the_components_and_every_bit(rr: RunRegistry) -> None:
    table = rr.lumisection_table(filter={"run_number": {"<": 0}}, dataset="online")  # no dataset: an empty table
    assert table.empty
    assert list(table.columns)[:3] == ["run", "dataset", "lumisection"]
    first = rr.get_runs(limit=1, filter={"significant": True})[0].run_number
    small = rr.lumisection_table(filter={"run_number": first})
    assert set(OMS_LUMISECTION_BITS) <= set(small.columns)
    assert any("-" in c for c in small.columns)


def test_bad_columns_and_patterns_fail_before_any_request(rr: RunRegistry) -> None:
    with pytest.raises(FilterError, match="did you mean 'dt-dt'"):
        rr.lumisection_table(columns=["dt-dtt"])
    with pytest.raises(FilterError, match="SIMILAR TO"):
        rr.lumisection_table(dataset="/A(B")
    with pytest.raises(TypeError, match="list of column names"):
        rr.lumisection_table(columns="dt-dt")  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_async_table_equals_sync(service: Any, window: dict[str, Any], table: pd.DataFrame) -> None:
    async with service.async_client(page_size=40) as arr:
        frame = await arr.lumisection_table(filter=window, dataset=PATTERN, columns=COLUMNS)
    pd.testing.assert_frame_equal(frame, table)


def test_progress_counts_the_listing_pages_then_every_range_request(
    rr: RunRegistry, window: dict[str, Any], table: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[tuple[int, int]] = []
    again = rr.lumisection_table(filter=window, dataset=PATTERN, columns=COLUMNS, progress=lambda *p: seen.append(p))
    pd.testing.assert_frame_equal(again, table)
    listed = rr.get_datasets(filter=window)  # the pattern has no LIKE prefix: every dataset of the window
    pages = -(-len(listed) // rr.settings.page_size)  # 40 rows a page in the session client
    datasets = [d for d in listed if compile_similar(PATTERN).matches(d.name)]
    runs = len({d.run_number for d in datasets})
    assert pages > 1
    assert [done for done, _ in seen] == list(range(1, len(seen) + 1))
    assert seen[-1] == (len(seen), len(seen))
    assert len(seen) == pages + len(datasets) + 2 * runs  # RR ranges per dataset; OMS ranges, luminosity per run
    rr.lumisection_table(filter=window, dataset=PATTERN, columns=COLUMNS, progress=True)
    assert f"lumisection ranges: 100%|██████████| {len(seen)}/{len(seen)}" in capsys.readouterr().err
