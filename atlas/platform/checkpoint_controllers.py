"""Audit checkpoints and the audit export: what a tenant admin downloads to verify its trail offline."""

from __future__ import annotations

import hashlib

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.config import Settings
from atlas.errors import Unavailable
from atlas.platform.audit import EventType, record
from atlas.platform.audit_export import EXPORT_MEDIA_TYPE, export_events
from atlas.platform.checkpoints import (
    CheckpointListRead,
    CheckpointRead,
    checkpoint_read,
    seal_on_demand,
    tenant_checkpoints,
)
from atlas.platform.principal import Principal
from atlas.platform.rbac import Permission
from atlas.platform.signing import SigningKey, SigningKeyMissing, load_signing_key, public_pem, trusted_keys

PEM_MEDIA_TYPE = "application/x-pem-file"


def _key(settings: Settings) -> SigningKey:
    try:
        return load_signing_key(settings)
    except SigningKeyMissing:
        raise Unavailable("errors.audit_signing_key_missing") from None


class AuditCheckpointController(Controller):
    """Signed checkpoints of the tenant's audit chain (seal one now, list them) and the trail as a file."""

    path = "/api/audit"
    tags = ["audit"]

    @get("/checkpoints", opt={"permission": Permission.MANAGE_TENANT})
    async def list_checkpoints(
        self, db: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> CheckpointListRead:
        """Every checkpoint of the tenant, oldest first: the checkpoints file ``atlas audit verify-export`` reads."""
        checkpoints = await tenant_checkpoints(db, principal.tenant_id)
        return CheckpointListRead(tenant_id=principal.tenant_id, checkpoints=[checkpoint_read(c) for c in checkpoints])

    @post("/checkpoints", opt={"permission": Permission.MANAGE_TENANT}, status_code=201)
    async def seal_now(
        self,
        db: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
        settings: NamedDependency[Settings],
    ) -> CheckpointRead:
        """Seal the tenant's chain head now (this seal's own audit event included) and return the checkpoint."""
        checkpoint = await seal_on_demand(
            db, principal.tenant_id, _key(settings), actor=principal.actor, correlation_id=correlation_id
        )
        return checkpoint_read(checkpoint)

    @get("/checkpoints/public-key", opt={"public": True}, media_type=PEM_MEDIA_TYPE)
    async def public_key(self, settings: NamedDependency[Settings]) -> Response[str]:
        """The public keys that checkpoints are signed with (PEM): the current key first, then retired ones."""
        current = _key(settings)
        others = [public_pem(k) for kid, k in trusted_keys(settings).items() if kid != current.key_id]
        return Response(
            content="".join([current.public_pem, *others]),
            media_type=PEM_MEDIA_TYPE,
            headers={"X-Atlas-Key-Id": current.key_id, "Content-Disposition": 'attachment; filename="audit-key.pem"'},
        )

    @get("/export", opt={"permission": Permission.MANAGE_TENANT}, media_type=EXPORT_MEDIA_TYPE)
    async def export(
        self,
        db: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> Response[bytes]:
        """The tenant's audit events, oldest first, as JSON lines with every field their hashes cover."""
        exported = await export_events(db, principal.tenant_id)
        digest = hashlib.sha256(exported.content).hexdigest()
        await record(
            db,
            EventType.AUDIT_EXPORTED,
            actor=principal.actor,
            correlation_id=correlation_id,
            payload={"events": exported.events, "last_seq": exported.last_seq, "sha256": digest},
        )
        return Response(
            content=exported.content,
            media_type=EXPORT_MEDIA_TYPE,
            headers={
                "Content-Disposition": 'attachment; filename="audit-events.jsonl"',
                "X-Atlas-Events": str(exported.events),
                "X-Atlas-File-SHA256": digest,
            },
        )
