"""The invoice hash against a canonical form written out by hand, and the chain's first PIH."""

from __future__ import annotations

import base64
import hashlib

import pytest

from atlas.einvoicing import FIRST_PIH, invoice_hash
from atlas.einvoicing.hashing import canonical_for_hash

HEAD = (
    '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" '
    'xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" '
    'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2" '
    'xmlns:ext="urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2">'
)
DOCUMENT = (
    '<?xml version="1.0" encoding="UTF-8"?>\n' + HEAD + "\n"
    "    <ext:UBLExtensions><ext:UBLExtension/></ext:UBLExtensions>\n"
    "    <cbc:ProfileID>reporting:1.0</cbc:ProfileID>\n"
    "    <cac:AdditionalDocumentReference>\n        <cbc:ID>PIH</cbc:ID>\n    </cac:AdditionalDocumentReference>\n"
    "    <cac:AdditionalDocumentReference>\n        <cbc:ID>QR</cbc:ID>\n    </cac:AdditionalDocumentReference>\n"
    "    <cac:Signature><cbc:ID>x</cbc:ID></cac:Signature>\n"
    '    <cbc:Note languageID="ar" >شكراً &amp; مع السلامة</cbc:Note>\n'
    "    <cbc:Empty/>\n"
    "</Invoice>"
)
# C14N by hand: no declaration; the removed elements' surrounding whitespace kept; attributes normalised; empty
# elements as start-end pairs; the entity stays escaped.
CANONICAL = (
    HEAD + "\n"
    "    \n"
    "    <cbc:ProfileID>reporting:1.0</cbc:ProfileID>\n"
    "    <cac:AdditionalDocumentReference>\n        <cbc:ID>PIH</cbc:ID>\n    </cac:AdditionalDocumentReference>\n"
    "    \n"
    "    \n"
    '    <cbc:Note languageID="ar">شكراً &amp; مع السلامة</cbc:Note>\n'
    "    <cbc:Empty></cbc:Empty>\n"
    "</Invoice>"
)


def test_the_canonical_form_is_the_one_written_by_hand():
    assert canonical_for_hash(DOCUMENT.encode()).decode() == CANONICAL
    expected = base64.b64encode(hashlib.sha256(CANONICAL.encode()).digest()).decode()
    assert invoice_hash(DOCUMENT.encode()) == expected


def test_the_first_pih_is_base64_of_the_hex_sha256_of_zero():
    # the literal of ZATCA's SDK samples, the only 88-character PIH a chain ever carries
    assert FIRST_PIH == "NWZlY2ViNjZmZmM4NmYzOGQ5NTI3ODZjNmQ2OTZjNzljMmRiYzIzOWRkNGU5MWI0NjcyOWQ3M2EyN2ZiNTdlOQ=="
    assert base64.b64decode(FIRST_PIH).decode() == hashlib.sha256(b"0").hexdigest()


def test_a_doctype_is_refused_before_any_entity_is_read():
    hostile = (
        '<?xml version="1.0"?><!DOCTYPE Invoice [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        + HEAD
        + "<cbc:Note>&x;</cbc:Note></Invoice>"
    )
    with pytest.raises(ValueError, match="DOCTYPE"):
        canonical_for_hash(hostile.encode())
