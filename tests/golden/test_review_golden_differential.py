"""Review: the local engine against the per-lumisection brute force on small hostile registries.

A fake service (:class:`FakeService`) serves registries the embedded one cannot hold: datasets whose RR
lumisection count differs from the run's OMS count (longer or shorter), float, negative, ``null`` and missing
luminosity, several matching datasets per run, datasets never certified, and listing summaries that are absent
or stale. The reference is :mod:`bruteforce` (every lumisection, json-logic-js semantics, the service's
accounting) over the same data, which is what the service evaluates: its lumisections, never the summaries.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

import pytest
from bruteforce import BruteForce, DatasetData, Reference, _dataset, added, lumi

from client.engine import run_sync
from client.golden_local import golden_operation
from client.transport import Call, Reply
from querylang.ranges import from_values
from schemas.golden import GoldenJson, Luminosity

COMPONENTS = ("dt-dt", "csc-csc")
BITS = ("bpix_ready", "cms_active")
PATTERN = "/PromptReco/%"


@dataclass
class FakeRun:
    number: int
    oms_attributes: dict[str, Any]
    oms: list[dict[str, Any]]  # per OMS lumisection: bits, prescale, recorded, delivered


@dataclass
class FakeDataset:
    run: int
    name: str
    statuses: dict[str, list[str]]  # per component, per RR lumisection ("EMPTY": no status); {}: never certified
    attributes: dict[str, Any] = field(default_factory=dict)
    triplet_summary: dict[str, Any] | None = None  # as listed (None: no DatasetTripletCache)
    dcs_summary: dict[str, Any] | None = None

    @property
    def lumisections(self) -> int:
        return max((len(s) for s in self.statuses.values()), default=0)


def triplet_summary(statuses: dict[str, list[str]]) -> dict[str, Any]:
    """The summary the service lists for these statuses (``EMPTY`` always present)."""
    summary: dict[str, Any] = {}
    for component, per_ls in statuses.items():
        counts: dict[str, Any] = {"EMPTY": 0, "comments": [], "causes": []}
        for status in per_ls:
            counts[status] = counts.get(status, 0) + 1
        summary[component] = counts
    return summary


def dcs_summary(oms: list[dict[str, Any]], lumisections: int) -> dict[str, Any]:
    """The run's DCS summary: per bit, lumisections TRUE / FALSE / NULL / EMPTY (not covered)."""
    states = {True: "TRUE", False: "FALSE", None: "NULL"}
    summary = {}
    for bit in BITS:
        counts = {"TRUE": 0, "FALSE": 0, "NULL": 0, "EMPTY": max(0, lumisections - len(oms))}
        for item in oms:
            counts[states[item.get(bit)]] += 1
        summary[bit] = counts
    return summary


class FakeService:
    """Answers the listings and the lumisection routes from :class:`FakeRun` and :class:`FakeDataset` rows; the
    listings ignore the rule's pushdown (so every dataset is a candidate) but keep the run-number range."""

    def __init__(self, runs: list[FakeRun], datasets: list[FakeDataset]) -> None:
        self.runs = {run.number: run for run in runs}
        self.datasets = datasets
        self.calls: list[Call] = []

    def send(self, call: Call) -> Reply:
        self.calls.append(call)
        body = call.json or {}
        if call.path == "/datasets_filtered_ordered":
            return self._page("datasets", [self._dataset_row(d) for d in self._sorted()], call)
        if call.path == "/runs_filtered_ordered":
            bounds = _run_bounds(body.get("filter") or {})
            rows = [{"run_number": n} for n in sorted(self.runs) if bounds[0] <= n <= bounds[1]]
            return self._page("runs", rows, call)
        run, name = body.get("run_number"), body.get("dataset_name")
        route = call.path.removeprefix("/lumisections/")
        if route == "rr_lumisection_ranges_by_component":
            dataset = next((d for d in self.datasets if (d.run, d.name) == (run, name)), None)
            return self._reply(rr_by_component(dataset.statuses) if dataset else {}, call)
        if route == "oms_lumisections":
            return self._reply(self.runs[run].oms if run in self.runs else [], call)
        if route == "oms_lumisection_ranges":
            return self._reply(oms_ranges(self.runs[run].oms) if run in self.runs else [], call)
        raise AssertionError(f"unexpected call {call.route}")

    def _sorted(self) -> list[FakeDataset]:
        return sorted(self.datasets, key=lambda d: (d.run, d.name))

    def _dataset_row(self, dataset: FakeDataset) -> dict[str, Any]:
        run = self.runs[dataset.run]
        row: dict[str, Any] = {
            "run_number": dataset.run,
            "name": dataset.name,
            "dataset_attributes": dataset.attributes,
            "Run": {"oms_attributes": run.oms_attributes, "rr_attributes": {"class": "Collisions18"}},
        }
        if dataset.triplet_summary is not None:
            row["DatasetTripletCache"] = {
                "triplet_summary": dataset.triplet_summary,
                "dcs_summary": dataset.dcs_summary,
            }
        return row

    @staticmethod
    def _page(kind: str, rows: list[dict[str, Any]], call: Call) -> Reply:
        page = {kind: rows, "pages": 1, "count": len(rows)}
        return Reply(200, json.dumps(page).encode() if call.raw else page)

    @staticmethod
    def _reply(data: Any, call: Call) -> Reply:
        return Reply(200, json.dumps(data).encode() if call.raw else data)

    def reference(self) -> BruteForce:
        """The brute force over the same data, per lumisection."""
        datasets: list[DatasetData] = []
        for dataset in self._sorted():
            per_ls = [
                {c: {"status": s[k]} for c, s in dataset.statuses.items() if k < len(s)}
                for k in range(dataset.lumisections)
            ]
            datasets.append(_dataset(self._dataset_row(dataset), per_ls, self.runs[dataset.run].oms))
        run_luminosity = {
            number: (_plain_sum(run.oms, "recorded"), _plain_sum(run.oms, "delivered"))
            for number, run in self.runs.items()
        }
        return BruteForce(tuple(datasets), run_luminosity)


def _plain_sum(oms: list[dict[str, Any]], key: str) -> float:
    return added(lumi(item.get(key)) for item in oms)


def _run_bounds(backend_filter: dict[str, Any]) -> tuple[float, float]:
    """The run-number range of the engine's run-range listing (``{"run_number": {">=": a, "<=": b}}``)."""
    condition = backend_filter.get("run_number") or {}
    parts = condition.get("and", [condition])
    low = max([p[">="] for p in parts if ">=" in p], default=float("-inf"))
    high = min([p["<="] for p in parts if "<=" in p], default=float("inf"))
    return low, high


def rr_by_component(statuses: dict[str, list[str]]) -> dict[str, list[dict[str, Any]]]:
    return {
        component: [
            {"status": status, "comment": "", "cause": "", "start": first, "end": last}
            for first, last, status in from_values(per_ls)
        ]
        for component, per_ls in statuses.items()
    }


def oms_ranges(oms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    values = [tuple((k, v) for k, v in item.items() if k not in ("recorded", "delivered")) for item in oms]
    return [{**dict(items), "start": first, "end": last} for first, last, items in from_values(values)]


# ---- comparing -----------------------------------------------------------------------------------------------
def local(service: FakeService, rule: Any, **options: Any) -> GoldenJson:
    """The local engine's answer, with every figure its options ask for (so none is compared by omission)."""
    golden = run_sync(golden_operation(rule, PATTERN, **options), service, pool=None)
    report = bool(options.get("report"))
    assert (golden.accounting is not None) is report
    assert (golden.luminosity_in is not None) is (report or bool(options.get("with_luminosity")))
    return golden


def assert_same_as_reference(golden: GoldenJson, reference: Reference) -> None:
    """Every figure the engine gave (the fake's listing ignores the pushdown, so every dataset is evaluated
    whatever the mode); luminosity exactly: the service's plain sums, in its order."""
    assert golden.mask == reference.mask
    assert golden.by_dataset == {n: m for n, m in reference.by_dataset.items() if m}
    assert golden.anti_mask == reference.anti_mask
    assert golden.anti_by_dataset == {n: m for n, m in reference.anti_by_dataset.items() if m}
    if golden.luminosity_in is not None:
        assert _exact(golden.luminosity_in) == _exact(Luminosity(reference.recorded_in, reference.delivered_in))
        assert golden.luminosity_out is not None
        assert _exact(golden.luminosity_out) == _exact(Luminosity(reference.recorded_lost, reference.delivered_lost))
    if golden.accounting is not None:
        assert reference.accounting is not None
        accounting = golden.accounting
        assert _exact_map(accounting.rules_flagged_false_quantity_luminosity) == _exact_map(
            reference.accounting["quantity"]
        )
        assert _exact_map(accounting.rules_flagged_false_combination_luminosity) == _exact_map(
            reference.accounting["combination"]
        )
        assert accounting.runs_lumisections_responsible_for_rule == reference.accounting["responsible"]
        run_range = (
            accounting.total_recorded_luminosity_from_run_range,
            accounting.total_delivered_luminosity_from_run_range,
        )
        assert tuple(map(float.hex, map(float, run_range))) == tuple(map(float.hex, map(float, reference.run_range)))
        assert (golden.min_run_number, golden.max_run_number) == (reference.min_run_number, reference.max_run_number)


def _exact(lumi: Luminosity) -> tuple[str, str]:
    """Bit-exact floats (``float.hex``): a sum in another order differs in its last bits."""
    return float(lumi.recorded).hex(), float(lumi.delivered).hex()


def _exact_map(values: dict[str, Any]) -> dict[str, str]:
    return {key: float(value).hex() for key, value in values.items()}


# ---- registries ------------------------------------------------------------------------------------------------
def oms_lumisection(bpix: Any, recorded: Any, delivered: Any, prescale: int = 1) -> dict[str, Any]:
    return {
        "bpix_ready": bpix,
        "cms_active": True,
        "prescale_index": prescale,
        "recorded": recorded,
        "delivered": delivered,
    }


def summarized(dataset: FakeDataset, run: FakeRun) -> FakeDataset:
    """``dataset`` with the summaries the service lists (consistent with its lumisections)."""
    dataset.triplet_summary = triplet_summary(dataset.statuses)
    dataset.dcs_summary = dcs_summary(run.oms, len(run.oms)) if dataset.statuses else {}
    return dataset


DT_GOOD = {"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]}
ENERGY = {">=": [{"var": "run.oms.energy"}, 6000]}
BPIX = {"==": [{"var": "lumisection.oms.bpix_ready"}, True]}
RECORDED = {">": [{"var": "lumisection.oms.recorded"}, 250]}
NUMBER = {"<": [{"var": "lumisection.lumisection_number"}, 5]}
PRESCALE = {"==": [{"var": "lumisection.oms.prescale_index"}, 1]}
RULES = {
    "status": DT_GOOD,
    "energy-and-status": {"and": [ENERGY, DT_GOOD]},
    "status-and-bit": {"and": [ENERGY, DT_GOOD, BPIX]},
    "luminosity": {"and": [DT_GOOD, RECORDED]},
    "lumisection-number": {"and": [ENERGY, NUMBER, DT_GOOD]},
    "prescale": {"and": [PRESCALE, {"!=": [{"var": "lumisection.rr.csc-csc"}, "BAD"]}]},
    "or-with-bit": {"or": [BPIX, {"and": [ENERGY, DT_GOOD]}]},
    "dataset-and-luminosity": {"and": [{"in": ["2018B", {"var": "dataset.name"}]}, BPIX, RECORDED]},
}
MODES = {
    "pushdown": {},
    "luminosity": {"with_luminosity": True},
    "luminosity-pushdown": {"with_luminosity": True, "pushdown": True},
    "report": {"report": True},
}


def _one_run(oms_count: int, rr_count: int, *, recorded: list[Any] | None = None) -> FakeService:
    values = recorded or [100 * (k % 7) + 5 for k in range(oms_count)]
    run = FakeRun(
        315000, {"energy": 6500}, [oms_lumisection(k % 4 != 0, values[k], values[k] * 1.1) for k in range(oms_count)]
    )
    statuses = {"dt-dt": ["GOOD" if k % 3 else "BAD" for k in range(rr_count)], "csc-csc": ["GOOD"] * rr_count}
    dataset = summarized(FakeDataset(315000, "/PromptReco/Collisions2018A/DQM", statuses), run)
    return FakeService([run], [dataset])


@pytest.mark.parametrize("rule_id", list(RULES))
@pytest.mark.parametrize(
    ("oms_count", "rr_count"), [(10, 13), (13, 10), (10, 10)], ids=["rr-longer", "rr-shorter", "same"]
)
def test_rr_and_oms_counts_that_differ(rule_id: str, oms_count: int, rr_count: int) -> None:
    service = _one_run(oms_count, rr_count)
    reference = service.reference().evaluate(RULES[rule_id], PATTERN)
    for options in MODES.values():
        golden = local(service, RULES[rule_id], **options)
        assert_same_as_reference(golden, reference)


# ---- float luminosity: the service's plain sums, in its order ----------------------------------------------------
FLOATS = [0.1, 0.2, 0.3, 1e16, 0.7, -0.4, None, 3, 0.30000000000000004, 1e-3, 2.5, 0.1]


def _float_registry() -> FakeService:
    """Two runs, two matching datasets each: float, integer, negative and null luminosity, in an order where
    adding range by range (or through running totals) rounds differently from adding lumisection by lumisection."""
    runs, datasets = [], []
    for offset, number in enumerate((315000, 315001)):
        values = FLOATS[offset:] + FLOATS[:offset]
        oms = [oms_lumisection(k % 5 != 2, v, None if v is None else v * 3) for k, v in enumerate(values)]
        run = FakeRun(number, {"energy": 6500 if offset else 900}, oms)
        runs.append(run)
        for era, pattern in (("A", "GBGGBBGGGBGB"), ("B", "BGBGGGBBGGBG")):
            statuses = {"dt-dt": ["GOOD" if c == "G" else "BAD" for c in pattern], "csc-csc": ["GOOD"] * 12}
            datasets.append(summarized(FakeDataset(number, f"/PromptReco/Collisions2018{era}/DQM", statuses), run))
    return FakeService(runs, datasets)


@pytest.mark.parametrize("rule_id", ["status", "energy-and-status", "status-and-bit", "luminosity"])
@pytest.mark.parametrize("mode", ["luminosity", "report"])
def test_float_luminosity_is_summed_as_the_service_sums_it(rule_id: str, mode: str) -> None:
    service = _float_registry()
    reference = service.reference().evaluate(RULES[rule_id], PATTERN)
    assert_same_as_reference(local(service, RULES[rule_id], **MODES[mode]), reference)


# ---- summaries: a shortcut that must never change the answer ---------------------------------------------------
def _summary_registry(triplet: Any, dcs: Any = None, *, energy: int = 900) -> FakeService:
    oms = [oms_lumisection(k != 3, 100 + k, 110 + k) for k in range(12)]
    run = FakeRun(315000, {"energy": energy}, oms)
    statuses = {"dt-dt": ["GOOD"] * 10 + ["EMPTY"] * 2, "csc-csc": ["GOOD"] * 12}
    dataset = FakeDataset(315000, "/PromptReco/Collisions2018A/DQM", statuses, triplet_summary=triplet)
    dataset.dcs_summary = dcs if dcs is not None else dcs_summary(oms, 12)
    return FakeService([run], [dataset])


INCONSISTENT_SUMMARIES = {
    # the components disagree on the dataset's length (the service counts holes as EMPTY: all totals are equal)
    "first-component-short": {"dt-dt": {"GOOD": 10, "EMPTY": 0}, "csc-csc": {"GOOD": 12, "EMPTY": 0}},
    "unread-component-long": {"csc-csc": {"GOOD": 10, "EMPTY": 0}, "dt-dt": {"GOOD": 10, "EMPTY": 2}},
    # not a summary at all: counts that are no objects
    "component-not-an-object": {"dt-dt": 12, "csc-csc": {"GOOD": 12}},
    "components-a-list": {"dt-dt": [["GOOD", 12]]},
}


@pytest.mark.parametrize("summary_id", list(INCONSISTENT_SUMMARIES))
@pytest.mark.parametrize("rule_id", ["status", "energy-and-status", "status-and-bit"])
@pytest.mark.parametrize("energy", [900, 6500])
def test_an_inconsistent_triplet_summary_is_not_trusted(summary_id: str, rule_id: str, energy: int) -> None:
    service = _summary_registry(INCONSISTENT_SUMMARIES[summary_id], energy=energy)
    reference = service.reference().evaluate(RULES[rule_id], PATTERN)
    for mode in ("pushdown", "luminosity", "report"):
        assert_same_as_reference(local(service, RULES[rule_id], **MODES[mode]), reference)


INCONSISTENT_DCS = {
    "bit-not-an-object": {"bpix_ready": 12, "cms_active": {"TRUE": 12}},
    "bits-disagree": {"bpix_ready": {"TRUE": 10, "FALSE": 0}, "cms_active": {"TRUE": 12, "FALSE": 0}},
}


@pytest.mark.parametrize("summary_id", list(INCONSISTENT_DCS))
def test_an_inconsistent_dcs_summary_is_not_trusted(summary_id: str) -> None:
    rule = {"and": [DT_GOOD, BPIX, {"==": [{"var": "lumisection.oms.cms_active"}, True]}]}
    service = _summary_registry(triplet_summary({"dt-dt": ["GOOD"] * 12}), INCONSISTENT_DCS[summary_id], energy=6500)
    service.datasets[0].statuses = {"dt-dt": ["GOOD"] * 12}
    reference = service.reference().evaluate(rule, PATTERN)
    assert_same_as_reference(local(service, rule), reference)


# ---- randomized registries -------------------------------------------------------------------------------------
LUMINOSITY_VALUES: list[Any] = [0, 1, 7, 250, 1000, -5, None, 0.1, 0.2, 0.3, 2.5, 1e-7, 1e15, 333.3]
STATUSES = ("GOOD", "GOOD", "BAD", "STANDBY", "EMPTY")
NAMES = ("/PromptReco/Collisions2018A/DQM", "/PromptReco/Collisions2018B/DQM", "/ReReco/Run2018A/DQM", "online")


def _stretches(rng: random.Random, count: int, values: tuple[Any, ...]) -> list[Any]:
    """``count`` values in a few constant stretches (as lumisections come)."""
    out: list[Any] = []
    while len(out) < count:
        out += [rng.choice(values)] * rng.randint(1, max(1, count // 2))
    return out[:count]


def random_registry(seed: int) -> FakeService:
    rng = random.Random(seed)
    integers = rng.random() < 0.4  # the embedded registry's case; otherwise floats, negatives and nulls too
    runs, datasets = [], []
    for number in sorted(rng.sample(range(315000, 315030), rng.randint(1, 5))):
        count = rng.randint(0, 14)
        oms = []
        for k, bit in enumerate(_stretches(rng, count, (True, True, False, None, "absent"))):
            pool = [v for v in LUMINOSITY_VALUES if type(v) is int] if integers else LUMINOSITY_VALUES
            item = oms_lumisection(bit, rng.choice(pool), rng.choice(pool), prescale=1 + (k * 3) // max(count, 1))
            if bit == "absent":
                del item["bpix_ready"]
            if rng.random() < 0.1:
                del item["recorded"]
            oms.append(item)
        runs.append(FakeRun(number, {"energy": rng.choice([900, 6500, None])}, oms))
        for name in rng.sample(NAMES, rng.randint(0, len(NAMES))):
            length = max(0, count + rng.choice([0, 0, 0, -3, 2]))
            certified = rng.random() < 0.85 and length > 0
            statuses = {c: _stretches(rng, length, STATUSES) for c in COMPONENTS if certified and rng.random() < 0.9}
            dataset = summarized(FakeDataset(number, name, statuses), runs[-1])
            if rng.random() < 0.15:
                dataset.triplet_summary = None  # no cache row
            datasets.append(dataset)
    if not any(d.name.startswith("/PromptReco/") for d in datasets):
        datasets.append(summarized(FakeDataset(runs[0].number, NAMES[0], {}), runs[0]))
    return FakeService(runs, datasets)


@pytest.mark.parametrize("seed", range(60))
def test_random_registries_agree_with_the_brute_force(seed: int) -> None:
    service = random_registry(seed)
    brute = service.reference()
    for rule_id in random.Random(seed).sample(list(RULES), 3):
        reference = brute.evaluate(RULES[rule_id], PATTERN)
        for mode, options in MODES.items():
            golden = local(service, RULES[rule_id], **options)
            try:
                assert_same_as_reference(golden, reference)
            except AssertionError as error:
                raise AssertionError(f"rule {rule_id}, mode {mode}: {error}") from None
