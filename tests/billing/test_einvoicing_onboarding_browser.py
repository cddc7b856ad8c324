"""The platform admin onboards Atlas's invoicing unit from the platform billing page (issue 20): the API
(`POST /api/platform/einvoicing/units`: platform admins only, problem details on every failure, no secret in the
answer) and the page in Chromium, in Arabic: OTP → the production unit, its six checks and its certificate's expiry.

Atlas runs with `ATLAS_ZATCA_GATEWAY_URL` at the real local gateway (`atlas.zatca_fake`) on a free port.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.billing.einvoice_helpers import atlas_for_einvoicing, served_gateway
from tests.billing.test_einvoicing_units import retire_active_units
from tests.browser_pages import signed_in_page
from tests.conftest import Atlas
from tests.zatca_fake.conftest import Gateway

OTP = "123345"


@pytest.fixture(scope="module", autouse=True)
def _retire_units_after_module(database_url: str) -> Iterator[None]:
    yield
    retire_active_units(database_url)


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
    ) as atlas:
        yield atlas


def platform_admin(atlas: Atlas) -> tuple[Any, dict[str, Any]]:
    admin, me = atlas.new_tenant(org_type="enterprise", name="Platform Ops (e-invoicing)")
    atlas.sql("UPDATE users SET platform_role = 'platform_admin' WHERE id = %s", (me["user_id"],))
    return admin, me


def test_the_api_onboards_a_unit_and_answers_no_secret(atlas_zatca: Atlas, zatca: Gateway) -> None:
    admin, me = platform_admin(atlas_zatca)
    answer = admin.post("/api/platform/einvoicing/units", json={"otp": OTP, "name": "API unit"})
    assert answer.status_code == 201, answer.text
    unit = answer.json()
    assert unit["status"] == "production" and unit["active"] and unit["name"] == "API unit"
    assert sorted(unit["checks"]) == sorted(
        f"{t}-{k}" for t in ("standard", "simplified") for k in ("388", "381", "383")
    )
    assert all(c["passed"] for c in unit["checks"].values()) and unit["days_left"] > 300
    stored = atlas_zatca.sql(
        "SELECT production_token_encrypted, production_secret_encrypted, private_key_encrypted FROM einvoicing_units "
        "WHERE id = %s",
        (unit["id"],),
    )[0]
    text = answer.text
    assert not any(value in text for value in stored)
    assert "BEGIN" not in text and "secret" not in text.lower() and OTP not in text
    samples = zatca.documents(endpoint="compliance/invoices")
    assert len(samples) >= 6 and all(d["accepted"] for d in samples[-6:])
    events = atlas_zatca.sql(
        "SELECT event_type, actor FROM audit_events WHERE tenant_id = %s AND event_type LIKE 'einvoicing%%' "
        "ORDER BY seq",
        (me["tenant_id"],),
    )
    assert events[-1][0] == "einvoicing_unit_activated" and events[-1][1].startswith("platform_admin:")


def test_the_api_answers_problem_details_for_a_wrong_otp_an_outage_and_bad_input(
    atlas_zatca: Atlas, zatca: Gateway
) -> None:
    admin, _ = platform_admin(atlas_zatca)
    active_before = atlas_zatca.sql("SELECT id FROM einvoicing_units WHERE active")

    wrong = admin.post("/api/platform/einvoicing/units", json={"otp": "654321"}, headers={"Accept-Language": "ar"})
    assert wrong.status_code == 422 and wrong.headers["content-type"].startswith("application/problem+json")
    problem = wrong.json()
    assert problem["type"] == "urn:atlas:problem:einvoicing-onboarding-failed" and problem["field"] == "otp"
    assert "بوابة فاتورة" in problem["detail"]  # the page's language: ask for a new OTP on the Fatoora portal
    assert problem["unit"]["status"] == "failed" and "654321" not in wrong.text

    zatca.admin("POST", "faults", json={"kind": "server_error", "path": "compliance", "status": 503})
    down = admin.post("/api/platform/einvoicing/units", json={"otp": OTP}, headers={"Accept-Language": "en"})
    assert down.status_code == 503, down.text
    assert down.json()["type"] == "urn:atlas:problem:einvoicing-gateway-unavailable"
    assert "try again later" in down.json()["detail"]

    zatca.admin("POST", "faults", json={"kind": "hang", "path": "compliance", "seconds": 4})
    slow = admin.post("/api/platform/einvoicing/units", json={"otp": OTP})
    assert slow.status_code == 503 and "did not answer" in slow.json()["unit"]["failure"]

    for body in ({"otp": "12"}, {"otp": "abcdef"}, {}, {"otp": OTP, "name": ""}, {"otp": OTP, "extra": 1}):
        bad = admin.post("/api/platform/einvoicing/units", json=body)
        assert bad.status_code in (400, 422) and bad.headers["content-type"].startswith("application/problem+json")
    assert atlas_zatca.sql("SELECT id FROM einvoicing_units WHERE active") == active_before

    tenant_admin, _ = atlas_zatca.new_tenant()
    refused = tenant_admin.post("/api/platform/einvoicing/units", json={"otp": OTP})
    assert refused.status_code == 403


@pytest.mark.browser
def test_a_platform_admin_onboards_the_unit_from_the_page_in_arabic(
    atlas_zatca: Atlas, zatca: Gateway, browser: Any
) -> None:
    admin, _ = platform_admin(atlas_zatca)
    context, page = signed_in_page(browser, atlas_zatca.base_url, admin, lang="ar", locale="ar-SA")
    try:
        page.goto(f"{atlas_zatca.base_url}/platform/billing")
        section = page.get_by_test_id("einvoicing-units")
        assert "وحدة الفوترة" in section.inner_text()
        form = page.get_by_test_id("einvoicing-onboard")
        form.locator("input[name=otp]").fill("000111")
        form.locator("button[type=submit]").click()
        error = section.locator("[data-form-error]")
        error.wait_for(state="visible")
        assert "بوابة فاتورة" in error.inner_text()  # the OTP was refused: ask for a new one

        form.locator("input[name=otp]").fill(OTP)
        form.locator("input[name=name]").fill("وحدة أطلس")
        form.locator("button[type=submit]").click()
        page.wait_for_function(
            "() => document.querySelector('[data-testid=einvoicing-unit]')?.dataset.status === 'production'",
            timeout=60_000,
        )
        unit = page.get_by_test_id("einvoicing-unit")
        assert "وحدة أطلس" in unit.inner_text() and "في الإنتاج" in unit.inner_text()
        checks = page.get_by_test_id("einvoicing-checks").locator("li")
        assert checks.count() == 6
        assert all(checks.nth(i).get_attribute("data-passed") == "true" for i in range(6))
        assert "فاتورة ضريبية مبسطة" in page.get_by_test_id("einvoicing-checks").inner_text()
        assert int(page.get_by_test_id("einvoicing-days-left").inner_text()) > 300
        assert page.get_by_test_id("einvoicing-expiring").count() == 0
        assert page.evaluate("() => document.documentElement.dir") == "rtl"
        html = page.content()
        stored = atlas_zatca.sql(
            "SELECT production_token_encrypted, private_key_encrypted FROM einvoicing_units WHERE active"
        )[0]
        assert not any(value in html for value in stored) and "BEGIN" not in html

        # within 30 days of the certificate's end the page warns
        atlas_zatca.sql("UPDATE einvoicing_units SET certificate_expires_at = now() + interval '12 days' WHERE active")
        page.reload()
        warning = page.get_by_test_id("einvoicing-expiring")
        assert warning.count() == 1
        assert "يوماً" in warning.inner_text()  # 11 days: Arabic's "many" form, through plural.day_oblique
    finally:
        context.close()
