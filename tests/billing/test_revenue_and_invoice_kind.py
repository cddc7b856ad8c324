"""Issue 19's billing details: the platform's MRR reports self-serve, contract and internal tenants apart (exact
figures through the API), and an invoice is titled by its buyer: a simplified tax invoice without a VAT number, a
tax invoice with one (ZATCA)."""

from __future__ import annotations

from tests.billing.conftest import set_state
from tests.billing.test_invoices import add_attempts, issue_concurrently
from tests.billing.test_pages import platform_admin
from tests.services import html_page

ENTERPRISE = 199_900


def money(overview: dict) -> tuple[int, int, int, int]:
    return (
        overview["mrr_halalas"],
        overview["mrr_self_serve_halalas"],
        overview["mrr_contract_halalas"],
        overview["internal_halalas"],
    )


def test_mrr_reports_self_serve_contract_and_internal_tenants_apart(atlas):
    operator, _ = platform_admin(atlas)
    shop, shop_me = atlas.new_tenant(org_type="smb", name="Self Serve Shop")
    big, big_me = atlas.new_tenant(org_type="enterprise", name="Contract Customer Co")
    before = operator.get("/api/platform/billing").json()
    mrr, self_serve, contract, internal = money(before)
    assert mrr == self_serve + contract

    # a self-serve subscription paid through Moyasar
    set_state(atlas, shop_me["tenant_id"], "active")
    shop_price = atlas.sql(
        "SELECT p.price_halalas FROM subscriptions s JOIN subscription_plans p ON p.id = s.plan_id "
        "WHERE s.tenant_id = %s",
        (shop_me["tenant_id"],),
    )[0][0]
    after_shop = money(operator.get("/api/platform/billing").json())
    assert after_shop == (mrr + shop_price, self_serve + shop_price, contract, internal)

    # an enterprise contract
    activated = operator.post(
        f"/api/platform/tenants/{big_me['tenant_id']}/activate-contract",
        json={"plan": "enterprise", "months": 12, "reference": "C-2026-019"},
    )
    assert activated.status_code == 200, activated.text
    with_contract = money(operator.get("/api/platform/billing").json())
    assert with_contract == (
        mrr + shop_price + ENTERPRISE,
        self_serve + shop_price,
        contract + ENTERPRISE,
        internal,
    )

    # the same contract tenant marked internal (the operator's own): out of revenue, into internal use
    atlas.sql("UPDATE subscriptions SET internal = true WHERE tenant_id = %s", (big_me["tenant_id"],))
    overview = operator.get("/api/platform/billing").json()
    assert money(overview) == (mrr + shop_price, self_serve + shop_price, contract, internal + ENTERPRISE)
    rows = {t["tenant_id"]: t for t in overview["subscriptions"]}
    assert rows[big_me["tenant_id"]]["internal"] is True and rows[shop_me["tenant_id"]]["internal"] is False
    assert rows[big_me["tenant_id"]]["billing_mode"] == "contract"

    # the page shows the split in both languages
    english = html_page(operator, "/platform/billing", cookies={"atlas_lang": "en"}).text
    assert f'data-mrr="{mrr + shop_price}"' in english
    assert f'data-testid="internal-use" data-halalas="{internal + ENTERPRISE}"' in english
    assert "Enterprise contracts" in english and "Internal use (not revenue)" in english
    arabic = html_page(operator, "/platform/billing", cookies={"atlas_lang": "ar"}).text
    assert "عقود المؤسسات الكبيرة" in arabic and "استخدام داخلي (ليس إيراداً)" in arabic
    assert shop.get("/api/platform/billing").status_code == 403
    assert big.get("/api/platform/billing").status_code == 403


def test_invoice_title_is_simplified_without_a_buyer_vat_number(atlas):
    admin, me = atlas.new_tenant(name="Consumer Shop")
    tenant = me["tenant_id"]
    attempts = add_attempts(atlas, tenant, 2)  # one paid charge before the VAT number is given, one after
    issue_concurrently(atlas, tenant, attempts[:1], set())
    first = admin.get("/api/invoices").json()[0]
    assert first["buyer_vat_number"] is None
    for lang in ("ar", "en"):
        page = html_page(admin, first["url"], cookies={"atlas_lang": lang}).text
        assert 'data-testid="invoice-title" data-kind="simplified"' in page
        assert "فاتورة ضريبية مبسطة" in page and "Simplified tax invoice" in page

    # with a VAT number, the national address a standard invoice names (issue 20)
    address = {"street": "Olaya Street", "building_number": "7788", "district": "Al Olaya", "city": "Riyadh"}
    saved = admin.put(
        "/api/billing/profile",
        json={"legal_name": "Consumer Shop LLC", "vat_number": "310122393500003", **address, "postal_code": "12211"},
    )
    assert saved.status_code == 200, saved.text
    issue_concurrently(atlas, tenant, attempts[1:], set())
    second = next(i for i in admin.get("/api/invoices").json() if i["id"] != first["id"])
    assert second["buyer_vat_number"] == "310122393500003"
    for lang in ("ar", "en"):
        page = html_page(admin, second["url"], cookies={"atlas_lang": lang}).text
        assert 'data-testid="invoice-title" data-kind="tax"' in page
        assert "Simplified" not in page and "مبسطة" not in page
        assert "فاتورة ضريبية" in page and "Tax invoice" in page
    # an issued invoice keeps the title it was issued with
    assert "Simplified tax invoice" in html_page(admin, first["url"]).text
