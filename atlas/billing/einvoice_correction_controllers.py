"""A platform admin corrects a document ZATCA refused (issue 20): `POST /api/platform/einvoices/{id}/correction`.

Platform admins only (the permission of the platform billing page's e-invoicing actions). One system transaction
(`einvoice_corrections.correct_refused`): a replacement invoice with the tenant's current billing details and its
signed document, next in the chain; the refused document marked superseded; audited in the tenant's trail with the
admin's note. Problem details: 404 (no such document), 409 (already corrected, not refused, no active unit).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from atlas.billing.einvoice_corrections import NOTE_MAX, clean_note, correct_refused
from atlas.billing.invoices import display_number
from atlas.config import Settings
from atlas.db.engine import Database
from atlas.platform.platform_admin import as_platform_admin
from atlas.platform.principal import Principal
from atlas.platform.rbac import Permission


class CorrectionInput(msgspec.Struct, forbid_unknown_fields=True):
    # the admin's words, kept in the tenant's audit trail
    note: Annotated[str, msgspec.Meta(max_length=NOTE_MAX)] | None = None


class CorrectionRead(msgspec.Struct):
    invoice_id: uuid.UUID
    number: str
    replaces_invoice_id: uuid.UUID
    replaces_number: str
    einvoice_id: uuid.UUID
    icv: int
    document_status: str
    transaction: str


class EInvoiceCorrectionController(Controller):
    path = "/api/platform/einvoices"
    tags = ["platform"]

    @post("/{einvoice_id:uuid}/correction", opt={"permission": Permission.PLATFORM_TENANTS}, status_code=201)
    async def correct(
        self,
        request: Request[Any, Any, Any],
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
        settings: NamedDependency[Settings],
        einvoice_id: FromPath[uuid.UUID],
        data: CorrectionInput | None = None,
    ) -> CorrectionRead:
        """Correct and re-issue a document ZATCA refused: a new invoice number replaces it, made out with the
        tenant's current billing details, and its document goes to ZATCA next in the chain."""
        actor = as_platform_admin(principal.actor)
        async with database.system_session() as session:
            done = await correct_refused(
                session,
                settings,
                request.app.state.secret_box,
                einvoice_id=einvoice_id,
                note=clean_note(data.note if data else None),
                actor=actor,
                correlation_id=correlation_id,
            )
            return CorrectionRead(
                invoice_id=done.invoice.id,
                number=display_number(done.invoice.number),
                replaces_invoice_id=done.replaced.id,
                replaces_number=display_number(done.replaced.number),
                einvoice_id=done.document.id,
                icv=done.document.icv,
                document_status=done.document.status,
                transaction="standard" if done.document.transaction == "0100000" else "simplified",
            )


CONTROLLERS = [EInvoiceCorrectionController]
