"""Operational endpoints, problem details in both languages, request ids and redacted logs."""

from __future__ import annotations

import io
import json
import logging

import structlog

from atlas.observability import configure_logging


def test_health_is_always_up(atlas):
    assert atlas.client().get("/health").json() == {"status": "ok"}


def test_ready_is_503_without_temporal(atlas):
    response = atlas.client().get("/ready")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "temporal": "unavailable"}


def test_openapi_is_served_at_schema(atlas):
    document = atlas.client().get("/schema/openapi.json").json()
    assert document["info"]["title"] == "Atlas API"
    assert "/api/audit-logs" in document["paths"]
    assert atlas.client().get("/schema").status_code == 200


def test_problem_details_follow_the_language(atlas):
    english = atlas.client(cookies={"atlas_lang": "en"}).get("/api/members")
    arabic = atlas.client(headers={"Accept-Language": "ar"}).get("/api/members")
    default = atlas.client().get("/api/members")
    for response in (english, arabic, default):
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        body = response.json()
        assert body["type"] == "urn:atlas:problem:unauthenticated" and body["status"] == 401
        assert body["correlation_id"] == response.headers["x-request-id"]
    assert english.json()["title"] == "Sign-in required"
    assert arabic.json()["title"] == "يلزم تسجيل الدخول"
    assert default.json()["title"] == "يلزم تسجيل الدخول"


def test_unknown_api_path_is_a_problem_404(atlas):
    response = atlas.client(cookies={"atlas_lang": "en"}).get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json()["type"] == "urn:atlas:problem:not-found"


def test_oversized_body_is_refused_clearly(atlas):
    admin, _ = atlas.new_tenant()
    response = admin.post(
        "/api/invitations", content=b"{" + b" " * 2_000_000 + b"}", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["type"] == "urn:atlas:problem:payload-too-large"


def test_bad_request_ids_are_replaced(atlas):
    response = atlas.client().get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert response.headers["x-request-id"] != "bad id with spaces"
    assert len(response.headers["x-request-id"]) == 32


def test_logs_are_json_and_never_carry_secrets():
    stream = io.StringIO()
    configure_logging("INFO", json_output=True)
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    log = structlog.get_logger("test")
    log.info(
        "calling",
        authorization="Bearer abc.def.ghi",
        client_secret="s3cr3t",
        tenant_id="t-1",
        note="sent Bearer eyJhbGciOi.x.y and atl_abcdefghijklmnop",
    )
    logging.getLogger("library").warning("token=%s", "atl_zzzzzzzzzzzzzzzzzz")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    text = stream.getvalue()
    assert "s3cr3t" not in text and "abc.def.ghi" not in text and "eyJhbGciOi" not in text
    assert "abcdefghijklmnop" not in text and "zzzzzzzzzzzzzzzzzz" not in text
    assert lines[0]["tenant_id"] == "t-1" and lines[0]["event"] == "calling"
    configure_logging("WARNING")
