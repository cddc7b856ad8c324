"""Fault injection, switched per test through `POST /_fake/faults`.

A rule hits the next `times` requests that match its method and path, then is gone. HTTP-level faults are
applied by `FaultMiddleware` around the whole app; `decline` and `challenge` change how the next payments
turn out and are taken by the payment logic itself.

| kind               | what the matching request gets                                                        |
| ------------------ | ------------------------------------------------------------------------------------- |
| rate_limit         | 429 `rate_limit_error` (with `Retry-After` when `retry_after` is set), nothing done    |
| server_error       | `status` (default 500) `api_error`, nothing done                                       |
| html               | `status` (default 403) with an HTML body, as Cloudflare answers in front of Moyasar    |
| slow               | the request is done, and its answer sent after `seconds`                               |
| drop_before_commit | the connection drops mid-answer, nothing done                                          |
| drop_after_commit  | the request is done (a payment is created), then the connection drops mid-answer       |
| bad_json           | the request is done, and its answer is truncated JSON with the real status             |
| decline            | the next payment fails: `source.message` = `message` (DECLINED), code `code` (05)      |
| challenge          | the next token payment without `3ds` still needs 3-D Secure (an issuer's challenge)    |
| respond            | `status` with `body` (JSON, or text when `content_type` says so), nothing done          |

`respond` reproduces any answer Moyasar (or a proxy in front of it) may give: an `errors` string or null, a
bare `{"message": ...}`, an HTML error page.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final, Literal

import msgspec

# Plain ASGI shapes: this middleware only reads a few keys and passes messages through.
Message = MutableMapping[str, Any]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]

FaultKind = Literal[
    "rate_limit",
    "server_error",
    "html",
    "slow",
    "drop_before_commit",
    "drop_after_commit",
    "bad_json",
    "decline",
    "challenge",
    "respond",
]
CLOUDFLARE_HTML: Final = (
    "<!DOCTYPE html><html><head><title>Access denied | api.moyasar.com used Cloudflare to restrict access</title>"
    "</head><body><h1>Error 1010</h1><p>The owner of this website has banned your access based on your browser's "
    "signature.</p></body></html>"
)


class FaultRule(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    kind: FaultKind
    # "POST", "GET"...; None matches every method (never the CORS preflight).
    method: str | None = None
    # An exact path ("/v1/payments"), a prefix ending in "*" ("/v1/payments/*"), or None for every /v1 path.
    path: str | None = None
    # How many matching requests it hits; -1 until the faults are cleared.
    times: int = 1
    status: int | None = None
    seconds: float = 0.0
    retry_after: int | None = None
    message: str | None = None
    code: str | None = None
    body: Any = None
    content_type: str = "application/json"

    def __post_init__(self) -> None:
        if self.times == 0 or self.times < -1:
            raise ValueError("times must be a positive number, or -1 for 'until cleared'")
        lowest = 200 if self.kind == "respond" else 400
        if self.status is not None and not lowest <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status from {lowest} to 599")
        if self.seconds < 0:
            raise ValueError("seconds must not be negative")

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.path is None:
            return path.startswith("/v1/")
        if self.path.endswith("*"):
            return path.startswith(self.path[:-1])
        return path.rstrip("/") == self.path.rstrip("/")


class Faults:
    """The active fault rules, consumed in the order they were added."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []

    def add(self, rules: list[FaultRule]) -> None:
        self.rules.extend(rules)

    def clear(self) -> None:
        self.rules.clear()

    def take(self, method: str, path: str, kinds: frozenset[str]) -> FaultRule | None:
        """The first rule of one of `kinds` matching the request, counted as used."""
        for rule in self.rules:
            if rule.kind in kinds and rule.matches(method, path):
                if rule.times > 0:
                    rule.times -= 1
                    if rule.times == 0:
                        self.rules.remove(rule)
                return rule
        return None


HTTP_KINDS: Final = frozenset(
    {"rate_limit", "server_error", "html", "slow", "drop_before_commit", "drop_after_commit", "bad_json", "respond"}
)


async def _send_body(send: Send, status: int, body: bytes, content_type: str, extra: list[tuple[bytes, bytes]]) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _envelope(type_: str, message: str) -> bytes:
    return json.dumps({"type": type_, "message": message, "errors": None}).encode()


class FaultMiddleware:
    """Wraps the stand-in's ASGI app and applies the HTTP-level faults."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        rule = self.faults.take(scope["method"], scope["path"], HTTP_KINDS)
        if rule is None:
            await self.app(scope, receive, send)
            return
        if rule.kind == "rate_limit":
            extra = [(b"retry-after", str(rule.retry_after).encode())] if rule.retry_after is not None else []
            await _send_body(
                send, 429, _envelope("rate_limit_error", "Too many requests, slow down"), "application/json", extra
            )
        elif rule.kind == "server_error":
            await _send_body(
                send, rule.status or 500, _envelope("api_error", "Internal server error"), "application/json", []
            )
        elif rule.kind == "html":
            await _send_body(send, rule.status or 403, CLOUDFLARE_HTML.encode(), "text/html; charset=UTF-8", [])
        elif rule.kind == "respond":
            text = rule.body if isinstance(rule.body, str) else json.dumps(rule.body)
            await _send_body(send, rule.status or 400, text.encode(), rule.content_type, [])
        elif rule.kind == "drop_before_commit":
            await self._drop(send, [])
        else:
            messages = await self._run(scope, receive)
            start = next(m for m in messages if m["type"] == "http.response.start")
            if rule.kind == "drop_after_commit":
                await self._drop(send, start.get("headers", []))
            elif rule.kind == "bad_json":
                full = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
                headers = [
                    (k, v) for k, v in start.get("headers", []) if k.lower() not in (b"content-length", b"content-type")
                ]
                await _send_body(send, start["status"], full[: max(1, len(full) // 2)], "application/json", headers)
            else:  # slow
                await asyncio.sleep(rule.seconds)
                for message in messages:
                    await send(message)

    async def _run(self, scope: Scope, receive: Receive) -> list[Message]:
        """Run the app to the end (whatever it commits is committed) and keep its answer."""
        messages: list[Message] = []

        async def keep(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, keep)
        return messages

    @staticmethod
    async def _drop(send: Send, headers: list[Any]) -> None:
        # Start an answer that promises a body, then return without it: the server closes the connection,
        # and the client sees the peer hang up mid-answer (an ambiguous failure, like a network cut).
        kept = [(k, v) for k, v in headers if k.lower() != b"content-length"]
        await send({"type": "http.response.start", "status": 200, "headers": [*kept, (b"content-length", b"4096")]})
