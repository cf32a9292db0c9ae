"""The reference rule ships in the package (README snippets run from an installed wheel) and lives in one file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import querylang
from querylang import reference as reference_module

ROOT = Path(__file__).resolve().parent.parent

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: pip's vendored copy of the same parser
    from pip._vendor import tomli as tomllib


def test_examples_rule_is_the_package_file_not_a_copy() -> None:
    example = ROOT / "examples" / "golden_rule.json"
    packaged = ROOT / "querylang" / reference_module.REFERENCE_RULE_FILE
    assert example.resolve() == packaged.resolve()
    assert querylang.reference_rule() == json.loads(example.read_text(encoding="utf-8"))


def test_package_data_configuration_ships_the_rule() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_data = config["tool"]["setuptools"]["package-data"]
    assert reference_module.REFERENCE_RULE_FILE in package_data["querylang"]
    assert "querylang*" in config["tool"]["setuptools"]["packages"]["find"]["include"]


def test_the_accessor_reads_through_importlib_resources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / reference_module.REFERENCE_RULE_FILE).write_text('{"==": [1, 1]}', encoding="utf-8")
    asked: list[str] = []

    def files(package: str) -> Path:
        asked.append(package)
        return tmp_path

    monkeypatch.setattr(reference_module.resources, "files", files)
    assert querylang.reference_rule() == {"==": [1, 1]}
    assert asked == ["querylang"]


def test_each_call_gives_a_fresh_rule() -> None:
    rule = querylang.reference_rule()
    rule["and"].clear()
    assert len(querylang.reference_rule()["and"]) == 11
