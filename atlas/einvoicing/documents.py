"""Typed, frozen descriptions of a ZATCA document (invoice, credit note, debit note), checked when built.

Money is in integer halalas everywhere: the XML's two-decimal SAR amounts are derived from them in one place
(``amounts.sar``), so the database, the XML, the QR and the PDF cannot drift apart by a rounding. The checks here are
the ones ZATCA's business rules make on the parties and the document's shape (BR-KSA-*), so a document that passes
cannot be refused for them; the amounts' rules are ``amounts.py``'s.
"""

from __future__ import annotations

import enum
import re
from datetime import date, datetime
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec

RIYADH = ZoneInfo("Asia/Riyadh")
# A sanity bound, not a rule of ZATCA's: a line of a hundred billion riyals is a bug upstream.
MAX_HALALAS = 10**13
MAX_QUANTITY = 10**9


class DocumentError(ValueError):
    """A document that ZATCA's rules would refuse; the message names the field and the rule."""


class DocumentKind(enum.Enum):
    """The UNTDID 1001 code ZATCA uses in ``cbc:InvoiceTypeCode``."""

    INVOICE = "388"
    CREDIT_NOTE = "381"
    DEBIT_NOTE = "383"


class Transaction(enum.Enum):
    """The ``name`` attribute of ``cbc:InvoiceTypeCode`` (KSA-2): standard (B2B, cleared) or simplified (reported).
    The five trailing flags (third party, nominal, export, summary, self-billed) are all 0 for Atlas."""

    STANDARD = "0100000"
    SIMPLIFIED = "0200000"


class VatCategory(enum.Enum):
    """UNCL 5305 categories ZATCA accepts; Atlas's subscriptions are ``S`` (15%)."""

    STANDARD = "S"
    ZERO_RATED = "Z"
    EXEMPT = "E"


VAT_PERCENT: dict[VatCategory, int] = {VatCategory.STANDARD: 15, VatCategory.ZERO_RATED: 0, VatCategory.EXEMPT: 0}

# The other-seller-id schemes ZATCA lists for BT-29 (BR-KSA-08): commercial registration, MOMRAH, MHRSD, 700 number,
# MISA, other.
SELLER_ID_SCHEMES = frozenset({"CRN", "MOM", "MLS", "700", "SAG", "OTH"})
# BT-46 schemes for the buyer (BR-KSA-14): national id, GCC id, iqama, passport, and the seller's list.
BUYER_ID_SCHEMES = SELLER_ID_SCHEMES | frozenset({"TIN", "NAT", "GCC", "IQA", "PAS"})
# UNTDID 4461 payment means ZATCA's samples use: cash, credit, bank account (transfer), bank card, debit transfer.
PAYMENT_MEANS = frozenset({"10", "30", "42", "48", "1", "31", "49", "57", "58", "59", "68", "97"})

_VAT = re.compile(r"3\d{13}3")
_BUILDING = re.compile(r"\d{4}")
_POSTAL = re.compile(r"\d{5}")
_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _text(value: str, field: str) -> None:
    if not value.strip():
        raise DocumentError(f"{field} is empty")
    if _UNSAFE.search(value):
        raise DocumentError(f"{field} has a control character XML cannot carry")


def check_vat_number(value: str, field: str = "VAT number") -> None:
    """15 digits, first and last 3 (BR-KSA-39/40)."""
    if not _VAT.fullmatch(value):
        raise DocumentError(f"{field} must be 15 digits starting and ending with 3, got {value!r}")


class Address(msgspec.Struct, frozen=True, kw_only=True):
    """A Saudi national address (BR-KSA-09 for the seller, BR-KSA-63 for a standard invoice's buyer)."""

    street: str
    building_number: str
    district: str
    city: str
    postal_code: str
    additional_number: str | None = None
    country: str = "SA"

    def __post_init__(self) -> None:
        for field in ("street", "district", "city"):
            _text(getattr(self, field), f"address {field}")
        if self.country != "SA":
            raise DocumentError("Atlas issues documents with Saudi addresses only (country SA)")
        if not _BUILDING.fullmatch(self.building_number):
            raise DocumentError(f"building number must be 4 digits (BR-KSA-37), got {self.building_number!r}")
        if not _POSTAL.fullmatch(self.postal_code):
            raise DocumentError(f"postal code must be 5 digits (BR-KSA-66), got {self.postal_code!r}")
        if self.additional_number is not None and not _BUILDING.fullmatch(self.additional_number):
            raise DocumentError(f"additional number must be 4 digits, got {self.additional_number!r}")


class Seller(msgspec.Struct, frozen=True, kw_only=True):
    legal_name: str
    vat_number: str
    id_value: str
    address: Address
    id_scheme: str = "CRN"

    def __post_init__(self) -> None:
        _text(self.legal_name, "seller legal name")
        check_vat_number(self.vat_number, "seller VAT number")
        if self.id_scheme not in SELLER_ID_SCHEMES:
            raise DocumentError(f"seller id scheme must be one of {sorted(SELLER_ID_SCHEMES)} (BR-KSA-08)")
        if not self.id_value.isalnum():
            raise DocumentError("seller id must be letters and digits only (BR-KSA-08)")


class Buyer(msgspec.Struct, frozen=True, kw_only=True):
    """The buyer: a name, and for a standard invoice its VAT number and address."""

    name: str
    vat_number: str | None = None
    address: Address | None = None
    id_scheme: str | None = None
    id_value: str | None = None

    def __post_init__(self) -> None:
        _text(self.name, "buyer name")
        if self.vat_number is not None:
            check_vat_number(self.vat_number, "buyer VAT number")
        if (self.id_scheme is None) != (self.id_value is None):
            raise DocumentError("buyer id scheme and id value go together")
        if self.id_scheme is not None and self.id_scheme not in BUYER_ID_SCHEMES:
            raise DocumentError(f"buyer id scheme must be one of {sorted(BUYER_ID_SCHEMES)} (BR-KSA-14)")


class Line(msgspec.Struct, frozen=True, kw_only=True):
    """One invoice line: a whole quantity at a unit price in halalas, excluding VAT."""

    name: str
    quantity: int
    unit_price: int
    category: VatCategory = VatCategory.STANDARD
    # Required for zero-rated and exempt lines (BR-KSA-69): a VATEX-SA-* code and its text.
    exemption_code: str | None = None
    exemption_reason: str | None = None
    unit_code: str = "PCE"

    def __post_init__(self) -> None:
        _text(self.name, "line name")
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int):
            raise DocumentError("line quantity must be a whole number")
        if self.quantity <= 0:
            raise DocumentError(
                f"line quantity must be positive, got {self.quantity} (a credit note carries positives)"
            )
        if self.quantity > MAX_QUANTITY:
            raise DocumentError(f"line quantity {self.quantity} is beyond {MAX_QUANTITY}")
        if isinstance(self.unit_price, bool) or not isinstance(self.unit_price, int):
            raise DocumentError("line unit price must be whole halalas")
        if self.unit_price < 0:
            raise DocumentError(f"line unit price must not be negative, got {self.unit_price}")
        if self.unit_price * self.quantity > MAX_HALALAS:
            raise DocumentError("line amount is beyond the sanity bound")
        needs_reason = self.category is not VatCategory.STANDARD
        if needs_reason and not (self.exemption_code and self.exemption_reason):
            raise DocumentError(f"a {self.category.value} line needs an exemption code and reason (BR-KSA-69)")
        if not needs_reason and (self.exemption_code or self.exemption_reason):
            raise DocumentError("a standard-rated line has no exemption reason")
        if self.exemption_code is not None and not self.exemption_code.startswith("VATEX-SA-"):
            raise DocumentError("exemption codes are VATEX-SA-* (BR-KSA-CL-04)")


class Document(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a signed ZATCA document says, before it is written as UBL.

    ``issued_at`` is an aware moment; the XML shows it on the Asia/Riyadh wall clock, as ZATCA's samples do.
    ``icv`` is the invoicing unit's counter (KSA-16) and ``pih`` the previous document's hash (KSA-13), base64.
    """

    kind: DocumentKind
    transaction: Transaction
    number: str
    uuid: UUID
    issued_at: datetime
    icv: int
    pih: str
    seller: Seller
    buyer: Buyer
    lines: tuple[Line, ...]
    payment_means_code: str = "10"
    billing_reference: str | None = None
    instruction_note: str | None = None
    supply_date: date | None = None
    supply_end_date: date | None = None
    currency: str = "SAR"

    def __post_init__(self) -> None:
        _text(self.number, "document number")
        if self.issued_at.tzinfo is None or self.issued_at.utcoffset() is None:
            raise DocumentError("issued_at must be an aware datetime")
        if isinstance(self.icv, bool) or self.icv < 1:
            raise DocumentError(f"ICV must be a positive integer (BR-KSA-33), got {self.icv}")
        if not re.fullmatch(r"[A-Za-z0-9+/]{43}=|[A-Za-z0-9+/]{86}==", self.pih):
            raise DocumentError("PIH must be a base64 SHA-256 (the previous document's hash) (BR-KSA-61)")
        if not self.lines:
            raise DocumentError("a document needs at least one line (BR-16)")
        if self.currency != "SAR":
            raise DocumentError("Atlas invoices in SAR only")
        if self.payment_means_code not in PAYMENT_MEANS:
            raise DocumentError(f"payment means code {self.payment_means_code!r} is not one ZATCA accepts")
        note = self.kind is not DocumentKind.INVOICE
        if note:
            if not self.billing_reference or not self.billing_reference.strip():
                raise DocumentError("a credit or debit note names the original invoice (BR-KSA-56)")
            if not self.instruction_note or not self.instruction_note.strip():
                raise DocumentError("a credit or debit note gives its reason (BR-KSA-17)")
        elif self.billing_reference is not None or self.instruction_note is not None:
            raise DocumentError("an invoice has no billing reference or instruction note")
        if self.transaction is Transaction.STANDARD:
            if self.buyer.vat_number is None:
                raise DocumentError("a standard invoice names the buyer's VAT number (BR-KSA-44)")
            if self.buyer.address is None:
                raise DocumentError("a standard invoice gives the buyer's address (BR-KSA-10)")
            if self.kind is DocumentKind.INVOICE and self.supply_date is None:
                raise DocumentError("a standard invoice gives the supply date (BR-KSA-15)")
        if self.supply_end_date is not None:
            if self.supply_date is None:
                raise DocumentError("a supply end date needs a supply date (BR-KSA-35)")
            if self.supply_end_date < self.supply_date:
                raise DocumentError("the supply end date is before the supply date (BR-KSA-36)")

    @property
    def local_issued_at(self) -> datetime:
        return self.issued_at.astimezone(RIYADH)

    @property
    def issue_date(self) -> str:
        return self.local_issued_at.strftime("%Y-%m-%d")

    @property
    def issue_time(self) -> str:
        return self.local_issued_at.strftime("%H:%M:%S")

    @property
    def simplified(self) -> bool:
        return self.transaction is Transaction.SIMPLIFIED
