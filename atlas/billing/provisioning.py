"""Operator-side provisioning of a whole tenant for an enterprise customer: the platform's tenant, onboarded, its
admin invited and an admin token, and billing's trial of the default plan for its type.

In billing, the lower of the two layers that may use both (the platform never imports billing); the platform's
own provisioning (platform admins, demo members) stays in ``atlas.platform.provisioning``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from atlas.billing import services as billing
from atlas.db.base import utcnow
from atlas.errors import ValidationFailed
from atlas.i18n.text import clean_name
from atlas.platform import services
from atlas.platform.audit import Actor, EventType, record
from atlas.platform.emails import normalise_email
from atlas.platform.rbac import Role


@dataclass(frozen=True, slots=True)
class ProvisionedTenant:
    tenant_id: uuid.UUID
    name: str
    org_type: str
    admin_email: str
    invitation_id: uuid.UUID
    admin_token: str
    token_id: uuid.UUID


async def create_tenant(
    session: AsyncSession,
    *,
    name: str,
    org_type: str,
    admin_email: str,
    correlation_id: str,
    trial_days: int,
) -> ProvisionedTenant:
    """A tenant set up by a platform operator: onboarded, trial started, its admin invited, an admin token.

    System transaction. The admin joins by signing in with the invited e-mail.
    """
    if org_type not in services.ORG_TYPES:
        raise ValidationFailed("errors.invalid_org_type", field="org_type")
    email = normalise_email(admin_email)
    if not 2 <= len(clean_name(name)) <= 200:
        raise ValidationFailed("errors.company_name_length", field="name")
    actor = Actor("system", "atlas tenants create")
    tenant = await services.provision_tenant(
        session, name=name, actor=actor, correlation_id=correlation_id, org_type=org_type
    )
    tenant.use_case = "inventory_management"
    tenant.onboarding_completed_at = utcnow()
    await record(
        session,
        EventType.ONBOARDING_COMPLETED,
        actor=actor,
        correlation_id=correlation_id,
        tenant_id=tenant.id,
        payload={"company_name": tenant.name, "org_type": org_type, "use_case": "inventory_management"},
    )
    await billing.start_trial(
        session,
        plan_id=billing.default_plan_for(org_type),
        trial_days=trial_days,
        actor=actor,
        correlation_id=correlation_id,
        tenant_id=tenant.id,
    )
    invitation = await services.invite(
        session, email=email, role=Role.ADMIN, actor=actor, correlation_id=correlation_id, tenant_id=tenant.id
    )
    token, raw = await services.create_token(
        session,
        name="Provisioning admin token",
        role=Role.ADMIN,
        expires_in_days=30,
        actor=actor,
        correlation_id=correlation_id,
        tenant_id=tenant.id,
    )
    return ProvisionedTenant(
        tenant_id=tenant.id,
        name=tenant.name,
        org_type=org_type,
        admin_email=email,
        invitation_id=invitation.id,
        admin_token=raw,
        token_id=token.id,
    )
