"""The user's first contact keeps working: ``make demo``'s script, the README's code and the CLI's synthetic label."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from client.cli import main as runql
from schemas.golden import LumiMask

ROOT = Path(__file__).resolve().parent.parent


def _readme_blocks(containing: str) -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [block for block in re.findall(r"```python\n(.*?)```", text, re.S) if containing in block]


def test_demo_prints_real_results_for_every_readme_filter() -> None:
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import demo
    finally:
        sys.path.remove(str(ROOT / "examples"))
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py")], capture_output=True, text=True, timeout=600, check=True
    )
    out = done.stdout
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
