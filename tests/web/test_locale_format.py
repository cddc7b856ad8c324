"""Issue 19: money with thousands separators on the policies page, the tenant's time zone as a setting (API, bad
input, who may change it, the audit trail, the team page) and times and Hijri dates shown in it."""

from __future__ import annotations

import re
from datetime import datetime

from atlas.i18n.formats import format_datetime, hijri_date
from tests.billing.test_invoices import add_attempts, issue_concurrently
from tests.services import html_page


def test_policies_page_shows_money_with_thousands_separators(atlas):
    admin, _ = atlas.new_tenant()
    for lang in ("ar", "en"):
        page = html_page(admin, "/app/policies", cookies={"atlas_lang": lang}).text
        shown = page.split('data-testid="policy-max-value-shown"')[1].split("</span></span></span>")[0]
        assert ">250,000.00<" in shown and ("ر.س" if lang == "ar" else "SAR") in shown
        assert ">50,000.00<" in page.split('data-testid="policy-dry-value-shown"')[1][:400]
        assert 'value="250,000.00"' in page  # the field shows it too; policies.js reads it back exactly (issue 19)
    saved = admin.post("/api/policies", json={"rules": {"max_value_sar_per_action": "1234567.5"}, "note": "wider"})
    assert saved.status_code in (200, 201), saved.text
    page = html_page(admin, "/app/policies?left=0&right=1", cookies={"atlas_lang": "en"}).text
    assert ">1,234,567.50<" in page.split('data-testid="policy-max-value-shown"')[1][:400]
    diff = page.split('data-field="max_value_sar_per_action"')[1].split("</tr>")[0]
    assert ">250,000.00<" in diff and ">1,234,567.50<" in diff


def test_the_tenant_time_zone_is_a_setting_its_admin_changes(atlas):
    admin, me = atlas.new_tenant()
    assert admin.get("/api/tenant/settings").json() == {"time_zone": "Asia/Riyadh"}

    changed = admin.patch("/api/tenant/settings", json={"time_zone": "Europe/London"})
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"time_zone": "Europe/London"}
    assert admin.get("/api/tenant/settings").json() == {"time_zone": "Europe/London"}
    rows = atlas.sql("SELECT time_zone FROM tenants WHERE id = %s", (me["tenant_id"],))
    assert rows == [("Europe/London",)]
    events = atlas.sql(
        "SELECT payload FROM audit_events WHERE tenant_id = %s AND event_type = 'tenant_settings_changed'",
        (me["tenant_id"],),
    )
    assert len(events) == 1
    assert {k: events[0][0][k] for k in ("field", "from", "to")} == {
        "field": "time_zone",
        "from": "Asia/Riyadh",
        "to": "Europe/London",
    }

    # the team page offers every zone, the tenant's chosen; times on the audit page are in it, Hijri beside them
    team = html_page(admin, "/app/team", cookies={"atlas_lang": "en"}).text
    assert '<option value="Europe/London" selected>' in team and '<option value="Asia/Riyadh">' in team
    audit = html_page(admin, "/app/audit", cookies={"atlas_lang": "ar"}).text
    assert 'title="Europe/London"' in audit and 'data-testid="hijri-date"' in audit
    occurred = atlas.sql(
        "SELECT occurred_at FROM audit_events WHERE tenant_id = %s ORDER BY seq DESC LIMIT 1", (me["tenant_id"],)
    )[0][0]
    assert isinstance(occurred, datetime)
    assert format_datetime(occurred, "ar", "Europe/London", seconds=True) in audit
    assert f"({hijri_date(occurred, 'ar', 'Europe/London')})" in audit


def test_a_bad_time_zone_is_refused_with_problem_details(atlas):
    admin, me = atlas.new_tenant()
    for bad, lang in (("Mars/Olympus", "en"), ("Asia/Jeddah", "ar"), ("../../etc/passwd", "en"), (" ", "en")):
        response = admin.patch("/api/tenant/settings", json={"time_zone": bad}, headers={"Accept-Language": lang})
        assert response.status_code == 422, (bad, response.text)
        problem = response.json()
        assert response.headers["content-type"].startswith("application/problem+json")
        assert problem["type"] == "urn:atlas:problem:validation-failed" and problem["field"] == "time_zone"
        assert ("منطقة زمنية" if lang == "ar" else "not a known time zone") in problem["detail"]
    for body in ({"time_zone": "x" * 65}, {"time_zone": 3}, {}, {"time_zone": "UTC", "other": 1}):
        response = admin.patch("/api/tenant/settings", json=body)
        assert response.status_code in (400, 422), (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert admin.get("/api/tenant/settings").json() == {"time_zone": "Asia/Riyadh"}


def test_only_the_admin_changes_the_time_zone(atlas):
    admin, _ = atlas.new_tenant()
    operator, _ = atlas.member_client(admin, "operator")
    assert operator.get("/api/tenant/settings").json() == {"time_zone": "Asia/Riyadh"}
    assert operator.patch("/api/tenant/settings", json={"time_zone": "UTC"}).status_code == 403
    team = html_page(operator, "/app/team").text
    assert re.search(r'data-testid="tenant-time-zone"[^>]*disabled', team)
    other, _ = atlas.new_tenant()
    assert other.patch("/api/tenant/settings", json={"time_zone": "UTC"}).status_code == 200
    assert admin.get("/api/tenant/settings").json() == {"time_zone": "Asia/Riyadh"}  # each tenant its own


def test_an_invoice_shows_its_known_date_with_the_umm_al_qura_date_beside_it(atlas):
    admin, me = atlas.new_tenant(name="Hijri Shop")
    issue_concurrently(atlas, me["tenant_id"], add_attempts(atlas, me["tenant_id"], 1), set())
    invoice = admin.get("/api/invoices").json()[0]
    # behind the app's back (the app may not update an invoice): a known moment, 12:00 in Riyadh on 7 December 2026
    atlas.sql("UPDATE invoices SET issued_at = '2026-12-07 09:00:00+00' WHERE id = %s", (invoice["id"],))
    expected = {
        "ar": ("7 ديسمبر 2026 12:00 م", "(27 جمادى الآخرة 1448 هـ)"),
        "en": ("December 7, 2026 12:00\u202fPM", "(27 Jumada al-Akhirah 1448 AH)"),
    }
    for lang, (gregorian, hijri) in expected.items():
        page = html_page(admin, invoice["url"], cookies={"atlas_lang": lang}).text
        issued = page.split('data-testid="invoice-issued"')[1].split("</p>")[0]
        assert f">{gregorian}</time>" in issued and f">{hijri}</span>" in issued
        assert 'datetime="2026-12-07T09:00:00+00:00" title="Asia/Riyadh"' in issued
        listing = html_page(admin, "/app/subscription", cookies={"atlas_lang": lang}).text
        assert hijri in listing
