"""ZATCA Phase 2 documents: UBL 2.1 XML, the invoice hash, the XAdES signature, the QR (tags 1–9) and the CSR.

A pure library (no database, no HTTP; standard library, lxml, cryptography, msgspec), layer 0. docs/einvoicing.md
describes the algorithm step by step, with its sources.
"""

from atlas.einvoicing.amounts import Totals, sar, totals
from atlas.einvoicing.documents import (
    Address,
    Buyer,
    Document,
    DocumentError,
    DocumentKind,
    Line,
    Seller,
    Transaction,
    VatCategory,
)
from atlas.einvoicing.hashing import FIRST_PIH, invoice_hash
from atlas.einvoicing.signing import SignedDocument, SigningError, SigningIdentity, sign

__all__ = [
    "FIRST_PIH",
    "Address",
    "Buyer",
    "Document",
    "DocumentError",
    "DocumentKind",
    "Line",
    "Seller",
    "SignedDocument",
    "SigningError",
    "SigningIdentity",
    "Totals",
    "Transaction",
    "VatCategory",
    "invoice_hash",
    "sar",
    "sign",
    "totals",
]
