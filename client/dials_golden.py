"""Golden JSONs that know DIALS: a thin layer over :class:`~schemas.golden.GoldenJson` and ``LumiMask``.

- :func:`create_json_excluding_ml` builds the Run Registry golden JSON, then subtracts the lumisections that
  DIALS ML models flagged (``exclude_ml={"model_ids": [...], "workspace": ..., "dataset": like-pattern}``).
  The removed lumisections move to the anti-JSON; the service's figures (``GoldenJson.accounting``) get the ML
  models as one more clause, alone responsible for what they removed, so the loss report shows one more row;
  luminosity in and lost is corrected.
- :func:`intersect_with_dials_golden` intersects a golden JSON's mask with DIALS' own ``golden-json``
  (ingested by DIALS and not flagged), which also drops what DIALS never ingested.

>>> ExcludeML.parse({"model_ids": [2, 1], "workspace": "tracker"})
ExcludeML(model_ids=(1, 2), workspace='tracker', dataset=None)
>>> ExcludeML.parse({"model_ids": []})
Traceback (most recent call last):
...
querylang.errors.ArgumentError: exclude_ml: 'model_ids' must be a non-empty list of model ids (integers), got []
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from client.dials import Dials, SecretKey
from client.errors import ArgumentError, ConfigError
from client.progress import ProgressOption, reporting
from querylang.losses import js_stringify
from schemas.golden import GoldenJson, LossAccounting, LumiMask, Luminosity

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
            raise ArgumentError(f"exclude_ml must be a dict, got {type(spec).__name__}")
        unknown = set(spec) - {"model_ids", "workspace", "dataset"}
        if unknown:
            raise ArgumentError(f"exclude_ml: unknown key(s) {sorted(unknown)}; allowed: model_ids, workspace, dataset")
        ids = spec.get("model_ids")
        if not isinstance(ids, (list, tuple)) or not ids or not all(_is_int(i) for i in ids):
            raise ArgumentError(
                f"exclude_ml: 'model_ids' must be a non-empty list of model ids (integers), got {ids!r}"
            )
        for key in ("workspace", "dataset"):
            if spec.get(key) is not None and not isinstance(spec[key], str):
                raise ArgumentError(f"exclude_ml: {key!r} must be a string, got {spec[key]!r}")
        return cls(tuple(sorted(set(ids))), spec.get("workspace"), spec.get("dataset"))

    def label(self) -> dict[str, Any]:
        """The loss-report clause of the ML models."""
        fields = {"model_ids": list(self.model_ids), "workspace": self.workspace, "dataset": self.dataset}
        return {"exclude_ml": {k: v for k, v in fields.items() if v is not None}}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def flagged_lumisections(
    dials: Dials, spec: ExcludeML, runs: Iterable[int], *, progress: ProgressOption = False
) -> LumiMask:
    """The (run, lumisection) pairs any of ``spec``'s models flagged in ``runs`` (all DIALS datasets, or those
    matching ``spec.dataset``); ``progress`` as in :meth:`client.dials.Dials.list`."""
    numbers = sorted(set(runs))
    chunks = [numbers[i : i + RUNS_PER_REQUEST] for i in range(0, len(numbers), RUNS_PER_REQUEST)]
    if not chunks:
        return LumiMask()
    base: dict[str, Any] = {"model_id": list(spec.model_ids)}
    if spec.dataset is not None:
        base["dataset"] = {"like": spec.dataset}
    branches = [{**base, "run_number": chunk} for chunk in chunks]
    rows = dials.ml_bad_lumisections({"or": branches} if len(branches) > 1 else branches[0], progress=progress)
    return LumiMask.from_lumisections((row.run_number, row.ls_number) for row in rows)


def subtract_ml(
    golden: GoldenJson,
    flagged: LumiMask,
    spec: ExcludeML,
    *,
    removed_luminosity: Callable[[Mapping[str, LumiMask]], Luminosity] | None = None,
) -> GoldenJson:
    """``golden`` minus ``flagged``: the removed lumisections go to the anti-JSON and, when ``golden`` carries the
    service's figures, to one more clause of its accounting (``removed_luminosity`` sums their luminosity per
    dataset; required when ``golden`` has luminosity or figures)."""
    removed = {name: mask & flagged for name, mask in golden.by_dataset.items()}
    removed = {name: mask for name, mask in removed.items() if mask}
    by_dataset = {name: mask - flagged for name, mask in golden.by_dataset.items()}
    anti_names = sorted({*golden.anti_by_dataset, *removed})
    anti_by_dataset = {n: golden.anti_by_dataset.get(n, LumiMask()) | removed.get(n, LumiMask()) for n in anti_names}
    changes: dict[str, Any] = {
        "mask": golden.mask - flagged,
        "by_dataset": {name: mask for name, mask in by_dataset.items() if mask},
        "anti_mask": golden.anti_mask | LumiMask.union(removed.values()),
        "anti_by_dataset": anti_by_dataset,
    }
    needs_luminosity = golden.luminosity_in is not None or golden.accounting is not None
    if needs_luminosity and removed_luminosity is None:
        raise ArgumentError("subtract_ml: this golden JSON carries luminosity; pass removed_luminosity")
    lumi = removed_luminosity(removed) if needs_luminosity and removed_luminosity is not None else Luminosity()
    if golden.luminosity_in is not None and golden.luminosity_out is not None:
        changes["luminosity_in"] = _minus(golden.luminosity_in, lumi)
        changes["luminosity_out"] = golden.luminosity_out + lumi
    if golden.accounting is not None:
        changes["accounting"] = _with_ml_clause(golden.accounting, spec, removed, lumi)
    return dataclasses.replace(golden, **changes)


def _minus(left: Luminosity, right: Luminosity) -> Luminosity:
    return Luminosity(left.recorded - right.recorded, left.delivered - right.delivered)


def _with_ml_clause(
    accounting: LossAccounting, spec: ExcludeML, removed: Mapping[str, LumiMask], lumi: Luminosity
) -> LossAccounting:
    """The figures with the ML models as one more clause, alone responsible for what they removed."""
    key = js_stringify(spec.label())
    ranges = sorted((run, name, rs) for name, mask in removed.items() for run, rs in mask.items())
    responsible = {f"{run}-{name}": [list(r) for r in rs] for run, name, rs in ranges}
    return dataclasses.replace(
        accounting,
        recorded_luminosity_in_json=accounting.recorded_luminosity_in_json - lumi.recorded,
        delivered_luminosity_in_json=accounting.delivered_luminosity_in_json - lumi.delivered,
        total_recorded_luminosity_lost=accounting.total_recorded_luminosity_lost + lumi.recorded,
        total_delivered_luminosity_lost=accounting.total_delivered_luminosity_lost + lumi.delivered,
        rules_flagged_false_quantity_luminosity={
            **accounting.rules_flagged_false_quantity_luminosity,
            key: lumi.recorded,
        },
        rules_flagged_false_combination_luminosity={
            **accounting.rules_flagged_false_combination_luminosity,
            f"[{key}]": lumi.recorded,
        },
        runs_lumisections_responsible_for_rule={
            **accounting.runs_lumisections_responsible_for_rule,
            f"[{key}]": responsible,
        },
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
    ``progress`` (in ``options``) also shows the DIALS pages and the luminosity requests of the removed runs.
    """
    progress = options.get("progress", False)
    spec = ExcludeML.parse(exclude_ml)
    golden = registry.create_json(json_logic, dataset_name_filter, **options)
    owned = dials is None
    client = dials if dials is not None else _embedded_dials(registry, spec)
    try:
        if spec.workspace is not None and client.workspace not in (None, spec.workspace):
            raise ConfigError(
                f"exclude_ml names workspace {spec.workspace!r}, the Dials client uses {client.workspace!r}"
            )
        flagged = flagged_lumisections(client, spec, golden.mask.runs, progress=progress)
    finally:
        if owned:
            client.close()
    return subtract_ml(
        golden, flagged, spec, removed_luminosity=lambda removed: _luminosity(registry, removed, progress=progress)
    )


def _embedded_dials(registry: RunRegistry, spec: ExcludeML) -> Dials:
    if not registry.synthetic:
        raise ConfigError("exclude_ml needs dials=Dials(credentials, workspace=...) outside the embedded target")
    return Dials(SecretKey("embedded"), target=registry.base_url + "/dials/", workspace=spec.workspace)


def _luminosity(
    registry: RunRegistry, removed: Mapping[str, LumiMask], *, workers: int = 8, progress: ProgressOption = False
) -> Luminosity:
    """Recorded and delivered luminosity of ``removed`` (plain sums of the per-lumisection OMS values, per
    dataset, like the service's figures); runs fetched concurrently (the registry's client is thread-safe)."""
    runs = sorted({run for mask in removed.values() for run in mask.runs})

    def of_run(run: int) -> Luminosity:
        rows: Sequence[Any] = registry.get_oms_lumisections(run, output="dicts")
        total = Luminosity()
        for mask in removed.values():
            for ls, row in enumerate(rows, 1):
                if (run, ls) in mask and isinstance(row, Mapping):
                    total += Luminosity(float(row.get("recorded") or 0), float(row.get("delivered") or 0))
        return total

    total = Luminosity()
    with reporting(progress, "OMS lumisection requests") as report, ThreadPoolExecutor(max_workers=workers) as pool:
        for done, luminosity in enumerate(pool.map(of_run, runs), 1):
            total += luminosity
            if report is not None:
                report(done, len(runs))
    return total


def intersect_with_dials_golden(
    mask: LumiMask, dials: Dials, spec: Mapping[str, Any] | ExcludeML, dataset_ids: Sequence[int]
) -> LumiMask:
    """``mask`` ∩ DIALS ``golden-json`` of ``spec``'s models, one dataset at a time (their union per run)."""
    parsed = ExcludeML.parse(spec)
    runs = list(mask.runs)
    dials_good = LumiMask.union(dials.golden_json(list(parsed.model_ids), [d], runs) for d in dataset_ids)
    return mask & dials_good
