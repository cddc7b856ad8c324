"""The `atlas` command."""

from __future__ import annotations

import asyncio
import importlib
import json
import uuid
from typing import Any

import click

from atlas.audit_cli import audit
from atlas.config import get_settings
from atlas.db.engine import Database


class LazyGroup(click.Group):
    """A command group whose heavy commands load only when they run (or when help lists them).

    ``atlas forecast`` needs numpy, scipy and polars (about 1.4 s to import); every other command (the audit tools,
    tenants, platform admins, migrations) should not pay for it at each start."""

    def __init__(self, *args: object, lazy: dict[str, str] | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = dict(lazy or {})  # command name -> "module:attribute"

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self.lazy.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module, attribute = target.split(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command


@click.group(
    cls=LazyGroup,
    lazy={
        "forecast": "atlas.ai_engine.forecast_cli:forecast_command",
        "zatca-onboard": "atlas.billing.einvoicing_cli:zatca_onboard_command",
    },
)
def main() -> None:
    """Atlas: inventory AI with human approval and an execution hard lock."""


@main.group()
def db() -> None:
    """Database administration."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply the Alembic migrations to DATABASE_URL."""
    from atlas.db.migrate import upgrade

    upgrade(get_settings().sync_database_url, revision)
    click.echo("database is up to date")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Web processes sharing the port (uvicorn's supervisor restarts one that dies); about one per core.",
)
@click.option(
    "--keep-alive",
    "keep_alive",
    default=5,
    show_default=True,
    type=click.IntRange(1, 3600),
    help="Seconds an idle HTTP connection stays open (longer than the load balancer's idle timeout behind one).",
)
def serve(host: str, port: int, workers: int, keep_alive: int) -> None:
    """Run the web app (API + pages; OpenAPI at /schema), in one process or several."""
    import uvicorn

    from atlas.web.app import serving_app

    # Several processes need the app by name: each builds its own (its own pools, its own Temporal client).
    target: Any = serving_app() if workers == 1 else "atlas.web.app:serving_app"
    uvicorn.run(
        target,
        factory=workers > 1,
        workers=workers,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_keep_alive=keep_alive,
        # Atlas reads X-Forwarded-* itself, from ATLAS_TRUSTED_PROXIES only (atlas.web.proxies); uvicorn would
        # believe any loopback peer.
        proxy_headers=False,
    )


@main.command()
def worker() -> None:
    """Run the Temporal worker."""
    from atlas import collector
    from atlas.observability import configure_logging
    from atlas.workflows.worker import main as run

    settings = get_settings()
    configure_logging(settings.log_level, json_output=settings.log_json)
    collector.tune()
    run(settings)


def _database() -> Database:

    settings = get_settings()
    return Database(settings.database_url, app_role=settings.db_app_role, pool_size=2)


@main.group()
def tenants() -> None:
    """Tenant administration for platform operators."""


@tenants.command("create")
@click.option("--name", required=True)
@click.option("--org-type", type=click.Choice(["smb", "enterprise"]), required=True)
@click.option("--admin-email", required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def tenants_create(name: str, org_type: str, admin_email: str, as_json: bool) -> None:
    """Create a tenant, invite its admin, and print its id and a one-time admin API token."""
    from atlas.billing.provisioning import create_tenant
    from atlas.errors import AtlasError
    from atlas.i18n import translate

    async def run() -> dict[str, str]:
        database = _database()
        try:
            async with database.system_session() as session:
                created = await create_tenant(
                    session,
                    name=name,
                    org_type=org_type,
                    admin_email=admin_email,
                    correlation_id=f"cli-{uuid.uuid4().hex[:12]}",
                    trial_days=get_settings().trial_days,
                )
        finally:
            await database.dispose()
        return {
            "tenant_id": str(created.tenant_id),
            "name": created.name,
            "org_type": created.org_type,
            "admin_email": created.admin_email,
            "admin_token": created.admin_token,
        }

    try:
        result = asyncio.run(run())
    except AtlasError as exc:
        raise click.ClickException(translate(exc.message_key, "en", **exc.params)) from None
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(f"tenant id:   {result['tenant_id']}")
        click.echo(f"admin:       {result['admin_email']} (invited; joins on first sign-in)")
        click.echo(f"admin token: {result['admin_token']}")
        click.echo("The token is shown once. Use it as 'Authorization: Bearer <token>'.")


@main.group("platform-admins")
def platform_admins() -> None:
    """Platform admin role."""


@platform_admins.command("grant")
@click.option("--email", required=True)
def platform_admins_grant(email: str) -> None:
    """Make an existing user (who has signed in once) a platform admin."""
    from atlas.errors import AtlasError
    from atlas.platform.provisioning import grant_platform_admin

    async def run() -> int:
        database = _database()
        try:
            async with database.system_session() as session:
                return await grant_platform_admin(session, email=email, correlation_id=f"cli-{uuid.uuid4().hex[:12]}")
        finally:
            await database.dispose()

    try:
        count = asyncio.run(run())
    except AtlasError:
        raise click.ClickException(f"no user with the e-mail {email}; they must sign in once first") from None
    click.echo(f"{email} is now a platform admin ({count} membership(s))")


# The audit group lives in atlas.audit_cli (verify, seal, verify-export, public-key, keygen).
main.add_command(audit)


@main.command("demo-erp")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=3001, show_default=True, type=int)
@click.option("--as-of", "as_of", default=None, help="Fix the data's date (YYYY-MM-DD); default: today.")
def demo_erp(host: str, port: int, as_of: str | None) -> None:
    """Run the demo ERP: a simulated inventory system with an API key, read-only."""
    from datetime import date

    from atlas.connectors.demo_erp.server import run

    run(host, port, as_of=date.fromisoformat(as_of) if as_of else None)


@main.command("moyasar-fake")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=3002, show_default=True, type=int)
@click.option("--secret-key", default=None, help="The test secret key it accepts (default: the demo's sk_test_ key).")
@click.option("--publishable-key", default=None, help="The test publishable key it accepts (default: the demo's).")
@click.option("--webhook-url", default=None, help="Send payment events here (Atlas's /api/webhooks/moyasar).")
@click.option("--webhook-secret", default=None, help="The webhook's shared secret, sent as each event's secret_token.")
@click.option(
    "--webhook-retry-seconds",
    default="0,60,600,1800,3600,7200",
    show_default=True,
    help="Waits before each delivery attempt, then the event is dropped.",
)
@click.option("--state-file", type=click.Path(dir_okay=False), default=None, help="SQLite file to keep state in.")
@click.option("--public-url", default=None, help="The URL browsers reach it at (default: the URL of each request).")
@click.option("--allowed-origin", "allowed_origins", multiple=True, help="CORS origin (default: any local one).")
@click.option("--failed-event-name", type=click.Choice(["payment_failed", "payment_faild"]), default="payment_failed")
@click.option("--given-id-replay", is_flag=True, help="A used given_id returns the payment instead of a 400.")
@click.option("--save-only-single-use", is_flag=True, help="A save_only token is not reusable after its payment.")
def moyasar_fake(
    host: str,
    port: int,
    secret_key: str | None,
    publishable_key: str | None,
    webhook_url: str | None,
    webhook_secret: str | None,
    webhook_retry_seconds: str,
    state_file: str | None,
    public_url: str | None,
    allowed_origins: tuple[str, ...],
    failed_event_name: str,
    given_id_replay: bool,
    save_only_single_use: bool,
) -> None:
    """Run the local Moyasar: a test stand-in for Moyasar's API (tokens, payments, 3-D Secure, webhooks)."""
    from pathlib import Path

    import msgspec

    from atlas.billing.moyasar_fake.options import (
        DEMO_PUBLISHABLE_KEY,
        DEMO_SECRET_KEY,
        FakeOptions,
        Switches,
        parse_retry_seconds,
    )
    from atlas.billing.moyasar_fake.server import run
    from atlas.observability import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, json_output=settings.log_json)
    try:
        switches = msgspec.convert(
            {
                "webhook_retry_seconds": parse_retry_seconds(webhook_retry_seconds),
                "failed_event_name": failed_event_name,
                "given_id_replay": given_id_replay,
                "save_only_reusable": not save_only_single_use,
            },
            Switches,
        )
        options = FakeOptions(
            secret_key=secret_key or DEMO_SECRET_KEY,
            publishable_key=publishable_key or DEMO_PUBLISHABLE_KEY,
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            state_file=Path(state_file) if state_file else None,
            public_url=public_url,
            allowed_origins=allowed_origins,
            switches=switches,
        )
    except (ValueError, msgspec.ValidationError) as exc:
        raise click.BadParameter(str(exc)) from None
    run(options, host=host, port=port)


@main.command("zatca-fake")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Keep 127.0.0.1: the /_fake admin API has no auth."
)
@click.option("--port", default=3003, show_default=True, type=int)
@click.option(
    "--state-file",
    type=click.Path(dir_okay=False),
    default=".atlas/zatca-fake.sqlite",
    show_default=True,
    help="SQLite file that keeps the CA, CSIDs, chains and received documents.",
)
@click.option(
    "--otp", default=None, help="The OTP the compliance API accepts (default: the developer portal's 123345)."
)
@click.option("--certificate-days", default=365, show_default=True, type=int, help="Lifetime of issued CSIDs.")
def zatca_fake(host: str, port: int, state_file: str, otp: str | None, certificate_days: int) -> None:
    """Run the local ZATCA gateway: CSIDs, compliance checks, reporting and clearance, with ZATCA's checks."""
    from pathlib import Path

    from atlas.observability import configure_logging
    from atlas.zatca_fake.options import DEFAULT_OTP, GatewayOptions
    from atlas.zatca_fake.server import run

    settings = get_settings()
    configure_logging(settings.log_level, json_output=settings.log_json)
    try:
        options = GatewayOptions(otp=otp or DEFAULT_OTP, state_file=Path(state_file), certificate_days=certificate_days)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    run(options, host=host, port=port)


@main.command("demo")
@click.option("--port", default=8000, show_default=True, type=int)
def demo(port: int) -> None:
    """Start the whole demo: PostgreSQL, Temporal, the identity provider, the worker and the web app."""
    from atlas.demo import run_demo

    run_demo(port=port)


if __name__ == "__main__":
    main()
