"""A deterministic, synthetic Run Registry shaped like production, 2018–2024 (no real CMS data).

``generate(runs, seed)`` returns the same :class:`DemoRegistry` for the same arguments. The default registry
(:data:`DEFAULT_RUNS` runs) follows the eras of :mod:`backend.eras`: 2018 CRUZET/CRAFT from run 308,000, proton
runs 2018A–D, the PbPb run of November 2018 and the cosmics after it, Long Shutdown 2, and Run 3 (2022A–G,
2023A–F, 2024A–I up to run 386,951), with each era's classes, HLT keys, beams, fills and dataset names.

``runs=N`` with N up to :data:`DEFAULT_RUNS` takes N runs evenly spread over the default registry (the first and
the last included); each is *the same run* as in the default registry, so a small registry is a faithful sample of
every era. A larger N packs more runs into every era (up to the run numbers each era spans).

Every run is generated from its own random stream (seeded by ``seed`` and its run number), so runs can be made in
any order or alone. What a run contains: every OMS run attribute of the catalogue (a few deliberately NULL, e.g.
the injection scheme of runs without beam), RR attributes (class, state OPEN/SIGNOFF/COMPLETED, significance), OMS
per-lumisection bits as ranges (beam/tracker ramps at the start and end of collision runs, detector drop-outs, GEM
bits NULL early in 2018), per-lumisection recorded/delivered luminosity, and datasets: ``online`` for every run,
the era's PromptReco dataset of its class for significant runs and the era's ReReco dataset for signed-off
collision runs. Significant runs carry per-lumisection statuses for every certifiable component with
BAD/STANDBY/EXCLUDED/NOTSET stretches; runs that were never significant carry none.

>>> registry = generate(runs=20, seed=1)
>>> len(registry.runs), registry.runs[0].datasets[0].name, registry.runs[0].run_number >= 308000
(20, 'online', True)
>>> generate(runs=20, seed=1).runs[5].oms == registry.runs[5].oms
True
"""

from __future__ import annotations

import itertools
import math
import random
from array import array
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import numpy

from backend.eras import ERAS, KNOWN_RUNS, Era, era_of, kind_of
from backend.lumiranges import StatusRange, merge_equal, overlay
from backend.omsbits import bit_mask
from querylang.catalogue import OMS_LUMISECTION_BITS, Owner, default_catalogue
from querylang.errors import ArgumentError
from querylang.ranges import coalesce
from querylang.units import UB_PER_PB

__all__ = [
    "DEFAULT_RUNS",
    "LS_SECONDS",
    "DemoDataset",
    "DemoRegistry",
    "DemoRun",
    "OmsRange",
    "RunSlot",
    "build_runs",
    "generate",
    "generate_run",
    "iter_runs",
    "period_of",
    "plan_runs",
]

#: Runs in the default registry (every era of :mod:`backend.eras` at its real density).
DEFAULT_RUNS = sum(era.runs for era in ERAS)
#: Length of one lumisection in seconds (2^18 LHC orbits).
LS_SECONDS = 23.31


@dataclass(frozen=True)
class OmsRange:
    """OMS lumisection values constant over ``start``..``end``: booleans as bit masks over OMS_LUMISECTION_BITS."""

    start: int
    end: int
    true_bits: int
    null_bits: int
    prescale_index: int
    prescale_name: str


@dataclass
class DemoDataset:
    name: str
    attributes: dict[str, Any]
    statuses: dict[str, list[StatusRange]] = field(default_factory=dict)


@dataclass
class DemoRun:
    run_number: int
    lumisections: int
    oms: dict[str, Any]
    rr: dict[str, Any]
    oms_ranges: list[OmsRange]
    recorded: array[int]  # per lumisection, in inverse microbarns (whole numbers)
    delivered: array[int]
    datasets: list[DemoDataset]
    era: str = ""  # the name of its era in backend.eras


@dataclass
class DemoRegistry:
    seed: int
    runs: list[DemoRun]


def period_of(run_number: int) -> str | None:
    """The run period letter of the collision era spanning a run (2018C → ``"C"``); ``None`` outside them.

    >>> period_of(319500), period_of(380000), period_of(310000)
    ('C', 'C', None)
    """
    era = era_of(run_number)
    return None if era is None else era.letter


def generate(runs: int | None = None, seed: int = 2018, years: Collection[int] | None = None) -> DemoRegistry:
    """Generate the registry: ``runs`` runs (default :data:`DEFAULT_RUNS`), deterministic in ``seed``.

    ``years`` keeps the eras of those years only (``runs`` then defaults to their runs).
    """
    return DemoRegistry(seed=seed, runs=list(iter_runs(runs, seed, years)))


def iter_runs(runs: int | None = None, seed: int = 2018, years: Collection[int] | None = None) -> Iterator[DemoRun]:
    """The runs of :func:`generate`, one at a time (loading a large registry without holding it in memory)."""
    return build_runs(plan_runs(runs, seed, years), seed)


def plan_runs(runs: int | None = None, seed: int = 2018, years: Collection[int] | None = None) -> list[RunSlot]:
    """Which runs :func:`generate` makes, in order: number, era, class, length and start (cheap, no detail)."""
    eras = [era for era in ERAS if years is None or era.year in years]
    if not eras:
        raise ArgumentError(f"no era in years {sorted(years or ())}: the registry spans {ERAS[0].year}-{ERAS[-1].year}")
    count = sum(era.runs for era in eras) if runs is None else runs
    if count < 0:
        raise ArgumentError(f"runs must be >= 0, got {count}")
    capacity = sum(era.span for era in eras)
    if count > capacity:
        raise ArgumentError(f"runs must be <= {capacity} (the run numbers of the eras), got {count}")
    return _sample(_plan(seed, eras, _era_counts(eras, count)), count)


def build_runs(slots: Iterable[RunSlot], seed: int = 2018) -> Iterator[DemoRun]:
    """The runs of planned ``slots``, each from its own random stream (any subset, in any process, alike)."""
    context = _Context.build()
    return (_RunBuilder(seed, slot, context).run() for slot in slots)


def generate_run(run_number: int, seed: int = 2018) -> DemoRun | None:
    """One run of the default registry, generated alone; ``None`` when the registry has no such run.

    >>> generate_run(generate(runs=3).runs[1].run_number) == generate(runs=3).runs[1]
    True
    """
    era = era_of(run_number)
    if era is None:
        return None
    slot = next((s for s in _plan(seed, [era], [era.runs]) if s.run_number == run_number), None)
    return None if slot is None else _RunBuilder(seed, slot, _Context.build()).run()


# ---------------------------------------------------------------------------------------------------------
# The plan: which runs exist, their class, length and start time (cheap; the details come per run)


@dataclass(frozen=True)
class RunSlot:
    """A planned run: what is decided before its details are generated."""

    era: Era
    run_number: int
    run_class: str
    lumisections: int
    start: datetime
    position: float  # where the run sits in the registry's time, 0 (first era's start) to 1 (last era's end)
    ongoing: bool


_LENGTHS = {"collisions": (320, 20, 3600), "cosmics": (240, 10, 2000), "commissioning": (60, 1, 800)}


def _era_counts(eras: Sequence[Era], count: int) -> list[int]:
    """Runs per era: the real densities, scaled up (never beyond an era's span) when ``count`` exceeds them."""
    usual = sum(era.runs for era in eras)
    if count <= usual:
        return [era.runs for era in eras]
    counts = [min(era.span, era.runs * count // usual) for era in eras]
    while sum(counts) < count:
        index = max(range(len(eras)), key=lambda i: eras[i].span - counts[i])
        counts[index] += min(count - sum(counts), eras[index].span - counts[index])
    return counts


def _plan(seed: int, eras: Sequence[Era], counts: list[int]) -> list[RunSlot]:
    """Every run of ``eras`` in order; each era's runs come from that era's own random stream."""
    first, last = ERAS[0].begins, ERAS[-1].ends
    slots: list[RunSlot] = []
    for era, count in zip(eras, counts, strict=True):
        rng = _stream(seed, era.first_run, 0)
        numbers = _run_numbers(rng, era, count)
        classes, weights = [c for c, _ in era.classes], list(itertools.accumulate(w for _, w in era.classes))
        lengths = {cls: _LENGTHS[kind_of(cls)] for cls in classes}
        drafts = [_draft(rng, number, rng.choices(classes, cum_weights=weights)[0], lengths) for number in numbers]
        for start, (number, cls, lumisections) in _layout(era, drafts):
            slots.append(RunSlot(era, number, cls, lumisections, start, (start - first) / (last - first), False))
    if slots and slots[-1].era is ERAS[-1]:  # the newest run of the registry is still going
        slots[-1] = replace(slots[-1], ongoing=True)
    return slots


def _run_numbers(rng: random.Random, era: Era, count: int) -> list[int]:
    """``count`` of the era's run numbers at random, the :data:`~backend.eras.KNOWN_RUNS` among them."""
    numbers = set(rng.sample(range(era.first_run, era.last_run + 1), count))
    missing = [n for n in KNOWN_RUNS if era.first_run <= n <= era.last_run and n not in numbers]
    replaceable = sorted(numbers.difference(KNOWN_RUNS))
    numbers.difference_update(rng.sample(replaceable, min(len(missing), len(replaceable))))
    numbers.update(missing[: count - len(numbers)])
    return sorted(numbers)


def _draft(
    rng: random.Random, number: int, cls: str, lengths: dict[str, tuple[int, int, int]]
) -> tuple[int, str, int, float]:
    """A run's length and the relative pause after it."""
    median, low, high = lengths[cls]
    lumisections = max(low, min(high, int(rng.lognormvariate(math.log(median), 0.75))))
    return number, cls, lumisections, rng.uniform(0.2, 1.8)


def _layout(era: Era, drafts: list[tuple[int, str, int, float]]) -> Iterator[tuple[datetime, tuple[int, str, int]]]:
    """Start times filling the era's dates; runs are shortened when the era could not hold them one after another."""
    span = (era.ends - era.begins).total_seconds()
    busy = sum(d[2] for d in drafts) * LS_SECONDS
    shrink = min(1.0, 0.8 * span / busy) if busy else 1.0
    lengths = [max(1, int(d[2] * shrink)) for d in drafts]
    idle = span - sum(lengths) * LS_SECONDS
    pauses = sum(d[3] for d in drafts) or 1.0
    clock = 0.0
    for (number, cls, _, pause), lumisections in zip(drafts, lengths, strict=True):
        yield era.begins + timedelta(seconds=int(clock)), (number, cls, lumisections)
        clock += lumisections * LS_SECONDS + idle * pause / pauses


def _stream(seed: int, number: int, purpose: int) -> random.Random:
    """An independent random stream per (seed, run or era number, purpose): runs can be generated alone."""
    return random.Random((seed & (2**64 - 1)) << 32 | number << 4 | purpose)


def _sample(slots: list[RunSlot], count: int) -> list[RunSlot]:
    """``count`` slots evenly spread over ``slots``, the first and the last included."""
    if count >= len(slots):
        return slots
    if count == 1:
        return slots[:1]
    return [slots[i * (len(slots) - 1) // (count - 1)] for i in range(count)]


# ---------------------------------------------------------------------------------------------------------
# One run
_ALL_BITS = bit_mask(OMS_LUMISECTION_BITS)
_BEAM = bit_mask(["beam1_present", "beam2_present"])
_STABLE = bit_mask(["beam1_stable", "beam2_stable"])
_TRACKER = bit_mask(["bpix_ready", "fpix_ready", "tibtid_ready", "tob_ready", "tecp_ready", "tecm_ready"])
_PPS = bit_mask(["rp_time_ready", "rp_sect_45_ready", "rp_sect_56_ready"])
_CASTOR = bit_mask(["castor_ready"])  # CASTOR was removed for 2018
_ZDC = bit_mask(["zdc_ready"])  # the ZDC is read out for heavy ions only
_GEM = bit_mask(["gemp_ready", "gemm_ready"])
_PHYSICS = bit_mask(["physics_flag"])
_ACTIVE = bit_mask(["cms_active"])
_DROPOUT_BITS = ("dtp_ready", "rpc_ready", "cscp_ready", "ebp_ready", "hbhea_ready", "esp_ready", "bpix_ready")
_COMMENTS = (
    ("HV trip in sector 4", "Hardware"),
    ("noisy channels", "Noise"),
    ("FED error, partial readout", "DAQ"),
    ("high occupancy from beam background", "Beam"),
    ("wrong configuration loaded", "Configuration"),
    ("timing shift", "Timing"),
)
_SCHEMES_OTHER = ("Single_12b_9_1_1_4bunches", "Multi_56b_36_16_16_8bpi_13inj", "Single_2b_1_1_1")
_STOP_REASONS = (None, None, None, "Beam dump", "Tracker in error", "DAQ problem", "end of fill", "HLT crash")
_SIGNIFICANT = {"collisions": 0.9, "cosmics": 0.55, "commissioning": 0.3}
_PRESCALES = {"collisions": ("2.0e34", "1.7e34", "1.5e34")}
_ION_LUMINOSITY = 0.001  # lead-ion luminosity per lumisection relative to protons


@dataclass(frozen=True)
class _Context:
    """What every run reads from the catalogue, looked up once per registry."""

    included: tuple[str, ...]
    offline_states: tuple[str, ...]
    online: tuple[str, ...]
    offline: tuple[str, ...]

    @classmethod
    def build(cls) -> _Context:
        catalogue = default_catalogue()
        attributes = catalogue.attributes()
        return cls(
            included=tuple(a.name for a in attributes if a.name.endswith("_included")),
            offline_states=tuple(
                sorted(a.name for a in attributes if a.owner is Owner.DATASET_ATTRIBUTE and a.name.endswith("_state"))
            ),
            online=tuple(f.name for f in catalogue.certifiable(online=True)),
            offline=tuple(f.name for f in catalogue.certifiable(online=False)),
        )


class _RunBuilder:
    """Builds one run of a slot from the run's own random stream; each method makes one piece."""

    def __init__(self, seed: int, slot: RunSlot, context: _Context) -> None:
        self.slot, self.era, self.context = slot, slot.era, context
        self.kind = kind_of(slot.run_class)
        self.rng = _stream(seed, slot.run_number, 2)
        beam = self.era.beam
        self.beam_on = beam is not None and (
            self.kind == "collisions" or (self.kind == "commissioning" and self.rng.random() < 0.5)
        )

    def run(self) -> DemoRun:
        slot, n = self.slot, self.slot.lumisections
        oms_ranges = self._oms_ranges()
        delivered, recorded = self._luminosity(oms_ranges)
        significant = self._significant()
        state = self._state(significant)
        oms = self._oms_attributes(recorded, delivered)
        rr = {
            "class": slot.run_class,
            "state": state,
            "significant": significant,
            "stop_reason": self.rng.choice(_STOP_REASONS),
            "short_run": n < 20,
            "run_needs_to_be_updated_manually": False,
        }
        datasets = self._datasets(state, significant, oms_ranges)
        return DemoRun(slot.run_number, n, oms, rr, oms_ranges, recorded, delivered, datasets, self.era.name)

    def _significant(self) -> bool:
        if self.slot.lumisections < 10:
            return False
        return self.rng.random() < _SIGNIFICANT[self.kind] * self.era.certified

    def _state(self, significant: bool) -> str:
        if not significant:
            return "OPEN"
        draw = self.rng.random()
        if self.slot.position > 0.97:  # the last weeks are still being certified
            return "OPEN" if draw < 0.6 else "SIGNOFF"
        return "COMPLETED" if draw < 0.75 else ("SIGNOFF" if draw < 0.9 else "OPEN")

    # -- OMS ----------------------------------------------------------------------------------------------
    def _fill(self) -> int | None:
        beam = self.era.beam
        if beam is None or (self.kind != "collisions" and self.rng.random() >= 0.7):
            return None
        through = (self.slot.start - self.era.begins) / (self.era.ends - self.era.begins)
        return beam.fills[0] + int((beam.fills[1] - beam.fills[0]) * through)

    def _oms_attributes(self, recorded: array[int], delivered: array[int]) -> dict[str, Any]:
        rng, era, slot = self.rng, self.era, self.slot
        collisions = self.kind == "collisions" and era.beam is not None
        beam = era.beam if collisions else None
        duration = int(slot.lumisections * LS_SECONDS)
        end = slot.start + timedelta(seconds=duration)
        magnet = 3.8 if era.magnet and rng.random() > 0.05 else round(rng.uniform(0.0, 0.03), 4)
        included = {name: rng.random() > 0.04 for name in self.context.included}
        included["castor_included"] = False
        mode = f"{'collisions' if collisions else 'cosmics'}{'HI' if era.zdc and collisions else ''}{era.year}"
        oms: dict[str, Any] = {
            "run_number": slot.run_number,
            "energy": beam.energy if beam else 0,
            "b_field": round(magnet + rng.uniform(-0.0008, 0.0008), 4) if magnet > 1 else magnet,
            "l1_rate": round(rng.uniform(60000, 100000) if collisions else rng.uniform(50, 400), 2),
            "duration": duration,
            "end_lumi": round(rng.uniform(5000, 12000), 3) if collisions else 0,
            "init_lumi": round(rng.uniform(12000, 21000), 3) if collisions else 0,
            "fill_number": self._fill(),
            "ls_duration": slot.lumisections,
            "recorded_lumi": round(sum(recorded) / UB_PER_PB, 3),
            "delivered_lumi": round(sum(delivered) / UB_PER_PB, 3),
            "hlt_physics_rate": round(rng.uniform(800, 1500) if collisions else rng.uniform(5, 50), 2),
            "hlt_physics_size": round(rng.uniform(1.0, 2.5), 3),
            "hlt_physics_counter": rng.randint(10**5, 10**8),
            "l1_triggers_counter": rng.randint(10**6, 10**9),
            "hlt_physics_throughput": round(rng.uniform(0.5, 2.5), 3),
            "initial_prescale_index": rng.randint(0, 3),
            "l1_key": f"l1_trg_{mode}/v{rng.randint(60, 90)}",
            "hlt_key": self._hlt_key(),
            "l1_menu": beam.l1_menu if beam else f"L1Menu_Cosmics{era.year}_v1_0_0",
            "sequence": "GLOBAL-RUN",
            "clock_type": "LHC" if collisions or rng.random() < 0.5 else "LOCAL",
            "l1_hlt_mode": f"l1_hlt_{mode}/v{rng.randint(150, 190)}",
            "trigger_mode": f"l1_hlt_{mode}/v{rng.randint(150, 190)}",
            "cmssw_version": rng.choice(era.cmssw),
            "l1_key_stripped": f"{mode}/v{rng.randint(60, 90)}",
            "fill_type_party1": beam.particles if beam else None,
            "fill_type_party2": beam.particles if beam else None,
            "fill_type_runtime": beam.runtime if beam else None,
            "l1_hlt_mode_stripped": f"{mode}/v{rng.randint(150, 190)}",
            "injection_scheme": self._injection_scheme(),
            "start_time": _iso(slot.start),
            "end_time": None if slot.ongoing else _iso(end),
            "last_update": _iso(end + timedelta(minutes=rng.randint(1, 600))),
            "stable_beam": collisions and rng.random() < 0.92,
            "tier0_transfer": rng.random() < 0.97,
            **included,
            "components": sorted(n.removesuffix("_included").upper() for n, on in included.items() if on),
        }
        oms["beams_present_and_stable"] = oms["stable_beam"]
        return oms

    def _hlt_key(self) -> str:
        era, rng = self.era, self.rng
        if self.kind == "collisions" and era.beam is not None:
            special = era.beam.special_keys
            return rng.choice(special) if special and rng.random() < 0.04 else rng.choice(era.beam.hlt_keys)
        return rng.choice(era.cosmic_keys if self.kind == "cosmics" else era.commissioning_keys)

    def _injection_scheme(self) -> str | None:
        beam = self.era.beam
        if beam is None or not self.beam_on:
            return None
        if self.kind == "collisions":
            return self.rng.choice(beam.schemes) if self.rng.random() < 0.9 else self.rng.choice(_SCHEMES_OTHER)
        return self.rng.choice(_SCHEMES_OTHER)

    def _oms_ranges(self) -> list[OmsRange]:
        """Constant stretches of the OMS bits: ramps at start/end of collision runs, drop-outs, prescale steps."""
        rng, kind, n = self.rng, self.kind, self.slot.lumisections
        nulls = _GEM if self.slot.run_number < 317000 else 0
        never = _CASTOR | (0 if self.era.zdc else _ZDC)
        if kind == "collisions" and self.beam_on:
            steady = _ALL_BITS & ~never
            ramp = steady & ~(_STABLE | _TRACKER | _PPS | _PHYSICS)
        elif kind == "cosmics" or not self.beam_on:
            steady = _ALL_BITS & ~(never | _BEAM | _STABLE | _PPS | _PHYSICS)
            ramp = steady & ~(_TRACKER if kind == "commissioning" else 0)
        else:
            steady = _ALL_BITS & ~(never | _STABLE | _PPS | _PHYSICS)
            ramp = steady & ~_TRACKER
        ramp_in = min(n - 1, rng.randint(0, 6)) if kind != "cosmics" else 0
        ramp_out = min(n - 1 - ramp_in, rng.randint(0, 4)) if kind == "collisions" else 0
        marks: list[tuple[int, int, int]] = [(1, n, steady)]  # (start, end, bits) later ones win
        if ramp_in:
            marks.append((1, ramp_in, ramp))
        if ramp_out:
            marks.append((n - ramp_out + 1, n, ramp))
        if n > 30 and rng.random() < 0.3:
            first = rng.randint(ramp_in + 1, n - 10)
            drop = bit_mask([rng.choice(_DROPOUT_BITS)])
            marks.append((first, min(n, first + rng.randint(1, 60)), -drop))
        prescale_cuts = sorted(rng.sample(range(2, n + 1), k=min(2, n - 1)))
        names = _PRESCALES.get(kind, ("Cosmics", "Cosmics", "Cosmics"))
        return _flatten_oms(marks, nulls, n, prescale_cuts, names)

    def _luminosity(self, oms_ranges: list[OmsRange]) -> tuple[array[int], array[int]]:
        """Delivered/recorded luminosity per lumisection in inverse microbarns (decaying with the fill)."""
        n = self.slot.lumisections
        peak = self.rng.uniform(8000.0, 21000.0) * LS_SECONDS  # inst. lumi in ub^-1/s → ub^-1 per LS
        decay = self.rng.uniform(900, 2500)
        efficiency = self.rng.uniform(0.9, 0.975)
        phase = self.rng.uniform(0, 6.28)
        if self.kind != "collisions":
            peak /= 50
        if self.era.zdc:
            peak *= _ION_LUMINOSITY
        with_beam = [r for r in oms_ranges if r.true_bits & _BEAM]
        if not with_beam:
            return array("q", bytes(8 * n)), array("q", bytes(8 * n))
        number = numpy.arange(1, n + 1, dtype=numpy.float64)
        shape = peak * numpy.exp(-number / decay) * (1 + 0.02 * numpy.sin(number * 0.7 + phase))
        delivered = numpy.zeros(n, dtype=numpy.int64)
        recorded = numpy.zeros(n, dtype=numpy.int64)
        for rng_ in with_beam:
            part = slice(rng_.start - 1, rng_.end)
            values = shape[part] * (1.0 if rng_.true_bits & _STABLE else 0.05)
            delivered[part] = values.astype(numpy.int64)  # truncated, like int()
            recorded[part] = (delivered[part] * (efficiency if rng_.true_bits & _ACTIVE else 0.0)).astype(numpy.int64)
        return _int64_array(delivered), _int64_array(recorded)

    # -- datasets and statuses ----------------------------------------------------------------------------
    def _datasets(self, state: str, significant: bool, oms_ranges: list[OmsRange]) -> list[DemoDataset]:
        online = DemoDataset("online", {"global_state": state})
        if not significant:
            return [online]
        online.statuses = self._online_statuses(state, oms_ranges)
        datasets = [online]
        names = self.era.datasets_of(self.slot.run_class)
        if not names:
            return datasets
        prompt_state = self._offline_state(state)
        prompt = DemoDataset(names[0], self._offline_attributes(prompt_state))
        if prompt_state != "waiting dqm gui":
            prompt.statuses = self._offline_statuses(online.statuses)
        datasets.append(prompt)
        for name in names[1:]:
            if state in ("SIGNOFF", "COMPLETED") and prompt.statuses:
                rereco_state = "COMPLETED" if state == "COMPLETED" and self.rng.random() < 0.8 else "OPEN"
                rereco = DemoDataset(name, self._offline_attributes(rereco_state))
                rereco.statuses = {c: self._fix_some_bad(r) for c, r in prompt.statuses.items()}
                datasets.append(rereco)
        return datasets

    def _offline_state(self, run_state: str) -> str:
        if run_state == "COMPLETED":
            return "COMPLETED" if self.rng.random() < 0.85 else "SIGNOFF"
        if run_state == "SIGNOFF":
            return self.rng.choice(("OPEN", "SIGNOFF"))
        return self.rng.choice(("waiting dqm gui", "OPEN"))

    def _offline_attributes(self, state: str) -> dict[str, Any]:
        attributes: dict[str, Any] = dict.fromkeys(self.context.offline_states, state)
        attributes["appeared_in"] = "DQM GUI"
        return attributes

    def _online_statuses(self, state: str, oms_ranges: list[OmsRange]) -> dict[str, list[StatusRange]]:
        ramp_end = next((r.start for r in oms_ranges if r.true_bits & _TRACKER == _TRACKER), 1)
        return {name: self._component(name, state, ramp_end) for name in self.context.online}

    def _component(self, name: str, state: str, ramp_end: int) -> list[StatusRange]:
        rng, n = self.rng, self.slot.lumisections
        collisions = self.kind == "collisions"
        whole = StatusRange(1, n, "GOOD")
        if name == "castor-castor" or (not collisions and name in ("ctpps-ctpps", "lumi-lumi")):
            return [whole.with_status("EXCLUDED")]
        if state == "OPEN" and rng.random() < 0.25:
            return [StatusRange(1, n, "NOTSET")]
        ranges = [whole]
        if name.startswith("tracker-") and collisions and ramp_end > 1:
            ranges = overlay(ranges, StatusRange(1, ramp_end - 1, "STANDBY"))
        if rng.random() < 0.012:
            comment, cause = rng.choice(_COMMENTS)
            return [StatusRange(1, n, "BAD", comment, cause)]
        if n > 5 and rng.random() < 0.07:
            first = rng.randint(1, n - 1)
            comment, cause = rng.choice(_COMMENTS)
            last = min(n, first + rng.randint(0, 50))
            ranges = overlay(ranges, StatusRange(first, last, "BAD", comment, cause))
        if state == "OPEN" and n > 5 and rng.random() < 0.02:
            keep = rng.randint(1, n - 1)  # a hole at the end: EMPTY lumisections, blocks sign-off
            ranges = [r.with_bounds(r.start, min(r.end, keep)) for r in ranges if r.start <= keep]
        if state == "OPEN" and n > 5 and rng.random() < 0.01:
            first = rng.randint(1, n)
            ranges = overlay(ranges, StatusRange(first, first, "NO VALUE FOUND"))
        return ranges

    def _offline_statuses(self, online: dict[str, list[StatusRange]]) -> dict[str, list[StatusRange]]:
        n = self.slot.lumisections
        statuses: dict[str, list[StatusRange]] = {}
        for name in self.context.offline:
            if name in online:
                ranges = [r for r in online[name] if r.status != "NO VALUE FOUND"]
                ranges = [r if r.status != "NOTSET" else r.with_status("GOOD") for r in ranges]
            else:
                ranges = [StatusRange(1, n, "GOOD")]
            if n > 5 and self.rng.random() < 0.04:
                first = self.rng.randint(1, n - 1)
                comment, cause = self.rng.choice(_COMMENTS)
                ranges = overlay(ranges, StatusRange(first, min(n, first + 20), "BAD", comment, cause))
            statuses[name] = merge_equal(ranges)
        return statuses

    def _fix_some_bad(self, ranges: list[StatusRange]) -> list[StatusRange]:
        fixed = [r.with_status("GOOD") if r.status == "BAD" and self.rng.random() < 0.5 else r for r in ranges]
        return merge_equal(fixed)


def _flatten_oms(
    marks: list[tuple[int, int, int]], nulls: int, lumisections: int, prescale_cuts: list[int], names: Sequence[str]
) -> list[OmsRange]:
    """Turn overlapping marks (later wins; a negative mask clears bits) into constant, non-overlapping ranges."""
    bounds = sorted({1, lumisections + 1, *prescale_cuts, *(m[0] for m in marks), *(m[1] + 1 for m in marks)})
    segments: list[tuple[int, int, tuple[int, int]]] = []
    for first, after in itertools.pairwise(bounds):
        if first > lumisections:
            break
        bits = 0
        for start, end, mask in marks:
            if start <= first <= end:
                bits = bits & ~(-mask) if mask < 0 else mask
        prescale = sum(1 for cut in prescale_cuts if cut <= first)
        segments.append((first, after - 1, (bits & ~nulls, prescale)))
    return [
        OmsRange(first, last, bits, nulls, prescale, names[prescale])
        for first, last, (bits, prescale) in coalesce(segments)
    ]


def _int64_array(values: numpy.ndarray[Any, numpy.dtype[numpy.int64]]) -> array[int]:
    out = array("q")
    out.frombytes(values.astype(numpy.int64).tobytes())
    return out


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
