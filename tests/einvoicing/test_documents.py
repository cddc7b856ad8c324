"""What ZATCA's rules refuse is refused when the document is described, with the rule named."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from atlas.einvoicing import FIRST_PIH, Address, Buyer, Document, DocumentError, DocumentKind, Transaction
from tests.einvoicing.factory import CONSUMER_BUYER, SELLER, document


def test_a_document_round_trips_through_msgspec():
    original = document(DocumentKind.DEBIT_NOTE, Transaction.STANDARD, pih=FIRST_PIH)
    assert msgspec.json.decode(msgspec.json.encode(original), type=Document) == original


def test_decoding_runs_the_same_checks_and_names_the_field():
    raw = msgspec.to_builtins(document(pih=FIRST_PIH))
    raw["lines"][0]["quantity"] = -2
    with pytest.raises(msgspec.ValidationError, match=r"quantity must be positive.*at `\$\.lines\[0\]`"):
        msgspec.convert(raw, Document)


def test_issue_date_and_time_are_riyadh_wall_clock():
    late = msgspec.structs.replace(document(pih=FIRST_PIH), issued_at=dt.datetime(2026, 12, 7, 22, 30, tzinfo=dt.UTC))
    assert (late.issue_date, late.issue_time) == ("2026-12-08", "01:30:00")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"buyer": CONSUMER_BUYER}, "buyer's VAT number"),
        ({"buyer": Buyer(name="B", vat_number="300000000000003")}, "buyer's address"),
        ({"supply_date": None, "supply_end_date": None}, "supply date"),
        ({"supply_end_date": dt.date(2026, 11, 1)}, "before the supply date"),
        ({"icv": 0}, "ICV"),
        ({"pih": "abc"}, "PIH"),
        ({"issued_at": dt.datetime(2026, 12, 7, 12)}, "aware"),
        ({"payment_means_code": "99"}, "payment means"),
        ({"billing_reference": "X-1"}, "no billing reference"),
    ],
)
def test_a_standard_invoice_s_rules(change, message):
    base = document(DocumentKind.INVOICE, Transaction.STANDARD, pih=FIRST_PIH)
    with pytest.raises(DocumentError, match=message):
        msgspec.structs.replace(base, **change)


@pytest.mark.parametrize(
    ("change", "message"), [({"billing_reference": None}, "original invoice"), ({"instruction_note": " "}, "reason")]
)
def test_a_note_names_its_invoice_and_reason(change, message):
    base = document(DocumentKind.CREDIT_NOTE, Transaction.SIMPLIFIED, pih=FIRST_PIH)
    with pytest.raises(DocumentError, match=message):
        msgspec.structs.replace(base, **change)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"building_number": "123"}, "building number"),
        ({"postal_code": "1234"}, "postal code"),
        ({"country": "AE"}, "country SA"),
        ({"city": ""}, "city is empty"),
    ],
)
def test_a_saudi_national_address(change, message):
    with pytest.raises(DocumentError, match=message):
        msgspec.structs.replace(SELLER.address, **change)


@pytest.mark.parametrize("vat", ["31012239350000", "410122393500003", "310122393500004", "3101223935000O3"])
def test_vat_numbers_are_15_digits_from_3_to_3(vat):
    with pytest.raises(DocumentError, match="15 digits"):
        msgspec.structs.replace(SELLER, vat_number=vat)


def test_a_simplified_invoice_needs_no_buyer_details():
    assert document(pih=FIRST_PIH).buyer == CONSUMER_BUYER
    assert Address(street="s", building_number="1234", district="d", city="c", postal_code="12345").country == "SA"
