"""Renewing the invoicing unit's certificate and reminding before it expires (issue 20).

Against the real local ZATCA gateway (`atlas.zatca_fake`, an HTTP server): `renew_unit` and `POST
/api/platform/einvoicing/units/{id}/renewal` (PATCH production/csids), the chain going on across the renewal,
refusals and outages leaving the unit as it was; the reminder check at 30/14/7/3/1 days and once expired, once per
threshold, also through the billing sweep on the real Temporal dev server; the banner on the platform pages in both
languages, the `/metrics` gauge, and the page in Chromium, in Arabic.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from atlas.billing.einvoice_submission import submit_pending
from atlas.billing.einvoicing_reminders import (
    remind_expiring_certificate,
    threshold_for,
)
from atlas.billing.einvoicing_units import RenewalOutcome, onboard_unit, renew_unit
from atlas.billing.models import EInvoicingUnit
from atlas.billing.zatca_gateway import ZatcaGateway
from atlas.config import Settings
from atlas.db.base import utcnow
from atlas.db.engine import Database
from atlas.einvoicing import SigningIdentity
from atlas.platform.audit import Actor
from atlas.platform.crypto import SecretBox
from atlas.zatca_fake.app import create_app
from atlas.zatca_fake.options import GatewayOptions
from tests.billing.einvoice_helpers import (
    ADDRESS,
    SELLER_VAT,
    StoredUnit,
    add_attempts,
    atlas_for_einvoicing,
    einvoices,
    issue,
    served_gateway,
    set_profile,
    settings_for,
    unit_fixture,  # noqa: F401 (fixture)
)
from tests.billing.test_einvoicing_units import cli, retire_active_units
from tests.browser_pages import signed_in_page
from tests.conftest import Atlas
from tests.einvoicing import verifier
from tests.services import asgi_server
from tests.zatca_fake.conftest import Gateway

OTP = "123345"
ACTOR = Actor("platform_admin:test", "Test Admin")
METRICS_TOKEN = "metrics-" + uuid.uuid4().hex
SECRET_COLUMNS = (
    "private_key_encrypted",
    "production_token_encrypted",
    "production_secret_encrypted",
    "certificate_pem",
    "certificate_expires_at",
    "status",
    "active",
    "last_icv",
    "last_hash",
)


@pytest.fixture(autouse=True)
def _retire_units_after(database_url: str) -> Iterator[None]:
    yield
    retire_active_units(database_url)


@pytest.fixture(name="local_gateway")
def local_gateway_fixture(tmp_path: Path) -> Iterator[Gateway]:
    app = create_app(GatewayOptions(state_file=tmp_path / "zatca.sqlite"))
    with asgi_server(app) as url:
        yield Gateway(url, app)


def run(coro: Any) -> Any:
    """In a thread of its own: the module's Chromium (Playwright's sync API) keeps an event loop in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def platform_admin(atlas: Atlas) -> tuple[httpx.Client, dict[str, Any]]:
    admin, me = atlas.new_tenant(org_type="enterprise", name="Platform Ops (renewal)")
    atlas.sql("UPDATE users SET platform_role = 'platform_admin' WHERE id = %s", (me["user_id"],))
    return admin, me


def unit_row(atlas: Any, unit_id: Any) -> dict[str, Any]:
    found = atlas.sql("SELECT row_to_json(u)::text FROM einvoicing_units u WHERE id = %s", (unit_id,))
    return dict(json.loads(found[0][0]))


def expires_in(atlas: Any, unit_id: Any, interval: str) -> None:
    """Test setup: move the unit's certificate end (the fake's certificates last a year)."""
    atlas.sql(
        "UPDATE einvoicing_units SET certificate_expires_at = now() + %s::interval WHERE id = %s", (interval, unit_id)
    )


def unchanged_part(row: dict[str, Any]) -> dict[str, Any]:
    return {column: row[column] for column in SECRET_COLUMNS}


def certificate_body(pem: str) -> str:
    return "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))


def signing_certificate(xml: str) -> str:
    match = re.search(r"<ds:X509Certificate>([^<]+)</ds:X509Certificate>", xml)
    assert match is not None
    return match.group(1)


def credentials(settings: Settings, row: dict[str, Any]) -> tuple[str, str]:
    box = SecretBox(settings.fernet_key())
    return box.decrypt(row["production_token_encrypted"]), box.decrypt(row["production_secret_encrypted"])


async def _onboard(settings: Settings, gateway: Gateway, tenant: uuid.UUID) -> EInvoicingUnit:
    database = Database(settings.database_url, app_role=settings.db_app_role, pool_size=2)
    try:
        async with (
            ZatcaGateway(f"{gateway.url}/e-invoicing", "developer-portal", timeout=10) as zatca,
            database.system_session() as session,
        ):
            return await onboard_unit(
                session,
                settings,
                SecretBox(settings.fernet_key()),
                zatca,
                otp=OTP,
                name="renewal unit",
                actor=ACTOR,
                correlation_id=f"test-{uuid.uuid4().hex[:8]}",
                audit_tenant_id=tenant,
            )
    finally:
        await database.dispose()


async def _renew(
    settings: Settings, unit_id: uuid.UUID, tenant: uuid.UUID | None, *, otp: str = OTP, timeout: float = 10
) -> RenewalOutcome:
    database = Database(settings.database_url, app_role=settings.db_app_role, pool_size=3)
    try:
        return await renew_unit(
            database,
            settings,
            SecretBox(settings.fernet_key()),
            unit_id=unit_id,
            otp=otp,
            actor=ACTOR,
            correlation_id=f"renew-{uuid.uuid4().hex[:8]}",
            audit_tenant_id=tenant,
            timeout=timeout,
        )
    finally:
        await database.dispose()


async def _submit(settings: Settings, gateway: Gateway, unit_id: uuid.UUID) -> Any:
    database = Database(settings.database_url, app_role=settings.db_app_role, pool_size=2)
    try:
        async with ZatcaGateway(f"{gateway.url}/e-invoicing", "developer-portal", timeout=10) as zatca:
            return await submit_pending(database, settings, SecretBox(settings.fernet_key()), zatca, unit_id)
    finally:
        await database.dispose()


# --- renewal, against the local gateway --------------------------------------------------------------------------


def test_a_renewal_replaces_key_and_certificate_and_the_chain_goes_on(
    atlas: Any, local_gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = settings_for(atlas)
    _, admin = platform_admin(atlas)
    tenant = uuid.UUID(admin["tenant_id"])
    unit = run(_onboard(settings, local_gateway, tenant))
    assert unit.status == "production" and unit.active, unit.failure
    # near its end (test setup: the fake's certificates last a year)
    expires_in(atlas, unit.id, "5 days")

    # a document signed with the current certificate, not yet at ZATCA when the renewal starts
    _, buyer = atlas.new_tenant()
    set_profile(atlas, buyer["tenant_id"], vat_number=None, address=None)
    issue(atlas, buyer["tenant_id"], add_attempts(atlas, buyer["tenant_id"], 1))
    [first] = einvoices(atlas, unit.id)
    assert first["icv"] == 1 and first["status"] == "reporting"
    before = unit_row(atlas, unit.id)
    old_token, old_secret = credentials(settings, before)

    outcome = run(_renew(settings, unit.id, tenant))
    assert outcome.renewed, outcome.reason
    after = unit_row(atlas, unit.id)
    box = SecretBox(settings.fernet_key())
    new_token, new_secret = credentials(settings, after)
    assert after["status"] == "production" and after["active"] is True
    assert after["certificate_pem"] != before["certificate_pem"] and new_token != old_token
    assert box.decrypt(after["private_key_encrypted"]) != box.decrypt(before["private_key_encrypted"])
    assert outcome.unit.certificate_expires_at is not None
    assert outcome.unit.certificate_expires_at - utcnow() > timedelta(days=300)
    # the chain goes on: same head, and the pending document went to ZATCA under the CSID it was signed with
    assert (after["last_icv"], after["last_hash"]) == (1, first["invoice_hash"])
    assert einvoices(atlas, unit.id)[0]["status"] == "reported"
    # the new certificate is the new key's, and the gateway issued it for the same unit
    identity = SigningIdentity.from_binary_security_token(
        new_token, box.decrypt(after["private_key_encrypted"]).encode()
    )
    assert identity.certificate.public_bytes(Encoding.PEM).decode().strip() == after["certificate_pem"].strip()

    # the next documents: ICV 2 and 3, PIH the last hash, signed with the new certificate, cleared and reported
    set_profile(atlas, buyer["tenant_id"], vat_number="311111111100003", address=ADDRESS)
    issue(atlas, buyer["tenant_id"], add_attempts(atlas, buyer["tenant_id"], 1))
    set_profile(atlas, buyer["tenant_id"], vat_number=None, address=None)
    issue(atlas, buyer["tenant_id"], add_attempts(atlas, buyer["tenant_id"], 1))
    _, second, third = einvoices(atlas, unit.id)
    assert (second["icv"], second["pih"]) == (2, first["invoice_hash"])
    assert (third["icv"], third["pih"]) == (3, second["invoice_hash"])
    for row in (second, third):
        assert signing_certificate(row["xml"]) == certificate_body(after["certificate_pem"])
        assert verifier.check(row["xml"].encode(), expected_pih=row["pih"], expected_icv=row["icv"]) == []
    sent = run(_submit(settings, local_gateway, unit.id))
    # (a worker of another test's stack may have sent them first: then ZATCA's duplicate answer, still accepted)
    assert (sent.refused, sent.pending) == (0, 0), sent
    assert [r["status"] for r in einvoices(atlas, unit.id)] == ["reported", "cleared", "reported"]

    # audited, and nothing secret in the trail or the logs
    events = atlas.sql(
        "SELECT event_type, payload::text FROM audit_events WHERE tenant_id = %s "
        "AND event_type LIKE 'einvoicing_renewal%%' ORDER BY seq",
        (tenant,),
    )
    assert [e[0] for e in events] == ["einvoicing_renewal_started", "einvoicing_renewal_succeeded"]
    key_bodies = [certificate_body(box.decrypt(r["private_key_encrypted"])) for r in (before, after)]
    for value in (old_token, old_secret, new_token, new_secret, *key_bodies):
        assert value not in caplog.text and all(value not in e[1] for e in events)
    assert OTP not in caplog.text and OTP not in " ".join(e[1] for e in events)


def test_a_refused_otp_and_an_outage_leave_the_unit_as_it_was(atlas: Any, local_gateway: Gateway) -> None:
    settings = settings_for(atlas)
    _, admin = platform_admin(atlas)
    tenant = uuid.UUID(admin["tenant_id"])
    unit = run(_onboard(settings, local_gateway, tenant))
    before = unchanged_part(unit_row(atlas, unit.id))

    refused = run(_renew(settings, unit.id, tenant, otp="999999"))
    assert not refused.renewed and refused.code == "otp_refused" and "Fatoora portal" in (refused.reason or "")
    assert unchanged_part(unit_row(atlas, unit.id)) == before

    local_gateway.admin("POST", "faults", json={"kind": "server_error", "path": "production/csids", "status": 503})
    down = run(_renew(settings, unit.id, tenant))
    assert not down.renewed and down.code == "unavailable" and "try again later" in (down.reason or "")
    local_gateway.admin("POST", "faults", json={"kind": "hang", "path": "production/csids", "seconds": 3})
    slow = run(_renew(settings, unit.id, tenant, timeout=1))
    assert not slow.renewed and slow.code == "unavailable" and "did not answer" in (slow.reason or "")
    assert unchanged_part(unit_row(atlas, unit.id)) == before

    failed = atlas.sql(
        "SELECT payload->>'code' FROM audit_events WHERE tenant_id = %s AND event_type = 'einvoicing_renewal_failed' "
        "ORDER BY seq",
        (tenant,),
    )
    assert [f[0] for f in failed] == ["otp_refused", "unavailable", "unavailable"]

    # a retired unit is not renewed
    atlas.sql("UPDATE einvoicing_units SET active = false, status = 'retired' WHERE id = %s", (unit.id,))
    retired = run(_renew(settings, unit.id, tenant))
    assert not retired.renewed and retired.code == "not_renewable"
    with pytest.raises(LookupError):
        run(_renew(settings, uuid.uuid4(), tenant))


def test_the_cli_renews_the_active_unit_and_explains_a_refusal(
    atlas: Any, database_url: str, local_gateway: Gateway
) -> None:
    assert cli(database_url, local_gateway, "--otp", OTP, "--name", "cli renewal").returncode == 0
    [(unit_id, pem)] = atlas.sql("SELECT id, certificate_pem FROM einvoicing_units WHERE active")

    refused = cli(database_url, local_gateway, "--renew", "--otp", "000000")
    assert refused.returncode == 1 and "otp_refused" in refused.stderr and "Fatoora portal" in refused.stderr
    assert "000000" not in refused.stdout + refused.stderr
    assert atlas.sql("SELECT id, certificate_pem FROM einvoicing_units WHERE active") == [(unit_id, pem)]

    done = cli(database_url, local_gateway, "--renew", "--otp", OTP)
    assert done.returncode == 0, done.stderr
    assert "renewed" in done.stdout and "certificate expires" in done.stdout
    [(same_id, new_pem)] = atlas.sql("SELECT id, certificate_pem FROM einvoicing_units WHERE active")
    assert same_id == unit_id and new_pem != pem
    assert certificate_body(new_pem) not in done.stdout


# --- reminders ----------------------------------------------------------------------------------------------------


def test_the_reminder_thresholds() -> None:
    now = utcnow()
    assert threshold_for(now + timedelta(days=45), now) is None
    assert threshold_for(now + timedelta(days=30, hours=2), now) == 30
    assert threshold_for(now + timedelta(days=20), now) == 30
    assert threshold_for(now + timedelta(days=14, hours=1), now) == 14
    assert threshold_for(now + timedelta(days=5), now) == 7
    assert threshold_for(now + timedelta(days=2), now) == 3
    assert threshold_for(now + timedelta(hours=30), now) == 1
    assert threshold_for(now + timedelta(hours=3), now) == 1
    assert threshold_for(now - timedelta(seconds=1), now) == 0


def reminders(atlas: Any, unit_id: uuid.UUID) -> list[tuple[Any, ...]]:
    return atlas.sql(
        "SELECT (payload->>'threshold')::int, (payload->>'days_left')::int, payload->>'expired' FROM audit_events "
        "WHERE event_type = 'einvoicing_certificate_expiring' AND payload->>'unit_id' = %s ORDER BY occurred_at",
        (str(unit_id),),
    )


def test_the_check_reminds_once_per_unit_and_threshold(
    atlas: Any, unit: StoredUnit, caplog: pytest.LogCaptureFixture
) -> None:
    platform_admin(atlas)  # an operator's trail to record in
    settings = settings_for(atlas)

    async def check() -> Any:
        database = Database(settings.database_url, app_role=settings.db_app_role, pool_size=2)
        try:
            return await remind_expiring_certificate(database)
        finally:
            await database.dispose()

    expires_in(atlas, unit.id, "60 days")
    assert run(check()) is None and reminders(atlas, unit.id) == []

    expires_in(atlas, unit.id, "5 days")
    with caplog.at_level(logging.WARNING):
        first = run(check())
    assert first is not None and first.threshold == 7 and first.days_left == 4 and not first.expired
    assert any(
        r.levelno == logging.ERROR and "einvoicing_certificate.expiring" in r.getMessage() for r in caplog.records
    )
    assert run(check()) is None  # the second run of the day: nothing new
    assert reminders(atlas, unit.id) == [(7, 4, "false")]

    expires_in(atlas, unit.id, "50 hours")
    assert run(check()).threshold == 3
    expires_in(atlas, unit.id, "-1 hour")
    expired = run(check())
    assert expired.threshold == 0 and expired.expired
    assert run(check()) is None
    assert reminders(atlas, unit.id) == [(7, 4, "false"), (3, 2, "false"), (0, -1, "true")]
    stored = atlas.sql(
        "SELECT compliance_checks->'certificate_reminder' FROM einvoicing_units WHERE id = %s", (unit.id,)
    )
    assert stored[0][0]["threshold"] == 0


# --- the API, the banner, /metrics and the page (Atlas served, the gateway local) --------------------------------


@pytest.fixture(scope="module")
def zatca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with served_gateway(tmp_path_factory.mktemp("zatca")) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def atlas_zatca(database_url: str, oidc_url: str, zatca: Gateway) -> Iterator[Atlas]:
    with atlas_for_einvoicing(
        database_url,
        oidc_url,
        ATLAS_ZATCA_GATEWAY_URL=f"{zatca.url}/e-invoicing",
        ATLAS_ZATCA_TIMEOUT_SECONDS=2,
        ATLAS_SELLER_VAT_NUMBER=SELLER_VAT,
        ATLAS_METRICS_TOKEN=METRICS_TOKEN,
    ) as atlas:
        yield atlas


def onboarded(atlas: Atlas, admin: httpx.Client) -> dict[str, Any]:
    answer = admin.post("/api/platform/einvoicing/units", json={"otp": OTP, "name": "renewal API unit"})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_the_api_renews_and_answers_problem_details_leaving_the_unit_signing(
    atlas_zatca: Atlas, zatca: Gateway
) -> None:
    atlas = atlas_zatca
    admin, _ = platform_admin(atlas)
    unit = onboarded(atlas, admin)
    renewal = f"/api/platform/einvoicing/units/{unit['id']}/renewal"
    before = unit_row(atlas, unit["id"])

    wrong = admin.post(renewal, json={"otp": "999999"}, headers={"Accept-Language": "ar"})
    assert wrong.status_code == 422 and wrong.headers["content-type"].startswith("application/problem+json")
    problem = wrong.json()
    assert problem["type"] == "urn:atlas:problem:einvoicing-renewal-failed" and problem["field"] == "otp"
    assert "بوابة فاتورة" in problem["detail"] and problem["unit"]["status"] == "production"
    assert "999999" not in wrong.text

    zatca.admin("POST", "faults", json={"kind": "server_error", "path": "production/csids", "status": 503})
    down = admin.post(renewal, json={"otp": OTP}, headers={"Accept-Language": "en"})
    assert down.status_code == 503, down.text
    assert down.json()["type"] == "urn:atlas:problem:einvoicing-gateway-unavailable"
    assert "try again later" in down.json()["detail"]

    for body in ({"otp": "12"}, {"otp": "abcdef"}, {}, {"otp": OTP, "name": "x"}):
        bad = admin.post(renewal, json=body)
        assert bad.status_code in (400, 422) and bad.headers["content-type"].startswith("application/problem+json")
    assert admin.post(f"/api/platform/einvoicing/units/{uuid.uuid4()}/renewal", json={"otp": OTP}).status_code == 404
    tenant_admin, _ = atlas.new_tenant()
    assert tenant_admin.post(renewal, json={"otp": OTP}).status_code == 403
    assert unchanged_part(unit_row(atlas, unit["id"])) == unchanged_part(before)

    # still signing with its certificate, and ZATCA takes what it signs
    settings = settings_for(atlas)
    _, buyer = atlas.new_tenant()
    set_profile(atlas, buyer["tenant_id"], vat_number=None, address=None)
    issue(atlas, buyer["tenant_id"], add_attempts(atlas, buyer["tenant_id"], 1))
    [document] = einvoices(atlas, uuid.UUID(unit["id"]))
    assert signing_certificate(document["xml"]) == certificate_body(before["certificate_pem"])
    sent = run(_submit(settings, zatca, uuid.UUID(unit["id"])))
    assert (sent.refused, sent.pending) == (0, 0), sent
    assert [row["status"] for row in einvoices(atlas, uuid.UUID(unit["id"]))] == ["reported"]
    received = zatca.documents(endpoint="reporting", uuid=str(document["uuid"]))
    assert received and all(d["accepted"] and d["status"] == "REPORTED" for d in received)

    renewed = admin.post(renewal, json={"otp": OTP})
    assert renewed.status_code == 200, renewed.text
    answer = renewed.json()
    assert answer["status"] == "production" and answer["active"] and answer["last_icv"] == 1
    after = unit_row(atlas, unit["id"])
    assert after["certificate_pem"] != before["certificate_pem"]
    token, secret = credentials(settings, after)
    text = renewed.text
    assert token not in text and secret not in text and "BEGIN" not in text and OTP not in text
    assert "secret" not in text.lower()


def banner(html: str) -> str | None:
    match = re.search(r'data-testid="einvoicing-certificate-banner".*?</div>\s*</div>', html, re.S)
    return match.group(0) if match else None


def page_in(client: httpx.Client, path: str, lang: str) -> str:
    """A page in `lang` (the language cookie, as the switch sets it); checks it is that language's page."""
    client.cookies.set("atlas_lang", lang)
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    assert f'lang="{lang}"' in answer.text
    return answer.text


def metric(atlas: Atlas) -> str:
    answer = httpx.get(f"{atlas.base_url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert answer.status_code == 200
    return answer.text


def test_the_banner_shows_on_every_platform_page_and_the_gauge_counts_the_days(atlas_zatca: Atlas) -> None:
    atlas = atlas_zatca
    admin, me = platform_admin(atlas)
    unit = onboarded(atlas, admin)
    assert banner(admin.get("/platform").text) is None
    assert re.search(r'atlas_einvoicing_certificate_days_left\{environment="developer-portal"\} 3\d\d', metric(atlas))

    expires_in(atlas, unit["id"], "5 days")
    pages = ("/platform", "/platform/billing", f"/platform/tenants/{me['tenant_id']}")
    for path in pages:
        arabic = banner(page_in(admin, path, "ar"))
        assert arabic is not None and "/platform/billing#einvoicing-renew" in arabic, path
        assert "تنتهي خلال 4 أيام.</span>" in arabic and ">جدّد الشهادة<" in arabic, path  # the text shown
        english = banner(page_in(admin, path, "en"))
        assert english is not None and "certificate expires in 4 days.</span>" in english, path
        assert ">Renew the certificate<" in english, path
    assert 'atlas_einvoicing_certificate_days_left{environment="developer-portal"} 4.0' in metric(atlas)

    expires_in(atlas, unit["id"], "-2 hours")
    expired = banner(page_in(admin, "/platform", "en"))
    assert expired is not None and "has expired" in expired and 'data-expired="true"' in expired
    assert 'atlas_einvoicing_certificate_days_left{environment="developer-portal"} -1.0' in metric(atlas)

    # not for a tenant's people; and no sample once no unit is active
    tenant_admin, _ = atlas.new_tenant()
    assert banner(tenant_admin.get("/app").text) is None
    retire_active_units(atlas.database_url)
    assert "atlas_einvoicing_certificate_days_left{" not in metric(atlas)


@pytest.mark.browser
def test_a_platform_admin_renews_from_the_banner_in_arabic(atlas_zatca: Atlas, browser: Any) -> None:
    atlas = atlas_zatca
    admin, _ = platform_admin(atlas)
    unit = onboarded(atlas, admin)
    expires_in(atlas, unit["id"], "5 days")
    context, page = signed_in_page(browser, atlas.base_url, admin, lang="ar", locale="ar-SA")
    try:
        page.goto(f"{atlas.base_url}/platform")
        shown = page.get_by_test_id("einvoicing-certificate-banner")
        assert "تنتهي خلال" in shown.inner_text() and shown.get_attribute("data-days-left") == "4"
        assert page.evaluate("() => document.documentElement.dir") == "rtl"
        page.get_by_test_id("einvoicing-certificate-banner-link").click()
        page.wait_for_url(re.compile(r"/platform/billing#einvoicing-renew$"))
        section = page.get_by_test_id("einvoicing-renewal")
        assert section.get_attribute("data-prominent") == "true" and "تجديد الشهادة" in section.inner_text()

        form = page.get_by_test_id("einvoicing-renew")
        form.locator("input[name=otp]").fill("000111")
        form.locator("button[type=submit]").click()
        error = section.locator("[data-form-error]")
        error.wait_for(state="visible")
        assert "بوابة فاتورة" in error.inner_text()  # the OTP was refused: ask for a new one

        form.locator("input[name=otp]").fill(OTP)
        form.locator("button[type=submit]").click()
        page.wait_for_function(
            "() => Number(document.querySelector('[data-testid=einvoicing-days-left]')?.textContent) > 300",
            timeout=60_000,
        )
        assert page.get_by_test_id("einvoicing-certificate-banner").count() == 0
        assert page.get_by_test_id("einvoicing-renewal").get_attribute("data-prominent") == "false"
        page.goto(f"{atlas.base_url}/platform")
        assert page.get_by_test_id("einvoicing-certificate-banner").count() == 0
        html = page.content()
        stored = atlas.sql(
            "SELECT production_token_encrypted, private_key_encrypted FROM einvoicing_units WHERE active"
        )[0]
        assert not any(value in html for value in stored) and "BEGIN" not in html
    finally:
        context.close()


# --- the schedule: last, since its worker stays up for the session ------------------------------------------------


def test_the_billing_sweep_runs_the_check(stack: Any, unit: StoredUnit) -> None:
    """Through the real Temporal dev server and worker: two sweeps record the 7-day reminder once."""
    from temporalio.client import Client

    atlas = stack.atlas
    platform_admin(atlas)
    expires_in(atlas, unit.id, "5 days")
    env = stack.worker.env

    async def sweep() -> Any:
        client = await Client.connect(env["TEMPORAL_ADDRESS"])
        return await client.execute_workflow(
            "BillingSweep", id=f"sweep-{uuid.uuid4().hex[:8]}", task_queue=env["TEMPORAL_TASK_QUEUE"]
        )

    results = [run(sweep()), run(sweep())]
    # the schedule's own sweep may run between them: either way, one reminder
    assert sum(r["certificate_reminders"] for r in results) <= 1
    assert reminders(atlas, unit.id) == [(7, 4, "false")]
