"""The form of a party on a ZATCA tax invoice: VAT number, commercial registration number (CRN) and national address.

Pure checks on strings, shared by the settings (the seller: ``atlas.config`` refuses to start on a bad one) and by
the billing profile (the buyer: ``atlas.billing.services`` words each problem as a 422 naming the field). They live
below both, like ``atlas.moyasar_keys``, so validating the settings never imports billing.

A standard (B2B) tax invoice names the VAT-registered buyer's address (``zatca.md``); a Saudi national address has
a 4-digit building number, an optional 4-digit additional number and a 5-digit postal code. People type these with
Arabic-Indic digits (٣١٠…) or in groups with spaces, so digits are normalised before they are checked.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

__all__ = [
    "ADDRESS_FIELDS",
    "REQUIRED_WITH_VAT",
    "TEXT_LIMITS",
    "Problem",
    "address_problems",
    "compact_digits",
    "country_codes",
    "crn_ok",
    "has_arabic_letters",
    "vat_number_ok",
]

SAUDI_ARABIA: Final = "SA"
# Every address field, in the order a form shows them.
ADDRESS_FIELDS: Final = ("street", "building_number", "additional_number", "district", "city", "postal_code", "country")
# What a standard invoice needs of a VAT-registered buyer's address (the additional number is optional).
REQUIRED_WITH_VAT: Final = ("street", "building_number", "district", "city", "postal_code", "country")
# The longest each free-text field may be (the columns' lengths).
TEXT_LIMITS: Final = {"street": 200, "district": 100, "city": 100}
# A foreign address's building number and postal code follow no one form; they are bounded only.
FOREIGN_CODE_MAX: Final = 16

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_VAT = re.compile(r"3\d{13}3")
_CRN = re.compile(r"\d{10}")
_FOREIGN_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 \-]*")
# Babel's territories include groupings, reserved and private-use codes that are not ISO 3166-1 countries.
_NOT_COUNTRIES: Final = frozenset(
    {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "XK", "ZZ"}
)


@dataclass(frozen=True)
class Problem:
    """What is wrong with one field: ``required`` (missing with a VAT number), ``form`` (not its pattern) or
    ``too_long``."""

    field: str
    kind: str


def compact_digits(value: str) -> str:
    """``value`` with Arabic-Indic and Persian digits as ASCII ones, and no space or invisible format character
    (``٣١٠ ١٢٢`` → ``310122``)."""
    return "".join(ch for ch in value.translate(_DIGITS) if not ch.isspace() and unicodedata.category(ch) != "Cf")


def has_arabic_letters(value: str) -> bool:
    """Whether ``value`` has at least one Arabic letter (digits and punctuation do not count)."""
    return any(ch.isalpha() and unicodedata.name(ch, "").startswith("ARABIC") for ch in value)


def vat_number_ok(value: str) -> bool:
    """A Saudi VAT number: 15 digits, starting and ending with 3 (already compacted)."""
    return _VAT.fullmatch(value) is not None


def crn_ok(value: str) -> bool:
    """A commercial registration number: 10 digits (already compacted)."""
    return _CRN.fullmatch(value) is not None


@lru_cache(maxsize=1)
def country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes, from CLDR's territory list (Babel)."""
    from babel import Locale

    codes = {code for code in Locale("en").territories if isinstance(code, str) and len(code) == 2 and code.isalpha()}
    return frozenset(codes - _NOT_COUNTRIES)


def _code_ok(value: str, saudi_digits: int, country: str) -> bool:
    if country == SAUDI_ARABIA:
        return len(value) == saudi_digits and value.isascii() and value.isdigit()
    return len(value) <= FOREIGN_CODE_MAX and _FOREIGN_CODE.fullmatch(value) is not None


def address_problems(address: Mapping[str, str | None], *, vat_registered: bool) -> list[Problem]:
    """Every problem of an address whose values are already trimmed (codes compacted, ``None`` when empty), in
    ``ADDRESS_FIELDS`` order. With a VAT number the fields a standard invoice needs are required; a Saudi
    address's codes are digits of a fixed length."""
    problems: list[Problem] = []
    country = address.get("country") or SAUDI_ARABIA
    for field in ADDRESS_FIELDS:
        value = address.get(field)
        if not value:
            if vat_registered and field in REQUIRED_WITH_VAT:
                problems.append(Problem(field, "required"))
            continue
        if field in TEXT_LIMITS:
            if len(value) > TEXT_LIMITS[field]:
                problems.append(Problem(field, "too_long"))
        elif field == "country":
            if value not in country_codes():
                problems.append(Problem(field, "form"))
        elif field == "building_number" or field == "additional_number":
            if not _code_ok(value, 4, country):
                problems.append(Problem(field, "form"))
        elif field == "postal_code" and not _code_ok(value, 5, country):
            problems.append(Problem(field, "form"))
    return problems
