"""Money in Moyasar's formats: integer minor units and "343.85 SAR" strings, never a float in between."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atlas.billing.moyasar_fake.money import format_amount, minor_units, parse_amount

CURRENCIES = st.sampled_from(["SAR", "USD", "EUR", "KWD", "BHD", "JPY"])


def test_known_answers():
    assert format_amount(34385, "SAR") == "343.85 SAR"
    assert format_amount(60000, "SAR") == "600.00 SAR"
    assert format_amount(5, "SAR") == "0.05 SAR"
    assert format_amount(1500, "KWD") == "1.500 KWD"
    assert format_amount(500, "JPY") == "500 JPY"
    assert format_amount(-2500, "SAR") == "-25.00 SAR"
    assert parse_amount("600 SAR") == (60000, "SAR")
    assert parse_amount("15.8 SAR") == (1580, "SAR")


@given(amount=st.integers(min_value=-(10**15), max_value=10**15), currency=CURRENCIES)
def test_format_then_parse_is_the_identity(amount, currency):
    text = format_amount(amount, currency)
    assert parse_amount(text) == (amount, currency)
    decimals = text.split(" ")[0].partition(".")[2]
    assert len(decimals) == minor_units(currency)


@given(whole=st.integers(min_value=0, max_value=10**9), fraction=st.text("0123456789", min_size=3, max_size=6))
def test_more_decimals_than_the_currency_has_are_refused_not_rounded(whole, fraction):
    with pytest.raises(ValueError):
        parse_amount(f"{whole}.{fraction} SAR")


def test_non_amounts_are_refused():
    for bad in ("343,85 SAR", "SAR 343.85", "1e3 SAR", "343.85", "", "12.5 sar"):
        with pytest.raises(ValueError):
            parse_amount(bad)
    with pytest.raises(TypeError):
        format_amount(343.85, "SAR")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        format_amount(True, "SAR")
