"""A hostile-input corpus for the ``runql`` CLI: every input ends with one line on stderr, a non-zero exit and
no traceback — in-process through ``client.cli.main``, and as real processes for pipes and signals."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from testkit.profiles import scaled

from backend.server import EmbeddedServer
from client.cli import main
from schemas.golden import LumiMask

DEEP = 5000
Writer = Callable[[Path], None]


def _nested(depth: int, opener: str = "[", closer: str = "]", core: str = "1") -> str:
    return opener * depth + core + closer * depth


def _not_chain(depth: int) -> dict[str, object]:
    node: dict[str, object] = {"class": "Cosmics18"}
    for _ in range(depth):
        node = {"not": node}
    return node


def _bang_chain(depth: int) -> dict[str, object]:
    node: dict[str, object] = {"var": "lumisection.rr.dt-dt"}
    for _ in range(depth):
        node = {"!": node}
    return node


#: (name, file contents written to tmp_path/"in.json" or None, argv with {file}, expected exit, expected fragment)
CORPUS: list[tuple[str, bytes | None, list[str], int, str]] = [
    ("explain-deep-file", _nested(DEEP).encode(), ["explain", "@{file}"], 2, "nested"),
    ("explain-deep-not", json.dumps(_not_chain(500)).encode(), ["explain", "@{file}"], 2, "nested"),
    ("explain-deep-object", _nested(DEEP, '{"a":', "}").encode(), ["explain", "@{file}"], 2, "nested"),
    ("explain-invalid-utf8", b'{"class": "\xff\xfe"}', ["explain", "@{file}"], 2, "not UTF-8 text"),
    ("explain-surrogate", b'{"class": "\\ud800"}', ["explain", "@{file}"], 2, "lone surrogate"),
    ("explain-duplicate-key", b'{"class": "a", "class": "b"}', ["explain", "@{file}"], 2, "more than once"),
    ("explain-huge-int", b'{"run_number": ' + b"9" * 5000 + b"}", ["explain", "@{file}"], 2, "not usable JSON"),
    ("explain-empty-file", b"", ["explain", "@{file}"], 2, "not valid JSON"),
    ("explain-missing-file", None, ["explain", "@{file}"], 2, "cannot read"),
    ("explain-directory", None, ["explain", "@."], 2, "cannot read ."),
    ("explain-not-a-filter", b"[1, 2]", ["explain", "@{file}"], 1, "error"),
    ("explain-bad-value", b'{"run_number": {">": "x"}}', ["explain", "@{file}"], 1, "run_number"),
    ("runs-deep-filter", _nested(DEEP).encode(), ["runs", "--filter", "@{file}", "--target", "local"], 2, "nested"),
    ("runs-bad-utf8", b"\xc3\x28", ["datasets", "--filter", "@{file}", "--target", "local"], 2, "not UTF-8"),
    ("lumimask-deep", _nested(DEEP).encode(), ["lumimask", "union", "{file}", "{file}"], 2, "nested too deeply"),
    (
        "lumimask-duplicate-run",
        b'{"315000": [[1, 2]], "315000": [[5, 6]]}',
        ["lumimask", "union", "{file}", "{file}"],
        2,
        "appears more than once",
    ),
    ("lumimask-invalid-utf8", b'{"31\xff": [[1, 2]]}', ["lumimask", "union", "{file}", "{file}"], 2, "not UTF-8"),
    ("lumimask-huge-number", b'{"1": [[1, 1e999]]}', ["lumimask", "union", "{file}", "{file}"], 2, "integer"),
    ("lumimask-not-a-mask", b'"text"', ["lumimask", "compare", "{file}", "{file}"], 2, "expected a mapping"),
    ("lumimask-run-too-big", b'{"99999999999": [[1, 2]]}', ["lumimask", "union", "{file}", "{file}"], 2, "<="),
    ("lumimask-superscript-run", '{"²": [[1, 2]]}'.encode(), ["lumimask", "union", "{file}", "{file}"], 2, "integer"),
    (
        "lumimask-unwritable-output",
        b'{"1": [[1, 2]]}',
        ["lumimask", "compare", "{file}", "{file}", "-o", "/no/such/dir/out.json"],
        2,
        "cannot write /no/such/dir/out.json: No such file or directory",
    ),
    ("golden-list-rule", b"[1, 2]", ["golden", "--rule", "{file}", "--dataset", "%"], 2, "not a list"),
    ("golden-scalar-rule", b"true", ["golden", "--rule", "{file}", "--dataset", "%"], 2, "not a bool"),
    (
        "golden-deep-rule",
        json.dumps(_bang_chain(400)).encode(),
        ["golden", "--rule", "{file}", "--dataset", "%"],
        2,
        "nested too deeply",
    ),
    ("golden-bad-utf8", b'{"!": "\xff"}', ["golden", "--rule", "{file}", "--dataset", "%"], 2, "not UTF-8"),
    ("golden-missing-rule", None, ["golden", "--rule", "{file}", "--dataset", "%"], 2, "cannot read"),
    ("usage-bad-int", None, ["runs", "--limit", "x"], 2, "see runql runs --help"),
    ("usage-unknown-command", None, ["bogus"], 2, "see runql --help"),
    ("usage-no-command", None, [], 2, "a command is required (see runql --help)"),
    ("usage-unknown-option", None, ["explain", "{}", "--wat"], 2, "unrecognized arguments: --wat"),
    ("usage-bad-choice", None, ["runs", "--format", "xml"], 2, "invalid choice"),
    ("negative-run-number", None, ["run", "-5", "--target", "local"], 1, "must be positive"),
    ("usage-run-number", None, ["run", "x"], 2, "see runql run --help"),
    ("serve-bad-port", None, ["serve", "--port", "70000"], 2, "see runql serve --help"),
    ("serve-missing-dir", None, ["serve", "--port", "0", "--db", "/no/such/dir/rr.db"], 1, "does not exist"),
    ("serve-not-sqlite", b"this is not a database" * 100, ["serve", "--port", "0", "--db", "{file}"], 1, "SQLite"),
    ("run-unreachable", None, ["run", "1", "--target", "http://127.0.0.1:9"], 1, "ConnectError"),
    ("target-bad", None, ["runs", "--target", "ftp://x"], 1, "Invalid setup target"),
]


@pytest.mark.parametrize(
    ("contents", "argv", "code", "fragment"),
    [pytest.param(c, a, code, f, id=name) for name, c, a, code, f in CORPUS],
)
def test_hostile_input_is_one_line_and_a_non_zero_exit(
    contents: bytes | None,
    argv: list[str],
    code: int,
    fragment: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RUNQL_RETRIES", "0")
    monkeypatch.chdir(tmp_path)
    file = tmp_path / "in.json"
    if contents is not None:
        file.write_bytes(contents)
    started = time.monotonic()
    exit_code = main([arg.replace("{file}", str(file)) for arg in argv])
    elapsed = time.monotonic() - started
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert exit_code == code, captured.err
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("runql")
    assert fragment in lines[0]
    assert "Traceback" not in captured.err
    assert elapsed < 10  # bounded: nothing is retried or backtracked


def test_hostile_files_are_named_in_the_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "weird name.json"
    bad.write_bytes(b'{"1": [[1, 2]]}\xff')
    assert main(["lumimask", "intersect", str(bad), str(bad)]) == 2
    assert str(bad) in capsys.readouterr().err
    assert main(["explain", f"@{bad}"]) == 2
    assert str(bad) in capsys.readouterr().err


def test_an_oversized_input_is_refused_before_parsing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("client.jsoninput.MAX_INPUT_BYTES", 1000)
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"run_number": list(range(1000))}))
    assert main(["explain", f"@{big}"]) == 2
    assert "larger than 1000 bytes" in capsys.readouterr().err


def test_a_list_rule_is_refused_by_the_local_engine_too() -> None:
    from querylang import RuleError
    from querylang.rules import plan_rule

    with pytest.raises(RuleError, match="not a list"):
        plan_rule([{"==": [1, 1]}])


# -- real processes: pipes and signals ---------------------------------------------------------------------------
def _runql(*args: str, **options: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "runql", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "RUNQL_RETRIES": "0"},
        **options,  # type: ignore[call-overload]
    )


def test_a_closed_pipe_ends_quietly(server: EmbeddedServer) -> None:
    process = _runql("runs", "--target", server.url, "--format", "csv", "--columns", "all")
    assert process.stdout is not None
    process.stdout.readline()  # like `| head -1`
    process.stdout.close()
    _, err = process.communicate(timeout=120)
    assert process.returncode == 141
    assert err == b""


def test_usage_errors_are_one_line_in_a_real_process() -> None:
    process = _runql("runs", "--limit", "many")
    out, err = process.communicate(timeout=120)
    assert process.returncode == 2
    assert out == b""
    assert err.decode().splitlines() == [
        "runql runs: error: argument --limit: invalid int value: 'many' (see runql runs --help)"
    ]


#: Runs the launcher like the console script and says "ready" when it starts importing the client, inside its
#: Ctrl-C guard (a signal sent before that would interrupt this script, not runql). With ``BUILDING``, it also says
#: "building" once the registry's first run is being built: the test waits for these events, not for a guess.
#: Ctrl-C is handled as Python does when started from a terminal, even when the tests run as a background job
#: (which inherits SIGINT ignored).
_LAUNCH = """
import signal, sys, runql

signal.signal(signal.SIGINT, signal.default_int_handler)  # as from a terminal (a background job ignores Ctrl-C)

class Announce:
    def find_spec(self, name, path=None, target=None):
        if name == "client":
            sys.meta_path.remove(self)
            print("ready", flush=True)

sys.meta_path.insert(0, Announce())
if "BUILDING" in sys.argv:
    sys.argv.remove("BUILDING")
    import backend.server as server

    def announced(slots, seed, build=server.build_runs):
        print("building", flush=True)
        yield from build(slots, seed)

    server.build_runs = announced
sys.exit(runql.main(sys.argv[1:]))
"""


def _masks(pid: int | str = "self") -> list[str]:
    """The process's signal masks (pending, blocked, ignored, caught), from ``/proc``."""
    return [line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line[:3] == "Sig"]


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
@pytest.mark.parametrize("building", [False, True], ids=["while-importing", "while-building"])
def test_interrupting_serve_during_start_up_is_quiet(sent: signal.Signals, building: bool) -> None:
    process = subprocess.Popen(
        # 4,999 runs: built for seconds, in this process (below backend.server.PARALLEL_MIN_RUNS)
        [sys.executable, "-c", _LAUNCH, *(["BUILDING"] if building else []), "serve", "--port", "0", "--runs", "4999"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "RUNQL_CACHE_DIR": ""},  # no cached registry: really building when signalled
    )
    assert process.stdout is not None
    assert process.stdout.readline() == b"ready\n"
    if building:
        assert process.stdout.readline() == b"building\n"
    process.send_signal(sent)
    try:
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        masks = _masks(process.pid)
        process.kill()
        process.communicate()
        pytest.fail(f"{sent.name} was not acted upon; this process: {_masks()}, the child: {masks}")
    assert b"Traceback" not in err, err.decode()
    assert b"serving" not in out
    assert process.returncode in (130, -sent), err.decode()  # -SIGTERM: before runql serve takes it over
    assert len(err.decode().strip().splitlines()) <= 1


def test_a_rule_on_stdin_is_checked_like_a_file(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO('{"!": ' * 100 + "true" + "}" * 100))
    assert main(["golden", "--rule", "-", "--dataset", "%"]) == 2
    expected = (
        "runql golden: error: the rule on stdin: JSON: nested too deeply (more than 64 levels); "
        "allowed: at most 64 nested objects and lists"
    )
    assert capsys.readouterr().err.strip() == expected
    monkeypatch.setattr("sys.stdin", io.StringIO("[]"))
    assert main(["golden", "--rule", "-", "--dataset", "%"]) == 2
    assert "not a list" in capsys.readouterr().err


@scaled(0.6, suppress=[HealthCheck.function_scoped_fixture])  # each example runs the CLI
@given(
    content=st.one_of(
        st.binary(max_size=120),
        st.recursive(
            st.one_of(st.integers(-2, 2**40), st.text(max_size=3), st.none()),
            lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner)),
            max_leaves=10,
        ).map(lambda value: json.dumps(value).encode()),
    )
)
def test_fuzzed_lumimask_files_give_a_mask_or_one_line(content: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "mask.json"
        path.write_bytes(content)
        code = main(["lumimask", "union", str(path), str(path)])
    captured = capsys.readouterr()
    if code == 0:
        assert json.loads(captured.out) == LumiMask.from_json(content).to_dict()
    else:
        assert code == 2
        assert captured.err.startswith(f"runql lumimask: error: {path}")
        assert len(captured.err.strip().splitlines()) == 1
