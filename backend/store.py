"""SQLite storage of the embedded Run Registry (standard library ``sqlite3``): every SQL statement of the backend.

Tables: ``run`` (OMS and RR attributes as JSON text, plus the run's ``dcs_summary``), ``dataset`` (one row per
run and dataset name, with its ``triplet_summary``), ``ls_status`` (per-component lumisection status *ranges*),
``oms_range`` (OMS lumisection bits as ranges of constant bit masks), ``lumi`` (per-lumisection recorded and
delivered luminosity packed as little-endian int64 arrays of inverse microbarns) and ``meta``.

The store owns its connections: callers ask it questions (its read methods, rows rendered as JSON text by SQLite's
``json_object`` where the service answers JSON) and change it through a :class:`Transaction`; nobody else runs
SQL (backend filters are compiled by :mod:`backend.sqlfilter`). It is in memory by default (a private shared-cache
database) or a file (``path``) that persists across restarts. Every thread borrows its own connection from a
small pool; reads run concurrently and writes are exclusive (a writer-preferring read/write lock), each write in
one transaction.

>>> from backend.demo import generate
>>> with Store.open() as store:
...     store.load(generate(runs=5, seed=1))
...     store.counts()["run"], store.dataset_names(store.registry_runs()[0][0])
(5, ['online'])
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from backend.errors import StoreError
from backend.lumiranges import StatusRange, summarize
from backend.rows import DemoRegistry, DemoRun, OmsRange, RunRows, dumps, status_rows, unpack_lumi
from backend.sqlfilter import Sql, compile_order, compile_where, register_functions
from querylang.catalogue import OMS_LUMISECTION_BITS
from querylang.plan import Kind

__all__ = ["DatasetLumis", "OmsLumis", "Store", "Transaction", "stored_registry"]

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS run (
    run_number INTEGER PRIMARY KEY,
    lumisections INTEGER NOT NULL,
    oms_attributes TEXT NOT NULL,
    rr_attributes TEXT NOT NULL,
    dcs_summary TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS dataset (
    dataset_id INTEGER PRIMARY KEY,
    run_number INTEGER NOT NULL REFERENCES run (run_number),
    name TEXT NOT NULL,
    dataset_attributes TEXT NOT NULL,
    datasets_in_gui TEXT NOT NULL DEFAULT '[]',
    triplet_summary TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    deleted INTEGER NOT NULL DEFAULT 0,
    UNIQUE (run_number, name)
);
CREATE INDEX IF NOT EXISTS dataset_by_name ON dataset (name, run_number);
CREATE TABLE IF NOT EXISTS ls_status (
    dataset_id INTEGER NOT NULL REFERENCES dataset (dataset_id),
    component TEXT NOT NULL,
    first_ls INTEGER NOT NULL,
    last_ls INTEGER NOT NULL,
    status TEXT NOT NULL,
    comment TEXT NOT NULL,
    cause TEXT NOT NULL,
    PRIMARY KEY (dataset_id, component, first_ls)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS oms_range (
    run_number INTEGER NOT NULL REFERENCES run (run_number),
    first_ls INTEGER NOT NULL,
    last_ls INTEGER NOT NULL,
    true_bits INTEGER NOT NULL,
    null_bits INTEGER NOT NULL,
    prescale_index INTEGER,
    prescale_name TEXT,
    PRIMARY KEY (run_number, first_ls)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS lumi (
    run_number INTEGER PRIMARY KEY REFERENCES run (run_number),
    recorded BLOB NOT NULL,
    delivered BLOB NOT NULL
);
"""
_TABLES = ("run", "dataset", "ls_status", "oms_range", "lumi")


#: How the rows of a :class:`~backend.rows.RunRows` are inserted: one ``executemany`` per table, parents first.
_INSERTS = (
    (
        "run",
        "INSERT INTO run (run_number, lumisections, oms_attributes, rr_attributes, dcs_summary) VALUES (?, ?, ?, ?, ?)",
    ),
    ("oms_range", "INSERT INTO oms_range VALUES (?, ?, ?, ?, ?, ?, ?)"),
    ("lumi", "INSERT INTO lumi VALUES (?, ?, ?)"),
    (
        "dataset",
        "INSERT INTO dataset (dataset_id, run_number, name, dataset_attributes, triplet_summary) "
        "VALUES (?, ?, ?, ?, ?)",
    ),
    ("ls_status", "INSERT INTO ls_status VALUES (?, ?, ?, ?, ?, ?, ?)"),
)

# -- the service's objects, rendered by SQLite ------------------------------------------------------------------
# Concatenated, not built with json_object(..., json(column)): the stored JSON is compact (``rows.dumps``), which
# is what json() would render, so the text is the same without parsing 6.5 KB of JSON a row.
_RUN_OBJECT = (
    """'{"run_number":' || r.run_number || ',"oms_attributes":' || r.oms_attributes || """
    """',"rr_attributes":' || r.rr_attributes || ',"version":' || r.version || """
    """',"deleted":' || CASE WHEN r.deleted THEN 'true' ELSE 'false' END || """
    """',"DatasetTripletCache":{"triplet_summary":' || d.triplet_summary || '}}'"""
)
_DATASET_OBJECT = (
    """'{"run_number":' || d.run_number || ',"name":' || json_quote(d.name) || """
    """',"dataset_attributes":' || d.dataset_attributes || ',"datasets_in_gui":' || d.datasets_in_gui || """
    """',"deleted":' || CASE WHEN d.deleted THEN 'true' ELSE 'false' END || ',"version":' || d.version || """
    """',"Run":{"rr_attributes":' || r.rr_attributes || ',"oms_attributes":' || r.oms_attributes || """
    """'},"DatasetTripletCache":{"triplet_summary":' || d.triplet_summary || """
    """',"dcs_summary":' || CASE WHEN d.triplet_summary = '{}' THEN '{}' ELSE r.dcs_summary END || '}}'"""
)
#: What a listing lists: runs with an ``online`` dataset, datasets of runs; never deleted rows.
_FROM = {
    "runs": "run r JOIN dataset d ON d.run_number = r.run_number AND d.name = 'online' "
    "WHERE r.deleted = 0 AND d.deleted = 0",
    "datasets": "dataset d JOIN run r ON r.run_number = d.run_number WHERE d.deleted = 0 AND r.deleted = 0",
}
_OBJECT = {"runs": _RUN_OBJECT, "datasets": _DATASET_OBJECT}
#: The row key a page is first selected by (cheap to sort), and how a page's keys are joined back to their rows.
_KEY = {"runs": "r.run_number", "datasets": "d.dataset_id"}
_BY_KEY = {
    "runs": "json_each(?) AS page JOIN run r ON r.run_number = page.value "
    "JOIN dataset d ON d.run_number = r.run_number AND d.name = 'online'",
    "datasets": "json_each(?) AS page JOIN dataset d ON d.dataset_id = page.value "
    "JOIN run r ON r.run_number = d.run_number",
}
_MAX_OFFSET = 2**62


@dataclass(frozen=True)
class DatasetLumis:
    """One dataset's lumisection-level data: its length (the run's, or the last RR status range's if that is
    later) and status ranges per component."""

    dataset_id: int
    run_number: int
    name: str
    lumisections: int
    statuses: dict[str, list[StatusRange]]


#: A run's length, OMS ranges and per-lumisection recorded and delivered luminosity.
OmsLumis = tuple[int, list[OmsRange], list[int], list[int]]


def _dataset_lumis(conn: sqlite3.Connection, run_number: int, dataset_name: str) -> DatasetLumis | None:
    row = conn.execute(  # a lax edit (``rr_quirks``) may have given the dataset more RR lumisections
        "SELECT d.dataset_id, max(r.lumisections, coalesce((SELECT max(last_ls) FROM ls_status s "
        "WHERE s.dataset_id = d.dataset_id), 0)) FROM dataset d JOIN run r USING (run_number) "
        "WHERE d.run_number = ? AND d.name = ? AND d.deleted = 0",
        (run_number, dataset_name),
    ).fetchone()
    if row is None:
        return None
    statuses: dict[str, list[StatusRange]] = {}
    for comp, first, last, status, comment, cause in conn.execute(
        "SELECT component, first_ls, last_ls, status, comment, cause FROM ls_status "
        "WHERE dataset_id = ? ORDER BY component, first_ls",
        (row[0],),
    ):
        statuses.setdefault(comp, []).append(StatusRange(first, last, status, comment, cause))
    return DatasetLumis(row[0], run_number, dataset_name, row[1], statuses)


def _insert_statuses(conn: sqlite3.Connection, dataset_id: int, statuses: Mapping[str, Sequence[StatusRange]]) -> None:
    conn.executemany("INSERT INTO ls_status VALUES (?, ?, ?, ?, ?, ?, ?)", status_rows(dataset_id, statuses))


class Transaction:
    """The reads and writes of one write transaction (:meth:`Store.transaction`): all or nothing.

    >>> from backend.demo import generate
    >>> with Store.open() as store:
    ...     store.load(generate(runs=3, seed=1))
    ...     number = store.registry_runs()[0][0]
    ...     with store.transaction() as tx:
    ...         length, rr = tx.run(number)
    ...         tx.save_run(number, {**rr, "class": "Special18"})
    ...     '"class":"Special18"' in store.run_json(number)
    True
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def run(self, run_number: int) -> tuple[int, dict[str, Any]] | None:
        """A run's length and RR attributes (``None``: no such run, or deleted)."""
        row = self._conn.execute(
            "SELECT lumisections, rr_attributes FROM run WHERE run_number = ? AND deleted = 0", (run_number,)
        ).fetchone()
        return None if row is None else (row[0], json.loads(row[1]))

    def save_run(self, run_number: int, rr: Mapping[str, Any]) -> None:
        """Replace a run's RR attributes (a new version)."""
        self._conn.execute(
            "UPDATE run SET rr_attributes = ?, version = version + 1 WHERE run_number = ?", (dumps(rr), run_number)
        )

    def dataset_lumis(self, run_number: int, dataset_name: str) -> DatasetLumis | None:
        """:meth:`Store.dataset_lumis` inside this transaction."""
        return _dataset_lumis(self._conn, run_number, dataset_name)

    def has_dataset(self, run_number: int, name: str) -> bool:
        """Whether a dataset row exists, deleted or not (a run has one dataset of each name)."""
        row = self._conn.execute("SELECT 1 FROM dataset WHERE run_number = ? AND name = ?", (run_number, name))
        return row.fetchone() is not None

    def dataset(self, run_number: int, name: str) -> tuple[int, dict[str, Any]] | None:
        """A dataset's id and attributes (``None``: no such dataset, or deleted)."""
        row = self._conn.execute(
            "SELECT dataset_id, dataset_attributes FROM dataset WHERE run_number = ? AND name = ? AND deleted = 0",
            (run_number, name),
        ).fetchone()
        return None if row is None else (row[0], json.loads(row[1]))

    def save_dataset(self, dataset_id: int, attributes: Mapping[str, Any]) -> None:
        """Replace a dataset's attributes (a new version)."""
        self._conn.execute(
            "UPDATE dataset SET dataset_attributes = ?, version = version + 1 WHERE dataset_id = ?",
            (dumps(attributes), dataset_id),
        )

    def insert_dataset(
        self,
        run_number: int,
        name: str,
        attributes: Mapping[str, Any],
        statuses: Mapping[str, Sequence[StatusRange]],
        lumisections: int,
    ) -> int:
        """Insert a dataset with its statuses; returns its id."""
        cur = self._conn.execute(
            "INSERT INTO dataset (run_number, name, dataset_attributes, triplet_summary) VALUES (?, ?, ?, ?)",
            (run_number, name, dumps(attributes), dumps(summarize(statuses, lumisections))),
        )
        dataset_id = cur.lastrowid or 0
        _insert_statuses(self._conn, dataset_id, statuses)
        return dataset_id

    def replace_statuses(
        self, lumis: DatasetLumis, changes: Mapping[str, Sequence[StatusRange]], *, lumisections: int | None = None
    ) -> None:
        """Replace some components' ranges of a dataset and refresh its triplet summary; ``lumisections``: the
        dataset's new length, when the changes extend it."""
        for component, ranges in changes.items():
            self._conn.execute(
                "DELETE FROM ls_status WHERE dataset_id = ? AND component = ?", (lumis.dataset_id, component)
            )
            _insert_statuses(self._conn, lumis.dataset_id, {component: ranges})
        statuses = {**lumis.statuses, **{c: list(r) for c, r in changes.items()}}
        self._conn.execute(
            "UPDATE dataset SET triplet_summary = ?, version = version + 1 WHERE dataset_id = ?",
            (dumps(summarize(statuses, lumisections or lumis.lumisections)), lumis.dataset_id),
        )

    def next_event_version(self) -> int:
        """The next version of the service's event log."""
        self._conn.execute("INSERT OR IGNORE INTO meta VALUES ('event_version', '0')")
        self._conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'event_version'")
        return int(self._conn.execute("SELECT value FROM meta WHERE key = 'event_version'").fetchone()[0])


class _ReadWriteLock:
    """Many readers or one writer; a waiting writer blocks new readers (no writer starvation)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writer and not self._writers_waiting)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            self._cond.wait_for(lambda: not self._writer and not self._readers)
            self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


def _batches(items: Iterable[DemoRun], size: int) -> Iterator[list[DemoRun]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


class Store:
    """The registry's database; use :meth:`open`, then :meth:`load` a demo registry into an empty store."""

    def __init__(self, target: str, *, uri: bool, description: str) -> None:
        self._target = target
        self._uri = uri
        self.description = description
        self._lock = _ReadWriteLock()
        self._pool_lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._all: list[sqlite3.Connection] = []
        self._closed = False
        self._keeper = self._connect()  # keeps a private in-memory database alive
        self._keeper.executescript(_SCHEMA)
        self._check_meta()

    @classmethod
    def open(cls, path: str | None = None) -> Store:
        """A new private in-memory store, or the file ``path`` (created if missing)."""
        if path is None:
            name = f"file:runql-{uuid.uuid4().hex}?mode=memory&cache=shared"
            return cls(name, uri=True, description="in-memory")
        return cls(path, uri=False, description=path)

    # -- connections --------------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._target, uri=self._uri, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA foreign_keys = ON")
        if not self._uri:
            conn.execute("PRAGMA journal_mode = WAL")
        register_functions(conn)  # compiled filters call rq_like
        with self._pool_lock:
            self._all.append(conn)
        return conn

    @contextmanager
    def _borrow(self) -> Iterator[sqlite3.Connection]:
        with self._pool_lock:
            if self._closed:
                raise StoreError(f"the {self.description} store is closed")
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._connect()
        try:
            yield conn
        finally:
            with self._pool_lock:
                self._idle.append(conn)

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """A connection for reads; many readers may run at once."""
        with self._lock.reading(), self._borrow() as conn:
            yield conn

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """A connection inside one exclusive transaction: committed on success, rolled back on any error."""
        with self._lock.writing(), self._borrow() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:  # an interrupted statement may have ended the transaction already
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One exclusive write transaction: committed when the block ends, rolled back if it raises."""
        with self._writing() as conn:
            yield Transaction(conn)

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._reading() as conn:
            return conn.execute(sql, params).fetchall()

    def close(self) -> None:
        """Close every connection once no reader or writer uses one (an in-memory store is gone afterwards)."""
        with self._lock.writing(), self._pool_lock:
            conns, self._all, self._idle, self._closed = self._all, [], [], True
        for conn in conns:
            conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _check_meta(self) -> None:
        row = self._keeper.execute("SELECT value FROM meta WHERE key = 'oms_bits'").fetchone()
        bits = dumps(list(OMS_LUMISECTION_BITS))
        if row is None:
            self._keeper.execute("INSERT INTO meta VALUES ('oms_bits', ?)", (bits,))
        elif row[0] != bits:
            raise StoreError(f"{self.description} was written with another OMS bit layout; regenerate it")

    # -- loading ------------------------------------------------------------------------------------------
    def is_empty(self) -> bool:
        return not self._fetch("SELECT 1 FROM run LIMIT 1")

    def load(self, registry: DemoRegistry) -> None:
        """Insert a generated registry in one transaction, computing triplet and DCS summaries."""
        self.load_runs(registry.runs, seed=registry.seed)

    def load_runs(self, runs: Iterable[DemoRun], *, seed: int) -> None:
        """Insert runs as they come (e.g. from :func:`backend.demo.iter_runs`) in one transaction."""
        self.load_rows((RunRows.of(batch) for batch in _batches(runs, 500)), seed=seed)

    def load_rows(self, batches: Iterable[RunRows], *, seed: int) -> None:
        """Insert batches of rows (built here or in other processes) in one transaction."""
        loaded = 0
        with self._writing() as conn:
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('seed', ?)", (str(seed),))
            for rows in batches:
                for table, statement in _INSERTS:
                    conn.executemany(statement, getattr(rows, table))
                loaded += len(rows.run)
        logger.info("loaded %d runs into %s store", loaded, self.description)

    # -- the registry cache -------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Copy the whole database into the file ``path`` (written aside, then renamed into place)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
        try:
            with self._reading() as conn, contextlib.closing(sqlite3.connect(partial)) as copy:
                conn.backup(copy)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)

    def restore(self, path: str | os.PathLike[str]) -> None:
        """Replace this store's content with the database file ``path`` (written by :meth:`save`)."""
        source = sqlite3.connect(f"file:{Path(path).as_posix()}?mode=ro", uri=True)
        with contextlib.closing(source), self._lock.writing(), self._borrow() as conn:
            source.backup(conn)
        self._check_meta()

    # -- reads --------------------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Row counts per table (for health checks and benchmarks)."""
        with self._reading() as conn:
            return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in _TABLES}

    def page(
        self,
        target: Kind,
        filter: object,
        sortings: object,
        *,
        offset: int,
        size: int,
        quirks: bool = False,
        tie_seed: int | None = None,
    ) -> tuple[int, list[bytes]]:
        """How many rows match the backend ``filter``, and the JSON objects (UTF-8) of ``size`` of them from
        ``offset`` in the order of ``sortings``; ``tie_seed``: shuffle tied rows (the service's unstable order),
        seeded."""
        where = compile_where(filter, target=target, quirks=quirks)
        ties = None if tie_seed is None else _unstable_ties(target, tie_seed)
        order = compile_order(sortings, target=target, ties=ties)
        source = f"{_FROM[target]} AND {where.text}"
        with self._reading() as conn:
            keys: list[tuple[int, int]] = []
            if size and offset < _MAX_OFFSET:  # sort keys only (and the count, the filter run once), then the rows
                keys = conn.execute(
                    f"SELECT {_KEY[target]}, count(*) OVER () FROM {source} ORDER BY {order.text} LIMIT ? OFFSET ?",
                    (*where.params, *order.params, min(size, _MAX_OFFSET), offset),
                ).fetchall()
            if not keys:  # no row on this page: the count alone
                count = conn.execute(f"SELECT count(*) FROM {source}", where.params).fetchone()[0]
                return count, []
            page_keys = json.dumps([k for k, _ in keys])
            sql = f"SELECT CAST({_OBJECT[target]} AS BLOB) FROM {_BY_KEY[target]} ORDER BY page.key"
            return keys[0][1], [r[0] for r in conn.execute(sql, (page_keys,))]

    def run_json(self, run_number: int) -> str:
        """``GET /runs/:n``: the run object, or ``null``."""
        rows = self._fetch(f"SELECT {_RUN_OBJECT} FROM {_FROM['runs']} AND r.run_number = ?", (run_number,))
        return rows[0][0] if rows else "null"

    def dataset_json(self, run_number: int, name: str) -> str:
        """``POST /datasets/get_dataset``: the dataset object, or ``null``."""
        rows = self._fetch(
            f"SELECT {_DATASET_OBJECT} FROM {_FROM['datasets']} AND d.run_number = ? AND d.name = ?",
            (run_number, name),
        )
        return rows[0][0] if rows else "null"

    def dataset_names(self, run_number: int) -> list[str]:
        """A run's dataset names: ``online`` first, then offline names sorted."""
        rows = self._fetch(
            "SELECT name FROM dataset WHERE run_number = ? AND deleted = 0 ORDER BY name != 'online', name",
            (run_number,),
        )
        return [r[0] for r in rows]

    def datasets(self) -> list[tuple[int, str, str]]:
        """``(run_number, name, attributes as JSON text)`` of every dataset, by run number then name."""
        rows = self._fetch(
            "SELECT run_number, name, dataset_attributes FROM dataset WHERE deleted = 0 ORDER BY run_number, name"
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def open_datasets(self) -> list[tuple[str, int]]:
        """``(name, run_number)`` of the offline datasets still being certified (OPEN or waiting for the GUI)."""
        rows = self._fetch(
            "SELECT name, run_number FROM dataset WHERE name != 'online' AND deleted = 0 "
            "AND json_extract(dataset_attributes, '$.global_state') IN ('OPEN', 'waiting dqm gui') "
            "ORDER BY name, run_number"
        )
        return [(r[0], r[1]) for r in rows]

    def dataset_name_spans(self) -> list[tuple[str, int, int, str | None]]:
        """Per offline dataset name: its first and last run and the class of one of its runs, by name."""
        rows = self._fetch(
            "SELECT d.name, min(d.run_number), max(d.run_number), json_extract(r.rr_attributes, '$.class') "
            "FROM dataset d JOIN run r USING (run_number) WHERE d.name != 'online' GROUP BY d.name ORDER BY d.name"
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def registry_runs(self) -> list[tuple[int, int, tuple[str, ...]]]:
        """``(run_number, lumisections, dataset names sorted)`` of every run, by run number."""
        names: dict[int, list[str]] = {}
        for run_number, name in self._fetch("SELECT run_number, name FROM dataset WHERE deleted = 0"):
            names.setdefault(run_number, []).append(name)
        rows = self._fetch("SELECT run_number, lumisections FROM run WHERE deleted = 0 ORDER BY run_number")
        return [(number, count, tuple(sorted(names.get(number, ())))) for number, count in rows]

    def run_numbers(self, first: int, last: int) -> list[int]:
        """The runs numbered ``first`` to ``last``."""
        return [r[0] for r in self._fetch("SELECT run_number FROM run WHERE run_number BETWEEN ? AND ?", (first, last))]

    def run_attributes(self, run_number: int) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """A run's OMS and RR attributes (``None``: no such run)."""
        rows = self._fetch("SELECT oms_attributes, rr_attributes FROM run WHERE run_number = ?", (run_number,))
        return (json.loads(rows[0][0]), json.loads(rows[0][1])) if rows else None

    def registry_version(self) -> int:
        """The highest run version (0 for an empty registry)."""
        return int(self._fetch("SELECT MAX(version) FROM run")[0][0] or 0)

    def dataset_lumis(self, run_number: int, dataset_name: str) -> DatasetLumis | None:
        """A dataset's status ranges, or ``None`` when the run or dataset does not exist."""
        with self._reading() as conn:
            return _dataset_lumis(conn, run_number, dataset_name)

    def oms_ranges(self, run_number: int) -> list[OmsRange] | None:
        """A run's OMS ranges, without its luminosity (``None``: no run)."""
        with self._reading() as conn:
            if conn.execute("SELECT 1 FROM run WHERE run_number = ?", (run_number,)).fetchone() is None:
                return None
            return _oms_ranges(conn, run_number)

    def oms_lumis(self, run_number: int) -> OmsLumis | None:
        """A run's length, OMS ranges and per-lumisection recorded/delivered luminosity (``None``: no run)."""
        with self._reading() as conn:
            row = conn.execute(
                "SELECT r.lumisections, l.recorded, l.delivered FROM run r LEFT JOIN lumi l USING (run_number) "
                "WHERE r.run_number = ?",
                (run_number,),
            ).fetchone()
            if row is None:
                return None
            ranges = _oms_ranges(conn, run_number)
        n = row[0]
        recorded = unpack_lumi(row[1]) if row[1] is not None else [0] * n
        delivered = unpack_lumi(row[2]) if row[2] is not None else [0] * n
        return n, ranges, recorded, delivered


def _oms_ranges(conn: sqlite3.Connection, run_number: int) -> list[OmsRange]:
    rows = conn.execute(
        "SELECT first_ls, last_ls, true_bits, null_bits, prescale_index, prescale_name FROM oms_range "
        "WHERE run_number = ? ORDER BY first_ls",
        (run_number,),
    )
    return [OmsRange(*r) for r in rows]


def _unstable_ties(target: Kind, seed: int) -> Sql:
    """An ORDER BY term that shuffles tied rows differently for every ``seed`` (deterministically)."""
    row = _KEY[target]
    return Sql(f"(({row} * 2654435761 + ?) % 2147483647) * 48271 % 2147483647", (seed,))


def stored_registry(path: str | os.PathLike[str]) -> tuple[list[int], str | None]:
    """The run numbers the registry file ``path`` holds and its seed, read without changing it (``StoreError``:
    not a registry)."""
    try:
        with contextlib.closing(sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not {"run", "meta"} <= tables:
                raise StoreError(f"a SQLite file, but not a runql registry (tables {sorted(tables)})")
            numbers = [row[0] for row in conn.execute("SELECT run_number FROM run")]
            row = conn.execute("SELECT value FROM meta WHERE key = 'seed'").fetchone()
    except sqlite3.Error as exc:
        raise StoreError(f"not a usable SQLite database ({exc})") from None
    return numbers, None if row is None else str(row[0])
