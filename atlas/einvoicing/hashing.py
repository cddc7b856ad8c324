"""The invoice hash ZATCA specifies, and the previous-invoice hash of a chain's first document.

The hash (KSA-13 of the next document, QR tag 6, the first ``ds:Reference``'s digest) is computed as ZATCA's
E-invoicing Detailed Technical Guideline and its SDK do:

1. remove ``ext:UBLExtensions``, ``cac:Signature`` and ``cac:AdditionalDocumentReference[cbc:ID='QR']`` — the three
   XPath transforms of the signature's first reference. Only the elements go; the whitespace around them stays, as an
   XPath filter leaves the text nodes that are not inside the removed elements;
2. canonicalise the rest with C14N 1.1 (``http://www.w3.org/2006/12/xml-c14n11``), without comments; the XML
   declaration goes with it;
3. SHA-256, then base64 of the 32 raw bytes.

lxml implements C14N 1.0 inclusive, not 1.1; for a whole document the two are the same: 1.1 differs only in how
``xml:id``/``xml:base``/``xml:lang`` attributes are inherited into a document *subset*, and the input here is the
whole document (after the removals, which take whole subtrees) and carries no ``xml:`` attributes.
"""

from __future__ import annotations

import base64
import copy
import hashlib
from typing import cast

from lxml import etree

from atlas.einvoicing import ubl

# The three parts the signature's first reference leaves out (its XPath transforms, as absolute paths).
EXCLUDED = (
    "/*/ext:UBLExtensions",
    "/*/cac:Signature",
    "/*/cac:AdditionalDocumentReference[cbc:ID='QR']",
)


def _first_pih() -> str:
    # ZATCA's samples and SDK start a chain with base64 of the *hex text* of SHA-256("0"), 88 characters
    # ("NWZlY2ViNjZm…"), not base64 of the raw digest: every later PIH is a raw-digest hash (44 characters).
    return base64.b64encode(hashlib.sha256(b"0").hexdigest().encode("ascii")).decode("ascii")


FIRST_PIH = _first_pih()


def remove_keeping_whitespace(element: etree._Element) -> None:
    """Remove an element but keep its tail (the whitespace after it), as an XPath node-set filter does."""
    parent = element.getparent()
    if parent is None:
        raise ValueError("cannot remove the root")
    tail = element.tail or ""
    previous = element.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + tail
    else:
        parent.text = (parent.text or "") + tail
    parent.remove(element)


def canonical_for_hash(document: etree._ElementTree | bytes) -> bytes:
    tree = ubl.parse(document) if isinstance(document, bytes) else copy.deepcopy(document)
    for path in EXCLUDED:
        for element in tree.xpath(path, namespaces=ubl.NAMESPACES):
            remove_keeping_whitespace(element)
    return cast(bytes, etree.tostring(tree, method="c14n", exclusive=False, with_comments=False))


def digest(document: etree._ElementTree | bytes) -> bytes:
    return hashlib.sha256(canonical_for_hash(document)).digest()


def invoice_hash(document: etree._ElementTree | bytes) -> str:
    """The document's hash, base64 (44 characters)."""
    return base64.b64encode(digest(document)).decode("ascii")
