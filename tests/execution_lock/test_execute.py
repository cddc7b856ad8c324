"""The execute route meets the lock: every method, every role (a platform admin too), any payload gets
423 Locked with a translated problem, an ``action_blocked`` row with the actor and the method, and nothing
else changes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from atlas.db.engine import Database
from tests.execution_lock.seed import Seeded, run, seed

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


@pytest.fixture(scope="module")
def tenant(atlas, database_url) -> dict[str, Any]:
    admin, me = atlas.new_tenant()
    clients: dict[str, Any] = {"admin session": admin}
    for role in ("viewer", "operator"):
        clients[f"{role} session"], _ = atlas.member_client(admin, role)
    for role in ("viewer", "operator", "admin"):
        clients[f"{role} token"] = atlas.token_client(admin, role)
    # A platform admin (whose tenant role is viewer) gets no more than anyone else.
    clients["platform admin"], platform = atlas.member_client(admin, "viewer")
    atlas.sql("UPDATE users SET platform_role = 'platform_admin' WHERE id = %s", (platform["user_id"],))
    assert clients["platform admin"].get("/api/platform/tenants").status_code == 200
    tenant_id = uuid.UUID(me["tenant_id"])

    async def work(database: Database) -> Seeded:
        return await seed(database, tenant_id)

    return {"clients": clients, "seeded": run(database_url, work), "tenant_id": tenant_id}


def snapshot(atlas: Any, rec_id: uuid.UUID) -> tuple[Any, ...]:
    return atlas.sql(
        "SELECT status, update_count, updated_at, last_changed_by, resolved_at FROM recommendations WHERE id = %s",
        (rec_id,),
    )[0]


def blocked_events(atlas: Any, tenant_id: uuid.UUID, rec_id: uuid.UUID) -> list[tuple[Any, ...]]:
    return atlas.sql(
        "SELECT actor, payload, correlation_id FROM audit_events WHERE tenant_id = %s AND event_type = 'action_blocked'"
        " AND payload->>'recommendation_id' = %s AND payload->>'source' = 'api_execute' ORDER BY seq",
        (tenant_id, str(rec_id)),
    )


def test_every_method_and_role_is_locked_and_audited_and_nothing_changes(atlas, tenant):
    seeded: Seeded = tenant["seeded"]
    rec_id = seeded.recs["reorder"]
    url = f"/api/recommendations/{rec_id}/execute"
    before = snapshot(atlas, rec_id)
    drafts_before = atlas.sql("SELECT count(*) FROM execution_drafts WHERE tenant_id = %s", (seeded.tenant_id,))
    correlation = atlas.sql("SELECT correlation_id FROM recommendations WHERE id = %s", (rec_id,))[0][0]
    expected_calls = []
    for name, client in tenant["clients"].items():
        for method in METHODS:
            response = client.request(
                method, url, json={"force": True, "status": "approved"} if method != "GET" else None
            )
            assert response.status_code == 423, (name, method, response.status_code, response.text[:200])
            if method != "HEAD":
                problem = response.json()
                assert response.headers["content-type"].startswith("application/problem+json")
                assert problem["type"] == "urn:atlas:problem:locked"
                assert problem["code"] == "errors.execution_locked"
                assert problem["recommendation_id"] == str(rec_id)
            expected_calls.append((name, method))
    events = blocked_events(atlas, seeded.tenant_id, rec_id)
    assert [(e[1]["method"]) for e in events] == [m for _, m in expected_calls]
    for (name, _method), (actor, payload, corr) in zip(expected_calls, events, strict=True):
        assert payload["reason"] == "execution_lock" and payload["recommendation_found"] is True
        assert corr == correlation  # on the recommendation's own timeline
        assert actor.startswith("token:" if "token" in name else "user:"), (name, actor)
        if name == "platform admin":
            assert payload["platform_admin"] is True
    # Nothing else changed: the recommendation, and no draft was made.
    assert snapshot(atlas, rec_id) == before
    assert atlas.sql("SELECT count(*) FROM execution_drafts WHERE tenant_id = %s", (seeded.tenant_id,)) == drafts_before


def test_the_message_is_translated_and_any_payload_meets_the_same_answer(atlas, tenant):
    client = tenant["clients"]["operator token"]
    url = f"/api/recommendations/{tenant['seeded'].recs['transfer']}/execute"
    english = client.post(url, json={}, headers={"Accept-Language": "en"}).json()
    arabic = client.post(url, json={}, headers={"Accept-Language": "ar"}).json()
    assert "Atlas never executes actions" in english["detail"] and "apply it in your system" in english["detail"]
    assert "أطلس لا ينفّذ" in arabic["detail"]
    for extra in (
        {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
        {"content": b"\x00\xff" * 5000, "headers": {"Content-Type": "application/octet-stream"}},
        {"data": {"approve": "yes"}},
        {"json": [1, 2, 3]},
    ):
        assert client.request("POST", url, **extra).status_code == 423


def test_an_unknown_or_foreign_recommendation_is_locked_too_and_other_tenants_see_nothing(atlas, tenant):
    other_admin, other = atlas.new_tenant()
    foreign = tenant["seeded"].recs["write_off"]
    response = other_admin.post(f"/api/recommendations/{foreign}/execute", json={})
    assert response.status_code == 423
    rows = atlas.sql(
        "SELECT tenant_id, payload FROM audit_events"
        " WHERE event_type = 'action_blocked' AND payload->>'recommendation_id' = %s",
        (str(foreign),),
    )
    # Recorded in the caller's own trail only, and the other tenant's recommendation was not found from there.
    assert [(str(t), p["recommendation_found"]) for t, p in rows] == [(other["tenant_id"], False)]
    assert other_admin.post(f"/api/recommendations/{uuid.uuid4()}/execute").status_code == 423


def test_signed_out_is_401_and_writes_nothing(atlas, tenant):
    rec_id = tenant["seeded"].recs["investigate"]
    for method in ("GET", "POST", "DELETE"):
        response = atlas.client(headers={"Accept": "application/json"}).request(
            method, f"/api/recommendations/{rec_id}/execute"
        )
        assert response.status_code == 401
    assert blocked_events(atlas, tenant["seeded"].tenant_id, rec_id) == []


def test_an_expired_subscription_still_meets_the_lock_not_the_paywall(atlas, tenant):
    from tests.billing.conftest import set_state

    admin, me = atlas.new_tenant()
    set_state(atlas, me["tenant_id"], "expired")
    response = admin.post(f"/api/recommendations/{uuid.uuid4()}/execute", json={})
    assert response.status_code == 423, response.text


def test_every_route_that_could_execute_is_marked_and_takes_every_method():
    """The route walk: any path mentioning execute/apply is the lock's, marked and refusing every verb."""
    from atlas.web.app import create_app

    app = create_app()
    found = []
    for route in app.routes:
        if not any(word in route.path for word in ("execute", "/apply", "/run-action")):
            continue
        for handler in getattr(route, "route_handlers", []):
            found.append(route.path)
            assert handler.opt.get("execution_lock") is True, route.path
            assert set(METHODS) <= set(handler.http_methods), (route.path, handler.http_methods)
    assert found == ["/api/recommendations/{recommendation_id:uuid}/execute"]


def test_a_browser_session_without_its_csrf_token_meets_the_lock_and_is_marked_unverified(atlas, tenant):
    """Even a write with no CSRF token (a form another site posted) gets the lock's 423, not a 403: the attempt
    is recorded, marked as possibly not the person's own, and nothing else changes."""
    seeded: Seeded = tenant["seeded"]
    rec_id = seeded.recs["write_off"]
    session = tenant["clients"]["operator session"]
    before = snapshot(atlas, rec_id)
    token = session.headers.pop("X-CSRF-Token")
    try:
        unverified = session.post(f"/api/recommendations/{rec_id}/execute", json={"force": True})
        # The CSRF check still holds everywhere else.
        elsewhere = session.post(f"/api/recommendations/{rec_id}/dry-run")
    finally:
        session.headers["X-CSRF-Token"] = token
    assert unverified.status_code == 423, unverified.text
    assert unverified.json()["type"] == "urn:atlas:problem:locked"
    assert elsewhere.status_code == 403 and elsewhere.json()["type"] == "urn:atlas:problem:csrf-failed"
    verified = session.post(f"/api/recommendations/{rec_id}/execute", json={})
    assert verified.status_code == 423
    assert session.get(f"/api/recommendations/{rec_id}/execute").status_code == 423
    token_client = tenant["clients"]["operator token"]
    assert token_client.post(f"/api/recommendations/{rec_id}/execute").status_code == 423
    flags = [p["csrf_verified"] for _, p, _ in blocked_events(atlas, seeded.tenant_id, rec_id)][-4:]
    assert flags == [False, True, None, None]  # no token; with it; a read; a bearer token (no CSRF for those)
    assert snapshot(atlas, rec_id) == before
