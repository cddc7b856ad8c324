"""Onboarding Atlas's invoicing unit at the real local ZATCA gateway (issue 20), and the gateway client's answers.

The gateway (`atlas/zatca_fake/`) runs as a real HTTP server; its `/_fake/faults` give the refusals, outages and
timeouts. The unit lands in a real PostgreSQL (the session's migrated database), its secrets encrypted.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from atlas.billing.einvoice_chain import seller
from atlas.billing.einvoicing_units import CHECKS, expiring_units, onboard_unit, unit_summary
from atlas.billing.models import EInvoicingUnit
from atlas.billing.zatca_gateway import GatewayAuthRefused, GatewayUnavailable, ZatcaGateway
from atlas.config import Settings
from atlas.db.engine import Database
from atlas.einvoicing import FIRST_PIH, DocumentKind, SigningIdentity, Transaction, sign
from atlas.platform.audit import Actor
from atlas.platform.crypto import SecretBox
from atlas.zatca_fake.app import create_app
from atlas.zatca_fake.options import GatewayOptions
from tests.einvoicing.factory import document
from tests.services import asgi_server
from tests.zatca_fake.conftest import Gateway

OTP = "123345"
ACTOR = Actor("platform_admin:test", "Test Admin")


def retire_active_units(database_url: str) -> None:
    """Other tests share this process's database: a unit left active would give their invoices Phase 2 documents
    sent to a gateway that is gone."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("UPDATE einvoicing_units SET active = false, status = 'retired' WHERE active")


@pytest.fixture(autouse=True)
def _retire_units_after(database_url: str) -> Iterator[None]:
    yield
    retire_active_units(database_url)


@pytest.fixture
def local_gateway(tmp_path: Path) -> Iterator[Gateway]:
    app = create_app(GatewayOptions(state_file=tmp_path / "zatca.sqlite"))
    with asgi_server(app) as url:
        yield Gateway(url, app)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(DATABASE_URL=database_url)


def client(gateway: Gateway, timeout: float = 10.0) -> ZatcaGateway:
    return ZatcaGateway(f"{gateway.url}/e-invoicing", "developer-portal", timeout=timeout)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _database(settings: Settings) -> Database:
    return Database(settings.database_url, app_role=settings.db_app_role, pool_size=2)


async def onboard(
    settings: Settings,
    gateway: Gateway,
    *,
    otp: str = OTP,
    name: str = "Atlas test unit",
    tenant: uuid.UUID | None = None,
) -> tuple[EInvoicingUnit, SecretBox]:
    box = SecretBox(settings.fernet_key())
    database = await _database(settings)
    try:
        async with client(gateway) as zatca, database.system_session() as session:
            unit = await onboard_unit(
                session,
                settings,
                box,
                zatca,
                otp=otp,
                name=name,
                actor=ACTOR,
                correlation_id=f"test-{uuid.uuid4().hex[:8]}",
                audit_tenant_id=tenant,
            )
        return unit, box
    finally:
        await database.dispose()


def row(atlas: Any, unit_id: uuid.UUID) -> dict[str, Any]:
    found = atlas.sql("SELECT row_to_json(u)::text FROM einvoicing_units u WHERE id = %s", (unit_id,))
    return json.loads(found[0][0])


# --- onboarding ----------------------------------------------------------------------------------------------


def test_onboarding_runs_every_step_and_keeps_the_secrets_encrypted(
    atlas: Any, settings: Settings, local_gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _, user = atlas.new_tenant()
    tenant = uuid.UUID(user["tenant_id"])
    unit, box = run(onboard(settings, local_gateway, tenant=tenant))
    assert unit.status == "production" and unit.active, unit.failure
    stored = row(atlas, unit.id)
    assert stored["last_icv"] == 0 and stored["last_hash"] == FIRST_PIH
    assert set(stored["compliance_checks"]) == set(CHECKS)
    assert all(check["passed"] and check["status"] == "PASS" for check in stored["compliance_checks"].values())
    # the gateway saw the six samples, each passing, and issued the production CSID for this unit's CSR
    samples = local_gateway.documents(endpoint="compliance/invoices")
    assert len(samples) == 6 and all(s["accepted"] for s in samples)
    assert sorted({s["type_code"] for s in samples}) == ["381", "383", "388"]

    # the secrets: encrypted in their columns, and the raw values nowhere in the row's plain columns
    token = box.decrypt(stored["production_token_encrypted"])
    secret = box.decrypt(stored["production_secret_encrypted"])
    key_pem = box.decrypt(stored["private_key_encrypted"])
    assert key_pem.startswith("-----BEGIN PRIVATE KEY-----")
    identity = SigningIdentity.from_binary_security_token(token, key_pem.encode())
    assert stored["certificate_pem"].strip() == identity.certificate.public_bytes(Encoding.PEM).decode().strip()
    raw_key_body = "".join(key_pem.splitlines()[1:-1])
    compliance = (box.decrypt(stored["compliance_token_encrypted"]), box.decrypt(stored["compliance_secret_encrypted"]))
    everything = json.dumps(stored)  # the encrypted columns too: Fernet text never holds the plain value
    for value in (secret, token, raw_key_body, *compliance):
        assert value not in everything
    assert all(v not in caplog.text for v in (secret, token, raw_key_body, OTP))
    summary = unit_summary(unit)
    assert summary.status == "production" and summary.days_left is not None and summary.days_left > 300
    assert not summary.expiring_soon
    assert secret not in repr(summary) and token not in repr(summary)
    assert stored["certificate_expires_at"] is not None

    # the production CSID reports a document of this unit at the gateway
    async def report() -> Any:
        async with client(local_gateway) as zatca:
            doc = document(DocumentKind.INVOICE, Transaction.SIMPLIFIED, icv=1, pih=FIRST_PIH, number="ATL-U-1")
            doc = msgspec.structs.replace(doc, seller=seller(settings))
            signed = sign(doc, identity)
            return await zatca.report((token, secret), signed.invoice_hash, str(doc.uuid), signed.xml)

    answer = run(report())
    assert answer.accepted and answer.status == "REPORTED", answer

    # each step in the platform admin's trail, and no secret in it
    events = atlas.sql(
        "SELECT event_type, payload::text FROM audit_events WHERE tenant_id = %s AND event_type LIKE 'einvoicing%%' "
        "ORDER BY seq",
        (tenant,),
    )
    assert [e[0] for e in events] == [
        "einvoicing_unit_onboarding_started",
        "einvoicing_compliance_csid_issued",
        "einvoicing_compliance_checks_passed",
        "einvoicing_unit_activated",
    ]
    assert all(secret not in e[1] and token not in e[1] and OTP not in e[1] for e in events)


def test_a_wrong_otp_leaves_a_failed_unit_saying_what_to_do(
    atlas: Any, settings: Settings, local_gateway: Gateway
) -> None:
    before = atlas.sql("SELECT id FROM einvoicing_units WHERE active")
    unit, _ = run(onboard(settings, local_gateway, otp="999999"))
    assert unit.status == "failed" and not unit.active
    assert "OTP" in (unit.failure or "") and "Fatoora portal" in (unit.failure or "")
    stored = row(atlas, unit.id)
    assert stored["production_token_encrypted"] is None and stored["compliance_token_encrypted"] is None
    assert "999999" not in json.dumps(stored)
    assert atlas.sql("SELECT id FROM einvoicing_units WHERE active") == before  # nothing changed hands


@pytest.mark.parametrize("fault", ["server_error", "hang"])
def test_a_gateway_outage_fails_the_unit_with_a_clear_reason(
    atlas: Any, settings: Settings, local_gateway: Gateway, fault: str
) -> None:
    local_gateway.admin("POST", "faults", json={"kind": fault, "path": "compliance/invoices", "seconds": 3})

    async def go() -> EInvoicingUnit:
        box = SecretBox(settings.fernet_key())
        database = await _database(settings)
        try:
            async with (
                ZatcaGateway(f"{local_gateway.url}/e-invoicing", "developer-portal", timeout=1) as zatca,
                database.system_session() as session,
            ):
                return await onboard_unit(
                    session, settings, box, zatca, otp=OTP, name="outage", actor=ACTOR, correlation_id="outage"
                )
        finally:
            await database.dispose()

    unit = run(go())
    assert unit.status == "failed" and not unit.active
    assert "try again later" in (unit.failure or "")
    assert ("did not answer" if fault == "hang" else "answered 500") in (unit.failure or "")
    assert row(atlas, unit.id)["production_token_encrypted"] is None


def test_a_second_onboarding_retires_the_first_and_keeps_its_chain(
    atlas: Any, settings: Settings, local_gateway: Gateway
) -> None:
    first, _ = run(onboard(settings, local_gateway, name="first"))
    atlas.sql("UPDATE einvoicing_units SET last_icv = 7 WHERE id = %s", (first.id,))
    second, _ = run(onboard(settings, local_gateway, name="second"))
    assert second.status == "production" and second.active
    old = row(atlas, first.id)
    assert old["status"] == "retired" and old["active"] is False and old["last_icv"] == 7
    assert old["production_token_encrypted"] and old["certificate_pem"]
    assert [r[0] for r in atlas.sql("SELECT id FROM einvoicing_units WHERE active")] == [second.id]


def test_expiring_units_finds_a_certificate_near_its_end(
    atlas: Any, settings: Settings, local_gateway: Gateway
) -> None:
    unit, _ = run(onboard(settings, local_gateway, name="expiring"))
    atlas.sql(
        "UPDATE einvoicing_units SET certificate_expires_at = now() + interval '10 days' WHERE id = %s", (unit.id,)
    )

    async def find() -> tuple[list[uuid.UUID], list[uuid.UUID]]:
        database = await _database(settings)
        try:
            async with database.system_session() as session:
                soon = [u.id for u in await expiring_units(session, within_days=30)]
                sooner = [u.id for u in await expiring_units(session, within_days=5)]
                refreshed = await session.get(EInvoicingUnit, unit.id)
                assert refreshed is not None
                summary = unit_summary(refreshed)
                assert summary.expiring_soon and summary.days_left in (9, 10)
                return soon, sooner
        finally:
            await database.dispose()

    soon, sooner = run(find())
    assert unit.id in soon and unit.id not in sooner


# --- the client's answers ------------------------------------------------------------------------------------


@pytest.fixture
def production(local_gateway: Gateway) -> tuple[SigningIdentity, tuple[str, str]]:
    from tests.einvoicing.test_local_gateway import onboard as onboard_at

    identity, auth, _ = onboard_at(local_gateway)
    return identity, auth


def signed_sample(identity: SigningIdentity, transaction: Transaction, icv: int, pih: str) -> Any:
    doc = document(DocumentKind.INVOICE, transaction, icv=icv, pih=pih, number=f"ATL-C-{icv:06d}")
    return doc, sign(doc, identity)


def test_the_client_reports_clears_and_takes_a_duplicate_as_a_success(
    local_gateway: Gateway, production: tuple[SigningIdentity, tuple[str, str]]
) -> None:
    identity, auth = production

    async def go() -> None:
        async with client(local_gateway) as zatca:
            doc, signed = signed_sample(identity, Transaction.SIMPLIFIED, 1, FIRST_PIH)
            reported = await zatca.report(auth, signed.invoice_hash, str(doc.uuid), signed.xml)
            assert reported.status_code in (200, 202) and reported.accepted and reported.status == "REPORTED"
            assert not reported.duplicate and reported.validation_status in ("PASS", "WARNING")
            again = await zatca.report(auth, signed.invoice_hash, str(doc.uuid), signed.xml)
            assert again.status_code == 409 and again.accepted and again.duplicate
            doc2, signed2 = signed_sample(identity, Transaction.STANDARD, 2, signed.invoice_hash)
            cleared = await zatca.clear(auth, signed2.invoice_hash, str(doc2.uuid), signed2.xml)
            assert cleared.accepted and cleared.status == "CLEARED", cleared
            assert cleared.cleared_xml is not None and cleared.cleared_xml.startswith(b"<?xml")
            twice = await zatca.clear(auth, signed2.invoice_hash, str(doc2.uuid), signed2.xml)
            assert twice.status_code == 208 and twice.accepted and twice.duplicate

    run(go())


def test_the_client_gives_a_refusal_as_an_answer_and_raises_on_401_5xx_and_timeouts(
    local_gateway: Gateway, production: tuple[SigningIdentity, tuple[str, str]]
) -> None:
    identity, auth = production
    doc, signed = signed_sample(identity, Transaction.SIMPLIFIED, 1, FIRST_PIH)
    args = (signed.invoice_hash, str(doc.uuid), signed.xml)

    async def go() -> None:
        async with client(local_gateway, timeout=1) as zatca:
            local_gateway.admin(
                "POST",
                "faults",
                json={"kind": "refuse", "messages": [{"code": "BR-KSA-98", "message": "refused for the test"}]},
            )
            refused = await zatca.report(auth, *args)
            assert refused.status_code == 400 and not refused.accepted and refused.status == "NOT_REPORTED"
            assert refused.error_codes == ("BR-KSA-98",) and refused.errors[0].message == "refused for the test"

            with pytest.raises(GatewayAuthRefused):
                await zatca.report((auth[0], "wrong-secret"), *args)

            for status in (500, 503):
                local_gateway.admin("POST", "faults", json={"kind": "server_error", "status": status})
                with pytest.raises(GatewayUnavailable) as raised:
                    await zatca.report(auth, *args)
                assert raised.value.status_code == status

            local_gateway.admin("POST", "faults", json={"kind": "hang", "seconds": 3})
            with pytest.raises(GatewayUnavailable, match="did not answer"):
                await zatca.report(auth, *args)

            # the outages took nothing; the refused document was read and took its place in the chain (as ZATCA
            # counts it), so the next one links to it and is reported once the gateway answers
            following, signed_following = signed_sample(identity, Transaction.SIMPLIFIED, 2, signed.invoice_hash)
            answer = await zatca.report(auth, signed_following.invoice_hash, str(following.uuid), signed_following.xml)
            assert answer.accepted and answer.status == "REPORTED" and not answer.duplicate

        async with ZatcaGateway("http://127.0.0.1:9/e-invoicing", "developer-portal", timeout=2) as nowhere:
            with pytest.raises(GatewayUnavailable, match="could not be reached"):
                await nowhere.report(auth, *args)

    run(go())


def test_the_client_sends_the_headers_zatca_asks_for_and_hides_the_credentials(
    local_gateway: Gateway, production: tuple[SigningIdentity, tuple[str, str]]
) -> None:
    identity, auth = production
    seen: list[Any] = []

    async def go() -> None:
        async def hook(request: httpx.Request) -> None:
            seen.append(request)

        zatca = client(local_gateway)
        zatca._client.event_hooks["request"].append(hook)
        async with zatca:
            doc, signed = signed_sample(identity, Transaction.STANDARD, 1, FIRST_PIH)
            answer = await zatca.clear(auth, signed.invoice_hash, str(doc.uuid), signed.xml)
            assert answer.accepted
            assert auth[1] not in repr(answer)

    run(go())
    request = seen[0]
    assert request.url.path == "/e-invoicing/developer-portal/invoices/clearance/single"
    assert request.headers["Accept-Version"] == "V2" and request.headers["Clearance-Status"] == "1"
    assert request.headers["Accept-Language"] == "en"
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    body = json.loads(request.content)
    assert base64.b64decode(body["invoice"]).startswith(b"<?xml")


def test_the_client_refuses_an_unknown_environment() -> None:
    with pytest.raises(ValueError):
        ZatcaGateway("http://127.0.0.1:1/e-invoicing", "production")


# --- the command line and the demo --------------------------------------------------------------------------


def cli(database_url: str, gateway: Gateway, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "ATLAS_ZATCA_GATEWAY_URL": f"{gateway.url}/e-invoicing"}
    atlas_bin = str(Path(sys.executable).parent / "atlas")
    return subprocess.run([atlas_bin, "zatca-onboard", *args], env=env, capture_output=True, text=True, timeout=120)


def test_the_cli_onboards_a_unit_and_explains_a_refused_otp(
    atlas: Any, database_url: str, local_gateway: Gateway
) -> None:
    done = cli(database_url, local_gateway, "--otp", OTP, "--name", "cli unit")
    assert done.returncode == 0, done.stderr
    assert "production" in done.stdout and "standard-388: PASS" in done.stdout and "certificate expires" in done.stdout
    active = atlas.sql("SELECT name, status FROM einvoicing_units WHERE active")
    assert active == [("cli unit", "production")]
    token = atlas.sql("SELECT production_token_encrypted FROM einvoicing_units WHERE active")[0][0]
    assert token not in done.stdout + done.stderr

    refused = cli(database_url, local_gateway, "--otp", "000000", "--name", "cli refused")
    assert refused.returncode == 1
    assert "Fatoora portal" in refused.stderr and "000000" not in refused.stdout + refused.stderr
    assert atlas.sql("SELECT name FROM einvoicing_units WHERE active") == [("cli unit",)]


def test_the_demo_onboards_its_unit_once_across_restarts(
    atlas: Any, database_url: str, local_gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    from atlas.config import get_settings
    from atlas.demo import onboard_demo_unit

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ATLAS_ZATCA_GATEWAY_URL", f"{local_gateway.url}/e-invoicing")
    get_settings.cache_clear()
    try:
        first = run(onboard_demo_unit())
        unit_id = atlas.sql("SELECT id FROM einvoicing_units WHERE active")[0][0]
        second = run(onboard_demo_unit())
    finally:
        get_settings.cache_clear()
    assert first.startswith("invoicing unit onboarded") and second.startswith("invoicing unit already onboarded")
    assert atlas.sql("SELECT id FROM einvoicing_units WHERE active")[0][0] == unit_id
    assert len(local_gateway.documents(endpoint="compliance/invoices")) == 6  # onboarded once, not twice
