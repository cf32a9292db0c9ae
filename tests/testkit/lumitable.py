"""The per-lumisection brute force that lumisection tables are checked against (tests and benchmarks/lumitable.py)."""

from __future__ import annotations

from typing import Any

from client import RunRegistry
from client.lumitable import LUMINOSITY_COLUMNS
from querylang.catalogue import OMS_LUMISECTION_BITS

__all__ = ["brute_force_rows"]


def brute_force_rows(rr: RunRegistry, run: int, dataset: str, columns: list[str]) -> list[dict[str, Any]]:
    """One dataset's table as rows ``{"run", "dataset", "lumisection", *columns}``, from the per-lumisection
    endpoints (``get_lumisections`` and ``get_oms_lumisections``), one request each."""
    statuses = rr.get_lumisections(run, dataset, output="dicts")
    oms = rr.get_oms_lumisections(run, "online", output="dicts")
    rows = []
    for index in range(max(len(statuses), len(oms))):
        row: dict[str, Any] = {"run": run, "dataset": dataset, "lumisection": index + 1}
        for column in columns:
            if column in OMS_LUMISECTION_BITS or column in LUMINOSITY_COLUMNS:
                row[column] = oms[index].get(column) if index < len(oms) else None
            else:
                entry = statuses[index].get(column) if index < len(statuses) else None
                row[column] = None if entry is None else entry["status"]
        rows.append(row)
    return rows
