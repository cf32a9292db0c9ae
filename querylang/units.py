"""Luminosity units, in one place. The service's per-lumisection luminosity is in inverse microbarns (µb⁻¹) and a
run's OMS ``recorded_lumi``/``delivered_lumi`` in inverse picobarns (pb⁻¹); sums are shown in the unit that fits.

>>> 12_500_000 / UB_PER_PB
12.5
>>> luminosity_unit(97919.8e6), format_luminosity(5.25e6)
(('/fb', 1e-09), '5.25 /pb')
"""

from __future__ import annotations

from typing import Final

__all__ = ["UB_PER_PB", "UNITS", "format_luminosity", "luminosity_unit"]

#: Inverse microbarns per inverse picobarn.
UB_PER_PB: Final = 1_000_000
#: The units a sum of µb⁻¹ is shown in, largest first, each with the factor from µb⁻¹ to it.
UNITS: Final = (("/fb", 1e-9), ("/pb", 1e-6), ("/nb", 1e-3), ("/ub", 1.0))


def luminosity_unit(largest: float) -> tuple[str, float]:
    """The unit that fits sums of per-lumisection values (µb⁻¹) up to ``largest``, and the factor to it: /ub,
    /nb, /pb, or /fb, each from 1000 of the one before.

    >>> luminosity_unit(97919.8e6), luminosity_unit(12.5e6), luminosity_unit(7)
    (('/fb', 1e-09), ('/pb', 1e-06), ('/ub', 1.0))
    """
    return next((unit, factor) for unit, factor in UNITS if abs(largest) * factor >= 1 or unit == "/ub")


def format_luminosity(value: float | None) -> str:
    """A sum of per-lumisection values (µb⁻¹) printed in the unit that fits, four significant digits.

    >>> format_luminosity(97919.83918e6), format_luminosity(5.25e6), format_luminosity(None)
    ('97.92 /fb', '5.25 /pb', '-')
    """
    if value is None:
        return "-"
    unit, factor = luminosity_unit(value)
    return f"{value * factor:.4g} {unit}"
