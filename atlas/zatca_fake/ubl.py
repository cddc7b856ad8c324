"""Reading a ZATCA UBL 2.1 document: namespaces, the invoice hash, the QR code's TLV, and amounts.

The invoice hash (ZATCA's security standard): remove `ext:UBLExtensions`, the root's `cac:Signature` and the
`cac:AdditionalDocumentReference` whose ID is QR, keeping the text around them as an XSLT identity transform
does; canonicalise (C14N 1.1, http://www.w3.org/2006/12/xml-c14n11); SHA-256; base64 of the 32 bytes. lxml has
C14N 1.0; for a document without xml:id/xml:base/xml:lang inheritance the two produce the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Final

from lxml import etree

NS: Final = {
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "ext": "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2",
    "sig": "urn:oasis:names:specification:ubl:schema:xsd:CommonSignatureComponents-2",
    "sac": "urn:oasis:names:specification:ubl:schema:xsd:SignatureAggregateComponents-2",
    "sbc": "urn:oasis:names:specification:ubl:schema:xsd:SignatureBasicComponents-2",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "xades": "http://uri.etsi.org/01903/v1.3.2#",
}
# The first PIH of a chain: base64 of the hex SHA-256 of "0" (ZATCA's SDK and guidelines), not of the raw digest.
INITIAL_PIH: Final = base64.b64encode(hashlib.sha256(b"0").hexdigest().encode()).decode()
CENT: Final = Decimal("0.01")

_EXCLUDED: Final = (
    "ext:UBLExtensions",
    "cac:Signature",
    "cac:AdditionalDocumentReference[normalize-space(cbc:ID)='QR']",
)


def parse(data: bytes) -> etree._Element:
    """The document's root; raises `etree.XMLSyntaxError` if it is not well-formed. No DTDs, no network."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    return etree.fromstring(data, parser)


def _remove_keeping_text(element: etree._Element) -> None:
    """Remove `element` but keep its tail text, as an XSLT template that outputs nothing does."""
    parent = element.getparent()
    assert parent is not None
    tail = element.tail or ""
    previous = element.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + tail
    else:
        parent.text = (parent.text or "") + tail
    parent.remove(element)


def canonical_for_hash(root: etree._Element) -> bytes:
    """The bytes ZATCA hashes: the document without signature and QR, canonicalised."""
    copy = etree.fromstring(etree.tostring(root))
    for path in _EXCLUDED:
        for element in copy.xpath(path, namespaces=NS):
            _remove_keeping_text(element)
    return bytes(etree.tostring(copy, method="c14n", exclusive=False, with_comments=False))


def invoice_hash(root: etree._Element) -> bytes:
    return hashlib.sha256(canonical_for_hash(root)).digest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def text(root: etree._Element, path: str) -> str | None:
    found = root.xpath(path, namespaces=NS)
    if not found:
        return None
    first = found[0]
    value = first if isinstance(first, str) else first.text
    return None if value is None else str(value).strip()


def amount(root: etree._Element, path: str) -> Decimal | None:
    value = text(root, path)
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


def round2(value: Decimal) -> Decimal:
    """Two decimals, half away from zero: ZATCA's rounding of amounts."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def read_tlv(data: bytes) -> dict[int, bytes]:
    """The tags of a ZATCA QR (one-byte tag, one-byte length, value); raises ValueError if malformed."""
    tags: dict[int, bytes] = {}
    position = 0
    while position < len(data):
        if position + 2 > len(data):
            raise ValueError("truncated TLV")
        tag, length = data[position], data[position + 1]
        value = data[position + 2 : position + 2 + length]
        if len(value) != length:
            raise ValueError("truncated TLV value")
        if tag in tags:
            raise ValueError(f"tag {tag} repeated")
        tags[tag] = value
        position += 2 + length
    return tags


def write_tlv(tags: dict[int, bytes]) -> bytes:
    out = bytearray()
    for tag, value in sorted(tags.items()):
        if len(value) > 255:
            raise ValueError(f"tag {tag} is longer than 255 bytes")
        out += bytes([tag, len(value)]) + value
    return bytes(out)
