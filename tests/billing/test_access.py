"""Access per subscription state (SPEC 5), enforced by the server on every registered route.

The expectation is written here from the product's table and each route's declared opt, independently of
`atlas.billing.states`: trial/active full; past_due read + approve/reject + billing; cancelled read-only +
billing; expired billing only. Sign-out, who-am-I and onboarding (routes open to any signed-in person) stay
open; public routes, the platform admin's cross-tenant routes and the execution lock's routes are not gated.
"""

from __future__ import annotations

import uuid

import pytest

from atlas.platform.rbac import Permission
from atlas.web.app import create_app
from tests.billing.conftest import set_state
from tests.platform.test_roles import MATRIX, ZERO, normalise
from tests.services import html_page

SAFE = {"GET", "HEAD", "OPTIONS"}
SPEC = {
    "trial": {"read", "decide", "write", "billing", "account"},
    "active": {"read", "decide", "write", "billing", "account"},
    "past_due": {"read", "decide", "billing", "account"},
    "cancelled": {"read", "billing", "account"},
    "expired": {"billing", "account"},
    "trial_ended": {"billing", "account"},
}


def handlers_by_route() -> dict[tuple[str, str], object]:
    app = create_app()
    found = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in handler.http_methods:
                path = route.path
                for name in (
                    "id",
                    "tenant_id",
                    "connector_id",
                    "mapping_id",
                    "run_id",
                    "record_id",
                    "recommendation_id",
                    "item_id",
                    "invoice_id",
                    "invitation_id",
                    "member_id",
                    "token_id",
                    "draft_id",
                ):
                    path = path.replace("{" + name + ":uuid}", "{id}")
                found[(method, path)] = handler
    return found


def kind_of(handler, method: str) -> str | None:
    opt = handler.opt
    if opt.get("public") or opt.get("execution_lock") or opt.get("permission") == Permission.PLATFORM_TENANTS:
        return None
    if opt.get("billing"):
        return "billing"
    if opt.get("authenticated"):
        return "account"
    if method in SAFE:
        return "read"
    if opt.get("permission") == Permission.DECIDE_RECOMMENDATIONS:
        return "decide"
    return "write"


HANDLERS = handlers_by_route()


def test_every_gated_route_is_walked():
    walked = {(m, normalise(p)) for m, p, _, _ in MATRIX}
    missing = [
        key
        for key, handler in HANDLERS.items()
        if key[0] not in ("HEAD", "OPTIONS")
        and not key[1].startswith(("/static", "/schema/"))
        and kind_of(handler, key[0]) is not None
        and key not in walked
    ]
    assert missing == []


@pytest.fixture(scope="module")
def tenant(atlas):
    admin, me = atlas.new_tenant(org_type="smb")
    return admin, me


@pytest.mark.parametrize("state", list(SPEC))
def test_every_route_in_every_state(atlas, tenant, state):
    admin, me = tenant
    set_state(atlas, me["tenant_id"], state)
    checked = 0
    try:
        for method, path, body, least in MATRIX:
            if path == "/api/logout" or least in ("public", "platform"):
                continue
            handler = HANDLERS[(method, normalise(path))]
            kind = kind_of(handler, method)
            if path == "/api/connectors" and method == "POST":
                body = {**body, "name": f"walk-{uuid.uuid4().hex[:8]}"}
            if path == "/api/invitations" and method == "POST":
                body = {**body, "email": f"walk-{uuid.uuid4().hex[:8]}@example.sa"}
            response = admin.request(method, path, json=body)
            if kind is None or kind in SPEC[state]:
                assert response.status_code != 402, (state, method, path, response.text[:300])
                # (no Moyasar in this server: the payment routes answer 503 by design)
                assert response.status_code < 500 or path in ("/api/payments",), (state, method, path, response.text)
            else:
                assert response.status_code == 402, (state, method, path, response.status_code)
                problem = response.json()
                assert problem["type"] == "urn:atlas:problem:subscription-required"
                assert problem["subscription_status"] == ("expired" if state == "trial_ended" else state)
                assert "/app/subscription" in problem["detail"]
            checked += 1
    finally:
        set_state(atlas, me["tenant_id"], "trial")
    assert checked > 60


def test_pages_of_an_expired_tenant_go_to_the_trial_ended_screen(atlas, tenant):
    admin, me = tenant
    set_state(atlas, me["tenant_id"], "trial_ended")
    try:
        for path in ("/app", "/app/connectors", "/app/recommendations", "/app/team", "/app/audit"):
            response = html_page(admin, path)
            assert response.status_code in (302, 303), (path, response.status_code)
            assert response.headers["location"] == "/app/subscription"
        page = html_page(admin, "/app/subscription")
        assert page.status_code == 200
        assert 'data-testid="trial-ended-title"' in page.text
        # sign-out, who-am-I and the static files stay open
        assert admin.get("/api/auth/user").status_code == 200
        assert admin.get("/static/atlas.js").status_code == 200
        assert admin.get("/i18n/catalogue.json").status_code == 200
    finally:
        set_state(atlas, me["tenant_id"], "trial")


def test_the_refusal_is_in_the_requests_language(atlas, tenant):
    admin, me = tenant
    set_state(atlas, me["tenant_id"], "cancelled")
    try:
        english = admin.post(
            "/api/invitations", json={"email": "x@example.sa", "role": "viewer"}, headers={"Accept-Language": "en"}
        )
        arabic = admin.post(
            "/api/invitations", json={"email": "x@example.sa", "role": "viewer"}, headers={"Accept-Language": "ar"}
        )
        assert english.status_code == arabic.status_code == 402
        assert "read-only" in english.json()["detail"]
        assert "للقراءة فقط" in arabic.json()["detail"]
        assert english.json()["code"] == "errors.subscription_cancelled"
        assert admin.get("/api/invitations").status_code == 200  # reading still works
    finally:
        set_state(atlas, me["tenant_id"], "trial")


def test_api_tokens_are_gated_the_same_way(atlas, tenant):
    admin, me = tenant
    token = atlas.token_client(admin, "admin")
    set_state(atlas, me["tenant_id"], "expired")
    try:
        assert token.get("/api/connectors").status_code == 402
        assert token.get("/api/subscriptions").status_code == 200
    finally:
        set_state(atlas, me["tenant_id"], "trial")


def test_another_tenants_state_does_not_leak(atlas, tenant):
    admin, me = tenant
    other, other_me = atlas.new_tenant()
    set_state(atlas, other_me["tenant_id"], "expired")
    try:
        assert admin.get("/api/connectors").status_code == 200
        assert other.get("/api/connectors").status_code == 402
    finally:
        set_state(atlas, other_me["tenant_id"], "trial")
    assert ZERO
