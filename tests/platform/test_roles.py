"""The permission matrix: every role against every route, with sessions and with API tokens."""

from __future__ import annotations

import re
import uuid

import pytest

from atlas.platform.rbac import ROLE_PERMISSIONS, Permission, Role
from atlas.web.app import create_app
from atlas.web.ui.guards import route_access

ZERO = "00000000-0000-0000-0000-000000000000"

# (method, path, body, the least role that may call it). "public" needs no sign-in,
# "any" needs any signed-in person or token, "platform" a platform admin.
MATRIX = [
    ("GET", "/", None, "public"),
    ("GET", "/signin", None, "public"),
    ("GET", "/health", None, "public"),
    ("GET", "/ready", None, "public"),
    ("GET", "/metrics", None, "public"),  # behind its own token (ATLAS_METRICS_TOKEN), else 404: no person's role
    ("GET", "/schema", None, "public"),
    ("GET", "/schema/openapi.json", None, "public"),
    ("GET", "/i18n/catalogue.json", None, "public"),
    ("GET", "/api/subscription-plans", None, "public"),
    ("GET", "/api/login", None, "public"),
    ("GET", "/api/auth/callback", None, "public"),
    ("GET", "/api/auth/user", None, "any"),
    ("GET", "/onboarding", None, "any"),
    ("GET", "/api/onboarding/status", None, "viewer"),
    ("GET", "/api/members", None, "viewer"),
    ("GET", "/api/invitations", None, "viewer"),
    ("GET", "/api/audit-logs", None, "viewer"),
    # the audit trail's signed checkpoints and export (issue 16): the public key is public
    ("GET", "/api/audit/checkpoints", None, "admin"),
    ("POST", "/api/audit/checkpoints", None, "admin"),
    ("GET", "/api/audit/checkpoints/public-key", None, "public"),
    ("GET", "/api/audit/export", None, "admin"),
    ("GET", "/api/subscriptions", None, "viewer"),
    ("GET", "/app", None, "viewer"),
    ("GET", "/app/team", None, "viewer"),
    ("GET", "/app/audit", None, "viewer"),
    (
        "POST",
        "/api/onboarding/complete",
        {"company_name": "X Co", "org_type": "smb", "use_case": "inventory_management"},
        "admin",
    ),
    ("POST", "/api/invitations", {"email": "matrix@example.sa", "role": "viewer"}, "admin"),
    ("DELETE", f"/api/invitations/{ZERO}", None, "admin"),
    ("PATCH", f"/api/members/{ZERO}", {"role": "viewer"}, "admin"),
    ("DELETE", f"/api/members/{ZERO}", None, "admin"),
    # the tenant's own settings (issue 19): its time zone, read by everyone, changed by the admin
    ("GET", "/api/tenant/settings", None, "viewer"),
    ("PATCH", "/api/tenant/settings", {"time_zone": "Asia/Riyadh"}, "admin"),
    ("GET", "/api/tokens", None, "admin"),
    ("POST", "/api/tokens", {"name": "matrix", "role": "viewer", "expires_in_days": 1}, "admin"),
    ("DELETE", f"/api/tokens/{ZERO}", None, "admin"),
    ("GET", "/app/tokens", None, "admin"),
    ("GET", "/api/platform/tenants", None, "platform"),
    ("GET", f"/api/platform/tenants/{ZERO}", None, "platform"),
    ("GET", "/platform", None, "platform"),
    ("GET", f"/platform/tenants/{ZERO}", None, "platform"),
    ("GET", "/api/connectors", None, "viewer"),
    ("GET", f"/api/connectors/{ZERO}", None, "viewer"),
    ("GET", f"/api/connectors/{ZERO}/health", None, "viewer"),
    (
        "POST",
        "/api/connectors",
        {
            "name": "m",
            "base_url": "http://127.0.0.1:9",
            "endpoints": [{"key": "items", "resource": "items", "path": "/items"}],
        },
        "admin",
    ),
    ("PATCH", f"/api/connectors/{ZERO}", {"name": "x"}, "admin"),
    ("DELETE", f"/api/connectors/{ZERO}", None, "admin"),
    ("POST", f"/api/connectors/{ZERO}/test", None, "admin"),
    ("GET", "/app/connectors", None, "viewer"),
    ("GET", f"/app/connectors/{ZERO}", None, "viewer"),
    ("GET", "/app/connectors/new", None, "admin"),
    ("GET", f"/app/connectors/{ZERO}/edit", None, "admin"),
    # presets: the chooser and the wizard, the list, and connecting one (an unknown preset is a 422 after the guard)
    ("GET", "/api/presets", None, "viewer"),
    ("GET", "/api/presets/inventree", None, "viewer"),
    ("POST", "/api/presets/inventree/connect", {"base_url": "http://127.0.0.1:9", "inputs": {}}, "admin"),
    ("GET", "/app/connectors/connect", None, "admin"),
    ("GET", "/app/connectors/connect/inventree", None, "admin"),
    ("GET", "/api/analysis-runs", None, "viewer"),
    # the mapping editor (any endpoint key) and capability discovery pages
    ("GET", f"/app/connectors/{ZERO}/mappings/items", None, "viewer"),
    ("GET", f"/app/connectors/{ZERO}/discover", None, "admin"),
    ("GET", "/api/mappings", None, "viewer"),
    ("POST", "/api/mappings", {}, "admin"),
    ("GET", f"/api/mappings/{ZERO}", None, "viewer"),
    ("POST", f"/api/mappings/{ZERO}/versions", {"spec": {}}, "admin"),
    ("POST", f"/api/mappings/{ZERO}/activate/1", None, "admin"),
    ("GET", f"/api/mappings/{ZERO}/diff?left=1&right=2", None, "viewer"),
    ("POST", "/api/mappings/preview", {}, "admin"),
    ("POST", f"/api/connectors/{ZERO}/sync", None, "admin"),
    ("POST", f"/api/connectors/{ZERO}/discover", None, "admin"),
    ("POST", f"/api/connectors/{ZERO}/discover/adopt", {"endpoints": [], "mappings": {}}, "admin"),
    ("POST", "/api/discovery", {"base_url": "http://127.0.0.1:9"}, "admin"),
    ("POST", "/api/discovery/adopt", {}, "admin"),
    ("GET", "/app/connectors/new/other", None, "admin"),
    ("GET", f"/api/connectors/{ZERO}/syncs", None, "viewer"),
    ("GET", f"/api/syncs/{ZERO}", None, "viewer"),
    ("GET", "/api/quarantine", None, "viewer"),
    ("POST", "/api/quarantine/reprocess", {}, "admin"),
    ("POST", f"/api/quarantine/{ZERO}/dismiss", None, "admin"),
    ("GET", "/api/quarantine/groups", None, "viewer"),
    ("POST", "/api/quarantine/groups/reprocess", {}, "admin"),
    ("POST", "/api/quarantine/groups/lookup", {}, "admin"),
    ("GET", "/api/inventory/items", None, "viewer"),
    ("GET", "/api/inventory/locations", None, "viewer"),
    ("GET", "/api/inventory/balances", None, "viewer"),
    ("GET", "/api/inventory/movements", None, "viewer"),
    ("GET", "/api/inventory/open-orders", None, "viewer"),
    ("GET", "/app/inventory", None, "viewer"),
    ("GET", "/app/inventory?tab=movements", None, "viewer"),
    ("GET", "/app/quarantine", None, "viewer"),
    ("GET", "/api/recommendations", None, "viewer"),
    ("POST", "/api/recommendations", None, "operator"),
    ("GET", f"/api/recommendations/{ZERO}", None, "viewer"),
    ("GET", "/api/anomalies", None, "viewer"),
    ("GET", f"/api/forecasts?item_id={ZERO}", None, "viewer"),
    ("GET", "/app/recommendations", None, "viewer"),
    ("GET", f"/app/recommendations/{ZERO}", None, "viewer"),
    ("GET", "/app/anomalies", None, "viewer"),
    ("GET", f"/app/items/{ZERO}", None, "viewer"),
    # policies, execution drafts and the execution lock (issue 6)
    ("GET", "/api/policies", None, "viewer"),
    ("POST", "/api/policies", {"rules": {}, "note": "matrix"}, "admin"),
    ("GET", "/api/policies/versions/1", None, "viewer"),
    ("GET", "/app/policies", None, "viewer"),
    ("GET", "/api/drafts", None, "viewer"),
    ("GET", f"/api/drafts/{ZERO}", None, "viewer"),
    ("GET", "/api/drafts/export.csv", None, "viewer"),
    ("GET", "/api/drafts/export.json", None, "viewer"),
    ("GET", "/api/drafts/imports", None, "viewer"),
    ("GET", "/api/drafts/imports/formats", None, "viewer"),
    ("GET", "/app/drafts", None, "viewer"),
    # every method of execute answers 423 Locked to anyone signed in (tests/execution_lock/test_execute.py)
    ("GET", f"/api/recommendations/{ZERO}/execute", None, "any"),
    ("POST", f"/api/recommendations/{ZERO}/execute", {"force": True}, "any"),
    ("PUT", f"/api/recommendations/{ZERO}/execute", None, "any"),
    ("PATCH", f"/api/recommendations/{ZERO}/execute", None, "any"),
    ("DELETE", f"/api/recommendations/{ZERO}/execute", None, "any"),
    ("TRACE", f"/api/recommendations/{ZERO}/execute", None, "any"),
    # the approval workflow (issue 6)
    ("POST", f"/api/recommendations/{ZERO}/approve", None, "operator"),
    ("POST", f"/api/recommendations/{ZERO}/reject", {"reason": "matrix"}, "operator"),
    ("POST", f"/api/recommendations/{ZERO}/dry-run", None, "operator"),
    ("PATCH", f"/api/recommendations/{ZERO}", {"quantity": 5, "reason": "matrix"}, "operator"),
    ("GET", f"/api/recommendations/{ZERO}/timeline", None, "viewer"),
    ("GET", f"/api/recommendations/{ZERO}/approval", None, "viewer"),
    ("GET", "/api/approvals", None, "viewer"),
    ("POST", "/api/approvals/bulk", {"ids": [ZERO], "verdict": "approve"}, "operator"),
    ("GET", "/app/approvals", None, "viewer"),
    # billing (issue 7)
    ("POST", "/api/subscriptions/cancel", None, "admin"),
    ("POST", "/api/subscriptions/resume", None, "admin"),
    ("POST", "/api/subscriptions/change-plan", {"plan": "professional"}, "admin"),
    ("GET", "/api/billing/profile", None, "viewer"),
    ("PUT", "/api/billing/profile", {"legal_name": "Matrix Trading Co"}, "admin"),
    ("GET", "/api/meeting-requests", None, "viewer"),
    (
        "POST",
        "/api/meeting-requests",
        {"contact_name": "Matrix", "email": "m@example.sa", "phone": "+966500000000", "preferred_times": "Sun 10am"},
        "admin",
    ),
    ("GET", "/api/invoices", None, "viewer"),
    ("GET", f"/api/invoices/{ZERO}", None, "viewer"),
    ("GET", f"/api/invoices/{ZERO}/pdf", None, "viewer"),
    ("GET", f"/api/invoices/{ZERO}/xml", None, "viewer"),
    ("GET", "/app/subscription", None, "viewer"),
    ("GET", f"/app/invoices/{ZERO}", None, "viewer"),
    ("GET", f"/app/invoices/{ZERO}/pdf", None, "viewer"),
    ("GET", "/api/platform/billing", None, "platform"),
    ("POST", f"/api/platform/tenants/{ZERO}/extend-trial", {"days": 3}, "platform"),
    (
        "POST",
        f"/api/platform/tenants/{ZERO}/activate-contract",
        {"plan": "enterprise", "months": 12, "reference": "C-1"},
        "platform",
    ),
    ("GET", "/platform/billing", None, "platform"),
    ("POST", "/api/platform/einvoicing/units", {"otp": "000000"}, "platform"),
    ("POST", f"/api/platform/einvoicing/units/{ZERO}/renewal", {"otp": "000000"}, "platform"),
    ("GET", f"/api/platform/tenants/{ZERO}/refunds/quote?invoice_id={ZERO}", None, "platform"),
    ("GET", f"/api/platform/tenants/{ZERO}/refunds", None, "platform"),
    (
        "POST",
        f"/api/platform/tenants/{ZERO}/refunds",
        {"invoice_id": ZERO, "kind": "refund", "reason": "matrix"},
        "platform",
    ),
    ("POST", f"/api/platform/einvoices/{ZERO}/correction", {"note": "matrix"}, "platform"),
    ("POST", "/api/payments", {"plan": "basic", "token": "token_matrix"}, "admin"),
    ("GET", f"/api/payments/callback?id={ZERO}", None, "viewer"),
    ("POST", "/api/webhooks/moyasar", {"id": "x"}, "public"),
    ("POST", "/api/logout", None, "any"),
]
RANK = {"viewer": 0, "operator": 1, "admin": 2}


def normalise(path: str) -> str:
    path = re.sub(r"/activate/\d+$", "/activate/{version:int}", path.split("?")[0])
    path = re.sub(r"/policies/versions/\d+$", "/policies/versions/{version:int}", path)
    path = re.sub(r"/mappings/(items|warehouses)$", "/mappings/{endpoint_key:str}", path)
    path = re.sub(r"/presets/inventree(/connect)?$", r"/presets/{preset_id:str}\1", path)
    path = re.sub(r"/connectors/connect/inventree$", "/connectors/connect/{preset_id:str}", path)
    return path.replace(ZERO, "{id}")


def test_every_registered_route_declares_its_access_and_is_in_the_matrix():
    app = create_app()
    declared = {(m, normalise(p)) for m, p, _, _ in MATRIX}
    missing = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if route.path.startswith(("/static", "/schema/")) and route.path != "/schema/openapi.json":
                continue
            if set(handler.http_methods) <= {"OPTIONS", "HEAD"}:
                continue  # Litestar's automatic OPTIONS handlers
            assert route_access(handler) is not None, f"{route.path} declares no access"
            for method in handler.http_methods:
                if method in ("HEAD", "OPTIONS"):
                    continue
                path = route.path
                for name in (
                    "invitation_id",
                    "member_id",
                    "token_id",
                    "tenant_id",
                    "connector_id",
                    "mapping_id",
                    "run_id",
                    "record_id",
                    "recommendation_id",
                    "item_id",
                    "invoice_id",
                    "draft_id",
                    "einvoice_id",
                    "unit_id",
                ):
                    path = path.replace("{" + name + ":uuid}", "{id}")
                if (method, path) not in declared:
                    missing.append((method, path))
    assert missing == [], f"routes missing from the permission matrix: {missing}"


def test_the_matrix_in_code_matches_the_spec():
    assert ROLE_PERMISSIONS[Role.VIEWER] == {Permission.READ}
    assert ROLE_PERMISSIONS[Role.OPERATOR] == {Permission.READ, Permission.DECIDE_RECOMMENDATIONS}
    assert Permission.PLATFORM_TENANTS not in ROLE_PERMISSIONS[Role.ADMIN]


def allowed(least: str, role: str) -> bool:
    if least in ("public", "any"):
        return True
    if least == "platform":
        return False
    return RANK[role] >= RANK[least]


@pytest.fixture(scope="module")
def principals(atlas):
    """For each role, a session client and a token client, all in one tenant; plus the anonymous client."""
    admin, _ = atlas.new_tenant()
    clients = {("admin", "session"): admin}
    for role in ("viewer", "operator"):
        clients[(role, "session")], _ = atlas.member_client(admin, role)
    for role in ("viewer", "operator", "admin"):
        clients[(role, "token")] = atlas.token_client(admin, role)
    return clients


@pytest.mark.parametrize(("method", "path", "body", "least"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_role_matrix(atlas, principals, method, path, body, least):
    anonymous = atlas.client(headers={"Accept": "application/json"})
    response = anonymous.request(method, path, json=body)
    if least == "public":
        assert response.status_code not in (401, 403), response.text
    else:
        assert response.status_code == 401, (path, response.status_code)
    if path == "/api/logout":
        return  # signing out would end the shared sessions; covered in test_signin
    for (role, kind), client in principals.items():
        if path in ("/api/onboarding/complete", "/api/connectors") or (path == "/api/invitations" and method == "POST"):
            body = dict(body or {})
            if "email" in body:
                body["email"] = f"m-{uuid.uuid4().hex[:8]}@example.sa"
            if path == "/api/connectors":
                body["name"] = f"matrix-{uuid.uuid4().hex[:8]}"
        response = client.request(method, path, json=body)
        if allowed(least, role):
            # Allowed: the guard let it through (the handler may still say 404 for the zero id,
            # or 409 because onboarding is already done).
            # no Temporal (and no Moyasar) in this server: 503 by design
            expected_unavailable = path in ("/ready", "/api/payments", "/api/webhooks/moyasar")
            assert response.status_code not in (401, 403), (role, kind, method, path, response.status_code)
            assert response.status_code < 500 or expected_unavailable, (
                role,
                kind,
                method,
                path,
                response.status_code,
                response.text[:300],
            )
        else:
            assert response.status_code == 403, (role, kind, method, path, response.status_code)
            assert response.headers["content-type"].startswith("application/problem+json") or path[:4] != "/api"


def test_platform_admin_reaches_platform_routes(atlas):
    admin, me = atlas.new_tenant()
    atlas.sql("UPDATE users SET platform_role = 'platform_admin' WHERE id = %s", (me["user_id"],))
    assert admin.get("/api/platform/tenants").status_code == 200
    # A token never carries the platform role, even an admin's.
    token_client = atlas.token_client(admin, "admin")
    assert token_client.get("/api/platform/tenants").status_code == 403


def test_cookie_session_writes_need_the_csrf_header(atlas):
    admin, _ = atlas.new_tenant()
    del admin.headers["X-CSRF-Token"]
    response = admin.post("/api/invitations", json={"email": "csrf@example.sa", "role": "viewer"})
    assert response.status_code == 403
    assert response.json()["type"] == "urn:atlas:problem:csrf-failed"
    admin.headers["X-CSRF-Token"] = "wrong"
    assert admin.post("/api/invitations", json={"email": "csrf@example.sa", "role": "viewer"}).status_code == 403
    assert admin.get("/api/invitations").json() == []


def test_invalid_bearer_tokens_are_refused(atlas):
    for header in ("Bearer atl_not-a-real-token", "Bearer garbage", "Basic Zm9vOmJhcg=="):
        response = atlas.client(headers={"Authorization": header}).get("/api/members")
        assert response.status_code == 401
        assert response.json()["code"] == "errors.invalid_token"
