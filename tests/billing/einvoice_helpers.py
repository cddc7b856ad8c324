"""Helpers for the Phase 2 chain and submission tests: an onboarded unit at the local ZATCA gateway, stored the way
onboarding stores it (encrypted key and CSID, certificate PEM), and invoices issued for real through
``issue_invoice`` in concurrent tenant transactions."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from atlas.billing.invoices import issue_invoice
from atlas.billing.models import PaymentAttempt, SubscriptionPlan
from atlas.config import Settings
from atlas.db.engine import Database
from atlas.einvoicing import FIRST_PIH
from atlas.platform.audit import Actor
from atlas.platform.crypto import SecretBox
from atlas.zatca_fake.app import create_app
from atlas.zatca_fake.options import GatewayOptions
from tests.einvoicing.factory import csr_request
from tests.einvoicing.test_local_gateway import onboard
from tests.services import asgi_server, atlas_server
from tests.zatca_fake.conftest import ENV, Gateway

ADDRESS = {
    "street": "Prince Sultan St",
    "building_number": "1234",
    "additional_number": "5678",
    "district": "Al Rawdah",
    "city": "Jeddah",
    "postal_code": "23435",
    "country": "SA",
}


# The unit's stored gateway URL, which only a worker's submission workflow uses: unreachable, so a worker left
# running by another test (the session's `stack`) cannot send these tests' documents behind their back; the tests
# send through their own client to `StoredUnit.gateway`, and the workflow test points the unit at it.
UNREACHABLE = "http://127.0.0.1:9/e-invoicing"


@dataclass
class StoredUnit:
    id: uuid.UUID
    gateway: Gateway
    auth: tuple[str, str]


SELLER_VAT = csr_request().vat_number  # the VAT number the unit's certificate was issued to


def settings_for(atlas: Any) -> Settings:
    return Settings(DATABASE_URL=atlas.database_url, ATLAS_SELLER_VAT_NUMBER=SELLER_VAT)


@contextmanager
def served_gateway(state_dir: Path) -> Iterator[Gateway]:
    """The local ZATCA gateway as a real HTTP server, its state in ``state_dir``."""
    app = create_app(GatewayOptions(state_file=state_dir / "zatca.sqlite"))
    with asgi_server(app) as url:
        yield Gateway(url, app)


@contextmanager
def atlas_for_einvoicing(database_url: str, oidc_url: str, **settings: Any) -> Iterator[Any]:
    """Atlas served with the suite's test settings and ``settings`` (the ZATCA gateway, the seller's VAT number …)."""
    from tests.conftest import TEST_POOL_SIZE, Atlas

    overrides = {
        "DATABASE_URL": database_url,
        "OIDC_ISSUER": oidc_url,
        "TEMPORAL_ADDRESS": "127.0.0.1:1",
        "ATLAS_LOGIN_RATE_LIMIT": 100000,
        "ATLAS_TOKEN_RATE_LIMIT": 100000,
        "ATLAS_ALLOW_PRIVATE_NETWORKS": True,
        "ATLAS_LOG_LEVEL": "WARNING",
        "ATLAS_DB_POOL_SIZE": TEST_POOL_SIZE,
        **settings,
    }
    with atlas_server(overrides) as base_url:
        yield Atlas(base_url, oidc_url, database_url)


@pytest.fixture(name="local_gateway")
def local_gateway_fixture(tmp_path: Path) -> Iterator[Gateway]:
    with served_gateway(tmp_path) as gateway:
        yield gateway


@pytest.fixture(name="unit")
def unit_fixture(atlas: Any, local_gateway: Gateway) -> Iterator[StoredUnit]:
    """An active production unit onboarded at the local gateway, retired after the test (one active at a time)."""
    identity, auth, key_pem = onboard(local_gateway)
    box = SecretBox(settings_for(atlas).fernet_key())
    token, secret = auth
    certificate = identity.certificate
    unit_id = uuid.uuid4()
    atlas.sql("UPDATE einvoicing_units SET active = false, status = 'retired' WHERE active")
    atlas.sql(
        """INSERT INTO einvoicing_units (id, name, environment, gateway_url, vat_number, common_name, serial, status,
               active, private_key_encrypted, compliance_checks, production_token_encrypted,
               production_secret_encrypted, certificate_pem, certificate_expires_at, last_icv, last_hash,
               created_by, created_at, updated_at)
           VALUES (%s, 'test unit', %s, %s, %s, 'Atlas test EGS', '1-Atlas|2-1|3-test', 'production', true, %s,
               '{}', %s, %s, %s, %s, 0, %s, 'test', now(), now())""",
        (
            unit_id,
            ENV,
            UNREACHABLE,
            SELLER_VAT,
            box.encrypt(key_pem.decode("ascii")),
            box.encrypt(token),
            box.encrypt(secret),
            certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
            certificate.not_valid_after_utc,
            FIRST_PIH,
        ),
    )
    yield StoredUnit(unit_id, local_gateway, auth)
    atlas.sql("UPDATE einvoicing_units SET active = false, status = 'retired' WHERE id = %s", (unit_id,))


def set_profile(atlas: Any, tenant_id: str, *, vat_number: str | None, address: dict[str, str] | None) -> None:
    atlas.sql("DELETE FROM billing_profiles WHERE tenant_id = %s", (tenant_id,))
    fields = address or {}
    atlas.sql(
        """INSERT INTO billing_profiles (id, tenant_id, legal_name_ar, legal_name_en, vat_number, street,
               building_number, additional_number, district, city, postal_code, country, updated_at)
           VALUES (%s, %s, 'شركة النهدي للتجارة', 'Nahdi Trading Co.', %s, %s, %s, %s, %s, %s, %s, 'SA', now())""",
        (
            uuid.uuid4(),
            tenant_id,
            vat_number,
            *(fields.get(name) for name in ("street", "building_number", "additional_number", "district", "city")),
            fields.get("postal_code"),
        ),
    )


def add_attempts(atlas: Any, tenant_id: str, count: int, *, net: int = 29900, vat: int = 4485) -> list[uuid.UUID]:
    subscription_id = atlas.sql("SELECT id FROM subscriptions WHERE tenant_id = %s", (tenant_id,))[0][0]
    start = datetime.now(UTC).replace(microsecond=0)
    first = 1 + atlas.sql("SELECT count(*) FROM payment_attempts WHERE subscription_id = %s", (subscription_id,))[0][0]
    ids = []
    for index in range(count):
        attempt_id = uuid.uuid4()
        atlas.sql(
            """INSERT INTO payment_attempts (id, tenant_id, subscription_id, purpose, plan_id, period_start,
                   period_end, attempt_no, amount_net, vat, amount_total, currency, status, created_by, created_at,
                   updated_at)
               VALUES (%s, %s, %s, 'subscribe', 'basic', %s, %s, %s, %s, %s, %s, 'SAR', 'paid', 'test', now(),
                   now())""",
            (
                attempt_id,
                tenant_id,
                subscription_id,
                start,
                start + timedelta(days=30),
                first + index,
                net,
                vat,
                net + vat,
            ),
        )
        ids.append(attempt_id)
    return ids


def issue(
    atlas: Any, tenant_id: str, attempt_ids: list[uuid.UUID], *, hold: float = 0.0, settings: Settings | None = None
) -> list[uuid.UUID]:
    """Issue one invoice per attempt, all at once in separate transactions; returns the invoice ids. ``settings``:
    the issuing process's (default: the seller of the test unit)."""
    settings = settings or settings_for(atlas)

    async def one(attempt_id: uuid.UUID, database: Database) -> uuid.UUID:
        async with database.tenant_session(uuid.UUID(tenant_id)) as session:
            attempt = await session.get(PaymentAttempt, attempt_id)
            plan = await session.get(SubscriptionPlan, "basic")
            assert attempt is not None and plan is not None
            invoice = await issue_invoice(
                session,
                settings=settings,
                tenant_id=uuid.UUID(tenant_id),
                attempt=attempt,
                plan=plan,
                payment_method=None,
                actor=Actor("system"),
                correlation_id="einvoice-test",
            )
            await asyncio.sleep(hold)  # keep the unit's row locked a moment, so the others queue behind it
            return invoice.id

    async def run() -> list[uuid.UUID]:
        database = Database(settings.database_url, app_role=settings.db_app_role, pool_size=len(attempt_ids) + 1)
        try:
            return list(await asyncio.gather(*(one(a, database) for a in attempt_ids)))
        finally:
            await database.dispose()

    return asyncio.run(run())


def einvoices(atlas: Any, unit_id: uuid.UUID) -> list[dict[str, Any]]:
    keys = ("id", "invoice_id", "icv", "uuid", "transaction", "invoice_hash", "pih", "qr", "xml", "status", "messages")
    rows = atlas.sql(f"SELECT {', '.join(keys)} FROM einvoices WHERE unit_id = %s ORDER BY icv", (unit_id,))
    return [dict(zip(keys, row, strict=True)) for row in rows]
