"""``RunRegistry`` and ``AsyncRunRegistry``: the public client's calls, on one connection pool per client.

>>> from client import RunRegistry
>>> with RunRegistry(target="embedded", embedded_options={"runs": 30}) as rr:    # synthetic demo data
...     runs = rr.get_runs(filter={"class": "Collisions18"}, limit=5)
...     frame = runs.to_pandas()
>>> len(runs) <= 5, runs.synthetic, str(frame["run_number"].dtype)
(True, True, 'Int64')

Results: ``get_runs``/``get_datasets`` return :class:`~client.results.Records` of typed models (``schemas.Run``,
``schemas.Dataset``) by default. Passing ``compress_attributes=True`` or ``False`` explicitly gives exactly the
public client's dict shapes (compressed, or raw as the service sends them; compressed datasets keep the run's
OMS attributes). ``output="dataframe"`` returns a typed DataFrame. ``get_run``/``get_dataset`` return the model,
or ``None`` when nothing matches (``{}`` with ``compress_attributes`` set, like the public client).
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import anyio
import httpx

from client import operations as ops
from client.calls import Kind, get_call
from client.config import EnvFile, Settings, resolve_settings
from client.embedded import EmbeddedBackend, start_embedded
from client.engine import Operation, run_async, run_sync
from client.errors import ArgumentError, ArgumentTypeError, ConfigError, WriteError
from client.golden_local import create_json_local, create_json_local_async
from client.jsonportal import JobProgress, json_portal_job
from client.lumitable import ParquetSink, Sink, concat_frames, lumisection_table_operation
from client.pagination import ResumeFrom
from client.progress import ProgressOption, job_reporting, reporting
from client.transport import AsyncTransport, SyncTransport
from client.writes import (
    WritePlan,
    WriteReport,
    apply_writes,
    change_run_class_plan,
    edit_rr_lumisections_plan,
    make_significant_runs_plan,
    manually_refresh_plan,
    move_datasets_plan,
    move_runs_plan,
    reset_and_refresh_plan,
)
from schemas import JsonPortalRow
from schemas.golden import GoldenJson

__all__ = ["AsyncRunRegistry", "RunRegistry"]

T = TypeVar("T")


class _Configured:
    """Settings resolution and the embedded server, shared by both clients."""

    def __init__(
        self,
        target: str | None,
        *,
        env_file: EnvFile,
        embedded_options: Mapping[str, Any] | None,
        options: dict[str, Any],
    ) -> None:
        settings = resolve_settings(target, env_file=env_file, **options)
        self._embedded: EmbeddedBackend | None = None
        if settings.target == "embedded":
            self._embedded = start_embedded(embedded_options)
            settings = dataclasses.replace(settings, base_url=self._embedded.url)
        elif embedded_options:
            raise ConfigError("embedded_options only apply to target='embedded'")
        self.settings: Settings = settings

    @property
    def target(self) -> str:
        return self.settings.target

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    @property
    def synthetic(self) -> bool:
        """True for the embedded target: every result is synthetic demo data, not CMS data."""
        return self.settings.synthetic

    def __repr__(self) -> str:
        synthetic = ", synthetic data" if self.synthetic else ""
        return f"{type(self).__name__}(target={self.target!r}, base_url={self.base_url!r}{synthetic})"

    def _stop_embedded(self) -> None:
        if self._embedded is not None:
            self._embedded.stop()

    # -- operations (one place for the arguments of both clients) ------------------------------------------
    def _listing(self, kind: Kind, **arguments: Any) -> Operation[Any]:
        page_size = arguments.pop("page_size", None)
        return ops.listing(
            kind,
            page_size=self.settings.page_size if page_size is None else page_size,
            synthetic=self.synthetic,
            **arguments,
        )

    def _single(self, kind: Kind, run_number: int, dataset_name: str | None, compress: bool | None) -> Operation[Any]:
        return ops.single_record(kind, run_number, dataset_name, compress_attributes=compress, synthetic=self.synthetic)

    def _table(self, sink: Sink, filter: object, dataset: str, columns: Any, progress: Any) -> Operation[int]:
        return lumisection_table_operation(
            filter, dataset, columns, sink, page_size=self.settings.page_size, progress=progress
        )

    @staticmethod
    def _json_job(json_logic: object, dataset_name_filter: str, engine: str, **options: Any) -> Operation[GoldenJson]:
        if engine != "server":
            raise ArgumentError(f"engine must be 'server' or 'local', got {engine!r}")
        row = yield from json_portal_job(json_logic, dataset_name_filter, **options)
        return GoldenJson.from_server_row(JsonPortalRow.model_validate(row))

    @staticmethod
    def _checked(report: WriteReport, raise_on_error: bool) -> WriteReport:
        if raise_on_error and not report.ok:
            raise WriteError(report)
        return report


class RunRegistry(_Configured):
    """A client of one Run Registry (``target``: production, development, local, embedded or a base URL).

    Options (each also settable in the environment, see ``client.config``): ``client_id``, ``client_secret``,
    ``token_url``, ``audience``, ``base_url``, ``connect_timeout``, ``read_timeout``, ``concurrency``,
    ``retries``, ``page_size``, ``token_cache``. ``transport``: an ``httpx`` transport (``MockTransport`` in tests);
    ``sleep``: how to wait between retries (default ``time.sleep``; tests inject a fake); ``clock``: the wall
    clock, in seconds, that token lifetimes are measured on (default ``time.time``). Each call's requests
    share one retry budget (see :mod:`client.transport`). Thread-safe: any number of threads may share one client.
    """

    def __init__(
        self,
        target: str | None = None,
        *,
        env_file: EnvFile = None,
        embedded_options: Mapping[str, Any] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        **options: Any,
    ) -> None:
        super().__init__(target, env_file=env_file, embedded_options=embedded_options, options=options)
        self._transport = SyncTransport(self.settings, transport=transport, sleep=sleep, clock=clock)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def __enter__(self) -> RunRegistry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool and the worker threads, and stop an embedded server."""
        self._transport.close()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self._stop_embedded()

    @property
    def token_requests(self) -> int:
        """How many times this client asked the token endpoint for a token."""
        return 0 if self._transport.tokens is None else self._transport.tokens.requests

    def _run(self, operation: Operation[T], cancel: threading.Event | None = None) -> T:
        budget = self._transport.new_budget()
        return run_sync(operation, self._transport, pool=self._workers(), cancel=cancel, budget=budget)

    def _list(self, kind: Kind, arguments: dict[str, Any]) -> Any:
        with reporting(arguments.pop("progress"), f"{kind} pages") as progress:
            return self._run(self._listing(kind, progress=progress, **arguments))

    def _workers(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.settings.concurrency, thread_name_prefix="runql")
            return self._pool

    # -- listings ------------------------------------------------------------------------------------------
    def get_runs(
        self,
        limit: int | None = None,
        compress_attributes: bool | None = None,
        *,
        filter: object = None,
        page_size: int | None = None,
        sortings: object = None,
        ignore_filter_transformation: bool = False,
        output: ops.Output = "models",
        resume_from: ResumeFrom | None = None,
        unknown_flags: ops.UnknownFlags = "error",
        progress: ProgressOption = False,
    ) -> Any:
        """Every run matching ``filter`` (the public client's filter language, validated and compiled).

        ``limit``: at most that many (default: all); ``sortings``: ``[["run_number", "DESC"]]``;
        ``resume_from``: the token of a ``PartialResultError``; ``progress``: ``True`` for a ``tqdm`` bar of the
        pages, or a callable ``progress(pages_done, pages_total)``.
        """
        return self._list("runs", _arguments(locals()))

    def get_datasets(
        self,
        limit: int | None = None,
        compress_attributes: bool | None = None,
        *,
        filter: object = None,
        page_size: int | None = None,
        sortings: object = None,
        ignore_filter_transformation: bool = False,
        output: ops.Output = "models",
        resume_from: ResumeFrom | None = None,
        unknown_flags: ops.UnknownFlags = "error",
        progress: ProgressOption = False,
    ) -> Any:
        """Every dataset matching ``filter`` (dataset attributes, ``dataset_name``, and the run's attributes)."""
        return self._list("datasets", _arguments(locals()))

    def get_run(self, run_number: int, compress_attributes: bool | None = None) -> Any:
        """The run, or ``None`` (``{}`` with ``compress_attributes`` set) when there is none."""
        return self._run(self._single("runs", run_number, None, compress_attributes))

    def get_dataset(
        self, run_number: int, dataset_name: str = "online", compress_attributes: bool | None = None
    ) -> Any:
        """The dataset ``dataset_name`` of the run, or ``None`` (``{}`` with ``compress_attributes`` set)."""
        return self._run(self._single("datasets", run_number, dataset_name, compress_attributes))

    def get_dataset_names_of_run(self, run_number: int) -> list[str]:
        return self._run(ops.get_list_of_names(run_number))

    def get_cycles(self) -> list[Any]:
        result: list[Any] = self._run(ops.get_json(get_call("cycles", "global"), list))
        return result

    def get_datasets_accepted(self) -> list[Any]:
        result: list[Any] = self._run(ops.get_json(get_call("datasets_accepted"), list))
        return result

    # -- lumisections --------------------------------------------------------------------------------------
    def get_lumisections(self, run_number: int, dataset_name: str = "online", *, output: ops.Output = "models") -> Any:
        """Per-lumisection RR statuses: a list, index i is lumisection i+1 (``[]`` for an unknown run)."""
        return self._run(ops.lumisections("rr_lumisections", run_number, dataset_name, output=output))

    def get_oms_lumisections(
        self, run_number: int, dataset_name: str = "online", *, output: ops.Output = "models"
    ) -> Any:
        return self._run(ops.lumisections("oms_lumisections", run_number, dataset_name, output=output))

    def get_lumisection_ranges(
        self, run_number: int, dataset_name: str = "online", *, output: ops.Output = "models"
    ) -> Any:
        return self._run(ops.lumisections("rr_lumisection_ranges", run_number, dataset_name, output=output))

    def get_lumisection_ranges_by_component(
        self, run_number: int, dataset_name: str = "online", *, output: ops.Output = "models"
    ) -> Any:
        return self._run(
            ops.lumisections("rr_lumisection_ranges_by_component", run_number, dataset_name, output=output)
        )

    def get_oms_lumisection_ranges(self, run_number: int, *, output: ops.Output = "models") -> Any:
        return self._run(ops.lumisections("oms_lumisection_ranges", run_number, "online", output=output))

    def get_joint_lumisection_ranges(
        self, run_number: int, dataset_name: str = "online", *, output: ops.Output = "models"
    ) -> Any:
        return self._run(ops.lumisections("joint_lumisection_ranges", run_number, dataset_name, output=output))

    # -- lumisection tables --------------------------------------------------------------------------------
    def lumisection_table(
        self,
        filter: object = None,
        dataset: str = "online",
        columns: list[str] | None = None,
        *,
        progress: ProgressOption = False,
    ) -> Any:
        """A DataFrame with one row per lumisection of every dataset matching ``filter`` and ``dataset`` (SQL
        ``SIMILAR TO``): ``run``, ``dataset``, ``lumisection`` and the ``columns`` (RR components such as
        ``"dt-dt"``, OMS bits such as ``"bpix_ready"``, ``"recorded"``/``"delivered"``; default: every component
        of the datasets and every OMS bit), built from ranges (see :mod:`client.lumitable`)."""
        frames: list[Any] = []
        with reporting(progress, "lumisection ranges") as report:
            self._run(self._table(frames.append, filter, dataset, columns, report))
        return concat_frames(frames)

    def lumisection_table_to_parquet(
        self,
        path: str | os.PathLike[str],
        filter: object = None,
        dataset: str = "online",
        columns: list[str] | None = None,
        *,
        progress: ProgressOption = False,
    ) -> int:
        """:meth:`lumisection_table` streamed run by run into a hive-partitioned Parquet dataset at ``path`` (one
        folder per dataset name; memory stays constant), readable as is by pandas, Polars, DuckDB, Dask and
        Spark. Needs ``pip install runql[parquet]``. Returns the number of rows written."""
        sink = ParquetSink(path)
        with reporting(progress, "lumisection ranges") as report:
            return self._run(self._table(sink, filter, dataset, columns, report))

    # -- golden JSON ---------------------------------------------------------------------------------------
    def create_json(
        self,
        json_logic: object,
        dataset_name_filter: str,
        engine: str = "server",
        *,
        timeout: float = 3600.0,
        poll_interval: float = 5.0,
        on_progress: JobProgress | None = None,
        cancel: threading.Event | None = None,
        progress: ProgressOption = False,
        **engine_options: Any,
    ) -> GoldenJson:
        """A golden JSON for ``json_logic`` over datasets matching ``dataset_name_filter`` (SQL ``SIMILAR TO``).

        Both engines return a :class:`schemas.golden.GoldenJson` (``result["generated_json"]`` still works, as
        with the public client). ``engine="server"``: the service's json_portal job, polled with one token every
        ``poll_interval`` seconds until its row is complete (anti-JSON and losses filled in),
        ``on_progress(None | fraction | "finishing")``, a ``timeout`` and ``cancel`` (a ``threading.Event``);
        the service's whole row is ``result.server_row``. ``engine="local"``: runql's own engine
        (:func:`client.golden_local.create_json_local`; options ``with_luminosity``, ``report``, ``pushdown``).
        Both give the service's loss figures as ``result.accounting``. ``progress=True`` shows a ``tqdm`` bar of
        the lumisection requests (local) or of the job (server); a callable gets ``progress(done, total)``.
        """
        if engine == "local":
            with reporting(progress, "lumisection requests") as report:
                return create_json_local(self, json_logic, dataset_name_filter, progress=report, **engine_options)
        if engine_options:
            raise ArgumentTypeError(f"unexpected options for engine='server': {sorted(engine_options)}")
        with job_reporting(progress, "json_portal job", also=on_progress) as show:
            job = self._json_job(
                json_logic, dataset_name_filter, engine, timeout=timeout, poll_interval=poll_interval, on_progress=show
            )
            return self._run(job, cancel=cancel)

    # -- writes --------------------------------------------------------------------------------------------
    def _write(self, plan: WritePlan, dry_run: bool, stop_on_error: bool, raise_on_error: bool) -> WriteReport:
        report = self._run(apply_writes(plan, dry_run=dry_run, stop_on_error=stop_on_error))
        return self._checked(report, raise_on_error)

    def move_runs(self, from_: str, to_: str, run: Any = None, runs: Any = None, **how: bool) -> WriteReport:
        """Move runs between OPEN, SIGNOFF and COMPLETED, run by run (see :meth:`change_run_class` for ``how``)."""
        return self._write(move_runs_plan(from_, to_, run, runs), **_how(how))

    def make_significant_runs(self, run: Any = None, runs: Any = None, **how: bool) -> WriteReport:
        return self._write(make_significant_runs_plan(run, runs), **_how(how))

    def reset_RR_attributes_and_refresh_runs(self, runs: Any = None, **how: bool) -> WriteReport:  # noqa: N802
        return self._write(reset_and_refresh_plan(runs), **_how(how))

    def manually_refresh_components_statuses_for_runs(self, runs: Any = None, **how: bool) -> WriteReport:
        return self._write(manually_refresh_plan(runs), **_how(how))

    def edit_rr_lumisections(
        self,
        run: int,
        lumi_start: int,
        lumi_end: int,
        component: str,
        status: str,
        comment: str = "",
        cause: str = "",
        dataset_name: str = "online",
        **how: bool,
    ) -> WriteReport:
        plan = edit_rr_lumisections_plan(run, lumi_start, lumi_end, component, status, comment, cause, dataset_name)
        return self._write(plan, **_how(how))

    def move_datasets(
        self,
        from_: str,
        to_: str,
        dataset_name: str,
        workspace: str = "global",
        run: Any = None,
        runs: Any = None,
        **how: bool,
    ) -> WriteReport:
        return self._write(move_datasets_plan(from_, to_, dataset_name, workspace, run, runs), **_how(how))

    def change_run_class(self, run_numbers: Any, new_class: str, **how: bool) -> WriteReport:
        """Set the class of each run. ``how``: ``dry_run=False`` (send nothing, report the plan),
        ``stop_on_error=True`` (skip the runs after a failure), ``raise_on_error=True`` (raise ``WriteError``
        carrying the report when a run failed). The report always says which runs were changed."""
        return self._write(change_run_class_plan(run_numbers, new_class), **_how(how))


class AsyncRunRegistry(_Configured):
    """The same API as :class:`RunRegistry` with ``async``/``await``; pages are fetched by concurrent tasks."""

    def __init__(
        self,
        target: str | None = None,
        *,
        env_file: EnvFile = None,
        embedded_options: Mapping[str, Any] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        clock: Callable[[], float] = time.time,
        **options: Any,
    ) -> None:
        super().__init__(target, env_file=env_file, embedded_options=embedded_options, options=options)
        self._transport = AsyncTransport(self.settings, transport=transport, sleep=sleep, clock=clock)

    async def __aenter__(self) -> AsyncRunRegistry:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._transport.aclose()
        self._stop_embedded()

    @property
    def token_requests(self) -> int:
        return 0 if self._transport.tokens is None else self._transport.tokens.requests

    async def _run(self, operation: Operation[T]) -> T:
        budget = self._transport.new_budget()
        return await run_async(operation, self._transport, concurrency=self.settings.concurrency, budget=budget)

    async def _list(self, kind: Kind, arguments: dict[str, Any]) -> Any:
        with reporting(arguments.pop("progress"), f"{kind} pages") as progress:
            return await self._run(self._listing(kind, progress=progress, **arguments))

    async def get_runs(
        self,
        limit: int | None = None,
        compress_attributes: bool | None = None,
        *,
        filter: object = None,
        page_size: int | None = None,
        sortings: object = None,
        ignore_filter_transformation: bool = False,
        output: ops.Output = "models",
        resume_from: ResumeFrom | None = None,
        unknown_flags: ops.UnknownFlags = "error",
        progress: ProgressOption = False,
    ) -> Any:
        return await self._list("runs", _arguments(locals()))

    async def get_datasets(
        self,
        limit: int | None = None,
        compress_attributes: bool | None = None,
        *,
        filter: object = None,
        page_size: int | None = None,
        sortings: object = None,
        ignore_filter_transformation: bool = False,
        output: ops.Output = "models",
        resume_from: ResumeFrom | None = None,
        unknown_flags: ops.UnknownFlags = "error",
        progress: ProgressOption = False,
    ) -> Any:
        return await self._list("datasets", _arguments(locals()))

    async def get_run(self, run_number: int, compress_attributes: bool | None = None) -> Any:
        return await self._run(self._single("runs", run_number, None, compress_attributes))

    async def get_dataset(
        self, run_number: int, dataset_name: str = "online", compress_attributes: bool | None = None
    ) -> Any:
        return await self._run(self._single("datasets", run_number, dataset_name, compress_attributes))

    async def get_dataset_names_of_run(self, run_number: int) -> list[str]:
        return await self._run(ops.get_list_of_names(run_number))

    async def get_cycles(self) -> list[Any]:
        result: list[Any] = await self._run(ops.get_json(get_call("cycles", "global"), list))
        return result

    async def get_datasets_accepted(self) -> list[Any]:
        result: list[Any] = await self._run(ops.get_json(get_call("datasets_accepted"), list))
        return result

    async def get_lumisections(
        self, run_number: int, dataset_name: str = "online", *, output: ops.Output = "models"
    ) -> Any:
        return await self._run(ops.lumisections("rr_lumisections", run_number, dataset_name, output=output))

    async def get_oms_lumisections(
        self, run_number: int, dataset_name: str = "online", *, output: ops.Output = "models"
    ) -> Any:
        return await self._run(ops.lumisections("oms_lumisections", run_number, dataset_name, output=output))

    async def get_lumisection_ranges(
        self, run_number: int, dataset_name: str = "online", *, output: ops.Output = "models"
    ) -> Any:
        return await self._run(ops.lumisections("rr_lumisection_ranges", run_number, dataset_name, output=output))

    async def get_lumisection_ranges_by_component(
        self, run_number: int, dataset_name: str = "online", *, output: ops.Output = "models"
    ) -> Any:
        return await self._run(
            ops.lumisections("rr_lumisection_ranges_by_component", run_number, dataset_name, output=output)
        )

    async def get_oms_lumisection_ranges(self, run_number: int, *, output: ops.Output = "models") -> Any:
        return await self._run(ops.lumisections("oms_lumisection_ranges", run_number, "online", output=output))

    async def get_joint_lumisection_ranges(
        self, run_number: int, dataset_name: str = "online", *, output: ops.Output = "models"
    ) -> Any:
        return await self._run(ops.lumisections("joint_lumisection_ranges", run_number, dataset_name, output=output))

    async def lumisection_table(
        self,
        filter: object = None,
        dataset: str = "online",
        columns: list[str] | None = None,
        *,
        progress: ProgressOption = False,
    ) -> Any:
        """See :meth:`RunRegistry.lumisection_table`."""
        frames: list[Any] = []
        with reporting(progress, "lumisection ranges") as report:
            await self._run(self._table(frames.append, filter, dataset, columns, report))
        return concat_frames(frames)

    async def lumisection_table_to_parquet(
        self,
        path: str | os.PathLike[str],
        filter: object = None,
        dataset: str = "online",
        columns: list[str] | None = None,
        *,
        progress: ProgressOption = False,
    ) -> int:
        """See :meth:`RunRegistry.lumisection_table_to_parquet`."""
        sink = ParquetSink(path)
        with reporting(progress, "lumisection ranges") as report:
            return await self._run(self._table(sink, filter, dataset, columns, report))

    async def create_json(
        self,
        json_logic: object,
        dataset_name_filter: str,
        engine: str = "server",
        *,
        timeout: float = 3600.0,
        poll_interval: float = 5.0,
        on_progress: JobProgress | None = None,
        progress: ProgressOption = False,
        **engine_options: Any,
    ) -> GoldenJson:
        """See :meth:`RunRegistry.create_json`; cancel by cancelling the task."""
        if engine == "local":
            with reporting(progress, "lumisection requests") as report:
                return await create_json_local_async(
                    self, json_logic, dataset_name_filter, progress=report, **engine_options
                )
        if engine_options:
            raise ArgumentTypeError(f"unexpected options for engine='server': {sorted(engine_options)}")
        with job_reporting(progress, "json_portal job", also=on_progress) as show:
            job = self._json_job(
                json_logic, dataset_name_filter, engine, timeout=timeout, poll_interval=poll_interval, on_progress=show
            )
            return await self._run(job)

    async def _write(self, plan: WritePlan, dry_run: bool, stop_on_error: bool, raise_on_error: bool) -> WriteReport:
        report = await self._run(apply_writes(plan, dry_run=dry_run, stop_on_error=stop_on_error))
        return self._checked(report, raise_on_error)

    async def move_runs(self, from_: str, to_: str, run: Any = None, runs: Any = None, **how: bool) -> WriteReport:
        return await self._write(move_runs_plan(from_, to_, run, runs), **_how(how))

    async def make_significant_runs(self, run: Any = None, runs: Any = None, **how: bool) -> WriteReport:
        return await self._write(make_significant_runs_plan(run, runs), **_how(how))

    async def reset_RR_attributes_and_refresh_runs(self, runs: Any = None, **how: bool) -> WriteReport:  # noqa: N802
        return await self._write(reset_and_refresh_plan(runs), **_how(how))

    async def manually_refresh_components_statuses_for_runs(self, runs: Any = None, **how: bool) -> WriteReport:
        return await self._write(manually_refresh_plan(runs), **_how(how))

    async def edit_rr_lumisections(
        self,
        run: int,
        lumi_start: int,
        lumi_end: int,
        component: str,
        status: str,
        comment: str = "",
        cause: str = "",
        dataset_name: str = "online",
        **how: bool,
    ) -> WriteReport:
        plan = edit_rr_lumisections_plan(run, lumi_start, lumi_end, component, status, comment, cause, dataset_name)
        return await self._write(plan, **_how(how))

    async def move_datasets(
        self,
        from_: str,
        to_: str,
        dataset_name: str,
        workspace: str = "global",
        run: Any = None,
        runs: Any = None,
        **how: bool,
    ) -> WriteReport:
        return await self._write(move_datasets_plan(from_, to_, dataset_name, workspace, run, runs), **_how(how))

    async def change_run_class(self, run_numbers: Any, new_class: str, **how: bool) -> WriteReport:
        return await self._write(change_run_class_plan(run_numbers, new_class), **_how(how))


_HOW = {"dry_run": False, "stop_on_error": True, "raise_on_error": True}


def _how(how: Mapping[str, bool]) -> dict[str, bool]:
    unknown = sorted(set(how) - set(_HOW))
    if unknown:
        raise ArgumentTypeError(f"unexpected keyword argument(s) {unknown}; writes take {sorted(_HOW)}")
    return {**_HOW, **{k: bool(v) for k, v in how.items()}}


def _arguments(local_values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in local_values.items() if k != "self"}
