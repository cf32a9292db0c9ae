"""Golden JSONs that know DIALS: a thin layer over :class:`~schemas.golden.GoldenJson` and ``LumiMask``.

- :func:`create_json_excluding_ml` builds the Run Registry golden JSON, then subtracts the lumisections that
  DIALS ML models flagged (``exclude_ml={"model_ids": [...], "workspace": ..., "dataset": like-pattern}``).
  The removed lumisections move to the anti-JSON, and the loss report gets one more row (the ML models, for
  the lumisections the rule had kept), so ``kept + losses == evaluated`` still holds; luminosity in/out is
  corrected when the golden JSON carries it.
- :func:`intersect_with_dials_golden` intersects a golden JSON's mask with DIALS' own ``golden-json``
  (ingested by DIALS and not flagged), which also drops what DIALS never ingested.

>>> ExcludeML.parse({"model_ids": [2, 1], "workspace": "tracker"})
ExcludeML(model_ids=(1, 2), workspace='tracker', dataset=None)
>>> ExcludeML.parse({"model_ids": []})
Traceback (most recent call last):
...
ValueError: exclude_ml: 'model_ids' must be a non-empty list of model ids (integers), got []
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from client.dials import Dials, SecretKey
from client.errors import ConfigError
from schemas.golden import ClauseLoss, GoldenJson, LossReport, LumiMask, Luminosity

if TYPE_CHECKING:
    from client.api import RunRegistry

__all__ = [
    "ExcludeML",
    "create_json_excluding_ml",
    "flagged_lumisections",
    "intersect_with_dials_golden",
    "subtract_ml",
]

#: Runs per ``run_number__in`` request (the union's branches are fetched concurrently).
RUNS_PER_REQUEST = 100
_UB_PER_PB = 1e6


@dataclasses.dataclass(frozen=True)
class ExcludeML:
    """Which ML verdicts to subtract: model ids, the DIALS workspace, an optional DIALS dataset ``like``."""

    model_ids: tuple[int, ...]
    workspace: str | None = None
    dataset: str | None = None

    @classmethod
    def parse(cls, spec: Mapping[str, Any] | ExcludeML) -> ExcludeML:
        """Validate a user's ``exclude_ml`` dict (unknown keys are an error, never dropped)."""
        if isinstance(spec, ExcludeML):
            return spec
        if not isinstance(spec, Mapping):
            raise ValueError(f"exclude_ml must be a dict, got {type(spec).__name__}")
        unknown = set(spec) - {"model_ids", "workspace", "dataset"}
        if unknown:
            raise ValueError(f"exclude_ml: unknown key(s) {sorted(unknown)}; allowed: model_ids, workspace, dataset")
        ids = spec.get("model_ids")
        if not isinstance(ids, (list, tuple)) or not ids or not all(_is_int(i) for i in ids):
            raise ValueError(f"exclude_ml: 'model_ids' must be a non-empty list of model ids (integers), got {ids!r}")
        for key in ("workspace", "dataset"):
            if spec.get(key) is not None and not isinstance(spec[key], str):
                raise ValueError(f"exclude_ml: {key!r} must be a string, got {spec[key]!r}")
        return cls(tuple(sorted(set(ids))), spec.get("workspace"), spec.get("dataset"))

    def label(self) -> dict[str, Any]:
        """The loss-report clause of the ML models."""
        fields = {"model_ids": list(self.model_ids), "workspace": self.workspace, "dataset": self.dataset}
        return {"exclude_ml": {k: v for k, v in fields.items() if v is not None}}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def flagged_lumisections(dials: Dials, spec: ExcludeML, runs: Iterable[int]) -> LumiMask:
    """The (run, lumisection) pairs any of ``spec``'s models flagged in ``runs`` (all DIALS datasets, or those
    matching ``spec.dataset``)."""
    numbers = sorted(set(runs))
    chunks = [numbers[i : i + RUNS_PER_REQUEST] for i in range(0, len(numbers), RUNS_PER_REQUEST)]
    if not chunks:
        return LumiMask()
    base: dict[str, Any] = {"model_id": list(spec.model_ids)}
    if spec.dataset is not None:
        base["dataset"] = {"like": spec.dataset}
    branches = [{**base, "run_number": chunk} for chunk in chunks]
    rows = dials.list("ml-bad-lumisection", {"or": branches} if len(branches) > 1 else branches[0])
    return LumiMask.from_lumisections((row.run_number, row.ls_number) for row in rows)


def subtract_ml(
    golden: GoldenJson, flagged: LumiMask, spec: ExcludeML, *, removed_luminosity: Luminosity | None = None
) -> GoldenJson:
    """``golden`` minus ``flagged``; the loss report gets the ML row (``removed_luminosity`` when known)."""
    removed = golden.mask & flagged
    by_dataset = {name: mask - flagged for name, mask in golden.by_dataset.items()}
    changes: dict[str, Any] = {
        "mask": golden.mask - flagged,
        "by_dataset": by_dataset,
        "anti_mask": golden.anti_mask | removed,
    }
    lumi = removed_luminosity or Luminosity()
    if golden.luminosity_in is not None and golden.luminosity_out is not None:
        changes["luminosity_in"] = Luminosity(
            golden.luminosity_in.recorded - lumi.recorded, golden.luminosity_in.delivered - lumi.delivered
        )
        changes["luminosity_out"] = golden.luminosity_out + lumi
    if golden.losses is not None:
        changes["losses"] = _with_ml_row(golden.losses, spec, len(removed), removed_luminosity)
    return dataclasses.replace(golden, **changes)


def _with_ml_row(losses: LossReport, spec: ExcludeML, count: int, luminosity: Luminosity | None) -> LossReport:
    row = ClauseLoss(len(losses.clauses), spec.label(), count, luminosity)
    return dataclasses.replace(
        losses, clauses=(*losses.clauses, row), kept_lumisections=losses.kept_lumisections - count
    )


def create_json_excluding_ml(
    registry: RunRegistry,
    json_logic: object,
    dataset_name_filter: str,
    *,
    exclude_ml: Mapping[str, Any] | ExcludeML,
    dials: Dials | None = None,
    **options: Any,
) -> GoldenJson:
    """``registry.create_json(json_logic, dataset_name_filter, **options)`` minus the ML-flagged lumisections.

    ``dials`` defaults to the embedded stand-in when ``registry`` is the embedded target; for CMS pass a
    :class:`~client.dials.Dials` with credentials (its workspace must be ``exclude_ml``'s, if that names one).
    """
    spec = ExcludeML.parse(exclude_ml)
    golden = registry.create_json(json_logic, dataset_name_filter, **options)
    owned = dials is None
    client = dials if dials is not None else _embedded_dials(registry, spec)
    try:
        if spec.workspace is not None and client.workspace not in (None, spec.workspace):
            raise ConfigError(
                f"exclude_ml names workspace {spec.workspace!r}, the Dials client uses {client.workspace!r}"
            )
        flagged = flagged_lumisections(client, spec, golden.mask.runs)
    finally:
        if owned:
            client.close()
    lumi = _luminosity(registry, golden.mask & flagged) if golden.luminosity_in is not None else None
    return subtract_ml(golden, flagged, spec, removed_luminosity=lumi)


def _embedded_dials(registry: RunRegistry, spec: ExcludeML) -> Dials:
    if not registry.synthetic:
        raise ConfigError("exclude_ml needs dials=Dials(credentials, workspace=...) outside the embedded target")
    return Dials(SecretKey("embedded"), target=registry.base_url + "/dials/", workspace=spec.workspace)


def _luminosity(registry: RunRegistry, removed: LumiMask, *, workers: int = 8) -> Luminosity:
    """Recorded and delivered luminosity (/pb) of ``removed``, from OMS per-lumisection values (runs fetched
    concurrently: the registry's client is thread-safe)."""

    def of_run(run: int) -> Luminosity:
        rows: Sequence[Any] = registry.get_oms_lumisections(run, output="dicts")
        picked = [row for ls, row in enumerate(rows, 1) if (run, ls) in removed and isinstance(row, Mapping)]
        return Luminosity(
            sum(float(r.get("recorded") or 0) for r in picked), sum(float(r.get("delivered") or 0) for r in picked)
        )

    with ThreadPoolExecutor(max_workers=workers) as pool:
        total = sum(pool.map(of_run, removed.runs), Luminosity())
    return Luminosity(total.recorded / _UB_PER_PB, total.delivered / _UB_PER_PB)


def intersect_with_dials_golden(
    mask: LumiMask, dials: Dials, spec: Mapping[str, Any] | ExcludeML, dataset_ids: Sequence[int]
) -> LumiMask:
    """``mask`` ∩ DIALS ``golden-json`` of ``spec``'s models, one dataset at a time (their union per run)."""
    parsed = ExcludeML.parse(spec)
    runs = list(mask.runs)
    dials_good = LumiMask.union(dials.golden_json(list(parsed.model_ids), [d], runs) for d in dataset_ids)
    return mask & dials_good
