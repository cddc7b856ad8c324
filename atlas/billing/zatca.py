"""ZATCA phase-1 (generation phase) QR code: base64 of TLV tags 1-5, drawn as an SVG with segno.

Tag 1 seller name, 2 seller VAT number, 3 invoice timestamp (ISO 8601), 4 invoice total with VAT,
5 VAT total. Each tag is one byte, its length one byte (the UTF-8 byte length), then the UTF-8 value.
"""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime

import segno

from atlas.billing.money import sar
from atlas.einvoicing import qr


def tlv(tag: int, value: str) -> bytes:
    """One text field (the TLV encoding itself is the e-invoicing library's, shared with the Phase 2 QR)."""
    return qr.tlv(tag, value.encode("utf-8"))


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def phase1_payload(*, seller_name: str, seller_vat_number: str, issued_at: datetime, total: int, vat: int) -> str:
    """The QR payload: base64 of the five TLV fields (amounts in halalas, written as SAR)."""
    raw = b"".join(
        (
            tlv(1, seller_name),
            tlv(2, seller_vat_number),
            tlv(3, timestamp(issued_at)),
            tlv(4, sar(total)),
            tlv(5, sar(vat)),
        )
    )
    return base64.b64encode(raw).decode("ascii")


def decode(payload: str) -> dict[int, str]:
    """The tags of a payload (for checks and tests)."""
    return {tag: value.decode("utf-8") for tag, value in qr.decode_fields(payload).items()}


def qr_svg(payload: str) -> str:
    """The QR code as an inline SVG (error correction M, as ZATCA's samples use)."""
    out = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(out, kind="svg", scale=4, border=2, xmldecl=False, svgns=True)
    return out.getvalue().decode("utf-8")
