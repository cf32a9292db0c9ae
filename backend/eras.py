"""The calendar of the demo registry: CMS data-taking eras from 2018 to 2024 (synthetic data, real shape).

Each :class:`Era` is a span of run numbers and dates with the run classes, HLT keys, beams and offline dataset
names of that time, after the real CMS run-number spans as far as known: 2018 CRUZET and CRAFT from run
308,000, proton runs 2018A–D (315,252–325,175), the PbPb run of November 2018 (``HIRun2018A``) and the cosmics
after it (``HICosmics18A``), Long Shutdown 2 (2019–2021: cosmics and commissioning only), and Run 3 with
2022A–G from run 352,416, 2023A–F and 2024A–I up to run 386,951. ``runs`` is how many runs of the span the
default registry holds.

>>> era = era_of(319500)
>>> era.name, era.letter, era.beam.energy if era.beam else None
('Run2018C', 'C', 6500)
>>> era.datasets_of("Collisions18")
('/PromptReco/Collisions2018C/DQM', '/ReReco/Run2018C_UL2018/DQM')
>>> era_of(327600).datasets_of("Cosmics18")
('/PromptReco/HICosmics18A/DQM',)
>>> sum(e.runs for e in ERAS) > 20000
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone

__all__ = ["ERAS", "KNOWN_RUNS", "Beam", "Era", "era_of", "kind_of", "prompt_dataset"]

#: Real runs that documentation and public-client examples name; the registry always holds them.
KNOWN_RUNS = (315257, 315259, 319080, 319088, 319091, 320673, 327000)


@dataclass(frozen=True)
class Beam:
    """The LHC beams of an era, as OMS reports them."""

    energy: int  # OMS ``energy``: GeV per beam (for lead ions the proton-equivalent 6370: 5.02 TeV per nucleon pair)
    hlt_keys: tuple[str, ...]
    l1_menu: str
    schemes: tuple[str, ...]  # injection schemes of physics fills
    fills: tuple[int, int]  # first and last fill of the era
    particles: str = "PROTON"  # fill_type_party1/2
    runtime: str = "PROTONS"  # fill_type_runtime
    special_keys: tuple[str, ...] = ()  # rare special-run HLT keys (low pile-up, ...)


@dataclass(frozen=True)
class Era:
    """Runs ``first_run``..``last_run``, taken from ``begins`` to ``ends``."""

    name: str
    year: int
    first_run: int
    last_run: int
    begins: datetime
    ends: datetime
    runs: int
    classes: tuple[tuple[str, float], ...]  # run class and its share of the era's runs
    datasets: Mapping[str, tuple[str, ...]]  # run class → offline datasets (PromptReco first, then ReReco)
    cosmic_keys: tuple[str, ...]
    commissioning_keys: tuple[str, ...]
    cmssw: tuple[str, ...]
    beam: Beam | None = None  # None: no beam in the LHC (shutdown, cosmics)
    letter: str | None = None  # the run period of collision eras (2018C → "C")
    magnet: bool = True  # False: CRUZET (cosmics at zero field)
    certified: float = 1.0  # scales the chance that a run is significant
    zdc: bool = False  # ZDC in the readout (heavy ions)

    @property
    def span(self) -> int:
        """How many run numbers the era spans."""
        return self.last_run - self.first_run + 1

    def datasets_of(self, run_class: str) -> tuple[str, ...]:
        """The offline datasets a significant run of ``run_class`` gets in this era."""
        return self.datasets.get(run_class, ())


def kind_of(run_class: str) -> str:
    """``collisions``, ``cosmics`` or ``commissioning``: what a run class is about.

    >>> kind_of("Collisions18HI"), kind_of("Cosmics21CRUZET"), kind_of("Commissioning22")
    ('collisions', 'cosmics', 'commissioning')
    """
    for kind in ("collisions", "cosmics"):
        if run_class.lower().startswith(kind):
            return kind
    return "commissioning"


def era_of(run_number: int) -> Era | None:
    """The era spanning ``run_number`` (``None`` outside 2018–2024's spans)."""
    for era in ERAS:
        if era.first_run <= run_number <= era.last_run:
            return era
    return None


def prompt_dataset(run_number: int, run_class: str) -> str:
    """The PromptReco dataset of a run of ``run_class``: its era's, else one named after the year and period.

    >>> prompt_dataset(327000, "Collisions18HI"), prompt_dataset(356000, "Special22")
    ('/PromptReco/HIRun2018A/DQM', '/PromptReco/Commissioning2022C/DQM')
    """
    era = era_of(run_number)
    if era is not None and era.datasets_of(run_class):
        return era.datasets_of(run_class)[0]
    year = era.year if era is not None else ERAS[0].year
    period = (era.letter if era is not None else None) or "A"
    return f"/PromptReco/{kind_of(run_class).capitalize()}{year}{period}/DQM"


def _day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class _Year:
    """What the eras of one year share; :meth:`era` builds one era."""

    year: int
    cmssw: tuple[str, ...]
    cosmic_keys: tuple[str, ...]
    commissioning_keys: tuple[str, ...]

    @property
    def yy(self) -> str:
        return str(self.year)[2:]

    def era(
        self,
        name: str,
        runs: tuple[int, int, int],
        dates: tuple[str, str],
        *,
        classes: tuple[tuple[str, float], ...],
        datasets: Mapping[str, tuple[str, ...]],
        beam: Beam | None = None,
        letter: str | None = None,
        magnet: bool = True,
        certified: float = 1.0,
        zdc: bool = False,
    ) -> Era:
        first, last, count = runs
        return Era(
            name, self.year, first, last, _day(dates[0]), _day(dates[1]), count, classes, datasets,
            self.cosmic_keys, self.commissioning_keys, self.cmssw, beam, letter, magnet, certified, zdc,
        )  # fmt: skip


def _collision_eras(
    year: _Year, spans: tuple[tuple[str, int, int, int, str, str], ...], beam: Beam, *, rereco: str, rerun: str
) -> tuple[Era, ...]:
    """Proton eras ``Run<year><letter>``: Collisions<yy>, Cosmics<yy> between fills, Commissioning<yy> (no dataset).

    Signed-off collision runs of the letters in ``rerun`` also get ``/ReReco/Run<year><letter>_<rereco>/DQM``.
    """
    first_fill, last_fill = beam.fills
    first_run, last_run = spans[0][1], spans[-1][2]

    def fill_at(run: int) -> int:
        return first_fill + (last_fill - first_fill) * (run - first_run) // (last_run - first_run)

    eras = []
    for letter, first, last, count, begins, ends in spans:
        prompt = f"/PromptReco/Collisions{year.year}{letter}/DQM"
        offline = (prompt, f"/ReReco/Run{year.year}{letter}_{rereco}/DQM") if letter in rerun else (prompt,)
        cosmics = (f"/PromptReco/Cosmics{year.year}{letter}/DQM",)
        collisions, cosmic, commissioning = (f"{kind}{year.yy}" for kind in ("Collisions", "Cosmics", "Commissioning"))
        era = year.era(
            f"Run{year.year}{letter}",
            (first, last, count),
            (begins, ends),
            classes=((collisions, 0.78), (cosmic, 0.14), (commissioning, 0.08)),
            datasets={collisions: offline, cosmic: cosmics},
            beam=replace(beam, fills=(fill_at(first), fill_at(last))),
            letter=letter,
        )
        eras.append(era)
    return tuple(eras)


def _quiet_era(
    year: _Year,
    name: str,
    runs: tuple[int, int, int],
    dates: tuple[str, str],
    *,
    cruzet: bool = False,
    magnet: bool = True,
    certified: float = 1.0,
) -> Era:
    """Cosmics and commissioning without beam; runs go to ``/PromptReco/Commissioning<year>/DQM``.

    With ``cruzet`` (cosmics at zero field) the cosmics class is ``Cosmics<yy>CRUZET`` with its own dataset;
    ``magnet=False`` is zero field without that name (the open detector of 2019-2020).
    """
    cosmics = f"Cosmics{year.yy}CRUZET" if cruzet else f"Cosmics{year.yy}"
    classes = ((cosmics, 0.6), (f"Commissioning{year.yy}", 0.4))
    dataset = (f"/PromptReco/Commissioning{year.year}/DQM",)
    datasets = {cls: dataset for cls, _ in classes}
    if cruzet:
        datasets[cosmics] = (f"/PromptReco/{cosmics}/DQM",)
    on = magnet and not cruzet
    return year.era(name, runs, dates, classes=classes, datasets=datasets, magnet=on, certified=certified)


_Y2018 = _Year(
    2018,
    ("CMSSW_10_1_5", "CMSSW_10_1_7", "CMSSW_10_1_9", "CMSSW_10_2_5"),
    ("/cdaq/cosmic/commissioning2018/CRUZET/v2.1/HLT/V5", "/cdaq/cosmic/commissioning2018/CRAFT/v1.4/HLT/V2"),
    ("/cdaq/special/commissioning2018/splashes/v1.0/HLT/V3", "/cdaq/special/2018/circulating/v2.0/HLT/V1"),
)
_Y2018HI = _Year(
    2018,
    ("CMSSW_10_3_1", "CMSSW_10_3_3_patch1"),
    ("/cdaq/cosmic/commissioning2018/HI/v1.1/HLT/V3",),
    ("/cdaq/special/HeavyIon2018/circulating/v1.0/HLT/V2",),
)
_PP2018 = Beam(
    6500,
    (
        "/cdaq/physics/Run2018/2e34/v3.5.0/HLT/V4",
        "/cdaq/physics/Run2018/2e34/v3.6.1/HLT/V2",
        "/cdaq/physics/Run2018/2e34/v3.6.1/HLT/V4",
        "/cdaq/physics/Run2018/2e34/v1.2.3/HLT/V5",
    ),
    "L1Menu_Collisions2018_v2_1_0",
    (
        "25ns_2556b_2544_2215_2332_144bpi_20injV3",
        "25ns_2460b_2448_2052_2154_144bpi_20injV3",
        "25ns_1227b_1214_1054_1102_144bpi_10inj",
        "25ns_603b_590_526_547_96bpi_8inj",
    ),
    (6611, 7334),
    special_keys=("/cdaq/special/2018/LowPU/WMass/v1.1/HLT/V3",),
)
_PBPB2018 = Beam(
    6370,
    ("/cdaq/physics/Run2018HI/PbPb/v1.1.2/HLT/V6", "/cdaq/physics/Run2018HI/PbPb/v1.2.0/HLT/V3"),
    "L1Menu_CollisionsHeavyIons2018_v4_2_0",
    ("75ns_733Pb_733_702_468_52bpi_16inj", "75ns_648Pb_648_577_544_40bpi_14inj"),
    (7427, 7495),
    particles="PB82",
    runtime="IONS",
)
_Y2019 = _Year(
    2019,
    ("CMSSW_10_6_1", "CMSSW_10_6_4"),
    ("/cdaq/cosmic/commissioning2019/MWGR/v1.2/HLT/V4",),
    ("/cdaq/special/commissioning2019/LS2/v1.0/HLT/V2",),
)
_Y2020 = _Year(
    2020,
    ("CMSSW_11_0_2", "CMSSW_11_1_3"),
    ("/cdaq/cosmic/commissioning2020/MWGR/v2.0/HLT/V3",),
    ("/cdaq/special/commissioning2020/LS2/v1.1/HLT/V1",),
)
_Y2021 = _Year(
    2021,
    ("CMSSW_11_3_2", "CMSSW_12_0_2"),
    ("/cdaq/cosmic/commissioning2021/CRUZET/v3.0/HLT/V8", "/cdaq/cosmic/commissioning2021/CRAFT/v2.2/HLT/V4"),
    ("/cdaq/special/commissioning2021/PilotBeam/v1.3/HLT/V2",),
)
_Y2022 = _Year(
    2022,
    ("CMSSW_12_3_5", "CMSSW_12_4_9"),
    ("/cdaq/cosmic/commissioning2022/CRAFT/v1.0/HLT/V5", "/cdaq/cosmic/commissioning2022/CRUZET/v1.3/HLT/V2"),
    ("/cdaq/special/commissioning2022/splashes/v1.1/HLT/V4", "/cdaq/special/2022/circulating/v1.0/HLT/V3"),
)
_Y2023 = _Year(
    2023,
    ("CMSSW_13_0_7", "CMSSW_13_0_12"),
    ("/cdaq/cosmic/commissioning2023/CRAFT/v1.1/HLT/V3",),
    ("/cdaq/special/commissioning2023/splashes/v1.0/HLT/V2",),
)
_Y2024 = _Year(
    2024,
    ("CMSSW_14_0_6", "CMSSW_14_0_11"),
    ("/cdaq/cosmic/commissioning2024/CRAFT/v1.2/HLT/V4",),
    ("/cdaq/special/commissioning2024/splashes/v1.0/HLT/V3",),
)
_RUN3_SCHEMES = (
    "25ns_2352b_2340_2004_2133_108bpi_24inj",
    "25ns_2448b_2436_2052_2187_144bpi_20inj",
    "25ns_1215b_1203_1012_1090_144bpi_9inj",
    "25ns_603b_590_526_547_96bpi_8inj",
)


def _run3(year: int, keys: tuple[str, ...], fills: tuple[int, int], special: str) -> Beam:
    return Beam(6800, keys, f"L1Menu_Collisions{year}_v1_3_0", _RUN3_SCHEMES, fills, special_keys=(special,))


#: Every era of the default registry, in run order.
ERAS: tuple[Era, ...] = (
    _Y2018.era(
        "Commissioning2018 CRUZET",
        (308000, 311999, 900),
        ("2018-02-26", "2018-03-26"),
        classes=(("Cosmics18CRUZET", 0.65), ("Commissioning18", 0.35)),
        datasets={
            "Cosmics18CRUZET": ("/PromptReco/Cosmics18CRUZET/DQM",),
            "Commissioning18": ("/PromptReco/Commissioning2018/DQM",),
        },
        magnet=False,
    ),
    _Y2018.era(
        "Commissioning2018 CRAFT",
        (312000, 315251, 650),
        ("2018-03-26", "2018-04-17"),
        classes=(("Cosmics18", 0.5), ("Commissioning18", 0.5)),
        datasets=dict.fromkeys(("Cosmics18", "Commissioning18"), ("/PromptReco/Commissioning2018/DQM",)),
        beam=replace(_PP2018, fills=(6500, 6610)),
    ),
    *_collision_eras(
        _Y2018,
        (
            ("A", 315252, 317079, 420, "2018-04-17", "2018-06-01"),
            ("B", 317080, 319336, 560, "2018-06-01", "2018-07-12"),
            ("C", 319337, 320672, 260, "2018-07-12", "2018-07-30"),
            ("D", 320673, 325175, 1300, "2018-07-30", "2018-10-26"),
        ),
        _PP2018,
        rereco="UL2018",
        rerun="ABCD",
    ),
    _Y2018HI.era(
        "HIRun2018 setup",
        (325176, 326380, 250),
        ("2018-10-26", "2018-11-07"),
        classes=(("Cosmics18", 0.5), ("Commissioning18", 0.5)),
        datasets={"Cosmics18": ("/PromptReco/HICosmics18A/DQM",)},
        beam=replace(_PBPB2018, fills=(7335, 7426)),
    ),
    _Y2018HI.era(
        "HIRun2018A",
        (326381, 327564, 450),
        ("2018-11-07", "2018-12-02"),
        classes=(("Collisions18HI", 0.75), ("Cosmics18", 0.15), ("Commissioning18", 0.10)),
        datasets={
            "Collisions18HI": ("/PromptReco/HIRun2018A/DQM", "/ReReco/HIRun2018A_04Apr2019/DQM"),
            "Cosmics18": ("/PromptReco/HICosmics18A/DQM",),
        },
        beam=_PBPB2018,
        letter="A",
        zdc=True,
    ),
    _Y2018HI.era(
        "HICosmics18A",
        (327565, 328999, 450),
        ("2018-12-02", "2019-02-01"),
        classes=(("Cosmics18", 0.85), ("Commissioning18", 0.15)),
        datasets={"Cosmics18": ("/PromptReco/HICosmics18A/DQM",)},
    ),
    _quiet_era(
        _Y2019, "Commissioning2019", (329000, 335999, 2400), ("2019-02-01", "2019-12-20"), magnet=False, certified=0.5
    ),
    _quiet_era(
        _Y2020, "Commissioning2020", (336000, 339999, 1700), ("2020-01-15", "2020-12-18"), magnet=False, certified=0.5
    ),
    _quiet_era(_Y2021, "Commissioning2021 CRUZET", (340000, 343999, 1300), ("2021-02-15", "2021-07-15"), cruzet=True),
    _quiet_era(_Y2021, "Commissioning2021 CRAFT", (344000, 346999, 1100), ("2021-07-15", "2021-12-15")),
    _quiet_era(_Y2022, "Commissioning2022", (347000, 352415, 1500), ("2022-01-20", "2022-06-01")),
    *_collision_eras(
        _Y2022,
        (
            ("A", 352416, 355064, 500, "2022-06-01", "2022-07-05"),
            ("B", 355065, 355768, 150, "2022-07-05", "2022-07-14"),
            ("C", 355769, 357481, 380, "2022-07-14", "2022-08-02"),
            ("D", 357482, 359021, 330, "2022-08-02", "2022-09-27"),
            ("E", 359022, 360331, 300, "2022-09-27", "2022-10-17"),
            ("F", 360332, 362349, 420, "2022-10-17", "2022-11-20"),
            ("G", 362350, 362760, 80, "2022-11-20", "2022-11-28"),
        ),
        _run3(
            2022,
            ("/cdaq/physics/Run2022/2e34/v1.2.3/HLT/V2", "/cdaq/physics/Run2022/2e34/v1.4.1/HLT/V3"),
            (7920, 8496),
            "/cdaq/special/2022/LowPU/v1.0/HLT/V1",
        ),
        rereco="27Jun2023",
        rerun="ABCD",
    ),
    _quiet_era(_Y2023, "Commissioning2023", (362761, 365738, 700), ("2022-12-01", "2023-04-20")),
    *_collision_eras(
        _Y2023,
        (
            ("A", 365739, 366402, 150, "2023-04-20", "2023-05-05"),
            ("B", 366403, 367079, 160, "2023-05-05", "2023-05-25"),
            ("C", 367080, 369802, 600, "2023-05-25", "2023-06-30"),
            ("D", 369803, 370790, 230, "2023-06-30", "2023-07-17"),
            ("E", 370791, 372415, 300, "2023-07-17", "2023-08-20"),
            ("F", 372416, 373999, 300, "2023-08-20", "2023-09-25"),
        ),
        _run3(
            2023,
            ("/cdaq/physics/Run2023/2e34/v1.0.2/HLT/V4", "/cdaq/physics/Run2023/2e34/v1.1.1/HLT/V2"),
            (8670, 9190),
            "/cdaq/special/2023/ppRef/v1.0/HLT/V2",
        ),
        rereco="19Dec2023",
        rerun="BCD",
    ),
    _quiet_era(_Y2024, "Commissioning2024", (374000, 378141, 1100), ("2023-10-01", "2024-04-05")),
    *_collision_eras(
        _Y2024,
        (
            ("A", 378142, 378984, 200, "2024-04-05", "2024-04-18"),
            ("B", 378985, 379354, 90, "2024-04-18", "2024-04-24"),
            ("C", 379355, 380252, 220, "2024-04-24", "2024-05-12"),
            ("D", 380253, 380946, 170, "2024-05-12", "2024-05-27"),
            ("E", 380947, 381383, 110, "2024-05-27", "2024-06-05"),
            ("F", 381384, 383779, 560, "2024-06-05", "2024-07-18"),
            ("G", 383780, 385813, 480, "2024-07-18", "2024-08-31"),
            ("H", 385814, 386408, 140, "2024-08-31", "2024-09-12"),
            ("I", 386409, 386951, 130, "2024-09-12", "2024-09-30"),
        ),
        _run3(
            2024,
            ("/cdaq/physics/Run2024/2e34/v1.4.9/HLT/V1", "/cdaq/physics/Run2024/2e34/v1.4.5/HLT/V2"),
            (9470, 10220),
            "/cdaq/special/2024/ppRef/v1.1/HLT/V3",
        ),
        rereco="",
        rerun="",
    ),
)
