"""SQLite storage of the embedded Run Registry (standard library ``sqlite3``).

Tables: ``run`` (OMS and RR attributes as JSON text, plus the run's ``dcs_summary``), ``dataset`` (one row per
run and dataset name, with its ``triplet_summary``), ``ls_status`` (per-component lumisection status *ranges*),
``oms_range`` (OMS lumisection bits as ranges of constant bit masks), ``lumi`` (per-lumisection recorded and
delivered luminosity packed as little-endian int64 arrays of inverse microbarns) and ``meta``.

The store is in memory by default (a private shared-cache database) or a file (``path``) that persists across
restarts. Every thread borrows its own connection from a small pool; reads run concurrently and writes are
exclusive (a writer-preferring read/write lock), each write in one transaction.

>>> from backend.demo import generate
>>> with Store.open() as store:
...     store.load(generate(runs=5, seed=1))
...     store.counts()["run"]
5
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import sqlite3
import sys
import threading
import uuid
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from backend.demo import DemoRegistry, DemoRun, OmsRange
from backend.errors import BackendError
from backend.lumiranges import StatusRange, summarize
from backend.omsbits import decode_bits
from backend.sqlfilter import register_functions
from querylang.catalogue import OMS_LUMISECTION_BITS

__all__ = ["DatasetLumis", "RunRows", "Store", "StoreError", "dcs_summary", "pack_lumi", "unpack_lumi"]

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


class StoreError(BackendError):
    """The store cannot be opened or does not hold what the caller asked for."""


@dataclass(frozen=True)
class DatasetLumis:
    """One dataset's lumisection-level data: its length (the run's, or the last RR status range's if that is
    later) and status ranges per component."""

    dataset_id: int
    run_number: int
    name: str
    lumisections: int
    statuses: dict[str, list[StatusRange]]


def pack_lumi(values: Sequence[int]) -> bytes:
    """Per-lumisection luminosity (whole inverse microbarns) as little-endian int64 bytes."""
    packed = array("q", values)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def unpack_lumi(blob: bytes) -> list[int]:
    """Inverse of :func:`pack_lumi`."""
    packed = array("q")
    packed.frombytes(blob)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tolist()


#: OMS values the service's DCS summary also lists although they are never booleans: their counts stay 0
#: except NULL (a null value) and EMPTY (not covered), as in the service (which counts only true/false/null).
_NON_BOOLEAN_DCS = ("recorded", "delivered", "prescale_index", "prescale_name")
_DCS_STATES = {True: "TRUE", False: "FALSE", None: "NULL"}


def dcs_summary(ranges: Sequence[OmsRange], lumisections: int) -> dict[str, dict[str, int]]:
    """Per OMS bit, how many lumisections are TRUE, FALSE, NULL or EMPTY (not covered by any range); the
    luminosity and prescale values too (never TRUE or FALSE), and ``ls_duration`` ``{"TRUE": lumisections}``.

    >>> summary = dcs_summary([OmsRange(1, 3, 1, 0, None, "Emergency")], 4)
    >>> summary["prescale_index"], summary["recorded"], summary["ls_duration"]
    ({'TRUE': 0, 'FALSE': 0, 'NULL': 3, 'EMPTY': 1}, {'TRUE': 0, 'FALSE': 0, 'NULL': 0, 'EMPTY': 1}, {'TRUE': 4})
    """
    lengths: dict[tuple[int, int], int] = {}  # lumisections per distinct (true bits, null bits): a few per run
    for rng in ranges:
        key = (rng.true_bits, rng.null_bits)
        lengths[key] = lengths.get(key, 0) + rng.end - rng.start + 1
    empty = lumisections - sum(lengths.values())
    summary = {}
    decoded = {key: decode_bits(*key) for key in lengths}
    for bit in OMS_LUMISECTION_BITS:
        counts = {"TRUE": 0, "FALSE": 0, "NULL": 0, "EMPTY": empty}
        for key, length in lengths.items():
            counts[_DCS_STATES[decoded[key][bit]]] += length
        summary[bit] = counts
    for name in _NON_BOOLEAN_DCS:
        nulls = sum(r.end - r.start + 1 for r in ranges if getattr(r, name, 0) is None)
        summary[name] = {"TRUE": 0, "FALSE": 0, "NULL": nulls, "EMPTY": empty}
    summary["ls_duration"] = {"TRUE": lumisections}
    return summary


_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)  # stateless; built once, not per value


def _dumps(value: Any) -> str:
    return _ENCODER.encode(value)


def _js_numbers(value: Any) -> Any:
    """``value`` with integral floats as ints, as JavaScript's ``JSON.stringify`` writes them (``0``, not ``0.0``).

    >>> _js_numbers({"b_field": 0.0, "energy": 6500.0, "x": [3.8, {"y": -2.0}]})
    {'b_field': 0, 'energy': 6500, 'x': [3.8, {'y': -2}]}
    """
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: _js_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_js_numbers(v) for v in value]
    return value


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


#: A loaded run's datasets get ids ``run_number * _DATASET_STRIDE + position``: the same in any loading order.
_DATASET_STRIDE = 16


class RunRows:
    """The rows of generated runs, inserted with one ``executemany`` per table (picklable: built in any process)."""

    def __init__(self) -> None:
        self.run: list[tuple[Any, ...]] = []
        self.oms_range: list[tuple[Any, ...]] = []
        self.lumi: list[tuple[Any, ...]] = []
        self.dataset: list[tuple[Any, ...]] = []
        self.ls_status: list[tuple[Any, ...]] = []

    @classmethod
    def of(cls, runs: Iterable[DemoRun]) -> RunRows:
        rows = cls()
        for run in runs:
            rows.add(run)
        return rows

    def add(self, run: DemoRun) -> None:
        """Add one run's rows."""
        n, number = run.lumisections, run.run_number
        if len(run.datasets) > _DATASET_STRIDE:
            raise StoreError(f"run {number} has {len(run.datasets)} datasets; at most {_DATASET_STRIDE} can be loaded")
        oms = _dumps(_js_numbers(run.oms))  # the only floats of a run
        self.run.append((number, n, oms, _dumps(run.rr), _dumps(dcs_summary(run.oms_ranges, n))))
        self.oms_range += [
            (number, r.start, r.end, r.true_bits, r.null_bits, r.prescale_index, r.prescale_name)
            for r in run.oms_ranges
        ]
        self.lumi.append((number, pack_lumi(run.recorded), pack_lumi(run.delivered)))
        for position, dataset in enumerate(run.datasets):
            dataset_id = number * _DATASET_STRIDE + position
            summary = _dumps(summarize(dataset.statuses, n))
            self.dataset.append((dataset_id, number, dataset.name, _dumps(dataset.attributes), summary))
            self.ls_status += _status_rows(dataset_id, dataset.statuses)

    def insert(self, conn: sqlite3.Connection) -> None:
        conn.executemany(
            "INSERT INTO run (run_number, lumisections, oms_attributes, rr_attributes, dcs_summary) "
            "VALUES (?, ?, ?, ?, ?)",
            self.run,
        )
        conn.executemany("INSERT INTO oms_range VALUES (?, ?, ?, ?, ?, ?, ?)", self.oms_range)
        conn.executemany("INSERT INTO lumi VALUES (?, ?, ?)", self.lumi)
        conn.executemany(
            "INSERT INTO dataset (dataset_id, run_number, name, dataset_attributes, triplet_summary) "
            "VALUES (?, ?, ?, ?, ?)",
            self.dataset,
        )
        conn.executemany("INSERT INTO ls_status VALUES (?, ?, ?, ?, ?, ?, ?)", self.ls_status)


def _status_rows(dataset_id: int, statuses: dict[str, list[StatusRange]]) -> list[tuple[Any, ...]]:
    return [
        (dataset_id, comp, r.start, r.end, r.status, r.comment, r.cause)
        for comp, ranges in statuses.items()
        for r in ranges
    ]


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
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A connection for reads; many readers may run at once."""
        with self._lock.reading(), self._borrow() as conn:
            yield conn

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
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
        bits = _dumps(list(OMS_LUMISECTION_BITS))
        if row is None:
            self._keeper.execute("INSERT INTO meta VALUES ('oms_bits', ?)", (bits,))
        elif row[0] != bits:
            raise StoreError(f"{self.description} was written with another OMS bit layout; regenerate it")

    # -- loading ------------------------------------------------------------------------------------------
    def is_empty(self) -> bool:
        with self.reading() as conn:
            return bool(conn.execute("SELECT NOT EXISTS (SELECT 1 FROM run)").fetchone()[0])

    def load(self, registry: DemoRegistry) -> None:
        """Insert a generated registry in one transaction, computing triplet and DCS summaries."""
        self.load_runs(registry.runs, seed=registry.seed)

    def load_runs(self, runs: Iterable[DemoRun], *, seed: int) -> None:
        """Insert runs as they come (e.g. from :func:`backend.demo.iter_runs`) in one transaction."""
        self.load_rows((RunRows.of(batch) for batch in _batches(runs, 500)), seed=seed)

    def load_rows(self, batches: Iterable[RunRows], *, seed: int) -> None:
        """Insert batches of rows (built here or in other processes) in one transaction."""
        loaded = 0
        with self.writing() as conn:
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('seed', ?)", (str(seed),))
            for rows in batches:
                rows.insert(conn)
                loaded += len(rows.run)
        logger.info("loaded %d runs into %s store", loaded, self.description)

    # -- the registry cache -------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Copy the whole database into the file ``path`` (written aside, then renamed into place)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
        try:
            with self.reading() as conn, contextlib.closing(sqlite3.connect(partial)) as copy:
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

    @staticmethod
    def _insert_statuses(conn: sqlite3.Connection, dataset_id: int, statuses: dict[str, list[StatusRange]]) -> None:
        conn.executemany("INSERT INTO ls_status VALUES (?, ?, ?, ?, ?, ?, ?)", _status_rows(dataset_id, statuses))

    # -- reads --------------------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Row counts per table (for health checks and tests)."""
        with self.reading() as conn:
            return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in _TABLES}

    def checksum(self) -> str:
        """A digest of every row of every table: equal digests mean an unchanged store."""
        import hashlib

        digest = hashlib.sha256()
        with self.reading() as conn:
            for table in _TABLES:
                for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3"):
                    digest.update(repr(row).encode())
        return digest.hexdigest()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one read statement and fetch every row."""
        with self.reading() as conn:
            return conn.execute(sql, params).fetchall()

    def dataset_lumis(self, run_number: int, dataset_name: str) -> DatasetLumis | None:
        """A dataset's status ranges, or ``None`` when the run or dataset does not exist."""
        with self.reading() as conn:
            return self.dataset_lumis_in(conn, run_number, dataset_name)

    @staticmethod
    def dataset_lumis_in(conn: sqlite3.Connection, run_number: int, dataset_name: str) -> DatasetLumis | None:
        """:meth:`dataset_lumis` on a connection the caller holds (inside a read or a write)."""
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

    def oms_lumis(self, run_number: int) -> tuple[int, list[OmsRange], list[int], list[int]] | None:
        """A run's length, OMS ranges and per-lumisection recorded/delivered luminosity (``None``: no run)."""
        with self.reading() as conn:
            row = conn.execute(
                "SELECT r.lumisections, l.recorded, l.delivered FROM run r LEFT JOIN lumi l USING (run_number) "
                "WHERE r.run_number = ?",
                (run_number,),
            ).fetchone()
            if row is None:
                return None
            ranges = [
                OmsRange(*r)
                for r in conn.execute(
                    "SELECT first_ls, last_ls, true_bits, null_bits, prescale_index, prescale_name FROM oms_range "
                    "WHERE run_number = ? ORDER BY first_ls",
                    (run_number,),
                )
            ]
        n = row[0]
        recorded = unpack_lumi(row[1]) if row[1] is not None else [0] * n
        delivered = unpack_lumi(row[2]) if row[2] is not None else [0] * n
        return n, ranges, recorded, delivered

    # -- writes helpers -----------------------------------------------------------------------------------
    @staticmethod
    def replace_statuses(
        conn: sqlite3.Connection,
        lumis: DatasetLumis,
        changes: Mapping[str, Sequence[StatusRange]],
        *,
        lumisections: int | None = None,
    ) -> None:
        """Replace some components' ranges of a dataset and refresh its triplet summary (caller's transaction);
        ``lumisections``: the dataset's new length, when the changes extend it."""
        for component, ranges in changes.items():
            conn.execute("DELETE FROM ls_status WHERE dataset_id = ? AND component = ?", (lumis.dataset_id, component))
            Store._insert_statuses(conn, lumis.dataset_id, {component: list(ranges)})
        statuses = {**lumis.statuses, **{c: list(r) for c, r in changes.items()}}
        Store.refresh_summary(conn, lumis.dataset_id, statuses, lumisections or lumis.lumisections)

    @staticmethod
    def refresh_summary(
        conn: sqlite3.Connection, dataset_id: int, statuses: dict[str, list[StatusRange]], lumisections: int
    ) -> None:
        conn.execute(
            "UPDATE dataset SET triplet_summary = ?, version = version + 1 WHERE dataset_id = ?",
            (_dumps(summarize(statuses, lumisections)), dataset_id),
        )

    @staticmethod
    def insert_dataset(
        conn: sqlite3.Connection,
        run_number: int,
        name: str,
        attributes: dict[str, Any],
        statuses: dict[str, list[StatusRange]],
        lumisections: int,
    ) -> int:
        """Insert a dataset with its statuses (caller's transaction); returns its id."""
        cur = conn.execute(
            "INSERT INTO dataset (run_number, name, dataset_attributes, triplet_summary) VALUES (?, ?, ?, ?)",
            (run_number, name, _dumps(attributes), _dumps(summarize(statuses, lumisections))),
        )
        dataset_id = cur.lastrowid or 0
        Store._insert_statuses(conn, dataset_id, statuses)
        return dataset_id

    @staticmethod
    def next_event_version(conn: sqlite3.Connection) -> int:
        """The next version of the service's event log (caller's transaction)."""
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('event_version', '0')")
        conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'event_version'")
        return int(conn.execute("SELECT value FROM meta WHERE key = 'event_version'").fetchone()[0])

    @staticmethod
    def dumps(value: Any) -> str:
        """Compact JSON as the store writes it."""
        return _dumps(value)
