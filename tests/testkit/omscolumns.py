"""Exact comparison of decoded OMS columns (tests/golden/test_oms_columns.py and benchmarks/omsdecode.py)."""

from __future__ import annotations

from client.omscolumns import OmsColumns

__all__ = ["exactly"]


def exactly(columns: OmsColumns) -> tuple[int, dict[str, list[tuple[type, str]]]]:
    """``columns`` with each value's type and repr: ``1 == True == 1.0`` and ``0.0 == -0.0`` stay apart.

    >>> from client.omscolumns import columns_of
    >>> exactly(columns_of([{"a": True}, {"a": 1.0}], ["a"]))
    (2, {'a': [(<class 'bool'>, 'True'), (<class 'float'>, '1.0')]})
    """
    return columns.count, {key: [(type(v), repr(v)) for v in column] for key, column in columns.columns.items()}
