"""Money arithmetic in integer halalas: VAT, proration, formatting. No floats anywhere.

Rounding rule (stated once, used everywhere): an amount that is not a whole number of halalas is rounded
half up to the nearest halala (0.5 halala rounds up). Proration charges the price difference for the
share of the period still to run, measured in whole seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

BASIS_POINTS = 10_000
MINIMUM_CHARGE = 100  # Moyasar's minimum payment is 1 SAR


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up, for non-negative integers."""
    if numerator < 0 or denominator <= 0:
        raise ValueError("round_half_up takes a non-negative numerator and a positive denominator")
    return (2 * numerator + denominator) // (2 * denominator)


def vat_of(net: int, rate_bp: int) -> int:
    """VAT on a net amount: 29,900 at 1500 bp (15%) is 4,485."""
    return round_half_up(net * rate_bp, BASIS_POINTS)


@dataclass(frozen=True, slots=True)
class Charge:
    net: int
    vat: int

    @property
    def total(self) -> int:
        return self.net + self.vat


def charge_for(net: int, rate_bp: int) -> Charge:
    return Charge(net=net, vat=vat_of(net, rate_bp))


def prorated(price_difference: int, remaining_seconds: int, period_seconds: int) -> int:
    """The net charge for moving to a dearer plan with ``remaining_seconds`` of the period left."""
    if price_difference <= 0:
        return 0
    remaining = max(0, min(remaining_seconds, period_seconds))
    return round_half_up(price_difference * remaining, period_seconds)


def sar(halalas: int) -> str:
    """Halalas as a decimal SAR string with two places: 34385 -> '343.85' (ZATCA tags 4 and 5)."""
    sign = "-" if halalas < 0 else ""
    whole, part = divmod(abs(halalas), 100)
    return f"{sign}{whole}.{part:02d}"
