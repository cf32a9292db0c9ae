"""A deterministic, synthetic but realistic 2018-like Run Registry year (no real CMS data).

``generate(runs, seed)`` returns the same :class:`DemoRegistry` for the same arguments. The default size
(:data:`DEFAULT_RUNS` runs) picks run numbers in 315000–325500; a larger ``runs`` numbers them consecutively from
315000 (so 50,000 runs reach 364999) and lets the calendar run on past 2018.

What it contains, per run: every OMS run attribute of the catalogue (a few deliberately NULL, e.g. the injection
scheme of runs without beam), RR attributes (class Collisions18/Cosmics18/Commissioning18, state
OPEN/SIGNOFF/COMPLETED, significance), OMS per-lumisection bits as ranges (beam/tracker ramps at the start and end of
collision runs, detector drop-outs, GEM bits NULL early in the year), per-lumisection recorded/delivered luminosity,
and datasets: ``online`` for every run, ``/PromptReco/{Collisions,Cosmics}2018{A,B,C,D}/DQM`` by run period for
significant runs and ``/ReReco/Run2018{A,B,C,D}_UL2018/DQM`` for signed-off collision runs. Significant runs carry
per-lumisection statuses for every certifiable component with BAD/STANDBY/EXCLUDED/NOTSET stretches; runs that
were never significant carry none.

>>> registry = generate(runs=20, seed=1)
>>> len(registry.runs), registry.runs[0].datasets[0].name
(20, 'online')
>>> generate(runs=20, seed=1).runs[5].oms == registry.runs[5].oms
True
"""

from __future__ import annotations

import itertools
import math
import random
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from backend.lumiranges import StatusRange, merge_equal, overlay
from querylang.catalogue import OMS_LUMISECTION_BITS, Owner, default_catalogue

__all__ = [
    "DEFAULT_RUNS",
    "LS_SECONDS",
    "DemoDataset",
    "DemoRegistry",
    "DemoRun",
    "OmsRange",
    "bit_mask",
    "generate",
    "iter_runs",
    "period_of",
]

#: Runs in the default demo year.
DEFAULT_RUNS = 2000
#: Length of one lumisection in seconds (2^18 LHC orbits).
LS_SECONDS = 23.31
_FIRST_RUN, _LAST_RUN = 315000, 325500
_YEAR_START = datetime(2018, 3, 20, 8, 0, tzinfo=timezone.utc)
_PERIOD_STARTS = ((315252, "A"), (317080, "B"), (319337, "C"), (320673, "D"))


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


@dataclass
class DemoRegistry:
    seed: int
    runs: list[DemoRun]


def bit_mask(names: Sequence[str]) -> int:
    """The mask of OMS lumisection bits ``names`` (bit i is OMS_LUMISECTION_BITS[i])."""
    return sum(1 << OMS_LUMISECTION_BITS.index(n) for n in names)


def period_of(run_number: int) -> str | None:
    """The 2018 run period letter of a run (``None`` before the first collisions)."""
    letter = None
    for first, name in _PERIOD_STARTS:
        if run_number >= first:
            letter = name
    return letter


def generate(runs: int | None = None, seed: int = 2018) -> DemoRegistry:
    """Generate the demo year: ``runs`` runs (default :data:`DEFAULT_RUNS`), deterministic in ``seed``."""
    return DemoRegistry(seed=seed, runs=list(iter_runs(runs, seed)))


def iter_runs(runs: int | None = None, seed: int = 2018) -> Iterator[DemoRun]:
    """The runs of :func:`generate`, one at a time (loading a large registry without holding it in memory)."""
    count = DEFAULT_RUNS if runs is None else runs
    if count < 0:
        raise ValueError(f"runs must be >= 0, got {count}")
    return _YearGenerator(seed).year(count)


# ---------------------------------------------------------------------------------------------------------
_ALL_BITS = bit_mask(OMS_LUMISECTION_BITS)
_BEAM = bit_mask(["beam1_present", "beam2_present"])
_STABLE = bit_mask(["beam1_stable", "beam2_stable"])
_TRACKER = bit_mask(["bpix_ready", "fpix_ready", "tibtid_ready", "tob_ready", "tecp_ready", "tecm_ready"])
_PPS = bit_mask(["rp_time_ready", "rp_sect_45_ready", "rp_sect_56_ready"])
_NEVER = bit_mask(["castor_ready", "zdc_ready"])  # CASTOR was removed for 2018, no heavy ions in this demo
_GEM = bit_mask(["gemp_ready", "gemm_ready"])
_PHYSICS = bit_mask(["physics_flag"])
_DROPOUT_BITS = ("dtp_ready", "rpc_ready", "cscp_ready", "ebp_ready", "hbhea_ready", "esp_ready", "bpix_ready")

_INCLUDED = [a.name for a in default_catalogue().attributes() if a.name.endswith("_included")]
_OFFLINE_STATES = sorted(
    a.name for a in default_catalogue().attributes() if a.owner is Owner.DATASET_ATTRIBUTE and a.name.endswith("_state")
)
_COMMENTS = (
    ("HV trip in sector 4", "Hardware"),
    ("noisy channels", "Noise"),
    ("FED error, partial readout", "DAQ"),
    ("high occupancy from beam background", "Beam"),
    ("wrong configuration loaded", "Configuration"),
    ("timing shift", "Timing"),
)
_HLT_COLLISIONS = (
    "/cdaq/physics/Run2018/2e34/v3.5.0/HLT/V4",
    "/cdaq/physics/Run2018/2e34/v3.6.1/HLT/V2",
    "/cdaq/physics/Run2018/2e34/v3.6.1/HLT/V4",
    "/cdaq/physics/Run2018/2e34/v1.2.3/HLT/V5",
)
_HLT_WMASS = "/cdaq/special/2018/LowPU/WMass/v1.1/HLT/V3"
_HLT_COSMICS = ("/cdaq/cosmic/commissioning2018/CRUZET/v2.1/HLT/V5", "/cdaq/cosmic/commissioning2018/CRAFT/v1.4/HLT/V2")
_HLT_COMMISSIONING = (
    "/cdaq/special/commissioning2018/splashes/v1.0/HLT/V3",
    "/cdaq/special/2018/circulating/v2.0/HLT/V1",
)
_SCHEMES_25NS = (
    "25ns_2556b_2544_2215_2332_144bpi_20injV3",
    "25ns_2460b_2448_2052_2154_144bpi_20injV3",
    "25ns_1227b_1214_1054_1102_144bpi_10inj",
    "25ns_603b_590_526_547_96bpi_8inj",
)
_SCHEMES_OTHER = ("Single_12b_9_1_1_4bunches", "Multi_56b_36_16_16_8bpi_13inj", "Single_2b_1_1_1")
_STOP_REASONS = (None, None, None, "Beam dump", "Tracker in error", "DAQ problem", "end of fill", "HLT crash")


class _YearGenerator:
    """Draws one year from a seeded generator; each method builds one piece of a run."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.fill = 6500

    def year(self, count: int) -> Iterator[DemoRun]:
        numbers = self._run_numbers(count)
        clock = _YEAR_START
        for index, number in enumerate(numbers):
            run = self._run(number, clock, is_last=index == len(numbers) - 1, fraction=index / max(1, count))
            yield run
            clock += timedelta(seconds=run.oms["duration"] + self.rng.randint(60, 900))

    def _run_numbers(self, count: int) -> list[int]:
        span = _LAST_RUN - _FIRST_RUN + 1
        if count <= span:
            return sorted(self.rng.sample(range(_FIRST_RUN, _LAST_RUN + 1), count))
        return list(range(_FIRST_RUN, _FIRST_RUN + count))

    # -- one run ------------------------------------------------------------------------------------------
    def _run(self, number: int, start: datetime, *, is_last: bool, fraction: float) -> DemoRun:
        cls = self._run_class(number)
        lumisections = self._lumisection_count(cls)
        self.fill = max(self.fill, 6500 + int(fraction * 1000) + self.rng.randint(0, 2))  # fills follow the year
        oms_ranges = self._oms_ranges(cls, number, lumisections)
        delivered, recorded = self._luminosity(cls, oms_ranges, lumisections)
        significant = self._significant(cls, lumisections)
        state = self._state(significant, fraction)
        oms = self._oms_attributes(number, cls, start, lumisections, recorded, delivered, ongoing=is_last)
        rr = {
            "class": cls,
            "state": state,
            "significant": significant,
            "stop_reason": self.rng.choice(_STOP_REASONS),
            "short_run": lumisections < 20,
            "run_needs_to_be_updated_manually": False,
        }
        datasets = self._datasets(number, cls, state, significant, oms_ranges, lumisections)
        return DemoRun(number, lumisections, oms, rr, oms_ranges, recorded, delivered, datasets)

    def _run_class(self, number: int) -> str:
        draw = self.rng.random()
        if period_of(number) is None:  # before first collisions: cosmics and beam commissioning
            return "Cosmics18" if draw < 0.6 else "Commissioning18"
        if draw < 0.78:
            return "Collisions18"
        return "Cosmics18" if draw < 0.92 else "Commissioning18"

    def _lumisection_count(self, cls: str) -> int:
        median, low, high = {"Collisions18": (320, 20, 3600), "Cosmics18": (240, 10, 2000)}.get(cls, (60, 1, 800))
        return max(low, min(high, int(self.rng.lognormvariate(math.log(median), 0.75))))

    def _significant(self, cls: str, lumisections: int) -> bool:
        if lumisections < 10:
            return False
        chance = {"Collisions18": 0.9, "Cosmics18": 0.55}.get(cls, 0.3)
        return self.rng.random() < chance

    def _state(self, significant: bool, fraction: float) -> str:
        if not significant:
            return "OPEN"
        draw = self.rng.random()
        if fraction > 0.9:  # the end of the year is still being certified
            return "OPEN" if draw < 0.6 else "SIGNOFF"
        return "COMPLETED" if draw < 0.75 else ("SIGNOFF" if draw < 0.9 else "OPEN")

    # -- OMS ----------------------------------------------------------------------------------------------
    def _oms_attributes(
        self,
        number: int,
        cls: str,
        start: datetime,
        lumisections: int,
        recorded: array[int],
        delivered: array[int],
        *,
        ongoing: bool,
    ) -> dict[str, Any]:
        rng = self.rng
        collisions = cls == "Collisions18"
        duration = int(lumisections * LS_SECONDS)
        end = start + timedelta(seconds=duration)
        hlt_key = self._hlt_key(cls)
        magnet = 3.8 if rng.random() > 0.05 else round(rng.uniform(0.0, 0.03), 4)
        included = {name: rng.random() > 0.04 for name in _INCLUDED}
        included["castor_included"] = False
        mode = "collisions2018" if collisions else "cosmics2018"
        oms: dict[str, Any] = {
            "run_number": number,
            "energy": 6500 if collisions else 0,
            "b_field": round(magnet + rng.uniform(-0.0008, 0.0008), 4) if magnet > 1 else magnet,
            "l1_rate": round(rng.uniform(60000, 100000) if collisions else rng.uniform(50, 400), 2),
            "duration": duration,
            "end_lumi": round(rng.uniform(5000, 12000), 3) if collisions else 0,
            "init_lumi": round(rng.uniform(12000, 21000), 3) if collisions else 0,
            "fill_number": self.fill if collisions or rng.random() < 0.7 else None,
            "ls_duration": lumisections,
            "recorded_lumi": round(sum(recorded) / 1e6, 3),  # ub^-1 → pb^-1
            "delivered_lumi": round(sum(delivered) / 1e6, 3),
            "hlt_physics_rate": round(rng.uniform(800, 1500) if collisions else rng.uniform(5, 50), 2),
            "hlt_physics_size": round(rng.uniform(1.0, 2.5), 3),
            "hlt_physics_counter": rng.randint(10**5, 10**8),
            "l1_triggers_counter": rng.randint(10**6, 10**9),
            "hlt_physics_throughput": round(rng.uniform(0.5, 2.5), 3),
            "initial_prescale_index": rng.randint(0, 3),
            "l1_key": f"l1_trg_{mode}/v{rng.randint(60, 90)}",
            "hlt_key": hlt_key,
            "l1_menu": "L1Menu_Collisions2018_v2_1_0" if collisions else "L1Menu_Cosmics2018_v1_0_0",
            "sequence": "GLOBAL-RUN",
            "clock_type": "LHC" if collisions or rng.random() < 0.5 else "LOCAL",
            "l1_hlt_mode": f"l1_hlt_{mode}/v{rng.randint(150, 190)}",
            "trigger_mode": f"l1_hlt_{mode}/v{rng.randint(150, 190)}",
            "cmssw_version": rng.choice(("CMSSW_10_1_5", "CMSSW_10_1_7", "CMSSW_10_1_9", "CMSSW_10_2_5")),
            "l1_key_stripped": f"{mode}/v{rng.randint(60, 90)}",
            "fill_type_party1": "PROTON" if collisions else None,
            "fill_type_party2": "PROTON" if collisions else None,
            "fill_type_runtime": "PROTONS" if collisions else None,
            "l1_hlt_mode_stripped": f"{mode}/v{rng.randint(150, 190)}",
            "injection_scheme": self._injection_scheme(cls),
            "start_time": _iso(start),
            "end_time": None if ongoing else _iso(end),
            "last_update": _iso(end + timedelta(minutes=rng.randint(1, 600))),
            "stable_beam": collisions and rng.random() < 0.92,
            "tier0_transfer": rng.random() < 0.97,
            **included,
            "components": sorted(n.removesuffix("_included").upper() for n, on in included.items() if on),
        }
        oms["beams_present_and_stable"] = oms["stable_beam"]
        return oms

    def _hlt_key(self, cls: str) -> str:
        if cls == "Collisions18":
            return _HLT_WMASS if self.rng.random() < 0.04 else self.rng.choice(_HLT_COLLISIONS)
        return self.rng.choice(_HLT_COSMICS if cls == "Cosmics18" else _HLT_COMMISSIONING)

    def _injection_scheme(self, cls: str) -> str | None:
        if cls == "Collisions18":
            return self.rng.choice(_SCHEMES_25NS) if self.rng.random() < 0.9 else self.rng.choice(_SCHEMES_OTHER)
        if cls == "Commissioning18" and self.rng.random() < 0.5:
            return self.rng.choice(_SCHEMES_OTHER)
        return None

    def _oms_ranges(self, cls: str, number: int, lumisections: int) -> list[OmsRange]:
        """Constant stretches of the OMS bits: ramps at start/end of collision runs, drop-outs, prescale steps."""
        rng = self.rng
        nulls = _GEM if number < 317000 else 0
        if cls == "Collisions18":
            steady = _ALL_BITS & ~_NEVER
            ramp = steady & ~(_STABLE | _TRACKER | _PPS | _PHYSICS)
        elif cls == "Cosmics18":
            steady = _ALL_BITS & ~(_NEVER | _BEAM | _STABLE | _PPS | _PHYSICS)
            ramp = steady
        else:
            steady = _ALL_BITS & ~(_NEVER | _STABLE | _PPS | _PHYSICS | (_BEAM if rng.random() < 0.5 else 0))
            ramp = steady & ~_TRACKER
        ramp_in = min(lumisections - 1, rng.randint(0, 6)) if cls != "Cosmics18" else 0
        ramp_out = min(lumisections - 1 - ramp_in, rng.randint(0, 4)) if cls == "Collisions18" else 0
        marks: list[tuple[int, int, int]] = [(1, lumisections, steady)]  # (start, end, bits) later ones win
        if ramp_in:
            marks.append((1, ramp_in, ramp))
        if ramp_out:
            marks.append((lumisections - ramp_out + 1, lumisections, ramp))
        if lumisections > 30 and rng.random() < 0.3:
            first = rng.randint(ramp_in + 1, lumisections - 10)
            drop = bit_mask([rng.choice(_DROPOUT_BITS)])
            marks.append((first, min(lumisections, first + rng.randint(1, 60)), -drop))
        prescale_cuts = sorted(rng.sample(range(2, lumisections + 1), k=min(2, lumisections - 1)))
        return _flatten_oms(marks, nulls, lumisections, prescale_cuts, cls)

    def _luminosity(self, cls: str, oms_ranges: list[OmsRange], lumisections: int) -> tuple[array[int], array[int]]:
        """Delivered/recorded luminosity per lumisection in inverse microbarns (decaying with the fill)."""
        delivered = array("q", bytes(8 * lumisections))
        recorded = array("q", bytes(8 * lumisections))
        peak = self.rng.uniform(8000.0, 21000.0) * LS_SECONDS  # inst. lumi in ub^-1/s → ub^-1 per LS
        decay = self.rng.uniform(900, 2500)
        efficiency = self.rng.uniform(0.9, 0.975)
        phase = self.rng.uniform(0, 6.28)
        active = bit_mask(["cms_active"])
        for rng_ in oms_ranges:
            if not rng_.true_bits & _BEAM:
                continue
            scale = 1.0 if rng_.true_bits & _STABLE else 0.05
            cms_on = efficiency if rng_.true_bits & active else 0.0
            for ls in range(rng_.start, rng_.end + 1):
                value = int(peak * scale * math.exp(-ls / decay) * (1 + 0.02 * math.sin(ls * 0.7 + phase)))
                delivered[ls - 1] = value
                recorded[ls - 1] = int(value * cms_on)
        if cls != "Collisions18":
            delivered = array("q", (v // 50 for v in delivered))
            recorded = array("q", (v // 50 for v in recorded))
        return delivered, recorded

    # -- datasets and statuses ----------------------------------------------------------------------------
    def _datasets(
        self, number: int, cls: str, state: str, significant: bool, oms_ranges: list[OmsRange], lumisections: int
    ) -> list[DemoDataset]:
        online = DemoDataset("online", {"global_state": state})
        if not significant:
            return [online]
        online.statuses = self._online_statuses(cls, state, oms_ranges, lumisections)
        datasets = [online]
        period = period_of(number)
        if period is None or cls == "Commissioning18":
            return datasets
        kind = "Collisions" if cls == "Collisions18" else "Cosmics"
        prompt_state = self._offline_state(state)
        prompt = DemoDataset(f"/PromptReco/{kind}2018{period}/DQM", self._offline_attributes(prompt_state))
        if prompt_state != "waiting dqm gui":
            prompt.statuses = self._offline_statuses(online.statuses, lumisections)
        datasets.append(prompt)
        if kind == "Collisions" and state in ("SIGNOFF", "COMPLETED") and prompt.statuses:
            rereco_state = "COMPLETED" if state == "COMPLETED" and self.rng.random() < 0.8 else "OPEN"
            rereco = DemoDataset(f"/ReReco/Run2018{period}_UL2018/DQM", self._offline_attributes(rereco_state))
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
        attributes: dict[str, Any] = dict.fromkeys(_OFFLINE_STATES, state)
        attributes["appeared_in"] = "DQM GUI"
        return attributes

    def _online_statuses(
        self, cls: str, state: str, oms_ranges: list[OmsRange], lumisections: int
    ) -> dict[str, list[StatusRange]]:
        ramp_end = next((r.start for r in oms_ranges if r.true_bits & _TRACKER == _TRACKER), 1)
        statuses: dict[str, list[StatusRange]] = {}
        for flag in default_catalogue().certifiable(online=True):
            statuses[flag.name] = self._component(flag.name, cls, state, lumisections, ramp_end)
        return statuses

    def _component(self, name: str, cls: str, state: str, lumisections: int, ramp_end: int) -> list[StatusRange]:
        rng = self.rng
        whole = StatusRange(1, lumisections, "GOOD")
        if name == "castor-castor" or (cls != "Collisions18" and name in ("ctpps-ctpps", "lumi-lumi")):
            return [whole.with_status("EXCLUDED")]
        if state == "OPEN" and rng.random() < 0.25:
            return [StatusRange(1, lumisections, "NOTSET")]
        ranges = [whole]
        if name.startswith("tracker-") and cls == "Collisions18" and ramp_end > 1:
            ranges = overlay(ranges, StatusRange(1, ramp_end - 1, "STANDBY"))
        if rng.random() < 0.012:
            comment, cause = rng.choice(_COMMENTS)
            return [StatusRange(1, lumisections, "BAD", comment, cause)]
        if lumisections > 5 and rng.random() < 0.07:
            first = rng.randint(1, lumisections - 1)
            comment, cause = rng.choice(_COMMENTS)
            last = min(lumisections, first + rng.randint(0, 50))
            ranges = overlay(ranges, StatusRange(first, last, "BAD", comment, cause))
        if state == "OPEN" and lumisections > 5 and rng.random() < 0.02:
            keep = rng.randint(1, lumisections - 1)  # a hole at the end: EMPTY lumisections, blocks sign-off
            ranges = [r.with_bounds(r.start, min(r.end, keep)) for r in ranges if r.start <= keep]
        if state == "OPEN" and lumisections > 5 and rng.random() < 0.01:
            first = rng.randint(1, lumisections)
            ranges = overlay(ranges, StatusRange(first, first, "NO VALUE FOUND"))
        return ranges

    def _offline_statuses(
        self, online: dict[str, list[StatusRange]], lumisections: int
    ) -> dict[str, list[StatusRange]]:
        statuses: dict[str, list[StatusRange]] = {}
        for flag in default_catalogue().certifiable(online=False):
            if flag.name in online:
                ranges = [r for r in online[flag.name] if r.status != "NO VALUE FOUND"]
                ranges = [r if r.status != "NOTSET" else r.with_status("GOOD") for r in ranges]
            else:
                ranges = [StatusRange(1, lumisections, "GOOD")]
            if lumisections > 5 and self.rng.random() < 0.04:
                first = self.rng.randint(1, lumisections - 1)
                comment, cause = self.rng.choice(_COMMENTS)
                ranges = overlay(ranges, StatusRange(first, min(lumisections, first + 20), "BAD", comment, cause))
            statuses[flag.name] = merge_equal(ranges)
        return statuses

    def _fix_some_bad(self, ranges: list[StatusRange]) -> list[StatusRange]:
        fixed = [r.with_status("GOOD") if r.status == "BAD" and self.rng.random() < 0.5 else r for r in ranges]
        return merge_equal(fixed)


def _flatten_oms(
    marks: list[tuple[int, int, int]], nulls: int, lumisections: int, prescale_cuts: list[int], cls: str
) -> list[OmsRange]:
    """Turn overlapping marks (later wins; a negative mask clears bits) into constant, non-overlapping ranges."""
    bounds = sorted({1, lumisections + 1, *prescale_cuts, *(m[0] for m in marks), *(m[1] + 1 for m in marks)})
    names = ("2.0e34", "1.7e34", "1.5e34") if cls == "Collisions18" else ("Cosmics", "Cosmics", "Cosmics")
    out: list[OmsRange] = []
    for first, after in itertools.pairwise(bounds):
        if first > lumisections:
            break
        bits = 0
        for start, end, mask in marks:
            if start <= first <= end:
                bits = bits & ~(-mask) if mask < 0 else mask
        prescale = sum(1 for cut in prescale_cuts if cut <= first)
        bits &= ~nulls
        last = out[-1] if out else None
        if last and (last.true_bits, last.prescale_index) == (bits, prescale):
            out[-1] = OmsRange(last.start, after - 1, bits, nulls, prescale, last.prescale_name)
        else:
            out.append(OmsRange(first, after - 1, bits, nulls, prescale, names[prescale]))
    return out


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
