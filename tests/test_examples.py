"""The user's first contact keeps working: ``make demo``'s script, the README's code and the CLI's synthetic label."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from client.cli import main as runql
from schemas.golden import LumiMask

ROOT = Path(__file__).resolve().parent.parent


def _readme_blocks(containing: str) -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [block for block in re.findall(r"```python\n(.*?)```", text, re.S) if containing in block]


@dataclass(frozen=True)
class DemoRun:
    """The demo's process and the files it writes its output to."""

    process: subprocess.Popen[bytes]
    out: Path
    err: Path


@pytest.fixture(scope="module", autouse=True)
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    """``examples/demo.py``, started when this module starts: it runs in its own process (on the other core)
    while the README's blocks run here, writing to files (a pipe would fill up and stall it); its test, last in
    the module, reads them."""
    folder = tmp_path_factory.mktemp("demo")
    out_path, err_path = folder / "out.txt", folder / "err.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = subprocess.Popen([sys.executable, str(ROOT / "examples" / "demo.py")], stdout=out, stderr=err)
    run = DemoRun(process, out_path, err_path)
    try:
        yield run
    finally:
        if run.process.poll() is None:
            run.process.kill()
        run.process.wait()


def test_readme_python_blocks_on_the_embedded_target_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = _readme_blocks('target="embedded"')
    assert len(blocks) >= 2  # the quick start and the golden-JSON workflow
    monkeypatch.chdir(tmp_path)  # an empty directory: the snippets need nothing from the clone
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {"__name__": "readme"})
    golden = LumiMask.from_file(tmp_path / "golden.json")
    assert golden.run_count > 0


def test_runql_golden_on_the_embedded_target_is_labelled_synthetic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "golden.json"
    rule = str(ROOT / "examples" / "golden_rule.json")
    code = runql(["golden", "--rule", rule, "--dataset", "/PromptReco/Collisions2018A/DQM", "--target", "embedded",
                  "-o", str(target)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    assert "synthetic data" in err
    written = json.loads(target.read_text())
    assert written
    assert all(int(run) >= 315000 for run in written)


def test_demo_prints_real_results_for_every_readme_filter(demo_run: DemoRun) -> None:
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import demo
    finally:
        sys.path.remove(str(ROOT / "examples"))
    assert demo_run.process.wait(timeout=600) == 0, demo_run.err.read_text()
    out = demo_run.out.read_text()
    assert "SYNTHETIC demo Run Registry at http://127.0.0.1:" in out
    for question, _ in demo.RUN_FILTERS:
        section = out.split(f"## {question}\n", 1)[1].split("\n## ", 1)[0]
        count = int(re.search(r"^(\d+) runs", section, re.M).group(1))  # type: ignore[union-attr]
        assert count > 0, question
    assert re.search(r"^\d+ datasets$", out, re.M)
    assert "dt-dt.GOOD=Int64" in out
    assert "start_time=datetime64[ns, UTC]" in out
    assert "(several clauses false)" in out
    assert "did you mean 'hlt_key'" in out
