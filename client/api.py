"""``RunRegistry`` and ``AsyncRunRegistry``: the public client's calls, on one connection pool per client.

>>> from client import RunRegistry
>>> with RunRegistry(target="embedded", embedded_options={"runs": 30}) as rr:    # synthetic demo data
...     runs = rr.get_runs(filter={"class": "Collisions18"}, limit=5)
...     frame = runs.to_pandas()
>>> len(runs) <= 5, runs.synthetic, str(frame["run_number"].dtype)
(True, True, 'Int64')

Results (each read is overloaded, so a type checker knows which): ``get_runs``/``get_datasets`` return
``Records[Run]``/``Records[Dataset]`` (:class:`~client.results.Records` of ``schemas`` models) by default.
Passing ``compress_attributes=True`` or ``False`` explicitly gives exactly the public client's dict shapes
(compressed, or raw as the service sends them; compressed datasets keep the run's OMS attributes), as
``Records[dict[str, Any]]``, as does ``output="dicts"`` (compressed). ``output="dataframe"`` returns a typed
``pandas.DataFrame``. ``get_run``/``get_dataset`` return the model, or ``None`` when nothing matches (a dict, ``{}``
when nothing matches, with ``compress_attributes`` set, like the public client). Lumisection reads return lists
of models, or the service's JSON with ``output="dicts"``.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Generic, Literal, TypedDict, TypeVar, overload

import anyio
import httpx

from client import operations as ops
from client.calls import Kind, LumisectionRoute, get_call
from client.config import EnvFile, Options, Settings, check_options, resolve_settings
from client.embedded import EmbeddedBackend, start_embedded
from client.engine import Operation, run_async, run_sync
from client.errors import ArgumentError, ArgumentTypeError, ConfigError, WriteError
from client.golden_local import golden_operation
from client.jsonportal import JobProgress, json_portal_job
from client.lumitable import ParquetSink, Sink, concat_frames, lumisection_table_operation
from client.pagination import ResumeFrom
from client.progress import Progress, ProgressOption, job_reporting, reporting
from client.results import Records
from client.transport import AsyncTransport, SyncTransport
from client.write_report import WriteReport
from client.writes import (
    RunNumbers,
    WriteOptions,
    WritePlan,
    apply_writes,
    change_run_class_plan,
    edit_rr_lumisections_plan,
    make_significant_runs_plan,
    manually_refresh_plan,
    move_datasets_plan,
    move_runs_plan,
    reset_and_refresh_plan,
)
from schemas import (
    Dataset,
    JointLumisectionRange,
    JsonPortalRow,
    OmsLumisection,
    OmsLumisectionRange,
    RangesByComponent,
    RRLumisection,
    RRLumisectionRange,
    Run,
)
from schemas.golden import GoldenJson

if TYPE_CHECKING:
    import pandas as pd
    from typing_extensions import Unpack

__all__ = [
    "CLIENT_OPTIONS",
    "LISTING_OPTIONS",
    "AsyncRunRegistry",
    "ClientOptions",
    "ListingOptions",
    "LocalEngineOptions",
    "RunRegistry",
]

T = TypeVar("T")
#: What a write returns: the report (``RunRegistry``) or an awaitable of it (``AsyncRunRegistry``).
Reported = TypeVar("Reported", bound=WriteReport | Awaitable[WriteReport])
#: A record as the service sends it, or compressed as the public client returns it.
Row = dict[str, Any]
#: ``output=`` of the lumisection reads: typed models, or the service's JSON.
LumisectionOutput = Literal["models", "dicts"]


class ListingOptions(TypedDict, total=False):
    """The keyword options of ``get_runs``/``get_datasets`` besides ``limit``, ``compress_attributes`` and
    ``output``; see :meth:`RunRegistry.get_runs`."""

    filter: object
    page_size: int | None
    sortings: object
    ignore_filter_transformation: bool
    resume_from: ResumeFrom | None
    unknown_flags: ops.UnknownFlags
    progress: ProgressOption


#: The keywords of :class:`ListingOptions`.
LISTING_OPTIONS: frozenset[str] = frozenset(ListingOptions.__annotations__)


class LocalEngineOptions(TypedDict, total=False):
    """The options of ``create_json(..., engine="local")`` (see :func:`client.golden_local.golden_operation`)."""

    with_luminosity: bool
    report: bool
    pushdown: bool | None


#: Where a golden JSON is computed: the service's json_portal job, or runql's own engine.
Engine = Literal["server", "local"]


class ClientOptions(Options, total=False):
    """Every keyword of ``RunRegistry(target, ...)`` (and of ``setup(target, ...)``): the settings
    (:class:`client.config.Options`) and ``env_file``, ``embedded_options``, ``transport``, ``sleep``."""

    env_file: EnvFile
    embedded_options: Mapping[str, Any] | None
    transport: httpx.BaseTransport | None
    sleep: Callable[[float], None]


#: The keywords of :class:`ClientOptions` (those of ``AsyncRunRegistry`` too).
CLIENT_OPTIONS: frozenset[str] = frozenset(ClientOptions.__annotations__)


class _Configured:
    """Settings resolution, the embedded server and the operations, shared by both clients."""

    _transport: SyncTransport | AsyncTransport

    def __init__(
        self,
        target: str | None,
        *,
        env_file: EnvFile,
        embedded_options: Mapping[str, Any] | None,
        options: Options,
    ) -> None:
        check_options(options, CLIENT_OPTIONS, where=f"{type(self).__name__}()")
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

    @property
    def token_requests(self) -> int:
        """How many times this client asked the token endpoint for a token."""
        return 0 if self._transport.tokens is None else self._transport.tokens.requests

    def __repr__(self) -> str:
        synthetic = ", synthetic data" if self.synthetic else ""
        return f"{type(self).__name__}(target={self.target!r}, base_url={self.base_url!r}{synthetic})"

    def _stop_embedded(self) -> None:
        if self._embedded is not None:
            self._embedded.stop()

    # -- operations (one place for the arguments of both clients) ------------------------------------------
    def _listing(
        self,
        kind: Kind,
        limit: int | None,
        compress_attributes: bool | None,
        output: ops.Output,
        options: ListingOptions,
        progress: Progress | None,
    ) -> Operation[Records[Any] | pd.DataFrame]:
        page_size = options.get("page_size")
        return ops.listing(
            kind,
            filter=options.get("filter"),
            limit=limit,
            page_size=self.settings.page_size if page_size is None else page_size,
            sortings=options.get("sortings"),
            ignore_filter_transformation=options.get("ignore_filter_transformation", False),
            compress_attributes=compress_attributes,
            output=output,
            resume_from=options.get("resume_from"),
            unknown_flags=options.get("unknown_flags", "error"),
            progress=progress,
            synthetic=self.synthetic,
        )

    @staticmethod
    def _listing_progress(kind: Kind, options: ListingOptions) -> ProgressOption:
        """The ``progress`` option, once every option is known to be one."""
        check_options(options, LISTING_OPTIONS, where=f"get_{kind}()")
        return options.get("progress", False)

    def _single(
        self, kind: Kind, run_number: int, dataset_name: str | None, compress: bool | None
    ) -> Operation[Run | Dataset | Row | None]:
        return ops.single_record(kind, run_number, dataset_name, compress_attributes=compress, synthetic=self.synthetic)

    def _table(
        self, sink: Sink, filter: object, dataset: str, columns: list[str] | None, progress: Progress | None
    ) -> Operation[int]:
        return lumisection_table_operation(
            filter, dataset, columns, sink, page_size=self.settings.page_size, progress=progress
        )

    def _local_json_job(
        self, json_logic: object, dataset_name_filter: str, progress: Any, options: Mapping[str, Any]
    ) -> Operation[GoldenJson]:
        return golden_operation(
            json_logic, dataset_name_filter, page_size=self.settings.page_size, progress=progress, **options
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


class _Writes(Generic[Reported]):
    """The writes of both clients, defined once: each builds its plan (checking its arguments at the call) and
    hands it to the client's ``_write``, which returns the report (``RunRegistry``) or an awaitable of it
    (``AsyncRunRegistry``)."""

    def _write(self, plan: WritePlan, how: WriteOptions) -> Reported:
        raise NotImplementedError

    def move_runs(
        self,
        from_: str,
        to_: str,
        run: RunNumbers = None,
        runs: RunNumbers = None,
        *,
        dry_run: bool = False,
        stop_on_error: bool = True,
        raise_on_error: bool = True,
        progress: ProgressOption = False,
    ) -> Reported:
        """Move runs between OPEN, SIGNOFF and COMPLETED, run by run (see :meth:`change_run_class` for the
        options)."""
        how = WriteOptions(dry_run, stop_on_error, raise_on_error, progress)
        return self._write(move_runs_plan(from_, to_, run, runs), how)

    def make_significant_runs(
        self,
        run: RunNumbers = None,
        runs: RunNumbers = None,
        *,
        dry_run: bool = False,
        stop_on_error: bool = True,
        raise_on_error: bool = True,
        progress: ProgressOption = False,
    ) -> Reported:
        """Mark runs significant, run by run (a run already significant is skipped)."""
        how = WriteOptions(dry_run, stop_on_error, raise_on_error, progress)
        return self._write(make_significant_runs_plan(run, runs), how)

    def reset_RR_attributes_and_refresh_runs(  # noqa: N802
        self,
        runs: RunNumbers = None,
        *,
        dry_run: bool = False,
        stop_on_error: bool = True,
        raise_on_error: bool = True,
        progress: ProgressOption = False,
    ) -> Reported:
        """Reset the RR attributes of runs and refresh them from OMS, run by run."""
        how = WriteOptions(dry_run, stop_on_error, raise_on_error, progress)
        return self._write(reset_and_refresh_plan(runs), how)

    def manually_refresh_components_statuses_for_runs(
        self,
        runs: RunNumbers = None,
        *,
        dry_run: bool = False,
        stop_on_error: bool = True,
        raise_on_error: bool = True,
        progress: ProgressOption = False,
    ) -> Reported:
        """Refresh the component statuses of runs, run by run."""
        how = WriteOptions(dry_run, stop_on_error, raise_on_error, progress)
        return self._write(manually_refresh_plan(runs), how)

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
        *,
        dry_run: bool = False,
        stop_on_error: bool = True,
        raise_on_error: bool = True,
        progress: ProgressOption = False,
    ) -> Reported:
        """Set the status of ``component`` over lumisections ``lumi_start..lumi_end`` (checked first, see
        :func:`client.writes.edit_rr_lumisections_plan`)."""
        how = WriteOptions(dry_run, stop_on_error, raise_on_error, progress)
        plan = edit_rr_lumisections_plan(run, lumi_start, lumi_end, component, status, comment, cause, dataset_name)
        return self._write(plan, how)

    def move_datasets(
        self,
        from_: str,
        to_: str,
        dataset_name: str,
        workspace: str = "global",
        run: RunNumbers = None,
        runs: RunNumbers = None,
        *,
        dry_run: bool = False,
        stop_on_error: bool = True,
        raise_on_error: bool = True,
        progress: ProgressOption = False,
    ) -> Reported:
        """Move a dataset of each run between states of ``workspace``, run by run."""
        how = WriteOptions(dry_run, stop_on_error, raise_on_error, progress)
        return self._write(move_datasets_plan(from_, to_, dataset_name, workspace, run, runs), how)

    def change_run_class(
        self,
        run_numbers: RunNumbers,
        new_class: str,
        *,
        dry_run: bool = False,
        stop_on_error: bool = True,
        raise_on_error: bool = True,
        progress: ProgressOption = False,
    ) -> Reported:
        """Set the class of each run. Options of every write: ``dry_run`` (send nothing, report the plan),
        ``stop_on_error`` (skip the runs after a failure), ``raise_on_error`` (raise ``WriteError`` carrying the
        report when a run failed), ``progress`` (``True`` for a ``tqdm`` bar of the runs, or a callable
        ``progress(runs_done, runs_total)``). The report always says which runs were changed."""
        how = WriteOptions(dry_run, stop_on_error, raise_on_error, progress)
        return self._write(change_run_class_plan(run_numbers, new_class), how)


class RunRegistry(_Configured, _Writes[WriteReport]):
    """A client of one Run Registry (``target``: production, development, local, embedded or a base URL).

    Settings (:class:`client.config.Options`, each also settable in the environment, see ``client.config``):
    ``client_id``, ``client_secret``, ``token_url``, ``audience``, ``base_url``, ``connect_timeout``,
    ``read_timeout``, ``concurrency``, ``retries``, ``backoff``, ``page_size``, ``token_cache``; any other keyword
    is an ``UnknownOptionError`` with a did-you-mean. ``transport``: an ``httpx`` transport (``MockTransport`` in
    tests); ``sleep``: how to wait between retries (default ``time.sleep``; tests inject a fake); ``clock``: the
    wall clock, in seconds, that token lifetimes are measured on (default ``time.time``). Each call's requests
    share one retry budget (see :mod:`client.transport`). Thread-safe: any number of threads may share one
    client.
    """

    _transport: SyncTransport

    def __init__(
        self,
        target: str | None = None,
        *,
        env_file: EnvFile = None,
        embedded_options: Mapping[str, Any] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        **options: Unpack[Options],
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

    def _run(self, operation: Operation[T], cancel: threading.Event | None = None) -> T:
        budget = self._transport.new_budget()
        return run_sync(operation, self._transport, pool=self._workers(), cancel=cancel, budget=budget)

    def _workers(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.settings.concurrency, thread_name_prefix="runql")
            return self._pool

    # -- listings ------------------------------------------------------------------------------------------
    def _list(
        self,
        kind: Kind,
        limit: int | None,
        compress_attributes: bool | None,
        output: ops.Output,
        options: ListingOptions,
    ) -> Records[Any] | pd.DataFrame:
        with reporting(self._listing_progress(kind, options), f"{kind} pages") as progress:
            return self._run(self._listing(kind, limit, compress_attributes, output, options, progress))

    @overload
    def get_runs(
        self,
        limit: int | None = None,
        compress_attributes: None = None,
        *,
        output: Literal["models"] = "models",
        **options: Unpack[ListingOptions],
    ) -> Records[Run]: ...
    @overload
    def get_runs(
        self,
        limit: int | None = None,
        compress_attributes: None = None,
        *,
        output: Literal["dataframe"],
        **options: Unpack[ListingOptions],
    ) -> pd.DataFrame: ...
    @overload
    def get_runs(
        self,
        limit: int | None = None,
        compress_attributes: bool | None = None,
        *,
        output: Literal["models", "dicts"] = "models",
        **options: Unpack[ListingOptions],
    ) -> Records[Row]: ...
    @overload
    def get_runs(
        self,
        limit: int | None = None,
        compress_attributes: None = None,
        *,
        output: ops.Output,
        **options: Unpack[ListingOptions],
    ) -> Records[Run] | Records[Row] | pd.DataFrame: ...
    def get_runs(
        self,
        limit: int | None = None,
        compress_attributes: bool | None = None,
        *,
        output: ops.Output = "models",
        **options: Unpack[ListingOptions],
    ) -> Records[Any] | pd.DataFrame:
        """Every run matching ``filter`` (the public client's filter language, validated and compiled).

        ``limit``: at most that many (default: all); ``compress_attributes``/``output``: see the module doc.
        Options (:class:`ListingOptions`): ``filter``; ``sortings``: ``[["run_number", "DESC"]]``; ``page_size``;
        ``ignore_filter_transformation``: send ``filter`` as a backend filter; ``unknown_flags``: ``"error"`` or
        ``"warn"``; ``resume_from``: the token of a ``PartialResultError``; ``progress``: ``True`` for a ``tqdm``
        bar of the pages, or a callable ``progress(pages_done, pages_total)``.
        """
        return self._list("runs", limit, compress_attributes, output, options)

    @overload
    def get_datasets(
        self,
        limit: int | None = None,
        compress_attributes: None = None,
        *,
        output: Literal["models"] = "models",
        **options: Unpack[ListingOptions],
    ) -> Records[Dataset]: ...
    @overload
    def get_datasets(
        self,
        limit: int | None = None,
        compress_attributes: None = None,
        *,
        output: Literal["dataframe"],
        **options: Unpack[ListingOptions],
    ) -> pd.DataFrame: ...
    @overload
    def get_datasets(
        self,
        limit: int | None = None,
        compress_attributes: bool | None = None,
        *,
        output: Literal["models", "dicts"] = "models",
        **options: Unpack[ListingOptions],
    ) -> Records[Row]: ...
    @overload
    def get_datasets(
        self,
        limit: int | None = None,
        compress_attributes: None = None,
        *,
        output: ops.Output,
        **options: Unpack[ListingOptions],
    ) -> Records[Dataset] | Records[Row] | pd.DataFrame: ...
    def get_datasets(
        self,
        limit: int | None = None,
        compress_attributes: bool | None = None,
        *,
        output: ops.Output = "models",
        **options: Unpack[ListingOptions],
    ) -> Records[Any] | pd.DataFrame:
        """Every dataset matching ``filter`` (dataset attributes, ``dataset_name``, and the run's attributes);
        arguments as for :meth:`get_runs`."""
        return self._list("datasets", limit, compress_attributes, output, options)

    @overload
    def get_run(self, run_number: int, compress_attributes: None = None) -> Run | None: ...
    @overload
    def get_run(self, run_number: int, compress_attributes: bool) -> Row: ...
    def get_run(self, run_number: int, compress_attributes: bool | None = None) -> Run | Dataset | Row | None:
        """The run, or ``None`` (``{}`` with ``compress_attributes`` set) when there is none."""
        return self._run(self._single("runs", run_number, None, compress_attributes))

    @overload
    def get_dataset(
        self, run_number: int, dataset_name: str = "online", compress_attributes: None = None
    ) -> Dataset | None: ...
    @overload
    def get_dataset(self, run_number: int, dataset_name: str, compress_attributes: bool) -> Row: ...
    @overload
    def get_dataset(self, run_number: int, dataset_name: str = "online", *, compress_attributes: bool) -> Row: ...
    def get_dataset(
        self, run_number: int, dataset_name: str = "online", compress_attributes: bool | None = None
    ) -> Run | Dataset | Row | None:
        """The dataset ``dataset_name`` of the run, or ``None`` (``{}`` with ``compress_attributes`` set)."""
        return self._run(self._single("datasets", run_number, dataset_name, compress_attributes))

    def get_dataset_names_of_run(self, run_number: int) -> list[str]:
        return self._run(ops.get_list_of_names(run_number))

    def get_cycles(self) -> list[Row]:
        return self._run(ops.get_json(get_call("cycles", "global"), list))

    def get_datasets_accepted(self) -> list[Row]:
        return self._run(ops.get_json(get_call("datasets_accepted"), list))

    # -- lumisections --------------------------------------------------------------------------------------
    @overload
    def get_lumisections(
        self, run_number: int, dataset_name: str = "online", *, output: Literal["models"] = "models"
    ) -> list[RRLumisection]: ...
    @overload
    def get_lumisections(
        self, run_number: int, dataset_name: str = "online", *, output: Literal["dicts"]
    ) -> list[Row]: ...
    def get_lumisections(
        self, run_number: int, dataset_name: str = "online", *, output: LumisectionOutput = "models"
    ) -> list[RRLumisection] | list[Row]:
        """Per-lumisection RR statuses: a list, index i is lumisection i+1 (``[]`` for an unknown run)."""
        rows: list[RRLumisection] | list[Row] = self._run(
            ops.lumisections("rr_lumisections", run_number, dataset_name, output=output)
        )
        return rows

    @overload
    def get_oms_lumisections(
        self, run_number: int, dataset_name: str = "online", *, output: Literal["models"] = "models"
    ) -> list[OmsLumisection]: ...
    @overload
    def get_oms_lumisections(
        self, run_number: int, dataset_name: str = "online", *, output: Literal["dicts"]
    ) -> list[Row]: ...
    def get_oms_lumisections(
        self, run_number: int, dataset_name: str = "online", *, output: LumisectionOutput = "models"
    ) -> list[OmsLumisection] | list[Row]:
        """Per-lumisection OMS values (luminosity, beam and DCS bits)."""
        rows: list[OmsLumisection] | list[Row] = self._run(
            ops.lumisections("oms_lumisections", run_number, dataset_name, output=output)
        )
        return rows

    @overload
    def get_lumisection_ranges(
        self, run_number: int, dataset_name: str = "online", *, output: Literal["models"] = "models"
    ) -> list[RRLumisectionRange]: ...
    @overload
    def get_lumisection_ranges(
        self, run_number: int, dataset_name: str = "online", *, output: Literal["dicts"]
    ) -> list[Row]: ...
    def get_lumisection_ranges(
        self, run_number: int, dataset_name: str = "online", *, output: LumisectionOutput = "models"
    ) -> list[RRLumisectionRange] | list[Row]:
        """Ranges of lumisections over which every RR status is constant."""
        rows: list[RRLumisectionRange] | list[Row] = self._run(
            ops.lumisections("rr_lumisection_ranges", run_number, dataset_name, output=output)
        )
        return rows

    @overload
    def get_lumisection_ranges_by_component(
        self, run_number: int, dataset_name: str = "online", *, output: Literal["models"] = "models"
    ) -> RangesByComponent: ...
    @overload
    def get_lumisection_ranges_by_component(
        self, run_number: int, dataset_name: str = "online", *, output: Literal["dicts"]
    ) -> dict[str, list[Row]]: ...
    def get_lumisection_ranges_by_component(
        self, run_number: int, dataset_name: str = "online", *, output: LumisectionOutput = "models"
    ) -> RangesByComponent | dict[str, list[Row]]:
        """Per component, the ranges of lumisections over which its status is constant."""
        ranges: RangesByComponent | dict[str, list[Row]] = self._run(
            ops.lumisections("rr_lumisection_ranges_by_component", run_number, dataset_name, output=output)
        )
        return ranges

    @overload
    def get_oms_lumisection_ranges(
        self, run_number: int, *, output: Literal["models"] = "models"
    ) -> list[OmsLumisectionRange]: ...
    @overload
    def get_oms_lumisection_ranges(self, run_number: int, *, output: Literal["dicts"]) -> list[Row]: ...
    def get_oms_lumisection_ranges(
        self, run_number: int, *, output: LumisectionOutput = "models"
    ) -> list[OmsLumisectionRange] | list[Row]:
        """Ranges of lumisections over which every OMS bit is constant."""
        rows: list[OmsLumisectionRange] | list[Row] = self._run(
            ops.lumisections("oms_lumisection_ranges", run_number, "online", output=output)
        )
        return rows

    @overload
    def get_joint_lumisection_ranges(
        self, run_number: int, dataset_name: str = "online", *, output: Literal["models"] = "models"
    ) -> list[JointLumisectionRange]: ...
    @overload
    def get_joint_lumisection_ranges(
        self, run_number: int, dataset_name: str = "online", *, output: Literal["dicts"]
    ) -> list[Row]: ...
    def get_joint_lumisection_ranges(
        self, run_number: int, dataset_name: str = "online", *, output: LumisectionOutput = "models"
    ) -> list[JointLumisectionRange] | list[Row]:
        """Ranges of lumisections over which every RR status and OMS bit is constant."""
        rows: list[JointLumisectionRange] | list[Row] = self._run(
            ops.lumisections("joint_lumisection_ranges", run_number, dataset_name, output=output)
        )
        return rows

    def get_lumisection_json(self, route: LumisectionRoute, run_number: int, dataset_name: str = "online") -> Any:
        """The reply of the lumisection ``route`` (one of ``client.calls.LUMISECTION_ENDPOINTS``) exactly as the
        service sent it: ``None``, ``[]`` or ``{}`` for an unknown run, whatever the route answers (the typed reads
        above normalise these). ``RunRegistry(...).get_lumisection_json("rr_lumisections", 355100)``."""
        answer: Any = self._run(ops.lumisection_json(route, run_number, dataset_name))
        return answer

    # -- lumisection tables --------------------------------------------------------------------------------
    def lumisection_table(
        self,
        filter: object = None,
        dataset: str = "online",
        columns: list[str] | None = None,
        *,
        progress: ProgressOption = False,
    ) -> pd.DataFrame:
        """A DataFrame with one row per lumisection of every dataset matching ``filter`` and ``dataset`` (SQL
        ``SIMILAR TO``): ``run``, ``dataset``, ``lumisection`` and the ``columns`` (RR components such as
        ``"dt-dt"``, OMS bits such as ``"bpix_ready"``, ``"recorded"``/``"delivered"``; default: every component
        of the datasets and every OMS bit), built from ranges (see :mod:`client.lumitable`)."""
        frames: list[pd.DataFrame] = []
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
        engine: Engine = "server",
        *,
        timeout: float = 3600.0,
        poll_interval: float = 5.0,
        on_progress: JobProgress | None = None,
        cancel: threading.Event | None = None,
        progress: ProgressOption = False,
        **engine_options: Unpack[LocalEngineOptions],
    ) -> GoldenJson:
        """A golden JSON for ``json_logic`` over datasets matching ``dataset_name_filter`` (SQL ``SIMILAR TO``).

        Both engines return a :class:`schemas.golden.GoldenJson` (``result["generated_json"]`` still works, as
        with the public client). ``engine="server"``: the service's json_portal job, polled with one token every
        ``poll_interval`` seconds until its row is complete (anti-JSON and losses filled in),
        ``on_progress(None | fraction | "finishing")``, a ``timeout`` and ``cancel`` (a ``threading.Event``);
        the service's whole row is ``result.server_row``. ``engine="local"``: runql's own engine
        (:func:`client.golden_local.golden_operation`; options ``with_luminosity``, ``report``, ``pushdown``).
        Both give the service's loss figures as ``result.accounting``. ``progress=True`` shows a ``tqdm`` bar of
        the lumisection requests (local) or of the job (server); a callable gets ``progress(done, total)``.
        """
        if engine == "local":
            with reporting(progress, "lumisection requests") as report:
                return self._run(self._local_json_job(json_logic, dataset_name_filter, report, engine_options))
        if engine_options:
            raise ArgumentTypeError(f"unexpected options for engine='server': {sorted(engine_options)}")
        with job_reporting(progress, "json_portal job", also=on_progress) as show:
            job = self._json_job(
                json_logic, dataset_name_filter, engine, timeout=timeout, poll_interval=poll_interval, on_progress=show
            )
            return self._run(job, cancel=cancel)

    # -- writes --------------------------------------------------------------------------------------------
    def _write(self, plan: WritePlan, how: WriteOptions) -> WriteReport:
        with reporting(how.progress, plan.action) as progress:
            operation = apply_writes(plan, dry_run=how.dry_run, stop_on_error=how.stop_on_error, progress=progress)
            report = self._run(operation)
        return self._checked(report, how.raise_on_error)


class AsyncRunRegistry(_Configured, _Writes[Awaitable[WriteReport]]):
    """The same API as :class:`RunRegistry` with ``async``/``await``; pages are fetched by concurrent tasks. A write
    checks its arguments when called and returns an awaitable of its report."""

    _transport: AsyncTransport

    def __init__(
        self,
        target: str | None = None,
        *,
        env_file: EnvFile = None,
        embedded_options: Mapping[str, Any] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        clock: Callable[[], float] = time.time,
        **options: Unpack[Options],
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

    async def _run(self, operation: Operation[T]) -> T:
        budget = self._transport.new_budget()
        return await run_async(operation, self._transport, concurrency=self.settings.concurrency, budget=budget)

    # -- listings and reads (see :class:`RunRegistry` for what each returns) ----------------------------------
    async def _list(
        self,
        kind: Kind,
        limit: int | None,
        compress_attributes: bool | None,
        output: ops.Output,
        options: ListingOptions,
    ) -> Records[Any] | pd.DataFrame:
        with reporting(self._listing_progress(kind, options), f"{kind} pages") as progress:
            return await self._run(self._listing(kind, limit, compress_attributes, output, options, progress))

    @overload
    async def get_runs(
        self,
        limit: int | None = None,
        compress_attributes: None = None,
        *,
        output: Literal["models"] = "models",
        **options: Unpack[ListingOptions],
    ) -> Records[Run]: ...
    @overload
    async def get_runs(
        self,
        limit: int | None = None,
        compress_attributes: None = None,
        *,
        output: Literal["dataframe"],
        **options: Unpack[ListingOptions],
    ) -> pd.DataFrame: ...
    @overload
    async def get_runs(
        self,
        limit: int | None = None,
        compress_attributes: bool | None = None,
        *,
        output: Literal["models", "dicts"] = "models",
        **options: Unpack[ListingOptions],
    ) -> Records[Row]: ...
    @overload
    async def get_runs(
        self,
        limit: int | None = None,
        compress_attributes: None = None,
        *,
        output: ops.Output,
        **options: Unpack[ListingOptions],
    ) -> Records[Run] | Records[Row] | pd.DataFrame: ...
    async def get_runs(
        self,
        limit: int | None = None,
        compress_attributes: bool | None = None,
        *,
        output: ops.Output = "models",
        **options: Unpack[ListingOptions],
    ) -> Records[Any] | pd.DataFrame:
        return await self._list("runs", limit, compress_attributes, output, options)

    @overload
    async def get_datasets(
        self,
        limit: int | None = None,
        compress_attributes: None = None,
        *,
        output: Literal["models"] = "models",
        **options: Unpack[ListingOptions],
    ) -> Records[Dataset]: ...
    @overload
    async def get_datasets(
        self,
        limit: int | None = None,
        compress_attributes: None = None,
        *,
        output: Literal["dataframe"],
        **options: Unpack[ListingOptions],
    ) -> pd.DataFrame: ...
    @overload
    async def get_datasets(
        self,
        limit: int | None = None,
        compress_attributes: bool | None = None,
        *,
        output: Literal["models", "dicts"] = "models",
        **options: Unpack[ListingOptions],
    ) -> Records[Row]: ...
    @overload
    async def get_datasets(
        self,
        limit: int | None = None,
        compress_attributes: None = None,
        *,
        output: ops.Output,
        **options: Unpack[ListingOptions],
    ) -> Records[Dataset] | Records[Row] | pd.DataFrame: ...
    async def get_datasets(
        self,
        limit: int | None = None,
        compress_attributes: bool | None = None,
        *,
        output: ops.Output = "models",
        **options: Unpack[ListingOptions],
    ) -> Records[Any] | pd.DataFrame:
        return await self._list("datasets", limit, compress_attributes, output, options)

    @overload
    async def get_run(self, run_number: int, compress_attributes: None = None) -> Run | None: ...
    @overload
    async def get_run(self, run_number: int, compress_attributes: bool) -> Row: ...
    async def get_run(self, run_number: int, compress_attributes: bool | None = None) -> Run | Dataset | Row | None:
        return await self._run(self._single("runs", run_number, None, compress_attributes))

    @overload
    async def get_dataset(
        self, run_number: int, dataset_name: str = "online", compress_attributes: None = None
    ) -> Dataset | None: ...
    @overload
    async def get_dataset(self, run_number: int, dataset_name: str, compress_attributes: bool) -> Row: ...
    @overload
    async def get_dataset(self, run_number: int, dataset_name: str = "online", *, compress_attributes: bool) -> Row: ...
    async def get_dataset(
        self, run_number: int, dataset_name: str = "online", compress_attributes: bool | None = None
    ) -> Run | Dataset | Row | None:
        return await self._run(self._single("datasets", run_number, dataset_name, compress_attributes))

    async def get_dataset_names_of_run(self, run_number: int) -> list[str]:
        return await self._run(ops.get_list_of_names(run_number))

    async def get_cycles(self) -> list[Row]:
        return await self._run(ops.get_json(get_call("cycles", "global"), list))

    async def get_datasets_accepted(self) -> list[Row]:
        return await self._run(ops.get_json(get_call("datasets_accepted"), list))

    # -- lumisections --------------------------------------------------------------------------------------
    @overload
    async def get_lumisections(
        self, run_number: int, dataset_name: str = "online", *, output: Literal["models"] = "models"
    ) -> list[RRLumisection]: ...
    @overload
    async def get_lumisections(
        self, run_number: int, dataset_name: str = "online", *, output: Literal["dicts"]
    ) -> list[Row]: ...
    async def get_lumisections(
        self, run_number: int, dataset_name: str = "online", *, output: LumisectionOutput = "models"
    ) -> list[RRLumisection] | list[Row]:
        rows: list[RRLumisection] | list[Row] = await self._run(
            ops.lumisections("rr_lumisections", run_number, dataset_name, output=output)
        )
        return rows

    @overload
    async def get_oms_lumisections(
        self, run_number: int, dataset_name: str = "online", *, output: Literal["models"] = "models"
    ) -> list[OmsLumisection]: ...
    @overload
    async def get_oms_lumisections(
        self, run_number: int, dataset_name: str = "online", *, output: Literal["dicts"]
    ) -> list[Row]: ...
    async def get_oms_lumisections(
        self, run_number: int, dataset_name: str = "online", *, output: LumisectionOutput = "models"
    ) -> list[OmsLumisection] | list[Row]:
        rows: list[OmsLumisection] | list[Row] = await self._run(
            ops.lumisections("oms_lumisections", run_number, dataset_name, output=output)
        )
        return rows

    @overload
    async def get_lumisection_ranges(
        self, run_number: int, dataset_name: str = "online", *, output: Literal["models"] = "models"
    ) -> list[RRLumisectionRange]: ...
    @overload
    async def get_lumisection_ranges(
        self, run_number: int, dataset_name: str = "online", *, output: Literal["dicts"]
    ) -> list[Row]: ...
    async def get_lumisection_ranges(
        self, run_number: int, dataset_name: str = "online", *, output: LumisectionOutput = "models"
    ) -> list[RRLumisectionRange] | list[Row]:
        rows: list[RRLumisectionRange] | list[Row] = await self._run(
            ops.lumisections("rr_lumisection_ranges", run_number, dataset_name, output=output)
        )
        return rows

    @overload
    async def get_lumisection_ranges_by_component(
        self, run_number: int, dataset_name: str = "online", *, output: Literal["models"] = "models"
    ) -> RangesByComponent: ...
    @overload
    async def get_lumisection_ranges_by_component(
        self, run_number: int, dataset_name: str = "online", *, output: Literal["dicts"]
    ) -> dict[str, list[Row]]: ...
    async def get_lumisection_ranges_by_component(
        self, run_number: int, dataset_name: str = "online", *, output: LumisectionOutput = "models"
    ) -> RangesByComponent | dict[str, list[Row]]:
        ranges: RangesByComponent | dict[str, list[Row]] = await self._run(
            ops.lumisections("rr_lumisection_ranges_by_component", run_number, dataset_name, output=output)
        )
        return ranges

    @overload
    async def get_oms_lumisection_ranges(
        self, run_number: int, *, output: Literal["models"] = "models"
    ) -> list[OmsLumisectionRange]: ...
    @overload
    async def get_oms_lumisection_ranges(self, run_number: int, *, output: Literal["dicts"]) -> list[Row]: ...
    async def get_oms_lumisection_ranges(
        self, run_number: int, *, output: LumisectionOutput = "models"
    ) -> list[OmsLumisectionRange] | list[Row]:
        rows: list[OmsLumisectionRange] | list[Row] = await self._run(
            ops.lumisections("oms_lumisection_ranges", run_number, "online", output=output)
        )
        return rows

    @overload
    async def get_joint_lumisection_ranges(
        self, run_number: int, dataset_name: str = "online", *, output: Literal["models"] = "models"
    ) -> list[JointLumisectionRange]: ...
    @overload
    async def get_joint_lumisection_ranges(
        self, run_number: int, dataset_name: str = "online", *, output: Literal["dicts"]
    ) -> list[Row]: ...
    async def get_joint_lumisection_ranges(
        self, run_number: int, dataset_name: str = "online", *, output: LumisectionOutput = "models"
    ) -> list[JointLumisectionRange] | list[Row]:
        rows: list[JointLumisectionRange] | list[Row] = await self._run(
            ops.lumisections("joint_lumisection_ranges", run_number, dataset_name, output=output)
        )
        return rows

    async def get_lumisection_json(self, route: LumisectionRoute, run_number: int, dataset_name: str = "online") -> Any:
        answer: Any = await self._run(ops.lumisection_json(route, run_number, dataset_name))
        return answer

    # -- lumisection tables --------------------------------------------------------------------------------
    async def lumisection_table(
        self,
        filter: object = None,
        dataset: str = "online",
        columns: list[str] | None = None,
        *,
        progress: ProgressOption = False,
    ) -> pd.DataFrame:
        """See :meth:`RunRegistry.lumisection_table`."""
        frames: list[pd.DataFrame] = []
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
        engine: Engine = "server",
        *,
        timeout: float = 3600.0,
        poll_interval: float = 5.0,
        on_progress: JobProgress | None = None,
        progress: ProgressOption = False,
        **engine_options: Unpack[LocalEngineOptions],
    ) -> GoldenJson:
        """See :meth:`RunRegistry.create_json`; cancel by cancelling the task."""
        if engine == "local":
            with reporting(progress, "lumisection requests") as report:
                return await self._run(self._local_json_job(json_logic, dataset_name_filter, report, engine_options))
        if engine_options:
            raise ArgumentTypeError(f"unexpected options for engine='server': {sorted(engine_options)}")
        with job_reporting(progress, "json_portal job", also=on_progress) as show:
            job = self._json_job(
                json_logic, dataset_name_filter, engine, timeout=timeout, poll_interval=poll_interval, on_progress=show
            )
            return await self._run(job)

    # -- writes --------------------------------------------------------------------------------------------
    async def _write(self, plan: WritePlan, how: WriteOptions) -> WriteReport:
        with reporting(how.progress, plan.action) as progress:
            operation = apply_writes(plan, dry_run=how.dry_run, stop_on_error=how.stop_on_error, progress=progress)
            report = await self._run(operation)
        return self._checked(report, how.raise_on_error)
