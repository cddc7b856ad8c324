"""The local Moyasar's HTTP API: Moyasar's `/v1` routes, the 3-D Secure test page, and the `/_fake` admin API.

| route                                              | key      | what                                          |
| -------------------------------------------------- | -------- | --------------------------------------------- |
| POST /v1/tokens                                    | pk or sk | tokenise a card (CORS for the browser)        |
| GET, DELETE /v1/tokens/{id}                        | sk       | fetch / delete a token (204)                  |
| POST /v1/payments                                  | pk or sk | create a payment (creditcard or token source) |
| GET /v1/payments, GET/PUT /v1/payments/{id}        | sk       | list (40 a page, newest first), fetch, update |
| POST /v1/payments/{id}/refund, /capture, /void     | sk       | the state machine after payment               |
| GET, POST /v1/transaction_auths/{auth}/form        | none     | the 3-D Secure test page (approve / decline)  |
| POST, GET /v1/webhooks, GET, DELETE /v1/webhooks/{id} | sk    | webhooks; also /available_events, /attempts   |
| /_fake/...                                         | none     | switches, faults, events, reset (tests, demo) |

Keys go in HTTP Basic auth as the user name with an empty password. Every error is Moyasar's envelope
`{"type", "message", "errors"}`. The admin API exists only on the stand-in: bind it to 127.0.0.1.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import parse_qsl

import msgspec
from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar, Request, Response, delete, get, post, put, route
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.enums import HttpMethod
from litestar.exceptions import HTTPException, MethodNotAllowedException, NotFoundException

from atlas.billing.moyasar_fake.delivery import EVENT_TYPES, WebhookDispatcher
from atlas.billing.moyasar_fake.engine import VERIFICATION_AMOUNT, FakeApiError, Moyasar, invalid, not_found
from atlas.billing.moyasar_fake.faults import FaultMiddleware, FaultRule, Faults
from atlas.billing.moyasar_fake.money import format_amount
from atlas.billing.moyasar_fake.options import FakeOptions, Switches
from atlas.billing.moyasar_fake.state import Payment, Store, Token, Webhook, iso, now
from atlas.i18n import translate

__all__ = ["FakeMoyasar", "StandInApp", "create_app"]

LOCAL_ORIGINS: Final = r"^https?://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$"
TEMPLATES: Final = Path(__file__).with_name("templates")
KeyKind = Literal["secret", "publishable"]


class FakeMoyasar:
    """Everything one running stand-in holds: options, state, switches, faults, the webhook sender."""

    def __init__(self, options: FakeOptions) -> None:
        self.options = options
        self.store = Store(options.state_file)
        self.faults = Faults()
        self.switches = msgspec.structs.replace(options.switches)
        self.cli_webhook: Webhook | None = None
        if options.webhook_url and options.webhook_secret:
            self.cli_webhook = Webhook(
                id=str(uuid.uuid5(uuid.NAMESPACE_URL, options.webhook_url)),
                url=options.webhook_url,
                http_method="POST",
                shared_secret=options.webhook_secret,
                events=[],
                created_at=now(),
            )
        self.dispatcher = WebhookDispatcher(
            webhooks=self.webhooks,
            switches=lambda: self.switches,
            account_name=options.account_name,
            timeout=options.webhook_timeout_seconds,
        )
        self.moyasar = Moyasar(self.store, self.faults, lambda: self.switches, self.dispatcher.publish)
        self.pages = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
        self.pages.globals["t"] = lambda key, lang, **params: translate(key, lang, **params)

    def webhooks(self) -> list[Webhook]:
        configured = list(self.store.webhooks.values())
        return [self.cli_webhook, *configured] if self.cli_webhook else configured

    def reset(self) -> None:
        """Back to a fresh start: no tokens, payments, faults or events; switches as started."""
        self.store.reset()
        self.faults.clear()
        self.switches = msgspec.structs.replace(self.options.switches)
        self.dispatcher.events.clear()
        self.dispatcher.attempts.clear()
        self.dispatcher.held.clear()


def _fake(request: Request[Any, Any, Any]) -> FakeMoyasar:
    fake: FakeMoyasar = request.app.state.fake
    return fake


def _base_url(request: Request[Any, Any, Any]) -> str:
    public = _fake(request).options.public_url
    return (public or str(request.base_url)).rstrip("/")


# --- authentication ------------------------------------------------------------------------------------------


def _authenticate(request: Request[Any, Any, Any], *, publishable_ok: bool = False) -> KeyKind:
    """The key in Basic auth (user name, empty password); a publishable key only where it is allowed."""
    unauthorised = FakeApiError(401, "authentication_error", "Invalid authorization credentials")
    header = request.headers.get("authorization") or ""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise unauthorised
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise unauthorised from None
    key, _, password = decoded.partition(":")
    if password:
        raise unauthorised
    options = _fake(request).options
    if hmac.compare_digest(key.encode(), options.secret_key.encode()):
        return "secret"
    if hmac.compare_digest(key.encode(), options.publishable_key.encode()):
        if publishable_ok:
            return "publishable"
        raise FakeApiError(
            403, "authentication_error", "The publishable key can only create payments and tokens: use the secret key"
        )
    raise unauthorised


# --- request bodies ------------------------------------------------------------------------------------------

_BRACKETS: Final = re.compile(r"\[([^\]]*)\]")


def _nest_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Form fields in Moyasar's bracket style (`source[type]=creditcard`) as nested objects."""
    result: dict[str, Any] = {}
    for name, value in pairs:
        head = name.split("[", 1)[0]
        keys = [head, *_BRACKETS.findall(name[len(head) :])]
        node = result
        for key in keys[:-1]:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise invalid(f"The form field {name!r} clashes with another field")
            node = child
        node[keys[-1]] = value
    return result


async def _body(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The request body as an object: JSON, or form fields in bracket style."""
    raw = await request.body()
    content_type = request.headers.get("content-type", "")
    if "application/x-www-form-urlencoded" in content_type:
        return _nest_form(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise invalid("The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object")
    return body


def _page_number(request: Request[Any, Any, Any]) -> int:
    value = request.query_params.get("page", "1")
    if not value.isdigit() or int(value) < 1:
        raise FakeApiError(400, "invalid_request_error", "Validation Failed", {"page": ["must be 1 or more"]})
    return int(value)


# --- tokens --------------------------------------------------------------------------------------------------


@post("/v1/tokens", status_code=201)
async def create_token(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Tokenise a card: publishable key from the browser (or secret key)."""
    fake = _fake(request)
    try:
        _authenticate(request, publishable_ok=True)
        token = fake.moyasar.create_token(await _body(request))
    except FakeApiError as error:
        if fake.switches.bare_token_errors and error.status == 400:
            raise _Bare(error) from None
        raise
    return fake.moyasar.token_json(token, base_url=_base_url(request))


class _Bare(Exception):
    """A create-token error answered as a bare `{"message": ...}` (the `bare_token_errors` switch)."""

    def __init__(self, error: FakeApiError) -> None:
        super().__init__(error.message)
        self.error = error


@get("/v1/tokens/{token_id:str}")
async def fetch_token(request: Request[Any, Any, Any], token_id: str) -> dict[str, Any]:
    _authenticate(request)
    fake = _fake(request)
    return fake.moyasar.token_json(fake.moyasar.get_token(token_id), base_url=_base_url(request))


@delete("/v1/tokens/{token_id:str}", status_code=204)
async def delete_token(request: Request[Any, Any, Any], token_id: str) -> None:
    _authenticate(request)
    _fake(request).moyasar.delete_token(token_id)


# --- payments ------------------------------------------------------------------------------------------------


@post("/v1/payments", status_code=201)
async def create_payment(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Create a payment; a declined card is still 201 with `status: failed`."""
    _authenticate(request, publishable_ok=True)
    fake = _fake(request)
    client = request.client.host if request.client else None
    payment, _created = fake.moyasar.create_payment(await _body(request), ip=client)
    return Response(fake.moyasar.payment_json(payment, base_url=_base_url(request)), status_code=201)


@get("/v1/payments")
async def list_payments(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Newest first, 40 a page; filters `status`, `id`, `metadata[key]`, `created[gt|lt]`, `updated[gt|lt]`."""
    _authenticate(request)
    fake = _fake(request)
    query = {k: v for k, v in request.query_params.items() if k != "page"}
    payments, meta = fake.moyasar.list_payments(query, _page_number(request))
    base = _base_url(request)
    return {"payments": [fake.moyasar.payment_json(p, base_url=base) for p in payments], "meta": meta}


@get("/v1/payments/{payment_id:str}")
async def fetch_payment(request: Request[Any, Any, Any], payment_id: str) -> dict[str, Any]:
    _authenticate(request)
    fake = _fake(request)
    return fake.moyasar.payment_json(fake.moyasar.get_payment(payment_id), base_url=_base_url(request))


@put("/v1/payments/{payment_id:str}")
async def update_payment(request: Request[Any, Any, Any], payment_id: str) -> dict[str, Any]:
    """Only `description` and `metadata` can change."""
    _authenticate(request)
    fake = _fake(request)
    payment = fake.moyasar.update_payment(payment_id, await _body(request))
    return fake.moyasar.payment_json(payment, base_url=_base_url(request))


@post("/v1/payments/{payment_id:str}/{operation:str}", status_code=200)
async def payment_operation(request: Request[Any, Any, Any], payment_id: str, operation: str) -> dict[str, Any]:
    """`refund` (optional amount), `capture` (optional amount) or `void`."""
    _authenticate(request)
    fake = _fake(request)
    body = await _body(request)
    if operation == "refund":
        payment = fake.moyasar.refund(payment_id, body)
    elif operation == "capture":
        payment = fake.moyasar.capture(payment_id, body)
    elif operation == "void":
        payment = fake.moyasar.void(payment_id)
    else:
        raise FakeApiError(404, "invalid_request_error", f"No such endpoint: POST /v1/payments/{{id}}/{operation}")
    return fake.moyasar.payment_json(payment, base_url=_base_url(request))


# --- the 3-D Secure test page ------------------------------------------------------------------------------


def _html(fake: FakeMoyasar, status: int = 200, **context: Any) -> Response[str]:
    page = fake.pages.get_template("three_ds.html").render(**context)
    return Response(
        page,
        status_code=status,
        media_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"},
    )


def _after_challenge(fake: FakeMoyasar, done: Payment | Token) -> Response[Any]:
    target = fake.moyasar.return_url(done)
    if target is None:
        return _html(fake, finished=done.status)
    return Response(None, status_code=302, headers={"Location": target, "Cache-Control": "no-store"})


@get("/v1/transaction_auths/{auth_id:str}/form")
async def challenge_page(request: Request[Any, Any, Any], auth_id: str) -> Response[Any]:
    """The page a browser lands on from `transaction_url` (or a token's `verification_url`)."""
    fake = _fake(request)
    pending = fake.moyasar.challenge(auth_id)
    if pending is None:
        return _html(fake, status=404, unknown=True)
    if pending.status != "initiated":  # already answered (a reload, the back button): send them on again
        return _after_challenge(fake, pending)
    if isinstance(pending, Payment) and pending.card.frictionless:
        # The issuer authenticates without a challenge: the page finishes on its own.
        done = fake.moyasar.finish_challenge(auth_id, approve=True)
        assert done is not None
        return _after_challenge(fake, done)
    is_payment = isinstance(pending, Payment)
    amount = pending.amount if isinstance(pending, Payment) else VERIFICATION_AMOUNT
    currency = pending.currency if isinstance(pending, Payment) else "SAR"
    return _html(
        fake,
        action=str(request.url.path),
        amount=format_amount(amount, currency),
        brand=pending.card.brand.upper(),
        masked=pending.card.masked,
        description=pending.description if isinstance(pending, Payment) else None,
        verification=not is_payment,
    )


@post("/v1/transaction_auths/{auth_id:str}/form", status_code=302)
async def challenge_answer(request: Request[Any, Any, Any], auth_id: str) -> Response[Any]:
    """Approve or Decline: finish the payment (or token) and redirect to its `callback_url`."""
    fake = _fake(request)
    form = await request.form()
    decision = form.get("decision")
    if decision not in ("approve", "decline"):
        raise invalid("decision must be approve or decline")
    done = fake.moyasar.finish_challenge(auth_id, approve=decision == "approve")
    if done is None:
        return _html(fake, status=404, unknown=True)
    return _after_challenge(fake, done)


# --- webhooks ------------------------------------------------------------------------------------------------


def _webhook_json(webhook: Webhook) -> dict[str, Any]:
    return {
        "id": webhook.id,
        "http_method": webhook.http_method.lower(),
        "url": webhook.url,
        "events": webhook.events or list(EVENT_TYPES),
        "created_at": iso(webhook.created_at),
    }


@post("/v1/webhooks", status_code=201)
async def create_webhook(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """`url`, `shared_secret` (sent back as each event's `secret_token`), `http_method`, `events` (none: all)."""
    _authenticate(request)
    fake = _fake(request)
    body = await _body(request)
    errors: dict[str, list[str]] = {}
    url = body.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        errors["url"] = ["must be an absolute http(s) URL"]
    secret = body.get("shared_secret")
    if not isinstance(secret, str) or not secret:
        errors["shared_secret"] = ["is required"]
    method = str(body.get("http_method") or "post").upper()
    if method not in ("POST", "PUT", "PATCH"):
        errors["http_method"] = ["must be post, put or patch"]
    events = body.get("events") or []
    if not isinstance(events, list) or any(e not in (*EVENT_TYPES, "payment_faild") for e in events):
        errors["events"] = [f"must be a list of: {', '.join(EVENT_TYPES)}"]
    if errors:
        raise FakeApiError(400, fake.switches.validation_error_type, "Validation Failed", errors)
    webhook = Webhook(
        id=str(uuid.uuid4()),
        url=str(url),
        http_method=method,
        shared_secret=str(secret),
        events=[str(e) for e in events],
        created_at=now(),
    )
    fake.store.save(webhook)
    return _webhook_json(webhook)


@get("/v1/webhooks")
async def list_webhooks(request: Request[Any, Any, Any]) -> dict[str, Any]:
    _authenticate(request)
    return {"webhooks": [_webhook_json(w) for w in _fake(request).webhooks()]}


@get("/v1/webhooks/available_events")
async def available_events(request: Request[Any, Any, Any]) -> dict[str, Any]:
    _authenticate(request)
    return {"events": list(EVENT_TYPES)}


@get("/v1/webhooks/attempts")
async def list_attempts(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Delivery attempts, newest first, 40 a page."""
    _authenticate(request)
    page = _page_number(request)
    attempts = list(reversed(_fake(request).dispatcher.attempts))
    pages = max(1, -(-len(attempts) // 40))
    return {
        "webhook_attempts": [msgspec.to_builtins(a) for a in attempts[(page - 1) * 40 : page * 40]],
        "meta": {
            "current_page": page,
            "next_page": page + 1 if page < pages else None,
            "prev_page": page - 1 if page > 1 else None,
            "total_pages": pages,
            "total_count": len(attempts),
        },
    }


@get("/v1/webhooks/attempts/{attempt_id:str}")
async def fetch_attempt(request: Request[Any, Any, Any], attempt_id: str) -> dict[str, Any]:
    _authenticate(request)
    for attempt in _fake(request).dispatcher.attempts:
        if attempt.id == attempt_id:
            return msgspec.to_builtins(attempt)  # type: ignore[no-any-return]
    raise not_found()


def _find_webhook(fake: FakeMoyasar, webhook_id: str) -> Webhook:
    for webhook in fake.webhooks():
        if webhook.id == webhook_id:
            return webhook
    raise not_found()


@get("/v1/webhooks/{webhook_id:str}")
async def fetch_webhook(request: Request[Any, Any, Any], webhook_id: str) -> dict[str, Any]:
    _authenticate(request)
    return _webhook_json(_find_webhook(_fake(request), webhook_id))


@delete("/v1/webhooks/{webhook_id:str}", status_code=200)
async def delete_webhook(request: Request[Any, Any, Any], webhook_id: str) -> dict[str, Any]:
    _authenticate(request)
    fake = _fake(request)
    webhook = _find_webhook(fake, webhook_id)
    if webhook is fake.cli_webhook:
        fake.cli_webhook = None
    else:
        fake.store.delete(webhook)
    return {"success": True}


# --- the admin API (only on the stand-in) ------------------------------------------------------------------


@get("/_fake/health")
async def health() -> dict[str, str]:
    """Ready to answer."""
    return {"status": "ok"}


@route("/_fake/settings", http_method=[HttpMethod.GET, HttpMethod.PUT])
async def settings(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Read the switches, or change some of them (a partial object)."""
    fake = _fake(request)
    if request.method == "PUT":
        changes = await _body(request)
        try:
            fake.switches = msgspec.convert({**msgspec.to_builtins(fake.switches), **changes}, Switches)
        except msgspec.ValidationError as exc:
            raise invalid(f"Bad settings: {exc}") from None
    return msgspec.to_builtins(fake.switches)  # type: ignore[no-any-return]


@route("/_fake/faults", http_method=[HttpMethod.GET, HttpMethod.POST, HttpMethod.DELETE], status_code=200)
async def faults(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """List, add (one rule or a list) or clear the fault rules."""
    fake = _fake(request)
    if request.method == "POST":
        body = json.loads(await request.body() or b"null")
        try:
            rules = msgspec.convert(body if isinstance(body, list) else [body], list[FaultRule])
        except msgspec.ValidationError as exc:
            raise invalid(f"Bad fault rule: {exc}") from None
        fake.faults.add(rules)
    elif request.method == "DELETE":
        fake.faults.clear()
    return {"faults": msgspec.to_builtins(fake.faults.rules)}


@get("/_fake/events")
async def events(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Every webhook event sent so far, oldest first, each with its delivery attempts; and how many are held."""
    dispatcher = _fake(request).dispatcher
    by_event: dict[str, list[Any]] = {}
    for attempt in dispatcher.attempts:
        by_event.setdefault(attempt.event_id, []).append(msgspec.to_builtins(attempt))
    return {
        "events": [
            {**msgspec.to_builtins(event), "attempts": by_event.get(event.id, [])}
            for event in dispatcher.events.values()
        ],
        "held": len(dispatcher.held),
        "idle": dispatcher.idle(),
    }


@post("/_fake/events/{event_id:str}/redeliver", status_code=202)
async def redeliver(request: Request[Any, Any, Any], event_id: str) -> dict[str, Any]:
    """Send a past event again, same id (a replay)."""
    if not _fake(request).dispatcher.redeliver(event_id):
        raise not_found()
    return {"redelivered": event_id}


@post("/_fake/webhooks/release", status_code=200)
async def release(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Deliver the events held by the `webhook_hold` switch, `{"order": "fifo" | "reverse"}`."""
    body = await _body(request)
    order = body.get("order", "fifo")
    if order not in ("fifo", "reverse"):
        raise invalid("order must be fifo or reverse")
    return {"released": await _fake(request).dispatcher.release(order)}


@post("/_fake/tokens/{token_id:str}/status", status_code=200)
async def token_status(request: Request[Any, Any, Any], token_id: str) -> dict[str, Any]:
    """Set a token's status (e.g. `inactive`, `expired`), as a card that expired or was blocked."""
    fake = _fake(request)
    body = await _body(request)
    token = fake.moyasar.set_token_status(token_id, str(body.get("status")))
    return fake.moyasar.token_json(token, base_url=_base_url(request))


@post("/_fake/reset", status_code=200)
async def reset(request: Request[Any, Any, Any]) -> dict[str, str]:
    """Forget tokens, payments, faults and events; switches back to their start values."""
    _fake(request).reset()
    return {"status": "reset"}


# --- errors --------------------------------------------------------------------------------------------------


def _error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, _Bare):
        return Response({"message": exc.error.message}, status_code=exc.error.status)
    if isinstance(exc, FakeApiError):
        return Response(exc.body(), status_code=exc.status)
    if isinstance(exc, NotFoundException | MethodNotAllowedException):
        message = f"No such endpoint: {request.method} {request.url.path}"
        return Response({"type": "invalid_request_error", "message": message, "errors": None}, status_code=404)
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        return Response({"type": "invalid_request_error", "message": exc.detail, "errors": None}, status_code=400)
    return Response({"type": "api_error", "message": "Internal server error", "errors": None}, status_code=500)


class StandInApp(FaultMiddleware):
    """The stand-in as an ASGI app, with its `FakeMoyasar` (state, switches, faults) as `.fake`."""

    def __init__(self, app: Litestar, fake: FakeMoyasar) -> None:
        super().__init__(app, fake.faults)
        self.fake = fake


def create_app(options: FakeOptions | None = None) -> StandInApp:
    """The local Moyasar as an ASGI app (serve it with uvicorn, or `run`)."""
    fake = FakeMoyasar(options or FakeOptions())

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await fake.dispatcher.start()
        try:
            yield
        finally:
            await fake.dispatcher.stop()
            fake.store.close()

    cors = CORSConfig(
        allow_origins=list(fake.options.allowed_origins),
        allow_origin_regex=None if fake.options.allowed_origins else LOCAL_ORIGINS,
        allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "Accept", "X-Requested-With"],
        max_age=600,
    )
    app = Litestar(
        route_handlers=[
            create_token,
            fetch_token,
            delete_token,
            create_payment,
            list_payments,
            fetch_payment,
            update_payment,
            payment_operation,
            challenge_page,
            challenge_answer,
            create_webhook,
            list_webhooks,
            available_events,
            list_attempts,
            fetch_attempt,
            fetch_webhook,
            delete_webhook,
            health,
            settings,
            faults,
            events,
            redeliver,
            release,
            token_status,
            reset,
        ],
        cors_config=cors,
        state=State({"fake": fake}),
        exception_handlers={Exception: _error},
        lifespan=[lifespan],
        openapi_config=None,
        # Keep the process's logging (atlas.observability's redacting JSON logs) instead of Litestar's own.
        logging_config=None,
    )
    return StandInApp(app, fake)
