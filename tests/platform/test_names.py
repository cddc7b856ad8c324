"""Names shown to other people carry no bidi control, invisible or control character: the shared cleaning, and
each way a name comes in (the onboarding wizard's tenant name, a connector's name, an API token's name, and the
names an OpenID provider sends), against the real app and its database."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from atlas.i18n import translate
from atlas.i18n.text import clean_name, clean_optional_name
from tests.connectors.oddapi import odd_api
from tests.services import html_page as page

OVERRIDE = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: "abc\u202eexe.fdp" reads "abcpdf.exe"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("abc\u202eexe.fdp", "abcexe.fdp"),
        ("\u202a\u202b\u202c\u202d\u202eX\u2066\u2067\u2068\u2069", "X"),  # embeddings, overrides, isolates
        ("\u200fمستودع\u200e الرياض\u061c", "مستودع الرياض"),  # marks, the Arabic letter mark
        ("\ufeffAcme\u00ad Co\u2060", "Acme Co"),  # BOM, soft hyphen, word joiner (all Cf)
        ("a\x00b\x07c\x7f", "abc"),  # control characters
        ("  North\t\nWarehouse \u2028 2 ", "North Warehouse 2"),  # any space or line break is one space
        ("می\u200cخواهم", "می\u200cخواهم"),  # the zero-width non-joiner Persian needs is kept
        ("\U0001f468\u200d\U0001f4bb team", "\U0001f468\u200d\U0001f4bb team"),  # an emoji sequence's joiner
        ("Cafe\u0301", "Café"),  # one spelling (NFC) for names that look the same
    ],
)
def test_a_name_keeps_what_people_see_and_loses_what_they_do_not(raw: str, shown: str) -> None:
    assert clean_name(raw) == shown
    assert clean_name(shown) == shown


def test_a_missing_name_or_one_with_nothing_visible_is_missing() -> None:
    assert clean_optional_name(None) is None
    assert clean_optional_name("\u202e\u2066 \u200f") is None
    assert clean_optional_name(" Sara ") == "Sara"


def test_a_tenant_name_from_the_wizard_and_a_token_name_are_stored_and_shown_clean(atlas: Any) -> None:
    admin, me = atlas.new_tenant(name=f"Acme{OVERRIDE}gnp.exe {uuid.uuid4().hex[:4]}")
    assert OVERRIDE not in me["tenant_name"] and me["tenant_name"].startswith("Acmegnp.exe ")
    [(stored,)] = atlas.sql("SELECT name FROM tenants WHERE id = %s", (me["tenant_id"],))
    assert stored == me["tenant_name"]
    created = admin.post("/api/tokens", json={"name": f"ci{OVERRIDE}nikat", "role": "viewer", "expires_in_days": 7})
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "cinikat"
    assert atlas.sql("SELECT name FROM api_tokens WHERE id = %s", (created.json()["id"],)) == [("cinikat",)]


def test_a_connector_name_is_stored_and_shown_without_the_override(atlas: Any) -> None:
    admin, me = atlas.new_tenant()
    with odd_api() as api:
        body = {
            "name": f"abc{OVERRIDE}exe.fdp",
            "base_url": api.base,
            "endpoints": [{"key": "items", "resource": "items", "path": "/items"}],
        }
        created = admin.post("/api/connectors", json=body)
        assert created.status_code == 201, created.text
        connector_id = created.json()["id"]
        assert created.json()["name"] == "abcexe.fdp"
        assert atlas.sql("SELECT name FROM connectors WHERE id = %s", (connector_id,)) == [("abcexe.fdp",)]
        html = page(admin, f"/app/connectors/{connector_id}").text
        assert "abcexe.fdp" in html and OVERRIDE not in html and "&#8238;" not in html
        renamed = admin.patch(f"/api/connectors/{connector_id}", json={"name": f"\u2067{OVERRIDE}Stock\u2069"})
        assert renamed.status_code == 200, renamed.text
        assert renamed.json()["name"] == "Stock"
        for lang in ("ar", "en"):
            invisible = admin.patch(
                f"/api/connectors/{connector_id}",
                json={"name": f"{OVERRIDE}\u200f "},
                headers={"Accept-Language": lang},
            )
            assert invisible.status_code == 422, invisible.text
            problem = invisible.json()
            assert problem["field"] == "name"
            assert problem["detail"] == translate("errors.name_invisible", lang)
        assert atlas.sql("SELECT name FROM connectors WHERE id = %s", (connector_id,)) == [("Stock",)]


def test_names_from_the_identity_provider_are_stored_and_shown_clean(atlas: Any) -> None:
    email = f"names-{uuid.uuid4().hex[:8]}@example.sa"
    atlas.set_user(email, name=f"Mallory{OVERRIDE}txt.exe", given_name=f"\u2066Mal{OVERRIDE}", family_name="Ory\u200f")
    client = atlas.client()
    callback = atlas.authorize_at_provider(atlas.begin_login(client), email)
    parsed = urlparse(callback)
    signed_in = client.get(parsed.path, params={k: v[0] for k, v in parse_qs(parsed.query).items()})
    assert signed_in.status_code in (302, 303), signed_in.text
    me = client.get("/api/auth/user").json()
    assert me["display_name"] == "Mallorytxt.exe"
    # A new person's tenant is named after them: clean too.
    assert me["tenant_name"] == "Mallorytxt.exe"
    [(display, tenant)] = atlas.sql(
        "SELECT u.display_name, t.name FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.email = %s", (email,)
    )
    assert (display, tenant) == ("Mallorytxt.exe", "Mallorytxt.exe")
    assert atlas.sql("SELECT first_name, last_name FROM auth_identities WHERE email = %s", (email,)) == [("Mal", "Ory")]
