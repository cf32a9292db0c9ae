"""JSON from clients (request bodies, the json_portal's ``json_logic`` string), parsed within bounds.

:func:`parse_json` answers every malformed, too deep or invalid-Unicode input with a
:class:`~backend.errors.RequestError` (HTTP 500 ``{"err"}``), never another exception.

>>> parse_json(b'{"run_number": 1}')
{'run_number': 1}
>>> parse_json(b'{"dataset_name": "\\\\ud800"}')
Traceback (most recent call last):
...
backend.errors.RequestError: invalid JSON body: body["dataset_name"]: invalid Unicode (a lone surrogate at \
character 0); got '\\ud800'; allowed: valid Unicode text
"""

from __future__ import annotations

import json
from typing import Any, Final

from backend.errors import RequestError
from querylang.errors import QueryLangError
from querylang.limits import check_nesting

__all__ = ["MAX_BODY_BYTES", "MAX_BODY_DEPTH", "parse_json"]

#: Largest request body accepted by default, in bytes (the app refuses larger ones while reading them).
MAX_BODY_BYTES: Final = 16 << 20
#: Deepest nesting of objects and lists in a request body (filters stay far below; the filter compiler has its
#: own, tighter limit on and/or levels).
MAX_BODY_DEPTH: Final = 200


class _BodyError(QueryLangError):
    root = "body"


def _reject_constant(name: str) -> None:
    raise RequestError(f"invalid JSON body: {name} is not a JSON number")


#: ``json.loads(..., parse_constant=_reject_constant)`` builds a decoder per call; this one is built once.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _loads(raw: bytes | str) -> Any:
    """``json.loads(raw, parse_constant=_reject_constant)``, the same steps on the shared decoder."""
    if isinstance(raw, bytes):
        return _DECODER.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))
    if raw.startswith("\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", raw, 0)
    return _DECODER.decode(raw)


def parse_json(raw: bytes | str, *, what: str = "JSON body") -> Any:
    """The JSON value of ``raw`` (``None`` when blank); :class:`RequestError` for anything else."""
    if not raw.strip():
        return None
    try:
        value = _loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RequestError(f"invalid {what}: {exc}") from None
    except RecursionError:
        raise RequestError(f"invalid {what}: nested too deeply") from None
    try:
        check_nesting(value, _BodyError, max_depth=MAX_BODY_DEPTH)
    except QueryLangError as exc:
        raise RequestError(f"invalid {what}: {exc}") from None
    return value
