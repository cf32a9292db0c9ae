"""Review: hostile per-lumisection OMS replies the Hypothesis tests of test_oms_columns.py do not reach.

``NaN``/``Infinity`` literals, numbers beyond the double range and integers beyond 64 bits (under a key the
decoder reads or skips), duplicate keys (plain and escaped), lone surrogates, a byte-order mark: the fast path
gives exactly orjson's values or steps aside, and the engine then answers as orjson lets it.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_engines_agree import PROMPT
from test_golden_local import DT_GOOD
from test_oms_columns import KEYS, OmsService, reference
from testkit.omscolumns import exactly

from client.engine import run_sync
from client.errors import ServiceError
from client.golden_local import golden_operation
from client.omscolumns import OmsColumnDecoder, columns_of
from schemas.golden import Luminosity

#: Number literals at and beyond the edges: non-finite, beyond the double range, beyond 64 bits.
EXTREME_NUMBERS = [
    "NaN",
    "-NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "-1e400",
    "1E309",
    "1" + "0" * 309,
    "-1" + "0" * 400 + ".5",
    "1e-400",
    "0." + "0" * 400 + "1",
    "18446744073709551615",
    "-9223372036854775809",
    "123456789012345678901234567890",
]


#: Those a double cannot hold (orjson refuses them, Python's json reads them as infinities).
OVERFLOWING = EXTREME_NUMBERS[4:9]


@pytest.mark.parametrize("literal", EXTREME_NUMBERS)
@pytest.mark.parametrize("key", ["recorded", "prescale_name", "cms_active", "Recorded"])
def test_extreme_numbers_read_as_orjson_reads_them(literal: str, key: str) -> None:
    body = f'[{{"{key}": {literal}, "delivered": 1}}, {{"recorded": 2}}]'.encode()
    got = OmsColumnDecoder(KEYS).decode(body)
    expected = reference(body)
    if got is None or expected is not None:
        assert got is None or (expected is not None and exactly(got) == exactly(expected))
    else:  # a number no double holds, under a key the decoder skips, is not parsed (orjson refuses the reply)
        assert literal in OVERFLOWING
        assert key not in KEYS
        assert exactly(got) == exactly(columns_of(json.loads(body), KEYS))


@pytest.mark.parametrize(
    "body",
    [
        b'[{"recorded": 1, "recorded": 2.5, "delivered": 3, "delivered": null}]',
        b'[{"rec\\u006frded": 1, "recorded": 2}, {"recorded": 2, "rec\\u006frded": 1}]',
        b'[{"bpix_ready": true, "cms_active": {"a": 1}, "bpix_ready": false}]',
        b'[{"recorded": 1, "recorded": [1]}]',
        b'[{"recorded": "\\ud800"}]',
        b'[{"x": "\\udc00"}]',
        b'[{"\\ud83d\\ude00": 1, "recorded": 4}]',
        b'\xef\xbb\xbf[{"recorded": 1}]',
        b'[{"recorded": 1}]\n\n',
    ],
)
def test_duplicate_keys_surrogates_and_bom(body: bytes) -> None:
    got = OmsColumnDecoder(KEYS).decode(body)
    expected = reference(body)
    assert got is None or (expected is not None and exactly(got) == exactly(expected))


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(EXTREME_NUMBERS),
    st.text(max_size=4),
)


def _literal(value: Any) -> str:
    return value if isinstance(value, str) and value in EXTREME_NUMBERS else json.dumps(value)


@settings(max_examples=200, deadline=None)
@given(
    members=st.lists(
        st.lists(st.tuples(st.sampled_from([*KEYS, "cms_active", "recorded"]), SCALARS), max_size=5), max_size=4
    )
)
def test_objects_with_repeated_keys_and_extreme_values(members: list[list[tuple[str, Any]]]) -> None:
    body = "[" + ", ".join("{" + ", ".join(f'"{k}": {_literal(v)}' for k, v in m) + "}" for m in members) + "]"
    got = OmsColumnDecoder(KEYS).decode(body.encode())
    expected = reference(body.encode())
    if got is None or expected is not None:
        assert got is None or exactly(got) == exactly(columns_of(orjson.loads(body) or [], KEYS))
    else:  # orjson refuses a number no double holds; only under a key the decoder skips may it pass
        assert any(v in OVERFLOWING for m in members for k, v in m if k not in KEYS)
        assert exactly(got) == exactly(columns_of(json.loads(body), KEYS))


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "1e400"])
def test_the_engine_refuses_luminosity_no_double_holds(literal: str) -> None:
    body = f'[{{"bpix_ready": true, "recorded": {literal}, "delivered": 1}}]'.encode()
    rule = {"and": [DT_GOOD, {"==": [{"var": "lumisection.oms.bpix_ready"}, True]}]}
    with pytest.raises(ServiceError, match="not JSON"):
        run_sync(golden_operation(rule, PROMPT, with_luminosity=True), OmsService(body), pool=None)


def test_duplicate_luminosity_keys_count_the_last_value() -> None:
    body = b'[{"recorded": 100, "recorded": 1, "delivered": 2}, {"recorded": 5, "delivered": 7, "delivered": 1}]'
    golden = run_sync(golden_operation(DT_GOOD, PROMPT, with_luminosity=True), OmsService(body), pool=None)
    assert golden.luminosity_in == Luminosity(6, 3)
