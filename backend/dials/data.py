"""The synthetic DIALS universe (no real CMS data), derived from the Run Registry demo registry.

Every run of the registry that has an offline dataset of some era (a dataset name holding a year and a period
letter, e.g. ``/PromptReco/Collisions2018A/DQM`` → era ``Run2018A``) is ingested by DIALS: each workspace indexes
DQMIO datasets of that era (``/ZeroBias/Run2018A-PromptReco-v1/DQMIO``, ...), one file per dataset and run, and
the run's lumisections 1..N minus a few never ingested. Histograms of the workspace's monitoring elements exist
for every ingested lumisection; two ML models flag bad lumisections. Nothing is stored: rows are generated on
demand, in key order, from a seeded hash of their key, so the same registry always gives the same universe and
starting costs nothing.

>>> universe = DialsUniverse(lambda: [(315252, 40, ("online", "/PromptReco/Collisions2018A/DQM"))])
>>> [d["dataset"] for d in universe.workspace("tracker").datasets]
['/ZeroBias/Run2018A-PromptReco-v1/DQMIO', '/StreamExpress/Run2018A-Express-v1/DQMIO']
>>> universe.workspace("tracker").ingested(315252)[:3]
(1, 2, 3)
"""

from __future__ import annotations

import functools
import hashlib
import random
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = [
    "DEFAULT_WORKSPACE",
    "WORKSPACES",
    "DialsUniverse",
    "Prune",
    "RegistryRun",
    "Workspace",
]

#: (run number, lumisection count, dataset names) of one registry run.
RegistryRun = tuple[int, int, tuple[str, ...]]
Row = dict[str, Any]

WORKSPACES: tuple[str, ...] = ("tracker", "jetmet", "ecal")
DEFAULT_WORKSPACE = "tracker"
_ERA = re.compile(r"(20\d\d)([A-Z]?)")
_PRIMARY: dict[str, tuple[tuple[str, str], ...]] = {
    "tracker": (("ZeroBias", "PromptReco"), ("StreamExpress", "Express")),
    "jetmet": (("JetMET0", "PromptReco"),),
    "ecal": (("ZeroBias", "PromptReco"), ("EGamma0", "PromptReco")),
}
_PIXEL = "PixelPhase1/Tracks"
_MES: dict[str, tuple[tuple[str, int], ...]] = {
    "tracker": (
        *((f"{_PIXEL}/PXBarrel/charge_PXLayer_{i}", 1) for i in range(1, 5)),
        *((f"{_PIXEL}/PXForward/charge_PXDisk_{d}", 1) for d in ("+1", "+2", "+3", "-1", "-2", "-3")),
        *((f"SiStrip/MechanicalView/{p}/NumberOfDigis_{p}", 1) for p in ("TIB", "TOB", "TID", "TEC")),
        ("Tracking/TrackParameters/GeneralProperties/TrackPt_ImpactPoint_GenTk", 1),
        ("Tracking/TrackParameters/GeneralProperties/NumberOfTracks_GenTk", 1),
        *((f"{_PIXEL}/PXBarrel/clusterposition_zphi_PXLayer_{i}", 2) for i in range(1, 5)),
        *((f"{_PIXEL}/PXForward/clusterposition_xy_PXDisk_{d}", 2) for d in ("+1", "-1")),
    ),
    "jetmet": (
        *((f"JetMET/Jet/Cleanedak4PFJetsCHS/{q}", 1) for q in ("Pt", "Eta", "Phi", "Constituents", "NJets")),
        *((f"JetMET/MET/pfMet/Cleaned/{q}", 1) for q in ("MET", "SumET", "METPhi")),
        ("JetMET/Jet/Cleanedak4PFJetsCHS/PhiVSEta", 2),
    ),
    "ecal": (
        ("EcalBarrel/EBOccupancyTask/EBOT digi occupancy", 2),
        ("EcalEndcap/EEOccupancyTask/EEOT digi occupancy EE +", 2),
        ("EcalEndcap/EEOccupancyTask/EEOT digi occupancy EE -", 2),
        ("EcalBarrel/EBTimingTask/EBTMT timing 1D summary", 1),
        ("EcalEndcap/EETimingTask/EETMT timing 1D summary EE +", 1),
        ("EcalBarrel/EBSummaryClient/EBRDT data integrity (fraction)", 1),
    ),
}
_STATUSES = ("FINISHED",) * 12 + ("PARSING_ERROR", "ROOTFILE_ERROR", "FILE_NOT_AVAILABLE")
_EPOCH = datetime(2018, 3, 1, tzinfo=timezone.utc)
_BIG = 2**62


def _seed(*parts: object) -> int:
    return int.from_bytes(hashlib.blake2b(repr(parts).encode(), digest_size=8).digest(), "little")


def _rng(*parts: object) -> random.Random:
    return random.Random(_seed(*parts))


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Prune:
    """What a query provably restricts, used to skip rows early (the exact filter is applied afterwards)."""

    dataset_ids: frozenset[int] | None = None
    runs: tuple[int, int] = (0, _BIG)
    run_set: frozenset[int] | None = None
    ls: tuple[int, int] = (0, _BIG)
    me_ids: frozenset[int] | None = None
    model_ids: frozenset[int] | None = None
    after: tuple[int, ...] = ()

    def run_ok(self, run: int) -> bool:
        return self.runs[0] <= run <= self.runs[1] and (self.run_set is None or run in self.run_set)

    def reaches(self, *prefix: int) -> bool:
        """Whether rows whose key starts with ``prefix`` can come after the cursor (``after``)."""
        return prefix >= self.after[: len(prefix)]


@dataclass(eq=False)
class Workspace:
    """One workspace's data (a separate database on the real service)."""

    name: str
    seed: int
    era_runs: dict[str, list[tuple[int, int]]]
    me_offset: int
    datasets: list[Row] = field(default_factory=list)
    mes: list[Row] = field(default_factory=list)
    models: list[Row] = field(default_factory=list)

    def __post_init__(self) -> None:
        base = (WORKSPACES.index(self.name) + 1) * 10**10
        for era_index, era in enumerate(sorted(self.era_runs)):
            for pd_index, (primary, processing) in enumerate(_PRIMARY[self.name]):
                processed = f"{era}-{processing}-v1"
                self.datasets.append(
                    {
                        "dataset_id": base + era_index * 100 + pd_index,
                        "dataset": f"/{primary}/{processed}/DQMIO",
                        "era": era,
                        "data_tier": "DQMIO",
                        "primary_ds_name": primary,
                        "processed_ds_name": processed,
                        "processing_version": 1,
                        "last_modification_date": _iso(_EPOCH + timedelta(days=30 * era_index + pd_index)),
                    }
                )
        for index, (path, dim) in enumerate(_MES[self.name]):
            self.mes.append({"me_id": self.me_offset + index + 1, "me": path, "count": 0, "dim": dim})
        self._by_id = {d["dataset_id"]: d for d in self.datasets}
        self._counts = {run: count for runs in self.era_runs.values() for run, count in runs}
        self._era_of_run = {run: era for era, runs in self.era_runs.items() for run, _ in runs}
        lumis = sum(len(self.ingested(r)) for d in self.datasets for r, _ in self.era_runs[d["era"]])
        for me in self.mes:
            me["count"] = lumis
        self.models = [_model(self, 1, 0), _model(self, 2, 1)]
        self._me_by_id = {m["me_id"]: m for m in self.mes}

    # -- lookups ------------------------------------------------------------------------------------------
    def dataset(self, dataset_id: int) -> Row | None:
        return self._by_id.get(dataset_id)

    def me(self, me_id: int) -> Row | None:
        return self._me_by_id.get(me_id)

    def runs_of(self, dataset: Row) -> list[tuple[int, int]]:
        return self.era_runs[dataset["era"]]

    def has_run(self, dataset_id: int, run: int) -> bool:
        """Whether dataset ``dataset_id`` of this workspace holds ``run``."""
        dataset = self._by_id.get(dataset_id)
        return dataset is not None and self._era_of_run.get(run) == dataset["era"]

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - one workspace object lives as long as its universe
    def ingested(self, run: int) -> tuple[int, ...]:
        """The run's lumisections DIALS ingested (the same in every dataset): 1..N minus about 1 in 150."""
        count = self._counts.get(run, 0)
        rng = _rng(self.seed, "missing", run)
        missing = set(rng.sample(range(1, count + 1), count // 150)) if count else set()
        return tuple(ls for ls in range(1, count + 1) if ls not in missing)

    @functools.lru_cache(maxsize=65536)  # noqa: B019
    def flagged(self, model_id: int, dataset_id: int, run: int) -> tuple[tuple[int, float], ...]:
        """(lumisection, metric) pairs model ``model_id`` flagged in this dataset and run, sorted."""
        rng = _rng(self.seed, "ml", model_id, dataset_id, run)
        lumis = self.ingested(run)
        if not lumis or rng.random() > 0.35:
            return ()
        start = rng.randrange(len(lumis))
        bad = set(lumis[start : start + rng.randint(1, 12)])
        bad |= {lumis[rng.randrange(len(lumis))] for _ in range(rng.randint(0, 3))}
        return tuple((ls, round(0.5 + rng.random() * 4.5, 4)) for ls in sorted(bad))

    @functools.lru_cache(maxsize=8192)  # noqa: B019
    def file_name(self, dataset_id: int, run: int) -> str:
        """The logical file name of a dataset's file of ``run`` (what histogram rows are filtered by)."""
        dataset = self.dataset(dataset_id)
        return "" if dataset is None else str(self.file_of(dataset, run)["logical_file_name"])

    def file_of(self, dataset: Row, run: int) -> Row:
        runs = self.runs_of(dataset)
        index = next(i for i, (number, _) in enumerate(runs) if number == run)
        return _file(self, dataset, run, index)

    # -- rows in key order ----------------------------------------------------------------------------------
    def iter_datasets(self, prune: Prune) -> Iterator[Row]:
        for dataset in self.datasets:
            dataset_id = dataset["dataset_id"]
            if (prune.dataset_ids is None or dataset_id in prune.dataset_ids) and prune.reaches(dataset_id):
                yield dataset

    def iter_runs(self, prune: Prune) -> Iterator[tuple[Row, int, int]]:
        for dataset in self.iter_datasets(prune):
            for index, (run, _) in enumerate(self.runs_of(dataset)):
                if prune.run_ok(run) and prune.reaches(dataset["dataset_id"], run):
                    yield dataset, run, index

    def iter_lumis(self, prune: Prune) -> Iterator[tuple[Row, int, int, int]]:
        for dataset, run, index in self.iter_runs(prune):
            for ls in self.ingested(run):
                if prune.ls[0] <= ls <= prune.ls[1] and prune.reaches(dataset["dataset_id"], run, ls):
                    yield dataset, run, index, ls


def _file(ws: Workspace, dataset: Row, run: int, index: int) -> Row:
    rng = _rng(ws.seed, "file", dataset["dataset_id"], run)
    status = rng.choice(_STATUSES)
    created = _EPOCH + timedelta(hours=index, minutes=rng.randint(0, 59))
    run_text = f"{run:09d}"
    lfn = (
        f"/store/data/{dataset['era']}/{dataset['primary_ds_name']}/DQMIO/"
        f"{dataset['processed_ds_name'].split('-', 1)[1]}/{run_text[:3]}/{run_text[3:6]}/{run_text[6:]}/00000/"
        f"{rng.getrandbits(64):016X}.root"
    )
    return {
        "dataset_id": dataset["dataset_id"],
        "dataset": dataset["dataset"],
        "file_id": dataset["dataset_id"] * 100_000 + index,
        "file_size": rng.randint(50_000_000, 4_000_000_000),
        "creation_date": _iso(created),
        "last_modification_date": _iso(created + timedelta(hours=2)),
        "logical_file_name": lfn,
        "status": status,
        "err_trace": None if status == "FINISHED" else f"{status}: synthetic failure while ingesting",
    }


def _model(ws: Workspace, model_id: int, index: int) -> Row:
    target = ws.mes[index * 3 % len(ws.mes)]
    created = _iso(_EPOCH + timedelta(days=index))
    return {
        "id": model_id,
        "name": f"{ws.name}_autoencoder_v{model_id}" if index == 0 else f"{ws.name}_pca_v{model_id}",
        "revision": 1 + index,
        "ready": True,
        "active": index == 0,
        "type": "autoencoder" if index == 0 else "pca",
        "anomaly_threshold": 3.0 if index == 0 else None,
        "builtin_threshold": index == 1,
        "description": f"synthetic {ws.name} model flagging anomalous lumisections of {target['me']}",
        "flagging_key": "is_anomalous",
        "input_signature": [{"name": target["me"], "me_id": target["me_id"], "dim": target["dim"]}],
        "metric_key": "mse" if index == 0 else "reconstruction_error",
        "output_signature": [{"name": "is_anomalous", "type": "bool"}, {"name": "mse", "type": "float"}],
        "tags": [{"name": "synthetic", "value": "true"}],
        "isvc_service_name": None,
        "isvc_yaml": None,
        "created_by": "runql",
        "modified_by": "runql",
        "created_at": created,
        "modified_at": created,
        "_me_id": target["me_id"],
        "_me": target["me"],
    }


def histogram(ws: Workspace, dataset: Row, run: int, index: int, ls: int, me: Row) -> Row:
    """The 1D or 2D histogram row of one (dataset, run, lumisection, ME): bins 1..N, no under/overflow."""
    rng = _rng(ws.seed, "h", dataset["dataset_id"], run, ls, me["me_id"])
    x_bin = 20 if me["dim"] == 1 else 10
    y_bin = 8
    peak = rng.uniform(0.3, 0.7)
    if me["dim"] == 1:
        data: list[Any] = [round(rng.random() * 10 + 200 * _bump(i / x_bin, peak), 1) for i in range(x_bin)]
        entries = int(sum(data))
    else:
        data = [[float(rng.randint(0, 30)) for _ in range(x_bin)] for _ in range(y_bin)]
        entries = int(sum(map(sum, data)))
    row: Row = {
        "dataset_id": dataset["dataset_id"],
        "dataset": dataset["dataset"],
        "file_id": dataset["dataset_id"] * 100_000 + index,
        "run_number": run,
        "ls_number": ls,
        "me_id": me["me_id"],
        "me": me["me"],
        "x_min": 0.0,
        "x_max": float(x_bin * 5),
        "x_bin": x_bin,
        "entries": entries,
        "data": data,
    }
    if me["dim"] == 2:
        row |= {"y_min": -4.0, "y_max": 4.0, "y_bin": y_bin}
    return row


def _bump(x: float, peak: float) -> float:
    return max(0.0, 1.0 - abs(x - peak) * 4)


class DialsUniverse:
    """Every workspace's data, built on first use from ``source`` (the registry's runs) and ``seed``."""

    def __init__(self, source: Callable[[], Iterable[RegistryRun]], seed: int = 2018) -> None:
        self._source = source
        self.seed = seed
        self._lock = threading.Lock()
        self._workspaces: dict[str, Workspace] = {}

    def workspace(self, name: str) -> Workspace:
        """The data of workspace ``name`` (``KeyError`` if there is no such workspace)."""
        if name not in WORKSPACES:
            raise KeyError(name)
        with self._lock:
            if not self._workspaces:
                eras = _eras(self._source())
                offsets = _me_offsets()
                for ws in WORKSPACES:
                    self._workspaces[ws] = Workspace(ws, _seed(self.seed, ws), eras, offsets[ws])
            return self._workspaces[name]


def _eras(runs: Iterable[RegistryRun]) -> dict[str, list[tuple[int, int]]]:
    eras: dict[str, list[tuple[int, int]]] = {}
    for number, count, names in runs:
        era = _era_of(names)
        if era is not None and count > 0:
            eras.setdefault(era, []).append((number, count))
    return {era: sorted(runs) for era, runs in eras.items()}


def _era_of(names: Sequence[str]) -> str | None:
    for name in names:
        match = _ERA.search(name)
        if match:
            return f"Run{match.group(1)}{match.group(2)}"
    return None


def _me_offsets() -> dict[str, int]:
    offsets, total = {}, 0
    for ws in WORKSPACES:
        offsets[ws] = total
        total += len(_MES[ws])
    return offsets
