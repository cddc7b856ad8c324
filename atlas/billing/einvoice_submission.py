"""Sending a unit's signed documents to ZATCA, in chain order, each exactly once (issue 20).

ZATCA (and the local gateway) checks each document's ICV and PIH against the unit's previous one, so a unit's
documents go **in ICV order**, one at a time. ``submit_pending`` takes the lowest pending document (``clearing`` or
``reporting``) under ``SELECT … FOR UPDATE`` in its own transaction, sends it, and records ZATCA's answer in that
same transaction:

- accepted → ``cleared`` (with ZATCA's stamped ``cleared_xml``) or ``reported``, ``done_at`` set;
- a **duplicate** answer (409/208: ZATCA has it already — the process stopped after ZATCA accepted it and before
  the commit) counts as accepted, so a retry after a crash reports each document exactly once;
- refused → ``refused`` with ZATCA's messages (kept, never dropped; a platform admin sees them), and the round goes
  on with the next document (ZATCA's chain counts a refused document too);
- an outage (timeout, connection error, 5xx: ``GatewayUnavailable``) or refused credentials (401) stops the round:
  the document stays pending, the rest wait behind it, order kept; the caller (the unit's Temporal workflow)
  retries with backoff.

Cross-tenant (a unit's chain spans every tenant): it runs in the database's ``system`` scope.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Final

import structlog
from sqlalchemy import func, select

from atlas.billing.models import EInvoice, EInvoicingUnit
from atlas.billing.zatca_gateway import GatewayAnswer, GatewayAuthRefused, GatewayUnavailable, ZatcaGateway
from atlas.config import Settings
from atlas.db.base import utcnow
from atlas.db.engine import Database
from atlas.platform.crypto import SecretBox

log = structlog.get_logger("atlas.billing.einvoice")

PENDING: Final = ("clearing", "reporting")


@dataclass
class SubmissionRound:
    """What one round did: documents sent, accepted (duplicates included), refused; what is still pending; and why
    it stopped early (``outage``: a message safe to show, or None when it ran out of documents)."""

    sent: int = 0
    accepted: int = 0
    duplicates: int = 0
    refused: int = 0
    pending: int = 0
    outage: str | None = None
    auth_refused: bool = False
    icvs: list[int] = field(default_factory=list)


def _credentials(unit: EInvoicingUnit, box: SecretBox) -> tuple[str, str]:
    if unit.production_token_encrypted is None or unit.production_secret_encrypted is None:
        raise RuntimeError(f"invoicing unit {unit.id} has no production CSID")
    return box.decrypt(unit.production_token_encrypted), box.decrypt(unit.production_secret_encrypted)


def _record(document: EInvoice, answer: GatewayAnswer) -> str:
    """Put ZATCA's answer on the document; returns what became of it."""
    messages: dict[str, Any] = {**(document.messages or {}), **answer.messages}
    if answer.duplicate:
        messages["duplicate"] = True
    document.messages = messages
    if not answer.accepted:
        document.status = "refused"
        return "refused"
    document.done_at = utcnow()
    if document.status == "clearing":
        document.status = "cleared"
        if answer.cleared_xml is not None:
            document.cleared_xml = answer.cleared_xml.decode("utf-8")
        return "cleared"
    document.status = "reported"
    return "reported"


async def _send(gateway: ZatcaGateway, auth: tuple[str, str], document: EInvoice) -> GatewayAnswer:
    xml = document.xml.encode("utf-8")
    uuid_text = str(document.document_uuid)
    if document.status == "clearing":
        return await gateway.clear(auth, document.invoice_hash, uuid_text, xml)
    return await gateway.report(auth, document.invoice_hash, uuid_text, xml)


async def pending_count(database: Database, unit_id: uuid.UUID) -> int:
    async with database.system_session() as session:
        return int(
            await session.scalar(select(func.count()).where(EInvoice.unit_id == unit_id, EInvoice.status.in_(PENDING)))
            or 0
        )


async def submit_pending(
    session_factory: Database,
    settings: Settings,
    box: SecretBox,
    gateway: ZatcaGateway,
    unit_id: uuid.UUID,
    *,
    limit: int | None = None,
) -> SubmissionRound:
    """Send the unit's pending documents in ICV order until none is left, an outage, or ``limit`` documents."""
    del settings  # the gateway carries the URL and environment; kept for the callers' symmetry with issuing
    result = SubmissionRound()
    async with session_factory.system_session() as session:
        unit = await session.get(EInvoicingUnit, unit_id)
        if unit is None:
            raise LookupError(f"no invoicing unit {unit_id}")
        auth = _credentials(unit, box)
    while limit is None or result.sent < limit:
        async with session_factory.system_session() as session:
            statement = (
                select(EInvoice)
                .where(EInvoice.unit_id == unit_id, EInvoice.status.in_(PENDING))
                .order_by(EInvoice.icv)
                .limit(1)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            document = (await session.execute(statement)).scalar_one_or_none()
            if document is None:
                break
            # the unit's credentials as they are now: a renewal may have replaced them since the round began, and
            # a document issued after it is signed with the new certificate (the renewal sends the older ones first)
            current = await session.get(EInvoicingUnit, unit_id, populate_existing=True)
            if current is not None and current.production_token_encrypted is not None:
                auth = _credentials(current, box)
            document.attempts += 1
            document.last_attempt_at = utcnow()
            try:
                answer = await _send(gateway, auth, document)
            except GatewayUnavailable as exc:
                result.outage = exc.message
            except GatewayAuthRefused as exc:
                result.outage, result.auth_refused = exc.message, True
            if result.outage is not None:
                log.warning("einvoice_submission_stopped", unit_id=str(unit_id), icv=document.icv, reason=result.outage)
                break  # the attempt is recorded (the block commits); the rest wait behind this one
            result.sent += 1
            result.icvs.append(document.icv)
            outcome = _record(document, answer)
            if outcome == "refused":
                result.refused += 1
                log.error(
                    "einvoice_refused",
                    unit_id=str(unit_id),
                    icv=document.icv,
                    einvoice_id=str(document.id),
                    codes=list(answer.error_codes),
                )
            else:
                result.accepted += 1
                result.duplicates += int(answer.duplicate)
                log.info("einvoice_accepted", unit_id=str(unit_id), icv=document.icv, outcome=outcome)
    result.pending = await pending_count(session_factory, unit_id)
    return result
