"""``atlas zatca-onboard``: onboard Atlas's invoicing unit with ZATCA from the command line (issue 20).

Loaded lazily by ``atlas.cli``. It prints the unit's status, the six compliance checks and the certificate's expiry,
never a key, a token or a secret; a failure prints the reason and what to do, and exits 1.
"""

from __future__ import annotations

import asyncio
import uuid

import click

from atlas.billing.einvoicing_units import onboard_from_settings, unit_summary
from atlas.config import get_settings
from atlas.db.engine import Database
from atlas.platform.audit import Actor
from atlas.platform.crypto import SecretBox


@click.command("zatca-onboard")
@click.option("--otp", required=True, help="the one-time password from ZATCA's Fatoora portal (valid one hour)")
@click.option("--name", default="Atlas", show_default=True, help="the unit's name (shown on the platform page)")
def zatca_onboard_command(otp: str, name: str) -> None:
    """Onboard an invoicing unit at ATLAS_ZATCA_GATEWAY_URL (ATLAS_ZATCA_ENVIRONMENT): CSR, compliance CSID, the
    six compliance checks, production CSID. The new unit replaces the active one (whose chain is kept)."""
    settings = get_settings()

    async def run() -> int:
        database = Database(settings.database_url, app_role=settings.db_app_role, pool_size=1)
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

    raise SystemExit(asyncio.run(run()))
