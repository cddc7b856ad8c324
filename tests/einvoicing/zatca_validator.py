"""An independent ZATCA validator for the tests: `fatoora-rs` from the registry (Rust; its own UBL parser and the
UBL 2.1 XSDs, the CEN EN 16931 and KSA business rules of ZATCA's SDK 238-R3.4.8, the signature, QR and PIH
checks). It shares no code with Atlas and is used only in tests (pyproject's `test` extra)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from fatoora import api

# ZATCA's developer-portal and simulation certificates are test ones: the library checks the non-production chain
CONFIG = api.Config(api.Environment.NON_PRODUCTION)
# ZATCA checks "the issue date is not after the current date" (BR-KSA-04) on its own clock, in Saudi Arabia; Atlas
# writes IssueDate and IssueTime on Riyadh's clock (UTC+3, no daylight saving). The validator compares on the clock of
# the moment it is given (by default UTC's, which from 21:00 to 24:00 UTC would call every document dated tomorrow).
RIYADH = timezone(timedelta(hours=3))


def report(xml: bytes | str, previous_hash: str) -> dict[str, Any]:
    """The validator's report on one document whose predecessor's hash is ``previous_hash``."""
    text = xml.decode("utf-8") if isinstance(xml, bytes) else xml
    result: dict[str, Any] = api.validate_zatca_invoice_from_str(
        CONFIG, text, previous_invoice_hash=previous_hash, evaluated_at=datetime.now(RIYADH).isoformat()
    )
    return result


def findings(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [finding for stage in result["stages"] for finding in stage["findings"]]


def problems(xml: bytes | str, previous_hash: str) -> list[str]:
    """Every error or warning the validator finds (``code: message``), and any stage it could not finish; [] when
    the document passes every stage that applies to it (the XSD, CEN and KSA rules, the PIH; the signature and QR
    for a simplified document)."""
    result = report(xml, previous_hash)
    found = [f"{f['code']}: {f['message']}" for f in findings(result)]
    done = ("completed", "not_applicable")
    unfinished = [f"stage {s['stage']} {s['status']}" for s in result["stages"] if s["status"] not in done]
    if not result["is_complete"]:
        unfinished.append("report incomplete")
    if not result["is_valid"] and not found:
        unfinished.append("not valid")
    return found + unfinished


def stages(xml: bytes | str, previous_hash: str) -> dict[str, str]:
    return {s["stage"]: s["status"] for s in report(xml, previous_hash)["stages"]}
