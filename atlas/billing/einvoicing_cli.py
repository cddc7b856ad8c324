"""``atlas zatca-onboard``: onboard Atlas's invoicing unit with ZATCA from the command line (issue 20).

``--renew`` renews the active unit's certificate instead (``renew_unit``). Loaded lazily by ``atlas.cli``. It
prints the unit's status, the six compliance checks and the certificate's expiry,
never a key, a token or a secret; a failure prints the reason and what to do, and exits 1.
"""

from __future__ import annotations

import asyncio
import uuid

import click

from atlas.billing.einvoicing_units import (
    active_unit,
    onboard_from_settings,
    operator_tenant_id,
    renew_unit,
    unit_summary,
)
from atlas.config import get_settings
from atlas.db.engine import Database
from atlas.platform.audit import Actor
from atlas.platform.crypto import SecretBox


@click.command("zatca-onboard")
@click.option("--otp", required=True, help="the one-time password from ZATCA's Fatoora portal (valid one hour)")
@click.option("--name", default="Atlas", show_default=True, help="the unit's name (shown on the platform page)")
@click.option(
    "--renew",
    is_flag=True,
    help="renew the active unit's certificate (a new production CSID for the same unit, at its own gateway) "
    "instead of onboarding a new unit",
)
def zatca_onboard_command(otp: str, name: str, renew: bool) -> None:
    """Onboard an invoicing unit at ATLAS_ZATCA_GATEWAY_URL (ATLAS_ZATCA_ENVIRONMENT): CSR, compliance CSID, the
    six compliance checks, production CSID. The new unit replaces the active one (whose chain is kept).

    With --renew: renew the active unit's certificate before it expires (its chain goes on)."""
    settings = get_settings()

    async def run() -> int:
        database = Database(settings.database_url, app_role=settings.db_app_role, pool_size=2)
        if renew:
            try:
                return await renew_active(database)
            finally:
                await database.dispose()
        try:
            unit, _ = await onboard_from_settings(
                database,
                settings,
                SecretBox(settings.fernet_key()),
                otp=otp.strip(),
                name=name,
                actor=Actor("system", "atlas zatca-onboard"),
                correlation_id=f"cli-{uuid.uuid4()}",
            )
        finally:
            await database.dispose()
        summary = unit_summary(unit)
        click.echo(f"unit {summary.name} ({summary.id}) in {summary.environment}: {summary.status}")
        for check, result in summary.checks.items():
            if result:
                click.echo(f"  {check}: {result.get('status')}")
        if summary.status != "production":
            click.echo(f"onboarding failed: {summary.failure}", err=True)
            return 1
        click.echo(f"certificate expires {summary.certificate_expires_at:%Y-%m-%d} ({summary.days_left} days)")
        return 0

    async def renew_active(database: Database) -> int:
        async with database.system_session() as session:
            unit = await active_unit(session)
            tenant_id = await operator_tenant_id(session)
        if unit is None or unit.status != "production":
            click.echo("no active invoicing unit in production to renew: onboard one first", err=True)
            return 1
        outcome = await renew_unit(
            database,
            settings,
            SecretBox(settings.fernet_key()),
            unit_id=unit.id,
            otp=otp.strip(),
            actor=Actor("system", "atlas zatca-onboard --renew"),
            correlation_id=f"cli-{uuid.uuid4()}",
            audit_tenant_id=tenant_id,
        )
        summary = unit_summary(outcome.unit)
        if not outcome.renewed:
            click.echo(f"renewal failed ({outcome.code}): {outcome.reason}", err=True)
            click.echo(f"unit {summary.name} ({summary.id}) unchanged: {summary.status}", err=True)
            return 1
        click.echo(f"unit {summary.name} ({summary.id}) renewed in {summary.environment}: {summary.status}")
        click.echo(f"certificate expires {summary.certificate_expires_at:%Y-%m-%d} ({summary.days_left} days)")
        return 0

    raise SystemExit(asyncio.run(run()))
