"""JSON given on the command line or in a file, read with limits: size, nesting depth, UTF-8.

Every problem is a :class:`JsonInputError` whose message is one line naming the source (the file, or
"the argument"), so the CLI can print it as is.

>>> load_json('{"run_number": {">": 315000}}')
{'run_number': {'>': 315000}}
>>> load_json("[" * 200 + "]" * 200)
Traceback (most recent call last):
...
client.jsoninput.JsonInputError: the argument: JSON: nested too deeply (more than 64 levels); \
allowed: at most 64 nested objects and lists
>>> load_json('{"class": "\\ud800"}')
Traceback (most recent call last):
...
client.jsoninput.JsonInputError: the argument: JSON["class"]: invalid Unicode (a lone surrogate at character 0); \
got '\\ud800'; allowed: valid Unicode text
>>> load_json('{"a": 1, "a": 2}', source="f.json")
Traceback (most recent call last):
...
client.jsoninput.JsonInputError: f.json: key 'a' appears more than once in one object
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from querylang.errors import QueryLangError, RunQLError
from querylang.jsontext import JsonTextError, loads_strict
from querylang.limits import check_nesting

__all__ = ["MAX_DEPTH", "MAX_INPUT_BYTES", "JsonInputError", "argument_json", "load_json", "read_json_file"]

#: Deepest nesting accepted (a filter or rule of real use is well under 20 levels deep).
MAX_DEPTH = 64
#: Largest file or argument accepted.
MAX_INPUT_BYTES = 16 * 2**20


class JsonInputError(RunQLError, ValueError):
    """A JSON input that cannot be used: unreadable, too large, not UTF-8, not JSON, too deep, a key twice."""


class _StructureError(QueryLangError):
    """What :func:`querylang.limits.check_nesting` found, rendered with the path from the JSON's root."""

    root = "JSON"


def load_json(text: str | bytes, *, source: str = "the argument") -> Any:
    """Parse ``text`` within the limits; errors name ``source``."""
    if len(text) > MAX_INPUT_BYTES:
        raise JsonInputError(f"{source}: larger than {MAX_INPUT_BYTES} bytes")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")  # not json's guess among UTF-8/16/32
        except UnicodeDecodeError as exc:
            raise JsonInputError(f"{source}: not UTF-8 text (invalid byte at offset {exc.start})") from None
    try:
        value = loads_strict(text)
    except JsonTextError as exc:
        raise JsonInputError(f"{source}: {exc.reason}") from None
    try:
        check_nesting(value, _StructureError, max_depth=MAX_DEPTH)
    except _StructureError as exc:
        raise JsonInputError(f"{source}: {exc}") from None
    return value


def read_json_file(path: str | os.PathLike[str]) -> Any:
    """Read and parse a JSON file within the limits; errors name the file."""
    source = os.fspath(path)
    try:
        with Path(path).open("rb") as handle:
            content = handle.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise JsonInputError(f"cannot read {source}: {exc.strerror or exc}") from None
    return load_json(content, source=source)


def argument_json(text: str) -> Any:
    """A command-line JSON value: the text itself, or ``@path`` to read it from a file."""
    if text.startswith("@"):
        return read_json_file(text[1:])
    return load_json(text)
