"""Each DIALS resource's rows, in key order, from a workspace: what a list or detail request scans.

Rows are the 2.4.1 wire items plus hidden ``_``-prefixed values that name-based filters resolve through (the
ME of an ML verdict, the file name of a histogram); :func:`public` strips them before a row is sent.

>>> from backend.dials.data import DialsUniverse, Prune
>>> ws = DialsUniverse(lambda: [(315252, 3, ("/PromptReco/Collisions2018A/DQM",))]).workspace("jetmet")
>>> [(r["run_number"], r["ls_number"]) for r in scan(ws, "lumisection", Prune())]
[(315252, 1), (315252, 2), (315252, 3)]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from backend.dials.data import Prune, Row, Workspace, histogram

__all__ = ["SCANS", "public", "scan"]


def public(row: Row) -> Row:
    """The row as sent: hidden ``_`` values dropped."""
    return {k: v for k, v in row.items() if not k.startswith("_")}


def _datasets(ws: Workspace, prune: Prune) -> Iterator[Row]:
    return ws.iter_datasets(prune)


def _files(ws: Workspace, prune: Prune) -> Iterator[Row]:
    for dataset, run, _index in ws.iter_runs(prune):
        yield ws.file_of(dataset, run)


def _runs(ws: Workspace, prune: Prune) -> Iterator[Row]:
    for dataset, run, _index in ws.iter_runs(prune):
        lumis = ws.ingested(run)
        expected = max(lumis, default=0)
        yield {
            "dataset_id": dataset["dataset_id"],
            "dataset": dataset["dataset"],
            "run_number": run,
            "ls_count": len(lumis),
            "ls_completeness": round(len(lumis) / expected, 6) if expected else None,
        }


def _lumisections(ws: Workspace, prune: Prune) -> Iterator[Row]:
    ones, twos = (sum(1 for m in ws.mes if m["dim"] == dim) for dim in (1, 2))
    for dataset, run, _index, ls in ws.iter_lumis(prune):
        yield {
            "dataset_id": dataset["dataset_id"],
            "dataset": dataset["dataset"],
            "run_number": run,
            "ls_number": ls,
            "th1_count": ones,
            "th2_count": twos,
        }


def _histograms(dim: int) -> Callable[[Workspace, Prune], Iterator[Row]]:
    def rows(ws: Workspace, prune: Prune) -> Iterator[Row]:
        mes = [m for m in ws.mes if m["dim"] == dim and (prune.me_ids is None or m["me_id"] in prune.me_ids)]
        for dataset, run, index, ls in ws.iter_lumis(prune):
            for me in mes:
                if prune.reaches(dataset["dataset_id"], run, ls, me["me_id"]):
                    row = histogram(ws, dataset, run, index, ls, me)
                    row["_logical_file_name"] = ws.file_name(dataset["dataset_id"], run)
                    yield row

    return rows


def _mes(ws: Workspace, prune: Prune) -> Iterator[Row]:
    return (m for m in ws.mes if prune.me_ids is None or m["me_id"] in prune.me_ids)


def _models(ws: Workspace, prune: Prune) -> Iterator[Row]:
    for model in ws.models:
        if prune.model_ids is None or model["id"] in prune.model_ids:
            yield model | {"_input_signature_contains_me": model["_me"], "_tag_name": "synthetic", "_tag_value": "true"}


def _bad_lumis(ws: Workspace, prune: Prune) -> Iterator[Row]:
    for model in _models(ws, prune):
        if not prune.reaches(model["id"]):
            continue
        for dataset, run, _index in ws.iter_runs(Prune(prune.dataset_ids, prune.runs, prune.run_set)):
            if not prune.reaches(model["id"], dataset["dataset_id"], run):
                continue
            for ls, metric in ws.flagged(model["id"], dataset["dataset_id"], run):
                yield {
                    "model_id": model["id"],
                    "dataset_id": dataset["dataset_id"],
                    "run_number": run,
                    "ls_number": ls,
                    "metric_value": metric,
                    "_me_id": model["_me_id"],
                    "_me": model["_me"],
                    "_dataset": dataset["dataset"],
                }


#: Resource name → rows of a workspace in key order, narrowed by a :class:`Prune`.
SCANS: Mapping[str, Callable[[Workspace, Prune], Iterator[Row]]] = {
    "dataset-index": _datasets,
    "file-index": _files,
    "run": _runs,
    "lumisection": _lumisections,
    "th1": _histograms(1),
    "th2": _histograms(2),
    "mes": _mes,
    "ml-models-index": _models,
    "ml-bad-lumisection": _bad_lumis,
}


def scan(ws: Workspace, resource: str, prune: Prune) -> Iterator[Row]:
    """Rows of ``resource`` in ``ws``, in key order (``prune`` only skips; it never decides a match)."""
    return SCANS[resource](ws, prune)


def value(row: Row, name: str) -> Any:
    """A field's value in a row, hidden or not (``None`` when the row has neither)."""
    return row[name] if name in row else row.get("_" + name)
