"""``kill -TERM`` (and Ctrl-C) stop ``python -m backend`` within 2 s whatever it is doing: idle, starting up,
answering a slow request, or running a json_portal job; no traceback is printed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hostile_corpus import SLOW_RULE, listing

from backend.store import Store

ROOT = Path(__file__).parents[2]
#: The acceptance bound (measured from the signal to the process's exit).
STOP_BOUND = 2.0
#: A legitimate but slow listing: hundreds of LIKE terms evaluated on every dataset (many seconds).
SLOW_FILTER = {"or": [{"oms_attributes.hlt_key": {"like": f"%{i}%x%"}} for i in range(900)]}

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


#: ``python -m backend``, saying "building" once the registry is being built (in this process or in workers) and
#: "working" each time a listing starts on the store.
_ANNOUNCING = """
import runpy
from backend import parallel_build, server

def announcing(build):
    def announced(*args, **kwargs):
        print("building", flush=True)
        yield from build(*args, **kwargs)
    return announced

server.build_runs = announcing(server.build_runs)
parallel_build.build_rows = announcing(parallel_build.build_rows)

from backend.store import Store

def working(page):
    def announced(*args, **kwargs):
        print("working", flush=True)
        return page(*args, **kwargs)
    return announced

Store.page = working(Store.page)
runpy.run_module("backend", run_name="__main__", alter_sys=True)
"""


class Served:
    """A ``python -m backend`` subprocess on an ephemeral loopback port; ``announcing``: it says what it does."""

    def __init__(self, *args: str, announcing: bool = False) -> None:
        launcher = ["-c", _ANNOUNCING] if announcing else ["-m", "backend"]
        self.process = subprocess.Popen(
            [sys.executable, *launcher, "--port", "0", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.url = ""

    def wait_for(self, event: str) -> None:
        """Wait for an event, not for time: an ``announcing`` server's next line saying ``event``."""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line == event + "\n":
                return
        raise AssertionError(f"the server ended without saying {event!r}")

    def wait_serving(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        while line == "building\n":  # an announcing server's build (none when the registry comes from a cache)
            line = self.process.stdout.readline()
        assert " at http://127.0.0.1:" in line, line
        self.url = line.rsplit(" at ", 1)[1].strip()
        return self.url

    def stop_time(self, signum: int = signal.SIGTERM) -> float:
        """Send ``signum``; the seconds until the process exited (it is killed, and the test fails, after 10 s)."""
        started = time.monotonic()
        self.process.send_signal(signum)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail("the server ignored the signal")
        return time.monotonic() - started

    def stderr(self) -> str:
        assert self.process.stderr is not None
        return self.process.stderr.read()


@pytest.fixture
def served() -> Iterator[list[Served]]:
    started: list[Served] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
        server.process.wait()
        for stream in (server.process.stdout, server.process.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_idle(served: list[Served], signum: int) -> None:
    server = Served("--runs", "20")
    served.append(server)
    server.wait_serving()
    assert httpx.get(f"{server.url}/runs/1").status_code == 200
    assert server.stop_time(signum) < STOP_BOUND
    assert "Traceback" not in server.stderr()


def test_during_start_up(served: list[Served]) -> None:
    server = Served("--runs", "6000", announcing=True)  # building the registry takes seconds
    served.append(server)
    server.wait_for("building")
    assert server.process.poll() is None
    assert server.stop_time() < STOP_BOUND
    assert server.process.stdout is not None
    assert "serving" not in server.process.stdout.read()  # it was still starting up
    assert "Traceback" not in server.stderr()


def test_mid_request(served: list[Served]) -> None:
    server = Served("--runs", "300", announcing=True)
    served.append(server)
    url = server.wait_serving()
    replies: list[object] = []

    def slow() -> None:
        body = listing(SLOW_FILTER)
        try:
            replies.append(httpx.post(f"{url}/datasets_filtered_ordered", json=body, timeout=60).json())
        except httpx.HTTPError as exc:  # the server may close the connection as it exits
            replies.append(exc)

    worker = threading.Thread(target=slow)
    worker.start()
    server.wait_for("working")  # the service is answering it: stopped now, the store closes under the request
    assert worker.is_alive()  # the request is being answered
    assert server.stop_time() < STOP_BOUND
    worker.join()
    assert replies
    assert not isinstance(replies[0], dict) or set(replies[0]) == {"err"}
    assert "Traceback" not in server.stderr()


def test_mid_json_portal_job(served: list[Served]) -> None:
    server = Served("--runs", "50")
    served.append(server)
    url = server.wait_serving()
    body = {"json_logic": json.dumps(SLOW_RULE), "dataset_name_filter": "%"}
    job = httpx.post(f"{url}/json_portal/generate", json=body).json()["id"]
    deadline = time.monotonic() + 30
    while httpx.post(f"{url}/json_portal/json", json={"id_json": job}).status_code != 202:
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.01)
    assert server.stop_time() < STOP_BOUND
    assert "Traceback" not in server.stderr()


def test_during_start_up_a_registry_file_is_left_empty_not_half_written(served: list[Served], tmp_path: Path) -> None:
    db = tmp_path / "registry.db"
    server = Served("--runs", "6000", "--db", str(db), announcing=True)
    served.append(server)
    server.wait_for("building")
    assert server.stop_time() < STOP_BOUND
    if db.exists():  # the load is one transaction: interrupted, nothing of it remains
        with Store.open(str(db)) as store:
            assert store.is_empty()


def _children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task")
    found: list[int] = []
    for task in tasks.glob("*"):
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc to find the build workers")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_to_the_whole_group_during_a_parallel_build_is_a_quiet_stop(signum: int) -> None:
    """Ctrl-C at a terminal signals the whole process group while ``runql serve`` builds a large registry in
    worker processes: exit 130 with one line, no worker's traceback, no worker left behind."""
    import os

    process = subprocess.Popen(
        [sys.executable, "-c", "import sys, runql; sys.exit(runql.main())", "serve", "--port", "0", "--runs", "6000"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "RUNQL_CACHE_DIR": ""},  # build, don't load a cached registry
    )
    try:
        deadline = time.monotonic() + 60
        while not (workers := _children(process.pid)) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)  # polling for the workers to exist, not waiting for time to pass
        assert workers, "the build never started its workers"
        os.killpg(process.pid, signum)
        _, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130
    assert err.strip() == "runql serve: interrupted"
    # The parent kills every worker it knows of; one whose start the signal interrupted is not known to it, but its
    # stdin is closed, so it exits on its own as soon as it reads (bounded, not a wait for time to pass).
    deadline = time.monotonic() + 15
    while (left := [pid for pid in workers if _running(pid)]) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not left


def _running(pid: int) -> bool:
    """Alive and not a zombie (an exited child waiting to be reaped by init does no work)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"
