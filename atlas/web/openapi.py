"""What ``/schema/openapi.json`` says about errors and redirects, so the document tells the truth.

Litestar documents each operation's success answer from its signature. Everything else Atlas can answer is
added here, once the app has started, from what each route declares (its access, its path parameters, its
body, the execution lock): every error as an RFC 9457 problem (`ProblemDetails`, ``application/problem+json``,
written by `atlas.web.problems`), and a sign-in or payment redirect as a 302 with its ``Location``.
schemathesis's response-conformance checks (``tests/web/test_schemathesis.py``) hold the document to it.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.handlers.http_handlers import HTTPRouteHandler
from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    PathItem,
    Reference,
    Schema,
)
from litestar.response import Redirect
from litestar.routes import HTTPRoute

from atlas.billing.access import access_kind
from atlas.web.problems import PROBLEM_JSON
from atlas.web.ui.guards import SAFE_METHODS

PROBLEM_SCHEMA_NAME = "ProblemDetails"

# Why each status is answered, as the document says it.
ERROR_STATUSES: dict[int, str] = {
    400: "Bad request: the body or a parameter cannot be read.",
    401: "Not signed in, or the session or API token is not valid.",
    402: "The tenant's subscription does not allow this (its state and where to pay are in the problem).",
    403: "Signed in, but this role may not do this (or a cookie session's write came without its CSRF token).",
    404: "Not found: no such resource in this tenant (another tenant's resource is not found either).",
    409: "Conflict with the resource's current state.",
    413: "The request body is larger than Atlas accepts.",
    422: "Validation failed: the problem names each field in `errors`.",
    423: "Locked: Atlas never executes actions; the attempt is audited and an execution draft is kept.",
    429: "Too many requests: wait for `Retry-After` seconds.",
    502: "The payment provider answered with an error.",
    503: "A service Atlas depends on (the workflow scheduler, the payment provider, the database) or the audit "
    "signing key is unavailable.",
}

# Operations whose answer depends on a service beyond Atlas's database: the workflow scheduler (Temporal) or the
# payment provider (Moyasar). The rest of each operation's statuses follow from what its route declares.
UPSTREAM_STATUSES: dict[tuple[str, str], frozenset[int]] = {
    ("GET", "/ready"): frozenset({503}),
    ("POST", "/api/connectors"): frozenset({503}),
    ("PATCH", "/api/connectors/{connector_id}"): frozenset({503}),
    ("DELETE", "/api/connectors/{connector_id}"): frozenset({503}),
    ("POST", "/api/connectors/{connector_id}/sync"): frozenset({503}),
    ("POST", "/api/recommendations/{recommendation_id}/approve"): frozenset({503}),
    ("POST", "/api/recommendations/{recommendation_id}/reject"): frozenset({503}),
    ("POST", "/api/approvals/bulk"): frozenset({503}),
    ("POST", "/api/subscriptions/change-plan"): frozenset({502, 503}),
    ("POST", "/api/payments"): frozenset({502, 503}),
    ("POST", "/api/webhooks/moyasar"): frozenset({502, 503}),
    # The audit checkpoints' signing key is configured apart from the database (503 until it is).
    ("GET", "/api/audit/checkpoints/public-key"): frozenset({503}),
    ("POST", "/api/audit/checkpoints"): frozenset({503}),
}
# Rate-limited operations (`atlas.platform.controllers.rate_limits`); sign-in answers its 429 with a redirect.
RATE_LIMITED = frozenset({("POST", "/api/tokens")})


def problem_details_schema() -> Schema:
    """RFC 9457 problem details as Atlas writes them (`atlas.web.problems.problem_response`)."""
    text = Schema(type=OpenAPIType.STRING)
    field_error = Schema(
        type=OpenAPIType.OBJECT,
        properties={
            "field": Schema(type=[OpenAPIType.STRING, OpenAPIType.NULL], description="The field, by name."),
            "source": Schema(type=[OpenAPIType.STRING, OpenAPIType.NULL], description="body, query, path or header."),
            "message": Schema(type=OpenAPIType.STRING, description="What is wrong, in the request's language."),
        },
        additional_properties=True,
    )
    return Schema(
        type=OpenAPIType.OBJECT,
        title=PROBLEM_SCHEMA_NAME,
        description="An RFC 9457 problem, in the request's language (Accept-Language or the person's choice).",
        required=["type", "title", "status", "detail", "instance", "correlation_id", "code"],
        properties={
            "type": Schema(
                type=OpenAPIType.STRING, description="Stable URN of the problem, e.g. urn:atlas:problem:not-found."
            ),
            "title": Schema(type=OpenAPIType.STRING, description="The kind of problem, translated."),
            "status": Schema(type=OpenAPIType.INTEGER, minimum=400, maximum=599, description="The HTTP status."),
            "detail": Schema(type=OpenAPIType.STRING, description="What happened and what to do, translated."),
            "instance": text,
            "correlation_id": Schema(type=OpenAPIType.STRING, description="Also in X-Request-ID; quote it to support."),
            "code": Schema(type=OpenAPIType.STRING, description="The stable message key, e.g. errors.forbidden."),
            "errors": Schema(type=OpenAPIType.ARRAY, items=field_error, description="Each invalid field (422)."),
        },
        additional_properties=True,  # a problem may carry more, e.g. subscription_status and billing_url (402)
    )


def problem_response(status: int, reference: Reference) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=ERROR_STATUSES[status], content={PROBLEM_JSON: OpenAPIMediaType(schema=reference)}
    )


def redirect_response() -> OpenAPIResponse:
    return OpenAPIResponse(
        description="Found: the browser goes on to the address in Location.",
        headers={"Location": OpenAPIHeader(schema=Schema(type=OpenAPIType.STRING), required=True)},
    )


def error_statuses(handler: HTTPRouteHandler, method: str, path: str, operation: Operation) -> set[int]:
    """Every error status ``method path`` can answer, from what its route declares."""
    opt = handler.opt
    parameters = [p for p in operation.parameters or [] if isinstance(p, Parameter)]
    has_path_parameters = any(p.param_in == "path" for p in parameters)
    names_a_resource = any(p.param_in == "query" and p.name.endswith("_id") for p in parameters)
    has_body = operation.request_body is not None
    statuses = {400, 422}
    if has_body:
        statuses.add(413)
    if has_path_parameters:
        statuses.add(404)  # a path that does not match the parameter's type, or no such resource
    if not opt.get("public"):
        statuses |= {401, 403}
        if has_path_parameters or has_body or names_a_resource:
            statuses.add(404)  # ids in the path, the body or a filter that name nothing in this tenant
        if method not in SAFE_METHODS:
            statuses.add(409)
        if access_kind(handler, method) is not None:
            statuses.add(402)
    if opt.get("execution_lock"):
        statuses.add(423)
    if (method, path) in RATE_LIMITED:
        statuses.add(429)
    statuses |= UPSTREAM_STATUSES.get((method, path), frozenset())
    return statuses


def _operations(app: Litestar, paths: dict[str, PathItem]) -> list[tuple[str, str, HTTPRouteHandler, Operation]]:
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or (path_item := paths.get(route.path_format or "/")) is None:
            continue
        for method, (handler, _kwargs) in route.route_handler_map.items():
            operation = getattr(path_item, method.lower(), None)
            if isinstance(operation, Operation) and handler.include_in_schema:
                found.append((str(method), route.path_format or "/", handler, operation))
    return found


def document_errors(app: Litestar) -> OpenAPI:
    """Add the problem-details schema and every operation's error statuses (and redirects) to the app's document."""
    openapi = app.openapi_schema
    schemas: dict[str, Any] = openapi.components.schemas
    if PROBLEM_SCHEMA_NAME in schemas:
        return openapi  # already done (a second start of the same app)
    schemas[PROBLEM_SCHEMA_NAME] = problem_details_schema()
    reference = Reference(ref=f"#/components/schemas/{PROBLEM_SCHEMA_NAME}")
    for method, path, handler, operation in _operations(app, dict(openapi.paths or {})):
        responses: dict[str, Any] = dict(operation.responses or {})
        if handler.parsed_fn_signature.return_type.is_subclass_of(Redirect):
            responses = {code: r for code, r in responses.items() if not code.startswith("2")}
            responses["302"] = redirect_response()
        for code, response in list(responses.items()):
            if code == "204" and isinstance(response, OpenAPIResponse):
                response.content = None  # a 204 has no body
            if code.startswith(("4", "5")):
                del responses[code]  # Litestar's own 400 (its validation shape) or a bare status: Atlas sends problems
        for status in sorted(error_statuses(handler, method, path, operation)):
            success = operation.responses.get("200") if operation.responses else None
            if status == 503 and path == "/ready" and success is not None:
                responses["503"] = success  # not ready: the same body, naming the check that failed
            else:
                responses[str(status)] = problem_response(status, reference)
        operation.responses = dict(sorted(responses.items()))
    return openapi
