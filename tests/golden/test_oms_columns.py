"""Per-lumisection OMS replies decoded straight into columns give exactly what ``orjson.loads`` gives: the same
values of the same types (bools, ``null``, missing keys, ints and floats, strings), on hostile replies too; a
reply the fast path cannot vouch for goes to orjson, which the engine then reads or rejects as before."""

from __future__ import annotations

import json
from typing import Any

import httpx
import orjson
import pytest
from bruteforce import BruteForce
from hypothesis import given, settings
from hypothesis import strategies as st
from test_engines_agree import PROMPT
from test_golden_local import DT_GOOD, OneDatasetService
from testkit.omscolumns import exactly

from backend.server import EmbeddedServer
from client.engine import run_sync
from client.errors import ServiceError
from client.golden_local import golden_operation
from client.omscolumns import ABSENT, OmsColumnDecoder, OmsColumns, columns_of
from client.transport import Call, Reply
from schemas.golden import LumiMask, Luminosity

KEYS = ("bpix_ready", "recorded", "delivered", "prescale_name", "é")
OTHER_KEYS = ("cms_active", "bpix\u00e9", "", "recorded ", "Recorded")

NUMBERS = st.one_of(
    st.booleans(),
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
)
PLAIN = st.one_of(NUMBERS, st.text(max_size=8))
#: What real replies hold: JSON scalars, no bracket in a string (one sends the reply to the slow path).
ORDINARY = st.one_of(
    NUMBERS, st.text(st.characters(blacklist_characters="[{", blacklist_categories=["Cs"]), max_size=8)
)
BIG = st.integers(min_value=-(2**80), max_value=2**80)  # orjson turns those beyond 64 bits into floats
HOSTILE = st.one_of(
    PLAIN,
    BIG,
    st.lists(PLAIN, max_size=3),
    st.dictionaries(st.sampled_from(KEYS), PLAIN, max_size=2),
)


def objects(values: st.SearchStrategy[Any]) -> st.SearchStrategy[list[tuple[str, Any]]]:
    """An object as its members in order, keys possibly repeated (JSON allows it; the last one wins)."""
    return st.lists(st.tuples(st.sampled_from(KEYS + OTHER_KEYS), values), max_size=7)


def encode(value: Any, ascii_only: bool) -> str:
    if isinstance(value, list) and all(isinstance(member, tuple) for member in value) and value:
        members = (f"{json.dumps(k, ensure_ascii=ascii_only)}: {encode(v, ascii_only)}" for k, v in value)
        return "{" + ", ".join(members) + "}"
    if isinstance(value, _Object):
        return "{}"
    if isinstance(value, list):
        return "[" + ", ".join(encode(item, ascii_only) for item in value) + "]"
    return json.dumps(value, ensure_ascii=ascii_only)


class _Object:
    """An empty JSON object (a list of no members would encode as ``[]``)."""


def lumisection(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return objects(values).map(lambda members: members or _Object())


def reply_text(values: st.SearchStrategy[Any]) -> st.SearchStrategy[str]:
    return st.builds(encode, st.lists(lumisection(values), max_size=6), st.booleans())


HOSTILE_BODIES = st.one_of(
    reply_text(HOSTILE).map(str.encode),
    reply_text(st.one_of(ORDINARY, BIG)).map(str.encode),
    st.sampled_from([b"[]", b"null", b" ", b"", b'{"err": "run not found"}', b"[null]", b"[1, {}]", b"{}"]),
    st.builds(lambda text, cut: text.encode()[:cut], reply_text(PLAIN), st.integers(0, 200)),  # truncated
    st.builds(  # a byte that is no UTF-8, anywhere (in a key the struct skips too)
        lambda text, at, bad: text.encode()[:at] + bad + text.encode()[at:],
        reply_text(PLAIN),
        st.integers(0, 200),
        st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80"]),
    ),
    st.builds(lambda depth: b'[{"cms_active": ' + b"[" * depth + b"]" * depth + b"}]", st.integers(1000, 1100)),
)


def reference(body: bytes) -> OmsColumns | None:
    """What the engine read before: ``orjson.loads``, then the columns of a list of objects (``null``: none)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    data = [] if data is None else data
    if not (isinstance(data, list) and all(isinstance(item, dict) for item in data)):
        return None
    return columns_of(data, KEYS)


@settings(max_examples=300, deadline=None)
@given(body=HOSTILE_BODIES)
def test_the_fast_path_gives_what_orjson_gives_or_steps_aside(body: bytes) -> None:
    got = OmsColumnDecoder(KEYS).decode(body)
    if got is not None:
        expected = reference(body)
        assert expected is not None, "decoded a body orjson rejects"
        assert exactly(got) == exactly(expected)


@settings(max_examples=150, deadline=None)
@given(text=reply_text(ORDINARY))
def test_ordinary_replies_take_the_fast_path(text: str) -> None:
    body = text.encode()
    got = OmsColumnDecoder(KEYS).decode(body)
    expected = reference(body)
    assert got is not None
    assert expected is not None
    assert exactly(got) == exactly(expected)


#: Number literals where parsers go wrong: halfway cases, subnormals, the edges of float and int64, long digits.
NUMBER_LITERALS = [
    "2.2250738585072011e-308",
    "1.00000000000000011102230246251565404236316680908203125",
    "1.00000000000000011102230246251565404236316680908203126",
    "1e23",
    "1.7976931348623158e308",
    "1.7976931348623159e308",
    "2.4703282292062327e-324",
    "2.4703282292062328e-324",
    "9007199254740993.0",
    "123456789012345678901234567890e-10",
    "1" + "0" * 400 + "e-400",
    "-0.0",
    "-0",
    "1E+2",
    "-9223372036854775808",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
]


@pytest.mark.parametrize("literal", NUMBER_LITERALS)
def test_numbers_are_parsed_as_orjson_parses_them(literal: str) -> None:
    body = f'[{{"recorded": {literal}, "delivered": 1}}]'.encode()
    got = OmsColumnDecoder(KEYS).decode(body)
    expected = reference(body)
    if got is not None:  # else the engine takes orjson's value (or its error)
        assert expected is not None
        assert exactly(got) == exactly(expected)
    assert got is not None or literal in ("1.7976931348623159e308", "9223372036854775808", "18446744073709551616")


def test_escaped_keys_are_the_keys_they_spell() -> None:
    body = b'[{"bpix\\u005fready": true, "\\u00e9": 1, "recorded": 2.5}, {"cms_active": false}]'
    columns = OmsColumnDecoder(KEYS).decode(body)
    assert columns is not None
    assert columns["bpix_ready"] == [True, ABSENT]
    assert columns["é"] == [1, ABSENT]
    assert columns["recorded"] == [2.5, ABSENT]


@pytest.mark.parametrize(
    ("body", "count"),
    [(b"[]", 0), (b"null", 0), (b'[{"recorded": 1}, {}]', 2)],
)
def test_empty_and_unknown_run_replies(body: bytes, count: int) -> None:
    columns = OmsColumnDecoder(KEYS).decode(body)
    assert columns is not None
    assert columns.count == count == len(columns["recorded"])


class OmsService(OneDatasetService):
    """:class:`OneDatasetService` whose run has the given per-lumisection OMS reply: bytes, as httpx hands it, or
    decoded already, as a transport that ignores ``raw`` hands it."""

    def __init__(self, oms_body: bytes, *, as_bytes: bool = True) -> None:
        super().__init__({"dt-dt": [{"status": "GOOD", "start": 1, "end": 3}, {"status": "BAD", "start": 4, "end": 4}]})
        self.oms_body = oms_body
        self.as_bytes = as_bytes

    def send(self, call: Call) -> Reply:
        if call.path == "/lumisections/oms_lumisections":
            return Reply(200, self.oms_body if call.raw and self.as_bytes else orjson.loads(self.oms_body))
        return super().send(call)


BITS_RULE = {"and": [DT_GOOD, {"==": [{"var": "lumisection.oms.bpix_ready"}, True]}]}
FOUR_LUMISECTIONS = (
    '[{"bpix_ready": true, "recorded": 1, "delivered": 2, "cms_active": true, "name": "\u00e9"}, '
    '{"bpix_ready": true, "recorded": 2.5, "delivered": null}, {"bpix_ready": 1, "recorded": -4, "delivered": "7"}, '
)


@pytest.mark.parametrize(
    ("body", "removed"),
    [
        ((FOUR_LUMISECTIONS + '{"recorded": 5, "delivered": 3, "name": "\u00e9"}]').encode(), Luminosity(5, 3)),
        (
            (FOUR_LUMISECTIONS + '{"recorded": 18446744073709551616, "delivered": 3, "prescale_name": [1]}]').encode(),
            Luminosity(float(2**64), 3),
        ),
    ],
    ids=["fast-path", "orjson-path"],
)
@pytest.mark.parametrize("as_bytes", [True, False], ids=["bytes", "decoded"])
def test_the_engine_reads_the_same_figures_from_bytes_or_decoded(
    body: bytes, removed: Luminosity, as_bytes: bool
) -> None:
    service = OmsService(body, as_bytes=as_bytes)
    golden = run_sync(golden_operation(BITS_RULE, PROMPT, with_luminosity=True), service, pool=None)
    assert golden.mask == LumiMask({315000: [(1, 3)]})  # json-logic's "==": 1 == true
    assert golden.luminosity_in == Luminosity(3.5, 9)  # negative and null count as 0, "7" as 7 (JavaScript's +)
    assert golden.luminosity_out == removed


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"err": "the run does not exist"}', "the run does not exist"),
        (b"[1, 2]", "list of objects"),
        (b'[{"recorded": 1}', "not JSON"),
        (b'[{"recorded": "\xff"}]', "not JSON"),
    ],
)
def test_unusable_oms_replies_are_service_errors(body: bytes, message: str) -> None:
    with pytest.raises(ServiceError, match=message):
        run_sync(golden_operation(BITS_RULE, PROMPT, with_luminosity=True), OmsService(body), pool=None)


def test_an_unknown_run_has_no_luminosity() -> None:
    golden = run_sync(golden_operation(BITS_RULE, PROMPT, with_luminosity=True), OmsService(b"[]"), pool=None)
    assert golden.mask == LumiMask({})
    assert golden.luminosity_in == golden.luminosity_out == Luminosity(0, 0)


def test_the_services_replies_take_the_fast_path(server: EmbeddedServer, brute: BruteForce) -> None:
    """What the (embedded) service sends is decoded by msgspec, never left to orjson: the speed is real."""
    runs = sorted({d.run_number for d in brute.datasets if d.certified})[:12]
    decoder = OmsColumnDecoder(KEYS)
    with httpx.Client(base_url=server.url) as http:
        for run in runs:
            reply = http.post("/lumisections/oms_lumisections", json={"run_number": run, "dataset_name": "online"})
            columns = decoder.decode(reply.content)
            expected = reference(reply.content)
            assert columns is not None
            assert expected is not None
            assert columns.count > 0
            assert exactly(columns) == exactly(expected)
