"""The billing profile a ZATCA standard invoice needs (issue 20): legal names in Arabic and English, the national
address required with a VAT number, the CRN; every problem answered at once in both languages, nothing partial
saved, Arabic-Indic digits normalised, other tenants kept out; the invoice keeps the address it was issued with;
migration 0022 up and down on a database with profiles; the seller's settings pass the same checks."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from atlas.billing.services import ProfileInput, checked_profile
from atlas.config import Settings
from tests.billing.test_invoices import add_attempts, issue_concurrently
from tests.services import html_page, with_database

PROFILE = "/api/billing/profile"
ADDRESS = {
    "street": "King Abdulaziz Road",
    "building_number": "1234",
    "additional_number": "5678",
    "district": "Al Malaz",
    "city": "Riyadh",
    "postal_code": "12629",
}
FULL = {"legal_name_ar": "شركة النخيل للتجارة", "legal_name_en": "Nakheel Trading Co", "vat_number": "310122393500003"}
FULL = {**FULL, **ADDRESS, "country": "SA", "crn": "1010654321"}
STORED = ("legal_name_ar", "legal_name_en", "vat_number", *ADDRESS, "country", "crn")


def put(client: Any, body: dict[str, Any], lang: str = "en") -> Any:
    return client.put(PROFILE, json=body, headers={"Accept-Language": lang})


def stored_row(atlas: Any, tenant_id: str) -> tuple[Any, ...] | None:
    rows = atlas.sql(f"SELECT {', '.join(STORED)} FROM billing_profiles WHERE tenant_id = %s", (tenant_id,))
    return rows[0] if rows else None


def audit_count(atlas: Any, tenant_id: str) -> int:
    return atlas.sql(
        "SELECT count(*) FROM audit_events WHERE tenant_id = %s AND event_type = 'billing_profile_updated'",
        (tenant_id,),
    )[0][0]


def test_the_profile_round_trips_through_the_api_and_is_audited(atlas):
    admin, me = atlas.new_tenant(name="Nakheel Trading")
    before = admin.get(PROFILE).json()
    assert before["legal_name"] == "Nakheel Trading" and before["legal_name_en"] == "Nakheel Trading"
    assert before["legal_name_ar"] is None and before["country"] == "SA" and before["street"] is None
    assert before["updated_at"] is None

    saved = put(admin, FULL)
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert {key: body[key] for key in FULL} == FULL
    assert body["legal_name"] == "شركة النخيل للتجارة"  # invoices print the Arabic name first
    assert admin.get(PROFILE).json() == body
    assert stored_row(atlas, me["tenant_id"]) == tuple(FULL[key] for key in STORED)

    payload = atlas.sql(
        "SELECT payload FROM audit_events WHERE tenant_id = %s AND event_type = 'billing_profile_updated' "
        "ORDER BY seq DESC LIMIT 1",
        (me["tenant_id"],),
    )[0][0]
    assert {key: payload[key] for key in FULL} == FULL

    # PUT replaces the profile: without a VAT number the address may go, and what is not sent is emptied
    cleared = put(admin, {"legal_name_en": "Nakheel Trading Co"})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["vat_number"] is None and cleared.json()["street"] is None
    assert cleared.json()["legal_name"] == "Nakheel Trading Co" and cleared.json()["country"] == "SA"

    viewer, _ = atlas.member_client(admin, "viewer")
    assert viewer.get(PROFILE).json()["legal_name_en"] == "Nakheel Trading Co"
    assert put(viewer, FULL).status_code == 403


def test_arabic_indic_digits_and_spaces_are_normalised(atlas):
    admin, me = atlas.new_tenant()
    sent = {
        **FULL,
        "vat_number": "٣١٠ ١٢٢ ٣٩٣٥ ٠٠٠٠٣",
        "building_number": "٢٤١٧",
        "additional_number": "۸۷۵۴",  # Persian digits, as some keyboards type them
        "postal_code": "١٢ ٢١٤",
        "crn": "١٠١٠ ١٢٣ ٤٥٦",
        "country": "sa",
    }
    saved = put(admin, sent)
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert (body["vat_number"], body["building_number"], body["additional_number"]) == (
        "310122393500003",
        "2417",
        "8754",
    )
    assert (body["postal_code"], body["crn"], body["country"]) == ("12214", "1010123456", "SA")
    assert stored_row(atlas, me["tenant_id"])[2] == "310122393500003"


def test_a_name_sent_the_old_way_goes_to_the_language_it_is_written_in(atlas):
    admin, _ = atlas.new_tenant()
    arabic = put(admin, {"legal_name": "مؤسسة الريان التجارية"}).json()
    assert (arabic["legal_name_ar"], arabic["legal_name_en"]) == ("مؤسسة الريان التجارية", None)
    latin = put(admin, {"legal_name": "  Al Rayyan   Trading  "}).json()
    assert (latin["legal_name_ar"], latin["legal_name_en"]) == (None, "Al Rayyan Trading")
    short = put(admin, {"legal_name": "x"})
    assert short.status_code == 422 and short.json()["field"] == "legal_name"


# (body, the fields named in order, the first field's message key, words of its message in English and Arabic)
INVALID = {
    "no_name": ({}, ["legal_name_ar"], "errors.billing_profile.legal_name_required", "legal name", "الاسم القانوني"),
    "name_too_short": ({"legal_name_en": "A"}, ["legal_name_en"], "errors.legal_name_length", "2 to 200", "بين حرفين"),
    "vat_form": (
        {**FULL, "vat_number": "300000000000000"},
        ["vat_number"],
        "errors.vat_number_invalid",
        "15 digits",
        "15 رقماً",
    ),
    "vat_without_address": (
        {"legal_name_en": "Nakheel Trading Co", "vat_number": "310122393500003"},
        ["street", "building_number", "district", "city", "postal_code"],
        "errors.billing_profile.required_with_vat",
        "Street is required with a VAT number",
        "«الشارع» مطلوب مع الرقم الضريبي",
    ),
    "vat_without_city": (
        {**FULL, "city": "  "},
        ["city"],
        "errors.billing_profile.required_with_vat",
        "City is required with a VAT number",
        "«المدينة» مطلوب",
    ),
    "building_number": ({**FULL, "building_number": "123"}, ["building_number"], None, "4 digits", "4 أرقام"),
    "additional_number": ({**FULL, "additional_number": "12345"}, ["additional_number"], None, "4 digits", "4 أرقام"),
    "postal_code": ({**FULL, "postal_code": "1234"}, ["postal_code"], None, "5 digits", "5 أرقام"),
    "postal_code_letters": ({**FULL, "postal_code": "12A45"}, ["postal_code"], None, "5 digits", "5 أرقام"),
    "country": ({**FULL, "country": "XX"}, ["country"], None, "ISO 3166", "ISO 3166"),
    "crn": ({**FULL, "crn": "12345"}, ["crn"], None, "10 digits", "10 أرقام"),
    "street_too_long": (
        {**FULL, "street": "ش" * 201},
        ["street"],
        "errors.billing_profile.too_long",
        "at most 200 characters",
        "200 حرف",
    ),
    "several_at_once": (
        {**FULL, "building_number": "12", "postal_code": "1", "crn": "9"},
        ["building_number", "postal_code", "crn"],
        "errors.billing_profile.building_number",
        "4 digits",
        "4 أرقام",
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_every_problem_is_named_in_both_languages_and_nothing_is_saved(atlas, case):
    body, fields, code, english, arabic = INVALID[case]
    admin, me = atlas.new_tenant()
    assert put(admin, FULL).status_code == 200
    saved_before, audited_before = stored_row(atlas, me["tenant_id"]), audit_count(atlas, me["tenant_id"])
    for lang, words in (("en", english), ("ar", arabic)):
        response = put(admin, body, lang)
        assert response.status_code == 422, response.text
        problem = response.json()
        assert response.headers["content-type"].startswith("application/problem+json")
        assert problem["field"] == fields[0]
        assert problem["code"] == (code or f"errors.billing_profile.{fields[0]}")
        assert [e["field"] for e in problem["errors"]] == fields
        assert words in problem["detail"], problem["detail"]
        assert problem["errors"][0]["message"] == problem["detail"]
        assert all(e["message"] and e["source"] == "body" for e in problem["errors"])
    assert stored_row(atlas, me["tenant_id"]) == saved_before
    assert audit_count(atlas, me["tenant_id"]) == audited_before


def test_each_missing_field_is_named_by_its_label_in_the_requests_language(atlas):
    admin, _ = atlas.new_tenant()
    body = {"legal_name_en": "Nakheel Trading Co", "vat_number": "310122393500003"}
    english = [e["message"] for e in put(admin, body, "en").json()["errors"]]
    arabic = [e["message"] for e in put(admin, body, "ar").json()["errors"]]
    for label in ("Street", "Building number", "District", "City", "Postal code"):
        assert any(m.startswith(f"{label} is required with a VAT number") for m in english), (label, english)
    for label in ("الشارع", "رقم المبنى", "الحي", "المدينة", "الرمز البريدي"):
        assert any(m.startswith(f"«{label}» مطلوب مع الرقم الضريبي") for m in arabic), (label, arabic)


def test_a_foreign_address_is_not_held_to_the_saudi_forms(atlas):
    admin, _ = atlas.new_tenant()
    foreign = {**FULL, "country": "AE", "building_number": "12B", "postal_code": "DXB 00000", "additional_number": None}
    saved = put(admin, foreign)
    assert saved.status_code == 200, saved.text
    assert (saved.json()["country"], saved.json()["postal_code"]) == ("AE", "DXB00000")  # spaces go, like digits'


def test_another_tenant_cannot_read_the_profile(atlas):
    admin, me = atlas.new_tenant(name="Isolated Co")
    assert put(admin, FULL).status_code == 200
    other, other_me = atlas.new_tenant(name="Other Co")
    seen = other.get(PROFILE).json()
    assert seen["legal_name"] == "Other Co" and seen["vat_number"] is None and seen["street"] is None
    # row-level security: the application's role, in the other tenant's transaction, sees no row of the first
    rows = atlas.as_app_role(
        "SELECT street, crn FROM billing_profiles WHERE tenant_id = %s",
        (me["tenant_id"],),
        tenant_id=uuid.UUID(other_me["tenant_id"]),
    )
    assert rows == []
    mine = atlas.as_app_role(
        "SELECT street, crn FROM billing_profiles", tenant_id=uuid.UUID(me["tenant_id"])
    )  # … and its own tenant sees it
    assert mine == [(FULL["street"], FULL["crn"])]


def test_the_invoice_keeps_the_buyers_address_and_crn_it_was_issued_with(atlas):
    admin, me = atlas.new_tenant(name="Address Buyer")
    tenant = me["tenant_id"]
    attempts = add_attempts(atlas, tenant, 2)
    issue_concurrently(atlas, tenant, attempts[:1], set())  # before any profile: no address
    plain = admin.get("/api/invoices").json()[0]
    assert plain["buyer_address"] is None and plain["buyer_crn"] is None
    assert 'data-testid="invoice-buyer-address"' not in html_page(admin, plain["url"]).text

    assert put(admin, FULL).status_code == 200
    issue_concurrently(atlas, tenant, attempts[1:], set())
    invoice = next(i for i in admin.get("/api/invoices").json() if i["id"] != plain["id"])
    assert invoice["buyer_address"] == {**ADDRESS, "country": "SA"}
    assert invoice["buyer_crn"] == "1010654321" and invoice["buyer_legal_name"] == "شركة النخيل للتجارة"
    for lang in ("ar", "en"):
        page = html_page(admin, invoice["url"], cookies={"atlas_lang": lang}).text
        assert 'data-testid="invoice-buyer-address"' in page and 'data-testid="invoice-buyer-crn"' in page
        for part in ("King Abdulaziz Road", "1234", "5678", "Al Malaz", "Riyadh", "12629", "1010654321"):
            assert part in page, part
        assert "العنوان" in page and "Address" in page  # both languages at once, as the rest of the invoice

    # a later change of the profile leaves the issued invoice as it was
    assert put(admin, {**FULL, "street": "Prince Sultan Street", "crn": "2050000001"}).status_code == 200
    again = admin.get(f"/api/invoices/{invoice['id']}").json()
    assert again["buyer_address"]["street"] == "King Abdulaziz Road" and again["buyer_crn"] == "1010654321"


def test_the_subscription_page_shows_the_saved_profile_to_a_viewer(atlas):
    admin, _ = atlas.new_tenant()
    assert put(admin, FULL).status_code == 200
    viewer, _ = atlas.member_client(admin, "viewer")
    page = html_page(viewer, "/app/subscription").text
    assert 'data-testid="profile-details"' in page and 'data-testid="profile-form"' not in page
    for part in ("شركة النخيل للتجارة", "Nakheel Trading Co", "310122393500003", "King Abdulaziz Road", "1010654321"):
        assert part in page, part


# --- the seller's settings --------------------------------------------------------------------------------------


def test_the_sellers_demo_settings_pass_the_buyers_checks():
    settings = Settings()
    seller = ProfileInput(
        legal_name_ar=settings.seller_legal_name_ar,
        legal_name_en=settings.seller_legal_name_en,
        vat_number=settings.seller_vat_number,
        street=settings.seller_street,
        building_number=settings.seller_building_number,
        additional_number=settings.seller_additional_number,
        district=settings.seller_district,
        city=settings.seller_city,
        postal_code=settings.seller_postal_code,
        country=settings.seller_country,
        crn=settings.seller_crn,
    )
    assert checked_profile(seller)["postal_code"] == settings.seller_postal_code


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("ATLAS_SELLER_POSTAL_CODE", "1221"),
        ("ATLAS_SELLER_BUILDING_NUMBER", "24"),
        ("ATLAS_SELLER_CITY", " "),
        ("ATLAS_SELLER_COUNTRY", "XX"),
        ("ATLAS_SELLER_CRN", "10101"),
    ],
)
def test_a_wrong_seller_setting_refuses_to_start_naming_it(monkeypatch, setting, value):
    monkeypatch.setenv(setting, value)
    with pytest.raises(ValueError, match=setting):
        Settings()


def test_the_sellers_digits_are_normalised(monkeypatch):
    monkeypatch.setenv("ATLAS_SELLER_POSTAL_CODE", "١٢ ٢١٤")
    monkeypatch.setenv("ATLAS_SELLER_CRN", "١٠١٠ ١٢٣ ٤٥٦")
    settings = Settings()
    assert (settings.seller_postal_code, settings.seller_crn) == ("12214", "1010123456")


# --- migration 0022 ----------------------------------------------------------------------------------------------


def test_migration_0022_up_and_down_on_a_database_with_profiles(pg_server: str) -> None:
    """At 0021 two tenants have a profile, one with an Arabic name, one with a Latin one; 0022 files each under its
    language and keeps row-level security; going back to 0021 restores ``legal_name``; 0022 again works."""
    from alembic import command

    from atlas.db.migrate import alembic_config, upgrade

    name = f"atlas_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(with_database(pg_server, "postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(pg_server, name)
    sync_url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    tenants = {"arabic": uuid.uuid4(), "latin": uuid.uuid4()}
    names = {"arabic": "شركة الواحة 2", "latin": "Oasis Trading 2"}
    try:
        with psycopg.connect(with_database(pg_server, "postgres"), autocommit=True) as lock:
            lock.execute("SELECT pg_advisory_lock(7301)")  # roles are cluster-wide: migrate one at a time
            try:
                upgrade(sync_url, "0021")
                with psycopg.connect(url, autocommit=True) as conn:
                    for key, tenant_id in tenants.items():
                        conn.execute(
                            "INSERT INTO tenants (id, name, created_at) VALUES (%s, %s, now())", (tenant_id, key)
                        )
                        conn.execute(
                            "INSERT INTO billing_profiles (id, tenant_id, legal_name, vat_number, updated_at) "
                            "VALUES (%s, %s, %s, %s, now())",
                            (uuid.uuid4(), tenant_id, names[key], "310122393500003" if key == "arabic" else None),
                        )
                upgrade(sync_url, "0022")
                with psycopg.connect(url, autocommit=True) as conn:
                    rows = dict(
                        conn.execute(
                            "SELECT tenant_id, (legal_name_ar, legal_name_en, country, street, crn) "
                            "FROM billing_profiles"
                        ).fetchall()
                    )
                    assert rows[tenants["arabic"]] == (names["arabic"], None, "SA", None, None)
                    assert rows[tenants["latin"]] == (None, names["latin"], "SA", None, None)
                    security = conn.execute(
                        "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = 'billing_profiles'"
                    ).fetchone()
                    assert security == (True, True)
                    with pytest.raises(psycopg.errors.CheckViolation):
                        conn.execute(
                            "UPDATE billing_profiles SET legal_name_ar = NULL WHERE tenant_id = %s",
                            (tenants["arabic"],),
                        )
                    columns = {
                        r[0]
                        for r in conn.execute(
                            "SELECT column_name FROM information_schema.columns WHERE table_name = 'invoices'"
                        )
                    }
                    assert {"buyer_address", "buyer_crn"} <= columns
                    # the application's role reads and writes the new columns in its tenant's transaction
                    conn.execute("BEGIN")
                    conn.execute("SET LOCAL ROLE atlas_app")
                    conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenants["latin"]),))
                    conn.execute("UPDATE billing_profiles SET street = 'Olaya Street', crn = '1010000001'")
                    seen = conn.execute("SELECT legal_name_en, street FROM billing_profiles").fetchall()
                    conn.execute("ROLLBACK")
                    assert seen == [(names["latin"], "Olaya Street")]  # one tenant's row, not both

                command.downgrade(alembic_config(sync_url), "0021")
                with psycopg.connect(url, autocommit=True) as conn:
                    back = dict(conn.execute("SELECT tenant_id, legal_name FROM billing_profiles").fetchall())
                    assert back == {tenants["arabic"]: names["arabic"], tenants["latin"]: names["latin"]}
                upgrade(sync_url)
            finally:
                lock.execute("SELECT pg_advisory_unlock(7301)")
    finally:
        with psycopg.connect(with_database(pg_server, "postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
