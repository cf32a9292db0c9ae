"""The local engine: invalid input fails before any request, the loss report, the async driver, the CLI."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from bruteforce import requests_made
from test_engines_agree import PROMPT, REFERENCE

from backend.server import EmbeddedServer
from client.api import AsyncRunRegistry, RunRegistry
from client.cli_golden import add_golden_parser, run_golden
from client.config import resolve_settings
from client.engine import run_sync
from client.errors import ServiceError
from client.golden_local import golden_operation
from client.transport import Call, Reply, SyncTransport
from querylang.errors import FilterError, RuleError
from schemas.golden import GoldenJson, LumiMask


@pytest.mark.parametrize(
    ("rule", "path", "fragment"),
    [
        ({"==": [{"var": "run.oms.energie"}, 6500]}, ("==", 0, "var"), "did you mean 'run.oms.energy'"),
        ({"==": [{"var": "lumisection.rr.dt-dt"}, "GOD"]}, ("==", 1), "not a status"),
        ({"and": [True, {"==": [{"var": "lumisection.rr.dtdt"}, "GOOD"]}]}, ("and", 1, "==", 0, "var"), "unknown"),
        ({"==": [{"var": "lumisection.oms.bpix_ready"}, 1]}, ("==", 1), ""),
        ({">=": [{"var": "run.oms.energy"}, "high"]}, (">=", 1), ""),
        ({"between": [1, 2, 3]}, ("between",), "operator"),
        ({"method": [{"var": "dataset.name"}, "upper"]}, ("method",), "method"),
    ],
)
def test_invalid_rules_fail_before_any_request(
    server: EmbeddedServer, registry: RunRegistry, rule: Any, path: tuple[Any, ...], fragment: str
) -> None:
    before = requests_made(server)
    with pytest.raises(RuleError) as info:
        registry.create_json(rule, PROMPT, engine="local")
    assert info.value.path[: len(path)] == path
    assert fragment in str(info.value)
    assert requests_made(server) == before


def test_invalid_pattern_fails_before_any_request(server: EmbeddedServer, registry: RunRegistry) -> None:
    before = requests_made(server)
    with pytest.raises(FilterError):
        registry.create_json(REFERENCE, "/PromptReco/(A|B/DQM", engine="local")
    assert requests_made(server) == before


def test_report_implies_luminosity_and_evaluates_every_matching_dataset(registry: RunRegistry) -> None:
    golden = registry.create_json(REFERENCE, PROMPT, engine="local", report=True)
    assert golden.luminosity_in is not None
    assert golden.accounting is not None
    assert golden.accounting.luminosity_in == golden.luminosity_in
    assert golden.losses is not None
    assert golden.losses.kept_lumisections == golden.lumisection_count
    assert golden.losses.removed_lumisections == golden.anti_mask.lumisection_count > 0
    pruned = registry.create_json(REFERENCE, PROMPT, engine="local")  # default pushdown: fewer datasets evaluated
    assert pruned.accounting is None
    assert pruned.mask == golden.mask
    assert pruned.anti_mask <= golden.anti_mask
    assert pruned.anti_mask != golden.anti_mask


def test_progress_reports_every_request(registry: RunRegistry) -> None:
    seen: list[tuple[int, int]] = []
    registry.create_json(REFERENCE, PROMPT, engine="local", progress=lambda done, total: seen.append((done, total)))
    total = seen[0][1]
    assert seen[0] == (0, total)
    assert seen[-1] == (total, total)
    assert [done for done, _ in seen] == list(range(total + 1))


@pytest.mark.parametrize("with_luminosity", [False, True])
def test_async_engine_gives_the_same_result(
    server: EmbeddedServer, registry: RunRegistry, with_luminosity: bool
) -> None:
    async def main() -> GoldenJson:
        async with AsyncRunRegistry(target=server.url) as client:
            return await client.create_json(REFERENCE, PROMPT, engine="local", with_luminosity=with_luminosity)

    by_async = anyio.run(main)
    by_sync = registry.create_json(REFERENCE, PROMPT, engine="local", with_luminosity=with_luminosity)
    assert by_async.mask == by_sync.mask
    assert by_async.anti_mask == by_sync.anti_mask
    assert (by_async.luminosity_in, by_async.luminosity_out) == (by_sync.luminosity_in, by_sync.luminosity_out)
    assert (by_async.luminosity_in is not None) is with_luminosity


def test_create_json_runs_the_local_operation(server: EmbeddedServer, registry: RunRegistry) -> None:
    via_client = registry.create_json(REFERENCE, PROMPT, engine="local", report=True)
    transport = SyncTransport(resolve_settings(server.url, environ={}, env_file=False))
    try:
        direct = run_sync(golden_operation(REFERENCE, PROMPT, report=True), transport, pool=None)
    finally:
        transport.close()
    assert via_client.engine == direct.engine == "local"
    assert (via_client.mask, via_client.anti_mask, via_client.requests) == (
        direct.mask,
        direct.anti_mask,
        direct.requests,
    )


# ---- runql golden --------------------------------------------------------------------------------------------
def golden_cli(argv: list[str], registry: RunRegistry) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="runql")
    add_golden_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["golden", *argv])
    out, err = io.StringIO(), io.StringIO()
    code = run_golden(args, registry=registry, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def rule_file(tmp_path: Path) -> Path:
    path = tmp_path / "rule.json"
    path.write_text(json.dumps(REFERENCE))
    return path


def test_cli_golden_writes_the_json_and_the_report(registry: RunRegistry, rule_file: Path, tmp_path: Path) -> None:
    target = tmp_path / "golden.json"
    code, out, err = golden_cli(
        ["--rule", str(rule_file), "--dataset", PROMPT, "-o", str(target), "--report"], registry
    )
    assert (code, err) == (0, "")
    expected = registry.create_json(REFERENCE, PROMPT, engine="local")
    assert LumiMask.from_file(target) == expected.mask
    assert f"golden JSON: {expected.run_count} runs, {expected.lumisection_count} lumisections" in out
    assert "(several clauses false)" in out
    assert '{"==":[{"var":"lumisection.rr.dt-dt"},"GOOD"]}' in out
    assert "luminosity in the JSON: recorded" in out
    assert "removed (anti-JSON): " in out


def test_cli_golden_server_engine_and_stdout(registry: RunRegistry, rule_file: Path) -> None:
    code, out, err = golden_cli(["--rule", str(rule_file), "--dataset", PROMPT, "--engine", "server"], registry)
    assert code == 0
    assert LumiMask.from_json(out) == registry.create_json(REFERENCE, PROMPT, engine="local").mask
    assert "(server engine)" in err


def test_cli_golden_server_engine_waits_and_reports_the_services_losses(
    quirky_registry: RunRegistry, rule_file: Path
) -> None:
    code, out, err = golden_cli(
        ["--rule", str(rule_file), "--dataset", PROMPT, "--engine", "server", "--report"], quirky_registry
    )
    assert code == 0
    local = quirky_registry.create_json(REFERENCE, PROMPT, engine="local", report=True)
    assert local.losses is not None
    assert LumiMask.from_json(out) == local.mask
    assert local.losses.to_table() in err  # the service's figures, once its row is complete
    assert f"excluded (anti-JSON): {local.anti_mask.run_count} runs" in err


def test_cli_golden_plot(registry: RunRegistry, rule_file: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "losses.png"
    code, _, err = golden_cli(
        ["--rule", str(rule_file), "--dataset", PROMPT, "-o", str(tmp_path / "g.json"), "--plot", str(png)], registry
    )
    assert (code, err) == (0, "")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_golden_invalid_rule_is_one_line(server: EmbeddedServer, registry: RunRegistry, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"==": [{"var": "lumisection.rr.dt-dt"}, "GOD"]}))
    before = requests_made(server)
    code, out, err = golden_cli(["--rule", str(bad), "--dataset", PROMPT], registry)
    assert (code, out) == (2, "")
    assert err.startswith("runql golden: error: rule[")
    assert "Traceback" not in err
    assert requests_made(server) == before


def test_cli_golden_unreadable_rule(registry: RunRegistry, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, _, err = golden_cli(["--rule", str(bad), "--dataset", PROMPT], registry)
    assert code == 2
    assert "not valid JSON" in err


# ---- replies the engine refuses ------------------------------------------------------------------------------
class OneDatasetService:
    """A fake service: one dataset of run 315000 whose dt-dt statuses vary, and the given RR range reply."""

    def __init__(self, rr_reply: Any) -> None:
        self.rr_reply = rr_reply

    def send(self, call: Call) -> Reply:
        if call.path == "/datasets_filtered_ordered":
            row = {
                "run_number": 315000,
                "name": "/PromptReco/Collisions2018A/DQM",
                "dataset_attributes": {},
                "Run": {"oms_attributes": {"energy": 6500}, "rr_attributes": {}},
                "DatasetTripletCache": {"triplet_summary": {"dt-dt": {"GOOD": 5, "BAD": 5}}, "dcs_summary": {}},
            }
            page = {"datasets": [row], "pages": 1, "count": 1}
            return Reply(200, json.dumps(page).encode() if call.raw else page)
        if call.path == "/lumisections/rr_lumisection_ranges_by_component":
            return Reply(200, self.rr_reply)
        return Reply(200, [])


DT_GOOD = {"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]}


def test_a_fake_service_gives_the_expected_mask() -> None:
    reply = {"dt-dt": [{"status": "GOOD", "start": 1, "end": 5}, {"status": "BAD", "start": 6, "end": 10}]}
    golden = run_sync(golden_operation(DT_GOOD, PROMPT), OneDatasetService(reply), pool=None)
    assert golden.mask == LumiMask({315000: [(1, 5)]})
    assert golden.anti_mask == LumiMask({315000: [(6, 10)]})


def test_ranges_without_a_status_are_lumisections_where_the_component_has_none() -> None:
    """The real service's shape where one component has no status at lumisections 4-5 while another has (it
    spreads JavaScript's ``undefined``: one status-less range per lumisection); they are EMPTY there, as its
    per-lumisection route says, so the component is absent from ``lumisection.rr``."""
    reply = {
        "csc-csc": [{"status": "GOOD", "comment": "", "cause": "", "start": 1, "end": 10}],
        "dt-dt": [
            {"status": "GOOD", "comment": "", "cause": "", "start": 1, "end": 3},
            {"start": 4, "end": 4},
            {"start": 5, "end": 5},
            {"status": "GOOD", "comment": "", "cause": "", "start": 6, "end": 10},
        ],
    }
    golden = run_sync(golden_operation(DT_GOOD, PROMPT), OneDatasetService(reply), pool=None)
    assert golden.mask == LumiMask({315000: [(1, 3), (6, 10)]})
    assert golden.anti_mask == LumiMask({315000: [(4, 5)]})
    missing = {"missing": ["lumisection.rr.dt-dt"]}  # json-logic-js: an absent key is missing
    golden = run_sync(golden_operation(missing, PROMPT), OneDatasetService(reply), pool=None)
    assert golden.mask == LumiMask({315000: [(4, 5)]})


@pytest.mark.parametrize(
    "reply",
    [
        "nonsense",
        {"dt-dt": "GOOD"},
        {"dt-dt": [{"status": "GOOD", "start": 0, "end": 5}]},
        {"dt-dt": [{"status": "GOOD", "start": 6, "end": 5}]},
        {"dt-dt": [{"status": "GOOD", "start": 1.0, "end": 5}]},
        {"dt-dt": [{"status": None, "start": 1, "end": 5}]},
        {"dt-dt": [{"status": 3, "start": 1, "end": 5}]},
    ],
)
def test_malformed_range_replies_are_service_errors(reply: Any) -> None:
    with pytest.raises(ServiceError):
        run_sync(golden_operation(DT_GOOD, PROMPT), OneDatasetService(reply), pool=None)
