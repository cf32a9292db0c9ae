"""Regressions found when the streaming review was merged, in modules around it: replies nested too deep for
``str``/``json`` and dataset rows of the wrong shape are typed errors, never a bare ``RecursionError`` nor a
silently emptier table."""

from __future__ import annotations

import httpx
import orjson
import pytest
from client_fakes import make_dataset

from client.auth import parse_token_reply
from client.errors import AuthError, ServiceError
from client.golden_local import _list
from client.lumitable import _brief, _statuses
from client.pagination import _err_answer
from client.transport import Call
from client.wire import PackedReader
from querylang.catalogue import STATUS_VALUES


def nested(depth: int) -> bytes:
    return b"[" * depth + b"0" + b"]" * depth


def read_whole(reader: PackedReader, body: bytes) -> object:
    reader.feed(body)
    return reader.result()


def test_a_token_reply_nested_too_deep_for_json_is_an_auth_error() -> None:
    request = httpx.Request("POST", "https://auth.test/token")
    response = httpx.Response(200, content=nested(5000), request=request)
    with pytest.raises(AuthError, match="refused the credentials: HTTP 200"):
        parse_token_reply(response, now=0.0)


def test_an_err_value_nested_too_deep_for_str_is_a_service_error_in_the_golden_engine() -> None:
    data = orjson.loads(b'{"err": ' + nested(995) + b"}")
    call = Call("POST", "/lumisections/oms_lumisection_ranges", json={"run_number": 1, "dataset_name": "online"})
    with pytest.raises(ServiceError, match=r"\[\[\[\.\.\.\]\]\]"):
        _list(data, call)


def test_an_err_value_nested_too_deep_for_str_is_worded_by_the_listing() -> None:
    message = _err_answer(orjson.loads(b'{"err": ' + nested(995) + b"}"))  # a reply decoded already
    assert message is not None
    assert message.startswith("[[")
    assert "..." in message


@pytest.mark.parametrize("summary", [b'"x"', b"7", b"[1]"])
def test_a_triplet_summary_that_is_no_object_is_refused_not_read_as_no_components(summary: bytes) -> None:
    """Was read as a dataset without any component: its table silently lacked every status column."""
    good = orjson.dumps(make_dataset(7, "/PromptReco/Collisions2018A/DQM"))
    bad = b'{"run_number":6,"name":"/x","DatasetTripletCache":{"triplet_summary":' + summary + b"}}"
    reader = PackedReader("datasets", False, convert=_brief)
    with pytest.raises(ValueError, match=r"^datasets\.1: .*triplet_summary is not an object"):
        read_whole(reader, b'{"datasets":[' + good + b"," + bad + b'],"count":2}')


def test_a_lumisection_table_reads_status_less_ranges_as_empty() -> None:
    """The real service's ranges by component have no status where the component has none (one range per such
    lumisection); the table says EMPTY there, as the per-lumisection route does (was a ServiceError)."""
    ranges = [
        {"status": "GOOD", "start": 1, "end": 3},
        {"start": 4, "end": 4},
        {"status": "BAD", "start": 5, "end": 5},
    ]
    codes = _statuses(ranges, 5, "dt-dt")
    assert [STATUS_VALUES[code] for code in codes] == ["GOOD", "GOOD", "GOOD", "EMPTY", "BAD"]
