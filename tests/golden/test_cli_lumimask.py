"""``runql lumimask``: each operation on real files, output to a file or stdout, and error handling."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from client.cli_golden import add_golden_parser, add_lumimask_parser
from schemas.golden import LumiMask

A = {"315000": [[1, 20]], "315001": [[5, 9]]}
B = {"315000": [[10, 30]], "315002": [[1, 1]]}


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="runql")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_lumimask_parser(subparsers)
    add_golden_parser(subparsers)
    return parser.parse_args(argv)


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    args = parse(argv)
    code = args.handler(args, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str]:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(A))
    b.write_text(json.dumps(B))
    return str(a), str(b)


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        ("union", {"315000": [[1, 30]], "315001": [[5, 9]], "315002": [[1, 1]]}),
        ("intersect", {"315000": [[10, 20]]}),
        ("subtract", {"315000": [[1, 9]], "315001": [[5, 9]]}),
    ],
)
def test_operations_write_the_expected_file(
    operation: str, expected: dict[str, list[list[int]]], files: tuple[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "out.json"
    code, out, err = run(["lumimask", operation, *files, "-o", str(target)])
    assert (code, out, err) == (0, "", "")
    assert json.loads(target.read_text()) == expected


def test_operation_prints_to_stdout_without_output(files: tuple[str, str]) -> None:
    code, out, _ = run(["lumimask", "intersect", *files])
    assert code == 0
    assert LumiMask.from_json(out) == LumiMask({"315000": [[10, 20]]})


def test_subtract_takes_the_first_minus_all_others(files: tuple[str, str], tmp_path: Path) -> None:
    c = tmp_path / "c.json"
    c.write_text(json.dumps({"315001": [[1, 100]]}))
    code, out, _ = run(["lumimask", "subtract", *files, str(c)])
    assert code == 0
    assert LumiMask.from_json(out).to_dict() == {"315000": [[1, 9]]}


def test_compare_reports_differences_and_exits_1(files: tuple[str, str], tmp_path: Path) -> None:
    target = tmp_path / "diff.json"
    code, out, _ = run(["lumimask", "compare", *files, "-o", str(target)])
    assert code == 1
    assert f"only in {files[0]}: 14 lumisections in 2 runs" in out
    assert f"only in {files[1]}: 11 lumisections in 2 runs" in out
    assert "in both: 11 lumisections in 1 runs" in out
    assert "run 315000: -9 +10" in out
    assert LumiMask.from_file(target) == LumiMask(A) ^ LumiMask(B)


def test_compare_equal_masks_exits_0(files: tuple[str, str], tmp_path: Path) -> None:
    same = tmp_path / "same.json"
    same.write_text(json.dumps({"315001": [[5, 7], [8, 9]], "315000": [[1, 20]]}))
    code, out, _ = run(["lumimask", "compare", files[0], str(same)])
    assert code == 0
    assert f"only in {files[0]}: 0 lumisections in 0 runs" in out


def test_compare_needs_exactly_two(files: tuple[str, str]) -> None:
    code, _, err = run(["lumimask", "compare", *files, files[0]])
    assert code == 2
    assert "exactly two files" in err


def test_single_file_is_a_usage_error(files: tuple[str, str]) -> None:
    code, _, err = run(["lumimask", "union", files[0]])
    assert code == 2
    assert "at least two files" in err


def test_malformed_file_is_reported_with_its_path(files: tuple[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"315000": [[9, 1]]}')
    code, out, err = run(["lumimask", "union", files[0], str(bad)])
    assert (code, out) == (2, "")
    assert str(bad) in err
    assert "first > last" in err
    assert "Traceback" not in err


def test_missing_file(files: tuple[str, str], tmp_path: Path) -> None:
    code, _, err = run(["lumimask", "union", files[0], str(tmp_path / "nope.json")])
    assert code == 2
    assert "nope.json" in err
