"""The OpenAPI document says what each operation answers when it fails, and what its downloads and redirects are."""

from __future__ import annotations

from typing import Any

import pytest

from atlas.web.app import create_app
from atlas.web.openapi import document_errors
from atlas.web.problems import PROBLEM_JSON

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    app = create_app()
    document_errors(app)  # what the app does when it starts
    document_errors(app)  # a second start changes nothing
    return app.openapi_schema.to_schema()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_every_error_is_a_problem_and_every_operation_documents_its_errors(document):
    problem = document["components"]["schemas"]["ProblemDetails"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "instance", "correlation_id", "code"}
    assert problem["additionalProperties"] is True and "errors" in problem["properties"]
    assert len(operations(document)) > 80
    for method, path, operation in operations(document):
        errors = {code: r for code, r in operation["responses"].items() if code[0] in "45"}
        assert {"400", "422"} <= set(errors), (method, path)
        for code, response in errors.items():
            if (method, path, code) == ("GET", "/ready", "503"):
                continue  # not ready answers its checks, like ready
            assert list(response["content"]) == [PROBLEM_JSON], (method, path, code)
            assert response["content"][PROBLEM_JSON]["schema"] == {"$ref": "#/components/schemas/ProblemDetails"}


@pytest.mark.parametrize(
    ("method", "path", "present", "absent"),
    [
        ("GET", "/api/members", {"401", "403", "402"}, {"404", "409", "423", "429"}),
        ("DELETE", "/api/connectors/{connector_id}", {"401", "403", "404", "409", "503"}, {"429"}),
        ("POST", "/api/tokens", {"401", "403", "409", "413", "429"}, {"423"}),
        ("POST", "/api/recommendations/{recommendation_id}/execute", {"404", "423"}, {"402"}),
        ("GET", "/api/platform/tenants", {"401", "403"}, {"402"}),  # the operator's routes skip the wall
        ("GET", "/api/subscription-plans", set(), {"401", "403", "402"}),  # public
        ("GET", "/api/quarantine/groups", {"404"}, set()),  # a connector_id filter that names nothing
    ],
)
def test_statuses_follow_what_the_route_declares(document, method, path, present, absent):
    codes = set(document["paths"][path][method.lower()]["responses"])
    assert present <= codes and not (absent & codes), codes


def test_downloads_and_redirects_are_typed_as_what_they_are(document):
    paths = document["paths"]
    assert list(paths["/api/drafts/export.csv"]["get"]["responses"]["200"]["content"]) == ["text/csv"]
    export = paths["/api/drafts/export.json"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert export == {"$ref": "#/components/schemas/DraftExport"}
    assert set(document["components"]["schemas"]["DraftExport"]["required"]) >= {"drafts", "exported_at"}
    for path in ("/api/login", "/api/auth/callback", "/api/payments/callback"):
        responses = paths[path]["get"]["responses"]
        assert "302" in responses and not any(code.startswith("2") for code in responses), path
        assert responses["302"]["headers"]["Location"]["required"] is True
    assert not any(path.startswith("/schema") for path in paths)  # the document's own routes are not the API
