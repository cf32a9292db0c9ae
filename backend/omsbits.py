"""The stored form of OMS lumisection booleans: two bit masks over ``OMS_LUMISECTION_BITS`` (bit ``i`` is bit name
``i``), ``true_bits`` and ``null_bits`` (a null bit is ``None`` whatever its true bit). The one encoder and decoder.

>>> true_bits, null_bits = bit_mask(["cms_active"]), bit_mask(["beam1_present"])
>>> values = decode_bits(true_bits, null_bits)
>>> values["cms_active"], values["beam1_present"], values["beam2_present"]
(True, None, False)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from querylang.catalogue import OMS_LUMISECTION_BITS

__all__ = ["OmsValues", "bit_mask", "decode_bits", "oms_values"]

#: Each OMS bit with its mask.
_MASKS = tuple((bit, 1 << index) for index, bit in enumerate(OMS_LUMISECTION_BITS))


class OmsValues(Protocol):
    """What a stored OMS range holds besides its bounds."""

    @property
    def true_bits(self) -> int: ...
    @property
    def null_bits(self) -> int: ...
    @property
    def prescale_index(self) -> int | None: ...
    @property
    def prescale_name(self) -> str: ...


def bit_mask(names: Iterable[str]) -> int:
    """The mask of the OMS bits ``names``.

    >>> bit_mask(OMS_LUMISECTION_BITS[:3])
    7
    """
    return sum(1 << OMS_LUMISECTION_BITS.index(name) for name in names)


def decode_bits(true_bits: int, null_bits: int) -> dict[str, bool | None]:
    """Every OMS bit's value, in ``OMS_LUMISECTION_BITS`` order: ``True``, ``False`` or ``None`` (null)."""
    return {bit: None if null_bits & mask else true_bits & mask != 0 for bit, mask in _MASKS}


def oms_values(stored: OmsValues) -> dict[str, Any]:
    """The service's OMS values of a stored range (without luminosity): every bit, then the prescale."""
    values: dict[str, Any] = decode_bits(stored.true_bits, stored.null_bits)
    values["prescale_index"] = stored.prescale_index
    values["prescale_name"] = stored.prescale_name
    return values
