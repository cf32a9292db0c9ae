"""``Dials`` and ``AsyncDials``: runql's DIALS client, with the filter language of the Run Registry client.

One client has one base URL, one credential (one token, shared by its threads or tasks) and one workspace.
Every resource is listed through a compiled :class:`~querylang.dials.DialsPlan` (``or`` branches fetched
concurrently, conditions DIALS cannot express checked on the rows), with retries on every target, cursor
paging (``max_pages``) and resumable failures.

>>> with Dials(target="embedded", embedded_options={"runs": 30}) as dials:  # synthetic: no credentials
...     h = dials.h1d({"ls_number": 10, "me": {"like": "%PXLayer_1"}}, max_pages=1)
>>> h[0].values.shape, h[0].x_edges[:2].tolist(), len(h.to_pandas(long=True)) == 20 * len(h)
((20,), [0.0, 5.0], True)
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, Protocol, TypeVar, overload

import httpx

from client.dials.auth import DialsCredentials, SecretKey
from client.dials.frames import DialsRecords
from client.dials.listing import DialsListing, DialsResume, fetch_plan
from client.dials.transport import async_dials_transport, dials_transport
from client.embedded import EmbeddedBackend, start_embedded
from client.engine import Operation, run_async, run_sync
from client.errors import ArgumentError, ConfigError
from client.progress import Progress, ProgressOption, reporting
from client.transport import Call
from querylang.dials import DialsPlan, compile_dials, explain_dials
from querylang.dials_catalogue import dials_resource
from schemas.dials import (
    DIALS_MODELS,
    DialsDataset,
    DialsFile,
    DialsLumisection,
    DialsRow,
    DialsRun,
    Histogram1D,
    Histogram2D,
    MLBadLumisection,
    MLModel,
    MonitoringElement,
)
from schemas.golden import LumiMask

__all__ = ["PRODUCTION_URL", "AsyncDials", "AsyncListing", "Dials", "Listing"]

PRODUCTION_URL = "https://cmsdials-api.web.cern.ch/"
Filter = Mapping[str, Any] | None
M = TypeVar("M", bound=DialsRow)
#: The service's JSON answer of a report (``cert_json``): per run, per lumisection, the verdicts.
CertJson = dict[str, Any]


class _Common:
    """Target resolution, plans and result building shared by the sync and async clients."""

    def __init__(
        self, target: str, page_size: int, max_requests: int, embedded_options: Mapping[str, Any] | None
    ) -> None:
        self.embedded: EmbeddedBackend | None = None
        if target == "production":
            self.base_url = PRODUCTION_URL
        elif target == "embedded":
            self.embedded = start_embedded({"runs": 200, **(embedded_options or {})})
            self.base_url = self.embedded.url + "/dials/"
        elif target.startswith(("http://", "https://")):
            self.base_url = target if target.endswith("/") else target + "/"
        else:
            raise ConfigError(f"unknown DIALS target {target!r}: use 'production', 'embedded' or a base URL")
        if not 1 <= page_size <= 500:
            raise ConfigError(f"page_size must be within 1..500 (DIALS clamps to 500), got {page_size}")
        self.page_size, self.max_requests = page_size, max_requests

    @property
    def synthetic(self) -> bool:
        return self.embedded is not None

    def plan(self, resource: str, filter: Filter) -> DialsPlan:
        return compile_dials(filter or {}, resource, max_requests=self.max_requests)

    def operation(
        self, plan: DialsPlan, max_pages: int | None, resume_from: DialsResume | None, progress: Progress | None
    ) -> Operation[DialsListing]:
        return fetch_plan(
            plan, page_size=self.page_size, max_pages=max_pages, resume_from=resume_from, progress=progress
        )

    @staticmethod
    def model(resource: str) -> type[DialsRow]:
        return DIALS_MODELS[dials_resource(resource).name]

    def records(self, plan: DialsPlan, listing: DialsListing, model: type[M]) -> DialsRecords[M]:
        rows = [model.model_validate(row) for row in listing.rows]
        return DialsRecords(
            rows, resource=plan.resource.name, resume_from=listing.resume_from, synthetic=self.synthetic
        )

    def close(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()


def _detail_call(resource: str, keys: tuple[int, ...]) -> tuple[Call, type[DialsRow]]:
    target = dials_resource(resource)
    if len(keys) != len(target.key) or not all(isinstance(k, int) and not isinstance(k, bool) for k in keys):
        raise ArgumentError(f"{target.name} is identified by {len(target.key)} integers: {', '.join(target.key)}")
    path = "/".join(str(k) for k in keys)
    return Call("GET", f"api/v1/{target.route}{path}/"), DIALS_MODELS[target.name]


def _report_call(kind: str, model_ids: Sequence[int], dataset_ids: Sequence[int], run_numbers: Sequence[int]) -> Call:
    body = {"model_id__in": list(model_ids), "dataset_id__in": list(dataset_ids), "run_number__in": list(run_numbers)}
    return Call("POST", f"api/v1/ml-bad-lumisection/{kind}/", json=body)


def _mask(data: Mapping[str, Any]) -> LumiMask:
    return LumiMask({int(run): [tuple(r) for r in ranges] for run, ranges in data.items()})


class Listing(Protocol[M]):
    """A resource's listing method of :class:`Dials` (``dials.h1d(filter, max_pages=..., resume_from=...,
    progress=...)``)."""

    def __call__(
        self,
        filter: Filter = None,
        *,
        max_pages: int | None = None,
        resume_from: DialsResume | None = None,
        progress: ProgressOption = False,
    ) -> DialsRecords[M]: ...


class AsyncListing(Protocol[M]):
    """A resource's listing method of :class:`AsyncDials` (awaitable)."""

    def __call__(
        self,
        filter: Filter = None,
        *,
        max_pages: int | None = None,
        resume_from: DialsResume | None = None,
        progress: ProgressOption = False,
    ) -> Awaitable[DialsRecords[M]]: ...


class _Lister(Generic[M]):
    """``dials.h1d(filter, ...)`` is ``dials.list("th1", filter, ...)`` with rows typed ``Histogram1D``."""

    def __init__(self, resource: str, model: type[M]) -> None:
        self.resource, self.model = resource, model
        self.__doc__ = f"Rows of DIALS ``{resource}`` matching ``filter`` (``{model.__name__}`` models)."

    @overload
    def __get__(self, client: None, owner: type[object]) -> _Lister[M]: ...
    @overload
    def __get__(self, client: Dials, owner: type[object]) -> Listing[M]: ...
    @overload
    def __get__(self, client: AsyncDials, owner: type[object]) -> AsyncListing[M]: ...
    def __get__(
        self, client: Dials | AsyncDials | None, owner: type[object]
    ) -> _Lister[M] | Listing[M] | AsyncListing[M]:
        if client is None:
            return self
        return functools.partial(client.fetch, self.resource, self.model)


class _Resources:
    """One method per resource (``dials.h1d(filter)`` is ``dials.list("th1", filter)``; awaitable when async)."""

    datasets = _Lister("dataset-index", DialsDataset)
    files = _Lister("file-index", DialsFile)
    runs = _Lister("run", DialsRun)
    lumisections = _Lister("lumisection", DialsLumisection)
    h1d = _Lister("th1", Histogram1D)
    h2d = _Lister("th2", Histogram2D)
    mes = _Lister("mes", MonitoringElement)
    ml_models = _Lister("ml-models-index", MLModel)
    ml_bad_lumisections = _Lister("ml-bad-lumisection", MLBadLumisection)

    @staticmethod
    def explain(resource: str, filter: Filter = None) -> str:
        """The DIALS requests ``filter`` compiles to (none is sent)."""
        return explain_dials(filter or {}, resource)


class Dials(_Resources):
    """The synchronous DIALS client. ``target``: ``"production"``, ``"embedded"`` (a stand-in started in-process,
    ``embedded_options`` for ``EmbeddedServer``, 200 runs by default) or a DIALS base URL."""

    def __init__(
        self,
        credentials: DialsCredentials | None = None,
        *,
        target: str = "production",
        workspace: str | None = None,
        retries: int = 4,
        backoff: float = 0.25,
        concurrency: int = 4,
        page_size: int = 500,
        max_requests: int = 64,
        embedded_options: Mapping[str, Any] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._common = _Common(target, page_size, max_requests, embedded_options)
        creds = credentials if credentials is not None else _default_credentials(target)
        self._transport = dials_transport(
            self._common.base_url,
            creds,
            workspace=workspace,
            retries=retries,
            backoff=backoff,
            concurrency=concurrency,
            transport=transport,
            sleep=sleep,
        )
        self._pool = ThreadPoolExecutor(max_workers=concurrency)
        self.workspace = workspace

    def __enter__(self) -> Dials:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._pool.shutdown(wait=False)
        self._transport.close()
        self._common.close()

    @property
    def base_url(self) -> str:
        return self._common.base_url

    def list(
        self,
        resource: str,
        filter: Filter = None,
        *,
        max_pages: int | None = None,
        resume_from: DialsResume | None = None,
        progress: ProgressOption = False,
    ) -> DialsRecords[DialsRow]:
        """Rows of ``resource`` matching ``filter`` (runql filter language), as pydantic models (typed by the
        resource's own method: ``h1d(...)`` gives ``DialsRecords[Histogram1D]``). ``progress``: ``True`` for a
        ``tqdm`` bar of the pages, or a callable ``progress(pages_done, pages_known)``."""
        model = self._common.model(resource)
        return self.fetch(resource, model, filter, max_pages=max_pages, resume_from=resume_from, progress=progress)

    def fetch(
        self,
        resource: str,
        model: type[M],
        filter: Filter = None,
        *,
        max_pages: int | None = None,
        resume_from: DialsResume | None = None,
        progress: ProgressOption = False,
    ) -> DialsRecords[M]:
        """:meth:`list` with the rows made by ``model`` (the resource's model or a subclass of it)."""
        plan = self._common.plan(resource, filter)
        with reporting(progress, f"DIALS {plan.resource.name} pages") as report:
            operation = self._common.operation(plan, max_pages, resume_from, report)
            listing = run_sync(operation, self._transport, pool=self._pool)
        return self._common.records(plan, listing, model)

    def get(self, resource: str, *keys: int) -> DialsRow:
        """One row by its key (``get("th1", dataset_id, run, ls, me_id)``); 404 is a ServiceError."""
        call, model = _detail_call(resource, keys)
        return model.model_validate(self._transport.send(call).data)

    def cert_json(self, model_ids: Sequence[int], dataset_ids: Sequence[int], run_numbers: Sequence[int]) -> CertJson:
        """Per run, per flagged lumisection, the models' verdicts (the service's JSON as is)."""
        data: CertJson = self._transport.send(_report_call("cert-json", model_ids, dataset_ids, run_numbers)).data
        return data

    def golden_json(self, model_ids: Sequence[int], dataset_ids: Sequence[int], run_numbers: Sequence[int]) -> LumiMask:
        """DIALS' golden JSON (ingested and not flagged) as a :class:`~schemas.golden.LumiMask`."""
        return _mask(self._transport.send(_report_call("golden-json", model_ids, dataset_ids, run_numbers)).data)


class AsyncDials(_Resources):
    """The async twin of :class:`Dials` (same arguments; ``await`` the methods; ``async with``)."""

    def __init__(
        self,
        credentials: DialsCredentials | None = None,
        *,
        target: str = "production",
        workspace: str | None = None,
        retries: int = 4,
        backoff: float = 0.25,
        concurrency: int = 4,
        page_size: int = 500,
        max_requests: int = 64,
        embedded_options: Mapping[str, Any] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._common = _Common(target, page_size, max_requests, embedded_options)
        creds = credentials if credentials is not None else _default_credentials(target)
        self._transport = async_dials_transport(
            self._common.base_url,
            creds,
            workspace=workspace,
            retries=retries,
            backoff=backoff,
            concurrency=concurrency,
            transport=transport,
        )
        self._concurrency = concurrency
        self.workspace = workspace

    async def __aenter__(self) -> AsyncDials:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._transport.aclose()
        self._common.close()

    async def list(
        self,
        resource: str,
        filter: Filter = None,
        *,
        max_pages: int | None = None,
        resume_from: DialsResume | None = None,
        progress: ProgressOption = False,
    ) -> DialsRecords[DialsRow]:
        model = self._common.model(resource)
        return await self.fetch(
            resource, model, filter, max_pages=max_pages, resume_from=resume_from, progress=progress
        )

    async def fetch(
        self,
        resource: str,
        model: type[M],
        filter: Filter = None,
        *,
        max_pages: int | None = None,
        resume_from: DialsResume | None = None,
        progress: ProgressOption = False,
    ) -> DialsRecords[M]:
        plan = self._common.plan(resource, filter)
        with reporting(progress, f"DIALS {plan.resource.name} pages") as report:
            operation = self._common.operation(plan, max_pages, resume_from, report)
            listing = await run_async(operation, self._transport, concurrency=self._concurrency)
        return self._common.records(plan, listing, model)

    async def get(self, resource: str, *keys: int) -> DialsRow:
        call, model = _detail_call(resource, keys)
        return model.model_validate((await self._transport.send(call)).data)

    async def cert_json(
        self, model_ids: Sequence[int], dataset_ids: Sequence[int], run_numbers: Sequence[int]
    ) -> CertJson:
        reply = await self._transport.send(_report_call("cert-json", model_ids, dataset_ids, run_numbers))
        data: CertJson = reply.data
        return data

    async def golden_json(
        self, model_ids: Sequence[int], dataset_ids: Sequence[int], run_numbers: Sequence[int]
    ) -> LumiMask:
        reply = await self._transport.send(_report_call("golden-json", model_ids, dataset_ids, run_numbers))
        return _mask(reply.data)


def _default_credentials(target: str) -> DialsCredentials:
    if target == "embedded":
        return SecretKey("embedded")  # the embedded stand-in accepts any non-empty secret
    raise ConfigError(
        "DIALS needs credentials: SecretKey(...), ClientCredentials(client_id, secret) or DeviceLogin() "
        "(runql login); target='embedded' needs none"
    )
