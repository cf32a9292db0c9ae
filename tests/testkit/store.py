"""Test-only access to a :class:`backend.store.Store`: a digest of every row, and raw SQL.

Production code asks the store questions and changes it through its transactions; tests sometimes need to look
at or damage the tables directly (a test-only shortcut), which only these helpers do.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from backend.store import Store

__all__ = ["checksum", "raw_query", "raw_writing"]


def checksum(store: Store) -> str:
    """A digest of every row of every table: equal digests mean an unchanged store."""
    digest = hashlib.sha256()
    with store._reading() as conn:
        for table in store.counts():
            for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3"):
                digest.update(repr(row).encode())
    return digest.hexdigest()


def raw_query(store: Store, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Run one read statement on a connection of ``store`` and fetch every row."""
    with store._reading() as conn:
        return conn.execute(sql, params).fetchall()


@contextmanager
def raw_writing(store: Store) -> Iterator[sqlite3.Connection]:
    """A connection of ``store`` inside one write transaction (committed at the end, rolled back on an error)."""
    with store._writing() as conn:
        yield conn
