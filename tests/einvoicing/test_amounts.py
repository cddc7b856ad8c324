"""Amounts in halalas: ZATCA's rounding, and totals that always agree (Hypothesis), in the model and in the XML."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from atlas.einvoicing import FIRST_PIH, DocumentError, Line, VatCategory, sar, totals
from atlas.einvoicing.amounts import vat_of
from atlas.einvoicing.ubl import build, serialize
from tests.einvoicing import verifier
from tests.einvoicing.factory import document


@pytest.mark.parametrize(
    ("net", "vat"),
    [(0, 0), (1, 0), (3, 0), (4, 1), (10, 2), (100, 15), (3_333, 500), (9_999, 1_500), (49_900, 7_485)],
)
def test_vat_rounds_half_up_to_the_halala(net, vat):
    assert vat_of(net, 15) == vat
    assert Decimal(vat) == (Decimal(net) * Decimal("0.15")).quantize(Decimal(1), rounding=ROUND_HALF_UP)


def test_sar_writes_two_decimals():
    assert [sar(0), sar(5), sar(100), sar(123_456)] == ["0.00", "0.05", "1.00", "1234.56"]
    with pytest.raises(DocumentError):
        sar(-1)


def test_vat_is_rounded_once_per_category_not_summed_from_lines():
    # three lines of 0.03 SAR: each line's VAT rounds to 0.00, the category's 0.09 × 15% = 0.0135 → 0.01.
    result = totals([Line(name="x", quantity=1, unit_price=3)] * 3)
    assert [line.vat for line in result.lines] == [0, 0, 0]
    assert result.tax == 1
    assert result.tax_inclusive == 10


def test_categories_are_kept_apart():
    result = totals(
        [
            Line(name="subscription", quantity=2, unit_price=10_000),
            Line(
                name="export service",
                quantity=1,
                unit_price=5_000,
                category=VatCategory.ZERO_RATED,
                exemption_code="VATEX-SA-32",
                exemption_reason="Export of services",
            ),
        ]
    )
    assert [(s.category, s.taxable, s.tax) for s in result.subtotals] == [
        (VatCategory.STANDARD, 20_000, 3_000),
        (VatCategory.ZERO_RATED, 5_000, 0),
    ]
    assert (result.line_extension, result.tax, result.payable) == (25_000, 3_000, 28_000)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"quantity": -1}, "quantity must be positive"),
        ({"quantity": 0}, "quantity must be positive"),
        ({"unit_price": -5}, "unit price must not be negative"),
        ({"category": VatCategory.EXEMPT}, "exemption code and reason"),
        ({"name": "  "}, "line name is empty"),
    ],
)
def test_bad_lines_are_refused_with_a_clear_error(fields, message):
    with pytest.raises(DocumentError, match=message):
        Line(**{"name": "x", "quantity": 1, "unit_price": 100, **fields})


def test_no_lines_is_refused():
    with pytest.raises(DocumentError, match="at least one line"):
        totals([])
    with pytest.raises(DocumentError, match="at least one line"):
        document(pih=FIRST_PIH, lines=())


lines = st.lists(
    st.builds(
        lambda quantity, price, zero: Line(
            name="line",
            quantity=quantity,
            unit_price=price,
            category=VatCategory.ZERO_RATED if zero else VatCategory.STANDARD,
            exemption_code="VATEX-SA-32" if zero else None,
            exemption_reason="Export" if zero else None,
        ),
        st.integers(min_value=1, max_value=10_000),
        st.integers(min_value=0, max_value=10_000_000),
        st.booleans(),
    ),
    min_size=1,
    max_size=12,
)


@given(lines)
def test_totals_always_agree(generated):
    result = totals(generated)
    assert result.line_extension == sum(line.quantity * line.unit_price for line in generated)
    assert result.tax == sum(subtotal.tax for subtotal in result.subtotals)
    assert sum(subtotal.taxable for subtotal in result.subtotals) == result.line_extension
    assert result.tax_inclusive == result.tax_exclusive + result.tax == result.payable
    # rounding per line and per category differ by at most half a halala per line
    assert abs(sum(line.vat for line in result.lines) - result.tax) * 2 <= len(generated) + 1
    exact = sum(Decimal(s.taxable) * s.percent / 100 for s in result.subtotals)
    assert abs(Decimal(result.tax) - exact) <= Decimal(len(result.subtotals)) / 2


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(lines)
def test_the_xml_totals_always_agree(generated):
    xml = serialize(build(document(pih=FIRST_PIH, lines=tuple(generated))))
    assert verifier.check_totals(etree.fromstring(xml)) == []
