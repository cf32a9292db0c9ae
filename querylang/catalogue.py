"""The typed attribute catalogue of the Run Registry (``rr-protocol.md`` §6).

One data-driven table of every attribute a filter or a json-logic rule may name: its type, who owns it
(the run table, OMS, RR, the dataset table or dataset attributes), and the backend key it compiles to.
Status flags (``<workspace>-<column>``) carry their workspace, column, whether they exist online and/or
offline, and whether they are certifiable ("global") components.

>>> from querylang.catalogue import default_catalogue
>>> cat = default_catalogue()
>>> cat.run_attribute("hlt_key").path
'oms_attributes.hlt_key'
>>> cat.status_flag("hcal-ho0_ls").name        # the correct spelling resolves to the live name
'hcal-hoO_ls'
>>> cat.suggest("hlt_kye", cat.run_keys())[0]
'hlt_key'
"""

from __future__ import annotations

import difflib
import enum
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = [
    "DATASET_STATES",
    "LUMISECTION_STATUSES",
    "OMS_LUMISECTION_BITS",
    "RUN_STATES",
    "STATUS_VALUES",
    "AttrType",
    "Attribute",
    "Catalogue",
    "Owner",
    "StatusFlag",
    "default_catalogue",
]


class AttrType(enum.Enum):
    """The value type of an attribute; it decides the operators and literals a filter may use."""

    NUMBER = "number"
    STRING = "string"
    BOOLEAN = "boolean"
    DATE = "date"
    STATUS = "status flag"
    LIST = "list"


class Owner(enum.Enum):
    """Where an attribute lives in the service, which decides its backend key and its table."""

    RUN_TABLE = "run table column"
    OMS_RUN = "OMS run attribute"
    RR_RUN = "RR run attribute"
    DATASET_TABLE = "dataset table column"
    DATASET_ATTRIBUTE = "dataset attribute"
    TRIPLET = "status flag (triplet summary)"


#: Lumisection statuses a status-flag filter may ask for (``EMPTY`` marks a lumisection with no value).
STATUS_VALUES: tuple[str, ...] = ("GOOD", "BAD", "STANDBY", "EXCLUDED", "NOTSET", "NO VALUE FOUND", "EMPTY")
#: Statuses a lumisection can be set to by an edit.
LUMISECTION_STATUSES: tuple[str, ...] = ("GOOD", "BAD", "STANDBY", "EXCLUDED", "NOTSET")
RUN_STATES: tuple[str, ...] = ("OPEN", "SIGNOFF", "COMPLETED")
DATASET_STATES: tuple[str, ...] = ("OPEN", "SIGNOFF", "COMPLETED", "waiting dqm gui")


@dataclass(frozen=True)
class Attribute:
    """A filterable attribute: ``name`` is what users write, ``path`` the backend key it compiles to."""

    name: str
    type: AttrType
    owner: Owner
    path: str
    choices: tuple[str, ...] = ()

    @property
    def table(self) -> str:
        """The service table the attribute is joined from (``or`` across tables needs a plan)."""
        return _TABLE_OF_OWNER[self.owner]


@dataclass(frozen=True)
class StatusFlag:
    """A ``<workspace>-<column>`` status flag of the triplet summary."""

    workspace: str
    column: str
    online: bool
    offline: bool
    certifiable_online: bool = False
    certifiable_offline: bool = False
    aliases: tuple[str, ...] = field(default=())

    @property
    def name(self) -> str:
        return f"{self.workspace}-{self.column}"

    @property
    def certifiable(self) -> bool:
        return self.certifiable_online or self.certifiable_offline

    def path(self, status: str) -> str:
        """Backend key counting the lumisections with ``status``: ``triplet_summary.dt-dt.GOOD``."""
        return f"triplet_summary.{self.name}.{status}"


_TABLE_OF_OWNER: Mapping[Owner, str] = {
    Owner.RUN_TABLE: "run",
    Owner.OMS_RUN: "run",
    Owner.RR_RUN: "run",
    Owner.DATASET_TABLE: "dataset",
    Owner.DATASET_ATTRIBUTE: "dataset",
    Owner.TRIPLET: "triplet",
}

# ---------------------------------------------------------------------------------------------------------
# The data. Kept as plain literals so the table is easy to check against rr-protocol.md §6.

_RR_RUN = {
    "class": AttrType.STRING,
    "state": AttrType.STRING,
    "significant": AttrType.BOOLEAN,
    "stop_reason": AttrType.STRING,
    "short_run": AttrType.BOOLEAN,
    "run_needs_to_be_updated_manually": AttrType.BOOLEAN,
}
_RR_CHOICES = {"state": RUN_STATES}

_OMS_NUMBERS = (
    "run_number energy b_field l1_rate duration end_lumi init_lumi fill_number ls_duration recorded_lumi "
    "delivered_lumi hlt_physics_rate hlt_physics_size hlt_physics_counter l1_triggers_counter "
    "hlt_physics_throughput initial_prescale_index"
).split()
_OMS_STRINGS = (
    "l1_key hlt_key l1_menu sequence clock_type l1_hlt_mode trigger_mode cmssw_version l1_key_stripped "
    "fill_type_party1 fill_type_party2 fill_type_runtime l1_hlt_mode_stripped injection_scheme"
).split()
_OMS_DATES = ("start_time", "end_time", "last_update")
_OMS_BOOLEANS = ("stable_beam", "tier0_transfer", "beams_present_and_stable")
_INCLUDED = (
    "hf dt es csc cow daq dcs dqm gem ltc rpc trg hcal scal efed ecal lumi tcds totem pixel ctpps hflumi castor "
    "tracker dt_efed rpc_efed trg_efed pixel_up csc_efed ctpps_tot ecal_efed hcal_efed tracker_efed"
).split()
_OMS_LISTS = ("components",)

#: OMS per-lumisection bits (booleans) stored by the service, in the protocol's order.
OMS_LUMISECTION_BITS: tuple[str, ...] = tuple(
    (
        "rp_time_ready cscp_ready physics_flag dt0_ready beam1_present bpix_ready ho_ready dtp_ready tecm_ready "
        "tibtid_ready fpix_ready rpc_ready rp_sect_56_ready castor_ready esp_ready eep_ready hbhea_ready ebm_ready "
        "dtm_ready eem_ready esm_ready tecp_ready ebp_ready hf_ready rp_sect_45_ready cscm_ready cms_active "
        "zdc_ready hbheb_ready tob_ready beam1_stable hbhec_ready beam2_stable beam2_present gemp_ready gemm_ready"
    ).split()
)
#: Non-boolean OMS per-lumisection values and their types.
OMS_LUMISECTION_VALUES: Mapping[str, AttrType] = {
    "prescale_index": AttrType.NUMBER,
    "prescale_name": AttrType.STRING,
    "recorded": AttrType.NUMBER,
    "delivered": AttrType.NUMBER,
}

# Workspaces and their columns, online then offline (None: the workspace has no such table).
_ONLINE_COLUMNS: Mapping[str, str] = {
    "btag": "btag",
    "castor": "castor",
    "cms": "cms",
    "csc": "csc csctf ddus efficiency gasgains integrity mem mep occupancy pedestals resolution segments strips "
    "timing triggerpe",
    "ctpps": "ctpps rp45_210 rp45_220 rp45_cyl rp56_210 rp56_220 rp56_cyl time45_box time56_box",
    "dt": "dt",
    "ecal": "ecal es analysis collisions ebm ebp eem eep esm esp laser noise preshower timing tpg",
    "egamma": "egamma es",
    "gem": "gem",
    "hcal": "hcal hb he hf ho0 ho12 hbls hels hfls ho0ls ho12ls",
    "hlt": "hlt muons electrons photons jetmet tau bjets technical global",
    "jetmet": "jetmet",
    "l1t": "l1t l1tmu l1tcalo muon muon_dt muon_rpc muon_csc e_gamma jet energy_sums hf_rings bptx_tech bcs_tech "
    "hf_tech rpc_tech software",
    "lumi": "lumi",
    "muon": "muon",
    "rpc": "rpc strip elog lv hv feb noise",
    "tau": "tau",
    "tracker": "pixel strip track",
}
_OFFLINE_COLUMNS: Mapping[str, str] = {
    "btag": "btag",
    "castor": "castor",
    "cms": "cms infrastructure",
    "csc": "csc occupancy integrity pedestals strips timing efficiency gasgains resolution segments tf triggergpe",
    "ctpps": _ONLINE_COLUMNS["ctpps"],
    "dc": "lowlumi",
    "dt": "dt",
    "ecal": _ONLINE_COLUMNS["ecal"],
    "egamma": "egamma",
    "gem": "gem",
    "hcal": "hcal hb he hf ho0 ho12 hb_ls he_ls hf_ls hoO_ls ho12_ls",
    "hlt": "hlt bjets electrons hlt_global jetmet muons photons tau technical",
    "jetmet": "jetmet",
    "l1t": "l1t l1tmu l1tcalo bcs_tech bptx_tech e_gamma energy_sums hg_rings hf_tech muon_csc muon_dt muon_rpc "
    "rpc_tech software",
    "lumi": "lumi",
    "muon": "muon",
    "rpc": "rpc hv lv feb noise elog",
    "tau": "tau",
    "tracker": "pixel strip track",
}
_CERTIFIABLE_ONLINE = (
    "castor-castor cms-cms csc-csc ctpps-ctpps dt-dt ecal-ecal ecal-es hcal-hcal hlt-hlt l1t-l1t l1t-l1tcalo "
    "l1t-l1tmu lumi-lumi rpc-rpc tracker-pixel tracker-strip"
).split()
_CERTIFIABLE_OFFLINE = _CERTIFIABLE_ONLINE + (
    "btag-btag dc-lowlumi egamma-egamma jetmet-jetmet muon-muon tau-tau tracker-track".split()
)
# Spellings users (and the public client) write for a flag whose live name differs.
_FLAG_ALIASES: Mapping[str, tuple[str, ...]] = {
    "hcal-hoO_ls": ("hcal-ho0_ls",),  # the live offline column is spelled with a letter O
    "tracker-pixel": ("tracker-pix",),  # the public client's dataset list says tracker-pix
}


class Catalogue:
    """Immutable lookup tables over attributes and status flags, with did-you-mean suggestions.

    Build one with :func:`default_catalogue` (cached) or from your own lists for a drifted live catalogue.
    """

    def __init__(self, attributes: Iterable[Attribute], flags: Iterable[StatusFlag]) -> None:
        self._attributes: dict[str, Attribute] = {}
        self._dataset_only: dict[str, Attribute] = {}
        for attr in attributes:
            target = self._dataset_only if attr.owner in (Owner.DATASET_TABLE, Owner.DATASET_ATTRIBUTE) else None
            (target if target is not None else self._attributes)[attr.name] = attr
        self._flags: dict[str, StatusFlag] = {}
        self._flag_aliases: dict[str, StatusFlag] = {}
        for flag in flags:
            self._flags[flag.name] = flag
            for alias in flag.aliases:
                self._flag_aliases[alias] = flag

    # -- plain attributes -----------------------------------------------------------------------------
    def run_attribute(self, name: str) -> Attribute:
        """The run attribute ``name`` (``KeyError`` if it is not one)."""
        return self._attributes[name]

    def dataset_attribute(self, name: str) -> Attribute:
        """The attribute ``name`` as seen from a dataset filter (dataset keys, then the run's keys)."""
        if name in self._dataset_only:
            return self._dataset_only[name]
        attr = self._attributes[name]
        if attr.owner is Owner.RUN_TABLE:  # datasets have their own run_number column
            return Attribute(attr.name, attr.type, Owner.DATASET_TABLE, attr.path)
        return attr

    def run_keys(self) -> list[str]:
        """Every plain attribute name a run filter may use, sorted."""
        return sorted(self._attributes)

    def dataset_keys(self) -> list[str]:
        """Every plain attribute name a dataset filter may use, sorted."""
        return sorted({*self._attributes, *self._dataset_only})

    def attributes(self) -> list[Attribute]:
        """Every plain attribute (run and dataset), sorted by name."""
        return sorted([*self._attributes.values(), *self._dataset_only.values()], key=lambda a: a.name)

    # -- status flags ---------------------------------------------------------------------------------
    def status_flag(self, name: str) -> StatusFlag:
        """The flag ``name``, its live spelling or an alias (``KeyError`` if unknown)."""
        if name in self._flags:
            return self._flags[name]
        return self._flag_aliases[name]

    def flags(self, *, online: bool | None = None, offline: bool | None = None) -> list[StatusFlag]:
        """Flags sorted by name; ``online=True`` keeps those with an online column, likewise ``offline``."""
        return [
            f
            for _, f in sorted(self._flags.items())
            if (online is None or f.online == online) and (offline is None or f.offline == offline)
        ]

    def certifiable(self, *, online: bool) -> list[StatusFlag]:
        """The certifiable ("global") components of the online or the offline table."""
        return [f for f in self.flags() if (f.certifiable_online if online else f.certifiable_offline)]

    def workspaces(self) -> list[str]:
        """Every workspace, sorted."""
        return sorted({f.workspace for f in self._flags.values()})

    def flag_names(self, *, online: bool | None = None, offline: bool | None = None) -> list[str]:
        names = [f.name for f in self.flags(online=online, offline=offline)]
        aliases = [a for a, f in self._flag_aliases.items() if (online is None or f.online == online)]
        return sorted(names + aliases)

    # -- suggestions ----------------------------------------------------------------------------------
    @staticmethod
    def suggest(word: str, candidates: Iterable[str], limit: int = 3) -> list[str]:
        """Close matches for ``word`` (case-insensitive), best first."""
        pool = list(candidates)
        lowered = {c.lower(): c for c in pool}
        hits = difflib.get_close_matches(word.lower(), list(lowered), n=limit, cutoff=0.6)
        return [lowered[h] for h in hits]


def _plain_attributes() -> list[Attribute]:
    attrs = [Attribute("run_number", AttrType.NUMBER, Owner.RUN_TABLE, "run_number")]
    attrs += [Attribute(n, t, Owner.RR_RUN, f"rr_attributes.{n}", _RR_CHOICES.get(n, ())) for n, t in _RR_RUN.items()]
    oms: dict[str, AttrType] = {n: AttrType.NUMBER for n in _OMS_NUMBERS if n != "run_number"}
    oms.update(dict.fromkeys(_OMS_STRINGS, AttrType.STRING))
    oms.update(dict.fromkeys(_OMS_DATES, AttrType.DATE))
    oms.update(dict.fromkeys(_OMS_BOOLEANS, AttrType.BOOLEAN))
    oms.update({f"{x}_included": AttrType.BOOLEAN for x in _INCLUDED})
    oms.update(dict.fromkeys(_OMS_LISTS, AttrType.LIST))
    attrs += [Attribute(n, t, Owner.OMS_RUN, f"oms_attributes.{n}") for n, t in oms.items()]
    attrs.append(Attribute("dataset_name", AttrType.STRING, Owner.DATASET_TABLE, "name"))
    attrs.append(Attribute("appeared_in", AttrType.STRING, Owner.DATASET_ATTRIBUTE, "dataset_attributes.appeared_in"))
    for state in ["global", *sorted(_OFFLINE_COLUMNS)]:
        name = f"{state}_state"
        attrs.append(
            Attribute(name, AttrType.STRING, Owner.DATASET_ATTRIBUTE, f"dataset_attributes.{name}", DATASET_STATES)
        )
    return attrs


def _status_flags() -> list[StatusFlag]:
    online = {(ws, c) for ws, cols in _ONLINE_COLUMNS.items() for c in cols.split()}
    offline = {(ws, c) for ws, cols in _OFFLINE_COLUMNS.items() for c in cols.split()}
    flags = []
    for ws, col in sorted(online | offline):
        name = f"{ws}-{col}"
        flags.append(
            StatusFlag(
                ws,
                col,
                online=(ws, col) in online,
                offline=(ws, col) in offline,
                certifiable_online=name in _CERTIFIABLE_ONLINE,
                certifiable_offline=name in _CERTIFIABLE_OFFLINE,
                aliases=_FLAG_ALIASES.get(name, ()),
            )
        )
    return flags


@functools.cache
def default_catalogue() -> Catalogue:
    """The catalogue of ``rr-protocol.md`` §6 (built on first call, then shared: it is immutable)."""
    return Catalogue(_plain_attributes(), _status_flags())
