"""The typed catalogue of DIALS resources and their filterable fields (``dials-protocol.md`` §2, §4).

Each :class:`DialsResource` names its route, its key (the default ordering, also what identifies a row), and
its :class:`DialsField` s. A field says which lookups the service has for it (``exact``, ``gte``, ``lte``,
``in``, ``regex``) and under which query parameter, and whether list rows carry it (so a condition the service
cannot express can still be checked on the rows). The server's filter sets are described, not the 2.4.1
client's classes: ``ls_number__lte`` exists on histograms, ``dataset_id__in`` on runs.

>>> th1 = dials_resource("h1d")            # cmsdials attribute names are aliases
>>> th1.name, th1.route, th1.key
('th1', 'th1/', ('dataset_id', 'run_number', 'ls_number', 'me_id'))
>>> th1.field("ls_number").param("lte")
'ls_number__lte'
>>> dials_resource("lumis")
Traceback (most recent call last):
...
querylang.errors.FilterError: filter: unknown DIALS resource; got 'lumis'; allowed: dataset-index, \
file-index, lumisection, mes, ml-bad-lumisection, ml-models-index, run, th1, th2; did you mean 'lumi' or 'lumisection'?
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from querylang.catalogue import Attribute, AttrType, Catalogue, Owner
from querylang.errors import ArgumentError, FilterError

__all__ = ["DIALS_LOOKUPS", "DIALS_RESOURCES", "DialsField", "DialsResource", "dials_resource"]

#: The lookups a DIALS filter parameter can have, in the order parameters are emitted.
DIALS_LOOKUPS: tuple[str, ...] = ("exact", "in", "gte", "lte", "regex")


@dataclass(frozen=True)
class DialsField:
    """A filterable field: ``lookups`` pairs each lookup the service has with its query parameter."""

    name: str
    type: AttrType
    lookups: tuple[tuple[str, str], ...]
    in_row: bool = True

    def __post_init__(self) -> None:
        unknown = {lookup for lookup, _ in self.lookups} - set(DIALS_LOOKUPS)
        if unknown:
            raise ArgumentError(f"unknown DIALS lookups {sorted(unknown)} for field {self.name!r}")

    def param(self, lookup: str) -> str | None:
        """The query parameter of ``lookup`` (``None`` when the service has no such lookup for the field)."""
        return dict(self.lookups).get(lookup)

    @property
    def attribute(self) -> Attribute:
        """The field as a querylang attribute, so the shared parser and AST validate conditions on it."""
        return Attribute(self.name, self.type, Owner.RUN_TABLE, self.name)


@dataclass(frozen=True)
class DialsResource:
    """A DIALS list endpoint: ``route`` under ``api/v1/``, ``key`` (ordering and identity), its fields."""

    name: str
    route: str
    key: tuple[str, ...]
    fields: tuple[DialsField, ...]
    model: str
    paginated: bool = True
    aliases: tuple[str, ...] = field(default=())

    def field(self, name: str) -> DialsField:
        """The field ``name`` (``KeyError`` if the resource has no such filter)."""
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    def catalogue(self) -> Catalogue:
        """The fields as a :class:`~querylang.catalogue.Catalogue` of run-like attributes, for the parser."""
        return _catalogue(self)


@functools.cache
def _catalogue(resource: DialsResource) -> Catalogue:
    return Catalogue([f.attribute for f in resource.fields], [])


def _number(name: str, *lookups: str, in_row: bool = True) -> DialsField:
    return DialsField(name, AttrType.NUMBER, _params(name, lookups), in_row)


def _string(name: str, *lookups: str, in_row: bool = True) -> DialsField:
    return DialsField(name, AttrType.STRING, _params(name, lookups), in_row)


def _boolean(name: str) -> DialsField:
    return DialsField(name, AttrType.BOOLEAN, (("exact", name),))


def _params(name: str, lookups: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((lookup, name if lookup == "exact" else f"{name}__{lookup}") for lookup in lookups)


_RANGE = ("exact", "gte", "lte")
_NAME = ("exact", "regex")


def _resources() -> tuple[DialsResource, ...]:
    dataset = _string("dataset", *_NAME)
    histogram_fields = (
        _number("dataset_id", "exact"),
        _number("file_id", "exact"),
        _number("run_number", *_RANGE),
        _number("ls_number", *_RANGE),
        _number("me_id", "exact"),
        _number("entries", "gte"),
        dataset,
        _string("logical_file_name", *_NAME, in_row=False),
        _string("me", *_NAME),
    )
    histogram_key = ("dataset_id", "run_number", "ls_number", "me_id")
    return (
        DialsResource("dataset-index", "dataset-index/", ("dataset_id",), (dataset,), "DatasetIndex", True),
        DialsResource(
            "file-index",
            "file-index/",
            ("dataset_id", "file_id"),
            (
                _number("dataset_id", "exact"),
                _string("logical_file_name", *_NAME),
                _string("status", "exact"),
                DialsField("file_size", AttrType.NUMBER, (("gte", "min_size"),)),
                dataset,
            ),
            "FileIndex",
        ),
        DialsResource(
            "run",
            "run/",
            ("dataset_id", "run_number"),
            (_number("dataset_id", "exact", "in"), _number("run_number", *_RANGE), dataset),
            "Run",
        ),
        DialsResource(
            "lumisection",
            "lumisection/",
            ("dataset_id", "run_number", "ls_number"),
            (
                _number("dataset_id", "exact"),
                _number("run_number", *_RANGE),
                _number("ls_number", *_RANGE),
                dataset,
            ),
            "Lumisection",
            aliases=("lumi",),
        ),
        DialsResource("th1", "th1/", histogram_key, histogram_fields, "TH1", aliases=("h1d",)),
        DialsResource("th2", "th2/", histogram_key, histogram_fields, "TH2", aliases=("h2d",)),
        DialsResource(
            "mes", "mes/", ("me_id",), (_string("me", *_NAME), _number("dim", "exact")), "MEs", paginated=False
        ),
        DialsResource(
            "ml-models-index",
            "ml-models-index/",
            ("id",),
            (
                _number("id", "exact", "in"),
                _string("name", *_NAME),
                _boolean("active"),
                _boolean("ready"),
                _string("type", "exact"),
                _string("input_signature_contains_me", *_NAME, in_row=False),
                _string("tag_name", "exact", in_row=False),
                _string("tag_value", "exact", in_row=False),
            ),
            "MLModelsIndex",
            aliases=("ml_models_index",),
        ),
        DialsResource(
            "ml-bad-lumisection",
            "ml-bad-lumisection/",
            ("model_id", "dataset_id", "run_number", "ls_number"),
            (
                _number("model_id", "exact", "in"),
                _number("dataset_id", "exact", "in"),
                _number("run_number", "exact", "in"),
                _number("ls_number", "exact"),
                _number("me_id", "exact", in_row=False),
                _string("me", *_NAME, in_row=False),
                _string("dataset", *_NAME, in_row=False),
            ),
            "MLBadLumisection",
            aliases=("ml_bad_lumis",),
        ),
    )


@functools.cache
def _by_name() -> Mapping[str, DialsResource]:
    table: dict[str, DialsResource] = {}
    for resource in _resources():
        for name in (resource.name, resource.name.replace("-", "_"), *resource.aliases):
            table[name] = resource
    return MappingProxyType(table)


def dials_resource(name: str) -> DialsResource:
    """The resource called ``name`` (its route name or a ``cmsdials`` attribute name), else a FilterError."""
    resource = _by_name().get(name) if isinstance(name, str) else None
    if resource is None:
        names = sorted({r.name for r in _by_name().values()})
        raise FilterError(
            "unknown DIALS resource",
            value=name,
            allowed=", ".join(names),
            suggestions=Catalogue.suggest(str(name), list(_by_name())),
        )
    return resource


class _Resources(Mapping[str, DialsResource]):
    """The resources by canonical name, built on first use (no work at import time)."""

    def __getitem__(self, name: str) -> DialsResource:
        resource = _by_name()[name]
        if resource.name != name:
            raise KeyError(name)
        return resource

    def __iter__(self) -> Iterator[str]:
        return iter(sorted({r.name for r in _by_name().values()}))

    def __len__(self) -> int:
        return len(set(_by_name().values()))


#: Every DIALS resource by canonical name (``dataset-index``, ``th1``, ...).
DIALS_RESOURCES: Mapping[str, DialsResource] = _Resources()
