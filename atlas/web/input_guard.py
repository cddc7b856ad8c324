"""Refuse input no handler can store before any handler runs: NUL characters and JSON nested without end.

PostgreSQL cannot store U+0000 in text (asyncpg raises, a Temporal activity that writes it fails on every retry),
and a JSON document nested thousands of levels deep exhausts the recursion of whatever walks it. Both are refused
here as problem details naming the parameter or field:

- a NUL in the path, or in a query parameter's name or value (raw, or percent-encoded as ``%00``): 422;
- a JSON body nested deeper than `MAX_JSON_DEPTH`: 400;
- a NUL (``\\u0000``, or a raw zero byte) inside any JSON string or key: 422 naming its JSON pointer;
- a NUL in a form field (``application/x-www-form-urlencoded``): 422 naming the field.

The body is read once (bodies are capped at ``request_max_body_size``), checked, and handed on unchanged through a
replaying receive channel. The common case costs two byte searches: the structural scan runs only when the body
holds enough brackets to be deep, and JSON is parsed only when it holds an escaped NUL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from atlas.errors import BadRequest, ValidationFailed

MAX_JSON_DEPTH = 64
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NUL = "\x00"
ESCAPED_NUL = b"\\u0000"
# A JSON string (escapes respected) or one bracket; the unrolled loop keeps the regex linear.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


def nul_in_path(scope: Scope) -> bool:
    raw = scope.get("raw_path") or b""
    return NUL in scope.get("path", "") or b"\x00" in raw or b"%00" in raw


def first_nul_parameter(query_string: bytes) -> str | None:
    """The name of the first query parameter whose name or value holds a NUL, raw or percent-encoded."""
    if b"\x00" not in query_string and b"%00" not in query_string:
        return None
    for part in query_string.split(b"&"):
        raw_name, _, raw_value = part.partition(b"=")
        name = unquote_to_bytes(raw_name.replace(b"+", b" "))
        value = unquote_to_bytes(raw_value.replace(b"+", b" "))
        if b"\x00" in name or b"\x00" in value:
            return readable(name.decode("utf-8", "replace"))
    return None


def readable(name: str) -> str:
    """A field name fit to show: the NUL written out, long names cut."""
    return name.replace(NUL, "\\u0000")[:200]


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the brackets outside strings nest deeper than ``limit``; no recursion, no parsing."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for match in _TOKENS.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


def _pointer_part(part: str | int) -> str:
    return readable(str(part).replace("~", "~0").replace("/", "~1"))


def _nul_pointers(node: Any, path: tuple[str | int, ...]) -> Iterator[tuple[str | int, ...]]:
    # Depth is already bounded by `json_depth_exceeds`, so recursion here is shallow.
    if isinstance(node, str):
        if NUL in node:
            yield path
    elif isinstance(node, dict):
        for key, value in node.items():
            if NUL in key:
                yield (*path, key)
            yield from _nul_pointers(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _nul_pointers(value, (*path, index))


def first_nul_in_json(body: bytes) -> str | None:
    """The JSON pointer (RFC 6901) of the first string or key holding a NUL; None when there is none or the body
    is not JSON (the handler then refuses it as it would any malformed body)."""
    if ESCAPED_NUL not in body and b"\x00" not in body:
        return None
    try:
        document = json.loads(body.replace(b"\x00", ESCAPED_NUL))
    except (ValueError, RecursionError):
        return None
    for path in _nul_pointers(document, ()):
        return "/" + "/".join(_pointer_part(p) for p in path) if path else ""
    return None


def first_nul_form_field(body: bytes) -> str | None:
    if b"\x00" not in body and b"%00" not in body:
        return None
    for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="latin-1"):
        if NUL in name or NUL in value:
            return readable(name)
    return None


def check_body(body: bytes, content_type: str) -> None:
    """Raise the problem for a body no handler should see."""
    if "application/x-www-form-urlencoded" in content_type:
        field = first_nul_form_field(body)
        if field is not None:
            raise ValidationFailed("errors.input_nul_field", field=field, extra={"field": field})
        return
    if "json" not in content_type and body.lstrip()[:1] not in (b"{", b"["):
        return  # not JSON (multipart, CSV, text): its own reader decides; brackets in it are not nesting
    if json_depth_exceeds(body):
        raise BadRequest("errors.input_too_deep", limit=MAX_JSON_DEPTH, extra={"max_depth": MAX_JSON_DEPTH})
    pointer = first_nul_in_json(body)
    if pointer is not None:
        field = pointer or "/"
        raise ValidationFailed("errors.input_nul_field", field=field, extra={"field": field, "pointer": pointer})


async def read_body(receive: Receive, limit: int) -> tuple[list[ReceiveMessage], bytes | None]:
    """The request's body messages as received, and the whole body, or None when it outgrows ``limit`` (Litestar
    refuses it with a 413 as it reads on)."""
    messages: list[ReceiveMessage] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        size += len(message["body"])
        if size > limit:
            return messages, None
        if not message.get("more_body", False):
            return messages, b"".join(m["body"] for m in messages if m["type"] == "http.request")


def replaying(messages: list[ReceiveMessage], receive: Receive) -> Receive:
    """A receive channel that hands out ``messages`` first, then whatever the client sends next."""
    pending = list(messages)

    async def replay() -> ReceiveMessage:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


class InputGuardMiddleware(ASGIMiddleware):
    """Refuse NULs and runaway nesting before routing reaches a handler (see the module's docstring)."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, max_body_size: int = 1_000_000) -> None:
        self.max_body_size = max_body_size

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if nul_in_path(scope):
            raise ValidationFailed("errors.input_nul_path", field="path", extra={"field": "path"})
        parameter = first_nul_parameter(scope.get("query_string", b""))
        if parameter is not None:
            raise ValidationFailed("errors.input_nul_parameter", field=parameter, extra={"field": parameter})
        if scope.get("method") not in BODY_METHODS:
            await next_app(scope, receive, send)
            return
        headers = Headers.from_scope(scope)
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_size:
            await next_app(scope, receive, send)  # Litestar answers 413 without reading it
            return
        messages, body = await read_body(receive, self.max_body_size)
        if body:
            check_body(body, (headers.get("content-type") or "").lower())
        await next_app(scope, replaying(messages, receive), send)
