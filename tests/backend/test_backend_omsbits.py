"""backend.omsbits, the one codec of stored OMS bits, against a set model; the routes read bits through it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.demo import OmsRange
from backend.lumisections import oms_per_lumisection, oms_ranges
from backend.omsbits import bit_mask, decode_bits, oms_values
from querylang.catalogue import OMS_LUMISECTION_BITS

bit_sets = st.sets(st.sampled_from(OMS_LUMISECTION_BITS))


@settings(max_examples=80, deadline=None)
@given(bit_sets, bit_sets)
def test_decode_inverts_the_masks(true: set[str], null: set[str]) -> None:
    values = decode_bits(bit_mask(true), bit_mask(null))
    assert list(values) == list(OMS_LUMISECTION_BITS)
    assert {bit for bit, value in values.items() if value is None} == null
    assert {bit for bit, value in values.items() if value is True} == true - null
    assert {bit for bit, value in values.items() if value is False} == set(OMS_LUMISECTION_BITS) - true - null


def test_routes_show_the_decoded_bits_and_the_prescale() -> None:
    stored = [
        OmsRange(1, 2, bit_mask(["cms_active"]), bit_mask(["beam1_present"]), 3, "Physics"),
        OmsRange(3, 4, bit_mask(["cms_active"]), bit_mask(["beam1_present"]), 3, "Physics"),
    ]
    expected = {
        **decode_bits(stored[0].true_bits, stored[0].null_bits),
        "prescale_index": 3,
        "prescale_name": "Physics",
    }
    assert oms_values(stored[0]) == expected
    assert oms_ranges(stored) == [{**expected, "start": 1, "end": 4}]  # equal neighbours merged
    per_ls = oms_per_lumisection(stored, 4, [10, 20, 30, 40], [11, 21, 31, 41])
    assert per_ls[2] == {**expected, "recorded": 30, "delivered": 31}
    assert (per_ls[0]["cms_active"], per_ls[0]["beam1_present"], per_ls[0]["beam2_present"]) == (True, None, False)
