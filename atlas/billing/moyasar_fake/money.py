"""Money as Moyasar writes it: integer minor units (halalas for SAR), and `amount_format` strings like "343.85 SAR".

Amounts never pass through a float: formatting and parsing are integer and string arithmetic only.
"""

from __future__ import annotations

import re
from typing import Final

# ISO 4217 minor units for the currencies that differ from the usual 2 (Moyasar charges in SAR by default).
_MINOR_UNITS: Final = {"BHD": 3, "JOD": 3, "KWD": 3, "OMR": 3, "TND": 3, "IQD": 3, "LYD": 3, "JPY": 0, "KRW": 0}
_FORMATTED: Final = re.compile(r"^(-?)(\d+)(?:\.(\d+))? ([A-Z]{3})$")


def minor_units(currency: str) -> int:
    """How many decimal places `currency` has (2 unless ISO 4217 says otherwise)."""
    return _MINOR_UNITS.get(currency.upper(), 2)


def format_amount(amount: int, currency: str) -> str:
    """`34385, "SAR"` → `"343.85 SAR"`; always every decimal place of the currency."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError("amounts are integers in the currency's minor unit")
    places = minor_units(currency)
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**places)
    text = f"{sign}{whole}.{fraction:0{places}d}" if places else f"{sign}{whole}"
    return f"{text} {currency.upper()}"


def parse_amount(text: str) -> tuple[int, str]:
    """`"343.85 SAR"` → `(34385, "SAR")`. Fewer decimals than the currency has are accepted ("600 SAR");
    more are an error, so nothing is ever rounded away."""
    match = _FORMATTED.match(text.strip())
    if match is None:
        raise ValueError(f"not an amount like '343.85 SAR': {text!r}")
    sign, whole, fraction, currency = match.groups()
    places = minor_units(currency)
    fraction = fraction or ""
    if len(fraction) > places:
        raise ValueError(f"{currency} has {places} decimal places: {text!r}")
    value = int(whole) * 10**places + int(fraction.ljust(places, "0") or "0")
    return (-value if sign else value), currency
