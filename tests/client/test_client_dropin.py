"""Drop-in: typical public-client script snippets, unchanged, give value-equal results with ``import client``.

Each snippet runs twice against the same embedded registry (ephemeral loopback port): once with the public
``runregistry`` 3.1.2 client (``setup("local")``, its module-level ``api_url`` pointed at the server) and once
with ``import client as runregistry`` (``setup(<the server's URL>)``). The one known difference is checked
explicitly: runql's compressed datasets keep the run's ``oms_attributes``, which the public client drops.
"""

from __future__ import annotations

import contextlib
import http.server
import importlib
import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from testkit.servers import ServerPool

import client
from backend.server import EmbeddedServer
from client.compat import IgnoredArgumentWarning, LimitWarning
from client.errors import FilterRequiredError

ROOT = Path(__file__).resolve().parents[2]
RULE = {"and": [{"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]}, {">=": [{"var": "run.oms.b_field"}, 3.7]}]}

READS: dict[str, str] = {
    "run range": 'result = runregistry.get_runs(filter={"run_number": {"and": [{">": LO}, {"<": HI}]}})',
    "several criteria": """
runs = runregistry.get_runs(
    filter={
        "run_number": {"and": [{">=": LO}, {"<=": HI}]},
        "class": CLASS,
        "dt-dt": "GOOD",
        "hlt_key": {"like": HLT_LIKE},
        "significant": {"=": True},
    }
)
result = [(run["run_number"], run["class"], run["lumisections"]["dt-dt"]["GOOD"]) for run in runs]
""",
    "run list": 'result = runregistry.get_runs(filter={"run_number": {"or": [RUN, OTHER, 1]}})',
    "uncompressed": 'result = runregistry.get_runs(filter={"run_number": RUN}, compress_attributes=False)',
    "json.dumps": """
runs = runregistry.get_runs(filter={"run_number": {"and": [{">": LO}, {"<": HI}]}, "energy": {">=": ENERGY}})
result = json.dumps(runs, sort_keys=True)
""",
    "sorted, limited": """
result = runregistry.get_runs(
    limit=7, filter={"run_number": {">=": LO}}, sortings=[["run_number", "ASC"]], page_size=3
)
""",
    "no filter": "result = [run['run_number'] for run in runregistry.get_runs()]",
    "raw backend filter": """
result = runregistry.get_runs(
    filter={"oms_attributes.energy": {"=": ENERGY}, "run_number": {">=": LO}}, ignore_filter_transformation=True
)
""",
    "one run": """
run = runregistry.get_run(run_number=RUN)
result = (run["run_number"], run["class"], run.get("state"), run["oms_attributes"]["fill_number"], run)
""",
    "one run, uncompressed": "result = runregistry.get_run(RUN, compress_attributes=False)",
    "missing run": "result = (runregistry.get_run(1), runregistry.get_dataset(1))",
    "uncompressed datasets": """
result = runregistry.get_datasets(
    filter={"run_number": {"and": [{">": LO}, {"<": HI}]}}, compress_attributes=False
)
""",
    "dataset names": "result = runregistry.get_dataset_names_of_run(RUN)",
    "cycles and accepted datasets": "result = (runregistry.get_cycles(), runregistry.get_datasets_accepted())",
    "lumisections": """
result = {
    "rr": runregistry.get_lumisections(RUN),
    "oms": runregistry.get_oms_lumisections(RUN),
    "ranges": runregistry.get_lumisection_ranges(RUN, "online"),
    "by_component": runregistry.get_lumisection_ranges_by_component(RUN),
    "oms_ranges": runregistry.get_oms_lumisection_ranges(RUN),
    "joint": runregistry.get_joint_lumisection_ranges(RUN, DATASET),
    "offline": runregistry.get_lumisection_ranges(RUN, DATASET),
}
""",
    "lumisections of an unknown run": """
result = [
    runregistry.get_lumisections(1),
    runregistry.get_oms_lumisections(1),
    runregistry.get_lumisection_ranges(1),
    runregistry.get_lumisection_ranges_by_component(1),
    runregistry.get_oms_lumisection_ranges(1),
    runregistry.get_joint_lumisection_ranges(1),
]
""",
    "constants": """
result = (
    runregistry.LUMISECTION_STATES,
    runregistry.ONLINE_RUN_STATES,
    runregistry.OFFLINE_DATASET_STATES,
    runregistry.WAITING_DQM_GUI_CONSTANT,
    runregistry.PAGE_SIZE,
    runregistry.JSON_CREATION_SLEEP_TIME,
    runregistry.REQUESTS_TIMEOUT,
)
""",
    "invalid setup target": """
try:
    runregistry.setup("staging")
except Exception as error:
    result = (str(error).startswith('Invalid setup target "staging"'), "local" in str(error))
""",
    "golden json": """
row = runregistry.create_json(json_logic=RULE, dataset_name_filter="/PromptReco/Collisions2018_/DQM")
result = {key: value for key, value in row.items() if key not in ("id", "createdAt", "updatedAt")}
""",
}

COMPRESSED_DATASETS: dict[str, str] = {
    "compressed datasets": """
result = runregistry.get_datasets(
    filter={"dataset_name": {"like": "%/PromptReco/%"}, "run_number": {"and": [{">=": LO}, {"<=": HI}]}}
)
""",
    "one dataset": "result = [runregistry.get_dataset(run_number=RUN, dataset_name=DATASET)]",
}

WRITES: dict[str, str] = {
    "change class": """
result = (runregistry.change_run_class([OPEN_RUN, OPEN_RUN_2], "Cosmics18"), runregistry.get_run(OPEN_RUN))
""",
    "make significant": """
result = (runregistry.make_significant_runs(runs=[INSIGNIFICANT]), runregistry.get_run(INSIGNIFICANT))
""",
    "edit lumisections": """
answer = runregistry.edit_rr_lumisections(OPEN_RUN, 2, 4, "dt-dt", "BAD", comment="noisy chamber")
result = (answer, runregistry.get_lumisection_ranges_by_component(OPEN_RUN)["dt-dt"])
""",
    "refresh": """
result = (
    runregistry.manually_refresh_components_statuses_for_runs(runs=[OPEN_RUN]),
    runregistry.reset_RR_attributes_and_refresh_runs(runs=OPEN_RUN_2),
)
""",
    "failed write stops the loop": """
try:
    runregistry.edit_rr_lumisections(OPEN_RUN, 2, 4, "dt-dt", "BAD", comment="")  # BAD needs a comment
    result = "no error"
except Exception:
    result = ("raised", runregistry.get_lumisection_ranges_by_component(OPEN_RUN)["dt-dt"])
""",
}


@pytest.fixture(scope="module")
def public() -> ModuleType:
    """The public client's module (it reads ``.env`` and calls ``setup`` at import: no network)."""
    return importlib.import_module("runregistry.runregistry")


@pytest.fixture(scope="module")
def reads_server(server_pool: ServerPool) -> EmbeddedServer:
    return server_pool.shared(runs=120, seed=5)


@pytest.fixture(scope="module")
def names(reads_server: EmbeddedServer) -> dict[str, Any]:
    return _names(reads_server)


def _names(server: EmbeddedServer) -> dict[str, Any]:
    """Run numbers, a dataset and attribute values of the served registry, found through the typed API, so that
    every snippet has something to find whatever the demo data."""
    with client.RunRegistry(server.url, env_file=False) as rr:
        numbers = sorted(r.run_number for r in rr.get_runs(filter={}))
        lo, hi = numbers[len(numbers) // 3], numbers[2 * len(numbers) // 3]
        window = {"run_number": {"and": [{">=": lo}, {"<=": hi}]}}
        anchor = rr.get_runs(filter={**window, "significant": True, "dt-dt": "GOOD", "energy": {">": 0}})[0]
        dataset = rr.get_datasets(filter={**window, "dataset_name": {"like": "/PromptReco/%"}})[0]
        opened = rr.get_runs(filter={"state": "OPEN", "significant": True}, sortings=[["run_number", "ASC"]])
        insignificant = rr.get_runs(filter={"state": "OPEN", "significant": False})
    hlt_key = anchor.oms_attributes.hlt_key or ""
    return {
        "RUN": dataset.run_number,
        "DATASET": dataset.name,
        "OTHER": numbers[0],
        "LO": lo,
        "HI": hi,
        "CLASS": anchor.rr_attributes.class_,
        "HLT_LIKE": f"%{hlt_key[len(hlt_key) // 3 : 2 * len(hlt_key) // 3]}%",
        "ENERGY": anchor.oms_attributes.energy,
        "OPEN_RUN": opened[0].run_number if opened else None,
        "OPEN_RUN_2": opened[1].run_number if len(opened) > 1 else None,
        "INSIGNIFICANT": insignificant[0].run_number if insignificant else None,
        "RULE": RULE,
        "json": json,
    }


@contextlib.contextmanager
def _public_at(module: ModuleType, url: str, snippet: str) -> Iterator[ModuleType]:
    module.setup("local")
    module.api_url = url  # type: ignore[attr-defined]
    sleep = module.JSON_CREATION_SLEEP_TIME  # type: ignore[attr-defined]
    try:
        if "create_json" in snippet:
            module.JSON_CREATION_SLEEP_TIME = 0.05  # type: ignore[attr-defined]  # it polls every 15 s
        with contextlib.redirect_stdout(io.StringIO()):  # it prints every URL and filter on the local target
            yield module
    finally:
        module.setup("local")
        module.JSON_CREATION_SLEEP_TIME = sleep  # type: ignore[attr-defined]


@contextlib.contextmanager
def _runql_at(url: str) -> Iterator[ModuleType]:
    client.setup(url, env_file=False)
    try:
        yield client
    finally:
        client.setup("local")  # lazy: closes the client, contacts nothing


def _run(snippet: str, runregistry: ModuleType, names: dict[str, Any]) -> Any:
    namespace = {**names, "runregistry": runregistry}
    limited = "limit=" in snippet and runregistry is client  # the public client prints an ALERT instead
    with pytest.warns(LimitWarning, match="ALERT") if limited else contextlib.nullcontext():
        exec(snippet, namespace)
    return namespace["result"]


def _both(snippet: str, public: ModuleType, servers: tuple[str, str], names: dict[str, Any]) -> tuple[Any, Any]:
    with _public_at(public, servers[0], snippet) as module:
        theirs = _run(snippet, module, names)
    with _runql_at(servers[1]) as module:
        ours = _run(snippet, module, names)
    return theirs, ours


@pytest.mark.parametrize("name", sorted(READS))
def test_read_snippets_give_equal_values(
    name: str, public: ModuleType, reads_server: EmbeddedServer, names: dict[str, Any]
) -> None:
    theirs, ours = _both(READS[name], public, (reads_server.url, reads_server.url), names)
    assert ours == theirs
    assert type(ours) is type(theirs)
    assert theirs not in (None, [], {}, ()) or name == "missing run"


def _strip_run_oms(rows: list[dict[str, Any]], server: EmbeddedServer) -> list[dict[str, Any]]:
    """runql's compressed datasets minus ``oms_attributes``, after checking it is the run's OMS attributes."""
    stripped = []
    with client.RunRegistry(server.url, env_file=False) as rr:
        for row in rows:
            run = rr.get_run(row["run_number"], compress_attributes=False)
            assert row["oms_attributes"] == run["oms_attributes"]
            stripped.append({k: v for k, v in row.items() if k != "oms_attributes"})
    return stripped


@pytest.mark.parametrize("name", sorted(COMPRESSED_DATASETS))
def test_compressed_datasets_equal_but_keep_the_run_oms_attributes(
    name: str, public: ModuleType, reads_server: EmbeddedServer, names: dict[str, Any]
) -> None:
    theirs, ours = _both(COMPRESSED_DATASETS[name], public, (reads_server.url, reads_server.url), names)
    assert theirs
    assert all("oms_attributes" not in row for row in theirs)
    assert _strip_run_oms(ours, reads_server) == theirs


@pytest.mark.parametrize("name", sorted(WRITES))
def test_write_snippets_give_equal_answers_and_states(name: str, public: ModuleType, server_pool: ServerPool) -> None:
    with server_pool.fresh(runs=40, seed=11) as a, server_pool.fresh(runs=40, seed=11) as b:
        names = _names(a)
        assert names == _names(b)
        assert None not in (names["OPEN_RUN"], names["OPEN_RUN_2"], names["INSIGNIFICANT"])
        theirs, ours = _both(WRITES[name], public, (a.url, b.url), names)
        assert ours == theirs
        assert theirs != "no error"
        assert _state(a) == _state(b)


def _state(server: EmbeddedServer) -> list[Any]:
    with client.RunRegistry(server.url, env_file=False) as rr:
        return list(rr.get_runs(compress_attributes=False))


# -- behaviour that needs no snippet corpus ----------------------------------------------------------------
def test_setup_never_fails_for_missing_credentials_the_first_request_does() -> None:
    client.setup("production")  # no SSO_* variables and no .env (the clean_environment fixture)
    try:
        with pytest.raises(client.ConfigError, match=r"SSO_CLIENT_ID.*target='embedded'"):
            client.get_runs(filter={"run_number": 319091})
    finally:
        client.setup("local")
    with pytest.raises(client.ConfigError, match=r'^Invalid setup target "staging"'):
        client.setup("staging")


class _CountOnlyService(http.server.BaseHTTPRequestHandler):
    """Answers every listing with 20,001 matches and one row: enough for the no-filter refusal."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        kind = "runs" if "runs" in self.path else "datasets"
        row = {"run_number": 1} if kind == "runs" else {"run_number": 1, "name": "online"}
        body = json.dumps({kind: [row], "pages": 20_001, "count": 20_001}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def count_only_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CountOnlyService)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("function", ["get_runs", "get_datasets"])
def test_no_filter_above_20000_rows_is_refused_with_the_public_message(
    function: str, public: ModuleType, count_only_url: str
) -> None:
    with (
        _public_at(public, count_only_url, "") as module,
        pytest.raises(Exception, match="must pass a filter") as theirs,
    ):
        getattr(module, function)()
    with _runql_at(count_only_url) as module, pytest.raises(FilterRequiredError) as ours:
        getattr(module, function)()
    assert str(ours.value) == str(theirs.value)
    assert "you must pass a filter" in str(ours.value)


def test_generate_json_is_deprecated_and_evaluates_over_every_dataset(reads_server: EmbeddedServer) -> None:
    rule = {"and": [{"==": [{"var": "dataset.name"}, "online"]}, *RULE["and"]]}
    with _runql_at(reads_server.url) as runregistry:
        with pytest.warns(PendingDeprecationWarning, match="Please use create_json instead"):
            generated = runregistry.generate_json(rule, poll_interval=0.05)  # runql's options pass through
        assert generated
        assert generated == runregistry.create_json(rule, "%", poll_interval=0.05)["generated_json"]
        assert generated == runregistry.create_json(RULE, "online", poll_interval=0.05)["generated_json"]


def test_ignored_keywords_warn_and_typed_clients_stay_typed(
    reads_server: EmbeddedServer, names: dict[str, Any]
) -> None:
    with _runql_at(reads_server.url) as runregistry:
        with pytest.warns(IgnoredArgumentWarning, match="get_lumisections.* ignores verbose") as caught:
            runregistry.get_lumisections(names["RUN"], verbose=True)
        assert caught[0].filename == __file__  # the warning points at the script's line
        with pytest.warns(IgnoredArgumentWarning, match=r"get_runs\(\) ignores output") as caught:
            runregistry.get_runs(filter={"run_number": names["RUN"]}, output="dataframe")
        assert caught[0].filename == __file__
        assert isinstance(runregistry.get_run(names["RUN"]), dict)
        typed = runregistry.default_client().get_run(names["RUN"])
        assert typed.run_number == names["RUN"]
        assert not isinstance(typed, dict)


def test_the_acceptance_one_liner_prints_runs(tmp_path: Path) -> None:
    """The issue's one-liner, on a small embedded registry and a run range holding all of it: plain dicts' JSON."""
    script = (
        "import client as runregistry; runregistry.setup('embedded', embedded_options={'runs': 40, 'seed': 3}); "
        "import json; print(json.dumps(runregistry.get_runs(filter={'run_number': {'and': [{'>': 300000}, "
        "{'<': 1000000}]}}))[:200])"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith('[{"oms_attributes": {"run_number": 3')
