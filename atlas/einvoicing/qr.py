"""ZATCA's QR payload: base64 of TLV fields (one-byte tag, one-byte length, value), tags 1–9.

Tags 1–5 are UTF-8 text (seller name, VAT number, timestamp, total with VAT, VAT total). In ZATCA's SDK output
tags 6 (the invoice hash) and 7 (the ECDSA signature) carry the *base64 text* of those values, while tags 8 (the
public key, DER SubjectPublicKeyInfo) and 9 (the ZATCA CA's signature over the certificate, DER) are raw bytes; tag 9
appears on simplified documents only. The payload may not exceed 700 characters (ZATCA's QR specification).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

MAX_CHARACTERS = 700
TEXT_TAGS = frozenset({1, 2, 3, 4, 5, 6, 7})
BINARY_TAGS = frozenset({8, 9})


class QrError(ValueError):
    """A QR payload that cannot be written or read."""


def tlv(tag: int, value: bytes) -> bytes:
    if not 1 <= tag <= 255:
        raise QrError("a TLV tag is one byte")
    if len(value) > 255:
        raise QrError(f"TLV tag {tag} is {len(value)} bytes; a field holds at most 255")
    return bytes([tag, len(value)]) + value


def encode_fields(fields: list[tuple[int, bytes]]) -> str:
    return base64.b64encode(b"".join(tlv(tag, value) for tag, value in fields)).decode("ascii")


def decode_fields(payload: str) -> dict[int, bytes]:
    """Every tag of a payload, as bytes; refuses truncated or repeated fields."""
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as error:
        raise QrError("the QR payload is not base64") from error
    fields: dict[int, bytes] = {}
    index = 0
    while index < len(raw):
        if index + 2 > len(raw):
            raise QrError("the QR payload ends inside a field header")
        tag, length = raw[index], raw[index + 1]
        value = raw[index + 2 : index + 2 + length]
        if len(value) != length:
            raise QrError(f"QR field {tag} is truncated")
        if tag in fields:
            raise QrError(f"QR field {tag} appears twice")
        fields[tag] = value
        index += 2 + length
    return fields


@dataclass(frozen=True, slots=True)
class PhaseTwoQr:
    seller_name: str
    vat_number: str
    timestamp: str
    total: str
    vat_total: str
    invoice_hash: str
    signature: str
    public_key: bytes
    certificate_signature: bytes | None = None

    def encode(self) -> str:
        fields: list[tuple[int, bytes]] = [
            (1, self.seller_name.encode("utf-8")),
            (2, self.vat_number.encode("utf-8")),
            (3, self.timestamp.encode("utf-8")),
            (4, self.total.encode("utf-8")),
            (5, self.vat_total.encode("utf-8")),
            (6, self.invoice_hash.encode("ascii")),
            (7, self.signature.encode("ascii")),
            (8, self.public_key),
        ]
        if self.certificate_signature is not None:
            fields.append((9, self.certificate_signature))
        payload = encode_fields(fields)
        if len(payload) > MAX_CHARACTERS:
            raise QrError(f"the QR payload is {len(payload)} characters; ZATCA allows {MAX_CHARACTERS}")
        return payload


def decode(payload: str) -> PhaseTwoQr:
    """A Phase 2 payload back into its fields; tags 1–8 are required, 9 optional."""
    fields = decode_fields(payload)
    missing = sorted(set(range(1, 9)) - fields.keys())
    if missing:
        raise QrError(f"the QR payload lacks tags {missing}")
    unknown = sorted(fields.keys() - set(range(1, 10)))
    if unknown:
        raise QrError(f"the QR payload has unknown tags {unknown}")
    try:
        text = {tag: fields[tag].decode("utf-8") for tag in TEXT_TAGS}
    except UnicodeDecodeError as error:
        raise QrError("a text field of the QR payload is not UTF-8") from error
    return PhaseTwoQr(
        seller_name=text[1],
        vat_number=text[2],
        timestamp=text[3],
        total=text[4],
        vat_total=text[5],
        invoice_hash=text[6],
        signature=text[7],
        public_key=fields[8],
        certificate_signature=fields.get(9),
    )
